//! The IAM privilege-escalation rules: the classic methods (Rhino Security Labs' list of 21 and
//! their relatives), each finding naming the method, the target and what allows it, and
//! pointing at the statement of the file that allows it.
//!
//! A method counts only when it is surely allowed (a condition or an unknown policy keeps it
//! quiet) and only on a target worth more than what the principal already holds: creating a key
//! for a user, rewriting the trust of a role, passing a role or joining a group with no rights
//! the principal lacks is not an escalation. Targets the file does not declare (a stand-in user,
//! role or group named `accessctl-lint-any-…`) are worth anything. A principal already holding an
//! admin-equivalent statement ([`admin_equivalent`], which `iam-wildcard-admin` reports) or
//! AWS's `AdministratorAccess` is skipped: it escalates nowhere.
//!
//! Cost: every principal's policies are resolved once by the [`Analysis`]; a method is looked at
//! only for the principals whose statements can allow its actions at all, so the loops over
//! targets (and the assume-role chain) run for the few principals holding IAM write actions.

use super::data::stand_in;
use super::{
    ESCALATION_ACCESS_KEYS, ESCALATION_ASSUMABLE_ROLE, ESCALATION_COMPUTE_INJECTION,
    ESCALATION_GROUP_MEMBERSHIP, ESCALATION_LOGIN_PROFILE, ESCALATION_PASSROLE_COMPUTE,
    ESCALATION_POLICY_VERSION, ESCALATION_SELF_ATTACH, ESCALATION_TRUST, Linter, Severity,
};
use crate::insight::chain::{self, Certainty};
use crate::insight::iam_eval::{
    Decision, PolicySource, Principal, PrincipalKind, Resolved, evaluate_resolved, iam_principals,
};
use crate::model::policy::{Effect, Statement, matching};
use crate::model::{IamArn, PolicyDocument, arn};
use crate::spec::SourceLocation;

/// IAM's permission-writing actions: a statement that still allows any of them on every
/// resource lets its holder grant itself everything.
const POLICY_WRITING: [&str; 7] = [
    "iam:AttachUserPolicy",
    "iam:AttachGroupPolicy",
    "iam:AttachRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutGroupPolicy",
    "iam:PutRolePolicy",
    "iam:CreatePolicyVersion",
];

/// Does this statement allow every action on every resource, or all but a few actions that
/// leave IAM's permission-writing actions in (`NotAction`)? The one predicate of
/// `iam-wildcard-admin` and of the escalation rules' "already admin" shortcut.
pub(super) fn admin_equivalent(statement: &Statement) -> bool {
    if statement.effect() != Effect::Allow {
        return false;
    }
    let every_resource = match statement.resources() {
        Some(mut resources) => resources.any(|pattern| pattern.chars().all(|c| c == '*')),
        None => statement.not_resources().is_some(),
    };
    let every_action = match statement.actions() {
        Some(mut actions) => actions.any(|pattern| pattern.chars().all(|c| c == '*' || c == ':')),
        None => {
            statement.not_actions().is_some()
                && POLICY_WRITING
                    .iter()
                    .any(|action| statement.matches_action(action))
        }
    };
    every_resource && every_action
}

/// The principal under examination: its policies, resolved once.
struct Subject<'a> {
    principal: Principal,
    resolved: &'a Resolved<'a>,
    /// Its declaration: where a finding points when no statement of the file allows it.
    at: Option<SourceLocation>,
}

/// A user, group or role a method acts on.
#[derive(Clone)]
struct Target {
    /// How the message names it.
    shown: String,
    arn: String,
    /// For a user or role of the state: itself.
    principal: Option<Principal>,
    /// For a group of the state: its name (its policies are resolved when asked).
    group: Option<String>,
    /// Why it is worth more than what the principal holds.
    note: &'static str,
}

const DECLARED_NOTE: &str = "which holds rights it does not";
const STAND_IN_NOTE: &str = "whose rights the file does not show";

