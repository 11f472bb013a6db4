//! EKS end to end through the binary: moto for IAM and STS (`AWS_ENDPOINT_URL`), the in-memory
//! EKS endpoint for access entries and Pod Identity (`AWS_ENDPOINT_URL_EKS`), the test API
//! server for the cluster (`KUBECONFIG`). One cluster goes from aws-auth to access entries in
//! two plans, gets IRSA and Pod Identity, survives a recreated IAM role, and is emptied again;
//! the entries EKS made itself and the node role's aws-auth entry are never touched.

use std::process::Output;

use accessctl::model::{
    AwsAuth, AwsAuthEntry, Cluster, IRSA_ANNOTATION, MapKind, PRINCIPAL_ID_TAG, State,
};
use serde_json::json;

use crate::eks_server::{ACCOUNT, EksServer};
use crate::kube_apply::seed_cluster;
use crate::moto::Moto;
use crate::support::binary;
use crate::support::kube_server::KubeServer;

const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/8A024CF24ADD3925BEFA224C4BDD005B";
const NODE_ROLE: &str = "arn:aws:iam::123456789012:role/eks-nodes";
const CREATOR: &str = "arn:aws:iam::123456789012:role/cluster-creator";
const VIEW: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const ADMIN: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

/// The file: `mode` for the cluster, the reader's groups and namespaces, and whether the
/// workloads (IRSA and Pod Identity) are declared.
fn access_yaml(
    mode: &str,
    reader_groups: &str,
    reader_namespaces: &str,
    workloads: bool,
) -> String {
    let mut text = format!(
        r#"version: 1
account: "{ACCOUNT}"
iam:
  roles:
    admin:
      trust: {{accounts: ["{ACCOUNT}"]}}
    reader:
      trust: {{accounts: ["{ACCOUNT}"]}}
"#
    );
    if workloads {
        text.push_str(
            r#"    uploader:
      trust: {services: [pods.eks.amazonaws.com]}
    irsa-reader:
      trust: {serviceAccounts: [demo/apps/reports]}
"#,
        );
    }
    text.push_str(&format!(
        r#"clusters:
  demo:
    region: us-east-1
    authentication: {mode}
    namespaces: [apps]
    access:
      - role: admin
        groups: [admins]
        accessPolicies: [{{policy: AmazonEKSClusterAdminPolicy}}]
      - role: reader
        username: reader
        groups: {reader_groups}
        accessPolicies: [{{policy: AmazonEKSViewPolicy, namespaces: {reader_namespaces}}}]
"#
    ));
    if workloads {
        text.push_str(
            r#"    serviceAccounts:
      apps/uploader: {podIdentity: uploader}
      apps/reports: {iamRole: irsa-reader}
"#,
        );
    }
    text
}

/// What every test starts: the EKS endpoint with the clusters `clusters` adds, the test API
/// server, moto for IAM and STS, and a directory for access.yaml. `region` sets `AWS_REGION`.
struct World {
    eks: EksServer,
    kube: KubeServer,
    moto: Moto,
    dir: tempfile::TempDir,
    region: Option<&'static str>,
}

impl World {
    async fn start(clusters: impl FnOnce(&EksServer)) -> World {
        let eks = EksServer::start().await;
        clusters(&eks);
        let kube = KubeServer::start().await;
        let moto =
            tokio::task::spawn_blocking(|| Moto::start_with_env(&[("MOTO_ACCOUNT_ID", ACCOUNT)]))
                .await
                .expect("moto starts");
        let dir = tempfile::tempdir().expect("tempdir");
        World {
            eks,
            kube,
            moto,
            dir,
            region: None,
        }
    }

    /// One cluster `demo` in us-east-1 authenticating with `mode`.
    async fn demo(mode: &'static str) -> World {
        World::start(|eks| eks.add_cluster("demo", "us-east-1", Some(mode), Some(ISSUER))).await
    }

    /// `accessctl ARGS` from the directory of access.yaml, with EKS at the test endpoint.
    fn run(&self, args: &[&str]) -> Output {
        let mut command = binary::command(&self.moto.endpoint(), self.kube.kubeconfig_path());
        command
            .env("AWS_ENDPOINT_URL_EKS", self.eks.endpoint())
            .current_dir(self.dir.path());
        if let Some(region) = self.region {
            command.env("AWS_REGION", region);
        }
        tokio::task::block_in_place(|| binary::run(command, args))
    }

