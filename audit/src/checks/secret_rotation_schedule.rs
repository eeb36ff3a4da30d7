//! `secret.rotation.schedule`: rotation is on, at least as often as the policy's
//! period and within its window (FSBP SecretsManager.1), on every secret in
//! scope. A secret another service manages (RDS) is rotated on that service's
//! schedule, bounded by the policy's `admin_max_rotation_days`.

use super::context::Context;
use super::rotated_secrets::{each_secret, schedule_of, secret_resource, window_hours};
use crate::finding::{CheckDefinition, Finding, Severity};

pub const DEFINITION: CheckDefinition = CheckDefinition {
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

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::finding::Status;

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
}
