//! Per-object comparison of desired and live state: which objects to create, update, replace,
//! adopt or delete, decided from the ownership markers in the data. Also the refusals that come
//! from single objects: unowned objects not adopted, node-role mappings.
//!
//! Nothing here looks at more than one object at a time; checks over the whole plan are in
//! `safety`.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::access_key;
use crate::model::{
    AccessEntry, AccessKeys, AwsAuth, AwsAuthEntry, Binding, Cluster, DEFAULT_GROUP_PATH,
    DEFAULT_POLICY_PATH, Group, IRSA_ANNOTATION, Iam, KubeObject, MANAGED_BY_LABEL, MANAGED_BY_TAG,
    MANAGED_BY_VALUE, Meta, NODE_GROUPS, Namespace, OidcProvider, PodIdentityAssociation, Policy,
    RbacRole, Role, ServiceAccount, State, User, arn,
};

use super::eks;
use super::fields::{display_field, field_changes, field_names, join_names};
use super::project::{moves_policy, reattach_moved_policy};
use super::{
    Action, Address, Change, Desired, FieldChange, Findings, Kind, Note, Object, PlanOptions,
    Problem, SafetyCheck, Variant,
};

/// The only access entry type accessctl manages; the others belong to nodes and EKS.
pub(super) const STANDARD_ACCESS_ENTRY: &str = "STANDARD";

const REASON_CREATE: &str = "not in live state";
const REASON_DELETE: &str = "owned by accessctl and no longer in access.yaml";
const REASON_MEMBER: &str = "member not declared in access.yaml";
const REASON_MEMBERS: &str = "members not declared in access.yaml";
/// The field of a group object that lists its users.
const MEMBERS_FIELD: &str = "members";
const REASON_ADOPT_FILE: &str = "exists unmanaged; adopted because of `adopt: true`";
const REASON_ADOPT_FLAG: &str = "exists unmanaged; adopted because of `--adopt`";

/// An object kind the generic comparison handles (all but aws-auth entries, which live in one
/// shared list).
trait Managed: Variant + Clone + PartialEq {
    /// Whether the live object carries accessctl's marker.
    fn is_owned(&self, paths: &Paths<'_>) -> bool;

    /// Whether applying `after` to `live` changes nothing. Fields live state does not read
    /// ([`unread_fields`]) are left out.
    fn unchanged(after: &Self, live: &Self) -> bool {
        after == live
    }

    /// The desired object as created: with the ownership marker, whatever the loader did.
    fn created(desired: &Self) -> Self;

    /// What `live` becomes when `desired` is applied to it: fields the file does not control
    /// (ids, others' labels) are kept from `live`. Equal to `live` exactly when nothing changes.
    fn becomes(desired: &Self, live: &Self) -> Self {
        let _ = live;
        Self::created(desired)
    }

    /// What a replace creates: like [`Self::becomes`], without the ids of the deleted object.
    fn replaced(desired: &Self, live: &Self) -> Self {
        Self::becomes(desired, live)
    }

    /// Fields that differ and cannot be changed in place.
    fn immutable_changes(after: &Self, live: &Self) -> Vec<&'static str> {
        let _ = (after, live);
        Vec::new()
    }

    /// A live object accessctl never touches even when declared (nodes' access entries), with
    /// what it is.
    fn foreign(live: &Self) -> Option<String> {
        let _ = live;
        None
    }

    /// An unowned live object that already serves the file as it is (shared infrastructure,
    /// such as the OIDC provider eksctl or Terraform made for a cluster): used, not adopted.
    fn serves_unowned(desired: &Self, live: &Self) -> bool {
        let _ = (desired, live);
        false
    }

    /// Fields the service computes when the file leaves them out (an access entry's
    /// username): `after` takes them from `live`, so they are no change.
    fn keep_computed(after: &mut Self, live: &Self) {
        let _ = (after, live);
    }

    /// Why `live`, owned or adopted and named `name`, must be replaced rather than updated to
    /// `desired` (an access entry of a recreated role, or one whose generated username only a
    /// new entry gets back), from what the plan knows beyond this object.
    fn stale(desired: &Self, live: &Self, name: &str, facts: &Facts<'_>) -> Option<String> {
        let _ = (desired, live, name, facts);
        None
    }
}

