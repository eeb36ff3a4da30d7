//! The tutorial's resources, declared once.
//!
//! Provision, deploy and cleanup used to enumerate the same resources each in its own
//! hand-written order, so a fix such as "find it by its tags" or "retry `NotFound`
//! after a create" had to be made in many places, and some were missed. Here each
//! kind says, once: which command makes it, what it depends on, how it is found,
//! created, made ready and deleted. The retries on AWS's documented transient errors
//! live in one place, [`crate::aws`]: [`crate::aws::after_create`] (`*.NotFound` after
//! a create), [`crate::aws::retry_transient`] and [`crate::aws::retry_while`]
//! (`DependencyViolation`, role and permission propagation, updates in progress,
//! throttling) and [`crate::aws::patiently`] (a deletion's dependencies being released). Provision walks the
//! table forward ([`creation_order`]), cleanup walks it backward ([`deletion_rank`]),
//! and both dry runs print their plan from it ([`plan`]).
//!
//! Each kind's deletion lives in a file of its own below this module
//! (`vpc.rs`, `subnet.rs`, [`security_group`], `function.rs`, ...), each a
//! `delete(&mut Deletion) -> Outcome` that gates every write on the dry run through
//! `Deletion::write` (`deletion.rs`); cleanup only dispatches to them by kind. Still
//! spread elsewhere: finding each kind by its tags (`discovery.rs`) and creating it
//! (`provision.rs`, `deploy.rs`).
//!
//! Pattern: aws-nuke's resource registry (one type per resource kind, with its lister
//! and remover) and Terraform's dependency graph (create in topological order, destroy
//! in reverse); see style.md.

use std::fmt;
use std::sync::LazyLock;

use aws_config::SdkConfig;
use comfy_table::Table;

pub(crate) mod db_instance;
pub(crate) mod db_parameter_group;
pub(crate) mod db_subnet_group;
pub(crate) mod deletion;
pub(crate) mod function;
pub(crate) mod instance;
pub(crate) mod internet_gateway;
pub(crate) mod key_pair;
pub(crate) mod kms_key;
pub(crate) mod log_group;
pub(crate) mod role;
pub(crate) mod rotation;
pub(crate) mod route_table;
pub(crate) mod secret;
pub mod security_group;
pub(crate) mod subnet;
pub(crate) mod vpc;
pub(crate) mod vpc_endpoint;

pub use deletion::Outcome;

/// The kinds of resource the project creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Vpc,
    InternetGateway,
    Subnet,
    RouteTable,
    SecurityGroup,
    VpcEndpoint,
    KeyPair,
    Instance,
    DbSubnetGroup,
    /// The database's parameter group (`require_secure_transport` on).
    DbParameterGroup,
    DbInstance,
    /// The application secret's customer managed KMS key.
    KmsKey,
    Secret,
    Role,
    /// The function's log group (`/aws/lambda/<function>`).
    LogGroup,
    Function,
    /// A secret's rotation configuration (the invoke permission and `RotateSecret`).
    Rotation,
}

/// The command that makes a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MadeBy {
    Provision,
    Deploy,
}

/// One kind's declaration.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub kind: Kind,
    pub label: &'static str,
    pub made_by: MadeBy,
    /// Kinds that must exist before this one is made, and go only after it is gone.
    pub depends_on: &'static [Kind],
    pub found_by: &'static str,
    pub create: &'static str,
    /// What "ready" means, and how it is waited for.
    pub ready: &'static str,
    pub delete: &'static str,
}

use Kind as K;

