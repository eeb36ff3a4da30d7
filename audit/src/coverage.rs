//! Coverage: which regions were audited, which were not and why, and what an
//! absent setup means when many regions are audited at once.
//!
//! Why it is shaped this way:
//! - **A region without the setup is one row, not a failure per check.** Auditing
//!   `--regions all` over an organisation asks every region of every account for the
//!   named setup; nearly all of them have none, and reporting each check's FAIL
//!   there would bury the few real failures under tens of thousands of rows. In a
//!   run over several regions or accounts, a region where no part of the setup
//!   exists (no VPC by its name, no database, none of the named secrets) is one
//!   SKIP row `region.setup-present` saying so; `--require-setup` keeps every
//!   check's FAIL instead, for a gate that expects the setup everywhere it looks. A
//!   region where *part* of the setup exists is checked as usual: a half-built
//!   setup is exactly what the checks are for. A single region named alone keeps
//!   the checks' FAILs: the user asked for the setup there.
//! - **A region the auditor may not call is one row, and its checks are not run.**
//!   Each account's regions are probed once before collection: an opt-in region
//!   the account has not enabled (`ec2:DescribeRegions`' `OptInStatus`
//!   `not-opted-in`), or one a service control policy denies (`ec2:DescribeVpcs`
//!   there is refused with "an explicit deny in a service control policy" while it
//!   answered in the home region; see `org::probe_regions`), becomes one
//!   SKIP row `region.reachable` with the reason, instead of one ERROR per check
//!   blaming the credentials or the clock. Such a region is counted as not
//!   audited ([`NotAudited`]), which the exit status reports apart from a failed check.
//!
//! The decisions are pure functions over the inventory and the exact documented
//! message formats, table-tested below.

use crate::finding::{CheckDefinition, Finding, Severity, Status};
use crate::inventory::{Collected, Inventory, RegionInventory};
pub use crate::inventory::{RegionGap, SkippedRegion};
use crate::policy::Policy;

/// The row of a region where no part of the named setup exists.
pub const SETUP_PRESENT: CheckDefinition = CheckDefinition {
    id: "region.setup-present",
    title: "The named setup exists in the region",
    severity: Severity::Informational,
    resource_type: "Other",
    remediation: "Nothing to do if the setup is not meant to be in this region; to require it in every region audited, pass --require-setup (each check then fails where it is absent), or name the setup's regions with --regions",
    compliance: &[],
    references: &[],
};

/// The row of a region the auditor could not call (not enabled, or denied by an SCP).
pub const REGION_REACHABLE: CheckDefinition = CheckDefinition {
    id: "region.reachable",
    title: "The auditor can call the region",
    severity: Severity::Medium,
    resource_type: "Other",
    remediation: "Enable the opt-in region for the account (Account Management, \"Specify which AWS Regions your account can use\") or exempt the auditor's role from the service control policy that denies the region; or leave the region out with --exclude-regions",
    compliance: &[],
    references: &[
        "https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html",
        "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples_general.html",
    ],
};

/// Whether `OptInStatus` (`opt-in-not-required`, `opted-in`, `not-opted-in`; EC2
/// API reference, `Region`) lets the account use the region.
pub fn is_enabled(opt_in_status: Option<&str>) -> bool {
    opt_in_status != Some("not-opted-in")
}

/// Whether no part of the named setup exists in this part of a region: no VPC by
/// its name, no database, no manual snapshot of it (a final snapshot left public
/// after the database was deleted is exactly what a check must see), none of the
/// named secrets (and, with `--all-secrets`, no secret at all). Anything not read
/// (a failed call, a list not asked for) is not "absent": its checks say what was
/// not read. A discovered setup is never absent.
pub fn setup_absent(region: &RegionInventory) -> bool {
    region.discovered.is_none()
        && matches!(region.vpc, Collected::Ok(None))
        && matches!(region.database, Collected::Ok(None))
        && matches!(&region.db_snapshots, Collected::Ok(snapshots) if snapshots.is_empty())
        && matches!(&region.secrets, Collected::Ok(secrets) if secrets.is_empty())
        && region.failed_secrets.is_empty()
}

/// How absent setups are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Coverage {
    /// `--require-setup`: every check fails where the setup is absent.
    pub require_setup: bool,
    /// The run covers several regions or accounts (an absent setup is then one row).
    pub many: bool,
}

