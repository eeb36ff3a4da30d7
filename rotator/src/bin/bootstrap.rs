//! The Lambda entry point: logging, settings, then one rotation step per event.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // Dependencies stay at WARN whatever the level: see `rotator::logging`.
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let filter =
        tracing_subscriber::EnvFilter::try_new(rotator::logging::directives(level.as_deref()))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .without_time();
    if json {
        builder.json().with_current_span(false).init();
    } else {
        builder.with_ansi(false).init();
    }
    let rotator = match rotator::from_env().await {
        Ok(rotator) => rotator,
        Err(error) => {
            tracing::error!(%error, "invalid function configuration");
            return Err(error.into());
        }
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let rotator = &rotator;
        async move {
            // The runtime logs the returned error once, with its type. The deadline
            // bounds testSecret's wait for a lagging read replica. Boxed: the step's
            // future is large (clippy's `large_futures`).
            Box::pin(rotator.handle_until(&event.payload, Some(event.context.deadline())))
                .await
                .map_err(Diagnostic::from)
        }
    }))
    .await
}
