//! What the network checks share: how a security group rule is read, what
//! counts as the internet, which groups are in scope, and whether traffic gets
//! from one end to the other. The checks live one to a file named by their id
//! (`vpc_dns`, `vpc_endpoint`, `vpc_endpoint_policy`, `ec2_ssh_restricted`,
//! `ec2_ingress_no_public`, `rds_ingress_bastion_only`); they, and discovery
//! (through [`admits_tcp_port`]), read rules here, once, so that no two of them
//! disagree about the same rule.
//!
//! Rules are `DescribeSecurityGroupRules` rows, one source each, read so as to
//! get right what common tools miss: protocol `-1` (all traffic) and port ranges
//! that contain the port, IPv6 `::/0`, prefix lists (resolved to their CIDRs),
//! rules that reference another group, and CIDRs wider than one address that are
//! still not the whole internet.
//!
//! The way out counts too: the rotation function's groups must let the database
//! port (and HTTPS to an endpoint) out. An outbound rule to the peer's group
//! decides; otherwise ranges (prefix lists resolved) must cover each of the
//! peer's subnets, one rule per subnet being enough. When a subnet's range or a
//! prefix list is unread and no rule decides, the finding is ERROR naming the
//! read, not a FAIL the audit cannot prove.
//!
//! "The internet" is any public range (not RFC 1918, not the shared address
//! space `100.64.0.0/10` of RFC 6598, not within the VPC's own ranges) wider
//! than the policy's threshold, not only the literal `/0`: `0.0.0.0/1` plus `128.0.0.0/1` is the
//! whole internet. Every group in scope is checked (every instance with the
//! bastion's name, the database, the rotation function), because a second bastion
//! or the database's group with SSH open is as exposed as the first.

use std::collections::{BTreeMap, BTreeSet};

use super::context::Context;
use crate::finding::{CheckDefinition, Finding, Status};
use crate::inventory::{Collected, SecurityGroupRule};

/// A rule's source, as far as the checks care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Source {
    /// A CIDR with its prefix length; `v6` for IPv6.
    Cidr {
        cidr: String,
        prefix: u8,
        v6: bool,
    },
    PrefixList(String),
    Group(String),
    Unknown,
}

pub(super) fn source_of(rule: &SecurityGroupRule) -> Source {
    if let Some(group) = &rule.referenced_group_id {
        return Source::Group(group.clone());
    }
    if let Some(list) = &rule.prefix_list_id {
        return Source::PrefixList(list.clone());
    }
    if let Some(cidr) = rule.cidr_ipv4.as_deref().or(rule.cidr_ipv6.as_deref()) {
        return cidr_source(cidr).unwrap_or(Source::Unknown);
    }
    Source::Unknown
}

/// A CIDR's prefix length; a bare address counts as a single address.
fn cidr_source(cidr: &str) -> Option<Source> {
    let v6 = cidr.contains(':');
    let max = if v6 { 128 } else { 32 };
    let prefix = match cidr.split_once('/') {
        Some((_, prefix)) => prefix.trim().parse::<u8>().ok().filter(|&p| p <= max)?,
        None => max,
    };
    Some(Source::Cidr {
        cidr: cidr.to_owned(),
        prefix,
        v6,
    })
}

pub(super) fn is_all_protocols(rule: &SecurityGroupRule) -> bool {
    matches!(rule.ip_protocol.as_str(), "-1" | "all")
}

pub(super) fn is_tcp(rule: &SecurityGroupRule) -> bool {
    matches!(rule.ip_protocol.to_ascii_lowercase().as_str(), "tcp" | "6")
}

pub(super) fn is_udp(rule: &SecurityGroupRule) -> bool {
    matches!(rule.ip_protocol.to_ascii_lowercase().as_str(), "udp" | "17")
}

pub(super) fn is_icmp(rule: &SecurityGroupRule) -> bool {
    matches!(
        rule.ip_protocol.to_ascii_lowercase().as_str(),
        "icmp" | "1" | "icmpv6" | "58"
    )
}

/// The port range of a TCP/UDP rule; absent or `-1` bounds mean every port.
pub(super) fn port_range(rule: &SecurityGroupRule) -> (i32, i32) {
    let from = rule.from_port.filter(|&p| p >= 0).unwrap_or(0);
    let to = rule.to_port.filter(|&p| p >= 0).unwrap_or(65_535);
    (from, to)
}

