//! The access impact of a plan: for each IAM principal and each Kubernetes subject, the access
//! it gains and loses between two states (live, and live with the plan's changes applied).
//!
//! Access is what `can-i` decides, summarised per cluster: each rule of each grant that reaches
//! the principal (the routes of the reach index, [`Reach`], as `who-can` follows them, and
//! [`rbac::grants`]) is cut into single requests ("atoms": one verb on one resource of one API
//! group, with one name, in one scope; `*` stands for itself, as `kubectl auth can-i '*' '*'` asks it). An atom is
//! gained when the grants of the state after allow it ([`rbac::allowing`]) and the grants
//! before do not; lost the other way round. The atoms of one route and grant are put back
//! together as rules, described by [`rbac::describe_rule`]. So a binding replaced by an
//! equivalent one is no change, and every item agrees with `can-i` on the two states.
//!
//! Two summaries keep the list readable: access to everything cluster-wide (`*` on `*` in
//! every API group: `cluster-admin`, `system:masters`, `AmazonEKSClusterAdminPolicy` with
//! cluster scope) is one item, an escalation, listed first and standing for everything else
//! gained in that cluster; and what every authenticated identity may do (the built-in
//! discovery bindings of `system:authenticated`) is one "signs in" item when a principal gets
//! (or loses) its way into a cluster.
//!
//! Cost: grants are computed once per mapped Kubernetes identity and state; a principal whose
//! ways into the clusters lead to the same grants in both states is not looked at further.
//! [`ways_in`] is the only place that walks IAM. No I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::chain::{self, Answer, Certainty, Mapping, MarkedGrant, Reached};
use super::iam_eval::{Principal, PrincipalKind};
use super::rbac::{self, Grant, Identity, Request, Scope};
use super::reach::Reach;
use super::who_can;
use crate::model::{AccessScope, Cluster, PolicyRule, State, SubjectKind};

/// Gained or lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Gains,
    Loses,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Gains => "gains",
            Direction::Loses => "loses",
        }
    }
}

/// What kind of principal or subject an item is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhoKind {
    IamUser,
    IamRole,
    /// An ARN mapped into a cluster that is no user or role of the state.
    IamExternal,
    KubernetesUser,
    KubernetesGroup,
    ServiceAccount,
}

/// One thing gained or lost by one principal or subject in one cluster.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ImpactItem {
    /// Access to everything cluster-wide gained (or lost): listed first, flagged.
    pub escalation: bool,
    pub direction: Direction,
    pub kind: WhoKind,
    /// `user/manager`, `role/eks-admin`, an ARN; a Kubernetes user or group name; a service
    /// account's username (`system:serviceaccount:NS:NAME`).
    pub who: String,
    pub cluster: String,
    /// `None`: cluster-wide (or the whole cluster, for signing in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `cluster-admin (everything)`, a rule as `can-i` describes it, or `signs in`.
    pub access: String,
    /// The rule gained or lost (none for signing in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<PolicyRule>,
    /// The route and grant: in the state after the plan for a gain, before it for a loss.
    pub via: String,
    /// Only through a link `can-i` answers "possibly" about (a condition, unknown policies).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub possibly: bool,
}

/// What `access` says for an escalation.
pub const ADMIN_ACCESS: &str = "cluster-admin (everything, cluster-wide)";
/// What `access` says for getting into a cluster at all.
pub const SIGN_IN_ACCESS: &str = "sign-in (what every authenticated user may do)";

