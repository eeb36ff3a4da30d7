//! Refusals before the first write: a read-only server, or a copy the admin could
//! not finish.
//!
//! A copy stopped halfway leaves a clone short of the user, so what can be known
//! beforehand (the server takes writes; every grant and revoke is within the admin's
//! own privileges; partial revokes the clone would inherit) is checked first, against
//! the pure rules of `crate::preflight` and `crate::grantable`.

use sqlx::MySqlConnection;

use super::event::Context;
use super::rotator::Rotator;
use crate::db;
use crate::error::{Problem, RotationError};
use crate::grantable;
use crate::grants::{self, Grants};
use crate::preflight;
use crate::sql::{self, Account};
use crate::version::{Flavor, ServerVersion};

impl Rotator {
    /// Refuses, before the first write, a server that takes no writes (read-only); says
    /// whether partial revokes are in force, which `check_grantable` then looks at
    /// (see `preflight`).
    pub(super) async fn preflight(
        &self,
        cx: &Context<'_>,
        conn: &mut MySqlConnection,
        host: &str,
    ) -> Result<bool, RotationError> {
        let variables = db::write_variables(conn).await.map_err(|e| cx.fail(e))?;
        match preflight::refusal(host, &variables) {
            Some(reason) => Err(cx.fail(Problem::Refused(reason))),
            None => Ok(preflight::partial_revokes(&variables)),
        }
    }

    /// Refuses, before the first write, a copy the admin could not finish: each grant
    /// and revoke the clone needs must be within the admin's own privileges WITH GRANT
    /// OPTION ("To use GRANT, you must have the GRANT OPTION privilege, and you must
    /// have the privileges that you are granting": MariaDB knowledge base, "GRANT";
    /// MySQL reference manual, "GRANT Statement"). RDS's master user holds a fixed list
    /// without SUPER, FILE or SHUTDOWN (RDS user guide, "Master user account privileges").
    ///
    /// The check only ever stops a copy early; it never decides one the server would
    /// accept. So when the admin's own privileges cannot be read or parsed (mandatory
    /// roles in `USING`, an unfamiliar row), it says so and lets the server decide, as
    /// before it existed: a copy the server refuses is undone or redone on retry. Except
    /// under `partial_revokes=ON`, where a copy the server accepts can still leave the
    /// clone short of the user (inherited restrictions: see `preflight`), so the admin's
    /// privileges must be read.
    pub(super) async fn check_grantable(
        &self,
        cx: &Context<'_>,
        conn: &mut MySqlConnection,
        (host, version): (&str, &ServerVersion),
        accounts: &[(Account, Account, grants::AccountSettings, Grants)],
        partial_revokes: bool,
    ) -> Result<(), RotationError> {
        let admin = match self.admin_privileges(cx, conn, version).await {
            Ok(admin) => admin,
            Err(error) if partial_revokes => return Err(error),
            Err(error) => {
                tracing::warn!(secret = %cx.event.secret_id, reason = %error, "the admin's own privileges could not be read; the server will judge the copy");
                return Ok(());
            }
        };
        let (admin_account, admin) = admin;
        if partial_revokes {
            let mut inherited: Vec<String> = Vec::new();
            for (_, _, _, target) in accounts {
                for restriction in admin.inherited_revokes(&target.rows) {
                    if !inherited.contains(&restriction) {
                        inherited.push(restriction);
                    }
                }
            }
            if let Some(reason) =
                preflight::inherited_refusal(host, &admin_account.to_string(), &inherited)
            {
                return Err(cx.fail(Problem::Refused(reason)));
            }
        }
        self.refuse_ungrantable(cx, conn, version, accounts, &admin_account, &admin)
            .await
    }

    /// The admin session's account and privileges (its `SHOW GRANTS`, with its active roles).
    async fn admin_privileges(
        &self,
        cx: &Context<'_>,
        conn: &mut MySqlConnection,
        version: &ServerVersion,
    ) -> Result<(Account, grantable::AdminPrivileges), RotationError> {
        let matched = db::current_user(conn).await.map_err(|e| cx.fail(e))?;
        let admin_account = Account::from_current_user(&matched).ok_or_else(|| {
            cx.fail(Problem::Protocol(format!(
                "CURRENT_USER() returned `{matched}`, not user@host"
            )))
        })?;
        let roles = if version.flavor == Flavor::MySql && version.supports_roles() {
            let active = db::current_role(conn).await.map_err(|e| cx.fail(e))?;
            grantable::parse_role_list(&active)
                .into_iter()
                .map(|(user, host)| Account::new(user, host))
                .collect()
        } else {
            Vec::new()
        };
        let statement = sql::show_session_grants(version.flavor, &admin_account, &roles)
            .map_err(|e| cx.fail(e))?;
        let rows = db::strings(conn, &statement)
            .await
            .map_err(|e| cx.fail(e))?;
        let admin = grantable::AdminPrivileges::parse(&rows).map_err(|e| cx.fail(e))?;
        Ok((admin_account, admin))
    }

    async fn refuse_ungrantable(
        &self,
        cx: &Context<'_>,
        conn: &mut MySqlConnection,
        version: &ServerVersion,
        accounts: &[(Account, Account, grants::AccountSettings, Grants)],
        admin_account: &Account,
        admin: &grantable::AdminPrivileges,
    ) -> Result<(), RotationError> {
        let mut refusals = Vec::new();
        for (user, clone, _, target) in accounts {
            let existing = if db::account_exists(conn, clone)
                .await
                .map_err(|e| cx.fail(e))?
            {
                self.grants_of(cx, conn, clone).await?.rows
            } else {
                // What CREATE USER gives.
                vec![grants::GrantRow::Privileges {
                    revoke: false,
                    privileges: "USAGE".to_owned(),
                    object: "*.*".to_owned(),
                    grant_option: false,
                }]
            };
            let clone_sql = clone.sql().map_err(|e| cx.fail(e))?;
            let planned = grants::plan(&target.rows, &existing, &clone_sql);
            let shortfalls = grantable::shortfalls(&planned, admin, version);
            if !shortfalls.is_empty() {
                refusals.push(
                    grantable::Refusal {
                        user: &user.to_string(),
                        clone: &clone.to_string(),
                        admin: &admin_account.to_string(),
                        shortfalls: &shortfalls,
                    }
                    .to_string(),
                );
            }
        }
        if refusals.is_empty() {
            Ok(())
        } else {
            Err(cx.fail(Problem::Refused(refusals.join("; "))))
        }
    }
}