/// Every kind, in the order it is listed (ties in [`creation_order`] keep this order).
pub static TABLE: [Spec; 17] = [
    Spec {
        kind: K::Vpc,
        label: "VPC",
        made_by: MadeBy::Provision,
        depends_on: &[],
        found_by: "ec2:DescribeVpcs, filtered by the project's and the run's tags",
        create: "ec2:CreateVpc 10.0.0.0/16 (tagged); DNS support and host names checked and set on every run; the VPC's own default security group has its rules revoked (by rule id) on every run, so a resource put in it reaches nothing (FSBP EC2.2)",
        ready: "",
        delete: "ec2:DeleteVpc",
    },
    Spec {
        kind: K::InternetGateway,
        label: "internet gateway",
        made_by: MadeBy::Provision,
        depends_on: &[K::Vpc],
        found_by: "ec2:DescribeInternetGateways by tags (not by attachment, so an interrupted run finds it)",
        create: "ec2:CreateInternetGateway (tagged); attached to the VPC if it is not",
        ready: "",
        delete: "ec2:DetachInternetGateway, ec2:DeleteInternetGateway",
    },
    Spec {
        kind: K::Subnet,
        label: "subnet",
        made_by: MadeBy::Provision,
        depends_on: &[K::Vpc],
        found_by: "ec2:DescribeSubnets in the VPC, by CIDR",
        create: "ec2:CreateSubnet x4 in the two zones placement chose; public ones map public IPs (checked every run)",
        ready: "",
        delete: "ec2:DeleteSubnet",
    },
    Spec {
        kind: K::RouteTable,
        label: "route table",
        made_by: MadeBy::Provision,
        depends_on: &[K::Vpc, K::InternetGateway, K::Subnet],
        found_by: "ec2:DescribeRouteTables by tags in the VPC",
        create: "ec2:CreateRouteTable, CreateRoute 0.0.0.0/0 via the gateway, AssociateRouteTable with the public subnets (each checked)",
        ready: "",
        delete: "ec2:DisassociateRouteTable, ec2:DeleteRouteTable",
    },
    Spec {
        kind: K::SecurityGroup,
        label: "security group",
        made_by: MadeBy::Provision,
        depends_on: &[K::Vpc],
        found_by: "ec2:DescribeSecurityGroups by tags",
        create: "ec2:CreateSecurityGroup (endpoints, bastion, database; deploy adds the function's), AuthorizeSecurityGroupIngress (each rule checked)",
        ready: "",
        delete: "ec2:RevokeSecurityGroupIngress of rules naming other groups, ec2:DeleteSecurityGroup",
    },
    Spec {
        kind: K::VpcEndpoint,
        label: "VPC endpoint",
        made_by: MadeBy::Provision,
        depends_on: &[K::Subnet, K::SecurityGroup],
        found_by: "ec2:DescribeVpcEndpoints in the VPC, by service name",
        create: "ec2:CreateVpcEndpoint (Interface, private DNS) for Secrets Manager and RDS, names from DescribeVpcEndpointServices",
        ready: "state available",
        delete: "ec2:DeleteVpcEndpoints, then wait until deleted",
    },
    Spec {
        kind: K::KeyPair,
        label: "key pair",
        made_by: MadeBy::Provision,
        depends_on: &[],
        found_by: "ec2:DescribeKeyPairs by name, kept only with the run's tags",
        create: "ec2:CreateKeyPair (tagged); the private key written with mode 0600",
        ready: "",
        delete: "ec2:DeleteKeyPair",
    },
    Spec {
        kind: K::Instance,
        label: "EC2 instance",
        made_by: MadeBy::Provision,
        depends_on: &[K::Subnet, K::SecurityGroup, K::KeyPair, K::RouteTable],
        found_by: "ec2:DescribeInstances by tags (not terminated)",
        create: "ec2:RunInstances t3.micro in a public subnet (tagged), IMDSv2 required; an earlier run's bastion is switched to IMDSv2 (ModifyInstanceMetadataOptions)",
        ready: "state running, with a public address",
        delete: "ec2:TerminateInstances, then wait until terminated",
    },
    Spec {
        kind: K::DbSubnetGroup,
        label: "DB subnet group",
        made_by: MadeBy::Provision,
        depends_on: &[K::Subnet],
        found_by: "rds:DescribeDBSubnetGroups by name, in the run's VPC only",
        create: "rds:CreateDBSubnetGroup over the private subnets (tagged)",
        ready: "",
        delete: "rds:DeleteDBSubnetGroup",
    },
    Spec {
        kind: K::DbParameterGroup,
        label: "DB parameter group",
        made_by: MadeBy::Provision,
        depends_on: &[],
        found_by: "rds:DescribeDBParameterGroups by name, kept only with the run's tags",
        create: "rds:CreateDBParameterGroup for the engine's family (tagged), ModifyDBParameterGroup require_secure_transport=1 (checked every run)",
        ready: "",
        delete: "rds:DeleteDBParameterGroup, once the instance no longer uses it",
    },
    Spec {
        kind: K::DbInstance,
        label: "RDS instance",
        made_by: MadeBy::Provision,
        depends_on: &[K::DbSubnetGroup, K::DbParameterGroup, K::SecurityGroup],
        found_by: "rds:DescribeDBInstances by name, kept only with the run's tags",
        create: "rds:CreateDBInstance MySQL 8.4 (newest offered) db.t3.micro, private, encrypted, admin password managed by RDS, in the project's parameter group (an earlier run's instance is moved to it: ModifyDBInstance)",
        ready: "status available with an endpoint (up to 20 minutes)",
        delete: "rds:DeleteDBInstance without a final snapshot, then wait until gone",
    },
    Spec {
        kind: K::KmsKey,
        label: "KMS key",
        made_by: MadeBy::Provision,
        depends_on: &[],
        found_by: "kms:DescribeKey by its alias alias/<name>-secret, kept only with the run's tags (kms:ListResourceTags) and not pending deletion",
        create: "kms:CreateKey (symmetric, default key policy, tagged), CreateAlias; EnableKeyRotation checked every run",
        ready: "",
        delete: "kept while the run's secret is only scheduled for deletion (or a secret not the run's uses it); else kms:ScheduleKeyDeletion after 7 days (KMS's shortest waiting period), then kms:DeleteAlias",
    },
    Spec {
        kind: K::Secret,
        label: "secret",
        made_by: MadeBy::Provision,
        depends_on: &[K::DbInstance, K::KmsKey],
        found_by: "secretsmanager:ListSecrets by tag, planned deletions included; secrets another service owns skipped",
        create: "secretsmanager:CreateSecret under the KMS key (masterarn = the RDS-managed admin secret); appuser made in the database; an earlier run's secret is moved to the key (UpdateSecret --kms-key-id)",
        ready: "",
        delete: "secretsmanager:DeleteSecret (7-day recovery window, or --force-delete-secrets)",
    },
    Spec {
        kind: K::Role,
        label: "IAM role",
        made_by: MadeBy::Deploy,
        depends_on: &[],
        found_by: "iam:GetRole by name, kept only with the run's tags and this region's tag",
        create: "iam:CreateRole (trust lambda.amazonaws.com), PutRolePolicy (least privilege)",
        ready: "assumable by Lambda (CreateFunction retried while it is not)",
        delete: "iam:DeleteRolePolicy, iam:DetachRolePolicy (the policy itself is kept), iam:DeleteRole, once the function's network interfaces are gone",
    },
    Spec {
        kind: K::LogGroup,
        label: "log group",
        made_by: MadeBy::Deploy,
        depends_on: &[],
        found_by: "logs:ListTagsLogGroup on /aws/lambda/<function>",
        create: "logs:CreateLogGroup (tagged), PutRetentionPolicy 365 days",
        ready: "",
        delete: "logs:DeleteLogGroup",
    },
    Spec {
        kind: K::Function,
        label: "Lambda function",
        made_by: MadeBy::Deploy,
        depends_on: &[
            K::Role,
            K::LogGroup,
            K::Subnet,
            K::SecurityGroup,
            K::VpcEndpoint,
        ],
        found_by: "lambda:GetFunctionConfiguration by name, kept only if lambda:ListTags says it is the run's",
        create: "lambda:CreateFunction (provided.al2023, in the private subnets), or UpdateFunctionCode/Configuration in place",
        ready: "State Active and LastUpdateStatus Successful",
        delete: "lambda:UpdateFunctionConfiguration with an empty VpcConfig, DeleteFunction, then wait until its network interfaces are gone",
    },
    Spec {
        kind: K::Rotation,
        label: "rotation schedule",
        made_by: MadeBy::Deploy,
        depends_on: &[K::Secret, K::Function],
        found_by: "the secret's RotationEnabled",
        create: "lambda:AddPermission (secretsmanager.amazonaws.com, aws:SourceAccount), secretsmanager:RotateSecret rate(2 days) within 2h",
        ready: "the first rotation finished (AWSCURRENT moved)",
        delete: "secretsmanager:CancelRotateSecret",
    },
];

