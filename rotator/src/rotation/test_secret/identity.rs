//! testSecret's proof that the pending login is the alternate user itself, with
//! exactly the privileges of the user it alternates with.
//!
//! A login succeeds as whichever account the server matched: an anonymous account
//! (`''@'host'`) with a more specific host than the user's is matched first and
//! accepts any name ("Access Control, Stage 1: Connection Verification",
//! <https://dev.mysql.com/doc/refman/8.0/en/connection-access.html>; MariaDB the
//! same: <https://mariadb.com/kb/en/create-user/#anonymous-accounts>), and then
//! `CURRENT_USER()` names it, not the user the client asked for. The application
//! would then run with that account's privileges. So the pending login must match
//! `<pending user>@<host>`, and its own `SHOW GRANTS` (which any account may run for
//! itself: MySQL, "SHOW GRANTS Statement"; MariaDB, "SHOW GRANTS") must equal the
//! current user's at the same host, read through the current user's own login (no
//! admin needed), with the session's roles turned off first (`SET ROLE NONE`: MySQL 8
//! prints an active role's privileges merged into the account's own rows). A
//! difference is reported by row, with the grantee left out (no
//! secret is in a grant row). Rows setSecret could not copy because their table,
//! column or routine is gone are expected to be missing, as the copy left them.

use sqlx::MySqlConnection;

use super::super::event::Context;
use super::super::rotator::Rotator;
use crate::db;
use crate::error::{Problem, RotationError};
use crate::grants::{self, GrantObject, GrantRow};
use crate::secret::DbSecret;
use crate::sql::{self, Account};
use crate::version::ServerVersion;

/// The account a login matched (`CURRENT_USER()`), when it is `user`'s own; else why not.
pub(super) fn own_account(user: &str, matched: &str) -> Result<Account, String> {
    let account = Account::from_current_user(matched)
        .ok_or_else(|| format!("CURRENT_USER() returned `{matched}`, not user@host"))?;
    if account.user == user {
        return Ok(account);
    }
    Err(format!(
        "the pending credentials of `{user}` log in as the account {account} (CURRENT_USER()), not as `{user}` itself: an anonymous or proxy account with a more specific host matched first; drop it (DROP USER {}) or give `{user}` an account at that host",
        account.sql().unwrap_or_else(|_| account.to_string())
    ))
}

/// Whether the objects a grant row names still exist, as its holder sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Existence {
    /// The table or routine is gone: the copy skipped the whole row.
    Gone,
    /// The table's columns that exist: the copy gave the row without the others.
    Columns(Vec<String>),
    /// The row names no table or routine, or they all exist.
    Whole,
}

/// The row the clone was given for `row` of the user, given what still exists.
pub(super) fn as_copied(row: &GrantRow, existence: &Existence) -> Option<GrantRow> {
    match existence {
        Existence::Gone => None,
        Existence::Whole => Some(row.clone()),
        Existence::Columns(existing) => {
            let GrantRow::Privileges { privileges, .. } = row else {
                return Some(row.clone());
            };
            grants::column_names(privileges)
                .iter()
                .filter(|c| !existing.iter().any(|e| e.eq_ignore_ascii_case(c)))
                .try_fold(row.clone(), |row, column| {
                    grants::without_column(&row, column)
                })
        }
    }
}

/// What differs between the rows the clone holds and those it should hold, as
/// "missing [...]; extra [...]"; `None` when they are the same set.
pub(super) fn difference(expected: &[GrantRow], clone: &[GrantRow]) -> Option<String> {
    let list = |rows: Vec<&GrantRow>| {
        rows.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    };
    let missing: Vec<&GrantRow> = expected.iter().filter(|r| !clone.contains(r)).collect();
    let extra: Vec<&GrantRow> = clone.iter().filter(|r| !expected.contains(r)).collect();
    if missing.is_empty() && extra.is_empty() {
        return None;
    }
    Some(format!(
        "missing [{}]; extra [{}]",
        list(missing),
        list(extra)
    ))
}

/// The rows of `SHOW GRANTS FOR CURRENT_USER()` that belong to `account` itself
/// (MariaDB adds the rows of an active role, which are the role's).
fn own_rows(rows: &[String], account: &Account) -> Result<Vec<GrantRow>, grants::GrantError> {
    let mut own = Vec::new();
    for row in rows {
        let parsed = grants::parse_row(row)?;
        let default_role =
            matches!(parsed.grant, GrantRow::DefaultRole { .. }) && parsed.grantee_host.is_empty();
        if parsed.grantee_user == account.user
            && (parsed.grantee_host == account.host || default_role)
            && !own.contains(&parsed.grant)
        {
            own.push(parsed.grant);
        }
    }
    Ok(own)
}

