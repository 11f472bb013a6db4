//! The apply lock of a cluster: the `coordination.k8s.io/v1` Lease `kube-system/accessctl`, so
//! that two `accessctl apply` runs on one cluster never interleave their writes.
//!
//! A run takes the Lease before it reads the cluster for its plan, holding it as `HOST/PID`
//! with `leaseDurationSeconds` [`LEASE_SECONDS`]; a background task renews it every third of
//! that, and the run releases it at its end, whether the apply succeeded or not. Release does
//! what client-go's leader election does with `ReleaseOnCancel`: it updates the Lease with an
//! empty `holderIdentity`, `leaseDurationSeconds: 1` and both times set to now, rather than
//! deleting it (the Lease object keeps its `leaseTransitions`). A run that was killed leaves
//! the Lease held until `renewTime + leaseDurationSeconds`; after that, another run takes it
//! over. Every write carries the resourceVersion read: a 409 means another run won the race,
//! and the Lease is read again.
//!
//! The decision ([`decide`]) is a pure function of the Lease and the time; the time comes from
//! a [`RetryClock`], manual in tests.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};

use super::client::ClusterClient;
use super::error::{KubeError, KubeErrorKind};
use crate::retry::RetryClock;

pub const LEASE_NAMESPACE: &str = "kube-system";
pub const LEASE_NAME: &str = "accessctl";
/// How long a Lease holds without renewal.
pub const LEASE_SECONDS: i32 = 60;
/// How often a waiting run reads the Lease again.
const POLL: Duration = Duration::from_secs(2);

/// Who holds a Lease that is not ours to take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub identity: String,
    /// `acquireTime`, else `renewTime`: since when it has been held.
    pub since: Option<Timestamp>,
    /// `renewTime + leaseDurationSeconds`.
    pub expires: Timestamp,
}

/// What a run may do with the Lease as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// There is no Lease: create it.
    Create,
    /// Free (no holder), ours already, or expired: update it to hold it.
    Take {
        /// Whether another holder is replaced (its `leaseTransitions` counts one more).
        transition: bool,
    },
    /// Held by another run and not expired.
    Held(Holder),
}

/// The decision for `identity` at `now` over the Lease as read (`None`: there is none). A
/// holder whose Lease has no `renewTime` or no duration is taken as expired: nothing says it
/// is alive.
pub fn decide(spec: Option<&LeaseSpec>, identity: &str, now: Timestamp) -> Decision {
    let Some(spec) = spec else {
        return Decision::Create;
    };
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    if holder.is_empty() || holder == identity {
        return Decision::Take { transition: false };
    }
    let expires = spec.renew_time.as_ref().and_then(|renewed| {
        let seconds = i64::from(spec.lease_duration_seconds?);
        renewed
            .0
            .checked_add(k8s_openapi::jiff::SignedDuration::from_secs(seconds))
            .ok()
    });
    match expires {
        Some(expires) if expires >= now => Decision::Held(Holder {
            identity: holder.to_string(),
            since: spec
                .acquire_time
                .as_ref()
                .or(spec.renew_time.as_ref())
                .map(|time| time.0),
            expires,
        }),
        _ => Decision::Take { transition: true },
    }
}

/// `2026-01-02T03:04:05Z`.
pub fn seconds(time: Timestamp) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// This process as a Lease holder: `HOST/PID`.
pub fn identity() -> String {
    let host = hostname::get()
        .ok()
        .and_then(|host| host.into_string().ok())
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string());
    format!("{host}/{}", std::process::id())
}

