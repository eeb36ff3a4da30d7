//! Logins to MySQL/MariaDB with the TLS policy of the secret's `ssl` key.
//!
//! `ssl` true means TLS with the certificate chain and host name verified (against
//! the public roots plus the PEM file named by `DB_CA_BUNDLE`, which is how the
//! Amazon RDS CAs get in), and no fallback; false means plaintext; absent means
//! verified TLS, and plaintext only when the server offers no TLS at all. A server
//! that offers TLS with a certificate that fails the check is never retried in
//! plaintext: that is what an attacker in the path looks like, and without TLS
//! `caching_sha2_password` would send the password under an unauthenticated RSA key.
//! Each login logs the mode it used.
//!
//! Nothing here may print a password: sqlx's statement logging (every statement at
//! DEBUG, slow ones at WARN, with the full SQL) is off on every connection, and a
//! server's error text for a statement that carries a password is withheld, because
//! some messages (a syntax error's `near '...'`) quote the statement.

use std::path::Path;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::{ConnectOptions as _, Connection as _, MySqlConnection, Row as _};

use crate::secret::{Password, TlsSetting};
use crate::sql::{self, Statement};
use crate::version::Flavor;

mod accounts;
mod objects;

pub use accounts::{password_columns, tls_requirement, user_attribute};
pub use objects::{routine_exists, table_columns, table_exists};

/// How long a login may take before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and as whom to log in.
#[derive(Debug, Clone, Copy)]
pub struct Login<'a> {
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
    pub password: &'a Password,
    pub database: Option<&'a str>,
    pub tls: TlsSetting,
}

/// The transport a login ended up with, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    VerifiedTls,
    Plaintext,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifiedTls => "tls-verified",
            Self::Plaintext => "plaintext",
        }
    }
}

/// Why a login or statement failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    #[error(
        "cannot reach {host}:{port} ({message}); check the host, the port and that the function's security group may reach the database"
    )]
    Unreachable {
        host: String,
        port: u16,
        message: String,
    },
    #[error("{host}:{port} refused the login of user `{user}`: {message}")]
    Refused {
        host: String,
        port: u16,
        user: String,
        message: String,
        /// The server's error number (1045: wrong password...), when it sent one.
        number: Option<u16>,
    },
    #[error(
        "TLS to {host}:{port} failed ({message}); this login requires verified TLS (ssl=true in its secret, or, for the admin login, a configured DB_CA_BUNDLE): if the server uses the Amazon RDS CA, point DB_CA_BUNDLE at the RDS CA bundle (PEM), or set ssl to false to allow plaintext"
    )]
    Tls {
        host: String,
        port: u16,
        message: String,
    },
    #[error(
        "TLS to {host}:{port} failed ({message}); the server offers TLS, so the rotator does not fall back to plaintext (a certificate that fails the check may be an attacker in the path): if the server uses the Amazon RDS CA, point DB_CA_BUNDLE at the RDS CA bundle (PEM); set ssl to false in the secret only if plaintext is really intended"
    )]
    CertificateRejected {
        host: String,
        port: u16,
        message: String,
    },
    #[error("{what} failed: {message}")]
    Statement {
        what: String,
        message: String,
        /// The server's error number (1146: no such table...), when the server answered.
        number: Option<u16>,
    },
}

impl DbError {
    /// The server's error number of a failed statement.
    pub fn number(&self) -> Option<u16> {
        match self {
            Self::Statement { number, .. } => *number,
            _ => None,
        }
    }
}

/// sqlx's error when the server does not offer TLS (sqlx-mysql 0.9 `src/connection/tls.rs`,
/// `maybe_upgrade`): the only TLS failure after which the "absent" mode may use plaintext.
const SERVER_WITHOUT_TLS: &str = "server does not support TLS";

