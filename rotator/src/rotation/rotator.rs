//! The rotator's clients and the database login every step shares.
//!
//! [`Rotator`] holds the Secrets Manager and RDS clients and the function's settings;
//! each step adds its own `impl Rotator` block in its module, so the struct lives
//! here, apart from the steps, and every step module depends on it, never on another
//! step.

use std::path::Path;

use aws_sdk_secretsmanager::Client as SecretsClient;
use sqlx::MySqlConnection;

use super::event::Context;
use crate::db::{self, Login, Transport};
use crate::error::RotationError;
use crate::secret::DbSecret;
use crate::settings::Settings;

/// The AWS side of a rotation: Secrets Manager, and RDS for managed admin secrets.
#[derive(Debug, Clone)]
pub struct Rotator {
    pub(super) secrets: SecretsClient,
    pub(super) rds: aws_sdk_rds::Client,
    pub(super) settings: Settings,
}

impl Rotator {
    pub fn new(secrets: SecretsClient, rds: aws_sdk_rds::Client, settings: Settings) -> Self {
        Self {
            secrets,
            rds,
            settings,
        }
    }

    pub(super) fn ca_bundle(&self) -> Option<&Path> {
        self.settings.ca_bundle.as_deref()
    }

    pub(super) async fn login(
        &self,
        cx: &Context<'_>,
        secret: &DbSecret,
        who: &str,
    ) -> Result<(MySqlConnection, Transport), RotationError> {
        let login = login_of(secret);
        let (connection, transport) = db::connect(&login, self.ca_bundle())
            .await
            .map_err(|e| cx.fail(e))?;
        tracing::info!(secret = %cx.event.secret_id, step = cx.event.step.as_str(), user = %secret.username, host = %secret.host, transport = transport.as_str(), "logged in as the {who} user");
        Ok((connection, transport))
    }
}

/// The login a database secret describes: its host, port, user, password, default
/// database and TLS setting, as the application logs in.
pub(super) fn login_of(secret: &DbSecret) -> Login<'_> {
    Login {
        host: &secret.host,
        port: secret.port,
        user: &secret.username,
        password: &secret.password,
        database: secret.dbname.as_deref(),
        tls: secret.tls,
    }
}
