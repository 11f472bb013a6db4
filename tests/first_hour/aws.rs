//! Issue 12: aws items (see tests/first_hour/mod.rs).
//!
//! - AWS-managed policy names are checked offline (validate) and against IAM (plan), and a
//!   missing policy at apply fails at once with a hint that does not loop.
//! - An endpoint that answers something that is not AWS is named, with the status and the
//!   first line of the body, at default verbosity.
//! - A user is deleted through the binary on moto (whose `ListServiceSpecificCredentials`
//!   answers 500), and the plan of the deletion lists what goes with the user.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::thread;

use crate::moto::Moto;
use crate::support::binary::{self, shown, transcript};
use crate::support::target::AwsTarget;

const ACCOUNT: &str = "123456789012";

fn fixture(name: &str) -> String {
    format!("tests/fixtures/first_hour/{name}")
}

/// `accessctl ARGS` against `endpoint`, run from the crate root (relative paths in output),
/// without any cluster.
fn live(endpoint: &str, args: &[&str]) -> Output {
    let mut command = binary::command(
        endpoint,
        &std::env::temp_dir().join("accessctl-no-kubeconfig"),
    );
    command.current_dir(binary::root());
    binary::run(command, args)
}

fn offline(args: &[&str]) -> Output {
    binary::run(binary::offline(), args)
}

/// Snapshots with the parts that differ per run replaced: loopback ports, temporary
/// directories, moto's generated ids.
fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT");
    settings.add_filter(r"AKIA[A-Z0-9]{16}", "AKIA_KEY_ID");
    settings.add_filter(r"AKIA…[A-Z0-9]{4}", "AKIA…WXYZ");
    settings.add_filter(r"/tmp/[^\s`']+/", "TMP/");
    settings
}

// --- item 5: AWS-managed policy names ---

#[test]
fn a_typo_in_an_aws_managed_policy_is_an_error_with_the_name_meant() {
    let file = fixture("managed-policy-typo.yaml");
    for command in ["validate", "lint"] {
        let args = [command, "-f", file.as_str()];
        let output = offline(&args);
        assert_eq!(output.status.code(), Some(1), "{}", shown(&output));
        insta::assert_snapshot!(
            format!("managed-policy-typo-{command}"),
            transcript(&args, &output)
        );
    }
}

#[test]
fn a_managed_policy_at_the_wrong_path_is_an_error_naming_the_path() {
    let file = fixture("managed-policy-wrong-path.yaml");
    let args = ["validate", "-f", file.as_str()];
    let output = offline(&args);
    assert_eq!(output.status.code(), Some(1), "{}", shown(&output));
    insta::assert_snapshot!(transcript(&args, &output));
}

#[test]
fn an_unknown_managed_policy_is_a_warning_offline() {
    let file = fixture("managed-policy-unknown.yaml");
    let args = ["validate", "-f", file.as_str()];
    let output = offline(&args);
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
    insta::assert_snapshot!(transcript(&args, &output));
}

/// The plan asks IAM about each referenced AWS-managed policy that live state does not show,
/// once, and fails on the one that does not exist, before anything is applied.
#[test]
fn plan_checks_referenced_managed_policies_against_iam() {
    if AwsTarget::from_env().skip_if_external("plan_checks_referenced_managed_policies_against_iam: moto with AWS-managed policies loaded") {
        return;
    }
    let moto = Moto::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")]);
    let file = fixture("managed-policy-unknown.yaml");
    let args = ["plan", "-f", file.as_str(), "-v"];
    let output = live(&moto.endpoint(), &args);
    assert_eq!(output.status.code(), Some(1), "{}", shown(&output));
    settings().bind(|| insta::assert_snapshot!(transcript(&args, &output)));
}

