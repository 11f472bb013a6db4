//! IAM principals (users, groups and roles): one create, update, delete and replace for the
//! three kinds, and their policies: attach, detach, put and delete them, bring them from one
//! side of a change to the other, and drop them all before the principal is deleted. IAM has
//! one operation per principal kind for each of these, alike but for the name parameter; this
//! module holds that difference (as [`iam_call!`] tables, and [`Named`]) so the loops are
//! written once, for every kind. What only one kind has lives in [`role`] and [`user`].

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_iam::types::AttachedPolicy;

use crate::model::{Group, PolicyHolder, Role, User};
use crate::plan::Variant;

use super::AwsCalls as _;
use super::{
    Apply, AwsError, IamExecutor, Tagged, create_tags, document_json, inline_changes, role,
    set_changes, user,
};

/// A principal that holds policies, by name.
#[derive(Clone, Copy, Debug)]
pub(super) enum Principal<'a> {
    User(&'a str),
    Group(&'a str),
    Role(&'a str),
}

/// One call on a principal's policies: a managed policy by ARN, an inline one by name.
#[derive(Clone, Copy, Debug)]
pub(super) enum PolicyCall<'p> {
    Attach(&'p str),
    Detach(&'p str),
    /// Name and document (JSON).
    PutInline(&'p str, &'p str),
    DeleteInline(&'p str),
}

/// A principal as one change's calls name it.
#[derive(Debug)]
pub(super) struct Target<'a> {
    pub principal: Principal<'a>,
    /// How errors name it (`user `alice``).
    pub object: String,
    /// What [`IamExecutor::is_fresh`] knows it by.
    pub key: String,
    /// Whether this apply created it.
    pub fresh: bool,
}

impl<'a> Principal<'a> {
    pub(super) fn name(self) -> &'a str {
        match self {
            Principal::User(name) | Principal::Group(name) | Principal::Role(name) => name,
        }
    }

    /// How errors name it: `user `alice``.
    pub(super) fn object(self) -> String {
        match self {
            Principal::User(name) => format!("user `{name}`"),
            Principal::Group(name) => format!("group `{name}`"),
            Principal::Role(name) => format!("role `{name}`"),
        }
    }

    /// What [`IamExecutor::is_fresh`] knows it by at `path`: its ARN, or `group:NAME` (a
    /// group's ARN is not needed anywhere else).
    pub(super) fn key(self, ex: &IamExecutor, path: &str) -> String {
        match self {
            Principal::User(name) => ex.user_arn(path, name),
            Principal::Group(name) => format!("group:{name}"),
            Principal::Role(name) => ex.role_arn(path, name),
        }
    }

    /// The principal at `path` as this change's calls name it.
    pub(super) fn target(self, ex: &IamExecutor, path: &str) -> Target<'a> {
        let key = self.key(ex, path);
        Target {
            principal: self,
            object: self.object(),
            fresh: ex.is_fresh([key.as_str()]),
            key,
        }
    }

    /// The tag calls' name for it; IAM tags no groups.
    fn tagged(self) -> Option<Tagged<'a>> {
        match self {
            Principal::User(name) => Some(Tagged::User(name)),
            Principal::Group(_) => None,
            Principal::Role(name) => Some(Tagged::Role(name)),
        }
    }

    /// Sends one policy call for the principal. IAM has an operation per principal kind for
    /// each call, alike but for the name parameter: this is their one table, a row per call
    /// and kind. `fresh` (the principal was created by this apply) matters to attach and put;
    /// a detach or delete of a policy already gone is nothing to do.
    #[rustfmt::skip]
    pub(super) async fn policy(
        self,
        ex: &IamExecutor,
        object: &str,
        fresh: bool,
        call: PolicyCall<'_>,
    ) -> Result<(), AwsError> {
        use PolicyCall::{Attach, DeleteInline, Detach, PutInline};
        use Principal::{Group, Role, User};
        match (self, call) {
            (User(n), Attach(arn)) => ex.call_naming_policy("iam:AttachUserPolicy", object, fresh, arn, || ex.iam.attach_user_policy().user_name(n).policy_arn(arn).send()).await.map(drop),
            (Group(n), Attach(arn)) => ex.call_naming_policy("iam:AttachGroupPolicy", object, fresh, arn, || ex.iam.attach_group_policy().group_name(n).policy_arn(arn).send()).await.map(drop),
            (Role(n), Attach(arn)) => ex.call_naming_policy("iam:AttachRolePolicy", object, fresh, arn, || ex.iam.attach_role_policy().role_name(n).policy_arn(arn).send()).await.map(drop),
            (User(n), Detach(arn)) => ex.call_if_exists("iam:DetachUserPolicy", object, || ex.iam.detach_user_policy().user_name(n).policy_arn(arn).send()).await.map(drop),
            (Group(n), Detach(arn)) => ex.call_if_exists("iam:DetachGroupPolicy", object, || ex.iam.detach_group_policy().group_name(n).policy_arn(arn).send()).await.map(drop),
            (Role(n), Detach(arn)) => ex.call_if_exists("iam:DetachRolePolicy", object, || ex.iam.detach_role_policy().role_name(n).policy_arn(arn).send()).await.map(drop),
            (User(n), PutInline(name, doc)) => ex.call("iam:PutUserPolicy", object, fresh, || ex.iam.put_user_policy().user_name(n).policy_name(name).policy_document(doc).send()).await.map(drop),
            (Group(n), PutInline(name, doc)) => ex.call("iam:PutGroupPolicy", object, fresh, || ex.iam.put_group_policy().group_name(n).policy_name(name).policy_document(doc).send()).await.map(drop),
            (Role(n), PutInline(name, doc)) => ex.call("iam:PutRolePolicy", object, fresh, || ex.iam.put_role_policy().role_name(n).policy_name(name).policy_document(doc).send()).await.map(drop),
            (User(n), DeleteInline(name)) => ex.call_if_exists("iam:DeleteUserPolicy", object, || ex.iam.delete_user_policy().user_name(n).policy_name(name).send()).await.map(drop),
            (Group(n), DeleteInline(name)) => ex.call_if_exists("iam:DeleteGroupPolicy", object, || ex.iam.delete_group_policy().group_name(n).policy_name(name).send()).await.map(drop),
            (Role(n), DeleteInline(name)) => ex.call_if_exists("iam:DeleteRolePolicy", object, || ex.iam.delete_role_policy().role_name(n).policy_name(name).send()).await.map(drop),
        }
    }

    /// The ARNs of the managed policies attached now, as IAM lists them (all pages).
    async fn attached_policies(
        self,
        ex: &IamExecutor,
        object: &str,
    ) -> Result<Vec<String>, AwsError> {
        let attached: Vec<AttachedPolicy> = iam_call!(ex.call(object, false), match self {
            Principal::User(name) => "iam:ListAttachedUserPolicies" list_attached_user_policies [.user_name(name)],
            Principal::Group(name) => "iam:ListAttachedGroupPolicies" list_attached_group_policies [.group_name(name)],
            Principal::Role(name) => "iam:ListAttachedRolePolicies" list_attached_role_policies [.role_name(name)],
        } [.into_paginator().items().send().try_collect()], |listed| listed)?;
        Ok(attached
            .iter()
            .filter_map(|policy| policy.policy_arn().map(str::to_string))
            .collect())
    }

    /// The names of the inline policies now, as IAM lists them (all pages).
    async fn inline_policies(
        self,
        ex: &IamExecutor,
        object: &str,
    ) -> Result<Vec<String>, AwsError> {
        iam_call!(ex.call(object, false), match self {
            Principal::User(name) => "iam:ListUserPolicies" list_user_policies [.user_name(name)],
            Principal::Group(name) => "iam:ListGroupPolicies" list_group_policies [.group_name(name)],
            Principal::Role(name) => "iam:ListRolePolicies" list_role_policies [.role_name(name)],
        } [.into_paginator().items().send().try_collect()], |listed| listed)
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
                iam_call!(ex.call_naming_policy(object, fresh, boundary), match self {
                    Principal::User(name) => "iam:PutUserPermissionsBoundary" put_user_permissions_boundary [.user_name(name)],
                    Principal::Role(name) => "iam:PutRolePermissionsBoundary" put_role_permissions_boundary [.role_name(name)],
                } [.permissions_boundary(boundary).send()], drop, otherwise ())
            }
            None => iam_call!(ex.call_if_exists(object), match self {
                Principal::User(name) => "iam:DeleteUserPermissionsBoundary" delete_user_permissions_boundary [.user_name(name)],
                Principal::Role(name) => "iam:DeleteRolePermissionsBoundary" delete_role_permissions_boundary [.role_name(name)],
            } [.send()], drop, otherwise ()),
        }
    }

    /// Moves it to `path`. Only users and groups move: a role's path change is a replace.
    pub(super) async fn move_to(
        self,
        ex: &IamExecutor,
        object: &str,
        fresh: bool,
        path: &str,
    ) -> Result<(), AwsError> {
        iam_call!(ex.call(object, fresh), match self {
            Principal::User(name) => "iam:UpdateUser" update_user [.user_name(name)],
            Principal::Group(name) => "iam:UpdateGroup" update_group [.group_name(name)],
        } [.new_path(path).send()], drop, otherwise ())
    }

    /// Deletes the principal itself; one already gone is nothing to do. IAM refuses while it
    /// still holds policies (see [`Self::delete`]).
    pub(super) async fn delete_alone(self, ex: &IamExecutor, object: &str) -> Result<(), AwsError> {
        iam_call!(ex.call_if_exists(object), match self {
            Principal::User(name) => "iam:DeleteUser" delete_user [.user_name(name)],
            Principal::Group(name) => "iam:DeleteGroup" delete_group [.group_name(name)],
            Principal::Role(name) => "iam:DeleteRole" delete_role [.role_name(name)],
        } [.send()], drop)
    }

    /// Unties the principal, detaches every managed policy and deletes every inline policy it
    /// has now, as IAM requires, then deletes it.
    pub(super) async fn delete(self, ex: &IamExecutor, object: &str) -> Result<(), AwsError> {
        self.untie(ex, object).await?;
        for arn in &self.attached_policies(ex, object).await? {
            self.policy(ex, object, false, PolicyCall::Detach(arn))
                .await?;
        }
        for policy in &self.inline_policies(ex, object).await? {
            self.policy(ex, object, false, PolicyCall::DeleteInline(policy))
                .await?;
        }
        self.delete_alone(ex, object).await
    }

    /// Takes the principal out of what IAM refuses to delete it in, as IAM lists it now: a
    /// user out of its groups, a group's members out of it, a role out of its instance
    /// profiles.
    async fn untie(self, ex: &IamExecutor, object: &str) -> Result<(), AwsError> {
        let others: Vec<String> = iam_call!(ex.call(object, false), match self {
            Principal::User(name) => "iam:ListGroupsForUser" list_groups_for_user [.user_name(name)],
            Principal::Group(name) => "iam:GetGroup" get_group [.group_name(name)],
        } [.into_paginator().items().send().try_collect()], |listed| {
            listed.iter().map(|other| other.name().to_string()).collect()
        }, otherwise Vec::new())?;
        for other in &others {
            let (user, group) = match self {
                Principal::User(name) => (name, other.as_str()),
                Principal::Group(_) | Principal::Role(_) => (other.as_str(), self.name()),
            };
            leave_group(ex, object, user, group).await?;
        }
        if let Principal::Role(name) = self {
            let profiles = ex
                .call("iam:ListInstanceProfilesForRole", object, false, || {
                    let pages = ex.iam.list_instance_profiles_for_role().role_name(name);
                    pages.into_paginator().items().send().try_collect()
                })
                .await?;
            for profile in &profiles {
                let profile = profile.instance_profile_name();
                ex.call_if_exists("iam:RemoveRoleFromInstanceProfile", object, || {
                    ex.iam
                        .remove_role_from_instance_profile()
                        .instance_profile_name(profile)
                        .role_name(name)
                        .send()
                })
                .await?;
            }
        }
        Ok(())
    }
}

