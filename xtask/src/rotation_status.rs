//! A rotation as Secrets Manager and the function's log show it, for the commands
//! that start one (deploy's first rotation, rotate) and for clearing an unfinished
//! one (`rotate --clear-pending`).
//!
//! `RotateSecret` only starts a rotation; Secrets Manager runs the four steps in
//! the background. The wait here reads what an operator would: the secret's staging
//! labels, and the function's own log group in CloudWatch Logs, where an error the
//! function logged for this secret names the failing step at once.

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use aws_config::SdkConfig;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;

use crate::aws;

/// Where a secret's staging labels are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels {
    pub current: Option<String>,
    /// `AWSPENDING` when on another version than `AWSCURRENT` (a rotation unfinished).
    pub pending: Option<String>,
}

/// Reads the secret's labels.
pub async fn labels(secrets: &aws_sdk_secretsmanager::Client, secret: &str) -> Result<Labels> {
    Ok(labels_and_function(secrets, secret).await?.0)
}

/// The secret's labels and the name of its rotation function, if it has one.
pub(crate) async fn labels_and_function(
    secrets: &aws_sdk_secretsmanager::Client,
    secret: &str,
) -> Result<(Labels, Option<String>)> {
    let described = aws::describe_secret(secrets, secret)
        .await
        .map_err(|e| anyhow!("{e}; run `cargo xtask provision` first"))?;
    Ok((Labels::of(&described), rotation_function(&described)))
}

/// The name of the secret's rotation function: the last field of its ARN.
fn rotation_function(described: &DescribeSecretOutput) -> Option<String> {
    described
        .rotation_lambda_arn()
        .and_then(|arn| arn.rsplit(':').next())
        .map(str::to_owned)
}

impl Labels {
    /// Where `DescribeSecret`'s `VersionIdsToStages` puts the labels.
    pub fn of(described: &DescribeSecretOutput) -> Self {
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
    let described = aws::describe_secret(&secrets, secret).await?;
    let function = rotation_function(&described);
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
                    && let Some(error) = logged_error(&logs, function, since, (secret, &arn), version).await?
                {
                    bail!(
                        "rotation of {secret} failed (version {version} is still AWSPENDING, AWSCURRENT unchanged); failing step: {}; the function logged: {}. Secrets Manager retries the whole rotation by itself (AWS does not say how often or when), so a retry may complete it once the cause is fixed; if none does, fix the cause, then run `cargo xtask rotate --clear-pending`",
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
    (secret, arn): (&str, &str),
    version: &str,
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
            if let Some(error) = error_about(message, (secret, arn), version) {
                return Ok(Some(error));
            }
        }
    }
    Ok(None)
}

/// Whether a log line is an error about this secret's rotation of `version`, and
/// which step it names. A late retry of another version, which the function refuses
/// because that version is no longer `AWSPENDING`, is not this rotation's error. The
/// message keeps no control characters (a database's error text could carry
/// terminal escapes).
pub fn error_about(line: &str, (secret, arn): (&str, &str), version: &str) -> Option<LoggedError> {
    let is_error = line.contains("ERROR") || line.contains(r#""level":"ERROR""#);
    if !is_error || !names_secret(line, secret, arn) {
        return None;
    }
    // The rotator names the version it rotates (", version <token>:"); a line about
    // another version is another rotation's: an earlier attempt's, or a late retry.
    let names_a_version = line.contains(", version ") || line.contains("is not AWSPENDING");
    if names_a_version && !line.contains(version) {
        return None;
    }
    let step = ["createSecret", "setSecret", "testSecret", "finishSecret"]
        .into_iter()
        .find(|step| line.contains(step))
        .unwrap_or("unknown");
    Some(LoggedError {
        step: step.to_owned(),
        message: line
            .trim()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(2_000)
            .collect(),
    })
}

/// Whether a log line names the secret: its ARN, or its name as a whole word (so
/// that secret `app` is not found in a line about `app-prod`).
pub fn names_secret(line: &str, secret: &str, arn: &str) -> bool {
    if line.contains(arn) {
        return true;
    }
    let part_of_name = |c: char| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c);
    line.match_indices(secret).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + secret.len()..].chars().next();
        !before.is_some_and(part_of_name) && !after.is_some_and(part_of_name)
    })
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
            ("ERROR secret App-prod: setSecret: refused", None),
            // A late retry of an earlier version, refused by the function: not ours.
            (
                "ERROR secret App: createSecret: version 1111 is not AWSPENDING; a rotation for it is not in progress",
                None,
            ),
            (
                "ERROR secret App: createSecret: version 2222 is not AWSPENDING; a rotation for it is not in progress",
                Some("createSecret"),
            ),
            (
                "ERROR secret App, step setSecret, version 1111: cannot reach the database",
                None,
            ),
            (
                "ERROR secret App, step setSecret, version 2222: cannot reach the database",
                Some("setSecret"),
            ),
        ];
        for (line, step) in cases {
            assert_eq!(
                error_about(line, ("App", arn), "2222").map(|e| e.step),
                step.map(str::to_owned),
                "{line}"
            );
        }
    }
}
