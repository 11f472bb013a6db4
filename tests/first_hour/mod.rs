//! Issue 12, "trust from the first hour": each rough edge a newcomer hit, pinned by a test that
//! failed before the fix. One file per area; every test runs the binary through the sealed
//! helper (`support::binary`) and pins exit code, stdout and stderr with insta where the
//! output is the behaviour.

mod aws;
mod cli;
mod render;
mod spec;