/// The access impact of going from `before` to `after`: escalations first, then by cluster,
/// principal or subject, gains before losses.
pub fn impact(before: &State, after: &State) -> Vec<ImpactItem> {
    if before.iam == after.iam
        && before.clusters == after.clusters
        && before.partition == after.partition
        && before.account == after.account
    {
        return Vec::new();
    }
    let sides = [Side::new(before), Side::new(after)];
    let mut items = Vec::new();
    iam_impact(&sides, &mut items);
    kubernetes_impact(&sides, &mut items);
    items.sort_by(|a, b| {
        let key = |item: &ImpactItem| {
            (
                !item.escalation,
                item.cluster.clone(),
                item.kind,
                item.who.clone(),
                item.direction,
                item.namespace.clone(),
                item.access.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    items.dedup();
    items
}

/// The admin-equivalent items that give access to someone: what `--fail-on-escalation`
/// refuses.
pub fn escalations(items: &[ImpactItem]) -> impl Iterator<Item = &ImpactItem> {
    items
        .iter()
        .filter(|item| item.escalation && item.direction == Direction::Gains)
}

/// One state, analysed once, with the grants of each mapped identity computed once.
struct Side<'s> {
    state: &'s State,
    /// Who reaches which mapped identity, built when IAM principals are looked at.
    reach: std::cell::OnceCell<Reach<'s>>,
    /// Each cluster's bindings indexed by subject, built at the first question.
    clusters: std::cell::OnceCell<BTreeMap<&'s str, rbac::ClusterGrants<'s>>>,
    grants: std::cell::RefCell<BTreeMap<GrantsKey, Rc<Vec<Grant>>>>,
}

type GrantsKey = (String, Identity, BTreeMap<String, AccessScope>);

impl<'s> Side<'s> {
    fn new(state: &'s State) -> Self {
        Side {
            state,
            reach: std::cell::OnceCell::new(),
            clusters: std::cell::OnceCell::new(),
            grants: Default::default(),
        }
    }

    /// [`rbac::grants`] of an identity in a cluster of the state (none in a cluster it does
    /// not have), from the cluster's index.
    fn grants(
        &self,
        cluster: &str,
        identity: &Identity,
        access_policies: &BTreeMap<String, AccessScope>,
    ) -> Vec<Grant> {
        let clusters = self.clusters.get_or_init(|| {
            self.state
                .clusters
                .iter()
                .map(|(name, cluster)| (name.as_str(), rbac::ClusterGrants::new(cluster)))
                .collect()
        });
        clusters
            .get(cluster)
            .map(|indexed| indexed.grants(identity, access_policies))
            .unwrap_or_default()
    }

    /// The reach index of the state ([`Reach`]), built at the first IAM question.
    fn reach(&self) -> &Reach<'s> {
        self.reach.get_or_init(|| Reach::new(self.state))
    }

    /// [`rbac::grants`] of a mapping, once per (cluster, identity, access policies).
    fn grants_of(&self, cluster: &str, mapping: &Mapping) -> Rc<Vec<Grant>> {
        let key = (
            cluster.to_string(),
            mapping.identity.clone(),
            mapping.access_policies.clone(),
        );
        if let Some(found) = self.grants.borrow().get(&key) {
            return Rc::clone(found);
        }
        let grants = Rc::new(self.grants(cluster, &mapping.identity, &mapping.access_policies));
        self.grants.borrow_mut().insert(key, Rc::clone(&grants));
        grants
    }
}

/// One way of a principal into a cluster: the identity it reaches (itself or a role), the
/// mapping that authenticates that identity, and what the mapping is granted (the reach
/// index's grants, shared by every way through the same mapping).
struct Way {
    cluster: String,
    reached: Reached,
    mapping: Mapping,
    grants: Arc<[MarkedGrant]>,
}

/// Every way `principal` has into the clusters of the analysed state, surest and shortest
/// first (the order `can-i` prefers). The one function that walks IAM: a per-state index of
/// who reaches each mapped identity would replace its body.
fn ways_in(side: &Side<'_>, principal: &Principal) -> Vec<Way> {
    // The routes' grants are the ones `grants_of` gives (`chain::marked` of `rbac::grants`).
    let mut ways: Vec<Way> = side
        .reach()
        .routes(principal, None)
        .into_iter()
        .map(|route| Way {
            grants: route.grants,
            reached: Reached {
                principal: route.principal,
                hops: route.hops,
                certainty: route.certainty,
            },
            cluster: route.cluster,
            mapping: route.mapping,
        })
        .collect();
    ways.sort_by_key(|way| (way.reached.certainty, way.reached.hops.len()));
    ways
}

/// The IAM principals of both states (by ARN), and what each gains and loses.
fn iam_impact(sides: &[Side<'_>; 2], items: &mut Vec<ImpactItem>) {
    let mut principals: BTreeMap<String, Principal> = BTreeMap::new();
    for side in sides.iter().rev() {
        for principal in chain::all_principals(side.state) {
            principals.entry(principal.arn.clone()).or_insert(principal);
        }
    }
    // With the same IAM on both sides, each principal reaches the same identities: they are
    // found once, and when no mapping grants anything else either, nobody's access differs.
    let same_iam = sides[0].state.iam == sides[1].state.iam
        && sides[0].state.partition == sides[1].state.partition
        && sides[0].state.account == sides[1].state.account;
    if same_iam && same_mappings(sides) {
        return;
    }
    for principal in principals.values() {
        let [before, after] = {
            [&sides[0], &sides[1]].map(|side| {
                // A principal only in the other state has no way in here.
                let known = match principal.kind {
                    PrincipalKind::User => side.state.iam.users.contains_key(&principal.name),
                    PrincipalKind::Role => side.state.iam.roles.contains_key(&principal.name),
                    PrincipalKind::External => true,
                };
                if known {
                    ways_in(side, principal)
                } else {
                    Vec::new()
                }
            })
        };
        if same_access(&before, &after) {
            continue;
        }
        let kind = match principal.kind {
            PrincipalKind::User => WhoKind::IamUser,
            PrincipalKind::Role => WhoKind::IamRole,
            PrincipalKind::External => WhoKind::IamExternal,
        };
        let clusters: BTreeSet<&String> = before
            .iter()
            .chain(&after)
            .map(|way| &way.cluster)
            .collect();
        for cluster in clusters {
            let (was, is) = (sources_in(&before, cluster), sources_in(&after, cluster));
            let who = Who {
                kind,
                name: principal.label(),
                cluster,
            };
            compare(&who, [&sides[0], &sides[1]], [&was, &is], items);
        }
    }
}

/// Whether every cluster maps the same identities (by the same mappings) to the same grants on
/// both sides.
fn same_mappings(sides: &[Side<'_>; 2]) -> bool {
    let of = |side: &Side<'_>| -> Vec<(String, Mapping, Rc<Vec<Grant>>)> {
        side.state
            .clusters
            .iter()
            .flat_map(|(name, cluster)| {
                chain::cluster_mappings(cluster).into_iter().map(|mapping| {
                    let grants = side.grants_of(name, &mapping);
                    (name.clone(), mapping, grants)
                })
            })
            .collect()
    };
    let (before, after) = (of(&sides[0]), of(&sides[1]));
    // A mapping that names no username gives each principal its own ARN (an account mapping,
    // an aws-auth entry without `username`): bindings naming that ARN are not in the grants
    // above, so a change of RBAC in its cluster may still matter.
    let defaulted = |(cluster, mapping, _): &(String, Mapping, Rc<Vec<Grant>>)| {
        (mapping.identity.username == mapping.arn || !mapping.arn.starts_with("arn:"))
            && !same_rbac(
                sides[0].state.clusters.get(cluster),
                sides[1].state.clusters.get(cluster),
            )
    };
    before == after && !before.iter().any(defaulted)
}

/// Whether two clusters (either missing) hold the same RBAC objects and service accounts.
fn same_rbac(before: Option<&Cluster>, after: Option<&Cluster>) -> bool {
    match (before, after) {
        (Some(before), Some(after)) => {
            before.cluster_roles == after.cluster_roles
                && before.roles == after.roles
                && before.cluster_role_bindings == after.cluster_role_bindings
                && before.role_bindings == after.role_bindings
                && before.service_accounts == after.service_accounts
        }
        (None, None) => true,
        _ => false,
    }
}

/// The grants of the ways into `cluster`, each with its way.
fn sources_in<'w>(ways: &'w [Way], cluster: &str) -> Vec<Source<'w>> {
    ways.iter()
        .filter(|way| way.cluster == cluster)
        .flat_map(|way| {
            way.grants.iter().map(move |marked| Source {
                grant: &marked.grant,
                way: Some(way),
            })
        })
        .collect()
}

/// Whether two lists of ways lead to the same grants in each cluster (with the same
/// certainty): then nothing can differ.
fn same_access(before: &[Way], after: &[Way]) -> bool {
    fn key(ways: &[Way]) -> BTreeSet<(&str, Certainty, Vec<&Grant>)> {
        ways.iter()
            .map(|way| {
                let grants = way.grants.iter().map(|marked| &marked.grant).collect();
                (way.cluster.as_str(), way.reached.certainty, grants)
            })
            .collect()
    }
    before.is_empty() && after.is_empty() || key(before) == key(after)
}

/// Who an item is about.
struct Who<'a> {
    kind: WhoKind,
    name: String,
    cluster: &'a str,
}

