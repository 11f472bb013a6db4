//! `accessctl apply`: carry out a plan. Either plan afresh from access.yaml (`apply -f`), show
//! the plan, ask, and apply exactly that plan; or apply a saved plan (`apply plan.json`, from
//! `plan --out`) after re-reading the objects it touches and refusing when any changed since.
//! A failure says what was done, what failed and what was not attempted; running apply again
//! plans afresh from what is live and converges.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Args;
use tokio::runtime::Runtime;

use super::accounts;
use super::common::{AwsArgs, Input, SafetyArgs, connect_live, read_connected};
use super::lock::{LockArgs, Locks};
use super::output::Verbosity;
use super::planning::{Planned, plan_input, plan_live};
use super::progress::Progress;
use super::{CliError, EXIT_OK, Printer};
use crate::apply::{self, ApplyError, ApplyReport, Executor, Route};
use crate::aws::RetryPolicy;
use crate::aws::apply::IamExecutor;
use crate::kube::{ClusterExecutor, ClusterExecutors};
use crate::live::Connections;
use crate::model::State;
use crate::plan::{Change, Plan};
use crate::planfile::{self, AccountPlan, SavedFile, SavedPlan, SavedPlans, Stale};
use crate::render::accounts::{Account, Outcome};
use crate::render::{self, TextOptions};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A saved plan (`accessctl plan --out plan.json`) to apply exactly as reviewed. Without
    /// one, apply plans afresh from access.yaml
    #[arg(value_name = "PLAN", conflicts_with = "plan")]
    pub plan_path: Option<PathBuf>,
    /// The saved plan to apply (same as the positional PLAN)
    #[arg(long = "plan", value_name = "PATH")]
    pub plan: Option<PathBuf>,
    /// Path of the access.yaml [default: access.yaml]. Repeat it for several accounts (one
    /// file or directory each): planned together, approved once, applied in turn. With a
    /// saved plan it is optional, and only checked to be the file the plan was made from
    #[arg(short = 'f', long = "file", value_name = "PATH", action = clap::ArgAction::Append)]
    pub file: Vec<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Apply without asking (pipelines). Without it, apply asks for `yes` on a terminal and
    /// refuses when there is none
    #[arg(long)]
    pub auto_approve: bool,
    /// How many independent changes may run at once
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub parallelism: u16,
    #[command(flatten)]
    pub safety: SafetyArgs,
    #[command(flatten)]
    pub lock: LockArgs,
    /// How long an AWS write is retried while IAM and EKS catch up with an object this apply
    /// created, or while AWS throttles (seconds; default 60). Hidden: for tests, which set a
    /// short bound to see a give-up quickly (docs/testing.md)
    #[arg(long, hide = true, value_name = "SECONDS")]
    pub aws_retry_seconds: Option<u64>,
}

/// Files and the confirmation prompt are read here, on this thread; only the AWS and cluster
/// calls run on the runtime (`block_on`), so no blocking read happens inside async code.
pub fn run(args: &ApplyArgs, printer: &Printer) -> Result<i32, CliError> {
    let runtime = super::runtime()?;
    let session = Session {
        runtime: &runtime,
        args,
        printer,
    };
    match args.plan_path.as_ref().or(args.plan.as_ref()) {
        Some(saved) => apply_saved(session, saved),
        None => apply_fresh(session),
    }
}

/// What every step of one apply runs with: the runtime the AWS and cluster calls run on, the
/// command line, and where the output goes.
#[derive(Clone, Copy)]
struct Session<'a> {
    runtime: &'a Runtime,
    args: &'a ApplyArgs,
    printer: &'a Printer,
}

/// Plans from access.yaml and live state, then applies that plan.
fn apply_fresh(session: Session) -> Result<i32, CliError> {
    let Session {
        runtime,
        args,
        printer,
    } = session;
    let file = match args.file.as_slice() {
        [] => PathBuf::from("access.yaml"),
        [file] => file.clone(),
        files => return apply_accounts(session, files),
    };
    let mut planned = plan_live(
        runtime,
        &file,
        &args.aws,
        &args.safety,
        Some(&args.lock),
        printer,
    )?;
    let result = planned.take_connections().and_then(|connections| {
        execute(
            session,
            &planned.plan,
            &planned.live,
            (connections, &planned.locks),
        )
    });
    runtime.block_on(planned.locks.release(printer));
    result
}

