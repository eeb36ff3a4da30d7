//! `secret.rotation.healthy`: the secret rotated within the policy's period (a
//! secret another service manages, within that service's schedule), no scheduled
//! rotation was missed, and no rotation is stuck with AWSPENDING past its window
//! (FSBP SecretsManager.2 and SecretsManager.4).

use time::format_description::well_known::Rfc3339;

use super::context::Context;
use super::rotated_secrets::{each_secret, schedule_of, secret_resource, window_hours};
use crate::finding::{CheckDefinition, Finding, Severity};
use crate::inventory::Secret;

pub const DEFINITION: CheckDefinition = CheckDefinition {
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

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
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
                        crate::finding::Status::Error,
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
        // A rotation that staged AWSPENDING and is still retried inside its own
        // window (the note above) is stuck, not "failed before staging", once the
        // window has closed; a secret another service owns has no such steps.
        if let Some(next) = secret.next_rotation_date
            && context.now - next > time::Duration::hours(1)
            && last < next
        {
            let due = next.format(&Rfc3339).unwrap_or_default();
            let since = last.format(&Rfc3339).unwrap_or_default();
            let cause = match (pending, owned_by) {
                (Some(pending), _) => format!(
                    "AWSPENDING is stuck on version {pending} (AWSCURRENT is {}): the rotation staged its new version and did not finish",
                    current.unwrap_or("on no version")
                ),
                (None, Some(service)) => format!("{service} did not rotate it"),
                (None, None) => "a rotation failed before staging AWSPENDING".to_owned(),
            };
            return context.fail(def, &resource, format!(
                "secret {name}{rules}: the rotation due by {due} did not happen (its window has closed; {what} {since}): {cause}"
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
    use crate::finding::Status;

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
    fn a_window_closed_on_a_staged_version_says_stuck_not_failed_before_staging() {
        // A whole-day window (no Duration): AWSPENDING staged 15 hours before
        // collection (12:00), inside its 24 hours, but the window closed at 08:00.
        let staged = with_secret(|s| {
            s.next_rotation_date = Some(at("2025-06-02T08:00:00Z"));
            s.duration = None;
            s.versions_to_stages
                .insert("v2".to_owned(), vec!["AWSPENDING".to_owned()]);
            s.pending_created_date = Some(at("2025-06-01T21:00:00Z"));
        });
        let (status, message) = status_and_message(staged, "secret.rotation.healthy");
        assert_eq!(status, Status::Fail);
        assert!(
            message.contains("AWSPENDING is stuck on version v2"),
            "{message}"
        );
        assert!(!message.contains("before staging"), "{message}");
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
}
