//! Access keys end to end through the binary: moto for IAM, STS and Secrets Manager, the test
//! API server for the cluster. Ages come from the hidden `--now` (moto dates keys with the real
//! clock), so no test waits.

use std::path::Path;
use std::process::Output;

use k8s_openapi::api::core::v1::Secret;

use crate::moto::Moto;
use crate::support::binary::{self, shown};
use crate::support::kube_server::{CONTEXT, Fault, KubeServer};
use crate::support::target::{AwsTarget, KubeTarget};

pub(crate) const ACCOUNT: &str = "123456789012";

fn access_yaml() -> String {
    access_yaml_with("")
}

/// [`access_yaml`] with more users (`users`: YAML at the indentation of a user).
fn access_yaml_with(users: &str) -> String {
    format!(
        r#"version: 1
account: "{ACCOUNT}"
iam:
  users:{users}
    eksuser:
      policies: [aws:AmazonEKSClusterPolicy]
      accessKeys:
        rotateAfterDays: 90
        graceDays: 7
        deliverTo:
          - secret: {{cluster: demo, namespace: ci, name: eksuser-aws}}
          - secretsManager: {{name: ci/eksuser, region: us-east-1}}
clusters:
  demo:
    region: us-east-1
    context: {CONTEXT}
    authentication: config-map
    namespaces: [ci]
"#
    )
}

