//! Customer-managed policies: create, new default version on a document change (IAM keeps at
//! most five versions), tags, replace (path and description are immutable) and delete.

use aws_sdk_iam::types::PolicyVersion;

use crate::model::Policy;

use super::AwsCalls as _;
use super::principal::{PolicyCall, Principal};
use super::{Apply, AwsError, ByArn, IamExecutor, Tagged, Update, create_tags, document_json};

/// IAM's limit on versions per managed policy.
const MAX_VERSIONS: usize = 5;

/// Who a policy is attached to, by name.
#[derive(Debug, Default)]
struct Entities {
    groups: Vec<String>,
    users: Vec<String>,
    roles: Vec<String>,
}

impl Entities {
    /// Groups, then users, then roles.
    fn principals(&self) -> impl Iterator<Item = Principal<'_>> {
        let groups = self.groups.iter().map(|name| Principal::Group(name));
        let users = self.users.iter().map(|name| Principal::User(name));
        let roles = self.roles.iter().map(|name| Principal::Role(name));
        groups.chain(users).chain(roles)
    }
}

impl Apply for Policy {
    async fn create(ex: &IamExecutor, name: &str, after: &Policy) -> Result<(), AwsError> {
        let object = format!("policy `{name}`");
        let document = document_json(&after.document);
        let tags = create_tags(&after.tags);
        ex.call("iam:CreatePolicy", &object, false, || {
            ex.iam
                .create_policy()
                .policy_name(name)
                .path(&after.path)
                .set_description(after.description.clone())
                .policy_document(&document)
                .set_tags(tags.clone())
                .send()
        })
        .await?;
        ex.remember_created(ex.policy_arn(&after.path, name));
        Ok(())
    }

    fn by_arn<'a>(ex: &IamExecutor, name: &str, policy: &'a Policy) -> Option<ByArn<'a>> {
        Some(ByArn {
            object: format!("policy `{name}`"),
            arn: ex.policy_arn(&policy.path, name),
            tagged: |arn| Tagged::Policy(arn),
            tags: &policy.tags,
        })
    }

    /// A document change makes a new default version, dropping the oldest other one when IAM
    /// already keeps its five.
    async fn change(update: &Update<'_, Policy>) -> Result<(), AwsError> {
        let Update { ex, fresh, .. } = *update;
        let (object, arn) = (update.object.as_str(), update.arn.as_str());
        if update.before.document == update.after.document {
            return Ok(());
        }
        let versions = list_versions(ex, arn, object, fresh).await?;
        if versions.len() >= MAX_VERSIONS
            && let Some(oldest) = oldest_non_default(&versions)
        {
            ex.call("iam:DeletePolicyVersion", object, fresh, || {
                ex.iam
                    .delete_policy_version()
                    .policy_arn(arn)
                    .version_id(&oldest)
                    .send()
            })
            .await?;
        }
        let document = document_json(&update.after.document);
        ex.call("iam:CreatePolicyVersion", object, fresh, || {
            ex.iam
                .create_policy_version()
                .policy_arn(arn)
                .policy_document(&document)
                .set_as_default(true)
                .send()
        })
        .await?;
        Ok(())
    }

    /// Delete and create again, then attach the new policy wherever the old one was.
    async fn replace(
        ex: &IamExecutor,
        name: &str,
        before: &Policy,
        after: &Policy,
    ) -> Result<(), AwsError> {
        let object = format!("policy `{name}`");
        let old_arn = ex.policy_arn(&before.path, name);
        let entities = list_entities(ex, &old_arn, &object).await?;
        delete_arn(ex, &old_arn, &object, &entities).await?;
        Self::create(ex, name, after).await?;
        let arn = ex.policy_arn(&after.path, name);
        for principal in entities.principals() {
            principal
                .policy(ex, &object, true, PolicyCall::Attach(&arn))
                .await?;
        }
        Ok(())
    }

    /// Detach from everything, delete the non-default versions, then the policy.
    async fn delete(ex: &IamExecutor, name: &str, before: &Policy) -> Result<(), AwsError> {
        let object = format!("policy `{name}`");
        let arn = ex.policy_arn(&before.path, name);
        let entities = list_entities(ex, &arn, &object).await?;
        delete_arn(ex, &arn, &object, &entities).await
    }
}

