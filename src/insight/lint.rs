//! `lint`: risky access patterns in a desired state, each finding with a severity, the place in
//! access.yaml it comes from and a hint; rendered as text, JSON or SARIF 2.1.0. No I/O.
//!
//! The rules are listed in [`RULES`] (ids are stable: CI configurations name them).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use serde_json::{Value, json};

use super::iam_eval::{self, Decision, Effect, Principal, Statement};
use super::rbac;
use crate::model::{PolicyDocument, PolicyRule, State};
use crate::spec::SourceLocation;

/// How bad a finding is. Ordered: `Low < Medium < High`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// SARIF's `level`.
    fn sarif_level(self) -> &'static str {
        match self {
            Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low => "note",
        }
    }
}

/// A lint rule: id, default severity, what it looks for, and how to fix it.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RuleInfo {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub hint: &'static str,
}

pub const WILDCARD_ADMIN: &str = "iam-wildcard-admin";
pub const PASSROLE_WILDCARD: &str = "iam-passrole-wildcard";
pub const TRUST_OPEN: &str = "iam-trust-open";
pub const IRSA_WITHOUT_SUB: &str = "iam-irsa-trust-without-sub";
pub const SYSTEM_MASTERS: &str = "eks-system-masters";
pub const WILDCARD_CLUSTER_ROLE: &str = "rbac-wildcard-cluster-wide";
pub const ESCALATION_SELF_ATTACH: &str = "iam-escalation-self-attach";
pub const ESCALATION_ACCESS_KEYS: &str = "iam-escalation-create-access-key";
pub const ESCALATION_TRUST: &str = "iam-escalation-update-trust";
pub const ESCALATION_BIND: &str = "rbac-escalation-bind";

/// Every rule, in the order they are documented.
pub const RULES: [RuleInfo; 10] = [
    RuleInfo {
        id: WILDCARD_ADMIN,
        severity: Severity::High,
        summary: "an identity policy allows `Action: \"*\"` on `Resource: \"*\"`",
        hint: "grant the actions and resources the principal needs; for administrators attach `aws:AdministratorAccess` knowingly",
    },
    RuleInfo {
        id: PASSROLE_WILDCARD,
        severity: Severity::High,
        summary: "`iam:PassRole` on every role (low when a condition restricts it)",
        hint: "name the roles in `Resource` and restrict `iam:PassedToService`",
    },
    RuleInfo {
        id: TRUST_OPEN,
        severity: Severity::High,
        summary: "a trust policy open to `*` (high) or to a whole foreign account (medium) without a condition",
        hint: "name the trusted role or user ARNs, or add a condition (`sts:ExternalId`, `aws:PrincipalOrgID`)",
    },
    RuleInfo {
        id: IRSA_WITHOUT_SUB,
        severity: Severity::High,
        summary: "an IRSA (web identity) trust without a `sub` condition: any pod of the cluster can assume the role (medium when `sub` is a wildcard)",
        hint: "use `trust.serviceAccounts: [cluster/namespace/name]`, which adds `sub` and `aud` conditions",
    },
    RuleInfo {
        id: SYSTEM_MASTERS,
        severity: Severity::Medium,
        summary: "a cluster mapping into `system:masters`, which no RBAC object can take back",
        hint: "map into a named group bound to `cluster-admin`, or use an access entry with `AmazonEKSClusterAdminPolicy`",
    },
    RuleInfo {
        id: WILDCARD_CLUSTER_ROLE,
        severity: Severity::Medium,
        summary: "a ClusterRole with wildcard verbs or resources bound cluster-wide",
        hint: "list the verbs and resources, or bind it with RoleBindings in the namespaces that need it",
    },
    RuleInfo {
        id: ESCALATION_SELF_ATTACH,
        severity: Severity::High,
        summary: "a principal can attach or write policies on itself (or its groups, or its policies' versions)",
        hint: "remove `iam:Attach*Policy`/`iam:Put*Policy`/`iam:CreatePolicyVersion` on the principal's own ARNs",
    },
    RuleInfo {
        id: ESCALATION_ACCESS_KEYS,
        severity: Severity::High,
        summary: "a principal can create access keys for other users",
        hint: "restrict `iam:CreateAccessKey` to `arn:aws:iam::ACCOUNT:user/${aws:username}`",
    },
    RuleInfo {
        id: ESCALATION_TRUST,
        severity: Severity::High,
        summary: "a principal can rewrite role trust policies (`iam:UpdateAssumeRolePolicy`)",
        hint: "grant `iam:UpdateAssumeRolePolicy` only to the deployment role, on named roles",
    },
    RuleInfo {
        id: ESCALATION_BIND,
        severity: Severity::High,
        summary: "an RBAC role that can create role bindings and bind or escalate roles: its holders can bind `cluster-admin`",
        hint: "drop the `bind`/`escalate` verbs (and `*`) on roles and clusterroles",
    },
];

