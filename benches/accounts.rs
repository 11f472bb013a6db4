//! Several accounts in one run (issue 16.5): a no-change `accessctl plan` over 20 accounts ×
//! 1 cluster, against one moto server (accounts isolated by moto's multi-account support:
//! credentials from `sts:AssumeRole` into a role of another account act in that account) and
//! one test Kubernetes API server per cluster, through the real binary (`plan -f A -f B …` is
//! the code path measured, `accounts::each` and `plan_input`, as users run it).
//!
//! Each account's file (a few users, roles, policies and a group; one cluster with aws-auth
//! `mapRoles`/`mapUsers` entries, a namespace, a ClusterRole, a Role and two bindings) is
//! applied once, so every plan measured is a no-change plan (`--detailed-exitcode` exits 0).
//!
//! Prints, each the median (and min) of several runs:
//! - each account planned alone (`plan -f ONE`): wall time and calls per account;
//! - all accounts in one run: wall time, and each account's calls, compared with its calls
//!   alone;
//! - the ratio of the run to the slowest account alone and to the sum of the accounts alone;
//! - what bounds it: runs over 1, 2, 4, 8, … of the accounts, and all accounts as separate
//!   processes at once, each with the CPU time of accessctl, moto and this process (the API
//!   servers and the proxy), and accessctl's peak memory.
//!
//! AWS calls are counted by a proxy in front of moto (by account and operation, as moto
//! receives them: `sts:AssumeRole` included, which accessctl's own counter does not see);
//! Kubernetes requests by each cluster's API server. Timings are printed, never asserted; the
//! calls of a run are checked to be those of the accounts alone, and reported either way.
//!
//! All of it twice: with moto's answers as they come (the mock's CPU is then what every account
//! shares), and with each AWS answer held back at the proxy (`ACCOUNTS_LATENCY_MS`, default 50:
//! a round trip to a region, which costs no CPU), where how many accounts run at once is what
//! counts.
//!
//! Run with `cargo bench --bench accounts` (installs moto into `.venv` on first use);
//! `ACCOUNTS_N` (default 20) and `ACCOUNTS_RUNS` (default 5) change the size. Figures are
//! recorded in docs/performance.md.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark: it stops on a failed setup and prints its measurements"
)]

#[path = "../tests/moto/mod.rs"]
#[allow(
    dead_code,
    reason = "the benchmark uses a part of the moto helper (no reset, no clients)"
)]
mod moto;

#[path = "../tests/support/kube_server/mod.rs"]
// `allow`, not `expect`: whether these fire depends on the build (clippy --all-targets compiles
// the server's `#[cfg(test)]` modules without a test harness, leaving their imports unused).
#[allow(
    dead_code,
    unused_imports,
    reason = "the benchmark uses a part of the test server's API and none of its unit tests"
)]
mod kube_server;

#[path = "support/counting_proxy.rs"]
mod counting_proxy;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use accessctl::model::AssumeRole;
use counting_proxy::{CountingProxy, Counts};
use kube_server::KubeServer;
use moto::Moto;

const REGION: &str = "us-east-1";

/// One account: its id, its cluster (name, kubeconfig context, API server) and its file.
struct Account {
    id: String,
    cluster: String,
    context: String,
    file: PathBuf,
    server: KubeServer,
}

fn account_id(index: usize) -> String {
    format!("{:012}", 100_000_000_000 + index)
}

