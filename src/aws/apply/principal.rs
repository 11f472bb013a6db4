//! The policies of an IAM principal (user, group or role): attach, detach, put and delete
//! them, bring them from one side of a change to the other, and drop them all before the
//! principal is deleted. IAM has one operation per principal kind for each of these, alike but
//! for the name parameter; this module holds that difference so the loops are written once.

use aws_sdk_iam::types::AttachedPolicy;

use crate::model::PolicyHolder;

use super::AwsCalls as _;
use super::{AwsError, IamExecutor, document_json, inline_changes, set_changes, tag_changes};

/// A principal that holds policies, by name.
#[derive(Clone, Copy, Debug)]
pub(super) enum Principal<'a> {
    User(&'a str),
    Group(&'a str),
    Role(&'a str),
}

/// One IAM call for whichever kind `$principal` is. IAM's operations for users, groups and
/// roles differ only in their names and in the parameter that names the principal, so the
/// request is written once: `$call` is the executor's call wrapper (its arguments after the
/// operation name in parentheses), the three `"iam:…" operation` pairs name the user, group
/// and role operation, then the request's other parameters, and `$map` turns the output into
/// what the caller keeps. A kind without the operation (IAM tags no groups) is `_`: nothing
/// to do for it.
macro_rules! per_kind {
    (
        $ex:ident, $principal:expr, $call:ident($($arg:expr),*),
        [$($user:literal $user_op:ident)? $(_)?, $($group:literal $group_op:ident)? $(_)?, $($role:literal $role_op:ident)? $(_)?]
        $(.$param:ident($($value:expr),*))*,
        |$output:pat_param| $map:expr, $absent:expr
    ) => {
        match $principal {
            Principal::User(_name) => {
                per_kind!(@one $ex, _name, user_name, $call($($arg),*), $($user $user_op)?, $(.$param($($value),*))*, |$output| $map, $absent)
            }
            Principal::Group(_name) => {
                per_kind!(@one $ex, _name, group_name, $call($($arg),*), $($group $group_op)?, $(.$param($($value),*))*, |$output| $map, $absent)
            }
            Principal::Role(_name) => {
                per_kind!(@one $ex, _name, role_name, $call($($arg),*), $($role $role_op)?, $(.$param($($value),*))*, |$output| $map, $absent)
            }
        }
    };
    (@one $ex:ident, $name:ident, $naming:ident, $call:ident($($arg:expr),*), $action:literal $op:ident, $(.$param:ident($($value:expr),*))*, |$output:pat_param| $map:expr, $absent:expr) => {
        $ex.$call($action, $($arg,)* || $ex.iam.$op().$naming($name)$(.$param($($value),*))*.send())
            .await
            .map(|$output| $map)
    };
    (@one $ex:ident, $name:ident, $naming:ident, $call:ident($($arg:expr),*), , $(.$param:ident($($value:expr),*))*, |$output:pat_param| $map:expr, $absent:expr) => {
        Ok($absent)
    };
}

impl Principal<'_> {
    pub(super) async fn attach(
        self,
        ex: &IamExecutor,
        object: &str,
        fresh: bool,
        policy_arn: &str,
    ) -> Result<(), AwsError> {
        per_kind!(
            ex, self, call_naming_policy(object, fresh, policy_arn),
            ["iam:AttachUserPolicy" attach_user_policy, "iam:AttachGroupPolicy" attach_group_policy, "iam:AttachRolePolicy" attach_role_policy]
            .policy_arn(policy_arn),
            |_| (), ()
        )
    }

    pub(super) async fn detach(
        self,
        ex: &IamExecutor,
        object: &str,
        policy_arn: &str,
    ) -> Result<(), AwsError> {
        per_kind!(
            ex, self, call_if_exists(object),
            ["iam:DetachUserPolicy" detach_user_policy, "iam:DetachGroupPolicy" detach_group_policy, "iam:DetachRolePolicy" detach_role_policy]
            .policy_arn(policy_arn),
            |_| (), ()
        )
    }

    async fn put_inline(
        self,
        ex: &IamExecutor,
        object: &str,
        fresh: bool,
        policy: &str,
        document: &str,
    ) -> Result<(), AwsError> {
        per_kind!(
            ex, self, call(object, fresh),
            ["iam:PutUserPolicy" put_user_policy, "iam:PutGroupPolicy" put_group_policy, "iam:PutRolePolicy" put_role_policy]
            .policy_name(policy).policy_document(document),
            |_| (), ()
        )
    }

    pub(super) async fn delete_inline(
        self,
        ex: &IamExecutor,
        object: &str,
        policy: &str,
    ) -> Result<(), AwsError> {
        per_kind!(
            ex, self, call_if_exists(object),
            ["iam:DeleteUserPolicy" delete_user_policy, "iam:DeleteGroupPolicy" delete_group_policy, "iam:DeleteRolePolicy" delete_role_policy]
            .policy_name(policy),
            |_| (), ()
        )
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

    /// Sets or removes the permissions boundary (IAM takes none on groups).
    async fn set_boundary(
        self,
        ex: &IamExecutor,
        object: &str,
        key: &str,
        boundary: Option<&String>,
    ) -> Result<(), AwsError> {
        match boundary {
            Some(boundary) => {
                let fresh = ex.is_fresh([key, boundary.as_str()]);
                per_kind!(
                    ex, self, call_naming_policy(object, fresh, boundary),
                    ["iam:PutUserPermissionsBoundary" put_user_permissions_boundary, _, "iam:PutRolePermissionsBoundary" put_role_permissions_boundary]
                    .permissions_boundary(boundary),
                    |_| (), ()
                )
            }
            None => per_kind!(
                ex, self, call_if_exists(object),
                ["iam:DeleteUserPermissionsBoundary" delete_user_permissions_boundary, _, "iam:DeleteRolePermissionsBoundary" delete_role_permissions_boundary],
                |_| (), ()
            ),
        }
    }

    /// Takes the tags from `before` to `after` (IAM tags no groups).
    async fn sync_tags(
        self,
        ex: &IamExecutor,
        object: &str,
        fresh: bool,
        before: Option<&std::collections::BTreeMap<String, String>>,
        after: Option<&std::collections::BTreeMap<String, String>>,
    ) -> Result<(), AwsError> {
        let (Some(before), Some(after)) = (before, after) else {
            return Ok(());
        };
        let (set, removed) = tag_changes(before, after);
        if !set.is_empty() {
            per_kind!(
                ex, self, call(object, fresh),
                ["iam:TagUser" tag_user, _, "iam:TagRole" tag_role]
                .set_tags(Some(set.clone())),
                |_| (), ()
            )?;
        }
        if !removed.is_empty() {
            per_kind!(
                ex, self, call(object, fresh),
                ["iam:UntagUser" untag_user, _, "iam:UntagRole" untag_role]
                .set_tag_keys(Some(removed.clone())),
                |_| (), ()
            )?;
        }
        Ok(())
    }
}

/// Takes what `principal` holds from `before` to `after`: the permissions boundary, the tags,
/// then attach, detach, put, delete, in that order. `key` is what [`IamExecutor::is_fresh`]
/// knows the principal by (its ARN, or `group:NAME`): an attachment (or boundary) is fresh when
/// the principal or the policy is; the other calls when the principal is, which the caller says
/// with `fresh`.
pub(super) async fn sync_holder<H: PolicyHolder + Sync>(
    ex: &IamExecutor,
    principal: Principal<'_>,
    object: &str,
    key: &str,
    fresh: bool,
    before: &H,
    after: &H,
) -> Result<(), AwsError> {
    if before.permissions_boundary() != after.permissions_boundary() {
        principal
            .set_boundary(ex, object, key, after.permissions_boundary())
            .await?;
    }
    principal
        .sync_tags(ex, object, fresh, before.tags(), after.tags())
        .await?;
    let (attach, detach) = set_changes(before.managed_policies(), after.managed_policies());
    for policy in attach {
        let fresh = ex.is_fresh([key, policy.as_str()]);
        principal.attach(ex, object, fresh, policy).await?;
    }
    for policy in detach {
        principal.detach(ex, object, policy).await?;
    }
    let (put, delete) = inline_changes(before.inline_policies(), after.inline_policies());
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
