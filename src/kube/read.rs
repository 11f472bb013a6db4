//! Live read
