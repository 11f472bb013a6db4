//! Name and value rules of IAM, EKS and Kubernetes, as pure functions: `Err` says what is wrong,
//! in words that complete "invalid … `x`: ".

/// IAM name kinds, each with its own length limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IamName {
    User,
    Role,
    Group,
    Policy,
    InlinePolicy,
}

impl IamName {
    fn max(self) -> usize {
        match self {
            IamName::User | IamName::Role => 64,
            IamName::Group | IamName::Policy | IamName::InlinePolicy => 128,
        }
    }
}

fn length(text: &str, min: usize, max: usize) -> Result<(), String> {
    let count = text.chars().count();
    if count < min || count > max {
        return Err(if min == 0 {
            format!("must be at most {max} characters")
        } else {
            format!("must be {min} to {max} characters")
        });
    }
    Ok(())
}

/// IAM's `[\w+=,.@-]{1,N}`.
pub fn iam_name(kind: IamName, name: &str) -> Result<(), String> {
    length(name, 1, kind.max())?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    {
        return Err("may contain only letters, digits and `_+=,.@-`".to_string());
    }
    Ok(())
}

/// STS `RoleSessionName`: `[\w+=,.@-]{2,64}`.
pub fn session_name(name: &str) -> Result<(), String> {
    length(name, 2, 64)?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    {
        return Err("may contain only letters, digits and `_+=,.@-`".to_string());
    }
    Ok(())
}

/// STS `ExternalId`: `[\w+=,.@:/-]{2,1224}`.
pub fn external_id(id: &str) -> Result<(), String> {
    length(id, 2, 1224)?;
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c))
    {
        return Err("may contain only letters, digits and `_+=,.@:/-`".to_string());
    }
    Ok(())
}

/// How to fix a name [`iam_name`] refuses: a valid name close to it.
pub fn iam_name_hint(kind: IamName, name: &str) -> String {
    let mut fixed: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(kind.max())
        .collect();
    if fixed.is_empty() {
        fixed.push_str("name");
    }
    format!(
        "IAM names are 1 to {} letters, digits and `_+=,.@-`: for example `{fixed}`",
        kind.max()
    )
}

/// `/` or `/a/b/`: printable ASCII, at most 512 characters.
pub fn iam_path(path: &str) -> Result<(), String> {
    length(path, 1, 512)?;
    if !path.starts_with('/') || !path.ends_with('/') {
        return Err("must start and end with `/`".to_string());
    }
    if path.contains("//") {
        return Err("must not contain `//`".to_string());
    }
    if !path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c)) {
        return Err("may contain only printable ASCII characters without spaces".to_string());
    }
    Ok(())
}

fn tag_characters(text: &str) -> Result<(), String> {
    if text
        .chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
    {
        Ok(())
    } else {
        Err("may contain only letters, digits, spaces and `_.:/=+-@`".to_string())
    }
}

pub fn tag_key(key: &str) -> Result<(), String> {
    length(key, 1, 128)?;
    tag_characters(key)?;
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err("the prefix `aws:` is reserved by AWS".to_string());
    }
    Ok(())
}

pub fn tag_value(value: &str) -> Result<(), String> {
    length(value, 0, 256)?;
    tag_characters(value)
}

pub fn account_id(account: &str) -> Result<(), String> {
    if crate::model::AccountId::parse(account).is_some() {
        Ok(())
    } else {
        Err("an AWS account id is exactly 12 digits".to_string())
    }
}

/// EKS cluster names: letters, digits, `-` and `_`, starting with a letter or digit.
pub fn cluster_name(name: &str) -> Result<(), String> {
    length(name, 1, 100)?;
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(
            "may contain only letters, digits, `-` and `_`, and must start with a letter or digit"
                .to_string(),
        );
    }
    Ok(())
}

