//! The clone's accounts created, and each one's privileges and settings copied.
//!
//! A copy must end with the clone holding exactly what the current user holds, so it
//! is read back and compared, the way an auditor would; grants on objects that no
//! longer exist (a dropped table, routine or column) are skipped with a warning, since
//! the server refuses them on every retry.

use sqlx::MySqlConnection;

use super::event::Context;
use super::rotator::Rotator;
use crate::db::{self, DbError};
use crate::error::{Problem, RotationError};
use crate::grants::{self, Grants};
use crate::secret::DbSecret;
use crate::sql::{self, Account};
use crate::version::ServerVersion;

mod settings;

impl Rotator {
    /// Creates the accounts of the alternate user that do not exist yet, with the
    /// pending password and the user's authentication plugin, and locked until
    /// `copy_account` has given them everything the user has and unlocks them (no
    /// session opens on a half-made account), as AWS's reference function
    /// `SecretsManagerRDSMySQLRotationMultiUser` creates it `IDENTIFIED BY` the pending
    /// password. Not with the current user's password: the server's password policy
    /// (MySQL `validate_password`, MariaDB `simple_password_check`) judges the password
    /// of CREATE USER, and a current password set before a stricter policy was installed
    /// would stop every first rotation there, while the pending one was generated to
    /// meet the policy (createSecret). A crash after any creation leaves a clone this
    /// secret proves its own by its pending password (`ownership`; a locked account
    /// accepts the right password, then refuses with 3118/4151); the retry finishes its
    /// copy and leaves its password alone. The account this function's address matches
    /// is created first (it is last in `accounts`). Returns the hosts created.
    pub(super) async fn create_clones(
        &self,
        cx: &Context<'_>,
        conn: &mut MySqlConnection,
        pending: &DbSecret,
        version: &ServerVersion,
        accounts: &[(Account, Account, grants::AccountSettings, Grants)],
    ) -> Result<Vec<String>, RotationError> {
        let mut created = Vec::new();
        for (_, clone, settings, _) in accounts.iter().rev() {
            if db::account_exists(conn, clone)
                .await
                .map_err(|e| cx.fail(e))?
            {
                continue;
            }
            let statement = sql::create_user(
                clone,
                &pending.password,
                settings.plugin.as_deref(),
                version.flavor,
                version.supports_account_lock(),
            )
            .map_err(|e| cx.fail(e))?;
            db::execute(conn, &statement)
                .await
                .map_err(|e| cx.fail(e))?;
            tracing::info!(secret = %cx.event.secret_id, account = %clone, "created the alternate user with the pending password, locked until its privileges are copied");
            created.push(clone.host.clone());
        }
        Ok(created)
    }

    pub(super) async fn grants_of(
        &self,
        cx: &Context<'_>,
        conn: &mut MySqlConnection,
        account: &Account,
    ) -> Result<Grants, RotationError> {
        let rows = db::strings(conn, &sql::show_grants(account).map_err(|e| cx.fail(e))?)
            .await
            .map_err(|e| cx.fail(e))?;
        Grants::parse(&rows, &account.user, &account.host).map_err(|e| cx.fail(e))
    }

