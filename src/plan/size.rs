//! What Kubernetes would refuse for its size in the state after the plan: the aws-auth
//! ConfigMap apply would write — the file's managed entries and the live entries it keeps (node
//! roles, entries written by hand or by other tools) — over the ConfigMap size limit (1 MiB).
//! The file's own entries are checked when it is loaded (`spec::build`); what live aws-auth
//! holds besides is only known here. Sized as accessctl renders entries
//! ([`data_size`]), the one computation both checks use.

use crate::model::aws_auth::data_size;
use crate::model::{AwsAuthEntry, State};
use crate::spec::limits::{self, CONFIG_MAP_SIZE};

use super::{Address, Change, Findings, Kind, Problem};

/// Refuses, per cluster whose aws-auth the plan changes, a merged aws-auth over the limit
/// that the plan makes larger (a plan that shrinks it is let through: it can only help).
pub(super) fn check(live: &State, changes: &[Change], after: &State) -> Findings {
    let mut findings = Findings::default();
    for (cluster, projected) in &after.clusters {
        let Some(first) = changes.iter().find(|change| {
            change.address.kind == Kind::AwsAuth
                && change.address.cluster.as_deref() == Some(cluster.as_str())
        }) else {
            continue;
        };
        let Some(auth) = &projected.aws_auth else {
            continue;
        };
        let size = data_size(&auth.entries);
        let before = live
            .clusters
            .get(cluster)
            .and_then(|cluster| cluster.aws_auth.as_ref())
            .map_or(0, |auth| data_size(&auth.entries));
        let limit = CONFIG_MAP_SIZE.default;
        if size <= limit || size <= before {
            continue;
        }
        let (managed, kept): (Vec<AwsAuthEntry>, Vec<AwsAuthEntry>) = auth
            .entries
            .iter()
            .cloned()
            .partition(|entry| auth.managed.contains(&entry.arn));
        let measured = format!(
            "the aws-auth ConfigMap of cluster `{cluster}` after this plan is {} bytes: the file's {} entries ({} bytes) and {} live entries accessctl does not manage ({} bytes: node roles, entries written by hand or other tools)",
            limits::thousands(size),
            managed.len(),
            limits::thousands(data_size(&managed)),
            kept.len(),
            limits::thousands(data_size(&kept)),
        );
        let (message, hint) = limits::refusal(&CONFIG_MAP_SIZE, limit, &measured);
        findings.problems.push(Problem::Refused {
            address: Address::cluster(Kind::AwsAuth, cluster, first.address.name.clone()),
            message,
            hint,
        });
    }
    findings
}
