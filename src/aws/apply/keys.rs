//! Access keys: IAM's two-key limit followed as the runbook does by hand. Keys to drop are
//! deleted first, the new key is created and written to every destination, and only then is
//! the old key deactivated. A delivery that fails deletes the new key again in the same apply
//! (its secret cannot be read twice), so a re-run starts from where it was.
//!
//! The secret lives only in a [`SecretKey`] between `CreateAccessKey` and the writes: it has no
//! `Display`, no `Serialize`, and its `Debug` prints nothing of it.

use std::collections::BTreeMap;

use aws_config::Region;
use aws_config::SdkConfig;
use aws_sdk_iam::types::StatusType;

use crate::apply::{ApplyError, Executor};
use crate::aws::CallCounter;
use crate::kube::ClusterClient;
use crate::kube::secret::write_secret;
use crate::model::access_key::{
    ACCESS_KEY_ID_KEY, KEY_CREATED_ANNOTATION, KEY_ID_ANNOTATION, NEW_KEY, SECRET_ACCESS_KEY_KEY,
    mask,
};
use crate::model::{AccessKeys, Destination, KeyStatus};
use crate::plan::{Action, Change, Object};

use super::apply_error;
use crate::aws::AwsError;

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
pub struct KeyExecutor {
    iam: aws_sdk_iam::Client,
    sdk: SdkConfig,
    counter: CallCounter,
    clusters: BTreeMap<String, ClusterClient>,
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
        }
    }

    /// The user's keys now, by masked id: the full id apply needs, and the status.
    async fn live(&self, user: &str) -> Result<BTreeMap<String, String>, ApplyError> {
        let keys = crate::aws::credentials::list_access_keys(&self.iam, user)
            .await
            .map_err(|error| apply_error(&error))?;
        let mut by_mask = BTreeMap::new();
        for id in keys {
            if by_mask.insert(mask(&id), id.clone()).is_some() {
                return Err(ApplyError::new(format!(
                    "user `{user}` has two access keys shown as {}: accessctl cannot tell them apart",
                    mask(&id)
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

    async fn delete(&self, user: &str, id: &str) -> Result<(), ApplyError> {
        self.iam
            .delete_access_key()
            .user_name(user)
            .access_key_id(id)
            .send()
            .await
            .map_err(|error| key_error("iam:DeleteAccessKey", user, id, error))?;
        Ok(())
    }

    async fn deactivate(&self, user: &str, id: &str) -> Result<(), ApplyError> {
        self.iam
            .update_access_key()
            .user_name(user)
            .access_key_id(id)
            .status(StatusType::Inactive)
            .send()
            .await
            .map_err(|error| key_error("iam:UpdateAccessKey", user, id, error))?;
        Ok(())
    }

    async fn create(&self, user: &str) -> Result<NewKey, ApplyError> {
        let created = self
            .iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .map_err(|error| {
                apply_error(&AwsError::from_sdk(
                    "iam:CreateAccessKey",
                    Some(format!("user `{user}`")),
                    error,
                ))
            })?;
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
                let mut builder = aws_sdk_secretsmanager::config::Builder::from(&self.sdk)
                    .interceptor(self.counter.clone());
                if let Some(region) = region {
                    builder = builder.region(Region::new(region.clone()));
                }
                let client = aws_sdk_secretsmanager::Client::from_conf(builder.build());
                let json = serde_json::to_string(&values).map_err(|e| e.to_string())?;
                let put = client
                    .put_secret_value()
                    .secret_id(name)
                    .secret_string(json.clone())
                    .send()
                    .await;
                match put {
                    Ok(_) => Ok(()),
                    Err(error)
                        if error
                            .as_service_error()
                            .is_some_and(|e| e.is_resource_not_found_exception()) =>
                    {
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
                            .secret_string(json)
                            .send()
                            .await
                            .map(|_| ())
                            .map_err(|error| {
                                AwsError::from_sdk(
                                    "secretsmanager:CreateSecret",
                                    Some(format!("secret `{name}`")),
                                    error,
                                )
                                .to_string()
                            })
                    }
                    Err(error) => Err(AwsError::from_sdk(
                        "secretsmanager:PutSecretValue",
                        Some(format!("secret `{name}`")),
                        error,
                    )
                    .to_string()),
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
                    let undone = match self.delete(user, &key.id).await {
                        Ok(()) => format!(
                            "the new key {} was deleted again (its secret cannot be read twice)",
                            mask(&key.id)
                        ),
                        Err(error) => format!(
                            "the new key {} could not be deleted either ({}): delete it by hand",
                            mask(&key.id),
                            error.message
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

fn key_error<E>(
    call: &'static str,
    user: &str,
    id: &str,
    error: aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> ApplyError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    apply_error(&AwsError::from_sdk(
        call,
        Some(format!("access key {} of user `{user}`", mask(id))),
        error,
    ))
}

impl Executor for KeyExecutor {
    async fn execute(&self, unit: &[Change]) -> Result<(), ApplyError> {
        for change in unit {
            self.change(change).await?;
        }
        Ok(())
    }
}