pub fn rule_info(id: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|rule| rule.id == id)
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// 1-based; 0 when the place is not known (then the file as a whole is meant).
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: String,
}

/// Where each node of the file was written (see `spec::Loaded::locations`); empty for a
/// state not read from a file.
pub type Locations = BTreeMap<String, SourceLocation>;

struct Linter<'a> {
    state: &'a State,
    locations: &'a Locations,
    account: String,
    findings: Vec<Finding>,
}

/// Every finding, in file order.
pub fn lint(state: &State, locations: &Locations) -> Vec<Finding> {
    let mut linter = Linter {
        state,
        locations,
        account: iam_eval::account(state),
        findings: Vec::new(),
    };
    linter.identity_documents();
    linter.trust_documents();
    linter.cluster_mappings();
    linter.cluster_roles();
    linter.escalation();
    let mut findings = linter.findings;
    findings.sort_by(|a, b| {
        (a.line, a.column, a.rule, &a.message).cmp(&(b.line, b.column, b.rule, &b.message))
    });
    findings.dedup();
    findings
}

impl<'a> Linter<'a> {
    fn push(
        &mut self,
        rule: &'static str,
        severity: Severity,
        at: Option<&SourceLocation>,
        message: String,
    ) {
        let hint = rule_info(rule).map(|info| info.hint).unwrap_or_default();
        self.findings.push(Finding {
            rule,
            severity,
            line: at.map_or(0, |at| at.line),
            column: at.map_or(0, |at| at.column),
            message,
            hint: hint.to_string(),
        });
    }

    fn at(&self, path: &str) -> Option<&SourceLocation> {
        self.locations.get(path)
    }

    /// The first of `paths` the file has.
    fn first_at(&self, paths: &[String]) -> Option<SourceLocation> {
        paths.iter().find_map(|path| self.at(path).cloned())
    }

    /// The identity documents of the state: (label, document, path of the document node).
    fn identity_documents_list(&self) -> Vec<(String, &'a PolicyDocument, Vec<String>)> {
        let state: &'a State = self.state;
        let iam = &state.iam;
        let mut list = Vec::new();
        for (name, policy) in &iam.policies {
            list.push((
                format!("policy {name}"),
                &policy.document,
                vec![
                    format!("iam.policies.{name}.document"),
                    format!("iam.policies.{name}.file"),
                    format!("iam.policies.{name}"),
                ],
            ));
        }
        let inline = |kind: &str, owner: &str, name: &str| {
            vec![
                format!("iam.{kind}.{owner}.inline.{name}"),
                format!("iam.{kind}.{owner}"),
            ]
        };
        for (owner, holder) in iam.holders() {
            let kind = holder.holder_kind();
            for (name, document) in holder.inline_policies() {
                list.push((
                    format!("inline policy {name} of {} {owner}", kind.as_str()),
                    document,
                    inline(kind.section(), owner, name),
                ));
            }
        }
        list
    }

    /// The statement of the file that a normalized statement came from: the one with the same
    /// actions (then the same effect); else the document.
    fn statement_at(
        &self,
        document_paths: &[String],
        statement: &Statement,
    ) -> Option<SourceLocation> {
        let wanted: Vec<String> = statement
            .actions
            .as_ref()
            .or(statement.not_actions.as_ref())
            .map(|actions| actions.iter().map(|a| a.to_ascii_lowercase()).collect())
            .unwrap_or_default();
        let mut wanted = wanted;
        wanted.sort();
        wanted.dedup();
        for document in document_paths {
            let base = format!("{document}.Statement");
            let candidates: Vec<String> = if self.at(&format!("{base}.0")).is_some() {
                (0..)
                    .map(|index| format!("{base}.{index}"))
                    .take_while(|path| self.at(path).is_some())
                    .collect()
            } else if self.at(&base).is_some() {
                vec![base.clone()]
            } else {
                continue;
            };
            let key = if statement.actions.is_some() {
                "Action"
            } else {
                "NotAction"
            };
            let effect = match statement.effect {
                Effect::Allow => "Allow",
                Effect::Deny => "Deny",
            };
            let mut fallback = None;
            for candidate in &candidates {
                let mut actions = self.scalars(&format!("{candidate}.{key}"));
                actions.iter_mut().for_each(|a| *a = a.to_ascii_lowercase());
                actions.sort();
                actions.dedup();
                if actions != wanted {
                    continue;
                }
                let same_effect = self
                    .at(&format!("{candidate}.Effect"))
                    .and_then(|at| at.scalar.as_deref())
                    == Some(effect);
                if same_effect {
                    return self.at(candidate).cloned();
                }
                fallback.get_or_insert(candidate.clone());
            }
            if let Some(found) = fallback {
                return self.at(&found).cloned();
            }
            return self.at(document).cloned();
        }
        self.first_at(document_paths)
    }

