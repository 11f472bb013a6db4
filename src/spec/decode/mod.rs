//! Decoding the YAML tree into the raw access.yaml types by hand, so that every unknown key,
//! wrong type and missing field is reported (not just the first, as serde derive would).
//! Meaning (references, name rules) is checked later, by `validate`.

mod cluster;

use super::federation;
use super::node::{Located, Node, NodeValue};
use super::raw::{
    AccessKeysSpec, AcknowledgedSpec, AssumeRoleSpec, DocumentSpec, GroupOwn, HolderKind,
    HolderSpec, IamSpec, InlineSpec, Pair, PolicySpec, RoleOwn, Spec, Text, TrustSpec, UserOwn,
};
use super::reader::{Object, Owner, Reader};
use crate::model::access_key::{DEFAULT_GRACE_DAYS, DEFAULT_ROTATE_AFTER_DAYS};
use crate::model::{Destination, KeyRotation};

const TOP_KEYS: [&str; 8] = [
    "version",
    "account",
    "partition",
    "assumeRole",
    "limits",
    "iam",
    "clusters",
    "acknowledged",
];
const ASSUME_ROLE_KEYS: [&str; 3] = ["arn", "externalId", "sessionName"];
const ACKNOWLEDGED_KEYS: [&str; 2] = ["grant", "reason"];
const IAM_KEYS: [&str; 6] = [
    "groupPath",
    "policyPath",
    "policies",
    "groups",
    "users",
    "roles",
];
const POLICY_KEYS: [&str; 6] = ["document", "file", "description", "path", "tags", "adopt"];
const TRUST_SUGAR_KEYS: [&str; 8] = [
    "accounts",
    "services",
    "roles",
    "users",
    "serviceAccounts",
    "githubActions",
    "gitlab",
    "gitlabIssuer",
];

/// Decodes the whole file. Whatever cannot be read is reported and left out.
pub fn decode<'n>(reader: &mut Reader<'_>, root: &'n Node) -> Spec<'n> {
    let mut spec = Spec::default();
    let owner = Owner::new("at the top level", root.location);
    let Some(top) = reader.object(root, owner, &TOP_KEYS) else {
        return spec;
    };
    match top.get("version") {
        Some(node) => spec.version = reader.integer(node),
        None => reader.missing(&top, "version"),
    }
    match top.get("account") {
        Some(node) => spec.account = reader.string(node),
        None => reader.missing(&top, "account"),
    }
    spec.partition = top.get("partition").and_then(|node| reader.string(node));
    if let (Some(key), Some(node)) = (top.key("assumeRole"), top.get("assumeRole")) {
        spec.assume_role = decode_assume_role(reader, key, node);
    }
    if let (Some(key), Some(node)) = (top.key("limits"), top.get("limits")) {
        spec.limits = decode_limits(reader, key, node);
    }
    // A misspelt section (`clustres:`) is reported once: what it declares is not reported
    // again as unknown wherever it is used.
    if top.had_unknown && !top.has("iam") {
        spec.unsure.extend(IAM_KINDS.map(|(_, kind)| kind));
    }
    if top.had_unknown && !top.has("clusters") {
        spec.unsure.insert("cluster");
    }
    if let Some(node) = top.get("iam") {
        spec.iam = decode_iam(reader, node, &mut spec.unsure, &mut spec.unreadable);
    }
    if let Some(node) = top.get("acknowledged") {
        spec.acknowledged = acknowledged(reader, node, "at the top level");
    }
    if let Some(node) = top.get("clusters") {
        if !is_map(node) {
            spec.unsure.insert("cluster");
        }
        for (name, body) in reader.named(node) {
            let text = name.value.clone();
            match cluster::decode_cluster(reader, name, body) {
                Some(cluster) => spec.clusters.push(cluster),
                None => spec.unreadable.push(("cluster", text)),
            }
        }
    }
    spec
}

/// Marks every kind of declaration unsure (a fragment that could not be read may declare
/// any): references are not reported as unknown.
pub fn unsure_of_everything(spec: &mut Spec<'_>) {
    spec.unsure.extend(IAM_KINDS.map(|(_, kind)| kind));
    spec.unsure.insert("cluster");
    for cluster in &mut spec.clusters {
        cluster.unsure = true;
    }
}

