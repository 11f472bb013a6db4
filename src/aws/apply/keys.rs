//! Access keys: IAM's two-key limit followed as the runbook does by hand. Keys to drop are
//! deleted first, the new key is created and written to every destination, and only then is
//! the old key deactivated. A delivery that fails deletes the new key again in the same apply
//! (its secret cannot be read twice), so a re-run starts from where it was.
//!
//! The secret lives only in a [`SecretKey`] between `CreateAccessKey` and the writes: it has no
//! `Display`, no `Serialize`, and its `Debug` prints nothing of it.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_iam::types::StatusType;

use crate::apply::{ApplyError, Executor};
use crate::aws::CallCounter;
use crate::aws::access_keys::secrets_manager;
use crate::aws::retry::{AwsCalls, Request, RetryPolicy, ServiceError, aws_calls};
use crate::aws::{AwsError, ErrorKind};
use crate::kube::ClusterClient;
use crate::kube::secret::write_secret;
use crate::model::access_key::{
    ACCESS_KEY_ID_KEY, KEY_CREATED_ANNOTATION, KEY_ID_ANNOTATION, NEW_KEY, SECRET_ACCESS_KEY_KEY,
    mask,
};
use crate::model::{AccessKeys, Destination, KeyStatus};
use crate::plan::{Action, Change, Object};

use super::{Created, apply_error};

/// A secret access key, in memory only.
pub struct SecretKey(String);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<hidden>)")
    }
}

/// A key IAM just created: its id, its creation time and its secret.
struct NewKey {
    id: String,
    created: String,
    secret: SecretKey,
}

/// Carries out `iam.access-key.USER` changes: IAM, the clusters' Secrets, Secrets Manager.
///
/// Every AWS call goes through the one [`AwsCalls`] wrapper: throttling is retried, and so is
/// IAM's `NoSuchEntity` about a user this apply created (shared with the IAM executor:
/// [`Self::with_created`]) or about the key it has just created.
pub struct KeyExecutor {
    iam: aws_sdk_iam::Client,
    sdk: SdkConfig,
    counter: CallCounter,
    clusters: BTreeMap<String, ClusterClient>,
    retry: RetryPolicy,
    created: Created,
}

aws_calls!(KeyExecutor);

/// How errors name a key: by its masked id, never more.
fn key_object(user: &str, id: &str) -> String {
    format!("access key {} of user `{user}`", mask(id))
}

impl KeyExecutor {
    pub fn new(
        iam: aws_sdk_iam::Client,
        sdk: SdkConfig,
        counter: CallCounter,
        clusters: BTreeMap<String, ClusterClient>,
    ) -> Self {
        KeyExecutor {
            iam,
            sdk,
            counter,
            clusters,
            retry: RetryPolicy::aws(),
            created: Created::default(),
        }
    }

    /// Whether this apply created IAM user `user`: only then is `NoSuchEntity` about it taken
    /// for propagation delay.
    fn user_is_fresh(&self, user: &str) -> bool {
        self.created.has_user(user)
    }

    /// One IAM call about `user`'s keys, `object` labelling its error; fresh when this apply
    /// created the user.
    async fn user_call<T, E: ServiceError>(
        &self,
        name: &'static str,
        user: &str,
        object: &str,
        send: impl Request<T, E>,
    ) -> Result<T, AwsError> {
        self.call(name, object, self.user_is_fresh(user), send)
            .await
    }

    /// The user's keys now, by masked id: the full id apply needs, and the status.
    async fn live(&self, user: &str) -> Result<BTreeMap<String, String>, ApplyError> {
        let listed = self
            .user_call(
                "iam:ListAccessKeys",
                user,
                &format!("user `{user}`"),
                || {
                    let pages = self.iam.list_access_keys().user_name(user).into_paginator();
                    pages.items().send().try_collect()
                },
            )
            .await
            .map_err(|error| apply_error(&error))?;
        let mut by_mask = BTreeMap::new();
        for id in listed.iter().filter_map(|key| key.access_key_id()) {
            if by_mask.insert(mask(id), id.to_string()).is_some() {
                return Err(ApplyError::new(format!(
                    "user `{user}` has two access keys shown as {}: accessctl cannot tell them apart",
                    mask(id)
                ))
                .with_hint("delete one of them by hand (`aws iam delete-access-key`), then run apply again"));
            }
        }
        Ok(by_mask)
    }