/// Whether an ingress rule admits TCP traffic to `port`.
pub(crate) fn admits_tcp_port(rule: &SecurityGroupRule, port: u16) -> bool {
    if rule.is_egress {
        return false;
    }
    if is_all_protocols(rule) {
        return true;
    }
    if !is_tcp(rule) {
        return false;
    }
    let (from, to) = port_range(rule);
    (from..=to).contains(&i32::from(port))
}

/// Whether an ingress rule admits any port other than `port` (ICMP has no ports).
pub(super) fn admits_other_than(rule: &SecurityGroupRule, port: u16) -> bool {
    if rule.is_egress || is_icmp(rule) {
        return false;
    }
    if is_tcp(rule) {
        let (from, to) = port_range(rule);
        return !(from == i32::from(port) && to == i32::from(port));
    }
    // UDP (any port), protocol -1 and other protocols all open something besides TCP `port`.
    true
}

pub(super) fn describe_ports(rule: &SecurityGroupRule) -> String {
    if is_all_protocols(rule) {
        return "all traffic (protocol -1)".to_owned();
    }
    let (from, to) = port_range(rule);
    let protocol = &rule.ip_protocol;
    if is_tcp(rule) || is_udp(rule) {
        if from == to {
            format!("{protocol} {from}")
        } else {
            format!("{protocol} {from}-{to}")
        }
    } else {
        format!("protocol {protocol}")
    }
}

pub(super) fn describe_source(rule: &SecurityGroupRule) -> String {
    match source_of(rule) {
        Source::Cidr { cidr, .. } => cidr,
        Source::PrefixList(list) => format!("prefix list {list}"),
        Source::Group(group) => format!("security group {group}"),
        Source::Unknown => "an unrecognised source".to_owned(),
    }
}

/// The CIDRs of a rule's source: itself, or the prefix list's entries.
pub(super) enum Cidrs {
    List(Vec<Source>),
    /// The prefix list's entries could not be read.
    Unavailable(String),
    /// A group reference.
    Group,
}

pub(super) fn cidrs_of(context: &Context<'_>, rule: &SecurityGroupRule) -> Cidrs {
    match source_of(rule) {
        Source::Group(_) => Cidrs::Group,
        cidr @ (Source::Cidr { .. } | Source::Unknown) => Cidrs::List(vec![cidr]),
        Source::PrefixList(id) => match context
            .region
            .prefix_lists
            .iter()
            .find(|p| p.id == id)
            .map(|p| &p.entries)
        {
            Some(Collected::Ok(entries)) => Cidrs::List(
                entries
                    .iter()
                    .map(|e| cidr_source(e).unwrap_or(Source::Unknown))
                    .collect(),
            ),
            Some(Collected::Failed(error)) => {
                Cidrs::Unavailable(format!("prefix list {id}: {}", error.describe()))
            }
            Some(Collected::Skipped(reason)) => {
                Cidrs::Unavailable(format!("prefix list {id}: {reason}"))
            }
            None => Cidrs::Unavailable(format!("prefix list {id}: its entries were not collected")),
        },
    }
}

pub(super) fn sg_arn(context: &Context<'_>, group: &str) -> String {
    context.arn("ec2", &format!("security-group/{group}"), group)
}

/// Rotation functions named by the primary (fully audited) secrets.
pub(super) fn primary_functions<'a>(
    context: &Context<'a>,
) -> Vec<&'a crate::inventory::FunctionRecord> {
    let Some(secrets) = context.region.secrets.ok() else {
        return Vec::new();
    };
    let arns: BTreeSet<&str> = secrets
        .iter()
        .filter(|s| s.primary)
        .filter_map(|s| s.rotation_lambda_arn.as_deref())
        .collect();
    context
        .region
        .functions
        .iter()
        .filter(|f| arns.contains(f.arn.as_str()))
        .collect()
}

