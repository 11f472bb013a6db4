//! Diagnostics: a message, a place (file:line:col), a snippet with a caret under the exact
//! spot, and a hint. Rendered the way `just` and rustc render theirs, without colour.

use std::fmt;
use std::path::{Path, PathBuf};

/// One mistake in an input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub file: PathBuf,
    /// 1-based; 0 when the mistake has no position (a missing file).
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// Width of the caret, in characters (at least 1 is drawn).
    pub length: usize,
    pub hint: Option<String>,
    /// What is shown of the source line: all of it, or at most [`SNIPPET_WIDTH`] characters
    /// around the caret, cut ends marked `…`.
    pub snippet: Option<String>,
    /// The caret's column in `snippet`, 1-based.
    pub caret: usize,
    /// An error stops the load; a warning is shown and the load goes on.
    pub severity: Severity,
    /// Other places the mistake involves (the first declaration of a name declared twice),
    /// each shown after the main place as `note: …` with its own file:line:col and snippet.
    pub notes: Vec<Diagnostic>,
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Severity {
    #[default]
    Error,
    /// Worth a look, but possibly right: the file still loads.
    Warning,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// The most characters of a source line a diagnostic shows.
pub const SNIPPET_WIDTH: usize = 160;
/// How many characters before the caret a cut line keeps.
const BEFORE_CARET: usize = 60;
/// The most characters of one value (between backticks) a message or hint shows: room for
/// the commands hints quote (`aws eks describe-cluster … --query …`), not for a whole file.
const VALUE_WIDTH: usize = 160;
/// The most characters of a message or hint.
const MESSAGE_WIDTH: usize = 1000;

/// `text`, with every backticked value longer than [`VALUE_WIDTH`] cut (`…`), and at most
/// [`MESSAGE_WIDTH`] characters in all: messages quote what the file holds, which may be huge.
fn bounded(text: String) -> String {
    if text.len() <= VALUE_WIDTH {
        return text;
    }
    let mut out = String::new();
    for (index, part) in text.split('`').enumerate() {
        if index > 0 {
            out.push('`');
        }
        if index % 2 == 1 && part.chars().count() > VALUE_WIDTH {
            out.extend(part.chars().take(VALUE_WIDTH - 20));
            out.push('…');
        } else {
            out.push_str(part);
        }
    }
    if out.chars().count() > MESSAGE_WIDTH {
        out = out.chars().take(MESSAGE_WIDTH).collect();
        out.push('…');
    }
    out
}

/// The part of `line` shown for a caret at `column` (1-based), and the caret's column in it.
fn window(line: &str, column: usize) -> (String, usize) {
    let width = line.chars().count();
    if width <= SNIPPET_WIDTH {
        return (line.to_string(), column);
    }
    let at = column.saturating_sub(1).min(width);
    let end = (at.saturating_sub(BEFORE_CARET) + SNIPPET_WIDTH).min(width);
    let start = end.saturating_sub(SNIPPET_WIDTH);
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    shown.extend(line.chars().skip(start).take(end - start));
    if end < width {
        shown.push('…');
    }
    (shown, at - start + 1 + usize::from(start > 0))
}

impl Diagnostic {
    /// A mistake without a position in any file.
    pub fn new(file: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            message: bounded(message.into()),
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            length: 0,
            hint: None,
            snippet: None,
            caret: 0,
            severity: Severity::Error,
            notes: Vec::new(),
        }
    }

    pub fn file_error(path: &Path, message: &str) -> Self {
        Diagnostic::new(path, format!("cannot read `{}`: {message}", path.display()))
    }

    /// Points the diagnostic at `line:column` of `source`, `length` characters wide.
    pub fn at(self, source: &str, line: usize, column: usize, length: usize) -> Self {
        let text = line
            .checked_sub(1)
            .and_then(|index| source_lines(source).nth(index));
        self.at_line(text, line, column, length)
    }

    /// [`Diagnostic::at`] when the line's text (`None` when the source has no such line) is
    /// already at hand.
    pub fn at_line(
        mut self,
        text: Option<&str>,
        line: usize,
        column: usize,
        length: usize,
    ) -> Self {
        self.line = line;
        self.column = column;
        self.length = length;
        self.snippet = None;
        self.caret = column;
        if line > 0
            && let Some(text) = text
        {
            let (shown, caret) = window(text, column);
            self.snippet = Some(shown);
            self.caret = caret;
        }
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(bounded(hint.into()));
        self
    }

    /// Adds another place the mistake involves, shown after the main one (its own message,
    /// file:line:col and snippet; its hint and notes are not shown).
    pub fn with_note(mut self, note: Diagnostic) -> Self {
        self.notes.push(note);
        self
    }

    /// The `--> file:line:col` line and the snippet with its caret, under `label: message`.
    fn place(&self, f: &mut fmt::Formatter<'_>, label: &str, gutter: &str) -> fmt::Result {
        writeln!(f, "{label}: {}", self.message)?;
        if self.line == 0 {
            return writeln!(f, "{gutter}--> {}", self.file.display());
        }
        writeln!(
            f,
            "{gutter}--> {}:{}:{}",
            self.file.display(),
            self.line,
            self.column
        )?;
        if let Some(snippet) = &self.snippet {
            let text = printable(snippet);
            let width = text.chars().count();
            let start = self.caret.max(1);
            let room = (width + 1).saturating_sub(start).max(1);
            let carets = self.length.clamp(1, room);
            let number = format!("{:>width$}", self.line, width = gutter.len());
            writeln!(f, "{gutter} |")?;
            writeln!(f, "{number} | {}", text.trim_end())?;
            writeln!(
                f,
                "{gutter} | {}{}",
                " ".repeat(start - 1),
                "^".repeat(carets)
            )?;
        }
        Ok(())
    }

    /// The gutter's width: the widest line number shown, or one column without any.
    fn gutter(&self) -> String {
        let widest = std::iter::once(self)
            .chain(&self.notes)
            .map(|diagnostic| diagnostic.line)
            .max()
            .unwrap_or(0);
        if widest == 0 {
            " ".to_string()
        } else {
            " ".repeat(widest.to_string().len())
        }
    }
}

