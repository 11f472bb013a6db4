//! Decoding `clusters.<name>`: access mappings, namespaces, RBAC and service accounts.

use crate::model::AuthenticationMode;

use super::super::node::{Located, Node, NodeValue};
use super::super::raw::{
    AccessPolicySpec, AccessSpec, BindingSpec, ClusterSpec, MetaSpec, NamespaceSpec, PrincipalKind,
    RbacRoleSpec, RuleSpec, ServiceAccountSpec, Text,
};
use super::super::reader::{Object, Owner, Reader};
use super::strings;

const CLUSTER_KEYS: [&str; 11] = [
    "region",
    "context",
    "authentication",
    "oidcIssuer",
    "access",
    "namespaces",
    "clusterRoles",
    "roles",
    "bindings",
    "serviceAccounts",
    "acknowledged",
];
const ACCESS_KEYS: [&str; 9] = [
    "user",
    "role",
    "arn",
    "account",
    "ssoPermissionSet",
    "username",
    "groups",
    "accessPolicies",
    "adopt",
];
const PRINCIPAL_KEYS: [(&str, PrincipalKind); 5] = [
    ("user", PrincipalKind::User),
    ("role", PrincipalKind::Role),
    ("arn", PrincipalKind::Arn),
    ("account", PrincipalKind::Account),
    ("ssoPermissionSet", PrincipalKind::SsoPermissionSet),
];
const ACCESS_POLICY_KEYS: [&str; 2] = ["policy", "namespaces"];
const META_KEYS: [&str; 3] = ["labels", "annotations", "adopt"];
const RBAC_ROLE_KEYS: [&str; 4] = ["rules", "labels", "annotations", "adopt"];
const RULE_KEYS: [&str; 5] = [
    "apiGroups",
    "resources",
    "verbs",
    "resourceNames",
    "nonResourceURLs",
];
const BINDING_KEYS: [&str; 8] = [
    "clusterRole",
    "role",
    "users",
    "groups",
    "serviceAccounts",
    "labels",
    "annotations",
    "adopt",
];
const SERVICE_ACCOUNT_KEYS: [&str; 5] =
    ["iamRole", "podIdentity", "labels", "annotations", "adopt"];
const AUTHENTICATION_MODES: [(&str, AuthenticationMode); 3] = [
    ("config-map", AuthenticationMode::ConfigMap),
    ("access-entries", AuthenticationMode::AccessEntries),
    ("both", AuthenticationMode::Both),
];

pub fn decode_cluster(reader: &mut Reader<'_>, name: Text, body: &Node) -> Option<ClusterSpec> {
    let object = reader.declaration("cluster", &name, body, &CLUSTER_KEYS)?;
    let authentication = match object.get("authentication") {
        Some(node) => authentication(reader, node),
        None => None,
    }
    .unwrap_or(Located::new(AuthenticationMode::ConfigMap, name.at));
    let named = |reader: &mut Reader<'_>, key: &str| {
        object
            .get(key)
            .map(|node| reader.named(node))
            .unwrap_or_default()
    };
    let access = object
        .get("access")
        .map(|node| {
            reader
                .list(node)
                .iter()
                .filter_map(|item| access_item(reader, &name, item))
                .collect()
        })
        .unwrap_or_default();
    let namespaces = object
        .get("namespaces")
        .map(|node| namespaces(reader, node))
        .unwrap_or_default();
    let cluster_roles = named(reader, "clusterRoles")
        .into_iter()
        .filter_map(|(key, body)| rbac_role(reader, "ClusterRole", key, body))
        .collect();
    let roles = named(reader, "roles")
        .into_iter()
        .filter_map(|(key, body)| rbac_role(reader, "Role", key, body))
        .collect();
    let bindings = named(reader, "bindings")
        .into_iter()
        .filter_map(|(key, body)| binding(reader, key, body))
        .collect();
    let service_accounts = named(reader, "serviceAccounts")
        .into_iter()
        .filter_map(|(key, body)| service_account(reader, key, body))
        .collect();
    let acknowledged = object
        .get("acknowledged")
        .map(|node| super::acknowledged(reader, node, &format!("of cluster `{}`", name.value)))
        .unwrap_or_default();
    Some(ClusterSpec {
        acknowledged,
        region: object.get("region").and_then(|n| reader.string(n)),
        context: object.get("context").and_then(|n| reader.string(n)),
        authentication,
        oidc_issuer: object.get("oidcIssuer").and_then(|n| reader.string(n)),
        access,
        namespaces,
        cluster_roles,
        roles,
        bindings,
        service_accounts,
        name,
        unsure: object.had_unknown,
    })
}

fn authentication(reader: &mut Reader<'_>, node: &Node) -> Option<Located<AuthenticationMode>> {
    let text = reader.string(node)?;
    if let Some((_, mode)) = AUTHENTICATION_MODES
        .iter()
        .find(|(word, _)| *word == text.value)
    {
        return Some(Located::new(*mode, text.at));
    }
    let words = AUTHENTICATION_MODES.map(|(word, _)| word);
    reader.unknown_word(&text, "authentication mode", &words);
    None
}

