//! The normalized, provider-neutral picture of access: users, roles, groups, policies and what
//! they can reach in each cluster.
//!
//! One `State` type serves both sides of a plan: the desired state built from access.yaml and the
//! live state read from IAM and the clusters (or from a saved snapshot). Ownership travels inside
//! the data as the markers accessctl writes (tags, labels, the group path, the aws-auth
//! annotation), so a snapshot is self-contained and the planner needs nothing else.
//!
//! Everything here is a value: sorted maps and sets, `Serialize + Deserialize`, no I/O.

pub mod access_key;
mod address;
pub mod arn;
pub mod eks_rules;
pub mod policy;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub use access_key::{AccessKey, AccessKeys, Destination, Held, KeyRotation, KeyStatus};
pub use address::{Address, Kind, ParseAddressError};
pub use arn::{AccountId, Arn, IamArn, parse_arn};
pub use policy::{DocumentKind, PolicyDocument};

/// Tag key (IAM) marking an object as owned by accessctl.
pub const MANAGED_BY_TAG: &str = "managed-by";
/// Tag value (IAM) and label value (Kubernetes) marking ownership.
pub const MANAGED_BY_VALUE: &str = "accessctl";
/// Label key (Kubernetes) marking an object as owned by accessctl.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// IAM groups take no tags: a group under this path is owned.
pub const DEFAULT_GROUP_PATH: &str = "/accessctl/";
/// IAM returns no policy tags in any bulk call: a customer policy under this path is owned.
pub const DEFAULT_POLICY_PATH: &str = "/accessctl/";

/// The ownership predicates, defined once: what marks an object as accessctl's.
pub mod owned {
    use std::collections::BTreeMap;

    use super::{MANAGED_BY_TAG, MANAGED_BY_VALUE};

    /// IAM users, roles and OIDC providers, and EKS access entries: the `managed-by` tag.
    pub fn by_tags(tags: &BTreeMap<String, String>) -> bool {
        tags.get(MANAGED_BY_TAG).map(String::as_str) == Some(MANAGED_BY_VALUE)
    }

    /// IAM groups (which take no tags): exactly the owned group path.
    pub fn group_path(path: &str, owned: &str) -> bool {
        path == owned
    }

    /// Customer policies (IAM lists no policy tags in bulk): the owned policy path or below.
    pub fn policy_path(path: &str, owned: &str) -> bool {
        path.starts_with(owned)
    }
}
/// Annotation on the aws-auth ConfigMap listing, as a JSON array, the ARNs accessctl manages.
pub const AWS_AUTH_MANAGED_ANNOTATION: &str = "accessctl.io/managed-entries";
/// ServiceAccount annotation read by the EKS Pod Identity webhook for IRSA.
pub const IRSA_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// EKS access-entry tag recording the IAM role's unique id when accessctl created the entry: EKS
/// does not report it, and a recreated role (same ARN, new id) silently breaks the entry.
pub const PRINCIPAL_ID_TAG: &str = "accessctl.io/principal-id";
/// Snapshot and desired-state format version.
pub const STATE_FORMAT_VERSION: u32 = 1;

/// Kubernetes groups that mark an aws-auth entry as a node role: never touched without a flag.
pub const NODE_GROUPS: [&str; 2] = ["system:bootstrappers", "system:nodes"];

/// The whole picture, desired or live. A missing field takes its value from [`State::default`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct State {
    /// Always [`STATE_FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The AWS account: the file's `account:` on the desired side, the caller's on the live side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The AWS partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: String,
    /// Who reads live state (from STS). Live side only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<Caller>,
    pub iam: Iam,
    /// By the cluster name used in access.yaml.
    pub clusters: BTreeMap<String, Cluster>,
}

impl Default for State {
    fn default() -> Self {
        State {
            format_version: STATE_FORMAT_VERSION,
            account: None,
            partition: default_partition(),
            caller: None,
            iam: Iam::default(),
            clusters: BTreeMap::new(),
        }
    }
}

pub fn default_partition() -> String {
    "aws".to_string()
}

/// The identity that runs accessctl, from `sts:GetCallerIdentity`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caller {
    pub account: String,
    /// As STS returns it: `arn:aws:iam::1:user/x` or `arn:aws:sts::1:assumed-role/R/session`.
    pub arn: String,
}

impl Caller {
    /// The IAM principal ARN that cluster mappings name for this caller: an assumed-role
    /// session maps back to its role (`arn:aws:iam::1:role/R`), since that is what aws-auth and
    /// access entries hold. Role paths are not in the session ARN; callers match on the name.
    pub fn principal_arn(&self) -> String {
        match IamArn::parse(&self.arn) {
            Some(arn) => arn.principal().to_string(),
            None => self.arn.clone(),
        }
    }
}

