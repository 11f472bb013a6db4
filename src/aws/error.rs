//! Errors from AWS calls, each naming the API call, the object it was about, and a hint for the
//! fix. Messages come from the SDK's error chain, which never holds credentials.

use std::error::Error as StdError;
use std::fmt;

use aws_credential_types::provider::error::CredentialsError;
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
            ErrorKind::Service(code) => code.clone(),
            ErrorKind::Other => "error".to_string(),
        };
        write!(formatter, ": {what}")?;
        if !self.message.is_empty() {
            write!(formatter, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl StdError for AwsError {}

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

    /// Classifies an SDK error from `call` about `object`.
    pub fn from_sdk<E, R>(call: &'static str, object: Option<String>, error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        let (kind, message) = match &error {
            SdkError::ServiceError(context) => {
                let service_error = context.err();
                let code = service_error.code().unwrap_or_default().to_string();
                let message = service_error.message().unwrap_or_default().to_string();
                (kind_of_code(&code), message)
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
            SdkError::ResponseError(_) => (ErrorKind::BadResponse, chain_message(&error)),
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
            ErrorKind::NotFound if self.call.starts_with("eks:") => "check the cluster's name (`eksName` when it differs from the key in access.yaml) and `region`".to_string(),
            ErrorKind::NoCredentials => "configure AWS credentials: `aws configure`, `aws sso login --profile NAME` with `AWS_PROFILE=NAME`, or `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`".to_string(),
            ErrorKind::InvalidCredentials => "check which credentials are in use with `aws sts get-caller-identity`; `AWS_PROFILE` and `AWS_ACCESS_KEY_ID` may point at another account".to_string(),
            ErrorKind::ExpiredCredentials => "refresh the credentials (`aws sso login`, or a new session token) and run again".to_string(),
            ErrorKind::Unreachable => "check the network, and `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_IAM` / `AWS_ENDPOINT_URL_STS` if set".to_string(),
            ErrorKind::Timeout => "the endpoint did not answer in time: check the network and `AWS_ENDPOINT_URL` if set, then run again".to_string(),
            ErrorKind::Throttled => "AWS is throttling this account's IAM calls: wait a minute and run again".to_string(),
            ErrorKind::NotFound => "the object changed while accessctl read it: run again".to_string(),
            ErrorKind::BadResponse => "the endpoint returned something IAM does not: if `AWS_ENDPOINT_URL` points at a mock, check it; otherwise report this".to_string(),
            ErrorKind::Service(_) | ErrorKind::Other => "run again with `-v`; if it persists, check the AWS service health".to_string(),
        }
    }
}

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
        "NoSuchEntity" | "NoSuchEntityException" | "ResourceNotFoundException" => {
            ErrorKind::NotFound
        }
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
            kind_of_code("LimitExceeded"),
            ErrorKind::Service("LimitExceeded".into())
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
