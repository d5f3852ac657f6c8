//! The one minijinja environment: the platform's and the stdlib's templates, compiled once per
//! build and shared (read-only) by resolve (provisioner outputs) and render (manifests).

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

use crate::diag::{Code, Diagnostic, Span};
use crate::model::Platform;

/// Work one render may do: about one fuel per instruction and per 64 bytes of data it creates
/// (minijinja's `fuel`), so both the time and the memory of a template that loops or explodes
/// are bounded. A provisioner's manifest takes a few thousand; 1,000,000 is ~64 MB of data.
pub const TEMPLATE_FUEL: u64 = 1_000_000;
/// Nesting of macro calls and includes. minijinja's default (500) would overflow the 2 MiB stack
/// of a rayon worker in a debug build before it stopped a recursive macro.
pub const TEMPLATE_RECURSION: usize = 64;

pub struct Templates {
    env: Environment<'static>,
}

/// A template context converted once for minijinja, for several renders (an instance's outputs).
pub struct Context(minijinja::Value);

/// The platform's inline templates (provisioner outputs and network fields), compiled once per
/// build: they are rendered for every resource instance of every environment.
fn inline_sources(platform: &Platform) -> impl Iterator<Item = &String> {
    platform.provisioners.iter().flat_map(|p| {
        let net = p.network.iter().flat_map(|n| {
            n.ports
                .iter()
                .chain(&n.namespace)
                .chain(n.pods.values())
                .chain(&n.metrics_port)
        });
        p.outputs
            .values()
            .chain(p.secret_outputs.values().map(|o| &o.secret))
            .chain(p.external_secret.iter().map(|e| &e.remote_key))
            .chain(net)
    })
}

fn inline_name(source: &str) -> String {
    format!("<inline>{source}")
}

impl Templates {
    /// Compiles every template of the platform; a syntax error names the template and line.
    pub fn new(platform: &Platform) -> Result<Self, Vec<Diagnostic>> {
        let mut env = Environment::new();
        // Undefined values are errors when printed, so a typo in a template cannot silently
        // produce an empty field; `{% if x %}` on a missing key stays allowed.
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.set_fuel(Some(TEMPLATE_FUEL));
        env.set_recursion_limit(TEMPLATE_RECURSION);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        // `tojson` would print an undefined value as `null` (a param the request did not give
        // and the template did not default): that is a template bug to report, not a value.
        env.add_filter(
            "tojson",
            |v: &minijinja::Value,
             indent: Option<minijinja::Value>,
             args: minijinja::value::Kwargs| {
                if v.is_undefined() {
                    return Err(minijinja::Error::new(
                        minijinja::ErrorKind::UndefinedError,
                        "`tojson` of a value that is not defined",
                    ));
                }
                minijinja::filters::tojson(v, indent, args)
            },
        );
        let mut errors = Vec::new();
        for (name, source) in &platform.templates {
            if let Err(e) = env.add_template_owned(name.clone(), source.clone()) {
                errors.push(template_error(name, &e));
            }
        }
        // One that does not compile is left out: `render_inline` compiles it again when it is
        // used and reports the error with the name of what it renders.
        for source in inline_sources(platform) {
            let _ = env.add_template_owned(inline_name(source), source.clone());
        }
        if errors.is_empty() {
            Ok(Templates { env })
        } else {
            Err(errors)
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.env.get_template(name).is_ok()
    }

    /// Renders a named template (a manifest).
    pub fn render(&self, name: &str, ctx: &Value) -> Result<String, Diagnostic> {
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| template_error(name, &e))?;
        tmpl.render(minijinja::value::Serde(ctx))
            .map_err(|e| template_error(name, &e))
    }

    pub fn context(ctx: &Value) -> Context {
        Context(minijinja::Value::from(minijinja::value::Serde(ctx)))
    }

