//! The selection as access.yaml: a YAML tree in the order people read the file (IAM, then the
//! cluster), references by name when the object is in the file, `adopt: true` on everything
//! not yet managed, and comments where something was kept raw.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::model::{
    AccessScope, Binding, DEFAULT_GROUP_PATH, IRSA_ANNOTATION, IamArn, Kind, MANAGED_BY_TAG,
    MapKind, PolicyDocument, PolicyHolder, PolicyRule, RoleRefKind, SubjectKind, arn,
};

use super::select::Selection;
use super::trust::{self, Sugar};
use super::yaml::{Entry, MapBuilder, Node, write_document};

/// How a role's trust is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustForm {
    Sugar(Sugar),
    /// The raw document, with why.
    Raw(String),
}

/// What the writer needs besides the selection.
pub struct Context<'a> {
    pub account: &'a str,
    pub partition: &'a str,
    pub cluster: &'a str,
    pub region: Option<&'a str>,
    pub kube_context: Option<&'a str>,
    pub authentication: crate::model::AuthenticationMode,
    pub issuer: Option<&'a str>,
    /// Whether the cluster's IAM OIDC provider lets IRSA sugar plan without a change.
    pub irsa_sugar_allowed: bool,
    /// `Some(dir)`: customer policies as `file:` references into `dir`.
    pub policies_dir: Option<&'a Path>,
    pub header: Vec<String>,
    /// Ownership of the live objects, to decide `adopt`.
    pub owned: &'a Owned,
}

/// Live objects already managed by accessctl (no `adopt` needed).
#[derive(Clone, Debug, Default)]
pub struct Owned {
    pub policies: BTreeSet<String>,
    pub groups: BTreeSet<String>,
    pub users: BTreeSet<String>,
    pub roles: BTreeSet<String>,
    pub kube: BTreeSet<(Kind, String)>,
}

/// The trust forms proposed for every role (sugar where it folds).
pub fn trust_forms(selection: &Selection, context: &Context<'_>) -> BTreeMap<String, TrustForm> {
    let names = Names::new(selection, context);
    let role_name = |a: &str| names.role(a);
    let user_name = |a: &str| names.user(a);
    let fold_context = trust::Context {
        cluster: context.cluster,
        issuer: context.issuer.filter(|_| context.irsa_sugar_allowed),
        partition: context.partition,
        account: context.account,
        role_name: &role_name,
        user_name: &user_name,
    };
    selection
        .roles
        .iter()
        .map(|(name, role)| {
            let form = match trust::fold(&role.trust, &fold_context) {
                Some(sugar) => TrustForm::Sugar(sugar),
                None => TrustForm::Raw(
                    "kept raw: not one of the shapes the trust sugar generates".to_string(),
                ),
            };
            (name.clone(), form)
        })
        .collect()
}

/// ARN → name for the objects of the file.
struct Names<'a> {
    selection: &'a Selection,
    context: &'a Context<'a>,
}

impl<'a> Names<'a> {
    fn new(selection: &'a Selection, context: &'a Context<'a>) -> Self {
        Names { selection, context }
    }

    /// The name of the object among `objects` whose ARN, spelled by `spell` from its path and
    /// name, is `wanted`.
    fn by_arn<T>(
        &self,
        objects: &BTreeMap<String, T>,
        path: impl Fn(&T) -> &str,
        spell: fn(&str, &str, &str, &str) -> String,
        wanted: &str,
    ) -> Option<String> {
        objects.iter().find_map(|(name, object)| {
            (spell(
                self.context.partition,
                self.context.account,
                path(object),
                name,
            ) == wanted)
                .then(|| name.clone())
        })
    }

    fn role(&self, principal: &str) -> Option<String> {
        self.by_arn(&self.selection.roles, |r| &r.path, arn::role, principal)
    }

