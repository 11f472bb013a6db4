//! All integration tests in one harness binary, one module per area.

mod planner_properties;