/// The account's access.yaml: IAM for a small team, and its cluster's access.
fn access_yaml(account: &str, cluster: &str, context: &str) -> String {
    format!(
        r#"version: 1
account: "{account}"
assumeRole:
  arn: arn:aws:iam::{account}:role/accessctl
  sessionName: accessctl-bench
iam:
  policies:
    EksView:
      document:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: [eks:DescribeCluster, eks:ListClusters, eks:AccessKubernetesApi]
            Resource: "*"
    EksAdmin:
      document:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: ["eks:*"]
            Resource: "*"
    AssumeEksAdmin:
      document:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: sts:AssumeRole
            Resource: role:eks-admin
  groups:
    developers:
      policies: [EksView]
  users:
    dev-ana:
      groups: [developers]
    dev-bo:
      groups: [developers]
    manager:
      policies: [AssumeEksAdmin]
    ci:
      policies: [EksView]
  roles:
    eks-admin:
      trust:
        accounts: ["{account}"]
      policies: [EksAdmin]
    deployer:
      trust:
        accounts: ["{account}"]
      policies: [EksView]
clusters:
  {cluster}:
    region: {REGION}
    context: {context}
    authentication: config-map
    access:
      - role: eks-admin
        username: eks-admin
        groups: ["system:masters"]
      - role: deployer
        username: deployer
        groups: [deployers]
      - user: dev-ana
        username: dev-ana
        groups: [readers]
      - user: dev-bo
        username: dev-bo
        groups: [readers]
      - user: ci
        username: ci
        groups: [deployers]
    namespaces: [apps]
    clusterRoles:
      reader:
        rules:
          - apiGroups: ["", apps]
            resources: [pods, services, configmaps, deployments]
            verbs: [get, list, watch]
    roles:
      apps/deployer:
        rules:
          - apiGroups: [apps]
            resources: [deployments, replicasets]
            verbs: [get, list, watch, create, update, patch, delete]
    bindings:
      readers:
        clusterRole: reader
        groups: [readers]
      apps/deployers:
        role: deployer
        groups: [deployers]
"#
    )
}

/// aws-auth as EKS leaves it: the node role's entry.
fn seed_aws_auth(server: &KubeServer, account: &str) {
    let node_role = format!(
        "- groups:\n  - system:bootstrappers\n  - system:nodes\n  rolearn: arn:aws:iam::{account}:role/eks-node-group\n  username: system:node:{{{{EC2PrivateDNSName}}}}\n"
    );
    server.seed(&serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "aws-auth", "namespace": "kube-system"},
        "data": {"mapRoles": node_role},
    }));
}

/// One kubeconfig with a context per cluster, each its own API server.
fn kubeconfig(accounts: &[Account]) -> String {
    let mut clusters = String::new();
    let mut contexts = String::new();
    for account in accounts {
        clusters.push_str(&format!(
            "- name: {}\n  cluster:\n    server: {}\n",
            account.context,
            account.server.url()
        ));
        contexts.push_str(&format!(
            "- name: {0}\n  context:\n    cluster: {0}\n    user: bench\n",
            account.context
        ));
    }
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n{clusters}users:\n- name: bench\n  user:\n    token: {}\ncontexts:\n{contexts}current-context: {}\n",
        kube_server::TOKEN,
        accounts[0].context
    )
}

/// Creates `cluster` in moto's EKS in `account`, with credentials of a role assumed there.
async fn create_cluster(moto: &Moto, account: &str, cluster: &str) {
    let role = AssumeRole {
        arn: format!("arn:aws:iam::{account}:role/bench-setup"),
        external_id: None,
        session_name: "bench-setup".to_string(),
    };
    let config = accessctl::aws::config::assume_role(&moto.sdk_config(), &role)
        .await
        .expect("moto lets the role be assumed");
    aws_sdk_eks::Client::new(&config)
        .create_cluster()
        .name(cluster)
        .role_arn(format!("arn:aws:iam::{account}:role/eks-cluster"))
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-1")
                .build(),
        )
        .send()
        .await
        .expect("moto creates the EKS cluster");
}

/// CPU time (user + system) of a process from `/proc/PID/stat`: its own, and that of its
/// children it has waited for.
fn cpu_of(pid: &str, ticks: f64) -> (Duration, Duration) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<f64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .map(|field| field.parse().unwrap_or(0.0))
                .collect()
        })
        .unwrap_or_default();
    let field = |index: usize| fields.get(index).copied().unwrap_or(0.0);
    (
        Duration::from_secs_f64((field(11) + field(12)) / ticks),
        Duration::from_secs_f64((field(13) + field(14)) / ticks),
    )
}