    /// aws-auth holds role ARNs without their path.
    fn role_ignoring_path(&self, principal: &str) -> Option<String> {
        let parsed = IamArn::parse(principal)?;
        let name = parsed.role_name()?;
        (parsed.path() == Some("/")
            && parsed.account() == self.context.account
            && self.selection.roles.contains_key(name))
        .then(|| name.to_string())
    }

    fn user(&self, principal: &str) -> Option<String> {
        self.by_arn(&self.selection.users, |u| &u.path, arn::user, principal)
    }

    fn policy(&self, policy_arn: &str) -> String {
        if let Some(IamArn::Policy {
            partition,
            account,
            path,
            name,
        }) = IamArn::parse(policy_arn)
            && account == "aws"
            && partition == self.context.partition
        {
            let path = path.strip_prefix('/').unwrap_or(&path);
            return format!("aws:{path}{name}");
        }
        self.by_arn(
            &self.selection.policies,
            |p| &p.path,
            arn::policy,
            policy_arn,
        )
        .unwrap_or_else(|| policy_arn.to_string())
    }
}

fn adopt(builder: MapBuilder, owned: bool) -> MapBuilder {
    if owned {
        builder
    } else {
        builder.set("adopt", Node::Raw("true".into()))
    }
}

/// `body`, or, when it holds nothing, `key: []`: an object is written as a map, never as
/// nothing.
fn or_empty_list(body: MapBuilder, key: &str) -> MapBuilder {
    if body.is_empty() {
        body.set(key, Node::Seq(Vec::new()))
    } else {
        body
    }
}

fn document(document: &PolicyDocument) -> Node {
    Node::from_json(&document.to_value())
}

fn tags(tags: &BTreeMap<String, String>) -> Option<Node> {
    let entries: Vec<Entry> = tags
        .iter()
        .filter(|(key, _)| *key != MANAGED_BY_TAG)
        .map(|(key, value)| Entry::new(key, Node::str(value)))
        .collect();
    (!entries.is_empty()).then_some(Node::Map(entries))
}

fn non_empty(items: Vec<String>) -> Option<Node> {
    (!items.is_empty()).then(|| Node::strings(items))
}

fn inline(policies: &BTreeMap<String, PolicyDocument>) -> Option<Node> {
    (!policies.is_empty()).then(|| {
        Node::Map(
            policies
                .iter()
                .map(|(name, doc)| Entry::new(name, document(doc)))
                .collect(),
        )
    })
}

/// What users, groups and roles hold alike, after `builder`'s own keys: attached policies (by
/// name when the file declares them), inline policies, the permissions boundary and tags.
/// What every IAM principal holds (attached and inline policies, boundary, tags), written
/// the same way for users, groups and roles.
fn policy_parts(builder: MapBuilder, names: &Names<'_>, holder: &dyn PolicyHolder) -> MapBuilder {
    builder
        .maybe(
            "policies",
            non_empty(
                holder
                    .managed_policies()
                    .iter()
                    .map(|p| names.policy(p))
                    .collect(),
            ),
        )
        .maybe("inline", inline(holder.inline_policies()))
        .maybe(
            "permissionsBoundary",
            holder
                .permissions_boundary()
                .map(|p| Node::str(names.policy(p))),
        )
        .maybe("tags", holder.tags().and_then(tags))
}

/// A map of `items`, each written by `entry`; `None` when there are none, so the key is left
/// out.
fn entries<'a, T: 'a>(
    items: impl IntoIterator<Item = (&'a String, &'a T)>,
    entry: impl FnMut((&'a String, &'a T)) -> Entry,
) -> Option<Node> {
    let entries: Vec<Entry> = items.into_iter().map(entry).collect();
    (!entries.is_empty()).then_some(Node::Map(entries))
}

fn path(path: &str) -> Option<Node> {
    (path != "/").then(|| Node::str(path))
}

/// The file name of a customer policy under `--policies-dir`.
pub fn policy_file(dir: &Path, name: &str) -> String {
    dir.join(format!("{name}.json")).display().to_string()
}

