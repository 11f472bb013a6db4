//! A real interruption of `accessctl apply`: the binary reaches moto through a proxy that cuts
//! the line partway through creating users. The failed apply must say what was done, what
//! failed and what was not attempted, moto must hold exactly what it says was done, and once
//! the line is back a second apply converges.

use std::collections::BTreeSet;

use crate::moto::Moto;
use crate::support::binary::{self, shown};
use crate::support::proxy::Proxy;
use crate::support::target::AwsTarget;

const USERS: usize = 30;
/// Users created before the cut. Each user is one change of two calls (CreateUser,
/// AddUserToGroup); with two running at once, the cut falls on the next CreateUser.
const CREATED_BEFORE_CUT: usize = 10;
/// A policy, a group and the users.
const CHANGES: usize = USERS + 2;

fn access_yaml() -> String {
    let mut yaml = String::from(
        r#"version: 1
account: "123456789012"
iam:
  policies:
    InterruptReaders:
      document:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: s3:GetObject
            Resource: "*"
  groups:
    interrupt-readers:
      policies: [InterruptReaders]
  users:
"#,
    );
    for user in 0..USERS {
        yaml.push_str(&format!(
            "    interrupt-user-{user:02}:\n      groups: [interrupt-readers]\n"
        ));
    }
    yaml
}

/// The report of a failed apply, read from its stderr.
#[derive(Debug)]
struct Report {
    summary: (usize, usize, usize),
    done: BTreeSet<String>,
    failed: BTreeSet<String>,
    not_attempted: BTreeSet<String>,
}

