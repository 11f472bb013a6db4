//! Apply for EKS: access entries (create, update username and Kubernetes groups, associate and
//! disassociate access policies, delete) and Pod Identity associations, each in its cluster's
//! region. The plan decided what to do; this module turns each change into the EKS calls.
//!
//! An access entry accessctl creates for an IAM role records the role's unique id in the
//! [`PRINCIPAL_ID_TAG`] tag: EKS binds the entry to that id, and the planner compares it with
//! the role's id now to find entries a recreated role left broken.
//!
//! EKS sees IAM late: for a few seconds after IAM creates a role or user, CreateAccessEntry
//! answers `InvalidParameterException: The specified principalArn is invalid: invalid
//! principal` and Create/UpdatePodIdentityAssociation `Role provided in the request does not
//! exist`; and AssociateAccessPolicy right after CreateAccessEntry may answer 404. Those answers
//! are retried within the retry policy's time bound, and only for what this apply created: a
//! principal the IAM executor created ([`Created`]), an entry created a moment ago. An entry
//! whose policies could not all be associated is reported as failed, naming each policy left
//! out; the next apply plans them again.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_eks::types::{AccessScope as EksScope, AccessScopeType};

use crate::apply::Step;
use crate::model::{AccessEntry, AccessScope, IamArn, PRINCIPAL_ID_TAG, PodIdentityAssociation};
use crate::plan::{Change, Kind, Object, Variant};

use super::apply::Created;
use super::retry::{AwsCalls, RetryPolicy, aws_executor};
use super::{AwsError, ErrorKind};

/// One cluster's EKS client and the cluster's name in EKS.
#[derive(Clone, Debug)]
pub struct EksCluster {
    pub client: aws_sdk_eks::Client,
    pub eks_name: String,
}

/// Carries out access-entry and Pod Identity changes, by cluster of access.yaml.
#[derive(Debug)]
pub struct EksExecutor {
    clusters: BTreeMap<String, EksCluster>,
    /// For the unique id of a role an entry is created for.
    iam: aws_sdk_iam::Client,
    account: String,
    retry: RetryPolicy,
    /// What the IAM executor of this apply created.
    created: Created,
}

impl EksExecutor {
    pub fn new(
        clusters: BTreeMap<String, EksCluster>,
        iam: aws_sdk_iam::Client,
        account: impl Into<String>,
    ) -> Self {
        EksExecutor {
            clusters,
            iam,
            account: account.into(),
            retry: RetryPolicy::aws(),
            created: Created::default(),
        }
    }

    /// Whether the IAM principal `arn` names was created by this apply (path aside: EKS names
    /// a role without its path).
    fn is_fresh(&self, arn: &str) -> bool {
        let Some(wanted) = IamArn::parse(arn) else {
            return false;
        };
        self.created.any(|key| {
            IamArn::parse(key).is_some_and(|made| {
                std::mem::discriminant(&made) == std::mem::discriminant(&wanted)
                    && (made.partition(), made.account(), made.name())
                        == (wanted.partition(), wanted.account(), wanted.name())
            })
        })
    }

    async fn execute_change(&self, change: &Change) -> Result<(), AwsError> {
        let cluster_name = change.address.cluster.as_deref().unwrap_or_default();
        let Some(cluster) = self.clusters.get(cluster_name) else {
            return Err(other(
                change,
                format!("no EKS connection for cluster `{cluster_name}`"),
            ));
        };
        let name = change.address.name.as_str();
        let cluster = Target {
            executor: self,
            eks: &cluster.client,
            cluster: &cluster.eks_name,
        };
        match change.address.kind {
            Kind::AccessEntry => cluster.apply_step::<AccessEntry>(change, name).await,
            Kind::PodIdentity => {
                cluster
                    .apply_step::<PodIdentityAssociation>(change, name)
                    .await
            }
            kind => Err(other(
                change,
                format!(
                    "`{}` objects are not EKS objects; the EKS executor cannot apply them",
                    kind.as_str()
                ),
            )),
        }
    }

    /// The unique id of the role `principal` names, when it is a role of this account.
    async fn role_id(&self, principal: &str) -> Result<Option<String>, AwsError> {
        let Some(arn @ IamArn::Role { .. }) = IamArn::parse(principal) else {
            return Ok(None);
        };
        if arn.account() != self.account {
            return Ok(None);
        }
        let Some(name) = arn.role_name() else {
            return Ok(None);
        };
        // A role created earlier in this apply may not be visible yet.
        let fresh = self.is_fresh(principal);
        let output = self
            .call("iam:GetRole", &format!("role `{name}`"), fresh, || {
                self.iam.get_role().role_name(name).send()
            })
            .await?;
        Ok(output.role().map(|role| role.role_id().to_string()))
    }
}

