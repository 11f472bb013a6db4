//! What EKS sees of IAM, and of its own access entries, a moment after they change.
//!
//! IAM is eventually consistent: for a few seconds after a role or user is created, EKS does not
//! see it, and answers CreateAccessEntry with `The specified principalArn is invalid: invalid
//! principal` and Create/UpdatePodIdentityAssociation with `Role provided in the request does not
//! exist` (terraform-aws-eks #2969, terraform-provider-aws #34717). Access entries are eventually
//! consistent too: AssociateAccessPolicy right after CreateAccessEntry may answer 404 `The
//! specified principalArn could not be found` (terraform-provider-aws #35728).
//!
//! With [`EksServer::consult_iam`](super::EksServer::consult_iam) the server asks the test's
//! moto for the principal (GetRole/GetUser). A principal moto created before IAM was consulted
//! is visible at once; one created since (moto's `CreateDate`, so a role deleted and created
//! again counts as new) is not yet visible until the IAM window has passed since EKS was first
//! asked about it: the window is the propagation delay as the caller meets it, and a request
//! right after the create always falls in it, however slowly the test runs. A principal moto
//! does not have answers the same errors for good, and a Pod Identity role whose trust does not
//! let `pods.eks.amazonaws.com` call `sts:AssumeRole` and `sts:TagSession` answers `Trust policy
//! of the role provided is invalid`. The entry window starts when CreateAccessEntry succeeds. A
//! window of [`UNTIL_LIFTED`] never ends until the test sets a shorter one.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use hyper::Method;
use serde_json::Value;

use super::handlers::{Failure, invalid_parameter, not_found};
use super::{ACCOUNT, Shared, SharedState, lock};

/// A window that lasts until the test replaces it.
pub const UNTIL_LIFTED: Duration = Duration::MAX;

/// The service principal Pod Identity assumes roles as.
const PODS: &str = "pods.eks.amazonaws.com";

#[derive(Default)]
pub struct Visibility {
    /// IAM as EKS sees it (the test's moto); `None`: every well-formed principal exists.
    pub iam: Option<aws_sdk_iam::Client>,
    /// When IAM started to be consulted: principals created before are visible at once.
    pub consulted_at: Option<SystemTime>,
    /// A principal created since is not visible to EKS until this long after EKS first saw it.
    pub iam_window: Duration,
    /// When EKS was first asked about a principal, by ARN and `CreateDate`.
    pub first_seen: BTreeMap<(String, SystemTime), Instant>,
    /// An access entry created less than this long ago is not yet found by
    /// AssociateAccessPolicy.
    pub entry_window: Duration,
    /// When CreateAccessEntry succeeded, by `(cluster, principal)`.
    pub entries_created: BTreeMap<(String, String), Instant>,
    /// Every principal or role refused as not (yet) in IAM, in order.
    pub refused: Vec<String>,
}

/// What a request asks EKS to look up in IAM.
enum Lookup {
    /// CreateAccessEntry's principal.
    Principal(String),
    /// A Pod Identity association's role.
    PodRole(String),
}

fn lookup(method: &Method, segments: &[String], body: &Value) -> Option<(String, Lookup)> {
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let field = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
    match (method, parts.as_slice()) {
        (&Method::POST, ["clusters", name, "access-entries"]) => {
            Some((name.to_string(), Lookup::Principal(field("principalArn")?)))
        }
        (&Method::POST, ["clusters", name, "pod-identity-associations", ..]) => {
            Some((name.to_string(), Lookup::PodRole(field("roleArn")?)))
        }
        _ => None,
    }
}

/// IAM's answer about one principal of the test's account: `None` when moto does not have it.
struct Found {
    created: SystemTime,
    /// The trust policy of a role, decoded.
    trust: Option<Value>,
}

async fn find(iam: &aws_sdk_iam::Client, arn: &str) -> Option<Found> {
    let (kind, rest) = arn
        .strip_prefix(&format!("arn:aws:iam::{ACCOUNT}:"))?
        .split_once('/')?;
    let name = rest.rsplit('/').next()?;
    let (created, document) = match kind {
        "role" => {
            let output = iam.get_role().role_name(name).send().await.ok()?;
            let role = output.role()?;
            (
                *role.create_date(),
                role.assume_role_policy_document().map(str::to_string),
            )
        }
        "user" => {
            let output = iam.get_user().user_name(name).send().await.ok()?;
            (*output.user()?.create_date(), None)
        }
        _ => return None,
    };
    let trust = document.map(|text| {
        let text = percent_encoding::percent_decode_str(&text).decode_utf8_lossy();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    });
    Some(Found {
        created: SystemTime::try_from(created).ok()?,
        trust,
    })
}

