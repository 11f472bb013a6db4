//! Field paths and field sets as structured-merge-diff sees the hosted kinds, and their
//! `FieldsV1` encoding (`{"f:data":{"f:key":{}}}`, `".":{}` for a map owned as a whole).
//!
//! The schema is the one of the hosted kinds: `labels`, `annotations`, `data` and
//! `binaryData` are granular maps; `roleRef` is an atomic struct; every list (`rules`,
//! `subjects`, `secrets`, `finalizers`, ...) is treated as atomic.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// A path of field names or map keys from the object root.
pub type FieldPath = Vec<String>;
pub type FieldSet = BTreeSet<FieldPath>;

/// The marker element of a path that owns a map node itself (`.` in FieldsV1).
pub const SELF: &str = ".";

/// Fields the field manager never tracks (its `stripMeta` list, plus `status`, which the main
/// resource's strategies reset).
fn is_stripped(path: &[String]) -> bool {
    match path {
        [top] => matches!(top.as_str(), "apiVersion" | "kind" | "status"),
        [metadata, field] if metadata == "metadata" => matches!(
            field.as_str(),
            "name"
                | "namespace"
                | "creationTimestamp"
                | "selfLink"
                | "uid"
                | "clusterName"
                | "generation"
                | "managedFields"
                | "resourceVersion"
        ),
        _ => false,
    }
}

/// Map-typed (`map[string]string`) fields: keys are owned one by one.
pub fn is_map(path: &[String]) -> bool {
    matches!(
        path.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["metadata", "labels"] | ["metadata", "annotations"] | ["data"] | ["binaryData"]
    )
}

fn is_atomic(path: &[String]) -> bool {
    path.len() == 1 && path[0] == "roleRef"
}

fn walk(value: &Value, path: &mut FieldPath, out: &mut FieldSet) {
    if is_stripped(path) {
        return;
    }
    match value {
        Value::Object(fields) if !fields.is_empty() && !is_atomic(path) => {
            for (key, child) in fields {
                path.push(key.clone());
                walk(child, path, out);
                path.pop();
            }
        }
        _ => {
            if !path.is_empty() {
                out.insert(path.clone());
            }
        }
    }
}

/// Every leaf field of an object (what an applier owns for the configuration it sent).
pub fn leaves(object: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    walk(object, &mut Vec::new(), &mut out);
    out
}

pub fn value_at<'a>(object: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(object, |value, key| value.get(key))
}

/// Whether the node a path names (the map itself for a `.` path) exists.
pub fn exists(object: &Value, path: &[String]) -> bool {
    match path.split_last() {
        Some((last, parent)) if last == SELF => {
            value_at(object, parent).is_some_and(Value::is_object)
        }
        _ => value_at(object, path).is_some(),
    }
}

pub fn set_at(object: &mut Value, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        *object = value;
        return;
    };
    let mut node = object;
    for key in parents {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let Value::Object(fields) = node else { return };
        node = fields
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    if let Value::Object(fields) = node {
        fields.insert(last.clone(), value);
    }
}

/// Removes a field, then the maps and structs it leaves empty (Go's `omitempty` would drop
/// them when the object is next serialized).
pub fn remove_at(object: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let Some(Value::Object(fields)) = parents
        .iter()
        .try_fold(&mut *object, |value, key| value.get_mut(key))
    else {
        return;
    };
    fields.remove(last);
    let now_empty = fields.is_empty();
    if now_empty && !parents.is_empty() && parents != ["metadata"] {
        remove_at(object, parents);
    }
}

/// What an Update operation changed: leaves that are new or differ, plus the `.` of maps that
/// appeared.
pub fn changed(old: Option<&Value>, new: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    for path in leaves(new) {
        if old.and_then(|old| value_at(old, &path)) != value_at(new, &path) {
            out.insert(path);
        }
    }
    let maps: Vec<FieldPath> = out
        .iter()
        .flat_map(|path| (1..path.len()).map(|length| path[..length].to_vec()))
        .filter(|prefix| is_map(prefix))
        .collect();
    for map in maps {
        if !old
            .and_then(|old| value_at(old, &map))
            .is_some_and(Value::is_object)
        {
            let mut owned = map;
            owned.push(SELF.to_owned());
            out.insert(owned);
        }
    }
    out
}

/// The `fieldsV1` object of a field set.
pub fn encode(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut node = &mut root;
        for key in path {
            let name = if key == SELF {
                SELF.to_owned()
            } else {
                format!("f:{key}")
            };
            let child = node
                .entry(name)
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(child) = child else { break };
            node = child;
        }
    }
    Value::Object(root)
}

fn decode_into(value: &Value, path: &mut FieldPath, out: &mut FieldSet) {
    let Value::Object(children) = value else {
        return;
    };
    if children.is_empty() && !path.is_empty() {
        out.insert(path.clone());
    }
    for (name, child) in children {
        let key = if name == SELF {
            SELF.to_owned()
        } else {
            name.strip_prefix("f:").unwrap_or(name).to_owned()
        };
        path.push(key);
        decode_into(child, path, out);
        path.pop();
    }
}

pub fn decode(fields_v1: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    decode_into(fields_v1, &mut Vec::new(), &mut out);
    out
}

/// A path as `fieldpath.Path.String()` prints it in conflict messages: `.data.mapRoles`.
pub fn display(path: &[String]) -> String {
    path.iter().map(|key| format!(".{key}")).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn path(text: &str) -> FieldPath {
        text.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn leaves_skip_system_fields_and_keep_lists_atomic() {
        let object = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "x", "namespace": "n", "resourceVersion": "3", "labels": {"a": "1"}},
            "roleRef": {"apiGroup": "g", "kind": "Role", "name": "r"},
            "subjects": [{"kind": "User", "name": "u"}],
        });
        let expected: FieldSet = [path("metadata.labels.a"), path("roleRef"), path("subjects")]
            .into_iter()
            .collect();
        assert_eq!(leaves(&object), expected);
    }

    #[test]
    fn update_sets_own_new_maps_and_round_trip() {
        let old = json!({"metadata": {"name": "x"}, "data": {"a": "1"}});
        let new =
            json!({"metadata": {"name": "x", "labels": {"l": "v"}}, "data": {"a": "1", "b": "2"}});
        let set = changed(Some(&old), &new);
        let encoded = encode(&set);
        assert_eq!(
            encoded,
            json!({"f:data": {"f:b": {}}, "f:metadata": {"f:labels": {".": {}, "f:l": {}}}})
        );
        assert_eq!(decode(&encoded), set);
        assert_eq!(display(&path("metadata.labels.l")), ".metadata.labels.l");
    }

    #[test]
    fn removing_the_last_key_drops_the_map() {
        let mut object = json!({"metadata": {"name": "x", "labels": {"a": "1"}}});
        remove_at(&mut object, &path("metadata.labels.a"));
        assert_eq!(object, json!({"metadata": {"name": "x"}}));
    }
}
