//! Pull requests, pipelines and drift through the binary, on moto (IAM, STS, EKS) and the test
//! API server, reached only through the environment as in a CI job: `plan --out` saves a plan,
//! `apply plan.json` refuses a plan edited by hand or made stale by an out-of-band change to an
//! object it touches, and applies it when only other objects changed; `drift` exits 0, 2 and 1
//! in its three situations and reports a `system:masters` mapping added by hand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use accessctl::model::State;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::Value;
use tokio::runtime::Handle;

use crate::e2e::first_cluster;
use crate::kube_apply::seed_cluster;
use crate::moto::Moto;
use crate::support::binary::{self, shown};
use crate::support::kube_server::{KubeServer, TOKEN};

/// A ClusterRole, a binding, three policies, a group, two users, a role, two aws-auth entries;
/// live: a node role entry in aws-auth.
const EXAMPLE: &str = "001-reader-group-and-eks-admin-role";
/// Credentials that must never reach a plan file.
const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn example_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("specs/examples")
        .join(name)
}

fn accessctl(args: &[&str], moto: &Moto, kubeconfig: &Path) -> Output {
    let mut command = binary::command(&moto.endpoint(), kubeconfig);
    command
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    binary::run(command, args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Edits the aws-auth ConfigMap's data as a person with kubectl would (GET, change, PUT).
fn edit_aws_auth(
    handle: &Handle,
    kube: &kube::Client,
    edit: impl FnOnce(&mut BTreeMap<String, String>),
) {
    handle.block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(kube.clone(), "kube-system");
        let mut map = api.get("aws-auth").await.expect("aws-auth exists");
        let mut data = map.data.take().unwrap_or_default();
        edit(&mut data);
        map.data = Some(data);
        api.replace("aws-auth", &PostParams::default(), &map)
            .await
            .expect("aws-auth replaced");
    });
}

fn aws_auth_data(handle: &Handle, kube: &kube::Client) -> BTreeMap<String, String> {
    handle.block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(kube.clone(), "kube-system");
        api.get("aws-auth")
            .await
            .expect("aws-auth exists")
            .data
            .unwrap_or_default()
    })
}

fn user_exists(handle: &Handle, iam: &aws_sdk_iam::Client, name: &str) -> bool {
    handle
        .block_on(iam.get_user().user_name(name).send())
        .is_ok()
}

fn map_users_block(arn: &str, username: &str, group: &str) -> String {
    format!("- userarn: {arn}\n  username: {username}\n  groups:\n  - {group}\n")
}

