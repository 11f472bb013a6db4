//! The policies of an IAM principal (user, group or role): attach, detach, put and delete
//! them, bring them from one side of a change to the other, and drop them all before the
//! principal is deleted. IAM has one operation per principal kind for each of these, alike but
//! for the name parameter; this module holds that difference so the loops are written once.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_iam::types::AttachedPolicy;

use crate::model::{Group, PolicyDocument, Role, User};

use super::AwsCalls as _;
use super::{AwsError, IamExecutor, document_json, inline_changes, set_changes};

/// A principal that holds policies, by name.
#[derive(Clone, Copy, Debug)]
pub(super) enum Principal<'a> {
    User(&'a str),
    Group(&'a str),
    Role(&'a str),
}

/// A principal's policies on one side of a change.
#[derive(Clone, Copy, Debug)]
pub(super) struct Policies<'a> {
    pub managed: &'a BTreeSet<String>,
    pub inline: &'a BTreeMap<String, PolicyDocument>,
}

impl<'a> From<&'a User> for Policies<'a> {
    fn from(user: &'a User) -> Self {
        Policies {
            managed: &user.managed_policies,
            inline: &user.inline_policies,
        }
    }
}

impl<'a> From<&'a Group> for Policies<'a> {
    fn from(group: &'a Group) -> Self {
        Policies {
            managed: &group.managed_policies,
            inline: &group.inline_policies,
        }
    }
}

impl<'a> From<&'a Role> for Policies<'a> {
    fn from(role: &'a Role) -> Self {
        Policies {
            managed: &role.managed_policies,
            inline: &role.inline_policies,
        }
    }
}

impl Principal<'_> {
    pub(super) async fn attach(
        self,
        ex: &IamExecutor,
        object: &str,
        fresh: bool,
        policy_arn: &str,
    ) -> Result<(), AwsError> {
        match self {
            Principal::User(name) => {
                ex.call_naming_policy("iam:AttachUserPolicy", object, fresh, policy_arn, || {
                    ex.iam
                        .attach_user_policy()
                        .user_name(name)
                        .policy_arn(policy_arn)
                        .send()
                })
                .await?;
            }
            Principal::Group(name) => {
                ex.call_naming_policy("iam:AttachGroupPolicy", object, fresh, policy_arn, || {
                    ex.iam
                        .attach_group_policy()
                        .group_name(name)
                        .policy_arn(policy_arn)
                        .send()
                })
                .await?;
            }
            Principal::Role(name) => {
                ex.call_naming_policy("iam:AttachRolePolicy", object, fresh, policy_arn, || {
                    ex.iam
                        .attach_role_policy()
                        .role_name(name)
                        .policy_arn(policy_arn)
                        .send()
                })
                .await?;
            }
        }
        Ok(())
    }

    pub(super) async fn detach(
        self,
        ex: &IamExecutor,
        object: &str,
        policy_arn: &str,
    ) -> Result<(), AwsError> {
        match self {
            Principal::User(name) => {
                ex.call_if_exists("iam:DetachUserPolicy", object, || {
                    ex.iam
                        .detach_user_policy()
                        .user_name(name)
                        .policy_arn(policy_arn)
                        .send()
                })
                .await?;
            }
            Principal::Group(name) => {
                ex.call_if_exists("iam:DetachGroupPolicy", object, || {
                    ex.iam
                        .detach_group_policy()
                        .group_name(name)
                        .policy_arn(policy_arn)
                        .send()
                })
                .await?;
            }
            Principal::Role(name) => {
                ex.call_if_exists("iam:DetachRolePolicy", object, || {
                    ex.iam
                        .detach_role_policy()
                        .role_name(name)
                        .policy_arn(policy_arn)
                        .send()
                })
                .await?;
            }
        }
        Ok(())
    }

    async fn put_inline(
        self,
        ex: &IamExecutor,
        object: &str,
        fresh: bool,
        policy: &str,
        document: &str,
    ) -> Result<(), AwsError> {
        match self {
            Principal::User(name) => {
                ex.call("iam:PutUserPolicy", object, fresh, || {
                    ex.iam
                        .put_user_policy()
                        .user_name(name)
                        .policy_name(policy)
                        .policy_document(document)
                        .send()
                })
                .await?;
            }
            Principal::Group(name) => {
                ex.call("iam:PutGroupPolicy", object, fresh, || {
                    ex.iam
                        .put_group_policy()
                        .group_name(name)
                        .policy_name(policy)
                        .policy_document(document)
                        .send()
                })
                .await?;
            }
            Principal::Role(name) => {
                ex.call("iam:PutRolePolicy", object, fresh, || {
                    ex.iam
                        .put_role_policy()
                        .role_name(name)
                        .policy_name(policy)
                        .policy_document(document)
                        .send()
                })
                .await?;
            }
        }
        Ok(())
    }

    pub(super) async fn delete_inline(
        self,
        ex: &IamExecutor,
        object: &str,
        policy: &str,
    ) -> Result<(), AwsError> {
        match self {
            Principal::User(name) => {
                ex.call_if_exists("iam:DeleteUserPolicy", object, || {
                    ex.iam
                        .delete_user_policy()
                        .user_name(name)
                        .policy_name(policy)
                        .send()
                })
                .await?;
            }
            Principal::Group(name) => {
                ex.call_if_exists("iam:DeleteGroupPolicy", object, || {
                    ex.iam
                        .delete_group_policy()
                        .group_name(name)
                        .policy_name(policy)
                        .send()
                })
                .await?;
            }
            Principal::Role(name) => {
                ex.call_if_exists("iam:DeleteRolePolicy", object, || {
                    ex.iam
                        .delete_role_policy()
                        .role_name(name)
                        .policy_name(policy)
                        .send()
                })
                .await?;
            }
        }
        Ok(())
    }

    /// The ARNs of the managed policies attached now, as IAM lists them (all pages).
    async fn attached_policies(
        self,
        ex: &IamExecutor,
        object: &str,
    ) -> Result<Vec<String>, AwsError> {
        let attached = match self {
            Principal::User(name) => {
                ex.call("iam:ListAttachedUserPolicies", object, false, || {
                    let pages = ex.iam.list_attached_user_policies().user_name(name);
                    pages.into_paginator().items().send().try_collect()
                })
                .await?
            }
            Principal::Group(name) => {
                ex.call("iam:ListAttachedGroupPolicies", object, false, || {
                    let pages = ex.iam.list_attached_group_policies().group_name(name);
                    pages.into_paginator().items().send().try_collect()
                })
                .await?
            }
            Principal::Role(name) => {
                ex.call("iam:ListAttachedRolePolicies", object, false, || {
                    let pages = ex.iam.list_attached_role_policies().role_name(name);
                    pages.into_paginator().items().send().try_collect()
                })
                .await?
            }
        };
        Ok(policy_arns(&attached))
    }

    /// The names of the inline policies now, as IAM lists them (all pages).
    async fn inline_policies(
        self,
        ex: &IamExecutor,
        object: &str,
    ) -> Result<Vec<String>, AwsError> {
        match self {
            Principal::User(name) => {
                ex.call("iam:ListUserPolicies", object, false, || {
                    let pages = ex.iam.list_user_policies().user_name(name);
                    pages.into_paginator().items().send().try_collect()
                })
                .await
            }
            Principal::Group(name) => {
                ex.call("iam:ListGroupPolicies", object, false, || {
                    let pages = ex.iam.list_group_policies().group_name(name);
                    pages.into_paginator().items().send().try_collect()
                })
                .await
            }
            Principal::Role(name) => {
                ex.call("iam:ListRolePolicies", object, false, || {
                    let pages = ex.iam.list_role_policies().role_name(name);
                    pages.into_paginator().items().send().try_collect()
                })
                .await
            }
        }
    }
}

