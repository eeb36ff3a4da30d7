//! The function's log group (`/aws/lambda/<function>`).

use anyhow::Result;

use super::deletion::{Deletion, Outcome, gone_or};

/// `logs:DeleteLogGroup`.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (clients, id) = (d.clients, d.resource.id.as_str());
    if !d.write("logs:DeleteLogGroup") {
        return Ok(Outcome::WouldDelete);
    }
    gone_or(
        clients
            .logs
            .delete_log_group()
            .log_group_name(id)
            .send()
            .await,
        "logs:DeleteLogGroup",
    )
}
