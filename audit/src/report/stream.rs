//! An organisation's report written as each account finishes.
//!
//! Why it is shaped this way:
//! - **Memory does not grow with the organisation.** A run over hundreds of
//!   accounts held every account's inventory and every finding until the end
//!   (about 180 MiB at 50 accounts, growing with each). Now each account is
//!   evaluated in its own task as soon as it is collected ([`AccountDone::of`],
//!   which decides it by [`finish_account`], the one decision of every path),
//!   its inventory is serialised to the evidence file and dropped, and its
//!   findings go to the report ([`OrgWriter::account`]) in account-id order, so
//!   the output is the same whatever finishes first. An account done before an
//!   earlier one is held back on disk ([`AccountDone::spill`]: its findings and
//!   evidence, already serialised, in an unlinked file of the temporary
//!   directory, see [`super::files`]) and does not count against
//!   `--max-accounts`, so a slow account never stops the others and memory holds
//!   only the accounts in flight. This holds for a live run written as CSV, JSON
//!   Lines, JSON or OCSF: the table (the default on a terminal), HTML and JUnit
//!   keep every finding until the end, and `--from-inventory` reads the whole
//!   saved inventory.
//! - **The same bytes as a whole-run report.** CSV and JSON Lines are written
//!   row by row as each account finishes. JSON and OCSF keep their documented
//!   shape: the JSON report's scope and summary (known at the end) come before and
//!   after its findings, and an OCSF finding names the run's home region, so their
//!   findings are spooled to a temporary file of one JSON line each and written
//!   out at the end, one at a time. Pretty-printed JSON is written by serde's own
//!   printer around an array left empty ([`split_at_empty_array`]), so the
//!   output is byte for byte what [`super::Report::render`] gives for the whole run
//!   (a test compares them). The table, JUnit and HTML need every finding (totals
//!   first, grouping) and keep them. The evidence file is written account by
//!   account, with the same bytes as before, to `<path>.partial`, renamed over
//!   the path when the run ends well: an interrupted run leaves the previous
//!   evidence and report as they were (a half-written file is not valid JSON,
//!   and a half-written CSV silently lacks accounts).

use std::io::{self, BufRead as _, BufWriter, Read as _, Seek as _, Write};
use std::path::Path;

use crate::account_result::{AccountResult, RunTotals, Settings, finish_account, org_coverage};
use crate::coverage::NotAudited;
use crate::discover::ExcludedSecret;
use crate::finding::{Finding, Summary};
use crate::inventory::Inventory;
use crate::org_inventory::{AccountRecord, OrgInventory};

use super::files::{PartialFile, held_file};
use super::{Format, Report, ReportAccount, ReportScope, ShownStatus, SkippedLines};

/// What the report keeps of one account of a run over several: its row of the
/// scope, its inventory's scope, regions and excluded secrets.
#[derive(Debug, Clone)]
pub(crate) struct AccountPart {
    account: ReportAccount,
    scope: Option<ReportScope>,
    regions: Vec<String>,
    excluded: Vec<ExcludedSecret>,
}

impl AccountPart {
    pub(crate) fn of(record: &AccountRecord) -> Self {
        let inventory = record.inventory();
        let scope = inventory.map(|i| Report::new(i, Vec::new()));
        Self {
            account: ReportAccount {
                account_id: record.account_id.clone(),
                name: record.name.clone(),
                role_arn: record.role_arn.clone(),
                reached: inventory.is_some(),
                state: record.state(),
                regions_not_audited: inventory
                    .map_or(0, |i| i.skipped_regions.len() + i.failed_regions.len()),
                audited: inventory.is_some_and(|i| !i.regions.is_empty()),
            },
            regions: scope
                .as_ref()
                .map(|r| r.scope.regions.clone())
                .unwrap_or_default(),
            excluded: inventory.map(super::excluded_of).unwrap_or_default(),
            scope: scope.map(|r| r.scope),
        }
    }
}

/// The report's parts of every account, in account-id order.
#[derive(Debug, Clone, Default)]
pub(crate) struct OrgParts {
    accounts: Vec<ReportAccount>,
    first: Option<ReportScope>,
    regions: Vec<String>,
    excluded: Vec<ExcludedSecret>,
}

impl OrgParts {
    pub(crate) fn add(&mut self, part: AccountPart) {
        self.accounts.push(part.account);
        if self.first.is_none() {
            self.first = part.scope;
        }
        for region in part.regions {
            if !self.regions.contains(&region) {
                self.regions.push(region);
            }
        }
        self.excluded.extend(part.excluded);
    }