/// Writes the whole file.
pub fn write(
    selection: &Selection,
    context: &Context<'_>,
    trust: &BTreeMap<String, TrustForm>,
) -> String {
    let names = Names::new(selection, context);
    let mut root = vec![
        Entry::new("version", Node::Raw("1".into())),
        Entry::new("account", Node::str(context.account)),
    ];
    if context.partition != "aws" {
        root.push(Entry::new("partition", Node::str(context.partition)));
    }
    let iam = iam(selection, context, &names, trust);
    if !iam.is_empty() {
        root.push(Entry::new("iam", iam.build()));
    }
    root.push(Entry::new(
        "clusters",
        Node::Map(vec![Entry::new(
            context.cluster,
            cluster(selection, context, &names),
        )]),
    ));
    write_document(&context.header, &root)
}

fn iam(
    selection: &Selection,
    context: &Context<'_>,
    names: &Names<'_>,
    trust: &BTreeMap<String, TrustForm>,
) -> MapBuilder {
    let owned = context.owned;
    let policies = entries(&selection.policies, |(name, policy)| {
        let source = match context.policies_dir {
            Some(dir) => Entry::new("file", Node::str(policy_file(dir, name))),
            None => Entry::new("document", document(&policy.document)),
        };
        let body = MapBuilder::new()
            .maybe("description", policy.description.as_deref().map(Node::str))
            // Policies default to the policy path, where accessctl owns them.
            .maybe(
                "path",
                (policy.path != crate::model::DEFAULT_POLICY_PATH).then(|| Node::str(&policy.path)),
            )
            .entry(source)
            .maybe("tags", tags(&policy.tags));
        Entry::new(name, adopt(body, owned.policies.contains(name)).build())
    });
    let groups = entries(&selection.groups, |(name, group)| {
        let body = policy_parts(MapBuilder::new(), names, group);
        let is_owned = owned.groups.contains(name);
        let body = or_empty_list(adopt(body, is_owned), "policies");
        let entry = Entry::new(name, body.build());
        if is_owned {
            entry
        } else {
            entry.with_comment(format!(
                "adopting moves the group from path `{}` to `{DEFAULT_GROUP_PATH}`: IAM groups take no tags, the path marks them managed",
                group.path
            ))
        }
    });
    let users = entries(&selection.users, |(name, user)| {
        let body = policy_parts(
            MapBuilder::new()
                .maybe("path", path(&user.path))
                .maybe("groups", non_empty(user.groups.iter().cloned().collect())),
            names,
            user,
        );
        let body = or_empty_list(adopt(body, owned.users.contains(name)), "groups");
        Entry::new(name, body.build())
    });
    let roles = entries(&selection.roles, |(name, role)| {
        let (trust_node, comment) = match trust.get(name) {
            Some(TrustForm::Sugar(sugar)) => (sugar_node(sugar), None),
            Some(TrustForm::Raw(why)) => (
                Node::Map(vec![Entry::new("document", document(&role.trust))]),
                Some(why.clone()),
            ),
            None => (
                Node::Map(vec![Entry::new("document", document(&role.trust))]),
                None,
            ),
        };
        let mut trust_entry = Entry::new("trust", trust_node);
        if let Some(comment) = comment {
            trust_entry = trust_entry.with_comment(comment);
        }
        let body = policy_parts(
            MapBuilder::new()
                .maybe("path", path(&role.path))
                .maybe("description", role.description.as_deref().map(Node::str))
                .maybe(
                    "maxSessionDuration",
                    (role.max_session_duration != crate::model::default_max_session())
                        .then(|| Node::Raw(role.max_session_duration.to_string())),
                )
                .entry(trust_entry),
            names,
            role,
        );
        Entry::new(name, adopt(body, owned.roles.contains(name)).build())
    });
    MapBuilder::new()
        .maybe("policies", policies)
        .maybe("groups", groups)
        .maybe("users", users)
        .maybe("roles", roles)
}

