//! The table of every AWS call the collector makes, with its IAM action.
//!
//! One table serves three purposes, so they cannot drift apart: the collector
//! names the entry it is about to call (for call counts and for the action an
//! access-denied error names), and `audit --print-policy` prints the
//! least-privilege IAM policy derived from it. Only Describe/List/Get actions
//! appear; the one sensitive read (`GetSecretValue`) is marked and lands in a
//! statement of its own, needed only with `--read-secrets`.

use serde_json::{Value, json};

/// The role assumed in each account unless `--role-name` says otherwise (the
/// organisation mode's; here because the audit's own policy names it).
pub const DEFAULT_ROLE_NAME: &str = "OrganizationAccountAccessRole";

/// One AWS API call the collector makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiCall {
    /// The IAM action, e.g. `ec2:DescribeVpcs`.
    pub action: &'static str,
    /// Why the audit needs it.
    pub purpose: &'static str,
    /// Reads a secret value: only with `--read-secrets`.
    pub reads_secret_value: bool,
}

const fn call(action: &'static str, purpose: &'static str) -> ApiCall {
    ApiCall {
        action,
        purpose,
        reads_secret_value: false,
    }
}

pub const STS_GET_CALLER_IDENTITY: ApiCall = call(
    "sts:GetCallerIdentity",
    "the account id, for ARNs and the SourceAccount condition",
);
pub const EC2_DESCRIBE_VPCS: ApiCall = call(
    "ec2:DescribeVpcs",
    "find the VPC by its Name tag or id, and one probe in the home region and in each region audited (a region a service control policy denies)",
);
pub const EC2_DESCRIBE_VPC_ATTRIBUTE: ApiCall = call(
    "ec2:DescribeVpcAttribute",
    "DNS hostnames and DNS resolution",
);
pub const EC2_DESCRIBE_SUBNETS: ApiCall = call(
    "ec2:DescribeSubnets",
    "availability zones of the VPC's subnets",
);
pub const EC2_DESCRIBE_VPC_ENDPOINTS: ApiCall = call(
    "ec2:DescribeVpcEndpoints",
    "interface endpoints, private DNS, subnets",
);
pub const EC2_DESCRIBE_NETWORK_ACLS: ApiCall = call(
    "ec2:DescribeNetworkAcls",
    "network ACLs between the function's subnets and the endpoints' and database's",
);
pub const EC2_DESCRIBE_VPC_PEERING_CONNECTIONS: ApiCall = call(
    "ec2:DescribeVpcPeeringConnections",
    "whether a rotation function in another VPC than its database's is peered with it",
);
pub const EC2_DESCRIBE_INSTANCES: ApiCall = call(
    "ec2:DescribeInstances",
    "find the bastion: its security groups and whether it requires IMDSv2",
);
pub const EC2_DESCRIBE_SECURITY_GROUP_RULES: ApiCall = call(
    "ec2:DescribeSecurityGroupRules",
    "ingress rules of the bastion's and database's groups",
);
pub const EC2_GET_MANAGED_PREFIX_LIST_ENTRIES: ApiCall = call(
    "ec2:GetManagedPrefixListEntries",
    "CIDRs of prefix lists used as rule sources",
);
pub const RDS_DESCRIBE_DB_INSTANCES: ApiCall = call(
    "rds:DescribeDBInstances",
    "the database: public access, storage encryption, groups, subnets, managed admin secret",
);
pub const RDS_DESCRIBE_DB_SNAPSHOTS: ApiCall =
    call("rds:DescribeDBSnapshots", "the database's manual snapshots");
