//! What a kind is ([`Kind`]) and what is found of one ([`Resource`]), with the
//! clients every kind's code is handed ([`Clients`]): the vocabulary each kind's file
//! and `deletion.rs` share, below both the kinds and the table that lists them, so
//! that neither imports the other in a loop. A kind's declaration is in `spec.rs`,
//! above this and the contexts its steps take.

use aws_config::SdkConfig;

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