fn sugar_node(sugar: &Sugar) -> Node {
    MapBuilder::new()
        .maybe("accounts", non_empty(sugar.accounts.clone()))
        .maybe("services", non_empty(sugar.services.clone()))
        .maybe("roles", non_empty(sugar.roles.clone()))
        .maybe("users", non_empty(sugar.users.clone()))
        .maybe("serviceAccounts", non_empty(sugar.service_accounts.clone()))
        .build()
}

fn kube_owned(context: &Context<'_>, kind: Kind, key: &str) -> bool {
    context.owned.kube.contains(&(kind, key.to_string()))
}

fn cluster(selection: &Selection, context: &Context<'_>, names: &Names<'_>) -> Node {
    let mut body = MapBuilder::new()
        .maybe("region", context.region.map(Node::str))
        .maybe("context", context.kube_context.map(Node::str));
    let mode = match context.authentication {
        crate::model::AuthenticationMode::ConfigMap => None,
        crate::model::AuthenticationMode::AccessEntries => Some("access-entries"),
        crate::model::AuthenticationMode::Both => Some("both"),
    };
    body = body.maybe("authentication", mode.map(Node::str));
    if !selection.access.is_empty() {
        let items = selection
            .access
            .iter()
            .map(|item| {
                let principal = match item.kind {
                    MapKind::MapAccounts => Entry::new("account", Node::str(&item.arn)),
                    MapKind::MapRoles => {
                        let by_name = names
                            .role(&item.arn)
                            .or_else(|| names.role_ignoring_path(&item.arn));
                        Entry::new(
                            "role",
                            Node::str(by_name.unwrap_or_else(|| item.arn.clone())),
                        )
                    }
                    MapKind::MapUsers => Entry::new(
                        "user",
                        Node::str(names.user(&item.arn).unwrap_or_else(|| item.arn.clone())),
                    ),
                };
                let principal = item
                    .comments
                    .iter()
                    .fold(principal, |entry, comment| entry.with_comment(comment));
                let mut groups = item.groups.clone();
                groups.sort();
                groups.dedup();
                let policies: Vec<Node> = item
                    .access_policies
                    .iter()
                    .map(|(policy_arn, scope)| {
                        let prefix =
                            format!("arn:{}:eks::aws:cluster-access-policy/", context.partition);
                        let policy = policy_arn.strip_prefix(&prefix).unwrap_or(policy_arn);
                        let builder = MapBuilder::new().set_str("policy", policy);
                        match scope {
                            AccessScope::Cluster => builder.build(),
                            AccessScope::Namespace { namespaces } => builder
                                .set("namespaces", Node::strings(namespaces.iter().cloned()))
                                .build(),
                        }
                    })
                    .collect();
                let body = MapBuilder::new()
                    .entry(principal)
                    .maybe("username", item.username.as_deref().map(Node::str))
                    .maybe("groups", non_empty(groups))
                    .maybe(
                        "accessPolicies",
                        (!policies.is_empty()).then_some(Node::Seq(policies)),
                    );
                adopt(body, !item.adopt).build()
            })
            .collect();
        body = body.set("access", Node::Seq(items));
    }
    if !selection.namespaces.is_empty() {
        let entries = selection
            .namespaces
            .iter()
            .map(|name| {
                Entry::new(
                    name,
                    adopt(
                        MapBuilder::new(),
                        kube_owned(context, Kind::Namespace, name),
                    )
                    .build(),
                )
            })
            .collect();
        body = body.set("namespaces", Node::Map(entries));
    }
    let rbac_role = |kind: Kind, key: &String, rules: &BTreeSet<PolicyRule>| {
        let body = MapBuilder::new().set("rules", Node::Seq(rules.iter().map(rule).collect()));
        Entry::new(key, adopt(body, kube_owned(context, kind, key)).build())
    };
    body = body
        .maybe(
            "clusterRoles",
            entries(&selection.cluster_roles, |(key, role)| {
                rbac_role(Kind::ClusterRole, key, &role.rules)
            }),
        )
        .maybe(
            "roles",
            entries(&selection.k8s_roles, |(key, role)| {
                rbac_role(Kind::K8sRole, key, &role.rules)
            }),
        );
    let bindings: Vec<Entry> = selection
        .cluster_role_bindings
        .iter()
        .map(|(key, b)| binding(context, Kind::ClusterRoleBinding, key, None, b))
        .chain(selection.role_bindings.iter().map(|(key, b)| {
            binding(
                context,
                Kind::RoleBinding,
                key,
                key.split_once('/').map(|(ns, _)| ns),
                b,
            )
        }))
        .collect();
    if !bindings.is_empty() {
        body = body.set("bindings", Node::Map(bindings));
    }
    body = body.maybe(
        "serviceAccounts",
        entries(&selection.service_accounts, |(key, account)| {
            let role = account
                .meta
                .annotations
                .get(IRSA_ANNOTATION)
                .map(|role_arn| {
                    Node::str(names.role(role_arn).unwrap_or_else(|| role_arn.clone()))
                });
            let body = MapBuilder::new().maybe("iamRole", role);
            Entry::new(
                key,
                adopt(body, kube_owned(context, Kind::ServiceAccount, key)).build(),
            )
        }),
    );
    or_empty_list(body, "access").build()
}

