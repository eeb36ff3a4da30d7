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
//! - **Failures first.** The details list each account's FAIL, then ERROR, SKIP
//!   and PASS findings, each with its evidence, remediation and compliance ids.
//! - **Readable by a test.** Counts carry `data-count="pass|fail|error|skip"` (and
//!   `data-severity="..."` for failures by severity) inside rows marked
//!   `data-account="<id>"` or `data-check="<id>"`, and the totals sit in
//!   `id="total"`, so a headless browser's DOM can be checked against the data.
//!
//! The report holds what the JSON report holds and nothing else: findings never
//! carry a secret value, so neither does this page.

use std::fmt::Write as _;

use super::Report;
use crate::checks::{Finding, Severity, Status};

/// The page's Content-Security-Policy: no loads, no scripts; inline styles only.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const STATUSES: [Status; 4] = [Status::Pass, Status::Fail, Status::Error, Status::Skip];
/// The order of the findings' details: what needs action first.
const DETAIL_ORDER: [Status; 4] = [Status::Fail, Status::Error, Status::Skip, Status::Pass];
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
.finding{border:1px solid #d0d7de;border-left-width:6px;border-radius:4px;padding:.5em .8em;margin:.6em 0}
.finding.s-PASS{border-left-color:#1a7f37}.finding.s-FAIL{border-left-color:#cf222e}
.finding.s-ERROR{border-left-color:#bf8700}.finding.s-SKIP{border-left-color:#8c959f}.finding.s-MUTED{border-left-color:#0550ae}
.finding dl{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:.4em 0 0}
.finding dt{font-weight:600}.finding dd{margin:0;overflow-wrap:anywhere}
.evidence{white-space:pre-wrap;margin:0;font-family:ui-monospace,monospace;font-size:.92em}
.warn{background:#fff8c5;border:1px solid #d4a72c;padding:.4em .8em}
.legend span{margin-right:1em}
";

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
    let _ = write!(out, "<thead><tr><th>{first}</th>");
    for status in STATUSES {
        let _ = write!(out, "<th>{status}</th>");
    }
    for severity in SEVERITIES {
        let _ = write!(out, "<th>FAIL {severity}</th>");
    }
    out.push_str("<th>chart</th></tr></thead>\n");
}

/// The heading of an account: its label, or the single account's id.
fn account_heading(report: &Report, account: Option<&super::ReportAccount>) -> (String, String) {
    if let Some(a) = account {
        return (
            a.account_id.clone(),
            crate::org::account_label(&a.account_id, a.name.as_deref()),
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
                let mut text = crate::org::account_label(&a.account_id, a.name.as_deref());
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

fn summaries(out: &mut String, report: &Report) {
    let total = Counts::of(&report.findings);
    out.push_str("<section id=\"summary\"><h2>Summary</h2>\n<p id=\"total\" class=\"legend\">");
    for (status, n) in STATUSES.iter().zip(total.status) {
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
    let _ = writeln!(out, "{}</p>", bar(&total));

    out.push_str("<h3>Per account</h3>\n<table id=\"accounts\">");
    summary_header(out, "Account");
    out.push_str("<tbody>\n");
    for (account, findings) in report.by_account() {
        let (id, label) = account_heading(report, account);
        let _ = write!(
            out,
            "<tr data-account=\"{}\"><th><a href=\"#account-{0}\">{}</a></th>",
            escape(&id),
            escape(&label)
        );
        count_cells(out, &Counts::of(findings));
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");

    out.push_str("<h3>Per check</h3>\n<table id=\"checks\">");
    summary_header(out, "Check");
    out.push_str("<tbody>\n");
    let mut checks: Vec<&str> = Vec::new();
    for finding in &report.findings {
        if !checks.contains(&finding.check_id.as_str()) {
            checks.push(&finding.check_id);
        }
    }
    for check in checks {
        let _ = write!(
            out,
            "<tr data-check=\"{0}\"><th><code>{0}</code></th>",
            escape(check)
        );
        count_cells(
            out,
            &Counts::of(report.findings.iter().filter(|f| f.check_id == check)),
        );
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n</section>\n");
}

fn finding_details(out: &mut String, finding: &Finding) {
    let status = finding.shown_status();
    let _ = write!(
        out,
        "<article class=\"finding s-{status}\" data-status=\"{}\"><div><span class=\"badge {status}\">{status}</span> <code>{}</code> · {} · {}</div>\n<dl>",
        status.to_lowercase(),
        escape(&finding.check_id),
        finding.severity,
        escape(&finding.title)
    );
    let mut item = |term: &str, value: String| {
        let _ = write!(out, "<dt>{term}</dt><dd>{value}</dd>");
    };
    item(
        "Resource",
        format!(
            "<span class=\"mono\">{}</span> ({})",
            escape(&finding.resource),
            escape(&finding.resource_type)
        ),
    );
    item("Region", escape(&finding.region));
    if let Some(setup) = &finding.setup {
        item("Setup", escape(setup));
    }
    if let Some(note) = finding.muted_note() {
        item("Muted", escape(&note));
    }
    item(
        "Evidence",
        format!("<p class=\"evidence\">{}</p>", escape(&finding.message)),
    );
    item("Remediation", escape(&finding.remediation));
    item(
        "Compliance",
        finding
            .compliance
            .iter()
            .map(|c| format!("<code>{}</code>", escape(c)))
            .collect::<Vec<_>>()
            .join(", "),
    );
    if !finding.references.is_empty() {
        item(
            "References",
            finding
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
                .join("<br>"),
        );
    }
    out.push_str("</dl></article>\n");
}

fn details(out: &mut String, report: &Report) {
    out.push_str("<section id=\"findings\"><h2>Findings</h2>\n");
    for (account, findings) in report.by_account() {
        let (id, label) = account_heading(report, account);
        let counts = Counts::of(findings.iter().copied());
        let _ = writeln!(
            out,
            "<h3 id=\"account-{}\">{}: {} passed, {} failed, {} errors, {} skipped{}</h3>",
            escape(&id),
            escape(&label),
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
        // What needs action first (muted findings last); the report's order within
        // each status.
        let mut findings = findings;
        findings.sort_by_key(|f| {
            (
                f.muted.is_some(),
                DETAIL_ORDER.iter().position(|s| *s == f.status),
            )
        });
        for finding in findings {
            finding_details(out, finding);
        }
    }
    out.push_str("</section>\n");
}

/// The secrets `--discover` looked at and excluded, each with its reason.
fn excluded(out: &mut String, report: &Report) {
    if report.excluded.is_empty() {
        return;
    }
    out.push_str("<section id=\"excluded\"><h2>Excluded by discovery</h2>\n<ul>\n");
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
    out.push_str("<section id=\"mutelist\"><h2>Mutelist</h2>\n<table><caption>Accepted exceptions and what became of them</caption><thead><tr><th scope=\"col\">Entry</th><th scope=\"col\">Reason</th><th scope=\"col\">Expires</th><th scope=\"col\">State</th><th scope=\"col\">Findings</th></tr></thead><tbody>\n");
    for entry in &report.mutelist {
        let state = serde_json::to_value(entry.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{state}</td><td>{}</td></tr>",
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
    summaries(&mut out, report);
    details(&mut out, report);
    excluded(&mut out, report);
    mutelist(&mut out, report);
    let _ = writeln!(
        out,
        "<footer><p>{} {}: {}</p></footer>\n</body></html>",
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
            let summary = crate::checks::Summary::of(&owned);
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
    fn details_list_failures_first() {
        let mut report = sample_report();
        // PASS first in the report, FAIL last.
        report.findings.reverse();
        let page = render(&report);
        let details = &page[page.find("id=\"findings\"").expect("details")..];
        let order: Vec<usize> = ["fail", "error", "skip", "pass"]
            .iter()
            .map(|s| {
                details
                    .find(&format!("data-status=\"{s}\""))
                    .unwrap_or_else(|| panic!("{s}"))
            })
            .collect();
        assert!(order.is_sorted(), "{order:?}");
        assert_eq!(details.matches("<article ").count(), report.findings.len());
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
