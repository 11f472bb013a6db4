//! The machine view: the plan's own serde JSON, pretty and newline-terminated. This is the
//! only place that writes plan JSON, so `plan -o json`, `plan --out` and the documented
//! format cannot drift apart.

use crate::plan::Plan;

pub fn render(plan: &Plan) -> String {
    // Plans hold only string-keyed maps, so serializing cannot fail; an empty object keeps
    // the output valid JSON should that ever change.
    let mut out = serde_json::to_string_pretty(plan).unwrap_or_else(|_| "{}".to_string());
    out.push('\n');
    out
}
