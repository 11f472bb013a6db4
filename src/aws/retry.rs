//! Retries for the AWS writes of apply, on the one engine of [`crate::retry`]: throttling
//! (an HTTP 429 included, its `Retry-After` honoured), AWS' own server errors (500 and 503
//! answers), dropped connections (a few attempts) and IAM's eventual consistency (an object
//! created a moment ago not yet visible to the next call), within the policy's time bound.
//! Every other error fails at once: retrying cannot fix it.
//!
//! The SDK's own retries stay on underneath (adaptive mode: [`crate::aws::config`]); this layer
//! covers what they give up on (a long throttling burst, server errors or resets outlasting its
//! three attempts or its retry quota) and what they never retry (`NoSuchEntity`, "Invalid
//! principal"). Server errors and dropped connections are retried as the SDK retries them, for
//! every call: a fault answered before the service acted is safe to retry, and a create the
//! service did carry out fails on its retry with `EntityAlreadyExists`, so the report never
//! calls done what was not.
//! [`AwsCalls`] is the one `call` wrapper the IAM and EKS executors put each SDK call in.

use std::error::Error as StdError;
use std::future::Future;
use std::time::Duration;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub use crate::retry::RetryPolicy;
use crate::retry::{self, RetryClock, Verdict};

use super::{AwsError, ErrorKind};

/// Why an error may go away by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transient {
    Throttled,
    /// AWS answered with an internal error or said it is unavailable (HTTP 500, 503).
    ServerError,
    /// The connection failed or was dropped before an answer came.
    Dropped,
    /// IAM has not yet propagated an object created earlier in this apply.
    NotYetVisible,
}

/// Whether `error` is worth retrying. `fresh` says the call names something this apply has
/// just created: only then are `NoSuchEntity` and "Invalid principal" taken for propagation
/// delay rather than a real absence.
pub fn transient(error: &AwsError, fresh: bool) -> Option<Transient> {
    match &error.kind {
        ErrorKind::Throttled => Some(Transient::Throttled),
        ErrorKind::Service(code) if is_server_error(code) => Some(Transient::ServerError),
        ErrorKind::Unreachable => Some(Transient::Dropped),
        ErrorKind::NotFound if fresh => Some(Transient::NotYetVisible),
        ErrorKind::Service(code) if fresh && names_unseen_principal(code, &error.message) => {
            Some(Transient::NotYetVisible)
        }
        _ => None,
    }
}

/// The codes of AWS' own failures (HTTP 500 and 503): IAM's and the common ones, EKS' REST
/// ones. The SDK retries them too, a few times.
fn is_server_error(code: &str) -> bool {
    matches!(
        code,
        "InternalFailure"
            | "ServiceFailure"
            | "ServiceUnavailable"
            | "ServerException"
            | "ServiceUnavailableException"
    )
}

/// Whether a service error says a principal does not exist, as IAM and EKS say of one IAM
/// created a moment ago: IAM's "Invalid principal" in a trust policy; EKS' "invalid principal"
/// of CreateAccessEntry and "Role provided in the request does not exist" of Pod Identity.
fn names_unseen_principal(code: &str, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    match code {
        "MalformedPolicyDocument" => message.contains("invalid principal"),
        "InvalidParameterException" => {
            message.contains("principalarn is invalid: invalid principal")
                || message.contains("role provided in the request does not exist")
        }
        _ => false,
    }
}

/// A failed attempt: the error as accessctl reports it, and the wait the service asked for
/// (`Retry-After`), if any.
type Attempted = (AwsError, Option<Duration>);

/// The engine's verdict on a failed attempt; `fresh` as in [`transient`].
fn verdict((error, retry_after): &Attempted, fresh: bool) -> Verdict {
    match transient(error, fresh) {
        None => Verdict::Fail,
        Some(Transient::Throttled) => retry_after.map_or(Verdict::Retry, Verdict::RetryAfter),
        Some(Transient::NotYetVisible | Transient::ServerError) => Verdict::Retry,
        Some(Transient::Dropped) => Verdict::Transport,
    }
}

