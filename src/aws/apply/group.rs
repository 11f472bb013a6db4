//! IAM groups: create with attachments and inline policies, update (path — adoption moves a
//! group under the ownership path — members, attachments, inline), delete after emptying it.

use crate::model::Group;

use super::AwsCalls as _;
use super::principal::{Principal, drop_policies, sync_holder};
use super::{AwsError, IamExecutor, set_changes};

pub(super) async fn create(ex: &IamExecutor, name: &str, group: &Group) -> Result<(), AwsError> {
    let object = format!("group `{name}`");
    ex.call("iam:CreateGroup", &object, false, || {
        ex.iam
            .create_group()
            .group_name(name)
            .path(&group.path)
            .send()
    })
    .await?;
    ex.remember_created(format!("group:{name}"));
    let empty = Group {
        path: group.path.clone(),
        managed_policies: Default::default(),
        inline_policies: Default::default(),
        members: Default::default(),
    };
    update(ex, name, &empty, group).await
}

pub(super) async fn update(
    ex: &IamExecutor,
    name: &str,
    before: &Group,
    after: &Group,
) -> Result<(), AwsError> {
    let object = format!("group `{name}`");
    let group_key = format!("group:{name}");
    let fresh = ex.is_fresh([group_key.as_str()]);
    if before.path != after.path {
        ex.call("iam:UpdateGroup", &object, fresh, || {
            ex.iam
                .update_group()
                .group_name(name)
                .new_path(&after.path)
                .send()
        })
        .await?;
    }
    // The planner takes out members the file does not declare; a saved plan's objects are
    // applied as they are, joins included.
    let (join, leave) = set_changes(&before.members, &after.members);
    for user in join {
        let user_object = format!("user `{user}` in group `{name}`");
        ex.call("iam:AddUserToGroup", &user_object, fresh, || {
            ex.iam
                .add_user_to_group()
                .user_name(user)
                .group_name(name)
                .send()
        })
        .await?;
    }
    for user in leave {
        let user_object = format!("user `{user}` in group `{name}`");
        super::user::leave_group(ex, &user_object, user, name).await?;
    }
    sync_holder(
        ex,
        Principal::Group(name),
        &object,
        &group_key,
        fresh,
        before,
        after,
    )
    .await
}

/// Removes every member, attachment and inline policy (as IAM requires), then the group.
pub(super) async fn delete(ex: &IamExecutor, name: &str) -> Result<(), AwsError> {
    let object = format!("group `{name}`");
    let object = object.as_str();
    let members = ex
        .call("iam:GetGroup", object, false, || {
            let pages = ex.iam.get_group().group_name(name).into_paginator();
            pages.items().send().try_collect()
        })
        .await?;
    for user in &members {
        super::user::leave_group(ex, object, user.user_name(), name).await?;
    }
    drop_policies(ex, Principal::Group(name), object).await?;
    ex.call_if_exists("iam:DeleteGroup", object, || {
        ex.iam.delete_group().group_name(name).send()
    })
    .await?;
    Ok(())
}