/// `us-east-1`, `us-gov-west-1`, `cn-north-1`.
pub fn region(region: &str) -> Result<(), String> {
    let parts: Vec<&str> = region.split('-').collect();
    let shaped = parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if shaped {
        Ok(())
    } else {
        Err("an AWS region looks like `us-east-1`".to_string())
    }
}

pub fn oidc_issuer(issuer: &str) -> Result<(), String> {
    match issuer.strip_prefix("https://") {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !rest.contains(' ') => Ok(()),
        _ => Err("an OIDC issuer is an `https://` URL, e.g. `https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE`".to_string()),
    }
}

fn is_label_part(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
}

/// DNS-1123 label (namespaces): lowercase letters, digits and `-`, at most 63.
pub fn dns_label(name: &str) -> Result<(), String> {
    length(name, 1, 63)?;
    if is_label_part(name) {
        Ok(())
    } else {
        Err(
            "must be lowercase letters, digits and `-`, starting and ending with a letter or digit"
                .to_string(),
        )
    }
}

/// DNS-1123 subdomain (service accounts): dot-separated labels, at most 253.
pub fn dns_subdomain(name: &str) -> Result<(), String> {
    length(name, 1, 253)?;
    if name.split('.').all(is_label_part) {
        Ok(())
    } else {
        Err("must be lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit".to_string())
    }
}

/// RBAC object names are path segments: anything but `/` and `%`, and not `.` or `..`
/// (so `system:aggregate-to-view` is fine).
pub fn rbac_name(name: &str) -> Result<(), String> {
    length(name, 1, 253)?;
    if name == "." || name == ".." {
        return Err("must not be `.` or `..`".to_string());
    }
    if name.contains('/') || name.contains('%') {
        return Err("must not contain `/` or `%`".to_string());
    }
    Ok(())
}

fn is_qualified_part(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// Label and annotation keys: `[prefix/]name`.
pub fn metadata_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix
        && dns_subdomain(prefix).is_err()
    {
        return Err("the prefix before `/` must be a DNS subdomain like `example.com`".to_string());
    }
    if !is_qualified_part(name) {
        return Err("the name must be at most 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit".to_string());
    }
    Ok(())
}

pub fn label_value(value: &str) -> Result<(), String> {
    if value.is_empty() || is_qualified_part(value) {
        Ok(())
    } else {
        Err("a label value is at most 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit".to_string())
    }
}

/// Prefixes EKS reserves: access entries may not use them for usernames or groups.
pub const EKS_RESERVED_PREFIXES: [&str; 5] = ["system:", "eks:", "aws:", "amazon:", "iam:"];

/// Templates aws-auth (and access entries) expand in usernames.
pub const USERNAME_TEMPLATES: [&str; 5] = [
    "{{AccountID}}",
    "{{SessionName}}",
    "{{SessionNameRaw}}",
    "{{EC2PrivateDNSName}}",
    "{{EC2InstanceID}}",
];

/// The first `{{…}}` in `username` that is not a known template.
pub fn unknown_template(username: &str) -> Option<&str> {
    let mut rest = username;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start..];
        let Some(end) = after.find("}}") else {
            return Some(after);
        };
        let template = &after[..end + 2];
        if !USERNAME_TEMPLATES.contains(&template) {
            return Some(template);
        }
        rest = &after[end + 2..];
    }
    None
}

/// The session templates EKS wants a `:` before, in access entries.
const SESSION_TEMPLATES: [&str; 2] = ["{{SessionName}}", "{{SessionNameRaw}}"];