/// `apply -f A -f B …`: every account planned (concurrently, each locked before its read), one
/// report, one approval, then each account applied in turn. When any account cannot be
/// planned, nothing is applied anywhere: the run is all the accounts or none.
fn apply_accounts(session: Session, files: &[PathBuf]) -> Result<i32, CliError> {
    let Session {
        runtime,
        args,
        printer,
    } = session;
    let runs = accounts::each(files, |input| {
        plan_input(
            runtime,
            input,
            &args.aws,
            &args.safety,
            Some(&args.lock),
            printer,
        )
    });
    let release = |runs: Vec<accounts::AccountRun<Planned>>| {
        for run in runs {
            if let Ok(planned) = run.result {
                runtime.block_on(planned.locks.release(printer));
            }
        }
    };
    let report = accounts::sections(&runs, |planned: &Planned| &planned.plan);
    let tally = render::accounts::tally(&report);
    if shows_plan(
        printer.verbosity,
        args.auto_approve,
        std::io::stdin().is_terminal(),
    ) || tally.failed > 0
    {
        let text = render::accounts::text(
            &report,
            TextOptions {
                color: printer.stdout_color,
            },
        );
        printer.data(&text)?;
    }
    drop(report);
    if tally.failed > 0 {
        release(runs);
        return Err(CliError::new(format!(
            "{} of {} accounts could not be planned: nothing was applied in any account",
            tally.failed, tally.accounts
        ))
        .with_hint("fix what their sections of the report say, then apply again"));
    }
    if tally.with_changes == 0 {
        release(runs);
        if printer.verbosity == Verbosity::Quiet {
            printer.outcome(&complete(0));
        }
        return Ok(EXIT_OK);
    }
    for run in &runs {
        if let Ok(planned) = &run.result {
            for flag in &planned.plan.overrides {
                printer.info(&format!(
                    "warning: applying with the safety override `{flag}` in {}",
                    accounts::name(run)
                ));
            }
        }
    }
    if !super::confirm::confirm(args.auto_approve)? {
        release(runs);
        printer.info("Apply cancelled: nothing was changed.");
        return Ok(EXIT_OK);
    }
    let mut failed = Vec::new();
    for run in runs {
        let name = accounts::name(&run);
        let Ok(mut planned) = run.result else {
            continue;
        };
        if !planned.plan.has_changes() {
            continue;
        }
        printer.info(&format!("Applying {name}:"));
        let result = planned.take_connections().and_then(|connections| {
            run_plan(
                session,
                &planned.plan,
                &planned.live,
                (connections, &planned.locks),
            )
        });
        runtime.block_on(planned.locks.release(printer));
        if let Err(error) = result {
            printer.error(&error);
            failed.push(name);
        }
    }
    accounts_applied(
        &failed,
        "run `accessctl apply` again with the same files: it plans afresh from what is live in every account",
    )
}

/// The end of an apply of several accounts: ok, or which accounts failed (each reported above).
fn accounts_applied(failed: &[String], hint: &str) -> Result<i32, CliError> {
    if failed.is_empty() {
        return Ok(EXIT_OK);
    }
    Err(CliError::new(format!(
        "apply failed in {}: see above what was done, failed and not attempted there",
        failed.join(", ")
    ))
    .with_hint(hint))
}

