//! Field-level differences between the before and after of a change, and the short human
//! reasons built from them. Display only: apply never reads them.

use serde_json::{Map, Value};

use super::{FieldChange, Kind, Object};

/// Fields whose value is a map compared key by key (`tags.team`, `inline_policies.x`,
/// an access entry's `policies.<arn>`).
const MAP_FIELDS: [&str; 3] = ["tags", "inline_policies", "policies"];
/// Ids IAM and EKS assign: never part of a difference.
const IGNORED_FIELDS: [&str; 2] = ["role_id", "principal_id"];
/// Kubernetes metadata: `meta.labels.<key>`, `meta.annotations.<key>`.
const META_FIELD: &str = "meta";

/// One [`FieldChange`] per differing top-level field of the JSON forms, or per differing key of
/// a map-valued field.
pub(super) fn field_changes(before: &Object, after: &Object) -> Vec<FieldChange> {
    let before = before.to_value();
    let after = after.to_value();
    let empty = Map::new();
    let (Some(before_fields), Some(after_fields)) = (before.as_object(), after.as_object()) else {
        return if before == after {
            Vec::new()
        } else {
            vec![change(String::new(), Some(&before), Some(&after))]
        };
    };
    let mut changes = Vec::new();
    for field in union_keys(before_fields, after_fields) {
        if IGNORED_FIELDS.contains(&field) {
            continue;
        }
        let before_value = before_fields.get(field);
        let after_value = after_fields.get(field);
        if before_value == after_value {
            continue;
        }
        if field == META_FIELD {
            let before_meta = before_value.and_then(Value::as_object).unwrap_or(&empty);
            let after_meta = after_value.and_then(Value::as_object).unwrap_or(&empty);
            for part in union_keys(before_meta, after_meta) {
                map_changes(
                    &format!("{META_FIELD}.{part}"),
                    before_meta.get(part),
                    after_meta.get(part),
                    &mut changes,
                );
            }
        } else if MAP_FIELDS.contains(&field) {
            map_changes(field, before_value, after_value, &mut changes);
        } else {
            changes.push(change(field.to_string(), before_value, after_value));
        }
    }
    changes
}

/// Key-by-key differences of a map field; a value that is not a map is compared whole.
fn map_changes(
    path: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    changes: &mut Vec<FieldChange>,
) {
    let empty = Map::new();
    let before_map = match before {
        None => Some(&empty),
        Some(value) => value.as_object(),
    };
    let after_map = match after {
        None => Some(&empty),
        Some(value) => value.as_object(),
    };
    let (Some(before_map), Some(after_map)) = (before_map, after_map) else {
        if before != after {
            changes.push(change(path.to_string(), before, after));
        }
        return;
    };
    let mut keys: Vec<&str> = union_keys(before_map, after_map);
    keys.sort_unstable();
    for key in keys {
        let before_value = before_map.get(key);
        let after_value = after_map.get(key);
        if before_value != after_value {
            changes.push(change(format!("{path}.{key}"), before_value, after_value));
        }
    }
}

/// Keys of `after` in order, then those only in `before`: the struct's field order, mostly.
fn union_keys<'a>(before: &'a Map<String, Value>, after: &'a Map<String, Value>) -> Vec<&'a str> {
    let mut keys: Vec<&str> = after.keys().map(String::as_str).collect();
    keys.extend(
        before
            .keys()
            .map(String::as_str)
            .filter(|key| !after.contains_key(*key)),
    );
    keys
}

fn change(path: String, before: Option<&Value>, after: Option<&Value>) -> FieldChange {
    FieldChange {
        path,
        before: before.cloned(),
        after: after.cloned(),
    }
}

/// The distinct fields named by `changes`, for a reason line, as people read them
/// (`groups, tags, labels`): see [`display_path`].
pub(super) fn field_names(kind: Kind, changes: &[FieldChange]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for change in changes {
        let (field, _) = split_path(&change.path);
        let Some(name) = display_field(kind, field) else {
            continue;
        };
        if !names.iter().any(|known| known == name) {
            names.push(name.to_string());
        }
    }
    names
}

/// A field path split into its field (`managed_policies`, `meta.labels`) and the map key
/// below it, if any (`tags.team` → `tags`, `team`).
fn split_path(path: &str) -> (&str, Option<&str>) {
    let field_len = match path.strip_prefix("meta.") {
        Some(rest) => "meta.".len() + rest.find('.').unwrap_or(rest.len()),
        None => path.find('.').unwrap_or(path.len()),
    };
    let (field, rest) = path.split_at(field_len);
    (field, rest.strip_prefix('.'))
}

/// The name a person reads for a field of an object of `kind`: the access.yaml key that sets
/// it (`policies`, `inline`, `permissionsBoundary`, `labels`, `accessPolicies`), or, for what
/// access.yaml does not write, the AWS or Kubernetes name (`ClientIDList`, `roleRef`,
/// `subjects`, `type`, `roleArn`). `None` for what a plan does not show: ids AWS assigns, and
/// the aws-auth list of an entry (its ARN says whether it is a role or a user).
///
/// Plan JSON keeps the model's names (`docs/plan-json.md`); only the human views rename.
pub fn display_field(kind: Kind, field: &str) -> Option<&str> {
    Some(match (kind, field) {
        (_, "managed_policies") => "policies",
        (_, "inline_policies") => "inline",
        (_, "permissions_boundary") => "permissionsBoundary",
        (_, "max_session_duration") => "maxSessionDuration",
        (_, "meta.labels") => "labels",
        (_, "meta.annotations") => "annotations",
        (_, "role_ref") => "roleRef",
        (Kind::OidcProvider, "client_ids") => "ClientIDList",
        (Kind::AccessEntry, "policies") => "accessPolicies",
        (Kind::PodIdentity, "role_arn") => "roleArn",
        (Kind::AccessKey, "rotation") => "accessKeys",
        (Kind::AccessKey, "keys") => "AccessKeyMetadata",
        // What the destinations hold: the plan's reasons name a destination that lacks the key.
        (Kind::AccessKey, "held") => return None,
        (Kind::AwsAuth, "kind") => return None,
        (_, "role_id" | "principal_id" | "association_id") => return None,
        (_, other) => other,
    })
}

