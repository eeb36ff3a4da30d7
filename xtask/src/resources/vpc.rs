//! The run's VPC, deleted last.

use anyhow::Result;

use super::deletion::{Deletion, Outcome, gone_or};
use crate::aws;

/// `ec2:DeleteVpc`, retried while what is in it is being released.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let Deletion {
        clients,
        resource,
        wait,
        ..
    } = *d;
    let (ec2, id) = (&clients.ec2, resource.id.as_str());
    if !d.write("ec2:DeleteVpc") {
        return Ok(Outcome::WouldDelete);
    }
    gone_or(
        aws::patiently(wait, || ec2.delete_vpc().vpc_id(id).send()).await,
        "ec2:DeleteVpc",
    )
}