    /// The report: the scope of the first account collected (every account was
    /// asked the same), every account, and the caller of `org` (its header).
    pub(crate) fn report(self, org: &OrgInventory, findings: Vec<Finding>) -> Report {
        let scope = self.first.unwrap_or_else(|| {
            let empty = Inventory {
                metadata: crate::inventory::Metadata {
                    tool: org.tool.clone(),
                    version: org.version.clone(),
                    collected_at: org.collected_at,
                    account_id: None,
                    // No account was collected: its organisation was not read
                    // (`Ok(None)` would say it is in none).
                    organization_id: crate::inventory::Collected::Skipped(
                        "no account was collected".to_owned(),
                    ),
                    insecure_db_tls: false,
                    api_requests: 0,
                    calls: std::collections::BTreeMap::new(),
                    scope: crate::inventory::Scope::default(),
                },
                regions: Vec::new(),
                excluded: Vec::new(),
                failed_regions: Vec::new(),
                skipped_regions: Vec::new(),
            };
            Report::new(&empty, Vec::new()).scope
        });
        let mut report = Report {
            tool: crate::TOOL.to_owned(),
            version: crate::VERSION.to_owned(),
            scope,
            summary: Summary::of(&findings),
            findings,
            excluded: self.excluded,
            mutelist: Vec::new(),
            listed: Vec::new(),
        };
        let scope = &mut report.scope;
        scope.account_id = None;
        scope.regions = self.regions;
        scope.collected_at = org
            .collected_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        scope.caller = Some(org.caller.clone());
        scope.accounts = self.accounts;
        report
    }
}

/// One account, evaluated; its inventory is gone.
#[derive(Debug)]
pub struct AccountDone {
    part: AccountPart,
    body: Body,
    counts: RunTotals,
}

/// An account's record as the evidence file holds it (pretty JSON), or why it
/// could not be serialised.
type Evidence = Result<String, String>;

/// An account's findings and evidence: in memory, or spilled to disk while it
/// waits for an earlier account.
#[derive(Debug)]
enum Body {
    Memory {
        findings: Vec<Finding>,
        /// The account's record as the evidence file holds it (pretty JSON).
        evidence: Option<Result<String, String>>,
    },
    /// One JSON line per finding, then the evidence text, in an unlinked file.
    Disk {
        file: std::fs::File,
        findings: usize,
        /// `Some(Ok(()))`: the evidence text follows the findings.
        evidence: Option<Result<(), String>>,
    },
}

impl AccountDone {
    /// One account of a run over several, in its own task: decided
    /// ([`finish_account`]), its row of the report's scope and its evidence kept,
    /// so its inventory can be dropped.
    pub fn of(record: &AccountRecord, settings: &Settings) -> Self {
        let AccountResult { findings, totals } = finish_account(record, settings);
        let evidence = settings
            .evidence
            .then(|| serde_json::to_string_pretty(record).map_err(|e| e.to_string()));
        Self {
            part: AccountPart::of(record),
            body: Body::Memory { findings, evidence },
            counts: totals,
        }
    }

    /// The account held back on disk: what memory keeps of it is its row of the
    /// scope and its counts (no finding, no evidence).
    pub fn spill(self) -> io::Result<Self> {
        let Body::Memory { findings, evidence } = self.body else {
            return Ok(self);
        };
        let file = held_file("account.held")?;
        let mut out = BufWriter::new(file.try_clone()?);
        for finding in &findings {
            serde_json::to_writer(&mut out, finding)?;
            out.write_all(b"\n")?;
        }
        let evidence = match evidence {
            Some(Ok(text)) => {
                out.write_all(text.as_bytes())?;
                Some(Ok(()))
            }
            Some(Err(error)) => Some(Err(error)),
            None => None,
        };
        out.flush()?;
        Ok(Self {
            body: Body::Disk {
                file,
                findings: findings.len(),
                evidence,
            },
            ..self
        })
    }

    /// Its findings and evidence, read back when spilled.
    fn take(body: Body) -> io::Result<(Vec<Finding>, Option<Evidence>)> {
        match body {
            Body::Memory { findings, evidence } => Ok((findings, evidence)),
            Body::Disk {
                mut file,
                findings: count,
                evidence,
            } => {
                file.seek(io::SeekFrom::Start(0))?;
                let mut reader = io::BufReader::new(file);
                let mut findings = Vec::with_capacity(count);
                let mut line = String::new();
                for _ in 0..count {
                    line.clear();
                    reader.read_line(&mut line)?;
                    findings.push(serde_json::from_str(&line)?);
                }
                let evidence = match evidence {
                    Some(Ok(())) => {
                        let mut text = String::new();
                        reader.read_to_string(&mut text)?;
                        Some(Ok(text))
                    }
                    Some(Err(error)) => Some(Err(error)),
                    None => None,
                };
                Ok((findings, evidence))
            }
        }
    }
}

