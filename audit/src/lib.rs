//! A read-only compliance auditor for the Secrets Manager alternating-users setup.
//!
//! Auditors need to prove that an account is what the tutorial describes (a VPC
//! with DNS and interface endpoints, a bastion reachable by SSH from one address,
//! a private RDS instance with an RDS-managed admin secret, an application secret
//! rotated every two days by a function in the VPC) and that it stays so. Today's
//! tools check parts of this and miss others (protocol `-1`, port ranges, `::/0`,
//! endpoints' private DNS and AZ coverage, `masterarn`, database grants).
//!
//! The audit runs in two phases, and the split is the point of the design:
//!
//! 1. [`collect`] reads an [`Inventory`] with Describe/List/Get calls only (the
//!    table in [`calls`] names every one, and `--print-policy` prints the IAM
//!    policy derived from it). Failures are recorded per part, with the IAM
//!    action, instead of aborting.
//! 2. [`checks::evaluate`] turns the inventory and a [`Policy`] into [`Finding`]s
//!    with pure functions. An inventory saved as JSON is evidence: it can be
//!    evaluated again, offline, and gives the same findings.
//!
//! [`report`] renders findings as a table, JSON (stable schema), OCSF, JUnit XML,
//! CSV or a self-contained HTML page. Secret values are read only with `--read-secrets`, kept in
//! [`sensitive::SensitiveString`], and never written anywhere.

pub mod account_result;
pub mod calls;
pub mod checks;
pub mod collect;
pub mod coverage;
pub mod discover;
pub mod finding;
pub mod iam_eval;
pub mod inventory;
pub mod mutelist;
pub mod org;
pub mod org_inventory;
pub mod policy;
pub mod report;
pub mod role_template;
pub mod sensitive;

pub use checks::evaluate;
pub use collect::{CollectRequest, collect};
pub use finding::{Finding, Severity, Status, Summary};
pub use inventory::Inventory;
pub use policy::Policy;
pub use report::{Format, Report};

/// The tool's name in reports.
pub const TOOL: &str = "audit";
/// The tool's version in reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Exit code when every finding passed (or was skipped).
pub const EXIT_OK: u8 = 0;
/// Exit code on a runtime error, or when a check could not run (ERROR findings).
pub const EXIT_RUNTIME_ERROR: u8 = 1;
/// Exit code on a usage error (bad flags, unreadable policy).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when any finding failed.
pub const EXIT_FAILED: u8 = 3;
/// Exit code when no finding failed but some accounts or regions were not audited
/// (an account unreachable, a region not enabled, denied by an SCP, or stopped).
pub const EXIT_NOT_AUDITED: u8 = 4;

/// The process exit code for a set of findings: 3 if any failed, else 1 if any
/// check could not run, else 0. Skipped checks (SKIP) do not change it; see
/// [`exit_code_with`] for CI gates that want them to.
pub fn exit_code(summary: &Summary) -> u8 {
    exit_code_with(summary, false)
}

/// [`exit_code`], where `fail_on_skip` (`--fail-on-skip`) makes a skipped check
/// count as a failure (3): a gate that must prove every check ran.
pub fn exit_code_with(summary: &Summary, fail_on_skip: bool) -> u8 {
    if summary.fail > 0 || (fail_on_skip && summary.skip > 0) {
        EXIT_FAILED
    } else if summary.error > 0 {
        EXIT_RUNTIME_ERROR
    } else {
        EXIT_OK
    }
}

/// [`exit_code_with`], where a run that left accounts or regions unaudited
/// (`gaps`) exits [`EXIT_NOT_AUDITED`] only when nothing worse happened. In order:
/// 3 when a check failed, 1 when a check could not run (ERROR) or when no account
/// was audited at all (nothing was checked, so nothing passed), 4 when something
/// was not audited, else 0. The coverage line on stderr counts the gaps whichever
/// code wins.
pub fn exit_status(summary: &Summary, fail_on_skip: bool, gaps: coverage::NotAudited) -> u8 {
    match exit_code_with(summary, fail_on_skip) {
        EXIT_OK if gaps.audited == 0 => EXIT_RUNTIME_ERROR,
        EXIT_OK if gaps.any() => EXIT_NOT_AUDITED,
        code => code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_coverage_gap_has_its_own_exit_code_below_a_failure() {
        let summary = |fail, error| Summary {
            pass: 1,
            fail,
            error,
            skip: 1,
            muted: 0,
        };
        let none = coverage::NotAudited {
            audited: 1,
            ..coverage::NotAudited::default()
        };
        let one_region = coverage::NotAudited { regions: 1, ..none };
        let one_account = coverage::NotAudited {
            accounts: 1,
            ..none
        };
        let nothing_audited = coverage::NotAudited {
            accounts: 2,
            ..coverage::NotAudited::default()
        };
        assert_eq!(exit_status(&summary(0, 0), false, none), EXIT_OK);
        assert_eq!(
            exit_status(&summary(0, 0), false, one_region),
            EXIT_NOT_AUDITED
        );
        // 3 > 1 > 4: an ERROR row outranks a gap, a failure outranks both.
        assert_eq!(
            exit_status(&summary(0, 1), false, one_account),
            EXIT_RUNTIME_ERROR
        );
        assert_eq!(exit_status(&summary(1, 1), false, one_account), EXIT_FAILED);
        assert_eq!(exit_status(&summary(1, 0), false, one_account), EXIT_FAILED);
        assert_eq!(exit_status(&summary(0, 1), false, none), EXIT_RUNTIME_ERROR);
        assert_eq!(exit_status(&summary(0, 0), true, one_region), EXIT_FAILED);
        // No account audited at all: nothing was checked, a runtime failure.
        assert_eq!(
            exit_status(&summary(0, 0), false, nothing_audited),
            EXIT_RUNTIME_ERROR
        );
        assert_eq!(
            exit_status(&summary(0, 0), false, coverage::NotAudited::default()),
            EXIT_RUNTIME_ERROR
        );
    }

    #[test]
    fn failures_outrank_errors_in_the_exit_code() {
        let summary = |fail, error| Summary {
            pass: 1,
            fail,
            error,
            skip: 1,
            muted: 2,
        };
        assert_eq!(exit_code(&summary(0, 0)), EXIT_OK);
        assert_eq!(exit_code(&summary(0, 1)), EXIT_RUNTIME_ERROR);
        assert_eq!(exit_code(&summary(1, 1)), EXIT_FAILED);
        // Skipped checks: 0 unless the gate asks for every check to run.
        assert_eq!(exit_code_with(&summary(0, 0), false), EXIT_OK);
        assert_eq!(exit_code_with(&summary(0, 0), true), EXIT_FAILED);
        assert_eq!(exit_code_with(&summary(0, 1), true), EXIT_FAILED);
        let no_skip = Summary {
            pass: 1,
            fail: 0,
            error: 0,
            skip: 0,
            muted: 0,
        };
        assert_eq!(exit_code_with(&no_skip, true), EXIT_OK);
    }

    #[test]
    fn a_saved_inventory_evaluates_to_the_same_findings() {
        let inventory = checks::fixtures::compliant_inventory();
        let saved = serde_json::to_string_pretty(&inventory).expect("save");
        let loaded: Inventory = serde_json::from_str(&saved).expect("load");
        assert_eq!(loaded, inventory);
        assert_eq!(
            evaluate(&loaded, &Policy::default()),
            evaluate(&inventory, &Policy::default())
        );
    }
}
