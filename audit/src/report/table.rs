//! The terminal table: one row per finding, then a summary line. An audit of
//! several accounts gets one table per account, under a line with the account's
//! id, name and counts.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Color, ContentArrangement, Table};

use std::fmt::Write as _;

use super::{Report, one_line, printable};
use crate::finding::{Finding, Status, Summary};

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for (account, findings) in report.by_account() {
        if let Some(account) = account {
            let owned: Vec<Finding> = findings.iter().map(|&f| f.clone()).collect();
            let _ = writeln!(
                out,
                "\n{}: {}",
                printable(&crate::org_inventory::account_label(
                    &account.account_id,
                    account.name.as_deref()
                )),
                Summary::of(&owned)
            );
        }
        let _ = writeln!(out, "{}", findings_table(&findings));
    }
    out.push_str(&footer(report));
    out
}

/// The table of one account's findings.
fn findings_table(findings: &[&Finding]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(["Status", "Severity", "Check", "Resource", "Message"]);
    for finding in findings {
        let color = match finding.status {
            _ if finding.muted.is_some() => Color::Blue,
            Status::Pass => Color::Green,
            Status::Fail => Color::Red,
            Status::Error => Color::Yellow,
            Status::Skip => Color::Grey,
        };
        let message = match finding.muted_note() {
            Some(note) => format!("[{note}] {}", finding.message),
            None => finding.message.clone(),
        };
        table.add_row(vec![
            Cell::new(super::ShownStatus::of(finding)).fg(color),
            Cell::new(finding.severity),
            Cell::new(&finding.check_id),
            Cell::new(printable(&finding.resource)),
            Cell::new(printable(&message)),
        ]);
    }
    table
}

/// Warnings, skipped checks, and the summary line.
fn footer(report: &Report) -> String {
    let scope = &report.scope;
    let mut skipped = String::new();
    if scope.insecure_db_tls {
        skipped.push_str(
            "warning: --insecure-db-tls: the database login did not require verified TLS\n",
        );
    }
    for line in report.skipped_lines() {
        skipped.push_str("skipped: ");
        skipped.push_str(&one_line(&line));
        skipped.push('\n');
    }
    for line in report.excluded_lines() {
        skipped.push_str("excluded: ");
        skipped.push_str(&line);
        skipped.push('\n');
    }
    for line in report
        .mutelist
        .iter()
        .filter_map(crate::mutelist::EntryUse::warning)
    {
        skipped.push_str(&one_line(&line));
        skipped.push('\n');
    }
    let accounts = if scope.accounts.is_empty() {
        format!(
            "account {}",
            scope.account_id.as_deref().unwrap_or("unknown")
        )
    } else {
        format!(
            "{} account{}{}",
            scope.accounts.len(),
            if scope.accounts.len() == 1 { "" } else { "s" },
            scope
                .caller
                .as_ref()
                .map(|c| format!(" (as {})", c.arn))
                .unwrap_or_default()
        )
    };
    if let Some(note) = report.listed_note() {
        skipped.push_str(&note);
        skipped.push('\n');
    }
    let discovered = if scope.discover {
        ", every rotation setup found from its secret (--discover)"
    } else {
        ""
    };
    format!(
        "{skipped}{} {} — {accounts}, {}{discovered}: {}\n",
        report.tool,
        report.version,
        scope.regions.join(", "),
        report.summary
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(
            super::printable("a\u{1b}[31mb\rc\nd"),
            "a\u{FFFD}[31mb\u{FFFD}c\nd"
        );
    }

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

    #[test]
    fn an_audit_of_several_accounts_is_grouped_by_account() {
        let report = super::super::sample_org_report();
        let text = render(&report);
        let prod = text
            .find("account 123456789012 (prod): ")
            .expect("prod heading");
        let sandbox = text
            .find("account 333333333333 (sandbox): 0 passed, 0 failed, 1 errors, 0 skipped")
            .expect("sandbox heading");
        assert!(prod < sandbox, "{text}");
        let unreachable = text.find("account.reachable").expect("error row");
        assert!(unreachable > sandbox, "{text}");
        assert!(
            text.contains("2 accounts (as arn:aws:iam::999999999999:user/auditor)"),
            "{text}"
        );
    }

    #[test]
    fn an_accounts_name_reaches_the_terminal_printable() {
        let mut report = super::super::sample_org_report();
        report.scope.accounts[0].name = Some("prod\u{1b}[2Jwiped".to_owned());
        let text = render(&report);
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("(prod\u{FFFD}[2Jwiped)"), "{text}");
    }
}
