//! `lint`: risky access patterns in a desired state, each finding with a severity, the place in
//! access.yaml it comes from and a hint; rendered as text, JSON or SARIF 2.1.0. No I/O.
//!
//! The rules are listed in [`RULES`] (ids are stable: CI configurations name them). Files:
//! this one (the rules), `location` (where a finding points in the file), `render` (text,
//! JSON, SARIF), `tests`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::iam_eval::Analysis;
use super::rbac;
use crate::model::policy::{Effect, matching};
use crate::model::{PolicyDocument, State};
use crate::spec::SourceLocation;

mod data;
mod escalation;
mod hygiene;
mod kubernetes;
mod location;
mod render;

pub use render::{render_json, render_sarif, render_text, summary};

/// How bad a finding is. Ordered: `Low < Medium < High`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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
    pub(super) fn sarif_level(self) -> &'static str {
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
    /// What the rule fires on, in full: the `fires on` column of docs/insight.md's rule table
    /// (a test keeps the two the same) and SARIF's `fullDescription`.
    pub description: &'static str,
}

/// Where each rule is documented: docs/insight.md, whose rule table has an anchor per rule id.
pub const RULES_DOC: &str = "docs/insight.md";

impl RuleInfo {
    /// SARIF's `helpUri`: the rule's row in docs/insight.md, relative to the checkout (SARIF
    /// resolves a relative reference against the run's `originalUriBaseIds`, the source root).
    pub fn help_uri(&self) -> String {
        format!("{RULES_DOC}#{}", self.id)
    }
}

/// Declares each rule once: its id constant and its entry in [`RULES`].
macro_rules! rules {
    ($($name:ident {
        id: $id:literal,
        severity: $severity:ident,
        summary: $summary:literal,
        hint: $hint:literal,
        description: $description:literal,
    })*) => {
        $(pub const $name: &str = $id;)*

        /// Every rule, in the order they are documented.
        pub const RULES: [RuleInfo; [$($id),*].len()] = [$(RuleInfo {
            id: $name,
            severity: Severity::$severity,
            summary: $summary,
            hint: $hint,
            description: $description,
        }),*];
    };
}

