//! Routes each unit of work to the executor of its side: IAM, EKS (access entries and Pod
//! Identity associations, through the EKS API), or the unit's cluster (the Kubernetes API).

use super::{ApplyError, Executor};
use crate::plan::{Change, Kind};

/// One executor for IAM kinds, one for EKS kinds, one for Kubernetes kinds.
pub struct Route<I, C, E> {
    pub iam: I,
    pub clusters: C,
    pub eks: E,
}

impl<I: Executor, C: Executor, E: Executor> Executor for Route<I, C, E> {
    async fn execute(&self, unit: &[Change]) -> Result<(), ApplyError> {
        let Some(first) = unit.first() else {
            return Ok(());
        };
        match first.address.kind {
            kind if kind.is_iam() => self.iam.execute(unit).await,
            Kind::AccessEntry | Kind::PodIdentity => self.eks.execute(unit).await,
            _ => self.clusters.execute(unit).await,
        }
    }
}
