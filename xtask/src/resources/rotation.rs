//! A secret's rotation: deploy's step (Secrets Manager allowed to invoke the
//! function, scoped to the account; rotation configured and the first one waited
//! for), and its cancellation before the secret goes. It has no discovery of its own:
//! `secret::discover` finds it with its secret.

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use aws_config::SdkConfig;
use aws_sdk_secretsmanager::types::RotationRulesType;
use serde_json::Value;

use super::context::{DeployOptions, Deployer};
use super::deletion::{Deletion, Outcome, gone_or};
use super::kind::Kind;
use super::spec::{Plan, Spec};
use crate::aws::{self, Calls, say};
use crate::names::{self, Names};

/// This kind's declaration: what makes it, what it depends on, how it is found,
/// created, made ready and deleted (its row of the table, `TABLE`).
pub(crate) const SPEC: Spec = Spec {
    kind: Kind::Rotation,
    label: "rotation schedule",
    depends_on: &[Kind::Secret, Kind::Function],
    plan: Plan {
        found_by: "the secret's RotationEnabled",
        create: "lambda:AddPermission (secretsmanager.amazonaws.com, aws:SourceAccount), secretsmanager:RotateSecret rate(2 days) within 2h",
        ready: "the first rotation finished (AWSCURRENT moved)",
        delete: "secretsmanager:CancelRotateSecret",
    },
    discover: None,
    delete: |d| Box::pin(delete(d)),
    provision: None,
    deploy: Some(|d| Box::pin(d.rotation())),
};

/// `secretsmanager:CancelRotateSecret`.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (clients, id) = (d.clients, d.resource.id.as_str());
    if !d.write("secretsmanager:CancelRotateSecret") {
        return Ok(Outcome::WouldDelete);
    }
    gone_or(
        clients
            .secrets
            .cancel_rotate_secret()
            .secret_id(id)
            .send()
            .await,
        "secretsmanager:CancelRotateSecret",
    )
}

/// The statement id of the permission letting Secrets Manager invoke the function.
pub(crate) const PERMISSION_ID: &str = "SecretsManagerAccess";

/// Whether a function's resource policy already has the Secrets Manager statement.
fn has_permission(policy: &str) -> bool {
    serde_json::from_str::<Value>(policy)
        .ok()
        .and_then(|p| p["Statement"].as_array().cloned())
        .is_some_and(|statements| {
            statements
                .iter()
                .any(|s| s["Sid"].as_str() == Some(PERMISSION_ID))
        })
}

/// Lets Secrets Manager of `account` invoke the function, unless it already may.
async fn allow_secrets_manager(
    lambda: &aws_sdk_lambda::Client,
    names: &Names,
    account: &str,
    calls: &mut Calls,
) -> Result<()> {
    let has = match lambda
        .get_policy()
        .function_name(&names.function)
        .send()
        .await
    {
        Ok(out) => out.policy().is_some_and(has_permission),
        Err(error) if aws::is_not_found(&error) => false, // no resource policy yet
        Err(error) => bail!(
            "lambda:GetPolicy {}: {}; deploy needs it to see whether Secrets Manager may already invoke the function",
            names.function,
            aws::describe(&error)
        ),
    };
    if !has
        && calls.write(format!(
            "lambda:AddPermission {} {PERMISSION_ID} lambda:InvokeFunction secretsmanager.amazonaws.com aws:SourceAccount={account}",
            names.function
        ))
    {
        lambda
            .add_permission()
            .function_name(&names.function)
            .statement_id(PERMISSION_ID)
            .action("lambda:InvokeFunction")
            .principal("secretsmanager.amazonaws.com")
            .source_account(account)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "lambda:AddPermission {}: {}",
                    names.function,
                    aws::describe(&e)
                )
            })?;
    }
    Ok(())
}

/// The secret's schedule and window, unless already exactly so; the first rotation
/// then runs and is waited for. A rotation left unfinished is named with its way
/// out before anything is asked of Secrets Manager, which would refuse (API
/// reference, RotateSecret), and in a dry run too.
async fn configure_rotation(
    config: &SdkConfig,
    options: &DeployOptions,
    secret_arn: &str,
    function_arn: &str,
    calls: &mut Calls,
) -> Result<()> {
    let names = &options.names;
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let described = aws::describe_secret(&secrets, &names.secret).await?;
    let function = names.function.as_str();
    let unfinished = crate::rotation_status::Labels::of(&described).pending;
    let rules = described.rotation_rules();
    let configured = described.rotation_enabled() == Some(true)
        && described.rotation_lambda_arn() == Some(function_arn)
        && rules.and_then(|r| r.schedule_expression()) == Some(names::SCHEDULE)
        && rules.and_then(|r| r.duration()) == Some(names::WINDOW);
    if configured {
        if options.verbose {
            say(&format!(
                "secret {} already rotates {} within {}",
                names.secret,
                names::SCHEDULE,
                names::WINDOW
            ));
        }
        if let Some(pending) = unfinished {
            // The configuration is right, but no rotation will succeed until this is seen to.
            say(&format!(
                "warning: {:#}",
                crate::pending::unfinished(&names.secret, &pending, Some(function))
            ));
        }
        return Ok(());
    }
    if let Some(pending) = unfinished {
        return Err(
            crate::pending::unfinished(&names.secret, &pending, Some(function))
                .context("deploy cannot configure and start the rotation"),
        );
    }
    if !calls.write(format!(
        "secretsmanager:RotateSecret {} function {function_arn} ScheduleExpression {} Duration {} RotateImmediately true",
        names.secret,
        names::SCHEDULE,
        names::WINDOW
    )) {
        return Ok(());
    }
    // Right after AddPermission, Secrets Manager may not see the new statement yet.
    let rotated = aws::retry_while(
        &format!("secretsmanager:RotateSecret {}", names.secret),
        Duration::from_mins(2),
        |e| aws::is_transient(e) || aws::is_invoke_permission_propagating(e),
        || {
            secrets
                .rotate_secret()
                .secret_id(secret_arn)
                .rotation_lambda_arn(function_arn)
                .rotation_rules(
                    RotationRulesType::builder()
                        .schedule_expression(names::SCHEDULE)
                        .duration(names::WINDOW)
                        .build(),
                )
                .rotate_immediately(true)
                .send()
        },
    )
    .await?;
    if let Some(version) = rotated.version_id() {
        crate::rotation_status::wait_for_rotation(
            config,
            &names.secret,
            version,
            options.rotation_timeout,
        )
        .await?;
    }
    if options.verbose {
        say(&format!(
            "secret {} rotates {} within {}; first rotation done",
            names.secret,
            names::SCHEDULE,
            names::WINDOW
        ));
    }
    Ok(())
}

impl Deployer<'_> {
    /// Secrets Manager of this account may invoke the function; the schedule, unless
    /// already exactly so; the first rotation runs now.
    pub(crate) async fn rotation(&mut self) -> Result<()> {
        let account = self.caller.account.clone();
        allow_secrets_manager(&self.lambda, self.names, &account, &mut self.calls).await?;
        configure_rotation(
            self.config,
            self.options,
            &self.found.secret_arn,
            &self.function_arn,
            &mut self.calls,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permission_is_found_by_its_statement_id() {
        let cases = [
            (r#"{"Statement":[{"Sid":"SecretsManagerAccess"}]}"#, true),
            (r#"{"Statement":[{"Sid":"Other"}]}"#, false),
            (r#"{"Statement":[]}"#, false),
            ("not json", false),
        ];
        for (policy, expected) in cases {
            assert_eq!(has_permission(policy), expected, "{policy}");
        }
    }
}
