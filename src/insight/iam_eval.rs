//! IAM policy evaluation over the model: may a principal of the state perform an action on a
//! resource, and may it assume a role.
//!
//! Follows IAM's order for identity-based policies (explicit `Deny` wins over any `Allow`;
//! nothing allowed means an implicit deny; a permissions boundary must allow too) with what the
//! model knows. What it cannot know is never answered yes or no: a statement with a `Condition`
//! (no request context here), a customer policy whose document is not in the state, and an
//! AWS-managed policy outside the small table of [`aws_managed`] make the answer
//! [`Decision::Possibly`]. No I/O.

use serde::Serialize;
use serde_json::Value;

use crate::model::{self, PolicyDocument, PolicyHolder, State, parse_arn};

/// The outcome of one evaluation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum Decision {
    /// An `Allow` matched and no `Deny` can apply.
    Allowed { by: String },
    /// An unconditional `Deny` matched: nothing else matters.
    Denied { by: String },
    /// Nothing allows it.
    ImplicitDeny,
    /// The answer depends on something the model does not hold (a condition, a document).
    Possibly { because: String },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }

    /// Allowed or possibly allowed: worth following.
    pub fn may_allow(&self) -> bool {
        matches!(self, Decision::Allowed { .. } | Decision::Possibly { .. })
    }

    pub fn reason(&self) -> String {
        match self {
            Decision::Allowed { by } => format!("allowed by {by}"),
            Decision::Denied { by } => format!("denied by {by}"),
            Decision::ImplicitDeny => "no policy allows it".to_string(),
            Decision::Possibly { because } => format!("possibly: {because}"),
        }
    }
}

/// `Allow` or `Deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One statement read from a normalized document's canonical JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    /// `(type, principal)`: `("AWS", "arn:…")`, `("Service", "ec2.amazonaws.com")`. `Principal:
    /// "*"` is `("AWS", "*")`.
    pub principals: Vec<(String, String)>,
    pub not_principals: Vec<(String, String)>,
    pub actions: Option<Vec<String>>,
    pub not_actions: Option<Vec<String>>,
    pub resources: Option<Vec<String>>,
    pub not_resources: Option<Vec<String>>,
    /// `(operator, key, values)`.
    pub conditions: Vec<(String, String, Vec<String>)>,
}

impl Statement {
    pub fn has_condition(&self) -> bool {
        !self.conditions.is_empty()
    }

    /// Does the statement cover this action (`Action` or `NotAction`)?
    pub fn matches_action(&self, action: &str) -> bool {
        match (&self.actions, &self.not_actions) {
            (Some(actions), _) => actions.iter().any(|p| action_matches(p, action)),
            (None, Some(not_actions)) => !not_actions.iter().any(|p| action_matches(p, action)),
            (None, None) => false,
        }
    }

    /// Does the statement cover this resource (`Resource` or `NotResource`)? A statement with
    /// neither (trust policies) covers the role it belongs to.
    pub fn matches_resource(&self, resource: &str) -> bool {
        match (&self.resources, &self.not_resources) {
            (Some(resources), _) => resources.iter().any(|p| wildcard_match(p, resource, false)),
            (None, Some(not_resources)) => !not_resources
                .iter()
                .any(|p| wildcard_match(p, resource, false)),
            (None, None) => true,
        }
    }
}

/// The statements of a document, in its canonical order.
pub fn statements(document: &PolicyDocument) -> Vec<Statement> {
    let value = document.to_value();
    let Some(list) = value.get("Statement").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter().filter_map(statement).collect()
}