/// Days from now, as `--now` takes it.
fn days_ahead(days: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    aws_smithy_types::DateTime::from_secs((now + days * 86_400) as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .expect("time")
}

async fn keys(moto: &Moto) -> Vec<(String, String)> {
    let iam = moto.clients().iam;
    let listed = iam
        .list_access_keys()
        .user_name("eksuser")
        .send()
        .await
        .expect("ListAccessKeys");
    listed
        .access_key_metadata()
        .iter()
        .map(|k| {
            (
                k.access_key_id().unwrap_or_default().to_string(),
                k.status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn delivered(server: &KubeServer) -> (String, String) {
    delivered_to(server, "ci", "eksuser-aws")
}

/// The key id and secret of the Secret `namespace/name` accessctl delivered a key to.
pub(crate) fn delivered_to(server: &KubeServer, namespace: &str, name: &str) -> (String, String) {
    let secret: Secret = server
        .object(Some(namespace), name)
        .unwrap_or_else(|| panic!("the Secret {namespace}/{name} was not written"));
    let data = secret.data.expect("data");
    let text = |key: &str| String::from_utf8(data[key].0.clone()).expect("utf8");
    (text("AWS_ACCESS_KEY_ID"), text("AWS_SECRET_ACCESS_KEY"))
}

/// The ARN STS on `moto` answers `GetCallerIdentity` with when called with this key.
pub(crate) async fn caller_arn(moto: &Moto, id: &str, secret: &str) -> String {
    let as_user = moto
        .sdk_config()
        .to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(id, secret, None, None, "delivered"),
            ),
        )
        .build();
    let caller = aws_sdk_sts::Client::new(&as_user)
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity with the delivered key");
    caller.arn().unwrap_or_default().to_string()
}

/// No byte of any output names `secret`.
fn never_shown(secret: &str, outputs: &[&Output], files: &[&Path]) {
    for output in outputs {
        let all = [output.stdout.as_slice(), output.stderr.as_slice()].concat();
        assert!(
            !String::from_utf8_lossy(&all).contains(secret),
            "the secret leaked: {}",
            shown(output)
        );
    }
    for file in files {
        let text = std::fs::read_to_string(file).expect("file");
        assert!(
            !text.contains(secret),
            "the secret leaked into {}",
            file.display()
        );
    }
}

/// A plan that exits 2 when there are changes, and an apply: of [`access_yaml`] in a [`Rig`].
const PLAN: [&str; 4] = ["plan", "-f", "{file}", "--detailed-exitcode"];
const APPLY: [&str; 5] = ["apply", "-f", "{file}", "--auto-approve", "-v"];

/// The API server, moto with cluster `demo`, and [`access_yaml`] in a temporary directory.
pub(crate) struct Rig {
    pub(crate) server: KubeServer,
    pub(crate) moto: Moto,
    dir: tempfile::TempDir,
    pub(crate) file: String,
}

impl Rig {
    /// `None` when the tests run against external targets (the binary applies unscoped names
    /// and needs moto).
    async fn start() -> Option<Rig> {
        Self::with(&access_yaml()).await
    }

    /// [`Rig::start`], and the first apply: its output, and the key it created and delivered
    /// (id and secret, as the Secret holds them).
    async fn applied() -> Option<(Rig, Output, (String, String))> {
        let rig = Self::start().await?;
        let first = rig.expect(0, &APPLY).await;
        let key = delivered(&rig.server);
        Some((rig, first, key))
    }

    /// [`Rig::start`] with this access.yaml.
    pub(crate) async fn with(yaml: &str) -> Option<Rig> {
        if KubeTarget::from_env().skip_if_external("access keys: the binary applies unscoped names")
            || AwsTarget::from_env().skip_if_external("access keys: needs moto")
        {
            return None;
        }
        let server = KubeServer::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("access.yaml");
        std::fs::write(&file, yaml).expect("write access.yaml");
        let file = file.display().to_string();
        let moto =
            tokio::task::spawn_blocking(|| Moto::with_eks_cluster(ACCOUNT, "demo", "us-east-1"))
                .await
                .expect("moto");
        Some(Rig {
            server,
            moto,
            dir,
            file,
        })
    }

    /// Runs the binary against moto and the API server; `{file}` in `args` is access.yaml.
    pub(crate) async fn run(&self, args: &[&str]) -> Output {
        let args: Vec<String> = args
            .iter()
            .map(|arg| arg.replace("{file}", &self.file))
            .collect();
        let (endpoint, kubeconfig) = (
            self.moto.endpoint(),
            self.server.kubeconfig_path().to_path_buf(),
        );
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            binary::run(binary::command(&endpoint, &kubeconfig), &args)
        })
        .await
        .expect("binary")
    }

    /// Runs the binary and checks its exit code.
    pub(crate) async fn expect(&self, code: i32, args: &[&str]) -> Output {
        let output = self.run(args).await;
        assert_eq!(output.status.code(), Some(code), "{}", shown(&output));
        output
    }

    /// Runs the binary, expecting exit code 2 and every one of `lines` in its stdout.
    async fn says(&self, args: &[&str], lines: &[&str]) -> Output {
        let output = self.expect(2, args).await;
        for line in lines {
            assert!(stdout(&output).contains(line), "{line}: {}", shown(&output));
        }
        output
    }

    /// After an apply that replaced `old`: the new key is delivered to both destinations (the
    /// Secrets Manager secret tagged with its masked id), `old` is inactive beside it. The new
    /// key's id and secret.
    async fn replaced(&self, old: &str) -> (String, String) {
        let (new_id, new_secret) = delivered(&self.server);
        assert_ne!(new_id, old);
        assert_eq!(
            sorted_keys(&self.moto).await,
            pair((old, "Inactive"), (&new_id, "Active"))
        );
        assert_eq!(
            managed_secret(&self.moto).await,
            (new_id.clone(), Some(masked(&new_id)))
        );
        (new_id, new_secret)
    }
}

/// `AKIA…WXYZ`, as accessctl shows a key id.
fn masked(id: &str) -> String {
    format!("{}…{}", &id[..4], &id[id.len() - 4..])
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The JSON value of Secrets Manager secret `ci/eksuser`.
async fn secret_json(moto: &Moto) -> serde_json::Value {
    let manager = aws_sdk_secretsmanager::Client::new(&moto.sdk_config());
    let value = manager
        .get_secret_value()
        .secret_id("ci/eksuser")
        .send()
        .await
        .expect("GetSecretValue");
    serde_json::from_str(value.secret_string().expect("string")).expect("json")
}

/// What Secrets Manager holds: the key id of its value, and its key-id tag.
async fn managed_secret(moto: &Moto) -> (String, Option<String>) {
    let json = secret_json(moto).await;
    let described = aws_sdk_secretsmanager::Client::new(&moto.sdk_config())
        .describe_secret()
        .secret_id("ci/eksuser")
        .send()
        .await
        .expect("DescribeSecret");
    let tag = described
        .tags()
        .iter()
        .find(|tag| tag.key() == Some("accessctl.io/access-key-id"))
        .and_then(|tag| tag.value())
        .map(str::to_string);
    (
        json["AWS_ACCESS_KEY_ID"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        tag,
    )
}

/// The binary never fetched a Secret's data: every GET of a Secret asked for metadata only.
fn secrets_read_as_metadata_only(server: &KubeServer) {
    for request in server.requests() {
        if request.method == "GET" && request.path.contains("/secrets/") {
            assert!(
                request.metadata_only,
                "a Secret was read whole: {request:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_created_delivered_rotated_and_deleted_within_two_keys_never_shown() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let rig = &rig;
    let (server, moto, dir, file) = (&rig.server, &rig.moto, &rig.dir, &rig.file);
    let run = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        rig.run(&args).await
    };
    let args = |extra: &[&str]| -> Vec<String> { extra.iter().map(|s| s.to_string()).collect() };

    // Create: the plan names the key to create, apply writes both destinations.
    let plan = run(args(&["plan", "-f", file, "--detailed-exitcode"])).await;
    assert_eq!(plan.status.code(), Some(2), "{}", shown(&plan));
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        text.contains("+ iam.access-key.eksuser"),
        "{}",
        shown(&plan)
    );
    assert!(text.contains("no active access key"), "{}", shown(&plan));
    let applied = run(args(&["apply", "-f", file, "--auto-approve", "-v"])).await;
    assert_eq!(applied.status.code(), Some(0), "{}", shown(&applied));
    let live = keys(moto).await;
    assert_eq!(live.len(), 1, "{live:?}");
    let (id, secret) = delivered(server);
    assert_eq!(id, live[0].0);
    let json = secret_json(moto).await;
    assert_eq!(json["AWS_ACCESS_KEY_ID"], id.as_str());
    assert_eq!(json["AWS_SECRET_ACCESS_KEY"], secret.as_str());
    // The delivered key works: STS answers as the user.
    assert_eq!(
        caller_arn(moto, &id, &secret).await,
        format!("arn:aws:iam::{ACCOUNT}:user/eksuser")
    );
    let again = run(args(&["plan", "-f", file, "--detailed-exitcode"])).await;
    assert_eq!(again.status.code(), Some(0), "{}", shown(&again));

    // Saved plans, every format, and a snapshot: never the secret.
    let saved = dir.path().join("plan.json").display().to_string();
    let snapshot = dir.path().join("live.json").display().to_string();
    let later = days_ahead(97);
    let json = run(args(&[
        "plan", "-f", file, "--now", &later, "-o", "json", "--out", &saved,
    ]))
    .await;
    let markdown = run(args(&[
        "plan", "-f", file, "--now", &later, "-o", "markdown",
    ]))
    .await;
    let snap = run(args(&["snapshot", "-f", file, "--out", &snapshot])).await;
    never_shown(
        &secret,
        &[&plan, &applied, &again, &json, &markdown, &snap],
        &[Path::new(&saved), Path::new(&snapshot)],
    );

    // Rotate at 97 days: the old key deactivated only after the new one is delivered.
    let plan = run(args(&["plan", "-f", file, "--now", &later])).await;
    let text = String::from_utf8_lossy(&plan.stdout);
    let masked = format!("{}…{}", &id[..4], &id[id.len() - 4..]);
    assert!(
        text.contains("~ iam.access-key.eksuser"),
        "{}",
        shown(&plan)
    );
    assert!(
        text.contains(&format!("{masked} is 97 days old, rotateAfterDays 90")),
        "{}",
        shown(&plan)
    );
    let rotated = run(args(&[
        "apply",
        "-f",
        file,
        "--now",
        &later,
        "--auto-approve",
        "-v",
    ]))
    .await;
    assert_eq!(rotated.status.code(), Some(0), "{}", shown(&rotated));
    let live = keys(moto).await;
    assert_eq!(live.len(), 2, "{live:?}");
    let (new_id, new_secret) = delivered(server);
    assert_ne!(new_id, id);
    assert!(
        live.contains(&(id.clone(), "Inactive".to_string())),
        "{live:?}"
    );
    assert!(
        live.contains(&(new_id.clone(), "Active".to_string())),
        "{live:?}"
    );
    let settled = run(args(&["plan", "-f", file, "--detailed-exitcode"])).await;
    assert_eq!(settled.status.code(), Some(0), "{}", shown(&settled));

    // Grace: 8 days on, the deactivated key goes.
    let grace = days_ahead(8);
    let plan = run(args(&["plan", "-f", file, "--now", &grace])).await;
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("- iam.access-key.eksuser"),
        "{}",
        shown(&plan)
    );
    let deleted = run(args(&[
        "apply",
        "-f",
        file,
        "--now",
        &grace,
        "--auto-approve",
    ]))
    .await;
    assert_eq!(deleted.status.code(), Some(0), "{}", shown(&deleted));
    assert_eq!(keys(moto).await, [(new_id.clone(), "Active".to_string())]);

    // A delivery that fails: the new key is deleted again, the old one keeps working.
    server.inject(
        Fault::internal_error(100)
            .method("PATCH")
            .path_contains("/secrets/"),
    );
    let failed = run(args(&[
        "apply",
        "-f",
        file,
        "--now",
        &later,
        "--auto-approve",
        "-v",
    ]))
    .await;
    assert_eq!(failed.status.code(), Some(1), "{}", shown(&failed));
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("was deleted again"),
        "{}",
        shown(&failed)
    );
    assert_eq!(keys(moto).await, [(new_id.clone(), "Active".to_string())]);
    server.clear_faults();
    let converged = run(args(&[
        "apply",
        "-f",
        file,
        "--now",
        &later,
        "--auto-approve",
    ]))
    .await;
    assert_eq!(converged.status.code(), Some(0), "{}", shown(&converged));
    let live = keys(moto).await;
    assert_eq!(live.len(), 2, "{live:?}");
    let (last_id, last_secret) = delivered(server);
    assert!(live.contains(&(last_id, "Active".to_string())), "{live:?}");
    never_shown(
        &new_secret,
        &[&rotated, &settled, &plan, &deleted, &failed, &converged],
        &[],
    );
    never_shown(&last_secret, &[&converged], &[]);
}

/// The keys IAM lists for `eksuser`, as (id, status), in id order.
async fn sorted_keys(moto: &Moto) -> Vec<(String, String)> {
    let mut live = keys(moto).await;
    live.sort();
    live
}

fn pair(a: (&str, &str), b: (&str, &str)) -> Vec<(String, String)> {
    let mut both = vec![
        (a.0.to_string(), a.1.to_string()),
        (b.0.to_string(), b.1.to_string()),
    ];
    both.sort();
    both
}

/// A key made by hand is never used: beside the delivered key it is deactivated; as the only
/// active key (the delivered one deleted by hand) it is replaced by a new key, delivered.
/// Converged states plan and drift nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_no_destination_holds_is_reported_and_replaced_never_used() {
    let Some((rig, first, (delivered_id, delivered_secret))) = Rig::applied().await else {
        return;
    };
    let (plan, apply) = (PLAN, APPLY);
    // Converged: no false positive from plan or drift.
    let converged = rig.expect(0, &plan).await;
    let in_sync = rig.expect(0, &["drift", "-f", "{file}"]).await;

    // A second key made by hand: the destinations hold the delivered one.
    let iam = rig.moto.clients().iam;
    let (hand_id, hand_secret) = key_by_hand(&rig.moto, "eksuser").await;
    let undelivered = format!(
        "{} is held by no destination: not delivered by accessctl",
        masked(&hand_id)
    );
    let rotate = "~ iam.access-key.eksuser";
    let reported = rig.says(&plan, &[rotate, &undelivered]).await;
    let drifted = rig.says(&["drift", "-f", "{file}"], &[&undelivered]).await;
    let deactivated = rig.expect(0, &apply).await;
    assert_eq!(
        sorted_keys(&rig.moto).await,
        pair((&delivered_id, "Active"), (&hand_id, "Inactive"))
    );
    assert_eq!(delivered(&rig.server).0, delivered_id);
    let settled = rig.expect(0, &plan).await;

    // The delivered key deleted by hand, the hand-made one active again: the only active key
    // is held by no destination, so a new key replaces it.
    iam.delete_access_key()
        .user_name("eksuser")
        .access_key_id(&delivered_id)
        .send()
        .await
        .expect("DeleteAccessKey");
    iam.update_access_key()
        .user_name("eksuser")
        .access_key_id(&hand_id)
        .status(aws_sdk_iam::types::StatusType::Active)
        .send()
        .await
        .expect("UpdateAccessKey");
    let replacing = rig.says(&plan, &[rotate, &undelivered]).await;
    let replaced = rig.expect(0, &apply).await;
    let (_, new_secret) = rig.replaced(&hand_id).await;
    let done = rig.expect(0, &plan).await;
    let quiet = rig.expect(0, &["drift", "-f", "{file}"]).await;

    let outputs = [
        &first,
        &converged,
        &in_sync,
        &reported,
        &drifted,
        &deactivated,
        &settled,
        &replacing,
        &replaced,
        &done,
        &quiet,
    ];
    for secret in [&delivered_secret, &hand_secret, &new_secret] {
        never_shown(secret, &outputs, &[]);
    }
    secrets_read_as_metadata_only(&rig.server);
}

/// A destination deleted by hand cannot get the key again (its secret is never read back): the
/// next plan rotates, naming the destination; the plan JSON and the snapshot carry what each
/// destination holds, ids masked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_deleted_by_hand_gets_a_new_key_naming_it() {
    let Some((rig, first, (first_id, first_secret))) = Rig::applied().await else {
        return;
    };
    let (plan, apply) = (PLAN, APPLY);
    assert_eq!(
        managed_secret(&rig.moto).await,
        (first_id.clone(), Some(masked(&first_id)))
    );
    rig.expect(0, &plan).await;

    let secrets: kube::Api<Secret> = kube::Api::namespaced(rig.server.client().await, "ci");
    secrets
        .delete("eksuser-aws", &kube::api::DeleteParams::default())
        .await
        .expect("delete the Secret");
    let missing = format!(
        "Secret ci/eksuser-aws in cluster `demo` is missing: a new key replaces {} (a secret cannot be read back)",
        masked(&first_id)
    );
    let rotating = rig
        .says(&plan, &["~ iam.access-key.eksuser", &missing])
        .await;
    let json = rig.expect(0, &["plan", "-f", "{file}", "-o", "json"]).await;
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("plan JSON");
    let change = &value["changes"][0];
    assert_eq!(change["address"], "iam.access-key.eksuser", "{value:#}");
    assert_eq!(
        change["before"]["held"],
        serde_json::json!([
            {"destination": {"secret": {"cluster": "demo", "namespace": "ci", "name": "eksuser-aws"}}, "exists": false},
            {"destination": {"secretsManager": {"name": "ci/eksuser", "region": "us-east-1"}}, "exists": true, "key": masked(&first_id)},
        ]),
        "{value:#}"
    );
    assert!(
        !stdout(&json).contains(&first_id),
        "the plan shows a whole key id: {}",
        shown(&json)
    );
    let rotated = rig.expect(0, &apply).await;
    let (new_id, new_secret) = rig.replaced(&first_id).await;
    let settled = rig.expect(0, &plan).await;

    // The snapshot holds what each destination holds, masked; a plan from it agrees.
    let snapshot = rig.dir.path().join("live.json").display().to_string();
    let snap = rig
        .expect(0, &["snapshot", "-f", "{file}", "--out", &snapshot])
        .await;
    let text = std::fs::read_to_string(&snapshot).expect("snapshot");
    let live: serde_json::Value = serde_json::from_str(&text).expect("snapshot JSON");
    let held = &live["iam"]["access_keys"]["eksuser"]["held"];
    assert_eq!(held[0]["key"], masked(&new_id), "{held:#}");
    assert_eq!(held[1]["key"], masked(&new_id), "{held:#}");
    assert!(!text.contains(&new_id), "the snapshot holds a whole key id");
    let offline = rig
        .expect(
            0,
            &[
                "plan",
                "-f",
                "{file}",
                "--live-state",
                &snapshot,
                "--detailed-exitcode",
            ],
        )
        .await;

    let outputs = [
        &first, &rotating, &json, &rotated, &settled, &snap, &offline,
    ];
    for secret in [&first_secret, &new_secret] {
        never_shown(secret, &outputs, &[Path::new(&snapshot)]);
    }
    secrets_read_as_metadata_only(&rig.server);
}

