//! The executor of a plan's cluster changes, one per cluster.
//!
//! RBAC objects, namespaces and service accounts are written by server-side apply (field
//! manager `accessctl`, `force`): the object carries every label and annotation the plan's
//! `after` holds, so keys someone else set are co-owned, not taken, and keys the plan drops are
//! removed with a merge patch (server-side apply alone would leave them to their other owners).
//! A binding whose `roleRef` changes is deleted then applied, as the API forbids the update.
//!
//! The aws-auth unit (every aws-auth change of the cluster) is one compare-and-swap: GET, merge
//! ([`super::aws_auth::merge`], byte for byte for what accessctl does not manage), PUT with the
//! resourceVersion read; on 409 Conflict (or AlreadyExists when creating it) re-read, re-merge
//! and retry. The edits are idempotent, so a write retried after a dropped connection is safe.
//!
//! Every call goes through [`ClusterClient::call`]: 429 (Retry-After honoured), 5xx and dropped
//! connections are retried within its bound, other errors fail fast naming the call and object.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::rbac::v1 as rbac;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde::Serialize;
use serde_json::{Map, Value};

use super::client::ClusterClient;
use super::error::{KubeError, KubeErrorKind};
use super::read::{Scoped, aws_auth_error};
use super::{AWS_AUTH_NAME, AWS_AUTH_NAMESPACE, FIELD_MANAGER, aws_auth};
use crate::apply::{ApplyError, Executor};
use crate::model::{
    AWS_AUTH_MANAGED_ANNOTATION, Binding, Meta, PolicyRule, RoleRefKind, SubjectKind,
};
use crate::plan::{Action, Change, Kind, Object};

/// Conflicts tolerated on the aws-auth compare-and-swap before giving up.
pub const AWS_AUTH_ATTEMPTS: u32 = 10;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Applies the cluster changes of one cluster.
#[derive(Clone, Debug)]
pub struct ClusterExecutor {
    client: ClusterClient,
}

impl ClusterExecutor {
    pub fn new(client: ClusterClient) -> Self {
        ClusterExecutor { client }
    }

    pub fn client(&self) -> &ClusterClient {
        &self.client
    }

    /// Applies one unit, as [`Executor::execute`], with the cluster-side error.
    pub async fn run(&self, unit: &[Change]) -> Result<(), KubeError> {
        let Some(first) = unit.first() else {
            return Ok(());
        };
        for change in unit {
            if change.address.cluster.as_deref() != Some(self.client.cluster.as_str()) {
                return Err(KubeError::new(
                    KubeErrorKind::Data,
                    format!(
                        "`{}` was sent to the executor of cluster `{}`",
                        change.address, self.client.cluster
                    ),
                ));
            }
        }
        if first.address.kind == Kind::AwsAuth {
            return self.aws_auth(unit).await;
        }
        for change in unit {
            self.change(change).await?;
        }
        Ok(())
    }

    async fn change(&self, change: &Change) -> Result<(), KubeError> {
        match change.address.kind {
            Kind::Namespace => self.object::<core::Namespace>(change).await,
            Kind::ClusterRole => self.object::<rbac::ClusterRole>(change).await,
            Kind::K8sRole => self.object::<rbac::Role>(change).await,
            Kind::ClusterRoleBinding => self.object::<rbac::ClusterRoleBinding>(change).await,
            Kind::RoleBinding => self.object::<rbac::RoleBinding>(change).await,
            Kind::ServiceAccount => self.object::<core::ServiceAccount>(change).await,
            Kind::AccessEntry | Kind::PodIdentity => Err(KubeError::new(
                KubeErrorKind::Data,
                format!(
                    "`{}` is an EKS object: it is applied through the EKS API, not the cluster's",
                    change.address
                ),
            )),
            Kind::AwsAuth => self.aws_auth(std::slice::from_ref(change)).await,
            Kind::Policy
            | Kind::Group
            | Kind::User
            | Kind::Role
            | Kind::OidcProvider
            | Kind::AccessKey => Err(KubeError::new(
                KubeErrorKind::Data,
                format!(
                    "`{}` is an IAM object, not a cluster object",
                    change.address
                ),
            )),
        }
    }

