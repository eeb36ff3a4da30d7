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
//! - **Concurrent, but bounded.** At most `--max-accounts` accounts run at once,
//!   each with all its regions at once; the HTTP client of one account holds a
//!   semaphore with `--max-concurrency` permits, so no account sees more calls in
//!   flight than that; each account's clients have a retry partition of their own
//!   (the SDK's default is one per service and region, shared by every account), and
//!   the adaptive retry mode slows down on throttling instead of failing. The first
//!   AssumeRole calls are spaced, not fired together.
//! - **Sessions are renewed.** An assumed role's credentials come from aws-config's
//!   `AssumeRoleProvider` behind the SDK's identity cache, which asks for a new
//!   session before the current one expires, so a run may last longer than one
//!   session (`--session-duration`; an hour at most when chained).
//! - **Every listed account is in the inventory**, by id: audited, unreachable,
//!   suspended or excluded ([`AccountRecord::state`]), so the report proves coverage;
//!   regions probed and not audited are in each account's inventory
//!   ([`crate::coverage`]).
//! - **Input is checked before any call.** Account ids, region names, role names
//!   and external ids are validated by the pure functions below (table-tested), so
//!   a typo is a usage error, not 100 failed AssumeRole calls.
//!
//! - **Each account is written as it finishes, by id.** [`Planned::run`] hands each
//!   account's record to a function in the account's own task (the command line
//!   evaluates it there and drops its inventory, see [`crate::report::stream`]),
//!   then on in account-id order ([`Reorder`]); an account done before an earlier
//!   one is held back, and held accounts count against `--max-accounts`
//!   ([`may_start`]), so memory stays bounded whatever the organisation's size.
//!
//! - **A deadline keeps what finished.** Each account has `--account-timeout`;
//!   its regions' collections record themselves in a [`Progress`] as each ends,
//!   so an account past its deadline keeps the regions it finished and reports
//!   each other one as not audited with the reason ([`past_deadline`]), as a
//!   region whose collection stopped.
//! - **The per-account decision is not here.** What an account's record yields
//!   (findings, muting, counts) is [`crate::account_result`]'s, and the
//!   evidence's data types are [`crate::org_inventory`]'s; this module hands
//!   their names on.
//!
//! The evidence of a run over several accounts is one [`OrgInventory`] file: each
//! account's [`Inventory`] (the single-account format) or the reason it could not
//! be read. [`parse_evidence`] reads either kind of file.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
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
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::calls;
use crate::checks::partition;
use crate::collect::{CollectRequest, collection_error};
use crate::coverage::{RegionGap, SkippedRegion};
use crate::inventory::{Collected, CollectionError, Inventory};

pub use crate::calls::DEFAULT_ROLE_NAME;
/// Calls in flight per account unless `--max-concurrency` says otherwise.
pub const DEFAULT_MAX_CONCURRENCY: usize = 8;
/// Accounts audited at once unless `--max-accounts` says otherwise.
pub const DEFAULT_MAX_ACCOUNTS: usize = 16;
/// `--account-timeout`'s default: far above a large account's audit (minutes),
/// short enough that one hung account does not hold a scheduled run for hours.
pub const DEFAULT_ACCOUNT_TIMEOUT: std::time::Duration = std::time::Duration::from_mins(30);
/// Attempts per call (the first and four retries) unless `--retries-max-attempts` says otherwise.
pub const DEFAULT_RETRIES_MAX_ATTEMPTS: u32 = 5;
/// The longest session of a role assumed with a role's credentials ("role
/// chaining"): STS API reference, AssumeRole, `DurationSeconds` ("if you assume a
/// role using role chaining and provide a DurationSeconds parameter value greater
/// than one hour, the operation fails").
pub const ROLE_CHAINING_MAX_SESSION: std::time::Duration = std::time::Duration::from_hours(1);
/// Time between two accounts' first AssumeRole calls, so a run over hundreds of
/// accounts does not open with hundreds of STS calls in the same instant.
const ASSUME_ROLE_SPACING: std::time::Duration = std::time::Duration::from_millis(50);

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

/// An account as Organizations lists it (`--accounts` names active ones, without a name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub account_id: String,
    pub name: Option<String>,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, ... (ListAccounts' `State`, else `Status`).
    pub state: String,
}

/// The accounts to audit and the records of those that will not be, each in
/// account-id order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub targets: Vec<Target>,
    pub not_audited: Vec<AccountRecord>,
}

/// Which of the listed accounts are to be audited.
#[derive(Debug, Clone, Copy, Default)]
pub struct Selection<'a> {
    /// `--include-self`.
    pub include_self: bool,
    /// The accounts were named (`--accounts`), not listed by Organizations.
    pub named: bool,
    /// `--exclude-accounts`.
    pub exclude: &'a [String],
    /// With `--ous`: the accounts under those units; the others are excluded.
    pub only: Option<&'a std::collections::BTreeSet<String>>,
}

/// Which listed accounts to audit. Every listed account is in the plan once: an
/// excluded one (`--exclude-accounts`, or not under `--ous`) and a suspended one as
/// a record with its state; the caller's own account is audited with its own
/// credentials when named (`--accounts` lists it) or with `include_self` (then
/// also when Organizations does not list it), and is otherwise a record saying why not.
pub fn plan(listed: &[Listed], caller_account: &str, selection: Selection<'_>) -> Plan {
    let Selection {
        include_self,
        named,
        exclude,
        only,
    } = selection;
    let own = Listed {
        account_id: caller_account.to_owned(),
        name: None,
        state: "ACTIVE".to_owned(),
    };
    let mut accounts: BTreeMap<&str, &Listed> = BTreeMap::new();
    for account in listed {
        accounts
            .entry(account.account_id.as_str())
            .or_insert(account);
    }
    if include_self {
        accounts.entry(caller_account).or_insert(&own);
    }
    let mut plan = Plan::default();
    for (id, account) in accounts {
        let record = |outcome| AccountRecord {
            account_id: id.to_owned(),
            name: account.name.clone(),
            role_arn: None,
            outcome,
        };
        let is_own = id == caller_account;
        if exclude.iter().any(|e| e == id) {
            plan.not_audited.push(record(AccountOutcome::Excluded(
                "named by --exclude-accounts".to_owned(),
            )));
        } else if only.is_some_and(|under| !under.contains(id)) {
            plan.not_audited.push(record(AccountOutcome::Excluded(
                "not under the organisational units of --ous".to_owned(),
            )));
        } else if account.state != "ACTIVE" {
            plan.not_audited
                .push(record(AccountOutcome::Suspended(account.state.clone())));
        } else if is_own && !include_self && !named {
            plan.not_audited.push(record(AccountOutcome::Excluded(
                "the caller's own account; pass --include-self to audit it with the caller's credentials".to_owned(),
            )));
        } else {
            plan.targets.push(Target {
                account_id: id.to_owned(),
                name: account.name.clone(),
                own: is_own,
            });
        }
    }
    plan
}

