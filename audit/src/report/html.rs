//! The HTML report: one self-contained file an auditor can attach to an audit.
//!
//! Why it is built this way:
//!
//! - **Self-contained.** The page loads nothing: the CSS is inline, the bar charts
//!   are inline SVG, there is no script and no font. A `Content-Security-Policy`
//!   meta tag (`default-src 'none'; style-src 'unsafe-inline'; img-src data:`)
//!   makes the browser refuse any load and any script, so even a bug in this file
//!   cannot fetch from the network or run code.
//! - **Every value escaped.** Resource names, tags, messages and evidence come from
//!   the audited account and are attacker-controllable (a security group's
//!   description can hold `<script>`). Every value goes through [`escape`], in
//!   text and in attribute values alike; references become links only when they
//!   are `https://` URLs.
//! - **Usable at 60,000 findings.** An organisation's page is read account by
//!   account: each account, and each check in it, is a `<details>` (no script),
//!   open where something failed or errored; the checks with the most severe
//!   failures come first, and every finding that is not a PASS is a table row with
//!   its resource and evidence, FAIL first, then ERROR, SKIP, MUTED, each the most
//!   severe first, in row groups (status, severity, region) whose header says once
//!   what the rows share: the status, the setup when they have one, the start of
//!   every resource's ARN, the start and end of every message (or that each
//!   starts by naming its row's own secret; a row with no evidence of its own
//!   then has no evidence cell). The setup is not part of the
//!   group: with `--discover` every secret is its own setup, and a group per
//!   finding would cost a header per row; a row names its setup when its group's
//!   rows differ. PASS findings are counted,
//!   not listed (they are most of the findings and need no action), and each
//!   check's remediation, compliance ids and references are written once, in a
//!   reference section the rows link to. So the page of the 50-account bench
//!   stays under 5 MB.
//! - **Accessible and printable.** Landmarks (`<header>`, `<nav>`, `<main>`,
//!   `<footer>`), a caption on every table, `scope` on every header cell, and a
//!   print stylesheet (no navigation or charts, an account per page, collapsed
//!   sections printed open where the browser has `::details-content`; the page
//!   says that older browsers print them collapsed).
//! - **Readable by a test.** Counts carry `data-count="pass|fail|error|skip"` (and
//!   `data-severity="..."` for failures by severity) inside rows marked
//!   `data-account="<id>"` or `data-check="<id>"`, and the totals sit in
//!   `id="total"`, so a headless browser's DOM can be checked against the data.
//!
//! The report holds what the JSON report holds and nothing else: findings never
//! carry a secret value, so neither does this page.

use std::fmt::Write as _;

use super::{Report, ShownStatus, secret_name};
use crate::finding::{Finding, Severity, Status};

/// The page's Content-Security-Policy: no loads, no scripts; inline styles only.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const STATUSES: [Status; 4] = [Status::Pass, Status::Fail, Status::Error, Status::Skip];
const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Informational,
];

