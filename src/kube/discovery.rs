//! API discovery: the resource types a cluster serves (`/api`, `/apis` and each group's
//! preferred version), with their short and singular names, custom resources included. The
//! same resolver checks a question against it as against the table of a Kubernetes version.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;

use super::{ClusterClient, KubeError};
use crate::insight::rbac::{Discovered, KnownResources};

/// The resources of one discovery document.
fn resources(list: &APIResourceList) -> Vec<Discovered> {
    list.resources
        .iter()
        .map(|resource| {
            let mut aliases = resource.short_names.clone().unwrap_or_default();
            if !resource.singular_name.is_empty() {
                aliases.push(resource.singular_name.clone());
            }
            Discovered {
                name: resource.name.clone(),
                aliases,
                namespaced: resource.namespaced,
            }
        })
        .collect()
}

/// Reads the cluster's discovery: the core group's first version, then every named group's
/// preferred version (else its first), one GET each.
pub async fn known_resources(client: &ClusterClient) -> Result<KnownResources, KubeError> {
    let kube = client.client();
    let mut groups: Vec<(String, Vec<Discovered>)> = Vec::new();
    let core = client
        .call("GET /api", || kube.list_core_api_versions())
        .await?;
    if let Some(version) = core.versions.first() {
        let list = client
            .call(&format!("GET /api/{version}"), || {
                kube.list_core_api_resources(version)
            })
            .await?;
        groups.push((String::new(), resources(&list)));
    }
    let named = client.call("GET /apis", || kube.list_api_groups()).await?;
    for group in &named.groups {
        let Some(version) = group
            .preferred_version
            .as_ref()
            .or_else(|| group.versions.first())
        else {
            continue;
        };
        let group_version = &version.group_version;
        let list = client
            .call(&format!("GET /apis/{group_version}"), || {
                kube.list_api_group_resources(group_version)
            })
            .await?;
        groups.push((group.name.clone(), resources(&list)));
    }
    Ok(KnownResources::from_discovery(groups))
}
