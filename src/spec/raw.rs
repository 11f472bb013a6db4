//! access.yaml as written: every value with its place in the file, nothing resolved yet.
//! Filled by `decode`, checked by `validate`, turned into the model by `build`.

use crate::model::{AuthenticationMode, DEFAULT_POLICY_PATH, Kind};

use super::node::{Located, Location, Node};
use super::validate::limits::{self, Quota};
use super::validate::names::IamName;

pub type Text = Located<String>;
/// A key → value pair of tags, labels or annotations.
pub type Pair = (Text, Text);

#[derive(Debug, Default)]
pub struct Spec<'n> {
    pub version: Option<Located<i128>>,
    pub account: Option<Text>,
    pub partition: Option<Text>,
    pub assume_role: Option<AssumeRoleSpec>,
    /// `limits`: the IAM quotas raised in this account, as written (key, value).
    pub limits: Vec<(Text, Located<i128>)>,
    pub iam: IamSpec<'n>,
    pub clusters: Vec<ClusterSpec>,
    /// `acknowledged`: the account's grants outside the file that may stay.
    pub acknowledged: Vec<AcknowledgedSpec>,
    /// Kinds (`user`, `cluster`, …) whose declarations could not be read (their section is
    /// misspelt or not a map): a reference to one is not reported again as unknown.
    pub unsure: std::collections::BTreeSet<&'static str>,
    /// Declarations whose body could not be read (already reported), by kind and name: they
    /// are declared all the same.
    pub unreadable: Vec<(&'static str, String)>,
}

/// `assumeRole`: the role to reach the account through.
#[derive(Debug)]
pub struct AssumeRoleSpec {
    pub arn: Option<Text>,
    pub external_id: Option<Text>,
    pub session_name: Option<Text>,
}

#[derive(Debug, Default)]
pub struct IamSpec<'n> {
    pub group_path: Option<Text>,
    pub policy_path: Option<Text>,
    pub policies: Vec<PolicySpec<'n>>,
    pub groups: Vec<GroupSpec<'n>>,
    pub users: Vec<UserSpec<'n>>,
    pub roles: Vec<RoleSpec<'n>>,
}

impl IamSpec<'_> {
    /// The path customer policies are created and owned under: `policyPath`, or the default.
    pub fn policy_path(&self) -> &str {
        self.policy_path
            .as_ref()
            .map_or(DEFAULT_POLICY_PATH, |path| path.value.as_str())
    }
}

/// Where a policy document comes from.
#[derive(Debug)]
pub enum DocumentSpec<'n> {
    Inline(&'n Node),
    /// A path relative to access.yaml.
    File(Text),
}

#[derive(Debug)]
pub struct PolicySpec<'n> {
    pub name: Text,
    pub document: Option<DocumentSpec<'n>>,
    pub description: Option<Text>,
    pub path: Option<Text>,
    pub tags: Vec<Pair>,
    pub adopt: bool,
}

/// An inline policy: name and document.
pub type InlineSpec<'n> = (Text, &'n Node);

/// A group, user or role: the policy-holding parts the three kinds share (attached and inline
/// policies, permissions boundary, tags, adoption), decoded and validated by one path, and
/// what the kind has of its own in `own`, read through as if it were the holder's
/// (`user.path`, `role.trust`).
#[derive(Debug)]
pub struct HolderSpec<'n, K> {
    pub name: Text,
    /// References to customer (`name`) or AWS-managed (`aws:name`) policies, or their ARNs.
    pub policies: Vec<Text>,
    pub inline: Vec<InlineSpec<'n>>,
    /// Never set on a group: IAM groups have none, and `permissionsBoundary` is not a group key.
    pub permissions_boundary: Option<Text>,
    /// Never set on a group: IAM groups take no tags, and `tags` is not a group key.
    pub tags: Vec<Pair>,
    pub adopt: bool,
    pub own: K,
}

impl<K> std::ops::Deref for HolderSpec<'_, K> {
    type Target = K;

    fn deref(&self) -> &K {
        &self.own
    }
}

