//! JUnit XML for CI systems: a test case per finding (check × resource).
//!
//! FAIL is a `<failure>`, ERROR an `<error>`, SKIP `<skipped>`. Text is escaped for
//! XML, and characters XML 1.0 cannot carry at all (most control characters) are
//! replaced, so the file always parses.

use std::fmt::Write as _;

use super::Report;
use crate::finding::Status;

/// `text` escaped for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// JUnit's `timestamp`: `YYYY-MM-DDTHH:MM:SS` in UTC, with neither fractional
/// seconds nor a zone, as the JUnit XSD (Ant's `ISO8601_DATETIME_PATTERN`) and
/// strict readers expect. Empty when the time cannot be read.
pub fn timestamp(rfc3339: &str) -> String {
    let Ok(time) =
        time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
    else {
        return String::new();
    };
    let utc = time.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    )
}

pub fn render(report: &Report) -> String {
    // The findings listed (`--status` may have left some out), so the counts match the test cases.
    let summary = crate::finding::Summary::of(&report.findings);
    let tests = report.findings.len();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
        escape(&report.tool),
        summary.fail,
        summary.error,
        // A muted finding is written as skipped (see `testcase`).
        summary.skip + summary.muted
    );
    for (account, findings) in report.by_account() {
        let owned: Vec<_> = findings.iter().map(|&f| f.clone()).collect();
        let summary = crate::finding::Summary::of(&owned);
        let name = match account {
            Some(account) => format!(
                "{} {} account {}",
                report.tool, report.version, account.account_id
            ),
            None => format!("{} {}", report.tool, report.version),
        };
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" timestamp=\"{}\">",
            escape(&name),
            findings.len(),
            summary.fail,
            summary.error,
            summary.skip + summary.muted,
            timestamp(&report.scope.collected_at)
        );
        properties(&mut xml, report);
        for finding in findings {
            testcase(&mut xml, finding, account.is_some());
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// With `--status`: a suite's `<properties>` (first in a `testsuite`, as the Ant
/// JUnit XSD of Windy Road orders it: "Properties (e.g., environment settings)
/// set during test execution") name the filter, the statuses left out, and the
/// run's totals over every finding, listed or not (they decide the exit status).
fn properties(xml: &mut String, report: &Report) {
    if report.listed.is_empty() {
        return;
    }
    let join = |statuses: &[super::ShownStatus]| super::join(statuses, ",");
    let total = &report.summary;
    xml.push_str("    <properties>\n");
    for (name, value) in [
        ("audit.status_filter", join(&report.listed)),
        ("audit.status_left_out", join(&report.unlisted())),
        ("audit.total.pass", total.pass.to_string()),
        ("audit.total.fail", total.fail.to_string()),
        ("audit.total.error", total.error.to_string()),
        ("audit.total.skip", total.skip.to_string()),
        ("audit.total.muted", total.muted.to_string()),
    ] {
        let _ = writeln!(
            xml,
            "      <property name=\"{name}\" value=\"{}\"/>",
            escape(&value)
        );
    }
    xml.push_str("    </properties>\n");
}

/// One `<testcase>`: the check is the class, the resource and region (and the
/// account, in an audit of several), then the setup, the name: setups sharing a
/// VPC get a test each where they judge it differently (`checks::setups`).
fn testcase(xml: &mut String, finding: &crate::finding::Finding, with_account: bool) {
    let _ = write!(
        xml,
        "    <testcase classname=\"{}\" name=\"{} [{}]{}\"",
        escape(&finding.check_id),
        escape(&finding.resource),
        escape(&match (&finding.account_id, with_account) {
            (Some(account), true) => format!("{account} {}", finding.region),
            _ => finding.region.clone(),
        }),
        escape(
            &finding
                .setup
                .as_ref()
                .map(|setup| format!(" ({setup})"))
                .unwrap_or_default()
        )
    );
    let body = format!(
        "{}\nRemediation: {}\nCompliance: {}",
        finding.message,
        finding.remediation,
        finding.compliance.join(", ")
    );
    if let Some(note) = finding.muted_note() {
        // Accepted: a CI gate must not fail on it, and must still show it.
        let _ = writeln!(
            xml,
            ">\n      <skipped message=\"{}\"/>\n    </testcase>",
            escape(&format!("{note}. {}", finding.message))
        );
        return;
    }
    match finding.status {
        Status::Pass => xml.push_str("/>\n"),
        Status::Fail => {
            let _ = writeln!(
                xml,
                ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                escape(&finding.message),
                finding.severity,
                escape(&body)
            );
        }
        Status::Error => {
            let _ = writeln!(
                xml,
                ">\n      <error message=\"{}\" type=\"ERROR\">{}</error>\n    </testcase>",
                escape(&finding.message),
                escape(&body)
            );
        }
        Status::Skip => {
            let _ = writeln!(
                xml,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                escape(&finding.message)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::sample_report;
    use super::*;

    /// A minimal well-formedness check: tags balance, attributes are quoted, and no
    /// raw `<`, `&` or control character appears in text.
    fn assert_well_formed(xml: &str) {
        let body = xml.split_once("?>").expect("declaration").1;
        let mut stack: Vec<String> = Vec::new();
        let mut rest = body;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            assert!(
                !text.contains('>')
                    && !text
                        .chars()
                        .any(|c| (c as u32) < 0x20 && c != '\n' && c != ' '),
                "raw text {text:?}"
            );
            for (index, _) in text.match_indices('&') {
                let entity = &text[index..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"]
                        .iter()
                        .any(|e| entity.starts_with(e)),
                    "bare & in {text:?}"
                );
            }
            let close = rest[open..].find('>').expect("tag closes") + open;
            let tag = &rest[open + 1..close];
            assert!(!tag.contains('<'), "unescaped < in tag {tag:?}");
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "unbalanced quotes in {tag:?}"
            );
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "mismatched close");
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().expect("name").to_owned());
            }
            rest = &rest[close + 1..];
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
    }

    #[test]
    fn junit_is_well_formed_and_counts_statuses() {
        let report = sample_report();
        let xml = render(&report);
        assert_well_formed(&xml);
        assert!(xml.contains("failures=\"1\" errors=\"1\" skipped=\"1\""));
        assert!(xml.contains(
            "&lt;0.0.0.0/0&gt; &amp; &quot;quotes&quot;, &apos;apostrophes&apos;,&#10;commas"
        ));
        assert!(!xml.contains('\u{1}'));
        assert_eq!(xml.matches("<testcase ").count(), report.findings.len());
        assert_eq!(xml.matches("<failure ").count(), 1);
        assert_eq!(xml.matches("<error ").count(), 1);
        assert_eq!(xml.matches("<skipped ").count(), 1);
    }

    #[test]
    fn the_timestamp_has_no_fraction_and_no_zone() {
        assert_eq!(
            timestamp("2025-06-02T12:00:00.123456789Z"),
            "2025-06-02T12:00:00"
        );
        assert_eq!(
            timestamp("2025-06-02T14:00:00+02:00"),
            "2025-06-02T12:00:00"
        );
        assert_eq!(timestamp("garbage"), "");
        let xml = render(&sample_report());
        assert!(xml.contains("timestamp=\"2025-06-02T12:00:00\""), "{xml}");
    }

    #[test]
    fn escaping_covers_markup_and_control_characters() {
        assert_eq!(
            escape("a<b>&\"'\u{0}"),
            "a&lt;b&gt;&amp;&quot;&apos;\u{FFFD}"
        );
    }

    #[test]
    fn an_audit_of_several_accounts_has_a_suite_per_account() {
        let report = super::super::sample_org_report();
        let xml = render(&report);
        assert_well_formed(&xml);
        assert_eq!(xml.matches("<testsuite ").count(), 2, "{xml}");
        assert!(
            xml.contains(
                "name=\"audit 0.1.0 account 333333333333\" tests=\"1\" failures=\"0\" errors=\"1\""
            ),
            "{xml}"
        );
        assert!(xml.contains("[123456789012 us-east-1]"), "{xml}");
    }
}
