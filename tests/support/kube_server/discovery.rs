//! Discovery documents: `/version`, `/api`, `/api/v1`, `/apis` and the RBAC group, listing
//! only the hosted resources and the verbs they serve.

use serde_json::{Value, json};

use super::resources::{COORDINATION_GROUP, RBAC_GROUP, RESOURCES, STABLE_GROUP};

const VERBS: [&str; 6] = ["create", "delete", "get", "list", "patch", "update"];

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

/// The named groups served, each at `v1`.
pub const GROUPS: [&str; 3] = [RBAC_GROUP, COORDINATION_GROUP, STABLE_GROUP];

fn group(name: &str) -> Value {
    json!({
        "name": name,
        "versions": [{"groupVersion": format!("{name}/v1"), "version": "v1"}],
        "preferredVersion": {"groupVersion": format!("{name}/v1"), "version": "v1"},
    })
}

pub fn group_list() -> Value {
    let groups: Vec<Value> = GROUPS.iter().map(|name| group(name)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// The `APIGroup` document of `/apis/{name}`.
pub fn named_group(name: &str) -> Value {
    let mut document = group(name);
    document["kind"] = json!("APIGroup");
    document["apiVersion"] = json!("v1");
    document
}

/// The short names of a hosted type (the built-in ones', as `kubectl api-resources` lists
/// them; the custom resource's from its CustomResourceDefinition).
fn short_names(plural: &str) -> Option<&'static [&'static str]> {
    match plural {
        "namespaces" => Some(&["ns"]),
        "configmaps" => Some(&["cm"]),
        "serviceaccounts" => Some(&["sa"]),
        "crontabs" => Some(&["ct"]),
        _ => None,
    }
}

/// The `APIResourceList` of a group version (`v1` or `rbac.authorization.k8s.io/v1`).
pub fn resource_list(group: &str, version: &str) -> Value {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|resource| resource.group == group && resource.version == version)
        .map(|resource| {
            let mut document = json!({
                "name": resource.plural,
                "singularName": resource.singular,
                "namespaced": resource.namespaced,
                "kind": resource.kind,
                "verbs": VERBS,
            });
            // `shortNames` is left out when there are none, as the API server does.
            if let Some(short) = short_names(resource.plural) {
                document["shortNames"] = json!(short);
            }
            document
        })
        .collect();
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
}
