//! The verbs on one resource — get, list, create, replace, patch (merge, strategic, JSON,
//! apply) and delete — as the generic registry runs them: decode, default, track managed
//! fields, admit (namespace must exist), run the strategy, validate, check preconditions and
//! commit with a new resourceVersion.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::clock::{micro_time, now_rfc3339};
use super::managed_fields;
use super::patch;
use super::resources::{NAMESPACES, RBAC_GROUP, Resource};
use super::selectors::{FieldSelector, LabelSelector};
use super::status::{self, ApiError, FieldError, MODIFIED};
use super::store::{ObjectKey, Store};
use super::validation;

/// One request to a resource, already routed.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub resource: &'static Resource,
    pub namespace: Option<&'a str>,
    pub name: Option<&'a str>,
    pub query: &'a BTreeMap<String, String>,
    pub body: &'a [u8],
    pub content_type: &'a str,
    pub user_agent: &'a str,
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub code: u16,
    pub body: Value,
}

pub type Outcome = Result<Reply, ApiError>;

impl Call<'_> {
    /// `managerOrUserAgent`: the `fieldManager` parameter, else the user agent up to its `/`.
    fn manager(&self) -> String {
        match self.query.get("fieldManager") {
            Some(manager) if !manager.is_empty() => manager.clone(),
            _ => self
                .user_agent
                .split('/')
                .next()
                .unwrap_or_default()
                .chars()
                .take(128)
                .collect(),
        }
    }

    fn dry_run(&self) -> bool {
        self.query.get("dryRun").is_some_and(|value| value == "All")
    }

    fn name(&self) -> &str {
        self.name.unwrap_or_default()
    }

    fn key(&self, name: &str) -> ObjectKey {
        ObjectKey::new(self.resource, self.namespace, name)
    }
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn metadata_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = Value::Object(Map::new());
    }
    match object.get_mut("metadata") {
        Some(Value::Object(metadata)) => metadata,
        _ => unreachable!("metadata was just made an object"),
    }
}

fn decode_json(body: &[u8]) -> Result<Value, ApiError> {
    let object: Value = serde_json::from_slice(body).map_err(|error| {
        status::bad_request(format!("the object provided is unrecognized: {error}"))
    })?;
    if !object.is_object() {
        return Err(status::bad_request(
            "the object provided is unrecognized: not a JSON object",
        ));
    }
    Ok(object)
}

/// The body's `apiVersion`/`kind`, when given, must be the resource's.
fn check_type(resource: &Resource, object: &Value) -> Result<(), ApiError> {
    let api_version = text(object, "/apiVersion");
    let kind = text(object, "/kind");
    if (!api_version.is_empty() && api_version != resource.api_version())
        || (!kind.is_empty() && kind != resource.kind)
    {
        return Err(status::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            resource.api_version()
        )));
    }
    Ok(())
}

