//! Retries for the IAM writes of apply: throttling with full-jitter exponential backoff, and
//! IAM's eventual consistency (an object created a moment ago not yet visible to the next call)
//! for a bounded time. Every other error fails at once: retrying cannot fix it.
//!
//! The SDK's own retries stay on underneath; this layer covers what they give up on (a long
//! throttling burst) and what they never retry (`NoSuchEntity`, "Invalid principal").
//! [`call`] is the one wrapper the IAM and EKS executors put each SDK call in.

use std::error::Error as StdError;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{AwsError, ErrorKind};

/// How long and how hard to retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first backoff ceiling; it doubles per attempt.
    pub base: Duration,
    /// The largest backoff ceiling.
    pub cap: Duration,
    /// Total time one call may spend retrying, throttling and consistency alike.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(10),
            budget: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Short waits, for tests.
    pub fn fast(budget: Duration) -> Self {
        RetryPolicy {
            base: Duration::from_millis(5),
            cap: Duration::from_millis(50),
            budget,
        }
    }

    /// Full jitter: uniformly random in `[0, min(cap, base * 2^attempt)]`, so callers throttled
    /// together do not come back together.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.min(20)))
            .min(self.cap);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(random() % (nanos + 1))
    }
}

/// Why an error may go away by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transient {
    Throttled,
    /// IAM has not yet propagated an object created earlier in this apply.
    NotYetVisible,
}

/// Whether `error` is worth retrying. `fresh` says the call names something this apply has
/// just created: only then are `NoSuchEntity` and "Invalid principal" taken for propagation
/// delay rather than a real absence.
pub fn transient(error: &AwsError, fresh: bool) -> Option<Transient> {
    match &error.kind {
        ErrorKind::Throttled => Some(Transient::Throttled),
        ErrorKind::NotFound if fresh => Some(Transient::NotYetVisible),
        ErrorKind::Service(code)
            if fresh
                && code == "MalformedPolicyDocument"
                && error
                    .message
                    .to_ascii_lowercase()
                    .contains("invalid principal") =>
        {
            Some(Transient::NotYetVisible)
        }
        _ => None,
    }
}

/// Runs `attempt` until it succeeds, fails with a non-transient error, or the policy's time
/// budget would be exceeded by the next wait.
pub async fn retry<T, F, Fut>(policy: &RetryPolicy, fresh: bool, attempt: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    retry_judged(policy, |_| fresh, attempt).await
}

/// Like [`retry`], with freshness judged per error: `fresh(error)` says whether what the
/// error is about was created by this apply (an attachment fails on the policy or on the
/// principal, and only the fresh one may be still propagating).
pub async fn retry_judged<T, F, Fut, J>(
    policy: &RetryPolicy,
    fresh: J,
    mut attempt: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
    J: Fn(&AwsError) -> bool,
{
    let started = Instant::now();
    let mut failures = 0u32;
    loop {
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        if transient(&error, fresh(&error)).is_none() {
            return Err(error);
        }
        let wait = policy.backoff(failures);
        if started.elapsed() + wait > policy.budget {
            return Err(error);
        }
        failures += 1;
        tokio::time::sleep(wait).await;
    }
}

/// One SDK call with retries: `send` makes the request; `name` (e.g. `iam:CreateUser`) and
/// `object` label the error; `fresh` as in [`transient`].
pub async fn call<T, E, F, Fut>(
    policy: &RetryPolicy,
    name: &'static str,
    object: &str,
    fresh: bool,
    send: F,
) -> Result<T, AwsError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    call_judged(policy, name, object, |_| fresh, send).await
}

/// [`call`] with freshness judged per error, as in [`retry_judged`].
pub async fn call_judged<T, E, F, Fut, J>(
    policy: &RetryPolicy,
    name: &'static str,
    object: &str,
    fresh: J,
    send: F,
) -> Result<T, AwsError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    J: Fn(&AwsError) -> bool,
{
    retry_judged(policy, fresh, || async {
        send().await.map_err(|error| sdk_error(name, object, error))
    })
    .await
}

