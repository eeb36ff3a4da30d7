//! The run's subnets, two public (the bastion) and two private (the database, the
//! endpoints, the function) in the two zones placement chose: provision's step
//! (public ones map public addresses, checked every run), the lookup of the private
//! ones deploy needs, discovery and deletion.

use anyhow::{Result, anyhow};
use aws_sdk_ec2::operation::describe_subnets::DescribeSubnetsOutput;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Tag, TagSpecification};

use super::context::{Provisioner, missing};
use super::deletion::{Deletion, Outcome};
use super::ec2::{discover_ec2, named};
use super::kind::{Clients, Kind, Resource};
use super::spec::{Plan, Spec};
use crate::aws;
use crate::names::{self, Names};
use crate::tags::{ec2_tags, filter, run_filters};

/// This kind's declaration: what makes it, what it depends on, how it is found,
/// created, made ready and deleted (its row of the table, `TABLE`).
pub(crate) const SPEC: Spec = Spec {
    kind: Kind::Subnet,
    label: "subnet",
    depends_on: &[Kind::Vpc],
    plan: Plan {
        found_by: "ec2:DescribeSubnets by the run's tags",
        create: "ec2:CreateSubnet x4 in the two zones placement chose; public ones map public IPs (checked every run)",
        ready: "",
        delete: "ec2:DeleteSubnet",
    },
    discover: Some(|clients, names, found| Box::pin(discover(clients, names, found))),
    delete: |d| Box::pin(delete(d)),
    provision: Some(|p| Box::pin(p.subnets())),
    deploy: None,
};

/// `ec2:DeleteSubnet`, retried while what is in it is being released.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (ec2, id) = (&d.clients.ec2, d.resource.id.as_str());
    d.patiently("ec2:DeleteSubnet", || {
        ec2.delete_subnet().subnet_id(id).send()
    })
    .await
}

impl Provisioner<'_> {
    pub(crate) async fn subnets(&mut self) -> Result<()> {
        let zones = self.placement()?.zones.clone();
        let existing = aws::after_create(|| {
            self.ec2
                .describe_subnets()
                .filters(filter("vpc-id", self.state.vpc_id.clone()))
                .send()
        })
        .await
        .map_err(|e| anyhow!("ec2:DescribeSubnets: {}", aws::describe(&e)))?;
        for (tier, cidrs) in [
            ("public", names::PUBLIC_SUBNETS),
            ("private", names::PRIVATE_SUBNETS),
        ] {
            for (index, cidr) in cidrs.iter().enumerate() {
                let zone = &zones[index];
                let name = format!("{}-{tier}-{}", self.names.run, zone);
                let found = existing
                    .subnets()
                    .iter()
                    .find(|s| s.cidr_block() == Some(cidr));
                let public_ips =
                    found.and_then(aws_sdk_ec2::types::Subnet::map_public_ip_on_launch);
                let found = found.and_then(|s| s.subnet_id().map(str::to_owned));
                let (id, created) = if let Some(id) = found {
                    (id, false)
                } else {
                    let mut tags = ec2_tags(self.names, &name);
                    tags.push(Tag::builder().key(names::TIER_TAG_KEY).value(tier).build());
                    let spec = TagSpecification::builder()
                        .resource_type(ResourceType::Subnet)
                        .set_tags(Some(tags))
                        .build();
                    let subnet = aws::after_create(|| {
                        self.ec2
                            .create_subnet()
                            .vpc_id(&self.state.vpc_id)
                            .cidr_block(*cidr)
                            .availability_zone(zone)
                            .tag_specifications(spec.clone())
                            .send()
                    })
                    .await
                    .map_err(|e| anyhow!("ec2:CreateSubnet {name}: {}", aws::describe(&e)))?;
                    let id = subnet
                        .subnet()
                        .and_then(|s| s.subnet_id())
                        .ok_or_else(|| anyhow!("ec2:CreateSubnet {name}: no subnet id returned"))?
                        .to_owned();
                    (id, true)
                };
                // Checked and set on every run, so a run interrupted between the create
                // and this call is repaired by the next.
                if tier == "public" && public_ips != Some(true) {
                    aws::after_create(|| {
                        self.ec2
                            .modify_subnet_attribute()
                            .subnet_id(&id)
                            .map_public_ip_on_launch(
                                AttributeBooleanValue::builder().value(true).build(),
                            )
                            .send()
                    })
                    .await
                    .map_err(|e| {
                        anyhow!(
                            "ec2:ModifySubnetAttribute {id} (public IPs): {}",
                            aws::describe(&e)
                        )
                    })?;
                }
                self.note(&format!("{tier} subnet"), &format!("{id} {zone}"), created);
                if tier == "public" {
                    self.state.public_subnets.push(id);
                } else {
                    self.state.private_subnets.push(id);
                }
            }
        }
        Ok(())
    }
}

/// The run's private subnets in the VPC, by their tags.
pub(crate) async fn find_private(
    ec2: &aws_sdk_ec2::Client,
    names: &Names,
    vpc_id: &str,
) -> Result<Vec<String>> {
    let mut filters = run_filters(names);
    filters.push(filter("vpc-id", vpc_id));
    filters.push(filter(&format!("tag:{}", names::TIER_TAG_KEY), "private"));
    let subnets = ec2
        .describe_subnets()
        .set_filters(Some(filters))
        .send()
        .await
        .map_err(|e| anyhow!("ec2:DescribeSubnets: {}", aws::describe(&e)))?;
    let private_subnets: Vec<String> = subnets
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_id().map(str::to_owned))
        .collect();
    if private_subnets.is_empty() {
        return Err(missing(names, "the private subnets"));
    }
    Ok(private_subnets)
}

/// The subnets by their tags (discovery).
pub(crate) async fn discover(
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
    let ec2 = &clients.ec2;
    let describe = |filters| ec2.describe_subnets().set_filters(filters).send();
    discover_ec2(names, found, "ec2:DescribeSubnets", describe, listed).await
}

/// Each subnet of a `DescribeSubnets` answer, with its tags.
fn listed(answer: &DescribeSubnetsOutput) -> Vec<(&[Tag], Resource)> {
    let subnets = answer.subnets().iter();
    subnets
        .map(|s| named(Kind::Subnet, s.subnet_id(), s.tags()))
        .collect()
}
