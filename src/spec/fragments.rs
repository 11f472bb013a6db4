//! A directory of fragments read as one access.yaml: the fragments' YAML trees merged into
//! one before decoding, so that every later stage sees one desired state and every node
//! keeps the file it was written in ([`Location::file`]).
//!
//! How two fragments combine, key by key:
//! - settings (`version`, `account`, `partition`, each key of `limits`, `iam.groupPath`,
//!   `iam.policyPath`, and a cluster's `region`, `context`, `authentication`, `oidcIssuer`)
//!   may be given in several fragments when they agree; a different value is a mistake
//!   shown at the later fragment, with a note at the first;
//! - declarations by name (`iam.policies`, `groups`, `users`, `roles`; a cluster's
//!   `namespaces`, `clusterRoles`, `roles`, `bindings`, `serviceAccounts`) are declared in one
//!   fragment only: a name declared again is a mistake shown at the later declaration, with a
//!   note at the first;
//! - a cluster may appear in several fragments: its settings as above, its declarations from
//!   each, its lists (`access`, `acknowledged`) and the top-level `acknowledged` joined in
//!   path order;
//! - any other key is kept as written, for the decoder to report.

use super::node::{Node, NodeValue};
use super::reader::Reader;

/// How the values under one key of two fragments combine.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// A setting: given in several fragments, it must be the same.
    Agree,
    /// A map with these keys, merged key by key.
    Keys(&'static [(&'static str, Rule)]),
    /// A map of names, each merged by the rule; with a kind (`cluster`), what follows is said
    /// to be "of KIND `NAME`".
    Each(&'static Rule, Option<&'static str>),
    /// Declarations by name, of this kind: a name in two fragments is a mistake.
    Declarations(&'static str),
    /// A list: the fragments' items, in path order.
    Items,
}

const CLUSTER: Rule = Rule::Keys(&[
    ("region", Rule::Agree),
    ("context", Rule::Agree),
    ("authentication", Rule::Agree),
    ("oidcIssuer", Rule::Agree),
    ("access", Rule::Items),
    ("namespaces", Rule::Declarations("namespace")),
    ("clusterRoles", Rule::Declarations("ClusterRole")),
    ("roles", Rule::Declarations("Role")),
    ("bindings", Rule::Declarations("binding")),
    ("serviceAccounts", Rule::Declarations("ServiceAccount")),
    ("acknowledged", Rule::Items),
]);

const IAM: Rule = Rule::Keys(&[
    ("groupPath", Rule::Agree),
    ("policyPath", Rule::Agree),
    ("policies", Rule::Declarations("policy")),
    ("groups", Rule::Declarations("group")),
    ("users", Rule::Declarations("user")),
    ("roles", Rule::Declarations("role")),
]);

const TOP: Rule = Rule::Keys(&[
    ("version", Rule::Agree),
    ("account", Rule::Agree),
    ("partition", Rule::Agree),
    ("limits", Rule::Each(&Rule::Agree, None)),
    ("iam", IAM),
    ("clusters", Rule::Each(&CLUSTER, Some("cluster"))),
    ("acknowledged", Rule::Items),
]);

/// The fragments merged, each mistake of combining them reported; `None` without any.
/// `unsure` is set when a section could not be merged (a map in one fragment, something
/// else in another): what it declares is not known for certain.
pub struct Merged {
    pub root: Option<Node>,
    pub unsure: bool,
}

/// Merges the fragments' trees, in the order given (sorted paths). A fragment that is not a
/// map is reported and left out.
pub fn merge(reader: &mut Reader<'_>, roots: Vec<Node>) -> Merged {
    let mut merged = Merged {
        root: None,
        unsure: false,
    };
    for root in roots {
        if !matches!(root.value, NodeValue::Map(_)) {
            reader.wrong_type(&root, "a map");
            merged.unsure = true;
            continue;
        }
        match &mut merged.root {
            None => merged.root = Some(root),
            Some(into) => {
                let mut merger = Merger {
                    reader: &mut *reader,
                    unsure: false,
                };
                merger.node(into, root, TOP, &Context::default());
                merged.unsure |= merger.unsure;
            }
        }
    }
    merged
}

/// Where a value is, for messages: its key path, and the cluster it belongs to.
#[derive(Clone, Debug, Default)]
struct Context {
    path: Vec<String>,
    within: Option<String>,
}

impl Context {
    fn key(&self, key: &str) -> Context {
        let mut path = self.path.clone();
        path.push(key.to_string());
        Context {
            path,
            within: self.within.clone(),
        }
    }

    /// `account`, `iam.groupPath`, `region` of cluster `demo`.
    fn setting(&self) -> String {
        let path = format!("`{}`", self.path.join("."));
        match &self.within {
            Some(within) => format!("{path} {within}"),
            None => path,
        }
    }

    /// `user `alice``, `namespace `web` of cluster `demo``.
    fn declared(&self, kind: &str, name: &str) -> String {
        match &self.within {
            Some(within) => format!("{kind} `{name}` {within}"),
            None => format!("{kind} `{name}`"),
        }
    }
}

struct Merger<'r, 'a> {
    reader: &'r mut Reader<'a>,
    unsure: bool,
}

