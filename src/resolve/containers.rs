//! A container with its placeholders filled and the profile's defaults applied. Secrets stay
//! references: an env var that is exactly one secret is a `secretKeyRef`; a secret inside a
//! longer string (env, command, args) becomes a hidden variable and a `$(VAR)` reference.

use std::collections::BTreeMap;

use super::placeholders::{Scope, Seg, resolve, resolve_plain};
use super::{
    EnvValue, EnvVar, HiddenUse, RContainer, RFile, RFileContent, RProbe, RVolume, StringField,
};
use crate::diag::{Code, Diagnostic, Diagnostics, Spanned};
use crate::model::{self, Profile};

/// The hidden variables made so far: name → (secret, key), and where each was first used.
#[derive(Default)]
struct Hidden {
    refs: BTreeMap<String, (String, String)>,
    uses: BTreeMap<String, HiddenUse>,
}

pub(super) fn resolve_container(
    c: &model::Container,
    scope: &Scope<'_>,
    profile: &Profile,
) -> Result<RContainer, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut hidden = Hidden::default();
    let visible = variables(c, scope, &mut hidden, &mut diags);
    let command = k8s_strings(
        &c.command,
        StringField::Command,
        scope,
        &mut hidden,
        &mut diags,
    );
    let args = k8s_strings(&c.args, StringField::Args, scope, &mut hidden, &mut diags);
    let image = match resolve_plain(&c.image, scope, "an image") {
        Ok(i) => i,
        Err(d) => {
            diags.push(d);
            String::new()
        }
    };
    let files = files(c, scope, &mut diags);
    let volumes = volumes(c, scope, &mut diags);
    let requests = quantities(
        c.resources.as_ref().map(|r| &r.requests),
        &profile.resources.requests,
    );
    let limits = quantities(
        c.resources.as_ref().map(|r| &r.limits),
        &profile.resources.limits,
    );
    // Hidden variables first: Kubernetes expands `$(VAR)` only for variables defined earlier.
    let mut env: Vec<EnvVar> = hidden
        .refs
        .into_iter()
        .map(|(name, (secret, key))| EnvVar {
            name,
            value: EnvValue::SecretKeyRef { secret, key },
        })
        .collect();
    env.extend(visible);
    let rc = RContainer {
        name: c.name.value.clone(),
        start: super::Start::Main,
        image,
        command,
        args,
        env,
        files,
        volumes,
        requests,
        limits,
        liveness: probe(&c.liveness_probe),
        readiness: probe(&c.readiness_probe),
        hidden: hidden.uses,
    };
    diags.into_result(rc)
}

/// The container's own variables, in order.
fn variables(
    c: &model::Container,
    scope: &Scope<'_>,
    hidden: &mut Hidden,
    diags: &mut Diagnostics,
) -> Vec<EnvVar> {
    let mut visible = Vec::new();
    for (name, value) in &c.variables {
        match resolve(value, scope) {
            Ok(segs) => {
                let v = match segs.as_slice() {
                    [Seg::Secret { secret, key, .. }] => EnvValue::SecretKeyRef {
                        secret: secret.clone(),
                        key: key.clone(),
                    },
                    _ => {
                        let field = || StringField::Variable(name.clone());
                        EnvValue::Value(segs_to_k8s(segs, hidden, field))
                    }
                };
                visible.push(EnvVar {
                    name: name.clone(),
                    value: v,
                });
            }
            Err(d) => diags.push(d),
        }
    }
    visible
}

/// Command or args (`field` names an item): each string resolved, a failed one left out (its
/// error is in `diags`).
fn k8s_strings(
    list: &[Spanned<String>],
    field: fn(usize) -> StringField,
    scope: &Scope<'_>,
    hidden: &mut Hidden,
    diags: &mut Diagnostics,
) -> Vec<String> {
    list.iter()
        .enumerate()
        .filter_map(|(i, s)| match resolve(s, scope) {
            Ok(segs) => Some(segs_to_k8s(segs, hidden, || field(i))),
            Err(d) => {
                diags.push(d);
                None
            }
        })
        .collect()
}

fn files(c: &model::Container, scope: &Scope<'_>, diags: &mut Diagnostics) -> Vec<RFile> {
    let mut files = Vec::new();
    for f in c.files.values() {
        let mode = f.mode.as_ref().and_then(|m| file_mode(m, diags));
        let content = match &f.content {
            model::FileContent::Text(t) if f.no_expand => RFileContent::Text(t.value.clone()),
            model::FileContent::Text(t) => match resolve_plain(t, scope, "file contents") {
                Ok(s) => RFileContent::Text(s),
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            },
            model::FileContent::Binary(b) => RFileContent::Base64(b.value.clone()),
        };
        files.push(RFile {
            target: f.target.value.clone(),
            mode,
            content,
        });
    }
    files
}