/// What the comparison of one object may need to know beyond it: the live state, the roles
/// this plan creates or replaces (by ARN), whether the cluster being compared serves the
/// file's authentication mode.
pub(super) struct Facts<'a> {
    live: &'a State,
    created_roles: BTreeSet<String>,
    serves_authentication: bool,
}

fn tagged(tags: &BTreeMap<String, String>) -> bool {
    crate::model::owned::by_tags(tags)
}

fn tag(tags: &mut BTreeMap<String, String>) {
    tags.insert(MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string());
}

/// Live metadata with the file's keys set and the ownership label: keys the file does not name
/// belong to others. `removable` annotations are controlled by the file even when absent from
/// it.
pub(super) fn merge_meta(desired: &Meta, live: &Meta, removable: &[&str]) -> Meta {
    let mut meta = set_keys(desired, live, removable);
    label(&mut meta);
    meta
}

/// Live metadata with `desired`'s keys set, and the `removable` annotations `desired` lacks
/// taken out.
pub(super) fn set_keys(desired: &Meta, live: &Meta, removable: &[&str]) -> Meta {
    let mut meta = live.clone();
    for key in removable {
        if !desired.annotations.contains_key(*key) {
            meta.annotations.remove(*key);
        }
    }
    meta.labels.extend(
        desired
            .labels
            .iter()
            .map(|(key, value)| (key.clone(), value.clone())),
    );
    meta.annotations.extend(
        desired
            .annotations
            .iter()
            .map(|(key, value)| (key.clone(), value.clone())),
    );
    meta
}

fn label(meta: &mut Meta) {
    meta.labels
        .insert(MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string());
}

/// Fields written but not read back from live state, by kind: never a difference in a plan.
fn unread_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Policy => &["tags"],
        _ => &[],
    }
}

/// `fields` without those under the unread `names` (`tags`, `tags.team`).
fn without_unread(mut fields: Vec<FieldChange>, names: &[&str]) -> Vec<FieldChange> {
    fields.retain(|field| {
        !names.iter().any(|name| {
            field
                .path
                .strip_prefix(name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
    });
    fields
}

/// The paths that mark ownership of objects that cannot carry (or do not return) tags.
struct Paths<'a> {
    /// Groups exactly at this path are owned.
    group: &'a str,
    /// Customer policies at this path or below it are owned.
    policy: &'a str,
}

impl Paths<'_> {
    /// For kinds owned by their tags, which need no path.
    const NONE: Paths<'static> = Paths {
        group: "",
        policy: "",
    };
}

/// IAM returns no policy tags in bulk (one `ListPolicyTags` per policy would dominate the live
/// read), so the path marks ownership and the tags accessctl writes are never compared.
impl Managed for Policy {
    fn is_owned(&self, paths: &Paths<'_>) -> bool {
        crate::model::owned::policy_path(&self.path, paths.policy)
    }
    fn unchanged(after: &Self, live: &Self) -> bool {
        after.path == live.path
            && after.description == live.description
            && after.document == live.document
    }
    fn created(desired: &Self) -> Self {
        let mut policy = desired.clone();
        tag(&mut policy.tags);
        policy
    }
    fn immutable_changes(after: &Self, live: &Self) -> Vec<&'static str> {
        let mut fields = Vec::new();
        if after.path != live.path {
            fields.push("path");
        }
        if after.description != live.description {
            fields.push("description");
        }
        fields
    }
}

impl Managed for Group {
    fn is_owned(&self, paths: &Paths<'_>) -> bool {
        crate::model::owned::group_path(&self.path, paths.group)
    }
    /// A new group has no members yet: the users' changes add them.
    fn created(desired: &Self) -> Self {
        let mut group = desired.clone();
        group.members.clear();
        group
    }
    /// `desired` holds the members the group keeps (`memberships`).
    fn becomes(desired: &Self, _: &Self) -> Self {
        desired.clone()
    }
}

