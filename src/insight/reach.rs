//! Who reaches what, indexed once per state: the answers of `who-can`, `can-i` and `explain`
//! (and a plan's access impact) without redoing the chain for every principal.
//!
//! The chain from an IAM principal into a cluster ([`chain`]) is a breadth-first search through
//! role assumptions (at most [`MAX_HOPS`]), then the mappings of each identity reached, then the
//! grants of each mapping. Asked for every principal of a large account, the forward search
//! evaluates the trust of every role for every principal reached, and the grants of a mapped
//! identity once for every principal that reaches it. A [`Reach`] instead works out once:
//! - per cluster, the mappings of every principal of the state ([`chain::all_principals`]) and
//!   the grants of each distinct mapped identity;
//! - backwards from the mapped identities, depth by depth up to [`MAX_HOPS`], who can assume
//!   each role that leads to one ([`Analysis::can_assume`] asked only for those roles, and only
//!   of the principals whose policies may allow it: [`Analysis::assume_candidates`]).
//!
//! A question then searches forward from each principal as [`chain::reachable`] does, but only
//! through the roles that lead to a mapped identity (for `who-can`: to one whose grants allow
//! the request) within the hops left. Dropping the other roles changes nothing the answers hold:
//! every role on a shortest chain to a mapped identity, and every role that could be assumed on
//! the way to it at the same depth, leads to it within the hops left, so the search finds the
//! same chains, in the same order, with the same certainties and tie-breaks
//! (`reach::tests` checks it against the unpruned forward search on generated states). No I/O.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::chain::{self, Answer, Certainty, MAX_HOPS, Mapping, MarkedGrant, Reached, Route};
use super::iam_eval::{Analysis, Principal, PrincipalKind, RoleSet};
use super::rbac::{self, Request};
use crate::model::{Cluster, PolicyRule, State};

// ---- the search ----

/// A node of a search: the start, or a role reached from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Node {
    /// The role by index in the state's order; `None` for a start that is no role of the state.
    pub role: Option<usize>,
    /// Hops from the start.
    pub depth: usize,
    /// Of the whole chain to it.
    pub certainty: Certainty,
    /// The node it is assumed from (by index in the search), and the certainty of that hop.
    pub parent: usize,
    pub hop: Certainty,
}

/// What a search asks of each node it reaches: `(index, node, out)`.
pub(crate) type Edges<'e> = dyn FnMut(usize, &Node, &mut Vec<(usize, Certainty)>) + 'e;

/// Breadth first from `start` (node 0), at most [`MAX_HOPS`] hops: `edges(index, node, out)`
/// puts into `out` the roles node `index` may (possibly) assume and that are worth following,
/// with each hop's certainty, in the state's role order. Each role is reached once, by its shortest chain; among the
/// shortest, the surest; among those, the first found. Nodes are in the order found.
pub(crate) fn search(
    analysis: &Analysis<'_>,
    start: &Principal,
    edges: &mut Edges<'_>,
) -> Vec<Node> {
    let start_role = analysis.role_index(&start.arn);
    let mut tree = vec![Node {
        role: start_role,
        depth: 0,
        certainty: Certainty::Yes,
        parent: 0,
        hop: Certainty::Yes,
    }];
    // The node of each role found, by role index.
    let mut seen = vec![usize::MAX; analysis.role_count()];
    if let Some(role) = start_role {
        seen[role] = 0;
    }
    let mut buffer = Vec::new();
    let mut index = 0;
    while let Some(&current) = tree.get(index) {
        if current.depth < MAX_HOPS {
            buffer.clear();
            edges(index, &current, &mut buffer);
            for &(role, hop) in &buffer {
                if hop == Certainty::No {
                    continue;
                }
                let total = current.certainty.and(hop);
                let Some(known) = seen.get_mut(role) else {
                    continue;
                };
                if *known != usize::MAX {
                    // Breadth first: a later find is never shorter; take it only when surer.
                    let existing = &mut tree[*known];
                    if *known != 0
                        && total < existing.certainty
                        && existing.depth == current.depth + 1
                    {
                        existing.certainty = total;
                        existing.parent = index;
                        existing.hop = hop;
                    }
                    continue;
                }
                *known = tree.len();
                tree.push(Node {
                    role: Some(role),
                    depth: current.depth + 1,
                    certainty: total,
                    parent: index,
                    hop,
                });
            }
        }
        index += 1;
    }
    tree
}

