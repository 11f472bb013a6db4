//! Validation the real registry strategies run before a write: object names by the kind's
//! rule, RBAC bindings' `roleRef` and subjects, and the immutable `roleRef` on update.

use serde_json::Value;

use super::resources::{NameRule, RBAC_GROUP, Resource};
use super::status::{FieldError, go_quote};

const DNS1123_SUBDOMAIN_MESSAGE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL_MESSAGE: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

fn is_dns1123_label(text: &str) -> bool {
    let bytes = text.as_bytes();
    let alphanumeric = |byte: &u8| byte.is_ascii_lowercase() || byte.is_ascii_digit();
    !bytes.is_empty()
        && bytes.first().is_some_and(alphanumeric)
        && bytes.last().is_some_and(alphanumeric)
        && bytes.iter().all(|byte| alphanumeric(byte) || *byte == b'-')
}

/// `IsDNS1123Subdomain`: the messages it returns for a name, none when valid.
pub fn dns1123_subdomain_errors(name: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if name.len() > 253 {
        errors.push("must be no more than 253 characters".to_owned());
    }
    if !name.split('.').all(is_dns1123_label) {
        errors.push(DNS1123_SUBDOMAIN_MESSAGE.to_owned());
    }
    errors
}

/// `IsDNS1123Label`.
pub fn dns1123_label_errors(name: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if name.len() > 63 {
        errors.push("must be no more than 63 characters".to_owned());
    }
    if !is_dns1123_label(name) {
        errors.push(DNS1123_LABEL_MESSAGE.to_owned());
    }
    errors
}

/// `path.IsValidPathSegmentName`.
pub fn path_segment_errors(name: &str) -> Vec<String> {
    if name == "." || name == ".." {
        return vec![format!("may not be '{name}'")];
    }
    let mut errors = Vec::new();
    for illegal in ["/", "%"] {
        if name.contains(illegal) {
            errors.push(format!("may not contain '{illegal}'"));
        }
    }
    errors
}

