//! `secret.rotation.function`: the secret's rotation function exists, is active,
//! runs in the audited VPC (and reaches the database's), and only Secrets Manager
//! of this account may invoke it.

use std::collections::BTreeSet;

use serde_json::Value;

use super::context::Context;
use super::invocation::{Invocation, secrets_manager_may_invoke, throttled};
use super::policy_document::{action_matches, principals_of, statements, strings};
use super::rotated_secrets::{each_secret, secret_resource};
use crate::finding::{CheckDefinition, Finding, Severity};
use crate::inventory::{Collected, FunctionConfiguration, FunctionRecord, Secret};

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "secret.rotation.function",
    title: "Rotation function exists, runs in the VPC and only Secrets Manager of this account may invoke it",
    severity: Severity::High,
    resource_type: "AwsLambdaFunction",
    remediation: "Deploy the rotation function in the VPC (VpcConfig with the private subnets) and allow invocation: aws lambda add-permission --function-name <fn> --statement-id SecretsManagerAccess --action lambda:InvokeFunction --principal secretsmanager.amazonaws.com --source-account <account>",
    compliance: &["AWS-FSBP:SecretsManager.1"],
    references: &[
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html",
    ],
};

/// What a function's resource policy lets others do, statement by statement.
///
/// The function passes only if no one but Secrets Manager of this account may
/// invoke it: every `Allow` statement that grants an invoke action (including
/// through `lambda:*`, `*`, `lambda:Invoke*` or `NotAction`) must name only the
/// principal `secretsmanager.amazonaws.com` and carry a condition that pins the
/// source to this account: `StringEquals`/`StringLike` on `aws:SourceAccount`, or
/// `ArnEquals`/`ArnLike` (or the string operators) on `aws:SourceArn`, every value
/// naming this account without wildcards (Secrets Manager user guide, "Permissions
/// for rotation": the function's resource policy should use `aws:SourceAccount`
/// or `aws:SourceArn` against the confused deputy). A negated operator
/// (`StringNotEquals`) or an `...IfExists` variant restricts nothing. This is
/// stricter than Prowler's `awslambda_function_not_publicly_accessible`, which
/// fails only a principal of `*`.
///
/// `Err` lists every fault. `account_id` `None` means the account is unknown, and
/// a source condition cannot be confirmed: that is a fault too.
pub(crate) fn invoke_policy_allows_secrets_manager(
    document: &str,
    account_id: Option<&str>,
) -> Result<(), String> {
    let statements = statements(document)?;
    if statements.is_empty() {
        return Err("its resource policy has no statements".to_owned());
    }
    let mut faults = Vec::new();
    let mut secrets_manager_ok = 0;
    for (label, statement) in &statements {
        if statement["Effect"].as_str() != Some("Allow") {
            continue;
        }
        let grants_invoke = if statement.get("NotAction").is_some() {
            true
        } else {
            strings(&statement["Action"])
                .iter()
                .any(|a| grants_invoke(a))
        };
        if !grants_invoke {
            continue;
        }
        if statement.get("NotPrincipal").is_some() {
            faults.push(format!(
                "{label} lets everyone but its NotPrincipal invoke it (public)"
            ));
            continue;
        }
        let principals = principals_of(&statement["Principal"]);
        let others: Vec<&String> = principals
            .iter()
            .filter(|p| p.as_str() != "Service:secretsmanager.amazonaws.com")
            .collect();
        if !others.is_empty() {
            let public = others
                .iter()
                .any(|p| p.as_str() == "*" || p.as_str() == "AWS:*");
            faults.push(format!(
                "{label} lets {} invoke it{}",
                others
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                if public { " (public)" } else { "" }
            ));
            continue;
        }
        if principals.is_empty() {
            faults.push(format!("{label} grants invoke without a principal"));
            continue;
        }
        match source_restriction(&statement["Condition"], account_id) {
            Ok(()) => secrets_manager_ok += 1,
            Err(fault) => faults.push(format!(
                "{label} lets secretsmanager.amazonaws.com invoke it {fault}"
            )),
        }
    }
    if secrets_manager_ok == 0 && faults.is_empty() {
        faults.push("its resource policy does not allow secretsmanager.amazonaws.com to invoke it (lambda:InvokeFunction)".to_owned());
    }
    if faults.is_empty() {
        Ok(())
    } else {
        Err(faults.join("; "))
    }
}