const STYLE: &str = "
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1b1f23;background:#fff}
h1{font-size:1.6em;margin:0 0 .4em}h2{font-size:1.25em;margin:1.6em 0 .5em}
h3{font-size:1.05em;margin:1.2em 0 .4em}
table{border-collapse:collapse;margin:.4em 0 1em}
th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}
dl.meta dt{font-weight:600}dl.meta dd{margin:0}
code,.mono{font-family:ui-monospace,monospace;font-size:.92em}
.PASS{color:#1a7f37}.FAIL{color:#cf222e}.ERROR{color:#9a6700}.SKIP{color:#57606a}.MUTED{color:#0550ae}
.badge{font-weight:700}
.evidence{white-space:pre-wrap;margin:0;font-family:ui-monospace,monospace;font-size:.92em}
.warn{background:#fff8c5;border:1px solid #d4a72c;padding:.4em .8em}
.legend span{margin-right:1em}
nav ul{margin:.2em 0;padding-left:1.4em}
details.account{border-top:1px solid #d0d7de;margin:.4em 0}
details.account>summary h3{display:inline;font-size:1.1em}
details.check{margin:.3em 0 .3em 1.2em}
details summary{cursor:pointer;padding:.2em 0}
table.findings{width:100%}table.findings td p{margin:0}
tbody th[scope=rowgroup]{background:#eaeef2;font-weight:400}
table.findings td:first-child{font:.92em ui-monospace,monospace;overflow-wrap:anywhere}
.muted{color:#0550ae}
.check-ref{margin:.6em 0}.check-ref dl{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em}
.check-ref dt{font-weight:600}.check-ref dd{margin:0;overflow-wrap:anywhere}
@media print{
body{margin:0;font-size:10pt;color:#000}
nav,svg.bar,td svg{display:none}
a{color:inherit;text-decoration:none}
details.account{break-before:page}
tr,.check-ref{break-inside:avoid}
th{background:none}
details::details-content{content-visibility:visible}
}
";

/// What printing does with the collapsed sections: `::details-content` (Chrome
/// and Edge 131, Firefox 143, Safari 18.4, per MDN's "::details-content" page)
/// lets the print stylesheet open them; an older browser cannot.
const PRINT_NOTE: &str = "Printing: collapsed sections print open in browsers with ::details-content (Chrome and Edge 131, Firefox 143, Safari 18.4 and later); older browsers print them collapsed, so open them before printing.";

/// Bar colours, in the order of [`STATUSES`].
const BAR_COLOURS: [&str; 4] = ["#2da44e", "#cf222e", "#d4a72c", "#8c959f"];

/// `text` escaped for HTML text and double- or single-quoted attribute values.
/// Control characters other than tab and line feed (which HTML forbids in
/// documents) become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Counts of one group of findings: by status, and failures by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    status: [usize; 4],
    failed_by_severity: [usize; 5],
    /// Findings a mutelist entry accepts (not counted by status).
    muted: usize,
}

impl Counts {
    fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Self {
        let mut counts = Self::default();
        for finding in findings {
            if finding.muted.is_some() {
                counts.muted += 1;
                continue;
            }
            let status = STATUSES
                .iter()
                .position(|s| *s == finding.status)
                .unwrap_or_default();
            counts.status[status] += 1;
            if finding.status == Status::Fail {
                let severity = SEVERITIES
                    .iter()
                    .position(|s| *s == finding.severity)
                    .unwrap_or_default();
                counts.failed_by_severity[severity] += 1;
            }
        }
        counts
    }
}

/// The lowercase key of a status, as in the JSON summary (`pass`, `fail`, ...).
fn status_key(status: Status) -> String {
    status.to_string().to_lowercase()
}

/// A small stacked bar of the status counts, as inline SVG.
fn bar(counts: &Counts) -> String {
    const WIDTH: usize = 160;
    let total: usize = counts.status.iter().sum();
    let mut svg = format!(
        "<svg class=\"bar\" width=\"{WIDTH}\" height=\"12\" viewBox=\"0 0 {WIDTH} 12\" role=\"img\" aria-label=\"{}\">",
        STATUSES
            .iter()
            .zip(counts.status)
            .map(|(s, n)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if total == 0 {
        let _ = write!(
            svg,
            "<rect width=\"{WIDTH}\" height=\"12\" fill=\"#eaeef2\"/>"
        );
    }
    // Each segment ends where its cumulative share ends, so the widths add up to the
    // bar's width exactly, whatever the rounding.
    let mut done = 0;
    let mut x = 0;
    for (i, &n) in counts.status.iter().enumerate() {
        if n == 0 {
            continue;
        }
        done += n;
        let end = (done * WIDTH + total / 2) / total;
        let _ = write!(
            svg,
            "<rect x=\"{x}\" width=\"{}\" height=\"12\" fill=\"{}\"><title>{n} {}</title></rect>",
            end - x,
            BAR_COLOURS[i],
            STATUSES[i]
        );
        x = end;
    }
    svg.push_str("</svg>");
    svg
}

/// The count cells of one summary row.
fn count_cells(out: &mut String, counts: &Counts) {
    for (status, n) in STATUSES.iter().zip(counts.status) {
        let _ = write!(
            out,
            "<td class=\"n {status}\" data-count=\"{}\">{n}</td>",
            status_key(*status)
        );
    }
    for (severity, n) in SEVERITIES.iter().zip(counts.failed_by_severity) {
        let _ = write!(out, "<td class=\"n\" data-severity=\"{severity}\">{n}</td>");
    }
    let _ = write!(out, "<td>{}</td>", bar(counts));
}

fn summary_header(out: &mut String, first: &str) {
    let _ = write!(out, "<thead><tr><th scope=\"col\">{first}</th>");
    for status in STATUSES {
        let _ = write!(out, "<th scope=\"col\">{status}</th>");
    }
    for severity in SEVERITIES {
        let _ = write!(out, "<th scope=\"col\">FAIL {severity}</th>");
    }
    out.push_str("<th scope=\"col\">chart</th></tr></thead>\n");
}

/// The heading of an account: its label, or the single account's id.
fn account_heading(report: &Report, account: Option<&super::ReportAccount>) -> (String, String) {
    if let Some(a) = account {
        return (
            a.account_id.clone(),
            crate::org_inventory::account_label(&a.account_id, a.name.as_deref()),
        );
    }
    let id = report
        .scope
        .account_id
        .clone()
        .unwrap_or_else(|| "unknown".to_owned());
    let label = format!("account {id}");
    (id, label)
}

fn header(out: &mut String, report: &Report) {
    let scope = &report.scope;
    let _ = write!(
        out,
        "<header><h1>{} report</h1>\n<dl class=\"meta\">",
        escape(&report.tool)
    );
    let mut item = |term: &str, value: String| {
        let _ = write!(out, "<dt>{term}</dt><dd>{value}</dd>");
    };
    item(
        "Tool",
        format!(
            "<span id=\"tool\">{}</span> <span id=\"version\">{}</span>",
            escape(&report.tool),
            escape(&report.version)
        ),
    );
    item(
        "Collected at",
        format!(
            "<time id=\"collected-at\" datetime=\"{0}\">{0}</time>",
            escape(&scope.collected_at)
        ),
    );
    item(
        "Caller",
        format!(
            "<span id=\"caller\" class=\"mono\">{}</span>",
            escape(&match (&scope.caller, &scope.account_id) {
                (Some(caller), _) => format!("{} (account {})", caller.arn, caller.account_id),
                (None, Some(account)) => format!("credentials of account {account}"),
                (None, None) => "unknown".to_owned(),
            })
        ),
    );
    let accounts = if scope.accounts.is_empty() {
        escape(scope.account_id.as_deref().unwrap_or("unknown"))
    } else {
        scope
            .accounts
            .iter()
            .map(|a| {
                let mut text =
                    crate::org_inventory::account_label(&a.account_id, a.name.as_deref());
                if let Some(role) = &a.role_arn {
                    let _ = write!(text, " via {role}");
                }
                if !a.reached {
                    text.push_str(" (not reached)");
                }
                escape(&text)
            })
            .collect::<Vec<_>>()
            .join("<br>")
    };
    item("Accounts", accounts);
    item("Regions", escape(&scope.regions.join(", ")));
    let mut audited = Vec::new();
    if scope.discover {
        // The named VPC, secrets and database were not looked for.
        audited.push(
            "every rotation setup of each region, found from its secret (--discover)".to_owned(),
        );
    } else {
        audited.push(match &scope.vpc_id {
            Some(id) => format!("VPC {id}"),
            None => "the VPC found by its Name tag".to_owned(),
        });
        if !scope.secret_ids.is_empty() {
            audited.push(format!("secrets {}", scope.secret_ids.join(", ")));
        }
        if scope.all_secrets {
            audited.push("every secret of each region".to_owned());
        }
        audited.push(format!("database {}", scope.db_instance_id));
    }
    audited.push(if scope.read_secrets {
        "secret values read (never shown)".to_owned()
    } else {
        "secret values not read".to_owned()
    });
    item("Scope", escape(&audited.join("; ")));
    out.push_str("</dl>\n");
    if scope.insecure_db_tls {
        out.push_str(
            "<p class=\"warn\">--insecure-db-tls: the database login did not require verified TLS.</p>\n",
        );
    }
    out.push_str("</header>\n");
}

fn summaries(out: &mut String, report: &Report, checks: &[CheckGroup<'_>]) {
    // The totals count every finding, also those `--status` did not list.
    let total = &report.summary;
    out.push_str("<section id=\"summary\" aria-labelledby=\"summary-h\"><h2 id=\"summary-h\">Summary</h2>\n<p id=\"total\" class=\"legend\">");
    let status_counts = [total.pass, total.fail, total.error, total.skip];
    for (status, n) in STATUSES.iter().zip(status_counts) {
        let _ = write!(
            out,
            "<span class=\"badge {status}\">{status} <span data-count=\"{}\">{n}</span></span>",
            status_key(*status)
        );
    }
    if total.muted > 0 {
        let _ = write!(
            out,
            "<span class=\"badge MUTED\">MUTED <span data-count=\"muted\">{}</span></span>",
            total.muted
        );
    }
    let _ = writeln!(
        out,
        "{}</p>",
        bar(&Counts {
            status: status_counts,
            ..Counts::default()
        })
    );
    if let Some(note) = report.listed_note() {
        let _ = writeln!(out, "<p class=\"warn\" id=\"listed\">{}</p>", escape(&note));
    }

    out.push_str("<table id=\"accounts\"><caption>Findings listed, per account</caption>");
    summary_header(out, "Account");
    out.push_str("<tbody>\n");
    for (account, findings) in report.by_account() {
        let (id, label) = account_heading(report, account);
        let _ = write!(
            out,
            "<tr data-account=\"{}\"><th scope=\"row\"><a href=\"#account-{0}\">{}</a></th>",
            escape(&id),
            escape(&label)
        );
        count_cells(out, &Counts::of(findings));
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");

    out.push_str("<table id=\"checks\"><caption>Findings listed, per check (each links to its remediation)</caption>");
    summary_header(out, "Check");
    out.push_str("<tbody>\n");
    for group in checks {
        let _ = write!(
            out,
            "<tr data-check=\"{0}\"><th scope=\"row\"><a href=\"#check-{0}\"><code>{0}</code></a></th>",
            escape(group.id)
        );
        count_cells(out, &Counts::of(group.findings.iter().copied()));
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n</section>\n");
}

/// The findings of one check (in one account, or in all), in report order.
struct CheckGroup<'a> {
    id: &'a str,
    findings: Vec<&'a Finding>,
}

/// `findings` grouped by check, in the order each check first appears.
fn by_check<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Vec<CheckGroup<'a>> {
    let mut groups: Vec<CheckGroup<'a>> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for finding in findings {
        let at = *index.entry(finding.check_id.as_str()).or_insert_with(|| {
            groups.push(CheckGroup {
                id: &finding.check_id,
                findings: Vec::new(),
            });
            groups.len() - 1
        });
        groups[at].findings.push(finding);
    }
    groups
}

/// What needs action first: FAIL, then ERROR, SKIP, MUTED (PASS is only counted).
fn urgency(finding: &Finding) -> usize {
    if finding.muted.is_some() {
        return 3;
    }
    match finding.status {
        Status::Fail => 0,
        Status::Error => 1,
        Status::Skip => 2,
        Status::Pass => 4,
    }
}

/// The sort key of a check's group in an account: failures of the highest
/// severity first, then errors, then the rest (report order kept among equals).
fn group_rank(group: &CheckGroup<'_>) -> (usize, std::cmp::Reverse<Option<Severity>>) {
    let worst = group.findings.iter().map(|f| urgency(f)).min().unwrap_or(4);
    // Severity orders failures and errors; the rest keep the report's order.
    let severity = group
        .findings
        .iter()
        .filter(|f| worst < 2 && urgency(f) == worst)
        .map(|f| f.severity)
        .max();
    (worst, std::cmp::Reverse(severity))
}

/// Findings of one check in one account that share a status, a severity and a
/// region: one `<tbody>`, whose header says once what its rows share (so 20,000
/// failures of one kind stay a few MB, and nothing is lost).
struct RowGroup<'a> {
    findings: Vec<&'a Finding>,
    /// The rows' setups differ: each row names its own (else the header does).
    setups_differ: bool,
    /// What every resource starts with, up to a `:` or `/` (said in the header).
    resource_prefix: &'a str,
    /// What every message starts with, up to a space or `/` (said in the header).
    message_prefix: &'a str,
    /// The word every message starts with before its own secret's name, when
    /// each does (see [`own_secret_lead`]); then `message_prefix` is empty.
    own_secret_lead: &'a str,
    /// What every message ends with, from a word on (said in the header).
    message_suffix: &'a str,
}

/// How many bytes every one of `texts` shares with the first, from the start
/// (or from the end), ending on a character boundary.
fn shared_len(texts: &[&str], from_end: bool) -> usize {
    let Some((first, rest)) = texts.split_first() else {
        return 0;
    };
    let mut len = first.len();
    for text in rest {
        let same = if from_end {
            first
                .bytes()
                .rev()
                .zip(text.bytes().rev())
                .take_while(|(a, b)| a == b)
                .count()
        } else {
            first
                .bytes()
                .zip(text.bytes())
                .take_while(|(a, b)| a == b)
                .count()
        };
        len = len.min(same);
    }
    // Equal bytes from a character boundary of the first are one in every text too.
    while !first.is_char_boundary(if from_end { first.len() - len } else { len }) {
        len -= 1;
    }
    len
}

/// The longest start `texts` share, cut after its last `:` or `/`, so each row keeps a name.
fn shared_prefix<'a>(texts: &[&'a str]) -> &'a str {
    let Some(first) = texts.first() else {
        return "";
    };
    let len = shared_len(texts, false);
    let cut = first[..len].rfind([':', '/']).map_or(0, |i| i + 1);
    if texts.len() < 2 || texts.iter().any(|t| t.len() == cut) {
        return "";
    }
    &first[..cut]
}

/// The longest start `texts` share, cut after its last space or `/`, when long
/// enough to matter and every text keeps something between it and its shared
/// end (`suffix_len` bytes): with `--discover` every message of a group starts
/// with the path its secrets share.
fn shared_message_prefix<'a>(texts: &[&'a str], suffix_len: usize) -> &'a str {
    const WORTH: usize = 24;
    let Some(first) = texts.first() else {
        return "";
    };
    let len = shared_len(texts, false);
    let cut = first[..len].rfind([' ', '/']).map_or(0, |i| i + 1);
    if texts.len() < 2 || cut < WORTH || texts.iter().any(|t| cut + suffix_len >= t.len()) {
        return "";
    }
    &first[..cut]
}

