//! OCSF Compliance Finding objects (class 2003): a check's verdict on a resource.
//!
//! OCSF's Compliance Finding "describe[s] results of evaluations performed against
//! resources, to check compliance with various Industry Frameworks or Security
//! Standards" (ocsf-schema `events/findings/compliance_finding.json`), which is
//! what every finding here is; its required `compliance` object carries the
//! verdict in `status_id`, whose values the schema defines
//! (`objects/compliance.json`; OCSF 1.3.0 "Compliance" object):
//!
//! | audit | `compliance.status_id` / `status` | why |
//! | --- | --- | --- |
//! | PASS | 1 Pass | "passed for all the evaluated resources" |
//! | FAIL | 3 Fail | "failed for at least one of the evaluated resources" |
//! | ERROR | 2 Warning | "did not yield a result due to missing information" (a denied or failed read) |
//! | SKIP | 99 Other, `Skipped` | deliberately not evaluated (e.g. without `--read-secrets`); 99 means "see `status`" |
//!
//! The event's own `status_id` is the finding's lifecycle (Finding class: 1 New,
//! 3 Suppressed), so a muted finding is Suppressed, as Prowler writes its muted
//! findings. `status_code` is the audit's own status (PASS, FAIL, ERROR, SKIP).
//! A finding about a whole account (`account.reachable`, region `global`) is placed
//! in the home region (the first region audited, else the partition's home region),
//! since `cloud.region` names a real region; its `finding_info.uid` keeps `global`, so
//! ids stay the same across versions.

use serde_json::{Value, json};

use super::Report;
use crate::finding::{Finding, Severity, Status};

/// OCSF schema version the objects follow (1.3.0: `resources` on Compliance Finding).
pub const OCSF_VERSION: &str = "1.3.0";

/// OCSF Compliance Finding.
const CLASS_UID: u32 = 2003;
/// Activity 1 (Create): `class_uid * 100 + activity_id`.
const TYPE_UID: u32 = CLASS_UID * 100 + 1;

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

/// `compliance.status_id` and `compliance.status` (see the module's table).
fn compliance_status(status: Status) -> (u8, &'static str) {
    match status {
        Status::Pass => (1, "Pass"),
        Status::Fail => (3, "Fail"),
        Status::Error => (2, "Warning"),
        Status::Skip => (99, "Skipped"),
    }
}

/// The region a finding is placed in: its own, or for a finding about a whole
/// account (region `global`) the home region: the first region audited, else the
/// home region of the partition its resource's ARN names.
fn region_of<'a>(report: &'a Report, finding: &'a Finding) -> &'a str {
    if finding.region != crate::account_result::ACCOUNT_REGION {
        return &finding.region;
    }
    if let Some(first) = report.scope.regions.first() {
        return first;
    }
    match finding.resource.split(':').nth(1) {
        Some("aws-cn") => "cn-north-1",
        Some("aws-us-gov") => "us-gov-west-1",
        _ => "us-east-1",
    }
}

/// The frameworks of a finding's compliance ids (`AWS-FSBP:EC2.13` → `AWS-FSBP`),
/// each once; the tool's own name when it maps to none (the attribute is required).
fn standards(report: &Report, finding: &Finding) -> Vec<String> {
    let mut standards: Vec<String> = Vec::new();
    for id in &finding.compliance {
        let standard = id.split_once(':').map_or(id.as_str(), |(s, _)| s);
        if !standards.iter().any(|s| s == standard) {
            standards.push(standard.to_owned());
        }
    }
    if standards.is_empty() {
        standards.push(report.tool.clone());
    }
    standards
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
    super::secret_name(resource).unwrap_or(resource)
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

/// One Compliance Finding.
pub fn compliance_finding(report: &Report, finding: &Finding, time_ms: i64) -> Value {
    let region = region_of(report, finding);
    // An empty account uid is invalid; when the account is unknown, `cloud`
    // carries no account object at all.
    let cloud = match account_of(report, finding) {
        Some(account) => json!({
            "account": {"uid": account, "type": "AWS Account", "type_id": 10},
            "region": region,
            "provider": "AWS",
        }),
        None => json!({"region": region, "provider": "AWS"}),
    };
    let (compliance_id, compliance_name) = compliance_status(finding.status);
    json!({
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "type_uid": TYPE_UID,
        "type_name": "Compliance Finding: Create",
        "severity_id": severity_id(finding.severity),
        "severity": severity_name(finding.severity),
        // Finding `status_id`: 1 New, 3 Suppressed (a finding a mutelist entry
        // accepts, as Prowler reports its muted findings).
        "status_id": if finding.muted.is_some() { 3 } else { 1 },
        "status": if finding.muted.is_some() { "Suppressed" } else { "New" },
        "status_code": finding.status,
        "status_detail": format!("{}: {}", finding.status, finding.message),
        "message": finding.message,
        "time": time_ms,
        "compliance": {
            "control": finding.check_id,
            "standards": standards(report, finding),
            "requirements": finding.compliance,
            "status_id": compliance_id,
            "status": compliance_name,
            "status_code": finding.status,
            "status_detail": finding.message,
        },
        "finding_info": {
            "uid": finding_uid(report, finding),
            "title": finding.title,
            "desc": finding.message,
            "types": ["Software and Configuration Checks", finding.check_id],
            "created_time": time_ms,
        },
        "remediation": {"desc": finding.remediation, "references": finding.references},
        "resources": [{
            "uid": finding.resource,
            "name": name_of(&finding.resource),
            "type": finding.resource_type,
            "region": region,
            "group": {"name": service_of(&finding.resource)},
        }],
        "cloud": cloud,
        "metadata": {
            "event_code": finding.check_id,
            "product": {"name": report.tool, "vendor_name": "secrets-manager-rotation", "version": report.version},
            "version": OCSF_VERSION,
            // Every class takes the Cloud profile: `base_event.json` lists it in
            // its `profiles` (ocsf-schema), and `cloud` above is its attribute.
            "profiles": ["cloud"],
        },
        // `risk_details` is not an attribute of Compliance Finding in 1.3.0:
        // kept here, where any attribute may go.
        "unmapped": {
            "compliance": finding.compliance,
            "status": finding.status,
            "muted": finding.muted,
            "region": finding.region,
            "risk_details": format!("{} ({} severity)", finding.title, finding.severity),
        },
    })
}

/// The findings' `time`: when the inventory was collected, in milliseconds.
pub fn time_ms(report: &Report) -> i64 {
    time::OffsetDateTime::parse(
        &report.scope.collected_at,
        &time::format_description::well_known::Rfc3339,
    )
    .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or_default())
    .unwrap_or_default()
}

