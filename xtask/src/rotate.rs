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
//! A failed rotation leaves `AWSPENDING` on its version, and Secrets Manager then
//! refuses every new rotation ("If the staging label AWSPENDING is attached to a
//! different version than the version with AWSCURRENT then the attempt to rotate
//! fails", API reference, CancelRotateSecret) while it retries the failed one by
//! itself ("retries the entire rotation process multiple times", user guide,
//! "Rotation by Lambda function"). No request reattempts it: the way out that the
//! CancelRotateSecret page describes is to remove `AWSPENDING` from that version.
//! `rotate` says so and does it only when asked (`--clear-pending`, confirmed).

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
    /// Where provision recorded the run's ids (the bastion, for a private database).
    pub state_dir: PathBuf,
    pub verbose: bool,
    /// Remove `AWSPENDING` from an unfinished earlier rotation's version first.
    pub clear_pending: bool,
    /// With `clear_pending`: do it without asking on standard input.
    pub yes: bool,
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
    Ok(Labels::of(&described))
}

impl Labels {
    /// Where `DescribeSecret`'s `VersionIdsToStages` puts the labels.
    pub fn of(
        described: &aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput,
    ) -> Self {
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
        Labels { current, pending }
    }
}

/// Starts a rotation, waits for it and proves it worked.
pub async fn rotate(config: &SdkConfig, options: &RotateOptions) -> Result<Rotation> {
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let secret = &options.names.secret;
    let before = labels(&secrets, secret).await?;
    let previous = read_value(&secrets, secret, "AWSCURRENT").await?;
    if let Some(pending) = &before.pending {
        if !options.clear_pending {
            bail!(
                "secret {secret}: an earlier rotation is unfinished (version {pending} is AWSPENDING, AWSCURRENT is {}), so Secrets Manager refuses a new one; it retries the failed rotation by itself a few times, so if the cause was fixed just now, wait a minute and rerun. Otherwise find the cause in the function's log (/aws/lambda/<function>), fix it, and rerun with --clear-pending, which removes AWSPENDING from version {pending} (as CancelRotateSecret's documentation describes) and starts a new rotation",
                before.current.as_deref().unwrap_or("<none>")
            );
        }
        clear_pending(&secrets, secret, pending, options).await?;
    }
    let started = secrets.rotate_secret().secret_id(secret).send().await.map_err(|e| {
        if has_no_rotation_function(&e) {
            anyhow!(
                "secret {secret} has no rotation function, so Secrets Manager refuses to rotate it ({}); run `cargo xtask deploy` first, which deploys the function and configures the rotation",
                aws::describe(&e)
            )
        } else if is_previous_rotation_unfinished(&e) {
            anyhow!(
                "secret {secret}: Secrets Manager refuses a new rotation while another one runs ({}); wait for it (the function's log shows its steps), then rerun",
                aws::describe(&e)
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
    let bastion = match crate::provision::State::load(&options.names.state_file(state_dir)) {
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

/// Removes `AWSPENDING` from the unfinished version `pending`, after confirmation
/// unless `options.yes`. `AWSCURRENT` is not touched: the current credentials keep
/// working, and the next rotation makes a new pending version. The unfinished
/// version keeps no label and Secrets Manager may delete it.
async fn clear_pending(
    secrets: &aws_sdk_secretsmanager::Client,
    secret: &str,
    pending: &str,
    options: &RotateOptions,
) -> Result<()> {
    if !options.yes {
        println!(
            "secret {secret}: version {pending} is AWSPENDING from an unfinished rotation. Remove AWSPENDING from it and start a new rotation? AWSCURRENT stays as it is; do this only once no rotation of this secret is running (the function's log shows none for a few minutes). Type yes to continue: "
        );
        if !crate::cleanup::confirm_on_stdin().await {
            bail!(
                "secret {secret}: nothing changed: removing AWSPENDING from version {pending} was not confirmed (standard input gave no \"yes\"); pass --yes to do it without asking"
            );
        }
    }
    secrets
        .update_secret_version_stage()
        .secret_id(secret)
        .version_stage("AWSPENDING")
        .remove_from_version_id(pending)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "secretsmanager:UpdateSecretVersionStage {secret} (remove AWSPENDING from version {pending}): {}; the caller needs secretsmanager:UpdateSecretVersionStage",
                aws::describe(&e)
            )
        })?;
    if options.verbose {
        say(&format!(
            "secret {secret}: AWSPENDING removed from the unfinished version {pending}"
        ));
    }
    Ok(())
}

/// Whether `RotateSecret` was refused because an earlier rotation left `AWSPENDING`
/// on another version than `AWSCURRENT` (API reference, RotateSecret: "any later
/// invocation of RotateSecret assumes that a previous rotation request is still in
/// progress and returns an error").
pub fn is_previous_rotation_unfinished<E: aws_sdk_secretsmanager::error::ProvideErrorMetadata>(
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

/// Waits until `version` is `AWSCURRENT`, reading the function's logs as it goes:
/// an error the function logged about this secret since the wait began ends the
/// wait at once with the failing step and the function's message.
pub async fn wait_for_rotation(
    config: &SdkConfig,
    secret: &str,
    version: &str,
    timeout: Duration,
) -> Result<()> {
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    // Five seconds of slack for the clocks; not more, so that the error of a failed
    // attempt a minute ago is not read as this attempt's.
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        - 5_000;
    let described = secrets
        .describe_secret()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "secretsmanager:DescribeSecret {secret}: {}",
                aws::describe(&e)
            )
        })?;
    let function = described
        .rotation_lambda_arn()
        .and_then(|arn| arn.rsplit(':').next())
        .map(str::to_owned);
    let arn = described.arn().unwrap_or(secret).to_owned();
    let waited = aws::wait_for(
        &format!("the rotation of {secret} (version {version})"),
        timeout,
        || {
            let (secrets, logs, function, arn) = (secrets.clone(), logs.clone(), function.clone(), arn.clone());
            async move {
                if labels(&secrets, secret).await?.current.as_deref() == Some(version) {
                    return Ok(Some(()));
                }
                if let Some(function) = &function
                    && let Some(error) = logged_error(&logs, function, since, secret, &arn).await?
                {
                    bail!(
                        "rotation of {secret} failed (version {version} is still AWSPENDING, AWSCURRENT unchanged); failing step: {}; the function logged: {}. Secrets Manager retries the whole rotation a few times by itself, so a retry completes it if the cause is fixed soon; otherwise fix the cause, then run `cargo xtask rotate --clear-pending`",
                        error.step,
                        error.message
                    );
                }
                Ok(None)
            }
        },
    )
    .await;
    match waited {
        Ok(()) => Ok(()),
        Err(error) if error.to_string().starts_with("rotation of") => Err(error),
        Err(_) => bail!(
            "rotation of {secret} did not finish within {} s (version {version} is still AWSPENDING, AWSCURRENT unchanged) and the function logged no error for it in /aws/lambda/{}; the rotation may still be running or being retried (each step may take up to the function's timeout): look again later; if version {version} is still AWSPENDING then, `cargo xtask rotate --clear-pending` starts a new rotation",
            timeout.as_secs(),
            function.as_deref().unwrap_or("<no rotation function>")
        ),
    }
}

/// An error a rotation function logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedError {
    /// The step named in the message, or "unknown".
    pub step: String,
    pub message: String,
}