/// An update of an EKS object in one cluster, as its calls name it.
struct Update<'a, T> {
    cluster: &'a Target<'a>,
    /// How errors name it (`access entry ARN in cluster demo`).
    object: String,
    /// Its name in the plan: a principal ARN, a ServiceAccount's `namespace/name`.
    name: &'a str,
    before: &'a T,
    after: &'a T,
}

/// An EKS object kind as the executor applies it (access entries, Pod Identity associations):
/// how to create, update and delete one; a replace deletes, then creates.
trait EksApply: Variant + Sync {
    /// How errors name one, before its name.
    const NOUN: &'static str;

    async fn create(cluster: &Target<'_>, name: &str, after: &Self) -> Result<(), AwsError>;

    /// What an update changes besides the tags; the object's ARN when the tags differ.
    async fn change(update: &Update<'_, Self>) -> Result<Option<String>, AwsError>;

    fn tags(&self) -> &BTreeMap<String, String>;

    async fn delete(cluster: &Target<'_>, name: &str, before: &Self) -> Result<(), AwsError>;
}

impl EksApply for AccessEntry {
    const NOUN: &'static str = "access entry";

    async fn create(cluster: &Target<'_>, name: &str, after: &Self) -> Result<(), AwsError> {
        let object = cluster.object_of::<Self>(name);
        let mut tags = after.tags.clone();
        if let Some(id) = cluster.executor.role_id(name).await? {
            tags.insert(PRINCIPAL_ID_TAG.to_string(), id);
        }
        let groups: Vec<String> = after.groups.iter().cloned().collect();
        // EKS refuses a name IAM has not shown it yet; a missing cluster is no such case.
        let fresh = cluster.executor.is_fresh(name);
        cluster
            .executor
            .call_judged(
                "eks:CreateAccessEntry",
                &object,
                |error| fresh && error.kind != ErrorKind::NotFound,
                || {
                    cluster
                        .eks
                        .create_access_entry()
                        .cluster_name(cluster.cluster)
                        .principal_arn(name)
                        .r#type(after.kind.as_str())
                        .set_username(after.username.clone())
                        .set_kubernetes_groups(Some(groups.clone()))
                        .set_tags(Some(tags.clone().into_iter().collect()))
                        .send()
                },
            )
            .await?;
        // Every policy is tried, and each one left out is named: the entry exists now, and
        // the next apply plans what it lacks.
        let mut missing = Vec::new();
        for (policy, scope) in &after.policies {
            if let Err(error) = cluster.associate(name, policy, scope, true).await {
                missing.push((policy, error));
            }
        }
        let Some((_, first)) = missing.first() else {
            return Ok(());
        };
        let policies: Vec<&str> = missing.iter().map(|(policy, _)| policy.as_str()).collect();
        Err(AwsError {
            object: Some(format!(
                "{object} ({CREATED_WITHOUT} {}: {})",
                if policies.len() == 1 {
                    "policy"
                } else {
                    "policies"
                },
                policies.join(", ")
            )),
            ..first.clone()
        })
    }

    /// The username and Kubernetes groups, then the policies: associated (new or with another
    /// scope), then disassociated; the ARN (described) when the tags differ.
    async fn change(update: &Update<'_, Self>) -> Result<Option<String>, AwsError> {
        let Update {
            cluster,
            name: principal,
            before,
            after,
            ..
        } = *update;
        let object = update.object.as_str();
        if before.username != after.username || before.groups != after.groups {
            let groups: Vec<String> = after.groups.iter().cloned().collect();
            cluster
                .executor
                .call("eks:UpdateAccessEntry", object, false, || {
                    cluster
                        .eks
                        .update_access_entry()
                        .cluster_name(cluster.cluster)
                        .principal_arn(principal)
                        .set_username(after.username.clone())
                        .set_kubernetes_groups(Some(groups.clone()))
                        .send()
                })
                .await?;
        }
        for (policy, scope) in &after.policies {
            // Associating again with another scope replaces the scope.
            if before.policies.get(policy) != Some(scope) {
                cluster.associate(principal, policy, scope, false).await?;
            }
        }
        for policy in before.policies.keys() {
            if !after.policies.contains_key(policy) {
                cluster
                    .executor
                    .call_if_exists("eks:DisassociateAccessPolicy", object, || {
                        cluster
                            .eks
                            .disassociate_access_policy()
                            .cluster_name(cluster.cluster)
                            .principal_arn(principal)
                            .policy_arn(policy)
                            .send()
                    })
                    .await?;
            }
        }
        if before.tags == after.tags {
            return Ok(None);
        }
        let described = cluster
            .executor
            .call("eks:DescribeAccessEntry", object, false, || {
                cluster
                    .eks
                    .describe_access_entry()
                    .cluster_name(cluster.cluster)
                    .principal_arn(principal)
                    .send()
            })
            .await?;
        let arn = described
            .access_entry()
            .and_then(|entry| entry.access_entry_arn())
            .unwrap_or_default();
        Ok(Some(arn.to_string()))
    }

    fn tags(&self) -> &BTreeMap<String, String> {
        &self.tags
    }

    async fn delete(cluster: &Target<'_>, name: &str, _: &Self) -> Result<(), AwsError> {
        let object = cluster.object_of::<Self>(name);
        cluster
            .executor
            .call_if_exists("eks:DeleteAccessEntry", &object, || {
                cluster
                    .eks
                    .delete_access_entry()
                    .cluster_name(cluster.cluster)
                    .principal_arn(name)
                    .send()
            })
            .await?;
        Ok(())
    }
}

impl EksApply for PodIdentityAssociation {
    const NOUN: &'static str = "pod identity association";

    async fn create(cluster: &Target<'_>, name: &str, after: &Self) -> Result<(), AwsError> {
        let object = cluster.object_of::<Self>(name);
        let (namespace, account) = split_key(name, &object)?;
        // The role may have been created a moment ago in this apply.
        cluster
            .executor
            .call_judged(
                "eks:CreatePodIdentityAssociation",
                &object,
                cluster.role_judge(&after.role_arn),
                || {
                    cluster
                        .eks
                        .create_pod_identity_association()
                        .cluster_name(cluster.cluster)
                        .namespace(namespace)
                        .service_account(account)
                        .role_arn(&after.role_arn)
                        .set_tags(Some(after.tags.clone().into_iter().collect()))
                        .send()
                },
            )
            .await
            .map(|_| ())
    }

    /// The role, on the association EKS holds for the ServiceAccount now; its ARN.
    async fn change(update: &Update<'_, Self>) -> Result<Option<String>, AwsError> {
        let (cluster, object) = (update.cluster, update.object.as_str());
        let Some((id, arn)) = cluster.find_association(update.name, update.before).await? else {
            return Err(AwsError {
                call: "eks:ListPodIdentityAssociations",
                object: Some(object.to_string()),
                kind: ErrorKind::NotFound,
                message: "the association is gone".to_string(),
            });
        };
        if update.before.role_arn != update.after.role_arn {
            cluster
                .executor
                .call_judged(
                    "eks:UpdatePodIdentityAssociation",
                    object,
                    cluster.role_judge(&update.after.role_arn),
                    || {
                        cluster
                            .eks
                            .update_pod_identity_association()
                            .cluster_name(cluster.cluster)
                            .association_id(&id)
                            .role_arn(&update.after.role_arn)
                            .send()
                    },
                )
                .await?;
        }
        Ok(Some(arn))
    }

    fn tags(&self) -> &BTreeMap<String, String> {
        &self.tags
    }

    async fn delete(cluster: &Target<'_>, name: &str, before: &Self) -> Result<(), AwsError> {
        let object = cluster.object_of::<Self>(name);
        let Some((id, _)) = cluster.find_association(name, before).await? else {
            return Ok(());
        };
        cluster
            .executor
            .call_if_exists("eks:DeletePodIdentityAssociation", &object, || {
                cluster
                    .eks
                    .delete_pod_identity_association()
                    .cluster_name(cluster.cluster)
                    .association_id(&id)
                    .send()
            })
            .await?;
        Ok(())
    }
}

/// One cluster's calls.
struct Target<'a> {
    executor: &'a EksExecutor,
    eks: &'a aws_sdk_eks::Client,
    cluster: &'a str,
}

impl Target<'_> {
    fn object(&self, what: &str) -> String {
        format!("{what} in cluster {}", self.cluster)
    }

    /// How errors name the `T` called `name` (`access entry ARN in cluster demo`).
    fn object_of<T: EksApply>(&self, name: &str) -> String {
        self.object(&format!("{} {name}", T::NOUN))
    }

    /// Carries out `change`, whose objects must be of the kind `T` its address names.
    async fn apply_step<T: EksApply>(&self, change: &Change, name: &str) -> Result<(), AwsError> {
        match Step::<T>::of(change).map_err(|message| other(change, message))? {
            Step::Create(after) => T::create(self, name, after).await,
            Step::Update(before, after) => self.update(name, before, after).await,
            Step::Replace(before, after) => {
                T::delete(self, name, before).await?;
                T::create(self, name, after).await
            }
            Step::Delete(before) => T::delete(self, name, before).await,
        }
    }

    /// An update: the kind's own calls ([`EksApply::change`]), then the tags, on the ARN those
    /// calls learned (none: the tags are as they were).
    async fn update<T: EksApply>(&self, name: &str, before: &T, after: &T) -> Result<(), AwsError> {
        let object = self.object_of::<T>(name);
        let update = Update {
            cluster: self,
            object,
            name,
            before,
            after,
        };
        match T::change(&update).await? {
            Some(arn) => {
                let object = &update.object;
                self.retag(object, &arn, before.tags(), after.tags()).await
            }
            None => Ok(()),
        }
    }

    /// Associates `policy`; `new_entry` when the entry was created a moment ago, so a 404 may be
    /// EKS not seeing it yet.
    async fn associate(
        &self,
        principal: &str,
        policy: &str,
        scope: &AccessScope,
        new_entry: bool,
    ) -> Result<(), AwsError> {
        let object = self.object(&format!("access entry {principal} (policy {policy})"));
        let scope = match scope {
            AccessScope::Cluster => EksScope::builder().r#type(AccessScopeType::Cluster).build(),
            AccessScope::Namespace { namespaces } => EksScope::builder()
                .r#type(AccessScopeType::Namespace)
                .set_namespaces(Some(namespaces.iter().cloned().collect()))
                .build(),
        };
        self.executor
            .call("eks:AssociateAccessPolicy", &object, new_entry, || {
                self.eks
                    .associate_access_policy()
                    .cluster_name(self.cluster)
                    .principal_arn(principal)
                    .policy_arn(policy)
                    .access_scope(scope.clone())
                    .send()
            })
            .await
            .map(|_| ())
    }

    async fn retag(
        &self,
        object: &str,
        arn: &str,
        before: &BTreeMap<String, String>,
        after: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let set: BTreeMap<String, String> = after
            .iter()
            .filter(|(key, value)| before.get(*key) != Some(*value))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        let removed: BTreeSet<&String> = before
            .keys()
            .filter(|key| !after.contains_key(*key) && key.as_str() != PRINCIPAL_ID_TAG)
            .collect();
        // Removed first: EKS refuses a 51st tag, even one the same apply would make room for.
        if !removed.is_empty() {
            let keys: Vec<String> = removed.into_iter().cloned().collect();
            self.executor
                .call("eks:UntagResource", object, false, || {
                    self.eks
                        .untag_resource()
                        .resource_arn(arn)
                        .set_tag_keys(Some(keys.clone()))
                        .send()
                })
                .await?;
        }
        if !set.is_empty() {
            self.executor
                .call("eks:TagResource", object, false, || {
                    self.eks
                        .tag_resource()
                        .resource_arn(arn)
                        .set_tags(Some(set.clone().into_iter().collect()))
                        .send()
                })
                .await?;
        }
        Ok(())
    }

    /// Whether an error of a Pod Identity write naming `role` is about that role, created by
    /// this apply (a missing cluster or association is not).
    fn role_judge(&self, role: &str) -> impl Fn(&AwsError) -> bool + use<> {
        let fresh = self.executor.is_fresh(role);
        move |error| fresh && error.kind != ErrorKind::NotFound
    }

    /// The id and ARN of the association for ServiceAccount `key` (`namespace/name`): a plan
    /// saved earlier may hold an id that a re-created association no longer has, so EKS is asked.
    async fn find_association(
        &self,
        key: &str,
        before: &PodIdentityAssociation,
    ) -> Result<Option<(String, String)>, AwsError> {
        let object = self.object_of::<PodIdentityAssociation>(key);
        let (namespace, account) = split_key(key, &object)?;
        let listed = self
            .executor
            .call("eks:ListPodIdentityAssociations", &object, false, || {
                let request = self.eks.list_pod_identity_associations();
                let request = request.cluster_name(self.cluster).namespace(namespace);
                let pages = request.service_account(account).into_paginator();
                pages.items().send().try_collect()
            })
            .await?;
        let found = listed
            .iter()
            .filter(|summary| {
                summary.namespace() == Some(namespace) && summary.service_account() == Some(account)
            })
            .max_by_key(|summary| summary.association_id() == before.association_id.as_deref());
        Ok(found.and_then(|summary| {
            Some((
                summary.association_id()?.to_string(),
                summary.association_arn().unwrap_or_default().to_string(),
            ))
        }))
    }
}

fn split_key<'a>(key: &'a str, object: &str) -> Result<(&'a str, &'a str), AwsError> {
    key.split_once('/').ok_or_else(|| AwsError {
        call: "eks",
        object: Some(object.to_string()),
        kind: ErrorKind::Other,
        message: "a Pod Identity association is named `namespace/serviceaccount`".to_string(),
    })
}

