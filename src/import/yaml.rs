//! A small block-style YAML writer for the imported access.yaml: maps, lists and strings with
//! comments, and quoting that keeps every string a string.
//!
//! Hand-written rather than a serializer because the output is for people: comments next to
//! what they explain, keys in a chosen order, and plain scalars wherever YAML reads them back
//! unchanged. A string is written plain only when it is made of a conservative set of
//! characters and could not be read as anything else (a boolean in YAML 1.1 or 1.2, a number,
//! null, an alias, a comment); otherwise it is double-quoted with escapes.

use std::fmt::Write as _;

use serde_json::Value;

/// One YAML node.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Str(String),
    /// Written as it is: numbers and booleans.
    Raw(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// A map entry with the comment lines written above it.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub comments: Vec<String>,
    pub key: String,
    pub value: Node,
}

impl Node {
    pub fn str(text: impl Into<String>) -> Node {
        Node::Str(text.into())
    }

    pub fn strings<I, S>(items: I) -> Node
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Node::Seq(items.into_iter().map(|s| Node::Str(s.into())).collect())
    }

    /// A JSON value (policy documents), keys in their order.
    pub fn from_json(value: &Value) -> Node {
        match value {
            Value::Null => Node::Raw("null".into()),
            Value::Bool(b) => Node::Raw(b.to_string()),
            Value::Number(n) => Node::Raw(n.to_string()),
            Value::String(s) => Node::Str(s.clone()),
            Value::Array(items) => Node::Seq(items.iter().map(Node::from_json).collect()),
            Value::Object(map) => Node::Map(
                map.iter()
                    .map(|(key, value)| Entry::new(key, Node::from_json(value)))
                    .collect(),
            ),
        }
    }
}

impl Entry {
    pub fn new(key: impl Into<String>, value: Node) -> Entry {
        Entry {
            comments: Vec::new(),
            key: key.into(),
            value,
        }
    }

    pub fn with_comment(mut self, comment: impl Into<String>) -> Entry {
        self.comments.push(comment.into());
        self
    }
}

/// Builds a map from entries, skipping `None`.
#[derive(Clone, Debug, Default)]
pub struct MapBuilder {
    entries: Vec<Entry>,
}

impl MapBuilder {
    pub fn new() -> Self {
        MapBuilder::default()
    }

    pub fn entry(mut self, entry: Entry) -> Self {
        self.entries.push(entry);
        self
    }

    pub fn set(self, key: &str, value: Node) -> Self {
        self.entry(Entry::new(key, value))
    }

    pub fn set_str(self, key: &str, value: &str) -> Self {
        self.set(key, Node::str(value))
    }

    pub fn maybe(self, key: &str, value: Option<Node>) -> Self {
        match value {
            Some(value) => self.set(key, value),
            None => self,
        }
    }

    pub fn push(&mut self, entry: Entry) {
        self.entries.push(entry);
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn build(self) -> Node {
        Node::Map(self.entries)
    }
}

/// Writes a document whose root is a map.
pub fn write_document(header: &[String], root: &[Entry]) -> String {
    let mut out = String::new();
    for line in header {
        write_comment(&mut out, 0, line);
    }
    if !header.is_empty() {
        out.push('\n');
    }
    write_entries(&mut out, 0, root);
    out
}

fn write_comment(out: &mut String, indent: usize, comment: &str) {
    if comment.is_empty() {
        let _ = writeln!(out, "{:indent$}#", "");
    }
    for line in comment.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            let _ = writeln!(out, "{:indent$}#", "");
        } else {
            let _ = writeln!(out, "{:indent$}# {line}", "");
        }
    }
}

fn write_entries(out: &mut String, indent: usize, entries: &[Entry]) {
    for entry in entries {
        write_entry(out, indent, entry, true);
    }
}

/// `indent_first`: whether the key is preceded by indentation (false right after `- `).
fn write_entry(out: &mut String, indent: usize, entry: &Entry, indent_first: bool) {
    for comment in &entry.comments {
        write_comment(out, indent, comment);
    }
    if indent_first {
        let _ = write!(out, "{:indent$}", "");
    }
    out.push_str(&scalar(&entry.key));
    out.push(':');
    write_value(out, indent, &entry.value);
}

/// Writes what follows `key:` or `-`.
fn write_value(out: &mut String, indent: usize, value: &Node) {
    match value {
        Node::Str(text) => {
            let _ = writeln!(out, " {}", scalar(text));
        }
        Node::Raw(text) => {
            let _ = writeln!(out, " {text}");
        }
        Node::Seq(items) if items.is_empty() => out.push_str(" []\n"),
        Node::Map(entries) if entries.is_empty() => out.push_str(" {}\n"),
        Node::Seq(items) => {
            out.push('\n');
            // Lists under a key are indented by two, as most people write them.
            write_items(out, indent + 2, items);
        }
        Node::Map(entries) => {
            out.push('\n');
            write_entries(out, indent + 2, entries);
        }
    }
}

