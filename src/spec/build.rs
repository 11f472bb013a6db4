//! The desired state: the validated file turned into the model, with ownership markers added
//! (the `managed-by` tag, the group path, the Kubernetes label), references resolved to ARNs and
//! trust sugar expanded. Documents are converted here, so their mistakes are reported here.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    AccessEntry, AccessScope, AwsAuth, AwsAuthEntry, Binding, Cluster, ClusterRole,
    DEFAULT_GROUP_PATH, DocumentKind, Group, IRSA_ANNOTATION, Iam, K8sRole, MANAGED_BY_LABEL,
    MANAGED_BY_TAG, MANAGED_BY_VALUE, MapKind, Meta, Namespace, OidcProvider, Policy,
    PolicyDocument, PolicyRule, Role, RoleRef, RoleRefKind, STATE_FORMAT_VERSION, ServiceAccount,
    State, Subject, SubjectKind, User, arn, issuer_host_path, parse_arn,
};
use crate::plan::{Address, Desired, Kind};

use super::Facts;
use super::documents;
use super::raw::{
    AccessSpec, BindingSpec, ClusterSpec, InlineSpec, MetaSpec, Pair, PrincipalKind, RbacRoleSpec,
    RuleSpec, Spec, Text,
};
use super::reader::Reader;
use super::resolve::Directory;
use super::trust::{self, STS_AUDIENCE};

pub fn build(
    reader: &mut Reader<'_>,
    spec: &Spec<'_>,
    directory: &Directory,
    facts: &Facts<'_>,
) -> Desired {
    let mut adopt = BTreeSet::new();
    let group_path = spec
        .iam
        .group_path
        .as_ref()
        .map_or_else(|| DEFAULT_GROUP_PATH.to_string(), |p| p.value.clone());
    let iam = build_iam(reader, spec, directory, facts, &group_path, &mut adopt);
    let clusters = spec
        .clusters
        .iter()
        .map(|cluster| {
            let built = build_cluster(cluster, directory, &mut adopt);
            (cluster.name.value.clone(), built)
        })
        .collect();
    Desired {
        state: State {
            format_version: STATE_FORMAT_VERSION,
            account: spec.account.as_ref().map(|a| a.value.clone()),
            partition: directory.partition.clone(),
            caller: None,
            iam,
            clusters,
        },
        adopt,
        group_path,
    }
}

fn managed_tags(tags: &[Pair]) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = tags
        .iter()
        .map(|(key, value)| (key.value.clone(), value.value.clone()))
        .collect();
    map.insert(MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string());
    map
}

fn path_or_root(path: Option<&Text>) -> String {
    path.map_or_else(|| "/".to_string(), |p| p.value.clone())
}

fn policy_arns(directory: &Directory, references: &[Text]) -> BTreeSet<String> {
    references
        .iter()
        .filter_map(|r| directory.policy_arn(&r.value).ok())
        .collect()
}

