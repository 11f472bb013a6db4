//! IAM users: what only a user has to delete, its credentials, removed only when IAM refuses
//! without that. The rest (create, update, the policies) is every principal's
//! ([`principal`](super::principal)).

use crate::model::User;

use super::AwsCalls as _;
use super::principal::{PolicyCall, Principal, leave_group};
use super::{AwsError, ErrorKind, IamExecutor};
use crate::aws::credentials::{
    is_virtual_mfa, list_access_keys, list_mfa_devices, list_service_specific_credentials,
    list_signing_certificates, list_ssh_public_keys,
};

/// Deletes a user the way IAM requires, in as few calls as it allows: first what the plan
/// knows the user holds (`before`: group memberships, attached and inline policies), then
/// `DeleteUser`. Only when IAM refuses with `DeleteConflict` are the user's credentials
/// listed and removed (access keys, console password, MFA devices, SSH keys, signing
/// certificates, service-specific credentials), with whatever memberships and policies were
/// added since the plan ([`Principal::delete`]), and `DeleteUser` tried once more.
///
/// Emulators (moto, LocalStack) delete users without refusing and lack some of the listing
/// calls (`ListServiceSpecificCredentials`): this order works on them too.
pub(super) async fn delete(ex: &IamExecutor, name: &str, before: &User) -> Result<(), AwsError> {
    let principal = Principal::User(name);
    let object = principal.object();
    let object = object.as_str();
    for group in &before.groups {
        leave_group(ex, object, name, group).await?;
    }
    for arn in &before.managed_policies {
        principal
            .policy(ex, object, false, PolicyCall::Detach(arn))
            .await?;
    }
    for policy in before.inline_policies.keys() {
        principal
            .policy(ex, object, false, PolicyCall::DeleteInline(policy))
            .await?;
    }
    match principal.delete_alone(ex, object).await {
        Err(error) if is_delete_conflict(&error) => {}
        other => return other,
    }
    remove_credentials(ex, name, object).await?;
    principal.delete(ex, object).await
}

fn is_delete_conflict(error: &AwsError) -> bool {
    matches!(&error.kind, ErrorKind::Service(code) if code == "DeleteConflict")
}

/// A credential IAM deletes by the user's name and its id.
enum Credential {
    AccessKey(String),
    SigningCertificate(String),
    SshPublicKey(String),
    ServiceSpecific(String),
}

impl Credential {
    async fn delete(&self, ex: &IamExecutor, object: &str, user: &str) -> Result<(), AwsError> {
        iam_call!(ex.call_if_exists(object), match self {
            Credential::AccessKey(id) => "iam:DeleteAccessKey" delete_access_key [.access_key_id(id)],
            Credential::SigningCertificate(id) => "iam:DeleteSigningCertificate" delete_signing_certificate [.certificate_id(id)],
            Credential::SshPublicKey(id) => "iam:DeleteSSHPublicKey" delete_ssh_public_key [.ssh_public_key_id(id)],
            Credential::ServiceSpecific(id) => "iam:DeleteServiceSpecificCredential" delete_service_specific_credential [.service_specific_credential_id(id)],
        } [.user_name(user).send()], drop)
    }
}

/// A user's credentials of one kind, by id, and how to name one.
type Listed = (Vec<String>, fn(String) -> Credential);

/// Removes every credential IAM refuses to delete a user with.
async fn remove_credentials(ex: &IamExecutor, name: &str, object: &str) -> Result<(), AwsError> {
    let iam = &ex.iam;
    let listed: [Listed; 4] = [
        (list_access_keys(iam, name).await?, Credential::AccessKey),
        (
            list_signing_certificates(iam, name).await?,
            Credential::SigningCertificate,
        ),
        (
            list_ssh_public_keys(iam, name).await?,
            Credential::SshPublicKey,
        ),
        (
            list_service_specific_credentials(iam, name).await?,
            Credential::ServiceSpecific,
        ),
    ];
    for (ids, credential) in listed {
        for id in ids {
            credential(id).delete(ex, object, name).await?;
        }
    }

    // No listing call: a user without a login profile answers NoSuchEntity.
    ex.call_if_exists("iam:DeleteLoginProfile", object, || {
        ex.iam.delete_login_profile().user_name(name).send()
    })
    .await?;

    for serial in &list_mfa_devices(iam, name).await? {
        ex.call_if_exists("iam:DeactivateMFADevice", object, || {
            ex.iam
                .deactivate_mfa_device()
                .user_name(name)
                .serial_number(serial)
                .send()
        })
        .await?;
        // Virtual devices are IAM objects of their own (`arn:…:mfa/NAME`); hardware and
        // security keys are only unlinked.
        if is_virtual_mfa(serial) {
            ex.call_if_exists("iam:DeleteVirtualMFADevice", object, || {
                ex.iam
                    .delete_virtual_mfa_device()
                    .serial_number(serial)
                    .send()
            })
            .await?;
        }
    }
    Ok(())
}
