//! `cargo xtask rotate`: a rotation now, and the tutorial's step 3 as proof.
//!
//! Success is judged by Secrets Manager's own record (`AWSCURRENT` moved to the new
//! version) and then by the database: the new current credentials log in and can
//! SELECT, and the previous user still logs in (alternating users keeps both).
//!
//! `RotateSecret` only starts a rotation; Secrets Manager runs the four steps in
//! the background (Secrets Manager user guide, "How rotation works"). While it
//! waits, `rotate` reads what an operator would: the secret's staging labels and
//! the function's own log group in CloudWatch Logs (`FilterLogEvents` on
//! `/aws/lambda/<function>` since the rotation started). An error the function
//! logged for this secret names the failing step at once. Nothing is invoked: a
//! second `setSecret` running beside the real rotation could break it.
//!
//! A failed rotation leaves `AWSPENDING` on its version and Secrets Manager then
//! refuses new rotations: `rotate` says so and clears it only when asked (see
//! [`crate::pending`]).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use audit::sensitive::SensitiveString;
use aws_config::SdkConfig;
use serde_json::Value;

use crate::aws::{self, say};
use crate::database::{self, DbLogin};
use crate::names::{self, Names};
use crate::rotation_status::{labels_and_function, wait_for_rotation};

// The integration tests name it here.
pub use crate::rotation_status::Labels;

/// Options of `cargo xtask rotate`.
#[derive(Debug, Clone)]
pub struct RotateOptions {
    pub names: Names,
    /// PEM bundle of the database's CAs.
    pub db_ca_bundle: Option<PathBuf>,
    /// How long to wait for the rotation to finish.
    pub timeout: Duration,
    /// Where provision recorded the run's ids (the bastion, for a private database).
    pub state_dir: PathBuf,
    pub verbose: bool,
    /// Remove `AWSPENDING` from an unfinished earlier rotation's version first, so.
    pub clear_pending: Option<crate::pending::ClearPending>,
}

/// A verified rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub version_id: String,
    pub previous_user: String,
    pub current_user: String,
}

/// Starts a rotation, waits for it and proves it worked.
pub async fn rotate(config: &SdkConfig, options: &RotateOptions) -> Result<Rotation> {
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let secret = &options.names.secret;
    let (before, function) = labels_and_function(&secrets, secret).await?;
    let previous = read_value(&secrets, secret, "AWSCURRENT").await?;
    if let Some(pending) = &before.pending {
        let Some(how) = options.clear_pending else {
            return Err(crate::pending::unfinished(
                secret,
                pending,
                function.as_deref(),
            ));
        };
        crate::pending::clear(config, secret, pending, function.as_deref(), how).await?;
    }
    let started = secrets.rotate_secret().secret_id(secret).send().await.map_err(|e| {
        if has_no_rotation_function(&e) {
            anyhow!(
                "secret {secret} has no rotation function, so Secrets Manager refuses to rotate it ({}); run `cargo xtask deploy` first, which deploys the function and configures the rotation",
                aws::describe(&e)
            )
        } else if is_previous_rotation_unfinished(&e) {
            anyhow!(
                "secret {secret}: Secrets Manager refuses a new rotation while another one runs or is left unfinished ({}); see {} for its steps, then rerun",
                aws::describe(&e),
                crate::pending::log_group(function.as_deref())
            )
        } else {
            anyhow!(
                "secretsmanager:RotateSecret {secret}: {}; is rotation configured (`cargo xtask deploy`)?",
                aws::describe(&e)
            )
        }
    })?;
    let version = started
        .version_id()
        .ok_or_else(|| anyhow!("secretsmanager:RotateSecret {secret}: no version id returned"))?
        .to_owned();
    wait_for_rotation(config, secret, &version, options.timeout).await?;
    let current = read_value(&secrets, secret, "AWSCURRENT").await?;
    let old = read_value(&secrets, secret, "AWSPREVIOUS").await?;
    // The bastion provision recorded, for a database only reachable through it.
    let state_dir = &options.state_dir;
    let bastion = match crate::state::State::load(&options.names.state_file(state_dir)) {
        Ok(Some(state)) => {
            state
                .bastion(&aws_sdk_ec2::Client::new(config), state_dir)
                .await
        }
        _ => None,
    };
    verify(
        &current,
        &old,
        options.db_ca_bundle.as_ref(),
        bastion.as_ref(),
    )
    .await?;
    let rotation = Rotation {
        version_id: version,
        previous_user: previous.user.clone(),
        current_user: current.user.clone(),
    };
    if options.verbose {
        say(&format!(
            "secret {secret}: {} -> {} (version {}); {} logs in and can SELECT, {} still logs in",
            rotation.previous_user,
            rotation.current_user,
            rotation.version_id,
            current.user,
            old.user
        ));
    }
    Ok(rotation)
}