/// The checks' findings, with each region without the setup as one row (unless
/// [`Coverage::require_setup`] or a single region), one SKIP row per region not
/// audited, in a stable order: by region, each region's in the checks' order.
pub fn evaluate(inventory: &Inventory, policy: &Policy, coverage: Coverage) -> Vec<Finding> {
    let account_id = inventory.metadata.account_id.clone();
    let absent: Vec<&str> = if coverage.many && !coverage.require_setup {
        inventory
            .regions
            .iter()
            .filter(|r| setup_absent(r))
            .map(|r| r.region.as_str())
            .collect()
    } else {
        Vec::new()
    };
    let mut findings: Vec<Finding> = crate::checks::evaluate(inventory, policy)
        .into_iter()
        .filter(|f| !absent.contains(&f.region.as_str()))
        .collect();
    for region in absent {
        findings.push(region_row(
            &SETUP_PRESENT,
            region,
            account_id.clone(),
            absent_message(region, inventory, policy),
        ));
    }
    for skipped in &inventory.skipped_regions {
        findings.push(region_row(
            &REGION_REACHABLE,
            &skipped.region,
            account_id.clone(),
            skipped.reason(),
        ));
    }
    sort(&mut findings);
    findings
}

/// The region of a row about the whole run or an account, not one region.
pub const GLOBAL_REGION: &str = "global";

/// The row of a run where the named setup was found nowhere.
pub const SETUP_FOUND: CheckDefinition = CheckDefinition {
    id: "setup.found",
    title: "The named setup exists in at least one region audited",
    severity: Severity::High,
    resource_type: "Other",
    remediation: "Check the names given (--secret-id, --db-instance-id, --vpc-id, the policy's vpc_name) for a misspelling and the regions (--regions) for the setup's, or whether the setup was deleted; --discover finds setups by their shape instead of their names. When regions or accounts were not read (an ERROR), exempt the auditor's role from the service control policy that denies them, or name the setup's regions with --regions or --exclude-regions",
    compliance: &[],
    references: &[],
};

/// One row when no audited region of the whole run (every account) holds any
/// part of the named setup: each region alone is only "not applicable"
/// ([`SETUP_PRESENT`]), so a misspelt `--secret-id`, or a setup deleted, would
/// otherwise pass. FAIL when every region and account was read; ERROR when some
/// region was not read (denied by an SCP, or stopped) or some account not reached
/// (see [`crate::account_result::RunTotals`]), since those could hold it: in an
/// organisation whose region-deny SCP (Control Tower's) leaves denied regions in
/// every account, a misspelling must still not pass. Only where the absent rule
/// applies (several regions or accounts, no `--require-setup`, whose checks fail
/// anyway), never with `--discover` (a discovery finding nothing is its own
/// answer), and only when some region was read.
pub fn setup_found<'a>(
    inventories: impl IntoIterator<Item = &'a Inventory>,
    policy: &Policy,
    coverage: Coverage,
) -> Option<Finding> {
    let mut tally = SetupTally::default();
    for inventory in inventories {
        tally.add(SetupTally::of(inventory));
    }
    tally.finding(policy, coverage)
}

/// What [`setup_found`] needs of each inventory, so a run that drops each
/// account's inventory once written can still decide it at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetupTally {
    inventories: usize,
    regions: usize,
    absent: usize,
    discover: bool,
    /// Regions not read: denied by an SCP, or stopped (their collection failed,
    /// or the account's deadline passed before them).
    unread_regions: usize,
    /// Accounts not reached (see [`SetupTally::unreachable`]).
    unread_accounts: usize,
    /// The first inventory's named setup and account.
    first: Option<NamedSetup>,
}

/// The setup an inventory was asked for by name, and its account.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NamedSetup {
    vpc_id: Option<String>,
    db_instance_id: String,
    secret_ids: Vec<String>,
    account_id: Option<String>,
}

impl SetupTally {
    /// Of one inventory.
    pub fn of(inventory: &Inventory) -> Self {
        let scope = &inventory.metadata.scope;
        Self {
            inventories: 1,
            regions: inventory.regions.len(),
            absent: inventory.regions.iter().filter(|r| setup_absent(r)).count(),
            discover: scope.discover,
            unread_regions: inventory.failed_regions.len()
                + inventory
                    .skipped_regions
                    .iter()
                    .filter(|r| matches!(r.gap, RegionGap::DeniedByScp(_)))
                    .count(),
            unread_accounts: 0,
            first: Some(NamedSetup {
                vpc_id: scope.vpc_id.clone(),
                db_instance_id: scope.db_instance_id.clone(),
                secret_ids: scope.secret_ids.clone(),
                account_id: inventory.metadata.account_id.clone(),
            }),
        }
    }