/// What tells one kind of holder from the others, for the shared decoder and validator.
pub trait HolderKind {
    /// `group`, `user`, `role`: in messages, and the kind an unreadable one is declared as.
    const KIND: &'static str;
    /// The section of `iam` that declares them.
    const SECTION: &'static str;
    /// The keys a body may have, the shared ones included.
    const KEYS: &'static [&'static str];
    /// The IAM rule its name follows.
    const NAME: IamName;
    /// The kind of its address (`iam.group.…`).
    const ADDRESS: Kind;
    /// IAM's quota of managed policies attached to one.
    const MANAGED_POLICIES: &'static Quota;
    /// IAM's quota of the inline policies' total size.
    const POLICY_SIZE: &'static Quota;
}

pub type GroupSpec<'n> = HolderSpec<'n, GroupOwn>;
pub type UserSpec<'n> = HolderSpec<'n, UserOwn>;
pub type RoleSpec<'n> = HolderSpec<'n, RoleOwn<'n>>;

/// A group has nothing of its own: its path is `iam.groupPath`, its members say they are.
#[derive(Debug)]
pub struct GroupOwn;

#[derive(Debug)]
pub struct UserOwn {
    pub path: Option<Text>,
    pub groups: Vec<Text>,
    pub access_keys: Option<AccessKeysSpec>,
}

/// `accessKeys` of a user: the rotation, and the clusters its Secrets are in (checked against
/// the file's clusters when the state is built).
#[derive(Debug)]
pub struct AccessKeysSpec {
    pub rotation: crate::model::KeyRotation,
    pub secret_clusters: Vec<Text>,
}

#[derive(Debug)]
pub struct RoleOwn<'n> {
    pub path: Option<Text>,
    pub description: Option<Text>,
    pub max_session_duration: Option<Located<i128>>,
    pub trust: Option<TrustSpec<'n>>,
}

impl HolderKind for GroupOwn {
    const KIND: &'static str = "group";
    const SECTION: &'static str = "groups";
    const KEYS: &'static [&'static str] = &["policies", "inline", "adopt"];
    const NAME: IamName = IamName::Group;
    const ADDRESS: Kind = Kind::Group;
    const MANAGED_POLICIES: &'static Quota = &limits::MANAGED_POLICIES_PER_GROUP;
    const POLICY_SIZE: &'static Quota = &limits::GROUP_POLICY_SIZE;
}

impl HolderKind for UserOwn {
    const KIND: &'static str = "user";
    const SECTION: &'static str = "users";
    const KEYS: &'static [&'static str] = &[
        "path",
        "groups",
        "policies",
        "inline",
        "permissionsBoundary",
        "tags",
        "adopt",
        "accessKeys",
    ];
    const NAME: IamName = IamName::User;
    const ADDRESS: Kind = Kind::User;
    const MANAGED_POLICIES: &'static Quota = &limits::MANAGED_POLICIES_PER_USER;
    const POLICY_SIZE: &'static Quota = &limits::USER_POLICY_SIZE;
}

impl HolderKind for RoleOwn<'_> {
    const KIND: &'static str = "role";
    const SECTION: &'static str = "roles";
    const KEYS: &'static [&'static str] = &[
        "path",
        "description",
        "maxSessionDuration",
        "trust",
        "policies",
        "inline",
        "permissionsBoundary",
        "tags",
        "adopt",
    ];
    const NAME: IamName = IamName::Role;
    const ADDRESS: Kind = Kind::Role;
    const MANAGED_POLICIES: &'static Quota = &limits::MANAGED_POLICIES_PER_ROLE;
    const POLICY_SIZE: &'static Quota = &limits::ROLE_POLICY_SIZE;
}

/// `trust:` — a raw document, or the sugar keys.
#[derive(Debug, Default)]
pub struct TrustSpec<'n> {
    pub document: Option<&'n Node>,
    pub accounts: Vec<Text>,
    pub services: Vec<Text>,
    pub roles: Vec<Text>,
    pub users: Vec<Text>,
    /// `cluster/namespace/name`.
    pub service_accounts: Vec<Text>,
    /// `githubActions` and `gitlab` items, in file order.
    pub federated: Vec<FederatedSpec>,
    /// `gitlabIssuer`: a self-managed GitLab's URL (default `https://gitlab.com`).
    pub gitlab_issuer: Option<Text>,
}

/// A CI system whose OIDC tokens a trust may accept (`githubActions`, `gitlab`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CiSystem {
    GithubActions,
    Gitlab,
}