/// Whether an `Action` entry lets its principal invoke the function.
fn grants_invoke(action: &str) -> bool {
    [
        "lambda:InvokeFunction",
        "lambda:InvokeFunctionUrl",
        "lambda:InvokeAsync",
    ]
    .iter()
    .any(|invoke| action_matches(action, invoke))
}

/// `Ok` when the statement's condition pins the caller to `account_id`.
/// Conditions are ANDed, so one condition that names only this account is enough.
fn source_restriction(condition: &Value, account_id: Option<&str>) -> Result<(), String> {
    let missing =
        || "without an aws:SourceAccount or aws:SourceArn condition (confused deputy)".to_owned();
    let Value::Object(operators) = condition else {
        return Err(missing());
    };
    let mut faults = Vec::new();
    for (operator, keys) in operators {
        let Value::Object(keys) = keys else { continue };
        for (key, value) in keys {
            let is_account = key.eq_ignore_ascii_case("aws:SourceAccount");
            let is_arn = key.eq_ignore_ascii_case("aws:SourceArn");
            if !is_account && !is_arn {
                continue;
            }
            let restricting = if is_account {
                ["StringEquals", "StringLike"].contains(&operator.as_str())
            } else {
                ["ArnEquals", "ArnLike", "StringEquals", "StringLike"].contains(&operator.as_str())
            };
            if !restricting {
                faults.push(format!(
                    "under condition {operator} on {key}, which does not restrict the caller to one account (expected StringEquals on aws:SourceAccount or ArnLike on aws:SourceArn)"
                ));
                continue;
            }
            let Some(account) = account_id else {
                faults.push("for a source account that cannot be confirmed: the audited account is unknown (sts:GetCallerIdentity failed)".to_owned());
                continue;
            };
            let values = strings(value);
            let only_this = !values.is_empty()
                && values.iter().all(|v| {
                    let named = if is_account {
                        v.as_str()
                    } else {
                        v.split(':').nth(4).unwrap_or_default()
                    };
                    named == account
                });
            if only_this {
                return Ok(());
            }
            faults.push(format!(
                "for {key} {}, not only this account {account}",
                values.join(", ")
            ));
        }
    }
    Err(faults.into_iter().next().unwrap_or_else(missing))
}

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let audited_vpc = context
        .region
        .vpc
        .ok()
        .and_then(Option::as_ref)
        .map(|v| v.id.as_str());
    let vpc_subnets: BTreeSet<&str> = context
        .region
        .subnets
        .ok()
        .map(|s| s.iter().map(|s| s.id.as_str()).collect())
        .unwrap_or_default();
    let audited = Audited {
        vpc: audited_vpc,
        subnets: &vpc_subnets,
    };
    each_secret(context, &DEFINITION, false, |secret| {
        judge(context, secret, &audited)
    })
}

/// The audited VPC and its subnets, as collected.
struct Audited<'a> {
    vpc: Option<&'a str>,
    subnets: &'a BTreeSet<&'a str>,
}

