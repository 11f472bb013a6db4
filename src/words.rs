//! Small helpers for messages people read: counted nouns (`1 group`, `2 groups`), quoted lists
//! (`` `a`, `b` ``) and the
//! reason an I/O call failed, without Rust's `(os error 2)` suffix.

/// `1 group`, `2 groups`, `0 policies`.
pub fn count(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// Each item in backticks, joined by `, `: `` `a`, `b` ``; empty for no items.
pub fn quoted_list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a file could not be read or written, in words: `no such file or directory`,
/// `permission denied`. Rust's text for other errors is kept, minus its `(os error N)`.
pub fn io_reason(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::NotFound => "no such file or directory".to_string(),
        ErrorKind::PermissionDenied => "permission denied".to_string(),
        ErrorKind::IsADirectory => "it is a directory".to_string(),
        ErrorKind::NotADirectory => "a part of the path is not a directory".to_string(),
        ErrorKind::AlreadyExists => "it already exists".to_string(),
        ErrorKind::ReadOnlyFilesystem => "the file system is read-only".to_string(),
        ErrorKind::StorageFull => "no space left on the device".to_string(),
        _ => without_os_error(&error.to_string()),
    }
}

/// One error of a chain, for a message: an I/O error by [`io_reason`], anything else by its
/// own text without the `(os error N)` codes it may carry from an I/O error inside.
pub fn error_message(error: &(dyn std::error::Error + 'static)) -> String {
    match error.downcast_ref::<std::io::Error>() {
        Some(io) => io_reason(io),
        None => strip_os_error_codes(&error.to_string()),
    }
}

/// `tcp connect error: Connection refused (os error 111)` → `tcp connect error: Connection
/// refused`.
fn strip_os_error_codes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" (os error ") {
        let after = &rest[at + " (os error ".len()..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with(')') {
            out.push_str(&rest[..at]);
            rest = &after[digits + 1..];
        } else {
            out.push_str(&rest[..at + 1]);
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// `Broken pipe (os error 32)` → `broken pipe`.
fn without_os_error(text: &str) -> String {
    let text = strip_os_error_codes(text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if chars.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind};

    use super::*;

    #[test]
    fn counted_nouns() {
        assert_eq!(count(0, "policy", "policies"), "0 policies");
        assert_eq!(count(1, "policy", "policies"), "1 policy");
        assert_eq!(count(2, "group", "groups"), "2 groups");
    }

    #[test]
    fn quoted_lists() {
        assert_eq!(quoted_list(Vec::<String>::new()), "");
        assert_eq!(quoted_list(["get"]), "`get`");
        assert_eq!(quoted_list(&["a".to_string(), "b".to_string()]), "`a`, `b`");
    }

    #[test]
    fn io_reasons_have_no_os_error_code() {
        let missing = Error::from_raw_os_error(2);
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        assert_eq!(io_reason(&missing), "no such file or directory");
        assert_eq!(
            io_reason(&Error::from_raw_os_error(32)),
            "broken pipe",
            "{}",
            Error::from_raw_os_error(32)
        );
        assert_eq!(io_reason(&Error::other("Custom text")), "custom text");
        assert_eq!(without_os_error("Broken pipe (os error 32)"), "broken pipe");
        assert_eq!(without_os_error("AWS is down"), "AWS is down");
        assert_eq!(
            strip_os_error_codes("connect: Connection refused (os error 111): retry (os error)"),
            "connect: Connection refused: retry (os error)"
        );
        let wrapped = std::io::Error::other(Error::from_raw_os_error(2));
        assert_eq!(error_message(&wrapped), "no such file or directory");
        let text = std::fmt::Error;
        assert_eq!(error_message(&text), text.to_string());
    }
}
