//! What a kind is ([`Kind`]) and what is found of one ([`Resource`]), with the
//! clients every kind's code is handed ([`Clients`]): the vocabulary each kind's file
//! and `deletion.rs` share, below both the kinds and the table that lists them, so
//! that neither imports the other in a loop. The list of kinds ([`with_kinds`]) is
//! here too, for the same reason. A kind's declaration is in `spec.rs`, above this
//! and the contexts its steps take.

use aws_config::SdkConfig;

/// The one list of the project's resource kinds, a line each: the variant of
/// [`Kind`] and the file below `resources/` that declares the kind (its `SPEC`) and
/// does all it does, in the table's order (ties in `creation_order` keep it).
/// Expanded twice: here into [`Kind`], and in `resources.rs` into the `mod` lines
/// and `TABLE`; so adding a kind is its file and its line here, and the enum, the
/// `mod` lines and the table cannot disagree. The list is here, below the kinds' files that use
/// [`Kind`], and not in `resources.rs`, which uses them: so no file imports another
/// in a loop.
///
/// `with_kinds!(then)` calls the macro `then` with the list, each line
/// `$(#[doc])* Variant => module,`.
macro_rules! with_kinds {
    ($then:ident) => {
        $then! {
            Vpc => vpc,
            InternetGateway => internet_gateway,
            Subnet => subnet,
            RouteTable => route_table,
            SecurityGroup => security_group,
            VpcEndpoint => vpc_endpoint,
            KeyPair => key_pair,
            Instance => instance,
            DbSubnetGroup => db_subnet_group,
            /// The database's parameter group (`require_secure_transport` on).
            DbParameterGroup => db_parameter_group,
            DbInstance => db_instance,
            /// The application secret's customer managed KMS key.
            KmsKey => kms_key,
            Secret => secret,
            Role => role,
            /// The function's log group (`/aws/lambda/<function>`).
            LogGroup => log_group,
            Function => function,
            /// A secret's rotation configuration (the invoke permission and `RotateSecret`).
            Rotation => rotation,
        }
    };
}
pub(crate) use with_kinds;

/// [`Kind`] from the list: a variant a line, in its order (which the table's index
/// by kind, `Kind::spec`, relies on).
macro_rules! declare_kind {
    ($($(#[$doc:meta])* $variant:ident => $module:ident,)*) => {
        /// The kinds of resource the project creates.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind {
            $($(#[$doc])* $variant,)*
        }
    };
}
with_kinds!(declare_kind);

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
