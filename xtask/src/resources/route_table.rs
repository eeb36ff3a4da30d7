//! The public subnets' route table: its associations first, then the table.

use anyhow::{Result, bail};

use super::deletion::{Deletion, Outcome, gone_or};
use crate::aws;

/// `ec2:DisassociateRouteTable` for each association but the main one, then
/// `ec2:DeleteRouteTable`.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (ec2, id) = (&d.clients.ec2, d.resource.id.as_str());
    let associations: Vec<String> =
        match ec2.describe_route_tables().route_table_ids(id).send().await {
            Ok(out) => out
                .route_tables()
                .iter()
                .flat_map(aws_sdk_ec2::types::RouteTable::associations)
                .filter(|a| a.main() != Some(true))
                .filter_map(|a| a.route_table_association_id().map(str::to_owned))
                .collect(),
            Err(e) if aws::is_not_found(&e) => return Ok(Outcome::AlreadyGone),
            Err(e) => bail!("ec2:DescribeRouteTables: {}", aws::describe(&e)),
        };
    for association in associations {
        if d.write(&format!("ec2:DisassociateRouteTable {association}")) {
            gone_or(
                ec2.disassociate_route_table()
                    .association_id(&association)
                    .send()
                    .await,
                "ec2:DisassociateRouteTable",
            )?;
        }
    }
    d.patiently("ec2:DeleteRouteTable", || {
        ec2.delete_route_table().route_table_id(id).send()
    })
    .await
}