/// Everything accessctl reads and writes in IAM, by name. A missing section is empty.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Iam {
    /// Customer-managed policies, by name.
    pub policies: BTreeMap<String, Policy>,
    pub groups: BTreeMap<String, Group>,
    pub users: BTreeMap<String, User>,
    pub roles: BTreeMap<String, Role>,
    /// IAM OIDC identity providers, by issuer host and path (`oidc.eks.us-east-1.amazonaws.com/id/X`).
    pub oidc_providers: BTreeMap<String, OidcProvider>,
    /// Access keys of the users that declare `accessKeys`, by user name: their declaration
    /// (desired) or their keys and what their destinations hold (live). Other users' keys are
    /// read only by `accessctl drift`, which lists them as unmanaged grants.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub access_keys: BTreeMap<String, AccessKeys>,
}

impl Iam {
    /// The users in group `name`, from the users' `groups` (where a state records membership).
    pub fn members(&self, name: &str) -> BTreeSet<String> {
        self.users
            .iter()
            .filter(|(_, user)| user.groups.contains(name))
            .map(|(user, _)| user.clone())
            .collect()
    }
}

/// A customer-managed policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default = "root_path")]
    pub path: String,
    /// IAM cannot change a policy's description: a change means replace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The default version's document.
    pub document: PolicyDocument,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// An IAM group. Ownership: the path (IAM groups have no tags). A missing field takes its
/// value from [`Group::default`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Group {
    pub path: String,
    /// Managed policy ARNs attached to the group.
    pub managed_policies: BTreeSet<String>,
    /// Inline policies by name.
    pub inline_policies: BTreeMap<String, PolicyDocument>,
    /// The users in the group, as a plan shows them. A state records membership once, on the
    /// users (`User::groups`, as IAM reports it), and leaves this empty; the planner fills it
    /// in the group objects of its changes, where apply reads it (`members - mallory` takes
    /// a member the file does not declare out of a group accessctl owns).
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub members: BTreeSet<String>,
}

/// An IAM user. A missing field takes its value from [`User::default`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct User {
    pub path: String,
    /// Group names.
    pub groups: BTreeSet<String>,
    pub managed_policies: BTreeSet<String>,
    pub inline_policies: BTreeMap<String, PolicyDocument>,
    /// Permissions boundary policy ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// A group at the root path, holding nothing.
impl Default for Group {
    fn default() -> Self {
        Group {
            path: root_path(),
            managed_policies: BTreeSet::new(),
            inline_policies: BTreeMap::new(),
            members: BTreeSet::new(),
        }
    }
}

/// A user at the root path, in no group, holding nothing, untagged.
impl Default for User {
    fn default() -> Self {
        User {
            path: root_path(),
            groups: BTreeSet::new(),
            managed_policies: BTreeSet::new(),
            inline_policies: BTreeMap::new(),
            permissions_boundary: None,
            tags: BTreeMap::new(),
        }
    }
}

/// An IAM role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// IAM cannot move a role to another path: a change means replace.
    #[serde(default = "root_path")]
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Seconds, 3600 to 43200.
    #[serde(default = "default_max_session")]
    pub max_session_duration: u32,
    /// The assume-role (trust) policy.
    pub trust: PolicyDocument,
    #[serde(default)]
    pub managed_policies: BTreeSet<String>,
    #[serde(default)]
    pub inline_policies: BTreeMap<String, PolicyDocument>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// IAM's unique id (`AROA…`). Live side only; never compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
}

/// Which IAM principal kind holds policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HolderKind {
    User,
    Group,
    Role,
}

impl HolderKind {
    /// `user`, `group`, `role`: as messages and access.yaml name the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            HolderKind::User => "user",
            HolderKind::Group => "group",
            HolderKind::Role => "role",
        }
    }

    /// `users`, `groups`, `roles`: the access.yaml and state sections.
    pub fn section(self) -> &'static str {
        match self {
            HolderKind::User => "users",
            HolderKind::Group => "groups",
            HolderKind::Role => "roles",
        }
    }
}

/// The parts users, groups and roles share: the policies they hold (attached managed policies,
/// inline policies, the permissions boundary) and their tags. Every loop over these parts
/// (the spec builder, the executors, the projection, insight, drift, lint) is written once,
/// over this trait. Groups take neither a boundary nor tags in IAM.
pub trait PolicyHolder {
    fn holder_kind(&self) -> HolderKind;
    /// Managed policy ARNs attached.
    fn managed_policies(&self) -> &BTreeSet<String>;
    fn managed_policies_mut(&mut self) -> &mut BTreeSet<String>;
    /// Inline policies by name.
    fn inline_policies(&self) -> &BTreeMap<String, PolicyDocument>;
    /// The permissions boundary policy ARN; never one for a group.
    fn permissions_boundary(&self) -> Option<&String> {
        None
    }
    /// The tags; `None` for a group, which IAM does not tag.
    fn tags(&self) -> Option<&BTreeMap<String, String>> {
        None
    }
}

