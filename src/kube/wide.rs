//! Wide reads: what a plan's read (which brings only what accessctl owns or a file names, see
//! [`read_cluster`](super::read_cluster)) leaves out. `import` reads every namespace, RBAC
//! object and ServiceAccount of one cluster (one unfiltered LIST per kind); `drift` reads
//! every binding of `cluster-admin`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::rbac::v1 as rbac;
use kube::ResourceExt;
use kube::api::{Api, ListParams};

use super::read::{Scoped, binding, meta, rules};
use super::{ClusterClient, KubeError};
use crate::drift::CLUSTER_ADMIN;
use crate::model::{AggregationRule, Binding, Cluster, Namespace, RbacRole, ServiceAccount};

async fn list<K: Scoped>(client: &ClusterClient) -> Result<Vec<K>, KubeError> {
    let api: Api<K> = Api::all(client.client().clone());
    let params = ListParams::default();
    let plural = K::plural(&()).into_owned();
    Ok(client
        .call(&format!("LIST {plural}"), || api.list(&params))
        .await?
        .items)
}

fn key_of<K: ResourceExt>(object: &K) -> String {
    match object.namespace() {
        Some(namespace) => format!("{namespace}/{}", object.name_any()),
        None => object.name_any(),
    }
}

fn by_key<K: ResourceExt, T>(objects: &[K], make: impl Fn(&K) -> T) -> BTreeMap<String, T> {
    objects.iter().map(|o| (key_of(o), make(o))).collect()
}

/// A ClusterRole's `aggregationRule`: the API's JSON form is the model's.
fn aggregation_rule(object: &rbac::ClusterRole) -> Option<AggregationRule> {
    let value = serde_json::to_value(object.aggregation_rule.as_ref()?).ok()?;
    serde_json::from_value(value).ok()
}

/// Replaces the Kubernetes objects of `cluster` (as a plan read them) with every one there is.
pub async fn read_everything(
    client: &ClusterClient,
    cluster: &mut Cluster,
) -> Result<(), KubeError> {
    let (namespaces, cluster_roles, roles, cluster_role_bindings, role_bindings, accounts) = tokio::try_join!(
        list::<core::Namespace>(client),
        list::<rbac::ClusterRole>(client),
        list::<rbac::Role>(client),
        list::<rbac::ClusterRoleBinding>(client),
        list::<rbac::RoleBinding>(client),
        list::<core::ServiceAccount>(client),
    )?;
    cluster.namespaces = by_key(&namespaces, |o| Namespace {
        meta: meta(&o.metadata),
    });
    cluster.cluster_roles = by_key(&cluster_roles, |o| RbacRole {
        meta: meta(&o.metadata),
        rules: rules(o.rules.as_deref()),
        aggregation_rule: aggregation_rule(o),
    });
    cluster.roles = by_key(&roles, |o| RbacRole {
        meta: meta(&o.metadata),
        rules: rules(o.rules.as_deref()),
        aggregation_rule: None,
    });
    cluster.cluster_role_bindings = by_key(&cluster_role_bindings, |o| {
        binding(&o.metadata, &o.role_ref, o.subjects.as_deref())
    });
    cluster.role_bindings = by_key(&role_bindings, |o| {
        binding(&o.metadata, &o.role_ref, o.subjects.as_deref())
    });
    cluster.service_accounts = by_key(&accounts, |o| ServiceAccount {
        meta: meta(&o.metadata),
    });
    Ok(())
}

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
