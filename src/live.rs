//! Live state: the caller and IAM through [`aws`](crate::aws), each cluster of access.yaml
//! through [`kube`](crate::kube) plus its EKS side (`eks:DescribeCluster`: the OIDC issuer and
//! authentication mode; access entries and Pod Identity associations), all read concurrently
//! into one [`State`].
//!
//! The connections are kept so that apply reuses them.

use std::collections::BTreeMap;

use futures_util::future::try_join_all;

use aws_config::SdkConfig;

use crate::aws::{self, AwsError, AwsOptions, CallCounts, Clients, eks};
use crate::kube::{ClusterClient, KubeError, read_cluster};
use crate::model::{AssumeRole, ReadScope, State};

/// A failure to read live state, from either side.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("{0}")]
    Aws(AwsError),
    #[error("{0}")]
    Kube(KubeError),
}

impl LiveError {
    pub fn hint(&self) -> Option<String> {
        match self {
            LiveError::Aws(error) => Some(error.hint()),
            LiveError::Kube(error) => error.hint.clone(),
        }
    }
}

/// Clients for AWS and for every cluster the file names.
pub struct Connections {
    pub aws: Clients,
    /// The resolved AWS configuration, for regional clients (EKS in each cluster's region).
    pub sdk: SdkConfig,
    pub clusters: BTreeMap<String, ClusterClient>,
    /// When access-key ages are measured (seconds since the epoch).
    pub now: i64,
}

/// Connects to AWS (through `assume_role`, the file's `assumeRole`, when it has one) and to
/// each cluster of `desired` (by its kubeconfig context).
pub async fn connect(
    desired: &State,
    assume_role: Option<&AssumeRole>,
    options: &AwsOptions,
) -> Result<Connections, LiveError> {
    let sdk = aws::config::loader(options).load().await;
    let sdk = match assume_role {
        Some(role) => aws::config::assume_role(&sdk, role)
            .await
            .map_err(LiveError::Aws)?,
        None => sdk,
    };
    let aws = Clients::new(&sdk);
    let clusters = try_join_all(desired.clusters.iter().map(|(name, cluster)| async move {
        ClusterClient::connect(name, cluster)
            .await
            .map(|client| (name.clone(), client))
    }))
    .await
    .map_err(LiveError::Kube)?;
    Ok(Connections {
        aws,
        sdk,
        clusters: clusters.into_iter().collect(),
        now: options.now.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| {
                    i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
                })
        }),
    })
}

/// Reads the live state of everything `desired` may touch (with [`ReadScope::Everything`],
/// every RBAC object of its clusters too), and the AWS calls it took.
pub async fn read(
    connections: &Connections,
    desired: &State,
    scope: ReadScope,
) -> Result<(State, CallCounts), LiveError> {
    // Every call of the read (IAM, EKS, the keys and their destinations), not only IAM's.
    let before = connections.aws.counter.snapshot();
    let iam = async {
        aws::read_state(&connections.aws)
            .await
            .map_err(LiveError::Aws)
    };
    let clusters = try_join_all(
        connections
            .clusters
            .iter()
            .map(|(name, client)| async move {
                let want = desired.clusters.get(name).cloned().unwrap_or_default();
                let eks = eks::client(
                    &connections.sdk,
                    &connections.aws.counter,
                    want.region.as_deref(),
                );
                let (mut cluster, facts) = tokio::try_join!(
                    async {
                        read_cluster(client, &want, scope)
                            .await
                            .map_err(LiveError::Kube)
                    },
                    async {
                        eks::describe(&eks, name, &want, &eks::ReadOptions::default())
                            .await
                            .map_err(LiveError::Aws)
                    },
                )?;
                cluster.oidc_issuer = facts.oidc_issuer;
                // No access configuration reported: aws-auth only, nothing more to read.
                cluster.authentication = facts.authentication.unwrap_or_default();
                if facts.authentication.is_some() {
                    let (eks_name, options) =
                        (eks::eks_name(name, &want), eks::ReadOptions::default());
                    let access = eks::read_access(&eks, eks_name, cluster.authentication, &options)
                        .await
                        .map_err(LiveError::Aws)?;
                    cluster.access_entries = access.access_entries;
                    cluster.pod_identity = access.pod_identity;
                }
                Ok::<_, LiveError>((name.clone(), cluster))
            }),
    );
    let ((mut state, _), clusters) = tokio::try_join!(iam, clusters)?;
    state.clusters = clusters.into_iter().collect();
    state.scope = scope;
    // Keys only of the users that declare `accessKeys` and exist: others keep theirs, unread.
    let users = desired
        .iam
        .access_keys
        .iter()
        .filter(|(user, _)| state.iam.users.contains_key(*user))
        .map(|(user, declared)| (user.clone(), declared.rotation.as_ref()))
        .collect();
    let read = key_reader(connections).read(users).await?;
    state.iam.access_keys.extend(read);
    Ok((state, connections.aws.counter.snapshot().since(&before)))
}

/// The reader of access keys and of what their destinations hold, on the connections.
pub fn key_reader(connections: &Connections) -> aws::access_keys::KeyReader<'_> {
    aws::access_keys::KeyReader {
        iam: &connections.aws.iam,
        sdk: &connections.sdk,
        counter: &connections.aws.counter,
        clusters: &connections.clusters,
        now: connections.now,
        retry: aws::RetryPolicy::aws(),
    }
}

/// The EKS executor for apply: one regional EKS client per cluster of `live` (region and EKS
/// name as the file gives them), on the connections' configuration and call counter.
pub fn eks_executor(connections: &Connections, live: &State) -> aws::eks_apply::EksExecutor {
    let clusters = connections
        .clusters
        .keys()
        .map(|name| {
            let cluster = live.clusters.get(name).cloned().unwrap_or_default();
            let client = eks::client(
                &connections.sdk,
                &connections.aws.counter,
                cluster.region.as_deref(),
            );
            let eks_name = eks::eks_name(name, &cluster).to_string();
            (
                name.clone(),
                aws::eks_apply::EksCluster { client, eks_name },
            )
        })
        .collect();
    aws::eks_apply::EksExecutor::new(
        clusters,
        connections.aws.iam.clone(),
        live.account.clone().unwrap_or_default(),
    )
}
