//! apply
pub struct ClusterExecutor;
pub struct ClusterExecutors;
