//! What a check says: its definition, its verdict on one resource, and the
//! counts of a run. Below the checks, the reports and the organisation run, so
//! that each of them depends on this model and not on the list of checks.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The outcome of a check for one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pass,
    Fail,
    Error,
    Skip,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Error => "ERROR",
            Status::Skip => "SKIP",
        })
    }
}

/// How much a failure matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

/// What a check is, independent of any resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckDefinition {
    /// Stable id (endpoint checks append the service: `vpc.endpoint.rds`).
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// The kind of resource, as Security Hub names it.
    pub resource_type: &'static str,
    pub remediation: &'static str,
    /// Compliance framework ids this check maps to.
    pub compliance: &'static [&'static str],
    /// Documentation for the remediation.
    pub references: &'static [&'static str],
}

/// One check's verdict on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub check_id: String,
    pub title: String,
    pub status: Status,
    pub severity: Severity,
    pub region: String,
    /// The resource's ARN (or id, when no ARN can be formed).
    pub resource: String,
    pub resource_type: String,
    /// What was found, and what was expected.
    pub message: String,
    pub remediation: String,
    pub compliance: Vec<String>,
    pub references: Vec<String>,
    /// The audited account, when known (every finding of a run over several accounts has it).
    #[serde(default)]
    pub account_id: Option<String>,
    /// The audited setup: the VPC's `Name` tag (or id), else the name it was looked
    /// for by; with `--discover`, the name of the secret the setup was found by.
    #[serde(default)]
    pub setup: Option<String>,
    /// Set when a `--mutelist` entry accepts this finding: it keeps its status and
    /// evidence, is shown as MUTED, and no longer decides the exit status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<Muted>,
}

/// Why a finding is muted (a `--mutelist` entry, see [`crate::mutelist`]), as every
/// format shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Muted {
    pub reason: String,
    /// The last day the entry mutes (`YYYY-MM-DD`, UTC).
    pub expires: String,
    /// The entry's position in the file (1-based), to find it.
    pub entry: usize,
    /// How the entry matched: `tag k=v` when the resource's own tags decided it
    /// (whoever may tag the resource in the audited account can set it), else
    /// `resource`, `resource and tag k=v`, `account`, `region` or `check`.
    #[serde(default)]
    pub matched_by: String,
}

impl Finding {
    /// `muted (FAIL) until 2027-03-31 by mutelist entry 1 (matched by tag
    /// exception=SEC-1): <reason>`, when muted.
    pub fn muted_note(&self) -> Option<String> {
        self.muted.as_ref().map(|m| {
            let how = if m.matched_by.is_empty() {
                String::new()
            } else {
                format!(" (matched by {})", m.matched_by)
            };
            format!(
                "muted ({}) until {} by mutelist entry {}{how}: {}",
                self.status, m.expires, m.entry, m.reason
            )
        })
    }
}

/// PASS/FAIL/ERROR/SKIP counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
    /// Findings a `--mutelist` entry accepts, whatever their status (not counted above).
    #[serde(default)]
    pub muted: usize,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Self {
        let mut summary = Self::default();
        for finding in findings {
            if finding.muted.is_some() {
                summary.muted += 1;
                continue;
            }
            match finding.status {
                Status::Pass => summary.pass += 1,
                Status::Fail => summary.fail += 1,
                Status::Error => summary.error += 1,
                Status::Skip => summary.skip += 1,
            }
        }
        summary
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} errors, {} skipped",
            self.pass, self.fail, self.error, self.skip
        )?;
        if self.muted > 0 {
            write!(f, ", {} muted", self.muted)?;
        }
        Ok(())
    }
}