/// Whether an IPv4 CIDR lies inside another (a bare address is a /32).
pub(crate) fn cidr_contains(outer: &str, inner: &str) -> bool {
    let parse = |cidr: &str| -> Option<(u32, u8)> {
        let (address, prefix) = match cidr.split_once('/') {
            Some((address, prefix)) => (address, prefix.trim().parse::<u8>().ok()?),
            None => (cidr, 32),
        };
        let address: std::net::Ipv4Addr = address.trim().parse().ok()?;
        (prefix <= 32).then_some((u32::from(address), prefix))
    };
    let (Some((outer_net, outer_len)), Some((inner_net, inner_len))) = (parse(outer), parse(inner))
    else {
        return false;
    };
    let mask = |len: u8| {
        if len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(len))
        }
    };
    inner_len >= outer_len && (inner_net & mask(outer_len)) == (outer_net & mask(outer_len))
}

/// Whether a rule (either direction) carries TCP `port`.
fn carries_tcp_port(rule: &SecurityGroupRule, port: u16) -> bool {
    is_all_protocols(rule)
        || (is_tcp(rule) && {
            let (from, to) = port_range(rule);
            (from..=to).contains(&i32::from(port))
        })
}

/// Whether security group rules let TCP traffic through to a peer, as far as the
/// inventory tells.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Reach {
    Yes,
    No,
    /// Undecided for want of a read, named here.
    Unknown(String),
}

/// The other end of the traffic: its security groups and its subnets.
pub(super) struct Peer<'a> {
    pub(super) groups: &'a [String],
    pub(super) subnets: &'a [String],
}

/// Whether the rules of `groups` in one direction (`egress`: outbound to the peer;
/// otherwise inbound from it) carry TCP `port` to or from `peer`: a rule naming
/// one of the peer's groups, or rules whose ranges (a CIDR, or a prefix list's
/// entries) together cover every one of the peer's subnets, each by some rule,
/// as AWS allows one rule per subnet (security group rules are permissive: the
/// traffic passes when any rule allows it, VPC user guide, "Security group
/// rules", https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html).
/// An IPv4 `0.0.0.0/0` covers any address, known or not. Undecided (`Unknown`,
/// naming the read) when a prefix list that may cover is unread, or when a
/// subnet's range is unknown and no rule decides.
pub(super) fn reaches(
    context: &Context<'_>,
    rules: &[SecurityGroupRule],
    groups: &[String],
    egress: bool,
    port: u16,
    peer: &Peer<'_>,
) -> Reach {
    let mut ranges: Vec<String> = Vec::new();
    let mut unread: Vec<String> = Vec::new();
    for rule in rules.iter().filter(|r| {
        r.is_egress == egress && groups.contains(&r.group_id) && carries_tcp_port(r, port)
    }) {
        match cidrs_of(context, rule) {
            Cidrs::Group => {
                if rule
                    .referenced_group_id
                    .as_ref()
                    .is_some_and(|g| peer.groups.contains(g))
                {
                    return Reach::Yes;
                }
            }
            Cidrs::List(sources) => {
                for source in sources {
                    if let Source::Cidr {
                        cidr,
                        prefix,
                        v6: false,
                    } = source
                    {
                        if prefix == 0 {
                            return Reach::Yes;
                        }
                        ranges.push(cidr);
                    }
                }
            }
            Cidrs::Unavailable(why) => unread.push(why),
        }
    }
    let (known, unknown) = subnet_ranges(context, peer.subnets);
    let uncovered = known
        .iter()
        .any(|inner| !ranges.iter().any(|outer| cidr_contains(outer, inner)));
    if !unread.is_empty() {
        // A prefix list the audit could not read may hold the missing range.
        let mut why = vec![format!("the entries of {}", unread.join(", "))];
        why.extend(unknown);
        return Reach::Unknown(why.join("; "));
    }
    match unknown {
        _ if uncovered => Reach::No,
        // No range to cover a subnet with: nothing else could let the port through.
        Some(_) if ranges.is_empty() => Reach::No,
        Some(why) => Reach::Unknown(why),
        None => Reach::Yes,
    }
}

