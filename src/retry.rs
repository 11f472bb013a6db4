//! The one retry engine, for AWS ([`crate::aws::retry`]) and Kubernetes
//! ([`crate::kube::ClusterClient::call`]) alike.
//!
//! A call is attempted until it succeeds, its error is judged not worth retrying, or the
//! [`RetryPolicy`] runs out: no retry starts that would end after `max_elapsed`, and at most
//! `max_attempts` attempts are made (`max_transport_attempts` when the server could not be
//! reached). Each side brings its own classifier, which turns an error into a [`Verdict`].
//!
//! Waits are exponential with full jitter: uniformly random in `[0, min(max_delay, base_delay ×
//! 2^n)]` before retry `n + 1`, from a real PRNG ([`fastrand`], seeded per process), so callers
//! throttled together do not come back together. A `Retry-After` from the server is a floor:
//! the wait is never shorter than asked. Waits go through a [`RetryClock`]: the real one sleeps on
//! tokio's clock (tests may pause it), a manual one records the waits instead, so tests check the
//! delays chosen without waiting for them.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// How long and how often a failing call is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// No retry starts that would begin after this much time since the first attempt.
    pub max_elapsed: Duration,
    /// Attempts in all (the first included) for retryable answers of the server.
    pub max_attempts: u32,
    /// Attempts in all when the server cannot be reached or drops the connection.
    pub max_transport_attempts: u32,
    /// The first backoff ceiling; it doubles per retry.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// For the AWS writes of apply: bounded by time only (IAM's propagation delay after a
    /// create can take several seconds); a dropped connection up to 3 attempts (each of them
    /// is the SDK's own few attempts).
    pub fn aws() -> Self {
        RetryPolicy {
            max_elapsed: Duration::from_secs(60),
            max_attempts: u32::MAX,
            max_transport_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }

    /// For Kubernetes API calls (kube-rs' own retry loop is off): throttling and server errors
    /// up to 8 attempts, dropped connections up to 3 (every write is idempotent).
    pub fn kube() -> Self {
        RetryPolicy {
            max_elapsed: Duration::from_secs(60),
            max_attempts: 8,
            max_transport_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }

    /// Short waits within `max_elapsed`, for tests.
    pub fn fast(max_elapsed: Duration) -> Self {
        RetryPolicy {
            max_elapsed,
            max_attempts: u32::MAX,
            max_transport_attempts: 1,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        }
    }

    /// No retries at all (tests that want to see the first failure).
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            max_transport_attempts: 1,
            ..RetryPolicy::kube()
        }
    }

    /// The backoff ceiling before retry `retry + 1`: `min(max_delay, base_delay × 2^retry)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        self.base_delay
            .saturating_mul(1u32 << retry.min(20))
            .min(self.max_delay)
    }

    /// The wait before retry `retry + 1`: full jitter below [`Self::ceiling`], and never less
    /// than a `retry_after` the server asked for.
    pub fn delay(
        &self,
        retry: u32,
        retry_after: Option<Duration>,
        rng: &mut fastrand::Rng,
    ) -> Duration {
        let ceiling = u64::try_from(self.ceiling(retry).as_nanos()).unwrap_or(u64::MAX);
        let jitter = Duration::from_nanos(rng.u64(0..=ceiling));
        retry_after.map_or(jitter, |after| after.max(jitter))
    }
}

/// Where the retry loop waits between attempts and measures the time a call has taken.
///
/// [`RetryClock::real`] (the default) sleeps and reads the monotonic clock. A
/// [`RetryClock::manual`] clock does not sleep: each wait is recorded ([`RetryClock::waits`])
/// and counts as time passed for the call that waited, the time requests take counts as none.
/// Tests use it to pin what a retry waits for (`Retry-After`, backoff) and where it gives up,
/// without depending on the wall clock.
#[derive(Clone, Debug, Default)]
pub struct RetryClock {
    manual: Option<Arc<Mutex<Vec<Duration>>>>,
    /// The wall-clock time of a manual clock before its first wait.
    epoch: Option<SystemTime>,
}

impl RetryClock {
    /// The wall clock: waits sleep.
    pub fn real() -> Self {
        RetryClock::default()
    }

    /// A clock that records waits instead of sleeping (shared by the clones of the client).
    pub fn manual() -> Self {
        RetryClock::manual_at(UNIX_EPOCH)
    }

    /// A manual clock whose [`RetryClock::now`] starts at `epoch` and moves by its waits.
    pub fn manual_at(epoch: SystemTime) -> Self {
        RetryClock {
            manual: Some(Arc::new(Mutex::new(Vec::new()))),
            epoch: Some(epoch),
        }
    }

    /// The wall-clock time: the system's, or a manual clock's epoch plus its waits so far.
    pub fn now(&self) -> SystemTime {
        match self.epoch {
            None => SystemTime::now(),
            Some(epoch) => epoch + self.waits().iter().sum::<Duration>(),
        }
    }

    /// Every wait so far, in the order they were taken (always empty for the real clock).
    pub fn waits(&self) -> Vec<Duration> {
        self.manual.as_ref().map_or_else(Vec::new, |waits| {
            waits.lock().unwrap_or_else(PoisonError::into_inner).clone()
        })
    }

