//! Apply for IAM: turns each planned IAM change (policy, group, user, role, OIDC provider) into
//! the IAM calls that take the object from its `before` to its `after`. The plan decided what
//! to do; this module only works out how IAM wants it done, including what IAM requires to be
//! removed before an object can be deleted.
//!
//! Calls go through [`AwsCalls`] (see [`retry`](super::retry)): throttling and the propagation
//! delay after a create are retried; anything else fails the change with the call, the object
//! and a hint.

/// One IAM call whose operation depends on what it is about, as a table: a row per variant of
/// `$target`'s enum gives the IAM action, the SDK operation and the parameters that name the
/// object (`[.user_name(name)]`); then come the parameters every row shares (ending in
/// `.send()` or a paginator's), and how to map the output (every row gives the same type). The
/// executor's call wrapper and its arguments after the action come first. A variant whose kind
/// has no such operation (IAM tags no groups) falls to `otherwise VALUE`: nothing to call.
macro_rules! iam_call {
    (
        $ex:ident.$call:ident $args:tt,
        match $target:ident {
            $($enum:ident::$variant:ident($($name:pat_param),+) => $action:literal $op:ident $row:tt,)+
        }
        $common:tt, $map:expr $(, otherwise $absent:expr)?
    ) => {
        match $target {
            $($enum::$variant($($name),+) => {
                iam_call!(@one $ex, $call, $args, $action, $op, $row, $common, $map)
            })+
            $(#[allow(unreachable_patterns)] _ => Ok($absent),)?
        }
    };
    (
        @one $ex:ident, $call:ident, ($($arg:expr),*), $action:literal, $op:ident,
        [$($row:tt)*], [$($common:tt)*], $map:expr
    ) => {
        $ex.$call($action, $($arg,)* || $ex.iam.$op()$($row)*$($common)*)
            .await
            .map($map)
    };
}

pub mod keys;
mod oidc;
mod policy;
mod principal;
mod role;
mod user;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_iam::types::Tag;

use crate::apply::{ApplyError, Step};
use crate::model::{Group, IamArn, OidcProvider, Policy, PolicyDocument, Role, User};
use crate::plan::{Change, Kind, Variant};

use super::retry::{AwsCalls, Request, RetryPolicy, ServiceError, aws_executor};
use super::{AwsError, ErrorKind};

/// An IAM object kind as the executor applies it: how to create, update and delete one. A
/// replace deletes, then creates, unless the kind says otherwise.
trait Apply: Variant + Sync {
    async fn create(ex: &IamExecutor, name: &str, after: &Self) -> Result<(), AwsError>;

    /// An update: the kind's own calls ([`Apply::change`]), then the tags, for a kind IAM tags
    /// by ARN ([`Apply::by_arn`]: a policy, an OIDC provider). Principals update otherwise
    /// (their tags go with what they hold, [`principal`]) and override this.
    async fn update(
        ex: &IamExecutor,
        name: &str,
        before: &Self,
        after: &Self,
    ) -> Result<(), AwsError> {
        let (Some(old), Some(new)) = (
            Self::by_arn(ex, name, before),
            Self::by_arn(ex, name, after),
        ) else {
            return Ok(());
        };
        let fresh = ex.is_fresh([new.arn.as_str()]);
        let (object, arn) = (new.object, new.arn);
        let update = Update {
            ex,
            object,
            arn,
            fresh,
            before,
            after,
        };
        Self::change(&update).await?;
        (new.tagged)(&update.arn)
            .retag(ex, &update.object, fresh, old.tags, new.tags)
            .await
    }

    /// How an update's calls name the object and its tags, for a kind IAM tags by ARN.
    fn by_arn<'a>(_ex: &IamExecutor, _name: &str, _object: &'a Self) -> Option<ByArn<'a>> {
        None
    }

    /// What an update of a kind IAM tags by ARN changes before the tags.
    async fn change(_update: &Update<'_, Self>) -> Result<(), AwsError> {
        Ok(())
    }

    async fn delete(ex: &IamExecutor, name: &str, before: &Self) -> Result<(), AwsError>;

    async fn replace(
        ex: &IamExecutor,
        name: &str,
        before: &Self,
        after: &Self,
    ) -> Result<(), AwsError> {
        Self::delete(ex, name, before).await?;
        Self::create(ex, name, after).await
    }
}