/// The longest end `texts` share, from the start of a word, when long enough to matter.
fn shared_suffix<'a>(texts: &[&'a str]) -> &'a str {
    const WORTH: usize = 24;
    let Some(first) = texts.first() else {
        return "";
    };
    let len = shared_len(texts, true);
    let tail = &first[first.len() - len..];
    let Some(space) = tail.find(' ') else {
        return "";
    };
    let shared = &tail[space + 1..];
    if texts.len() < 2 || shared.len() < WORTH {
        return "";
    }
    shared
}

/// `listed` (findings that are not a PASS) as row groups: FAIL, ERROR, SKIP,
/// MUTED, each the most severe first, then by region; rows by setup in a group.
fn row_groups(mut listed: Vec<&Finding>) -> Vec<RowGroup<'_>> {
    fn key(f: &Finding) -> (usize, std::cmp::Reverse<Severity>, &str) {
        (urgency(f), std::cmp::Reverse(f.severity), f.region.as_str())
    }
    listed.sort_by_key(|f| (key(f), f.setup.as_deref()));
    let mut groups = Vec::new();
    let mut start = 0;
    while start < listed.len() {
        let end = start
            + listed[start..]
                .iter()
                .take_while(|f| key(f) == key(listed[start]))
                .count();
        let findings = listed[start..end].to_vec();
        let resources: Vec<&str> = findings.iter().map(|f| f.resource.as_str()).collect();
        let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
        let setup = findings[0].setup.as_deref();
        groups.push(RowGroup {
            setups_differ: findings.iter().any(|f| f.setup.as_deref() != setup),
            resource_prefix: shared_prefix(&resources),
            own_secret_lead: own_secret_lead(&findings, shared_suffix(&messages).len()),
            message_prefix: if own_secret_lead(&findings, shared_suffix(&messages).len()).is_empty()
            {
                shared_message_prefix(&messages, shared_suffix(&messages).len())
            } else {
                ""
            },
            message_suffix: shared_suffix(&messages),
            findings,
        });
        start = end;
    }
    groups
}
/// Whether `resource` is the ARN of the secret named `setup`: with `--discover`
/// a setup is named by its secret, so a finding on that secret names its setup.
fn names_its_setup(resource: &str, setup: &str) -> bool {
    secret_name(resource) == Some(setup)
}

