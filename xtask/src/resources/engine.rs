//! The walks over the table of kinds: provision's and deploy's forward, discovery
//! by kind, deletion by kind. The context each kind's step is handed
//! ([`Provisioner`], [`Deployer`], [`Foundation`]) is in `context.rs`.
//!
//! Each kind's file declares its behaviour in its row of the table ([`super::Spec`]): how
//! it is found by the run's tags (`discover`), how provision or deploy ensures it
//! (found, created when missing, repaired, waited for until ready) and how it is
//! deleted (`remove`). The engine takes the kinds in [`super::creation_order`] and
//! calls the step each has; it matches on no kind, so a new kind is its file and its
//! row. What is shared, and where: the retries on AWS's transient errors are
//! [`crate::aws`]'s; deploy's writes all go through the `Deployer`'s one `Calls`,
//! which in a dry run announces each write and makes none; cleanup's through
//! [`Deletion::write`]; provision has no dry run of its own (its writes are made at
//! once, its plan is [`super::plan`] over what [`discover`] finds).
//!
//! Why function pointers returning boxed futures and not trait objects: async
//! functions in traits are not dyn-compatible; a `Spec` of `fn` pointers is a
//! `const`, checked by the compiler for every field, so no kind can leave a step out
//! unnoticed.
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
    /// Finds the placement, then runs each kind's provision step in the table's order.
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
            if let Some(step) = kind.spec().provision {
                step(self).await?;
            }
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
    /// Runs each kind's deploy step in the table's order: the function's own security
    /// group, the role, the log group, the function, the rotation.
    pub(crate) async fn run(&mut self) -> Result<()> {
        for kind in super::creation_order() {
            if let Some(step) = kind.spec().deploy {
                step(self).await?;
            }
        }
        Ok(())
    }
}

/// Finds the run's resources of `kind` by their tags, through the kind's own file
/// (read-only); a kind without its own `discover` (a rotation) is found with
/// another (its secret).
pub(crate) async fn discover(
    kind: Kind,
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
    match kind.spec().discover {
        Some(discover) => discover(clients, names, found).await,
        None => Ok(()),
    }
}

/// Deletes `d`'s resource through its kind's own file; every write is gated on the
/// dry run by [`Deletion::write`].
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let remove = d.resource.kind.spec().remove;
    remove(d).await
}
