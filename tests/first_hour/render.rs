//! Issue 12: render items (see tests/first_hour/mod.rs).