/// A user or a group as IAM lists it, by its name.
trait IamName {
    fn name(&self) -> &str;
}

impl IamName for aws_sdk_iam::types::User {
    fn name(&self) -> &str {
        self.user_name()
    }
}

impl IamName for aws_sdk_iam::types::Group {
    fn name(&self) -> &str {
        self.group_name()
    }
}

impl Target<'_> {
    /// Takes the principal's memberships from `before` to `after`: a user's groups, or a
    /// group's members (roles belong to no group). Joining is fresh when the user is new (and,
    /// from the user's side, when the group is).
    pub(super) async fn sync_memberships(
        &self,
        ex: &IamExecutor,
        before: &BTreeSet<String>,
        after: &BTreeSet<String>,
    ) -> Result<(), AwsError> {
        let (join, leave) = set_changes(before, after);
        for other in join {
            let (user, group, object, fresh) = self.membership(ex, other);
            join_group(ex, &object, fresh, user, group).await?;
        }
        for other in leave {
            let (user, group, object, _) = self.membership(ex, other);
            leave_group(ex, &object, user, group).await?;
        }
        Ok(())
    }

    /// The user and group of a membership with `other`, how errors name it, and whether it
    /// names something this apply created.
    fn membership<'b>(
        &'b self,
        ex: &IamExecutor,
        other: &'b str,
    ) -> (&'b str, &'b str, String, bool) {
        match self.principal {
            Principal::User(name) => {
                let group_key = Principal::Group(other).key(ex, "/");
                let fresh = ex.is_fresh([self.key.as_str(), group_key.as_str()]);
                (name, other, self.object.clone(), fresh)
            }
            Principal::Group(name) | Principal::Role(name) => {
                let object = format!("user `{other}` in group `{name}`");
                (other, name, object, self.fresh)
            }
        }
    }

    /// Takes what the principal holds from `before` to `after`: the permissions boundary, the
    /// tags, then attach, detach, put, delete, in that order. An attachment (or boundary) is
    /// fresh when the principal or the policy is; the other calls when the principal is.
    /// `before` is `None` right after the create call, which set the boundary and the tags and
    /// left the principal without policies.
    pub(super) async fn sync<H: PolicyHolder + Sync>(
        &self,
        ex: &IamExecutor,
        before: Option<&H>,
        after: &H,
    ) -> Result<(), AwsError> {
        let Target {
            principal,
            ref object,
            ref key,
            fresh,
        } = *self;
        let (none, no_inline) = (BTreeSet::new(), BTreeMap::new());
        let (boundary, tags, managed, inline) = match before {
            Some(before) => (
                before.permissions_boundary(),
                before.tags(),
                before.managed_policies(),
                before.inline_policies(),
            ),
            None => (
                after.permissions_boundary(),
                after.tags(),
                &none,
                &no_inline,
            ),
        };
        if boundary != after.permissions_boundary() {
            principal
                .set_boundary(ex, object, key, after.permissions_boundary())
                .await?;
        }
        if let (Some(tagged), Some(before), Some(after)) = (principal.tagged(), tags, after.tags())
        {
            tagged.retag(ex, object, fresh, before, after).await?;
        }
        let (attach, detach) = set_changes(managed, after.managed_policies());
        for policy in attach {
            let fresh = ex.is_fresh([key.as_str(), policy.as_str()]);
            principal
                .policy(ex, object, fresh, PolicyCall::Attach(policy))
                .await?;
        }
        for policy in detach {
            principal
                .policy(ex, object, false, PolicyCall::Detach(policy))
                .await?;
        }
        let (put, delete) = inline_changes(inline, after.inline_policies());
        for (policy, document) in put {
            let document = document_json(document);
            principal
                .policy(ex, object, fresh, PolicyCall::PutInline(policy, &document))
                .await?;
        }
        for policy in delete {
            principal
                .policy(ex, object, false, PolicyCall::DeleteInline(policy))
                .await?;
        }
        Ok(())
    }
}