// The names used from outside the crate (main.rs, tests/, xtask): within it,
// callers use `crate::account_result` and `crate::org_inventory` directly.
pub use crate::account_result::{ACCOUNT_REACHABLE, ACCOUNT_REGION, evaluate_organization};
use crate::inventory::first_line;
use crate::org_inventory::ORG_INVENTORY_FORMAT;
pub use crate::org_inventory::{
    AccountOutcome, AccountRecord, Caller, Evidence, OrgInventory, parse_evidence,
};

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
    /// Accounts audited at once (`--max-accounts`); the others wait their turn.
    pub max_accounts: usize,
    /// How long one account's audit may take (`--account-timeout`); past it the
    /// account is not audited and its record says why.
    pub account_timeout: std::time::Duration,
    /// Attempts per call, the first included (`--retries-max-attempts`).
    pub retries_max_attempts: u32,
    /// `DurationSeconds` of each assumed role's sessions (`--session-duration`);
    /// `None`: STS's default, one hour. Sessions are renewed before they expire.
    pub session_duration: Option<std::time::Duration>,
    /// Accounts listed but not audited (`--exclude-accounts`).
    pub exclude_accounts: Vec<String>,
    /// Regions not audited in any account (`--exclude-regions`).
    pub exclude_regions: Vec<String>,
    /// Organisational units (`--ous`): only the accounts under them, at any depth.
    pub ous: Vec<String>,
    /// The per-account audit (its `scope.regions` is set per account).
    pub collect: CollectRequest,
}

impl OrgRequest {
    /// A request with the defaults of the command line for everything else.
    pub fn new(accounts: Accounts, regions: Regions, collect: CollectRequest) -> Self {
        Self {
            accounts,
            include_self: false,
            regions,
            role_name: DEFAULT_ROLE_NAME.to_owned(),
            external_id: None,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            max_accounts: DEFAULT_MAX_ACCOUNTS,
            account_timeout: DEFAULT_ACCOUNT_TIMEOUT,
            retries_max_attempts: DEFAULT_RETRIES_MAX_ATTEMPTS,
            session_duration: None,
            exclude_accounts: Vec::new(),
            exclude_regions: Vec::new(),
            ous: Vec::new(),
            collect,
        }
    }
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
    #[error(
        "--ous: {0}; check the unit ids (aws organizations list-organizational-units-for-parent) and that the caller may list them"
    )]
    Units(String),
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
/// client after throttling errors). Each account's clients also have a retry
/// partition of their own (see `collect::Clients`), so one throttled account does
/// not spend the retry quota of the others.
fn account_config(base: &SdkConfig, max_concurrency: usize, max_attempts: u32) -> SdkConfig {
    let inner = base.http_client().unwrap_or_else(default_http_client);
    let bounded = BoundedClient {
        inner,
        permits: Arc::new(Semaphore::new(max_concurrency.max(1))),
    };
    base.to_builder()
        .http_client(SharedHttpClient::new(bounded))
        .retry_config(RetryConfig::adaptive().with_max_attempts(max_attempts.max(1)))
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

/// Every account of the organisation, with its name and state (ListAccounts, 20 a page).
async fn organization_accounts(base: &SdkConfig) -> Result<Vec<Listed>, OrgError> {
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
            let status = account
                .status()
                .map(aws_sdk_organizations::types::AccountStatus::as_str);
            let state = account
                .state()
                .map(aws_sdk_organizations::types::AccountState::as_str);
            if let Some(id) = account.id() {
                accounts.push(Listed {
                    account_id: id.to_owned(),
                    name: account.name().map(str::to_owned),
                    state: if is_active(status, state) {
                        "ACTIVE".to_owned()
                    } else {
                        state.or(status).unwrap_or("UNKNOWN").to_owned()
                    },
                });
            }
        }
    }
    Ok(accounts)
}

/// The accounts under these organisational units, at any depth
/// (ListAccountsForParent and ListOrganizationalUnitsForParent, from each unit down).
async fn accounts_under(
    base: &SdkConfig,
    ous: &[String],
) -> Result<std::collections::BTreeSet<String>, OrgError> {
    let client = aws_sdk_organizations::Client::new(base);
    let failed = |action: &str, unit: &str, code: Option<&str>, message: Option<&str>| {
        OrgError::Units(format!(
            "{action} on {unit} failed ({}: {})",
            code.unwrap_or("error"),
            message.unwrap_or_default()
        ))
    };
    let mut accounts = std::collections::BTreeSet::new();
    let mut units: Vec<String> = ous.to_vec();
    while let Some(unit) = units.pop() {
        let mut pages = client
            .list_accounts_for_parent()
            .parent_id(&unit)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                failed(
                    calls::ORGANIZATIONS_LIST_ACCOUNTS_FOR_PARENT.action,
                    &unit,
                    e.code(),
                    e.message(),
                )
            })?;
            accounts.extend(
                page.accounts()
                    .iter()
                    .filter_map(|a| a.id().map(str::to_owned)),
            );
        }
        let mut pages = client
            .list_organizational_units_for_parent()
            .parent_id(&unit)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                failed(
                    calls::ORGANIZATIONS_LIST_OUS_FOR_PARENT.action,
                    &unit,
                    e.code(),
                    e.message(),
                )
            })?;
            units.extend(
                page.organizational_units()
                    .iter()
                    .filter_map(|u| u.id().map(str::to_owned)),
            );
        }
    }
    Ok(accounts)
}

