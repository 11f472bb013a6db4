//! IAM users: create with boundary, tags, memberships, attachments and inline policies; update
//! each of them; delete after removing everything IAM requires first (credentials of every
//! kind, MFA devices, memberships, policies).

use crate::model::User;

use super::principal::{Principal, drop_policies, sync_policies};
use super::{AwsError, IamExecutor, all_pages, next_marker, set_changes, tag_changes, tags};

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
    let (set, removed) = tag_changes(&before.tags, &after.tags);
    if !set.is_empty() {
        ex.call("iam:TagUser", &object, fresh, || {
            ex.iam
                .tag_user()
                .user_name(name)
                .set_tags(Some(set.clone()))
                .send()
        })
        .await?;
    }
    if !removed.is_empty() {
        ex.call("iam:UntagUser", &object, fresh, || {
            ex.iam
                .untag_user()
                .user_name(name)
                .set_tag_keys(Some(removed.clone()))
                .send()
        })
        .await?;
    }
    if before.permissions_boundary != after.permissions_boundary {
        match &after.permissions_boundary {
            Some(boundary) => {
                let fresh = ex.is_fresh([arn.as_str(), boundary.as_str()]);
                ex.call("iam:PutUserPermissionsBoundary", &object, fresh, || {
                    ex.iam
                        .put_user_permissions_boundary()
                        .user_name(name)
                        .permissions_boundary(boundary)
                        .send()
                })
                .await?;
            }
            None => {
                ex.call_if_exists("iam:DeleteUserPermissionsBoundary", &object, || {
                    ex.iam
                        .delete_user_permissions_boundary()
                        .user_name(name)
                        .send()
                })
                .await?;
            }
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
    sync_policies(
        ex,
        Principal::User(name),
        &object,
        &arn,
        fresh,
        before.into(),
        after.into(),
    )
    .await
}

/// Everything IAM refuses to delete a user with, removed first; then the user.
pub(super) async fn delete(ex: &IamExecutor, name: &str) -> Result<(), AwsError> {
    let object = format!("user `{name}`");
    let object = object.as_str();

    let keys = all_pages(|marker| async move {
        let page = ex
            .call("iam:ListAccessKeys", object, false, || {
                ex.iam
                    .list_access_keys()
                    .user_name(name)
                    .set_marker(marker.clone())
                    .send()
            })
            .await?;
        let ids = page
            .access_key_metadata()
            .iter()
            .filter_map(|key| key.access_key_id().map(str::to_string))
            .collect();
        Ok((ids, next_marker(page.is_truncated(), page.marker())))
    })
    .await?;
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

    let certificates = all_pages(|marker| async move {
        let page = ex
            .call("iam:ListSigningCertificates", object, false, || {
                ex.iam
                    .list_signing_certificates()
                    .user_name(name)
                    .set_marker(marker.clone())
                    .send()
            })
            .await?;
        let ids = page
            .certificates()
            .iter()
            .map(|certificate| certificate.certificate_id().to_string())
            .collect();
        Ok((ids, next_marker(page.is_truncated(), page.marker())))
    })
    .await?;
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

    let ssh_keys = all_pages(|marker| async move {
        let page = ex
            .call("iam:ListSSHPublicKeys", object, false, || {
                ex.iam
                    .list_ssh_public_keys()
                    .user_name(name)
                    .set_marker(marker.clone())
                    .send()
            })
            .await?;
        let ids = page
            .ssh_public_keys()
            .iter()
            .map(|key| key.ssh_public_key_id().to_string())
            .collect();
        Ok((ids, next_marker(page.is_truncated(), page.marker())))
    })
    .await?;
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

    let service_credentials = ex
        .call("iam:ListServiceSpecificCredentials", object, false, || {
            ex.iam
                .list_service_specific_credentials()
                .user_name(name)
                .send()
        })
        .await?;
    for credential in service_credentials.service_specific_credentials() {
        let id = credential.service_specific_credential_id();
        ex.call_if_exists("iam:DeleteServiceSpecificCredential", object, || {
            ex.iam
                .delete_service_specific_credential()
                .user_name(name)
                .service_specific_credential_id(id)
                .send()
        })
        .await?;
    }

    let devices = all_pages(|marker| async move {
        let page = ex
            .call("iam:ListMFADevices", object, false, || {
                ex.iam
                    .list_mfa_devices()
                    .user_name(name)
                    .set_marker(marker.clone())
                    .send()
            })
            .await?;
        let serials = page
            .mfa_devices()
            .iter()
            .map(|device| device.serial_number().to_string())
            .collect();
        Ok((serials, next_marker(page.is_truncated(), page.marker())))
    })
    .await?;
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
        if serial.starts_with("arn:") && serial.contains(":mfa/") {
            ex.call_if_exists("iam:DeleteVirtualMFADevice", object, || {
                ex.iam
                    .delete_virtual_mfa_device()
                    .serial_number(serial)
                    .send()
            })
            .await?;
        }
    }

    let groups = all_pages(|marker| async move {
        let page = ex
            .call("iam:ListGroupsForUser", object, false, || {
                ex.iam
                    .list_groups_for_user()
                    .user_name(name)
                    .set_marker(marker.clone())
                    .send()
            })
            .await?;
        let names = page
            .groups()
            .iter()
            .map(|group| group.group_name().to_string())
            .collect();
        Ok((names, next_marker(page.is_truncated(), page.marker())))
    })
    .await?;
    for group in &groups {
        leave_group(ex, object, name, group).await?;
    }

    drop_policies(ex, Principal::User(name), object).await?;

    ex.call_if_exists("iam:DeleteUser", object, || {
        ex.iam.delete_user().user_name(name).send()
    })
    .await?;
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
