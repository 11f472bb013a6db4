//! The cluster half of the model: how a cluster authenticates IAM principals (aws-auth, EKS
//! access entries, Pod Identity) and the Kubernetes objects accessctl manages in it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Kind, MANAGED_BY_LABEL, MANAGED_BY_VALUE, NODE_GROUPS};

/// How a cluster authenticates IAM principals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthenticationMode {
    /// The aws-auth ConfigMap only (EKS `CONFIG_MAP`).
    #[default]
    ConfigMap,
    /// EKS access entries only (EKS `API`).
    AccessEntries,
    /// Both (EKS `API_AND_CONFIG_MAP`).
    Both,
}

impl AuthenticationMode {
    pub fn uses_config_map(self) -> bool {
        matches!(self, Self::ConfigMap | Self::Both)
    }
    pub fn uses_access_entries(self) -> bool {
        matches!(self, Self::AccessEntries | Self::Both)
    }
}

/// One cluster: its access mappings and the Kubernetes objects accessctl manages. A missing
/// field takes its value from [`Cluster::default`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Cluster {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The EKS cluster name when it differs from the key in access.yaml.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eks_name: Option<String>,
    /// kubeconfig context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    pub authentication: AuthenticationMode,
    /// OIDC issuer URL (`https://oidc.eks.<region>.amazonaws.com/id/<ID>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_issuer: Option<String>,
    /// The aws-auth ConfigMap; `None` when it does not exist (live) or is not used (desired).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_auth: Option<AwsAuth>,
    /// EKS access entries by principal ARN.
    pub access_entries: BTreeMap<String, AccessEntry>,
    pub namespaces: BTreeMap<String, Namespace>,
    pub cluster_roles: BTreeMap<String, RbacRole>,
    /// Namespaced Roles by `namespace/name`.
    pub roles: BTreeMap<String, RbacRole>,
    pub cluster_role_bindings: BTreeMap<String, Binding>,
    /// RoleBindings by `namespace/name`.
    pub role_bindings: BTreeMap<String, Binding>,
    /// ServiceAccounts by `namespace/name`.
    pub service_accounts: BTreeMap<String, ServiceAccount>,
    /// EKS Pod Identity associations by `namespace/name` of their ServiceAccount.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_identity: BTreeMap<String, PodIdentityAssociation>,
}

/// The aws-auth ConfigMap in kube-system, parsed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AwsAuth {
    /// `mapRoles`, `mapUsers` and `mapAccounts` entries in file order.
    pub entries: Vec<AwsAuthEntry>,
    /// ARNs (or account ids) whose entries accessctl manages, from the ConfigMap's annotation.
    pub managed: BTreeSet<String>,
    /// Live side only: kept for the compare-and-swap update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// Live side only: what EKS reads differently from what the ConfigMap seems to say (a
    /// list that does not parse, a data key in the wrong case, a repeated ARN, …), for the
    /// commands that read it to show. Not part of a snapshot.
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// Live side only: the lists that are not YAML (or not a list). EKS maps nothing from
    /// them, and accessctl does not write into them.
    #[serde(skip)]
    pub unreadable: BTreeSet<MapKind>,
}

/// Which list of aws-auth an entry lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MapKind {
    MapRoles,
    MapUsers,
    MapAccounts,
}

/// One aws-auth entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsAuthEntry {
    pub kind: MapKind,
    /// `rolearn` / `userarn`, or the account id for `mapAccounts`.
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

impl AwsAuthEntry {
    /// Node roles map to `system:bootstrappers` / `system:nodes`: never touched without a flag.
    pub fn is_node_role(&self) -> bool {
        self.groups
            .iter()
            .any(|g| NODE_GROUPS.contains(&g.as_str()))
    }
}

/// An EKS access entry (authentication modes `API` and `API_AND_CONFIG_MAP`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessEntry {
    /// `STANDARD`, `EC2_LINUX`, `FARGATE_LINUX`, … Only `STANDARD` entries are ever managed.
    #[serde(default = "standard_entry", rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default)]
    pub groups: BTreeSet<String>,
    /// Access policy ARN → scope.
    #[serde(default)]
    pub policies: BTreeMap<String, AccessScope>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The IAM role's unique id when the entry was created (from the
    /// [`PRINCIPAL_ID_TAG`] tag, which is not kept in `tags`). Live side only; never compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
}

/// An EKS Pod Identity association: pods running as one ServiceAccount get an IAM role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodIdentityAssociation {
    pub role_arn: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// EKS's id (`a-…`). Live side only; never compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub association_id: Option<String>,
}

fn standard_entry() -> String {
    "STANDARD".to_string()
}

/// Where an access policy applies.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum AccessScope {
    Cluster,
    Namespace { namespaces: BTreeSet<String> },
}

/// Labels and annotations: the metadata accessctl compares. Only the keys the file sets (plus
/// the ownership label) take part in a diff; others belong to someone else.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Meta {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Meta {
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.annotations.is_empty()
    }

    /// Kubernetes objects: the `app.kubernetes.io/managed-by` label.
    pub fn is_owned(&self) -> bool {
        self.labels.get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY_VALUE)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Namespace {
    #[serde(skip_serializing_if = "Meta::is_empty")]
    pub meta: Meta,
}

/// One RBAC rule. Lists are kept sorted and free of duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyRule {
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub api_groups: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub resources: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub resource_names: BTreeSet<String>,
    #[serde(
        default,
        rename = "nonResourceURLs",
        skip_serializing_if = "BTreeSet::is_empty"
    )]
    pub non_resource_urls: BTreeSet<String>,
    pub verbs: BTreeSet<String>,
}