/// What part of a repository may assume the role: the claim `sub` names one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CiScope {
    /// GitHub: a full ref (`refs/heads/main`); GitLab: a branch name.
    Ref,
    /// GitHub: a deployment environment.
    Environment,
    /// GitLab: a tag name.
    Tag,
}

/// One item of `githubActions` or `gitlab`: a repository (GitLab: project) and what of it may
/// assume the role. Decoding reports a missing repository, a missing scope or two scopes.
#[derive(Debug)]
pub struct FederatedSpec {
    pub system: CiSystem,
    pub repository: Text,
    pub scope: (CiScope, Text),
}

#[derive(Debug)]
pub struct ClusterSpec {
    pub name: Text,
    pub region: Option<Text>,
    pub context: Option<Text>,
    pub authentication: Located<AuthenticationMode>,
    pub oidc_issuer: Option<Text>,
    pub access: Vec<AccessSpec>,
    pub namespaces: Vec<NamespaceSpec>,
    pub cluster_roles: Vec<RbacRoleSpec>,
    /// Keys are `namespace/name`.
    pub roles: Vec<RbacRoleSpec>,
    pub bindings: Vec<BindingSpec>,
    /// Keys are `namespace/name`.
    pub service_accounts: Vec<ServiceAccountSpec>,
    /// `acknowledged`: the cluster's grants outside the file that may stay.
    pub acknowledged: Vec<AcknowledgedSpec>,
    /// The cluster has a key that is not a known one (reported where it is): a misspelt
    /// `clusterRoles`, `roles` or `namespaces` may hold what its other keys refer to, so such
    /// references are not reported as unknown too.
    pub unsure: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    User,
    Role,
    Arn,
    Account,
    /// An IAM Identity Center permission set: its role is found in live IAM.
    SsoPermissionSet,
}

impl PrincipalKind {
    pub fn key(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Role => "role",
            PrincipalKind::Arn => "arn",
            PrincipalKind::Account => "account",
            PrincipalKind::SsoPermissionSet => "ssoPermissionSet",
        }
    }
}

#[derive(Debug)]
pub struct AccessSpec {
    pub principal: Option<(PrincipalKind, Text)>,
    pub username: Option<Text>,
    pub groups: Vec<Text>,
    /// The `accessPolicies` key, when present.
    pub access_policies_at: Option<Location>,
    pub access_policies: Vec<AccessPolicySpec>,
    pub adopt: bool,
}

#[derive(Debug)]
pub struct AccessPolicySpec {
    pub policy: Text,
    /// `None`: the whole cluster.
    pub namespaces: Option<Vec<Text>>,
}

#[derive(Debug, Default)]
pub struct MetaSpec {
    pub labels: Vec<Pair>,
    pub annotations: Vec<Pair>,
}

#[derive(Debug)]
pub struct NamespaceSpec {
    pub name: Text,
    pub meta: MetaSpec,
    pub adopt: bool,
}

#[derive(Debug)]
pub struct RbacRoleSpec {
    pub name: Text,
    pub rules: Vec<RuleSpec>,
    pub meta: MetaSpec,
    pub adopt: bool,
}

#[derive(Debug, Default)]
pub struct RuleSpec {
    pub at: Location,
    pub api_groups: Option<Vec<Text>>,
    pub resources: Option<Vec<Text>>,
    pub verbs: Option<Vec<Text>>,
    pub resource_names: Option<Vec<Text>>,
    pub non_resource_urls: Option<Vec<Text>>,
}

#[derive(Debug)]
pub struct BindingSpec {
    pub name: Text,
    pub cluster_role: Option<Text>,
    pub role: Option<Text>,
    pub users: Vec<Text>,
    pub groups: Vec<Text>,
    pub service_accounts: Vec<Text>,
    pub meta: MetaSpec,
    pub adopt: bool,
}

#[derive(Debug)]
pub struct ServiceAccountSpec {
    pub name: Text,
    pub iam_role: Option<Text>,
    /// `podIdentity`: the role an EKS Pod Identity association gives the ServiceAccount.
    pub pod_identity: Option<Text>,
    pub meta: MetaSpec,
    pub adopt: bool,
}

/// One item of `acknowledged`: `{grant, reason}`, each reported where missing by `decode`.
#[derive(Debug)]
pub struct AcknowledgedSpec {
    pub grant: Text,
    pub reason: Text,
}