    /// Time since `started`, for a call that has waited `waited` in all.
    pub fn elapsed(&self, started: Instant, waited: Duration) -> Duration {
        match self.manual {
            None => started.elapsed(),
            Some(_) => waited,
        }
    }

    /// Waits `delay` (the manual clock records it and only yields).
    pub async fn wait(&self, delay: Duration) {
        match &self.manual {
            None => tokio::time::sleep(delay).await,
            Some(waits) => {
                waits
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(delay);
                tokio::task::yield_now().await;
            }
        }
    }
}

/// What a classifier makes of an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Retrying cannot help: fail now.
    Fail,
    /// May go away by itself: retry after the policy's backoff.
    Retry,
    /// The server asked to come back after this long (`Retry-After`).
    RetryAfter(Duration),
    /// The server could not be reached or dropped the connection: retry within
    /// [`RetryPolicy::max_transport_attempts`].
    Transport,
}

/// The error a retried call ended with, and how it came to end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure<E> {
    pub error: E,
    /// Attempts made, the first included.
    pub attempts: u32,
    /// Time from the first attempt to the end.
    pub elapsed: Duration,
    /// The last error was retryable, and the policy's bound stopped the retries.
    pub gave_up: bool,
}

/// Runs `attempt` until it succeeds, `classify` says [`Verdict::Fail`], or `policy` runs out,
/// waiting on `clock`; jitter from a PRNG seeded for this call.
pub async fn retry<T, E, F, Fut, C>(
    policy: &RetryPolicy,
    clock: &RetryClock,
    classify: C,
    attempt: F,
) -> Result<T, Failure<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    C: FnMut(&E) -> Verdict,
{
    retry_with(policy, clock, &mut fastrand::Rng::new(), classify, attempt).await
}