fn inline_documents(
    reader: &mut Reader<'_>,
    directory: &Directory,
    inline: &[InlineSpec<'_>],
) -> BTreeMap<String, PolicyDocument> {
    inline
        .iter()
        .filter_map(|(name, node)| {
            documents::document(reader, directory, node, DocumentKind::Identity)
                .map(|document| (name.value.clone(), document))
        })
        .collect()
}

fn build_iam(
    reader: &mut Reader<'_>,
    spec: &Spec<'_>,
    directory: &Directory,
    facts: &Facts<'_>,
    group_path: &str,
    adopt: &mut BTreeSet<Address>,
) -> Iam {
    let mut iam = Iam::default();
    for policy in &spec.iam.policies {
        if policy.adopt {
            adopt.insert(Address::iam(Kind::Policy, &policy.name.value));
        }
        let Some(source) = &policy.document else {
            continue;
        };
        let Some(document) =
            documents::from_spec(reader, directory, source, DocumentKind::Identity)
        else {
            continue;
        };
        iam.policies.insert(
            policy.name.value.clone(),
            Policy {
                path: path_or_root(policy.path.as_ref()),
                description: policy.description.as_ref().map(|d| d.value.clone()),
                document,
                tags: managed_tags(&policy.tags),
            },
        );
    }
    for group in &spec.iam.groups {
        if group.adopt {
            adopt.insert(Address::iam(Kind::Group, &group.name.value));
        }
        iam.groups.insert(
            group.name.value.clone(),
            Group {
                path: group_path.to_string(),
                managed_policies: policy_arns(directory, &group.policies),
                inline_policies: inline_documents(reader, directory, &group.inline),
            },
        );
    }
    for user in &spec.iam.users {
        if user.adopt {
            adopt.insert(Address::iam(Kind::User, &user.name.value));
        }
        iam.users.insert(
            user.name.value.clone(),
            User {
                path: path_or_root(user.path.as_ref()),
                groups: user.groups.iter().map(|g| g.value.clone()).collect(),
                managed_policies: policy_arns(directory, &user.policies),
                inline_policies: inline_documents(reader, directory, &user.inline),
                permissions_boundary: user
                    .permissions_boundary
                    .as_ref()
                    .and_then(|b| directory.policy_arn(&b.value).ok()),
                tags: managed_tags(&user.tags),
            },
        );
    }
    let issuers = trust::issuers(spec, facts);
    let mut used_issuers = BTreeSet::new();
    for role in &spec.iam.roles {
        if role.adopt {
            adopt.insert(Address::iam(Kind::Role, &role.name.value));
        }
        let inline_policies = inline_documents(reader, directory, &role.inline);
        let Some(trust_spec) = &role.trust else {
            continue;
        };
        let Some(trust) = trust::trust_document(
            reader,
            directory,
            &issuers,
            role,
            trust_spec,
            &mut used_issuers,
        ) else {
            continue;
        };
        iam.roles.insert(
            role.name.value.clone(),
            Role {
                path: path_or_root(role.path.as_ref()),
                description: role.description.as_ref().map(|d| d.value.clone()),
                max_session_duration: role
                    .max_session_duration
                    .as_ref()
                    .and_then(|d| u32::try_from(d.value).ok())
                    .unwrap_or_else(crate::model::default_max_session),
                trust,
                managed_policies: policy_arns(directory, &role.policies),
                inline_policies,
                permissions_boundary: role
                    .permissions_boundary
                    .as_ref()
                    .and_then(|b| directory.policy_arn(&b.value).ok()),
                tags: managed_tags(&role.tags),
                role_id: None,
            },
        );
    }
    for issuer in used_issuers {
        iam.oidc_providers.insert(
            issuer_host_path(&issuer).to_string(),
            OidcProvider {
                client_ids: BTreeSet::from([STS_AUDIENCE.to_string()]),
                tags: managed_tags(&[]),
            },
        );
    }
    iam
}

fn build_cluster(
    spec: &ClusterSpec,
    directory: &Directory,
    adopt: &mut BTreeSet<Address>,
) -> Cluster {
    let name = spec.name.value.as_str();
    let mode = spec.authentication.value;
    let mut cluster = Cluster {
        region: spec.region.as_ref().map(|r| r.value.clone()),
        eks_name: None,
        context: spec.context.as_ref().map(|c| c.value.clone()),
        authentication: mode,
        oidc_issuer: spec.oidc_issuer.as_ref().map(|i| i.value.clone()),
        ..Cluster::default()
    };
    let mut aws_auth = AwsAuth::default();
    for access in &spec.access {
        let Some(mapping) = Mapping::resolve(access, directory) else {
            continue;
        };
        if mode.uses_config_map() {
            let key = mapping.aws_auth_key();
            if access.adopt {
                adopt.insert(Address::cluster(Kind::AwsAuth, name, &key));
            }
            aws_auth.managed.insert(key.clone());
            aws_auth.entries.push(AwsAuthEntry {
                kind: mapping.kind,
                arn: key,
                username: access.username.as_ref().map(|u| u.value.clone()),
                groups: access
                    .groups
                    .iter()
                    .map(|g| g.value.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            });
        }
        if mode.uses_access_entries() && mapping.kind != MapKind::MapAccounts {
            if access.adopt {
                adopt.insert(Address::cluster(Kind::AccessEntry, name, &mapping.arn));
            }
            cluster
                .access_entries
                .insert(mapping.arn.clone(), access_entry(access, directory));
        }
    }
    // Access entries only: accessctl still owns aws-auth's (empty) set of managed entries, so
    // entries it managed before a switch of mode are removed.
    cluster.aws_auth = Some(aws_auth);
    for namespace in &spec.namespaces {
        if namespace.adopt {
            adopt.insert(Address::cluster(
                Kind::Namespace,
                name,
                &namespace.name.value,
            ));
        }
        cluster.namespaces.insert(
            namespace.name.value.clone(),
            Namespace {
                meta: meta(&namespace.meta),
            },
        );
    }
    for role in &spec.cluster_roles {
        if role.adopt {
            adopt.insert(Address::cluster(Kind::ClusterRole, name, &role.name.value));
        }
        cluster.cluster_roles.insert(
            role.name.value.clone(),
            ClusterRole {
                meta: meta(&role.meta),
                rules: rules(role),
            },
        );
    }
    for role in &spec.roles {
        if role.adopt {
            adopt.insert(Address::cluster(Kind::K8sRole, name, &role.name.value));
        }
        cluster.roles.insert(
            role.name.value.clone(),
            K8sRole {
                meta: meta(&role.meta),
                rules: rules(role),
            },
        );
    }
    for binding in &spec.bindings {
        build_binding(&mut cluster, name, binding, adopt);
    }
    for account in &spec.service_accounts {
        if account.adopt {
            adopt.insert(Address::cluster(
                Kind::ServiceAccount,
                name,
                &account.name.value,
            ));
        }
        let mut meta = meta(&account.meta);
        if let Some(role_arn) = account
            .iam_role
            .as_ref()
            .and_then(|role| directory.role_arn(&role.value).ok())
        {
            meta.annotations
                .insert(IRSA_ANNOTATION.to_string(), role_arn);
        }
        cluster
            .service_accounts
            .insert(account.name.value.clone(), ServiceAccount { meta });
    }
    cluster
}

/// An access mapping's principal, resolved.
struct Mapping {
    kind: MapKind,
    /// The principal ARN (with its path), or the account id.
    arn: String,
}

impl Mapping {
    fn resolve(access: &AccessSpec, directory: &Directory) -> Option<Mapping> {
        let (kind, principal) = access.principal.as_ref()?;
        let value = principal.value.as_str();
        let (kind, arn) = match kind {
            PrincipalKind::User => (MapKind::MapUsers, directory.user_arn(value).ok()?),
            PrincipalKind::Role => (MapKind::MapRoles, directory.role_arn(value).ok()?),
            PrincipalKind::Arn => {
                let arn = directory.any_principal_arn(value).ok()?;
                let is_role = parse_arn(&arn).is_some_and(|a| a.resource.starts_with("role/"));
                (
                    if is_role {
                        MapKind::MapRoles
                    } else {
                        MapKind::MapUsers
                    },
                    arn,
                )
            }
            PrincipalKind::Account => (MapKind::MapAccounts, value.to_string()),
        };
        Some(Mapping { kind, arn })
    }

    /// aws-auth matches roles by ARN without the path (EKS documents that a `rolearn` with a
    /// path never matches), so role entries are written without it.
    fn aws_auth_key(&self) -> String {
        if self.kind != MapKind::MapRoles {
            return self.arn.clone();
        }
        match parse_arn(&self.arn) {
            Some(parts) => {
                let name = parts.resource.rsplit('/').next().unwrap_or(parts.resource);
                arn::role(parts.partition, parts.account, "/", name)
            }
            None => self.arn.clone(),
        }
    }
}

fn access_entry(access: &AccessSpec, directory: &Directory) -> AccessEntry {
    let mut policies: BTreeMap<String, AccessScope> = BTreeMap::new();
    for policy in &access.access_policies {
        let arn = if policy.policy.value.starts_with("arn:") {
            policy.policy.value.clone()
        } else {
            arn::eks_access_policy(&directory.partition, &policy.policy.value)
        };
        let scope = match &policy.namespaces {
            None => AccessScope::Cluster,
            Some(namespaces) => AccessScope::Namespace {
                namespaces: namespaces.iter().map(|n| n.value.clone()).collect(),
            },
        };
        // The same policy listed twice: the wider scope wins, namespaces add up.
        let merged = match (policies.remove(&arn), scope) {
            (
                Some(AccessScope::Namespace {
                    namespaces: mut old,
                }),
                AccessScope::Namespace { namespaces: new },
            ) => {
                old.extend(new);
                AccessScope::Namespace { namespaces: old }
            }
            (Some(AccessScope::Cluster), _) | (_, AccessScope::Cluster) => AccessScope::Cluster,
            (None, scope) => scope,
        };
        policies.insert(arn, merged);
    }
    AccessEntry {
        kind: "STANDARD".to_string(),
        username: access.username.as_ref().map(|u| u.value.clone()),
        groups: access.groups.iter().map(|g| g.value.clone()).collect(),
        policies,
        tags: managed_tags(&[]),
        principal_id: None,
    }
}

fn meta(spec: &MetaSpec) -> Meta {
    let pairs = |pairs: &[Pair]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| (key.value.clone(), value.value.clone()))
            .collect()
    };
    let mut labels = pairs(&spec.labels);
    labels.insert(MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string());
    Meta {
        labels,
        annotations: pairs(&spec.annotations),
    }
}