/// The findings as a JSON array of Compliance Findings.
pub fn render(report: &Report) -> String {
    let time_ms = time_ms(report);
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|f| compliance_finding(report, f, time_ms))
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
    fn findings_are_ocsf_compliance_findings() {
        let report = sample_report();
        let value: Value = serde_json::from_str(&render(&report)).expect("JSON");
        let findings = value.as_array().expect("array");
        assert_eq!(findings.len(), report.findings.len());
        let first = &findings[0];
        assert_eq!(first["class_uid"], 2003);
        assert_eq!(first["category_uid"], 2);
        assert_eq!(first["type_uid"], 200_301);
        assert_eq!(first["status_code"], "FAIL");
        assert_eq!(first["severity_id"], 5);
        assert_eq!(first["severity"], "Critical");
        assert_eq!(first["cloud"]["account"]["uid"], "123456789012");
        assert_eq!(first["resources"][0]["group"]["name"], "ec2");
        assert_eq!(first["metadata"]["event_code"], "vpc.dns");
        assert_eq!(first["compliance"]["control"], "vpc.dns");
        assert!(first["time"].as_i64().expect("time") > 0);
        assert!(findings.iter().any(|f| {
            f["unmapped"]["compliance"]
                .as_array()
                .is_some_and(|c| !c.is_empty())
        }));
    }

    #[test]
    fn each_status_has_its_own_ocsf_compliance_status() {
        // The sample: FAIL, ERROR, SKIP, then PASS.
        let report = sample_report();
        let value: Value = serde_json::from_str(&render(&report)).expect("JSON");
        let statuses: Vec<(String, i64, String)> = value
            .as_array()
            .expect("array")
            .iter()
            .take(4)
            .map(|f| {
                (
                    f["status_code"].as_str().expect("code").to_owned(),
                    f["compliance"]["status_id"].as_i64().expect("id"),
                    f["compliance"]["status"]
                        .as_str()
                        .expect("status")
                        .to_owned(),
                )
            })
            .collect();
        let expected = [
            ("FAIL", 3, "Fail"),
            ("ERROR", 2, "Warning"),
            ("SKIP", 99, "Skipped"),
            ("PASS", 1, "Pass"),
        ]
        .map(|(c, i, s)| (c.to_owned(), i, s.to_owned()));
        assert_eq!(statuses, expected);
        // FSBP and CIS ids name their standards once each.
        let ssh = report
            .findings
            .iter()
            .find(|f| f.check_id == "ec2.ssh.restricted")
            .expect("ssh finding");
        let standards = standards(&report, ssh);
        assert!(standards.contains(&"AWS-FSBP".to_owned()), "{standards:?}");
        let mut unique = standards.clone();
        unique.dedup();
        assert_eq!(unique, standards);
    }

    #[test]
    fn a_finding_about_a_whole_account_is_placed_in_the_home_region() {
        let report = super::super::sample_org_report();
        let value: Value = serde_json::from_str(&render(&report)).expect("JSON");
        let last = value
            .as_array()
            .expect("array")
            .last()
            .expect("finding")
            .clone();
        assert_eq!(last["metadata"]["event_code"], "account.reachable");
        let home = report.scope.regions[0].as_str();
        assert_eq!(last["cloud"]["region"], home, "{last:#}");
        assert_eq!(last["resources"][0]["region"], home);
        assert_eq!(last["unmapped"]["region"], "global");
        // No region audited at all (no account reached): the partition's home region.
        let mut none = report.clone();
        none.scope.regions.clear();
        let finding = none.findings.last().expect("finding").clone();
        assert_eq!(region_of(&none, &finding), "us-east-1");
        let mut gov = finding.clone();
        gov.resource = "arn:aws-us-gov:iam::333333333333:role/Audit".to_owned();
        assert_eq!(region_of(&none, &gov), "us-gov-west-1");
        assert_eq!(
            region_of(&none, &report.findings[0]),
            report.findings[0].region
        );
    }

    // Only attributes of Compliance Finding 1.3.0 (its own, Finding's, Base
    // Event's and the Cloud profile's); anything else goes in `unmapped`.
    const ATTRIBUTES: [&str; 26] = [
        "activity_id",
        "activity_name",
        "category_name",
        "category_uid",
        "class_name",
        "class_uid",
        "cloud",
        "compliance",
        "finding_info",
        "message",
        "metadata",
        "remediation",
        "resources",
        "severity",
        "severity_id",
        "status",
        "status_code",
        "status_detail",
        "status_id",
        "time",
        "type_name",
        "type_uid",
        "unmapped",
        "api",
        "end_time",
        "start_time",
    ];

    /// OCSF 1.x Compliance Finding, checked against the attributes the schema
    /// documents as required (class, base event and the objects used), with their
    /// types and enumerations. The JSON Schema itself could not be obtained here
    /// (the OCSF server generates it; no copy was reachable through the search
    /// tool), so this test encodes the documented requirements instead.
    fn assert_compliance_finding(f: &Value) {
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
            "compliance",
        ] {
            assert!(f.get(key).is_some(), "required {key} missing: {f:#}");
        }
        assert_eq!(f["class_uid"], 2003);
        assert_eq!(f["category_uid"], 2);
        let activity = f["activity_id"].as_i64().expect("activity_id integer");
        assert!([0, 1, 2, 3, 99].contains(&activity));
        assert_eq!(f["type_uid"].as_i64(), Some(2003 * 100 + activity));
        let severity = f["severity_id"].as_i64().expect("severity_id integer");
        assert!((0..=6).contains(&severity) || severity == 99);
        assert!(
            f["time"].as_i64().is_some_and(|t| t > 0),
            "time: ms since epoch"
        );
        assert!(
            ["PASS", "FAIL", "ERROR", "SKIP"]
                .contains(&f["status_code"].as_str().expect("status_code"))
        );
        let compliance = &f["compliance"];
        assert!(
            compliance["standards"]
                .as_array()
                .is_some_and(|s| !s.is_empty()),
            "compliance.standards is required: {f:#}"
        );
        assert!(
            [1, 2, 3, 99].contains(
                &compliance["status_id"]
                    .as_i64()
                    .expect("compliance.status_id")
            )
        );
        let metadata = &f["metadata"];
        assert!(
            metadata["version"]
                .as_str()
                .is_some_and(|v| v.starts_with("1."))
        );
        assert!(metadata["product"].is_object(), "metadata.product required");
        assert_eq!(metadata["profiles"], serde_json::json!(["cloud"]));
        for key in f.as_object().expect("object").keys() {
            assert!(
                ATTRIBUTES.contains(&key.as_str()),
                "{key} is not an attribute of class 2003"
            );
        }
        assert!(f["unmapped"]["risk_details"].is_string());
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
    fn every_finding_is_a_valid_compliance_finding_with_a_stable_uid() {
        let report = sample_report();
        let value: Value = serde_json::from_str(&render(&report)).expect("JSON");
        for finding in value.as_array().expect("array") {
            assert_compliance_finding(finding);
        }
        // The account is unknown: no empty account uid, the ARN's account is used.
        let mut unknown = report.clone();
        unknown.scope.account_id = None;
        let value: Value = serde_json::from_str(&render(&unknown)).expect("JSON");
        for finding in value.as_array().expect("array") {
            assert_compliance_finding(finding);
        }
        unknown.findings[0].resource = "vpc-1".to_owned();
        unknown.findings[0].account_id = None;
        let first = compliance_finding(&unknown, &unknown.findings[0], 1);
        assert!(first["cloud"].get("account").is_none(), "{first:#}");
        assert_compliance_finding(&first);
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
            assert_compliance_finding(finding);
            assert_eq!(
                finding["cloud"]["account"]["uid"].as_str(),
                source.account_id.as_deref()
            );
            if source.region != crate::account_result::ACCOUNT_REGION {
                assert_eq!(finding["cloud"]["region"], source.region.as_str());
            }
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
