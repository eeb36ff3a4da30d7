//! `rds.ingress.bastion-only`: the database's groups admit its port only from
//! the bastions' and the rotation functions' groups, and the function can
//! reach it.
//!
//! Both ends count: a rule of the database's groups from each function's group,
//! the function's groups letting the port out to the database, and network
//! ACLs carrying it both ways between their subnets; otherwise every rotation
//! fails.
//!
//! What was read decides first. A rule whose source is not a security group (a
//! CIDR, a prefix list, or a source the audit does not recognise) is refused by
//! this check whatever the bastion's and the function's groups are: its verdict
//! reads only the rule, the database's groups and its port, and as security
//! group rules only allow (one rule admitting the port lets it in whatever the
//! others say: VPC user guide, "Security group rules",
//! https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html),
//! no other rule can undo it. A rule judged offending from what was read (such
//! a rule whatever else is unread; a rule from another group once the bastion's
//! and the function's groups are known, as the verdict on ingress never depends
//! on the network ACLs) is a FAIL naming it, with the unread input as a note
//! ("also not read: ..."). So is any other FAIL that does not depend on the
//! unread network ACLs. Only when the verdict hangs on the unread input (rules
//! from groups, the way out, the ACLs) is it an ERROR.

use std::collections::BTreeSet;

use super::context::{Context, unread_input};
use super::network::{
    Peer, Reach, Source, acl_faults, admits_tcp_port, bastion_groups_unless_unread, describe_ports,
    describe_source, primary_functions, reaches, rules_of, source_of,
};
use super::rds::database;
use crate::finding::{CheckDefinition, Finding, Severity, Status};
use crate::inventory::{Collected, DbInstance, SecurityGroupRule};

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

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    let db = match database(context, def) {
        Ok(db) => db,
        Err(finding) => return vec![*finding],
    };
    let allowed = allowed_groups(context, db);
    let rules = match rules_of(context, def, &db.arn) {
        Ok(rules) => rules,
        // Without the rules nothing is proven; the groups' finding comes first, as it always did.
        Err(finding) => return vec![*allowed.err().unwrap_or(finding)],
    };
    let port = db.port.unwrap_or(3306);
    let allowed = match allowed {
        Ok(allowed) => allowed,
        Err(finding) => {
            let ingress = judge_ingress(db, rules, None, port);
            let note = format!(
                "{}, so rules from other security groups were not judged",
                allowed_unread(context)
            );
            return vec![
                exposure(context, db, port, &ingress.offending, None, &[note]).unwrap_or(*finding),
            ];
        }
    };
    let ingress = judge_ingress(db, rules, Some(&allowed), port);
    // The rotation function must reach the database too, or every rotation fails.
    let unreached: Vec<&str> = allowed
        .function_groups
        .iter()
        .filter(|(_, groups)| !groups.iter().any(|g| ingress.groups.contains(g)))
        .map(|(name, _)| name.as_str())
        .collect();
    let egress = judge_egress(context, rules, db, &allowed.function_groups, port);
    let (acl_blocked, acl_finding) = match acl_blocked(context, db, port) {
        Ok(blocked) => (blocked, None),
        Err(finding) => (Vec::new(), Some(finding)),
    };
    let finding = verdict(
        context,
        db,
        port,
        &Reachability {
            allowed: &allowed,
            ingress,
            unreached,
            egress,
            acl_blocked,
        },
    );
    match acl_finding {
        None => vec![finding],
        // A FAIL judged without the ACLs stands whatever they say (ACLs only
        // take away); anything else hangs on them.
        Some(_) if finding.status == Status::Fail => {
            let mut finding = finding;
            let note = match unread_input(&context.region.network_acls, "ec2:DescribeNetworkAcls")
                .or_else(|| unread_input(&context.region.subnets, "ec2:DescribeSubnets"))
            {
                Some(unread) => format!("; also not read: {unread}"),
                None => {
                    "; also not judged: the network ACLs (a subnet's range is unknown)".to_owned()
                }
            };
            finding.message.push_str(&note);
            vec![finding]
        }
        Some(acl) => vec![*acl],
    }
}