/// Applies a saved plan after checking that it is intact, that it was made from `-f` (when
/// given) with the overrides passed now, and that nothing it touches changed since.
fn apply_saved(session: Session, path: &Path) -> Result<i32, CliError> {
    let Session {
        runtime,
        args,
        printer,
    } = session;
    let saved = match planfile::read_any(path)
        .map_err(|error| CliError::new(error.to_string()).with_hint(error.hint()))?
    {
        SavedFile::One(saved) => *saved,
        SavedFile::Accounts(plans) => return apply_saved_accounts(session, path, &plans),
    };
    let version = env!("CARGO_PKG_VERSION");
    if saved.tool_version != version {
        printer.info(&format!(
            "note: the plan was saved by accessctl {}; this is {version}",
            saved.tool_version
        ));
    }
    match args.file.as_slice() {
        [] => {}
        [file] => check_source(&saved, file)?,
        _ => {
            return Err(CliError::new(
                "a saved plan is one account's: give at most one `-f` with it",
            )
            .with_hint("apply each account's saved plan on its own, or save one plan of every account with `accessctl plan -f A -f B --out plan.json`"));
        }
    }
    let missing = saved.missing_overrides(&args.safety.flags());
    if !missing.is_empty() {
        let flags = missing.join(" ");
        return Err(CliError::new(format!(
            "the saved plan was made with the safety override{} `{flags}`: pass {} again to apply it",
            plural(missing.len()),
            if missing.len() == 1 { "it" } else { "them" },
        ))
        .with_hint(format!(
            "review the plan's notes, then run `accessctl apply {} {flags}`",
            path.display()
        )));
    }
    if !saved.plan.has_changes() {
        if printer.verbosity == Verbosity::Quiet {
            printer.outcome(&complete(0));
        } else {
            printer.data(&render::text(
                &saved.plan,
                TextOptions {
                    color: printer.stdout_color,
                },
            ))?;
        }
        return Ok(EXIT_OK);
    }
    let scope = saved.read_scope();
    let connect = connect_live(&scope, saved.assume_role.as_ref(), &args.aws, printer);
    let connections = runtime.block_on(connect)?;
    // Locked before the read, so the check that nothing changed since the plan holds until
    // the apply ends.
    let locks = runtime.block_on(Locks::acquire(&connections, &args.lock, printer))?;
    let result = current_live(session, path, &saved, &connections, None)
        .and_then(|live| execute(session, &saved.plan, &live, (connections, &locks)));
    runtime.block_on(locks.release(printer));
    result
}

/// One account's part of a saved plan of several accounts, checked and ready: its
/// connections, the locks held since before the check, and the live state the check read.
struct Checked<'p> {
    part: &'p AccountPlan,
    connections: Connections,
    locks: Locks,
    live: State,
}

/// `apply plan.json` of a saved plan of several accounts: every part checked before anything
/// is applied (its file with `-f`, its overrides, then, locked, its live objects); any part
/// that does not hold refuses the whole plan, naming the account and what changed. Then one
/// report, one approval, and each account applied in turn, as `apply -f A -f B` does.
fn apply_saved_accounts(
    session: Session,
    path: &Path,
    plans: &SavedPlans,
) -> Result<i32, CliError> {
    let Session {
        runtime,
        args,
        printer,
    } = session;
    let version = env!("CARGO_PKG_VERSION");
    if plans.tool_version != version {
        printer.info(&format!(
            "note: the plan was saved by accessctl {}; this is {version}",
            plans.tool_version
        ));
    }
    if !args.file.is_empty() {
        check_sources(plans, &args.file)?;
    }
    check_overrides(plans, path, &args.safety.flags())?;
    let changed: Vec<&AccountPlan> = plans
        .accounts
        .iter()
        .filter(|part| part.saved.plan.has_changes())
        .collect();
    let shown = shows_plan(
        printer.verbosity,
        args.auto_approve,
        std::io::stdin().is_terminal(),
    );
    if changed.is_empty() {
        if printer.verbosity == Verbosity::Quiet {
            printer.outcome(&complete(0));
        } else {
            printer.data(&report_text(plans, printer))?;
        }
        return Ok(EXIT_OK);
    }
    // Each account locked before its read, and held until its apply ends: the check that
    // nothing changed since the plan holds for every account until the last is applied.
    let mut checked = Vec::with_capacity(changed.len());
    let mut problems = Vec::new();
    for part in changed {
        match check_part(session, path, part) {
            Ok(ready) => checked.push(ready),
            Err(error) => problems.push((part_name(part), error)),
        }
    }
    let release = |checked: Vec<Checked>| {
        for ready in checked {
            runtime.block_on(ready.locks.release(printer));
        }
    };
    if !problems.is_empty() {
        release(checked);
        return Err(whole_refusal(
            &problems,
            plans.accounts.len(),
            "what it touches changed since the plan, or could not be checked, in",
            "run `accessctl plan -f … --out plan.json` again with every account's file, review it, and apply the new plan",
        ));
    }
    if shown {
        printer.data(&report_text(plans, printer))?;
    }
    for ready in &checked {
        for flag in &ready.part.saved.plan.overrides {
            printer.info(&format!(
                "warning: applying with the safety override `{flag}` in {}",
                part_name(ready.part)
            ));
        }
    }
    if !super::confirm::confirm(args.auto_approve)? {
        release(checked);
        printer.info("Apply cancelled: nothing was changed.");
        return Ok(EXIT_OK);
    }
    let mut failed = Vec::new();
    for ready in checked {
        let name = part_name(ready.part);
        printer.info(&format!("Applying {name}:"));
        let result = run_plan(
            session,
            &ready.part.saved.plan,
            &ready.live,
            (ready.connections, &ready.locks),
        );
        runtime.block_on(ready.locks.release(printer));
        if let Err(error) = result {
            printer.error(&error);
            failed.push(name);
        }
    }
    accounts_applied(
        &failed,
        "run `accessctl apply -f …` with every account's file: it plans afresh from what is live in every account",
    )
}

