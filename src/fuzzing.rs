//! The properties the fuzz targets (`fuzz/fuzz_targets/*.rs`) check, one function per parser
//! of outside input. Each takes the fuzzer's bytes and panics when a property fails; a parse
//! error is not a failure, a panic inside accessctl is. The targets are one-liners calling
//! these, and `tests/fuzz_corpus.rs` replays every seed and every crash regression input
//! through them, so CI checks the same properties on the corpus. See docs/reliability.md,
//! "Fuzzing".
//!
//! Inputs never name real files: access.yaml is loaded as if it were at [`NOWHERE`], a
//! directory that does not exist, so `file:` references are reported missing, never read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::import;
use crate::kube::aws_auth::{self, Edit, LISTS};
use crate::model::policy::{DocumentKind, PolicyDocument};
use crate::model::{AWS_AUTH_MANAGED_ANNOTATION, AwsAuthEntry, MapKind};
use crate::planfile::{self, SAVED_PLAN_KIND, SavedPlan};
use crate::snapshot;
use crate::spec::{self, Diagnostic, Facts, Sources};

/// Where fuzzed access.yaml files are loaded from: a directory that does not exist.
pub const NOWHERE: &str = "/nonexistent/accessctl-fuzz/access.yaml";

/// A target's property: panics when it does not hold for the input.
pub type Property = fn(&[u8]);

/// The fuzz targets, by name (`fuzz/fuzz_targets/NAME.rs`, `fuzz/seeds/NAME/`).
pub const TARGETS: [(&str, Property); 6] = [
    ("access_yaml", access_yaml),
    ("aws_auth", aws_auth_merge),
    ("snapshot", snapshot),
    ("saved_plan", saved_plan),
    ("policy_document", policy_document),
    ("import", import_live),
];

/// access.yaml bytes → the desired state or diagnostics. Every diagnostic has a message,
/// points inside the file (or nowhere), and renders.
pub fn access_yaml(data: &[u8]) {
    let path = Path::new(NOWHERE);
    // Lines as YAML counts them; at most one past the last text, to point at the end.
    let lines = spec::diagnostic::source_lines(&String::from_utf8_lossy(data)).count();
    match Sources::from_bytes(path, data.to_vec()).and_then(|sources| sources.parse().resolve(None))
    {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                check_diagnostic(warning, lines);
            }
        }
        Err(diagnostics) => {
            assert!(
                !diagnostics.0.is_empty(),
                "a failed load must say why: no diagnostic"
            );
            for diagnostic in &diagnostics.0 {
                check_diagnostic(diagnostic, lines);
            }
        }
    }
}

fn check_diagnostic(diagnostic: &Diagnostic, lines: usize) {
    assert!(
        !diagnostic.message.trim().is_empty(),
        "a diagnostic without a message: {diagnostic:?}"
    );
    assert!(
        diagnostic.line <= lines,
        "diagnostic at line {} of a {lines}-line file: {diagnostic:?}",
        diagnostic.line
    );
    if diagnostic.line > 0 {
        assert!(
            diagnostic.snippet.is_some(),
            "a diagnostic with a line shows it: {diagnostic:?}"
        );
    }
    let shown = diagnostic.to_string();
    assert!(shown.contains(&diagnostic.message));
}

/// A fresh ARN (or account id) of each list, which no fuzzed ConfigMap is expected to hold.
fn fresh(kind: MapKind, username: Option<&str>, groups: &[String]) -> AwsAuthEntry {
    let arn = match kind {
        MapKind::MapRoles => "arn:aws:iam::000000000000:role/accessctl-fuzz",
        MapKind::MapUsers => "arn:aws:iam::000000000000:user/accessctl-fuzz",
        MapKind::MapAccounts => "000000000000",
    };
    let accounts = kind == MapKind::MapAccounts;
    AwsAuthEntry {
        kind,
        arn: arn.to_string(),
        username: username
            .filter(|name| !accounts && !name.is_empty())
            .map(str::to_string),
        groups: if accounts {
            Vec::new()
        } else {
            groups.to_vec()
        },
    }
}

/// The aws-auth input: a control byte, then `mapRoles`, `mapUsers`, `mapAccounts`, the managed
/// annotation, a username and comma-separated groups, separated by NUL bytes. An absent part
/// is an absent key; control bit 7 drops empty lists' keys instead of keeping them empty.
struct AwsAuthInput {
    control: u8,
    data: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    username: Option<String>,
    groups: Vec<String>,
}