/// The finding for `secret`'s rotation function: its conditions in the order
/// the finding reports them.
fn judge(context: &Context<'_>, secret: &Secret, audited: &Audited<'_>) -> Finding {
    let def = &DEFINITION;
    let name = &secret.name;
    if let Some(service) = &secret.owning_service {
        return context.skip(
            def,
            &secret_resource(secret),
            &format!(
                "secret {name} is managed by {service}, which rotates it without a Lambda function"
            ),
        );
    }
    let Some(arn) = secret.rotation_lambda_arn.as_deref() else {
        if !secret.primary && secret.rotation_enabled != Some(true) {
            return context.skip(
                def,
                &secret_resource(secret),
                &format!("secret {name} has no rotation (see secret.rotation.schedule)"),
            );
        }
        return context.fail(def, &secret_resource(secret), format!("secret {name} names no rotation function (RotationLambdaARN); expected the alternating-users rotation function"));
    };
    let Some(record) = context.region.functions.iter().find(|f| f.arn == arn) else {
        return context.skip(
            def,
            arn,
            &format!("rotation function {arn} was not collected"),
        );
    };
    let configuration = match &record.configuration {
        Collected::Ok(Some(configuration)) => configuration,
        Collected::Ok(None) => return context.fail(def, arn, format!("secret {name} names rotation function {arn}, which does not exist; expected an existing function")),
        other => return context.missing(def, arn, other).unwrap_or_else(|| context.skip(def, arn, "not collected")),
    };
    let mut faults = state_faults(configuration);
    let (placement, unknown) = placement_faults(context, secret, configuration, audited);
    faults.extend(placement);
    let mut not_proven: Vec<String> = Vec::new();
    if let Err(finding) = access_faults(
        context,
        secret,
        record,
        configuration,
        (&mut faults, &mut not_proven),
    ) {
        return *finding;
    }
    if let Some(why) = unknown {
        not_proven.push(why);
    }
    if faults.is_empty() && !not_proven.is_empty() {
        return context.finding(
            def,
            crate::finding::Status::Error,
            arn,
            format!(
                "rotation function {} of secret {name}: {}",
                configuration.name,
                not_proven.join("; ")
            ),
        );
    }
    faults.extend(not_proven);
    if faults.is_empty() {
        let subnets = &configuration.subnet_ids;
        context.pass(
            def,
            arn,
            format!(
                "rotation function {} of secret {name} runs in {} and may be invoked only by Secrets Manager for this account",
                configuration.name,
                match audited.vpc {
                    Some(audited) if configuration.vpc_id.as_deref() == Some(audited) => audited.to_owned(),
                    Some(audited) => format!("{audited} (its subnets {} are there)", subnets.join(", ")),
                    None => configuration.vpc_id.clone().unwrap_or_else(|| "a VPC".to_owned()),
                }
            ),
        )
    } else {
        context.fail(
            def,
            arn,
            format!(
                "rotation function {} of secret {name}: {}",
                configuration.name,
                faults.join("; ")
            ),
        )
    }
}

/// A function that is not Active, or whose last update failed, cannot run a
/// rotation (Lambda developer guide, "Lambda function states").
fn state_faults(configuration: &FunctionConfiguration) -> Vec<String> {
    let mut faults = Vec::new();
    if let Some(state) = configuration.state.as_deref()
        && !state.eq_ignore_ascii_case("Active")
    {
        faults.push(format!("its state is {state} (expected Active)"));
    }
    if let Some(status) = configuration.last_update_status.as_deref()
        && status.eq_ignore_ascii_case("Failed")
    {
        faults.push("its last update failed (LastUpdateStatus Failed)".to_owned());
    }
    faults
}

/// Where the function runs: its faults (outside the audited VPC, or apart from
/// the database's), and why the database's VPC could not be compared, if so.
fn placement_faults(
    context: &Context<'_>,
    secret: &Secret,
    configuration: &FunctionConfiguration,
    audited: &Audited<'_>,
) -> (Vec<String>, Option<String>) {
    let mut faults = Vec::new();
    // Its subnets are evidence as good as its VpcId: a function attached to
    // subnets of the audited VPC runs in it.
    let subnets = &configuration.subnet_ids;
    let in_audited = |vpc: &str| {
        configuration.vpc_id.as_deref() == Some(vpc)
            || (!subnets.is_empty() && subnets.iter().all(|s| audited.subnets.contains(s.as_str())))
    };
    match (
        configuration.vpc_id.as_deref().filter(|v| !v.is_empty()),
        audited.vpc,
    ) {
        (None, _) if secret.primary && subnets.is_empty() => {
            faults.push("it does not run in a VPC (expected the audited VPC)".to_owned());
        }
        (vpc, Some(audited)) if secret.primary && !in_audited(audited) => faults.push(format!(
            "it runs in {} (subnets {}), expected {audited}",
            vpc.unwrap_or("an unknown VPC"),
            if subnets.is_empty() {
                "none".to_owned()
            } else {
                subnets.join(", ")
            }
        )),
        _ => {}
    }
    // The VPC it runs in: the audited one when its subnets are there.
    let function_vpc = match audited.vpc {
        Some(audited) if in_audited(audited) => Some(audited),
        _ => configuration.vpc_id.as_deref(),
    };
    let mut unknown = None;
    if secret.primary {
        match database_vpc_fault(context, function_vpc) {
            Ok(fault) => faults.extend(fault),
            Err(why) => unknown = Some(why),
        }
    }
    (faults, unknown)
}