/// The kinds owned by their `managed-by` tag. `id:` names the id only live state has (a role's
/// `AROA…`, an access entry's principal id, an association's id): kept through an update,
/// never part of what a create or a replace writes. `owned_if:` narrows ownership further; the
/// block holds the kind's own rules.
macro_rules! managed_by_tag {
    ($type:ty $(, id: $id:ident)? $(, owned_if: $owned_if:path)? { $($rules:tt)* }) => {
        impl Managed for $type {
            fn is_owned(&self, _: &Paths<'_>) -> bool {
                $($owned_if(self) &&)? tagged(&self.tags)
            }
            fn created(desired: &Self) -> Self {
                let mut object = desired.clone();
                tag(&mut object.tags);
                $(object.$id = None;)?
                object
            }
            $(
                fn becomes(desired: &Self, live: &Self) -> Self {
                    let mut object = Self::created(desired);
                    object.$id.clone_from(&live.$id);
                    Self::keep_computed(&mut object, live);
                    object
                }
                fn replaced(desired: &Self, _: &Self) -> Self {
                    Self::created(desired)
                }
            )?
            $($rules)*
        }
    };
}

managed_by_tag!(User {});

managed_by_tag!(Role, id: role_id {
    fn immutable_changes(after: &Self, live: &Self) -> Vec<&'static str> {
        if after.path == live.path {
            Vec::new()
        } else {
            vec!["path"]
        }
    }
});

managed_by_tag!(OidcProvider {
    fn serves_unowned(desired: &Self, live: &Self) -> bool {
        desired.client_ids.is_subset(&live.client_ids)
    }
});

managed_by_tag!(AccessEntry, id: principal_id, owned_if: standard {
    /// Without a username in the file, the entry keeps the one EKS holds: `stale` has replaced
    /// it already unless that is EKS's generated one.
    fn keep_computed(after: &mut Self, live: &Self) {
        if after.username.is_none() {
            after.username.clone_from(&live.username);
        }
    }
    fn immutable_changes(after: &Self, live: &Self) -> Vec<&'static str> {
        if after.kind == live.kind {
            Vec::new()
        } else {
            vec!["type"]
        }
    }
    fn foreign(live: &Self) -> Option<String> {
        (!standard(live)).then(|| format!("an access entry of type `{}`", live.kind))
    }
    /// A cluster that cannot serve the file's mode is refused as a whole (`eks::check`): no
    /// recreated role is looked for there.
    fn stale(desired: &Self, live: &Self, principal: &str, facts: &Facts<'_>) -> Option<String> {
        let recreated = facts
            .serves_authentication
            .then(|| eks::stale_entry(facts.live, &facts.created_roles, principal, live))
            .flatten();
        let reasons: Vec<String> = recreated
            .into_iter()
            .chain(custom_username(desired, live, principal))
            .collect();
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }
});

managed_by_tag!(PodIdentityAssociation, id: association_id {});

/// Whether an access entry is of the one type accessctl manages.
fn standard(entry: &AccessEntry) -> bool {
    entry.kind == STANDARD_ACCESS_ENTRY
}

/// Why an entry whose `username` the file leaves out must be replaced: EKS generates a username
/// only when it creates an entry, and UpdateAccessEntry cannot give it back once another was
/// set. `None` when the file sets a username (changed in place) or the live one is EKS's
/// generated one already (or one accessctl cannot predict: a type EKS documents none for).
fn custom_username(desired: &AccessEntry, live: &AccessEntry, principal: &str) -> Option<String> {
    if desired.username.is_some() {
        return None;
    }
    let username = live.username.as_deref()?;
    let generated = arn::eks_generated_username(principal, &live.kind)?;
    (username != generated).then(|| {
        format!("username `{username}` was set; only a new entry gets EKS's generated username")
    })
}

/// A Kubernetes object, owned by the ownership label. What it becomes is the file's object
/// with the file's labels and annotations set on the live ones: keys the file does not name
/// belong to others.
pub(super) trait KubeManaged: KubeObject + Variant + Clone + PartialEq {
    /// Annotations the file controls even when it leaves them out.
    const REMOVABLE: &'static [&'static str] = &[];

    /// Fields that differ and cannot be changed in place.
    fn fixed_fields(after: &Self, live: &Self) -> Vec<&'static str> {
        let _ = (after, live);
        Vec::new()
    }
}

