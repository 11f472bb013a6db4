//! Assertions the unit tests of every module share.

/// Asserts that `text` contains `part`, showing the whole text when it does not.
#[track_caller]
pub fn assert_contains(text: &str, part: &str) {
    assert!(text.contains(part), "`{part}` not in:\n{text}");
}

/// Asserts that `f` takes each input of `cases` to the output beside it.
#[track_caller]
pub fn assert_cases<I, O, E>(f: impl Fn(I) -> O, cases: &[(I, E)])
where
    I: Copy + std::fmt::Debug,
    O: PartialEq<E> + std::fmt::Debug,
    E: std::fmt::Debug,
{
    for (input, expected) in cases {
        assert_eq!(f(*input), *expected, "for {input:?}");
    }
}

/// A file `name` holding `text`, alone in a new temporary directory (removed when the
/// returned [`tempfile::TempDir`] is dropped).
pub fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("a temporary file");
    (dir, path)
}