impl Merger<'_, '_> {
    /// Merges `incoming` (a later fragment's) into `into` by `rule`.
    fn node(&mut self, into: &mut Node, incoming: Node, rule: Rule, context: &Context) {
        match rule {
            Rule::Agree => {
                if !into.same_value(&incoming) {
                    self.disagree(into, &incoming, context);
                }
            }
            Rule::Items => {
                if let Some(NodeValue::Seq(more)) = self.both(into, incoming, "a list", is_list)
                    && let NodeValue::Seq(items) = &mut into.value
                {
                    items.extend(more);
                }
            }
            Rule::Keys(keys) => self.entries(into, incoming, |merger, entries, key, value| {
                let known = key
                    .scalar_text()
                    .and_then(|name| keys.iter().find(|(known, _)| *known == name))
                    .map(|(name, rule)| (*name, *rule));
                let existing = known.and_then(|(name, _)| position(entries, name));
                match (known, existing) {
                    (Some((name, rule)), Some(index)) => {
                        merger.node(&mut entries[index].1, value, rule, &context.key(name));
                    }
                    _ => entries.push((key, value)),
                }
            }),
            Rule::Each(rule, kind) => self.entries(into, incoming, |merger, entries, key, value| {
                let name = key.scalar_text();
                match name.as_deref().and_then(|name| position(entries, name)) {
                    Some(index) => {
                        let name = name.unwrap_or_default();
                        let context = match kind {
                            Some(kind) => Context {
                                path: Vec::new(),
                                within: Some(format!("of {kind} `{name}`")),
                            },
                            None => context.key(&name),
                        };
                        merger.node(&mut entries[index].1, value, *rule, &context);
                    }
                    None => entries.push((key, value)),
                }
            }),
            Rule::Declarations(kind) => {
                self.entries(into, incoming, |merger, entries, key, value| {
                    let name = key.scalar_text();
                    match name.as_deref().and_then(|name| position(entries, name)) {
                        Some(index) => {
                            let what = context.declared(kind, &name.unwrap_or_default());
                            merger.declared_twice(&entries[index].0, &key, &what);
                        }
                        None => entries.push((key, value)),
                    }
                });
            }
        }
    }

    /// Merges two maps entry by entry with `each`.
    fn entries(
        &mut self,
        into: &mut Node,
        incoming: Node,
        mut each: impl FnMut(&mut Self, &mut Vec<(Node, Node)>, Node, Node),
    ) {
        if let Some(NodeValue::Map(more)) = self.both(into, incoming, "a map", is_map)
            && let NodeValue::Map(entries) = &mut into.value
        {
            for (key, value) in more {
                each(self, entries, key, value);
            }
        }
    }

    /// Two values of one key that should both be `expected` (maps, lists): the later one's
    /// value when both are, to be combined. Nothing (null) on either side takes the other;
    /// a value of another kind is reported here, the collection kept (so its declarations
    /// are read), and what the section declares is marked unsure.
    fn both(
        &mut self,
        into: &mut Node,
        incoming: Node,
        expected: &str,
        fits: fn(&NodeValue) -> bool,
    ) -> Option<NodeValue> {
        if matches!(incoming.value, NodeValue::Null) {
            return None;
        }
        if matches!(into.value, NodeValue::Null) {
            *into = incoming;
            return None;
        }
        match (fits(&into.value), fits(&incoming.value)) {
            (true, true) => Some(incoming.value),
            (false, true) => {
                let written = std::mem::replace(into, incoming);
                self.reader.wrong_type(&written, expected);
                self.unsure = true;
                None
            }
            (_, false) => {
                self.reader.wrong_type(&incoming, expected);
                self.unsure = true;
                None
            }
        }
    }

    /// A setting given two values: reported at the later, with a note at the first.
    fn disagree(&mut self, first: &Node, later: &Node, context: &Context) {
        let setting = context.setting();
        let source = self.reader.source;
        let there = source
            .fragment(first.location)
            .map(|fragment| fragment.path.display().to_string())
            .unwrap_or_default();
        let diagnostic = source
            .diagnostic(
                later.location,
                format!(
                    "{setting} is {} here but {} in `{there}`",
                    written(later),
                    written(first)
                ),
            )
            .with_note(source.diagnostic(first.location, format!("{setting} is first set here")))
            .with_hint(format!(
                "the fragments of a directory are one desired state: give {setting} the same value in each fragment that sets it, or set it in one only"
            ));
        self.reader.report.push(later.location, diagnostic);
    }

    /// A name declared in two fragments: reported at the later, with a note at the first.
    fn declared_twice(&mut self, first: &Node, later: &Node, what: &str) {
        let source = self.reader.source;
        let there = source
            .fragment(first.location)
            .map(|fragment| fragment.path.display().to_string())
            .unwrap_or_default();
        let diagnostic = source
            .diagnostic(
                later.location,
                format!("{what} is declared twice: here and in `{there}`"),
            )
            .with_note(source.diagnostic(first.location, format!("{what} is first declared here")))
            .with_hint(
                "a name is declared in one fragment only: keep one of the two declarations (other fragments refer to it by its name)",
            );
        self.reader.report.push(later.location, diagnostic);
    }
}

fn is_map(value: &NodeValue) -> bool {
    matches!(value, NodeValue::Map(_))
}

fn is_list(value: &NodeValue) -> bool {
    matches!(value, NodeValue::Seq(_))
}

/// The entry of `entries` whose key is `name`.
fn position(entries: &[(Node, Node)], name: &str) -> Option<usize> {
    entries
        .iter()
        .position(|(key, _)| key.scalar_text().as_deref() == Some(name))
}

/// A setting's value in a message: `` `eu-west-1` ``, or what it is.
fn written(node: &Node) -> String {
    match node.scalar_text() {
        Some(text) => format!("`{text}`"),
        None => match &node.value {
            NodeValue::Null => "empty".to_string(),
            NodeValue::Bool(value) => format!("`{value}`"),
            NodeValue::Float(value) => format!("`{value}`"),
            NodeValue::Seq(_) => "a list".to_string(),
            _ => "a map".to_string(),
        },
    }
}
