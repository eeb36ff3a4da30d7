//! The engine: the walks over the table of kinds, and the context each kind's code
//! is handed.
//!
//! Each kind's file says how that kind is found by the run's tags (`discover`), how
//! it is ensured (found, created when missing, repaired, waited for until ready: an
//! `impl Provisioner` or `impl Deployer` block) and deleted (`delete`). The engine
//! takes the kinds in [`super::creation_order`] and hands each the shared context:
//! the clients, the run's names, the ids found so far (`State`, or what provision
//! made for deploy: [`Foundation`]), all in `context.rs`, and what this call made. The policies are set
//! once, here: the retries on AWS's transient errors are [`crate::aws`]'s; deploy's
//! writes all go through one `Calls`, which in a dry run announces each write and
//! makes none (cleanup's through [`Deletion::write`]); provision has no dry run of
//! its own, its plan is [`super::plan`] over what [`discover`] finds.
//!
//! Why the dispatch is a `match` and not a table of trait objects: async functions
//! in traits are not dyn-compatible, and a `match` over [`Kind`] is checked for
//! exhaustiveness, so a new kind cannot be forgotten by any walk.
//!
//! Pattern: aws-nuke's resource registry walked by Terraform's apply and destroy
//! (each kind after what it depends on, and gone before it); see style.md.

use anyhow::{Result, anyhow};
use aws_config::SdkConfig;

use super::context::{Deployer, Foundation, Provisioner, missing};
use super::deletion::{Deletion, Outcome};
use super::kind::{Clients, Kind, Resource};
use crate::aws::{self, say};
use crate::names::Names;

impl Provisioner<'_> {
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

impl Deployer<'_> {
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
