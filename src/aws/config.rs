//! SDK configuration: the standard AWS chain (credentials, profiles, SSO, region, endpoint URLs),
//! the ring-based HTTPS client, and the counter of API calls every client reports into.
//!
//! Owns building clients; it sends no request itself.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;

use super::error::{EndpointHost, uri_host};

/// IAM is global, but the SDK needs a region to sign: the one the `aws` partition signs IAM in.
pub const FALLBACK_REGION: &str = "us-east-1";

/// What the command line may override; everything else comes from the standard chain
/// (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_IAM`,
/// `AWS_ENDPOINT_URL_STS`, `~/.aws/config`, SSO, IMDS, …).
#[derive(Clone, Debug, Default)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// One endpoint for every service (a local mock, a VPC endpoint).
    pub endpoint_url: Option<String>,
    /// The time access-key ages are measured at (seconds since the epoch); default: the clock.
    pub now: Option<i64>,
}

/// The HTTPS client every AWS client uses: rustls with ring, the provider kube uses too, so
/// one process never holds two rustls crypto providers. Plain `http://` endpoints (a local
/// mock) work through it as well.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The SDK's retries: adaptive mode (standard retries with client-side rate limiting: once AWS
/// throttles, every client of the process slows its sending to the rate AWS accepts instead of
/// retrying in a storm), unless `AWS_RETRY_MODE` or `AWS_MAX_ATTEMPTS` choose otherwise.
fn sdk_retries(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<RetryConfig> {
    let chosen = ["AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"]
        .into_iter()
        .any(|name| env(name).is_some());
    (!chosen).then(RetryConfig::adaptive)
}

/// The standard chain with `options` applied and the ring HTTPS client; `load()` it, or add test
/// settings first.
pub fn loader(options: &AwsOptions) -> ConfigLoader {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client());
    if let Some(retries) = sdk_retries(|name| std::env::var_os(name)) {
        loader = loader.retry_config(retries);
    }
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint_url) = &options.endpoint_url {
        loader = loader.endpoint_url(endpoint_url);
    }
    loader
}

/// `base` with the credentials of `role` assumed from base's own (`assumeRole`): every client
/// built from the result acts in the role's account. The role is assumed here, once, so that a
/// role that cannot be assumed is one error naming it rather than the failure of the first read;
/// the provider renews the session as it nears expiry.
pub async fn assume_role(
    base: &SdkConfig,
    role: &crate::model::AssumeRole,
) -> Result<SdkConfig, super::AwsError> {
    use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

    let mut base = base.clone();
    if base.region().is_none() {
        base = base
            .to_builder()
            .region(Region::from_static(FALLBACK_REGION))
            .build();
    }
    // The provider needs a clock (a configuration built by hand may have none).
    if base.time_source().is_none() {
        base = base
            .to_builder()
            .time_source(aws_smithy_async::time::SharedTimeSource::default())
            .build();
    }
    let mut builder =
        aws_config::sts::AssumeRoleProvider::builder(&role.arn).session_name(&role.session_name);
    if let Some(id) = &role.external_id {
        builder = builder.external_id(id);
    }
    let provider = builder.configure(&base).build().await;
    let checked = provider
        .provide_credentials()
        .await
        .map_err(|error| super::AwsError {
            call: "sts:AssumeRole",
            object: Some(format!("role {}", role.arn)),
            kind: super::error::ErrorKind::AssumeRole,
            message: aws_smithy_types::error::display::DisplayErrorContext(&error).to_string(),
        })?;
    // The credentials of the check serve the first call: the role is assumed once per run,
    // and again only when they expire.
    let primed = Primed {
        first: std::sync::Mutex::new(Some(checked)),
        inner: provider,
    };
    Ok(base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(primed))
        .build())
}

/// A credentials provider that hands out credentials already fetched (to every client of the
/// account: each has its own identity cache) until they are about to expire, then asks
/// `inner`.
#[derive(Debug)]
struct Primed<P> {
    first: std::sync::Mutex<Option<aws_credential_types::Credentials>>,
    inner: P,
}

/// Credentials closer than this to their expiry are not handed out from the first fetch.
const PRIMED_MARGIN: std::time::Duration = std::time::Duration::from_secs(300);

impl<P: aws_credential_types::provider::ProvideCredentials>
    aws_credential_types::provider::ProvideCredentials for Primed<P>
{
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let first = {
            let mut held = self
                .first
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let fresh = held.as_ref().is_some_and(|credentials| {
                credentials
                    .expiry()
                    .is_none_or(|expiry| expiry > std::time::SystemTime::now() + PRIMED_MARGIN)
            });
            if !fresh {
                *held = None;
            }
            held.clone()
        };
        match first {
            Some(credentials) => {
                aws_credential_types::provider::future::ProvideCredentials::ready(Ok(credentials))
            }
            None => self.inner.provide_credentials(),
        }
    }
}

/// Resolves the standard chain and builds the clients.
pub async fn load(options: &AwsOptions) -> Clients {
    Clients::new(&loader(options).load().await)
}

