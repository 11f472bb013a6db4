//! EKS facts a plan needs about each cluster: its OIDC issuer (for IRSA trust policies, when
//! access.yaml does not pin `oidcIssuer`) and authentication mode (`eks:DescribeCluster`), its
//! access entries with their access policies, and its Pod Identity associations. All calls go
//! to the cluster's region.
//!
//! Every call goes through the retry engine of the writes ([`super::retry`]): a throttled read
//! (EKS answers bursts with `429 ThrottlingException`) is retried with backoff, each listing
//! page on its own. The per-item reads (one `DescribeAccessEntry` and one
//! `ListAssociatedAccessPolicies` per entry, one `DescribePodIdentityAssociation` per
//! association) run at most [`CONCURRENT_DESCRIBES`] at a time; what they return is keyed, so
//! the result is the same whatever order the answers come in.

use std::collections::BTreeMap;
use std::future::Future;

use aws_config::{Region, SdkConfig};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use futures_util::{StreamExt, TryStreamExt, stream};

use super::retry::{AwsCalls, RetryPolicy, ServiceError};
use super::{AwsError, CallCounter};
use crate::model::{
    AccessEntry, AccessScope, AuthenticationMode, Cluster, PRINCIPAL_ID_TAG, PodIdentityAssociation,
};

/// How many per-item reads run at once per cluster. EKS limits each account's request rate per
/// API and answers a burst beyond it with `ThrottlingException`: more in flight buys backoff,
/// not speed, and the clusters of one account are read at the same time. 8 makes a 500-entry
/// read (1,000 calls, two per entry one after the other) about 250 round trips long instead of
/// 1,000, with a burst small enough for EKS's limits.
pub const CONCURRENT_DESCRIBES: usize = 8;

/// How the reads of one cluster are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadOptions {
    /// Per-item reads in flight at once (at least 1).
    pub concurrency: usize,
    /// Retries of each call (throttling).
    pub retry: RetryPolicy,
}

impl Default for ReadOptions {
    /// [`CONCURRENT_DESCRIBES`] at once, with the retry policy of the AWS writes.
    fn default() -> Self {
        ReadOptions {
            concurrency: CONCURRENT_DESCRIBES,
            retry: RetryPolicy::aws(),
        }
    }
}

impl AwsCalls for ReadOptions {
    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
}

impl ReadOptions {
    /// One read call, retried while throttled.
    async fn read<T, E: ServiceError, Fut>(
        &self,
        name: &'static str,
        object: &str,
        send: impl Fn() -> Fut,
    ) -> Result<T, AwsError>
    where
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        self.call(name, object, false, send).await
    }

    /// Every page of a listing, each page retried on its own: `page(token)` sends the request
    /// for one page; its answer splits into the items and the next token ([`Page`]).
    async fn pages<O: Page, E: ServiceError, Fut>(
        &self,
        name: &'static str,
        object: &str,
        page: impl Fn(Option<String>) -> Fut,
    ) -> Result<Vec<O::Item>, AwsError>
    where
        Fut: Future<Output = Result<O, SdkError<E, HttpResponse>>>,
    {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let output = self.read(name, object, || page(token.clone())).await?;
            let (mut got, next) = output.split();
            all.append(&mut got);
            match next {
                None => return Ok(all),
                Some(next) if next.is_empty() => return Ok(all),
                Some(next) if token.as_deref() == Some(next.as_str()) => {
                    return Err(AwsError::bad_response(
                        name,
                        Some(object.to_string()),
                        "the listing answered the same next token twice",
                    ));
                }
                Some(next) => token = Some(next),
            }
        }
    }
}

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
    options: &ReadOptions,
) -> Result<EksCluster, AwsError> {
    let eks_name = eks_name(name, cluster);
    let object = format!("cluster {eks_name}");
    let request = eks.describe_cluster().name(eks_name);
    let output = options
        .read("eks:DescribeCluster", &object, || request.clone().send())
        .await?;
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
    options: &ReadOptions,
) -> Result<EksAccess, AwsError> {
    let cluster = ClusterRead {
        eks,
        eks_name,
        options,
    };
    let entries = async {
        if mode.uses_access_entries() {
            cluster.access_entries().await
        } else {
            Ok(BTreeMap::new())
        }
    };
    let (access_entries, pod_identity) = tokio::try_join!(entries, cluster.pod_identity())?;
    Ok(EksAccess {
        access_entries,
        pod_identity,
    })
}

