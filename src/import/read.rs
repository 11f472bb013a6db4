//! The live read for `import`: every namespace, RBAC object and ServiceAccount of one cluster,
//! not only the ones accessctl owns or a file names (which is all a plan needs, and all
//! [`kube::read_cluster`](crate::kube::read_cluster) reads). One unfiltered LIST per kind.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::rbac::v1 as rbac;
use kube::ResourceExt;
use kube::api::{Api, ListParams};

use crate::kube::read::{Scoped, binding, meta, rules};
use crate::kube::{ClusterClient, KubeError};
use crate::model::{Cluster, ClusterRole, K8sRole, Namespace, ServiceAccount};

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
    cluster.cluster_roles = by_key(&cluster_roles, |o| ClusterRole {
        meta: meta(&o.metadata),
        rules: rules(o.rules.as_deref()),
    });
    cluster.roles = by_key(&roles, |o| K8sRole {
        meta: meta(&o.metadata),
        rules: rules(o.rules.as_deref()),
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
