//! A user's credentials, by id: what IAM deletes together with the user (and refuses to delete
//! it without removing first). Listed for apply's `DeleteConflict` path and for the plan of a
//! user deletion, which shows what goes with the user. Ids only: IAM never returns a secret
//! from these calls, and none is kept.

use aws_sdk_iam::Client;

use crate::plan::{Address, DeletedWith, Kind};

use super::error::sent;
use super::{AwsError, ErrorKind};

/// Lists one kind of credential of a user through the SDK's paginator (every page); `$call`
/// is the IAM action, `$items` the page's list and `$id` how to take an id out of one item.
macro_rules! list_all {
    ($iam:expr, $user:expr, $call:literal, $request:ident, $items:ident, |$item:ident| $id:expr) => {{
        let items = $iam
            .$request()
            .user_name($user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|error| AwsError::from_sdk($call, Some(object($user)), error))?;
        Ok(items.iter().filter_map(|$item| $id).collect())
    }};
}

fn object(user: &str) -> String {
    format!("user `{user}`")
}

/// Access key ids (`AKIA…`; the secret is never returned after creation).
pub async fn list_access_keys(iam: &Client, user: &str) -> Result<Vec<String>, AwsError> {
    list_all!(
        iam,
        user,
        "iam:ListAccessKeys",
        list_access_keys,
        access_key_metadata,
        |key| key.access_key_id().map(str::to_string)
    )
}

pub async fn list_signing_certificates(iam: &Client, user: &str) -> Result<Vec<String>, AwsError> {
    list_all!(
        iam,
        user,
        "iam:ListSigningCertificates",
        list_signing_certificates,
        certificates,
        |certificate| Some(certificate.certificate_id().to_string())
    )
}

pub async fn list_ssh_public_keys(iam: &Client, user: &str) -> Result<Vec<String>, AwsError> {
    list_all!(
        iam,
        user,
        "iam:ListSSHPublicKeys",
        list_ssh_public_keys,
        ssh_public_keys,
        |key| Some(key.ssh_public_key_id().to_string())
    )
}

/// MFA device serial numbers: a virtual device's ARN, or a hardware device's serial.
pub async fn list_mfa_devices(iam: &Client, user: &str) -> Result<Vec<String>, AwsError> {
    list_all!(
        iam,
        user,
        "iam:ListMFADevices",
        list_mfa_devices,
        mfa_devices,
        |device| Some(device.serial_number().to_string())
    )
}

/// Service-specific credential ids (CodeCommit, Keyspaces). The call has no pagination.
pub async fn list_service_specific_credentials(
    iam: &Client,
    user: &str,
) -> Result<Vec<String>, AwsError> {
    let request = iam
        .list_service_specific_credentials()
        .user_name(user)
        .send();
    let output = sent(
        "iam:ListServiceSpecificCredentials",
        Some(object(user)),
        request,
    )
    .await?;
    Ok(output
        .service_specific_credentials()
        .iter()
        .map(|credential| credential.service_specific_credential_id().to_string())
        .collect())
}

/// Whether the user has a console password (a login profile).
pub async fn has_console_password(iam: &Client, user: &str) -> Result<bool, AwsError> {
    match iam.get_login_profile().user_name(user).send().await {
        Ok(_) => Ok(true),
        Err(error) => {
            let error = AwsError::from_sdk("iam:GetLoginProfile", Some(object(user)), error);
            if error.kind == ErrorKind::NotFound {
                Ok(false)
            } else {
                Err(error)
            }
        }
    }
}

/// Virtual MFA devices are IAM objects of their own (`arn:…:mfa/NAME`); hardware devices and
/// security keys are only unlinked from the user.
pub fn is_virtual_mfa(serial: &str) -> bool {
    serial.starts_with("arn:") && serial.contains(":mfa/")
}

/// What goes with user `user` when it is deleted, for the plan. A listing that fails (an
/// emulator lacking the call, a missing permission) is noted in `unlisted` rather than
/// failing the plan: the deletion itself does not depend on it.
pub async fn deleted_with(iam: &Client, user: &str) -> DeletedWith {
    let (keys, password, devices, ssh, certificates, service) = tokio::join!(
        list_access_keys(iam, user),
        has_console_password(iam, user),
        list_mfa_devices(iam, user),
        list_ssh_public_keys(iam, user),
        list_signing_certificates(iam, user),
        list_service_specific_credentials(iam, user),
    );
    let mut unlisted = Vec::new();
    let mut take = |what: &str, result: Result<Vec<String>, AwsError>| match result {
        Ok(ids) => ids,
        Err(error) => {
            unlisted.push(format!("could not list {what}: {}", error.brief()));
            Vec::new()
        }
    };
    // A plan shows key ids masked (`AKIA…WXYZ`), as it does everywhere else.
    let access_keys = take("access keys", keys)
        .iter()
        .map(|id| crate::model::access_key::mask(id))
        .collect();
    let mfa_devices = take("MFA devices", devices);
    let ssh_public_keys = take("SSH public keys", ssh);
    let signing_certificates = take("signing certificates", certificates);
    let service_specific_credentials = take("service-specific credentials", service);
    let console_password = match password {
        Ok(has) => has,
        Err(error) => {
            unlisted.push(format!(
                "could not read the console password: {}",
                error.brief()
            ));
            false
        }
    };
    DeletedWith {
        address: Address::iam(Kind::User, user),
        access_keys,
        console_password,
        mfa_devices,
        ssh_public_keys,
        signing_certificates,
        service_specific_credentials,
        unlisted,
    }
}
