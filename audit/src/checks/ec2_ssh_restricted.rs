//! `ec2.ssh.restricted`: every security group in scope (the bastions', the
//! database's, the rotation functions') admits SSH only from a few single
//! addresses or closed groups of this VPC and account (FSBP EC2.13).
//!
//! A second bastion, or the database's group with SSH open, is as exposed as
//! the first bastion, so every group is judged; a FAIL is CRITICAL when the
//! internet (see [`super::network`]) is let in, HIGH when a source is only too
//! wide or too many. A rule from another group passes only when that group is of
//! this account and VPC, not across a peering connection, and not itself open to
//! the internet.

use std::collections::BTreeSet;

use super::context::Context;
use super::network::{
    Cidrs, GroupsWithRules, Source, admits_tcp_port, bastion_groups, cidrs_of, describe_ports,
    describe_source, groups_with_rules, is_public_wide, sg_arn,
};
use crate::finding::{CheckDefinition, Finding, Severity, Status};
use crate::inventory::SecurityGroupRule;

pub const DEFINITION: CheckDefinition = CheckDefinition {
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

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    let mut findings = Vec::new();
    if let Err(finding) = bastion_groups(context, def) {
        findings.push(*finding);
    }
    let (groups, rules) = match groups_with_rules(context, def) {
        Ok(Some(GroupsWithRules { groups, rules })) => (groups, rules),
        Ok(None) => return findings,
        Err(finding) => {
            findings.push(*finding);
            return findings;
        }
    };
    for (group, of) in &groups {
        let admitting = ssh_admitted(context, rules, group);
        findings.push(verdict(context, group, of, admitting));
    }
    findings
}

/// What a security group's rules admit SSH from, sorted by what it means for
/// the verdict.
#[derive(Default)]
struct SshAdmitted {
    /// Rules open to the internet.
    world: Vec<String>,
    /// Rules from a source too wide, or from a group that may not be trusted.
    wide: Vec<String>,
    /// Rules whose sources could not be read, with why.
    unavailable: Vec<String>,
    /// Every address range and group SSH is admitted from.
    sources: BTreeSet<String>,
    /// How many rules admit SSH.
    rules: usize,
}

/// Sorts the rules of `group` that admit SSH by their sources.
fn ssh_admitted(context: &Context<'_>, rules: &[SecurityGroupRule], group: &str) -> SshAdmitted {
    let port = context.policy.ssh_port;
    let mut admitted = SshAdmitted::default();
    for rule in rules
        .iter()
        .filter(|r| r.group_id == group && admits_tcp_port(r, port))
    {
        admitted.rules += 1;
        let what = format!(
            "rule {} ({} from {})",
            rule.id,
            describe_ports(rule),
            describe_source(rule)
        );
        match cidrs_of(context, rule) {
            Cidrs::Group => {
                let referenced = rule.referenced_group_id.clone().unwrap_or_default();
                admitted.sources.insert(referenced.clone());
                if let Some(fault) = referenced_group_fault(context, rules, rule, &referenced) {
                    admitted.wide.push(format!("{what}: {fault}"));
                }
            }
            Cidrs::Unavailable(reason) => admitted.unavailable.push(format!("{what}: {reason}")),
            Cidrs::List(list) => {
                for source in list {
                    match &source {
                        s if is_public_wide(context, s) => admitted.world.push(what.clone()),
                        Source::Cidr { cidr, prefix, v6 } => {
                            admitted.sources.insert(cidr.clone());
                            let min = if *v6 {
                                context.policy.ssh_min_prefix_v6
                            } else {
                                context.policy.ssh_min_prefix_v4
                            };
                            if *prefix < min {
                                admitted
                                    .wide
                                    .push(format!("{what}: {cidr} is wider than /{min}"));
                            }
                        }
                        _ => admitted
                            .wide
                            .push(format!("{what}: source is not an address or group")),
                    }
                }
            }
        }
    }
    admitted
}

/// The finding for `group` (protecting `of`) from what it admits SSH from.
fn verdict(context: &Context<'_>, group: &str, of: &str, admitting: SshAdmitted) -> Finding {
    let def = &DEFINITION;
    let port = context.policy.ssh_port;
    let max_sources = context.policy.ssh_max_sources;
    let resource = sg_arn(context, group);
    let SshAdmitted {
        mut world,
        mut wide,
        unavailable,
        sources,
        rules: admitting_rules,
    } = admitting;
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
        finding
    } else if !unavailable.is_empty() {
        context.finding(
            def,
            Status::Error,
            &resource,
            format!("security group {group} ({of}): {}", unavailable.join("; ")),
        )
    } else if admitting_rules == 0 {
        context.pass(
            def,
            &resource,
            format!("security group {group} ({of}) admits no SSH"),
        )
    } else {
        context.pass(
            def,
            &resource,
            format!("security group {group} ({of}): {admitting_rules} rule(s) admit SSH from {} source(s) (at most {max_sources}), each a single address or a security group of this VPC and account"
            , sources.len()),
        )
    }
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::inventory::{Collected, PrefixList, SecurityGroupRule};

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
}
