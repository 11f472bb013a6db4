//! EKS facts a plan needs about each cluster: its OIDC issuer (for IRSA trust policies, when
//! access.yaml does not pin `oidcIssuer`) and authentication mode (`eks:DescribeCluster`), its
//! access entries with their access policies, and its Pod Identity associations. All calls go
//! to the cluster's region.

use std::collections::BTreeMap;

use aws_config::{Region, SdkConfig};
use futures_util::{StreamExt, TryStreamExt, stream};

use super::error::sent;
use super::{AwsError, CallCounter};
use crate::model::{
    AccessEntry, AccessScope, AuthenticationMode, Cluster, PRINCIPAL_ID_TAG, PodIdentityAssociation,
};

/// How many describe calls run at once per cluster: EKS throttles bursts per account.
const CONCURRENT_DESCRIBES: usize = 8;

/// What `DescribeCluster` tells about a cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EksCluster {
    /// `https://oidc.eks.REGION.amazonaws.com/id/ID`.
    pub oidc_issuer: Option<String>,
    /// `accessConfig.authenticationMode`; `None` when the endpoint reports no access
    /// configuration (EKS before access entries, or a mock without them): such a cluster
    /// authenticates through aws-auth only, and has no access entries or Pod Identity to read.
    pub authentication: Option<AuthenticationMode>,
}

/// The EKS objects accessctl manages in one cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EksAccess {
    /// By principal ARN.
    pub access_entries: BTreeMap<String, AccessEntry>,
    /// By `namespace/serviceaccount`.
    pub pod_identity: BTreeMap<String, PodIdentityAssociation>,
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

/// The EKS name of cluster `name` of access.yaml (the key under `clusters`, unless the model names another).
pub fn eks_name<'a>(name: &'a str, cluster: &'a Cluster) -> &'a str {
    cluster.eks_name.as_deref().unwrap_or(name)
}

/// EKS's spelling of an authentication mode.
pub fn eks_mode(mode: AuthenticationMode) -> &'static str {
    match mode {
        AuthenticationMode::ConfigMap => "CONFIG_MAP",
        AuthenticationMode::AccessEntries => "API",
        AuthenticationMode::Both => "API_AND_CONFIG_MAP",
    }
}

fn mode_of(mode: &aws_sdk_eks::types::AuthenticationMode) -> Option<AuthenticationMode> {
    use aws_sdk_eks::types::AuthenticationMode as Eks;
    match mode {
        Eks::ConfigMap => Some(AuthenticationMode::ConfigMap),
        Eks::Api => Some(AuthenticationMode::AccessEntries),
        Eks::ApiAndConfigMap => Some(AuthenticationMode::Both),
        _ => None,
    }
}

/// Describes cluster `name` of access.yaml (the key under `clusters`, unless the model names another).
pub async fn describe(
    eks: &aws_sdk_eks::Client,
    name: &str,
    cluster: &Cluster,
) -> Result<EksCluster, AwsError> {
    let eks_name = eks_name(name, cluster);
    let object = Some(format!("cluster {eks_name}"));
    let request = eks.describe_cluster().name(eks_name).send();
    let output = sent("eks:DescribeCluster", object, request).await?;
    let described = output.cluster();
    let oidc_issuer = described
        .and_then(|cluster| cluster.identity())
        .and_then(|identity| identity.oidc())
        .and_then(|oidc| oidc.issuer())
        .map(str::to_string);
    let authentication = match described
        .and_then(|cluster| cluster.access_config())
        .and_then(|config| config.authentication_mode())
    {
        None => None,
        Some(mode) => Some(mode_of(mode).ok_or_else(|| {
            AwsError::bad_response(
                "eks:DescribeCluster",
                Some(format!("cluster {eks_name}")),
                format!("unknown authentication mode `{}`", mode.as_str()),
            )
        })?),
    };
    Ok(EksCluster {
        oidc_issuer,
        authentication,
    })
}

/// Reads the access entries (when `mode` serves them) and Pod Identity associations of EKS
/// cluster `eks_name`.
pub async fn read_access(
    eks: &aws_sdk_eks::Client,
    eks_name: &str,
    mode: AuthenticationMode,
) -> Result<EksAccess, AwsError> {
    let entries = async {
        if mode.uses_access_entries() {
            read_access_entries(eks, eks_name).await
        } else {
            Ok(BTreeMap::new())
        }
    };
    let (access_entries, pod_identity) =
        tokio::try_join!(entries, read_pod_identity(eks, eks_name))?;
    Ok(EksAccess {
        access_entries,
        pod_identity,
    })
}

async fn read_access_entries(
    eks: &aws_sdk_eks::Client,
    eks_name: &str,
) -> Result<BTreeMap<String, AccessEntry>, AwsError> {
    let object = || Some(format!("cluster {eks_name}"));
    let request = eks.list_access_entries().cluster_name(eks_name);
    let principals: Vec<String> = sent(
        "eks:ListAccessEntries",
        object(),
        request.into_paginator().items().send().try_collect(),
    )
    .await?;
    stream::iter(principals)
        .map(|principal| async move {
            let entry = read_access_entry(eks, eks_name, &principal).await?;
            Ok::<_, AwsError>((principal, entry))
        })
        .buffer_unordered(CONCURRENT_DESCRIBES)
        .try_collect()
        .await
}