fn access_item(reader: &mut Reader<'_>, cluster: &Text, item: &Node) -> Option<AccessSpec> {
    let owner = Owner::new(
        format!("in an access mapping of cluster `{}`", cluster.value),
        item.location,
    );
    let object = reader.object(item, owner, &ACCESS_KEYS)?;
    let mut principal = None;
    for (key, kind) in PRINCIPAL_KEYS {
        let Some(node) = object.get(key) else {
            continue;
        };
        let Some(value) = reader.string(node) else {
            continue;
        };
        match &principal {
            None => principal = Some((kind, value)),
            Some((first, _)) => {
                let at = object.key(key).map_or(node.location, |k| k.location);
                reader.error_hint(
                    at,
                    format!(
                        "an access mapping takes one principal, found both `{}` and `{key}`",
                        PrincipalKind::key(*first)
                    ),
                    "write one mapping per principal",
                );
            }
        }
    }
    let names_principal = PRINCIPAL_KEYS.iter().any(|(key, _)| object.has(key));
    if !names_principal {
        reader.error_hint(
            item.location,
            format!(
                "an access mapping of cluster `{}` names no principal",
                cluster.value
            ),
            "add one of `user`, `role`, `arn`, `account` or `ssoPermissionSet`",
        );
    }
    let access_policies = object
        .get("accessPolicies")
        .map(|node| {
            reader
                .list(node)
                .iter()
                .filter_map(|policy| access_policy(reader, policy))
                .collect()
        })
        .unwrap_or_default();
    Some(AccessSpec {
        principal,
        username: object.get("username").and_then(|n| reader.string(n)),
        groups: strings(reader, &object, "groups"),
        access_policies_at: object.key("accessPolicies").map(|key| key.location),
        access_policies,
        adopt: reader.adopt(&object),
    })
}

fn access_policy(reader: &mut Reader<'_>, node: &Node) -> Option<AccessPolicySpec> {
    let owner = Owner::new("in an access policy", node.location);
    let object = reader.object(node, owner, &ACCESS_POLICY_KEYS)?;
    let Some(policy) = object.get("policy") else {
        reader.error_hint(
            node.location,
            "missing field `policy` in an access policy",
            "name an EKS access policy, e.g. `policy: AmazonEKSViewPolicy`",
        );
        return None;
    };
    Some(AccessPolicySpec {
        policy: reader.string(policy)?,
        namespaces: object.get("namespaces").map(|n| reader.strings(n)),
    })
}

/// A list of names, or a map name → `{labels, annotations, adopt}`.
fn namespaces(reader: &mut Reader<'_>, node: &Node) -> Vec<NamespaceSpec> {
    if let NodeValue::Seq(items) = &node.value {
        return items
            .iter()
            .filter_map(|item| reader.string(item))
            .map(|name| NamespaceSpec {
                name,
                meta: MetaSpec::default(),
                adopt: false,
            })
            .collect();
    }
    if !matches!(node.value, NodeValue::Map(_) | NodeValue::Null) {
        reader.wrong_type(node, "a list of namespace names, or a map of namespaces");
        return Vec::new();
    }
    reader
        .named(node)
        .into_iter()
        .filter_map(|(name, body)| {
            let object = reader.declaration("namespace", &name, body, &META_KEYS)?;
            Some(NamespaceSpec {
                meta: meta(reader, &object),
                adopt: reader.adopt(&object),
                name,
            })
        })
        .collect()
}

fn meta(reader: &mut Reader<'_>, object: &Object<'_>) -> MetaSpec {
    let mut map = |key: &str| {
        object
            .get(key)
            .map(|node| reader.string_map(node))
            .unwrap_or_default()
    };
    MetaSpec {
        labels: map("labels"),
        annotations: map("annotations"),
    }
}

fn rbac_role(reader: &mut Reader<'_>, kind: &str, name: Text, body: &Node) -> Option<RbacRoleSpec> {
    let object = reader.declaration(kind, &name, body, &RBAC_ROLE_KEYS)?;
    let rules = object
        .get("rules")
        .map(|node| {
            reader
                .list(node)
                .iter()
                .filter_map(|rule| decode_rule(reader, kind, &name, rule))
                .collect()
        })
        .unwrap_or_default();
    Some(RbacRoleSpec {
        rules,
        meta: meta(reader, &object),
        adopt: reader.adopt(&object),
        name,
    })
}

fn decode_rule(reader: &mut Reader<'_>, kind: &str, role: &Text, node: &Node) -> Option<RuleSpec> {
    let owner = Owner::new(
        format!("in a rule of {kind} `{}`", role.value),
        node.location,
    );
    let object = reader.object(node, owner, &RULE_KEYS)?;
    let mut list = |key: &str| object.get(key).map(|n| reader.strings(n));
    Some(RuleSpec {
        at: node.location,
        api_groups: list("apiGroups"),
        resources: list("resources"),
        verbs: list("verbs"),
        resource_names: list("resourceNames"),
        non_resource_urls: list("nonResourceURLs"),
    })
}

fn binding(reader: &mut Reader<'_>, name: Text, body: &Node) -> Option<BindingSpec> {
    let object = reader.declaration("binding", &name, body, &BINDING_KEYS)?;
    Some(BindingSpec {
        cluster_role: object.get("clusterRole").and_then(|n| reader.string(n)),
        role: object.get("role").and_then(|n| reader.string(n)),
        users: strings(reader, &object, "users"),
        groups: strings(reader, &object, "groups"),
        service_accounts: strings(reader, &object, "serviceAccounts"),
        meta: meta(reader, &object),
        adopt: reader.adopt(&object),
        name,
    })
}

fn service_account(reader: &mut Reader<'_>, name: Text, body: &Node) -> Option<ServiceAccountSpec> {
    let object = reader.declaration("service account", &name, body, &SERVICE_ACCOUNT_KEYS)?;
    Some(ServiceAccountSpec {
        iam_role: object.get("iamRole").and_then(|n| reader.string(n)),
        pod_identity: object.get("podIdentity").and_then(|n| reader.string(n)),
        meta: meta(reader, &object),
        adopt: reader.adopt(&object),
        name,
    })
}