fn append(data: &mut BTreeMap<String, String>, key: &str, block: &str) {
    let text = data.entry(key.to_string()).or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(block);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_plans_refuse_stale_and_edited_and_drift_reports() {
    let live: State = accessctl::snapshot::read(&example_dir(EXAMPLE).join("live.json"))
        .expect("example snapshot");
    let account = live.account.clone().expect("example account");
    let (cluster_name, cluster, region) = first_cluster(&live);
    let server = KubeServer::start().await;
    seed_cluster(&server, &cluster);
    let kube = server.client().await;
    let kubeconfig = server.kubeconfig_path().to_path_buf();
    let file = example_dir(EXAMPLE)
        .join("access.yaml")
        .display()
        .to_string();
    let handle = Handle::current();

    let outcome = tokio::task::spawn_blocking(move || {
        let moto = Moto::with_eks_cluster(&account, &cluster_name, &region);
        let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
        let run = |args: &[&str]| accessctl(args, &moto, &kubeconfig);
        let dir = tempfile::tempdir().expect("tempdir");
        let saved = dir.path().join("plan.json").display().to_string();
        let user_arn = |name: &str| format!("arn:aws:iam::{account}:user/{name}");
        let eks_admin = format!("arn:aws:iam::{account}:role/eks-admin");

        // plan --out: the saved plan, and the plan itself on stdout.
        let planned = run(&["plan", "-f", &file, "--out", &saved, "-o", "json"]);
        assert_eq!(planned.status.code(), Some(0), "{}", shown(&planned));
        let plan: Value = serde_json::from_str(&stdout(&planned)).expect("plan JSON on stdout");
        let text = std::fs::read_to_string(&saved).expect("saved plan written");
        let envelope: Value = serde_json::from_str(&text).expect("saved plan is JSON");
        assert_eq!(envelope["kind"], "accessctl-saved-plan");
        assert_eq!(envelope["plan"]["changes"], plan["changes"], "saved = shown");
        assert_eq!(
            envelope["fingerprints"][format!("cluster.demo.aws-auth[{eks_admin}]")],
            "absent"
        );
        for secret in [ACCESS_KEY, SECRET_KEY, TOKEN] {
            assert!(!text.contains(secret), "the plan file holds `{secret}`");
        }

        // Edited by hand, anywhere: refused before anything is read or changed.
        let bytes = text.as_bytes();
        for position in [0, 1, bytes.len() / 5, bytes.len() / 2, bytes.len() - 3] {
            let mut edited = bytes.to_vec();
            edited[position] ^= 0x01;
            let path = dir.path().join(format!("edited-{position}.json"));
            std::fs::write(&path, &edited).expect("write edited plan");
            let path = path.display().to_string();
            let refused = run(&["apply", &path, "--auto-approve"]);
            assert_eq!(refused.status.code(), Some(1), "{}", shown(&refused));
            assert!(
                stderr(&refused).contains("was edited"),
                "byte {position}: {}",
                shown(&refused)
            );
        }
        assert!(!user_exists(&handle, &iam, "developer"));

        // No terminal and no --auto-approve: refused, nothing changed.
        let unconfirmed = run(&["apply", &saved]);
        assert_eq!(unconfirmed.status.code(), Some(1), "{}", shown(&unconfirmed));
        assert!(stderr(&unconfirmed).contains("--auto-approve"), "{}", shown(&unconfirmed));
        assert!(!user_exists(&handle, &iam, "developer"));

        // Drift before apply: the plan's changes.
        let drifted = run(&["drift", "-f", &file, "-o", "json"]);
        assert_eq!(drifted.status.code(), Some(2), "{}", shown(&drifted));
        let report: Value = serde_json::from_str(&stdout(&drifted)).expect("drift JSON");
        assert_eq!(report["in_sync"], false);
        assert_eq!(
            report["changes"].as_array().map(Vec::len),
            plan["changes"].as_array().map(Vec::len)
        );

        // Out of band, two objects the plan touches: refused, each named.
        let original = aws_auth_data(&handle, &kube);
        handle
            .block_on(iam.create_user().user_name("manager").send())
            .expect("create manager by hand");
        edit_aws_auth(&handle, &kube, |data| {
            append(
                data,
                "mapRoles",
                &format!(
                    "- rolearn: {eks_admin}\n  username: someone-else\n  groups:\n  - system:masters\n"
                ),
            );
        });
        let stale = run(&["apply", &saved, "--auto-approve"]);
        assert_eq!(stale.status.code(), Some(1), "{}", shown(&stale));
        let message = stderr(&stale);
        assert!(message.contains("plan is stale"), "{}", shown(&stale));
        assert!(message.contains("`iam.user.manager`"), "{}", shown(&stale));
        assert!(
            message.contains(&format!("`cluster.demo.aws-auth[{eks_admin}]`")),
            "{}",
            shown(&stale)
        );
        assert!(!message.contains("iam.user.developer"), "{}", shown(&stale));
        assert!(!user_exists(&handle, &iam, "developer"), "nothing applied");

        // Undone; then changes to objects the plan does not touch: applied.
        handle
            .block_on(iam.delete_user().user_name("manager").send())
            .expect("delete manager");
        edit_aws_auth(&handle, &kube, |data| *data = original.clone());
        handle
            .block_on(iam.create_user().user_name("bystander").send())
            .expect("create bystander by hand");
        let bystander = map_users_block(&user_arn("bystander"), "bystander", "viewers");
        edit_aws_auth(&handle, &kube, |data| append(data, "mapUsers", &bystander));
        let applied = run(&["apply", "--plan", &saved, "--auto-approve", "-f", &file]);
        assert_eq!(applied.status.code(), Some(0), "{}", shown(&applied));
        assert!(stderr(&applied).contains("Apply complete"), "{}", shown(&applied));
        assert!(user_exists(&handle, &iam, "developer"));
        let again = run(&["plan", "-f", &file, "--detailed-exitcode"]);
        assert_eq!(again.status.code(), Some(0), "{}", shown(&again));

        // The same saved plan again: everything it touches changed since (it was applied).
        let reapplied = run(&["apply", &saved, "--auto-approve"]);
        assert_eq!(reapplied.status.code(), Some(1), "{}", shown(&reapplied));
        assert!(stderr(&reapplied).contains("plan is stale"), "{}", shown(&reapplied));

        // Drift: the bystander's hand-made mapping grants access outside the file.
        let drifted = run(&["drift", "-f", &file]);
        assert_eq!(drifted.status.code(), Some(2), "{}", shown(&drifted));
        assert!(stdout(&drifted).contains(&user_arn("bystander")), "{}", shown(&drifted));
        edit_aws_auth(&handle, &kube, |data| {
            if let Some(users) = data.get_mut("mapUsers") {
                *users = users.replace(&bystander, "");
            }
        });
        let clean = run(&["drift", "-f", &file]);
        assert_eq!(clean.status.code(), Some(0), "{}", shown(&clean));
        assert!(stdout(&clean).contains("No drift"), "{}", shown(&clean));

        // A system:masters mapping added by hand is reported, in every format.
        let intruder = user_arn("intruder");
        edit_aws_auth(&handle, &kube, |data| {
            append(
                data,
                "mapUsers",
                &map_users_block(&intruder, "intruder", "system:masters"),
            );
        });
        let text_report = run(&["drift", "-f", &file]);
        assert_eq!(text_report.status.code(), Some(2), "{}", shown(&text_report));
        let shown_text = stdout(&text_report);
        assert!(shown_text.contains(&intruder), "{}", shown(&text_report));
        assert!(shown_text.contains("system:masters"), "{}", shown(&text_report));
        assert!(shown_text.contains("Live state matches access.yaml"), "{shown_text}");
        let json_report = run(&["drift", "-f", &file, "-o", "json"]);
        assert_eq!(json_report.status.code(), Some(2), "{}", shown(&json_report));
        let report: Value = serde_json::from_str(&stdout(&json_report)).expect("drift JSON");
        assert_eq!(report["changes"], Value::Array(Vec::new()));
        let unmanaged = report["unmanaged"].as_array().expect("unmanaged list");
        assert_eq!(unmanaged.len(), 1, "{report}");
        assert_eq!(
            unmanaged[0]["address"],
            format!("cluster.demo.aws-auth[{intruder}]")
        );
        assert_eq!(unmanaged[0]["grants"], serde_json::json!(["system:masters"]));
        let markdown = run(&["drift", "-f", &file, "-o", "markdown"]);
        assert_eq!(markdown.status.code(), Some(2), "{}", shown(&markdown));
        assert!(stdout(&markdown).contains(&format!("`cluster.demo.aws-auth[{intruder}]`")));

        // An error (no cluster to read): 1, and nothing on stdout.
        let missing = dir.path().join("no-kubeconfig");
        let broken = accessctl(&["drift", "-f", &file], &moto, &missing);
        assert_eq!(broken.status.code(), Some(1), "{}", shown(&broken));
        assert!(stdout(&broken).is_empty(), "{}", shown(&broken));
    })
    .await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

#[test]
fn a_saved_plan_from_another_access_yaml_is_refused_when_f_is_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let example = example_dir(EXAMPLE);
    let saved = dir.path().join("plan.json");
    let run = |args: &[&str]| binary::run(binary::offline(), args);
    let file = example.join("access.yaml").display().to_string();
    let live = example.join("live.json").display().to_string();
    let saved_text = saved.display().to_string();
    let planned = run(&[
        "plan",
        "-f",
        &file,
        "--live-state",
        &live,
        "--out",
        &saved_text,
    ]);
    assert_eq!(planned.status.code(), Some(0), "{}", shown(&planned));
    let other = example_dir("002-role-mappings")
        .join("access.yaml")
        .display()
        .to_string();
    let refused = run(&["apply", &saved_text, "-f", &other, "--auto-approve"]);
    assert_eq!(refused.status.code(), Some(1), "{}", shown(&refused));
    assert!(
        stderr(&refused).contains("is not the access.yaml the plan was made from"),
        "{}",
        shown(&refused)
    );
}

/// The saved plan's digest covers the policy files access.yaml names with `file:`, not only
/// access.yaml: `apply plan.json -f access.yaml` refuses a plan made before a policy file changed.
#[test]
fn a_saved_plan_is_refused_when_a_policy_file_it_was_made_from_changed() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("policies")).expect("policies");
    let access = dir.path().join("access.yaml");
    std::fs::write(
        &access,
        "version: 1\naccount: \"424432388155\"\niam:\n  policies:\n    reader:\n      file: policies/reader.json\n",
    )
    .expect("access.yaml");
    let policy = dir.path().join("policies/reader.json");
    let document = |action: &str| {
        format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "{action}", "Resource": "*"}}]}}"#
        )
    };
    std::fs::write(&policy, document("eks:DescribeCluster")).expect("policy");
    let file = access.display().to_string();
    let live = example_dir(EXAMPLE).join("live.json").display().to_string();
    let saved = dir.path().join("plan.json").display().to_string();
    let planned = binary::run(
        binary::offline(),
        &["plan", "-f", &file, "--live-state", &live, "--out", &saved],
    );
    assert_eq!(
        planned.status.code(),
        Some(0),
        "{}",
        binary::shown(&planned)
    );
    // The same files: accepted as the plan's source (apply then goes on to read live state,
    // which the offline binary cannot reach).
    let same = binary::run(
        binary::offline(),
        &["apply", &saved, "-f", &file, "--auto-approve"],
    );
    assert!(
        !stderr(&same).contains("is not the access.yaml the plan was made from"),
        "{}",
        binary::shown(&same)
    );
    std::fs::write(&policy, document("eks:ListClusters")).expect("policy");
    let refused = binary::run(
        binary::offline(),
        &["apply", &saved, "-f", &file, "--auto-approve"],
    );
    assert_eq!(
        refused.status.code(),
        Some(1),
        "{}",
        binary::shown(&refused)
    );
    let message = stderr(&refused);
    assert!(
        message.contains("is not the access.yaml the plan was made from"),
        "{}",
        binary::shown(&refused)
    );
    assert!(
        message.contains("`policies/reader.json` changed since the plan"),
        "{}",
        binary::shown(&refused)
    );
}