/// Makes an access key for `user` by hand: its id and secret.
async fn key_by_hand(moto: &Moto, user: &str) -> (String, String) {
    let made = moto
        .clients()
        .iam
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .expect("CreateAccessKey");
    let key = made.access_key().expect("a key");
    (
        key.access_key_id().to_string(),
        key.secret_access_key().to_string(),
    )
}

/// Drift lists the keys of users that declare no `accessKeys` as unmanaged grants, with their
/// age and last use, in every format, and exits 2 as for any unmanaged grant: the users of the
/// file, and users not in it that drift reports for administrator access; nobody else's. The
/// plan reads none of them and has nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_lists_the_keys_of_users_without_access_keys_as_unmanaged_grants() {
    let developer = "\n    developer:\n      policies: [aws:ReadOnlyAccess]";
    let Some(rig) = Rig::with(&access_yaml_with(developer)).await else {
        return;
    };
    rig.expect(0, &["apply", "-f", "{file}", "--auto-approve"])
        .await;
    let in_sync = rig.expect(0, &["drift", "-f", "{file}"]).await;
    let iam = rig.moto.clients().iam;
    for user in ["legacy-admin", "bystander"] {
        iam.create_user()
            .user_name(user)
            .send()
            .await
            .expect("CreateUser");
    }
    iam.attach_user_policy()
        .user_name("legacy-admin")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .expect("AttachUserPolicy");
    let (developer_id, developer_secret) = key_by_hand(&rig.moto, "developer").await;
    let (admin_id, admin_secret) = key_by_hand(&rig.moto, "legacy-admin").await;
    let (bystander_id, bystander_secret) = key_by_hand(&rig.moto, "bystander").await;

    // The plan reads none of these keys and has nothing to do.
    let plan = rig
        .expect(0, &["plan", "-f", "{file}", "--detailed-exitcode"])
        .await;
    let later = days_ahead(30);
    let line = |user: &str, whose: &str, id: &str| {
        format!(
            "  ! iam.access-key.{user}\n      IAM user `{user}` {whose}: 1 access key not managed by accessctl: {} active, 30 days old, never used\n",
            masked(id)
        )
    };
    let text = rig
        .says(
            &["drift", "-f", "{file}", "--now", &later],
            &[
                &line("developer", "declares no `accessKeys`", &developer_id),
                &line("legacy-admin", "is not in access.yaml", &admin_id),
                "  ! iam.user.legacy-admin\n",
            ],
        )
        .await;
    for other in ["bystander", "eksuser"] {
        assert!(!stdout(&text).contains(other), "{}", shown(&text));
    }
    let row = format!(
        "| `iam.access-key.developer` | `{} active, 30 days old, never used` |",
        masked(&developer_id)
    );
    let markdown = rig
        .says(
            &["drift", "-f", "{file}", "--now", &later, "-o", "markdown"],
            &[&row],
        )
        .await;
    let json = rig
        .expect(2, &["drift", "-f", "{file}", "--now", &later, "-o", "json"])
        .await;
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("drift JSON");
    assert_eq!(report["in_sync"], false);
    let found = report["unmanaged"]
        .as_array()
        .expect("unmanaged")
        .iter()
        .find(|entry| entry["address"] == "iam.access-key.developer")
        .expect("the developer's keys");
    assert_eq!(
        found["keys"],
        serde_json::json!([{
            "id": masked(&developer_id),
            "status": "Active",
            "age_days": 30,
            "created": found["keys"][0]["created"],
        }]),
        "{report:#}"
    );
    for output in [&text, &markdown, &json] {
        for id in [&developer_id, &admin_id, &bystander_id] {
            assert!(
                !stdout(output).contains(id.as_str()),
                "a whole key id: {}",
                shown(output)
            );
        }
    }
    never_shown(
        &developer_secret,
        &[&in_sync, &plan, &text, &markdown, &json],
        &[],
    );
    never_shown(&admin_secret, &[&text, &markdown, &json], &[]);
    never_shown(&bystander_secret, &[&text, &markdown, &json], &[]);
}