/// What kept the bastion's and the rotation function's groups unknown, for a note.
fn allowed_unread(context: &Context<'_>) -> String {
    if let Some(unread) = unread_input(&context.region.bastions, "ec2:DescribeInstances") {
        return format!("also not read: the bastion's instances, {unread}");
    }
    let mut unread: Vec<String> = primary_functions(context)
        .into_iter()
        .filter_map(|f| unread_input(&f.configuration, "lambda:GetFunctionConfiguration"))
        .collect();
    unread.sort();
    unread.dedup();
    format!(
        "also not read: the rotation function's configuration, {}",
        unread.join(", ")
    )
}

/// The groups the database's port may be admitted from.
struct Allowed {
    /// The bastions' and the rotation functions' groups.
    groups: BTreeSet<String>,
    /// The bastions' groups (none when there is no bastion).
    bastion: Vec<String>,
    /// Each rotation function with security groups: its name and its groups.
    function_groups: Vec<(String, Vec<String>)>,
}

/// The bastions' and the rotation functions' groups, or the finding that says
/// why they could not be read.
fn allowed_groups(context: &Context<'_>, db: &DbInstance) -> Result<Allowed, Box<Finding>> {
    let def = &DEFINITION;
    let bastion = bastion_groups_unless_unread(context, def)?;
    let mut groups: BTreeSet<String> = bastion.iter().cloned().collect();
    let mut function_groups: Vec<(String, Vec<String>)> = Vec::new();
    for function in primary_functions(context) {
        match &function.configuration {
            Collected::Ok(Some(configuration)) => {
                groups.extend(configuration.security_group_ids.iter().cloned());
                if !configuration.security_group_ids.is_empty() {
                    function_groups.push((
                        configuration.name.clone(),
                        configuration.security_group_ids.clone(),
                    ));
                }
            }
            Collected::Ok(None) => {}
            other => {
                if let Some(finding) = context.missing(def, &db.arn, other) {
                    return Err(Box::new(finding));
                }
            }
        }
    }
    Ok(Allowed {
        groups,
        bastion,
        function_groups,
    })
}

/// What the database's groups admit its port from.
struct Ingress {
    /// Rules from a source that is not an allowed group, described.
    offending: Vec<String>,
    /// How many rules admit the port.
    rules: usize,
    /// Whether a rule admits it from a bastion's group.
    from_bastion: bool,
    /// The allowed groups it is admitted from.
    groups: BTreeSet<String>,
}

/// Sorts the rules of the database's groups that admit `port` by their sources.
/// A source that is not a group offends whatever `allowed` is; one from a group
/// offends when it is not an allowed one, and is left unjudged (neither
/// offending nor counted) when the allowed groups are unknown (`None`).
fn judge_ingress(
    db: &DbInstance,
    rules: &[SecurityGroupRule],
    allowed: Option<&Allowed>,
    port: u16,
) -> Ingress {
    let mut ingress = Ingress {
        offending: Vec::new(),
        rules: 0,
        from_bastion: false,
        groups: BTreeSet::new(),
    };
    for rule in rules
        .iter()
        .filter(|r| db.security_group_ids.contains(&r.group_id) && admits_tcp_port(r, port))
    {
        ingress.rules += 1;
        match (source_of(rule), allowed) {
            (Source::Group(_), None) => {}
            (Source::Group(group), Some(allowed)) if allowed.groups.contains(&group) => {
                ingress.from_bastion |= allowed.bastion.contains(&group);
                ingress.groups.insert(group);
            }
            _ => ingress.offending.push(format!(
                "rule {} of {} ({} from {})",
                rule.id,
                rule.group_id,
                describe_ports(rule),
                describe_source(rule)
            )),
        }
    }
    ingress
}

/// Whether the rotation functions' groups let the port out to the database.
struct Egress {
    /// Functions whose groups let no TCP `port` out to it, described.
    kept_in: Vec<String>,
    /// Functions for which that is unknown, with the read it needs.
    unknown: Vec<String>,
    /// The same, short, as notes to a FAIL that does not hang on them.
    notes: Vec<String>,
}

