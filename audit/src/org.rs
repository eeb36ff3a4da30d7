//! Auditing many accounts at once: `--accounts`, `--organization`, `--regions all`.
//!
//! Why it is shaped this way:
//! - **The per-account audit is the single-account one.** Each account is reached
//!   with `sts:AssumeRole` into one role name (`--role-name`, default
//!   `OrganizationAccountAccessRole`, the role Organizations creates in every
//!   account it makes; Organizations user guide, "Accessing member accounts"), and
//!   each of its regions is collected by [`crate::collect()`] with an SDK
//!   configuration holding the assumed role's credentials. Checks and reports do
//!   not know that more than one account exists, except that every finding names
//!   its account.
//! - **An account that cannot be reached is a finding, not a failed run.** A role
//!   that refuses to be assumed (missing, or a trust policy that does not trust
//!   the auditor), or a denied `DescribeRegions`, becomes one ERROR row naming the
//!   account and the reason; every other account is still audited.
//! - **Concurrent, but bounded per account.** Every account and every region runs
//!   at once, so 100 accounts × 4 regions take the time of the slowest few; the
//!   HTTP client of one account holds a semaphore with `--max-concurrency` permits,
//!   so no account sees more calls in flight than that, and the SDK's adaptive
//!   retry mode slows down on throttling instead of failing.
//! - **Input is checked before any call.** Account ids, region names, role names
//!   and external ids are validated by the pure functions below (table-tested), so
//!   a typo is a usage error, not 100 failed AssumeRole calls.
//!
//! The evidence of a run over several accounts is one [`OrgInventory`] file: each
//! account's [`Inventory`] (the single-account format) or the reason it could not
//! be read. [`parse_evidence`] reads either kind of file.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_ec2::error::ProvideErrorMetadata as _;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::calls;
use crate::checks::{CheckDefinition, Finding, Severity, Status, partition};
use crate::collect::{CollectRequest, collection_error};
use crate::inventory::{CollectionError, Inventory};
use crate::policy::Policy;

pub use crate::calls::DEFAULT_ROLE_NAME;
/// `format` of an organisation inventory file.
pub const ORG_INVENTORY_FORMAT: &str = "audit-organization-inventory";
/// Calls in flight per account unless `--max-concurrency` says otherwise.
pub const DEFAULT_MAX_CONCURRENCY: usize = 8;
/// The region of an account-level finding (the account could not be reached).
pub const ACCOUNT_REGION: &str = "global";

/// Which accounts to audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accounts {
    /// The account of the credentials, as before (no AssumeRole).
    Caller,
    /// `--accounts 111111111111,222222222222`.
    List(Vec<String>),
    /// `--organization`: every active account from Organizations ListAccounts.
    Organization,
}

/// Which regions of each account to audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Regions {
    /// The configuration's region (`AWS_REGION`, the profile's).
    Default,
    /// `--regions all`: the account's enabled regions (`ec2:DescribeRegions`).
    All,
    /// Named regions.
    List(Vec<String>),
}

/// `--accounts`: comma-separated 12-digit account ids, duplicates dropped.
pub fn parse_account_ids(text: &str) -> Result<Vec<String>, String> {
    let mut ids: Vec<String> = Vec::new();
    for part in text.split(',') {
        let id = part.trim();
        if id.is_empty() {
            return Err(format!(
                "--accounts {text:?}: an empty entry; pass account ids separated by commas, e.g. 111111111111,222222222222"
            ));
        }
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "--accounts: {id:?} is not an AWS account id; an account id is 12 digits, e.g. 111111111111"
            ));
        }
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    }
    Ok(ids)
}

/// Whether `name` has the shape of an AWS region name (`us-east-1`, `us-gov-west-1`,
/// `ap-southeast-3`, `cn-north-1`): two letters, words, and a number.
pub fn is_region_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let Some((last, rest)) = parts.split_last() else {
        return false;
    };
    parts.len() >= 3
        && rest[0].len() == 2
        && rest
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && (1..=2).contains(&last.len())
        && last.bytes().all(|b| b.is_ascii_digit())
}