/// A plan that deletes a user lists the keys IAM deletes with it by masked id only, in every
/// format and in a saved plan: a key id is not a secret, but accessctl shows no whole one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_users_keys_are_listed_masked() {
    let leaving = "\n    leaving:\n      policies: [aws:ReadOnlyAccess]";
    let Some(rig) = Rig::with(&access_yaml_with(leaving)).await else {
        return;
    };
    rig.expect(0, &["apply", "-f", "{file}", "--auto-approve"])
        .await;
    let (id, secret) = key_by_hand(&rig.moto, "leaving").await;
    std::fs::write(&rig.file, access_yaml()).expect("write access.yaml");
    let saved = rig.dir.path().join("plan.json").display().to_string();
    let mut outputs = Vec::new();
    for format in ["text", "json", "markdown"] {
        let output = rig
            .says(
                &["plan", "-f", "{file}", "--detailed-exitcode", "-o", format],
                &[&masked(&id)],
            )
            .await;
        outputs.push(output);
    }
    outputs.push(
        rig.expect(
            2,
            &[
                "plan",
                "-f",
                "{file}",
                "--detailed-exitcode",
                "--out",
                &saved,
            ],
        )
        .await,
    );
    let outputs: Vec<&Output> = outputs.iter().collect();
    never_shown(&id, &outputs, &[Path::new(&saved)]);
    never_shown(&secret, &outputs, &[Path::new(&saved)]);
}

