//! A workload's containers: image, command and arguments, variables, start order (`before`) and
//! CPU/memory limits and requests. Files and volumes are read in `mounts`, probes in `probes`.

use std::collections::BTreeMap;

use crate::diag::{Code, Diagnostic, Spanned, did_you_mean};
use crate::model::{Container, ContainerResources, QuantitySpec};
use crate::yaml::Node;

use super::Loader;
use super::fields::{
    BEFORE_FIELDS, CONTAINER_FIELDS, QUANTITY_FIELDS, READY_STATES, RESOURCES_FIELDS, get, join,
    key_span,
};
use super::patterns::{is_cpu, is_memory, suggest_memory};

impl Loader<'_> {
    pub(super) fn container(
        &mut self,
        key: &Spanned<String>,
        node: &Node,
        names: &[&str],
    ) -> Option<Container> {
        let path = format!("containers.{}", key.value);
        let entries = self.fields(node, &path, CONTAINER_FIELDS)?;
        let image = self
            .required(entries, "image", &key.span, &path)
            .and_then(|v| self.nonempty(v, &format!("{path}.image")));
        let mut c = Container {
            name: key.clone(),
            image: image
                .clone()
                .unwrap_or_else(|| Spanned::new(String::new(), key.span.clone())),
            command: Vec::new(),
            args: Vec::new(),
            variables: BTreeMap::new(),
            files: BTreeMap::new(),
            volumes: BTreeMap::new(),
            before: BTreeMap::new(),
            resources: None,
            liveness_probe: None,
            readiness_probe: None,
        };
        if let Some(v) = get(entries, "command") {
            c.command = self.strings(v, &format!("{path}.command"), true);
        }
        if let Some(v) = get(entries, "args") {
            c.args = self.strings(v, &format!("{path}.args"), true);
        }
        if let Some(v) = get(entries, "variables") {
            c.variables = self.variables(v, &format!("{path}.variables"));
        }
        if let Some(v) = get(entries, "files") {
            c.files = self.files(v, &format!("{path}.files"));
        }
        if let Some(v) = get(entries, "volumes") {
            c.volumes = self.volumes(v, &format!("{path}.volumes"));
        }
        if let Some(v) = get(entries, "before") {
            c.before = self.before(v, &format!("{path}.before"), &key.value, names);
        }
        if let Some(v) = get(entries, "resources") {
            c.resources = self.container_resources(v, &format!("{path}.resources"));
        }
        if let Some(v) = get(entries, "livenessProbe") {
            c.liveness_probe = self.probe(
                v,
                key_span(entries, "livenessProbe", &key.span),
                &format!("{path}.livenessProbe"),
            );
        }
        if let Some(v) = get(entries, "readinessProbe") {
            c.readiness_probe = self.probe(
                v,
                key_span(entries, "readinessProbe", &key.span),
                &format!("{path}.readinessProbe"),
            );
        }
        image.map(|_| c)
    }

    fn variables(&mut self, node: &Node, path: &str) -> BTreeMap<String, Spanned<String>> {
        let mut out = BTreeMap::new();
        let Some(vars) = self.mapping(node, path) else {
            return out;
        };
        for (k, val) in vars {
            // The API server's rule (Kubernetes 1.30 and later): printable ASCII but `=`.
            let printable = k
                .value
                .bytes()
                .all(|b| (b' '..=b'~').contains(&b) && b != b'=');
            if k.value.is_empty() || !printable {
                self.push(Diagnostic::at(
                    Code::InvalidValue,
                    &k.span,
                    format!(
                        "invalid variable name `{}`: expected a non-empty name of printable ASCII characters other than `=`",
                        k.value.escape_debug()
                    ),
                ).with_help("Kubernetes refuses any other environment variable name; spell it with letters, digits and `_`, as programs read them"));
            }
            if let Some(s) = self.string_with_placeholders(val, &join(path, &k.value)) {
                out.insert(k.value.clone(), s);
            }
        }
        out
    }

    fn before(
        &mut self,
        node: &Node,
        path: &str,
        me: &str,
        names: &[&str],
    ) -> BTreeMap<String, Spanned<String>> {
        let mut out = BTreeMap::new();
        let Some(entries) = self.mapping(node, path) else {
            return out;
        };
        for (k, v) in entries {
            self.label(k, "container name");
            let others: Vec<&str> = names.iter().copied().filter(|n| *n != me).collect();
            if !others.contains(&k.value.as_str()) {
                let mut d = Diagnostic::at(
                    Code::InvalidValue,
                    &k.span,
                    if k.value == me {
                        format!("container `{me}` cannot wait for itself in `before`")
                    } else {
                        format!(
                            "unknown container `{}` in `before`: expected another container of this workload",
                            k.value
                        )
                    },
                );
                if let Some(m) = did_you_mean(&k.value, others.iter().copied()) {
                    d = d.with_help(format!("did you mean `{m}`?"));
                }
                self.push(d);
            }
            let p = join(path, &k.value);
            let Some(fields) = self.fields(v, &p, BEFORE_FIELDS) else {
                continue;
            };
            let Some(ready) = self
                .required(fields, "ready", &k.span, &p)
                .and_then(|r| self.string(r, &join(&p, "ready")))
            else {
                continue;
            };
            if self.one_of(&ready, READY_STATES, "ready state", &join(&p, "ready")) {
                out.insert(k.value.clone(), ready);
            }
        }
        out
    }

    fn container_resources(&mut self, node: &Node, path: &str) -> Option<ContainerResources> {
        let entries = self.fields(node, path, RESOURCES_FIELDS)?;
        let mut r = ContainerResources::default();
        if let Some(v) = get(entries, "limits") {
            r.limits = self.quantities(v, &join(path, "limits"));
        }
        if let Some(v) = get(entries, "requests") {
            r.requests = self.quantities(v, &join(path, "requests"));
        }
        Some(r)
    }

    fn quantities(&mut self, node: &Node, path: &str) -> QuantitySpec {
        let mut q = QuantitySpec::default();
        let Some(entries) = self.fields(node, path, QUANTITY_FIELDS) else {
            return q;
        };
        if let Some(v) = get(entries, "cpu")
            && let Some(s) = self.string(v, &join(path, "cpu"))
        {
            if is_cpu(&s.value) {
                q.cpu = Some(s);
            } else {
                self.push(Diagnostic::at(
                        Code::InvalidValue,
                        &s.span,
                        format!("invalid cpu quantity `{}`: expected whole or fractional CPUs or millicores, such as `2`, `0.5` or `250m`", s.value),
                    ));
            }
        }
        if let Some(v) = get(entries, "memory")
            && let Some(s) = self.string(v, &join(path, "memory"))
        {
            if is_memory(&s.value) {
                q.memory = Some(s);
            } else {
                let mut d = Diagnostic::at(
                    Code::InvalidValue,
                    &s.span,
                    format!(
                        "invalid memory quantity `{}`: expected a number with an optional unit K, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi or Ei, such as `512Mi`",
                        s.value
                    ),
                );
                if let Some(fix) = suggest_memory(&s.value) {
                    d = d.with_help(format!("did you mean `{fix}`?"));
                }
                self.push(d);
            }
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use crate::load::score::tests::{load, one_error, with_head};

    #[test]
    fn quantities() {
        let c = |s: &str| with_head(&format!("containers:\n  main:\n    image: a:1\n{s}"));
        assert_eq!(
            one_error(&c("    resources:\n      limits:\n        memory: 1GB\n")),
            "w.yaml:9:17: error: invalid memory quantity `1GB`: expected a number with an optional unit K, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi or Ei, such as `512Mi`\n  help: did you mean `1G`?"
        );
        assert!(
            one_error(&c("    resources:\n      requests:\n        cpu: 1.5m\n"))
                .starts_with("w.yaml:9:14: error: invalid cpu quantity `1.5m`")
        );
        assert!(
            load(&c(
                "    resources:\n      limits:\n        cpu: 2\n        memory: 1.5Gi\n"
            ))
            .is_ok()
        );
    }

    #[test]
    fn before() {
        let c = |s: &str| with_head(&format!("containers:\n  main:\n    image: a:1\n{s}"));
        assert_eq!(
            one_error(&c("    before:\n      sidecar:\n        ready: started\n")),
            "w.yaml:8:7: error: unknown container `sidecar` in `before`: expected another container of this workload"
        );
    }
}
