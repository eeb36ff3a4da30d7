//! A Lambda function for the emulator's own tests: returns its event, or fails when
//! the event has a `fail` key (the value becomes the error message).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    println!(
        "echo function handling request {}",
        event.context.request_id
    );
    if let Some(message) = event.payload.get("fail").and_then(Value::as_str) {
        return Err(message.to_owned().into());
    }
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    let greeting = std::env::var("GREETING").unwrap_or_default();
    Ok(
        json!({ "echo": event.payload, "function": function, "greeting": greeting, "pid": std::process::id() }),
    )
}
