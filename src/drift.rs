//! Drift: how far live state is from access.yaml, for a scheduled check (`accessctl drift`).
//!
//! Three parts. The changes are the plan's, from the same planner call with the same options
//! as `accessctl plan` ([`crate::plan::assess`]): what apply would do, address for address.
//! The refusals are what would make plan refuse (an unowned object not adopted, a safety check
//! not overridden): reported, not raised, so a scheduled check still says what differs. The
//! unmanaged grants are what a plan never touches but a reviewer must know: access granted
//! outside the file. aws-auth entries
//! and EKS access entries not in the file (node roles excepted), IAM users and roles not in the
//! file with an admin-equivalent policy, bindings to `cluster-admin` not managed, and the access
//! keys of users that declare no `accessKeys` ([`key_holders`]: the users of the file, and the
//! admin users reported), with their age and last use.
//!
//! The report is a value; [`text`], [`markdown`] and [`json`] render it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::model::policy::Effect;
use crate::model::{
    AccessKey, Acknowledgement, Binding, Cluster, Iam, IamArn, PolicyDocument, PolicyHolder,
    RoleRefKind, State, User, arn::eks_access_policy_name,
};
use crate::plan::{Action, Address, Assessment, Kind, Summary};

/// Version of the drift JSON format (`docs/plan-json.md`, "Drift reports").
pub const DRIFT_FORMAT_VERSION: u32 = 1;
/// AWS-managed policies that amount to administrator access.
pub const ADMIN_POLICIES: [&str; 2] = ["AdministratorAccess", "IAMFullAccess"];
/// The ClusterRole whose bindings are reported when unmanaged.
pub const CLUSTER_ADMIN: &str = "cluster-admin";
/// Label of the bindings Kubernetes itself creates (`cluster-admin` → `system:masters`).
const BOOTSTRAP_LABEL: &str = "kubernetes.io/bootstrapping";

/// One object that grants access outside access.yaml.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Unmanaged {
    pub address: Address,
    /// What it grants: Kubernetes groups, access policies, IAM policies, the role bound, the
    /// access keys.
    pub grants: Vec<String>,
    pub message: String,
    /// The access keys of a user that declares no `accessKeys` (`iam.access-key.USER`): ids
    /// masked, status, age, last use.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<AccessKey>,
}

/// An unmanaged grant access.yaml acknowledges: listed, not drift.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AcknowledgedGrant {
    #[serde(flatten)]
    pub finding: Unmanaged,
    /// The acknowledgement as written in access.yaml (the address, or the principal's ARN).
    pub acknowledged_as: String,
    pub reason: String,
}

/// An acknowledgement that matches no unmanaged grant any more: the object is gone, or the
/// file now manages it. A note, not drift.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gone {
    /// As written in access.yaml.
    pub grant: String,
    /// The cluster whose `acknowledged` holds it; absent for the top level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    pub reason: String,
}

impl Gone {
    /// Where in access.yaml the acknowledgement is.
    fn section(&self) -> String {
        match &self.cluster {
            Some(cluster) => format!("clusters.{cluster}.acknowledged"),
            None => "acknowledged".to_string(),
        }
    }
}

/// One drifted object: an address and what apply would do to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub address: Address,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One reason plan (and so apply) would refuse, as plan prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    pub message: String,
    pub hint: String,
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub format_version: u32,
    /// True when there is nothing to report: exit code 0.
    pub in_sync: bool,
    pub changes: Vec<Changed>,
    pub summary: Summary,
    /// Why plan and apply would refuse; empty when they would not.
    pub refused: Vec<Refusal>,
    /// Unmanaged grants access.yaml does not acknowledge: drift.
    pub unmanaged: Vec<Unmanaged>,
    /// Unmanaged grants access.yaml acknowledges, with the reason: listed, not drift.
    pub acknowledged: Vec<AcknowledgedGrant>,
    /// Acknowledgements that match no unmanaged grant any more: notes, not drift.
    pub acknowledged_gone: Vec<Gone>,
}