/// A grant that reaches someone, and the way it does (none for a Kubernetes subject).
struct Source<'w> {
    grant: &'w Grant,
    way: Option<&'w Way>,
}

/// One request a rule allows: a verb on a resource (or non-resource URL) in a scope.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Atom {
    /// `None`: cluster-wide.
    namespace: Option<String>,
    url: bool,
    verb: String,
    group: String,
    /// A resource (`pods`, `pods/log`, `*`) or a non-resource URL.
    resource: String,
    name: String,
}

impl Atom {
    /// The request `can-i` would be asked for this atom.
    fn request(&self) -> Request {
        let (resource, subresource) = match self.resource.split_once('/') {
            Some((resource, subresource)) if !self.url => (resource, subresource),
            _ => (self.resource.as_str(), ""),
        };
        Request {
            verb: self.verb.clone(),
            api_group: self.group.clone(),
            resource: resource.to_string(),
            subresource: subresource.to_string(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
        }
    }

    fn is_admin(&self) -> bool {
        self.namespace.is_none()
            && !self.url
            && self.verb == "*"
            && self.group == "*"
            && self.resource == "*"
            && self.name.is_empty()
    }
}

/// The atoms of a rule granted in `scope`. A namespaced grant's non-resource URLs allow
/// nothing (the authorizer asks them cluster-wide only).
fn atoms(scope: &Scope, rule: &PolicyRule) -> Vec<Atom> {
    let namespace = match scope {
        Scope::Cluster => None,
        Scope::Namespace(namespace) => Some(namespace.clone()),
    };
    let mut found = Vec::new();
    if !rule.non_resource_urls.is_empty() {
        if namespace.is_none() {
            for verb in &rule.verbs {
                for url in &rule.non_resource_urls {
                    found.push(Atom {
                        namespace: None,
                        url: true,
                        verb: verb.clone(),
                        group: String::new(),
                        resource: url.clone(),
                        name: String::new(),
                    });
                }
            }
        }
        return found;
    }
    let names: Vec<String> = if rule.resource_names.is_empty() {
        vec![String::new()]
    } else {
        rule.resource_names.iter().cloned().collect()
    };
    for verb in &rule.verbs {
        for group in &rule.api_groups {
            for resource in &rule.resources {
                for name in &names {
                    found.push(Atom {
                        namespace: namespace.clone(),
                        url: false,
                        verb: verb.clone(),
                        group: group.clone(),
                        resource: resource.clone(),
                        name: name.clone(),
                    });
                }
            }
        }
    }
    found
}

/// The requests an item's rule stands for, in its scope: each is allowed on one side of the
/// plan and not on the other (what `can-i` answers).
pub fn requests(item: &ImpactItem) -> Vec<Request> {
    let scope = match &item.namespace {
        Some(namespace) => Scope::Namespace(namespace.clone()),
        None => Scope::Cluster,
    };
    item.rule
        .iter()
        .flat_map(|rule| atoms(&scope, rule))
        .map(|atom| atom.request())
        .collect()
}

/// The atoms `sources` allow that `other` does not, each with the first source (surest,
/// shortest way first) that allows it.
fn difference<'s, 'w>(
    sources: &'s [Source<'w>],
    other: &[&Grant],
) -> BTreeMap<Atom, &'s Source<'w>> {
    let mut found: BTreeMap<Atom, &Source<'_>> = BTreeMap::new();
    // Each atom is asked once: many grants (one per way in) repeat the same rules.
    let mut asked: std::collections::HashSet<Atom> = std::collections::HashSet::new();
    for source in sources {
        if source.grant.unpublished {
            continue;
        }
        for rule in source.grant.rules.iter() {
            for atom in atoms(&source.grant.scope, rule) {
                if asked.contains(&atom) {
                    continue;
                }
                if rbac::allowing_in(other.iter().copied(), &atom.request()).is_none() {
                    found.insert(atom.clone(), source);
                }
                asked.insert(atom);
            }
        }
    }
    found
}

