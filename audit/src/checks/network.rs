//! Network checks: VPC DNS, interface endpoints, and security-group ingress.
//!
//! The ingress checks read `DescribeSecurityGroupRules` rows, one source each, and
//! get right what common tools miss: protocol `-1` (all traffic) and port ranges
//! that contain the port, IPv6 `::/0`, prefix lists (resolved to their CIDRs),
//! rules that reference another group, and CIDRs wider than one address that are
//! still not the whole internet.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::{CheckDefinition, Context, Finding, Severity, Status};
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
    compliance: &["AWS-FSBP:EC2.10 (vpc-endpoint-enabled pattern)"],
    references: &[
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/vpc-endpoint-overview.html",
    ],
};

pub const SSH_RESTRICTED: CheckDefinition = CheckDefinition {
    id: "ec2.ssh.restricted",
    title: "Bastion admits SSH only from single addresses or security groups",
    severity: Severity::High,
    resource_type: "AwsEc2SecurityGroup",
    remediation: "Replace every rule that admits TCP 22 (including protocol -1 and port ranges containing 22) with a rule from a single address (/32 or /128, e.g. your own IP) or a security group; revoke 0.0.0.0/0 and ::/0",
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
    title: "No other port of the bastion or database is open to the internet",
    severity: Severity::High,
    resource_type: "AwsEc2SecurityGroup",
    remediation: "Revoke the ingress rules from 0.0.0.0/0 or ::/0 on ports other than SSH; admit traffic only from the security groups or addresses that need it",
    compliance: &["AWS-FSBP:EC2.18", "AWS-FSBP:EC2.19"],
    references: &[
        "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-18",
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
fn admits_tcp_port(rule: &SecurityGroupRule, port: u16) -> bool {
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

fn is_world(source: &Source) -> bool {
    matches!(source, Source::Cidr { prefix: 0, .. })
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

/// The bastion's security groups, or the finding that explains why there are none.
fn bastion_groups(
    context: &Context<'_>,
    def: &CheckDefinition,
) -> Result<(String, Vec<String>), Box<Finding>> {
    match &context.region.bastion {
        Collected::Ok(Some(instance)) => {
            Ok((instance.id.clone(), instance.security_group_ids.clone()))
        }
        Collected::Ok(None) => {
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

pub fn ssh_restricted(context: &Context<'_>) -> Vec<Finding> {
    let def = &SSH_RESTRICTED;
    let (instance, groups) = match bastion_groups(context, def) {
        Ok(found) => found,
        Err(finding) => return vec![*finding],
    };
    let rules = match rules_of(context, def, &instance) {
        Ok(rules) => rules,
        Err(finding) => return vec![*finding],
    };
    let port = context.policy.ssh_port;
    let mut findings = Vec::new();
    for group in &groups {
        let resource = sg_arn(context, group);
        let mut world = Vec::new();
        let mut wide = Vec::new();
        let mut unavailable = Vec::new();
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
                Cidrs::Group => {}
                Cidrs::Unavailable(reason) => unavailable.push(format!("{what}: {reason}")),
                Cidrs::List(sources) => {
                    for source in sources {
                        match &source {
                            s if is_world(s) => world.push(what.clone()),
                            Source::Cidr { cidr, prefix, v6 } => {
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
        let expected = format!(
            "expected SSH (TCP {port}) only from single addresses (/{} IPv4, /{} IPv6) or security groups",
            context.policy.ssh_min_prefix_v4, context.policy.ssh_min_prefix_v6
        );
        if !world.is_empty() || !wide.is_empty() {
            let mut parts = Vec::new();
            if !world.is_empty() {
                parts.push(format!("open to the internet: {}", world.join(", ")));
            }
            if !wide.is_empty() {
                parts.push(format!("too wide: {}", wide.join(", ")));
            }
            let mut finding = context.fail(
                def,
                &resource,
                format!(
                    "security group {group} of bastion {instance} admits SSH {}; {expected}",
                    parts.join("; ")
                ),
            );
            finding.severity = if world.is_empty() {
                Severity::High
            } else {
                Severity::Critical
            };
            findings.push(finding);
        } else if !unavailable.is_empty() {
            let mut finding = context.finding(
                def,
                Status::Error,
                &resource,
                format!("security group {group}: {}", unavailable.join("; ")),
            );
            finding.severity = def.severity;
            findings.push(finding);
        } else {
            findings.push(context.pass(
                def,
                &resource,
                format!("security group {group} of bastion {instance}: {admitted} rule(s) admit SSH, all from single addresses or security groups"),
            ));
        }
    }
    if groups.is_empty() {
        findings.push(context.pass(
            def,
            &instance,
            format!("bastion {instance} has no security group, so nothing admits SSH"),
        ));
    }
    findings
}

/// Groups of the database, when known.
fn database_groups(context: &Context<'_>) -> Vec<String> {
    match &context.region.database {
        Collected::Ok(Some(db)) => db.security_group_ids.clone(),
        _ => Vec::new(),
    }
}

pub fn ingress_no_public(context: &Context<'_>) -> Vec<Finding> {
    let def = &INGRESS_NO_PUBLIC;
    let mut groups: Vec<String> = Vec::new();
    let mut findings = Vec::new();
    match bastion_groups(context, def) {
        Ok((_, bastion)) => groups.extend(bastion),
        Err(finding) if finding.status != Status::Fail => findings.push(*finding),
        Err(_) => {} // a missing bastion is ec2.ssh.restricted's finding
    }
    if let Some(finding) =
        context.missing(def, &context.scope.db_instance_id, &context.region.database)
    {
        findings.push(finding);
    }
    for group in database_groups(context) {
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
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
    for group in &groups {
        let resource = sg_arn(context, group);
        let mut open = Vec::new();
        let mut unavailable = Vec::new();
        for rule in rules
            .iter()
            .filter(|r| &r.group_id == group && admits_other_than(r, port))
        {
            match cidrs_of(context, rule) {
                Cidrs::Group => {}
                Cidrs::Unavailable(reason) => unavailable.push(reason),
                Cidrs::List(sources) => {
                    if sources.iter().any(is_world) {
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
            findings.push(context.fail(
                def,
                &resource,
                format!("security group {group} is open to the internet on {}; expected no port but SSH open to 0.0.0.0/0 or ::/0", open.join(", ")),
            ));
        } else if !unavailable.is_empty() {
            findings.push(context.finding(
                def,
                Status::Error,
                &resource,
                format!("security group {group}: {}", unavailable.join("; ")),
            ));
        } else {
            findings.push(context.pass(
                def,
                &resource,
                format!("security group {group} opens no port other than SSH to the internet"),
            ));
        }
    }
    findings
}

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
    for function in primary_functions(context) {
        match &function.configuration {
            Collected::Ok(Some(configuration)) => {
                allowed.extend(configuration.security_group_ids.iter().cloned());
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
    for rule in rules
        .iter()
        .filter(|r| db.security_group_ids.contains(&r.group_id) && admits_tcp_port(r, port))
    {
        admitted += 1;
        match source_of(rule) {
            Source::Group(group) if allowed.contains(&group) => {
                from_bastion |= bastion.contains(&group);
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

    fn only(region: crate::inventory::RegionInventory, id: &str) -> crate::checks::Finding {
        let mut findings = findings_of(region, id);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        findings.remove(0)
    }

    #[test]
    fn ssh_rules_are_judged_by_port_protocol_and_source() {
        use crate::checks::{Severity, Status};
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
            let finding = only(with_rules(vec![extra]), "ec2.ssh.restricted");
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
            only(region.clone(), "ec2.ssh.restricted").status,
            crate::checks::Status::Pass
        );
        region.prefix_lists[0].entries =
            Collected::Ok(vec!["198.51.100.7/32".to_owned(), "0.0.0.0/0".to_owned()]);
        let finding = only(region.clone(), "ec2.ssh.restricted");
        assert_eq!(finding.status, crate::checks::Status::Fail);
        assert!(
            finding.message.contains("prefix list pl-1"),
            "{}",
            finding.message
        );
        region.prefix_lists[0].entries =
            Collected::Failed(denied("ec2:GetManagedPrefixListEntries"));
        let finding = only(region.clone(), "ec2.ssh.restricted");
        assert_eq!(finding.status, crate::checks::Status::Error);
        assert!(
            finding.message.contains("ec2:GetManagedPrefixListEntries"),
            "{}",
            finding.message
        );
        region.prefix_lists.clear();
        assert_eq!(
            only(region, "ec2.ssh.restricted").status,
            crate::checks::Status::Error
        );
    }

    #[test]
    fn ssh_check_fails_without_a_bastion_and_errors_when_denied() {
        let mut region = compliant_region();
        region.bastion = Collected::Ok(None);
        let finding = only(region.clone(), "ec2.ssh.restricted");
        assert_eq!(finding.status, crate::checks::Status::Fail);
        assert!(finding.message.contains("SecretsManagerTutorialInstance"));
        region.bastion = Collected::Failed(denied("ec2:DescribeInstances"));
        let finding = only(region, "ec2.ssh.restricted");
        assert_eq!(finding.status, crate::checks::Status::Error);
        assert!(finding.message.contains("ec2:DescribeInstances"));
        let mut region = compliant_region();
        region.security_group_rules = Collected::Failed(denied("ec2:DescribeSecurityGroupRules"));
        let finding = only(region, "ec2.ssh.restricted");
        assert_eq!(finding.status, crate::checks::Status::Error);
        assert!(finding.message.contains("ec2:DescribeSecurityGroupRules"));
    }

    #[test]
    fn other_ports_open_to_the_internet_fail() {
        use crate::checks::Status;
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
            assert_eq!(findings.len(), 2, "{name}: one finding per group");
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
        use crate::checks::Status;
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
    }

    #[test]
    fn dns_attributes_must_both_be_on() {
        use crate::checks::Status;
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
        use crate::checks::Status;
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
