//! `setSecret` for alternating users: the clone made exactly the current user.
//!
//! The order of its work is what makes a crash anywhere safe: every input and every
//! account of both names is read and checked before the first write; the current
//! user's own login proves the secret right (and names the account it matched); an
//! existing alternate user is written to only once it is proven this secret's
//! (`ownership`); new clones are created locked with the pending password, their
//! privileges and settings copied (`copy`), and the pending password set last.

use super::create::{alternate_user, user_name_limit};
use super::event::Context;
use super::hosts::mirror_hosts;
use super::rotator::Rotator;
use crate::db;
use crate::error::{Problem, RotationError};
use crate::sql::{self, Account};
use crate::version::ServerVersion;

impl Rotator {
    #[allow(clippy::too_many_lines)] // setSecret's steps in protocol order; each part it calls has a module of its own
    pub(super) async fn set_secret_alternating(
        &self,
        cx: &Context<'_>,
    ) -> Result<(), RotationError> {
        let current = self.current(cx).await?;
        let pending = self.require_pending(cx).await?;
        let masterarn = current
            .require_masterarn()
            .map_err(|source| {
                cx.fail(Problem::Secret {
                    which: "current",
                    source,
                })
            })?
            .to_owned();
        let expected = alternate_user(&current.username);
        if pending.username != expected {
            return Err(cx.fail(Problem::Refused(format!(
                "the pending user `{}` is not the alternate of the current user `{}` (expected `{expected}`)",
                pending.username, current.username
            ))));
        }
        if pending.host != current.host || pending.port != current.port {
            return Err(cx.fail(Problem::Refused(
                "the pending version names another host or port than the current one".to_owned(),
            )));
        }
        // The current credentials must work: this function only acts for a secret that is right.
        let (mut current_connection, _) = self.login(cx, &current, "current").await?;
        let matched = db::current_user(&mut current_connection)
            .await
            .map_err(|e| cx.fail(e))?;
        drop(current_connection);
        let matched = Account::from_current_user(&matched).ok_or_else(|| {
            cx.fail(Problem::Protocol(format!(
                "CURRENT_USER() returned `{matched}`, not user@host"
            )))
        })?;
        // An anonymous account or a proxy user can accept the login of a name it is not.
        if matched.user != current.username {
            return Err(cx.fail(Problem::Refused(format!(
                "the current credentials of `{}` log in as the account {matched} (CURRENT_USER()), not as `{}` itself: an anonymous or proxy account matched; drop the anonymous accounts (DROP USER ''@'...') or fix the secret's username",
                current.username, current.username
            ))));
        }

        let (mut admin_connection, endpoint) = self.admin_login(cx, &current, &masterarn).await?;
        let version_text = db::version(&mut admin_connection)
            .await
            .map_err(|e| cx.fail(e))?;
        let version = ServerVersion::parse(&version_text).ok_or_else(|| {
            cx.fail(Problem::Protocol(format!(
                "cannot parse the server version `{version_text}`"
            )))
        })?;
        let limit = user_name_limit(self.settings.username_character_limit, Some(&version));
        if pending.username.chars().count() > limit {
            return Err(cx.fail(Problem::Refused(format!(
                "user name `{}` is longer than the {limit} characters {version} allows",
                pending.username
            ))));
        }
        if !version.supports_alter_user() {
            return Err(cx.fail(Problem::Refused(format!(
                "{version} is too old; the rotator supports MySQL 5.7.6+ and MariaDB 10.2+"
            ))));
        }
        let conn = &mut admin_connection;
        let partial_revokes = self.preflight(cx, conn, &endpoint.host).await?;

        // Read and check every account of both names before the first write.
        let user_hosts = db::account_hosts(conn, &current.username)
            .await
            .map_err(|e| cx.fail(e))?;
        let clone_hosts = db::account_hosts(conn, &pending.username)
            .await
            .map_err(|e| cx.fail(e))?;
        let hosts = mirror_hosts(
            &current.username,
            &pending.username,
            &user_hosts,
            &clone_hosts,
            &matched.host,
        )
        .map_err(|reason| cx.fail(Problem::Refused(reason)))?;
        // An existing alternate user must be this secret's before anything is written
        // to it; the hosts that hold the pending password already keep it, and the
        // copy below completes (or confirms) their privileges and settings.
        // (No login as it: a failed one counts against the account; see `ownership`.)
        let claim = self
            .claim_alternate(
                cx,
                conn,
                &current,
                &pending,
                version.flavor,
                (&clone_hosts, &hosts),
            )
            .await?;
        let mut accounts = Vec::new();
        for host in hosts {
            let user = Account::new(current.username.as_str(), host.as_str());
            let clone = Account::new(pending.username.as_str(), host.as_str());
            clone.sql().map_err(|e| cx.fail(e))?;
            let settings = self.account_settings(cx, conn, &user, &version).await?;
            if settings.factors > 1 {
                return Err(cx.fail(Problem::Refused(format!(
                    "{user} uses multifactor authentication ({} factors); a password rotation can change only its first factor, and a clone of it could not log in as the application does; rotate this account by hand, or use a single-factor account",
                    settings.factors
                ))));
            }
            if let Some(plugin) = &settings.plugin
                && !sql::PASSWORD_PLUGINS.contains(&plugin.as_str())
            {
                return Err(cx.fail(Problem::Refused(format!(
                    "{user} authenticates with the plugin `{plugin}`, which takes no password; a password rotation cannot serve it (supported: {})",
                    sql::PASSWORD_PLUGINS.join(", ")
                ))));
            }
            let grants = self.grants_of(cx, conn, &user).await?;
            accounts.push((user, clone, settings, grants));
        }
        tracing::info!(secret = %cx.event.secret_id, user = %current.username, hosts = ?accounts.iter().map(|a| a.0.host.as_str()).collect::<Vec<_>>(), "mirroring every host of the user");
        self.check_grantable(
            cx,
            conn,
            (&endpoint.host, &version),
            &accounts,
            partial_revokes,
        )
        .await?;
        let mut holding_pending = claim.holding_pending;
        holding_pending.extend(
            self.create_clones(cx, conn, &pending, &version, &accounts)
                .await?,
        );
        for (user, clone, settings, grants) in &accounts {
            self.copy_account(cx, conn, user, clone, grants, settings, &version)
                .await?;
        }
        for (_, clone, settings, _) in &accounts {
            let set_already = holding_pending
                .iter()
                .any(|h| h.eq_ignore_ascii_case(&clone.host));
            if !set_already {
                let statement = sql::set_password(
                    clone,
                    &pending.password,
                    settings.plugin.as_deref(),
                    version.flavor,
                )
                .map_err(|e| cx.fail(e))?;
                db::execute(conn, &statement)
                    .await
                    .map_err(|e| cx.fail(e))?;
                tracing::info!(secret = %cx.event.secret_id, account = %clone, "set the pending password of the alternate user");
            }
            // Also where the pending password was set before: a crash between the two
            // statements would otherwise leave the old one valid as a secondary.
            if version.supports_dual_passwords() {
                let discard = sql::discard_old_password(clone).map_err(|e| cx.fail(e))?;
                db::execute(conn, &discard).await.map_err(|e| cx.fail(e))?;
            }
        }
        Ok(())
    }
}