/// Security groups filter what leaves as well as what enters (VPC user guide,
/// "Security group rules": "Outbound rules control the outgoing traffic"): the
/// function's groups must let the database port out to the database.
fn judge_egress(
    context: &Context<'_>,
    rules: &[SecurityGroupRule],
    db: &DbInstance,
    function_groups: &[(String, Vec<String>)],
    port: u16,
) -> Egress {
    let db_subnets: Vec<String> = db.subnets.iter().map(|s| s.id.clone()).collect();
    let db_peer = Peer {
        groups: &db.security_group_ids,
        subnets: &db_subnets,
    };
    let mut egress = Egress {
        kept_in: Vec::new(),
        unknown: Vec::new(),
        notes: Vec::new(),
    };
    for (name, groups) in function_groups {
        match reaches(context, rules, groups, true, port, &db_peer) {
            Reach::Yes => {}
            Reach::No => egress
                .kept_in
                .push(format!("{name} (groups {})", groups.join(", "))),
            Reach::Unknown(why) => {
                egress.unknown.push(format!(
                    "whether the security groups of rotation function {name} ({}) let TCP {port} out to it is unknown without {why}",
                    groups.join(", ")
                ));
                let mut unread: Vec<String> = context
                    .region
                    .prefix_lists
                    .iter()
                    .filter_map(|l| unread_input(&l.entries, "ec2:GetManagedPrefixListEntries"))
                    .chain(unread_input(&context.region.subnets, "ec2:DescribeSubnets"))
                    .collect();
                unread.sort();
                unread.dedup();
                egress.notes.push(if unread.is_empty() {
                    format!("also not known: whether the security groups of rotation function {name} let TCP {port} out to it")
                } else {
                    format!(
                        "also not known: whether the security groups of rotation function {name} let TCP {port} out to it (not read: {})",
                        unread.join(", ")
                    )
                });
            }
        }
    }
    egress
}

/// What the network ACLs between the functions' subnets and the database's
/// block, or the finding that says why they could not be judged.
fn acl_blocked(
    context: &Context<'_>,
    db: &DbInstance,
    port: u16,
) -> Result<Vec<String>, Box<Finding>> {
    let db_subnets: Vec<String> = db.subnets.iter().map(|s| s.id.clone()).collect();
    let mut blocked = Vec::new();
    for function in primary_functions(context) {
        if let Collected::Ok(Some(configuration)) = &function.configuration {
            let faults = acl_faults(
                context,
                &DEFINITION,
                &db.arn,
                &configuration.subnet_ids,
                &db_subnets,
                port,
            )?;
            blocked.extend(
                faults
                    .into_iter()
                    .map(|f| format!("rotation function {}: {f}", configuration.name)),
            );
        }
    }
    Ok(blocked)
}

/// Everything the verdict weighs.
struct Reachability<'a> {
    allowed: &'a Allowed,
    ingress: Ingress,
    /// Rotation functions that no rule of the database's groups admits.
    unreached: Vec<&'a str>,
    egress: Egress,
    acl_blocked: Vec<String>,
}

