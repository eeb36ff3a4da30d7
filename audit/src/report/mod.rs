//! Reports: the same findings in the formats auditors already consume.
//!
//! Every format is a pure function from a [`Report`] to text, so each is unit
//! tested for well-formedness (JSON parses, JUnit XML is escaped, CSV is quoted,
//! HTML is escaped and loads nothing).
//! The JSON format is the stable, documented one (see [`json`]); the others are
//! views of it.

pub mod csv;
pub mod files;
pub mod html;
pub mod json;
pub mod junit;
pub mod ocsf;
pub mod stream;
pub mod table;

use serde::{Deserialize, Serialize};

use crate::discover::ExcludedSecret;
use crate::finding::{Finding, Status, Summary};
use crate::inventory::Inventory;
use crate::mutelist::{EntryUse, Mutelist, ResourceTags};
use crate::org_inventory::{Caller, OrgInventory};

/// A report format (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for the terminal, one row per finding, and a summary line.
    Table,
    /// The stable JSON schema: tool, version, scope, findings, summary.
    Json,
    /// OCSF Compliance Finding objects (class_uid 2003), one per finding.
    Ocsf,
    /// JUnit XML: a test case per finding, for CI systems.
    Junit,
    /// CSV with a header row, for spreadsheets.
    Csv,
    /// JSON Lines: one finding a line (the JSON format's finding), written as each account finishes in a run over several; the summary is on standard error.
    Jsonl,
    /// One self-contained HTML page to attach to an audit: summaries per account and check, then each account and check as a collapsible section with every finding that is not a PASS in full (loads nothing; use with --output).
    Html,
}

/// A status as the reports name it: a finding's own, or MUTED when a mutelist
/// entry accepts it (`--status` lists only these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "UPPERCASE")]
pub enum ShownStatus {
    #[value(name = "PASS")]
    Pass,
    #[value(name = "FAIL")]
    Fail,
    #[value(name = "ERROR")]
    Error,
    #[value(name = "SKIP")]
    Skip,
    #[value(name = "MUTED")]
    Muted,
}

impl ShownStatus {
    /// How `finding` is shown: MUTED when muted, else its status.
    pub fn of(finding: &Finding) -> Self {
        if finding.muted.is_some() {
            return Self::Muted;
        }
        match finding.status {
            Status::Pass => Self::Pass,
            Status::Fail => Self::Fail,
            Status::Error => Self::Error,
            Status::Skip => Self::Skip,
        }
    }
}

impl std::fmt::Display for ShownStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Error => "ERROR",
            Self::Skip => "SKIP",
            Self::Muted => "MUTED",
        })
    }
}

/// What was audited, as reported.
#[allow(clippy::struct_excessive_bools)] // each bool is a flag of the run, a field of the JSON schema
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportScope {
    pub account_id: Option<String>,
    pub regions: Vec<String>,
    pub vpc_id: Option<String>,
    pub secret_ids: Vec<String>,
    pub all_secrets: bool,
    pub db_instance_id: String,
    pub read_secrets: bool,
    /// When the inventory was collected (RFC 3339).
    pub collected_at: String,
    /// The database login used unverified TLS or plaintext (`--insecure-db-tls`).
    #[serde(default)]
    pub insecure_db_tls: bool,
    /// Every rotation setup was found from its secret (`--discover`); `vpc_id`,
    /// `secret_ids` and `db_instance_id` then do not name what was audited (each
    /// finding's `setup` names its setup's secret).
    #[serde(default)]
    pub discover: bool,
    /// Who ran an audit of several accounts (`--accounts`, `--organization`).
    #[serde(default)]
    pub caller: Option<Caller>,
    /// The accounts of an audit of several accounts, in report order (empty for one account).
    #[serde(default)]
    pub accounts: Vec<ReportAccount>,
}