/// A ClusterRole or a namespaced Role: the same object, rules and metadata. Its scope is where
/// it is kept (`Cluster::cluster_roles`, or `Cluster::roles` by `namespace/name`) and the kind
/// of its address (`Kind::ClusterRole`, `Kind::K8sRole`); the JSON form is the same for both.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RbacRole {
    #[serde(skip_serializing_if = "Meta::is_empty")]
    pub meta: Meta,
    /// Sorted, without duplicates: rule order has no meaning to the authorizer.
    pub rules: BTreeSet<PolicyRule>,
    /// ClusterRoles only: the roles whose rules Kubernetes' aggregation controller gathers
    /// into this one (its own `rules` are overwritten). Read from the cluster when everything
    /// is read ([`ReadScope::Everything`](super::ReadScope)) and from the built-in roles;
    /// access.yaml cannot declare one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregation_rule: Option<AggregationRule>,
}

/// A ClusterRole's `aggregationRule`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct AggregationRule {
    /// A ClusterRole whose labels match any of these is aggregated.
    pub cluster_role_selectors: Vec<LabelSelector>,
}

/// A Kubernetes label selector: every `matchLabels` pair and every expression must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One `matchExpressions` item: `In`, `NotIn`, `Exists` or `DoesNotExist`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabelSelectorRequirement {
    pub key: String,
    pub operator: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

impl LabelSelector {
    /// Does the selector match these labels, as `metav1.LabelSelectorAsSelector` decides? An
    /// empty selector matches everything; an unknown operator matches nothing.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(key, value)| labels.get(key) == Some(value))
            && self.match_expressions.iter().all(|requirement| {
                let value = labels.get(&requirement.key);
                match requirement.operator.as_str() {
                    "In" => value.is_some_and(|v| requirement.values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !requirement.values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RoleRefKind {
    ClusterRole,
    Role,
}

/// What a binding grants. Immutable in Kubernetes: a change means replace.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRef {
    pub kind: RoleRefKind,
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SubjectKind {
    User,
    Group,
    ServiceAccount,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    pub kind: SubjectKind,
    pub name: String,
    /// ServiceAccount subjects only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl Subject {
    /// A subject as the Kubernetes API writes it (`kind`, `name`, `namespace`); `None` for a
    /// kind RBAC does not know. Only a ServiceAccount keeps its namespace.
    pub fn from_api(kind: &str, name: &str, namespace: Option<&str>) -> Option<Subject> {
        let kind = match kind {
            "User" => SubjectKind::User,
            "Group" => SubjectKind::Group,
            "ServiceAccount" => SubjectKind::ServiceAccount,
            _ => return None,
        };
        Some(Subject {
            kind,
            name: name.to_string(),
            namespace: namespace
                .filter(|_| kind == SubjectKind::ServiceAccount)
                .map(str::to_string),
        })
    }
}

impl RoleRefKind {
    /// A `roleRef.kind` as the Kubernetes API writes it: `Role`, else a ClusterRole.
    pub fn from_api(kind: &str) -> RoleRefKind {
        if kind == "Role" {
            RoleRefKind::Role
        } else {
            RoleRefKind::ClusterRole
        }
    }
}

/// A ClusterRoleBinding or RoleBinding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    #[serde(default, skip_serializing_if = "Meta::is_empty")]
    pub meta: Meta,
    pub role_ref: RoleRef,
    #[serde(default)]
    pub subjects: BTreeSet<Subject>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceAccount {
    /// IRSA: the `eks.amazonaws.com/role-arn` annotation lives in `meta.annotations`.
    #[serde(skip_serializing_if = "Meta::is_empty")]
    pub meta: Meta,
}

/// The Kubernetes objects accessctl writes (namespaces, RBAC roles, bindings, ServiceAccounts):
/// their ownership, and the keys the file controls, are in their metadata.
pub trait KubeObject {
    fn meta(&self) -> &Meta;
    fn meta_mut(&mut self) -> &mut Meta;
}

macro_rules! kube_object {
    ($($type:ty),*) => {
        $(impl KubeObject for $type {
            fn meta(&self) -> &Meta {
                &self.meta
            }
            fn meta_mut(&mut self) -> &mut Meta {
                &mut self.meta
            }
        })*
    };
}

kube_object!(Namespace, RbacRole, Binding, ServiceAccount);

impl Cluster {
    /// Every Kubernetes object of the cluster accessctl writes (namespaces, RBAC roles and
    /// bindings, ServiceAccounts), with its kind and key.
    pub fn kube_objects(&self) -> impl Iterator<Item = (Kind, &String, &dyn KubeObject)> {
        fn of<T: KubeObject>(
            kind: Kind,
            objects: &BTreeMap<String, T>,
        ) -> impl Iterator<Item = (Kind, &String, &dyn KubeObject)> {
            objects
                .iter()
                .map(move |(key, object)| (kind, key, object as &dyn KubeObject))
        }
        of(Kind::Namespace, &self.namespaces)
            .chain(of(Kind::ClusterRole, &self.cluster_roles))
            .chain(of(Kind::K8sRole, &self.roles))
            .chain(of(Kind::ClusterRoleBinding, &self.cluster_role_bindings))
            .chain(of(Kind::RoleBinding, &self.role_bindings))
            .chain(of(Kind::ServiceAccount, &self.service_accounts))
    }
}
