//! The engine: the walks over the table of kinds, and the context each kind's code
//! is handed.
//!
//! Each kind's file says how that kind is found by the run's tags (`discover`), how
//! it is ensured (found, created when missing, repaired, waited for until ready: an
//! `impl Provisioner` or `impl Deployer` block) and deleted (`delete`). The engine
//! takes the kinds in [`super::creation_order`] and hands each the shared context:
//! the clients, the run's names, the ids found so far ([`State`], or what provision
//! made for deploy: [`Foundation`]) and what this call made. The policies are set
//! once, here: the retries on AWS's transient errors are [`crate::aws`]'s; deploy's
//! writes all go through one [`Calls`], which in a dry run announces each write and
//! makes none (cleanup's through [`Deletion::write`]); provision has no dry run of
//! its own, its plan is [`super::plan`] over what [`discover`] finds.
//!
//! Why the dispatch is a `match` and not a table of trait objects: async functions
//! in traits are not dyn-compatible, and a `match` over [`Kind`] is checked for
//! exhaustiveness, so a new kind cannot be forgotten by any walk.
//!
//! Pattern: aws-nuke's resource registry walked by Terraform's apply and destroy
//! (each kind after what it depends on, and gone before it); see style.md.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, anyhow};
use aws_config::SdkConfig;
use serde_json::Value;

use super::deletion::{Deletion, Outcome};
use super::{Clients, Kind, Resource};
use crate::aws::{self, Calls, say};
use crate::names::Names;
use crate::state::State;

/// Options of `cargo xtask provision`.
#[derive(Debug, Clone)]
pub struct ProvisionOptions {
    pub names: Names,
    /// The one address admitted to SSH (`a.b.c.d/32`, or a bare address).
    pub my_ip: String,
    /// Accept a `--my-ip` wider than one address.
    pub allow_wide_ssh: bool,
    /// The bastion's AMI; when absent, the newest Amazon Linux 2023 image from DescribeImages.
    pub ami: Option<String>,
    /// PEM bundle of the database's CAs, for the admin login that creates appuser.
    pub db_ca_bundle: Option<PathBuf>,
    /// Where the state file and the bastion's private key go.
    pub state_dir: PathBuf,
    /// Print a line per resource.
    pub verbose: bool,
}

/// The shared context of provision's walk: clients, the run, what was found and made.
pub(crate) struct Provisioner<'a> {
    pub(crate) options: &'a ProvisionOptions,
    pub(crate) names: &'a Names,
    /// `--my-ip`, checked: the one address the bastion's group admits to SSH.
    pub(crate) my_ip: String,
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) rds: aws_sdk_rds::Client,
    pub(crate) secrets: aws_sdk_secretsmanager::Client,
    pub(crate) kms: aws_sdk_kms::Client,
    pub(crate) created: Vec<String>,
    pub(crate) state: State,
    /// Zones, engine version and endpoint service names, asked of the region first.
    pub(crate) placement: Option<crate::placement::Placement>,
}

