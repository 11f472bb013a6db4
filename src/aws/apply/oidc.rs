//! IAM OIDC identity providers (IRSA), addressed by issuer host and path; the URL IAM takes is
//! `https://` followed by that name.

use crate::model::OidcProvider;

use super::AwsCalls as _;
use super::{Apply, AwsError, ByArn, IamExecutor, Tagged, Update, create_tags, set_changes};

impl Apply for OidcProvider {
    async fn create(ex: &IamExecutor, name: &str, after: &OidcProvider) -> Result<(), AwsError> {
        let object = format!("OIDC provider `{name}`");
        let url = format!("https://{name}");
        let client_ids: Vec<String> = after.client_ids.iter().cloned().collect();
        let tags = create_tags(&after.tags);
        ex.call("iam:CreateOpenIDConnectProvider", &object, false, || {
            ex.iam
                .create_open_id_connect_provider()
                .url(&url)
                .set_client_id_list(Some(client_ids.clone()))
                .set_tags(tags.clone())
                .send()
        })
        .await?;
        ex.remember_created(ex.oidc_provider_arn(name));
        Ok(())
    }

    fn by_arn<'a>(ex: &IamExecutor, name: &str, provider: &'a Self) -> Option<ByArn<'a>> {
        Some(ByArn {
            object: format!("OIDC provider `{name}`"),
            arn: ex.oidc_provider_arn(name),
            tagged: |arn| Tagged::OidcProvider(arn),
            tags: &provider.tags,
        })
    }

    /// Client ids added, then removed.
    async fn change(update: &Update<'_, OidcProvider>) -> Result<(), AwsError> {
        let Update { ex, fresh, .. } = *update;
        let (object, arn) = (update.object.as_str(), update.arn.as_str());
        let (add, remove) = set_changes(&update.before.client_ids, &update.after.client_ids);
        for client_id in add {
            ex.call(
                "iam:AddClientIDToOpenIDConnectProvider",
                object,
                fresh,
                || {
                    ex.iam
                        .add_client_id_to_open_id_connect_provider()
                        .open_id_connect_provider_arn(arn)
                        .client_id(client_id)
                        .send()
                },
            )
            .await?;
        }
        for client_id in remove {
            ex.call(
                "iam:RemoveClientIDFromOpenIDConnectProvider",
                object,
                fresh,
                || {
                    ex.iam
                        .remove_client_id_from_open_id_connect_provider()
                        .open_id_connect_provider_arn(arn)
                        .client_id(client_id)
                        .send()
                },
            )
            .await?;
        }
        Ok(())
    }

    async fn delete(ex: &IamExecutor, name: &str, _: &OidcProvider) -> Result<(), AwsError> {
        let object = format!("OIDC provider `{name}`");
        let arn = ex.oidc_provider_arn(name);
        ex.call_if_exists("iam:DeleteOpenIDConnectProvider", &object, || {
            ex.iam
                .delete_open_id_connect_provider()
                .open_id_connect_provider_arn(&arn)
                .send()
        })
        .await?;
        Ok(())
    }
}