impl Target {
    fn declared(arn: String, principal: Option<Principal>) -> Self {
        Target {
            shown: arn.clone(),
            arn,
            principal,
            group: None,
            note: DECLARED_NOTE,
        }
    }
}

/// A compute service that runs code with a role passed to it: the actions that create and start
/// it (all needed) and the service principal the role must trust.
struct Compute {
    service: &'static str,
    trusts: &'static [&'static str],
    actions: &'static [&'static str],
}

const COMPUTE: &[Compute] = &[
    Compute {
        service: "EC2",
        trusts: &["ec2.amazonaws.com"],
        actions: &["ec2:RunInstances"],
    },
    Compute {
        service: "Lambda",
        trusts: &["lambda.amazonaws.com"],
        actions: &["lambda:CreateFunction", "lambda:InvokeFunction"],
    },
    Compute {
        service: "Lambda",
        trusts: &["lambda.amazonaws.com"],
        actions: &["lambda:CreateFunction", "lambda:CreateEventSourceMapping"],
    },
    Compute {
        service: "Glue",
        trusts: &["glue.amazonaws.com"],
        actions: &["glue:CreateDevEndpoint"],
    },
    Compute {
        service: "Glue",
        trusts: &["glue.amazonaws.com"],
        actions: &["glue:CreateJob", "glue:StartJobRun"],
    },
    Compute {
        service: "CloudFormation",
        trusts: &["cloudformation.amazonaws.com"],
        actions: &["cloudformation:CreateStack"],
    },
    Compute {
        service: "Data Pipeline",
        trusts: &["datapipeline.amazonaws.com", "ec2.amazonaws.com"],
        actions: &[
            "datapipeline:CreatePipeline",
            "datapipeline:PutPipelineDefinition",
        ],
    },
    Compute {
        service: "ECS",
        trusts: &["ecs-tasks.amazonaws.com"],
        actions: &["ecs:RegisterTaskDefinition", "ecs:RunTask"],
    },
    Compute {
        service: "SageMaker",
        trusts: &["sagemaker.amazonaws.com"],
        actions: &[
            "sagemaker:CreateNotebookInstance",
            "sagemaker:CreatePresignedNotebookInstanceUrl",
        ],
    },
    Compute {
        service: "SageMaker",
        trusts: &["sagemaker.amazonaws.com"],
        actions: &["sagemaker:CreateTrainingJob"],
    },
    Compute {
        service: "CodeBuild",
        trusts: &["codebuild.amazonaws.com"],
        actions: &["codebuild:CreateProject", "codebuild:StartBuild"],
    },
];

/// Code or keys put into compute that already runs with a role: the action, the resources it
/// acts on (a stand-in ARN template, see [`stand_in`]) and what they are.
const INJECTION: &[(&str, &str, &str)] = &[
    (
        "lambda:UpdateFunctionCode",
        "arn:{p}:lambda:{r}:{a}:function:accessctl-lint-any-function",
        "Lambda function",
    ),
    (
        "glue:UpdateDevEndpoint",
        "arn:{p}:glue:{r}:{a}:devEndpoint/accessctl-lint-any-endpoint",
        "Glue development endpoint",
    ),
    (
        "ssm:SendCommand",
        "arn:{p}:ec2:{r}:{a}:instance/i-0accessctllint",
        "EC2 instance",
    ),
    (
        "ec2-instance-connect:SendSSHPublicKey",
        "arn:{p}:ec2:{r}:{a}:instance/i-0accessctllint",
        "EC2 instance",
    ),
    (
        "sagemaker:CreatePresignedNotebookInstanceUrl",
        "arn:{p}:sagemaker:{r}:{a}:notebook-instance/accessctl-lint-any-notebook",
        "SageMaker notebook instance",
    ),
];

/// Replaces IAM wildcards so that a pattern becomes one name it matches.
fn probe(pattern: &str) -> String {
    pattern
        .replace('*', "accessctl-lint-probe")
        .replace('?', "x")
}

/// What one method found: the action and target, what allows it, and where.
struct Hit {
    action: &'static str,
    target: String,
    /// Why the target is worth more (empty when any target is).
    note: &'static str,
    by: String,
    at: Option<SourceLocation>,
}