    /// Of an account not reached: it could hold the setup.
    pub fn unreachable() -> Self {
        Self {
            unread_accounts: 1,
            ..Self::default()
        }
    }

    /// Adds the tally of a later inventory.
    pub fn add(&mut self, other: Self) {
        self.inventories += other.inventories;
        self.regions += other.regions;
        self.absent += other.absent;
        self.discover |= other.discover;
        self.unread_regions += other.unread_regions;
        self.unread_accounts += other.unread_accounts;
        if self.first.is_none() {
            self.first = other.first;
        }
    }

    /// The row of [`setup_found`], when it applies.
    pub fn finding(&self, policy: &Policy, coverage: Coverage) -> Option<Finding> {
        if !coverage.many || coverage.require_setup {
            return None;
        }
        let NamedSetup {
            vpc_id,
            db_instance_id,
            secret_ids,
            account_id: account,
        } = self.first.as_ref()?;
        if self.discover || self.regions == 0 || self.absent < self.regions {
            return None;
        }
        let vpc = vpc_id
            .clone()
            .unwrap_or_else(|| format!("tagged Name={}", policy.vpc_name));
        let setup = format!(
            "the named setup (VPC {vpc}, database {db_instance_id}, secret {})",
            secret_ids.join(", ")
        );
        // A region an SCP denies the audit, or one whose collection stopped (past the
        // account's deadline too), or an account not reached, could hold the setup:
        // not evidence of a misspelling, nor of the setup's presence, so ERROR (the
        // run is undecided) rather than FAIL or nothing. (A region the account has
        // not enabled holds nothing one could use, so it is not counted.)
        let (status, message) = if self.unread_regions + self.unread_accounts > 0 {
            (
                Status::Error,
                format!(
                    "{setup} was found in 0 of {} region(s) read; {} region(s) and {} account(s) not read could hold it: a name may be misspelt, or the setup deleted",
                    self.regions, self.unread_regions, self.unread_accounts
                ),
            )
        } else {
            (
                Status::Fail,
                format!(
                    "{setup} was found in 0 of {} region(s) audited over {} account(s): a name may be misspelt, or the setup deleted",
                    self.regions, self.inventories
                ),
            )
        };
        // One account: the row is that account's; over several, the run's.
        let account_id = if self.inventories == 1 && self.unread_accounts == 0 {
            account.clone()
        } else {
            None
        };
        Some(row(
            &SETUP_FOUND,
            status,
            GLOBAL_REGION,
            format!("setup/{db_instance_id}"),
            account_id,
            message,
        ))
    }
}

/// Findings in a stable order: by account, then region; within a region, the
/// order the checks gave (the report order of [`crate::checks::CHECKS`]).
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| (&a.account_id, &a.region).cmp(&(&b.account_id, &b.region)));
}

fn absent_message(region: &str, inventory: &Inventory, policy: &Policy) -> String {
    let scope = &inventory.metadata.scope;
    let vpc = scope
        .vpc_id
        .clone()
        .unwrap_or_else(|| format!("tagged Name={}", policy.vpc_name));
    format!(
        "not applicable: no part of the setup is in region {region} (no VPC {vpc}, no database {}, no secret {}); its checks were not run here (--require-setup fails them instead)",
        scope.db_instance_id,
        scope.secret_ids.join(", ")
    )
}

fn region_row(
    definition: &CheckDefinition,
    region: &str,
    account_id: Option<String>,
    message: String,
) -> Finding {
    let resource = format!("region/{region}");
    row(
        definition,
        Status::Skip,
        region,
        resource,
        account_id,
        message,
    )
}

/// A finding about coverage (an account or a region), not about a resource of the
/// setup: no compliance ids, no setup.
pub(crate) fn row(
    definition: &CheckDefinition,
    status: Status,
    region: &str,
    resource: String,
    account_id: Option<String>,
    message: String,
) -> Finding {
    Finding {
        check_id: definition.id.to_owned(),
        title: definition.title.to_owned(),
        status,
        severity: definition.severity,
        region: region.to_owned(),
        resource,
        resource_type: definition.resource_type.to_owned(),
        message,
        remediation: definition.remediation.to_owned(),
        compliance: Vec::new(),
        references: definition
            .references
            .iter()
            .map(|&r| r.to_owned())
            .collect(),
        account_id,
        setup: None,
        muted: None,
    }
}

