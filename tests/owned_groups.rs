//! Issue 20: an owned group owns its members (membership of a group accessctl owns is
//! exclusive), and `-q` means quiet.
