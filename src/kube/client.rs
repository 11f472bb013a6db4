//! One kube-rs client per cluster, configured from kubeconfig as `kubectl` does (`KUBECONFIG`,
//! a list of files, else `~/.kube/config`; the cluster's `context:` from access.yaml, else the
//! current context), and the one place every API call goes through: errors that name the
//! context, the call and the object, and bounded retries.
//!
//! kube-rs 5 retries 429/503/504 by itself (up to 15 times, honouring `Retry-After` with no bound
//! in time). That loop is switched off (`Config::default_retry = false`) so there is exactly one
//! retry loop, [`ClusterClient::call`] on the engine of [`crate::retry`], bounded in time, which
//! also retries 500 and dropped connections and says what it gave up on.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

use super::error::{KubeError, KubeErrorKind};
use crate::model::Cluster;
use crate::retry::{self, Verdict};
pub use crate::retry::{RetryClock, RetryPolicy};
use crate::words::io_reason;

/// A client for one cluster, with what is needed to explain its failures.
#[derive(Clone)]
pub struct ClusterClient {
    client: kube::Client,
    /// The cluster's name in access.yaml.
    pub cluster: String,
    /// The kubeconfig context used.
    pub context: String,
    /// The API server URL.
    pub server: String,
    /// How to fix access to this cluster (`aws eks update-kubeconfig …`).
    access_hint: String,
    pub retry: RetryPolicy,
    clock: RetryClock,
}

impl std::fmt::Debug for ClusterClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterClient")
            .field("cluster", &self.cluster)
            .field("context", &self.context)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// `aws eks update-kubeconfig --name … --region … [--alias …]` for this cluster.
fn update_kubeconfig_hint(name: &str, cluster: &Cluster) -> String {
    let eks_name = cluster.eks_name.as_deref().unwrap_or(name);
    let mut command = format!("aws eks update-kubeconfig --name {eks_name}");
    if let Some(region) = &cluster.region {
        command.push_str(&format!(" --region {region}"));
    }
    if let Some(context) = &cluster.context {
        command.push_str(&format!(" --alias {context}"));
    }
    format!("to add or refresh this cluster's kubeconfig entry, run `{command}`")
}

/// Why a kubeconfig could not be read, in words: an I/O failure without its `(os error N)`,
/// and without the path kube-rs repeats (the caller names it).
fn kubeconfig_reason(error: &KubeconfigError) -> String {
    match error {
        KubeconfigError::ReadConfig(source, _) => io_reason(source),
        other => other.to_string(),
    }
}

/// Reads the kubeconfig at `path`, or the environment's (`KUBECONFIG`, `~/.kube/config`), off
/// the async runtime: it is blocking file I/O. The outer error: the read itself stopped.
async fn read_kubeconfig(
    path: Option<PathBuf>,
) -> Result<Result<Kubeconfig, KubeconfigError>, String> {
    let read = tokio::task::spawn_blocking(move || match path {
        Some(path) => Kubeconfig::read_from(path),
        None => Kubeconfig::read(),
    });
    read.await
        .map_err(|error| format!("reading it stopped: {error}"))
}

impl ClusterClient {
    /// Connects to cluster `name` of access.yaml through the kubeconfig of the environment.
    pub async fn connect(name: &str, cluster: &Cluster) -> Result<Self, KubeError> {
        let kubeconfig = read_kubeconfig(None).await.and_then(|read| {
            read.map_err(|error| match &error {
                KubeconfigError::ReadConfig(source, path) => format!(
                    "cannot read the kubeconfig `{}`: {}",
                    path.display(),
                    io_reason(source)
                ),
                _ => format!(
                    "cannot read the kubeconfig (KUBECONFIG or ~/.kube/config): {}",
                    kubeconfig_reason(&error)
                ),
            })
        });
        Self::connect_read(name, cluster, kubeconfig).await
    }

    /// Connects through the kubeconfig file at `path`.
    pub async fn connect_with_file(
        name: &str,
        cluster: &Cluster,
        path: &Path,
    ) -> Result<Self, KubeError> {
        let kubeconfig = read_kubeconfig(Some(path.to_path_buf()))
            .await
            .and_then(|read| read.map_err(|error| kubeconfig_reason(&error)))
            .map_err(|reason| format!("cannot read the kubeconfig `{}`: {reason}", path.display()));
        Self::connect_read(name, cluster, kubeconfig).await
    }