/// The regions from `--region` (repeatable, as before) and `--regions` (`all` or
/// a comma-separated list); naming both is an error.
pub fn parse_regions(repeated: &[String], listed: Option<&str>) -> Result<Regions, String> {
    let names: Vec<String> = match (repeated.is_empty(), listed) {
        (true, None) => return Ok(Regions::Default),
        (false, Some(_)) => {
            return Err(
                "--region and --regions both given; pass the regions once, e.g. --regions us-east-1,eu-west-1"
                    .to_owned(),
            );
        }
        (true, Some(text)) if text.trim().eq_ignore_ascii_case("all") => return Ok(Regions::All),
        (true, Some(text)) => text.split(',').map(|r| r.trim().to_owned()).collect(),
        (false, None) => repeated.iter().map(|r| r.trim().to_owned()).collect(),
    };
    let mut regions: Vec<String> = Vec::new();
    for name in names {
        if name.eq_ignore_ascii_case("all") {
            return Err(
                "--regions: `all` cannot be combined with named regions; pass --regions all alone"
                    .to_owned(),
            );
        }
        if !is_region_name(&name) {
            return Err(format!(
                "{name:?} is not an AWS region name; expected e.g. us-east-1, eu-west-1 or all"
            ));
        }
        if !regions.contains(&name) {
            regions.push(name);
        }
    }
    Ok(Regions::List(regions))
}

/// `--role-name`: an IAM role name (1–64 of `A-Za-z0-9+=,.@_-`), optionally behind a path (`audit/ReadOnly`).
pub fn validate_role_name(name: &str) -> Result<(), String> {
    let last = name.rsplit('/').next().unwrap_or_default();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    if name.starts_with('/')
        || name.ends_with('/')
        || last.is_empty()
        || last.len() > 64
        || name.len() > 512
        || !name.chars().all(|c| allowed(c) || c == '/')
    {
        return Err(format!(
            "--role-name {name:?} is not an IAM role name; a role name is 1 to 64 of A-Z a-z 0-9 + = , . @ _ - (optionally after a path such as audit/)"
        ));
    }
    Ok(())
}

/// `--external-id`: 2–1224 of `A-Za-z0-9+=,.@:/_-` (STS AssumeRole API reference, `ExternalId`).
pub fn validate_external_id(id: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "+=,.@:/_-".contains(c);
    if !(2..=1224).contains(&id.len()) || !id.chars().all(allowed) {
        return Err(
            "--external-id is not a valid external id: 2 to 1224 of A-Z a-z 0-9 + = , . @ : / _ -"
                .to_owned(),
        );
    }
    Ok(())
}

/// `arn:<partition>:iam::<account>:role/<name>`.
pub fn role_arn(partition: &str, account: &str, role_name: &str) -> String {
    format!("arn:{partition}:iam::{account}:role/{role_name}")
}

/// Whether Organizations reports an account as active: `State` when present
/// (ListAccounts' newer field), else the older `Status`.
pub fn is_active(status: Option<&str>, state: Option<&str>) -> bool {
    state.or(status) == Some("ACTIVE")
}

/// An account to audit: its id, its name when Organizations gave one, and whether
/// it is the caller's own (audited with the caller's credentials, no AssumeRole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub account_id: String,
    pub name: Option<String>,
    pub own: bool,
}

/// The accounts to audit, in order: the listed ones, without the caller's own
/// account unless `include_self` (then first, audited with the caller's credentials).
pub fn targets(
    listed: &[(String, Option<String>)],
    caller_account: &str,
    include_self: bool,
) -> Vec<Target> {
    let mut out = Vec::new();
    if include_self {
        let name = listed
            .iter()
            .find(|(id, _)| id == caller_account)
            .and_then(|(_, name)| name.clone());
        out.push(Target {
            account_id: caller_account.to_owned(),
            name,
            own: true,
        });
    }
    for (id, name) in listed {
        if id != caller_account && !out.iter().any(|t| &t.account_id == id) {
            out.push(Target {
                account_id: id.clone(),
                name: name.clone(),
                own: false,
            });
        }
    }
    out
}

/// Who ran the audit (`sts:GetCallerIdentity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    pub account_id: String,
    pub arn: String,
}

/// One account of an organisation inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub account_id: String,
    /// The account's name in Organizations, when listed from it.
    pub name: Option<String>,
    /// The role assumed; `None` for the caller's own account (its own credentials).
    pub role_arn: Option<String>,
    pub outcome: AccountOutcome,
}

/// What became of one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountOutcome {
    /// Collected: the single-account inventory.
    Collected(Box<Inventory>),
    /// Not reached (AssumeRole refused, DescribeRegions denied): one ERROR finding.
    Unreachable(CollectionError),
}

/// The evidence of a run over several accounts: one file for all of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgInventory {
    /// Always [`ORG_INVENTORY_FORMAT`]: tells this file from a single-account one.
    pub format: String,
    pub tool: String,
    pub version: String,
    #[serde(with = "time::serde::rfc3339")]
    pub collected_at: OffsetDateTime,
    pub caller: Caller,
    pub role_name: String,
    pub accounts: Vec<AccountRecord>,
}

