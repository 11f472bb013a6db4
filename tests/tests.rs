//! The integration test harness: one binary, one module per area.

mod cli;
mod examples;
mod kube_server;
mod schemas;
mod support;
