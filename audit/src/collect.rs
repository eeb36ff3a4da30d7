//! Collection: read-only AWS calls (and one database login) into an [`Inventory`].
//!
//! Why it is shaped this way:
//! - **Failures are data.** Every call's error is recorded in the inventory next to
//!   the data it would have produced, with the IAM action from [`crate::calls`], so
//!   a denied permission turns only the dependent checks to ERROR.
//! - **Few calls.** Independent reads run concurrently (`tokio::join!` across
//!   EC2, RDS and Secrets Manager); list calls use the largest page size; with
//!   `--all-secrets` the rotation settings of every secret come from the
//!   `ListSecrets` pages (100 secrets a call), never one call per secret; security
//!   group rules are read only for the groups that matter, with a `group-id` filter;
//!   each rotation function is read once however many secrets name it.
//! - **Counted.** An interceptor counts every HTTP request (pages and retries), and
//!   the collector counts calls per IAM action; both land in the inventory's
//!   metadata so a benchmark can print them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::error::Error as StdError;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_ec2::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{Filter, VpcAttributeName};
use serde_json::Value;
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::{Connection as _, MySqlConnection, Row as _};
use time::OffsetDateTime;

use crate::calls::{self, ApiCall};
use crate::checks::redact_grant;
use crate::inventory::{
    AdminSecretRecord, Collected, CollectionError, DbInstance, FailedSecret, FunctionConfiguration,
    FunctionRecord, GrantsRecord, Instance, Inventory, KeyPolicyRecord, KeyRecord,
    MasterUserSecret, Metadata, NetworkAcl, NetworkAclEntry, PolicyDocument, PrefixList,
    RegionInventory, RoleGrants, RoleRecord, Scope, Secret, SecretFacts, SecretPolicyRecord,
    SecretValueRecord, SecurityGroupRule, Subnet, Vpc, VpcEndpoint, VpcPeering,
};
use crate::inventory::{EnvironmentVariable, ValueShape};
use crate::policy::Policy;
use crate::sensitive::SensitiveString;

/// What to collect and how to reach the database.
#[derive(Debug, Clone)]
pub struct CollectRequest {
    pub scope: Scope,
    pub policy: Policy,
    /// `--db-endpoint`: connect here instead of the secret's host (a tunnel).
    pub db_endpoint: Option<(String, u16)>,
    /// `--db-ca-bundle`: PEM file of CAs to verify the database's certificate.
    pub db_ca_bundle: Option<PathBuf>,
}

/// Counts every HTTP request the SDK clients send.
#[derive(Debug, Clone, Default)]
struct RequestCounter(Arc<AtomicU64>);

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "AuditRequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn StdError + Send + Sync>> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Calls per IAM action.
#[derive(Debug, Default)]
struct CallLog(Mutex<BTreeMap<&'static str, u64>>);

impl CallLog {
    fn record(&self, call: &ApiCall) {
        if let Ok(mut calls) = self.0.lock() {
            *calls.entry(call.action).or_default() += 1;
        }
    }

    fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0
            .lock()
            .map(|calls| calls.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect())
            .unwrap_or_default()
    }
}

/// The SDK clients of one region.
#[derive(Debug, Clone)]
struct Clients {
    ec2: aws_sdk_ec2::Client,
    rds: aws_sdk_rds::Client,
    secrets: aws_sdk_secretsmanager::Client,
    lambda: aws_sdk_lambda::Client,
    sts: aws_sdk_sts::Client,
    iam: aws_sdk_iam::Client,
    kms: aws_sdk_kms::Client,
    organizations: aws_sdk_organizations::Client,
}

/// A retry partition of the account's own: "default partitions with the same name
/// share the same token bucket and client rate limiter" (aws-smithy-runtime,
/// `RetryPartition`), and the SDK names them by service and region only, so every
/// account of an organisation would spend one retry quota; `None` (a single
/// account) keeps the SDK's default.
fn retry_partition(
    service: &str,
    region: &str,
    account: Option<&str>,
) -> Option<aws_smithy_runtime::client::retries::RetryPartition> {
    account.map(|account| {
        aws_smithy_runtime::client::retries::RetryPartition::new(format!(
            "{service}-{region}-{account}"
        ))
    })
}

impl Clients {
    /// Each service's client, counting its requests; `account` (the organisation
    /// mode's) gives every client a retry partition of the account's own.
    fn new(config: &SdkConfig, counter: &RequestCounter, account: Option<&str>) -> Self {
        let region = config.region().map(ToString::to_string).unwrap_or_default();
        let partition = |service: &str| retry_partition(service, &region, account);
        Self {
            ec2: aws_sdk_ec2::Client::from_conf({
                let mut builder =
                    aws_sdk_ec2::config::Builder::from(config).interceptor(counter.clone());
                builder.set_retry_partition(partition("ec2"));
                builder.build()
            }),
            rds: aws_sdk_rds::Client::from_conf({
                let mut builder =
                    aws_sdk_rds::config::Builder::from(config).interceptor(counter.clone());
                builder.set_retry_partition(partition("rds"));
                builder.build()
            }),
            secrets: aws_sdk_secretsmanager::Client::from_conf({
                let mut builder = aws_sdk_secretsmanager::config::Builder::from(config)
                    .interceptor(counter.clone());
                builder.set_retry_partition(partition("secretsmanager"));
                builder.build()
            }),
            lambda: aws_sdk_lambda::Client::from_conf({
                let mut builder =
                    aws_sdk_lambda::config::Builder::from(config).interceptor(counter.clone());
                builder.set_retry_partition(partition("lambda"));
                builder.build()
            }),
            sts: aws_sdk_sts::Client::from_conf({
                let mut builder =
                    aws_sdk_sts::config::Builder::from(config).interceptor(counter.clone());
                builder.set_retry_partition(partition("sts"));
                builder.build()
            }),
            iam: aws_sdk_iam::Client::from_conf({
                let mut builder =
                    aws_sdk_iam::config::Builder::from(config).interceptor(counter.clone());
                builder.set_retry_partition(partition("iam"));
                builder.build()
            }),
            kms: aws_sdk_kms::Client::from_conf({
                let mut builder =
                    aws_sdk_kms::config::Builder::from(config).interceptor(counter.clone());
                builder.set_retry_partition(partition("kms"));
                builder.build()
            }),
            organizations: organizations_client(config, counter, partition("organizations")),
        }
    }
}

/// Whether a service error code means the caller lacks permission. Refused
/// credentials (`AuthFailure`, expired tokens, clock skew) are not: no grant
/// fixes them (see [`crate::inventory::CREDENTIAL_ERROR_CODES`]).
pub fn is_access_denied(code: Option<&str>, message: &str) -> bool {
    match code {
        Some(code) => matches!(
            code,
            "AccessDenied"
                | "AccessDeniedException"
                | "UnauthorizedOperation"
                | "UnauthorizedAccess"
                | "AuthorizationError"
                | "Forbidden"
        ),
        None => message.contains("not authorized to perform") || message.contains("AccessDenied"),
    }
}

/// Error codes meaning "no such resource".
fn is_not_found(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "ResourceNotFoundException"
                | "DBInstanceNotFound"
                | "DBInstanceNotFoundFault"
                | "CertificateNotFound"
                | "CertificateNotFoundFault"
                | "InvalidVpcID.NotFound"
                | "InvalidPrefixListID.NotFound"
                | "InvalidPrefixListId.NotFound"
        )
    )
}

/// The IAM action a failure is about. Reading a secret also decrypts it with its
/// KMS key: Secrets Manager reports a key-policy or `kms:Decrypt` denial as
/// `AccessDeniedException` "Access to KMS is not allowed" (as users of GetSecretValue
/// report it: https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas/issues/53),
/// and a key that cannot decrypt as `DecryptionFailure` (GetSecretValue, Secrets
/// Manager API reference: "Secrets Manager can't decrypt the protected secret text
/// using the provided KMS key",
/// https://docs.aws.amazon.com/botocore/latest/reference/services/secretsmanager/client/exceptions/DecryptionFailure.html):
/// either is about `kms:Decrypt`, not `secretsmanager:GetSecretValue`.
pub fn failed_action(call_action: &str, code: Option<&str>, message: &str) -> String {
    let about_kms = code == Some(crate::inventory::DECRYPTION_FAILURE)
        || code.is_some_and(|c| c.starts_with("KMS"))
        || message.contains("kms:Decrypt")
        || message.contains("KMS")
        || message.contains("kms:");
    if call_action == calls::SECRETSMANAGER_GET_SECRET_VALUE.action && about_kms {
        "kms:Decrypt".to_owned()
    } else {
        call_action.to_owned()
    }
}

pub(crate) fn collection_error<E, R>(call: &ApiCall, error: &SdkError<E, R>) -> CollectionError
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: fmt::Debug,
{
    let message =
        crate::inventory::without_encoded_message(&DisplayErrorContext(error).to_string())
            .into_owned();
    classified_error(call.action, error.code().map(str::to_owned), message)
}

/// The record of a failed call of `call_action` that AWS answered with `code` and
/// `message`: the action it is about, and whether access was denied.
fn classified_error(call_action: &str, code: Option<String>, message: String) -> CollectionError {
    CollectionError {
        action: failed_action(call_action, code.as_deref(), &message),
        // `DecryptionFailure` is no denial: a disabled key or one pending deletion
        // gives it too (KMS developer guide, "Key states of AWS KMS keys"; the
        // emulator's kms_key_state.py answers so), and granting the auditor
        // kms:Decrypt would not help (`CollectionError::describe` words it).
        access_denied: is_access_denied(code.as_deref(), &message),
        code,
        message,
    }
}

/// `Ok(None)` for a not-found error, the recorded error otherwise.
fn not_found_or_error<T, E, R>(call: &ApiCall, error: &SdkError<E, R>) -> Collected<Option<T>>
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: fmt::Debug,
{
    if is_not_found(error.code()) {
        Collected::Ok(None)
    } else {
        Collected::Failed(collection_error(call, error))
    }
}

fn filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    let mut builder = Filter::builder().name(name);
    for value in values {
        builder = builder.values(value);
    }
    builder.build()
}

fn to_time(value: Option<&aws_sdk_secretsmanager::primitives::DateTime>) -> Option<OffsetDateTime> {
    value.and_then(|v| OffsetDateTime::from_unix_timestamp(v.secs()).ok())
}

fn tag_value<'a>(tags: &'a [aws_sdk_ec2::types::Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// An instance's endpoint address and port.
fn endpoint_of(db: &aws_sdk_rds::types::DbInstance) -> (Option<String>, Option<u16>) {
    let endpoint = db.endpoint();
    (
        endpoint.and_then(|e| e.address()).map(str::to_owned),
        endpoint
            .and_then(aws_sdk_rds::types::Endpoint::port)
            .and_then(|p| u16::try_from(p).ok()),
    )
}

/// A secret's metadata from `DescribeSecret` or `ListSecrets` (same fields, two types).
macro_rules! secret_from {
    ($value:expr, $stages:ident) => {{
        let value = $value;
        let rules = value.rotation_rules();
        Secret {
            arn: value.arn().unwrap_or_default().to_owned(),
            name: value.name().unwrap_or_default().to_owned(),
            primary: false,
            rotation_enabled: value.rotation_enabled(),
            rotation_lambda_arn: value.rotation_lambda_arn().map(str::to_owned),
            automatically_after_days: rules.and_then(|r| r.automatically_after_days()),
            schedule_expression: rules
                .and_then(|r| r.schedule_expression())
                .map(str::to_owned),
            duration: rules.and_then(|r| r.duration()).map(str::to_owned),
            created_date: to_time(value.created_date()),
            last_rotated_date: to_time(value.last_rotated_date()),
            last_accessed_date: to_time(value.last_accessed_date()),
            next_rotation_date: to_time(value.next_rotation_date()),
            deleted_date: to_time(value.deleted_date()),
            owning_service: value.owning_service().map(str::to_owned),
            tags: value
                .tags()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_owned(),
                        t.value().unwrap_or_default().to_owned(),
                    ))
                })
                .collect(),
            versions_to_stages: value
                .$stages()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            pending_created_date: None,
            pending_date_error: None,
            kms_key_id: value.kms_key_id().map(str::to_owned),
        }
    }};
}

/// The credentials read from a secret's value, kept in memory only.
#[derive(Debug, Clone)]
struct DbLogin {
    host: Option<String>,
    port: u16,
    username: String,
    password: SensitiveString,
    ssl: Option<bool>,
}

