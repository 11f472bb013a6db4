//! The IAM half of the model: users, groups, roles, customer policies and OIDC providers, by
//! name, and the policy-holding parts users, groups and roles share ([`PolicyHolder`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{AccessKeys, PolicyDocument};

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

pub fn root_path() -> String {
    "/".to_string()
}

pub fn default_max_session() -> u32 {
    3600
}
