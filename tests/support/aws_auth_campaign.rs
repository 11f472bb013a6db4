//! The aws-auth campaign (issue 17.4): people edit aws-auth by hand — read it, append an entry
//! of their own as text, write it back with the resourceVersion they read, re-read and retry on
//! 409 — while accessctl applies a sequence of access.yaml files through the real binary.
//!
//! Each round writes the next file (a different managed set: entries added, changed and
//! removed), starts `accessctl apply`, and lets it through to the test API server's aws-auth
//! only while the editors write around it:
//!
//! 1. accessctl's first PUT of aws-auth (`fieldManager=accessctl`) is held at the server;
//! 2. meanwhile every editor reads aws-auth, they all wait for each other (people editing at
//!    the same time), then each writes back: one wins, the others get 409 and retry;
//! 3. the held PUT is let through (it conflicts, as the editors wrote since accessctl read)
//!    while every editor makes one more edit, racing accessctl's re-read and retry;
//! 4. once apply and the editors are done, the ConfigMap is checked.
//!
//! The interleaving of steps 2 and 3 varies from run to run; what is checked must hold for
//! every one of them: every hand entry written so far is there byte for byte, exactly once;
//! the node role's and the cluster creator's entries are untouched; the managed entries (and
//! the managed annotation) are exactly those of the round's file; after the last round,
//! `accessctl plan` plans nothing. Conflicts are counted from the server's request log.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use accessctl::kube::aws_auth::{self, data_key};
use accessctl::model::{AWS_AUTH_MANAGED_ANNOTATION, AwsAuthEntry, MapKind};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};

use crate::moto::Moto;
use crate::support::binary::{self, shown};
use crate::support::kube_server::KubeServer;

/// moto's account, and the account of every ARN here.
pub const ACCOUNT: &str = "123456789012";
pub const CLUSTER: &str = "demo";
pub const AWS_AUTH_PATH: &str = "/api/v1/namespaces/kube-system/configmaps/aws-auth";
/// The field manager `kubectl edit` writes with.
const EDITOR_MANAGER: &str = "kubectl-edit";

/// The node role's entry as EKS writes it (its key order, at indent 0).
pub const NODE_ROLE: &str = "- groups:\n  - system:bootstrappers\n  - system:nodes\n  rolearn: arn:aws:iam::123456789012:role/eks-node-group\n  username: system:node:{{EC2PrivateDNSName}}\n";
/// The cluster creator's entry, written by the platform team (at indent 2, a note above).
pub const CREATOR: &str = "  # the cluster creator: break-glass access, do not remove\n  - userarn: arn:aws:iam::123456789012:user/cluster-creator\n    username: cluster-creator\n    groups:\n      - system:masters\n";

/// A test API server with aws-auth seeded (node role, creator), moto with EKS cluster
/// [`CLUSTER`], and a directory for access.yaml.
pub struct World {
    pub server: KubeServer,
    pub moto: Moto,
    directory: tempfile::TempDir,
}

impl World {
    /// Starts both servers; aws-auth holds `map_roles` and `map_users` as given.
    pub async fn start_with(map_roles: &str, map_users: &str) -> World {
        World::start_with_data(serde_json::json!({"mapRoles": map_roles, "mapUsers": map_users}))
            .await
    }