/// The word every message of `findings` starts with before naming its own
/// row's secret (`secret ` in `secret <name> has rotation disabled`), when each
/// does: the header says it once, as `secret ‹its secret›`, and a row leaves out
/// what its resource already names. Each keeps its shared end (`suffix_len`).
fn own_secret_lead<'a>(findings: &[&'a Finding], suffix_len: usize) -> &'a str {
    const LONGEST: usize = 16;
    let lead_of = |f: &&'a Finding| -> Option<&'a str> {
        let name = secret_name(&f.resource)?;
        let at = f.message.find(name)?;
        let rest = &f.message[at + name.len()..];
        (at <= LONGEST && rest.starts_with(' ') && f.message.len() - suffix_len > at + name.len())
            .then(|| &f.message[..at])
    };
    let Some(lead) = findings.first().and_then(lead_of) else {
        return "";
    };
    if findings.len() < 2 || findings.iter().any(|f| lead_of(f) != Some(lead)) {
        return "";
    }
    lead
}

/// One row group: a header saying what its rows share, then a row per finding
/// (its resource and evidence, the shared parts left out; the muted note; its
/// remediation when it differs from its check's).
fn row_group(out: &mut String, group: &RowGroup<'_>, remediation: &str) {
    let first = group.findings[0];
    let status = ShownStatus::of(first);
    let _ = write!(
        out,
        "<tbody class=\"s-{status}\"><tr><th scope=\"rowgroup\" colspan=\"2\"><span class=\"badge {status}\">{status}</span> {} · {}{} · {} finding{}",
        first.severity,
        escape(&first.region),
        match (group.setups_differ, &first.setup) {
            (false, Some(setup)) => format!(" · setup {}", escape(setup)),
            (false, None) => String::new(),
            (true, _) => {
                " · setups differ: a row's is the secret it names, else said in the row".to_owned()
            }
        },
        group.findings.len(),
        if group.findings.len() == 1 { "" } else { "s" }
    );
    if !group.resource_prefix.is_empty() {
        let _ = write!(
            out,
            " · resources <span class=\"mono\">{}</span>…",
            escape(group.resource_prefix)
        );
    }
    if !group.message_prefix.is_empty() {
        let _ = write!(
            out,
            "<br>each evidence starts “{}…”",
            escape(group.message_prefix)
        );
    }
    if !group.own_secret_lead.is_empty() {
        let _ = write!(
            out,
            "<br>each evidence starts “{}‹the row's secret› …”",
            escape(group.own_secret_lead)
        );
    }
    if !group.message_suffix.is_empty() {
        let _ = write!(
            out,
            "<br>each evidence ends “…{}”",
            escape(group.message_suffix)
        );
    }
    out.push_str("</th></tr>\n");
    for finding in &group.findings {
        let resource = &finding.resource[group.resource_prefix.len()..];
        let start = if group.own_secret_lead.is_empty() {
            group.message_prefix.len()
        } else {
            // The lead, the secret's name and a space (`own_secret_lead` checked each).
            group.own_secret_lead.len() + secret_name(&finding.resource).map_or(0, str::len) + 1
        };
        let message = &finding.message[start..finding.message.len() - group.message_suffix.len()];
        let shortened = start > 0 || !group.message_suffix.is_empty();
        // The least markup a row needs (HTML lets `</td>` and `</tr>` be left out):
        // at 60,000 findings every byte of a row is 60 kB of the page.
        let setup = match (group.setups_differ, &finding.setup) {
            (true, Some(setup)) if !names_its_setup(&finding.resource, setup) => {
                format!("<br>setup {}", escape(setup))
            }
            _ => String::new(),
        };
        let _ = write!(
            out,
            "<tr><td>{}{setup}{}",
            escape(resource),
            match (
                message.is_empty() && shortened,
                start > 0,
                group.message_suffix.is_empty()
            ) {
                // Nothing of its own between the shared start and end: the
                // header's evidence is the row's whole evidence, so no cell
                // (unless a note below needs one).
                (true, _, _) => {
                    if finding.muted.is_some() || finding.remediation != remediation {
                        "<td>".to_owned()
                    } else {
                        String::new()
                    }
                }
                (false, true, true) => format!("<td>…{}", escape(message)),
                (false, true, false) => format!("<td>…{}…", escape(message)),
                (false, false, false) => format!("<td>{}…", escape(message)),
                (false, false, true) => format!("<td>{}", escape(message)),
            }
        );
        if let Some(note) = finding.muted_note() {
            let _ = write!(out, "<p class=\"muted\">{}</p>", escape(&note));
        }
        if finding.remediation != remediation {
            let _ = write!(
                out,
                "<p><b>Remediation:</b> {}</p>",
                escape(&finding.remediation)
            );
        }
        out.push('\n');
    }
    out.push_str("</tbody>\n");
}

/// One check in one account: a `<details>` (open when something failed or
/// errored) whose summary counts each status, with a table of every finding that
/// is not a PASS, in row groups (status, severity, region), FAIL and the most
/// severe first.
fn check_details(out: &mut String, account_id: &str, group: &CheckGroup<'_>, remediation: &str) {
    let counts = Counts::of(group.findings.iter().copied());
    let open = counts.status[1] + counts.status[2] > 0;
    let _ = write!(
        out,
        "<details class=\"check\" data-check=\"{}\"{}><summary><code>{0}</code> {}",
        escape(group.id),
        if open { " open" } else { "" },
        escape(&group.findings[0].title)
    );
    for (status, n) in STATUSES.iter().zip(counts.status) {
        if n > 0 {
            let _ = write!(out, " · <span class=\"{status}\">{n} {status}</span>");
        }
    }
    if counts.muted > 0 {
        let _ = write!(
            out,
            " · <span class=\"MUTED\">{} MUTED</span>",
            counts.muted
        );
    }
    out.push_str("</summary>\n");
    let listed: Vec<&Finding> = group
        .findings
        .iter()
        .copied()
        .filter(|f| urgency(f) < 4)
        .collect();
    if listed.is_empty() {
        let _ = writeln!(
            out,
            "<p>Every resource passed. <a href=\"#check-{}\">What the check wants</a>.</p></details>",
            escape(group.id)
        );
        return;
    }
    let _ = writeln!(
        out,
        "<table class=\"findings\"><caption>{} finding{} of <code>{}</code> in {} that {} not PASS (<a href=\"#check-{2}\">remediation</a>)</caption><thead><tr><th scope=\"col\">Resource</th><th scope=\"col\">Evidence</th></tr></thead>",
        listed.len(),
        if listed.len() == 1 { "" } else { "s" },
        escape(group.id),
        escape(account_id),
        if listed.len() == 1 { "is" } else { "are" }
    );
    for rows in row_groups(listed) {
        row_group(out, &rows, remediation);
    }
    out.push_str("</table></details>\n");
}