/// `assumeRole`: `arn` (required), `externalId`, `sessionName`.
fn decode_assume_role(reader: &mut Reader<'_>, key: &Node, node: &Node) -> Option<AssumeRoleSpec> {
    let owner = Owner::new("in `assumeRole`", key.location);
    let object = reader.object(node, owner, &ASSUME_ROLE_KEYS)?;
    let arn = object.get("arn").and_then(|node| reader.string(node));
    if !object.has("arn") {
        reader.missing(&object, "arn");
    }
    Some(AssumeRoleSpec {
        arn,
        external_id: object
            .get("externalId")
            .and_then(|node| reader.string(node)),
        session_name: object
            .get("sessionName")
            .and_then(|node| reader.string(node)),
    })
}

/// `limits`: each raised quota, by its key (ranges are checked by `validate`).
fn decode_limits(reader: &mut Reader<'_>, key: &Node, node: &Node) -> Vec<(Text, Located<i128>)> {
    let keys = super::validate::limits::keys();
    let owner = Owner::new("in `limits`", key.location);
    let Some(object) = reader.object(node, owner, &keys) else {
        return Vec::new();
    };
    keys.iter()
        .filter_map(|name| {
            let key = object.key(name)?;
            let value = reader.integer(object.get(name)?)?;
            Some((Text::new(name.to_string(), key.location), value))
        })
        .collect()
}

/// The sections of `iam` and the kind each declares.
const IAM_KINDS: [(&str, &str); 4] = [
    ("policies", "policy"),
    (GroupOwn::SECTION, GroupOwn::KIND),
    (UserOwn::SECTION, UserOwn::KIND),
    (RoleOwn::SECTION, RoleOwn::KIND),
];

fn is_map(node: &Node) -> bool {
    matches!(node.value, NodeValue::Map(_) | NodeValue::Null)
}

fn decode_iam<'n>(
    reader: &mut Reader<'_>,
    node: &'n Node,
    unsure: &mut std::collections::BTreeSet<&'static str>,
    unreadable: &mut Vec<(&'static str, String)>,
) -> IamSpec<'n> {
    let mut iam = IamSpec::default();
    let owner = Owner::new("in `iam`", node.location);
    let Some(object) = reader.object(node, owner, &IAM_KEYS) else {
        unsure.extend(IAM_KINDS.map(|(_, kind)| kind));
        return iam;
    };
    for (key, kind) in IAM_KINDS {
        match object.get(key) {
            None if object.had_unknown => {
                unsure.insert(kind);
            }
            Some(section) if !is_map(section) => {
                unsure.insert(kind);
            }
            _ => {}
        }
    }
    iam.group_path = object.get("groupPath").and_then(|n| reader.string(n));
    iam.policy_path = object.get("policyPath").and_then(|n| reader.string(n));
    named(
        reader,
        &object,
        "policies",
        decode_policy,
        &mut iam.policies,
        unreadable,
    );
    holders::<GroupOwn>(reader, &object, &mut iam.groups, unreadable);
    holders::<UserOwn>(reader, &object, &mut iam.users, unreadable);
    holders::<RoleOwn>(reader, &object, &mut iam.roles, unreadable);
    iam
}

/// Decodes each entry of the section `key` (`users`, …) into `into`; an entry that cannot be
/// read is left out and listed in `unreadable` by its kind and name.
fn named<'n, T>(
    reader: &mut Reader<'_>,
    object: &Object<'n>,
    key: &str,
    decode: fn(&mut Reader<'_>, Text, &'n Node) -> Option<T>,
    into: &mut Vec<T>,
    unreadable: &mut Vec<(&'static str, String)>,
) {
    let Some(node) = object.get(key) else {
        return;
    };
    let kind = IAM_KINDS
        .iter()
        .find(|(section, _)| *section == key)
        .map_or("object", |(_, kind)| *kind);
    for (name, body) in reader.named(node) {
        let text = name.value.clone();
        match decode(reader, name, body) {
            Some(decoded) => into.push(decoded),
            None => unreadable.push((kind, text)),
        }
    }
}

