//! `metadata.managedFields`: who owns which field. Update operations (create, replace, the
//! non-apply patches) take over what they change; server-side apply merges the applied
//! configuration, reports conflicts with other owners (unless forced) and removes the fields
//! its manager stopped applying when nobody else owns them.

use serde_json::{Value, json};

use super::clock::now_rfc3339;
use super::fields::{self, FieldSet, SELF};
use super::status::{ApiError, apply_conflict, go_quote};

pub const APPLY: &str = "Apply";
pub const UPDATE: &str = "Update";

/// One `ManagedFieldsEntry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub fields: FieldSet,
}

impl Entry {
    /// The identity of an entry: appliers are one entry whatever the version they used.
    fn same_owner(&self, manager: &str, operation: &str, api_version: &str) -> bool {
        self.manager == manager
            && self.operation == operation
            && (operation == APPLY || self.api_version == api_version)
    }

    /// `printManager` of the apiserver's conflict errors.
    fn printed(&self) -> String {
        if self.operation == UPDATE {
            format!("{} using {}", go_quote(&self.manager), self.api_version)
        } else {
            go_quote(&self.manager)
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields::encode(&self.fields),
        })
    }
}

pub fn read(object: &Value) -> Vec<Entry> {
    let entries = object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    entries
        .iter()
        .map(|entry| {
            let text = |name: &str| {
                entry
                    .get(name)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            Entry {
                manager: text("manager"),
                operation: text("operation"),
                api_version: text("apiVersion"),
                time: text("time"),
                fields: entry
                    .get("fieldsV1")
                    .map(fields::decode)
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// Stores the entries in the order the apiserver sorts them (operation, time, manager,
/// version), dropping entries that own nothing and fields that no longer exist.
pub fn write(object: &mut Value, mut entries: Vec<Entry>) {
    for entry in &mut entries {
        entry.fields.retain(|path| fields::exists(object, path));
    }
    entries.retain(|entry| !entry.fields.is_empty());
    entries.sort_by(|left, right| {
        (
            &left.operation,
            &left.time,
            &left.manager,
            &left.api_version,
        )
            .cmp(&(
                &right.operation,
                &right.time,
                &right.manager,
                &right.api_version,
            ))
    });
    let Some(Value::Object(metadata)) = object.get_mut("metadata") else {
        return;
    };
    if entries.is_empty() {
        metadata.remove("managedFields");
    } else {
        metadata.insert(
            "managedFields".into(),
            Value::Array(entries.iter().map(Entry::to_json).collect()),
        );
    }
}

/// Records an Update operation by `manager` that turned `old` (absent on create) into `new`.
pub fn record_update(old: Option<&Value>, new: &mut Value, manager: &str, api_version: &str) {
    let mut entries = old.map(read).unwrap_or_default();
    let changed = fields::changed(old, new);
    for entry in &mut entries {
        entry.fields.retain(|path| !changed.contains(path));
    }
    if !changed.is_empty() {
        let time = now_rfc3339();
        match entries
            .iter_mut()
            .find(|entry| entry.same_owner(manager, UPDATE, api_version))
        {
            Some(entry) => {
                entry.fields.extend(changed);
                entry.time = time;
            }
            None => entries.push(Entry {
                manager: manager.to_owned(),
                operation: UPDATE.to_owned(),
                api_version: api_version.to_owned(),
                time,
                fields: changed,
            }),
        }
    }
    write(new, entries);
}

/// Server-side apply of `config` by `manager` over `live` (absent when the apply creates the
/// object). Returns the merged object with its managed fields.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    api_version: &str,
) -> Result<Value, ApiError> {
    let applied = fields::leaves(config);
    let Some(live) = live else {
        let mut created = config.clone();
        if let Some(Value::Object(metadata)) = created.get_mut("metadata") {
            metadata.remove("managedFields");
        }
        let entry = Entry {
            manager: manager.to_owned(),
            operation: APPLY.to_owned(),
            api_version: api_version.to_owned(),
            time: now_rfc3339(),
            fields: applied,
        };
        write(&mut created, vec![entry]);
        return Ok(created);
    };
    let mut entries = read(live);
    let mut conflicts = Vec::new();
    for entry in &mut entries {
        if entry.same_owner(manager, APPLY, api_version) {
            continue;
        }
        let lost: Vec<_> = entry
            .fields
            .iter()
            .filter(|path| {
                applied.contains(*path)
                    && fields::value_at(live, path) != fields::value_at(config, path)
            })
            .cloned()
            .collect();
        for path in &lost {
            conflicts.push((entry.printed(), fields::display(path)));
        }
        if force {
            entry.fields.retain(|path| !lost.contains(path));
        }
    }
    if !conflicts.is_empty() && !force {
        conflicts.sort();
        return Err(apply_conflict(&conflicts));
    }
    let mut merged = live.clone();
    for path in &applied {
        if let Some(value) = fields::value_at(config, path) {
            fields::set_at(&mut merged, path, value.clone());
        }
    }
    let previous = entries
        .iter()
        .find(|entry| entry.same_owner(manager, APPLY, api_version))
        .map(|entry| entry.fields.clone())
        .unwrap_or_default();
    for path in previous.difference(&applied) {
        let owned_elsewhere = entries.iter().any(|entry| {
            !entry.same_owner(manager, APPLY, api_version) && entry.fields.contains(path)
        });
        if path.last().map(String::as_str) != Some(SELF) && !owned_elsewhere {
            fields::remove_at(&mut merged, path);
        }
    }
    let time = now_rfc3339();
    match entries
        .iter_mut()
        .find(|entry| entry.same_owner(manager, APPLY, api_version))
    {
        Some(entry) => {
            entry.fields = applied;
            entry.api_version = api_version.to_owned();
            entry.time = time;
        }
        None => entries.push(Entry {
            manager: manager.to_owned(),
            operation: APPLY.to_owned(),
            api_version: api_version.to_owned(),
            time,
            fields: applied,
        }),
    }
    write(&mut merged, entries);
    Ok(merged)
}

/// The object without the entries' timestamps, to tell a real change from a timestamp-only
/// one (which the apiserver does not persist).
pub fn without_times(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(Value::Array(entries)) = copy.pointer_mut("/metadata/managedFields") {
        for entry in entries {
            if let Value::Object(entry) = entry {
                entry.remove("time");
            }
        }
    }
    copy
}