fn timestamp(clock: &RetryClock) -> Timestamp {
    Timestamp::try_from(clock.now()).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// How to take the Lease.
#[derive(Clone, Debug)]
pub struct LockOptions {
    pub identity: String,
    /// How long to wait for another holder; zero refuses at once.
    pub timeout: Duration,
    pub clock: RetryClock,
}

/// Why the Lease could not be taken.
#[derive(Debug)]
pub enum LockError {
    /// Another run holds it (after waiting `waited`).
    Held {
        holder: Holder,
        waited: Duration,
    },
    Kube(KubeError),
}

impl From<KubeError> for LockError {
    fn from(error: KubeError) -> Self {
        LockError::Kube(error)
    }
}

/// A Lease held: renewed in the background until [`Held::release`].
pub struct Held {
    client: ClusterClient,
    identity: String,
    clock: RetryClock,
    lease: Arc<Mutex<Lease>>,
    /// Why renewing stopped, when it did.
    lost: Arc<Mutex<Option<String>>>,
    renew: tokio::task::JoinHandle<()>,
}

fn api(client: &ClusterClient) -> Api<Lease> {
    Api::namespaced(client.client().clone(), LEASE_NAMESPACE)
}

fn is_status(error: &KubeError, code: u16) -> bool {
    error.status() == Some(code)
}

/// The Lease as read, `None` when there is none.
async fn read(client: &ClusterClient) -> Result<Option<Lease>, KubeError> {
    let leases = api(client);
    let call = format!("GET leases {LEASE_NAMESPACE}/{LEASE_NAME}");
    match client.call(&call, || leases.get(LEASE_NAME)).await {
        Ok(lease) => Ok(Some(lease)),
        Err(error) if is_status(&error, 404) => Ok(None),
        Err(error) => Err(error),
    }
}

/// `lease` (or a new one) held by `identity` from `now`: `acquireTime` is kept when the holder
/// stays the same.
fn holding(lease: Option<&Lease>, identity: &str, now: Timestamp, transition: bool) -> Lease {
    let mut lease = lease.cloned().unwrap_or_else(|| Lease {
        metadata: ObjectMeta {
            name: Some(LEASE_NAME.to_string()),
            namespace: Some(LEASE_NAMESPACE.to_string()),
            ..ObjectMeta::default()
        },
        spec: None,
    });
    let mut spec = lease.spec.take().unwrap_or_default();
    let same_holder = spec.holder_identity.as_deref() == Some(identity);
    if !same_holder || spec.acquire_time.is_none() {
        spec.acquire_time = Some(MicroTime(now));
    }
    if transition {
        spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
    }
    spec.holder_identity = Some(identity.to_string());
    spec.lease_duration_seconds = Some(LEASE_SECONDS);
    spec.renew_time = Some(MicroTime(now));
    lease.spec = Some(spec);
    lease
}

/// Writes `lease`: created when `create`, else replaced under its resourceVersion. `None`: a
/// 409, someone else wrote first.
async fn write(
    client: &ClusterClient,
    lease: &Lease,
    create: bool,
) -> Result<Option<Lease>, KubeError> {
    let leases = api(client);
    let params = PostParams {
        field_manager: Some(super::FIELD_MANAGER.to_string()),
        ..PostParams::default()
    };
    let result = if create {
        let call = format!("POST leases {LEASE_NAMESPACE}/{LEASE_NAME}");
        client.call(&call, || leases.create(&params, lease)).await
    } else {
        let call = format!("PUT leases {LEASE_NAMESPACE}/{LEASE_NAME}");
        client
            .call(&call, || leases.replace(LEASE_NAME, &params, lease))
            .await
    };
    match result {
        Ok(written) => Ok(Some(written)),
        Err(error) if is_status(&error, 409) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Takes the Lease of `client`'s cluster for `options.identity`, waiting up to
/// `options.timeout` while another run holds it; `waiting` is told once who is waited for.
pub async fn acquire(
    client: &ClusterClient,
    options: &LockOptions,
    waiting: impl Fn(&Holder),
) -> Result<Held, LockError> {
    let clock = &options.clock;
    let started = clock.now();
    let mut told = false;
    loop {
        let lease = read(client).await?;
        let now = timestamp(clock);
        let decision = decide(
            lease.as_ref().and_then(|lease| lease.spec.as_ref()),
            &options.identity,
            now,
        );
        let (create, transition) = match decision {
            Decision::Create => (true, false),
            Decision::Take { transition } => (false, transition),
            Decision::Held(holder) => {
                let waited = clock.now().duration_since(started).unwrap_or_default();
                if waited >= options.timeout {
                    return Err(LockError::Held { holder, waited });
                }
                if !told {
                    waiting(&holder);
                    told = true;
                }
                clock.wait(POLL.min(options.timeout - waited)).await;
                continue;
            }
        };
        let wanted = holding(lease.as_ref(), &options.identity, now, transition);
        if let Some(written) = write(client, &wanted, create).await? {
            return Ok(Held::start(client.clone(), options, written));
        }
    }
}

impl Held {
    fn start(client: ClusterClient, options: &LockOptions, lease: Lease) -> Held {
        let lease = Arc::new(Mutex::new(lease));
        let lost = Arc::new(Mutex::new(None));
        let renew = tokio::spawn(renew_loop(
            client.clone(),
            options.identity.clone(),
            options.clock.clone(),
            lease.clone(),
            lost.clone(),
        ));
        Held {
            client,
            identity: options.identity.clone(),
            clock: options.clock.clone(),
            lease,
            lost,
            renew,
        }
    }

    /// The Lease as last written.
    pub fn lease(&self) -> Lease {
        self.lease
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Renews the Lease once now (what the background task does every third of its duration);
    /// a failure marks the Lease lost ([`Held::lost`]).
    pub async fn renew(&self) -> Result<(), String> {
        let result = renew_once(&self.client, &self.identity, &self.clock, &self.lease).await;
        if let Err(why) = &result {
            self.lost
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert_with(|| why.clone());
        }
        result
    }

    /// Why the Lease is no longer known to be held (a renewal failed, or another run holds
    /// it), if it is not: no further cluster write may start.
    pub fn lost(&self) -> Option<String> {
        self.lost
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops renewing and releases the Lease, as client-go's leader election does: holder
    /// cleared, duration 1 s, times now. A Lease someone else holds by now is left alone. The
    /// error says why the Lease could not be released or was lost while held.
    pub async fn release(self) -> Result<(), String> {
        self.renew.abort();
        if let Some(lost) = self.lost() {
            return Err(lost);
        }
        loop {
            let Some(mut lease) = read(&self.client).await.map_err(|error| error.message)? else {
                return Ok(());
            };
            let Some(spec) = lease.spec.as_mut() else {
                return Ok(());
            };
            if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
                return Ok(());
            }
            let now = MicroTime(timestamp(&self.clock));
            spec.holder_identity = None;
            spec.lease_duration_seconds = Some(1);
            spec.acquire_time = Some(now.clone());
            spec.renew_time = Some(now);
            if write(&self.client, &lease, false)
                .await
                .map_err(|error| error.message)?
                .is_some()
            {
                return Ok(());
            }
        }
    }
}

/// Renews the Lease held in `lease`: `renewTime` now, under its resourceVersion; on a 409 it is
/// read again and renewed when still ours.
async fn renew_once(
    client: &ClusterClient,
    identity: &str,
    clock: &RetryClock,
    lease: &Mutex<Lease>,
) -> Result<(), String> {
    let mut current = lease.lock().unwrap_or_else(PoisonError::into_inner).clone();
    loop {
        let renewed = holding(Some(&current), identity, timestamp(clock), false);
        match write(client, &renewed, false).await {
            Ok(Some(written)) => {
                *lease.lock().unwrap_or_else(PoisonError::into_inner) = written;
                return Ok(());
            }
            Ok(None) => {}
            Err(error) => return Err(error.message),
        }
        let read = read(client).await.map_err(|error| error.message)?;
        let holder = read
            .as_ref()
            .and_then(|lease| lease.spec.as_ref())
            .and_then(|spec| spec.holder_identity.clone())
            .unwrap_or_default();
        match read {
            Some(read) if holder == identity => current = read,
            _ if holder.is_empty() => {
                return Err(format!(
                    "the Lease {LEASE_NAMESPACE}/{LEASE_NAME} was released or deleted by someone else while this apply held it"
                ));
            }
            _ => {
                return Err(format!(
                    "the Lease {LEASE_NAMESPACE}/{LEASE_NAME} was taken over by `{holder}` while this apply held it"
                ));
            }
        }
    }
}

async fn renew_loop(
    client: ClusterClient,
    identity: String,
    clock: RetryClock,
    lease: Arc<Mutex<Lease>>,
    lost: Arc<Mutex<Option<String>>>,
) {
    // On tokio's clock (tests may pause it): a manual clock does not sleep, and renewing
    // would spin.
    let every = Duration::from_secs(u64::from(LEASE_SECONDS.unsigned_abs()) / 3);
    loop {
        tokio::time::sleep(every).await;
        if let Err(error) = renew_once(&client, &identity, &clock, &lease).await {
            *lost.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
            return;
        }
    }
}

/// Seconds as the `--lock-timeout` flag reads them back: `90s`, `5m`, `2h`.
pub fn duration_text(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0 => "0s".to_string(),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

impl LockError {
    /// The refusal for cluster `cluster`, naming the holder and since when.
    pub fn into_kube(self, cluster: &str, timeout: Duration) -> KubeError {
        let holder = match self {
            LockError::Kube(error) => return error,
            LockError::Held { holder, .. } => holder,
        };
        let since = holder
            .since
            .map(|since| format!(" since {}", seconds(since)))
            .unwrap_or_default();
        let lease = format!("Lease {LEASE_NAMESPACE}/{LEASE_NAME}");
        let message = if timeout.is_zero() {
            format!(
                "cluster {cluster} is being applied by {}{since} ({lease}); retry later, or --lock-timeout 5m to wait",
                holder.identity
            )
        } else {
            format!(
                "cluster {cluster} is still being applied by {}{since} ({lease}) after waiting {}; retry later, or wait longer with --lock-timeout",
                holder.identity,
                duration_text(timeout)
            )
        };
        KubeError::new(KubeErrorKind::Locked, message).with_hint(format!(
            "if no apply is running there (one was killed), the Lease expires at {} and is then taken over; in an emergency, --no-lock applies without it",
            seconds(holder.expires)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse()
            .unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    fn spec(holder: Option<&str>, renewed: Option<&str>, seconds: Option<i32>) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_string),
            acquire_time: Some(MicroTime(at("2026-01-01T00:00:00Z"))),
            renew_time: renewed.map(|time| MicroTime(at(time))),
            lease_duration_seconds: seconds,
            ..LeaseSpec::default()
        }
    }

    const ME: &str = "me/1";

    #[test]
    fn no_lease_is_created_and_a_free_or_own_lease_is_taken_without_a_transition() {
        let now = at("2026-01-01T00:00:30Z");
        assert_eq!(decide(None, ME, now), Decision::Create);
        for free in [
            spec(None, Some("2026-01-01T00:00:29Z"), Some(60)),
            spec(Some(""), Some("2026-01-01T00:00:29Z"), Some(60)),
            spec(Some(ME), Some("2026-01-01T00:00:29Z"), Some(60)),
        ] {
            assert_eq!(
                decide(Some(&free), ME, now),
                Decision::Take { transition: false }
            );
        }
    }

    #[test]
    fn another_holder_holds_until_renew_time_plus_duration_then_it_is_taken_over() {
        let lease = spec(Some("other/7"), Some("2026-01-01T00:00:10Z"), Some(60));
        let held = Decision::Held(Holder {
            identity: "other/7".to_string(),
            since: Some(at("2026-01-01T00:00:00Z")),
            expires: at("2026-01-01T00:01:10Z"),
        });
        assert_eq!(decide(Some(&lease), ME, at("2026-01-01T00:00:10Z")), held);
        // The last instant of the Lease still holds; the next one is past it.
        assert_eq!(decide(Some(&lease), ME, at("2026-01-01T00:01:10Z")), held);
        assert_eq!(
            decide(Some(&lease), ME, at("2026-01-01T00:01:10.000001Z")),
            Decision::Take { transition: true }
        );
    }

    #[test]
    fn a_holder_without_renew_time_or_duration_is_taken_as_expired() {
        let now = at("2026-01-01T00:00:30Z");
        for lease in [
            spec(Some("other/7"), None, Some(60)),
            spec(Some("other/7"), Some("2026-01-01T00:00:29Z"), None),
        ] {
            assert_eq!(
                decide(Some(&lease), ME, now),
                Decision::Take { transition: true }
            );
        }
    }

    #[test]
    fn holding_keeps_acquire_time_for_the_same_holder_and_counts_transitions() {
        let now = at("2026-01-01T00:00:40Z");
        let mut lease = Lease {
            metadata: ObjectMeta::default(),
            spec: Some(spec(Some(ME), Some("2026-01-01T00:00:20Z"), Some(60))),
        };
        let renewed = holding(Some(&lease), ME, now, false);
        let renewed = renewed.spec.unwrap_or_default();
        assert_eq!(
            renewed.acquire_time,
            Some(MicroTime(at("2026-01-01T00:00:00Z")))
        );
        assert_eq!(renewed.renew_time, Some(MicroTime(now)));
        assert_eq!(renewed.lease_duration_seconds, Some(LEASE_SECONDS));
        lease.spec = Some(spec(Some("other/7"), None, None));
        let taken = holding(Some(&lease), ME, now, true)
            .spec
            .unwrap_or_default();
        assert_eq!(taken.holder_identity.as_deref(), Some(ME));
        assert_eq!(taken.acquire_time, Some(MicroTime(now)));
        assert_eq!(taken.lease_transitions, Some(1));
    }

    #[test]
    fn durations_read_back_as_the_flag_takes_them() {
        assert_eq!(duration_text(Duration::from_secs(300)), "5m");
        assert_eq!(duration_text(Duration::from_secs(90)), "90s");
        assert_eq!(duration_text(Duration::from_secs(7200)), "2h");
    }
}
