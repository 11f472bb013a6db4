//! Apply: runs a [`Plan`] exactly as planned. No decisions are left here beyond scheduling:
//! stages run in plan order, the changes of one stage run in parallel (bounded), and the first
//! failure stops scheduling new work while the changes in flight finish. The report says what
//! was done, what failed and what was not attempted, so a re-run (which plans afresh) converges.
//!
//! The I/O lives behind [`Executor`]: the IAM, EKS and Kubernetes executors (and test fakes).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

mod route;

pub use route::Route;

use futures_util::StreamExt;
use futures_util::stream;

use crate::plan::{Action, Address, Change, Kind, Object, Plan, Variant};

/// A failure to carry out one unit of work: the API call, the object and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApplyError {
    pub message: String,
    pub hint: Option<String>,
}

impl ApplyError {
    pub fn new(message: impl Into<String>) -> Self {
        ApplyError {
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Carries out changes against one kind of backend.
pub trait Executor: Sync {
    /// Applies one unit: a single change, or every aws-auth change of one cluster (they all
    /// edit one ConfigMap, so they are written together in one compare-and-swap).
    fn execute(&self, unit: &[Change]) -> impl Future<Output = Result<(), ApplyError>> + Send;

    /// Whether `unit` may start now; an error stops the apply before the unit runs (it and
    /// every unit not yet started are reported as not attempted, the error as
    /// [`ApplyReport::stopped`]). The CLI refuses cluster writes once it lost a cluster's lock.
    fn may_start(&self, _unit: &[Change]) -> Result<(), ApplyError> {
        Ok(())
    }
}

/// What one change does to its object, of type `T`, as its before and after say: the step an
/// executor carries out. An adoption is an update (the marker is in `after`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Step<'a, T> {
    Create(&'a T),
    Update(&'a T, &'a T),
    /// Delete `before`, then create `after` (an immutable field changed).
    Replace(&'a T, &'a T),
    Delete(&'a T),
}

impl<'a, T: Variant> Step<'a, T> {
    /// The change's step; what is wrong with the change when its before and after are not
    /// objects of type `T` (or there are neither): a plan no planner writes.
    pub(crate) fn of(change: &'a Change) -> Result<Self, String> {
        let misfit = || {
            format!(
                "a `{:?}` change whose before/after objects do not fit its kind",
                change.action
            )
        };
        let side = |object: &'a Option<Object>| match object {
            Some(object) => T::from_object(object).map(Some).ok_or_else(misfit),
            None => Ok(None),
        };
        Ok(match (side(&change.before)?, side(&change.after)?) {
            (None, Some(after)) => Step::Create(after),
            (Some(before), None) => Step::Delete(before),
            (Some(before), Some(after)) if change.action == Action::Replace => {
                Step::Replace(before, after)
            }
            (Some(before), Some(after)) => Step::Update(before, after),
            (None, None) => return Err(misfit()),
        })
    }
}

/// What happened to each change of the plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    pub done: Vec<Address>,
    pub failed: Vec<(Address, ApplyError)>,
    pub not_attempted: Vec<Address>,
    /// Why the apply stopped before a unit started ([`Executor::may_start`]), if it did.
    pub stopped: Option<ApplyError>,
}

impl ApplyReport {
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.not_attempted.is_empty()
    }
}

/// The stage of a change: changes of one stage do not depend on each other.
/// Plans put access-mapping deletes first, then creates and updates by kind, then the other
/// deletes by reverse kind; the stage follows the same three phases.
fn stage(change: &Change) -> (u8, Kind) {
    let kind = change.address.kind;
    match change.action {
        Action::Delete if kind.is_access_mapping() => (0, kind),
        Action::Delete => (2, kind),
        _ => (1, kind),
    }
}

/// Splits the plan into stages (contiguous runs of one stage) and each stage into units.
fn units(plan: &Plan) -> Vec<Vec<Vec<Change>>> {
    let mut stages: Vec<Vec<Vec<Change>>> = Vec::new();
    let mut current: Option<(u8, Kind)> = None;
    for change in &plan.changes {
        let key = stage(change);
        if current != Some(key) {
            stages.push(Vec::new());
            current = Some(key);
        }
        let Some(units) = stages.last_mut() else {
            continue;
        };
        let joins_unit = change.address.kind == Kind::AwsAuth;
        let existing = units.iter_mut().find(|unit| {
            joins_unit
                && unit
                    .first()
                    .is_some_and(|first| first.address.cluster == change.address.cluster)
        });
        match existing {
            Some(unit) => unit.push(change.clone()),
            None => units.push(vec![change.clone()]),
        }
    }
    stages
}

/// The addresses of one unit and its result; `None` when it was not attempted.
type UnitOutcome = (Vec<Address>, Option<Result<(), ApplyError>>);

/// Runs the plan. `parallelism` bounds the units in flight within a stage (at least 1).
pub async fn apply<E: Executor>(plan: &Plan, executor: &E, parallelism: usize) -> ApplyReport {
    let mut report = ApplyReport::default();
    // Set by the first failure: units not yet started are then left alone.
    let stopped = AtomicBool::new(false);
    let refused: Mutex<Option<ApplyError>> = Mutex::new(None);
    for stage in units(plan) {
        let results: Vec<UnitOutcome> = stream::iter(stage)
            .map(|unit| {
                let (stopped, refused) = (&stopped, &refused);
                async move {
                    let addresses = unit.iter().map(|change| change.address.clone()).collect();
                    if stopped.load(Ordering::SeqCst) {
                        return (addresses, None);
                    }
                    if let Err(error) = executor.may_start(&unit) {
                        stopped.store(true, Ordering::SeqCst);
                        refused
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .get_or_insert(error);
                        return (addresses, None);
                    }
                    let result = executor.execute(&unit).await;
                    if result.is_err() {
                        stopped.store(true, Ordering::SeqCst);
                    }
                    (addresses, Some(result))
                }
            })
            .buffered(parallelism.max(1))
            .collect()
            .await;
        for (addresses, result) in results {
            match result {
                None => report.not_attempted.extend(addresses),
                Some(Ok(())) => report.done.extend(addresses),
                Some(Err(error)) => report.failed.extend(
                    addresses
                        .into_iter()
                        .map(|address| (address, error.clone())),
                ),
            }
        }
    }
    report.stopped = refused.into_inner().unwrap_or_else(PoisonError::into_inner);
    report
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::model::{AwsAuthEntry, MapKind, Namespace, User};
    use crate::plan::{Object, PLAN_FORMAT_VERSION, Summary};

    /// The change a plan line (`+ iam.user.u0`) names, with the objects apply expects.
    fn change(line: &str) -> Change {
        let change = Change::from_line(line);
        let object = match change.address.kind {
            Kind::AwsAuth => Object::AwsAuthEntry(AwsAuthEntry {
                kind: MapKind::MapUsers,
                arn: change.address.name.clone(),
                username: None,
                groups: Vec::new(),
            }),
            Kind::Namespace => Object::Namespace(Namespace::default()),
            _ => Object::User(User::default()),
        };
        let (before, after) = match change.action {
            Action::Create => (None, Some(object)),
            Action::Delete => (Some(object), None),
            _ => (Some(object.clone()), Some(object)),
        };
        Change {
            before,
            after,
            ..change
        }
    }

    fn changes(lines: &[&str]) -> Vec<Change> {
        lines.iter().map(|line| change(line)).collect()
    }

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            changes,
            summary: Summary::default(),
            overrides: Vec::new(),
            notes: Vec::new(),
            deleted_with: Vec::new(),
            access_impact: Vec::new(),
        }
    }

    /// Records every unit, fails on the addresses it is told to, tracks concurrency.
    #[derive(Default)]
    struct Recorder {
        units: Mutex<Vec<Vec<String>>>,
        fail: Vec<String>,
        /// Units refused before they start once this many have run (a lost lock).
        refuse_after: Option<usize>,
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
    }

    impl Executor for Recorder {
        fn may_start(&self, _unit: &[Change]) -> Result<(), ApplyError> {
            let ran = self.units.lock().map_or(0, |units| units.len());
            match self.refuse_after {
                Some(limit) if ran >= limit => {
                    Err(ApplyError::new("the lock was taken over by `other/7`"))
                }
                _ => Ok(()),
            }
        }

        async fn execute(&self, unit: &[Change]) -> Result<(), ApplyError> {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let names: Vec<String> = unit.iter().map(|c| c.address.to_string()).collect();
            self.units
                .lock()
                .map_err(|_| ApplyError::new("poisoned"))?
                .push(names.clone());
            if names.iter().any(|name| self.fail.contains(name)) {
                return Err(ApplyError::new("boom"));
            }
            Ok(())
        }
    }

    fn users(count: usize) -> Vec<Change> {
        (0..count)
            .map(|i| change(&format!("+ iam.user.u{i}")))
            .collect()
    }

    #[tokio::test]
    async fn a_unit_refused_before_it_starts_stops_the_apply_without_running_it() {
        let recorder = Recorder {
            refuse_after: Some(1),
            ..Recorder::default()
        };
        let lines = [
            "+ cluster.a.aws-auth[arn:1]",
            "+ cluster.a.namespace.n1",
            "+ cluster.a.namespace.n2",
        ];
        let report = apply(&plan(changes(&lines)), &recorder, 1).await;
        assert_eq!(recorder.units.lock().expect("lock").len(), 1);
        assert_eq!(report.done.len(), 1);
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        assert_eq!(report.not_attempted.len(), 2);
        assert_eq!(
            report.stopped,
            Some(ApplyError::new("the lock was taken over by `other/7`"))
        );
        assert!(!report.succeeded());
    }

    #[tokio::test]
    async fn a_stage_runs_in_parallel_within_the_bound() {
        let recorder = Recorder::default();
        let report = apply(&plan(users(20)), &recorder, 4).await;
        assert!(report.succeeded());
        assert_eq!(report.done.len(), 20);
        let max = recorder.max_in_flight.load(Ordering::SeqCst);
        assert!((2..=4).contains(&max), "max in flight {max}");
    }

    /// The units a successful apply of `lines` hands its executor, in the order it does.
    async fn units(lines: &[&str]) -> Vec<Vec<String>> {
        let recorder = Recorder::default();
        let report = apply(&plan(changes(lines)), &recorder, 10).await;
        assert!(report.succeeded());
        recorder.units.lock().expect("lock").clone()
    }

    #[tokio::test]
    async fn aws_auth_changes_of_one_cluster_form_one_unit() {
        let mut units = units(&[
            "+ cluster.a.aws-auth[arn:1]",
            "+ cluster.a.aws-auth[arn:2]",
            "+ cluster.b.aws-auth[arn:1]",
        ])
        .await;
        units.sort();
        assert_eq!(
            units,
            vec![
                vec![
                    "cluster.a.aws-auth[arn:1]".to_string(),
                    "cluster.a.aws-auth[arn:2]".to_string()
                ],
                vec!["cluster.b.aws-auth[arn:1]".to_string()],
            ]
        );
    }

    #[tokio::test]
    async fn a_failure_stops_later_stages_and_reports_everything() {
        let recorder = Recorder {
            fail: vec!["iam.user.u1".to_string()],
            ..Recorder::default()
        };
        let mut changes = users(3);
        changes.push(change("+ cluster.a.namespace.team"));
        let report = apply(&plan(changes), &recorder, 10).await;
        assert!(!report.succeeded());
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].0, Address::iam(Kind::User, "u1"));
        // The rest of the failing stage was already in flight and finished.
        assert_eq!(report.done.len(), 2);
        assert_eq!(
            report.done.len() + report.failed.len() + report.not_attempted.len(),
            4
        );
        assert_eq!(
            report.not_attempted,
            vec![Address::cluster(Kind::Namespace, "a", "team")]
        );
    }

    #[tokio::test]
    async fn nothing_new_starts_after_a_failure() {
        let recorder = Recorder {
            fail: vec!["iam.user.u0".to_string()],
            ..Recorder::default()
        };
        // One unit at a time: u0 fails, so u1..u4 of the same stage are never started.
        let report = apply(&plan(users(5)), &recorder, 1).await;
        assert_eq!(report.failed.len(), 1);
        assert!(report.done.is_empty());
        assert_eq!(report.not_attempted.len(), 4);
        assert_eq!(recorder.units.lock().expect("lock").len(), 1);
    }

    #[tokio::test]
    async fn stages_follow_plan_order() {
        let units = units(&[
            "- cluster.a.aws-auth[arn:old]",
            "+ iam.user.new",
            "+ cluster.a.aws-auth[arn:new]",
            "- iam.user.old",
        ])
        .await;
        assert_eq!(
            units,
            vec![
                vec!["cluster.a.aws-auth[arn:old]".to_string()],
                vec!["iam.user.new".to_string()],
                vec!["cluster.a.aws-auth[arn:new]".to_string()],
                vec!["iam.user.old".to_string()],
            ]
        );
    }

    #[test]
    fn a_step_reads_the_action_from_the_sides_and_checks_their_type() {
        let user = User::default();
        let step = |line: &str| {
            Step::<User>::of(&change(line)).ok().map(|step| match step {
                Step::Create(after) => ("create", None, Some(after.clone())),
                Step::Update(before, after) => {
                    ("update", Some(before.clone()), Some(after.clone()))
                }
                Step::Replace(before, after) => {
                    ("replace", Some(before.clone()), Some(after.clone()))
                }
                Step::Delete(before) => ("delete", Some(before.clone()), None),
            })
        };
        let both = (Some(user.clone()), Some(user.clone()));
        assert_eq!(
            step("+ iam.user.a"),
            Some(("create", None, Some(user.clone())))
        );
        assert_eq!(
            step("- iam.user.a"),
            Some(("delete", Some(user.clone()), None))
        );
        assert_eq!(
            step("~ iam.user.a"),
            Some(("update", both.0.clone(), both.1.clone()))
        );
        // An adoption is an update whose `after` carries the marker.
        assert_eq!(
            step("<= iam.user.a"),
            Some(("update", both.0.clone(), both.1.clone()))
        );
        assert_eq!(step("-/+ iam.user.a"), Some(("replace", both.0, both.1)));
        // Objects of another type, or none at all, are no step.
        let misfit = "a `Create` change whose before/after objects do not fit its kind";
        assert_eq!(
            Step::<Namespace>::of(&change("+ iam.user.a")),
            Err(misfit.to_string())
        );
        assert_eq!(
            Step::<User>::of(&Change::from_line("+ iam.user.a")),
            Err(misfit.to_string())
        );
    }
}
