//! `vpc.endpoint.<service>`: an interface endpoint of each required service
//! (Secrets Manager, RDS) that the rotation function can use.
//!
//! Available, with private DNS, a subnet in every availability zone where the
//! database or a rotation function has one, security groups that let HTTPS from
//! the function in and out of it, network ACLs that carry it both ways, and an
//! endpoint policy that allows every call the rotation makes. Each finding is
//! named by its service.
//!
//! The endpoint policy is decided by the IAM evaluator on the calls the
//! rotations of this VPC's functions make through the endpoint
//! ([`endpoint_calls`]); calls that cannot be listed are an ERROR naming the
//! secret, never a silent PASS, unless the policy cannot refuse any call of the
//! rotation ([`endpoint_policy_ceiling`]), and with none listed the policy is
//! still read by action ([`endpoint_policy_floor`]). Without the application
//! secret's value the masterarn secret is presumed, and a verdict on it says so.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::context::Context;
use super::endpoint_service::{endpoint_service_name, is_endpoint_service};
use super::network::{Peer, Reach, acl_faults, primary_functions, reaches, rules_of};
use super::rotation_permissions::{Admin, CLUSTER_TAG, INSTANCE_TAG, lambda_session, needs};
use super::secret_rotation_function_role::replica_arns;
use crate::finding::{CheckDefinition, Finding, Severity, Status};
use crate::iam_eval::{self, Decision, NamedPolicy, Request};
use crate::inventory::{Collected, FunctionConfiguration, Secret, SecretFacts};
use permissions::DESCRIBE_DB_INSTANCES;

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
    let service_name = endpoint_service_name(&context.region.region, service);
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
        .filter(|e| is_endpoint_service(&e.service_name, &context.region.region, service))
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
        let notes = match endpoint_usable(context, endpoint, &vpc.id, service) {
            Ok((more, notes)) => {
                faults.extend(more);
                notes
            }
            // What could not be decided does not hide what is already wrong with
            // this endpoint (its type, state, DNS or zones): that FAILs, and says
            // what else was not decided.
            Err(finding) if !faults.is_empty() => {
                faults.push(format!("also not decided: {}", finding.message));
                Vec::new()
            }
            Err(finding) => return with_id(*finding),
        };
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
            if !notes.is_empty() {
                let _ = write!(message, "; {}", notes.join("; "));
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
/// With no fault, it also returns what of the endpoint policy was not judged.
fn endpoint_usable(
    context: &Context<'_>,
    endpoint: &crate::inventory::VpcEndpoint,
    vpc_id: &str,
    service: &str,
) -> Result<(Vec<String>, Vec<String>), Box<Finding>> {
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
    let (blocked, unknown, unproven, notes) = judge_policy(context, endpoint, vpc_id, service);
    faults.extend(blocked);
    undecided.extend(unknown);
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
        let organisation_unread = matches!(context.organization_id, Collected::Failed(_))
            && unproven.iter().any(|u| u.contains("OrgID"));
        if organisation_unread {
            hints.push("grant the auditor organizations:DescribeOrganization (the organisation's id decides aws:PrincipalOrgID and aws:ResourceOrgID) and rerun");
        }
        if unproven
            .iter()
            .any(|u| !(organisation_unread && u.contains("OrgID")))
        {
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
    Ok((faults, notes))
}

/// The endpoint policy judged on the rotation's calls: what blocks them (with
/// none listed, the [`endpoint_policy_floor`]), why some could not be listed,
/// what is not proven, and what was not judged. Calls that could not be listed
/// for want of the policy's inputs alone (`unlisted`) are no ERROR when the
/// policy cannot refuse any call of the rotation ([`endpoint_policy_ceiling`]).
fn judge_policy(
    context: &Context<'_>,
    endpoint: &crate::inventory::VpcEndpoint,
    vpc_id: &str,
    service: &str,
) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    let Some(document) = &endpoint.policy_document else {
        return Default::default();
    };
    let mut calls = endpoint_calls(context, vpc_id, service);
    let (mut blocked, unproven) =
        endpoint_policy_verdict(context, endpoint, vpc_id, document, &calls);
    let mut unknown = std::mem::take(&mut calls.unknown);
    if !calls.unlisted.is_empty() {
        if endpoint_policy_ceiling(document, service) {
            // One line per reason, naming its secrets, as the notes are.
            let mut by_reason: Vec<(&str, Vec<&str>)> = Vec::new();
            for (secret, why) in &calls.unlisted {
                match by_reason.iter_mut().find(|(reason, _)| reason == why) {
                    Some((_, secrets)) => secrets.push(secret),
                    None => by_reason.push((why, vec![secret])),
                }
            }
            let unlisted: Vec<String> = by_reason
                .iter()
                .map(|(why, secrets)| format!("{}: {why}", secrets_named(secrets)))
                .collect();
            calls.notes.push(format!(
                "its endpoint policy allows every action the rotation makes through it to every principal on every resource, with no condition and no Deny, so it refuses none of the calls that could not be listed ({})",
                unlisted.join("; ")
            ));
        } else {
            unknown.extend(
                calls
                    .unlisted
                    .iter()
                    .map(|(secret, why)| not_judged(secret, why)),
            );
        }
    }
    if calls.calls.is_empty() && !unknown.is_empty() {
        blocked.extend(endpoint_policy_floor(document, service, context.account_id));
    }
    if let Some(note) = ownerless_note(context, document, &calls.calls) {
        calls.notes.push(note);
    }
    (blocked, unknown, unproven, calls.notes.lines())
}

/// One call the rotation makes through an endpoint: the action, the resource it
/// is made on, the role that makes it and the function whose session carries it.
type EndpointCall = (&'static str, String, String, String);

/// The calls the rotation makes through an endpoint ([`endpoint_calls`]); why
/// some could not be listed, an ERROR: `unknown` when what is missing (the
/// secrets, a rotation function) leaves the endpoint's security groups and ACLs
/// undecided too, `unlisted` when it concerns the policy alone (a masterarn
/// secret not described, a role not in the inventory), which a policy that cannot
/// refuse any call of the rotation makes moot ([`endpoint_policy_ceiling`]); the
/// resources of calls made only if the masterarn secret is, as presumed without
/// its value, the database's RDS-managed one; and what was not judged for want of
/// evidence (said in a PASS, grouped by [`Notes`]).
#[derive(Debug, Default)]
struct EndpointCalls {
    calls: BTreeSet<EndpointCall>,
    unknown: Vec<String>,
    /// The secret whose calls were not all listed, and why.
    unlisted: Vec<(String, String)>,
    presumed: BTreeMap<String, Presumed>,
    notes: Notes,
}

/// Why a call's resource is only presumed to be called on: the masterarn secret
/// is presumed to be the database's RDS-managed master user secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presumed {
    /// The presumed masterarn secret itself.
    AdminSecret,
    /// The database or cluster the presumed masterarn secret is RDS's for.
    AdminDatabase,
}

impl Presumed {
    /// What the resource is, after its ARN in a verdict.
    fn phrase(self) -> &'static str {
        match self {
            Presumed::AdminSecret => {
                "the database's RDS-managed master secret, presumed to be the rotation's admin secret (masterarn)"
            }
            Presumed::AdminDatabase => {
                "described only if the rotation's admin secret (masterarn) is, as presumed, the database's RDS-managed master secret"
            }
        }
    }
}

/// Notes of what was not judged, grouped: one line per text, naming every
/// subject it was said of (`ON` marks where the subjects go), as the verdicts are.
#[derive(Debug, Default)]
struct Notes(Vec<(String, Vec<String>)>);

impl Notes {
    /// A note said of no one subject.
    fn push(&mut self, note: String) {
        self.said_of(note, None);
    }

    /// `template` said of `subject` (`None`: a note with no `ON` in it).
    fn said_of(&mut self, template: String, subject: Option<String>) {
        let index = if let Some(index) = self.0.iter().position(|(t, _)| *t == template) {
            index
        } else {
            self.0.push((template, Vec::new()));
            self.0.len() - 1
        };
        let subjects = &mut self.0[index].1;
        if let Some(subject) = subject.filter(|s| !subjects.contains(s)) {
            subjects.push(subject);
        }
    }