impl OrgInventory {
    /// HTTP requests over every account.
    pub fn api_requests(&self) -> u64 {
        self.accounts
            .iter()
            .filter_map(|a| match &a.outcome {
                AccountOutcome::Collected(inventory) => Some(inventory.metadata.api_requests),
                AccountOutcome::Unreachable(_) => None,
            })
            .sum()
    }
}

/// A saved inventory of either kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Evidence {
    Single(Box<Inventory>),
    Organization(OrgInventory),
}

/// Reads a file written by `--save-inventory`: an organisation inventory, or a
/// single-account one (the format of earlier versions, still written for one account).
pub fn parse_evidence(text: &str) -> Result<Evidence, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    match value.get("format").and_then(serde_json::Value::as_str) {
        Some(ORG_INVENTORY_FORMAT) => serde_json::from_value(value)
            .map(Evidence::Organization)
            .map_err(|e| format!("an organisation inventory that does not read: {e}")),
        Some(other) => Err(format!(
            "format {other:?} is not one this audit reads ({ORG_INVENTORY_FORMAT}, or a single-account inventory)"
        )),
        None if value.get("metadata").is_some() && value.get("regions").is_some() => {
            serde_json::from_value(value)
                .map(|i| Evidence::Single(Box::new(i)))
                .map_err(|e| format!("a single-account inventory that does not read: {e}"))
        }
        None => Err(
            "neither a single-account inventory (`metadata`, `regions`) nor an organisation inventory (`format`, `accounts`)"
                .to_owned(),
        ),
    }
}

/// The check an unreachable account fails.
pub const ACCOUNT_REACHABLE: CheckDefinition = CheckDefinition {
    id: "account.reachable",
    title: "The auditor can assume its role in the account",
    severity: Severity::High,
    resource_type: "AwsIamRole",
    remediation: "Create the role in the account (or pass --role-name) with a trust policy that allows the auditor's principal to call sts:AssumeRole (with sts:ExternalId when --external-id is used), and grant it the policy of `audit --print-policy`",
    compliance: &[],
    references: &[
        "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access-cross-account-role.html",
    ],
};

/// Findings of every account: each collected account's checks, with its id, and
/// one ERROR finding per account that could not be reached.
pub fn evaluate_organization(org: &OrgInventory, policy: &Policy) -> Vec<Finding> {
    let mut findings = Vec::new();
    for account in &org.accounts {
        match &account.outcome {
            AccountOutcome::Collected(inventory) => {
                for mut finding in crate::checks::evaluate(inventory, policy) {
                    finding
                        .account_id
                        .get_or_insert_with(|| account.account_id.clone());
                    findings.push(finding);
                }
            }
            AccountOutcome::Unreachable(error) => {
                findings.push(unreachable_finding(account, error));
            }
        }
    }
    findings
}

fn unreachable_finding(account: &AccountRecord, error: &CollectionError) -> Finding {
    let definition = &ACCOUNT_REACHABLE;
    let resource = account
        .role_arn
        .clone()
        .unwrap_or_else(|| account.account_id.clone());
    let reason = match error.code.as_deref() {
        Some(code) => format!("{code}: {}", first_line(&error.message)),
        None => first_line(&error.message).to_owned(),
    };
    Finding {
        check_id: definition.id.to_owned(),
        title: definition.title.to_owned(),
        status: Status::Error,
        severity: definition.severity,
        region: ACCOUNT_REGION.to_owned(),
        resource,
        resource_type: definition.resource_type.to_owned(),
        message: format!(
            "{} was not audited: {} failed ({reason})",
            account_label(&account.account_id, account.name.as_deref()),
            error.action
        ),
        remediation: definition.remediation.to_owned(),
        compliance: Vec::new(),
        references: definition
            .references
            .iter()
            .map(|&r| r.to_owned())
            .collect(),
        account_id: Some(account.account_id.clone()),
        setup: None,
        muted: None,
    }
}

