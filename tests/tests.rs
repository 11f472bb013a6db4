//! The integration test harness: one binary, one module per area.

// A test crate: its helpers (fixtures, servers, the sealed binary) stop the test with a message
// when an expectation fails, and print what a failing test needs to be understood.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "test code: a failed expectation is the test failing, and its output is shown only then"
)]

mod access_keys;
mod accounts;
mod aws_auth;
mod aws_read;
mod cli;
mod drift;
mod e2e;
mod eks_access;
mod eks_read;
mod eks_server;
mod examples;
mod faults;
mod first_hour;
mod fuzz_corpus;
mod iam_apply;
mod iam_policy;
mod import;
mod insight;
mod interrupt;
mod kube_apply;
mod kube_server;
mod lease;
mod lint_corpus;
mod moto;
mod owned_groups;
mod pipelines;
mod planner_properties;
mod rbac_differential;
mod schemas;
mod spec_errors;
mod split;
mod sso;
mod support;
mod target;
