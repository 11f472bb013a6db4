//! Where each node of access.yaml was written, by its path of keys and list indices, for tools
//! that point back at the file after loading (lint: `file:line:col`).
//!
//! A path joins the keys and indices from the root with `.`, verbatim:
//! `iam.roles.eks-admin.trust`, `clusters.demo.access.0`,
//! `iam.policies.X.document.Statement.0.Action`. A map entry is located at its key; a list item
//! at the item. Keys holding a `.` make paths that may read two ways; the first node written
//! under a path keeps it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::node::{Node, NodeValue};

/// A place in access.yaml.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceLocation {
    /// The file: access.yaml as given to `-f`, or a fragment of the directory it names.
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// The text of a scalar node (strings, numbers, booleans as written); `None` for maps and
    /// lists. Lets a tool find, say, the statement whose `Action` is `*`.
    pub scalar: Option<String>,
}

/// Every node of a parsed file, by path. Empty when the text does not parse (the loader has
/// already reported why).
#[cfg(test)]
pub fn index(text: &str) -> BTreeMap<String, SourceLocation> {
    match super::node::parse(text) {
        Ok(Some(root)) => of(&root, &[PathBuf::from("access.yaml")]),
        _ => BTreeMap::new(),
    }
}

/// Every node of a tree, by path; each in the file of `files` its [`node::Location::file`]
/// names.
pub fn of(root: &Node, files: &[PathBuf]) -> BTreeMap<String, SourceLocation> {
    let mut locations = BTreeMap::new();
    walk(root, String::new(), None, files, &mut locations);
    locations
}

fn walk(
    node: &Node,
    path: String,
    key_at: Option<&Node>,
    files: &[PathBuf],
    locations: &mut BTreeMap<String, SourceLocation>,
) {
    let at = key_at.unwrap_or(node).location;
    let scalar = match &node.value {
        NodeValue::Null | NodeValue::Seq(_) | NodeValue::Map(_) => None,
        NodeValue::Bool(value) => Some(value.to_string()),
        NodeValue::Int(value) => Some(value.to_string()),
        NodeValue::Float(value) => Some(value.to_string()),
        NodeValue::String(value) => Some(value.clone()),
    };
    if !path.is_empty() {
        let file = files
            .get(at.file)
            .or_else(|| files.first())
            .map_or_else(PathBuf::new, |file| Path::to_path_buf(file));
        locations.entry(path.clone()).or_insert(SourceLocation {
            file,
            line: at.line,
            column: at.column,
            scalar,
        });
    }
    let join = |part: &str| {
        if path.is_empty() {
            part.to_string()
        } else {
            format!("{path}.{part}")
        }
    };
    match &node.value {
        NodeValue::Seq(items) => {
            for (index, item) in items.iter().enumerate() {
                walk(item, join(&index.to_string()), None, files, locations);
            }
        }
        NodeValue::Map(entries) => {
            for (key, value) in entries {
                let name = match &key.value {
                    NodeValue::String(text) => text.clone(),
                    NodeValue::Int(number) => number.to_string(),
                    NodeValue::Bool(flag) => flag.to_string(),
                    NodeValue::Float(number) => number.to_string(),
                    NodeValue::Null | NodeValue::Seq(_) | NodeValue::Map(_) => continue,
                };
                walk(value, join(&name), Some(key), files, locations);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_items_are_located() {
        let text = "iam:\n  roles:\n    eks-admin:\n      trust: {accounts: [\"1\"]}\nclusters:\n  demo:\n    access:\n      - user: developer\n        groups: [reader]\n";
        let locations = index(text);
        let trust = &locations["iam.roles.eks-admin.trust"];
        assert_eq!((trust.line, trust.column), (4, 7));
        let item = &locations["clusters.demo.access.0"];
        assert_eq!((item.line, item.column), (8, 9));
        let user = &locations["clusters.demo.access.0.user"];
        assert_eq!(user.scalar.as_deref(), Some("developer"));
        assert_eq!(
            locations["clusters.demo.access.0.groups.0"]
                .scalar
                .as_deref(),
            Some("reader")
        );
    }

    #[test]
    fn broken_text_has_no_locations() {
        assert!(index("a: [").is_empty());
    }
}