/// `account 111111111111 (name)`, or without the name when there is none.
pub fn account_label(account_id: &str, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("account {account_id} ({name})"),
        None => format!("account {account_id}"),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

// ---------------------------------------------------------------------- collection

/// What to collect over several accounts.
#[derive(Debug, Clone)]
pub struct OrgRequest {
    /// [`Accounts::List`] or [`Accounts::Organization`].
    pub accounts: Accounts,
    /// Also audit the caller's own account (with its own credentials).
    pub include_self: bool,
    pub regions: Regions,
    pub role_name: String,
    pub external_id: Option<String>,
    /// HTTP calls in flight per account.
    pub max_concurrency: usize,
    /// The per-account audit (its `scope.regions` is set per account).
    pub collect: CollectRequest,
}

/// Why a run over several accounts could not start (no account was audited).
#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error(
        "sts:GetCallerIdentity failed: {0}; the audit needs working credentials to reach the accounts"
    )]
    Caller(String),
    #[error(
        "organizations:ListAccounts failed: {0}; run --organization from the management account or a delegated administrator, or name the accounts with --accounts"
    )]
    ListAccounts(String),
    #[error(
        "no account to audit: {0}; name accounts with --accounts, or pass --include-self for the caller's own"
    )]
    NoAccounts(String),
    #[error("no region: pass --regions REGION[,REGION...] or --regions all, or set AWS_REGION")]
    NoRegion,
}

/// An HTTP client that lets at most `permits` requests of one account be in
/// flight; the others wait for a permit (the bound of `--max-concurrency`).
#[derive(Debug, Clone)]
struct BoundedClient {
    inner: SharedHttpClient,
    permits: Arc<Semaphore>,
}

#[derive(Debug)]
struct BoundedConnector {
    inner: SharedHttpConnector,
    permits: Arc<Semaphore>,
}

impl HttpClient for BoundedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(BoundedConnector {
            inner: self.inner.http_connector(settings, components),
            permits: Arc::clone(&self.permits),
        })
    }
}

impl HttpConnector for BoundedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let permits = Arc::clone(&self.permits);
        HttpConnectorFuture::new(async move {
            let _permit = permits
                .acquire_owned()
                .await
                .map_err(|e| ConnectorError::other(Box::new(e), None))?;
            inner.call(request).await
        })
    }
}

/// The SDK's own HTTPS client (rustls with aws-lc, as the SDK's default).
fn default_http_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .build_https()
}

/// `base` with a bounded HTTP client of its own and adaptive retries (AWS SDKs
/// and Tools reference guide, "Retry behavior": adaptive mode rate-limits the
/// client after throttling errors).
fn account_config(base: &SdkConfig, max_concurrency: usize) -> SdkConfig {
    let inner = base.http_client().unwrap_or_else(default_http_client);
    let bounded = BoundedClient {
        inner,
        permits: Arc::new(Semaphore::new(max_concurrency.max(1))),
    };
    base.to_builder()
        .http_client(SharedHttpClient::new(bounded))
        .retry_config(RetryConfig::adaptive().with_max_attempts(5))
        .build()
}

async fn caller(base: &SdkConfig) -> Result<Caller, OrgError> {
    let sts = aws_sdk_sts::Client::new(base);
    let identity = sts.get_caller_identity().send().await.map_err(|e| {
        OrgError::Caller(collection_error(&calls::STS_GET_CALLER_IDENTITY, &e).describe())
    })?;
    Ok(Caller {
        account_id: identity.account().unwrap_or_default().to_owned(),
        arn: identity.arn().unwrap_or_default().to_owned(),
    })
}

/// Every active account of the organisation, with its name (ListAccounts, 20 a page).
async fn organization_accounts(
    base: &SdkConfig,
) -> Result<Vec<(String, Option<String>)>, OrgError> {
    let client = aws_sdk_organizations::Client::new(base);
    let mut pages = client.list_accounts().into_paginator().send();
    let mut accounts = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            OrgError::ListAccounts(match e.code() {
                Some(code) => format!("{code}: {}", e.message().unwrap_or_default()),
                None => aws_sdk_ec2::error::DisplayErrorContext(&e).to_string(),
            })
        })?;
        for account in page.accounts() {
            let active = is_active(
                account
                    .status()
                    .map(aws_sdk_organizations::types::AccountStatus::as_str),
                account
                    .state()
                    .map(aws_sdk_organizations::types::AccountState::as_str),
            );
            if let (Some(id), true) = (account.id(), active) {
                accounts.push((id.to_owned(), account.name().map(str::to_owned)));
            }
        }
    }
    Ok(accounts)
}

