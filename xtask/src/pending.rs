//! An unfinished rotation: how it is explained, and how it is cleared when asked.
//!
//! A failed rotation leaves `AWSPENDING` on its version, and Secrets Manager then
//! refuses every new rotation ("If the staging label AWSPENDING is attached to a
//! different version than the version with AWSCURRENT then the attempt to rotate
//! fails", API reference, CancelRotateSecret) while it retries the failed one by
//! itself ("retries the entire rotation process multiple times", user guide,
//! "Rotation by Lambda function"; it does not say how often or when). No request
//! reattempts it: the way out that the CancelRotateSecret page describes is to
//! remove `AWSPENDING` from that version. That is done here only when asked
//! (`rotate --clear-pending`), after a confirmation, and only once the function's
//! log has been quiet about the secret for a while: a retry still running beside
//! the new rotation could set the alternate user's password after it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Result, anyhow, bail};
use aws_config::SdkConfig;

use crate::aws::{self, say};

/// How `rotate --clear-pending` goes about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClearPending {
    /// Do it without asking on standard input.
    pub yes: bool,
    /// How long the function's log must have been silent about the secret; `None`:
    /// twice the function's timeout, at least a minute.
    pub quiet: Option<Duration>,
}

/// The error for a secret whose rotation is unfinished, naming the way out.
pub fn unfinished(secret: &str, pending: &str, function: Option<&str>) -> anyhow::Error {
    anyhow!(
        "secret {secret}: an earlier rotation is unfinished (version {pending} is AWSPENDING), so Secrets Manager refuses a new one. Secrets Manager retries a failed rotation by itself (AWS does not say how often or when), so if its cause was fixed just now, a retry may still complete it: look at {} for new attempts. Otherwise fix the cause the log names, then run `cargo xtask rotate --clear-pending`, which removes AWSPENDING from version {pending} (as CancelRotateSecret's documentation describes) and starts a new rotation",
        log_group(function)
    )
}

/// `/aws/lambda/<function>`, or words for it when the function is unknown.
pub fn log_group(function: Option<&str>) -> String {
    function.map_or_else(
        || "the rotation function's log group".to_owned(),
        |f| format!("/aws/lambda/{f}"),
    )
}

/// Removes `AWSPENDING` from the unfinished version `pending` of `secret`, as
/// `how` says. `AWSCURRENT` is not touched; the version keeps no label, and
/// Secrets Manager may delete it.
pub async fn clear(
    config: &SdkConfig,
    secret: &str,
    pending: &str,
    function: Option<&str>,
    how: ClearPending,
) -> Result<()> {
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    if let Some(function) = function {
        let arn = aws::describe_secret(&secrets, secret)
            .await?
            .arn()
            .unwrap_or(secret)
            .to_owned();
        refuse_while_logging(config, (secret, &arn), function, how.quiet).await?;
    }
    if !how.yes {
        let question = format!(
            "secret {secret}: version {pending} is AWSPENDING from an unfinished rotation. Remove AWSPENDING from it and start a new rotation? AWSCURRENT stays as it is."
        );
        if !aws::confirm(&question).await {
            bail!(
                "secret {secret}: nothing changed: removing AWSPENDING from version {pending} was not confirmed (standard input gave no \"yes\"); pass --yes to do it without asking"
            );
        }
    }
    // The labels again: a retry may have finished while the question was open.
    let now = crate::rotation_status::labels(&secrets, secret).await?;
    if now.pending.as_deref() != Some(pending) {
        bail!(
            "secret {secret}: nothing changed: AWSPENDING is no longer on version {pending} (AWSCURRENT is {}, AWSPENDING {}); rerun `cargo xtask rotate`",
            now.current.as_deref().unwrap_or("<none>"),
            now.pending.as_deref().unwrap_or("on no other version")
        );
    }
    remove_pending(&secrets, secret, pending).await?;
    say(&format!(
        "secret {secret}: AWSPENDING removed from the unfinished version {pending}"
    ));
    Ok(())
}

/// `UpdateSecretVersionStage` removing `AWSPENDING` from `version`.
pub async fn remove_pending(
    secrets: &aws_sdk_secretsmanager::Client,
    secret: &str,
    version: &str,
) -> Result<()> {
    secrets
        .update_secret_version_stage()
        .secret_id(secret)
        .version_stage("AWSPENDING")
        .remove_from_version_id(version)
        .send()
        .await
        .map_err(|e| {
            let hint = if aws::code(&e) == "AccessDeniedException" {
                "; the caller needs secretsmanager:UpdateSecretVersionStage on the secret"
            } else {
                ""
            };
            anyhow!(
                "secretsmanager:UpdateSecretVersionStage {secret} (remove AWSPENDING from version {version}): {}{hint}",
                aws::describe(&e)
            )
        })?;
    Ok(())
}

/// Twice the function's timeout, at least a minute: long enough for an invocation
/// in flight to end and Secrets Manager's next retry, if any, to show in the log.
async fn default_quiet(config: &SdkConfig, function: &str) -> Result<Duration> {
    let configured = aws_sdk_lambda::Client::new(config)
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "lambda:GetFunctionConfiguration {function}: {}; the function's timeout says how long to wait before clearing AWSPENDING",
                aws::describe(&e)
            )
        })?;
    let timeout = u64::try_from(configured.timeout().unwrap_or(3)).unwrap_or(3);
    Ok(Duration::from_secs((2 * timeout).max(60)))
}

/// Fails while the function's log shows an event about `secret` within `quiet`
/// (default: twice the function's timeout, at least a minute): a retry may be running.
async fn refuse_while_logging(
    config: &SdkConfig,
    (secret, arn): (&str, &str),
    function: &str,
    quiet: Option<Duration>,
) -> Result<()> {
    let quiet = match quiet {
        Some(quiet) => quiet,
        None => default_quiet(config, function).await?,
    };
    if quiet.is_zero() {
        return Ok(());
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let since = now_ms - i64::try_from(quiet.as_millis()).unwrap_or(i64::MAX);
    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    let group = log_group(Some(function));
    let mut pages = logs
        .filter_log_events()
        .log_group_name(&group)
        .start_time(since)
        .into_paginator()
        .send();
    let mut newest: Option<i64> = None;
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(error) if aws::is_not_found(&error) => return Ok(()),
            Err(error) => bail!(
                "logs:FilterLogEvents {group}: {}; the caller needs logs:FilterLogEvents to tell whether a rotation still runs",
                aws::describe(&error)
            ),
        };
        for event in page.events() {
            if crate::rotation_status::names_secret(event.message().unwrap_or(""), secret, arn) {
                newest = newest.max(event.timestamp());
            }
        }
    }
    if let Some(at) = newest {
        bail!(
            "secret {secret}: nothing changed: {group} logged about this secret {} s ago, so a rotation or one of Secrets Manager's retries may still be running; clearing AWSPENDING now could let it set the database password after the new rotation does. Rerun once the log has been quiet for {} s",
            (now_ms - at).max(0) / 1000,
            quiet.as_secs()
        );
    }
    Ok(())
}