/// The IPv4 ranges of `subnets` EC2 reported, and what keeps the others unknown.
fn subnet_ranges<'a>(context: &Context<'a>, subnets: &[String]) -> (Vec<&'a str>, Option<String>) {
    if subnets.is_empty() {
        return (
            Vec::new(),
            Some("its subnets (none were collected)".to_owned()),
        );
    }
    let known = match &context.region.subnets {
        Collected::Ok(known) => known,
        Collected::Failed(error) => {
            return (
                Vec::new(),
                Some(format!(
                    "the ranges of subnets {} ({})",
                    subnets.join(", "),
                    error.describe()
                )),
            );
        }
        Collected::Skipped(why) => {
            return (
                Vec::new(),
                Some(format!(
                    "the ranges of subnets {} (not read: {why})",
                    subnets.join(", ")
                )),
            );
        }
    };
    let mut ranges = Vec::new();
    let mut missing = Vec::new();
    for id in subnets {
        match known
            .iter()
            .find(|s| &s.id == id)
            .and_then(|s| s.cidr_block.as_deref())
        {
            Some(range) => ranges.push(range),
            None => missing.push(id.as_str()),
        }
    }
    let why = (!missing.is_empty()).then(|| {
        format!(
            "the ranges of subnets {} (not among the subnets ec2:DescribeSubnets returned for the collected VPC)",
            missing.join(", ")
        )
    });
    (ranges, why)
}

/// Why the network ACLs stop TCP `port` from any of `clients` to any of `servers`
/// (every pair: a client may be given any of the server's addresses), and the
/// answers back; see [`super::nacl`]. The finding to report instead (ERROR
/// naming the unread call) when the ACLs or a subnet's range could not be read.
pub(super) fn acl_faults(
    context: &Context<'_>,
    def: &CheckDefinition,
    resource: &str,
    clients: &[String],
    servers: &[String],
    port: u16,
) -> Result<Vec<String>, Box<Finding>> {
    if clients.is_empty() || servers.is_empty() {
        return Ok(Vec::new());
    }
    let acls = match &context.region.network_acls {
        Collected::Ok(acls) => acls,
        other => {
            return Err(Box::new(
                context
                    .missing(def, resource, other)
                    .unwrap_or_else(|| context.skip(def, resource, "network ACLs not read")),
            ));
        }
    };
    // A subnet's range decides which ACL rules match (each entry matches a
    // `CidrBlock`: AWS::EC2::NetworkAclEntry,
    // https://docs.amazonaws.cn/en_us/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-networkaclentry.md),
    // so an unknown range leaves the path unjudged, never clear.
    let mut ends_subnets: Vec<String> = clients.iter().chain(servers).cloned().collect();
    ends_subnets.sort();
    ends_subnets.dedup();
    if let (_, Some(why)) = subnet_ranges(context, &ends_subnets) {
        return Err(Box::new(context.finding(
            def,
            Status::Error,
            resource,
            format!(
                "the network ACLs between subnets {} and {} could not be judged without {why}; grant the auditor the read it lacks and rerun",
                clients.join(", "),
                servers.join(", ")
            ),
        )));
    }
    let cidr_of: BTreeMap<&str, &str> = context
        .region
        .subnets
        .ok()
        .map(|subnets| {
            subnets
                .iter()
                .filter_map(|s| Some((s.id.as_str(), s.cidr_block.as_deref()?)))
                .collect()
        })
        .unwrap_or_default();
    let ends = |subnets: &'_ [String]| -> Vec<(String, String)> {
        subnets
            .iter()
            .filter_map(|s| Some((s.clone(), (*cidr_of.get(s.as_str())?).to_owned())))
            .collect()
    };
    let (clients, servers) = (ends(clients), ends(servers));
    let mut faults = Vec::new();
    for (client_subnet, client_cidr) in &clients {
        let client = super::nacl::End {
            subnet: client_subnet,
            cidr: client_cidr,
        };
        for (server_subnet, server_cidr) in &servers {
            let server = super::nacl::End {
                subnet: server_subnet,
                cidr: server_cidr,
            };
            for fault in super::nacl::path_faults(acls, client, server, port) {
                if !faults.contains(&fault) {
                    faults.push(fault);
                }
            }
        }
    }
    Ok(faults)
}

