//! How one JSON value is written in a plan: the compact HCL-like inline form
//! (`{kind = "Role", name = "a"}`, `["developers"]`), policy-document detection and pretty
//! JSON for documents, and scrubbing of control characters from free text.

use serde_json::Value;

/// Written in place of a missing side of a field change.
pub const NONE: &str = "(none)";

/// IAM policy documents are shown as pretty JSON, never inline: they are recognised by their
/// `Statement` key wherever they sit (`document`, `trust`, `inline_policies.*`).
pub fn is_document(value: &Value) -> bool {
    crate::model::policy::is_document(value)
}

/// Nothing worth a line on create: a missing value or an empty collection.
pub fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(entries) => entries.is_empty(),
        Value::Bool(_) | Value::Number(_) | Value::String(_) => false,
    }
}

/// Arrays and objects with something inside may be laid out over several lines.
pub fn is_container(value: &Value) -> bool {
    !is_empty(value) && matches!(value, Value::Array(_) | Value::Object(_))
}

/// The one-line form of a value. Strings are JSON-quoted, so control characters in data
/// come out escaped and cannot reach the terminal.
pub fn inline(value: &Value) -> String {
    let mut out = String::new();
    write_inline(&mut out, value);
    out
}

/// The one-line form of an optional value, `(none)` when absent.
pub fn inline_or_none(value: Option<&Value>) -> String {
    value.map_or_else(|| NONE.to_string(), inline)
}

fn write_inline(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => out.push_str(&number.to_string()),
        Value::String(text) => out.push_str(&quote(text)),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_inline(out, item);
            }
            out.push(']');
        }
        Value::Object(entries) => {
            out.push('{');
            for (index, (key, item)) in entries.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                out.push_str(&key_text(key));
                out.push_str(" = ");
                write_inline(out, item);
            }
            out.push('}');
        }
    }
}

/// An object key: bare when it is a plain identifier, quoted otherwise (`"managed-by"`).
pub fn key_text(key: &str) -> String {
    let mut chars = key.chars();
    let plain = chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain { key.to_string() } else { quote(key) }
}

fn quote(text: &str) -> String {
    // Serializing a string cannot fail; the fallback only keeps this total.
    serde_json::to_string(text).unwrap_or_else(|_| format!("\"{}\"", scrub(text)))
}

/// Pretty JSON, as IAM shows documents; key order is the document's own (canonical) order.
pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| inline(value))
}

/// Free text from the plan (reasons, notes, addresses, flags) with control characters
/// written as `\u{…}` escapes, so data can neither inject terminal escape sequences nor break
/// the line structure of the output.
pub fn scrub(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn inline_forms() {
        assert_eq!(
            inline(&json!({"kind": "Role", "name": "a"})),
            r#"{kind = "Role", name = "a"}"#
        );
        assert_eq!(
            inline(&json!({"managed-by": "accessctl"})),
            r#"{"managed-by" = "accessctl"}"#
        );
        assert_eq!(
            inline(&json!(["developers", 3, true, null])),
            r#"["developers", 3, true, null]"#
        );
        assert_eq!(inline(&json!({})), "{}");
        assert_eq!(inline_or_none(None), "(none)");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(inline(&json!("a\u{1b}[31mb")), r#""a\u001b[31mb""#);
        assert_eq!(scrub("a\u{1b}[31m\nb"), r"a\u{1b}[31m\u{a}b");
        assert_eq!(key_text("bad\u{1b}key"), r#""bad\u001bkey""#);
    }

    #[test]
    fn documents_are_recognised_by_their_statement() {
        assert!(is_document(
            &json!({"Version": "2012-10-17", "Statement": []})
        ));
        assert!(!is_document(&json!({"Version": "2012-10-17"})));
        assert!(!is_document(&json!(["Statement"])));
    }
}
