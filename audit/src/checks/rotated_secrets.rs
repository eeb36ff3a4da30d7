//! The secrets the rotation checks judge, and their rotation rules as stated.
//!
//! `secret.rotation.schedule`, `.function`, `.admin-linked` and `.healthy` walk
//! the same secrets ([`each_secret`]): every secret in scope (with
//! `--all-secrets`, every secret of the region, from the same `ListSecrets`
//! pages), or only the primary ones; a secret asked for by name that does not
//! exist fails in each, and a secret that could not be described is an ERROR of
//! its own. The schedule and the window are read here once ([`schedule_of`],
//! [`window_hours`]) for the schedule check and the health check alike.

use super::context::Context;
use crate::finding::{CheckDefinition, Finding};
use crate::inventory::{Collected, Secret};

/// Runs `check` on each secret in scope; secrets asked for by name that do not
/// exist fail, and a failed listing is one ERROR.
pub(super) fn each_secret(
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
pub(super) fn schedule_of(secret: &Secret, today: time::Date) -> Result<(String, i64), String> {
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
pub(super) fn window_hours(duration: &str) -> Option<u32> {
    duration
        .trim()
        .strip_suffix('h')
        .and_then(|n| n.parse().ok())
}

pub(super) fn secret_resource(secret: &Secret) -> String {
    if secret.arn.is_empty() {
        secret.name.clone()
    } else {
        secret.arn.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::finding::Status;
    use crate::inventory::RegionInventory;
    use std::collections::BTreeMap;

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
