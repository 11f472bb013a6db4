//! Live AWS: SDK configuration ([`config`]), the caller ([`caller`]), the IAM read
//! ([`read`]) that fills [`model::State`](crate::model::State), and the IAM apply ([`apply`],
//! with [`retry`]).
//!
//! Only this module talks to AWS; everything it returns is a plain model value.

pub mod access_keys;
pub mod apply;
pub mod caller;
pub mod config;
pub mod credentials;
pub mod eks;
pub mod eks_apply;
pub mod error;
pub mod permissions;
pub mod read;
pub mod retry;

pub use apply::IamExecutor;
pub use caller::caller_identity;
pub use config::{AwsOptions, CallCounter, CallCounts, Clients};
pub use error::{AwsError, ErrorKind};
pub use read::{decode_document, read_iam_objects};
pub use retry::RetryPolicy;

use crate::model::{Caller, Iam, State, parse_arn};

/// Reads the caller and all of IAM that accessctl models, concurrently, in few calls. The
/// counts are the calls this read made.
pub async fn read_iam(clients: &Clients) -> Result<(Caller, Iam, CallCounts), AwsError> {
    let before = clients.counter.snapshot();
    let (caller, iam) = tokio::try_join!(
        caller_identity(&clients.sts),
        read_iam_objects(&clients.iam)
    )?;
    Ok((caller, iam, clients.counter.snapshot().since(&before)))
}

/// The live [`State`] with IAM filled in (account, partition and caller from STS); clusters
/// are read elsewhere. What a future `accessctl snapshot` writes.
pub async fn read_state(clients: &Clients) -> Result<(State, CallCounts), AwsError> {
    let (caller, iam, calls) = read_iam(clients).await?;
    Ok((live_state(caller, iam), calls))
}

/// Assembles the live [`State`] from what [`read_iam`] returned.
pub fn live_state(caller: Caller, iam: Iam) -> State {
    let partition = parse_arn(&caller.arn)
        .map(|arn| arn.partition.to_string())
        .unwrap_or_else(crate::model::default_partition);
    State {
        format_version: crate::model::STATE_FORMAT_VERSION,
        account: Some(caller.account.clone()),
        partition,
        caller: Some(caller),
        iam,
        ..State::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_state_takes_account_and_partition_from_the_caller() {
        let state = live_state(
            Caller {
                account: "111122223333".into(),
                arn: "arn:aws-cn:sts::111122223333:assumed-role/ops/s".into(),
            },
            Iam::default(),
        );
        assert_eq!(state.account.as_deref(), Some("111122223333"));
        assert_eq!(state.partition, "aws-cn");
        assert_eq!(state.format_version, crate::model::STATE_FORMAT_VERSION);
    }
}