    /// The scalar at `path`, or the scalars of the list at `path`.
    fn scalars(&self, path: &str) -> Vec<String> {
        if let Some(text) = self.at(path).and_then(|at| at.scalar.clone()) {
            return vec![text];
        }
        (0..)
            .map(|index| self.at(&format!("{path}.{index}")))
            .take_while(Option::is_some)
            .flatten()
            .filter_map(|at| at.scalar.clone())
            .collect()
    }

    fn identity_documents(&mut self) {
        let any_role = format!(
            "arn:{}:iam::{}:role/accessctl-lint-any-role",
            self.state.partition, self.account
        );
        for (label, document, paths) in self.identity_documents_list() {
            for statement in iam_eval::statements(document) {
                if statement.effect != Effect::Allow {
                    continue;
                }
                let resources = statement.resources.clone().unwrap_or_default();
                let every_resource = resources.iter().any(|r| r == "*");
                let every_action = statement
                    .actions
                    .as_ref()
                    .is_some_and(|a| a.iter().any(|a| a == "*"));
                if every_action && every_resource {
                    let at = self.statement_at(&paths, &statement);
                    self.push(
                        WILDCARD_ADMIN,
                        Severity::High,
                        at.as_ref(),
                        format!("{label} allows every action on every resource"),
                    );
                    continue;
                }
                let passrole = statement.actions.as_ref().is_some_and(|a| {
                    a.iter()
                        .any(|p| iam_eval::action_matches(p, "iam:PassRole"))
                });
                let any_role_resource = resources
                    .iter()
                    .any(|r| iam_eval::wildcard_match(r, &any_role, false));
                if passrole && any_role_resource {
                    let at = self.statement_at(&paths, &statement);
                    let (severity, message) = if statement.has_condition() {
                        (
                            Severity::Low,
                            format!(
                                "{label} allows `iam:PassRole` on every role, restricted only by a condition"
                            ),
                        )
                    } else {
                        (
                            Severity::High,
                            format!(
                                "{label} allows `iam:PassRole` on every role: the principal can give any role to a service it controls"
                            ),
                        )
                    };
                    self.push(PASSROLE_WILDCARD, severity, at.as_ref(), message);
                }
            }
        }
    }

    fn trust_documents(&mut self) {
        let state = self.state;
        for (name, role) in &state.iam.roles {
            let paths = vec![
                format!("iam.roles.{name}.trust.document"),
                format!("iam.roles.{name}.trust"),
                format!("iam.roles.{name}"),
            ];
            for statement in iam_eval::statements(&role.trust) {
                if statement.effect != Effect::Allow {
                    continue;
                }
                let conditional = statement.has_condition();
                for (kind, principal) in &statement.principals {
                    if kind != "AWS" || conditional {
                        continue;
                    }
                    if principal == "*" {
                        let at = self.statement_at(&paths, &statement);
                        self.push(
                            TRUST_OPEN,
                            Severity::High,
                            at.as_ref(),
                            format!(
                                "the trust policy of role {name} lets any AWS principal assume it"
                            ),
                        );
                    } else if let Some(foreign) = foreign_account(principal, &self.account) {
                        let sugar = self.sugar_account(name, &foreign);
                        let at = sugar.or_else(|| self.statement_at(&paths, &statement));
                        self.push(TRUST_OPEN, Severity::Medium, at.as_ref(), format!("the trust policy of role {name} trusts every principal of account {foreign}"));
                    }
                }
                if !statement.not_principals.is_empty() && !conditional {
                    let at = self.statement_at(&paths, &statement);
                    self.push(
                        TRUST_OPEN,
                        Severity::High,
                        at.as_ref(),
                        format!(
                            "the trust policy of role {name} allows everyone but its `NotPrincipal`"
                        ),
                    );
                }
                let web_identity = statement.matches_action("sts:AssumeRoleWithWebIdentity")
                    && statement.principals.iter().any(|(kind, principal)| {
                        kind == "Federated" && principal.contains(":oidc-provider/")
                    });
                if !web_identity {
                    continue;
                }
                let subs: Vec<&(String, String, Vec<String>)> = statement
                    .conditions
                    .iter()
                    .filter(|(_, key, _)| key.to_ascii_lowercase().ends_with(":sub"))
                    .collect();
                let at = self.statement_at(&paths, &statement);
                if subs.is_empty() {
                    self.push(IRSA_WITHOUT_SUB, Severity::High, at.as_ref(), format!("the web-identity trust of role {name} has no `sub` condition: any service account of the cluster can assume it"));
                } else if subs
                    .iter()
                    .any(|(_, _, values)| values.iter().any(|v| v.contains('*') || v.contains('?')))
                {
                    self.push(IRSA_WITHOUT_SUB, Severity::Medium, at.as_ref(), format!("the web-identity trust of role {name} matches `sub` with a wildcard: several service accounts can assume it"));
                }
            }
        }
    }