/// The bastions' security groups (every instance with the bastion's name), or
/// the finding that explains why there are none: FAIL when no instance has the
/// name (none for a discovered setup, which may have no bastion), ERROR/SKIP when
/// the instances could not be read.
pub(super) fn bastion_groups(
    context: &Context<'_>,
    def: &CheckDefinition,
) -> Result<(Vec<String>, Vec<String>), Box<Finding>> {
    match &context.region.bastions {
        Collected::Ok(instances) if !instances.is_empty() => {
            let ids = instances.iter().map(|i| i.id.clone()).collect();
            let mut groups: Vec<String> = Vec::new();
            for instance in instances {
                for group in &instance.security_group_ids {
                    if !groups.contains(group) {
                        groups.push(group.clone());
                    }
                }
            }
            Ok((ids, groups))
        }
        // A discovered setup need not have a bastion (nor the policy's name for
        // one): without one, its database admits only its rotation function, and
        // SSH is checked on the groups it has.
        Collected::Ok(_) if context.region.discovered.is_some() => Ok((Vec::new(), Vec::new())),
        Collected::Ok(_) => {
            let resource = context.vpc_label();
            Err(Box::new(context.fail(
                def,
                &resource,
                format!(
                    "no instance tagged Name={} was found in {}; expected the tutorial's bastion",
                    context.policy.bastion_name,
                    context.vpc_label()
                ),
            )))
        }
        other => Err(Box::new(
            context
                .missing(def, &context.policy.bastion_name, other)
                .unwrap_or_else(|| context.skip(def, "bastion", "no bastion")),
        )),
    }
}

/// Every security group in scope, with what it protects (for messages): the
/// bastions', the database's and the primary secrets' rotation functions'.
fn groups_in_scope(context: &Context<'_>) -> Vec<(String, String)> {
    let mut groups: Vec<(String, String)> = Vec::new();
    let mut add = |group: &str, of: String| match groups.iter_mut().find(|(g, _)| g == group) {
        Some((_, existing)) => {
            existing.push_str(", ");
            existing.push_str(&of);
        }
        None => groups.push((group.to_owned(), of)),
    };
    if let Collected::Ok(instances) = &context.region.bastions {
        for instance in instances {
            for group in &instance.security_group_ids {
                add(group, format!("bastion {}", instance.id));
            }
        }
    }
    if let Collected::Ok(Some(db)) = &context.region.database {
        for group in &db.security_group_ids {
            add(group, format!("database {}", db.id));
        }
    }
    for function in primary_functions(context) {
        if let Collected::Ok(Some(configuration)) = &function.configuration {
            for group in &configuration.security_group_ids {
                add(group, format!("rotation function {}", configuration.name));
            }
        }
    }
    groups
}

pub(super) fn rules_of<'a>(
    context: &Context<'a>,
    def: &CheckDefinition,
    resource: &str,
) -> Result<&'a [SecurityGroupRule], Box<Finding>> {
    match &context.region.security_group_rules {
        Collected::Ok(rules) => Ok(rules),
        other => Err(Box::new(
            context
                .missing(def, resource, other)
                .unwrap_or_else(|| context.skip(def, resource, "no rules")),
        )),
    }
}

/// The security groups in scope and the rules to judge them by.
pub(super) struct GroupsWithRules<'a> {
    /// Each group in scope with what it protects ([`groups_in_scope`]).
    pub groups: Vec<(String, String)>,
    /// The region's security group rules.
    pub rules: &'a [SecurityGroupRule],
}

/// The opening the security-group ingress checks (`ec2.ssh.restricted`,
/// `ec2.ingress.no-public`) share: every security group in scope, with what it
/// protects, and the region's rules to judge them by. `Ok(None)` when there is
/// nothing to judge (no group in scope); `Err` with the finding that says why
/// when the rules could not be read.
pub(super) fn groups_with_rules<'a>(
    context: &Context<'a>,
    def: &CheckDefinition,
) -> Result<Option<GroupsWithRules<'a>>, Box<Finding>> {
    let groups = groups_in_scope(context);
    if groups.is_empty() {
        return Ok(None);
    }
    let rules = rules_of(context, def, "security groups")?;
    Ok(Some(GroupsWithRules { groups, rules }))
}