rules! {
    WILDCARD_ADMIN {
        id: "iam-wildcard-admin",
        severity: High,
        summary: "an identity policy allows every action on every resource (`Action: \"*\"`, or a `NotAction` that leaves IAM's policy-writing actions in)",
        hint: "grant the actions and resources the principal needs; for administrators attach `aws:AdministratorAccess` knowingly",
        description: "an identity policy statement allowing every action on every resource: `Action: \"*\"`, or a `NotAction` (everything but a few actions) that still allows any of IAM's policy-writing actions (`iam:Attach*Policy`, `iam:Put*Policy`, `iam:CreatePolicyVersion`), on `Resource: \"*\"` or a `NotResource`. The escalation rules skip a principal holding one (it escalates nowhere)",
    }
    PASSROLE_WILDCARD {
        id: "iam-passrole-wildcard",
        severity: High,
        summary: "`iam:PassRole` on every role (low when a condition restricts it)",
        hint: "name the roles in `Resource` and restrict `iam:PassedToService`",
        description: "`Allow` of `iam:PassRole` (or `iam:*`, `iam:Pass*`) on every role (`*`, `…:role/*`)",
    }
    TRUST_OPEN {
        id: "iam-trust-open",
        severity: High,
        summary: "a trust policy open to `*` (high) or to a whole foreign account (medium) without a condition",
        hint: "name the trusted role or user ARNs, or add a condition (`sts:ExternalId`, `aws:PrincipalOrgID`)",
        description: "a trust `Allow` without a condition for `Principal: \"*\"` or with `NotPrincipal` (high), or for the root of an account other than the file's (medium)",
    }
    IRSA_WITHOUT_SUB {
        id: "iam-irsa-trust-without-sub",
        severity: High,
        summary: "an IRSA (web identity) trust without a `sub` condition: any pod of the cluster can assume the role (medium when `sub` is a wildcard)",
        hint: "use `trust.serviceAccounts: [cluster/namespace/name]`, which adds `sub` and `aud` conditions",
        description: "a web-identity trust on an EKS OIDC provider without a `…:sub` condition: any service account of the cluster can assume the role",
    }
    FEDERATED_WITHOUT_SUB {
        id: "federated-trust-without-sub",
        severity: High,
        summary: "a GitHub, GitLab or other OIDC (not EKS) web-identity trust without a `sub` condition: any repository can assume the role (medium when `sub` is a wildcard)",
        hint: "use `trust.githubActions` or `trust.gitlab`, which add `sub` and `aud` conditions; for another provider add `StringEquals` on `ISSUER:sub`",
        description: "a web-identity trust on any other OIDC provider — GitHub Actions (`token.actions.githubusercontent.com`), GitLab, … — without a `…:sub` condition (under `StringEquals`/`StringLike`; a negated one does not count): any repository's workflow can assume the role. `trust.githubActions` and `trust.gitlab` always write `sub` and `aud`",
    }
    SYSTEM_MASTERS {
        id: "eks-system-masters",
        severity: Medium,
        summary: "a cluster mapping into `system:masters`, which no RBAC object can take back",
        hint: "map into a named group bound to `cluster-admin`, or use an access entry with `AmazonEKSClusterAdminPolicy`",
        description: "an aws-auth entry or access entry mapping into `system:masters`",
    }
    WILDCARD_CLUSTER_ROLE {
        id: "rbac-wildcard-cluster-wide",
        severity: Medium,
        summary: "a ClusterRole with wildcard verbs or resources bound cluster-wide",
        hint: "list the verbs and resources, or bind it with RoleBindings in the namespaces that need it",
        description: "a ClusterRoleBinding of a ClusterRole with `*` in `verbs` or `resources` (the built-in `cluster-admin` included)",
    }
    ESCALATION_SELF_ATTACH {
        id: "iam-escalation-self-attach",
        severity: High,
        summary: "a principal can attach or write policies on itself (or its groups)",
        hint: "remove `iam:Attach*Policy`/`iam:Put*Policy` on the principal's own ARNs; a user's own: `arn:aws:iam::ACCOUNT:user/${aws:username}` is for keys and passwords, not policies",
        description: "a user or role allowed `iam:Attach*Policy`/`iam:Put*Policy` on itself (a user: or on its groups): Rhino's AttachUserPolicy, AttachGroupPolicy, PutUserPolicy, PutGroupPolicy",
    }
    ESCALATION_ACCESS_KEYS {
        id: "iam-escalation-create-access-key",
        severity: High,
        summary: "a principal can create access keys for another user holding rights it does not",
        hint: "restrict `iam:CreateAccessKey` to `arn:aws:iam::ACCOUNT:user/${aws:username}`",
        description: "a principal allowed `iam:CreateAccessKey` on another user holding rights it does not (or on users the file does not declare)",
    }
    ESCALATION_TRUST {
        id: "iam-escalation-update-trust",
        severity: High,
        summary: "a principal can rewrite the trust policy of a role holding rights it does not, then assume it",
        hint: "grant `iam:UpdateAssumeRolePolicy` only to the deployment role, on named roles",
        description: "a principal allowed `iam:UpdateAssumeRolePolicy` on another role holding rights it does not (or on roles the file does not declare): it can trust itself, then `sts:AssumeRole`",
    }
    ESCALATION_BIND {
        id: "rbac-escalation-bind",
        severity: High,
        summary: "a subject can create role bindings and bind or escalate roles: it can bind `cluster-admin`",
        hint: "drop the `bind`/`escalate` verbs (and `*`) on roles and clusterroles",
        description: "a binding or access policy allowing `create` on rolebindings (or clusterrolebindings, cluster-wide) and `bind` or `escalate` on roles or clusterroles (or `*`; a `bind` limited by `resourceNames` counts only when it names `cluster-admin`), short of `*` on everything. One finding per binding, naming the IAM principals mapped to its subjects (via aws-auth or access entries), or the subject itself",
    }
    LONG_LIVED_CI_KEY {
        id: "long-lived-ci-key",
        severity: Medium,
        summary: "a user with `accessKeys` whose policies only reach EKS and ECR: a CI identity holding a long-lived key",
        hint: "give CI a role with `trust: {githubActions: [{repo: ORG/REPO, ref: refs/heads/BRANCH}]}` (or `trust.gitlab`) instead of a key, then drop `accessKeys`",
        description: "a user with `accessKeys` whose policies (its own, inline and its groups') allow only EKS and ECR actions (`eks:*`, `ecr:*`, `ecr-public:*`, `sts:GetCallerIdentity`; AWS-managed `AmazonEKS*`, `AmazonEC2ContainerRegistry*`, `AmazonElasticContainerRegistryPublic*`): a CI identity with a long-lived key. Use a role with `trust: {githubActions: …}` (or `trust.gitlab`) instead. An unknown policy or a `NotAction` keeps it quiet",
    }
    STALE_ACCESS_KEY {
        id: "stale-access-key",
        severity: Medium,
        summary: "(with live state) an active access key older than the user's `rotateAfterDays`, or unused for 90 days",
        hint: "run `accessctl apply` to rotate it; a key nobody uses can go: remove `accessKeys` or its consumer",
        description: "with `--live-state` only: an active key older than the user's `rotateAfterDays` (default 90), or unused (never used) for 90 days; the finding names the masked key id (`AKIA…WXYZ`) and its age, never a secret",
    }
    // Kubernetes RBAC escalations, followed back to the IAM principals mapped to the subject
    // (`kubernetes.rs`).
    ESCALATION_EXEC {
        id: "rbac-escalation-exec",
        severity: High,
        summary: "a subject can exec into or attach to pods cluster-wide or in kube-system (a shell with every pod's service-account token)",
        hint: "grant `pods/exec` and `pods/attach` with RoleBindings in the namespaces of the workloads, never cluster-wide or in kube-system (`view` has neither; `edit` and `admin` have both)",
        description: "a binding or access policy allowing `create` or `get` (a WebSocket upgrade is a GET) on `pods/exec` or `pods/attach` cluster-wide or in `kube-system` (`*` verbs, resources and API groups included; a rule limited by `resourceNames` is not any pod). The built-in `edit` and `admin` and the access policies `AmazonEKSEditPolicy` and `AmazonEKSAdminPolicy` allow it, `view` does not",
    }
    ESCALATION_IMPERSONATE {
        id: "rbac-escalation-impersonate",
        severity: High,
        summary: "a subject can impersonate any user or group, or any service account cluster-wide or in kube-system",
        hint: "drop `impersonate`, or limit it with `resourceNames` to the identities the subject must act as",
        description: "a binding or access policy allowing `impersonate` on `users` or `groups` (cluster-wide: they are not namespaced), or on `serviceaccounts` cluster-wide or in `kube-system`, not limited by `resourceNames`. `userextras` and `uids` only add to an impersonated user; `edit` and `admin` bound in another namespace impersonate that namespace's service accounts only",
    }
    ESCALATION_SELF_ROLE {
        id: "rbac-escalation-self-role",
        severity: High,
        summary: "a subject can rewrite a role it is bound to (`update`/`patch` with `escalate`): it can grant itself any rule",
        hint: "drop `escalate` (and `*` verbs) on roles and clusterroles; without it the API server refuses rules the subject does not already hold",
        description: "a subject allowed `update` or `patch`, and `escalate`, on the Role or ClusterRole of one of its own bindings (by any of its grants, `*` included). Without `escalate` the API server refuses an update that adds a rule the subject does not already hold, so `update`/`patch` alone does not fire",
    }
    SECRETS_CLUSTER_WIDE {
        id: "rbac-secrets-cluster-wide",
        severity: High,
        summary: "a subject can read the secrets of every namespace (service-account tokens and every credential of the cluster)",
        hint: "grant `secrets` with RoleBindings in the namespaces that need them, or name the secrets in `resourceNames`",
        description: "a ClusterRoleBinding or cluster-wide access policy allowing `get`, `list` or `watch` on `secrets` in every namespace (wildcards included; not when limited by `resourceNames`). `edit` and `admin` include it, `view` does not",
    }
    ESCALATION_KUBE_SYSTEM_WORKLOADS {
        id: "rbac-escalation-kube-system-workloads",
        severity: High,
        summary: "a subject can create (or rewrite) pods or workloads in kube-system, which can run as any of its service accounts",
        hint: "deploy into kube-system from the cluster's deployment pipeline only; bind CI roles in the application namespaces",
        description: "a binding or access policy allowing `create`, `update` or `patch` on `pods` or a workload that makes pods (`deployments`, `daemonsets`, `statefulsets`, `replicasets`, `jobs`, `cronjobs`, `replicationcontrollers`) in `kube-system`, cluster-wide grants included (not when limited by `resourceNames`): such a pod can mount the token of any service account there",
    }
    // Hygiene (src/insight/lint/hygiene.rs), against the action catalogue.
    IAM_UNKNOWN_ACTION {
        id: "iam-unknown-action",
        severity: Medium,
        summary: "an action, service prefix or action wildcard AWS does not have (low when no known action is close: it may be newer than the catalogue)",
        hint: "spell the action as the Service Authorization Reference does; if AWS added it after the catalogue's date, regenerate it with `scripts/update-action-catalogue`",
        description: "an `Action` or `NotAction` of an identity or trust policy that the action catalogue does not know: an unknown action of a known service (`s3:GetObjet`, with the closest action: did you mean `s3:GetObject`?), an unknown service prefix (`s4:GetObject`), or a wildcard that matches no action (`iam:Detele*`: did you mean `iam:Delete*`?). Names compare case-insensitively, as IAM's do. Medium for a typo (a known action is close: the statement silently allows or denies nothing) and for a wildcard that matches nothing; low for a name close to nothing, which may be newer than the catalogue (the message names the catalogue's version and date)",
    }
    IAM_RESOURCE_MISMATCH {
        id: "iam-resource-mismatch",
        severity: Low,
        summary: "an action none of whose statement's resources is of a type it acts on (medium in a `Deny`)",
        hint: "name the resources the action acts on, or move it to a statement that does (actions without resource-level permissions take only `*`)",
        description: "an action (or every action a wildcard such as `s3:Get*` matches) for which no `Resource` of its statement matches an ARN pattern of the resource types the catalogue gives it: `s3:GetObject` on a bucket (`arn:aws:s3:::bucket`, no `/key`), `iam:PassRole` on a user, `s3:ListAllMyBuckets` on anything but `*`. The statement allows (or denies) the action nowhere. `*`, wildcards and policy variables (`${aws:username}`) in a resource match whatever they could; a statement with `Resource: \"*\"` or `NotResource`, and patterns across services (`*:Get*`), are not checked. Low, medium in a `Deny` (it protects nothing)",
    }
    // Issue 19: the classic escalation methods, data exfiltration and resource exposure.
    ESCALATION_POLICY_VERSION {
        id: "iam-escalation-policy-version",
        severity: High,
        summary: "a principal can write or choose the default version of a customer policy attached to it",
        hint: "grant `iam:CreatePolicyVersion`/`iam:SetDefaultPolicyVersion` only to the deployment role, never on policies attached to the principal itself",
        description: "a user or role allowed `iam:CreatePolicyVersion` or `iam:SetDefaultPolicyVersion` on a customer policy attached to it (a user: or to its groups)",
    }
    ESCALATION_LOGIN_PROFILE {
        id: "iam-escalation-login-profile",
        severity: High,
        summary: "a principal can set the console password of another user holding rights it does not",
        hint: "restrict `iam:CreateLoginProfile`/`iam:UpdateLoginProfile` to `arn:aws:iam::ACCOUNT:user/${aws:username}`",
        description: "a principal allowed `iam:CreateLoginProfile` or `iam:UpdateLoginProfile` on another user holding rights it does not (or on users the file does not declare)",
    }
    ESCALATION_ASSUMABLE_ROLE {
        id: "iam-escalation-assumable-role-policy",
        severity: High,
        summary: "a principal can attach or write policies on a role it can assume",
        hint: "remove `iam:AttachRolePolicy`/`iam:PutRolePolicy` on the roles the principal can assume, or stop it assuming them",
        description: "a principal allowed `iam:AttachRolePolicy` or `iam:PutRolePolicy` on a role it can surely assume (directly or through a chain of roles, as `accessctl explain` follows it)",
    }
    ESCALATION_GROUP_MEMBERSHIP {
        id: "iam-escalation-group-membership",
        severity: High,
        summary: "a user can add itself to a group holding rights it does not",
        hint: "grant `iam:AddUserToGroup` only on groups that hold no more than the user, or to an administrator",
        description: "a user allowed `iam:AddUserToGroup` on a group it is not in that holds rights it does not (or on groups the file does not declare)",
    }
    ESCALATION_PASSROLE_COMPUTE {
        id: "iam-escalation-passrole-compute",
        severity: High,
        summary: "a principal can pass a role holding rights it does not to compute it starts",
        hint: "name the roles in `iam:PassRole`'s `Resource` (roles holding no more than the principal) and restrict `iam:PassedToService`",
        description: "a principal allowed `iam:PassRole` on a role holding rights it does not (or on roles the file does not declare) that trusts the service, and the actions that start that service's compute: `ec2:RunInstances`; `lambda:CreateFunction` + `lambda:InvokeFunction` or `lambda:CreateEventSourceMapping`; `glue:CreateDevEndpoint`, or `glue:CreateJob` + `glue:StartJobRun`; `cloudformation:CreateStack`; `datapipeline:CreatePipeline` + `datapipeline:PutPipelineDefinition`; `ecs:RegisterTaskDefinition` + `ecs:RunTask`; `sagemaker:CreateNotebookInstance` + `sagemaker:CreatePresignedNotebookInstanceUrl`, or `sagemaker:CreateTrainingJob`; `codebuild:CreateProject` + `codebuild:StartBuild`",
    }
    ESCALATION_COMPUTE_INJECTION {
        id: "iam-escalation-compute-injection",
        severity: High,
        summary: "a principal can put code or keys into compute that runs with a role (any function, endpoint or instance)",
        hint: "name the functions, endpoints or instances in `Resource`, or grant the action to the deployment role only",
        description: "a principal allowed, on every resource of the kind (not on named ones), `lambda:UpdateFunctionCode`, `glue:UpdateDevEndpoint`, `ssm:SendCommand`, `ec2-instance-connect:SendSSHPublicKey` or `sagemaker:CreatePresignedNotebookInstanceUrl`",
    }
    DATA_EXFILTRATION {
        id: "iam-data-exfiltration",
        severity: High,
        summary: "an identity policy allows reading secrets, keys or data on every resource (high for secrets on `*`, lower for data and for a whole service)",
        hint: "name the secrets, parameters, keys, buckets or tables in `Resource` (a prefix such as `arn:aws:s3:::BUCKET/*` is fine), or add a condition on them",
        description: "an `Allow` of `secretsmanager:GetSecretValue`, `ssm:GetParameter*`, `kms:Decrypt` (high on `*`, medium on all of the service's resources) or `s3:GetObject`, `dynamodb:GetItem`/`Scan`/`Query` (medium on `*`, low on all of the service's), without a condition that limits it; named resources are not reported",
    }
    RESOURCE_EXPOSURE {
        id: "iam-resource-exposure",
        severity: High,
        summary: "an identity policy allows rewriting resource policies or ACLs on every resource (medium for a whole service)",
        hint: "name the buckets, keys or secrets whose policies the principal manages in `Resource`",
        description: "an `Allow` of `s3:PutBucketPolicy`, `s3:PutBucketAcl`, `s3:PutObjectAcl`, `s3:PutBucketPublicAccessBlock`, `kms:PutKeyPolicy`, `kms:CreateGrant`, `secretsmanager:PutResourcePolicy`, `lambda:AddPermission`, `sns:AddPermission` or `sqs:AddPermission` on `*` (high) or on all of the service's resources (medium), without a condition that limits it; named resources are not reported",
    }
}