    fn lines(self) -> Vec<String> {
        self.0
            .into_iter()
            .map(|(template, subjects)| template.replace(ON, &secrets_named(&subjects)))
            .collect()
    }
}

/// Secrets for a message: `secret NAME`, or their count and the first three.
fn secrets_named<S: AsRef<str>>(secrets: &[S]) -> String {
    match secrets {
        [one] => format!("secret {}", one.as_ref()),
        many => listed(many, "secrets"),
    }
}

/// `items` for a message: the one, or their count and the first three.
fn listed<S: AsRef<str>>(items: &[S], kind: &str) -> String {
    match items {
        [one] => AsRef::<str>::as_ref(one).to_owned(),
        many => {
            let more = many.len().saturating_sub(3);
            let shown = many
                .iter()
                .take(3)
                .map(AsRef::<str>::as_ref)
                .collect::<Vec<_>>()
                .join(", ");
            let more = if more == 0 {
                String::new()
            } else {
                format!(" and {more} more")
            };
            format!("{} {kind} ({shown}{more})", many.len())
        }
    }
}

/// The rotation function of `secret` and its role, when its calls go through the
/// endpoints of VPC `vpc_id`: `Ok(None)` when they never do (no rotation
/// function, one that does not exist, or one outside this VPC: Lambda reaches
/// a VPC's endpoints only from that VPC's subnets), `Err` when the audit cannot
/// tell which role makes them.
fn rotation_role<'a>(
    context: &Context<'a>,
    secret: &Secret,
    vpc_id: &str,
) -> Result<Option<(&'a FunctionConfiguration, &'a str)>, RoleUnknown> {
    let Some(arn) = secret.rotation_lambda_arn.as_deref() else {
        return Ok(None);
    };
    let Some(function) = context.region.functions.iter().find(|f| f.arn == arn) else {
        return Err(RoleUnknown::Function(format!(
            "its rotation function {arn} was not collected"
        )));
    };
    let configuration = match &function.configuration {
        Collected::Ok(Some(configuration)) => configuration,
        Collected::Ok(None) => return Ok(None),
        Collected::Failed(_) => {
            return Err(RoleUnknown::Function(format!(
                "its rotation function {arn} could not be read (see the audit's own access errors), so its role is unknown"
            )));
        }
        Collected::Skipped(why) => {
            return Err(RoleUnknown::Function(format!(
                "its rotation function {arn} was not read ({why}), so its role is unknown"
            )));
        }
    };
    if configuration.vpc_id.as_deref() != Some(vpc_id) {
        return Ok(None);
    }
    match configuration.role.as_deref() {
        Some(role) => Ok(Some((configuration, role))),
        None => Err(RoleUnknown::Role(format!(
            "the role of its rotation function {} is unknown (an inventory of an earlier version)",
            configuration.name
        ))),
    }
}

/// Why the role of a rotation is unknown: its function is unknown too (so are
/// its VPC, subnets and groups: the endpoint's other legs), or only its role.
#[derive(Debug)]
enum RoleUnknown {
    Function(String),
    Role(String),
}

/// The masterarn secret of a rotation as far as the inventory knows it, what
/// about it is unknown (an ERROR), whether it is only presumed (no value read),
/// and what is presumed or not judged (a note, with `ON` where the application
/// secret goes).
#[derive(Debug, Default)]
struct AdminGuess {
    secret: Option<Secret>,
    unknown: Option<String>,
    presumed: bool,
    note: Option<String>,
}

/// The masterarn secret of `secret`'s rotation: the one its value names
/// (`facts`, read with --read-secrets; none for a single-user secret), else
/// presumed the audited database's RDS-managed master user secret
/// (`MasterUserSecret`, known without reading a value), tagged with its instance
/// or cluster as RDS tags the secrets it manages.
fn admin_of(context: &Context<'_>, facts: Option<&SecretFacts>) -> AdminGuess {
    let described = |arn: &str| {
        context
            .region
            .admin_secrets
            .iter()
            .find(|a| a.arn == arn)
            .map(|a| &a.secret)
    };
    let bare = |arn: &str| Secret {
        arn: arn.to_owned(),
        name: arn.to_owned(),
        ..Secret::default()
    };
    let unknown = |arn: &str, why: &str| {
        format!(
            "the masterarn secret {arn} {why}, so whether RDS manages it (and so its DescribeSecret and RDS calls) is unknown"
        )
    };
    if let Some(facts) = facts {
        let Some(arn) = facts.masterarn.as_deref() else {
            return AdminGuess::default();
        };
        let (secret, unknown) = match described(arn) {
            Some(Collected::Ok(Some(admin))) => (keyless(admin), None),
            // secret.rotation.admin-linked FAILs a masterarn secret that does not exist.
            Some(Collected::Ok(None)) => (bare(arn), None),
            Some(_) => (bare(arn), Some(unknown(arn, "could not be described"))),
            None => (
                bare(arn),
                Some(unknown(
                    arn,
                    "was not collected (another account or region?)",
                )),
            ),
        };
        return AdminGuess {
            secret: Some(secret),
            unknown,
            ..AdminGuess::default()
        };
    }
    let database = match &context.region.database {
        Collected::Ok(Some(db)) => Some(db),
        _ => None,
    };
    let Some((db, arn)) =
        database.and_then(|db| Some((db, db.master_user_secret.as_ref()?.arn.as_deref()?)))
    else {
        return AdminGuess {
            note: Some(format!(
                "the value of {ON} was not read, so the masterarn secret and the calls made on it and its database are not judged (rerun with --read-secrets)"
            )),
            ..AdminGuess::default()
        };
    };
    let presumed = if let Some(Collected::Ok(Some(admin))) = described(arn) {
        keyless(admin)
    } else {
        let tag = match &db.cluster_id {
            Some(cluster) => (CLUSTER_TAG.to_owned(), cluster_arn(&db.arn, cluster)),
            None => (INSTANCE_TAG.to_owned(), db.arn.clone()),
        };
        Secret {
            owning_service: Some("rds".to_owned()),
            tags: BTreeMap::from([tag]),
            ..bare(arn)
        }
    };
    AdminGuess {
        secret: Some(presumed),
        unknown: None,
        presumed: true,
        note: Some(format!(
            "the value of {ON} was not read: the masterarn secret is presumed to be database {}'s master user secret {arn} and no read replica is judged (rerun with --read-secrets to judge the one the value names and the replica its host may be)",
            db.id
        )),
    }
}

/// The secret without its key: the keys' calls go to KMS, not through an
/// endpoint of Secrets Manager or RDS.
fn keyless(secret: &Secret) -> Secret {
    Secret {
        kms_key_id: None,
        ..secret.clone()
    }
}

/// `arn:...:cluster:<id>` of cluster `id`, from the ARN of one of its instances.
fn cluster_arn(instance_arn: &str, id: &str) -> String {
    let prefix: Vec<&str> = instance_arn.splitn(6, ':').take(5).collect();
    format!("{}:cluster:{id}", prefix.join(":"))
}