/// Who may invoke the function and whether it may run: its resource policy, its
/// reserved concurrency and its function URL, into `faults` and `not_proven`;
/// `Err` for a finding that decides alone (an unknown account, an unread input).
fn access_faults(
    context: &Context<'_>,
    secret: &Secret,
    record: &FunctionRecord,
    configuration: &FunctionConfiguration,
    (faults, not_proven): (&mut Vec<String>, &mut Vec<String>),
) -> Result<(), Box<Finding>> {
    let def = &DEFINITION;
    let (arn, name) = (record.arn.as_str(), &secret.name);
    match &record.policy {
        Collected::Ok(Some(_)) if context.account_id.is_none() => {
            return Err(Box::new(context.finding(
                def,
                crate::finding::Status::Error,
                arn,
                format!("rotation function {} of secret {name}: the audited account is unknown (sts:GetCallerIdentity failed), so who may invoke it cannot be judged; grant the auditor sts:GetCallerIdentity", configuration.name),
            )));
        }
        Collected::Ok(Some(document)) => {
            if let Err(fault) = invoke_policy_allows_secrets_manager(document, context.account_id) {
                faults.push(fault);
            }
            let account = context.account_id.unwrap_or_default();
            match secrets_manager_may_invoke(document, arn, account, &secret.arn) {
                Invocation::Allowed => {}
                Invocation::Refused(fault) => faults.push(fault),
                Invocation::NotProven(why) => not_proven.push(why),
            }
        }
        Collected::Ok(None) => {
            faults
                .push("it has no resource policy, so Secrets Manager cannot invoke it".to_owned());
        }
        other => {
            if let Some(finding) = context.missing(def, arn, other) {
                return Err(Box::new(finding));
            }
        }
    }
    // An unread reservation keeps the verdict undecided, but never hides a FAIL
    // already found (an audit role from an earlier --print-policy may lack the
    // call).
    match &record.reserved_concurrency {
        Collected::Ok(reserved) => faults.extend(throttled(*reserved)),
        Collected::Failed(error) => not_proven.push(format!(
            "its reserved concurrency could not be read ({}: {})",
            error.action, error.message
        )),
        Collected::Skipped(reason) => {
            not_proven.push(format!("its reserved concurrency was not read ({reason})"));
        }
    }
    // A function URL without IAM auth lets anyone call it (Prowler
    // `awslambda_function_url_public`: AuthType NONE fails).
    match &record.url_auth_type {
        Collected::Ok(Some(auth)) if auth.eq_ignore_ascii_case("NONE") => faults.push(
            "it has a function URL with AuthType NONE, so anyone on the internet may invoke it"
                .to_owned(),
        ),
        Collected::Ok(_) => {}
        other => {
            if let Some(finding) = context.missing(def, arn, other) {
                return Err(Box::new(finding));
            }
        }
    }
    Ok(())
}

