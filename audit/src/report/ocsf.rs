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

/// The account of a finding: its own, else the audited one, else the one its
/// resource ARN names.
fn account_of(report: &Report, finding: &Finding) -> Option<String> {
    finding
        .account_id
        .clone()
        .filter(|a| !a.is_empty())
        .or_else(|| report.scope.account_id.clone().filter(|a| !a.is_empty()))
        .or_else(|| {
            finding
                .resource
                .strip_prefix("arn:")
                .and_then(|rest| rest.split(':').nth(3))
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
        })
}

/// The part of a resource that stays the same across runs: a secret's ARN ends
/// in six random characters that change when the secret is recreated under the
/// same name, so the name is used instead.
fn stable_resource(resource: &str) -> &str {
    if resource.contains(":secretsmanager:")
        && let Some((_, name)) = resource.split_once(":secret:")
        && let Some((base, suffix)) = name.rsplit_once('-')
        && suffix.len() == 6
        && suffix.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return base;
    }
    resource
}

/// `finding_info.uid`: the same check on the same resource in the same account
/// and region, for the same setup, gets the same id in every run, so Security
/// Hub updates the finding instead of creating a duplicate (its
/// BatchImportFindings keys on the id). The setup is part of it: setups that
/// share a VPC or a database may judge it differently, one finding each
/// (`checks::setups`); a finding they share names them all, so its id changes
/// when a setup joins or leaves the VPC.
pub fn finding_uid(report: &Report, finding: &Finding) -> String {
    let mut uid = format!(
        "{}:{}:{}:{}:{}",
        report.tool,
        account_of(report, finding).unwrap_or_else(|| "unknown-account".to_owned()),
        finding.region,
        finding.check_id,
        stable_resource(&finding.resource)
    );
    if let Some(setup) = &finding.setup {
        uid.push(':');
        uid.push_str(setup);
    }
    uid
}

