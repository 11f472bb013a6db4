//! `acknowledged`, at the top level and in each cluster: every grant must be one drift can
//! report there, every reason must say something, and no grant is acknowledged twice.

use crate::model::Grant;

use super::super::raw::{AcknowledgedSpec, Spec};
use super::super::reader::Reader;

pub fn validate(reader: &mut Reader<'_>, spec: &Spec<'_>) {
    let account = spec.account.as_ref().map(|account| account.value.as_str());
    check(reader, &spec.acknowledged, None, account);
    for cluster in &spec.clusters {
        check(
            reader,
            &cluster.acknowledged,
            Some(&cluster.name.value),
            account,
        );
    }
}

fn check(
    reader: &mut Reader<'_>,
    items: &[AcknowledgedSpec],
    cluster: Option<&str>,
    account: Option<&str>,
) {
    let mut keys = Vec::new();
    for item in items {
        match Grant::parse(&item.grant.value, cluster, account) {
            Ok(grant) => keys.push((&item.grant, grant.key())),
            Err(problem) => reader.error_hint(item.grant.at, problem.message, problem.hint),
        }
        if item.reason.value.trim().is_empty() {
            reader.error_hint(
                item.reason.at,
                format!("the reason for `{}` is empty", item.grant.value),
                "say why this grant may stay: drift prints it beside the grant",
            );
        }
    }
    super::duplicates(reader, keys, |first, _| {
        (
            format!("`{}` is already acknowledged", first.value),
            format!(
                "line {} acknowledges the same grant; keep one",
                first.at.line
            ),
        )
    });
}