/// `--ous`: organisational unit ids (`ou-` then 4 to 32 and 8 to 32 of `a-z0-9`,
/// Organizations API reference, `OrganizationalUnitId`) or a root id (`r-` then 4
/// to 32), comma-separated, duplicates dropped.
pub fn parse_ous(text: &str) -> Result<Vec<String>, String> {
    let part_ok = |part: &str, range: std::ops::RangeInclusive<usize>| {
        range.contains(&part.len())
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    let mut ids: Vec<String> = Vec::new();
    for id in text.split(',').map(str::trim) {
        let valid = match id.split('-').collect::<Vec<_>>().as_slice() {
            ["ou", root, unit] => part_ok(root, 4..=32) && part_ok(unit, 8..=32),
            ["r", root] => part_ok(root, 4..=32),
            _ => false,
        };
        if !valid {
            return Err(format!(
                "--ous: {id:?} is not an organisational unit id; expected e.g. ou-ab12-cdef3456 (or a root id, r-ab12)"
            ));
        }
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    }
    Ok(ids)
}

/// What every account's audit shares: the caller's configuration, the request,
/// and the pacing of AssumeRole.
struct Shared {
    base: SdkConfig,
    request: OrgRequest,
    caller: Caller,
    next_assume: tokio::sync::Mutex<tokio::time::Instant>,
    /// This run, in session names: the process id and the start time.
    run: String,
}

impl Shared {
    /// Waits for this account's turn to call AssumeRole ([`ASSUME_ROLE_SPACING`] apart).
    async fn assume_turn(&self) {
        let at = {
            let mut next = self.next_assume.lock().await;
            let at = (*next).max(tokio::time::Instant::now());
            *next = at + ASSUME_ROLE_SPACING;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// Items that finish in any order, handed on in the order of their index: a run
/// over several accounts writes each account as soon as it and every account
/// before it (by id) are done, so the output is the same whatever finishes first.
#[derive(Debug)]
pub(crate) struct Reorder<T> {
    next: usize,
    waiting: BTreeMap<usize, T>,
}

impl<T> Default for Reorder<T> {
    fn default() -> Self {
        Self {
            next: 0,
            waiting: BTreeMap::new(),
        }
    }
}

impl<T> Reorder<T> {
    /// Takes item `index` (each index once); returns the items now due, in order.
    pub(crate) fn push(&mut self, index: usize, item: T) -> Vec<T> {
        if index >= self.next {
            self.waiting.entry(index).or_insert(item);
        }
        let mut due = Vec::new();
        while let Some(item) = self.waiting.remove(&self.next) {
            due.push(item);
            self.next += 1;
        }
        due
    }

    /// Whether item `index`, done now, is handed on at once; if not it is held
    /// (behind one not done) and spilled to disk first.
    pub(crate) fn is_due(&self, index: usize) -> bool {
        index == self.next
    }

    /// Items done and held back behind one that is not.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.len()
    }
}

/// Whether another account may start: only accounts in flight count against
/// `--max-accounts`. An account done but held back behind a slower one is
/// spilled to disk ([`Planned::run`]), so a slow account (or one that hangs until
/// `--account-timeout`) never stops the others from starting, and what is held
/// in memory stays bounded by the accounts in flight.
pub(crate) fn may_start(in_flight: usize, max_accounts: usize) -> bool {
    in_flight < max_accounts.max(1)
}

/// The record of an account whose audit did not finish within `--account-timeout`
/// before any region was collected: not audited, with the reason (an
/// account.reachable ERROR row: exit 1, as for any account not reached), instead
/// of a hang. See [`past_deadline`] for an account with regions collected.
pub fn timed_out(
    target: &Target,
    role_arn: Option<String>,
    timeout: std::time::Duration,
) -> AccountRecord {
    AccountRecord {
        account_id: target.account_id.clone(),
        name: target.name.clone(),
        role_arn,
        outcome: AccountOutcome::Unreachable(deadline_error(timeout)),
    }
}

/// Why an account, or a region of it, was not audited: its deadline passed.
fn deadline_error(timeout: std::time::Duration) -> CollectionError {
    CollectionError {
        action: "audit:account-timeout".to_owned(),
        access_denied: false,
        code: None,
        message: format!(
            "the account's audit did not finish within {} (--account-timeout); raise --account-timeout, or lower --max-concurrency if the account's calls are throttled",
            humane(timeout)
        ),
    }
}

/// What one account's audit has finished so far, shared with the task that
/// watches its deadline, so the regions collected before it are kept.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// The regions to collect, once probed, and those probed and not audited.
    probed: Option<(Vec<String>, Vec<SkippedRegion>)>,
    /// Each region collected, by its index in `probed`.
    finished: BTreeMap<usize, Inventory>,
    /// Regions whose collection stopped.
    failed: Vec<crate::inventory::FailedRegion>,
}

/// [`Progress`] shared between an account's audit, its regions' tasks and its deadline.
type SharedProgress = Arc<std::sync::Mutex<Progress>>;

/// Runs `f` on the progress (a poisoned lock is still the progress: each
/// writer only inserts whole items).
fn with_progress<T>(progress: &SharedProgress, f: impl FnOnce(&mut Progress) -> T) -> T {
    let mut guard = progress
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f(&mut guard)
}

/// The record of an account past its deadline (`--account-timeout`): the regions
/// collected before it are kept and checked; each other region to collect is
/// not audited, a `region.collected` ERROR row with the reason (as a region
/// whose collection stopped), counted as a region not audited; regions probed
/// and skipped keep their SKIP rows. With no region collected, the account is
/// not audited at all ([`timed_out`]).
pub(crate) fn past_deadline(
    target: &Target,
    role_arn: Option<String>,
    timeout: std::time::Duration,
    progress: Progress,
) -> AccountRecord {
    let Progress {
        probed,
        finished,
        mut failed,
    } = progress;
    let Some((regions, skipped)) = probed else {
        return timed_out(target, role_arn, timeout);
    };
    let done: Vec<usize> = finished.keys().copied().collect();
    let Some(mut inventory) = merge(finished.into_values().collect()) else {
        return timed_out(target, role_arn, timeout);
    };
    let error = deadline_error(timeout);
    for (index, region) in regions.into_iter().enumerate() {
        if !done.contains(&index) && !failed.iter().any(|f| f.region == region) {
            failed.push(crate::inventory::FailedRegion {
                region,
                error: error.clone(),
            });
        }
    }
    inventory.failed_regions.append(&mut failed);
    inventory.skipped_regions = skipped;
    inventory
        .metadata
        .account_id
        .get_or_insert_with(|| target.account_id.clone());
    AccountRecord {
        account_id: target.account_id.clone(),
        name: target.name.clone(),
        role_arn,
        outcome: AccountOutcome::Collected(Box::new(inventory)),
    }
}

/// `30m`, `90s`, `1h`: a duration as `--account-timeout` takes it.
pub fn humane(duration: std::time::Duration) -> String {
    let seconds = duration.as_secs();
    if seconds == 0 {
        format!("{}ms", duration.as_millis())
    } else if seconds.is_multiple_of(3600) {
        format!("{}h", seconds / 3600)
    } else if seconds.is_multiple_of(60) {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

/// A run over several accounts, planned: the caller known, the accounts listed.
/// [`Planned::run`] audits them.
pub struct Planned {
    /// The evidence's header: every field but `accounts` (empty).
    pub head: OrgInventory,
    plan: Plan,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Planned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planned")
            .field("head", &self.head)
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

/// Asks who the caller is and which accounts to audit (ListAccounts, `--ous`),
/// without auditing any: an error here means no account can be audited.
pub async fn plan_organization(
    base: &SdkConfig,
    request: &OrgRequest,
) -> Result<Planned, OrgError> {
    let started = OffsetDateTime::now_utc();
    let caller = caller(base).await?;
    let (listed, named) = match &request.accounts {
        Accounts::Organization => (organization_accounts(base).await?, false),
        Accounts::List(ids) => (
            ids.iter()
                .map(|id| Listed {
                    account_id: id.clone(),
                    name: None,
                    state: "ACTIVE".to_owned(),
                })
                .collect(),
            true,
        ),
        Accounts::Caller => (Vec::new(), false),
    };
    let under = if request.ous.is_empty() {
        None
    } else {
        Some(accounts_under(base, &request.ous).await?)
    };
    let plan = plan(
        &listed,
        &caller.account_id,
        Selection {
            include_self: request.include_self,
            named,
            exclude: &request.exclude_accounts,
            only: under.as_ref(),
        },
    );
    if plan.targets.is_empty() {
        return Err(OrgError::NoAccounts(format!(
            "of {} account(s) listed, none is active and not excluded (the caller's own is {})",
            listed.len(),
            caller.account_id
        )));
    }
    if request.regions == Regions::Default && base.region().is_none() {
        return Err(OrgError::NoRegion);
    }
    let shared = Arc::new(Shared {
        base: base.clone(),
        request: request.clone(),
        caller: caller.clone(),
        next_assume: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        run: format!("{}-{}", std::process::id(), started.unix_timestamp()),
    });
    Ok(Planned {
        head: OrgInventory {
            format: ORG_INVENTORY_FORMAT.to_owned(),
            tool: crate::TOOL.to_owned(),
            version: crate::VERSION.to_owned(),
            collected_at: started,
            caller,
            role_name: request.role_name.clone(),
            accounts: Vec::new(),
        },
        plan,
        shared,
    })
}

/// An account of the plan, in account-id order: to audit, or a record already.
enum PlanItem {
    Audit(Target),
    Record(AccountRecord),
}

impl Planned {
    /// Audits every account of the plan: at most `--max-accounts` at once, each
    /// with its own bound on calls and its own deadline (`--account-timeout`).
    /// `finish` turns an account's record into what is kept of it (in the
    /// account's own task, on a blocking thread as it is CPU-bound, as soon as it
    /// is collected, so its inventory can be dropped there); `emit` receives each
    /// in account-id order, audited or not, as soon as every account before it
    /// was emitted, and stops the run with [`ControlFlow::Break`] (the accounts in
    /// flight are aborted). An account done before an earlier one is passed to
    /// `hold` (which spills it to disk) and does not count against
    /// `--max-accounts`; `hold` stops the run too when it fails.
    pub async fn run<T, F, H, E>(self, finish: F, mut hold: H, mut emit: E)
    where
        T: Send + 'static,
        F: Fn(AccountRecord) -> T + Send + Sync + 'static,
        H: FnMut(T) -> ControlFlow<(), T>,
        E: FnMut(T) -> ControlFlow<()>,
    {
        let Self { plan, shared, .. } = self;
        let finish = Arc::new(finish);
        let mut accounts: Vec<PlanItem> = plan
            .targets
            .into_iter()
            .map(PlanItem::Audit)
            .chain(plan.not_audited.into_iter().map(PlanItem::Record))
            .collect();
        accounts.sort_by(|a, b| {
            let id = |p: &PlanItem| match p {
                PlanItem::Audit(t) => t.account_id.clone(),
                PlanItem::Record(r) => r.account_id.clone(),
            };
            id(a).cmp(&id(b))
        });
        let max_accounts = shared.request.max_accounts;
        let mut order: Reorder<T> = Reorder::default();
        let mut tasks = JoinSet::new();
        let mut spawned = std::collections::HashMap::new();
        // Accounts evaluated at once, at most one per core: each evaluation holds
        // its account's inventory and findings, so more at once only adds memory.
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let evaluating = Arc::new(Semaphore::new(cores));
        let mut next = accounts.into_iter().enumerate().peekable();
        loop {
            while next.peek().is_some() && may_start(tasks.len(), max_accounts) {
                let Some((index, account)) = next.next() else {
                    break;
                };
                let done = match account {
                    PlanItem::Record(record) => finish(record),
                    PlanItem::Audit(target) => {
                        let (shared, finish) = (Arc::clone(&shared), Arc::clone(&finish));
                        let evaluating = Arc::clone(&evaluating);
                        let account = target.clone();
                        let handle = tasks.spawn(async move {
                            let record = audit_account_in_time(&shared, target).await;
                            let _turn = evaluating.acquire_owned().await;
                            tokio::task::spawn_blocking(move || finish(record))
                                .await
                                .unwrap_or_else(|error| {
                                    std::panic::resume_unwind(error.into_panic())
                                })
                        });
                        spawned.insert(handle.id(), (index, account));
                        continue;
                    }
                };
                if hand_on(&mut order, index, done, &mut hold, &mut emit).is_break() {
                    return;
                }
            }
            let Some(joined) = tasks.join_next_with_id().await else {
                break;
            };
            let (id, done) = match joined {
                Ok((id, done)) => (id, done),
                // An account whose collection stopped is still in the report, as an ERROR.
                Err(error) => {
                    let id = error.id();
                    let Some((_, target)) = spawned.get(&id) else {
                        continue;
                    };
                    let record = AccountRecord {
                        account_id: target.account_id.clone(),
                        name: target.name.clone(),
                        role_arn: None,
                        outcome: AccountOutcome::Unreachable(CollectionError {
                            action: "audit:collect".to_owned(),
                            access_denied: false,
                            code: None,
                            message: format!("the account's collection stopped: {error}"),
                        }),
                    };
                    (id, finish(record))
                }
            };
            let Some((index, _)) = spawned.remove(&id) else {
                continue;
            };
            if hand_on(&mut order, index, done, &mut hold, &mut emit).is_break() {
                return;
            }
        }
    }
}

/// Hands account `index`, done, to `emit` with every account now due after it,
/// or to `hold` (spilled to disk) when an earlier one is not done.
fn hand_on<T>(
    order: &mut Reorder<T>,
    index: usize,
    done: T,
    hold: &mut impl FnMut(T) -> ControlFlow<(), T>,
    emit: &mut impl FnMut(T) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let done = if order.is_due(index) {
        done
    } else {
        match hold(done) {
            ControlFlow::Continue(spilled) => spilled,
            ControlFlow::Break(()) => return ControlFlow::Break(()),
        }
    };
    for due in order.push(index, done) {
        emit(due)?;
    }
    ControlFlow::Continue(())
}

/// [`audit_account`] within `--account-timeout`: past it, its calls are dropped,
/// the regions it collected are kept and its record says why the others were
/// not audited ([`past_deadline`]).
async fn audit_account_in_time(shared: &Shared, target: Target) -> AccountRecord {
    let timeout = shared.request.account_timeout;
    let role = role_of(shared, &target);
    let copy = target.clone();
    let progress = SharedProgress::default();
    if let Ok(record) =
        tokio::time::timeout(timeout, audit_account(shared, target, &progress)).await
    {
        return record;
    }
    let progress = with_progress(&progress, std::mem::take);
    past_deadline(&copy, role, timeout, progress)
}

/// The role assumed in `target`; `None` for the caller's own account.
fn role_of(shared: &Shared, target: &Target) -> Option<String> {
    let home_region = shared
        .base
        .region()
        .map_or_else(|| "us-east-1".to_owned(), ToString::to_string);
    (!target.own).then(|| {
        role_arn(
            partition(&home_region),
            &target.account_id,
            &shared.request.role_name,
        )
    })
}

/// Collects every account of `request`: at most `max_accounts` at once, each
/// with its own bound on calls; the inventory lists every account, audited or
/// not, by id. Holds every inventory: the command line writes each account as
/// it finishes instead ([`plan_organization`], [`Planned::run`]).
pub async fn collect_organization(
    base: &SdkConfig,
    request: &OrgRequest,
) -> Result<OrgInventory, OrgError> {
    let planned = plan_organization(base, request).await?;
    let mut inventory = planned.head.clone();
    planned
        .run(
            |record| record,
            ControlFlow::Continue,
            |record| {
                inventory.accounts.push(record);
                ControlFlow::Continue(())
            },
        )
        .await;
    Ok(inventory)
}

/// Assumes the role (unless the caller's own account), probes the regions once,
/// and collects each region that answered, concurrently.
async fn audit_account(
    shared: &Shared,
    target: Target,
    progress: &SharedProgress,
) -> AccountRecord {
    let request = &shared.request;
    let bounded = account_config(
        &shared.base,
        request.max_concurrency,
        request.retries_max_attempts,
    );
    let role = role_of(shared, &target);
    let record = |outcome| AccountRecord {
        account_id: target.account_id.clone(),
        name: target.name.clone(),
        role_arn: role.clone(),
        outcome,
    };
    let config = match &role {
        None => bounded,
        Some(arn) => {
            shared.assume_turn().await;
            let session = Session {
                role_arn: arn,
                name: session_name(&shared.caller.arn, &shared.run),
                external_id: request.external_id.as_deref(),
                duration: session_duration(request.session_duration, &shared.caller.arn),
            };
            match assume(&bounded, &session).await {
                Ok(config) => config,
                Err(error) => return record(AccountOutcome::Unreachable(error)),
            }
        }
    };
    let (regions, skipped) =
        match probe_regions(&config, &request.regions, &request.exclude_regions).await {
            Ok(answer) => answer,
            Err(error) => return record(AccountOutcome::Unreachable(error)),
        };
    with_progress(progress, |p| {
        p.probed = Some((regions.clone(), skipped.clone()));
    });
    let mut inventory = if regions.is_empty() {
        // Every region asked for was skipped or excluded: an inventory of none.
        crate::collect::collect_in_account(
            &[],
            &request.collect,
            Some(target.account_id.clone()),
            None,
        )
        .await
    } else {
        // Once per account, with the account's own credentials, before its
        // regions are collected apart. Not once per run with the caller's: the
        // accounts of `--accounts` need not be of the caller's organisation.
        let organization =
            crate::collect::OrganizationRead::of_account(&config, &target.account_id).await;
        match collect_regions(
            &config,
            request,
            &target,
            regions,
            &organization.id,
            progress,
        )
        .await
        {
            Ok(mut inventory) => {
                organization.count_in(&mut inventory.metadata);
                inventory
            }
            Err(error) => return record(AccountOutcome::Unreachable(error)),
        }
    };
    inventory.skipped_regions = skipped;
    inventory
        .metadata
        .account_id
        .get_or_insert_with(|| target.account_id.clone());
    record(AccountOutcome::Collected(Box::new(inventory)))
}

/// Each region of one account collected alone and concurrently, then merged;
/// each is given the account's `organization`, read once.
async fn collect_regions(
    config: &SdkConfig,
    request: &OrgRequest,
    target: &Target,
    regions: Vec<String>,
    organization: &Collected<Option<String>>,
    progress: &SharedProgress,
) -> Result<Inventory, CollectionError> {
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
        let organization = organization.clone();
        let progress = Arc::clone(progress);
        // Kept in the progress as soon as done, so a deadline keeps it too.
        let handle = tasks.spawn(async move {
            let inventory = crate::collect::collect_in_account(
                std::slice::from_ref(&config),
                &collect,
                Some(account),
                Some(organization),
            )
            .await;
            with_progress(&progress, |p| p.finished.insert(index, inventory));
        });
        spawned.insert(handle.id(), region.clone());
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(()) => {}
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
                let failed = crate::inventory::FailedRegion { region, error };
                with_progress(progress, |p| p.failed.push(failed));
            }
        }
    }
    let (parts, mut failed) = with_progress(progress, |p| {
        (
            std::mem::take(&mut p.finished),
            std::mem::take(&mut p.failed),
        )
    });
    match merge(parts.into_values().collect()) {
        Some(mut inventory) => {
            inventory.failed_regions.append(&mut failed);
            Ok(inventory)
        }
        None => Err(failed.pop().map_or_else(
            || CollectionError {
                action: "audit:collect".to_owned(),
                access_denied: false,
                code: None,
                message: "no region was collected".to_owned(),
            },
            |f| f.error,
        )),
    }
}

/// The `DurationSeconds` to ask for: the one asked (`--session-duration`), at most
/// an hour when the caller is itself an assumed role (role chaining, see
/// [`ROLE_CHAINING_MAX_SESSION`]); `None` leaves STS's default (one hour).
pub fn session_duration(
    asked: Option<std::time::Duration>,
    caller_arn: &str,
) -> Option<std::time::Duration> {
    let chained = caller_arn.contains(":assumed-role/");
    asked.map(|d| {
        if chained {
            d.min(ROLE_CHAINING_MAX_SESSION)
        } else {
            d
        }
    })
}

/// One AssumeRole session's parameters.
struct Session<'a> {
    role_arn: &'a str,
    name: String,
    external_id: Option<&'a str>,
    duration: Option<std::time::Duration>,
}

/// The session name the audited accounts' CloudTrail shows: the tool, the run (a
/// process id and start time) and who ran it (the caller's user or session name),
/// cut to STS's 64 characters of `\w+=,.@-` (STS API reference, AssumeRole,
/// `RoleSessionName`).
pub fn session_name(caller_arn: &str, run: &str) -> String {
    let who = caller_arn.rsplit(['/', ':']).next().unwrap_or_default();
    let allowed = |c: &char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c);
    format!("audit-{run}-{who}")
        .chars()
        .filter(allowed)
        .take(64)
        .collect()
}