/// Node `index` of a search as a [`Reached`]: its principal and the hops from the start, each
/// with [`Analysis::can_assume`]'s reason.
pub(crate) fn reached(
    analysis: &Analysis<'_>,
    start: &Principal,
    tree: &[Node],
    index: usize,
) -> Reached {
    let state = analysis.state();
    let mut path = vec![index];
    let mut at = index;
    while at != 0 {
        at = tree[at].parent;
        path.push(at);
    }
    path.reverse();
    let mut principal = start.clone();
    let mut hops = Vec::with_capacity(path.len().saturating_sub(1));
    for &step in &path[1..] {
        let node = tree[step];
        let Some(role) = node
            .role
            .and_then(|role| analysis.role_name(role))
            .and_then(|name| Principal::role(state, name))
        else {
            break;
        };
        let decision = analysis.can_assume(&principal, &role.name);
        hops.push(chain::hop(&principal, &role, node.hop, &decision));
        principal = role;
    }
    Reached {
        principal,
        hops,
        certainty: tree[index].certainty,
    }
}

/// Every node of a search as a [`Reached`], in order.
pub(crate) fn materialize(
    analysis: &Analysis<'_>,
    start: &Principal,
    tree: &[Node],
) -> Vec<Reached> {
    (0..tree.len())
        .map(|index| reached(analysis, start, tree, index))
        .collect()
}

// ---- the index ----

/// How many hops a principal is from what is looked for; `UNREACHED` beyond [`MAX_HOPS`].
type Distance = u8;
const UNREACHED: Distance = Distance::MAX;

/// The index of one state: see the module documentation.
pub struct Reach<'s> {
    analysis: Analysis<'s>,
    /// [`chain::all_principals`], in its order.
    principals: Vec<Principal>,
    /// Principal index by (kind, name, ARN).
    by_identity: HashMap<(PrincipalKind, String, String), usize>,
    /// The principal index of each role, by role index.
    role_principal: Vec<usize>,
    /// Per principal index: the roles it may (possibly) assume that lead to a mapped identity
    /// within [`MAX_HOPS`] (by role index, in order), with the hop's certainty.
    outgoing: Vec<Vec<(usize, Certainty)>>,
    /// Per role index: who may (possibly) assume it (principal index, certainty); `None` for a
    /// role that leads to no mapped identity within [`MAX_HOPS`] (never asked).
    incoming: Vec<Option<Vec<(usize, Certainty)>>>,
    clusters: Vec<ClusterReach<'s>>,
    /// How far each principal is from a mapped identity of any cluster, found at the first
    /// question about every cluster.
    every_cluster: std::sync::OnceLock<Vec<Distance>>,
}

/// One cluster of the index.
struct ClusterReach<'s> {
    name: &'s str,
    cluster: &'s Cluster,
    /// Per principal index: its mappings, as [`chain::mappings`] gives them, each with the index
    /// of its grants in `grants`.
    mapped: Vec<Vec<(Mapping, usize)>>,
    /// The grants of each distinct (identity, access policies, managed or not).
    grants: Vec<Arc<[MarkedGrant]>>,
}

/// What a question looks for in one cluster: per grants index, the first grant (by index) and
/// rule that allow the request.
type Allowing<'r> = Vec<Option<(usize, &'r PolicyRule)>>;

impl<'s> Reach<'s> {
    pub fn new(state: &'s State) -> Self {
        let analysis = Analysis::new(state);
        let principals = chain::all_principals(state);
        let by_identity = principals
            .iter()
            .enumerate()
            .map(|(index, principal)| {
                (
                    (
                        principal.kind,
                        principal.name.clone(),
                        principal.arn.clone(),
                    ),
                    index,
                )
            })
            .collect::<HashMap<_, _>>();
        let role_principal = (0..analysis.role_count())
            .map(|role| {
                analysis
                    .role_name(role)
                    .and_then(|name| Principal::role(state, name))
                    .and_then(|principal| {
                        by_identity
                            .get(&(principal.kind, principal.name, principal.arn))
                            .copied()
                    })
                    .unwrap_or(usize::MAX)
            })
            .collect();
        let clusters = state
            .clusters
            .iter()
            .map(|(name, cluster)| ClusterReach::new(name, cluster, &principals))
            .collect::<Vec<_>>();
        let mut reach = Reach {
            analysis,
            principals,
            by_identity,
            role_principal,
            outgoing: Vec::new(),
            incoming: Vec::new(),
            clusters,
            every_cluster: std::sync::OnceLock::new(),
        };
        reach.link();
        reach
    }