fn file_mode(m: &Spanned<String>, diags: &mut Diagnostics) -> Option<u32> {
    match u32::from_str_radix(&m.value, 8) {
        Ok(v) => Some(v),
        Err(_) => {
            diags.push(
                Diagnostic::at(
                    Code::InvalidValue,
                    &m.span,
                    format!("file mode `{}` is not octal", m.value),
                )
                .with_help("write it like `0644`"),
            );
            None
        }
    }
}

fn volumes(c: &model::Container, scope: &Scope<'_>, diags: &mut Diagnostics) -> Vec<RVolume> {
    let mut volumes = Vec::new();
    for v in c.volumes.values() {
        match resolve_plain(&v.source, scope, "a volume source") {
            Ok(claim) => volumes.push(RVolume {
                target: v.target.value.clone(),
                claim,
                sub_path: v.path.as_ref().map(|p| p.value.clone()),
                read_only: v.read_only,
            }),
            Err(d) => diags.push(d),
        }
    }
    volumes
}

/// The container's requests or limits, each missing one from the profile.
fn quantities(spec: Option<&model::QuantitySpec>, dflt: &model::Quantities) -> model::Quantities {
    model::Quantities {
        cpu: spec
            .and_then(|s| s.cpu.as_ref())
            .map(|x| x.value.clone())
            .or_else(|| dflt.cpu.clone()),
        memory: spec
            .and_then(|s| s.memory.as_ref())
            .map(|x| x.value.clone())
            .or_else(|| dflt.memory.clone()),
    }
}

fn probe(p: &Option<model::Probe>) -> Option<RProbe> {
    let p = p.as_ref()?;
    if let Some(h) = &p.http_get {
        return Some(RProbe::Http {
            path: h.path.value.clone(),
            port: h.port.value,
            scheme: h.scheme.as_ref().map(|s| s.value.clone()),
            host: h.host.as_ref().map(|s| s.value.clone()),
            headers: h
                .headers
                .iter()
                .map(|(n, v)| (n.value.clone(), v.value.clone()))
                .collect(),
        });
    }
    p.exec.as_ref().map(|cmd| RProbe::Exec {
        command: cmd.iter().map(|s| s.value.clone()).collect(),
    })
}

/// Kubernetes expands `$(VAR)` in env values, command and args; a literal `$(` must be escaped.
fn escape_k8s(s: &str) -> String {
    s.replace("$(", "$$(")
}

/// The hidden variable that carries a secret output inside a longer string.
pub fn env_name_for(hint: &str) -> String {
    let mut s = String::from("PLATC_SECRET_");
    for ch in hint.chars() {
        s.push(if ch.is_ascii_alphanumeric() {
            ch.to_ascii_uppercase()
        } else {
            '_'
        });
    }
    s
}

/// Turns segments of the Score string `field` into one Kubernetes string; secrets become
/// `$(VAR)` references to hidden variables (collected in `hidden`, with where each is first
/// used).
fn segs_to_k8s(segs: Vec<Seg>, hidden: &mut Hidden, field: impl Fn() -> StringField) -> String {
    let mut out = String::new();
    for seg in segs {
        match seg {
            Seg::Text(t) => out.push_str(&escape_k8s(&t)),
            Seg::Secret { secret, key, path } => {
                let var = env_name_for(&path[1..].join("_"));
                out.push_str(&format!("$({var})"));
                hidden.uses.entry(var.clone()).or_insert_with(|| HiddenUse {
                    field: field(),
                    placeholder: path,
                });
                hidden.refs.insert(var, (secret, key));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_become_hidden_variables_and_literals_are_escaped() {
        let mut hidden = Hidden::default();
        let secret = |field: &str| Seg::Secret {
            secret: "db-app".into(),
            key: "password".into(),
            path: vec!["resources".into(), "db".into(), field.into()],
        };
        let segs = vec![
            Seg::Text("postgres://u:".into()),
            secret("password"),
            Seg::Text("@h/$(x)".into()),
        ];
        let s = segs_to_k8s(segs, &mut hidden, || StringField::Args(1));
        assert_eq!(s, "postgres://u:$(PLATC_SECRET_DB_PASSWORD)@h/$$(x)");
        assert_eq!(
            hidden.refs["PLATC_SECRET_DB_PASSWORD"],
            ("db-app".to_string(), "password".to_string())
        );
        // Where it is first used is kept; a later use does not replace it.
        segs_to_k8s(vec![secret("password")], &mut hidden, || {
            StringField::Args(2)
        });
        let used = &hidden.uses["PLATC_SECRET_DB_PASSWORD"];
        assert_eq!(used.field, StringField::Args(1));
        assert_eq!(used.placeholder, ["resources", "db", "password"]);
    }
}