fn rules(role: &RbacRoleSpec) -> BTreeSet<PolicyRule> {
    role.rules.iter().map(rule).collect()
}

fn rule(spec: &RuleSpec) -> PolicyRule {
    let set = |list: &Option<Vec<Text>>| -> BTreeSet<String> {
        list.iter().flatten().map(|t| t.value.clone()).collect()
    };
    PolicyRule {
        api_groups: set(&spec.api_groups),
        resources: set(&spec.resources),
        resource_names: set(&spec.resource_names),
        non_resource_urls: set(&spec.non_resource_urls),
        verbs: set(&spec.verbs),
    }
}

fn build_binding(
    cluster: &mut Cluster,
    name: &str,
    spec: &BindingSpec,
    adopt: &mut BTreeSet<Address>,
) {
    let namespace = spec
        .name
        .value
        .split_once('/')
        .map(|(namespace, _)| namespace);
    let role_ref = match (&spec.cluster_role, &spec.role) {
        (Some(cluster_role), None) => RoleRef {
            kind: RoleRefKind::ClusterRole,
            name: cluster_role.value.clone(),
        },
        (None, Some(role)) if namespace.is_some() => RoleRef {
            kind: RoleRefKind::Role,
            name: role.value.clone(),
        },
        // Both, neither, or a Role in a ClusterRoleBinding: reported by validation.
        _ => return,
    };
    let mut subjects = BTreeSet::new();
    for user in &spec.users {
        subjects.insert(Subject {
            kind: SubjectKind::User,
            name: user.value.clone(),
            namespace: None,
        });
    }
    for group in &spec.groups {
        subjects.insert(Subject {
            kind: SubjectKind::Group,
            name: group.value.clone(),
            namespace: None,
        });
    }
    for account in &spec.service_accounts {
        let (account_namespace, account_name) = match (account.value.split_once('/'), namespace) {
            (Some((ns, n)), _) => (ns, n),
            (None, Some(ns)) => (ns, account.value.as_str()),
            (None, None) => continue,
        };
        subjects.insert(Subject {
            kind: SubjectKind::ServiceAccount,
            name: account_name.to_string(),
            namespace: Some(account_namespace.to_string()),
        });
    }
    let binding = Binding {
        meta: meta(&spec.meta),
        role_ref,
        subjects,
    };
    let key = spec.name.value.clone();
    let kind = if namespace.is_some() {
        cluster.role_bindings.insert(key.clone(), binding);
        Kind::RoleBinding
    } else {
        cluster.cluster_role_bindings.insert(key.clone(), binding);
        Kind::ClusterRoleBinding
    };
    if spec.adopt {
        adopt.insert(Address::cluster(kind, name, key));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{Facts, load_text};
    use super::*;
    use crate::model::{Cluster as LiveCluster, State as LiveState};

    /// Seed 001 (IAM user and role on EKS through aws-auth), as access.yaml.
    const SEED_001: &str = r#"
version: 1
account: "424432388155"
iam:
  policies:
    AmazonEKSViewNodesAndWorkloadsPolicy:
      document:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: [eks:DescribeNodegroup, eks:ListNodegroups, eks:DescribeCluster, eks:ListClusters,
                     eks:AccessKubernetesApi, ssm:GetParameter, eks:ListUpdates, eks:ListFargateProfiles]
            Resource: "*"
    AmazonEKSAdminPolicy:
      document:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Action: ["eks:*"], Resource: "*"}
          - Effect: Allow
            Action: iam:PassRole
            Resource: "*"
            Condition: {StringEquals: {iam:PassedToService: eks.amazonaws.com}}
    AmazonEKSAssumeEKSAdminPolicy:
      document:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Action: [sts:AssumeRole], Resource: role:eks-admin}]
  groups:
    developers: {policies: [AmazonEKSViewNodesAndWorkloadsPolicy]}
  users:
    developer: {groups: [developers]}
    manager: {policies: [AmazonEKSAssumeEKSAdminPolicy]}
  roles:
    eks-admin:
      trust: {accounts: ["424432388155"]}
      policies: [AmazonEKSAdminPolicy]
