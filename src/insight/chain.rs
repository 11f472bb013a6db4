//! The whole chain from an IAM principal to what it may do in each cluster: the roles it can
//! assume (transitively, a bounded number of hops), the aws-auth entries and access entries
//! that map each of those identities, the Kubernetes username and groups they become, and the
//! RBAC grants that reach them. No I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use super::iam_eval::{self, Analysis, Decision, Principal, PrincipalKind};
use super::rbac::{self, Grant, Identity, Request};
use super::reach;
use crate::model::policy::matching::same_principal;
use crate::model::{
    AccessEntry, AccessScope, AwsAuth, AwsAuthEntry, Cluster, IamArn, MapKind, PolicyRule, State,
    arn as model_arn, parse_arn,
};

/// How many `sts:AssumeRole` hops are followed from the starting principal.
pub const MAX_HOPS: usize = 4;

/// How sure an answer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Certainty {
    Yes,
    Possibly,
    No,
}

impl Certainty {
    pub fn of(decision: &Decision) -> Self {
        match decision {
            Decision::Allowed { .. } => Certainty::Yes,
            Decision::Possibly { .. } => Certainty::Possibly,
            Decision::Denied { .. } | Decision::ImplicitDeny => Certainty::No,
        }
    }

    /// The weaker of two links of one chain.
    pub fn and(self, other: Certainty) -> Certainty {
        self.max(other)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Certainty::Yes => "yes",
            Certainty::Possibly => "possibly",
            Certainty::No => "no",
        }
    }
}

/// One `sts:AssumeRole` hop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub from: String,
    pub role: String,
    pub role_arn: String,
    pub certainty: Certainty,
    pub reason: String,
    /// The role is not accessctl's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unmanaged: bool,
}

/// A principal reached from the start, and the hops that reach it (empty for the start).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reached {
    pub principal: Principal,
    pub hops: Vec<Hop>,
    pub certainty: Certainty,
}

/// The start and every role it can (possibly) assume, each by its shortest, surest chain.
pub fn reachable(analysis: &Analysis<'_>, start: &Principal) -> Vec<Reached> {
    reachable_at_least(analysis, start, Certainty::Possibly)
}

/// The start and every role it can assume through hops at least as sure as `floor`
/// (`Certainty::Yes`: only the roles it surely can).
pub fn reachable_at_least(
    analysis: &Analysis<'_>,
    start: &Principal,
    floor: Certainty,
) -> Vec<Reached> {
    let state = analysis.state();
    // Only a role whose trust has an unconditional `Allow` can be surely assumed: when only
    // sure hops count, the others are not asked about at all.
    let candidates: Vec<bool> = state
        .iam
        .roles
        .values()
        .map(|role| {
            floor > Certainty::Yes
                || role.trust.statements().iter().any(|statement| {
                    statement.effect() == crate::model::policy::Effect::Allow
                        && !statement.has_condition()
                        && statement.matches_action("sts:AssumeRole")
                })
        })
        .collect();
    let mut edges = |index: usize, node: &reach::Node, out: &mut Vec<(usize, Certainty)>| {
        let from = match node.role.filter(|_| index != 0) {
            Some(role) => analysis
                .role_name(role)
                .and_then(|name| Principal::role(state, name)),
            None => Some(start.clone()),
        };
        let Some(from) = from else { return };
        for (role_name, decision) in analysis.assumable(&from).iter() {
            let Some(role) = analysis.role_position(role_name) else {
                continue;
            };
            let certainty = Certainty::of(decision);
            if candidates.get(role).copied().unwrap_or(false) && certainty <= floor {
                out.push((role, certainty));
            }
        }
    };
    let tree = reach::search(analysis, start, &mut edges);
    reach::materialize(analysis, start, &tree)
}

pub(crate) fn hop(
    from: &Principal,
    role: &Principal,
    certainty: Certainty,
    decision: &Decision,
) -> Hop {
    Hop {
        from: from.label(),
        role: role.name.clone(),
        role_arn: role.arn.clone(),
        certainty,
        reason: decision.reason(),
        unmanaged: role.unmanaged,
    }
}

