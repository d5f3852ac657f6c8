//! The built-in policies. Each looks at one environment's resolved workloads (or rendered
//! objects) and points every finding at the source value that caused it.

use super::config::{Effective, Rules};
use super::locate::Locator;
use super::{Finding, Severity, Sources};
use crate::diag::Span;
use crate::model::{ANN_PROFILE, Platform, Workload, WorkloadKind};
use crate::node_origins::NodeOrigins;
use crate::pipeline::{Compilation, EnvResult};
use crate::resolve::{RContainer, RWorkload};

mod privileged;

/// Every built-in policy but `team-exists` over every environment.
pub fn run_all(
    c: &Compilation,
    rules: &Rules,
    sources: &Sources<'_>,
    locator: &Locator,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let recorded = NodeOrigins::new(c);
    for env in &c.envs {
        let name = env.resolution.env.as_str();
        let Some(environment) = c.platform.environments.get(name) else {
            continue;
        };
        let cx = Cx {
            env: name,
            env_type: &environment.env_type,
            sources,
            locator,
            recorded: &recorded,
        };
        let on = |id: &str| rules.builtin(id).filter(|e| e.applies(name));
        if let Some(e) = on("images-pinned") {
            out.extend(images_pinned(&cx, env, e));
        }
        if let Some(e) = on("resources-set") {
            out.extend(resources_set(&cx, env, e));
        }
        if let Some(e) = on("prod-replicas") {
            out.extend(prod_replicas(&cx, env, e));
        }
        if let Some(e) = on("no-privileged") {
            out.extend(privileged::no_privileged(&cx, env, e));
        }
        if let Some(e) = on("service-probes") {
            out.extend(service_probes(&cx, env, e));
        }
    }
    out
}

struct Cx<'a> {
    env: &'a str,
    env_type: &'a str,
    sources: &'a Sources<'a>,
    locator: &'a Locator,
    /// Where provisioned manifests' fields were written (their templates' lines).
    recorded: &'a NodeOrigins<'a>,
}

impl Cx<'_> {
    fn finding(
        &self,
        id: &str,
        e: &Effective,
        w: &str,
        span: Span,
        message: String,
        help: String,
    ) -> Finding {
        Finding {
            span,
            policy: id.to_string(),
            severity: e.severity,
            environment: Some(self.env.to_string()),
            workload: w.to_string(),
            message,
            help,
            waived: None,
        }
    }

    fn source(&self, w: &RWorkload) -> Option<&Workload> {
        self.sources.get(&w.name)
    }

    /// The container's name as written, else the workload's name.
    fn container_span(&self, w: &RWorkload, container: &str) -> Span {
        self.source(w)
            .and_then(|s| s.containers.get(container))
            .map(|c| c.name.span.clone())
            .unwrap_or_else(|| self.sources.name_span(&w.name, &w.file))
    }

    /// Where the workload chose its profile: the annotation, else its name.
    fn profile_choice_span(&self, w: &RWorkload) -> Span {
        self.source(w)
            .and_then(|s| s.annotations.get(ANN_PROFILE))
            .map(|a| a.span.clone())
            .unwrap_or_else(|| self.sources.name_span(&w.name, &w.file))
    }

    /// Where a profile setting of the workload came from (the profile or an environment
    /// override in the platform's files), else where the workload chose the profile.
    fn setting_span(&self, w: &RWorkload, field: &str) -> Span {
        let found = match w.provenance.get(field) {
            Some(origin) => self.locator.setting(origin, field),
            None => self.locator.profile(&w.profile_name),
        };
        found.unwrap_or_else(|| self.profile_choice_span(w))
    }
}

// ---------------------------------------------------------------------------------------------
// team-exists (on the loaded workloads, before resolving)
// ---------------------------------------------------------------------------------------------

pub fn team_exists(platform: &Platform, w: &Workload, severity: Severity) -> Option<Finding> {
    // The same decision resolve makes (annotation, path claims, default team).
    let d = crate::ownership::team_of(platform, w).err()?;
    Some(Finding {
        span: d.span.unwrap_or_else(|| w.name.span.clone()),
        policy: "team-exists".into(),
        severity,
        environment: None,
        workload: w.name.value.clone(),
        message: d.message,
        help: d.help.unwrap_or_default(),
        waived: None,
    })
}

// ---------------------------------------------------------------------------------------------
// images-pinned
// ---------------------------------------------------------------------------------------------

/// An image reference split the way registries read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `docker.io` when the reference names none.
    pub registry: String,
    /// The reference with the implicit registry (and `library/`) written out, without tag and
    /// digest.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// The reference as written, without tag and digest.
    pub name: String,
}