    pub fn analysis(&self) -> &Analysis<'s> {
        &self.analysis
    }

    pub fn state(&self) -> &'s State {
        self.analysis.state()
    }

    /// Every principal worth asking about ([`chain::all_principals`]).
    pub fn principals(&self) -> &[Principal] {
        &self.principals
    }

    /// Works out, backwards from every mapped identity, who may assume each role that leads
    /// to one, and from that each principal's way forward.
    fn link(&mut self) {
        let roles = self.analysis.role_count();
        let count = self.principals.len();
        let mapped: Vec<bool> = (0..count)
            .map(|index| {
                self.clusters
                    .iter()
                    .any(|cluster| !cluster.mapped[index].is_empty())
            })
            .collect();
        let candidates: Vec<RoleSet> = self
            .principals
            .iter()
            .map(|principal| self.analysis.assume_candidates(principal))
            .collect();
        let mut incoming: Vec<Option<Vec<(usize, Certainty)>>> = vec![None; roles];
        let mut reached = mapped;
        let mut frontier: Vec<usize> = (0..roles)
            .filter(|&role| {
                self.principal_of_role(role)
                    .is_some_and(|index| reached[index])
            })
            .collect();
        // A role at distance `depth` is assumed from depth `depth + 1`: asked up to MAX_HOPS.
        for _ in 0..MAX_HOPS {
            let mut next = Vec::new();
            for &role in &frontier {
                let Some(name) = self.analysis.role_name(role) else {
                    continue;
                };
                let mut from = Vec::new();
                for (index, principal) in self.principals.iter().enumerate() {
                    if !candidates[index].contains(role) {
                        continue;
                    }
                    let certainty = Certainty::of(&self.analysis.can_assume(principal, name));
                    if certainty == Certainty::No {
                        continue;
                    }
                    from.push((index, certainty));
                    if !reached[index] {
                        reached[index] = true;
                        if self.principals[index].kind == PrincipalKind::Role
                            && let Some(role) =
                                self.analysis.role_index(&self.principals[index].arn)
                        {
                            next.push(role);
                        }
                    }
                }
                incoming[role] = Some(from);
            }
            next.sort_unstable();
            frontier = next;
        }
        let mut outgoing = vec![Vec::new(); count];
        for (role, from) in incoming.iter().enumerate() {
            for &(index, certainty) in from.iter().flatten() {
                outgoing[index].push((role, certainty));
            }
        }
        self.incoming = incoming;
        self.outgoing = outgoing;
    }

    fn principal_of_role(&self, role: usize) -> Option<usize> {
        self.role_principal
            .get(role)
            .copied()
            .filter(|&index| index != usize::MAX)
    }

    fn index_of(&self, principal: &Principal) -> Option<usize> {
        self.by_identity
            .get(&(
                principal.kind,
                principal.name.clone(),
                principal.arn.clone(),
            ))
            .copied()
    }

    /// Distances of every principal from the `targets` (principal indices), backwards through
    /// the roles that lead to a mapped identity.
    fn distances(&self, targets: impl IntoIterator<Item = usize>) -> Vec<Distance> {
        let mut distance = vec![UNREACHED; self.principals.len()];
        let mut frontier = Vec::new();
        for index in targets {
            if distance[index] == UNREACHED {
                distance[index] = 0;
                frontier.push(index);
            }
        }
        for depth in 1..=MAX_HOPS {
            let mut next = Vec::new();
            for &index in &frontier {
                let principal = &self.principals[index];
                if principal.kind != PrincipalKind::Role {
                    continue;
                }
                let Some(role) = self.analysis.role_index(&principal.arn) else {
                    continue;
                };
                for &(from, _) in self.incoming[role].iter().flatten() {
                    if distance[from] == UNREACHED {
                        distance[from] = Distance::try_from(depth).unwrap_or(UNREACHED);
                        next.push(from);
                    }
                }
            }
            frontier = next;
        }
        distance
    }

    /// The roles `start` may (possibly) assume that lead to a mapped identity: from the index
    /// for a principal of it, else asked now.
    fn start_edges(&self, start: &Principal, distance: &[Distance]) -> Vec<(usize, Certainty)> {
        if let Some(index) = self.index_of(start) {
            return self.outgoing[index].clone();
        }
        let candidates = self.analysis.assume_candidates(start);
        (0..self.analysis.role_count())
            .filter(|&role| candidates.contains(role))
            .filter(|&role| {
                self.principal_of_role(role)
                    .is_some_and(|index| usize::from(distance[index]) < MAX_HOPS)
            })
            .filter_map(|role| {
                let name = self.analysis.role_name(role)?;
                let certainty = Certainty::of(&self.analysis.can_assume(start, name));
                (certainty != Certainty::No).then_some((role, certainty))
            })
            .collect()
    }

    /// The forward search from `start` through the roles within reach of what `distance`
    /// measures from: a role found at depth `d` is followed only when it is at most
    /// `MAX_HOPS - d` hops from it.
    fn search(&self, start: &Principal, distance: &[Distance]) -> Vec<Node> {
        let first = self.start_edges(start, distance);
        let within = |role: usize, depth: usize| {
            self.principal_of_role(role)
                .is_some_and(|index| usize::from(distance[index]) + depth <= MAX_HOPS)
        };
        search(&self.analysis, start, &mut |index, node, out| {
            let from: &[(usize, Certainty)] = if index == 0 {
                &first
            } else {
                match node.role.and_then(|role| self.principal_of_role(role)) {
                    Some(principal) => &self.outgoing[principal],
                    None => &[],
                }
            };
            out.extend(
                from.iter()
                    .copied()
                    .filter(|&(role, _)| within(role, node.depth + 1)),
            );
        })
    }
}