clusters:
  demo:
    region: us-east-1
    access:
      - {user: developer, username: developer, groups: [reader]}
      - {role: eks-admin, username: eks-admin, groups: ["system:masters"]}
    clusterRoles:
      reader:
        rules:
          - apiGroups: ["*"]
            resources: ["deployments", "configmaps", "pods", "secrets", "services"]
            verbs: ["get", "list", "watch"]
    bindings:
      reader: {clusterRole: reader, groups: [reader]}
"#;

    fn load(text: &str) -> Desired {
        match load_text("access.yaml", text, &Facts::default()) {
            Ok(desired) => desired,
            Err(diagnostics) => panic!("{}", super::super::Diagnostics(diagnostics)),
        }
    }

    fn document(value: serde_json::Value, kind: DocumentKind) -> PolicyDocument {
        PolicyDocument::from_value(&value, kind).expect("a valid document")
    }

    fn strings(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn seed_001_builds_its_iam_objects() {
        let desired = load(SEED_001);
        let iam = &desired.state.iam;
        assert_eq!(desired.group_path, DEFAULT_GROUP_PATH);
        assert_eq!(desired.state.account.as_deref(), Some("424432388155"));
        let managed = BTreeMap::from([(MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string())]);
        assert_eq!(
            iam.groups["developers"],
            Group {
                path: DEFAULT_GROUP_PATH.to_string(),
                managed_policies: strings(&[
                    "arn:aws:iam::424432388155:policy/AmazonEKSViewNodesAndWorkloadsPolicy"
                ]),
                inline_policies: BTreeMap::new(),
            }
        );
        assert_eq!(
            iam.users["developer"],
            User {
                path: "/".into(),
                groups: strings(&["developers"]),
                managed_policies: BTreeSet::new(),
                inline_policies: BTreeMap::new(),
                permissions_boundary: None,
                tags: managed.clone(),
            }
        );
        assert_eq!(
            iam.users["manager"].managed_policies,
            strings(&["arn:aws:iam::424432388155:policy/AmazonEKSAssumeEKSAdminPolicy"])
        );
        let assume = &iam.policies["AmazonEKSAssumeEKSAdminPolicy"];
        assert_eq!(assume.tags, managed);
        assert_eq!(
            assume.document,
            document(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Action": ["sts:AssumeRole"],
                    "Resource": "arn:aws:iam::424432388155:role/eks-admin"}]}),
                DocumentKind::Identity
            )
        );
        let role = &iam.roles["eks-admin"];
        assert_eq!(
            role.trust,
            document(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::424432388155:root"},
                    "Action": "sts:AssumeRole"}]}),
                DocumentKind::Trust
            )
        );
        assert_eq!(
            role.managed_policies,
            strings(&["arn:aws:iam::424432388155:policy/AmazonEKSAdminPolicy"])
        );
        assert_eq!(role.max_session_duration, 3600);
        assert_eq!(role.tags, managed);
        assert!(iam.oidc_providers.is_empty());
    }

    #[test]
    fn seed_001_builds_its_cluster_objects() {
        let desired = load(SEED_001);
        let cluster = &desired.state.clusters["demo"];
        assert_eq!(cluster.region.as_deref(), Some("us-east-1"));
        assert_eq!(
            cluster.authentication,
            crate::model::AuthenticationMode::ConfigMap
        );
        assert!(cluster.access_entries.is_empty());
        let aws_auth = cluster.aws_auth.as_ref().expect("aws-auth");
        assert_eq!(
            aws_auth.entries,
            vec![
                AwsAuthEntry {
                    kind: MapKind::MapUsers,
                    arn: "arn:aws:iam::424432388155:user/developer".into(),
                    username: Some("developer".into()),
                    groups: vec!["reader".into()],
                },
                AwsAuthEntry {
                    kind: MapKind::MapRoles,
                    arn: "arn:aws:iam::424432388155:role/eks-admin".into(),
                    username: Some("eks-admin".into()),
                    groups: vec!["system:masters".into()],
                },
            ]
        );
        assert_eq!(
            aws_auth.managed,
            strings(&[
                "arn:aws:iam::424432388155:role/eks-admin",
                "arn:aws:iam::424432388155:user/developer"
            ])
        );
        let owned = Meta {
            labels: BTreeMap::from([(MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string())]),
            annotations: BTreeMap::new(),
        };
        assert_eq!(
            cluster.cluster_roles["reader"],
            ClusterRole {
                meta: owned.clone(),
                rules: BTreeSet::from([PolicyRule {
                    api_groups: strings(&["*"]),
                    resources: strings(&[
                        "configmaps",
                        "deployments",
                        "pods",
                        "secrets",
                        "services"
                    ]),
                    verbs: strings(&["get", "list", "watch"]),
                    ..PolicyRule::default()
                }]),
            }
        );
        assert_eq!(
            cluster.cluster_role_bindings["reader"],
            Binding {
                meta: owned,
                role_ref: RoleRef {
                    kind: RoleRefKind::ClusterRole,
                    name: "reader".into()
                },
                subjects: BTreeSet::from([Subject {
                    kind: SubjectKind::Group,
                    name: "reader".into(),
                    namespace: None
                }]),
            }
        );
        assert!(desired.adopt.is_empty());
    }

    const SEED_003: &str = r#"