/// The member instances of an Aurora admin's cluster the rotator describes
/// (`rds:DescribeDBInstances`), by the rotator's own rule
/// (`rotator/src/rotation/endpoint.rs`, `permissions::replicas_described`): none
/// when the application's host is one of the cluster's endpoints (Aurora user
/// guide, "Amazon Aurora endpoint connections": `<name>.cluster-…`,
/// `.cluster-ro-…`, `.cluster-custom-…`), else the member the host names. Only
/// the audited database's instance is in the inventory: another member, or a
/// host not read (no `--read-secrets`), is a note that says it was not judged,
/// never an ERROR (the policy may well allow it).
fn cluster_members(
    context: &Context<'_>,
    admin: &Secret,
    facts: Option<&SecretFacts>,
) -> (Vec<String>, Option<String>) {
    let cluster = match (admin.tags.get(CLUSTER_TAG), admin.tags.get(INSTANCE_TAG)) {
        (Some(cluster), None) if admin.owning_service.as_deref() == Some("rds") => cluster,
        _ => return (Vec::new(), None),
    };
    let not_judged = |why: &str| {
        Some(format!(
            "rds:DescribeDBInstances on the members of cluster {cluster} not judged: {why}"
        ))
    };
    let Some(host) = facts.and_then(|f| f.host.as_deref()) else {
        return (
            Vec::new(),
            not_judged("which member the rotator describes depends on the secret's host, not read"),
        );
    };
    let mut labels = host.split('.');
    let first = labels.next().unwrap_or_default();
    if labels
        .next()
        .is_some_and(|second| second.starts_with("cluster-"))
    {
        return (Vec::new(), None); // on a cluster endpoint: no member is described
    }
    match &context.region.database {
        Collected::Ok(Some(db))
            if db.cluster_id.as_deref() == Some(cluster.rsplit(':').next().unwrap_or_default())
                && db.id.eq_ignore_ascii_case(first) =>
        {
            (vec![db.arn.clone()], None)
        }
        _ => (
            Vec::new(),
            not_judged(&format!(
                "the member {first} the host names is not the audited database"
            )),
        ),
    }
}

/// The calls the rotation of each primary secret whose function runs in VPC
/// `vpc_id` makes through an endpoint of `service`: each action of
/// [`actions_needed`], on the resources the role check judges it on
/// (`role::needs`: the application and masterarn secrets' ARNs, `*` for
/// `GetRandomPassword`, the masterarn secret's instance and the read replicas the
/// rotator describes, or its Aurora cluster and the cluster's collected member),
/// made by the role of the secret's rotation function ([`admin_of`] for the
/// masterarn secret). A secret whose calls cannot be listed is named in
/// `unknown`.
fn endpoint_calls(context: &Context<'_>, vpc_id: &str, service: &str) -> EndpointCalls {
    let needed = actions_needed(service);
    let mut out = EndpointCalls::default();
    let secrets = match &context.region.secrets {
        Collected::Ok(secrets) => secrets,
        Collected::Failed(_) => {
            out.unknown.push("the endpoint policy was not judged on the rotation's calls: the secrets could not be listed (see the audit's own access errors)".to_owned());
            return out;
        }
        Collected::Skipped(why) => {
            out.notes
                .push(format!("the secrets were not read ({why}): the endpoint policy was not judged on a rotation's calls"));
            return out;
        }
    };
    let mut confirmed_or_presumed: BTreeMap<String, Option<Presumed>> = BTreeMap::new();
    for secret in secrets.iter().filter(|s| s.primary) {
        let unlisted = |why: &str| (secret.name.clone(), why.to_owned());
        let (configuration, role) = match rotation_role(context, secret, vpc_id) {
            Ok(Some(found)) => found,
            Ok(None) => continue,
            Err(RoleUnknown::Function(why)) => {
                out.unknown.push(not_judged(&secret.name, &why));
                continue;
            }
            Err(RoleUnknown::Role(why)) => {
                out.unlisted.push(unlisted(&why));
                continue;
            }
        };
        let facts = context
            .region
            .secret_values
            .iter()
            .find(|v| v.secret_arn == secret.arn)
            .and_then(|v| v.facts.ok());
        let guess = admin_of(context, facts);
        out.unlisted.extend(guess.unknown.as_deref().map(unlisted));
        if let Some(note) = guess.note.clone() {
            out.notes.said_of(note, Some(secret.name.clone()));
        }
        // Which replicas the rotator describes depends on the application
        // secret's host: none are judged without its value.
        let replicas = guess
            .secret
            .as_ref()
            .zip(facts)
            .map(|(a, facts)| replica_arns(context, a, Some(facts)))
            .unwrap_or_default();
        let admin = guess.secret.as_ref().map(|secret| Admin {
            secret,
            replicas: &replicas,
        });
        let needs = match needs(&keyless(secret), admin, role) {
            Ok(needs) => needs,
            Err(why) => {
                out.unlisted.push(unlisted(&why));
                continue;
            }
        };
        let mut made: Vec<(&'static str, String)> = needs
            .into_iter()
            .filter(|n| needed.contains(&n.action))
            .map(|n| (n.action, n.resource))
            .collect();
        if let Some(admin) = guess
            .secret
            .as_ref()
            .filter(|_| needed.contains(&DESCRIBE_DB_INSTANCES))
        {
            let (members, note) = cluster_members(context, admin, facts);
            made.extend(members.into_iter().map(|m| (DESCRIBE_DB_INSTANCES, m)));
            if let Some(note) = note {
                out.notes.push(note);
            }
        }
        for (action, resource) in made {
            // Every call but those on the application secret and on `*` is
            // made on the masterarn secret or what RDS manages it for.
            if resource != secret.arn && resource != "*" {
                let admin_arn = guess.secret.as_ref().map(|a| a.arn.as_str());
                let presumed = match (guess.presumed, admin_arn == Some(resource.as_str())) {
                    (false, _) => None,
                    (true, true) => Some(Presumed::AdminSecret),
                    (true, false) => Some(Presumed::AdminDatabase),
                };
                match presumed {
                    Some(why) => {
                        confirmed_or_presumed
                            .entry(resource.clone())
                            .or_insert(Some(why));
                    }
                    None => {
                        confirmed_or_presumed.insert(resource.clone(), None);
                    }
                }
            }
            out.calls.insert((
                action,
                resource,
                role.to_owned(),
                configuration.name.clone(),
            ));
        }
    }
    // A resource presumed for one secret and known for another is known.
    out.presumed = confirmed_or_presumed
        .into_iter()
        .filter_map(|(resource, why)| Some((resource, why?)))
        .collect();
    out
}

/// Why the endpoint policy was not judged on a secret's calls, for an ERROR.
fn not_judged(secret: &str, why: &str) -> String {
    format!("the endpoint policy was not judged for secret {secret}: {why}")
}

/// Where a verdict's resources go in its message, until they are grouped.
const ON: &str = "\u{0}";

/// An endpoint policy's statements that speak to one caller: those naming it,
/// and the `Allow`s naming its account.
type KeptStatements = Result<(String, String), String>;

/// What an endpoint policy does to the calls the rotation makes through the
/// endpoint ([`endpoint_calls`]), decided by the IAM evaluator as AWS decides an
/// endpoint policy: a resource-based policy whose `Principal` is the caller
/// (the function's role, its Lambda session, `*`, or, for an interface endpoint,
/// its account: "all users and roles" of it), whose `Resource` is what the call is
/// made on; it grants nothing, and a call it does not allow is refused (VPC user
/// guide, "Control access to VPC endpoints using endpoint policies",
/// https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html).
/// The first list blocks the call (an explicit `Deny`, or no `Allow`); the second
/// is not proven (a condition the evaluator cannot decide).
fn endpoint_policy_verdict(
    context: &Context<'_>,
    endpoint: &crate::inventory::VpcEndpoint,
    vpc_id: &str,
    document: &str,
    calls: &EndpointCalls,
) -> (Vec<String>, Vec<String>) {
    if serde_json::from_str::<serde_json::Value>(document).is_err() {
        return (
            vec!["its endpoint policy is not JSON".to_owned()],
            Vec::new(),
        );
    }
    // Each verdict's message with `ON` where its resource goes, whether its
    // resources are presumed, and the resources that share it: one line per
    // action, statement and role.
    let mut verdicts: Vec<(bool, String, Option<Presumed>, Vec<&str>)> = Vec::new();
    // The policy's statements that speak to each caller, kept once per caller.
    let mut kept: BTreeMap<(&str, &str), KeptStatements> = BTreeMap::new();
    let vpc_arn = context.arn("ec2", &format!("vpc/{vpc_id}"), vpc_id);
    for (action, resource, role, function) in &calls.calls {
        let statements = kept.entry((role, function)).or_insert_with(|| {
            let session = lambda_session(role, function);
            let caller = iam_eval::Caller {
                role,
                session: &session,
                bounded: false,
            };
            // The statements naming the role, its session or everyone, and the
            // `Allow`s naming its account (all of the account's principals here).
            iam_eval::resource_policy_for_role(document, &caller).and_then(|direct| {
                Ok((direct, iam_eval::key_policy_delegation(document, &caller)?))
            })
        });
        let decision = statements.clone().and_then(|(direct, by_account)| {
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
                &endpoint_request(context, endpoint, action, resource, role, vpc_id, &vpc_arn),
            )
        });
        let what = format!("{action}{ON} by role {role}");
        let (blocks, message) = match decision {
            Ok(Decision::Allowed { .. }) => continue,
            Ok(Decision::ImplicitDeny | Decision::OutsideBoundary { .. }) => {
                (true, format!("its endpoint policy does not allow {what}"))
            }
            Ok(Decision::ExplicitDeny { by }) => (true, format!("{by} denies {what}")),
            Ok(Decision::MayDeny { by, condition }) => (
                false,
                format!(
                    "not proven: {by} may deny {what} under a condition the audit cannot evaluate ({condition})"
                ),
            ),
            Ok(Decision::NotProven { by, condition }) => (
                false,
                format!(
                    "not proven: {what} is allowed only by {by}, under a condition the audit cannot evaluate ({condition})"
                ),
            ),
            Err(why) => (true, format!("its endpoint policy cannot be read: {why}")),
        };
        let presumed = calls.presumed.get(resource.as_str()).copied();
        match verdicts
            .iter_mut()
            .find(|(b, m, p, _)| *b == blocks && *m == message && *p == presumed)
        {
            Some((_, _, _, resources)) => resources.push(resource),
            None => verdicts.push((blocks, message, presumed, vec![resource])),
        }
    }
    let mut blocked = Vec::new();
    let mut unproven = Vec::new();
    for (blocks, message, presumed, resources) in verdicts {
        let mut on = format!(" on {}", listed(&resources, "resources"));
        if let Some(presumed) = presumed {
            let _ = write!(on, ", {},", presumed.phrase());
        }
        let mut line = message.replace(ON, &on);
        if presumed.is_some() {
            line.push_str("; run with --read-secrets to confirm");
        }
        if blocks {
            blocked.push(line);
        } else {
            unproven.push(line);
        }
    }
    (blocked, unproven)
}