/// ` (unmanaged)` after what accessctl does not manage, nothing after what it does.
pub fn mark(unmanaged: bool) -> &'static str {
    if unmanaged { " (unmanaged)" } else { "" }
}

/// A grant's source with its mark after the object it names: `ClusterRoleBinding alice
/// (unmanaged) → ClusterRole cluster-admin`.
pub fn marked_source(source: &str, unmanaged: bool) -> String {
    match source.split_once(" → ") {
        Some((object, rest)) => format!("{object}{} → {rest}", mark(unmanaged)),
        None => format!("{source}{}", mark(unmanaged)),
    }
}

/// How an IAM identity is mapped into a cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mapping {
    /// `aws-auth mapUsers`, `aws-auth mapRoles`, `aws-auth mapAccounts`, `access entry`.
    pub via: String,
    /// The ARN (or account) the mapping names.
    pub arn: String,
    pub identity: Identity,
    /// Access policies of an access entry.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub access_policies: BTreeMap<String, AccessScope>,
    /// The aws-auth entry or access entry is not accessctl's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unmanaged: bool,
}

/// The mappings of a cluster that authenticate `principal`, as the cluster's authentication
/// mode allows.
pub fn mappings(cluster: &Cluster, principal: &Principal) -> Vec<Mapping> {
    map_entries(cluster)
        .filter(|entry| entry.maps(principal))
        .map(|entry| entry.mapping(&principal.arn))
        .collect()
}

/// Every mapping of a cluster, as its authentication mode allows, each with the identity it
/// gives the ARN (or account) it names: the way back from a Kubernetes subject to IAM.
pub fn cluster_mappings(cluster: &Cluster) -> Vec<Mapping> {
    map_entries(cluster)
        .map(|entry| entry.mapping(entry.arn()))
        .collect()
}

/// One entry of a cluster that maps IAM identities: an aws-auth entry (and whether accessctl
/// manages it) or an access entry (by ARN).
#[derive(Clone, Copy, Debug)]
pub(crate) enum MapEntry<'c> {
    AwsAuth(&'c AwsAuthEntry, bool),
    Access(&'c str, &'c AccessEntry),
}

/// The entries a cluster reads, as its authentication mode allows: aws-auth's in order, then
/// the access entries.
pub(crate) fn map_entries(cluster: &Cluster) -> impl Iterator<Item = MapEntry<'_>> {
    aws_auth_entries(cluster)
        .map(|(entry, managed)| MapEntry::AwsAuth(entry, managed))
        .chain(access_entries(cluster).map(|(arn, entry)| MapEntry::Access(arn, entry)))
}

impl MapEntry<'_> {
    /// The ARN (or account, for `mapAccounts`) the entry names.
    pub(crate) fn arn(&self) -> &str {
        match self {
            MapEntry::AwsAuth(entry, _) => &entry.arn,
            MapEntry::Access(arn, _) => arn,
        }
    }

    /// Does the entry authenticate `principal`?
    pub(crate) fn maps(&self, principal: &Principal) -> bool {
        match self {
            MapEntry::AwsAuth(entry, _) => {
                let is_role = principal.kind == PrincipalKind::Role
                    || matches!(IamArn::parse(&principal.arn), Some(IamArn::Role { .. }));
                match entry.kind {
                    // mapRoles ARNs carry no path: match by account and name.
                    MapKind::MapRoles => is_role && same_principal(&entry.arn, &principal.arn),
                    MapKind::MapUsers => {
                        !is_role
                            && (entry.arn == principal.arn
                                || same_principal(&entry.arn, &principal.arn))
                    }
                    MapKind::MapAccounts => entry.arn == principal.account(),
                }
            }
            MapEntry::Access(arn, _) => {
                *arn == principal.arn || same_principal(arn, &principal.arn)
            }
        }
    }

    /// What the entry makes of `principal_arn`.
    pub(crate) fn mapping(&self, principal_arn: &str) -> Mapping {
        match self {
            MapEntry::AwsAuth(entry, managed) => aws_auth_mapping(entry, *managed, principal_arn),
            MapEntry::Access(arn, entry) => access_entry_mapping(arn, entry, principal_arn),
        }
    }
}