version: 1
account: "204393242335"
iam:
  roles:
    connections-role-test:
      description: testing sa role for pod
      trust:
        serviceAccounts: [demo/devops-aurora-1/connections-serviceaccount-s3]
      policies: ["aws:AmazonS3FullAccess"]
clusters:
  demo:
    region: ca-central-1
    namespaces: [devops-aurora-1]
    serviceAccounts:
      devops-aurora-1/connections-serviceaccount-s3: {iamRole: connections-role-test}
"#;

    const SEED_003_ISSUER: &str =
        "https://oidc.eks.ca-central-1.amazonaws.com/id/8A024CF24ADD3925BEFA224C4BDD005B";

    fn seed_003_trust() -> PolicyDocument {
        let text = r#"{
          "Version": "2012-10-17",
          "Statement": [
            {
              "Effect": "Allow",
              "Principal": {
                "Federated": "arn:aws:iam::204393242335:oidc-provider/oidc.eks.ca-central-1.amazonaws.com/id/8A024CF24ADD3925BEFA224C4BDD005B"
              },
              "Action": "sts:AssumeRoleWithWebIdentity",
              "Condition": {
                "StringEquals": {
                  "oidc.eks.ca-central-1.amazonaws.com/id/8A024CF24ADD3925BEFA224C4BDD005B:aud": "sts.amazonaws.com",
                  "oidc.eks.ca-central-1.amazonaws.com/id/8A024CF24ADD3925BEFA224C4BDD005B:sub": "system:serviceaccount:devops-aurora-1:connections-serviceaccount-s3"
                }
              }
            }
          ]
        }"#;
        PolicyDocument::parse_str(text, DocumentKind::Trust).expect("seed 003's trust policy")
    }

    fn check_seed_003(desired: &Desired) {
        let role = &desired.state.iam.roles["connections-role-test"];
        assert_eq!(role.trust, seed_003_trust());
        assert_eq!(
            role.managed_policies,
            strings(&["arn:aws:iam::aws:policy/AmazonS3FullAccess"])
        );
        let provider = &desired.state.iam.oidc_providers["oidc.eks.ca-central-1.amazonaws.com/id/8A024CF24ADD3925BEFA224C4BDD005B"];
        assert_eq!(provider.client_ids, strings(&["sts.amazonaws.com"]));
        assert_eq!(provider.tags[MANAGED_BY_TAG], MANAGED_BY_VALUE);
        let account = &desired.state.clusters["demo"].service_accounts["devops-aurora-1/connections-serviceaccount-s3"];
        assert_eq!(
            account.meta.annotations[IRSA_ANNOTATION],
            "arn:aws:iam::204393242335:role/connections-role-test"
        );
    }

    #[test]
    fn irsa_trust_from_the_file_issuer_is_seed_003s() {
        let text = SEED_003.replace(
            "region: ca-central-1",
            &format!("region: ca-central-1\n    oidcIssuer: {SEED_003_ISSUER}"),
        );
        let desired = load(&text);
        check_seed_003(&desired);
        assert_eq!(
            desired.state.clusters["demo"].oidc_issuer.as_deref(),
            Some(SEED_003_ISSUER)
        );
    }

    #[test]
    fn irsa_trust_from_the_live_issuer_is_seed_003s() {
        let live = LiveState {
            clusters: BTreeMap::from([(
                "demo".to_string(),
                LiveCluster {
                    oidc_issuer: Some(SEED_003_ISSUER.to_string()),
                    ..LiveCluster::default()
                },
            )]),
            ..LiveState::default()
        };
        let facts = Facts { live: Some(&live) };
        let desired = load_text("access.yaml", SEED_003, &facts).expect("loads");
        check_seed_003(&desired);
        // The file did not set it: it is not copied from live state.
        assert_eq!(desired.state.clusters["demo"].oidc_issuer, None);
    }

    #[test]
    fn irsa_without_any_issuer_uses_a_placeholder_or_fails_with_live_state() {
        let desired = load(SEED_003);
        let placeholder = "oidc.accessctl.invalid/unknown-issuer/demo";
        assert!(desired.state.iam.oidc_providers.contains_key(placeholder));
        let live = LiveState::default();
        let errors = load_text("access.yaml", SEED_003, &Facts { live: Some(&live) })
            .expect_err("no issuer anywhere");
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].message,
            "cannot generate the IRSA trust policy: cluster `demo` has no OIDC issuer"
        );
    }

    #[test]
    fn access_entries_and_adoption() {
        let desired = load(
            r#"
version: 1
account: "111122223333"
iam:
  roles:
    admin:
      path: /team/
      trust: {accounts: ["111122223333"]}
      adopt: true
  users:
    alice: {adopt: true}
clusters:
  prod:
    authentication: both
    namespaces: {team-a: {labels: {team: a}, adopt: true}}
    access:
      - role: admin
        groups: [admins, admins]
        accessPolicies:
          - {policy: AmazonEKSClusterAdminPolicy}
          - {policy: AmazonEKSEditPolicy, namespaces: [team-a]}
          - {policy: AmazonEKSEditPolicy, namespaces: [default]}
        adopt: true
      - {account: "444455556666", adopt: true}
    serviceAccounts:
      team-a/app: {iamRole: admin}
  api:
    authentication: access-entries
    access:
      - {user: alice, username: alice}
"#,
        );
        let prod = &desired.state.clusters["prod"];
        let role_arn = "arn:aws:iam::111122223333:role/team/admin";
        let entry = &prod.access_entries[role_arn];
        assert_eq!(entry.kind, "STANDARD");
        assert_eq!(entry.groups, strings(&["admins"]));
        assert_eq!(
            entry.policies,
            BTreeMap::from([
                (
                    "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
                        .to_string(),
                    AccessScope::Cluster
                ),
                (
                    "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy".to_string(),
                    AccessScope::Namespace {
                        namespaces: strings(&["default", "team-a"])
                    }
                ),
            ])
        );
        assert_eq!(entry.tags[MANAGED_BY_TAG], MANAGED_BY_VALUE);
        // aws-auth never matches a role ARN with a path: its entry is written without it.
        let aws_auth = prod.aws_auth.as_ref().expect("aws-auth in both mode");
        assert_eq!(
            aws_auth.entries[0].arn,
            "arn:aws:iam::111122223333:role/admin"
        );
        assert_eq!(aws_auth.entries[0].groups, vec!["admins".to_string()]);
        assert_eq!(aws_auth.entries[1].kind, MapKind::MapAccounts);
        assert_eq!(aws_auth.entries[1].arn, "444455556666");
        assert!(!prod.access_entries.contains_key("444455556666"));
        assert_eq!(
            prod.service_accounts["team-a/app"].meta.annotations[IRSA_ANNOTATION],
            role_arn
        );
        assert_eq!(prod.namespaces["team-a"].meta.labels["team"], "a");
        let api = &desired.state.clusters["api"];
        assert_eq!(api.aws_auth, Some(AwsAuth::default()));
        assert!(
            api.access_entries
                .contains_key("arn:aws:iam::111122223333:user/alice")
        );
        let adopt: Vec<String> = desired.adopt.iter().map(ToString::to_string).collect();
        assert_eq!(
            adopt,
            vec![
                "iam.user.alice",
                "iam.role.admin",
                "cluster.prod.namespace.team-a",
                "cluster.prod.access-entry[arn:aws:iam::111122223333:role/team/admin]",
                "cluster.prod.aws-auth[444455556666]",
                "cluster.prod.aws-auth[arn:aws:iam::111122223333:role/admin]",
            ]
        );
    }

    #[test]
    fn role_bindings_and_service_account_subjects() {
        let desired = load(
            r#"
version: 1
account: "111122223333"
clusters:
  demo:
    namespaces: [team-a]
    roles:
      team-a/deployer: {rules: [{apiGroups: [apps], resources: [deployments], verbs: [get]}]}
    bindings:
      team-a/deployers: {role: deployer, users: [bob], serviceAccounts: [ci, kube-system/builder]}
"#,
        );
        let cluster = &desired.state.clusters["demo"];
        let binding = &cluster.role_bindings["team-a/deployers"];
        assert_eq!(binding.role_ref.kind, RoleRefKind::Role);
        let subjects: Vec<(SubjectKind, &str, Option<&str>)> = binding
            .subjects
            .iter()
            .map(|s| (s.kind, s.name.as_str(), s.namespace.as_deref()))
            .collect();
        assert_eq!(
            subjects,
            vec![
                (SubjectKind::User, "bob", None),
                (SubjectKind::ServiceAccount, "builder", Some("kube-system")),
                (SubjectKind::ServiceAccount, "ci", Some("team-a")),
            ]
        );
        assert!(cluster.roles.contains_key("team-a/deployer"));
    }
}
