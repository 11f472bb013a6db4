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

use std::path::{Component, Path, PathBuf};

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
    (
        "assumeRole",
        Rule::Keys(&[
            ("arn", Rule::Agree),
            ("externalId", Rule::Agree),
            ("sessionName", Rule::Agree),
        ]),
    ),
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

/// The policy files a fragment names (`iam.policies.NAME.file`), by their path relative to
/// the directory of fragments (`base` is the fragment's own directory relative to it): a
/// policy file written as YAML beneath the directory is a policy file, not a fragment.
pub fn policy_files(root: &Node, base: &Path) -> Vec<PathBuf> {
    let field = |node: &Node, key: &str| -> Option<Node> {
        node.entries()?
            .iter()
            .find(|(name, _)| name.scalar_text().as_deref() == Some(key))
            .map(|(_, value)| value.clone())
    };
    let Some(policies) = field(root, "iam").and_then(|iam| field(&iam, "policies")) else {
        return Vec::new();
    };
    policies
        .entries()
        .unwrap_or_default()
        .iter()
        .filter_map(|(_, body)| field(body, "file")?.scalar_text())
        .filter_map(|file| normal(&base.join(file)))
        .collect()
}

/// `path` with `.` and `..` resolved as written; `None` when it is absolute or climbs out.
fn normal(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
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
            Rule::Each(rule, kind) => {
                self.entries(into, incoming, |merger, entries, key, value| {
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
                })
            }
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
        self.twice(
            first,
            later,
            |there| {
                format!(
                    "{setting} is {} here but {} in `{there}`",
                    written(later),
                    written(first)
                )
            },
            format!("{setting} is first set here"),
            format!(
                "the fragments of a directory are one desired state: give {setting} the same value in each fragment that sets it, or set it in one only"
            ),
        );
    }

    /// A name declared in two fragments: reported at the later, with a note at the first.
    fn declared_twice(&mut self, first: &Node, later: &Node, what: &str) {
        self.twice(
            first,
            later,
            |there| format!("{what} is declared twice: here and in `{there}`"),
            format!("{what} is first declared here"),
            "a name is declared in one fragment only: keep one of the two declarations (other fragments refer to it by its name)".to_string(),
        );
    }

    /// A mistake of two places: `message` (given the first's file) at the later, `note` at the
    /// first.
    fn twice(
        &mut self,
        first: &Node,
        later: &Node,
        message: impl FnOnce(&str) -> String,
        note: String,
        hint: String,
    ) {
        let source = self.reader.source;
        let there = source
            .fragment(first.location)
            .map(|fragment| fragment.path.display().to_string())
            .unwrap_or_default();
        let diagnostic = source
            .diagnostic(later.location, message(&there))
            .with_note(source.diagnostic(first.location, note))
            .with_hint(hint);
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{Diagnostic, SourceFile, Sources};
    use crate::model::Desired;

    fn sources(files: &[(&str, &str)]) -> Sources {
        Sources::from_fragments(
            Path::new("access"),
            files
                .iter()
                .map(|(relative, text)| SourceFile {
                    relative: relative.into(),
                    text: text.to_string(),
                })
                .collect(),
        )
    }

    fn load(files: &[(&str, &str)]) -> Result<Desired, Vec<Diagnostic>> {
        sources(files)
            .parse()
            .resolve(None)
            .map(|loaded| loaded.desired)
            .map_err(|diagnostics| diagnostics.0)
    }

    fn errors(files: &[(&str, &str)]) -> Vec<Diagnostic> {
        load(files).expect_err("mistakes")
    }

    const BASE: &str = "version: 1\naccount: \"111111111111\"\n";
    const CLUSTER: &str = "clusters:\n  demo:\n    region: eu-west-1\n    access:\n      - user: alice\n        groups: [readers]\n";

    #[test]
    fn fragments_make_one_desired_state() {
        let desired = load(&[
            ("base.yaml", BASE),
            ("clusters.yaml", CLUSTER),
            ("teams/a.yaml", "iam:\n  users:\n    alice: {}\n"),
            (
                "teams/b.yaml",
                "account: \"111111111111\"\niam:\n  users:\n    bob: {}\nclusters:\n  demo:\n    access:\n      - user: bob\n        groups: [readers]\n",
            ),
        ])
        .expect("valid");
        let users: Vec<&String> = desired.state.iam.users.keys().collect();
        assert_eq!(users, ["alice", "bob"]);
        let demo = &desired.state.clusters["demo"];
        assert_eq!(demo.region.as_deref(), Some("eu-west-1"));
        let mapped: Vec<&str> = demo
            .aws_auth
            .iter()
            .flat_map(|auth| &auth.entries)
            .map(|entry| entry.arn.as_str())
            .collect();
        assert_eq!(
            mapped,
            [
                "arn:aws:iam::111111111111:user/alice",
                "arn:aws:iam::111111111111:user/bob"
            ]
        );
    }

    #[test]
    fn every_mistake_of_every_fragment_is_at_its_own_file() {
        let found = errors(&[
            (
                "a.yaml",
                "version: 1\naccount: \"111111111111\"\nclustres: {}\n",
            ),
            ("b.yaml", "iam:\n  users:\n    alice:\n      polices: []\n"),
            (
                "c/d.yaml",
                "iam:\n  roles:\n    ops:\n      trust: {acounts: [\"1\"]}\n",
            ),
        ]);
        let places: Vec<(String, usize, usize)> = found
            .iter()
            .map(|d| (d.file.display().to_string(), d.line, d.column))
            .collect();
        assert_eq!(
            places,
            [
                ("access/a.yaml".to_string(), 3, 1),
                ("access/b.yaml".to_string(), 4, 7),
                ("access/c/d.yaml".to_string(), 4, 15),
            ],
            "{found:#?}"
        );
    }

    #[test]
    fn a_name_declared_in_two_fragments_shows_both_places() {
        let found = errors(&[
            (
                "a.yaml",
                &format!(
                    "{BASE}iam:\n  users:\n    alice: {{}}\nclusters:\n  demo:\n    namespaces:\n      web: {{}}\n"
                ),
            ),
            (
                "b.yaml",
                "iam:\n  users:\n    bob: {}\n    alice:\n      path: /x/\nclusters:\n  demo:\n    namespaces:\n      web: {}\n",
            ),
        ]);
        assert_eq!(found.len(), 2, "{found:#?}");
        // A declaration of a cluster is named with its cluster.
        assert_eq!(
            found[1].message,
            "namespace `web` of cluster `demo` is declared twice: here and in `access/a.yaml`"
        );
        let duplicate = &found[0];
        assert_eq!(
            duplicate.message,
            "user `alice` is declared twice: here and in `access/a.yaml`"
        );
        assert_eq!(
            (duplicate.file.as_path(), duplicate.line, duplicate.column),
            (Path::new("access/b.yaml"), 4, 5)
        );
        let note = &duplicate.notes[0];
        assert_eq!(
            (note.file.as_path(), note.line, note.column),
            (Path::new("access/a.yaml"), 5, 5)
        );
        assert_eq!(note.message, "user `alice` is first declared here");
    }

    #[test]
    fn settings_must_agree_where_given() {
        let found = errors(&[
            (
                "a.yaml",
                &format!("{BASE}{CLUSTER}iam:\n  users:\n    alice: {{}}\n"),
            ),
            (
                "b.yaml",
                "version: 1\naccount: \"222222222222\"\nclusters:\n  demo:\n    region: eu-west-1\n",
            ),
            ("c.yaml", "clusters:\n  demo:\n    region: us-east-1\n"),
        ]);
        let messages: Vec<(&str, &Path, usize)> = found
            .iter()
            .map(|d| (d.message.as_str(), d.file.as_path(), d.line))
            .collect();
        assert_eq!(
            messages,
            [
                (
                    "`account` is `222222222222` here but `111111111111` in `access/a.yaml`",
                    Path::new("access/b.yaml"),
                    2
                ),
                (
                    "`region` of cluster `demo` is `us-east-1` here but `eu-west-1` in `access/a.yaml`",
                    Path::new("access/c.yaml"),
                    3
                ),
            ]
        );
        assert_eq!(found[0].notes[0].line, 2);
        assert_eq!(found[0].notes[0].file, Path::new("access/a.yaml"));
    }

    #[test]
    fn a_section_of_another_kind_in_one_fragment_is_reported_once_without_cascades() {
        let found = errors(&[
            (
                "a.yaml",
                &format!("{BASE}{CLUSTER}iam:\n  users:\n    alice: {{}}\n"),
            ),
            ("b.yaml", "iam:\n  users: [carol]\n"),
            (
                "c.yaml",
                "clusters:\n  demo:\n    access:\n      - user: carol\n        groups: [x]\n",
            ),
        ]);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].file, Path::new("access/b.yaml"));
        assert_eq!(found[0].message, "expected a map, found a list");
    }

    #[test]
    fn a_broken_fragment_is_reported_and_the_others_still_checked() {
        let found = errors(&[
            (
                "a.yaml",
                &format!("{BASE}iam:\n  users:\n    alice: {{pth: /x/}}\n"),
            ),
            ("b.yaml", "iam:\n  users: [\n"),
            (
                "c.yaml",
                "clusters:\n  demo:\n    access:\n      - user: carol\n        groups: [x]\n",
            ),
        ]);
        let files: Vec<&Path> = found.iter().map(|d| d.file.as_path()).collect();
        // carol is not reported unknown: the broken fragment may declare her.
        assert_eq!(
            files,
            [Path::new("access/a.yaml"), Path::new("access/b.yaml")],
            "{found:#?}"
        );
        assert!(found[1].message.starts_with("invalid YAML"));
    }

    #[test]
    fn empty_fragments_declare_nothing_but_all_empty_is_a_mistake() {
        assert!(load(&[("a.yaml", BASE), ("b.yaml", "# later\n")]).is_ok());
        let found = errors(&[("a.yaml", ""), ("b.yaml", "# later\n")]);
        assert_eq!(found[0].message, "every fragment of `access` is empty");
        let found = errors(&[("a.yaml", "")]);
        assert_eq!(found[0].message, "every fragment of `access` is empty");
    }

    #[test]
    fn a_split_file_loads_as_the_whole() {
        let whole = format!(
            "{BASE}iam:\n  users:\n    alice: {{}}\n    bob: {{}}\n{CLUSTER}      - user: bob\n        groups: [readers]\n"
        );
        let one = super::super::load_text("access.yaml", &whole, &Default::default())
            .expect("the whole file");
        let split = load(&[
            ("0.yaml", BASE),
            ("1.yaml", &format!("iam:\n  users:\n    alice: {{}}\n{CLUSTER}")),
            (
                "2.yaml",
                "iam:\n  users:\n    bob: {}\nclusters:\n  demo:\n    access:\n      - user: bob\n        groups: [readers]\n",
            ),
        ])
        .expect("the fragments");
        assert_eq!(one, split);
    }

    #[test]
    fn policy_files_resolve_from_their_fragment_and_stay_inside_the_directory() {
        let dir = tempfile::tempdir().expect("a directory");
        let root = dir.path().join("access");
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("directories");
            std::fs::write(path, text).expect("a file");
        };
        let policy = "Version: \"2012-10-17\"\nStatement:\n  - {Effect: Allow, Action: \"s3:ListBucket\", Resource: \"*\"}\n";
        write("base.yaml", BASE);
        write("policies/list.yaml", policy);
        write(
            "teams/own.json",
            "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"s3:GetObject\", \"Resource\": \"*\"}]}",
        );
        write(
            "teams/payments.yaml",
            "iam:\n  policies:\n    shared:\n      file: ../policies/list.yaml\n    own:\n      file: own.json\n",
        );
        let loaded = super::super::load(&root, &Default::default()).expect("valid");
        let policies: Vec<&String> = loaded.desired.state.iam.policies.keys().collect();
        assert_eq!(policies, ["own", "shared"]);
        std::fs::write(dir.path().join("secret.json"), policy).expect("outside");
        write(
            "teams/payments.yaml",
            "iam:\n  policies:\n    shared:\n      file: ../policies/list.yaml\n    out:\n      file: ../../secret.json\n",
        );
        let found = super::super::load(&root, &Default::default()).expect_err("outside");
        assert_eq!(found.0.len(), 1, "{:#?}", found.0);
        assert_eq!(
            found.0[0].message,
            format!(
                "policy file `../../secret.json` is outside `{}`",
                root.display()
            )
        );
        assert_eq!(found.0[0].file, root.join("teams/payments.yaml"));
        // Named by no fragment, a policy file written as YAML is a fragment (and not one).
        write("teams/payments.yaml", "iam: {}\n");
        let found = super::super::load(&root, &Default::default()).expect_err("a fragment");
        assert_eq!(found.0[0].file, root.join("policies/list.yaml"));
    }

    #[test]
    fn an_empty_directory_is_a_clear_mistake() {
        let dir = tempfile::tempdir().expect("a directory");
        std::fs::write(dir.path().join("README.md"), "x").expect("a file");
        let found = super::super::load(dir.path(), &Default::default()).expect_err("empty");
        assert_eq!(found.0.len(), 1);
        assert!(
            found.0[0].message.ends_with("is a directory with no access.yaml fragment: no `*.yaml` or `*.yml` file beneath it"),
            "{}",
            found.0[0].message
        );
    }
}