pub const RDS_DESCRIBE_DB_SNAPSHOT_ATTRIBUTES: ApiCall = call(
    "rds:DescribeDBSnapshotAttributes",
    "who may restore each manual snapshot (restore=all is public)",
);
pub const RDS_DESCRIBE_DB_CLUSTER_SNAPSHOTS: ApiCall = call(
    "rds:DescribeDBClusterSnapshots",
    "the manual snapshots of the database's cluster (an Aurora member's data)",
);
pub const RDS_DESCRIBE_DB_CLUSTER_SNAPSHOT_ATTRIBUTES: ApiCall = call(
    "rds:DescribeDBClusterSnapshotAttributes",
    "who may restore each manual cluster snapshot (restore=all is public)",
);
pub const RDS_DESCRIBE_DB_PARAMETERS: ApiCall = call(
    "rds:DescribeDBParameters",
    "require_secure_transport in the database's parameter group",
);
pub const RDS_DESCRIBE_DB_CLUSTERS: ApiCall = call(
    "rds:DescribeDBClusters",
    "the DB cluster parameter group and endpoints of the database's cluster (Aurora)",
);
pub const RDS_DESCRIBE_DB_CLUSTER_PARAMETERS: ApiCall = call(
    "rds:DescribeDBClusterParameters",
    "require_secure_transport in the cluster's parameter group (Aurora MySQL)",
);
pub const RDS_DESCRIBE_CERTIFICATES: ApiCall = call(
    "rds:DescribeCertificates",
    "when the database's CA certificate expires (ValidTill)",
);
pub const EC2_DESCRIBE_SECURITY_GROUPS: ApiCall = call(
    "ec2:DescribeSecurityGroups",
    "the rules of the VPC's default security group",
);
pub const SECRETSMANAGER_DESCRIBE_SECRET: ApiCall = call(
    "secretsmanager:DescribeSecret",
    "rotation settings of a named secret and of its admin secret",
);
pub const SECRETSMANAGER_LIST_SECRETS: ApiCall = call(
    "secretsmanager:ListSecrets",
    "rotation settings of every secret (--all-secrets)",
);
pub const SECRETSMANAGER_LIST_SECRET_VERSION_IDS: ApiCall = call(
    "secretsmanager:ListSecretVersionIds",
    "when a pending version was created (a rotation in progress or stuck); the versions again just before logging in as the other user of the pair",
);
pub const SECRETSMANAGER_GET_RESOURCE_POLICY: ApiCall = call(
    "secretsmanager:GetResourcePolicy",
    "the audited secret's resource policy (not public, not shared)",
);
pub const SECRETSMANAGER_GET_SECRET_VALUE: ApiCall = ApiCall {
    action: "secretsmanager:GetSecretValue",
    purpose: "the application secret's masterarn and credentials (--read-secrets only)",
    reads_secret_value: true,
};
pub const LAMBDA_GET_FUNCTION_CONFIGURATION: ApiCall = call(
    "lambda:GetFunctionConfiguration",
    "the rotation function exists, runs in the VPC, its runtime, its environment's variable names",
);
pub const LAMBDA_GET_POLICY: ApiCall = call(
    "lambda:GetPolicy",
    "the rotation function's resource policy",
);

pub const LAMBDA_GET_FUNCTION_URL_CONFIG: ApiCall = call(
    "lambda:GetFunctionUrlConfig",
    "whether the rotation function has a public URL (AuthType NONE)",
);
pub const LAMBDA_GET_FUNCTION_CONCURRENCY: ApiCall = call(
    "lambda:GetFunctionConcurrency",
    "whether the rotation function is throttled (reserved concurrency 0)",
);
pub const IAM_LIST_ROLE_POLICIES: ApiCall = call(
    "iam:ListRolePolicies",
    "the rotation function's role: its inline policies",
);
pub const IAM_GET_ROLE_POLICY: ApiCall = call(
    "iam:GetRolePolicy",
    "the rotation function's role: an inline policy's document",
);
pub const IAM_LIST_ATTACHED_ROLE_POLICIES: ApiCall = call(
    "iam:ListAttachedRolePolicies",
    "the rotation function's role: its managed policies",
);
pub const IAM_GET_ROLE: ApiCall = call(
    "iam:GetRole",
    "the rotation function's role: its permissions boundary",
);
pub const IAM_GET_POLICY: ApiCall = call("iam:GetPolicy", "a managed policy's default version");
pub const IAM_GET_POLICY_VERSION: ApiCall =
    call("iam:GetPolicyVersion", "a managed policy's document");
pub const KMS_DESCRIBE_KEY: ApiCall = call(
    "kms:DescribeKey",
    "a secret's KMS key: its ARN (an alias resolved) and whether AWS manages it",
);
/// Its key policy must allow the auditor too (KMS API reference, GetKeyPolicy:
/// "Required permissions: kms:GetKeyPolicy (key policy)"): the default key policy
/// does, by delegating to the account's IAM policies.
pub const KMS_GET_KEY_POLICY: ApiCall = call(
    "kms:GetKeyPolicy",
    "a customer managed key's key policy: whether the rotation role may decrypt with it",
);
pub const KMS_GET_KEY_ROTATION_STATUS: ApiCall = call(
    "kms:GetKeyRotationStatus",
    "whether a customer managed key's key material is rotated automatically",
);

