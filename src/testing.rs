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
