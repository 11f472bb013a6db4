//! Errors of the cluster side: each names the cluster (by its kubeconfig context), the API call
//! and the object, and carries a hint saying what to do.

use std::fmt;

use crate::apply::ApplyError;

/// A failure to reach or use a cluster.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct KubeError {
    pub kind: KubeErrorKind,
    /// What was being done, e.g. `PATCH clusterrolebindings/ci-deployer in context prod`.
    pub message: String,
    pub hint: Option<String>,
}

/// What went wrong, for callers that react to it (tests, retries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KubeErrorKind {
    /// The kubeconfig could not be read or has no such context.
    Kubeconfig,
    /// The API server did not answer (connection refused, dropped, DNS, TLS).
    Unreachable,
    /// The API server answered with an error status (the code).
    Api(u16),
    /// The API server kept failing with retryable errors until the time bound.
    GaveUp,
    /// Another apply holds the cluster's Lease.
    Locked,
    /// Live data accessctl cannot understand (e.g. aws-auth that is not valid YAML).
    Data,
}

impl fmt::Display for KubeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl KubeError {
    pub fn new(kind: KubeErrorKind, message: impl Into<String>) -> Self {
        KubeError {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The HTTP status the server answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            KubeErrorKind::Api(code) => Some(code),
            _ => None,
        }
    }
}

impl From<KubeError> for ApplyError {
    fn from(error: KubeError) -> Self {
        let apply = ApplyError::new(error.message);
        match error.hint {
            Some(hint) => apply.with_hint(hint),
            None => apply,
        }
    }
}