/// The role's credentials, renewed for as long as the run lasts: `sts:AssumeRole`
/// now, so a refusal is known (and reported, in STS's own words) before any other
/// call, and aws-config's `sts::AssumeRoleProvider` (docs.rs, aws-config,
/// `AssumeRoleProviderBuilder`: `external_id`, `session_name`, `session_length`)
/// behind the configuration's identity cache, which asks it again before the
/// session expires. A run of any length outlives its sessions.
async fn assume(config: &SdkConfig, session: &Session<'_>) -> Result<SdkConfig, CollectionError> {
    let sts = aws_sdk_sts::Client::new(config);
    let assumed = sts
        .assume_role()
        .role_arn(session.role_arn)
        .role_session_name(&session.name)
        .set_external_id(session.external_id.map(str::to_owned))
        .set_duration_seconds(
            session
                .duration
                .and_then(|d| i32::try_from(d.as_secs()).ok()),
        )
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
    let first = aws_credential_types::Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key(),
        Some(credentials.session_token().to_owned()),
        SystemTime::try_from(*credentials.expiration()).ok(),
        "audit-assume-role",
    );
    let mut renew = aws_config::sts::AssumeRoleProvider::builder(session.role_arn)
        .configure(config)
        .session_name(&session.name);
    if let Some(id) = session.external_id {
        renew = renew.external_id(id);
    }
    if let Some(duration) = session.duration {
        renew = renew.session_length(duration);
    }
    let provider = RenewedRole {
        first: std::sync::Mutex::new(Some(first)),
        renew: renew.build().await,
    };
    Ok(config
        .to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build())
}

