//! The SDK configuration of provision, deploy, rotate and cleanup, and what they
//! share: error text, tags, dry-run bookkeeping and waits with progress.
//!
//! A real account and the embedded emulator differ only in the configuration built
//! here: `--local` reads the running emulator's state file (endpoint, region,
//! credentials, CA of its database servers); otherwise the usual credential chain
//! applies, with `--profile` and `--region`, and `AWS_ENDPOINT_URL` when set.

use std::future::Future;
use std::io::{BufRead as _, IsTerminal as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_lambda::types::{LastUpdateStatus, State as FunctionState};

use crate::emulator::{EmulatorOptions, EmulatorState};

/// Where the commands run: the emulator (`--local`) or an account.
#[derive(Debug, Clone, Default)]
pub struct TargetOptions {
    /// Use the running emulator (`cargo xtask emulator up`).
    pub local: bool,
    /// Named AWS profile.
    pub profile: Option<String>,
    /// Region (else the profile's or `AWS_REGION`).
    pub region: Option<String>,
}

/// The SDK configuration, and the emulator's database CA when `--local`.
#[derive(Debug, Clone)]
pub struct Target {
    pub config: SdkConfig,
    /// The CA file of the emulator's database servers (`--local` only); used when
    /// `--db-ca-bundle` is not given.
    pub emulator_ca: Option<PathBuf>,
}

/// Builds the SDK configuration from the options.
pub async fn target(options: &TargetOptions) -> Result<Target> {
    if options.local {
        let dir = EmulatorOptions::default_instance().dir;
        let state = match EmulatorState::load(&dir)? {
            Some(state) if state.is_running() => state,
            _ => bail!(
                "--local: the emulator is not running ({}); start it with `cargo xtask emulator up`",
                dir.display()
            ),
        };
        return Ok(Target {
            config: emulator_config(&state).await,
            emulator_ca: Some(state.ca_file.clone()),
        });
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let config = loader.load().await;
    if config.region().is_none() {
        bail!(
            "no AWS region: pass --region REGION, set AWS_REGION, or use a profile with a region (or --local for the emulator)"
        );
    }
    // Outside --local nothing of the emulator's is read (its CA least of all).
    Ok(Target {
        config,
        emulator_ca: None,
    })
}

/// The SDK configuration of a running emulator.
pub async fn emulator_config(state: &EmulatorState) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&state.endpoint_url)
        .region(Region::new(state.region.clone()))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            &state.access_key_id,
            &state.secret_access_key,
            None,
            None,
            "emulator",
        ))
        .load()
        .await
}

/// The error code of an SDK error (`InvalidGroup.NotFound`, say).
pub fn code<E: ProvideErrorMetadata>(error: &E) -> &str {
    error.code().unwrap_or("")
}

/// An SDK error as one line: code, message and cause.
pub fn describe<E: std::error::Error + ProvideErrorMetadata>(error: &E) -> String {
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ => format!("{}", DisplayErrorContext(error)),
    }
}

/// Maps an SDK error of `call` to `call: code: message`, for `map_err`.
pub(crate) fn failed<E: std::error::Error + ProvideErrorMetadata>(
    call: &str,
) -> impl FnOnce(E) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{call}: {}", describe(&e))
}

/// Whether an error says the resource is already gone.
pub fn is_not_found<E: ProvideErrorMetadata>(error: &E) -> bool {
    let code = code(error);
    code.ends_with("NotFound")
        || code.ends_with(".NotFound")
        || code.ends_with("NotFoundFault")
        || code == "ResourceNotFoundException"
        // KMS's, for a key or alias it does not have (API reference, DescribeKey).
        || code == "NotFoundException"
        || code == "NoSuchEntity"
        || code == "InvalidVpcEndpointId.NotFound"
}

/// Whether a call failed for something AWS resolves by itself in time (a dependency
/// still being released, an IAM role still propagating, an update in progress).
pub fn is_transient<E: ProvideErrorMetadata>(error: &E) -> bool {
    let code = code(error);
    let message = error.message().unwrap_or("");
    code == "DependencyViolation"
        || code == "ResourceConflictException"
        || code == "InvalidDBInstanceState"
        || code == "InvalidDBSubnetGroupStateFault"
        || code == "InvalidDBParameterGroupState"
        || code == "InvalidDBParameterGroupStateFault"
        || code == "TooManyRequestsException"
        || code == "Throttling"
        || (code == "InvalidParameterValueException" && message.contains("role"))
}

