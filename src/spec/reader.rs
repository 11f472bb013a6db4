//! Reading typed values out of the YAML tree while collecting every mistake: the primitives
//! (maps with known keys, strings, lists, booleans, integers) the access.yaml decoder is built
//! from, and the report the mistakes go into.

use std::path::PathBuf;

use super::diagnostic::Diagnostic;
use super::node::{Located, Location, Node, NodeValue};
use super::suggest;

/// One file being read: access.yaml (one file, or the fragments of a directory) or a policy
/// file it names.
#[derive(Clone, Debug)]
pub struct Source {
    /// The files, in the order [`Location::file`] numbers them: one for a file, the
    /// fragments of a directory in sorted path order.
    pub fragments: Vec<Fragment>,
    /// The directory `file:` references are confined to (see [`super::input::confine`]).
    pub root: PathBuf,
    /// `-f` named a directory: `fragments` are its fragments, `root` the directory.
    pub directory: bool,
    /// The policy files named so far, shared by every source of one load.
    pub files: super::input::Files,
}

/// One file of a [`Source`].
#[derive(Clone, Debug)]
pub struct Fragment {
    /// As shown in diagnostics.
    pub path: PathBuf,
    /// Its directory relative to the root: where its `file:` references start.
    pub base: PathBuf,
    pub text: String,
    /// Where each line of `text` is (as [`super::diagnostic::source_lines`] counts them),
    /// found once when the first diagnostic points into the file: a file with thousands of
    /// mistakes is not scanned from the top for each.
    pub lines: std::sync::OnceLock<Vec<std::ops::Range<usize>>>,
}

impl Fragment {
    pub fn new(path: PathBuf, base: PathBuf, text: String) -> Self {
        Fragment {
            path,
            base,
            text,
            lines: std::sync::OnceLock::new(),
        }
    }

    /// Line `line` (1-based) of the text.
    pub fn line(&self, line: usize) -> Option<&str> {
        let lines = self.lines.get_or_init(|| {
            let start = self.text.as_ptr() as usize;
            super::diagnostic::source_lines(&self.text)
                .map(|line| {
                    let from = line.as_ptr() as usize - start;
                    from..from + line.len()
                })
                .collect()
        });
        let range = lines.get(line.checked_sub(1)?)?;
        self.text.get(range.clone())
    }
}

impl Source {
    /// One file read on its own, its references relative to `root`.
    #[cfg(test)]
    pub fn single(path: PathBuf, root: PathBuf, text: String, files: super::input::Files) -> Self {
        Source {
            fragments: vec![Fragment::new(path, PathBuf::new(), text)],
            root,
            directory: false,
            files,
        }
    }

    /// The file `at` is in (the first when `at` names none).
    pub fn fragment(&self, at: Location) -> Option<&Fragment> {
        self.fragments
            .get(at.file)
            .or_else(|| self.fragments.first())
    }

    /// The text of the file `at` is in.
    pub fn text_of(&self, at: Location) -> &str {
        self.fragment(at)
            .map_or("", |fragment| fragment.text.as_str())
    }

    /// How the whole source is shown: its one file, or the directory of fragments.
    pub fn shown(&self) -> &std::path::Path {
        match self.fragments.as_slice() {
            [one] if !self.directory => &one.path,
            _ => &self.root,
        }
    }

    pub fn diagnostic(&self, at: Location, message: impl Into<String>) -> Diagnostic {
        match self.fragment(at) {
            Some(fragment) => Diagnostic::new(&fragment.path, message).at_line(
                fragment.line(at.line),
                at.line,
                at.column,
                at.length,
            ),
            None => Diagnostic::new(&self.root, message),
        }
    }
}

/// Every diagnostic found so far, each with the place in access.yaml it sorts by.
#[derive(Clone, Debug, Default)]
pub struct Report {
    entries: Vec<(Location, Diagnostic)>,
    /// Warnings: shown, but the file still loads.
    warnings: Vec<(Location, Diagnostic)>,
}