impl AwsAuthInput {
    fn read(bytes: &[u8]) -> Self {
        let (control, rest) = bytes.split_first().map_or((0, bytes), |(c, r)| (*c, r));
        let text = String::from_utf8_lossy(rest);
        let mut parts = text.split('\0');
        let mut data = BTreeMap::new();
        for kind in LISTS {
            if let Some(part) = parts.next()
                && !(part.is_empty() && control & 0x80 != 0)
            {
                data.insert(aws_auth::data_key(kind).to_string(), part.to_string());
            }
        }
        let mut annotations = BTreeMap::new();
        if let Some(part) = parts.next() {
            annotations.insert(AWS_AUTH_MANAGED_ANNOTATION.to_string(), part.to_string());
        }
        let username = parts.next().map(str::to_string);
        let groups = parts
            .next()
            .map(|groups| groups.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        AwsAuthInput {
            control,
            data,
            annotations,
            username,
            groups,
        }
    }
}

/// What a list holds after `edits`, by the rules of [`Edit`], from the parse before.
fn expected_after(entries: &[AwsAuthEntry], edits: &[Edit]) -> Vec<AwsAuthEntry> {
    let mut out = Vec::new();
    for kind in LISTS {
        let mut list: Vec<AwsAuthEntry> = entries
            .iter()
            .filter(|entry| entry.kind == kind)
            .cloned()
            .collect();
        for edit in edits {
            match edit {
                Edit::Remove(arn) => list.retain(|entry| &entry.arn != arn),
                Edit::Upsert(new) if new.kind == kind => {
                    match list.iter().position(|entry| entry.arn == new.arn) {
                        None => list.push(new.clone()),
                        Some(first) => {
                            list[first] = new.clone();
                            let mut index = 0;
                            list.retain(|entry| {
                                index += 1;
                                index - 1 == first || entry.arn != new.arn
                            });
                        }
                    }
                }
                Edit::Upsert(_) => {}
            }
        }
        out.extend(list);
    }
    out
}

fn managed_after(before: &BTreeSet<String>, edits: &[Edit]) -> BTreeSet<String> {
    let mut managed = before.clone();
    for edit in edits {
        match edit {
            Edit::Upsert(entry) => managed.insert(entry.arn.clone()),
            Edit::Remove(arn) => managed.remove(arn),
        };
    }
    managed
}

/// Merges `edits` and checks the result against the rules: it parses back to exactly the
/// expected entries and managed set. Returns the new data and annotations.
fn merge_checked(
    data: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
    edits: &[Edit],
) -> (
    aws_auth::Merged,
    BTreeMap<String, String>,
    crate::model::AwsAuth,
) {
    let before = match aws_auth::parse(data, annotations, None) {
        Ok(before) => before,
        Err(error) => panic!("merge_checked on an unparsable ConfigMap: {error}"),
    };
    let merged = match aws_auth::merge(data, annotations, edits) {
        Ok(merged) => merged,
        Err(error) => panic!("the merge refused a ConfigMap its parse accepted: {error}"),
    };
    let mut new_annotations = annotations.clone();
    new_annotations.insert(
        AWS_AUTH_MANAGED_ANNOTATION.to_string(),
        merged.managed_annotation.clone(),
    );
    let after = match aws_auth::parse(&merged.data, &new_annotations, None) {
        Ok(after) => after,
        Err(error) => panic!(
            "the merged ConfigMap does not parse: {error}\nbefore: {data:#?}\nedits: {edits:#?}\nafter: {:#?}",
            merged.data
        ),
    };
    assert_eq!(
        after.entries,
        expected_after(&before.entries, edits),
        "the merged ConfigMap does not hold the expected entries\nbefore: {data:#?}\nedits: {edits:#?}\nafter: {:#?}",
        merged.data
    );
    assert_eq!(
        after.managed,
        managed_after(&before.managed, edits),
        "the managed annotation after the merge"
    );
    (merged, new_annotations, after)
}

/// The ARN [`aws_auth_merge`] removes to check that a merge touching nothing changes nothing.
const ABSENT: &str = "arn:aws:iam::000000000000:user/absent";

/// The aws-auth parse and merge. No panic; the parse and the merge agree on what is
/// readable; a merge that touches nothing changes no byte; every merge parses back to exactly
/// the entries the edits ask for; entries accessctl adds and then removes again leave every
/// other byte of a block-style list as it was; merging the same edits twice changes nothing
/// the second time.
pub fn aws_auth_merge(bytes: &[u8]) {
    let input = AwsAuthInput::read(bytes);
    let (data, annotations) = (&input.data, &input.annotations);
    let parsed = aws_auth::parse(data, annotations, None);
    let untouched = aws_auth::merge(data, annotations, &[Edit::Remove(ABSENT.into())]);
    let (before, untouched) = match (parsed, untouched) {
        (Ok(before), Ok(untouched)) => (before, untouched),
        (Err(_), Err(_)) => return,
        (parsed, merged) => panic!(
            "the parse and the merge disagree on {data:?}: parse {:?}, merge {:?}",
            parsed.err(),
            merged.err()
        ),
    };
    if before.entries.iter().any(|entry| entry.arn == ABSENT) {
        // The input holds the entry taken for absent (a `mapAccounts` item may be any
        // string): removing it is an ordinary edit, checked as every other.
        merge_checked(data, annotations, &[Edit::Remove(ABSENT.into())]);
        return;
    }
    assert_eq!(&untouched.data, data, "a merge that touches nothing");
    assert!(untouched.rewritten.is_empty());

    // Add an entry to each list (as chosen by the control byte), then remove them again.
    // A list EKS cannot read maps nothing, stays as it is, and accessctl refuses to write
    // into it (the plan says so before apply).
    for kind in &before.unreadable {
        let entry = fresh(*kind, input.username.as_deref(), &input.groups);
        assert!(
            aws_auth::merge(data, annotations, &[Edit::Upsert(entry)]).is_err(),
            "the merge wrote into `{}`, which does not parse",
            aws_auth::data_key(*kind)
        );
    }
    let wanted: Vec<MapKind> = LISTS
        .into_iter()
        .enumerate()
        .filter(|(bit, _)| input.control & (1 << bit) != 0)
        .map(|(_, kind)| kind)
        .filter(|kind| !before.unreadable.contains(kind))
        .collect();
    let added: Vec<AwsAuthEntry> = wanted
        .iter()
        .map(|kind| fresh(*kind, input.username.as_deref(), &input.groups))
        .collect();
    let is_fresh = !before
        .entries
        .iter()
        .any(|entry| added.iter().any(|new| new.arn == entry.arn))
        && !added.iter().any(|new| before.managed.contains(&new.arn));
    if is_fresh && !added.is_empty() {
        let adds: Vec<Edit> = added.iter().cloned().map(Edit::Upsert).collect();
        let (with, with_annotations, _) = merge_checked(data, annotations, &adds);
        let removes: Vec<Edit> = added
            .iter()
            .map(|entry| Edit::Remove(entry.arn.clone()))
            .collect();
        let (without, _, _) = merge_checked(&with.data, &with_annotations, &removes);
        for kind in LISTS {
            if with.rewritten.contains(&kind) {
                continue;
            }
            let key = aws_auth::data_key(kind);
            let original = data.get(key).map(String::as_str);
            let now = without.data.get(key).map(String::as_str);
            let same = match (original, now) {
                (None, None) => true,
                (None, Some(now)) => now.is_empty(),
                // Up to the line breaks that end the list.
                (Some(original), Some(now)) => {
                    now.trim_end_matches('\n') == original.trim_end_matches('\n')
                }
                (Some(_), None) => false,
            };
            assert!(
                same,
                "`{key}` is not as it was after adding and removing an accessctl entry\nbefore: {original:?}\nafter:  {now:?}"
            );
        }
    }

    // Update or remove existing entries (every third, by the control byte), then check the
    // same edits again change nothing.
    let mut edits = Vec::new();
    for (index, entry) in before.entries.iter().enumerate() {
        match (index + usize::from(input.control >> 3)) % 3 {
            0 => edits.push(Edit::Remove(entry.arn.clone())),
            1 if entry.kind != MapKind::MapAccounts => {
                let mut changed = entry.clone();
                changed.groups.push("accessctl:fuzz".to_string());
                edits.push(Edit::Upsert(changed));
            }
            _ => {}
        }
    }
    if edits.is_empty() {
        return;
    }
    let (once, once_annotations, _) = merge_checked(data, annotations, &edits);
    let (twice, _, _) = merge_checked(&once.data, &once_annotations, &edits);
    assert_eq!(
        twice.data, once.data,
        "merging the same edits twice changed the ConfigMap"
    );
}

/// Live-state snapshots: no panic; a snapshot that reads is written and read back the same.
pub fn snapshot(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(state) = snapshot::parse(text) else {
        return;
    };
    let written = match snapshot::to_string(&state) {
        Ok(written) => written,
        Err(error) => panic!("a snapshot that reads cannot be written: {error}"),
    };
    match snapshot::parse(&written) {
        Ok(again) => assert_eq!(again, state, "a snapshot written and read back"),
        Err(error) => panic!("a written snapshot does not read: {error:?}\n{written}"),
    }
}

/// Saved plans: no panic, and — since a fuzzer cannot forge the digest — the input is also
/// signed as accessctl would sign it: a plan that reads is written back and reads the same.
pub fn saved_plan(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_saved_plan(text);
    let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(text) else {
        return;
    };
    map.remove("digest");
    map.insert("kind".into(), Value::String(SAVED_PLAN_KIND.into()));
    let body = planfile::canonical(&Value::Object(map));
    let digest = planfile::sha256(body.to_string().as_bytes());
    let mut whole = body;
    if let Value::Object(map) = &mut whole {
        map.insert("digest".into(), Value::String(digest));
    }
    if let Ok(signed) = planfile::render(&whole) {
        check_saved_plan(&signed);
    }
}

fn check_saved_plan(text: &str) {
    let Ok(plan) = SavedPlan::parse("plan.json", text) else {
        return;
    };
    let written = match plan.to_text() {
        Ok(written) => written,
        Err(error) => panic!("a saved plan that reads cannot be written: {error}"),
    };
    match SavedPlan::parse("plan.json", &written) {
        Ok(again) => assert_eq!(again, plan, "a saved plan written and read back"),
        Err(error) => panic!("a written saved plan does not read: {error}\n{written}"),
    }
}

/// Policy documents, as each kind: no panic; every error has a message; an accepted document's
/// canonical JSON is accepted again as the same document and renders the same (normalizing
/// is idempotent).
pub fn policy_document(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for kind in [
        DocumentKind::Identity,
        DocumentKind::Trust,
        DocumentKind::Any,
    ] {
        match PolicyDocument::parse_str(text, kind) {
            Ok(document) => {
                let value = document.to_value();
                let again = match PolicyDocument::from_value(&value, kind) {
                    Ok(again) => again,
                    Err(errors) => panic!(
                        "the canonical form of an accepted {kind:?} document is refused: {errors:?}\n{value}"
                    ),
                };
                assert_eq!(again, document, "normalizing twice ({kind:?})");
                assert_eq!(again.to_value(), value, "rendering twice ({kind:?})");
                let _ = document.to_pretty_json();
            }
            Err(errors) => {
                assert!(!errors.is_empty(), "a refused document must say why");
                for error in errors {
                    assert!(!error.message.trim().is_empty(), "{error:?}");
                }
            }
        }
    }
}

/// `import` over a live state (the part that needs no kubeconfig): no panic, and what it
/// writes loads against the same live state.
pub fn import_live(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(live) = snapshot::parse(text) else {
        return;
    };
    for cluster in live.clusters.keys().take(2) {
        for policies_dir in [None, Some("policies".into())] {
            let options = import::Options {
                cluster: cluster.clone(),
                policies_dir,
                ..import::Options::default()
            };
            match import::import(&live, &options) {
                Ok(imported) => {
                    let loaded = spec::load_str(
                        Path::new(NOWHERE),
                        &imported.yaml,
                        &Facts { live: Some(&live) },
                    );
                    // `file:` policies are not on disk here; everything else must load.
                    if options.policies_dir.is_none()
                        && let Err(diagnostics) = loaded
                    {
                        panic!(
                            "import wrote a file that does not load:\n{}\n{}",
                            imported.yaml,
                            diagnostics
                                .0
                                .iter()
                                .map(ToString::to_string)
                                .collect::<String>()
                        );
                    }
                }
                Err(import::ImportError::Invalid(message)) => {
                    panic!("import wrote a file that does not load: {message}")
                }
                Err(_) => {}
            }
        }
    }
}
