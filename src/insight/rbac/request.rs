//! `kubectl auth can-i` requests: parsing the resource argument against the resource types a
//! cluster knows (short and singular names resolved), and kubectl's warnings for a verb,
//! resource type or subresource Kubernetes does not know.

use super::Request;
use super::resources::{KnownResources, Lookup, verb_problem};

/// What the check of a request found: a warning for each part Kubernetes does not know, and
/// what a short, singular or group-less name resolved to (`po` → `pods`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Checked {
    pub warnings: Vec<String>,
    pub resolved: Option<String>,
    /// The type is named in an API group `known` does not hold: a custom resource, which only
    /// the cluster's discovery can vouch for.
    pub custom_group: bool,
}

/// Checks a `kubectl auth can-i` request against `known`: the verb (an HTTP verb for a
/// non-resource URL), the resource type (a custom resource is named `TYPE.GROUP`, and a group
/// `known` does not hold is taken as one) and the subresource.
pub fn check_request(
    known: &KnownResources,
    verb: &str,
    resource: &str,
    subresource: Option<&str>,
) -> Checked {
    let mut checked = Checked::default();
    let non_resource = resource.starts_with('/');
    if let Some((message, hint)) = verb_problem(verb, non_resource) {
        checked.warnings.push(format!("{message}; {hint}"));
    }
    if non_resource {
        return checked;
    }
    let kind = resource.split_once('/').map_or(resource, |(kind, _)| kind);
    let (name, group) = match kind.split_once('.') {
        Some((name, group)) => (name, Some(group)),
        None => (kind, None),
    };
    if name == "*" {
        return checked;
    }
    match known.resolve(name, group) {
        Lookup::CustomGroup if known.is_discovered() => {
            // A cluster's discovery lists every group it serves.
            let group = group.unwrap_or_default();
            let suggestion = crate::suggest::closest(group, known.groups())
                .map(|close| format!(" (did you mean `{name}.{close}`?)"))
                .unwrap_or_default();
            checked.warnings.push(format!(
                "the cluster serves no API group `{group}`{suggestion}"
            ));
        }
        Lookup::CustomGroup => checked.custom_group = true,
        Lookup::Known(found) => {
            let qualified = found.qualified();
            // A short or singular name: say which type it is (the group too).
            if found.name != name.to_ascii_lowercase() {
                checked.resolved = Some(format!("`{kind}` is `{qualified}`"));
            }
            if let Some(sub) = subresource
                && !known.has_subresource(&found.group, &found.name, sub)
            {
                let names = known.subresources_of(&found.group, &found.name);
                let suggestion = crate::suggest::closest(sub, names.iter().copied())
                    .map(|close| format!(" (did you mean `{close}`?)"))
                    .unwrap_or_default();
                checked.warnings.push(format!(
                    "`{qualified}` has no subresource `{sub}`{suggestion}; its subresources are {}",
                    crate::words::quoted_list(&names)
                ));
            }
        }
        Lookup::Unknown(suggestion) => {
            // A type of another group (`pods.apps`): the name meant is the type itself.
            let elsewhere = group.and_then(|_| match known.resolve(name, None) {
                Lookup::Known(found) if found.group.is_empty() => Some(format!(
                    " (`{}` is in the core group: name it without a group, `{}`)",
                    found.name, found.name
                )),
                Lookup::Known(found) => Some(format!(" (did you mean `{}`?)", found.qualified())),
                _ => None,
            });
            let suggestion = elsewhere
                .or_else(|| {
                    suggestion.map(|close| match group {
                        Some(group) => format!(" (did you mean `{close}.{group}`?)"),
                        None => format!(" (did you mean `{close}`?)"),
                    })
                })
                .unwrap_or_default();
            checked.warnings.push(match group {
                Some(group) => format!(
                    "the API group `{group}` has no resource type `{name}`{suggestion}"
                ),
                None => format!(
                    "`{name}` is not a built-in resource type or short name{suggestion}; a custom resource is named with its group: `TYPE.GROUP`"
                ),
            });
        }
    }
    checked
}

/// Parses `kubectl auth can-i`'s resource argument: `TYPE`, `TYPE.GROUP`, `TYPE/NAME`, `*`, or
/// a non-resource URL (`/healthz`), resolved against `known`. `namespace` is the namespace asked about (`None` for
/// `--all-namespaces`); it is dropped for cluster-scoped types. Unknown types are taken as
/// namespaced types of the core group, as kubectl does after its warning.
pub fn parse_request_in(
    known: &KnownResources,
    verb: &str,
    resource: &str,
    subresource: Option<&str>,
    namespace: Option<&str>,
) -> Request {
    if resource.starts_with('/') {
        return Request {
            verb: verb.to_string(),
            api_group: String::new(),
            resource: resource.to_string(),
            subresource: String::new(),
            name: String::new(),
            namespace: None,
        };
    }
    let (kind, name) = resource.split_once('/').unwrap_or((resource, ""));
    let (kind, explicit_group) = match kind.split_once('.') {
        Some((kind, group)) => (kind, Some(group)),
        None => (kind, None),
    };
    let lowered = kind.to_ascii_lowercase();
    let (plural, group, namespaced) = match known.resolve(kind, explicit_group) {
        Lookup::Known(found) => (found.name.clone(), found.group.clone(), found.namespaced),
        Lookup::CustomGroup | Lookup::Unknown(_) => (
            lowered.clone(),
            explicit_group
                .unwrap_or(if lowered == "*" { "*" } else { "" })
                .to_string(),
            true,
        ),
    };
    Request {
        verb: verb.to_string(),
        api_group: group,
        resource: plural,
        subresource: subresource.unwrap_or_default().to_string(),
        name: name.to_string(),
        namespace: if namespaced {
            namespace.map(str::to_string)
        } else {
            None
        },
    }
}

/// `parse_request_in` the table of the default Kubernetes version.
pub fn parse_request(
    verb: &str,
    resource: &str,
    subresource: Option<&str>,
    namespace: Option<&str>,
) -> Request {
    parse_request_in(
        KnownResources::builtin(),
        verb,
        resource,
        subresource,
        namespace,
    )
}