fn options(login: &Login<'_>, mode: MySqlSslMode, ca_bundle: Option<&Path>) -> MySqlConnectOptions {
    let mut options = MySqlConnectOptions::new()
        .host(login.host)
        .port(login.port)
        .username(login.user)
        .password(login.password.expose())
        .ssl_mode(mode)
        .charset("utf8mb4")
        // sqlx logs each statement at DEBUG and any slower than 1 s at WARN with its
        // full text (sqlx-core 0.9 `src/logger.rs`); `disable_statement_logging` is
        // `log_statements(LevelFilter::Off)` plus `log_slow_statements(LevelFilter::Off, ..)`
        // (sqlx-core 0.9 `src/connection.rs`). `ALTER USER ... IDENTIFIED BY` must never be logged.
        .disable_statement_logging();
    if let Some(database) = login.database {
        options = options.database(database);
    }
    if let Some(ca) = ca_bundle {
        options = options.ssl_ca(ca);
    }
    options
}

async fn attempt(
    login: &Login<'_>,
    mode: MySqlSslMode,
    ca_bundle: Option<&Path>,
) -> Result<MySqlConnection, sqlx::Error> {
    match tokio::time::timeout(
        CONNECT_TIMEOUT,
        MySqlConnection::connect_with(&options(login, mode, ca_bundle)),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        ))),
    }
}

fn classify(login: &Login<'_>, error: &sqlx::Error) -> DbError {
    let host = login.host.to_owned();
    let port = login.port;
    match error {
        sqlx::Error::Database(db) => {
            let mut message = db.message().to_owned();
            if message.contains("insecure transport")
                || message.contains("require_secure_transport")
            {
                message.push_str(" (the server requires TLS: set ssl to true in the secret, and DB_CA_BUNDLE to its CA)");
            }
            DbError::Refused {
                host,
                port,
                user: login.user.to_owned(),
                message,
                number: db
                    .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                    .map(sqlx::mysql::MySqlDatabaseError::number),
            }
        }
        sqlx::Error::Tls(inner) => DbError::Tls {
            host,
            port,
            message: inner.to_string(),
        },
        other => {
            let message = other.to_string();
            if message.to_ascii_lowercase().contains("tls") || message.contains("certificate") {
                DbError::Tls {
                    host,
                    port,
                    message,
                }
            } else {
                DbError::Unreachable {
                    host,
                    port,
                    message,
                }
            }
        }
    }
}

/// Logs in with the secret's TLS policy; returns the connection and the transport used.
pub async fn connect(
    login: &Login<'_>,
    ca_bundle: Option<&Path>,
) -> Result<(MySqlConnection, Transport), DbError> {
    match login.tls {
        TlsSetting::Required => attempt(login, MySqlSslMode::VerifyIdentity, ca_bundle)
            .await
            .map(|c| (c, Transport::VerifiedTls))
            .map_err(|e| match classify(login, &e) {
                DbError::Unreachable { message, .. }
                    if message.contains("TLS") || message.contains("SSL") =>
                {
                    DbError::Tls {
                        host: login.host.to_owned(),
                        port: login.port,
                        message,
                    }
                }
                other => other,
            }),
        TlsSetting::Disabled => attempt(login, MySqlSslMode::Disabled, ca_bundle)
            .await
            .map(|c| (c, Transport::Plaintext))
            .map_err(|e| classify(login, &e)),
        TlsSetting::Preferred => {
            match attempt(login, MySqlSslMode::VerifyIdentity, ca_bundle).await {
                Ok(connection) => Ok((connection, Transport::VerifiedTls)),
                Err(sqlx::Error::Tls(reason)) if reason.to_string() == SERVER_WITHOUT_TLS => {
                    let connection = attempt(login, MySqlSslMode::Disabled, ca_bundle)
                        .await
                        .map_err(|e| classify(login, &e))?;
                    tracing::warn!(
                        host = login.host,
                        port = login.port,
                        "the server offers no TLS; logged in in plaintext (set ssl to true in the secret to forbid this)"
                    );
                    Ok((connection, Transport::Plaintext))
                }
                // Anything else ends here: a refused login is refused in plaintext too,
                // and a certificate that fails the check is never retried without TLS.
                Err(error) => Err(match classify(login, &error) {
                    DbError::Tls {
                        host,
                        port,
                        message,
                    } => DbError::CertificateRejected {
                        host,
                        port,
                        message,
                    },
                    other => other,
                }),
            }
        }
    }
}