/// The AWS clients accessctl uses, all reporting into one [`CallCounter`].
#[derive(Clone, Debug)]
pub struct Clients {
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub counter: CallCounter,
}

impl Clients {
    /// Clients for a resolved configuration; without a region, [`FALLBACK_REGION`].
    pub fn new(config: &SdkConfig) -> Self {
        let config = if config.region().is_none() {
            config
                .to_builder()
                .region(Region::from_static(FALLBACK_REGION))
                .build()
        } else {
            config.clone()
        };
        Self::from_builders(
            aws_sdk_iam::config::Builder::from(&config),
            aws_sdk_sts::config::Builder::from(&config),
        )
    }

    /// Clients from per-service configurations (tests: mocks, one endpoint per client).
    pub fn from_builders(
        iam: aws_sdk_iam::config::Builder,
        sts: aws_sdk_sts::config::Builder,
    ) -> Self {
        let counter = CallCounter::default();
        Self {
            iam: aws_sdk_iam::Client::from_conf(iam.interceptor(counter.clone()).build()),
            sts: aws_sdk_sts::Client::from_conf(sts.interceptor(counter.clone()).build()),
            counter,
        }
    }
}

/// Counts every attempt (retries included) by `service:Operation`, so `-v` can say what a run
/// cost. Shared by all clients of one run.
#[derive(Clone, Debug, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CallCounter {
    /// The counts so far.
    pub fn snapshot(&self) -> CallCounts {
        CallCounts(
            self.counts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }

    fn record(&self, operation: String) {
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(operation)
            .or_default() += 1;
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "accessctl::CallCounter"
    }

    // Runs once per attempt, after signing, right before the request leaves: what AWS bills
    // and throttles.
    // Stamps each response with the host its request went to (kept in the attempt's config
    // bag by `read_before_transmit`: the request itself is gone by now), so an error that is
    // not an AWS response can say where it came from (`error.rs`). Nothing else of the request
    // is kept.
    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(host) = cfg.load::<EndpointHost>() {
            context.response_mut().add_extension(host.clone());
        }
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state()
            .store_put(EndpointHost(uri_host(context.request().uri())));
        let operation = match cfg.load::<Metadata>() {
            Some(metadata) => operation_key(metadata.service(), metadata.name()),
            None => "unknown".to_string(),
        };
        self.record(operation);
        Ok(())
    }
}

/// `iam:GetRole`: the IAM policy action spelling, which is also what an operator greps for.
pub fn operation_key(service: &str, operation: &str) -> String {
    format!("{}:{operation}", service.to_ascii_lowercase())
}

/// API calls by `service:Operation`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CallCounts(pub BTreeMap<String, u64>);

impl CallCounts {
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Calls of one operation (`iam:GetRole`), 0 when none.
    pub fn get(&self, operation: &str) -> u64 {
        self.0.get(operation).copied().unwrap_or(0)
    }

    /// The calls made after `earlier` was taken from the same counter.
    pub fn since(&self, earlier: &CallCounts) -> CallCounts {
        CallCounts(
            self.0
                .iter()
                .filter_map(|(operation, count)| {
                    let delta = count.saturating_sub(earlier.get(operation));
                    (delta > 0).then(|| (operation.clone(), delta))
                })
                .collect(),
        )
    }
}