    /// Starts both servers; aws-auth's `data` is `data` as given.
    pub async fn start_with_data(data: serde_json::Value) -> World {
        let server = KubeServer::start().await;
        server.seed(&serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "aws-auth", "namespace": "kube-system"},
            "data": data,
        }));
        let moto =
            tokio::task::spawn_blocking(|| Moto::with_eks_cluster(ACCOUNT, CLUSTER, "us-east-1"))
                .await
                .expect("moto starts");
        World {
            server,
            moto,
            directory: tempfile::tempdir().expect("temporary directory"),
        }
    }

    /// aws-auth as a new EKS cluster has it: the node role and the creator.
    pub async fn start() -> World {
        World::start_with(NODE_ROLE, CREATOR).await
    }

    /// access.yaml, in the world's directory.
    pub fn file(&self) -> PathBuf {
        self.directory.path().join("access.yaml")
    }

    pub fn write_file(&self, text: &str) {
        std::fs::write(self.file(), text).expect("write access.yaml");
    }

    /// `accessctl ARGS` against this world, not started yet, run from its directory (so
    /// `-f access.yaml` is a stable argument).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = binary::command(&self.moto.endpoint(), self.server.kubeconfig_path());
        command.args(args).current_dir(self.directory.path());
        command
    }

    /// Runs `accessctl ARGS` to its end.
    pub async fn run(&self, args: &[&str]) -> Output {
        let mut command = self.command(args);
        tokio::task::spawn_blocking(move || command.output().expect("accessctl runs"))
            .await
            .expect("waited")
    }

    /// Runs `accessctl ARGS`, checks its exit code, and gives its transcript to pin.
    pub async fn transcript(&self, args: &[&str], code: i32) -> String {
        let output = self.run(args).await;
        assert_eq!(output.status.code(), Some(code), "{}", shown(&output));
        binary::transcript(args, &output)
    }

    /// The stored aws-auth.
    pub fn aws_auth(&self) -> ConfigMap {
        self.server
            .object::<ConfigMap>(Some("kube-system"), "aws-auth")
            .expect("aws-auth exists")
    }

    /// 409s the server answered to PUTs of aws-auth by this field manager.
    fn conflicts(&self, manager: &str) -> usize {
        let query = format!("fieldManager={manager}");
        self.server
            .requests()
            .iter()
            .filter(|request| {
                request.method == "PUT"
                    && request.path == AWS_AUTH_PATH
                    && request.status == Some(409)
                    && request.query.contains(&query)
            })
            .count()
    }
}

/// access.yaml declaring `entries` in aws-auth of [`CLUSTER`].
pub fn access_yaml(entries: &[AwsAuthEntry]) -> String {
    let mut text = format!(
        "version: 1\naccount: \"{ACCOUNT}\"\nclusters:\n  {CLUSTER}:\n    region: us-east-1\n    context: test\n    authentication: config-map\n    access:\n"
    );
    for entry in entries {
        text.push_str(&format!("      - arn: {}\n", entry.arn));
        if let Some(username) = &entry.username {
            text.push_str(&format!("        username: {username}\n"));
        }
        let groups: Vec<String> = entry.groups.iter().map(|g| format!("\"{g}\"")).collect();
        text.push_str(&format!("        groups: [{}]\n", groups.join(", ")));
    }
    text
}

/// How many rounds, hand editors and which sequence of files.
#[derive(Clone, Copy, Debug)]
pub struct Campaign {
    pub rounds: usize,
    pub editors: usize,
    /// Seeds the sequence of managed sets (the same seed, the same files).
    pub seed: u64,
}

/// What a campaign did and found.
#[derive(Debug, Default)]
pub struct Figures {
    pub rounds: usize,
    /// Hand editors plus accessctl.
    pub writers: usize,
    pub hand_edits: usize,
    pub applies: usize,
    /// Managed entries added, changed and removed over the sequence of files.
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
    /// 409s answered to the editors' PUTs, and to accessctl's.
    pub editor_conflicts: usize,
    pub accessctl_conflicts: usize,
    /// Hand, node-role and creator entries missing or changed, by ARN, with when (first) and how.
    pub lost: BTreeMap<String, String>,
    /// Rounds whose managed entries were not exactly the file's, with how.
    pub wrong_managed: Vec<String>,
}

/// A hand entry that was written: its list, its exact text, its entry.
#[derive(Clone, Debug)]
struct HandEntry {
    kind: MapKind,
    text: String,
    arn: String,
}

/// The pool of principals the files choose from, and the groups they give.
const ROLES: [&str; 5] = ["team-a", "team-b", "team-c", "deployer", "auditor"];
const USERS: [&str; 3] = ["dev-ana", "dev-bo", "dev-cy"];
const GROUPS: [&str; 4] = ["viewers", "editors", "oncall", "team:platform"];

