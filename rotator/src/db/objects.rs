//! Whether the objects a grant names still exist, seen by the account that holds it.
//!
//! MySQL and MariaDB keep table, column and routine grants after the object is
//! dropped ("MySQL does not automatically revoke any privileges when you drop a
//! database or table": <https://dev.mysql.com/doc/refman/8.0/en/grant.html>), and the
//! copy skips them (`rotation::copy`). `INFORMATION_SCHEMA` shows an account the
//! tables, columns and routines it holds a privilege on (MySQL: "INFORMATION_SCHEMA
//! Usage Notes", <https://dev.mysql.com/doc/refman/8.0/en/information-schema-introduction.html>,
//! "each MySQL user has the right to access these tables, but can see only the rows
//! ... for which the user has the proper access privileges"), so the account whose
//! grant it is can tell which of its grants name something that is gone. Names are
//! bound as parameters.

use sqlx::MySqlConnection;

use super::{DbError, column_text, statement_error};

/// Whether the table `database`.`table` exists, as this session sees it:
/// `information_schema.TABLES` lists a table to an account that holds any privilege
/// on it, where `COLUMNS` lists only the columns it holds a column privilege
/// (`SELECT`, `INSERT`, `UPDATE`, `REFERENCES`) on, so a table the account may only
/// `ALTER`, `DROP`, `INDEX` or `TRIGGER` has no visible column but is there (MySQL
/// manual, "The INFORMATION_SCHEMA TABLES Table" and "... COLUMNS Table"; the
/// privilege levels: "Privileges Provided by MySQL", column privileges).
pub async fn table_exists(
    connection: &mut MySqlConnection,
    database: &str,
    table: &str,
) -> Result<bool, DbError> {
    let count = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
    )
    .bind(database)
    .bind(table)
    .fetch_one(connection)
    .await
    .map_err(|e| statement_error("looking up a table (information_schema.TABLES)", &e, false))?;
    Ok(count > 0)
}

/// The columns of `database`.`table` this session can see (see [`table_exists`]
/// for which).
pub async fn table_columns(
    connection: &mut MySqlConnection,
    database: &str,
    table: &str,
) -> Result<Vec<String>, DbError> {
    // As text whatever type the server gives it (MySQL 8's data-dictionary views may
    // send names as binary strings).
    let rows = sqlx::query(
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
    )
    .bind(database)
    .bind(table)
    .fetch_all(connection)
    .await
    .map_err(|e| {
        statement_error(
            "looking up a table's columns (information_schema.COLUMNS)",
            &e,
            false,
        )
    })?;
    Ok(rows.iter().map(|row| column_text(row, 0)).collect())
}

/// Whether the routine `database`.`name` of `kind` (`PROCEDURE`, `FUNCTION`...) exists,
/// as this session sees it.
pub async fn routine_exists(
    connection: &mut MySqlConnection,
    kind: &str,
    database: &str,
    name: &str,
) -> Result<bool, DbError> {
    let count = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_TYPE = ? AND ROUTINE_SCHEMA = ? AND ROUTINE_NAME = ?",
    )
    .bind(kind)
    .bind(database)
    .bind(name)
    .fetch_one(connection)
    .await
    .map_err(|e| statement_error("looking up a routine (information_schema.ROUTINES)", &e, false))?;
    Ok(count > 0)
}