/// Whether `trust` lets Pod Identity assume the role: an `Allow` for `pods.eks.amazonaws.com`
/// with both `sts:AssumeRole` and `sts:TagSession`.
pub fn trusts_pods(trust: &Value) -> bool {
    let list = |value: Option<&Value>| -> Vec<String> {
        match value {
            Some(Value::String(text)) => vec![text.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    };
    let statements = match trust.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(statement @ Value::Object(_)) => vec![statement.clone()],
        _ => Vec::new(),
    };
    let actions: Vec<String> = statements
        .iter()
        .filter(|statement| statement.get("Effect").and_then(Value::as_str) == Some("Allow"))
        .filter(|statement| {
            list(statement.get("Principal").and_then(|p| p.get("Service")))
                .iter()
                .any(|service| service == PODS)
        })
        .flat_map(|statement| list(statement.get("Action")))
        .collect();
    let allows = |action: &str| {
        actions
            .iter()
            .any(|a| a == "*" || a == "sts:*" || a.eq_ignore_ascii_case(action))
    };
    allows("sts:AssumeRole") && allows("sts:TagSession")
}

/// Before the request touches the state: whether EKS sees the principal or role it names.
/// Only when the server consults IAM and the cluster exists (else the operation answers its own
/// 404); principals of other accounts are not looked up.
pub async fn check(
    state: &SharedState,
    method: &Method,
    segments: &[String],
    body: &Value,
) -> Result<(), Failure> {
    let Some((cluster, lookup)) = lookup(method, segments, body) else {
        return Ok(());
    };
    let iam = {
        let shared = lock(state);
        if !shared.clusters.contains_key(&cluster) {
            return Ok(());
        }
        match &shared.visibility.iam {
            Some(iam) => iam.clone(),
            None => return Ok(()),
        }
    };
    let arn = match &lookup {
        Lookup::Principal(arn) | Lookup::PodRole(arn) => arn,
    };
    if !arn.starts_with(&format!("arn:aws:iam::{ACCOUNT}:")) {
        return Ok(());
    }
    let found = find(&iam, arn).await;
    let visible = found.as_ref().is_some_and(|found| {
        let mut shared = lock(state);
        let visibility = &mut shared.visibility;
        let new = visibility
            .consulted_at
            .is_some_and(|consulted| found.created >= consulted);
        let window = visibility.iam_window;
        let seen = *visibility
            .first_seen
            .entry((arn.clone(), found.created))
            .or_insert_with(Instant::now);
        !new || seen.elapsed() >= window
    });
    if !visible {
        lock(state).visibility.refused.push(arn.clone());
    }
    match lookup {
        Lookup::Principal(_) if !visible => Err(invalid_parameter(
            "The specified principalArn is invalid: invalid principal",
        )),
        Lookup::PodRole(_) if !visible => Err(invalid_parameter(
            "Role provided in the request does not exist",
        )),
        Lookup::PodRole(_)
            if !found
                .and_then(|found| found.trust)
                .is_some_and(|trust| trusts_pods(&trust)) =>
        {
            Err(invalid_parameter(
                "Trust policy of the role provided is invalid",
            ))
        }
        _ => Ok(()),
    }
}

/// Under the lock, before the operation: AssociateAccessPolicy on an entry created less than the
/// entry window ago does not find it.
pub fn settled(shared: &Shared, method: &Method, segments: &[String]) -> Result<(), Failure> {
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (
        &Method::POST,
        [
            "clusters",
            name,
            "access-entries",
            principal,
            "access-policies",
        ],
    ) = (method, parts.as_slice())
    else {
        return Ok(());
    };
    let key = (name.to_string(), principal.to_string());
    match shared.visibility.entries_created.get(&key) {
        Some(created) if created.elapsed() < shared.visibility.entry_window => {
            Err(not_found(format!(
                "The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'. principalArn: {principal}"
            )))
        }
        _ => Ok(()),
    }
}

/// After a successful operation: CreateAccessEntry starts its entry's window.
pub fn record(shared: &mut Shared, method: &Method, segments: &[String], body: &Value) {
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    if let (&Method::POST, ["clusters", name, "access-entries"]) = (method, parts.as_slice())
        && let Some(principal) = body.get("principalArn").and_then(Value::as_str)
    {
        shared
            .visibility
            .entries_created
            .insert((name.to_string(), principal.to_string()), Instant::now());
    }
}