/// The lines of `source` as YAML counts them (and so the positions of every diagnostic): a
/// line ends at `\r\n`, `\n` or a lone `\r`. A file with old Mac line endings is shown line by
/// line, not as one line.
/// A file that ends in a line break (of any kind) has one more, empty, line: the end of the
/// file, where a diagnostic about something missing at the end points.
pub fn source_lines(source: &str) -> impl Iterator<Item = &str> {
    let mut pieces = source.split('\n').peekable();
    std::iter::from_fn(move || {
        let piece = pieces.next()?;
        // `\r` before a `\n` is half of a `\r\n`; at the very end it is a line break itself.
        let line = match piece.strip_suffix('\r') {
            Some(rest) if pieces.peek().is_some() => rest,
            _ => piece,
        };
        Some(line.split('\r'))
    })
    .flatten()
}

/// Tabs would make the caret drift: they are shown as one space, as they count one column.
fn printable(line: &str) -> String {
    line.chars()
        .map(|c| if c == '\t' || c.is_control() { ' ' } else { c })
        .collect()
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gutter = self.gutter();
        self.place(f, self.severity.label(), &gutter)?;
        for note in &self.notes {
            note.place(f, "note", &gutter)?;
        }
        if let Some(hint) = &self.hint {
            if self.line == 0 && self.notes.is_empty() {
                writeln!(f, "  = hint: {hint}")?;
            } else {
                writeln!(f, "{gutter} |")?;
                writeln!(f, "{gutter} = hint: {hint}")?;
            }
        }
        Ok(())
    }
}