/// The request context of a call made by `role` through `endpoint` of VPC
/// `vpc_id`, with the global condition keys known offline (IAM user guide, "AWS
/// global condition context keys",
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html):
/// `aws:SourceVpce`, `aws:SourceVpc` and `aws:SourceVpcArn` are present on a
/// request through a VPC endpoint (`aws:SourceIp` is not); `aws:PrincipalArn`
/// and `aws:PrincipalAccount` name the role; `aws:PrincipalIsAWSService` is
/// `false` for a role's own request and `aws:ViaAWSService` is `false` for a
/// call the function makes itself; `aws:ResourceAccount` is the account that
/// owns the resource, from its ARN, and for an action on no resource (`*`, such
/// as `GetRandomPassword`) the caller's own: the guide has the key "always
/// included in the request context for most service actions" and names no
/// Secrets Manager or RDS action among those without it, and such a call is made
/// in the caller's account. `aws:PrincipalOrgID` and `aws:ResourceOrgID` are the
/// audited account's organisation for a principal or resource of that account
/// ([`org_key`]); AWS's data-perimeter endpoint policies allow on them
/// (https://github.com/aws-samples/data-perimeter-policy-examples,
/// `vpc_endpoint_policies/default_endpoint_policy.json`).
fn endpoint_request<'a>(
    context: &Context<'_>,
    endpoint: &crate::inventory::VpcEndpoint,
    action: &'a str,
    resource: &'a str,
    role: &str,
    vpc_id: &str,
    vpc_arn: &str,
) -> Request<'a> {
    let account = role.split(':').nth(4).unwrap_or_default();
    let mut request = Request::new(action, resource)
        .with("aws:SourceVpce", &endpoint.id)
        .with("aws:SourceVpc", vpc_id)
        .with("aws:PrincipalArn", role)
        .with("aws:PrincipalAccount", account)
        .with("aws:PrincipalIsAWSService", "false")
        .with("aws:ViaAWSService", "false")
        .with("aws:RequestedRegion", &context.region.region)
        // The SDKs call AWS's APIs over TLS only.
        .with("aws:SecureTransport", "true");
    if vpc_arn.starts_with("arn:") {
        request = request.with("aws:SourceVpcArn", vpc_arn);
    }
    let owner = if resource == "*" {
        Some(account).filter(|a| !a.is_empty())
    } else {
        resource.split(':').nth(4).filter(|a| !a.is_empty())
    };
    if let Some(owner) = owner {
        request = request.with("aws:ResourceAccount", owner);
        request = org_key(context, request, "aws:ResourceOrgID", owner);
    }
    org_key(context, request, "aws:PrincipalOrgID", account)
}

/// What the verdict on a call on no resource (`GetRandomPassword`, Resource
/// `*`) assumed, when the policy reads the resource's owner: its
/// `aws:ResourceAccount` and `aws:ResourceOrgID` were taken to be the caller's
/// ([`endpoint_request`]), which AWS does not document.
fn ownerless_note(
    context: &Context<'_>,
    document: &str,
    calls: &BTreeSet<EndpointCall>,
) -> Option<String> {
    let lower = document.to_ascii_lowercase();
    if !(lower.contains("aws:resourceaccount") || lower.contains("aws:resourceorgid")) {
        return None;
    }
    let actions: BTreeSet<&str> = calls
        .iter()
        .filter(|(_, resource, ..)| resource == "*")
        .map(|(action, ..)| *action)
        .collect();
    if actions.is_empty() {
        return None;
    }
    let organisation = match context.organization_id {
        Collected::Ok(Some(id)) => format!(" and organisation {id}"),
        _ => String::new(),
    };
    Some(format!(
        "{} acts on no resource: it was judged assuming the caller's account{organisation} own its resource (aws:ResourceAccount, aws:ResourceOrgID), which AWS does not document",
        actions.into_iter().collect::<Vec<_>>().join(", ")
    ))
}

/// `request` with `key`, the organisation of account `owner`, when `owner` is
/// the audited account and its organisation was read: its id, or known absent
/// when the account is in no organisation (IAM user guide, the keys'
/// "Availability": "included in the request context only if the principal is a
/// member of an organization", and "only if the account that owns the resource
/// is a member of an organization"). Of another account it stays unknown.
fn org_key<'a>(context: &Context<'_>, request: Request<'a>, key: &str, owner: &str) -> Request<'a> {
    if context.account_id != Some(owner) {
        return request;
    }
    match context.organization_id {
        Collected::Ok(Some(organization)) => request.with(key, organization),
        Collected::Ok(None) => request.without(key),
        Collected::Failed(_) | Collected::Skipped(_) => request,
    }
}

/// Whether `statement` names `action` (by `Action`, or not by `NotAction`).
fn names_action(statement: &serde_json::Value, action: &str) -> bool {
    use super::policy_document::{action_matches, strings};
    match statement.get("NotAction") {
        Some(not) => !strings(not).iter().any(|p| action_matches(p, action)),
        None => strings(&statement["Action"])
            .iter()
            .any(|p| action_matches(p, action)),
    }
}

/// Whether `statement`'s `Principal` is everyone (`*`).
fn names_everyone(statement: &serde_json::Value) -> bool {
    super::policy_document::principals_of(&statement["Principal"])
        .iter()
        .any(|p| p == "*" || p == "AWS:*")
}

/// Whether `statement` applies to every resource (`Resource: *`).
fn on_every_resource(statement: &serde_json::Value) -> bool {
    statement.get("NotResource").is_none()
        && super::policy_document::strings(&statement["Resource"])
            .iter()
            .any(|r| r == "*")
}

