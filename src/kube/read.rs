//! The live read of one cluster: the objects accessctl manages or the file names, and aws-auth;
//! or, in [`ReadScope::Everything`], every object of the kinds read.
//!
//! Requests: one label-selected LIST per kind (`app.kubernetes.io/managed-by=accessctl`), all
//! concurrently, plus the aws-auth GET. Declared objects that the LIST did not return are either
//! missing or unowned; both matter to the plan (create, or refuse unless adopted). They are
//! looked up by a GET each when there are few ([`GET_LIMIT`]), else by one unfiltered LIST of
//! the kind: a few small concurrent GETs cost the server less than listing every RoleBinding of
//! a large shared cluster, and past the limit the one LIST wins. A plan with no changes
//! therefore makes exactly one request per kind plus the ConfigMap GET; a first apply of many
//! objects at most two LISTs per kind. Reading everything (`--live` insight, `snapshot --all`,
//! `import`) is one unfiltered LIST per kind plus the ConfigMap GET.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use futures_util::future::try_join_all;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::rbac::v1 as rbac;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;

use super::client::ClusterClient;
use super::error::{KubeError, KubeErrorKind};
use super::{AWS_AUTH_NAME, AWS_AUTH_NAMESPACE, aws_auth};
use crate::model::{
    AggregationRule, AwsAuth, Binding, Cluster, MANAGED_BY_LABEL, MANAGED_BY_VALUE, Meta,
    Namespace, PolicyRule, RbacRole, ReadScope, RoleRef, RoleRefKind, ServiceAccount, Subject,
};

/// Up to this many declared-but-not-owned objects of a kind are looked up by GET; more, by one
/// unfiltered LIST.
pub const GET_LIMIT: usize = 8;

/// Annotations that are never part of the model: kubectl's copy of the whole object, which
/// accessctl must not take co-ownership of when it applies labels and annotations back.
const IGNORED_ANNOTATIONS: [&str; 1] = ["kubectl.kubernetes.io/last-applied-configuration"];

/// The label selector of owned objects.
pub fn owned_selector() -> String {
    format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}")
}

/// Reads the cluster-side live state that `desired` (one cluster of the desired state) needs
/// for a plan, or every object of the kinds read (`scope`). Region, EKS name and authentication
/// mode are copied from `desired`: they come from EKS, not from the Kubernetes API; access
/// entries are left to the EKS reader.
pub async fn read_cluster(
    client: &ClusterClient,
    desired: &Cluster,
    scope: ReadScope,
) -> Result<Cluster, KubeError> {
    let names = |keys: Vec<&String>| Wanted {
        scope,
        declared: keys.into_iter().cloned().collect(),
    };
    let (
        namespaces,
        cluster_roles,
        roles,
        cluster_role_bindings,
        role_bindings,
        service_accounts,
        aws_auth,
    ) = tokio::try_join!(
        read_kind::<core::Namespace>(client, names(desired.namespaces.keys().collect())),
        read_kind::<rbac::ClusterRole>(client, names(desired.cluster_roles.keys().collect())),
        read_kind::<rbac::Role>(client, names(desired.roles.keys().collect())),
        read_kind::<rbac::ClusterRoleBinding>(
            client,
            names(desired.cluster_role_bindings.keys().collect())
        ),
        read_kind::<rbac::RoleBinding>(client, names(desired.role_bindings.keys().collect())),
        read_kind::<core::ServiceAccount>(client, names(desired.service_accounts.keys().collect())),
        read_aws_auth(client),
    )?;
    Ok(Cluster {
        region: desired.region.clone(),
        eks_name: desired.eks_name.clone(),
        context: Some(client.context.clone()),
        authentication: desired.authentication,
        oidc_issuer: None,
        aws_auth,
        access_entries: BTreeMap::new(),
        pod_identity: BTreeMap::new(),
        namespaces: convert(namespaces, |object| Namespace {
            meta: meta(&object.metadata),
        }),
        // The aggregation rule is read for insight only: a plan does not compare it
        // (access.yaml cannot declare one, and the controller's rules are what the authorizer
        // reads).
        cluster_roles: convert(cluster_roles, |object| RbacRole {
            meta: meta(&object.metadata),
            rules: rules(object.rules.as_deref()),
            aggregation_rule: (scope == ReadScope::Everything)
                .then(|| aggregation_rule(object))
                .flatten(),
        }),
        roles: convert(roles, |object| RbacRole {
            meta: meta(&object.metadata),
            rules: rules(object.rules.as_deref()),
            aggregation_rule: None,
        }),
        cluster_role_bindings: convert(cluster_role_bindings, |object| {
            binding(
                &object.metadata,
                &object.role_ref,
                object.subjects.as_deref(),
            )
        }),
        role_bindings: convert(role_bindings, |object| {
            binding(
                &object.metadata,
                &object.role_ref,
                object.subjects.as_deref(),
            )
        }),
        service_accounts: convert(service_accounts, |object| ServiceAccount {
            meta: meta(&object.metadata),
        }),
    })
}