/// Each account, then each of its checks, as nested `<details>`: what needs
/// action is open, everything else a click away (no script).
fn details(out: &mut String, report: &Report, remediations: &[(&str, &str)]) {
    out.push_str("<section id=\"findings\" aria-labelledby=\"findings-h\"><h2 id=\"findings-h\">Findings by account and check</h2>\n");
    for (account, findings) in report.by_account() {
        let (id, label) = account_heading(report, account);
        let counts = Counts::of(findings.iter().copied());
        let open = counts.status[1] + counts.status[2] > 0;
        let _ = writeln!(
            out,
            "<details class=\"account\" id=\"account-{}\" data-account=\"{0}\"{}><summary><h3>{}{}: {} passed, {} failed, {} errors, {} skipped{}</h3></summary>",
            escape(&id),
            if open { " open" } else { "" },
            escape(&label),
            // After `--status` these count what is listed, not what was found.
            if report.listed.is_empty() {
                ""
            } else {
                ", findings listed"
            },
            counts.status[0],
            counts.status[1],
            counts.status[2],
            counts.status[3],
            if counts.muted > 0 {
                format!(", {} muted", counts.muted)
            } else {
                String::new()
            }
        );
        let mut groups = by_check(findings.iter().copied());
        groups.sort_by_key(group_rank);
        for group in &groups {
            let remediation = remediations
                .iter()
                .find(|(check, _)| *check == group.id)
                .map_or("", |(_, r)| *r);
            check_details(out, &id, group, remediation);
        }
        out.push_str("</details>\n");
    }
    out.push_str("</section>\n");
}