/// A change this executor cannot carry out: not an EKS one, or one whose objects do not fit.
fn other(change: &Change, message: String) -> AwsError {
    AwsError::unfit("eks", change, message)
}

impl EksExecutor {
    /// Whether `change` is about a principal (an entry's) or a role (an association's) this
    /// apply created.
    fn names_fresh_principal(&self, change: &Change) -> bool {
        match &change.after {
            Some(Object::PodIdentity(after)) => self.is_fresh(&after.role_arn),
            Some(Object::AccessEntry(_)) => self.is_fresh(&change.address.name),
            _ => false,
        }
    }
}

/// How the object of an entry created without some of its policies says so.
const CREATED_WITHOUT: &str = "created without";

aws_executor!(EksExecutor, |executor, change, error| {
    propagation_hint(error, executor.names_fresh_principal(change)).unwrap_or_else(|| hint(error))
});

/// How to go on when EKS does not see an IAM principal (`fresh`: one this apply created), or
/// when an entry was created without some of its policies.
fn propagation_hint(error: &AwsError, fresh: bool) -> Option<String> {
    let unseen =
        super::retry::transient(error, true) == Some(super::retry::Transient::NotYetVisible);
    let entry_created = error
        .object
        .as_deref()
        .is_some_and(|object| object.contains(&format!("({CREATED_WITHOUT} ")));
    match error.call {
        "eks:AssociateAccessPolicy" if entry_created && error.kind == ErrorKind::NotFound => Some(
            "the access entry exists without the policies named: EKS did not yet find the entry it had just created when the retries ran out; run `accessctl apply` again to associate them".to_string(),
        ),
        "eks:AssociateAccessPolicy" if entry_created => Some(format!(
            "the access entry exists without the policies named: {}; then `accessctl apply` again associates them",
            hint(error)
        )),
        "eks:CreateAccessEntry"
        | "eks:CreatePodIdentityAssociation"
        | "eks:UpdatePodIdentityAssociation"
            if unseen && fresh =>
        {
            Some("this apply created the IAM principal, and IAM had not yet propagated it to EKS when the retries ran out: run `accessctl apply` again to complete the change".to_string())
        }
        "eks:CreateAccessEntry"
        | "eks:CreatePodIdentityAssociation"
        | "eks:UpdatePodIdentityAssociation"
            if unseen =>
        {
            Some("EKS does not know this IAM principal: check that it exists and that its ARN in access.yaml is right (`aws iam get-role`, `aws iam get-user`)".to_string())
        }
        _ => None,
    }
}

