//! Links between workloads: `service` and Score's `service-port` requests name another workload
//! (and one of its service ports) instead of asking a provisioner for a resource.

use std::collections::BTreeMap;

use serde_json::Value;

use super::workloads::rports;
use super::{Output, RPort, params};
use crate::diag::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::model::{self, Workload};
use crate::yaml::Node;

/// The type that names another workload instead of a provisioned resource.
pub const SERVICE_TYPE: &str = "service";
/// Score's reference implementations' name for a link to one port of another workload.
pub const SERVICE_PORT_TYPE: &str = "service-port";

pub fn is_service_type(rtype: &str) -> bool {
    rtype == SERVICE_TYPE || rtype == SERVICE_PORT_TYPE
}

/// A `service` / `service-port` request: the workload it links to and the port its outputs use.
#[derive(Debug, Clone)]
pub(super) struct Call {
    pub(super) target: String,
    port: Option<RPort>,
}

static SERVICE_PARAMS: std::sync::LazyLock<BTreeMap<String, model::ParamSpec>> =
    std::sync::LazyLock::new(|| service_params(false));
static SERVICE_PORT_PARAMS: std::sync::LazyLock<BTreeMap<String, model::ParamSpec>> =
    std::sync::LazyLock::new(|| service_params(true));

/// The params of a built-in type (`service`, `service-port`), `None` for any other type.
pub fn builtin_params(rtype: &str) -> Option<&'static BTreeMap<String, model::ParamSpec>> {
    match rtype {
        SERVICE_TYPE => Some(&SERVICE_PARAMS),
        SERVICE_PORT_TYPE => Some(&SERVICE_PORT_PARAMS),
        _ => None,
    }
}

fn service_params(required: bool) -> BTreeMap<String, model::ParamSpec> {
    let spec = |description: &str| model::ParamSpec {
        param_type: model::ParamType::String,
        required,
        description: Some(description.into()),
    };
    BTreeMap::from([
        (
            "workload".into(),
            spec(if required {
                "the workload to connect to"
            } else {
                "the workload to connect to (default: the resource key)"
            }),
        ),
        (
            "port".into(),
            spec(if required {
                "the name (or number) of the service port the outputs `port` and `url` use"
            } else {
                "the name (or number) of the service port the outputs `port` and `url` use (default: `http`, else the first)"
            }),
        ),
    ])
}

/// Reads a `service` / `service-port` request: its params, the target workload and the port.
pub(super) fn service_call(
    req: &model::ResourceRequest,
    by_name: &BTreeMap<&str, &Workload>,
) -> Result<Call, Diagnostics> {
    let rtype = req.resource_type.value.as_str();
    let specs: &BTreeMap<String, model::ParamSpec> = if rtype == SERVICE_PORT_TYPE {
        &SERVICE_PORT_PARAMS
    } else {
        &SERVICE_PARAMS
    };
    let decl = params::Declared {
        owner: format!("type `{rtype}`"),
        params: specs,
        defaults: &Value::Null,
    };
    let raw = req
        .params
        .as_ref()
        .map(Node::to_json)
        .unwrap_or(Value::Null);
    let params = params::check(&decl, req, raw)?;
    let key = &req.key.value;
    let target = params
        .get("workload")
        .and_then(Value::as_str)
        .unwrap_or(key)
        .to_string();
    let t = target_workload(req, &target, by_name)?;
    let ports = t.service.as_ref().map(rports).unwrap_or_default();
    if ports.is_empty() {
        return Err(Diagnostic::at(
            Code::UnknownWorkload,
            &req.key.span,
            format!("resource `{key}` names workload `{target}`, which exposes no service ports"),
        )
        .with_help(format!("add `service.ports` to `{target}`"))
        .into());
    }
    let port = chosen_port(
        req,
        &target,
        &ports,
        params.get("port").and_then(Value::as_str),
    )?;
    Ok(Call { target, port })
}

/// The workload a link names, or an error with the closest name.
fn target_workload<'w>(
    req: &model::ResourceRequest,
    target: &str,
    by_name: &BTreeMap<&str, &'w Workload>,
) -> Result<&'w Workload, Diagnostics> {
    if let Some(t) = by_name.get(target) {
        return Ok(t);
    }
    let (key, rtype) = (&req.key.value, &req.resource_type.value);
    let d = Diagnostic::at(
        Code::UnknownWorkload,
        &req.key.span,
        format!(
            "resource `{key}` of type `{rtype}` names workload `{target}`, which does not exist"
        ),
    );
    Err(match did_you_mean(target, by_name.keys().copied()) {
        Some(c) => d.with_help(format!(
            "did you mean `{c}`? (set `params.workload` when the key differs from the workload name)"
        )),
        None => d.with_help("the key (or `params.workload`) must be the name of another workload"),
    }
    .into())
}

/// The port a link uses: the one `params.port` names (by name or number), else `http`, else
/// the first.
fn chosen_port(
    req: &model::ResourceRequest,
    target: &str,
    ports: &[RPort],
    wanted: Option<&str>,
) -> Result<Option<RPort>, Diagnostics> {
    let Some(wanted) = wanted else {
        return Ok(ports
            .iter()
            .find(|p| p.name == "http")
            .or(ports.first())
            .cloned());
    };
    if let Some(p) = ports
        .iter()
        .find(|p| p.name == wanted || p.port.to_string() == wanted)
    {
        return Ok(Some(p.clone()));
    }
    let span = req
        .params
        .as_ref()
        .and_then(|n| n.get("port"))
        .map(|n| n.span.clone())
        .unwrap_or_else(|| req.key.span.clone());
    Err(Diagnostic::at(
        Code::UnknownWorkload,
        &span,
        format!("workload `{target}` has no service port `{wanted}`"),
    )
    .with_help(format!(
        "service ports of `{target}`: {}",
        ports
            .iter()
            .map(|p| format!("`{}` ({})", p.name, p.port))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .into())
}

impl Call {
    /// What placeholders see of the link: `name`, `host` and `hostname` are the target's cluster
    /// DNS name in `namespace`; `port` and `url` use the chosen service port.
    pub(super) fn outputs(&self, namespace: &str) -> (String, BTreeMap<String, Output>) {
        let host = format!("{}.{namespace}.svc.cluster.local", self.target);
        let mut outs = BTreeMap::new();
        for name in ["name", "host", "hostname"] {
            outs.insert(name.to_string(), Output::Plain(host.clone()));
        }
        if let Some(p) = &self.port {
            outs.insert("port".to_string(), Output::Plain(p.port.to_string()));
            outs.insert(
                "url".to_string(),
                Output::Plain(format!("http://{host}:{}", p.port)),
            );
        }
        (host, outs)
    }
}
