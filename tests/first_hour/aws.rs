//! Issue 12: aws items (see tests/first_hour/mod.rs).
