//! The JSON report: the stable schema other tools may parse.
//!
//! ```json
//! {
//!   "tool": "audit",
//!   "version": "0.1.0",
//!   "scope": {
//!     "account_id": "123456789012" | null,
//!     "regions": ["us-east-1"],
//!     "vpc_id": "vpc-..." | null,          // null: found by its Name tag
//!     "secret_ids": ["SecretsManagerTutorialAppuser"],
//!     "all_secrets": false,
//!     "db_instance_id": "secretsmanagertutorial",
//!     "read_secrets": false,
//!     "collected_at": "2025-06-02T12:00:00Z",
//!     "insecure_db_tls": false,
//!     "discover": false,                    // true: --discover found every rotation setup from its
//!                                          // secret; vpc_id, secret_ids and db_instance_id then do not
//!                                          // name what was audited (each finding's setup does)
//!     // an audit of several accounts (--accounts, --organization); account_id is then null:
//!     "caller": {"account_id": "123456789012", "arn": "arn:aws:iam::123456789012:user/auditor"} | null,
//!     // every listed account, by id; [] for one account:
//!     "accounts": [{"account_id": "111111111111", "name": "prod" | null,
//!                   "role_arn": "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole" | null,
//!                   "reached": true,
//!                   "state": "audited" | "audited; <n> region(s) not audited (<why>)"
//!                            | "not audited: none of its <n> region(s) could be audited"
//!                            | "unreachable: <why>" | "suspended (<state>)" | "excluded: <why>",
//!                   "audited": true,             // any region of it audited: false when not reached,
//!                                          // suspended, excluded, or none of its regions read
//!                   "regions_not_audited": 0}]  // its regions probed and not audited: denied by an
//!                                          // SCP, stopped, or not enabled (only when --regions names
//!                                          // them); state words only the stopped. 0 for an account
//!                                          // not reached; an account none of whose regions was audited
//!                                          // counts them here, but is one account (no region) in the
//!                                          // run's totals of what was not audited
//!   },
//!   "findings": [{
//!     "check_id": "ec2.ssh.restricted",       // stable id
//!     "title": "...",
//!     "status": "PASS" | "FAIL" | "ERROR" | "SKIP",
//!     "severity": "informational" | "low" | "medium" | "high" | "critical",
//!     "region": "us-east-1",
//!     "resource": "arn:aws:ec2:...:security-group/sg-..." ,  // ARN, or id when no ARN can be formed
//!     "resource_type": "AwsEc2SecurityGroup",
//!     "message": "what was found; what was expected",
//!     "remediation": "...",
//!     "compliance": ["AWS-FSBP:EC2.13", "CIS-AWS-1.5-3.0:5.2", ...],
//!     "references": ["https://..."],
//!     "account_id": "111111111111" | null,  // the finding's account
//!     "setup": "SecretsManagerTutorial-vpc" | null, // the VPC's Name (or id); with --discover the
//!                                                  // setup's secret name ("a, b" when setups sharing
//!                                                  // a VPC judged it alike); null for account.reachable
//!                                                  // and region.collected
//!     // only when a --mutelist entry accepts it (status above unchanged):
//!     "muted": {"reason": "...", "expires": "2027-03-31", "entry": 1, "matched_by": "tag exception=SEC-1"}
//!   }],
//!   // a muted finding is counted in "muted" only, not by its status; every finding
//!   // is counted, also those --status left out of "findings"
//!   "summary": {"pass": 12, "fail": 1, "error": 0, "skip": 0, "muted": 0},
//!   // with --status: the statuses "findings" lists ("PASS", "FAIL", "ERROR", "SKIP",
//!   // "MUTED"); absent when every finding is listed
//!   "listed": ["FAIL", "ERROR"],
//!   // with --mutelist: each entry's state ("live", "expired", "unused") and the
//!   // findings it matched; absent otherwise
//!   "mutelist": [{"entry": 1, "reason": "...", "expires": "2027-03-31", "state": "live", "matched": 1}],
//!   // with --discover: every secret looked at and not audited as a setup, and why
//!   // (never its value); [] otherwise
//!   "excluded": [{"account_id": "123456789012" | null, "region": "us-east-1",
//!                 "secret_arn": "arn:aws:secretsmanager:...", "secret_name": "api-key",
//!                 "reason": "its value has no masterarn, ...: not a database credential"}]
//! }
//! ```
//!
//! Fields are only ever added, never renamed or removed, within a major version.

use super::Report;

/// The report as pretty-printed JSON.
pub fn render(report: &Report) -> String {
    let mut text =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    text.push('\n');
    text
}

/// The findings as JSON Lines: one compact JSON object a line.
pub fn render_lines(report: &Report) -> String {
    let mut text = String::new();
    for finding in &report.findings {
        text.push_str(&serde_json::to_string(finding).unwrap_or_default());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::super::sample_report;
    use super::*;

    #[test]
    fn the_json_report_has_the_documented_shape() {
        let report = sample_report();
        let value: serde_json::Value =
            serde_json::from_str(&render(&report)).expect("parseable JSON");
        let mut keys: Vec<&str> = value
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "excluded", "findings", "scope", "summary", "tool", "version"
            ]
        );
        assert_eq!(value["tool"], "audit");
        let finding = &value["findings"][0];
        for key in [
            "check_id",
            "status",
            "severity",
            "resource",
            "message",
            "remediation",
            "compliance",
        ] {
            assert!(finding.get(key).is_some(), "missing {key}");
        }
        assert_eq!(finding["status"], "FAIL");
        assert_eq!(finding["severity"], "critical");
        assert_eq!(value["summary"]["fail"], 1);
        assert_eq!(value["summary"]["error"], 1);
        assert_eq!(value["summary"]["skip"], 1);
        let back: Report = serde_json::from_value(value).expect("round trip");
        assert_eq!(back, report);
    }
}
