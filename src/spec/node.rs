//! The YAML tree with source positions: every scalar, list and map of access.yaml (and of the
//! policy files it names) with the line, column and width it was written at.
//!
//! Parsing only: no meaning is given to any key here.

use std::fmt;

mod indentation;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Where a node starts, and how wide it is on its first line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// Which file of a directory of fragments (its index in sorted path order); 0 for a
    /// single file. First, so that places sort by file, then line and column.
    pub file: usize,
    /// 1-based; 0 when unknown.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// In characters; may run past the end of the line for multi-line nodes.
    pub length: usize,
    /// Byte offset in the source, when known.
    pub offset: Option<usize>,
    /// Byte length in the source, when known.
    pub byte_length: Option<usize>,
}

/// A value read from the file, with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub at: Location,
}

impl<T> Located<T> {
    pub fn new(value: T, at: Location) -> Self {
        Located { value, at }
    }
}

impl Located<String> {
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

/// One YAML node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: NodeValue,
    pub location: Location,
}

/// What a node holds. Map keys are nodes too, so a key can be pointed at.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<NodeValue>::deserialize(deserializer)?;
        let referenced = spanned.referenced;
        let span = referenced.span();
        Ok(Node {
            value: spanned.value,
            location: Location {
                file: 0,
                line: to_usize(referenced.line()),
                column: to_usize(referenced.column()),
                length: to_usize(span.len()),
                offset: span.byte_offset().map(to_usize),
                byte_length: span.byte_len().map(to_usize),
            },
        })
    }
}