/// An SDK error as an [`AwsError`]; HTTP 429 counts as throttling whatever the body says.
fn sdk_error<E>(call: &'static str, object: &str, error: SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let too_many =
        matches!(&error, SdkError::ServiceError(context) if context.raw().status().as_u16() == 429);
    let mut error = AwsError::from_sdk(call, Some(object.to_string()), error);
    if too_many {
        error.kind = ErrorKind::Throttled;
    }
    error
}

/// A random number from the standard library's per-instance hash keys: jitter needs no
/// cryptographic quality, only independence between callers.
fn random() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn error(kind: ErrorKind, message: &str) -> AwsError {
        AwsError {
            call: "iam:AttachUserPolicy",
            object: Some("user `alice`".into()),
            kind,
            message: message.into(),
        }
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        let policy = RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            budget: Duration::from_secs(60),
        };
        let waits: Vec<Duration> = (0..200).map(|_| policy.backoff(10)).collect();
        assert!(waits.iter().all(|wait| *wait <= Duration::from_secs(1)));
        let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
        assert!(distinct.len() > 100, "full jitter spreads the waits");
        assert!((0..50).all(|_| policy.backoff(0) <= Duration::from_millis(100)));
    }

    #[test]
    fn only_transient_errors_are_retried() {
        assert_eq!(
            transient(&error(ErrorKind::Throttled, ""), false),
            Some(Transient::Throttled)
        );
        assert_eq!(transient(&error(ErrorKind::NotFound, ""), false), None);
        assert_eq!(
            transient(&error(ErrorKind::NotFound, ""), true),
            Some(Transient::NotYetVisible)
        );
        let invalid = error(
            ErrorKind::Service("MalformedPolicyDocument".into()),
            "Invalid principal in policy: \"AWS\":\"arn:aws:iam::1:role/new\"",
        );
        assert_eq!(transient(&invalid, true), Some(Transient::NotYetVisible));
        assert_eq!(transient(&invalid, false), None);
        let syntax = error(
            ErrorKind::Service("MalformedPolicyDocument".into()),
            "Syntax errors in policy.",
        );
        assert_eq!(transient(&syntax, true), None);
        assert_eq!(
            transient(
                &error(ErrorKind::Service("DeleteConflict".into()), ""),
                true
            ),
            None
        );
        assert_eq!(transient(&error(ErrorKind::AccessDenied, ""), true), None);
    }

    #[tokio::test]
    async fn retries_until_success() {
        let attempts = AtomicU32::new(0);
        let result = retry(
            &RetryPolicy::fast(Duration::from_secs(5)),
            false,
            || async {
                if attempts.fetch_add(1, Ordering::SeqCst) < 3 {
                    Err(error(ErrorKind::Throttled, "Rate exceeded"))
                } else {
                    Ok(7)
                }
            },
        )
        .await;
        assert_eq!(result, Ok(7));
        assert_eq!(attempts.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_permanent_error_fails_at_once() {
        let attempts = AtomicU32::new(0);
        let result: Result<(), _> =
            retry(&RetryPolicy::fast(Duration::from_secs(5)), true, || async {
                attempts.fetch_add(1, Ordering::SeqCst);
                Err(error(ErrorKind::AccessDenied, ""))
            })
            .await;
        assert_eq!(
            result.map_err(|error| error.kind),
            Err(ErrorKind::AccessDenied)
        );
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn consistency_retries_stop_at_the_budget() {
        let attempts = AtomicU32::new(0);
        let started = Instant::now();
        let result: Result<(), _> = retry(
            &RetryPolicy::fast(Duration::from_millis(200)),
            true,
            || async {
                attempts.fetch_add(1, Ordering::SeqCst);
                Err(error(ErrorKind::NotFound, ""))
            },
        )
        .await;
        assert_eq!(result.map_err(|error| error.kind), Err(ErrorKind::NotFound));
        assert!(attempts.load(Ordering::SeqCst) > 2);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