impl Report {
    pub fn push(&mut self, order: Location, diagnostic: Diagnostic) {
        self.entries.push((order, diagnostic));
    }

    /// The warnings found, in file order.
    pub fn warnings(&self) -> Vec<Diagnostic> {
        let mut warnings = self.warnings.clone();
        warnings.sort_by_key(|(order, _)| (order.file, order.line, order.column));
        warnings
            .into_iter()
            .map(|(_, diagnostic)| diagnostic)
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// In file order (the fragments of a directory in path order); mistakes found at the same
    /// place keep the order they were found in.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.entries
            .sort_by_key(|(order, _)| (order.file, order.line, order.column));
        // The same mistake can be found twice (a policy file named by two policies).
        let mut seen = std::collections::BTreeSet::new();
        self.entries
            .into_iter()
            .map(|(_, diagnostic)| diagnostic)
            .filter(|d| seen.insert((d.file.clone(), d.line, d.column, d.message.clone())))
            .collect()
    }
}

/// Who owns a set of fields, for messages: `in user `developer``, `at the top level`.
#[derive(Clone, Debug)]
pub struct Owner {
    /// A phrase that follows the message: `in role `eks-admin``.
    pub phrase: String,
    /// Where a missing field is reported: the key that names the owner.
    pub at: Location,
}

impl Owner {
    pub fn new(phrase: impl Into<String>, at: Location) -> Self {
        Owner {
            phrase: phrase.into(),
            at,
        }
    }
}

/// A map read with a fixed set of keys; unknown keys have already been reported.
#[derive(Debug)]
pub struct Object<'n> {
    pub owner: Owner,
    fields: Vec<(String, &'n Node, &'n Node)>,
    /// Some keys were unknown (and reported): what is missing may just be misspelt.
    pub had_unknown: bool,
}

impl<'n> Object<'n> {
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.fields
            .iter()
            .find(|(name, _, _)| name == key)
            .map(|(_, _, value)| *value)
    }

    pub fn key(&self, key: &str) -> Option<&'n Node> {
        self.fields
            .iter()
            .find(|(name, _, _)| name == key)
            .map(|(_, key, _)| *key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

/// Reads one source, reporting into `report`. Mistakes in a policy file sort at `anchor`, the
/// place in access.yaml that names the file.
pub struct Reader<'a> {
    pub source: &'a Source,
    pub report: &'a mut Report,
    pub anchor: Option<Location>,
}

impl<'a> Reader<'a> {
    pub fn new(source: &'a Source, report: &'a mut Report) -> Self {
        Reader {
            source,
            report,
            anchor: None,
        }
    }

    pub fn error(&mut self, at: Location, message: impl Into<String>) {
        let diagnostic = self.source.diagnostic(at, message);
        self.report.push(self.anchor.unwrap_or(at), diagnostic);
    }

    pub fn error_hint(
        &mut self,
        at: Location,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let diagnostic = self.source.diagnostic(at, message).with_hint(hint);
        self.report.push(self.anchor.unwrap_or(at), diagnostic);
    }

    /// A warning at `at`: the file still loads.
    pub fn warn_hint(&mut self, at: Location, message: impl Into<String>, hint: impl Into<String>) {
        let mut diagnostic = self.source.diagnostic(at, message).with_hint(hint);
        diagnostic.severity = super::diagnostic::Severity::Warning;
        self.report
            .warnings
            .push((self.anchor.unwrap_or(at), diagnostic));
    }

    /// Reports a node of the wrong type, with a hint when the fix is likely a matter of quotes.
    pub fn wrong_type(&mut self, node: &Node, expected: &str) {
        let message = format!(
            "expected {expected}, found {}",
            node.describe(self.source.text_of(node.location))
        );
        let written = self.written(node);
        let at = Location {
            length: written.map_or(node.location.length, |text| text.chars().count()),
            ..node.location
        };
        match type_hint(node, expected, written) {
            Some(hint) => self.error_hint(at, message, hint),
            None => self.error(at, message),
        }
    }

