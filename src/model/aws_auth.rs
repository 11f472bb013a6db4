//! The aws-auth ConfigMap entries as accessctl writes them (eksctl's style): pure rendering,
//! shared by the Kubernetes writer (`kube::aws_auth`) and the checks that size the ConfigMap.

use std::collections::HashMap;

use super::{AwsAuth, AwsAuthEntry, MapKind};

/// What the authenticator keys an entry by: roles by their lower-cased ARN, users by their
/// ARN, accounts by their id; a later entry with the same key replaces an earlier one
/// (aws-iam-authenticator `pkg/mapper/configmap/configmap.go` `saveMap`, with
/// `RoleMapping.Key` / `UserMapping.Key` in `pkg/config/mapper.go`).
pub fn authenticator_key(entry: &AwsAuthEntry) -> (MapKind, String) {
    let key = match entry.kind {
        MapKind::MapRoles => entry.arn.to_lowercase(),
        MapKind::MapUsers | MapKind::MapAccounts => entry.arn.clone(),
    };
    (entry.kind, key)
}

impl AwsAuth {
    /// The entries EKS uses, in file order: of entries with the same
    /// [`authenticator_key`], only the last.
    pub fn effective(&self) -> impl Iterator<Item = &AwsAuthEntry> {
        let last: HashMap<(MapKind, String), usize> = self
            .entries
            .iter()
            .enumerate()
            .map(|(index, entry)| (authenticator_key(entry), index))
            .collect();
        self.entries
            .iter()
            .enumerate()
            .filter(move |(index, entry)| last.get(&authenticator_key(entry)) == Some(index))
            .map(|(_, entry)| entry)
    }
}

/// The bytes of aws-auth's `data` for these entries as accessctl writes them: each list's key
/// and its entries, rendered as [`render_entry`] renders them.
pub fn data_size(entries: &[AwsAuthEntry]) -> usize {
    let mut size = 0;
    for kind in LISTS {
        let key = data_key(kind);
        let mut listed = entries.iter().filter(|entry| entry.kind == kind).peekable();
        if listed.peek().is_some() {
            size += key.len()
                + listed
                    .map(|entry| render_entry(entry, 0).len())
                    .sum::<usize>();
        }
    }
    size
}

/// The three lists, in the order they are read and written.
pub const LISTS: [MapKind; 3] = [MapKind::MapRoles, MapKind::MapUsers, MapKind::MapAccounts];

/// The ConfigMap data key of a list (case-sensitive: EKS reads no other spelling).
pub fn data_key(kind: MapKind) -> &'static str {
    match kind {
        MapKind::MapRoles => "mapRoles",
        MapKind::MapUsers => "mapUsers",
        MapKind::MapAccounts => "mapAccounts",
    }
}

/// An entry in the style eksctl writes, at `indent` spaces, ending with a newline.
pub fn render_entry(entry: &AwsAuthEntry, indent: usize) -> String {
    let pad = " ".repeat(indent);
    if entry.kind == MapKind::MapAccounts {
        return format!("{pad}- {}\n", double_quoted(&entry.arn));
    }
    let arn_key = match entry.kind {
        MapKind::MapRoles => "rolearn",
        _ => "userarn",
    };
    let mut text = format!("{pad}- {arn_key}: {}\n", scalar(&entry.arn));
    if let Some(username) = &entry.username {
        text.push_str(&format!("{pad}  username: {}\n", scalar(username)));
    }
    if !entry.groups.is_empty() {
        text.push_str(&format!("{pad}  groups:\n"));
        for group in &entry.groups {
            text.push_str(&format!("{pad}    - {}\n", scalar(group)));
        }
    }
    text
}

/// A YAML scalar: plain when that is unambiguous, else double-quoted ([`double_quoted`]).
pub(crate) fn scalar(text: &str) -> String {
    let plain_chars = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ":/._@{}+=-".contains(c));
    let starts_well = text.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    let resolves_otherwise = matches!(
        text.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null"
    );
    if plain_chars && starts_well && !text.ends_with(':') && !resolves_otherwise {
        text.to_string()
    } else {
        double_quoted(text)
    }
}

/// `text` as a YAML double-quoted scalar that every YAML reader gives back exactly: `"`, `\\`
/// and everything outside YAML's printable set (controls, DEL, C1) escaped, and the characters
/// some readers take for line breaks or marks (U+2028, U+2029, U+FEFF) too.
pub fn double_quoted(text: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            ' '..='~' => out.push(ch),
            _ if is_printable(ch) => out.push(ch),
            _ => {
                let code = u32::from(ch);
                if code <= 0xFFFF {
                    let _ = write!(out, "\\u{code:04X}");
                } else {
                    let _ = write!(out, "\\U{code:08X}");
                }
            }
        }
    }
    out.push('"');
    out
}

/// YAML's printable set beyond ASCII, minus the characters some readers treat as line breaks
/// or marks.
fn is_printable(ch: char) -> bool {
    matches!(u32::from(ch), 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x1_0000..=0x10_FFFF)
        && !matches!(ch, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}