/// One account of an audit of several accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportAccount {
    pub account_id: String,
    /// Its name in Organizations, when listed from it.
    pub name: Option<String>,
    /// The role assumed; `None` for the caller's own account.
    pub role_arn: Option<String>,
    /// False when the role could not be assumed (its one finding is ERROR).
    pub reached: bool,
    /// `audited`, `unreachable: <why>`, `suspended (<state>)` or `excluded: <why>`:
    /// every listed account is in the scope, so coverage can be proved.
    #[serde(default)]
    pub state: String,
    /// How many regions of a collected account were probed and not audited:
    /// denied by a service control policy, stopped (failed, or past the account's
    /// deadline), or not enabled (counted only when `--regions` names them: with
    /// `all` a region not enabled is no gap). `state` words only the stopped ones;
    /// this counts them all, for a reader that should not parse `state`. 0 for an
    /// account not collected (`reached` false), and in a report written before the
    /// field existed. An account collected with none of its regions audited counts
    /// them all here, while the run's totals of what was not audited
    /// (`coverage::NotAudited::of_inventory`) count it as one account and no region.
    #[serde(default)]
    pub regions_not_audited: usize,
    /// Whether any region of the account was audited (collected, and at least one
    /// region read): false for an account not reached, suspended or excluded, and
    /// for one collected with every region a gap (`state` "not audited: ..."), so a
    /// reader need not parse `state`. False in a report written before the field
    /// existed.
    #[serde(default)]
    pub audited: bool,
}

/// Findings with what a reader needs to interpret them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub tool: String,
    pub version: String,
    pub scope: ReportScope,
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// With `--discover`: every secret looked at and not audited as a setup, and
    /// why (never its value). Not findings: an excluded API key is not a check that
    /// failed or was skipped.
    #[serde(default)]
    pub excluded: Vec<ExcludedSecret>,
    /// With `--mutelist`: what became of each entry (live, expired, unused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutelist: Vec<EntryUse>,
    /// With `--status`: the statuses `findings` was limited to. `summary` still
    /// counts every finding (it decides the exit status); absent when all are listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listed: Vec<ShownStatus>,
}

impl Report {
    pub fn new(inventory: &Inventory, findings: Vec<Finding>) -> Self {
        let metadata = &inventory.metadata;
        let scope = ReportScope {
            account_id: metadata.account_id.clone(),
            // One part per discovered setup: a region is named once.
            regions: inventory.regions.iter().fold(Vec::new(), |mut regions, r| {
                if !regions.contains(&r.region) {
                    regions.push(r.region.clone());
                }
                regions
            }),
            vpc_id: metadata.scope.vpc_id.clone(),
            secret_ids: metadata.scope.secret_ids.clone(),
            all_secrets: metadata.scope.all_secrets,
            db_instance_id: metadata.scope.db_instance_id.clone(),
            read_secrets: metadata.scope.read_secrets,
            insecure_db_tls: metadata.insecure_db_tls,
            discover: metadata.scope.discover,
            collected_at: metadata
                .collected_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            caller: None,
            accounts: Vec::new(),
        };
        Self {
            tool: crate::TOOL.to_owned(),
            version: crate::VERSION.to_owned(),
            scope,
            summary: Summary::of(&findings),
            findings,
            excluded: excluded_of(inventory),
            mutelist: Vec::new(),
            listed: Vec::new(),
        }
    }

    /// Keeps only the findings shown with one of `statuses` (`--status`; all when
    /// empty). The summary keeps counting every finding: what was found, and the
    /// exit status, do not change with what is listed.
    /// Returns how many findings it left out.
    pub fn keep_statuses(&mut self, statuses: &[ShownStatus]) -> usize {
        if statuses.is_empty() {
            return 0;
        }
        let before = self.findings.len();
        self.findings
            .retain(|f| statuses.contains(&ShownStatus::of(f)));
        self.listed = statuses.to_vec();
        before - self.findings.len()
    }

    /// The statuses `--status` did not list (empty when all are listed).
    pub fn unlisted(&self) -> Vec<ShownStatus> {
        if self.listed.is_empty() {
            return Vec::new();
        }
        <ShownStatus as clap::ValueEnum>::value_variants()
            .iter()
            .filter(|s| !self.listed.contains(s))
            .copied()
            .collect()
    }

