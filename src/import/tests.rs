//! Tests of import over the example snapshots.
