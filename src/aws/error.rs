//! Errors from AWS calls, each naming the API call, the object it was about, and a hint for the
//! fix. Messages come from the SDK's error chain, which never holds credentials.

use std::error::Error as StdError;
use std::fmt;

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What went wrong, as far as the fix is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller lacks the permission named by the call.
    AccessDenied,
    /// The credential chain found nothing.
    NoCredentials,
    /// AWS rejected the credentials (unknown key, bad signature).
    InvalidCredentials,
    ExpiredCredentials,
    /// No connection to the endpoint.
    Unreachable,
    Timeout,
    Throttled,
    /// `NoSuchEntity`: the object vanished between two calls, or never existed.
    NotFound,
    /// A response accessctl cannot use (missing field, unreadable policy document).
    BadResponse,
    /// The endpoint answered with something that is not an AWS response at all: a proxy's
    /// 401 or 404 page, an emulator's 500 for an operation it lacks. The message names the
    /// endpoint host and the first line of the body.
    NotAws {
        status: u16,
    },
    /// `sts:AssumeRole` of the file's `assumeRole` refused or failed.
    AssumeRole,
    /// Any other service error, with its code.
    Service(String),
    Other,
}

/// A failed AWS call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    /// The IAM action spelling: `iam:GetAccountAuthorizationDetails`.
    pub call: &'static str,
    /// The object the call was about (`role deployer`), when there is one.
    pub object: Option<String>,
    pub kind: ErrorKind,
    pub message: String,
}

impl fmt::Display for AwsError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "`{}` failed", self.call)?;
        if let Some(object) = &self.object {
            write!(formatter, " for {object}")?;
        }
        let what = match &self.kind {
            ErrorKind::AccessDenied => "access denied".to_string(),
            ErrorKind::NoCredentials => "no AWS credentials found".to_string(),
            ErrorKind::InvalidCredentials => "AWS rejected the credentials".to_string(),
            ErrorKind::ExpiredCredentials => "the AWS credentials have expired".to_string(),
            ErrorKind::Unreachable => "cannot reach the AWS endpoint".to_string(),
            ErrorKind::Timeout => "timed out".to_string(),
            ErrorKind::Throttled => "throttled by AWS".to_string(),
            ErrorKind::NotFound => "not found".to_string(),
            ErrorKind::BadResponse => "unexpected response".to_string(),
            ErrorKind::NotAws { status } => format!("not an AWS response: HTTP {status}"),
            ErrorKind::AssumeRole => "cannot assume the role".to_string(),
            ErrorKind::Service(code) => code.clone(),
            ErrorKind::Other => "error".to_string(),
        };
        write!(formatter, ": {what}")?;
        if !self.message.is_empty() {
            // `HTTP 404 from HOST, body: "…"` reads as one phrase.
            let separator = if matches!(self.kind, ErrorKind::NotAws { .. }) {
                " "
            } else {
                ": "
            };
            write!(formatter, "{separator}{}", self.message)?;
        }
        Ok(())
    }
}

impl StdError for AwsError {}

/// Awaits one SDK request of a read, its error as an [`AwsError`] naming `call` and `object`:
/// the read side's call wrapper (apply's, with retries, is
/// [`AwsCalls`](super::retry::AwsCalls)).
pub async fn sent<T, E>(
    call: &'static str,
    object: Option<String>,
    request: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> Result<T, AwsError>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    request
        .await
        .map_err(|error| AwsError::from_sdk(call, object, error))
}