fn to_usize(number: u64) -> usize {
    usize::try_from(number).unwrap_or(usize::MAX)
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(deserializer)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Int(i128::from(value)))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<NodeValue, E> {
        Ok(NodeValue::Int(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<NodeValue, E> {
        Ok(NodeValue::Int(i128::from(value)))
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<NodeValue, E> {
        Ok(i128::try_from(value).map_or(NodeValue::Float(value as f64), NodeValue::Int))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Float(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::String(value.to_string()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<NodeValue, E> {
        Ok(NodeValue::String(value))
    }

    fn visit_bytes<E: de::Error>(self, value: &[u8]) -> Result<NodeValue, E> {
        Ok(NodeValue::String(
            String::from_utf8_lossy(value).into_owned(),
        ))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = access.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeValue::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = access.next_entry::<Node, Node>()? {
            entries.push((key, value));
        }
        Ok(NodeValue::Map(entries))
    }
}

impl Node {
    /// Marks this node and every node under it as written in fragment `file`.
    pub fn set_file(&mut self, file: usize) {
        self.location.file = file;
        match &mut self.value {
            NodeValue::Seq(items) => items.iter_mut().for_each(|item| item.set_file(file)),
            NodeValue::Map(entries) => entries.iter_mut().for_each(|(key, value)| {
                key.set_file(file);
                value.set_file(file);
            }),
            _ => {}
        }
    }

    /// Whether `self` and `other` hold the same value, wherever each was written.
    pub fn same_value(&self, other: &Node) -> bool {
        match (&self.value, &other.value) {
            (NodeValue::Seq(a), NodeValue::Seq(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.same_value(b))
            }
            (NodeValue::Map(a), NodeValue::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka.same_value(kb) && va.same_value(vb))
            }
            (a, b) => a == b,
        }
    }

    /// The map entries, or `None` when the node is not a map.
    pub fn entries(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            NodeValue::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The text of a string or integer scalar: what a key or a name is written as.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            NodeValue::String(text) => Some(text.clone()),
            NodeValue::Int(number) => Some(number.to_string()),
            _ => None,
        }
    }

    /// The exact text the node was written as, when it sits on one line.
    pub fn source_text<'s>(&self, source: &'s str) -> Option<&'s str> {
        let start = self.location.offset?;
        let length = self.location.byte_length?;
        let text = source.get(start..start.checked_add(length)?)?;
        (!text.is_empty() && !text.contains('\n')).then_some(text)
    }

    /// How the node reads in a message: `a list`, `the boolean `true``, …
    pub fn describe(&self, source: &str) -> String {
        let written = |fallback: String| {
            self.source_text(source)
                .map_or(fallback, |text| text.to_string())
        };
        match &self.value {
            NodeValue::Null => "nothing".to_string(),
            NodeValue::Bool(value) => format!("the boolean `{}`", written(value.to_string())),
            NodeValue::Int(value) => format!("the number `{}`", written(value.to_string())),
            NodeValue::Float(value) => format!("the number `{}`", written(value.to_string())),
            NodeValue::String(value) => format!("the string `{value}`"),
            NodeValue::Seq(_) => "a list".to_string(),
            NodeValue::Map(_) => "a map".to_string(),
        }
    }
}

/// A YAML syntax error, with its place when the parser knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub location: Location,
    pub hint: Option<String>,
}

/// Parses one YAML document into a tree. `Ok(None)` for an empty document.
pub fn parse(text: &str) -> Result<Option<Node>, SyntaxError> {
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    options.leading_zero_numbers_as_strings = true;
    options.with_snippet = false;
    options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::AsString;
    serde_saphyr::from_str_with_options::<Option<Node>>(text, options).map_err(|error| {
        let location = error
            .location()
            .map(|location| Location {
                file: 0,
                line: to_usize(location.line()),
                column: to_usize(location.column()),
                length: 1,
                offset: location.span().byte_offset().map(to_usize),
                byte_length: None,
            })
            .unwrap_or_default();
        if let serde_saphyr::Error::Budget { breach, .. } = error.without_snippet() {
            return budget(budget_kind(&format!("{breach:?}")), location);
        }
        let message = clean_message(&error.without_snippet().to_string());
        // A breach found while reading a node arrives as text: `budget breached: Nodes {…}`.
        if let Some(breach) = message.strip_prefix("budget breached: ") {
            return budget(budget_kind(breach), location);
        }
        if message.starts_with("recursion limit exceeded") {
            return SyntaxError {
                message: "the YAML is nested too deeply to read".to_string(),
                location,
                hint: Some(
                    "access.yaml nests a few levels of maps and lists: look for `[` or `{` that are never closed".to_string(),
                ),
            };
        }
        let mut location = location;
        let mut hint = None;
        if let Some(key) = message
            .strip_prefix("duplicate key `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            location.length = key.chars().count();
            hint = Some("a name can be declared only once: merge the two".to_string());
        }
        let mut syntax = SyntaxError {
            message,
            location,
            hint,
        };
        indentation::explain(&mut syntax, text);
        syntax
    })
}

/// Which limit a breach (as `Debug` text: `Nodes { nodes: 250001 }`) is.
fn budget_kind(breach: &str) -> &str {
    breach
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default()
}

/// A resource limit of the YAML reader, in words, at the one place the reader stopped.
fn budget(kind: &str, location: Location) -> SyntaxError {
    let (message, hint) = match kind {
        "Nodes"
        | "Aliases"
        | "AliasAnchorRatio"
        | "RecordedAnchorEvents"
        | "RecordedAnchorBytes"
        | "Events" => (
            "the YAML expands to too many values: its aliases (`*name`) repeat what anchors (`&name`) hold, over and over",
            "access.yaml needs no aliases of aliases: write the values out, or repeat an anchor a few times only",
        ),
        "Depth" => (
            "the YAML is nested too deeply to read",
            "access.yaml nests a few levels of maps and lists: look for `[` or `{` that are never closed",
        ),
        _ => (
            "the YAML is too large to read",
            "access.yaml holds access declarations: split off or remove what is not one",
        ),
    };
    SyntaxError {
        message: message.to_string(),
        location,
        hint: Some(hint.to_string()),
    }
}

/// saphyr's messages end with the position (shown separately here) and sometimes name its own
/// options, which mean nothing to someone editing access.yaml.
fn clean_message(message: &str) -> String {
    let message = match message.rfind(" at line ") {
        Some(index) if message[index..].contains(", column ") => &message[..index],
        _ => message,
    };
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .strip_suffix(", set DuplicateKeyPolicy in Options if acceptable")
            .unwrap_or(rest);
        return format!("duplicate key `{key}`");
    }
    if message.starts_with("multiple YAML documents detected") {
        return "more than one YAML document (`---`) in the file".to_string();
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        parse(text).ok().flatten().expect("a document")
    }

    #[test]
    fn scalars_keep_their_place_and_width() {
        let node = root("a: 1\nb: 'quoted'\n");
        let entries = node.entries().expect("a map");
        assert_eq!(entries[0].1.value, NodeValue::Int(1));
        let quoted = &entries[1].1;
        assert_eq!(quoted.value, NodeValue::String("quoted".into()));
        assert_eq!((quoted.location.line, quoted.location.column), (2, 4));
        assert_eq!(quoted.location.length, 8);
        assert_eq!(quoted.source_text("a: 1\nb: 'quoted'\n"), Some("'quoted'"));
    }

    #[test]
    fn yaml_1_1_booleans_and_leading_zeros_stay_strings() {
        let node = root("[y, n, on, off, yes, 012345678901, true, .inf]");
        let NodeValue::Seq(items) = &node.value else {
            panic!("a list");
        };
        let values: Vec<&NodeValue> = items.iter().map(|item| &item.value).collect();
        assert_eq!(
            values[..6]
                .iter()
                .filter(|v| matches!(v, NodeValue::String(_)))
                .count(),
            6
        );
        assert_eq!(*values[6], NodeValue::Bool(true));
        assert_eq!(*values[7], NodeValue::String(".inf".into()));
    }

    #[test]
    fn empty_documents_are_none() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("# only a comment\n"), Ok(None));
    }

    #[test]
    fn syntax_errors_carry_their_place_without_saphyrs_suffix() {
        let error = parse("a: [1\n").expect_err("unclosed");
        assert_eq!(error.message, "unclosed bracket '['");
        assert_eq!((error.location.line, error.location.column), (1, 4));
        let duplicate = parse("a: 1\na: 2\n").expect_err("duplicate");
        assert_eq!(duplicate.message, "duplicate key `a`");
        assert_eq!((duplicate.location.line, duplicate.location.column), (2, 1));
        assert!(duplicate.hint.is_some());
    }

    #[test]
    fn a_flow_map_key_is_a_node_too() {
        let node = root("a: {{AccountID}}\n");
        let value = &node.entries().expect("a map")[0].1;
        assert!(matches!(value.value, NodeValue::Map(_)));
        assert_eq!(value.describe("a: {{AccountID}}\n"), "a map");
    }
}
