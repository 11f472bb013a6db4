//! What to import from live state: the access mappings of one cluster and the IAM objects they
//! reach (principals, their groups and customer policies), everything under `--path-prefix`,
//! the cluster's own RBAC objects, IRSA service accounts and namespaces — minus what belongs to
//! nodes, EKS or Kubernetes itself, each left out with the reason.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    AccessEntry, AccessScope, AccountId, AwsAuthEntry, Binding, Cluster, DEFAULT_POLICY_PATH,
    DocumentKind, Group, IRSA_ANNOTATION, Iam, IamArn, MANAGED_BY_TAG, MapKind, Policy,
    PolicyDocument, RbacRole, Role, RoleRefKind, ServiceAccount, State, User, arn, parse_arn,
};

use super::{Options, Part};

/// Namespaces every cluster has; objects in them need no `namespaces` entry.
pub const BUILT_IN_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];
/// ClusterRoles Kubernetes makes that a binding may name without declaring them.
const DEFAULT_CLUSTER_ROLES: [&str; 4] = ["cluster-admin", "admin", "edit", "view"];
/// Prefixes of RBAC objects made by Kubernetes and EKS.
const SYSTEM_PREFIXES: [&str; 2] = ["system:", "eks:"];
/// RBAC objects the EKS add-ons make (VPC CNI, VPC resource controller).
const EKS_ADDON_OBJECTS: [&str; 4] = [
    "aws-node",
    "vpc-resource-controller-role",
    "eks-vpc-resource-controller-rolebinding",
    "vpc-resource-controller-rolebinding",
];
/// Labels Kubernetes and EKS put on the objects they make.
const SYSTEM_LABELS: [(&str, Option<&str>); 3] = [
    ("kubernetes.io/bootstrapping", Some("rbac-defaults")),
    ("eks.amazonaws.com/component", None),
    ("addonmanager.kubernetes.io/mode", None),
];
const STANDARD: &str = "STANDARD";

/// One `access` item.
#[derive(Clone, Debug, PartialEq)]
pub struct AccessItem {
    pub kind: MapKind,
    /// The principal ARN (aws-auth's spelling), or the account for `mapAccounts`.
    pub arn: String,
    pub username: Option<String>,
    pub groups: Vec<String>,
    pub access_policies: BTreeMap<String, AccessScope>,
    /// Not yet managed by accessctl.
    pub adopt: bool,
    pub comments: Vec<String>,
}

/// Everything chosen, by the model's keys, with what was left out and why.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub policies: BTreeMap<String, Policy>,
    pub groups: BTreeMap<String, Group>,
    pub users: BTreeMap<String, User>,
    pub roles: BTreeMap<String, Role>,
    pub access: Vec<AccessItem>,
    pub namespaces: BTreeSet<String>,
    pub cluster_roles: BTreeMap<String, RbacRole>,
    pub k8s_roles: BTreeMap<String, RbacRole>,
    pub cluster_role_bindings: BTreeMap<String, Binding>,
    pub role_bindings: BTreeMap<String, Binding>,
    pub service_accounts: BTreeMap<String, ServiceAccount>,
    /// One line each: what was left out and why.
    pub left_out: Vec<String>,
}

pub fn select(live: &State, cluster_name: &str, cluster: &Cluster, options: &Options) -> Selection {
    let mut selector = Selector {
        live,
        options,
        account: options
            .account
            .clone()
            .or_else(|| live.account.clone())
            .unwrap_or_default(),
        selection: Selection::default(),
    };
    if options.includes(Part::AwsAuth) {
        selector.access(cluster);
    }
    if options.includes(Part::Rbac) {
        selector.rbac(cluster);
    }
    if options.includes(Part::ServiceAccounts) {
        selector.service_accounts(cluster);
    }
    selector.iam_roots();
    selector.namespaces(cluster, cluster_name);
    selector.selection
}

struct Selector<'a> {
    live: &'a State,
    options: &'a Options,
    account: String,
    selection: Selection,
}