/// A saved plan made offline attaches a policy IAM does not have: apply fails on it at once
/// (one `AttachUserPolicy`, no retries for a minute) and does not send the user round in
/// circles with "changed since the plan".
#[test]
fn apply_fails_at_once_on_a_missing_policy_it_did_not_create() {
    if AwsTarget::from_env()
        .skip_if_external("apply_fails_at_once_on_a_missing_policy_it_did_not_create: moto")
    {
        return;
    }
    let moto = Moto::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")]);
    let temp = tempfile::tempdir().expect("tempdir");
    let file = fixture("managed-policy-unknown.yaml");
    let live_state = temp.path().join("live.json").display().to_string();
    let saved = temp.path().join("plan.json").display().to_string();
    let snapshot = live(
        &moto.endpoint(),
        &["snapshot", "-f", &file, "--out", &live_state],
    );
    assert_eq!(snapshot.status.code(), Some(0), "{}", shown(&snapshot));
    let planned = live(
        &moto.endpoint(),
        &[
            "plan",
            "-f",
            &file,
            "--live-state",
            &live_state,
            "--out",
            &saved,
        ],
    );
    assert_eq!(planned.status.code(), Some(0), "{}", shown(&planned));

    let args = ["apply", saved.as_str(), "--auto-approve", "-v"];
    let output = live(&moto.endpoint(), &args);
    assert_eq!(output.status.code(), Some(1), "{}", shown(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("iam:AttachUserPolicy 1,") || stderr.contains("iam:AttachUserPolicy 1)"),
        "one attempt only:\n{}",
        shown(&output)
    );
    assert!(
        !stderr.contains("changed since the plan"),
        "{}",
        shown(&output)
    );
    settings().bind(|| {
        insta::assert_snapshot!(transcript(
            &["apply", "PLAN", "--auto-approve", "-v"],
            &output
        ))
    });
}

// --- item 7: answers that are not AWS ---

/// A loopback HTTP server that answers every request with `status`, `headers` and `body`,
/// except STS `GetCallerIdentity` and the IAM listings read beside the one under test, which
/// get real (empty) AWS answers so that exactly one call meets the foreign answer.
struct Foreign {
    port: u16,
}

impl Foreign {
    fn start(status: &'static str, headers: &'static str, body: &'static str) -> Foreign {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                thread::spawn(move || answer(stream, status, headers, body));
            }
        });
        Foreign { port }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn answer(mut stream: std::net::TcpStream, status: &str, headers: &str, body: &str) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut request = vec![0; length];
        if reader.read_exact(&mut request).is_err() {
            return;
        }
        let request = String::from_utf8_lossy(&request);
        let (status, headers, body) = match aws_answer(&request) {
            Some(xml) => ("200 OK", "Content-Type: text/xml\r\n", xml),
            None => (status, headers, body.to_string()),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn aws_answer(request: &str) -> Option<String> {
    let (action, result) = if request.contains("Action=GetCallerIdentity") {
        return Some(format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::{ACCOUNT}:user/ops</Arn><UserId>AIDAOPS</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
        ));
    } else if request.contains("Action=ListRoles") {
        ("ListRoles", "<IsTruncated>false</IsTruncated><Roles/>")
    } else if request.contains("Action=ListOpenIDConnectProviders") {
        ("ListOpenIDConnectProviders", "<OpenIDConnectProviderList/>")
    } else {
        return None;
    };
    Some(format!(
        "<{action}Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></{action}Response>"
    ))
}

fn users_file(dir: &Path) -> PathBuf {
    let path = dir.join("access.yaml");
    std::fs::write(
        &path,
        format!("version: 1\naccount: \"{ACCOUNT}\"\niam:\n  users:\n    alice: {{}}\n"),
    )
    .expect("write access.yaml");
    path
}

#[test]
fn a_proxy_404_page_is_named_with_status_host_and_title() {
    let server = Foreign::start(
        "404 Not Found",
        "Content-Type: text/html\r\n",
        "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>\n",
    );
    let temp = tempfile::tempdir().expect("tempdir");
    let file = users_file(temp.path()).display().to_string();
    let output = live(&server.endpoint(), &["plan", "-f", &file]);
    assert_eq!(output.status.code(), Some(1), "{}", shown(&output));
    settings()
        .bind(|| insta::assert_snapshot!(transcript(&["plan", "-f", "access.yaml"], &output)));
}

#[test]
fn a_proxy_401_is_named_and_its_headers_are_not_shown() {
    let server = Foreign::start(
        "401 Unauthorized",
        "WWW-Authenticate: Basic realm=\"corp-proxy\"\r\nX-Secret-Token: do-not-print\r\n",
        "Unauthorized: proxy authentication required\nsecond line is not shown\n",
    );
    let temp = tempfile::tempdir().expect("tempdir");
    let file = users_file(temp.path()).display().to_string();
    let output = live(&server.endpoint(), &["plan", "-f", &file]);
    assert_eq!(output.status.code(), Some(1), "{}", shown(&output));
    let all = shown(&output);
    assert!(
        !all.contains("do-not-print") && !all.contains("corp-proxy"),
        "{all}"
    );
    assert!(
        !all.contains("Authorization:") && !all.contains("AWS4-HMAC-SHA256"),
        "{all}"
    );
    settings()
        .bind(|| insta::assert_snapshot!(transcript(&["plan", "-f", "access.yaml"], &output)));
}