pub fn rule_info(id: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|rule| rule.id == id)
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// The file the place is in, when known: access.yaml, or the fragment of a directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
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
    analysis: Analysis<'a>,
    locations: &'a Locations,
    account: String,
    findings: Vec<Finding>,
}

/// Every finding, in file order.
pub fn lint(state: &State, locations: &Locations) -> Vec<Finding> {
    lint_live(state, None, locations)
}

/// Every finding, in file order; with `live` (a snapshot or a live read), the rules on facts
/// only the live state holds too (the users' access keys, their ages and last use).
pub fn lint_live(state: &State, live: Option<&State>, locations: &Locations) -> Vec<Finding> {
    let analysis = Analysis::new(state);
    let mut linter = Linter {
        state,
        locations,
        account: analysis.account().to_string(),
        analysis,
        findings: Vec::new(),
    };
    linter.identity_documents();
    linter.trust_documents();
    linter.cluster_mappings();
    linter.cluster_roles();
    linter.escalation();
    linter.kubernetes_escalations();
    linter.ci_keys();
    linter.hygiene();
    if let Some(live) = live {
        linter.stale_keys(live);
    }
    let mut findings = linter.findings;
    findings.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.rule, &a.message)
            .cmp(&(&b.file, b.line, b.column, b.rule, &b.message))
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
        self.push_with_hint(rule, severity, at, message, hint.to_string());
    }

    /// A finding with a hint of its own (a did-you-mean) rather than the rule's.
    fn push_with_hint(
        &mut self,
        rule: &'static str,
        severity: Severity,
        at: Option<&SourceLocation>,
        message: String,
        hint: String,
    ) {
        self.findings.push(Finding {
            rule,
            severity,
            file: at
                .filter(|at| !at.file.as_os_str().is_empty())
                .map(|at| at.file.display().to_string()),
            line: at.map_or(0, |at| at.line),
            column: at.map_or(0, |at| at.column),
            message,
            hint,
        });
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
        let holders = iam
            .users
            .iter()
            .map(|(owner, user)| ("users", "user", owner, &user.inline_policies))
            .chain(
                iam.groups
                    .iter()
                    .map(|(owner, group)| ("groups", "group", owner, &group.inline_policies)),
            )
            .chain(
                iam.roles
                    .iter()
                    .map(|(owner, role)| ("roles", "role", owner, &role.inline_policies)),
            );
        for (kind, label, owner, inline_policies) in holders {
            for (name, document) in inline_policies {
                list.push((
                    format!("inline policy {name} of {label} {owner}"),
                    document,
                    inline(kind, owner, name),
                ));
            }
        }
        list
    }

    fn identity_documents(&mut self) {
        let any_role = crate::model::arn::role(
            &self.state.partition,
            &self.account,
            "/",
            "accessctl-lint-any-role",
        );
        for (label, document, paths) in self.identity_documents_list() {
            for (statement, source) in document.statements_with_source() {
                if statement.effect() != Effect::Allow {
                    continue;
                }
                let resources: Vec<&str> = statement.resources().into_iter().flatten().collect();
                if escalation::admin_equivalent(statement) {
                    let at = self.statement_at(&paths, source);
                    let but = statement
                        .not_actions()
                        .map(|actions| {
                            let actions: Vec<String> =
                                actions.map(|action| format!("`{action}`")).collect();
                            format!(" but {}", actions.join(", "))
                        })
                        .unwrap_or_default();
                    self.push(
                        WILDCARD_ADMIN,
                        Severity::High,
                        at.as_ref(),
                        format!("{label} allows every action{but} on every resource"),
                    );
                    continue;
                }
                let at = self.statement_at(&paths, source);
                self.data_rules(&label, statement, at.as_ref());
                let passrole = statement.actions().is_some_and(|mut actions| {
                    actions.any(|pattern| matching::action_matches(pattern, "iam:PassRole"))
                });
                let any_role_resource = resources
                    .iter()
                    .any(|pattern| matching::wildcard_match(pattern, &any_role, false));
                if passrole && any_role_resource {
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
            for (statement, source) in role.trust.statements_with_source() {
                if statement.effect() != Effect::Allow {
                    continue;
                }
                let conditional = statement.has_condition();
                let at = self.statement_at(&paths, source);
                let mut open: Vec<(Severity, Option<SourceLocation>, String)> = Vec::new();
                for (kind, principal) in statement.principals().into_iter().flatten() {
                    if kind != "AWS" || conditional {
                        continue;
                    }
                    if principal == "*" {
                        let message = format!(
                            "the trust policy of role {name} lets any AWS principal assume it"
                        );
                        open.push((Severity::High, at.clone(), message));
                    } else if let Some(foreign) = foreign_account(principal, &self.account) {
                        let sugar = self.sugar_account(name, &foreign);
                        let message = format!(
                            "the trust policy of role {name} trusts every principal of account {foreign}"
                        );
                        open.push((Severity::Medium, sugar.or_else(|| at.clone()), message));
                    }
                }
                let not_principal = statement
                    .not_principals()
                    .is_some_and(|mut principals| principals.next().is_some());
                if not_principal && !conditional {
                    let message = format!(
                        "the trust policy of role {name} allows everyone but its `NotPrincipal`"
                    );
                    open.push((Severity::High, at.clone(), message));
                }
                for (severity, place, message) in open {
                    self.push(TRUST_OPEN, severity, place.as_ref(), message);
                }
                if !statement.matches_action("sts:AssumeRoleWithWebIdentity") {
                    continue;
                }
                let Some(provider) = web_identity_provider(statement) else {
                    continue;
                };
                // Only the provider's own `sub` claim narrows who it lets in.
                let sub_key = format!("{}:sub", provider.host()).to_ascii_lowercase();
                let subs: Vec<_> = statement
                    .conditions()
                    .filter(|condition| {
                        condition.key.to_ascii_lowercase() == sub_key
                            && restricts(condition.operator)
                    })
                    .collect();
                let wildcard = subs.iter().any(|condition| {
                    condition
                        .values()
                        .any(|value| value.contains('*') || value.contains('?'))
                });
                let (rule, anyone, several) = match provider {
                    Provider::Eks(_) => (
                        IRSA_WITHOUT_SUB,
                        "any service account of the cluster".to_string(),
                        "several service accounts".to_string(),
                    ),
                    Provider::Other(host) => {
                        let (anyone, several) = federated_subjects(&host);
                        (FEDERATED_WITHOUT_SUB, anyone, several)
                    }
                };
                if subs.is_empty() {
                    self.push(rule, Severity::High, at.as_ref(), format!("the web-identity trust of role {name} has no `sub` condition: {anyone} can assume it"));
                } else if wildcard {
                    self.push(rule, Severity::Medium, at.as_ref(), format!("the web-identity trust of role {name} matches `sub` with a wildcard: {several} can assume it"));
                }
            }
        }
    }

    fn cluster_mappings(&mut self) {
        let state = self.state;
        for (name, cluster) in &state.clusters {
            let aws_auth = cluster
                .aws_auth
                .iter()
                .flat_map(crate::model::AwsAuth::effective)
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
                let rules = rbac::cluster_role_rules(cluster, role);
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
        }
    }
}

/// Days without use after which an active key is stale, whatever `rotateAfterDays` says.
pub const UNUSED_DAYS: u32 = 90;

impl Linter<'_> {
    /// `long-lived-ci-key`: users with `accessKeys` whose every allowed action is CI-like.
    fn ci_keys(&mut self) {
        let state = self.state;
        for (name, declared) in &state.iam.access_keys {
            if declared.rotation.is_none() {
                continue;
            }
            let Some(user) = state.iam.users.get(name) else {
                continue;
            };
            if !ci_like(state, &self.account, user) {
                continue;
            }
            let at = self.first_at(&[
                format!("iam.users.{name}.accessKeys"),
                format!("iam.users.{name}"),
            ]);
            self.push(LONG_LIVED_CI_KEY, Severity::Medium, at.as_ref(), format!("user {name} only reaches EKS and ECR, as a CI system does, yet holds a long-lived access key (`accessKeys`)"));
        }
    }

    /// `stale-access-key`: the live keys of the users, against their `rotateAfterDays`.
    fn stale_keys(&mut self, live: &State) {
        for (name, keys) in &live.iam.access_keys {
            let rotate_after = self
                .state
                .iam
                .access_keys
                .get(name)
                .and_then(|declared| declared.rotation.as_ref())
                .map_or(crate::model::access_key::DEFAULT_ROTATE_AFTER_DAYS, |r| {
                    r.rotate_after_days
                });
            let at = self.first_at(&[
                format!("iam.users.{name}.accessKeys.rotateAfterDays"),
                format!("iam.users.{name}.accessKeys"),
                format!("iam.users.{name}"),
            ]);
            for key in &keys.keys {
                if key.status != crate::model::KeyStatus::Active {
                    continue;
                }
                let id = crate::model::access_key::mask(&key.id);
                let old = key.age_days > rotate_after;
                let unused = match key.unused_days {
                    Some(days) if days >= UNUSED_DAYS => {
                        Some(format!("was last used {days} days ago"))
                    }
                    None if key.age_days >= UNUSED_DAYS => Some("was never used".to_string()),
                    _ => None,
                };
                let mut message = format!(
                    "access key {id} of user {name} is {} days old",
                    key.age_days
                );
                match (old, unused) {
                    (false, None) => continue,
                    (true, None) => message.push_str(&format!(", rotateAfterDays {rotate_after}")),
                    (false, Some(unused)) => message.push_str(&format!(" and {unused}")),
                    (true, Some(unused)) => {
                        message.push_str(&format!(", rotateAfterDays {rotate_after}, and {unused}"))
                    }
                }
                self.push(STALE_ACCESS_KEY, Severity::Medium, at.as_ref(), message);
            }
        }
    }
}