impl<'a> Provisioner<'a> {
    /// A walk for the run of `options`, with the checked `my_ip`, nothing found yet.
    pub(crate) fn new(config: &SdkConfig, options: &'a ProvisionOptions, my_ip: String) -> Self {
        let names = &options.names;
        Self {
            options,
            names,
            my_ip,
            ec2: aws_sdk_ec2::Client::new(config),
            rds: aws_sdk_rds::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
            kms: aws_sdk_kms::Client::new(config),
            created: Vec::new(),
            placement: None,
            state: State {
                run: names.run.clone(),
                db_ca_bundle: options
                    .db_ca_bundle
                    .as_ref()
                    .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())),
                ..State::default()
            },
        }
    }

    /// Records `what id` as created (or found), and says so when verbose.
    pub(crate) fn note(&mut self, what: &str, id: &str, created: bool) {
        if created {
            self.created.push(format!("{what} {id}"));
        }
        if self.options.verbose {
            say(&format!(
                "{what} {id}: {}",
                if created { "created" } else { "exists" }
            ));
        }
    }

    /// Finds the placement, then ensures each of provision's kinds in the table's order.
    pub(crate) async fn run(&mut self) -> Result<()> {
        let region = self
            .ec2
            .config()
            .region()
            .map(ToString::to_string)
            .unwrap_or_default();
        let placement = crate::placement::find(&self.ec2, &self.rds, &region).await?;
        if self.options.verbose {
            say(&format!(
                "placement: zones {}, MySQL {}, endpoints {}",
                placement.zones.join(", "),
                placement.engine_version,
                placement.endpoint_services.join(", ")
            ));
        }
        self.placement = Some(placement);
        // The table of resources, walked forward: each kind after what it depends on.
        for kind in super::creation_order() {
            self.ensure(kind).await?;
        }
        Ok(())
    }

    /// Finds `kind` by the run's tags, creates what is missing and waits until it is
    /// ready, through the kind's own file; deploy's kinds are not provision's.
    async fn ensure(&mut self, kind: Kind) -> Result<()> {
        match kind {
            Kind::Vpc => self.vpc().await?,
            Kind::InternetGateway => self.internet_gateway().await?,
            Kind::Subnet => self.subnets().await?,
            Kind::RouteTable => self.route_table().await?,
            Kind::SecurityGroup => self.groups(&self.my_ip.clone()).await?,
            Kind::VpcEndpoint => self.endpoints().await?,
            Kind::KeyPair => self.key_pair().await?,
            Kind::Instance => self.bastion().await?,
            Kind::DbSubnetGroup => self.db_subnet_group().await?,
            Kind::DbParameterGroup => self.db_parameter_group().await?,
            Kind::DbInstance => {
                self.database().await?;
                // The database's port is known once it exists.
                let (port, bastion, database) = (
                    i32::from(self.state.db_port),
                    self.state.bastion_group.clone(),
                    self.state.database_group.clone(),
                );
                self.ingress(&database, port, &bastion).await?;
            }
            Kind::KmsKey => self.kms_key().await?,
            Kind::Secret => self.app_secret().await?,
            // Deploy's.
            Kind::Role | Kind::LogGroup | Kind::Function | Kind::Rotation => {}
        }
        Ok(())
    }

    /// The placement found at the start of [`Self::run`].
    pub(crate) fn placement(&self) -> Result<&crate::placement::Placement> {
        self.placement
            .as_ref()
            .ok_or_else(|| anyhow!("internal: placement asked for before it was found"))
    }
}

/// Options of `cargo xtask deploy`.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    pub names: Names,
    /// The function's zip (`cargo xtask build`).
    pub zip: PathBuf,
    /// PEM bundle of the database's CAs: its path becomes the function's `DB_CA_BUNDLE`.
    pub db_ca_bundle: Option<PathBuf>,
    /// Print every write call instead of making it.
    pub dry_run: bool,
    /// How long to wait for the first rotation.
    pub rotation_timeout: Duration,
    pub verbose: bool,
}

/// What provision made that deploy needs.
#[derive(Debug, Clone)]
pub(crate) struct Foundation {
    pub(crate) vpc_id: String,
    pub(crate) private_subnets: Vec<String>,
    pub(crate) database_group: String,
    pub(crate) db_port: i32,
    /// The instance, then its read replicas (the rotator describes each).
    pub(crate) db_instance_arns: Vec<String>,
    pub(crate) admin_secret_arn: String,
    pub(crate) admin_kms_key: Option<String>,
    pub(crate) secret_arn: String,
    pub(crate) secret_kms_key: Option<String>,
}

