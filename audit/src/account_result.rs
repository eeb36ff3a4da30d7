//! One account's result, decided once for every way a run is reported.
//!
//! Why it is a module of its own, outside `report/`:
//! - **One set of rules.** What an account yields (its checks, a region without
//!   the setup as one row, the ERROR row of an account not reached, the mutelist
//!   applied with its secrets' tags, what it adds to the run's counts: API
//!   requests, regions and accounts not audited, setups discovered, the "setup
//!   found nowhere" tally) is decided here by [`finish_account`], and nowhere
//!   else. A run written as each account finishes (`report::stream`) folds its
//!   accounts one at a time; a whole run held in memory ([`whole_run`],
//!   [`evaluate_organization`]) and a single account ([`single_account`]) are
//!   the same fold, so the paths cannot drift apart.
//! - **Not a report format.** The reports render findings; they do not decide
//!   them. Kept apart, the decision stands on the evidence's data
//!   ([`crate::org_inventory`]), the checks and the mutelist only, below both the
//!   collection engine ([`crate::org`], which hands its names on) and the
//!   reports, with no loop of imports.

use crate::coverage::{Coverage, NotAudited, SetupTally};
use crate::finding::{CheckDefinition, Finding, Severity, Status};
use crate::inventory::{CollectionError, Inventory, first_line};
use crate::mutelist::{EntryUse, Mutelist, ResourceTags};
use crate::org_inventory::{AccountOutcome, AccountRecord, OrgInventory, account_label};
use crate::policy::Policy;

/// How each account is evaluated, the same for all.
#[derive(Debug, Clone)]
pub struct Settings {
    pub policy: Policy,
    pub require_setup: bool,
    pub mutelist: Option<Mutelist>,
    /// The day the mutelist's expiries are judged on.
    pub today: time::Date,
    /// Serialise each account for the evidence file (`--save-inventory`).
    pub evidence: bool,
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

/// The region of an account-level finding (the account could not be reached).
pub const ACCOUNT_REGION: &str = crate::coverage::GLOBAL_REGION;

/// One account, decided: its findings (muted where the mutelist says) and what
/// it adds to the run's counts.
#[derive(Debug)]
pub struct AccountResult {
    pub findings: Vec<Finding>,
    pub totals: RunTotals,
}

/// What is added up over the accounts of a run, beside the findings.
#[derive(Debug, Default)]
pub struct RunTotals {
    /// What became of each mutelist entry.
    pub mutelist: Vec<EntryUse>,
    tally: SetupTally,
    pub api_requests: u64,
    pub gaps: NotAudited,
    /// With `--discover`: each setup found, `secret (region)`.
    pub discovered: Vec<String>,
}

impl RunTotals {
    pub fn add(&mut self, more: Self) {
        crate::mutelist::merge_uses(&mut self.mutelist, more.mutelist);
        self.tally.add(more.tally);
        self.api_requests += more.api_requests;
        self.gaps.add(more.gaps);
        self.discovered.extend(more.discovered);
    }

    /// The run's own rows, once every account is added: the setup found nowhere
    /// (an ERROR when a region or an account not read could hold it), muted as any
    /// other finding.
    pub fn end_rows(&mut self, settings: &Settings, coverage: Coverage) -> Vec<Finding> {
        let mut rows: Vec<Finding> = self
            .tally
            .finding(&settings.policy, coverage)
            .into_iter()
            .collect();
        if let Some(list) = &settings.mutelist {
            let uses = list.apply(&mut rows, settings.today, &ResourceTags::default());
            crate::mutelist::merge_uses(&mut self.mutelist, uses);
        }
        rows
    }
}

/// Evaluates one account of a run over several (its checks, muted by the
/// mutelist with its secrets' tags) and what it adds to the run's counts.
pub fn finish_account(record: &AccountRecord, settings: &Settings) -> AccountResult {
    let findings = account_findings(record, &settings.policy, settings.require_setup);
    let gaps = match &record.outcome {
        AccountOutcome::Collected(inventory) => NotAudited::of_inventory(inventory),
        AccountOutcome::Unreachable(_) => NotAudited {
            accounts: 1,
            ..NotAudited::default()
        },
        AccountOutcome::Suspended(_) | AccountOutcome::Excluded(_) => NotAudited::default(),
    };
    let unreachable = matches!(record.outcome, AccountOutcome::Unreachable(_));
    decided(findings, record.inventory(), gaps, unreachable, settings)
}

/// The audit of one account alone (no `--accounts`): the same decision as an
/// account of a run over several, a fold of one, except that a region without
/// the setup is one row only when several regions were asked for, and the
/// findings are sorted with the run's own row among them (by account and region).
pub fn single_account(inventory: &Inventory, settings: &Settings) -> AccountResult {
    let regions = inventory.metadata.scope.regions.len() + inventory.skipped_regions.len();
    let coverage = Coverage {
        require_setup: settings.require_setup,
        many: regions > 1,
    };
    let findings = evaluated(inventory, None, &settings.policy, coverage);
    let gaps = NotAudited::of_inventory(inventory);
    let mut result = decided(findings, Some(inventory), gaps, false, settings);
    let rows = result.totals.end_rows(settings, coverage);
    result.findings.extend(rows);
    crate::coverage::sort(&mut result.findings);
    result
}

/// A whole run at once: [`finish_account`] folded over `accounts` (in their
/// order), then the run's own rows. What a run written account by account
/// gives, held in memory.
pub fn whole_run<'a>(
    accounts: impl IntoIterator<Item = &'a AccountRecord>,
    settings: &Settings,
) -> AccountResult {
    let mut findings = Vec::new();
    let mut totals = RunTotals::default();
    for account in accounts {
        let done = finish_account(account, settings);
        findings.extend(done.findings);
        totals.add(done.totals);
    }
    findings.extend(totals.end_rows(settings, org_coverage(settings.require_setup)));
    AccountResult { findings, totals }
}