pub const EC2_DESCRIBE_REGIONS: ApiCall =
    call("ec2:DescribeRegions", "each region's opt-in status");
/// Allowed from any account of an organisation, member accounts too
/// (Organizations API reference, DescribeOrganization: "You can call this
/// operation from any account in a organization"); an account in none is told
/// `AWSOrganizationsNotInUseException`.
pub const ORGANIZATIONS_DESCRIBE_ORGANIZATION: ApiCall = call(
    "organizations:DescribeOrganization",
    "the audited account's organisation id, for endpoint policies' aws:PrincipalOrgID and aws:ResourceOrgID conditions",
);
pub const ORGANIZATIONS_LIST_ACCOUNTS: ApiCall = call(
    "organizations:ListAccounts",
    "the organisation's active accounts (--organization, from the management or a delegated administrator account)",
);
pub const ORGANIZATIONS_LIST_ACCOUNTS_FOR_PARENT: ApiCall = call(
    "organizations:ListAccountsForParent",
    "the accounts of each organisational unit named by --ous",
);
pub const ORGANIZATIONS_LIST_OUS_FOR_PARENT: ApiCall = call(
    "organizations:ListOrganizationalUnitsForParent",
    "the units nested in each organisational unit named by --ous",
);
/// Not read-only in name, but it changes nothing: the caller's way into each
/// audited account (`--accounts`, `--organization`), a statement of its own.
pub const STS_ASSUME_ROLE: ApiCall = call(
    "sts:AssumeRole",
    "credentials of the audit role in each audited account",
);

/// The calls made with the caller's own credentials to list the organisation's
/// accounts (`--organization`, `--ous`), never by an audited account's role.
pub const CALLER_ONLY: &[ApiCall] = &[
    ORGANIZATIONS_LIST_ACCOUNTS,
    ORGANIZATIONS_LIST_ACCOUNTS_FOR_PARENT,
    ORGANIZATIONS_LIST_OUS_FOR_PARENT,
];

/// Every call the collector can make.
pub const CALLS: &[ApiCall] = &[
    STS_GET_CALLER_IDENTITY,
    EC2_DESCRIBE_VPCS,
    EC2_DESCRIBE_VPC_ATTRIBUTE,
    EC2_DESCRIBE_SUBNETS,
    EC2_DESCRIBE_VPC_ENDPOINTS,
    EC2_DESCRIBE_NETWORK_ACLS,
    EC2_DESCRIBE_VPC_PEERING_CONNECTIONS,
    EC2_DESCRIBE_INSTANCES,
    EC2_DESCRIBE_SECURITY_GROUP_RULES,
    EC2_GET_MANAGED_PREFIX_LIST_ENTRIES,
    RDS_DESCRIBE_DB_INSTANCES,
    RDS_DESCRIBE_DB_SNAPSHOTS,
    RDS_DESCRIBE_DB_SNAPSHOT_ATTRIBUTES,
    RDS_DESCRIBE_DB_CLUSTER_SNAPSHOTS,
    RDS_DESCRIBE_DB_CLUSTER_SNAPSHOT_ATTRIBUTES,
    RDS_DESCRIBE_DB_PARAMETERS,
    RDS_DESCRIBE_DB_CLUSTERS,
    RDS_DESCRIBE_DB_CLUSTER_PARAMETERS,
    RDS_DESCRIBE_CERTIFICATES,
    EC2_DESCRIBE_SECURITY_GROUPS,
    SECRETSMANAGER_DESCRIBE_SECRET,
    SECRETSMANAGER_LIST_SECRETS,
    SECRETSMANAGER_LIST_SECRET_VERSION_IDS,
    SECRETSMANAGER_GET_RESOURCE_POLICY,
    SECRETSMANAGER_GET_SECRET_VALUE,
    LAMBDA_GET_FUNCTION_CONFIGURATION,
    LAMBDA_GET_POLICY,
    LAMBDA_GET_FUNCTION_URL_CONFIG,
    LAMBDA_GET_FUNCTION_CONCURRENCY,
    IAM_LIST_ROLE_POLICIES,
    IAM_GET_ROLE,
    IAM_GET_ROLE_POLICY,
    IAM_LIST_ATTACHED_ROLE_POLICIES,
    IAM_GET_POLICY,
    IAM_GET_POLICY_VERSION,
    KMS_DESCRIBE_KEY,
    KMS_GET_KEY_POLICY,
    KMS_GET_KEY_ROTATION_STATUS,
    EC2_DESCRIBE_REGIONS,
    ORGANIZATIONS_DESCRIBE_ORGANIZATION,
    ORGANIZATIONS_LIST_ACCOUNTS,
    ORGANIZATIONS_LIST_ACCOUNTS_FOR_PARENT,
    ORGANIZATIONS_LIST_OUS_FOR_PARENT,
];