    /// Connects with a kubeconfig as read, or fails with why it could not be read and the
    /// command that writes one.
    async fn connect_read(
        name: &str,
        cluster: &Cluster,
        kubeconfig: Result<Kubeconfig, String>,
    ) -> Result<Self, KubeError> {
        let kubeconfig = kubeconfig.map_err(|message| {
            KubeError::new(
                KubeErrorKind::Kubeconfig,
                format!("cluster `{name}`: {message}"),
            )
            .with_hint(update_kubeconfig_hint(name, cluster))
        })?;
        Self::from_kubeconfig(name, cluster, kubeconfig).await
    }

    /// Connects through an already loaded kubeconfig: the cluster's context, else the current one.
    pub async fn from_kubeconfig(
        name: &str,
        cluster: &Cluster,
        kubeconfig: Kubeconfig,
    ) -> Result<Self, KubeError> {
        let hint = update_kubeconfig_hint(name, cluster);
        let context = match cluster
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone())
        {
            Some(context) if !context.is_empty() => context,
            _ => {
                return Err(KubeError::new(
                    KubeErrorKind::Kubeconfig,
                    format!("cluster `{name}`: no `context:` in access.yaml and no current context in the kubeconfig"),
                )
                .with_hint(format!("set `context:` on the cluster in access.yaml, or {hint}")));
            }
        };
        let available: Vec<&str> = kubeconfig
            .contexts
            .iter()
            .map(|named| named.name.as_str())
            .collect();
        if !available.contains(&context.as_str()) {
            let known = if available.is_empty() {
                "the kubeconfig has no contexts".to_string()
            } else {
                format!("the kubeconfig has: {}", available.join(", "))
            };
            return Err(KubeError::new(
                KubeErrorKind::Kubeconfig,
                format!("cluster `{name}`: context `{context}` is not in the kubeconfig ({known})"),
            )
            .with_hint(hint));
        }
        let options = KubeConfigOptions {
            context: Some(context.clone()),
            ..KubeConfigOptions::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|error| {
                KubeError::new(
                    KubeErrorKind::Kubeconfig,
                    format!("cluster `{name}`: context `{context}` of the kubeconfig cannot be used: {error}"),
                )
                .with_hint(hint.clone())
            })?;
        // One retry loop only: ours, bounded in time (see the module comment).
        config.default_retry = false;
        config.connect_timeout = Some(Duration::from_secs(10));
        let server = config.cluster_url.to_string();
        let client = kube::Client::try_from(config).map_err(|error| {
            KubeError::new(
                KubeErrorKind::Kubeconfig,
                format!("cluster `{name}`: context `{context}`: cannot build a client: {error}"),
            )
            .with_hint(hint.clone())
        })?;
        Ok(ClusterClient {
            client,
            cluster: name.to_string(),
            context,
            server,
            access_hint: hint,
            retry: RetryPolicy::kube(),
            clock: RetryClock::real(),
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The clock retries wait on (tests: [`RetryClock::manual`]).
    pub fn with_clock(mut self, clock: RetryClock) -> Self {
        self.clock = clock;
        self
    }

    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// Runs one API call, retrying throttling, server errors and dropped connections within
    /// the retry policy; `call` describes it for errors (`GET configmaps kube-system/aws-auth`).
    pub async fn call<T, F, Fut>(&self, call: &str, operation: F) -> Result<T, KubeError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let failure = match retry::retry(&self.retry, &self.clock, classify, operation).await {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        let mut error = self.describe(call, &failure.error);
        if failure.gave_up && failure.attempts > 1 {
            error.message = format!(
                "{} (gave up after {} attempts in {:.1}s)",
                error.message,
                failure.attempts,
                failure.elapsed.as_secs_f64()
            );
            if classify(&failure.error) != Verdict::Transport {
                error.kind = KubeErrorKind::GaveUp;
            }
        }
        Err(error)
    }

    /// The error of `call`, naming the context and with a hint.
    pub fn describe(&self, call: &str, error: &kube::Error) -> KubeError {
        let place = format!("cluster `{}` (context `{}`)", self.cluster, self.context);
        match error {
            kube::Error::Api(status) => {
                let reason = if status.reason.is_empty() {
                    String::new()
                } else {
                    format!(" {}", status.reason)
                };
                let error = KubeError::new(
                    KubeErrorKind::Api(status.code),
                    format!(
                        "{place}: {call}: {}{reason}: {}",
                        status.code, status.message
                    ),
                );
                match api_hint(status.code, &self.access_hint) {
                    Some(hint) => error.with_hint(hint),
                    None => error,
                }
            }
            kube::Error::HyperError(_) | kube::Error::Service(_) => KubeError::new(
                KubeErrorKind::Unreachable,
                format!(
                    "{place}: {call}: the API server {} did not answer: {}",
                    self.server,
                    error_chain(error)
                ),
            )
            .with_hint(format!(
                "check the network path to the cluster endpoint; {}",
                self.access_hint
            )),
            kube::Error::Auth(_) => KubeError::new(
                KubeErrorKind::Kubeconfig,
                format!(
                    "{place}: {call}: the kubeconfig's credentials could not be obtained: {}",
                    error_chain(error)
                ),
            )
            .with_hint(format!(
                "the kubeconfig runs `aws eks get-token` (or another exec plugin): check that it runs and that your AWS session is valid (`aws sts get-caller-identity`, `aws sso login`); {}",
                self.access_hint
            )),
            other => KubeError::new(
                KubeErrorKind::Data,
                format!("{place}: {call}: {}", error_chain(other)),
            ),
        }
    }
}

/// Whether and how an error is retried: throttling and server errors (429, 500, 502, 503,
/// 504, a `Retry-After` honoured), and dropped connections (every write is idempotent).
fn classify(error: &kube::Error) -> Verdict {
    match error {
        kube::Error::Api(status) if matches!(status.code, 429 | 500 | 502 | 503 | 504) => status
            .details
            .as_ref()
            .map(|details| details.retry_after_seconds)
            .filter(|seconds| *seconds > 0)
            .map_or(Verdict::Retry, |seconds| {
                Verdict::RetryAfter(Duration::from_secs(u64::from(seconds)))
            }),
        kube::Error::HyperError(_) | kube::Error::Service(_) => Verdict::Transport,
        _ => Verdict::Fail,
    }
}

fn api_hint(code: u16, access_hint: &str) -> Option<String> {
    match code {
        401 => Some(format!(
            "the kubeconfig's credentials were refused; {access_hint} (and check `aws sts get-caller-identity`)"
        )),
        403 => Some(
            "the identity in the kubeconfig lacks RBAC permission for this call; accessctl needs to read and write RBAC objects, namespaces, service accounts and kube-system/aws-auth".to_string(),
        ),
        409 => Some("someone else changed the object at the same time; run plan again".to_string()),
        422 => Some("the API server refused the object as invalid; check the object in access.yaml".to_string()),
        429 | 500 | 502 | 503 | 504 => Some(
            "the API server is overloaded or failing; try again later".to_string(),
        ),
        _ => None,
    }
}

/// The error and its sources, joined.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = crate::words::error_message(error);
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = crate::words::error_message(cause);
        // Case aside: an I/O cause reads `connection refused` where its wrapper quoted it as
        // `Connection refused`.
        if !text.to_lowercase().contains(&cause_text.to_lowercase()) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, details: serde_json::Value) -> kube::Error {
        let status = serde_json::json!({"code": code, "message": "m", "details": details});
        let status = serde_json::from_value(status).unwrap_or_else(|error| panic!("{error}"));
        kube::Error::Api(Box::new(status))
    }

    #[test]
    fn throttling_and_server_errors_are_retried_honouring_retry_after() {
        assert_eq!(
            classify(&api(429, serde_json::json!({"retryAfterSeconds": 2}))),
            Verdict::RetryAfter(Duration::from_secs(2))
        );
        assert_eq!(
            classify(&api(503, serde_json::json!({"retryAfterSeconds": 0}))),
            Verdict::Retry
        );
        for code in [429, 500, 502, 504] {
            assert_eq!(classify(&api(code, serde_json::json!({}))), Verdict::Retry);
        }
        for code in [400, 401, 403, 404, 409, 422] {
            assert_eq!(classify(&api(code, serde_json::json!({}))), Verdict::Fail);
        }
    }
}
