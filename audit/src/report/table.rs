//! The terminal table: one row per finding, then a summary line.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Color, ContentArrangement, Table};

use super::Report;
use crate::checks::Status;

pub fn render(report: &Report) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(["Status", "Severity", "Check", "Resource", "Message"]);
    for finding in &report.findings {
        let color = match finding.status {
            Status::Pass => Color::Green,
            Status::Fail => Color::Red,
            Status::Error => Color::Yellow,
            Status::Skip => Color::Grey,
        };
        table.add_row(vec![
            Cell::new(finding.status).fg(color),
            Cell::new(finding.severity),
            Cell::new(&finding.check_id),
            Cell::new(&finding.resource),
            Cell::new(&finding.message),
        ]);
    }
    let scope = &report.scope;
    let mut skipped = String::new();
    if scope.insecure_db_tls {
        skipped.push_str(
            "warning: --insecure-db-tls: the database login did not require verified TLS\n",
        );
    }
    for line in report.skipped_lines() {
        skipped.push_str("skipped: ");
        skipped.push_str(&line);
        skipped.push('\n');
    }
    format!(
        "{table}\n{skipped}{} {} — account {}, {}: {}\n",
        report.tool,
        report.version,
        scope.account_id.as_deref().unwrap_or("unknown"),
        scope.regions.join(", "),
        report.summary
    )
}

#[cfg(test)]
mod tests {
    use super::super::sample_report;
    use super::*;

    #[test]
    fn the_table_has_a_row_per_finding_and_a_summary() {
        let report = sample_report();
        let text = render(&report);
        assert!(text.contains("vpc.dns"));
        assert!(text.contains("ec2.ssh.restricted"));
        assert!(
            text.trim_end().ends_with(&format!("{}", report.summary)),
            "{text}"
        );
        assert!(text.contains("1 failed, 1 errors, 1 skipped"));
        assert!(
            text.contains(&format!(
                "skipped: {} on {}: run with --read-secrets",
                report.findings[2].check_id, report.findings[2].resource
            )),
            "{text}"
        );
    }
}