impl Report {
    /// The report of a planner assessment ([`crate::plan::assess`]): its changes are the
    /// plan's changes, one for one; the unmanaged grants that `acknowledgements` name are
    /// listed apart and are not drift.
    pub fn new(
        assessment: &Assessment,
        unmanaged: Vec<Unmanaged>,
        acknowledgements: &[Acknowledgement],
    ) -> Self {
        let (unmanaged, acknowledged, acknowledged_gone) = acknowledge(unmanaged, acknowledgements);
        let plan = &assessment.plan;
        let refused: Vec<Refusal> = assessment
            .refused
            .iter()
            .map(|problem| Refusal {
                address: problem.address().cloned(),
                message: problem.message(),
                hint: problem.hint(),
            })
            .collect();
        Report {
            format_version: DRIFT_FORMAT_VERSION,
            in_sync: plan.changes.is_empty() && refused.is_empty() && unmanaged.is_empty(),
            changes: plan
                .changes
                .iter()
                .map(|change| Changed {
                    address: change.address.clone(),
                    action: change.action,
                    reason: change.reason.clone(),
                })
                .collect(),
            summary: plan.summary,
            refused,
            unmanaged,
            acknowledged,
            acknowledged_gone,
        }
    }
}

/// Splits `found` into the grants no acknowledgement names and the acknowledged ones (by the
/// first acknowledgement that names each), and lists the acknowledgements that name none.
fn acknowledge(
    found: Vec<Unmanaged>,
    acknowledgements: &[Acknowledgement],
) -> (Vec<Unmanaged>, Vec<AcknowledgedGrant>, Vec<Gone>) {
    let mut used = vec![false; acknowledgements.len()];
    let mut unmanaged = Vec::new();
    let mut acknowledged = Vec::new();
    for finding in found {
        let by = acknowledgements
            .iter()
            .position(|ack| ack.covers(&finding.address));
        match by {
            Some(index) => {
                used[index] = true;
                let ack = &acknowledgements[index];
                acknowledged.push(AcknowledgedGrant {
                    finding,
                    acknowledged_as: ack.written.clone(),
                    reason: ack.reason.clone(),
                });
            }
            None => unmanaged.push(finding),
        }
    }
    let gone = acknowledgements
        .iter()
        .zip(used)
        .filter(|(_, used)| !used)
        .map(|(ack, _)| Gone {
            grant: ack.written.clone(),
            cluster: ack.cluster.clone(),
            reason: ack.reason.clone(),
        })
        .collect();
    (unmanaged, acknowledged, gone)
}

/// Everything in `live` that grants access and that `desired` neither declares nor owns.
pub fn unmanaged(desired: &State, live: &State) -> Vec<Unmanaged> {
    let mut found = Vec::new();
    iam_admins(desired, live, &mut found);
    unmanaged_keys(desired, live, &mut found);
    let empty = Cluster::default();
    for (name, cluster) in &live.clusters {
        let want = desired.clusters.get(name).unwrap_or(&empty);
        cluster_grants(name, want, cluster, &mut found);
    }
    found.sort();
    found
}