/// The managed set of `round`: an admin role always (a file without a cluster admin is
/// refused), and each principal of the pool present or not, with groups and username drawn.
fn managed_set(seed: u64, round: usize) -> Vec<AwsAuthEntry> {
    let mut rng = fastrand::Rng::with_seed(seed ^ (round as u64).wrapping_mul(0x9e37_79b9));
    let mut entries = vec![AwsAuthEntry {
        kind: MapKind::MapRoles,
        arn: format!("arn:aws:iam::{ACCOUNT}:role/campaign-admin"),
        username: Some("campaign-admin".to_string()),
        groups: vec!["system:masters".to_string()],
    }];
    let pool = ROLES
        .iter()
        .map(|name| (MapKind::MapRoles, format!("role/{name}"), *name))
        .chain(
            USERS
                .iter()
                .map(|name| (MapKind::MapUsers, format!("user/{name}"), *name)),
        );
    for (kind, path, name) in pool {
        if rng.u8(0..10) < 6 {
            let mut groups: Vec<String> = GROUPS
                .iter()
                .filter(|_| rng.bool())
                .map(|group| (*group).to_string())
                .collect();
            if groups.is_empty() {
                groups.push(GROUPS[rng.usize(..GROUPS.len())].to_string());
            }
            entries.push(AwsAuthEntry {
                kind,
                arn: format!("arn:aws:iam::{ACCOUNT}:{path}"),
                username: Some(format!("{name}-v{}", rng.u8(0..3))),
                groups,
            });
        }
    }
    entries
}

/// Managed sets for every round, each different from the one before.
fn managed_sets(campaign: &Campaign) -> Vec<Vec<AwsAuthEntry>> {
    let mut sets: Vec<Vec<AwsAuthEntry>> = Vec::new();
    let mut attempt = 0;
    for round in 0..campaign.rounds {
        loop {
            let set = managed_set(campaign.seed.wrapping_add(attempt), round);
            attempt += 1;
            if sets.last() != Some(&set) {
                sets.push(set);
                break;
            }
        }
    }
    sets
}

/// (added, changed, removed) from `before` to `after`, by ARN.
fn delta(before: &[AwsAuthEntry], after: &[AwsAuthEntry]) -> (usize, usize, usize) {
    let by_arn = |set: &[AwsAuthEntry]| -> BTreeMap<String, AwsAuthEntry> {
        set.iter().map(|e| (e.arn.clone(), e.clone())).collect()
    };
    let (before, after) = (by_arn(before), by_arn(after));
    let added = after
        .keys()
        .filter(|arn| !before.contains_key(*arn))
        .count();
    let removed = before
        .keys()
        .filter(|arn| !after.contains_key(*arn))
        .count();
    let changed = after
        .iter()
        .filter(|(arn, entry)| before.get(*arn).is_some_and(|old| old != *entry))
        .count();
    (added, changed, removed)
}

/// The indent of a list's items (that of its first item), 0 when it has none: people add an
/// entry at the indent the list already has.
fn list_indent(text: &str) -> usize {
    text.lines()
        .find(|line| line.trim_start().starts_with('-'))
        .map_or(0, |line| line.len() - line.trim_start().len())
}

/// The `number`th hand entry of editor `editor`, in one of several styles people write (at
/// indent 0): a note above, quoting, another key order, flow groups, a trailing comment, an
/// extra key, `-` alone on its line, a note as the entry's last line. Returns its list, its ARN
/// and its text.
fn hand_draft(editor: usize, number: usize) -> (MapKind, String, String) {
    let name = format!("hand-e{editor}-{number:03}");
    let (kind, key, arn) = if (editor + number).is_multiple_of(2) {
        (
            MapKind::MapRoles,
            "rolearn",
            format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
        )
    } else {
        (
            MapKind::MapUsers,
            "userarn",
            format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
        )
    };
    let text = match number % 7 {
        0 => format!(
            "# added by hand (editor {editor}) for OPS-{number}\n- {key}: {arn}\n  username: {name}\n  groups:\n  - viewers\n"
        ),
        1 => format!(
            "- username: \"{name}\"\n  {key}: '{arn}'\n  groups: [viewers, \"team-{editor}\"]\n"
        ),
        2 => format!(
            "- {key}: {arn}   # ticket OPS-{number}\n  username: {name}:{{{{SessionName}}}}\n  groups:\n    - system:authenticated\n"
        ),
        3 => format!(
            "-   {key}: \"{arn}\"\n    username: {name}\n    groups:\n      - viewers\n      - 'team-{editor}'\n"
        ),
        4 => format!(
            "# {name}: temporary access, remove after the incident\n# (a second line of the note)\n- groups: []\n  {key}: {arn}\n  username: {name}\n  note: \"a key the authenticator ignores\"\n"
        ),
        5 => format!("-\n  {key}: {arn}\n  username: {name}\n"),
        _ => format!(
            "- {key}: {arn}\n  username: {name}\n  groups:\n  - viewers\n  # {name}: keep until OPS-{number} is closed\n"
        ),
    };
    (kind, arn, text)
}

