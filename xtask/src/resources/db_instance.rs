//! The RDS instance: deleted without a final snapshot, and waited for (its subnet
//! group and security group go only after it).

use std::time::Duration;

use anyhow::{Result, bail};

use super::deletion::{Deletion, Outcome, gone_or};
use crate::aws;

/// `rds:DeleteDBInstance`, then the wait until RDS no longer lists it.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (clients, id) = (d.clients, d.resource.id.as_str());
    let wait = d.wait;
    if !d.write("rds:DeleteDBInstance SkipFinalSnapshot DeleteAutomatedBackups") {
        return Ok(Outcome::WouldDelete);
    }
    let outcome = gone_or(
        aws::patiently(wait, || {
            clients
                .rds
                .delete_db_instance()
                .db_instance_identifier(id)
                .skip_final_snapshot(true)
                .delete_automated_backups(true)
                .send()
        })
        .await,
        "rds:DeleteDBInstance",
    )?;
    let rds = clients.rds.clone();
    aws::wait_for(
        &format!("RDS instance {id} to be deleted (minutes on AWS)"),
        Duration::from_mins(40),
        || {
            let rds = rds.clone();
            async move {
                match rds
                    .describe_db_instances()
                    .db_instance_identifier(id)
                    .send()
                    .await
                {
                    Err(e) if aws::is_not_found(&e) => Ok(Some(())),
                    Ok(out) if out.db_instances().is_empty() => Ok(Some(())),
                    Ok(_) => Ok(None),
                    Err(e) => bail!("rds:DescribeDBInstances {id}: {}", aws::describe(&e)),
                }
            }
        },
    )
    .await?;
    Ok(outcome)
}