/// The ```yaml blocks of a recipe, each parsed (every document of it) as YAML.
fn recipe_yaml(name: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/recipes")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("recipe");
    let mut documents = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("```yaml\n") {
        let block = &rest[start + "```yaml\n".len()..];
        let end = block.find("```").expect("closed code block");
        let parsed: Vec<Value> = serde_saphyr::from_multiple(&block[..end])
            .unwrap_or_else(|error| panic!("{name}: a YAML block does not parse: {error}"));
        documents.extend(parsed);
        rest = &block[end + 3..];
    }
    assert!(!documents.is_empty(), "{name} has no YAML block");
    documents
}

fn all_text(value: &Value) -> String {
    value.to_string()
}

/// The ```text blocks of a recipe.
fn recipe_text_blocks(name: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/recipes")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("recipe");
    text.split("```text\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap_or_default().to_string())
        .collect()
}

/// The plan text of `file` against snapshot `live`, through the binary.
fn plan_text(file: &str, live: &str) -> String {
    let output = binary::run(
        binary::offline(),
        &["plan", "-f", file, "--live-state", live],
    );
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
    stdout(&output)
}

/// Seed 004 with its key: the recipe declares what the example declares, and every plan line it
/// quotes (create, rotate, grace) is what accessctl prints.
#[test]
fn the_seed_004_key_recipe_is_the_example_and_quotes_real_plans() {
    let name = "seed-004-with-an-access-key.md";
    let recipe = &recipe_yaml(name)[0];
    let example: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(example_dir("004-ci-namespace-deployer").join("access.yaml"))
            .expect("example"),
    )
    .expect("example YAML");
    let user = "/iam/users/my-test-iam-user";
    assert_eq!(recipe.pointer(user), example.pointer(user), "{recipe}");
    let namespaces = "/clusters/my-cluster-1/namespaces";
    assert_eq!(recipe.pointer(namespaces), example.pointer(namespaces));

    let blocks = recipe_text_blocks(name);
    assert_eq!(blocks.len(), 3, "create, rotate, grace: {blocks:?}");
    let created = plan_text(
        "specs/examples/004-ci-namespace-deployer/access.yaml",
        "specs/examples/004-ci-namespace-deployer/live.json",
    );
    assert!(
        created.contains(&blocks[0]),
        "{}\n---\n{created}",
        blocks[0]
    );
    for (block, live) in blocks[1..].iter().zip([
        "tests/fixtures/keys/rotate-live.json",
        "tests/fixtures/keys/grace-live.json",
    ]) {
        let planned = plan_text("tests/fixtures/keys/access.yaml", live);
        for line in block.lines().filter(|line| line.trim() != "...") {
            assert!(planned.contains(line), "{line}\n---\n{planned}");
        }
    }
}