fn decode_policy<'n>(
    reader: &mut Reader<'_>,
    name: Text,
    body: &'n Node,
) -> Option<PolicySpec<'n>> {
    let object = reader.declaration("policy", &name, body, &POLICY_KEYS)?;
    let document = match (object.get("document"), object.get("file")) {
        (Some(_), Some(_)) => {
            let at = object.key("file").map_or(name.at, |key| key.location);
            reader.error_hint(
                at,
                format!("policy `{}` has both `document` and `file`", name.value),
                "keep one of them",
            );
            None
        }
        (Some(document), None) => document_node(reader, document).map(DocumentSpec::Inline),
        (None, Some(file)) => reader.string(file).map(DocumentSpec::File),
        (None, None) => {
            reader.error_hint(
                name.at,
                format!("missing field `document` in policy `{}`", name.value),
                "write the document under `document:`, or name a JSON or YAML file with `file:`",
            );
            None
        }
    };
    Some(PolicySpec {
        document,
        description: object.get("description").and_then(|n| reader.string(n)),
        path: object.get("path").and_then(|n| reader.string(n)),
        tags: tags(reader, &object),
        adopt: reader.adopt(&object),
        name,
    })
}

/// A policy document must be a map; its contents are checked by the policy module.
fn document_node<'n>(reader: &mut Reader<'_>, node: &'n Node) -> Option<&'n Node> {
    if node.entries().is_some() {
        Some(node)
    } else {
        reader.wrong_type(
            node,
            "a policy document (a map with `Version` and `Statement`)",
        );
        None
    }
}

/// Decodes the section of `iam` that declares the holders of kind `K` into `into`.
fn holders<'n, K: HolderKind + Own<'n>>(
    reader: &mut Reader<'_>,
    object: &Object<'n>,
    into: &mut Vec<HolderSpec<'n, K>>,
    unreadable: &mut Vec<(&'static str, String)>,
) {
    named(
        reader,
        object,
        K::SECTION,
        decode_holder::<K>,
        into,
        unreadable,
    );
}

/// A group, user or role: the parts they share, read the same way for each, and what the kind
/// has of its own.
fn decode_holder<'n, K: HolderKind + Own<'n>>(
    reader: &mut Reader<'_>,
    name: Text,
    body: &'n Node,
) -> Option<HolderSpec<'n, K>> {
    let object = reader.declaration(K::KIND, &name, body, K::KEYS)?;
    // A key the kind does not have (a group's `tags`) was reported as unknown and reads as
    // absent here.
    Some(HolderSpec {
        own: K::decode(reader, &object, &name),
        policies: strings(reader, &object, "policies"),
        inline: inline(reader, &object),
        permissions_boundary: object
            .get("permissionsBoundary")
            .and_then(|n| reader.string(n)),
        tags: tags(reader, &object),
        adopt: reader.adopt(&object),
        name,
    })
}

/// What a kind of holder reads of its own from its body.
trait Own<'n>: Sized {
    fn decode(reader: &mut Reader<'_>, object: &Object<'n>, name: &Text) -> Self;
}

impl Own<'_> for GroupOwn {
    fn decode(_: &mut Reader<'_>, _: &Object<'_>, _: &Text) -> Self {
        GroupOwn
    }
}

impl Own<'_> for UserOwn {
    fn decode(reader: &mut Reader<'_>, object: &Object<'_>, name: &Text) -> Self {
        UserOwn {
            path: object.get("path").and_then(|n| reader.string(n)),
            groups: strings(reader, object, "groups"),
            access_keys: object
                .get("accessKeys")
                .and_then(|node| decode_access_keys(reader, name, node)),
        }
    }
}