/// Does every action `user`'s policies (its own, inline, and its groups') allow belong to CI
/// reaching EKS and ECR? Unknown policies and `NotAction` say no; so does allowing nothing.
fn ci_like(state: &State, account: &str, user: &crate::model::User) -> bool {
    let groups = user
        .groups
        .iter()
        .filter_map(|group| state.iam.groups.get(group));
    let managed = user.managed_policies.iter().chain(
        groups
            .clone()
            .flat_map(|group| group.managed_policies.iter()),
    );
    let inline = user
        .inline_policies
        .values()
        .chain(groups.flat_map(|group| group.inline_policies.values()));
    let mut documents: Vec<&PolicyDocument> = inline.collect();
    let mut anything = false;
    for arn in managed {
        let Some(policy) = crate::model::IamArn::parse(arn) else {
            return false;
        };
        let Some(name) = policy.policy_name() else {
            return false;
        };
        if policy.is_aws_managed_policy() {
            let ci = [
                "AmazonEKS",
                "AmazonEC2ContainerRegistry",
                "AmazonElasticContainerRegistryPublic",
            ]
            .iter()
            .any(|prefix| name.starts_with(prefix));
            if !ci {
                return false;
            }
            anything = true;
            continue;
        }
        match state.iam.policies.get(name) {
            Some(customer) if policy.account() == account => documents.push(&customer.document),
            _ => return false,
        }
    }
    for document in documents {
        for statement in document.statements() {
            if statement.effect() != Effect::Allow {
                continue;
            }
            let Some(actions) = statement.actions() else {
                return false;
            };
            for action in actions {
                anything = true;
                if !ci_action(action) {
                    return false;
                }
            }
        }
    }
    anything
}

