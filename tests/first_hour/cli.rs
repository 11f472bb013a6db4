//! Issue 12: cli items (see tests/first_hour/mod.rs).
