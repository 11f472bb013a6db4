//! IAM roles (created by [`principal::create`](super::principal::create)): update the trust,
//! description, session length, boundary, tags, attachments and inline policies; delete after leaving instance profiles and
//! dropping policies. A path change is a replace, done by the caller as delete + create.

use crate::model::Role;

use super::AwsCalls as _;
use super::principal::Principal;
use super::{AwsError, IamExecutor, document_json};

pub(super) async fn update(
    ex: &IamExecutor,
    name: &str,
    before: &Role,
    after: &Role,
) -> Result<(), AwsError> {
    let target = Principal::Role(name).target(ex, &after.path);
    let (object, fresh) = (target.object.as_str(), target.fresh);
    if before.trust != after.trust {
        let trust = document_json(&after.trust);
        let fresh = fresh || ex.names_fresh_principal(&trust);
        ex.call("iam:UpdateAssumeRolePolicy", object, fresh, || {
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
        ex.call("iam:UpdateRole", object, fresh, || {
            ex.iam
                .update_role()
                .role_name(name)
                .description(&description)
                .set_max_session_duration(max_session)
                .send()
        })
        .await?;
    }
    target.sync(ex, Some(before), after).await
}

/// Leaves every instance profile, drops attachments and inline policies, then the role.
pub(super) async fn delete(ex: &IamExecutor, name: &str) -> Result<(), AwsError> {
    let principal = Principal::Role(name);
    let object = principal.object();
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
    principal.delete(ex, object).await
}
