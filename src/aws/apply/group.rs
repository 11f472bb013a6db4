//! IAM groups: create with attachments and inline policies, update (path — adoption moves a
//! group under the ownership path — attachments, inline), delete after emptying it.

use crate::model::Group;

use super::{
    AwsError, IamExecutor, all_pages, document_json, inline_changes, next_marker, set_changes,
};

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
    let (attach, detach) = set_changes(&before.managed_policies, &after.managed_policies);
    for arn in attach {
        let fresh = ex.is_fresh([group_key.as_str(), arn.as_str()]);
        ex.call("iam:AttachGroupPolicy", &object, fresh, || {
            ex.iam
                .attach_group_policy()
                .group_name(name)
                .policy_arn(arn)
                .send()
        })
        .await?;
    }
    for arn in detach {
        ex.call_if_exists("iam:DetachGroupPolicy", &object, || {
            ex.iam
                .detach_group_policy()
                .group_name(name)
                .policy_arn(arn)
                .send()
        })
        .await?;
    }
    let (put, delete) = inline_changes(&before.inline_policies, &after.inline_policies);
    for (policy, document) in put {
        let document = document_json(document);
        ex.call("iam:PutGroupPolicy", &object, fresh, || {
            ex.iam
                .put_group_policy()
                .group_name(name)
                .policy_name(policy)
                .policy_document(&document)
                .send()
        })
        .await?;
    }
    for policy in delete {
        ex.call_if_exists("iam:DeleteGroupPolicy", &object, || {
            ex.iam
                .delete_group_policy()
                .group_name(name)
                .policy_name(policy)
                .send()
        })
        .await?;
    }
    Ok(())
}

/// Removes every member, attachment and inline policy (as IAM requires), then the group.
pub(super) async fn delete(ex: &IamExecutor, name: &str) -> Result<(), AwsError> {
    let object = format!("group `{name}`");
    let object = object.as_str();
    let members = all_pages(|marker| async move {
        let page = ex
            .call("iam:GetGroup", object, false, || {
                ex.iam
                    .get_group()
                    .group_name(name)
                    .set_marker(marker.clone())
                    .send()
            })
            .await?;
        let users = page
            .users()
            .iter()
            .map(|user| user.user_name().to_string())
            .collect();
        Ok((users, next_marker(page.is_truncated(), page.marker())))
    })
    .await?;
    for user in &members {
        ex.call_if_exists("iam:RemoveUserFromGroup", object, || {
            ex.iam
                .remove_user_from_group()
                .group_name(name)
                .user_name(user)
                .send()
        })
        .await?;
    }
    let attached = all_pages(|marker| async move {
        let page = ex
            .call("iam:ListAttachedGroupPolicies", object, false, || {
                ex.iam
                    .list_attached_group_policies()
                    .group_name(name)
                    .set_marker(marker.clone())
                    .send()
            })
            .await?;
        let arns = page
            .attached_policies()
            .iter()
            .filter_map(|policy| policy.policy_arn().map(str::to_string))
            .collect();
        Ok((arns, next_marker(page.is_truncated(), page.marker())))
    })
    .await?;
    for arn in &attached {
        ex.call_if_exists("iam:DetachGroupPolicy", object, || {
            ex.iam
                .detach_group_policy()
                .group_name(name)
                .policy_arn(arn)
                .send()
        })
        .await?;
    }
    let inline = all_pages(|marker| async move {
        let page = ex
            .call("iam:ListGroupPolicies", object, false, || {
                ex.iam
                    .list_group_policies()
                    .group_name(name)
                    .set_marker(marker.clone())
                    .send()
            })
            .await?;
        Ok((
            page.policy_names().to_vec(),
            next_marker(page.is_truncated(), page.marker()),
        ))
    })
    .await?;
    for policy in &inline {
        ex.call_if_exists("iam:DeleteGroupPolicy", object, || {
            ex.iam
                .delete_group_policy()
                .group_name(name)
                .policy_name(policy)
                .send()
        })
        .await?;
    }
    ex.call_if_exists("iam:DeleteGroup", object, || {
        ex.iam.delete_group().group_name(name).send()
    })
    .await?;
    Ok(())
}
