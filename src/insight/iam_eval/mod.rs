//! IAM policy evaluation over the model: may a principal of the state perform an action on a
//! resource, and may it assume a role.
//!
//! Follows IAM's order for identity-based policies (explicit `Deny` wins over any `Allow`;
//! nothing allowed means an implicit deny; a permissions boundary must allow too) with what the
//! model knows. What it cannot know is never answered yes or no: a statement with a `Condition`
//! (no request context here), a customer policy whose document is not in the state, and an
//! AWS-managed policy outside the small table of [`managed`] make the answer
//! [`Decision::Possibly`]. No I/O.
//!
//! Documents are read through `model::policy`'s typed view. An [`Analysis`] resolves the
//! policies of every principal of the state once; each question asked of it only walks those
//! statements. Files: `attached` (which policies apply to a principal), `managed` (the
//! AWS-managed table, as data), this one (the decisions).

mod attached;
pub mod managed;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

pub use attached::{Attached, PolicySource};
pub use managed::{ManagedPolicy, aws_managed};

use crate::model::policy::matching::{self, PrincipalMatch};
use crate::model::policy::{Effect, action_matches};
use crate::model::{self, State, parse_arn};

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

/// A principal the evaluator knows about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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
    /// A user or role of the state that accessctl does not manage (made in the console, by
    /// another tool): it has no `managed-by` tag.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unmanaged: bool,
}

impl Principal {
    pub fn user(state: &State, name: &str) -> Option<Self> {
        let user = state.iam.users.get(name)?;
        Some(Self::of_state(
            state,
            PrincipalKind::User,
            name,
            &user.path,
            &user.tags,
        ))
    }

    pub fn role(state: &State, name: &str) -> Option<Self> {
        let role = state.iam.roles.get(name)?;
        Some(Self::of_state(
            state,
            PrincipalKind::Role,
            name,
            &role.path,
            &role.tags,
        ))
    }

    /// A principal named by ARN only, not in the state.
    pub fn external(name: &str, arn: &str) -> Self {
        Principal {
            kind: PrincipalKind::External,
            name: name.to_string(),
            arn: arn.to_string(),
            unmanaged: false,
        }
    }

    fn of_state(
        state: &State,
        kind: PrincipalKind,
        name: &str,
        path: &str,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Self {
        let (account, short) = super::estate::owner(state, name);
        let arn = match kind {
            PrincipalKind::User => model::arn::user(&state.partition, &account, path, short),
            _ => model::arn::role(&state.partition, &account, path, short),
        };
        Principal {
            kind,
            name: name.to_string(),
            arn,
            unmanaged: !model::owned::by_tags(tags),
        }
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

/// The users, then the roles, of the state.
pub fn iam_principals(state: &State) -> Vec<Principal> {
    state
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
        .collect()
}

/// The state's account: the file's `account`, else the caller's.
pub fn account(state: &State) -> String {
    state
        .account
        .clone()
        .or_else(|| state.caller.as_ref().map(|caller| caller.account.clone()))
        .unwrap_or_default()
}

/// The ARN of role `key` of the state (a name, or in an estate `ACCOUNT/NAME`).
fn role_arn(state: &State, key: &str, path: &str) -> String {
    let (account, name) = super::estate::owner(state, key);
    model::arn::role(&state.partition, &account, path, name)
}

/// The identity-based policies of one principal, and its permissions boundary apart.
#[derive(Clone, Debug, Default)]
pub struct Resolved<'s> {
    pub attached: Vec<Attached<'s>>,
    pub boundary: Option<Attached<'s>>,
}

/// The action of assuming a role.
const ASSUME_ROLE: &str = "sts:AssumeRole";

/// The roles one principal may (possibly) assume, by name in the state's order, each with the
/// decision.
pub type Assumable<'s> = Arc<Vec<(&'s str, Decision)>>;

/// A role of the state as [`Analysis::assumable`] screens it: its ARN, and whether its trust
/// policy names some principal by ARN (rather than only `*` or an account).
struct RoleFacts<'s> {
    name: &'s str,
    arn: String,
    names_principals: bool,
}