pub fn parse_image(image: &str) -> ImageRef {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d.to_string())),
        None => (image, None),
    };
    let last = name.rfind('/').map_or(0, |p| p + 1);
    let (path, tag) = match name[last..].find(':') {
        Some(p) => (&name[..last + p], Some(name[last + p + 1..].to_string())),
        None => (name, None),
    };
    let first = path.split('/').next().unwrap_or("");
    let explicit =
        path.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let (registry, repository) = if explicit {
        (first.to_string(), path.to_string())
    } else if path.contains('/') {
        ("docker.io".to_string(), format!("docker.io/{path}"))
    } else {
        ("docker.io".to_string(), format!("docker.io/library/{path}"))
    };
    ImageRef {
        registry,
        repository,
        tag,
        digest,
        name: path.to_string(),
    }
}

fn registry_allowed(image: &str, r: &ImageRef, allowed: &[String]) -> bool {
    allowed.iter().any(|p| {
        let p = p.trim_end_matches('/');
        r.repository == p
            || r.repository.starts_with(&format!("{p}/"))
            || image.starts_with(&format!("{p}/"))
            || r.registry == p
    })
}

fn images_pinned(cx: &Cx<'_>, env: &EnvResult, e: &Effective) -> Vec<Finding> {
    const ID: &str = "images-pinned";
    let allowed = e.strings("allowed_registries", &[]);
    let digest_types = e.strings("digest_env_types", &["production"]);
    let need_digest = digest_types.iter().any(|t| t == cx.env_type);
    let mut out = Vec::new();
    for w in &env.resolution.workloads {
        for c in &w.containers {
            let span = cx
                .source(w)
                .and_then(|s| s.containers.get(&c.name))
                .map(|s| s.image.span.clone())
                .unwrap_or_else(|| cx.container_span(w, &c.name));
            let r = parse_image(&c.image);
            let registry = (!allowed.is_empty() && !registry_allowed(&c.image, &r, &allowed))
                .then(|| registry_problem(ID, c, &r, &allowed));
            let pin = if r.digest.is_some() {
                None
            } else {
                pin_problem(cx, c, &r, need_digest)
            };
            for (message, help) in registry.into_iter().chain(pin) {
                out.push(cx.finding(ID, e, &w.name, span.clone(), message, help));
            }
        }
    }
    out
}

