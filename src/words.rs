//! Small helpers for messages people read: counted nouns (`1 group`, `2 groups`) and the
//! reason an I/O call failed, without Rust's `(os error 2)` suffix.

/// `1 group`, `2 groups`, `0 policies`.
pub fn count(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
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

/// `Broken pipe (os error 32)` → `broken pipe`.
fn without_os_error(text: &str) -> String {
    let text = match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => &text[..at],
        _ => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if chars.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text.to_string(),
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
    }
}