/// Why a user or policy with `aws:` tags is left out.
const AWS_TAGS: &str = "its `aws:` tags cannot be declared; referred to by ARN";

fn has_aws_tags(tags: &BTreeMap<String, String>) -> bool {
    tags.keys()
        .any(|key| key.to_ascii_lowercase().starts_with("aws:"))
}

/// Whether a live document can be written in access.yaml and read back equal.
fn writable(document: &PolicyDocument, kind: DocumentKind) -> bool {
    PolicyDocument::from_value(&document.to_value(), kind).is_ok_and(|strict| strict == *document)
}

fn tagged(tags: &BTreeMap<String, String>) -> bool {
    crate::model::owned::by_tags(tags)
}

impl Selector<'_> {
    fn iam(&self) -> &Iam {
        &self.live.iam
    }

    fn leave_out(&mut self, line: String) {
        self.selection.left_out.push(line);
    }

    /// The live role a principal ARN names: aws-auth drops role paths, so by name.
    fn role_by_arn(&self, principal: &str, ignore_path: bool) -> Option<String> {
        let parsed = IamArn::parse(principal)?;
        if parsed.account() != self.account {
            return None;
        }
        let name = parsed.role_name()?;
        let role = self.iam().roles.get(name)?;
        let exact = arn::role(&self.live.partition, &self.account, &role.path, name);
        (ignore_path || exact == principal).then(|| name.to_string())
    }

    fn user_by_arn(&self, principal: &str) -> Option<String> {
        let parsed @ IamArn::User { .. } = IamArn::parse(principal)? else {
            return None;
        };
        let name = parsed.name()?;
        let user = self.iam().users.get(name)?;
        (arn::user(&self.live.partition, &self.account, &user.path, name) == principal)
            .then(|| name.to_string())
    }

    fn access(&mut self, cluster: &Cluster) {
        let mode = cluster.authentication;
        let mut from_map: BTreeMap<String, AccessItem> = BTreeMap::new();
        if let Some(aws_auth) = &cluster.aws_auth {
            let mut count: BTreeMap<&str, usize> = BTreeMap::new();
            for entry in &aws_auth.entries {
                *count.entry(entry.arn.as_str()).or_default() += 1;
            }
            for entry in &aws_auth.entries {
                if let Some(why) = self.unimportable_entry(entry, count[entry.arn.as_str()]) {
                    self.leave_out(format!("aws-auth entry `{}`: {why}", entry.arn));
                    continue;
                }
                if from_map.contains_key(&entry.arn) {
                    continue;
                }
                from_map.insert(
                    entry.arn.clone(),
                    AccessItem {
                        kind: entry.kind,
                        arn: entry.arn.clone(),
                        username: entry.username.clone(),
                        groups: entry.groups.clone(),
                        access_policies: BTreeMap::new(),
                        adopt: !aws_auth.managed.contains(&entry.arn),
                        comments: Vec::new(),
                    },
                );
            }
        }
        let mut from_entries: BTreeMap<String, AccessItem> = BTreeMap::new();
        for (principal, entry) in &cluster.access_entries {
            if let Some(why) = unimportable_access_entry(principal, entry) {
                self.leave_out(format!("access entry `{principal}`: {why}"));
                continue;
            }
            let kind = if principal.contains(":role/") {
                MapKind::MapRoles
            } else {
                MapKind::MapUsers
            };
            let mut comments = Vec::new();
            let extra: Vec<&String> = entry.tags.keys().filter(|k| *k != MANAGED_BY_TAG).collect();
            if !extra.is_empty() {
                comments.push(format!(
                    "the access entry's tags ({}) cannot be declared here: adopting it drops them",
                    crate::words::quoted_list(&extra)
                ));
            }
            from_entries.insert(
                principal.clone(),
                AccessItem {
                    kind,
                    arn: principal.clone(),
                    username: entry.username.clone(),
                    groups: entry.groups.iter().cloned().collect(),
                    access_policies: entry.policies.clone(),
                    adopt: !tagged(&entry.tags),
                    comments,
                },
            );
        }
        let items: Vec<AccessItem> = match (mode.uses_config_map(), mode.uses_access_entries()) {
            (true, false) => {
                if !from_entries.is_empty() {
                    self.leave_out(format!(
                        "{}: the cluster authenticates with the aws-auth ConfigMap only",
                        crate::words::count(from_entries.len(), "access entry", "access entries")
                    ));
                }
                from_map.into_values().collect()
            }
            (false, _) => from_entries.into_values().collect(),
            (true, true) => self.merge_both(from_map, from_entries),
        };
        for item in items {
            self.selection.access.push(item);
        }
    }

    /// With `authentication: both` one item makes an aws-auth entry and an access entry:
    /// only principals mapped the same way on both sides can be written.
    fn merge_both(
        &mut self,
        mut from_map: BTreeMap<String, AccessItem>,
        from_entries: BTreeMap<String, AccessItem>,
    ) -> Vec<AccessItem> {
        let mut items = Vec::new();
        for (principal, mut entry) in from_entries {
            // aws-auth keys roles without their path.
            let key = match entry.kind {
                MapKind::MapRoles => arn::aws_auth_key(&principal),
                _ => principal.clone(),
            };
            match from_map.remove(&key) {
                Some(mapped) if mapped.username == entry.username && {
                    let mut a = mapped.groups.clone();
                    a.sort();
                    a.dedup();
                    a == entry.groups
                } =>
                {
                    entry.adopt |= mapped.adopt;
                    items.push(entry);
                }
                _ => self.leave_out(format!(
                    "access entry `{principal}`: with `authentication: both` each access item makes an aws-auth entry and an access entry, and this principal is not mapped the same way in both"
                )),
            }
        }
        for arn in from_map.keys() {
            self.leave_out(format!(
                "aws-auth entry `{arn}`: with `authentication: both` each access item also makes an access entry, and this principal has none"
            ));
        }
        items
    }

    fn unimportable_entry(&self, entry: &AwsAuthEntry, count: usize) -> Option<String> {
        if entry.is_node_role() {
            return Some(
                "a node role (system:bootstrappers, system:nodes): kept as it is, never managed"
                    .into(),
            );
        }
        if count > 1 {
            return Some(format!(
                "listed {count} times: adopting would merge the entries into one, a change to review by hand"
            ));
        }
        match entry.kind {
            MapKind::MapAccounts => {
                if AccountId::is_valid(&entry.arn) {
                    None
                } else {
                    Some("not a 12-digit account".into())
                }
            }
            MapKind::MapRoles | MapKind::MapUsers => {
                let want = if entry.kind == MapKind::MapRoles {
                    "role"
                } else {
                    "user"
                };
                match (entry.kind, IamArn::parse(&entry.arn)) {
                    (MapKind::MapRoles, Some(IamArn::Role { path, .. })) => (path != "/").then(|| {
                        "a role ARN with a path: the authenticator matches roles without their path, so this entry maps no one as written".to_string()
                    }),
                    (MapKind::MapUsers, Some(IamArn::User { .. })) => None,
                    _ => Some(format!("not an IAM {want} ARN, which this list must hold")),
                }
            }
        }
    }

    fn rbac(&mut self, cluster: &Cluster) {
        for (name, role) in &cluster.cluster_roles {
            if system_object(name, &role.meta) && !role.meta.is_owned() {
                continue;
            }
            self.selection
                .cluster_roles
                .insert(name.clone(), role.clone());
        }
        for (key, role) in &cluster.roles {
            let name = key.rsplit('/').next().unwrap_or(key);
            if system_object(name, &role.meta) && !role.meta.is_owned() {
                continue;
            }
            self.selection.k8s_roles.insert(key.clone(), role.clone());
        }
        for (key, binding) in &cluster.cluster_role_bindings {
            if system_object(key, &binding.meta) && !binding.meta.is_owned() {
                continue;
            }
            if let Some(why) = self.unresolvable_ref(None, binding) {
                self.leave_out(format!("ClusterRoleBinding `{key}`: {why}"));
                continue;
            }
            self.selection
                .cluster_role_bindings
                .insert(key.clone(), binding.clone());
        }
        for (key, binding) in &cluster.role_bindings {
            let (namespace, name) = key.split_once('/').unwrap_or(("", key));
            if system_object(name, &binding.meta) && !binding.meta.is_owned() {
                continue;
            }
            if let Some(why) = self.unresolvable_ref(Some(namespace), binding) {
                self.leave_out(format!("RoleBinding `{key}`: {why}"));
                continue;
            }
            self.selection
                .role_bindings
                .insert(key.clone(), binding.clone());
        }
    }

    /// A binding must name a role of the file or a built-in ClusterRole.
    fn unresolvable_ref(&self, namespace: Option<&str>, binding: &Binding) -> Option<String> {
        let name = &binding.role_ref.name;
        let found = match binding.role_ref.kind {
            RoleRefKind::ClusterRole => {
                DEFAULT_CLUSTER_ROLES.contains(&name.as_str())
                    || name.starts_with("system:")
                    || self.selection.cluster_roles.contains_key(name)
            }
            RoleRefKind::Role => namespace.is_some_and(|ns| {
                self.selection
                    .k8s_roles
                    .contains_key(&format!("{ns}/{name}"))
            }),
        };
        (!found).then(|| {
            format!(
                "grants {:?} `{name}`, which is not imported (made by Kubernetes or EKS, or missing)",
                binding.role_ref.kind
            )
        })
    }

    fn service_accounts(&mut self, cluster: &Cluster) {
        for (key, account) in &cluster.service_accounts {
            if !account.meta.annotations.contains_key(IRSA_ANNOTATION) && !account.meta.is_owned() {
                continue;
            }
            if account
                .meta
                .labels
                .get("app.kubernetes.io/managed-by")
                .is_some_and(|by| by.eq_ignore_ascii_case("eks"))
            {
                self.leave_out(format!("ServiceAccount `{key}`: made by an EKS add-on"));
                continue;
            }
            self.selection
                .service_accounts
                .insert(key.clone(), account.clone());
        }
    }

    /// IAM objects: the principals of the access items and of IRSA, their groups and customer
    /// policies, and everything under `--path-prefix`.
    fn iam_roots(&mut self) {
        let mut users = BTreeSet::new();
        let mut roles = BTreeSet::new();
        for item in &self.selection.access {
            match item.kind {
                MapKind::MapUsers => users.extend(self.user_by_arn(&item.arn)),
                MapKind::MapRoles => roles.extend(self.role_by_arn(&item.arn, true)),
                MapKind::MapAccounts => {}
            }
        }
        for account in self.selection.service_accounts.values() {
            if let Some(role) = account.meta.annotations.get(IRSA_ANNOTATION) {
                roles.extend(self.role_by_arn(role, false));
            }
        }
        let mut groups = BTreeSet::new();
        let mut policies = BTreeSet::new();
        // What accessctl already manages must stay in the file, or the first plan deletes it.
        let iam = &self.live.iam;
        users.extend(
            iam.users
                .iter()
                .filter(|(_, u)| tagged(&u.tags))
                .map(|(n, _)| n.clone()),
        );
        roles.extend(
            iam.roles
                .iter()
                .filter(|(_, r)| tagged(&r.tags))
                .map(|(n, _)| n.clone()),
        );
        groups.extend(
            iam.groups
                .iter()
                .filter(|(_, g)| g.path == crate::model::DEFAULT_GROUP_PATH)
                .map(|(n, _)| n.clone()),
        );
        policies.extend(
            iam.policies
                .iter()
                .filter(|(_, p)| p.path.starts_with(DEFAULT_POLICY_PATH))
                .map(|(n, _)| n.clone()),
        );
        if let Some(prefix) = &self.options.path_prefix {
            let iam = &self.live.iam;
            users.extend(under(prefix, iam.users.iter().map(|(n, u)| (n, &u.path))));
            roles.extend(under(prefix, iam.roles.iter().map(|(n, r)| (n, &r.path))));
            groups.extend(under(prefix, iam.groups.iter().map(|(n, g)| (n, &g.path))));
            policies.extend(under(
                prefix,
                iam.policies.iter().map(|(n, p)| (n, &p.path)),
            ));
        }
        if self.options.includes(Part::IamUsers) {
            for name in users {
                self.user(&name, &mut groups, &mut policies);
            }
        }
        if self.options.includes(Part::IamRoles) {
            for name in roles {
                self.role(&name, &mut policies);
            }
        }
        // A user's groups come with it: memberships can only name groups of the file. And a
        // group's members come with it: accessctl owns the membership of its groups, so a
        // member the file leaves out would be taken out by the first plan. Members bring their
        // own groups, so this runs until nothing new comes in.
        let explicit_groups = self.options.includes(Part::IamGroups);
        let mut settled: BTreeSet<String> = BTreeSet::new();
        loop {
            let pending: Vec<String> = groups
                .iter()
                .filter(|name| !settled.contains(*name))
                .filter(|name| {
                    explicit_groups
                        || self
                            .selection
                            .users
                            .values()
                            .any(|u| u.groups.contains(*name))
                })
                .cloned()
                .collect();
            if pending.is_empty() {
                break;
            }
            for name in pending {
                settled.insert(name.clone());
                if self.group(&name, &mut policies) {
                    self.members(&name, &mut groups, &mut policies);
                }
            }
        }
        // A member that came in late may belong to a group left out before it.
        let absent: BTreeSet<String> = self
            .selection
            .users
            .values()
            .flat_map(|user| user.groups.iter())
            .filter(|name| !self.selection.groups.contains_key(*name))
            .cloned()
            .collect();
        for name in absent {
            self.drop_group_members(&name);
        }
        if self.options.includes(Part::IamPolicies) {
            for name in policies {
                self.policy(&name);
            }
        }
    }

    /// Adds to `into` the customer policies of the account among the attached policies and the
    /// boundary of a user, group or role.
    fn customer_policies(
        &self,
        attached: &BTreeSet<String>,
        boundary: Option<&String>,
        into: &mut BTreeSet<String>,
    ) {
        for policy_arn in attached.iter().chain(boundary) {
            if let Some(name) = self.customer_policy_name(policy_arn) {
                into.insert(name);
            }
        }
    }

    fn customer_policy_name(&self, policy_arn: &str) -> Option<String> {
        let parsed = IamArn::parse(policy_arn)?;
        if parsed.account() != self.account {
            return None;
        }
        let name = parsed.policy_name()?;
        let policy = self.live.iam.policies.get(name)?;
        (arn::policy(&self.live.partition, &self.account, &policy.path, name) == policy_arn)
            .then(|| name.to_string())
    }

    /// Leaves `what` out for the first of `reasons` that holds; `true` when one did.
    fn left_out_for(&mut self, what: &str, reasons: &[(bool, &str)]) -> bool {
        let Some((_, why)) = reasons.iter().find(|(holds, _)| *holds) else {
            return false;
        };
        self.leave_out(format!("{what}: {why}"));
        true
    }

    fn inline_ok(&mut self, what: &str, inline: &BTreeMap<String, PolicyDocument>) -> bool {
        if let Some(bad) = inline
            .iter()
            .find(|(_, d)| !writable(d, DocumentKind::Identity))
        {
            self.leave_out(format!(
                "{what}: its inline policy `{}` is not a valid identity policy as access.yaml checks it",
                bad.0
            ));
            return false;
        }
        true
    }

    fn user(&mut self, name: &str, groups: &mut BTreeSet<String>, policies: &mut BTreeSet<String>) {
        let Some(user) = self.live.iam.users.get(name) else {
            return;
        };
        let what = format!("IAM user `{name}`");
        if self.left_out_for(&what, &[(has_aws_tags(&user.tags), AWS_TAGS)])
            || !self.inline_ok(&what, &user.inline_policies)
        {
            return;
        }
        groups.extend(user.groups.iter().cloned());
        self.customer_policies(
            &user.managed_policies,
            user.permissions_boundary.as_ref(),
            policies,
        );
        self.selection.users.insert(name.to_string(), user.clone());
    }

    fn role(&mut self, name: &str, policies: &mut BTreeSet<String>) {
        let Some(role) = self.live.iam.roles.get(name) else {
            return;
        };
        let what = format!("IAM role `{name}`");
        let by_aws =
            role.path.starts_with("/aws-service-role/") || role.path.starts_with("/aws-reserved/");
        let reasons = [
            (by_aws, "made and managed by AWS; referred to by ARN"),
            (
                has_aws_tags(&role.tags),
                "its `aws:` tags (e.g. CloudFormation's) cannot be declared; referred to by ARN",
            ),
            (
                !writable(&role.trust, DocumentKind::Trust),
                "its trust policy is not valid as access.yaml checks it; referred to by ARN",
            ),
        ];
        if self.left_out_for(&what, &reasons) || !self.inline_ok(&what, &role.inline_policies) {
            return;
        }
        self.customer_policies(
            &role.managed_policies,
            role.permissions_boundary.as_ref(),
            policies,
        );
        self.selection.roles.insert(name.to_string(), role.clone());
    }

    /// Imports group `name`; `false` when it is left out.
    fn group(&mut self, name: &str, policies: &mut BTreeSet<String>) -> bool {
        let Some(group) = self.live.iam.groups.get(name) else {
            return false;
        };
        if !self.inline_ok(&format!("IAM group `{name}`"), &group.inline_policies) {
            self.drop_group_members(name);
            return false;
        }
        self.customer_policies(&group.managed_policies, None, policies);
        self.selection
            .groups
            .insert(name.to_string(), group.clone());
        true
    }

    /// The members of an imported group, as users of the file; or, when they cannot all be
    /// written or `--include` leaves users out, the group is left out (with its members, whose
    /// memberships could not name it): a first plan after import never removes a member.
    fn members(
        &mut self,
        name: &str,
        groups: &mut BTreeSet<String>,
        policies: &mut BTreeSet<String>,
    ) {
        let missing: Vec<String> = self
            .live
            .iam
            .members(name)
            .into_iter()
            .filter(|member| !self.selection.users.contains_key(member))
            .collect();
        if missing.is_empty() {
            return;
        }
        let listed = crate::words::quoted_list(&missing);
        if !self.options.includes(Part::IamUsers) {
            // Owning the group without its members would make the first plan take them out.
            self.selection.groups.remove(name);
            self.leave_out(format!(
                "IAM group `{name}`: left out with its members {listed} (`--include` leaves out `iam-users`, and accessctl owns the membership of the groups it manages); add `iam-users` to `--include` to import it"
            ));
            self.drop_group_members(name);
            return;
        }
        for member in &missing {
            self.user(member, groups, policies);
        }
        let unwritable: Vec<&String> = missing
            .iter()
            .filter(|member| !self.selection.users.contains_key(*member))
            .collect();
        if !unwritable.is_empty() {
            self.selection.groups.remove(name);
            self.leave_out(format!(
                "IAM group `{name}`: its member{} {} cannot be written (above), and accessctl would take {} out of the group it owns; referred to by name",
                if unwritable.len() == 1 { "" } else { "s" },
                crate::words::quoted_list(&unwritable),
                if unwritable.len() == 1 { "it" } else { "them" },
            ));
            self.drop_group_members(name);
        }
    }

    /// Group `name` is left out: its members in the file could not name it, so they are left
    /// out too; and each group they belong to loses a member it would then remove, so it goes
    /// the same way.
    fn drop_group_members(&mut self, name: &str) {
        let members: Vec<String> = self
            .selection
            .users
            .iter()
            .filter(|(_, u)| u.groups.contains(name))
            .map(|(n, _)| n.clone())
            .collect();
        for member in members {
            let Some(user) = self.selection.users.remove(&member) else {
                continue;
            };
            self.leave_out(format!(
                "IAM user `{member}`: member of group `{name}`, which is left out"
            ));
            for other in &user.groups {
                if other != name && self.selection.groups.remove(other).is_some() {
                    self.leave_out(format!(
                        "IAM group `{other}`: its member `{member}` is left out, and accessctl would take it out of the group it owns"
                    ));
                    self.drop_group_members(other);
                }
            }
        }
    }

    fn policy(&mut self, name: &str) {
        let Some(policy) = self.live.iam.policies.get(name) else {
            return;
        };
        let what = format!("policy `{name}`");
        // Customer policies are owned by path: declaring one outside the policy path would
        // re-create it there (a new ARN), which is no adoption.
        let outside = format!(
            "its path `{}` is outside `{DEFAULT_POLICY_PATH}`, where accessctl owns policies; referred to by ARN (declare it to have accessctl re-create it under `{DEFAULT_POLICY_PATH}`)",
            policy.path
        );
        let reasons = [
            (has_aws_tags(&policy.tags), AWS_TAGS),
            (
                !writable(&policy.document, DocumentKind::Identity),
                "its document is not a valid identity policy as access.yaml checks it; referred to by ARN",
            ),
            (!policy.path.starts_with(DEFAULT_POLICY_PATH), &outside),
        ];
        if self.left_out_for(&what, &reasons) {
            return;
        }
        self.selection
            .policies
            .insert(name.to_string(), policy.clone());
    }

    /// Namespaces the imported objects live in, and (with `namespaces`) every other one that is
    /// not a cluster's own.
    fn namespaces(&mut self, cluster: &Cluster, cluster_name: &str) {
        let _ = cluster_name;
        let mut needed = BTreeSet::new();
        for key in self
            .selection
            .k8s_roles
            .keys()
            .chain(self.selection.role_bindings.keys())
            .chain(self.selection.service_accounts.keys())
        {
            if let Some((namespace, _)) = key.split_once('/') {
                needed.insert(namespace.to_string());
            }
        }
        if self.options.includes(Part::Namespaces) {
            needed.extend(cluster.namespaces.keys().cloned());
        }
        for namespace in needed {
            if BUILT_IN_NAMESPACES.contains(&namespace.as_str()) {
                continue;
            }
            if !cluster.namespaces.contains_key(&namespace) {
                continue;
            }
            self.selection.namespaces.insert(namespace);
        }
    }
}

