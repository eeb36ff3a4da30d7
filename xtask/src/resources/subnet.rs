//! A subnet of the run's VPC.

use anyhow::Result;

use super::deletion::{Deletion, Outcome, gone_or};
use crate::aws;

/// `ec2:DeleteSubnet`, retried while what is in it is being released.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let Deletion {
        clients,
        resource,
        wait,
        ..
    } = *d;
    let (ec2, id) = (&clients.ec2, resource.id.as_str());
    if !d.write("ec2:DeleteSubnet") {
        return Ok(Outcome::WouldDelete);
    }
    gone_or(
        aws::patiently(wait, || ec2.delete_subnet().subnet_id(id).send()).await,
        "ec2:DeleteSubnet",
    )
}