    /// `trust.accounts: [...]` item naming `account`, when the trust was written as sugar.
    fn sugar_account(&self, role: &str, account: &str) -> Option<SourceLocation> {
        let base = format!("iam.roles.{role}.trust.accounts");
        (0..)
            .map(|index| self.at(&format!("{base}.{index}")))
            .take_while(Option::is_some)
            .flatten()
            .find(|at| at.scalar.as_deref() == Some(account))
            .cloned()
    }

    /// The `access` item of a cluster that names `arn`.
    fn access_item(&self, cluster: &str, arn: &str) -> Option<SourceLocation> {
        let base = format!("clusters.{cluster}.access");
        for index in 0.. {
            let item = format!("{base}.{index}");
            self.at(&item)?;
            for key in ["user", "role", "arn", "account"] {
                let Some(value) = self
                    .at(&format!("{item}.{key}"))
                    .and_then(|at| at.scalar.as_deref())
                else {
                    continue;
                };
                let named = value == arn
                    || iam_eval::same_principal(value, arn)
                    || (!value.contains(':') && arn.rsplit('/').next() == Some(value));
                if named {
                    return self.at(&item).cloned();
                }
            }
        }
        None
    }

    fn cluster_mappings(&mut self) {
        let state = self.state;
        for (name, cluster) in &state.clusters {
            let aws_auth = cluster
                .aws_auth
                .iter()
                .flat_map(|aws_auth| aws_auth.entries.iter())
                .filter(|entry| entry.groups.iter().any(|g| g == rbac::MASTERS_GROUP))
                .map(|entry| entry.arn.clone());
            let entries = cluster
                .access_entries
                .iter()
                .filter(|(_, entry)| entry.groups.contains(rbac::MASTERS_GROUP))
                .map(|(arn, _)| arn.clone());
            let arns: std::collections::BTreeSet<String> = aws_auth.chain(entries).collect();
            for arn in arns {
                let at = self
                    .access_item(name, &arn)
                    .or_else(|| self.at(&format!("clusters.{name}.access")).cloned());
                self.push(
                    SYSTEM_MASTERS,
                    Severity::Medium,
                    at.as_ref(),
                    format!("{arn} is mapped into `system:masters` in cluster {name}"),
                );
            }
        }
    }

    fn cluster_roles(&mut self) {
        let state = self.state;
        for (cluster_name, cluster) in &state.clusters {
            for (binding_name, binding) in &cluster.cluster_role_bindings {
                let role = &binding.role_ref.name;
                let (rules, _) = rbac::cluster_role_rules(cluster, role);
                let wildcard = rules
                    .iter()
                    .any(|rule| rule.verbs.contains("*") || rule.resources.contains("*"));
                if wildcard && !binding.subjects.is_empty() {
                    let at = self.first_at(&[
                        format!("clusters.{cluster_name}.bindings.{binding_name}"),
                        format!("clusters.{cluster_name}.clusterRoles.{role}"),
                    ]);
                    self.push(WILDCARD_CLUSTER_ROLE, Severity::Medium, at.as_ref(), format!("ClusterRoleBinding {binding_name} grants ClusterRole {role}, which has wildcard verbs or resources, in every namespace of cluster {cluster_name}"));
                }
            }
            // Roles held by someone that can hand out any role.
            let bound_cluster_roles: std::collections::BTreeSet<&String> = cluster
                .cluster_role_bindings
                .values()
                .chain(cluster.role_bindings.values())
                .filter(|b| b.role_ref.kind == crate::model::RoleRefKind::ClusterRole)
                .map(|b| &b.role_ref.name)
                .collect();
            for (name, role) in &cluster.cluster_roles {
                if bound_cluster_roles.contains(name) && can_escalate(role.rules.iter()) {
                    let at = self
                        .at(&format!("clusters.{cluster_name}.clusterRoles.{name}"))
                        .cloned();
                    self.push(ESCALATION_BIND, Severity::High, at.as_ref(), format!("ClusterRole {name} in cluster {cluster_name} can create role bindings and bind or escalate roles: whoever holds it can bind `cluster-admin`"));
                }
            }
            for (key, role) in &cluster.roles {
                let (namespace, name) = key.split_once('/').unwrap_or(("default", key));
                let bound = cluster.role_bindings.iter().any(|(binding_key, binding)| {
                    binding_key.starts_with(&format!("{namespace}/"))
                        && binding.role_ref.kind == crate::model::RoleRefKind::Role
                        && binding.role_ref.name == name
                });
                if bound && can_escalate(role.rules.iter()) {
                    let at = self
                        .at(&format!("clusters.{cluster_name}.roles.{key}"))
                        .cloned();
                    self.push(ESCALATION_BIND, Severity::High, at.as_ref(), format!("Role {key} in cluster {cluster_name} can create role bindings and bind or escalate roles: whoever holds it can bind `admin` or `cluster-admin` in {namespace}"));
                }
            }
        }
    }

