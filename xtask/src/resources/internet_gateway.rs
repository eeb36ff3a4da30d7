//! The VPC's internet gateway, the bastion's way in: provision's step (found by the
//! run's tags, created when missing, attached when it is not), discovery, and its
//! deletion (detached first: EC2 refuses to delete an attached gateway).

use anyhow::{Result, anyhow, bail};
use aws_sdk_ec2::operation::describe_internet_gateways::DescribeInternetGatewaysOutput;
use aws_sdk_ec2::types::{ResourceType, Tag};

use super::context::Provisioner;
use super::deletion::{Deletion, Outcome, gone_or};
use super::ec2::{discover_ec2, named};
use super::kind::{Clients, Kind, Resource};
use super::spec::{Plan, Spec};
use crate::aws;
use crate::names::Names;
use crate::tags::{run_filters, tag_spec};

/// This kind's declaration: what makes it, what it depends on, how it is found,
/// created, made ready and deleted (its row of the table, `TABLE`).
pub(crate) const SPEC: Spec = Spec {
    kind: Kind::InternetGateway,
    label: "internet gateway",
    depends_on: &[Kind::Vpc],
    plan: Plan {
        found_by: "ec2:DescribeInternetGateways by tags (not by attachment, so an interrupted run finds it)",
        create: "ec2:CreateInternetGateway (tagged); attached to the VPC if it is not",
        ready: "",
        delete: "ec2:DetachInternetGateway, ec2:DeleteInternetGateway",
    },
    discover: Some(|clients, names, found| Box::pin(discover(clients, names, found))),
    delete: |d| Box::pin(delete(d)),
    provision: Some(|p| Box::pin(p.internet_gateway())),
    deploy: None,
};

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

impl Provisioner<'_> {
    /// The internet gateway, found by tags, attached to the VPC if it is not.
    pub(crate) async fn internet_gateway(&mut self) -> Result<()> {
        let vpc = self.state.vpc_id.clone();
        // Found by the run's tags, not by its attachment: a run interrupted between the
        // create and the attach must find the gateway it made, not make a second one.
        let gateways = self
            .ec2
            .describe_internet_gateways()
            .set_filters(Some(run_filters(self.names)))
            .send()
            .await
            .map_err(|e| anyhow!("ec2:DescribeInternetGateways: {}", aws::describe(&e)))?;
        let found = gateways.internet_gateways().first();
        let attached = found.is_some_and(|g| {
            g.attachments()
                .iter()
                .any(|a| a.vpc_id() == Some(vpc.as_str()))
        });
        let (gateway, created) = if let Some(id) = found.and_then(|g| g.internet_gateway_id()) {
            (id.to_owned(), false)
        } else {
            let name = format!("{}-igw", self.names.run);
            let created = self
                .ec2
                .create_internet_gateway()
                .tag_specifications(tag_spec(self.names, ResourceType::InternetGateway, &name))
                .send()
                .await
                .map_err(|e| anyhow!("ec2:CreateInternetGateway {name}: {}", aws::describe(&e)))?;
            let id = created
                .internet_gateway()
                .and_then(|g| g.internet_gateway_id())
                .ok_or_else(|| anyhow!("ec2:CreateInternetGateway: no id returned"))?
                .to_owned();
            (id, true)
        };
        if !attached {
            aws::after_create(|| {
                self.ec2
                    .attach_internet_gateway()
                    .internet_gateway_id(&gateway)
                    .vpc_id(&vpc)
                    .send()
            })
            .await
            .map_err(|e| {
                anyhow!(
                    "ec2:AttachInternetGateway {gateway} to {vpc}: {}",
                    aws::describe(&e)
                )
            })?;
        }
        self.note("internet gateway", &gateway, created);
        self.state.internet_gateway.clone_from(&gateway);
        Ok(())
    }
}

/// The internet gateway by its tags (discovery).
pub(crate) async fn discover(
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
    let ec2 = &clients.ec2;
    let describe = |filters| ec2.describe_internet_gateways().set_filters(filters).send();
    discover_ec2(
        names,
        found,
        "ec2:DescribeInternetGateways",
        describe,
        listed,
    )
    .await
}

/// Each gateway of a `DescribeInternetGateways` answer, with its tags.
fn listed(answer: &DescribeInternetGatewaysOutput) -> Vec<(&[Tag], Resource)> {
    let gateways = answer.internet_gateways().iter();
    gateways
        .map(|g| named(Kind::InternetGateway, g.internet_gateway_id(), g.tags()))
        .collect()
}