/// Retries a call while it fails for a reason that passes (a new role propagating,
/// an update in progress, a dependency being released, throttling), with a growing
/// delay (0.25 s doubling to 5 s), for up to `limit`; then fails naming `what`.
pub async fn retry_transient<T, E, F, Fut>(what: &str, limit: Duration, call: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::error::Error + ProvideErrorMetadata,
{
    retry_while(what, limit, is_transient, call).await
}

/// Whether `RotateSecret` was refused because the function's new resource policy has
/// not reached Secrets Manager yet ("Secrets Manager cannot invoke the specified Lambda
/// function"). AWS's Terraform provider retries exactly this for a minute
/// (`resource_aws_secretsmanager_secret_rotation`); so do we, and only this
/// `AccessDeniedException`: one naming the caller's own missing permission is final.
pub fn is_invoke_permission_propagating<E: ProvideErrorMetadata>(error: &E) -> bool {
    code(error) == "AccessDeniedException"
        && error
            .message()
            .is_some_and(|m| m.contains("cannot invoke the specified Lambda function"))
}

/// [`retry_transient`] with the caller's own idea of what passes.
pub async fn retry_while<T, E, F, Fut>(
    what: &str,
    limit: Duration,
    passes: impl Fn(&E) -> bool,
    mut call: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::error::Error + ProvideErrorMetadata,
{
    let started = Instant::now();
    let mut delay = Duration::from_millis(250);
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) if passes(&error) && started.elapsed() < limit => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(error) => bail!("{what}: {}", describe(&error)),
        }
    }
}

/// Runs `call` again while it answers `*.NotFound` for an id that was just created
/// (EC2 is eventually consistent: "Eventual consistency in the Amazon EC2 API" in
/// the EC2 API reference), with a growing delay, for up to two minutes.
pub async fn after_create<T, E, F, Fut>(mut call: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: ProvideErrorMetadata,
{
    let started = Instant::now();
    let mut delay = Duration::from_millis(100);
    loop {
        match call().await {
            Err(error)
                if code(&error).ends_with(".NotFound")
                    && started.elapsed() < Duration::from_mins(2) =>
            {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            other => return other,
        }
    }
}

/// `secretsmanager:DescribeSecret` failed: which secret, whether it does not exist,
/// and AWS's words.
#[derive(Debug)]
pub struct SecretNotDescribed {
    pub secret: String,
    /// AWS answered that there is no such secret.
    pub missing: bool,
    detail: String,
}

impl std::fmt::Display for SecretNotDescribed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "secretsmanager:DescribeSecret {}: {}",
            self.secret, self.detail
        )
    }
}

impl std::error::Error for SecretNotDescribed {}

/// `secretsmanager:DescribeSecret` of `secret` (a name or an ARN); a failure is one
/// error that names the secret and says whether it is missing, so each caller adds
/// only its own way out (provision first, or create it).
pub async fn describe_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    secret: &str,
) -> Result<
    aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput,
    SecretNotDescribed,
> {
    secrets
        .describe_secret()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| SecretNotDescribed {
            secret: secret.to_owned(),
            missing: is_not_found(&e),
            detail: describe(&e),
        })
}

/// Who the commands run as: the account, and the partition every ARN and service
/// name is written in (`aws`, `aws-cn`, `aws-us-gov`, ...), from
/// `sts:GetCallerIdentity`, so that nothing assumes `arn:aws:` or `amazonaws.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub partition: String,
    /// The partition's DNS suffix (`amazonaws.com`, `amazonaws.com.cn`, ...).
    pub dns_suffix: &'static str,
}