    fn full_id<'a>(
        live: &'a BTreeMap<String, String>,
        user: &str,
        masked: &str,
    ) -> Result<&'a str, ApplyError> {
        live.get(masked).map(String::as_str).ok_or_else(|| {
            ApplyError::new(format!(
                "access key {masked} of user `{user}` is gone since the plan was made"
            ))
            .with_hint("run `accessctl plan` again: it plans from what is live now")
        })
    }

    /// Deletes a key that was live when this apply listed them: one already gone is nothing
    /// to do.
    async fn delete(&self, user: &str, id: &str) -> Result<(), ApplyError> {
        self.call_if_exists("iam:DeleteAccessKey", &key_object(user, id), || {
            self.iam
                .delete_access_key()
                .user_name(user)
                .access_key_id(id)
                .send()
        })
        .await
        .map_err(|error| apply_error(&error))?;
        Ok(())
    }

    /// Deletes the key this apply has just created (its delivery failed): fresh, so IAM's
    /// `NoSuchEntity` about it is propagation delay, retried, never taken for "already gone".
    async fn undo(&self, user: &str, id: &str) -> Result<(), AwsError> {
        self.call("iam:DeleteAccessKey", &key_object(user, id), true, || {
            self.iam
                .delete_access_key()
                .user_name(user)
                .access_key_id(id)
                .send()
        })
        .await?;
        Ok(())
    }

    async fn deactivate(&self, user: &str, id: &str) -> Result<(), ApplyError> {
        self.user_call("iam:UpdateAccessKey", user, &key_object(user, id), || {
            self.iam
                .update_access_key()
                .user_name(user)
                .access_key_id(id)
                .status(StatusType::Inactive)
                .send()
        })
        .await
        .map_err(|error| apply_error(&error))?;
        Ok(())
    }

    async fn create(&self, user: &str) -> Result<NewKey, ApplyError> {
        let created = self
            .user_call(
                "iam:CreateAccessKey",
                user,
                &format!("user `{user}`"),
                || self.iam.create_access_key().user_name(user).send(),
            )
            .await
            .map_err(|error| apply_error(&error))?;
        let key = created.access_key().ok_or_else(|| {
            ApplyError::new(format!(
                "iam:CreateAccessKey for user `{user}` returned no key"
            ))
        })?;
        Ok(NewKey {
            id: key.access_key_id().to_string(),
            created: key
                .create_date()
                .and_then(|date| date.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                .unwrap_or_default(),
            secret: SecretKey(key.secret_access_key().to_string()),
        })
    }

    /// Writes the key to one destination.
    /// One write to a Secrets Manager secret, its error as the text [`Self::deliver`] reports.
    async fn secret_write<T, E: ServiceError>(
        &self,
        name: &'static str,
        object: &str,
        send: impl Request<T, E>,
    ) -> Result<(), String> {
        self.call(name, object, false, send)
            .await
            .map(drop)
            .map_err(|error| error.to_string())
    }

    async fn deliver(&self, user: &str, key: &NewKey, to: &Destination) -> Result<(), String> {
        let values = BTreeMap::from([
            (ACCESS_KEY_ID_KEY.to_string(), key.id.clone()),
            (SECRET_ACCESS_KEY_KEY.to_string(), key.secret.0.clone()),
        ]);
        match to {
            Destination::Secret {
                cluster,
                namespace,
                name,
            } => {
                let client = self
                    .clusters
                    .get(cluster)
                    .ok_or_else(|| format!("no connection to cluster `{cluster}`"))?;
                let annotations = BTreeMap::from([
                    (KEY_ID_ANNOTATION.to_string(), mask(&key.id)),
                    (KEY_CREATED_ANNOTATION.to_string(), key.created.clone()),
                    ("accessctl.io/iam-user".to_string(), user.to_string()),
                ]);
                write_secret(client, namespace, name, values, annotations)
                    .await
                    .map_err(|error| error.to_string())
            }
            Destination::SecretsManager { name, region } => {
                let client = secrets_manager(&self.sdk, &self.counter, region.as_deref());
                let json = serde_json::to_string(&values).map_err(|e| e.to_string())?;
                let object = match region {
                    Some(region) => format!("Secrets Manager secret `{name}` in {region}"),
                    None => format!("Secrets Manager secret `{name}`"),
                };
                // The record of which key it holds, read back by the next plan.
                let key_tag = aws_sdk_secretsmanager::types::Tag::builder()
                    .key(KEY_ID_ANNOTATION)
                    .value(mask(&key.id))
                    .build();
                let described = self
                    .call("secretsmanager:DescribeSecret", &object, false, || {
                        client.describe_secret().secret_id(name).send()
                    })
                    .await;
                match described {
                    Ok(secret) => {
                        // Deleted by hand, within its recovery window: restored, then written.
                        if secret.deleted_date().is_some() {
                            self.secret_write("secretsmanager:RestoreSecret", &object, || {
                                client.restore_secret().secret_id(name).send()
                            })
                            .await?;
                        }
                        self.secret_write("secretsmanager:PutSecretValue", &object, || {
                            client
                                .put_secret_value()
                                .secret_id(name)
                                .secret_string(json.clone())
                                .send()
                        })
                        .await?;
                        self.secret_write("secretsmanager:TagResource", &object, || {
                            client
                                .tag_resource()
                                .secret_id(name)
                                .tags(key_tag.clone())
                                .send()
                        })
                        .await
                    }
                    Err(error) if error.kind == ErrorKind::NotFound => {
                        self.secret_write("secretsmanager:CreateSecret", &object, || {
                            client
                                .create_secret()
                                .name(name)
                                .description(format!(
                                    "access key of IAM user {user}, managed by accessctl"
                                ))
                                .tags(
                                    aws_sdk_secretsmanager::types::Tag::builder()
                                        .key(crate::model::MANAGED_BY_TAG)
                                        .value(crate::model::MANAGED_BY_VALUE)
                                        .build(),
                                )
                                .tags(key_tag.clone())
                                .secret_string(json.clone())
                                .send()
                        })
                        .await
                    }
                    Err(error) => Err(error.to_string()),
                }
            }
        }
    }

    async fn change(&self, change: &Change) -> Result<(), ApplyError> {
        let user = change.address.name.as_str();
        let keys = |object: &Option<Object>| match object {
            Some(Object::AccessKeys(keys)) => keys.clone(),
            _ => AccessKeys::default(),
        };
        let (before, after) = (keys(&change.before), keys(&change.after));
        let live = self.live(user).await?;
        if change.action == Action::Delete {
            for key in &before.keys {
                let id = Self::full_id(&live, user, &key.id)?;
                self.delete(user, id).await?;
            }
            return Ok(());
        }
        let kept: Vec<&str> = after.keys.iter().map(|k| k.id.as_str()).collect();
        // 1. Make room: IAM allows two keys.
        for key in before
            .keys
            .iter()
            .filter(|k| !kept.contains(&k.id.as_str()))
        {
            let id = Self::full_id(&live, user, &key.id)?;
            self.delete(user, id).await?;
        }
        // 2. The new key, written everywhere before the old one stops working.
        if kept.contains(&NEW_KEY) {
            let rotation = after.rotation.as_ref().ok_or_else(|| {
                ApplyError::new(format!(
                    "`{}`: a new key without destinations",
                    change.address
                ))
            })?;
            let key = self.create(user).await?;
            for to in &rotation.deliver_to {
                if let Err(why) = self.deliver(user, &key, to).await {
                    let undone = match self.undo(user, &key.id).await {
                        Ok(()) => format!(
                            "the new key {} was deleted again (its secret cannot be read twice)",
                            mask(&key.id)
                        ),
                        Err(error) => format!(
                            "the new key {} could not be deleted either ({}): delete it by hand",
                            mask(&key.id),
                            error
                        ),
                    };
                    return Err(ApplyError::new(format!(
                        "user `{user}`: delivering the new access key to {to} failed: {why}; {undone}; the old keys are unchanged"
                    ))
                    .with_hint("fix the destination and run `accessctl apply` again: it creates and delivers a new key"));
                }
            }
        }
        // 3. Only now: the old keys stop working.
        for key in &after.keys {
            let was_active = before
                .keys
                .iter()
                .any(|b| b.id == key.id && b.status == KeyStatus::Active);
            if key.status == KeyStatus::Inactive && was_active {
                let id = Self::full_id(&live, user, &key.id)?;
                self.deactivate(user, id).await?;
            }
        }
        Ok(())
    }
}

