//! Test support shared by the integration harness: helpers that stand in for the outside
//! world (an in-memory Kubernetes API server) so tests run without network or cloud access.

// Each test module uses a different slice of the support API, so some items are unused in
// any one build of the harness.
#![allow(
    dead_code,
    reason = "support API shared by test modules that each use a part of it"
)]

pub mod aws_auth_campaign;
pub mod binary;
pub mod faults;
pub mod kube_server;
pub mod oracle;
pub mod proxy;
pub mod target;
