//! `rds.ingress.bastion-only`: the database's groups admit its port only from
//! the bastions' and the rotation functions' groups, and the function can
//! reach it.
//!
//! Both ends count: a rule of the database's groups from each function's group,
//! the function's groups letting the port out to the database, and network
//! ACLs carrying it both ways between their subnets; otherwise every rotation
//! fails.

use std::collections::BTreeSet;

use super::context::Context;
use super::network::{
    Peer, Reach, Source, acl_faults, admits_tcp_port, bastion_groups, describe_ports,
    describe_source, primary_functions, reaches, rules_of, source_of,
};
use crate::finding::{CheckDefinition, Finding, Severity, Status};
use crate::inventory::Collected;

pub const DEFINITION: CheckDefinition = CheckDefinition {
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

#[allow(clippy::too_many_lines)] // one check: its conditions in the order its findings report them
pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
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
}