#[test]
fn the_github_actions_recipe_plans_on_pull_requests_and_applies_the_saved_plan() {
    let documents = recipe_yaml("github-actions.md");
    let workflow = &documents[0];
    assert!(workflow["on"]["pull_request"].is_object(), "{workflow}");
    assert_eq!(
        workflow["on"]["push"]["branches"],
        serde_json::json!(["main"])
    );
    let plan = all_text(&workflow["jobs"]["plan"]);
    assert!(plan.contains("--out plan.json"), "{plan}");
    assert!(plan.contains("-o markdown"), "{plan}");
    assert!(plan.contains("<!-- accessctl-plan -->"), "{plan}");
    assert!(plan.contains("upload-artifact"), "{plan}");
    assert!(
        plan.contains("PATCH"),
        "the comment is updated in place: {plan}"
    );
    let apply = all_text(&workflow["jobs"]["apply"]);
    assert!(
        apply.contains("accessctl apply plan.json -f access.yaml --auto-approve"),
        "{apply}"
    );
}

#[test]
fn the_gitlab_recipe_plans_on_merge_requests_and_applies_the_saved_plan() {
    let documents = recipe_yaml("gitlab-ci.md");
    let pipeline = &documents[0];
    let plan = all_text(&pipeline["plan"]);
    assert!(plan.contains("--out plan.json"), "{plan}");
    assert!(plan.contains("merge_request_event"), "{plan}");
    assert_eq!(pipeline["plan"]["artifacts"]["paths"][0], "plan.json");
    let apply = all_text(&pipeline["apply"]);
    assert!(
        apply.contains("accessctl apply plan.json -f access.yaml --auto-approve"),
        "{apply}"
    );
}