/// The pid of this process's child `moto_server`.
fn moto_pid() -> String {
    let me = std::process::id().to_string();
    for entry in std::fs::read_dir("/proc").expect("/proc") {
        let entry = entry.expect("/proc entry");
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|byte| byte.is_ascii_digit()) {
            continue;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1).map(str::to_string));
        let command = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if parent.as_deref() == Some(me.as_str())
            && String::from_utf8_lossy(&command).contains("moto_server")
        {
            return pid;
        }
    }
    panic!("no moto_server child of this process")
}

/// `accessctl` sealed as the tests run it (tests/support/binary.rs): AWS through the proxy,
/// the clusters through the kubeconfig, dummy credentials; under `/usr/bin/time` for its CPU
/// time and peak memory.
struct Binary {
    aws_endpoint: String,
    kubeconfig: PathBuf,
    directory: PathBuf,
}

impl Binary {
    fn command(&self, args: &[String], time_file: &Path) -> Command {
        let mut command = Command::new("/usr/bin/time");
        command
            .arg("-o")
            .arg(time_file)
            .args(["-f", "%U %S %M", env!("CARGO_BIN_EXE_accessctl")])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.directory)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("AWS_ENDPOINT_URL", &self.aws_endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1")
            .current_dir(&self.directory)
            .stdin(Stdio::null());
        command
    }
}

/// One process's outcome.
struct Process {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    cpu: Duration,
    peak_kib: u64,
}

fn finish(output: &std::process::Output, time_file: &Path) -> Process {
    let time = std::fs::read_to_string(time_file).unwrap_or_default();
    // `/usr/bin/time` writes a line of its own first when the command exits non-zero.
    let figures: Vec<f64> = time
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .map(|field| field.parse().unwrap_or(0.0))
        .collect();
    let figure = |index: usize| figures.get(index).copied().unwrap_or(0.0);
    Process {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        cpu: Duration::from_secs_f64(figure(0) + figure(1)),
        peak_kib: figure(2) as u64,
    }
}

/// Calls of one account in one run: AWS by operation (from the proxy), Kubernetes requests
/// (from its cluster's server).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Calls {
    aws: BTreeMap<String, u64>,
    kube: usize,
}

impl Calls {
    fn service(&self, service: &str) -> u64 {
        self.aws
            .iter()
            .filter(|(operation, _)| operation.starts_with(&format!("{service}:")))
            .map(|(_, count)| count)
            .sum()
    }

    /// `IAM 3 · STS 2 · EKS 1 · K8s 7`.
    fn short(&self) -> String {
        format!(
            "IAM {} · STS {} · EKS {} · K8s {}",
            self.service("iam"),
            self.service("sts"),
            self.service("eks"),
            self.kube
        )
    }
}

/// What one measured run gave.
struct Run {
    wall: Duration,
    accessctl_cpu: Duration,
    moto_cpu: Duration,
    bench_cpu: Duration,
    /// The largest peak resident set of the run's accessctl processes.
    peak_kib: u64,
    /// By account id.
    calls: BTreeMap<String, Calls>,
    /// AWS calls the proxy could not put in any of the run's accounts.
    stray: Counts,
}

struct Bench {
    accounts: Vec<Account>,
    binary: Binary,
    proxy: CountingProxy,
    moto_pid: String,
    ticks: f64,
    runs: usize,
}