/// An action pattern CI needs to reach a cluster and its images.
fn ci_action(pattern: &str) -> bool {
    let lower = pattern.to_ascii_lowercase();
    let Some((service, action)) = lower.split_once(':') else {
        return false;
    };
    match service {
        "eks" | "ecr" | "ecr-public" => true,
        "sts" => action == "getcalleridentity",
        _ => false,
    }
}

/// Whose tokens a web-identity statement accepts.
enum Provider {
    /// An EKS cluster's issuer (IRSA), or accessctl's stand-in for one not known yet.
    Eks(String),
    /// Any other IAM OIDC provider (GitHub Actions, GitLab, …), by host.
    Other(String),
}

impl Provider {
    /// The issuer whose claims the trust's conditions must name (`ISSUER:sub`).
    fn host(&self) -> &str {
        match self {
            Provider::Eks(host) | Provider::Other(host) => host,
        }
    }
}

/// The OIDC provider a statement's `Federated` principal names, if any.
fn web_identity_provider(statement: &crate::model::policy::Statement) -> Option<Provider> {
    statement
        .principals()?
        .filter(|(kind, _)| *kind == "Federated")
        .find_map(
            |(_, principal)| match crate::model::IamArn::parse(principal)? {
                crate::model::IamArn::OidcProvider { host, .. } => Some(host),
                _ => None,
            },
        )
        .map(|host| {
            let eks = host.starts_with("oidc.eks.") || host.starts_with("oidc.accessctl.invalid/");
            if eks {
                Provider::Eks(host)
            } else {
                Provider::Other(host)
            }
        })
}