/// `text`, pretty-printed JSON whose top-level `key` is an empty array, split
/// around that array: up to and including its `[`, and after its `]`.
pub(crate) fn split_at_empty_array<'a>(text: &'a str, key: &str) -> Option<(&'a str, &'a str)> {
    let marker = format!("\n  \"{key}\": []");
    let at = text.find(&marker)?;
    let close = at + marker.len() - 1;
    Some((&text[..close], &text[close + 1..]))
}

/// A JSON array written one pretty-printed item at a time, indented as serde's
/// pretty printer indents an array at `depth` (1: a top-level array, 2: a field of
/// a top-level object).
struct ArrayWriter<W: Write> {
    out: W,
    indent: String,
    items: usize,
}

impl<W: Write> ArrayWriter<W> {
    /// Writes `prefix`, which ends with the array's `[`.
    fn open(mut out: W, prefix: &str, depth: usize) -> io::Result<Self> {
        out.write_all(prefix.as_bytes())?;
        Ok(Self {
            out,
            indent: "  ".repeat(depth),
            items: 0,
        })
    }

    /// One item, pretty-printed on its own (JSON strings hold no line break).
    fn item(&mut self, pretty: &str) -> io::Result<()> {
        let separator = if self.items == 0 { "\n" } else { ",\n" };
        self.out.write_all(separator.as_bytes())?;
        self.out.write_all(self.indent.as_bytes())?;
        let nested = format!("\n{}", self.indent);
        self.out
            .write_all(pretty.replace('\n', &nested).as_bytes())?;
        self.items += 1;
        Ok(())
    }

    /// Closes the array and writes `suffix`.
    fn close(mut self, suffix: &str) -> io::Result<W> {
        if self.items > 0 {
            self.out.write_all(b"\n")?;
            let outer = self.indent.len() - 2;
            self.out.write_all(&self.indent.as_bytes()[..outer])?;
        }
        self.out.write_all(b"]")?;
        self.out.write_all(suffix.as_bytes())?;
        Ok(self.out)
    }
}

/// Findings held on disk until the report's end is known: one JSON line each,
/// in an unlinked file of the temporary directory ([`held_file`]), about 1.2 KB
/// a finding; its space is given back when the run ends, however it ends.
struct Spool {
    file: BufWriter<std::fs::File>,
    /// The same file (the same offset), to read it back from its start.
    reader: std::fs::File,
}

impl Spool {
    fn new() -> io::Result<Self> {
        let file = held_file("findings.jsonl")?;
        Ok(Self {
            reader: file.try_clone()?,
            file: BufWriter::new(file),
        })
    }

    fn push(&mut self, finding: &Finding) -> io::Result<()> {
        serde_json::to_writer(&mut self.file, finding)?;
        self.file.write_all(b"\n")
    }

    /// Each finding, in the order pushed.
    fn each(&mut self, mut f: impl FnMut(Finding) -> io::Result<()>) -> io::Result<()> {
        self.file.flush()?;
        self.reader.seek(io::SeekFrom::Start(0))?;
        for line in io::BufReader::new(&mut self.reader).lines() {
            let finding: Finding = serde_json::from_str(&line?)?;
            f(finding)?;
        }
        Ok(())
    }
}

/// What a run over several accounts reports besides its output.
#[derive(Debug)]
pub struct Finished {
    /// The report without its findings, except for the formats that keep them
    /// (table, JUnit, HTML); its summary counts every finding.
    pub report: Report,
    /// Findings `--status` left out.
    pub left_out: usize,
    /// [`Report::skipped_lines`] of every finding.
    pub skipped: Vec<String>,
    pub api_requests: u64,
    pub gaps: NotAudited,
    /// With `--discover`: each setup found.
    pub discovered: Vec<String>,
}

/// Writes the report of a run over several accounts as each account is done.
pub struct OrgWriter<W: Write> {
    format: Format,
    statuses: Vec<ShownStatus>,
    out: W,
    spool: Option<Spool>,
    kept: Vec<Finding>,
    /// The evidence file, and what follows its `accounts` array.
    evidence: Option<(ArrayWriter<PartialFile>, String)>,
    parts: OrgParts,
    summary: Summary,
    left_out: usize,
    skipped: SkippedLines,
    counts: RunTotals,
}