impl Kind {
    /// This kind's declaration.
    pub fn spec(self) -> &'static Spec {
        TABLE
            .iter()
            .find(|s| s.kind == self)
            .unwrap_or_else(|| unreachable!("every kind is in TABLE"))
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.spec().label)
    }
}

/// Every kind, each after all it depends on; ties keep the table's order (Kahn's
/// algorithm, taking the first ready kind of the table each time). Derived once.
pub fn creation_order() -> Vec<Kind> {
    static ORDER: LazyLock<Vec<Kind>> = LazyLock::new(|| {
        let mut placed: Vec<Kind> = Vec::new();
        while placed.len() < TABLE.len() {
            let next = TABLE
                .iter()
                .find(|s| {
                    !placed.contains(&s.kind) && s.depends_on.iter().all(|d| placed.contains(d))
                })
                .unwrap_or_else(|| unreachable!("TABLE's dependencies have a cycle"));
            placed.push(next.kind);
        }
        placed
    });
    ORDER.clone()
}

/// The order cleanup takes the kinds in: the reverse of [`creation_order`], so
/// everything that depends on a resource is gone before it.
pub fn deletion_order() -> Vec<Kind> {
    let mut order = creation_order();
    order.reverse();
    order
}

/// Where a kind goes in [`deletion_order`].
pub fn deletion_rank(kind: Kind) -> usize {
    deletion_order()
        .iter()
        .position(|k| *k == kind)
        .unwrap_or_else(|| unreachable!("every kind is in TABLE"))
}

/// A kind in a plan, and what is known of it: the ids found (empty: none yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub kind: Kind,
    pub found: Vec<String>,
}

