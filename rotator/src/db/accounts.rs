//! Account settings read from the grant tables with bound parameters, where
//! `SHOW CREATE USER` prints them in a form that cannot be read back exactly.

use sqlx::mysql::MySqlRow;
use sqlx::{MySqlConnection, Row as _};

use super::{DbError, column_text, statement_error};
use crate::grants::PasswordColumns;
use crate::sql::Account;
use crate::tls_requirement::TlsRequirement;

/// The row `query` selects for the account (its user and host bound, in that order),
/// if any; a failure says what was read (`what` the account, from `table`).
async fn account_row(
    connection: &mut MySqlConnection,
    account: &Account,
    query: &'static str,
    what: &str,
    table: &str,
) -> Result<Option<MySqlRow>, DbError> {
    sqlx::query(query)
        .bind(&account.user)
        .bind(&account.host)
        .fetch_optional(connection)
        .await
        .map_err(|e| statement_error(&format!("reading {what} {account} ({table})"), &e, false))
}

/// The account's TLS requirement from `mysql.user` (see [`crate::tls_requirement`]);
/// `None` when the account does not exist or its `ssl_type` is unknown.
pub async fn tls_requirement(
    connection: &mut MySqlConnection,
    account: &Account,
) -> Result<Option<TlsRequirement>, DbError> {
    let row = account_row(
        connection,
        account,
        "SELECT ssl_type, x509_issuer, x509_subject, ssl_cipher FROM mysql.user WHERE User = ? AND Host = ?",
        "the TLS requirement of",
        "mysql.user",
    )
    .await?;
    Ok(row.and_then(|row| {
        TlsRequirement::from_columns(
            &column_text(&row, 0),
            &column_text(&row, 1),
            &column_text(&row, 2),
            &column_text(&row, 3),
        )
    }))
}

/// MySQL 8.0.19+'s password-option columns of the account in `mysql.user` (see
/// [`PasswordColumns`]); `None` when the account does not exist. Every value is read
/// as text, SQL `NULL` as `None`.
pub async fn password_columns(
    connection: &mut MySqlConnection,
    account: &Account,
) -> Result<Option<PasswordColumns>, DbError> {
    let row = account_row(
        connection,
        account,
        "SELECT CAST(Password_reuse_history AS CHAR), CAST(Password_reuse_time AS CHAR), \
         CAST(Password_require_current AS CHAR), \
         JSON_UNQUOTE(JSON_EXTRACT(User_attributes, '$.Password_locking.failed_login_attempts')), \
         JSON_UNQUOTE(JSON_EXTRACT(User_attributes, '$.Password_locking.password_lock_time_days')) \
         FROM mysql.user WHERE User = ? AND Host = ?",
        "the password options of",
        "mysql.user",
    )
    .await?;
    Ok(row.map(|row| {
        let text = |index| {
            row.try_get::<Option<String>, _>(index)
                .or_else(|_| {
                    row.try_get::<Option<Vec<u8>>, _>(index)
                        .map(|b| b.map(|b| String::from_utf8_lossy(&b).into_owned()))
                })
                .unwrap_or_default()
        };
        PasswordColumns {
            reuse_history: text(0),
            reuse_time: text(1),
            require_current: text(2),
            failed_login_attempts: text(3),
            lock_time_days: text(4),
        }
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
    let row = account_row(
        connection,
        account,
        "SELECT ATTRIBUTE FROM INFORMATION_SCHEMA.USER_ATTRIBUTES WHERE USER = ? AND HOST = ?",
        "the attribute of",
        "USER_ATTRIBUTES",
    )
    .await?;
    Ok(row
        .map(|row| column_text(&row, 0))
        .and_then(|text| normalized_attribute(&text)))
}

/// An account's attribute as it is compared and copied: none for an empty text,
/// JSON `null` or `{}` (an attribute whose members were all removed may read back
/// as `{}`, and must equal a user without one, or the read-back after copying
/// would never agree), else the JSON in one canonical form (keys sorted, no
/// spaces), so that two equal documents compare equal whatever their spelling.
pub fn normalized_attribute(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    match serde_json::from_str::<serde_json::Value>(trimmed) {
        Ok(serde_json::Value::Null) => None,
        Ok(serde_json::Value::Object(members)) if members.is_empty() => None,
        Ok(value) => Some(value.to_string()),
        Err(_) => Some(trimmed.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::normalized_attribute;

    #[test]
    fn an_emptied_attribute_is_no_attribute_and_equal_documents_compare_equal() {
        for (text, expected) in [
            ("", None),
            ("  ", None),
            ("null", None),
            ("{}", None),
            ("{ }", None),
            (r#"{"b": 1, "a": "x"}"#, Some(r#"{"a":"x","b":1}"#)),
            (r#"{"a":"x","b":1}"#, Some(r#"{"a":"x","b":1}"#)),
            ("not json", Some("not json")),
        ] {
            assert_eq!(normalized_attribute(text).as_deref(), expected, "{text:?}");
        }
    }
}