impl<W: Write> std::fmt::Debug for OrgWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgWriter")
            .field("format", &self.format)
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

impl<W: Write> OrgWriter<W> {
    /// Starts the report (in `format`, listing `statuses` only when any) on `out`,
    /// and the evidence file at `evidence`, for the run `head` describes (its
    /// `accounts` are not read).
    pub fn new(
        head: &OrgInventory,
        format: Format,
        statuses: &[ShownStatus],
        mut out: W,
        evidence: Option<&Path>,
    ) -> io::Result<Self> {
        let evidence = match evidence {
            None => None,
            Some(path) => {
                let empty = OrgInventory {
                    accounts: Vec::new(),
                    ..head.clone()
                };
                let text = serde_json::to_string_pretty(&empty)?;
                let (prefix, suffix) = split_at_empty_array(&text, "accounts")
                    .ok_or_else(|| io::Error::other("the inventory has no `accounts` array"))?;
                let file = PartialFile::create(path, "the inventory")?;
                Some((ArrayWriter::open(file, prefix, 2)?, format!("{suffix}\n")))
            }
        };
        let spool = match format {
            Format::Json | Format::Ocsf => Some(Spool::new()?),
            _ => None,
        };
        if format == Format::Csv {
            out.write_all(super::csv::header().as_bytes())?;
        }
        Ok(Self {
            format,
            statuses: statuses.to_vec(),
            out,
            spool,
            kept: Vec::new(),
            evidence,
            parts: OrgParts::default(),
            summary: Summary::default(),
            left_out: 0,
            skipped: SkippedLines::default(),
            counts: RunTotals::default(),
        })
    }

    /// Writes the next account (in account-id order).
    pub fn account(&mut self, done: AccountDone) -> io::Result<()> {
        let (findings, evidence) = AccountDone::take(done.body)?;
        if let (Some((writer, _)), Some(text)) = (&mut self.evidence, evidence) {
            writer.item(&text.map_err(io::Error::other)?)?;
            writer.out.flush()?;
        }
        self.parts.add(done.part);
        self.counts.add(done.counts);
        self.findings(findings)?;
        self.out.flush()
    }

    fn findings(&mut self, findings: Vec<Finding>) -> io::Result<()> {
        for finding in findings {
            let summary = Summary::of(std::slice::from_ref(&finding));
            add(&mut self.summary, summary);
            self.skipped.add(&finding);
            if !self.statuses.is_empty() && !self.statuses.contains(&ShownStatus::of(&finding)) {
                self.left_out += 1;
                continue;
            }
            match self.format {
                Format::Csv => self.out.write_all(super::csv::row(&finding).as_bytes())?,
                Format::Jsonl => {
                    serde_json::to_writer(&mut self.out, &finding)?;
                    self.out.write_all(b"\n")?;
                }
                Format::Json | Format::Ocsf => {
                    if let Some(spool) = &mut self.spool {
                        spool.push(&finding)?;
                    }
                }
                Format::Table | Format::Junit | Format::Html => self.kept.push(finding),
            }
        }
        Ok(())
    }

    /// Ends the run: the organisation's own rows (the setup found nowhere, an ERROR
    /// when a region or an account not read could hold it), the rest of the report,
    /// the evidence file's end.
    pub fn finish(mut self, head: &OrgInventory, settings: &Settings) -> io::Result<Finished> {
        let rows = self
            .counts
            .end_rows(settings, org_coverage(settings.require_setup));
        self.findings(rows)?;
        if let Some((writer, suffix)) = self.evidence.take() {
            writer.close(&suffix)?.commit()?;
        }
        let mut report =
            std::mem::take(&mut self.parts).report(head, std::mem::take(&mut self.kept));
        report.summary = self.summary;
        report.mutelist = std::mem::take(&mut self.counts.mutelist);
        report.listed.clone_from(&self.statuses);
        match self.format {
            Format::Json => {
                let text = serde_json::to_string_pretty(&report)?;
                let (prefix, suffix) = split_at_empty_array(&text, "findings")
                    .ok_or_else(|| io::Error::other("the report has no `findings` array"))?;
                let mut array = ArrayWriter::open(&mut self.out, prefix, 2)?;
                if let Some(spool) = &mut self.spool {
                    spool.each(|f| array.item(&serde_json::to_string_pretty(&f)?))?;
                }
                array.close(&format!("{suffix}\n"))?;
            }
            Format::Ocsf => {
                let time_ms = super::ocsf::time_ms(&report);
                let mut array = ArrayWriter::open(&mut self.out, "[", 1)?;
                if let Some(spool) = &mut self.spool {
                    spool.each(|f| {
                        let value = super::ocsf::compliance_finding(&report, &f, time_ms);
                        array.item(&serde_json::to_string_pretty(&value)?)
                    })?;
                }
                array.close("\n")?;
            }
            Format::Csv | Format::Jsonl => {}
            Format::Table | Format::Junit | Format::Html => {
                self.out.write_all(report.render(self.format).as_bytes())?;
            }
        }
        self.out.flush()?;
        Ok(Finished {
            report,
            left_out: self.left_out,
            skipped: std::mem::take(&mut self.skipped).lines(),
            api_requests: self.counts.api_requests,
            gaps: self.counts.gaps,
            discovered: std::mem::take(&mut self.counts.discovered),
        })
    }
}