/// A principal by name, with its object as one side of a change holds it.
#[derive(Clone, Copy, Debug)]
pub(super) enum Named<'a> {
    User(&'a str, &'a User),
    Group(&'a str, &'a Group),
    Role(&'a str, &'a Role),
}

impl<'a> Named<'a> {
    fn principal(self) -> Principal<'a> {
        match self {
            Named::User(name, _) => Principal::User(name),
            Named::Group(name, _) => Principal::Group(name),
            Named::Role(name, _) => Principal::Role(name),
        }
    }

    fn path(self) -> &'a str {
        match self {
            Named::User(_, user) => &user.path,
            Named::Group(_, group) => &group.path,
            Named::Role(_, role) => &role.path,
        }
    }

    /// A user's groups or a group's members; roles belong to no group.
    fn memberships(self) -> &'a BTreeSet<String> {
        static NONE: BTreeSet<String> = BTreeSet::new();
        match self {
            Named::User(_, user) => &user.groups,
            Named::Group(_, group) => &group.members,
            Named::Role(..) => &NONE,
        }
    }
}

/// The model types of users, groups and roles: one [`Apply`] serves them all, the kinds
/// differing only where [`Named`] and [`Principal`] say.
pub(super) trait NamedPrincipal: PolicyHolder + Variant + Sync {
    fn named<'a>(&'a self, name: &'a str) -> Named<'a>;
}