/// One hand editor: its number and how many entries it wrote.
struct Editor {
    index: usize,
    api: Api<ConfigMap>,
    written: usize,
}

impl Editor {
    /// Reads aws-auth, appends the next entry as text at the list's indent (after a blank line
    /// now and then), waits at `together` before the first write if given, and writes back with
    /// the resourceVersion read; on 409 reads again. Returns the entry written.
    async fn edit(&mut self, mut together: Option<Arc<tokio::sync::Barrier>>) -> HandEntry {
        let number = self.written;
        self.written += 1;
        let (kind, arn, draft) = hand_draft(self.index, number);
        let params = PostParams {
            field_manager: Some(EDITOR_MANAGER.to_string()),
            ..PostParams::default()
        };
        for _ in 0..1000 {
            let mut config_map = self.api.get("aws-auth").await.expect("GET aws-auth");
            let data = config_map.data.get_or_insert_with(BTreeMap::new);
            let list = data.entry(data_key(kind).to_string()).or_default();
            let pad = " ".repeat(list_indent(list));
            let text: String = draft
                .split_inclusive('\n')
                .map(|line| format!("{pad}{line}"))
                .collect();
            if !list.is_empty() && !list.ends_with('\n') {
                list.push('\n');
            }
            if number % 4 == 3 {
                list.push('\n');
            }
            list.push_str(&text);
            if let Some(barrier) = together.take() {
                barrier.wait().await;
            }
            match self.api.replace("aws-auth", &params, &config_map).await {
                Ok(_) => return HandEntry { kind, text, arn },
                Err(kube::Error::Api(status)) if status.code == 409 => continue,
                Err(error) => panic!("editor {}: PUT aws-auth: {error}", self.index),
            }
        }
        panic!("editor {}: still conflicting after 1000 writes", self.index)
    }
}

/// Whether `text` holds `block` exactly once.
fn once(text: &str, block: &str) -> bool {
    text.matches(block).count() == 1
}

/// The checks of one round over the stored aws-auth: what was lost, and how the managed
/// entries differ from `want`.
fn check(
    round: usize,
    config_map: &ConfigMap,
    hand: &[HandEntry],
    want: &[AwsAuthEntry],
) -> (Vec<(String, String)>, Vec<String>) {
    let data = config_map.data.clone().unwrap_or_default();
    let annotations = config_map.metadata.annotations.clone().unwrap_or_default();
    let list = |kind: MapKind| data.get(data_key(kind)).cloned().unwrap_or_default();
    let mut lost = Vec::new();
    for (kind, name, block) in [
        (MapKind::MapRoles, "node role", NODE_ROLE),
        (MapKind::MapUsers, "cluster creator", CREATOR),
    ] {
        if !once(&list(kind), block) {
            lost.push((
                name.to_string(),
                format!(
                    "round {round}: the {name}'s entry is not there byte for byte:\n{block}in\n{}",
                    list(kind)
                ),
            ));
        }
    }
    for entry in hand {
        if !once(&list(entry.kind), &entry.text) {
            lost.push((
                entry.arn.clone(),
                format!(
                    "round {round}: the hand entry {} is not there byte for byte (once):\n{}in\n{}",
                    entry.arn,
                    entry.text,
                    list(entry.kind)
                ),
            ));
        }
    }
    let mut wrong = Vec::new();
    let parsed = match aws_auth::parse(&data, &annotations, None) {
        Ok(parsed) => parsed,
        Err(error) => {
            wrong.push(format!("round {round}: aws-auth does not parse: {error}"));
            return (lost, wrong);
        }
    };
    let want_arns: BTreeSet<String> = want.iter().map(|e| e.arn.clone()).collect();
    if parsed.managed != want_arns {
        wrong.push(format!(
            "round {round}: annotation {:?} lists {:?}, the file {want_arns:?}",
            AWS_AUTH_MANAGED_ANNOTATION, parsed.managed
        ));
    }
    let normal = |entry: &AwsAuthEntry| {
        (
            entry.kind,
            entry.arn.clone(),
            entry.username.clone(),
            entry.groups.iter().cloned().collect::<BTreeSet<_>>(),
        )
    };
    let mut have: Vec<_> = parsed
        .entries
        .iter()
        .filter(|entry| want_arns.contains(&entry.arn))
        .map(normal)
        .collect();
    let mut wanted: Vec<_> = want.iter().map(normal).collect();
    have.sort();
    wanted.sort();
    if have != wanted {
        wrong.push(format!(
            "round {round}: managed entries\n{have:#?}\nthe file's\n{wanted:#?}"
        ));
    }
    // Nothing else: the node role, the creator, the hand entries.
    let others = parsed.entries.len() - have.len();
    if others != hand.len() + 2 {
        wrong.push(format!(
            "round {round}: {others} entries besides the managed ones, want {} (hand entries, node role, creator)",
            hand.len() + 2
        ));
    }
    (lost, wrong)
}

