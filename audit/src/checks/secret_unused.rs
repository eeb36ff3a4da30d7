//! `secret.unused`: the application secret was read within the last 90 days
//! (FSBP SecretsManager.3).
//!
//! A secret nobody reads is a credential nobody needs, yet still valid
//! (AWS Config `secretsmanager-secret-unused`: NON_COMPLIANT "if a secret has not
//! been accessed in 'unusedForDays' number of days. The default value is 90
//! days"). `LastAccessedDate` is a day, not a time (Secrets Manager API
//! reference, DescribeSecret: "the date is truncated to midnight"), and is absent
//! for a secret never read: then its age counts from `CreatedDate`. Ages are
//! measured against the collection time. A working rotation reads the secret
//! every few days, so this check fails mostly for a secret whose rotation and
//! application are both gone.

use time::OffsetDateTime;

use super::context::Context;
use crate::finding::{CheckDefinition, Finding, Severity};
use crate::inventory::Secret;

/// Days a secret may go unread (AWS Config's default `unusedForDays`).
pub const UNUSED_FOR_DAYS: i64 = 90;

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "secret.unused",
    title: "Secret was used within the last 90 days",
    severity: Severity::Medium,
    resource_type: "AwsSecretsManagerSecret",
    remediation: "If nothing needs the secret any more, drop its database user and delete it: aws secretsmanager delete-secret --secret-id <id> --recovery-window-in-days 7 (cargo xtask cleanup for the tutorial's); otherwise find why the application and the rotation stopped reading it",
    compliance: &[
        "AWS-FSBP:SecretsManager.3",
        "AWS-Config:secretsmanager-secret-unused",
        "Prowler:secretsmanager_secret_unused",
    ],
    references: &[
        "https://docs.aws.amazon.com/securityhub/latest/userguide/secretsmanager-controls.html#secretsmanager-3",
        "https://docs.aws.amazon.com/config/latest/developerguide/secretsmanager-secret-unused.html",
    ],
};

fn day(time: OffsetDateTime) -> String {
    time.date().to_string()
}

/// The verdict on one secret at `now`: `Ok` with the pass message, `Err` with the
/// failure's, `None` when neither date is known.
pub(crate) fn verdict(secret: &Secret, now: OffsetDateTime) -> Option<Result<String, String>> {
    let name = &secret.name;
    let (since, what) = match (secret.last_accessed_date, secret.created_date) {
        (Some(accessed), _) => (accessed, "last accessed on"),
        (None, Some(created)) => (created, "never accessed since it was created on"),
        (None, None) => return None,
    };
    let days = (now - since).whole_days();
    let message = format!("secret {name} was {what} {} ({days} days ago)", day(since));
    Some(if days > UNUSED_FOR_DAYS {
        Err(format!(
            "{message}; expected a use within {UNUSED_FOR_DAYS} days"
        ))
    } else {
        Ok(message)
    })
}

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    context.each_primary_secret(def, |secret| match verdict(secret, context.now) {
        Some(Ok(message)) => context.pass(def, &secret.arn, message),
        Some(Err(message)) => context.fail(def, &secret.arn, message),
        None => context.skip(
            def,
            &secret.arn,
            &format!(
                "secret {}: Secrets Manager reported neither LastAccessedDate nor CreatedDate",
                secret.name
            ),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::finding::Status;
    use crate::inventory::Collected;

    #[test]
    fn a_secret_unread_for_over_90_days_fails() {
        // The fixture's collection time is 2025-06-02T12:00:00Z.
        // (last accessed, created, status, in the message)
        let table = [
            (
                Some("2025-06-02T00:00:00Z"),
                Some("2025-01-01T00:00:00Z"),
                Status::Pass,
                "last accessed on 2025-06-02 (0 days ago)",
            ),
            (
                Some("2025-03-04T00:00:00Z"),
                Some("2025-01-01T00:00:00Z"),
                Status::Pass,
                "(90 days ago)",
            ),
            (
                Some("2025-03-03T00:00:00Z"),
                Some("2025-01-01T00:00:00Z"),
                Status::Fail,
                "last accessed on 2025-03-03 (91 days ago); expected a use within 90 days",
            ),
            (
                None,
                Some("2025-05-01T00:00:00Z"),
                Status::Pass,
                "never accessed since it was created on 2025-05-01",
            ),
            (
                None,
                Some("2025-01-01T00:00:00Z"),
                Status::Fail,
                "never accessed since it was created on 2025-01-01 (152 days ago)",
            ),
            (
                None,
                None,
                Status::Skip,
                "neither LastAccessedDate nor CreatedDate",
            ),
        ];
        for (accessed, created, status, text) in table {
            let mut region = compliant_region();
            if let Collected::Ok(secrets) = &mut region.secrets {
                secrets[0].last_accessed_date = accessed.map(at);
                secrets[0].created_date = created.map(at);
            }
            let findings = findings_of(region, DEFINITION.id);
            assert_eq!(findings[0].status, status, "{accessed:?} {created:?}");
            assert_eq!(findings[0].resource, SECRET_ARN);
            assert!(
                findings[0].message.contains(text),
                "{}",
                findings[0].message
            );
        }
    }
}