/// The Secrets Manager secret deleted by hand (scheduled for deletion, within its recovery
/// window) holds nothing anyone can read: the next plan rotates, naming it, and apply restores
/// the secret and writes the new key into it; then nothing is left to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secrets_manager_secret_deleted_by_hand_is_restored_with_a_new_key() {
    let Some((rig, first, (first_id, first_secret))) = Rig::applied().await else {
        return;
    };
    let (plan, apply) = (PLAN, APPLY);
    rig.expect(0, &plan).await;
    aws_sdk_secretsmanager::Client::new(&rig.moto.sdk_config())
        .delete_secret()
        .secret_id("ci/eksuser")
        .recovery_window_in_days(7)
        .send()
        .await
        .expect("DeleteSecret");
    let missing = format!(
        "Secrets Manager secret `ci/eksuser` (us-east-1) is missing: a new key replaces {}",
        masked(&first_id)
    );
    let rotating = rig
        .says(&plan, &["~ iam.access-key.eksuser", &missing])
        .await;
    let rotated = rig.expect(0, &apply).await;
    let (_, new_secret) = rig.replaced(&first_id).await;
    let settled = rig.expect(0, &plan).await;
    for secret in [&first_secret, &new_secret] {
        never_shown(secret, &[&first, &rotating, &rotated, &settled], &[]);
    }
}