/// Every diagnostic of one load, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(list: Vec<Diagnostic>) -> Self {
        Diagnostics(list)
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the access.yaml fuzz target (fuzz/regressions/access_yaml/
    /// carriage-return-line-ending): YAML ends a line at a lone `\r`, so positions count it,
    /// but the snippet was looked up by `\n` only: no snippet, or another line's.
    #[test]
    fn a_lone_carriage_return_ends_a_line_for_the_snippet_too() {
        let source = "version: 1\raccount: x\r\nclusters: [\n";
        let diagnostic = Diagnostic::new(Path::new("access.yaml"), "bad").at(source, 2, 10, 1);
        assert_eq!(diagnostic.snippet.as_deref(), Some("account: x"));
        let diagnostic = Diagnostic::new(Path::new("access.yaml"), "bad").at(source, 3, 11, 1);
        assert_eq!(diagnostic.snippet.as_deref(), Some("clusters: ["));
    }

    /// Found by the access.yaml fuzz target (fuzz/regressions/access_yaml/
    /// lone-carriage-return-at-the-end): a file ending in a lone `\r` has an empty last line
    /// (the end of the file, where YAML reports what is missing), as one ending in `\n` has.
    #[test]
    fn a_file_ending_in_any_line_break_has_an_empty_last_line() {
        for (source, lines) in [
            ("a: 1", vec!["a: 1"]),
            ("a: 1\n", vec!["a: 1", ""]),
            ("a: 1\r\n", vec!["a: 1", ""]),
            ("a: 1\r", vec!["a: 1", ""]),
            ("a: 1\r\r", vec!["a: 1", "", ""]),
            ("a: 1\r\nb: 2\r", vec!["a: 1", "b: 2", ""]),
            ("", vec![""]),
        ] {
            assert_eq!(
                source_lines(source).collect::<Vec<_>>(),
                lines,
                "{source:?}"
            );
        }
        let diagnostic = Diagnostic::new(Path::new("access.yaml"), "bad").at("a: 1\r", 2, 1, 1);
        assert_eq!(diagnostic.snippet.as_deref(), Some(""));
    }

    #[test]
    fn renders_like_rustc() {
        let source = "iam:\n  users:\n    developer:\n      polices: [AmazonEKSViewPolicy]\n";
        let diagnostic = Diagnostic::new(
            Path::new("access.yaml"),
            "unknown field `polices` in user `developer`",
        )
        .at(source, 4, 7, 7)
        .with_hint("did you mean `policies`?");
        assert_eq!(
            diagnostic.to_string(),
            "error: unknown field `polices` in user `developer`\n \
             --> access.yaml:4:7\n  |\n\
             4 |       polices: [AmazonEKSViewPolicy]\n  \
             |       ^^^^^^^\n  |\n  = hint: did you mean `policies`?\n"
        );
    }

    #[test]
    fn a_note_shows_its_own_place_and_the_gutter_fits_every_line_number() {
        let first = "iam:\n  users:\n    alice: {}\n";
        let later = format!("{}iam:\n  users:\n    alice: {{}}\n", "#\n".repeat(9));
        let diagnostic = Diagnostic::new(Path::new("b.yaml"), "user `alice` is declared twice")
            .at(&later, 12, 5, 5)
            .with_note(
                Diagnostic::new(Path::new("a.yaml"), "first declared here").at(first, 3, 5, 5),
            )
            .with_hint("keep one");
        assert_eq!(
            diagnostic.to_string(),
            "error: user `alice` is declared twice\n  \
             --> b.yaml:12:5\n   |\n12 |     alice: {}\n   |     ^^^^^\n\
             note: first declared here\n  \
             --> a.yaml:3:5\n   |\n 3 |     alice: {}\n   |     ^^^^^\n   |\n   = hint: keep one\n"
        );
    }

    #[test]
    fn caret_is_at_least_one_and_stays_on_the_line() {
        let diagnostic = Diagnostic::new(Path::new("a.yaml"), "m").at("ab\n", 1, 3, 0);
        assert!(diagnostic.to_string().ends_with("1 | ab\n  |   ^\n"));
        let wide = Diagnostic::new(Path::new("a.yaml"), "m").at("ab\n", 1, 1, 40);
        assert!(wide.to_string().ends_with("  | ^^\n"));
    }

    #[test]
    fn gutter_follows_the_line_number_width() {
        let source = "x\n".repeat(12);
        let text = Diagnostic::new(Path::new("a.yaml"), "m")
            .at(&source, 12, 1, 1)
            .to_string();
        assert!(
            text.contains("  --> a.yaml:12:1\n   |\n12 | x\n   | ^\n"),
            "{text}"
        );
    }

    #[test]
    fn long_lines_are_cut_around_the_caret() {
        let line = format!("{}BAD{}", "a".repeat(500_000), "b".repeat(500_000));
        let text = Diagnostic::new(Path::new("a.yaml"), "m")
            .at(&line, 1, 500_001, 3)
            .to_string();
        assert!(text.len() < 400, "{}", text.len());
        let shown = format!("1 | …{}BAD{}…\n", "a".repeat(60), "b".repeat(97));
        assert!(text.contains(&shown), "{text}");
        assert!(
            text.ends_with(&format!("  | {}^^^\n", " ".repeat(61))),
            "{text}"
        );
        // Near the start: cut at the end only.
        let start = Diagnostic::new(Path::new("a.yaml"), "m")
            .at(&line, 1, 2, 1)
            .to_string();
        assert!(
            start.contains(&format!("1 | {}…\n", "a".repeat(160))),
            "{start}"
        );
        assert!(start.ends_with("  |  ^\n"), "{start}");
    }

    #[test]
    fn long_values_in_messages_are_cut() {
        let value = "x".repeat(10_000);
        let diagnostic = Diagnostic::new(Path::new("a.yaml"), format!("invalid `{value}`: no"))
            .with_hint(format!("write `{value}` differently"));
        assert_eq!(
            diagnostic.message,
            format!("invalid `{}…`: no", "x".repeat(VALUE_WIDTH - 20))
        );
        assert!(
            diagnostic
                .hint
                .is_some_and(|hint| hint.chars().count() < VALUE_WIDTH + 30)
        );
    }

    #[test]
    fn without_position() {
        let text = Diagnostic::file_error(Path::new("nope.yaml"), "not found").to_string();
        assert_eq!(
            text,
            "error: cannot read `nope.yaml`: not found\n --> nope.yaml\n"
        );
    }
}