/// `accessKeys: {rotateAfterDays, graceDays, deliverTo: [{secret: {…}} | {secretsManager: {…}}]}`.
fn decode_access_keys(reader: &mut Reader<'_>, user: &Text, node: &Node) -> Option<AccessKeysSpec> {
    let phrase = format!("in the accessKeys of user `{}`", user.value);
    let object = reader.object(
        node,
        Owner::new(phrase.clone(), node.location),
        &["rotateAfterDays", "graceDays", "deliverTo"],
    )?;
    let days = |reader: &mut Reader<'_>, key: &str, default: u32| -> u32 {
        let Some(value) = object.get(key).and_then(|n| reader.integer(n)) else {
            return default;
        };
        match u32::try_from(value.value) {
            Ok(days) if (1..=3650).contains(&days) => days,
            _ => {
                reader.error_hint(
                    value.at,
                    format!("`{key}` must be a number of days from 1 to 3650 {phrase}"),
                    format!("e.g. `{key}: {default}` (the default)"),
                );
                default
            }
        }
    };
    let rotate_after_days = days(reader, "rotateAfterDays", DEFAULT_ROTATE_AFTER_DAYS);
    let grace_days = days(reader, "graceDays", DEFAULT_GRACE_DAYS);
    let example = "e.g. `deliverTo: [{secret: {cluster: demo, namespace: ci, name: eksuser-aws}}]` or `[{secretsManager: {name: ci/eksuser}}]`";
    let Some(list) = object.get("deliverTo") else {
        reader.error_hint(
            node.location,
            format!("missing field `deliverTo` {phrase}"),
            format!("say where the secret goes: {example}"),
        );
        return None;
    };
    let mut deliver_to = Vec::new();
    let mut secret_clusters = Vec::new();
    let items = reader.list(list);
    if items.is_empty() {
        reader.error_hint(
            list.location,
            format!("`deliverTo` is empty {phrase}: the key would be created and lost"),
            example,
        );
        return None;
    }
    for item in items {
        let Some(entry) = reader.object(
            item,
            Owner::new(phrase.clone(), item.location),
            &["secret", "secretsManager"],
        ) else {
            continue;
        };
        let (kind, keys): (&str, &[&str]) = match (entry.get("secret"), entry.get("secretsManager"))
        {
            (Some(_), None) => ("secret", &["cluster", "namespace", "name"]),
            (None, Some(_)) => ("secretsManager", &["name", "region"]),
            _ => {
                reader.error_hint(
                    item.location,
                    format!("each `deliverTo` entry has exactly one of `secret` and `secretsManager` {phrase}"),
                    example,
                );
                continue;
            }
        };
        let Some(body) = entry.get(kind) else {
            continue;
        };
        let owner = Owner::new(format!("in `{kind}` {phrase}"), body.location);
        let Some(fields) = reader.object(body, owner, keys) else {
            continue;
        };
        let field = |reader: &mut Reader<'_>, key: &str| -> Option<Text> {
            let text = fields.get(key).and_then(|n| reader.string(n));
            if text.is_none() && fields.get(key).is_none() {
                reader.error_hint(
                    body.location,
                    format!("missing field `{key}` in `{kind}` {phrase}"),
                    example,
                );
            }
            text
        };
        if kind == "secret" {
            let (cluster, namespace, name) = (
                field(reader, "cluster"),
                field(reader, "namespace"),
                field(reader, "name"),
            );
            if let (Some(cluster), Some(namespace), Some(name)) = (cluster, namespace, name) {
                deliver_to.push(Destination::Secret {
                    cluster: cluster.value.clone(),
                    namespace: namespace.value,
                    name: name.value,
                });
                secret_clusters.push(cluster);
            }
        } else if let Some(name) = field(reader, "name") {
            let region = fields.get("region").and_then(|n| reader.string(n));
            deliver_to.push(Destination::SecretsManager {
                name: name.value,
                region: region.map(|r| r.value),
            });
        }
    }
    Some(AccessKeysSpec {
        rotation: KeyRotation {
            rotate_after_days,
            grace_days,
            deliver_to,
        },
        secret_clusters,
    })
}

impl<'n> Own<'n> for RoleOwn<'n> {
    fn decode(reader: &mut Reader<'_>, object: &Object<'n>, name: &Text) -> Self {
        let trust = match object.get("trust") {
            Some(node) => decode_trust(reader, name, node),
            None => {
                reader.error_hint(
                    name.at,
                    format!("missing field `trust` in role `{}`", name.value),
                    "say who may assume the role, e.g. `trust: {accounts: [\"123456789012\"]}`",
                );
                None
            }
        };
        RoleOwn {
            path: object.get("path").and_then(|n| reader.string(n)),
            description: object.get("description").and_then(|n| reader.string(n)),
            max_session_duration: object
                .get("maxSessionDuration")
                .and_then(|n| reader.integer(n)),
            trust,
        }
    }
}

