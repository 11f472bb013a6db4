//! The integration test harness: one binary, one module per area.

mod aws_read;
mod cli;
mod e2e;
mod eks_access;
mod eks_server;
mod examples;
mod first_hour;
mod iam_apply;
mod import;
mod insight;
mod interrupt;
mod kube_apply;
mod kube_server;
mod moto;
mod owned_groups;
mod pipelines;
mod planner_properties;
mod schemas;
mod spec_errors;
mod support;
mod target;