/// A ClusterRole's `aggregationRule`: the API's JSON form is the model's.
fn aggregation_rule(object: &rbac::ClusterRole) -> Option<AggregationRule> {
    let value = serde_json::to_value(object.aggregation_rule.as_ref()?).ok()?;
    serde_json::from_value(value).ok()
}

/// `namespace/name` for namespaced objects, `name` otherwise: the model's keys.
fn key_of<K: ResourceExt>(object: &K) -> String {
    match object.namespace() {
        Some(namespace) => format!("{namespace}/{}", object.name_any()),
        None => object.name_any(),
    }
}

fn convert<K: ResourceExt, T>(objects: Vec<K>, make: impl Fn(&K) -> T) -> BTreeMap<String, T> {
    objects
        .iter()
        .map(|object| (key_of(object), make(object)))
        .collect()
}

/// The plural of a kind, for messages.
fn plural<K: Resource<DynamicType = ()>>() -> String {
    K::plural(&()).into_owned()
}

/// The kinds accessctl reads, with the API of one namespace (or the cluster).
pub trait Scoped: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug {
    fn api(client: kube::Client, namespace: Option<&str>) -> Api<Self>;
}

macro_rules! scoped {
    (namespaced: $($namespaced:ty),*; cluster: $($cluster:ty),*) => {
        $(impl Scoped for $namespaced {
            fn api(client: kube::Client, namespace: Option<&str>) -> Api<Self> {
                match namespace {
                    Some(namespace) => Api::namespaced(client, namespace),
                    None => Api::all(client),
                }
            }
        })*
        $(impl Scoped for $cluster {
            fn api(client: kube::Client, _: Option<&str>) -> Api<Self> {
                Api::all(client)
            }
        })*
    };
}

scoped!(
    namespaced: rbac::Role, rbac::RoleBinding, core::ServiceAccount, core::ConfigMap;
    cluster: core::Namespace, rbac::ClusterRole, rbac::ClusterRoleBinding
);

/// What to read of a kind: everything, or the owned objects and the declared ones (by model key).
struct Wanted {
    scope: ReadScope,
    declared: BTreeSet<String>,
}

/// Every object of a kind (one unfiltered LIST).
async fn list_all<K: Scoped>(client: &ClusterClient, all: &Api<K>) -> Result<Vec<K>, KubeError> {
    let params = ListParams::default();
    Ok(client
        .call(&format!("LIST {}", plural::<K>()), || all.list(&params))
        .await?
        .items)
}