/// How to fix a failed EKS write.
pub fn hint(error: &AwsError) -> String {
    match &error.kind {
        ErrorKind::AccessDenied => format!(
            "the caller needs `{}` on the cluster to apply this plan",
            error.call
        ),
        ErrorKind::Service(code) if code == "ResourceInUseException" => {
            "it was created outside this plan meanwhile: run `accessctl plan` again".to_string()
        }
        ErrorKind::Service(code) if code == "InvalidRequestException" => {
            "EKS refused the request in the cluster's current state (its authentication mode, or an entry of a type EKS manages): check with `aws eks describe-cluster`".to_string()
        }
        ErrorKind::Service(code)
            if code == "InvalidParameterException" && error.call.contains("PodIdentity") =>
        {
            format!(
                "EKS refused the association's role (the message says why): the role must exist; {}; {} (`accessctl plan` checks all three)",
                crate::model::eks_rules::POD_IDENTITY_ACCOUNT_RULE,
                crate::model::eks_rules::POD_IDENTITY_TRUST_RULE,
            )
        }
        ErrorKind::Service(code) if code == "InvalidParameterException" => {
            "EKS refused a value from access.yaml (the message names it): a principal must exist, a policy must be an EKS access policy".to_string()
        }
        _ => super::apply::apply_hint(error),
    }
}

