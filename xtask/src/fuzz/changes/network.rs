//! The network's changes: the database's and the endpoints' security groups, the
//! function's egress, prefix lists and IPv6 rules, the interface endpoints (deleted,
//! private DNS off, a policy, other groups, fewer subnets), the VPC's DNS
//! attributes, network ACLs (IPv4 and IPv6 entries).
//! A group a change creates carries the run's tags, so the case's cleanup deletes
//! it; a prefix list carries them too, but cleanup knows no prefix lists, so it
//! stays in the fuzz run's own emulator (its name is the run's, so no case meets
//! another's), which is thrown away with the run.

use anyhow::{Context as _, Result, anyhow, bail};
use aws_sdk_ec2::types::{
    AddPrefixListEntry, AttributeBooleanValue, Filter, IpPermission, Ipv6Range, PortRange,
    PrefixListId, ResourceType, RuleAction, UserIdGroupPair, VpcEndpoint,
};
use serde_json::Value;

use super::{
    all_traffic_from_group, all_traffic_to_world, egress, endpoint_of, failed, ingress, tcp,
};
use crate::fuzz::Setup;
use crate::tags::tag_spec;

/// How the database's rule for the function is replaced.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DbRule {
    WrongPort,
    AllTraffic,
    VpcRange,
    PortRange,
}

pub(crate) async fn db_from_function_instead(s: &Setup, rule: DbRule) -> Result<String> {
    revoke_db_from_function(s).await?;
    let port = s.db_port();
    let permission = match rule {
        DbRule::WrongPort => tcp(port + 1, &s.function_group),
        DbRule::AllTraffic => all_traffic_from_group(&s.function_group),
        DbRule::VpcRange => tcp(port, &s.vpc_cidr),
        DbRule::PortRange => IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(port - 6)
            .to_port(port + 4)
            .user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(&s.function_group)
                    .build(),
            )
            .build(),
    };
    ingress(s, &s.state.database_group, permission).await
}

pub(crate) async fn egress_only(s: &Setup, port: i32, destination: &str) -> Result<String> {
    revoke_all_egress(s).await?;
    egress(s, tcp(port, destination)).await
}

pub(crate) async fn endpoint_https_from_vpc(s: &Setup) -> Result<String> {
    revoke_endpoint_https(s).await?;
    ingress(s, &s.state.endpoint_group, tcp(443, &s.vpc_cidr)).await
}

pub(crate) async fn revoke_db_from_function(s: &Setup) -> Result<String> {
    s.ec2
        .revoke_security_group_ingress()
        .group_id(&s.state.database_group)
        .ip_permissions(tcp(s.db_port(), &s.function_group))
        .send()
        .await
        .map_err(failed(
            "ec2:RevokeSecurityGroupIngress (database from function)",
        ))?;
    Ok(format!(
        "database group {} no longer admits function group {}",
        s.state.database_group, s.function_group
    ))
}

pub(crate) async fn revoke_all_egress(s: &Setup) -> Result<String> {
    s.ec2
        .revoke_security_group_egress()
        .group_id(&s.function_group)
        .ip_permissions(all_traffic_to_world())
        .send()
        .await
        .map_err(failed("ec2:RevokeSecurityGroupEgress"))?;
    Ok(format!(
        "function group {} lets nothing out",
        s.function_group
    ))
}

pub(crate) async fn revoke_endpoint_https(s: &Setup) -> Result<String> {
    let group = s
        .ec2
        .describe_security_groups()
        .group_ids(&s.state.endpoint_group)
        .send()
        .await
        .map_err(failed("ec2:DescribeSecurityGroups"))?;
    let rules: Vec<IpPermission> = group
        .security_groups()
        .iter()
        .flat_map(|g| g.ip_permissions().iter().cloned())
        .filter(|p| p.from_port() == Some(443))
        .collect();
    if rules.is_empty() {
        return Err(anyhow!(
            "endpoint group {} admits no 443 to revoke",
            s.state.endpoint_group
        ));
    }
    s.ec2
        .revoke_security_group_ingress()
        .group_id(&s.state.endpoint_group)
        .set_ip_permissions(Some(rules))
        .send()
        .await
        .map_err(failed("ec2:RevokeSecurityGroupIngress (endpoints)"))?;
    Ok(format!(
        "endpoint group {} admits no 443",
        s.state.endpoint_group
    ))
}