/// Collects every account of `request`, concurrently.
pub async fn collect_organization(
    base: &SdkConfig,
    request: &OrgRequest,
) -> Result<OrgInventory, OrgError> {
    let started = OffsetDateTime::now_utc();
    let caller = caller(base).await?;
    let listed = match &request.accounts {
        Accounts::Organization => organization_accounts(base).await?,
        Accounts::List(ids) => ids.iter().map(|id| (id.clone(), None)).collect(),
        Accounts::Caller => Vec::new(),
    };
    let targets = targets(&listed, &caller.account_id, request.include_self);
    if targets.is_empty() {
        return Err(OrgError::NoAccounts(format!(
            "the only account listed is the caller's own ({})",
            caller.account_id
        )));
    }
    if request.regions == Regions::Default && base.region().is_none() {
        return Err(OrgError::NoRegion);
    }
    let mut tasks = JoinSet::new();
    let mut spawned = std::collections::HashMap::new();
    for (index, target) in targets.into_iter().enumerate() {
        let base = base.clone();
        let request = request.clone();
        let account = target.clone();
        let handle =
            tasks.spawn(async move { (index, audit_account(&base, &request, target).await) });
        spawned.insert(handle.id(), (index, account));
    }
    let mut accounts: BTreeMap<usize, AccountRecord> = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, record)) => {
                accounts.insert(index, record);
            }
            // An account whose collection stopped is still in the report, as an ERROR.
            Err(error) => {
                if let Some((index, target)) = spawned.get(&error.id()) {
                    accounts.insert(
                        *index,
                        AccountRecord {
                            account_id: target.account_id.clone(),
                            name: target.name.clone(),
                            role_arn: None,
                            outcome: AccountOutcome::Unreachable(CollectionError {
                                action: "audit:collect".to_owned(),
                                access_denied: false,
                                code: None,
                                message: format!("the account's collection stopped: {error}"),
                            }),
                        },
                    );
                }
            }
        }
    }
    Ok(OrgInventory {
        format: ORG_INVENTORY_FORMAT.to_owned(),
        tool: crate::TOOL.to_owned(),
        version: crate::VERSION.to_owned(),
        collected_at: started,
        caller,
        role_name: request.role_name.clone(),
        accounts: accounts.into_values().collect(),
    })
}

/// Assumes the role (unless the caller's own account), finds the regions, and
/// collects each region concurrently.
async fn audit_account(base: &SdkConfig, request: &OrgRequest, target: Target) -> AccountRecord {
    let home_region = base
        .region()
        .map_or_else(|| "us-east-1".to_owned(), ToString::to_string);
    let bounded = account_config(base, request.max_concurrency);
    let role = (!target.own).then(|| {
        role_arn(
            partition(&home_region),
            &target.account_id,
            &request.role_name,
        )
    });
    let record = |outcome| AccountRecord {
        account_id: target.account_id.clone(),
        name: target.name.clone(),
        role_arn: role.clone(),
        outcome,
    };
    let config = match &role {
        None => bounded,
        Some(arn) => match assume(&bounded, arn, request.external_id.as_deref()).await {
            Ok(config) => config,
            Err(error) => return record(AccountOutcome::Unreachable(error)),
        },
    };
    let regions = match &request.regions {
        Regions::List(regions) => regions.clone(),
        Regions::Default => vec![home_region],
        Regions::All => match enabled_regions(&config).await {
            Ok(regions) => regions,
            Err(error) => return record(AccountOutcome::Unreachable(error)),
        },
    };
    let mut tasks = JoinSet::new();
    let mut spawned = std::collections::HashMap::new();
    for (index, region) in regions.iter().enumerate() {
        let config = config
            .to_builder()
            .region(aws_config::Region::new(region.clone()))
            .build();
        let mut collect = request.collect.clone();
        collect.scope.regions = vec![region.clone()];
        let account = target.account_id.clone();
        let handle = tasks.spawn(async move {
            let inventory = crate::collect::collect_in_account(
                std::slice::from_ref(&config),
                &collect,
                Some(account),
            )
            .await;
            (index, inventory)
        });
        spawned.insert(handle.id(), region.clone());
    }
    let mut parts = BTreeMap::new();
    let mut failed = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, inventory)) => {
                parts.insert(index, inventory);
            }
            // A region that stopped outside its collection's own catch (see
            // `collect::CatchPanic`) is still in the report, as an ERROR.
            Err(error) => {
                let region = spawned.get(&error.id()).cloned().unwrap_or_default();
                let error = match error.try_into_panic() {
                    Ok(panic) => crate::collect::panicked(&region, panic.as_ref()),
                    Err(error) => CollectionError {
                        action: "audit:collect".to_owned(),
                        access_denied: false,
                        code: None,
                        message: format!("the collection of region {region} stopped: {error}"),
                    },
                };
                failed.push(crate::inventory::FailedRegion { region, error });
            }
        }
    }
    let merged = merge(parts.into_values().collect()).map(|mut inventory| {
        inventory.failed_regions.append(&mut failed);
        inventory
    });
    match merged {
        Some(mut inventory) => {
            inventory
                .metadata
                .account_id
                .get_or_insert_with(|| target.account_id.clone());
            record(AccountOutcome::Collected(Box::new(inventory)))
        }
        None => record(AccountOutcome::Unreachable(failed.pop().map_or_else(
            || CollectionError {
                action: "audit:collect".to_owned(),
                access_denied: false,
                code: None,
                message: "no region was collected".to_owned(),
            },
            |f| f.error,
        ))),
    }
}

