//! `createSecret`: the pending version, with the alternate user's name (or the same
//! user's, for single-user rotation) and a password the server's policy accepts.
//!
//! The password is checked against the server's policy before it is stored, because
//! a pending password the server refuses in setSecret would be refused on every
//! retry; the user-name limit is judged here too, before anything is written.

use super::event::Context;
use super::rotator::Rotator;
use crate::db;
use crate::error::{Problem, RotationError};
use crate::password_policy;
use crate::secret::{DbSecret, Password, TlsSetting};
use crate::settings::Strategy;
use crate::sql::Account;
use crate::version::{Flavor, ServerVersion};

/// The other user of an alternating pair: `name` ↔ `name_clone` (one rule with
/// the audit's, in the shared `permissions` crate).
pub use permissions::alternate_user;

/// The user-name limit: the setting when given, else the server's.
pub fn user_name_limit(setting: Option<usize>, version: Option<&ServerVersion>) -> usize {
    setting
        .or_else(|| version.map(ServerVersion::max_user_name_len))
        .unwrap_or(16)
}

impl Rotator {
    pub(super) async fn create_secret(&self, cx: &Context<'_>) -> Result<(), RotationError> {
        let current = self.current(cx).await?;
        if self.pending(cx).await?.is_some() {
            tracing::info!(secret = %cx.event.secret_id, "the pending version already has a value; nothing to do");
            return Ok(());
        }
        let username = match self.settings.strategy {
            Strategy::AlternatingUsers => {
                current.require_masterarn().map_err(|source| {
                    cx.fail(Problem::Secret {
                        which: "current",
                        source,
                    })
                })?;
                alternate_user(&current.username)
            }
            Strategy::SingleUser => current.username.clone(),
        };
        Account::new(username.as_str(), "%")
            .sql()
            .map_err(|e| cx.fail(e))?;
        let length = username.chars().count();
        let needs_version = length > 16 && self.settings.username_character_limit.is_none();
        // One login reads the server's version (for the user-name limit) and its
        // password policy, where the password is set (`server_facts`: the admin's, for
        // alternating users). Without the version a long name cannot be judged, so that
        // login's failure is the step's; otherwise a server that cannot be read leaves
        // the password to the settings alone, as before the policy was read, and
        // setSecret reports the login's problem (a single-user rotation whose current
        // password no longer works still goes on with AWSPREVIOUS there).
        let (version, requirements) = match self.server_facts(cx, &current).await {
            Ok(facts) => facts,
            Err(error) if !needs_version => {
                tracing::warn!(secret = %cx.event.secret_id, reason = %error, "the server's password policy could not be read; the password follows the function's settings alone");
                (None, password_policy::Requirements::default())
            }
            Err(error) => return Err(error),
        };
        if length > 16 || self.settings.username_character_limit.is_some() {
            let limit = user_name_limit(self.settings.username_character_limit, version.as_ref());
            if length > limit {
                return Err(cx.fail(Problem::Refused(format!(
                    "the alternate user name `{username}` has {length} characters, more than the {limit} the server allows; shorten the user name, or set USERNAME_CHARACTER_LIMIT if the server allows more"
                ))));
            }
        }
        let cap = version
            .filter(|v| v.flavor == Flavor::MySql)
            .map(|_| password_policy::Cap::for_mysql(current.tls == TlsSetting::Required));
        let users = [username.as_str(), current.username.as_str()];
        let password = self.policy_password(cx, &requirements, cap, &users).await?;
        let value = current.with_credentials(&username, &password);
        let mut put = self
            .secrets
            .put_secret_value()
            .secret_id(&cx.event.secret_id)
            .client_request_token(&cx.event.token)
            .secret_string(value)
            .version_stages("AWSPENDING");
        if let Some(token) = &cx.event.rotation_token {
            put = put.rotation_token(token);
        }
        put.send()
            .await
            .map_err(|e| cx.aws(permissions::PUT_SECRET_VALUE, &e))?;
        tracing::info!(secret = %cx.event.secret_id, user = %username, "pending version created");
        Ok(())
    }

