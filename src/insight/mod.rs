//! Who can do what: an IAM evaluator, the chain from an IAM principal through role
//! assumption and cluster mappings to Kubernetes RBAC, and a lint of risky access patterns.
//!
//! Everything works on a [`crate::model::State`] alone (desired from access.yaml, or live from
//! a snapshot): no I/O, deterministic output. The commands `explain`, `who-can`, `can-i` and
//! `lint` (src/cli) are thin shells over this module; docs/insight.md describes them and the
//! approximations made.

pub mod chain;
pub mod estate;
pub mod explain;
pub mod iam_eval;
pub mod impact;
pub mod lint;
pub mod rbac;
pub mod reach;
pub mod who_can;
