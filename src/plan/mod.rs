//! The planner: compares desired and live state and proposes changes. It must not change any
//! state, only propose changes: a pure, synchronous, deterministic function of its inputs,
//! with no I/O.
//!
//! A [`Plan`] is the single source for every renderer (text, JSON, Markdown) and for apply, so
//! what people review is exactly what runs.

mod diff;
mod eks;
mod fields;
mod order;
mod project;
mod safety;
mod size;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::model::{Address, Desired, Kind, ParseAddressError};
pub use fields::{display_field, display_path};
pub use project::project;

use crate::insight::impact::{self, ImpactItem};
use crate::model::{
    AccessEntry, AccessKeys, AuthenticationMode, AwsAuthEntry, Binding, Group, Namespace,
    OidcProvider, PodIdentityAssociation, Policy, RbacRole, Role, ServiceAccount, State, User,
};

/// Version of the plan JSON format (`docs/plan-json.md`, `specs/plan.schema.json`).
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// What a change does. The symbols double as the text renderer's markers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    /// Delete then create (an immutable field changed).
    Replace,
    Delete,
    /// Take over an existing object: add the ownership marker, and apply any diff shown.
    Adopt,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::Adopt => "<=",
        }
    }
}

/// An object of any kind, as the model holds it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Object {
    Policy(Policy),
    Group(Group),
    User(User),
    Role(Role),
    OidcProvider(OidcProvider),
    AwsAuthEntry(AwsAuthEntry),
    AccessEntry(AccessEntry),
    Namespace(Namespace),
    /// A ClusterRole or a Role: the address's kind says which.
    RbacRole(RbacRole),
    Binding(Binding),
    ServiceAccount(ServiceAccount),
    PodIdentity(PodIdentityAssociation),
    /// A user's access keys (ids masked, never a secret).
    AccessKeys(AccessKeys),
}

/// A model type one [`Object`] variant holds, into and out of it.
pub(crate) trait Variant: Sized {
    fn into_object(self) -> Object;
    fn from_object(object: &Object) -> Option<&Self>;
}

macro_rules! variants {
    ($($type:ty => $variant:ident),* $(,)?) => {$(
        impl Variant for $type {
            fn into_object(self) -> Object {
                Object::$variant(self)
            }
            fn from_object(object: &Object) -> Option<&Self> {
                match object {
                    Object::$variant(inner) => Some(inner),
                    _ => None,
                }
            }
        }
    )*};
}

variants!(
    Policy => Policy,
    Group => Group,
    User => User,
    Role => Role,
    OidcProvider => OidcProvider,
    AwsAuthEntry => AwsAuthEntry,
    AccessEntry => AccessEntry,
    Namespace => Namespace,
    RbacRole => RbacRole,
    Binding => Binding,
    ServiceAccount => ServiceAccount,
    PodIdentityAssociation => PodIdentity,
    AccessKeys => AccessKeys,
);