/// An image from outside the allowed registries: (message, help).
fn registry_problem(
    id: &str,
    c: &RContainer,
    r: &ImageRef,
    allowed: &[String],
) -> (String, String) {
    (
        format!(
            "image `{}` of container `{}` comes from `{}`, which is not an allowed registry",
            c.image, c.name, r.registry
        ),
        format!(
            "use an image from {} (`params.allowed_registries` of policy `{id}`)",
            allowed
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

/// An image without a digest that is `latest`, has no tag, or needs a digest here: (message, help).
fn pin_problem(
    cx: &Cx<'_>,
    c: &RContainer,
    r: &ImageRef,
    need_digest: bool,
) -> Option<(String, String)> {
    let and_digest = if need_digest {
        " and its digest (`@sha256:…`)"
    } else {
        ""
    };
    match r.tag.as_deref() {
        Some("latest") => Some((
            format!(
                "image `{}` of container `{}` uses the `latest` tag",
                c.image, c.name
            ),
            format!("pin a version: `{}:<version>`{and_digest}", r.name),
        )),
        None => Some((
            format!(
                "image `{}` of container `{}` has no tag, so Kubernetes pulls `latest`",
                c.image, c.name
            ),
            format!("pin a version: `{}:<version>`{and_digest}", c.image),
        )),
        Some(_) if need_digest => Some((
            format!(
                "image `{}` of container `{}` is not pinned by digest in `{}` (a {} environment)",
                c.image, c.name, cx.env, cx.env_type
            ),
            format!(
                "append the digest the tag points to: `{}@sha256:<digest>` (`crane digest {}` prints it)",
                c.image, c.image
            ),
        )),
        Some(_) => None,
    }
}

// ---------------------------------------------------------------------------------------------
// resources-set
// ---------------------------------------------------------------------------------------------

fn resources_set(cx: &Cx<'_>, env: &EnvResult, e: &Effective) -> Vec<Finding> {
    let mut out = Vec::new();
    for w in &env.resolution.workloads {
        for c in &w.containers {
            let missing: Vec<&str> = [
                ("resources.requests.cpu", c.requests.cpu.is_none()),
                ("resources.requests.memory", c.requests.memory.is_none()),
                ("resources.limits.memory", c.limits.memory.is_none()),
            ]
            .into_iter()
            .filter(|(_, m)| *m)
            .map(|(f, _)| f)
            .collect();
            if missing.is_empty() {
                continue;
            }
            let list = missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push(cx.finding(
                "resources-set",
                e,
                &w.name,
                cx.container_span(w, &c.name),
                format!(
                    "container `{}` has no {list}, neither its own nor from profile `{}`",
                    c.name, w.profile_name
                ),
                format!(
                    "set {list} on container `{}`, or give profile `{}` defaults under `resources`",
                    c.name, w.profile_name
                ),
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// prod-replicas
// ---------------------------------------------------------------------------------------------

fn prod_replicas(cx: &Cx<'_>, env: &EnvResult, e: &Effective) -> Vec<Finding> {
    const ID: &str = "prod-replicas";
    if !e
        .strings("env_types", &["production"])
        .iter()
        .any(|t| t == cx.env_type)
    {
        return Vec::new();
    }
    let min = e.count("min_replicas", 2);
    let mut out = Vec::new();
    for w in &env.resolution.workloads {
        if w.profile.kind != WorkloadKind::Deployment {
            continue;
        }
        let (n, field) = match &w.profile.hpa {
            Some(h) => (u64::from(h.min_replicas), "hpa.min_replicas"),
            None => (u64::from(w.profile.replicas), "replicas"),
        };
        if n < min {
            out.push(cx.finding(
                ID,
                e,
                &w.name,
                cx.setting_span(w, field),
                format!(
                    "`{}` runs {} in `{}` (a {} environment); at least {min} are required",
                    w.name,
                    if field == "replicas" {
                        format!("{n} replica{}", if n == 1 { "" } else { "s" })
                    } else {
                        format!("with an HPA minimum of {n}")
                    },
                    cx.env,
                    cx.env_type
                ),
                format!(
                    "set `{field} = {min}` in profile `{}`, or in the overrides of environment `{}`",
                    w.profile_name, cx.env
                ),
            ));
        }
        if w.profile.pdb.is_none() {
            out.push(cx.finding(
                ID,
                e,
                &w.name,
                cx.setting_span(w, "pdb"),
                format!(
                    "`{}` has no PodDisruptionBudget in `{}` (a {} environment)",
                    w.name, cx.env, cx.env_type
                ),
                format!(
                    "set `pdb = {{ min_available = 1 }}` in profile `{}`, or in the overrides of environment `{}`",
                    w.profile_name, cx.env
                ),
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// service-probes
// ---------------------------------------------------------------------------------------------

fn service_probes(cx: &Cx<'_>, env: &EnvResult, e: &Effective) -> Vec<Finding> {
    let mut out = Vec::new();
    for w in &env.resolution.workloads {
        if w.ports.is_empty() || w.profile.kind != WorkloadKind::Deployment {
            continue;
        }
        let primary = w.primary().map(|c| c.name.as_str());
        // Init containers and sidecars need none (Kubernetes allows no probes on the former).
        for c in w
            .containers
            .iter()
            .filter(|c| c.start == crate::resolve::Start::Main)
        {
            // The renderer gives the primary container the profile's default HTTP probe.
            let default = primary == Some(c.name.as_str()) && w.profile.probe_path.is_some();
            let mut missing = Vec::new();
            if c.readiness.is_none() && !default {
                missing.push("readinessProbe");
            }
            if c.liveness.is_none() && !default {
                missing.push("livenessProbe");
            }
            if missing.is_empty() {
                continue;
            }
            let list = missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(" and ");
            out.push(cx.finding(
                "service-probes",
                e,
                &w.name,
                cx.container_span(w, &c.name),
                format!(
                    "container `{}` of `{}` serves ports but has no {list}",
                    c.name, w.name
                ),
                format!(
                    "add {list} to container `{}`, or use a profile with `probe_path` (profile `{}` has none)",
                    c.name, w.profile_name
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split_like_registries_read_them() {
        let r = parse_image("nginx");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag, r.digest),
            ("docker.io", "docker.io/library/nginx", None, None)
        );
        let r = parse_image("ghcr.io/acme/api:1.2@sha256:abc");
        assert_eq!(r.registry, "ghcr.io");
        assert_eq!(r.repository, "ghcr.io/acme/api");
        assert_eq!(r.tag.as_deref(), Some("1.2"));
        assert_eq!(r.digest.as_deref(), Some("sha256:abc"));
        let r = parse_image("localhost:5000/app");
        assert_eq!((r.registry.as_str(), r.tag), ("localhost:5000", None));
        let r = parse_image("acme/app:latest");
        assert_eq!(r.repository, "docker.io/acme/app");
        assert_eq!(r.tag.as_deref(), Some("latest"));
    }

    #[test]
    fn registry_prefixes_match_whole_path_segments() {
        let allowed = vec!["ghcr.io/acme/".to_string()];
        let ok = |i: &str| registry_allowed(i, &parse_image(i), &allowed);
        assert!(ok("ghcr.io/acme/api:1"));
        assert!(!ok("ghcr.io/acme-evil/api:1"));
        assert!(!ok("nginx:1.27"));
        let hub = vec!["docker.io".to_string()];
        assert!(registry_allowed("nginx:1", &parse_image("nginx:1"), &hub));
    }
}
