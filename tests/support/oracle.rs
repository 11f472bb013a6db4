//! The test oracle: what live state looks like after apply carries out a plan, as the real
//! executors behave. It is written apart from the planner on purpose (the planner projects its
//! plans with `accessctl::plan::project`): it works on the state's JSON form, so a mistake in
//! the planner's projection cannot hide in the oracle too.
//!
//! What apply does, change by change:
//! - a delete removes the object; a create or replace writes the after object;
//! - an update or adoption of a Kubernetes object writes it with the live labels and
//!   annotations kept and the file's set (a ServiceAccount's IRSA annotation follows the file);
//! - a group is recorded without members: membership lives on the users, whom a group change
//!   takes out (`members` lost) or adds; a created or deleted group has no one in it;
//! - a customer policy re-created under another path is re-attached, new ARN for old, wherever
//!   it was attached;
//! - an aws-auth entry replaces the first entry with its ARN in place (later ones with the ARN
//!   go) or is added at the end, and the managed list names it; a delete removes every entry
//!   with the ARN.
//! - an access-key change leaves the user the keys of its after (a key apply creates keeps the
//!   plan's placeholder id); a delete removes exactly the keys it lists.

use accessctl::model::{IRSA_ANNOTATION, State};
use accessctl::plan::{Action, Change, Kind, Plan};
use serde_json::{Map, Value, json};

/// The live state after `plan` is applied to `live`.
pub fn simulate(live: &State, plan: &Plan) -> State {
    let mut tree = serde_json::to_value(live).expect("a state is JSON");
    for change in &plan.changes {
        carry_out(&mut tree, change);
    }
    serde_json::from_value(tree).expect("the simulated state is a state")
}

/// Where objects of `kind` live: the IAM section or the cluster section, and its key.
fn section(kind: Kind) -> (bool, &'static str) {
    match kind {
        Kind::Policy => (true, "policies"),
        Kind::Group => (true, "groups"),
        Kind::User => (true, "users"),
        Kind::Role => (true, "roles"),
        Kind::OidcProvider => (true, "oidc_providers"),
        Kind::Namespace => (false, "namespaces"),
        Kind::ClusterRole => (false, "cluster_roles"),
        Kind::K8sRole => (false, "roles"),
        Kind::ClusterRoleBinding => (false, "cluster_role_bindings"),
        Kind::RoleBinding => (false, "role_bindings"),
        Kind::ServiceAccount => (false, "service_accounts"),
        Kind::PodIdentity => (false, "pod_identity"),
        Kind::AccessEntry => (false, "access_entries"),
        Kind::AwsAuth => (false, "aws_auth"),
        Kind::AccessKey => (true, "access_keys"),
    }
}

fn object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = json!({});
    }
    value.as_object_mut().expect("just made an object")
}

fn carry_out(tree: &mut Value, change: &Change) {
    let kind = change.address.kind;
    let name = change.address.name.as_str();
    let after = change.after.as_ref().map(|after| after.to_value());
    let (iam, key) = section(kind);
    let home = if iam {
        object(&mut tree["iam"])
    } else {
        let Some(cluster) = change.address.cluster.as_deref() else {
            return;
        };
        let clusters = object(&mut tree["clusters"]);
        if change.action == Action::Delete && !clusters.contains_key(cluster) {
            return;
        }
        object(clusters.entry(cluster).or_insert_with(|| json!({})))
    };
    if kind == Kind::AwsAuth {
        aws_auth(home, name, after);
        return;
    }
    if kind == Kind::AccessKey {
        let before = change.before.as_ref().map(|before| before.to_value());
        access_keys(home, name, change.action, before, after);
        return;
    }
    let objects = object(home.entry(key).or_insert_with(|| json!({})));
    let previous = objects.remove(name);
    let Some(mut after) = after.filter(|_| change.action != Action::Delete) else {
        if kind == Kind::Group {
            leave(tree, name, None);
        }
        return;
    };
    let kubernetes = matches!(
        kind,
        Kind::Namespace
            | Kind::ClusterRole
            | Kind::K8sRole
            | Kind::ClusterRoleBinding
            | Kind::RoleBinding
            | Kind::ServiceAccount
    );
    if kubernetes
        && matches!(change.action, Action::Update | Action::Adopt)
        && let Some(previous) = previous
    {
        let meta = merged_meta(&previous, &after, kind == Kind::ServiceAccount);
        after["meta"] = meta;
    }
    let members = after.as_object_mut().and_then(|o| o.remove("members"));
    objects.insert(name.to_string(), after);
    match kind {
        Kind::Group => group_members(tree, change, name, members),
        Kind::Policy => reattach(tree, change, name),
        _ => {}
    }
}

/// The previous object's labels and annotations with the after's set.
fn merged_meta(previous: &Value, after: &Value, service_account: bool) -> Value {
    let mut meta = json!({});
    for part in ["labels", "annotations"] {
        let mut keys = previous["meta"][part]
            .as_object()
            .cloned()
            .unwrap_or_default();
        if service_account && part == "annotations" {
            keys.remove(IRSA_ANNOTATION);
        }
        if let Some(set) = after["meta"][part].as_object() {
            keys.extend(set.clone());
        }
        meta[part] = Value::Object(keys);
    }
    meta
}

