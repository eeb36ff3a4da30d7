//! `vpc.endpoint.<service>`: an interface endpoint of each required service
//! (Secrets Manager, RDS) that the rotation function can use.
//!
//! Available, with private DNS, a subnet in every availability zone where the
//! database or a rotation function has one, security groups that let HTTPS from
//! the function in and out of it, network ACLs that carry it both ways, and an
//! endpoint policy that allows every call the rotation makes. Each finding is
//! named by its service.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::context::Context;
use super::network::{Peer, Reach, acl_faults, primary_functions, reaches, rules_of};
use super::rotation_permissions::{Admin, lambda_session, needs};
use crate::finding::{CheckDefinition, Finding, Severity, Status};
use crate::iam_eval::{self, Decision, NamedPolicy, Request};
use crate::inventory::{Collected, Secret};

pub const DEFINITION: CheckDefinition = CheckDefinition {
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

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    context
        .policy
        .required_endpoints
        .iter()
        .map(|service| vpc_endpoint(context, service))
        .collect()
}

#[allow(clippy::too_many_lines)] // one check: its conditions in the order its findings report them
fn vpc_endpoint(context: &Context<'_>, service: &str) -> Finding {
    let def = &DEFINITION;
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
        let rules = rules_of(context, &DEFINITION, &endpoint.id)?;
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
                &DEFINITION,
                &endpoint.id,
                &configuration.subnet_ids,
                &endpoint.subnet_ids,
                443,
            )?);
        }
    }
    let mut unproven = Vec::new();
    if let Some(document) = &endpoint.policy_document {
        let (blocked, not_proven) = endpoint_policy_verdict(context, endpoint, service, document);
        faults.extend(blocked);
        unproven = not_proven;
    }
    if faults.is_empty() && !(undecided.is_empty() && unproven.is_empty()) {
        let resource = context.arn(
            "ec2",
            &format!("vpc-endpoint/{}", endpoint.id),
            &endpoint.id,
        );
        let mut hints = Vec::new();
        if !undecided.is_empty() {
            hints.push("grant the auditor the read it lacks and rerun");
        }
        if !unproven.is_empty() {
            hints.push("verify the endpoint policy's condition by hand (aws iam simulate-custom-policy) or drop it");
        }
        undecided.extend(unproven);
        return Err(Box::new(context.finding(
            &DEFINITION,
            Status::Error,
            &resource,
            format!(
                "endpoint {} for {service}: {}; {}",
                endpoint.id,
                undecided.join("; "),
                hints.join(", and ")
            ),
        )));
    }
    faults.extend(undecided);
    faults.extend(unproven);
    Ok(faults)
}

