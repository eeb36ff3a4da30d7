//! Secret rotation checks: schedule, function, admin link, health.
//!
//! The schedule and health checks run on every secret in scope (with
//! `--all-secrets`, every secret of the region, from the same `ListSecrets` pages);
//! the admin link needs the secret's value and runs only on the primary secrets
//! and only with `--read-secrets`. The admin link also fails when the secret's
//! user holds a privilege RDS's master user never holds: the master cannot copy
//! it to the alternate user, so every rotation stops in setSecret.

use std::collections::BTreeSet;

use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use super::invocation::{Invocation, secrets_manager_may_invoke, throttled};
use super::policies::{action_matches, principals_of, strings};
use super::{CheckDefinition, Context, Finding, Severity};
use crate::inventory::{Collected, Secret};

pub const ROTATION_SCHEDULE: CheckDefinition = CheckDefinition {
    id: "secret.rotation.schedule",
    title: "Secret rotation is enabled on the expected schedule and window",
    severity: Severity::Medium,
    resource_type: "AwsSecretsManagerSecret",
    remediation: "aws secretsmanager rotate-secret --secret-id <secret> --rotation-rules '{\"ScheduleExpression\":\"rate(2 days)\",\"Duration\":\"2h\"}' (use the policy's schedule and window)",
    compliance: &["AWS-FSBP:SecretsManager.1"],
    references: &[
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html",
    ],
};

pub const ROTATION_FUNCTION: CheckDefinition = CheckDefinition {
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

pub const ADMIN_LINKED: CheckDefinition = CheckDefinition {
    id: "secret.rotation.admin-linked",
    title: "The secret's masterarn names the database's RDS-managed admin secret",
    severity: Severity::High,
    resource_type: "AwsSecretsManagerSecret",
    remediation: "Set the secret's masterarn key to the ARN of the RDS-managed admin secret of the same instance (DescribeDBInstances MasterUserSecret.SecretArn) with put-secret-value, keeping the other keys; if the secret's user holds what RDS's master user never holds (SUPER, FILE, SHUTDOWN, SYSTEM_USER), revoke it from the user and its clone, since the master cannot copy it to the alternate user",
    compliance: &[],
    references: &[
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/tutorials_rotation-alternating.html",
    ],
};

pub const ROTATION_HEALTHY: CheckDefinition = CheckDefinition {
    id: "secret.rotation.healthy",
    title: "Secret rotated on schedule with no rotation stuck",
    severity: Severity::High,
    resource_type: "AwsSecretsManagerSecret",
    remediation: "Read the rotation function's logs for the failing step and fix it. Secrets Manager retries a failed rotation by itself and refuses new ones while AWSPENDING sits on another version than AWSCURRENT; once the log shows no more attempts, remove that label (aws secretsmanager update-secret-version-stage --secret-id <secret> --version-stage AWSPENDING --remove-from-version-id <pending version>, as the CancelRotateSecret documentation describes), then aws secretsmanager rotate-secret --secret-id <secret>. Single-user secrets: if AWSCURRENT no longer logs in but the pending version does (setSecret ran), move AWSCURRENT to the pending version instead (--move-to-version-id). A secret another service manages (RDS): that service rotates it; see its events",
    compliance: &["AWS-FSBP:SecretsManager.2", "AWS-FSBP:SecretsManager.4"],
    references: &[
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html",
    ],
};

/// Runs `check` on each secret in scope; secrets asked for by name that do not
/// exist fail, and a failed listing is one ERROR.
fn each_secret(
    context: &Context<'_>,
    def: &CheckDefinition,
    only_primary: bool,
    check: impl Fn(&Secret) -> Finding,
) -> Vec<Finding> {
    let mut findings: Vec<Finding> = context
        .region
        .missing_secrets
        .iter()
        .map(|name| {
            context.fail(
                def,
                name,
                format!("secret {name} was not found; expected the tutorial's application secret"),
            )
        })
        .collect();
    // A secret that could not be described is an ERROR of its own; the others
    // are still judged.
    findings.extend(
        context
            .region
            .failed_secrets
            .iter()
            .map(|failed| context.error(def, &failed.id, &failed.error)),
    );
    match &context.region.secrets {
        Collected::Ok(secrets) => findings.extend(
            secrets
                .iter()
                .filter(|s| !only_primary || s.primary)
                .map(check),
        ),
        other => findings.extend(context.missing(def, &context.scope.secret_ids.join(","), other)),
    }
    if findings.is_empty() {
        findings.push(context.skip(def, "secrets", "no secret in scope"));
    }
    findings
}

/// A secret's schedule: the expression as stated and its longest interval in
/// hours, a `cron()` simulated from `today` (the collection's date).
fn schedule_of(secret: &Secret, today: time::Date) -> Result<(String, i64), String> {
    if let Some(expression) = secret
        .schedule_expression
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        return super::schedule::max_interval_hours(expression, today)
            .map(|hours| (expression.to_owned(), hours));
    }
    match secret.automatically_after_days {
        Some(days) if days > 0 => Ok((format!("AutomaticallyAfterDays {days}"), days * 24)),
        _ => Err("no schedule".to_owned()),
    }
}

/// `Nh` → N.
fn window_hours(duration: &str) -> Option<u32> {
    duration
        .trim()
        .strip_suffix('h')
        .and_then(|n| n.parse().ok())
}

fn secret_resource(secret: &Secret) -> String {
    if secret.arn.is_empty() {
        secret.name.clone()
    } else {
        secret.arn.clone()
    }
}

