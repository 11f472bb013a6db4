//! Routes each unit of work to the executor of its side: IAM, or the unit's cluster.

use super::{ApplyError, Executor};
use crate::plan::{Change, Kind};

/// One executor for IAM kinds, one for cluster kinds.
pub struct Route<I, C> {
    pub iam: I,
    pub clusters: C,
}

impl<I: Executor, C: Executor> Executor for Route<I, C> {
    async fn execute(&self, unit: &[Change]) -> Result<(), ApplyError> {
        let Some(first) = unit.first() else {
            return Ok(());
        };
        match first.address.kind {
            kind if kind.is_iam() => self.iam.execute(unit).await,
            Kind::AccessEntry => Err(ApplyError::new(format!(
                "`{}`: this version of accessctl cannot apply EKS access entries yet",
                first.address
            ))
            .with_hint(
                "use `authentication: config-map` for this cluster until access-entry support lands",
            )),
            _ => self.clusters.execute(unit).await,
        }
    }
}
