//! The alternating-users rotation function for MySQL and MariaDB, as a library.
//!
//! Secrets Manager calls the function four times per rotation (`createSecret`,
//! `setSecret`, `testSecret`, `finishSecret`); [`rotation::Rotator::handle`] runs one
//! step. The binary `bootstrap` only wires it to the Lambda runtime, so everything
//! here is testable without Lambda: the pure parts (secret parsing, SQL quoting,
//! grant rewriting, version rules, settings) have table-driven unit tests beside
//! them, and the steps are tested end to end against the embedded emulator.
//!
//! Where AWS's Python reference function falls short, this one does not: the
//! user-name limit comes from the parsed server version, the clone gets every host of
//! the current user, each with exactly its privileges (grant options, roles, default
//! roles, partial revokes, with extras revoked) and account settings (TLS
//! requirement, plugin, expiry, limits, lock), a user holding what the admin cannot
//! grant (RDS's master user has no FILE or SUPER) is refused before any write (see
//! [`grantable`]), MySQL 9 is not mistaken for 5.7,
//! `caching_sha2_password` works, malformed secrets name the key, TLS errors say
//! what to change, and no password reaches a log or an error (see [`logging`] and
//! [`db`]).

pub mod db;
pub mod error;
pub mod grantable;
/// The grant and `SHOW CREATE USER` parsers, shared with the audit.
pub use permissions::grants;
pub mod logging;
pub mod password_hash;
pub mod password_policy;
pub mod preflight;
pub mod rotation;
pub mod secret;
pub mod settings;
pub mod sql;
pub mod tls_requirement;
pub mod version;

/// The AWS calls this function makes, as data (the `permissions` crate): deploy's
/// role policy and the audit's role check are built from it.
pub use permissions;

pub use error::RotationError;
pub use rotation::Rotator;
pub use settings::Settings;

/// Builds the rotator from the process environment, as the function does at start.
pub async fn from_env() -> Result<Rotator, settings::SettingError> {
    let settings = Settings::from_env()?;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(sdk_timeouts())
        .load()
        .await;
    let mut secrets_config = aws_sdk_secretsmanager::config::Builder::from(&config);
    if let Some(endpoint) = &settings.secrets_manager_endpoint {
        secrets_config = secrets_config.endpoint_url(endpoint);
    }
    let secrets = aws_sdk_secretsmanager::Client::from_conf(secrets_config.build());
    let rds = aws_sdk_rds::Client::new(&config);
    Ok(Rotator::new(secrets, rds, settings))
}

/// How long the function waits for an AWS API before it fails the step itself.
///
/// Unreachable is silence on AWS: a security group or a missing endpoint drops the
/// packets and the client waits (Secrets Manager user guide, "Troubleshoot rotation":
/// a timeout is most often a function that cannot reach Secrets Manager or the
/// database). The SDK's defaults have a connect timeout only (3.1 s), so without
/// these the step would wait out the Lambda timeout and say only "Task timed out";
/// with them it fails in time with the action and what to check
/// ([`rotation::aws_errors::unreachable_hint`]). Secrets Manager and RDS answer in well under a
/// second; 5 s an attempt and 15 s in all (the standard retry mode's 3 attempts)
/// fit the 30 s function timeout that `cargo xtask deploy` sets.
pub fn sdk_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_millis(3100))
        .operation_attempt_timeout(std::time::Duration::from_secs(5))
        .operation_timeout(std::time::Duration::from_secs(15))
        .build()
}
