//! IAM's matching rules for what documents name: action and resource wildcards, and which
//! principals a `Principal` entry names.

use crate::model::{AccountId, IamArn, parse_arn};

/// IAM's action match: the service prefix and the name are case-insensitive; `*` and `?` are
/// wildcards.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    wildcard_match(pattern, action, true)
}

/// IAM's `*` (any run) and `?` (one character) match, whole string.
pub fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    if ignore_case {
        glob(&pattern.to_ascii_lowercase(), text, true)
    } else {
        glob(pattern, text, false)
    }
}

/// The glob under both matchers. With `fold`, `text` is compared in ASCII lower case (the
/// pattern must already be lower case). Without allocating: it runs once per statement and
/// request.
pub(super) fn glob(pattern: &str, text: &str, fold: bool) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        let fold_byte = |b: u8| if fold { b.to_ascii_lowercase() } else { b };
        return glob_items(pattern.as_bytes(), text.as_bytes(), b'*', b'?', fold_byte);
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let fold_char = |c: char| if fold { c.to_ascii_lowercase() } else { c };
    glob_items(&pattern, &text, '*', '?', fold_char)
}

fn glob_items<T: Copy + PartialEq>(
    pattern: &[T],
    text: &[T],
    any_run: T,
    any_one: T,
    fold: impl Fn(T) -> T,
) -> bool {
    // Iterative glob with one backtracking point: linear in practice, no recursion.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == any_one || pattern[p] == fold(text[t])) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == any_run {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == any_run)
}

pub(super) fn is_account_id(text: &str) -> bool {
    AccountId::is_valid(text)
}

/// `arn:PARTITION:iam::ID:root` → `ID`.
pub(super) fn account_root_id(text: &str) -> Option<&str> {
    let arn = parse_arn(text)?;
    matches!(IamArn::parse(text)?, IamArn::AccountRoot { .. })
        .then_some(arn.account)
        .filter(|id| is_account_id(id))
}

/// The account an `AWS` principal entry opens to as a whole: a bare 12-digit id or the
/// account's `:root` ARN.
pub fn account_principal(principal: &str) -> Option<&str> {
    if is_account_id(principal) {
        return Some(principal);
    }
    account_root_id(principal)
}

/// How an `AWS` principal entry names a principal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalMatch {
    /// By its own ARN (paths aside).
    Direct,
    /// By its account, or `*`: in IAM the principal also needs an identity `Allow`.
    Delegated,
}

/// Does the `AWS` principal entry `pattern` name the principal `arn` of `account`?
pub fn principal_match(pattern: &str, arn: &str, account: &str) -> Option<PrincipalMatch> {
    if pattern == "*" || is_account_root(pattern, account) {
        return Some(PrincipalMatch::Delegated);
    }
    (pattern == arn || same_principal(pattern, arn)).then_some(PrincipalMatch::Direct)
}

/// `123456789012` or `arn:aws:iam::123456789012:root`, for this account.
pub fn is_account_root(pattern: &str, account: &str) -> bool {
    if pattern == account {
        return true;
    }
    matches!(IamArn::parse(pattern), Some(root @ IamArn::AccountRoot { .. }) if root.account() == account)
}

/// Two IAM ARNs naming the same user or role, paths aside: trust policies and aws-auth
/// `mapRoles` may leave the path out.
pub fn same_principal(one: &str, other: &str) -> bool {
    match (IamArn::parse(one), IamArn::parse(other)) {
        (Some(one), Some(other)) => one.same_principal(&other),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matching() {
        assert!(wildcard_match("a*c", "abbbc", false));
        assert!(wildcard_match("*", "", false));
        assert!(wildcard_match("a?c", "abc", false));
        assert!(!wildcard_match("a?c", "ac", false));
        assert!(!wildcard_match("abc", "abcd", false));
        assert!(wildcard_match("*:Get*", "s3:GetObject", false));
        assert!(action_matches("EKS:describe*", "eks:DescribeCluster"));
    }

    #[test]
    fn paths_do_not_matter_for_principal_identity() {
        assert!(same_principal(
            "arn:aws:iam::1:role/admin",
            "arn:aws:iam::1:role/team/admin"
        ));
        assert!(!same_principal(
            "arn:aws:iam::1:role/admin",
            "arn:aws:iam::1:user/admin"
        ));
        assert!(!same_principal(
            "arn:aws:iam::1:role/admin",
            "arn:aws:iam::2:role/admin"
        ));
    }
}