impl Caller {
    /// The caller's identity; fails naming the call (expired credentials show here first).
    pub async fn find(config: &SdkConfig) -> Result<Self> {
        let identity = aws_sdk_sts::Client::new(config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "sts:GetCallerIdentity: {}; check the credentials (`aws sts get-caller-identity`)",
                    describe(&e)
                )
            })?;
        let arn = identity.arn().unwrap_or_default();
        Self::from_arn(arn).ok_or_else(|| {
            anyhow!("sts:GetCallerIdentity answered `{arn}`, which is not an ARN this tool knows")
        })
    }

    /// Account and partition from the caller's ARN; `None` for an unknown partition.
    pub fn from_arn(arn: &str) -> Option<Self> {
        let mut fields = arn.split(':');
        let partition = fields.nth(1)?;
        let account = fields.nth(2).filter(|a| !a.is_empty())?;
        Some(Self {
            account: account.to_owned(),
            partition: partition.to_owned(),
            dns_suffix: dns_suffix(partition)?,
        })
    }

    /// An ARN in the caller's partition and account.
    pub fn arn(&self, service: &str, region: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{region}:{}:{resource}",
            self.partition, self.account
        )
    }

    /// A regional service's host name (`secretsmanager.cn-north-1.amazonaws.com.cn`).
    pub fn service_host(&self, service: &str, region: &str) -> String {
        format!("{service}.{region}.{}", self.dns_suffix)
    }
}

/// The DNS suffix of each partition, as the SDKs' `partitions.json` gives it.
pub fn dns_suffix(partition: &str) -> Option<&'static str> {
    Some(match partition {
        "aws" | "aws-us-gov" => "amazonaws.com",
        "aws-cn" => "amazonaws.com.cn",
        "aws-eusc" => "amazonaws.eu",
        "aws-iso" => "c2s.ic.gov",
        "aws-iso-b" => "sc2s.sgov.gov",
        "aws-iso-e" => "cloud.adc-e.uk",
        "aws-iso-f" => "csp.hci.ic.gov",
        _ => return None,
    })
}

/// Retries `call` while AWS says a dependency is still being released, and asks
/// again (three times in all) when it says not found: cleanup found the resource
/// a moment ago, and an id EC2 has only just made can answer NotFound for a while
/// (eventual consistency), which must not be taken for "already gone".
pub async fn patiently<T, E, F, Fut>(timeout: Duration, mut call: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: aws_sdk_ec2::error::ProvideErrorMetadata,
{
    let started = Instant::now();
    let mut not_found = 0;
    loop {
        match call().await {
            Err(e) if is_transient(&e) && started.elapsed() < timeout => {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            Err(e) if is_not_found(&e) && not_found < 2 => {
                not_found += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => return other,
        }
    }
}

/// Writes made or, with `--dry-run`, only announced.
#[derive(Debug, Default)]
pub struct Calls {
    pub dry_run: bool,
    /// Every write call, as `service:Action detail`.
    pub writes: Vec<String>,
}

impl Calls {
    pub fn new(dry_run: bool) -> Self {
        Self {
            dry_run,
            writes: Vec::new(),
        }
    }

    /// Records a write; returns whether to make it (false in a dry run, which prints it).
    pub fn write(&mut self, call: impl Into<String>) -> bool {
        let call = call.into();
        if self.dry_run {
            println!("dry-run: would call {call}");
        }
        self.writes.push(call);
        !self.dry_run
    }
}

/// Says what happens, on stderr (stdout stays for results).
pub fn say(message: &str) {
    eprintln!("  {message}");
}

/// Asks `question` on standard error and reads the answer from standard input;
/// anything but y/yes, or no input at all (CI), is "no".
pub async fn confirm(question: &str) -> bool {
    eprintln!("{question} Type yes to continue: ");
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => false,
            Ok(_) => matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"),
        }
    })
    .await
    .unwrap_or(false)
}

/// Polls `check` until it returns `Some`, for at most `timeout`, with a spinner on
/// a terminal. `what` names the wait in the spinner and the timeout error.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let started = Instant::now();
    let spinner = std::io::stderr().is_terminal().then(|| {
        let spinner = indicatif::ProgressBar::new_spinner();
        spinner.set_message(format!("waiting for {what}"));
        spinner.enable_steady_tick(Duration::from_millis(120));
        spinner
    });
    let mut delay = Duration::from_millis(200);
    let result = loop {
        match check().await {
            Ok(Some(value)) => break Ok(value),
            Ok(None) => {}
            Err(error) => break Err(error),
        }
        if started.elapsed() > timeout {
            break Err(anyhow!(
                "timed out after {} s waiting for {what}; rerun the command to continue where it stopped",
                timeout.as_secs()
            ));
        }
        if let Some(spinner) = &spinner {
            spinner.set_message(format!(
                "waiting for {what} ({} s)",
                started.elapsed().as_secs()
            ));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    };
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    result
}