fn write_items(out: &mut String, indent: usize, items: &[Node]) {
    for item in items {
        let _ = write!(out, "{:indent$}-", "");
        match item {
            Node::Map(entries) if !entries.is_empty() => {
                // The first key shares the dash's line; its comments go above the dash.
                let inner = indent + 2;
                let mut first = true;
                for entry in entries {
                    if first {
                        first = false;
                        if entry.comments.is_empty() {
                            out.push(' ');
                            write_entry(out, inner, entry, false);
                        } else {
                            out.push('\n');
                            write_entry(out, inner, entry, true);
                        }
                    } else {
                        write_entry(out, inner, entry, true);
                    }
                }
            }
            Node::Seq(inner) if !inner.is_empty() => {
                out.push('\n');
                write_items(out, indent + 2, inner);
            }
            other => write_value(out, indent, other),
        }
    }
}

/// Words YAML 1.1 or 1.2 reads as booleans or null.
const RESERVED: [&str; 12] = [
    "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~", "<<", "=",
];

/// Whether `text` can be written without quotes and read back as the same string.
pub fn is_plain_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphanumeric() || first == '_' || first == '/') {
        return false;
    }
    // Anything starting with a digit may be a number, a date or a sexagesimal in YAML 1.1.
    if first.is_ascii_digit() {
        return false;
    }
    if RESERVED.contains(&text.to_ascii_lowercase().as_str()) {
        return false;
    }
    if text.ends_with(' ') || text.ends_with(':') {
        return false;
    }
    let bytes = text.as_bytes();
    for (index, &byte) in bytes.iter().enumerate() {
        let next = bytes.get(index + 1).copied();
        let allowed = match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => true,
            b'_' | b'.' | b'/' | b'@' | b'+' | b'=' | b'(' | b')' | b'~' | b'-' | b'*' => true,
            b':' => next != Some(b' '),
            b' ' => next != Some(b' ') && next != Some(b'#'),
            _ => false,
        };
        if !allowed {
            return false;
        }
    }
    true
}

/// The string as a YAML scalar: plain when safe, else double-quoted.
pub fn scalar(text: &str) -> String {
    if is_plain_safe(text) {
        return text.to_string();
    }
    crate::model::aws_auth::double_quoted(text)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    fn read(text: &str) -> BTreeMap<String, Value> {
        serde_saphyr::from_str(text).unwrap_or_else(|error| panic!("{error}\n{text}"))
    }

    #[test]
    fn words_yaml_would_read_otherwise_are_quoted() {
        for word in [
            "yes",
            "No",
            "on",
            "OFF",
            "true",
            "null",
            "~",
            "",
            "123456789012",
            "1e3",
            "0x1F",
            "-1",
            ".5",
            "*",
            "&a",
            "!tag",
            "{x}",
            "[x]",
            "#c",
            "a #b",
            "a: b",
            "key:",
            " a",
            "a ",
            "{{EC2PrivateDNSName}}",
            "2012-10-17",
            "12:30",
            "-",
            "? x",
            "|",
            ">",
            "'q'",
            "\"q\"",
            "%x",
            "@x",
            "`x`",
        ] {
            let written = scalar(word);
            assert!(written.starts_with('"'), "{word:?} → {written}");
            let back = read(&format!("k: {written}\n"));
            assert_eq!(back["k"], Value::String(word.into()), "{written}");
        }
    }

    #[test]
    fn ordinary_names_stay_plain() {
        for word in [
            "system:masters",
            "arn:aws:iam::111122223333:role/eks-admin",
            "eks.amazonaws.com",
            "s3:*",
            "my-test-ns/deployer",
            "/accessctl/",
            "Allow",
        ] {
            assert_eq!(scalar(word), word);
        }
    }

    #[test]
    fn nested_structures_read_back() {
        let root = vec![
            Entry::new("version", Node::Raw("1".into())),
            Entry::new("account", Node::str("111122223333")).with_comment("the account"),
            Entry::new(
                "list",
                Node::Seq(vec![
                    Node::Map(vec![
                        Entry::new("role", Node::str("a")),
                        Entry::new("groups", Node::strings(["system:masters", "x"])),
                    ]),
                    Node::Map(vec![
                        Entry::new("user", Node::str("b")).with_comment("why"),
                        Entry::new("empty", Node::Seq(Vec::new())),
                    ]),
                    Node::Seq(vec![Node::str("inner")]),
                    Node::str("yes"),
                ]),
            ),
            Entry::new("map", Node::Map(Vec::new())),
        ];
        let text = write_document(&["header".into()], &root);
        let value: Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(
            value,
            serde_json::json!({
                "version": 1,
                "account": "111122223333",
                "list": [
                    {"role": "a", "groups": ["system:masters", "x"]},
                    {"user": "b", "empty": []},
                    ["inner"],
                    "yes"
                ],
                "map": {}
            }),
            "{text}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_string_round_trips(text in any::<String>()) {
            let document = write_document(&[], &[
                Entry::new(text.clone(), Node::strings([text.clone()])),
            ]);
            let back: BTreeMap<String, Value> = serde_saphyr::from_str(&document)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{document}")))?;
            prop_assert_eq!(
                back.get(&text),
                Some(&Value::Array(vec![Value::String(text.clone())])),
                "{}",
                document
            );
        }

        #[test]
        fn name_like_strings_round_trip(text in "[ -~]{0,24}") {
            let document = write_document(&[], &[Entry::new("k", Node::str(text.clone()))]);
            let back: BTreeMap<String, Value> = serde_saphyr::from_str(&document)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{document}")))?;
            prop_assert_eq!(&back["k"], &Value::String(text.clone()), "{}", document);
        }
    }
}