impl Bench {
    /// Runs `processes` at once (each an `accessctl` command line over some of the accounts),
    /// checks each planned nothing, and gathers the figures of the accounts in `accounts`.
    async fn run(&self, processes: Vec<Vec<String>>, accounts: &[&Account]) -> Run {
        self.proxy.take();
        for account in accounts {
            account.server.clear_requests();
        }
        let me = std::process::id().to_string();
        let (moto_before, _) = cpu_of(&self.moto_pid, self.ticks);
        let (bench_before, _) = cpu_of(&me, self.ticks);
        let started = Instant::now();
        let handles: Vec<_> = processes
            .into_iter()
            .enumerate()
            .map(|(index, args)| {
                let time_file = self.binary.directory.join(format!("time-{index}"));
                let mut command = self.binary.command(&args, &time_file);
                tokio::task::spawn_blocking(move || {
                    let output = command.output().expect("accessctl runs");
                    (args, finish(&output, &time_file))
                })
            })
            .collect();
        let mut finished = Vec::new();
        for handle in handles {
            finished.push(handle.await.expect("accessctl waited"));
        }
        let wall = started.elapsed();
        let (moto_after, _) = cpu_of(&self.moto_pid, self.ticks);
        let (bench_after, _) = cpu_of(&me, self.ticks);
        for (args, process) in &finished {
            assert_eq!(
                process.code,
                Some(0),
                "`accessctl {}` did not plan nothing:\n{}{}",
                args.join(" "),
                process.stdout,
                process.stderr
            );
        }
        let mut counts = self.proxy.take();
        let calls = accounts
            .iter()
            .map(|account| {
                let calls = Calls {
                    aws: counts.remove(&account.id).unwrap_or_default(),
                    kube: account.server.requests().len(),
                };
                (account.id.clone(), calls)
            })
            .collect();
        Run {
            wall,
            accessctl_cpu: finished.iter().map(|(_, process)| process.cpu).sum(),
            moto_cpu: moto_after.saturating_sub(moto_before),
            bench_cpu: bench_after.saturating_sub(bench_before),
            peak_kib: finished
                .iter()
                .map(|(_, process)| process.peak_kib)
                .max()
                .unwrap_or(0),
            calls,
            stray: counts,
        }
    }

    /// `plan --detailed-exitcode -f A -f B …` over `accounts`, in one process.
    async fn plan(&self, accounts: &[&Account]) -> Run {
        self.run(vec![plan_args(accounts)], accounts).await
    }

    /// Each of `accounts` planned by its own process, all at once.
    async fn separately(&self, accounts: &[&Account]) -> Run {
        let processes = accounts
            .iter()
            .map(|account| plan_args(&[account]))
            .collect();
        self.run(processes, accounts).await
    }
}

fn plan_args(accounts: &[&Account]) -> Vec<String> {
    let mut args = vec!["plan".to_string(), "--detailed-exitcode".to_string()];
    for account in accounts {
        args.push("-f".to_string());
        args.push(account.file.display().to_string());
    }
    args
}

fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn min(values: &[Duration]) -> Duration {
    values.iter().copied().min().unwrap_or_default()
}

fn ms(duration: Duration) -> String {
    format!("{:.0} ms", duration.as_secs_f64() * 1000.0)
}

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Median and min of one figure over several runs.
fn spread(runs: &[Run], figure: impl Fn(&Run) -> Duration) -> (Duration, Duration) {
    let values: Vec<Duration> = runs.iter().map(figure).collect();
    (median(&values), min(&values))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count = env_count("ACCOUNTS_N", 20).max(1);
    let runs = env_count("ACCOUNTS_RUNS", 5).max(1);
    let setup = Instant::now();
    let moto = tokio::task::spawn_blocking(Moto::start)
        .await
        .expect("moto starts");
    let directory = tempfile::tempdir().expect("temporary directory");
    let mut accounts = Vec::new();
    for index in 1..=count {
        let id = account_id(index);
        let cluster = format!("prod-{index:02}");
        let context = format!("ctx-{index:02}");
        create_cluster(&moto, &id, &cluster).await;
        let server = KubeServer::start().await;
        seed_aws_auth(&server, &id);
        let file = directory.path().join(format!("account-{index:02}.yaml"));
        std::fs::write(&file, access_yaml(&id, &cluster, &context)).expect("write access.yaml");
        accounts.push(Account {
            id,
            cluster,
            context,
            file,
            server,
        });
    }
    let kubeconfig_path = directory.path().join("kubeconfig");
    std::fs::write(&kubeconfig_path, kubeconfig(&accounts)).expect("write kubeconfig");
    let proxy = CountingProxy::start(moto.address()).await;
    let ticks: f64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
        .unwrap_or(100.0);
    let bench = Bench {
        binary: Binary {
            aws_endpoint: proxy.endpoint(),
            kubeconfig: kubeconfig_path,
            directory: directory.path().to_path_buf(),
        },
        moto_pid: moto_pid(),
        proxy,
        accounts,
        ticks,
        runs,
    };
    let all: Vec<&Account> = bench.accounts.iter().collect();

    // Apply once, every account in one run, so what follows plans nothing.
    let mut apply = vec!["apply".to_string(), "--auto-approve".to_string()];
    for account in &all {
        apply.push("-f".to_string());
        apply.push(account.file.display().to_string());
    }
    let time_file = bench.binary.directory.join("time-apply");
    let mut command = bench.binary.command(&apply, &time_file);
    let applied = tokio::task::spawn_blocking(move || command.output().expect("accessctl runs"))
        .await
        .expect("apply waited");
    assert!(
        applied.status.success(),
        "apply failed:\n{}{}",
        String::from_utf8_lossy(&applied.stdout),
        String::from_utf8_lossy(&applied.stderr)
    );
    // A first plan: nothing to do (checked by every run), and every connection path warm.
    bench.plan(&all).await;
    println!(
        "setup: moto started in {:?}; {count} accounts, {count} clusters, applied; {:.1} s",
        moto.started_in,
        setup.elapsed().as_secs_f64()
    );
    let latency =
        Duration::from_millis(u64::try_from(env_count("ACCOUNTS_LATENCY_MS", 50)).unwrap_or(50));
    for held in [Duration::ZERO, latency] {
        bench.proxy.set_latency(held);
        println!(
            "\n# AWS answers {} (load average before: {})",
            if held.is_zero() {
                "as fast as moto gives them".to_string()
            } else {
                format!("held back {} each (a round trip to a region)", ms(held))
            },
            load_average()
        );
        report(&bench, &all).await;
        println!("\nload average after: {}", load_average());
    }
}

