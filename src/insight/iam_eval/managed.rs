//! What the AWS-managed policies met in the runbooks allow, as data: action patterns on every
//! resource per policy name. `exact` when the pattern list is the policy
//! (`AdministratorAccess` is `*` on `*`); otherwise a coarse picture of the services it
//! touches, whose matches are "possibly". A policy outside the table is unknown.

/// One AWS-managed policy of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ManagedPolicy {
    /// The name, without the `arn:PARTITION:iam::aws:policy/PATH/` prefix.
    pub name: &'static str,
    /// Allowed action patterns, on every resource.
    pub actions: &'static [&'static str],
    /// The patterns are the policy, not an approximation.
    pub exact: bool,
}

/// `AmazonEKSClusterPolicy` and the older `AmazonEKSServicePolicy` touch the same services.
const EKS_CLUSTER_ACTIONS: &[&str] = &[
    "autoscaling:*",
    "ec2:*",
    "elasticloadbalancing:*",
    "kms:CreateGrant",
    "kms:DescribeKey",
    "logs:CreateLogGroup",
    "logs:PutLogEvents",
    "route53:AssociateVPCWithHostedZone",
    "iam:CreateServiceLinkedRole",
];

/// The table, by name.
pub static AWS_MANAGED: &[ManagedPolicy] = &[
    ManagedPolicy {
        name: "AdministratorAccess",
        exact: true,
        actions: &["*"],
    },
    ManagedPolicy {
        name: "PowerUserAccess",
        exact: false,
        actions: &["*"],
    },
    ManagedPolicy {
        name: "IAMFullAccess",
        exact: true,
        actions: &["iam:*", "organizations:Describe*", "organizations:List*"],
    },
    ManagedPolicy {
        name: "ReadOnlyAccess",
        exact: false,
        actions: &["*:Describe*", "*:Get*", "*:List*"],
    },
    ManagedPolicy {
        name: "AmazonS3FullAccess",
        exact: true,
        actions: &["s3:*", "s3-object-lambda:*"],
    },
    ManagedPolicy {
        name: "AmazonS3ReadOnlyAccess",
        exact: true,
        actions: &["s3:Get*", "s3:List*", "s3:Describe*"],
    },
    ManagedPolicy {
        name: "AmazonSNSFullAccess",
        exact: true,
        actions: &["sns:*"],
    },
    ManagedPolicy {
        name: "CloudFrontFullAccess",
        exact: false,
        actions: &[
            "cloudfront:*",
            "cloudfront-keyvaluestore:*",
            "s3:ListAllMyBuckets",
            "acm:ListCertificates",
            "iam:ListServerCertificates",
            "waf:ListWebACLs",
            "waf:GetWebACL",
            "wafv2:ListWebACLs",
            "wafv2:GetWebACL",
            "kinesis:ListStreams",
            "kinesis:DescribeStream",
            "iam:ListRoles",
        ],
    },
    ManagedPolicy {
        name: "AmazonEC2ContainerRegistryFullAccess",
        exact: false,
        actions: &["ecr:*", "cloudtrail:LookupEvents"],
    },
    ManagedPolicy {
        name: "AmazonEC2ContainerRegistryReadOnly",
        exact: false,
        actions: &[
            "ecr:GetAuthorizationToken",
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:GetRepositoryPolicy",
            "ecr:DescribeRepositories",
            "ecr:ListImages",
            "ecr:DescribeImages",
            "ecr:BatchGetImage",
            "ecr:GetLifecyclePolicy",
            "ecr:GetLifecyclePolicyPreview",
            "ecr:ListTagsForResource",
            "ecr:DescribeImageScanFindings",
        ],
    },
    ManagedPolicy {
        name: "AmazonElasticContainerRegistryPublicFullAccess",
        exact: false,
        actions: &["ecr-public:*", "sts:GetServiceBearerToken"],
    },
    ManagedPolicy {
        name: "AmazonEKSClusterPolicy",
        exact: false,
        actions: EKS_CLUSTER_ACTIONS,
    },
    ManagedPolicy {
        name: "AmazonEKSServicePolicy",
        exact: false,
        actions: EKS_CLUSTER_ACTIONS,
    },
    ManagedPolicy {
        name: "AmazonEKSWorkerNodePolicy",
        exact: false,
        actions: &[
            "ec2:Describe*",
            "eks:DescribeCluster",
            "eks-auth:AssumeRoleForPodIdentity",
        ],
    },
    ManagedPolicy {
        name: "AmazonEKSVPCResourceController",
        exact: false,
        actions: &[
            "ec2:CreateNetworkInterfacePermission",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
            "ec2:Describe*",
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:AttachNetworkInterface",
            "ec2:DetachNetworkInterface",
            "ec2:ModifyNetworkInterfaceAttribute",
        ],
    },
    ManagedPolicy {
        name: "AmazonEKS_CNI_Policy",
        exact: false,
        actions: &[
            "ec2:AssignPrivateIpAddresses",
            "ec2:AttachNetworkInterface",
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:Describe*",
            "ec2:DetachNetworkInterface",
            "ec2:ModifyNetworkInterfaceAttribute",
            "ec2:UnassignPrivateIpAddresses",
            "ec2:CreateTags",
        ],
    },
];

/// The table's entry for an AWS-managed policy name.
pub fn aws_managed(name: &str) -> Option<&'static ManagedPolicy> {
    AWS_MANAGED.iter().find(|policy| policy.name == name)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every entry names a real AWS-managed policy (the offline list the spec loader checks
    /// `aws:NAME` against), once, with patterns IAM would accept.
    #[test]
    fn the_table_names_real_policies_once_with_valid_patterns() {
        let known: BTreeSet<&str> = include_str!("../../spec/aws_managed_policies.txt")
            .lines()
            .map(|line| line.rsplit('/').next().unwrap_or(line).trim())
            .collect();
        let mut seen = BTreeSet::new();
        for policy in AWS_MANAGED {
            assert!(
                known.contains(policy.name),
                "{} is not an AWS-managed policy",
                policy.name
            );
            assert!(seen.insert(policy.name), "{} is listed twice", policy.name);
            assert!(!policy.actions.is_empty(), "{} allows nothing", policy.name);
            for pattern in policy.actions {
                let valid = *pattern == "*"
                    || pattern.split_once(':').is_some_and(|(service, name)| {
                        !service.is_empty() && !name.is_empty() && !name.contains(':')
                    });
                assert!(
                    valid,
                    "{}: `{pattern}` is not an action pattern",
                    policy.name
                );
            }
        }
        assert_eq!(
            aws_managed("AdministratorAccess").map(|p| (p.actions, p.exact)),
            Some((&["*"][..], true))
        );
        assert_eq!(aws_managed("SomethingNew"), None);
    }
}