/// The plan of a command as a table: for each kind, in the order the command takes
/// them, what exists and what it would do.
pub fn plan(steps: &[Planned], deleting: bool) -> String {
    let mut table = Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["resource", "found (by tags)", "would", "then"]);
    for step in steps {
        let spec = step.kind.spec();
        let found = if step.found.is_empty() {
            "none".to_owned()
        } else {
            step.found.join("\n")
        };
        let (would, then) = match (deleting, step.found.is_empty()) {
            (true, true) => ("nothing", ""),
            (true, false) => (spec.delete, ""),
            (false, true) => (spec.create, spec.ready),
            (false, false) => ("check and repair its settings", ""),
        };
        table.add_row([spec.label, &found, would, then]);
    }
    table.to_string()
}

/// A tagged resource of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub kind: Kind,
    /// The id the delete call takes (ARN, id or name).
    pub id: String,
    /// A readable name (the `Name` tag, or the name).
    pub name: String,
    /// Ids of other resources this one refers to (security groups in its rules).
    pub refers_to: Vec<String>,
    /// A secret already scheduled for deletion (only `--force-delete-secrets` removes it now).
    pub scheduled_for_deletion: bool,
}

impl Resource {
    pub(crate) fn new(kind: Kind, id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
            name: name.into(),
            refers_to: Vec::new(),
            scheduled_for_deletion: false,
        }
    }
}

/// The clients of every service the run's resources are in.
pub(crate) struct Clients {
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) rds: aws_sdk_rds::Client,
    pub(crate) secrets: aws_sdk_secretsmanager::Client,
    pub(crate) lambda: aws_sdk_lambda::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) logs: aws_sdk_cloudwatchlogs::Client,
    pub(crate) kms: aws_sdk_kms::Client,
}

impl Clients {
    pub(crate) fn new(config: &SdkConfig) -> Self {
        Self {
            ec2: aws_sdk_ec2::Client::new(config),
            rds: aws_sdk_rds::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            kms: aws_sdk_kms::Client::new(config),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_declared_once() {
        for (i, spec) in TABLE.iter().enumerate() {
            assert!(
                TABLE[i + 1..].iter().all(|other| other.kind != spec.kind),
                "{:?} twice",
                spec.kind
            );
            assert!(
                !spec.found_by.is_empty() && !spec.create.is_empty() && !spec.delete.is_empty()
            );
        }
    }

    #[test]
    fn each_kind_is_created_after_and_deleted_before_what_it_depends_on() {
        let order = creation_order();
        assert_eq!(order.len(), TABLE.len());
        for spec in &TABLE {
            let at = order.iter().position(|k| *k == spec.kind).unwrap();
            for dependency in spec.depends_on {
                let before = order.iter().position(|k| k == dependency).unwrap();
                assert!(before < at, "{:?} before {:?}", dependency, spec.kind);
                assert!(
                    deletion_rank(*dependency) > deletion_rank(spec.kind),
                    "{:?} deleted after {:?}",
                    dependency,
                    spec.kind
                );
            }
        }
    }

    #[test]
    fn the_orders_are_the_ones_the_commands_take() {
        // Provision's kinds first (deploy's need them), then deploy's.
        let provision: Vec<Kind> = creation_order()
            .into_iter()
            .filter(|k| k.spec().made_by == MadeBy::Provision)
            .collect();
        assert_eq!(
            provision,
            [
                K::Vpc,
                K::InternetGateway,
                K::Subnet,
                K::RouteTable,
                K::SecurityGroup,
                K::VpcEndpoint,
                K::KeyPair,
                K::Instance,
                K::DbSubnetGroup,
                K::DbParameterGroup,
                K::DbInstance,
                K::KmsKey,
                K::Secret
            ]
        );
        assert_eq!(
            deletion_order(),
            [
                K::Rotation,
                K::Function,
                K::LogGroup,
                K::Role,
                K::Secret,
                K::KmsKey,
                K::DbInstance,
                K::DbParameterGroup,
                K::DbSubnetGroup,
                K::Instance,
                K::KeyPair,
                K::VpcEndpoint,
                K::SecurityGroup,
                K::RouteTable,
                K::Subnet,
                K::InternetGateway,
                K::Vpc
            ]
        );
    }

    #[test]
    fn a_plan_says_what_exists_and_what_would_be_done() {
        let steps = [
            Planned {
                kind: K::Vpc,
                found: vec!["vpc-1".to_owned()],
            },
            Planned {
                kind: K::Subnet,
                found: Vec::new(),
            },
        ];
        let creating = plan(&steps, false);
        assert!(
            creating.contains("vpc-1") && creating.contains("check and repair"),
            "{creating}"
        );
        assert!(creating.contains("ec2:CreateSubnet"), "{creating}");
        let deleting = plan(&steps, true);
        assert!(
            deleting.contains("ec2:DeleteVpc") && deleting.contains("nothing"),
            "{deleting}"
        );
    }
}