/// How an update names an object IAM tags by ARN (a policy, an OIDC provider), and the tags
/// one side of the update gives it.
struct ByArn<'a> {
    /// How errors name it (`policy `ops``).
    object: String,
    arn: String,
    /// How IAM's tag calls name it, by its ARN.
    tagged: fn(&str) -> Tagged<'_>,
    tags: &'a BTreeMap<String, String>,
}

/// An update of an object IAM tags by ARN, as its calls name it.
struct Update<'a, T> {
    ex: &'a IamExecutor,
    /// How errors name it (`policy `ops``).
    object: String,
    arn: String,
    /// Whether this apply created it.
    fresh: bool,
    before: &'a T,
    after: &'a T,
}

/// Carries out IAM changes in one account.
#[derive(Debug)]
pub struct IamExecutor {
    iam: aws_sdk_iam::Client,
    account: String,
    partition: String,
    retry: RetryPolicy,
    /// What this apply created: a call naming it may meet IAM's propagation delay, and only
    /// then is `NoSuchEntity` retried. Shared with the EKS executor ([`Self::created`]).
    created: Created,
}

/// The ARNs (and `group:NAME`) an apply created in IAM, shared by the executors of one apply:
/// EKS, too, may not see a principal IAM created a moment ago.
#[derive(Clone, Debug, Default)]
pub struct Created(Arc<Mutex<BTreeSet<String>>>);

impl Created {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `key` as created by this apply.
    pub fn insert(&self, key: String) {
        self.lock().insert(key);
    }

    /// Whether this apply created `key` (an ARN, or `group:NAME`).
    pub fn contains(&self, key: &str) -> bool {
        self.lock().contains(key)
    }

    /// Whether this apply created something `matches` says yes to.
    pub fn any(&self, matches: impl Fn(&str) -> bool) -> bool {
        self.lock().iter().any(|key| matches(key))
    }

    /// Whether this apply created IAM user `name`, at whatever path (access key calls name a
    /// user by name alone).
    pub fn has_user(&self, name: &str) -> bool {
        self.any(|key| {
            matches!(IamArn::parse(key), Some(IamArn::User { name: made, .. }) if made == name)
        })
    }

    /// Whether a document names an ARN this apply created.
    fn named_in(&self, document: &str) -> bool {
        self.any(|key| key.starts_with("arn:") && document.contains(key))
    }
}

impl IamExecutor {
    pub fn new(
        iam: aws_sdk_iam::Client,
        account: impl Into<String>,
        partition: impl Into<String>,
    ) -> Self {
        IamExecutor {
            iam,
            account: account.into(),
            partition: partition.into(),
            retry: RetryPolicy::aws(),
            created: Created::default(),
        }
    }

    /// What this apply has created so far, as it grows: for the EKS executor of the same apply.
    pub fn created(&self) -> Created {
        self.created.clone()
    }

    async fn execute_change(&self, change: &Change) -> Result<(), AwsError> {
        match change.address.kind {
            Kind::Policy => self.apply_step::<Policy>(change).await,
            Kind::Group => self.apply_step::<Group>(change).await,
            Kind::User => self.apply_step::<User>(change).await,
            Kind::Role => self.apply_step::<Role>(change).await,
            Kind::OidcProvider => self.apply_step::<OidcProvider>(change).await,
            kind => Err(other(
                change,
                format!(
                    "`{}` objects are not IAM objects; the IAM executor cannot apply them",
                    kind.as_str()
                ),
            )),
        }
    }

    /// Carries out `change`, whose objects must be of the kind `T` its address names.
    async fn apply_step<T: Apply>(&self, change: &Change) -> Result<(), AwsError> {
        let name = change.address.name.as_str();
        match Step::<T>::of(change).map_err(|message| other(change, message))? {
            Step::Create(after) => T::create(self, name, after).await,
            Step::Update(before, after) => T::update(self, name, before, after).await,
            Step::Replace(before, after) => T::replace(self, name, before, after).await,
            Step::Delete(before) => T::delete(self, name, before).await,
        }
    }