/// One page of an EKS listing: its items and the token of the next page.
trait Page {
    type Item;
    fn split(self) -> (Vec<Self::Item>, Option<String>);
}

macro_rules! page {
    ($output:ty, $items:ident: $item:ty) => {
        impl Page for $output {
            type Item = $item;
            fn split(self) -> (Vec<$item>, Option<String>) {
                (self.$items.unwrap_or_default(), self.next_token)
            }
        }
    };
}

page!(aws_sdk_eks::operation::list_access_entries::ListAccessEntriesOutput, access_entries: String);
page!(
    aws_sdk_eks::operation::list_associated_access_policies::ListAssociatedAccessPoliciesOutput,
    associated_access_policies: aws_sdk_eks::types::AssociatedAccessPolicy
);
page!(
    aws_sdk_eks::operation::list_pod_identity_associations::ListPodIdentityAssociationsOutput,
    associations: aws_sdk_eks::types::PodIdentityAssociationSummary
);

/// `read(item)` for each of `items`, at most `options.concurrency` at a time, keyed.
async fn read_each<I, K: Ord, V, Fut>(
    items: Vec<I>,
    options: &ReadOptions,
    read: impl Fn(I) -> Fut,
) -> Result<BTreeMap<K, V>, AwsError>
where
    Fut: Future<Output = Result<(K, V), AwsError>>,
{
    stream::iter(items)
        .map(read)
        .buffer_unordered(options.concurrency.max(1))
        .try_collect()
        .await
}

/// The reads of one EKS cluster: its client, its EKS name, and how the reads are made.
#[derive(Clone, Copy)]
struct ClusterRead<'a> {
    eks: &'a aws_sdk_eks::Client,
    eks_name: &'a str,
    options: &'a ReadOptions,
}

impl ClusterRead<'_> {
    /// Every page of a listing of the whole cluster.
    async fn list<O: Page, E: ServiceError, Fut>(
        self,
        name: &'static str,
        page: impl Fn(Option<String>) -> Fut,
    ) -> Result<Vec<O::Item>, AwsError>
    where
        Fut: Future<Output = Result<O, SdkError<E, HttpResponse>>>,
    {
        let object = format!("cluster {}", self.eks_name);
        self.options.pages(name, &object, page).await
    }

    async fn access_entries(self) -> Result<BTreeMap<String, AccessEntry>, AwsError> {
        let request = self.eks.list_access_entries().cluster_name(self.eks_name);
        let principals = self
            .list("eks:ListAccessEntries", |token| {
                request.clone().set_next_token(token).send()
            })
            .await?;
        read_each(principals, self.options, |principal| async move {
            let entry = self.access_entry(&principal).await?;
            Ok((principal, entry))
        })
        .await
    }

    async fn access_entry(self, principal: &str) -> Result<AccessEntry, AwsError> {
        let ClusterRead {
            eks,
            eks_name,
            options,
        } = self;
        let object = format!("access entry {principal} of cluster {eks_name}");
        let request = eks
            .describe_access_entry()
            .cluster_name(eks_name)
            .principal_arn(principal);
        let described = options
            .read("eks:DescribeAccessEntry", &object, || {
                request.clone().send()
            })
            .await?;
        let Some(entry) = described.access_entry() else {
            return Err(AwsError::bad_response(
                "eks:DescribeAccessEntry",
                Some(object),
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
        let associated = options
            .pages("eks:ListAssociatedAccessPolicies", &object, |token| {
                request.clone().set_next_token(token).send()
            })
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

    async fn pod_identity(self) -> Result<BTreeMap<String, PodIdentityAssociation>, AwsError> {
        let ClusterRead {
            eks,
            eks_name,
            options,
        } = self;
        let request = eks.list_pod_identity_associations().cluster_name(eks_name);
        let listed = self
            .list("eks:ListPodIdentityAssociations", |token| {
                request.clone().set_next_token(token).send()
            })
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
        read_each(summaries, options, |(key, id)| async move {
            let object = format!("association {id} ({key}) of cluster {eks_name}");
            let request = eks
                .describe_pod_identity_association()
                .cluster_name(eks_name)
                .association_id(&id);
            let described = options
                .read("eks:DescribePodIdentityAssociation", &object, || {
                    request.clone().send()
                })
                .await?;
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
            Ok((
                key,
                PodIdentityAssociation {
                    role_arn,
                    tags,
                    association_id: Some(id),
                },
            ))
        })
        .await
    }
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