/// Runs `attempt` until it succeeds, fails with a non-transient error, or the policy runs out.
/// `fresh(error)` says whether what the error is about was created by this apply (an
/// attachment fails on the policy or on the principal, and only the fresh one may be still
/// propagating).
async fn retry_judged<T, F, Fut, J>(
    policy: &RetryPolicy,
    fresh: J,
    attempt: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Attempted>>,
    J: Fn(&AwsError) -> bool,
{
    retry::retry(
        policy,
        &RetryClock::real(),
        |failed: &Attempted| verdict(failed, fresh(&failed.0)),
        attempt,
    )
    .await
    .map_err(|failure| failure.error.0)
}

/// The error type of an SDK operation.
pub(crate) trait ServiceError:
    ProvideErrorMetadata + StdError + Send + Sync + 'static
{
}

impl<E: ProvideErrorMetadata + StdError + Send + Sync + 'static> ServiceError for E {}

/// One SDK request, made afresh by each call of the closure (`|| client.op().….send()`).
pub(crate) trait Request<T, E>: Fn() -> Self::Sent {
    type Sent: Future<Output = Result<T, SdkError<E, HttpResponse>>>;
}

impl<T, E, F, Fut> Request<T, E> for F
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    type Sent = Fut;
}

/// Makes an AWS executor an [`Executor`](crate::apply::Executor) and gives it the one `call`
/// wrapper: the type has a `retry: RetryPolicy` field and an inherent
/// `async fn execute_change(&self, &Change) -> Result<(), AwsError>`; a unit is carried out
/// change by change, and the first failure stops it with the advice `$hint` gives for it
/// (given the executor, the change and the error).
macro_rules! aws_executor {
    ($type:ty, |$executor:ident, $change:ident, $error:ident| $hint:expr) => {
        $crate::aws::retry::aws_calls!($type);

        impl $crate::apply::Executor for $type {
            async fn execute(
                &self,
                unit: &[$crate::plan::Change],
            ) -> Result<(), $crate::apply::ApplyError> {
                for change in unit {
                    // The report line names the address; the error names the call and the object.
                    self.execute_change(change).await.map_err(|failed| {
                        let ($executor, $change, $error) = (self, change, &failed);
                        $crate::apply::ApplyError::new(failed.to_string()).with_hint($hint)
                    })?;
                }
                Ok(())
            }
        }
    };
}
pub(crate) use aws_executor;

/// Gives an AWS executor (a type with the fields `retry: RetryPolicy` and `created: Created`)
/// the one `call` wrapper ([`AwsCalls`]) over that policy, and the builders that replace the
/// policy and share what the executors of one apply create.
macro_rules! aws_calls {
    ($type:ty) => {
        impl $crate::aws::retry::AwsCalls for $type {
            fn retry_policy(&self) -> &$crate::retry::RetryPolicy {
                &self.retry
            }
        }

        impl $type {
            /// Replaces the retry policy (tests use short waits).
            pub fn with_retry(mut self, retry: $crate::retry::RetryPolicy) -> Self {
                self.retry = retry;
                self
            }

            /// Shares what the IAM executor of the same apply creates
            /// ([`IamExecutor::created`](crate::aws::apply::IamExecutor::created)): IAM and EKS
            /// may not yet see a principal created a moment ago.
            pub fn with_created(mut self, created: $crate::aws::apply::Created) -> Self {
                self.created = created;
                self
            }
        }
    };
}
pub(crate) use aws_calls;

/// The one `call` wrapper of the AWS executors (IAM, EKS and access keys): each SDK call with
/// retries.
/// `name` (e.g. `iam:CreateUser`) and `object` label the error.
pub(crate) trait AwsCalls {
    fn retry_policy(&self) -> &RetryPolicy;

    /// One SDK call; `fresh` as in [`transient`].
    async fn call<T, E: ServiceError>(
        &self,
        name: &'static str,
        object: &str,
        fresh: bool,
        send: impl Request<T, E>,
    ) -> Result<T, AwsError> {
        self.call_judged(name, object, |_| fresh, send).await
    }