/// The mappings of the start in each cluster when it is no principal of the index, with
/// their grants.
type OwnMappings = Vec<Vec<(Mapping, Arc<[MarkedGrant]>)>>;

impl<'s> Reach<'s> {
    /// The clusters asked: every one, or just `only`.
    fn asked<'a>(
        &'a self,
        only: Option<&'a str>,
    ) -> impl Iterator<Item = &'a ClusterReach<'s>> + 'a {
        self.clusters
            .iter()
            .filter(move |cluster| only.is_none_or(|wanted| wanted == cluster.name))
    }

    /// The start's mappings when the index does not hold it (by cluster, as `self.clusters`).
    fn own_mappings(&self, start: &Principal, start_index: Option<usize>) -> OwnMappings {
        if start_index.is_some() {
            return Vec::new();
        }
        self.clusters
            .iter()
            .map(|cluster| {
                chain::mappings(cluster.cluster, start)
                    .into_iter()
                    .map(|mapping| {
                        let grants = rbac::grants(
                            cluster.cluster,
                            &mapping.identity,
                            &mapping.access_policies,
                        );
                        let grants = chain::marked(cluster.cluster, &mapping, grants).into();
                        (mapping, grants)
                    })
                    .collect()
            })
            .collect()
    }

    /// The mappings of search node `index` in cluster `which` (by index in `self.clusters`),
    /// each with its grants.
    fn node_mappings<'a>(
        &'a self,
        which: usize,
        tree: &[Node],
        index: usize,
        start_index: Option<usize>,
        own: &'a OwnMappings,
    ) -> Vec<(&'a Mapping, &'a Arc<[MarkedGrant]>)> {
        let cluster = &self.clusters[which];
        let principal = if index == 0 {
            start_index
        } else {
            tree[index]
                .role
                .and_then(|role| self.principal_of_role(role))
        };
        match principal {
            Some(principal) => cluster.mapped[principal]
                .iter()
                .map(|(mapping, grants)| (mapping, &cluster.grants[*grants]))
                .collect(),
            None if index == 0 => own
                .get(which)
                .into_iter()
                .flatten()
                .map(|(mapping, grants)| (mapping, grants))
                .collect(),
            None => Vec::new(),
        }
    }

    /// The principal indices mapped into a cluster asked.
    fn mapped_in(&self, only: Option<&str>) -> Vec<usize> {
        (0..self.principals.len())
            .filter(|&index| {
                self.asked(only)
                    .any(|cluster| !cluster.mapped[index].is_empty())
            })
            .collect()
    }

    /// The roles `start` can (possibly) assume that lead to a mapped identity of a cluster
    /// asked, and every route into those clusters: what [`chain::routes`] gives.
    pub fn routes(&self, start: &Principal, only: Option<&str>) -> Vec<Route> {
        let distance = match only {
            // Every principal's routes into every cluster (a plan's access impact) share one.
            None => std::borrow::Cow::Borrowed(
                self.every_cluster
                    .get_or_init(|| self.distances(self.mapped_in(None)))
                    .as_slice(),
            ),
            Some(_) => std::borrow::Cow::Owned(self.distances(self.mapped_in(only))),
        };
        let tree = self.search(start, &distance);
        let start_index = self.index_of(start);
        let own = self.own_mappings(start, start_index);
        let mut reached: Vec<Option<Reached>> = vec![None; tree.len()];
        let mut routes = Vec::new();
        for (which, cluster) in self.clusters.iter().enumerate() {
            if only.is_some_and(|wanted| wanted != cluster.name) {
                continue;
            }
            for (index, found) in reached.iter_mut().enumerate() {
                for (mapping, grants) in self.node_mappings(which, &tree, index, start_index, &own)
                {
                    let found = found
                        .get_or_insert_with(|| self::reached(&self.analysis, start, &tree, index));
                    routes.push(Route {
                        cluster: cluster.name.to_string(),
                        principal: found.principal.clone(),
                        hops: found.hops.clone(),
                        mapping: mapping.clone(),
                        certainty: found.certainty,
                        grants: Arc::clone(grants),
                    });
                }
            }
        }
        routes
    }

    /// Every principal of the index with its routes (what a plan's access impact compares).
    pub fn all_routes(&self, only: Option<&str>) -> Vec<(&Principal, Vec<Route>)> {
        self.principals
            .iter()
            .map(|principal| (principal, self.routes(principal, only)))
            .collect()
    }

    /// Per cluster asked, may `start` make the request: what [`chain::can`] gives.
    pub fn can(&self, start: &Principal, request: &Request, only: Option<&str>) -> Vec<Answer> {
        let allowing = self.allowing(request, only);
        let distance = self.distances(self.allowed_in(&allowing));
        self.answers(start, request, &allowing, &distance, false)
    }

    /// Per cluster asked, the grants index of each cluster that allow the request.
    fn allowing<'a>(&'a self, request: &Request, only: Option<&str>) -> Vec<(usize, Allowing<'a>)> {
        self.clusters
            .iter()
            .enumerate()
            .filter(|(_, cluster)| only.is_none_or(|wanted| wanted == cluster.name))
            .map(|(which, cluster)| (which, cluster.allowing(request)))
            .collect()
    }

    /// The principal indices with a mapping that allows the request in a cluster asked.
    fn allowed_in(&self, allowing: &[(usize, Allowing<'_>)]) -> Vec<usize> {
        (0..self.principals.len())
            .filter(|&index| {
                allowing.iter().any(|(which, allows)| {
                    self.clusters[*which].mapped[index]
                        .iter()
                        .any(|(_, grants)| allows[*grants].is_some())
                })
            })
            .collect()
    }

    /// Everyone who can (possibly) make the request, per cluster asked: (principal index,
    /// answer), by principal index then cluster.
    pub fn who_can(&self, request: &Request, only: Option<&str>) -> Vec<(usize, Answer)> {
        let allowing = self.allowing(request, only);
        let distance = self.distances(self.allowed_in(&allowing));
        let mut found = Vec::new();
        for (index, principal) in self.principals.iter().enumerate() {
            if usize::from(distance[index]) > MAX_HOPS {
                continue;
            }
            found.extend(
                self.answers(principal, request, &allowing, &distance, true)
                    .into_iter()
                    .map(|answer| (index, answer)),
            );
        }
        found
    }

    /// The best answer of `start` in each cluster of `allowing` (`skip_no`: leave out the
    /// clusters where it cannot).
    fn answers(
        &self,
        start: &Principal,
        request: &Request,
        allowing: &[(usize, Allowing<'_>)],
        distance: &[Distance],
        skip_no: bool,
    ) -> Vec<Answer> {
        let tree = self.search(start, distance);
        let start_index = self.index_of(start);
        let own = self.own_mappings(start, start_index);
        let mut answers = Vec::new();
        for (which, allows) in allowing {
            let cluster = &self.clusters[*which];
            // (certainty, depth), node, mapping and grants, grant, rule.
            type Best<'a> = (
                (Certainty, usize),
                usize,
                &'a Mapping,
                &'a Arc<[MarkedGrant]>,
                usize,
                &'a PolicyRule,
            );
            let mut best: Option<Best<'_>> = None;
            for (index, node) in tree.iter().enumerate() {
                let principal = if index == 0 {
                    start_index
                } else {
                    node.role.and_then(|role| self.principal_of_role(role))
                };
                let candidate = (node.certainty, node.depth);
                if !chain::better(candidate, best.map(|best| best.0)) {
                    continue;
                }
                let found = match principal {
                    Some(principal) => {
                        cluster.mapped[principal]
                            .iter()
                            .find_map(|(mapping, grants)| {
                                allows[*grants].map(|(grant, rule)| {
                                    (mapping, &cluster.grants[*grants], grant, rule)
                                })
                            })
                    }
                    None if index == 0 => {
                        own.get(*which)
                            .into_iter()
                            .flatten()
                            .find_map(|(mapping, grants)| {
                                chain::first_allowing(grants, request)
                                    .map(|(grant, rule)| (mapping, grants, grant, rule))
                            })
                    }
                    None => None,
                };
                if let Some((mapping, grants, grant, rule)) = found {
                    best = Some((candidate, index, mapping, grants, grant, rule));
                }
            }
            match best {
                Some((_, index, mapping, grants, grant, rule)) => {
                    let found = reached(&self.analysis, start, &tree, index);
                    let route = Route {
                        cluster: cluster.name.to_string(),
                        principal: found.principal,
                        hops: found.hops,
                        mapping: mapping.clone(),
                        certainty: found.certainty,
                        grants: Arc::clone(grants),
                    };
                    answers.push(chain::allowed(route, &grants[grant], rule));
                }
                None if !skip_no => answers.push(chain::no_answer(cluster.name)),
                None => {}
            }
        }
        answers
    }
}

/// What the grants of a mapping depend on: its identity, its access policies, and whether it
/// is accessctl's (for the marks of the access policies' grants).
type GrantsKey = (
    rbac::Identity,
    BTreeMap<String, crate::model::AccessScope>,
    bool,
);

/// An IAM ARN without its path (how aws-auth and access entries match a principal).
fn principal_key(arn: &str) -> Option<String> {
    crate::model::IamArn::principal_key(arn)
}

impl<'s> ClusterReach<'s> {
    fn new(name: &'s str, cluster: &'s Cluster, principals: &[Principal]) -> Self {
        // Which principals an entry may name: by its ARN, by its ARN without the path, or
        // (`mapAccounts`) by account; each then asked as `chain::mappings` asks it.
        let mut by_arn: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_account: HashMap<&str, Vec<usize>> = HashMap::new();
        for (index, principal) in principals.iter().enumerate() {
            by_arn.entry(&principal.arn).or_default().push(index);
            if let Some(key) = principal_key(&principal.arn) {
                by_key.entry(key).or_default().push(index);
            }
            by_account
                .entry(principal.account())
                .or_default()
                .push(index);
        }
        let mut mapped: Vec<Vec<(Mapping, usize)>> = vec![Vec::new(); principals.len()];
        let mut memo: BTreeMap<GrantsKey, usize> = BTreeMap::new();
        let mut grants: Vec<Arc<[MarkedGrant]>> = Vec::new();
        let indexed = rbac::ClusterGrants::new(cluster);
        for entry in chain::map_entries(cluster) {
            let arn = entry.arn();
            let mut named: Vec<usize> = by_arn.get(arn).into_iter().flatten().copied().collect();
            if let Some(key) = principal_key(arn) {
                named.extend(by_key.get(&key).into_iter().flatten());
            }
            named.extend(by_account.get(arn).into_iter().flatten());
            named.sort_unstable();
            named.dedup();
            for index in named {
                let principal = &principals[index];
                if !entry.maps(principal) {
                    continue;
                }
                let mapping = entry.mapping(&principal.arn);
                let key = (
                    mapping.identity.clone(),
                    mapping.access_policies.clone(),
                    mapping.unmanaged,
                );
                let found = *memo.entry(key).or_insert_with(|| {
                    let granted = indexed.grants(&mapping.identity, &mapping.access_policies);
                    grants.push(chain::marked(cluster, &mapping, granted).into());
                    grants.len() - 1
                });
                mapped[index].push((mapping, found));
            }
        }
        ClusterReach {
            name,
            cluster,
            mapped,
            grants,
        }
    }

    fn allowing<'r>(&'r self, request: &Request) -> Allowing<'r> {
        self.grants
            .iter()
            .map(|grants| chain::first_allowing(grants, request))
            .collect()
    }
}

#[cfg(test)]
mod tests;