/// The first ERROR line of `/aws/lambda/<function>` since `since_ms` that names the
/// secret (by name or ARN). No log group yet is no error.
pub async fn logged_error(
    logs: &aws_sdk_cloudwatchlogs::Client,
    function: &str,
    since_ms: i64,
    secret: &str,
    arn: &str,
) -> Result<Option<LoggedError>> {
    let group = format!("/aws/lambda/{function}");
    let mut pages = logs
        .filter_log_events()
        .log_group_name(&group)
        .start_time(since_ms)
        .filter_pattern("ERROR")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(error) if aws::is_not_found(&error) => return Ok(None),
            Err(error) => bail!(
                "logs:FilterLogEvents {group}: {}; the caller needs logs:FilterLogEvents to see why a rotation fails",
                aws::describe(&error)
            ),
        };
        for event in page.events() {
            let message = event.message().unwrap_or("");
            if let Some(error) = error_about(message, secret, arn) {
                return Ok(Some(error));
            }
        }
    }
    Ok(None)
}

/// Whether a log line is an error about this secret, and which step it names.
pub fn error_about(line: &str, secret: &str, arn: &str) -> Option<LoggedError> {
    let is_error = line.contains("ERROR") || line.contains(r#""level":"ERROR""#);
    if !is_error || !(line.contains(arn) || line.contains(secret)) {
        return None;
    }
    let step = ["createSecret", "setSecret", "testSecret", "finishSecret"]
        .into_iter()
        .find(|step| line.contains(step))
        .unwrap_or("unknown");
    Some(LoggedError {
        step: step.to_owned(),
        message: line.trim().chars().take(2_000).collect(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_line_about_the_secret_names_its_step() {
        let arn = "arn:aws:secretsmanager:us-east-1:1:secret:App-AbCdEf";
        let cases = [
            (
                "ERROR secret App: setSecret: admin login refused; fix the admin secret",
                Some("setSecret"),
            ),
            (
                r#"{"level":"ERROR","fields":{"message":"testSecret failed","secret":"arn:aws:secretsmanager:us-east-1:1:secret:App-AbCdEf"}}"#,
                Some("testSecret"),
            ),
            (
                "ERROR secret App: something else went wrong",
                Some("unknown"),
            ),
            ("INFO secret App: setSecret: step started", None),
            ("ERROR secret Other: setSecret: refused", None),
        ];
        for (line, step) in cases {
            assert_eq!(
                error_about(line, "App", arn).map(|e| e.step),
                step.map(str::to_owned),
                "{line}"
            );
        }
    }
}
