//! The bastion host: provision's step (launched in a public subnet with IMDSv2
//! required, so a request forged through the host cannot read its credentials; an
//! earlier run's bastion is switched to IMDSv2), discovery, and its termination,
//! waited for (its group and subnet go only after it).

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::types::{
    Filter, HttpTokensState, InstanceMetadataEndpointState, InstanceMetadataOptionsRequest,
    InstanceStateName, InstanceType, ResourceType, Tag,
};

use super::context::Provisioner;
use super::deletion::{Deletion, Outcome, gone_or};
use super::ec2::{discover_ec2, named};
use super::kind::{Clients, Kind, Resource};
use super::spec::{Plan, Spec};
use crate::aws::{self, say};
use crate::names::Names;
use crate::tags::{filter, run_filters, tag_spec};

/// This kind's declaration: what makes it, what it depends on, how it is found,
/// created, made ready and deleted (its row of the table, `TABLE`).
pub(crate) const SPEC: Spec = Spec {
    kind: Kind::Instance,
    label: "EC2 instance",
    depends_on: &[
        Kind::Subnet,
        Kind::SecurityGroup,
        Kind::KeyPair,
        Kind::RouteTable,
    ],
    plan: Plan {
        found_by: "ec2:DescribeInstances by tags (not terminated)",
        create: "ec2:RunInstances t3.micro in a public subnet (tagged), IMDSv2 required; an earlier run's bastion is switched to IMDSv2 (ModifyInstanceMetadataOptions)",
        ready: "state running, with a public address",
        delete: "ec2:TerminateInstances, then wait until terminated",
    },
    discover: Some(|clients, names, found| Box::pin(discover(clients, names, found))),
    delete: |d| Box::pin(delete(d)),
    provision: Some(|p| Box::pin(p.bastion())),
    deploy: None,
};

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