async fn read_access_entry(
    eks: &aws_sdk_eks::Client,
    eks_name: &str,
    principal: &str,
) -> Result<AccessEntry, AwsError> {
    let object = || Some(format!("access entry {principal} of cluster {eks_name}"));
    let described = eks
        .describe_access_entry()
        .cluster_name(eks_name)
        .principal_arn(principal)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk("eks:DescribeAccessEntry", object(), error))?;
    let Some(entry) = described.access_entry() else {
        return Err(AwsError::bad_response(
            "eks:DescribeAccessEntry",
            object(),
            "the response holds no access entry",
        ));
    };
    let mut tags: BTreeMap<String, String> = entry
        .tags()
        .map(|tags| {
            tags.iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect()
        })
        .unwrap_or_default();
    let principal_id = tags.remove(PRINCIPAL_ID_TAG);
    let request = eks
        .list_associated_access_policies()
        .cluster_name(eks_name)
        .principal_arn(principal);
    let associated = sent(
        "eks:ListAssociatedAccessPolicies",
        object(),
        request.into_paginator().items().send().try_collect(),
    )
    .await?;
    let policies = associated
        .iter()
        .filter_map(|associated| {
            let policy = associated.policy_arn()?;
            Some((policy.to_string(), scope_of(associated.access_scope())))
        })
        .collect();
    Ok(AccessEntry {
        kind: entry.r#type().unwrap_or("STANDARD").to_string(),
        username: entry.username().map(str::to_string),
        groups: entry.kubernetes_groups().iter().cloned().collect(),
        policies,
        tags,
        principal_id,
    })
}

fn scope_of(scope: Option<&aws_sdk_eks::types::AccessScope>) -> AccessScope {
    match scope {
        Some(scope) if scope.r#type() == Some(&aws_sdk_eks::types::AccessScopeType::Namespace) => {
            AccessScope::Namespace {
                namespaces: scope.namespaces().iter().cloned().collect(),
            }
        }
        _ => AccessScope::Cluster,
    }
}

async fn read_pod_identity(
    eks: &aws_sdk_eks::Client,
    eks_name: &str,
) -> Result<BTreeMap<String, PodIdentityAssociation>, AwsError> {
    let object = || Some(format!("cluster {eks_name}"));
    let request = eks.list_pod_identity_associations().cluster_name(eks_name);
    let listed = sent(
        "eks:ListPodIdentityAssociations",
        object(),
        request.into_paginator().items().send().try_collect(),
    )
    .await?;
    let summaries: Vec<(String, String)> = listed
        .iter()
        .filter_map(|summary| {
            let (namespace, account) = (summary.namespace()?, summary.service_account()?);
            Some((
                format!("{namespace}/{account}"),
                summary.association_id()?.to_string(),
            ))
        })
        .collect();
    stream::iter(summaries)
        .map(|(key, id)| async move {
            let object = Some(format!("association {id} ({key}) of cluster {eks_name}"));
            let request = eks.describe_pod_identity_association();
            let request = request.cluster_name(eks_name).association_id(&id).send();
            let described = sent("eks:DescribePodIdentityAssociation", object, request).await?;
            let association = described.association();
            let role_arn = association
                .and_then(|a| a.role_arn())
                .unwrap_or_default()
                .to_string();
            let tags = association
                .and_then(|a| a.tags())
                .map(|tags| {
                    tags.iter()
                        .map(|(key, value)| (key.clone(), value.clone()))
                        .collect()
                })
                .unwrap_or_default();
            Ok::<_, AwsError>((
                key,
                PodIdentityAssociation {
                    role_arn,
                    tags,
                    association_id: Some(id),
                },
            ))
        })
        .buffer_unordered(CONCURRENT_DESCRIBES)
        .try_collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_spell_as_eks_does() {
        use aws_sdk_eks::types::AuthenticationMode as Eks;
        for mode in [
            AuthenticationMode::ConfigMap,
            AuthenticationMode::AccessEntries,
            AuthenticationMode::Both,
        ] {
            assert_eq!(mode_of(&Eks::from(eks_mode(mode))), Some(mode));
        }
    }

    #[test]
    fn scopes_read_back() {
        let namespaced = aws_sdk_eks::types::AccessScope::builder()
            .r#type(aws_sdk_eks::types::AccessScopeType::Namespace)
            .namespaces("b")
            .namespaces("a")
            .build();
        assert_eq!(
            scope_of(Some(&namespaced)),
            AccessScope::Namespace {
                namespaces: ["a".to_string(), "b".to_string()].into()
            }
        );
        assert_eq!(scope_of(None), AccessScope::Cluster);
    }
}