impl<'a> Linter<'a> {
    pub(super) fn escalation(&mut self) {
        let state = self.state;
        let (partition, account) = (state.partition.as_str(), self.account.as_str());
        let stand_in_user = arn::user(partition, account, "/", "accessctl-lint-any-user");
        let stand_in_role = arn::role(partition, account, "/", "accessctl-lint-any-role");
        let stand_in_group = arn::group(partition, account, "/", "accessctl-lint-any-group");
        let stand_in_target = |arn: String, shown: &str| Target {
            shown: shown.to_string(),
            arn,
            principal: None,
            group: None,
            note: STAND_IN_NOTE,
        };
        let principals = iam_principals(state);
        // The users (or roles) of the state, then a stand-in for those it does not declare.
        let of_kind = |kind: PrincipalKind, stand_in: String, shown: &str| -> Vec<Target> {
            principals
                .iter()
                .filter(|p| p.kind == kind)
                .map(|p| Target::declared(p.arn.clone(), Some(p.clone())))
                .chain([stand_in_target(stand_in, shown)])
                .collect()
        };
        let users = of_kind(
            PrincipalKind::User,
            stand_in_user,
            "any user the file does not declare",
        );
        let roles = of_kind(
            PrincipalKind::Role,
            stand_in_role,
            "any role the file does not declare",
        );
        let groups: Vec<Target> = state
            .iam
            .groups
            .iter()
            .map(|(name, group)| {
                let arn = arn::group(partition, account, &group.path, name);
                Target {
                    group: Some(name.clone()),
                    ..Target::declared(arn, None)
                }
            })
            .chain([stand_in_target(
                stand_in_group,
                "any group the file does not declare",
            )])
            .collect();
        let documents = self.identity_documents_list();
        let mut findings = Vec::new();
        for principal in &principals {
            let Some(resolved) = self.analysis.resolved(principal) else {
                continue;
            };
            let declared = format!(
                "iam.{}.{}",
                if principal.kind == PrincipalKind::User {
                    "users"
                } else {
                    "roles"
                },
                principal.name
            );
            let subject = Subject {
                at: self.at(&declared).cloned(),
                principal: principal.clone(),
                resolved,
            };
            if holds_admin(subject.resolved) {
                continue;
            }
            let finder = Finder {
                linter: self,
                subject: &subject,
                documents: &documents,
            };
            findings.extend(finder.methods(&users, &roles, &groups));
        }
        for (rule, at, message) in findings {
            self.push(rule, Severity::High, at.as_ref(), message);
        }
    }
}

/// Does the principal already hold everything (an admin-equivalent statement, or an exact
/// AWS-managed policy allowing `*`)?
fn holds_admin(resolved: &Resolved<'_>) -> bool {
    resolved.attached.iter().any(|policy| match policy.source {
        PolicySource::Document(document) => document.statements().iter().any(admin_equivalent),
        PolicySource::Managed(managed) => managed.exact && managed.actions.contains(&"*"),
        PolicySource::Unknown => false,
    })
}

/// The methods of one principal.
struct Finder<'l, 'a> {
    linter: &'l Linter<'a>,
    subject: &'l Subject<'l>,
    documents: &'l [(String, &'a PolicyDocument, Vec<String>)],
}