impl<T: KubeManaged> Managed for T {
    fn is_owned(&self, _: &Paths<'_>) -> bool {
        self.meta().is_owned()
    }
    fn created(desired: &Self) -> Self {
        let mut object = desired.clone();
        label(object.meta_mut());
        object
    }
    fn becomes(desired: &Self, live: &Self) -> Self {
        let mut object = desired.clone();
        *object.meta_mut() = merge_meta(desired.meta(), live.meta(), T::REMOVABLE);
        object
    }
    fn immutable_changes(after: &Self, live: &Self) -> Vec<&'static str> {
        T::fixed_fields(after, live)
    }
}

impl KubeManaged for Namespace {}

impl KubeManaged for RbacRole {}

impl KubeManaged for Binding {
    fn fixed_fields(after: &Self, live: &Self) -> Vec<&'static str> {
        if after.role_ref == live.role_ref {
            Vec::new()
        } else {
            vec!["role_ref"]
        }
    }
}

/// The IRSA annotation is the file's `iamRole`: removing `iamRole` removes it.
impl KubeManaged for ServiceAccount {
    const REMOVABLE: &'static [&'static str] = &[IRSA_ANNOTATION];
}

/// Compares desired and live state object by object: the changes, before ordering, and what
/// refuses or notes single objects.
pub(super) fn diff(
    desired: &Desired,
    live: &State,
    options: &PlanOptions,
) -> (Vec<Change>, Findings) {
    let or_default = |path: &'_ str, default: &'static str| -> String {
        if path.is_empty() {
            default.to_string()
        } else {
            path.to_string()
        }
    };
    let group_path = or_default(&desired.group_path, DEFAULT_GROUP_PATH);
    let policy_path = or_default(&desired.policy_path, DEFAULT_POLICY_PATH);
    let mut differ = Differ {
        desired,
        options,
        paths: Paths {
            group: &group_path,
            policy: &policy_path,
        },
        facts: Facts {
            live,
            created_roles: BTreeSet::new(),
            serves_authentication: false,
        },
        changes: Vec::new(),
        findings: Findings::default(),
    };
    let want = &desired.state.iam;
    differ.objects(Kind::Policy, None, &want.policies, &live.iam.policies);
    // A policy replaced under another path comes back with a new ARN, attached by apply
    // wherever the old one was: users, groups and roles are compared with that, so their
    // changes neither undo the re-attachment nor show the move a second time.
    let mut moved = None;
    for change in differ.changes.iter().filter(|c| moves_policy(c)) {
        reattach_moved_policy(moved.get_or_insert_with(|| live.iam.clone()), change);
    }
    let have = moved.as_ref().unwrap_or(&live.iam);
    let (want_groups, have_groups) = memberships(want, have);
    differ.objects(Kind::Group, None, &want_groups, &have_groups);
    differ.objects(Kind::User, None, &want.users, &have.users);
    differ.objects(Kind::Role, None, &want.roles, &have.roles);
    differ.objects(
        Kind::OidcProvider,
        None,
        &want.oidc_providers,
        &have.oidc_providers,
    );
    differ.access_keys(&want.access_keys, &live.iam.access_keys);

    differ.facts.created_roles = created_roles(desired, &differ.changes);

    let empty = Cluster::default();
    for (name, want) in &desired.state.clusters {
        let have = live.clusters.get(name).unwrap_or(&empty);
        differ.facts.serves_authentication = eks::serves(want.authentication, have.authentication);
        differ.cluster(name, want, have);
    }
    for name in live.clusters.keys() {
        if !desired.state.clusters.contains_key(name) {
            differ.findings.notes.push(Note {
                address: None,
                message: format!(
                    "cluster `{name}` is in live state but not in access.yaml: nothing in it is planned"
                ),
            });
        }
    }
    (differ.changes, differ.findings)
}

