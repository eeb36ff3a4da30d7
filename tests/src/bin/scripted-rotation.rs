//! A minimal rotation function for the emulator's own tests of `RotateSecret`.
//!
//! It follows the rotation protocol with a counter instead of a database, so the
//! emulator's orchestration is tested apart from the project's rotator: `FAIL_STEP`
//! names a step that fails (only its first `FAIL_TIMES` runs, when that is set), and
//! every step it runs is appended to the secret named by `JOURNAL_SECRET`, so a test
//! can see which steps ran, in which order.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = Client::new(&config);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        handler(&client, event)
    }))
    .await
}

fn field<'a>(event: &'a Value, name: &str) -> Result<&'a str, Error> {
    event
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("event has no {name}").into())
}

async fn handler(client: &Client, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let step = field(&event.payload, "Step")?;
    let secret = field(&event.payload, "SecretId")?;
    let token = field(&event.payload, "ClientRequestToken")?;
    // How many times this step has run, this run included (by the journal).
    let mut runs = 1;
    if let Ok(journal) = std::env::var("JOURNAL_SECRET") {
        let current = client.get_secret_value().secret_id(&journal).send().await?;
        let text = format!("{} {step}", current.secret_string().unwrap_or_default());
        runs = text.split_whitespace().filter(|s| *s == step).count();
        client
            .put_secret_value()
            .secret_id(&journal)
            .secret_string(text.trim())
            .send()
            .await?;
    }
    if std::env::var("SLOW_STEP").as_deref() == Ok(step) {
        // Holds the rotation in this step, so a test can look at one in progress.
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    }
    let fail_times = std::env::var("FAIL_TIMES")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    if std::env::var("FAIL_STEP").as_deref() == Ok(step) && runs <= fail_times {
        return Err(format!("{step} failed on purpose").into());
    }
    match step {
        "createSecret" => {
            let pending = client
                .get_secret_value()
                .secret_id(secret)
                .version_id(token)
                .version_stage("AWSPENDING")
                .send()
                .await;
            match pending {
                Ok(_) => {}
                Err(error)
                    if matches!(
                        error.as_service_error(),
                        Some(GetSecretValueError::ResourceNotFoundException(_))
                    ) =>
                {
                    let current = client.get_secret_value().secret_id(secret).send().await?;
                    let value: Value =
                        serde_json::from_str(current.secret_string().unwrap_or("{}"))?;
                    let generation =
                        value.get("generation").and_then(Value::as_i64).unwrap_or(0) + 1;
                    client
                        .put_secret_value()
                        .secret_id(secret)
                        .client_request_token(token)
                        .secret_string(json!({ "generation": generation }).to_string())
                        .version_stages("AWSPENDING")
                        .send()
                        .await?;
                }
                Err(error) => return Err(error.into()),
            }
        }
        "finishSecret" => {
            let described = client.describe_secret().secret_id(secret).send().await?;
            let current = described
                .version_ids_to_stages()
                .into_iter()
                .flatten()
                .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
                .map(|(id, _)| id.clone());
            if current.as_deref() != Some(token) {
                let mut update = client
                    .update_secret_version_stage()
                    .secret_id(secret)
                    .version_stage("AWSCURRENT")
                    .move_to_version_id(token);
                if let Some(current) = current {
                    update = update.remove_from_version_id(current);
                }
                update.send().await?;
            }
        }
        _ => {}
    }
    Ok(json!({ "step": step }))
}