impl NamedPrincipal for User {
    fn named<'a>(&'a self, name: &'a str) -> Named<'a> {
        Named::User(name, self)
    }
}

impl NamedPrincipal for Group {
    fn named<'a>(&'a self, name: &'a str) -> Named<'a> {
        Named::Group(name, self)
    }
}

impl NamedPrincipal for Role {
    fn named<'a>(&'a self, name: &'a str) -> Named<'a> {
        Named::Role(name, self)
    }
}

impl<H: NamedPrincipal> Apply for H {
    /// Its kind's create call (with the path, and for users and roles the boundary and tags;
    /// for roles the trust, description and session length), then what the create call does
    /// not set: memberships, attachments and inline policies.
    async fn create(ex: &IamExecutor, name: &str, after: &H) -> Result<(), AwsError> {
        let new = after.named(name);
        let (principal, path) = (new.principal(), new.path());
        let object = principal.object();
        let trust = match new {
            Named::Role(_, role) => document_json(&role.trust),
            Named::User(..) | Named::Group(..) => String::new(),
        };
        // A trust policy may name a principal created a moment ago.
        let fresh = ex.names_fresh_principal(&trust);
        iam_call!(ex.call(&object, fresh), match new {
            Named::User(name, user) => "iam:CreateUser" create_user [.user_name(name).set_permissions_boundary(user.permissions_boundary.clone()).set_tags(create_tags(&user.tags))],
            Named::Group(name, _group) => "iam:CreateGroup" create_group [.group_name(name)],
            Named::Role(name, role) => "iam:CreateRole" create_role [.role_name(name).assume_role_policy_document(&trust).set_description(role.description.clone()).set_max_session_duration(i32::try_from(role.max_session_duration).ok()).set_permissions_boundary(role.permissions_boundary.clone()).set_tags(create_tags(&role.tags))],
        } [.path(path).send()], drop)?;
        ex.remember_created(principal.key(ex, path));
        let target = principal.target(ex, path);
        target
            .sync_memberships(ex, &BTreeSet::new(), new.memberships())
            .await?;
        target.sync(ex, None, after).await
    }

