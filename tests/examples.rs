//! The worked examples in `specs/examples/`: every access.yaml is valid against
//! `specs/access.schema.json`, every live.json is a snapshot accessctl reads, and the schema
//! itself rejects the mistakes it exists to catch (typo keys, unquoted accounts, …).
//!
//! Loading the files with `spec::load` and planning them against their snapshots is added once
//! the loader and the planner land; these tests only rely on the schema and the model.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// One directory per runbook in /work/shared/seeds, plus the combination of all five, and
/// that combination split in fragments (`split/`: no access.yaml, a directory of them).
const SCENARIOS: [&str; 9] = [
    "000-service-admins-and-ci-user",
    "001-reader-group-and-eks-admin-role",
    "002-role-mappings",
    "003-irsa-service-account",
    "004-ci-namespace-deployer",
    "all-seeds-combined",
    "drift-cronjob",
    "split",
    "sso-permission-sets",
];

/// The scenario whose access.yaml is split in fragments.
const SPLIT: &str = "split";

/// The schema line of a file `depth` directories below `specs/examples/SCENARIO/`.
fn schema_comment(depth: usize) -> String {
    format!(
        "# yaml-language-server: $schema=../../{}access.schema.json",
        "../".repeat(depth)
    )
}

/// The access.yaml of a scenario, or every fragment of a split one (sorted, as `-f DIR`
/// reads them), each with its depth below the scenario's directory.
fn access_files(dir: &Path) -> Vec<(PathBuf, usize)> {
    let single = dir.join("access.yaml");
    if single.is_file() {
        return vec![(single, 0)];
    }
    fn walk(dir: &Path, depth: usize, found: &mut Vec<(PathBuf, usize)>) {
        for entry in std::fs::read_dir(dir).expect("a scenario directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, depth + 1, found);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                found.push((path, depth));
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, 0, &mut found);
    found.sort();
    found
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn examples_dir() -> PathBuf {
    root().join("specs").join("examples")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// Every scenario directory on disk, sorted.
fn scenario_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("specs/examples exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn name_of(dir: &Path) -> String {
    dir.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn schema() -> Value {
    serde_json::from_str(&read(&root().join("specs").join("access.schema.json")))
        .expect("access.schema.json is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema())
        .expect("access.schema.json compiles")
}

/// YAML as accessctl reads it (docs/decisions.md): YAML 1.2 booleans only, numbers written
/// with leading zeros kept as text, duplicate keys an error.
fn parse_yaml(text: &str) -> Result<Value, serde_saphyr::Error> {
    let options = serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
    };
    serde_saphyr::from_str_with_options::<Value>(text, options)
}

fn yaml(text: &str) -> Value {
    parse_yaml(text).expect("valid YAML")
}

fn access_yaml(scenario: &str) -> Value {
    yaml(&read(&examples_dir().join(scenario).join("access.yaml")))
}

/// The schema's complaints about `instance`, as `path: message` lines.
fn schema_errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

#[test]
fn schema_is_a_valid_draft_2020_12_schema() {
    let schema = schema();
    if let Err(error) = jsonschema::draft202012::meta::validate(&schema) {
        panic!("access.schema.json is not a valid 2020-12 schema: {error}");
    }
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

/// yaml-language-server shows `description` on hover and completion: every property has one.
#[test]
fn every_schema_property_has_a_description() {
    fn walk(node: &Value, path: &str, missing: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                if let Some(Value::Object(properties)) = map.get("properties") {
                    for (name, property) in properties {
                        let described = property
                            .get("description")
                            .and_then(Value::as_str)
                            .is_some_and(|text| !text.trim().is_empty());
                        // `false` forbids a key in a conditional branch: nothing to describe.
                        if !described && property != &Value::Bool(false) && !is_conditional(path) {
                            missing.push(format!("{path}/properties/{name}"));
                        }
                    }
                }
                for (key, child) in map {
                    walk(child, &format!("{path}/{key}"), missing);
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    walk(child, &format!("{path}/{index}"), missing);
                }
            }
            _ => {}
        }
    }
    // `if`/`then` branches only narrow properties described elsewhere.
    fn is_conditional(path: &str) -> bool {
        path.split('/').any(|part| part == "if" || part == "then")
    }
    let mut missing = Vec::new();
    walk(&schema(), "#", &mut missing);
    assert!(
        missing.is_empty(),
        "properties without a description:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_seed_has_a_scenario_and_nothing_else_is_there() {
    let found: Vec<String> = scenario_dirs().iter().map(|dir| name_of(dir)).collect();
    assert_eq!(found, SCENARIOS);
    for scenario in SCENARIOS {
        let dir = examples_dir().join(scenario);
        let path = dir.join("live.json");
        assert!(path.is_file(), "missing {}", path.display());
        let access = dir.join("access.yaml");
        assert_eq!(access.is_file(), scenario != SPLIT, "{}", access.display());
    }
    let fragments: Vec<PathBuf> = access_files(&examples_dir().join(SPLIT))
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    assert_eq!(fragments.len(), 3, "{fragments:?}");
}

#[test]
fn the_examples_readme_lists_every_scenario() {
    let readme = read(&examples_dir().join("README.md"));
    for scenario in SCENARIOS {
        assert!(
            readme.contains(&format!("`{scenario}/`")),
            "specs/examples/README.md does not list `{scenario}/`"
        );
    }
}

#[test]
fn every_access_yaml_matches_the_schema() {
    let validator = validator();
    let mut failures = Vec::new();
    for (path, depth) in scenario_dirs().iter().flat_map(|dir| access_files(dir)) {
        let text = read(&path);
        assert_eq!(
            text.lines().next(),
            Some(schema_comment(depth).as_str()),
            "{} should start with the yaml-language-server schema line",
            path.display()
        );
        let document = match parse_yaml(&text) {
            Ok(document) => document,
            Err(error) => {
                failures.push(format!("{}: not YAML: {error}", path.display()));
                continue;
            }
        };
        for error in schema_errors(&validator, &document) {
            failures.push(format!("{}: {error}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// all-seeds-combined/live.json holds a policy in IAM's percent-encoded form: this needs
/// `PolicyDocument::parse_str` to decode it (src/model/policy.rs).
#[test]
fn every_live_json_is_a_snapshot_of_the_same_account_and_clusters() {
    for dir in scenario_dirs() {
        let path = dir.join("live.json");
        let live = match accessctl::snapshot::parse(&read(&path)) {
            Ok(live) => live,
            Err(error) => panic!("{} does not parse as a snapshot: {error:?}", path.display()),
        };
        // The fragments of a split scenario each give the account and add clusters.
        let fragments: Vec<Value> = access_files(&dir)
            .iter()
            .map(|(path, _)| yaml(&read(path)))
            .collect();
        let mut clusters = serde_json::Map::new();
        for fragment in &fragments {
            for (name, cluster) in fragment["clusters"].as_object().into_iter().flatten() {
                clusters.entry(name.clone()).or_insert(cluster.clone());
            }
        }
        let file = json!({"account": fragments[0]["account"], "clusters": clusters});
        let account = file["account"].as_str().expect("account is a string");
        assert_eq!(live.account.as_deref(), Some(account), "{}", path.display());
        let caller = live.caller.as_ref().expect("live.json names its caller");
        assert_eq!(caller.account, account, "{}", path.display());
        assert!(
            accessctl::model::parse_arn(&caller.arn).is_some(),
            "{}: caller `{}` is not an ARN",
            path.display(),
            caller.arn
        );

        let declared: Vec<&String> = file["clusters"]
            .as_object()
            .map(|clusters| clusters.keys().collect())
            .unwrap_or_default();
        let live_clusters: Vec<&String> = live.clusters.keys().collect();
        assert_eq!(declared, live_clusters, "{}", path.display());
        for (name, cluster) in &live.clusters {
            let aws_auth = cluster
                .aws_auth
                .as_ref()
                .unwrap_or_else(|| panic!("{}: cluster `{name}` has no aws-auth", path.display()));
            assert!(
                aws_auth.entries.iter().any(|entry| entry.is_node_role()),
                "{}: cluster `{name}` should keep a node-role entry in aws-auth",
                path.display()
            );
            for managed in &aws_auth.managed {
                assert!(
                    aws_auth.entries.iter().any(|entry| &entry.arn == managed),
                    "{}: `{managed}` is marked managed but has no aws-auth entry",
                    path.display()
                );
            }
            for namespace in ["default", "kube-system"] {
                assert!(
                    cluster.namespaces.contains_key(namespace),
                    "{}: cluster `{name}` lacks namespace `{namespace}`",
                    path.display()
                );
            }
        }
    }
}

/// The snapshots are also what `specs/snapshot.schema.json` (docs/snapshot.md) describes.
#[test]
fn every_live_json_matches_the_snapshot_schema() {
    let path = root().join("specs").join("snapshot.schema.json");
    let schema: Value = serde_json::from_str(&read(&path)).expect("snapshot.schema.json is JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("snapshot.schema.json compiles");
    let mut failures = Vec::new();
    for dir in scenario_dirs() {
        let path = dir.join("live.json");
        let live: Value = serde_json::from_str(&read(&path)).expect("live.json is JSON");
        for error in schema_errors(&validator, &live) {
            failures.push(format!("{}: {error}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Seed 004's `accessKeys`, where the schema cases change it.
const KEYS: &str = "/iam/users/my-test-iam-user/accessKeys";

/// The runbooks that end with a secret (000: the keys "for the helm config" of each service
/// admin and of `eksuser`; 004: "programmatic access" for the CI user) declare those keys, each
/// delivered to a Secret in a cluster of the file and in a namespace that exists there: one the
/// file declares, or `default`.
#[test]
fn the_seed_examples_declare_the_keys_their_runbooks_hand_out() {
    for (scenario, users) in [
        (
            "000-service-admins-and-ci-user",
            &["s3-admin", "sns-admin", "eksuser"][..],
        ),
        ("004-ci-namespace-deployer", &["my-test-iam-user"][..]),
    ] {
        let document = access_yaml(scenario);
        for user in users {
            let destinations = document["iam"]["users"][user]["accessKeys"]["deliverTo"]
                .as_array()
                .unwrap_or_else(|| panic!("{scenario}: user {user} declares no accessKeys"));
            assert!(!destinations.is_empty(), "{scenario}: {user}");
            for to in destinations {
                let secret = &to["secret"];
                let cluster = secret["cluster"].as_str().unwrap_or_default();
                let namespace = secret["namespace"].as_str().unwrap_or_default();
                let declared = &document["clusters"][cluster];
                assert!(declared.is_object(), "{scenario}: {user}: {to}");
                let namespaces = &declared["namespaces"];
                let exists = namespace == "default"
                    || namespaces.get(namespace).is_some()
                    || namespaces
                        .as_array()
                        .is_some_and(|list| list.iter().any(|n| n == namespace));
                assert!(exists, "{scenario}: {user}: {to}");
            }
        }
    }
}

/// Inserts `value` at `key` in the object at JSON pointer `at`.
fn with(mut document: Value, at: &str, key: &str, value: Value) -> Value {
    document
        .pointer_mut(at)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {at}"))
        .insert(key.to_string(), value);
    document
}

/// Removes `key` from the object at JSON pointer `at`.
fn without(mut document: Value, at: &str, key: &str) -> Value {
    document
        .pointer_mut(at)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {at}"))
        .remove(key);
    document
}

#[test]
fn a_typo_key_fails_the_schema_where_it_is() {
    let validator = validator();
    let base = access_yaml("all-seeds-combined");
    assert!(schema_errors(&validator, &base).is_empty());

    let typos = [
        ("", "acount"),
        ("/iam", "user"),
        ("/iam/users/developer", "group"),
        ("/iam/roles/eks-admin", "policy"),
        ("/iam/roles/eks-admin/trust", "account"),
        (
            "/iam/policies/AmazonEKSAdminPolicy/document/Statement/1",
            "Conditions",
        ),
        ("/clusters/demo", "namespace"),
        ("/clusters/demo/access/0", "usernme"),
        ("/clusters/demo/bindings/reader", "group"),
        ("/clusters/demo/clusterRoles/reader/rules/0", "apiGroup"),
        (
            "/clusters/demo/serviceAccounts/devops-aurora-1~1connections-serviceaccount-s3",
            "role",
        ),
    ];
    for (at, typo) in typos {
        let broken = with(base.clone(), at, typo, json!("x"));
        let errors = schema_errors(&validator, &broken);
        assert!(
            errors
                .iter()
                .any(|error| error.starts_with(&format!("{at}: "))),
            "a `{typo}` key at `{at}` should be reported there, got: {errors:#?}"
        );
    }
}

#[test]
fn a_typo_key_in_a_yaml_file_fails_the_schema() {
    let source = "version: 1\naccount: \"123412341234\"\niam:\n  users:\n    my-test-iam-user:\n      polices: [EKS_CICD_User_Policy]\n";
    let errors = schema_errors(&validator(), &yaml(source));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with("/iam/users/my-test-iam-user: ") && errors[0].contains("polices"),
        "{errors:#?}"
    );
}

/// The YAML details the schema relies on: a quoted account is a string, an unquoted one with
/// a leading zero stays text, `yes` is not a boolean, and a name cannot be declared twice.
#[test]
fn yaml_reading_keeps_accounts_and_booleans_honest() {
    let validator = validator();
    let quoted = yaml("version: 1\naccount: \"012345678901\"\n");
    assert_eq!(quoted["account"], "012345678901");
    assert!(validator.is_valid(&quoted));

    let leading_zero = yaml("version: 1\naccount: 012345678901\n");
    assert_eq!(leading_zero["account"], "012345678901");
    assert!(validator.is_valid(&leading_zero));

    let unquoted = yaml("version: 1\naccount: 424432388155\n");
    assert!(unquoted["account"].is_number());
    assert!(
        !validator.is_valid(&unquoted),
        "an unquoted account must be refused"
    );

    let yes = yaml(
        "version: 1\naccount: \"424432388155\"\nclusters:\n  demo:\n    namespaces:\n      my-test-ns: {adopt: yes}\n",
    );
    assert_eq!(
        yes["clusters"]["demo"]["namespaces"]["my-test-ns"]["adopt"],
        "yes"
    );
    assert!(
        !validator.is_valid(&yes),
        "`adopt: yes` is YAML 1.1; accessctl reads YAML 1.2"
    );

    let twice = "version: 1\naccount: \"424432388155\"\niam:\n  users:\n    developer: {}\n    developer: {groups: [developers]}\n";
    assert!(
        parse_yaml(twice).is_err(),
        "a user declared twice must be an error"
    );
}

#[test]
fn the_schema_rejects_what_the_format_forbids() {
    let validator = validator();
    let base = access_yaml("all-seeds-combined");
    let keys = access_yaml("004-ci-namespace-deployer");
    let access_entries = with(
        base.clone(),
        "/clusters/demo",
        "authentication",
        json!("access-entries"),
    );
    let cases: Vec<(&str, Value)> = vec![
        // YAML reads an unquoted account as a number, which would lose leading zeros.
        (
            "unquoted account",
            with(base.clone(), "", "account", json!(424432388155_u64)),
        ),
        (
            "short account",
            with(base.clone(), "", "account", json!("42443238815")),
        ),
        ("version 2", with(base.clone(), "", "version", json!(2))),
        ("no version", without(base.clone(), "", "version")),
        (
            "unknown partition",
            with(base.clone(), "", "partition", json!("aws-eu")),
        ),
        (
            "policy with both document and file",
            with(
                base.clone(),
                "/iam/policies/EKS_CICD_User_Policy",
                "file",
                json!("cicd.json"),
            ),
        ),
        (
            "policy with neither document nor file",
            without(
                base.clone(),
                "/iam/policies/EKS_CICD_User_Policy",
                "document",
            ),
        ),
        (
            "statement without Effect",
            without(
                base.clone(),
                "/iam/policies/EKS_CICD_User_Policy/document/Statement/0",
                "Effect",
            ),
        ),
        (
            "Effect spelled in lower case",
            with(
                base.clone(),
                "/iam/policies/EKS_CICD_User_Policy/document/Statement/0",
                "Effect",
                json!("allow"),
            ),
        ),
        (
            "unknown policy Version",
            with(
                base.clone(),
                "/iam/policies/EKS_CICD_User_Policy/document",
                "Version",
                json!("2012-10-18"),
            ),
        ),
        (
            "role without trust",
            without(base.clone(), "/iam/roles/eks-admin", "trust"),
        ),
        (
            "trust document mixed with sugar",
            with(
                base.clone(),
                "/iam/roles/eks-admin/trust",
                "document",
                json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "*"}}]}),
            ),
        ),
        (
            "IRSA service account without its cluster",
            with(
                base.clone(),
                "/iam/roles/connections-role-test/trust",
                "serviceAccounts",
                json!(["devops-aurora-1/connections-serviceaccount-s3"]),
            ),
        ),
        (
            "maxSessionDuration over 12 hours",
            with(
                base.clone(),
                "/iam/roles/eks-admin",
                "maxSessionDuration",
                json!(43201),
            ),
        ),
        (
            "reserved managed-by tag",
            with(
                base.clone(),
                "/iam/users/developer",
                "tags",
                json!({"managed-by": "me"}),
            ),
        ),
        (
            "policy reference with a space",
            with(
                base.clone(),
                "/iam/users/manager",
                "policies",
                json!(["Amazon EKS"]),
            ),
        ),
        (
            "access item with two principals",
            with(
                base.clone(),
                "/clusters/demo/access/0",
                "role",
                json!("eks-admin"),
            ),
        ),
        (
            "access item without a principal",
            without(base.clone(), "/clusters/demo/access/0", "user"),
        ),
        (
            "accessPolicies with the aws-auth ConfigMap",
            with(
                base.clone(),
                "/clusters/demo/access/0",
                "accessPolicies",
                json!([{"policy": "AmazonEKSViewPolicy"}]),
            ),
        ),
        ("system:masters with access entries", access_entries.clone()),
        (
            "mapAccounts with access entries",
            with(
                without(
                    with(
                        access_entries.clone(),
                        "/clusters/demo/access/0",
                        "groups",
                        json!(["ci"]),
                    ),
                    "/clusters/demo/access/0",
                    "user",
                ),
                "/clusters/demo/access/0",
                "account",
                json!("424432388155"),
            ),
        ),
        (
            "unknown authentication mode",
            with(
                base.clone(),
                "/clusters/demo",
                "authentication",
                json!("api"),
            ),
        ),
        (
            "cluster name with a dot",
            with(base.clone(), "/clusters", "demo.prod", json!({})),
        ),
        (
            "namespace name in upper case",
            with(
                base.clone(),
                "/clusters/demo/namespaces",
                "MyNamespace",
                json!({}),
            ),
        ),
        (
            "role binding naming both a Role and a ClusterRole",
            with(
                base.clone(),
                "/clusters/demo/bindings/my-test-ns~1my-test-user-role-binding",
                "clusterRole",
                json!("edit"),
            ),
        ),
        (
            "ClusterRoleBinding naming a Role",
            with(
                base.clone(),
                "/clusters/demo/bindings/reader",
                "role",
                json!("reader"),
            ),
        ),
        (
            "rule without verbs",
            without(
                base.clone(),
                "/clusters/demo/clusterRoles/reader/rules/0",
                "verbs",
            ),
        ),
        (
            "Role key without a namespace",
            with(
                base.clone(),
                "/clusters/demo/roles",
                "deployer",
                json!({"rules": []}),
            ),
        ),
        (
            "reserved managed-by label",
            with(
                base.clone(),
                "/clusters/demo/namespaces/my-test-ns",
                "labels",
                json!({"app.kubernetes.io/managed-by": "helm"}),
            ),
        ),
        (
            "OIDC issuer that is not an EKS issuer",
            with(
                base.clone(),
                "/clusters/demo",
                "oidcIssuer",
                json!("https://token.actions.githubusercontent.com"),
            ),
        ),
        // Seed 004's access key, written wrong.
        (
            "accessKeys without deliverTo",
            without(keys.clone(), KEYS, "deliverTo"),
        ),
        (
            "accessKeys delivered nowhere",
            with(keys.clone(), KEYS, "deliverTo", json!([])),
        ),
        (
            "a destination that is both a Secret and Secrets Manager",
            with(
                keys.clone(),
                KEYS,
                "deliverTo",
                json!([{"secret": {"cluster": "my-cluster-1", "namespace": "ci", "name": "k"}, "secretsManager": {"name": "ci/k"}}]),
            ),
        ),
        (
            "a Secret without its namespace",
            with(
                keys.clone(),
                KEYS,
                "deliverTo",
                json!([{"secret": {"cluster": "my-cluster-1", "name": "k"}}]),
            ),
        ),
        (
            "rotateAfterDays 0",
            with(keys.clone(), KEYS, "rotateAfterDays", json!(0)),
        ),
        (
            "graceDays as text",
            with(keys.clone(), KEYS, "graceDays", json!("7")),
        ),
        (
            "a typo in accessKeys",
            with(keys.clone(), KEYS, "rotateAfter", json!(90)),
        ),
    ];
    let mut accepted = Vec::new();
    for (name, document) in &cases {
        if validator.is_valid(document) {
            accepted.push(*name);
        }
    }
    assert!(accepted.is_empty(), "the schema accepted: {accepted:#?}");
}

#[test]
fn the_schema_accepts_the_documented_alternatives() {
    let validator = validator();
    let base = access_yaml("all-seeds-combined");
    let keys = access_yaml("004-ci-namespace-deployer");
    let cases: Vec<(&str, Value)> = vec![
        (
            "accessKeys with the default rotation",
            without(
                without(keys.clone(), KEYS, "rotateAfterDays"),
                KEYS,
                "graceDays",
            ),
        ),
        (
            "a key delivered to a Secret and to Secrets Manager",
            with(
                keys.clone(),
                KEYS,
                "deliverTo",
                json!([
                    {"secret": {"cluster": "my-cluster-1", "namespace": "ci", "name": "k"}},
                    {"secretsManager": {"name": "ci/my-test-iam-user", "region": "us-east-2"}},
                    {"secretsManager": {"name": "ci/my-test-iam-user-copy"}}
                ]),
            ),
        ),
        (
            "namespaces as a list",
            with(
                base.clone(),
                "/clusters/demo",
                "namespaces",
                json!(["my-test-ns", "devops-aurora-1"]),
            ),
        ),
        (
            "policy from a file",
            with(
                without(
                    base.clone(),
                    "/iam/policies/EKS_CICD_User_Policy",
                    "document",
                ),
                "/iam/policies/EKS_CICD_User_Policy",
                "file",
                json!("policies/cicd.json"),
            ),
        ),
        (
            "raw trust document",
            with(
                base.clone(),
                "/iam/roles",
                "node",
                json!({"trust": {"document": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}}}}),
            ),
        ),
        (
            "policy references of every form",
            with(
                base.clone(),
                "/iam/users/manager",
                "policies",
                json!([
                    "AmazonEKSAssumeEKSAdminPolicy",
                    "aws:service-role/AmazonEBSCSIDriverPolicy",
                    "arn:aws:iam::123456789012:policy/team/SomePolicy"
                ]),
            ),
        ),
        (
            "principals by ARN and by account",
            with(
                base.clone(),
                "/clusters/demo",
                "access",
                json!([
                    {"arn": "arn:aws:iam::424432388155:role/team/deployer", "username": "deployer"},
                    {"role": "arn:aws:iam::424432388155:role/eks-admin", "username": "eks-admin", "groups": ["system:masters"]},
                    {"account": "111122223333"}
                ]),
            ),
        ),
        (
            "access entries with access policies",
            with(
                with(
                    base.clone(),
                    "/clusters/demo",
                    "authentication",
                    json!("access-entries"),
                ),
                "/clusters/demo",
                "access",
                json!([
                    {"role": "eks-admin", "accessPolicies": [{"policy": "AmazonEKSClusterAdminPolicy"}]},
                    {"user": "developer", "groups": ["reader"], "accessPolicies": [{"policy": "AmazonEKSViewPolicy", "namespaces": ["my-test-ns"]}]}
                ]),
            ),
        ),
        (
            "aws-auth username templates",
            with(
                base.clone(),
                "/clusters/demo/access/1",
                "username",
                json!("developer:{{SessionName}}"),
            ),
        ),
        (
            "a RoleBinding to a built-in ClusterRole and service accounts",
            with(
                base.clone(),
                "/clusters/demo/bindings",
                "my-test-ns/ci-edit",
                json!({"clusterRole": "edit", "serviceAccounts": ["ci", "devops-aurora-1/connections-serviceaccount-s3"]}),
            ),
        ),
        (
            "file-level oidcIssuer",
            with(
                base.clone(),
                "/clusters/demo",
                "oidcIssuer",
                json!(
                    "https://oidc.eks.us-east-1.amazonaws.com/id/5C1B3F7E9A2D4C6B8E0F1A3B5D7C9E2F"
                ),
            ),
        ),
    ];
    let mut rejected = Vec::new();
    for (name, document) in &cases {
        let errors = schema_errors(&validator, document);
        if !errors.is_empty() {
            rejected.push(format!("{name}: {errors:#?}"));
        }
    }
    assert!(
        rejected.is_empty(),
        "the schema rejected:\n{}",
        rejected.join("\n")
    );
}

/// `role:NAME` in a `Resource` of the combined file, expanded the way the loader does.
fn expand_short_forms(value: &Value, account: &str) -> Value {
    match value {
        Value::String(text) => match text.strip_prefix("role:") {
            Some(name) => Value::String(format!("arn:aws:iam::{account}:role/{name}")),
            None => value.clone(),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| expand_short_forms(item, account))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), expand_short_forms(item, account)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The combined snapshot's owned policies are the file's documents as IAM returns them; one
/// of them in IAM's percent-encoded, reordered form. None may show as a change.
#[test]
fn owned_policies_in_the_combined_snapshot_equal_the_file() {
    use accessctl::model::{DocumentKind, PolicyDocument};

    let dir = examples_dir().join("all-seeds-combined");
    let raw_live: Value = serde_json::from_str(&read(&dir.join("live.json"))).expect("JSON");
    let encoded = raw_live["iam"]["policies"]["AmazonEKSAdminPolicy"]["document"]
        .as_str()
        .expect("AmazonEKSAdminPolicy is stored as IAM returns it: a percent-encoded string");
    assert!(encoded.starts_with("%7B"), "{encoded}");

    let live = accessctl::snapshot::parse(&read(&dir.join("live.json"))).expect("a snapshot");
    let file = access_yaml("all-seeds-combined");
    let account = file["account"].as_str().expect("account");
    let policies = file["iam"]["policies"].as_object().expect("policies");
    assert!(!policies.is_empty());
    for (name, policy) in policies {
        let written = expand_short_forms(&policy["document"], account);
        let desired = PolicyDocument::from_value(&written, DocumentKind::Identity)
            .unwrap_or_else(|errors| panic!("{name}: {errors:?}"));
        let actual = &live.iam.policies[name];
        assert_eq!(
            &desired, &actual.document,
            "{name}: the snapshot's document differs from the file's"
        );
        // Owned by path: the live read returns no policy tags.
        assert!(
            actual.path.starts_with("/accessctl/"),
            "{name} should be owned (under `/accessctl/`), not at `{}`",
            actual.path
        );
        assert!(
            actual.tags.is_empty(),
            "{name}: snapshots carry no policy tags"
        );
    }
}

/// The federation trust sugar (`githubActions`, `gitlab`, `gitlabIssuer`) is in the schema, and
/// the schema refuses what the loader refuses where a schema can say it.
#[test]
fn the_schema_knows_the_federation_trust_sugar() {
    let validator = validator();
    let file = |trust: Value| {
        json!({
            "version": 1,
            "account": "111122223333",
            "iam": {"roles": {"ci": {"trust": trust}}},
        })
    };
    let valid = [
        json!({"githubActions": [{"repo": "org/app", "ref": "refs/heads/main"}, {"repo": "org/app", "environment": "prod"}]}),
        json!({"gitlab": [{"project": "group/sub/app", "ref": "main"}, {"project": "group/app", "tag": "v1"}]}),
        json!({"gitlab": [{"project": "group/app", "ref": "main"}], "gitlabIssuer": "https://gitlab.example.com"}),
    ];
    for trust in valid {
        let errors = schema_errors(&validator, &file(trust.clone()));
        assert!(errors.is_empty(), "{trust}: {errors:?}");
    }
    let invalid = [
        json!({"githubActions": [{"ref": "refs/heads/main"}]}),
        json!({"githubActions": [{"repo": "org/app", "ref": "main"}]}),
        json!({"githubActions": [{"repo": "org/app", "ref": "refs/heads/main", "environment": "prod"}]}),
        json!({"githubActions": [{"repo": "org/app"}]}),
        json!({"githubActions": [{"repo": "app", "ref": "refs/heads/main"}]}),
        json!({"gitlab": [{"project": "group/app", "ref": "main", "tag": "v1"}]}),
        json!({"gitlab": [{"project": "group/app", "branch": "main"}]}),
        json!({"gitlab": [{"project": "group/app", "ref": "main"}], "gitlabIssuer": "https://gitlab.example.com/"}),
    ];
    for trust in invalid {
        let errors = schema_errors(&validator, &file(trust.clone()));
        assert!(!errors.is_empty(), "the schema accepts {trust}");
    }
}