/// `/proc/loadavg`'s first three figures: other work on the machine.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

async fn report(bench: &Bench, all: &[&Account]) {
    let count = all.len();
    let runs = bench.runs;

    // Each account alone, round-robin so drift in the machine's load touches every account.
    let mut alone: Vec<Vec<Run>> = (0..count).map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (index, account) in all.iter().enumerate() {
            alone[index].push(bench.plan(&[account]).await);
        }
    }
    // All accounts in one run.
    let mut together = Vec::new();
    for _ in 0..runs {
        together.push(bench.plan(all).await);
    }

    println!("\n## Each account alone: `accessctl plan -f ONE` ({runs} runs each)\n");
    println!("| account | cluster | wall median (min) | calls (IAM · STS · EKS · K8s) |");
    println!("|---|---|---:|---|");
    let mut single_medians = Vec::new();
    let mut single_calls: BTreeMap<String, Calls> = BTreeMap::new();
    for (account, runs_alone) in all.iter().zip(&alone) {
        let (median_wall, min_wall) = spread(runs_alone, |run| run.wall);
        single_medians.push(median_wall);
        let calls = runs_alone[0].calls[&account.id].clone();
        let steady = runs_alone.iter().all(|run| run.calls[&account.id] == calls);
        println!(
            "| {} | {} | {} ({}) | {}{} |",
            account.id,
            account.cluster,
            ms(median_wall),
            ms(min_wall),
            calls.short(),
            if steady { "" } else { " (varied between runs)" }
        );
        single_calls.insert(account.id.clone(), calls);
    }
    let slowest = single_medians.iter().copied().max().unwrap_or_default();
    let sum: Duration = single_medians.iter().sum();
    let first = &single_calls[&all[0].id];
    println!("\none account's calls, by operation: {:?}", first.aws);
    let (alone_cpu, _) = spread(&alone[0], |run| run.accessctl_cpu);
    let (alone_moto, _) = spread(&alone[0], |run| run.moto_cpu);
    println!(
        "one account alone ({}): accessctl CPU {}, moto CPU {} (median); accessctl peak RSS {} MiB",
        all[0].id,
        ms(alone_cpu),
        ms(alone_moto),
        alone[0].iter().map(|run| run.peak_kib).max().unwrap_or(0) / 1024
    );

    println!(
        "\n## All {count} accounts in one run: `accessctl plan -f … ×{count}` ({runs} runs)\n"
    );
    let (median_wall, min_wall) = spread(&together, |run| run.wall);
    let mut all_match = true;
    for run in &together {
        for account in all {
            let calls = &run.calls[&account.id];
            if calls != &single_calls[&account.id] {
                all_match = false;
                println!(
                    "MISMATCH {}: alone {:?} kube {}, in the run {:?} kube {}",
                    account.id,
                    single_calls[&account.id].aws,
                    single_calls[&account.id].kube,
                    calls.aws,
                    calls.kube
                );
            }
        }
        if !run.stray.is_empty() {
            println!("calls outside the run's accounts: {:?}", run.stray);
        }
    }
    let per_account: Vec<String> = together[0]
        .calls
        .values()
        .map(Calls::short)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    println!("| figure | value |");
    println!("|---|---:|");
    println!(
        "| wall time, median (min) | {} ({}) |",
        ms(median_wall),
        ms(min_wall)
    );
    println!(
        "| calls per account in the run | {} |",
        per_account.join(" / ")
    );
    println!(
        "| every account's calls equal to its calls alone, in every run | {} |",
        if all_match { "yes" } else { "NO" }
    );
    println!("| slowest account alone (median) | {} |", ms(slowest));
    println!("| sum of the accounts alone (medians) | {} |", ms(sum));
    println!(
        "| run ÷ slowest account alone | {:.2} |",
        median_wall.as_secs_f64() / slowest.as_secs_f64()
    );
    println!(
        "| run ÷ sum of the accounts alone | {:.2} |",
        median_wall.as_secs_f64() / sum.as_secs_f64()
    );
    let (cpu, _) = spread(&together, |run| run.accessctl_cpu);
    let (moto_cpu, _) = spread(&together, |run| run.moto_cpu);
    let (bench_cpu, _) = spread(&together, |run| run.bench_cpu);
    println!(
        "| CPU (median): accessctl / moto / API servers + proxy | {} / {} / {} |",
        ms(cpu),
        ms(moto_cpu),
        ms(bench_cpu)
    );
    println!(
        "| accessctl peak RSS (max over runs) | {} MiB |",
        together.iter().map(|run| run.peak_kib).max().unwrap_or(0) / 1024
    );

    // What bounds it: the first k accounts in one run, and all of them as separate processes.
    println!("\n## What bounds the run ({runs} runs each)\n");
    println!(
        "| run | wall median (min) | per account | accessctl CPU | moto CPU | moto busy | API servers + proxy CPU | accessctl peak RSS |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut rows: Vec<(String, usize, Vec<Run>)> = Vec::new();
    for size in [1, 2, 4, 8].into_iter().filter(|size| *size < count) {
        let chosen = &all[..size];
        let mut measured = Vec::new();
        for _ in 0..runs {
            measured.push(bench.plan(chosen).await);
        }
        rows.push((format!("{size} in one process"), size, measured));
    }
    rows.push((format!("{count} in one process (above)"), count, together));
    let mut separate = Vec::new();
    for _ in 0..runs {
        separate.push(bench.separately(all).await);
    }
    rows.push((format!("{count} processes at once"), count, separate));
    for (label, size, measured) in &rows {
        let (wall, min_wall) = spread(measured, |run| run.wall);
        let (cpu, _) = spread(measured, |run| run.accessctl_cpu);
        let (moto_cpu, _) = spread(measured, |run| run.moto_cpu);
        let (bench_cpu, _) = spread(measured, |run| run.bench_cpu);
        println!(
            "| {label} | {} ({}) | {} | {} | {} | {:.0}% | {} | {} MiB |",
            ms(wall),
            ms(min_wall),
            ms(wall / u32::try_from(*size).unwrap_or(1)),
            ms(cpu),
            ms(moto_cpu),
            100.0 * moto_cpu.as_secs_f64() / wall.as_secs_f64(),
            ms(bench_cpu),
            measured.iter().map(|run| run.peak_kib).max().unwrap_or(0) / 1024
        );
    }
}
