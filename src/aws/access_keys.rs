//! The live read of access keys: a user's keys (one paginated `ListAccessKeys`, and one
//! `GetAccessKeyLastUsed` per key) and, for a user that declares `accessKeys`, which key each
//! destination holds as its own record says (the Secret's annotation, read as metadata only;
//! the Secrets Manager secret's tag, from `DescribeSecret`). Never a secret value. Users are
//! read [`CONCURRENCY`] at a time, each call through the retry engine ([`AwsCalls`]).

use aws_config::{Region, SdkConfig};
use aws_sdk_iam::Client;
use aws_smithy_types::date_time::Format;
use futures_util::{StreamExt as _, TryStreamExt as _};

use super::read::CONCURRENCY;
use super::retry::{AwsCalls, RetryPolicy};
use super::{AwsError, CallCounter, ErrorKind};
use crate::kube::ClusterClient;
use crate::kube::secret::read_key_annotation;
use crate::live::LiveError;
use crate::model::access_key::{KEY_ID_ANNOTATION, mask};
use crate::model::{AccessKey, AccessKeys, Destination, KeyRotation, KeyStatus};

/// A Secrets Manager client for `region` (default: the configuration's), counted with the
/// other calls of the run.
pub fn secrets_manager(
    sdk: &SdkConfig,
    counter: &CallCounter,
    region: Option<&str>,
) -> aws_sdk_secretsmanager::Client {
    let mut builder =
        aws_sdk_secretsmanager::config::Builder::from(sdk).interceptor(counter.clone());
    if let Some(region) = region {
        builder = builder.region(Region::new(region.to_string()));
    }
    aws_sdk_secretsmanager::Client::from_conf(builder.build())
}

/// What the key reads need: IAM, the configuration for Secrets Manager clients, the clusters
/// the Secrets are in, and when ages are measured.
pub struct KeyReader<'a> {
    pub iam: &'a Client,
    pub sdk: &'a SdkConfig,
    pub counter: &'a CallCounter,
    pub clusters: &'a std::collections::BTreeMap<String, ClusterClient>,
    /// Seconds since the epoch.
    pub now: i64,
    pub retry: RetryPolicy,
}

impl AwsCalls for KeyReader<'_> {
    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
}

impl KeyReader<'_> {
    /// The keys of each of `users` and, where a rotation is given, what its destinations hold.
    pub async fn read(
        &self,
        users: Vec<(String, Option<&KeyRotation>)>,
    ) -> Result<Vec<(String, AccessKeys)>, LiveError> {
        futures_util::stream::iter(users)
            .map(|(user, rotation)| async move {
                let keys = self.keys(&user).await.map_err(LiveError::Aws)?;
                let mut held = Vec::new();
                for to in rotation.map(|r| r.deliver_to.as_slice()).unwrap_or(&[]) {
                    held.extend(self.held(to).await?);
                }
                Ok::<_, LiveError>((
                    user,
                    AccessKeys {
                        rotation: None,
                        keys,
                        held,
                    },
                ))
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await
    }

    /// A user's keys: ids masked, status, age in whole days at `now`, creation and last use;
    /// oldest first.
    async fn keys(&self, user: &str) -> Result<Vec<AccessKey>, AwsError> {
        let object = format!("user `{user}`");
        let listed = self
            .call("iam:ListAccessKeys", &object, false, || {
                let pages = self.iam.list_access_keys().user_name(user).into_paginator();
                pages.items().send().try_collect()
            })
            .await?;
        let mut keys = Vec::new();
        for key in listed {
            let Some(id) = key.access_key_id() else {
                continue;
            };
            let object = format!("access key {} of user `{user}`", mask(id));
            let last_used = self
                .call("iam:GetAccessKeyLastUsed", &object, false, || {
                    self.iam.get_access_key_last_used().access_key_id(id).send()
                })
                .await?
                .access_key_last_used()
                .and_then(|used| used.last_used_date())
                .copied();
            let days_since =
                |secs: i64| u32::try_from((self.now - secs).max(0) / 86_400).unwrap_or(u32::MAX);
            let created = key.create_date();
            keys.push(AccessKey {
                id: mask(id),
                status: match key.status() {
                    Some(aws_sdk_iam::types::StatusType::Active) => KeyStatus::Active,
                    _ => KeyStatus::Inactive,
                },
                age_days: created.map_or(0, |date| days_since(date.secs())),
                created: created.and_then(|date| date.fmt(Format::DateTime).ok()),
                last_used: last_used.and_then(|date| date.fmt(Format::DateTime).ok()),
                unused_days: last_used.map(|date| days_since(date.secs())),
            });
        }
        keys.sort_by(|a, b| b.age_days.cmp(&a.age_days).then(a.id.cmp(&b.id)));
        Ok(keys)
    }

    /// Which key destination `to` holds; `None` when it cannot be read here (a Secret in a
    /// cluster without a connection).
    async fn held(&self, to: &Destination) -> Result<Option<crate::model::Held>, LiveError> {
        let found = match to {
            Destination::Secret {
                cluster,
                namespace,
                name,
            } => {
                let Some(client) = self.clusters.get(cluster) else {
                    return Ok(None);
                };
                read_key_annotation(client, namespace, name)
                    .await
                    .map_err(LiveError::Kube)?
            }
            Destination::SecretsManager { name, region } => {
                let client = secrets_manager(self.sdk, self.counter, region.as_deref());
                let described = self
                    .call(
                        "secretsmanager:DescribeSecret",
                        &to.to_string(),
                        false,
                        || client.describe_secret().secret_id(name).send(),
                    )
                    .await;
                match described {
                    // A secret scheduled for deletion holds nothing anyone can read: missing,
                    // as a Secret deleted by hand is (delivery restores it).
                    Ok(secret) if secret.deleted_date().is_some() => None,
                    Ok(secret) => Some(
                        secret
                            .tags()
                            .iter()
                            .find(|tag| tag.key() == Some(KEY_ID_ANNOTATION))
                            .and_then(|tag| tag.value())
                            .map(str::to_string),
                    ),
                    Err(error) if error.kind == ErrorKind::NotFound => None,
                    Err(error) => return Err(LiveError::Aws(error)),
                }
            }
        };
        Ok(Some(crate::model::Held {
            destination: to.clone(),
            exists: found.is_some(),
            key: found.flatten(),
        }))
    }
}
