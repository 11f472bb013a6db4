//! `explain`: every route by which one IAM principal reaches each cluster, and what each route
//! lets it do namespace by namespace, as data (JSON) and as text. No I/O.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::chain::{self, Certainty, Route};
use super::iam_eval::{Analysis, Principal};
use super::rbac::{self, Scope};
use crate::model::State;

/// The explanation of one principal.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    pub principal: Principal,
    /// Roles it can (possibly) assume, each by its shortest chain.
    pub assumable_roles: Vec<chain::Reached>,
    /// By cluster name; clusters it does not reach are listed with no routes.
    pub clusters: BTreeMap<String, Vec<Route>>,
}

pub fn explain(state: &State, principal: &Principal, only: Option<&str>) -> Explanation {
    // One principal: its own search is cheaper than an index of every principal
    // (`reach::Reach::routes` gives the same routes).
    let analysis = Analysis::new(state);
    let assumable_roles = chain::reachable(&analysis, principal)
        .into_iter()
        .skip(1)
        .collect();
    let mut clusters: BTreeMap<String, Vec<Route>> = state
        .clusters
        .keys()
        .filter(|name| only.is_none_or(|wanted| wanted == name.as_str()))
        .map(|name| (name.clone(), Vec::new()))
        .collect();
    for route in chain::routes(&analysis, principal, only) {
        clusters
            .entry(route.cluster.clone())
            .or_default()
            .push(route);
    }
    Explanation {
        principal: principal.clone(),
        assumable_roles,
        clusters,
    }
}

/// The text form: one block per cluster, one per route, grants grouped by scope.
pub fn render_text(explanation: &Explanation) -> String {
    let mut out = String::new();
    let principal = &explanation.principal;
    let _ = writeln!(
        out,
        "{}{} ({})",
        principal.label(),
        chain::mark(principal.unmanaged),
        principal.arn
    );
    if explanation.assumable_roles.is_empty() {
        let _ = writeln!(out, "  assumes no role");
    } else {
        let _ = writeln!(out, "  can assume:");
        for reached in &explanation.assumable_roles {
            let _ = writeln!(
                out,
                "    {}{} [{}]",
                reached.principal.label(),
                chain::mark(reached.principal.unmanaged),
                reached.certainty.as_str()
            );
            for hop in &reached.hops {
                let _ = writeln!(
                    out,
                    "      {} → role/{}: {}",
                    hop.from, hop.role, hop.reason
                );
            }
        }
    }
    for (cluster, routes) in &explanation.clusters {
        let _ = writeln!(out);
        let _ = writeln!(out, "cluster {cluster}");
        if routes.is_empty() {
            let _ = writeln!(
                out,
                "  no route: no mapping for it or any role it can assume"
            );
            continue;
        }
        for route in routes {
            render_route(&mut out, route);
        }
    }
    out
}

fn render_route(out: &mut String, route: &Route) {
    let mut chain = vec![match route.hops.first() {
        Some(hop) => hop.from.clone(),
        None => route.principal.label(),
    }];
    chain.extend(
        route
            .hops
            .iter()
            .map(|hop| format!("role/{}{}", hop.role, chain::mark(hop.unmanaged))),
    );
    let _ = writeln!(
        out,
        "  route [{}]: {} → {} {}{}",
        route.certainty.as_str(),
        chain.join(" → "),
        route.mapping.via,
        route.mapping.arn,
        chain::mark(route.mapping.unmanaged)
    );
    for hop in &route.hops {
        if hop.certainty != Certainty::Yes {
            let _ = writeln!(out, "    assume role/{}: {}", hop.role, hop.reason);
        }
    }
    // As the authorizer sees them: `system:authenticated` last, when the API server adds it.
    let identity = &route.mapping.identity;
    let mut groups: Vec<&str> = identity.groups.iter().map(String::as_str).collect();
    if identity.is_authenticated() && !identity.groups.contains(rbac::AUTHENTICATED_GROUP) {
        groups.push(rbac::AUTHENTICATED_GROUP);
    }
    let _ = writeln!(
        out,
        "    kubernetes user {}, groups {}",
        route.mapping.identity.username,
        groups.join(", ")
    );
    if route.grants.is_empty() {
        let _ = writeln!(out, "    no binding or access policy grants anything");
        return;
    }
    let mut by_scope: BTreeMap<&Scope, Vec<&chain::MarkedGrant>> = BTreeMap::new();
    for marked in route.grants.iter() {
        by_scope
            .entry(&marked.grant.scope)
            .or_default()
            .push(marked);
    }
    for (scope, grants) in by_scope {
        let heading = match scope {
            Scope::Cluster => {
                "cluster-wide (every namespace and cluster-scoped resources)".to_string()
            }
            Scope::Namespace(namespace) => format!("namespace {namespace}"),
        };
        let _ = writeln!(out, "    {heading}:");
        for marked in grants {
            let grant = &marked.grant;
            let note = if grant.unpublished {
                " (AWS does not publish its rules)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "      via {}{note}",
                chain::marked_source(&grant.source, marked.unmanaged)
            );
            if grant.rules.is_empty() {
                let _ = writeln!(out, "        no rules known");
            }
            for rule in grant.rules.iter() {
                let _ = writeln!(out, "        {}", rbac::describe_rule(rule));
            }
        }
    }
}
