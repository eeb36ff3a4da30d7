//! Test support: one embedded emulator per test process, and resource names of
//! each test's own, so that tests run in parallel against it.
//!
//! The emulator is started through the same code as `cargo xtask emulator up`
//! ([`xtask::emulator::Emulator::start`]), in a directory of this process, with the
//! process id as its parent: when the test binary exits, the launcher stops every
//! MariaDB server and Lambda process it started.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_config::SdkConfig;
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::{Connection as _, MySqlConnection};
use xtask::emulator::{Emulator, EmulatorOptions, EmulatorState};

/// The account id moto uses.
pub const ACCOUNT_ID: &str = "123456789012";

static EMULATOR: OnceLock<Result<EmulatorState, String>> = OnceLock::new();

/// The emulator of this test process, started on first use.
///
/// # Panics
/// When the emulator cannot start; the message says why (a missing prerequisite, say).
pub fn emulator() -> &'static EmulatorState {
    let result = EMULATOR.get_or_init(|| {
        let root = xtask::paths::target_dir().join("emulator");
        remove_stale_test_dirs(&root);
        let options = EmulatorOptions {
            dir: root.join(format!("test-{}", std::process::id())),
            parent_pid: Some(std::process::id()),
        };
        Emulator::start(&options)
            .map(|emulator| emulator.state)
            .map_err(|error| format!("{error:#}"))
    });
    match result {
        Ok(state) => state,
        Err(message) => panic!("the test emulator did not start: {message}"),
    }
}

/// Test emulator directories whose process is gone are removed (their data is of no use).
fn remove_stale_test_dirs(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name
            .strip_prefix("test-")
            .and_then(|p| p.parse::<u32>().ok())
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            fs::remove_dir_all(entry.path()).ok();
        }
    }
}

/// The SDK configuration for the emulator: its endpoint, region and credentials.
pub async fn sdk_config() -> SdkConfig {
    xtask::aws::emulator_config(emulator()).await
}

/// A name no other test of any process uses: `prefix` plus process id and a counter.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}{}x{}",
        std::process::id() % 100_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A zip holding one executable entry `bootstrap` with the bytes of `binary`.
///
/// # Panics
/// When the binary cannot be read (it is built by Cargo before the tests run).
pub fn lambda_zip(binary: &Path) -> Vec<u8> {
    let bytes = fs::read(binary).unwrap_or_else(|e| panic!("reading {}: {e}", binary.display()));
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    writer.start_file("bootstrap", options).expect("zip entry");
    writer.write_all(&bytes).expect("zip write");
    writer.finish().expect("zip finish");
    out.into_inner()
}

/// Creates (once per name) an IAM role Lambda can assume, returning its ARN.
pub async fn lambda_role(config: &SdkConfig, name: &str) -> String {
    let iam = aws_sdk_iam::Client::new(config);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    match iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
    {
        Ok(created) => created
            .role()
            .map(|r| r.arn().to_owned())
            .unwrap_or_default(),
        Err(_) => format!("arn:aws:iam::{ACCOUNT_ID}:role/{name}"),
    }
}

/// Creates a Lambda function from a binary (as `bootstrap` on `provided.al2023`).
pub async fn create_function(
    config: &SdkConfig,
    name: &str,
    binary: &Path,
    env: &[(&str, &str)],
    timeout: i32,
) -> String {
    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime};
    let lambda = aws_sdk_lambda::Client::new(config);
    let role = lambda_role(config, "emulator-test-lambda-role").await;
    let mut environment = Environment::builder();
    for (key, value) in env {
        environment = environment.variables(*key, *value);
    }
    let created = lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role)
        .timeout(timeout)
        .environment(environment.build())
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(lambda_zip(binary)))
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating function {name}: {e:?}"));
    created.function_arn().unwrap_or_default().to_owned()
}

/// Connection settings for a MySQL/MariaDB login, TLS verified against the emulator's CA.
pub fn db_options(host: &str, port: u16, user: &str, password: &str) -> MySqlConnectOptions {
    MySqlConnectOptions::new()
        .host(host)
        .port(port)
        .username(user)
        .password(password)
        .ssl_mode(MySqlSslMode::VerifyIdentity)
        .ssl_ca(emulator().ca_file.clone())
}

/// Logs in and returns the connection, or the error as text.
pub async fn login(options: &MySqlConnectOptions) -> Result<MySqlConnection, String> {
    tokio::time::timeout(
        Duration::from_secs(10),
        MySqlConnection::connect_with(options),
    )
    .await
    .map_err(|_| "login timed out".to_owned())?
    .map_err(|e| e.to_string())
}

/// A connection to the emulator's default MariaDB server as its admin.
///
/// # Panics
/// When the admin cannot log in.
pub async fn admin_connection() -> MySqlConnection {
    let database = &emulator().database;
    login(&db_options(
        &database.host,
        database.port,
        &database.admin_user,
        &database.admin_password,
    ))
    .await
    .unwrap_or_else(|e| panic!("admin login to the emulator's MariaDB: {e}"))
}

/// The path of a binary of this crate, for building a Lambda zip of it.
pub fn test_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    dir.join(name)
}

/// Where a secret's staging labels are, and whether a rotation has succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stages {
    pub current: Option<String>,
    /// `AWSPENDING` when it is on another version than `AWSCURRENT` (a rotation unfinished).
    pub pending: Option<String>,
    pub rotated: bool,
}

/// Reads the staging labels of `secret` through `DescribeSecret`.
///
/// # Panics
/// When the secret cannot be described.
pub async fn stages(secrets: &aws_sdk_secretsmanager::Client, secret: &str) -> Stages {
    let described = secrets
        .describe_secret()
        .secret_id(secret)
        .send()
        .await
        .expect("DescribeSecret");
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
    Stages {
        current,
        pending,
        rotated: described.last_rotated_date().is_some(),
    }
}

/// Invokes a function with a JSON event; returns its function error (if any) and payload.
///
/// # Panics
/// When the invocation itself fails (not when the function does).
pub async fn invoke(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    event: &serde_json::Value,
) -> (Option<String>, String) {
    let out = lambda
        .invoke()
        .function_name(function)
        .payload(aws_sdk_lambda::primitives::Blob::new(event.to_string()))
        .send()
        .await
        .expect("Invoke");
    let body = String::from_utf8_lossy(
        out.payload()
            .map(aws_sdk_lambda::primitives::Blob::as_ref)
            .unwrap_or_default(),
    )
    .into_owned();
    (out.function_error().map(str::to_owned), body)
}