/// Findings of every account, without a mutelist: each collected account's
/// checks, with its id (a region without the setup as one row, unless
/// `require_setup`; see [`crate::coverage`]), and one ERROR finding per account
/// that could not be reached. Suspended and excluded accounts have no finding:
/// the report's scope lists them with their state. Accounts come in the order of
/// the inventory (by id). [`whole_run`] without a mutelist.
pub fn evaluate_organization(
    org: &OrgInventory,
    policy: &Policy,
    require_setup: bool,
) -> Vec<Finding> {
    let settings = Settings {
        policy: policy.clone(),
        require_setup,
        mutelist: None,
        today: org.collected_at.date(),
        evidence: false,
    };
    whole_run(&org.accounts, &settings).findings
}

/// How a run over several accounts treats a region without the setup.
pub fn org_coverage(require_setup: bool) -> Coverage {
    Coverage {
        require_setup,
        many: true,
    }
}

/// The findings of one account of a run over several: its checks, each with its
/// id, or the one ERROR row of an account not reached; none for an account
/// suspended or excluded.
pub fn account_findings(
    account: &AccountRecord,
    policy: &Policy,
    require_setup: bool,
) -> Vec<Finding> {
    match &account.outcome {
        AccountOutcome::Collected(inventory) => evaluated(
            inventory,
            Some(&account.account_id),
            policy,
            org_coverage(require_setup),
        ),
        AccountOutcome::Unreachable(error) => vec![unreachable_finding(account, error)],
        AccountOutcome::Suspended(_) | AccountOutcome::Excluded(_) => Vec::new(),
    }
}

/// The checks of `inventory` under `coverage`, each naming `account_id` when
/// the inventory does not name its own.
fn evaluated(
    inventory: &Inventory,
    account_id: Option<&str>,
    policy: &Policy,
    coverage: Coverage,
) -> Vec<Finding> {
    let mut findings = crate::coverage::evaluate(inventory, policy, coverage);
    if let Some(account_id) = account_id {
        for finding in &mut findings {
            finding
                .account_id
                .get_or_insert_with(|| account_id.to_owned());
        }
    }
    findings
}

/// `findings` of an account muted (with its secrets' tags), and its counts.
fn decided(
    mut findings: Vec<Finding>,
    inventory: Option<&Inventory>,
    gaps: NotAudited,
    unreachable: bool,
    settings: &Settings,
) -> AccountResult {
    let mutelist = match &settings.mutelist {
        Some(list) => list.apply(&mut findings, settings.today, &ResourceTags::of(inventory)),
        None => Vec::new(),
    };
    AccountResult {
        findings,
        totals: RunTotals {
            mutelist,
            tally: match inventory {
                Some(inventory) => SetupTally::of(inventory),
                None if unreachable => SetupTally::unreachable(),
                None => SetupTally::default(),
            },
            api_requests: inventory.map_or(0, |i| i.metadata.api_requests),
            gaps,
            discovered: inventory
                .into_iter()
                .flat_map(|i| &i.regions)
                .filter_map(|r| {
                    let setup = r.discovered.as_ref()?;
                    Some(format!("{} ({})", setup.secret_name, r.region))
                })
                .collect(),
        },
    }
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
    crate::coverage::row(
        definition,
        Status::Error,
        ACCOUNT_REGION,
        resource,
        Some(account.account_id.clone()),
        format!(
            "{} was not audited: {} failed ({reason})",
            account_label(&account.account_id, account.name.as_deref()),
            error.action
        ),
    )
}
