//! A YAML document as a tree whose every node remembers where it was written.

use crate::diag::Span;

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Null,
    /// A scalar, kept as written: typed readers decide what it means, so `0755`, `1.10` or `on`
    /// stay exactly what the author typed when a string is expected.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Keys are scalars (other keys are rejected by the reader); order as written, no duplicates.
    Map(Vec<(Spanned<String>, Node)>),
}

pub use crate::diag::Spanned;

impl Node {
    pub fn as_map(&self) -> Option<&[(Spanned<String>, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(_, v)| v)
    }
    /// What the node is, for "expected a string, found a mapping" messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "null",
            NodeKind::Scalar { .. } => "a scalar",
            NodeKind::Seq(_) => "a sequence",
            NodeKind::Map(_) => "a mapping",
        }
    }
    /// The untyped meaning of the node under the YAML 1.2 core schema (plain `true`, `null`, `12`,
    /// `1.5` are typed; everything else, including `on`/`yes` and quoted scalars, is a string).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Scalar { text, plain } => {
                if !*plain {
                    return Value::String(text.clone());
                }
                match text.as_str() {
                    "true" | "True" | "TRUE" => Value::Bool(true),
                    "false" | "False" | "FALSE" => Value::Bool(false),
                    "null" | "Null" | "NULL" | "~" | "" => Value::Null,
                    t => {
                        if let Ok(i) = t.parse::<i64>() {
                            // Leading zeros (`0755`) are not core-schema integers: keep the text.
                            let digits = t.trim_start_matches(['-', '+']);
                            if digits.len() > 1 && digits.starts_with('0') {
                                return Value::String(t.to_string());
                            }
                            return Value::from(i);
                        }
                        let looks_float = t.chars().any(|c| c == '.' || c == 'e' || c == 'E')
                            && t.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c))
                            && t.chars().any(|c| c.is_ascii_digit());
                        if looks_float
                            && let Ok(f) = t.parse::<f64>()
                            && let Some(n) = serde_json::Number::from_f64(f)
                        {
                            return Value::Number(n);
                        }
                        Value::String(t.to_string())
                    }
                }
            }
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.value.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}
