//! Which policies apply to a principal: its own inline and managed policies and, for a user,
//! its groups'; the permissions boundary apart. A managed policy is a customer policy of the
//! state, an AWS-managed policy of the table, or unknown.

use std::collections::{BTreeMap, BTreeSet};

use super::managed::{ManagedPolicy, aws_managed};
use super::{Principal, PrincipalKind, Resolved};
use crate::model::{self, Policy as CustomerPolicy, PolicyDocument, State};

/// A policy that applies to a principal, with where it comes from.
#[derive(Clone, Debug)]
pub struct Attached<'s> {
    /// `inline policy assume (user/manager)`, `policy AmazonEKSAdminPolicy (group/developers)`.
    pub label: String,
    pub source: PolicySource<'s>,
}

#[derive(Clone, Copy, Debug)]
pub enum PolicySource<'s> {
    Document(&'s PolicyDocument),
    /// An AWS-managed policy of the table: action patterns it allows on every resource, and
    /// whether the table is exact for it (otherwise matches are "possibly").
    Managed(&'static ManagedPolicy),
    /// A document the model does not hold.
    Unknown,
}

/// Customer policies of the state by ARN.
type CustomerPolicies<'s> = BTreeMap<String, (&'s str, &'s CustomerPolicy)>;

/// The policies of every user and role of the state.
pub(super) fn resolve_all<'s>(
    state: &'s State,
    account: &str,
) -> BTreeMap<(PrincipalKind, &'s str), Resolved<'s>> {
    let customer = customer_policies(state, account);
    let mut resolved = BTreeMap::new();
    for (name, user) in &state.iam.users {
        let mut holders = vec![(
            format!("user/{name}"),
            &user.managed_policies,
            &user.inline_policies,
        )];
        for group_name in &user.groups {
            if let Some(group) = state.iam.groups.get(group_name) {
                let owner = format!("group/{group_name}");
                holders.push((owner, &group.managed_policies, &group.inline_policies));
            }
        }
        let policies = resolve(&customer, holders, user.permissions_boundary.as_deref());
        resolved.insert((PrincipalKind::User, name.as_str()), policies);
    }
    for (name, role) in &state.iam.roles {
        let holders = vec![(
            format!("role/{name}"),
            &role.managed_policies,
            &role.inline_policies,
        )];
        let policies = resolve(&customer, holders, role.permissions_boundary.as_deref());
        resolved.insert((PrincipalKind::Role, name.as_str()), policies);
    }
    resolved
}

fn customer_policies<'s>(state: &'s State, account: &str) -> CustomerPolicies<'s> {
    state
        .iam
        .policies
        .iter()
        .map(|(name, policy)| {
            // In an estate of several accounts, the policy's own account (see `estate`).
            let arn = match crate::insight::estate::qualified(name) {
                Some((owner, short)) => {
                    model::arn::policy(&state.partition, owner, &policy.path, short)
                }
                None => model::arn::policy(&state.partition, account, &policy.path, name),
            };
            (arn, (name.as_str(), policy))
        })
        .collect()
}

/// The policies of one group of the state: what a user joining it would get.
pub(super) fn resolve_group<'s>(
    state: &'s State,
    account: &str,
    name: &str,
) -> Option<Resolved<'s>> {
    let group = state.iam.groups.get(name)?;
    let customer = customer_policies(state, account);
    let holders = vec![(
        format!("group/{name}"),
        &group.managed_policies,
        &group.inline_policies,
    )];
    Some(resolve(&customer, holders, None))
}

/// Who holds policies for a principal (itself first, then its groups) → its policies.
type Holders<'s> = Vec<(
    String,
    &'s BTreeSet<String>,
    &'s BTreeMap<String, PolicyDocument>,
)>;

fn resolve<'s>(
    customer: &CustomerPolicies<'s>,
    holders: Holders<'s>,
    boundary_arn: Option<&str>,
) -> Resolved<'s> {
    let mut attached = Vec::new();
    for (owner, managed, inline) in &holders {
        add(customer, managed, inline, owner, &mut attached);
    }
    let owner = holders.first().map_or("", |(owner, _, _)| owner.as_str());
    let boundary = boundary(customer, boundary_arn, owner);
    Resolved { attached, boundary }
}

/// A principal outside the state: its policies are unknown.
pub(super) fn external(principal: &Principal) -> Resolved<'static> {
    Resolved {
        attached: vec![Attached {
            label: format!("the policies of {} (not in the model)", principal.arn),
            source: PolicySource::Unknown,
        }],
        boundary: None,
    }
}

fn add<'s>(
    customer: &CustomerPolicies<'s>,
    managed: &BTreeSet<String>,
    inline: &'s BTreeMap<String, PolicyDocument>,
    owner: &str,
    attached: &mut Vec<Attached<'s>>,
) {
    for (name, document) in inline {
        attached.push(Attached {
            label: format!("inline policy {name} ({owner})"),
            source: PolicySource::Document(document),
        });
    }
    for arn in managed {
        attached.push(managed_policy(customer, arn, owner));
    }
}

fn boundary<'s>(
    customer: &CustomerPolicies<'s>,
    arn: Option<&str>,
    owner: &str,
) -> Option<Attached<'s>> {
    arn.map(|arn| {
        let mut boundary = managed_policy(customer, arn, owner);
        boundary.label = format!("permissions boundary {}", boundary.label);
        boundary
    })
}

/// A managed policy by ARN: a customer policy of the state, an AWS-managed policy of the
/// table, or unknown.
fn managed_policy<'s>(customer: &CustomerPolicies<'s>, arn: &str, owner: &str) -> Attached<'s> {
    let short = model::arn::short_name(arn);
    if model::IamArn::parse(arn).is_some_and(|parsed| parsed.is_aws_managed_policy()) {
        return Attached {
            label: format!("AWS-managed policy {short} ({owner})"),
            source: aws_managed(short).map_or(PolicySource::Unknown, PolicySource::Managed),
        };
    }
    match customer.get(arn) {
        Some((name, policy)) => Attached {
            label: format!("policy {name} ({owner})"),
            source: PolicySource::Document(&policy.document),
        },
        None => Attached {
            label: format!("policy {arn} ({owner}, document not in the model)"),
            source: PolicySource::Unknown,
        },
    }
}
