//! An in-memory Amazon EKS endpoint for tests: the REST operations accessctl uses, with the
//! paths, JSON field names, status codes and error shapes of the EKS API reference
//! (`x-amzn-ErrorType` plus `{"message": …}`), and `maxResults`/`nextToken` pagination.
//! moto has no access entries or Pod Identity, so IAM and STS stay on moto and only EKS comes
//! here (`AWS_ENDPOINT_URL_EKS`, or an explicit endpoint in-process).
//!
//! Requests are not authenticated: the SDK signs them, and what is checked here is what EKS
//! would say about the request itself.

mod handlers;
mod visibility;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::Value;

/// The account in the ARNs this server makes.
pub const ACCOUNT: &str = "123456789012";

/// One access entry, as EKS holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub principal_arn: String,
    pub kind: String,
    pub username: Option<String>,
    pub groups: Vec<String>,
    pub tags: BTreeMap<String, String>,
    /// Policy ARN → `accessScope` as sent (`{"type": …, "namespaces": […]}`).
    pub policies: BTreeMap<String, Value>,
    pub arn: String,
    pub created_at: u64,
}

/// One Pod Identity association.
#[derive(Clone, Debug, PartialEq)]
pub struct Association {
    pub id: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    pub tags: BTreeMap<String, String>,
    pub arn: String,
}

#[derive(Clone, Debug)]
pub struct Cluster {
    pub region: String,
    pub issuer: Option<String>,
    /// `CONFIG_MAP`, `API_AND_CONFIG_MAP` or `API`; `None` leaves `accessConfig` out of
    /// DescribeCluster, like EKS before access entries (and moto).
    pub authentication_mode: Option<String>,
    pub entries: BTreeMap<String, Entry>,
    /// The IAM principal that created the cluster with `bootstrapClusterCreatorAdminPermissions`
    /// (its access entry is made with the cluster); `None`: created without it.
    pub creator: Option<String>,
    /// By association id.
    pub associations: BTreeMap<String, Association>,
}

#[derive(Default)]
pub struct Shared {
    pub clusters: BTreeMap<String, Cluster>,
    /// `METHOD path` of every request, decoded, in order.
    pub log: Vec<String>,
    pub clock: u64,
    pub sequence: u64,
    /// The throttling mode ([`EksServer::throttle_every`]).
    pub throttle: Throttle,
    /// How long each answer is held back ([`EksServer::set_latency`]).
    pub latency: Duration,
    /// What EKS sees of IAM and of its own new entries (off unless a test turns it on).
    pub visibility: visibility::Visibility,
}

/// The throttling mode: every `every`-th request since it was set (0: off) is answered
/// `429 ThrottlingException`, as EKS answers an account over its request rate. Counting
/// requests, not time, makes which share of the requests is throttled deterministic.
#[derive(Clone, Copy, Debug, Default)]
pub struct Throttle {
    pub every: u64,
    /// Requests seen since the mode was set.
    pub seen: u64,
    /// Requests answered with `ThrottlingException` since the mode was set.
    pub throttled: u64,
}

pub type SharedState = Arc<Mutex<Shared>>;

