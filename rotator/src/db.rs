//! Logins to MySQL/MariaDB with the TLS policy of the secret's `ssl` key.
//!
//! `ssl` true means TLS with the certificate chain and host name verified (against
//! the public roots plus the PEM file named by `DB_CA_BUNDLE`, which is how the
//! Amazon RDS CAs get in), and no fallback; false means plaintext; absent means
//! verified TLS first and plaintext only if that fails. Each login logs the mode it
//! used. Errors say which of those failed and what to change, and carry the server's
//! message (which never contains a password).

use std::path::Path;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::{Connection as _, MySqlConnection, Row as _};

use crate::secret::{Password, TlsSetting};
use crate::sql::{self, Statement};

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
    },
    #[error(
        "TLS to {host}:{port} failed ({message}); the secret requires TLS (ssl=true): if the server uses the Amazon RDS CA, point DB_CA_BUNDLE at the RDS CA bundle (PEM), or set ssl to false to allow plaintext"
    )]
    Tls {
        host: String,
        port: u16,
        message: String,
    },
    #[error(
        "{host}:{port}: verified TLS failed ({tls}) and plaintext failed ({plaintext}); set DB_CA_BUNDLE to the server's CA (PEM) and ssl to true"
    )]
    BothFailed {
        host: String,
        port: u16,
        tls: String,
        plaintext: String,
    },
    #[error("{what} failed: {message}")]
    Statement { what: String, message: String },
}

fn options(login: &Login<'_>, mode: MySqlSslMode, ca_bundle: Option<&Path>) -> MySqlConnectOptions {
    let mut options = MySqlConnectOptions::new()
        .host(login.host)
        .port(login.port)
        .username(login.user)
        .password(login.password.expose())
        .ssl_mode(mode)
        .charset("utf8mb4");
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
                // A refused login is refused in plaintext too; do not send the password again.
                Err(error @ sqlx::Error::Database(_)) => Err(classify(login, &error)),
                Err(tls_error) => match attempt(login, MySqlSslMode::Disabled, ca_bundle).await {
                    Ok(connection) => {
                        tracing::warn!(host = login.host, port = login.port, reason = %tls_error, "verified TLS failed; fell back to plaintext (set ssl to true in the secret to forbid this)");
                        Ok((connection, Transport::Plaintext))
                    }
                    Err(plain_error @ sqlx::Error::Database(_)) => {
                        Err(classify(login, &plain_error))
                    }
                    Err(plain_error) => match classify(login, &plain_error) {
                        unreachable @ DbError::Unreachable { .. }
                            if matches!(
                                classify(login, &tls_error),
                                DbError::Unreachable { .. }
                            ) =>
                        {
                            Err(unreachable)
                        }
                        _ => Err(DbError::BothFailed {
                            host: login.host.to_owned(),
                            port: login.port,
                            tls: tls_error.to_string(),
                            plaintext: plain_error.to_string(),
                        }),
                    },
                },
            }
        }
    }
}

fn statement_error(what: &str, error: &sqlx::Error) -> DbError {
    let message = match error {
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    };
    DbError::Statement {
        what: what.to_owned(),
        message,
    }
}

/// Makes quoting of [`sql`] statements safe on this connection (see [`sql::SESSION_SETUP`]).
pub async fn prepare_session(connection: &mut MySqlConnection) -> Result<(), DbError> {
    sqlx::raw_sql(sql::SESSION_SETUP)
        .execute(connection)
        .await
        .map(|_| ())
        .map_err(|e| statement_error("setting the session's sql_mode", &e))
}

/// Runs a statement built by [`sql`]: the one place where text becomes SQL
/// (`AssertSqlSafe`), because [`Statement`]s can only be made by that module.
pub async fn execute(
    connection: &mut MySqlConnection,
    statement: &Statement,
) -> Result<(), DbError> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.text().to_owned()))
        .execute(connection)
        .await
        .map(|_| ())
        .map_err(|e| statement_error(&statement.summary, &e))
}

/// Runs a statement built by [`sql`] and returns the first column of every row as text.
pub async fn strings(
    connection: &mut MySqlConnection,
    statement: &Statement,
) -> Result<Vec<String>, DbError> {
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(statement.text().to_owned()))
        .fetch_all(connection)
        .await
        .map_err(|e| statement_error(&statement.summary, &e))?;
    Ok(rows
        .iter()
        .map(|row| {
            row.try_get::<String, _>(0).unwrap_or_else(|_| {
                row.try_get::<Vec<u8>, _>(0)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default()
            })
        })
        .collect())
}

/// `SELECT VERSION()`.
pub async fn version(connection: &mut MySqlConnection) -> Result<String, DbError> {
    sqlx::query_scalar::<_, String>("SELECT VERSION()")
        .fetch_one(connection)
        .await
        .map_err(|e| statement_error("reading the server version", &e))
}

/// `SELECT CURRENT_USER()`: the account the server matched the login to.
pub async fn current_user(connection: &mut MySqlConnection) -> Result<String, DbError> {
    sqlx::query_scalar::<_, String>("SELECT CURRENT_USER()")
        .fetch_one(connection)
        .await
        .map_err(|e| statement_error("reading CURRENT_USER()", &e))
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
            .map_err(|e| statement_error(&format!("looking up account {account}"), &e))?;
    Ok(count > 0)
}

/// A trivial query, as `testSecret` does.
pub async fn ping(connection: &mut MySqlConnection) -> Result<(), DbError> {
    sqlx::query("SELECT NOW()")
        .fetch_one(connection)
        .await
        .map(|_| ())
        .map_err(|e| statement_error("running SELECT NOW()", &e))
}
