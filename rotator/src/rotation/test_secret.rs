//! `testSecret`: the pending credentials log in and run a trivial query.
//!
//! This is the last check before finishSecret makes the pending version current, so
//! it logs in exactly as the application will, with the pending secret's own host,
//! database and TLS setting.

use super::event::Context;
use super::rotator::Rotator;
use crate::db;
use crate::error::RotationError;

impl Rotator {
    pub(super) async fn test_secret(&self, cx: &Context<'_>) -> Result<(), RotationError> {
        let pending = self.require_pending(cx).await?;
        let (mut connection, _) = self.login(cx, &pending, "pending").await?;
        db::ping(&mut connection).await.map_err(|e| cx.fail(e))?;
        Ok(())
    }
}