    /// Attaches or otherwise names `policy_arn` for a principal: a `NoSuchEntity` about the
    /// policy is retried only when this apply created the policy, one about the principal
    /// when `fresh` (the principal or the policy is new). A typo in an `aws:` name fails at
    /// once instead of retrying for the whole budget.
    async fn call_naming_policy<T, E: ServiceError>(
        &self,
        name: &'static str,
        object: &str,
        fresh: bool,
        policy_arn: &str,
        send: impl Request<T, E>,
    ) -> Result<T, AwsError> {
        let policy_fresh = self.is_fresh([policy_arn]);
        self.call_judged(
            name,
            object,
            |error| {
                if error.message.contains(policy_arn) {
                    policy_fresh
                } else {
                    fresh
                }
            },
            send,
        )
        .await
    }

    fn remember_created(&self, key: String) {
        self.created.insert(key);
    }

    /// Whether any of `keys` was created by this apply.
    fn is_fresh<'a>(&self, keys: impl IntoIterator<Item = &'a str>) -> bool {
        keys.into_iter().any(|key| self.created.contains(key))
    }

    /// Whether a document names a principal this apply created (a trust policy naming a new
    /// role or user, or an IRSA trust naming a new OIDC provider).
    fn names_fresh_principal(&self, document: &str) -> bool {
        self.created.named_in(document)
    }

    fn user_arn(&self, path: &str, name: &str) -> String {
        crate::model::arn::user(&self.partition, &self.account, path, name)
    }

    fn role_arn(&self, path: &str, name: &str) -> String {
        crate::model::arn::role(&self.partition, &self.account, path, name)
    }

    fn policy_arn(&self, path: &str, name: &str) -> String {
        crate::model::arn::policy(&self.partition, &self.account, path, name)
    }

    fn oidc_provider_arn(&self, issuer: &str) -> String {
        crate::model::arn::oidc_provider(&self.partition, &self.account, issuer)
    }
}

aws_executor!(IamExecutor, |_executor, _change, error| apply_hint(error));

/// The [`ApplyError`] for a failed IAM call while applying `change`.
/// The report line already names the change's address; the error names the call and object.
pub fn apply_error(error: &AwsError) -> ApplyError {
    ApplyError::new(error.to_string()).with_hint(apply_hint(error))
}

/// How to fix a failed write: the read-side hints, adjusted where a write differs.
pub fn apply_hint(error: &AwsError) -> String {
    match &error.kind {
        ErrorKind::AccessDenied => format!(
            "the caller needs `{}` to apply this plan (apply needs IAM write access to what it changes)",
            error.call
        ),
        ErrorKind::NotFound => match missing_policy(error) {
            Some(arn) => format!(
                "the policy `{arn}` does not exist: fix the reference in access.yaml (`accessctl validate` checks `aws:` names offline, `accessctl plan` asks IAM about each), then plan again"
            ),
            None => "IAM does not have what this call names: if access.yaml names it, check the name; if it was deleted outside accessctl since the plan was made, `accessctl plan` shows the plan afresh".to_string(),
        },
        ErrorKind::Throttled => {
            "IAM kept throttling past the retry budget: run again later, or with a lower `--parallelism`"
                .to_string()
        }
        ErrorKind::Service(code) => match code.as_str() {
            "DeleteConflict" => format!(
                "IAM still holds something attached to {} that accessctl does not remove; detach or delete it (the message names it), then run `accessctl apply` again",
                error.object.as_deref().unwrap_or("the object")
            ),
            "EntityAlreadyExists" => {
                "it was created outside this plan meanwhile: run `accessctl plan` again".to_string()
            }
            "MalformedPolicyDocument" => {
                "IAM refused the document: check the statement in access.yaml (a principal it names must exist)".to_string()
            }
            "LimitExceeded" => {
                "an IAM quota was reached (e.g. 10 managed policies per principal, 5 policy versions): lower the count in access.yaml or raise the quota".to_string()
            }
            _ => error.hint(),
        },
        _ => error.hint(),
    }
}