/// `sts:AssumeRole` now, so a refusal is known (and reported) before any other
/// call. aws-config's `sts::AssumeRoleProvider` (docs.rs, aws-config
/// `AssumeRoleProviderBuilder`: `external_id`, `session_name`, `build_from_provider`)
/// would assume the role lazily, at the first call, and turn a refusal into
/// every check's ERROR; the credentials (an hour) outlast a collection.
async fn assume(
    config: &SdkConfig,
    role_arn: &str,
    external_id: Option<&str>,
) -> Result<SdkConfig, CollectionError> {
    let sts = aws_sdk_sts::Client::new(config);
    let assumed = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(format!("audit-{}", crate::VERSION.replace('.', "-")))
        .set_external_id(external_id.map(str::to_owned))
        .send()
        .await
        .map_err(|e| {
            // STS's own words ("User: ... is not authorized to perform: sts:AssumeRole
            // on resource: ..."), not the SDK's wrapping of them.
            let mut error = collection_error(&calls::STS_ASSUME_ROLE, &e);
            if let Some(message) = e.message() {
                message.clone_into(&mut error.message);
            }
            error
        })?;
    let Some(credentials) = assumed.credentials() else {
        return Err(CollectionError {
            action: calls::STS_ASSUME_ROLE.action.to_owned(),
            access_denied: false,
            code: None,
            message: "AssumeRole answered without credentials".to_owned(),
        });
    };
    let expiry = SystemTime::try_from(*credentials.expiration()).ok();
    let provider = aws_sdk_sts::config::Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key(),
        Some(credentials.session_token().to_owned()),
        expiry,
        "audit-assume-role",
    );
    Ok(config
        .to_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build())
}

/// The account's enabled regions (`ec2:DescribeRegions` without `AllRegions`
/// lists the regions enabled for the account; EC2 API reference).
pub async fn enabled_regions(config: &SdkConfig) -> Result<Vec<String>, CollectionError> {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let regions = ec2
        .describe_regions()
        .send()
        .await
        .map_err(|e| collection_error(&calls::EC2_DESCRIBE_REGIONS, &e))?;
    let mut names: Vec<String> = regions
        .regions()
        .iter()
        .filter_map(|r| r.region_name().map(str::to_owned))
        .collect();
    names.sort();
    Ok(names)
}

/// One account's inventory from its regions' (each collected alone).
pub fn merge(parts: Vec<Inventory>) -> Option<Inventory> {
    let mut parts = parts.into_iter();
    let mut merged = parts.next()?;
    for part in parts {
        let metadata = &mut merged.metadata;
        metadata.api_requests += part.metadata.api_requests;
        for (action, count) in part.metadata.calls {
            *metadata.calls.entry(action).or_default() += count;
        }
        if metadata.account_id.is_none() {
            metadata.account_id = part.metadata.account_id;
        }
        metadata.collected_at = metadata.collected_at.min(part.metadata.collected_at);
        metadata.scope.regions.extend(part.metadata.scope.regions);
        merged.regions.extend(part.regions);
        merged.failed_regions.extend(part.failed_regions);
    }
    Some(merged)
}