    /// A role's own settings ([`role::update`]); a user's or group's path (adoption moves
    /// either under the ownership path; a role's path change is a replace); memberships (the
    /// planner takes out members the file does not declare; a saved plan's objects are applied
    /// as they are, joins included); then what the principal holds.
    async fn update(ex: &IamExecutor, name: &str, before: &H, after: &H) -> Result<(), AwsError> {
        let (old, new) = (before.named(name), after.named(name));
        let principal = old.principal();
        let target = principal.target(ex, old.path());
        if let (Named::Role(_, before), Named::Role(_, after)) = (old, new) {
            role::update(ex, &target, before, after).await?;
        }
        if old.path() != new.path() {
            let (object, fresh) = (target.object.as_str(), target.fresh);
            principal.move_to(ex, object, fresh, new.path()).await?;
            if fresh {
                ex.remember_created(principal.key(ex, new.path()));
            }
        }
        target
            .sync_memberships(ex, old.memberships(), new.memberships())
            .await?;
        target.sync(ex, Some(before), after).await
    }

    /// A user as [`user::delete`] says; a group or a role as [`Principal::delete`] does.
    async fn delete(ex: &IamExecutor, name: &str, before: &H) -> Result<(), AwsError> {
        match before.named(name) {
            Named::User(name, user) => user::delete(ex, name, user).await,
            named => {
                let principal = named.principal();
                principal.delete(ex, &principal.object()).await
            }
        }
    }