/// What every authenticated identity is granted in the cluster of `side`: the built-in (or
/// the state's) bindings of `system:authenticated`.
fn authenticated_grants(side: &Side<'_>, cluster: &str) -> Vec<Grant> {
    let identity = Identity {
        username: String::new(),
        groups: BTreeSet::new(),
    };
    side.grants(cluster, &identity, &BTreeMap::new())
}

/// Items for what `who` gains and loses in its cluster, given the grants reaching it before
/// (`sources[0]`) and after (`sources[1]`).
fn compare<'w>(
    who: &Who<'_>,
    sides: [&Side<'_>; 2],
    sources: [&[Source<'w>]; 2],
    items: &mut Vec<ImpactItem>,
) {
    let flat = |sources: &[Source<'w>]| -> Vec<&'w Grant> {
        sources.iter().map(|source| source.grant).collect()
    };
    let grants = [flat(sources[0]), flat(sources[1])];
    let iam = matches!(
        who.kind,
        WhoKind::IamUser | WhoKind::IamRole | WhoKind::IamExternal
    );
    for (direction, index) in [(Direction::Gains, 1), (Direction::Loses, 0)] {
        let mut found = difference(sources[index], &grants[1 - index]);
        if found.is_empty() {
            continue;
        }
        let side = sides[index];
        // Everything: one item, standing for the rest.
        if let Some((_, source)) = found.iter().find(|(atom, _)| atom.is_admin()) {
            let rule = PolicyRule {
                verbs: BTreeSet::from(["*".to_string()]),
                api_groups: BTreeSet::from(["*".to_string()]),
                resources: BTreeSet::from(["*".to_string()]),
                ..PolicyRule::default()
            };
            items.push(item(who, direction, side, source, None, Some(rule)));
            continue;
        }
        // Signing in: an IAM principal with no way into the cluster on the other side.
        if iam && sources[1 - index].is_empty() {
            let everyone = authenticated_grants(side, who.cluster);
            found.retain(|atom, _| rbac::allowing(&everyone, &atom.request()).is_none());
            if let Some(source) = sources[index].first() {
                items.push(item(who, direction, side, source, None, None));
            }
        }
        // The atoms of one source back together, as rules.
        let mut by_source: BTreeMap<(Option<String>, usize), Vec<Atom>> = BTreeMap::new();
        for (atom, source) in found {
            let position = sources[index]
                .iter()
                .position(|candidate| std::ptr::eq(candidate, source))
                .unwrap_or(0);
            by_source
                .entry((atom.namespace.clone(), position))
                .or_default()
                .push(atom);
        }
        for ((namespace, position), atoms) in by_source {
            let Some(source) = sources[index].get(position) else {
                continue;
            };
            for rule in rules(&atoms) {
                items.push(item(
                    who,
                    direction,
                    side,
                    source,
                    namespace.clone(),
                    Some(rule),
                ));
            }
        }
    }
}

/// Atoms (of one scope) put back together as rules: verbs per resource, then resources with
/// the same verbs, API groups with the same verbs and resources, names likewise. Every rule is
/// made only of the atoms given.
fn rules(atoms: &[Atom]) -> Vec<PolicyRule> {
    type Set = BTreeSet<String>;
    let (urls, resources): (Vec<&Atom>, Vec<&Atom>) = atoms.iter().partition(|atom| atom.url);
    let mut rules = Vec::new();
    // Non-resource URLs: verbs per URL, then URLs with the same verbs.
    let mut verbs_of: BTreeMap<&str, Set> = BTreeMap::new();
    for atom in &urls {
        verbs_of
            .entry(&atom.resource)
            .or_default()
            .insert(atom.verb.clone());
    }
    let mut urls_of: BTreeMap<Set, Set> = BTreeMap::new();
    for (url, verbs) in verbs_of {
        urls_of.entry(verbs).or_default().insert(url.to_string());
    }
    for (verbs, urls) in urls_of {
        rules.push(PolicyRule {
            verbs,
            non_resource_urls: urls,
            ..PolicyRule::default()
        });
    }
    let mut verbs: BTreeMap<(&str, &str, &str), Set> = BTreeMap::new();
    for atom in &resources {
        verbs
            .entry((&atom.group, &atom.resource, &atom.name))
            .or_default()
            .insert(atom.verb.clone());
    }
    let mut step: BTreeMap<(Set, &str, &str), Set> = BTreeMap::new();
    for ((group, resource, name), verbs) in verbs {
        step.entry((verbs, group, name))
            .or_default()
            .insert(resource.to_string());
    }
    let mut groups: BTreeMap<(Set, Set, &str), Set> = BTreeMap::new();
    for ((verbs, group, name), resources) in step {
        groups
            .entry((verbs, resources, name))
            .or_default()
            .insert(group.to_string());
    }
    let mut names: BTreeMap<(Set, Set, Set), Set> = BTreeMap::new();
    for ((verbs, resources, name), api_groups) in groups {
        let entry = names.entry((verbs, resources, api_groups)).or_default();
        if !name.is_empty() {
            entry.insert(name.to_string());
        }
    }
    for ((verbs, resources, api_groups), resource_names) in names {
        rules.push(PolicyRule {
            verbs,
            api_groups,
            resources,
            resource_names,
            ..PolicyRule::default()
        });
    }
    rules
}

/// One item: `rule` `None` with no namespace is signing in; the admin rule is an escalation.
fn item(
    who: &Who<'_>,
    direction: Direction,
    side: &Side<'_>,
    source: &Source<'_>,
    namespace: Option<String>,
    rule: Option<PolicyRule>,
) -> ImpactItem {
    let escalation = rule.as_ref().is_some_and(|rule| {
        namespace.is_none()
            && atoms(&Scope::Cluster, rule)
                .first()
                .is_some_and(Atom::is_admin)
    });
    let access = match &rule {
        None => SIGN_IN_ACCESS.to_string(),
        Some(_) if escalation => ADMIN_ACCESS.to_string(),
        Some(rule) => rbac::describe_rule(rule),
    };
    let cluster = side.state.clusters.get(who.cluster);
    let unmanaged = cluster
        .and_then(|cluster| chain::binding_of(cluster, source.grant))
        .is_some_and(|binding| !binding.meta.is_owned());
    let (via, possibly) = match source.way {
        Some(way) => {
            let grant = rule.is_some().then(|| source.grant.source.clone());
            let unmanaged = unmanaged
                || (grant.is_some()
                    && source.grant.source.starts_with("access policy ")
                    && way.mapping.unmanaged);
            let answer = Answer {
                cluster: way.cluster.clone(),
                certainty: way.reached.certainty,
                route: Some(chain::Route {
                    cluster: way.cluster.clone(),
                    principal: way.reached.principal.clone(),
                    hops: way.reached.hops.clone(),
                    mapping: way.mapping.clone(),
                    certainty: way.reached.certainty,
                    grants: Vec::new().into(),
                }),
                grant,
                grant_unmanaged: unmanaged,
                rule: None,
            };
            (
                who_can::describe_route(&answer),
                way.reached.certainty != Certainty::Yes,
            )
        }
        None => (chain::marked_source(&source.grant.source, unmanaged), false),
    };
    ImpactItem {
        escalation,
        direction,
        kind: who.kind,
        who: who.name.clone(),
        cluster: who.cluster.to_string(),
        namespace,
        access,
        rule,
        via,
        possibly,
    }
}

/// The Kubernetes subjects of the clusters whose RBAC differs: the users and groups bindings
/// name (what the bindings naming them grant, as `who-can` lists them), and the service
/// accounts (with their groups, as [`rbac::grants`] sees them).
fn kubernetes_impact(sides: &[Side<'_>; 2], items: &mut Vec<ImpactItem>) {
    let names: BTreeSet<&String> = sides
        .iter()
        .flat_map(|side| side.state.clusters.keys())
        .collect();
    let empty = Cluster::default();
    for name in names {
        let [before, after] =
            [&sides[0], &sides[1]].map(|side| side.state.clusters.get(name).unwrap_or(&empty));
        if same_rbac(Some(before), Some(after)) {
            continue;
        }
        let named = [named_subjects(before), named_subjects(after)];
        let subjects: BTreeSet<&(WhoKind, String)> =
            named.iter().flat_map(|found| found.keys()).collect();
        for subject in subjects {
            let [was, is] = [0, 1].map(|index| {
                named[index]
                    .get(subject)
                    .map(|grants| {
                        grants
                            .iter()
                            .map(|grant| Source { grant, way: None })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            });
            if same_grants(&was, &is) {
                continue;
            }
            let who = Who {
                kind: subject.0,
                name: subject.1.clone(),
                cluster: name,
            };
            compare(&who, [&sides[0], &sides[1]], [&was, &is], items);
        }
        let accounts: BTreeSet<(String, String)> = who_can::service_accounts(before)
            .into_iter()
            .chain(who_can::service_accounts(after))
            .collect();
        for (namespace, account) in accounts {
            let identity = rbac::service_account_identity(&namespace, &account);
            // A side without the cluster asks the empty one (the built-in bindings), as
            // `named_subjects` does.
            let granted = [&sides[0], &sides[1]].map(|side| {
                if side.state.clusters.contains_key(name) {
                    side.grants(name, &identity, &BTreeMap::new())
                } else {
                    rbac::grants(&empty, &identity, &BTreeMap::new())
                }
            });
            let [was, is] = [0, 1].map(|index| {
                granted[index]
                    .iter()
                    .map(|grant| Source { grant, way: None })
                    .collect::<Vec<_>>()
            });
            if same_grants(&was, &is) {
                continue;
            }
            let who = Who {
                kind: WhoKind::ServiceAccount,
                name: identity.username.clone(),
                cluster: name,
            };
            compare(&who, [&sides[0], &sides[1]], [&was, &is], items);
        }
    }
}

fn same_grants(before: &[Source<'_>], after: &[Source<'_>]) -> bool {
    before.len() == after.len()
        && before
            .iter()
            .zip(after)
            .all(|(was, is)| was.grant == is.grant)
}

/// The grants of each user and group the cluster's bindings (its own and the built-in ones
/// it does not hold) name, binding by binding.
fn named_subjects(cluster: &Cluster) -> BTreeMap<(WhoKind, String), Vec<Grant>> {
    let mut named: BTreeMap<(WhoKind, String), Vec<Grant>> = BTreeMap::new();
    for (namespace, name, binding) in rbac::bindings(cluster).chain(rbac::builtin_bindings(cluster))
    {
        let mut grant = None;
        for subject in &binding.subjects {
            let kind = match subject.kind {
                SubjectKind::User => WhoKind::KubernetesUser,
                SubjectKind::Group => WhoKind::KubernetesGroup,
                SubjectKind::ServiceAccount => continue,
            };
            let grant =
                grant.get_or_insert_with(|| rbac::binding_grant(cluster, namespace, name, binding));
            named
                .entry((kind, subject.name.clone()))
                .or_default()
                .push(grant.clone());
        }
    }
    for grants in named.values_mut() {
        grants.sort();
    }
    named
}

#[cfg(test)]
mod tests;