fn statement(value: &Value) -> Option<Statement> {
    let object = value.as_object()?;
    let effect = match object.get("Effect").and_then(Value::as_str) {
        Some("Deny") => Effect::Deny,
        _ => Effect::Allow,
    };
    let mut conditions = Vec::new();
    if let Some(Value::Object(operators)) = object.get("Condition") {
        for (operator, keys) in operators {
            if let Value::Object(keys) = keys {
                for (key, values) in keys {
                    conditions.push((operator.clone(), key.clone(), strings(values)));
                }
            }
        }
    }
    Some(Statement {
        sid: object
            .get("Sid")
            .and_then(Value::as_str)
            .map(str::to_string),
        effect,
        principals: object.get("Principal").map(principals).unwrap_or_default(),
        not_principals: object
            .get("NotPrincipal")
            .map(principals)
            .unwrap_or_default(),
        actions: object.get("Action").map(strings),
        not_actions: object.get("NotAction").map(strings),
        resources: object.get("Resource").map(strings),
        not_resources: object.get("NotResource").map(strings),
        conditions,
    })
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect(),
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

fn principals(value: &Value) -> Vec<(String, String)> {
    match value {
        Value::String(text) => vec![("AWS".to_string(), text.clone())],
        Value::Object(kinds) => kinds
            .iter()
            .flat_map(|(kind, values)| {
                strings(values)
                    .into_iter()
                    .map(move |principal| (kind.clone(), principal))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// IAM's action match: the service prefix and the name are case-insensitive; `*` and `?` are
/// wildcards.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    wildcard_match(pattern, action, true)
}

/// IAM's `*` (any run) and `?` (one character) match, whole string.
pub fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let lower = |s: &str| {
        if ignore_case {
            s.to_ascii_lowercase()
        } else {
            s.to_string()
        }
    };
    let pattern: Vec<char> = lower(pattern).chars().collect();
    let text: Vec<char> = lower(text).chars().collect();
    // Iterative glob with one backtracking point: linear in practice, no recursion.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// A principal the evaluator knows about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrincipalKind {
    User,
    Role,
    /// Named by ARN somewhere (a mapping, a trust policy) but not in the state: its policies
    /// are unknown.
    External,
}

/// An IAM principal by kind, name and ARN.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Principal {
    pub kind: PrincipalKind,
    pub name: String,
    pub arn: String,
}

impl Principal {
    pub fn user(state: &State, name: &str) -> Option<Self> {
        let user = state.iam.users.get(name)?;
        Some(Principal {
            kind: PrincipalKind::User,
            name: name.to_string(),
            arn: model::arn::user(&state.partition, &account(state), &user.path, name),
        })
    }

    pub fn role(state: &State, name: &str) -> Option<Self> {
        let role = state.iam.roles.get(name)?;
        Some(Principal {
            kind: PrincipalKind::Role,
            name: name.to_string(),
            arn: model::arn::role(&state.partition, &account(state), &role.path, name),
        })
    }

    /// The account the principal belongs to, from its ARN.
    pub fn account(&self) -> &str {
        parse_arn(&self.arn).map(|arn| arn.account).unwrap_or("")
    }

    /// `user/manager`, `role/eks-admin`, or the ARN.
    pub fn label(&self) -> String {
        match self.kind {
            PrincipalKind::User => format!("user/{}", self.name),
            PrincipalKind::Role => format!("role/{}", self.name),
            PrincipalKind::External => self.arn.clone(),
        }
    }
}

/// The state's account: the file's `account`, else the caller's.
pub fn account(state: &State) -> String {
    state
        .account
        .clone()
        .or_else(|| state.caller.as_ref().map(|caller| caller.account.clone()))
        .unwrap_or_default()
}

/// A policy that applies to a principal, with where it comes from.
#[derive(Clone, Debug)]
pub struct Attached {
    /// `inline policy assume (user/manager)`, `policy AmazonEKSAdminPolicy (group/developers)`.
    pub label: String,
    pub source: PolicySource,
}

#[derive(Clone, Debug)]
pub enum PolicySource {
    Document(Vec<Statement>),
    /// An AWS-managed policy of the table: action patterns it allows on every resource, and
    /// whether the table is exact for it (otherwise matches are "possibly").
    Managed {
        actions: &'static [&'static str],
        exact: bool,
    },
    /// A document the model does not hold.
    Unknown,
}

/// The identity-based policies of a principal: its own inline and managed policies and, for a
/// user, its groups'. The permissions boundary is returned apart.
pub fn identity_policies(
    state: &State,
    principal: &Principal,
) -> (Vec<Attached>, Option<Attached>) {
    let mut attached = Vec::new();
    let owner = principal.label();
    let add = |holder: &dyn PolicyHolder, owner: &str, attached: &mut Vec<Attached>| {
        for (name, document) in holder.inline_policies() {
            attached.push(Attached {
                label: format!("inline policy {name} ({owner})"),
                source: PolicySource::Document(statements(document)),
            });
        }
        for arn in holder.managed_policies() {
            attached.push(managed_policy(state, arn, owner));
        }
    };
    let boundary = match principal.kind {
        PrincipalKind::User => {
            let Some(user) = state.iam.users.get(&principal.name) else {
                return (attached, None);
            };
            add(user, &owner, &mut attached);
            for group_name in &user.groups {
                if let Some(group) = state.iam.groups.get(group_name) {
                    add(group, &format!("group/{group_name}"), &mut attached);
                }
            }
            user.permissions_boundary.as_ref()
        }
        PrincipalKind::Role => {
            let Some(role) = state.iam.roles.get(&principal.name) else {
                return (attached, None);
            };
            add(role, &owner, &mut attached);
            role.permissions_boundary.as_ref()
        }
        PrincipalKind::External => {
            attached.push(Attached {
                label: format!("the policies of {} (not in the model)", principal.arn),
                source: PolicySource::Unknown,
            });
            None
        }
    };
    let boundary = boundary.map(|arn| {
        let mut boundary = managed_policy(state, arn, &owner);
        boundary.label = format!("permissions boundary {}", boundary.label);
        boundary
    });
    (attached, boundary)
}

/// A managed policy by ARN: a customer policy of the state, an AWS-managed policy of the
/// table, or unknown.
fn managed_policy(state: &State, arn: &str, owner: &str) -> Attached {
    let short = arn.rsplit('/').next().unwrap_or(arn);
    if let Some(parsed) = parse_arn(arn)
        && parsed.account == "aws"
    {
        return Attached {
            label: format!("AWS-managed policy {short} ({owner})"),
            source: match aws_managed(short) {
                Some((actions, exact)) => PolicySource::Managed { actions, exact },
                None => PolicySource::Unknown,
            },
        };
    }
    let account = account(state);
    let found = state.iam.policies.iter().find(|(name, policy)| {
        model::arn::policy(&state.partition, &account, &policy.path, name) == arn
    });
    match found {
        Some((name, policy)) => Attached {
            label: format!("policy {name} ({owner})"),
            source: PolicySource::Document(statements(&policy.document)),
        },
        None => Attached {
            label: format!("policy {arn} ({owner}, document not in the model)"),
            source: PolicySource::Unknown,
        },
    }
}

/// What the AWS-managed policies met in the runbooks allow, as action patterns on every
/// resource. `exact` when the pattern list is the policy (`AdministratorAccess` is `*` on `*`);
/// otherwise a coarse picture of the services it touches, whose matches are "possibly".
pub fn aws_managed(name: &str) -> Option<(&'static [&'static str], bool)> {
    let entry: (&'static [&'static str], bool) = match name {
        "AdministratorAccess" => (&["*"], true),
        "PowerUserAccess" => (&["*"], false),
        "IAMFullAccess" => (
            &["iam:*", "organizations:Describe*", "organizations:List*"],
            true,
        ),
        "ReadOnlyAccess" => (&["*:Describe*", "*:Get*", "*:List*"], false),
        "AmazonS3FullAccess" => (&["s3:*", "s3-object-lambda:*"], true),
        "AmazonS3ReadOnlyAccess" => (&["s3:Get*", "s3:List*", "s3:Describe*"], true),
        "AmazonSNSFullAccess" => (&["sns:*"], true),
        "CloudFrontFullAccess" => (
            &[
                "cloudfront:*",
                "cloudfront-keyvaluestore:*",
                "s3:ListAllMyBuckets",
                "acm:ListCertificates",
                "iam:ListServerCertificates",
                "waf:ListWebACLs",
                "waf:GetWebACL",
                "wafv2:ListWebACLs",
                "wafv2:GetWebACL",
                "kinesis:ListStreams",
                "kinesis:DescribeStream",
                "iam:ListRoles",
            ],
            false,
        ),
        "AmazonEC2ContainerRegistryFullAccess" => (&["ecr:*", "cloudtrail:LookupEvents"], false),
        "AmazonEC2ContainerRegistryReadOnly" => (
            &[
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:GetRepositoryPolicy",
                "ecr:DescribeRepositories",
                "ecr:ListImages",
                "ecr:DescribeImages",
                "ecr:BatchGetImage",
                "ecr:GetLifecyclePolicy",
                "ecr:GetLifecyclePolicyPreview",
                "ecr:ListTagsForResource",
                "ecr:DescribeImageScanFindings",
            ],
            false,
        ),
        "AmazonElasticContainerRegistryPublicFullAccess" => {
            (&["ecr-public:*", "sts:GetServiceBearerToken"], false)
        }
        "AmazonEKSClusterPolicy" | "AmazonEKSServicePolicy" => (
            &[
                "autoscaling:*",
                "ec2:*",
                "elasticloadbalancing:*",
                "kms:CreateGrant",
                "kms:DescribeKey",
                "logs:CreateLogGroup",
                "logs:PutLogEvents",
                "route53:AssociateVPCWithHostedZone",
                "iam:CreateServiceLinkedRole",
            ],
            false,
        ),
        "AmazonEKSWorkerNodePolicy" => (
            &[
                "ec2:Describe*",
                "eks:DescribeCluster",
                "eks-auth:AssumeRoleForPodIdentity",
            ],
            false,
        ),
        "AmazonEKSVPCResourceController" => (
            &[
                "ec2:CreateNetworkInterfacePermission",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
                "ec2:Describe*",
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:AttachNetworkInterface",
                "ec2:DetachNetworkInterface",
                "ec2:ModifyNetworkInterfaceAttribute",
            ],
            false,
        ),
        "AmazonEKS_CNI_Policy" => (
            &[
                "ec2:AssignPrivateIpAddresses",
                "ec2:AttachNetworkInterface",
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:Describe*",
                "ec2:DetachNetworkInterface",
                "ec2:ModifyNetworkInterfaceAttribute",
                "ec2:UnassignPrivateIpAddresses",
                "ec2:CreateTags",
            ],
            false,
        ),
        _ => return None,
    };
    Some(entry)
}

