//! APIs: one per service port, typed from the port's name and protocol, with a definition
//! that states only the endpoints platc knows.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::API_VERSION;
use super::component::port_origins;
use super::entity::{Cat, Made};
use super::names::Names;
use crate::graph::workload_id;
use crate::resolve::{EnvResolution, RPort, RWorkload};

/// How an API is described in Backstage, from the port's name and protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiType {
    OpenApi,
    Grpc,
    Other,
}

impl ApiType {
    pub fn of(port: &RPort) -> ApiType {
        let name = port.name.to_ascii_lowercase();
        let is = |p: &str| name == p || name.starts_with(&format!("{p}-"));
        if !port.protocol.eq_ignore_ascii_case("tcp") {
            ApiType::Other
        } else if is("grpc") {
            ApiType::Grpc
        } else if is("http") || is("https") || is("http2") {
            ApiType::OpenApi
        } else {
            ApiType::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ApiType::OpenApi => "openapi",
            ApiType::Grpc => "grpc",
            ApiType::Other => "other",
        }
    }
}

/// The API entities of a workload's ports, in port order, each with its record.
pub(super) fn api_entities(
    cx: Cat<'_>,
    names: &Names,
    w: &RWorkload,
    seen: &[(&EnvResolution, &RWorkload)],
    lifecycle: &str,
) -> Vec<(Made, Value)> {
    let mut out = Vec::new();
    for p in &w.ports {
        let Some(an) = names.api_name(&w.name, &p.name) else {
            continue;
        };
        let mut m = Made::new(cx, || workload_id(&w.name), || port_origins(cx, w, &p.name));
        let description = format!(
            "Port {} of workload {} ({} → container port {}, {}).",
            p.name, w.name, p.port, p.target_port, p.protocol
        );
        let mut meta = m.identity(an, Some(description));
        let mut annotations = Map::new();
        annotations.insert("platc.dev/source".into(), json!(w.file.to_string()));
        annotations.insert("platc.dev/port".into(), json!(p.name));
        m.annotations(&mut meta, annotations);
        m.tags(&mut meta, seen);
        let spec = api_spec(cx, names, w, p, seen, lifecycle, &mut m);
        let value = json!({
            "apiVersion": API_VERSION,
            "kind": "API",
            "metadata": meta,
            "spec": spec,
        });
        out.push((m, value));
    }
    out
}

/// An API's spec: its type, lifecycle and team, and a definition of where it listens.
fn api_spec(
    cx: Cat<'_>,
    names: &Names,
    w: &RWorkload,
    p: &RPort,
    seen: &[(&EnvResolution, &RWorkload)],
    lifecycle: &str,
    m: &mut Made,
) -> Value {
    let ty = ApiType::of(p);
    m.rule_at(
        || "spec.type".into(),
        "an API's type from its port's name and protocol",
    );
    m.rule_at(
        || "spec.lifecycle".into(),
        "production when an environment of type production runs it, else experimental",
    );
    let endpoints: Vec<(String, String)> = seen
        .iter()
        .map(|(r, rw)| {
            (
                r.env.clone(),
                format!("{}.{}.svc.cluster.local:{}", w.name, rw.namespace, p.port),
            )
        })
        .collect();
    m.rule_at(
        || "spec.definition".into(),
        "a definition of where the API listens in each environment, nothing more",
    );
    let made = m.made();
    m.rec.at("spec", || made);
    m.rec.at("spec.owner", || vec![cx.team(&w.team)]);
    m.rec.at("spec.system", || vec![cx.team(&w.team)]);
    json!({
        "type": ty.as_str(),
        "lifecycle": lifecycle,
        "owner": names.group(&w.team),
        "system": names.system(&w.team),
        "definition": api_definition(ty, &w.name, p, &endpoints),
    })
}

/// A definition that states only what platc knows: where the API listens. Paths, messages and
/// services are the workload's own business and are not invented here.
pub fn api_definition(
    ty: ApiType,
    workload: &str,
    p: &RPort,
    endpoints: &[(String, String)],
) -> String {
    match ty {
        ApiType::OpenApi => {
            let scheme = if p.name.to_ascii_lowercase().starts_with("https") {
                "https"
            } else {
                "http"
            };
            let doc = json!({
                "openapi": "3.0.3",
                "info": {
                    "title": format!("{workload} ({})", p.name),
                    "version": "unspecified",
                    "description": format!("Endpoints of port {} of workload {}, as deployed by platc. The workload does not publish its operations to platc, so none are listed.", p.name, workload),
                },
                "servers": endpoints.iter().map(|(env, hp)| json!({"url": format!("{scheme}://{hp}"), "description": env})).collect::<Vec<_>>(),
                "paths": {},
            });
            crate::yaml::write::to_yaml(&doc)
        }
        ApiType::Grpc => {
            let mut s = format!(
                "// gRPC API on port {} of workload {}. platc knows its endpoints, not its\n// protobuf services:\n",
                p.name, workload
            );
            for (env, hp) in endpoints {
                let _ = writeln!(s, "//   {env}: {hp}");
            }
            s.push_str("syntax = \"proto3\";\n");
            s
        }
        ApiType::Other => {
            let mut s = format!(
                "Port {} ({}) of workload {}, forwarded to container port {}.\nEndpoints:\n",
                p.name, p.protocol, workload, p.target_port
            );
            for (env, hp) in endpoints {
                let _ = writeln!(s, "- {env}: {hp}");
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(name: &str, protocol: &str) -> RPort {
        RPort {
            name: name.into(),
            port: 80,
            target_port: 8080,
            protocol: protocol.into(),
        }
    }

    #[test]
    fn api_types_come_from_port_name_and_protocol() {
        assert_eq!(ApiType::of(&port("http", "TCP")), ApiType::OpenApi);
        assert_eq!(ApiType::of(&port("http-admin", "TCP")), ApiType::OpenApi);
        assert_eq!(ApiType::of(&port("grpc", "TCP")), ApiType::Grpc);
        assert_eq!(ApiType::of(&port("grpcweb", "TCP")), ApiType::Other);
        assert_eq!(ApiType::of(&port("http", "UDP")), ApiType::Other);
        assert_eq!(ApiType::of(&port("amqp", "TCP")), ApiType::Other);
    }

    #[test]
    fn definitions_state_endpoints_only() {
        let eps = vec![
            (
                "dev".to_string(),
                "a.t-dev.svc.cluster.local:80".to_string(),
            ),
            (
                "prod".to_string(),
                "a.t-prod.svc.cluster.local:80".to_string(),
            ),
        ];
        let d = api_definition(ApiType::OpenApi, "a", &port("http", "TCP"), &eps);
        let v = crate::yaml::read::parse("def.yaml", &d).unwrap().to_json();
        assert_eq!(v["openapi"], "3.0.3");
        assert_eq!(v["paths"], json!({}));
        assert_eq!(
            v["servers"][1]["url"],
            "http://a.t-prod.svc.cluster.local:80"
        );
        assert_eq!(v["servers"][1]["description"], "prod");
        let g = api_definition(ApiType::Grpc, "a", &port("grpc", "TCP"), &eps);
        assert!(g.ends_with("syntax = \"proto3\";\n"), "{g}");
        assert!(g.contains("//   dev: a.t-dev.svc.cluster.local:80"), "{g}");
        assert!(!g.contains("service "), "no invented gRPC services: {g}");
    }
}