impl Executor for KeyExecutor {
    async fn execute(&self, unit: &[Change]) -> Result<(), ApplyError> {
        for change in unit {
            self.change(change).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_sdk_iam::operation::create_access_key::CreateAccessKeyError;
    use aws_sdk_iam::types::error::NoSuchEntityException;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;
    use crate::aws::ErrorKind;
    use crate::aws::retry::{Flaky, Transient, transient};
    use aws_config::Region;

    /// A key executor of an apply that has created user `eksuser` (at a path: key calls name
    /// the user by name alone), with short waits.
    fn executor() -> KeyExecutor {
        let created = Created::default();
        created.insert(crate::model::arn::user(
            "aws",
            "123456789012",
            "/ci/",
            "eksuser",
        ));
        let iam = aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::Config::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .build(),
        );
        KeyExecutor::new(
            iam,
            SdkConfig::builder().build(),
            CallCounter::default(),
            BTreeMap::new(),
        )
        .with_retry(RetryPolicy::fast(Duration::from_secs(5)))
        .with_created(created)
    }

    /// IAM's answer about a user it has not propagated yet (or that does not exist).
    fn no_such_user() -> SdkError<CreateAccessKeyError, HttpResponse> {
        let message = "The user with name eksuser cannot be found.";
        let meta = ErrorMetadata::builder()
            .code("NoSuchEntity")
            .message(message)
            .build();
        let error = NoSuchEntityException::builder()
            .message(message)
            .meta(meta)
            .build();
        SdkError::service_error(
            CreateAccessKeyError::NoSuchEntityException(error),
            HttpResponse::new(
                StatusCode::try_from(404).expect("a status"),
                SdkBody::empty(),
            ),
        )
    }

    #[test]
    fn key_calls_are_fresh_only_for_a_user_this_apply_created() {
        let ex = executor();
        assert!(ex.user_is_fresh("eksuser"));
        assert!(!ex.user_is_fresh("other"));
        assert!(!ex.user_is_fresh("ci"));
        let not_found = AwsError {
            call: "iam:CreateAccessKey",
            object: Some("user `eksuser`".into()),
            kind: ErrorKind::NotFound,
            message: "The user with name eksuser cannot be found.".into(),
        };
        assert_eq!(
            transient(&not_found, ex.user_is_fresh("eksuser")),
            Some(Transient::NotYetVisible)
        );
        assert_eq!(transient(&not_found, ex.user_is_fresh("other")), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_call_on_a_just_created_user_waits_for_iam() {
        let ex = executor();
        let not_yet = Flaky::new(2, no_such_user, 7);
        let created = ex
            .user_call("iam:CreateAccessKey", "eksuser", "user `eksuser`", || {
                not_yet.call()
            })
            .await;
        not_yet.assert_answered(created, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_call_on_an_older_user_fails_at_once_naming_call_and_object() {
        let ex = executor();
        let absent = Flaky::failing(no_such_user);
        let failed = ex
            .user_call("iam:CreateAccessKey", "other", "user `other`", || {
                absent.call()
            })
            .await;
        let failed = failed.expect_err("a real absence fails");
        assert_eq!(absent.attempts(), 1);
        assert_eq!(failed.kind, ErrorKind::NotFound);
        assert_eq!(failed.call, "iam:CreateAccessKey");
        assert_eq!(failed.object.as_deref(), Some("user `other`"));
    }
}
