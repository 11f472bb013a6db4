//! Making a plan, shared by `plan` and `apply`: access.yaml read once, live state read (or a
//! snapshot), live facts applied, the managed policies the file names checked, then the plan.

use std::path::Path;

use super::common::{
    AwsArgs, Input, SafetyArgs, check_snapshot, connect_live, print_warnings, read_connected,
    read_live_state, refused,
};
use super::lock::{LockArgs, Locks};
use super::{CliError, Printer};
use crate::aws::credentials;
use crate::live::Connections;
use crate::model::{AssumeRole, Iam, State};
use crate::plan::{self, Plan};
use crate::spec::{Loaded, Sources};

/// A plan with what it was made from.
pub struct Planned {
    pub plan: Plan,
    /// The desired state the plan was made for.
    pub desired: State,
    /// The role the account was reached through (`assumeRole`).
    pub assume_role: Option<AssumeRole>,
    /// access.yaml and its policy files, as read for the plan (the saved plan's digest).
    pub source: Sources,
    pub live: State,
    /// Open when live state was read (not a snapshot): apply reuses them.
    pub connections: Option<Connections>,
    /// The apply locks taken before live state was read (apply only).
    pub locks: Locks,
}

impl Planned {
    /// The connections live state was read through, for apply to write with: a plan made
    /// from a snapshot has none, and applying one is a bug.
    pub fn take_connections(&mut self) -> Result<Connections, CliError> {
        self.connections
            .take()
            .ok_or_else(|| CliError::new("internal error: live state was read without connections"))
    }
}

/// Plans against a saved snapshot.
pub fn plan_offline(
    file: &Path,
    live_path: &Path,
    safety: &SafetyArgs,
    printer: &Printer,
) -> Result<Planned, CliError> {
    let live = read_live_state(live_path)?;
    plan_snapshot(Input::read(file)?, live, live_path, safety, printer)
}

/// [`plan_offline`] of a file already read, against `live` (read from `live_path`: one
/// account's part of a snapshot of several accounts, or a one-account snapshot).
pub fn plan_snapshot(
    input: Input,
    live: State,
    live_path: &Path,
    safety: &SafetyArgs,
    printer: &Printer,
) -> Result<Planned, CliError> {
    // The clusters first: a snapshot without one would otherwise be reported as that
    // cluster's missing OIDC issuer, or planned as a cluster with nothing in it.
    check_snapshot(&input.desired()?.state, &live, live_path)?;
    let loaded = resolve(&input, &live, printer)?;
    let plan = plan::plan(&loaded.desired, &live, &safety.options()).map_err(refused)?;
    Ok(Planned {
        plan,
        assume_role: loaded.desired.assume_role,
        desired: loaded.desired.state,
        source: input.sources,
        live,
        connections: None,
        locks: Locks::default(),
    })
}

/// Reads live state from AWS and the clusters the file names, then plans.
pub fn plan_live(
    runtime: &tokio::runtime::Runtime,
    file: &Path,
    aws: &AwsArgs,
    safety: &SafetyArgs,
    lock: Option<&LockArgs>,
    printer: &Printer,
) -> Result<Planned, CliError> {
    // The file is read on this thread (blocking I/O stays off the runtime); it names the
    // clusters to read, and IRSA issuers are resolved once live state is known.
    plan_input(runtime, Input::read(file)?, aws, safety, lock, printer)
}

/// [`plan_live`] of a file already read.
pub fn plan_input(
    runtime: &tokio::runtime::Runtime,
    input: Input,
    aws: &AwsArgs,
    safety: &SafetyArgs,
    lock: Option<&LockArgs>,
    printer: &Printer,
) -> Result<Planned, CliError> {
    let desired = input.desired()?;
    let connect = connect_live(&desired.state, desired.assume_role.as_ref(), aws, printer);
    let connections = runtime.block_on(connect)?;
    // The apply lock is taken before the read: the plan is made from what the previous
    // holder left.
    let locks = match lock {
        Some(lock) => runtime.block_on(Locks::acquire(&connections, lock, printer))?,
        None => Locks::default(),
    };
    match plan_connected(runtime, input, connections, safety, printer) {
        Ok(mut planned) => {
            planned.locks = locks;
            Ok(planned)
        }
        Err(error) => {
            runtime.block_on(locks.release(printer));
            Err(error)
        }
    }
}

