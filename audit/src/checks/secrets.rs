//! Secret rotation checks: schedule, function, admin link, health.
//!
//! The schedule and health checks run on every secret in scope (with
//! `--all-secrets`, every secret of the region, from the same `ListSecrets` pages);
//! the admin link needs the secret's value and runs only on the primary secrets
//! and only with `--read-secrets`.

use std::collections::BTreeSet;

use serde_json::Value;

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
    remediation: "Set the secret's masterarn key to the ARN of the RDS-managed admin secret of the same instance (DescribeDBInstances MasterUserSecret.SecretArn) with put-secret-value, keeping the other keys",
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
    remediation: "Read the rotation function's logs for the failing step, fix it, then retry with aws secretsmanager rotate-secret --secret-id <secret> (a stuck AWSPENDING is reattempted with its version id as --client-request-token)",
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

/// A rotation schedule as Secrets Manager states it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Schedule {
    Days(i64),
    Hours(i64),
    Cron(String),
    Unreadable(String),
    None,
}

fn schedule_of(secret: &Secret) -> Schedule {
    if let Some(expression) = secret
        .schedule_expression
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        if let Some(inner) = expression
            .strip_prefix("rate(")
            .and_then(|e| e.strip_suffix(')'))
        {
            let mut parts = inner.split_whitespace();
            if let (Some(amount), Some(unit), None) = (parts.next(), parts.next(), parts.next())
                && let Ok(amount) = amount.parse::<i64>()
            {
                match unit {
                    "day" | "days" => return Schedule::Days(amount),
                    "hour" | "hours" => return Schedule::Hours(amount),
                    _ => {}
                }
            }
            return Schedule::Unreadable(expression.to_owned());
        }
        if expression.starts_with("cron(") {
            return Schedule::Cron(expression.to_owned());
        }
        return Schedule::Unreadable(expression.to_owned());
    }
    match secret.automatically_after_days {
        Some(days) if days > 0 => Schedule::Days(days),
        _ => Schedule::None,
    }
}