/// One Detection Finding.
pub fn detection_finding(report: &Report, finding: &Finding, time_ms: i64) -> Value {
    // An empty account uid is invalid; when the account is unknown, `cloud`
    // carries no account object at all.
    let cloud = match account_of(report, finding) {
        Some(account) => json!({
            "account": {"uid": account, "type": "AWS Account", "type_id": 10},
            "region": finding.region,
            "provider": "AWS",
        }),
        None => json!({"region": finding.region, "provider": "AWS"}),
    };
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
        // OCSF Detection Finding `status_id`: 1 New, 3 Suppressed (a finding a
        // mutelist entry accepts, as Prowler reports its muted findings).
        "status_id": if finding.muted.is_some() { 3 } else { 1 },
        "status": if finding.muted.is_some() { "Suppressed" } else { "New" },
        "status_code": status_code(finding.status),
        "status_detail": format!("{}: {}", finding.status, finding.message),
        "message": finding.message,
        "time": time_ms,
        "finding_info": {
            "uid": finding_uid(report, finding),
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
        "cloud": cloud,
        "metadata": {
            "event_code": finding.check_id,
            "product": {"name": report.tool, "vendor_name": "secrets-manager-rotation", "version": report.version},
            "version": OCSF_VERSION,
        },
        "unmapped": {"compliance": finding.compliance, "status": finding.status, "muted": finding.muted},
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

    /// OCSF 1.x Detection Finding, checked against the attributes the schema
    /// documents as required (class, base event and the objects used), with their
    /// types and enumerations. The JSON Schema itself could not be obtained here
    /// (the OCSF server generates it; no copy was reachable through the search
    /// tool), so this test encodes the documented requirements instead.
    fn assert_detection_finding(f: &Value) {
        for key in [
            "activity_id",
            "category_uid",
            "class_uid",
            "severity_id",
            "time",
            "type_uid",
            "metadata",
            "finding_info",
            "status_id",
        ] {
            assert!(f.get(key).is_some(), "required {key} missing: {f:#}");
        }
        assert_eq!(f["class_uid"], 2004);
        assert_eq!(f["category_uid"], 2);
        let activity = f["activity_id"].as_i64().expect("activity_id integer");
        assert!([0, 1, 2, 3, 99].contains(&activity));
        assert_eq!(f["type_uid"].as_i64(), Some(2004 * 100 + activity));
        let severity = f["severity_id"].as_i64().expect("severity_id integer");
        assert!((0..=6).contains(&severity) || severity == 99);
        assert!(
            f["time"].as_i64().is_some_and(|t| t > 0),
            "time: ms since epoch"
        );
        assert!(
            ["PASS", "FAIL", "MANUAL"].contains(&f["status_code"].as_str().expect("status_code"))
        );
        let metadata = &f["metadata"];
        assert!(
            metadata["version"]
                .as_str()
                .is_some_and(|v| v.starts_with("1."))
        );
        assert!(metadata["product"].is_object(), "metadata.product required");
        let info = &f["finding_info"];
        assert!(
            info["uid"].as_str().is_some_and(|u| !u.is_empty()),
            "finding_info.uid"
        );
        assert!(
            info["title"].as_str().is_some_and(|t| !t.is_empty()),
            "finding_info.title"
        );
        assert_eq!(f["cloud"]["provider"], "AWS");
        if let Some(account) = f["cloud"].get("account") {
            assert!(
                account["uid"].as_str().is_some_and(|u| !u.is_empty()),
                "empty account uid"
            );
        }
        for resource in f["resources"].as_array().expect("resources") {
            assert!(resource["uid"].as_str().is_some_and(|u| !u.is_empty()));
        }
    }

    #[test]
    fn every_finding_is_a_valid_detection_finding_with_a_stable_uid() {
        let report = sample_report();
        let value: Value = serde_json::from_str(&render(&report)).expect("JSON");
        for finding in value.as_array().expect("array") {
            assert_detection_finding(finding);
        }
        // The account is unknown: no empty account uid, the ARN's account is used.
        let mut unknown = report.clone();
        unknown.scope.account_id = None;
        let value: Value = serde_json::from_str(&render(&unknown)).expect("JSON");
        for finding in value.as_array().expect("array") {
            assert_detection_finding(finding);
        }
        unknown.findings[0].resource = "vpc-1".to_owned();
        unknown.findings[0].account_id = None;
        let first = detection_finding(&unknown, &unknown.findings[0], 1);
        assert!(first["cloud"].get("account").is_none(), "{first:#}");
        assert_detection_finding(&first);
        // The same secret recreated (new random ARN suffix) keeps its finding id.
        let mut a = report.findings[0].clone();
        a.resource = "arn:aws:secretsmanager:us-east-1:123456789012:secret:App-AbCdEf".to_owned();
        let mut b = a.clone();
        b.resource = "arn:aws:secretsmanager:us-east-1:123456789012:secret:App-ZyXwVu".to_owned();
        b.message = "another message, another run".to_owned();
        assert_eq!(finding_uid(&report, &a), finding_uid(&report, &b));
        assert_eq!(
            finding_uid(&report, &a),
            "audit:123456789012:us-east-1:vpc.dns:App:SecretsManagerTutorial-vpc"
        );
        // Another setup judging the same resource gets an id of its own.
        let mut d = a.clone();
        d.setup = Some("billing-db-app".to_owned());
        assert_ne!(finding_uid(&report, &a), finding_uid(&report, &d));
        let mut c = a.clone();
        c.check_id = "secret.rotation.healthy".to_owned();
        assert_ne!(finding_uid(&report, &a), finding_uid(&report, &c));
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

    #[test]
    fn each_account_s_findings_carry_its_account_and_region() {
        let report = super::super::sample_org_report();
        let value: Value = serde_json::from_str(&render(&report)).expect("JSON");
        let findings = value.as_array().expect("array");
        for (finding, source) in findings.iter().zip(&report.findings) {
            assert_detection_finding(finding);
            assert_eq!(
                finding["cloud"]["account"]["uid"].as_str(),
                source.account_id.as_deref()
            );
            assert_eq!(finding["cloud"]["region"], source.region.as_str());
        }
        let last = findings.last().expect("unreachable account");
        assert_eq!(last["cloud"]["account"]["uid"], "333333333333");
        assert_eq!(
            last["finding_info"]["uid"],
            "audit:333333333333:global:account.reachable:arn:aws:iam::333333333333:role/OrganizationAccountAccessRole"
        );
        let mut uids: Vec<&str> = findings
            .iter()
            .map(|f| f["finding_info"]["uid"].as_str().expect("uid"))
            .collect();
        uids.sort_unstable();
        uids.dedup();
        assert_eq!(uids.len(), findings.len(), "finding ids are unique");
    }
}