    /// [`Self::call`] with freshness judged per error, as in [`retry_judged`].
    async fn call_judged<T, E: ServiceError>(
        &self,
        name: &'static str,
        object: &str,
        fresh: impl Fn(&AwsError) -> bool,
        send: impl Request<T, E>,
    ) -> Result<T, AwsError> {
        retry_judged(self.retry_policy(), fresh, || async {
            send().await.map_err(|error| sdk_error(name, object, error))
        })
        .await
    }

    /// [`Self::call`] for removing something: `NoSuchEntity` (or EKS' not found) means it is
    /// already gone, and there is nothing to do (`None`).
    async fn call_if_exists<T, E: ServiceError>(
        &self,
        name: &'static str,
        object: &str,
        send: impl Request<T, E>,
    ) -> Result<Option<T>, AwsError> {
        match self.call(name, object, false, send).await {
            Ok(value) => Ok(Some(value)),
            Err(error) if error.kind == ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// An SDK error as an [`AwsError`], with the `Retry-After` (in seconds) of its response; HTTP
/// 429 counts as throttling whatever the body says.
fn sdk_error<E: ServiceError>(
    call: &'static str,
    object: &str,
    error: SdkError<E, HttpResponse>,
) -> Attempted {
    let raw = error.raw_response();
    let too_many = raw.is_some_and(|response| response.status().as_u16() == 429);
    let retry_after = raw
        .and_then(|response| response.headers().get("retry-after"))
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let mut error = AwsError::from_sdk(call, Some(object.to_string()), error);
    if too_many {
        error.kind = ErrorKind::Throttled;
    }
    (error, retry_after)
}

/// A call for tests that fails `failures` times with `error`, then answers `value`, counting
/// the attempts made.
#[cfg(test)]
pub(crate) struct Flaky<T, E> {
    attempts: std::sync::atomic::AtomicU32,
    failures: u32,
    error: fn() -> E,
    value: T,
}

#[cfg(test)]
impl<T: Clone, E> Flaky<T, E> {
    pub(crate) fn new(failures: u32, error: fn() -> E, value: T) -> Self {
        Flaky {
            attempts: std::sync::atomic::AtomicU32::new(0),
            failures,
            error,
            value,
        }
    }

    /// One attempt.
    pub(crate) fn call(&self) -> std::future::Ready<Result<T, E>> {
        let attempt = self
            .attempts
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::future::ready(if attempt < self.failures {
            Err((self.error)())
        } else {
            Ok(self.value.clone())
        })
    }

    pub(crate) fn attempts(&self) -> u32 {
        self.attempts.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Asserts that `result` is this call's answer, given on attempt `attempts`.
    #[track_caller]
    pub(crate) fn assert_answered<R: std::fmt::Debug + PartialEq>(
        &self,
        result: Result<T, R>,
        attempts: u32,
    ) where
        T: std::fmt::Debug + PartialEq,
    {
        assert_eq!(result, Ok(self.value.clone()));
        assert_eq!(self.attempts(), attempts);
    }
}

#[cfg(test)]
impl<E> Flaky<(), E> {
    /// A call that fails every time.
    pub(crate) fn failing(error: fn() -> E) -> Self {
        Self::new(u32::MAX, error, ())
    }
}

#[cfg(test)]
mod tests {
    use tokio::time::Instant;

    use super::*;

    fn error(kind: ErrorKind, message: &str) -> AwsError {
        AwsError {
            call: "iam:AttachUserPolicy",
            object: Some("user `alice`".into()),
            kind,
            message: message.into(),
        }
    }

    async fn retry<T, F, Fut>(policy: &RetryPolicy, fresh: bool, attempt: F) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Attempted>>,
    {
        retry_judged(policy, |_| fresh, attempt).await
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

    #[test]
    fn server_errors_and_dropped_connections_are_retried_but_not_other_failures() {
        for code in [
            "InternalFailure",
            "ServiceFailure",
            "ServiceUnavailable",
            "ServerException",
        ] {
            let failed = error(ErrorKind::Service(code.into()), "");
            assert_eq!(transient(&failed, false), Some(Transient::ServerError));
            assert_eq!(verdict(&(failed, None), false), Verdict::Retry);
        }
        let dropped = error(ErrorKind::Unreachable, "connection reset");
        assert_eq!(verdict(&(dropped, None), false), Verdict::Transport);
        // An emulator's or a proxy's 500 that is no AWS answer is not AWS failing.
        let not_aws = error(ErrorKind::NotAws { status: 500 }, "");
        assert_eq!(verdict(&(not_aws, None), false), Verdict::Fail);
        assert_eq!(
            verdict(&(error(ErrorKind::Timeout, ""), None), false),
            Verdict::Fail
        );
    }

    #[test]
    fn eks_retries_only_its_answers_about_an_unseen_principal() {
        let eks = |message: &str| AwsError {
            call: "eks:CreateAccessEntry",
            object: None,
            kind: ErrorKind::Service("InvalidParameterException".into()),
            message: message.into(),
        };
        for unseen in [
            "The specified principalArn is invalid: invalid principal",
            "Role provided in the request does not exist",
        ] {
            assert_eq!(
                transient(&eks(unseen), true),
                Some(Transient::NotYetVisible)
            );
            assert_eq!(transient(&eks(unseen), false), None);
        }
        for other in [
            "Trust policy of the role provided is invalid",
            "The principalArn parameter format is not valid",
            "Invalid principal in policy",
        ] {
            assert_eq!(transient(&eks(other), true), None, "{other}");
        }
    }

    #[test]
    fn retry_after_counts_for_throttling_only() {
        let after = Some(Duration::from_secs(2));
        assert_eq!(
            verdict(&(error(ErrorKind::Throttled, ""), after), false),
            Verdict::RetryAfter(Duration::from_secs(2))
        );
        assert_eq!(
            verdict(&(error(ErrorKind::Throttled, ""), None), false),
            Verdict::Retry
        );
        assert_eq!(
            verdict(&(error(ErrorKind::NotFound, ""), after), true),
            Verdict::Retry
        );
        assert_eq!(
            verdict(&(error(ErrorKind::AccessDenied, ""), after), true),
            Verdict::Fail
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_success() {
        let throttled = Flaky::new(
            3,
            || (error(ErrorKind::Throttled, "Rate exceeded"), None),
            7,
        );
        let result = retry(&RetryPolicy::fast(Duration::from_secs(5)), false, || {
            throttled.call()
        })
        .await;
        throttled.assert_answered(result, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_error_fails_at_once() {
        let denied = Flaky::failing(|| (error(ErrorKind::AccessDenied, ""), None));
        let result = retry(&RetryPolicy::fast(Duration::from_secs(5)), true, || {
            denied.call()
        })
        .await;
        assert_eq!(
            result.map_err(|error| error.kind),
            Err(ErrorKind::AccessDenied)
        );
        assert_eq!(denied.attempts(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn consistency_retries_stop_at_the_budget() {
        let missing = Flaky::failing(|| (error(ErrorKind::NotFound, ""), None));
        let started = Instant::now();
        let result = retry(&RetryPolicy::fast(Duration::from_millis(200)), true, || {
            missing.call()
        })
        .await;
        assert_eq!(result.map_err(|error| error.kind), Err(ErrorKind::NotFound));
        assert!(missing.attempts() > 2);
        assert!(started.elapsed() <= Duration::from_millis(200));
    }

    #[tokio::test(start_paused = true)]
    async fn the_aws_policy_is_bounded_by_time_alone() {
        // A minute of NotYetVisible with 10 s ceilings: many attempts, none past the minute.
        let missing = Flaky::failing(|| (error(ErrorKind::NotFound, ""), None));
        let started = Instant::now();
        let result = retry(&RetryPolicy::aws(), true, || missing.call()).await;
        assert!(result.is_err());
        assert!(missing.attempts() > 8);
        assert!(started.elapsed() <= Duration::from_secs(60));
        assert!(
            started.elapsed() >= Duration::from_secs(50),
            "{:?}",
            started.elapsed()
        );
    }
}