    /// `--status left out 12 findings (PASS, SKIP, MUTED)`: a line of standard
    /// error, for the formats that cannot say it themselves (CSV, OCSF).
    pub fn left_out_line(&self, left_out: usize) -> Option<String> {
        (!self.listed.is_empty()).then(|| {
            format!(
                "--status left out {left_out} finding{} ({}); the summary counts every finding",
                if left_out == 1 { "" } else { "s" },
                join(&self.unlisted(), ", ")
            )
        })
    }

    /// `listing only FAIL, ERROR (--status)`, when `--status` left findings out.
    pub fn listed_note(&self) -> Option<String> {
        (!self.listed.is_empty()).then(|| {
            format!(
                "listing only {} findings (--status); the summary counts every finding",
                join(&self.listed, ", ")
            )
        })
    }

    /// Applies `list` as of `today` (muting what its live entries match, by the
    /// resources' `tags` too), and counts again.
    pub fn mute(&mut self, list: &Mutelist, today: time::Date, tags: &ResourceTags) {
        self.mutelist = list.apply(&mut self.findings, today, tags);
        self.summary = Summary::of(&self.findings);
    }

    /// The report of an audit of several accounts: the scope of the first account
    /// collected (every account was asked the same), every account, and the caller.
    pub fn for_organization(org: &OrgInventory, findings: Vec<Finding>) -> Self {
        let mut parts = stream::OrgParts::default();
        for account in &org.accounts {
            parts.add(stream::AccountPart::of(account));
        }
        parts.report(org, findings)
    }

    /// The findings of each account, in the order of `scope.accounts` (one group,
    /// of every finding, for an audit of one account).
    pub fn by_account(&self) -> Vec<(Option<&ReportAccount>, Vec<&Finding>)> {
        if self.scope.accounts.is_empty() {
            return vec![(None, self.findings.iter().collect())];
        }
        self.scope
            .accounts
            .iter()
            .map(|account| {
                let findings = self
                    .findings
                    .iter()
                    .filter(|f| f.account_id.as_deref() == Some(account.account_id.as_str()))
                    .collect();
                (Some(account), findings)
            })
            .collect()
    }

    /// One line per skipped finding: the check, the resource and why, so a run
    /// without `--read-secrets` never reads as if everything was checked. The
    /// coverage rows (a region without the setup, a region not reachable) are one
    /// line per check instead: a count and a few examples, since a run over an
    /// organisation has one per account and region (thousands), and the report
    /// lists each.
    pub fn skipped_lines(&self) -> Vec<String> {
        let mut lines = SkippedLines::default();
        for finding in &self.findings {
            lines.add(finding);
        }
        lines.lines()
    }

    /// One line per secret `--discover` excluded: the secret and why.
    pub fn excluded_lines(&self) -> Vec<String> {
        self.excluded
            .iter()
            .map(|e| {
                let account = e
                    .account_id
                    .as_deref()
                    .map(|a| format!("account {a}, "))
                    .unwrap_or_default();
                format!(
                    "{} ({account}{}): {}",
                    if e.secret_arn.is_empty() {
                        &e.secret_name
                    } else {
                        &e.secret_arn
                    },
                    e.region,
                    e.reason
                )
            })
            .collect()
    }

    /// The report in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => table::render(self),
            Format::Json => json::render(self),
            Format::Ocsf => ocsf::render(self),
            Format::Junit => junit::render(self),
            Format::Csv => csv::render(self),
            Format::Jsonl => json::render_lines(self),
            Format::Html => html::render(self),
        }
    }
}

/// [`Report::skipped_lines`], one finding at a time: what a run written as each
/// account finishes keeps of its skipped findings.
#[derive(Debug, Default)]
pub struct SkippedLines {
    /// Per other check, in the order first seen: its rows, the first few
    /// resources, and the first row's message. Memory is per check, not per
    /// finding: a run over an organisation skips a check on thousands of secrets.
    checks: Vec<SkippedCheck>,
    /// Per coverage check: its rows, and the first few as examples.
    coverage: [(usize, Vec<String>); 2],
}

