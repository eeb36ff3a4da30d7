//! An interface VPC endpoint (Secrets Manager's, and the bastion's way to RDS).

use std::time::Duration;

use anyhow::{Result, bail};

use super::deletion::{Deletion, Outcome};
use crate::aws;

/// `ec2:DeleteVpcEndpoints`, then the wait until the endpoint is deleted (its
/// network interfaces hold its subnets and group until then).
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (ec2, id) = (&d.clients.ec2, d.resource.id.as_str());
    let wait = d.wait;
    if !d.write("ec2:DeleteVpcEndpoints") {
        return Ok(Outcome::WouldDelete);
    }
    let out = aws::patiently(wait, || {
        ec2.delete_vpc_endpoints().vpc_endpoint_ids(id).send()
    })
    .await;
    let outcome = match out {
        Ok(out) if out.unsuccessful().is_empty() => Outcome::Deleted,
        Ok(out) => {
            let reason = out
                .unsuccessful()
                .iter()
                .filter_map(|u| u.error().and_then(|e| e.message()))
                .collect::<Vec<_>>()
                .join("; ");
            if reason.contains("does not exist") {
                Outcome::AlreadyGone
            } else {
                bail!("ec2:DeleteVpcEndpoints: {reason}")
            }
        }
        Err(e) if aws::is_not_found(&e) => Outcome::AlreadyGone,
        Err(e) => bail!("ec2:DeleteVpcEndpoints: {}", aws::describe(&e)),
    };
    aws::wait_for(
        &format!("endpoint {id} to be deleted"),
        Duration::from_mins(10),
        || async move {
            match ec2
                .describe_vpc_endpoints()
                .vpc_endpoint_ids(id)
                .send()
                .await
            {
                Err(e) if aws::is_not_found(&e) => Ok(Some(())),
                Err(e) => bail!("ec2:DescribeVpcEndpoints {id}: {}", aws::describe(&e)),
                Ok(out) => Ok(out
                    .vpc_endpoints()
                    .iter()
                    .all(|e| {
                        e.state()
                            .map(|s| s.as_str().to_ascii_lowercase())
                            .as_deref()
                            == Some("deleted")
                    })
                    .then_some(())),
            }
        },
    )
    .await?;
    Ok(outcome)
}
