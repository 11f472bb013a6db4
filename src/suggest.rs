//! "Did you mean …?": the closest known name to a mistyped one.

/// Edit distance in characters, a swap of neighbours counting as one edit (optimal string
/// alignment): `lsit` is one typo away from `list`.
pub fn distance(left: &str, right: &str) -> usize {
    let left: Vec<char> = left.chars().collect();
    let right: Vec<char> = right.chars().collect();
    let mut table = vec![vec![0usize; right.len() + 1]; left.len() + 1];
    for (i, row) in table.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in table[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=left.len() {
        for j in 1..=right.len() {
            let cost = usize::from(left[i - 1] != right[j - 1]);
            let mut best = (table[i - 1][j] + 1)
                .min(table[i][j - 1] + 1)
                .min(table[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && left[i - 1] == right[j - 2] && left[i - 2] == right[j - 1] {
                best = best.min(table[i - 2][j - 2] + 1);
            }
            table[i][j] = best;
        }
    }
    table[left.len()][right.len()]
}

/// The known name closest to `wrong`, if it is close enough to be a typo (or differs only in
/// case).
pub fn closest<'k>(wrong: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let wrong_length = wrong.chars().count();
    let limit = (wrong_length / 3).max(1);
    known
        .into_iter()
        .filter(|name| *name != wrong)
        // The lengths' difference is a lower bound of the distance: a name that cannot be close
        // enough is not measured (a 2,000-character typo against every AWS-managed policy name
        // took seconds).
        .filter(|name| name.chars().count().abs_diff(wrong_length) <= limit)
        // So is the characters' difference, counted in O(length): most names of a long list
        // (the AWS-managed policies) are ruled out without the quadratic measure.
        .filter(|name| {
            name.eq_ignore_ascii_case(wrong) || character_difference(wrong, name) <= limit
        })
        .map(|name| (score(wrong, name), name))
        .filter(|(score, _)| *score <= limit)
        .min()
        .map(|(_, name)| name)
}

/// A lower bound of [`distance`]: how many characters one side has that the other lacks (the
/// larger side). Each edit changes it by at most one, a swap not at all. Characters are
/// counted in 128 buckets, which can only make the bound lower.
fn character_difference(left: &str, right: &str) -> usize {
    let mut counts = [0i32; 128];
    for c in left.chars() {
        counts[(u32::from(c) & 127) as usize] += 1;
    }
    for c in right.chars() {
        counts[(u32::from(c) & 127) as usize] -= 1;
    }
    let (more, fewer) = counts.iter().fold((0, 0), |(more, fewer), &count| {
        (more + count.max(0), fewer + (-count).max(0))
    });
    more.max(fewer).unsigned_abs() as usize
}

/// How far `name` is from `wrong`: 0 when they differ only in case, else the edit distance.
fn score(wrong: &str, name: &str) -> usize {
    if name.eq_ignore_ascii_case(wrong) {
        0
    } else {
        distance(wrong, name)
    }
}

/// The hint for a mistyped name: `did you mean `…`?` with the closest known name, or
/// `otherwise` when none is close.
pub fn hint<'k>(
    wrong: &str,
    known: impl IntoIterator<Item = &'k str>,
    otherwise: impl FnOnce() -> String,
) -> String {
    match closest(wrong, known) {
        Some(close) => format!("did you mean `{close}`?"),
        None => otherwise(),
    }
}

/// `` `a`, `b` or `c` ``.
pub fn list<'k>(names: impl IntoIterator<Item = &'k str>) -> String {
    let names: Vec<String> = names.into_iter().map(|name| format!("`{name}`")).collect();
    match names.split_last() {
        None => "nothing".to_string(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("polices", "policies"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("lsit", "list"), 1);
    }

    #[test]
    fn suggests_only_close_names() {
        let known = ["policies", "groups", "path"];
        assert_eq!(closest("polices", known), Some("policies"));
        assert_eq!(closest("Groups", known), Some("groups"));
        assert_eq!(closest("description", known), None);
        assert_eq!(closest("x", ["y", "zz"]), Some("y"));
    }

    /// Skipping names by length changes no answer: the same as measuring every name.
    #[test]
    fn skipping_by_length_answers_as_measuring_every_name() {
        let known = [
            "policies",
            "policy",
            "groups",
            "group",
            "path",
            "paths",
            "boundary",
            "tags",
            "a",
            "ab",
            "abc",
            "abcdef",
            "AmazonEKSClusterPolicy",
            "AmazonEKSViewPolicy",
        ];
        let measured_all = |wrong: &str| {
            let limit = (wrong.chars().count() / 3).max(1);
            known
                .into_iter()
                .filter(|name| *name != wrong)
                .map(|name| (score(wrong, name), name))
                .filter(|(score, _)| *score <= limit)
                .min()
                .map(|(_, name)| name)
        };
        let wrongs = [
            "",
            "x",
            "ab",
            "abd",
            "abcde",
            "abcdefgh",
            "polcy",
            "policys",
            "Groups",
            "grop",
            "pth",
            "boundry",
            "AmazonEKSViewPolicie",
            "AmazonEKSClusterPolicyy",
            "tag",
        ];
        for wrong in wrongs.iter().copied().chain(known) {
            assert_eq!(closest(wrong, known), measured_all(wrong), "for {wrong:?}");
        }
        assert_eq!(closest(&"A".repeat(2000), known), None);
    }

    proptest::proptest! {
        /// The character difference never exceeds the distance, so skipping by it changes no
        /// answer.
        #[test]
        fn the_character_difference_is_a_lower_bound(
            left in "[a-dA-D\u{e9}\u{161}-]{0,12}",
            right in "[a-dA-D\u{e9}\u{161}-]{0,12}",
        ) {
            proptest::prop_assert!(character_difference(&left, &right) <= distance(&left, &right));
        }
    }

    #[test]
    fn hints_name_the_closest_or_fall_back() {
        let known = ["config-map", "both"];
        let otherwise = || format!("expected {}", list(known));
        assert_eq!(
            hint("confg-map", known, otherwise),
            "did you mean `config-map`?"
        );
        assert_eq!(
            hint("entries", known, otherwise),
            "expected `config-map` or `both`"
        );
    }

    #[test]
    fn lists() {
        assert_eq!(list(["a"]), "`a`");
        assert_eq!(list(["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