/// One policy's verdict on a request, before combining.
fn policy_verdict(
    attached: &Attached,
    action: &str,
    resource: &str,
) -> (Option<Decision>, Option<Decision>) {
    // (deny, allow): the strongest deny and the strongest allow this policy contributes.
    match &attached.source {
        PolicySource::Unknown => (
            None,
            Some(Decision::Possibly {
                because: format!("{} may allow it", attached.label),
            }),
        ),
        PolicySource::Managed { actions, exact } => {
            if actions
                .iter()
                .any(|pattern| action_matches(pattern, action))
            {
                let decision = if *exact {
                    Decision::Allowed {
                        by: attached.label.clone(),
                    }
                } else {
                    Decision::Possibly {
                        because: format!(
                            "{} allows parts of `{}` (its document is approximated)",
                            attached.label,
                            action.split(':').next().unwrap_or(action)
                        ),
                    }
                };
                (None, Some(decision))
            } else {
                (None, None)
            }
        }
        PolicySource::Document(statements) => {
            let mut deny = None;
            let mut allow = None;
            for (index, statement) in statements.iter().enumerate() {
                if !statement.matches_action(action) || !statement.matches_resource(resource) {
                    continue;
                }
                let name = match &statement.sid {
                    Some(sid) => format!("{} statement `{sid}`", attached.label),
                    None => format!("{} statement {}", attached.label, index + 1),
                };
                match (statement.effect, statement.has_condition()) {
                    (Effect::Deny, false) => deny = Some(Decision::Denied { by: name }),
                    (Effect::Deny, true) => {
                        if deny.is_none() {
                            deny = Some(Decision::Possibly {
                                because: format!("{name} denies it under a condition"),
                            });
                        }
                    }
                    (Effect::Allow, false) => allow = Some(Decision::Allowed { by: name }),
                    (Effect::Allow, true) => {
                        if !matches!(allow, Some(Decision::Allowed { .. })) {
                            allow = Some(Decision::Possibly {
                                because: format!("{name} allows it under a condition"),
                            });
                        }
                    }
                }
            }
            (deny, allow)
        }
    }
}