/// The one finding: a FAIL for a source not allowed, then for what keeps a
/// rotation function or the bastion from the database; an ERROR when the way
/// out is unknown; else a PASS.
fn verdict(context: &Context<'_>, db: &DbInstance, port: u16, reach: &Reachability<'_>) -> Finding {
    let def = &DEFINITION;
    let Reachability {
        allowed,
        ingress,
        unreached,
        egress,
        acl_blocked,
    } = reach;
    if let Some(finding) = exposure(
        context,
        db,
        port,
        &ingress.offending,
        Some(allowed),
        &egress.notes,
    ) {
        return finding;
    }
    if !acl_blocked.is_empty() {
        return context.fail(
            def,
            &db.arn,
            format!(
                "database {} admits port {port} only from the expected groups, but {}; expected the network ACLs to let the rotation function reach port {port} and get the answers",
                db.id,
                acl_blocked.join("; ")
            ),
        );
    }
    if !egress.kept_in.is_empty() {
        return context.fail(
            def,
            &db.arn,
            format!(
                "database {} admits port {port} only from the expected groups, but the security groups of rotation function {} let no TCP {port} out to it, so rotations cannot reach it; expected an outbound rule to the database's group or a range covering its subnets",
                db.id,
                egress.kept_in.join(", ")
            ),
        );
    }
    if !unreached.is_empty() {
        return context.fail(
            def,
            &db.arn,
            format!(
                "database {} admits port {port} from no security group of rotation function {}, so rotations cannot reach it; expected a rule from the function's group",
                db.id,
                unreached.join(", ")
            ),
        );
    }
    if !allowed.bastion.is_empty() && !ingress.from_bastion {
        context.fail(
            def,
            &db.arn,
            format!(
                "database {} admits port {port} from no security group of the bastion ({}), so the bastion cannot reach it; expected a rule from the bastion's group",
                db.id,
                allowed.bastion.join(", ")
            ),
        )
    } else if !egress.unknown.is_empty() {
        context.finding(
            def,
            Status::Error,
            &db.arn,
            format!(
                "database {} admits port {port} only from the expected groups, but {}; grant the auditor the read it lacks and rerun",
                db.id,
                egress.unknown.join("; ")
            ),
        )
    } else {
        context.pass(
            def,
            &db.arn,
            format!(
                "database {} admits port {port} only from security groups {} ({} rule(s))",
                db.id,
                allowed_text(allowed),
                ingress.rules
            ),
        )
    }
}

/// The allowed groups as the messages name them.
fn allowed_text(allowed: &Allowed) -> String {
    if allowed.groups.is_empty() {
        return "(none known)".to_owned();
    }
    allowed
        .groups
        .iter()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ")
}

