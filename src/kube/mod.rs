//! The cluster side of accessctl: kubeconfig access to each cluster ([`client`]), the live read
//! of the objects accessctl manages ([`read`]), the aws-auth ConfigMap's parse and byte-preserving
//! merge ([`aws_auth`]), the resource types a cluster serves ([`discovery`]), the wider reads of
//! `import` and `drift` ([`wide`]) and the executor that applies a plan's cluster changes
//! ([`apply`]), under the cluster's apply lock ([`lease`]).

pub mod apply;
pub mod aws_auth;
pub mod client;
pub mod discovery;
pub mod error;
pub mod lease;
pub mod read;
pub mod secret;
pub mod wide;

pub use apply::{ClusterExecutor, ClusterExecutors};
pub use client::{ClusterClient, RetryClock, RetryPolicy};
pub use error::KubeError;
pub use read::read_cluster;

/// The field manager of every server-side apply accessctl makes.
pub const FIELD_MANAGER: &str = "accessctl";
/// Where EKS keeps the aws-auth ConfigMap.
pub const AWS_AUTH_NAMESPACE: &str = "kube-system";
pub const AWS_AUTH_NAME: &str = "aws-auth";