/// The ceiling: whether the endpoint policy cannot refuse any call the rotation
/// could make through an endpoint of `service`, whoever makes it and on whatever
/// resource: every such action is allowed by a statement for Principal `*` on
/// Resource `*` with no condition (AWS's default full-access policy is one, VPC
/// user guide, "Control access to VPC endpoints using endpoint policies"), and no
/// `Deny` names the action at all. A call that could not be listed (a masterarn
/// secret not described, a role not in the inventory) is then allowed whatever
/// it turns out to be.
fn endpoint_policy_ceiling(document: &str, service: &str) -> bool {
    let Ok(statements) = super::policy_document::statements(document) else {
        return false;
    };
    actions_needed(service).into_iter().all(|action| {
        let allowed = statements
            .iter()
            .any(|(_, s)| to_all_unconditionally(s, "Allow", action));
        let denied = statements
            .iter()
            .any(|(_, s)| s["Effect"].as_str() != Some("Allow") && names_action(s, action));
        allowed && !denied
    })
}

/// Whether `statement` has `effect` on `action` for everyone on every resource,
/// with no condition.
fn to_all_unconditionally(statement: &serde_json::Value, effect: &str, action: &str) -> bool {
    statement["Effect"].as_str() == Some(effect)
        && statement.get("Condition").is_none()
        && names_everyone(statement)
        && on_every_resource(statement)
        && names_action(statement, action)
}

/// The floor when no call of the rotation could be listed: the endpoint policy
/// read by action and principal alone, as it applies to every caller and
/// resource (an unconditional `Deny` of `*` to everyone, or no `Allow` of the
/// action to anyone of the account). Only what holds for every call is said.
fn endpoint_policy_floor(document: &str, service: &str, account: Option<&str>) -> Vec<String> {
    use super::policy_document::principals_of;
    let Ok(statements) = super::policy_document::statements(document) else {
        return vec!["its endpoint policy is not JSON".to_owned()];
    };
    let statements: Vec<serde_json::Value> = statements.into_iter().map(|(_, s)| s).collect();
    let ours = |statement: &serde_json::Value| {
        names_everyone(statement)
            || principals_of(&statement["Principal"]).iter().any(|p| {
                account.is_some_and(|a| {
                    p.strip_prefix("AWS:")
                        .is_some_and(|v| v == a || v.split(':').nth(4) == Some(a))
                })
            })
    };
    let mut faults = Vec::new();
    for action in floor_actions(service) {
        let denied = statements
            .iter()
            .any(|s| to_all_unconditionally(s, "Deny", action));
        let allowed = statements
            .iter()
            .any(|s| s["Effect"].as_str() == Some("Allow") && ours(s) && names_action(s, action));
        if denied {
            faults.push(format!(
                "its endpoint policy denies {action} to every caller on every resource"
            ));
        } else if !allowed {
            faults.push(format!(
                "its endpoint policy allows {action} to no caller of the account"
            ));
        }
    }
    faults
}

/// The Secrets Manager and RDS actions the rotation function may call through
/// the endpoint, from the rotator's list of its calls (`permissions::CALLS`):
/// the required ones; `needs` keeps those the setup makes (an Aurora admin's
/// `DescribeDBClusters` among them). The optional `ListSecretVersionIds` is not
/// required of the endpoint policy.
fn actions_needed(service: &str) -> Vec<&'static str> {
    permissions::actions(|call| call.service() == service && call.is_required())
}

