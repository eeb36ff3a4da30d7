//! A subnet of the run's VPC.

use anyhow::Result;

use super::deletion::{Deletion, Outcome};

/// `ec2:DeleteSubnet`, retried while what is in it is being released.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (ec2, id) = (&d.clients.ec2, d.resource.id.as_str());
    d.patiently("ec2:DeleteSubnet", || {
        ec2.delete_subnet().subnet_id(id).send()
    })
    .await
}