/// The FAIL for rules from sources not allowed (`offending`, judged from what
/// was read), with what could not be read as notes; `None` when no rule offends.
fn exposure(
    context: &Context<'_>,
    db: &DbInstance,
    port: u16,
    offending: &[String],
    allowed: Option<&Allowed>,
    unread: &[String],
) -> Option<Finding> {
    if offending.is_empty() {
        return None;
    }
    let mut notes = String::new();
    for note in unread {
        notes.push_str("; ");
        notes.push_str(note);
    }
    Some(context.fail(
        &DEFINITION,
        &db.arn,
        format!(
            "database {} admits port {port} from {}; expected only the bastion's and rotation function's security groups{}{notes}",
            db.id,
            offending.join(", "),
            allowed.map_or_else(String::new, |a| format!(" ({})", allowed_text(a)))
        ),
    ))
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
                "all traffic anywhere, the subnets unread: the ACLs cannot be judged",
                vec![from_cidr(egress("e", "-1", -1, -1), "0.0.0.0/0")],
                &subnets_denied,
                Status::Error,
                "network ACLs between subnets subnet-private-a, subnet-private-b and subnet-private-a, subnet-private-b could not be judged without the ranges of subnets",
            ),
            (
                "the VPC's range, the subnets unread",
                vec![from_cidr(port("e"), "10.0.0.0/16")],
                &subnets_denied,
                Status::Error,
                "without the ranges of subnets subnet-private-a, subnet-private-b (access denied to ec2:DescribeSubnets",
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

    use crate::inventory::RegionInventory;

    fn bastions_unread(region: &mut RegionInventory) {
        region.bastions = Collected::Failed(denied("ec2:DescribeInstances"));
    }

    fn configuration_unread(region: &mut RegionInventory) {
        for function in &mut region.functions {
            function.configuration = Collected::Failed(denied("lambda:GetFunctionConfiguration"));
        }
    }

    fn acls_unread(region: &mut RegionInventory) {
        region.network_acls = Collected::Failed(denied("ec2:DescribeNetworkAcls"));
    }

    fn rules_and_bastions_unread(region: &mut RegionInventory) {
        region.security_group_rules = Collected::Failed(denied("ec2:DescribeSecurityGroupRules"));
        bastions_unread(region);
    }

    fn bastions_skipped(region: &mut RegionInventory) {
        region.bastions = Collected::Skipped("not asked for".to_owned());
    }

    /// The function's group lets only TCP `port` out, to where `to` says.
    fn function_egress(
        region: &mut RegionInventory,
        port: i32,
        to: impl FnOnce(SecurityGroupRule) -> SecurityGroupRule,
    ) {
        if let Collected::Ok(rules) = &mut region.security_group_rules {
            rules.retain(|r| r.id != "sgr-lambda-egress");
            rules.push(to(SecurityGroupRule {
                is_egress: true,
                ..rule("e", LAMBDA_SG, "tcp", port, port)
            }));
        }
    }

    /// The function's groups let only HTTPS out.
    fn function_egress_https_only(region: &mut RegionInventory) {
        function_egress(region, 443, |r| from_cidr(r, "0.0.0.0/0"));
    }

    fn acls_unread_and_https_only(region: &mut RegionInventory) {
        acls_unread(region);
        function_egress_https_only(region);
    }

    /// The subnets unread, the function's way out the database's group, and an
    /// ACL denying the port into the database's subnets (review M3: was a PASS).
    fn subnets_unread_and_acl_denying_the_port(region: &mut RegionInventory) {
        region.subnets = Collected::Failed(denied("ec2:DescribeSubnets"));
        function_egress(region, 3306, |r| from_group(r, DB_SG));
        acls_deny_inbound(region, 3306);
    }

    /// The function's way out is a prefix list whose entries were not read.
    fn egress_list_unread(region: &mut RegionInventory) {
        function_egress(region, 3306, |r| from_prefix_list(r, "pl-db"));
        region.prefix_lists = vec![PrefixList {
            id: "pl-db".to_owned(),
            entries: Collected::Failed(denied("ec2:GetManagedPrefixListEntries")),
        }];
    }

    /// A row: name, the database group's extra rules, the reads, status, texts
    /// the message holds, texts it must not hold.
    type UnreadCase<'a> = (
        &'a str,
        Vec<SecurityGroupRule>,
        &'a dyn Fn(&mut RegionInventory),
        crate::finding::Status,
        Vec<&'a str>,
        Vec<&'a str>,
    );

    /// What was read decides first (review M3): a rule from an address range
    /// fails whatever an unread input holds, and the finding names what could
    /// not be read; a verdict that hangs on the unread input stays an ERROR.
    #[test]
    fn a_rule_from_a_range_fails_even_when_another_input_is_unread() {
        use crate::finding::Status;
        let open = || from_cidr(rule("sgr-open", DB_SG, "tcp", 3306, 3306), "0.0.0.0/0");
        let other_group = || from_group(rule("sgr-other", DB_SG, "tcp", 3306, 3306), "sg-other");
        let as_read = |_: &mut RegionInventory| {};
        let exposed =
            "admits port 3306 from rule sgr-open of sg-database (tcp 3306 from 0.0.0.0/0)";
        let acl_note = "; also not read: ec2:DescribeNetworkAcls (access denied)";
        let cases: Vec<UnreadCase<'_>> = vec![
            (
                "the internet, the bastions unread",
                vec![open()],
                &bastions_unread,
                Status::Fail,
                vec![
                    exposed,
                    "; also not read: the bastion's instances, ec2:DescribeInstances (access denied), so rules from other security groups were not judged",
                ],
                vec!["(not known)", "grant "],
            ),
            (
                "the internet and another group, the bastions unread: the group is not judged",
                vec![open(), other_group()],
                &bastions_unread,
                Status::Fail,
                vec![exposed, "rules from other security groups were not judged"],
                vec!["sg-other"],
            ),
            (
                "the internet, the bastions skipped (not failed)",
                vec![open()],
                &bastions_skipped,
                Status::Fail,
                vec![
                    exposed,
                    "; also not read: the bastion's instances, ec2:DescribeInstances (skipped)",
                ],
                vec![],
            ),
            (
                "the internet, the function's configuration unread",
                vec![open()],
                &configuration_unread,
                Status::Fail,
                vec![
                    exposed,
                    "; also not read: the rotation function's configuration, lambda:GetFunctionConfiguration (access denied)",
                ],
                vec!["grant "],
            ),
            (
                "only another group, the function's configuration unread: it may be the function's",
                vec![other_group()],
                &configuration_unread,
                Status::Error,
                vec!["lambda:GetFunctionConfiguration"],
                vec!["sg-other"],
            ),
            (
                "the internet, the network ACLs unread",
                vec![open()],
                &acls_unread,
                Status::Fail,
                vec![exposed, acl_note],
                vec!["grant "],
            ),
            (
                "the internet, the function's way out through an unread prefix list",
                vec![open()],
                &egress_list_unread,
                Status::Fail,
                vec![
                    exposed,
                    "; also not known: whether the security groups of rotation function SecretsManagerTutorialRotation let TCP 3306 out to it (not read: ec2:GetManagedPrefixListEntries (access denied))",
                ],
                vec!["grant "],
            ),
            (
                "only another group, the bastions unread: it may be the bastion's",
                vec![other_group()],
                &bastions_unread,
                Status::Error,
                vec!["access denied to ec2:DescribeInstances"],
                vec![],
            ),
            (
                "the rules and the bastions unread: the bastions' finding, as before",
                vec![],
                &rules_and_bastions_unread,
                Status::Error,
                vec!["access denied to ec2:DescribeInstances"],
                vec![],
            ),
            (
                "nothing open, all read",
                vec![],
                &as_read,
                Status::Pass,
                vec!["only from security groups"],
                vec![],
            ),
        ];
        assert_unread_rows(cases);
    }

    /// A FAIL that does not hang on the unread network ACLs stands, noting them
    /// (review M1, M2); one that would pass hangs on them, and an unread
    /// subnet range leaves them unjudged (review M3).
    #[test]
    fn a_fail_stands_when_the_network_acls_are_unread() {
        use crate::finding::Status;
        let other_group = || from_group(rule("sgr-other", DB_SG, "tcp", 3306, 3306), "sg-other");
        let acl_note = "; also not read: ec2:DescribeNetworkAcls (access denied)";
        let cases: Vec<UnreadCase<'_>> = vec![
            (
                "another group, the network ACLs unread: ingress never hangs on the ACLs",
                vec![other_group()],
                &acls_unread,
                Status::Fail,
                vec![
                    "rule sgr-other of sg-database (tcp 3306 from security group sg-other)",
                    acl_note,
                ],
                vec![],
            ),
            (
                "the function's groups let only HTTPS out, the network ACLs unread",
                vec![],
                &acls_unread_and_https_only,
                Status::Fail,
                vec!["let no TCP 3306 out", acl_note],
                vec![],
            ),
            (
                "nothing wrong, the network ACLs unread: the verdict hangs on them",
                vec![],
                &acls_unread,
                Status::Error,
                vec!["access denied to ec2:DescribeNetworkAcls"],
                vec![],
            ),
            (
                "the subnets unread, an ACL denying the port: the ACLs are not judged",
                vec![],
                &subnets_unread_and_acl_denying_the_port,
                Status::Error,
                vec![
                    "network ACLs between subnets",
                    "could not be judged without the ranges of subnets subnet-private-a, subnet-private-b (access denied to ec2:DescribeSubnets",
                ],
                vec![],
            ),
        ];
        assert_unread_rows(cases);
    }

    fn assert_unread_rows(cases: Vec<UnreadCase<'_>>) {
        for (name, extra, reads, status, texts, absent) in cases {
            let mut region = with_rules(extra);
            reads(&mut region);
            let finding = only(region, "rds.ingress.bastion-only");
            assert_eq!(finding.status, status, "{name}: {}", finding.message);
            for text in texts {
                assert!(
                    finding.message.contains(text),
                    "{name}: {text:?} not in {}",
                    finding.message
                );
            }
            for text in absent {
                assert!(
                    !finding.message.contains(text),
                    "{name}: {text:?} in {}",
                    finding.message
                );
            }
        }
    }
}