    /// Delete, then create; the planner never replaces a group (a path change moves it), and
    /// a group's replace is an update.
    async fn replace(ex: &IamExecutor, name: &str, before: &H, after: &H) -> Result<(), AwsError> {
        if let Named::Group(..) = after.named(name) {
            return Self::update(ex, name, before, after).await;
        }
        Self::delete(ex, name, before).await?;
        Self::create(ex, name, after).await
    }
}

/// Puts `user` in `group`; `fresh` when either was created by this apply.
async fn join_group(
    ex: &IamExecutor,
    object: &str,
    fresh: bool,
    user: &str,
    group: &str,
) -> Result<(), AwsError> {
    ex.call("iam:AddUserToGroup", object, fresh, || {
        ex.iam
            .add_user_to_group()
            .user_name(user)
            .group_name(group)
            .send()
    })
    .await?;
    Ok(())
}

/// Takes `user` out of `group`; one already out is nothing to do.
pub(super) async fn leave_group(
    ex: &IamExecutor,
    object: &str,
    user: &str,
    group: &str,
) -> Result<(), AwsError> {
    ex.call_if_exists("iam:RemoveUserFromGroup", object, || {
        ex.iam
            .remove_user_from_group()
            .user_name(user)
            .group_name(group)
            .send()
    })
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::executor;
    use super::*;

    #[test]
    fn a_membership_is_named_and_judged_from_either_side() {
        let ex = executor();
        ex.remember_created("group:ops".into());
        let user = Principal::User("alice").target(&ex, "/team/");
        assert_eq!(user.key, "arn:aws:iam::111122223333:user/team/alice");
        assert!(!user.fresh);
        // From the user's side, a new group makes the join fresh; another group does not.
        assert_eq!(
            user.membership(&ex, "ops"),
            ("alice", "ops", "user `alice`".to_string(), true)
        );
        assert_eq!(
            user.membership(&ex, "dev"),
            ("alice", "dev", "user `alice`".to_string(), false)
        );
        // From the group's side, the group's own freshness decides.
        let group = Principal::Group("ops").target(&ex, "/");
        assert_eq!(group.key, "group:ops");
        assert_eq!(
            group.membership(&ex, "bob"),
            ("bob", "ops", "user `bob` in group `ops`".to_string(), true)
        );
    }
}