/// The policy ARN a `NoSuchEntity` message names (`Policy arn:aws:iam::aws:policy/X does
/// not exist or is not attachable.`), if any.
fn missing_policy(error: &AwsError) -> Option<&str> {
    error
        .message
        .split_whitespace()
        .map(|word| word.trim_end_matches(['.', ',', ';']))
        .find(|word| word.starts_with("arn:") && word.contains(":policy/"))
}

/// A change this executor cannot carry out: not an IAM one, or one whose objects do not fit.
fn other(change: &Change, message: String) -> AwsError {
    AwsError::unfit("iam", change, message)
}

/// A document as IAM takes it: compact JSON.
fn document_json(document: &PolicyDocument) -> String {
    document.to_value().to_string()
}

fn tags(map: &BTreeMap<String, String>) -> Vec<Tag> {
    map.iter()
        .filter_map(|(key, value)| Tag::builder().key(key).value(value).build().ok())
        .collect()
}

/// The tags a create call takes: none at all rather than an empty list.
fn create_tags(map: &BTreeMap<String, String>) -> Option<Vec<Tag>> {
    Some(tags(map)).filter(|tags| !tags.is_empty())
}

/// An IAM object that takes tags, by what IAM's tag calls name it with.
#[derive(Clone, Copy, Debug)]
enum Tagged<'a> {
    User(&'a str),
    Role(&'a str),
    /// By ARN.
    Policy(&'a str),
    /// By ARN.
    OidcProvider(&'a str),
}

/// IAM's tag calls, as a table: a row per kind that takes tags gives its tag call, its untag
/// call and the parameter that names the object; `retag` sends, for the row of `$tagged`, the
/// tags to set (new or changed), then the keys to remove, each only when there is something
/// to send.
macro_rules! tag_calls {
    (
        $tagged:ident, $ex:ident, $object:ident, $fresh:ident, $set:ident, $removed:ident,
        $($variant:ident($name:ident) => $tag:literal $tag_op:ident, $untag:literal $untag_op:ident [$($row:tt)*],)+
    ) => {
        match $tagged {
            $(Tagged::$variant($name) => {
                if !$set.is_empty() {
                    $ex.call($tag, $object, $fresh, || {
                        $ex.iam.$tag_op()$($row)*.set_tags(Some($set.clone())).send()
                    })
                    .await?;
                }
                if !$removed.is_empty() {
                    $ex.call($untag, $object, $fresh, || {
                        $ex.iam.$untag_op()$($row)*.set_tag_keys(Some($removed.clone())).send()
                    })
                    .await?;
                }
            })+
        }
    };
}

impl Tagged<'_> {
    /// Takes the object's tags from `before` to `after`: tags set (new or changed), then keys
    /// removed, each only when there is something to send.
    async fn retag(
        self,
        ex: &IamExecutor,
        object: &str,
        fresh: bool,
        before: &BTreeMap<String, String>,
        after: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let (set, removed) = tag_changes(before, after);
        tag_calls!(self, ex, object, fresh, set, removed,
            User(name) => "iam:TagUser" tag_user, "iam:UntagUser" untag_user [.user_name(name)],
            Role(name) => "iam:TagRole" tag_role, "iam:UntagRole" untag_role [.role_name(name)],
            Policy(arn) => "iam:TagPolicy" tag_policy, "iam:UntagPolicy" untag_policy [.policy_arn(arn)],
            OidcProvider(arn) => "iam:TagOpenIDConnectProvider" tag_open_id_connect_provider, "iam:UntagOpenIDConnectProvider" untag_open_id_connect_provider [.open_id_connect_provider_arn(arn)],
        );
        Ok(())
    }
}

/// Tags to set (new or changed) and keys to remove, from `before` to `after`.
fn tag_changes(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> (Vec<Tag>, Vec<String>) {
    let set: BTreeMap<String, String> = after
        .iter()
        .filter(|(key, value)| before.get(*key) != Some(*value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let removed = before
        .keys()
        .filter(|key| !after.contains_key(*key))
        .cloned()
        .collect();
    (tags(&set), removed)
}

/// What to add and what to remove to go from `before` to `after`.
fn set_changes<'a>(
    before: &'a BTreeSet<String>,
    after: &'a BTreeSet<String>,
) -> (Vec<&'a String>, Vec<&'a String>) {
    (
        after.difference(before).collect(),
        before.difference(after).collect(),
    )
}

/// Inline policies to put (new or changed) and names to delete.
fn inline_changes<'a>(
    before: &'a BTreeMap<String, PolicyDocument>,
    after: &'a BTreeMap<String, PolicyDocument>,
) -> (Vec<(&'a String, &'a PolicyDocument)>, Vec<&'a String>) {
    (
        after
            .iter()
            .filter(|(name, document)| before.get(*name) != Some(*document))
            .collect(),
        before
            .keys()
            .filter(|name| !after.contains_key(*name))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Namespace, string_map};
    use crate::plan::Object;

    /// An executor that reaches no IAM endpoint: for what is decided before any call.
    pub(super) fn executor() -> IamExecutor {
        let config = aws_sdk_iam::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        IamExecutor::new(
            aws_sdk_iam::Client::from_conf(config),
            "111122223333",
            "aws",
        )
    }

    /// `line` (`+ iam.user.alice`) with these objects.
    fn change(line: &str, before: Option<Object>, after: Option<Object>) -> Change {
        Change {
            before,
            after,
            ..Change::from_line(line)
        }
    }

    #[tokio::test]
    async fn a_change_whose_objects_do_not_fit_its_kind_fails_before_any_call() {
        let user = || Some(Object::User(User::default()));
        let group = || Some(Object::Group(Group::default()));
        let provider = || Some(Object::OidcProvider(OidcProvider::default()));
        let cases = [
            (change("+ iam.user.alice", None, group()), "Create"),
            (change("- iam.group.ops", user(), None), "Delete"),
            (change("~ iam.user.alice", user(), group()), "Update"),
            (
                change("-/+ iam.oidc-provider.example.com", provider(), user()),
                "Replace",
            ),
            (change("+ iam.user.alice", None, None), "Create"),
        ];
        let ex = executor();
        for (change, action) in cases {
            let error = ex.execute_change(&change).await.err();
            let expected =
                format!("a `{action}` change whose before/after objects do not fit its kind");
            assert_eq!(
                error
                    .as_ref()
                    .map(|error| (error.call, error.message.as_str())),
                Some(("iam", expected.as_str())),
                "{}",
                change.address
            );
            let error = error.map(|error| error.object);
            assert_eq!(error, Some(Some(change.address.to_string())));
        }
        let namespace = Some(Object::Namespace(Namespace::default()));
        let change = change("+ cluster.demo.namespace.team", None, namespace);
        let error = ex.execute_change(&change).await.err();
        assert_eq!(
            error.map(|error| error.message),
            Some(
                "`namespace` objects are not IAM objects; the IAM executor cannot apply them"
                    .to_string()
            )
        );
    }

    #[test]
    fn tag_changes_set_new_and_changed_and_remove_dropped() {
        let (set, removed) = tag_changes(
            &string_map(&[("keep", "1"), ("change", "old"), ("drop", "x")]),
            &string_map(&[("keep", "1"), ("change", "new"), ("add", "y")]),
        );
        let set: Vec<(&str, &str)> = set.iter().map(|tag| (tag.key(), tag.value())).collect();
        assert_eq!(set, [("add", "y"), ("change", "new")]);
        assert_eq!(removed, ["drop"]);
    }

    #[test]
    fn set_changes_are_differences() {
        let before: BTreeSet<String> = ["a", "b"].into_iter().map(String::from).collect();
        let after: BTreeSet<String> = ["b", "c"].into_iter().map(String::from).collect();
        let (added, removed) = set_changes(&before, &after);
        assert_eq!(added, ["c"]);
        assert_eq!(removed, ["a"]);
    }

    #[test]
    fn hints_fit_writes() {
        let conflict = AwsError {
            call: "iam:DeleteUser",
            object: Some("user `alice`".into()),
            kind: ErrorKind::Service("DeleteConflict".into()),
            message: "Cannot delete entity, must remove tokens first.".into(),
        };
        assert!(apply_hint(&conflict).contains("user `alice`"));
        let denied = AwsError {
            call: "iam:CreateUser",
            object: None,
            kind: ErrorKind::AccessDenied,
            message: String::new(),
        };
        assert!(apply_hint(&denied).contains("`iam:CreateUser`"));
    }
}