fn rule(rule: &PolicyRule) -> Node {
    let list = |values: &std::collections::BTreeSet<String>| {
        (!values.is_empty()).then(|| Node::strings(values.iter().cloned()))
    };
    MapBuilder::new()
        .maybe("apiGroups", list(&rule.api_groups))
        .maybe("resources", list(&rule.resources))
        .maybe("resourceNames", list(&rule.resource_names))
        .maybe("nonResourceURLs", list(&rule.non_resource_urls))
        .set("verbs", Node::strings(rule.verbs.iter().cloned()))
        .build()
}

fn binding(
    context: &Context<'_>,
    kind: Kind,
    key: &str,
    namespace: Option<&str>,
    binding: &Binding,
) -> Entry {
    let target = match binding.role_ref.kind {
        RoleRefKind::ClusterRole => Entry::new("clusterRole", Node::str(&binding.role_ref.name)),
        RoleRefKind::Role => Entry::new("role", Node::str(&binding.role_ref.name)),
    };
    let of = |wanted: SubjectKind| -> Vec<String> {
        binding
            .subjects
            .iter()
            .filter(|s| s.kind == wanted)
            .map(|s| match (&s.namespace, namespace) {
                (Some(ns), Some(here)) if ns == here => s.name.clone(),
                (Some(ns), _) => format!("{ns}/{}", s.name),
                (None, _) => s.name.clone(),
            })
            .collect()
    };
    let body = MapBuilder::new()
        .entry(target)
        .maybe("users", non_empty(of(SubjectKind::User)))
        .maybe("groups", non_empty(of(SubjectKind::Group)))
        .maybe(
            "serviceAccounts",
            non_empty(of(SubjectKind::ServiceAccount)),
        );
    Entry::new(key, adopt(body, kube_owned(context, kind, key)).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_a_map_in_order_or_nothing() {
        let none: BTreeMap<String, u32> = BTreeMap::new();
        assert_eq!(
            entries(&none, |(key, _)| Entry::new(key, Node::str("x"))),
            None
        );
        let some = BTreeMap::from([("b".to_string(), 2), ("a".to_string(), 1)]);
        assert_eq!(
            entries(&some, |(key, value)| Entry::new(
                key,
                Node::Raw(value.to_string())
            )),
            Some(Node::Map(vec![
                Entry::new("a", Node::Raw("1".into())),
                Entry::new("b", Node::Raw("2".into())),
            ]))
        );
    }
}
