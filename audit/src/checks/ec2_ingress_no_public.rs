//! `ec2.ingress.no-public`: no port but SSH of a security group in scope is open
//! to the internet (SSH is `ec2.ssh.restricted`'s).
//!
//! "The internet" is any public range wider than the policy's threshold (see
//! [`super::network`]); a FAIL names FSBP EC2.18 or EC2.19 only when one of its
//! rules fails them too.

use std::collections::BTreeSet;

use super::context::Context;
use super::network::{
    Cidrs, GroupsWithRules, Source, admits_other_than, bastion_groups_unless_unread, cidrs_of,
    describe_ports, describe_source, groups_with_rules, is_all_protocols, is_icmp, is_public_wide,
    is_tcp, is_udp, port_range, sg_arn,
};
use crate::finding::{CheckDefinition, Finding, Severity, Status};
use crate::inventory::SecurityGroupRule;

pub const DEFINITION: CheckDefinition = CheckDefinition {
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

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    let mut findings = Vec::new();
    if let Err(finding) = bastion_groups_unless_unread(context, def) {
        findings.push(*finding);
    }
    if let Some(finding) =
        context.missing(def, &context.scope.db_instance_id, &context.region.database)
    {
        findings.push(finding);
    }
    let (groups, rules) = match groups_with_rules(context, def) {
        Ok(Some(GroupsWithRules { groups, rules })) => (groups, rules),
        Ok(None) => return findings,
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;

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
}
