//! The walks over the table of kinds: provision's and deploy's forward, discovery
//! by kind, deletion by kind. The context each kind's step is handed
//! ([`Provisioner`], [`Deployer`]) is in `context.rs`; what deploy needs of
//! provision's resources (`Foundation`) is found by deploy itself (`deploy.rs`).
//!
//! Each kind's file declares its behaviour in its row of the table ([`super::Spec`]): how
//! it is found by the run's tags (`discover`), how provision or deploy ensures it
//! (found, created when missing, repaired, waited for until ready) and how it is
//! deleted (`delete`). The engine takes the kinds in [`super::creation_order`] and
//! calls the step each has; it matches on no kind, so a new kind is its file and its
//! line in the list of kinds (`kind.rs`). What is shared, and where: the retries on AWS's transient errors are
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

use anyhow::Result;

use super::context::{Deployer, Provisioner};
use super::deletion::{Deletion, Outcome};
use super::kind::{Clients, Kind, Resource};
use crate::aws::say;
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
    let delete = d.resource.kind.spec().delete;
    delete(d).await
}