/// [`retry`] with the jitter drawn from `rng` (tests seed it).
pub async fn retry_with<T, E, F, Fut, C>(
    policy: &RetryPolicy,
    clock: &RetryClock,
    rng: &mut fastrand::Rng,
    mut classify: C,
    mut attempt: F,
) -> Result<T, Failure<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    C: FnMut(&E) -> Verdict,
{
    let started = Instant::now();
    let mut waited = Duration::ZERO;
    let mut attempts = 0u32;
    let mut transport_attempts = 0u32;
    loop {
        attempts += 1;
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let (retry_after, exhausted) = match classify(&error) {
            Verdict::Fail => {
                return Err(Failure {
                    error,
                    attempts,
                    elapsed: clock.elapsed(started, waited),
                    gave_up: false,
                });
            }
            Verdict::Retry => (None, attempts >= policy.max_attempts),
            Verdict::RetryAfter(after) => (Some(after), attempts >= policy.max_attempts),
            Verdict::Transport => {
                transport_attempts += 1;
                (None, transport_attempts >= policy.max_transport_attempts)
            }
        };
        let wait = policy.delay(attempts - 1, retry_after, rng);
        let elapsed = clock.elapsed(started, waited);
        if exhausted || elapsed + wait > policy.max_elapsed {
            return Err(Failure {
                error,
                attempts,
                elapsed,
                gave_up: true,
            });
        }
        clock.wait(wait).await;
        waited += wait;
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// Runs `retry_with` over answers given in order (then success), and returns the waits
    /// between attempts as paused time saw them, with the outcome.
    async fn waits(
        policy: &RetryPolicy,
        answers: &[Verdict],
    ) -> (Vec<Duration>, Result<usize, Failure<Verdict>>) {
        let times = RefCell::new(Vec::new());
        let mut rng = fastrand::Rng::with_seed(7);
        let clock = RetryClock::real();
        let outcome = retry_with(
            policy,
            &clock,
            &mut rng,
            |verdict| *verdict,
            || {
                let mut times = times.borrow_mut();
                times.push(Instant::now());
                let index = times.len() - 1;
                let answer = answers.get(index).copied();
                async move { answer.map_or(Ok(index), Err) }
            },
        )
        .await;
        let times = times.into_inner();
        let gaps = times.windows(2).map(|pair| pair[1] - pair[0]).collect();
        (gaps, outcome)
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_elapsed: Duration::from_secs(60),
            max_attempts: u32::MAX,
            max_transport_attempts: 2,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        }
    }

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let ceilings: Vec<u128> = (0..6).map(|n| policy().ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(policy().ceiling(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn jitter_is_full_and_within_the_ceiling() {
        let mut rng = fastrand::Rng::with_seed(1);
        let waits: Vec<Duration> = (0..1000)
            .map(|_| policy().delay(10, None, &mut rng))
            .collect();
        assert!(waits.iter().all(|wait| *wait <= Duration::from_secs(1)));
        // Full jitter: the waits cover the whole range, not just its upper half.
        assert!(waits.iter().any(|wait| *wait < Duration::from_millis(100)));
        assert!(waits.iter().any(|wait| *wait > Duration::from_millis(900)));
        let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
        assert!(distinct.len() > 990, "{}", distinct.len());
    }

    #[test]
    fn callers_draw_different_jitter() {
        // Two calls at the same moment (each with its own PRNG, as `retry` makes) spread out.
        let draws: std::collections::BTreeSet<Duration> = (0..50)
            .map(|_| policy().delay(5, None, &mut fastrand::Rng::new()))
            .collect();
        assert!(draws.len() > 40, "{draws:?}");
    }

    #[test]
    fn retry_after_is_a_floor() {
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..100 {
            let wait = policy().delay(0, Some(Duration::from_secs(3)), &mut rng);
            assert_eq!(wait, Duration::from_secs(3));
            let wait = policy().delay(4, Some(Duration::from_millis(1)), &mut rng);
            assert!(wait >= Duration::from_millis(1) && wait <= Duration::from_secs(1));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waits_are_jittered_backoff_and_retry_after_is_honoured() {
        let answers = [
            Verdict::Retry,
            Verdict::Retry,
            Verdict::RetryAfter(Duration::from_secs(7)),
            Verdict::Retry,
        ];
        let (gaps, outcome) = waits(&policy(), &answers).await;
        assert_eq!(outcome, Ok(4));
        assert_eq!(gaps.len(), 4);
        for (retry, gap) in gaps.iter().enumerate() {
            let retry = u32::try_from(retry).expect("small");
            if retry == 2 {
                assert!(*gap >= Duration::from_secs(7), "{gap:?}");
                assert!(*gap < Duration::from_secs(7) + Duration::from_millis(5));
            } else {
                assert!(*gap <= policy().ceiling(retry), "retry {retry}: {gap:?}");
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn no_retry_starts_past_the_time_bound() {
        let bounded = RetryPolicy {
            max_elapsed: Duration::from_secs(5),
            ..policy()
        };
        let answers = [Verdict::Retry; 1000];
        let started = Instant::now();
        let (gaps, outcome) = waits(&bounded, &answers).await;
        let failure = outcome.expect_err("never succeeds");
        assert!(failure.gave_up);
        assert_eq!(
            usize::try_from(failure.attempts).expect("small"),
            gaps.len() + 1
        );
        assert!(failure.attempts > 5, "{}", failure.attempts);
        assert!(
            started.elapsed() <= Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(failure.elapsed, started.elapsed());

        // A Retry-After past the bound ends the retries at once.
        let (gaps, outcome) = waits(&bounded, &[Verdict::RetryAfter(Duration::from_secs(6))]).await;
        assert!(gaps.is_empty());
        let failure = outcome.expect_err("gives up");
        assert!(failure.gave_up);
        assert_eq!(failure.attempts, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_are_bounded_by_kind() {
        let bounded = RetryPolicy {
            max_attempts: 3,
            ..policy()
        };
        let (_, outcome) = waits(&bounded, &[Verdict::Retry; 10]).await;
        assert_eq!(
            outcome.map_err(|failure| (failure.attempts, failure.gave_up)),
            Err((3, true))
        );
        // Two transport attempts allowed: the second dropped connection ends it.
        let (_, outcome) = waits(&bounded, &[Verdict::Transport; 10]).await;
        assert_eq!(outcome.map_err(|failure| failure.attempts), Err(2));
        let (_, outcome) = waits(&bounded, &[Verdict::Transport, Verdict::Retry]).await;
        assert_eq!(outcome, Ok(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_error_fails_at_once() {
        let (gaps, outcome) = waits(&policy(), &[Verdict::Retry, Verdict::Fail]).await;
        assert_eq!(gaps.len(), 1);
        let failure = outcome.expect_err("fails");
        assert_eq!(
            (failure.error, failure.attempts, failure.gave_up),
            (Verdict::Fail, 2, false)
        );
    }

    #[tokio::test]
    async fn a_manual_clock_records_the_waits_and_counts_them_as_time() {
        let clock = RetryClock::manual();
        let bounded = RetryPolicy {
            max_elapsed: Duration::from_secs(2),
            ..policy()
        };
        let answers = [Verdict::RetryAfter(Duration::from_secs(1)); 10];
        let mut rng = fastrand::Rng::with_seed(9);
        let mut index = 0;
        let outcome: Result<(), _> = retry_with(
            &bounded,
            &clock,
            &mut rng,
            |v| *v,
            || {
                index += 1;
                let answer = answers[index - 1];
                async move { Err(answer) }
            },
        )
        .await;
        let failure = outcome.expect_err("never succeeds");
        // Room for two one-second waits within two seconds: three attempts.
        assert_eq!(clock.waits(), [Duration::from_secs(1); 2]);
        assert_eq!(
            (failure.attempts, failure.elapsed),
            (3, Duration::from_secs(2))
        );
        assert!(failure.gave_up);
        assert!(RetryClock::real().waits().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn none_never_retries() {
        let (gaps, outcome) = waits(&RetryPolicy::none(), &[Verdict::Retry]).await;
        assert!(gaps.is_empty());
        assert_eq!(outcome.map_err(|failure| failure.attempts), Err(1));
    }
}