impl AwsError {
    /// A response accessctl cannot use.
    pub fn bad_response(
        call: &'static str,
        object: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            call,
            object,
            kind: ErrorKind::BadResponse,
            message: message.into(),
        }
    }

    /// A change an executor cannot carry out, found before any call: `executor` (`iam`,
    /// `eks`) stands for the call, and the change's address names the object.
    pub(crate) fn unfit(
        executor: &'static str,
        change: &crate::plan::Change,
        message: String,
    ) -> Self {
        Self {
            call: executor,
            object: Some(change.address.to_string()),
            kind: ErrorKind::Other,
            message,
        }
    }

    /// The call and what went wrong, without the message: for a one-line note
    /// (`` `iam:ListMFADevices`: access denied ``).
    pub fn brief(&self) -> String {
        let full = AwsError {
            object: None,
            message: String::new(),
            ..self.clone()
        }
        .to_string();
        full.replacen(" failed: ", ": ", 1)
    }

    /// Classifies an SDK error from `call` about `object`.
    pub fn from_sdk<E>(
        call: &'static str,
        object: Option<String>,
        error: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let (kind, message) = match &error {
            SdkError::ServiceError(context) => {
                let service_error = context.err();
                let code = service_error.code().unwrap_or_default().to_string();
                let message = service_error.message().unwrap_or_default().to_string();
                match not_aws(context.raw(), &code) {
                    Some(not_aws) => not_aws,
                    None => (kind_of_code(&code), message),
                }
            }
            SdkError::TimeoutError(_) => (ErrorKind::Timeout, String::new()),
            SdkError::DispatchFailure(failure) => {
                let kind = if chain_has_credentials_error(&error) {
                    ErrorKind::NoCredentials
                } else if failure.is_timeout() {
                    ErrorKind::Timeout
                } else if failure.is_io() {
                    ErrorKind::Unreachable
                } else {
                    ErrorKind::Other
                };
                (kind, chain_message(&error))
            }
            SdkError::ResponseError(context) => not_aws(context.raw(), "")
                .unwrap_or_else(|| (ErrorKind::BadResponse, chain_message(&error))),
            _ => {
                let kind = if chain_has_credentials_error(&error) {
                    ErrorKind::NoCredentials
                } else {
                    ErrorKind::Other
                };
                (kind, chain_message(&error))
            }
        };
        Self {
            call,
            object,
            kind,
            message,
        }
    }

    /// How to fix it.
    pub fn hint(&self) -> String {
        match &self.kind {
            ErrorKind::AccessDenied if self.call.starts_with("eks:") => format!(
                "the caller needs `{}` on the cluster (the permission `aws eks update-kubeconfig` needs too)",
                self.call
            ),
            ErrorKind::AccessDenied => format!(
                "the caller needs `{}`; `accessctl` needs read access to IAM (see docs: the `iam:Get*` and `iam:List*` actions)",
                self.call
            ),
            ErrorKind::NotFound if self.call.starts_with("eks:") => "check the cluster's name (its key under `clusters` in access.yaml is the EKS cluster name) and its `region`".to_string(),
            ErrorKind::NoCredentials => "configure AWS credentials: `aws configure`, `aws sso login --profile NAME` with `AWS_PROFILE=NAME`, or `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`".to_string(),
            ErrorKind::InvalidCredentials => "check which credentials are in use with `aws sts get-caller-identity`; `AWS_PROFILE` and `AWS_ACCESS_KEY_ID` may point at another account".to_string(),
            ErrorKind::ExpiredCredentials => "refresh the credentials (`aws sso login`, or a new session token) and run again".to_string(),
            ErrorKind::Unreachable => "check the network, and `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_IAM` / `AWS_ENDPOINT_URL_STS` if set".to_string(),
            ErrorKind::Timeout => "the endpoint did not answer in time: check the network and `AWS_ENDPOINT_URL` if set, then run again".to_string(),
            ErrorKind::Throttled => "AWS is throttling this account's IAM calls: wait a minute and run again".to_string(),
            ErrorKind::NotFound => "the object changed while accessctl read it: run again".to_string(),
            ErrorKind::NotAws { status } => not_aws_hint(self.call, *status),
            ErrorKind::AssumeRole => "the base credentials (the standard chain: check them with `aws sts get-caller-identity`) must be allowed to assume the role: its trust policy must name them or their account, they need `sts:AssumeRole` on it, and the `externalId` must be the one the trust policy asks for".to_string(),
            ErrorKind::BadResponse => "the endpoint returned something IAM does not: if `AWS_ENDPOINT_URL` points at a mock, check it; otherwise report this".to_string(),
            ErrorKind::Service(_) | ErrorKind::Other => "run again with `-v`; if it persists, check the AWS service health".to_string(),
        }
    }
}

/// The endpoint host a response came from, stamped on it by the call counter's interceptor
/// (`config.rs`): an error names where the answer came from, without the request's headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointHost(pub String);

