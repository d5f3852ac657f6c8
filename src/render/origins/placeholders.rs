//! What the `${…}` placeholders of a Score string read, from what resolve kept: the instance
//! a resource key resolved to (`RWorkload::uses`) and its outputs, the workload a `service`
//! resource links to (`RWorkload::links`), the workload's metadata. Used only while
//! recording: the string is split again here, so a build keeps nothing per placeholder.

use serde_json::json;

use super::{Origin, provisioner_path};
use crate::diag::{Span, Spanned};
use crate::load::score::{Piece, split_placeholders};
use crate::model::Workload;
use crate::render::EnvCx;
use crate::resolve::{Output, RWorkload};

/// One origin per placeholder of `s`: the metadata value or resource output it read.
pub fn placeholder_origins(
    cx: &EnvCx<'_>,
    w: &RWorkload,
    score: &Workload,
    s: &Spanned<String>,
) -> Vec<Origin> {
    let Ok(pieces) = split_placeholders(&s.value) else {
        return Vec::new();
    };
    pieces
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Placeholder { path, .. } => placeholder_read(cx, w, score, &path),
            Piece::Text(_) => None,
        })
        .collect()
}

/// The origin of one placeholder's value, by its path (`["resources", "db", "host"]`).
pub fn placeholder_read(
    cx: &EnvCx<'_>,
    w: &RWorkload,
    score: &Workload,
    path: &[String],
) -> Option<Origin> {
    let shown = format!("${{{}}}", path.join("."));
    match path.first().map(String::as_str) {
        Some("metadata") => {
            let node = path[1..]
                .iter()
                .try_fold(&score.metadata, |n, k| n.get(k))?;
            Some(Origin::Score {
                what: shown,
                at: node.span.clone(),
                value: Some(node.to_json()),
            })
        }
        Some("resources") => resource_output(cx, w, score, path, shown),
        _ => None,
    }
}

/// `${resources.<key>.<output>}`: the instance's output and where its provisioner defines it,
/// or the called workload's Service for a `service` link.
fn resource_output(
    cx: &EnvCx<'_>,
    w: &RWorkload,
    score: &Workload,
    path: &[String],
    shown: String,
) -> Option<Origin> {
    let key = path.get(1)?;
    let output = path.get(2..).map(|p| p.join(".")).unwrap_or_default();
    let req_span = score.resources.get(key).map(|q| &q.key.span);
    if let Some(i) = w.uses.get(key).and_then(|k| cx.res.instance(k)) {
        return Some(instance_output(cx, i, key, &output, req_span, shown));
    }
    service_output(cx, w, score, key, &output, req_span, shown)
}

/// `${resources.<key>.<output>}` of a provisioned instance: the output's value (a secret's
/// reference) and where its provisioner defines it.
fn instance_output(
    cx: &EnvCx<'_>,
    i: &crate::resolve::Instance,
    key: &str,
    output: &str,
    req_span: Option<&Span>,
    shown: String,
) -> Origin {
    let requested = |how: String| match req_span {
        Some(sp) => format!("{how}; requested at {sp}"),
        None => how,
    };
    let p = cx.platform;
    let prov_path = provisioner_path(p, &i.provisioner).unwrap_or_default();
    let prov = p.provisioners.iter().find(|x| x.name == i.provisioner);
    let (value, how, setting) = match i.outputs.get(output) {
        Some(Output::Plain(s)) => {
            let t = prov.and_then(|x| x.outputs.get(output));
            let how = match t {
                Some(t) => format!("output `{output}` = template `{t}`"),
                None => format!("output `{output}`"),
            };
            (json!(s), how, format!("{prov_path}.outputs.{output}"))
        }
        Some(Output::Secret { secret, key }) => (
            json!({"secretKeyRef": {"name": secret, "key": key}}),
            format!(
                "secret output `{output}`: a reference to key `{key}` of Secret `{secret}`, never its value"
            ),
            format!("{prov_path}.secret_outputs.{output}"),
        ),
        None => (
            json!(i.name),
            "the resource itself: its name".to_string(),
            format!("{prov_path}.name"),
        ),
    };
    let at = [setting, format!("{prov_path}.name")]
        .iter()
        .find_map(|s| p.positions.0.get(s))
        .or(req_span)
        .cloned();
    Origin::Read {
        placeholder: shown,
        from: format!(
            "resource `{key}` → instance `{}` ({}) of provisioner `{}`",
            i.name, i.key, i.provisioner
        ),
        how: requested(how),
        value: Some(value),
        at,
    }
}

/// `${resources.<key>.<output>}` of a `service` link: the called workload's Service.
fn service_output(
    cx: &EnvCx<'_>,
    w: &RWorkload,
    score: &Workload,
    key: &str,
    output: &str,
    req_span: Option<&Span>,
    shown: String,
) -> Option<Origin> {
    // The workload the `service` link resolved to, as resolve kept it.
    let target = w.links.get(key)?;
    let ns = cx
        .res
        .workload(target)
        .map(|t| t.namespace.as_str())
        .unwrap_or_default();
    Some(Origin::Read {
        placeholder: shown,
        from: format!("resource `{key}` of type service → workload `{target}`"),
        how: format!(
            "`{output}` of the Service of `{target}` (`{target}.{ns}.svc.cluster.local`, its `http` or first port)"
        ),
        value: None,
        at: req_span
            .cloned()
            .or_else(|| Some(Span::file(score.file.to_string()))),
    })
}