    /// Makes `clone`'s privileges and account settings exactly `current`'s.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn copy_account(
        &self,
        cx: &Context<'_>,
        conn: &mut MySqlConnection,
        current: &Account,
        clone: &Account,
        target: &Grants,
        wanted: &grants::AccountSettings,
        version: &ServerVersion,
    ) -> Result<(), RotationError> {
        let clone_sql = clone.sql().map_err(|e| cx.fail(e))?;
        let existing = self.grants_of(cx, conn, clone).await?;
        // Rows of the current user not given to the clone, and rows given without the
        // columns that no longer exist: both leave the result short of `target` on purpose.
        let mut skipped = Vec::new();
        let mut narrowed: Vec<(grants::GrantRow, grants::GrantRow)> = Vec::new();
        for planned in grants::plan(&target.rows, &existing.rows, &clone_sql) {
            let mut row = planned.row.clone();
            let mut statement = sql::privilege_statement(planned.text);
            loop {
                let error = match db::execute(conn, &statement).await {
                    Ok(()) => {
                        tracing::info!(secret = %cx.event.secret_id, statement = %statement.summary, "privilege copied");
                        if row != planned.row {
                            narrowed.push((planned.row.clone(), row));
                        }
                        break;
                    }
                    Err(error) => error,
                };
                let copies_a_privilege =
                    planned.applies && matches!(planned.row, grants::GrantRow::Privileges { .. });
                match error.number() {
                    // MySQL and MariaDB keep table grants after DROP TABLE (MySQL also routine
                    // grants), and granting on a missing table or routine fails with 1146
                    // (ER_NO_SUCH_TABLE) / 1305 (ER_SP_DOES_NOT_EXIST) on every retry:
                    // https://dev.mysql.com/doc/refman/8.0/en/grant.html ("MySQL does not
                    // automatically revoke any privileges when you drop a database or table").
                    Some(1146 | 1305) if copies_a_privilege => {
                        tracing::warn!(secret = %cx.event.secret_id, account = %current, grant = %planned.row, reason = %error, "not copied: the grant names a table or routine that no longer exists; revoke it from the user to silence this");
                        skipped.push(planned.row.clone());
                        break;
                    }
                    // Column grants outlive `ALTER TABLE ... DROP COLUMN` the same way, and
                    // granting one fails with 1054 (ER_BAD_FIELD_ERROR) on every retry: the
                    // grant is given again without that column (see `grants::unknown_column`).
                    // Each round removes one column of the row, so the loop ends. Undoing
                    // such a row needs nothing: REVOKE does not look the columns up (MySQL's
                    // `mysql_table_grant` in sql/auth/sql_authorization.cc checks them only
                    // `if (!revoke_grant)`; MariaDB 10.11 revokes them too, as seen here).
                    Some(1054) if copies_a_privilege => {
                        let DbError::Statement { message, .. } = &error else {
                            return Err(cx.fail(error));
                        };
                        let Some(column) = grants::unknown_column(&row, message) else {
                            return Err(cx.fail(error));
                        };
                        tracing::warn!(secret = %cx.event.secret_id, account = %current, grant = %planned.row, column = %column, "not copied for this column: the grant names a column that no longer exists; the rest of the grant is copied; revoke it from the user to silence this");
                        let Some(rest) = grants::without_column(&row, &column) else {
                            skipped.push(planned.row.clone());
                            break;
                        };
                        statement = sql::privilege_statement(rest.apply_sql(&clone_sql));
                        row = rest;
                    }
                    _ => return Err(cx.fail(error)),
                }
            }
        }
        self.copy_settings(cx, conn, (current, clone), wanted, version)
            .await?;
        // Check the result the way an auditor would: read both back and compare.
        let after = self.grants_of(cx, conn, clone).await?;
        let expected: Vec<&grants::GrantRow> = target
            .rows
            .iter()
            .filter(|r| !skipped.contains(r))
            .map(|r| {
                narrowed
                    .iter()
                    .find(|(whole, _)| whole == r)
                    .map_or(r, |(_, given)| given)
            })
            .collect();
        let missing: Vec<String> = expected
            .iter()
            .filter(|r| !after.rows.contains(r))
            .map(ToString::to_string)
            .collect();
        let extra: Vec<String> = after
            .rows
            .iter()
            .filter(|r| !expected.contains(r))
            .map(ToString::to_string)
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            return Err(cx.fail(Problem::Protocol(format!(
                "after copying, the privileges of {clone} differ from {current}: missing [{}], extra [{}]",
                missing.join("; "),
                extra.join("; ")
            ))));
        }
        Ok(())
    }
}