pub(crate) async fn delete_endpoint(s: &Setup, service: &str) -> Result<String> {
    let id = endpoint_of(s, service).await?;
    s.ec2
        .delete_vpc_endpoints()
        .vpc_endpoint_ids(&id)
        .send()
        .await
        .map_err(failed("ec2:DeleteVpcEndpoints"))?;
    Ok(format!("{service} endpoint {id} deleted"))
}

pub(crate) async fn private_dns_off(s: &Setup) -> Result<String> {
    let id = endpoint_of(s, "secretsmanager").await?;
    s.ec2
        .modify_vpc_endpoint()
        .vpc_endpoint_id(&id)
        .private_dns_enabled(false)
        .send()
        .await
        .map_err(failed("ec2:ModifyVpcEndpoint"))?;
    // A change the emulator ignores would make a case that tests nothing.
    if described_endpoint(s, &id).await?.private_dns_enabled() != Some(false) {
        return Err(anyhow!(
            "endpoint {id} still reports private DNS on after ModifyVpcEndpoint PrivateDnsEnabled=false"
        ));
    }
    Ok(format!("secretsmanager endpoint {id}: private DNS off"))
}

/// The endpoint as EC2 describes it now, to read a change back.
async fn described_endpoint(s: &Setup, id: &str) -> Result<VpcEndpoint> {
    let described = s
        .ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(id)
        .send()
        .await
        .map_err(failed("ec2:DescribeVpcEndpoints"))?;
    described
        .vpc_endpoints()
        .first()
        .cloned()
        .ok_or_else(|| anyhow!("endpoint {id} is not described"))
}

pub(crate) async fn endpoint_policy(s: &Setup, policy: Value) -> Result<String> {
    let id = endpoint_of(s, "secretsmanager").await?;
    s.ec2
        .modify_vpc_endpoint()
        .vpc_endpoint_id(&id)
        .policy_document(policy.to_string())
        .send()
        .await
        .map_err(failed("ec2:ModifyVpcEndpoint"))?;
    Ok(format!("secretsmanager endpoint {id}: policy {policy}"))
}

/// Sets the Secrets Manager endpoint's policy to allow every Secrets Manager call
/// by anyone, but only on other secrets (`other-*` of the account and region): the
/// rotation's calls on its own secrets are refused through the endpoint, as no
/// endpoint policy allows them (PrivateLink guide, "Control access to VPC
/// endpoints using endpoint policies",
/// https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html).
pub(crate) async fn endpoint_policy_other_secret(s: &Setup) -> Result<String> {
    let prefix = s
        .state
        .secret_arn
        .split_once(":secret:")
        .map(|(prefix, _)| prefix)
        .ok_or_else(|| anyhow!("secret ARN {} has no :secret:", s.state.secret_arn))?;
    let policy = serde_json::json!({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:*", "Resource": format!("{prefix}:secret:other-*")}
    ]});
    endpoint_policy(s, policy).await
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum VpcDns {
    Support,
    Hostnames,
}

pub(crate) async fn vpc_dns_off(s: &Setup, which: VpcDns) -> Result<String> {
    let off = AttributeBooleanValue::builder().value(false).build();
    let call = s.ec2.modify_vpc_attribute().vpc_id(&s.state.vpc_id);
    let call = match which {
        VpcDns::Support => call.enable_dns_support(off),
        VpcDns::Hostnames => call.enable_dns_hostnames(off),
    };
    call.send()
        .await
        .map_err(failed("ec2:ModifyVpcAttribute"))?;
    Ok(format!("VPC {}: DNS {which:?} off", s.state.vpc_id))
}

/// What a DENY entry of [`nacl_deny`] matches.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Denied {
    /// TCP on these ports, from or to any IPv4 address.
    Tcp(i32, i32),
    /// Every protocol, from or to any IPv6 address (`::/0`): item 14 of the
    /// audit's review. The setup's traffic is IPv4 (its VPC has no IPv6 range), so
    /// such an entry stops nothing, and an audit that applied it to IPv4 would
    /// fail the setup falsely.
    AllIpv6,
}