/// The live users whose access keys drift lists: the users of the file that declare no
/// `accessKeys`, and the users not in the file with administrator access (reported as such).
/// A user that declares `accessKeys` has its keys planned instead.
pub fn key_holders(desired: &State, live: &State) -> Vec<String> {
    live.iam
        .users
        .iter()
        .filter(|(name, user)| {
            !desired.iam.access_keys.contains_key(*name)
                && (desired.iam.users.contains_key(*name)
                    || !user_admin_grants(&live.iam, user).is_empty())
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// The keys `live` holds of users that declare no `accessKeys` (read for [`key_holders`]).
fn unmanaged_keys(desired: &State, live: &State, found: &mut Vec<Unmanaged>) {
    for (name, held) in &live.iam.access_keys {
        if desired.iam.access_keys.contains_key(name) || held.keys.is_empty() {
            continue;
        }
        let grants: Vec<String> = held.keys.iter().map(ToString::to_string).collect();
        let whose = if desired.iam.users.contains_key(name) {
            "declares no `accessKeys`"
        } else {
            "is not in access.yaml"
        };
        found.push(Unmanaged {
            address: Address::iam(Kind::AccessKey, name),
            message: format!(
                "IAM user `{name}` {whose}: {} not managed by accessctl: {}",
                crate::words::count(held.keys.len(), "access key", "access keys"),
                grants.join("; ")
            ),
            grants,
            keys: held.keys.clone(),
        });
    }
}

/// The admin-equivalent policies of a user, its groups' included.
fn user_admin_grants(iam: &Iam, user: &User) -> Vec<String> {
    let mut grants = admin_grants(iam, user);
    for group in &user.groups {
        if let Some(group) = iam.groups.get(group) {
            grants.extend(
                admin_grants(iam, group)
                    .into_iter()
                    .map(|grant| format!("{grant} (group)")),
            );
        }
    }
    grants
}

fn iam_admins(desired: &State, live: &State, found: &mut Vec<Unmanaged>) {
    let iam = &live.iam;
    let users = iam
        .users
        .iter()
        .filter(|(name, _)| !desired.iam.users.contains_key(*name))
        .map(|(name, user)| (Kind::User, "user", name, user_admin_grants(iam, user)));
    let roles = iam
        .roles
        .iter()
        .filter(|(name, _)| !desired.iam.roles.contains_key(*name))
        .map(|(name, role)| (Kind::Role, "role", name, admin_grants(iam, role)));
    for (kind, word, name, grants) in users.chain(roles) {
        if grants.is_empty() {
            continue;
        }
        found.push(Unmanaged {
            address: Address::iam(kind, name),
            message: format!(
                "IAM {word} not in access.yaml with administrator access: {}",
                grants.join(", ")
            ),
            grants,
            keys: Vec::new(),
        });
    }
}

/// The admin-equivalent policies among these: the AWS-managed [`ADMIN_POLICIES`], and any
/// document (inline, or an attached customer-managed policy) allowing `*`, `*:*` or `iam:*` on
/// every resource without a condition.
fn admin_grants(iam: &Iam, holder: &dyn PolicyHolder) -> Vec<String> {
    let mut grants = Vec::new();
    for arn in holder.managed_policies() {
        let Some(parsed) = IamArn::parse(arn) else {
            continue;
        };
        let Some(name) = parsed.policy_name() else {
            continue;
        };
        if parsed.is_aws_managed_policy() {
            if ADMIN_POLICIES.contains(&name) {
                grants.push(name.to_string());
            }
        } else if iam
            .policies
            .get(name)
            .is_some_and(|policy| allows_everything(&policy.document))
        {
            grants.push(format!("policy {name}"));
        }
    }
    for (name, document) in holder.inline_policies() {
        if allows_everything(document) {
            grants.push(format!("inline policy {name}"));
        }
    }
    grants
}

/// Whether a statement of `document` allows every action, or every IAM action, on everything.
pub fn allows_everything(document: &PolicyDocument) -> bool {
    document.statements().iter().any(|statement| {
        statement.effect() == Effect::Allow
            && !statement.has_condition()
            && statement.actions().is_some_and(|mut actions| {
                actions.any(|action| matches!(action, "*" | "*:*" | "iam:*"))
            })
            && statement
                .resources()
                .is_some_and(|mut resources| resources.any(|resource| resource == "*"))
    })
}

fn cluster_grants(name: &str, want: &Cluster, cluster: &Cluster, found: &mut Vec<Unmanaged>) {
    if let Some(auth) = &cluster.aws_auth {
        let declared: BTreeSet<&str> = want
            .aws_auth
            .iter()
            .flat_map(|auth| auth.entries.iter().map(|entry| entry.arn.as_str()))
            .collect();
        for entry in auth.effective() {
            if entry.is_node_role()
                || declared.contains(entry.arn.as_str())
                || auth.managed.contains(&entry.arn)
            {
                continue;
            }
            let grants = entry.groups.clone();
            let username = entry
                .username
                .as_deref()
                .map(|username| format!(" as `{username}`"))
                .unwrap_or_default();
            found.push(Unmanaged {
                address: Address::cluster(Kind::AwsAuth, name, &entry.arn),
                message: format!(
                    "aws-auth entry not in access.yaml maps `{}`{username} to {}",
                    entry.arn,
                    describe_groups(&grants)
                ),
                grants,
                keys: Vec::new(),
            });
        }
    }
    for (arn, entry) in &cluster.access_entries {
        let owned = crate::model::owned::by_tags(&entry.tags);
        if entry.kind != "STANDARD" || owned || want.access_entries.contains_key(arn) {
            continue;
        }
        let mut grants: Vec<String> = entry
            .policies
            .keys()
            .map(|policy| eks_access_policy_name(policy).to_string())
            .collect();
        grants.extend(entry.groups.iter().cloned());
        found.push(Unmanaged {
            address: Address::cluster(Kind::AccessEntry, name, arn),
            message: format!(
                "access entry not in access.yaml for `{arn}` grants {}",
                joined_or(&grants, "authentication only")
            ),
            grants,
            keys: Vec::new(),
        });
    }
    let bindings = [
        (
            Kind::ClusterRoleBinding,
            &cluster.cluster_role_bindings,
            &want.cluster_role_bindings,
        ),
        (
            Kind::RoleBinding,
            &cluster.role_bindings,
            &want.role_bindings,
        ),
    ];
    for (kind, live, declared) in bindings {
        for (key, binding) in live {
            if !is_unmanaged_cluster_admin(binding) || declared.contains_key(key) {
                continue;
            }
            let subjects: Vec<String> = binding
                .subjects
                .iter()
                .map(|subject| format!("{:?} {}", subject.kind, subject.name))
                .collect();
            found.push(Unmanaged {
                address: Address::cluster(kind, name, key),
                message: format!(
                    "binding not managed by accessctl grants `cluster-admin` to {}",
                    joined_or(&subjects, "no one")
                ),
                grants: vec![CLUSTER_ADMIN.to_string()],
                keys: Vec::new(),
            });
        }
    }
}

/// A binding of the ClusterRole `cluster-admin`, neither owned by accessctl nor made by
/// Kubernetes itself.
fn is_unmanaged_cluster_admin(binding: &Binding) -> bool {
    binding.role_ref.kind == RoleRefKind::ClusterRole
        && binding.role_ref.name == CLUSTER_ADMIN
        && !binding.meta.is_owned()
        && !binding.meta.labels.contains_key(BOOTSTRAP_LABEL)
}

/// `items` joined by commas, or what an empty list means.
fn joined_or(items: &[String], none: &str) -> String {
    if items.is_empty() {
        none.to_string()
    } else {
        items.join(", ")
    }
}

fn describe_groups(groups: &[String]) -> String {
    match groups {
        [] => "no groups (authentication only)".to_string(),
        [one] => format!("group `{one}`"),
        many => format!("groups {}", crate::words::quoted_list(many)),
    }
}

/// Adds `bindings` to `cluster` without replacing what the live read found.
pub fn add_bindings(
    cluster: &mut Cluster,
    (cluster_bindings, role_bindings): (BTreeMap<String, Binding>, BTreeMap<String, Binding>),
) {
    for (key, binding) in cluster_bindings {
        cluster.cluster_role_bindings.entry(key).or_insert(binding);
    }
    for (key, binding) in role_bindings {
        cluster.role_bindings.entry(key).or_insert(binding);
    }
}

/// The report for people: changes, then unmanaged grants.
pub fn text(report: &Report) -> String {
    lay_out(report, &Text)
}

/// The report as Markdown, for an issue or a chat message.
pub fn markdown(report: &Report) -> String {
    lay_out(report, &Markdown)
}

/// The report's parts and their order, decided once for every human format: a verdict when
/// nothing drifted, else the changes (or that live state matches), the refusals and the
/// unmanaged grants, each a section of a heading and its entries, sections apart by a blank line.
fn lay_out(report: &Report, layout: &dyn Layout) -> String {
    let mut out = String::new();
    layout.title(&mut out);
    let file = layout.code("access.yaml");
    let mut sections = 0;
    let mut section = |out: &mut String| {
        if sections > 0 {
            out.push('\n');
        }
        sections += 1;
    };
    if report.in_sync {
        section(&mut out);
        let unless = if report.acknowledged.is_empty() {
            ""
        } else {
            " that it does not acknowledge"
        };
        let _ = writeln!(
            out,
            "No drift: live state matches {file}, and nothing grants access outside it{unless}."
        );
    } else {
        drifted(report, layout, &file, &mut out, &mut section);
    }
    if !report.acknowledged.is_empty() {
        section(&mut out);
        let lead = format!(
            "{} outside {file}",
            crate::words::count(
                report.acknowledged.len(),
                "acknowledged grant",
                "acknowledged grants"
            )
        );
        layout.heading(&mut out, &lead, Some("not drift"));
        layout.columns(&mut out, &["object", "reason", "finding"]);
        for grant in &report.acknowledged {
            layout.acknowledged(&mut out, grant);
        }
    }
    if !report.acknowledged_gone.is_empty() {
        section(&mut out);
        let lead = crate::words::count(
            report.acknowledged_gone.len(),
            "acknowledged grant is no longer found",
            "acknowledged grants are no longer found",
        );
        let detail = format!("notes, not drift: the object is gone, or {file} manages it now");
        layout.heading(&mut out, &lead, Some(&detail));
        layout.columns(&mut out, &["acknowledged", "reason", "what to do"]);
        for gone in &report.acknowledged_gone {
            layout.gone(&mut out, gone);
        }
    }
    out
}

/// The sections of a report that is not in sync: the changes (or that live state matches),
/// the refusals and the unacknowledged unmanaged grants.
fn drifted(
    report: &Report,
    layout: &dyn Layout,
    file: &str,
    out: &mut String,
    section: &mut dyn FnMut(&mut String),
) {
    if report.changes.is_empty() && report.refused.is_empty() {
        section(out);
        let _ = writeln!(out, "Live state matches {file}.");
    }
    if !report.changes.is_empty() {
        section(out);
        let lead = format!("{} from {file}", differ(report.changes.len()));
        let detail = format!("apply would {}", summary_words(&report.summary));
        layout.heading(out, &lead, Some(&detail));
        layout.columns(out, &["action", "object", "why"]);
        for change in &report.changes {
            layout.change(out, change);
        }
    }
    if !report.refused.is_empty() {
        section(out);
        let detail = format!("{}; plan says the same", problems(report.refused.len()));
        layout.heading(out, "apply would refuse", Some(&detail));
        layout.columns(out, &["problem", "what to do"]);
        for refusal in &report.refused {
            layout.refusal(out, refusal);
        }
    }
    if !report.unmanaged.is_empty() {
        section(out);
        let lead = format!(
            "{} access outside {file}",
            unmanaged_grant(report.unmanaged.len())
        );
        layout.heading(out, &lead, None);
        layout.columns(out, &["object", "grants", "finding"]);
        for finding in &report.unmanaged {
            layout.unmanaged(out, finding);
        }
    }
}

/// How one human format writes the parts [`lay_out`] puts in order.
trait Layout {
    /// What comes before everything else.
    fn title(&self, out: &mut String);
    /// A name as this format sets code (`access.yaml`).
    fn code(&self, name: &str) -> String;
    /// A section's heading: what it is about, and a detail in parentheses.
    fn heading(&self, out: &mut String, lead: &str, detail: Option<&str>);
    /// The names of what each entry of the section shows.
    fn columns(&self, out: &mut String, names: &[&str]);
    fn change(&self, out: &mut String, change: &Changed);
    fn refusal(&self, out: &mut String, refusal: &Refusal);
    fn unmanaged(&self, out: &mut String, finding: &Unmanaged);
    fn acknowledged(&self, out: &mut String, grant: &AcknowledgedGrant);
    fn gone(&self, out: &mut String, gone: &Gone);
}

/// Plain text for a terminal or a log: an indented line (or two) per entry.
struct Text;

impl Layout for Text {
    fn title(&self, _out: &mut String) {}

    fn code(&self, name: &str) -> String {
        name.to_string()
    }

    fn heading(&self, out: &mut String, lead: &str, detail: Option<&str>) {
        let _ = match detail {
            Some(detail) => writeln!(out, "{lead} ({detail}):"),
            None => writeln!(out, "{lead}:"),
        };
    }

    fn columns(&self, _out: &mut String, _names: &[&str]) {}

    fn change(&self, out: &mut String, change: &Changed) {
        let _ = write!(out, "  {:<3} {}", change.action.symbol(), change.address);
        if let Some(reason) = &change.reason {
            let _ = write!(out, "  ({reason})");
        }
        out.push('\n');
    }

    fn refusal(&self, out: &mut String, refusal: &Refusal) {
        let _ = writeln!(out, "  ! {}\n      hint: {}", refusal.message, refusal.hint);
    }

    fn unmanaged(&self, out: &mut String, finding: &Unmanaged) {
        let _ = writeln!(out, "  ! {}\n      {}", finding.address, finding.message);
    }

    fn acknowledged(&self, out: &mut String, grant: &AcknowledgedGrant) {
        let _ = writeln!(
            out,
            "  acknowledged: {} — {}\n      {}",
            grant.finding.address, grant.reason, grant.finding.message
        );
    }

    fn gone(&self, out: &mut String, gone: &Gone) {
        let _ = writeln!(
            out,
            "  note: {} — {}\n      remove it from `{}` in access.yaml",
            gone.grant,
            gone.reason,
            gone.section()
        );
    }
}

/// Markdown for an issue or a chat message: a bold heading and a table per section.
struct Markdown;

impl Layout for Markdown {
    fn title(&self, out: &mut String) {
        out.push_str("### accessctl drift\n\n");
    }

    fn code(&self, name: &str) -> String {
        format!("`{name}`")
    }

    fn heading(&self, out: &mut String, lead: &str, detail: Option<&str>) {
        let _ = match detail {
            Some(detail) => writeln!(out, "**{lead}** ({detail}).\n"),
            None => writeln!(out, "**{lead}.**\n"),
        };
    }

    fn columns(&self, out: &mut String, names: &[&str]) {
        let _ = writeln!(
            out,
            "| {} |\n|{}",
            names.join(" | "),
            "---|".repeat(names.len())
        );
    }

    fn change(&self, out: &mut String, change: &Changed) {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} |",
            action_word(change.action),
            change.address,
            cell(change.reason.as_deref().unwrap_or(""))
        );
    }

    fn refusal(&self, out: &mut String, refusal: &Refusal) {
        let _ = writeln!(
            out,
            "| {} | {} |",
            cell(&refusal.message),
            cell(&refusal.hint)
        );
    }

    fn unmanaged(&self, out: &mut String, finding: &Unmanaged) {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            finding.address,
            cell(&crate::words::quoted_list(&finding.grants)),
            cell(&finding.message)
        );
    }

    fn acknowledged(&self, out: &mut String, grant: &AcknowledgedGrant) {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            grant.finding.address,
            cell(&grant.reason),
            cell(&grant.finding.message)
        );
    }

    fn gone(&self, out: &mut String, gone: &Gone) {
        let _ = writeln!(
            out,
            "| `{}` | {} | remove it from `{}` |",
            cell(&gone.grant),
            cell(&gone.reason),
            gone.section()
        );
    }
}

