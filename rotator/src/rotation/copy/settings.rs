//! The clone's account settings made the current user's, then read back.
//!
//! `SHOW CREATE USER` of both accounts is compared setting by setting; only what
//! differs is changed, so an unchanged clone gets no statement. After the changes
//! the clone's settings are read again and must equal the user's, the way an auditor
//! would check them (the password, and the plugin that the password statement sets
//! after this copy, left aside). A value `SHOW CREATE USER` cannot print exactly
//! comes from the grant tables instead: the TLS requirement (`crate::tls_requirement`),
//! MySQL 8.0.21+'s attribute (`INFORMATION_SCHEMA.USER_ATTRIBUTES`) and, on MySQL
//! 8.0.19+, the password options (`mysql.user`), so that no text elsewhere in the
//! statement (a value the server prints unescaped) can be read as one of them.

use serde_json::{Map, Value};
use sqlx::MySqlConnection;

use super::super::event::Context;
use super::super::rotator::Rotator;
use crate::db;
use crate::error::{Problem, RotationError};
use crate::grants::{self, AccountSettings};
use crate::sql::{self, Account, QuoteError, Statement};
use crate::version::{Flavor, ServerVersion};

/// The JSON documents that turn the attribute `have` into `wanted` with `ALTER USER
/// ... ATTRIBUTE`, which merges (JSON merge patch: "a member whose value is null is
/// removed": MySQL, "CREATE USER Statement", <https://dev.mysql.com/doc/refman/8.0/en/create-user.html#create-user-comments-attributes>):
/// first every member `have` holds set to null, then `wanted` itself.
pub(super) fn attribute_patches(wanted: Option<&str>, have: Option<&str>) -> Vec<String> {
    let mut patches = Vec::new();
    if let Some(Value::Object(members)) = have.and_then(|h| serde_json::from_str::<Value>(h).ok())
        && !members.is_empty()
    {
        let cleared: Map<String, Value> =
            members.keys().map(|k| (k.clone(), Value::Null)).collect();
        patches.push(Value::Object(cleared).to_string());
    }
    patches.extend(wanted.map(str::to_owned));
    patches
}

/// The statements that give `clone` (whose settings are `have`) the settings `wanted`.
pub(super) fn settings_statements(
    clone: &Account,
    wanted: &AccountSettings,
    have: &AccountSettings,
    version: &ServerVersion,
) -> Result<Vec<Statement>, QuoteError> {
    let mut statements = Vec::new();
    if wanted.require != have.require {
        statements.push(sql::require(clone, &wanted.require)?);
    }
    if version.flavor == Flavor::MySql
        && version.supports_roles()
        && wanted.default_roles != have.default_roles
    {
        statements.push(sql::default_roles(clone, wanted.default_roles.as_deref())?);
    }
    if wanted.limits != have.limits {
        let mut limits = wanted.limits.clone();
        for (name, _) in &have.limits {
            if !limits.iter().any(|(n, _)| n == name) {
                limits.push((name.clone(), "0".to_owned()));
            }
        }
        statements.push(sql::resource_limits(clone, &limits)?);
    }
    if wanted.password_expiry != have.password_expiry {
        statements.push(sql::password_expiry(clone, &wanted.password_expiry)?);
    }
    let (ours, theirs) = (
        wanted.password_options.clauses(),
        have.password_options.clauses(),
    );
    for (clause, current) in ours.into_iter().zip(theirs) {
        if clause != current {
            statements.push(sql::password_option(clone, clause)?);
        }
    }
    if version.supports_user_attributes() && wanted.attribute != have.attribute {
        for patch in attribute_patches(wanted.attribute.as_deref(), have.attribute.as_deref()) {
            statements.push(sql::user_attribute(clone, &patch)?);
        }
    }
    // Last: the clone opens only once everything else is in place. `ACCOUNT UNLOCK`
    // also ends a temporary lock after failed logins on MySQL 8.0.19+, which
    // `SHOW CREATE USER` does not show, so it is given whenever failed logins are tracked.
    let tracked = wanted.password_options.tracks_failed_logins()
        || have.password_options.tracks_failed_logins();
    if wanted.locked != have.locked
        || (!wanted.locked && tracked && version.unlock_ends_temporary_locks())
    {
        statements.push(sql::account_lock(clone, wanted.locked)?);
    }
    Ok(statements)
}

impl Rotator {
    /// `SHOW CREATE USER`: TLS requirement, default roles, plugin, limits, expiry, lock,
    /// password options; the TLS requirement and attribute from the grant tables.
    pub(in super::super) async fn account_settings(
        &self,
        cx: &Context<'_>,
        conn: &mut MySqlConnection,
        account: &Account,
        version: &ServerVersion,
    ) -> Result<AccountSettings, RotationError> {
        let rows = db::strings(
            conn,
            &sql::show_create_user(account).map_err(|e| cx.fail(e))?,
        )
        .await
        .map_err(|e| cx.fail(e))?;
        if rows.is_empty() {
            return Err(cx.fail(Problem::Protocol(format!(
                "SHOW CREATE USER {account} returned nothing"
            ))));
        }
        let tls = db::tls_requirement(conn, account)
            .await
            .map_err(|e| cx.fail(e))?
            .ok_or_else(|| {
                cx.fail(Problem::Protocol(format!(
                    "mysql.user has no known ssl_type for {account}"
                )))
            })?;
        let mut text = tls.mask(&rows.join(" "));
        let attribute = if version.supports_user_attributes() {
            db::user_attribute(conn, account)
                .await
                .map_err(|e| cx.fail(e))?
        } else {
            None
        };
        if let Some(json) = &attribute {
            text = text.replace(&format!("'{json}'"), "'-'");
        }
        let mut settings = grants::parse_create_user(&text).map_err(|e| cx.fail(e))?;
        settings.require = tls.clause().map_err(|e| cx.fail(e))?;
        settings.attribute = attribute;
        if version.reads_password_options_from_grant_tables() {
            let columns = db::password_columns(conn, account)
                .await
                .map_err(|e| cx.fail(e))?
                .ok_or_else(|| {
                    cx.fail(Problem::Protocol(format!(
                        "mysql.user has no row for {account}"
                    )))
                })?;
            settings.password_options = grants::PasswordOptions::from_columns(&columns)
                .map_err(|reason| cx.fail(Problem::Protocol(format!("{account}: {reason}"))))?;
        }
        Ok(settings)
    }

    /// Makes `clone`'s account settings `wanted` (`current`'s), then reads them back.
    pub(super) async fn copy_settings(
        &self,
        cx: &Context<'_>,
        conn: &mut MySqlConnection,
        (current, clone): (&Account, &Account),
        wanted: &AccountSettings,
        version: &ServerVersion,
    ) -> Result<(), RotationError> {
        let have = self.account_settings(cx, conn, clone, version).await?;
        for statement in
            settings_statements(clone, wanted, &have, version).map_err(|e| cx.fail(e))?
        {
            db::execute(conn, &statement)
                .await
                .map_err(|e| cx.fail(e))?;
            tracing::info!(secret = %cx.event.secret_id, statement = %statement.summary, "account setting copied");
        }
        let after = self.account_settings(cx, conn, clone, version).await?;
        let differences = wanted.differences(&after);
        if !differences.is_empty() {
            return Err(cx.fail(Problem::Protocol(format!(
                "after copying, the account settings of {clone} still differ from {current}'s in: {}; compare SHOW CREATE USER of both (a server that ignores one of these clauses cannot hold the clone the application needs)",
                differences.join(", ")
            ))));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