/// Combines the verdicts of a set of policies the way IAM does.
fn combine(verdicts: impl IntoIterator<Item = (Option<Decision>, Option<Decision>)>) -> Decision {
    let mut conditional_deny = None;
    let mut allowed = None;
    let mut possibly = None;
    for (deny, allow) in verdicts {
        match deny {
            Some(denied @ Decision::Denied { .. }) => return denied,
            Some(other) => {
                conditional_deny.get_or_insert(other);
            }
            None => {}
        }
        match allow {
            Some(yes @ Decision::Allowed { .. }) => {
                allowed.get_or_insert(yes);
            }
            Some(other) => {
                possibly.get_or_insert(other);
            }
            None => {}
        }
    }
    match (allowed, possibly) {
        (Some(yes), _) => conditional_deny.unwrap_or(yes),
        (None, Some(maybe)) => maybe,
        (None, None) => Decision::ImplicitDeny,
    }
}

/// Does the principal's identity-based policy allow `action` on `resource`?
pub fn evaluate(state: &State, principal: &Principal, action: &str, resource: &str) -> Decision {
    let (attached, boundary) = identity_policies(state, principal);
    let decision = combine(
        attached
            .iter()
            .map(|policy| policy_verdict(policy, action, resource)),
    );
    let Some(boundary) = boundary else {
        return decision;
    };
    if !decision.may_allow() {
        return decision;
    }
    match combine([policy_verdict(&boundary, action, resource)]) {
        Decision::Allowed { .. } => decision,
        Decision::Possibly { because } => Decision::Possibly { because },
        Decision::Denied { by } => Decision::Denied { by },
        Decision::ImplicitDeny => Decision::Denied {
            by: format!("{} (it does not allow it)", boundary.label),
        },
    }
}