/// The report as JSON (`docs/plan-json.md`, "Drift reports").
pub fn json(report: &Report) -> Result<String, crate::render::JsonError> {
    crate::render::json::to_pretty("the drift report", report)
}

/// A drift report as one account's section of a several-account report.
impl crate::render::accounts::Section for Report {
    const COMMAND: &'static str = "drift";
    const CHANGED: &'static str = "drifted";

    fn changed(&self) -> bool {
        !self.in_sync
    }

    fn summary(&self) -> String {
        if self.in_sync {
            return "in sync".to_string();
        }
        let mut parts = vec![format!(
            "{} change{}",
            self.changes.len(),
            if self.changes.len() == 1 { "" } else { "s" }
        )];
        if !self.refused.is_empty() {
            parts.push(format!("{} refusal(s)", self.refused.len()));
        }
        parts.push(format!(
            "{} unmanaged grant{}",
            self.unmanaged.len(),
            if self.unmanaged.len() == 1 { "" } else { "s" }
        ));
        format!("drift: {}", parts.join(", "))
    }

    fn text(&self, _options: crate::render::TextOptions) -> String {
        text(self)
    }

    /// The report's Markdown without its heading, cut at a line within `limit` (saying so).
    fn markdown_within(&self, limit: usize) -> String {
        let whole = markdown(self);
        let body = whole
            .strip_prefix("### accessctl drift\n\n")
            .unwrap_or(&whole);
        if body.len() <= limit {
            return body.to_string();
        }
        let note = "\n_(cut here: the rest of this account's report is in the job's output)_\n\n";
        let room = limit.saturating_sub(note.len());
        let cut = body[..body.floor_char_boundary(room)]
            .rfind('\n')
            .map_or(0, |at| at + 1);
        format!("{}{note}", &body[..cut])
    }

