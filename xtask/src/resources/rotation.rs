//! A secret's rotation (its function and schedule): cancelled before the secret goes.

use anyhow::Result;

use super::deletion::{Deletion, Outcome, gone_or};

/// `secretsmanager:CancelRotateSecret`.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (clients, id) = (d.clients, d.resource.id.as_str());
    if !d.write("secretsmanager:CancelRotateSecret") {
        return Ok(Outcome::WouldDelete);
    }
    gone_or(
        clients
            .secrets
            .cancel_rotate_secret()
            .secret_id(id)
            .send()
            .await,
        "secretsmanager:CancelRotateSecret",
    )
}
