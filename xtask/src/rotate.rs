//! `cargo xtask rotate`: a rotation now, and the tutorial's step 3 as proof.
//!
//! Success is judged by Secrets Manager's own record (`AWSCURRENT` moved to the new
//! version) and then by the database: the new current credentials log in and can
//! SELECT, and the previous user still logs in (alternating users keeps both).
//!
//! When a rotation does not finish, the failing step is found by invoking the
//! function with the unfinished version's token for `createSecret`, `setSecret` and
//! `testSecret` in turn (each step is idempotent, and `finishSecret` is never
//! invoked), so the function's own error message is shown without reading its logs.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use audit::sensitive::SensitiveString;
use aws_config::SdkConfig;
use serde_json::Value;

use crate::aws::{self, say};
use crate::database::{self, DbLogin};
use crate::names::{self, Names};

/// Options of `cargo xtask rotate`.
#[derive(Debug, Clone)]
pub struct RotateOptions {
    pub names: Names,
    /// PEM bundle of the database's CAs.
    pub db_ca_bundle: Option<PathBuf>,
    /// How long to wait for the rotation to finish.
    pub timeout: Duration,
    pub verbose: bool,
}

/// A verified rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub version_id: String,
    pub previous_user: String,
    pub current_user: String,
}

/// Where a secret's staging labels are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels {
    pub current: Option<String>,
    /// `AWSPENDING` when on another version than `AWSCURRENT` (a rotation unfinished).
    pub pending: Option<String>,
}

/// Reads the secret's labels.
pub async fn labels(secrets: &aws_sdk_secretsmanager::Client, secret: &str) -> Result<Labels> {
    let described = secrets
        .describe_secret()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "secretsmanager:DescribeSecret {secret}: {}; run `cargo xtask provision` first",
                aws::describe(&e)
            )
        })?;
    let find = |stage: &str| {
        described
            .version_ids_to_stages()
            .into_iter()
            .flatten()
            .find(|(_, stages)| stages.iter().any(|s| s == stage))
            .map(|(id, _)| id.clone())
    };
    let current = find("AWSCURRENT");
    let pending = find("AWSPENDING").filter(|p| Some(p) != current.as_ref());
    Ok(Labels { current, pending })
}

/// Starts a rotation, waits for it and proves it worked.
pub async fn rotate(config: &SdkConfig, options: &RotateOptions) -> Result<Rotation> {
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let secret = &options.names.secret;
    let before = labels(&secrets, secret).await?;
    let previous = read_value(&secrets, secret, "AWSCURRENT").await?;
    let mut request = secrets.rotate_secret().secret_id(secret);
    if let Some(pending) = &before.pending {
        if options.verbose {
            say(&format!(
                "secret {secret}: an earlier rotation (version {pending}) is unfinished; reattempting it"
            ));
        }
        request = request.client_request_token(pending);
    }
    let started = request.send().await.map_err(|e| {
        anyhow!(
            "secretsmanager:RotateSecret {secret}: {}; is rotation configured (`cargo xtask deploy`)?",
            aws::describe(&e)
        )
    })?;
    let version = started
        .version_id()
        .ok_or_else(|| anyhow!("secretsmanager:RotateSecret {secret}: no version id returned"))?
        .to_owned();
    wait_for_rotation(config, secret, &version, options.timeout).await?;
    let current = read_value(&secrets, secret, "AWSCURRENT").await?;
    let old = read_value(&secrets, secret, "AWSPREVIOUS").await?;
    // The bastion provision recorded, for a database only reachable through it.
    let state_dir = crate::names::default_state_dir();
    let bastion = match crate::provision::State::load(&options.names.state_file(&state_dir)) {
        Ok(Some(state)) => {
            state
                .bastion(&aws_sdk_ec2::Client::new(config), &state_dir)
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

/// How long a rotation may run before `rotate` looks for a failing step. AWS rotates
/// in the background and a function in a VPC may start slowly, so not sooner.
const PROBE_AFTER: Duration = Duration::from_secs(30);

/// Waits until `version` is `AWSCURRENT`. If it is not after [`PROBE_AFTER`], reruns
/// the first three steps (each is idempotent) to find a failing one and reports it at
/// once; otherwise waits out `timeout` and diagnoses then.
pub async fn wait_for_rotation(
    config: &SdkConfig,
    secret: &str,
    version: &str,
    timeout: Duration,
) -> Result<()> {
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let wait = async |limit: Duration| {
        aws::wait_for(
            &format!("the rotation of {secret} (version {version})"),
            limit,
            || {
                let secrets = secrets.clone();
                async move {
                    let now = labels(&secrets, secret).await?;
                    Ok((now.current.as_deref() == Some(version)).then_some(()))
                }
            },
        )
        .await
        .is_ok()
    };
    let first = timeout.min(PROBE_AFTER);
    if wait(first).await {
        return Ok(());
    }
    if let Some((step, error)) = diagnose(config, secret, version).await {
        bail!(
            "rotation of {secret} failed (version {version} is still AWSPENDING, AWSCURRENT unchanged); failing step: {step}; the function said: {error}. Fix the cause, then rerun `cargo xtask rotate` (it reattempts the unfinished version)"
        );
    }
    if timeout > first && wait(timeout.saturating_sub(first)).await {
        return Ok(());
    }
    let (step, error) = diagnose(config, secret, version).await.unwrap_or_else(|| {
        (
            "finishSecret (or none: the first three steps succeed when rerun)".to_owned(),
            "no error from createSecret, setSecret or testSecret; the rotation may still be running on AWS".to_owned(),
        )
    });
    bail!(
        "rotation of {secret} did not finish within {} s (version {version} is still AWSPENDING, AWSCURRENT unchanged); failing step: {step}; the function said: {error}. Fix the cause, then rerun `cargo xtask rotate` (it reattempts the unfinished version)",
        timeout.as_secs()
    )
}

/// Invokes createSecret, setSecret and testSecret with the unfinished token; returns
/// the first step that fails and the function's error, or `None` when all three succeed.
async fn diagnose(config: &SdkConfig, secret: &str, version: &str) -> Option<(String, String)> {
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let lambda = aws_sdk_lambda::Client::new(config);
    let described = match secrets.describe_secret().secret_id(secret).send().await {
        Ok(described) => described,
        Err(e) => return Some(("unknown".to_owned(), aws::describe(&e))),
    };
    let (Some(function), Some(arn)) = (described.rotation_lambda_arn(), described.arn()) else {
        return Some((
            "none".to_owned(),
            "the secret names no rotation function; run `cargo xtask deploy`".to_owned(),
        ));
    };
    for step in ["createSecret", "setSecret", "testSecret"] {
        let event =
            serde_json::json!({"Step": step, "SecretId": arn, "ClientRequestToken": version});
        match lambda
            .invoke()
            .function_name(function)
            .payload(aws_sdk_lambda::primitives::Blob::new(event.to_string()))
            .send()
            .await
        {
            Ok(out) if out.function_error().is_some() => {
                let body = out
                    .payload()
                    .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned())
                    .unwrap_or_default();
                let message = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| v["errorMessage"].as_str().map(str::to_owned))
                    .unwrap_or(body);
                return Some((step.to_owned(), message));
            }
            Ok(_) => {}
            Err(e) => {
                return Some((
                    step.to_owned(),
                    format!("lambda:Invoke {function}: {}", aws::describe(&e)),
                ));
            }
        }
    }
    None
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
