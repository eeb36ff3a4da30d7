//! The database's subnet group.

use anyhow::Result;

use super::deletion::{Deletion, Outcome};

/// `rds:DeleteDBSubnetGroup`, retried while the instance is still being released.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (rds, id) = (&d.clients.rds, d.resource.id.as_str());
    d.patiently("rds:DeleteDBSubnetGroup", || {
        rds.delete_db_subnet_group().db_subnet_group_name(id).send()
    })
    .await
}
