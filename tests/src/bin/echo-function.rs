//! A Lambda function for the emulator's own tests: returns its event, or fails when
//! the event has a `fail` key (the value becomes the error message).
//!
//! It is also the emulator's network probe: `{"connect": {"host", "port", "seconds"}}`
//! opens a TCP connection and reports whether the server said anything within
//! `seconds` (a MySQL server greets first); `{"api": {"service", "seconds"}}` sends one
//! request for that service, with the function's access key and session token (its
//! signature a placeholder), to the function's `AWS_ENDPOINT_URL` and
//! reports whether anything answered. Unreachable, on AWS, is silence. With `"target"`
//! (an `X-Amz-Target` such as `secretsmanager.GetSecretValue`) and `"body"` it sends
//! that call instead and also reports the answer's HTTP status, and its body only when
//! the status is not 200 (an error; a success may hold a secret value).

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
        let call = target["target"]
            .as_str()
            .unwrap_or("secretsmanager.ListSecrets");
        let body = target
            .get("body")
            .map_or_else(|| "{}".to_owned(), Value::to_string);
        // The call carries the function's own credentials (the role session Lambda put
        // in its environment), so that it is judged as the function's; the signature
        // itself is a placeholder: the emulator does not check it.
        let key = std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "probe".to_owned());
        let token = std::env::var("AWS_SESSION_TOKEN")
            .map(|token| format!("X-Amz-Security-Token: {token}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {authority}\r\nX-Amz-Target: {call}\r\n\
             Content-Type: application/x-amz-json-1.1\r\n{token}Authorization: AWS4-HMAC-SHA256 \
             Credential={key}/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, \
             Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let port = port.parse().unwrap_or(80);
        if target.get("target").is_none() {
            let answered = answered(host, port, request.as_bytes(), seconds).await;
            return Ok(json!({ "answered": answered }));
        }
        return Ok(call_answer(host, port, request.as_bytes(), seconds).await);
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

/// What `host:port` answers to `request` (read until it closes, within `seconds`): the
/// HTTP status, and the body only when the status is not 200.
async fn call_answer(host: &str, port: u16, request: &[u8], seconds: u64) -> Value {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect((host, port)).await.ok()?;
        stream.write_all(request).await.ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        Some(answer)
    };
    let Some(answer) = tokio::time::timeout(Duration::from_secs(seconds), exchange)
        .await
        .ok()
        .flatten()
        .filter(|answer| !answer.is_empty())
    else {
        return json!({ "answered": false });
    };
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    let error = (status != 200).then(|| body.to_owned());
    json!({ "answered": true, "status": status, "error": error })
}