    /// The text of a node on its line; for a flow collection (`{{SessionName}}`), up to its
    /// closing bracket.
    fn written(&self, node: &Node) -> Option<&'a str> {
        let text = self.source.text_of(node.location);
        if matches!(node.value, NodeValue::Map(_) | NodeValue::Seq(_)) {
            let rest = text.get(node.location.offset?..)?;
            let line = rest.lines().next()?;
            let mut depth = 0usize;
            for (index, c) in line.char_indices() {
                match c {
                    '{' | '[' => depth += 1,
                    '}' | ']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return line.get(..=index);
                        }
                    }
                    _ if depth == 0 => return None,
                    _ => {}
                }
            }
            return None;
        }
        node.source_text(text)
    }

    /// A map's entries. Null reads as an empty map; anything else is reported as not being
    /// `expected`.
    fn entries<'n>(&mut self, node: &'n Node, expected: &str) -> Option<&'n [(Node, Node)]> {
        match &node.value {
            NodeValue::Null => Some(&[]),
            NodeValue::Map(entries) => Some(entries),
            _ => {
                self.wrong_type(node, expected);
                None
            }
        }
    }

    /// A map whose keys must be among `allowed`. Null reads as an empty map.
    pub fn object<'n>(
        &mut self,
        node: &'n Node,
        owner: Owner,
        allowed: &[&str],
    ) -> Option<Object<'n>> {
        let entries = self.entries(node, "a map")?;
        let mut fields = Vec::new();
        let mut had_unknown = false;
        for (key, value) in entries {
            let Some(name) = key.scalar_text() else {
                self.wrong_type(key, "a key name");
                continue;
            };
            if allowed.contains(&name.as_str()) {
                fields.push((name, key, value));
                continue;
            }
            had_unknown = true;
            let message = format!("unknown field `{name}` {}", owner.phrase);
            let hint = suggest::hint(&name, allowed.iter().copied(), || {
                format!("expected one of {}", suggest::list(allowed.iter().copied()))
            });
            self.error_hint(key.location, message, hint);
        }
        Some(Object {
            owner,
            fields,
            had_unknown,
        })
    }

    /// The body of a declaration (`users: {NAME: BODY}`): a map whose keys must be among
    /// `allowed`, its mistakes said to be `in KIND `NAME``.
    pub fn declaration<'n>(
        &mut self,
        kind: &str,
        name: &Located<String>,
        body: &'n Node,
        allowed: &[&str],
    ) -> Option<Object<'n>> {
        let owner = Owner::new(format!("in {kind} `{}`", name.value), name.at);
        self.object(body, owner, allowed)
    }

    /// Reports `text`, a word that is not among `known`: `unknown WHAT `text``, with the closest
    /// known word or the list of them all as the hint.
    pub fn unknown_word(&mut self, text: &Located<String>, what: &str, known: &[&str]) {
        let hint = suggest::hint(&text.value, known.iter().copied(), || {
            format!("expected {}", suggest::list(known.iter().copied()))
        });
        self.error_hint(text.at, format!("unknown {what} `{}`", text.value), hint);
    }

    /// Reports a missing required field of `object`.
    pub fn missing(&mut self, object: &Object<'_>, key: &str) {
        self.error(
            object.owner.at,
            format!("missing field `{key}` {}", object.owner.phrase),
        );
    }

    /// A name → value map (declarations): keys must be text. Null reads as empty.
    pub fn named<'n>(&mut self, node: &'n Node) -> Vec<(Located<String>, &'n Node)> {
        let Some(entries) = self.entries(node, "a map of names") else {
            return Vec::new();
        };
        let mut named = Vec::new();
        for (key, value) in entries {
            match key.scalar_text() {
                Some(name) => named.push((Located::new(name, key.location), value)),
                None => self.wrong_type(key, "a name"),
            }
        }
        named
    }

    /// Text; an unquoted integer reads as its decimal text (account ids, names).
    pub fn string(&mut self, node: &Node) -> Option<Located<String>> {
        match node.scalar_text() {
            Some(text) => Some(Located::new(text, node.location)),
            None => {
                self.wrong_type(node, "a string");
                None
            }
        }
    }

    /// A list of strings. Null reads as an empty list.
    pub fn strings(&mut self, node: &Node) -> Vec<Located<String>> {
        self.list(node)
            .iter()
            .filter_map(|item| self.string(item))
            .collect()
    }

    /// A list's items. Null reads as an empty list.
    pub fn list<'n>(&mut self, node: &'n Node) -> &'n [Node] {
        match &node.value {
            NodeValue::Null => &[],
            NodeValue::Seq(items) => items,
            _ => {
                self.wrong_type(node, "a list");
                &[]
            }
        }
    }

    /// A string → string map (tags, labels, annotations).
    pub fn string_map(&mut self, node: &Node) -> Vec<(Located<String>, Located<String>)> {
        let Some(entries) = self.entries(node, "a map of strings") else {
            return Vec::new();
        };
        let mut pairs = Vec::new();
        for (key, value) in entries {
            let key = self.string(key);
            let value = match &value.value {
                // An empty value is an empty string: `team:` reads as `team: ""`.
                NodeValue::Null => Some(Located::new(String::new(), value.location)),
                _ => self.string(value),
            };
            if let (Some(key), Some(value)) = (key, value) {
                pairs.push((key, value));
            }
        }
        pairs
    }

    pub fn boolean(&mut self, node: &Node) -> Option<bool> {
        match &node.value {
            NodeValue::Bool(value) => Some(*value),
            _ => {
                self.wrong_type(node, "`true` or `false`");
                None
            }
        }
    }

    pub fn integer(&mut self, node: &Node) -> Option<Located<i128>> {
        match &node.value {
            NodeValue::Int(value) => Some(Located::new(*value, node.location)),
            _ => {
                self.wrong_type(node, "an integer");
                None
            }
        }
    }

    /// `adopt: true|false`, absent = false.
    pub fn adopt(&mut self, object: &Object<'_>) -> bool {
        object
            .get("adopt")
            .and_then(|node| self.boolean(node))
            .unwrap_or(false)
    }
}