impl Foundation {
    /// Finds, by the run's tags and names, what provision made that deploy needs.
    pub(crate) async fn find(config: &SdkConfig, names: &Names) -> Result<Self> {
        let ec2 = aws_sdk_ec2::Client::new(config);
        let rds = aws_sdk_rds::Client::new(config);
        let secrets = aws_sdk_secretsmanager::Client::new(config);
        let vpc_id = super::vpc::find(&ec2, names).await?;
        let private_subnets = super::subnet::find_private(&ec2, names, &vpc_id).await?;
        let database_group =
            super::security_group::find_database_group(&ec2, names, &vpc_id).await?;
        let instance = super::db_instance::find(&rds, names).await?;
        let db_port = instance
            .endpoint()
            .and_then(aws_sdk_rds::types::Endpoint::port)
            .ok_or_else(|| {
                anyhow!(
                    "RDS instance {} has no endpoint yet; rerun `cargo xtask provision` to wait for it",
                    names.db_instance
                )
            })?;
        let admin = instance.master_user_secret();
        let admin_secret_arn = admin
            .and_then(|s| s.secret_arn())
            .ok_or_else(|| {
                anyhow!(
                    "RDS instance {} has no RDS-managed admin secret",
                    names.db_instance
                )
            })?
            .to_owned();
        let secret = aws::describe_secret(&secrets, &names.secret)
            .await
            .map_err(|e| {
                if e.missing {
                    missing(names, &format!("secret {}", names.secret))
                } else {
                    e.into()
                }
            })?;
        Ok(Self {
            vpc_id,
            private_subnets,
            database_group,
            db_port,
            db_instance_arns: super::db_instance::instance_and_replicas(&instance),
            admin_secret_arn,
            admin_kms_key: admin.and_then(|s| s.kms_key_id()).map(str::to_owned),
            secret_arn: secret.arn().unwrap_or_default().to_owned(),
            secret_kms_key: secret.kms_key_id().map(str::to_owned),
        })
    }
}

/// The error for something provision makes that is not there.
pub(crate) fn missing(names: &Names, what: &str) -> anyhow::Error {
    anyhow!(
        "{what} of run {} not found; run `cargo xtask provision --name {}` first",
        names.run,
        names.run
    )
}

/// The shared context of deploy's walk: what provision made, the write policy
/// (`--dry-run`: every write announced through [`Calls`], none made) and what the walk
/// made so far.
pub(crate) struct Deployer<'a> {
    pub(crate) config: &'a SdkConfig,
    pub(crate) options: &'a DeployOptions,
    pub(crate) names: &'a Names,
    pub(crate) calls: Calls,
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) lambda: aws_sdk_lambda::Client,
    /// Account and partition of every ARN written (not `arn:aws:` everywhere).
    pub(crate) caller: aws::Caller,
    pub(crate) region: String,
    pub(crate) found: Foundation,
    /// The function's zip, taken when the function is made.
    pub(crate) zip: Vec<u8>,
    /// The role's inline policy.
    pub(crate) role_policy: Value,
    /// The function's own security group (made by [`Kind::SecurityGroup`]'s step).
    pub(crate) rotation_group: String,
    pub(crate) role_arn: String,
    pub(crate) function_arn: String,
}

impl<'a> Deployer<'a> {
    /// A walk over what `found` holds, writing as `options` says.
    pub(crate) fn new(
        config: &'a SdkConfig,
        options: &'a DeployOptions,
        caller: aws::Caller,
        found: Foundation,
        zip: Vec<u8>,
        role_policy: Value,
    ) -> Self {
        Self {
            config,
            options,
            names: &options.names,
            calls: Calls::new(options.dry_run),
            ec2: aws_sdk_ec2::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            caller,
            region: config.region().map(ToString::to_string).unwrap_or_default(),
            found,
            zip,
            role_policy,
            rotation_group: String::new(),
            role_arn: String::new(),
            function_arn: String::new(),
        }
    }

    /// Says `message` when verbose.
    pub(crate) fn note(&self, message: &str) {
        if self.options.verbose {
            say(message);
        }
    }

