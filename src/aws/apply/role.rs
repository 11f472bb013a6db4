//! IAM roles: create with trust, description, session length, boundary and tags; update each
//! of them, attachments and inline policies; delete after leaving instance profiles and
//! dropping policies. A path change is a replace, done by the caller as delete + create.

use crate::model::Role;

use super::AwsCalls as _;
use super::principal::{Principal, drop_policies, sync_holder};
use super::{AwsError, IamExecutor, document_json, tags};

pub(super) async fn create(ex: &IamExecutor, name: &str, role: &Role) -> Result<(), AwsError> {
    let object = format!("role `{name}`");
    let trust = document_json(&role.trust);
    let fresh = ex.names_fresh_principal(&trust);
    let tags = tags(&role.tags);
    let max_session = i32::try_from(role.max_session_duration).ok();
    ex.call("iam:CreateRole", &object, fresh, || {
        ex.iam
            .create_role()
            .role_name(name)
            .path(&role.path)
            .assume_role_policy_document(&trust)
            .set_description(role.description.clone())
            .set_max_session_duration(max_session)
            .set_permissions_boundary(role.permissions_boundary.clone())
            .set_tags((!tags.is_empty()).then(|| tags.clone()))
            .send()
    })
    .await?;
    ex.remember_created(ex.role_arn(&role.path, name));
    let created = Role {
        managed_policies: Default::default(),
        inline_policies: Default::default(),
        ..role.clone()
    };
    update(ex, name, &created, role).await
}

pub(super) async fn update(
    ex: &IamExecutor,
    name: &str,
    before: &Role,
    after: &Role,
) -> Result<(), AwsError> {
    let object = format!("role `{name}`");
    let arn = ex.role_arn(&after.path, name);
    let fresh = ex.is_fresh([arn.as_str()]);
    if before.trust != after.trust {
        let trust = document_json(&after.trust);
        let fresh = fresh || ex.names_fresh_principal(&trust);
        ex.call("iam:UpdateAssumeRolePolicy", &object, fresh, || {
            ex.iam
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(&trust)
                .send()
        })
        .await?;
    }
    if before.description != after.description
        || before.max_session_duration != after.max_session_duration
    {
        let max_session = i32::try_from(after.max_session_duration).ok();
        // IAM keeps the old description unless one is given: an empty one clears it.
        let description = after.description.clone().unwrap_or_default();
        ex.call("iam:UpdateRole", &object, fresh, || {
            ex.iam
                .update_role()
                .role_name(name)
                .description(&description)
                .set_max_session_duration(max_session)
                .send()
        })
        .await?;
    }
    sync_holder(
        ex,
        Principal::Role(name),
        &object,
        &arn,
        fresh,
        before,
        after,
    )
    .await
}

/// Leaves every instance profile, drops attachments and inline policies, then the role.
pub(super) async fn delete(ex: &IamExecutor, name: &str) -> Result<(), AwsError> {
    let object = format!("role `{name}`");
    let object = object.as_str();
    let profiles = ex
        .call("iam:ListInstanceProfilesForRole", object, false, || {
            let pages = ex.iam.list_instance_profiles_for_role().role_name(name);
            pages.into_paginator().items().send().try_collect()
        })
        .await?;
    for profile in profiles
        .iter()
        .map(|profile| profile.instance_profile_name())
    {
        ex.call_if_exists("iam:RemoveRoleFromInstanceProfile", object, || {
            ex.iam
                .remove_role_from_instance_profile()
                .instance_profile_name(profile)
                .role_name(name)
                .send()
        })
        .await?;
    }
    drop_policies(ex, Principal::Role(name), object).await?;
    ex.call_if_exists("iam:DeleteRole", object, || {
        ex.iam.delete_role().role_name(name).send()
    })
    .await?;
    Ok(())
}