    fn escalation(&mut self) {
        let state = self.state;
        let partition = state.partition.clone();
        let account = self.account.clone();
        let principals: Vec<Principal> = state
            .iam
            .users
            .keys()
            .filter_map(|name| Principal::user(state, name))
            .chain(
                state
                    .iam
                    .roles
                    .keys()
                    .filter_map(|name| Principal::role(state, name)),
            )
            .collect();
        for principal in principals {
            let at = self
                .at(&format!(
                    "iam.{}.{}",
                    if principal.kind == iam_eval::PrincipalKind::User {
                        "users"
                    } else {
                        "roles"
                    },
                    principal.name
                ))
                .cloned();
            // Someone already allowed everything escalates nowhere (`iam-wildcard-admin` and
            // the attached policy say it).
            let everything = iam_eval::evaluate(state, &principal, "accessctl-lint:AnyAction", "*");
            if everything.is_allowed() {
                continue;
            }
            let mut targets: Vec<(&str, String)> = Vec::new();
            let label = principal.label();
            match principal.kind {
                iam_eval::PrincipalKind::User => {
                    targets.push(("iam:AttachUserPolicy", principal.arn.clone()));
                    targets.push(("iam:PutUserPolicy", principal.arn.clone()));
                    if let Some(user) = state.iam.users.get(&principal.name) {
                        for group in &user.groups {
                            let path = state.iam.groups.get(group).map_or("/", |g| g.path.as_str());
                            let arn = format!("arn:{partition}:iam::{account}:group{path}{group}");
                            targets.push(("iam:AttachGroupPolicy", arn.clone()));
                            targets.push(("iam:PutGroupPolicy", arn));
                        }
                        for policy in &user.managed_policies {
                            targets.push(("iam:CreatePolicyVersion", policy.clone()));
                        }
                    }
                }
                iam_eval::PrincipalKind::Role => {
                    targets.push(("iam:AttachRolePolicy", principal.arn.clone()));
                    targets.push(("iam:PutRolePolicy", principal.arn.clone()));
                    if let Some(role) = state.iam.roles.get(&principal.name) {
                        for policy in &role.managed_policies {
                            targets.push(("iam:CreatePolicyVersion", policy.clone()));
                        }
                    }
                }
                iam_eval::PrincipalKind::External => {}
            }
            let customer_prefix = format!("arn:{partition}:iam::{account}:policy/");
            for (action, resource) in targets {
                if action == "iam:CreatePolicyVersion" && !resource.starts_with(&customer_prefix) {
                    continue;
                }
                if let Decision::Allowed { by } =
                    iam_eval::evaluate(state, &principal, action, &resource)
                {
                    self.push(ESCALATION_SELF_ATTACH, Severity::High, at.as_ref(), format!("{label} can `{action}` on {resource} ({by}): it can grant itself any permission"));
                    break;
                }
            }
            let other_users = state
                .iam
                .users
                .iter()
                .filter(|(name, _)| {
                    principal.kind != iam_eval::PrincipalKind::User || **name != principal.name
                })
                .map(|(name, user)| crate::model::arn::user(&partition, &account, &user.path, name))
                .chain([format!(
                    "arn:{partition}:iam::{account}:user/accessctl-lint-any-user"
                )]);
            for user in other_users {
                if let Decision::Allowed { by } =
                    iam_eval::evaluate(state, &principal, "iam:CreateAccessKey", &user)
                {
                    self.push(
                        ESCALATION_ACCESS_KEYS,
                        Severity::High,
                        at.as_ref(),
                        format!(
                            "{label} can create access keys for other users, e.g. {user} ({by})"
                        ),
                    );
                    break;
                }
            }
            let roles = state
                .iam
                .roles
                .iter()
                .map(|(name, role)| crate::model::arn::role(&partition, &account, &role.path, name))
                .chain([format!(
                    "arn:{partition}:iam::{account}:role/accessctl-lint-any-role"
                )]);
            for role in roles {
                if let Decision::Allowed { by } =
                    iam_eval::evaluate(state, &principal, "iam:UpdateAssumeRolePolicy", &role)
                {
                    self.push(ESCALATION_TRUST, Severity::High, at.as_ref(), format!("{label} can rewrite the trust policy of {role} ({by}) and let itself assume it"));
                    break;
                }
            }
        }
    }
}

/// The account a principal pattern opens the trust to, when it is a whole account other than
/// `own`.
fn foreign_account(principal: &str, own: &str) -> Option<String> {
    if principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()) {
        return (principal != own).then(|| principal.to_string());
    }
    let arn = crate::model::parse_arn(principal)?;
    (arn.service == "iam" && arn.resource == "root" && arn.account != own)
        .then(|| arn.account.to_string())
}