/// The function reaches the database over its own VPC: the database's VPC
/// (its DB subnet group's) must be the function's, or peered with it. A Lambda
/// function in a VPC reaches only what that VPC routes to (Lambda developer
/// guide, "Giving Lambda functions access to resources in an Amazon VPC"); an
/// active peering connection between the two is read
/// (`DescribeVpcPeeringConnections`; its routes are not, and a transit gateway
/// is not followed). `Err` when the peerings could not be read.
fn database_vpc_fault(
    context: &Context<'_>,
    function_vpc: Option<&str>,
) -> Result<Option<String>, String> {
    let Some(database) = context.region.database.ok().and_then(Option::as_ref) else {
        return Ok(None);
    };
    let (Some(database_vpc), Some(function_vpc)) = (
        database.vpc_id.as_deref().filter(|v| !v.is_empty()),
        function_vpc.filter(|v| !v.is_empty()),
    ) else {
        return Ok(None);
    };
    if database_vpc == function_vpc {
        return Ok(None);
    }
    let peerings = match &context.region.vpc_peerings {
        Collected::Ok(peerings) => peerings,
        Collected::Failed(error) => {
            return Err(format!(
                "it runs in {function_vpc} and database {} in {database_vpc}, and whether they are peered is unknown: {}",
                database.id,
                error.describe()
            ));
        }
        Collected::Skipped(reason) => {
            return Err(format!(
                "it runs in {function_vpc} and database {} in {database_vpc}, and whether they are peered is unknown: {reason}",
                database.id
            ));
        }
    };
    let peered = peerings.iter().any(|p| {
        (p.requester_vpc == function_vpc && p.accepter_vpc == database_vpc)
            || (p.requester_vpc == database_vpc && p.accepter_vpc == function_vpc)
    });
    Ok((!peered).then(|| {
        format!(
            "it runs in {function_vpc} but database {} is in {database_vpc}, with no active peering connection between them (transit gateways are not followed by the audit): run the function in {database_vpc}",
            database.id
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::finding::Status;
    use crate::inventory::Collected;

    #[test]
    fn the_function_must_exist_run_in_the_vpc_and_be_invocable_by_secrets_manager_only() {
        let change = |f: &dyn Fn(&mut crate::inventory::FunctionRecord)| {
            let mut region = compliant_region();
            f(&mut region.functions[0]);
            status_and_message(region, "secret.rotation.function")
        };
        assert_eq!(change(&|_| {}).0, Status::Pass);
        let (status, message) = change(&|f| f.configuration = Collected::Ok(None));
        assert_eq!(status, Status::Fail);
        assert!(message.contains("does not exist"));
        let (status, message) = change(&|f| {
            if let Collected::Ok(Some(c)) = &mut f.configuration {
                c.vpc_id = None;
                c.subnet_ids.clear();
            }
        });
        assert_eq!(status, Status::Fail);
        assert!(message.contains("does not run in a VPC"));
        let (status, _) = change(&|f| {
            if let Collected::Ok(Some(c)) = &mut f.configuration {
                c.vpc_id = Some("vpc-reported-otherwise".to_owned());
            }
        });
        assert_eq!(
            status,
            Status::Pass,
            "subnets of the audited VPC are evidence enough"
        );
        let (status, message) = change(&|f| {
            if let Collected::Ok(Some(c)) = &mut f.configuration {
                c.vpc_id = Some("vpc-other".to_owned());
                c.subnet_ids = vec!["subnet-elsewhere".to_owned()];
            }
        });
        assert_eq!(status, Status::Fail);
        assert!(message.contains("vpc-other"));
        // The database in another VPC than the function (and the audited VPC).
        let mut region = compliant_region();
        let database_vpc = "vpc-databases";
        if let Collected::Ok(Some(database)) = &mut region.database {
            database.vpc_id = Some(database_vpc.to_owned());
        }
        let function_vpc = region
            .vpc
            .ok()
            .and_then(Option::as_ref)
            .map(|v| v.id.clone())
            .expect("the fixture's VPC");
        let (status, message) = status_and_message(region.clone(), "secret.rotation.function");
        assert_eq!(status, Status::Fail);
        assert!(message.contains(database_vpc), "{message}");
        assert!(message.contains(&function_vpc), "{message}");
        // Peered: reachable as far as the audit reads.
        let mut peered = region.clone();
        peered.vpc_peerings = Collected::Ok(vec![crate::inventory::VpcPeering {
            id: "pcx-1".to_owned(),
            requester_vpc: database_vpc.to_owned(),
            accepter_vpc: function_vpc.clone(),
        }]);
        assert_eq!(
            status_and_message(peered, "secret.rotation.function").0,
            Status::Pass
        );
        // The peerings unread: unknown, not FAIL.
        let mut unread = region;
        unread.vpc_peerings = Collected::Failed(denied("ec2:DescribeVpcPeeringConnections"));
        let (status, message) = status_and_message(unread, "secret.rotation.function");
        assert_eq!(status, Status::Error, "{message}");
        assert!(
            message.contains("ec2:DescribeVpcPeeringConnections"),
            "{message}"
        );
        let (status, _) = change(&|f| f.policy = Collected::Ok(None));
        assert_eq!(status, Status::Fail);
        let (status, message) =
            change(&|f| f.policy = Collected::Failed(denied("lambda:GetPolicy")));
        assert_eq!(status, Status::Error);
        assert!(message.contains("lambda:GetPolicy"));
        let (status, message) = change(&|f| {
            f.configuration = Collected::Failed(denied("lambda:GetFunctionConfiguration"));
        });
        assert_eq!(status, Status::Error);
        assert!(message.contains("lambda:GetFunctionConfiguration"));
        let (status, message) = status_and_message(
            with_secret(|s| s.rotation_lambda_arn = None),
            "secret.rotation.function",
        );
        assert_eq!(status, Status::Fail);
        assert!(message.contains("names no rotation function"));
    }

    #[test]
    #[allow(clippy::too_many_lines)] // a table of cases
    fn invoke_policies_let_only_secrets_manager_of_this_account_invoke() {
        use serde_json::json;
        let sm = json!({"Service": "secretsmanager.amazonaws.com"});
        let pinned = json!({"StringEquals": {"aws:SourceAccount": ACCOUNT}});
        let good = json!({"Sid": "SecretsManagerAccess", "Effect": "Allow", "Principal": sm, "Action": "lambda:InvokeFunction", "Condition": pinned});
        let secret_arn = format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:*");
        let cases: Vec<(&str, Vec<Value>, Option<&str>)> = vec![
            ("the tutorial's statement", vec![good.clone()], None),
            (
                "ArnLike on aws:SourceArn",
                vec![
                    json!({"Effect": "Allow", "Principal": sm, "Action": "lambda:InvokeFunction",
                "Condition": {"ArnLike": {"AWS:SourceArn": secret_arn}}}),
                ],
                None,
            ),
            (
                "a deny besides",
                vec![
                    good.clone(),
                    json!({"Effect": "Deny", "Principal": "*", "Action": "lambda:*"}),
                ],
                None,
            ),
            (
                "another action only",
                vec![
                    good.clone(),
                    json!({"Effect": "Allow", "Principal": "*", "Action": "lambda:GetFunction"}),
                ],
                None,
            ),
            (
                "no statement for secrets manager",
                vec![
                    json!({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "lambda:GetPolicy"}),
                ],
                Some("does not allow secretsmanager.amazonaws.com"),
            ),
            (
                "no condition",
                vec![
                    json!({"Effect": "Allow", "Principal": sm, "Action": ["lambda:InvokeFunction"]}),
                ],
                Some("aws:SourceAccount"),
            ),
            (
                "another account",
                vec![
                    json!({"Effect": "Allow", "Principal": sm, "Action": "lambda:InvokeFunction",
                "Condition": {"StringEquals": {"aws:SourceAccount": "999999999999"}}}),
                ],
                Some("999999999999"),
            ),
            (
                "an extra account in the condition",
                vec![
                    json!({"Effect": "Allow", "Principal": sm, "Action": "lambda:InvokeFunction",
                "Condition": {"StringEquals": {"aws:SourceAccount": [ACCOUNT, "999999999999"]}}}),
                ],
                Some("not only this account"),
            ),
            (
                "a negated operator",
                vec![
                    json!({"Effect": "Allow", "Principal": sm, "Action": "lambda:InvokeFunction",
                "Condition": {"StringNotEquals": {"aws:SourceAccount": "999999999999"}}}),
                ],
                Some("StringNotEquals"),
            ),
            (
                "an IfExists operator",
                vec![
                    json!({"Effect": "Allow", "Principal": sm, "Action": "lambda:InvokeFunction",
                "Condition": {"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}}),
                ],
                Some("StringEqualsIfExists"),
            ),
            (
                "a wildcard account in the ARN",
                vec![
                    json!({"Effect": "Allow", "Principal": sm, "Action": "lambda:InvokeFunction",
                "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:secretsmanager:*:*:secret:*"}}}),
                ],
                Some("not only this account"),
            ),
            (
                "public after a good statement",
                vec![
                    good.clone(),
                    json!({"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction"}),
                ],
                Some("statement Open lets * invoke it (public)"),
            ),
            (
                "AWS * via lambda:*",
                vec![
                    good.clone(),
                    json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "lambda:*"}),
                ],
                Some("(public)"),
            ),
            (
                "another account's principal",
                vec![
                    good.clone(),
                    json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "lambda:Invoke*"}),
                ],
                Some("arn:aws:iam::999999999999:root"),
            ),
            (
                "a function URL for everyone",
                vec![
                    good.clone(),
                    json!({"Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunctionUrl",
                "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}}),
                ],
                Some("(public)"),
            ),
            (
                "NotPrincipal",
                vec![
                    good.clone(),
                    json!({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}, "Action": "lambda:InvokeFunction"}),
                ],
                Some("NotPrincipal"),
            ),
            (
                "NotAction",
                vec![
                    good.clone(),
                    json!({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "NotAction": "lambda:GetPolicy"}),
                ],
                Some("events.amazonaws.com"),
            ),
            (
                "a second service in the statement",
                vec![
                    json!({"Effect": "Allow", "Principal": {"Service": ["secretsmanager.amazonaws.com", "events.amazonaws.com"]}, "Action": "lambda:InvokeFunction", "Condition": pinned}),
                ],
                Some("events.amazonaws.com"),
            ),
        ];
        for (name, statements, fault) in cases {
            let document = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
            let result = invoke_policy_allows_secrets_manager(&document, Some(ACCOUNT));
            match fault {
                None => assert_eq!(result, Ok(()), "{name}"),
                Some(text) => {
                    let error = result.expect_err(name);
                    assert!(error.contains(text), "{name}: {error}");
                }
            }
        }
        let one = |s: Value| json!({"Statement": s}).to_string();
        assert!(invoke_policy_allows_secrets_manager(&one(good.clone()), None).is_err());
        assert!(invoke_policy_allows_secrets_manager("not json", Some(ACCOUNT)).is_err());

        // An unknown account is an ERROR naming sts:GetCallerIdentity, not a PASS.
        let mut inventory = compliant_inventory();
        inventory.metadata.account_id = None;
        let findings = crate::checks::evaluate(&inventory, &crate::policy::Policy::default());
        let finding = findings
            .iter()
            .find(|f| f.check_id == "secret.rotation.function")
            .expect("finding");
        assert_eq!(finding.status, Status::Error, "{}", finding.message);
        assert!(finding.message.contains("sts:GetCallerIdentity"));
    }

    #[test]
    fn a_public_function_url_fails() {
        let mut region = compliant_region();
        region.functions[0].url_auth_type = Collected::Ok(Some("NONE".to_owned()));
        let (status, message) = status_and_message(region.clone(), "secret.rotation.function");
        assert_eq!(status, Status::Fail);
        assert!(message.contains("AuthType NONE"), "{message}");
        region.functions[0].url_auth_type = Collected::Ok(Some("AWS_IAM".to_owned()));
        assert_eq!(
            status_and_message(region.clone(), "secret.rotation.function").0,
            Status::Pass
        );
        region.functions[0].url_auth_type =
            Collected::Failed(denied("lambda:GetFunctionUrlConfig"));
        let (status, message) = status_and_message(region, "secret.rotation.function");
        assert_eq!(status, Status::Error);
        assert!(message.contains("lambda:GetFunctionUrlConfig"));
    }

    #[test]
    fn a_function_that_is_not_active_fails() {
        for (state, update, expected) in [
            (Some("Active"), Some("InProgress"), Status::Pass),
            (Some("Failed"), None, Status::Fail),
            (Some("Inactive"), Some("Successful"), Status::Fail),
            (Some("Active"), Some("Failed"), Status::Fail),
        ] {
            let mut region = compliant_region();
            if let Collected::Ok(Some(c)) = &mut region.functions[0].configuration {
                c.state = state.map(str::to_owned);
                c.last_update_status = update.map(str::to_owned);
            }
            let (status, message) = status_and_message(region, "secret.rotation.function");
            assert_eq!(status, expected, "{state:?} {update:?}: {message}");
        }
    }
}
