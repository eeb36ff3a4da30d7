//! Account settings read from the grant tables with bound parameters, where
//! `SHOW CREATE USER` prints them in a form that cannot be read back exactly.

use sqlx::MySqlConnection;

use super::{DbError, column_text, statement_error};
use crate::sql::Account;
use crate::tls_requirement::TlsRequirement;

/// The account's TLS requirement from `mysql.user` (see [`crate::tls_requirement`]);
/// `None` when the account does not exist or its `ssl_type` is unknown.
pub async fn tls_requirement(
    connection: &mut MySqlConnection,
    account: &Account,
) -> Result<Option<TlsRequirement>, DbError> {
    let row = sqlx::query(
        "SELECT ssl_type, x509_issuer, x509_subject, ssl_cipher FROM mysql.user WHERE User = ? AND Host = ?",
    )
    .bind(&account.user)
    .bind(&account.host)
    .fetch_optional(connection)
    .await
    .map_err(|e| statement_error(&format!("reading the TLS requirement of {account} (mysql.user)"), &e, false))?;
    Ok(row.and_then(|row| {
        TlsRequirement::from_columns(
            &column_text(&row, 0),
            &column_text(&row, 1),
            &column_text(&row, 2),
            &column_text(&row, 3),
        )
    }))
}

/// MySQL 8.0.21+'s user attribute (`INFORMATION_SCHEMA.USER_ATTRIBUTES.ATTRIBUTE`, the
/// JSON of `ATTRIBUTE` and `COMMENT`: "The INFORMATION_SCHEMA USER_ATTRIBUTES Table",
/// <https://dev.mysql.com/doc/refman/8.0/en/information-schema-user-attributes-table.html>);
/// `None` when the account has none.
pub async fn user_attribute(
    connection: &mut MySqlConnection,
    account: &Account,
) -> Result<Option<String>, DbError> {
    let row = sqlx::query(
        "SELECT ATTRIBUTE FROM INFORMATION_SCHEMA.USER_ATTRIBUTES WHERE USER = ? AND HOST = ?",
    )
    .bind(&account.user)
    .bind(&account.host)
    .fetch_optional(connection)
    .await
    .map_err(|e| {
        statement_error(
            &format!("reading the attribute of {account} (USER_ATTRIBUTES)"),
            &e,
            false,
        )
    })?;
    Ok(row
        .map(|row| column_text(&row, 0))
        .filter(|text| !text.is_empty()))
}