impl Provisioner<'_> {
    pub(crate) async fn ami(&mut self) -> Result<String> {
        if let Some(ami) = &self.options.ami {
            return Ok(ami.clone());
        }
        let images = self
            .ec2
            .describe_images()
            .owners("amazon")
            .filters(filter("name", "al2023-ami-2023.*-x86_64"))
            .filters(filter("architecture", "x86_64"))
            .filters(filter("state", "available"))
            .send()
            .await
            .map_err(|e| anyhow!("ec2:DescribeImages (owner amazon): {}", aws::describe(&e)))?;
        let newest = images
            .images()
            .iter()
            .filter_map(|i| {
                Some((
                    i.creation_date().unwrap_or_default().to_owned(),
                    i.name()?.to_owned(),
                    i.image_id()?.to_owned(),
                ))
            })
            .max();
        let Some((_, name, id)) = newest else {
            bail!(
                "no Amazon Linux 2023 x86_64 image found with ec2:DescribeImages (owner amazon, name al2023-ami-2023.*-x86_64); pass --ami ami-..."
            );
        };
        if self.options.verbose {
            say(&format!(
                "AMI {id} ({name}): the newest Amazon Linux 2023 image from DescribeImages (the public SSM parameter is not read; pass --ami to choose)"
            ));
        }
        Ok(id)
    }

    pub(crate) async fn bastion(&mut self) -> Result<()> {
        let mut filters = run_filters(self.names);
        filters.push(filter("tag:Name", self.names.bastion.clone()));
        filters.push(
            Filter::builder()
                .name("instance-state-name")
                .values("pending")
                .values("running")
                .values("stopping")
                .values("stopped")
                .build(),
        );
        let found = self
            .ec2
            .describe_instances()
            .set_filters(Some(filters))
            .send()
            .await
            .map_err(|e| anyhow!("ec2:DescribeInstances: {}", aws::describe(&e)))?;
        let existing = found
            .reservations()
            .iter()
            .flat_map(aws_sdk_ec2::types::Reservation::instances)
            .find_map(|i| {
                let tokens = i.metadata_options().and_then(|m| m.http_tokens()).cloned();
                Some((
                    i.instance_id()?.to_owned(),
                    i.image_id()?.to_owned(),
                    tokens,
                ))
            });
        let (id, ami, created) = if let Some((id, ami, tokens)) = existing {
            if tokens != Some(HttpTokensState::Required) {
                self.require_imdsv2(&id).await?;
            }
            (id, ami, false)
        } else {
            let ami = self.ami().await?;
            let spec = tag_spec(self.names, ResourceType::Instance, &self.names.bastion);
            let run = aws::after_create(|| {
                self.ec2
                    .run_instances()
                    .image_id(&ami)
                    // Offered in the zones placement chose (see crate::placement).
                    .instance_type(InstanceType::from(crate::placement::INSTANCE_TYPE))
                    .min_count(1)
                    .max_count(1)
                    .key_name(&self.state.key_pair)
                    .subnet_id(self.state.public_subnets.first().cloned().unwrap_or_default())
                    .security_group_ids(&self.state.bastion_group)
                    .metadata_options(imdsv2_only())
                    .tag_specifications(spec.clone())
                    .send()
            })
            .await
                .map_err(|e| {
                    anyhow!(
                        "ec2:RunInstances {} (AMI {ami}, {}): {}; pass another --ami if the image is not available",
                        self.names.bastion,
                        crate::placement::INSTANCE_TYPE,
                        aws::describe(&e)
                    )
                })?;
            let id = run
                .instances()
                .first()
                .and_then(|i| i.instance_id())
                .ok_or_else(|| anyhow!("ec2:RunInstances: no instance id returned"))?
                .to_owned();
            (id, ami, true)
        };
        let ec2 = self.ec2.clone();
        let public_ip = aws::wait_for(
            &format!("bastion {id} to run"),
            Duration::from_mins(10),
            || {
                let ec2 = ec2.clone();
                let id = id.clone();
                async move {
                    let out =
                        aws::after_create(|| ec2.describe_instances().instance_ids(&id).send())
                            .await
                            .map_err(|e| {
                                anyhow!("ec2:DescribeInstances {id}: {}", aws::describe(&e))
                            })?;
                    let instance = out
                        .reservations()
                        .iter()
                        .flat_map(aws_sdk_ec2::types::Reservation::instances)
                        .next();
                    Ok(instance
                        .filter(|i| {
                            i.state().and_then(|s| s.name()) == Some(&InstanceStateName::Running)
                        })
                        .map(|i| i.public_ip_address().unwrap_or("none").to_owned()))
                }
            },
        )
        .await?;
        self.note(
            "bastion",
            &format!(
                "{id} {} (public IP {public_ip}, AMI {ami})",
                self.names.bastion
            ),
            created,
        );
        self.state.bastion_instance = id;
        self.state.ami = ami;
        Ok(())
    }

    /// Makes a bastion of an earlier run require IMDSv2 (the instance is the run's:
    /// found by its tags). `ModifyInstanceMetadataOptions` applies to a running
    /// instance without a restart (Amazon EC2 User Guide, "Modify instance metadata
    /// options for existing instances").
    async fn require_imdsv2(&self, id: &str) -> Result<()> {
        self.ec2
            .modify_instance_metadata_options()
            .instance_id(id)
            // HttpEndpoint is left out: omitted, it keeps its state (EC2 API
            // reference, ModifyInstanceMetadataOptions), so an endpoint an operator
            // turned off stays off.
            .http_tokens(HttpTokensState::Required)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "ec2:ModifyInstanceMetadataOptions {id} (HttpTokens required): {}",
                    aws::describe(&e)
                )
            })?;
        say(&format!(
            "bastion {id}: now requires IMDSv2 (HttpTokens required)"
        ));
        Ok(())
    }
}

/// The bastion's metadata options: IMDSv2 only (`HttpTokens` `required`: FSBP
/// EC2.8, AWS Config `ec2-imdsv2-check`), the endpoint left on.
fn imdsv2_only() -> InstanceMetadataOptionsRequest {
    InstanceMetadataOptionsRequest::builder()
        .http_tokens(HttpTokensState::Required)
        .http_endpoint(InstanceMetadataEndpointState::Enabled)
        .build()
}

/// The bastion by its tags, unless terminated or shutting down (discovery).
pub(crate) async fn discover(
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
    let ec2 = &clients.ec2;
    let describe = |filters| ec2.describe_instances().set_filters(filters).send();
    discover_ec2(names, found, "ec2:DescribeInstances", describe, listed).await
}

/// Each instance of a `DescribeInstances` answer, with its tags, unless terminated
/// or shutting down.
fn listed(answer: &DescribeInstancesOutput) -> Vec<(&[Tag], Resource)> {
    let reservations = answer.reservations().iter();
    reservations
        .flat_map(aws_sdk_ec2::types::Reservation::instances)
        .filter(|instance| {
            let state = instance.state().and_then(|s| s.name());
            !matches!(
                state.map(aws_sdk_ec2::types::InstanceStateName::as_str),
                Some("terminated" | "shutting-down")
            )
        })
        .map(|i| named(Kind::Instance, i.instance_id(), i.tags()))
        .collect()
}