fn decode_trust<'n>(reader: &mut Reader<'_>, role: &Text, node: &'n Node) -> Option<TrustSpec<'n>> {
    let mut keys = vec!["document"];
    keys.extend(TRUST_SUGAR_KEYS);
    let owner = Owner::new(
        format!("in the trust of role `{}`", role.value),
        node.location,
    );
    let object = reader.object(node, owner, &keys)?;
    let sugar: Vec<&str> = TRUST_SUGAR_KEYS
        .into_iter()
        .filter(|key| object.has(key))
        .collect();
    if let Some(document) = object.get("document") {
        if let Some(first) = sugar.first() {
            let at = object.key(first).map_or(node.location, |key| key.location);
            reader.error_hint(
                at,
                format!(
                    "the trust of role `{}` has both `document` and `{first}`",
                    role.value
                ),
                "write the whole trust policy under `document`, or use only the keys `accounts`, `services`, `roles`, `users`, `serviceAccounts`, `githubActions` and `gitlab`",
            );
            return None;
        }
        return document_node(reader, document).map(|document| TrustSpec {
            document: Some(document),
            ..TrustSpec::default()
        });
    }
    let accounts = strings(reader, &object, "accounts");
    let services = strings(reader, &object, "services");
    let roles = strings(reader, &object, "roles");
    let users = strings(reader, &object, "users");
    let service_accounts = strings(reader, &object, "serviceAccounts");
    let (federated, federation_written) = federation::decode(reader, role, &object);
    let gitlab_issuer = object
        .get("gitlabIssuer")
        .and_then(|node| reader.string(node));
    let trust = TrustSpec {
        document: None,
        accounts,
        services,
        roles,
        users,
        service_accounts,
        federated,
        gitlab_issuer,
    };
    let empty = trust.accounts.is_empty()
        && trust.services.is_empty()
        && trust.roles.is_empty()
        && trust.users.is_empty()
        && trust.service_accounts.is_empty()
        && !federation_written
        && trust.gitlab_issuer.is_none();
    let well_typed = sugar.iter().all(|key| {
        object
            .get(key)
            .is_some_and(|node| matches!(node.value, NodeValue::Seq(_) | NodeValue::Null))
    });
    if empty && well_typed && !object.had_unknown {
        reader.error_hint(
            node.location,
            format!("the trust of role `{}` names no one", role.value),
            "add `accounts`, `services`, `roles`, `users`, `serviceAccounts`, `githubActions` or `gitlab`, or a `document`",
        );
    }
    Some(trust)
}

/// `acknowledged` of `whose` (`at the top level`, `of cluster `demo``): a list of
/// `{grant, reason}`; an item without either is reported and left out.
pub(super) fn acknowledged(
    reader: &mut Reader<'_>,
    node: &Node,
    whose: &str,
) -> Vec<AcknowledgedSpec> {
    let mut items = Vec::new();
    for item in reader.list(node) {
        let owner = Owner::new(format!("in an acknowledged grant {whose}"), item.location);
        let Some(object) = reader.object(item, owner, &ACKNOWLEDGED_KEYS) else {
            continue;
        };
        let field = |reader: &mut Reader<'_>, key: &str, hint: &str| match object.get(key) {
            Some(node) => reader.string(node),
            None => {
                if !object.had_unknown {
                    reader.error_hint(
                        item.location,
                        format!("missing field `{key}` {}", object.owner.phrase),
                        hint,
                    );
                }
                None
            }
        };
        let grant = field(
            reader,
            "grant",
            "name the grant as drift prints it (e.g. `grant: iam.user.console-admin`) or by its principal's ARN",
        );
        let reason = field(
            reader,
            "reason",
            "say why this grant may stay, e.g. `reason: the cluster creator, break-glass access`",
        );
        if let (Some(grant), Some(reason)) = (grant, reason) {
            items.push(AcknowledgedSpec { grant, reason });
        }
    }
    items
}

/// A list of strings under `key`, empty when absent.
pub(super) fn strings(reader: &mut Reader<'_>, object: &Object<'_>, key: &str) -> Vec<Text> {
    object
        .get(key)
        .map(|node| reader.strings(node))
        .unwrap_or_default()
}

fn tags(reader: &mut Reader<'_>, object: &Object<'_>) -> Vec<Pair> {
    object
        .get("tags")
        .map(|node| reader.string_map(node))
        .unwrap_or_default()
}

