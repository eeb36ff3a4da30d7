//! Test support: the emulators of the test process, and resource names of each
//! test's own, so that tests run in parallel against them.
//!
//! Every integration test is in one binary (`tests/tests/it`), so the AWS SDK is
//! linked once. The process starts one emulator per distinct setup, on first use:
//! the shared one with every strict behaviour at its defaults, one with IAM
//! enforced ([`emulator_with`]), and one for each area whose tests change what is
//! global to an emulator ([`emulator_of_own`]: `/_emulator/fail`, an organisation).
//! Each is started through the same code as `cargo xtask emulator up`
//! ([`xtask::emulator::Emulator::start`]), in a directory of its own named after
//! the process (`test-<pid>-<n>`), with the process id as its parent: when the
//! test binary exits, each launcher stops every MariaDB server and Lambda process
//! it started.
//!
//! A test names its emulator once ([`emulator_with`], [`emulator_of_own`]); the
//! helpers that take no emulator ([`sdk_config`], [`db_options`],
//! [`wait_for_rotation`], [`runs::ca`], ...) then act on that one. The choice is
//! kept per thread, for libtest runs each test on a thread of its own (even with
//! `--test-threads=1`: <https://github.com/rust-lang/rust/pull/103681>) and
//! `#[tokio::test]` polls the test's future on that thread (`Runtime::block_on`).

use std::cell::Cell;
use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use aws_config::SdkConfig;
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::{Connection as _, MySqlConnection};
use xtask::emulator::{Emulator, EmulatorOptions, EmulatorState};

pub mod rotation;
pub mod runs;

/// The account id moto uses.
pub const ACCOUNT_ID: &str = "123456789012";

/// What an emulator of the test process is started with: one emulator each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct Setup {
    /// The area that has this emulator to itself; empty: shared.
    owner: String,
    enforce_iam: bool,
    settings: Vec<(String, String)>,
}

/// An emulator of the process: started once, by the first test that asks for it.
type Started = OnceLock<Result<EmulatorState, String>>;

thread_local! {
    /// The emulator this thread's test uses, once it has used or named one.
    static CHOSEN: Cell<Option<&'static EmulatorState>> = const { Cell::new(None) };
}

/// The emulator of `setup`, started on first use (other setups start meanwhile,
/// each in its own cell), and made the one this thread's test uses.
///
/// # Panics
/// When it cannot start, or this thread's test already used another emulator.
fn emulator_of(setup: &Setup) -> &'static EmulatorState {
    static EMULATORS: OnceLock<Mutex<HashMap<Setup, (usize, &'static Started)>>> = OnceLock::new();
    let (index, cell) = {
        let mut emulators = EMULATORS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = emulators.len();
        *emulators
            .entry(setup.clone())
            .or_insert_with(|| (count, &*Box::leak(Box::default())))
    };
    let result = cell.get_or_init(|| {
        let root = xtask::paths::target_dir().join("emulator");
        if index == 0 {
            remove_stale_test_dirs(&root);
        }
        let mut dir = format!("test-{}-{index}", std::process::id());
        if !setup.owner.is_empty() {
            dir = format!("{dir}-{}", setup.owner);
        } else if setup.enforce_iam {
            dir.push_str("-iam");
        }
        let options = EmulatorOptions {
            dir: root.join(dir),
            parent_pid: Some(std::process::id()),
            enforce_iam: setup.enforce_iam,
            settings: setup.settings.clone(),
        };
        Emulator::start(&options)
            .map(|emulator| emulator.state)
            .map_err(|error| format!("{error:#}"))
    });
    let state = match result {
        Ok(state) => state,
        Err(message) => panic!("the test emulator ({setup:?}) did not start: {message}"),
    };
    CHOSEN.with(|chosen| match chosen.get() {
        Some(used) if !std::ptr::eq(used, state) => panic!(
            "this test used the emulator in {} before asking for {setup:?}: name the emulator before any other helper",
            used.dir.display()
        ),
        _ => chosen.set(Some(state)),
    });
    state
}