/// Server errors whose text names no statement (access denied, account, lock wait,
/// password policy, read-only): safe to show even for a statement with a password.
/// Their formats (MySQL's "Server Error Message Reference", MariaDB's error code
/// pages) hold account, plugin or resource names and numbers only, among them:
/// 1040 "Too many connections", 1203 "User %s already has more than
/// 'max_user_connections' active connections", 1226 "User '%s' has exceeded the '%s'
/// resource (current value: %ld)", 1524 "Plugin '%s' is not loaded", 3638 "Cannot use
/// these credentials for '%.*s@%.*s' because they contradict the password history
/// policy" (why a rotation that reuses a password fails on MySQL 8), and the fixed
/// texts of the password-reverification errors 3891-3895 (`REPLACE` with a wrong or
/// missing current password: MySQL 8.0.13+, "Password Verification-Required Policy").
const MESSAGES_WITHOUT_STATEMENT_TEXT: &[u16] = &[
    1040, 1044, 1045, 1133, 1142, 1203, 1205, 1226, 1227, 1290, 1317, 1396, 1524, 1792, 1819, 1820,
    1836, 1862, 1969, 3024, 3638, 3891, 3892, 3893, 3894, 3895,
];

/// What the function may say about a failed statement.
///
/// A statement that carries a password reports only its kind: the server's number, and
/// its text only when that text cannot quote the statement. A syntax error (1064, for
/// example `ALTER USER USER()` on MySQL before 5.7.6) quotes it as `near '...'`.
pub fn server_message(number: Option<u16>, message: &str, carries_password: bool) -> String {
    match number {
        _ if !carries_password => message.to_owned(),
        Some(number) if MESSAGES_WITHOUT_STATEMENT_TEXT.contains(&number) => message.to_owned(),
        Some(1064) => "the server does not accept the statement's syntax (MySQL error 1064; its message is withheld because it quotes the statement, which carries a password); check that the server version is supported".to_owned(),
        Some(number) => format!(
            "MySQL error {number} (its message is withheld because the statement carries a password)"
        ),
        None => "the statement failed without a server error (connection lost?)".to_owned(),
    }
}

fn statement_error(what: &str, error: &sqlx::Error, carries_password: bool) -> DbError {
    let (number, message) = match error {
        sqlx::Error::Database(db) => {
            let number = db
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .map(sqlx::mysql::MySqlDatabaseError::number);
            (number, db.message().to_owned())
        }
        other => (None, other.to_string()),
    };
    let mut message = server_message(number, &message, carries_password);
    if let Some(hint) = number.and_then(waited_hint) {
        message.push_str("; ");
        message.push_str(&hint);
    }
    DbError::Statement {
        what: what.to_owned(),
        message,
        number,
    }
}

/// What to do about a statement stopped by the bounds of [`sql::SESSION_SETUP`]:
/// 1205 (`ER_LOCK_WAIT_TIMEOUT`, both servers), 1969 (MariaDB's
/// `ER_STATEMENT_TIMEOUT`); and 3024 (MySQL's `ER_QUERY_TIMEOUT`), which only the
/// server's own `max_execution_time` raises, for a `SELECT`.
fn waited_hint(number: u16) -> Option<String> {
    if number == 3024 {
        return Some(
            "the server's max_execution_time stopped this SELECT (set in the DB parameter group); raise it for the admin user's session or rotate when the server is less busy"
                .to_owned(),
        );
    }
    matches!(number, 1205 | 1969).then(|| {
        format!(
            "another session holds a lock this statement needs (the rotator waits {} s for a lock and, on MariaDB, {} s for a statement): \
             find it (SHOW PROCESSLIST; MySQL: performance_schema.metadata_locks, MariaDB: information_schema.METADATA_LOCK_INFO), \
             let it finish, then rotate again; the statements after this one did not run",
            sql::LOCK_WAIT_SECONDS,
            sql::STATEMENT_SECONDS
        )
    })
}