/// Checks and fills `metadata.namespace` against the one of the URL.
fn check_namespace(call: &Call<'_>, object: &mut Value) -> Result<(), ApiError> {
    let metadata = metadata_mut(object);
    if !call.resource.namespaced {
        metadata.remove("namespace");
        return Ok(());
    }
    let given = metadata
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let expected = call.namespace.unwrap_or_default();
    if given.is_empty() {
        metadata.insert("namespace".into(), json!(expected));
    } else if given != expected {
        return Err(status::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(())
}

/// Version-level defaulting (`SetDefaults_*`) that the hosted kinds have.
fn default_object(resource: &Resource, object: &mut Value) {
    if resource.kind == "Namespace" {
        let name = text(object, "/metadata/name").to_owned();
        let metadata = metadata_mut(object);
        let labels = metadata
            .entry("labels")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(labels) = labels {
            labels.insert("kubernetes.io/metadata.name".into(), json!(name));
        }
    }
    if resource.is_binding() {
        if let Some(Value::Object(role_ref)) = object.get_mut("roleRef")
            && role_ref
                .get("apiGroup")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .is_empty()
        {
            role_ref.insert("apiGroup".into(), json!(RBAC_GROUP));
        }
        if let Some(Value::Array(subjects)) = object.get_mut("subjects") {
            for subject in subjects.iter_mut() {
                let kind = text(subject, "/kind");
                let needs_group =
                    (kind == "User" || kind == "Group") && text(subject, "/apiGroup").is_empty();
                if let (true, Value::Object(subject)) = (needs_group, subject) {
                    subject.insert("apiGroup".into(), json!(RBAC_GROUP));
                }
            }
        }
    }
}

/// Puts `kind`, `apiVersion` and `metadata` (in the field order of `ObjectMeta`) first, as the
/// real server's Go structs serialize them.
fn canonical(resource: &Resource, object: Value) -> Value {
    let Value::Object(mut fields) = object else {
        return object;
    };
    let mut ordered = Map::new();
    ordered.insert("kind".into(), json!(resource.kind));
    ordered.insert("apiVersion".into(), json!(resource.api_version()));
    fields.remove("kind");
    fields.remove("apiVersion");
    if let Some(Value::Object(mut metadata)) = fields.remove("metadata") {
        let mut ordered_metadata = Map::new();
        for key in [
            "name",
            "generateName",
            "namespace",
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "labels",
            "annotations",
            "ownerReferences",
            "finalizers",
            "managedFields",
        ] {
            if let Some(value) = metadata.remove(key) {
                ordered_metadata.insert(key.into(), value);
            }
        }
        ordered_metadata.extend(metadata);
        ordered.insert("metadata".into(), Value::Object(ordered_metadata));
    }
    ordered.extend(fields);
    Value::Object(ordered)
}

/// `PrepareForCreate` of the strategies: namespaces start active with the `kubernetes`
/// finalizer.
fn prepare_for_create(resource: &Resource, object: &mut Value) {
    if resource.kind == "Namespace" {
        object["spec"] = json!({"finalizers": ["kubernetes"]});
        object["status"] = json!({"phase": "Active"});
    }
}

/// `PrepareForUpdate`: a namespace's spec and status are not changed through the main resource.
fn prepare_for_update(resource: &Resource, object: &mut Value, old: &Value) {
    if resource.kind == "Namespace" {
        let Value::Object(fields) = object else {
            return;
        };
        for key in ["spec", "status"] {
            match old.get(key) {
                Some(value) => fields.insert(key.into(), value.clone()),
                None => fields.remove(key),
            };
        }
    }
}

fn require_namespace(store: &Store, call: &Call<'_>) -> Result<(), ApiError> {
    match call.namespace {
        Some(namespace) if call.resource.namespaced && !store.namespace_exists(namespace) => {
            Err(status::not_found(&NAMESPACES, namespace))
        }
        _ => Ok(()),
    }
}

/// The end of every create: admission, strategy, validation, the uniqueness check of the
/// storage, system fields and the commit.
fn commit_create(store: &mut Store, call: &Call<'_>, mut object: Value) -> Outcome {
    let resource = call.resource;
    require_namespace(store, call)?;
    prepare_for_create(resource, &mut object);
    let name = text(&object, "/metadata/name").to_owned();
    let errors = validation::validate(resource, &object);
    if !errors.is_empty() {
        return Err(status::invalid(resource, &name, &errors));
    }
    let key = call.key(&name);
    if store.get(&key).is_some() {
        return Err(status::already_exists(resource, &name));
    }
    let uid = store.next_uid();
    let metadata = metadata_mut(&mut object);
    metadata.insert("uid".into(), json!(uid));
    metadata.insert("creationTimestamp".into(), json!(now_rfc3339()));
    metadata.remove("deletionTimestamp");
    metadata.remove("deletionGracePeriodSeconds");
    if call.dry_run() {
        metadata.remove("resourceVersion");
        return Ok(Reply {
            code: 201,
            body: canonical(resource, object),
        });
    }
    let resource_version = store.next_resource_version();
    metadata_mut(&mut object).insert("resourceVersion".into(), json!(resource_version));
    let object = canonical(resource, object);
    store.insert(key, object.clone());
    Ok(Reply {
        code: 201,
        body: object,
    })
}

/// The end of every update: preconditions, strategy, validation, no-op detection and the
/// commit. `object` already carries its managed fields.
fn commit_update(store: &mut Store, call: &Call<'_>, old: &Value, mut object: Value) -> Outcome {
    let resource = call.resource;
    let name = call.name().to_owned();
    let current_version = text(old, "/metadata/resourceVersion").to_owned();
    let given_version = text(&object, "/metadata/resourceVersion").to_owned();
    if !given_version.is_empty() && given_version != current_version {
        return Err(status::conflict(resource, &name, MODIFIED));
    }
    prepare_for_update(resource, &mut object, old);
    let metadata = metadata_mut(&mut object);
    for key in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "generation",
    ] {
        match old.pointer(&format!("/metadata/{key}")) {
            Some(value) => metadata.insert(key.into(), value.clone()),
            None => metadata.remove(key),
        };
    }
    metadata.insert("resourceVersion".into(), json!(current_version));
    let errors = validation::validate_update(resource, &object, old);
    if !errors.is_empty() {
        return Err(status::invalid(resource, &name, &errors));
    }
    let object = canonical(resource, object);
    if managed_fields::without_times(&object) == managed_fields::without_times(old)
        || call.dry_run()
    {
        let body = if call.dry_run() { object } else { old.clone() };
        return Ok(Reply { code: 200, body });
    }
    let mut object = object;
    let resource_version = store.next_resource_version();
    metadata_mut(&mut object).insert("resourceVersion".into(), json!(resource_version));
    store.insert(call.key(&name), object.clone());
    Ok(Reply {
        code: 200,
        body: object,
    })
}

pub fn get(store: &Store, call: &Call<'_>) -> Outcome {
    let name = call.name();
    store
        .get(&call.key(name))
        .map(|object| Reply {
            code: 200,
            body: object.clone(),
        })
        .ok_or_else(|| status::not_found(call.resource, name))
}

pub fn list(store: &Store, call: &Call<'_>) -> Outcome {
    let labels = LabelSelector::parse(call.query.get("labelSelector").map_or("", String::as_str))?;
    let fields = FieldSelector::parse(call.query.get("fieldSelector").map_or("", String::as_str))?;
    let items: Vec<Value> = store
        .list(call.resource, call.namespace)
        .into_iter()
        .filter(|object| {
            let object_labels: BTreeMap<String, String> = object
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .map(|labels| {
                    labels
                        .iter()
                        .map(|(key, value)| {
                            (key.clone(), value.as_str().unwrap_or_default().to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default();
            labels.matches(&object_labels) && fields.matches(object)
        })
        .map(|object| {
            // Items of a typed list carry no kind or apiVersion of their own.
            let mut item = object.clone();
            if let Value::Object(fields) = &mut item {
                fields.remove("kind");
                fields.remove("apiVersion");
            }
            item
        })
        .collect();
    Ok(Reply {
        code: 200,
        body: json!({
            "kind": call.resource.list_kind(),
            "apiVersion": call.resource.api_version(),
            "metadata": {"resourceVersion": store.current_resource_version()},
            "items": items,
        }),
    })
}

/// A Lease's `acquireTime` and `renewTime` are `MicroTime`s: decoded strictly (a bad one is a
/// 400, as the real server's decoder answers) and stored with six fractional digits.
fn decode_micro_times(resource: &Resource, object: &mut Value) -> Result<(), ApiError> {
    if resource.kind != "Lease" {
        return Ok(());
    }
    for field in ["acquireTime", "renewTime"] {
        let Some(value) = object.pointer_mut(&format!("/spec/{field}")) else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        let text = value.as_str().unwrap_or_default();
        let normalized = micro_time(text).ok_or_else(|| {
            status::bad_request(format!(
                "Lease in version \"v1\" cannot be handled as a Lease: parsing time {} as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse",
                go_quote_value(value)
            ))
        })?;
        *value = json!(normalized);
    }
    Ok(())
}

fn go_quote_value(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Decoding and defaulting shared by create and replace.
fn decode_for_write(call: &Call<'_>) -> Result<Value, ApiError> {
    let mut object = decode_json(call.body)?;
    decode_micro_times(call.resource, &mut object)?;
    check_type(call.resource, &object)?;
    check_namespace(call, &mut object)?;
    default_object(call.resource, &mut object);
    Ok(object)
}

pub fn create(store: &mut Store, call: &Call<'_>) -> Outcome {
    let mut object = decode_for_write(call)?;
    let name = text(&object, "/metadata/name").to_owned();
    let generate_name = text(&object, "/metadata/generateName").to_owned();
    if name.is_empty() && !generate_name.is_empty() {
        let generated = format!("{generate_name}{}", store.generated_suffix());
        metadata_mut(&mut object).insert("name".into(), json!(generated));
        default_object(call.resource, &mut object);
    }
    if !text(&object, "/metadata/resourceVersion").is_empty() {
        return Err(status::unknown_error(
            500,
            "resourceVersion should not be set on objects to be created",
        ));
    }
    metadata_mut(&mut object).remove("managedFields");
    managed_fields::record_update(
        None,
        &mut object,
        &call.manager(),
        &call.resource.api_version(),
    );
    commit_create(store, call, object)
}

pub fn replace(store: &mut Store, call: &Call<'_>) -> Outcome {
    let mut object = decode_for_write(call)?;
    let name = call.name();
    let given_name = text(&object, "/metadata/name");
    if given_name != name {
        return Err(status::bad_request(format!(
            "the name of the object ({given_name}) does not match the name on the URL ({name})"
        )));
    }
    let api_version = call.resource.api_version();
    let Some(old) = store.get(&call.key(name)).cloned() else {
        if !call.resource.create_on_update {
            return Err(status::not_found(call.resource, name));
        }
        let metadata = metadata_mut(&mut object);
        metadata.remove("resourceVersion");
        metadata.remove("managedFields");
        managed_fields::record_update(None, &mut object, &call.manager(), &api_version);
        return commit_create(store, call, object);
    };
    managed_fields::record_update(Some(&old), &mut object, &call.manager(), &api_version);
    commit_update(store, call, &old, object)
}

/// `ValidatePatchOptions`.
fn validate_patch_options(call: &Call<'_>, is_apply: bool) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    let has_manager = call
        .query
        .get("fieldManager")
        .is_some_and(|manager| !manager.is_empty());
    if is_apply && !has_manager {
        errors.push(FieldError::required(
            "fieldManager",
            "is required for apply patch",
        ));
    }
    if !is_apply && call.query.contains_key("force") {
        errors.push(FieldError::forbidden(
            "force",
            "may not be specified for non-apply patch",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(status::invalid_kind(
            "meta.k8s.io",
            "PatchOptions",
            "",
            &errors,
        ))
    }
}

pub fn patch(store: &mut Store, call: &Call<'_>) -> Outcome {
    let media_type = call
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    let name = call.name();
    let api_version = call.resource.api_version();
    match media_type {
        "application/apply-patch+yaml" => {
            validate_patch_options(call, true)?;
            apply(store, call)
        }
        "application/json-patch+json"
        | "application/merge-patch+json"
        | "application/strategic-merge-patch+json" => {
            validate_patch_options(call, false)?;
            let patch_document: Value = serde_json::from_slice(call.body)
                .map_err(|error| status::bad_request(format!("error decoding patch: {error}")))?;
            let Some(old) = store.get(&call.key(name)).cloned() else {
                return Err(status::not_found(call.resource, name));
            };
            let mut object = old.clone();
            match media_type {
                "application/json-patch+json" => patch::json_patch(&mut object, &patch_document)?,
                "application/merge-patch+json" => patch::merge_patch(&mut object, &patch_document),
                _ => patch::strategic_merge_patch(&mut object, &patch_document),
            }
            if text(&object, "/metadata/name") != name {
                return Err(status::bad_request(format!(
                    "the name of the object ({}) does not match the name on the URL ({name})",
                    text(&object, "/metadata/name")
                )));
            }
            check_type(call.resource, &object)?;
            decode_micro_times(call.resource, &mut object)?;
            check_namespace(call, &mut object)?;
            default_object(call.resource, &mut object);
            managed_fields::record_update(Some(&old), &mut object, &call.manager(), &api_version);
            commit_update(store, call, &old, object)
        }
        other => Err(status::unsupported_patch_type(other)),
    }
}

fn apply(store: &mut Store, call: &Call<'_>) -> Outcome {
    let name = call.name();
    let text_body = String::from_utf8_lossy(call.body);
    let mut config: Value = serde_saphyr::from_str(&text_body)
        .map_err(|error| status::bad_request(format!("error decoding YAML: {error}")))?;
    if !config.is_object() {
        return Err(status::bad_request(
            "error decoding YAML: the applied configuration is not an object",
        ));
    }
    let api_version = text(&config, "/apiVersion").to_owned();
    let kind = text(&config, "/kind").to_owned();
    if api_version.is_empty() || kind.is_empty() {
        return Err(status::bad_request(format!(
            "invalid object type: /, Kind={kind}: apiVersion and kind must be set for apply"
        )));
    }
    check_type(call.resource, &config)?;
    let given_name = text(&config, "/metadata/name").to_owned();
    if given_name != name {
        return Err(status::bad_request(format!(
            "the name of the object ({given_name}) does not match the name on the URL ({name})"
        )));
    }
    check_namespace(call, &mut config)?;
    default_object(call.resource, &mut config);
    let manager = call.manager();
    let force = call.query.get("force").is_some_and(|value| value == "true");
    match store.get(&call.key(name)).cloned() {
        None => {
            require_namespace(store, call)?;
            if let Some(Value::Object(metadata)) = config.get_mut("metadata") {
                metadata.remove("resourceVersion");
            }
            let created = managed_fields::apply(None, &config, &manager, force, &api_version)?;
            commit_create(store, call, created)
        }
        Some(old) => {
            let given_version = text(&config, "/metadata/resourceVersion");
            if !given_version.is_empty() && given_version != text(&old, "/metadata/resourceVersion")
            {
                return Err(status::conflict(call.resource, name, MODIFIED));
            }
            let merged = managed_fields::apply(Some(&old), &config, &manager, force, &api_version)?;
            commit_update(store, call, &old, merged)
        }
    }
}

fn precondition_failed(call: &Call<'_>, key: &ObjectKey, detail: &str) -> ApiError {
    let why = format!(
        "StorageError: invalid object, Code: 4, Key: {}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: {detail}",
        key.registry_key()
    );
    status::conflict(call.resource, &key.name, &why)
}

pub fn delete(store: &mut Store, call: &Call<'_>) -> Outcome {
    let resource = call.resource;
    let name = call.name();
    let key = call.key(name);
    let Some(old) = store.get(&key).cloned() else {
        return Err(status::not_found(resource, name));
    };
    let options: Value = if call.body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(call.body).unwrap_or(json!({}))
    };
    let actual_uid = text(&old, "/metadata/uid");
    let wanted_uid = text(&options, "/preconditions/uid");
    if !wanted_uid.is_empty() && wanted_uid != actual_uid {
        let detail = format!("UID in precondition: {wanted_uid}, UID in object meta: {actual_uid}");
        return Err(precondition_failed(call, &key, &detail));
    }
    let actual_version = text(&old, "/metadata/resourceVersion");
    let wanted_version = text(&options, "/preconditions/resourceVersion");
    if !wanted_version.is_empty() && wanted_version != actual_version {
        let detail = format!(
            "ResourceVersion in precondition: {wanted_version}, ResourceVersion in object meta: {actual_version}"
        );
        return Err(precondition_failed(call, &key, &detail));
    }
    let dry_run = call.dry_run()
        || options
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|values| values.iter().any(|value| value == "All"));
    if resource.kind == "Namespace" {
        // The namespace goes to Terminating; with no controller to wait for, its content and
        // the namespace itself go at once.
        let mut terminating = old.clone();
        metadata_mut(&mut terminating).insert("deletionTimestamp".into(), json!(now_rfc3339()));
        terminating["status"] = json!({"phase": "Terminating"});
        if !dry_run {
            let resource_version = store.next_resource_version();
            metadata_mut(&mut terminating)
                .insert("resourceVersion".into(), json!(resource_version));
            store.remove_namespace_contents(name);
            store.remove(&key);
        }
        return Ok(Reply {
            code: 200,
            body: canonical(resource, terminating),
        });
    }
    if !dry_run {
        store.remove(&key);
    }
    if resource.returns_deleted_object {
        return Ok(Reply {
            code: 200,
            body: old,
        });
    }
    let mut details = Map::new();
    details.insert("name".into(), json!(name));
    if !resource.group.is_empty() {
        details.insert("group".into(), json!(resource.group));
    }
    details.insert("kind".into(), json!(resource.plural));
    details.insert("uid".into(), json!(actual_uid));
    Ok(Reply {
        code: 200,
        body: json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
    })
}
