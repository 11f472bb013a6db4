//! The apply lock flags and the Leases one apply holds: one per cluster it connects to, taken
//! before live state is read and released at the end, success or failure (src/kube/lease.rs).
//! A file without clusters takes none.

use std::time::Duration;

use clap::Args;

use super::{CliError, Printer};
use crate::apply::ApplyError;
use crate::kube::lease::{self, Held, LockOptions};
use crate::live::Connections;
use crate::retry::RetryClock;

#[derive(Debug, Args)]
pub struct LockArgs {
    /// How long to wait while another apply holds a cluster's Lease (`kube-system/accessctl`),
    /// e.g. `90s`, `5m`; 0 refuses at once
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = parse_duration)]
    pub lock_timeout: Duration,
    /// Apply without taking the clusters' Leases (emergencies only: another apply may then
    /// interleave its writes with this one's)
    #[arg(long, conflicts_with = "lock_timeout")]
    pub no_lock: bool,
}

/// `0`, `45` or `45s`, `5m`, `1h`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => 0,
    };
    match digits.parse::<u64>() {
        Ok(count) if factor > 0 => Ok(Duration::from_secs(count.saturating_mul(factor))),
        _ => Err(format!(
            "`{text}` is not a duration: a whole number of seconds, minutes or hours, e.g. 90s, 5m, 1h"
        )),
    }
}

/// The Leases held, by cluster.
#[derive(Default)]
pub struct Locks {
    held: Vec<(String, Held)>,
}

impl Locks {
    /// Takes the Lease of every cluster of `connections`, in name order (two runs on the same
    /// clusters cannot each hold one the other waits for), unless `--no-lock`.
    pub async fn acquire(
        connections: &Connections,
        args: &LockArgs,
        printer: &Printer,
    ) -> Result<Locks, CliError> {
        let mut locks = Locks::default();
        if args.no_lock {
            if !connections.clusters.is_empty() {
                printer.info("warning: --no-lock: applying without the clusters' Leases; another apply may interleave its writes");
            }
            return Ok(locks);
        }
        let options = LockOptions {
            identity: lease::identity(),
            timeout: args.lock_timeout,
            clock: RetryClock::real(),
        };
        for (name, client) in &connections.clusters {
            let waiting = |holder: &lease::Holder| {
                printer.info(&format!(
                    "cluster {name} is being applied by {}; waiting up to {} for its Lease…",
                    holder.identity,
                    lease::duration_text(args.lock_timeout)
                ));
            };
            match lease::acquire(client, &options, waiting).await {
                Ok(held) => locks.held.push((name.clone(), held)),
                Err(error) => {
                    locks.release(printer).await;
                    let error = error.into_kube(name, args.lock_timeout);
                    let cli = CliError::new(error.message);
                    return Err(match error.hint {
                        Some(hint) => cli.with_hint(hint),
                        None => cli,
                    });
                }
            }
        }
        Ok(locks)
    }

    /// Whether a write to `cluster` may start: not once its Lease was lost (renewal failed or
    /// another run holds it). A cluster without a Lease (`--no-lock`) is not checked.
    pub fn check(&self, cluster: &str) -> Result<(), ApplyError> {
        let lost = self
            .held
            .iter()
            .filter(|(name, _)| name == cluster)
            .find_map(|(_, held)| held.lost());
        match lost {
            Some(why) => Err(ApplyError::new(format!(
                "cluster {cluster}: no further writes were started: {why}"
            ))
            .with_hint(
                "another apply may be writing to this cluster; let it finish, then run `accessctl apply` again: it plans afresh from what is live",
            )),
            None => Ok(()),
        }
    }

    /// Releases every Lease; one that cannot be released is named (it expires by itself).
    pub async fn release(self, printer: &Printer) {
        for (name, held) in self.held {
            if let Err(why) = held.release().await {
                printer.info(&format!(
                    "warning: cluster {name}: the apply Lease {}/{} could not be released cleanly: {why}; it expires within {}s",
                    lease::LEASE_NAMESPACE,
                    lease::LEASE_NAME,
                    lease::LEASE_SECONDS
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_whole_seconds_minutes_or_hours() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["", "5x", "m", "-1", "1.5m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