/// Each check once: what it wants, how to fix a failure, its compliance ids and
/// references (the findings link here instead of repeating them).
fn checks_reference(out: &mut String, checks: &[CheckGroup<'_>]) {
    out.push_str("<section id=\"check-reference\" aria-labelledby=\"check-reference-h\"><h2 id=\"check-reference-h\">Checks and their remediation</h2>\n");
    for group in checks {
        let first = group.findings[0];
        let _ = write!(
            out,
            "<article class=\"check-ref\" id=\"check-{}\"><h3><code>{0}</code> {}</h3>\n<dl>",
            escape(group.id),
            escape(&first.title)
        );
        let _ = write!(
            out,
            "<dt>Resource type</dt><dd>{}</dd><dt>Remediation</dt><dd>{}</dd>",
            escape(&first.resource_type),
            escape(&first.remediation)
        );
        if !first.compliance.is_empty() {
            let _ = write!(
                out,
                "<dt>Compliance</dt><dd>{}</dd>",
                first
                    .compliance
                    .iter()
                    .map(|c| format!("<code>{}</code>", escape(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if !first.references.is_empty() {
            let _ = write!(
                out,
                "<dt>References</dt><dd>{}</dd>",
                first
                    .references
                    .iter()
                    .map(|r| {
                        if r.starts_with("https://") {
                            format!("<a href=\"{0}\">{0}</a>", escape(r))
                        } else {
                            escape(r)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("<br>")
            );
        }
        out.push_str("</dl></article>\n");
    }
    out.push_str("</section>\n");
}

/// Links to each part of the page, and to each account that needs action.
fn nav(out: &mut String, report: &Report) {
    out.push_str("<nav aria-label=\"Contents\"><ul><li><a href=\"#summary\">Summary</a></li><li><a href=\"#findings\">Findings by account and check</a>");
    let needing: Vec<(String, String, Counts)> = report
        .by_account()
        .into_iter()
        .map(|(account, findings)| {
            let (id, label) = account_heading(report, account);
            (id, label, Counts::of(findings))
        })
        .filter(|(_, _, counts)| counts.status[1] + counts.status[2] > 0)
        .collect();
    if !needing.is_empty() {
        out.push_str("<ul>");
        for (id, label, counts) in needing {
            let _ = write!(
                out,
                "<li><a href=\"#account-{}\">{}</a>: {} FAIL, {} ERROR{}</li>",
                escape(&id),
                escape(&label),
                counts.status[1],
                counts.status[2],
                if report.listed.is_empty() {
                    ""
                } else {
                    " listed"
                }
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</li><li><a href=\"#check-reference\">Checks and their remediation</a></li>");
    if !report.excluded.is_empty() {
        out.push_str("<li><a href=\"#excluded\">Excluded by discovery</a></li>");
    }
    if !report.mutelist.is_empty() {
        out.push_str("<li><a href=\"#mutelist\">Mutelist</a></li>");
    }
    out.push_str("</ul></nav>\n");
}

/// The secrets `--discover` looked at and excluded, each with its reason.
fn excluded(out: &mut String, report: &Report) {
    if report.excluded.is_empty() {
        return;
    }
    out.push_str("<section id=\"excluded\" aria-labelledby=\"excluded-h\"><h2 id=\"excluded-h\">Excluded by discovery</h2>\n<ul>\n");
    for line in report.excluded_lines() {
        let _ = writeln!(out, "<li>{}</li>", escape(&line));
    }
    out.push_str("</ul></section>\n");
}

/// With `--mutelist`: each entry, its state and the findings it muted.
fn mutelist(out: &mut String, report: &Report) {
    if report.mutelist.is_empty() {
        return;
    }
    out.push_str("<section id=\"mutelist\" aria-labelledby=\"mutelist-h\"><h2 id=\"mutelist-h\">Mutelist</h2>\n<table><caption>Accepted exceptions and what became of them</caption><thead><tr><th scope=\"col\">Entry</th><th scope=\"col\">Reason</th><th scope=\"col\">Expires</th><th scope=\"col\">State</th><th scope=\"col\">Findings</th></tr></thead><tbody>\n");
    for entry in &report.mutelist {
        let state = serde_json::to_value(entry.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{state}</td><td>{}</td></tr>",
            entry.entry,
            escape(&entry.reason),
            escape(&entry.expires),
            entry.matched
        );
    }
    out.push_str("</tbody></table></section>\n");
}

/// The report as one self-contained HTML page.
pub fn render(report: &Report) -> String {
    let mut out = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = write!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"{} {}\">\
         <title>{} report {}</title><style>{STYLE}</style></head>\n<body>\n",
        escape(&report.tool),
        escape(&report.version),
        escape(&report.tool),
        escape(&report.scope.collected_at)
    );
    header(&mut out, report);
    nav(&mut out, report);
    out.push_str("<main>\n");
    let checks = by_check(&report.findings);
    // Each check's remediation, as its first finding states it (said once, in the reference).
    let remediations: Vec<(&str, &str)> = checks
        .iter()
        .map(|g| (g.id, g.findings[0].remediation.as_str()))
        .collect();
    summaries(&mut out, report, &checks);
    details(&mut out, report, &remediations);
    checks_reference(&mut out, &checks);
    excluded(&mut out, report);
    mutelist(&mut out, report);
    let _ = writeln!(
        out,
        "</main>\n<footer><p>{} {}: {}</p><p>{PRINT_NOTE}</p></footer>\n</body></html>",
        escape(&report.tool),
        escape(&report.version),
        report.summary
    );
    out
}

#[cfg(test)]
mod tests {
    use super::super::{sample_org_report, sample_report};
    use super::*;

    const HOSTILE: &str =
        "sg-1 <script>alert('x')</script> \"quoted\" & <img src=x onerror=alert(1)>";

    #[test]
    fn escape_leaves_no_markup_of_its_input() {
        let cases = [
            ("<", "&lt;"),
            (">", "&gt;"),
            ("&", "&amp;"),
            ("\"", "&quot;"),
            ("'", "&#39;"),
            ("&lt;", "&amp;lt;"),
            ("a\nb\tc", "a\nb\tc"),
            ("bell\u{7}", "bell\u{FFFD}"),
            (
                "plain arn:aws:ec2:us-east-1:1:vpc/vpc-1",
                "plain arn:aws:ec2:us-east-1:1:vpc/vpc-1",
            ),
            (
                "</script><script>x</script>",
                "&lt;/script&gt;&lt;script&gt;x&lt;/script&gt;",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(escape(input), expected, "{input:?}");
        }
        let escaped = escape(HOSTILE);
        for forbidden in ['<', '>', '"', '\''] {
            assert!(!escaped.contains(forbidden), "{forbidden} in {escaped}");
        }
    }

    #[test]
    fn hostile_values_reach_the_page_only_escaped() {
        let mut report = sample_report();
        report.findings[0].resource = format!("</script>{HOSTILE}");
        report.findings[0].message = HOSTILE.to_owned();
        report.findings[0].check_id = "<b>check</b>".to_owned();
        report.findings[0].compliance = vec!["<i>CIS</i>".to_owned()];
        report.findings[0].references = vec!["javascript:alert(1)".to_owned()];
        report.scope.regions = vec!["<u>region</u>".to_owned()];
        let page = render(&report);
        for tag in ["<script", "</script", "<img", "<b>", "<i>", "<u>"] {
            assert!(!page.contains(tag), "unescaped {tag} in the page");
        }
        assert!(
            page.contains("&lt;/script&gt;sg-1 &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
        );
        assert!(!page.contains("href=\"javascript:"));
    }

    #[test]
    fn the_page_loads_nothing_and_says_so_in_its_policy() {
        let page = render(&sample_report());
        assert!(page.contains(&format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">"
        )));
        for load in [
            "<script", "<link", "<img", "<iframe", "@import", "url(", "src=\"",
        ] {
            assert!(!page.contains(load), "{load} in the page");
        }
    }

    #[test]
    fn counts_per_account_and_check_match_the_findings() {
        let report = sample_org_report();
        let page = render(&report);
        let row = |marker: &str| {
            let start = page.find(marker).unwrap_or_else(|| panic!("{marker}"));
            let end = start + page[start..].find("</tr>").expect("row end");
            page[start..end].to_owned()
        };
        let count = |row: &str, key: &str| -> usize {
            let marker = format!("{key}\">");
            let start = row
                .find(&marker)
                .unwrap_or_else(|| panic!("{key} in {row}"))
                + marker.len();
            row[start..start + row[start..].find('<').expect("end")]
                .parse()
                .expect("number")
        };
        for account in &report.scope.accounts {
            let row = row(&format!("data-account=\"{}\"", account.account_id));
            let owned: Vec<_> = report
                .findings
                .iter()
                .filter(|f| f.account_id.as_deref() == Some(account.account_id.as_str()))
                .cloned()
                .collect();
            let summary = crate::finding::Summary::of(&owned);
            assert_eq!(count(&row, "data-count=\"pass"), summary.pass, "{row}");
            assert_eq!(count(&row, "data-count=\"fail"), summary.fail, "{row}");
            assert_eq!(count(&row, "data-count=\"error"), summary.error, "{row}");
            assert_eq!(count(&row, "data-count=\"skip"), summary.skip, "{row}");
        }
        let sandbox = row("data-account=\"333333333333\"");
        assert_eq!(count(&sandbox, "data-count=\"error"), 1);
        let first = &report.findings[0];
        let check = row(&format!("data-check=\"{}\"", first.check_id));
        assert_eq!(count(&check, "data-count=\"fail"), 1, "{check}");
        assert_eq!(
            count(&check, &format!("data-severity=\"{}", first.severity)),
            1,
            "{check}"
        );
        assert!(page.contains("arn:aws:iam::999999999999:user/auditor"));
        assert!(page.contains(&format!("datetime=\"{}\"", report.scope.collected_at)));
    }

    #[test]
    fn findings_are_grouped_by_account_then_check_failures_first_by_severity() {
        let mut report = sample_org_report();
        // In the first account: a high and a critical failure of one check, an error
        // of another; every other finding passes.
        let first = report.findings[0].account_id.clone();
        let ssh = report
            .findings
            .iter()
            .position(|f| f.check_id == "ec2.ssh.restricted" && f.account_id == first)
            .expect("ssh finding");
        let mut critical = report.findings[ssh].clone();
        critical.status = Status::Fail;
        critical.severity = Severity::Critical;
        critical.resource = "sg-critical".to_owned();
        report.findings[ssh].status = Status::Fail;
        report.findings[ssh].severity = Severity::High;
        report.findings[ssh].resource = "sg-high".to_owned();
        report.findings.insert(ssh, critical);
        report.findings[0].status = Status::Error;
        report.summary = crate::finding::Summary::of(&report.findings);
        let page = render(&report);
        let details = &page[page.find("id=\"findings\"").expect("details")..];
        // Accounts in report order, as nested <details>; what needs action is open.
        let prod = details
            .find("<details class=\"account\" id=\"account-123456789012\"")
            .expect("first account");
        let sandbox = details
            .find("<details class=\"account\" id=\"account-333333333333\"")
            .expect("second account");
        assert!(prod < sandbox);
        let prod_part = &details[prod..sandbox];
        assert!(prod_part[..prod_part.find('>').expect("tag")].ends_with(" open"));
        // The failing check first, then the erroring one; passing checks after.
        let order: Vec<usize> = [
            "data-check=\"ec2.ssh.restricted\" open",
            &format!("data-check=\"{}\" open", report.findings[0].check_id),
            "data-check=\"rds.not-public\">",
        ]
        .iter()
        .map(|marker| prod_part.find(marker).unwrap_or_else(|| panic!("{marker}")))
        .collect();
        assert!(order.is_sorted(), "{order:?}");
        // Within the check: the critical failure before the high one.
        assert!(
            prod_part.find("sg-critical").expect("critical")
                < prod_part.find("sg-high").expect("high")
        );
        // PASS findings are counts, not rows: one row per finding that is not a PASS.
        let not_passed = report
            .findings
            .iter()
            .filter(|f| f.status != Status::Pass || f.muted.is_some())
            .count();
        assert_eq!(page.matches("<tr><td>").count(), not_passed);
        assert!(prod_part.contains("Every resource passed."));
        // Each check's remediation once, in the reference, however many findings.
        let remediation = escape(&report.findings[ssh].remediation);
        assert_eq!(
            page.matches(remediation.as_str()).count(),
            1,
            "{remediation}"
        );
        assert!(page.contains("id=\"check-ec2.ssh.restricted\""));
    }

    #[test]
    fn rows_leave_out_only_what_their_group_header_says() {
        let arns = [
            "arn:aws:secretsmanager:us-east-1:1:secret:app/é-1",
            "arn:aws:secretsmanager:us-east-1:1:secret:app/é-2",
        ];
        assert_eq!(
            shared_prefix(&arns),
            "arn:aws:secretsmanager:us-east-1:1:secret:app/"
        );
        assert_eq!(shared_prefix(&arns[..1]), "", "one row: nothing to share");
        assert_eq!(shared_prefix(&["a:b", "a:b"]), "a:", "a row keeps a name");
        assert_eq!(shared_prefix(&["x/", "x/y"]), "", "no row left empty");
        let messages = [
            "secret é-1 has rotation disabled; expected rotation every 2 days",
            "secret é-2 has rotation disabled; expected rotation every 2 days",
        ];
        assert_eq!(
            shared_suffix(&messages),
            "has rotation disabled; expected rotation every 2 days"
        );
        assert_eq!(
            shared_suffix(&["a short end", "b short end"]),
            "",
            "not worth it"
        );
        // Multi-byte characters shared at the cut are never split.
        assert_eq!(shared_len(&["aé", "bé"], true), "é".len());
        assert_eq!(shared_len(&["éa", "èa"], false), 0);
        // Every row of a group, put back together, is its finding's text.
        for (arn, message) in arns.iter().zip(messages) {
            let prefix = shared_prefix(&arns);
            let suffix = shared_suffix(&messages);
            assert_eq!(format!("{prefix}{}", &arn[prefix.len()..]), *arn);
            assert_eq!(
                format!("{}{suffix}", &message[..message.len() - suffix.len()]),
                message
            );
        }
    }

    /// Findings of one check: `(status, severity, region, setup, resource, message)`.
    fn findings_of_one_check(rows: &[(Status, Severity, &str, &str, &str, &str)]) -> Vec<Finding> {
        let template = sample_report().findings[0].clone();
        rows.iter()
            .map(
                |&(status, severity, region, setup, resource, message)| Finding {
                    status,
                    severity,
                    region: region.to_owned(),
                    setup: Some(setup.to_owned()),
                    resource: resource.to_owned(),
                    message: message.to_owned(),
                    muted: None,
                    ..template.clone()
                },
            )
            .collect()
    }

    #[test]
    fn rows_go_by_status_severity_region_then_setup_and_name_a_setup_only_where_needed() {
        let arn = |name: &str| format!("arn:aws:secretsmanager:us-east-1:1:secret:{name}-AbCdEf");
        let (a, b) = (arn("rds!db-aaaa"), arn("rds!db-bbbb"));
        let findings = findings_of_one_check(&[
            (
                Status::Skip,
                Severity::Critical,
                "us-east-1",
                "s1",
                "sg-skip",
                "skipped here",
            ),
            (
                Status::Fail,
                Severity::Low,
                "us-east-1",
                "s1",
                "sg-low",
                "low one",
            ),
            (
                Status::Error,
                Severity::High,
                "us-east-1",
                "s1",
                "sg-error",
                "denied",
            ),
            (
                Status::Fail,
                Severity::High,
                "us-west-2",
                "s1",
                "sg-west",
                "high west",
            ),
            // One group of two setups on a shared VPC: each row names its setup.
            (
                Status::Fail,
                Severity::High,
                "us-east-1",
                "zeta",
                "vpc-1",
                "high east z",
            ),
            (
                Status::Fail,
                Severity::High,
                "us-east-1",
                "alpha",
                "vpc-1",
                "high east a",
            ),
            // Each setup the secret its row names: said once, in the header.
            (
                Status::Fail,
                Severity::Medium,
                "us-east-1",
                "rds!db-bbbb",
                &b,
                "secret rds!db-bbbb has rotation disabled; expected a rotation within 50 hours",
            ),
            (
                Status::Fail,
                Severity::Medium,
                "us-east-1",
                "rds!db-aaaa",
                &a,
                "secret rds!db-aaaa has rotation disabled; expected a rotation within 50 hours",
            ),
        ]);
        let mut out = String::new();
        let groups = row_groups(findings.iter().collect());
        let order: Vec<(&str, Option<&str>)> = groups
            .iter()
            .flat_map(|g| {
                g.findings
                    .iter()
                    .map(|f| (f.resource.as_str(), f.setup.as_deref()))
            })
            .collect();
        assert_eq!(
            order.iter().map(|(r, _)| *r).collect::<Vec<_>>(),
            [
                "vpc-1",
                "vpc-1",
                "sg-west",
                a.as_str(),
                b.as_str(),
                "sg-low",
                "sg-error",
                "sg-skip"
            ],
            "FAIL before ERROR and SKIP, the most severe first, then region, then setup"
        );
        assert_eq!(order[0].1, Some("alpha"));
        for group in &groups {
            row_group(&mut out, group, &findings[0].remediation);
        }
        assert!(out.contains("setups differ"), "{out}");
        assert!(
            out.contains("<tr><td>vpc-1<br>setup alpha<td>high east a\n"),
            "{out}"
        );
        assert!(
            out.contains("<tr><td>vpc-1<br>setup zeta<td>high east z\n"),
            "{out}"
        );
        assert!(
            out.contains("us-west-2 · setup s1 · 1 finding"),
            "one setup: in the header"
        );
        assert!(!out.contains("<br>setup rds!db"), "named by its ARN: {out}");
        assert!(
            out.contains("each evidence starts “secret ‹the row's secret› …”"),
            "{out}"
        );
        assert!(
            out.contains("<tr><td>rds!db-aaaa-AbCdEf\n"),
            "nothing else of its own: {out}"
        );
    }

    #[test]
    fn evidence_naming_its_own_secret_is_said_once_only_when_every_row_does() {
        let arn = |name: &str| format!("arn:aws:secretsmanager:us-east-1:1:secret:{name}-AbCdEf");
        let message = |name: &str| {
            format!("secret {name} has rotation disabled; expected a rotation within 50 hours")
        };
        let (a, b) = (arn("rds!db-aaaa"), arn("rds!db-bbbb"));
        let (ma, mb) = (message("rds!db-aaaa"), message("rds!db-bbbb"));
        let findings = findings_of_one_check(&[
            (Status::Fail, Severity::Medium, "r", "x", &a, &ma),
            (Status::Fail, Severity::Medium, "r", "x", &b, &mb),
        ]);
        // The lead is only taken when every row names its own secret right after it.
        let (c, d) = (arn("app-c"), arn("app-d"));
        let mixed = findings_of_one_check(&[
            (
                Status::Fail,
                Severity::Medium,
                "r",
                "x",
                &c,
                "secret app-c has rotation disabled; expected a rotation within 50 hours",
            ),
            (
                Status::Fail,
                Severity::Medium,
                "r",
                "x",
                &d,
                "secret app-c has rotation disabled; expected a rotation within 50 hours",
            ),
        ]);
        let refs: Vec<&Finding> = mixed.iter().collect();
        assert_eq!(own_secret_lead(&refs, 0), "");
        assert_eq!(
            own_secret_lead(&refs[..1], 0),
            "",
            "one row: nothing to share"
        );
        let own: Vec<&Finding> = findings.iter().collect();
        assert_eq!(own_secret_lead(&own, 0), "secret ");
        let suffix = "has rotation disabled; expected a rotation within 50 hours".len();
        assert_eq!(
            own_secret_lead(&own, suffix),
            "secret ",
            "the shared end follows"
        );
        assert_eq!(
            own_secret_lead(&own, suffix + 2),
            "",
            "never overlapping the end"
        );
        let messages = [
            "secret prod/payments-ledger/a x",
            "secret prod/payments-ledger/b y",
        ];
        assert_eq!(
            shared_message_prefix(&messages, 0),
            "secret prod/payments-ledger/"
        );
        assert_eq!(
            shared_message_prefix(&["a/b", "a/c"], 0),
            "",
            "not worth it"
        );
    }

    #[test]
    fn the_page_has_landmarks_captions_scoped_headers_and_a_print_style() {
        let page = render(&sample_org_report());
        for landmark in [
            "<header>",
            "<nav aria-label=\"Contents\">",
            "<main>",
            "<footer>",
        ] {
            assert_eq!(page.matches(landmark).count(), 1, "{landmark}");
        }
        assert!(page.find("<main>") < page.find("id=\"summary\""));
        assert_eq!(
            page.matches("<table").count(),
            page.matches("<caption>").count(),
            "every table has a caption"
        );
        assert!(!page.contains("<th>"), "every header cell has a scope");
        assert!(page.contains("@media print{"));
        // Collapsed sections print open where the browser can; the page says where not.
        let print = &page[page.find("@media print{").expect("print")..];
        let print = &print[..print.find("\n}\n").expect("end of the print style")];
        assert!(
            print.contains("details::details-content{content-visibility:visible}"),
            "{print}"
        );
        assert!(page.contains("older browsers print them collapsed"));
        assert!(!page.contains("<script"));
    }

    /// The bench's organisation (`cargo xtask bench audit --org`: 50 accounts, two
    /// regions, the tutorial's secret and 200 more in each, no database or
    /// function), its findings made by the checks themselves: the page an auditor
    /// gets stays under 5 MB. `cargo xtask bench audit --org` measures the real one.
    #[test]
    fn the_page_of_the_fifty_account_bench_stays_under_five_megabytes() {
        let (report, findings) = bench_sized_report();
        let page = render(&report);
        let size = page.len();
        assert!(findings > 40_000, "{findings} findings");
        if let Some(path) = std::env::var_os("AUDIT_HTML_SAMPLE") {
            std::fs::write(path, &page).expect("write the sample page");
        }
        assert!(
            size < 5_000_000,
            "{size} bytes for {findings} findings ({} FAIL, {} ERROR)",
            report.summary.fail,
            report.summary.error
        );
        eprintln!("bench-sized HTML report: {size} bytes for {findings} findings");
    }

    /// The bench's organisation in the shape `--discover` gives it: every secret
    /// its own setup, named by the secret (about 40 characters), so the rows of a
    /// check in a region each have a setup of their own. Setups are not part of a
    /// row group, so the page stays under 5 MB.
    #[test]
    fn the_page_of_the_bench_in_the_discover_shape_stays_under_five_megabytes() {
        let (mut report, findings) = bench_sized_report_named(|n| {
            format!("rds!db-{n:08x}-7c2e-4b1a-9f3d-{:012x}", n * 7_919)
        });
        report.scope.discover = true;
        let mut setups = std::collections::HashSet::new();
        for finding in &mut report.findings {
            if let Some((_, name)) = finding.resource.split_once(":secret:") {
                let name = name.rsplit_once('-').map_or(name, |(name, _)| name);
                finding.setup = Some(name.to_owned());
                setups.insert(name.to_owned());
            }
        }
        let named = setups.iter().filter(|s| s.len() >= 40).count();
        assert!(named >= 200, "{named} setups of 40 characters");
        let page = render(&report);
        let size = page.len();
        if let Some(path) = std::env::var_os("AUDIT_HTML_DISCOVER_SAMPLE") {
            std::fs::write(path, &page).expect("write the sample page");
        }
        assert!(findings > 40_000, "{findings} findings");
        assert!(
            size < 5_000_000,
            "{size} bytes for {findings} findings ({} FAIL) in {} setups",
            report.summary.fail,
            setups.len()
        );
        // Every failure is a row, naming its setup.
        assert_eq!(
            page.matches("<tr><td>").count(),
            report.summary.fail + report.summary.error + report.summary.skip
        );
        assert!(
            !page.contains("<br>setup prod/payments-ledger/"),
            "named by the ARN"
        );
        eprintln!(
            "--discover-shaped HTML report: {size} bytes for {findings} findings in {} setups",
            setups.len()
        );
    }

    /// A report shaped like the bench's: every account the compliant fixture in
    /// two regions, without its database, with 200 more secrets (rotation off) in each.
    fn bench_sized_report() -> (Report, usize) {
        bench_sized_report_named(|n| format!("bench/app-{n:05}"))
    }

    /// [`bench_sized_report`], the 200 secrets of each region named by `name`.
    fn bench_sized_report_named(name: impl Fn(u64) -> String) -> (Report, usize) {
        use crate::inventory::{Collected, Secret};
        use crate::org_inventory::{AccountOutcome, AccountRecord};
        let mut org = crate::org::sample_org(&crate::checks::fixtures::compliant_inventory());
        let template = org.accounts[0].clone();
        org.accounts = (0..50)
            .map(|index| {
                let account_id = format!("{:012}", 100_000_000_000_u64 + index);
                let AccountOutcome::Collected(mut inventory) = template.outcome.clone() else {
                    unreachable!("the sample's first account is collected")
                };
                inventory.metadata.scope.all_secrets = true;
                let collected_at = inventory.metadata.collected_at;
                inventory.metadata.account_id = Some(account_id.clone());
                let first = inventory.regions[0].clone();
                inventory.regions = ["us-east-1", "us-west-2"]
                    .iter()
                    .map(|region| {
                        let mut part = first.clone();
                        part.region = (*region).to_owned();
                        part.database = Collected::Ok(None);
                        if let Collected::Ok(secrets) = &mut part.secrets {
                            // Made by the bench's setup shortly before the audit.
                            let created = Some(collected_at - time::Duration::hours(1));
                            for n in 0..200 {
                                let name = name(n);
                                secrets.push(Secret {
                                    arn: format!(
                                        "arn:aws:secretsmanager:{region}:{account_id}:secret:{name}-AbCdEf"
                                    ),
                                    name,
                                    rotation_enabled: Some(false),
                                    created_date: created,
                                    ..Secret::default()
                                });
                            }
                        }
                        part
                    })
                    .collect();
                AccountRecord {
                    account_id,
                    name: Some(format!("bench-member-{index:03}")),
                    role_arn: template.role_arn.clone(),
                    outcome: AccountOutcome::Collected(inventory),
                }
            })
            .collect();
        let findings = crate::account_result::evaluate_organization(
            &org,
            &crate::policy::Policy::default(),
            false,
        );
        let count = findings.len();
        (Report::for_organization(&org, findings), count)
    }

    #[test]
    fn bars_fill_their_width_whatever_the_counts() {
        for status in [
            [0, 0, 0, 0],
            [1, 0, 0, 0],
            [1, 1, 1, 0],
            [7, 2, 0, 3],
            [1, 0, 0, 99],
            [997, 1, 1, 1],
            [333, 333, 333, 1],
        ] {
            let counts = Counts {
                status,
                failed_by_severity: [0; 5],
                muted: 0,
            };
            let svg = bar(&counts);
            let widths: usize = svg
                .split("<rect ")
                .skip(1)
                .map(|rect| {
                    let start = rect.find("width=\"").expect("width") + 7;
                    rect[start..start + rect[start..].find('"').expect("end")]
                        .parse::<usize>()
                        .expect("number")
                })
                .sum();
            assert_eq!(widths, 160, "{status:?}: {svg}");
        }
    }
}