impl Object {
    /// Reads an object of the given kind back from its JSON form.
    pub fn from_value(kind: Kind, value: Value) -> Result<Self, serde_json::Error> {
        Ok(match kind {
            Kind::Policy => Object::Policy(serde_json::from_value(value)?),
            Kind::Group => Object::Group(serde_json::from_value(value)?),
            Kind::User => Object::User(serde_json::from_value(value)?),
            Kind::Role => Object::Role(serde_json::from_value(value)?),
            Kind::OidcProvider => Object::OidcProvider(serde_json::from_value(value)?),
            Kind::AwsAuth => Object::AwsAuthEntry(serde_json::from_value(value)?),
            Kind::AccessEntry => Object::AccessEntry(serde_json::from_value(value)?),
            Kind::Namespace => Object::Namespace(serde_json::from_value(value)?),
            Kind::ClusterRole | Kind::K8sRole => Object::RbacRole(serde_json::from_value(value)?),
            Kind::ClusterRoleBinding | Kind::RoleBinding => {
                Object::Binding(serde_json::from_value(value)?)
            }
            Kind::ServiceAccount => Object::ServiceAccount(serde_json::from_value(value)?),
            Kind::PodIdentity => Object::PodIdentity(serde_json::from_value(value)?),
            Kind::AccessKey => Object::AccessKeys(serde_json::from_value(value)?),
        })
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// One field that differs between before and after, e.g. `managed_policies` or
/// `inline_policies.assume-eks-admin`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// One proposed change. Apply needs nothing beyond it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "ChangeRepr")]
pub struct Change {
    pub address: Address,
    pub action: Action,
    /// Why, for people; never read by apply.
    pub reason: Option<String>,
    pub before: Option<Object>,
    pub after: Option<Object>,
    /// Field-level differences (empty for create and delete).
    pub fields: Vec<FieldChange>,
}

#[cfg(test)]
impl Change {
    /// A change as a plan line shows it (`+ iam.user.alice`, `- cluster.demo.aws-auth[arn:a]`),
    /// with no reason, objects or fields: for tests of what reads only the address and the
    /// action (order, staging).
    pub(crate) fn from_line(line: &str) -> Change {
        let (symbol, address) = line.split_once(' ').expect("`<symbol> <address>`");
        let action = [
            Action::Create,
            Action::Update,
            Action::Replace,
            Action::Delete,
            Action::Adopt,
        ]
        .into_iter()
        .find(|action| action.symbol() == symbol)
        .unwrap_or_else(|| panic!("`{symbol}` is not a plan symbol"));
        Change {
            address: address.parse().expect("an address"),
            action,
            reason: None,
            before: None,
            after: None,
            fields: Vec::new(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct ChangeRepr {
    address: Address,
    action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    before: Option<Value>,
    after: Option<Value>,
    #[serde(default)]
    fields: Vec<FieldChange>,
}

/// [`ChangeRepr`] borrowed, for writing: the objects serialize in place, so an object that
/// cannot be written fails the serialization instead of becoming `null`.
#[derive(Serialize)]
struct ChangeReprRef<'a> {
    address: &'a Address,
    action: &'a Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    before: Option<&'a Object>,
    after: Option<&'a Object>,
    fields: &'a [FieldChange],
}

impl Serialize for Change {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ChangeReprRef {
            address: &self.address,
            action: &self.action,
            reason: self.reason.as_deref(),
            before: self.before.as_ref(),
            after: self.after.as_ref(),
            fields: &self.fields,
        }
        .serialize(serializer)
    }
}

impl TryFrom<ChangeRepr> for Change {
    type Error = serde_json::Error;

    fn try_from(repr: ChangeRepr) -> Result<Self, Self::Error> {
        let kind = repr.address.kind;
        Ok(Change {
            before: repr
                .before
                .map(|v| Object::from_value(kind, v))
                .transpose()?,
            after: repr
                .after
                .map(|v| Object::from_value(kind, v))
                .transpose()?,
            address: repr.address,
            action: repr.action,
            reason: repr.reason,
            fields: repr.fields,
        })
    }
}

/// Counts for the summary line. A replace counts once in `add` and once in `destroy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub adopt: usize,
}

/// Something the reader of a plan should know that is not a change: unmanaged objects kept,
/// overrides used, facts that could not be checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    pub message: String,
}

/// The plan: changes in the order apply runs them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub changes: Vec<Change>,
    pub summary: Summary,
    /// Safety overrides that were needed for this plan (flag names, e.g. `--allow-namespace-deletion`).
    #[serde(default)]
    pub overrides: Vec<String>,
    #[serde(default)]
    pub notes: Vec<Note>,
    /// What IAM deletes together with each user this plan deletes (or replaces), read from
    /// live IAM after the diff; empty when the plan deletes no user or was made offline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted_with: Vec<DeletedWith>,
    /// What each IAM principal and Kubernetes subject gains and loses if the plan is applied
    /// (`insight::impact`): escalations to admin-equivalent access first. Empty when the plan
    /// changes nobody's access.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_impact: Vec<ImpactItem>,
}

/// The credentials that go with a deleted user, by id (never a secret): IAM removes them
/// with the user, and a person reviewing the plan should know a key or a password goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedWith {
    /// The user's change (`iam.user.NAME`).
    pub address: Address,
    /// Access key ids, masked (`AKIA…WXYZ`).
    #[serde(default)]
    pub access_keys: Vec<String>,
    /// Whether the user can sign in to the console (has a login profile).
    #[serde(default)]
    pub console_password: bool,
    /// MFA device serial numbers (a virtual device's ARN).
    #[serde(default)]
    pub mfa_devices: Vec<String>,
    /// SSH public key ids (CodeCommit).
    #[serde(default)]
    pub ssh_public_keys: Vec<String>,
    /// Signing certificate ids.
    #[serde(default)]
    pub signing_certificates: Vec<String>,
    /// Service-specific credential ids (CodeCommit, Keyspaces).
    #[serde(default)]
    pub service_specific_credentials: Vec<String>,
    /// What could not be read, and why (`could not list MFA devices: …`): the lists above
    /// may then be incomplete.
    #[serde(default)]
    pub unlisted: Vec<String>,
}

