//! YAML syntax errors that are really a missing `:`, a mis-indented line or a second document:
//! the parser notices them on a later token; this puts the error on the line that holds the
//! mistake and says what to do.

use super::{Location, SyntaxError};

/// A line of the source: its 1-based number, indentation and text without it.
struct Line<'t> {
    number: usize,
    indent: usize,
    text: &'t str,
}

impl Line<'_> {
    /// The key or item the line starts with: `alice` of `alice: {}`, `role` of `- role: x`.
    fn key(&self) -> &str {
        let text = self.text.trim_start_matches("- ");
        let end = text.find(':').unwrap_or(text.len());
        text[..end].trim_end()
    }

    fn location(&self, length: usize) -> Location {
        Location {
            file: 0,
            line: self.number,
            column: self.indent + 1,
            length,
            offset: None,
            byte_length: None,
        }
    }
}

/// The non-blank, non-comment lines up to and including line `upto`.
fn lines(text: &str, upto: usize) -> Vec<Line<'_>> {
    text.lines()
        .enumerate()
        .take(upto)
        .map(|(index, line)| {
            let text = line.trim_start_matches(' ');
            Line {
                number: index + 1,
                indent: line.len() - text.len(),
                text: text.trim_end(),
            }
        })
        .filter(|line| !line.text.is_empty() && !line.text.starts_with('#'))
        .collect()
}

/// Rewrites `error` when its cause is clearer from the text than from the parser's message.
pub fn explain(error: &mut SyntaxError, text: &str) {
    let line = error.location.line;
    if line == 0 || error.hint.is_some() {
        return;
    }
    if error.message.starts_with("more than one YAML document") {
        second_document(error, text);
        return;
    }
    let all = lines(text, line);
    let Some((here, before)) = all.split_last() else {
        return;
    };
    if here.number != line {
        return;
    }
    let previous = before.last();
    if error.message == "mapping values are not allowed in this context" {
        let Some(previous) = previous else { return };
        let plain = !previous.text.contains(':')
            && !previous.text.starts_with('-')
            && !previous.text.starts_with(['[', '{', '"', '\'']);
        if plain && previous.indent == here.indent {
            let key = previous.text;
            *error = SyntaxError {
                message: format!("missing `:` after `{key}`"),
                location: previous.location(key.chars().count()),
                hint: Some(format!("a key ends with `:`: write `{key}:`")),
            };
        } else if here.indent > previous.indent && !previous.text.ends_with(':') {
            let key = here.key();
            *error = SyntaxError {
                message: format!(
                    "`{key}` is indented more than `{}` on the line above",
                    previous.key()
                ),
                location: here.location(key.chars().count()),
                hint: Some(format!(
                    "keys of one map start in the same column: move `{key}` to column {}, under `{}`",
                    previous.indent + 1,
                    previous.key()
                )),
            };
        }
        return;
    }
    if error
        .message
        .starts_with("while parsing a block mapping, did not find expected key")
    {
        let deeper = before.iter().rev().find(|l| l.indent > here.indent);
        let shallower = before.iter().rev().find(|l| l.indent < here.indent);
        let (Some(deeper), Some(shallower)) = (deeper, shallower) else {
            return;
        };
        let key = here.key();
        *error = SyntaxError {
            message: format!("`{key}` is not indented like any key above it"),
            location: here.location(key.chars().count()),
            hint: Some(format!(
                "keys of one map start in the same column: `{key}` starts in column {}, between `{}` (column {}) and `{}` (column {})",
                here.indent + 1,
                deeper.key(),
                deeper.indent + 1,
                shallower.key(),
                shallower.indent + 1
            )),
        };
    }
}

/// Points at the `---` that starts the second document.
fn second_document(error: &mut SyntaxError, text: &str) {
    let marker = text
        .lines()
        .enumerate()
        .take(error.location.line)
        .filter(|(_, line)| *line == "---" || line.starts_with("--- "))
        .map(|(index, _)| index + 1)
        .last();
    if let Some(number) = marker {
        error.location = Location {
            file: 0,
            line: number,
            column: 1,
            length: 3,
            offset: None,
            byte_length: None,
        };
    }
    error.hint = Some(
        "accessctl reads one YAML document: remove the `---` line and merge what follows into the document above".to_string(),
    );
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    fn error(text: &str) -> (usize, usize, String, Option<String>) {
        let error = parse(text).expect_err("a syntax error");
        (
            error.location.line,
            error.location.column,
            error.message,
            error.hint,
        )
    }

    #[test]
    fn a_missing_colon_is_reported_on_its_line() {
        let (line, column, message, hint) = error("users:\n  alice\n  bob: {}\n");
        assert_eq!((line, column), (2, 3));
        assert_eq!(message, "missing `:` after `alice`");
        assert_eq!(hint.as_deref(), Some("a key ends with `:`: write `alice:`"));
    }

    #[test]
    fn an_over_indented_key_is_named() {
        let (line, column, message, _) = error("prod:\n  region: x\n    access: []\n");
        assert_eq!((line, column), (3, 5));
        assert_eq!(
            message,
            "`access` is indented more than `region` on the line above"
        );
    }

    #[test]
    fn an_under_indented_key_is_named() {
        let (line, column, message, hint) = error("users:\n    alice: {}\n  # c\n   bob: {}\n");
        assert_eq!((line, column), (4, 4));
        assert_eq!(message, "`bob` is not indented like any key above it");
        assert!(
            hint.is_some_and(|h| h.contains("between `alice` (column 5) and `users` (column 1)"))
        );
    }

    #[test]
    fn a_second_document_is_reported_at_its_marker() {
        let (line, column, _, hint) = error("---\na: 1\n---\nb: 2\n");
        assert_eq!((line, column), (3, 1));
        assert!(hint.is_some());
    }
}
