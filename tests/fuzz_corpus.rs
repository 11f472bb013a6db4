//! The fuzz targets' properties (src/fuzzing.rs) over every committed input: the seed corpora
//! (fuzz/seeds/TARGET/) and every input a fuzzer ever crashed on (fuzz/regressions/TARGET/).
//! The fuzzer itself runs outside CI (`scripts/fuzz`); this keeps its properties checked.

use std::path::{Path, PathBuf};

use accessctl::fuzzing::TARGETS;

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&directory) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.map(|entry| entry.unwrap().path()).collect();
    paths.sort();
    paths
}

fn replay(kind: &str) -> usize {
    let mut count = 0;
    for (target, property) in TARGETS {
        for path in inputs(kind, target) {
            let bytes = std::fs::read(&path).unwrap();
            if std::panic::catch_unwind(|| property(&bytes)).is_err() {
                panic!("{target}: the property fails on {}", path.display());
            }
            count += 1;
        }
    }
    count
}

/// Every target has seeds, and every seed passes.
#[test]
fn seeds_hold_every_property() {
    for (target, _) in TARGETS {
        assert!(
            !inputs("seeds", target).is_empty(),
            "fuzz/seeds/{target}/ is empty: run fuzz/make-seeds"
        );
    }
    assert!(replay("seeds") > 100);
}

/// Every crash the fuzzers found stays fixed.
#[test]
fn crash_regressions_hold_every_property() {
    replay("regressions");
}
