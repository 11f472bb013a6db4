//! The resources the server hosts: their group, version, kind, plural, scope and the
//! per-resource behaviour of the real registry (name rules, create on update, what a DELETE
//! answers with).

/// How `metadata.name` is validated, as by the real registry's strategy for the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// `ValidateNamespaceName`: an RFC 1123 label.
    DnsLabel,
    /// `NameIsDNSSubdomain` (ConfigMap, ServiceAccount).
    DnsSubdomain,
    /// RBAC's `minimalNameRequirements`: a valid path segment (`system:admin` is fine).
    PathSegment,
}

/// One hosted resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub name_rule: NameRule,
    /// `AllowCreateOnUpdate` of the registry strategy: a PUT of a missing object creates it.
    pub create_on_update: bool,
    /// `ReturnDeletedObject` of the registry store: DELETE answers with the object instead of
    /// a `Status`.
    pub returns_deleted_object: bool,
}

pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
pub const COORDINATION_GROUP: &str = "coordination.k8s.io";
/// The group of the custom resource the server hosts: the `CronTab` of the Kubernetes
/// documentation's CustomResourceDefinition example.
pub const STABLE_GROUP: &str = "stable.example.com";

pub const NAMESPACES: Resource = Resource {
    group: "",
    version: "v1",
    kind: "Namespace",
    plural: "namespaces",
    singular: "namespace",
    namespaced: false,
    name_rule: NameRule::DnsLabel,
    create_on_update: false,
    returns_deleted_object: true,
};

pub const RESOURCES: [Resource; 10] = [
    NAMESPACES,
    Resource {
        group: "",
        version: "v1",
        kind: "Secret",
        plural: "secrets",
        singular: "secret",
        namespaced: true,
        name_rule: NameRule::DnsSubdomain,
        create_on_update: false,
        returns_deleted_object: false,
    },
    Resource {
        group: "",
        version: "v1",
        kind: "ConfigMap",
        plural: "configmaps",
        singular: "configmap",
        namespaced: true,
        name_rule: NameRule::DnsSubdomain,
        create_on_update: false,
        returns_deleted_object: false,
    },
    Resource {
        group: "",
        version: "v1",
        kind: "ServiceAccount",
        plural: "serviceaccounts",
        singular: "serviceaccount",
        namespaced: true,
        name_rule: NameRule::DnsSubdomain,
        create_on_update: false,
        returns_deleted_object: true,
    },
    Resource {
        group: RBAC_GROUP,
        version: "v1",
        kind: "ClusterRole",
        plural: "clusterroles",
        singular: "clusterrole",
        namespaced: false,
        name_rule: NameRule::PathSegment,
        create_on_update: true,
        returns_deleted_object: false,
    },
    Resource {
        group: RBAC_GROUP,
        version: "v1",
        kind: "ClusterRoleBinding",
        plural: "clusterrolebindings",
        singular: "clusterrolebinding",
        namespaced: false,
        name_rule: NameRule::PathSegment,
        create_on_update: true,
        returns_deleted_object: false,
    },
    Resource {
        group: RBAC_GROUP,
        version: "v1",
        kind: "Role",
        plural: "roles",
        singular: "role",
        namespaced: true,
        name_rule: NameRule::PathSegment,
        create_on_update: true,
        returns_deleted_object: false,
    },
    Resource {
        group: RBAC_GROUP,
        version: "v1",
        kind: "RoleBinding",
        plural: "rolebindings",
        singular: "rolebinding",
        namespaced: true,
        name_rule: NameRule::PathSegment,
        create_on_update: true,
        returns_deleted_object: false,
    },
    // The registry's lease strategy: no create on update, DELETE answers with a Status.
    Resource {
        group: COORDINATION_GROUP,
        version: "v1",
        kind: "Lease",
        plural: "leases",
        singular: "lease",
        namespaced: true,
        name_rule: NameRule::DnsSubdomain,
        create_on_update: false,
        returns_deleted_object: false,
    },
    // A custom resource, as the apiextensions server serves one: a PUT never creates, DELETE
    // answers with the object.
    Resource {
        group: STABLE_GROUP,
        version: "v1",
        kind: "CronTab",
        plural: "crontabs",
        singular: "crontab",
        namespaced: true,
        name_rule: NameRule::DnsSubdomain,
        create_on_update: false,
        returns_deleted_object: true,
    },
];

impl Resource {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The group-qualified resource as error messages print it: `configmaps`,
    /// `clusterroles.rbac.authorization.k8s.io`.
    pub fn qualified_resource(&self) -> String {
        qualify(self.plural, self.group)
    }

    /// The group-qualified kind as `Invalid` messages print it: `ConfigMap`,
    /// `RoleBinding.rbac.authorization.k8s.io`.
    pub fn qualified_kind(&self) -> String {
        qualify(self.kind, self.group)
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn is_binding(&self) -> bool {
        self.kind == "RoleBinding" || self.kind == "ClusterRoleBinding"
    }
}

fn qualify(name: &str, group: &str) -> String {
    if group.is_empty() {
        name.to_owned()
    } else {
        format!("{name}.{group}")
    }
}

/// The resource served at `/api/{version}/{plural}` (empty group) or
/// `/apis/{group}/{version}/{plural}`.
pub fn by_path(group: &str, version: &str, plural: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|resource| {
        resource.group == group && resource.version == version && resource.plural == plural
    })
}

/// The resource of an object by its `apiVersion` and `kind`.
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|resource| resource.api_version() == api_version && resource.kind == kind)
}
