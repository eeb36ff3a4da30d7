//! A Lambda function for the emulator's own tests: returns its event, or fails when
//! the event has a `fail` key (the value becomes the error message).
//!
//! It is also the emulator's network probe: `{"connect": {"host", "port", "seconds"}}`
//! opens a TCP connection and reports whether the server said anything within
//! `seconds` (a MySQL server greets first); `{"api": {"service", "seconds"}}` sends one
//! signed-looking request for that service to the function's `AWS_ENDPOINT_URL` and
//! reports whether anything answered. Unreachable, on AWS, is silence.

use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

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
    if let Some(target) = event.payload.get("connect") {
        let host = target["host"].as_str().unwrap_or("127.0.0.1").to_owned();
        let port = u16::try_from(target["port"].as_u64().unwrap_or(3306)).unwrap_or(3306);
        let seconds = target["seconds"].as_u64().unwrap_or(3);
        return Ok(json!({ "answered": answered(&host, port, b"", seconds).await }));
    }
    if let Some(target) = event.payload.get("api") {
        let service = target["service"].as_str().unwrap_or("secretsmanager");
        let seconds = target["seconds"].as_u64().unwrap_or(3);
        let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
        let authority = endpoint.trim_start_matches("http://").trim_end_matches('/');
        let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "80"));
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {authority}\r\nX-Amz-Target: secretsmanager.ListSecrets\r\n\
             Content-Type: application/x-amz-json-1.1\r\nAuthorization: AWS4-HMAC-SHA256 \
             Credential=probe/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, \
             Signature=0\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        );
        let port = port.parse().unwrap_or(80);
        return Ok(json!({ "answered": answered(host, port, request.as_bytes(), seconds).await }));
    }
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    let greeting = std::env::var("GREETING").unwrap_or_default();
    Ok(
        json!({ "echo": event.payload, "function": function, "greeting": greeting, "pid": std::process::id() }),
    )
}

/// Whether `host:port` says anything within `seconds` after `request` is sent.
async fn answered(host: &str, port: u16, request: &[u8], seconds: u64) -> bool {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect((host, port)).await.ok()?;
        stream.write_all(request).await.ok()?;
        let mut buffer = [0_u8; 64];
        let read = stream.read(&mut buffer).await.ok()?;
        Some(read > 0)
    };
    tokio::time::timeout(Duration::from_secs(seconds), exchange)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}
