//! Where consumers of a provisioned resource connect: pods in the cluster (namespace, labels,
//! ports) or an external service, from the provisioner's `network` block or its `host` and
//! `port` outputs.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::super::EnvCx;
use crate::diag::{Code, Diagnostic};
use crate::model::ResourceNetwork;
use crate::resolve::{Instance, Output};
use crate::template::Templates;

/// Where the consumers of one resource connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Pods(PodEndpoint),
    /// Outside the cluster: any public address on these ports.
    External {
        ports: Vec<u16>,
    },
}

/// Pods in the cluster that serve a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodEndpoint {
    pub namespace: String,
    /// Empty selects the whole namespace.
    pub pods: BTreeMap<String, String>,
    pub ports: Vec<u16>,
    pub metrics_port: Option<u16>,
    pub kube_api: bool,
}

pub(super) fn port_of(v: &Value) -> Option<u16> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn plain_output<'a>(i: &'a Instance, name: &str) -> Option<&'a str> {
    match i.outputs.get(name) {
        Some(Output::Plain(s)) => Some(s.as_str()),
        _ => None,
    }
}

/// `<service>.<namespace>.svc[.cluster.local]` → the namespace.
fn cluster_namespace(host: &str) -> Option<&str> {
    let h = host.trim_end_matches('.');
    let h = h.strip_suffix(".cluster.local").unwrap_or(h);
    let rest = h.strip_suffix(".svc")?;
    let (_, ns) = rest.rsplit_once('.')?;
    (!ns.is_empty()).then_some(ns)
}

/// Where a resource's consumers connect. The provisioner's `network` says; without one, a
/// numeric `port` output is the port and the `host` output tells in-cluster (a `.svc` name, in
/// its namespace, every pod of it) from external. A resource with neither (a volume, a route, a
/// DNS name) has no endpoint and its consumers get no egress for it.
pub fn endpoint(cx: &EnvCx<'_>, i: &Instance) -> Result<Option<Endpoint>, Diagnostic> {
    let prov = cx
        .platform
        .provisioners
        .iter()
        .find(|p| p.name == i.provisioner);
    match prov.and_then(|p| p.network.as_ref()) {
        Some(net) => network_endpoint(cx, i, net).map(Some),
        None => output_endpoint(i),
    }
}

fn bad_port(i: &Instance, what: &str, got: &str) -> Diagnostic {
    Diagnostic::at(
        Code::InvalidValue,
        &i.span,
        format!(
            "provisioner `{}`: {what} of resource `{}` is `{got}`, expected a port number (1-65535)",
            i.provisioner, i.name
        ),
    )
    .with_help("make the template produce a number such as `5432`")
}

/// A rendered or output text as a port number 1-65535, else an error naming `what` it is.
fn port_number(i: &Instance, what: &str, text: &str) -> Result<u16, Diagnostic> {
    port_of(&json!(text))
        .filter(|p| *p > 0)
        .ok_or_else(|| bad_port(i, what, text))
}

/// Without a `network`: the `port` output, in-cluster when the `host` output is a `.svc` name.
fn output_endpoint(i: &Instance) -> Result<Option<Endpoint>, Diagnostic> {
    let Some(port_s) = plain_output(i, "port") else {
        return Ok(None);
    };
    let port = port_number(i, "the `port` output", port_s)?;
    Ok(Some(
        match plain_output(i, "host").and_then(cluster_namespace) {
            Some(ns) => Endpoint::Pods(PodEndpoint {
                namespace: ns.to_string(),
                pods: BTreeMap::new(),
                ports: vec![port],
                metrics_port: None,
                kube_api: false,
            }),
            None => Endpoint::External { ports: vec![port] },
        },
    ))
}

/// The provisioner's `network` block, its templates rendered with the instance's context.
fn network_endpoint(
    cx: &EnvCx<'_>,
    i: &Instance,
    net: &ResourceNetwork,
) -> Result<Endpoint, Diagnostic> {
    let mcx = Templates::context(&i.context);
    let render = |what: &str, src: &str| -> Result<String, Diagnostic> {
        cx.templates
            .render_inline(
                &format!("network.{what} of provisioner `{}`", i.provisioner),
                src,
                &mcx,
            )
            .map_err(|d| d.with_note(format!("for resource `{}` ({})", i.name, i.span)))
    };
    let ports = network_ports(i, net, &render)?;
    if net.external {
        return Ok(Endpoint::External { ports });
    }
    let namespace = match &net.namespace {
        Some(src) => render("namespace", src)?,
        None => i.namespace.clone(),
    };
    let mut pods = BTreeMap::new();
    for (k, src) in &net.pods {
        pods.insert(k.clone(), render("pods", src)?);
    }
    let metrics_port = match &net.metrics_port {
        Some(src) => Some(port_number(
            i,
            "network.metrics_port",
            &render("metrics_port", src)?,
        )?),
        None => None,
    };
    Ok(Endpoint::Pods(PodEndpoint {
        namespace,
        pods,
        ports,
        metrics_port,
        kube_api: net.kube_api,
    }))
}

/// `network.ports` rendered, else the `port` output; sorted and without repeats.
fn network_ports(
    i: &Instance,
    net: &ResourceNetwork,
    render: &dyn Fn(&str, &str) -> Result<String, Diagnostic>,
) -> Result<Vec<u16>, Diagnostic> {
    let mut ports = BTreeSet::new();
    for src in &net.ports {
        ports.insert(port_number(i, "network.ports", &render("ports", src)?)?);
    }
    if net.ports.is_empty() {
        let Some(port_s) = plain_output(i, "port") else {
            return Err(Diagnostic::at(
                Code::InvalidValue,
                &i.span,
                format!(
                    "provisioner `{}` has a `network` but neither `network.ports` nor a `port` output",
                    i.provisioner
                ),
            )
            .with_help("add `ports = [\"<port>\"]` to its `network`, or a `port` output"));
        };
        ports.insert(port_number(i, "the `port` output", port_s)?);
    }
    Ok(ports.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_hosts_name_their_namespace() {
        assert_eq!(
            cluster_namespace("orders-db-rw.payments-dev.svc.cluster.local"),
            Some("payments-dev")
        );
        assert_eq!(cluster_namespace("redis.cache.svc"), Some("cache"));
        assert_eq!(cluster_namespace("api.card-processor.example"), None);
        assert_eq!(cluster_namespace("svc.cluster.local"), None);
    }
}