/// The bastions' security groups for an ingress check that leaves a missing
/// bastion to `ec2.ssh.restricted` (`ec2.ingress.no-public`,
/// `rds.ingress.bastion-only`): none when no instance has the bastion's name
/// (that FAIL is `ec2.ssh.restricted`'s), the ERROR/SKIP finding when the
/// instances could not be read.
pub(super) fn bastion_groups_unless_unread(
    context: &Context<'_>,
    def: &CheckDefinition,
) -> Result<Vec<String>, Box<Finding>> {
    match bastion_groups(context, def) {
        Ok((_, groups)) => Ok(groups),
        Err(finding) if finding.status == Status::Fail => Ok(Vec::new()),
        Err(finding) => Err(finding),
    }
}

/// Whether an address range lies inside private address space: RFC 1918 and
/// the shared address space `100.64.0.0/10` (RFC 6598, "carrier-grade NAT", not
/// routed on the internet, and allowed as a VPC range: Amazon VPC User Guide,
/// "VPC CIDR blocks") for IPv4, unique local `fc00::/7` for IPv6. A range that
/// merely contains private space (`0.0.0.0/1`) is not private. Unparsable text
/// counts as public.
fn is_private(cidr: &str) -> bool {
    let (address, prefix) = match cidr.split_once('/') {
        Some((address, prefix)) => (address.trim(), prefix.trim().parse::<u8>().ok()),
        None => (cidr.trim(), None),
    };
    if let Ok(v4) = address.parse::<std::net::Ipv4Addr>() {
        let prefix = prefix.unwrap_or(32);
        let [a, b, ..] = v4.octets();
        return (prefix >= 8 && a == 10)
            || (prefix >= 12 && a == 172 && (b & 0xf0) == 16)
            || (prefix >= 16 && a == 192 && b == 168)
            || (prefix >= 10 && a == 100 && (b & 0xc0) == 64);
    }
    if let Ok(v6) = address.parse::<std::net::Ipv6Addr>() {
        let prefix = prefix.unwrap_or(128);
        return prefix >= 7 && (v6.segments()[0] & 0xfe00) == 0xfc00;
    }
    false
}

/// Whether a source counts as "the internet": a non-private range wider than the
/// policy's threshold (default: wider than /24 for IPv4, as Prowler's
/// `ec2_securitygroup_allow_wide_open_public_ipv4` uses `cidr_treshold = 24` with
/// `is_global`; /48 for IPv6). `0.0.0.0/1` plus `128.0.0.0/1` is the whole
/// internet, and each half is caught here, where a test for `/0` misses both.
pub(super) fn is_public_wide(context: &Context<'_>, source: &Source) -> bool {
    match source {
        Source::Cidr { cidr, prefix, v6 } => {
            let threshold = if *v6 {
                context.policy.public_min_prefix_v6
            } else {
                context.policy.public_min_prefix_v4
            };
            *prefix == 0
                || (*prefix < threshold && !is_private(cidr) && !is_within_vpc(context, cidr))
        }
        _ => false,
    }
}