/// The emulator this test uses: the one it named with [`emulator_with`] or
/// [`emulator_of_own`], else the shared one, with every strict AWS behaviour at
/// its defaults. Started on first use.
///
/// # Panics
/// When the emulator cannot start; the message says why (a missing prerequisite, say).
pub fn emulator() -> &'static EmulatorState {
    CHOSEN
        .with(Cell::get)
        .unwrap_or_else(|| emulator_of(&Setup::default()))
}

/// The emulator with IAM enforced or not and the given `EMULATOR_*` settings,
/// shared by every test that asks for the same; a test that needs it calls this
/// before any other helper, and the helpers then use it.
///
/// # Panics
/// When it cannot start, or this test already used another emulator.
pub fn emulator_with(enforce_iam: bool, settings: &[(&str, &str)]) -> &'static EmulatorState {
    emulator_of(&Setup {
        owner: String::new(),
        enforce_iam,
        settings: settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    })
}

/// An emulator (default settings) that only the tests of `area` use: for tests that
/// change what is global to an emulator, such as the EC2 failures of
/// `/_emulator/fail` or the one organisation of its account.
///
/// # Panics
/// As [`emulator_with`].
pub fn emulator_of_own(area: &str) -> &'static EmulatorState {
    emulator_of(&Setup {
        owner: area.to_owned(),
        ..Setup::default()
    })
}

/// Test emulator directories (`test-<pid>` or `test-<pid>-<n>...`) whose process is
/// gone are removed (their data is of no use).
fn remove_stale_test_dirs(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name
            .strip_prefix("test-")
            .map(|rest| rest.split_once('-').map_or(rest, |(pid, _)| pid))
            .and_then(|p| p.parse::<u32>().ok())
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            fs::remove_dir_all(entry.path()).ok();
        }
    }
}

/// The SDK configuration for the emulator this test uses: its endpoint, region and
/// credentials.
pub async fn sdk_config() -> SdkConfig {
    xtask::aws::emulator_config(emulator()).await
}

/// `config` with the credentials of an AssumeRole answer: calls made with it act
/// as the role, in the role's account.
///
/// # Panics
/// When the answer holds no credentials.
pub fn assumed_config(
    config: &SdkConfig,
    answer: &aws_sdk_sts::operation::assume_role::AssumeRoleOutput,
) -> SdkConfig {
    let credentials = answer
        .credentials()
        .expect("AssumeRole answered credentials");
    config
        .to_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            aws_sdk_sts::config::Credentials::new(
                credentials.access_key_id(),
                credentials.secret_access_key(),
                Some(credentials.session_token().to_owned()),
                None,
                "assumed-role",
            ),
        ))
        .build()
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

/// The CloudWatch Logs actions of the AWS managed policy AWSLambdaBasicExecutionRole:
/// Lambda writes a function's logs only when its execution role allows them.
pub const BASIC_EXECUTION_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}"#;

/// The network-interface actions of the AWS managed policy
/// AWSLambdaVPCAccessExecutionRole: Lambda refuses to put a function in a VPC unless
/// its execution role allows them.
pub const VPC_ACCESS_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:CreateNetworkInterface","ec2:DescribeNetworkInterfaces","ec2:DescribeSubnets","ec2:DeleteNetworkInterface","ec2:AssignPrivateIpAddresses","ec2:UnassignPrivateIpAddresses"],"Resource":"*"}]}"#;

/// Puts (or replaces) the inline policy `policy` of the role `role`.
///
/// # Panics
/// When `iam:PutRolePolicy` fails.
pub async fn put_role_policy(config: &SdkConfig, role: &str, policy: &str, document: &str) {
    aws_sdk_iam::Client::new(config)
        .put_role_policy()
        .role_name(role)
        .policy_name(policy)
        .policy_document(document)
        .send()
        .await
        .unwrap_or_else(|e| panic!("iam:PutRolePolicy {role} {policy}: {e:?}"));
}

