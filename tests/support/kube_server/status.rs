//! `metav1.Status` failure bodies exactly as the apiserver's `k8s.io/apimachinery/pkg/api/errors`
//! builds them: kind, apiVersion, empty metadata, status, message, reason, details, code.

use serde_json::{Map, Value, json};

use super::resources::Resource;

/// An error answer: the HTTP code and the `Status` body, plus headers some errors carry.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub body: Value,
    pub retry_after_seconds: Option<u32>,
}

impl ApiError {
    fn new(code: u16, reason: &str, message: String, details: Option<Value>) -> Self {
        let mut body = Map::new();
        body.insert("kind".into(), json!("Status"));
        body.insert("apiVersion".into(), json!("v1"));
        body.insert("metadata".into(), json!({}));
        body.insert("status".into(), json!("Failure"));
        body.insert("message".into(), json!(message));
        if !reason.is_empty() {
            body.insert("reason".into(), json!(reason));
        }
        if let Some(details) = details {
            body.insert("details".into(), details);
        }
        body.insert("code".into(), json!(code));
        Self {
            code,
            body: Value::Object(body),
            retry_after_seconds: None,
        }
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }
}

/// `details` for an error about one named object: `kind` is the plural resource, as the real
/// server sets it ("Yes we set Kind field to resource").
fn object_details(resource: &Resource, name: &str) -> Value {
    let mut details = Map::new();
    details.insert("name".into(), json!(name));
    if !resource.group.is_empty() {
        details.insert("group".into(), json!(resource.group));
    }
    details.insert("kind".into(), json!(resource.plural));
    Value::Object(details)
}

/// `NewNotFound`: `configmaps "aws-auth" not found`.
pub fn not_found(resource: &Resource, name: &str) -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        format!("{} \"{name}\" not found", resource.qualified_resource()),
        Some(object_details(resource, name)),
    )
}

/// `NewAlreadyExists`: `configmaps "aws-auth" already exists`.
pub fn already_exists(resource: &Resource, name: &str) -> ApiError {
    ApiError::new(
        409,
        "AlreadyExists",
        format!(
            "{} \"{name}\" already exists",
            resource.qualified_resource()
        ),
        Some(object_details(resource, name)),
    )
}

/// The optimistic-concurrency message of the registry store.
pub const MODIFIED: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

/// `NewConflict`: `Operation cannot be fulfilled on configmaps "aws-auth": <why>`.
pub fn conflict(resource: &Resource, name: &str, why: &str) -> ApiError {
    ApiError::new(
        409,
        "Conflict",
        format!(
            "Operation cannot be fulfilled on {} \"{name}\": {why}",
            resource.qualified_resource()
        ),
        Some(object_details(resource, name)),
    )
}

/// One `field.Error`: its type (the `StatusCause.reason`), field path and body (`ErrorBody()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub kind: &'static str,
    pub field: String,
    pub body: String,
}

impl FieldError {
    /// `field.Invalid` with a value already formatted as Go prints it (`%q` for strings).
    pub fn invalid(field: &str, formatted_value: &str, detail: &str) -> Self {
        Self {
            kind: "FieldValueInvalid",
            field: field.to_owned(),
            body: format!("Invalid value: {formatted_value}: {detail}"),
        }
    }

    pub fn forbidden(field: &str, detail: &str) -> Self {
        Self {
            kind: "FieldValueForbidden",
            field: field.to_owned(),
            body: format!("Forbidden: {detail}"),
        }
    }

    pub fn required(field: &str, detail: &str) -> Self {
        let body = if detail.is_empty() {
            "Required value".to_owned()
        } else {
            format!("Required value: {detail}")
        };
        Self {
            kind: "FieldValueRequired",
            field: field.to_owned(),
            body,
        }
    }

    pub fn not_supported(field: &str, value: &str, supported: &[&str]) -> Self {
        let quoted: Vec<String> = supported.iter().map(|value| go_quote(value)).collect();
        Self {
            kind: "FieldValueNotSupported",
            field: field.to_owned(),
            body: format!(
                "Unsupported value: {}: supported values: {}",
                go_quote(value),
                quoted.join(", ")
            ),
        }
    }
}

