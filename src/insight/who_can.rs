//! `who-can` and `can-i`: answers to one request, for every IAM principal of the state or for
//! one, each with the shortest route as evidence; as data and as text. No I/O.

use std::fmt::Write;

use serde::Serialize;

use super::chain::{self, Answer, Certainty};
use super::iam_eval::{Analysis, Principal};
use super::rbac::Request;
use crate::model::State;

/// One principal that can (possibly) do it, in one cluster.
#[derive(Clone, Debug, Serialize)]
pub struct Holder {
    pub principal: Principal,
    #[serde(flatten)]
    pub answer: Answer,
}

/// Everyone who can (possibly) make the request: sure answers first, then by cluster and
/// principal.
pub fn who_can(state: &State, request: &Request, only: Option<&str>) -> Vec<Holder> {
    let analysis = Analysis::new(state);
    let mut holders: Vec<Holder> = chain::all_principals(state)
        .into_iter()
        .flat_map(|principal| {
            chain::can(&analysis, &principal, request, only)
                .into_iter()
                .filter(|answer| answer.certainty != Certainty::No)
                .map(move |answer| Holder {
                    principal: principal.clone(),
                    answer,
                })
        })
        .collect();
    holders.sort_by(|a, b| {
        (a.answer.certainty, &a.answer.cluster, &a.principal).cmp(&(
            b.answer.certainty,
            &b.answer.cluster,
            &b.principal,
        ))
    });
    holders
}

/// The route of an answer on one line: `user/manager → role/eks-admin → aws-auth mapRoles
/// (eks-admin; system:masters)`.
pub fn describe_route(answer: &Answer) -> String {
    let Some(route) = &answer.route else {
        return "no route".to_string();
    };
    let mut parts = vec![match route.hops.first() {
        Some(hop) => hop.from.clone(),
        None => route.principal.label(),
    }];
    parts.extend(route.hops.iter().map(|hop| format!("role/{}", hop.role)));
    let identity = &route.mapping.identity;
    let groups: Vec<&str> = identity.groups.iter().map(String::as_str).collect();
    parts.push(format!(
        "{} (user {}{})",
        route.mapping.via,
        identity.username,
        if groups.is_empty() {
            String::new()
        } else {
            format!(", groups {}", groups.join(", "))
        }
    ));
    if let Some(grant) = &answer.grant {
        parts.push(grant.clone());
    }
    parts.join(" → ")
}

pub fn render_who_can_text(holders: &[Holder], request: &Request) -> String {
    let mut out = String::new();
    if holders.is_empty() {
        let _ = writeln!(out, "nobody can {}", request.describe());
        return out;
    }
    let _ = writeln!(out, "who can {}:", request.describe());
    for holder in holders {
        let _ = writeln!(
            out,
            "  {} [{}] in cluster {}",
            holder.principal.label(),
            holder.answer.certainty.as_str(),
            holder.answer.cluster
        );
        let _ = writeln!(out, "    {}", describe_route(&holder.answer));
        write_doubts(&mut out, &holder.answer);
    }
    out
}

/// Why an answer is only "possibly".
fn write_doubts(out: &mut String, answer: &Answer) {
    if let Some(route) = &answer.route {
        for hop in route
            .hops
            .iter()
            .filter(|hop| hop.certainty != Certainty::Yes)
        {
            let _ = writeln!(out, "    assume role/{}: {}", hop.role, hop.reason);
        }
    }
}

pub fn render_can_i_text(principal: &Principal, request: &Request, answers: &[Answer]) -> String {
    let mut out = String::new();
    let overall = overall(answers);
    let _ = writeln!(out, "{}", overall.as_str());
    for answer in answers {
        let _ = writeln!(
            out,
            "  cluster {}: {} may {}: {}",
            answer.cluster,
            principal.label(),
            request.describe(),
            answer.certainty.as_str()
        );
        if answer.route.is_some() {
            let _ = writeln!(out, "    {}", describe_route(answer));
            if let Some(rule) = &answer.rule {
                let _ = writeln!(out, "    rule: {rule}");
            }
            write_doubts(&mut out, answer);
        }
    }
    out
}

/// The best answer over the clusters asked.
pub fn overall(answers: &[Answer]) -> Certainty {
    answers
        .iter()
        .map(|answer| answer.certainty)
        .min()
        .unwrap_or(Certainty::No)
}
