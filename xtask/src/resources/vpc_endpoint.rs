//! The interface VPC endpoints (Secrets Manager's, so the function in private
//! subnets reaches it; RDS's, the bastion's way to the RDS API): provision's step
//! (service names from placement, waited for until available), discovery, and
//! their deletion, waited for until they are gone (their network interfaces hold
//! the subnets and groups).

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use aws_sdk_ec2::operation::describe_vpc_endpoints::DescribeVpcEndpointsOutput;
use aws_sdk_ec2::types::{ResourceType, Tag, VpcEndpointType};

use super::context::Provisioner;
use super::deletion::{Deletion, Outcome};
use super::ec2::discover_ec2;
use super::kind::{Clients, Kind, Resource};
use super::spec::{Plan, Spec};
use crate::aws;
use crate::names::Names;
use crate::tags::{filter, tag_spec};

/// This kind's declaration: what makes it, what it depends on, how it is found,
/// created, made ready and deleted (its row of the table, `TABLE`).
pub(crate) const SPEC: Spec = Spec {
    kind: Kind::VpcEndpoint,
    label: "VPC endpoint",
    depends_on: &[Kind::Subnet, Kind::SecurityGroup],
    plan: Plan {
        found_by: "ec2:DescribeVpcEndpoints by the run's tags (deleted ones skipped)",
        create: "ec2:CreateVpcEndpoint (Interface, private DNS) for Secrets Manager and RDS, names from DescribeVpcEndpointServices",
        ready: "state available",
        delete: "ec2:DeleteVpcEndpoints, then wait until deleted",
    },
    discover: Some(|clients, names, found| Box::pin(discover(clients, names, found))),
    delete: |d| Box::pin(delete(d)),
    provision: Some(|p| Box::pin(p.endpoints())),
    deploy: None,
};

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

impl Provisioner<'_> {
    pub(crate) async fn endpoints(&mut self) -> Result<()> {
        let services = self.placement()?.endpoint_services.clone();
        for (service, service_name) in crate::placement::ENDPOINT_SERVICES
            .into_iter()
            .zip(services)
        {
            let found = self
                .ec2
                .describe_vpc_endpoints()
                .filters(filter("vpc-id", self.state.vpc_id.clone()))
                .filters(filter("service-name", service_name.clone()))
                .send()
                .await
                .map_err(|e| anyhow!("ec2:DescribeVpcEndpoints: {}", aws::describe(&e)))?;
            let live = found.vpc_endpoints().iter().find(|e| {
                !matches!(
                    e.state()
                        .map(|s| s.as_str().to_ascii_lowercase())
                        .as_deref(),
                    Some("deleted" | "deleting" | "failed")
                )
            });
            let (id, created) = if let Some(id) = live.and_then(|e| e.vpc_endpoint_id()) {
                (id.to_owned(), false)
            } else {
                let name = format!("{}-{service}", self.names.run);
                let spec = tag_spec(self.names, ResourceType::VpcEndpoint, &name);
                let created = aws::after_create(|| {
                    self.ec2
                        .create_vpc_endpoint()
                        .vpc_id(&self.state.vpc_id)
                        .service_name(&service_name)
                        .vpc_endpoint_type(VpcEndpointType::Interface)
                        .set_subnet_ids(Some(self.state.private_subnets.clone()))
                        .security_group_ids(&self.state.endpoint_group)
                        .private_dns_enabled(true)
                        .tag_specifications(spec.clone())
                        .send()
                })
                .await
                .map_err(|e| {
                    anyhow!(
                        "ec2:CreateVpcEndpoint {service_name}: {}",
                        aws::describe(&e)
                    )
                })?;
                let id = created
                    .vpc_endpoint()
                    .and_then(|e| e.vpc_endpoint_id())
                    .ok_or_else(|| anyhow!("ec2:CreateVpcEndpoint {service_name}: no id"))?
                    .to_owned();
                (id, true)
            };
            self.note(&format!("{service} endpoint"), &id, created);
            self.state.endpoints.push(id);
        }
        Ok(())
    }
}

/// The interface endpoints by their tags, unless deleted or being deleted (discovery).
pub(crate) async fn discover(
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
    let ec2 = &clients.ec2;
    let describe = |filters| ec2.describe_vpc_endpoints().set_filters(filters).send();
    discover_ec2(names, found, "ec2:DescribeVpcEndpoints", describe, listed).await
}

/// Each endpoint of a `DescribeVpcEndpoints` answer, with its tags and named by its
/// service, unless deleted or being deleted.
fn listed(answer: &DescribeVpcEndpointsOutput) -> Vec<(&[Tag], Resource)> {
    let endpoints = answer.vpc_endpoints().iter();
    endpoints
        .filter(|endpoint| {
            let state = endpoint
                .state()
                .map(|s| s.as_str().to_ascii_lowercase())
                .unwrap_or_default();
            state != "deleted" && state != "deleting"
        })
        .map(|endpoint| {
            let id = endpoint.vpc_endpoint_id().unwrap_or_default();
            let service = endpoint.service_name().unwrap_or_default();
            let resource = Resource::new(Kind::VpcEndpoint, id, service);
            (endpoint.tags(), resource)
        })
        .collect()
}