/// The least-privilege IAM policy for the audit, as an IAM policy document.
///
/// Describe/List/Get calls do not support resource-level scoping for most of
/// these services, hence `*`; reading secret values is a separate statement so an
/// auditor can leave it out when not using `--read-secrets`. `role_name` is the
/// role assumed in each audited account (`--role-name`).
pub fn iam_policy(role_name: &str) -> Value {
    let mut read_only: Vec<&str> = CALLS
        .iter()
        .filter(|c| !c.reads_secret_value)
        .map(|c| c.action)
        .collect();
    read_only.sort_unstable();
    read_only.dedup();
    let mut secret_reads: Vec<&str> = CALLS
        .iter()
        .filter(|c| c.reads_secret_value)
        .map(|c| c.action)
        .collect();
    secret_reads.sort_unstable();
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AuditReadOnly",
                "Effect": "Allow",
                "Action": read_only,
                "Resource": "*"
            },
            {
                "Sid": "AuditReadSecretValuesOnlyWithReadSecrets",
                "Effect": "Allow",
                "Action": secret_reads,
                "Resource": "*"
            },
            {
                "Sid": "AuditDecryptSecretValuesOnlyWithReadSecrets",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": "*",
                "Condition": {"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}}
            },
            {
                "Sid": "AuditAssumeTheAuditRoleOnlyWithAccountsOrOrganization",
                "Effect": "Allow",
                "Action": [STS_ASSUME_ROLE.action],
                "Resource": format!("arn:aws:iam::*:role/{role_name}")
            }
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_read_only() {
        for call in CALLS {
            let (_, verb) = call.action.split_once(':').expect("service:Action");
            assert!(
                ["Describe", "List", "Get"]
                    .iter()
                    .any(|prefix| verb.starts_with(prefix)),
                "{} is not a read-only action",
                call.action
            );
        }
    }

    #[test]
    fn the_policy_lists_every_call_once() {
        let policy = iam_policy(DEFAULT_ROLE_NAME);
        let mut listed: Vec<String> = policy["Statement"]
            .as_array()
            .expect("statements")
            .iter()
            .flat_map(|s| {
                s["Action"]
                    .as_array()
                    .expect("actions")
                    .iter()
                    .map(|a| a.as_str().expect("action").to_owned())
            })
            .filter(|a| a != "kms:Decrypt" && a != STS_ASSUME_ROLE.action)
            .collect();
        listed.sort();
        let mut expected: Vec<String> = CALLS.iter().map(|c| c.action.to_owned()).collect();
        expected.sort();
        assert_eq!(listed, expected);
        assert_eq!(
            policy["Statement"][1]["Action"],
            json!(["secretsmanager:GetSecretValue"])
        );
    }

    #[test]
    fn the_assume_role_statement_names_the_role_asked_for_and_the_probe_is_listed() {
        for (role, resource) in [
            (
                DEFAULT_ROLE_NAME,
                "arn:aws:iam::*:role/OrganizationAccountAccessRole",
            ),
            ("AuditReadOnly", "arn:aws:iam::*:role/AuditReadOnly"),
        ] {
            let policy = iam_policy(role);
            assert_eq!(policy["Statement"][3]["Action"], json!(["sts:AssumeRole"]));
            assert_eq!(policy["Statement"][3]["Resource"], json!(resource));
        }
        // The region probe (ec2:DescribeVpcs) is a call the policy grants.
        let granted = &iam_policy(DEFAULT_ROLE_NAME)["Statement"][0]["Action"];
        assert!(
            granted
                .as_array()
                .is_some_and(|a| a.contains(&json!("ec2:DescribeVpcs"))),
            "{granted}"
        );
    }
}