impl Campaign {
    /// Runs the campaign on a [`World::start`]ed world; panics only when accessctl or an
    /// editor fails outright (a failed apply, a server error), and reports losses in
    /// [`Figures`].
    pub async fn run(&self, world: &World) -> Figures {
        let sets = managed_sets(self);
        let client = world.server.client().await;
        let mut editors: Vec<Editor> = (0..self.editors)
            .map(|index| Editor {
                index,
                api: Api::namespaced(client.clone(), "kube-system"),
                written: 0,
            })
            .collect();
        let mut figures = Figures {
            rounds: self.rounds,
            writers: self.editors + 1,
            ..Figures::default()
        };
        let mut hand: Vec<HandEntry> = Vec::new();
        let mut previous: Vec<AwsAuthEntry> = Vec::new();
        let file = world.file().display().to_string();
        for (round, set) in sets.iter().enumerate() {
            let (added, changed, removed) = delta(&previous, set);
            figures.added += added;
            figures.changed += changed;
            figures.removed += removed;
            previous = set.clone();
            world.write_file(&access_yaml(set));

            let mut gate = world
                .server
                .hold_query("PUT", AWS_AUTH_PATH, "fieldManager=accessctl");
            let mut command = world.command(&["apply", "-f", &file, "--auto-approve"]);
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
            let child = command.spawn().expect("accessctl starts");
            let mut apply = tokio::task::spawn_blocking(move || {
                child.wait_with_output().expect("accessctl ends")
            });
            tokio::select! {
                () = gate.arrived() => {}
                output = &mut apply => {
                    let output = output.expect("waited");
                    panic!("round {round}: apply ended before writing aws-auth:\n{}", shown(&output));
                }
            }
            // accessctl has read and merged; the editors write around its held PUT.
            let together = Arc::new(tokio::sync::Barrier::new(self.editors));
            let first = futures_util::future::join_all(
                editors
                    .iter_mut()
                    .map(|editor| editor.edit(Some(together.clone()))),
            )
            .await;
            hand.extend(first);
            gate.open();
            let second =
                futures_util::future::join_all(editors.iter_mut().map(|editor| editor.edit(None)))
                    .await;
            hand.extend(second);
            let output = apply.await.expect("waited");
            assert_eq!(
                output.status.code(),
                Some(0),
                "round {round}: apply\n{}",
                shown(&output)
            );
            figures.applies += 1;
            let (lost, wrong) = check(round, &world.aws_auth(), &hand, set);
            for (what, how) in lost {
                figures.lost.entry(what).or_insert(how);
            }
            figures.wrong_managed.extend(wrong);
        }
        figures.hand_edits = hand.len();
        figures.editor_conflicts = world.conflicts(EDITOR_MANAGER);
        figures.accessctl_conflicts = world.conflicts("accessctl");
        let plan = world.run(&["plan", "-f", &file]).await;
        if plan.status.code() != Some(0) {
            figures
                .wrong_managed
                .push(format!("after the last round, plan:\n{}", shown(&plan)));
        }
        figures
    }
}

impl Figures {
    /// Entries lost (hand, node role, creator), counted once each.
    pub fn entries_lost(&self) -> usize {
        self.lost.len()
    }

    /// The campaign's table, as docs/reliability.md records it.
    pub fn table(&self) -> String {
        format!(
            "| rounds | writers | hand edits | accessctl applies | managed adds / changes / removals | conflicts seen (editors / accessctl) | entries lost |\n\
             |---|---|---|---|---|---|---|\n\
             | {} | {} ({} hand editors + accessctl) | {} | {} | {} / {} / {} | {} / {} | {} |\n",
            self.rounds,
            self.writers,
            self.writers - 1,
            self.hand_edits,
            self.applies,
            self.added,
            self.changed,
            self.removed,
            self.editor_conflicts,
            self.accessctl_conflicts,
            self.entries_lost()
        )
    }
}