/// `account 111111111111 (`identity/`)`.
fn part_name(part: &AccountPlan) -> String {
    format!("account {} (`{}`)", part.account, part.file)
}

/// The plan of every account, as `plan -f A -f B` shows it.
fn report_text(plans: &SavedPlans, printer: &Printer) -> String {
    let report: Vec<Account<'_, Plan>> = plans
        .accounts
        .iter()
        .map(|part| Account {
            file: part.file.clone(),
            account: Some(part.account.clone()),
            outcome: Outcome::Done(&part.saved.plan),
        })
        .collect();
    render::accounts::text(
        &report,
        TextOptions {
            color: printer.stdout_color,
        },
    )
}

/// One error for the problems of several accounts, each with its message, details and hint.
fn whole_refusal(
    problems: &[(String, CliError)],
    accounts: usize,
    what: &str,
    hint: &str,
) -> CliError {
    let mut details = String::new();
    for (name, error) in problems {
        details.push_str(&format!("error: {name}: {}\n", error.message));
        if let Some(more) = &error.details {
            for line in more.lines() {
                details.push_str(&format!("  {line}\n"));
            }
        }
        if let Some(hint) = &error.hint {
            details.push_str(&format!("  hint: {hint}\n"));
        }
    }
    let names: Vec<&str> = problems.iter().map(|(name, _)| name.as_str()).collect();
    CliError::new(format!(
        "the saved plan of {accounts} accounts is refused as a whole: {what} {}; nothing was applied in any account",
        names.join(", ")
    ))
    .with_details(details)
    .with_hint(hint)
}