/// A field path as people read it: [`display_field`] for the field, the map key kept
/// (`inline_policies.assume` → `inline.assume`, `meta.labels.team` → `labels.team`).
pub fn display_path(kind: Kind, path: &str) -> Option<String> {
    let (field, key) = split_path(path);
    let name = display_field(kind, field)?;
    Some(match key {
        Some(key) => format!("{name}.{key}"),
        None => name.to_string(),
    })
}

/// `a`, `a and b`, `a, b and c`.
pub(super) fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::super::tests::document;
    use super::*;
    use crate::model::MANAGED_BY_LABEL;
    use crate::model::{Meta, Namespace, Role, ServiceAccount, User};

    fn user() -> User {
        User::default()
    }

    #[test]
    fn map_fields_differ_key_by_key_and_sets_whole() {
        let before = user();
        let mut after = user();
        after.groups.insert("developers".into());
        after
            .managed_policies
            .insert("arn:aws:iam::aws:policy/A".into());
        after
            .inline_policies
            .insert("assume-eks-admin".into(), document("sts:AssumeRole"));
        after.tags.insert("managed-by".into(), "accessctl".into());
        after.tags.insert("team".into(), "core".into());
        let changes = field_changes(&Object::User(before), &Object::User(after));
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "groups",
                "managed_policies",
                "inline_policies.assume-eks-admin",
                "tags.managed-by",
                "tags.team"
            ]
        );
        assert_eq!(changes[3].before, None);
        assert_eq!(changes[3].after, Some(json!("accessctl")));
        assert_eq!(
            field_names(Kind::User, &changes),
            ["groups", "policies", "inline", "tags"]
        );
    }

    #[test]
    fn meta_differs_per_label_and_annotation() {
        let before = Namespace {
            meta: Meta {
                labels: BTreeMap::from([("team".into(), "a".into())]),
                annotations: BTreeMap::new(),
            },
        };
        let mut after = before.clone();
        after
            .meta
            .labels
            .insert(MANAGED_BY_LABEL.into(), "accessctl".into());
        after.meta.annotations.insert("note".into(), "x".into());
        let changes = field_changes(&Object::Namespace(before), &Object::Namespace(after));
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "meta.labels.app.kubernetes.io/managed-by",
                "meta.annotations.note"
            ]
        );
        assert_eq!(
            field_names(Kind::Namespace, &changes),
            ["labels", "annotations"]
        );
    }

    #[test]
    fn a_whole_meta_removed_is_still_per_key() {
        let before = ServiceAccount {
            meta: Meta {
                labels: BTreeMap::new(),
                annotations: BTreeMap::from([("eks.amazonaws.com/role-arn".into(), "r".into())]),
            },
        };
        let changes = field_changes(
            &Object::ServiceAccount(before),
            &Object::ServiceAccount(ServiceAccount::default()),
        );
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes[0].path,
            "meta.annotations.eks.amazonaws.com/role-arn"
        );
        assert_eq!(changes[0].after, None);
    }

    #[test]
    fn ids_are_never_a_difference() {
        let role = Role {
            path: "/".into(),
            description: None,
            max_session_duration: 3600,
            trust: document("sts:AssumeRole"),
            managed_policies: Default::default(),
            inline_policies: BTreeMap::new(),
            permissions_boundary: None,
            tags: BTreeMap::new(),
            role_id: Some("AROA1".into()),
        };
        let mut other = role.clone();
        other.role_id = None;
        assert!(field_changes(&Object::Role(role), &Object::Role(other)).is_empty());
    }

    #[test]
    fn paths_read_as_access_yaml_writes_them() {
        let path = |kind, path| display_path(kind, path);
        assert_eq!(
            path(Kind::User, "managed_policies").as_deref(),
            Some("policies")
        );
        assert_eq!(
            path(Kind::Role, "inline_policies.assume-eks-admin").as_deref(),
            Some("inline.assume-eks-admin")
        );
        assert_eq!(
            path(Kind::Namespace, "meta.labels.app.kubernetes.io/managed-by").as_deref(),
            Some("labels.app.kubernetes.io/managed-by")
        );
        assert_eq!(
            path(
                Kind::AccessEntry,
                "policies.arn:aws:eks::aws:cluster-access-policy/A"
            )
            .as_deref(),
            Some("accessPolicies.arn:aws:eks::aws:cluster-access-policy/A")
        );
        assert_eq!(
            path(Kind::RoleBinding, "role_ref").as_deref(),
            Some("roleRef")
        );
        assert_eq!(path(Kind::Role, "role_id"), None);
        assert_eq!(path(Kind::AwsAuth, "kind"), None);
        assert_eq!(
            path(Kind::Policy, "tags.team").as_deref(),
            Some("tags.team")
        );
    }

    #[test]
    fn names_are_joined_for_reading() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(join_names(&names(&[])), "");
        assert_eq!(join_names(&names(&["a"])), "a");
        assert_eq!(join_names(&names(&["a", "b"])), "a and b");
        assert_eq!(join_names(&names(&["a", "b", "c"])), "a, b and c");
    }
}
