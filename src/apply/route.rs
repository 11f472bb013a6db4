//! Routes each unit of work to the executor of its side: IAM, EKS (access entries and Pod
//! Identity associations, through the EKS API), or the unit's cluster (the Kubernetes API).

use super::{ApplyError, Executor};
use crate::plan::{Change, Kind};

/// One executor for IAM kinds, one for EKS kinds, one for Kubernetes kinds, one for access keys
/// (IAM, and the Secrets they are delivered to).
pub struct Route<I, C, E, K> {
    pub iam: I,
    pub clusters: C,
    pub eks: E,
    pub keys: K,
}

impl<I: Executor, C: Executor, E: Executor, K: Executor> Executor for Route<I, C, E, K> {
    async fn execute(&self, unit: &[Change]) -> Result<(), ApplyError> {
        let Some(first) = unit.first() else {
            return Ok(());
        };
        match first.address.kind {
            Kind::AccessKey => self.keys.execute(unit).await,
            kind if kind.is_iam() => self.iam.execute(unit).await,
            Kind::AccessEntry | Kind::PodIdentity => self.eks.execute(unit).await,
            _ => self.clusters.execute(unit).await,
        }
    }
}