/// A set of roles of the state, by their index in its order (the order of `state.iam.roles`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleSet {
    words: Vec<u64>,
}

impl RoleSet {
    fn empty(roles: usize) -> Self {
        RoleSet {
            words: vec![0; roles.div_ceil(64)],
        }
    }

    fn full(roles: usize) -> Self {
        let mut set = Self::empty(roles);
        for index in 0..roles {
            set.insert(index);
        }
        set
    }

    fn insert(&mut self, index: usize) {
        if let Some(word) = self.words.get_mut(index / 64) {
            *word |= 1 << (index % 64);
        }
    }

    fn union_with(&mut self, other: &RoleSet) {
        for (word, theirs) in self.words.iter_mut().zip(&other.words) {
            *word |= theirs;
        }
    }

    pub fn contains(&self, index: usize) -> bool {
        self.words
            .get(index / 64)
            .is_some_and(|word| word & (1 << (index % 64)) != 0)
    }
}

/// One analysis of a state: the policies of every user and role resolved once, then any
/// number of questions. The roles each principal may assume are worked out once per
/// principal, on first use, and kept for every later question of the analysis.
pub struct Analysis<'s> {
    state: &'s State,
    account: String,
    identity: BTreeMap<(PrincipalKind, &'s str), Resolved<'s>>,
    roles: Vec<RoleFacts<'s>>,
    /// The roles whose trust names some principal by ARN.
    naming: RoleSet,
    /// Role index by ARN.
    role_by_arn: HashMap<String, usize>,
    /// Role index by name.
    role_by_name: HashMap<&'s str, usize>,
    /// The roles each policy document may allow `sts:AssumeRole` on, by the document's address.
    document_roles: Mutex<HashMap<usize, Arc<RoleSet>>>,
    assumable: Mutex<BTreeMap<(PrincipalKind, String, String), Assumable<'s>>>,
}

impl<'s> Analysis<'s> {
    pub fn new(state: &'s State) -> Self {
        let account = account(state);
        let identity = attached::resolve_all(state, &account);
        let roles = state
            .iam
            .roles
            .iter()
            .map(|(name, role)| RoleFacts {
                name,
                arn: role_arn(state, name, &role.path),
                names_principals: role.trust.statements().iter().any(|statement| {
                    statement.not_principals().is_some()
                        || statement.principals().is_some_and(|mut principals| {
                            principals.any(|(kind, pattern)| {
                                kind == "AWS"
                                    && pattern != "*"
                                    && !matches!(
                                        model::IamArn::parse(pattern),
                                        Some(model::IamArn::AccountRoot { .. })
                                    )
                                    && !(pattern.len() == 12
                                        && pattern.bytes().all(|byte| byte.is_ascii_digit()))
                            })
                        })
                }),
            })
            .collect::<Vec<RoleFacts<'s>>>();
        let mut naming = RoleSet::empty(roles.len());
        for (index, role) in roles.iter().enumerate() {
            if role.names_principals {
                naming.insert(index);
            }
        }
        let role_by_arn = roles
            .iter()
            .enumerate()
            .map(|(index, role)| (role.arn.clone(), index))
            .collect();
        let role_by_name = roles
            .iter()
            .enumerate()
            .map(|(index, role)| (role.name, index))
            .collect();
        Analysis {
            state,
            account,
            identity,
            roles,
            naming,
            role_by_arn,
            role_by_name,
            document_roles: Mutex::new(HashMap::new()),
            assumable: Mutex::new(BTreeMap::new()),
        }
    }

    /// How many roles the state holds (role indices are below it, in the state's order).
    pub fn role_count(&self) -> usize {
        self.roles.len()
    }

