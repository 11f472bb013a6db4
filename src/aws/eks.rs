//! EKS facts a plan needs about each cluster: its OIDC issuer (for IRSA trust policies, when
//! access.yaml does not pin `oidcIssuer`). One `eks:DescribeCluster` per cluster, in the
//! cluster's region.

use aws_config::{Region, SdkConfig};

use super::{AwsError, CallCounter};
use crate::model::Cluster;

/// What `DescribeCluster` tells about a cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EksCluster {
    /// `https://oidc.eks.REGION.amazonaws.com/id/ID`.
    pub oidc_issuer: Option<String>,
}

/// An EKS client for `region` (or the configuration's own), counting into `counter`.
pub fn client(
    config: &SdkConfig,
    counter: &CallCounter,
    region: Option<&str>,
) -> aws_sdk_eks::Client {
    let mut builder = aws_sdk_eks::config::Builder::from(config).interceptor(counter.clone());
    if let Some(region) = region {
        builder = builder.region(Region::new(region.to_string()));
    }
    aws_sdk_eks::Client::from_conf(builder.build())
}

/// Describes cluster `name` of access.yaml (its `eksName` when set).
pub async fn describe(
    eks: &aws_sdk_eks::Client,
    name: &str,
    cluster: &Cluster,
) -> Result<EksCluster, AwsError> {
    let eks_name = cluster.eks_name.as_deref().unwrap_or(name);
    let output = eks
        .describe_cluster()
        .name(eks_name)
        .send()
        .await
        .map_err(|error| {
            AwsError::from_sdk(
                "eks:DescribeCluster",
                Some(format!("cluster {eks_name}")),
                error,
            )
        })?;
    let oidc_issuer = output
        .cluster()
        .and_then(|cluster| cluster.identity())
        .and_then(|identity| identity.oidc())
        .and_then(|oidc| oidc.issuer())
        .map(str::to_string);
    Ok(EksCluster { oidc_issuer })
}