/// A DENY entry numbered before every other in the network ACL of the function's
/// (private) subnets.
pub(crate) async fn nacl_deny(s: &Setup, egress: bool, denied: Denied) -> Result<String> {
    let subnet = s
        .state
        .private_subnets
        .first()
        .context("the setup has no private subnet")?;
    let acls = s
        .ec2
        .describe_network_acls()
        .filters(
            Filter::builder()
                .name("association.subnet-id")
                .values(subnet)
                .build(),
        )
        .send()
        .await
        .map_err(failed("ec2:DescribeNetworkAcls"))?;
    let acl = acls
        .network_acls()
        .first()
        .and_then(|a| a.network_acl_id())
        .context("no network ACL is associated with the private subnet")?
        .to_owned();
    let entry = s
        .ec2
        .create_network_acl_entry()
        .network_acl_id(&acl)
        .rule_number(1)
        .rule_action(RuleAction::Deny)
        .egress(egress);
    let (entry, what) = match denied {
        Denied::Tcp(from, to) => (
            entry
                .protocol("6")
                .cidr_block("0.0.0.0/0")
                .port_range(PortRange::builder().from(from).to(to).build()),
            format!("TCP {from}-{to}"),
        ),
        Denied::AllIpv6 => (
            entry.protocol("-1").ipv6_cidr_block("::/0"),
            "all traffic with ::/0".to_owned(),
        ),
    };
    entry
        .send()
        .await
        .map_err(failed("ec2:CreateNetworkAclEntry"))?;
    let direction = if egress { "out" } else { "in" };
    Ok(format!(
        "network ACL {acl}: rule 1 denies {what} {direction}"
    ))
}

/// The Secrets Manager endpoint left with one subnet: its other availability
/// zones lose their interfaces. Traffic crosses zones inside a VPC, so the
/// function still reaches the remaining interface and the rotation works; the
/// audit fails the endpoint for availability (an outage of that one zone stops
/// every rotation), which no rotation can show.
pub(crate) async fn endpoint_one_subnet(s: &Setup) -> Result<String> {
    let id = endpoint_of(s, "secretsmanager").await?;
    let subnets = described_endpoint(s, &id).await?.subnet_ids().to_vec();
    let Some((kept, removed)) = subnets.split_first() else {
        bail!("endpoint {id} has no subnet");
    };
    if removed.is_empty() {
        bail!("endpoint {id} has one subnet only ({kept}); the setup should have one per zone");
    }
    s.ec2
        .modify_vpc_endpoint()
        .vpc_endpoint_id(&id)
        .set_remove_subnet_ids(Some(removed.to_vec()))
        .send()
        .await
        .map_err(failed(&format!("ec2:ModifyVpcEndpoint {id}")))?;
    Ok(format!(
        "endpoint {id}: only subnet {kept} kept ({} removed)",
        removed.join(", ")
    ))
}
/// A managed prefix list (IPv4) of `cidrs`, tagged as the run's.
async fn prefix_list(s: &Setup, name: &str, cidrs: &[String]) -> Result<String> {
    let entries: Vec<AddPrefixListEntry> = cidrs
        .iter()
        .map(|cidr| AddPrefixListEntry::builder().cidr(cidr).build())
        .collect();
    let created = s
        .ec2
        .create_managed_prefix_list()
        .prefix_list_name(format!("{}-{name}", s.names.run))
        .address_family("IPv4")
        .max_entries(i32::try_from(cidrs.len().max(1)).unwrap_or(1))
        .set_entries(Some(entries))
        .tag_specifications(tag_spec(&s.names, ResourceType::PrefixList, name))
        .send()
        .await
        .map_err(failed("ec2:CreateManagedPrefixList"))?;
    created
        .prefix_list()
        .and_then(|p| p.prefix_list_id())
        .map(str::to_owned)
        .context("CreateManagedPrefixList returned no id")
}

fn from_prefix_list(protocol: &str, port: Option<i32>, list: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol(protocol)
        .set_from_port(port)
        .set_to_port(port)
        .prefix_list_ids(PrefixListId::builder().prefix_list_id(list).build())
        .build()
}