impl DeletedWith {
    /// Whether nothing goes with the user and everything could be read.
    pub fn is_empty(&self) -> bool {
        self.access_keys.is_empty()
            && !self.console_password
            && self.mfa_devices.is_empty()
            && self.ssh_public_keys.is_empty()
            && self.signing_certificates.is_empty()
            && self.service_specific_credentials.is_empty()
            && self.unlisted.is_empty()
    }

    /// One phrase per kind present: `access key AKIA…`, `2 MFA devices (arn:…, …)`,
    /// `console password`; then what could not be read.
    pub fn items(&self) -> Vec<String> {
        let mut items = Vec::new();
        let mut ids = |one: &str, many: &str, ids: &[String]| match ids {
            [] => {}
            [id] => items.push(format!("{one} {id}")),
            ids => items.push(format!("{} {many} ({})", ids.len(), ids.join(", "))),
        };
        ids("access key", "access keys", &self.access_keys);
        ids("MFA device", "MFA devices", &self.mfa_devices);
        ids("SSH public key", "SSH public keys", &self.ssh_public_keys);
        ids(
            "signing certificate",
            "signing certificates",
            &self.signing_certificates,
        );
        ids(
            "service-specific credential",
            "service-specific credentials",
            &self.service_specific_credentials,
        );
        if self.console_password {
            items.push("console password".to_string());
        }
        items
    }
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }
}

/// The safety checks of design.md §5, each with the flag that overrides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SafetyCheck {
    AccountMismatch,
    SelfLockout,
    NodeRole,
    NoClusterAdmin,
    NamespaceDeletion,
}

impl SafetyCheck {
    pub fn flag(self) -> &'static str {
        match self {
            SafetyCheck::AccountMismatch => "--allow-account-mismatch",
            SafetyCheck::SelfLockout => "--allow-self-lockout",
            SafetyCheck::NodeRole => "--allow-node-role-changes",
            SafetyCheck::NoClusterAdmin => "--allow-no-cluster-admin",
            SafetyCheck::NamespaceDeletion => "--allow-namespace-deletion",
        }
    }
}

/// Which safety checks the user explicitly overrode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    pub allowed: BTreeSet<SafetyCheck>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// `--adopt`: take over every declared object that exists unowned.
    pub adopt_all: bool,
    pub overrides: Overrides,
}

/// Why the planner refused to produce a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Problem {
    /// A declared object exists but is not owned by accessctl, and is not adopted.
    Unowned { address: Address },
    /// A safety check failed and was not overridden.
    Unsafe {
        check: SafetyCheck,
        address: Option<Address>,
        message: String,
    },
    /// The file's `authentication:` needs a mode the cluster is not in: what it would write
    /// would not be used (or could not be written). No flag overrides this.
    Authentication {
        cluster: String,
        region: Option<String>,
        wanted: AuthenticationMode,
        actual: AuthenticationMode,
    },
    /// EKS would refuse the change whatever the caller allows (a Pod Identity role it does
    /// not accept): `message` says why, `hint` names EKS's rule. No flag overrides this.
    Refused {
        address: Address,
        message: String,
        hint: String,
    },
}

impl Problem {
    pub fn message(&self) -> String {
        match self {
            Problem::Unowned { address } => {
                format!("`{address}` exists but is not managed by accessctl")
            }
            Problem::Unsafe { message, .. } => message.clone(),
            Problem::Authentication { .. } => eks::authentication_message(self),
            Problem::Refused { message, .. } => message.clone(),
        }
    }

    /// The object the problem is about, if it is about one.
    pub fn address(&self) -> Option<&Address> {
        match self {
            Problem::Unowned { address } => Some(address),
            Problem::Unsafe { address, .. } => address.as_ref(),
            Problem::Refused { address, .. } => Some(address),
            Problem::Authentication { .. } => None,
        }
    }

