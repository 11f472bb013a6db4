//! IAM groups (created by [`principal::create`](super::principal::create)): update (path — adoption moves a
//! group under the ownership path — members, attachments, inline), delete after emptying it.

use crate::model::Group;

use super::AwsCalls as _;
use super::principal::{Principal, leave_group};
use super::{AwsError, IamExecutor};

pub(super) async fn update(
    ex: &IamExecutor,
    name: &str,
    before: &Group,
    after: &Group,
) -> Result<(), AwsError> {
    let target = Principal::Group(name).target(ex, &after.path);
    if before.path != after.path {
        let principal = target.principal;
        principal
            .move_to(ex, &target.object, target.fresh, &after.path)
            .await?;
    }
    // The planner takes out members the file does not declare; a saved plan's objects are
    // applied as they are, joins included.
    target
        .sync_memberships(ex, &before.members, &after.members)
        .await?;
    target.sync(ex, Some(before), after).await
}

/// Removes every member, attachment and inline policy (as IAM requires), then the group.
pub(super) async fn delete(ex: &IamExecutor, name: &str) -> Result<(), AwsError> {
    let principal = Principal::Group(name);
    let object = principal.object();
    let object = object.as_str();
    let members = ex
        .call("iam:GetGroup", object, false, || {
            let pages = ex.iam.get_group().group_name(name).into_paginator();
            pages.items().send().try_collect()
        })
        .await?;
    for user in &members {
        leave_group(ex, object, user.user_name(), name).await?;
    }
    principal.delete(ex, object).await
}
