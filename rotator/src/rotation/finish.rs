//! `finishSecret`: `AWSCURRENT` moved to the new version.
//!
//! Moving the label also removes it from the old version, which Secrets Manager then
//! labels `AWSPREVIOUS`; a version that is already current needs nothing, so a retry
//! after a crash succeeds.
//!
//! The stages come from the `DescribeSecret` the step's validation just made (no
//! other call comes between), not from a second one: AWS's reference describes the
//! secret twice here.

use super::event::Context;
use super::rotator::Rotator;
use crate::error::RotationError;

impl Rotator {
    pub(super) async fn finish_secret(
        &self,
        cx: &Context<'_>,
        described: &aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput,
    ) -> Result<(), RotationError> {
        let current = described
            .version_ids_to_stages()
            .into_iter()
            .flatten()
            .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
            .map(|(id, _)| id.clone());
        if current.as_deref() == Some(cx.event.token.as_str()) {
            return Ok(());
        }
        let mut update = self
            .secrets
            .update_secret_version_stage()
            .secret_id(&cx.event.secret_id)
            .version_stage("AWSCURRENT")
            .move_to_version_id(&cx.event.token);
        if let Some(current) = &current {
            update = update.remove_from_version_id(current);
        }
        update
            .send()
            .await
            .map_err(|e| cx.aws(permissions::UPDATE_SECRET_VERSION_STAGE, &e))?;
        tracing::info!(secret = %cx.event.secret_id, version = %cx.event.token, previous = ?current, "AWSCURRENT moved to the new version");
        Ok(())
    }
}