fn name_errors(rule: NameRule, name: &str) -> Vec<String> {
    match rule {
        NameRule::DnsLabel => dns1123_label_errors(name),
        NameRule::DnsSubdomain => dns1123_subdomain_errors(name),
        NameRule::PathSegment => path_segment_errors(name),
    }
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Validation of a new object (`Validate` of the strategy).
pub fn validate(resource: &Resource, object: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let name = text(object, "/metadata/name");
    if name.is_empty() {
        errors.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for message in name_errors(resource.name_rule, name) {
            errors.push(FieldError::invalid(
                "metadata.name",
                &go_quote(name),
                &message,
            ));
        }
    }
    if resource.is_binding() {
        errors.extend(validate_binding(resource, object));
    }
    if resource.kind == "Lease" {
        errors.extend(validate_lease_spec(object));
    }
    if resource.kind == "ConfigMap" {
        errors.extend(validate_config_map_size(object));
    }
    errors
}

/// `core.MaxSecretSize`: the most a ConfigMap's keys and values may hold together.
pub const MAX_CONFIG_MAP_SIZE: usize = 1024 * 1024;

/// `ValidateConfigMap`'s size rule: the keys and values of `data` and `binaryData` together
/// at most [`MAX_CONFIG_MAP_SIZE`] bytes, reported on the whole object (an empty field path).
/// `binaryData` is counted as its base64 text, a little more than the bytes it holds.
fn validate_config_map_size(object: &Value) -> Vec<FieldError> {
    let total: usize = ["data", "binaryData"]
        .iter()
        .filter_map(|key| object.get(*key).and_then(Value::as_object))
        .flatten()
        .map(|(key, value)| key.len() + value.as_str().map_or(0, str::len))
        .sum();
    if total > MAX_CONFIG_MAP_SIZE {
        vec![FieldError {
            kind: "FieldValueTooLong",
            field: String::new(),
            body: format!("Too long: may not be more than {MAX_CONFIG_MAP_SIZE} bytes"),
        }]
    } else {
        Vec::new()
    }
}

/// `ValidateLeaseSpec`: a duration, when given, above 0; transitions not negative.
fn validate_lease_spec(object: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (field, minimum, message) in [
        ("leaseDurationSeconds", 1, "must be greater than 0"),
        ("leaseTransitions", 0, "must be greater than or equal to 0"),
    ] {
        if let Some(value) = object
            .pointer(&format!("/spec/{field}"))
            .and_then(Value::as_i64)
            && value < minimum
        {
            errors.push(FieldError::invalid(
                &format!("spec.{field}"),
                &value.to_string(),
                message,
            ));
        }
    }
    errors
}

fn validate_binding(resource: &Resource, object: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let api_group = text(object, "/roleRef/apiGroup");
    if api_group != RBAC_GROUP {
        errors.push(FieldError::not_supported(
            "roleRef.apiGroup",
            api_group,
            &[RBAC_GROUP],
        ));
    }
    let allowed_kinds: &[&str] = if resource.namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    let kind = text(object, "/roleRef/kind");
    if !allowed_kinds.contains(&kind) {
        errors.push(FieldError::not_supported(
            "roleRef.kind",
            kind,
            allowed_kinds,
        ));
    }
    let role_name = text(object, "/roleRef/name");
    if role_name.is_empty() {
        errors.push(FieldError::required("roleRef.name", ""));
    } else {
        for message in path_segment_errors(role_name) {
            errors.push(FieldError::invalid(
                "roleRef.name",
                &go_quote(role_name),
                &message,
            ));
        }
    }
    let subjects = object
        .get("subjects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (index, subject) in subjects.iter().enumerate() {
        let path = format!("subjects[{index}]");
        let subject_name = text(subject, "/name");
        if subject_name.is_empty() {
            errors.push(FieldError::required(&format!("{path}.name"), ""));
        }
        let subject_group = text(subject, "/apiGroup");
        match text(subject, "/kind") {
            "ServiceAccount" => {
                if !subject_name.is_empty() {
                    for message in dns1123_subdomain_errors(subject_name) {
                        errors.push(FieldError::invalid(
                            &format!("{path}.name"),
                            &go_quote(subject_name),
                            &message,
                        ));
                    }
                }
                if !subject_group.is_empty() {
                    errors.push(FieldError::not_supported(
                        &format!("{path}.apiGroup"),
                        subject_group,
                        &[""],
                    ));
                }
                if !resource.namespaced && text(subject, "/namespace").is_empty() {
                    errors.push(FieldError::required(&format!("{path}.namespace"), ""));
                }
            }
            "User" | "Group" => {
                if subject_group != RBAC_GROUP {
                    errors.push(FieldError::not_supported(
                        &format!("{path}.apiGroup"),
                        subject_group,
                        &[RBAC_GROUP],
                    ));
                }
            }
            other => errors.push(FieldError::not_supported(
                &format!("{path}.kind"),
                other,
                &["ServiceAccount", "User", "Group"],
            )),
        }
    }
    errors
}

/// Validation of an update (`ValidateUpdate`): the new object's own validation plus what may
/// not change.
pub fn validate_update(resource: &Resource, object: &Value, old: &Value) -> Vec<FieldError> {
    let mut errors = validate(resource, object);
    if resource.is_binding() && object.get("roleRef") != old.get("roleRef") {
        // The internal `rbac.RoleRef` struct is printed with Go's `%#v`.
        let printed = format!(
            "rbac.RoleRef{{APIGroup:{}, Kind:{}, Name:{}}}",
            go_quote(text(object, "/roleRef/apiGroup")),
            go_quote(text(object, "/roleRef/kind")),
            go_quote(text(object, "/roleRef/name"))
        );
        errors.push(FieldError::invalid(
            "roleRef",
            &printed,
            "cannot change roleRef",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_and_labels() {
        assert!(dns1123_subdomain_errors("aws-auth").is_empty());
        assert!(dns1123_subdomain_errors("a.b-c.d").is_empty());
        assert_eq!(dns1123_subdomain_errors("Bad_Name").len(), 1);
        assert_eq!(dns1123_subdomain_errors("-x").len(), 1);
        assert_eq!(
            dns1123_subdomain_errors(&"a".repeat(254)),
            ["must be no more than 253 characters"]
        );
        assert_eq!(dns1123_subdomain_errors(&"A".repeat(254)).len(), 2);
        assert!(dns1123_label_errors("kube-system").is_empty());
        assert_eq!(dns1123_label_errors("a.b").len(), 1);
        assert!(path_segment_errors("system:masters").is_empty());
        assert_eq!(
            path_segment_errors("a/b%c"),
            ["may not contain '/'", "may not contain '%'"]
        );
        assert_eq!(path_segment_errors(".."), ["may not be '..'"]);
    }
}
