//! The public subnets' route table: provision's step (the default route through
//! the internet gateway and each association, checked every run), discovery, and its
//! deletion (its associations first, then the table).

use anyhow::{Result, anyhow, bail};
use aws_sdk_ec2::operation::describe_route_tables::DescribeRouteTablesOutput;
use aws_sdk_ec2::types::{ResourceType, Tag};

use super::context::Provisioner;
use super::deletion::{Deletion, Outcome, gone_or};
use super::ec2::{discover_ec2, named};
use super::kind::{Clients, Kind, Resource};
use super::spec::{Plan, Spec};
use crate::aws;
use crate::names::Names;
use crate::tags::{filter, run_filters, tag_spec};

/// This kind's declaration: what makes it, what it depends on, how it is found,
/// created, made ready and deleted (its row of the table, `TABLE`).
pub(crate) const SPEC: Spec = Spec {
    kind: Kind::RouteTable,
    label: "route table",
    depends_on: &[Kind::Vpc, Kind::InternetGateway, Kind::Subnet],
    plan: Plan {
        found_by: "ec2:DescribeRouteTables by the run's tags (a main table skipped)",
        create: "ec2:CreateRouteTable, CreateRoute 0.0.0.0/0 via the gateway, AssociateRouteTable with the public subnets (each checked)",
        ready: "",
        delete: "ec2:DisassociateRouteTable, ec2:DeleteRouteTable",
    },
    discover: Some(|clients, names, found| Box::pin(discover(clients, names, found))),
    delete: |d| Box::pin(delete(d)),
    provision: Some(|p| Box::pin(p.route_table())),
    deploy: None,
};

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

impl Provisioner<'_> {
    /// The public route table: a default route through the gateway, and the public
    /// subnets associated (each checked on every run).
    pub(crate) async fn route_table(&mut self) -> Result<()> {
        let vpc = self.state.vpc_id.clone();
        let gateway = self.state.internet_gateway.clone();
        let mut filters = run_filters(self.names);
        filters.push(filter("vpc-id", vpc.clone()));
        let tables = self
            .ec2
            .describe_route_tables()
            .set_filters(Some(filters))
            .send()
            .await
            .map_err(|e| anyhow!("ec2:DescribeRouteTables: {}", aws::describe(&e)))?;
        let existing = tables.route_tables().first();
        let table = if let Some(id) = existing.and_then(|t| t.route_table_id()) {
            id.to_owned()
        } else {
            let name = format!("{}-public", self.names.run);
            let spec = tag_spec(self.names, ResourceType::RouteTable, &name);
            let created = aws::after_create(|| {
                self.ec2
                    .create_route_table()
                    .vpc_id(&vpc)
                    .tag_specifications(spec.clone())
                    .send()
            })
            .await
            .map_err(|e| anyhow!("ec2:CreateRouteTable {name}: {}", aws::describe(&e)))?;
            created
                .route_table()
                .and_then(|t| t.route_table_id())
                .ok_or_else(|| anyhow!("ec2:CreateRouteTable: no id returned"))?
                .to_owned()
        };
        let has_route = existing.is_some_and(|t| {
            t.routes()
                .iter()
                .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        });
        if !has_route {
            aws::after_create(|| {
                self.ec2
                    .create_route()
                    .route_table_id(&table)
                    .destination_cidr_block("0.0.0.0/0")
                    .gateway_id(&gateway)
                    .send()
            })
            .await
            .map_err(|e| {
                anyhow!(
                    "ec2:CreateRoute 0.0.0.0/0 via {gateway} in {table}: {}",
                    aws::describe(&e)
                )
            })?;
        }
        for subnet in self.state.public_subnets.clone() {
            let associated = existing.is_some_and(|t| {
                t.associations()
                    .iter()
                    .any(|a| a.subnet_id() == Some(subnet.as_str()))
            });
            if !associated {
                aws::after_create(|| {
                    self.ec2
                        .associate_route_table()
                        .route_table_id(&table)
                        .subnet_id(&subnet)
                        .send()
                })
                .await
                .map_err(|e| {
                    anyhow!(
                        "ec2:AssociateRouteTable {table} with {subnet}: {}",
                        aws::describe(&e)
                    )
                })?;
            }
        }
        self.note("public route table", &table, existing.is_none());
        self.state.route_table = table;
        Ok(())
    }
}

/// The route table by its tags, the VPC's main table never (discovery).
pub(crate) async fn discover(
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
    let ec2 = &clients.ec2;
    let describe = |filters| ec2.describe_route_tables().set_filters(filters).send();
    discover_ec2(names, found, "ec2:DescribeRouteTables", describe, listed).await
}

/// Each route table of a `DescribeRouteTables` answer, with its tags, but a VPC's
/// main table (it goes with its VPC).
fn listed(answer: &DescribeRouteTablesOutput) -> Vec<(&[Tag], Resource)> {
    let tables = answer.route_tables().iter();
    tables
        .filter(|t| !t.associations().iter().any(|a| a.main() == Some(true)))
        .map(|t| named(Kind::RouteTable, t.route_table_id(), t.tags()))
        .collect()
}