impl aws_smithy_types::config_bag::Storable for EndpointHost {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

/// The host (and port) of a request URI, without scheme, user information, path or query.
pub fn uri_host(uri: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
        .to_string()
}

/// The longest body excerpt an error shows.
const BODY_EXCERPT: usize = 120;

/// `Some` when `response` is an error that no AWS service would send: no error code could be
/// read from it. The kind carries the status; the message the host and the first meaningful
/// line of the body (an HTML page's title), bounded, never headers.
fn not_aws(response: &HttpResponse, code: &str) -> Option<(ErrorKind, String)> {
    let status = response.status().as_u16();
    if !code.is_empty() || (200..300).contains(&status) {
        return None;
    }
    let host = response
        .extension::<EndpointHost>()
        .map(|host| host.0.as_str());
    let excerpt = response
        .body()
        .bytes()
        .map(|bytes| body_excerpt(&String::from_utf8_lossy(bytes)))
        .unwrap_or_default();
    let mut message = match host {
        Some(host) => format!("from {host}"),
        None => String::new(),
    };
    if !excerpt.is_empty() {
        if !message.is_empty() {
            message.push_str(", ");
        }
        message.push_str(&format!("body: {excerpt}"));
    } else if !message.is_empty() {
        message.push_str(", empty body");
    } else {
        message.push_str("empty body");
    }
    Some((ErrorKind::NotAws { status }, message))
}

/// The first line worth showing of a body: an HTML page's `<title>`, else its first non-blank
/// line, tags removed, whitespace collapsed, at most [`BODY_EXCERPT`] characters.
pub fn body_excerpt(body: &str) -> String {
    let lower = body.to_ascii_lowercase();
    let title = lower.find("<title>").and_then(|start| {
        let start = start + "<title>".len();
        let end = lower[start..].find("</title>")? + start;
        body.get(start..end)
    });
    let line = title
        .into_iter()
        .chain(body.lines().map(strip_tags))
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .find(|line| !line.is_empty() && !line.to_ascii_lowercase().starts_with("<!doctype"))
        .unwrap_or_default();
    let printable: String = line
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if printable.chars().count() > BODY_EXCERPT {
        let cut: String = printable.chars().take(BODY_EXCERPT).collect();
        format!("\"{cut}…\"")
    } else if printable.is_empty() {
        String::new()
    } else {
        format!("\"{printable}\"")
    }
}

/// A line without its HTML tags (`<h1>Not Found</h1>` → `Not Found`).
fn strip_tags(line: &str) -> &str {
    // Only the common case is handled without allocating: a line that is one element.
    let trimmed = line.trim();
    if let Some(inner) = trimmed.strip_prefix('<')
        && let Some(open_end) = inner.find('>')
    {
        let inner = &inner[open_end + 1..];
        if let Some(close) = inner.rfind("</") {
            return &inner[..close];
        }
        return inner;
    }
    trimmed
}

fn not_aws_hint(call: &str, status: u16) -> String {
    let what = match status {
        401 | 407 => {
            "a proxy or gateway asked for its own authentication, which AWS never does".to_string()
        }
        403 => "something other than AWS refused the request (a proxy or firewall)".to_string(),
        404 => {
            format!("nothing there answers `{call}`: a proxy, or an emulator that lacks this call")
        }
        500..=599 => {
            format!("the endpoint failed on `{call}`, as an emulator that lacks this call does")
        }
        _ => "something other than AWS answered".to_string(),
    };
    format!(
        "{what}; check `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_IAM` / `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL_EKS` if set"
    )
}

/// The kind of an AWS error code. EKS's tagging operations (`TagResource`, `UntagResource`,
/// `ListTagsForResource`) answer with the codes of the generic REST model: their
/// `NotFoundException` is the others' `ResourceNotFoundException`, their
/// `BadRequestException` the others' `InvalidParameterException` (a value EKS refuses), so
/// that retries, `call_if_exists` and hints treat them alike.
fn kind_of_code(code: &str) -> ErrorKind {
    match code {
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
            ErrorKind::AccessDenied
        }
        "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "UnrecognizedClientException"
        | "IncompleteSignature"
        | "InvalidAccessKeyId" => ErrorKind::InvalidCredentials,
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" | "TokenRefreshRequired" => {
            ErrorKind::ExpiredCredentials
        }
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException" => ErrorKind::Throttled,
        "NoSuchEntity"
        | "NoSuchEntityException"
        | "ResourceNotFoundException"
        | "NotFoundException" => ErrorKind::NotFound,
        "BadRequestException" => ErrorKind::Service("InvalidParameterException".to_string()),
        other => ErrorKind::Service(if other.is_empty() {
            "unknown service error".to_string()
        } else {
            other.to_string()
        }),
    }
}

fn chain_has_credentials_error(error: &(dyn StdError + 'static)) -> bool {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(error) = current {
        if error.is::<CredentialsError>() {
            return true;
        }
        current = error.source();
    }
    false
}