/// The ARNs of the roles `changes` create or replace: an access entry naming one was made for
/// an earlier role.
fn created_roles(desired: &Desired, changes: &[Change]) -> BTreeSet<String> {
    let account = desired.state.account.as_deref().unwrap_or_default();
    changes
        .iter()
        .filter(|change| matches!(change.action, Action::Create | Action::Replace))
        .filter_map(|change| match &change.after {
            Some(Object::Role(role)) => Some(arn::role(
                &desired.state.partition,
                account,
                &role.path,
                &change.address.name,
            )),
            _ => None,
        })
        .collect()
}

/// Groups with their members, desired and live, for the comparison. Live members come from
/// the users' `groups` (IAM's record), every user included. The membership of a user the file
/// declares is the user's change (`groups`), and an owned user the file no longer declares
/// leaves its groups by its deletion; what remains is a member the file does not declare at
/// all: a group accessctl owns must not keep it, so the desired group is the live one without
/// it (`members - mallory`). Groups accessctl does not own are never compared.
fn memberships(want: &Iam, live: &Iam) -> (BTreeMap<String, Group>, BTreeMap<String, Group>) {
    let mut have = live.groups.clone();
    for (name, user) in &live.users {
        for group in &user.groups {
            if let Some(group) = have.get_mut(group) {
                group.members.insert(name.clone());
            }
        }
    }
    let owned_user = |name: &str| {
        live.users
            .get(name)
            .is_some_and(|user| user.is_owned(&Paths::NONE))
    };
    let mut desired = want.groups.clone();
    for (name, group) in &mut desired {
        if let Some(live_group) = have.get(name) {
            group.members = live_group
                .members
                .iter()
                .filter(|member| want.users.contains_key(*member) || owned_user(member))
                .cloned()
                .collect();
        }
    }
    (desired, have)
}

struct Differ<'a> {
    desired: &'a Desired,
    options: &'a PlanOptions,
    paths: Paths<'a>,
    facts: Facts<'a>,
    changes: Vec<Change>,
    findings: Findings,
}