type Found = (&'static str, Option<SourceLocation>, String);

impl Finder<'_, '_> {
    fn methods(&self, users: &[Target], roles: &[Target], groups: &[Target]) -> Vec<Found> {
        let subject = self.subject;
        let who = subject.principal.label();
        let state = self.linter.state;
        let mut found: Vec<Found> = Vec::new();
        let mut report = |rule: &'static str, hit: Hit, message: String| {
            let at = hit.at.or_else(|| subject.at.clone());
            found.push((rule, at, message));
        };

        // Permissions written on itself or its groups.
        let (own, own_groups): (Vec<Target>, Vec<Target>) = self.own_targets();
        let self_actions: &[&'static str] = match subject.principal.kind {
            PrincipalKind::User => &["iam:AttachUserPolicy", "iam:PutUserPolicy"],
            _ => &["iam:AttachRolePolicy", "iam:PutRolePolicy"],
        };
        let hit = self.first(self_actions, &own, any, false).or_else(|| {
            self.first(
                &["iam:AttachGroupPolicy", "iam:PutGroupPolicy"],
                &own_groups,
                any,
                false,
            )
        });
        if let Some(hit) = hit {
            let message = format!(
                "{who} can write its own permissions: `{}` on {} ({}): it can grant itself any permission",
                hit.action, hit.target, hit.by
            );
            report(ESCALATION_SELF_ATTACH, hit, message);
        }

        // A new default version of a customer policy attached to it.
        let attached = self.attached_customer_policies();
        if let Some(hit) = self.first(
            &["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"],
            &attached,
            any,
            false,
        ) {
            let what = if hit.action == "iam:CreatePolicyVersion" {
                "write a new default version of"
            } else {
                "make another version the default of"
            };
            let message = format!(
                "{who} can {what} {}, a customer policy attached to it (`{}`, {}): it can rewrite its own permissions",
                hit.target, hit.action, hit.by
            );
            report(ESCALATION_POLICY_VERSION, hit, message);
        }

        // Credentials of a user holding more.
        let other = |target: &Target| target.principal.as_ref() != Some(&subject.principal);
        if let Some(hit) = self.first(&["iam:CreateAccessKey"], users, other, true) {
            let message = format!(
                "{who} can create an access key for {}, {} (`{}`, {}): it can act as that user",
                hit.target, hit.note, hit.action, hit.by
            );
            report(ESCALATION_ACCESS_KEYS, hit, message);
        }
        if let Some(hit) = self.first(
            &["iam:CreateLoginProfile", "iam:UpdateLoginProfile"],
            users,
            other,
            true,
        ) {
            let message = format!(
                "{who} can set the console password of {}, {} (`{}`, {}): it can sign in as that user",
                hit.target, hit.note, hit.action, hit.by
            );
            report(ESCALATION_LOGIN_PROFILE, hit, message);
        }

        // Policies written on a role it can assume.
        let role_writing = ["iam:AttachRolePolicy", "iam:PutRolePolicy"];
        if role_writing.iter().any(|action| self.may(action)) {
            let assumable: Vec<Target> = chain::reachable_at_least(
                &self.linter.analysis,
                &subject.principal,
                Certainty::Yes,
            )
            .into_iter()
            .skip(1)
            .map(|reached| Target::declared(reached.principal.arn.clone(), Some(reached.principal)))
            .collect();
            if let Some(hit) = self.first(&role_writing, &assumable, any, false) {
                let message = format!(
                    "{who} can write the permissions of {}, a role it can assume (`{}`, {}): it can grant that role, and so itself, any permission",
                    hit.target, hit.action, hit.by
                );
                report(ESCALATION_ASSUMABLE_ROLE, hit, message);
            }
        }

        // Joining a group holding more.
        if subject.principal.kind == PrincipalKind::User {
            let member_of = state
                .iam
                .users
                .get(&subject.principal.name)
                .map(|user| &user.groups);
            let not_in = |group: &Target| {
                group
                    .group
                    .as_ref()
                    .is_none_or(|name| !member_of.is_some_and(|g| g.contains(name)))
            };
            if let Some(hit) = self.first(&["iam:AddUserToGroup"], groups, not_in, true) {
                let message = format!(
                    "{who} can add itself to {}, {} (`{}`, {})",
                    hit.target, hit.note, hit.action, hit.by
                );
                report(ESCALATION_GROUP_MEMBERSHIP, hit, message);
            }
        }

        // Rewriting the trust of a role holding more, then assuming it.
        if let Some(hit) = self.first(&["iam:UpdateAssumeRolePolicy"], roles, other, true) {
            let message = format!(
                "{who} can rewrite the trust policy of {}, {} (`{}`, {}), to trust itself and then `sts:AssumeRole` it",
                hit.target, hit.note, hit.action, hit.by
            );
            report(ESCALATION_TRUST, hit, message);
        }

        // Passing a role holding more to compute it starts.
        if self.may("iam:PassRole") {
            for compute in COMPUTE {
                let Some(runs) = self.all_somewhere(compute.actions) else {
                    continue;
                };
                let passable =
                    |role: &Target| other(role) && trusts_service(state, role, compute.trusts);
                if let Some(hit) = self.first(&["iam:PassRole"], roles, passable, true) {
                    let actions: Vec<String> = compute
                        .actions
                        .iter()
                        .map(|action| format!("`{action}`"))
                        .collect();
                    let message = format!(
                        "{who} can pass {}, {}, to {} and run it (`iam:PassRole`, {}; {}, {}): code it controls runs with the role's rights",
                        hit.target,
                        hit.note,
                        compute.service,
                        hit.by,
                        actions.join(" + "),
                        runs
                    );
                    report(ESCALATION_PASSROLE_COMPUTE, hit, message);
                    break;
                }
            }
        }

        // Code or keys put into compute that runs with a role.
        for (action, template, what) in INJECTION {
            if let Some(hit) = self.wide(action, template) {
                let message = format!(
                    "{who} can `{action}` on any {what} ({}): code or keys it controls run with the role of any {what}",
                    hit.by
                );
                report(ESCALATION_COMPUTE_INJECTION, hit, message);
                break;
            }
        }
        found
    }

    /// Its own user or role, and its groups (a user's), as targets.
    fn own_targets(&self) -> (Vec<Target>, Vec<Target>) {
        let principal = &self.subject.principal;
        let state = self.linter.state;
        let mut own = vec![Target::declared(
            principal.arn.clone(),
            Some(principal.clone()),
        )];
        // IAM resolves `${aws:username}` to the caller's own name: written so, a statement
        // names the user itself.
        if let Some(user) = state
            .iam
            .users
            .get(&principal.name)
            .filter(|_| principal.kind == PrincipalKind::User)
        {
            let mut itself = own[0].clone();
            itself.arn = arn::user(
                &state.partition,
                &self.linter.account,
                &user.path,
                "${aws:username}",
            );
            own.push(itself);
        }
        let groups = state
            .iam
            .users
            .get(&principal.name)
            .filter(|_| principal.kind == PrincipalKind::User)
            .map(|user| {
                user.groups
                    .iter()
                    .map(|group| {
                        let path = state.iam.groups.get(group).map_or("/", |g| g.path.as_str());
                        let arn = arn::group(&state.partition, &self.linter.account, path, group);
                        Target::declared(arn, None)
                    })
                    .collect()
            })
            .unwrap_or_default();
        (own, groups)
    }

    /// The customer policies of the account attached to it (directly or, a user, through its
    /// groups).
    fn attached_customer_policies(&self) -> Vec<Target> {
        let principal = &self.subject.principal;
        let state = self.linter.state;
        let (partition, account) = (state.partition.as_str(), self.linter.account.as_str());
        let mut arns: Vec<&String> = Vec::new();
        match principal.kind {
            PrincipalKind::User => {
                if let Some(user) = state.iam.users.get(&principal.name) {
                    arns.extend(&user.managed_policies);
                    for group in user.groups.iter().filter_map(|g| state.iam.groups.get(g)) {
                        arns.extend(&group.managed_policies);
                    }
                }
            }
            PrincipalKind::Role => {
                if let Some(role) = state.iam.roles.get(&principal.name) {
                    arns.extend(&role.managed_policies);
                }
            }
            PrincipalKind::External => {}
        }
        arns.into_iter()
            .filter(|policy| {
                matches!(
                    IamArn::parse(policy),
                    Some(parsed @ IamArn::Policy { .. })
                        if parsed.partition() == partition && parsed.account() == account
                )
            })
            .map(|policy| Target::declared(policy.clone(), None))
            .collect()
    }

    /// Can any of its statements allow `action` at all (whatever the resource)? Cheap: lets
    /// the loops over targets run only for the principals that matter.
    fn may(&self, action: &str) -> bool {
        self.subject
            .resolved
            .attached
            .iter()
            .any(|policy| match policy.source {
                PolicySource::Document(document) => document.statements().iter().any(|s| {
                    s.effect() == Effect::Allow && !s.has_condition() && s.matches_action(action)
                }),
                PolicySource::Managed(managed) => {
                    managed.exact
                        && managed
                            .actions
                            .iter()
                            .any(|pattern| matching::action_matches(pattern, action))
                }
                PolicySource::Unknown => false,
            })
    }

    /// What surely allows `action` on `resource`, with the statement of the file it comes
    /// from.
    fn allowed(&self, action: &'static str, resource: &str, shown: &str) -> Option<Hit> {
        let decision = self
            .linter
            .analysis
            .evaluate(&self.subject.principal, action, resource);
        let Decision::Allowed { by } = decision else {
            return None;
        };
        Some(Hit {
            action,
            target: shown.to_string(),
            note: "",
            by,
            at: self.statement_at(action, resource),
        })
    }

    /// The first (action, target) allowed among the targets `keep` keeps, and (with `worth`)
    /// holding rights the principal lacks. The targets are only walked for the actions its
    /// statements can allow at all.
    fn first(
        &self,
        actions: &[&'static str],
        targets: &[Target],
        keep: impl Fn(&Target) -> bool,
        worth: bool,
    ) -> Option<Hit> {
        let evaluate = |action: &str, target: &Target| {
            self.linter
                .analysis
                .evaluate(&self.subject.principal, action, &target.arn)
                .is_allowed()
        };
        actions
            .iter()
            .filter(|action| self.may(action) && self.surely_somewhere(action))
            .find_map(|action| {
                let target = targets.iter().find(|target| {
                    keep(target) && evaluate(action, target) && (!worth || self.exceeds(target))
                })?;
                let mut hit = self.allowed(action, &target.arn, &target.shown)?;
                hit.note = target.note;
                Some(hit)
            })
    }

    /// Does the target hold a right the principal lacks? A stand-in, or a policy whose
    /// document is unknown, may hold anything.
    fn exceeds(&self, target: &Target) -> bool {
        let group;
        // A stand-in (a principal the file does not declare) is worth anything.
        let policies = match (&target.principal, &target.group) {
            (Some(principal), _) => match self.linter.analysis.resolved(principal) {
                Some(policies) => policies,
                None => return true,
            },
            (None, Some(name)) => match self.linter.analysis.group_policies(name) {
                Some(policies) => {
                    group = policies;
                    &group
                }
                None => return true,
            },
            (None, None) => return true,
        };
        let mut probes: Vec<(String, String)> = Vec::new();
        for policy in &policies.attached {
            match policy.source {
                PolicySource::Unknown => return true,
                PolicySource::Managed(managed) => probes.extend(
                    managed
                        .actions
                        .iter()
                        .map(|pattern| (probe(pattern), probe("*"))),
                ),
                PolicySource::Document(document) => {
                    for statement in document.statements() {
                        if statement.effect() != Effect::Allow || statement.has_condition() {
                            continue;
                        }
                        let actions: Vec<String> = match statement.actions() {
                            Some(actions) => actions.map(probe).collect(),
                            None => vec!["accessctl-lint:Probe".to_string()],
                        };
                        let resources: Vec<String> = match statement.resources() {
                            Some(resources) => resources.map(probe).collect(),
                            None => vec![probe("*")],
                        };
                        for action in &actions {
                            probes.extend(resources.iter().map(|r| (action.clone(), r.clone())));
                        }
                    }
                }
            }
        }
        let analysis = &self.linter.analysis;
        probes.iter().any(|(action, resource)| {
            evaluate_resolved(policies, action, resource).is_allowed()
                && !analysis
                    .evaluate(&self.subject.principal, action, resource)
                    .is_allowed()
        })
    }

    /// Can `action` be surely allowed anywhere? Each statement that may allow it is asked on
    /// one resource it names: when every answer hangs on a condition (a conditional `Deny` of
    /// `iam:*`, say), so does every target's, and the targets are not walked. A `Deny` on some
    /// resources may leave others allowed: then they are.
    fn surely_somewhere(&self, action: &str) -> bool {
        self.candidates(action).iter().any(|pattern| {
            matches!(
                self.linter
                    .analysis
                    .evaluate(&self.subject.principal, action, &probe(pattern)),
                Decision::Allowed { .. } | Decision::Denied { .. }
            )
        })
    }

    /// Every action allowed on some resource: what allows them, joined.
    fn all_somewhere(&self, actions: &[&'static str]) -> Option<String> {
        let mut by = Vec::new();
        for action in actions {
            if !self.may(action) {
                return None;
            }
            by.push(self.somewhere(action)?.by);
        }
        by.dedup();
        Some(by.join("; "))
    }

    /// `action` allowed on some resource its statements name.
    fn somewhere(&self, action: &'static str) -> Option<Hit> {
        self.candidates(action)
            .into_iter()
            .find_map(|pattern| self.allowed(action, &probe(&pattern), &pattern))
    }

    /// `action` allowed on any resource of a type (a stand-in of `template`, in each region and
    /// account its statements name).
    fn wide(&self, action: &'static str, template: &str) -> Option<Hit> {
        if !self.may(action) {
            return None;
        }
        let state = self.linter.state;
        let default = stand_in(template, "*", &state.partition, &self.linter.account);
        self.candidates(action)
            .iter()
            .map(|pattern| stand_in(template, pattern, &state.partition, &self.linter.account))
            .chain([default])
            .find_map(|resource| self.allowed(action, &resource, &resource))
    }

    /// The resource patterns of the statements that may allow `action` (`*` for those with
    /// `NotResource` and for AWS-managed policies).
    fn candidates(&self, action: &str) -> Vec<String> {
        let mut patterns = Vec::new();
        for policy in &self.subject.resolved.attached {
            match policy.source {
                PolicySource::Document(document) => {
                    for statement in document.statements() {
                        if statement.effect() != Effect::Allow || !statement.matches_action(action)
                        {
                            continue;
                        }
                        match statement.resources() {
                            Some(resources) => patterns.extend(resources.map(str::to_string)),
                            None => patterns.push("*".to_string()),
                        }
                    }
                }
                PolicySource::Managed(_) => patterns.push("*".to_string()),
                PolicySource::Unknown => {}
            }
        }
        patterns.sort();
        patterns.dedup();
        patterns
    }

    /// Where the statement allowing `action` on `resource` is written, if in the file.
    fn statement_at(&self, action: &str, resource: &str) -> Option<SourceLocation> {
        self.subject.resolved.attached.iter().find_map(|policy| {
            let PolicySource::Document(document) = policy.source else {
                return None;
            };
            let (_, source) = document.statements_with_source().find(|(s, _)| {
                s.effect() == Effect::Allow
                    && !s.has_condition()
                    && s.matches_action(action)
                    && s.matches_resource(resource)
            })?;
            let (_, _, paths) = self
                .documents
                .iter()
                .find(|(_, written, _)| std::ptr::eq(*written, document))?;
            self.linter.statement_at(paths, source)
        })
    }
}

/// Keeps every target.
fn any(_: &Target) -> bool {
    true
}

/// Does the role's trust policy let one of these services assume it? A stand-in may trust
/// anything.
fn trusts_service(state: &crate::model::State, role: &Target, services: &[&str]) -> bool {
    let Some(principal) = &role.principal else {
        return true;
    };
    let Some(declared) = state.iam.roles.get(&principal.name) else {
        return true;
    };
    declared.trust.statements().iter().any(|statement| {
        statement.effect() == Effect::Allow
            && statement.matches_action("sts:AssumeRole")
            && statement.principals().is_some_and(|mut principals| {
                principals.any(|(kind, name)| {
                    kind == "Service"
                        && services
                            .iter()
                            .any(|service| matching::wildcard_match(name, service, true))
                })
            })
    })
}