macro_rules! policy_holder {
    ($type:ty, $kind:ident $(, $boundary_and_tags:ident)?) => {
        impl PolicyHolder for $type {
            fn holder_kind(&self) -> HolderKind {
                HolderKind::$kind
            }
            fn managed_policies(&self) -> &BTreeSet<String> {
                &self.managed_policies
            }
            fn managed_policies_mut(&mut self) -> &mut BTreeSet<String> {
                &mut self.managed_policies
            }
            fn inline_policies(&self) -> &BTreeMap<String, PolicyDocument> {
                &self.inline_policies
            }
            $(policy_holder!(@$boundary_and_tags);)?
        }
    };
    (@boundary_and_tags) => {
        fn permissions_boundary(&self) -> Option<&String> {
            self.permissions_boundary.as_ref()
        }
        fn tags(&self) -> Option<&BTreeMap<String, String>> {
            Some(&self.tags)
        }
    };
}

policy_holder!(User, User, boundary_and_tags);
policy_holder!(Group, Group);
policy_holder!(Role, Role, boundary_and_tags);

impl Iam {
    /// Every user, group and role, with its name.
    pub fn holders(&self) -> impl Iterator<Item = (&String, &dyn PolicyHolder)> {
        let users = self.users.iter().map(|(n, h)| (n, h as &dyn PolicyHolder));
        let groups = self.groups.iter().map(|(n, h)| (n, h as &dyn PolicyHolder));
        let roles = self.roles.iter().map(|(n, h)| (n, h as &dyn PolicyHolder));
        users.chain(groups).chain(roles)
    }

    /// Every user, group and role, to change what it holds.
    pub fn holders_mut(&mut self) -> impl Iterator<Item = &mut dyn PolicyHolder> {
        let users = self.users.values_mut().map(|h| h as &mut dyn PolicyHolder);
        let groups = self.groups.values_mut().map(|h| h as &mut dyn PolicyHolder);
        let roles = self.roles.values_mut().map(|h| h as &mut dyn PolicyHolder);
        users.chain(groups).chain(roles)
    }
}

/// An IAM OpenID Connect provider (IRSA).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcProvider {
    /// Audiences (client ids); IRSA needs `sts.amazonaws.com`.
    pub client_ids: BTreeSet<String>,
    pub tags: BTreeMap<String, String>,
}

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

pub fn root_path() -> String {
    "/".to_string()
}

pub fn default_max_session() -> u32 {
    3600
}

/// The desired state plus what the file says about taking over existing objects.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Desired {
    pub state: State,
    /// Objects marked `adopt: true` in access.yaml.
    pub adopt: BTreeSet<Address>,
    /// IAM groups under this path are owned (IAM groups take no tags).
    pub group_path: String,
    /// Customer policies under this path (or below it) are owned: IAM returns no policy tags
    /// in bulk, so the path is the marker that costs no extra call.
    pub policy_path: String,
}

/// Tags, labels or annotations from `(key, value)` pairs: for tests.
#[cfg(test)]
pub(crate) fn string_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// `https://oidc.eks…/id/X` → `oidc.eks…/id/X`.
pub fn issuer_host_path(issuer: &str) -> &str {
    issuer
        .strip_prefix("https://")
        .unwrap_or(issuer)
        .trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An assumed-role session maps back to its role; a user is itself, path included.
    #[test]
    fn callers_map_to_their_principal() {
        let cases = [
            (
                "arn:aws:sts::111122223333:assumed-role/deployer/ci-session",
                "arn:aws:iam::111122223333:role/deployer",
            ),
            (
                "arn:aws:iam::111122223333:user/ops/alice",
                "arn:aws:iam::111122223333:user/ops/alice",
            ),
            (
                "arn:aws:iam::111122223333:user/alice",
                "arn:aws:iam::111122223333:user/alice",
            ),
        ];
        for (arn, principal) in cases {
            let caller = Caller {
                account: "111122223333".into(),
                arn: arn.into(),
            };
            assert_eq!(caller.principal_arn(), principal, "{arn}");
        }
    }

    #[test]
    fn arn_parts() {
        let arn = parse_arn("arn:aws:iam::123456789012:role/path/name").expect("an ARN");
        assert_eq!(arn.service, "iam");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.resource, "role/path/name");
        assert!(parse_arn("role/name").is_none());
        assert!(parse_arn("arn:aws").is_none());
    }
}