fn describe_schedule(secret: &Secret, schedule: &Schedule) -> String {
    match schedule {
        Schedule::Days(days) if secret.schedule_expression.is_some() => {
            format!(
                "{} (every {days} days)",
                secret.schedule_expression.as_deref().unwrap_or_default()
            )
        }
        Schedule::Days(days) => format!("AutomaticallyAfterDays {days}"),
        Schedule::Hours(hours) => format!("every {hours} hours"),
        Schedule::Cron(expression) | Schedule::Unreadable(expression) => expression.clone(),
        Schedule::None => "no schedule".to_owned(),
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

pub fn rotation_schedule(context: &Context<'_>) -> Vec<Finding> {
    let def = &ROTATION_SCHEDULE;
    let days = i64::from(context.policy.rotation_days);
    let window = context.policy.rotation_window_hours;
    let expected = format!(
        "expected rotation enabled every {days} days (rate({days} days) or AutomaticallyAfterDays {days}) with a {window}h window"
    );
    each_secret(context, def, false, |secret| {
        let resource = secret_resource(secret);
        let name = &secret.name;
        if secret.rotation_enabled != Some(true) {
            return context.fail(
                def,
                &resource,
                format!("secret {name} has rotation disabled; {expected}"),
            );
        }
        let schedule = schedule_of(secret);
        let mut faults = Vec::new();
        if schedule != Schedule::Days(days) {
            faults.push(format!(
                "schedule is {}",
                describe_schedule(secret, &schedule)
            ));
        }
        match secret.duration.as_deref() {
            None => faults.push("no rotation window (Duration)".to_owned()),
            Some(duration) if window_hours(duration) != Some(window) => {
                faults.push(format!("window is {duration}"));
            }
            Some(_) => {}
        }
        if faults.is_empty() {
            context.pass(
                def,
                &resource,
                format!(
                    "secret {name} rotates {} within a {window}h window",
                    describe_schedule(secret, &schedule)
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

/// Whether a resource policy lets Secrets Manager invoke the function, conditioned
/// on the source account. `Err` says what is missing.
pub(crate) fn invoke_policy_allows_secrets_manager(
    document: &str,
    account_id: Option<&str>,
) -> Result<(), String> {
    let policy: Value = serde_json::from_str(document)
        .map_err(|e| format!("its resource policy is not JSON ({e})"))?;
    let statements = match &policy["Statement"] {
        Value::Array(statements) => statements.clone(),
        statement @ Value::Object(_) => vec![statement.clone()],
        _ => return Err("its resource policy has no statements".to_owned()),
    };
    let strings = |value: &Value| -> Vec<String> {
        match value {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut invokers = Vec::new();
    for statement in &statements {
        if statement["Effect"].as_str() != Some("Allow") {
            continue;
        }
        let services = strings(&statement["Principal"]["Service"]);
        if !services.iter().any(|s| s == "secretsmanager.amazonaws.com") {
            continue;
        }
        let actions = strings(&statement["Action"]);
        if !actions
            .iter()
            .any(|a| a == "lambda:InvokeFunction" || a == "lambda:*" || a == "*")
        {
            continue;
        }
        invokers.push(statement);
        let Value::Object(conditions) = &statement["Condition"] else {
            continue;
        };
        for operator in conditions.values() {
            let Value::Object(keys) = operator else {
                continue;
            };
            for (key, value) in keys {
                if key.eq_ignore_ascii_case("aws:SourceAccount") {
                    let accounts = strings(value);
                    match account_id {
                        Some(account) if !accounts.iter().any(|a| a == account) => {
                            return Err(format!(
                                "its policy lets secretsmanager.amazonaws.com invoke it for source account {} rather than {account}",
                                accounts.join(",")
                            ));
                        }
                        _ => return Ok(()),
                    }
                }
            }
        }
    }
    if invokers.is_empty() {
        Err("its resource policy does not allow secretsmanager.amazonaws.com to invoke it (lambda:InvokeFunction)".to_owned())
    } else {
        Err("its resource policy allows secretsmanager.amazonaws.com without an aws:SourceAccount condition (confused deputy)".to_owned())
    }
}

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
        match &record.policy {
            Collected::Ok(Some(document)) => {
                if let Err(fault) =
                    invoke_policy_allows_secrets_manager(document, context.account_id)
                {
                    faults.push(fault);
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

fn tag<'a>(secret: &'a Secret, key: &str) -> Option<&'a str> {
    secret
        .tags
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
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
            .or_else(|| tag(admin, "aws:secretsmanager:owningService"));
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
        match tag(admin, "aws:rds:primaryDBInstanceArn") {
            Some(instance) if instance.eq_ignore_ascii_case(&db.arn) => {
                context.pass(def, &resource, format!("secret {name}: masterarn names {masterarn}, the RDS-managed admin secret of {}", db.id))
            }
            Some(instance) => context.fail(def, &resource, format!("secret {name}: masterarn names {masterarn}, the admin secret of {instance}; expected the admin secret of {}", db.arn)),
            None => context.fail(def, &resource, format!("secret {name}: masterarn names {masterarn}, which has no aws:rds:primaryDBInstanceArn tag; expected the admin secret of {}", db.arn)),
        }
    })
}

pub fn rotation_healthy(context: &Context<'_>) -> Vec<Finding> {
    let def = &ROTATION_HEALTHY;
    let max_hours = context.policy.max_hours_since_rotation();
    each_secret(context, def, false, |secret| {
        let resource = secret_resource(secret);
        let name = &secret.name;
        let current = secret
            .versions_to_stages
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
            .map(|(id, _)| id.as_str());
        if let Some((pending, _)) = secret.versions_to_stages.iter().find(|(id, stages)| {
            stages.iter().any(|s| s == "AWSPENDING") && Some(id.as_str()) != current
        }) {
            return context.fail(
                def,
                &resource,
                format!("secret {name}: AWSPENDING is stuck on version {pending} (AWSCURRENT is {}): a rotation did not finish", current.unwrap_or("on no version")),
            );
        }
        if secret.rotation_enabled != Some(true) {
            return context.fail(def, &resource, format!("secret {name} has rotation disabled, so it is never rotated; expected a rotation within {max_hours} hours"));
        }
        let (last, what) = match (secret.last_rotated_date, secret.created_date) {
            (Some(rotated), _) => (rotated, "last rotated"),
            (None, Some(created)) => (created, "never rotated; created"),
            (None, None) => return context.fail(def, &resource, format!("secret {name} reports neither a rotation nor a creation date; expected a rotation within {max_hours} hours")),
        };
        let age = context.now - last;
        let hours = age.whole_hours();
        let when = last
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        if hours > max_hours {
            context.fail(def, &resource, format!("secret {name} {what} {when}, {} days ago; expected a rotation within {max_hours} hours", age.whole_days()))
        } else {
            context.pass(def, &resource, format!("secret {name} {what} {when} ({hours} hours before collection), within {max_hours} hours, and no rotation is stuck"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::checks::Status;
    use crate::inventory::{Collected, RegionInventory};

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
            (
                "rate(4 hours)",
                Some("rate(4 hours)"),
                None,
                Some("2h"),
                Status::Fail,
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
    fn invoke_policies_need_the_service_the_action_and_the_source_account() {
        let policy = |statement: Value| {
            serde_json::json!({"Version": "2012-10-17", "Statement": [statement]}).to_string()
        };
        let good = serde_json::json!({"Effect": "Allow", "Principal": {"Service": "secretsmanager.amazonaws.com"}, "Action": "lambda:InvokeFunction",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}});
        assert_eq!(
            invoke_policy_allows_secrets_manager(&policy(good.clone()), Some(ACCOUNT)),
            Ok(())
        );
        assert_eq!(
            invoke_policy_allows_secrets_manager(&policy(good.clone()), None),
            Ok(())
        );
        assert!(invoke_policy_allows_secrets_manager(&policy(good), Some("999999999999")).is_err());
        let no_condition = serde_json::json!({"Effect": "Allow", "Principal": {"Service": "secretsmanager.amazonaws.com"}, "Action": ["lambda:InvokeFunction"]});
        let error = invoke_policy_allows_secrets_manager(&policy(no_condition), Some(ACCOUNT))
            .expect_err("no condition");
        assert!(error.contains("aws:SourceAccount"), "{error}");
        let other_service = serde_json::json!({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "lambda:InvokeFunction",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}});
        assert!(
            invoke_policy_allows_secrets_manager(&policy(other_service), Some(ACCOUNT)).is_err()
        );
        let deny = serde_json::json!({"Effect": "Deny", "Principal": {"Service": "secretsmanager.amazonaws.com"}, "Action": "lambda:InvokeFunction",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}});
        assert!(invoke_policy_allows_secrets_manager(&policy(deny), Some(ACCOUNT)).is_err());
        assert!(invoke_policy_allows_secrets_manager("not json", Some(ACCOUNT)).is_err());
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
