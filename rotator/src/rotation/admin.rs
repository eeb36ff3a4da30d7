//! The admin's session: its secret read, its database checked to be the
//! application's, and its login made with its own TLS setting.
//!
//! setSecret acts as the admin named by `masterarn`, so whoever can write the
//! application secret must not be able to point the master credentials at another
//! database or send them in plaintext: both are refused here, before the login.

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use sqlx::MySqlConnection;

use super::endpoint::AdminEndpoint;
use super::event::Context;
use super::rotator::Rotator;
use crate::db::{self, Login};
use crate::error::{Problem, RotationError};
use crate::secret::{AdminSecret, DbSecret, TlsSetting};

impl Rotator {
    /// The admin's session at the admin's endpoint (the admin secret `masterarn`
    /// names), after checking that the application secret's database is that one or a
    /// replica or reader of it: where the rotation writes.
    pub(super) async fn admin_login(
        &self,
        cx: &Context<'_>,
        current: &DbSecret,
        masterarn: &str,
    ) -> Result<(MySqlConnection, AdminEndpoint), RotationError> {
        let admin = self.admin_secret(cx, masterarn).await?;
        let endpoint = self
            .admin_endpoint(cx, masterarn, &admin, (&current.host, current.port))
            .await?;
        self.check_same_database(cx, current, &endpoint).await?;
        let login = Login {
            host: &endpoint.host,
            port: endpoint.port,
            user: &admin.username,
            password: &admin.password,
            database: None,
            tls: admin_tls(admin.tls, self.ca_bundle().is_some()),
        };
        let (mut connection, transport) =
            db::connect(&login, self.ca_bundle())
                .await
                .map_err(|source| {
                    cx.fail(Problem::AdminLogin {
                        arn: masterarn.to_owned(),
                        source,
                    })
                })?;
        tracing::info!(secret = %cx.event.secret_id, step = cx.event.step.as_str(), admin_secret = %masterarn, host = %endpoint.host, transport = transport.as_str(), "logged in as the admin user");
        db::prepare_session(&mut connection)
            .await
            .map_err(|e| cx.fail(e))?;
        Ok((connection, endpoint))
    }

    async fn admin_secret(
        &self,
        cx: &Context<'_>,
        arn: &str,
    ) -> Result<AdminSecret, RotationError> {
        let value = self.secrets.get_secret_value().secret_id(arn).send().await.map_err(|e| {
            cx.fail(Problem::Aws {
                action: "secretsmanager:GetSecretValue (admin secret from masterarn)",
                message: format!("{}; check that masterarn names the admin secret and that the function's role may read it", DisplayErrorContext(&e)),
            })
        })?;
        let text = value.secret_string().ok_or_else(|| {
            cx.fail(Problem::AdminSecret {
                arn: arn.to_owned(),
                source: crate::secret::SecretError::NoString,
            })
        })?;
        AdminSecret::parse(text).map_err(|source| {
            cx.fail(Problem::AdminSecret {
                arn: arn.to_owned(),
                source,
            })
        })
    }
}

/// The admin login's TLS: its own secret's `ssl`, never the application secret's
/// (whoever can write that must not be able to send the master credentials in
/// plaintext); with a CA bundle configured, verified TLS unless the admin secret
/// itself says `ssl: false`.
pub fn admin_tls(admin: TlsSetting, ca_bundle_configured: bool) -> TlsSetting {
    match admin {
        TlsSetting::Preferred if ca_bundle_configured => TlsSetting::Required,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_login_follows_its_own_ssl_and_the_ca_bundle() {
        use TlsSetting::{Disabled, Preferred, Required};
        assert_eq!(admin_tls(Preferred, true), Required);
        assert_eq!(admin_tls(Preferred, false), Preferred);
        assert_eq!(admin_tls(Required, false), Required);
        assert_eq!(admin_tls(Disabled, true), Disabled);
    }
}