/// Waits until the function is Active and its last update succeeded.
pub async fn wait_for_function(lambda: &aws_sdk_lambda::Client, function: &str) -> Result<()> {
    wait_for(
        &format!("function {function} to be Active"),
        Duration::from_mins(5),
        || {
            let lambda = lambda.clone();
            async move {
                let out = lambda
                    .get_function_configuration()
                    .function_name(function)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow!(
                            "lambda:GetFunctionConfiguration {function}: {}",
                            describe(&e)
                        )
                    })?;
                match (out.state(), out.last_update_status()) {
                    (Some(FunctionState::Failed), _) | (_, Some(LastUpdateStatus::Failed)) => {
                        bail!(
                            "function {function} failed to become ready: {}",
                            out.state_reason()
                                .or(out.last_update_status_reason())
                                .unwrap_or("no reason given")
                        )
                    }
                    (
                        Some(FunctionState::Active) | None,
                        Some(LastUpdateStatus::Successful) | None,
                    ) => Ok(Some(())),
                    _ => Ok(None),
                }
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partition_comes_from_the_callers_arn() {
        let cases = [
            (
                "arn:aws:iam::123456789012:user/ops",
                Some(("aws", "123456789012", "amazonaws.com")),
            ),
            (
                "arn:aws-cn:sts::210987654321:assumed-role/Admin/me",
                Some(("aws-cn", "210987654321", "amazonaws.com.cn")),
            ),
            (
                "arn:aws-us-gov:iam::111111111111:root",
                Some(("aws-us-gov", "111111111111", "amazonaws.com")),
            ),
            ("arn:aws-mars:iam::111111111111:root", None),
            ("arn:aws:iam:::root", None),
            ("not an arn", None),
        ];
        for (arn, expected) in cases {
            let caller = Caller::from_arn(arn);
            assert_eq!(
                caller
                    .as_ref()
                    .map(|c| (c.partition.as_str(), c.account.as_str(), c.dns_suffix)),
                expected,
                "{arn}"
            );
        }
        let china = Caller::from_arn("arn:aws-cn:iam::210987654321:root").unwrap();
        assert_eq!(
            china.arn("lambda", "cn-north-1", "function:f"),
            "arn:aws-cn:lambda:cn-north-1:210987654321:function:f"
        );
        assert_eq!(
            china.service_host("secretsmanager", "cn-north-1"),
            "secretsmanager.cn-north-1.amazonaws.com.cn"
        );
    }

    #[test]
    fn only_the_invoke_permission_not_yet_seen_is_retried_on_rotate_secret() {
        use aws_sdk_secretsmanager::error::ErrorMetadata;
        use aws_sdk_secretsmanager::operation::rotate_secret::RotateSecretError;
        let cases = [
            (
                "AccessDeniedException",
                "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.",
                true,
            ),
            (
                "AccessDeniedException",
                "User: arn:aws:iam::1:user/ops is not authorized to perform: secretsmanager:RotateSecret",
                false,
            ),
            (
                "InvalidRequestException",
                "cannot invoke the specified Lambda function",
                false,
            ),
        ];
        for (code, message, expected) in cases {
            let error = RotateSecretError::generic(
                ErrorMetadata::builder().code(code).message(message).build(),
            );
            assert_eq!(
                is_invoke_permission_propagating(&error),
                expected,
                "{code}: {message}"
            );
        }
    }

    #[test]
    fn a_dry_run_records_and_refuses_every_write() {
        let mut calls = Calls::new(true);
        assert!(!calls.write("ec2:CreateVpc"));
        let mut real = Calls::new(false);
        assert!(real.write("ec2:CreateVpc"));
        assert_eq!(calls.writes, real.writes);
    }
}