/// Runs `call` again while Lambda says that a new role cannot be assumed yet (IAM
/// propagation, which the emulator reproduces), with a growing delay, for up to 20 s.
pub async fn retry_role_propagation<T, E, F, Fut>(mut call: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: aws_sdk_lambda::error::ProvideErrorMetadata,
{
    let started = std::time::Instant::now();
    let mut delay = Duration::from_millis(100);
    loop {
        match call().await {
            Err(error)
                if error.code() == Some("InvalidParameterValueException")
                    && error.message().unwrap_or("").contains("cannot be assumed")
                    && started.elapsed() < Duration::from_secs(20) =>
            {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            other => return other,
        }
    }
}

/// The execution role of the functions [`create_function`] makes.
pub const TEST_FUNCTION_ROLE: &str = "emulator-test-lambda-role";

/// Creates a Lambda function from a binary (as `bootstrap` on `provided.al2023`),
/// as [`TEST_FUNCTION_ROLE`], which may write its logs.
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
    let role = lambda_role(config, TEST_FUNCTION_ROLE).await;
    put_role_policy(
        config,
        TEST_FUNCTION_ROLE,
        "basic-execution",
        BASIC_EXECUTION_POLICY,
    )
    .await;
    let mut environment = Environment::builder();
    for (key, value) in env {
        environment = environment.variables(*key, *value);
    }
    let code = FunctionCode::builder()
        .zip_file(Blob::new(lambda_zip(binary)))
        .build();
    let environment = environment.build();
    let created = retry_role_propagation(|| {
        lambda
            .create_function()
            .function_name(name)
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(&role)
            .timeout(timeout)
            .environment(environment.clone())
            .code(code.clone())
            .send()
    })
    .await
    .unwrap_or_else(|e| panic!("creating function {name}: {e:?}"));
    // A new function is Pending for a moment and is not invoked until Active.
    xtask::aws::wait_for_function(&lambda, name)
        .await
        .unwrap_or_else(|e| panic!("function {name}: {e:#}"));
    allow_secrets_manager(config, name).await;
    created.function_arn().unwrap_or_default().to_owned()
}

/// Lets Secrets Manager invoke `function` (as `cargo xtask deploy` does): without it,
/// `RotateSecret` naming the function is refused, on AWS and in the emulator.
///
/// # Panics
/// When `lambda:AddPermission` fails.
pub async fn allow_secrets_manager(config: &SdkConfig, function: &str) {
    aws_sdk_lambda::Client::new(config)
        .add_permission()
        .function_name(function)
        .statement_id("SecretsManagerRotation")
        .action("lambda:InvokeFunction")
        .principal("secretsmanager.amazonaws.com")
        .source_account(ACCOUNT_ID)
        .send()
        .await
        .unwrap_or_else(|e| panic!("lambda:AddPermission {function}: {e:?}"));
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
    let labels = xtask::rotate::Labels::of(&described);
    Stages {
        current: labels.current,
        pending: labels.pending,
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

/// How a rotation that the emulator ran in the background ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationOutcome {
    Succeeded,
    /// It stopped at this step (the function failed it).
    Failed(String),
}

/// Waits (up to 3 minutes) for the background rotation of `secret` (name or ARN)
/// with token `token` to end, its retries included, as the emulator reports it on
/// `/_emulator/rotations`. `RotateSecret` returns at once, as in AWS; this is how a
/// test knows when to look. A failed rotation reports the step its last attempt
/// failed at.
///
/// # Panics
/// When the emulator never ran such a rotation, or it does not end in time.
pub async fn wait_for_rotation(secret: &str, token: &str) -> RotationOutcome {
    let deadline = std::time::Instant::now() + Duration::from_mins(3);
    loop {
        let records = rotations_of(secret);
        let record = records.iter().rev().find(|r| r["token"] == token);
        match record.map(|r| (r["status"].as_str(), r["step"].as_str())) {
            Some((Some("succeeded"), _)) => return RotationOutcome::Succeeded,
            Some((Some("failed"), step)) => {
                return RotationOutcome::Failed(step.unwrap_or("").to_owned());
            }
            Some((Some("cancelled"), _)) => return RotationOutcome::Failed("cancelled".to_owned()),
            _ => {}
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rotation {token} of {secret} did not end within 3 minutes (emulator records: {})",
            serde_json::Value::from(records.clone())
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A JSON document from one of the emulator's own paths (`/_emulator/...`).
///
/// # Panics
/// When the emulator does not answer with JSON.
pub fn emulator_json(path: &str) -> serde_json::Value {
    emulator_request("GET", path, "")
}

/// Makes the next `count` EC2 calls of `action` fail with `code`, so a test can
/// interrupt a command between two calls.
///
/// # Panics
/// When the emulator does not take the request.
pub fn fail_next_ec2_calls(action: &str, code: &str, count: u32) {
    let body = serde_json::json!({"action": action, "code": code, "count": count});
    emulator_request("POST", "/_emulator/fail", &body.to_string());
}

/// Starts RDS's rotation of the master password it manages for DB instance `instance`
/// (`POST /_emulator/rds-rotate`), the one its 7-day schedule would start: the
/// server's password changes at once, `AWSCURRENT` moves `hold_seconds` later.
/// Returns the emulator's answer: `ok`, `secret_arn` and `version_id`, or `error`.
///
/// # Panics
/// When the emulator cannot be reached.
pub fn rotate_rds_master_password(instance: &str, hold_seconds: f64) -> serde_json::Value {
    let body = serde_json::json!({
        "instance": instance,
        "region": emulator().region,
        "hold_seconds": hold_seconds,
    });
    emulator_request("POST", "/_emulator/rds-rotate", &body.to_string())
}

/// The emulator's records of `secret`'s rotations (its name or ARN), oldest first.
fn rotations_of(secret: &str) -> Vec<serde_json::Value> {
    xtask::emulator::rotations_of(emulator(), secret).unwrap_or_else(|e| panic!("{e:#}"))
}

fn emulator_request(method: &str, path: &str, body: &str) -> serde_json::Value {
    xtask::emulator::request(emulator(), method, path, body).unwrap_or_else(|e| panic!("{e:#}"))
}

/// Runs `call` again while it answers a `*.NotFound` error code, as a client of
/// EC2 must right after a create (eventual consistency, which the emulator
/// reproduces), with a growing delay, for up to 20 s.
pub async fn eventually<T, E, F, Fut>(mut call: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: aws_sdk_ec2::error::ProvideErrorMetadata,
{
    let started = std::time::Instant::now();
    let mut delay = Duration::from_millis(50);
    loop {
        match call().await {
            Err(error)
                if error.code().is_some_and(|code| code.ends_with(".NotFound"))
                    && started.elapsed() < Duration::from_secs(20) =>
            {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
            other => return other,
        }
    }
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `timeout`.
///
/// # Panics
/// When `timeout` passes first; the message names `what`.
pub async fn poll_until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {} s",
            timeout.as_secs_f32()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (up to 60 s) until the DB instance `id` is `available`, as RDS reports it
/// (an instance is `creating`, without an endpoint, first), and returns it.
///
/// # Panics
/// When it is not available in time.
pub async fn available_db_instance(
    rds: &aws_sdk_rds::Client,
    id: &str,
) -> aws_sdk_rds::types::DbInstance {
    poll_until(
        &format!("DB instance {id} to be available"),
        Duration::from_mins(1),
        || async {
            rds.describe_db_instances()
                .db_instance_identifier(id)
                .send()
                .await
                .ok()
                .and_then(|out| out.db_instances().first().cloned())
                .filter(|i| i.db_instance_status() == Some("available"))
        },
    )
    .await
}

/// Waits until RDS no longer knows the DB instance `id` (a deleted instance is
/// `deleting` first), for at most `timeout`.
///
/// # Panics
/// When it is still there after `timeout`.
pub async fn db_instance_gone(rds: &aws_sdk_rds::Client, id: &str, timeout: Duration) {
    poll_until(&format!("DB instance {id} to be gone"), timeout, || async {
        rds.describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .is_err()
            .then_some(())
    })
    .await;
}

/// Waits (up to 3 minutes) until no background rotation of `secret` (name or ARN)
/// runs, retries included, such as the `testSecret` that `RotateSecret` with
/// `RotateImmediately=false` starts.
///
/// # Panics
/// When one still runs after 3 minutes.
pub async fn wait_for_rotations_to_end(secret: &str) {
    poll_until(
        &format!("the rotations of {secret} to end"),
        Duration::from_mins(3),
        || async {
            let running = rotations_of(secret)
                .iter()
                .any(|r| r["status"] == "running");
            (!running).then_some(())
        },
    )
    .await;
}