/// Go's `%q` for the strings we meet (names and keys): quotes and backslashes escaped.
pub fn go_quote(text: &str) -> String {
    let mut quoted = String::from("\"");
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

/// `NewInvalid`: `RoleBinding.rbac.authorization.k8s.io "x" is invalid: roleRef: ...`, one cause
/// per field error, `details.kind` the Kind (not the resource) this time.
pub fn invalid(resource: &Resource, name: &str, errors: &[FieldError]) -> ApiError {
    invalid_kind(resource.group, resource.kind, name, errors)
}

/// `NewInvalid` for any group and kind (`PatchOptions.meta.k8s.io` for bad patch options).
pub fn invalid_kind(group: &str, kind: &str, name: &str, errors: &[FieldError]) -> ApiError {
    let texts: Vec<String> = errors
        .iter()
        .map(|error| format!("{}: {}", error.field, error.body))
        .collect();
    // utilerrors.NewAggregate prints one error bare and several as `[a, b]`.
    let aggregate = if texts.len() == 1 {
        texts[0].clone()
    } else {
        format!("[{}]", texts.join(", "))
    };
    let causes: Vec<Value> = errors
        .iter()
        .map(|error| json!({"reason": error.kind, "message": error.body, "field": error.field}))
        .collect();
    let mut details = Map::new();
    details.insert("name".into(), json!(name));
    if !group.is_empty() {
        details.insert("group".into(), json!(group));
    }
    details.insert("kind".into(), json!(kind));
    details.insert("causes".into(), Value::Array(causes));
    let qualified_kind = if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}.{group}")
    };
    ApiError::new(
        422,
        "Invalid",
        format!("{qualified_kind} \"{name}\" is invalid: {aggregate}"),
        Some(Value::Object(details)),
    )
}

/// `NewBadRequest`.
pub fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "BadRequest", message.into(), None)
}

/// `NewInternalError`: `Internal error occurred: <error>`, the error repeated as the one cause.
pub fn internal_error(error: &str) -> ApiError {
    ApiError::new(
        500,
        "InternalError",
        format!("Internal error occurred: {error}"),
        Some(json!({"causes": [{"message": error}]})),
    )
}

/// What `ErrorToAPIStatus` makes of an error that is not an API status (reason `Unknown`).
pub fn unknown_error(code: u16, message: &str) -> ApiError {
    ApiError::new(code, "", message.to_owned(), None)
}

/// `NewTooManyRequests`-style 429 with `details.retryAfterSeconds` and a `Retry-After` header.
pub fn too_many_requests(retry_after_seconds: u32) -> ApiError {
    let mut error = ApiError::new(
        429,
        "TooManyRequests",
        "Too many requests, please try again later.".to_owned(),
        Some(json!({"retryAfterSeconds": retry_after_seconds})),
    );
    error.retry_after_seconds = Some(retry_after_seconds);
    error
}

/// `NewUnauthorized` as the authentication filter answers a missing or wrong token.
pub fn unauthorized() -> ApiError {
    ApiError::new(401, "Unauthorized", "Unauthorized".to_owned(), None)
}

/// `NewMethodNotSupported`.
pub fn method_not_supported(resource: &Resource, method: &str) -> ApiError {
    ApiError::new(
        405,
        "MethodNotAllowed",
        format!(
            "{method} is not supported on resources of kind {:?}",
            resource.qualified_resource()
        ),
        Some(json!({"group": resource.group, "kind": resource.plural})),
    )
}

/// The answer for an API path that names no resource we serve.
pub fn no_such_resource() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource".to_owned(),
        Some(json!({})),
    )
}

/// `NewUnsupportedMediaType` for a PATCH with an unknown content type.
pub fn unsupported_patch_type(content_type: &str) -> ApiError {
    ApiError::new(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: \
         application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, \
         application/strategic-merge-patch+json"
            .to_owned(),
        Some(
            json!({"causes": [{"reason": "UnexpectedHeader", "message": content_type, "field": "Content-Type"}]}),
        ),
    )
}

/// `NewApplyConflict`: no object details, one `FieldManagerConflict` cause per conflicting field.
pub fn apply_conflict(conflicts: &[(String, String)]) -> ApiError {
    let message = if let [(manager, path)] = conflicts {
        format!("Apply failed with 1 conflict: conflict with {manager}: {path}")
    } else {
        let mut by_manager: std::collections::BTreeMap<&str, Vec<&str>> =
            std::collections::BTreeMap::new();
        for (manager, path) in conflicts {
            by_manager.entry(manager).or_default().push(path);
        }
        let mut lines = Vec::new();
        for (manager, paths) in by_manager {
            lines.push(format!("conflicts with {manager}:"));
            lines.extend(paths.iter().map(|path| format!("- {path}")));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(manager, path)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with {manager}"), "field": path}))
        .collect();
    ApiError::new(409, "Conflict", message, Some(json!({"causes": causes})))
}

/// A JSON patch that does not apply: the handler's `NewGenericServerResponse(422, …)`, whose
/// message is the generic one; the patch library's own words travel only in a cause.
pub fn rejected_patch(detail: &str) -> ApiError {
    ApiError::new(
        422,
        "Invalid",
        "the server rejected our request due to an error in our request".to_owned(),
        Some(json!({"causes": [{"reason": "UnexpectedServerResponse", "message": detail}]})),
    )
}
