//! The run's VPC, deleted last.

use anyhow::{Result, anyhow};
use aws_sdk_ec2::types::AttributeBooleanValue;

use super::deletion::{Deletion, Outcome};
use crate::aws;

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