/// The first session's credentials (already obtained), then a new session from
/// `renew` ([`aws_config::sts::AssumeRoleProvider`]) each time the identity cache
/// asks: the SDK's default lazy cache asks again when the credentials it holds
/// expire within its buffer time (aws-smithy-runtime, `LazyCacheBuilder::buffer_time`).
#[derive(Debug)]
struct RenewedRole<P> {
    first: std::sync::Mutex<Option<aws_credential_types::Credentials>>,
    renew: P,
}

impl<P: aws_credential_types::provider::ProvideCredentials>
    aws_credential_types::provider::ProvideCredentials for RenewedRole<P>
{
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let first = self.first.lock().ok().and_then(|mut first| first.take());
        match first {
            Some(credentials) => {
                aws_credential_types::provider::future::ProvideCredentials::ready(Ok(credentials))
            }
            None => self.renew.provide_credentials(),
        }
    }
}

/// The account's enabled regions (`ec2:DescribeRegions`; an opt-in region not
/// enabled is left out: see [`probe_regions`]).
pub async fn enabled_regions(config: &SdkConfig) -> Result<Vec<String>, CollectionError> {
    let statuses = region_statuses(config).await?;
    Ok(statuses
        .into_iter()
        .filter(|(_, status)| crate::coverage::is_enabled(status.as_deref()))
        .map(|(name, _)| name)
        .collect())
}

/// Every region with its `OptInStatus` (`ec2:DescribeRegions` with `AllRegions`:
/// "all Regions, regardless of whether your account is enabled for them"; EC2 API
/// reference, DescribeRegions), by name.
async fn region_statuses(
    config: &SdkConfig,
) -> Result<BTreeMap<String, Option<String>>, CollectionError> {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let regions = ec2
        .describe_regions()
        .all_regions(true)
        .send()
        .await
        .map_err(|e| collection_error(&calls::EC2_DESCRIBE_REGIONS, &e))?;
    Ok(regions
        .regions()
        .iter()
        .filter_map(|r| {
            Some((
                r.region_name()?.to_owned(),
                r.opt_in_status().map(str::to_owned),
            ))
        })
        .collect())
}