/// How a trust policy names a principal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TrustMatch {
    /// By its own ARN: in the same account this is enough on its own.
    Direct,
    /// By its account, or `*`: the principal also needs an identity `Allow`.
    Delegated,
}

fn principal_matches(pattern: &str, principal: &Principal) -> Option<TrustMatch> {
    if pattern == "*" || is_account_root(pattern, principal.account()) {
        return Some(TrustMatch::Delegated);
    }
    (pattern == principal.arn || same_principal(pattern, &principal.arn))
        .then_some(TrustMatch::Direct)
}

/// `123456789012` or `arn:aws:iam::123456789012:root`.
pub fn is_account_root(pattern: &str, account: &str) -> bool {
    if pattern == account {
        return true;
    }
    parse_arn(pattern)
        .is_some_and(|arn| arn.service == "iam" && arn.resource == "root" && arn.account == account)
}

/// Two IAM ARNs naming the same user or role, paths aside: trust policies and aws-auth
/// `mapRoles` may leave the path out.
pub fn same_principal(one: &str, other: &str) -> bool {
    let (Some(a), Some(b)) = (parse_arn(one), parse_arn(other)) else {
        return false;
    };
    let kind_and_name = |resource: &str| {
        let kind = resource.split('/').next().unwrap_or("").to_string();
        let name = resource.rsplit('/').next().unwrap_or("").to_string();
        (kind, name)
    };
    a.service == "iam"
        && b.service == "iam"
        && a.account == b.account
        && kind_and_name(a.resource) == kind_and_name(b.resource)
}