// --- items 13 and 14: deleting a user on moto, and what goes with it in the plan ---

/// moto with `alice` and `bob` applied from a file, `bob` in the owned group `readers` with an
/// inline policy, then given an access key and a console password outside accessctl; the file
/// then drops `bob`. Returns moto, the directory holding the file, and the file's path.
fn moto_with_bob_dropped() -> (Moto, tempfile::TempDir, String) {
    let moto = Moto::start();
    let temp = tempfile::tempdir().expect("tempdir");
    let file = temp.path().join("access.yaml");
    let file_arg = file.display().to_string();
    let write = |users: &str| {
        std::fs::write(
            &file,
            format!(
                "version: 1\naccount: \"{ACCOUNT}\"\niam:\n  groups:\n    readers:\n      inline:\n        read: {{Version: \"2012-10-17\", Statement: [{{Effect: Allow, Action: \"s3:GetObject\", Resource: \"*\"}}]}}\n  users:\n{users}"
            ),
        )
        .expect("write access.yaml")
    };
    write(
        "    alice: {}\n    bob:\n      groups: [readers]\n      inline:\n        list: {Version: \"2012-10-17\", Statement: [{Effect: Allow, Action: \"s3:ListBucket\", Resource: \"*\"}]}\n",
    );
    let applied = live(
        &moto.endpoint(),
        &["apply", "-f", &file_arg, "--auto-approve"],
    );
    assert_eq!(applied.status.code(), Some(0), "{}", shown(&applied));
    let iam = moto.clients().iam;
    runtime().block_on(async {
        iam.create_access_key()
            .user_name("bob")
            .send()
            .await
            .expect("access key");
        iam.create_login_profile()
            .user_name("bob")
            .password("Correct-Horse-1")
            .send()
            .await
            .expect("login profile");
    });
    write("    alice: {}\n");
    (moto, temp, file_arg)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The prune of a user with an access key and a console password, through the binary on moto
/// (whose `ListServiceSpecificCredentials` answers 500): the user goes, the rest stays, and
/// the next plan is empty.
#[test]
fn pruning_a_user_with_credentials_works_on_moto() {
    if AwsTarget::from_env().skip_if_external("pruning_a_user_with_credentials_works_on_moto: moto")
    {
        return;
    }
    let (moto, _temp, file) = moto_with_bob_dropped();
    let output = live(&moto.endpoint(), &["apply", "-f", &file, "--auto-approve"]);
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("Apply complete"),
        "{}",
        shown(&output)
    );
    let iam = moto.clients().iam;
    runtime().block_on(async {
        let users = iam.list_users().send().await.expect("list users");
        let names: Vec<&str> = users.users().iter().map(|user| user.user_name()).collect();
        assert_eq!(names, ["alice"]);
        let group = iam
            .get_group()
            .group_name("readers")
            .send()
            .await
            .expect("the group stays");
        assert!(group.users().is_empty());
    });
    let again = live(
        &moto.endpoint(),
        &["plan", "-f", &file, "--detailed-exitcode"],
    );
    assert_eq!(again.status.code(), Some(0), "{}", shown(&again));
}

/// The plan of that prune says what goes with the user, in every format, and that moto could
/// not list service-specific credentials, without failing.
#[test]
fn the_plan_of_a_user_deletion_lists_what_goes_with_it() {
    if AwsTarget::from_env()
        .skip_if_external("the_plan_of_a_user_deletion_lists_what_goes_with_it: moto")
    {
        return;
    }
    let (moto, _temp, file) = moto_with_bob_dropped();
    for format in ["text", "json", "markdown"] {
        let args = ["plan", "-f", file.as_str(), "-o", format];
        let output = live(&moto.endpoint(), &args);
        assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
        settings().bind(|| {
            insta::assert_snapshot!(
                format!("prune-user-plan-{format}"),
                transcript(&["plan", "-f", "access.yaml", "-o", format], &output)
            )
        });
    }
}