/// The regions to collect in one account, and those not audited with the reason;
/// each region is probed once. From the configuration's region, one
/// `DescribeRegions` gives every region's opt-in status (a region not enabled is
/// skipped without a call to it); then one call the collection needs
/// ([`probe_call`]) *in* each region left, the home region included, tells whether
/// a service control policy denies the region. `ec2:DescribeRegions` cannot be the
/// probe: AWS's own region-deny SCP exempts it (aws-samples/
/// service-control-policy-examples, `Region-controls/Deny-access-to-AWS-based-on-
/// the-requested-AWS-region*.json`: a Deny with `NotAction` listing
/// `ec2:DescribeRegions` among the global actions, on `aws:RequestedRegion`). A
/// region is denied only when the probe answered in some region
/// ([`denied_region`]): an allow-list SCP that never allows the call is no region
/// gap, and the region is audited (its checks name what failed). The home region
/// itself may be one the SCP denies. Any other failure
/// of a probe leaves the region to its collection as well.
pub async fn probe_regions(
    config: &SdkConfig,
    wanted: &Regions,
    exclude: &[String],
) -> Result<(Vec<String>, Vec<SkippedRegion>), CollectionError> {
    let home = config
        .region()
        .map_or_else(|| "us-east-1".to_owned(), ToString::to_string);
    let statuses = match (wanted, region_statuses(config).await) {
        (_, Ok(statuses)) => statuses,
        (Regions::All, Err(error)) => return Err(error),
        // Named regions are still probed one by one when the listing is denied.
        (_, Err(_)) => BTreeMap::new(),
    };
    let candidates: Vec<String> = match wanted {
        Regions::All => statuses.keys().cloned().collect(),
        Regions::List(regions) => regions.clone(),
        Regions::Default => vec![home.clone()],
    };
    let mut regions = Vec::new();
    let mut skipped = Vec::new();
    let mut probes = JoinSet::new();
    let mut probing = std::collections::HashMap::new();
    for region in candidates {
        if exclude.contains(&region) {
            continue;
        }
        let enabled = statuses
            .get(&region)
            .is_none_or(|status| crate::coverage::is_enabled(status.as_deref()));
        if !enabled {
            // --regions all lists only the enabled ones: a disabled region is not a gap there.
            if matches!(wanted, Regions::List(_)) {
                skipped.push(SkippedRegion {
                    region,
                    gap: RegionGap::NotEnabled,
                });
            }
            continue;
        }
        let in_region = config
            .to_builder()
            .region(aws_config::Region::new(region.clone()))
            .build();
        let name = region.clone();
        let handle = probes.spawn(async move {
            let refused = probe_call(&in_region).await;
            (region, refused)
        });
        probing.insert(handle.id(), name);
    }
    // Every candidate is probed, the home region too: AWS's region-deny SCP may deny
    // the caller's own home region (its example allows only eu-central-1 and
    // eu-west-1). A region's refusal counts as an SCP's only when some region
    // answered, so an allow-list SCP that never allows the call is no region gap.
    let mut answers = Vec::new();
    while let Some(joined) = probes.join_next().await {
        // A probe that stopped (a bug) decides nothing: its region is audited.
        answers.push(match joined {
            Ok(answer) => answer,
            Err(error) => (probing.remove(&error.id()).unwrap_or_default(), None),
        });
    }
    let some_answered = answers.iter().any(|(_, refused)| refused.is_none());
    for (region, refused) in answers {
        match denied_region(some_answered, refused.as_deref()) {
            Some(message) => skipped.push(SkippedRegion {
                region,
                gap: RegionGap::DeniedByScp(message),
            }),
            None => regions.push(region),
        }
    }
    regions.sort();
    skipped.sort_by(|a, b| a.region.cmp(&b.region));
    Ok((regions, skipped))
}

/// The probe: `ec2:DescribeVpcs` with `MaxResults` 5 (a small page; 5 to 1000 as
/// remembered from the EC2 API reference, not confirmed here), a call the
/// collection makes in every region anyway; the service's message when it fails,
/// `None` when it answered.
async fn probe_call(config: &SdkConfig) -> Option<String> {
    let error = aws_sdk_ec2::Client::new(config)
        .describe_vpcs()
        .max_results(5)
        .send()
        .await
        .err()?;
    Some(error.message().unwrap_or_default().to_owned())
}