/// The first session template of `username` with no `:` anywhere before it, which EKS refuses
/// in an access entry (EKS User Guide: "If you add {{SessionName}} to your username, the
/// username must include a colon before {{SessionName}}").
pub fn session_template_without_colon(username: &str) -> Option<&'static str> {
    let (at, template) = SESSION_TEMPLATES
        .iter()
        .filter_map(|template| username.find(template).map(|at| (at, *template)))
        .min()?;
    (!username[..at].contains(':')).then_some(template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_names() {
        assert!(iam_name(IamName::User, "john.doe@example.com").is_ok());
        assert!(iam_name(IamName::User, "has space").is_err());
        assert!(iam_name_hint(IamName::User, "has space").ends_with("`has-space`"));
        let long = iam_name_hint(IamName::User, &"é".repeat(70));
        assert!(long.ends_with(&format!("`{}`", "-".repeat(64))));
        assert!(iam_name(IamName::User, &"a".repeat(64)).is_ok());
        assert!(iam_name(IamName::User, &"a".repeat(65)).is_err());
        assert!(iam_name(IamName::Group, &"a".repeat(128)).is_ok());
        assert!(iam_name(IamName::Role, "").is_err());
    }

    /// `check` accepts each `ok` text and refuses each other one.
    fn accepts(check: fn(&str) -> Result<(), String>, ok: &[&str], refused: &[&str]) {
        for text in ok {
            assert_eq!(check(text), Ok(()), "{text:?} is refused");
        }
        for text in refused {
            assert!(check(text).is_err(), "{text:?} is accepted");
        }
    }

    #[test]
    fn paths() {
        let long = format!("/{}/", "a".repeat(511));
        accepts(iam_path, &["/", "/team/a/"], &["team/", "/a b/", &long]);
    }

    #[test]
    fn tags() {
        accepts(tag_key, &["team"], &["aws:x", ""]);
        accepts(tag_value, &[""], &["a!"]);
    }

    #[test]
    fn kubernetes_names() {
        accepts(
            dns_label,
            &["my-test-ns"],
            &["My-ns", "-a", &"a".repeat(64)],
        );
        accepts(dns_subdomain, &["a.b-c"], &["a..b"]);
        accepts(rbac_name, &["system:aggregate-to-view"], &["a/b"]);
        accepts(
            metadata_key,
            &["app.kubernetes.io/name", "team"],
            &["Bad Prefix/x"],
        );
        accepts(label_value, &[""], &["a b"]);
    }

    #[test]
    fn clusters_regions_issuers() {
        accepts(cluster_name, &["my_cluster-1"], &["-x"]);
        accepts(region, &["us-east-1", "us-gov-west-1"], &["useast1"]);
        accepts(
            oidc_issuer,
            &["https://oidc.eks.us-east-1.amazonaws.com/id/X"],
            &["oidc.eks.us-east-1.amazonaws.com/id/X"],
        );
        accepts(account_id, &["012345678901"], &["12345"]);
    }

    #[test]
    fn templates() {
        assert_eq!(unknown_template("{{SessionName}}-x"), None);
        assert_eq!(
            unknown_template("admin:{{AccountID}}:{{Session}}"),
            Some("{{Session}}")
        );
        assert_eq!(unknown_template("a{{b"), Some("{{b"));
    }

    /// EKS's examples: `john{{SessionName}}` is refused, `:john{{SessionName}}` and
    /// `jo:hn{{SessionName}}` are not; the colon only has to be before the template.
    #[test]
    fn session_templates_need_a_colon_before_them() {
        for refused in [
            "john{{SessionName}}",
            "{{SessionName}}",
            "{{SessionNameRaw}}:x",
            "{{AccountID}}-{{SessionNameRaw}}",
        ] {
            assert!(
                session_template_without_colon(refused).is_some(),
                "{refused:?} is accepted"
            );
        }
        assert_eq!(
            session_template_without_colon("a-{{SessionNameRaw}}"),
            Some("{{SessionNameRaw}}")
        );
        for accepted in [
            ":john{{SessionName}}",
            "jo:hn{{SessionName}}",
            "arn:aws:sts::111122223333:assumed-role/x/{{SessionName}}",
            "{{AccountID}}:{{SessionNameRaw}}",
            "john",
            "john:",
        ] {
            assert_eq!(
                session_template_without_colon(accepted),
                None,
                "{accepted:?} is refused"
            );
        }
    }
}