/// Can the holder of these rules create bindings to roles it does not hold: `create` on
/// rolebindings or clusterrolebindings and `bind`/`escalate` on roles or clusterroles (or `*`),
/// short of already holding everything?
fn can_escalate<'r>(rules: impl Iterator<Item = &'r PolicyRule> + Clone) -> bool {
    let request = |verb: &str, resource: &str| rbac::Request {
        verb: verb.to_string(),
        api_group: "rbac.authorization.k8s.io".to_string(),
        resource: resource.to_string(),
        subresource: String::new(),
        name: "cluster-admin".to_string(),
        namespace: None,
    };
    let allows = |verb: &str, resource: &str| {
        rules
            .clone()
            .any(|rule| rbac::rule_allows(rule, &request(verb, resource)))
    };
    let everything = rules.clone().any(|rule| {
        rule.verbs.contains("*") && rule.resources.contains("*") && rule.api_groups.contains("*")
    });
    let create_binding =
        allows("create", "rolebindings") || allows("create", "clusterrolebindings");
    let bind = ["bind", "escalate"]
        .iter()
        .any(|verb| allows(verb, "roles") || allows(verb, "clusterroles"));
    !everything && create_binding && bind
}

/// Counts by severity.
pub fn summary(findings: &[Finding]) -> BTreeMap<Severity, usize> {
    let mut counts = BTreeMap::new();
    for finding in findings {
        *counts.entry(finding.severity).or_insert(0) += 1;
    }
    counts
}

/// `file:line:col: severity [rule] message` and a hint line per finding, then a summary.
pub fn render_text(findings: &[Finding], file: &str) -> String {
    let mut out = String::new();
    for finding in findings {
        let place = if finding.line == 0 {
            file.to_string()
        } else {
            format!("{file}:{}:{}", finding.line, finding.column)
        };
        let _ = writeln!(
            out,
            "{place}: {} [{}] {}",
            finding.severity.as_str(),
            finding.rule,
            finding.message
        );
        let _ = writeln!(out, "  hint: {}", finding.hint);
    }
    let counts = summary(findings);
    let count = |severity| counts.get(&severity).copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "{} finding{}: {} high, {} medium, {} low",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        count(Severity::High),
        count(Severity::Medium),
        count(Severity::Low)
    );
    out
}

