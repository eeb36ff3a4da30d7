//! CSV for spreadsheets (RFC 4180: comma-separated, fields with commas, quotes or
//! line breaks quoted, quotes doubled).
//!
//! Account ids are text: a spreadsheet reads `012345678901` as a number, drops
//! its leading zero and shows twelve digits as `1.23457E+11` (Microsoft's "Keep
//! leading zeros" support article: number codes lose leading zeros and switch to
//! scientific notation). So the last column, `account_id_text`, repeats the
//! account id as `="012345678901"`, the usual CSV idiom a spreadsheet evaluates to the text itself ("CSV file format",
//! edoceo: "force strict interpretation of the CSV field value with a leading
//! `=`"). Only a value of exactly twelve ASCII digits is written so, so the formula
//! is a constant and nothing from the audited account reaches it; any other
//! value goes through [`field`], whose formula guard stays. The `account_id`
//! column stays plain digits, as it always was: scripts join on it.

use super::Report;
use crate::finding::Finding;

/// Columns are only added at the end, so a spreadsheet built on the earlier ones keeps working.
const HEADER: [&str; 14] = [
    "check_id",
    "status",
    "severity",
    "region",
    "resource",
    "resource_type",
    "message",
    "remediation",
    "compliance",
    "title",
    "account_id",
    "setup",
    "muted",
    "account_id_text",
];

/// The position of `account_id_text` in [`HEADER`].
const ACCOUNT_TEXT_COLUMN: usize = 13;

/// One CSV field, quoted when needed. A cell that a spreadsheet would read as a
/// formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) gets a
/// leading `'`, as OWASP's "CSV Injection" guidance recommends, so a resource
/// name or message an attacker controls cannot run in the auditor's spreadsheet.
pub fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// An account id as a spreadsheet keeps it: `="<12 digits>"` (quoted as RFC 4180
/// wants), else [`field`].
pub fn account_field(account_id: &str) -> String {
    if account_id.len() == 12 && account_id.bytes().all(|b| b.is_ascii_digit()) {
        // RFC 4180: the field holds quotes, so it is quoted and they are doubled.
        format!("\"=\"\"{account_id}\"\"\"")
    } else {
        field(account_id)
    }
}

/// The header row, with its line end.
pub fn header() -> String {
    let mut out = HEADER.join(",");
    out.push_str("\r\n");
    out
}

/// One finding's row, with its line end.
pub fn row(f: &Finding) -> String {
    let row = [
        f.check_id.clone(),
        f.status.to_string(),
        f.severity.to_string(),
        f.region.clone(),
        f.resource.clone(),
        f.resource_type.clone(),
        f.message.clone(),
        f.remediation.clone(),
        f.compliance.join(" "),
        f.title.clone(),
        f.account_id.clone().unwrap_or_default(),
        f.setup.clone().unwrap_or_default(),
        f.muted_note().unwrap_or_default(),
        f.account_id.clone().unwrap_or_default(),
    ];
    let cells: Vec<String> = row
        .iter()
        .enumerate()
        .map(|(column, v)| {
            if column == ACCOUNT_TEXT_COLUMN {
                account_field(v)
            } else {
                field(v)
            }
        })
        .collect();
    let mut out = cells.join(",");
    out.push_str("\r\n");
    out
}

pub fn render(report: &Report) -> String {
    let mut out = header();
    for f in &report.findings {
        out.push_str(&row(f));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::sample_report;
    use super::*;

    /// An RFC 4180 reader, enough to prove the output round-trips.
    fn parse(text: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        let mut row = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (false, '"') => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut field)),
                (false, '\r') => {}
                (false, '\n') => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                (_, c) => field.push(c),
            }
        }
        rows
    }

    #[test]
    fn csv_round_trips_commas_quotes_and_newlines() {
        let report = sample_report();
        let rows = parse(&render(&report));
        assert_eq!(rows.len(), report.findings.len() + 1);
        assert_eq!(rows[0], HEADER);
        assert!(rows.iter().all(|r| r.len() == HEADER.len()));
        assert_eq!(rows[1][6], report.findings[0].message);
        assert_eq!(rows[1][1], "FAIL");
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn formulas_are_neutralised() {
        for (raw, written) in [
            (
                "=HYPERLINK(\"http://x\")",
                "\"'=HYPERLINK(\"\"http://x\"\")\"",
            ),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tcmd", "'\tcmd"),
            ("a=b", "a=b"),
        ] {
            assert_eq!(field(raw), written, "{raw}");
        }
    }

    #[test]
    fn rows_carry_the_account_and_the_setup() {
        let report = super::super::sample_org_report();
        let rows = parse(&render(&report));
        assert_eq!(
            rows[0][10..],
            ["account_id", "setup", "muted", "account_id_text"]
        );
        assert_eq!(
            rows[1][10], "123456789012",
            "plain digits, as scripts join on"
        );
        assert_eq!(rows[1][11], "SecretsManagerTutorial-vpc");
        assert_eq!(rows[1][13], "=\"123456789012\"", "text to a spreadsheet");
        let last = rows.last().expect("row");
        assert_eq!(last[0], "account.reachable");
        assert_eq!(
            (last[10].as_str(), last[11].as_str(), last[13].as_str()),
            ("333333333333", "", "=\"333333333333\"")
        );
    }

    #[test]
    fn account_ids_are_text_and_nothing_else_becomes_a_formula() {
        assert_eq!(HEADER[ACCOUNT_TEXT_COLUMN], "account_id_text");
        assert_eq!(HEADER.last(), Some(&"account_id_text"), "added at the end");
        for (raw, written) in [
            ("012345678901", "\"=\"\"012345678901\"\"\""),
            ("123456789012", "\"=\"\"123456789012\"\"\""),
            // Not an account id: written as any other field, formulas neutralised.
            ("", ""),
            ("12345678901", "12345678901"),
            ("0123456789012", "0123456789012"),
            (
                "=\"1\"&HYPERLINK(\"x\")",
                "\"'=\"\"1\"\"&HYPERLINK(\"\"x\"\")\"",
            ),
            ("01234567890a", "01234567890a"),
            ("０１２３４５６７８９０１", "０１２３４５６７８９０１"),
        ] {
            assert_eq!(account_field(raw), written, "{raw}");
        }
        // A whole row: the account cell parses back to the spreadsheet idiom.
        let mut report = sample_report();
        report.findings[0].account_id = Some("012345678901".to_owned());
        let rows = parse(&render(&report));
        assert_eq!(rows[1][10], "012345678901");
        assert_eq!(rows[1][ACCOUNT_TEXT_COLUMN], "=\"012345678901\"");
    }
}