impl Rotator {
    /// The rows of the session's own account (`SHOW GRANTS FOR CURRENT_USER()`).
    async fn session_rows(
        &self,
        cx: &Context<'_>,
        connection: &mut MySqlConnection,
        account: &Account,
    ) -> Result<Vec<GrantRow>, RotationError> {
        db::prepare_session(connection)
            .await
            .map_err(|e| cx.fail(e))?;
        let version = db::version(connection).await.map_err(|e| cx.fail(e))?;
        if ServerVersion::parse(&version).is_some_and(|v| v.supports_roles()) {
            db::execute(connection, &sql::set_role_none())
                .await
                .map_err(|e| cx.fail(e))?;
        }
        let rows = db::strings(connection, &sql::show_own_grants())
            .await
            .map_err(|e| cx.fail(e))?;
        own_rows(&rows, account).map_err(|e| cx.fail(e))
    }

    /// Checks that the pending login (`connection`) is the pending user's own account and,
    /// for alternating users, holds exactly the current user's privileges at its host.
    pub(super) async fn check_pending_identity(
        &self,
        cx: &Context<'_>,
        pending: &DbSecret,
        connection: &mut MySqlConnection,
        alternating: bool,
    ) -> Result<(), RotationError> {
        let matched = db::current_user(connection).await.map_err(|e| cx.fail(e))?;
        let clone = own_account(&pending.username, &matched)
            .map_err(|reason| cx.fail(Problem::Refused(reason)))?;
        if !alternating {
            return Ok(());
        }
        let current = self.current(cx).await?;
        if current.username == pending.username {
            return Ok(());
        }
        let clone_rows = self.session_rows(cx, connection, &clone).await?;
        let (mut user_connection, _) = self.login(cx, &current, "current").await?;
        let matched = db::current_user(&mut user_connection)
            .await
            .map_err(|e| cx.fail(e))?;
        let user = Account::from_current_user(&matched)
            .filter(|a| a.user == current.username && a.host == clone.host)
            .ok_or_else(|| {
                cx.fail(Problem::Refused(format!(
                    "from this function the pending login matches {clone} but the current one matches `{matched}`, so their privileges cannot be compared; give both users the same hosts"
                )))
            })?;
        let user_rows = self.session_rows(cx, &mut user_connection, &user).await?;
        let mut expected = Vec::new();
        for row in &user_rows {
            let existence = if clone_rows.contains(row) {
                Existence::Whole
            } else {
                what_exists(cx, &mut user_connection, row).await?
            };
            expected.extend(as_copied(row, &existence));
        }
        if let Some(difference) = difference(&expected, &clone_rows) {
            return Err(cx.fail(Problem::Refused(format!(
                "the pending user's account {clone} does not hold exactly the privileges of {user}: {difference}; setSecret copies them: find what changed either account since, then let the rotation run again"
            ))));
        }
        tracing::info!(secret = %cx.event.secret_id, account = %clone, rows = clone_rows.len(), "the pending login is the alternate user itself, with the current user's privileges");
        Ok(())
    }
}

/// Whether the table or routine `row` names still exists, seen by the user who holds it.
async fn what_exists(
    cx: &Context<'_>,
    connection: &mut MySqlConnection,
    row: &GrantRow,
) -> Result<Existence, RotationError> {
    let GrantRow::Privileges { object, .. } = row else {
        return Ok(Existence::Whole);
    };
    match grants::parse_object(object) {
        Some(GrantObject::Table { database, table }) => {
            // Judged by TABLES, not by visible columns: a table-level ALTER or DROP
            // shows no column (see `db::table_exists`).
            if !db::table_exists(connection, &database, &table)
                .await
                .map_err(|e| cx.fail(e))?
            {
                return Ok(Existence::Gone);
            }
            let columns = db::table_columns(connection, &database, &table)
                .await
                .map_err(|e| cx.fail(e))?;
            Ok(Existence::Columns(columns))
        }
        Some(GrantObject::Routine {
            kind,
            database,
            name,
        }) => {
            let exists = db::routine_exists(connection, &kind, &database, &name)
                .await
                .map_err(|e| cx.fail(e))?;
            Ok(if exists {
                Existence::Whole
            } else {
                Existence::Gone
            })
        }
        _ => Ok(Existence::Whole),
    }
}

#[cfg(test)]
mod tests;