/// May `principal` assume `role` (of the state) with `sts:AssumeRole`? The trust policy must
/// allow it, and unless it names the principal itself in the same account, an identity-based
/// policy must allow `sts:AssumeRole` on the role too. An identity `Deny` always wins.
pub fn can_assume(state: &State, principal: &Principal, role_name: &str) -> Decision {
    let Some(role) = state.iam.roles.get(role_name) else {
        return Decision::ImplicitDeny;
    };
    let role_arn = model::arn::role(&state.partition, &account(state), &role.path, role_name);
    let trust_label = format!("the trust policy of role/{role_name}");
    let mut trust: Option<(TrustMatch, Decision)> = None;
    for (index, statement) in statements(&role.trust).iter().enumerate() {
        if !statement.matches_action("sts:AssumeRole") {
            continue;
        }
        let named = if !statement.principals.is_empty() {
            statement
                .principals
                .iter()
                .filter(|(kind, _)| kind == "AWS")
                .filter_map(|(_, pattern)| principal_matches(pattern, principal))
                .min_by_key(|found| *found != TrustMatch::Direct)
        } else if !statement.not_principals.is_empty() {
            let excluded = statement.not_principals.iter().any(|(kind, pattern)| {
                kind == "AWS" && principal_matches(pattern, principal).is_some()
            });
            (!excluded).then_some(TrustMatch::Delegated)
        } else {
            None
        };
        let Some(named) = named else { continue };
        let name = format!("{trust_label} statement {}", index + 1);
        match (statement.effect, statement.has_condition()) {
            (Effect::Deny, false) => return Decision::Denied { by: name },
            (Effect::Deny, true) => {
                trust = Some((
                    named,
                    Decision::Possibly {
                        because: format!("{name} denies it under a condition"),
                    },
                ));
            }
            (Effect::Allow, conditional) => {
                let decision = if conditional {
                    Decision::Possibly {
                        because: format!("{name} allows it under a condition"),
                    }
                } else {
                    Decision::Allowed { by: name }
                };
                let better = match &trust {
                    None => true,
                    Some((_, Decision::Possibly { .. })) => decision.is_allowed(),
                    Some((found, _)) => {
                        *found == TrustMatch::Delegated && named == TrustMatch::Direct
                    }
                };
                if better {
                    trust = Some((named, decision));
                }
            }
        }
    }
    let Some((named, trust_decision)) = trust else {
        return Decision::ImplicitDeny;
    };
    let identity = evaluate(state, principal, "sts:AssumeRole", &role_arn);
    let same_account = principal.account() == account(state);
    match (&identity, named == TrustMatch::Direct && same_account) {
        (Decision::Denied { .. }, _) => identity,
        (_, true) => trust_decision,
        (Decision::ImplicitDeny, false) => Decision::ImplicitDeny,
        (Decision::Possibly { .. }, false) => identity,
        (Decision::Allowed { by }, false) => match &trust_decision {
            Decision::Allowed { by: trusted } => Decision::Allowed {
                by: format!("{by} and {trusted}"),
            },
            other => other.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::{DocumentKind, Role, User};

    const ACCOUNT: &str = "111122223333";

    fn document(statements: serde_json::Value) -> PolicyDocument {
        PolicyDocument::from_value(
            &json!({"Version": "2012-10-17", "Statement": statements}),
            DocumentKind::Any,
        )
        .expect("a valid document")
    }

    fn state_with_user(inline: serde_json::Value, managed: &[&str]) -> State {
        let mut state = State {
            account: Some(ACCOUNT.to_string()),
            ..State::default()
        };
        state.iam.users.insert(
            "alice".to_string(),
            User {
                path: "/".to_string(),
                groups: Default::default(),
                managed_policies: managed.iter().map(|m| m.to_string()).collect(),
                inline_policies: [("p".to_string(), document(inline))].into(),
                permissions_boundary: None,
                tags: Default::default(),
            },
        );
        state
    }

    fn decide(inline: serde_json::Value, action: &str, resource: &str) -> Decision {
        let state = state_with_user(inline, &[]);
        let alice = Principal::user(&state, "alice").expect("alice");
        evaluate(&state, &alice, action, resource)
    }

    fn kind(decision: &Decision) -> &'static str {
        match decision {
            Decision::Allowed { .. } => "allowed",
            Decision::Denied { .. } => "denied",
            Decision::ImplicitDeny => "implicit-deny",
            Decision::Possibly { .. } => "possibly",
        }
    }

    #[test]
    fn evaluation_table() {
        let bucket = "arn:aws:s3:::reports/2024/q1.csv";
        let cases = [
            // (statements, action, resource, expected)
            (
                json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]),
                "s3:GetObject",
                bucket,
                "allowed",
            ),
            (
                json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]),
                "s3:PutObject",
                bucket,
                "implicit-deny",
            ),
            // Action names are case-insensitive, wildcards in the name.
            (
                json!([{"Effect": "Allow", "Action": "S3:get*", "Resource": "*"}]),
                "s3:GetObject",
                bucket,
                "allowed",
            ),
            (
                json!([{"Effect": "Allow", "Action": "s3:?etObject", "Resource": "*"}]),
                "s3:GetObject",
                bucket,
                "allowed",
            ),
            (
                json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
                "iam:CreateUser",
                "*",
                "allowed",
            ),
            // Resource wildcards are case-sensitive.
            (
                json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::reports/*"}]),
                "s3:GetObject",
                bucket,
                "allowed",
            ),
            (
                json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::Reports/*"}]),
                "s3:GetObject",
                bucket,
                "implicit-deny",
            ),
            // Explicit deny wins, whatever the order.
            (
                json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]),
                "s3:GetObject",
                bucket,
                "denied",
            ),
            (
                json!([{"Effect": "Deny", "Action": "s3:Get*", "Resource": "arn:aws:s3:::reports/*"}, {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
                "s3:GetObject",
                bucket,
                "denied",
            ),
            (
                json!([{"Effect": "Deny", "Action": "s3:Get*", "Resource": "arn:aws:s3:::other/*"}, {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
                "s3:GetObject",
                bucket,
                "allowed",
            ),
            // NotAction allows all but the listed actions.
            (
                json!([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]),
                "s3:GetObject",
                bucket,
                "allowed",
            ),
            (
                json!([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]),
                "iam:CreateUser",
                "*",
                "implicit-deny",
            ),
            (
                json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}]),
                "iam:CreateUser",
                "*",
                "denied",
            ),
            // NotResource.
            (
                json!([{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"}]),
                "s3:GetObject",
                bucket,
                "allowed",
            ),
            (
                json!([{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::reports/*"}]),
                "s3:GetObject",
                bucket,
                "implicit-deny",
            ),
            // Conditions cannot be evaluated: possibly, never yes or no.
            (
                json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]),
                "s3:GetObject",
                bucket,
                "possibly",
            ),
            (
                json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]),
                "s3:GetObject",
                bucket,
                "possibly",
            ),
            // An unconditional allow beats a conditional one; a conditional deny does not matter
            // when nothing allows.
            (
                json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]),
                "s3:GetObject",
                bucket,
                "allowed",
            ),
            (
                json!([{"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]),
                "s3:GetObject",
                bucket,
                "implicit-deny",
            ),
        ];
        for (statements, action, resource, expected) in cases {
            let decision = decide(statements.clone(), action, resource);
            assert_eq!(
                kind(&decision),
                expected,
                "{statements} / {action} on {resource}: {decision:?}"
            );
        }
    }

    #[test]
    fn aws_managed_policies_of_the_table_and_unknown_ones() {
        let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
        let s3 = "arn:aws:iam::aws:policy/AmazonS3FullAccess";
        let eks = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy";
        let unknown = "arn:aws:iam::aws:policy/SomethingNew";
        let case = |managed: &str, action: &str| {
            let state = state_with_user(
                json!([{"Effect": "Deny", "Action": "iam:DeleteUser", "Resource": "*"}]),
                &[managed],
            );
            let alice = Principal::user(&state, "alice").expect("alice");
            kind(&evaluate(&state, &alice, action, "*"))
        };
        assert_eq!(case(admin, "iam:CreateUser"), "allowed");
        assert_eq!(case(admin, "iam:DeleteUser"), "denied");
        assert_eq!(case(s3, "s3:PutObject"), "allowed");
        assert_eq!(case(s3, "sts:AssumeRole"), "implicit-deny");
        assert_eq!(case(eks, "eks:DescribeCluster"), "possibly");
        assert_eq!(case(eks, "iam:CreateUser"), "implicit-deny");
        assert_eq!(case(unknown, "sts:AssumeRole"), "possibly");
        // A customer policy ARN the state does not hold.
        assert_eq!(
            case("arn:aws:iam::111122223333:policy/Gone", "s3:GetObject"),
            "possibly"
        );
    }

    fn role(trust: serde_json::Value) -> Role {
        Role {
            path: "/".to_string(),
            description: None,
            max_session_duration: 3600,
            trust: document(trust),
            managed_policies: Default::default(),
            inline_policies: Default::default(),
            permissions_boundary: None,
            tags: Default::default(),
            role_id: None,
        }
    }

    #[test]
    fn trust_and_identity_together_decide_assumption() {
        let assume_admin = json!([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::111122223333:role/admin"}]);
        let nothing = json!([{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]);
        let root_trust = json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]);
        let direct_trust = json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"}, "Action": "sts:AssumeRole"}]);
        let other_trust = json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:root"}, "Action": "sts:AssumeRole"}]);
        let conditional_trust = json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]);
        let deny_identity = json!([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}, {"Effect": "Deny", "Action": "sts:*", "Resource": "*"}]);
        let cases = [
            (assume_admin.clone(), root_trust.clone(), "allowed"),
            // The account root delegates: the identity policy must allow too.
            (nothing.clone(), root_trust.clone(), "implicit-deny"),
            // Named directly in the same account: the trust policy is enough.
            (nothing.clone(), direct_trust.clone(), "allowed"),
            (assume_admin.clone(), other_trust, "implicit-deny"),
            (assume_admin.clone(), conditional_trust, "possibly"),
            (deny_identity, direct_trust, "denied"),
        ];
        for (identity, trust, expected) in cases {
            let mut state = state_with_user(identity.clone(), &[]);
            state
                .iam
                .roles
                .insert("admin".to_string(), role(trust.clone()));
            let alice = Principal::user(&state, "alice").expect("alice");
            let decision = can_assume(&state, &alice, "admin");
            assert_eq!(
                kind(&decision),
                expected,
                "{identity} / {trust}: {decision:?}"
            );
        }
    }

    #[test]
    fn glob_matching() {
        assert!(wildcard_match("a*c", "abbbc", false));
        assert!(wildcard_match("*", "", false));
        assert!(wildcard_match("a?c", "abc", false));
        assert!(!wildcard_match("a?c", "ac", false));
        assert!(!wildcard_match("abc", "abcd", false));
        assert!(wildcard_match("*:Get*", "s3:GetObject", false));
        assert!(action_matches("EKS:describe*", "eks:DescribeCluster"));
    }

    #[test]
    fn paths_do_not_matter_for_principal_identity() {
        assert!(same_principal(
            "arn:aws:iam::1:role/admin",
            "arn:aws:iam::1:role/team/admin"
        ));
        assert!(!same_principal(
            "arn:aws:iam::1:role/admin",
            "arn:aws:iam::1:user/admin"
        ));
        assert!(!same_principal(
            "arn:aws:iam::1:role/admin",
            "arn:aws:iam::2:role/admin"
        ));
    }
}