    /// Create, update, adopt, replace or delete one object of type `K`.
    async fn object<K>(&self, change: &Change) -> Result<(), KubeError>
    where
        K: Scoped + Serialize,
    {
        let (namespace, name) = match change.address.name.split_once('/') {
            Some((namespace, name)) if namespaced(change.address.kind) => (Some(namespace), name),
            _ => (None, change.address.name.as_str()),
        };
        let api = K::api(self.client.client().clone(), namespace);
        let what = format!("{} {}", K::plural(&()), change.address.name);
        if matches!(change.action, Action::Delete | Action::Replace) {
            let call = format!("DELETE {what}");
            let params = DeleteParams::default();
            let deleted = self.client.call(&call, || api.delete(name, &params)).await;
            match deleted {
                Err(error) if error.status() == Some(404) => {}
                other => {
                    other?;
                }
            }
            if change.action == Action::Delete {
                return Ok(());
            }
        }
        let Some(after) = &change.after else {
            return Err(KubeError::new(
                KubeErrorKind::Data,
                format!(
                    "`{}`: a {:?} change without the object to write",
                    change.address, change.action
                ),
            ));
        };
        let body = manifest(change.address.kind, namespace, name, after)?;
        let call = format!("PATCH (server-side apply) {what}");
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let patch = Patch::Apply(&body);
        self.client
            .call(&call, || api.patch(name, &params, &patch))
            .await?;
        // Keys the plan drops (the IRSA annotation when `iamRole` goes) may be co-owned by a
        // manager that set them before adoption: remove them explicitly.
        let removal = match (&change.before, change.action) {
            (Some(before), Action::Update | Action::Adopt) => {
                removed_keys(meta_of(before), meta_of(after))
            }
            _ => None,
        };
        if let Some(removal) = removal {
            let call = format!("PATCH (merge) {what}");
            let params = PatchParams {
                field_manager: Some(FIELD_MANAGER.to_string()),
                ..PatchParams::default()
            };
            let patch = Patch::Merge(&removal);
            self.client
                .call(&call, || api.patch(name, &params, &patch))
                .await?;
        }
        Ok(())
    }

