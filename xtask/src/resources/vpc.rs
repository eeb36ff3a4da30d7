//! The run's VPC, deleted last.

use anyhow::Result;

use super::deletion::{Deletion, Outcome};

/// `ec2:DeleteVpc`, retried while what is in it is being released.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (ec2, id) = (&d.clients.ec2, d.resource.id.as_str());
    d.patiently("ec2:DeleteVpc", || ec2.delete_vpc().vpc_id(id).send())
        .await
}