/// Reads the non-sensitive keys of a secret's JSON value, and the login.
fn parse_secret_value(text: &str) -> Result<(SecretFacts, Option<DbLogin>), String> {
    let value: Value = serde_json::from_str(text).map_err(|_| {
        "the secret's value is not JSON; expected the RDS credentials format".to_owned()
    })?;
    let string = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let port = match value.get("port") {
        Some(Value::Number(n)) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let ssl = match value.get("ssl") {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    };
    let facts = SecretFacts {
        username: string("username"),
        host: string("host"),
        port,
        dbname: string("dbname"),
        engine: string("engine"),
        masterarn: string("masterarn"),
        ssl,
        has_password: value.get("password").is_some(),
    };
    let login = match (string("username"), string("password")) {
        (Some(username), Some(password)) => Some(DbLogin {
            host: facts.host.clone(),
            port: port.unwrap_or(3306),
            username,
            password: SensitiveString::new(password),
            ssl,
        }),
        _ => None,
    };
    Ok((facts, login))
}

mod discover;
mod endpoints;
mod hardening;
mod pair;

use endpoints::{LoginEndpoints, endpoint_refusal, login_endpoints};
use pair::{OtherUser, other_of};

/// The account's organisation id (`Ok(None)`: in no organisation).
async fn describe_organization(
    client: &aws_sdk_organizations::Client,
    log: &CallLog,
) -> Collected<Option<String>> {
    let call = &calls::ORGANIZATIONS_DESCRIBE_ORGANIZATION;
    log.record(call);
    match client.describe_organization().send().await {
        Ok(output) => match output.organization().and_then(|o| o.id()) {
            Some(id) => Collected::Ok(Some(id.to_owned())),
            None => Collected::Skipped(
                "organizations:DescribeOrganization answered without an organisation id".to_owned(),
            ),
        },
        // "Your account isn't a member of an organization" (Organizations
        // API reference, DescribeOrganization, Errors): the org keys are
        // absent from every request context, not unknown.
        Err(error)
            if error.as_service_error().is_some_and(
                aws_sdk_organizations::operation::describe_organization::DescribeOrganizationError::is_aws_organizations_not_in_use_exception,
            ) =>
        {
            Collected::Ok(None)
        }
        Err(error) => {
            let error = collection_error(call, &error);
            tracing::warn!("{}", error.describe());
            Collected::Failed(error)
        }
    }
}

/// An account's organisation read once before its regions are collected apart
/// (`--organization` collects each region alone, concurrently: read there, it
/// would be read once per region, and the regions' answers could differ). Each
/// region's collection is given [`Self::id`]; [`Self::count_in`] adds the read
/// to the account's call counts.
#[derive(Debug)]
pub struct OrganizationRead {
    /// The account's organisation id (`Ok(None)`: in no organisation).
    pub id: Collected<Option<String>>,
    requests: u64,
}

impl OrganizationRead {
    /// Reads the organisation of `account` with its credentials (`config`).
    pub async fn of_account(config: &SdkConfig, account: &str) -> Self {
        let counter = RequestCounter::default();
        let log = CallLog::default();
        let region = config.region().map(ToString::to_string).unwrap_or_default();
        let client = organizations_client(
            config,
            &counter,
            retry_partition("organizations", &region, Some(account)),
        );
        let id = describe_organization(&client, &log).await;
        Self {
            id,
            requests: counter.0.load(Ordering::Relaxed),
        }
    }

    /// Counts the read in the account's inventory.
    pub fn count_in(&self, metadata: &mut Metadata) {
        metadata.api_requests += self.requests;
        *metadata
            .calls
            .entry(calls::ORGANIZATIONS_DESCRIBE_ORGANIZATION.action.to_owned())
            .or_default() += 1;
    }
}

fn organizations_client(
    config: &SdkConfig,
    counter: &RequestCounter,
    partition: Option<aws_smithy_runtime::client::retries::RetryPartition>,
) -> aws_sdk_organizations::Client {
    let mut builder =
        aws_sdk_organizations::config::Builder::from(config).interceptor(counter.clone());
    builder.set_retry_partition(partition);
    aws_sdk_organizations::Client::from_conf(builder.build())
}

/// Collects one inventory across the regions of `configs` (one SDK config per region).
pub async fn collect(configs: &[SdkConfig], request: &CollectRequest) -> Inventory {
    collect_in_account(configs, request, None, None).await
}

/// [`collect`] in an account already known (the organisation mode knows it from the
/// role it assumed), so `sts:GetCallerIdentity` is not asked again for each region;
/// likewise its organisation when `known_organization` ([`OrganizationRead`]).
pub async fn collect_in_account(
    configs: &[SdkConfig],
    request: &CollectRequest,
    known_account: Option<String>,
    known_organization: Option<Collected<Option<String>>>,
) -> Inventory {
    let started = OffsetDateTime::now_utc();
    let counter = RequestCounter::default();
    let log = Arc::new(CallLog::default());
    let mut regions = Vec::new();
    let mut excluded = Vec::new();
    let mut failed_regions = Vec::new();
    let partition_account = known_account.clone();
    let mut account_id = known_account;
    // Read once per account, with the first region's clients, unless known.
    let mut organization_id = known_organization;
    for config in configs {
        let region = config
            .region()
            .map_or_else(|| "us-east-1".to_owned(), ToString::to_string);
        let clients = Clients::new(config, &counter, partition_account.as_deref());
        let collector = RegionCollector {
            clients,
            log: Arc::clone(&log),
            request,
            region: region.clone(),
            clusters: Mutex::default(),
        };
        let collected = CatchPanic::new(async {
            tokio::join!(
                collector.account_id(account_id.is_none()),
                collector.organization_id(organization_id.is_none()),
                Box::pin(collector.parts())
            )
        })
        .await;
        match collected {
            Ok((account, organization, (parts, region_excluded))) => {
                if account_id.is_none() {
                    account_id = account;
                }
                if organization_id.is_none() {
                    organization_id = organization;
                }
                regions.extend(parts);
                excluded.extend(region_excluded);
            }
            Err(panic) => {
                let error = panicked(&region, panic.as_ref());
                tracing::error!("{}", error.describe());
                failed_regions.push(crate::inventory::FailedRegion { region, error });
            }
        }
    }
    let mut scope = request.scope.clone();
    scope.regions = configs
        .iter()
        .map(|c| {
            c.region()
                .map_or_else(|| "us-east-1".to_owned(), ToString::to_string)
        })
        .collect();
    Inventory {
        metadata: Metadata {
            tool: crate::TOOL.to_owned(),
            version: crate::VERSION.to_owned(),
            collected_at: started,
            account_id,
            organization_id: organization_id
                .unwrap_or_else(|| Collected::Skipped("no region was collected".to_owned())),
            insecure_db_tls: request.policy.insecure_db_tls,
            api_requests: counter.0.load(Ordering::Relaxed),
            calls: log.snapshot(),
            scope,
        },
        regions,
        excluded,
        failed_regions,
        skipped_regions: Vec::new(),
    }
}

/// A future that returns a panic inside it as `Err`, so one region's bug costs
/// that region only. It needs the release profile to unwind (`panic = "abort"`
/// is kept for the rotation Lambda's own profile, see the workspace's Cargo.toml);
/// what the panic leaves behind is the region's own collector, dropped with it,
/// and the call counters, whose lock tolerates poisoning ([`CallLog`]).
pub(crate) struct CatchPanic<F>(std::pin::Pin<Box<F>>);

impl<F: std::future::Future> CatchPanic<F> {
    pub(crate) fn new(future: F) -> Self {
        Self(Box::pin(future))
    }
}

impl<F: std::future::Future> std::future::Future for CatchPanic<F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Ok(std::task::Poll::Ready(output)) => std::task::Poll::Ready(Ok(output)),
            Err(panic) => std::task::Poll::Ready(Err(panic)),
        }
    }
}

/// The error a region's panic is reported as: the panic's text names the bug,
/// never a secret (the audit formats none).
pub(crate) fn panicked(region: &str, panic: &(dyn std::any::Any + Send)) -> CollectionError {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned());
    CollectionError {
        action: "audit:collect".to_owned(),
        access_denied: false,
        code: None,
        message: format!(
            "the collection of region {region} stopped on a panic in the audit ({text}); the other regions were audited. Run again, and report the message if it persists"
        ),
    }
}

struct RegionCollector<'a> {
    clients: Clients,
    log: Arc<CallLog>,
    request: &'a CollectRequest,
    region: String,
    /// `DescribeDBClusters` answers by cluster: asked once each.
    clusters: Mutex<HashMap<String, ClusterAnswer>>,
}

type ClusterAnswer = Result<Option<aws_sdk_rds::types::DbCluster>, CollectionError>;

/// What the VPC branch found.
struct VpcPart {
    vpc: Collected<Option<Vpc>>,
    subnets: Collected<Vec<Subnet>>,
    endpoints: Collected<Vec<VpcEndpoint>>,
    bastions: Collected<Vec<Instance>>,
    network_acls: Collected<Vec<NetworkAcl>>,
    default_security_group: Collected<Option<crate::inventory::DefaultSecurityGroup>>,
}

/// What the secrets branch found.
struct SecretsPart {
    policies: Vec<SecretPolicyRecord>,
    secrets: Collected<Vec<Secret>>,
    missing: Vec<String>,
    failed: Vec<FailedSecret>,
    functions: Vec<FunctionRecord>,
    values: Vec<SecretValueRecord>,
    logins: HashMap<String, DbLogin>,
    /// Per secret, the other user of the alternating pair as `AWSPREVIOUS` (or,
    /// before a first rotation ends, `AWSPENDING`) names it, or why it could not
    /// be read. Its password is read again just before the login.
    other_logins: HashMap<String, OtherUser>,
    admin_secrets: Vec<AdminSecretRecord>,
    keys: Vec<KeyPolicyRecord>,
}