/// The aws-auth entries the cluster reads (none when it authenticates with access entries only),
/// each with whether accessctl manages it.
fn aws_auth_entries(cluster: &Cluster) -> impl Iterator<Item = (&AwsAuthEntry, bool)> {
    cluster
        .aws_auth
        .iter()
        .filter(|_| cluster.authentication.uses_config_map())
        .flat_map(|aws_auth| {
            aws_auth
                .effective()
                .map(|entry| (entry, aws_auth.managed.contains(&entry.arn)))
        })
}

/// The `STANDARD` access entries the cluster reads (none in `config-map` mode).
fn access_entries(cluster: &Cluster) -> impl Iterator<Item = (&String, &AccessEntry)> {
    cluster.access_entries.iter().filter(|(_, entry)| {
        cluster.authentication.uses_access_entries() && entry.kind == "STANDARD"
    })
}

/// What an aws-auth entry makes of `principal_arn` (the username when the entry names none).
fn aws_auth_mapping(entry: &AwsAuthEntry, managed: bool, principal_arn: &str) -> Mapping {
    let via = match entry.kind {
        MapKind::MapRoles => "aws-auth mapRoles",
        MapKind::MapUsers => "aws-auth mapUsers",
        MapKind::MapAccounts => "aws-auth mapAccounts",
    };
    Mapping {
        via: via.to_string(),
        arn: entry.arn.clone(),
        identity: Identity {
            username: entry
                .username
                .clone()
                .unwrap_or_else(|| principal_arn.to_string()),
            groups: entry.groups.iter().cloned().collect(),
        },
        access_policies: BTreeMap::new(),
        unmanaged: !managed,
    }
}

/// What an access entry makes of `principal_arn` (EKS's generated username when the entry
/// names none).
fn access_entry_mapping(arn: &str, entry: &AccessEntry, principal_arn: &str) -> Mapping {
    let default_username = model_arn::eks_generated_username(principal_arn, &entry.kind)
        .unwrap_or_else(|| principal_arn.to_string());
    Mapping {
        via: "access entry".to_string(),
        arn: arn.to_string(),
        identity: Identity {
            username: entry.username.clone().unwrap_or(default_username),
            groups: entry.groups.clone(),
        },
        access_policies: entry.policies.clone(),
        unmanaged: !crate::model::owned::by_tags(&entry.tags),
    }
}

/// One way into one cluster: the hops, the mapping, and what it grants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Route {
    pub cluster: String,
    /// The identity that is mapped (the start, or a role reached from it).
    pub principal: Principal,
    pub hops: Vec<Hop>,
    pub mapping: Mapping,
    /// Of the IAM part of the chain.
    pub certainty: Certainty,
    /// Shared by every route through the same mapping (who-can answers thousands of them).
    pub grants: Arc<[MarkedGrant]>,
}

/// A grant, and whether the object behind it is accessctl's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MarkedGrant {
    #[serde(flatten)]
    pub grant: Grant,
    /// The binding behind it (or the access entry of its access policy) is not accessctl's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unmanaged: bool,
}

/// Marks each grant reaching `mapping` in `cluster`.
pub fn marked(cluster: &Cluster, mapping: &Mapping, grants: Vec<Grant>) -> Vec<MarkedGrant> {
    grants
        .into_iter()
        .map(|grant| {
            let unmanaged = match binding_of(cluster, &grant) {
                Some(binding) => !binding.meta.is_owned(),
                None => grant.source.starts_with("access policy ") && mapping.unmanaged,
            };
            MarkedGrant { grant, unmanaged }
        })
        .collect()
}

/// The binding a grant comes from (by the source [`rbac::binding_grant`] gives it:
/// `ClusterRoleBinding NAME → …`, `RoleBinding NAMESPACE/NAME → …`); `None` for a grant that
/// is no binding's (an access policy, the built-in `system:masters` grant).
pub fn binding_of<'c>(cluster: &'c Cluster, grant: &Grant) -> Option<&'c crate::model::Binding> {
    let (kind, rest) = grant.source.split_once(' ')?;
    let (key, _) = rest.split_once(" → ")?;
    match kind {
        "ClusterRoleBinding" => cluster.cluster_role_bindings.get(key),
        "RoleBinding" => cluster.role_bindings.get(key),
        _ => None,
    }
}