    /// Ensures each of deploy's parts in the table's order: the function's own
    /// security group (its kind is provision's, the group deploy's), the role, the
    /// log group, the function, the rotation.
    pub(crate) async fn run(&mut self) -> Result<()> {
        for kind in super::creation_order() {
            match kind {
                Kind::SecurityGroup => self.function_group().await?,
                Kind::Role => self.role().await?,
                Kind::LogGroup => self.log_group().await?,
                Kind::Function => self.function().await?,
                Kind::Rotation => self.rotation().await?,
                // Provision's.
                Kind::Vpc
                | Kind::InternetGateway
                | Kind::Subnet
                | Kind::RouteTable
                | Kind::VpcEndpoint
                | Kind::KeyPair
                | Kind::Instance
                | Kind::DbSubnetGroup
                | Kind::DbParameterGroup
                | Kind::DbInstance
                | Kind::KmsKey
                | Kind::Secret => {}
            }
        }
        Ok(())
    }
}

/// Finds the run's resources of `kind` by their tags, through the kind's own file
/// (read-only); a rotation is found with its secret.
pub(crate) async fn discover(
    kind: Kind,
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
    use super::{
        db_instance, db_parameter_group, db_subnet_group, function, instance, internet_gateway,
        key_pair, kms_key, log_group, role, route_table, secret, security_group, subnet, vpc,
        vpc_endpoint,
    };
    match kind {
        Kind::Vpc => vpc::discover(clients, names, found).await,
        Kind::InternetGateway => internet_gateway::discover(clients, names, found).await,
        Kind::Subnet => subnet::discover(clients, names, found).await,
        Kind::RouteTable => route_table::discover(clients, names, found).await,
        Kind::SecurityGroup => security_group::discover(clients, names, found).await,
        Kind::VpcEndpoint => vpc_endpoint::discover(clients, names, found).await,
        Kind::KeyPair => key_pair::discover(clients, names, found).await,
        Kind::Instance => instance::discover(clients, names, found).await,
        Kind::DbSubnetGroup => db_subnet_group::discover(clients, names, found).await,
        Kind::DbParameterGroup => db_parameter_group::discover(clients, names, found).await,
        Kind::DbInstance => db_instance::discover(clients, names, found).await,
        Kind::KmsKey => kms_key::discover(clients, names, found).await,
        Kind::Secret => secret::discover(clients, names, found).await,
        Kind::Role => role::discover(clients, names, found).await,
        Kind::LogGroup => log_group::discover(clients, names, found).await,
        Kind::Function => function::discover(clients, names, found).await,
        Kind::Rotation => Ok(()),
    }
}

/// Deletes `d`'s resource through its kind's own file; every write is gated on the
/// dry run by [`Deletion::write`].
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    use super::{
        db_instance, db_parameter_group, db_subnet_group, function, instance, internet_gateway,
        key_pair, kms_key, log_group, role, rotation, route_table, secret, security_group, subnet,
        vpc, vpc_endpoint,
    };
    match d.resource.kind {
        Kind::Rotation => rotation::delete(d).await,
        Kind::Secret => secret::delete(d).await,
        Kind::Function => function::delete(d).await,
        Kind::LogGroup => log_group::delete(d).await,
        Kind::Role => role::delete(d).await,
        Kind::DbInstance => db_instance::delete(d).await,
        Kind::DbSubnetGroup => db_subnet_group::delete(d).await,
        Kind::DbParameterGroup => db_parameter_group::delete(d).await,
        Kind::KmsKey => kms_key::delete(d).await,
        Kind::Instance => instance::delete(d).await,
        Kind::KeyPair => key_pair::delete(d).await,
        Kind::VpcEndpoint => vpc_endpoint::delete(d).await,
        Kind::SecurityGroup => security_group::delete(d).await,
        Kind::Subnet => subnet::delete(d).await,
        Kind::RouteTable => route_table::delete(d).await,
        Kind::InternetGateway => internet_gateway::delete(d).await,
        Kind::Vpc => vpc::delete(d).await,
    }
}