impl Differ<'_> {
    fn address(kind: Kind, cluster: Option<&str>, name: &str) -> Address {
        match cluster {
            Some(cluster) => Address::cluster(kind, cluster, name),
            None => Address::iam(kind, name),
        }
    }

    /// Why an unowned object may be taken over, or `None` when it may not.
    fn adoption(&self, address: &Address) -> Option<&'static str> {
        if self.desired.adopt.contains(address) {
            Some(REASON_ADOPT_FILE)
        } else if self.options.adopt_all {
            Some(REASON_ADOPT_FLAG)
        } else {
            None
        }
    }

    fn push(
        &mut self,
        address: Address,
        action: Action,
        reason: String,
        before: Option<Object>,
        after: Option<Object>,
    ) {
        let fields = match (&before, &after) {
            (Some(before), Some(after)) => field_changes(before, after),
            _ => Vec::new(),
        };
        self.changes.push(Change {
            address,
            action,
            reason: Some(reason),
            before,
            after,
            fields,
        });
    }

    /// Update, replace or adopt: the reason names what differs.
    fn push_change(
        &mut self,
        address: Address,
        action: Action,
        adoption: Option<&str>,
        immutable: &[&str],
        before: Object,
        after: Object,
    ) {
        let fields = without_unread(field_changes(&before, &after), unread_fields(address.kind));
        let mut reasons: Vec<String> = Vec::new();
        if let Some(adoption) = adoption {
            reasons.push(adoption.to_string());
        }
        // Only members the file does not declare leave a group here (`memberships`).
        let (membership, others): (Vec<&FieldChange>, Vec<&FieldChange>) = fields
            .iter()
            .partition(|field| address.kind == Kind::Group && field.path == MEMBERS_FIELD);
        if !immutable.is_empty() {
            let names: Vec<String> = immutable
                .iter()
                .map(|name| format!("`{}`", display_field(address.kind, name).unwrap_or(name)))
                .collect();
            reasons.push(format!("{} cannot be changed in place", join_names(&names)));
        } else if adoption.is_none() && (!others.is_empty() || membership.is_empty()) {
            let others: Vec<FieldChange> = others.into_iter().cloned().collect();
            reasons.push(format!(
                "differs from access.yaml: {}",
                field_names(address.kind, &others).join(", ")
            ));
        }
        if let (Object::Group(before), Object::Group(after)) = (&before, &after) {
            match before.members.difference(&after.members).count() {
                0 => {}
                1 => reasons.push(REASON_MEMBER.to_string()),
                _ => reasons.push(REASON_MEMBERS.to_string()),
            }
        }
        self.changes.push(Change {
            address,
            action,
            reason: Some(reasons.join("; ")),
            before: Some(before),
            after: Some(after),
            fields,
        });
    }

    /// The keys of each user that declares `accessKeys` ([`access_key::decide`]): `+` when the
    /// user has no key, `-` when the only thing to do is deleting deactivated keys past their
    /// grace (the change lists them), `~` otherwise (rotate, deactivate a second active key).
    fn access_keys(
        &mut self,
        want: &BTreeMap<String, AccessKeys>,
        have: &BTreeMap<String, AccessKeys>,
    ) {
        for (user, declared) in want {
            let Some(rotation) = &declared.rotation else {
                continue;
            };
            let (live, held) = have.get(user).map_or((&[][..], &[][..]), |keys| {
                (keys.keys.as_slice(), keys.held.as_slice())
            });
            let Some(decision) = access_key::decide(rotation, live, held) else {
                continue;
            };
            let held_after = access_key::held_after(rotation, &decision, held);
            let address = Address::iam(Kind::AccessKey, user);
            let reason = decision.reasons.join("; ");
            let creates = decision.keys.iter().any(|k| k.id == access_key::NEW_KEY);
            let changes_kept = decision.keys.iter().any(|k| !live.contains(k));
            let after = AccessKeys {
                rotation: Some(rotation.clone()),
                keys: decision.keys,
                held: held_after,
            };
            if live.is_empty() {
                self.push(
                    address,
                    Action::Create,
                    reason,
                    None,
                    Some(Object::AccessKeys(after)),
                );
            } else if !creates && !changes_kept {
                let gone = live
                    .iter()
                    .filter(|key| !after.keys.contains(key))
                    .cloned()
                    .collect();
                let before = AccessKeys {
                    rotation: None,
                    keys: gone,
                    held: Vec::new(),
                };
                self.push(
                    address,
                    Action::Delete,
                    reason,
                    Some(Object::AccessKeys(before)),
                    None,
                );
            } else {
                // The declaration is not a live fact, and a rotation does not change it: the
                // change is about the keys and what the destinations hold.
                let before = AccessKeys {
                    rotation: Some(rotation.clone()),
                    keys: live.to_vec(),
                    held: held.to_vec(),
                };
                self.push(
                    address,
                    Action::Update,
                    reason,
                    Some(Object::AccessKeys(before)),
                    Some(Object::AccessKeys(after)),
                );
            }
        }
    }

    fn objects<T: Managed>(
        &mut self,
        kind: Kind,
        cluster: Option<&str>,
        desired: &BTreeMap<String, T>,
        live: &BTreeMap<String, T>,
    ) {
        for (name, want) in desired {
            let address = Self::address(kind, cluster, name);
            let Some(have) = live.get(name) else {
                self.push(
                    address,
                    Action::Create,
                    REASON_CREATE.to_string(),
                    None,
                    Some(T::created(want).into_object()),
                );
                continue;
            };
            if let Some(what) = T::foreign(have) {
                self.findings.problems.push(Problem::Unsafe {
                    check: SafetyCheck::NodeRole,
                    message: format!(
                        "`{address}` is {what}, which belongs to nodes or EKS: accessctl never changes it"
                    ),
                    address: Some(address),
                });
                continue;
            }
            let owned = have.is_owned(&self.paths);
            let adoption_asked = self.adoption(&address);
            if !owned && adoption_asked.is_none() && T::serves_unowned(want, have) {
                self.findings.notes.push(Note {
                    message: format!(
                        "`{address}` exists, not managed by accessctl, and already serves access.yaml: used as it is"
                    ),
                    address: Some(address),
                });
                continue;
            }
            let adoption = if owned {
                None
            } else if let Some(reason) = adoption_asked {
                Some(reason)
            } else {
                self.findings.problems.push(Problem::Unowned { address });
                continue;
            };
            if let Some(reason) = T::stale(want, have, name, &self.facts) {
                self.push(
                    address,
                    Action::Replace,
                    reason,
                    Some(have.clone().into_object()),
                    Some(T::replaced(want, have).into_object()),
                );
                continue;
            }
            let after = T::becomes(want, have);
            let immutable = T::immutable_changes(&after, have);
            if !immutable.is_empty() {
                let after = T::replaced(want, have);
                self.push_change(
                    address,
                    Action::Replace,
                    adoption,
                    &immutable,
                    have.clone().into_object(),
                    after.into_object(),
                );
            } else if adoption.is_some() || !T::unchanged(&after, have) {
                let action = if adoption.is_some() {
                    Action::Adopt
                } else {
                    Action::Update
                };
                self.push_change(
                    address,
                    action,
                    adoption,
                    &[],
                    have.clone().into_object(),
                    after.into_object(),
                );
            }
        }
        for (name, have) in live {
            if !desired.contains_key(name) && have.is_owned(&self.paths) {
                self.push(
                    Self::address(kind, cluster, name),
                    Action::Delete,
                    REASON_DELETE.to_string(),
                    Some(have.clone().into_object()),
                    None,
                );
            }
        }
    }

    fn cluster(&mut self, name: &str, want: &Cluster, have: &Cluster) {
        let cluster = Some(name);
        self.objects(Kind::Namespace, cluster, &want.namespaces, &have.namespaces);
        self.objects(
            Kind::ClusterRole,
            cluster,
            &want.cluster_roles,
            &have.cluster_roles,
        );
        self.objects(Kind::K8sRole, cluster, &want.roles, &have.roles);
        self.objects(
            Kind::ClusterRoleBinding,
            cluster,
            &want.cluster_role_bindings,
            &have.cluster_role_bindings,
        );
        self.objects(
            Kind::RoleBinding,
            cluster,
            &want.role_bindings,
            &have.role_bindings,
        );
        self.objects(
            Kind::ServiceAccount,
            cluster,
            &want.service_accounts,
            &have.service_accounts,
        );
        self.objects(
            Kind::PodIdentity,
            cluster,
            &want.pod_identity,
            &have.pod_identity,
        );
        self.objects(
            Kind::AccessEntry,
            cluster,
            &want.access_entries,
            &have.access_entries,
        );
        self.aws_auth(name, want.aws_auth.as_ref(), have.aws_auth.as_ref());
    }

    fn node_role(&mut self, address: Address, doing: &str) {
        self.findings.problems.push(Problem::Unsafe {
            check: SafetyCheck::NodeRole,
            message: format!(
                "`{address}` is a node-role mapping ({}): this plan would {doing} it, and accessctl never changes node-role entries",
                NODE_GROUPS.join(", ")
            ),
            address: Some(address),
        });
    }

    /// aws-auth entries share one ConfigMap with entries accessctl does not manage, which may
    /// repeat an ARN or hold oddities: only entries whose ARN the annotation lists are touched.
    fn aws_auth(&mut self, cluster: &str, want: Option<&AwsAuth>, have: Option<&AwsAuth>) {
        let mut desired: BTreeMap<&str, &AwsAuthEntry> = BTreeMap::new();
        for entry in want.map(|auth| auth.entries.as_slice()).unwrap_or_default() {
            desired.entry(entry.arn.as_str()).or_insert(entry);
        }
        // Of several live items for one ARN, the last is the one EKS uses (the authenticator
        // keeps the last: see `model::aws_auth::authenticator_key`): it is the "before".
        let mut live: BTreeMap<&str, Vec<&AwsAuthEntry>> = BTreeMap::new();
        for entry in have.map(|auth| auth.entries.as_slice()).unwrap_or_default() {
            live.entry(entry.arn.as_str()).or_default().push(entry);
        }
        let is_managed = |arn: &str| have.is_some_and(|auth| auth.managed.contains(arn));
        let mut kept_unmanaged = 0usize;

        for (arn, want) in &desired {
            let address = Address::cluster(Kind::AwsAuth, cluster, *arn);
            if have.is_some_and(|auth| auth.unreadable.contains(&want.kind)) {
                let key = crate::model::aws_auth::data_key(want.kind);
                self.findings.problems.push(Problem::Refused {
                    address,
                    message: format!(
                        "the live aws-auth `{key}` of cluster `{cluster}` does not parse: EKS maps nothing from it, and accessctl does not write into it"
                    ),
                    hint: format!(
                        "fix `{key}` by hand (`kubectl edit -n kube-system configmap/aws-auth`; the warning above says where it breaks), then plan again"
                    ),
                });
                continue;
            }
            let Some(entries) = live.get(arn) else {
                if want.is_node_role() {
                    self.node_role(address, "create");
                } else {
                    self.push(
                        address,
                        Action::Create,
                        REASON_CREATE.to_string(),
                        None,
                        Some(Object::AwsAuthEntry((*want).clone())),
                    );
                }
                continue;
            };
            let Some(used) = entries.last().copied() else {
                continue;
            };
            let node_role = want.is_node_role() || entries.iter().any(|e| e.is_node_role());
            let want = &aligned(want, used);
            if is_managed(arn) {
                let equal = entries.len() == 1 && used == want;
                if equal {
                    continue;
                }
                if node_role {
                    self.node_role(address, "change");
                    continue;
                }
                let fields = field_changes(
                    &Object::AwsAuthEntry(used.clone()),
                    &Object::AwsAuthEntry(want.clone()),
                );
                let mut reason = Vec::new();
                if !fields.is_empty() {
                    reason.push(format!(
                        "differs from access.yaml: {}",
                        field_names(address.kind, &fields).join(", ")
                    ));
                }
                if entries.len() > 1 {
                    reason.push(format!(
                        "{} entries for this ARN are merged into one",
                        entries.len()
                    ));
                }
                self.changes.push(Change {
                    address,
                    action: Action::Update,
                    reason: Some(reason.join("; ")),
                    before: Some(Object::AwsAuthEntry(used.clone())),
                    after: Some(Object::AwsAuthEntry(want.clone())),
                    fields,
                });
            } else if node_role {
                self.node_role(address, "adopt");
                kept_unmanaged += entries.len();
            } else if let Some(reason) = self.adoption(&address) {
                self.push_change(
                    address,
                    Action::Adopt,
                    Some(reason),
                    &[],
                    Object::AwsAuthEntry(used.clone()),
                    Object::AwsAuthEntry(want.clone()),
                );
            } else {
                self.findings.problems.push(Problem::Unowned { address });
                kept_unmanaged += entries.len();
            }
        }
        for (arn, entries) in &live {
            if desired.contains_key(arn) {
                continue;
            }
            if !is_managed(arn) {
                kept_unmanaged += entries.len();
                continue;
            }
            let Some(used) = entries.last().copied() else {
                continue;
            };
            let address = Address::cluster(Kind::AwsAuth, cluster, *arn);
            if entries.iter().any(|e| e.is_node_role()) {
                self.node_role(address, "delete");
                continue;
            }
            self.push(
                address,
                Action::Delete,
                REASON_DELETE.to_string(),
                Some(Object::AwsAuthEntry(used.clone())),
                None,
            );
        }
        if kept_unmanaged > 0 {
            self.findings.notes.push(Note {
                address: None,
                message: format!(
                    "cluster `{cluster}`: {kept_unmanaged} aws-auth {} not managed by accessctl kept as {}",
                    if kept_unmanaged == 1 { "entry" } else { "entries" },
                    if kept_unmanaged == 1 { "it is" } else { "they are" },
                ),
            });
        }
    }
}

/// The desired aws-auth entry with its groups in the live entry's order when they are the same
/// groups: the authenticator reads them as a set, so reordering a hand-written list is no change.
fn aligned(want: &AwsAuthEntry, live: &AwsAuthEntry) -> AwsAuthEntry {
    let same_groups =
        want.groups.iter().collect::<BTreeSet<_>>() == live.groups.iter().collect::<BTreeSet<_>>();
    let mut entry = want.clone();
    if same_groups {
        entry.groups.clone_from(&live.groups);
    }
    entry
}
