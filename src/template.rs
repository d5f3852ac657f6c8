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

    /// A manifest template's source, as the platform gave it.
    pub fn source(&self, name: &str) -> Option<String> {
        self.env
            .get_template(name)
            .ok()
            .map(|t| t.source().to_string())
    }

    /// Which template line wrote each part of `rendered` (what [`Templates::render`] gave for
    /// `name` and `ctx`): the template rendered once more with every line marked. `None` when
    /// the marked rendering is not the same text once the markers are taken out (a tag that
    /// trims the whitespace after it ends a line): the caller says its line is a search.
    pub fn render_lines(&self, name: &str, ctx: &Value, rendered: &str) -> Option<LineMap> {
        let source = self.source(name)?;
        let marked = marked_source(&source);
        let out = self
            .env
            .render_named_str(name, &marked, minijinja::value::Serde(ctx))
            .ok()?;
        let (plain, mut map) = read_marks(&out);
        map.last = u32::try_from(source.lines().count()).unwrap_or(u32::MAX);
        (plain == rendered).then_some(map)
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

/// A manifest template rendered with each of its lines marked: for each line of the output,
/// where the template's lines ended in it. Computed only while recording field origins.
#[derive(Debug, Default)]
pub struct LineMap {
    /// Per output line: (character offset in the line, 1-based template line) of each marker.
    lines: Vec<Vec<(usize, u32)>>,
    /// The template's last line, which has no marker.
    last: u32,
}

/// Ends a template line in the marked rendering (private-use code points: no template or
/// value holds them, and the marked text is compared with the real rendering before use).
const MARK_OPEN: char = '\u{E000}';
const MARK_CLOSE: char = '\u{E001}';

impl LineMap {
    /// The template line that wrote the output at `line`:`col` (1-based): text before a
    /// marker belongs to the template line that marker ends; a line without one (a
    /// multi-line value) to the next marker below it.
    pub fn line_of(&self, line: u32, col: u32) -> Option<u32> {
        let ix = usize::try_from(line).ok()?.checked_sub(1)?;
        let col = usize::try_from(col).ok()?.saturating_sub(1);
        let here = self.lines.get(ix)?.iter().find(|(at, _)| *at >= col);
        let below = || self.lines.get(ix + 1..)?.iter().find_map(|l| l.first());
        match here.or_else(below) {
            Some((_, t)) => Some(*t),
            None => (ix < self.lines.len()).then_some(self.last),
        }
    }
}

/// `source` with a marker at the end of every line that does not end inside a tag, comment or
/// expression (where text would change the template's meaning), nor right after one that trims
/// the whitespace after it (`-%}`: the marker would stop the trim).
fn marked_source(source: &str) -> String {
    let mut out = String::with_capacity(source.len() * 2);
    let mut close: Option<&str> = None;
    let mut quote: Option<char> = None;
    // The line so far ends with a tag that trims what follows it.
    let mut trims = false;
    let mut chars = source.chars().peekable();
    let mut line = 1u32;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        match (close, quote) {
            (Some(_), Some(q)) => {
                if c == '\\' {
                    out.push(c);
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                    continue;
                }
                if c == q {
                    quote = None;
                }
            }
            (Some(end), None) => {
                let mut e = end.chars();
                if (c == '"' || c == '\'') && end != "#}" {
                    quote = Some(c);
                } else if Some(c) == e.next() && next == e.next() {
                    trims = out.ends_with('-');
                    out.push(c);
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                    close = None;
                    continue;
                }
            }
            (None, _) if c == '{' && matches!(next, Some('{' | '%' | '#')) => {
                close = match next {
                    Some('{') => Some("}}"),
                    Some('%') => Some("%}"),
                    _ => Some("#}"),
                };
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
                continue;
            }
            (None, _) if c == '\n' => {
                if !trims {
                    let cr = out.ends_with('\r');
                    if cr {
                        out.pop();
                    }
                    out.push_str(&format!("{MARK_OPEN}{line}{MARK_CLOSE}"));
                    if cr {
                        out.push('\r');
                    }
                }
                trims = false;
            }
            (None, _) => {
                if !c.is_whitespace() {
                    trims = false;
                }
            }
        }
        if c == '\n' {
            line += 1;
        }
        out.push(c);
    }
    // No marker after the last line: minijinja drops a template's one trailing newline, and a
    // marker after it would keep it. `LineMap::last` answers for that line.
    out
}

/// The marked rendering's markers by output line, and the rendering without them.
fn read_marks(marked: &str) -> (String, LineMap) {
    let mut plain = String::with_capacity(marked.len());
    let mut map = LineMap {
        lines: vec![Vec::new()],
        last: 0,
    };
    let mut col = 0usize;
    let mut chars = marked.chars();
    while let Some(c) = chars.next() {
        match c {
            MARK_OPEN => {
                let n: String = chars.by_ref().take_while(|c| *c != MARK_CLOSE).collect();
                if let (Ok(n), Some(l)) = (n.parse(), map.lines.last_mut()) {
                    l.push((col, n));
                }
            }
            '\n' => {
                plain.push(c);
                map.lines.push(Vec::new());
                col = 0;
            }
            c => {
                plain.push(c);
                col += 1;
            }
        }
    }
    (plain, map)
}

fn template_error(name: &str, e: &minijinja::Error) -> Diagnostic {
    let span = e
        .line()
        .map(|l| Span::new(crate::stdlib::template_file(name), l as u32, 1));
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
        "a provisioner's templates see `resource` (`name`, `params`, …), `workload`, `environment`, `cluster` and `team`: see docs/adding-a-resource-type.md",
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
    fn a_marked_rendering_maps_output_back_to_template_lines() {
        let mut p =
            crate::load::platform::load_embedded_platform().unwrap_or_else(|d| panic!("{d}"));
        let src = "{#- a comment\n over lines -#}\n{%- set n = x | int %}\nkind: X\nspec:\n{%- for i in range(n) %}\n  - v{{ i }}: {{ \"a\\nb\" | tojson }}\n{%- endfor %}\n  last: {{ \"}}\" }}\n";
        p.templates.insert("t".into(), src.into());
        let t = Templates::new(&p).unwrap_or_else(|d| panic!("{d:?}"));
        let cx = json!({"x": 2});
        let out = t.render("t", &cx).unwrap_or_else(|d| panic!("{d}"));
        let map = t.render_lines("t", &cx, &out).expect("same text");
        let line = |needle: &str| {
            let (i, l) = out
                .lines()
                .enumerate()
                .find(|(_, l)| l.contains(needle))
                .expect("in output");
            let col = l[..l.find(needle).expect("found")].chars().count() + 1;
            map.line_of(i as u32 + 1, col as u32)
        };
        assert_eq!(line("kind"), Some(4));
        assert_eq!(line("v0"), Some(7));
        assert_eq!(line("v1"), Some(7));
        assert_eq!(line("last"), Some(9));
        // A tag that trims what follows gets no marker; its line's text joins the next one.
        p.templates.insert(
            "u".into(),
            "a: 1\n{% if true -%}\n  b: 2\n{% endif %}\n".into(),
        );
        let t = Templates::new(&p).unwrap_or_else(|d| panic!("{d:?}"));
        let out = t.render("u", &cx).unwrap_or_else(|d| panic!("{d}"));
        let map = t.render_lines("u", &cx, &out).expect("same text");
        assert_eq!(map.line_of(2, 1), Some(3));
        // A marked rendering that is not the rendering is not used: the caller falls back.
        assert!(t.render_lines("u", &cx, "other text").is_none());
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
