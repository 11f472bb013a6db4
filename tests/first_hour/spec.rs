//! Issue 12: spec items (see tests/first_hour/mod.rs).