/// Every route from `start` into the clusters of the state (or just `only`).
pub fn routes(analysis: &Analysis<'_>, start: &Principal, only: Option<&str>) -> Vec<Route> {
    let state = analysis.state();
    let reached = reachable(analysis, start);
    let mut routes = Vec::new();
    for (name, cluster) in &state.clusters {
        if only.is_some_and(|wanted| wanted != name) {
            continue;
        }
        for found in &reached {
            for mapping in mappings(cluster, &found.principal) {
                let grants = rbac::grants(cluster, &mapping.identity, &mapping.access_policies);
                let grants = marked(cluster, &mapping, grants).into();
                routes.push(Route {
                    cluster: name.clone(),
                    principal: found.principal.clone(),
                    hops: found.hops.clone(),
                    certainty: found.certainty,
                    mapping,
                    grants,
                });
            }
        }
    }
    routes
}

/// The answer to "may `start` do `request` in `cluster`", with the route that decides it.
#[derive(Clone, Debug, Serialize)]
pub struct Answer {
    pub cluster: String,
    pub certainty: Certainty,
    /// The shortest, surest route that allows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<Route>,
    /// The grant and rule that allow it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    /// The object behind the grant is not accessctl's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub grant_unmanaged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// Answers per cluster (only the one asked when `only` is set).
pub fn can(
    analysis: &Analysis<'_>,
    start: &Principal,
    request: &Request,
    only: Option<&str>,
) -> Vec<Answer> {
    let state = analysis.state();
    let routes = routes(analysis, start, only);
    let mut answers = Vec::new();
    for name in state.clusters.keys() {
        if only.is_some_and(|wanted| wanted != name) {
            continue;
        }
        let mut best: Option<(&Route, &MarkedGrant, &PolicyRule)> = None;
        for route in routes.iter().filter(|route| &route.cluster == name) {
            let Some((grant, rule)) = first_allowing(&route.grants, request) else {
                continue;
            };
            let marked = &route.grants[grant];
            let current = best.map(|(current, _, _)| (current.certainty, current.hops.len()));
            if better((route.certainty, route.hops.len()), current) {
                best = Some((route, marked, rule));
            }
        }
        answers.push(match best {
            Some((route, marked, rule)) => allowed(route.clone(), marked, rule),
            None => no_answer(name),
        });
    }
    answers
}

/// Is a route of this (certainty, hops) a better answer than the best so far? Surer first,
/// then shorter; on a tie the first found stays.
pub(crate) fn better(candidate: (Certainty, usize), current: Option<(Certainty, usize)>) -> bool {
    current.is_none_or(|current| candidate < current)
}

/// The first grant (by index) and its first rule that allow the request.
pub(crate) fn first_allowing<'g>(
    grants: &'g [MarkedGrant],
    request: &Request,
) -> Option<(usize, &'g PolicyRule)> {
    grants.iter().enumerate().find_map(|(index, marked)| {
        rbac::allowing(std::slice::from_ref(&marked.grant), request).map(|(_, rule)| (index, rule))
    })
}

/// The answer of a route that allows the request by `marked`'s `rule`.
pub(crate) fn allowed(route: Route, marked: &MarkedGrant, rule: &PolicyRule) -> Answer {
    Answer {
        cluster: route.cluster.clone(),
        certainty: route.certainty,
        grant: Some(marked.grant.source.clone()),
        grant_unmanaged: marked.unmanaged,
        rule: Some(rbac::describe_rule(rule)),
        route: Some(route),
    }
}

/// The answer where no route allows the request.
pub(crate) fn no_answer(cluster: &str) -> Answer {
    Answer {
        cluster: cluster.to_string(),
        certainty: Certainty::No,
        route: None,
        grant: None,
        grant_unmanaged: false,
        rule: None,
    }
}