/// What a run did not audit: accounts and regions, for the exit status and the
/// one stderr line that counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotAudited {
    /// Accounts listed and not audited (unreachable; suspended and excluded
    /// accounts are not counted: they were not meant to be audited).
    pub accounts: usize,
    /// Regions of audited accounts not audited (not enabled, denied, stopped).
    pub regions: usize,
    /// Accounts audited (collected): none at all is a run that checked nothing.
    pub audited: usize,
}

impl NotAudited {
    /// Of one account's inventory: its skipped and stopped regions. An account
    /// collected with no region audited (every one denied, not enabled or stopped)
    /// had nothing checked: it is an account not audited, not an audited one
    /// whose regions are gaps, so a run of such accounts only is a run that
    /// checked nothing.
    pub fn of_inventory(inventory: &Inventory) -> Self {
        if inventory.regions.is_empty() {
            return Self {
                accounts: 1,
                regions: 0,
                audited: 0,
            };
        }
        Self {
            accounts: 0,
            regions: inventory.skipped_regions.len() + inventory.failed_regions.len(),
            audited: 1,
        }
    }

    pub fn any(&self) -> bool {
        self.accounts > 0 || self.regions > 0
    }

    pub fn add(&mut self, other: Self) {
        self.accounts += other.accounts;
        self.regions += other.regions;
        self.audited += other.audited;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::compliant_inventory;

    #[test]
    fn a_region_is_enabled_unless_not_opted_in() {
        for (status, enabled) in [
            (Some("opt-in-not-required"), true),
            (Some("opted-in"), true),
            (Some("not-opted-in"), false),
            (None, true),
        ] {
            assert_eq!(is_enabled(status), enabled, "{status:?}");
        }
    }

    fn absent_region(name: &str) -> RegionInventory {
        RegionInventory::empty(name)
    }

    #[test]
    fn a_region_without_the_setup_is_one_row_only_in_a_run_over_many() {
        let mut inventory = compliant_inventory();
        inventory.regions.push(absent_region("eu-west-3"));
        let policy = Policy::default();
        let checked = crate::checks::evaluate(&inventory, &policy);
        let in_absent = |f: &[Finding]| -> Vec<Finding> {
            f.iter()
                .filter(|f| f.region == "eu-west-3")
                .cloned()
                .collect()
        };
        assert!(
            in_absent(&checked)
                .iter()
                .filter(|f| f.status == Status::Fail)
                .count()
                > 5,
            "without the rule, every check fails in the empty region"
        );
        let many = Coverage {
            require_setup: false,
            many: true,
        };
        let findings = evaluate(&inventory, &policy, many);
        let rows = in_absent(&findings);
        assert_eq!(rows.len(), 1, "{rows:#?}");
        assert_eq!(
            (rows[0].check_id.as_str(), rows[0].status),
            ("region.setup-present", Status::Skip)
        );
        assert!(
            rows[0]
                .message
                .starts_with("not applicable: no part of the setup is in region eu-west-3"),
            "{}",
            rows[0].message
        );
        // The region with the setup is checked in full, and still passes.
        assert!(
            findings
                .iter()
                .filter(|f| f.region != "eu-west-3")
                .all(|f| f.status == Status::Pass)
        );
        // --require-setup, or one region alone: the checks' own FAILs.
        for coverage in [
            Coverage {
                require_setup: true,
                many: true,
            },
            Coverage {
                require_setup: false,
                many: false,
            },
        ] {
            let mut kept = in_absent(&evaluate(&inventory, &policy, coverage));
            let mut want = in_absent(&checked);
            sort(&mut kept);
            sort(&mut want);
            assert_eq!(kept, want, "{coverage:?}");
        }
    }

    #[test]
    fn part_of_a_setup_or_a_failed_read_is_not_an_absent_setup() {
        let empty = absent_region("eu-west-3");
        assert!(setup_absent(&empty));
        let half = RegionInventory {
            secrets: compliant_inventory().regions[0].secrets.clone(),
            ..absent_region("eu-west-3")
        };
        assert!(!setup_absent(&half), "a secret without its VPC is checked");
        let denied = RegionInventory {
            vpc: Collected::Failed(crate::inventory::CollectionError {
                action: "ec2:DescribeVpcs".to_owned(),
                access_denied: true,
                code: Some("UnauthorizedOperation".to_owned()),
                message: "denied".to_owned(),
            }),
            ..absent_region("eu-west-3")
        };
        assert!(!setup_absent(&denied), "what was not read is not absent");
        let skipped = RegionInventory {
            database: Collected::Skipped("not read".to_owned()),
            ..absent_region("eu-west-3")
        };
        assert!(!setup_absent(&skipped));
        // A snapshot left behind (a public final snapshot) keeps the region in
        // scope; a snapshot list not read is not an absence.
        let snapshot = RegionInventory {
            db_snapshots: Collected::Ok(vec![crate::inventory::DbSnapshot {
                id: "final".to_owned(),
                arn: "arn:aws:rds:eu-west-3:123456789012:snapshot:final".to_owned(),
                encrypted: Some(false),
                restore: Collected::Ok(vec!["all".to_owned()]),
                cluster: false,
            }]),
            ..absent_region("eu-west-3")
        };
        assert!(
            !setup_absent(&snapshot),
            "a snapshot left behind is checked"
        );
        let unread = RegionInventory {
            db_snapshots: Collected::Skipped("the setup's database is unknown".to_owned()),
            ..absent_region("eu-west-3")
        };
        assert!(!setup_absent(&unread), "an unread snapshot list");
    }

    /// Several regions, no `--require-setup`: where [`setup_found`] applies.
    const MANY: Coverage = Coverage {
        require_setup: false,
        many: true,
    };

    #[test]
    fn a_setup_found_in_no_region_of_the_run_is_one_failure() {
        let (policy, many) = (Policy::default(), MANY);
        let mut nowhere = compliant_inventory();
        nowhere.regions = vec![absent_region("eu-west-3"), absent_region("eu-north-1")];
        let mut other_account = nowhere.clone();
        other_account.regions = vec![absent_region("us-east-1")];
        let row = setup_found([&nowhere, &other_account], &policy, many).expect("one row");
        assert_eq!(
            (row.check_id.as_str(), row.status, row.region.as_str()),
            ("setup.found", Status::Fail, "global")
        );
        assert!(
            row.message
                .contains("was found in 0 of 3 region(s) audited over 2 account(s)"),
            "{}",
            row.message
        );
        // Found in one region of one account: no row.
        let found = compliant_inventory();
        assert_eq!(setup_found([&nowhere, &found], &policy, many), None);
        // --require-setup (its checks fail), one region alone, --discover, or
        // nothing audited: no row.
        let required = Coverage {
            require_setup: true,
            many: true,
        };
        assert_eq!(setup_found([&nowhere], &policy, required), None);
        assert_eq!(setup_found([&nowhere], &policy, Coverage::default()), None);
        let mut discovering = nowhere.clone();
        discovering.metadata.scope.discover = true;
        assert_eq!(setup_found([&discovering], &policy, many), None);
        let mut none = nowhere.clone();
        none.regions.clear();
        assert_eq!(setup_found([&none], &policy, many), None);
        // A region whose reads failed is not an absence: no row either.
        let mut failed = nowhere.clone();
        failed.regions[0].secrets = Collected::Skipped("not read".to_owned());
        assert_eq!(setup_found([&failed], &policy, many), None);
        // A region not audited (an SCP denies it, as Control Tower's region deny
        // does in every account) could hold the setup: the row stays, an ERROR
        // saying what was not read, so a misspelling is never a pass.
        let mut gap = nowhere.clone();
        gap.skipped_regions.push(SkippedRegion {
            region: "eu-west-1".to_owned(),
            gap: RegionGap::DeniedByScp("explicit deny in a service control policy".to_owned()),
        });
        let row = setup_found([&gap, &other_account], &policy, many).expect("a row");
        assert_eq!(
            (row.check_id.as_str(), row.status),
            ("setup.found", Status::Error)
        );
        assert!(
            row.message.contains(
                "found in 0 of 3 region(s) read; 1 region(s) and 0 account(s) not read could hold it"
            ),
            "{}",
            row.message
        );
        // A region the account has not enabled holds nothing: still a FAIL.
        let mut disabled = nowhere.clone();
        disabled.skipped_regions.push(SkippedRegion {
            region: "me-central-1".to_owned(),
            gap: RegionGap::NotEnabled,
        });
        let row = setup_found([&disabled], &policy, many).expect("a row");
        assert_eq!(row.status, Status::Fail);
        // Found somewhere, with a region not read elsewhere: no row.
        assert_eq!(setup_found([&gap, &found], &policy, many), None);
    }

    #[test]
    fn an_account_not_reached_makes_a_setup_found_nowhere_an_error_of_the_run() {
        let (policy, many) = (Policy::default(), MANY);
        let mut nowhere = compliant_inventory();
        nowhere.regions = vec![absent_region("eu-west-3")];
        let mut tally = SetupTally::of(&nowhere);
        tally.add(SetupTally::unreachable());
        tally.add(SetupTally::unreachable());
        let row = tally.finding(&policy, many).expect("a row");
        assert_eq!(
            (row.status, row.account_id.as_deref()),
            (Status::Error, None)
        );
        assert!(
            row.message.contains(
                "found in 0 of 1 region(s) read; 0 region(s) and 2 account(s) not read could hold it"
            ),
            "{}",
            row.message
        );
        // No account reached at all: nothing was read, the accounts' own rows say so.
        let mut none = SetupTally::unreachable();
        none.add(SetupTally::unreachable());
        assert_eq!(none.finding(&policy, many), None);
    }

    #[test]
    fn a_region_that_stopped_could_hold_the_setup_so_found_nowhere_is_an_error() {
        let (policy, mut nowhere) = (Policy::default(), compliant_inventory());
        let many = Coverage {
            many: true,
            ..Coverage::default()
        };
        nowhere.regions = vec![absent_region("eu-west-3")];
        assert!(setup_found([&nowhere], &policy, many).is_some());
        nowhere.failed_regions.push(crate::inventory::FailedRegion {
            region: "eu-west-1".to_owned(),
            error: crate::inventory::CollectionError {
                action: "audit:account-timeout".to_owned(),
                access_denied: false,
                code: None,
                message: "the account's audit did not finish within 30m".to_owned(),
            },
        });
        let row = setup_found([&nowhere], &policy, many).expect("still a row");
        assert_eq!(row.status, Status::Error);
        assert!(
            row.message.contains(
                "found in 0 of 1 region(s) read; 1 region(s) and 0 account(s) not read could hold it"
            ),
            "{}",
            row.message
        );
    }

    #[test]
    fn a_region_not_audited_is_one_skip_row_with_its_reason_and_counts() {
        let mut inventory = compliant_inventory();
        inventory.skipped_regions = vec![
            SkippedRegion {
                region: "me-central-1".to_owned(),
                gap: RegionGap::NotEnabled,
            },
            SkippedRegion {
                region: "ap-south-1".to_owned(),
                gap: RegionGap::DeniedByScp(
                    "User: x is not authorized to perform: ec2:DescribeRegions with an explicit deny in a service control policy".to_owned(),
                ),
            },
        ];
        let findings = evaluate(&inventory, &Policy::default(), Coverage::default());
        let rows: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.check_id == "region.reachable")
            .collect();
        assert_eq!(rows.len(), 2, "{rows:#?}");
        assert!(rows.iter().all(|f| f.status == Status::Skip));
        assert_eq!(rows[0].region, "ap-south-1", "sorted by region");
        assert!(
            rows[0]
                .message
                .contains("a service control policy denies it")
        );
        assert!(rows[1].message.contains("has not enabled"));
        assert_eq!(
            NotAudited::of_inventory(&inventory),
            NotAudited {
                accounts: 0,
                regions: 2,
                audited: 1
            }
        );
        // Sorted by region, whatever order the regions were collected in.
        let regions: Vec<&str> = findings.iter().map(|f| f.region.as_str()).collect();
        let mut sorted = regions.clone();
        sorted.sort_unstable();
        assert_eq!(regions, sorted);

        // Every region a gap: the account was not audited, and a run of it alone
        // checked nothing.
        inventory.regions.clear();
        let gaps = NotAudited::of_inventory(&inventory);
        assert_eq!(
            gaps,
            NotAudited {
                accounts: 1,
                regions: 0,
                audited: 0
            }
        );
        assert_eq!(
            crate::exit_status(&crate::finding::Summary::default(), false, gaps),
            crate::EXIT_RUNTIME_ERROR
        );
    }
}