/// With `-f`: the files must be exactly the plan's accounts (matched by each file's
/// `account`), each the access.yaml its part was made from.
fn check_sources(plans: &SavedPlans, files: &[PathBuf]) -> Result<(), CliError> {
    let held: Vec<String> = plans.accounts.iter().map(part_name).collect();
    let mut problems = Vec::new();
    let mut given: Vec<String> = Vec::new();
    for file in files {
        let shown = crate::spec::input::shown(file).display().to_string();
        let input = Input::read(file)?;
        let Some(account) = input.desired()?.state.account.clone() else {
            problems.push((
                format!("`{shown}`"),
                CliError::new(
                    "the file names no `account`, and each `-f` is matched with its account's part of the saved plan",
                )
                .with_hint("give the file its `account:` (docs/access-yaml.md)"),
            ));
            continue;
        };
        let name = format!("account {account} (`{shown}`)");
        if given.contains(&account) {
            problems.push((
                name,
                CliError::new("the account is in more than one of the files given with `-f`")
                    .with_hint("one file or directory per account"),
            ));
            continue;
        }
        given.push(account.clone());
        match plans.accounts.iter().find(|part| part.account == account) {
            Some(part) => {
                if let Err(error) = check_source(&part.saved, file) {
                    problems.push((part_name(part), error));
                }
            }
            None => problems.push((
                name,
                CliError::new(format!(
                    "`-f {shown}` is not an account of the saved plan (it holds {})",
                    held.join(", ")
                ))
                .with_hint("give the `-f` options the plan was made with, and only those"),
            )),
        }
    }
    for part in &plans.accounts {
        if !given.contains(&part.account) {
            problems.push((
                part_name(part),
                CliError::new("the saved plan holds this account, and no `-f` gives its file")
                    .with_hint(format!(
                        "add `-f {}`, or leave out every `-f` to apply the saved plan as reviewed",
                        part.file
                    )),
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(whole_refusal(
        &problems,
        plans.accounts.len(),
        "the files given with `-f` do not match it for",
        "plan again from these files with `accessctl plan -f … --out plan.json`, or leave out `-f` to apply the saved plan as reviewed",
    ))
}

/// Refuses unless every override any account's plan needed is passed again.
fn check_overrides(
    plans: &SavedPlans,
    path: &Path,
    passed: &std::collections::BTreeSet<String>,
) -> Result<(), CliError> {
    let mut missing: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut needing = Vec::new();
    for part in &plans.accounts {
        let lacking = part.saved.missing_overrides(passed);
        if !lacking.is_empty() {
            needing.push(part_name(part));
            missing.extend(lacking);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let flags: Vec<String> = missing.into_iter().collect();
    let flags = flags.join(" ");
    Err(CliError::new(format!(
        "the saved plan of {} was made with the safety override{} `{flags}`: pass {} again to apply it",
        needing.join(", "),
        plural(flags.split(' ').count()),
        if flags.contains(' ') { "them" } else { "it" },
    ))
    .with_hint(format!(
        "review the plan's notes, then run `accessctl apply {} {flags}`",
        path.display()
    )))
}

/// Connects to one account of the plan (through its `assumeRole`), takes its clusters'
/// locks, and checks that nothing it touches changed since the plan.
fn check_part<'p>(
    session: Session,
    path: &Path,
    part: &'p AccountPlan,
) -> Result<Checked<'p>, CliError> {
    let Session {
        runtime,
        args,
        printer,
    } = session;
    let saved = &part.saved;
    let scope = saved.read_scope();
    let connect = connect_live(&scope, saved.assume_role.as_ref(), &args.aws, printer);
    let connections = runtime.block_on(connect)?;
    let locks = runtime.block_on(Locks::acquire(&connections, &args.lock, printer))?;
    match current_live(session, path, saved, &connections, Some(&part_name(part))) {
        Ok(live) => Ok(Checked {
            part,
            connections,
            locks,
            live,
        }),
        Err(error) => {
            runtime.block_on(locks.release(printer));
            Err(error)
        }
    }
}

/// [`apply_saved`] under the lock: reads what the plan touches and refuses a stale plan; the
/// live state it read is what the plan is applied against.
fn current_live(
    session: Session,
    path: &Path,
    saved: &SavedPlan,
    connections: &Connections,
    account: Option<&str>,
) -> Result<State, CliError> {
    let printer = session.printer;
    let live =
        session
            .runtime
            .block_on(read_connected(connections, &saved.read_scope(), printer))?;
    if let (Some(planned), Some(now)) = (&saved.account, &live.account)
        && planned != now
    {
        return Err(CliError::new(format!(
            "the plan was made in AWS account {planned}, but the credentials are for account {now}"
        ))
        .with_hint("use the credentials of the account the plan was made in, or plan again"));
    }
    let stale = saved.stale(&live)?;
    if !stale.is_empty() {
        return Err(stale_error(&stale));
    }
    printer.info(&format!(
        "The plan {}in `{}` is current: none of the {} object{} it touches changed since it was made.",
        account.map(|name| format!("of {name} ")).unwrap_or_default(),
        path.display(),
        saved.fingerprints.len(),
        plural(saved.fingerprints.len())
    ));
    Ok(live)
}

/// Refuses an access.yaml other than the one the plan was made from, or one whose policy
/// files changed since.
fn check_source(saved: &SavedPlan, file: &Path) -> Result<(), CliError> {
    // Parsing reads the policy files access.yaml names.
    let input = Input::read(file)?;
    let now = planfile::Source::of(&input.sources);
    let fragments = saved.source.changed_fragments(&now);
    let why = if now.sha256 != saved.source.sha256
        && !fragments.is_empty()
        && !now.fragments.is_empty()
        && !saved.source.fragments.is_empty()
    {
        let names: Vec<String> = fragments.iter().map(|path| format!("`{path}`")).collect();
        format!(
            "the fragment{} {} changed, appeared or went away since the plan",
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        )
    } else if now.sha256 != saved.source.sha256 {
        "it changed since the plan, or it is another file".to_string()
    } else {
        let changed = saved.source.changed_files(&now);
        if changed.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = changed.iter().map(|path| format!("`{path}`")).collect();
        format!(
            "the policy file{} {} changed since the plan",
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        )
    };
    Err(CliError::new(format!(
        "`{}` is not the access.yaml the plan was made from (`{}`, {}): {why}",
        file.display(),
        saved.source.path,
        saved.source.sha256
    ))
    .with_hint("plan again from this file with `accessctl plan --out`, or leave out `-f` to apply the saved plan as reviewed"))
}

/// "plan is stale: `a`, `b` changed since the plan; plan again", each object on its own line.
fn stale_error(stale: &[Stale]) -> CliError {
    let names: Vec<String> = stale
        .iter()
        .map(|stale| format!("`{}`", stale.address))
        .collect();
    let mut details = String::new();
    for object in stale {
        details.push_str(&format!(
            "  `{}` {} since the plan\n",
            object.address,
            object.what()
        ));
    }
    CliError::new(format!(
        "plan is stale: {} changed since the plan; plan again",
        names.join(", ")
    ))
    .with_details(details)
    .with_hint("run `accessctl plan --out plan.json` again, review it, and apply the new plan")
}

/// Shows the plan, names the overrides, asks, and applies.
fn execute(
    session: Session,
    plan: &Plan,
    live: &State,
    (connections, locks): (Connections, &Locks),
) -> Result<i32, CliError> {
    let Session { args, printer, .. } = session;
    if shows_plan(
        printer.verbosity,
        args.auto_approve,
        std::io::stdin().is_terminal(),
    ) {
        printer.data(&render::text(
            plan,
            TextOptions {
                color: printer.stdout_color,
            },
        ))?;
    }
    if !plan.has_changes() {
        if printer.verbosity == Verbosity::Quiet {
            printer.outcome(&complete(0));
        }
        return Ok(EXIT_OK);
    }
    for flag in &plan.overrides {
        printer.info(&format!(
            "warning: applying with the safety override `{flag}`"
        ));
    }
    if !super::confirm::confirm(args.auto_approve)? {
        printer.info("Apply cancelled: nothing was changed.");
        return Ok(EXIT_OK);
    }
    run_plan(session, plan, live, (connections, locks))
}

/// Applies `plan` (shown and approved) over `connections`, and reports.
fn run_plan(
    session: Session,
    plan: &Plan,
    live: &State,
    (connections, locks): (Connections, &Locks),
) -> Result<i32, CliError> {
    let Session {
        runtime,
        args,
        printer,
    } = session;
    let counter = connections.aws.counter.clone();
    let before = counter.snapshot();
    let progress = Progress::new(printer);
    progress.phase(format!("applying 0/{}…", plan.changes.len()));
    let report = runtime.block_on(async {
        let counted = Counted {
            inner: executor(connections, live, retry_policy(args)),
            done: AtomicUsize::new(0),
            total: plan.changes.len(),
            progress: &progress,
            locks,
        };
        apply::apply(plan, &counted, usize::from(args.parallelism)).await
    });
    progress.finish();
    printer.verbose(&format!("apply: {}", counter.snapshot().since(&before)));
    finish(&report, printer)
}

/// Whether apply prints the plan: always, but with `-q` only when it is about to ask for
/// confirmation on a terminal (one cannot approve what one has not seen).
fn shows_plan(verbosity: Verbosity, auto_approve: bool, stdin_is_terminal: bool) -> bool {
    verbosity > Verbosity::Quiet || (!auto_approve && stdin_is_terminal)
}

/// The report summary of a successful apply.
fn complete(applied: usize) -> String {
    format!(
        "Apply complete: {applied} change{} applied.",
        plural(applied)
    )
}

/// The retry policy of the AWS writes: [`RetryPolicy::aws`], its time bound as `args` sets it.
fn retry_policy(args: &ApplyArgs) -> RetryPolicy {
    let policy = RetryPolicy::aws();
    RetryPolicy {
        max_elapsed: args
            .aws_retry_seconds
            .map_or(policy.max_elapsed, std::time::Duration::from_secs),
        ..policy
    }
}

/// The executors for IAM, EKS and each cluster, over the connections live state was read with.
/// The EKS and access-key executors know what the IAM executor creates: EKS sees it late, and
/// IAM itself may not yet know a user it created a moment ago.
fn executor(connections: Connections, live: &State, retry: RetryPolicy) -> impl Executor {
    let account = live.account.clone().unwrap_or_default();
    let iam = IamExecutor::new(connections.aws.iam.clone(), account, live.partition.clone())
        .with_retry(retry);
    let eks = crate::live::eks_executor(&connections, live)
        .with_retry(retry)
        .with_created(iam.created());
    let keys = crate::aws::apply::keys::KeyExecutor::new(
        connections.aws.iam.clone(),
        connections.sdk.clone(),
        connections.aws.counter.clone(),
        connections.clusters.clone(),
    )
    .with_retry(retry)
    .with_created(iam.created());
    Route {
        iam,
        // Before `clusters`, which moves the cluster connections.
        eks,
        keys,
        clusters: ClusterExecutors {
            clusters: connections
                .clusters
                .into_iter()
                .map(|(name, client)| (name, ClusterExecutor::new(client)))
                .collect(),
        },
    }
}

/// An executor that reports `applying N/M…` as units finish, and starts no cluster write once
/// that cluster's Lease was lost.
struct Counted<'a, E> {
    inner: E,
    done: AtomicUsize,
    total: usize,
    progress: &'a Progress,
    locks: &'a Locks,
}

impl<E: Executor> Executor for Counted<'_, E> {
    fn may_start(&self, unit: &[Change]) -> Result<(), ApplyError> {
        unit.iter()
            .filter_map(|change| change.address.cluster.as_deref())
            .try_for_each(|cluster| self.locks.check(cluster))
    }

    async fn execute(&self, unit: &[Change]) -> Result<(), ApplyError> {
        let result = self.inner.execute(unit).await;
        let done = self.done.fetch_add(unit.len(), Ordering::SeqCst) + unit.len();
        self.progress
            .phase(format!("applying {done}/{}…", self.total));
        result
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// Prints the outcome: a summary line, and on failure every change by what happened to it.
fn finish(report: &ApplyReport, printer: &Printer) -> Result<i32, CliError> {
    if report.succeeded() {
        printer.outcome(&complete(report.done.len()));
        return Ok(EXIT_OK);
    }
    let mut details = String::new();
    for address in &report.done {
        details.push_str(&format!("  done           {address}\n"));
    }
    for (address, error) in &report.failed {
        details.push_str(&format!("  failed         {address}: {error}\n"));
        if let Some(hint) = &error.hint {
            details.push_str(&format!("                 hint: {hint}\n"));
        }
    }
    for address in &report.not_attempted {
        details.push_str(&format!("  not attempted  {address}\n"));
    }
    let counts = format!(
        "{} done, {} failed, {} not attempted",
        report.done.len(),
        report.failed.len(),
        report.not_attempted.len()
    );
    let hint =
        "fix the cause and run `accessctl apply` again: it plans afresh from what is live now";
    Err(match &report.stopped {
        Some(stopped) => CliError::new(format!("apply stopped: {stopped}; {counts}"))
            .with_details(details)
            .with_hint(stopped.hint.as_deref().unwrap_or(hint)),
        None => CliError::new(format!("apply failed: {counts}"))
            .with_details(details)
            .with_hint(hint),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_apply_shows_the_plan_only_to_confirm_it_on_a_terminal() {
        for verbosity in [Verbosity::Default, Verbosity::Verbose] {
            assert!(shows_plan(verbosity, true, false));
            assert!(shows_plan(verbosity, false, true));
        }
        assert!(!shows_plan(Verbosity::Quiet, true, false));
        assert!(!shows_plan(Verbosity::Quiet, true, true));
        // No terminal and no `--auto-approve`: apply refuses without asking.
        assert!(!shows_plan(Verbosity::Quiet, false, false));
        assert!(shows_plan(Verbosity::Quiet, false, true));
    }
}