    /// The server's version and the requirements of its password policy, read where
    /// the pending password is later set. Alternating users: as the admin (`masterarn`)
    /// at the admin's endpoint, as setSecret logs in, not as the current user at the
    /// secret's host: a login with a stale current password adds a failed login
    /// toward the user's `FAILED_LOGIN_ATTEMPTS` lock (MySQL manual, "Password
    /// Management", "Failed-Login Tracking and Temporary Account Locking"), and a
    /// secret whose host is a read replica would read the replica's policy, which its
    /// own parameter group may set otherwise than the source's, where CREATE USER and
    /// ALTER USER run. Single user: as the current user at the secret's host, where the
    /// user sets its own password. When the admin login fails (setSecret will report
    /// it), the current user's login reads them, as before: a policy read there is
    /// better than none, and a long user name needs the version.
    async fn server_facts(
        &self,
        cx: &Context<'_>,
        current: &DbSecret,
    ) -> Result<(Option<ServerVersion>, password_policy::Requirements), RotationError> {
        let admin = match (self.settings.strategy, current.masterarn.as_deref()) {
            (Strategy::AlternatingUsers, Some(masterarn)) => {
                match self.admin_login(cx, current, masterarn).await {
                    Ok((connection, _)) => Some(connection),
                    Err(error) => {
                        tracing::warn!(secret = %cx.event.secret_id, admin_secret = %masterarn, reason = %error, "the admin login failed; the server's version and password policy are read as the current user at the secret's host instead");
                        None
                    }
                }
            }
            _ => None,
        };
        let mut connection = match admin {
            Some(connection) => connection,
            None => self.login(cx, current, "current").await?.0,
        };
        let text = db::version(&mut connection).await.map_err(|e| cx.fail(e))?;
        let variables = db::password_policy_variables(&mut connection)
            .await
            .map_err(|e| cx.fail(e))?;
        let requirements = password_policy::Requirements::from_variables(&variables)
            .map_err(|reason| cx.fail(Problem::Refused(reason)))?;
        Ok((ServerVersion::parse(&text), requirements))
    }

    /// A password the server's policy accepts, checked here (never by the server, whose
    /// `VALIDATE_PASSWORD_STRENGTH()` could log it) before it is stored: a password the
    /// server refuses in setSecret would be refused on every retry (see `password_policy`).
    async fn policy_password(
        &self,
        cx: &Context<'_>,
        requirements: &password_policy::Requirements,
        cap: Option<password_policy::Cap>,
        users: &[&str],
    ) -> Result<Password, RotationError> {
        let plan = password_policy::plan(requirements, &self.settings, cap)
            .map_err(|reason| cx.fail(Problem::Refused(reason)))?;
        if let (true, Some(cap)) = (plan.clamped, cap) {
            tracing::warn!(secret = %cx.event.secret_id, setting = self.settings.password_length, length = plan.length, "PASSWORD_LENGTH is more than the {} characters {}; asking for {}", cap.chars, cap.why, plan.length);
        }
        if !requirements.is_empty() {
            tracing::info!(secret = %cx.event.secret_id, policy = ?requirements, length = plan.length, "the server has a password policy; the password is generated to meet it");
        }
        let mut last = String::new();
        for attempt in 1..=password_policy::ATTEMPTS {
            let password = self.random_password(cx, plan.length).await?;
            match password_policy::shortfall(password.expose(), requirements, users) {
                None => return Ok(password),
                Some(reason) => {
                    tracing::info!(secret = %cx.event.secret_id, attempt, reason = %reason, "a generated password misses the server's password policy; asking for another");
                    last = reason;
                }
            }
        }
        Err(cx.fail(Problem::Refused(format!(
            "{} passwords of {} characters from GetRandomPassword all missed the server's password policy (the last: {last}); raise PASSWORD_LENGTH, or exclude fewer characters (EXCLUDE_CHARACTERS, EXCLUDE_*)",
            password_policy::ATTEMPTS,
            plan.length
        ))))
    }

    async fn random_password(
        &self,
        cx: &Context<'_>,
        length: usize,
    ) -> Result<Password, RotationError> {
        let s = &self.settings;
        let generated = self
            .secrets
            .get_random_password()
            .exclude_characters(&s.exclude_characters)
            .password_length(i64::try_from(length).unwrap_or(s.password_length))
            .exclude_numbers(s.exclude_numbers)
            .exclude_punctuation(s.exclude_punctuation)
            .exclude_uppercase(s.exclude_uppercase)
            .exclude_lowercase(s.exclude_lowercase)
            .require_each_included_type(s.require_each_included_type)
            .send()
            .await
            .map_err(|e| cx.aws(permissions::GET_RANDOM_PASSWORD, &e))?;
        generated
            .random_password()
            .map(|p| Password::new(p.to_owned()))
            .ok_or_else(|| {
                cx.fail(Problem::Aws {
                    action: permissions::GET_RANDOM_PASSWORD,
                    message: "no password returned".to_owned(),
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_alternate_both_ways() {
        for (name, alternate) in [
            ("appuser", "appuser_clone"),
            ("appuser_clone", "appuser"),
            ("_clone", "_clone_clone"),
            ("a_clone_clone", "a_clone"),
            ("o'brien", "o'brien_clone"),
        ] {
            assert_eq!(alternate_user(name), alternate, "{name}");
        }
    }

    #[test]
    fn the_limit_comes_from_the_setting_then_the_server() {
        let mariadb = ServerVersion::parse("10.11.6-MariaDB");
        let mysql56 = ServerVersion::parse("5.6.51");
        assert_eq!(user_name_limit(Some(20), mariadb.as_ref()), 20);
        assert_eq!(user_name_limit(None, mariadb.as_ref()), 80);
        assert_eq!(user_name_limit(None, mysql56.as_ref()), 16);
        assert_eq!(user_name_limit(None, None), 16);
    }
}