fn report(stderr: &str) -> Report {
    let summary = stderr
        .lines()
        .find_map(|line| {
            let counts = line.split_once("apply failed: ")?.1;
            let numbers: Vec<usize> = counts
                .split(", ")
                .map(|part| part.split_whitespace().next()?.parse().ok())
                .collect::<Option<_>>()?;
            match (numbers.as_slice(), counts.ends_with("not attempted")) {
                ([done, failed, not_attempted], true) => Some((*done, *failed, *not_attempted)),
                _ => None,
            }
        })
        .unwrap_or_else(|| {
            panic!("no `apply failed: X done, Y failed, Z not attempted`:\n{stderr}")
        });
    let mut report = Report {
        summary,
        done: BTreeSet::new(),
        failed: BTreeSet::new(),
        not_attempted: BTreeSet::new(),
    };
    for line in stderr.lines() {
        if let Some(address) = line.strip_prefix("  done ") {
            report.done.insert(address.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("  failed ") {
            let address = rest.trim().split_once(": ").map_or(rest.trim(), |(a, _)| a);
            report.failed.insert(address.to_string());
        } else if let Some(address) = line.strip_prefix("  not attempted ") {
            report.not_attempted.insert(address.trim().to_string());
        }
    }
    report
}

fn user_names(addresses: &BTreeSet<String>) -> BTreeSet<String> {
    addresses
        .iter()
        .filter_map(|address| address.strip_prefix("iam.user."))
        .map(str::to_string)
        .collect()
}

/// The users in moto, asked directly, not through the proxy.
async fn moto_users(moto: &Moto) -> BTreeSet<String> {
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    let mut users = BTreeSet::new();
    let mut pages = iam.list_users().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.expect("moto lists users");
        users.extend(page.users().iter().map(|user| user.user_name().to_string()));
    }
    users
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_cut_off_from_aws_reports_what_was_done_and_a_rerun_converges() {
    // The proxy sits in front of moto's plain HTTP; the binary cannot be pointed at a real
    // account through it, nor should a test cut a real account's apply short.
    if AwsTarget::from_env().skip_if_external("interrupt: the proxy stands in front of moto") {
        return;
    }
    let moto = tokio::task::spawn_blocking(Moto::start)
        .await
        .expect("moto starts");
    let upstream = moto.address();
    let proxy = Proxy::start(upstream).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("access.yaml");
    std::fs::write(&file, access_yaml()).expect("write access.yaml");
    let file = file.display().to_string();

    // Live state is read and the policy and group are created; the cut falls on the
    // (CREATED_BEFORE_CUT + 1)th CreateUser and lasts until restore, so the SDK's own
    // retries of the connection errors (standard mode, 3 attempts) all meet a reset too.
    proxy.cut_after(CREATED_BEFORE_CUT, "Action=CreateUser&");
    let failed = binary::run_iam_only(
        &["apply", "-f", &file, "--auto-approve", "--parallelism", "2"],
        &proxy.endpoint(),
        dir.path(),
    )
    .await;
    assert!(proxy.is_cut(), "the cut never tripped:\n{}", shown(&failed));
    assert_eq!(failed.status.code(), Some(1), "{}", shown(&failed));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    let report = report(&stderr);
    let (done, failures, not_attempted) = report.summary;
    eprintln!(
        "interrupted apply: {done} done, {failures} failed, {not_attempted} not attempted; \
         proxy forwarded {} requests, reset {} connections",
        proxy.forwarded(),
        proxy.reset()
    );
    assert!(done >= 1, "{}", shown(&failed));
    assert!(
        failures >= 1,
        "a cut line fails something:\n{}",
        shown(&failed)
    );
    assert_eq!(
        done + failures + not_attempted,
        CHANGES,
        "{}",
        shown(&failed)
    );
    assert_eq!(
        (
            report.done.len(),
            report.failed.len(),
            report.not_attempted.len()
        ),
        report.summary,
        "each change is listed once under what happened to it:\n{}",
        shown(&failed)
    );
    let listed: BTreeSet<&String> = report
        .done
        .iter()
        .chain(&report.failed)
        .chain(&report.not_attempted)
        .collect();
    assert_eq!(listed.len(), CHANGES, "{}", shown(&failed));
    // The policy and the group come before any user, so they were done before the cut.
    assert!(
        report.done.contains("iam.policy.InterruptReaders")
            && report.done.contains("iam.group.interrupt-readers"),
        "{}",
        shown(&failed)
    );
    assert!(
        stderr.contains("run `accessctl apply` again"),
        "{}",
        shown(&failed)
    );

    let done_users = user_names(&report.done);
    let failed_users = user_names(&report.failed);
    let not_attempted_users = user_names(&report.not_attempted);
    assert!(
        (1..=CREATED_BEFORE_CUT).contains(&done_users.len()),
        "{}",
        shown(&failed)
    );
    // Every `done` user exists and nothing not attempted does. A `failed` user may exist
    // either way: the cut resets live connections too, so a CreateUser or AddUserToGroup
    // that moto carried out may have lost its response; the user is then in moto but its
    // change is failed. The change the cut fell on never reached moto.
    let existing = moto_users(&moto).await;
    let unexpected: BTreeSet<&String> = existing
        .difference(&done_users)
        .filter(|user| !failed_users.contains(*user))
        .collect();
    assert!(
        done_users.is_subset(&existing) && unexpected.is_empty(),
        "moto holds {existing:?}, the report says done {done_users:?}, failed {failed_users:?}"
    );
    assert!(existing.is_disjoint(&not_attempted_users));
    eprintln!(
        "failed users in moto: {:?} of {:?}",
        existing.intersection(&failed_users).collect::<Vec<_>>(),
        failed_users
    );

    proxy.restore();
    let rerun = binary::run_iam_only(
        &["apply", "-f", &file, "--auto-approve"],
        &proxy.endpoint(),
        dir.path(),
    )
    .await;
    assert_eq!(rerun.status.code(), Some(0), "{}", shown(&rerun));
    // The re-run plans afresh: everything not attempted, and whatever of the failed changes
    // moto does not hold yet.
    let applied = String::from_utf8_lossy(&rerun.stderr)
        .lines()
        .find_map(|line| {
            line.strip_prefix("Apply complete: ")?
                .split_whitespace()
                .next()?
                .parse::<usize>()
                .ok()
        })
        .unwrap_or_else(|| panic!("no `Apply complete: N changes`:\n{}", shown(&rerun)));
    assert!(
        (not_attempted..=not_attempted + failures).contains(&applied),
        "{}",
        shown(&rerun)
    );
    let planned = binary::run_iam_only(
        &["plan", "-f", &file, "--detailed-exitcode"],
        &proxy.endpoint(),
        dir.path(),
    )
    .await;
    assert_eq!(planned.status.code(), Some(0), "{}", shown(&planned));
    let expected: BTreeSet<String> = (0..USERS)
        .map(|user| format!("interrupt-user-{user:02}"))
        .collect();
    assert_eq!(moto_users(&moto).await, expected);
}
