//! Network checks: VPC DNS, interface endpoints, and security-group ingress.
//!
//! The ingress checks read `DescribeSecurityGroupRules` rows, one source each, and
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
//! or the database's group with SSH open is as exposed as the first. A rule from
//! another group passes only when that group is of this account and VPC, not
//! across a peering connection, and not itself open to the internet.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::context::Context;
use crate::finding::{CheckDefinition, Finding, Severity, Status};
use crate::inventory::{Collected, SecurityGroupRule};

pub const VPC_DNS: CheckDefinition = CheckDefinition {
    id: "vpc.dns",
    title: "VPC has DNS hostnames and DNS resolution enabled",
    severity: Severity::Medium,
    resource_type: "AwsEc2Vpc",
    remediation: "Enable both attributes: aws ec2 modify-vpc-attribute --vpc-id <vpc> --enable-dns-hostnames; aws ec2 modify-vpc-attribute --vpc-id <vpc> --enable-dns-support (private DNS of interface endpoints needs both)",
    compliance: &[],
    references: &["https://docs.aws.amazon.com/vpc/latest/userguide/vpc-dns.html"],
};

pub const VPC_ENDPOINT: CheckDefinition = CheckDefinition {
    id: "vpc.endpoint",
    title: "Interface VPC endpoint available with private DNS in every AZ used",
    severity: Severity::High,
    resource_type: "AwsEc2VpcEndpointService",
    remediation: "Create an interface endpoint for the service in the VPC with private DNS enabled and a subnet in every availability zone where the database or the rotation function has a subnet (aws ec2 create-vpc-endpoint --vpc-endpoint-type Interface --private-dns-enabled --subnet-ids ...)",
    // Not FSBP EC2.10: that control asks for the endpoint of the EC2 service
    // itself (`service-vpc-endpoint-enabled` with serviceName ec2; Security Hub
    // user guide, "Security Hub controls for Amazon EC2", [EC2.10]); this check is
    // the AWS Config rule `vpc-endpoint-enabled` for other services.
    compliance: &["AWS-Config:vpc-endpoint-enabled"],
    references: &[
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/vpc-endpoint-overview.html",
    ],
};

pub const ENDPOINT_POLICY: CheckDefinition = CheckDefinition {
    id: "vpc.endpoint-policy",
    title: "Endpoint policy keeps the trust boundary: no principal of another account",
    severity: Severity::Medium,
    resource_type: "AwsEc2VpcEndpointService",
    remediation: "Edit the endpoint policy (aws ec2 modify-vpc-endpoint --policy-document ...) so that its Allow statements name only this account's principals, or Principal \"*\" under the condition aws:PrincipalAccount = <this account>",
    compliance: &["Prowler:vpc_endpoint_connections_trust_boundaries"],
    references: &["https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html"],
};

pub const SSH_RESTRICTED: CheckDefinition = CheckDefinition {
    id: "ec2.ssh.restricted",
    title: "Security groups in scope admit SSH only from one address or a closed group of this VPC",
    severity: Severity::High,
    resource_type: "AwsEc2SecurityGroup",
    remediation: "On the bastions', database's and rotation function's security groups, replace every rule that admits TCP 22 (including protocol -1 and port ranges containing 22) with one rule from a single address (/32 or /128, e.g. your own IP) or a security group of the same VPC and account that is not open to the internet; revoke public ranges (0.0.0.0/0, ::/0, 0.0.0.0/1, any public range wider than /24)",
    compliance: &[
        "AWS-FSBP:EC2.13",
        "CIS-AWS-1.5-3.0:5.2",
        "CIS-AWS-1.5-3.0:5.3",
        "CIS-AWS-4.0.1-5.0:5.3",
        "CIS-AWS-4.0.1-5.0:5.4",
        "CIS-AWS-6.0-7.0:6.3",
        "CIS-AWS-6.0-7.0:6.4",
    ],
    references: &[
        "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-13",
    ],
};

pub const INGRESS_NO_PUBLIC: CheckDefinition = CheckDefinition {
    id: "ec2.ingress.no-public",
    title: "No other port of the bastions', database's or rotation function's groups is open to the internet",
    severity: Severity::High,
    resource_type: "AwsEc2SecurityGroup",
    remediation: "Revoke the ingress rules from public ranges wider than /24 (0.0.0.0/0, ::/0 and their halves included) on ports other than SSH; admit traffic only from the security groups or addresses that need it",
    // FSBP EC2.18 and EC2.19 judge only unrestricted sources (0.0.0.0/0, ::/0):
    // EC2.18 fails ports other than the authorised 80 and 443, EC2.19 the
    // high-risk ports (Security Hub user guide, "Security Hub controls for Amazon
    // EC2", [EC2.18] and [EC2.19]). This check is wider (any public range wider
    // than the threshold) and leaves SSH to `ec2.ssh.restricted`, so neither its
    // PASS nor every FAIL is theirs: a FAIL names them only when one of its rules
    // fails them too (`fsbp_controls`).
    compliance: &[],
    references: &[
        "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-18",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-19",
    ],
};

pub const RDS_INGRESS_BASTION_ONLY: CheckDefinition = CheckDefinition {
    id: "rds.ingress.bastion-only",
    title: "Database port admitted only from the bastion's and the rotation function's groups",
    severity: Severity::High,
    resource_type: "AwsRdsDbInstance",
    remediation: "On the database's security groups, admit the database port only from the bastion's security group and the rotation function's security group; revoke rules with CIDR or prefix-list sources and from other groups",
    compliance: &[],
    references: &[
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.RDSSecurityGroups.html",
    ],
};

/// A rule's source, as far as the checks care.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
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