/// What most likely fixes a value of the wrong type.
fn type_hint(node: &Node, expected: &str, written: Option<&str>) -> Option<String> {
    let quote = || written.map(|text| format!("quote it to make it a string: `\"{text}\"`"));
    match &node.value {
        NodeValue::Bool(_) | NodeValue::Float(_) | NodeValue::Int(_) if expected == "a string" => {
            quote()
        }
        NodeValue::Map(_) | NodeValue::Seq(_)
            if expected == "a string" && written.is_some_and(|t| t.starts_with("{{")) =>
        {
            quote()
        }
        NodeValue::String(text) if expected == "an integer" && text.parse::<i128>().is_ok() => {
            Some(format!("remove the quotes: `{text}`"))
        }
        NodeValue::String(text)
            if expected == "`true` or `false`"
                && ["yes", "no", "on", "off", "y", "n"].contains(&text.to_lowercase().as_str()) =>
        {
            Some("YAML 1.2 booleans are `true` and `false`".to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::diagnostic::source_lines;

    /// The line index answers as scanning the text from the top does (found by the access_yaml
    /// fuzz target: a 9 KB file of thousands of mistakes scanned it once per mistake).
    #[test]
    fn the_line_index_answers_as_counting_from_the_top() {
        for text in ["", "a", "a\n", "a\r\nb\rc\n\n", "a\r", "\r\r\n\n", "é\rü\n"] {
            let fragment = Fragment::new(PathBuf::new(), PathBuf::new(), text.to_string());
            let count = source_lines(text).count();
            for line in 0..count + 2 {
                let scanned = line.checked_sub(1).and_then(|i| source_lines(text).nth(i));
                assert_eq!(fragment.line(line), scanned, "line {line} of {text:?}");
            }
        }
    }
}