async fn delete_arn(
    ex: &IamExecutor,
    arn: &str,
    object: &str,
    entities: &Entities,
) -> Result<(), AwsError> {
    for principal in entities.principals() {
        principal
            .policy(ex, object, false, PolicyCall::Detach(arn))
            .await?;
    }
    for version in list_versions(ex, arn, object, false).await? {
        if version.is_default_version() {
            continue;
        }
        let Some(id) = version.version_id() else {
            continue;
        };
        ex.call_if_exists("iam:DeletePolicyVersion", object, || {
            ex.iam
                .delete_policy_version()
                .policy_arn(arn)
                .version_id(id)
                .send()
        })
        .await?;
    }
    ex.call_if_exists("iam:DeletePolicy", object, || {
        ex.iam.delete_policy().policy_arn(arn).send()
    })
    .await?;
    Ok(())
}

async fn list_entities(ex: &IamExecutor, arn: &str, object: &str) -> Result<Entities, AwsError> {
    let pages = ex
        .call("iam:ListEntitiesForPolicy", object, false, || {
            let pages = ex.iam.list_entities_for_policy().policy_arn(arn);
            pages.into_paginator().send().try_collect()
        })
        .await?;
    let mut entities = Entities::default();
    for page in pages {
        entities.groups.extend(
            page.policy_groups()
                .iter()
                .filter_map(|group| group.group_name().map(str::to_string)),
        );
        entities.users.extend(
            page.policy_users()
                .iter()
                .filter_map(|user| user.user_name().map(str::to_string)),
        );
        entities.roles.extend(
            page.policy_roles()
                .iter()
                .filter_map(|role| role.role_name().map(str::to_string)),
        );
    }
    Ok(entities)
}

async fn list_versions(
    ex: &IamExecutor,
    arn: &str,
    object: &str,
    fresh: bool,
) -> Result<Vec<PolicyVersion>, AwsError> {
    ex.call("iam:ListPolicyVersions", object, fresh, || {
        let pages = ex.iam.list_policy_versions().policy_arn(arn);
        pages.into_paginator().items().send().try_collect()
    })
    .await
}

/// The version to drop to make room: the oldest that is not the default. Without dates, the
/// lowest version number (`v3` < `v12`).
fn oldest_non_default(versions: &[PolicyVersion]) -> Option<String> {
    versions
        .iter()
        .filter(|version| !version.is_default_version())
        .min_by_key(|version| {
            (
                version
                    .create_date()
                    .map(|date| (date.secs(), date.subsec_nanos())),
                version_number(version.version_id()),
            )
        })
        .and_then(|version| version.version_id().map(str::to_string))
}

fn version_number(id: Option<&str>) -> u64 {
    id.and_then(|id| id.trim_start_matches('v').parse().ok())
        .unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::DateTime;

    use super::*;

    fn version(id: &str, default: bool, secs: Option<i64>) -> PolicyVersion {
        PolicyVersion::builder()
            .version_id(id)
            .is_default_version(default)
            .set_create_date(secs.map(DateTime::from_secs))
            .build()
    }

    #[test]
    fn the_oldest_non_default_version_goes() {
        let versions = [
            version("v5", true, Some(50)),
            version("v2", false, Some(20)),
            version("v3", false, Some(30)),
            version("v1", false, Some(40)),
        ];
        assert_eq!(oldest_non_default(&versions).as_deref(), Some("v2"));
        let undated = [
            version("v12", false, None),
            version("v3", false, None),
            version("v1", true, None),
        ];
        assert_eq!(oldest_non_default(&undated).as_deref(), Some("v3"));
        assert_eq!(oldest_non_default(&[version("v1", true, None)]), None);
    }
}
