//! The application's secret: deleted after a 7-day recovery window, or at once with
//! `--force-delete-secrets`.

use anyhow::Result;

use super::deletion::{Deletion, Outcome, gone_or};

/// The recovery window, in days: Secrets Manager's shortest (7 to 30; API
/// reference, DeleteSecret: RecoveryWindowInDays).
pub(crate) const DELETION_WINDOW_DAYS: i64 = 7;

/// `secretsmanager:DeleteSecret`, with a recovery window unless forced; a secret
/// already scheduled for deletion stays so unless forced.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (clients, resource) = (d.clients, d.resource);
    let id = resource.id.as_str();
    let force = d.force_delete_secrets;
    if resource.scheduled_for_deletion && !force {
        // DeleteSecret with a recovery window refuses a secret already scheduled.
        return Ok(Outcome::Scheduled);
    }
    let call = if force {
        "secretsmanager:DeleteSecret ForceDeleteWithoutRecovery".to_owned()
    } else {
        format!("secretsmanager:DeleteSecret RecoveryWindowInDays={DELETION_WINDOW_DAYS}")
    };
    if !d.write(&call) {
        return Ok(Outcome::WouldDelete);
    }
    let request = clients.secrets.delete_secret().secret_id(id);
    let request = if force {
        request.force_delete_without_recovery(true)
    } else {
        request.recovery_window_in_days(DELETION_WINDOW_DAYS)
    };
    gone_or(request.send().await, "secretsmanager:DeleteSecret").map(|o| {
        if o == Outcome::Deleted && !force {
            Outcome::Scheduled
        } else {
            o
        }
    })
}