fn lock(state: &SharedState) -> MutexGuard<'_, Shared> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running server; stopped when dropped.
pub struct EksServer {
    url: String,
    state: SharedState,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for EksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EksServer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let state: SharedState = Arc::new(Mutex::new(Shared::default()));
        let task = tokio::spawn(handlers::serve(listener, state.clone()));
        EksServer { url, state, task }
    }

    /// The endpoint for `AWS_ENDPOINT_URL_EKS`.
    pub fn endpoint(&self) -> &str {
        &self.url
    }

    pub fn add_cluster(&self, name: &str, region: &str, mode: Option<&str>, issuer: Option<&str>) {
        lock(&self.state).clusters.insert(
            name.to_string(),
            Cluster {
                region: region.to_string(),
                issuer: issuer.map(str::to_string),
                authentication_mode: mode.map(str::to_string),
                entries: BTreeMap::new(),
                creator: None,
                associations: BTreeMap::new(),
            },
        );
    }

    /// A cluster `creator` made as EKS does by default (`bootstrapClusterCreatorAdminPermissions`):
    /// with access entries on, the creator gets an untagged `STANDARD` entry with EKS's
    /// generated username and `AmazonEKSClusterAdminPolicy` on the whole cluster.
    pub fn add_cluster_created_by(
        &self,
        name: &str,
        region: &str,
        mode: Option<&str>,
        issuer: Option<&str>,
        creator: &str,
    ) {
        self.add_cluster(name, region, mode, issuer);
        let mut shared = lock(&self.state);
        handlers::bootstrap_creator(&mut shared, name, creator);
    }

    /// An entry EKS makes itself (a node group's `EC2_LINUX`, the cluster creator's
    /// `STANDARD` without tags).
    pub fn add_entry(&self, cluster: &str, principal: &str, kind: &str, groups: &[&str]) {
        let mut shared = lock(&self.state);
        let created_at = handlers::tick(&mut shared);
        let name = cluster;
        if let Some(cluster) = shared.clusters.get_mut(cluster) {
            let arn = format!(
                "arn:{}:eks:{}:{ACCOUNT}:access-entry/{name}/{created_at}",
                handlers::partition_of_region(&cluster.region),
                cluster.region
            );
            cluster.entries.insert(
                principal.to_string(),
                Entry {
                    principal_arn: principal.to_string(),
                    kind: kind.to_string(),
                    username: Some(handlers::generated_username(principal, kind)),
                    groups: groups.iter().map(|g| g.to_string()).collect(),
                    tags: BTreeMap::new(),
                    policies: BTreeMap::new(),
                    arn,
                    created_at,
                },
            );
        }
    }

    /// EKS consults IAM (the test's moto, through `iam`): a principal or role moto does not
    /// have, or created from now on and first asked about less than `window` ago, answers what
    /// EKS answers before IAM has propagated it; a Pod Identity role must trust
    /// `pods.eks.amazonaws.com`. [`UNTIL_LIFTED`] keeps every new principal invisible until
    /// [`Self::set_iam_window`].
    pub fn consult_iam(&self, iam: aws_sdk_iam::Client, window: Duration) {
        let mut shared = lock(&self.state);
        shared.visibility.iam = Some(iam);
        shared.visibility.iam_window = window;
        shared.visibility.consulted_at = Some(std::time::SystemTime::now());
    }

    /// Replaces the IAM window (`Duration::ZERO` lifts it).
    pub fn set_iam_window(&self, window: Duration) {
        lock(&self.state).visibility.iam_window = window;
    }

    /// AssociateAccessPolicy answers 404 for an entry created less than `window` ago.
    pub fn set_entry_window(&self, window: Duration) {
        lock(&self.state).visibility.entry_window = window;
    }

    /// The principals and roles refused as not (yet) in IAM, one per refusal, in order.
    pub fn refused(&self) -> Vec<String> {
        lock(&self.state).visibility.refused.clone()
    }

    pub fn entries(&self, cluster: &str) -> BTreeMap<String, Entry> {
        lock(&self.state)
            .clusters
            .get(cluster)
            .map(|c| c.entries.clone())
            .unwrap_or_default()
    }

    /// By `namespace/serviceaccount`.
    pub fn associations(&self, cluster: &str) -> BTreeMap<String, Association> {
        lock(&self.state)
            .clusters
            .get(cluster)
            .map(|c| {
                c.associations
                    .values()
                    .map(|a| (format!("{}/{}", a.namespace, a.service_account), a.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Answers every `every`-th request from now on with `429 ThrottlingException` (0: never).
    pub fn throttle_every(&self, every: u64) {
        lock(&self.state).throttle = Throttle {
            every,
            ..Throttle::default()
        };
    }

    /// Requests answered with `ThrottlingException` since [`Self::throttle_every`].
    pub fn throttled(&self) -> u64 {
        lock(&self.state).throttle.throttled
    }

    /// Holds every answer back by `latency` (a network round trip, for the benchmark).
    #[allow(
        dead_code,
        reason = "used by benches/eks_read.rs; the tests never wait for an answer"
    )]
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.state).latency = latency;
    }

    pub fn log(&self) -> Vec<String> {
        lock(&self.state).log.clone()
    }

    /// An SDK client for this endpoint with dummy credentials.
    pub fn client(&self, region: &str) -> aws_sdk_eks::Client {
        let config = aws_sdk_eks::config::Builder::new()
            .behavior_version(aws_sdk_eks::config::BehaviorVersion::latest())
            .region(aws_sdk_eks::config::Region::new(region.to_string()))
            .endpoint_url(&self.url)
            .credentials_provider(aws_sdk_eks::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .http_client(accessctl::aws::config::http_client())
            .build();
        aws_sdk_eks::Client::from_conf(config)
    }

    /// [`Self::client`] without the SDK's own retries: every answer reaches the caller (a
    /// throttled request too).
    pub fn client_without_retries(&self, region: &str) -> aws_sdk_eks::Client {
        let config = self
            .client(region)
            .config()
            .to_builder()
            .retry_config(aws_sdk_eks::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_eks::Client::from_conf(config)
    }
}

pub use visibility::UNTIL_LIFTED;

#[cfg(test)]
mod tests;
