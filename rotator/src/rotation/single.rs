//! `setSecret` for a single user: the user sets its own new password.
//!
//! No admin is involved, so the only login that can change the password is the
//! user's own: with the current password, or, as AWS's reference function does when
//! that fails, with the previous one (`AWSPREVIOUS`). A pending password that already
//! logs in means the step ran before.

use sqlx::MySqlConnection;

use super::aws_errors::value_missing;
use super::event::Context;
use super::rotator::{Rotator, login_of};
use crate::db;
use crate::error::{Problem, RotationError};
use crate::secret::{DbSecret, Password};
use crate::sql;
use crate::version::ServerVersion;

impl Rotator {
    pub(super) async fn set_secret_single(&self, cx: &Context<'_>) -> Result<(), RotationError> {
        let current = self.current(cx).await?;
        let pending = self.require_pending(cx).await?;
        if pending.username != current.username
            || pending.host != current.host
            || pending.port != current.port
        {
            return Err(cx.fail(Problem::Refused("single-user rotation keeps the user, host and port; the pending version changes them".to_owned())));
        }
        if self.pending_logs_in(cx, &pending).await? {
            tracing::info!(secret = %cx.event.secret_id, "the pending credentials already log in; nothing to do");
            return Ok(());
        }
        // The password that logged in is the one the statement replaces (`REPLACE`).
        let (mut connection, replacing) = match self.login(cx, &current, "current").await {
            Ok((connection, _)) => (connection, current.password.clone()),
            Err(current_error) => self
                .login_as_previous(cx, &current, &pending)
                .await?
                .ok_or(current_error)?,
        };
        db::prepare_session(&mut connection)
            .await
            .map_err(|e| cx.fail(e))?;
        let version_text = db::version(&mut connection).await.map_err(|e| cx.fail(e))?;
        let version = ServerVersion::parse(&version_text).ok_or_else(|| {
            cx.fail(Problem::Protocol(format!(
                "cannot parse the server version `{version_text}`, so the statement that changes a password cannot be chosen"
            )))
        })?;
        let statement = sql::set_own_password(&pending.password, Some(&replacing), &version)
            .map_err(|e| cx.fail(e))?;
        match db::execute(&mut connection, &statement).await {
            Ok(()) => {}
            // 3891 ER_INCORRECT_CURRENT_PASSWORD: MySQL checks REPLACE against the
            // primary password only, and the one that logged in was the secondary
            // (`RETAIN CURRENT PASSWORD`). Without REPLACE the change goes through
            // unless the account must name its current password.
            Err(error) if error.number() == Some(3891) => {
                tracing::warn!(secret = %cx.event.secret_id, user = %current.username, "the password that logged in is the account's secondary password (RETAIN CURRENT PASSWORD), which REPLACE does not accept; setting the new one without REPLACE");
                let statement = sql::set_own_password(&pending.password, None, &version)
                    .map_err(|e| cx.fail(e))?;
                db::execute(&mut connection, &statement)
                    .await
                    .map_err(|e| cx.fail(e))?;
            }
            Err(error) => return Err(cx.fail(error)),
        }
        tracing::info!(secret = %cx.event.secret_id, user = %current.username, "the user set its own new password");
        Ok(())
    }

    /// Whether the pending credentials log in already (single-user `setSecret` done
    /// before). Only "access denied" (1045; 1698 for a socket or plugin account)
    /// means "not set yet": any other refusal (too many connections 1040/1226, a
    /// locked or expired account, no access to `dbname` 1044) is reported as it is,
    /// because setting the same password again would only hit the server's password
    /// history (3638) and hide the real cause.
    async fn pending_logs_in(
        &self,
        cx: &Context<'_>,
        pending: &DbSecret,
    ) -> Result<bool, RotationError> {
        let login = login_of(pending);
        match db::connect(&login, self.ca_bundle()).await {
            Ok(_) => Ok(true),
            Err(db::DbError::Refused {
                number: None | Some(1045 | 1698),
                ..
            }) => Ok(false),
            Err(error) => Err(cx.fail(error)),
        }
    }

    /// The `AWSPREVIOUS` login of single-user rotation, as AWS's reference function
    /// tries when neither the pending nor the current password works (a database
    /// restored from a backup, say): `None` when there is no usable previous version.
    async fn login_as_previous(
        &self,
        cx: &Context<'_>,
        current: &DbSecret,
        pending: &DbSecret,
    ) -> Result<Option<(MySqlConnection, Password)>, RotationError> {
        let found = self
            .secrets
            .get_secret_value()
            .secret_id(&cx.event.secret_id)
            .version_stage("AWSPREVIOUS")
            .send()
            .await;
        let text = match found {
            Ok(value) => value.secret_string().map(str::to_owned),
            Err(error) if value_missing(&error) => None,
            Err(error) => return Err(cx.aws("secretsmanager:GetSecretValue (AWSPREVIOUS)", &error)),
        };
        let Some(mut previous) = text.and_then(|t| DbSecret::parse(&t).ok()) else {
            return Ok(None);
        };
        if previous.username != pending.username
            || previous.host != pending.host
            || previous.port != pending.port
        {
            return Err(cx.fail(Problem::Refused(format!(
                "the current credentials do not log in, and the previous version (AWSPREVIOUS) names user `{}` at {}:{}, not the pending `{}` at {}:{}; fix AWSCURRENT",
                previous.username, previous.host, previous.port, pending.username, pending.host, pending.port
            ))));
        }
        // The reference uses the current version's `ssl` for the previous login.
        previous.tls = current.tls;
        match self.login(cx, &previous, "previous (AWSPREVIOUS)").await {
            Ok((connection, _)) => {
                tracing::warn!(secret = %cx.event.secret_id, user = %previous.username, "the current password does not log in; the previous one (AWSPREVIOUS) did, and is used to set the pending password");
                Ok(Some((connection, previous.password)))
            }
            Err(_) => Ok(None),
        }
    }
}