    fn json(&self) -> Result<serde_json::Value, crate::render::JsonError> {
        crate::render::json::to_value("the drift report", self)
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn action_word(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "delete",
        Action::Adopt => "adopt",
    }
}

fn summary_words(summary: &Summary) -> String {
    let mut parts = Vec::new();
    for (count, word) in [
        (summary.add, "add"),
        (summary.change, "change"),
        (summary.destroy, "destroy"),
        (summary.adopt, "adopt"),
    ] {
        if count > 0 {
            parts.push(format!("{word} {count}"));
        }
    }
    parts.join(", ")
}

/// `1 object differs`, `2 objects differ`: the text and Markdown reports say it alike.
fn differ(count: usize) -> String {
    crate::words::count(count, "object differs", "objects differ")
}

fn problems(count: usize) -> String {
    crate::words::count(count, "problem", "problems")
}

fn unmanaged_grant(count: usize) -> String {
    crate::words::count(count, "unmanaged object grants", "unmanaged objects grant")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(changes: bool, refused: bool, unmanaged: bool) -> Report {
        let changes: Vec<Changed> = if changes {
            vec![
                Changed {
                    address: Address::iam(Kind::User, "developer"),
                    action: Action::Update,
                    reason: Some("tags differ | live".into()),
                },
                Changed {
                    address: Address::iam(Kind::Role, "eks-admin"),
                    action: Action::Create,
                    reason: None,
                },
            ]
        } else {
            Vec::new()
        };
        let refused = if refused {
            vec![Refusal {
                address: None,
                message: "user.legacy exists\nbut is not owned".into(),
                hint: "adopt it with --adopt".into(),
            }]
        } else {
            Vec::new()
        };
        let unmanaged = if unmanaged {
            vec![Unmanaged {
                address: Address::cluster(Kind::RoleBinding, "demo", "ns/b"),
                grants: vec!["cluster-admin".into(), "system:masters".into()],
                message: "binds cluster-admin outside access.yaml".into(),
                keys: Vec::new(),
            }]
        } else {
            Vec::new()
        };
        Report {
            format_version: DRIFT_FORMAT_VERSION,
            in_sync: changes.is_empty() && refused.is_empty() && unmanaged.is_empty(),
            summary: Summary {
                add: usize::from(!changes.is_empty()),
                change: usize::from(!changes.is_empty()),
                destroy: 0,
                adopt: 0,
            },
            changes,
            refused,
            unmanaged,
            acknowledged: Vec::new(),
            acknowledged_gone: Vec::new(),
        }
    }

    /// Both layouts of every combination of sections, as one transcript.
    fn both_layouts() -> String {
        let mut out = String::new();
        for changes in [false, true] {
            for refused in [false, true] {
                for unmanaged in [false, true] {
                    let report = report(changes, refused, unmanaged);
                    let _ = writeln!(
                        out,
                        "=== changes {changes}, refused {refused}, unmanaged {unmanaged}\n--- text\n{}--- markdown\n{}",
                        text(&report),
                        markdown(&report)
                    );
                }
            }
        }
        out
    }

    /// A repeated ARN grants what its last item says (EKS keeps the last): one unmanaged
    /// grant, with that item's groups, not one per item.
    #[test]
    fn a_repeated_aws_auth_arn_is_one_grant_the_last() {
        use crate::model::{AwsAuth, AwsAuthEntry, Cluster, MapKind, State};
        let item = |groups: &str| AwsAuthEntry {
            kind: MapKind::MapRoles,
            arn: "arn:aws:iam::111122223333:role/Hand".into(),
            username: Some("hand".into()),
            groups: vec![groups.into()],
        };
        let mut live = State::default();
        let mut hand = item("viewers");
        hand.arn = "arn:aws:iam::111122223333:role/hand".into();
        live.clusters.insert(
            "demo".into(),
            Cluster {
                aws_auth: Some(AwsAuth {
                    entries: vec![item("system:masters"), hand],
                    ..AwsAuth::default()
                }),
                ..Cluster::default()
            },
        );
        let mut desired = State::default();
        desired.clusters.insert("demo".into(), Cluster::default());
        let found = unmanaged(&desired, &live);
        let grants: Vec<(String, Vec<String>)> = found
            .iter()
            .map(|grant| (grant.address.to_string(), grant.grants.clone()))
            .collect();
        assert_eq!(
            grants,
            [(
                "cluster.demo.aws-auth[arn:aws:iam::111122223333:role/hand]".to_string(),
                vec!["viewers".to_string()]
            )]
        );
    }

    #[test]
    fn joined_or_says_what_an_empty_list_means() {
        assert_eq!(joined_or(&[], "no one"), "no one");
        assert_eq!(joined_or(&["User alice".into()], "no one"), "User alice");
        assert_eq!(
            joined_or(&["view".into(), "edit".into()], "authentication only"),
            "view, edit"
        );
    }

    /// The keys of users that declare no `accessKeys` are unmanaged grants: for the users of
    /// the file and the admin users reported, never for a user whose keys are planned, nor for
    /// anybody else.
    #[test]
    fn keys_of_users_without_access_keys_are_unmanaged_grants() {
        use crate::model::{AccessKey, AccessKeys, KeyRotation, KeyStatus};
        let mut desired = State::default();
        let mut live = State::default();
        for name in ["developer", "eksuser"] {
            desired.iam.users.insert(name.into(), User::default());
        }
        desired.iam.access_keys.insert(
            "eksuser".into(),
            AccessKeys {
                rotation: Some(KeyRotation {
                    rotate_after_days: 90,
                    grace_days: 7,
                    deliver_to: Vec::new(),
                }),
                ..AccessKeys::default()
            },
        );
        let admin = User {
            managed_policies: ["arn:aws:iam::aws:policy/AdministratorAccess".to_string()].into(),
            ..User::default()
        };
        for (name, user) in [
            ("developer", User::default()),
            ("eksuser", User::default()),
            ("legacy-admin", admin),
            ("bystander", User::default()),
        ] {
            live.iam.users.insert(name.into(), user);
        }
        assert_eq!(key_holders(&desired, &live), ["developer", "legacy-admin"]);
        let keys = |list: Vec<AccessKey>| AccessKeys {
            keys: list,
            ..AccessKeys::default()
        };
        live.iam.access_keys.insert(
            "developer".into(),
            keys(vec![
                AccessKey::as_read("AKIA…0001", KeyStatus::Inactive, 400, None),
                AccessKey::as_read("AKIA…0002", KeyStatus::Active, 120, Some(3)),
            ]),
        );
        live.iam
            .access_keys
            .insert("legacy-admin".into(), keys(Vec::new()));
        live.iam.access_keys.insert(
            "eksuser".into(),
            keys(vec![AccessKey::as_read(
                "AKIA…0003",
                KeyStatus::Active,
                1,
                None,
            )]),
        );
        let found = unmanaged(&desired, &live);
        let keys: Vec<&Unmanaged> = found
            .iter()
            .filter(|u| u.address.kind == Kind::AccessKey)
            .collect();
        assert_eq!(keys.len(), 1, "{found:#?}");
        assert_eq!(keys[0].address, Address::iam(Kind::AccessKey, "developer"));
        assert_eq!(
            keys[0].grants,
            [
                "AKIA…0001 inactive, 400 days old, never used",
                "AKIA…0002 active, 120 days old, last used 3 days ago"
            ]
        );
        assert_eq!(
            keys[0].message,
            "IAM user `developer` declares no `accessKeys`: 2 access keys not managed by accessctl: AKIA…0001 inactive, 400 days old, never used; AKIA…0002 active, 120 days old, last used 3 days ago"
        );
        assert_eq!(keys[0].keys.len(), 2);
    }

    #[test]
    fn text_and_markdown_lay_out_the_same_sections() {
        insta::assert_snapshot!(both_layouts());
    }
}