impl fmt::Display for CallCounts {
    /// `5 API calls (iam:GetAccountAuthorizationDetails 2, sts:GetCallerIdentity 1, …)`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.total();
        write!(
            formatter,
            "{total} API call{}",
            if total == 1 { "" } else { "s" }
        )?;
        if !self.0.is_empty() {
            let parts: Vec<String> = self
                .0
                .iter()
                .map(|(operation, count)| format!("{operation} {count}"))
                .collect();
            write!(formatter, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> CallCounts {
        CallCounts(
            pairs
                .iter()
                .map(|(operation, count)| (operation.to_string(), *count))
                .collect(),
        )
    }

    #[test]
    fn counts_render_sorted_with_total() {
        let calls = counts(&[("sts:GetCallerIdentity", 1), ("iam:GetRole", 3)]);
        assert_eq!(
            calls.to_string(),
            "4 API calls (iam:GetRole 3, sts:GetCallerIdentity 1)"
        );
        assert_eq!(counts(&[]).to_string(), "0 API calls");
        assert_eq!(
            counts(&[("iam:GetRole", 1)]).to_string(),
            "1 API call (iam:GetRole 1)"
        );
    }

    #[test]
    fn since_keeps_only_new_calls() {
        let before = counts(&[("iam:GetRole", 2), ("sts:GetCallerIdentity", 1)]);
        let after = counts(&[
            ("iam:GetRole", 5),
            ("sts:GetCallerIdentity", 1),
            ("iam:ListRoles", 1),
        ]);
        assert_eq!(
            after.since(&before),
            counts(&[("iam:GetRole", 3), ("iam:ListRoles", 1)])
        );
    }

    #[test]
    fn counter_records_by_operation() {
        let counter = CallCounter::default();
        counter.record(operation_key("IAM", "GetRole"));
        counter.record(operation_key("IAM", "GetRole"));
        counter.record(operation_key("STS", "GetCallerIdentity"));
        assert_eq!(
            counter.snapshot(),
            counts(&[("iam:GetRole", 2), ("sts:GetCallerIdentity", 1)])
        );
    }

    #[tokio::test]
    async fn explicit_options_reach_the_clients() {
        let config = loader(&AwsOptions {
            profile: None,
            region: Some("eu-west-1".into()),
            // Port 1 on loopback: nothing listens there.
            endpoint_url: Some("http://127.0.0.1:1".into()),
            now: None,
        })
        .test_credentials()
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
        let clients = Clients::new(&config);
        assert_eq!(
            clients.iam.config().region().map(Region::as_ref),
            Some("eu-west-1")
        );
        let error = crate::aws::caller_identity(&clients.sts)
            .await
            .expect_err("nothing listens on port 1");
        assert_eq!(error.kind, crate::aws::ErrorKind::Unreachable, "{error}");
        assert!(error.hint().contains("AWS_ENDPOINT_URL"));
        assert_eq!(clients.counter.snapshot().get("sts:GetCallerIdentity"), 1);
    }

    /// A credential chain that finds nothing, like a machine with no AWS setup.
    #[derive(Debug)]
    struct NoCredentials;

    impl aws_credential_types::provider::ProvideCredentials for NoCredentials {
        fn provide_credentials<'a>(
            &'a self,
        ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            aws_credential_types::provider::future::ProvideCredentials::ready(Err(
                aws_credential_types::provider::error::CredentialsError::not_loaded(
                    "no providers in chain provided credentials",
                ),
            ))
        }
    }

    /// Fresh credentials, each with its own key id, counting how often it is asked.
    #[derive(Debug, Default)]
    struct Counting(std::sync::atomic::AtomicUsize);

    impl aws_credential_types::provider::ProvideCredentials for Counting {
        fn provide_credentials<'a>(
            &'a self,
        ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            aws_credential_types::provider::future::ProvideCredentials::ready(Ok(
                aws_credential_types::Credentials::new(
                    format!("fresh-{n}"),
                    "secret",
                    None,
                    Some(std::time::SystemTime::now() + std::time::Duration::from_secs(3600)),
                    "test",
                ),
            ))
        }
    }

    fn expiring_in(seconds: u64) -> aws_credential_types::Credentials {
        aws_credential_types::Credentials::new(
            "checked",
            "secret",
            None,
            Some(std::time::SystemTime::now() + std::time::Duration::from_secs(seconds)),
            "test",
        )
    }

    #[tokio::test]
    async fn checked_credentials_serve_every_client_until_they_near_their_expiry() {
        use aws_credential_types::provider::ProvideCredentials;
        let primed = Primed {
            first: std::sync::Mutex::new(Some(expiring_in(3600))),
            inner: Counting::default(),
        };
        for _ in 0..3 {
            let credentials = primed.provide_credentials().await.unwrap();
            assert_eq!(credentials.access_key_id(), "checked");
        }
        assert_eq!(primed.inner.0.load(std::sync::atomic::Ordering::SeqCst), 0);
        // Within the margin of their expiry, the role is assumed again.
        let primed = Primed {
            first: std::sync::Mutex::new(Some(expiring_in(60))),
            inner: Counting::default(),
        };
        let credentials = primed.provide_credentials().await.unwrap();
        assert_eq!(credentials.access_key_id(), "fresh-0");
        assert_eq!(primed.inner.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn missing_credentials_are_named_with_a_hint() {
        let config = loader(&AwsOptions {
            endpoint_url: Some("http://127.0.0.1:1".into()),
            ..AwsOptions::default()
        })
        .region(Region::from_static("us-east-1"))
        .credentials_provider(NoCredentials)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
        let clients = Clients::new(&config);
        let error = crate::aws::caller_identity(&clients.sts)
            .await
            .expect_err("no credentials");
        assert_eq!(error.kind, crate::aws::ErrorKind::NoCredentials, "{error}");
        assert!(
            error
                .to_string()
                .starts_with("`sts:GetCallerIdentity` failed: no AWS credentials found")
        );
        assert!(error.hint().contains("aws sso login"));
    }

    #[tokio::test]
    async fn the_sdk_retries_in_adaptive_mode_unless_the_environment_chooses() {
        let config = loader(&AwsOptions::default())
            .region(Region::from_static("us-east-1"))
            .test_credentials()
            .load()
            .await;
        let retries = config.retry_config().expect("a retry configuration");
        assert_eq!(retries.mode(), aws_config::retry::RetryMode::Adaptive);
        assert_eq!(retries.max_attempts(), 3);
        assert!(
            sdk_retries(|name| (name == "AWS_RETRY_MODE").then(|| "standard".into())).is_none()
        );
        assert!(sdk_retries(|name| (name == "AWS_MAX_ATTEMPTS").then(|| "5".into())).is_none());
    }

    #[test]
    fn missing_region_falls_back_for_iam() {
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .build();
        let clients = Clients::new(&config);
        assert_eq!(
            clients.iam.config().region().map(Region::as_ref),
            Some(FALLBACK_REGION)
        );
    }
}