/// Makes quoting of [`sql`] statements safe on this connection (see [`sql::SESSION_SETUP`]).
pub async fn prepare_session(connection: &mut MySqlConnection) -> Result<(), DbError> {
    sqlx::raw_sql(sql::SESSION_SETUP)
        .execute(connection)
        .await
        .map(|_| ())
        .map_err(|e| statement_error("setting the session's sql_mode and lock waits", &e, false))
}

/// Runs a statement built by [`sql`]: the one place where text becomes SQL
/// (`AssertSqlSafe`), because [`Statement`]s can only be made by that module.
pub async fn execute(
    connection: &mut MySqlConnection,
    statement: &Statement,
) -> Result<(), DbError> {
    tracing::debug!(statement = %statement.summary, "running");
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.text().to_owned()))
        .execute(connection)
        .await
        .map(|_| ())
        .map_err(|e| statement_error(&statement.summary, &e, statement.carries_password()))
}

/// Runs a statement built by [`sql`] and returns the first column of every row as text.
pub async fn strings(
    connection: &mut MySqlConnection,
    statement: &Statement,
) -> Result<Vec<String>, DbError> {
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(statement.text().to_owned()))
        .fetch_all(connection)
        .await
        .map_err(|e| statement_error(&statement.summary, &e, statement.carries_password()))?;
    Ok(rows.iter().map(|row| column_text(row, 0)).collect())
}

/// A column as text, whether the server sent it as a string or as bytes.
fn column_text(row: &sqlx::mysql::MySqlRow, index: usize) -> String {
    row.try_get::<String, _>(index).unwrap_or_else(|_| {
        row.try_get::<Vec<u8>, _>(index)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    })
}

/// `SELECT VERSION()`.
pub async fn version(connection: &mut MySqlConnection) -> Result<String, DbError> {
    sqlx::query_scalar::<_, String>("SELECT VERSION()")
        .fetch_one(connection)
        .await
        .map_err(|e| statement_error("reading the server version", &e, false))
}

/// The global variables of a password-validation component or plugin (MySQL's
/// `validate_password`, MariaDB's `simple_password_check`), as (name, value); none
/// when neither is installed. Any account may read them.
pub async fn password_policy_variables(
    connection: &mut MySqlConnection,
) -> Result<Vec<(String, String)>, DbError> {
    // `_` in LIKE matches any one character, itself included: no escapes, which
    // NO_BACKSLASH_ESCAPES would change.
    global_variables(
        connection,
        "SHOW GLOBAL VARIABLES WHERE Variable_name LIKE 'validate_password%' OR Variable_name LIKE 'simple_password_check%'",
        "reading the server's password policy (SHOW GLOBAL VARIABLES)",
    )
    .await
}

/// The variables that say whether the server takes the rotation's writes
/// ([`crate::preflight::VARIABLES`]), as (name, value); those the server lacks are absent.
pub async fn write_variables(
    connection: &mut MySqlConnection,
) -> Result<Vec<(String, String)>, DbError> {
    global_variables(
        connection,
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('read_only', 'super_read_only', 'innodb_read_only', 'partial_revokes')",
        "reading whether the server takes writes (SHOW GLOBAL VARIABLES)",
    )
    .await
}

async fn global_variables(
    connection: &mut MySqlConnection,
    query: &'static str,
    what: &str,
) -> Result<Vec<(String, String)>, DbError> {
    let rows = sqlx::raw_sql(query)
        .fetch_all(connection)
        .await
        .map_err(|e| statement_error(what, &e, false))?;
    Ok(rows
        .iter()
        .map(|row| (column_text(row, 0), column_text(row, 1)))
        .collect())
}

/// `SELECT CURRENT_USER()`: the account the server matched the login to.
pub async fn current_user(connection: &mut MySqlConnection) -> Result<String, DbError> {
    sqlx::query_scalar::<_, String>("SELECT CURRENT_USER()")
        .fetch_one(connection)
        .await
        .map_err(|e| statement_error("reading CURRENT_USER()", &e, false))
}