impl SkippedLines {
    const COVERAGE: [&'static str; 2] = [
        crate::coverage::SETUP_PRESENT.id,
        crate::coverage::REGION_REACHABLE.id,
    ];

    pub fn add(&mut self, finding: &Finding) {
        if finding.status != Status::Skip {
            return;
        }
        if let Some(index) = Self::COVERAGE.iter().position(|id| finding.check_id == *id) {
            let (rows, examples) = &mut self.coverage[index];
            *rows += 1;
            if examples.len() < COVERAGE_EXAMPLES {
                examples.push(match &finding.account_id {
                    Some(account) => format!("{account} {}", finding.region),
                    None => finding.region.clone(),
                });
            }
            return;
        }
        let at = if let Some(at) = self.checks.iter().position(|c| c.id == finding.check_id) {
            at
        } else {
            self.checks.push(SkippedCheck {
                id: finding.check_id.clone(),
                rows: 0,
                examples: Vec::new(),
                message: finding.message.clone(),
            });
            self.checks.len() - 1
        };
        let check = &mut self.checks[at];
        check.rows += 1;
        if check.examples.len() < COVERAGE_EXAMPLES {
            check.examples.push(finding.resource.clone());
        }
    }

    /// One line per check: `check on resource: why` when it skipped one
    /// resource; else a count, a few resources, and the first one's reason.
    pub fn lines(self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .checks
            .into_iter()
            .map(|check| {
                if check.rows == 1 {
                    return format!(
                        "{} on {}: {}",
                        check.id,
                        check.examples.join(""),
                        check.message
                    );
                }
                format!(
                    "{}: {} resource(s) ({}), the first: {}; each is a row of the report",
                    check.id,
                    check.rows,
                    examples_of(&check.examples, check.rows),
                    check.message
                )
            })
            .collect();
        for (id, (rows, examples)) in Self::COVERAGE.iter().zip(self.coverage) {
            if rows == 0 {
                continue;
            }
            lines.push(format!(
                "{id}: {rows} region(s) ({}); each is a row of the report",
                examples_of(&examples, rows)
            ));
        }
        lines
    }
}

/// `a, b, c, ...`: the first few of `rows`.
fn examples_of(examples: &[String], rows: usize) -> String {
    let more = if rows > examples.len() { ", ..." } else { "" };
    format!("{}{more}", examples.join(", "))
}

/// A check skipped on some resources: see [`SkippedLines`].
#[derive(Debug)]
struct SkippedCheck {
    id: String,
    rows: usize,
    examples: Vec<String>,
    message: String,
}

/// `FAIL, ERROR` (with `separator` `, `).
fn join(statuses: &[ShownStatus], separator: &str) -> String {
    statuses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(separator)
}

/// The name of the secret `resource` is the ARN of: "Secrets Manager
/// automatically adds a hyphen and six random characters after the secret name
/// at the end of the ARN" (Secrets Manager API, CreateSecret `Name`), and they
/// change when the secret is recreated under the same name.
pub(crate) fn secret_name(resource: &str) -> Option<&str> {
    if !resource.contains(":secretsmanager:") {
        return None;
    }
    let (_, name) = resource.split_once(":secret:")?;
    let (name, suffix) = name.rsplit_once('-')?;
    (suffix.len() == 6 && suffix.chars().all(|c| c.is_ascii_alphanumeric())).then_some(name)
}

/// The secrets discovery excluded from an inventory, each with its account.
pub(crate) fn excluded_of(inventory: &Inventory) -> Vec<ExcludedSecret> {
    inventory
        .excluded
        .iter()
        .map(|e| ExcludedSecret {
            account_id: e
                .account_id
                .clone()
                .or_else(|| inventory.metadata.account_id.clone()),
            ..e.clone()
        })
        .collect()
}

