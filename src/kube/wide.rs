//! Wide reads: what a plan's read (which brings only what accessctl owns or a file names, see
//! [`read_cluster`](super::read_cluster)) leaves out. `drift` reads every binding of
//! `cluster-admin`. (`import` and `--live` insight read everything with
//! [`ReadScope::Everything`](crate::model::ReadScope).)

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1 as rbac;
use kube::api::{Api, ListParams};

use super::read::binding;
use super::{ClusterClient, KubeError};
use crate::drift::CLUSTER_ADMIN;
use crate::model::Binding;

/// Every ClusterRoleBinding and RoleBinding of a cluster that binds `cluster-admin`: the live
/// read only brings the ones accessctl owns or the file names.
pub async fn read_cluster_admin_bindings(
    client: &ClusterClient,
) -> Result<(BTreeMap<String, Binding>, BTreeMap<String, Binding>), KubeError> {
    let params = ListParams::default();
    let cluster_bindings: Api<rbac::ClusterRoleBinding> = Api::all(client.client().clone());
    let role_bindings: Api<rbac::RoleBinding> = Api::all(client.client().clone());
    let (cluster_list, role_list) = tokio::try_join!(
        client.call("LIST clusterrolebindings", || cluster_bindings
            .list(&params)),
        client.call("LIST rolebindings", || role_bindings.list(&params)),
    )?;
    let convert =
        |metadata: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
         role_ref: &rbac::RoleRef,
         subjects: Option<&[rbac::Subject]>| { binding(metadata, role_ref, subjects) };
    let is_admin =
        |role_ref: &rbac::RoleRef| role_ref.kind == "ClusterRole" && role_ref.name == CLUSTER_ADMIN;
    let clusters = cluster_list
        .items
        .iter()
        .filter(|object| is_admin(&object.role_ref))
        .map(|object| {
            (
                object.metadata.name.clone().unwrap_or_default(),
                convert(
                    &object.metadata,
                    &object.role_ref,
                    object.subjects.as_deref(),
                ),
            )
        })
        .collect();
    let namespaced = role_list
        .items
        .iter()
        .filter(|object| is_admin(&object.role_ref))
        .map(|object| {
            (
                format!(
                    "{}/{}",
                    object.metadata.namespace.clone().unwrap_or_default(),
                    object.metadata.name.clone().unwrap_or_default()
                ),
                convert(
                    &object.metadata,
                    &object.role_ref,
                    object.subjects.as_deref(),
                ),
            )
        })
        .collect();
    Ok((clusters, namespaced))
}
