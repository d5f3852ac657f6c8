//! Diagnostics: typed, located errors written for the person who has to fix them.
//!
//! Every stage returns `Result<T, Diagnostics>` so that a stage can report all the problems it
//! found at once instead of stopping at the first.

use std::fmt;
use std::sync::Arc;

/// A position in a workspace file. `file` is relative to the workspace root, with `/` separators,
/// so messages and output are identical on every machine.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Span {
    pub file: Arc<str>,
    /// 1-based.
    pub line: u32,
    /// 1-based.
    pub col: u32,
}

impl Span {
    pub fn new(file: impl Into<Arc<str>>, line: u32, col: u32) -> Self {
        Span {
            file: file.into(),
            line,
            col,
        }
    }
    /// A span for a whole file when nothing more precise is known.
    pub fn file(file: impl Into<Arc<str>>) -> Self {
        Span {
            file: file.into(),
            line: 1,
            col: 1,
        }
    }
}

/// 1-based line and column (in characters) of a byte offset, for spans found by searching a
/// file's text (evaluated Nickel keeps none).
pub fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    // An offset inside a character counts from the text's end rather than panicking.
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// A value together with where it was written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

/// What went wrong, as a stable machine-readable code (used by `--format json` and by the
/// bad-input corpus).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    Io,
    YamlSyntax,
    UnknownField,
    MissingField,
    WrongType,
    InvalidValue,
    DuplicateKey,
    DuplicateWorkload,
    NickelError,
    ContractViolation,
    SandboxEscape,
    UnknownTeam,
    UnknownProfile,
    UnknownEnvironment,
    NoProvisioner,
    UnknownPlaceholder,
    UnknownWorkload,
    SharedResourceConflict,
    OrderingCycle,
    Template,
    /// The output directory holds a file platc did not write where it needs to write one.
    OutputConflict,
    /// A file or a rendered object over its size limit.
    TooLarge,
    /// A file that is not UTF-8 text.
    Encoding,
    /// An evaluation that did not finish within its time limit.
    Timeout,
    Internal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub span: Option<Span>,
    pub message: String,
    /// A suggestion for the fix ("did you mean `replicas`?").
    pub help: Option<String>,
    /// Further lines of explanation (for example each step of a cycle).
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: Code, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            span,
            message: message.into(),
            help: None,
            notes: Vec::new(),
        }
    }
    pub fn at(code: Code, span: &Span, message: impl Into<String>) -> Self {
        Self::error(code, Some(span.clone()), message)
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        // Messages quote what the user wrote; a control character in it (an escape sequence in a
        // hostile name) is shown escaped, never sent to the terminal.
        let message = visible(&self.message);
        match &self.span {
            Some(span) => write!(f, "{span}: {sev}: {message}")?,
            None => write!(f, "{sev}: {message}")?,
        }
        for note in &self.notes {
            write!(f, "\n  note: {note}")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// `text` with every control character but line breaks and tabs escaped (`\u{1b}`).
fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return std::borrow::Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// One or more diagnostics; the error type of every stage.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Diagnostics(Vec::new())
    }
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }
    /// `Ok(v)` when no error was collected, the diagnostics otherwise. Sorted by location so
    /// output does not depend on the order work was done in.
    pub fn into_result<T>(mut self, v: T) -> Result<T, Diagnostics> {
        if self.has_errors() {
            self.sort();
            Err(self)
        } else {
            Ok(v)
        }
    }
    /// Every value, or the errors of all that failed ([`Diagnostics::into_result`]): work done
    /// in parallel reports everything it found, not the first failure.
    pub fn all<T>(
        results: impl IntoIterator<Item = Result<T, Diagnostics>>,
    ) -> Result<Vec<T>, Diagnostics> {
        let mut diags = Diagnostics::new();
        let mut ok = Vec::new();
        for r in results {
            match r {
                Ok(v) => ok.push(v),
                Err(d) => diags.extend(d),
            }
        }
        diags.into_result(ok)
    }
    pub fn sort(&mut self) {
        self.0
            .sort_by(|a, b| (&a.span, &a.message).cmp(&(&b.span, &b.message)));
        self.0.dedup();
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// The closest candidate to `name` by edit distance, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let (ln, lc) = (name.to_ascii_lowercase(), c.to_ascii_lowercase());
        // `hostname` for `host`, `db_name` for `name`: one contains the other.
        let contained = ln.len().min(lc.len()) >= 3 && (ln.contains(&lc) || lc.contains(&ln));
        let d = if contained {
            ln.len().abs_diff(lc.len())
        } else {
            levenshtein(&ln, &lc)
        };
        let limit = if contained {
            usize::MAX
        } else {
            (name.len().max(c.len()) / 3).max(1)
        };
        if d <= limit && best.is_none_or(|(bd, bc)| (d, c) < (bd, bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Edit distance where swapping two adjacent characters counts as one edit (optimal string
/// alignment), so the commonest typo (`imgae` for `image`) is the closest match.
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2: Vec<usize> = Vec::new();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 0..a.len() {
        let mut cur = vec![i + 1; b.len() + 1];
        for j in 0..b.len() {
            let cost = usize::from(a[i] != b[j]);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            if i > 0 && j > 0 && a[i] == b[j - 1] && a[i - 1] == b[j] {
                cur[j + 1] = cur[j + 1].min(prev2[j - 1] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("replica", ["replicas", "profile"]),
            Some("replicas")
        );
        assert_eq!(did_you_mean("imgae", ["image", "command"]), Some("image"));
        assert_eq!(did_you_mean("zzzzzz", ["image", "command"]), None);
        assert_eq!(
            did_you_mean("hostname", ["host", "port", "uri"]),
            Some("host")
        );
    }

    #[test]
    fn line_col_counts_lines_and_characters() {
        assert_eq!(line_col("ab\ncé d", 0), (1, 1));
        assert_eq!(line_col("ab\ncé d", 3), (2, 1));
        assert_eq!(line_col("ab\ncé d", 7), (2, 4));
        assert_eq!(line_col("ab", 99), (1, 3));
    }

    #[test]
    fn renders_location_first() {
        let d = Diagnostic::at(
            Code::UnknownField,
            &Span::new("a.yaml", 3, 5),
            "unknown field `replica`",
        )
        .with_help("did you mean `replicas`?");
        assert_eq!(
            d.to_string(),
            "a.yaml:3:5: error: unknown field `replica`\n  help: did you mean `replicas`?"
        );
    }
}