/// The CIDR blocks of the function's (private) subnets.
async fn function_subnet_cidrs(s: &Setup) -> Result<Vec<String>> {
    let subnets = s
        .ec2
        .describe_subnets()
        .set_subnet_ids(Some(s.state.private_subnets.clone()))
        .send()
        .await
        .map_err(failed("ec2:DescribeSubnets"))?;
    let cidrs: Vec<String> = subnets
        .subnets()
        .iter()
        .filter_map(|n| n.cidr_block().map(str::to_owned))
        .collect();
    if cidrs.is_empty() {
        return Err(anyhow!("the function's subnets have no CIDR block"));
    }
    Ok(cidrs)
}

/// The database admits the function's subnets through a prefix list instead of
/// its rule naming the function's group.
pub(crate) async fn db_from_prefix_list(s: &Setup) -> Result<String> {
    let cidrs = function_subnet_cidrs(s).await?;
    let list = prefix_list(s, "fuzz-function-subnets", &cidrs).await?;
    revoke_db_from_function(s).await?;
    let text = ingress(
        s,
        &s.state.database_group,
        from_prefix_list("tcp", Some(s.db_port()), &list),
    )
    .await?;
    Ok(format!("{text} ({list}: {})", cidrs.join(", ")))
}

/// The function's only way out: all traffic to a prefix list of `cidrs`.
pub(crate) async fn egress_to_prefix_list(s: &Setup, cidrs: Vec<String>) -> Result<String> {
    let list = prefix_list(s, "fuzz-egress", &cidrs).await?;
    revoke_all_egress(s).await?;
    let text = egress(s, from_prefix_list("-1", None, &list)).await?;
    Ok(format!("{text} ({list}: {})", cidrs.join(", ")))
}

fn all_traffic_ipv6(cidr: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("-1")
        .ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).build())
        .build()
}

/// The function's only way out: all traffic to every IPv6 address. The function's
/// interfaces, the endpoints and the database have IPv4 addresses only.
pub(crate) async fn egress_ipv6_only(s: &Setup) -> Result<String> {
    revoke_all_egress(s).await?;
    egress(s, all_traffic_ipv6("::/0")).await
}

/// The database admits the database port from an IPv6 range instead of the
/// function's group.
pub(crate) async fn db_from_ipv6(s: &Setup) -> Result<String> {
    revoke_db_from_function(s).await?;
    let port = s.db_port();
    let permission = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("2001:db8::/32").build())
        .build();
    ingress(s, &s.state.database_group, permission).await
}

/// The Secrets Manager endpoint moved from the endpoint group to a new group of
/// the run's that admits nothing (a new group has no inbound rule).
pub(crate) async fn endpoint_in_closed_group(s: &Setup) -> Result<String> {
    let id = endpoint_of(s, "secretsmanager").await?;
    let name = format!("{}-fuzz-closed", s.names.run);
    let created = s
        .ec2
        .create_security_group()
        .group_name(&name)
        .description("admits nothing")
        .vpc_id(&s.state.vpc_id)
        .tag_specifications(tag_spec(&s.names, ResourceType::SecurityGroup, &name))
        .send()
        .await
        .map_err(failed("ec2:CreateSecurityGroup"))?;
    let group = created
        .group_id()
        .context("CreateSecurityGroup returned no id")?;
    // A group just made is not found at once (EC2's eventual consistency).
    crate::aws::after_create(|| {
        s.ec2
            .modify_vpc_endpoint()
            .vpc_endpoint_id(&id)
            .add_security_group_ids(group)
            .remove_security_group_ids(&s.state.endpoint_group)
            .send()
    })
    .await
    .map_err(failed("ec2:ModifyVpcEndpoint"))?;
    // A change the emulator ignored would make a case that tests nothing.
    let described = described_endpoint(s, &id).await?;
    let groups: Vec<&str> = described
        .groups()
        .iter()
        .filter_map(|g| g.group_id())
        .collect();
    if groups != [group] {
        return Err(anyhow!(
            "endpoint {id} is in groups {groups:?} after ModifyVpcEndpoint, expected only {group}"
        ));
    }
    Ok(format!(
        "secretsmanager endpoint {id}: only in group {group}, which admits nothing"
    ))
}
