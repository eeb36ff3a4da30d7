//! The changes the differential test's operators make, one family per file: the
//! network ([`network`]: security groups, prefix lists, endpoints, ACLs, the VPC's
//! DNS), who may do what ([`access`]: the role, the secret's and the key's policies,
//! the function's invoke permission) and the setup's settings ([`settings`]: the
//! schedule, rotation on or off, the function's placement and concurrency, the
//! database's public access). Each change is made through the AWS SDK as an
//! operator would make it, and returns one line saying what it did; none prints a
//! secret value. The helpers below are what the families share.

pub mod access;
pub mod network;
pub mod settings;

use anyhow::{Result, anyhow};
use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, UserIdGroupPair};

use crate::aws::describe;
use crate::fuzz::Setup;

pub(crate) fn failed<E>(what: &str) -> impl FnOnce(E) -> anyhow::Error
where
    E: std::error::Error + aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    let what = what.to_owned();
    move |e| anyhow!("{what}: {}", describe(&e))
}

pub(crate) fn tcp(port: i32, source: &str) -> IpPermission {
    crate::resources::security_group::tcp_permission(port, source)
}

pub(crate) fn all_traffic_from_group(group: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("-1")
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(group).build())
        .build()
}

pub(crate) fn all_traffic_to_world() -> IpPermission {
    IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build()
}

pub(crate) fn describe_permission(permission: &IpPermission) -> String {
    let ports = match (permission.from_port(), permission.to_port()) {
        (Some(from), Some(to)) if from == to => format!("port {from}"),
        (Some(from), Some(to)) => format!("ports {from}-{to}"),
        _ => "all ports".to_owned(),
    };
    let source: Vec<String> = permission
        .user_id_group_pairs()
        .iter()
        .filter_map(|p| p.group_id().map(str::to_owned))
        .chain(
            permission
                .ip_ranges()
                .iter()
                .filter_map(|r| r.cidr_ip().map(str::to_owned)),
        )
        .chain(
            permission
                .ipv6_ranges()
                .iter()
                .filter_map(|r| r.cidr_ipv6().map(str::to_owned)),
        )
        .chain(
            permission
                .prefix_list_ids()
                .iter()
                .filter_map(|p| p.prefix_list_id().map(str::to_owned)),
        )
        .collect();
    format!(
        "protocol {} {ports} {}",
        permission.ip_protocol().unwrap_or("?"),
        source.join(", ")
    )
}

pub(crate) async fn ingress(s: &Setup, group: &str, permission: IpPermission) -> Result<String> {
    let text = describe_permission(&permission);
    s.ec2
        .authorize_security_group_ingress()
        .group_id(group)
        .ip_permissions(permission)
        .send()
        .await
        .map_err(failed(&format!(
            "ec2:AuthorizeSecurityGroupIngress {group}"
        )))?;
    Ok(format!("{group} admits {text}"))
}

pub(crate) async fn egress(s: &Setup, permission: IpPermission) -> Result<String> {
    let text = describe_permission(&permission);
    s.ec2
        .authorize_security_group_egress()
        .group_id(&s.function_group)
        .ip_permissions(permission)
        .send()
        .await
        .map_err(failed("ec2:AuthorizeSecurityGroupEgress"))?;
    Ok(format!(
        "function group {} lets out only {text}",
        s.function_group
    ))
}

pub(crate) async fn endpoint_of(s: &Setup, service: &str) -> Result<String> {
    let suffix = format!(".{service}");
    let found = s
        .ec2
        .describe_vpc_endpoints()
        .filters(
            Filter::builder()
                .name("vpc-id")
                .values(&s.state.vpc_id)
                .build(),
        )
        .send()
        .await
        .map_err(failed("ec2:DescribeVpcEndpoints"))?;
    found
        .vpc_endpoints()
        .iter()
        .find(|e| e.service_name().is_some_and(|n| n.ends_with(&suffix)))
        .and_then(|e| e.vpc_endpoint_id().map(str::to_owned))
        .ok_or_else(|| anyhow!("VPC {} has no {service} endpoint", s.state.vpc_id))
}