#[cfg(test)]
mod hint_tests {
    use super::*;

    fn refused(call: &'static str, code: &str, message: &str) -> AwsError {
        AwsError {
            call,
            object: Some("pod identity association apps/uploader in cluster `demo`".into()),
            kind: ErrorKind::Service(code.into()),
            message: message.into(),
        }
    }

    /// A refused Pod Identity association is about its role: the hint names the Pod Identity
    /// rules, not access entries' principals and access policies.
    #[test]
    fn pod_identity_refusals_name_the_pod_identity_rules() {
        for call in [
            "eks:CreatePodIdentityAssociation",
            "eks:UpdatePodIdentityAssociation",
        ] {
            let error = refused(
                call,
                "InvalidParameterException",
                "Trust policy of the role provided is invalid",
            );
            let hint = hint(&error);
            assert!(hint.contains("`pods.eks.amazonaws.com`"), "{hint}");
            assert!(
                hint.contains("`sts:AssumeRole` and `sts:TagSession`"),
                "{hint}"
            );
            assert!(hint.contains("cluster's AWS account"), "{hint}");
            assert!(!hint.contains("access policy"), "{hint}");
        }
        let entry = refused(
            "eks:CreateAccessEntry",
            "InvalidParameterException",
            "The specified principalArn is invalid",
        );
        assert!(hint(&entry).contains("access policy"), "{}", hint(&entry));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_is_fresh_when_this_apply_created_it_path_aside() {
        let config = aws_sdk_iam::Config::builder()
            .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
            .build();
        let created = Created::default();
        let executor = EksExecutor::new(
            BTreeMap::new(),
            aws_sdk_iam::Client::from_conf(config),
            "123456789012",
        )
        .with_created(created.clone());
        assert!(!executor.is_fresh("arn:aws:iam::123456789012:role/deployer"));
        // What the IAM executor records later is seen: the handle is shared.
        created.insert("arn:aws:iam::123456789012:role/team/deployer".into());
        assert!(executor.is_fresh("arn:aws:iam::123456789012:role/deployer"));
        assert!(executor.is_fresh("arn:aws:iam::123456789012:role/team/deployer"));
        for other in [
            "arn:aws:iam::123456789012:user/deployer",
            "arn:aws:iam::210987654321:role/deployer",
            "arn:aws:iam::123456789012:role/other",
            "deployer",
        ] {
            assert!(!executor.is_fresh(other), "{other}");
        }
    }

    #[tokio::test]
    async fn a_change_whose_objects_do_not_fit_its_kind_fails_before_any_call() {
        let eks = aws_sdk_eks::Client::from_conf(
            aws_sdk_eks::Config::builder()
                .behavior_version(aws_sdk_eks::config::BehaviorVersion::latest())
                .build(),
        );
        let iam = aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::Config::builder()
                .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
                .build(),
        );
        let cluster = EksCluster {
            client: eks,
            eks_name: "demo".into(),
        };
        let executor = EksExecutor::new(BTreeMap::from([("demo".into(), cluster)]), iam, "1");
        let namespace = || Some(Object::Namespace(crate::model::Namespace::default()));
        for (kind, action, before, after) in [
            (
                Kind::AccessEntry,
                crate::plan::Action::Create,
                None,
                namespace(),
            ),
            (
                Kind::PodIdentity,
                crate::plan::Action::Update,
                namespace(),
                namespace(),
            ),
            (Kind::PodIdentity, crate::plan::Action::Delete, None, None),
        ] {
            let change = Change {
                address: crate::plan::Address::cluster(kind, "demo", "x"),
                action,
                reason: None,
                before,
                after,
                fields: Vec::new(),
            };
            let error = executor.execute_change(&change).await.err();
            assert_eq!(
                error.map(|error| (error.call, error.object, error.message)),
                Some((
                    "eks",
                    Some(change.address.to_string()),
                    format!("a `{action:?}` change whose before/after objects do not fit its kind")
                ))
            );
        }
    }
}