fn inline<'n>(reader: &mut Reader<'_>, object: &Object<'n>) -> Vec<InlineSpec<'n>> {
    let Some(node) = object.get("inline") else {
        return Vec::new();
    };
    reader
        .named(node)
        .into_iter()
        .filter_map(|(name, document)| {
            document_node(reader, document).map(|document| (name, document))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{Facts, load_text};

    fn errors(text: &str) -> Vec<(usize, usize, String)> {
        match load_text("access.yaml", text, &Facts::default()) {
            Ok(_) => Vec::new(),
            Err(list) => list
                .into_iter()
                .map(|d| (d.line, d.column, d.message))
                .collect(),
        }
    }

    /// An error: line, column, message.
    type Error = (usize, usize, &'static str);

    /// Each case: what it shows, the file, and every error it gets.
    const MISTAKES: [(&str, &str, &[Error]); 4] = [
        (
            "every unknown key is reported at once",
            "version: 1\naccount: \"111122223333\"\nacount: x\niam:\n  user: {}\n  roles:\n    r:\n      trust: {services: [ec2.amazonaws.com]}\n      tag: {}\n",
            &[
                (3, 1, "unknown field `acount` at the top level"),
                (5, 3, "unknown field `user` in `iam`"),
                (9, 7, "unknown field `tag` in role `r`"),
            ],
        ),
        (
            "wrong types point at the value",
            "version: 1\naccount: \"111122223333\"\niam:\n  users:\n    u: {groups: g, adopt: \"true\"}\n",
            &[
                (5, 17, "expected a list, found the string `g`"),
                (5, 27, "expected `true` or `false`, found the string `true`"),
            ],
        ),
        (
            "a missing trust or document is reported at the name",
            "version: 1\naccount: \"111122223333\"\niam:\n  policies:\n    p: {}\n  roles:\n    r: {}\n",
            &[
                (5, 5, "missing field `document` in policy `p`"),
                (7, 5, "missing field `trust` in role `r`"),
            ],
        ),
        (
            "groups, users and roles read and check the parts they share alike; a group has no tags or boundary",
            r#"version: 1
account: "111122223333"
iam:
  groups:
    Ops:
      policies: [nope]
      tags: {team: a}
      permissionsBoundary: nope
  users:
    dev:
      policies: [nope]
      permissionsBoundary: nope
      tags: {"aws:x": a}
  roles:
    app:
      trust: {services: [ec2.amazonaws.com]}
      policies: [nope]
      permissionsBoundary: nope
      inline: {"bad name": {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: "*"}]}}
"#,
            &[
                (6, 18, "unknown policy `nope`"),
                (7, 7, "unknown field `tags` in group `Ops`"),
                (8, 7, "unknown field `permissionsBoundary` in group `Ops`"),
                (11, 18, "unknown policy `nope`"),
                (12, 28, "unknown policy `nope`"),
                (
                    13,
                    14,
                    "invalid tag key `aws:x`: the prefix `aws:` is reserved by AWS",
                ),
                (17, 18, "unknown policy `nope`"),
                (18, 28, "unknown policy `nope`"),
                (
                    19,
                    16,
                    "invalid inline policy name `bad name`: may contain only letters, digits and `_+=,.@-`",
                ),
            ],
        ),
    ];

    #[test]
    fn mistakes_are_reported_at_their_place() {
        for (case, text, expected) in MISTAKES {
            let expected: Vec<(usize, usize, String)> = expected
                .iter()
                .map(|(line, column, message)| (*line, *column, message.to_string()))
                .collect();
            assert_eq!(errors(text), expected, "{case}");
        }
    }

    #[test]
    fn empty_bodies_and_unquoted_numbers_are_accepted() {
        let desired = load_text(
            "access.yaml",
            "version: 1\naccount: 111122223333\niam:\n  users:\n    developer:\n    12345:\n",
            &Facts::default(),
        )
        .expect("loads");
        assert_eq!(desired.state.account.as_deref(), Some("111122223333"));
        let users: Vec<&String> = desired.state.iam.users.keys().collect();
        assert_eq!(users, ["12345", "developer"]);
    }

    #[test]
    fn namespaces_as_a_list_or_a_map() {
        for namespaces in ["[team-a, team-b]", "{team-a: {}, team-b: {labels: {x: y}}}"] {
            let text = format!(
                "version: 1\naccount: \"111122223333\"\nclusters:\n  demo:\n    namespaces: {namespaces}\n"
            );
            let desired = load_text("access.yaml", &text, &Facts::default()).expect("loads");
            let names: Vec<&String> = desired.state.clusters["demo"].namespaces.keys().collect();
            assert_eq!(names, ["team-a", "team-b"], "{namespaces}");
        }
    }
}