    /// `accessctl ARGS`, which must exit with `code`.
    fn exits(&self, args: &[&str], code: i32) -> Output {
        let output = self.run(args);
        assert_eq!(output.status.code(), Some(code), "{}", shown(&output));
        output
    }

    fn write(&self, text: &str) {
        std::fs::write(self.dir.path().join("access.yaml"), text).expect("write access.yaml");
    }

    fn file(&self) -> String {
        self.dir.path().join("access.yaml").display().to_string()
    }

    /// `plan` with the given exit code; returns stdout.
    fn plan(&self, code: i32) -> String {
        let output = self.exits(&["plan", "-f", &self.file(), "--detailed-exitcode"], code);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn apply(&self) -> String {
        let output = self.exits(&["apply", "-f", &self.file(), "--auto-approve"], 0);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn snapshot(&self) -> State {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("live.json");
        let out = path.display().to_string();
        self.exits(&["snapshot", "-f", &self.file(), "--out", &out], 0);
        accessctl::snapshot::read(&path).expect("snapshot")
    }

    /// EKS got nothing but reads.
    fn only_read(&self) {
        assert!(
            self.eks
                .log()
                .iter()
                .all(|request| request.starts_with("GET")),
            "{:?}",
            self.eks.log()
        );
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn shown(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn node_mapping() -> AwsAuthEntry {
    AwsAuthEntry {
        kind: MapKind::MapRoles,
        arn: NODE_ROLE.into(),
        username: Some("system:node:{{EC2PrivateDNSName}}".into()),
        groups: vec!["system:bootstrappers".into(), "system:nodes".into()],
    }
}

fn aws_auth(state: &State) -> Vec<String> {
    state.clusters["demo"]
        .aws_auth
        .iter()
        .flat_map(|auth| &auth.entries)
        .map(|entry| entry.arn.clone())
        .collect()
}

/// Deletes and recreates an IAM role with the same name, tags and trust: same ARN, new id.
async fn recreate_role(moto: &Moto, name: &str) {
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    iam.delete_role()
        .role_name(name)
        .send()
        .await
        .expect("delete role");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "sts:AssumeRole"}]});
    iam.create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("managed-by")
                .value("accessctl")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("create role");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_aws_auth_to_access_entries_with_irsa_pod_identity_and_a_recreated_role() {
    let world = World::start(|eks| {
        eks.add_cluster_created_by(
            "demo",
            "us-east-1",
            Some("API_AND_CONFIG_MAP"),
            Some(ISSUER),
            CREATOR,
        );
        eks.add_entry("demo", NODE_ROLE, "EC2_LINUX", &[]);
    })
    .await;
    seed_cluster(
        &world.kube,
        &Cluster {
            aws_auth: Some(AwsAuth {
                entries: vec![node_mapping()],
                ..AwsAuth::default()
            }),
            ..Cluster::default()
        },
    );
    let (eks, moto) = (&world.eks, &world.moto);

    // 1. `both`: every access item gets an aws-auth entry and an access entry; workloads get
    //    IRSA and Pod Identity.
    world.write(&access_yaml("both", "[viewers]", "[apps]", true));
    let plan = world.plan(2);
    assert!(
        plan.contains("+ cluster.demo.pod-identity.apps/uploader"),
        "{plan}"
    );
    assert!(
        plan.contains(&format!(
            "+ cluster.demo.access-entry[{}]",
            role_arn("reader")
        )),
        "{plan}"
    );
    world.apply();
    world.plan(0);
    let entries = eks.entries("demo");
    let reader = &entries[&role_arn("reader")];
    assert_eq!(reader.groups, ["viewers"]);
    assert_eq!(reader.username.as_deref(), Some("reader"));
    assert_eq!(
        reader.policies[VIEW],
        json!({"type": "namespace", "namespaces": ["apps"]})
    );
    assert_eq!(
        entries[&role_arn("admin")].policies[ADMIN]["type"],
        "cluster"
    );
    // No `username` in the file: EKS's own.
    assert_eq!(
        entries[&role_arn("admin")].username.as_deref(),
        Some(format!("arn:aws:sts::{ACCOUNT}:assumed-role/admin/{{{{SessionName}}}}").as_str())
    );
    assert!(
        reader.tags[PRINCIPAL_ID_TAG].starts_with("AROA"),
        "{:?}",
        reader.tags
    );
    let association = &eks.associations("demo")["apps/uploader"];
    assert_eq!(association.role_arn, role_arn("uploader"));
    let live = world.snapshot();
    assert_eq!(
        aws_auth(&live),
        [NODE_ROLE.to_string(), role_arn("admin"), role_arn("reader")]
    );
    let uploader_trust = live.iam.roles["uploader"].trust.to_value();
    assert_eq!(
        uploader_trust["Statement"][0],
        json!({"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]})
    );
    let provider = "oidc.eks.us-east-1.amazonaws.com/id/8A024CF24ADD3925BEFA224C4BDD005B";
    assert!(
        live.iam.oidc_providers.contains_key(provider),
        "{:?}",
        live.iam.oidc_providers
    );
    let irsa_trust = live.iam.roles["irsa-reader"].trust.to_value();
    assert_eq!(
        irsa_trust["Statement"][0]["Condition"]["StringEquals"][format!("{provider}:sub")],
        "system:serviceaccount:apps:reports"
    );
    assert_eq!(
        live.clusters["demo"].service_accounts["apps/reports"]
            .meta
            .annotations[IRSA_ANNOTATION],
        role_arn("irsa-reader")
    );

    // 2. `access-entries`, with the reader changed (groups, scope): the aws-auth entries
    //    accessctl wrote go, the node role's stays; the entries are updated in place.
    world.write(&access_yaml(
        "access-entries",
        "[viewers, editors]",
        "[apps, default]",
        true,
    ));
    let plan = world.plan(2);
    assert!(
        plan.contains(&format!("- cluster.demo.aws-auth[{}]", role_arn("reader"))),
        "{plan}"
    );
    assert!(!plan.contains(NODE_ROLE), "{plan}");
    world.apply();
    world.plan(0);
    let live = world.snapshot();
    assert_eq!(aws_auth(&live), [NODE_ROLE.to_string()]);
    let reader = &eks.entries("demo")[&role_arn("reader")];
    assert_eq!(reader.groups, ["editors", "viewers"]);
    assert_eq!(
        reader.policies[VIEW],
        json!({"type": "namespace", "namespaces": ["apps", "default"]})
    );

    // 3. The admin role is deleted and recreated outside accessctl: its entry is replaced.
    let before = eks.entries("demo")[&role_arn("admin")].tags[PRINCIPAL_ID_TAG].clone();
    recreate_role(moto, "admin").await;
    let plan = world.plan(2);
    assert!(
        plan.contains(&format!(
            "-/+ cluster.demo.access-entry[{}]",
            role_arn("admin")
        )),
        "{plan}"
    );
    assert!(plan.contains("the IAM role was recreated"), "{plan}");
    // The caller is not the admin role: no self-lockout; apply goes through.
    world.exits(&["apply", "-f", &world.file(), "--auto-approve"], 0);
    world.plan(0);
    let after = eks.entries("demo")[&role_arn("admin")].tags[PRINCIPAL_ID_TAG].clone();
    assert_ne!(before, after);

    // 4. Workloads removed: the association, the IRSA role, its provider and the annotation go.
    world.write(&access_yaml(
        "access-entries",
        "[viewers, editors]",
        "[apps, default]",
        false,
    ));
    world.apply();
    world.plan(0);
    assert!(eks.associations("demo").is_empty());
    let live = world.snapshot();
    assert!(
        live.iam.oidc_providers.is_empty(),
        "{:?}",
        live.iam.oidc_providers
    );
    assert!(!live.iam.roles.contains_key("irsa-reader"));

    // Never touched: what EKS made itself, and the node role's mapping.
    let entries = eks.entries("demo");
    assert_eq!(entries[NODE_ROLE].kind, "EC2_LINUX");
    assert!(entries[CREATOR].tags.is_empty());
    for request in eks.log() {
        assert!(
            !(request.starts_with("POST") || request.starts_with("DELETE"))
                || !(request.contains(NODE_ROLE) || request.contains(CREATOR)),
            "{request}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_the_cluster_mode_cannot_serve_is_refused_with_the_fix() {
    let world = World::demo("CONFIG_MAP").await;
    world.write(&access_yaml("both", "[viewers]", "[apps]", false));
    let output = world.exits(&["plan", "-f", &world.file()], 1);
    let stderr = stderr(&output);
    assert!(
        stderr.contains("cluster `demo` authenticates with `CONFIG_MAP` but access.yaml sets `authentication: both`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("aws eks update-cluster-config --name demo --region us-east-1 --access-config authenticationMode=API_AND_CONFIG_MAP"),
        "{stderr}"
    );
    // Nothing was written.
    world.only_read();
}

/// The file of the username tests: `reader` (a role) and `dev` (a user) without `username`
/// unless `reader_username` is given.
fn username_yaml(reader_username: Option<&str>) -> String {
    let username = reader_username
        .map(|name| format!("\n        username: \"{name}\""))
        .unwrap_or_default();
    format!(
        r#"version: 1
account: "{ACCOUNT}"
iam:
  users:
    dev: {{}}
  roles:
    reader:
      path: /team/
      trust: {{accounts: ["{ACCOUNT}"]}}
clusters:
  demo:
    region: us-east-1
    authentication: access-entries
    access:
      - role: reader{username}
        groups: [viewers]
      - user: dev
        accessPolicies: [{{policy: AmazonEKSViewPolicy}}]
"#
    )
}

/// An access item without `username` lets EKS decide: after apply the plan is empty. A
/// username set and then removed again cannot be given back by UpdateAccessEntry: the entry is
/// replaced, and the plan says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_item_without_username_converges_and_a_removed_one_is_replaced() {
    let world = World::demo("API").await;
    let eks = &world.eks;
    let reader = format!("arn:aws:iam::{ACCOUNT}:role/team/reader");
    let dev = format!("arn:aws:iam::{ACCOUNT}:user/dev");
    let generated = format!("arn:aws:sts::{ACCOUNT}:assumed-role/reader/{{{{SessionName}}}}");

    world.write(&username_yaml(None));
    world.apply();
    world.plan(0);
    let entries = eks.entries("demo");
    assert_eq!(
        entries[&reader].username.as_deref(),
        Some(generated.as_str())
    );
    assert_eq!(entries[&dev].username.as_deref(), Some(dev.as_str()));
    let updates = |log: &[String]| {
        log.iter()
            .filter(|request| request.starts_with("POST") && request.ends_with(&reader))
            .count()
    };
    assert_eq!(updates(&eks.log()), 0, "{:?}", eks.log());

    world.write(&username_yaml(Some("reader:{{SessionName}}")));
    let plan = world.plan(2);
    assert!(
        plan.contains(&format!("~ cluster.demo.access-entry[{reader}]")),
        "{plan}"
    );
    world.apply();
    world.plan(0);
    assert_eq!(
        eks.entries("demo")[&reader].username.as_deref(),
        Some("reader:{{SessionName}}")
    );

    world.write(&username_yaml(None));
    let plan = world.plan(2);
    insta::assert_snapshot!(plan);
    assert!(
        plan.contains(&format!("-/+ cluster.demo.access-entry[{reader}]")),
        "{plan}"
    );
    assert!(
        plan.contains(
            "username `reader:{{SessionName}}` was set; only a new entry gets EKS's generated username"
        ),
        "{plan}"
    );
    world.apply();
    world.plan(0);
    assert_eq!(
        eks.entries("demo")[&reader].username.as_deref(),
        Some(generated.as_str())
    );
}

/// On a cluster as EKS makes it, the creator's entry is the only cluster admin: adopting it
/// without its admin policy is refused by the "no cluster admin left" check, and nothing is
/// written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_creators_admin_entry_is_not_taken_away_on_a_realistic_cluster() {
    let world = World::start(|eks| {
        eks.add_cluster_created_by("demo", "us-east-1", Some("API"), Some(ISSUER), CREATOR);
    })
    .await;
    world.write(&format!(
        r#"version: 1
account: "{ACCOUNT}"
clusters:
  demo:
    region: us-east-1
    authentication: access-entries
    access:
      - arn: {CREATOR}
        adopt: true
        accessPolicies: [{{policy: AmazonEKSViewPolicy}}]
"#
    ));
    let output = world.exits(&["apply", "-f", &world.file(), "--auto-approve"], 1);
    let stderr = stderr(&output);
    assert!(
        stderr.contains("cluster `demo` has 1 admin mapping now and none after this plan"),
        "{}",
        shown(&output)
    );
    world.only_read();
    assert!(
        world.eks.entries("demo")[CREATOR]
            .policies
            .contains_key(ADMIN)
    );
}

/// In `aws-cn` every ARN carries the partition: moto's IAM and STS answer with it for a
/// `cn-` region, the EKS endpoint refuses principals of another partition and generates the
/// `aws-cn` session username; an access item without `username` converges there too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_entries_converge_in_the_china_partition() {
    let mut world =
        World::start(|eks| eks.add_cluster("china", "cn-north-1", Some("API"), None)).await;
    world.region = Some("cn-north-1");
    world.write(&format!(
        r#"version: 1
account: "{ACCOUNT}"
partition: aws-cn
iam:
  roles:
    reader:
      trust: {{accounts: ["{ACCOUNT}"]}}
clusters:
  china:
    region: cn-north-1
    authentication: access-entries
    access:
      - role: reader
        accessPolicies: [{{policy: AmazonEKSViewPolicy}}]
"#
    ));
    world.apply();
    world.plan(0);
    let eks = &world.eks;
    let reader = format!("arn:aws-cn:iam::{ACCOUNT}:role/reader");
    let entries = eks.entries("china");
    let entry = &entries[&reader];
    assert_eq!(
        entry.username.as_deref(),
        Some(format!("arn:aws-cn:sts::{ACCOUNT}:assumed-role/reader/{{{{SessionName}}}}").as_str())
    );
    assert!(
        entry
            .policies
            .contains_key("arn:aws-cn:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"),
        "{:?}",
        entry.policies
    );
    assert!(
        entry.arn.starts_with("arn:aws-cn:eks:cn-north-1:"),
        "{}",
        entry.arn
    );
}

/// EKS refuses a 51st tag with `BadRequestException`: adopting an entry that has all 50 tags
/// of its own removes them before adding accessctl's, so the limit is never crossed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopting_an_entry_at_the_tag_limit_removes_before_it_adds() {
    let world = World::demo("API").await;
    let eks = &world.eks;
    let principal = role_arn("tagged");
    let client = eks.client("us-east-1");
    let created = client
        .create_access_entry()
        .cluster_name("demo")
        .principal_arn(&principal)
        .send()
        .await
        .expect("create");
    let mut tagging = client.tag_resource().resource_arn(
        created
            .access_entry()
            .and_then(|e| e.access_entry_arn())
            .expect("arn"),
    );
    for index in 0..50 {
        tagging = tagging.tags(format!("team-{index}"), "x");
    }
    tagging.send().await.expect("50 tags");
    world.write(&format!(
        r#"version: 1
account: "{ACCOUNT}"
clusters:
  demo:
    region: us-east-1
    authentication: access-entries
    access:
      - arn: {principal}
        adopt: true
        groups: [viewers]
"#
    ));
    world.apply();
    world.plan(0);
    let entry = &eks.entries("demo")[&principal];
    assert_eq!(
        entry.tags.keys().collect::<Vec<_>>(),
        ["managed-by"],
        "{:?}",
        entry.tags
    );
    assert_eq!(entry.groups, ["viewers"]);
}

/// A Pod Identity role the file names by ARN is read from IAM: `plan` refuses the association
/// while the role's trust lacks `sts:TagSession` for the Pod Identity agent, naming the rule,
/// and plans it once the trust allows both actions. `validate` cannot know: it passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_pod_identity_role_eks_would_refuse_is_refused_by_plan() {
    let world = World::demo("API_AND_CONFIG_MAP").await;
    let iam = aws_sdk_iam::Client::new(&world.moto.sdk_config());
    let trust = |actions: serde_json::Value| {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": actions}]}).to_string()
    };
    iam.create_role()
        .role_name("shared-uploader")
        .path("/platform/")
        .assume_role_policy_document(trust(json!("sts:AssumeRole")))
        .send()
        .await
        .expect("create role");
    let shared = format!("arn:aws:iam::{ACCOUNT}:role/platform/shared-uploader");
    world.write(&format!(
        r#"version: 1
account: "{ACCOUNT}"
clusters:
  demo:
    region: us-east-1
    authentication: both
    namespaces: [apps]
    serviceAccounts:
      apps/uploader: {{podIdentity: "{shared}"}}
"#
    ));
    world.exits(&["validate", "-f", &world.file()], 0);

    let output = world.exits(&["plan", "-f", &world.file()], 1);
    let stderr = stderr(&output);
    assert!(
        stderr.contains(&format!("the trust policy of the Pod Identity role `{shared}` does not allow `pods.eks.amazonaws.com` `sts:TagSession` (cluster `demo`, service account `apps/uploader`)")),
        "{stderr}"
    );
    assert!(
        stderr.contains("EKS Pod Identity requires the role's trust policy to allow the service principal `pods.eks.amazonaws.com` both `sts:AssumeRole` and `sts:TagSession`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("aws iam update-assume-role-policy --role-name shared-uploader"),
        "{stderr}"
    );
    // drift names the same refusal.
    let drift = world.exits(&["drift", "-f", &world.file()], 2);
    assert!(
        String::from_utf8_lossy(&drift.stdout)
            .contains("does not allow `pods.eks.amazonaws.com` `sts:TagSession`"),
        "{}",
        shown(&drift)
    );
    // Nothing was written.
    world.only_read();

    iam.update_assume_role_policy()
        .role_name("shared-uploader")
        .policy_document(trust(json!(["sts:AssumeRole", "sts:TagSession"])))
        .send()
        .await
        .expect("update trust");
    let planned = world.plan(2);
    assert!(
        planned.contains("cluster.demo.pod-identity.apps/uploader"),
        "{planned}"
    );
}

/// One role with an access entry and two access policies, and (with `workload`) one with a
/// Pod Identity association, all new: EKS meets each right after IAM creates it. `extra` adds
/// access items.
fn fresh_world_yaml(workload: bool, extra: &str) -> String {
    let mut text = format!(
        r#"version: 1
account: "{ACCOUNT}"
iam:
  roles:
    deployer:
      trust: {{accounts: ["{ACCOUNT}"]}}
"#
    );
    if workload {
        text.push_str("    uploader:\n      trust: {services: [pods.eks.amazonaws.com]}\n");
    }
    text.push_str(&format!(
        r#"clusters:
  demo:
    region: us-east-1
    authentication: access-entries
    namespaces: [apps]
    access:
      - role: deployer
        username: deployer
        accessPolicies:
          - {{policy: AmazonEKSViewPolicy, namespaces: [apps]}}
          - {{policy: AmazonEKSEditPolicy, namespaces: [apps]}}
{extra}"#
    ));
    if workload {
        text.push_str("    serviceAccounts:\n      apps/uploader: {podIdentity: uploader}\n");
    }
    text
}

/// A cluster with access entries, moto for IAM, and a directory for access.yaml.
async fn fresh_world() -> World {
    let world = World::demo("API").await;
    seed_cluster(&world.kube, &Cluster::default());
    world
}

/// How many requests of `request` (`METHOD /path`) EKS got.
fn count(eks: &EksServer, request: &str) -> usize {
    eks.log().iter().filter(|line| *line == request).count()
}

/// How often EKS refused `arn` as not (yet) in IAM.
fn refusals(eks: &EksServer, arn: &str) -> usize {
    eks.refused()
        .iter()
        .filter(|refused| *refused == arn)
        .count()
}

/// Acceptance of issue 18 (items 2 and 3): with a 3-second IAM visibility window, and entries
/// not found for 3 seconds after they are created, one apply creates the roles, the entry with
/// both policies and the association: EKS refused each at first (the first request always falls
/// in its window), the apply retried, and the next plan has nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_iam_and_eks_see_late_is_retried_until_they_see_it() {
    let world = fresh_world().await;
    let (eks, moto) = (&world.eks, &world.moto);
    world.write(&fresh_world_yaml(true, ""));
    let window = std::time::Duration::from_secs(3);
    eks.consult_iam(aws_sdk_iam::Client::new(&moto.sdk_config()), window);
    eks.set_entry_window(window);

    world.exits(&["apply", "--auto-approve"], 0);
    world.exits(&["plan", "--detailed-exitcode"], 0);

    let deployer = role_arn("deployer");
    let entry = &eks.entries("demo")[&deployer];
    let policies: Vec<&String> = entry.policies.keys().collect();
    assert_eq!(
        policies,
        [
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
            VIEW
        ]
    );
    assert_eq!(
        eks.associations("demo")["apps/uploader"].role_arn,
        role_arn("uploader")
    );
    assert!(refusals(eks, &deployer) >= 1, "{:?}", eks.refused());
    assert!(
        refusals(eks, &role_arn("uploader")) >= 1,
        "{:?}",
        eks.refused()
    );
    // Each policy was refused at least once (404) before it was associated.
    let policies = format!("POST /clusters/demo/access-entries/{deployer}/access-policies");
    assert!(count(eks, &policies) >= 4, "{:?}", eks.log());
}

/// Acceptance of issue 18 (items 2 and 3): when EKS still does not see what this apply created
/// when the retry bound is reached, the report names exactly what failed: the entry or
/// association whose principal EKS does not see, then the policies an entry was created
/// without; a principal this apply did not create is not retried at all; each re-run
/// converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_eks_does_not_see_within_the_bound_is_reported_and_a_rerun_converges() {
    let world = fresh_world().await;
    let (eks, moto) = (&world.eks, &world.moto);
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    eks.consult_iam(iam.clone(), crate::eks_server::UNTIL_LIFTED);
    // A role made outside accessctl that EKS never sees.
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "sts:AssumeRole"}]});
    iam.create_role()
        .role_name("outsider")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("create role");
    let outsider = role_arn("outsider");
    let apply = ["apply", "-q", "--auto-approve", "--aws-retry-seconds", "2"];

    // IAM never shows EKS the new role: its entry is retried until the bound, the outsider's
    // is refused at once; both are reported.
    world.write(&fresh_world_yaml(
        false,
        &format!("      - role: {outsider}\n        username: outsider\n"),
    ));
    let output = world.run(&apply);
    insta::assert_snapshot!(
        "iam-not-visible-within-the-bound",
        binary::transcript(&apply, &output)
    );
    assert!(
        refusals(eks, &role_arn("deployer")) >= 2,
        "{:?}",
        eks.refused()
    );
    assert_eq!(refusals(eks, &outsider), 1);
    assert!(eks.entries("demo").is_empty());

    // The same for a Pod Identity association (the entries come at a later stage).
    world.write(&fresh_world_yaml(true, ""));
    let output = world.run(&apply);
    insta::assert_snapshot!(
        "pod-role-not-visible-within-the-bound",
        binary::transcript(&apply, &output)
    );
    assert!(
        refusals(eks, &role_arn("uploader")) >= 2,
        "{:?}",
        eks.refused()
    );
    assert!(eks.associations("demo").is_empty());

    // IAM caught up, but EKS does not find the entry it created: the entry exists, the
    // report names both policies it lacks.
    eks.set_iam_window(std::time::Duration::ZERO);
    eks.set_entry_window(crate::eks_server::UNTIL_LIFTED);
    let output = world.run(&apply);
    insta::assert_snapshot!(
        "entry-not-found-within-the-bound",
        binary::transcript(&apply, &output)
    );
    assert!(
        eks.entries("demo")[&role_arn("deployer")]
            .policies
            .is_empty()
    );
    assert_eq!(eks.associations("demo").len(), 1);

    // Everything visible: the plan adds the policies, and the next plan is empty.
    eks.set_entry_window(std::time::Duration::ZERO);
    world.exits(&["plan", "--detailed-exitcode"], 2);
    world.exits(&["apply", "--auto-approve"], 0);
    world.exits(&["plan", "--detailed-exitcode"], 0);
    assert_eq!(eks.entries("demo")[&role_arn("deployer")].policies.len(), 2);
}