/// Whether `RotateSecret` was refused because an earlier rotation left `AWSPENDING`
/// on another version than `AWSCURRENT` (API reference, RotateSecret: "any later
/// invocation of RotateSecret assumes that a previous rotation request is still in
/// progress and returns an error").
fn is_previous_rotation_unfinished<E: aws_sdk_secretsmanager::error::ProvideErrorMetadata>(
    error: &E,
) -> bool {
    aws::code(error) == "InvalidRequestException"
        && error
            .message()
            .is_some_and(|m| m.contains("previous rotation isn't complete"))
}

/// Whether `RotateSecret` was refused because the secret names no rotation function
/// and the request named none (Secrets Manager API reference, `InvalidRequestException`:
/// "You tried to enable rotation on a secret that doesn't already have a Lambda
/// function ARN configured and you didn't include such an ARN").
fn has_no_rotation_function<E: aws_sdk_secretsmanager::error::ProvideErrorMetadata>(
    error: &E,
) -> bool {
    aws::code(error) == "InvalidRequestException"
        && error
            .message()
            .is_some_and(|m| m.contains("No Lambda rotation function ARN"))
}

/// The login fields of a secret version.
#[derive(Debug, Clone)]
pub struct SecretLogin {
    pub user: String,
    pub password: SensitiveString,
    pub host: String,
    pub port: u16,
    pub dbname: String,
}

/// Reads the login fields of the version labelled `stage`.
pub async fn read_value(
    secrets: &aws_sdk_secretsmanager::Client,
    secret: &str,
    stage: &str,
) -> Result<SecretLogin> {
    let value = secrets
        .get_secret_value()
        .secret_id(secret)
        .version_stage(stage)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "secretsmanager:GetSecretValue {secret} ({stage}): {}",
                aws::describe(&e)
            )
        })?;
    let parsed: Value = serde_json::from_str(value.secret_string().unwrap_or_default())
        .map_err(|_| anyhow!("secret {secret} ({stage}): the value is not JSON"))?;
    let text = |key: &str| {
        parsed[key]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("secret {secret} ({stage}): key `{key}` is missing"))
    };
    let port = match &parsed["port"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        Value::Null => Some(3306),
        _ => None,
    }
    .and_then(|p| u16::try_from(p).ok())
    .ok_or_else(|| anyhow!("secret {secret} ({stage}): key `port` is not a port number"))?;
    Ok(SecretLogin {
        user: text("username")?,
        password: SensitiveString::new(text("password")?),
        host: text("host")?,
        port,
        dbname: parsed["dbname"]
            .as_str()
            .unwrap_or(names::APP_DATABASE)
            .to_owned(),
    })
}

fn login_of(
    secret: &SecretLogin,
    ca_bundle: Option<&PathBuf>,
    via: Option<&crate::tunnel::Bastion>,
) -> DbLogin {
    DbLogin {
        via: via.cloned(),
        host: secret.host.clone(),
        port: secret.port,
        user: secret.user.clone(),
        password: secret.password.clone(),
        ca_bundle: ca_bundle.cloned(),
    }
}

/// The tutorial's step 3: the current user logs in and can SELECT; the previous one logs in.
pub async fn verify(
    current: &SecretLogin,
    previous: &SecretLogin,
    ca_bundle: Option<&PathBuf>,
    via: Option<&crate::tunnel::Bastion>,
) -> Result<()> {
    if current.user == previous.user {
        bail!(
            "after the rotation AWSCURRENT and AWSPREVIOUS both name user {}; alternating users should switch between {} and {}_clone (is ROTATION_STRATEGY single-user?)",
            current.user,
            names::APP_USER,
            names::APP_USER
        );
    }
    let mut connection = database::connect(&login_of(current, ca_bundle, via))
        .await
        .map_err(|e| e.context(format!("the new AWSCURRENT user {}", current.user)))?;
    let query = format!(
        "SELECT COUNT(*) FROM `{}`.`{}`",
        current.dbname.replace('`', "``"),
        names::APP_TABLE
    );
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(query.clone()))
        .fetch_one(&mut *connection)
        .await
        .map_err(|e| {
            anyhow!(
                "the new AWSCURRENT user {} logs in but `{query}` fails: {e}; it lacks SELECT",
                current.user
            )
        })?;
    database::connect(&login_of(previous, ca_bundle, via))
        .await
        .map_err(|e| {
            e.context(format!(
                "the previous user {} no longer logs in; alternating users must keep it working until the next rotation",
                previous.user
            ))
        })?;
    Ok(())
}