/// An organisation of two accounts for tests: `inventory`'s, and one whose role
/// refused to be assumed.
#[cfg(test)]
pub(crate) fn sample_org(inventory: &Inventory) -> OrgInventory {
    OrgInventory {
        format: ORG_INVENTORY_FORMAT.to_owned(),
        tool: crate::TOOL.to_owned(),
        version: crate::VERSION.to_owned(),
        collected_at: inventory.metadata.collected_at,
        caller: Caller {
            account_id: "999999999999".to_owned(),
            arn: "arn:aws:iam::999999999999:user/auditor".to_owned(),
        },
        role_name: DEFAULT_ROLE_NAME.to_owned(),
        accounts: vec![
            AccountRecord {
                account_id: "123456789012".to_owned(),
                name: Some("prod".to_owned()),
                role_arn: Some(role_arn("aws", "123456789012", DEFAULT_ROLE_NAME)),
                outcome: AccountOutcome::Collected(Box::new(inventory.clone())),
            },
            AccountRecord {
                account_id: "333333333333".to_owned(),
                name: Some("sandbox".to_owned()),
                role_arn: Some(role_arn("aws", "333333333333", DEFAULT_ROLE_NAME)),
                outcome: AccountOutcome::Unreachable(CollectionError {
                    action: "sts:AssumeRole".to_owned(),
                    access_denied: true,
                    code: Some("AccessDenied".to_owned()),
                    message: "User: x is not authorized to perform: sts:AssumeRole\nmore"
                        .to_owned(),
                }),
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::compliant_inventory;

    #[test]
    fn account_ids_are_twelve_digits() {
        let cases: &[(&str, Result<&[&str], &str>)] = &[
            ("111111111111", Ok(&["111111111111"])),
            (
                "111111111111, 222222222222,111111111111",
                Ok(&["111111111111", "222222222222"]),
            ),
            ("11111111111", Err("is not an AWS account id")),
            ("1111111111111", Err("is not an AWS account id")),
            ("11111111111a", Err("is not an AWS account id")),
            ("111111111111,,222222222222", Err("an empty entry")),
            ("", Err("an empty entry")),
            ("arn:aws:iam::111111111111:root", Err("12 digits")),
        ];
        for (text, expected) in cases {
            match (parse_account_ids(text), expected) {
                (Ok(ids), Ok(want)) => assert_eq!(ids, *want, "{text}"),
                (Err(error), Err(want)) => assert!(error.contains(want), "{text}: {error}"),
                (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
            }
        }
    }

    /// `--region` flags, `--regions`, and the regions or words of the error.
    type RegionCase<'a> = (&'a [String], Option<&'a str>, Result<Regions, &'a str>);

    #[test]
    fn region_names_and_all_are_recognised() {
        for good in [
            "us-east-1",
            "eu-west-3",
            "ap-southeast-3",
            "us-gov-west-1",
            "cn-north-1",
            "il-central-1",
            "us-isob-east-1",
        ] {
            assert!(is_region_name(good), "{good}");
        }
        for bad in [
            "",
            "us-east",
            "useast1",
            "US-EAST-1",
            "us-east-1a",
            "u-east-1",
            "us--1",
            "us-east-123",
        ] {
            assert!(!is_region_name(bad), "{bad}");
        }
        let list = |names: &[&str]| Regions::List(names.iter().map(|&n| n.to_owned()).collect());
        let none: &[String] = &[];
        let repeated = vec!["us-east-1".to_owned(), "eu-west-1".to_owned()];
        let cases: Vec<RegionCase> = vec![
            (none, None, Ok(Regions::Default)),
            (none, Some("all"), Ok(Regions::All)),
            (none, Some(" ALL "), Ok(Regions::All)),
            (
                none,
                Some("us-east-1, eu-west-1,us-east-1"),
                Ok(list(&["us-east-1", "eu-west-1"])),
            ),
            (&repeated, None, Ok(list(&["us-east-1", "eu-west-1"]))),
            (&repeated, Some("us-east-1"), Err("both given")),
            (none, Some("all,us-east-1"), Err("cannot be combined")),
            (
                none,
                Some("us-east-1,mars-1"),
                Err("\"mars-1\" is not an AWS region name"),
            ),
            (
                none,
                Some("us-east-1,"),
                Err("\"\" is not an AWS region name"),
            ),
        ];
        for (repeated, listed, expected) in cases {
            match (parse_regions(repeated, listed), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{listed:?}"),
                (Err(error), Err(want)) => assert!(error.contains(want), "{listed:?}: {error}"),
                (got, want) => panic!("{listed:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn role_names_and_external_ids_are_validated() {
        for good in [
            "OrganizationAccountAccessRole",
            "audit/ReadOnly",
            "a+b=c,d.e@f_g-h",
        ] {
            assert!(validate_role_name(good).is_ok(), "{good}");
        }
        for bad in ["", "/x", "x/", "has space", "role*", &"r".repeat(65)] {
            let error = validate_role_name(bad).expect_err(bad);
            assert!(error.contains("--role-name"), "{error}");
        }
        for good in ["ab", "Unique-ID:1/2=3", &"x".repeat(1224)] {
            assert!(validate_external_id(good).is_ok(), "{good}");
        }
        for bad in ["a", "has space", &"x".repeat(1225)] {
            assert!(validate_external_id(bad).is_err(), "{bad}");
        }
        assert_eq!(
            role_arn("aws", "111111111111", "OrganizationAccountAccessRole"),
            "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"
        );
        assert_eq!(partition("us-gov-east-1"), "aws-us-gov");
    }

    #[test]
    fn only_active_accounts_count_and_the_caller_only_when_asked() {
        let cases = [
            (Some("ACTIVE"), None, true),
            (Some("SUSPENDED"), None, false),
            (Some("ACTIVE"), Some("SUSPENDED"), false),
            (None, Some("ACTIVE"), true),
            (Some("PENDING_CLOSURE"), Some("PENDING_CLOSURE"), false),
            (None, None, false),
        ];
        for (status, state, active) in cases {
            assert_eq!(is_active(status, state), active, "{status:?} {state:?}");
        }
        let listed = vec![
            ("111111111111".to_owned(), Some("management".to_owned())),
            ("222222222222".to_owned(), Some("dev".to_owned())),
        ];
        let ids = |targets: Vec<Target>| -> Vec<(String, bool)> {
            targets.into_iter().map(|t| (t.account_id, t.own)).collect()
        };
        assert_eq!(
            ids(targets(&listed, "111111111111", false)),
            [("222222222222".to_owned(), false)]
        );
        assert_eq!(
            ids(targets(&listed, "111111111111", true)),
            [
                ("111111111111".to_owned(), true),
                ("222222222222".to_owned(), false)
            ]
        );
        // --include-self with --accounts not naming the caller still adds it, first.
        let mine = targets(&listed[1..], "999999999999", true);
        assert_eq!(mine[0].account_id, "999999999999");
        assert!(mine[0].own && mine[0].name.is_none());
    }

    #[test]
    fn an_unreachable_account_is_one_error_row_and_the_others_are_audited() {
        let org = sample_org(&compliant_inventory());
        let findings = evaluate_organization(&org, &Policy::default());
        let single = crate::checks::evaluate(&compliant_inventory(), &Policy::default());
        assert_eq!(findings.len(), single.len() + 1);
        assert!(
            findings[..single.len()]
                .iter()
                .all(
                    |f| f.account_id.as_deref() == Some("123456789012") && f.status == Status::Pass
                )
        );
        let error = findings.last().expect("error row");
        assert_eq!(error.status, Status::Error);
        assert_eq!(error.check_id, "account.reachable");
        assert_eq!(error.account_id.as_deref(), Some("333333333333"));
        assert_eq!(
            error.resource,
            "arn:aws:iam::333333333333:role/OrganizationAccountAccessRole"
        );
        assert!(
            error.message.contains("account 333333333333")
                && error
                    .message
                    .contains("sts:AssumeRole failed (AccessDenied: User: x")
                && !error.message.contains("more"),
            "{}",
            error.message
        );
    }

    #[test]
    fn either_kind_of_saved_inventory_reads_and_others_fail_clearly() {
        let inventory = compliant_inventory();
        let org = sample_org(&inventory);
        let saved = serde_json::to_string(&org).expect("save");
        assert_eq!(
            parse_evidence(&saved),
            Ok(Evidence::Organization(org.clone()))
        );
        let old = serde_json::to_string(&inventory).expect("save");
        assert_eq!(
            parse_evidence(&old),
            Ok(Evidence::Single(Box::new(inventory)))
        );
        for (text, want) in [
            ("{", "not JSON"),
            (r#"{"format":"other"}"#, "is not one this audit reads"),
            (r#"{"findings":[]}"#, "neither a single-account inventory"),
            (
                r#"{"format":"audit-organization-inventory","accounts":7}"#,
                "organisation inventory that does not read",
            ),
            (
                r#"{"metadata":{},"regions":[]}"#,
                "single-account inventory that does not read",
            ),
        ] {
            let error = parse_evidence(text).expect_err(text);
            assert!(error.contains(want), "{text}: {error}");
        }
    }

    #[test]
    fn regions_collected_apart_merge_into_one_account() {
        let mut east = compliant_inventory();
        east.metadata.api_requests = 10;
        east.metadata.calls = BTreeMap::from([("ec2:DescribeVpcs".to_owned(), 1)]);
        let mut west = east.clone();
        west.regions[0].region = "us-west-2".to_owned();
        west.metadata.scope.regions = vec!["us-west-2".to_owned()];
        west.metadata.account_id = None;
        let merged = merge(vec![east, west]).expect("merged");
        assert_eq!(merged.metadata.api_requests, 20);
        assert_eq!(merged.metadata.calls["ec2:DescribeVpcs"], 2);
        assert_eq!(merged.regions.len(), 2);
        assert_eq!(merged.metadata.scope.regions, ["us-east-1", "us-west-2"]);
        assert!(merge(Vec::new()).is_none());
    }
}