/// The JSON form (`format_version` 1).
pub fn render_json(findings: &[Finding], file: &str) -> String {
    let counts = summary(findings);
    let count = |severity| counts.get(&severity).copied().unwrap_or(0);
    let value = json!({
        "format_version": 1,
        "file": file,
        "findings": findings.iter().map(|finding| json!({
            "rule": finding.rule,
            "severity": finding.severity,
            "line": finding.line,
            "column": finding.column,
            "message": finding.message,
            "hint": finding.hint,
        })).collect::<Vec<Value>>(),
        "summary": {
            "high": count(Severity::High),
            "medium": count(Severity::Medium),
            "low": count(Severity::Low),
        },
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// SARIF 2.1.0, for code-scanning tools. `file` is the artifact URI as given (relative paths
/// stay relative to the checkout).
pub fn render_sarif(findings: &[Finding], file: &str) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id,
                "name": rule.id,
                "shortDescription": {"text": rule.summary},
                "help": {"text": rule.hint},
                "defaultConfiguration": {"level": rule.severity.sarif_level()},
                "properties": {"severity": rule.severity.as_str()},
            })
        })
        .collect();
    let uri = file.replace('\\', "/");
    let results: Vec<Value> = findings
        .iter()
        .map(|finding| {
            json!({
                "ruleId": finding.rule,
                "ruleIndex": RULES.iter().position(|rule| rule.id == finding.rule).unwrap_or(0),
                "level": finding.severity.sarif_level(),
                "message": {"text": format!("{} (hint: {})", finding.message, finding.hint)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {
                            "startLine": finding.line.max(1),
                            "startColumn": finding.column.max(1),
                        },
                    },
                }],
                "properties": {"severity": finding.severity.as_str()},
            })
        })
        .collect();
    let value = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "accessctl",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                },
            },
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Facts, load_text};

    const HEAD: &str = "version: 1\naccount: \"111122223333\"\n";

    /// The rule ids (with severities) that fire on a file.
    fn fired(body: &str) -> Vec<(&'static str, Severity)> {
        let text = format!("{HEAD}{body}");
        let desired = match load_text("access.yaml", &text, &Facts::default()) {
            Ok(desired) => desired,
            Err(diagnostics) => panic!("the test file is invalid: {diagnostics:?}"),
        };
        lint(&desired.state, &Locations::new())
            .into_iter()
            .map(|finding| (finding.rule, finding.severity))
            .collect()
    }

    fn policy(statement: &str) -> String {
        format!(
            "iam:\n  policies:\n    P:\n      document:\n        Version: \"2012-10-17\"\n        Statement:\n          - {statement}\n  users:\n    u:\n      policies: [P]\n"
        )
    }

    fn role_trust(document_statement: &str) -> String {
        format!(
            "iam:\n  roles:\n    r:\n      trust:\n        document:\n          Version: \"2012-10-17\"\n          Statement:\n            - {document_statement}\n"
        )
    }

    #[test]
    fn wildcard_admin() {
        assert_eq!(
            fired(&policy("{Effect: Allow, Action: \"*\", Resource: \"*\"}")),
            [(WILDCARD_ADMIN, Severity::High)]
        );
        assert_eq!(
            fired(&policy(
                "{Effect: Allow, Action: \"s3:*\", Resource: \"*\"}"
            )),
            []
        );
        assert_eq!(
            fired(&policy("{Effect: Deny, Action: \"*\", Resource: \"*\"}")),
            []
        );
    }

    #[test]
    fn passrole_on_every_role() {
        assert_eq!(
            fired(&policy(
                "{Effect: Allow, Action: iam:PassRole, Resource: \"*\"}"
            )),
            [(PASSROLE_WILDCARD, Severity::High)]
        );
        assert!(
            fired(&policy(
                "{Effect: Allow, Action: \"iam:*\", Resource: \"arn:aws:iam::111122223333:role/*\"}"
            ))
            .contains(&(PASSROLE_WILDCARD, Severity::High))
        );
        assert_eq!(
            fired(&policy(
                "{Effect: Allow, Action: iam:PassRole, Resource: \"*\", Condition: {StringEquals: {iam:PassedToService: eks.amazonaws.com}}}"
            )),
            [(PASSROLE_WILDCARD, Severity::Low)]
        );
        assert_eq!(
            fired(&policy(
                "{Effect: Allow, Action: iam:PassRole, Resource: \"arn:aws:iam::111122223333:role/app\"}"
            )),
            []
        );
    }

    #[test]
    fn open_trust() {
        assert_eq!(
            fired(&role_trust(
                "{Effect: Allow, Principal: \"*\", Action: sts:AssumeRole}"
            )),
            [(TRUST_OPEN, Severity::High)]
        );
        assert_eq!(
            fired("iam:\n  roles:\n    r:\n      trust: {accounts: [\"999988887777\"]}\n"),
            [(TRUST_OPEN, Severity::Medium)]
        );
        // A condition, the own account, or a named role: no finding.
        assert_eq!(
            fired(&role_trust(
                "{Effect: Allow, Principal: {AWS: \"999988887777\"}, Action: sts:AssumeRole, Condition: {StringEquals: {sts:ExternalId: x}}}"
            )),
            []
        );
        assert_eq!(
            fired("iam:\n  roles:\n    r:\n      trust: {accounts: [\"111122223333\"]}\n"),
            []
        );
        assert_eq!(
            fired(&role_trust(
                "{Effect: Allow, Principal: {AWS: \"arn:aws:iam::999988887777:role/ci\"}, Action: sts:AssumeRole}"
            )),
            []
        );
    }

    #[test]
    fn irsa_trust_without_sub() {
        let provider =
            "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
        let issuer = "oidc.eks.us-east-1.amazonaws.com/id/ABC";
        assert_eq!(
            fired(&role_trust(&format!(
                "{{Effect: Allow, Principal: {{Federated: \"{provider}\"}}, Action: sts:AssumeRoleWithWebIdentity, Condition: {{StringEquals: {{\"{issuer}:aud\": sts.amazonaws.com}}}}}}"
            ))),
            [(IRSA_WITHOUT_SUB, Severity::High)]
        );
        assert_eq!(
            fired(&role_trust(&format!(
                "{{Effect: Allow, Principal: {{Federated: \"{provider}\"}}, Action: sts:AssumeRoleWithWebIdentity, Condition: {{StringLike: {{\"{issuer}:sub\": \"system:serviceaccount:*\"}}}}}}"
            ))),
            [(IRSA_WITHOUT_SUB, Severity::Medium)]
        );
        assert_eq!(
            fired(&role_trust(&format!(
                "{{Effect: Allow, Principal: {{Federated: \"{provider}\"}}, Action: sts:AssumeRoleWithWebIdentity, Condition: {{StringEquals: {{\"{issuer}:sub\": \"system:serviceaccount:app:web\"}}}}}}"
            ))),
            []
        );
        // The sugar always writes `sub`.
        assert_eq!(
            fired(
                "iam:\n  roles:\n    r:\n      trust: {serviceAccounts: [demo/app/web]}\nclusters:\n  demo:\n    oidcIssuer: https://oidc.eks.us-east-1.amazonaws.com/id/ABC\n    namespaces: [app]\n"
            ),
            []
        );
    }

    const MAPPED: &str = "iam:\n  users:\n    u: {}\nclusters:\n  demo:\n    access:\n      - user: u\n        username: u\n";

    #[test]
    fn system_masters_mappings() {
        assert_eq!(
            fired(&format!("{MAPPED}        groups: [\"system:masters\"]\n")),
            [(SYSTEM_MASTERS, Severity::Medium)]
        );
        assert_eq!(fired(&format!("{MAPPED}        groups: [admins]\n")), []);
    }

    fn cluster_role(rules: &str, binding: &str) -> String {
        format!(
            "clusters:\n  demo:\n    namespaces: [app]\n    clusterRoles:\n      c:\n        rules:\n          - {rules}\n    bindings:\n      {binding}\n"
        )
    }

    #[test]
    fn wildcard_cluster_roles_bound_cluster_wide() {
        let wildcard = "{apiGroups: [\"\"], resources: [\"*\"], verbs: [get]}";
        assert_eq!(
            fired(&cluster_role(wildcard, "c: {clusterRole: c, groups: [g]}")),
            [(WILDCARD_CLUSTER_ROLE, Severity::Medium)]
        );
        // Bound in one namespace only, or without wildcards: no finding.
        assert_eq!(
            fired(&cluster_role(
                wildcard,
                "app/c: {clusterRole: c, groups: [g]}"
            )),
            []
        );
        assert_eq!(
            fired(&cluster_role(
                "{apiGroups: [\"\"], resources: [pods], verbs: [get]}",
                "c: {clusterRole: c, groups: [g]}"
            )),
            []
        );
        // The built-in cluster-admin is a wildcard role too.
        assert_eq!(
            fired(
                "clusters:\n  demo:\n    bindings:\n      admins: {clusterRole: cluster-admin, groups: [admins]}\n"
            ),
            [(WILDCARD_CLUSTER_ROLE, Severity::Medium)]
        );
    }

    #[test]
    fn rbac_escalation_through_bind() {
        let binder = "{apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings, clusterroles], verbs: [create, bind]}";
        assert_eq!(
            fired(&cluster_role(binder, "app/c: {clusterRole: c, users: [x]}")),
            [(ESCALATION_BIND, Severity::High)]
        );
        let escalate = "{apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings, roles], verbs: [create, escalate]}";
        assert_eq!(
            fired(&cluster_role(
                escalate,
                "app/c: {clusterRole: c, users: [x]}"
            )),
            [(ESCALATION_BIND, Severity::High)]
        );
        // Creating bindings without bind/escalate is checked by the API server: no finding.
        let creator =
            "{apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create]}";
        assert_eq!(
            fired(&cluster_role(
                creator,
                "app/c: {clusterRole: c, users: [x]}"
            )),
            []
        );
        // Not bound: nobody holds it.
        assert_eq!(
            fired(&format!(
                "clusters:\n  demo:\n    clusterRoles:\n      c:\n        rules:\n          - {binder}\n"
            )),
            []
        );
    }

    #[test]
    fn iam_escalation_paths() {
        assert_eq!(
            fired(&policy(
                "{Effect: Allow, Action: iam:PutUserPolicy, Resource: \"user:u\"}"
            )),
            [(ESCALATION_SELF_ATTACH, Severity::High)]
        );
        assert_eq!(
            fired(&policy(
                "{Effect: Allow, Action: \"iam:Attach*\", Resource: \"*\"}"
            )),
            [(ESCALATION_SELF_ATTACH, Severity::High)]
        );
        // On someone else only, or only its own access keys: no self-attach, no key-maker.
        assert_eq!(
            fired(&policy(
                "{Effect: Allow, Action: iam:PutUserPolicy, Resource: \"arn:aws:iam::111122223333:user/other\"}"
            )),
            []
        );
        assert_eq!(
            fired(&policy(
                "{Effect: Allow, Action: iam:CreateAccessKey, Resource: \"arn:aws:iam::111122223333:user/${aws:username}\"}"
            )),
            []
        );
        assert_eq!(
            fired(&policy(
                "{Effect: Allow, Action: iam:CreateAccessKey, Resource: \"*\"}"
            )),
            [(ESCALATION_ACCESS_KEYS, Severity::High)]
        );
        assert_eq!(
            fired(&policy(
                "{Effect: Allow, Action: iam:UpdateAssumeRolePolicy, Resource: \"*\"}"
            )),
            [(ESCALATION_TRUST, Severity::High)]
        );
        assert_eq!(
            fired(&policy(
                "{Effect: Allow, Action: iam:UpdateAssumeRolePolicy, Resource: \"*\", Condition: {Bool: {aws:MultiFactorAuthPresent: \"true\"}}}"
            )),
            []
        );
        // A principal allowed everything already has it all: only iam-wildcard-admin.
        assert_eq!(
            fired(&policy("{Effect: Allow, Action: \"*\", Resource: \"*\"}")),
            [(WILDCARD_ADMIN, Severity::High)]
        );
    }

    #[test]
    fn rules_have_unique_ids() {
        let ids: std::collections::BTreeSet<&str> = RULES.iter().map(|rule| rule.id).collect();
        assert_eq!(ids.len(), RULES.len());
    }
}
