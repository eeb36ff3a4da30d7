//! The database's subnet group.

use anyhow::Result;

use super::deletion::{Deletion, Outcome, gone_or};
use crate::aws;

/// `rds:DeleteDBSubnetGroup`, retried while the instance is still being released.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let Deletion {
        clients,
        resource,
        wait,
        ..
    } = *d;
    let id = resource.id.as_str();
    if !d.write("rds:DeleteDBSubnetGroup") {
        return Ok(Outcome::WouldDelete);
    }
    gone_or(
        aws::patiently(wait, || {
            clients
                .rds
                .delete_db_subnet_group()
                .db_subnet_group_name(id)
                .send()
        })
        .await,
        "rds:DeleteDBSubnetGroup",
    )
}
