//! IAM roles: what only a role has to update, its trust, description and session length. The
//! rest (create, the boundary, tags and policies, delete after leaving instance profiles) is
//! every principal's ([`principal`](super::principal)); a path change is a replace.

use crate::model::Role;

use super::AwsCalls as _;
use super::principal::Target;
use super::{AwsError, IamExecutor, document_json};

/// Takes the role's trust, description and session length from `before` to `after`.
pub(super) async fn update(
    ex: &IamExecutor,
    target: &Target<'_>,
    before: &Role,
    after: &Role,
) -> Result<(), AwsError> {
    let name = target.principal.name();
    let (object, fresh) = (target.object.as_str(), target.fresh);
    if before.trust != after.trust {
        let trust = document_json(&after.trust);
        let fresh = fresh || ex.names_fresh_principal(&trust);
        ex.call("iam:UpdateAssumeRolePolicy", object, fresh, || {
            ex.iam
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(&trust)
                .send()
        })
        .await?;
    }
    if before.description != after.description
        || before.max_session_duration != after.max_session_duration
    {
        let max_session = i32::try_from(after.max_session_duration).ok();
        // IAM keeps the old description unless one is given: an empty one clears it.
        let description = after.description.clone().unwrap_or_default();
        ex.call("iam:UpdateRole", object, fresh, || {
            ex.iam
                .update_role()
                .role_name(name)
                .description(&description)
                .set_max_session_duration(max_session)
                .send()
        })
        .await?;
    }
    Ok(())
}