/// Who could assume a trust on `host`'s tokens: with no `sub` condition, and with a wildcard.
fn federated_subjects(host: &str) -> (String, String) {
    match host {
        "token.actions.githubusercontent.com" => (
            "any GitHub Actions workflow of any repository".to_string(),
            "workflows of several repositories, branches or environments".to_string(),
        ),
        host if host == "gitlab.com" || host.starts_with("gitlab.") => (
            format!("any CI job of any project on {host}"),
            "jobs of several projects, branches or tags".to_string(),
        ),
        host => (
            format!("anyone {host} issues a token to"),
            format!("several subjects of {host}"),
        ),
    }
}

/// Does a condition with this operator limit the value (rather than exclude some, or pass
/// when the key is absent)?
fn restricts(operator: &str) -> bool {
    let operator = operator.to_ascii_lowercase();
    let operator = operator.strip_prefix("foranyvalue:").unwrap_or(&operator);
    matches!(
        operator,
        "stringequals" | "stringlike" | "stringequalsignorecase"
    )
}

/// The account a principal pattern opens the trust to, when it is a whole account other than
/// `own`.
fn foreign_account(principal: &str, own: &str) -> Option<String> {
    matching::account_principal(principal)
        .filter(|account| *account != own)
        .map(str::to_string)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_iam;