/// One call the rotation makes through an endpoint: the action, the resource it
/// is made on, the role that makes it and the function whose session carries it.
type EndpointCall = (&'static str, String, String, String);

/// The calls the rotation of each primary secret makes through an endpoint of
/// `service`: each action of [`actions_needed`], on the resources the role check
/// judges it on (`role::needs`: the application and masterarn secrets' ARNs, `*`
/// for `GetRandomPassword`, the masterarn secret's instance), made by the role of
/// the secret's rotation function. With the masterarn secret unknown (its value
/// not read), the RDS calls are judged on the audited database's instance. Not
/// judged: the read replicas the rotator may describe, and secrets whose function
/// or role is unknown (other checks report those).
fn endpoint_calls(context: &Context<'_>, service: &str) -> BTreeSet<EndpointCall> {
    let needed = actions_needed(service);
    let mut calls = BTreeSet::new();
    let Some(secrets) = context.region.secrets.ok() else {
        return calls;
    };
    // The keys' calls go to KMS, not through this endpoint: no key to resolve.
    let keyless = |secret: &Secret| Secret {
        kms_key_id: None,
        ..secret.clone()
    };
    for secret in secrets.iter().filter(|s| s.primary) {
        let configuration = secret
            .rotation_lambda_arn
            .as_deref()
            .and_then(|arn| context.region.functions.iter().find(|f| f.arn == arn))
            .and_then(|f| match &f.configuration {
                Collected::Ok(Some(configuration)) => Some(configuration),
                _ => None,
            });
        let Some((configuration, role)) = configuration.and_then(|c| Some((c, c.role.as_deref()?)))
        else {
            continue;
        };
        let masterarn = context
            .region
            .secret_values
            .iter()
            .find(|v| v.secret_arn == secret.arn)
            .and_then(|v| v.facts.ok())
            .and_then(|f| f.masterarn.as_deref());
        let admin_secret = masterarn.map(|arn| {
            match context
                .region
                .admin_secrets
                .iter()
                .find(|a| a.arn == arn)
                .map(|a| &a.secret)
            {
                Some(Collected::Ok(Some(admin))) => keyless(admin),
                _ => Secret {
                    arn: arn.to_owned(),
                    name: arn.to_owned(),
                    ..Secret::default()
                },
            }
        });
        let admin = admin_secret.as_ref().map(|secret| Admin {
            secret,
            replicas: &[],
        });
        let Ok(needs) = needs(&keyless(secret), admin, role) else {
            continue;
        };
        let database = match &context.region.database {
            Collected::Ok(Some(db)) if masterarn.is_none() => Some(db.arn.clone()),
            _ => None,
        };
        for action in &needed {
            let mut resources: Vec<String> = needs
                .iter()
                .filter(|n| n.action == *action)
                .map(|n| n.resource.clone())
                .collect();
            if resources.is_empty() && action.starts_with("rds:") {
                resources.extend(database.clone());
            }
            for resource in resources {
                calls.insert((
                    *action,
                    resource,
                    role.to_owned(),
                    configuration.name.clone(),
                ));
            }
        }
    }
    calls
}

/// What an endpoint policy does to the calls the rotation makes through the
/// endpoint ([`endpoint_calls`]), decided by the IAM evaluator as AWS decides an
/// endpoint policy: a resource-based policy whose `Principal` is the caller
/// (the function's role, its Lambda session, `*`, or, for an interface endpoint,
/// its account: "all users and roles" of it), whose `Resource` is what the call is
/// made on, and whose conditions see the endpoint (`aws:SourceVpce`) and the
/// principal (`aws:PrincipalArn`, `aws:PrincipalAccount`); it grants nothing, and a
/// call it does not allow is refused (VPC user guide, "Control access to VPC
/// endpoints using endpoint policies",
/// https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html).
/// The first list blocks the call (an explicit `Deny`, or no `Allow`); the second
/// is not proven (a condition the evaluator cannot decide).
fn endpoint_policy_verdict(
    context: &Context<'_>,
    endpoint: &crate::inventory::VpcEndpoint,
    service: &str,
    document: &str,
) -> (Vec<String>, Vec<String>) {
    if serde_json::from_str::<serde_json::Value>(document).is_err() {
        return (
            vec!["its endpoint policy is not JSON".to_owned()],
            Vec::new(),
        );
    }
    let mut blocked = Vec::new();
    let mut unproven = Vec::new();
    for (action, resource, role, function) in endpoint_calls(context, service) {
        let session = lambda_session(&role, &function);
        let caller = iam_eval::Caller {
            role: &role,
            session: &session,
            bounded: false,
        };
        // The statements naming the role, its session or everyone, and the
        // `Allow`s naming its account (all of the account's principals here).
        let kept = iam_eval::resource_policy_for_role(document, &caller)
            .and_then(|direct| Ok((direct, iam_eval::key_policy_delegation(document, &caller)?)));
        let account = role.split(':').nth(4).unwrap_or_default();
        let request = Request::new(action, &resource)
            .with("aws:SourceVpce", &endpoint.id)
            .with("aws:PrincipalArn", &role)
            .with("aws:PrincipalAccount", account)
            .with("aws:RequestedRegion", &context.region.region)
            // The SDKs call AWS's APIs over TLS only.
            .with("aws:SecureTransport", "true");
        let decision = kept.and_then(|(direct, by_account)| {
            let name = "its endpoint policy";
            iam_eval::evaluate(
                &[
                    NamedPolicy {
                        name,
                        document: &direct,
                    },
                    NamedPolicy {
                        name,
                        document: &by_account,
                    },
                ],
                &request,
            )
        });
        let what = format!("{action} on {resource} by role {role}");
        match decision {
            Ok(Decision::Allowed { .. }) => {}
            Ok(Decision::ImplicitDeny | Decision::OutsideBoundary { .. }) => {
                blocked.push(format!("its endpoint policy does not allow {what}"));
            }
            Ok(Decision::ExplicitDeny { by }) => blocked.push(format!("{by} denies {what}")),
            Ok(Decision::MayDeny { by, condition }) => unproven.push(format!(
                "not proven: {by} may deny {what} under a condition the audit cannot evaluate ({condition})"
            )),
            Ok(Decision::NotProven { by, condition }) => unproven.push(format!(
                "not proven: {what} is allowed only by {by}, under a condition the audit cannot evaluate ({condition})"
            )),
            Err(why) => blocked.push(format!("its endpoint policy cannot be read: {why}")),
        }
    }
    (blocked, unproven)
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::inventory::{Collected, PrefixList, SecurityGroupRule};

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

    /// The Secrets Manager endpoint's finding over `region` has `status` and
    /// says `text` (`name` names the table's row).
    fn assert_secretsmanager_endpoint(
        region: crate::inventory::RegionInventory,
        name: &str,
        status: crate::finding::Status,
        text: &str,
    ) {
        let finding = only(region, "vpc.endpoint.secretsmanager");
        assert_eq!(finding.status, status, "{name}: {}", finding.message);
        assert!(
            finding.message.contains(text),
            "{name}: {}",
            finding.message
        );
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
            assert_secretsmanager_endpoint(region, name, status, text);
        }
    }

    /// The endpoint policy decided by the IAM evaluator for each call the
    /// rotation makes through the endpoint, on the resource it is made on, by the
    /// function's role, through this endpoint.
    #[test]
    fn the_endpoint_policy_is_evaluated_on_the_calls_resources_and_principal() {
        use crate::finding::Status;
        let other_secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-*";
        let statement = |effect: &str, resource: &str| serde_json::json!({"Effect": effect, "Principal": "*", "Action": "secretsmanager:*", "Resource": resource});
        // Everything allowed, PutSecretValue denied through endpoint `vpce`.
        let deny_put_through = |vpce: &str| {
            vec![
                statement("Allow", "*"),
                serde_json::json!({"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:PutSecretValue", "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceVpce": vpce}}}),
            ]
        };
        // (name, the Secrets Manager endpoint's policy statements, the status, text)
        let cases: Vec<(&str, Vec<serde_json::Value>, Status, &str)> = vec![
            (
                "another secret's ARN only",
                vec![statement("Allow", other_secret)],
                Status::Fail,
                "does not allow secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:123456789012:secret:SecretsManagerTutorialAppuser-AbCdEf by role arn:aws:iam::123456789012:role/rotation-role",
            ),
            (
                "the audited secrets' ARNs, and * for GetRandomPassword",
                vec![
                    statement("Allow", SECRET_ARN),
                    statement("Allow", ADMIN_ARN),
                    serde_json::json!({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "secretsmanager:GetRandomPassword", "Resource": "*"}),
                ],
                Status::Pass,
                "available with private DNS",
            ),
            (
                "the masterarn secret left out",
                vec![statement("Allow", SECRET_ARN)],
                Status::Fail,
                "does not allow secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-XyZ",
            ),
            (
                "an Allow for the account's principals",
                vec![
                    serde_json::json!({"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "*", "Resource": "*"}),
                ],
                Status::Pass,
                "available with private DNS",
            ),
            (
                "an Allow for another role only",
                vec![
                    serde_json::json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/other"}, "Action": "*", "Resource": "*"}),
                ],
                Status::Fail,
                "does not allow secretsmanager:PutSecretValue",
            ),
            (
                "a Deny through this endpoint",
                deny_put_through("vpce-secretsmanager"),
                Status::Fail,
                "statement 2 denies secretsmanager:PutSecretValue on arn:aws:secretsmanager:us-east-1:123456789012:secret:SecretsManagerTutorialAppuser-AbCdEf",
            ),
            (
                "a Deny through another endpoint",
                deny_put_through("vpce-elsewhere"),
                Status::Pass,
                "available with private DNS",
            ),
            (
                "an Allow under a key the audit cannot know",
                vec![
                    serde_json::json!({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalTag/team": "rotation"}}}),
                ],
                Status::Error,
                "not proven: secretsmanager:DescribeSecret on",
            ),
            (
                "AWS's default full-access policy",
                vec![
                    serde_json::json!({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}),
                ],
                Status::Pass,
                "available with private DNS",
            ),
        ];
        for (name, statements, status, text) in cases {
            let mut region = compliant_region();
            if let Collected::Ok(endpoints) = &mut region.endpoints {
                endpoints[0].policy_document =
                    Some(serde_json::json!({"Statement": statements}).to_string());
            }
            assert_secretsmanager_endpoint(region, name, status, text);
        }
    }

    /// The RDS endpoint's policy is judged on the masterarn secret's instance.
    #[test]
    fn the_rds_endpoint_policy_is_judged_on_the_instance() {
        use crate::finding::Status;
        let with_resource = |resource: &str| {
            let mut region = compliant_region();
            if let Collected::Ok(endpoints) = &mut region.endpoints {
                endpoints[1].policy_document = Some(
                    serde_json::json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "rds:DescribeDBInstances", "Resource": resource}})
                        .to_string(),
                );
            }
            only(region, "vpc.endpoint.rds")
        };
        let finding = with_resource(DB_ARN);
        assert_eq!(finding.status, Status::Pass, "{}", finding.message);
        let finding = with_resource("arn:aws:rds:us-east-1:123456789012:db:other");
        assert_eq!(finding.status, Status::Fail, "{}", finding.message);
        assert!(
            finding.message.contains(&format!(
                "does not allow rds:DescribeDBInstances on {DB_ARN}"
            )),
            "{}",
            finding.message
        );
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
        assert!(crate::checks::network::cidr_contains(
            "10.0.0.0/16",
            "10.0.2.0/24"
        ));
        assert!(!crate::checks::network::cidr_contains(
            "10.0.0.0/24",
            "10.0.2.0/24"
        ));
        assert!(crate::checks::network::cidr_contains(
            "0.0.0.0/0",
            "10.0.2.0/24"
        ));
        assert!(!crate::checks::network::cidr_contains(
            "10.0.2.0/24",
            "10.0.0.0/16"
        ));
    }
}