/// The actions every rotation like the tutorial's makes (an RDS-managed admin
/// secret of a DB instance), for [`endpoint_policy_floor`].
fn floor_actions(service: &str) -> Vec<&'static str> {
    use permissions::When;
    permissions::actions(|call| {
        call.service() == service
            && call.is_required()
            && matches!(
                call.when,
                When::Always | When::AlternatingUsers | When::AdminFromRds
            )
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

    /// In China the RDS endpoint service carries a `cn.` prefix and Secrets
    /// Manager's does not (see `endpoint_service`): both are found.
    #[test]
    fn a_china_endpoint_is_found_by_its_partitions_name() {
        let mut region = compliant_region();
        region.region = "cn-north-1".to_owned();
        if let Collected::Ok(endpoints) = &mut region.endpoints {
            for endpoint in endpoints.iter_mut() {
                endpoint.service_name = endpoint
                    .service_name
                    .replace(
                        "com.amazonaws.us-east-1.rds",
                        "cn.com.amazonaws.us-east-1.rds",
                    )
                    .replace("us-east-1", "cn-north-1");
            }
        }
        for id in ["vpc.endpoint.rds", "vpc.endpoint.secretsmanager"] {
            let findings = findings_of(region.clone(), id);
            assert!(!findings.is_empty(), "{id}");
            for finding in findings {
                assert!(
                    !finding.message.contains("has no endpoint"),
                    "{id}: {}",
                    finding.message
                );
            }
        }
    }

    /// Check `id`'s finding over `region` has `status` and says `text` (`name`
    /// names the table's row).
    fn assert_endpoint(
        id: &str,
        region: crate::inventory::RegionInventory,
        name: &str,
        status: crate::finding::Status,
        text: &str,
    ) {
        let finding = only(region, id);
        assert_eq!(finding.status, status, "{name}: {}", finding.message);
        assert!(
            finding.message.contains(text),
            "{name}: {}",
            finding.message
        );
    }

    /// The Secrets Manager endpoint's finding, as [`assert_endpoint`].
    fn assert_secretsmanager_endpoint(
        region: crate::inventory::RegionInventory,
        name: &str,
        status: crate::finding::Status,
        text: &str,
    ) {
        assert_endpoint("vpc.endpoint.secretsmanager", region, name, status, text);
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
                "does not allow secretsmanager:GetSecretValue on 2 resources (arn:aws:secretsmanager:us-east-1:123456789012:secret:SecretsManagerTutorialAppuser-AbCdEf, arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-XyZ) by role arn:aws:iam::123456789012:role/rotation-role",
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

    /// The ACLs between the function and the endpoint cannot be judged without
    /// the subnets' ranges.
    #[test]
    fn an_unknown_subnet_range_leaves_the_network_acls_unjudged() {
        use crate::finding::Status;
        let mut r = compliant_region();
        // The endpoint admits the function's group and EC2 gave no range for the
        // subnets: an ACL denying HTTPS is not judged, so the ACLs are unknown
        // (review M3: was a PASS).
        if let Collected::Ok(rules) = &mut r.security_group_rules {
            rules.retain(|rule| rule.id != "sgr-endpoints");
            rules.push(from_group(
                rule("sgr-e", ENDPOINT_SG, "tcp", 443, 443),
                LAMBDA_SG,
            ));
        }
        if let Collected::Ok(subnets) = &mut r.subnets {
            for subnet in subnets {
                subnet.cidr_block = None;
            }
        }
        acls_deny_inbound(&mut r, 443);
        let finding = only(r, "vpc.endpoint.secretsmanager");
        assert_eq!(finding.status, Status::Error, "{}", finding.message);
        assert!(
            finding
                .message
                .contains("could not be judged without the ranges of subnets"),
            "{}",
            finding.message
        );
        assert!(
            finding.message.contains("ec2:DescribeSubnets"),
            "{}",
            finding.message
        );
    }

    /// A region changed by `change`, with endpoint `index`'s policy made of
    /// `statements`, and the finding of check `id` over it.
    type Change = Box<dyn Fn(&mut crate::inventory::RegionInventory)>;

    fn with_policy(
        index: usize,
        statements: &[serde_json::Value],
        change: &Change,
    ) -> crate::inventory::RegionInventory {
        let mut region = compliant_region();
        change(&mut region);
        if let Collected::Ok(endpoints) = &mut region.endpoints {
            endpoints[index].policy_document =
                Some(serde_json::json!({"Statement": statements}).to_string());
        }
        region
    }

    /// A row of a table: its name, the change to the compliant region, the
    /// endpoint policy's statements, the status and a text of the finding.
    type Row = (
        &'static str,
        Change,
        Vec<serde_json::Value>,
        crate::finding::Status,
        &'static str,
    );

    /// Each row's finding of check `id`, endpoint `index` holding its policy.
    fn assert_rows(id: &str, index: usize, rows: Vec<Row>) {
        for (name, change, statements, status, text) in rows {
            assert_endpoint(
                id,
                with_policy(index, &statements, &change),
                name,
                status,
                text,
            );
        }
    }

    fn everything(effect: &str) -> serde_json::Value {
        serde_json::json!({"Effect": effect, "Principal": "*", "Action": "*", "Resource": "*"})
    }

    fn function_configuration(
        change: impl Fn(&mut Collected<Option<crate::inventory::FunctionConfiguration>>) + 'static,
    ) -> Change {
        Box::new(move |r| change(&mut r.functions[0].configuration))
    }

    /// Calls that cannot be listed are an ERROR naming the secret and why, and
    /// with none listed the policy is still read by action: an unconditional
    /// Deny of everything FAILs.
    #[test]
    fn calls_that_cannot_be_listed_are_an_error_and_a_deny_of_everything_still_fails() {
        use crate::finding::Status;
        let failed = || {
            function_configuration(|c| {
                *c = Collected::Failed(denied("lambda:GetFunctionConfiguration"));
            })
        };
        let roleless = || {
            function_configuration(|c| {
                if let Collected::Ok(Some(c)) = c {
                    c.role = None;
                }
            })
        };
        let undescribed = || -> Change {
            Box::new(|r| {
                r.admin_secrets[0].secret =
                    Collected::Failed(denied("secretsmanager:DescribeSecret"));
            })
        };
        let (undescribed_again, undescribed_conditioned) = (undescribed(), undescribed());
        let undescribed = undescribed();
        // (name, the change, the Secrets Manager endpoint's statements, the status, text)
        let cases: Vec<Row> = vec![
            (
                "a function that could not be read, a Deny of everything",
                failed(),
                vec![everything("Deny")],
                Status::Fail,
                "its endpoint policy denies secretsmanager:GetSecretValue to every caller on every resource",
            ),
            (
                "a function that could not be read, full access",
                failed(),
                vec![everything("Allow")],
                Status::Error,
                "the endpoint policy was not judged for secret SecretsManagerTutorialAppuser: its rotation function arn:aws:lambda:us-east-1:123456789012:function:SecretsManagerTutorialRotation could not be read",
            ),
            (
                "a function that could not be read, full access, private DNS off: the FAIL is not hidden",
                {
                    let unread = failed();
                    Box::new(move |r| {
                        unread(r);
                        if let Collected::Ok(endpoints) = &mut r.endpoints {
                            endpoints[0].private_dns_enabled = false;
                        }
                    })
                },
                vec![everything("Allow")],
                Status::Fail,
                "private DNS disabled",
            ),
            (
                "a function whose role is not in the inventory, a Deny of everything",
                roleless(),
                vec![everything("Deny")],
                Status::Fail,
                "denies secretsmanager:PutSecretValue to every caller",
            ),
            (
                "a function whose role is not in the inventory, full access: the policy refuses no call",
                roleless(),
                vec![everything("Allow")],
                Status::Pass,
                "refuses none of the calls that could not be listed (secret SecretsManagerTutorialAppuser: the role of its rotation function SecretsManagerTutorialRotation is unknown",
            ),
            (
                "a function whose role is not in the inventory, a policy for one principal",
                roleless(),
                vec![
                    serde_json::json!({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "*", "Resource": "*"}),
                ],
                Status::Error,
                "the role of its rotation function SecretsManagerTutorialRotation is unknown",
            ),
            (
                "the secrets could not be listed",
                Box::new(|r| r.secrets = Collected::Failed(denied("secretsmanager:ListSecrets"))),
                vec![everything("Deny")],
                Status::Fail,
                "denies secretsmanager:GetSecretValue to every caller",
            ),
            (
                "a masterarn secret that could not be described, full access: the policy refuses no call",
                undescribed,
                vec![everything("Allow")],
                Status::Pass,
                "refuses none of the calls that could not be listed (secret SecretsManagerTutorialAppuser: the masterarn secret arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-XyZ could not be described",
            ),
            (
                "a masterarn secret that could not be described, full access but a Deny elsewhere",
                undescribed_again,
                vec![
                    everything("Allow"),
                    serde_json::json!({"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-*"}),
                ],
                Status::Error,
                "the masterarn secret arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-XyZ could not be described",
            ),
            (
                "a masterarn secret that could not be described, full access under a condition",
                undescribed_conditioned,
                vec![
                    serde_json::json!({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
                        "Condition": {"StringEquals": {"aws:SourceVpc": VPC}}}),
                ],
                Status::Error,
                "the masterarn secret arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-XyZ could not be described",
            ),
        ];
        assert_rows("vpc.endpoint.secretsmanager", 0, cases);
    }

    /// An Aurora admin secret: DescribeDBClusters on its cluster, and
    /// DescribeDBInstances on the cluster's member the audit collected.
    #[test]
    fn an_aurora_admins_cluster_and_members_are_judged_on_the_rds_endpoint() {
        use crate::finding::Status;
        const CLUSTER: &str = "arn:aws:rds:us-east-1:123456789012:cluster:tutorial-cluster";
        let aurora = |member_of: &'static str| -> Change {
            Box::new(move |r| {
                if let Collected::Ok(Some(admin)) = &mut r.admin_secrets[0].secret {
                    admin.tags.remove("aws:rds:primaryDBInstanceArn");
                    admin
                        .tags
                        .insert("aws:rds:primaryDBClusterArn".to_owned(), CLUSTER.to_owned());
                }
                if let Collected::Ok(Some(db)) = &mut r.database {
                    db.cluster_id = Some(member_of.to_owned());
                }
            })
        };
        let allow = |action: &str, resource: &str| serde_json::json!({"Effect": "Allow", "Principal": "*", "Action": action, "Resource": resource});
        let both = vec![
            allow("rds:DescribeDBInstances", DB_ARN),
            allow("rds:DescribeDBClusters", CLUSTER),
        ];
        // (name, the change, the RDS endpoint's statements, the status, text)
        let cases: Vec<Row> = vec![
            (
                "rds:* denied",
                aurora("tutorial-cluster"),
                vec![
                    everything("Allow"),
                    serde_json::json!({"Effect": "Deny", "Principal": "*", "Action": "rds:*", "Resource": "*"}),
                ],
                Status::Fail,
                "denies rds:DescribeDBClusters on arn:aws:rds:us-east-1:123456789012:cluster:tutorial-cluster",
            ),
            (
                "the instance only",
                aurora("tutorial-cluster"),
                vec![allow("rds:DescribeDBInstances", DB_ARN)],
                Status::Fail,
                "does not allow rds:DescribeDBClusters on arn:aws:rds:us-east-1:123456789012:cluster:tutorial-cluster",
            ),
            (
                "the cluster only",
                aurora("tutorial-cluster"),
                vec![allow("rds:DescribeDBClusters", CLUSTER)],
                Status::Fail,
                "does not allow rds:DescribeDBInstances on arn:aws:rds:us-east-1:123456789012:db:secretsmanagertutorial",
            ),
            (
                "the cluster and its member",
                aurora("tutorial-cluster"),
                both.clone(),
                Status::Pass,
                "available with private DNS",
            ),
            (
                "a cluster whose members were not collected: said, not an ERROR",
                aurora("another-cluster"),
                both,
                Status::Pass,
                "rds:DescribeDBInstances on the members of cluster arn:aws:rds:us-east-1:123456789012:cluster:tutorial-cluster not judged",
            ),
            (
                "on the cluster's endpoint the rotator describes no member",
                Box::new(move |r| {
                    aurora("tutorial-cluster")(r);
                    if let Collected::Ok(facts) = &mut r.secret_values[0].facts {
                        facts.host = Some(
                            "tutorial-cluster.cluster-abc123.us-east-1.rds.amazonaws.com"
                                .to_owned(),
                        );
                    }
                }),
                vec![allow("rds:DescribeDBClusters", CLUSTER)],
                Status::Pass,
                "available with private DNS",
            ),
        ];
        assert_rows("vpc.endpoint.rds", 1, cases);
    }

    /// Without the secret's value, the masterarn secret is presumed to be the
    /// database's RDS-managed master user secret, and the PASS says so; with
    /// none, the PASS says what was not judged.
    #[test]
    fn without_the_value_the_databases_master_user_secret_is_judged_as_the_admin() {
        use crate::finding::Status;
        let unread: Change = Box::new(|r| r.secret_values.clear());
        let no_master_secret: Change = Box::new(|r| {
            r.secret_values.clear();
            if let Collected::Ok(Some(db)) = &mut r.database {
                db.master_user_secret = None;
            }
        });
        let application_only = || {
            vec![
                serde_json::json!({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:*", "Resource": SECRET_ARN}),
                serde_json::json!({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"}),
            ]
        };
        // (name, the change, the Secrets Manager endpoint's statements, the status, text)
        let cases: Vec<Row> = vec![
            (
                "the application secret only: the FAIL says the admin is presumed",
                unread,
                application_only(),
                Status::Fail,
                "its endpoint policy does not allow secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-XyZ, the database's RDS-managed master secret, presumed to be the rotation's admin secret (masterarn), by role arn:aws:iam::123456789012:role/rotation-role; run with --read-secrets to confirm",
            ),
            (
                "full access",
                Box::new(|r| r.secret_values.clear()),
                vec![everything("Allow")],
                Status::Pass,
                "the value of secret SecretsManagerTutorialAppuser was not read: the masterarn secret is presumed to be database secretsmanagertutorial's master user secret arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-XyZ",
            ),
            (
                "no master user secret",
                no_master_secret,
                application_only(),
                Status::Pass,
                "the value of secret SecretsManagerTutorialAppuser was not read, so the masterarn secret and the calls made on it and its database are not judged",
            ),
        ];
        assert_rows("vpc.endpoint.secretsmanager", 0, cases);
        // The RDS call made on the presumed admin's database says so too.
        let unread: Change = Box::new(|r| r.secret_values.clear());
        let other_instance = vec![
            serde_json::json!({"Effect": "Allow", "Principal": "*", "Action": "rds:*", "Resource": "arn:aws:rds:us-east-1:123456789012:db:other"}),
        ];
        assert_rows(
            "vpc.endpoint.rds",
            1,
            vec![(
                "the presumed admin's instance left out",
                unread,
                other_instance,
                Status::Fail,
                "does not allow rds:DescribeDBInstances on arn:aws:rds:us-east-1:123456789012:db:secretsmanagertutorial, described only if the rotation's admin secret (masterarn) is, as presumed, the database's RDS-managed master secret, by role arn:aws:iam::123456789012:role/rotation-role; run with --read-secrets to confirm",
            )],
        );
    }

    /// With the value read, the masterarn secret is known: its verdict is a
    /// fact, not a presumption.
    #[test]
    fn a_masterarn_secret_read_from_the_value_is_not_said_presumed() {
        let application_only = vec![
            serde_json::json!({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:*", "Resource": SECRET_ARN}),
        ];
        let unchanged: Change = Box::new(|_| {});
        let finding = only(
            with_policy(0, &application_only, &unchanged),
            "vpc.endpoint.secretsmanager",
        );
        assert_eq!(finding.status, crate::finding::Status::Fail);
        assert!(
            finding.message.contains(&format!(
                "does not allow secretsmanager:GetSecretValue on {ADMIN_ARN} by role"
            )) && !finding.message.contains("presumed"),
            "{}",
            finding.message
        );
    }

    /// Only rotation functions in the endpoint's VPC call through it.
    #[test]
    fn functions_outside_the_vpc_are_not_judged_on_its_endpoint_policy() {
        use crate::finding::Status;
        let in_vpc = |vpc: Option<&'static str>| {
            function_configuration(move |c| {
                if let Collected::Ok(Some(c)) = c {
                    c.vpc_id = vpc.map(str::to_owned);
                }
            })
        };
        let other_secret = vec![
            serde_json::json!({"Effect": "Allow", "Principal": "*", "Action": "*",
            "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-*"}),
        ];
        // (name, the change, the status, text)
        let cases: Vec<(&str, Change, Status, &str)> = vec![
            (
                "in this VPC",
                in_vpc(Some(VPC)),
                Status::Fail,
                "does not allow secretsmanager:GetSecretValue",
            ),
            (
                "in another VPC",
                in_vpc(Some("vpc-other")),
                Status::Pass,
                "available with private DNS",
            ),
            (
                "outside any VPC",
                in_vpc(None),
                Status::Pass,
                "available with private DNS",
            ),
        ];
        for (name, change, status, text) in cases {
            assert_secretsmanager_endpoint(
                with_policy(0, &other_secret, &change),
                name,
                status,
                text,
            );
        }
    }

    /// The condition keys known offline for a call through the endpoint: the
    /// data-perimeter statements decide instead of giving an ERROR.
    #[test]
    fn the_vpc_principal_and_resource_account_keys_decide_data_perimeter_policies() {
        use crate::finding::Status;
        let allow_if = |operator: &str, key: &str, value: &str| serde_json::json!({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*", "Condition": {operator: {key: value}}});
        let deny_if = |operator: &str, key: &str, value: &str| serde_json::json!({"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*", "Condition": {operator: {key: value}}});
        let random = serde_json::json!({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"});
        let in_account = |account: &str| serde_json::json!({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceAccount": account}}});
        let vpc_arn = format!("arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/{VPC}");
        let pass = "available with private DNS";
        // (name, the Secrets Manager endpoint's statements, the status, text)
        let cases: Vec<(&str, Vec<serde_json::Value>, Status, &str)> = vec![
            (
                "an Allow from this VPC",
                vec![allow_if("StringEquals", "aws:SourceVpc", VPC)],
                Status::Pass,
                pass,
            ),
            (
                "an Allow from another VPC",
                vec![allow_if("StringEquals", "aws:SourceVpc", "vpc-other")],
                Status::Fail,
                "does not allow secretsmanager:GetSecretValue",
            ),
            (
                "a Deny outside this VPC",
                vec![
                    everything("Allow"),
                    deny_if("StringNotEquals", "aws:SourceVpc", VPC),
                ],
                Status::Pass,
                pass,
            ),
            (
                "an Allow from this VPC's ARN",
                vec![allow_if("StringEquals", "aws:SourceVpcArn", &vpc_arn)],
                Status::Pass,
                pass,
            ),
            (
                "a Deny of AWS services",
                vec![
                    everything("Allow"),
                    deny_if("Bool", "aws:PrincipalIsAWSService", "true"),
                ],
                Status::Pass,
                pass,
            ),
            (
                "a Deny of calls through a service",
                vec![
                    everything("Allow"),
                    deny_if("Bool", "aws:ViaAWSService", "true"),
                ],
                Status::Pass,
                pass,
            ),
            (
                "an Allow of the account's resources",
                vec![in_account(ACCOUNT), random.clone()],
                Status::Pass,
                pass,
            ),
            (
                "an Allow of another account's resources",
                vec![in_account("210987654321"), random],
                Status::Fail,
                "does not allow secretsmanager:PutSecretValue",
            ),
        ];
        for (name, statements, status, text) in cases {
            let unchanged: Change = Box::new(|_| {});
            assert_secretsmanager_endpoint(
                with_policy(0, &statements, &unchanged),
                name,
                status,
                text,
            );
        }
    }

    /// AWS's data-perimeter endpoint policy (aws-samples/data-perimeter-policy-examples,
    /// `vpc_endpoint_policies/default_endpoint_policy.json`) is decided with the
    /// audited account's organisation: a principal and resources of this
    /// organisation PASS, another's id FAILs, and an account in no organisation
    /// has neither key, so a `StringEquals` on them does not match (and a
    /// `StringNotEquals` does) as IAM decides a missing key; an organisation
    /// that could not be read leaves the policy not proven.
    #[test]
    #[allow(clippy::type_complexity)] // the table's row, written where it is read
    fn the_organisation_keys_decide_data_perimeter_policies() {
        use crate::finding::Status;
        let perimeter = |organization: &str| {
            vec![
                serde_json::json!({"Sid": "AllowRequestsByOrgsIdentitiesToOrgsResources", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": organization, "aws:ResourceOrgID": organization}}}),
                serde_json::json!({"Sid": "AllowRequestsByAWSServicePrincipals", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
                    "Condition": {"Bool": {"aws:PrincipalIsAWSService": "true"}}}),
            ]
        };
        let outside_denied = vec![
            everything("Allow"),
            serde_json::json!({"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": ORGANIZATION}}}),
        ];
        let in_organisation = Collected::Ok(Some(ORGANIZATION.to_owned()));
        let pass = "available with private DNS";
        // (name, the account's organisation, the Secrets Manager endpoint's
        // statements, the status, text)
        let cases: Vec<(
            &str,
            Collected<Option<String>>,
            Vec<serde_json::Value>,
            Status,
            &str,
        )> = vec![
            (
                "this organisation (GetRandomPassword, on no resource, in the caller's account, said so)",
                in_organisation.clone(),
                perimeter(ORGANIZATION),
                Status::Pass,
                "secretsmanager:GetRandomPassword acts on no resource: it was judged assuming the caller's account and organisation o-tutorial123 own its resource",
            ),
            (
                "another organisation",
                in_organisation.clone(),
                perimeter("o-another9999"),
                Status::Fail,
                "does not allow secretsmanager:GetSecretValue",
            ),
            (
                "a Deny outside this organisation",
                in_organisation,
                outside_denied.clone(),
                Status::Pass,
                pass,
            ),
            (
                "no organisation: StringEquals on the missing keys does not match",
                Collected::Ok(None),
                perimeter(ORGANIZATION),
                Status::Fail,
                "its endpoint policy does not allow secretsmanager:GetSecretValue",
            ),
            (
                "no organisation: StringNotEquals on the missing key matches",
                Collected::Ok(None),
                outside_denied,
                Status::Fail,
                "statement 2 denies secretsmanager:GetSecretValue",
            ),
            (
                "the organisation could not be read",
                Collected::Failed(denied("organizations:DescribeOrganization")),
                perimeter(ORGANIZATION),
                Status::Error,
                "organizations:DescribeOrganization",
            ),
        ];
        for (name, organization, statements, status, text) in cases {
            let unchanged: Change = Box::new(|_| {});
            let finding = in_organization(
                with_policy(0, &statements, &unchanged),
                organization,
                "vpc.endpoint.secretsmanager",
            );
            assert_eq!(finding.status, status, "{name}: {}", finding.message);
            assert!(
                finding.message.contains(text),
                "{name}: {}",
                finding.message
            );
        }
    }

    /// A single-user secret (its value read, no masterarn) makes no RDS call:
    /// the RDS endpoint's policy is not held to one.
    #[test]
    fn a_single_user_secret_makes_no_rds_call_through_the_endpoint() {
        use crate::finding::Status;
        let single_user = |masterarn: Option<&'static str>| -> Change {
            Box::new(move |r| {
                if let Collected::Ok(facts) = &mut r.secret_values[0].facts {
                    facts.masterarn = masterarn.map(str::to_owned);
                }
            })
        };
        let secrets_only = || {
            vec![
                serde_json::json!({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*"}),
            ]
        };
        let cases: Vec<Row> = vec![
            (
                "single user",
                single_user(None),
                secrets_only(),
                Status::Pass,
                "available with private DNS",
            ),
            (
                "alternating users",
                single_user(Some(ADMIN_ARN)),
                secrets_only(),
                Status::Fail,
                "does not allow rds:DescribeDBInstances",
            ),
        ];
        assert_rows("vpc.endpoint.rds", 1, cases);
    }

    /// The read replica the application secret's host names is described by the
    /// rotator, so the RDS endpoint's policy must allow it.
    #[test]
    fn the_read_replica_the_rotator_describes_is_judged_on_the_rds_endpoint() {
        use crate::finding::Status;
        const REPLICA: &str =
            "arn:aws:rds:us-east-1:123456789012:db:secretsmanagertutorial-replica";
        let on_replica = || -> Change {
            Box::new(|r| {
                if let Collected::Ok(Some(db)) = &mut r.database {
                    db.read_replicas = vec!["secretsmanagertutorial-replica".to_owned()];
                }
                if let Collected::Ok(facts) = &mut r.secret_values[0].facts {
                    facts.host = Some(
                        "secretsmanagertutorial-replica.abc.us-east-1.rds.amazonaws.com".to_owned(),
                    );
                }
            })
        };
        let describe = |resources: &[&str]| {
            vec![
                serde_json::json!({"Effect": "Allow", "Principal": "*", "Action": "rds:DescribeDBInstances", "Resource": resources}),
            ]
        };
        let cases: Vec<Row> = vec![
            (
                "the primary only",
                on_replica(),
                describe(&[DB_ARN]),
                Status::Fail,
                "does not allow rds:DescribeDBInstances on arn:aws:rds:us-east-1:123456789012:db:secretsmanagertutorial-replica",
            ),
            (
                "the primary and the replica",
                on_replica(),
                describe(&[DB_ARN, REPLICA]),
                Status::Pass,
                "available with private DNS",
            ),
        ];
        assert_rows("vpc.endpoint.rds", 1, cases);
    }

    /// The compliant region with four more secrets like the application's,
    /// `extra-1` to `extra-4`, rotated by the same function.
    fn with_four_more_secrets() -> crate::inventory::RegionInventory {
        let mut region = compliant_region();
        if let Collected::Ok(secrets) = &mut region.secrets {
            for n in 1..=4 {
                let mut extra = app_secret();
                extra.arn =
                    format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:extra-{n}");
                extra.name = format!("extra-{n}");
                secrets.push(extra);
            }
        }
        region
    }

    /// The Secrets Manager endpoint's finding over `region` is `status` and
    /// says `once` once, in `text`.
    fn said_once(
        region: crate::inventory::RegionInventory,
        status: crate::finding::Status,
        once: &str,
        text: &str,
    ) {
        let finding = only(region, "vpc.endpoint.secretsmanager");
        assert_eq!(finding.status, status, "{}", finding.message);
        assert_eq!(
            finding.message.matches(once).count(),
            1,
            "{}",
            finding.message
        );
        assert!(finding.message.contains(text), "{}", finding.message);
    }

    /// Many secrets whose values were not read: one note for them all, naming
    /// a count and the first three, as the verdicts are grouped.
    #[test]
    fn the_notes_on_many_secrets_are_said_once() {
        let mut region = with_four_more_secrets();
        region.secret_values.clear();
        said_once(
            region,
            crate::finding::Status::Pass,
            "was not read",
            "the value of 5 secrets (SecretsManagerTutorialAppuser, extra-1, extra-2 and 2 more) was not read: the masterarn secret is presumed",
        );
    }

    /// Many secrets whose calls could not be listed for one reason, under a
    /// policy that refuses none: the reason is said once, naming the secrets.
    #[test]
    fn the_calls_not_listed_for_one_reason_are_said_once() {
        let mut region = with_four_more_secrets();
        if let Collected::Ok(Some(configuration)) = &mut region.functions[0].configuration {
            configuration.role = None;
        }
        let reason = "the role of its rotation function SecretsManagerTutorialRotation is unknown";
        said_once(
            region,
            crate::finding::Status::Pass,
            reason,
            &format!(
                "could not be listed (5 secrets (SecretsManagerTutorialAppuser, extra-1, extra-2 and 2 more): {reason}"
            ),
        );
    }

    /// Many secrets rotated by one role: one line per action, with a count and
    /// the first three resources.
    #[test]
    fn the_calls_on_many_secrets_are_said_once_per_action() {
        let mut region = with_four_more_secrets();
        let other_secret = [
            serde_json::json!({"Effect": "Allow", "Principal": "*", "Action": "*",
            "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-*"}),
        ];
        if let Collected::Ok(endpoints) = &mut region.endpoints {
            endpoints[0].policy_document =
                Some(serde_json::json!({"Statement": other_secret}).to_string());
        }
        said_once(
            region,
            crate::finding::Status::Fail,
            "does not allow secretsmanager:PutSecretValue",
            "does not allow secretsmanager:PutSecretValue on 5 resources (arn:aws:secretsmanager:us-east-1:123456789012:secret:SecretsManagerTutorialAppuser-AbCdEf, arn:aws:secretsmanager:us-east-1:123456789012:secret:extra-1, arn:aws:secretsmanager:us-east-1:123456789012:secret:extra-2 and 2 more) by role",
        );
    }
}