/// `sum` plus `more`.
fn add(sum: &mut Summary, more: Summary) {
    sum.pass += more.pass;
    sum.fail += more.fail;
    sum.error += more.error;
    sum.skip += more.skip;
    sum.muted += more.muted;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::compliant_inventory;
    use crate::finding::Status;
    use crate::mutelist::{EntryState, Mutelist, ResourceTags};
    use crate::org::sample_org;
    use crate::org_inventory::AccountOutcome;
    use crate::policy::Policy;

    /// Two accounts collected (the second with one region stopped and one denied
    /// by an SCP), one unreachable, one excluded, by id.
    fn org() -> OrgInventory {
        use crate::inventory::{CollectionError, FailedRegion, RegionGap, SkippedRegion};
        let mut first = compliant_inventory();
        first.metadata.api_requests = 7;
        let mut org = sample_org(&first);
        let mut second = compliant_inventory();
        second.metadata.account_id = Some("222222222222".to_owned());
        second.metadata.api_requests = 11;
        second.failed_regions = vec![FailedRegion {
            region: "eu-west-3".to_owned(),
            error: CollectionError {
                action: "ec2:DescribeVpcs".to_owned(),
                access_denied: false,
                code: None,
                message: "timed out".to_owned(),
            },
        }];
        second.skipped_regions = vec![SkippedRegion {
            region: "ap-east-1".to_owned(),
            gap: RegionGap::DeniedByScp("explicit deny in a service control policy".to_owned()),
        }];
        org.accounts.push(AccountRecord {
            account_id: "222222222222".to_owned(),
            name: None,
            role_arn: None,
            outcome: AccountOutcome::Collected(Box::new(second)),
        });
        org.accounts.push(AccountRecord {
            account_id: "444444444444".to_owned(),
            name: Some("left out".to_owned()),
            role_arn: None,
            outcome: AccountOutcome::Excluded("named by --exclude-accounts".to_owned()),
        });
        org.accounts.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        org
    }

    fn settings(mutelist: Option<&str>) -> Settings {
        Settings {
            policy: Policy::default(),
            require_setup: false,
            mutelist: mutelist.map(|text| Mutelist::from_toml(text).expect("valid")),
            today: time::Date::from_calendar_date(2026, time::Month::January, 1).expect("date"),
            evidence: true,
        }
    }

    /// The whole run's report, built without the fold under test
    /// ([`finish_account`] and [`crate::account_result::whole_run`], which both
    /// the streamed writer and `evaluate_organization` call): the findings are
    /// derived by hand from [`org`], so a fold wrong in a way every path shares
    /// still differs from them. Each collected account gives its checks as
    /// [`crate::coverage::evaluate`] does (the checks are not under test here),
    /// with its id; the unreachable account gives the one row written out below;
    /// the excluded account gives nothing; the run adds no row of its own (the
    /// setup is found). The mutelist is applied to the whole run at once.
    fn whole(org: &OrgInventory, settings: &Settings, statuses: &[ShownStatus]) -> Report {
        whole_ending(org, settings, statuses, None)
    }

    /// [`whole`] whose run ends with `end`, the row a run adds when no account
    /// has the setup (written out by the caller).
    fn whole_ending(
        org: &OrgInventory,
        settings: &Settings,
        statuses: &[ShownStatus],
        end: Option<Finding>,
    ) -> Report {
        let coverage = crate::coverage::Coverage {
            require_setup: false,
            many: true,
        };
        let checks_of = |account_id: &str| {
            let inventory = org
                .accounts
                .iter()
                .find(|a| a.account_id == account_id)
                .and_then(AccountRecord::inventory)
                .expect("a collected account of the fixture");
            let mut findings = crate::coverage::evaluate(inventory, &settings.policy, coverage);
            for finding in &mut findings {
                finding.account_id = Some(account_id.to_owned());
            }
            findings
        };
        let mut findings = checks_of("123456789012");
        findings.extend(checks_of("222222222222"));
        let reachable = &crate::account_result::ACCOUNT_REACHABLE;
        findings.push(Finding {
            check_id: "account.reachable".to_owned(),
            title: reachable.title.to_owned(),
            status: Status::Error,
            severity: reachable.severity,
            region: "global".to_owned(),
            resource: "arn:aws:iam::333333333333:role/OrganizationAccountAccessRole".to_owned(),
            resource_type: reachable.resource_type.to_owned(),
            message: "account 333333333333 (sandbox) was not audited: sts:AssumeRole failed (AccessDenied: User: x is not authorized to perform: sts:AssumeRole)".to_owned(),
            remediation: reachable.remediation.to_owned(),
            compliance: Vec::new(),
            references: reachable.references.iter().map(|&r| r.to_owned()).collect(),
            account_id: Some("333333333333".to_owned()),
            setup: None,
            muted: None,
        });
        findings.extend(end);
        let mut report = Report::for_organization(org, findings);
        if let Some(list) = &settings.mutelist {
            let inventories = org.accounts.iter().filter_map(AccountRecord::inventory);
            report.mute(list, settings.today, &ResourceTags::of(inventories));
        }
        report.keep_statuses(statuses);
        report
    }

    /// The streamed report and evidence file, the accounts given in id order.
    fn streamed(
        org: &OrgInventory,
        settings: &Settings,
        format: Format,
        statuses: &[ShownStatus],
    ) -> (String, String, Finished) {
        // One file per call: tests run in parallel threads of one process, and two
        // with the same format and statuses once removed each other's file.
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let evidence = std::env::temp_dir().join(format!(
            "audit-stream-test-{}-{call}.json",
            std::process::id()
        ));
        let mut out = Vec::new();
        let head = OrgInventory {
            accounts: Vec::new(),
            ..org.clone()
        };
        let mut writer =
            OrgWriter::new(&head, format, statuses, &mut out, Some(evidence.as_path()))
                .expect("start");
        for (at, record) in org.accounts.clone().into_iter().enumerate() {
            // Every other account held back on disk, as when done before an earlier one.
            let done = AccountDone::of(&record, settings);
            let done = if at % 2 == 1 {
                done.spill().expect("spill")
            } else {
                done
            };
            writer.account(done).expect("account");
        }
        let finished = writer.finish(&head, settings).expect("finish");
        let saved = std::fs::read_to_string(&evidence).expect("evidence");
        std::fs::remove_file(&evidence).ok();
        (String::from_utf8(out).expect("UTF-8"), saved, finished)
    }

    const MUTELIST: &str = r#"
[[mute]]
reason = "accepted in the second account"
expires = 2099-01-01
checks = ["vpc.*"]
accounts = ["222222222222"]

[[mute]]
reason = "expired"
expires = 2020-01-01
checks = ["secret.*"]

[[mute]]
reason = "matches nothing"
expires = 2099-01-01
checks = ["ec2.ssh.*"]
accounts = ["999999999999"]
"#;

    /// The scope's rows of [`org`], written out from the fixture.
    fn assert_scope_rows(report: &Report) {
        let role = |id: &str| {
            Some(format!(
                "arn:aws:iam::{id}:role/OrganizationAccountAccessRole"
            ))
        };
        let row = |id: &str, name: Option<&str>, role_arn, reached, state: &str, gaps| {
            ReportAccount {
                account_id: id.to_owned(),
                name: name.map(str::to_owned),
                role_arn,
                reached,
                state: state.to_owned(),
                regions_not_audited: gaps,
                // Both collected accounts have us-east-1 read.
                audited: reached,
            }
        };
        assert_eq!(
            report.scope.accounts,
            [
                row(
                    "123456789012",
                    Some("prod"),
                    role("123456789012"),
                    true,
                    "audited",
                    0
                ),
                row(
                    "222222222222",
                    None,
                    None,
                    true,
                    "audited; 1 region(s) not audited (timed out)",
                    2
                ),
                row(
                    "333333333333",
                    Some("sandbox"),
                    role("333333333333"),
                    false,
                    "unreachable: sts:AssumeRole failed (User: x is not authorized to perform: sts:AssumeRole)",
                    0
                ),
                row(
                    "444444444444",
                    Some("left out"),
                    None,
                    false,
                    "excluded: named by --exclude-accounts",
                    0
                ),
            ]
        );
    }

    #[test]
    fn every_format_streamed_is_the_whole_run_report_byte_for_byte() {
        let org = org();
        for (mutelist, statuses) in [
            (None, &[][..]),
            (Some(MUTELIST), &[][..]),
            (
                Some(MUTELIST),
                &[ShownStatus::Error, ShownStatus::Muted][..],
            ),
        ] {
            let settings = settings(mutelist);
            let expected = whole(&org, &settings, statuses);
            assert_scope_rows(&expected);
            if statuses.is_empty() {
                // What the hand-built run must hold, whatever the checks say.
                let of = |id: &str| {
                    expected
                        .findings
                        .iter()
                        .filter(|f| f.account_id.as_deref() == Some(id))
                        .count()
                };
                assert!(of("123456789012") > 1 && of("222222222222") > 1);
                assert_eq!(of("333333333333"), 1, "the unreachable account's one row");
                assert_eq!(of("444444444444"), 0, "the excluded account has none");
            }
            if mutelist.is_some() {
                let muted = |f: &Finding| f.muted.is_some();
                let vpc_of_second = |f: &Finding| {
                    f.account_id.as_deref() == Some("222222222222")
                        && f.check_id.starts_with("vpc.")
                };
                assert!(expected.findings.iter().any(muted));
                assert!(
                    expected
                        .findings
                        .iter()
                        .all(|f| muted(f) == vpc_of_second(f)),
                    "only the second account's vpc.* findings are muted"
                );
                let states: Vec<EntryState> = expected.mutelist.iter().map(|u| u.state).collect();
                assert_eq!(
                    states,
                    [EntryState::Live, EntryState::Expired, EntryState::Unused]
                );
            }
            for format in [
                Format::Json,
                Format::Ocsf,
                Format::Csv,
                Format::Jsonl,
                Format::Table,
                Format::Junit,
                Format::Html,
            ] {
                let (text, saved, finished) = streamed(&org, &settings, format, statuses);
                assert_eq!(
                    text,
                    expected.render(format),
                    "{format:?}, mutelist {}, {statuses:?}",
                    mutelist.is_some()
                );
                assert_eq!(finished.report.summary, expected.summary);
                assert_eq!(finished.report.mutelist, expected.mutelist);
                assert_eq!(
                    saved,
                    serde_json::to_string_pretty(&org).expect("JSON") + "\n",
                    "the evidence file is the whole run's"
                );
            }
        }
    }

    #[test]
    fn a_run_where_no_account_has_the_setup_ends_with_its_row_byte_for_byte() {
        let mut org = org();
        for account in &mut org.accounts {
            if let AccountOutcome::Collected(inventory) = &mut account.outcome {
                for region in &mut inventory.regions {
                    *region = crate::inventory::RegionInventory::empty(&region.region);
                }
            }
        }
        let settings = settings(None);
        // Counted by hand from the fixture: two regions read (us-east-1 of each
        // collected account), the second account's stopped region and its region
        // denied by an SCP not read, and the sandbox account not reached.
        let found = &crate::coverage::SETUP_FOUND;
        let end = Finding {
            check_id: found.id.to_owned(),
            title: found.title.to_owned(),
            status: Status::Error,
            severity: found.severity,
            region: "global".to_owned(),
            resource: "setup/secretsmanagertutorial".to_owned(),
            resource_type: found.resource_type.to_owned(),
            message: format!(
                "the named setup (VPC tagged Name={}, database secretsmanagertutorial, secret SecretsManagerTutorialAppuser) was found in 0 of 2 region(s) read; 2 region(s) and 1 account(s) not read could hold it: a name may be misspelt, or the setup deleted",
                Policy::default().vpc_name
            ),
            remediation: found.remediation.to_owned(),
            compliance: found.compliance.iter().map(|&c| c.to_owned()).collect(),
            references: found.references.iter().map(|&r| r.to_owned()).collect(),
            account_id: None,
            setup: None,
            muted: None,
        };
        let expected = whole_ending(&org, &settings, &[], Some(end.clone()));
        assert_eq!(expected.findings.last(), Some(&end));
        for format in [Format::Json, Format::Csv, Format::Table] {
            let (text, _, _) = streamed(&org, &settings, format, &[]);
            assert_eq!(text, expected.render(format), "{format:?}");
        }
    }

    #[test]
    fn the_skipped_lines_and_gaps_are_the_whole_runs() {
        let org = org();
        let settings = settings(None);
        let expected = whole(&org, &settings, &[]);
        let (_, _, finished) = streamed(&org, &settings, Format::Csv, &[]);
        assert_eq!(finished.skipped, expected.skipped_lines());
        // Counted by hand: the sandbox account not reached, the second account's
        // stopped region and its region denied by an SCP, and the API requests of
        // the two collected accounts (7 and 11).
        let compliant = compliant_inventory();
        assert!(compliant.skipped_regions.is_empty() && compliant.failed_regions.is_empty());
        assert_eq!(
            finished.gaps,
            NotAudited {
                accounts: 1,
                regions: 2,
                audited: 2,
            }
        );
        assert_eq!(finished.api_requests, 18);
    }

    /// (account, its region read, regions stopped, regions skipped, state,
    /// regions not audited, audited)
    type Row<'a> = (&'a str, bool, usize, usize, &'a str, usize, bool);

    #[test]
    fn the_scope_counts_each_accounts_regions_not_audited_beside_its_state() {
        use crate::inventory::{CollectionError, FailedRegion, RegionGap, SkippedRegion};
        let failed = |region: &str| FailedRegion {
            region: region.to_owned(),
            error: CollectionError {
                action: "ec2:DescribeVpcs".to_owned(),
                access_denied: false,
                code: None,
                message: "timed out".to_owned(),
            },
        };
        let skipped = |region: &str| SkippedRegion {
            region: region.to_owned(),
            gap: RegionGap::NotEnabled,
        };
        let org = org();
        // (account, regions stopped, regions skipped, state, regions not audited)
        let cases: [Row; 6] = [
            ("123456789012", true, 0, 0, "audited", 0, true),
            (
                "123456789012",
                true,
                1,
                0,
                "audited; 1 region(s) not audited (timed out)",
                1,
                true,
            ),
            // The state words only the stopped region; the count has both.
            (
                "123456789012",
                true,
                1,
                1,
                "audited; 1 region(s) not audited (timed out)",
                2,
                true,
            ),
            ("123456789012", true, 0, 2, "audited", 2, true),
            // Reached, every region stopped: its regions counted here, not audited.
            (
                "123456789012",
                false,
                2,
                0,
                "not audited: none of its 2 region(s) could be audited",
                2,
                false,
            ),
            (
                "333333333333",
                false,
                0,
                0,
                "unreachable: sts:AssumeRole failed (User: x is not authorized to perform: sts:AssumeRole)",
                0,
                false,
            ),
        ];
        for (account_id, read, stopped, not_enabled, state, count, audited) in cases {
            let mut record = org
                .accounts
                .iter()
                .find(|a| a.account_id == account_id)
                .expect("an account of the fixture")
                .clone();
            if let AccountOutcome::Collected(inventory) = &mut record.outcome {
                if !read {
                    inventory.regions.clear();
                }
                inventory.failed_regions = (0..stopped)
                    .map(|n| failed(&format!("eu-west-{n}")))
                    .collect();
                inventory.skipped_regions = (0..not_enabled)
                    .map(|n| skipped(&format!("me-south-{n}")))
                    .collect();
                if !read {
                    // The run's totals count such an account as one, and no region.
                    assert_eq!(
                        NotAudited::of_inventory(inventory),
                        NotAudited {
                            accounts: 1,
                            regions: 0,
                            audited: 0,
                        }
                    );
                }
            }
            let account = AccountPart::of(&record).account;
            assert_eq!(
                (
                    account.state.as_str(),
                    account.regions_not_audited,
                    account.audited
                ),
                (state, count, audited),
                "{account_id} {stopped} {not_enabled}"
            );
            let json = serde_json::to_value(&account).expect("JSON");
            assert_eq!(json["regions_not_audited"], count, "{json}");
            assert_eq!(json["audited"], audited, "{json}");
        }
        // A report written before the field existed still reads, with 0.
        let old: ReportAccount = serde_json::from_value(serde_json::json!({
            "account_id": "123456789012", "name": null, "role_arn": null,
            "reached": true, "state": "audited"
        }))
        .expect("an older report's account");
        assert_eq!((old.regions_not_audited, old.audited), (0, false));
    }

    #[test]
    fn an_empty_array_is_split_where_serde_writes_it() {
        let text = "{\n  \"a\": {\n    \"findings\": []\n  },\n  \"findings\": [],\n  \"b\": 1\n}";
        assert_eq!(
            split_at_empty_array(text, "findings"),
            Some((
                "{\n  \"a\": {\n    \"findings\": []\n  },\n  \"findings\": [",
                ",\n  \"b\": 1\n}"
            ))
        );
        assert_eq!(
            split_at_empty_array("{\n  \"findings\": [1]\n}", "findings"),
            None
        );
    }
}