    pub fn hint(&self) -> String {
        match self {
            Problem::Unowned { .. } => {
                "to take it over, set `adopt: true` on it in access.yaml or pass `--adopt`; the plan will show the diff".to_string()
            }
            Problem::Unsafe { check, .. } => {
                format!("if this is intended, pass `{}`", check.flag())
            }
            Problem::Authentication { .. } => eks::authentication_hint(self),
            Problem::Refused { hint, .. } => hint.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the plan was refused ({} problem{})", problems.len(), if problems.len() == 1 { "" } else { "s" })]
pub struct PlanError {
    pub problems: Vec<Problem>,
}

/// Computes the changes that make `live` match `desired`.
///
/// Every problem is collected before refusing, so one run names them all. Safety checks the
/// caller overrode do not refuse; their flags are listed in [`Plan::overrides`] and each is
/// explained in a note.
pub fn plan(desired: &Desired, live: &State, options: &PlanOptions) -> Result<Plan, PlanError> {
    let (Assessment { mut plan, refused }, after) = assess_projected(desired, live, options);
    if !refused.is_empty() {
        return Err(PlanError { problems: refused });
    }
    if !plan.changes.is_empty() {
        plan.access_impact = impact::impact(live, &after);
    }
    Ok(plan)
}

/// What the changes do to everyone's access: the insight of `live` against the insight of
/// `live` with the changes applied ([`project`]).
pub fn access_impact(live: &State, changes: &[Change]) -> Vec<ImpactItem> {
    if changes.is_empty() {
        return Vec::new();
    }
    impact::impact(live, &project::project(live, changes))
}

/// What a comparison or a check over the plan found beyond its changes: the refusals, and
/// the notes for people.
#[derive(Debug, Default)]
struct Findings {
    problems: Vec<Problem>,
    notes: Vec<Note>,
}

/// A plan together with what refuses it: [`plan`] is this with "no refusal" required.
/// `accessctl drift` reports both, so that it shows exactly what plan shows and names what
/// plan would refuse instead of failing.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    /// The changes, in apply order. An unowned object that is not adopted has none.
    pub plan: Plan,
    /// Why [`plan`] refuses (empty when it does not).
    pub refused: Vec<Problem>,
}

/// Computes the plan and every problem that refuses it, with the same rules as [`plan`].
pub fn assess(desired: &Desired, live: &State, options: &PlanOptions) -> Assessment {
    assess_projected(desired, live, options).0
}

/// [`assess`], and the state after the plan it judged the plan by (the access impact's).
fn assess_projected(desired: &Desired, live: &State, options: &PlanOptions) -> (Assessment, State) {
    let (mut changes, diff) = diff::diff(desired, live, options);
    order::sort(&mut changes);
    // The state after this plan, projected once for every check that judges the whole plan.
    let after = project::project(live, &changes);
    let eks = eks::check(desired, live, &after);
    let safety = safety::check(desired, live, &changes, &after);
    let size = size::check(live, &changes, &after);

    let mut notes = safety.notes;
    notes.extend(diff.notes);
    notes.extend(eks.notes);
    let mut refused = Vec::new();
    let mut overridden = BTreeSet::new();
    for problem in eks
        .problems
        .into_iter()
        .chain(diff.problems)
        .chain(safety.problems)
        .chain(size.problems)
    {
        match problem {
            Problem::Unsafe {
                check,
                address,
                message,
            } if options.overrides.allowed.contains(&check) => {
                overridden.insert(check);
                notes.push(Note {
                    address,
                    message: safety::overridden_note(check, &message),
                });
            }
            problem => refused.push(problem),
        }
    }
    let plan = Plan {
        format_version: PLAN_FORMAT_VERSION,
        summary: summarize(&changes),
        changes,
        overrides: overridden
            .into_iter()
            .map(|check| check.flag().to_string())
            .collect(),
        notes,
        deleted_with: Vec::new(),
        access_impact: Vec::new(),
    };
    (Assessment { plan, refused }, after)
}

/// The users `plan` deletes, whether alone or as half of a replace: IAM takes their
/// credentials with them.
pub fn deleted_users(plan: &Plan) -> Vec<&str> {
    plan.changes
        .iter()
        .filter(|change| {
            change.address.kind == Kind::User
                && matches!(change.action, Action::Delete | Action::Replace)
        })
        .map(|change| change.address.name.as_str())
        .collect()
}

pub(crate) fn summarize(changes: &[Change]) -> Summary {
    let mut summary = Summary::default();
    for change in changes {
        match change.action {
            Action::Create => summary.add += 1,
            Action::Update => summary.change += 1,
            Action::Replace => {
                summary.add += 1;
                summary.destroy += 1;
            }
            Action::Delete => summary.destroy += 1,
            Action::Adopt => summary.adopt += 1,
        }
    }
    summary
}