#[test]
fn the_cronjob_recipe_runs_drift_as_the_service_account_its_access_yaml_declares() {
    let documents = recipe_yaml("kubernetes-cronjob.md");
    let cronjob = documents
        .iter()
        .find(|document| document["kind"] == "CronJob")
        .expect("a CronJob");
    let pod = &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["containers"][0]["args"][0], "drift");
    let namespace = cronjob["metadata"]["namespace"]
        .as_str()
        .expect("namespace");
    let account = pod["serviceAccountName"].as_str().expect("service account");
    let kubeconfig = documents
        .iter()
        .find(|document| document["kind"] == "ConfigMap")
        .and_then(|document| document["data"]["kubeconfig"].as_str())
        .expect("the kubeconfig ConfigMap");
    let kubeconfig: Value = serde_saphyr::from_str(kubeconfig).expect("kubeconfig parses");
    assert_eq!(kubeconfig["current-context"], "demo");

    // The access.yaml declares that ServiceAccount, its IRSA role and read-only RBAC, and is valid.
    let file = example_dir("drift-cronjob").join("access.yaml");
    let loaded = accessctl::spec::load(&file, &accessctl::spec::Facts { live: None });
    let output = binary::run(
        binary::offline(),
        &["validate", "-f", &file.display().to_string()],
    );
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
    let Ok(loaded) = loaded else {
        panic!("drift-cronjob/access.yaml does not load");
    };
    let desired = loaded.desired.state;
    let cluster = desired.clusters.get("demo").expect("cluster demo");
    let key = format!("{namespace}/{account}");
    let service_account = cluster
        .service_accounts
        .get(&key)
        .expect("the ServiceAccount");
    assert!(
        service_account
            .meta
            .annotations
            .get(accessctl::model::IRSA_ANNOTATION)
            .is_some_and(|arn| arn.ends_with(":role/accessctl-drift")),
        "{service_account:?}"
    );
    for (name, role) in &cluster.cluster_roles {
        for rule in &role.rules {
            assert!(
                rule.verbs
                    .iter()
                    .all(|verb| ["get", "list", "watch"].contains(&verb.as_str())),
                "{name} is not read-only: {rule:?}"
            );
        }
    }
}