/// MySQL 8's `SELECT CURRENT_ROLE()`: the session's active roles, `NONE` when there are none.
pub async fn current_role(connection: &mut MySqlConnection) -> Result<String, DbError> {
    sqlx::query_scalar::<_, Option<String>>("SELECT CURRENT_ROLE()")
        .fetch_one(connection)
        .await
        .map(|roles| roles.unwrap_or_else(|| "NONE".to_owned()))
        .map_err(|e| statement_error("reading CURRENT_ROLE()", &e, false))
}

/// Whether an account exists (parameters bound, nothing quoted).
pub async fn account_exists(
    connection: &mut MySqlConnection,
    account: &sql::Account,
) -> Result<bool, DbError> {
    let count =
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?")
            .bind(&account.user)
            .bind(&account.host)
            .fetch_one(connection)
            .await
            .map_err(|e| statement_error(&format!("looking up account {account}"), &e, false))?;
    Ok(count > 0)
}

/// Every host of `user` in `mysql.user` (parameters bound, nothing quoted), sorted.
pub async fn account_hosts(
    connection: &mut MySqlConnection,
    user: &str,
) -> Result<Vec<String>, DbError> {
    let rows = sqlx::query("SELECT Host FROM mysql.user WHERE User = ? ORDER BY Host")
        .bind(user)
        .fetch_all(connection)
        .await
        .map_err(|e| {
            statement_error(
                &format!("reading the hosts of user `{user}` from mysql.user"),
                &e,
                false,
            )
        })?;
    let mut hosts: Vec<String> = rows
        .iter()
        .map(|row| {
            row.try_get::<String, _>(0).unwrap_or_else(|_| {
                row.try_get::<Vec<u8>, _>(0)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default()
            })
        })
        .collect();
    hosts.dedup();
    Ok(hosts)
}

/// One account's stored password, as `mysql.user` holds it: the plugin and the hash
/// (`authentication_string`), which `Debug` never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredPassword {
    pub host: String,
    pub plugin: String,
    hash: Option<Vec<u8>>,
}

impl StoredPassword {
    /// The stored hash, for [`crate::password_hash::check`] only; `None` when the
    /// server's answer could not be read.
    pub fn hash(&self) -> Option<&[u8]> {
        self.hash.as_deref()
    }
}

impl std::fmt::Debug for StoredPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredPassword")
            .field("host", &self.host)
            .field("plugin", &self.plugin)
            .field("hash", &"***")
            .finish()
    }
}

/// The stored password of every host of `user`, sorted by host. The hash is read as
/// hex: MySQL's `caching_sha2_password` salt is raw bytes, not always valid text.
/// MariaDB before 10.4 keeps a native password in `Password` with an empty `plugin`
/// (MariaDB knowledge base, "mysql.user Table"); its 10.4+ `mysql.user` view still has
/// that column. MySQL 5.7.6+ has `authentication_string` only.
pub async fn stored_passwords(
    connection: &mut MySqlConnection,
    user: &str,
    flavor: Flavor,
) -> Result<Vec<StoredPassword>, DbError> {
    let query = match flavor {
        Flavor::MySql => {
            "SELECT Host, COALESCE(plugin, ''), HEX(COALESCE(authentication_string, '')) \
             FROM mysql.user WHERE User = ? ORDER BY Host"
        }
        Flavor::MariaDb => {
            "SELECT Host, COALESCE(plugin, ''), \
             HEX(COALESCE(IF(COALESCE(plugin, '') = '', Password, authentication_string), '')) \
             FROM mysql.user WHERE User = ? ORDER BY Host"
        }
    };
    let rows = sqlx::query(query)
        .bind(user)
        .fetch_all(connection)
        .await
        .map_err(|e| {
            statement_error(
                &format!("reading the stored passwords of user `{user}` from mysql.user"),
                &e,
                false,
            )
        })?;
    let text = |row: &sqlx::mysql::MySqlRow, index: usize| {
        row.try_get::<String, _>(index).unwrap_or_else(|_| {
            row.try_get::<Vec<u8>, _>(index)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        })
    };
    Ok(rows
        .iter()
        .map(|row| StoredPassword {
            host: text(row, 0),
            plugin: text(row, 1),
            hash: from_hex(&text(row, 2)),
        })
        .collect())
}