/// Every distinct message of the error chain, outermost first: readable, without the SDK's
/// debug dump of the error structure.
fn chain_message(error: &(dyn StdError + 'static)) -> String {
    let mut messages: Vec<String> = Vec::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(error) = current {
        let message = crate::words::error_message(error);
        // Case aside: an I/O cause reads `connection refused` where its wrapper quoted it as
        // `Connection refused`.
        let lower = message.to_lowercase();
        if !message.is_empty()
            && !messages
                .iter()
                .any(|seen| seen.to_lowercase().contains(&lower))
        {
            messages.push(message);
        }
        current = error.source();
    }
    messages.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_cases;

    fn error(kind: ErrorKind, object: Option<&str>) -> AwsError {
        AwsError {
            call: "iam:ListPolicyTags",
            object: object.map(str::to_string),
            kind,
            message: "User: arn:aws:iam::1:user/x is not authorized".into(),
        }
    }

    #[test]
    fn access_denied_names_call_object_and_permission() {
        let denied = error(ErrorKind::AccessDenied, Some("policy `readers`"));
        assert_eq!(
            denied.to_string(),
            "`iam:ListPolicyTags` failed for policy `readers`: access denied: User: arn:aws:iam::1:user/x is not authorized"
        );
        assert!(denied.hint().contains("needs `iam:ListPolicyTags`"));
    }

    #[test]
    fn codes_map_to_kinds() {
        assert_eq!(kind_of_code("AccessDenied"), ErrorKind::AccessDenied);
        assert_eq!(kind_of_code("ExpiredToken"), ErrorKind::ExpiredCredentials);
        assert_eq!(
            kind_of_code("InvalidClientTokenId"),
            ErrorKind::InvalidCredentials
        );
        assert_eq!(kind_of_code("Throttling"), ErrorKind::Throttled);
        assert_eq!(kind_of_code("NoSuchEntity"), ErrorKind::NotFound);
        assert_eq!(
            kind_of_code("ResourceNotFoundException"),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind_of_code("LimitExceeded"),
            ErrorKind::Service("LimitExceeded".into())
        );
    }

    /// EKS's tagging operations spell the errors of the others differently (the EKS model
    /// lists `BadRequestException` and `NotFoundException` for `TagResource`, `UntagResource`
    /// and `ListTagsForResource`): they are the same kinds.
    #[test]
    fn eks_tagging_codes_map_to_the_kinds_of_the_other_operations() {
        assert_eq!(
            kind_of_code("NotFoundException"),
            kind_of_code("ResourceNotFoundException")
        );
        assert_eq!(kind_of_code("NotFoundException"), ErrorKind::NotFound);
        assert_eq!(
            kind_of_code("BadRequestException"),
            kind_of_code("InvalidParameterException")
        );
        let tagging = AwsError {
            call: "eks:TagResource",
            object: Some("access entry `arn:aws:iam::1:role/x` in cluster `demo`".into()),
            kind: kind_of_code("BadRequestException"),
            message: "tag keys must not start with aws:".into(),
        };
        assert_eq!(
            crate::aws::eks_apply::hint(&tagging),
            crate::aws::eks_apply::hint(&AwsError {
                kind: ErrorKind::Service("InvalidParameterException".into()),
                ..tagging.clone()
            })
        );
        // The message still says what EKS said.
        assert!(
            tagging
                .to_string()
                .ends_with("tag keys must not start with aws:")
        );
    }

    #[test]
    fn hosts_come_without_scheme_credentials_or_path() {
        assert_cases(
            uri_host,
            &[
                ("https://iam.amazonaws.com/", "iam.amazonaws.com"),
                ("http://user:secret@127.0.0.1:4566/a?b#c", "127.0.0.1:4566"),
                ("localhost:5000", "localhost:5000"),
            ],
        );
    }

    #[test]
    fn body_excerpts_are_one_bounded_readable_line() {
        assert_eq!(
            body_excerpt(
                "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>"
            ),
            "\"500 Internal Server Error\""
        );
        assert_eq!(
            body_excerpt("\n  <h1>Not Found</h1>\n<p>more</p>"),
            "\"Not Found\""
        );
        assert_eq!(body_excerpt("Unauthorized\nsecond"), "\"Unauthorized\"");
        assert_eq!(body_excerpt(""), "");
        let long = body_excerpt(&"x".repeat(500));
        assert_eq!(long.chars().count(), BODY_EXCERPT + 3, "{long}");
        assert!(long.ends_with("…\""));
        assert_eq!(body_excerpt("a\u{1b}[31mb"), "\"a [31mb\"");
    }

    #[test]
    fn not_aws_errors_name_the_status_and_point_at_the_endpoint() {
        let error = AwsError {
            call: "eks:ListAccessEntries",
            object: Some("cluster `demo`".into()),
            kind: ErrorKind::NotAws { status: 404 },
            message: "from 127.0.0.1:5000, body: \"404 Not Found\"".into(),
        };
        assert_eq!(
            error.to_string(),
            "`eks:ListAccessEntries` failed for cluster `demo`: not an AWS response: HTTP 404 from 127.0.0.1:5000, body: \"404 Not Found\""
        );
        assert!(error.hint().contains("eks:ListAccessEntries"));
        assert!(error.hint().contains("AWS_ENDPOINT_URL"));
        assert_eq!(
            error.brief(),
            "`eks:ListAccessEntries`: not an AWS response: HTTP 404"
        );
    }

    #[test]
    fn unreachable_hint_names_endpoint_variables() {
        let unreachable = error(ErrorKind::Unreachable, None);
        assert!(
            unreachable
                .to_string()
                .starts_with("`iam:ListPolicyTags` failed: cannot reach")
        );
        assert!(unreachable.hint().contains("AWS_ENDPOINT_URL"));
    }
}
