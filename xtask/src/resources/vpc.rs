//! The run's VPC: provision's step (found by the run's tags, created when missing,
//! DNS support and host names turned on, which an interface endpoint's private DNS
//! needs), the one tagged lookup provision, deploy and discovery share, and its
//! deletion, last of all, retried while what is in it is being released.

use anyhow::{Result, anyhow};
use aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsOutput;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Tag};

use super::context::{Provisioner, missing};
use super::deletion::{Deletion, Outcome};
use super::ec2::{discover_ec2, named};
use super::kind::{Clients, Kind, Resource};
use super::spec::{Plan, Spec};
use crate::aws;
use crate::names::{self, Names};
use crate::tags::tag_spec;

/// This kind's declaration: what makes it, what it depends on, how it is found,
/// created, made ready and deleted (its row of the table, `TABLE`).
pub(crate) const SPEC: Spec = Spec {
    kind: Kind::Vpc,
    label: "VPC",
    depends_on: &[],
    plan: Plan {
        found_by: "ec2:DescribeVpcs, filtered by the project's and the run's tags",
        create: "ec2:CreateVpc 10.0.0.0/16 (tagged); DNS support and host names checked and set on every run; the VPC's own default security group has its rules revoked (by rule id) on every run, so a resource put in it reaches nothing (FSBP EC2.2)",
        ready: "",
        delete: "ec2:DeleteVpc",
    },
    discover: Some(|clients, names, found| Box::pin(discover(clients, names, found))),
    delete: |d| Box::pin(delete(d)),
    provision: Some(|p| Box::pin(p.vpc())),
    deploy: None,
};

/// Turns on the VPC's DNS support, then its DNS hostnames: an interface endpoint's
/// private DNS needs both (EC2 API reference, CreateVpcEndpoint,
/// `PrivateDnsEnabled`), and a new VPC has hostnames off. A VPC just made may
/// answer NotFound for a moment (EC2's eventual consistency): retried.
pub(crate) async fn enable_dns(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<()> {
    for hostnames in [false, true] {
        let on = AttributeBooleanValue::builder().value(true).build();
        aws::after_create(|| {
            let request = ec2.modify_vpc_attribute().vpc_id(id);
            let request = if hostnames {
                request.enable_dns_hostnames(on.clone())
            } else {
                request.enable_dns_support(on.clone())
            };
            request.send()
        })
        .await
        .map_err(|e| {
            anyhow!(
                "ec2:ModifyVpcAttribute {id} (DNS): {}; enable DNS hostnames and resolution on the VPC",
                aws::describe(&e)
            )
        })?;
    }
    Ok(())
}

/// `ec2:DeleteVpc`, retried while what is in it is being released.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (ec2, id) = (&d.clients.ec2, d.resource.id.as_str());
    d.patiently("ec2:DeleteVpc", || ec2.delete_vpc().vpc_id(id).send())
        .await
}

impl Provisioner<'_> {
    /// Provision's step: the run's VPC, created when missing, with DNS on.
    pub(crate) async fn vpc(&mut self) -> Result<()> {
        let found = tagged(&self.ec2, self.names).await?;
        let (id, created) = if let Some(vpc) = found.into_iter().next() {
            (vpc.id, false)
        } else {
            let vpc = self
                .ec2
                .create_vpc()
                .cidr_block(names::VPC_CIDR)
                .tag_specifications(tag_spec(self.names, ResourceType::Vpc, &self.names.vpc))
                .send()
                .await
                .map_err(|e| anyhow!("ec2:CreateVpc {}: {}", self.names.vpc, aws::describe(&e)))?;
            let id = vpc
                .vpc()
                .and_then(|v| v.vpc_id())
                .ok_or_else(|| anyhow!("ec2:CreateVpc {}: no VPC id returned", self.names.vpc))?;
            (id.to_owned(), true)
        };
        crate::resources::vpc::enable_dns(&self.ec2, &id).await?;
        self.note("VPC", &format!("{id} {}", self.names.vpc), created);
        self.state.vpc_id = id;
        Ok(())
    }
}

/// The run's VPCs, found by their tags ([`discover_ec2`]): the one lookup
/// provision, deploy and discovery share.
async fn tagged(ec2: &aws_sdk_ec2::Client, names: &Names) -> Result<Vec<Resource>> {
    let mut found = Vec::new();
    let describe = |filters| ec2.describe_vpcs().set_filters(filters).send();
    discover_ec2(names, &mut found, "ec2:DescribeVpcs", describe, listed).await?;
    Ok(found)
}

/// Each VPC of a `DescribeVpcs` answer, with its tags.
fn listed(answer: &DescribeVpcsOutput) -> Vec<(&[Tag], Resource)> {
    let vpcs = answer.vpcs().iter();
    vpcs.map(|vpc| named(Kind::Vpc, vpc.vpc_id(), vpc.tags()))
        .collect()
}

/// The run's VPC, by its tags.
pub(crate) async fn find(ec2: &aws_sdk_ec2::Client, names: &Names) -> Result<String> {
    tagged(ec2, names)
        .await?
        .into_iter()
        .next()
        .map(|vpc| vpc.id)
        .ok_or_else(|| missing(names, &format!("VPC {}", names.vpc)))
}

/// The VPC by its tags (discovery).
pub(crate) async fn discover(
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
    found.extend(tagged(&clients.ec2, names).await?);
    Ok(())
}