/// Bytes from the server's `HEX()`; `None` for anything else.
fn from_hex(hex: &str) -> Option<Vec<u8>> {
    let digits = hex.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect()
}

/// A trivial query, as `testSecret` does.
pub async fn ping(connection: &mut MySqlConnection) -> Result<(), DbError> {
    sqlx::query("SELECT NOW()")
        .fetch_one(connection)
        .await
        .map(|_| ())
        .map_err(|e| statement_error("running SELECT NOW()", &e, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_hashes_are_read_as_hex_and_never_printed() {
        assert_eq!(from_hex("2A0d41"), Some(vec![0x2a, 0x0d, 0x41]));
        assert_eq!(from_hex(""), Some(vec![]));
        assert_eq!(from_hex("2A0"), None);
        assert_eq!(from_hex("ZZ"), None);
        let stored = StoredPassword {
            host: "%".into(),
            plugin: "mysql_native_password".into(),
            hash: from_hex("2A30444133"),
        };
        let shown = format!("{stored:?}");
        assert!(
            shown.contains("***") && !shown.contains("2A30") && !shown.contains("*0DA3"),
            "{shown}"
        );
    }

    /// MySQL 5.6's answer to `ALTER USER USER() IDENTIFIED BY '...'` (error 1064, in the
    /// server's message format; there is no MySQL 5.6 server here) quotes the password.
    const SYNTAX_ERROR: &str = "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near 'USER() IDENTIFIED BY 'Pending-Secret-9f'' at line 1";

    #[test]
    fn a_statement_with_a_password_reports_only_its_kind() {
        let shown = server_message(Some(1064), SYNTAX_ERROR, true);
        assert!(!shown.contains("Pending-Secret"), "{shown}");
        assert!(
            shown.contains("1064") && shown.contains("syntax"),
            "{shown}"
        );
        let other = server_message(Some(1478), "near 'Pending-Secret-9f'", true);
        assert!(
            !other.contains("Pending-Secret") && other.contains("1478"),
            "{other}"
        );
        assert!(!server_message(None, "near 'Pending-Secret-9f'", true).contains("Pending"));
        // Messages that cannot quote a statement stay useful.
        let policy = "Your password does not satisfy the current policy requirements";
        assert_eq!(server_message(Some(1819), policy, true), policy);
        let account = "Operation ALTER USER failed for 'app_clone'@'%'";
        assert_eq!(server_message(Some(1396), account, true), account);
        // A statement without a password keeps the server's text.
        assert_eq!(
            server_message(Some(1064), SYNTAX_ERROR, false),
            SYNTAX_ERROR
        );
    }

    #[test]
    fn a_statement_stopped_by_a_lock_wait_says_what_to_look_for() {
        assert!(
            waited_hint(3024)
                .expect("a hint")
                .contains("max_execution_time")
        );
        for number in [1205, 1969] {
            let hint = waited_hint(number).expect("a hint");
            assert!(
                hint.contains("another session holds a lock")
                    && hint.contains("SHOW PROCESSLIST")
                    && hint.contains("5 s"),
                "{hint}"
            );
            // The server's text of these never quotes the statement.
            assert_eq!(
                server_message(Some(number), "Lock wait timeout exceeded", true),
                "Lock wait timeout exceeded"
            );
        }
        assert_eq!(waited_hint(1045), None);
        // These and the other account and resource errors never quote the statement.
        for number in [1040, 1203, 1226, 1524, 3024, 3638] {
            let text = "Cannot use these credentials for 'app'@'%'";
            assert_eq!(server_message(Some(number), text, true), text, "{number}");
        }
    }

    #[test]
    fn statement_errors_carry_the_server_number() {
        let error = DbError::Statement {
            what: "w".into(),
            message: "m".into(),
            number: Some(1146),
        };
        assert_eq!(error.number(), Some(1146));
        assert_eq!(error.to_string(), "w failed: m");
    }
}