fn under<'n>(prefix: &str, items: impl Iterator<Item = (&'n String, &'n String)>) -> Vec<String> {
    items
        .filter(|(_, path)| path.starts_with(prefix))
        .map(|(name, _)| name.clone())
        .collect()
}

/// Made by Kubernetes or EKS: left out without a word (every cluster has them).
fn system_object(name: &str, meta: &crate::model::Meta) -> bool {
    SYSTEM_PREFIXES
        .iter()
        .any(|prefix| name.starts_with(prefix))
        || DEFAULT_CLUSTER_ROLES.contains(&name)
        || EKS_ADDON_OBJECTS.contains(&name)
        || SYSTEM_LABELS.iter().any(|(key, value)| {
            meta.labels
                .get(*key)
                .is_some_and(|v| value.is_none_or(|want| v == want))
        })
}

fn unimportable_access_entry(principal: &str, entry: &AccessEntry) -> Option<String> {
    if entry.kind != STANDARD {
        return Some(format!(
            "of type `{}`, made by EKS for nodes: never managed",
            entry.kind
        ));
    }
    if parse_arn(principal).is_none() {
        return Some("not an IAM ARN".into());
    }
    if matches!(IamArn::parse(principal), Some(IamArn::Role { path, .. }) if path.starts_with("/aws-service-role/"))
    {
        return Some("a service-linked role's entry, made by EKS".into());
    }
    let reserved = |text: &str| {
        ["system:", "eks:", "aws:", "amazon:", "iam:"]
            .iter()
            .any(|prefix| text.starts_with(prefix))
    };
    if entry.groups.iter().any(|g| reserved(g)) || entry.username.as_deref().is_some_and(reserved) {
        return Some(
            "uses a username or group with a prefix EKS reserves for itself: made by EKS".into(),
        );
    }
    None
}