/// Examples a coverage line of standard error (and the table's footer) names.
const COVERAGE_EXAMPLES: usize = 3;

/// Text from the audited account (names, tags, a policy's `Sid`) or from a
/// mutelist, as a terminal shows it safely: control characters (an escape
/// sequence, a carriage return) become U+FFFD, line breaks stay.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// [`printable`], on one line: line breaks become spaces (a line of standard error).
pub fn one_line(text: &str) -> String {
    printable(&text.replace(['\n', '\r'], " "))
}

#[cfg(test)]
pub(crate) fn sample_report() -> Report {
    use crate::checks::evaluate;
    use crate::finding::{Severity, Status};
    let inventory = crate::checks::fixtures::compliant_inventory();
    let mut findings = evaluate(&inventory, &crate::policy::Policy::default());
    findings[0].status = Status::Fail;
    findings[0].severity = Severity::Critical;
    findings[0].message =
        "found <0.0.0.0/0> & \"quotes\", 'apostrophes',\ncommas; expected /32".to_owned();
    findings[1].status = Status::Error;
    findings[1].message = "access denied to ec2:DescribeVpcEndpoints".to_owned();
    findings[2].status = Status::Skip;
    findings[2].message = "run with --read-secrets\u{1}".to_owned();
    Report::new(&inventory, findings)
}