    /// The aws-auth compare-and-swap (see the module comment).
    async fn aws_auth(&self, unit: &[Change]) -> Result<(), KubeError> {
        let edits = aws_auth::edits(unit)
            .map_err(|message| KubeError::new(KubeErrorKind::Data, message))?;
        let api: Api<core::ConfigMap> =
            Api::namespaced(self.client.client().clone(), AWS_AUTH_NAMESPACE);
        let object = format!("configmaps {AWS_AUTH_NAMESPACE}/{AWS_AUTH_NAME}");
        for _ in 0..AWS_AUTH_ATTEMPTS {
            let current = self
                .client
                .call(&format!("GET {object}"), || api.get_opt(AWS_AUTH_NAME))
                .await?;
            let params = PostParams {
                field_manager: Some(FIELD_MANAGER.to_string()),
                ..PostParams::default()
            };
            let written = match current {
                None => {
                    let merged = aws_auth::merge(&BTreeMap::new(), &BTreeMap::new(), &edits)
                        .map_err(|error| aws_auth_error(&self.client, &error))?;
                    let config_map = core::ConfigMap {
                        metadata: ObjectMeta {
                            name: Some(AWS_AUTH_NAME.to_string()),
                            namespace: Some(AWS_AUTH_NAMESPACE.to_string()),
                            annotations: Some(BTreeMap::from([(
                                AWS_AUTH_MANAGED_ANNOTATION.to_string(),
                                merged.managed_annotation,
                            )])),
                            ..ObjectMeta::default()
                        },
                        data: Some(merged.data),
                        ..core::ConfigMap::default()
                    };
                    self.client
                        .call(&format!("POST {object}"), || {
                            api.create(&params, &config_map)
                        })
                        .await
                }
                Some(mut config_map) => {
                    let data = config_map.data.clone().unwrap_or_default();
                    let mut annotations =
                        config_map.metadata.annotations.clone().unwrap_or_default();
                    let merged = aws_auth::merge(&data, &annotations, &edits)
                        .map_err(|error| aws_auth_error(&self.client, &error))?;
                    let unchanged_annotation = annotations
                        .get(AWS_AUTH_MANAGED_ANNOTATION)
                        .is_some_and(|text| *text == merged.managed_annotation);
                    if merged.data == data && unchanged_annotation {
                        // Already as planned: a retry after a write whose answer was lost.
                        return Ok(());
                    }
                    annotations.insert(
                        AWS_AUTH_MANAGED_ANNOTATION.to_string(),
                        merged.managed_annotation,
                    );
                    config_map.metadata.annotations = Some(annotations);
                    config_map.data = Some(merged.data);
                    // resourceVersion stays as read: the PUT is the compare-and-swap.
                    self.client
                        .call(&format!("PUT {object}"), || {
                            api.replace(AWS_AUTH_NAME, &params, &config_map)
                        })
                        .await
                }
            };
            match written {
                Ok(_) => return Ok(()),
                // Conflict on PUT, AlreadyExists on POST: someone else wrote first.
                Err(error) if error.status() == Some(409) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(KubeError::new(
            KubeErrorKind::GaveUp,
            format!(
                "cluster `{}` (context `{}`): PUT {object}: still conflicting after {AWS_AUTH_ATTEMPTS} re-reads",
                self.client.cluster, self.client.context
            ),
        )
        .with_hint("something rewrites aws-auth continuously (a controller?); find it, then run apply again"))
    }
}

impl Executor for ClusterExecutor {
    async fn execute(&self, unit: &[Change]) -> Result<(), ApplyError> {
        self.run(unit).await.map_err(ApplyError::from)
    }
}

/// Routes each unit to the executor of its cluster.
#[derive(Clone, Debug, Default)]
pub struct ClusterExecutors {
    pub clusters: BTreeMap<String, ClusterExecutor>,
}

impl Executor for ClusterExecutors {
    async fn execute(&self, unit: &[Change]) -> Result<(), ApplyError> {
        let Some(first) = unit.first() else {
            return Ok(());
        };
        let cluster = first.address.cluster.as_deref().unwrap_or_default();
        match self.clusters.get(cluster) {
            Some(executor) => executor.execute(unit).await,
            None => Err(ApplyError::new(format!(
                "`{}`: no connection to cluster `{cluster}`",
                first.address
            ))),
        }
    }
}

fn namespaced(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::K8sRole | Kind::RoleBinding | Kind::ServiceAccount
    )
}

fn meta_of(object: &Object) -> Option<&Meta> {
    match object {
        Object::Namespace(namespace) => Some(&namespace.meta),
        Object::RbacRole(role) => Some(&role.meta),
        Object::Binding(binding) => Some(&binding.meta),
        Object::ServiceAccount(account) => Some(&account.meta),
        _ => None,
    }
}

/// A merge patch setting to null the labels and annotations `before` has and `after` lacks.
fn removed_keys(before: Option<&Meta>, after: Option<&Meta>) -> Option<Value> {
    let (before, after) = (before?, after?);
    let gone =
        |was: &BTreeMap<String, String>, is: &BTreeMap<String, String>| -> Map<String, Value> {
            was.keys()
                .filter(|key| !is.contains_key(*key))
                .map(|key| (key.clone(), Value::Null))
                .collect()
        };
    let labels = gone(&before.labels, &after.labels);
    let annotations = gone(&before.annotations, &after.annotations);
    if labels.is_empty() && annotations.is_empty() {
        return None;
    }
    let mut metadata = Map::new();
    if !labels.is_empty() {
        metadata.insert("labels".to_string(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        metadata.insert("annotations".to_string(), Value::Object(annotations));
    }
    Some(serde_json::json!({ "metadata": metadata }))
}

fn object_meta(namespace: Option<&str>, name: &str, meta: &Meta) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        labels: (!meta.labels.is_empty()).then(|| meta.labels.clone()),
        annotations: (!meta.annotations.is_empty()).then(|| meta.annotations.clone()),
        ..ObjectMeta::default()
    }
}

fn k8s_rules(rules: &std::collections::BTreeSet<PolicyRule>) -> Vec<rbac::PolicyRule> {
    let list = |set: &std::collections::BTreeSet<String>| {
        (!set.is_empty()).then(|| set.iter().cloned().collect::<Vec<_>>())
    };
    rules
        .iter()
        .map(|rule| rbac::PolicyRule {
            api_groups: list(&rule.api_groups),
            resources: list(&rule.resources),
            resource_names: list(&rule.resource_names),
            non_resource_urls: list(&rule.non_resource_urls),
            verbs: rule.verbs.iter().cloned().collect(),
        })
        .collect()
}

fn role_ref(binding: &Binding) -> rbac::RoleRef {
    rbac::RoleRef {
        api_group: Some(RBAC_GROUP.to_string()),
        kind: match binding.role_ref.kind {
            RoleRefKind::ClusterRole => "ClusterRole",
            RoleRefKind::Role => "Role",
        }
        .to_string(),
        name: binding.role_ref.name.clone(),
    }
}

fn subjects(binding: &Binding) -> Vec<rbac::Subject> {
    binding
        .subjects
        .iter()
        .map(|subject| {
            let (kind, api_group) = match subject.kind {
                SubjectKind::User => ("User", Some(RBAC_GROUP.to_string())),
                SubjectKind::Group => ("Group", Some(RBAC_GROUP.to_string())),
                SubjectKind::ServiceAccount => ("ServiceAccount", None),
            };
            rbac::Subject {
                kind: kind.to_string(),
                api_group,
                name: subject.name.clone(),
                namespace: subject.namespace.clone(),
            }
        })
        .collect()
}

/// The full object accessctl applies for `object`, as JSON with apiVersion and kind.
pub fn manifest(
    kind: Kind,
    namespace: Option<&str>,
    name: &str,
    object: &Object,
) -> Result<Value, KubeError> {
    let value = match (kind, object) {
        (Kind::Namespace, Object::Namespace(namespace_object)) => {
            serde_json::to_value(core::Namespace {
                metadata: object_meta(None, name, &namespace_object.meta),
                ..core::Namespace::default()
            })
        }
        (Kind::ClusterRole, Object::RbacRole(role)) => serde_json::to_value(rbac::ClusterRole {
            metadata: object_meta(None, name, &role.meta),
            rules: Some(k8s_rules(&role.rules)),
            ..rbac::ClusterRole::default()
        }),
        (Kind::K8sRole, Object::RbacRole(role)) => serde_json::to_value(rbac::Role {
            metadata: object_meta(namespace, name, &role.meta),
            rules: Some(k8s_rules(&role.rules)),
        }),
        (Kind::ClusterRoleBinding, Object::Binding(binding)) => {
            serde_json::to_value(rbac::ClusterRoleBinding {
                metadata: object_meta(None, name, &binding.meta),
                role_ref: role_ref(binding),
                subjects: Some(subjects(binding)),
            })
        }
        (Kind::RoleBinding, Object::Binding(binding)) => serde_json::to_value(rbac::RoleBinding {
            metadata: object_meta(namespace, name, &binding.meta),
            role_ref: role_ref(binding),
            subjects: Some(subjects(binding)),
        }),
        (Kind::ServiceAccount, Object::ServiceAccount(account)) => {
            serde_json::to_value(core::ServiceAccount {
                metadata: object_meta(namespace, name, &account.meta),
                ..core::ServiceAccount::default()
            })
        }
        _ => {
            return Err(KubeError::new(
                KubeErrorKind::Data,
                format!("a {kind:?} change carries another kind of object"),
            ));
        }
    };
    value.map_err(|error| KubeError::new(KubeErrorKind::Data, error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Namespace, ServiceAccount};

    #[test]
    fn dropped_keys_become_nulls() {
        let before = Meta {
            labels: BTreeMap::from([("a".into(), "1".into())]),
            annotations: BTreeMap::from([
                ("eks.amazonaws.com/role-arn".into(), "arn".into()),
                ("keep".into(), "x".into()),
            ]),
        };
        let after = Meta {
            labels: before.labels.clone(),
            annotations: BTreeMap::from([("keep".into(), "x".into())]),
        };
        assert_eq!(
            removed_keys(Some(&before), Some(&after)),
            Some(
                serde_json::json!({"metadata": {"annotations": {"eks.amazonaws.com/role-arn": null}}})
            )
        );
        assert_eq!(removed_keys(Some(&after), Some(&after)), None);
    }

    #[test]
    fn manifests_carry_kind_and_metadata() {
        let account = Object::ServiceAccount(ServiceAccount {
            meta: Meta {
                labels: BTreeMap::new(),
                annotations: BTreeMap::from([(
                    "eks.amazonaws.com/role-arn".into(),
                    "arn:r".into(),
                )]),
            },
        });
        let value = manifest(Kind::ServiceAccount, Some("ns"), "sa", &account).expect("manifest");
        assert_eq!(value["kind"], "ServiceAccount");
        assert_eq!(value["apiVersion"], "v1");
        assert_eq!(value["metadata"]["namespace"], "ns");
        assert_eq!(
            value["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
            "arn:r"
        );
        let mismatch = manifest(
            Kind::ClusterRole,
            None,
            "x",
            &Object::Namespace(Namespace::default()),
        );
        assert!(mismatch.is_err());
    }
}