/// Most hours a secret rotated by another service may go without a rotation:
/// its own schedule, or the policy's `admin_max_rotation_days` if shorter, plus
/// a day, because such rotations have no window and may run any time on the
/// scheduled UTC day (RotationRulesType: "for a ScheduleExpression in days, the
/// window automatically closes at the end of the UTC day"). RDS rotates its
/// managed secrets every 7 days by default (Amazon RDS User Guide, "Password
/// management with Amazon RDS and AWS Secrets Manager").
fn owned_max_hours(secret: &Secret, context: &Context<'_>) -> i64 {
    let most = i64::from(context.policy.admin_max_rotation_days) * 24;
    schedule_of(secret, context.now.date()).map_or(most, |(_, hours)| hours.min(most)) + 24
}

pub fn rotation_schedule(context: &Context<'_>) -> Vec<Finding> {
    let def = &ROTATION_SCHEDULE;
    let days = i64::from(context.policy.rotation_days);
    let window = context.policy.rotation_window_hours;
    let expected = format!(
        "expected rotation enabled at least every {days} days (e.g. rate({days} days), rate({} hours) or AutomaticallyAfterDays {days}) with a window (Duration) of at most {window}h",
        days * 24
    );
    each_secret(context, def, false, |secret| {
        let resource = secret_resource(secret);
        let name = &secret.name;
        if let Some(service) = secret.owner() {
            // Another service owns it and sets its schedule; the policy's
            // schedule is for secrets rotated by a function, and its
            // `admin_max_rotation_days` bounds this one. It must still rotate.
            let most = i64::from(context.policy.admin_max_rotation_days);
            if let Ok((stated, hours)) = schedule_of(secret, context.now.date())
                && hours > most * 24
            {
                return context.fail(
                    def,
                    &resource,
                    format!("secret {name} is managed by {service}, whose schedule {stated} rotates it as rarely as every {hours} hours; expected at least every {most} days (policy admin_max_rotation_days)"),
                );
            }
            return if secret.rotation_enabled == Some(true) {
                context.pass(
                    def,
                    &resource,
                    format!(
                        "secret {name} is managed by {service}, which rotates it on its own schedule ({}); the policy's schedule applies to secrets rotated by a function",
                        schedule_of(secret, context.now.date()).map_or_else(|_| "no schedule reported".to_owned(), |(s, _)| s)
                    ),
                )
            } else {
                // The owning service decides (RDS rotates its managed secrets every
                // 7 days by default); its RotationEnabled is not the policy's to judge.
                // secret.rotation.healthy still measures its age by that schedule.
                context.skip(
                    def,
                    &resource,
                    &format!("secret {name} is managed by {service}, which rotates it by its own rules; it reports RotationEnabled false, so its schedule is not judged here (its age is, in secret.rotation.healthy)"),
                )
            };
        }
        if secret.rotation_enabled != Some(true) {
            return context.fail(
                def,
                &resource,
                format!("secret {name} has rotation disabled; {expected}"),
            );
        }
        let mut faults = Vec::new();
        let stated = match schedule_of(secret, context.now.date()) {
            Ok((stated, hours)) if hours <= days * 24 => stated,
            Ok((stated, hours)) => {
                faults.push(format!(
                    "schedule {stated} rotates as rarely as every {hours} hours"
                ));
                stated
            }
            Err(why) => {
                faults.push(format!("schedule cannot be judged: {why}"));
                String::new()
            }
        };
        match secret.duration.as_deref() {
            None => faults.push("no rotation window (Duration)".to_owned()),
            Some(duration) => match window_hours(duration) {
                Some(hours) if hours <= window => {}
                _ => faults.push(format!("window is {duration}")),
            },
        }
        if faults.is_empty() {
            context.pass(
                def,
                &resource,
                format!(
                    "secret {name} rotates on {stated} (at most every {days} days) within a {}-hour window",
                    secret.duration.as_deref().and_then(window_hours).unwrap_or(window)
                ),
            )
        } else {
            context.fail(
                def,
                &resource,
                format!("secret {name}: {}; {expected}", faults.join(", ")),
            )
        }
    })
}

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
    let statements = super::policies::statements(document)?;
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

