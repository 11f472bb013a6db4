//! The non-apply PATCH types: JSON merge patch (RFC 7386), strategic merge patch (which for
//! the hosted kinds, whose lists carry no merge keys we implement, behaves as a merge patch)
//! and JSON patch (RFC 6902).

use serde_json::Value;

use super::status::{ApiError, bad_request, rejected_patch};

/// RFC 7386: objects merge recursively, `null` deletes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_fields) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(target_fields) = target {
        for (key, value) in patch_fields {
            if value.is_null() {
                target_fields.remove(key);
            } else {
                merge_patch(
                    target_fields.entry(key.clone()).or_insert(Value::Null),
                    value,
                );
            }
        }
    }
}

/// Strategic merge patch for kinds without merge-keyed lists: a merge patch that ignores the
/// `$`-directives it does not need.
pub fn strategic_merge_patch(target: &mut Value, patch: &Value) {
    let mut cleaned = patch.clone();
    strip_directives(&mut cleaned);
    merge_patch(target, &cleaned);
}

fn strip_directives(value: &mut Value) {
    if let Value::Object(fields) = value {
        fields.retain(|key, _| !key.starts_with('$'));
        for child in fields.values_mut() {
            strip_directives(child);
        }
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(pointer: &str) -> Result<(String, String), ApiError> {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return Err(bad_request(format!(
            "the server rejected our request due to an error in our request: invalid JSON pointer {pointer:?}"
        )));
    };
    Ok((parent.to_owned(), unescape(last)))
}

fn missing(path: &str) -> ApiError {
    rejected_patch(&format!("doc is missing path: \"{path}\": missing value"))
}

fn add(document: &mut Value, path: &str, value: Value) -> Result<(), ApiError> {
    if path.is_empty() {
        *document = value;
        return Ok(());
    }
    let (parent_path, key) = split_pointer(path)?;
    let parent = document
        .pointer_mut(&parent_path)
        .ok_or_else(|| missing(path))?;
    match parent {
        Value::Object(fields) => {
            fields.insert(key, value);
            Ok(())
        }
        Value::Array(items) => {
            if key == "-" {
                items.push(value);
                return Ok(());
            }
            let index: usize = key.parse().map_err(|_| missing(path))?;
            if index > items.len() {
                return Err(missing(path));
            }
            items.insert(index, value);
            Ok(())
        }
        _ => Err(missing(path)),
    }
}

fn remove(document: &mut Value, path: &str) -> Result<Value, ApiError> {
    let (parent_path, key) = split_pointer(path)?;
    let parent = document
        .pointer_mut(&parent_path)
        .ok_or_else(|| missing(path))?;
    match parent {
        Value::Object(fields) => fields.remove(&key).ok_or_else(|| missing(path)),
        Value::Array(items) => {
            let index: usize = key.parse().map_err(|_| missing(path))?;
            if index >= items.len() {
                return Err(missing(path));
            }
            Ok(items.remove(index))
        }
        _ => Err(missing(path)),
    }
}

/// RFC 6902 over the whole document; any failing operation fails the patch.
pub fn json_patch(document: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let operations = patch
        .as_array()
        .ok_or_else(|| bad_request("the server rejected our request due to an error in our request: json patch must be an array"))?;
    for operation in operations {
        let field = |name: &str| {
            operation
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let path = field("path");
        let value = || operation.get("value").cloned().unwrap_or(Value::Null);
        match field("op").as_str() {
            "add" => add(document, &path, value())?,
            "remove" => {
                remove(document, &path)?;
            }
            "replace" => {
                let target = document.pointer_mut(&path).ok_or_else(|| missing(&path))?;
                *target = value();
            }
            "move" => {
                let moved = remove(document, &field("from"))?;
                add(document, &path, moved)?;
            }
            "copy" => {
                let copied = document
                    .pointer(&field("from"))
                    .cloned()
                    .ok_or_else(|| missing(&field("from")))?;
                add(document, &path, copied)?;
            }
            "test" => {
                if document.pointer(&path) != Some(&value()) {
                    return Err(rejected_patch(&format!(
                        "testing value {path} failed: test failed"
                    )));
                }
            }
            other => return Err(bad_request(format!("Unexpected kind: {other}"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_patch_merges_and_deletes() {
        let mut document = json!({"data": {"a": "1", "b": "2"}, "keep": true});
        merge_patch(&mut document, &json!({"data": {"a": null, "c": "3"}}));
        assert_eq!(
            document,
            json!({"data": {"b": "2", "c": "3"}, "keep": true})
        );
    }

    #[test]
    fn json_patch_operations() {
        let mut document = json!({"metadata": {"labels": {"a/b": "x"}}, "list": [1, 2]});
        let patch = json!([
            {"op": "test", "path": "/metadata/labels/a~1b", "value": "x"},
            {"op": "replace", "path": "/metadata/labels/a~1b", "value": "y"},
            {"op": "add", "path": "/list/-", "value": 3},
            {"op": "remove", "path": "/list/0"},
            {"op": "copy", "from": "/list", "path": "/copy"},
        ]);
        assert!(json_patch(&mut document, &patch).is_ok());
        assert_eq!(
            document,
            json!({"metadata": {"labels": {"a/b": "y"}}, "list": [2, 3], "copy": [2, 3]})
        );
        assert!(json_patch(&mut document, &json!([{"op": "remove", "path": "/nope"}])).is_err());
        assert!(
            json_patch(
                &mut document,
                &json!([{"op": "test", "path": "/list", "value": []}])
            )
            .is_err()
        );
    }
}
