//! The VPC's internet gateway: detached first, then deleted.

use anyhow::{Result, bail};

use super::deletion::{Deletion, Outcome, gone_or};
use crate::aws;

/// `ec2:DetachInternetGateway` from each VPC it is attached to, then
/// `ec2:DeleteInternetGateway`.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (ec2, id) = (&d.clients.ec2, d.resource.id.as_str());
    let wait = d.wait;
    let attached: Vec<String> = match ec2
        .describe_internet_gateways()
        .internet_gateway_ids(id)
        .send()
        .await
    {
        Ok(out) => out
            .internet_gateways()
            .iter()
            .flat_map(aws_sdk_ec2::types::InternetGateway::attachments)
            .filter_map(|a| a.vpc_id().map(str::to_owned))
            .collect(),
        Err(e) if aws::is_not_found(&e) => return Ok(Outcome::AlreadyGone),
        Err(e) => bail!("ec2:DescribeInternetGateways: {}", aws::describe(&e)),
    };
    for vpc in attached {
        if d.write(&format!("ec2:DetachInternetGateway from {vpc}")) {
            gone_or(
                aws::patiently(wait, || {
                    ec2.detach_internet_gateway()
                        .internet_gateway_id(id)
                        .vpc_id(&vpc)
                        .send()
                })
                .await,
                "ec2:DetachInternetGateway",
            )?;
        }
    }
    d.patiently("ec2:DeleteInternetGateway", || {
        ec2.delete_internet_gateway().internet_gateway_id(id).send()
    })
    .await
}
