//! Several accounts in one run (`-f identity -f workload`): each file (or directory) is one
//! account, reached through its `assumeRole`. The accounts run concurrently, at most
//! [`CONCURRENT_ACCOUNTS`] at a time; one account's failure is reported in its place and the
//! others still run.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::CliError;
use super::common::Input;
use super::{OutputFormat, Printer};
use crate::render::accounts::{Account, Failure, Outcome, Section, Tally};
use crate::render::{self, TextOptions};

/// How many accounts are read and planned at once. An account's run waits on round trips
/// (its own AWS endpoints and clusters; IAM and EKS throttle per account), costs one set of
/// clients and a connection per cluster (a few MiB), and its STS `AssumeRole` is one call: so
/// up to 16 at once keep a 20-account run near its slowest account plus a second wave, without
/// opening a hundred accounts' connections at once (`cargo bench --bench accounts`,
/// docs/performance.md).
pub const CONCURRENT_ACCOUNTS: usize = 16;

/// One account's run: its file, its `account` (when the file could be read) and what the run
/// gave.
pub struct AccountRun<T> {
    pub file: PathBuf,
    pub account: Option<String>,
    pub result: Result<T, CliError>,
}

/// Reads each file (here, one after the other: files are small; each knowing what the others
/// declare, for `ACCOUNT/NAME`: [`Input::read_all`]), then runs `work` for each
/// account whose file loads, at most [`CONCURRENT_ACCOUNTS`] at a time; the runs come back in
/// the order of `files`. A file that does not load, and two files of the same account (each
/// account is planned once, from one place), are errors of their accounts, found before
/// anything runs.
pub fn each<T: Send>(
    files: &[PathBuf],
    work: impl Fn(Input) -> Result<T, CliError> + Sync,
) -> Vec<AccountRun<T>> {
    let inputs = Input::read_all(files);
    let accounts: Vec<Option<String>> = inputs
        .iter()
        .map(|input| {
            let desired = input.as_ref().ok()?.desired().ok()?;
            desired.state.account.clone()
        })
        .collect();
    let slots: Vec<Mutex<Option<Result<Input, CliError>>>> = inputs
        .into_iter()
        .zip(&accounts)
        .map(|(input, account)| {
            let twice = account.as_ref().is_some_and(|account| {
                accounts
                    .iter()
                    .filter(|named| named.as_ref() == Some(account))
                    .count()
                    > 1
            });
            let input = match account {
                Some(account) if twice => Err(CliError::new(format!(
                    "account {account} is in more than one of the files given with `-f`"
                ))
                .with_hint(
                    "one file or directory per account: put the account's fragments in one directory",
                )),
                _ => input,
            };
            Mutex::new(Some(input))
        })
        .collect();
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, Result<T, CliError>)>> =
        Mutex::new(Vec::with_capacity(files.len()));
    std::thread::scope(|scope| {
        for _ in 0..CONCURRENT_ACCOUNTS.min(files.len()) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = slots.get(index) else {
                        break;
                    };
                    let input = slot
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .take();
                    let result = match input {
                        Some(Ok(input)) => work(input),
                        Some(Err(error)) => Err(error),
                        None => Err(CliError::new("internal error: an account ran twice")),
                    };
                    done.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((index, result));
                }
            });
        }
    });
    let mut done = done
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    done.sort_by_key(|(index, _)| *index);
    done.into_iter()
        .map(|(index, result)| AccountRun {
            file: files[index].clone(),
            account: accounts[index].clone(),
            result,
        })
        .collect()
}

/// The report's view of the runs: each account's result as `done` gives it (its plan, its
/// drift report), or its error.
pub fn sections<'r, T, S>(
    runs: &'r [AccountRun<T>],
    done: impl Fn(&'r T) -> &'r S,
) -> Vec<Account<'r, S>> {
    runs.iter()
        .map(|run| Account {
            file: crate::spec::input::shown(&run.file).display().to_string(),
            account: run.account.clone(),
            outcome: match &run.result {
                Ok(result) => Outcome::Done(done(result)),
                Err(error) => Outcome::Error(failure(error)),
            },
        })
        .collect()
}

/// Prints the report in `output`, and refuses when any account failed (`could not be
/// {what}`: planned, checked): the report says why in each failed account's place.
pub fn print_report<S: Section>(
    report: &[Account<'_, S>],
    output: OutputFormat,
    printer: &Printer,
    what: &str,
) -> Result<Tally, CliError> {
    let rendered = match output {
        OutputFormat::Text => render::accounts::text(
            report,
            TextOptions {
                color: printer.stdout_color,
            },
        ),
        OutputFormat::Json => render::accounts::json(report)?,
        OutputFormat::Markdown => render::accounts::markdown(report),
    };
    printer.data(&rendered)?;
    let tally = render::accounts::tally(report);
    if tally.failed > 0 {
        return Err(CliError::new(format!(
            "{} of {} accounts could not be {what} (see their sections of the report)",
            tally.failed, tally.accounts
        )));
    }
    Ok(tally)
}

/// `account 111111111111 (`identity/`)`, or the file alone: how messages name an account.
pub fn name<T>(run: &AccountRun<T>) -> String {
    let file = crate::spec::input::shown(&run.file).display().to_string();
    match &run.account {
        Some(account) => format!("account {account} (`{file}`)"),
        None => format!("`{file}`"),
    }
}

/// An account's error for the report.
pub fn failure(error: &CliError) -> Failure {
    Failure {
        message: error.message.clone(),
        details: error.details.clone(),
        hint: error.hint.clone(),
    }
}
