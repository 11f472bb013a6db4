//! IAM users: create with boundary, tags, memberships, attachments and inline policies; update
//! each of them; delete after removing what the plan knows the user holds, and the user's
//! credentials only when IAM refuses without that.

use crate::model::User;

use super::AwsCalls as _;
use super::principal::{Principal, drop_policies, sync_holder};
use super::{AwsError, ErrorKind, IamExecutor, set_changes, tags};
use crate::aws::credentials::{
    is_virtual_mfa, list_access_keys, list_mfa_devices, list_service_specific_credentials,
    list_signing_certificates, list_ssh_public_keys,
};

pub(super) async fn create(ex: &IamExecutor, name: &str, user: &User) -> Result<(), AwsError> {
    let object = format!("user `{name}`");
    let tags = tags(&user.tags);
    ex.call("iam:CreateUser", &object, false, || {
        ex.iam
            .create_user()
            .user_name(name)
            .path(&user.path)
            .set_permissions_boundary(user.permissions_boundary.clone())
            .set_tags((!tags.is_empty()).then(|| tags.clone()))
            .send()
    })
    .await?;
    ex.remember_created(ex.user_arn(&user.path, name));
    let created = User {
        path: user.path.clone(),
        groups: Default::default(),
        managed_policies: Default::default(),
        inline_policies: Default::default(),
        permissions_boundary: user.permissions_boundary.clone(),
        tags: user.tags.clone(),
    };
    update(ex, name, &created, user).await
}

pub(super) async fn update(
    ex: &IamExecutor,
    name: &str,
    before: &User,
    after: &User,
) -> Result<(), AwsError> {
    let object = format!("user `{name}`");
    let arn = ex.user_arn(&before.path, name);
    let fresh = ex.is_fresh([arn.as_str()]);
    if before.path != after.path {
        ex.call("iam:UpdateUser", &object, fresh, || {
            ex.iam
                .update_user()
                .user_name(name)
                .new_path(&after.path)
                .send()
        })
        .await?;
        if fresh {
            ex.remember_created(ex.user_arn(&after.path, name));
        }
    }
    let (join, leave) = set_changes(&before.groups, &after.groups);
    for group in join {
        let group_key = format!("group:{group}");
        let fresh = ex.is_fresh([arn.as_str(), group_key.as_str()]);
        ex.call("iam:AddUserToGroup", &object, fresh, || {
            ex.iam
                .add_user_to_group()
                .user_name(name)
                .group_name(group)
                .send()
        })
        .await?;
    }
    for group in leave {
        leave_group(ex, &object, name, group).await?;
    }
    sync_holder(
        ex,
        Principal::User(name),
        &object,
        &arn,
        fresh,
        before,
        after,
    )
    .await
}

/// Deletes a user the way IAM requires, in as few calls as it allows: first what the plan
/// knows the user holds (`before`: group memberships, attached and inline policies), then
/// `DeleteUser`. Only when IAM refuses with `DeleteConflict` are the user's credentials
/// listed and removed (access keys, console password, MFA devices, SSH keys, signing
/// certificates, service-specific credentials), with whatever memberships and policies were
/// added since the plan, and `DeleteUser` tried once more.
///
/// Emulators (moto, LocalStack) delete users without refusing and lack some of the listing
/// calls (`ListServiceSpecificCredentials`): this order works on them too.
pub(super) async fn delete(ex: &IamExecutor, name: &str, before: &User) -> Result<(), AwsError> {
    let object = format!("user `{name}`");
    let object = object.as_str();
    for group in &before.groups {
        leave_group(ex, object, name, group).await?;
    }
    for arn in &before.managed_policies {
        Principal::User(name).detach(ex, object, arn).await?;
    }
    for policy in before.inline_policies.keys() {
        Principal::User(name)
            .delete_inline(ex, object, policy)
            .await?;
    }
    match delete_user(ex, name, object).await {
        Err(error) if is_delete_conflict(&error) => {}
        other => return other,
    }
    remove_credentials(ex, name, object).await?;
    let groups = groups_of(ex, name, object).await?;
    for group in &groups {
        leave_group(ex, object, name, group).await?;
    }
    drop_policies(ex, Principal::User(name), object).await?;
    delete_user(ex, name, object).await
}

async fn delete_user(ex: &IamExecutor, name: &str, object: &str) -> Result<(), AwsError> {
    ex.call_if_exists("iam:DeleteUser", object, || {
        ex.iam.delete_user().user_name(name).send()
    })
    .await?;
    Ok(())
}

fn is_delete_conflict(error: &AwsError) -> bool {
    matches!(&error.kind, ErrorKind::Service(code) if code == "DeleteConflict")
}

/// The groups `name` is in now, as IAM lists them.
async fn groups_of(ex: &IamExecutor, name: &str, object: &str) -> Result<Vec<String>, AwsError> {
    let groups = ex
        .call("iam:ListGroupsForUser", object, false, || {
            let pages = ex
                .iam
                .list_groups_for_user()
                .user_name(name)
                .into_paginator();
            pages.items().send().try_collect()
        })
        .await?;
    Ok(groups
        .iter()
        .map(|group| group.group_name().to_string())
        .collect())
}

/// Removes every credential IAM refuses to delete a user with.
async fn remove_credentials(ex: &IamExecutor, name: &str, object: &str) -> Result<(), AwsError> {
    let iam = &ex.iam;
    let keys = list_access_keys(iam, name).await?;
    for key in &keys {
        ex.call_if_exists("iam:DeleteAccessKey", object, || {
            ex.iam
                .delete_access_key()
                .user_name(name)
                .access_key_id(key)
                .send()
        })
        .await?;
    }

    // No listing call: a user without a login profile answers NoSuchEntity.
    ex.call_if_exists("iam:DeleteLoginProfile", object, || {
        ex.iam.delete_login_profile().user_name(name).send()
    })
    .await?;

    let certificates = list_signing_certificates(iam, name).await?;
    for certificate in &certificates {
        ex.call_if_exists("iam:DeleteSigningCertificate", object, || {
            ex.iam
                .delete_signing_certificate()
                .user_name(name)
                .certificate_id(certificate)
                .send()
        })
        .await?;
    }

    let ssh_keys = list_ssh_public_keys(iam, name).await?;
    for key in &ssh_keys {
        ex.call_if_exists("iam:DeleteSSHPublicKey", object, || {
            ex.iam
                .delete_ssh_public_key()
                .user_name(name)
                .ssh_public_key_id(key)
                .send()
        })
        .await?;
    }

    let service_credentials = list_service_specific_credentials(iam, name).await?;
    for id in &service_credentials {
        ex.call_if_exists("iam:DeleteServiceSpecificCredential", object, || {
            ex.iam
                .delete_service_specific_credential()
                .user_name(name)
                .service_specific_credential_id(id)
                .send()
        })
        .await?;
    }

    let devices = list_mfa_devices(iam, name).await?;
    for serial in &devices {
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

/// Takes `user` out of `group`; one already out is nothing to do.
pub(super) async fn leave_group(
    ex: &IamExecutor,
    object: &str,
    user: &str,
    group: &str,
) -> Result<(), AwsError> {
    ex.call_if_exists("iam:RemoveUserFromGroup", object, || {
        ex.iam
            .remove_user_from_group()
            .user_name(user)
            .group_name(group)
            .send()
    })
    .await?;
    Ok(())
}
