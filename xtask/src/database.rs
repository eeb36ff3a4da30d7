//! Logging in to the tutorial's database from the machine running `cargo xtask`.
//!
//! On AWS the database is private and reached through the bastion (an SSH tunnel,
//! see [`crate::tunnel`]); in the emulator (and from the bastion itself) it is
//! reachable directly. Which case applies is decided by trying a TCP connection with
//! a short timeout, not by asking where we run. Every login verifies TLS (certificate and host name) against the CA bundle
//! given (`--db-ca-bundle`): the RDS CAs are in no public trust store.

use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use audit::sensitive::SensitiveString;
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::{Connection as _, MySqlConnection};

/// How long a TCP connection to the database may take before it counts as unreachable.
const REACH_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a login may take.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(15);

/// Credentials and the place to use them.
#[derive(Debug, Clone)]
pub struct DbLogin {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: SensitiveString,
    /// PEM bundle of CAs that verify the server's certificate.
    pub ca_bundle: Option<PathBuf>,
    /// The bastion to tunnel through when the database is not reachable directly.
    pub via: Option<crate::tunnel::Bastion>,
}

/// A login, and the tunnel it runs through (closed when this is dropped).
#[derive(Debug)]
pub struct DbConnection {
    connection: MySqlConnection,
    _tunnel: Option<crate::tunnel::Tunnel>,
}

impl Deref for DbConnection {
    type Target = MySqlConnection;
    fn deref(&self) -> &MySqlConnection {
        &self.connection
    }
}

impl DerefMut for DbConnection {
    fn deref_mut(&mut self) -> &mut MySqlConnection {
        &mut self.connection
    }
}

/// Whether a TCP connection to `host:port` opens within a few seconds.
pub async fn reachable(host: &str, port: u16) -> bool {
    matches!(
        tokio::time::timeout(REACH_TIMEOUT, tokio::net::TcpStream::connect((host, port))).await,
        Ok(Ok(_))
    )
}

/// Logs in directly when the database is reachable, else through the bastion.
pub async fn connect(login: &DbLogin) -> Result<DbConnection> {
    let (host, port, user) = (&login.host, login.port, &login.user);
    let mut tunnel = None;
    let mut options = if reachable(host, port).await {
        // Certificate and host name verified.
        MySqlConnectOptions::new()
            .host(host)
            .port(port)
            .ssl_mode(MySqlSslMode::VerifyIdentity)
    } else if let Some(bastion) = &login.via {
        let bastion = bastion.with_console_keys().await;
        let opened = crate::tunnel::Tunnel::open(&bastion, host, port)?;
        let local = opened.local_port;
        tunnel = Some(opened);
        // Through the tunnel the address is 127.0.0.1, which the database's certificate
        // cannot name: the chain is still verified against the CA bundle.
        MySqlConnectOptions::new()
            .host("127.0.0.1")
            .port(local)
            .ssl_mode(MySqlSslMode::VerifyCa)
    } else {
        bail!(
            "database {host}:{port} is not reachable from this machine (no TCP connection within {} s), and no bastion is known to tunnel through; run `cargo xtask provision` first, or run this command from a host that reaches the database",
            REACH_TIMEOUT.as_secs()
        );
    };
    options = options.username(user).password(login.password.expose());
    if let Some(ca) = &login.ca_bundle {
        if !ca.is_file() {
            bail!(
                "--db-ca-bundle {}: no such file; pass the PEM bundle of the database's CAs (on AWS the RDS global bundle, https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem)",
                ca.display()
            );
        }
        options = options.ssl_ca(ca);
    }
    let connection = tokio::time::timeout(LOGIN_TIMEOUT, MySqlConnection::connect_with(&options))
        .await
        .with_context(|| format!("logging in to {host}:{port} as {user} timed out"))?
        .with_context(|| {
            format!(
                "logging in to {host}:{port} as {user} (TLS verified{}); if the certificate is not trusted, pass --db-ca-bundle with the RDS CA bundle",
                login
                    .ca_bundle
                    .as_ref()
                    .map(|ca| format!(" against {}", ca.display()))
                    .unwrap_or_default()
            )
        })?;
    Ok(DbConnection {
        connection,
        _tunnel: tunnel,
    })
}
