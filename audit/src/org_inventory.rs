//! The evidence of a run over several accounts: one [`OrgInventory`] file
//! holding, for every account listed, its single-account [`Inventory`] or why
//! it was not audited ([`AccountOutcome`]).
//!
//! Why it is a module of its own: these are plain serde data, read by the
//! collection ([`crate::org`]), by the per-account decision
//! ([`crate::account_result`]) and by the reports; kept apart from the
//! collection engine, the decision can stand on them without importing the
//! engine, and the engine can hand the decision's functions on (`org::...`)
//! without a loop of imports.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::coverage::NotAudited;
use crate::inventory::{CollectionError, Inventory, first_line};

/// `format` of an organisation inventory file.
pub const ORG_INVENTORY_FORMAT: &str = "audit-organization-inventory";

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
    /// Listed by Organizations but not active (`SUSPENDED`, `PENDING_CLOSURE`, ...):
    /// nothing can be audited there; listed in the scope with its state.
    Suspended(String),
    /// Left out on purpose (`--exclude-accounts`, or the caller's own account
    /// without `--include-self`), with the reason; listed in the scope.
    Excluded(String),
}

impl AccountRecord {
    /// The account's state, for the report's scope: `audited`, `audited; N
    /// region(s) not audited (<reason>)` (some regions stopped, past the account's
    /// deadline or failed), `not audited: ...` (collected, no region audited), `unreachable: <why>`, `suspended (<status>)`,
    /// `excluded: <why>`.
    pub fn state(&self) -> String {
        match &self.outcome {
            // Collected with every region a gap: nothing was checked there.
            AccountOutcome::Collected(inventory) if inventory.regions.is_empty() => format!(
                "not audited: none of its {} region(s) could be audited",
                inventory.skipped_regions.len() + inventory.failed_regions.len()
            ),
            AccountOutcome::Collected(inventory) if !inventory.failed_regions.is_empty() => {
                let failed = &inventory.failed_regions;
                let mut reasons: Vec<&str> = Vec::new();
                for region in failed {
                    let reason = first_line(&region.error.message);
                    if !reasons.contains(&reason) {
                        reasons.push(reason);
                    }
                }
                format!(
                    "audited; {} region(s) not audited ({})",
                    failed.len(),
                    reasons.join("; ")
                )
            }
            AccountOutcome::Collected(_) => "audited".to_owned(),
            AccountOutcome::Unreachable(error) => format!(
                "unreachable: {} failed ({})",
                error.action,
                first_line(&error.message)
            ),
            AccountOutcome::Suspended(status) => format!("suspended ({status})"),
            AccountOutcome::Excluded(reason) => format!("excluded: {reason}"),
        }
    }

    /// The inventory, when the account was collected.
    pub fn inventory(&self) -> Option<&Inventory> {
        match &self.outcome {
            AccountOutcome::Collected(inventory) => Some(inventory.as_ref()),
            _ => None,
        }
    }
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
            .filter_map(AccountRecord::inventory)
            .map(|inventory| inventory.metadata.api_requests)
            .sum()
    }

    /// Accounts listed and not audited (unreachable), and regions of the audited
    /// ones not audited (not enabled, denied by an SCP, stopped).
    pub fn not_audited(&self) -> NotAudited {
        let mut gaps = NotAudited::default();
        for account in &self.accounts {
            match &account.outcome {
                AccountOutcome::Collected(inventory) => {
                    gaps.add(NotAudited::of_inventory(inventory));
                }
                AccountOutcome::Unreachable(_) => gaps.accounts += 1,
                AccountOutcome::Suspended(_) | AccountOutcome::Excluded(_) => {}
            }
        }
        gaps
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

/// `account 111111111111 (name)`, or without the name when there is none.
pub fn account_label(account_id: &str, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("account {account_id} ({name})"),
        None => format!("account {account_id}"),
    }
}