/// [`plan_live`] once connected.
fn plan_connected(
    runtime: &tokio::runtime::Runtime,
    input: Input,
    connections: Connections,
    safety: &SafetyArgs,
    printer: &Printer,
) -> Result<Planned, CliError> {
    let live = runtime.block_on(read_connected(
        &connections,
        &input.desired()?.state,
        printer,
    ))?;
    let loaded = resolve(&input, &live, printer)?;
    runtime.block_on(check_policy_references(
        &connections.aws.iam,
        &loaded.desired.state,
        &live,
    ))?;
    let mut plan = plan::plan(&loaded.desired, &live, &safety.options()).map_err(refused)?;
    plan.deleted_with = runtime.block_on(futures_util::future::join_all(
        plan::deleted_users(&plan)
            .into_iter()
            .map(|user| credentials::deleted_with(&connections.aws.iam, user)),
    ));
    Ok(Planned {
        plan,
        assume_role: loaded.desired.assume_role,
        desired: loaded.desired.state,
        source: input.sources,
        live,
        connections: Some(connections),
        locks: Locks::default(),
    })
}

/// The desired state with `live`'s facts, its warnings shown.
fn resolve(input: &Input, live: &State, printer: &Printer) -> Result<Loaded, CliError> {
    let loaded = input.resolve(Some(live))?;
    print_warnings(printer, &loaded);
    Ok(loaded)
}

/// Checks that every managed policy the file refers to exists, where the live read cannot
/// tell: AWS-managed policies and other accounts' policies that nothing attaches yet. One
/// `iam:GetPolicy` each, so a typo fails the plan, not apply after its retries.
async fn check_policy_references(
    iam: &aws_sdk_iam::Client,
    desired: &State,
    live: &State,
) -> Result<(), CliError> {
    let referrers = policy_references(desired);
    let known = known_policies(desired, live);
    let unknown: Vec<String> = referrers
        .keys()
        .filter(|arn| !known.contains(*arn))
        .cloned()
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let missing = crate::aws::read::missing_policies(iam, unknown)
        .await
        .map_err(|error| CliError::new(error.to_string()).with_hint(error.hint()))?;
    if missing.is_empty() {
        return Ok(());
    }
    let mut details = String::new();
    for arn in &missing {
        let by = referrers
            .get(arn)
            .map(|by| by.join(", "))
            .unwrap_or_default();
        let hint = match crate::spec::managed::managed_name(arn).map(crate::spec::managed::lookup) {
            Some(crate::spec::managed::Known::Near(meant)) => {
                format!("did you mean `aws:{meant}`?")
            }
            Some(_) => {
                "check the name and path in access.yaml (`aws:NAME`, `aws:service-role/NAME`)"
                    .to_string()
            }
            None => {
                "check the ARN in access.yaml: the policy must exist in its account".to_string()
            }
        };
        details.push_str(&format!(
            "error: policy `{arn}` does not exist (`iam:GetPolicy` answered NoSuchEntity); {by} refers to it\n  hint: {hint}\n"
        ));
    }
    let count = missing.len();
    Err(CliError::new(format!(
        "access.yaml refers to {count} polic{} that IAM does not have",
        if count == 1 { "y" } else { "ies" }
    ))
    .with_details(details))
}

/// Every managed policy ARN the file attaches or uses as a boundary, with who refers to it.
fn policy_references(desired: &State) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut references: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (kind, name, arn) in attached_policies(&desired.iam) {
        references
            .entry(arn.clone())
            .or_default()
            .push(format!("{kind} `{name}`"));
    }
    references
}

/// The managed policy ARNs users, groups and roles attach or use as a boundary, each with the
/// kind and name of who refers to it: users first, then groups, then roles.
fn attached_policies(iam: &Iam) -> impl Iterator<Item = (&'static str, &String, &String)> {
    let users = iam.users.iter().map(|(name, user)| {
        (
            "user",
            name,
            &user.managed_policies,
            user.permissions_boundary.as_ref(),
        )
    });
    let groups = iam
        .groups
        .iter()
        .map(|(name, group)| ("group", name, &group.managed_policies, None));
    let roles = iam.roles.iter().map(|(name, role)| {
        (
            "role",
            name,
            &role.managed_policies,
            role.permissions_boundary.as_ref(),
        )
    });
    users
        .chain(groups)
        .chain(roles)
        .flat_map(|(kind, name, managed, boundary)| {
            managed
                .iter()
                .chain(boundary)
                .map(move |arn| (kind, name, arn))
        })
}

/// Policy ARNs known to exist (or to be created by this plan): the file's own policies, the
/// account's policies, and whatever live principals have attached.
fn known_policies(desired: &State, live: &State) -> std::collections::BTreeSet<String> {
    let mut known = std::collections::BTreeSet::new();
    for state in [desired, live] {
        let account = state.account.clone().unwrap_or_default();
        for (name, policy) in &state.iam.policies {
            known.insert(crate::model::arn::policy(
                &state.partition,
                &account,
                &policy.path,
                name,
            ));
        }
    }
    known.extend(attached_policies(&live.iam).map(|(_, _, arn)| arn.clone()));
    known
}