/// Whether an IPv4 range lies within the audited VPC's range or one of its
/// subnets' (a VPC may use public address space as its own; its addresses are
/// then its instances', not the internet's).
fn is_within_vpc(context: &Context<'_>, cidr: &str) -> bool {
    let vpc = context
        .region
        .vpc
        .ok()
        .and_then(Option::as_ref)
        .and_then(|v| v.cidr_block.as_deref());
    let subnets = context
        .region
        .subnets
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|s| s.cidr_block.as_deref());
    vpc.into_iter()
        .chain(subnets)
        .any(|own| cidr_contains(own, cidr))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::inventory::{Collected, SecurityGroupRule};

    #[test]
    fn the_internet_is_any_public_range_wider_than_the_threshold() {
        use crate::finding::{Severity, Status};
        let cases: Vec<(&str, Vec<SecurityGroupRule>, Status, Option<Severity>)> = vec![
            (
                "the two halves of the internet",
                vec![
                    from_cidr(rule("r1", BASTION_SG, "tcp", 22, 22), "0.0.0.0/1"),
                    from_cidr(rule("r2", BASTION_SG, "tcp", 22, 22), "128.0.0.0/1"),
                ],
                Status::Fail,
                Some(Severity::Critical),
            ),
            (
                "a public /8",
                vec![from_cidr(
                    rule("r", BASTION_SG, "tcp", 22, 22),
                    "52.0.0.0/8",
                )],
                Status::Fail,
                Some(Severity::Critical),
            ),
            (
                "a private /8 is too wide but not the internet",
                vec![from_cidr(
                    rule("r", BASTION_SG, "tcp", 22, 22),
                    "10.0.0.0/8",
                )],
                Status::Fail,
                Some(Severity::High),
            ),
            (
                "a /1 containing private space is still public",
                vec![from_cidr(rule("r", BASTION_SG, "tcp", 22, 22), "0.0.0.0/1")],
                Status::Fail,
                Some(Severity::Critical),
            ),
        ];
        for (name, extra, status, severity) in cases {
            let region = with_rules(extra);
            let finding = of_group(region, "ec2.ssh.restricted", BASTION_SG);
            assert_eq!(finding.status, status, "{name}: {}", finding.message);
            assert_eq!(
                Some(finding.severity),
                severity,
                "{name}: {}",
                finding.message
            );
        }
        let public_rdp = with_rules(vec![from_cidr(
            rule("r-rdp", BASTION_SG, "tcp", 3389, 3389),
            "52.0.0.0/8",
        )]);
        let finding = of_group(public_rdp, "ec2.ingress.no-public", BASTION_SG);
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.message.contains("r-rdp"), "{}", finding.message);
        // A /8 is not unrestricted: neither EC2.18 nor EC2.19 fails on it.
        assert!(finding.compliance.is_empty(), "{:?}", finding.compliance);
        for (from, to, cidr, expected) in [
            (
                3389,
                3389,
                "0.0.0.0/0",
                &["AWS-FSBP:EC2.18", "AWS-FSBP:EC2.19"][..],
            ),
            (443, 443, "0.0.0.0/0", &[][..]),
            (8443, 8443, "0.0.0.0/0", &["AWS-FSBP:EC2.18"][..]),
        ] {
            let region = with_rules(vec![from_cidr(
                rule("r-open", BASTION_SG, "tcp", from, to),
                cidr,
            )]);
            let finding = of_group(region, "ec2.ingress.no-public", BASTION_SG);
            assert_eq!(finding.status, Status::Fail, "{from}: {}", finding.message);
            assert_eq!(finding.compliance, expected, "{from}");
        }
        // A VPC on public address space: its own range is not the internet.
        let mut own_public = with_rules(vec![from_cidr(
            rule("r-own", BASTION_SG, "tcp", 3389, 3389),
            "52.10.0.0/16",
        )]);
        if let Collected::Ok(Some(vpc)) = &mut own_public.vpc {
            vpc.cidr_block = Some("52.10.0.0/16".to_owned());
        }
        let finding = of_group(own_public, "ec2.ingress.no-public", BASTION_SG);
        assert_eq!(finding.status, Status::Pass, "{}", finding.message);
        let private_rdp = with_rules(vec![from_cidr(
            rule("r-rdp", BASTION_SG, "tcp", 3389, 3389),
            "172.16.0.0/12",
        )]);
        assert_eq!(
            of_group(private_rdp, "ec2.ingress.no-public", BASTION_SG).status,
            Status::Pass
        );
        for (cidr, private) in [
            ("10.1.0.0/16", true),
            ("172.31.0.0/16", true),
            ("172.32.0.0/16", false),
            ("192.168.1.0/24", true),
            ("100.64.0.0/10", true),
            ("100.100.0.0/16", true),
            ("100.128.0.0/16", false),
            ("100.0.0.0/8", false),
            ("0.0.0.0/1", false),
            ("8.0.0.0/7", false),
            ("fd00::/8", true),
            ("2001:db8::/32", false),
            ("garbage", false),
        ] {
            assert_eq!(super::is_private(cidr), private, "{cidr}");
        }
    }

    #[test]
    fn cidr_parsing_handles_bare_addresses_and_garbage() {
        assert!(matches!(
            super::cidr_source("10.0.0.1"),
            Some(super::Source::Cidr { prefix: 32, .. })
        ));
        assert!(matches!(
            super::cidr_source("::/0"),
            Some(super::Source::Cidr {
                prefix: 0,
                v6: true,
                ..
            })
        ));
        assert_eq!(super::cidr_source("10.0.0.0/33"), None);
        assert_eq!(super::cidr_source("10.0.0.0/x"), None);
    }
}