/// Whether a region's probe answer means a service control policy denies the
/// region: the probe failed there with an SCP denial ([`crate::inventory::is_scp_denial`])
/// while the same call succeeded in some other region of the account. The service's first line, cut
/// of EC2's encoded authorization message.
pub fn denied_region(some_answered: bool, refused: Option<&str>) -> Option<String> {
    let message = refused?;
    (some_answered && crate::inventory::is_scp_denial(message))
        .then(|| crate::inventory::without_encoded_message(first_line(message)).into_owned())
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
        // Every part is given the one read (`collect_regions`); a part read on
        // its own, keep an answer over a failure.
        if metadata.organization_id.ok().is_none() && part.metadata.organization_id.ok().is_some() {
            metadata.organization_id = part.metadata.organization_id;
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

    #[test]
    fn accounts_done_out_of_order_are_handed_on_by_id() {
        // (finished, then handed on): each push and what it releases.
        let cases: &[(&[usize], &[&[usize]])] = &[
            (&[0, 1, 2], &[&[0], &[1], &[2]]),
            (&[2, 1, 0], &[&[], &[], &[0, 1, 2]]),
            (&[1, 0, 3, 2], &[&[], &[0, 1], &[], &[2, 3]]),
            (&[0, 2, 3, 1, 4], &[&[0], &[], &[], &[1, 2, 3], &[4]]),
        ];
        for (finished, released) in cases {
            let mut order = Reorder::default();
            for (index, expected) in finished.iter().zip(released.iter()) {
                assert_eq!(order.push(*index, *index), *expected, "{finished:?}");
            }
            assert_eq!(order.waiting(), 0);
        }
        let mut order = Reorder::default();
        assert_eq!(order.push(1, "b"), Vec::<&str>::new());
        assert_eq!(order.waiting(), 1);
        assert_eq!(order.push(0, "a"), ["a", "b"]);
        assert_eq!(
            order.push(0, "again"),
            Vec::<&str>::new(),
            "an index handed on is not taken twice"
        );
    }

    #[test]
    fn only_accounts_in_flight_count_against_the_bound() {
        // (in flight, --max-accounts, may another start): accounts done and held
        // back (spilled to disk) do not count, so a slow one stops nothing.
        for (in_flight, max, start) in [
            (0, 16, true),
            (15, 16, true),
            (16, 16, false),
            (10, 16, true),
            (1, 1, false),
            (0, 1, true),
            (0, 0, true),
            (1, 0, false),
        ] {
            assert_eq!(may_start(in_flight, max), start, "{in_flight} {max}");
        }
    }

    #[test]
    fn an_account_done_before_an_earlier_one_is_held_and_the_next_due_is_handed_on() {
        // (done in this order, whether each is due when done)
        let cases: &[(&[usize], &[bool])] = &[
            (&[0, 1, 2], &[true, true, true]),
            (&[2, 1, 0], &[false, false, true]),
            (&[1, 0, 3, 2], &[false, true, false, true]),
            (&[0, 2, 3, 1, 4], &[true, false, false, true, true]),
        ];
        for (finished, due) in cases {
            let mut order = Reorder::default();
            for (index, expected) in finished.iter().zip(due.iter()) {
                assert_eq!(order.is_due(*index), *expected, "{finished:?} {index}");
                order.push(*index, ());
            }
        }
    }

    #[test]
    fn an_account_done_early_is_held_and_a_write_error_stops_the_run() {
        let mut order = Reorder::default();
        let (mut spilled, mut emitted) = (Vec::new(), Vec::new());
        let mut hold = |item: usize| {
            spilled.push(item);
            ControlFlow::Continue(item)
        };
        let mut emit = |item: usize| {
            emitted.push(item);
            if item == 1 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        assert!(hand_on(&mut order, 2, 2, &mut hold, &mut emit).is_continue());
        assert!(hand_on(&mut order, 1, 1, &mut hold, &mut emit).is_continue());
        assert!(
            hand_on(&mut order, 0, 0, &mut hold, &mut emit).is_break(),
            "the write of account 1 failed: the run stops"
        );
        assert_eq!(spilled, [2, 1], "done before account 0: held (spilled)");
        assert_eq!(emitted, [0, 1], "nothing is written after the failure");
    }

    #[test]
    fn a_slow_account_does_not_stop_the_others_from_starting() {
        // Account 0 takes 25 "minutes", the 40 others one each, two at once: every
        // other account starts and finishes while 0 is in flight, held back.
        let (max, slow, accounts) = (2, 25, 41);
        let mut order = Reorder::default();
        let (mut in_flight, mut next, mut clock, mut held_max) = (Vec::new(), 0, 0, 0);
        while next < accounts || !in_flight.is_empty() {
            while next < accounts && may_start(in_flight.len(), max) {
                in_flight.push((next, clock + if next == 0 { slow } else { 1 }));
                next += 1;
            }
            in_flight.sort_by_key(|(_, at)| std::cmp::Reverse(*at));
            let (index, at) = in_flight.pop().expect("one in flight");
            clock = at;
            order.push(index, index);
            held_max = held_max.max(order.waiting());
        }
        // 25 others beside the slow one, then the last 15 two at a time (counting
        // the held ones against the bound, nothing starts beside it: 25 + 20).
        assert_eq!(clock, slow + 8, "the others ran beside the slow one");
        assert!(held_max >= slow - 1, "{held_max}");
    }

    #[test]
    fn an_account_past_its_deadline_is_not_audited_with_the_reason() {
        let target = Target {
            account_id: "111111111111".to_owned(),
            name: Some("slow".to_owned()),
            own: false,
        };
        let record = timed_out(&target, None, std::time::Duration::from_mins(30));
        assert_eq!(
            record.state(),
            "unreachable: audit:account-timeout failed (the account's audit did not finish within 30m (--account-timeout); raise --account-timeout, or lower --max-concurrency if the account's calls are throttled)"
        );
        let org = OrgInventory {
            accounts: vec![record],
            ..sample_org(&compliant_inventory())
        };
        assert_eq!(
            org.not_audited().accounts,
            1,
            "a coverage gap, counted as not audited"
        );
        for (duration, text) in [(90, "90s"), (120, "2m"), (7200, "2h"), (3660, "61m")] {
            assert_eq!(humane(std::time::Duration::from_secs(duration)), text);
        }
    }

    use super::*;
    use crate::checks::fixtures::compliant_inventory;
    use crate::coverage::NotAudited;
    use crate::finding::Status;
    use crate::policy::Policy;

    #[test]
    fn an_account_past_its_deadline_keeps_the_regions_it_finished() {
        let target = Target {
            account_id: "111111111111".to_owned(),
            name: None,
            own: false,
        };
        let timeout = std::time::Duration::from_mins(30);
        let regions: Vec<String> = ["us-east-1", "eu-west-1", "eu-west-2"]
            .map(str::to_owned)
            .into();
        let skipped = vec![SkippedRegion {
            region: "me-central-1".to_owned(),
            gap: RegionGap::NotEnabled,
        }];
        let panic: Box<dyn std::any::Any + Send> = Box::new("index out of bounds");
        let progress = Progress {
            probed: Some((regions.clone(), skipped.clone())),
            finished: BTreeMap::from([(0, compliant_inventory())]),
            failed: vec![crate::inventory::FailedRegion {
                region: "eu-west-2".to_owned(),
                error: crate::collect::panicked("eu-west-2", panic.as_ref()),
            }],
        };
        let record = past_deadline(&target, None, timeout, progress);
        // The scope says the account is only partly audited, and why.
        let state = record.state();
        assert!(
            state.starts_with("audited; 2 region(s) not audited (")
                && state.contains("stopped on a panic in the audit (index out of bounds)")
                && state.contains("did not finish within 30m"),
            "{state}"
        );
        let inventory = record.inventory().expect("collected");
        let audited: Vec<&str> = inventory
            .regions
            .iter()
            .map(|r| r.region.as_str())
            .collect();
        assert_eq!(audited, ["us-east-1"], "the region finished is kept");
        assert_eq!(inventory.skipped_regions, skipped);
        let findings = crate::account_result::account_findings(&record, &Policy::default(), false);
        let errors: Vec<(&str, &str, &str)> = findings
            .iter()
            .filter(|f| f.status == Status::Error)
            .map(|f| (f.check_id.as_str(), f.region.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert_eq!(errors[0].0, "region.collected");
        assert_eq!(errors[0].1, "eu-west-1");
        assert!(
            errors[0].2.starts_with(
                "region eu-west-1 was not audited: audit:account-timeout failed: the account's audit did not finish within 30m (--account-timeout)"
            ),
            "{errors:#?}"
        );
        assert_eq!(errors[1].1, "eu-west-2");
        assert!(
            errors[1].2.contains("index out of bounds"),
            "its own reason"
        );
        assert!(
            findings
                .iter()
                .any(|f| f.region == "us-east-1" && f.status == Status::Pass),
            "the finished region is checked"
        );
        assert!(
            findings
                .iter()
                .any(|f| f.region == "me-central-1" && f.status == Status::Skip)
        );
        let org = OrgInventory {
            accounts: vec![record],
            ..sample_org(&compliant_inventory())
        };
        assert_eq!(
            org.not_audited(),
            NotAudited {
                accounts: 0,
                regions: 3,
                audited: 1
            }
        );
        // Nothing collected yet, or not even probed: the account is not audited.
        for progress in [
            Progress::default(),
            Progress {
                probed: Some((regions, skipped)),
                ..Progress::default()
            },
        ] {
            let record = past_deadline(&target, None, timeout, progress);
            assert_eq!(record, timed_out(&target, None, timeout));
        }
    }

    #[test]
    fn a_probe_denied_in_a_region_marks_it_denied_only_when_another_region_answered() {
        let scp = "You are not authorized to perform this operation. User: x is not authorized to perform: ec2:DescribeVpcs with an explicit deny in a service control policy. Encoded authorization failure message: QmFzZTY0\nsecond line";
        let identity = "You are not authorized to perform this operation. User: x is not authorized to perform: ec2:DescribeVpcs because no identity-based policy allows the ec2:DescribeVpcs action";
        let cases = [
            // A region deny: answered elsewhere (the home region or not), denied there by an SCP.
            (true, Some(scp), true),
            // An allow-list SCP that never allows the probe: denied everywhere.
            (false, Some(scp), false),
            // A missing grant is the checks' ERROR, not a region gap.
            (true, Some(identity), false),
            (true, Some("dispatch failure"), false),
            (true, None, false),
            (false, None, false),
        ];
        for (some_answered, refused, denied) in cases {
            let gap = denied_region(some_answered, refused);
            assert_eq!(gap.is_some(), denied, "{some_answered} {refused:?}");
            if let Some(message) = gap {
                assert_eq!(
                    message,
                    "You are not authorized to perform this operation. User: x is not authorized to perform: ec2:DescribeVpcs with an explicit deny in a service control policy."
                );
            }
        }
    }

    #[test]
    fn an_account_with_no_region_audited_is_a_gap_not_an_audited_account() {
        let mut inventory = compliant_inventory();
        let org = sample_org(&inventory);
        assert_eq!(org.accounts[0].state(), "audited");
        assert_eq!(
            org.not_audited(),
            NotAudited {
                accounts: 1,
                regions: 0,
                audited: 1
            }
        );
        inventory.skipped_regions = vec![SkippedRegion {
            region: inventory.regions[0].region.clone(),
            gap: RegionGap::NotEnabled,
        }];
        inventory.regions.clear();
        let org = sample_org(&inventory);
        assert_eq!(
            org.accounts[0].state(),
            "not audited: none of its 1 region(s) could be audited"
        );
        assert_eq!(
            org.not_audited(),
            NotAudited {
                accounts: 2,
                regions: 0,
                audited: 0
            }
        );
    }

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
    }

    /// The accounts to audit (id, own) and the others (id, state).
    type Planned = (Vec<(String, bool)>, Vec<(String, String)>);

    #[test]
    fn every_listed_account_is_planned_once_with_its_state_by_id() {
        let listed = |id: &str, name: &str, state: &str| Listed {
            account_id: id.to_owned(),
            name: Some(name.to_owned()),
            state: state.to_owned(),
        };
        let org = vec![
            listed("333333333333", "sandbox", "ACTIVE"),
            listed("111111111111", "management", "ACTIVE"),
            listed("222222222222", "dev", "ACTIVE"),
            listed("444444444444", "old", "SUSPENDED"),
            listed("555555555555", "legal-hold", "ACTIVE"),
            listed("222222222222", "dev", "ACTIVE"),
        ];
        let exclude = vec!["555555555555".to_owned()];
        let summary = |plan: &Plan| -> Planned {
            (
                plan.targets
                    .iter()
                    .map(|t| (t.account_id.clone(), t.own))
                    .collect(),
                plan.not_audited
                    .iter()
                    .map(|r| (r.account_id.clone(), r.state()))
                    .collect(),
            )
        };
        let owned = |pairs: &[(&str, bool)]| -> Vec<(String, bool)> {
            pairs
                .iter()
                .map(|&(id, own)| (id.to_owned(), own))
                .collect()
        };
        // --organization from the management account: it is listed as excluded.
        let (targets, others) = summary(&plan(
            &org,
            "111111111111",
            Selection {
                exclude: &exclude,
                ..Selection::default()
            },
        ));
        assert_eq!(
            targets,
            owned(&[("222222222222", false), ("333333333333", false)])
        );
        assert_eq!(others.len(), 3, "{others:?}");
        assert_eq!(others[0].0, "111111111111");
        assert!(
            others[0]
                .1
                .starts_with("excluded: the caller's own account; pass --include-self")
        );
        assert_eq!(
            others[1],
            (
                "444444444444".to_owned(),
                "suspended (SUSPENDED)".to_owned()
            )
        );
        assert_eq!(
            others[2],
            (
                "555555555555".to_owned(),
                "excluded: named by --exclude-accounts".to_owned()
            )
        );
        // --include-self: the caller is audited with its own credentials, in id order.
        let (targets, _) = summary(&plan(
            &org,
            "111111111111",
            Selection {
                include_self: true,
                ..Selection::default()
            },
        ));
        assert_eq!(targets[0], ("111111111111".to_owned(), true));
        // --accounts naming the caller's own account: audited, no role to assume.
        let named = vec![
            listed("222222222222", "", "ACTIVE"),
            listed("111111111111", "", "ACTIVE"),
        ];
        let (targets, others) = summary(&plan(
            &named,
            "111111111111",
            Selection {
                named: true,
                ..Selection::default()
            },
        ));
        assert_eq!(
            targets,
            owned(&[("111111111111", true), ("222222222222", false)])
        );
        assert!(others.is_empty());
        // --include-self with accounts not naming the caller still adds it.
        let (targets, _) = summary(&plan(
            &named[..1],
            "999999999999",
            Selection {
                include_self: true,
                named: true,
                ..Selection::default()
            },
        ));
        assert_eq!(
            targets,
            owned(&[("222222222222", false), ("999999999999", true)])
        );
    }

    #[test]
    fn only_the_accounts_under_the_units_are_audited_and_units_are_validated() {
        let listed = |id: &str| Listed {
            account_id: id.to_owned(),
            name: None,
            state: "ACTIVE".to_owned(),
        };
        let org = [listed("111111111111"), listed("222222222222")];
        let under = std::collections::BTreeSet::from(["222222222222".to_owned()]);
        let planned = plan(
            &org,
            "999999999999",
            Selection {
                only: Some(&under),
                ..Selection::default()
            },
        );
        assert_eq!(planned.targets.len(), 1);
        assert_eq!(planned.targets[0].account_id, "222222222222");
        assert_eq!(
            planned.not_audited[0].state(),
            "excluded: not under the organisational units of --ous"
        );
        assert_eq!(
            parse_ous("ou-ab12-cdef3456, r-ab12,ou-ab12-cdef3456"),
            Ok(vec!["ou-ab12-cdef3456".to_owned(), "r-ab12".to_owned()])
        );
        for bad in [
            "",
            "ou-ab-cdef3456",
            "ou-ab12-cdef",
            "OU-AB12-CDEF3456",
            "111111111111",
            "ou-ab12-cdef3456,",
        ] {
            assert!(parse_ous(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_first_session_is_used_once_then_each_renewal_asks_sts_again() {
        use aws_credential_types::Credentials;
        use aws_credential_types::provider::ProvideCredentials as _;
        /// Counts the renewals, each a new session.
        #[derive(Debug, Default)]
        struct Sts(std::sync::atomic::AtomicUsize);
        impl aws_credential_types::provider::ProvideCredentials for Sts {
            fn provide_credentials<'a>(
                &'a self,
            ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
            where
                Self: 'a,
            {
                let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                let key = format!("RENEWED{n}");
                aws_credential_types::provider::future::ProvideCredentials::ready(Ok(
                    Credentials::new(key, "secret", None, None, "test"),
                ))
            }
        }
        let role = RenewedRole {
            first: std::sync::Mutex::new(Some(Credentials::new("FIRST", "s", None, None, "t"))),
            renew: Sts::default(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let keys: Vec<String> = (0..3)
            .map(|_| {
                runtime
                    .block_on(role.provide_credentials())
                    .expect("credentials")
                    .access_key_id()
                    .to_owned()
            })
            .collect();
        assert_eq!(keys, ["FIRST", "RENEWED1", "RENEWED2"]);
    }

    #[test]
    fn a_chained_session_asks_for_an_hour_at_most() {
        let hours = |h: u64| Some(std::time::Duration::from_secs(h * 3600));
        let user = "arn:aws:iam::111111111111:user/auditor";
        let role = "arn:aws:sts::111111111111:assumed-role/Auditor/ci";
        assert_eq!(session_duration(hours(4), user), hours(4));
        assert_eq!(session_duration(hours(4), role), hours(1));
        assert_eq!(
            session_duration(Some(std::time::Duration::from_mins(15)), role),
            Some(std::time::Duration::from_mins(15))
        );
        assert_eq!(session_duration(None, role), None);
        assert_eq!(
            session_name(user, "42-1700000000"),
            "audit-42-1700000000-auditor"
        );
        assert_eq!(session_name(role, "42-1"), "audit-42-1-ci");
        let long = format!("arn:aws:sts::1:assumed-role/R/{}", "a b".repeat(40));
        let name = session_name(&long, "42-1");
        assert!(name.len() == 64 && !name.contains(' '), "{name}");
    }

    #[test]
    fn an_unreachable_account_is_one_error_row_and_the_others_are_audited() {
        let org = sample_org(&compliant_inventory());
        let findings = evaluate_organization(&org, &Policy::default(), false);
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

    /// A region whose read of the organisation failed does not hide another
    /// region's answer, whichever comes first.
    #[test]
    fn merged_regions_keep_the_organisation_that_was_read() {
        let read = Collected::Ok(Some("o-tutorial123".to_owned()));
        let mut failed = compliant_inventory();
        failed.metadata.organization_id = Collected::Failed(CollectionError {
            action: "organizations:DescribeOrganization".to_owned(),
            access_denied: false,
            code: Some("TooManyRequestsException".to_owned()),
            message: "throttled".to_owned(),
        });
        let mut answered = failed.clone();
        answered.metadata.organization_id = read.clone();
        let merged = merge(vec![failed.clone(), answered.clone()]).expect("merged");
        assert_eq!(merged.metadata.organization_id, read);
        let merged = merge(vec![answered, failed]).expect("merged");
        assert_eq!(merged.metadata.organization_id, read);
    }
}