/// Takes `principal`'s policies from `before` to `after`: attach, detach, put, delete, in that
/// order. `key` is what [`IamExecutor::is_fresh`] knows the principal by (its ARN, or
/// `group:NAME`): an attachment is fresh when the principal or the policy is; an inline put
/// when the principal is, which the caller says with `fresh`.
pub(super) async fn sync_policies(
    ex: &IamExecutor,
    principal: Principal<'_>,
    object: &str,
    key: &str,
    fresh: bool,
    before: Policies<'_>,
    after: Policies<'_>,
) -> Result<(), AwsError> {
    let (attach, detach) = set_changes(before.managed, after.managed);
    for policy in attach {
        let fresh = ex.is_fresh([key, policy.as_str()]);
        principal.attach(ex, object, fresh, policy).await?;
    }
    for policy in detach {
        principal.detach(ex, object, policy).await?;
    }
    let (put, delete) = inline_changes(before.inline, after.inline);
    for (policy, document) in put {
        let document = document_json(document);
        principal
            .put_inline(ex, object, fresh, policy, &document)
            .await?;
    }
    for policy in delete {
        principal.delete_inline(ex, object, policy).await?;
    }
    Ok(())
}

/// Detaches every managed policy and deletes every inline policy `principal` has now, as IAM
/// requires before it deletes the principal.
pub(super) async fn drop_policies(
    ex: &IamExecutor,
    principal: Principal<'_>,
    object: &str,
) -> Result<(), AwsError> {
    let attached = principal.attached_policies(ex, object).await?;
    for arn in &attached {
        principal.detach(ex, object, arn).await?;
    }
    let inline = principal.inline_policies(ex, object).await?;
    for policy in &inline {
        principal.delete_inline(ex, object, policy).await?;
    }
    Ok(())
}

fn policy_arns(policies: &[AttachedPolicy]) -> Vec<String> {
    policies
        .iter()
        .filter_map(|policy| policy.policy_arn().map(str::to_string))
        .collect()
}
