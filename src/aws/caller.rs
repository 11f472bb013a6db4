//! Who is calling: `sts:GetCallerIdentity`.

use crate::model::Caller;

use super::AwsError;

const CALL: &str = "sts:GetCallerIdentity";

/// The identity behind the configured credentials. Needs no permission: it also proves the
/// credentials work before any IAM call.
pub async fn caller_identity(sts: &aws_sdk_sts::Client) -> Result<Caller, AwsError> {
    let output = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|error| AwsError::from_sdk(CALL, None, error))?;
    let account = output
        .account()
        .ok_or_else(|| AwsError::bad_response(CALL, None, "no `Account` in the response"))?;
    let arn = output
        .arn()
        .ok_or_else(|| AwsError::bad_response(CALL, None, "no `Arn` in the response"))?;
    Ok(Caller {
        account: account.to_string(),
        arn: arn.to_string(),
    })
}
