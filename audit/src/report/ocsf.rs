//! OCSF Detection Finding objects (class 2004), as Security Hub and Prowler users read them.
//!
//! OCSF's `status_code` knows PASS, FAIL and MANUAL: ERROR and SKIP findings map
//! to MANUAL (someone must look), with the real status in `status_detail` and
//! `unmapped.status`.

use serde_json::{Value, json};

use super::Report;
use crate::checks::{Finding, Severity, Status};

/// OCSF schema version the objects follow.
pub const OCSF_VERSION: &str = "1.1.0";

fn severity_id(severity: Severity) -> u8 {
    match severity {
        Severity::Informational => 1,
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Informational => "Informational",
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}

fn status_code(status: Status) -> &'static str {
    match status {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Error | Status::Skip => "MANUAL",
    }
}

/// The service part of an ARN (`arn:aws:ec2:...` → `ec2`), for `resources[].group`.
fn service_of(resource: &str) -> &str {
    resource
        .strip_prefix("arn:")
        .and_then(|rest| rest.split(':').nth(1))
        .unwrap_or("unknown")
}

/// The last part of an ARN or id, as a resource name.
fn name_of(resource: &str) -> &str {
    resource.rsplit([':', '/']).next().unwrap_or(resource)
}

/// One Detection Finding.
pub fn detection_finding(report: &Report, finding: &Finding, time_ms: i64) -> Value {
    let account = report.scope.account_id.clone().unwrap_or_default();
    json!({
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "type_uid": 200_401,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id(finding.severity),
        "severity": severity_name(finding.severity),
        "status_id": 1,
        "status": "New",
        "status_code": status_code(finding.status),
        "status_detail": format!("{}: {}", finding.status, finding.message),
        "message": finding.message,
        "time": time_ms,
        "finding_info": {
            "uid": format!("{}-{}-{}-{}", report.tool, finding.check_id, finding.region, finding.resource),
            "title": finding.title,
            "desc": finding.message,
            "types": ["Software and Configuration Checks", finding.check_id],
            "created_time": time_ms,
        },
        "risk_details": format!("{} ({} severity)", finding.title, finding.severity),
        "remediation": {"desc": finding.remediation, "references": finding.references},
        "resources": [{
            "uid": finding.resource,
            "name": name_of(&finding.resource),
            "type": finding.resource_type,
            "region": finding.region,
            "group": {"name": service_of(&finding.resource)},
        }],
        "cloud": {
            "account": {"uid": account, "type": "AWS Account", "type_id": 10},
            "region": finding.region,
            "provider": "AWS",
        },
        "metadata": {
            "event_code": finding.check_id,
            "product": {"name": report.tool, "vendor_name": "secrets-manager-rotation", "version": report.version},
            "version": OCSF_VERSION,
        },
        "unmapped": {"compliance": finding.compliance, "status": finding.status},
    })
}

/// The findings as a JSON array of Detection Findings.
pub fn render(report: &Report) -> String {
    let time_ms = time::OffsetDateTime::parse(
        &report.scope.collected_at,
        &time::format_description::well_known::Rfc3339,
    )
    .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or_default())
    .unwrap_or_default();
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|f| detection_finding(report, f, time_ms))
        .collect();
    let mut text = serde_json::to_string_pretty(&findings).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::super::sample_report;
    use super::*;

    #[test]
    fn findings_are_ocsf_detection_findings() {
        let report = sample_report();
        let value: Value = serde_json::from_str(&render(&report)).expect("JSON");
        let findings = value.as_array().expect("array");
        assert_eq!(findings.len(), report.findings.len());
        let first = &findings[0];
        assert_eq!(first["class_uid"], 2004);
        assert_eq!(first["category_uid"], 2);
        assert_eq!(first["type_uid"], 200_401);
        assert_eq!(first["status_code"], "FAIL");
        assert_eq!(first["severity_id"], 5);
        assert_eq!(first["severity"], "Critical");
        assert_eq!(first["cloud"]["account"]["uid"], "123456789012");
        assert_eq!(first["resources"][0]["group"]["name"], "ec2");
        assert_eq!(first["metadata"]["event_code"], "vpc.dns");
        assert!(first["time"].as_i64().expect("time") > 0);
        assert_eq!(findings[1]["status_code"], "MANUAL");
        assert_eq!(findings[1]["unmapped"]["status"], "ERROR");
        assert!(findings.iter().any(|f| {
            f["unmapped"]["compliance"]
                .as_array()
                .is_some_and(|c| !c.is_empty())
        }));
    }

    #[test]
    fn resource_names_and_services_come_from_arns() {
        assert_eq!(service_of("arn:aws:rds:us-east-1:1:db:x"), "rds");
        assert_eq!(name_of("arn:aws:rds:us-east-1:1:db:x"), "x");
        assert_eq!(
            name_of("arn:aws:ec2:us-east-1:1:security-group/sg-1"),
            "sg-1"
        );
        assert_eq!(service_of("sg-1"), "unknown");
    }
}