/// The sample report as an audit of two accounts: the sample's, and one whose
/// role could not be assumed.
#[cfg(test)]
pub(crate) fn sample_org_report() -> Report {
    let org = crate::org::sample_org(&crate::checks::fixtures::compliant_inventory());
    let mut findings = crate::account_result::evaluate_organization(
        &org,
        &crate::policy::Policy::default(),
        false,
    );
    findings[0].status = crate::finding::Status::Fail;
    Report::for_organization(&org, findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_skip_rows_are_one_line_per_check_with_a_count_and_examples() {
        let mut report = sample_report();
        let before = report.skipped_lines();
        let definition = &crate::coverage::SETUP_PRESENT;
        for (account, region) in [
            ("111111111111", "eu-west-1"),
            ("111111111111", "eu-west-2"),
            ("222222222222", "eu-west-1"),
            ("222222222222", "eu-west-2"),
            ("333333333333", "eu-west-1"),
        ] {
            report.findings.push(crate::coverage::row(
                definition,
                Status::Skip,
                region,
                format!("region/{region}"),
                Some(account.to_owned()),
                "not applicable".to_owned(),
            ));
        }
        report.findings.push(crate::coverage::row(
            &crate::coverage::REGION_REACHABLE,
            Status::Skip,
            "me-central-1",
            "region/me-central-1".to_owned(),
            Some("111111111111".to_owned()),
            "not enabled".to_owned(),
        ));
        let lines = report.skipped_lines();
        assert_eq!(lines.len(), before.len() + 2, "{lines:#?}");
        assert_eq!(lines[..before.len()], before[..], "other skips one each");
        assert_eq!(
            lines[before.len()],
            "region.setup-present: 5 region(s) (111111111111 eu-west-1, 111111111111 eu-west-2, 222222222222 eu-west-1, ...); each is a row of the report"
        );
        assert_eq!(
            lines[before.len() + 1],
            "region.reachable: 1 region(s) (111111111111 me-central-1); each is a row of the report"
        );
        let footer = table::render(&report);
        assert_eq!(
            footer.matches("region.setup-present: 5 region(s)").count(),
            1
        );
    }

    #[test]
    fn a_check_skipped_on_many_resources_is_one_line_with_a_count() {
        let skip = |resource: &str, message: &str| {
            let mut finding = sample_report().findings[0].clone();
            finding.check_id = "secret.value".to_owned();
            finding.status = Status::Skip;
            finding.resource = resource.to_owned();
            finding.message = message.to_owned();
            finding
        };
        let mut one = SkippedLines::default();
        one.add(&skip("arn:a", "not read without --read-secrets"));
        assert_eq!(
            one.lines(),
            ["secret.value on arn:a: not read without --read-secrets"],
            "one resource: as before"
        );
        let mut many = SkippedLines::default();
        for resource in ["arn:a", "arn:b", "arn:c", "arn:d"] {
            many.add(&skip(resource, "not read without --read-secrets"));
        }
        assert_eq!(
            many.lines(),
            [
                "secret.value: 4 resource(s) (arn:a, arn:b, arn:c, ...), the first: not read without --read-secrets; each is a row of the report"
            ]
        );
    }

    #[test]
    fn every_secret_discovery_excluded_is_listed_with_its_reason() {
        let mut inventory = crate::checks::fixtures::compliant_inventory();
        inventory.metadata.scope.discover = true;
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-key-AbCdEf";
        inventory.excluded.push(ExcludedSecret {
            account_id: None,
            region: "us-east-1".to_owned(),
            secret_arn: arn.to_owned(),
            secret_name: "api-key".to_owned(),
            reason: "its value has no masterarn <engine>: not a database credential".to_owned(),
        });
        let findings = crate::checks::evaluate(&inventory, &crate::policy::Policy::default());
        let report = Report::new(&inventory, findings);
        let account = inventory.metadata.account_id.clone();
        assert_eq!(
            report.excluded[0].account_id, account,
            "set from the inventory"
        );
        let table = report.render(Format::Table);
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(&format!("excluded: {arn} (account "))
                    && l.ends_with("not a database credential")),
            "{table}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&report.render(Format::Json)).expect("JSON");
        assert_eq!(json["excluded"][0]["secret_arn"], arn, "{json}");
        let page = report.render(Format::Html);
        assert!(page.contains("<section id=\"excluded\""), "{page}");
        assert!(page.contains("&lt;engine&gt;"), "escaped");
        // Nothing excluded, nothing said.
        assert!(!sample_report().render(Format::Table).contains("excluded:"));
        assert!(
            !sample_report()
                .render(Format::Html)
                .contains("id=\"excluded\"")
        );
    }

    #[test]
    fn a_muted_finding_is_shown_as_muted_in_every_format_and_counted_apart() {
        let mut report = sample_report();
        let check = report.findings[0].check_id.clone();
        let list = crate::mutelist::Mutelist::from_toml(&format!(
            "[[mute]]\nreason = \"accepted <until> the migration\"\nexpires = 2099-12-31\nchecks = [\"{check}\"]\n"
        ))
        .expect("mutelist");
        let before = report.summary;
        report.mute(
            &list,
            time::Date::from_calendar_date(2026, time::Month::December, 6).expect("date"),
            &ResourceTags::default(),
        );
        let muted = report.findings.iter().filter(|f| f.muted.is_some()).count();
        assert!(muted >= 1);
        assert_eq!(report.summary.muted, muted);
        assert_eq!(
            report.summary.fail,
            before.fail - 1,
            "the muted FAIL no longer counts"
        );
        assert_eq!(
            report.findings[0].status,
            crate::finding::Status::Fail,
            "kept"
        );
        assert_eq!(
            crate::exit_code(&report.summary),
            crate::EXIT_RUNTIME_ERROR,
            "the sample's ERROR still counts"
        );

        let table = report.render(Format::Table);
        assert!(
            table.contains("MUTED")
                && table.contains(
                    "muted (FAIL) until 2099-12-31 by mutelist entry 1 (matched by check)"
                ),
            "{table}"
        );
        assert!(
            table.contains(&format!(", {muted} muted")),
            "the summary line: {table}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&report.render(Format::Json)).expect("JSON");
        assert_eq!(json["findings"][0]["status"], "FAIL");
        assert_eq!(json["findings"][0]["muted"]["entry"], 1);
        assert_eq!(json["findings"][0]["muted"]["matched_by"], "check");
        assert_eq!(json["mutelist"][0]["state"], "live");
        assert!(
            json["findings"][1].get("muted").is_none(),
            "absent when not muted"
        );
        let ocsf: serde_json::Value =
            serde_json::from_str(&report.render(Format::Ocsf)).expect("OCSF");
        assert_eq!(ocsf[0]["status_id"], 3);
        assert_eq!(ocsf[0]["status"], "Suppressed");
        assert_eq!(ocsf[0]["unmapped"]["muted"]["matched_by"], "check");
        assert_eq!(ocsf[1]["status_id"], 1);
        let junit = report.render(Format::Junit);
        assert!(
            junit.contains(
                "<skipped message=\"muted (FAIL) until 2099-12-31 by mutelist entry 1 (matched by check)"
            ),
            "{junit}"
        );
        let skipped = report.summary.skip + report.summary.muted;
        assert!(
            junit.contains(&format!("skipped=\"{skipped}\">")),
            "muted findings are counted as the skipped they are written as: {junit}"
        );
        let csv = report.render(Format::Csv);
        assert!(
            csv.lines()
                .next()
                .expect("header")
                .ends_with(",muted,account_id_text")
        );
        assert!(
            csv.contains(
                "muted (FAIL) until 2099-12-31 by mutelist entry 1 (matched by check): accepted <until> the migration"
            ),
            "{csv}"
        );
        let page = report.render(Format::Html);
        assert!(
            page.contains("<span class=\"badge MUTED\">MUTED</span>"),
            "{page}"
        );
        assert!(
            page.contains("(matched by check): accepted &lt;until&gt; the migration"),
            "escaped"
        );
        assert!(!page.contains("accepted <until>"), "escaped");
        assert!(
            page.contains("<section id=\"mutelist\"") && page.contains("<td>live</td>"),
            "{page}"
        );
    }

    #[test]
    fn status_lists_only_those_findings_in_every_format_and_counts_all() {
        let full = sample_report();
        let mut report = full.clone();
        let left_out = report.keep_statuses(&[ShownStatus::Fail, ShownStatus::Error]);
        assert_eq!(report.findings.len(), 2);
        assert_eq!(left_out, full.findings.len() - 2);
        assert_eq!(report.summary, full.summary, "every finding still counted");
        assert_eq!(
            crate::exit_code(&report.summary),
            crate::exit_code(&full.summary)
        );
        let listed = |f: &Finding| matches!(f.status, Status::Fail | Status::Error);
        let kept: Vec<&str> = full
            .findings
            .iter()
            .filter(|f| listed(f))
            .map(|f| f.resource.as_str())
            .collect();

        let json: serde_json::Value =
            serde_json::from_str(&report.render(Format::Json)).expect("JSON");
        let statuses: Vec<&str> = json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f["status"].as_str().expect("status"))
            .collect();
        assert_eq!(statuses, ["FAIL", "ERROR"]);
        assert_eq!(json["listed"], serde_json::json!(["FAIL", "ERROR"]));
        assert_eq!(json["summary"]["pass"], full.summary.pass);
        let ocsf: serde_json::Value =
            serde_json::from_str(&report.render(Format::Ocsf)).expect("OCSF");
        assert_eq!(ocsf.as_array().expect("array").len(), 2);
        let csv = report.render(Format::Csv);
        // Records end in CRLF; line breaks inside quoted messages are bare LF.
        assert_eq!(
            csv.matches("\r\n").count(),
            1 + 2,
            "a header and two rows: {csv}"
        );
        let junit = report.render(Format::Junit);
        assert_eq!(junit.matches("<testcase ").count(), 2);
        // The filter and the run's totals over every finding, before the test cases.
        for property in [
            "<property name=\"audit.status_filter\" value=\"FAIL,ERROR\"/>".to_owned(),
            "<property name=\"audit.status_left_out\" value=\"PASS,SKIP,MUTED\"/>".to_owned(),
            format!(
                "<property name=\"audit.total.pass\" value=\"{}\"/>",
                full.summary.pass
            ),
            format!(
                "<property name=\"audit.total.skip\" value=\"{}\"/>",
                full.summary.skip
            ),
        ] {
            assert!(junit.contains(&property), "{property} in {junit}");
        }
        assert!(junit.find("<properties>") < junit.find("<testcase "));
        assert!(!full.render(Format::Junit).contains("<properties>"));
        // CSV and OCSF cannot say it: a line of standard error does.
        assert_eq!(
            report.left_out_line(left_out).as_deref(),
            Some(
                format!(
                    "--status left out {} findings (PASS, SKIP, MUTED); the summary counts every finding",
                    full.findings.len() - 2
                )
                .as_str()
            )
        );
        assert_eq!(full.left_out_line(0), None);
        assert!(
            junit.contains("tests=\"2\" failures=\"1\" errors=\"1\" skipped=\"0\""),
            "the counts are of the test cases listed: {junit}"
        );
        let table = report.render(Format::Table);
        assert!(
            table.contains("listing only FAIL, ERROR findings (--status)"),
            "{table}"
        );
        let page = report.render(Format::Html);
        assert!(page.contains("id=\"listed\""), "the page says so");
        // The account's heading counts what is listed, and says so.
        assert!(
            page.contains(&format!(
                "account {}, findings listed: 0 passed, 1 failed, 1 errors, 0 skipped</h3>",
                report.scope.account_id.as_deref().unwrap_or("unknown")
            )),
            "{page}"
        );
        assert!(!full.render(Format::Html).contains("findings listed:"));
        assert_eq!(page.matches("<tr><td>").count(), 2, "two rows listed");
        for resource in kept {
            assert!(page.contains(&html::escape(resource)), "{resource}");
        }
        // MUTED is a status of its own: a muted FAIL is not listed as FAIL.
        let mut muted = full.clone();
        muted.findings[0].muted = Some(crate::finding::Muted {
            reason: "accepted".to_owned(),
            expires: "2099-01-01".to_owned(),
            entry: 1,
            matched_by: "check".to_owned(),
        });
        let mut only_fail = muted.clone();
        only_fail.keep_statuses(&[ShownStatus::Fail]);
        assert!(only_fail.findings.is_empty());
        muted.keep_statuses(&[ShownStatus::Muted]);
        assert_eq!(muted.findings.len(), 1);
        // Nothing asked, nothing left out, nothing said.
        let mut all = full.clone();
        all.keep_statuses(&[]);
        assert_eq!(all, full);
        assert!(!all.render(Format::Json).contains("\"listed\""));
    }

    #[test]
    fn every_format_says_whether_setups_were_discovered() {
        for discover in [false, true] {
            let mut inventory = crate::checks::fixtures::compliant_inventory();
            inventory.metadata.scope.discover = discover;
            let findings = crate::checks::evaluate(&inventory, &crate::policy::Policy::default());
            let report = Report::new(&inventory, findings);
            assert_eq!(report.scope.discover, discover);
            let json: serde_json::Value =
                serde_json::from_str(&report.render(Format::Json)).expect("JSON");
            assert_eq!(json["scope"]["discover"], discover, "{json}");
            let said = "every rotation setup found from its secret (--discover)";
            let table = report.render(Format::Table);
            let footer = table.lines().last().unwrap_or_default();
            assert_eq!(footer.contains(said), discover, "{footer}");
            let page = report.render(Format::Html);
            let scope_item = page
                .split("<dt>Scope</dt><dd>")
                .nth(1)
                .and_then(|rest| rest.split("</dd>").next())
                .expect("the header's scope");
            assert_eq!(
                scope_item.starts_with(
                    "every rotation setup of each region, found from its secret (--discover)"
                ),
                discover,
                "{scope_item}"
            );
            // The names a discovery did not look for are not shown as its scope.
            assert_eq!(
                scope_item.contains(&format!("database {}", report.scope.db_instance_id)),
                !discover,
                "{scope_item}"
            );
        }
        // A report saved before the field existed reads as not discovered.
        let mut old = serde_json::to_value(sample_report()).expect("JSON");
        old["scope"]
            .as_object_mut()
            .expect("scope")
            .remove("discover");
        let read: Report = serde_json::from_value(old).expect("an older report reads");
        assert!(!read.scope.discover);
    }
}
