//! The labelled lint corpus (issue 19): every case under `tests/fixtures/lint-corpus/` is an
//! access.yaml whose leading comments say what `accessctl lint` must find in it:
//!
//! ```yaml
//! # label: risky                 (or: benign)
//! # method: rhino-03             (risky cases: the method or class the case stands for)
//! # expect: iam-passrole-compute (risky cases: exactly these rules fire, comma-separated)
//! ```
//!
//! A risky case must trip exactly its `expect` rules (no fewer: a miss; no more: noise); a benign
//! case must trip nothing at all. A case may have a `NAME.live.json` beside it: lint then runs
//! with `--live-state`. The corpus runs the binary, as a user does, through the sealed helper.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::support::binary;

const CORPUS: &str = "tests/fixtures/lint-corpus";

/// The classic IAM privilege-escalation methods (Rhino Security Labs' list of 21), each of which
/// the corpus must carry as a risky case (`# method: rhino-NN`).
const RHINO_METHODS: usize = 21;

#[derive(Debug)]
struct Case {
    path: PathBuf,
    risky: bool,
    method: Option<String>,
    expect: BTreeSet<String>,
}

fn header(text: &str, key: &str) -> Option<String> {
    text.lines()
        .take_while(|line| line.starts_with('#') || line.trim().is_empty())
        .filter_map(|line| line.trim_start_matches('#').trim().strip_prefix(key))
        .filter_map(|rest| rest.strip_prefix(':'))
        .map(|value| value.trim().to_string())
        .next()
}

fn cases() -> Vec<Case> {
    let mut files = Vec::new();
    let mut dirs = vec![binary::root().join(CORPUS)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a corpus entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a corpus case");
            let label = header(&text, "label")
                .unwrap_or_else(|| panic!("{}: no `# label:` line", path.display()));
            let risky = match label.as_str() {
                "risky" => true,
                "benign" => false,
                other => panic!(
                    "{}: label `{other}` is neither risky nor benign",
                    path.display()
                ),
            };
            let expect: BTreeSet<String> = header(&text, "expect")
                .map(|rules| {
                    rules
                        .split(',')
                        .map(|rule| rule.trim().to_string())
                        .filter(|rule| !rule.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(
                risky,
                !expect.is_empty(),
                "{}: a risky case names the rules it expects, a benign one none",
                path.display()
            );
            Case {
                method: header(&text, "method"),
                path,
                risky,
                expect,
            }
        })
        .collect()
}

/// The rules `accessctl lint -o json` reports for a case.
fn fired(case: &Case) -> (BTreeSet<String>, String) {
    let relative = case
        .path
        .strip_prefix(binary::root())
        .unwrap_or(&case.path)
        .display()
        .to_string();
    let live = case.path.with_extension("live.json");
    let live = live
        .strip_prefix(binary::root())
        .unwrap_or(&live)
        .display()
        .to_string();
    let mut args = vec!["lint", "-o", "json", "-f", relative.as_str()];
    if Path::new(&binary::root()).join(&live).exists() {
        args.extend(["--live-state", live.as_str()]);
    }
    let output = binary::run(binary::offline(), &args);
    let shown = binary::shown(&output);
    assert_eq!(output.status.code(), Some(0), "{relative}: {shown}");
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{relative}: {e}"));
    let rules = report["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{relative}: no findings array"))
        .iter()
        .map(|finding| finding["rule"].as_str().unwrap_or_default().to_string())
        .collect();
    (rules, shown)
}

#[test]
fn every_risky_case_is_caught_and_every_benign_case_is_clean() {
    let mut failures = Vec::new();
    for case in cases() {
        let (rules, shown) = fired(&case);
        if rules != case.expect {
            failures.push(format!(
                "{} ({}): expected {:?}, lint found {:?}\n{shown}",
                case.path.display(),
                if case.risky { "risky" } else { "benign" },
                case.expect,
                rules
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_corpus_is_as_wide_as_the_issue_asks() {
    let cases = cases();
    let benign = cases.iter().filter(|case| !case.risky).count();
    assert!(
        cases.len() >= 40,
        "{} cases, at least 40 wanted",
        cases.len()
    );
    assert!(benign >= 8, "{benign} benign cases, at least 8 wanted");
    let methods: BTreeSet<&str> = cases
        .iter()
        .filter(|case| case.risky)
        .filter_map(|case| case.method.as_deref())
        .collect();
    let missing: Vec<String> = (1..=RHINO_METHODS)
        .map(|n| format!("rhino-{n:02}"))
        .filter(|method| !methods.contains(method.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "classic methods without a case: {missing:?}"
    );
    for class in ["exfiltration", "exposure", "notaction", "trust", "rbac"] {
        assert!(
            methods.iter().any(|method| method.starts_with(class)),
            "no risky case of class `{class}`"
        );
    }
}