/// Resolves `--principal`/`--as`: a user or role name of the state (`user/NAME`, `role/NAME`
/// to tell them apart), or an ARN (an assumed-role session ARN stands for its role). An ARN
/// not in the state is an external principal.
pub fn resolve_principal(state: &State, text: &str) -> Result<Principal, String> {
    if let Some(name) = text.strip_prefix("user/") {
        return Principal::user(state, name)
            .ok_or_else(|| format!("no IAM user `{name}` in the state"));
    }
    if let Some(name) = text.strip_prefix("role/") {
        return Principal::role(state, name)
            .ok_or_else(|| format!("no IAM role `{name}` in the state"));
    }
    if let Some(arn) = parse_arn(text) {
        let name = model_arn::short_name(arn.resource);
        let typed = IamArn::parse(text);
        let session = matches!(typed, Some(IamArn::AssumedRole { .. }));
        // By its name, or in an estate of several accounts by `ACCOUNT/NAME`.
        let qualified = |name: &str| super::estate::qualify(arn.account, name);
        let by_name = match &typed {
            Some(IamArn::User { name, .. }) => {
                Principal::user(state, name).or_else(|| Principal::user(state, &qualified(name)))
            }
            Some(IamArn::Role { name, .. } | IamArn::AssumedRole { role: name, .. }) => {
                Principal::role(state, name).or_else(|| Principal::role(state, &qualified(name)))
            }
            _ => None,
        };
        if let Some(found) = by_name.filter(|found| same_principal(&found.arn, text) || session) {
            return Ok(found);
        }
        return Ok(Principal::external(name, text));
    }
    match (Principal::user(state, text), Principal::role(state, text)) {
        (Some(user), None) => Ok(user),
        (None, Some(role)) => Ok(role),
        (Some(_), Some(_)) => Err(format!(
            "`{text}` is both an IAM user and an IAM role: write `user/{text}` or `role/{text}`"
        )),
        (None, None) => in_one_account(state, text),
    }
}

/// A bare name in an estate of several accounts: the one user or role of that name in any
/// account (`alice` → `210987654321/alice`), or an error listing where it is.
fn in_one_account(state: &State, text: &str) -> Result<Principal, String> {
    let named = |key: &String| super::estate::qualified(key).is_some_and(|(_, name)| name == text);
    let found: Vec<Principal> = state
        .iam
        .users
        .keys()
        .filter(|key| named(key))
        .filter_map(|key| Principal::user(state, key))
        .chain(
            state
                .iam
                .roles
                .keys()
                .filter(|key| named(key))
                .filter_map(|key| Principal::role(state, key)),
        )
        .collect();
    match found.as_slice() {
        [] => Err(format!("no IAM user or role `{text}` in the state")),
        [one] => Ok(one.clone()),
        several => Err(format!(
            "`{text}` is in more than one account: write one of {}",
            several
                .iter()
                .map(|principal| format!("`{}`", principal.label()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Every principal worth asking about: the users and roles of the state, and the ARNs mapped
/// into a cluster that are not in it.
pub fn all_principals(state: &State) -> Vec<Principal> {
    let mut principals = iam_eval::iam_principals(state);
    // `same_principal` by key: one parse per ARN, not one per pair.
    let known: std::collections::HashSet<String> = principals
        .iter()
        .filter_map(|principal| crate::model::IamArn::principal_key(&principal.arn))
        .collect();
    let mut external = BTreeSet::new();
    for cluster in state.clusters.values() {
        let arns = cluster
            .aws_auth
            .iter()
            .flat_map(AwsAuth::effective)
            .filter(|entry| entry.kind != MapKind::MapAccounts)
            .map(|entry| entry.arn.clone())
            .chain(cluster.access_entries.keys().cloned());
        for arn in arns {
            let is_known =
                crate::model::IamArn::principal_key(&arn).is_some_and(|key| known.contains(&key));
            if !is_known {
                external.insert(arn);
            }
        }
    }
    principals.extend(
        external
            .iter()
            .map(|arn| Principal::external(model_arn::short_name(arn), arn)),
    );
    principals
}