fn source_of(rule: &SecurityGroupRule) -> Source {
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

fn is_all_protocols(rule: &SecurityGroupRule) -> bool {
    matches!(rule.ip_protocol.as_str(), "-1" | "all")
}

fn is_tcp(rule: &SecurityGroupRule) -> bool {
    matches!(rule.ip_protocol.to_ascii_lowercase().as_str(), "tcp" | "6")
}

fn is_udp(rule: &SecurityGroupRule) -> bool {
    matches!(rule.ip_protocol.to_ascii_lowercase().as_str(), "udp" | "17")
}

fn is_icmp(rule: &SecurityGroupRule) -> bool {
    matches!(
        rule.ip_protocol.to_ascii_lowercase().as_str(),
        "icmp" | "1" | "icmpv6" | "58"
    )
}

/// The port range of a TCP/UDP rule; absent or `-1` bounds mean every port.
fn port_range(rule: &SecurityGroupRule) -> (i32, i32) {
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
fn admits_other_than(rule: &SecurityGroupRule, port: u16) -> bool {
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

fn describe_ports(rule: &SecurityGroupRule) -> String {
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

fn describe_source(rule: &SecurityGroupRule) -> String {
    match source_of(rule) {
        Source::Cidr { cidr, .. } => cidr,
        Source::PrefixList(list) => format!("prefix list {list}"),
        Source::Group(group) => format!("security group {group}"),
        Source::Unknown => "an unrecognised source".to_owned(),
    }
}

/// The CIDRs of a rule's source: itself, or the prefix list's entries.
enum Cidrs {
    List(Vec<Source>),
    /// The prefix list's entries could not be read.
    Unavailable(String),
    /// A group reference.
    Group,
}

fn cidrs_of(context: &Context<'_>, rule: &SecurityGroupRule) -> Cidrs {
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

fn sg_arn(context: &Context<'_>, group: &str) -> String {
    context.arn("ec2", &format!("security-group/{group}"), group)
}

pub fn vpc_dns(context: &Context<'_>) -> Vec<Finding> {
    let def = &VPC_DNS;
    let vpc = match &context.region.vpc {
        Collected::Ok(Some(vpc)) => vpc,
        Collected::Ok(None) => {
            return vec![context.fail(
                def,
                &context.vpc_label(),
                format!(
                    "{} was not found; expected the tutorial's VPC",
                    context.vpc_label()
                ),
            )];
        }
        other => {
            return context
                .missing(def, &context.vpc_label(), other)
                .into_iter()
                .collect();
        }
    };
    let resource = context.arn("ec2", &format!("vpc/{}", vpc.id), &vpc.id);
    let mut off = Vec::new();
    for (label, value) in [
        ("DNS hostnames", &vpc.dns_hostnames),
        ("DNS resolution", &vpc.dns_support),
    ] {
        match value {
            Collected::Ok(true) => {}
            Collected::Ok(false) => off.push(label),
            other => return context.missing(def, &resource, other).into_iter().collect(),
        }
    }
    if off.is_empty() {
        vec![context.pass(
            def,
            &resource,
            format!(
                "VPC {} has DNS hostnames and DNS resolution enabled",
                vpc.id
            ),
        )]
    } else {
        vec![context.fail(
            def,
            &resource,
            format!(
                "VPC {} has {} disabled; expected DNS hostnames and DNS resolution enabled",
                vpc.id,
                off.join(" and ")
            ),
        )]
    }
}

/// Availability zones where the database or a primary secret's rotation function has a subnet.
fn required_zones(context: &Context<'_>) -> (BTreeSet<String>, Vec<String>) {
    let mut zones = BTreeSet::new();
    let mut unknown = Vec::new();
    if let Collected::Ok(Some(db)) = &context.region.database {
        zones.extend(
            db.subnets
                .iter()
                .map(|s| s.availability_zone.clone())
                .filter(|z| !z.is_empty()),
        );
    }
    let subnet_zones: BTreeMap<&str, &str> = context
        .region
        .subnets
        .ok()
        .map(|subnets| {
            subnets
                .iter()
                .map(|s| (s.id.as_str(), s.availability_zone.as_str()))
                .collect()
        })
        .unwrap_or_default();
    for function in primary_functions(context) {
        if let Collected::Ok(Some(configuration)) = &function.configuration {
            for subnet in &configuration.subnet_ids {
                match subnet_zones.get(subnet.as_str()) {
                    Some(zone) => {
                        zones.insert((*zone).to_owned());
                    }
                    None => unknown.push(subnet.clone()),
                }
            }
        }
    }
    (zones, unknown)
}

/// Rotation functions named by the primary (fully audited) secrets.
fn primary_functions<'a>(context: &Context<'a>) -> Vec<&'a crate::inventory::FunctionRecord> {
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

pub fn vpc_endpoints(context: &Context<'_>) -> Vec<Finding> {
    context
        .policy
        .required_endpoints
        .iter()
        .map(|service| vpc_endpoint(context, service))
        .collect()
}

/// `vpc.endpoint-policy.<service>`: like Prowler's
/// `vpc_endpoint_connections_trust_boundaries`, an `Allow` that names another
/// account's principal (or `*` pinned to another account) fails. AWS's default
/// policy (full access for `*`, no condition) passes with a note by default,
/// because the tutorial keeps it and only this VPC reaches the endpoint; the
/// policy setting `endpoint_policy_pin_account = true` fails it as Prowler does.
pub fn vpc_endpoint_policies(context: &Context<'_>) -> Vec<Finding> {
    let def = &ENDPOINT_POLICY;
    let mut findings = Vec::new();
    let Collected::Ok(endpoints) = &context.region.endpoints else {
        return findings; // vpc.endpoint.* reports why
    };
    for service in &context.policy.required_endpoints {
        let service_name = format!("com.amazonaws.{}.{service}", context.region.region);
        for endpoint in endpoints.iter().filter(|e| e.service_name == service_name) {
            let resource = context.arn(
                "ec2",
                &format!("vpc-endpoint/{}", endpoint.id),
                &endpoint.id,
            );
            let mut finding = match (&endpoint.policy_document, context.account_id) {
                (None, _) => context.pass(def, &resource, format!("endpoint {} for {service_name} reports no policy (full access within the VPC)", endpoint.id)),
                (Some(_), None) => context.finding(def, Status::Error, &resource, format!("endpoint {}: the audited account is unknown (sts:GetCallerIdentity failed), so its policy's trust boundary cannot be judged", endpoint.id)),
                (Some(document), Some(account)) => {
                    match endpoint_trust_faults(document, account, context.policy.endpoint_policy_pin_account) {
                        Ok(faults) if faults.is_empty() => {
                            let open = endpoint_trust_faults(document, account, true).is_ok_and(|f| !f.is_empty());
                            let note = if open { "; note: it lets Principal * in without pinning this account (AWS's default full-access policy; set endpoint_policy_pin_account = true to fail it)" } else { "" };
                            context.pass(def, &resource, format!("endpoint {} for {service_name}: its policy names no principal outside account {account}{note}", endpoint.id))
                        }
                        Ok(faults) => context.fail(def, &resource, format!("endpoint {} for {service_name}: {}; expected only principals of account {account}", endpoint.id, faults.join("; "))),
                        Err(fault) => context.fail(def, &resource, format!("endpoint {}: {fault}", endpoint.id)),
                    }
                }
            };
            finding.check_id = format!("{}.{service}", def.id);
            findings.push(finding);
        }
    }
    findings
}

/// Statements of an endpoint policy that cross the account's trust boundary.
pub(crate) fn endpoint_trust_faults(
    document: &str,
    account: &str,
    pin_account: bool,
) -> Result<Vec<String>, String> {
    let access = super::policy_document::resource_policy_access(document, account)?;
    let mut faults = access.faults;
    if pin_account {
        // Asked for this account only: an organisation's accounts are more.
        faults.extend(access.organisations);
    } else {
        // The unconditioned `*` (AWS's default) is allowed unless asked otherwise.
        faults.retain(|f| !f.ends_with("allows Principal * (public)"));
    }
    Ok(faults)
}

#[allow(clippy::too_many_lines)] // one check: its conditions in the order its findings report them
fn vpc_endpoint(context: &Context<'_>, service: &str) -> Finding {
    let def = &VPC_ENDPOINT;
    let service_name = format!("com.amazonaws.{}.{service}", context.region.region);
    let with_id = |mut finding: Finding| {
        finding.check_id = format!("{}.{service}", def.id);
        finding.title = format!(
            "Interface VPC endpoint for {service} available with private DNS in every AZ used"
        );
        finding
    };
    let vpc = match &context.region.vpc {
        Collected::Ok(Some(vpc)) => vpc,
        Collected::Ok(None) => {
            return with_id(context.fail(
                def,
                &service_name,
                format!(
                    "{} was not found, so no endpoint for {service_name} can be in it",
                    context.vpc_label()
                ),
            ));
        }
        other => {
            return with_id(
                context
                    .missing(def, &service_name, other)
                    .unwrap_or_else(|| context.skip(def, &service_name, "no VPC")),
            );
        }
    };
    let endpoints = match &context.region.endpoints {
        Collected::Ok(endpoints) => endpoints,
        other => {
            return with_id(
                context
                    .missing(def, &service_name, other)
                    .unwrap_or_else(|| context.skip(def, &service_name, "no endpoints")),
            );
        }
    };
    let candidates: Vec<_> = endpoints
        .iter()
        .filter(|e| e.service_name == service_name)
        .collect();
    if candidates.is_empty() {
        return with_id(context.fail(def, &service_name, format!("VPC {} has no endpoint for {service_name}; expected an available interface endpoint with private DNS", vpc.id)));
    }
    let (zones, unknown_subnets) = required_zones(context);
    let subnet_zones: BTreeMap<&str, &str> = match &context.region.subnets {
        Collected::Ok(subnets) => subnets
            .iter()
            .map(|s| (s.id.as_str(), s.availability_zone.as_str()))
            .collect(),
        other => {
            return with_id(
                context
                    .missing(def, &service_name, other)
                    .unwrap_or_else(|| context.skip(def, &service_name, "no subnets")),
            );
        }
    };
    let mut problems = Vec::new();
    for endpoint in &candidates {
        let mut faults = Vec::new();
        if !endpoint.endpoint_type.eq_ignore_ascii_case("interface") {
            faults.push(format!(
                "type {} (expected Interface)",
                endpoint.endpoint_type
            ));
        }
        if !endpoint.state.eq_ignore_ascii_case("available") {
            faults.push(format!("state {} (expected available)", endpoint.state));
        }
        if !endpoint.private_dns_enabled {
            faults.push("private DNS disabled (expected enabled)".to_owned());
        }
        let covered: BTreeSet<&str> = endpoint
            .subnet_ids
            .iter()
            .filter_map(|s| subnet_zones.get(s.as_str()).copied())
            .collect();
        let missing: Vec<&str> = zones
            .iter()
            .map(String::as_str)
            .filter(|z| !covered.contains(z))
            .collect();
        if !missing.is_empty() {
            faults.push(format!(
                "no subnet in {} (the database or rotation function uses it)",
                missing.join(", ")
            ));
        }
        match endpoint_usable(context, endpoint, service) {
            Ok(more) => faults.extend(more),
            Err(finding) => return with_id(*finding),
        }
        let resource = context.arn(
            "ec2",
            &format!("vpc-endpoint/{}", endpoint.id),
            &endpoint.id,
        );
        if faults.is_empty() {
            let zones_text = if zones.is_empty() {
                "no zones required".to_owned()
            } else {
                zones.iter().cloned().collect::<Vec<_>>().join(", ")
            };
            let mut message = format!(
                "endpoint {} for {service_name} in VPC {} is available with private DNS, covering {zones_text}",
                endpoint.id, vpc.id
            );
            if !unknown_subnets.is_empty() {
                let _ = write!(
                    message,
                    "; rotation function subnets not in this VPC: {}",
                    unknown_subnets.join(", ")
                );
            }
            return with_id(context.pass(def, &resource, message));
        }
        problems.push((
            resource,
            format!("endpoint {}: {}", endpoint.id, faults.join("; ")),
        ));
    }
    let resource = problems
        .first()
        .map_or_else(|| service_name.clone(), |(r, _)| r.clone());
    let details: Vec<String> = problems.into_iter().map(|(_, p)| p).collect();
    with_id(context.fail(
        def,
        &resource,
        format!("VPC {} has no compliant endpoint for {service_name}: {}; expected an available interface endpoint with private DNS in every AZ used", vpc.id, details.join(" | ")),
    ))
}

/// The Secrets Manager and RDS actions the rotation function calls through the
/// endpoint, from the rotator's list of its calls (`permissions::CALLS`): the
/// required ones of a setup like the tutorial's (an RDS-managed admin secret of a DB
/// instance). The optional `ListSecretVersionIds` is not required of the endpoint
/// policy either, nor the Aurora and host-based RDS lookups.
fn actions_needed(service: &str) -> Vec<&'static str> {
    use permissions::When;
    permissions::actions(|call| {
        call.service() == service
            && call.is_required()
            && match call.when {
                When::Always | When::AlternatingUsers | When::AdminFromRds => true,
                When::AdminCluster | When::ApplicationOnReplica | When::CustomerManagedKey => false,
            }
    })
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
enum Reach {
    Yes,
    No,
    /// Undecided for want of a read, named here.
    Unknown(String),
}

/// The other end of the traffic: its security groups and its subnets.
struct Peer<'a> {
    groups: &'a [String],
    subnets: &'a [String],
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
fn reaches(
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

/// Why the rotation function cannot use an endpoint that otherwise looks right:
/// the endpoint's groups admit no HTTPS from the function (its group or a range
/// covering its subnets), the function's groups let no HTTPS out to it, or the
/// endpoint policy does not allow (or denies) an action the rotation calls, or a
/// network ACL stops HTTPS between the function's subnets and the endpoint's.
/// Rotations then time out with nothing in the audit to explain it.
fn endpoint_usable(
    context: &Context<'_>,
    endpoint: &crate::inventory::VpcEndpoint,
    service: &str,
) -> Result<Vec<String>, Box<Finding>> {
    let mut faults = Vec::new();
    let mut undecided = Vec::new();
    let functions: Vec<_> = primary_functions(context)
        .into_iter()
        .filter_map(|f| match &f.configuration {
            Collected::Ok(Some(configuration)) if !configuration.security_group_ids.is_empty() => {
                Some(configuration)
            }
            _ => None,
        })
        .collect();
    if !functions.is_empty() {
        let rules = rules_of(context, &VPC_ENDPOINT, &endpoint.id)?;
        let endpoint_peer = Peer {
            groups: &endpoint.security_group_ids,
            subnets: &endpoint.subnet_ids,
        };
        for function in functions {
            let function_peer = Peer {
                groups: &function.security_group_ids,
                subnets: &function.subnet_ids,
            };
            let admitted = reaches(
                context,
                rules,
                &endpoint.security_group_ids,
                false,
                443,
                &function_peer,
            );
            if let Reach::Unknown(why) = &admitted {
                undecided.push(format!(
                    "whether its security groups admit HTTPS from rotation function {} is unknown without {why}",
                    function.name
                ));
            }
            if endpoint.security_group_ids.is_empty() || admitted == Reach::No {
                faults.push(format!(
                    "its security groups ({}) admit no HTTPS (TCP 443) from rotation function {} (groups {}, subnets {})",
                    if endpoint.security_group_ids.is_empty() { "none".to_owned() } else { endpoint.security_group_ids.join(", ") },
                    function.name,
                    function.security_group_ids.join(", "),
                    function.subnet_ids.join(", ")
                ));
            }
            let let_out = reaches(
                context,
                rules,
                &function.security_group_ids,
                true,
                443,
                &endpoint_peer,
            );
            if let Reach::Unknown(why) = &let_out {
                undecided.push(format!(
                    "whether rotation function {}'s groups let HTTPS out to it is unknown without {why}",
                    function.name
                ));
            }
            if let_out == Reach::No {
                faults.push(format!(
                    "rotation function {}'s groups ({}) let no HTTPS (TCP 443) out to it",
                    function.name,
                    function.security_group_ids.join(", ")
                ));
            }
        }
    }
    for function in primary_functions(context) {
        if let Collected::Ok(Some(configuration)) = &function.configuration {
            faults.extend(acl_faults(
                context,
                &VPC_ENDPOINT,
                &endpoint.id,
                &configuration.subnet_ids,
                &endpoint.subnet_ids,
                443,
            )?);
        }
    }
    if let Some(document) = &endpoint.policy_document {
        faults.extend(endpoint_policy_blocks(
            document,
            service,
            context.account_id,
        ));
    }
    if faults.is_empty() && !undecided.is_empty() {
        let resource = context.arn(
            "ec2",
            &format!("vpc-endpoint/{}", endpoint.id),
            &endpoint.id,
        );
        return Err(Box::new(context.finding(
            &VPC_ENDPOINT,
            Status::Error,
            &resource,
            format!(
                "endpoint {} for {service}: {}; grant the auditor the read it lacks and rerun",
                endpoint.id,
                undecided.join("; ")
            ),
        )));
    }
    faults.extend(undecided);
    Ok(faults)
}

/// Why the network ACLs stop TCP `port` from any of `clients` to any of `servers`
/// (every pair: a client may be given any of the server's addresses), and the
/// answers back; see [`super::nacl`]. Subnets whose range is unknown are not
/// judged. The finding to report instead when the ACLs could not be read.
fn acl_faults(
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

/// Actions the rotation needs that an endpoint policy does not allow, or denies
/// without a condition. An `Allow` counts when its principal is `*` or of this
/// account; conditions on an `Allow` are given the benefit of the doubt.
pub(crate) fn endpoint_policy_blocks(
    document: &str,
    service: &str,
    account: Option<&str>,
) -> Vec<String> {
    use super::policy_document::{action_matches, principals_of, strings};
    let Ok(statements) = super::policy_document::statements(document) else {
        return vec!["its endpoint policy is not JSON".to_owned()];
    };
    let statements: Vec<serde_json::Value> = statements.into_iter().map(|(_, s)| s).collect();
    let matches = |statement: &serde_json::Value, action: &str| {
        if let Some(not) = statement.get("NotAction") {
            !strings(not).iter().any(|p| action_matches(p, action))
        } else {
            strings(&statement["Action"])
                .iter()
                .any(|p| action_matches(p, action))
        }
    };
    let ours = |statement: &serde_json::Value| {
        statement.get("NotPrincipal").is_some()
            || principals_of(&statement["Principal"]).iter().any(|p| {
                p == "*"
                    || p == "AWS:*"
                    || account.is_some_and(|a| {
                        p.strip_prefix("AWS:")
                            .is_some_and(|v| v == a || v.split(':').nth(4) == Some(a))
                    })
            })
    };
    let mut faults = Vec::new();
    for action in actions_needed(service) {
        let denied = statements.iter().any(|s| {
            s["Effect"].as_str() == Some("Deny")
                && s.get("Condition").is_none()
                && ours(s)
                && matches(s, action)
        });
        let allowed = statements
            .iter()
            .any(|s| s["Effect"].as_str() == Some("Allow") && ours(s) && matches(s, action));
        if denied {
            faults.push(format!("its endpoint policy denies {action}"));
        } else if !allowed {
            faults.push(format!("its endpoint policy does not allow {action}"));
        }
    }
    faults
}

/// The bastions' security groups (every instance with the bastion's name), or
/// the finding that explains why there are none: FAIL when no instance has the
/// name (none for a discovered setup, which may have no bastion), ERROR/SKIP when
/// the instances could not be read.
fn bastion_groups(
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

fn rules_of<'a>(
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

/// Whether an address range lies inside private address space: RFC 1918 and
/// the shared address space `100.64.0.0/10` (RFC 6598, "carrier-grade NAT", not
/// routed on the internet, and allowed as a VPC range: Amazon VPC User Guide,
/// "VPC CIDR blocks") for IPv4, unique local `fc00::/7` for IPv6. A range that
/// merely contains private space (`0.0.0.0/1`) is not private. Unparsable text
/// counts as public.
pub(crate) fn is_private(cidr: &str) -> bool {
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
fn is_public_wide(context: &Context<'_>, source: &Source) -> bool {
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

/// Rules of `group` that admit anything from the internet, described.
fn open_rules_of_group(
    context: &Context<'_>,
    rules: &[SecurityGroupRule],
    group: &str,
) -> Vec<String> {
    rules
        .iter()
        .filter(|r| r.group_id == group && !r.is_egress)
        .filter(|r| match cidrs_of(context, r) {
            Cidrs::List(sources) => sources.iter().any(|s| is_public_wide(context, s)),
            _ => false,
        })
        .map(|r| {
            format!(
                "rule {} ({} from {})",
                r.id,
                describe_ports(r),
                describe_source(r)
            )
        })
        .collect()
}

/// What is wrong with admitting SSH from another security group: a group of
/// another account, across a peering connection or in another VPC, or a group
/// that is itself open to the internet. `None` when it is a group of the
/// audited VPC and account that the internet cannot reach.
fn referenced_group_fault(
    context: &Context<'_>,
    rules: &[SecurityGroupRule],
    rule: &SecurityGroupRule,
    group: &str,
) -> Option<String> {
    if let (Some(owner), Some(account)) = (&rule.referenced_group_owner, context.account_id)
        && owner != account
    {
        return Some(format!(
            "security group {group} belongs to account {owner}, not {account}"
        ));
    }
    if let Some(peering) = &rule.referenced_group_peering {
        return Some(format!(
            "security group {group} is across a VPC peering connection ({peering})"
        ));
    }
    let audited = context
        .region
        .vpc
        .ok()
        .and_then(Option::as_ref)
        .map(|v| v.id.as_str());
    if let (Some(vpc), Some(audited)) = (rule.referenced_group_vpc.as_deref(), audited)
        && vpc != audited
    {
        return Some(format!(
            "security group {group} is in {vpc}, not the audited {audited}"
        ));
    }
    let open = open_rules_of_group(context, rules, group);
    if open.is_empty() {
        None
    } else {
        Some(format!(
            "security group {group} is itself open to the internet ({}), so its members relay SSH from anywhere",
            open.join(", ")
        ))
    }
}

#[allow(clippy::too_many_lines)] // one check: its conditions in the order its findings report them
pub fn ssh_restricted(context: &Context<'_>) -> Vec<Finding> {
    let def = &SSH_RESTRICTED;
    let mut findings = Vec::new();
    if let Err(finding) = bastion_groups(context, def) {
        findings.push(*finding);
    }
    let groups = groups_in_scope(context);
    if groups.is_empty() {
        return findings;
    }
    let rules = match rules_of(context, def, "security groups") {
        Ok(rules) => rules,
        Err(finding) => {
            findings.push(*finding);
            return findings;
        }
    };
    let port = context.policy.ssh_port;
    let max_sources = context.policy.ssh_max_sources;
    for (group, of) in &groups {
        let resource = sg_arn(context, group);
        let mut world = Vec::new();
        let mut wide = Vec::new();
        let mut unavailable = Vec::new();
        let mut sources: BTreeSet<String> = BTreeSet::new();
        let mut admitted = 0;
        for rule in rules
            .iter()
            .filter(|r| &r.group_id == group && admits_tcp_port(r, port))
        {
            admitted += 1;
            let what = format!(
                "rule {} ({} from {})",
                rule.id,
                describe_ports(rule),
                describe_source(rule)
            );
            match cidrs_of(context, rule) {
                Cidrs::Group => {
                    let referenced = rule.referenced_group_id.clone().unwrap_or_default();
                    sources.insert(referenced.clone());
                    if let Some(fault) = referenced_group_fault(context, rules, rule, &referenced) {
                        wide.push(format!("{what}: {fault}"));
                    }
                }
                Cidrs::Unavailable(reason) => unavailable.push(format!("{what}: {reason}")),
                Cidrs::List(list) => {
                    for source in list {
                        match &source {
                            s if is_public_wide(context, s) => world.push(what.clone()),
                            Source::Cidr { cidr, prefix, v6 } => {
                                sources.insert(cidr.clone());
                                let min = if *v6 {
                                    context.policy.ssh_min_prefix_v6
                                } else {
                                    context.policy.ssh_min_prefix_v4
                                };
                                if *prefix < min {
                                    wide.push(format!("{what}: {cidr} is wider than /{min}"));
                                }
                            }
                            _ => wide.push(format!("{what}: source is not an address or group")),
                        }
                    }
                }
            }
        }
        world.dedup();
        if world.is_empty() && sources.len() > max_sources {
            wide.push(format!(
                "{} sources ({}), more than the {max_sources} allowed",
                sources.len(),
                sources.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        let expected = format!(
            "expected SSH (TCP {port}) only from at most {max_sources} source(s), each a single address (/{} IPv4, /{} IPv6) or a security group of this VPC and account that is not itself open",
            context.policy.ssh_min_prefix_v4, context.policy.ssh_min_prefix_v6
        );
        if !world.is_empty() || !wide.is_empty() {
            let mut parts = Vec::new();
            if !world.is_empty() {
                parts.push(format!(
                    "from the internet (public ranges wider than /{}): {}",
                    context.policy.public_min_prefix_v4,
                    world.join(", ")
                ));
            }
            if !wide.is_empty() {
                parts.push(format!("too wide: {}", wide.join("; ")));
            }
            let mut finding = context.fail(
                def,
                &resource,
                format!(
                    "security group {group} ({of}) admits SSH {}; {expected}",
                    parts.join("; ")
                ),
            );
            // The severity follows the real exposure, not the literal /0.
            finding.severity = if world.is_empty() {
                Severity::High
            } else {
                Severity::Critical
            };
            findings.push(finding);
        } else if !unavailable.is_empty() {
            findings.push(context.finding(
                def,
                Status::Error,
                &resource,
                format!("security group {group} ({of}): {}", unavailable.join("; ")),
            ));
        } else if admitted == 0 {
            findings.push(context.pass(
                def,
                &resource,
                format!("security group {group} ({of}) admits no SSH"),
            ));
        } else {
            findings.push(context.pass(
                def,
                &resource,
                format!("security group {group} ({of}): {admitted} rule(s) admit SSH from {} source(s) (at most {max_sources}), each a single address or a security group of this VPC and account"
                , sources.len()),
            ));
        }
    }
    findings
}

pub fn ingress_no_public(context: &Context<'_>) -> Vec<Finding> {
    let def = &INGRESS_NO_PUBLIC;
    let mut findings = Vec::new();
    match bastion_groups(context, def) {
        Err(finding) if finding.status != Status::Fail => findings.push(*finding),
        _ => {} // a missing bastion is ec2.ssh.restricted's finding
    }
    if let Some(finding) =
        context.missing(def, &context.scope.db_instance_id, &context.region.database)
    {
        findings.push(finding);
    }
    let groups = groups_in_scope(context);
    if groups.is_empty() {
        return findings;
    }
    let rules = match rules_of(context, def, "security groups") {
        Ok(rules) => rules,
        Err(finding) => {
            findings.push(*finding);
            return findings;
        }
    };
    let port = context.policy.ssh_port;
    let threshold = context.policy.public_min_prefix_v4;
    for (group, of) in &groups {
        let resource = sg_arn(context, group);
        let mut open = Vec::new();
        let mut controls = BTreeSet::new();
        let mut unavailable = Vec::new();
        for rule in rules
            .iter()
            .filter(|r| &r.group_id == group && admits_other_than(r, port))
        {
            match cidrs_of(context, rule) {
                Cidrs::Group => {}
                Cidrs::Unavailable(reason) => unavailable.push(reason),
                Cidrs::List(sources) => {
                    if sources
                        .iter()
                        .any(|s| matches!(s, Source::Cidr { prefix: 0, .. }))
                    {
                        controls.extend(fsbp_controls(rule));
                    }
                    if sources.iter().any(|s| is_public_wide(context, s)) {
                        open.push(format!(
                            "rule {} ({} from {})",
                            rule.id,
                            describe_ports(rule),
                            describe_source(rule)
                        ));
                    }
                }
            }
        }
        if !open.is_empty() {
            let mut finding = context.fail(
                def,
                &resource,
                format!("security group {group} ({of}) is open to the internet on {}; expected no port but SSH open to a public range wider than /{threshold} (IPv4) or /{} (IPv6)", open.join(", "), context.policy.public_min_prefix_v6),
            );
            finding.compliance = controls.into_iter().map(str::to_owned).collect();
            findings.push(finding);
        } else if !unavailable.is_empty() {
            findings.push(context.finding(
                def,
                Status::Error,
                &resource,
                format!("security group {group} ({of}): {}", unavailable.join("; ")),
            ));
        } else {
            findings.push(context.pass(
                def,
                &resource,
                format!("security group {group} ({of}) opens no port other than SSH to a public range wider than /{threshold} (IPv4) or /{} (IPv6)", context.policy.public_min_prefix_v6),
            ));
        }
    }
    findings
}

/// The ports FSBP EC2.19 calls high-risk (Security Hub user guide, "Security Hub
/// controls for Amazon EC2", [EC2.19]).
const HIGH_RISK_PORTS: &[i32] = &[
    20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500,
    5601, 8080, 8088, 8888, 9200, 9300,
];

/// The FSBP controls an ingress rule from 0.0.0.0/0 or ::/0 fails: EC2.18 when
/// it admits a port other than the default authorised TCP 80 and 443 (its
/// `authorizedTcpPorts` parameter; no UDP port is authorised), EC2.19 when it
/// admits a high-risk port.
fn fsbp_controls(rule: &SecurityGroupRule) -> Vec<&'static str> {
    let (from, to) = port_range(rule);
    let any_port = is_all_protocols(rule);
    let mut controls = Vec::new();
    let authorised = is_tcp(rule) && from == to && (from == 80 || from == 443);
    if !is_icmp(rule) && !authorised {
        controls.push("AWS-FSBP:EC2.18");
    }
    if any_port
        || ((is_tcp(rule) || is_udp(rule))
            && HIGH_RISK_PORTS.iter().any(|p| (from..=to).contains(p)))
    {
        controls.push("AWS-FSBP:EC2.19");
    }
    controls
}

#[allow(clippy::too_many_lines)] // one check: its conditions in the order its findings report them
pub fn rds_ingress_bastion_only(context: &Context<'_>) -> Vec<Finding> {
    let def = &RDS_INGRESS_BASTION_ONLY;
    let db = match &context.region.database {
        Collected::Ok(Some(db)) => db,
        Collected::Ok(None) => {
            return vec![context.fail(
                def,
                &context.scope.db_instance_id,
                format!(
                    "RDS instance {} was not found; expected the tutorial's database",
                    context.scope.db_instance_id
                ),
            )];
        }
        other => {
            return context
                .missing(def, &context.scope.db_instance_id, other)
                .into_iter()
                .collect();
        }
    };
    let mut allowed: BTreeSet<String> = BTreeSet::new();
    let bastion: Vec<String> = match bastion_groups(context, def) {
        Ok((_, groups)) => groups,
        Err(finding) if finding.status == Status::Fail => Vec::new(),
        Err(finding) => return vec![*finding],
    };
    allowed.extend(bastion.iter().cloned());
    let mut function_groups: Vec<(String, Vec<String>)> = Vec::new();
    for function in primary_functions(context) {
        match &function.configuration {
            Collected::Ok(Some(configuration)) => {
                allowed.extend(configuration.security_group_ids.iter().cloned());
                if !configuration.security_group_ids.is_empty() {
                    function_groups.push((
                        configuration.name.clone(),
                        configuration.security_group_ids.clone(),
                    ));
                }
            }
            Collected::Ok(None) => {}
            other => return context.missing(def, &db.arn, other).into_iter().collect(),
        }
    }
    let rules = match rules_of(context, def, &db.arn) {
        Ok(rules) => rules,
        Err(finding) => return vec![*finding],
    };
    let port = db.port.unwrap_or(3306);
    let mut offending = Vec::new();
    let mut admitted = 0;
    let mut from_bastion = false;
    let mut admitted_groups: BTreeSet<String> = BTreeSet::new();
    for rule in rules
        .iter()
        .filter(|r| db.security_group_ids.contains(&r.group_id) && admits_tcp_port(r, port))
    {
        admitted += 1;
        match source_of(rule) {
            Source::Group(group) if allowed.contains(&group) => {
                from_bastion |= bastion.contains(&group);
                admitted_groups.insert(group);
            }
            _ => offending.push(format!(
                "rule {} of {} ({} from {})",
                rule.id,
                rule.group_id,
                describe_ports(rule),
                describe_source(rule)
            )),
        }
    }
    let allowed_text = if allowed.is_empty() {
        "(none known)".to_owned()
    } else {
        allowed.iter().cloned().collect::<Vec<_>>().join(", ")
    };
    // The rotation function must reach the database too, or every rotation fails.
    let unreached: Vec<&str> = function_groups
        .iter()
        .filter(|(_, groups)| !groups.iter().any(|g| admitted_groups.contains(g)))
        .map(|(name, _)| name.as_str())
        .collect();
    // Security groups filter what leaves as well as what enters (VPC user guide,
    // "Security group rules": "Outbound rules control the outgoing traffic"): the
    // function's groups must let the database port out to the database.
    let db_subnets: Vec<String> = db.subnets.iter().map(|s| s.id.clone()).collect();
    let db_peer = Peer {
        groups: &db.security_group_ids,
        subnets: &db_subnets,
    };
    let mut kept_in = Vec::new();
    let mut egress_unknown = Vec::new();
    for (name, groups) in &function_groups {
        match reaches(context, rules, groups, true, port, &db_peer) {
            Reach::Yes => {}
            Reach::No => kept_in.push(format!("{name} (groups {})", groups.join(", "))),
            Reach::Unknown(why) => egress_unknown.push(format!(
                "whether the security groups of rotation function {name} ({}) let TCP {port} out to it is unknown without {why}",
                groups.join(", ")
            )),
        }
    }
    // The network ACLs between the function's subnets and the database's.
    let mut acl_blocked = Vec::new();
    for function in primary_functions(context) {
        if let Collected::Ok(Some(configuration)) = &function.configuration {
            match acl_faults(
                context,
                def,
                &db.arn,
                &configuration.subnet_ids,
                &db_subnets,
                port,
            ) {
                Ok(faults) => acl_blocked.extend(
                    faults
                        .into_iter()
                        .map(|f| format!("rotation function {}: {f}", configuration.name)),
                ),
                Err(finding) => return vec![*finding],
            }
        }
    }
    if offending.is_empty() && !acl_blocked.is_empty() {
        return vec![context.fail(
            def,
            &db.arn,
            format!(
                "database {} admits port {port} only from the expected groups, but {}; expected the network ACLs to let the rotation function reach port {port} and get the answers",
                db.id,
                acl_blocked.join("; ")
            ),
        )];
    }
    if offending.is_empty() && !kept_in.is_empty() {
        return vec![context.fail(
            def,
            &db.arn,
            format!(
                "database {} admits port {port} only from the expected groups, but the security groups of rotation function {} let no TCP {port} out to it, so rotations cannot reach it; expected an outbound rule to the database's group or a range covering its subnets",
                db.id,
                kept_in.join(", ")
            ),
        )];
    }
    if offending.is_empty() && !unreached.is_empty() {
        return vec![context.fail(
            def,
            &db.arn,
            format!(
                "database {} admits port {port} from no security group of rotation function {}, so rotations cannot reach it; expected a rule from the function's group",
                db.id,
                unreached.join(", ")
            ),
        )];
    }
    if offending.is_empty() && !bastion.is_empty() && !from_bastion {
        vec![context.fail(
            def,
            &db.arn,
            format!(
                "database {} admits port {port} from no security group of the bastion ({}), so the bastion cannot reach it; expected a rule from the bastion's group",
                db.id,
                bastion.join(", ")
            ),
        )]
    } else if offending.is_empty() && !egress_unknown.is_empty() {
        vec![context.finding(
            def,
            Status::Error,
            &db.arn,
            format!(
                "database {} admits port {port} only from the expected groups, but {}; grant the auditor the read it lacks and rerun",
                db.id,
                egress_unknown.join("; ")
            ),
        )]
    } else if offending.is_empty() {
        vec![context.pass(def, &db.arn, format!("database {} admits port {port} only from security groups {allowed_text} ({admitted} rule(s))", db.id))]
    } else {
        vec![context.fail(
            def,
            &db.arn,
            format!("database {} admits port {port} from {}; expected only the bastion's and rotation function's security groups ({allowed_text})", db.id, offending.join(", ")),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::inventory::{Collected, PrefixList, SecurityGroupRule};

    fn with_rules(extra: Vec<SecurityGroupRule>) -> crate::inventory::RegionInventory {
        let mut region = compliant_region();
        if let Collected::Ok(rules) = &mut region.security_group_rules {
            rules.extend(extra);
        }
        region
    }

    fn only(region: crate::inventory::RegionInventory, id: &str) -> crate::finding::Finding {
        let mut findings = findings_of(region, id);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        findings.remove(0)
    }

    /// The finding of `id` about security group `group`.
    fn of_group(
        region: crate::inventory::RegionInventory,
        id: &str,
        group: &str,
    ) -> crate::finding::Finding {
        let suffix = format!("security-group/{group}");
        findings_of(region, id)
            .into_iter()
            .find(|f| f.resource.ends_with(&suffix))
            .unwrap_or_else(|| panic!("no {id} finding for {group}"))
    }

    /// The one finding of `id` with `status`.
    fn with_status(
        region: crate::inventory::RegionInventory,
        id: &str,
        status: crate::finding::Status,
    ) -> crate::finding::Finding {
        let mut findings: Vec<_> = findings_of(region, id)
            .into_iter()
            .filter(|f| f.status == status)
            .collect();
        assert_eq!(findings.len(), 1, "{findings:#?}");
        findings.remove(0)
    }

    #[test]
    fn ssh_rules_are_judged_by_port_protocol_and_source() {
        use crate::finding::{Severity, Status};
        let cases: Vec<(&str, SecurityGroupRule, Status, Option<Severity>)> = vec![
            (
                "all traffic from the internet",
                from_cidr(rule("r", BASTION_SG, "-1", -1, -1), "0.0.0.0/0"),
                Status::Fail,
                Some(Severity::Critical),
            ),
            (
                "range 20-25 from the internet",
                from_cidr(rule("r", BASTION_SG, "tcp", 20, 25), "0.0.0.0/0"),
                Status::Fail,
                Some(Severity::Critical),
            ),
            (
                "IPv6 internet",
                from_cidr(rule("r", BASTION_SG, "tcp", 22, 22), "::/0"),
                Status::Fail,
                Some(Severity::Critical),
            ),
            (
                "a /24",
                from_cidr(rule("r", BASTION_SG, "tcp", 22, 22), "198.51.100.0/24"),
                Status::Fail,
                Some(Severity::High),
            ),
            (
                "an IPv6 /64",
                from_cidr(rule("r", BASTION_SG, "6", 22, 22), "2001:db8::/64"),
                Status::Fail,
                Some(Severity::High),
            ),
            (
                "protocol -1 from a /16",
                from_cidr(rule("r", BASTION_SG, "-1", -1, -1), "10.0.0.0/16"),
                Status::Fail,
                Some(Severity::High),
            ),
            (
                "an IPv6 single address",
                from_cidr(rule("r", BASTION_SG, "tcp", 22, 22), "2001:db8::1/128"),
                Status::Pass,
                None,
            ),
            (
                "a security group",
                from_group(rule("r", BASTION_SG, "tcp", 0, 65535), "sg-admins"),
                Status::Pass,
                None,
            ),
            (
                "range 20-21 from anywhere",
                from_cidr(rule("r", BASTION_SG, "tcp", 20, 21), "0.0.0.0/0"),
                Status::Pass,
                None,
            ),
            (
                "udp 22 from anywhere",
                from_cidr(rule("r", BASTION_SG, "udp", 22, 22), "0.0.0.0/0"),
                Status::Pass,
                None,
            ),
            (
                "egress to anywhere",
                from_cidr(
                    SecurityGroupRule {
                        is_egress: true,
                        ..rule("r", BASTION_SG, "tcp", 22, 22)
                    },
                    "0.0.0.0/0",
                ),
                Status::Pass,
                None,
            ),
            (
                "another group's rule",
                from_cidr(rule("r", "sg-other", "tcp", 22, 22), "0.0.0.0/0"),
                Status::Pass,
                None,
            ),
        ];
        for (name, extra, status, severity) in cases {
            // In place of the compliant rule: one source each (see ssh_max_sources).
            let mut region = with_rules(vec![extra]);
            if let Collected::Ok(rules) = &mut region.security_group_rules {
                rules.retain(|r| r.id != "sgr-ssh");
            }
            let finding = of_group(region, "ec2.ssh.restricted", BASTION_SG);
            assert_eq!(finding.status, status, "{name}: {}", finding.message);
            if let Some(severity) = severity {
                assert_eq!(finding.severity, severity, "{name}");
                assert!(
                    finding.message.contains(BASTION_SG) && finding.message.contains("rule r"),
                    "{name}: {}",
                    finding.message
                );
            }
            assert_eq!(
                finding.resource,
                format!("arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{BASTION_SG}")
            );
        }
    }

    #[test]
    fn ssh_from_a_prefix_list_is_judged_by_its_entries() {
        let rule = from_prefix_list(rule("r-pl", BASTION_SG, "tcp", 22, 22), "pl-1");
        let mut region = with_rules(vec![rule.clone()]);
        region.prefix_lists = vec![PrefixList {
            id: "pl-1".to_owned(),
            entries: Collected::Ok(vec!["198.51.100.7/32".to_owned()]),
        }];
        assert_eq!(
            of_group(region.clone(), "ec2.ssh.restricted", BASTION_SG).status,
            crate::finding::Status::Pass
        );
        region.prefix_lists[0].entries =
            Collected::Ok(vec!["198.51.100.7/32".to_owned(), "0.0.0.0/0".to_owned()]);
        let finding = of_group(region.clone(), "ec2.ssh.restricted", BASTION_SG);
        assert_eq!(finding.status, crate::finding::Status::Fail);
        assert!(
            finding.message.contains("prefix list pl-1"),
            "{}",
            finding.message
        );
        region.prefix_lists[0].entries =
            Collected::Failed(denied("ec2:GetManagedPrefixListEntries"));
        let finding = of_group(region.clone(), "ec2.ssh.restricted", BASTION_SG);
        assert_eq!(finding.status, crate::finding::Status::Error);
        assert!(
            finding.message.contains("ec2:GetManagedPrefixListEntries"),
            "{}",
            finding.message
        );
        region.prefix_lists.clear();
        assert_eq!(
            of_group(region, "ec2.ssh.restricted", BASTION_SG).status,
            crate::finding::Status::Error
        );
    }

    #[test]
    fn ssh_check_fails_without_a_bastion_and_errors_when_denied() {
        use crate::finding::Status;
        let mut region = compliant_region();
        region.bastions = Collected::Ok(Vec::new());
        let finding = with_status(region.clone(), "ec2.ssh.restricted", Status::Fail);
        assert!(finding.message.contains("SecretsManagerTutorialInstance"));
        region.bastions = Collected::Failed(denied("ec2:DescribeInstances"));
        let finding = with_status(region, "ec2.ssh.restricted", Status::Error);
        assert!(finding.message.contains("ec2:DescribeInstances"));
        let mut region = compliant_region();
        region.security_group_rules = Collected::Failed(denied("ec2:DescribeSecurityGroupRules"));
        let finding = only(region, "ec2.ssh.restricted");
        assert_eq!(finding.status, crate::finding::Status::Error);
        assert!(finding.message.contains("ec2:DescribeSecurityGroupRules"));
    }

    #[test]
    fn other_ports_open_to_the_internet_fail() {
        use crate::finding::Status;
        let cases = vec![
            (
                "https from anywhere on the bastion",
                from_cidr(rule("r", BASTION_SG, "tcp", 443, 443), "0.0.0.0/0"),
                Status::Fail,
            ),
            (
                "mysql from ::/0 on the database",
                from_cidr(rule("r", DB_SG, "tcp", 3306, 3306), "::/0"),
                Status::Fail,
            ),
            (
                "all traffic from anywhere",
                from_cidr(rule("r", BASTION_SG, "-1", -1, -1), "0.0.0.0/0"),
                Status::Fail,
            ),
            (
                "range 20-25",
                from_cidr(rule("r", BASTION_SG, "tcp", 20, 25), "0.0.0.0/0"),
                Status::Fail,
            ),
            (
                "udp from anywhere",
                from_cidr(rule("r", BASTION_SG, "udp", 53, 53), "0.0.0.0/0"),
                Status::Fail,
            ),
            (
                "ssh only from anywhere",
                from_cidr(rule("r", BASTION_SG, "tcp", 22, 22), "0.0.0.0/0"),
                Status::Pass,
            ),
            (
                "icmp from anywhere",
                from_cidr(rule("r", BASTION_SG, "icmp", 8, -1), "0.0.0.0/0"),
                Status::Pass,
            ),
            (
                "https from a /24",
                from_cidr(rule("r", BASTION_SG, "tcp", 443, 443), "198.51.100.0/24"),
                Status::Pass,
            ),
        ];
        for (name, extra, status) in cases {
            let findings = findings_of(with_rules(vec![extra]), "ec2.ingress.no-public");
            assert_eq!(findings.len(), 3, "{name}: one finding per group in scope");
            let worst = findings
                .iter()
                .map(|f| f.status)
                .find(|s| *s == Status::Fail)
                .unwrap_or(Status::Pass);
            assert_eq!(worst, status, "{name}: {findings:#?}");
        }
    }

    #[test]
    fn database_port_admitted_only_from_bastion_and_function_groups() {
        use crate::finding::Status;
        let cases = vec![
            (
                "a CIDR source",
                from_cidr(rule("r", DB_SG, "tcp", 3306, 3306), "10.0.0.0/16"),
                Status::Fail,
            ),
            (
                "another group",
                from_group(rule("r", DB_SG, "tcp", 3306, 3306), "sg-other"),
                Status::Fail,
            ),
            (
                "all traffic from a CIDR",
                from_cidr(rule("r", DB_SG, "-1", -1, -1), "10.0.1.5/32"),
                Status::Fail,
            ),
            (
                "a prefix list",
                from_prefix_list(rule("r", DB_SG, "tcp", 3000, 4000), "pl-1"),
                Status::Fail,
            ),
            (
                "another port from a CIDR",
                from_cidr(rule("r", DB_SG, "tcp", 5432, 5432), "10.0.0.0/16"),
                Status::Pass,
            ),
        ];
        for (name, extra, status) in cases {
            let finding = only(with_rules(vec![extra]), "rds.ingress.bastion-only");
            assert_eq!(finding.status, status, "{name}: {}", finding.message);
            assert_eq!(finding.resource, DB_ARN);
        }
        let mut region = compliant_region();
        region.database = Collected::Ok(None);
        assert_eq!(
            only(region, "rds.ingress.bastion-only").status,
            Status::Fail
        );
        let mut region = compliant_region();
        if let Collected::Ok(rules) = &mut region.security_group_rules {
            rules.retain(|r| r.id != "sgr-db-bastion");
        }
        let finding = only(region, "rds.ingress.bastion-only");
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("bastion cannot reach it"),
            "{}",
            finding.message
        );
        let mut region = compliant_region();
        if let Collected::Ok(rules) = &mut region.security_group_rules {
            rules.retain(|r| r.id != "sgr-db-lambda");
        }
        let finding = only(region, "rds.ingress.bastion-only");
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("rotations cannot reach it"),
            "{}",
            finding.message
        );
    }

    /// The function's own groups must let the database port out: found by the
    /// differential test (`cargo xtask fuzz audit`, operator
    /// function-egress-https-only), where the audit passed and the rotation failed.
    #[test]
    // one table of cases, each with its rules and reads; its row type beside it
    #[allow(clippy::too_many_lines, clippy::items_after_statements)]
    fn the_functions_groups_must_let_the_database_port_out() {
        use crate::finding::Status;
        use crate::inventory::RegionInventory;
        let egress = |id: &str, protocol: &str, from: i32, to: i32| SecurityGroupRule {
            is_egress: true,
            ..rule(id, LAMBDA_SG, protocol, from, to)
        };
        let port = |id: &str| egress(id, "tcp", 3306, 3306);
        let as_read = |_: &mut RegionInventory| {};
        let subnets_denied = |region: &mut RegionInventory| {
            region.subnets = Collected::Failed(denied("ec2:DescribeSubnets"));
        };
        // The database's subnets lie outside the VPC whose subnets were read.
        let subnets_elsewhere = |region: &mut RegionInventory| {
            if let Collected::Ok(subnets) = &mut region.subnets {
                subnets.retain(|s| s.id == "subnet-public-a");
            }
        };
        let list = |entries: Collected<Vec<String>>| {
            move |region: &mut RegionInventory| {
                region.prefix_lists = vec![PrefixList {
                    id: "pl-db".to_owned(),
                    entries: entries.clone(),
                }];
            }
        };
        let vpc_list = list(Collected::Ok(vec!["10.0.0.0/16".to_owned()]));
        let one_subnet_list = list(Collected::Ok(vec!["10.0.1.0/24".to_owned()]));
        let unread_list = list(Collected::Failed(denied("ec2:GetManagedPrefixListEntries")));
        // (name, the function group's egress rules instead of all traffic, the
        // reads, status, text)
        type Case<'a> = (
            &'a str,
            Vec<SecurityGroupRule>,
            &'a dyn Fn(&mut RegionInventory),
            Status,
            &'a str,
        );
        let cases: Vec<Case<'_>> = vec![
            (
                "no egress",
                vec![],
                &as_read,
                Status::Fail,
                "let no TCP 3306 out",
            ),
            (
                "HTTPS only",
                vec![from_cidr(egress("e", "tcp", 443, 443), "0.0.0.0/0")],
                &as_read,
                Status::Fail,
                "let no TCP 3306 out",
            ),
            (
                "the port to the database's group",
                vec![from_group(port("e"), DB_SG)],
                &as_read,
                Status::Pass,
                "only from security groups",
            ),
            (
                "the port to another group",
                vec![from_group(port("e"), BASTION_SG)],
                &as_read,
                Status::Fail,
                "let no TCP 3306 out",
            ),
            (
                "the port to the VPC's range",
                vec![from_cidr(port("e"), "10.0.0.0/16")],
                &as_read,
                Status::Pass,
                "only from security groups",
            ),
            (
                "the port to a range missing the database's subnets",
                vec![from_cidr(port("e"), "192.168.0.0/24")],
                &as_read,
                Status::Fail,
                "let no TCP 3306 out",
            ),
            (
                "one rule per database subnet",
                vec![
                    from_cidr(port("e1"), "10.0.1.0/24"),
                    from_cidr(port("e2"), "10.0.2.0/24"),
                ],
                &as_read,
                Status::Pass,
                "only from security groups",
            ),
            (
                "a rule for one database subnet only",
                vec![from_cidr(port("e1"), "10.0.1.0/24")],
                &as_read,
                Status::Fail,
                "let no TCP 3306 out",
            ),
            (
                "a port range holding it",
                vec![from_cidr(egress("e", "tcp", 3000, 4000), "0.0.0.0/0")],
                &as_read,
                Status::Pass,
                "only from security groups",
            ),
            (
                "another port",
                vec![from_cidr(egress("e", "tcp", 5432, 5432), "0.0.0.0/0")],
                &as_read,
                Status::Fail,
                "let no TCP 3306 out",
            ),
            (
                "all traffic to the database's group",
                vec![from_group(egress("e", "-1", -1, -1), DB_SG)],
                &as_read,
                Status::Pass,
                "only from security groups",
            ),
            (
                "all traffic anywhere, the subnets unread",
                vec![from_cidr(egress("e", "-1", -1, -1), "0.0.0.0/0")],
                &subnets_denied,
                Status::Pass,
                "only from security groups",
            ),
            (
                "the VPC's range, the subnets unread",
                vec![from_cidr(port("e"), "10.0.0.0/16")],
                &subnets_denied,
                Status::Error,
                "unknown without the ranges of subnets subnet-private-a, subnet-private-b (access denied to ec2:DescribeSubnets",
            ),
            (
                "the VPC's range, the database's subnets outside the collected VPC",
                vec![from_cidr(port("e"), "10.0.0.0/16")],
                &subnets_elsewhere,
                Status::Error,
                "not among the subnets ec2:DescribeSubnets returned",
            ),
            (
                "no egress, the subnets unread: nothing could let it out",
                vec![],
                &subnets_denied,
                Status::Fail,
                "let no TCP 3306 out",
            ),
            (
                "a prefix list holding the VPC's range",
                vec![from_prefix_list(port("e"), "pl-db")],
                &vpc_list,
                Status::Pass,
                "only from security groups",
            ),
            (
                "a prefix list for one subnet, a range for the other",
                vec![
                    from_prefix_list(port("e1"), "pl-db"),
                    from_cidr(port("e2"), "10.0.2.0/24"),
                ],
                &one_subnet_list,
                Status::Pass,
                "only from security groups",
            ),
            (
                "a prefix list for one subnet only",
                vec![from_prefix_list(port("e1"), "pl-db")],
                &one_subnet_list,
                Status::Fail,
                "let no TCP 3306 out",
            ),
            (
                "a prefix list the audit could not read",
                vec![from_prefix_list(port("e"), "pl-db")],
                &unread_list,
                Status::Error,
                "unknown without the entries of prefix list pl-db: access denied to ec2:GetManagedPrefixListEntries",
            ),
        ];
        for (name, rules, reads, status, text) in cases {
            let mut region = compliant_region();
            if let Collected::Ok(all) = &mut region.security_group_rules {
                all.retain(|r| r.id != "sgr-lambda-egress");
                all.extend(rules);
            }
            reads(&mut region);
            let finding = only(region, "rds.ingress.bastion-only");
            assert_eq!(finding.status, status, "{name}: {}", finding.message);
            assert!(
                finding.message.contains(text),
                "{name}: {}",
                finding.message
            );
        }
    }

    #[test]
    fn dns_attributes_must_both_be_on() {
        use crate::finding::Status;
        let mut region = compliant_region();
        if let Collected::Ok(Some(vpc)) = &mut region.vpc {
            vpc.dns_hostnames = Collected::Ok(false);
        }
        let finding = only(region.clone(), "vpc.dns");
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("DNS hostnames disabled") && finding.message.contains(VPC)
        );
        if let Collected::Ok(Some(vpc)) = &mut region.vpc {
            vpc.dns_support = Collected::Failed(denied("ec2:DescribeVpcAttribute"));
            vpc.dns_hostnames = Collected::Ok(true);
        }
        let finding = only(region.clone(), "vpc.dns");
        assert_eq!(finding.status, Status::Error);
        assert!(finding.message.contains("ec2:DescribeVpcAttribute"));
        region.vpc = Collected::Ok(None);
        let finding = only(region, "vpc.dns");
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.message.contains("SecretsManagerTutorial-vpc"));
    }

    #[test]
    fn endpoints_need_interface_availability_private_dns_and_every_zone() {
        use crate::finding::Status;
        let break_endpoint = |change: &dyn Fn(&mut crate::inventory::VpcEndpoint)| {
            let mut region = compliant_region();
            if let Collected::Ok(endpoints) = &mut region.endpoints {
                change(&mut endpoints[0]);
            }
            only(region, "vpc.endpoint.secretsmanager")
        };
        assert_eq!(break_endpoint(&|_| {}).status, Status::Pass);
        let finding = break_endpoint(&|e| e.private_dns_enabled = false);
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("private DNS disabled")
                && finding.message.contains("vpce-secretsmanager"),
            "{}",
            finding.message
        );
        let finding = break_endpoint(&|e| e.subnet_ids = vec!["subnet-private-a".to_owned()]);
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("us-east-1b"),
            "{}",
            finding.message
        );
        assert_eq!(
            break_endpoint(&|e| e.state = "pending".to_owned()).status,
            Status::Fail
        );
        assert_eq!(
            break_endpoint(&|e| e.endpoint_type = "Gateway".to_owned()).status,
            Status::Fail
        );
        let finding =
            break_endpoint(&|e| e.service_name = "com.amazonaws.us-east-1.kms".to_owned());
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding
                .message
                .contains("has no endpoint for com.amazonaws.us-east-1.secretsmanager")
        );

        let mut region = compliant_region();
        region.endpoints = Collected::Failed(denied("ec2:DescribeVpcEndpoints"));
        let findings = findings_of(region, "vpc.endpoint.rds");
        assert_eq!(findings[0].status, Status::Error);
        assert!(findings[0].message.contains("ec2:DescribeVpcEndpoints"));
    }

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
    fn ssh_from_a_group_passes_only_for_a_closed_group_of_this_vpc_and_account() {
        use crate::finding::{Severity, Status};
        let admins = || from_group(rule("r-admins", BASTION_SG, "tcp", 22, 22), "sg-admins");
        let cases: Vec<(&str, Vec<SecurityGroupRule>, Status, &str)> = vec![
            ("a closed group of this VPC", vec![], Status::Pass, ""),
            (
                "a group of another account",
                vec![SecurityGroupRule {
                    referenced_group_owner: Some("999999999999".to_owned()),
                    ..admins()
                }],
                Status::Fail,
                "belongs to account 999999999999",
            ),
            (
                "a group across a peering connection",
                vec![SecurityGroupRule {
                    referenced_group_peering: Some("active".to_owned()),
                    referenced_group_vpc: Some("vpc-peer".to_owned()),
                    ..admins()
                }],
                Status::Fail,
                "peering",
            ),
            (
                "a group that is itself open to the internet",
                vec![from_cidr(
                    rule("r-open", "sg-admins", "tcp", 443, 443),
                    "0.0.0.0/0",
                )],
                Status::Fail,
                "itself open to the internet",
            ),
        ];
        for (name, extra, status, text) in cases {
            let mut region = compliant_region();
            if let Collected::Ok(rules) = &mut region.security_group_rules {
                rules.retain(|r| r.id != "sgr-ssh");
                rules.push(admins());
                // A replacement of the group rule, when the case gives one.
                if let Some(replacement) = extra.iter().find(|r| r.id == "r-admins") {
                    rules.retain(|r| r.id != "r-admins");
                    rules.push(replacement.clone());
                }
                rules.extend(extra.into_iter().filter(|r| r.id != "r-admins"));
            }
            let finding = of_group(region, "ec2.ssh.restricted", BASTION_SG);
            assert_eq!(finding.status, status, "{name}: {}", finding.message);
            assert!(
                finding.message.contains(text),
                "{name}: {}",
                finding.message
            );
            if status == Status::Fail {
                assert_eq!(finding.severity, Severity::High, "{name}");
            }
        }
        // Two single addresses are two sources; the policy allows one.
        let region = with_rules(vec![from_cidr(
            rule("r-second", BASTION_SG, "tcp", 22, 22),
            "198.51.100.8/32",
        )]);
        let finding = of_group(region.clone(), "ec2.ssh.restricted", BASTION_SG);
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.message.contains("2 sources"), "{}", finding.message);
        let policy = crate::policy::Policy {
            ssh_max_sources: 2,
            ..crate::policy::Policy::default()
        };
        let findings = crate::checks::evaluate(&inventory_of(region), &policy);
        assert!(
            findings
                .iter()
                .filter(|f| f.check_id == "ec2.ssh.restricted")
                .all(|f| f.status == Status::Pass),
            "{findings:#?}"
        );
    }

    #[test]
    fn every_bastion_and_every_group_in_scope_is_checked() {
        use crate::finding::Status;
        // A second instance with the bastion's name, in a group with SSH from anywhere.
        let mut region = with_rules(vec![from_cidr(
            rule("r-any", "sg-second", "tcp", 22, 22),
            "0.0.0.0/0",
        )]);
        if let Collected::Ok(bastions) = &mut region.bastions {
            bastions.push(bastion("i-second", "sg-second"));
        }
        let finding = of_group(region, "ec2.ssh.restricted", "sg-second");
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("bastion i-second"),
            "{}",
            finding.message
        );
        // SSH on the database's and the function's groups is judged too.
        for group in [DB_SG, LAMBDA_SG] {
            let region = with_rules(vec![from_cidr(
                rule("r-any", group, "tcp", 22, 22),
                "0.0.0.0/0",
            )]);
            let finding = of_group(region.clone(), "ec2.ssh.restricted", group);
            assert_eq!(finding.status, Status::Fail, "{group}: {}", finding.message);
            let region = with_rules(vec![from_cidr(
                rule("r-any", group, "tcp", 8080, 8080),
                "0.0.0.0/0",
            )]);
            assert_eq!(
                of_group(region, "ec2.ingress.no-public", group).status,
                Status::Fail,
                "{group}"
            );
        }
    }

    /// The function's way out to an endpoint, judged like its way to the
    /// database: by prefix lists too, one range per subnet, ERROR when a read is
    /// missing.
    #[test]
    #[allow(clippy::type_complexity)] // the table's row, written where it is read
    fn the_functions_https_out_to_an_endpoint_is_judged_by_every_kind_of_peer() {
        use crate::finding::Status;
        use crate::inventory::RegionInventory;
        let https = |id: &str| SecurityGroupRule {
            is_egress: true,
            ..rule(id, LAMBDA_SG, "tcp", 443, 443)
        };
        let list = |entries: Collected<Vec<String>>| {
            vec![PrefixList {
                id: "pl-e".to_owned(),
                entries,
            }]
        };
        // (name, the function group's egress rules, its prefix lists, the
        // status, text)
        let cases: Vec<(&str, Vec<SecurityGroupRule>, Vec<PrefixList>, Status, &str)> = vec![
            (
                "a prefix list holding the endpoint's subnets",
                vec![from_prefix_list(https("e"), "pl-e")],
                list(Collected::Ok(vec!["10.0.0.0/16".to_owned()])),
                Status::Pass,
                "available with private DNS",
            ),
            (
                "a prefix list holding another range",
                vec![from_prefix_list(https("e"), "pl-e")],
                list(Collected::Ok(vec!["192.168.0.0/16".to_owned()])),
                Status::Fail,
                "let no HTTPS (TCP 443) out",
            ),
            (
                "a prefix list the audit could not read",
                vec![from_prefix_list(https("e"), "pl-e")],
                list(Collected::Failed(denied("ec2:GetManagedPrefixListEntries"))),
                Status::Error,
                "unknown without the entries of prefix list pl-e",
            ),
            (
                "one range per endpoint subnet",
                vec![
                    from_cidr(https("e1"), "10.0.1.0/24"),
                    from_cidr(https("e2"), "10.0.2.0/24"),
                ],
                Vec::new(),
                Status::Pass,
                "available with private DNS",
            ),
        ];
        for (name, egress, lists, status, text) in cases {
            let mut region: RegionInventory = compliant_region();
            if let Collected::Ok(rules) = &mut region.security_group_rules {
                rules.retain(|r| r.id != "sgr-lambda-egress");
                rules.extend(egress);
                // The endpoint admits the function by its group, whatever the ranges.
                rules.retain(|r| r.id != "sgr-endpoints");
                rules.push(from_group(
                    rule("sgr-e", ENDPOINT_SG, "tcp", 443, 443),
                    LAMBDA_SG,
                ));
            }
            region.prefix_lists = lists;
            let finding = only(region, "vpc.endpoint.secretsmanager");
            assert_eq!(finding.status, status, "{name}: {}", finding.message);
            assert!(
                finding.message.contains(text),
                "{name}: {}",
                finding.message
            );
        }
    }

    #[test]
    fn an_endpoint_the_function_cannot_use_fails() {
        use crate::finding::Status;
        let with = |change: &dyn Fn(&mut crate::inventory::RegionInventory)| {
            let mut region = compliant_region();
            change(&mut region);
            only(region, "vpc.endpoint.secretsmanager")
        };
        assert_eq!(with(&|_| {}).status, Status::Pass);
        // The endpoint's group admits 443 only from elsewhere.
        let finding = with(&|r| {
            if let Collected::Ok(rules) = &mut r.security_group_rules {
                rules.retain(|rule| rule.id != "sgr-endpoints");
                rules.push(from_cidr(
                    rule("sgr-e", ENDPOINT_SG, "tcp", 443, 443),
                    "10.0.0.0/24",
                ));
            }
        });
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("admit no HTTPS"),
            "{}",
            finding.message
        );
        // From the function's group passes.
        let finding = with(&|r| {
            if let Collected::Ok(rules) = &mut r.security_group_rules {
                rules.retain(|rule| rule.id != "sgr-endpoints");
                rules.push(from_group(
                    rule("sgr-e", ENDPOINT_SG, "tcp", 443, 443),
                    LAMBDA_SG,
                ));
            }
        });
        assert_eq!(finding.status, Status::Pass, "{}", finding.message);
        // The function's group lets nothing out.
        let finding = with(&|r| {
            if let Collected::Ok(rules) = &mut r.security_group_rules {
                rules.retain(|rule| rule.id != "sgr-lambda-egress");
            }
        });
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("let no HTTPS"),
            "{}",
            finding.message
        );
        // A policy that denies Secrets Manager.
        let finding = with(&|r| {
            if let Collected::Ok(endpoints) = &mut r.endpoints {
                endpoints[0].policy_document = Some(
                    serde_json::json!({"Statement": [
                        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
                        {"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*"}
                    ]})
                    .to_string(),
                );
            }
        });
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding
                .message
                .contains("denies secretsmanager:GetSecretValue"),
            "{}",
            finding.message
        );
        let finding = with(&|r| {
            if let Collected::Ok(endpoints) = &mut r.endpoints {
                endpoints[0].policy_document = Some(
                    serde_json::json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}})
                        .to_string(),
                );
            }
        });
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding
                .message
                .contains("does not allow secretsmanager:PutSecretValue"),
            "{}",
            finding.message
        );
        assert!(super::cidr_contains("10.0.0.0/16", "10.0.2.0/24"));
        assert!(!super::cidr_contains("10.0.0.0/24", "10.0.2.0/24"));
        assert!(super::cidr_contains("0.0.0.0/0", "10.0.2.0/24"));
        assert!(!super::cidr_contains("10.0.2.0/24", "10.0.0.0/16"));
    }

    #[test]
    fn endpoint_policies_keep_the_trust_boundary() {
        use crate::finding::Status;
        let with_policy = |document: String, pin: bool| {
            let mut region = compliant_region();
            if let Collected::Ok(endpoints) = &mut region.endpoints {
                endpoints[0].policy_document = Some(document);
            }
            let policy = crate::policy::Policy {
                endpoint_policy_pin_account: pin,
                ..crate::policy::Policy::default()
            };
            crate::checks::evaluate(&inventory_of(region), &policy)
                .into_iter()
                .find(|f| f.check_id == "vpc.endpoint-policy.secretsmanager")
                .expect("finding")
        };
        assert_eq!(
            with_policy(full_access_policy(), false).status,
            Status::Pass
        );
        assert_eq!(with_policy(full_access_policy(), true).status, Status::Fail);
        let foreign = serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "*", "Resource": "*"}]}).to_string();
        let finding = with_policy(foreign, false);
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("999999999999"),
            "{}",
            finding.message
        );
        let pinned = serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}}]}).to_string();
        assert_eq!(with_policy(pinned, true).status, Status::Pass);
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