/// Owned objects of a kind, plus the declared ones that exist unowned; or all of them.
async fn read_kind<K>(client: &ClusterClient, wanted: Wanted) -> Result<Vec<K>, KubeError>
where
    K: Scoped,
{
    let all: Api<K> = Api::all(client.client().clone());
    if wanted.scope == ReadScope::Everything {
        return list_all(client, &all).await;
    }
    let declared = wanted.declared;
    let selector = owned_selector();
    let owned_params = ListParams::default().labels(&selector);
    let mut objects = client
        .call(&format!("LIST {} -l {selector}", plural::<K>()), || {
            all.list(&owned_params)
        })
        .await?
        .items;
    let found: BTreeSet<String> = objects.iter().map(key_of).collect();
    let missing: Vec<String> = declared.difference(&found).cloned().collect();
    if missing.is_empty() {
        return Ok(objects);
    }
    if missing.len() > GET_LIMIT {
        let missing: BTreeSet<String> = missing.into_iter().collect();
        let everything = list_all(client, &all).await?;
        objects.extend(
            everything
                .into_iter()
                .filter(|object| missing.contains(&key_of(object))),
        );
        return Ok(objects);
    }
    let lookups = missing.iter().map(|key| async move {
        let (namespace, name) = match key.split_once('/') {
            Some((namespace, name)) => (Some(namespace), name),
            None => (None, key.as_str()),
        };
        let api = K::api(client.client().clone(), namespace);
        client
            .call(&format!("GET {} {key}", plural::<K>()), || {
                api.get_opt(name)
            })
            .await
    });
    objects.extend(try_join_all(lookups).await?.into_iter().flatten());
    Ok(objects)
}

/// The aws-auth ConfigMap, `None` when it does not exist.
async fn read_aws_auth(client: &ClusterClient) -> Result<Option<AwsAuth>, KubeError> {
    let api: Api<core::ConfigMap> = Api::namespaced(client.client().clone(), AWS_AUTH_NAMESPACE);
    let call = format!("GET configmaps {AWS_AUTH_NAMESPACE}/{AWS_AUTH_NAME}");
    let Some(config_map) = client.call(&call, || api.get_opt(AWS_AUTH_NAME)).await? else {
        return Ok(None);
    };
    let data = config_map.data.clone().unwrap_or_default();
    let annotations = config_map.metadata.annotations.clone().unwrap_or_default();
    aws_auth::parse(
        &data,
        &annotations,
        config_map.metadata.resource_version.clone(),
    )
    .map(Some)
    .map_err(|error| aws_auth_error(client, &error))
}

pub(super) fn aws_auth_error(client: &ClusterClient, error: &aws_auth::AwsAuthError) -> KubeError {
    KubeError::new(
        KubeErrorKind::Data,
        format!(
            "cluster `{}` (context `{}`): {error}",
            client.cluster, client.context
        ),
    )
    .with_hint(format!(
        "the aws-iam-authenticator cannot read it either; fix it with `kubectl --context {} edit -n {AWS_AUTH_NAMESPACE} configmap/{AWS_AUTH_NAME}`",
        client.context
    ))
}

/// Labels and annotations, without the ones that are never compared.
pub fn meta(metadata: &ObjectMeta) -> Meta {
    let mut annotations = metadata.annotations.clone().unwrap_or_default();
    for ignored in IGNORED_ANNOTATIONS {
        annotations.remove(ignored);
    }
    Meta {
        labels: metadata.labels.clone().unwrap_or_default(),
        annotations,
    }
}

/// Rules as sets: order and duplicates mean nothing to the authorizer.
pub fn rules(rules: Option<&[rbac::PolicyRule]>) -> BTreeSet<PolicyRule> {
    let set = |values: &Option<Vec<String>>| -> BTreeSet<String> {
        values.iter().flatten().cloned().collect()
    };
    rules
        .unwrap_or_default()
        .iter()
        .map(|rule| PolicyRule {
            api_groups: set(&rule.api_groups),
            resources: set(&rule.resources),
            resource_names: set(&rule.resource_names),
            non_resource_urls: set(&rule.non_resource_urls),
            verbs: rule.verbs.iter().cloned().collect(),
        })
        .collect()
}

pub fn binding(
    metadata: &ObjectMeta,
    role_ref: &rbac::RoleRef,
    subjects: Option<&[rbac::Subject]>,
) -> Binding {
    Binding {
        meta: meta(metadata),
        role_ref: RoleRef {
            kind: RoleRefKind::from_api(&role_ref.kind),
            name: role_ref.name.clone(),
        },
        subjects: subjects
            .unwrap_or_default()
            .iter()
            .filter_map(|subject| {
                Subject::from_api(&subject.kind, &subject.name, subject.namespace.as_deref())
            })
            .collect(),
    }
}