    /// Renders an inline template string (an output expression); `what` names it in errors.
    pub fn render_str(&self, what: &str, source: &str, ctx: &Value) -> Result<String, Diagnostic> {
        self.render_inline(what, source, &Self::context(ctx))
    }

    /// [`Templates::render_str`] with a converted context.
    pub fn render_inline(
        &self,
        what: &str,
        source: &str,
        ctx: &Context,
    ) -> Result<String, Diagnostic> {
        let rendered = match self.env.get_template(&inline_name(source)) {
            Ok(t) => t.render(ctx.0.clone()),
            Err(_) => self.env.render_str(source, ctx.0.clone()),
        };
        rendered
            .map(|s| s.trim().to_string())
            .map_err(|e| template_error(what, &e))
    }
}

fn template_error(name: &str, e: &minijinja::Error) -> Diagnostic {
    let span = e
        .line()
        .map(|l| Span::new(format!("<template {name}>"), l as u32, 1));
    if e.kind() == minijinja::ErrorKind::OutOfFuel {
        return Diagnostic::error(
            Code::Template,
            span,
            format!("template `{name}` ran out of fuel: it did more than {TEMPLATE_FUEL} steps of work or made more than ~64 MB of data"),
        )
        .with_help("look for a loop over a large `range`, nested loops, or a string repeated or joined many times; a manifest needs a few thousand steps");
    }
    if e.detail() == Some("recursion limit exceeded") {
        return Diagnostic::error(
            Code::Template,
            span,
            format!("template `{name}` nests macro calls or includes more than {TEMPLATE_RECURSION} deep"),
        )
        .with_help("look for a macro that calls itself (or an include of itself) without a condition that stops it");
    }
    let mut msg = format!("template `{name}`: {}", e.kind());
    if let Some(detail) = e.detail() {
        msg.push_str(": ");
        msg.push_str(detail);
    }
    Diagnostic::error(Code::Template, span, msg).with_help(
        "check the template against the provisioner context described in ARCHITECTURE.md",
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The reference platform with one provisioner output of `source`.
    fn with_output(source: &str) -> (Platform, String) {
        let mut p =
            crate::load::platform::load_embedded_platform().unwrap_or_else(|d| panic!("{d}"));
        p.provisioners[0]
            .outputs
            .insert("probe".into(), source.to_string());
        (p, source.to_string())
    }

    #[test]
    fn inline_templates_are_compiled_once_and_render_trimmed() {
        let (p, source) = with_output("  {{ resource.name }}-rw  ");
        let t = Templates::new(&p).unwrap_or_else(|d| panic!("{d:?}"));
        assert!(t.env.get_template(&inline_name(&source)).is_ok());
        let cx = Templates::context(&json!({"resource": {"name": "db"}}));
        assert_eq!(
            t.render_inline("probe", &source, &cx).as_deref(),
            Ok("db-rw")
        );
        // A source the platform does not hold is compiled when used.
        assert_eq!(
            t.render_inline("other", "{{ resource.name }}", &cx)
                .as_deref(),
            Ok("db")
        );
    }

    #[test]
    fn a_broken_inline_template_fails_where_it_is_used_and_names_it() {
        let (p, source) = with_output("{{ resource.name ");
        // Other templates still compile; the broken one is left out of the environment.
        let t = Templates::new(&p).unwrap_or_else(|d| panic!("{d:?}"));
        assert!(t.env.get_template(&inline_name(&source)).is_err());
        let cx = Templates::context(&json!({"resource": {"name": "db"}}));
        let d = t
            .render_inline("pg.outputs.probe", &source, &cx)
            .expect_err("a syntax error");
        assert_eq!(d.code, Code::Template);
        assert!(
            d.message.contains("template `pg.outputs.probe`"),
            "{}",
            d.message
        );
        // An undefined value printed is an error too, not an empty string.
        let d = t
            .render_inline("x", "{{ resource.nope }}", &cx)
            .expect_err("undefined");
        assert!(d.message.contains("template `x`"), "{}", d.message);
    }
}
