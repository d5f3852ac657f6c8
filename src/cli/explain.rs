//! `platc explain TARGET`: where a rendered file, object or field came from.
use clap::Args;
use platc::explain::{Explanation, Layer, NodeRef, Role};
use serde_json::Value;

use super::{EXIT_INPUT, EXIT_OK, Workspace, output};

#[derive(Args)]
#[command(
    after_help = "Examples:\n  platc explain 'Deployment/storefront-prod/checkout#spec.replicas'   why this value\n  platc explain out/envs/dev/web/deployment-web.yaml                  where a file came from\n  platc explain --format json 'NetworkPolicy/storefront-prod/orders'\n\nTargets:\n  envs/prod/checkout/deployment-checkout.yaml            a rendered file\n  Deployment/storefront-prod/checkout                    an object (Kind/name when cluster-scoped)\n  envs/dev/web/deployment-web.yaml#spec.replicas        a field of either\n  Deployment/storefront-prod/checkout#spec.template.spec.containers[name=checkout].image\n  out/envs/dev/web/deployment-web.yaml                  a file as it is on disk\n\nField paths read as `platc diff` prints them: list items by name (`containers[name=web]`,\nalso `containers[web]`) or index (`[0]`); keys with dots in brackets\n(`metadata.labels[\"app.kubernetes.io/name\"]`, also without quotes)."
)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub(super) ws: Workspace,
    /// Output format.
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    format: String,
    /// A rendered file path or `Kind/namespace/name`, optionally followed by `#field.path`.
    #[arg(value_name = "TARGET")]
    target: String,
}

pub fn run(a: ExplainArgs) -> i32 {
    let opts = platc::pipeline::Options {
        record_origins: true,
        ..a.ws.options(None)
    };
    let comp = match platc::pipeline::compile(&a.ws.dir, &opts) {
        Ok(c) => c,
        Err(d) => {
            output::print_diagnostics(&d);
            return EXIT_INPUT;
        }
    };
    let target = output_relative(&a.target);
    match platc::explain::explain(&comp, &target) {
        Ok(ex) => {
            if a.format == "json" {
                println!("{}", serde_json::to_string_pretty(&ex).unwrap_or_default());
            } else {
                print!("{}", text(&ex));
            }
            EXIT_OK
        }
        Err(d) => {
            if a.format == "json" {
                let v = serde_json::json!({"ok": false, "diagnostics": d.0});
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            } else {
                for diag in &d.0 {
                    eprintln!("{diag}");
                }
            }
            EXIT_INPUT
        }
    }
}

/// A file as it is on disk (`out/envs/dev/web/deployment-web.yaml`, relative to the current
/// directory or absolute, as a shell completes it) becomes its path in the output tree: relative
/// to the nearest directory above it that holds platc's `.platc/index.json`. Anything else is
/// left as written.
fn output_relative(target: &str) -> String {
    let (main, field) = match target.split_once('#') {
        Some((m, f)) => (m, Some(f)),
        None => (target, None),
    };
    let path = std::path::Path::new(main);
    let Ok(abs) = path.canonicalize() else {
        return target.to_string();
    };
    let Some(root) = abs
        .ancestors()
        .skip(1)
        .find(|d| d.join(platc::emit::INDEX_PATH).is_file())
    else {
        return target.to_string();
    };
    let Ok(rel) = abs.strip_prefix(root) else {
        return target.to_string();
    };
    let rel = rel.to_string_lossy().replace('\\', "/");
    match field {
        Some(f) => format!("{rel}#{f}"),
        None => rel,
    }
}

fn show(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn refs(r: &[NodeRef]) -> String {
    if r.is_empty() {
        return "-".into();
    }
    r.iter()
        .map(|n| match n.wave {
            Some(w) => format!("{} (wave {w})", n.id),
            None => n.id.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn text(ex: &Explanation) -> String {
    let mut s = format!("{}\n", ex.path);
    let row = |s: &mut String, k: &str, v: &str| s.push_str(&format!("  {k:<12} {v}\n"));
    if let Some(o) = &ex.object {
        let at = match &o.namespace {
            Some(ns) => format!("{} {ns}/{} ({})", o.kind, o.name, o.api_version),
            None => format!("{} {} ({})", o.kind, o.name, o.api_version),
        };
        row(&mut s, "object", &at);
    }
    row(
        &mut s,
        "environment",
        ex.environment
            .as_deref()
            .unwrap_or("(all: rendered once for the platform)"),
    );
    row(&mut s, "plane", &ex.plane);
    row(
        &mut s,
        "caused by",
        &format!("{} at {}", ex.cause, ex.source),
    );
    row(&mut s, "produced by", &ex.via);
    if ex.node.is_empty() {
        row(&mut s, "graph node", "- (tied to no single node)");
    }
    for g in &ex.graph {
        let wave = g
            .wave
            .map(|w| format!(", sync wave {w}"))
            .unwrap_or_default();
        row(
            &mut s,
            "graph node",
            &format!(
                "{} ({} on the {} plane{wave}) in environment {}",
                g.id, g.kind, g.plane, g.environment
            ),
        );
        s.push_str(&format!("    must exist first:  {}\n", refs(&g.requires)));
        s.push_str(&format!(
            "    waits for it:      {}\n",
            refs(&g.required_by)
        ));
        s.push_str(&format!("    talks to:          {}\n", refs(&g.calls)));
        s.push_str(&format!("    called by:         {}\n", refs(&g.called_by)));
    }
    if let Some(f) = &ex.field {
        s.push_str(&format!("\nfield {} = {}\n", f.path, show(&f.value)));
        for l in &f.layers {
            s.push_str(&layer(l));
        }
        for n in &f.notes {
            s.push_str(&format!("  note: {n}\n"));
        }
    }
    s
}

fn layer(l: &Layer) -> String {
    let role = match l.role {
        Role::Sets => "sets",
        Role::Replaced => "replaced",
        Role::Feeds => "feeds",
    };
    let origin = match &l.field {
        Some(f) => format!("[{f}] {}", l.origin),
        None => l.origin.clone(),
    };
    let mut s = match &l.value {
        Some(v) => format!("  {role:<9} {origin} = {}\n", show(v)),
        None => format!("  {role:<9} {origin}\n"),
    };
    if let Some(loc) = &l.location {
        s.push_str(&format!("            at {loc}\n"));
    }
    if let Some(n) = &l.note {
        s.push_str(&format!("            ({n})\n"));
    }
    s
}