impl RegionCollector<'_> {
    async fn account_id(&self, wanted: bool) -> Option<String> {
        if !wanted {
            return None;
        }
        self.log.record(&calls::STS_GET_CALLER_IDENTITY);
        match self.clients.sts.get_caller_identity().send().await {
            Ok(identity) => identity.account().map(str::to_owned),
            Err(error) => {
                tracing::warn!(
                    "{}",
                    collection_error(&calls::STS_GET_CALLER_IDENTITY, &error).describe()
                );
                None
            }
        }
    }

    /// The account's organisation id (`Ok(None)`: in no organisation), or `None`
    /// when not `wanted` (already read).
    async fn organization_id(&self, wanted: bool) -> Option<Collected<Option<String>>> {
        if !wanted {
            return None;
        }
        Some(describe_organization(&self.clients.organizations, &self.log).await)
    }

    /// The region's inventory: the named setup's, or one per discovered setup
    /// and the secrets discovery excluded.
    async fn parts(&self) -> (Vec<RegionInventory>, Vec<crate::discover::ExcludedSecret>) {
        if self.request.scope.discover {
            self.discover().await
        } else {
            (vec![Box::pin(self.collect()).await], Vec::new())
        }
    }

    async fn collect(&self) -> RegionInventory {
        let (vpc_part, database, secrets_part) =
            tokio::join!(self.vpc_part(), self.database(), self.secrets_part());

        let mut groups: BTreeSet<String> = BTreeSet::new();
        if let Collected::Ok(bastions) = &vpc_part.bastions {
            for bastion in bastions {
                groups.extend(bastion.security_group_ids.iter().cloned());
            }
        }
        if let Collected::Ok(Some(db)) = &database {
            groups.extend(db.security_group_ids.iter().cloned());
        }
        for function in &secrets_part.functions {
            if let Collected::Ok(Some(configuration)) = &function.configuration {
                groups.extend(configuration.security_group_ids.iter().cloned());
            }
        }
        // The endpoints' groups: whether the function may reach them on 443.
        if let Collected::Ok(endpoints) = &vpc_part.endpoints {
            for endpoint in endpoints {
                groups.extend(endpoint.security_group_ids.iter().cloned());
            }
        }
        // The rotation functions' execution roles: can they do what a rotation does?
        let role_arns: BTreeSet<String> = secrets_part
            .functions
            .iter()
            .filter_map(|f| match &f.configuration {
                Collected::Ok(Some(configuration)) => configuration.role.clone(),
                _ => None,
            })
            .collect();
        // The VPCs of functions that run outside their database's VPC.
        let database_vpc = database
            .ok()
            .and_then(Option::as_ref)
            .and_then(|db| db.vpc_id.clone());
        let other_vpcs: BTreeSet<String> = secrets_part
            .functions
            .iter()
            .filter_map(|f| match &f.configuration {
                Collected::Ok(Some(configuration)) => configuration.vpc_id.clone(),
                _ => None,
            })
            .filter(|vpc| !vpc.is_empty() && Some(vpc) != database_vpc.as_ref())
            .collect();
        let (rules_and_lists, grants, roles, vpc_peerings, db_hardening) = tokio::join!(
            self.rules_and_prefix_lists(&groups),
            self.grants(&secrets_part, &database),
            self.roles(role_arns),
            self.vpc_peerings(database_vpc.as_deref(), &other_vpcs),
            self.db_hardening(&database)
        );
        let (db_snapshots, db_parameters, ca_certificate) = db_hardening;
        let (security_group_rules, prefix_lists) = rules_and_lists;
        let bastions = match vpc_part.bastions {
            Collected::Ok(instances) if self.request.scope.discover => {
                Collected::Ok(crate::discover::bastions_by_role(
                    instances,
                    database.ok().and_then(Option::as_ref),
                    security_group_rules.ok().map(Vec::as_slice),
                    self.request.policy.ssh_port,
                    &self.request.policy.bastion_name,
                ))
            }
            other => other,
        };

        RegionInventory {
            region: self.region.clone(),
            vpc: vpc_part.vpc,
            subnets: vpc_part.subnets,
            endpoints: vpc_part.endpoints,
            bastions,
            database,
            security_group_rules,
            prefix_lists,
            secrets: secrets_part.secrets,
            missing_secrets: secrets_part.missing,
            failed_secrets: secrets_part.failed,
            functions: secrets_part.functions,
            secret_values: secrets_part.values,
            admin_secrets: secrets_part.admin_secrets,
            secret_policies: secrets_part.policies,
            key_policies: secrets_part.keys,
            grants,
            network_acls: vpc_part.network_acls,
            roles,
            db_snapshots,
            db_parameters,
            ca_certificate,
            default_security_group: vpc_part.default_security_group,
            vpc_peerings,
            discovered: None,
        }
    }

    /// The active peering connections between `database_vpc` and any of `others`
    /// (either side requester). No call when there are none to look for.
    async fn vpc_peerings(
        &self,
        database_vpc: Option<&str>,
        others: &BTreeSet<String>,
    ) -> Collected<Vec<VpcPeering>> {
        let Some(database_vpc) = database_vpc.filter(|_| !others.is_empty()) else {
            return Collected::Ok(Vec::new());
        };
        let call = &calls::EC2_DESCRIBE_VPC_PEERING_CONNECTIONS;
        let vpcs: Vec<String> = others
            .iter()
            .cloned()
            .chain([database_vpc.to_owned()])
            .collect();
        // Filtered here, not by the service: the few connections of an account
        // fit in a page or two, and every server reads them alike.
        let mut pages = self
            .clients
            .ec2
            .describe_vpc_peering_connections()
            .into_paginator()
            .send();
        let mut peerings = Vec::new();
        while let Some(page) = pages.next().await {
            self.log.record(call);
            match page {
                Ok(page) => {
                    peerings.extend(page.vpc_peering_connections().iter().filter_map(|p| {
                        let active = p.status().and_then(|s| s.code())
                            == Some(
                                &aws_sdk_ec2::types::VpcPeeringConnectionStateReasonCode::Active,
                            );
                        let peering = VpcPeering {
                            id: p.vpc_peering_connection_id()?.to_owned(),
                            requester_vpc: p.requester_vpc_info()?.vpc_id()?.to_owned(),
                            accepter_vpc: p.accepter_vpc_info()?.vpc_id()?.to_owned(),
                        };
                        (active
                            && vpcs.contains(&peering.requester_vpc)
                            && vpcs.contains(&peering.accepter_vpc))
                        .then_some(peering)
                    }));
                }
                Err(error) => return Collected::Failed(collection_error(call, &error)),
            }
        }
        Collected::Ok(peerings)
    }

    // ------------------------------------------------------------------ VPC

    async fn vpc_part(&self) -> VpcPart {
        let vpc = self.find_vpc().await;
        let Collected::Ok(Some((id, name, cidr))) = vpc else {
            fn reason<T, U>(vpc: &Collected<U>) -> Collected<T> {
                match vpc {
                    Collected::Failed(error) => Collected::Failed(error.clone()),
                    _ => Collected::Skipped("no VPC to read".to_owned()),
                }
            }
            return VpcPart {
                subnets: reason(&vpc),
                endpoints: reason(&vpc),
                network_acls: reason(&vpc),
                default_security_group: reason(&vpc),
                bastions: match &vpc {
                    Collected::Failed(error) => Collected::Failed(error.clone()),
                    _ => Collected::Ok(Vec::new()),
                },
                vpc: match vpc {
                    Collected::Failed(error) => Collected::Failed(error),
                    Collected::Skipped(reason) => Collected::Skipped(reason),
                    Collected::Ok(_) => Collected::Ok(None),
                },
            };
        };
        let (
            dns_hostnames,
            dns_support,
            subnets,
            endpoints,
            bastions,
            network_acls,
            default_security_group,
        ) = tokio::join!(
            self.vpc_attribute(&id, VpcAttributeName::EnableDnsHostnames),
            self.vpc_attribute(&id, VpcAttributeName::EnableDnsSupport),
            self.subnets(&id),
            self.endpoints(&id),
            self.bastions(&id),
            self.network_acls(&id),
            self.default_security_group(&id),
        );
        VpcPart {
            vpc: Collected::Ok(Some(Vpc {
                id,
                name,
                cidr_block: cidr,
                dns_hostnames,
                dns_support,
            })),
            subnets,
            endpoints,
            bastions,
            network_acls,
            default_security_group,
        }
    }

    async fn network_acls(&self, vpc: &str) -> Collected<Vec<NetworkAcl>> {
        let call = &calls::EC2_DESCRIBE_NETWORK_ACLS;
        let mut pages = self
            .clients
            .ec2
            .describe_network_acls()
            .filters(filter("vpc-id", [vpc]))
            .max_results(100)
            .into_paginator()
            .send();
        let mut acls = Vec::new();
        while let Some(page) = pages.next().await {
            self.log.record(call);
            match page {
                Ok(page) => acls.extend(page.network_acls().iter().map(|acl| {
                    NetworkAcl {
                        id: acl.network_acl_id().unwrap_or_default().to_owned(),
                        is_default: acl.is_default().unwrap_or(false),
                        subnet_ids: acl
                            .associations()
                            .iter()
                            .filter_map(|a| a.subnet_id().map(str::to_owned))
                            .collect(),
                        entries: acl
                            .entries()
                            .iter()
                            .map(|e| NetworkAclEntry {
                                rule_number: e.rule_number().unwrap_or(32767),
                                egress: e.egress().unwrap_or(false),
                                protocol: e.protocol().unwrap_or("-1").to_owned(),
                                action: e
                                    .rule_action()
                                    .map_or_else(|| "deny".to_owned(), |a| a.as_str().to_owned()),
                                cidr_ipv4: e.cidr_block().map(str::to_owned),
                                cidr_ipv6: e.ipv6_cidr_block().map(str::to_owned),
                                from_port: e
                                    .port_range()
                                    .and_then(aws_sdk_ec2::types::PortRange::from),
                                to_port: e.port_range().and_then(aws_sdk_ec2::types::PortRange::to),
                            })
                            .collect(),
                    }
                })),
                Err(error) => return Collected::Failed(collection_error(call, &error)),
            }
        }
        Collected::Ok(acls)
    }

    /// The VPC by `--vpc-id`, or by its `Name` tag (the project tag settles ties).
    async fn find_vpc(&self) -> Collected<Option<(String, Option<String>, Option<String>)>> {
        let call = &calls::EC2_DESCRIBE_VPCS;
        let policy = &self.request.policy;
        if self.request.scope.discover && self.request.scope.vpc_id.is_none() {
            // A discovered setup is never looked up by the policy's names.
            return Collected::Skipped("the setup's VPC is unknown".to_owned());
        }
        let mut operation = self.clients.ec2.describe_vpcs();
        operation = match &self.request.scope.vpc_id {
            Some(id) => operation.vpc_ids(id),
            None => operation.filters(filter("tag:Name", [policy.vpc_name.clone()])),
        };
        let mut pages = operation.into_paginator().send();
        let mut vpcs = Vec::new();
        while let Some(page) = pages.next().await {
            self.log.record(call);
            match page {
                Ok(page) => vpcs.extend(page.vpcs().iter().cloned()),
                Err(error) => return not_found_or_error(call, &error),
            }
        }
        if vpcs.len() > 1
            && let Some(tag) = &policy.project_tag
        {
            let tagged: Vec<_> = vpcs
                .iter()
                .filter(|v| tag_value(v.tags(), &tag.key) == Some(tag.value.as_str()))
                .cloned()
                .collect();
            if !tagged.is_empty() {
                vpcs = tagged;
            }
        }
        match vpcs.as_slice() {
            [] => Collected::Ok(None),
            [vpc] => Collected::Ok(Some((
                vpc.vpc_id().unwrap_or_default().to_owned(),
                tag_value(vpc.tags(), "Name").map(str::to_owned),
                vpc.cidr_block().map(str::to_owned),
            ))),
            many => Collected::Failed(CollectionError {
                action: call.action.to_owned(),
                access_denied: false,
                code: None,
                message: format!(
                    "{} VPCs are tagged Name={} ({}); pass --vpc-id to choose one",
                    many.len(),
                    policy.vpc_name,
                    many.iter()
                        .filter_map(|v| v.vpc_id())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }

    async fn vpc_attribute(&self, vpc: &str, attribute: VpcAttributeName) -> Collected<bool> {
        let call = &calls::EC2_DESCRIBE_VPC_ATTRIBUTE;
        self.log.record(call);
        match self
            .clients
            .ec2
            .describe_vpc_attribute()
            .vpc_id(vpc)
            .attribute(attribute.clone())
            .send()
            .await
        {
            Ok(output) => {
                let value = if attribute == VpcAttributeName::EnableDnsHostnames {
                    output.enable_dns_hostnames()
                } else {
                    output.enable_dns_support()
                };
                Collected::Ok(
                    value
                        .and_then(aws_sdk_ec2::types::AttributeBooleanValue::value)
                        .unwrap_or(false),
                )
            }
            Err(error) => Collected::Failed(collection_error(call, &error)),
        }
    }

    async fn subnets(&self, vpc: &str) -> Collected<Vec<Subnet>> {
        let call = &calls::EC2_DESCRIBE_SUBNETS;
        let mut pages = self
            .clients
            .ec2
            .describe_subnets()
            .filters(filter("vpc-id", [vpc]))
            .max_results(1000)
            .into_paginator()
            .send();
        let mut subnets = Vec::new();
        while let Some(page) = pages.next().await {
            self.log.record(call);
            match page {
                Ok(page) => subnets.extend(page.subnets().iter().map(|s| Subnet {
                    id: s.subnet_id().unwrap_or_default().to_owned(),
                    availability_zone: s.availability_zone().unwrap_or_default().to_owned(),
                    cidr_block: s.cidr_block().map(str::to_owned),
                })),
                Err(error) => return Collected::Failed(collection_error(call, &error)),
            }
        }
        Collected::Ok(subnets)
    }

    async fn endpoints(&self, vpc: &str) -> Collected<Vec<VpcEndpoint>> {
        let call = &calls::EC2_DESCRIBE_VPC_ENDPOINTS;
        let mut pages = self
            .clients
            .ec2
            .describe_vpc_endpoints()
            .filters(filter("vpc-id", [vpc]))
            .max_results(1000)
            .into_paginator()
            .send();
        let mut endpoints = Vec::new();
        while let Some(page) = pages.next().await {
            self.log.record(call);
            match page {
                Ok(page) => endpoints.extend(
                    page.vpc_endpoints()
                        .iter()
                        .filter(|e| e.vpc_id().is_none_or(|v| v == vpc))
                        .map(|e| VpcEndpoint {
                            id: e.vpc_endpoint_id().unwrap_or_default().to_owned(),
                            service_name: e.service_name().unwrap_or_default().to_owned(),
                            endpoint_type: e
                                .vpc_endpoint_type()
                                .map(|t| t.as_str().to_owned())
                                .unwrap_or_default(),
                            state: e.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                            private_dns_enabled: e.private_dns_enabled().unwrap_or(false),
                            subnet_ids: e.subnet_ids().to_vec(),
                            security_group_ids: e
                                .groups()
                                .iter()
                                .filter_map(|g| g.group_id().map(str::to_owned))
                                .collect(),
                            policy_document: e.policy_document().map(str::to_owned),
                        }),
                ),
                Err(error) => return Collected::Failed(collection_error(call, &error)),
            }
        }
        Collected::Ok(endpoints)
    }

    /// Every instance of the VPC with the bastion's name (not only the first); for a discovered setup, every
    /// instance of the VPC, whose bastions are then found by their role
    /// ([`crate::discover::bastions_by_role`]) once the groups' rules are read.
    async fn bastions(&self, vpc: &str) -> Collected<Vec<Instance>> {
        let call = &calls::EC2_DESCRIBE_INSTANCES;
        let mut operation = self
            .clients
            .ec2
            .describe_instances()
            .filters(filter("vpc-id", [vpc]));
        if !self.request.scope.discover {
            operation = operation.filters(filter(
                "tag:Name",
                [self.request.policy.bastion_name.clone()],
            ));
        }
        let mut pages = operation
            .filters(filter(
                "instance-state-name",
                ["pending", "running", "stopping", "stopped"],
            ))
            .into_paginator()
            .send();
        let mut instances = Vec::new();
        while let Some(page) = pages.next().await {
            self.log.record(call);
            match page {
                Ok(page) => instances.extend(
                    page.reservations()
                        .iter()
                        .flat_map(|r| r.instances().iter().cloned()),
                ),
                Err(error) => return Collected::Failed(collection_error(call, &error)),
            }
        }
        Collected::Ok(
            instances
                .iter()
                .map(|i| Instance {
                    id: i.instance_id().unwrap_or_default().to_owned(),
                    name: tag_value(i.tags(), "Name").map(str::to_owned),
                    state: i
                        .state()
                        .and_then(|s| s.name())
                        .map(|n| n.as_str().to_owned()),
                    subnet_id: i.subnet_id().map(str::to_owned),
                    security_group_ids: i
                        .security_groups()
                        .iter()
                        .filter_map(|g| g.group_id().map(str::to_owned))
                        .collect(),
                    public_ip: i.public_ip_address().map(str::to_owned),
                    http_tokens: i
                        .metadata_options()
                        .and_then(|m| m.http_tokens())
                        .map(|t| t.as_str().to_owned()),
                })
                .collect(),
        )
    }

    // ------------------------------------------------------------------ RDS

    async fn database(&self) -> Collected<Option<DbInstance>> {
        let call = &calls::RDS_DESCRIBE_DB_INSTANCES;
        if self.request.scope.db_instance_id.is_empty() {
            // Without an identifier DescribeDBInstances lists every instance.
            return Collected::Skipped("the setup's database is unknown".to_owned());
        }
        self.log.record(call);
        let output = match self
            .clients
            .rds
            .describe_db_instances()
            .db_instance_identifier(&self.request.scope.db_instance_id)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) => return not_found_or_error(call, &error),
        };
        let mut instance = output.db_instances().first().map(|db| {
            let group = db.db_subnet_group();
            DbInstance {
                id: db.db_instance_identifier().unwrap_or_default().to_owned(),
                arn: db.db_instance_arn().unwrap_or_default().to_owned(),
                engine: db.engine().map(str::to_owned),
                address: endpoint_of(db).0,
                port: endpoint_of(db).1,
                publicly_accessible: db.publicly_accessible(),
                security_group_ids: db
                    .vpc_security_groups()
                    .iter()
                    .filter_map(|g| g.vpc_security_group_id().map(str::to_owned))
                    .collect(),
                vpc_id: group.and_then(|g| g.vpc_id()).map(str::to_owned),
                subnets: group
                    .map(|g| {
                        g.subnets()
                            .iter()
                            .map(|s| Subnet {
                                cidr_block: None,
                                id: s.subnet_identifier().unwrap_or_default().to_owned(),
                                availability_zone: s
                                    .subnet_availability_zone()
                                    .and_then(|z| z.name())
                                    .unwrap_or_default()
                                    .to_owned(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                master_user_secret: db.master_user_secret().map(|s| MasterUserSecret {
                    arn: s.secret_arn().map(str::to_owned),
                    status: s.secret_status().map(str::to_owned),
                }),
                read_replicas: db.read_replica_db_instance_identifiers().to_vec(),
                storage_encrypted: db.storage_encrypted(),
                engine_version: db.engine_version().map(str::to_owned),
                cluster_id: db.db_cluster_identifier().map(str::to_owned),
                parameter_groups: db
                    .db_parameter_groups()
                    .iter()
                    .filter_map(|g| {
                        Some(crate::inventory::DbParameterGroupStatus {
                            name: g.db_parameter_group_name()?.to_owned(),
                            apply_status: g.parameter_apply_status().map(str::to_owned),
                        })
                    })
                    .collect(),
                ca_certificate_identifier: db.ca_certificate_identifier().map(str::to_owned),
                certificate_valid_till: to_time(
                    db.certificate_details().and_then(|c| c.valid_till()),
                ),
                master_username: db.master_username().map(str::to_owned),
                cluster_endpoints: Vec::new(),
                related_endpoints: Vec::new(),
                endpoints_unread: Vec::new(),
            }
        });
        if let Some(instance) = &mut instance {
            self.add_related_endpoints(instance).await;
        }
        Collected::Ok(instance)
    }

    // ------------------------------------------------------------------ Secrets

    async fn secrets_part(&self) -> SecretsPart {
        let (secrets, missing, failed) = if self.request.scope.all_secrets {
            let (secrets, missing) = self.list_secrets().await;
            (secrets, missing, Vec::new())
        } else {
            self.describe_named_secrets().await
        };
        let mut part = SecretsPart {
            policies: Vec::new(),
            secrets,
            missing,
            failed,
            functions: Vec::new(),
            values: Vec::new(),
            logins: HashMap::new(),
            other_logins: HashMap::new(),
            admin_secrets: Vec::new(),
            keys: Vec::new(),
        };
        if let Collected::Ok(secrets) = &mut part.secrets {
            for secret in secrets.iter_mut() {
                self.read_pending_date(secret).await;
            }
        }
        let Collected::Ok(secrets) = &part.secrets else {
            return part;
        };

        let function_arns: BTreeSet<String> = secrets
            .iter()
            .filter(|s| s.owning_service.is_none())
            .filter_map(|s| s.rotation_lambda_arn.clone())
            .collect();
        for arn in function_arns {
            let (configuration, policy, url_auth_type, reserved_concurrency) = tokio::join!(
                self.function_configuration(&arn),
                self.function_policy(&arn),
                self.function_url_auth_type(&arn),
                self.function_concurrency(&arn)
            );
            part.functions.push(FunctionRecord {
                arn,
                configuration,
                policy,
                url_auth_type,
                reserved_concurrency,
            });
        }

        let primary: Vec<String> = secrets
            .iter()
            .filter(|s| s.primary)
            .map(|s| s.arn.clone())
            .collect();
        // Secrets with a version staged AWSPREVIOUS apart from AWSCURRENT: the
        // previous credentials of an alternating pair name its other user. While a
        // rotation is under way (AWSPENDING apart from AWSCURRENT) that user is
        // named (reading a secret value logs in nowhere) but not logged in as: its
        // setSecret may already have given it the pending password, and a login
        // with the stale one counts against FAILED_LOGIN_ATTEMPTS (MySQL reference
        // manual, "Password Management": failed-login tracking and temporary
        // account locking; MariaDB's max_password_errors blocks until FLUSH
        // PRIVILEGES), which the audit, read-only, must never lock.
        let with_previous: Vec<String> = secrets
            .iter()
            .filter(|s| s.primary && s.staged_apart("AWSPREVIOUS"))
            .map(|s| s.arn.clone())
            .collect();
        let pending: Vec<String> = secrets
            .iter()
            .filter(|s| s.primary && s.staged_apart("AWSPENDING"))
            .map(|s| s.arn.clone())
            .collect();
        for arn in &primary {
            let policy = self.secret_policy(arn).await;
            part.policies.push(SecretPolicyRecord {
                secret_arn: arn.clone(),
                policy,
            });
        }
        for arn in primary {
            if !self.request.scope.read_secrets {
                continue;
            }
            let (facts, login) = self.secret_value(&arn, None).await;
            if let Some(login) = login {
                let (previous, pending) = (with_previous.contains(&arn), pending.contains(&arn));
                if let Some(other) = self
                    .other_user(&arn, &login.username, previous, pending)
                    .await
                {
                    part.other_logins.insert(arn.clone(), other);
                }
                part.logins.insert(arn.clone(), login);
            }
            if let Collected::Ok(SecretFacts {
                masterarn: Some(masterarn),
                ..
            }) = &facts
                && !part.admin_secrets.iter().any(|a| &a.arn == masterarn)
            {
                let mut secret = self.describe_secret(masterarn).await;
                if let Collected::Ok(Some(secret)) = &mut secret {
                    self.read_pending_date(secret).await;
                    // Its resource policy decides the rotation role's calls on it
                    // as the application secret's does (checks::secret_rotation_function_role).
                    if !part.policies.iter().any(|p| p.secret_arn == secret.arn) {
                        let policy = self.secret_policy(&secret.arn).await;
                        part.policies.push(SecretPolicyRecord {
                            secret_arn: secret.arn.clone(),
                            policy,
                        });
                    }
                }
                part.admin_secrets.push(AdminSecretRecord {
                    arn: masterarn.clone(),
                    secret,
                });
            }
            part.values.push(SecretValueRecord {
                secret_arn: arn,
                facts,
            });
        }
        part.keys = self.key_policies(&part).await;
        part
    }

    /// The customer managed keys of the audited secrets and of their `masterarn`
    /// secrets, each described once with its key policy. The AWS managed key
    /// `aws/secretsmanager` is left out: `DescribeSecret` omits `KmsKeyId` for it
    /// and its policy is AWS's (Secrets Manager API reference, `KmsKeyId`).
    async fn key_policies(&self, part: &SecretsPart) -> Vec<KeyPolicyRecord> {
        let audited = part.secrets.ok().into_iter().flatten();
        let admins = part.admin_secrets.iter().filter_map(|a| match &a.secret {
            Collected::Ok(Some(secret)) => Some(secret),
            _ => None,
        });
        // Each key with the account of the secret it encrypts (the audited one).
        let ids: BTreeMap<String, Option<String>> = audited
            .chain(admins)
            .filter_map(|s| {
                let home = s.arn.split(':').nth(4).map(str::to_owned);
                Some((s.kms_key_id.clone()?, home))
            })
            .filter(|(k, _)| !k.ends_with("alias/aws/secretsmanager"))
            .collect();
        let mut keys = Vec::new();
        for (key_id, home) in ids {
            let key = self.key(&key_id, home.as_deref()).await;
            keys.push(KeyPolicyRecord { key_id, key });
        }
        keys
    }

    /// A key as `DescribeKey` finds it (an alias resolved to the key's ARN), with
    /// its key policy (`GetKeyPolicy` takes a key id or ARN and the only policy name
    /// `default`: KMS API reference, GetKeyPolicy,
    /// https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyPolicy.html).
    ///
    /// A key of another account than `home` (the secret's) is described but its
    /// policy is not asked for: GetKeyPolicy is not allowed across accounts (KMS
    /// API reference, GetKeyPolicy: "Cross-account use: No"), while
    /// GetKeyRotationStatus is by key ARN ("Cross-account use: Yes. To perform
    /// this operation on a KMS key in a different AWS account, specify the key
    /// ARN").
    async fn key(&self, key_id: &str, home: Option<&str>) -> Collected<Option<KeyRecord>> {
        let call = &calls::KMS_DESCRIBE_KEY;
        self.log.record(call);
        let metadata = match self.clients.kms.describe_key().key_id(key_id).send().await {
            Ok(output) => output.key_metadata().cloned(),
            Err(error) if error.code() == Some("NotFoundException") => return Collected::Ok(None),
            Err(error) => return Collected::Failed(collection_error(call, &error)),
        };
        let Some(metadata) = metadata else {
            return Collected::Ok(None);
        };
        let arn = metadata.arn().unwrap_or(metadata.key_id()).to_owned();
        let aws_managed = metadata.key_manager() == Some(&aws_sdk_kms::types::KeyManagerType::Aws);
        let key_state = metadata.key_state().map(|s| s.as_str().to_owned());
        let account = metadata
            .aws_account_id()
            .map(str::to_owned)
            .or_else(|| arn.split(':').nth(4).map(str::to_owned));
        let foreign = account.as_deref().zip(home).filter(|(a, h)| a != h);
        let policy = if aws_managed {
            Collected::Skipped("an AWS managed key: its key policy is AWS's".to_owned())
        } else if let Some((owner, _)) = foreign {
            Collected::Skipped(format!(
                "a key of account {owner}: GetKeyPolicy is not allowed across accounts"
            ))
        } else {
            let call = &calls::KMS_GET_KEY_POLICY;
            self.log.record(call);
            match self
                .clients
                .kms
                .get_key_policy()
                .key_id(&arn)
                .policy_name("default")
                .send()
                .await
            {
                Ok(output) => Collected::Ok(output.policy().unwrap_or_default().to_owned()),
                Err(error) => Collected::Failed(collection_error(call, &error)),
            }
        };
        let rotation_enabled = if aws_managed {
            Collected::Skipped("an AWS managed key: AWS rotates it every year".to_owned())
        } else {
            let call = &calls::KMS_GET_KEY_ROTATION_STATUS;
            self.log.record(call);
            match self
                .clients
                .kms
                .get_key_rotation_status()
                .key_id(&arn)
                .send()
                .await
            {
                Ok(output) => Collected::Ok(output.key_rotation_enabled()),
                Err(error) => Collected::Failed(collection_error(call, &error)),
            }
        };
        Collected::Ok(Some(KeyRecord {
            arn,
            account,
            aws_managed,
            key_state,
            policy,
            rotation_enabled,
        }))
    }

    async fn secret_policy(&self, arn: &str) -> Collected<Option<String>> {
        let call = &calls::SECRETSMANAGER_GET_RESOURCE_POLICY;
        self.log.record(call);
        match self
            .clients
            .secrets
            .get_resource_policy()
            .secret_id(arn)
            .send()
            .await
        {
            Ok(output) => Collected::Ok(
                output
                    .resource_policy()
                    .filter(|p| !p.trim().is_empty())
                    .map(str::to_owned),
            ),
            Err(error) => not_found_or_error(call, &error),
        }
    }

    async fn describe_secret(&self, id: &str) -> Collected<Option<Secret>> {
        let call = &calls::SECRETSMANAGER_DESCRIBE_SECRET;
        self.log.record(call);
        match self
            .clients
            .secrets
            .describe_secret()
            .secret_id(id)
            .send()
            .await
        {
            Ok(output) => Collected::Ok(Some(secret_from!(&output, version_ids_to_stages))),
            Err(error) => not_found_or_error(call, &error),
        }
    }

    /// For a secret with a version staged `AWSPENDING` apart from `AWSCURRENT`, when
    /// that version was created (one `ListSecretVersionIds` call, only for such
    /// secrets): a rotation within its window is in progress, not stuck.
    async fn read_pending_date(&self, secret: &mut Secret) {
        let pending = secret
            .versions_to_stages
            .iter()
            .find(|(_, stages)| {
                stages.iter().any(|s| s == "AWSPENDING")
                    && !stages.iter().any(|s| s == "AWSCURRENT")
            })
            .map(|(id, _)| id.clone());
        let Some(pending) = pending else {
            return;
        };
        let call = &calls::SECRETSMANAGER_LIST_SECRET_VERSION_IDS;
        let mut pages = self
            .clients
            .secrets
            .list_secret_version_ids()
            .secret_id(&secret.arn)
            .max_results(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            self.log.record(call);
            match page {
                Ok(page) => {
                    if let Some(version) = page
                        .versions()
                        .iter()
                        .find(|v| v.version_id() == Some(pending.as_str()))
                    {
                        secret.pending_created_date = to_time(version.created_date());
                        return;
                    }
                }
                Err(error) => {
                    let error = collection_error(call, &error);
                    tracing::warn!("secret {}: {}", secret.name, error.describe());
                    secret.pending_date_error = Some(error);
                    return;
                }
            }
        }
    }

    /// The named secrets; one that fails to load is recorded on its own and does
    /// not discard the ones already read.
    async fn describe_named_secrets(
        &self,
    ) -> (Collected<Vec<Secret>>, Vec<String>, Vec<FailedSecret>) {
        let mut secrets = Vec::new();
        let mut missing = Vec::new();
        let mut failed = Vec::new();
        for id in &self.request.scope.secret_ids {
            match self.describe_secret(id).await {
                Collected::Ok(Some(mut secret)) => {
                    secret.primary = true;
                    secrets.push(secret);
                }
                Collected::Ok(None) => missing.push(id.clone()),
                Collected::Failed(error) => failed.push(FailedSecret {
                    id: id.clone(),
                    error,
                }),
                Collected::Skipped(reason) => return (Collected::Skipped(reason), missing, failed),
            }
        }
        (Collected::Ok(secrets), missing, failed)
    }

    /// Every secret of the region, 100 a page; the named ones are marked primary.
    async fn list_secrets(&self) -> (Collected<Vec<Secret>>, Vec<String>) {
        let call = &calls::SECRETSMANAGER_LIST_SECRETS;
        let mut pages = self
            .clients
            .secrets
            .list_secrets()
            .max_results(100)
            .into_paginator()
            .send();
        let mut secrets = Vec::new();
        while let Some(page) = pages.next().await {
            self.log.record(call);
            match page {
                Ok(page) => secrets.extend(
                    page.secret_list()
                        .iter()
                        .map(|entry| secret_from!(entry, secret_versions_to_stages)),
                ),
                Err(error) => {
                    return (
                        Collected::Failed(collection_error(call, &error)),
                        Vec::new(),
                    );
                }
            }
        }
        let mut missing = Vec::new();
        for id in &self.request.scope.secret_ids {
            let mut found = false;
            for secret in &mut secrets {
                if &secret.name == id
                    || &secret.arn == id
                    || secret.arn.starts_with(&format!("{id}-"))
                {
                    secret.primary = true;
                    found = true;
                }
            }
            if !found {
                missing.push(id.clone());
            }
        }
        (Collected::Ok(secrets), missing)
    }

    /// The other user of the alternating pair whose current user is `current`,
    /// by name only (no login here; see [`Self::other_user_grants`]): as the
    /// secret's `AWSPREVIOUS` version names it (`previous`; see [`other_of`]), an
    /// error when that version could not be read; else, while a first rotation is
    /// under way or stuck (`pending`), the clone `AWSPENDING` names.
    async fn other_user(
        &self,
        arn: &str,
        current: &str,
        previous: bool,
        pending: bool,
    ) -> Option<OtherUser> {
        if previous {
            return match self.secret_value(arn, Some("AWSPREVIOUS")).await {
                (Collected::Ok(facts), _) => other_of(
                    current,
                    facts.username.as_deref(),
                    facts.host.as_deref(),
                    pending,
                ),
                (Collected::Failed(error), _) => Some(OtherUser::Unread(CollectionError {
                    message: format!(
                        "the AWSPREVIOUS version of secret {arn} (the other user of the pair) could not be read: {}",
                        error.message
                    ),
                    ..error
                })),
                (Collected::Skipped(_), _) => None,
            };
        }
        if !pending {
            return None;
        }
        // A pending version without a value yet (before createSecret) cannot be
        // read: nothing is named.
        match self.secret_value(arn, Some("AWSPENDING")).await {
            (Collected::Ok(facts), _) => facts
                .username
                .filter(|name| *name == alternate_user(current))
                .map(OtherUser::FirstRotation),
            _ => None,
        }
    }

    async fn secret_value(
        &self,
        arn: &str,
        stage: Option<&str>,
    ) -> (Collected<SecretFacts>, Option<DbLogin>) {
        let (facts, login, _) = self.secret_version(arn, stage).await;
        (facts, login)
    }

    /// [`Self::secret_value`] with the `VersionId` of the version read.
    async fn secret_version(
        &self,
        arn: &str,
        stage: Option<&str>,
    ) -> (Collected<SecretFacts>, Option<DbLogin>, Option<String>) {
        let call = &calls::SECRETSMANAGER_GET_SECRET_VALUE;
        self.log.record(call);
        match self
            .clients
            .secrets
            .get_secret_value()
            .secret_id(arn)
            .set_version_stage(stage.map(str::to_owned))
            .send()
            .await
        {
            Ok(output) => {
                let id = output.version_id().map(str::to_owned);
                let (facts, login) = match output.secret_string().map(parse_secret_value) {
                    Some(Ok((facts, login))) => (Collected::Ok(facts), login),
                    Some(Err(message)) => (
                        Collected::Failed(CollectionError {
                            action: call.action.to_owned(),
                            access_denied: false,
                            code: None,
                            message: format!("secret {arn}: {message}"),
                        }),
                        None,
                    ),
                    None => (
                        Collected::Failed(CollectionError {
                            action: call.action.to_owned(),
                            access_denied: false,
                            code: None,
                            message: format!(
                                "secret {arn} has no SecretString; expected the RDS credentials JSON"
                            ),
                        }),
                        None,
                    ),
                };
                (facts, login, id)
            }
            Err(error) => (
                Collected::Failed(collection_error(call, &error)),
                None,
                None,
            ),
        }
    }

    async fn function_configuration(&self, arn: &str) -> Collected<Option<FunctionConfiguration>> {
        let call = &calls::LAMBDA_GET_FUNCTION_CONFIGURATION;
        self.log.record(call);
        match self
            .clients
            .lambda
            .get_function_configuration()
            .function_name(arn)
            .send()
            .await
        {
            Ok(output) => {
                let vpc = output.vpc_config();
                Collected::Ok(Some(FunctionConfiguration {
                    name: output.function_name().unwrap_or_default().to_owned(),
                    arn: output.function_arn().unwrap_or(arn).to_owned(),
                    vpc_id: vpc
                        .and_then(|v| v.vpc_id())
                        .filter(|v| !v.is_empty())
                        .map(str::to_owned),
                    subnet_ids: vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default(),
                    security_group_ids: vpc
                        .map(|v| v.security_group_ids().to_vec())
                        .unwrap_or_default(),
                    state: output.state().map(|s| s.as_str().to_owned()),
                    last_update_status: output.last_update_status().map(|s| s.as_str().to_owned()),
                    role: output.role().map(str::to_owned),
                    runtime: output.runtime().map(|r| r.as_str().to_owned()),
                    package_type: output.package_type().map(|p| p.as_str().to_owned()),
                    // Names and shapes only: a value may be a secret, and the
                    // inventory never holds one.
                    environment: output
                        .environment()
                        .and_then(|e| e.variables())
                        .map(|variables| {
                            // Sorted: the inventory is the same from run to run.
                            variables
                                .iter()
                                .collect::<BTreeMap<_, _>>()
                                .into_iter()
                                .map(|(name, value)| EnvironmentVariable {
                                    name: name.clone(),
                                    value: ValueShape::of(value),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                }))
            }
            Err(error) => not_found_or_error(call, &error),
        }
    }

    async fn function_policy(&self, arn: &str) -> Collected<Option<String>> {
        let call = &calls::LAMBDA_GET_POLICY;
        self.log.record(call);
        match self
            .clients
            .lambda
            .get_policy()
            .function_name(arn)
            .send()
            .await
        {
            Ok(output) => Collected::Ok(output.policy().map(str::to_owned)),
            Err(error) => not_found_or_error(call, &error),
        }
    }

    async fn function_concurrency(&self, arn: &str) -> Collected<Option<i32>> {
        let call = &calls::LAMBDA_GET_FUNCTION_CONCURRENCY;
        self.log.record(call);
        match self
            .clients
            .lambda
            .get_function_concurrency()
            .function_name(arn)
            .send()
            .await
        {
            Ok(output) => Collected::Ok(output.reserved_concurrent_executions()),
            Err(error) => not_found_or_error(call, &error),
        }
    }

    async fn function_url_auth_type(&self, arn: &str) -> Collected<Option<String>> {
        let call = &calls::LAMBDA_GET_FUNCTION_URL_CONFIG;
        self.log.record(call);
        match self
            .clients
            .lambda
            .get_function_url_config()
            .function_name(arn)
            .send()
            .await
        {
            Ok(output) => Collected::Ok(Some(output.auth_type().as_str().to_owned())),
            Err(error) => not_found_or_error(call, &error),
        }
    }

    // ------------------------------------------------------------------ Security groups

    // ------------------------------------------------------------------ IAM

    async fn roles(&self, arns: BTreeSet<String>) -> Vec<RoleRecord> {
        let mut roles = Vec::new();
        for arn in arns {
            // The role's name is the ARN's last path segment (`role/path/name`).
            let name = arn.rsplit('/').next().unwrap_or(&arn).to_owned();
            let (inline_policies, attached_policies, permissions_boundary) = tokio::join!(
                self.inline_policies(&name),
                self.attached_policies(&name),
                self.permissions_boundary(&name)
            );
            roles.push(RoleRecord {
                arn,
                inline_policies,
                attached_policies,
                permissions_boundary,
            });
        }
        roles
    }

    async fn inline_policies(&self, role: &str) -> Collected<Vec<PolicyDocument>> {
        let call = &calls::IAM_LIST_ROLE_POLICIES;
        let mut pages = self
            .clients
            .iam
            .list_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        let mut names = Vec::new();
        while let Some(page) = pages.next().await {
            self.log.record(call);
            match page {
                Ok(page) => names.extend(page.policy_names().iter().cloned()),
                Err(error) => return Collected::Failed(collection_error(call, &error)),
            }
        }
        let call = &calls::IAM_GET_ROLE_POLICY;
        let mut documents = Vec::new();
        for name in names {
            self.log.record(call);
            match self
                .clients
                .iam
                .get_role_policy()
                .role_name(role)
                .policy_name(&name)
                .send()
                .await
            {
                Ok(output) => documents.push(PolicyDocument {
                    name: format!("inline policy {name}"),
                    document: crate::iam_eval::decode_policy_document(output.policy_document()),
                }),
                Err(error) => return Collected::Failed(collection_error(call, &error)),
            }
        }
        Collected::Ok(documents)
    }

    async fn attached_policies(&self, role: &str) -> Collected<Vec<PolicyDocument>> {
        let call = &calls::IAM_LIST_ATTACHED_ROLE_POLICIES;
        let mut pages = self
            .clients
            .iam
            .list_attached_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        let mut arns = Vec::new();
        while let Some(page) = pages.next().await {
            self.log.record(call);
            match page {
                Ok(page) => arns.extend(
                    page.attached_policies()
                        .iter()
                        .filter_map(|p| p.policy_arn().map(str::to_owned)),
                ),
                Err(error) => return Collected::Failed(collection_error(call, &error)),
            }
        }
        let mut documents = Vec::new();
        for arn in arns {
            match self.managed_policy(&arn, "managed policy").await {
                Ok(document) => documents.push(document),
                Err(error) => return Collected::Failed(error),
            }
        }
        Collected::Ok(documents)
    }

    /// The role's permissions boundary, when it has one (`GetRole`), as a document.
    async fn permissions_boundary(&self, role: &str) -> Collected<Option<PolicyDocument>> {
        let call = &calls::IAM_GET_ROLE;
        self.log.record(call);
        let boundary = match self.clients.iam.get_role().role_name(role).send().await {
            Ok(output) => output
                .role()
                .and_then(|r| r.permissions_boundary())
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_owned),
            Err(error) => return Collected::Failed(collection_error(call, &error)),
        };
        let Some(arn) = boundary else {
            return Collected::Ok(None);
        };
        match self.managed_policy(&arn, "permissions boundary").await {
            Ok(document) => Collected::Ok(Some(document)),
            Err(error) => Collected::Failed(error),
        }
    }

    /// A managed policy's default version (`GetPolicy`, `GetPolicyVersion`), named
    /// `<kind> <arn>` in messages.
    async fn managed_policy(
        &self,
        arn: &str,
        kind: &str,
    ) -> Result<PolicyDocument, CollectionError> {
        let call = &calls::IAM_GET_POLICY;
        self.log.record(call);
        let version = match self.clients.iam.get_policy().policy_arn(arn).send().await {
            Ok(output) => output
                .policy()
                .and_then(|p| p.default_version_id())
                .unwrap_or("v1")
                .to_owned(),
            Err(error) => return Err(collection_error(call, &error)),
        };
        let call = &calls::IAM_GET_POLICY_VERSION;
        self.log.record(call);
        match self
            .clients
            .iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(&version)
            .send()
            .await
        {
            Ok(output) => Ok(PolicyDocument {
                name: format!("{kind} {arn}"),
                document: crate::iam_eval::decode_policy_document(
                    output
                        .policy_version()
                        .and_then(|v| v.document())
                        .unwrap_or_default(),
                ),
            }),
            Err(error) => Err(collection_error(call, &error)),
        }
    }

    async fn rules_and_prefix_lists(
        &self,
        groups: &BTreeSet<String>,
    ) -> (Collected<Vec<SecurityGroupRule>>, Vec<PrefixList>) {
        let mut rules = self.security_group_rules(groups).await;
        // The groups those rules admit from: a referenced group that is itself
        // open to the internet opens the bastion too. One more filtered read.
        if let Collected::Ok(first) = &rules {
            let referenced: BTreeSet<String> = first
                .iter()
                .filter(|r| !r.is_egress)
                .filter_map(|r| r.referenced_group_id.clone())
                .filter(|g| !groups.contains(g))
                .collect();
            if !referenced.is_empty() {
                match self.security_group_rules(&referenced).await {
                    Collected::Ok(more) => {
                        if let Collected::Ok(all) = &mut rules {
                            all.extend(more);
                        }
                    }
                    failed => rules = failed,
                }
            }
        }
        let mut lists = Vec::new();
        if let Collected::Ok(rules) = &rules {
            // Both directions: an inbound rule's source and an outbound rule's
            // destination (the rotation function's way out to the database or an
            // endpoint) may each be a prefix list.
            let ids: BTreeSet<&str> = rules
                .iter()
                .filter_map(|r| r.prefix_list_id.as_deref())
                .collect();
            for id in ids {
                lists.push(PrefixList {
                    id: id.to_owned(),
                    entries: self.prefix_list_entries(id).await,
                });
            }
        }
        (rules, lists)
    }

    /// Rules of the given groups only: `group-id` filter (at most 200 values a
    /// filter, so larger sets are read in chunks), 1000 rules a page.
    async fn security_group_rules(
        &self,
        groups: &BTreeSet<String>,
    ) -> Collected<Vec<SecurityGroupRule>> {
        let call = &calls::EC2_DESCRIBE_SECURITY_GROUP_RULES;
        let groups: Vec<&String> = groups.iter().collect();
        let mut rules = Vec::new();
        for chunk in groups.chunks(200) {
            let mut pages = self
                .clients
                .ec2
                .describe_security_group_rules()
                .filters(filter("group-id", chunk.iter().map(|g| (*g).clone())))
                .max_results(1000)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                self.log.record(call);
                match page {
                    Ok(page) => rules.extend(page.security_group_rules().iter().map(|r| {
                        SecurityGroupRule {
                            id: r.security_group_rule_id().unwrap_or_default().to_owned(),
                            group_id: r.group_id().unwrap_or_default().to_owned(),
                            is_egress: r.is_egress().unwrap_or(false),
                            ip_protocol: r.ip_protocol().unwrap_or("-1").to_owned(),
                            from_port: r.from_port(),
                            to_port: r.to_port(),
                            cidr_ipv4: r.cidr_ipv4().map(str::to_owned),
                            cidr_ipv6: r.cidr_ipv6().map(str::to_owned),
                            prefix_list_id: r.prefix_list_id().map(str::to_owned),
                            referenced_group_id: r
                                .referenced_group_info()
                                .and_then(|g| g.group_id())
                                .map(str::to_owned),
                            referenced_group_owner: r
                                .referenced_group_info()
                                .and_then(|g| g.user_id())
                                .map(str::to_owned),
                            referenced_group_vpc: r
                                .referenced_group_info()
                                .and_then(|g| g.vpc_id())
                                .map(str::to_owned),
                            referenced_group_peering: r
                                .referenced_group_info()
                                .and_then(|g| g.peering_status().or(g.vpc_peering_connection_id()))
                                .map(str::to_owned),
                            description: r.description().map(str::to_owned),
                        }
                    })),
                    Err(error) => return Collected::Failed(collection_error(call, &error)),
                }
            }
        }
        // Keep only the groups asked for, whatever the server's filter support.
        rules.retain(|r| groups.iter().any(|g| **g == r.group_id));
        Collected::Ok(rules)
    }

    async fn prefix_list_entries(&self, id: &str) -> Collected<Vec<String>> {
        let call = &calls::EC2_GET_MANAGED_PREFIX_LIST_ENTRIES;
        let mut pages = self
            .clients
            .ec2
            .get_managed_prefix_list_entries()
            .prefix_list_id(id)
            .max_results(100)
            .into_paginator()
            .send();
        let mut entries = Vec::new();
        while let Some(page) = pages.next().await {
            self.log.record(call);
            match page {
                Ok(page) => entries.extend(
                    page.entries()
                        .iter()
                        .filter_map(|e| e.cidr().map(str::to_owned)),
                ),
                Err(error) => return Collected::Failed(collection_error(call, &error)),
            }
        }
        Collected::Ok(entries)
    }

    // ------------------------------------------------------------------ Database grants

    async fn grants(
        &self,
        part: &SecretsPart,
        database: &Collected<Option<DbInstance>>,
    ) -> Vec<GrantsRecord> {
        let endpoints = login_endpoints(database);
        let mut records = Vec::new();
        for value in &part.values {
            let Some(login) = part.logins.get(&value.secret_arn) else {
                if let Collected::Ok(_) = value.facts {
                    records.push(GrantsRecord {
                        secret_arn: value.secret_arn.clone(),
                        account: None,
                        tls: None,
                        other_user: None,
                        roles: Vec::new(),
                        rows: Collected::Failed(CollectionError {
                            action: "mysql:SHOW GRANTS".to_owned(),
                            access_denied: false,
                            code: None,
                            message: format!(
                                "secret {}: keys `username` and `password` are required to log in",
                                value.secret_arn
                            ),
                        }),
                    });
                }
                continue;
            };
            let (mut record, lockout) = self.grants_of(&value.secret_arn, login, &endpoints).await;
            if let Some(other) = part.other_logins.get(&value.secret_arn) {
                record.other_user = Some(
                    self.other_user_grants(&value.secret_arn, login, other, &endpoints, lockout)
                        .await,
                );
            }
            records.push(record);
        }
        records
    }

    /// Grant rows of the session's active roles (SELECT held through a default
    /// role counts); none when there is no role or the server has no roles.
    async fn role_grants(&self, connection: &mut MySqlConnection) -> Vec<String> {
        let Ok(row) = sqlx::query("SELECT VERSION(), CURRENT_ROLE()")
            .fetch_one(&mut *connection)
            .await
        else {
            return Vec::new();
        };
        let version = text_of(&row, 0).unwrap_or_default();
        let Some(statement) = role_grants_statement(&version, text_of(&row, 1).as_deref()) else {
            return Vec::new();
        };
        match sqlx::query(sqlx::AssertSqlSafe(statement))
            .fetch_all(&mut *connection)
            .await
        {
            Ok(rows) => rows
                .iter()
                .filter_map(|row| text_of(row, 0))
                .map(|row| redact_grant(&row))
                .collect(),
            Err(error) => {
                tracing::warn!("reading the grants of the session's roles: {error}");
                Vec::new()
            }
        }
    }
    /// A session logged in as `login` for reading its grants, in the audit's own
    /// sql_mode, with the host and port it reached; on failure, the action and the
    /// message of the record's error.
    async fn grants_session(
        &self,
        secret_arn: &str,
        login: &DbLogin,
        endpoints: &LoginEndpoints,
    ) -> Result<(MySqlConnection, String, u16), (&'static str, String)> {
        let (host, port) = match (&self.request.db_endpoint, &login.host) {
            // A tunnel the auditor opened: the secret's host is not dialled.
            (Some((host, port)), _) => (host.clone(), *port),
            (None, Some(host)) => {
                if let Some(refusal) =
                    endpoint_refusal(host, login.port, endpoints, self.request.scope.discover)
                {
                    return Err(("mysql:connect", format!("secret {secret_arn}: {refusal}")));
                }
                (host.clone(), login.port)
            }
            (None, None) => {
                return Err((
                    "mysql:connect",
                    format!("secret {secret_arn} has no `host` key; pass --db-endpoint HOST:PORT"),
                ));
            }
        };
        let mut options = MySqlConnectOptions::new()
            .host(&host)
            .port(port)
            .username(&login.username)
            .password(login.password.expose());
        let tunnelled = self.request.db_endpoint.is_some();
        let insecure = self.request.policy.insecure_db_tls;
        options = match tls_mode(login.ssl, tunnelled, insecure) {
            Ok(mode) => options.ssl_mode(mode),
            Err(refusal) => {
                return Err(("mysql:connect", format!("secret {secret_arn}: {refusal}")));
            }
        };
        if let Some(bundle) = &self.request.db_ca_bundle {
            options = options.ssl_ca(bundle);
        }
        let connection = tokio::time::timeout(
            Duration::from_secs(15),
            MySqlConnection::connect_with(&options),
        )
        .await;
        let mut connection = match connection {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) if pair::login_refused(&error) => {
                return Err((
                    pair::LOGIN_REFUSED,
                    format!(
                        "the server at {host}:{port} refused the password of user {}: {error}",
                        crate::inventory::shown_user(&login.username)
                    ),
                ));
            }
            Ok(Err(error)) => {
                return Err((
                    "mysql:connect",
                    login_failed(&login.username, &host, port, &error),
                ));
            }
            Err(_) => {
                return Err((
                    "mysql:connect",
                    format!(
                        "connecting to {host}:{port} timed out; pass --db-endpoint HOST:PORT through a tunnel"
                    ),
                ));
            }
        };
        // The server's sql_mode may hold ANSI_QUOTES (a parameter group with `ANSI`),
        // under which SHOW GRANTS quotes names with `"` (MySQL reference manual,
        // "Server SQL Modes"); sqlx only appends to the mode. A session mode of the
        // audit's own makes every grant row print as the checks read it, as the
        // rotator's session does (`rotator::sql::SESSION_SETUP`).
        if let Err(error) = sqlx::query("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'")
            .execute(&mut connection)
            .await
        {
            return Err((
                "mysql:SET SESSION sql_mode",
                format!(
                    "setting the session's sql_mode as {} failed: {error}",
                    login.username
                ),
            ));
        }
        Ok((connection, host, port))
    }

    async fn grants_of(
        &self,
        secret_arn: &str,
        login: &DbLogin,
        endpoints: &LoginEndpoints,
    ) -> (GrantsRecord, Lockout) {
        let failed = |action: &str, message: String| GrantsRecord {
            secret_arn: secret_arn.to_owned(),
            account: None,
            tls: None,
            other_user: None,
            roles: Vec::new(),
            rows: Collected::Failed(if action == pair::LOGIN_REFUSED {
                CollectionError {
                    action: "mysql:connect".to_owned(),
                    access_denied: false,
                    code: Some(pair::LOGIN_REFUSED.to_owned()),
                    message,
                }
            } else {
                CollectionError {
                    action: action.to_owned(),
                    access_denied: false,
                    code: None,
                    message,
                }
            }),
        };
        let (mut connection, host, port) =
            match self.grants_session(secret_arn, login, endpoints).await {
                Ok(session) => session,
                // Not logged in: the other user's login is no more likely to count.
                Err((action, message)) => return (failed(action, message), Lockout::Never),
            };
        let account = sqlx::query("SELECT CURRENT_USER()")
            .fetch_one(&mut connection)
            .await
            .ok()
            .and_then(|row| text_of(&row, 0));
        let tls = sqlx::query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            .fetch_optional(&mut connection)
            .await
            .ok()
            .flatten()
            .and_then(|row| text_of(&row, 1))
            .map(|cipher| {
                if cipher.is_empty() {
                    "plaintext".to_owned()
                } else {
                    format!("TLS ({cipher})")
                }
            });
        let lockout = lockout(&mut connection, &login.username).await;
        let mut roles = Vec::new();
        let rows = match sqlx::query("SHOW GRANTS").fetch_all(&mut connection).await {
            Ok(rows) => {
                let mut rows: Vec<String> = rows
                    .iter()
                    .filter_map(|row| text_of(row, 0))
                    .map(|row| redact_grant(&row))
                    .collect();
                rows.extend(self.role_grants(&mut connection).await);
                // Last: on MariaDB it changes the session's role.
                roles = granted_role_grants(&mut connection, &rows).await;
                Collected::Ok(rows)
            }
            Err(error) => Collected::Failed(CollectionError {
                action: "mysql:SHOW GRANTS".to_owned(),
                access_denied: false,
                code: None,
                message: format!(
                    "SHOW GRANTS as {} failed: {error}",
                    crate::inventory::shown_user(&login.username)
                ),
            }),
        };
        connection.close().await.ok();
        tracing::info!(
            secret = secret_arn,
            host,
            port,
            tls = tls.as_deref().unwrap_or("unknown"),
            "read grants"
        );
        let record = GrantsRecord {
            secret_arn: secret_arn.to_owned(),
            account,
            tls,
            rows,
            roles,
            other_user: None,
        };
        (record, lockout)
    }
}

/// Why logging in as `username` (a secret's, quoted and cut: [`crate::inventory::shown_user`])
/// failed, other than a refused password.
fn login_failed(username: &str, host: &str, port: u16, error: &dyn fmt::Display) -> String {
    format!(
        "logging in as {} at {host}:{port} failed: {error}; if the database is reachable only through the bastion, open a tunnel and pass --db-endpoint HOST:PORT",
        crate::inventory::shown_user(username)
    )
}

/// Whether a failed login as the other user of the pair could help lock it, as
/// far as the current user's session can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lockout {
    /// Failed logins lock nothing.
    Never,
    /// The current user's options lock the account after failed logins (both
    /// `FAILED_LOGIN_ATTEMPTS` and `PASSWORD_LOCK_TIME` nonzero), as clauses;
    /// setSecret gives the other user the same options.
    Options(String),
    /// MariaDB's server-wide `max_password_errors`, when finite.
    MaxPasswordErrors(u64),
    /// The current user's account options could not be read: why.
    Unread(String),
}

/// MariaDB's `max_password_errors` when it limits nothing: "Maximum Value
/// 4294967295, Default Value 4294967295" (MariaDB Server System Variables,
/// <https://mariadb.com/kb/en/server-system-variables/#max_password_errors>).
const UNLIMITED_PASSWORD_ERRORS: u64 = 4_294_967_295;

/// The session user's lockout: its `SHOW CREATE USER CURRENT_USER()` (no
/// privilege needed for one's own account: MySQL reference manual, "SHOW CREATE
/// USER Statement", <https://dev.mysql.com/doc/refman/8.0/en/show-create-user.html>),
/// read as the rotator reads it (`permissions::grants::options_from_create_user`:
/// MySQL locks only when `FAILED_LOGIN_ATTEMPTS` and `PASSWORD_LOCK_TIME` are both
/// nonzero, "Failed-Login Tracking and Temporary Account Locking",
/// <https://dev.mysql.com/doc/refman/8.0/en/password-management.html>), and
/// MariaDB 10.4.2+'s `@@global.max_password_errors` ("If there is more than this
/// number of failed connect attempts due to invalid password, user will be blocked
/// from further connections until FLUSH_PRIVILEGES",
/// <https://mariadb.com/kb/en/server-system-variables/#max_password_errors>), which
/// any session may read; MySQL has no such variable, and its error means "not
/// MariaDB". The statement's text holds the password hash: it is parsed here and
/// never kept or logged.
async fn lockout(connection: &mut MySqlConnection, username: &str) -> Lockout {
    let create_user = match sqlx::query("SHOW CREATE USER CURRENT_USER()")
        .fetch_all(&mut *connection)
        .await
    {
        Ok(rows) => Ok(rows
            .iter()
            .filter_map(|row| text_of(row, 0))
            .collect::<Vec<_>>()
            .join(" ")),
        Err(error) => Err(format!("SHOW CREATE USER CURRENT_USER() failed: {error}")),
    };
    let max_password_errors = sqlx::query("SELECT CAST(@@global.max_password_errors AS CHAR)")
        .fetch_optional(&mut *connection)
        .await
        .ok()
        .flatten()
        .and_then(|row| text_of(&row, 0));
    lockout_of(username, create_user, max_password_errors.as_deref())
}

/// [`lockout`]'s rule: `create_user` is the `SHOW CREATE USER` text or why it was
/// not read, `max_password_errors` MariaDB's variable (`None`: not MariaDB).
/// ATTRIBUTE or COMMENT free text after the options leaves them unread, as in the
/// rotator (their text could be made to look like an option).
fn lockout_of(
    username: &str,
    create_user: Result<String, String>,
    max_password_errors: Option<&str>,
) -> Lockout {
    let options = create_user.and_then(|text| {
        permissions::grants::options_from_create_user(&text, true).ok_or_else(|| {
            "its SHOW CREATE USER text did not parse, or carries an ATTRIBUTE or COMMENT clause whose free text could hide FAILED_LOGIN_ATTEMPTS".to_owned()
        })
    });
    match options {
        Err(why) => {
            return Lockout::Unread(format!(
                "could not read user {}'s account options ({why})",
                crate::inventory::shown_user(username)
            ));
        }
        Ok(options) if options.failed_login_limit().is_some() => {
            return Lockout::Options(format!(
                "{} {}",
                options.failed_login_attempts, options.password_lock_time
            ));
        }
        Ok(_) => {}
    }
    match max_password_errors.map(|value| value.trim().parse::<u64>()) {
        None | Some(Ok(UNLIMITED_PASSWORD_ERRORS)) => Lockout::Never,
        Some(Ok(limit)) => Lockout::MaxPasswordErrors(limit),
        Some(Err(_)) => Lockout::Unread(format!(
            "could not read the server's max_password_errors ('{}')",
            max_password_errors
                .unwrap_or_default()
                .chars()
                .take(20)
                .collect::<String>()
        )),
    }
}

/// The other user of an alternating pair, as the rotator names it.
pub use permissions::alternate_user;

/// The grants of every role granted to the session's user (and the roles those
/// roles hold), active or not: a role that is not active is one `SET ROLE` away
/// for whoever holds the password. MySQL reference manual, "SHOW GRANTS
/// Statement": "SHOW GRANTS requires the SELECT privilege for the mysql system
/// schema, except to display privileges and roles for the current user", and
/// `USING role` names roles granted to the user; so MySQL reads
/// `SHOW GRANTS FOR CURRENT_USER() USING role`. MariaDB knowledge base,
/// "SHOW GRANTS" (Roles): "SHOW GRANTS can also be used to view the privileges
/// granted to a role", but `SHOW GRANTS FOR role` of a role that is not active
/// is refused without SELECT on `mysql` (seen against the emulator's MariaDB), so
/// MariaDB makes the role current (`SET ROLE`, which any granted role allows:
/// MariaDB knowledge base, "SET ROLE") and reads `SHOW GRANTS FOR CURRENT_ROLE`.
/// The connection is closed afterwards. A role whose rows cannot be read is
/// kept with its error: the check then cannot prove least privilege.
/// How many roles' grants [`granted_role_grants`] reads for one user.
pub(crate) const MAX_ROLES_READ: usize = 32;

async fn granted_role_grants(connection: &mut MySqlConnection, rows: &[String]) -> Vec<RoleGrants> {
    let version = match sqlx::query("SELECT VERSION()")
        .fetch_one(&mut *connection)
        .await
    {
        Ok(row) => text_of(&row, 0).unwrap_or_default(),
        Err(_) => String::new(),
    };
    let mut pending = granted_roles(rows);
    let mut done: Vec<RoleGrants> = Vec::new();
    while let Some(role) = pending.pop() {
        if done.iter().any(|r| r.role == role) {
            continue; // a cycle, or a role granted twice
        }
        // A bound on nested roles: a huge graph must not stall the audit. A role
        // past it is kept unread, so the check says least privilege is not proven
        // rather than judging the first roles only.
        if done.len() >= MAX_ROLES_READ {
            done.push(RoleGrants {
                role: role.clone(),
                rows: Collected::Failed(CollectionError {
                    action: "mysql:SHOW GRANTS".to_owned(),
                    access_denied: false,
                    code: None,
                    message: format!(
                        "role {role} not read: the audit reads the grants of at most {MAX_ROLES_READ} roles per user"
                    ),
                }),
            });
            continue;
        }
        let mut read = Ok(Vec::new());
        for statement in role_statements(&version, &role) {
            read = sqlx::query(sqlx::AssertSqlSafe(statement))
                .fetch_all(&mut *connection)
                .await;
            if read.is_err() {
                break;
            }
        }
        let rows = match read {
            Ok(rows) => {
                let rows: Vec<String> = rows
                    .iter()
                    .filter_map(|row| text_of(row, 0))
                    .map(|row| redact_grant(&row))
                    .collect();
                pending.extend(granted_roles(&rows));
                Collected::Ok(rows)
            }
            Err(error) => Collected::Failed(CollectionError {
                action: "mysql:SHOW GRANTS".to_owned(),
                access_denied: false,
                code: None,
                message: format!("reading the grants of role {role} failed: {error}"),
            }),
        };
        done.push(RoleGrants { role, rows });
    }
    done
}

/// The roles that `SHOW GRANTS` rows grant: rows `GRANT <role>[, <role>] TO ...`
/// without ` ON ` (MySQL prints `` `dba`@`%` ``, MariaDB `` `dba` ``).
pub fn granted_roles(rows: &[String]) -> Vec<String> {
    let mut roles = Vec::new();
    for row in rows {
        let trimmed = row.trim();
        let upper = trimmed.to_ascii_uppercase();
        if !upper.starts_with("GRANT ") || upper.contains(" ON ") {
            continue;
        }
        let Some(to) = upper.rfind(" TO ") else {
            continue;
        };
        let mut quoted = false;
        let mut current = String::new();
        for c in trimmed[6..to].chars() {
            match c {
                '`' | '\'' => quoted = !quoted,
                ',' if !quoted => {
                    roles.push(current.trim().to_owned());
                    current.clear();
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
        if !current.trim().is_empty() {
            roles.push(current.trim().to_owned());
        }
    }
    roles
}

/// The statements that list one granted role's privileges, the last one's rows
/// being them (see [`granted_role_grants`]).
pub fn role_statements(version: &str, role: &str) -> Vec<String> {
    if version.contains("MariaDB") {
        vec![
            format!("SET ROLE {role}"),
            "SHOW GRANTS FOR CURRENT_ROLE".to_owned(),
        ]
    } else {
        vec![format!("SHOW GRANTS FOR CURRENT_USER() USING {role}")]
    }
}

/// How the audit logs in with the application's password. It is sent only over
/// TLS whose certificate is verified (the CA bundle given, else the public roots)
/// and, unless through a tunnel (where the host name cannot match), whose host
/// name matches: sqlx's `Preferred` accepts any certificate and falls back to
/// plaintext (sqlx `MySqlSslMode` docs), so it is used only with
/// `--insecure-db-tls`, as is the plaintext a secret's `"ssl": false` asks for.
pub fn tls_mode(
    ssl: Option<bool>,
    tunnelled: bool,
    insecure: bool,
) -> Result<MySqlSslMode, String> {
    let verified = if tunnelled {
        MySqlSslMode::VerifyCa
    } else {
        MySqlSslMode::VerifyIdentity
    };
    match (ssl, insecure) {
        (Some(true), _) | (None, false) => Ok(verified),
        (None, true) => Ok(MySqlSslMode::Preferred),
        (Some(false), true) => Ok(MySqlSslMode::Disabled),
        (Some(false), false) => Err("key `ssl` is false (plaintext); the audit sends the password only over verified TLS: pass --insecure-db-tls to log in without TLS, or set `ssl` to true".to_owned()),
    }
}

/// The statement that lists the privileges of the session's active (default)
/// roles, from `SELECT VERSION(), CURRENT_ROLE()`: MySQL 8 names them quoted
/// (`` `r`@`%` ``, comma-separated) and expands them with `SHOW GRANTS FOR
/// CURRENT_USER() USING ...`; MariaDB names one role bare and lists it with
/// `SHOW GRANTS FOR role`. `None` without an active role.
pub fn role_grants_statement(version: &str, current_role: Option<&str>) -> Option<String> {
    let role = current_role
        .map(str::trim)
        .filter(|r| !r.is_empty() && !r.eq_ignore_ascii_case("NONE"))?;
    if version.contains("MariaDB") {
        Some(format!("SHOW GRANTS FOR `{}`", role.replace('`', "``")))
    } else {
        Some(format!("SHOW GRANTS FOR CURRENT_USER() USING {role}"))
    }
}

/// A text column, whether the server sends it as text or bytes.
fn text_of(row: &sqlx::mysql::MySqlRow, index: usize) -> Option<String> {
    row.try_get::<String, _>(index).ok().or_else(|| {
        row.try_get::<Vec<u8>, _>(index)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_denied_is_recognised_across_services() {
        for code in [
            "AccessDenied",
            "AccessDeniedException",
            "UnauthorizedOperation",
        ] {
            assert!(is_access_denied(Some(code), ""), "{code}");
        }
        assert!(!is_access_denied(Some("ResourceNotFoundException"), ""));
        assert!(is_access_denied(
            None,
            "User: arn:aws:iam::1:user/x is not authorized to perform: ec2:DescribeVpcs"
        ));
        assert!(!is_access_denied(None, "connection refused"));
    }

    #[test]
    fn errors_are_classified_by_code_and_message() {
        // Refused credentials are not a missing permission.
        assert!(!is_access_denied(Some("AuthFailure"), ""));
        assert!(!is_access_denied(Some("ExpiredToken"), ""));
        let expired = CollectionError {
            action: "ec2:DescribeVpcs".to_owned(),
            access_denied: false,
            code: Some("AuthFailure".to_owned()),
            message: "AWS was not able to validate the provided access credentials".to_owned(),
        };
        let text = expired.describe();
        assert!(
            text.contains("credentials were refused") && text.contains("clock"),
            "{text}"
        );
        assert!(!text.contains("grant"), "{text}");
        // A KMS denial behind GetSecretValue names kms:Decrypt.
        let get = "secretsmanager:GetSecretValue";
        let cases = [
            (
                Some("AccessDeniedException"),
                "Access to KMS is not allowed",
                "kms:Decrypt",
            ),
            (
                Some("DecryptionFailure"),
                "Secrets Manager can't decrypt the protected secret text using the provided KMS key",
                "kms:Decrypt",
            ),
            (
                Some("AccessDeniedException"),
                "User: arn:aws:sts::1:assumed-role/a is not authorized to perform: kms:Decrypt",
                "kms:Decrypt",
            ),
            (
                Some("AccessDeniedException"),
                "User: x is not authorized to perform: secretsmanager:GetSecretValue",
                get,
            ),
        ];
        for (code, message, action) in cases {
            assert_eq!(failed_action(get, code, message), action, "{message}");
        }
        assert_eq!(
            failed_action("ec2:DescribeVpcs", Some("AccessDenied"), "KMS"),
            "ec2:DescribeVpcs"
        );
    }

    #[test]
    fn only_a_kms_permission_denial_behind_get_secret_value_is_access_denied() {
        let get = "secretsmanager:GetSecretValue";
        // (code, message, access denied, words of the description)
        let cases = [
            (
                "AccessDeniedException",
                "Access to KMS is not allowed",
                true,
                "access denied to kms:Decrypt: grant the auditor's role `kms:Decrypt`",
            ),
            (
                "DecryptionFailure",
                "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
                false,
                "kms:Decrypt failed: the secret's KMS key refused to decrypt (disabled, pending deletion, or the key policy): check the key's state with kms:DescribeKey",
            ),
        ];
        for (code, message, denied, words) in cases {
            let error = classified_error(get, Some(code.to_owned()), message.to_owned());
            assert_eq!(error.action, "kms:Decrypt", "{code}");
            assert_eq!(error.access_denied, denied, "{code}");
            let text = error.describe();
            assert!(text.starts_with(words), "{code}: {text}");
            if !denied {
                assert!(!text.contains("grant the auditor"), "{text}");
            }
        }
    }

    #[test]
    fn the_password_goes_only_over_verified_tls_unless_insecure_is_asked() {
        use MySqlSslMode::{Disabled, Preferred, VerifyCa, VerifyIdentity};
        let cases = [
            (Some(true), false, false, Ok(VerifyIdentity)),
            (Some(true), true, false, Ok(VerifyCa)),
            (None, false, false, Ok(VerifyIdentity)),
            (None, true, false, Ok(VerifyCa)),
            (None, false, true, Ok(Preferred)),
            (Some(false), false, true, Ok(Disabled)),
            (Some(false), false, false, Err(())),
        ];
        for (ssl, tunnelled, insecure, expected) in cases {
            let got = tls_mode(ssl, tunnelled, insecure);
            match expected {
                Ok(mode) => assert!(
                    matches!(&got, Ok(m) if std::mem::discriminant(m) == std::mem::discriminant(&mode)),
                    "{ssl:?} {tunnelled} {insecure}: {got:?}"
                ),
                Err(()) => assert!(
                    got.as_ref().is_err_and(|e| e.contains("--insecure-db-tls")),
                    "{ssl:?}: {got:?}"
                ),
            }
        }
    }

    #[test]
    fn every_granted_role_is_read_per_server() {
        let rows: Vec<String> = [
            "GRANT USAGE ON *.* TO `appuser`@`%`",
            "GRANT `dba`@`%`,`read,er`@`%` TO `appuser`@`%`",
            "GRANT `journalist` TO `appuser`@`%` WITH ADMIN OPTION",
            "GRANT SELECT ON `tutorial`.* TO `appuser`@`%`",
            "grant 'lower' to 'appuser'@'%'",
        ]
        .iter()
        .map(|r| (*r).to_owned())
        .collect();
        assert_eq!(
            granted_roles(&rows),
            ["`dba`@`%`", "`read,er`@`%`", "`journalist`", "'lower'"]
        );
        assert_eq!(
            role_statements("8.0.36", "`dba`@`%`"),
            ["SHOW GRANTS FOR CURRENT_USER() USING `dba`@`%`"]
        );
        assert_eq!(
            role_statements("10.11.6-MariaDB", "`journalist`"),
            ["SET ROLE `journalist`", "SHOW GRANTS FOR CURRENT_ROLE"]
        );
    }

    #[test]
    fn a_failed_login_names_the_user_escaped_and_cut() {
        let long = "u".repeat(40);
        for (username, shown) in [
            ("app", "logging in as \"app\" at"),
            ("a\nb", "logging in as \"a\\nb\" at"),
            (
                long.as_str(),
                &format!("logging in as \"{}\"… at", "u".repeat(32)),
            ),
        ] {
            let message = login_failed(username, "db.example", 3306, &"timed out");
            assert!(message.starts_with(shown), "{message}");
        }
    }

    #[test]
    fn the_other_user_is_not_logged_in_as_when_a_failed_login_could_lock_it() {
        let create = |options: &str| {
            Ok(format!(
                "CREATE USER `app`@`%` IDENTIFIED WITH 'caching_sha2_password' AS '<hash>' REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK{options}"
            ))
        };
        let locks = |options: &str| Lockout::Options(options.to_owned());
        let unread = |why: &str| {
            Lockout::Unread(format!(
                "could not read user \"app\"'s account options ({why})"
            ))
        };
        let not_parsed = "its SHOW CREATE USER text did not parse, or carries an ATTRIBUTE or COMMENT clause whose free text could hide FAILED_LOGIN_ATTEMPTS";
        // (SHOW CREATE USER, @@global.max_password_errors, expected)
        let table = [
            (
                create(" FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME UNBOUNDED"),
                None,
                locks("FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME UNBOUNDED"),
            ),
            (
                create(" FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME 2"),
                None,
                locks("FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME 2"),
            ),
            // Tracked but never locked: MySQL locks only when both are nonzero.
            (
                create(" FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME 0"),
                None,
                Lockout::Never,
            ),
            (
                create(" FAILED_LOGIN_ATTEMPTS 0 PASSWORD_LOCK_TIME 0"),
                None,
                Lockout::Never,
            ),
            (create(""), None, Lockout::Never),
            // Free text after the options, or text that does not parse: unread.
            (
                create(" FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME 2 COMMENT 'x'"),
                None,
                unread(not_parsed),
            ),
            (
                create(" ATTRIBUTE '{\"n\": \"FAILED_LOGIN_ATTEMPTS 0\"}'"),
                None,
                unread(not_parsed),
            ),
            (
                Ok("CREATE USER `app`@`%` REQUIRE SUBJECT '/O=O'Reilly'".to_owned()),
                None,
                unread(not_parsed),
            ),
            (Ok(String::new()), None, unread(not_parsed)),
            (
                Err("SHOW CREATE USER CURRENT_USER() failed: denied".to_owned()),
                None,
                unread("SHOW CREATE USER CURRENT_USER() failed: denied"),
            ),
            // MariaDB: no such clause; its server-wide limit, unlimited by default.
            (
                Ok("CREATE USER `app`@`%` IDENTIFIED BY PASSWORD '<hash>'".to_owned()),
                Some("4294967295"),
                Lockout::Never,
            ),
            (
                Ok("CREATE USER `app`@`%` IDENTIFIED BY PASSWORD '<hash>'".to_owned()),
                Some("5"),
                Lockout::MaxPasswordErrors(5),
            ),
            (
                Ok("CREATE USER `app`@`%`".to_owned()),
                Some("x"),
                Lockout::Unread("could not read the server's max_password_errors ('x')".to_owned()),
            ),
        ];
        for (create_user, max, expected) in table {
            let shown = format!("{create_user:?} {max:?}");
            assert_eq!(lockout_of("app", create_user, max), expected, "{shown}");
        }
    }

    #[test]
    fn the_other_user_of_the_pair_is_named_as_the_rotator_names_it() {
        for (name, other) in [
            ("appuser", "appuser_clone"),
            ("appuser_clone", "appuser"),
            ("_clone", "_clone_clone"),
        ] {
            assert_eq!(alternate_user(name), other, "{name}");
        }
        let versions = |pairs: &[(&str, &[&str])]| {
            pairs
                .iter()
                .map(|(v, stages)| {
                    (
                        (*v).to_owned(),
                        stages.iter().map(|s| (*s).to_owned()).collect(),
                    )
                })
                .collect::<std::collections::BTreeMap<String, Vec<String>>>()
        };
        let previous = |v: &_| crate::inventory::staged_apart_from_current(v, "AWSPREVIOUS");
        let pending = |v: &_| crate::inventory::staged_apart_from_current(v, "AWSPENDING");
        assert!(previous(&versions(&[
            ("a", &["AWSCURRENT"]),
            ("b", &["AWSPREVIOUS"])
        ])));
        assert!(!previous(&versions(&[("a", &["AWSCURRENT"])])));
        assert!(!previous(&versions(&[(
            "a",
            &["AWSCURRENT", "AWSPREVIOUS"]
        )])));
        // A rotation under way: the other user may already hold the pending password.
        assert!(pending(&versions(&[
            ("a", &["AWSCURRENT"]),
            ("b", &["AWSPREVIOUS"]),
            ("c", &["AWSPENDING"])
        ])));
        assert!(!pending(&versions(&[
            ("a", &["AWSCURRENT", "AWSPENDING"]),
            ("b", &["AWSPREVIOUS"])
        ])));
    }

    #[test]
    fn role_grants_are_listed_per_server() {
        assert_eq!(role_grants_statement("8.0.36", Some("NONE")), None);
        assert_eq!(role_grants_statement("10.11.6-MariaDB", None), None);
        assert_eq!(
            role_grants_statement("8.0.36", Some("`reader`@`%`")).as_deref(),
            Some("SHOW GRANTS FOR CURRENT_USER() USING `reader`@`%`")
        );
        assert_eq!(
            role_grants_statement("10.11.6-MariaDB-0+deb12u1", Some("read`er")).as_deref(),
            Some("SHOW GRANTS FOR `read``er`")
        );
    }

    #[test]
    fn not_found_codes_are_not_errors() {
        assert!(is_not_found(Some("ResourceNotFoundException")));
        assert!(is_not_found(Some("DBInstanceNotFound")));
        assert!(!is_not_found(Some("AccessDenied")));
        assert!(!is_not_found(None));
    }

    #[test]
    fn secret_values_keep_only_non_sensitive_keys() {
        let (facts, login) = parse_secret_value(
            r#"{"engine":"mysql","host":"db.example","username":"appuser","password":"p@ss","dbname":"tutorial","port":"3307","masterarn":"arn:admin","ssl":"true"}"#,
        )
        .expect("parse");
        assert_eq!(facts.port, Some(3307));
        assert_eq!(facts.ssl, Some(true));
        assert_eq!(facts.masterarn.as_deref(), Some("arn:admin"));
        let login = login.expect("login");
        assert_eq!(login.password.expose(), "p@ss");
        assert!(!format!("{login:?}").contains("p@ss"));
        assert!(
            !serde_json::to_string(&facts)
                .expect("json")
                .contains("p@ss")
        );
        let (facts, login) = parse_secret_value(r#"{"username":"u"}"#).expect("parse");
        assert!(login.is_none());
        assert_eq!(facts.ssl, None);
        let error = parse_secret_value("p@ss").expect_err("not JSON");
        assert!(!error.contains("p@ss"), "the error must not echo the value");
    }
}
