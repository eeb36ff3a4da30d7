//! The bastion host: terminated, and waited for (its group and subnet go after it).

use std::time::Duration;

use anyhow::{Result, bail};

use super::deletion::{Deletion, Outcome, gone_or};
use crate::aws;

/// `ec2:TerminateInstances`, then the wait until the instance is terminated.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (ec2, id) = (&d.clients.ec2, d.resource.id.as_str());
    let wait = d.wait;
    if !d.write("ec2:TerminateInstances") {
        return Ok(Outcome::WouldDelete);
    }
    let outcome = gone_or(
        aws::patiently(wait, || ec2.terminate_instances().instance_ids(id).send()).await,
        "ec2:TerminateInstances",
    )?;
    aws::wait_for(
        &format!("instance {id} to terminate"),
        Duration::from_mins(10),
        || async move {
            let out = ec2.describe_instances().instance_ids(id).send().await;
            match out {
                Err(e) if aws::is_not_found(&e) => Ok(Some(())),
                Err(e) => bail!("ec2:DescribeInstances {id}: {}", aws::describe(&e)),
                Ok(out) => Ok(out
                    .reservations()
                    .iter()
                    .flat_map(aws_sdk_ec2::types::Reservation::instances)
                    .all(|i| {
                        i.state()
                            .and_then(|s| s.name())
                            .map(aws_sdk_ec2::types::InstanceStateName::as_str)
                            == Some("terminated")
                    })
                    .then_some(())),
            }
        },
    )
    .await?;
    Ok(outcome)
}