/// `specs/plan.schema.json` with its root pointed at `$defs/{definition}`; the plan itself
/// stays reachable through its `#plan` anchor.
fn schema_for(definition: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/plan.schema.json");
    let mut schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("JSON");
    let root = schema.as_object_mut().expect("an object");
    let mut plan = serde_json::Map::new();
    for key in ["type", "properties", "required", "$anchor"] {
        if let Some(value) = root.remove(key) {
            plan.insert(key.to_string(), value);
        }
    }
    root.insert(
        "$ref".into(),
        Value::String(format!("#/$defs/{definition}")),
    );
    if let Some(Value::Object(definitions)) = root.get_mut("$defs") {
        definitions.insert("plan_root".into(), Value::Object(plan));
    }
    jsonschema::validator_for(&schema).expect("schema compiles")
}

#[test]
fn saved_plans_and_drift_reports_match_the_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let saved_schema = schema_for("saved_plan");
    let drift_schema = schema_for("drift_report");
    for example in [EXAMPLE, "all-seeds-combined", "drift-cronjob"] {
        let file = example_dir(example)
            .join("access.yaml")
            .display()
            .to_string();
        let live = example_dir(example).join("live.json").display().to_string();
        let saved = dir.path().join(format!("{example}.json"));
        let saved_text = saved.display().to_string();
        let run = |args: &[&str]| binary::run(binary::offline(), args);
        let planned = run(&[
            "plan",
            "-q",
            "-f",
            &file,
            "--live-state",
            &live,
            "--out",
            &saved_text,
        ]);
        assert_eq!(planned.status.code(), Some(0), "{}", shown(&planned));
        let value: Value =
            serde_json::from_str(&std::fs::read_to_string(&saved).expect("saved")).expect("JSON");
        let errors: Vec<String> = saved_schema
            .iter_errors(&value)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{example}: {errors:#?}");
        // A plain plan is not a saved plan.
        assert!(!saved_schema.is_valid(&value["plan"]), "{example}");

        let drift = run(&["drift", "-f", &file, "--live-state", &live, "-o", "json"]);
        assert_eq!(drift.status.code(), Some(2), "{}", shown(&drift));
        let report: Value = serde_json::from_str(&stdout(&drift)).expect("drift JSON");
        let errors: Vec<String> = drift_schema
            .iter_errors(&report)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{example}: {errors:#?}");
    }
}