/// The users' `groups` after a group change: a new group starts empty, members the change
/// drops leave, members it adds join.
fn group_members(tree: &mut Value, change: &Change, name: &str, after: Option<Value>) {
    let names = |value: Option<&Value>| -> Vec<String> {
        value
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let after = names(after.as_ref());
    if change.action == Action::Create {
        leave(tree, name, None);
    }
    let before = change
        .before
        .as_ref()
        .map(|before| before.to_value())
        .map(|value| names(value.get("members")))
        .unwrap_or_default();
    for user in before.iter().filter(|user| !after.contains(user)) {
        leave(tree, name, Some(user));
    }
    for user in after.iter().filter(|user| !before.contains(user)) {
        if let Some(groups) = tree["iam"]["users"]
            .get_mut(user.as_str())
            .map(|user| &mut user["groups"])
        {
            let list = groups.as_array().cloned().unwrap_or_default();
            if !list.iter().any(|g| g == name) {
                let mut list = list;
                list.push(json!(name));
                *groups = Value::Array(list);
            }
        }
    }
}

/// Takes `user` (every user when `None`) out of group `name`.
fn leave(tree: &mut Value, name: &str, user: Option<&String>) {
    let Some(users) = tree["iam"]["users"].as_object_mut() else {
        return;
    };
    for (who, record) in users.iter_mut() {
        if user.is_some_and(|user| user != who) {
            continue;
        }
        if let Some(groups) = record.get_mut("groups").and_then(Value::as_array_mut) {
            groups.retain(|group| group != name);
        }
    }
}

/// A customer policy re-created under another path: its old ARN becomes the new one wherever
/// a user, group or role had it attached.
fn reattach(tree: &mut Value, change: &Change, name: &str) {
    if change.action != Action::Replace {
        return;
    }
    let path = |object: Option<Value>| {
        object
            .and_then(|value| {
                value
                    .get("path")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "/".to_string())
    };
    let old = path(change.before.as_ref().map(|o| o.to_value()));
    let new = path(change.after.as_ref().map(|o| o.to_value()));
    if old == new {
        return;
    }
    let (old_tail, new_tail) = (format!(":policy{old}{name}"), format!(":policy{new}{name}"));
    for holders in ["users", "groups", "roles"] {
        let Some(holders) = tree["iam"][holders].as_object_mut() else {
            continue;
        };
        for holder in holders.values_mut() {
            let Some(arns) = holder
                .get_mut("managed_policies")
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for arn in arns.iter_mut() {
                let Some(text) = arn.as_str() else { continue };
                let parts: Vec<&str> = text.split(':').collect();
                let customer = parts.len() >= 6 && parts[2] == "iam" && parts[4] != "aws";
                if customer
                    && text.starts_with("arn:")
                    && let Some(prefix) = text.strip_suffix(&old_tail)
                    && prefix.split(':').count() == 5
                {
                    *arn = json!(format!("{prefix}{new_tail}"));
                }
            }
        }
    }
}

/// One aws-auth entry written (after `Some`) or every entry of its ARN removed (`None`).
fn aws_auth(cluster: &mut Map<String, Value>, arn: &str, after: Option<Value>) {
    let Some(entry) = after else {
        if let Some(auth) = cluster.get_mut("aws_auth").and_then(Value::as_object_mut) {
            if let Some(entries) = auth.get_mut("entries").and_then(Value::as_array_mut) {
                entries.retain(|entry| entry["arn"] != arn);
            }
            if let Some(managed) = auth.get_mut("managed").and_then(Value::as_array_mut) {
                managed.retain(|managed| managed != arn);
            }
        }
        return;
    };
    let auth = object(cluster.entry("aws_auth").or_insert_with(|| json!({})));
    let entries = auth
        .entry("entries")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .expect("aws-auth entries are a list");
    let mut kept = Vec::new();
    let mut placed = false;
    for existing in entries.drain(..) {
        if existing["arn"] != arn {
            kept.push(existing);
        } else if !placed {
            kept.push(entry.clone());
            placed = true;
        }
    }
    if !placed {
        kept.push(entry);
    }
    *entries = kept;
    let managed = auth
        .entry("managed")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .expect("the managed list is a list");
    if !managed.iter().any(|m| m == arn) {
        managed.push(json!(arn));
    }
}

/// A user's keys after an access-key change: a delete removes the keys its before lists, any
/// other change leaves those of its after. The declaration is never IAM's: it stays as read.
/// A change that creates a key writes it to every destination its after declares: each then
/// holds the new key; what the other changes leave the destinations holding is as read.
fn access_keys(
    iam: &mut Map<String, Value>,
    user: &str,
    action: Action,
    before: Option<Value>,
    after: Option<Value>,
) {
    // The list at `pointer` in `value`, empty when there is none.
    let list = |value: Option<&Value>, pointer: &str| -> Vec<Value> {
        value
            .and_then(|value| value.pointer(pointer))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let users = object(iam.entry("access_keys").or_insert_with(|| json!({})));
    let record = object(users.entry(user).or_insert_with(|| json!({})));
    let held = list(record.get("keys"), "");
    let keys: Vec<Value> = if action == Action::Delete {
        let gone = list(before.as_ref(), "/keys");
        held.into_iter().filter(|key| !gone.contains(key)).collect()
    } else {
        list(after.as_ref(), "/keys")
    };
    let created = keys.iter().any(|key| key["id"] == "(new)");
    record.insert("keys".to_string(), Value::Array(keys));
    if created {
        let delivered = list(after.as_ref(), "/rotation/deliver_to")
            .into_iter()
            .map(|to| json!({"destination": to, "exists": true, "key": "(new)"}))
            .collect();
        record.insert("held".to_string(), Value::Array(delivered));
    }
}