    /// The name of role `index`.
    pub fn role_name(&self, index: usize) -> Option<&'s str> {
        self.roles.get(index).map(|role| role.name)
    }

    /// The index of the role of the state with this name.
    pub fn role_position(&self, name: &str) -> Option<usize> {
        self.role_by_name.get(name).copied()
    }

    /// The index of the role of the state with this ARN.
    pub fn role_index(&self, arn: &str) -> Option<usize> {
        self.role_by_arn.get(arn).copied()
    }

    /// The roles whose assumption by `principal` can be other than no, as
    /// [`Self::assumable`] screens them: the trust names principals by ARN, or the principal's
    /// own policies may allow `sts:AssumeRole` on the role (the boundary aside: it only takes
    /// away). Every other role's [`Self::can_assume`] is a deny.
    pub fn assume_candidates(&self, principal: &Principal) -> RoleSet {
        let external;
        let resolved = match self.resolved(principal) {
            Some(resolved) if principal.kind != PrincipalKind::External => resolved,
            _ => {
                external = self.policies(principal);
                &external
            }
        };
        let mut set = self.naming.clone();
        for attached in &resolved.attached {
            match &attached.source {
                PolicySource::Unknown => return RoleSet::full(self.roles.len()),
                PolicySource::Managed(policy) => {
                    if policy
                        .actions
                        .iter()
                        .any(|pattern| action_matches(pattern, ASSUME_ROLE))
                    {
                        return RoleSet::full(self.roles.len());
                    }
                }
                PolicySource::Document(document) => set.union_with(&self.document_roles(document)),
            }
        }
        set
    }

    /// The roles a policy document may allow `sts:AssumeRole` on (an `Allow` statement of the
    /// action and the role's ARN), worked out once per document.
    fn document_roles(&self, document: &model::PolicyDocument) -> Arc<RoleSet> {
        let key = std::ptr::from_ref(document) as usize;
        if let Some(found) = self
            .document_roles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Arc::clone(found);
        }
        let mut set = RoleSet::empty(self.roles.len());
        for statement in document.statements() {
            if statement.effect() != Effect::Allow || !statement.matches_action(ASSUME_ROLE) {
                continue;
            }
            for (index, role) in self.roles.iter().enumerate() {
                if statement.matches_resource(&role.arn) {
                    set.insert(index);
                }
            }
        }
        let set = Arc::new(set);
        self.document_roles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, Arc::clone(&set));
        set
    }

    /// Every role of the state `principal` may (possibly) assume, with [`Self::can_assume`]'s
    /// decision: the same answers as asking each role, computed once per principal. A role is
    /// only asked when the answer can be other than no: its trust names principals by ARN, or
    /// the principal's own policies may allow `sts:AssumeRole` on it (without either, the trust
    /// can only delegate to identity policies that do not allow it).
    pub fn assumable(&self, principal: &Principal) -> Assumable<'s> {
        let key = (
            principal.kind,
            principal.name.clone(),
            principal.arn.clone(),
        );
        if let Some(found) = self
            .assumable
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Arc::clone(found);
        }
        let candidates = self.assume_candidates(principal);
        let found: Vec<(&'s str, Decision)> = self
            .roles
            .iter()
            .enumerate()
            .filter(|(index, _)| candidates.contains(*index))
            .filter_map(|(_, role)| {
                let decision = self.can_assume(principal, role.name);
                (!matches!(decision, Decision::Denied { .. } | Decision::ImplicitDeny))
                    .then_some((role.name, decision))
            })
            .collect();
        let found = Arc::new(found);
        self.assumable
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, Arc::clone(&found));
        found
    }

    pub fn state(&self) -> &'s State {
        self.state
    }

    /// The state's account (see [`account`]).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The identity-based policies of `principal` (an external principal's are unknown).
    pub fn policies(&self, principal: &Principal) -> Resolved<'s> {
        if principal.kind == PrincipalKind::External {
            return attached::external(principal);
        }
        self.identity
            .get(&(principal.kind, principal.name.as_str()))
            .cloned()
            .unwrap_or_default()
    }

    /// The resolved policies of a user or role of the state, without copying them.
    pub fn resolved<'a>(&'a self, principal: &'a Principal) -> Option<&'a Resolved<'a>> {
        self.identity
            .get(&(principal.kind, principal.name.as_str()))
    }

    /// The policies of a group of the state (what joining it grants).
    pub fn group_policies(&self, name: &str) -> Option<Resolved<'s>> {
        attached::resolve_group(self.state, &self.account, name)
    }

    /// Does the principal's identity-based policy allow `action` on `resource`?
    pub fn evaluate(&self, principal: &Principal, action: &str, resource: &str) -> Decision {
        match self
            .identity
            .get(&(principal.kind, principal.name.as_str()))
        {
            Some(resolved) => evaluate_resolved(resolved, action, resource),
            None => evaluate_resolved(&self.policies(principal), action, resource),
        }
    }

    /// May `principal` assume `role` (of the state) with `sts:AssumeRole`? The trust policy
    /// must allow it, and unless it names the principal itself in the same account, an
    /// identity-based policy must allow `sts:AssumeRole` on the role too. An identity `Deny`
    /// always wins.
    pub fn can_assume(&self, principal: &Principal, role_name: &str) -> Decision {
        let state = self.state;
        let Some(role) = state.iam.roles.get(role_name) else {
            return Decision::ImplicitDeny;
        };
        let role_arn = role_arn(state, role_name, &role.path);
        let trust_label = format!("the trust policy of role/{role_name}");
        let principal_account = principal.account();
        let names =
            |pattern: &str| matching::principal_match(pattern, &principal.arn, principal_account);
        let mut trust: Option<(PrincipalMatch, Decision)> = None;
        for (index, statement) in role.trust.statements().iter().enumerate() {
            if !statement.matches_action("sts:AssumeRole") {
                continue;
            }
            let aws = |(kind, pattern): (&str, &'s str)| (kind == "AWS").then_some(pattern);
            let named = if let Some(principals) = statement.principals() {
                principals
                    .filter_map(|(kind, pattern)| aws((kind, pattern)))
                    .filter_map(names)
                    .min_by_key(|found| *found != PrincipalMatch::Direct)
            } else if let Some(mut excluded) = statement.not_principals() {
                let excluded =
                    excluded.any(|(kind, pattern)| kind == "AWS" && names(pattern).is_some());
                (!excluded).then_some(PrincipalMatch::Delegated)
            } else {
                None
            };
            let Some(named) = named else { continue };
            let name = format!("{trust_label} statement {}", index + 1);
            match (statement.effect(), statement.has_condition()) {
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
                            *found == PrincipalMatch::Delegated && named == PrincipalMatch::Direct
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
        let identity = self.evaluate(principal, "sts:AssumeRole", &role_arn);
        // In an estate of several accounts, the role's own account (see `estate`).
        let same_account = principal_account == super::estate::owner(state, role_name).0;
        match (&identity, named == PrincipalMatch::Direct && same_account) {
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
}

/// The identity policies, then the boundary, on one request.
pub fn evaluate_resolved(resolved: &Resolved<'_>, action: &str, resource: &str) -> Decision {
    let decision = combine(
        resolved
            .attached
            .iter()
            .map(|policy| policy_verdict(policy, action, resource)),
    );
    let Some(boundary) = &resolved.boundary else {
        return decision;
    };
    if !decision.may_allow() {
        return decision;
    }
    match combine([policy_verdict(boundary, action, resource)]) {
        Decision::Allowed { .. } => decision,
        Decision::Possibly { because } => Decision::Possibly { because },
        Decision::Denied { by } => Decision::Denied { by },
        Decision::ImplicitDeny => Decision::Denied {
            by: format!("{} (it does not allow it)", boundary.label),
        },
    }
}

/// One policy's verdict on a request, before combining.
fn policy_verdict(
    attached: &Attached<'_>,
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
        PolicySource::Managed(policy) => {
            if policy
                .actions
                .iter()
                .any(|pattern| action_matches(pattern, action))
            {
                let decision = if policy.exact {
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
        PolicySource::Document(document) => {
            let mut deny = None;
            let mut allow = None;
            for (index, statement) in document.statements().iter().enumerate() {
                if !statement.matches_action(action) || !statement.matches_resource(resource) {
                    continue;
                }
                let name = match statement.sid() {
                    Some(sid) => format!("{} statement `{sid}`", attached.label),
                    None => format!("{} statement {}", attached.label, index + 1),
                };
                match (statement.effect(), statement.has_condition()) {
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

#[cfg(test)]
mod tests;