#[allow(clippy::too_many_lines)] // one check: its conditions in the order its findings report them
pub fn rotation_function(context: &Context<'_>) -> Vec<Finding> {
    let def = &ROTATION_FUNCTION;
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
    each_secret(context, def, false, |secret| {
        let name = &secret.name;
        if let Some(service) = &secret.owning_service {
            return context.skip(def, &secret_resource(secret), &format!("secret {name} is managed by {service}, which rotates it without a Lambda function"));
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
        let mut faults = Vec::new();
        let mut not_proven: Vec<String> = Vec::new();
        // A function that is not Active, or whose last update failed, cannot run
        // a rotation (Lambda developer guide, "Lambda function states").
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
        // Its subnets are evidence as good as its VpcId: a function attached to
        // subnets of the audited VPC runs in it.
        let subnets = &configuration.subnet_ids;
        let in_audited = |audited: &str| {
            configuration.vpc_id.as_deref() == Some(audited)
                || (!subnets.is_empty() && subnets.iter().all(|s| vpc_subnets.contains(s.as_str())))
        };
        match (
            configuration.vpc_id.as_deref().filter(|v| !v.is_empty()),
            audited_vpc,
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
        let function_vpc = match audited_vpc {
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
        match &record.policy {
            Collected::Ok(Some(_)) if context.account_id.is_none() => {
                return context.finding(
                    def,
                    super::Status::Error,
                    arn,
                    format!("rotation function {} of secret {name}: the audited account is unknown (sts:GetCallerIdentity failed), so who may invoke it cannot be judged; grant the auditor sts:GetCallerIdentity", configuration.name),
                );
            }
            Collected::Ok(Some(document)) => {
                if let Err(fault) =
                    invoke_policy_allows_secrets_manager(document, context.account_id)
                {
                    faults.push(fault);
                }
                let account = context.account_id.unwrap_or_default();
                match secrets_manager_may_invoke(document, arn, account, &secret.arn) {
                    Invocation::Allowed => {}
                    Invocation::Refused(fault) => faults.push(fault),
                    Invocation::NotProven(why) => not_proven.push(why),
                }
            }
            Collected::Ok(None) => faults
                .push("it has no resource policy, so Secrets Manager cannot invoke it".to_owned()),
            other => {
                if let Some(finding) = context.missing(def, arn, other) {
                    return finding;
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
                    return finding;
                }
            }
        }
        if let Some(why) = unknown {
            not_proven.push(why);
        }
        if faults.is_empty() && !not_proven.is_empty() {
            return context.finding(
                def,
                super::Status::Error,
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
            context.pass(
                def,
                arn,
                format!(
                    "rotation function {} of secret {name} runs in {} and may be invoked only by Secrets Manager for this account",
                    configuration.name,
                    match audited_vpc {
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
    })
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

pub fn admin_linked(context: &Context<'_>) -> Vec<Finding> {
    let def = &ADMIN_LINKED;
    each_secret(context, def, true, |secret| {
        let resource = secret_resource(secret);
        let name = &secret.name;
        if !context.scope.read_secrets {
            return context.skip(
                def,
                &resource,
                "reads the secret's value (masterarn); run with --read-secrets",
            );
        }
        let Some(record) = context
            .region
            .secret_values
            .iter()
            .find(|r| r.secret_arn == secret.arn)
        else {
            return context.skip(
                def,
                &resource,
                &format!("the value of secret {name} was not read"),
            );
        };
        let facts = match &record.facts {
            Collected::Ok(facts) => facts,
            other => {
                return context
                    .missing(def, &resource, other)
                    .unwrap_or_else(|| context.skip(def, &resource, "not read"));
            }
        };
        let Some(masterarn) = facts.masterarn.as_deref() else {
            return context.fail(def, &resource, format!("secret {name}: key `masterarn` is missing; alternating-users rotation needs the ARN of the RDS-managed admin secret"));
        };
        let admin = match context
            .region
            .admin_secrets
            .iter()
            .find(|a| a.arn == masterarn)
            .map(|a| &a.secret)
        {
            Some(Collected::Ok(Some(admin))) => admin,
            Some(Collected::Ok(None)) => {
                return context.fail(def, &resource, format!("secret {name}: masterarn names {masterarn}, which does not exist; expected the RDS-managed admin secret"));
            }
            Some(other) => {
                return context
                    .missing(def, &resource, other)
                    .unwrap_or_else(|| context.skip(def, &resource, "not read"));
            }
            None => {
                return context.skip(
                    def,
                    &resource,
                    &format!("admin secret {masterarn} was not described"),
                );
            }
        };
        if admin.deleted_date.is_some() {
            return context.fail(def, &resource, format!("secret {name}: masterarn names {masterarn}, which is scheduled for deletion; expected a live RDS-managed admin secret"));
        }
        let owner = admin
            .owning_service
            .as_deref()
            .or_else(|| admin.tag("aws:secretsmanager:owningService"));
        if !owner.is_some_and(|o| o.eq_ignore_ascii_case("rds")) {
            return context.fail(
                def,
                &resource,
                format!("secret {name}: masterarn names {masterarn}, owned by {}; expected a secret managed by RDS (OwningService rds)", owner.unwrap_or("no service")),
            );
        }
        let db = match &context.region.database {
            Collected::Ok(Some(db)) => db,
            Collected::Ok(None) => {
                return context.fail(def, &resource, format!("secret {name}: RDS instance {} was not found, so its admin secret cannot be confirmed", context.scope.db_instance_id));
            }
            other => {
                return context
                    .missing(def, &resource, other)
                    .unwrap_or_else(|| context.skip(def, &resource, "no database"));
            }
        };
        match admin.tag("aws:rds:primaryDBInstanceArn") {
            Some(instance) if instance.eq_ignore_ascii_case(&db.arn) => {
                // The admin is RDS's master user: it cannot give the alternate user
                // what it never holds itself.
                let record = context
                    .region
                    .grants
                    .iter()
                    .find(|g| g.secret_arn == secret.arn);
                let mut beyond = record
                    .and_then(|g| g.rows.ok())
                    .map(|rows| super::grants::beyond_rds_master(rows))
                    .unwrap_or_default();
                // The other user of the pair (AWSPREVIOUS) is the one the next
                // rotation's setSecret grants from; when it could not be read the
                // link is not proven (ERROR), never a silent PASS.
                if let Some(other) = record.and_then(|g| g.other_user.as_ref()) {
                    match &other.rows {
                        Collected::Ok(rows) => beyond.extend(
                            super::grants::beyond_rds_master(rows)
                                .into_iter()
                                .map(|held| format!("{held} (user {}, the other user of the pair, named by AWSPREVIOUS)", other.username)),
                        ),
                        unread => {
                            if let Some(finding) = context.missing(def, &resource, unread) {
                                return finding;
                            }
                        }
                    }
                }
                if beyond.is_empty() {
                    context.pass(def, &resource, format!("secret {name}: masterarn names {masterarn}, the RDS-managed admin secret of {}", db.id))
                } else {
                    context.fail(def, &resource, format!("secret {name}: masterarn names {masterarn}, the RDS-managed admin secret of {}, but the secret's user holds {}, which RDS's master user never holds and so cannot grant to the alternate user: the rotation stops in setSecret; revoke it from the user (and its clone)", db.id, beyond.join("; ")))
                }
            }
            Some(instance) => context.fail(def, &resource, format!("secret {name}: masterarn names {masterarn}, the admin secret of {instance}; expected the admin secret of {}", db.arn)),
            None => context.fail(def, &resource, format!("secret {name}: masterarn names {masterarn}, which has no aws:rds:primaryDBInstanceArn tag; expected the admin secret of {}", db.arn)),
        }
    })
}

/// The version staged `AWSPENDING` apart from `AWSCURRENT`, and the current one.
fn pending_version(secret: &Secret) -> (Option<&str>, Option<&str>) {
    let current = secret
        .versions_to_stages
        .iter()
        .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
        .map(|(id, _)| id.as_str());
    let pending = secret
        .versions_to_stages
        .iter()
        .find(|(id, stages)| {
            stages.iter().any(|s| s == "AWSPENDING") && Some(id.as_str()) != current
        })
        .map(|(id, _)| id.as_str());
    (pending, current)
}

/// Hours a rotation may take: the secret's window (`Duration`), else the rest of
/// the UTC day, which is when Secrets Manager closes a window without a Duration
/// (RotationRulesType, Secrets Manager API reference).
fn rotation_window_hours(secret: &Secret) -> i64 {
    secret
        .duration
        .as_deref()
        .and_then(window_hours)
        .map_or(24, i64::from)
}

pub fn rotation_healthy(context: &Context<'_>) -> Vec<Finding> {
    let def = &ROTATION_HEALTHY;
    each_secret(context, def, false, |secret| {
        let resource = secret_resource(secret);
        let name = &secret.name;
        let owned_by = secret.owner();
        let max_hours = match owned_by {
            Some(_) => owned_max_hours(secret, context),
            None => context.policy.max_hours_since_rotation(),
        };
        let rules = owned_by.map_or_else(String::new, |service| {
            format!(" (managed by {service}, judged by its own schedule)")
        });
        let mut note = String::new();
        let (pending, current) = pending_version(secret);
        if let Some(pending) = pending {
            let window = rotation_window_hours(secret);
            let started = secret.pending_created_date;
            match started {
                // A rotation in progress is healthy until it outlasts its window.
                Some(started) if (context.now - started).whole_minutes() <= window * 60 => {
                    note = format!(
                        "; a rotation is in progress (AWSPENDING on version {pending} since {}, within its {window}-hour window)",
                        started.format(&Rfc3339).unwrap_or_default()
                    );
                }
                Some(started) => {
                    return context.fail(
                        def,
                        &resource,
                        format!("secret {name}{rules}: AWSPENDING is stuck on version {pending} (AWSCURRENT is {}) since {}, longer than its {window}-hour window: a rotation did not finish", current.unwrap_or("on no version"), started.format(&Rfc3339).unwrap_or_default()),
                    );
                }
                // Its start could not be read: in progress or stuck is unknown.
                None if secret.pending_date_error.is_some() => {
                    let error = secret
                        .pending_date_error
                        .as_ref()
                        .map(crate::inventory::CollectionError::describe)
                        .unwrap_or_default();
                    return context.finding(
                        def,
                        super::Status::Error,
                        &resource,
                        format!("secret {name}{rules}: version {pending} is staged AWSPENDING, and when it was created could not be read ({error}), so whether the rotation is in progress or stuck is unknown"),
                    );
                }
                None => {
                    return context.fail(
                        def,
                        &resource,
                        format!("secret {name}{rules}: AWSPENDING is stuck on version {pending} (AWSCURRENT is {}; when the rotation started is unknown): a rotation did not finish", current.unwrap_or("on no version")),
                    );
                }
            }
        }
        if secret.rotation_enabled != Some(true) && owned_by.is_none() {
            return context.fail(def, &resource, format!("secret {name}{rules} has rotation disabled, so it is never rotated; expected a rotation within {max_hours} hours"));
        }
        let (last, what) = match (secret.last_rotated_date, secret.created_date) {
            (Some(rotated), _) => (rotated, "last rotated"),
            (None, Some(created)) => (created, "never rotated; created"),
            (None, None) => return context.fail(def, &resource, format!("secret {name}{rules} reports neither a rotation nor a creation date; expected a rotation within {max_hours} hours")),
        };
        // A scheduled rotation whose window has closed without a rotation since
        // failed before staging AWSPENDING; waiting for the age limit would hide
        // it for a whole period. NextRotationDate is "the latest date that rotation
        // will occur" and stays, "in the past", when rotation fails (API reference,
        // DescribeSecret): the window's last second. An hour of grace for retries.
        if let Some(next) = secret.next_rotation_date
            && context.now - next > time::Duration::hours(1)
            && last < next
        {
            return context.fail(def, &resource, format!(
                "secret {name}{rules}: the rotation due by {} did not happen (its window has closed; {what} {}): a rotation failed before staging AWSPENDING",
                next.format(&Rfc3339).unwrap_or_default(),
                last.format(&Rfc3339).unwrap_or_default()
            ));
        }
        let age = context.now - last;
        let hours = age.whole_hours();
        let when = last.format(&Rfc3339).unwrap_or_default();
        if hours > max_hours {
            context.fail(def, &resource, format!("secret {name}{rules} {what} {when}, {} days ago; expected a rotation within {max_hours} hours", age.whole_days()))
        } else {
            let stuck = if note.is_empty() {
                ", and no rotation is stuck"
            } else {
                ""
            };
            context.pass(def, &resource, format!("secret {name}{rules} {what} {when} ({hours} hours before collection), within {max_hours} hours{stuck}{note}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::checks::Status;
    use crate::inventory::{Collected, RegionInventory};
    use std::collections::BTreeMap;

    fn with_secret(change: impl Fn(&mut Secret)) -> RegionInventory {
        let mut region = compliant_region();
        if let Collected::Ok(secrets) = &mut region.secrets {
            change(&mut secrets[0]);
        }
        region
    }

    fn status_and_message(region: RegionInventory, id: &str) -> (Status, String) {
        let findings = findings_of(region, id);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        (findings[0].status, findings[0].message.clone())
    }

    #[test]
    #[allow(clippy::too_many_lines)] // a table of cases
    fn schedules_equivalent_to_the_policy_pass() {
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            Option<i64>,
            Option<&'a str>,
            Status,
        );
        let cases: Vec<Case> = vec![
            (
                "rate(2 days), 2h",
                Some("rate(2 days)"),
                None,
                Some("2h"),
                Status::Pass,
            ),
            (
                "AutomaticallyAfterDays 2, 2h",
                None,
                Some(2),
                Some("2h"),
                Status::Pass,
            ),
            (
                "rate(30 days)",
                Some("rate(30 days)"),
                None,
                Some("2h"),
                Status::Fail,
            ),
            (
                "AutomaticallyAfterDays 30",
                None,
                Some(30),
                Some("2h"),
                Status::Fail,
            ),
            (
                "window 4h",
                Some("rate(2 days)"),
                None,
                Some("4h"),
                Status::Fail,
            ),
            ("no window", Some("rate(2 days)"), None, None, Status::Fail),
            (
                "cron",
                Some("cron(0 8 ? * MON *)"),
                None,
                Some("2h"),
                Status::Fail,
            ),
            // The policy's period is an upper bound (AWS Config's maximumAllowedRotationFrequency).
            (
                "rate(4 hours)",
                Some("rate(4 hours)"),
                None,
                Some("2h"),
                Status::Pass,
            ),
            (
                "rate(48 hours)",
                Some("rate(48 hours)"),
                None,
                Some("2h"),
                Status::Pass,
            ),
            (
                "rate(49 hours)",
                Some("rate(49 hours)"),
                None,
                Some("2h"),
                Status::Fail,
            ),
            (
                "rate(1 day)",
                Some("rate(1 day)"),
                None,
                Some("2h"),
                Status::Pass,
            ),
            (
                "cron every other day",
                Some("cron(0 8 */2 * ? *)"),
                None,
                Some("2h"),
                Status::Pass,
            ),
            (
                "cron on weekdays (72 h over the weekend)",
                Some("cron(0 8 ? * MON-FRI *)"),
                None,
                Some("2h"),
                Status::Fail,
            ),
            (
                "cron that cannot be judged",
                Some("cron(0 8 L * ? *)"),
                None,
                Some("2h"),
                Status::Fail,
            ),
            (
                "window 1h",
                Some("rate(2 days)"),
                None,
                Some("1h"),
                Status::Pass,
            ),
            ("no schedule", None, Some(0), Some("2h"), Status::Fail),
        ];
        for (name, expression, days, duration, status) in cases {
            let region = with_secret(|s| {
                s.schedule_expression = expression.map(str::to_owned);
                s.automatically_after_days = days;
                s.duration = duration.map(str::to_owned);
            });
            let (actual, message) = status_and_message(region, "secret.rotation.schedule");
            assert_eq!(actual, status, "{name}: {message}");
            if status == Status::Fail {
                assert!(
                    message.contains("SecretsManagerTutorialAppuser")
                        && message.contains("expected"),
                    "{name}: {message}"
                );
            }
        }
        let (status, message) = status_and_message(
            with_secret(|s| s.rotation_enabled = Some(false)),
            "secret.rotation.schedule",
        );
        assert_eq!(status, Status::Fail);
        assert!(message.contains("rotation disabled"));
        let (status, message) = status_and_message(
            with_secret(|s| s.schedule_expression = Some("rate(30 days)".to_owned())),
            "secret.rotation.schedule",
        );
        assert_eq!(status, Status::Fail);
        assert!(message.contains("rate(30 days)"), "{message}");
    }

    #[test]
    fn a_secret_that_fails_to_load_does_not_discard_the_others() {
        let mut region = compliant_region();
        region.failed_secrets = vec![crate::inventory::FailedSecret {
            id: "OtherAppuser".to_owned(),
            error: denied("secretsmanager:DescribeSecret"),
        }];
        let findings = findings_of(region, "secret.rotation.schedule");
        assert_eq!(findings.len(), 2, "{findings:#?}");
        let failed = findings
            .iter()
            .find(|f| f.resource == "OtherAppuser")
            .expect("error");
        assert_eq!(failed.status, Status::Error);
        assert!(failed.message.contains("secretsmanager:DescribeSecret"));
        let read = findings
            .iter()
            .find(|f| f.resource == SECRET_ARN)
            .expect("pass");
        assert_eq!(read.status, Status::Pass);
    }

    #[test]
    fn a_missing_or_denied_secret_is_reported() {
        let mut region = compliant_region();
        region.secrets = Collected::Ok(Vec::new());
        region.missing_secrets = vec!["SecretsManagerTutorialAppuser".to_owned()];
        let (status, message) = status_and_message(region, "secret.rotation.schedule");
        assert_eq!(status, Status::Fail);
        assert!(message.contains("was not found"));
        let mut region = compliant_region();
        region.secrets = Collected::Failed(denied("secretsmanager:DescribeSecret"));
        let (status, message) = status_and_message(region, "secret.rotation.healthy");
        assert_eq!(status, Status::Error);
        assert!(message.contains("secretsmanager:DescribeSecret"));
    }

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
    fn a_user_holding_what_the_rds_master_never_holds_fails_the_admin_link() {
        // (the user's rows, status, in the message)
        let table: &[(&[&str], Status, &str)] = &[
            (
                &["GRANT SELECT ON `tutorial`.* TO `appuser`@`%`"],
                Status::Pass,
                "the RDS-managed admin secret of",
            ),
            // PROCESS the master holds WITH GRANT OPTION: least privilege's
            // business, not the rotation's.
            (
                &["GRANT PROCESS ON *.* TO `appuser`@`%`"],
                Status::Pass,
                "the RDS-managed admin secret of",
            ),
            (
                &[
                    "GRANT FILE ON *.* TO `appuser`@`%`",
                    "GRANT SELECT ON `tutorial`.* TO `appuser`@`%`",
                ],
                Status::Fail,
                "holds FILE ON *.*, which RDS's master user never holds and so cannot grant to the alternate user",
            ),
        ];
        for (rows, status, text) in table {
            let mut region = compliant_region();
            region.grants[0].rows = Collected::Ok(rows.iter().map(|r| (*r).to_owned()).collect());
            let (got, message) = status_and_message(region, "secret.rotation.admin-linked");
            assert_eq!(got, *status, "{rows:?}: {message}");
            assert!(message.contains(text), "{message}");
        }
    }

    #[test]
    fn the_other_user_of_the_pair_is_judged_too_and_unread_is_not_proven() {
        // (the other user's rows, status, in the message)
        let table: &[(Collected<Vec<String>>, Status, &str)] = &[
            (
                clone_rows(None),
                Status::Pass,
                "the RDS-managed admin secret of",
            ),
            (
                clone_rows(Some("FILE")),
                Status::Fail,
                "holds FILE ON *.* (user appuser_clone, the other user of the pair, named by AWSPREVIOUS)",
            ),
            (
                Collected::Failed(crate::inventory::CollectionError {
                    action: "mysql:connect".to_owned(),
                    access_denied: false,
                    code: None,
                    message: "logging in as appuser_clone failed".to_owned(),
                }),
                Status::Error,
                "logging in as appuser_clone failed",
            ),
        ];
        for (rows, status, text) in table {
            let region = with_other_user(rows.clone());
            let (got, message) = status_and_message(region, "secret.rotation.admin-linked");
            assert_eq!(got, *status, "{rows:?}: {message}");
            assert!(message.contains(text), "{message}");
        }
    }

    #[test]
    fn the_admin_link_must_name_the_databases_rds_managed_secret() {
        let with_admin = |f: &dyn Fn(&mut RegionInventory)| {
            let mut region = compliant_region();
            f(&mut region);
            status_and_message(region, "secret.rotation.admin-linked")
        };
        assert_eq!(with_admin(&|_| {}).0, Status::Pass);
        let (status, message) = with_admin(&|r| r.admin_secrets[0].secret = Collected::Ok(None));
        assert_eq!(status, Status::Fail);
        assert!(
            message.contains("does not exist") && message.contains(ADMIN_ARN),
            "{message}"
        );
        let (status, message) = with_admin(&|r| {
            if let Collected::Ok(Some(s)) = &mut r.admin_secrets[0].secret {
                s.deleted_date = Some(at("2025-06-01T00:00:00Z"));
            }
        });
        assert_eq!(status, Status::Fail);
        assert!(message.contains("scheduled for deletion"));
        let (status, message) = with_admin(&|r| {
            if let Collected::Ok(Some(s)) = &mut r.admin_secrets[0].secret {
                s.owning_service = None;
                s.tags.clear();
            }
        });
        assert_eq!(status, Status::Fail);
        assert!(message.contains("OwningService rds"));
        let (status, message) = with_admin(&|r| {
            if let Collected::Ok(Some(s)) = &mut r.admin_secrets[0].secret {
                s.tags.remove("aws:rds:primaryDBInstanceArn");
                s.tags.insert(
                    "AWS:RDS:PRIMARYDBINSTANCEARN".to_owned(),
                    "arn:aws:rds:us-east-1:123456789012:db:other".to_owned(),
                );
            }
        });
        assert_eq!(status, Status::Fail);
        assert!(message.contains("db:other"), "{message}");
        let (status, _) = with_admin(&|r| {
            if let Collected::Ok(Some(s)) = &mut r.admin_secrets[0].secret {
                s.tags.insert(
                    "aws:rds:primaryDBInstanceArn".to_owned(),
                    DB_ARN.to_uppercase(),
                );
            }
        });
        assert_eq!(
            status,
            Status::Pass,
            "the instance ARN matches case-insensitively"
        );
        let (status, message) = with_admin(&|r| {
            if let Collected::Ok(facts) = &mut r.secret_values[0].facts {
                facts.masterarn = None;
            }
        });
        assert_eq!(status, Status::Fail);
        assert!(message.contains("`masterarn` is missing"));
        let (status, message) = with_admin(&|r| {
            r.secret_values[0].facts = Collected::Failed(denied("secretsmanager:GetSecretValue"));
        });
        assert_eq!(status, Status::Error);
        assert!(message.contains("secretsmanager:GetSecretValue"));

        let mut inventory = compliant_inventory();
        inventory.metadata.scope.read_secrets = false;
        let findings = crate::checks::evaluate(&inventory, &crate::policy::Policy::default());
        let finding = findings
            .iter()
            .find(|f| f.check_id == "secret.rotation.admin-linked")
            .expect("finding");
        assert_eq!(finding.status, Status::Skip);
        assert!(finding.message.contains("--read-secrets"));
    }

    #[test]
    fn health_needs_a_recent_rotation_and_no_stuck_pending_version() {
        assert_eq!(
            status_and_message(compliant_region(), "secret.rotation.healthy").0,
            Status::Pass
        );
        let (status, message) = status_and_message(
            with_secret(|s| s.last_rotated_date = Some(at("2025-05-01T00:00:00Z"))),
            "secret.rotation.healthy",
        );
        assert_eq!(status, Status::Fail);
        assert!(
            message.contains("32 days ago") && message.contains("50 hours"),
            "{message}"
        );
        let (status, message) = status_and_message(
            with_secret(|s| {
                s.versions_to_stages
                    .insert("v2".to_owned(), vec!["AWSPENDING".to_owned()]);
            }),
            "secret.rotation.healthy",
        );
        assert_eq!(status, Status::Fail);
        assert!(message.contains("AWSPENDING is stuck on version v2"));
        let pending_on_current = with_secret(|s| {
            s.versions_to_stages.insert(
                "v1".to_owned(),
                vec!["AWSCURRENT".to_owned(), "AWSPENDING".to_owned()],
            );
        });
        assert_eq!(
            status_and_message(pending_on_current, "secret.rotation.healthy").0,
            Status::Pass
        );
        let never_rotated_recent = with_secret(|s| {
            s.last_rotated_date = None;
            s.created_date = Some(at("2025-06-02T11:00:00Z"));
        });
        assert_eq!(
            status_and_message(never_rotated_recent, "secret.rotation.healthy").0,
            Status::Pass
        );
        let never_rotated_old = with_secret(|s| s.last_rotated_date = None);
        assert_eq!(
            status_and_message(never_rotated_old, "secret.rotation.healthy").0,
            Status::Fail
        );
    }

    #[test]
    fn a_missed_scheduled_rotation_fails_before_the_age_limit() {
        // Last rotated 06-01 10:00, due by 06-02 08:00 (the end of its window), collected 12:00.
        let missed = with_secret(|s| s.next_rotation_date = Some(at("2025-06-02T08:00:00Z")));
        let (status, message) = status_and_message(missed, "secret.rotation.healthy");
        assert_eq!(status, Status::Fail);
        assert!(message.contains("did not happen"), "{message}");
        let in_window = with_secret(|s| s.next_rotation_date = Some(at("2025-06-02T11:00:00Z")));
        assert_eq!(
            status_and_message(in_window, "secret.rotation.healthy").0,
            Status::Pass
        );
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

    #[test]
    fn a_pending_version_is_a_rotation_in_progress_until_it_outlasts_the_window() {
        // Collection is at 12:00; the window is 2h.
        let pending_since = |since: &'static str, duration: Option<&'static str>| {
            with_secret(move |s| {
                s.versions_to_stages
                    .insert("v2".to_owned(), vec!["AWSPENDING".to_owned()]);
                s.pending_created_date = Some(at(since));
                s.duration = duration.map(str::to_owned);
            })
        };
        let cases = [
            (
                "started an hour ago",
                "2025-06-02T11:00:00Z",
                Some("2h"),
                Status::Pass,
            ),
            (
                "started 2h ago, window 2h",
                "2025-06-02T10:00:00Z",
                Some("2h"),
                Status::Pass,
            ),
            (
                "started 3h ago, window 2h",
                "2025-06-02T09:00:00Z",
                Some("2h"),
                Status::Fail,
            ),
            (
                "started 20h ago, no window (end of day)",
                "2025-06-01T16:00:00Z",
                None,
                Status::Pass,
            ),
            (
                "started 2 days ago, no window",
                "2025-05-31T11:00:00Z",
                None,
                Status::Fail,
            ),
        ];
        for (name, since, duration, expected) in cases {
            let (status, message) =
                status_and_message(pending_since(since, duration), "secret.rotation.healthy");
            assert_eq!(status, expected, "{name}: {message}");
            let wanted = if expected == Status::Pass {
                "a rotation is in progress (AWSPENDING on version v2"
            } else {
                "AWSPENDING is stuck on version v2"
            };
            assert!(message.contains(wanted), "{name}: {message}");
        }
        // When the version was created could not be read: ERROR naming the call.
        let unread = with_secret(|s| {
            s.versions_to_stages
                .insert("v2".to_owned(), vec!["AWSPENDING".to_owned()]);
            s.pending_date_error = Some(denied("secretsmanager:ListSecretVersionIds"));
        });
        let (status, message) = status_and_message(unread, "secret.rotation.healthy");
        assert_eq!(status, Status::Error, "{message}");
        assert!(
            message.contains("secretsmanager:ListSecretVersionIds"),
            "{message}"
        );
        assert!(!message.contains("stuck on"), "{message}");
    }

    #[test]
    fn secrets_owned_by_another_service_are_judged_by_its_rules() {
        // The tutorial's own RDS-managed admin secret, as --all-secrets lists it:
        // rotated by RDS every 7 days without a window, no Lambda function.
        let mut region = compliant_region();
        if let Collected::Ok(secrets) = &mut region.secrets {
            secrets.push(admin_secret());
        }
        let mut inventory = inventory_of(region.clone());
        inventory.metadata.scope.all_secrets = true;
        let findings = crate::checks::evaluate(&inventory, &crate::policy::Policy::default());
        let about_admin: Vec<_> = findings
            .iter()
            .filter(|f| f.resource == ADMIN_ARN)
            .collect();
        assert_eq!(about_admin.len(), 3, "{about_admin:#?}");
        for finding in &about_admin {
            assert_ne!(finding.status, Status::Fail, "{finding:#?}");
            assert!(
                finding.message.contains("managed by rds"),
                "{}",
                finding.message
            );
        }
        // RDS rotating it right now: in progress, not broken.
        let rotating = |since: &'static str| {
            let mut region = region.clone();
            if let Collected::Ok(secrets) = &mut region.secrets {
                let admin = &mut secrets[1];
                admin.versions_to_stages = BTreeMap::from([
                    ("a1".to_owned(), vec!["AWSCURRENT".to_owned()]),
                    ("a2".to_owned(), vec!["AWSPENDING".to_owned()]),
                ]);
                admin.pending_created_date = Some(at(since));
            }
            findings_of(region, "secret.rotation.healthy")
                .into_iter()
                .find(|f| f.resource == ADMIN_ARN)
                .expect("admin finding")
        };
        assert_eq!(rotating("2025-06-02T08:00:00Z").status, Status::Pass);
        assert_eq!(rotating("2025-05-31T08:00:00Z").status, Status::Fail);
        // Overdue by its own schedule (7 days + the day) fails; rotation off fails.
        let mut overdue = region.clone();
        if let Collected::Ok(secrets) = &mut overdue.secrets {
            secrets[1].last_rotated_date = Some(at("2025-05-24T00:00:00Z"));
        }
        let finding = findings_of(overdue, "secret.rotation.healthy")
            .into_iter()
            .find(|f| f.resource == ADMIN_ARN)
            .expect("admin finding");
        assert_eq!(finding.status, Status::Fail, "{}", finding.message);
        assert!(finding.message.contains("192 hours"), "{}", finding.message);
        let mut disabled = region;
        if let Collected::Ok(secrets) = &mut disabled.secrets {
            secrets[1].rotation_enabled = Some(false);
        }
        let finding = findings_of(disabled.clone(), "secret.rotation.schedule")
            .into_iter()
            .find(|f| f.resource == ADMIN_ARN)
            .expect("admin finding");
        assert_eq!(finding.status, Status::Skip);
        assert!(
            finding.message.contains("RotationEnabled false"),
            "{}",
            finding.message
        );
        // Its age is still judged by the service's schedule.
        let finding = findings_of(disabled, "secret.rotation.healthy")
            .into_iter()
            .find(|f| f.resource == ADMIN_ARN)
            .expect("admin finding");
        assert_eq!(finding.status, Status::Pass, "{}", finding.message);
    }

    #[test]
    fn an_admin_secret_rotated_rarely_by_its_own_schedule_fails_the_policys_maximum() {
        // RDS's managed secret set to rotate every 30 days, last rotated 20 days ago:
        // within its own schedule, beyond the policy's 7 days.
        let mut region = compliant_region();
        let mut admin = admin_secret();
        admin.automatically_after_days = Some(30);
        admin.last_rotated_date = Some(at("2025-05-13T12:00:00Z"));
        if let Collected::Ok(secrets) = &mut region.secrets {
            secrets.push(admin);
        }
        let about_admin = |region: RegionInventory, id: &str, policy: &crate::Policy| {
            let mut inventory = inventory_of(region);
            inventory.metadata.scope.all_secrets = true;
            crate::checks::evaluate(&inventory, policy)
                .into_iter()
                .find(|f| f.resource == ADMIN_ARN && f.check_id == id)
                .expect("admin finding")
        };
        let policy = crate::Policy::default();
        let schedule = about_admin(region.clone(), "secret.rotation.schedule", &policy);
        assert_eq!(schedule.status, Status::Fail, "{}", schedule.message);
        assert!(
            schedule.message.contains("admin_max_rotation_days"),
            "{}",
            schedule.message
        );
        let healthy = about_admin(region.clone(), "secret.rotation.healthy", &policy);
        assert_eq!(healthy.status, Status::Fail, "{}", healthy.message);
        assert!(healthy.message.contains("192 hours"), "{}", healthy.message);
        // A policy that accepts 30 days accepts both.
        let lenient = crate::Policy {
            admin_max_rotation_days: 30,
            ..crate::Policy::default()
        };
        assert_eq!(
            about_admin(region.clone(), "secret.rotation.schedule", &lenient).status,
            Status::Pass
        );
        assert_eq!(
            about_admin(region, "secret.rotation.healthy", &lenient).status,
            Status::Pass
        );
    }

    #[test]
    fn all_secrets_are_checked_for_rotation_but_admin_link_only_on_primary() {
        let mut region = compliant_region();
        if let Collected::Ok(secrets) = &mut region.secrets {
            secrets.push(Secret {
                primary: false,
                name: "other".to_owned(),
                arn: "arn:other".to_owned(),
                rotation_enabled: Some(false),
                ..Secret::default()
            });
            secrets.push(admin_secret());
        }
        let schedule = findings_of(region.clone(), "secret.rotation.schedule");
        assert_eq!(schedule.len(), 3);
        let function = findings_of(region.clone(), "secret.rotation.function");
        assert_eq!(
            function.iter().map(|f| f.status).collect::<Vec<_>>(),
            [Status::Pass, Status::Skip, Status::Skip]
        );
        assert_eq!(findings_of(region, "secret.rotation.admin-linked").len(), 1);
    }
}
