//! The differential test's judgement: the audit's prediction for the rotation
//! against what the rotation did. Pure functions over findings and an outcome, so
//! every rule is a row of a table test.
//!
//! The audit claims that a rotation can succeed when every check of the rotation
//! path passes ([`ROTATION_PATH`]): the function exists, runs in the VPC and may be
//! invoked; its role may make the rotator's calls; the VPC resolves and reaches the
//! endpoints; the database admits the function; the secret names its admin. One
//! FAIL among them predicts a failed rotation; an ERROR predicts nothing.

use std::collections::BTreeSet;
use std::fmt;

use audit::{Finding, Status};

/// The checks whose PASS together claim that a rotation can succeed (an id here
/// also covers its per-service ids: `vpc.endpoint` covers `vpc.endpoint.rds`).
pub const ROTATION_PATH: &[&str] = &[
    "vpc.dns",
    "vpc.endpoint",
    "vpc.endpoint-policy",
    "rds.ingress.bastion-only",
    "secret.rotation.function",
    "secret.rotation.function-role",
    "secret.rotation.admin-linked",
];

/// Whether `check_id` is `id` or one of its per-service ids.
pub fn is_check(check_id: &str, id: &str) -> bool {
    check_id == id
        || check_id
            .strip_prefix(id)
            .is_some_and(|rest| rest.starts_with('.'))
}

fn on_path(check_id: &str) -> bool {
    ROTATION_PATH.iter().any(|id| is_check(check_id, id))
}

/// What the rotation did in the emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// The step it failed at, or why it never ran.
    Failed(String),
}

/// What the audit's rotation-path findings claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prediction {
    Succeeds,
    /// The failing checks, with their messages.
    Fails(Vec<String>),
    /// No FAIL, but these checks could not decide.
    Unknown(Vec<String>),
}

/// The audit's prediction beside the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Agreement {
    Agree,
    /// The audit passed the rotation path, the rotation failed.
    FalsePass,
    /// The audit failed the rotation path, the rotation succeeded.
    FalseFail,
    /// The audit gave ERROR on the path and no FAIL: no claim to compare.
    Undecided,
    /// Only checks that a mutation fails for another reason than the rotation (see
    /// [`crate::fuzz::operators::Operator::fails_for_safety`]) failed, so the path's
    /// claim is hidden: not counted either way.
    Masked,
}

impl fmt::Display for Agreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Agree => "agree",
            Self::FalsePass => "false PASS",
            Self::FalseFail => "false FAIL",
            Self::Undecided => "undecided (ERROR)",
            Self::Masked => "masked",
        })
    }
}

fn line(finding: &Finding) -> String {
    format!(
        "{} {}: {}",
        finding.status, finding.check_id, finding.message
    )
}

/// The prediction of the findings, leaving out the checks in `masked` (failed by a
/// mutation for a reason of safety, not of the rotation).
pub fn predict(findings: &[Finding], masked: &BTreeSet<&str>) -> (Prediction, bool) {
    let path = findings.iter().filter(|f| on_path(&f.check_id));
    let mut fails = Vec::new();
    let mut errors = Vec::new();
    let mut hidden = false;
    for finding in path {
        let is_masked = masked.iter().any(|id| is_check(&finding.check_id, id));
        match finding.status {
            Status::Fail if is_masked => hidden = true,
            Status::Fail => fails.push(line(finding)),
            Status::Error => errors.push(line(finding)),
            Status::Pass | Status::Skip => {}
        }
    }
    // A check that gave no PASS (it skipped, or gave no finding at all) claims
    // nothing: success is predicted only when every check of the path passed.
    for id in ROTATION_PATH {
        let passed = findings
            .iter()
            .any(|f| is_check(&f.check_id, id) && f.status == Status::Pass);
        let failed_masked = masked.contains(id)
            && findings
                .iter()
                .any(|f| is_check(&f.check_id, id) && f.status == Status::Fail);
        if !passed && !failed_masked {
            errors.push(format!("no PASS from {id}"));
        }
    }
    let prediction = if !fails.is_empty() {
        Prediction::Fails(fails)
    } else if !errors.is_empty() {
        Prediction::Unknown(errors)
    } else {
        Prediction::Succeeds
    };
    (prediction, hidden)
}

/// The prediction against the outcome. `hidden`: a masked check failed.
pub fn agreement(prediction: &Prediction, hidden: bool, outcome: &Outcome) -> Agreement {
    match (prediction, outcome) {
        (Prediction::Succeeds, Outcome::Succeeded) | (Prediction::Fails(_), Outcome::Failed(_)) => {
            Agreement::Agree
        }
        (Prediction::Succeeds, Outcome::Failed(_)) if hidden => Agreement::Masked,
        (Prediction::Succeeds, Outcome::Failed(_)) => Agreement::FalsePass,
        (Prediction::Fails(_), Outcome::Succeeded) => Agreement::FalseFail,
        (Prediction::Unknown(_), _) => Agreement::Undecided,
    }
}

/// The checks that need the application secret's value: they log in to the
/// database with it, or read its `masterarn`. When AWS refuses the auditor the
/// value, the only honest verdict they can give is that refusal's ERROR.
pub const NEEDS_SECRET_VALUE: &[&str] = &[
    "db.appuser.select",
    "db.appuser.least-privilege",
    "secret.rotation.admin-linked",
];

/// The call refused to the audit when it read a secret's value (`kms:Decrypt` for
/// a key whose policy does not name the auditor), from the audit's own record of
/// the read: what AWS answered, not what an operator meant to do. None when every
/// value was read, skipped, or failed for another reason than a denial of access
/// (a key that is not Enabled answers `DecryptionFailure`, no denial), or was denied
/// by a service control policy: no operator of the fuzz writes one, and granting
/// the auditor would not help.
pub fn value_refused(regions: &[audit::inventory::RegionInventory]) -> Option<String> {
    regions
        .iter()
        .flat_map(|region| &region.secret_values)
        .find_map(|record| match &record.facts {
            audit::inventory::Collected::Failed(error)
                if error.access_denied && !audit::inventory::is_scp_denial(&error.message) =>
            {
                Some(error.action.clone())
            }
            _ => None,
        })
}

/// The expected verdicts of checks no rotation can confirm (a schedule, a public
/// rule): each `(check, status)` that the findings do not show, as text.
///
/// `value_refused`: the call AWS refused the auditor when it read the secret's
/// value, as the audit recorded it ([`value_refused`]). A check
/// of [`NEEDS_SECRET_VALUE`] must then give ERROR naming `access denied to` that
/// call instead of the verdict expected of it: a PASS or FAIL would have been drawn
/// from a value AWS does not hand out, and a silent SKIP hides why.
pub fn unmet(
    findings: &[Finding],
    expected: &[(&str, Status)],
    value_refused: Option<&str>,
) -> Vec<String> {
    expected
        .iter()
        .filter_map(|(id, status)| {
            let refusal = value_refused
                .filter(|_| NEEDS_SECRET_VALUE.contains(id))
                .map(audit::inventory::access_denied_to);
            let (wanted, wanted_text) = match &refusal {
                Some(refusal) => (
                    Status::Error,
                    format!(
                        "ERROR ({refusal}, which hides the secret's value; {status} otherwise)"
                    ),
                ),
                None => (*status, status.to_string()),
            };
            let meets = |f: &Finding| {
                f.status == wanted
                    && refusal
                        .as_ref()
                        .is_none_or(|r| f.message.contains(r.as_str()))
            };
            let of_check: Vec<&Finding> = findings
                .iter()
                .filter(|f| is_check(&f.check_id, id))
                .collect();
            // One finding meeting the verdict is enough: an id may name a family
            // (`vpc.endpoint-policy` covers each endpoint's check) of which an
            // operator changes one member. The refusal is different: the value is
            // refused for the one secret the fuzz audits, so every finding of the
            // check must be that refusal, or one wrong PASS would hide beside it.
            let met = if refusal.is_some() {
                !of_check.is_empty() && of_check.iter().all(|f| meets(f))
            } else {
                of_check.iter().any(|f| meets(f))
            };
            if met {
                None
            } else if of_check.is_empty() {
                Some(format!(
                    "expected {wanted_text} from {id}, which gave no finding"
                ))
            } else {
                Some(format!(
                    "expected {wanted_text} from {id}, got {}",
                    of_check
                        .iter()
                        .map(|f| line(f))
                        .collect::<Vec<_>>()
                        .join("; ")
                ))
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A finding of `id` with `status`, saying so.
    pub(crate) fn finding(id: &str, status: Status) -> Finding {
        Finding {
            check_id: id.to_owned(),
            title: String::new(),
            status,
            severity: audit::Severity::High,
            region: "us-east-1".to_owned(),
            resource: "r".to_owned(),
            resource_type: String::new(),
            message: format!("{id} said so"),
            remediation: String::new(),
            compliance: Vec::new(),
            references: Vec::new(),
            account_id: None,
            setup: None,
            muted: None,
        }
    }

    /// (findings by check and status, masked checks, outcome, agreement)
    type Row<'a> = (Vec<(&'a str, Status)>, Vec<&'a str>, Outcome, Agreement);

    #[test]
    fn the_prediction_and_the_outcome_agree_or_name_the_side_that_is_wrong() {
        use Status::{Error, Fail, Pass};
        let failed = Outcome::Failed("createSecret".to_owned());
        // (findings, masked checks, outcome, agreement)
        let cases: Vec<Row> = vec![
            (
                vec![("vpc.dns", Pass), ("secret.rotation.function-role", Pass)],
                vec![],
                Outcome::Succeeded,
                Agreement::Agree,
            ),
            (
                vec![("vpc.dns", Pass), ("secret.rotation.function-role", Fail)],
                vec![],
                failed.clone(),
                Agreement::Agree,
            ),
            (
                vec![("vpc.dns", Pass)],
                vec![],
                failed.clone(),
                Agreement::FalsePass,
            ),
            (
                vec![("vpc.endpoint.secretsmanager", Fail)],
                vec![],
                Outcome::Succeeded,
                Agreement::FalseFail,
            ),
            // A check off the path never predicts: a schedule FAIL with a working rotation agrees.
            (
                vec![("secret.rotation.schedule", Fail), ("vpc.dns", Pass)],
                vec![],
                Outcome::Succeeded,
                Agreement::Agree,
            ),
            (
                vec![("secret.rotation.function-role", Error)],
                vec![],
                failed.clone(),
                Agreement::Undecided,
            ),
            // A FAIL decides even beside an ERROR.
            (
                vec![("secret.rotation.function-role", Error), ("vpc.dns", Fail)],
                vec![],
                failed.clone(),
                Agreement::Agree,
            ),
            // A check failed for safety is no claim about the rotation ...
            (
                vec![("rds.ingress.bastion-only", Fail)],
                vec!["rds.ingress.bastion-only"],
                Outcome::Succeeded,
                Agreement::Agree,
            ),
            // ... and when it hid the reason of a failed rotation, the case is not counted.
            (
                vec![("rds.ingress.bastion-only", Fail)],
                vec!["rds.ingress.bastion-only"],
                failed.clone(),
                Agreement::Masked,
            ),
            // An id's prefix alone is not the check.
            (
                vec![("vpc.dnsx", Fail)],
                vec![],
                Outcome::Succeeded,
                Agreement::Agree,
            ),
            // A path check that skipped claims nothing.
            (
                vec![("secret.rotation.function-role", Status::Skip)],
                vec![],
                failed.clone(),
                Agreement::Undecided,
            ),
        ];
        for (statuses, masked, outcome, expected) in cases {
            // Every check of the path passes, but those the row names.
            let mut findings: Vec<Finding> = ROTATION_PATH
                .iter()
                .filter(|id| !statuses.iter().any(|(named, _)| is_check(named, id)))
                .map(|id| finding(id, Status::Pass))
                .collect();
            findings.extend(statuses.iter().map(|(id, s)| finding(id, *s)));
            let masked: BTreeSet<&str> = masked.into_iter().collect();
            let (prediction, hidden) = predict(&findings, &masked);
            assert_eq!(
                agreement(&prediction, hidden, &outcome),
                expected,
                "{statuses:?} masked {masked:?} outcome {outcome:?}: {prediction:?}"
            );
        }
        // A path check that gave no finding at all claims nothing either.
        let (prediction, _) = predict(&[finding("vpc.dns", Status::Pass)], &BTreeSet::new());
        assert!(
            matches!(&prediction, Prediction::Unknown(why) if why.iter().any(|w| w == "no PASS from secret.rotation.function")),
            "{prediction:?}"
        );
    }

    #[test]
    fn an_expected_verdict_is_met_only_by_a_finding_of_that_check_with_that_status() {
        let findings = vec![
            finding("secret.rotation.schedule", Status::Fail),
            finding("vpc.endpoint-policy.secretsmanager", Status::Pass),
        ];
        assert!(
            unmet(
                &findings,
                &[("secret.rotation.schedule", Status::Fail)],
                None
            )
            .is_empty()
        );
        let missed = unmet(&findings, &[("vpc.endpoint-policy", Status::Fail)], None);
        assert_eq!(missed.len(), 1);
        assert!(
            missed[0].contains("got PASS vpc.endpoint-policy.secretsmanager"),
            "{missed:?}"
        );
        let absent = unmet(&findings, &[("rds.not-public", Status::Fail)], None);
        assert!(absent[0].contains("gave no finding"), "{absent:?}");
    }

    #[test]
    fn the_refusal_is_read_from_the_audits_record_of_the_value() {
        use audit::inventory::{Collected, CollectionError, RegionInventory, SecretValueRecord};
        let failed_with = |action: &str, access_denied: bool, message: &str| {
            Collected::Failed(CollectionError {
                action: action.to_owned(),
                access_denied,
                code: None,
                message: message.to_owned(),
            })
        };
        let failed = |action: &str, access_denied: bool| failed_with(action, access_denied, "");
        let cases = vec![
            (failed("kms:Decrypt", true), Some("kms:Decrypt")),
            (
                failed("secretsmanager:GetSecretValue", true),
                Some("secretsmanager:GetSecretValue"),
            ),
            // A read that failed for another reason, or was not asked for, is no refusal.
            (failed("kms:Decrypt", false), None),
            // A service control policy's denial is the organisation's, not an operator's.
            (
                failed_with(
                    "secretsmanager:GetSecretValue",
                    true,
                    "User: arn:aws:sts::1:assumed-role/a is not authorized to perform: secretsmanager:GetSecretValue with an explicit deny in a service control policy",
                ),
                None,
            ),
            (
                Collected::Skipped("--read-secrets not given".to_owned()),
                None,
            ),
        ];
        for (facts, expected) in cases {
            let mut region = RegionInventory::empty("us-east-1");
            region.secret_values.push(SecretValueRecord {
                secret_arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:s".to_owned(),
                facts,
            });
            assert_eq!(value_refused(&[region]).as_deref(), expected);
        }
        assert_eq!(value_refused(&[]), None);
    }

    /// (finding's status and message, value refused, expected verdict met)
    type ValueRow<'a> = (Status, &'a str, Option<&'a str>, bool);

    #[test]
    fn a_check_needing_a_hidden_secret_value_must_name_the_refusal_instead_of_its_verdict() {
        use Status::{Error, Fail, Pass, Skip};
        const DENIED: &str = "access denied to kms:Decrypt: grant the auditor's role `kms:Decrypt` (see `audit --print-policy`)";
        // Case 85 of seed 1208: a key no longer delegated (refusing kms:Decrypt)
        // beside a PROCESS grant, whose operator expects least privilege to FAIL.
        let expected = ("db.appuser.least-privilege", Fail);
        let cases: Vec<ValueRow> = vec![
            // The value readable: the verdict expected, nothing else.
            (Fail, "user appuser holds PROCESS", None, true),
            (Error, DENIED, None, false),
            // The value refused: the refusal's ERROR, and only it.
            (Error, DENIED, Some("kms:Decrypt"), true),
            // A FAIL drawn without the value is one AWS could not have allowed.
            (
                Fail,
                "user appuser holds PROCESS",
                Some("kms:Decrypt"),
                false,
            ),
            // An ERROR for another reason, or another call refused, is not the refusal.
            (
                Error,
                "the database did not answer: timed out",
                Some("kms:Decrypt"),
                false,
            ),
            (
                Error,
                "access denied to secretsmanager:GetSecretValue: grant ...",
                Some("kms:Decrypt"),
                false,
            ),
            (
                Skip,
                "the value of secret s was not read",
                Some("kms:Decrypt"),
                false,
            ),
        ];
        for (status, message, refused, met) in cases {
            let mut found = finding(expected.0, status);
            found.message = message.to_owned();
            let missed = unmet(&[found], &[expected], refused);
            assert_eq!(
                missed.is_empty(),
                met,
                "{status} {message:?} with {refused:?} refused: {missed:?}"
            );
        }
        // With the value refused, a PASS beside the refusal is not hidden by it.
        let mut refused = finding(expected.0, Error);
        refused.message = DENIED.to_owned();
        let beside = finding(expected.0, Pass);
        assert!(unmet(&[refused.clone()], &[expected], Some("kms:Decrypt")).is_empty());
        let missed = unmet(&[refused, beside], &[expected], Some("kms:Decrypt"));
        assert!(
            missed[0].contains("PASS db.appuser.least-privilege"),
            "{missed:?}"
        );
        // A check that does not need the value keeps its verdict when the value is hidden.
        let schedule = [finding("secret.rotation.schedule", Fail)];
        assert!(
            unmet(
                &schedule,
                &[("secret.rotation.schedule", Fail)],
                Some("kms:Decrypt")
            )
            .is_empty()
        );
        let missed = unmet(
            &[finding("secret.rotation.admin-linked", Pass)],
            &[("secret.rotation.admin-linked", Pass)],
            Some("kms:Decrypt"),
        );
        assert!(
            missed[0].contains("expected ERROR (access denied to kms:Decrypt, which hides the secret's value; PASS otherwise)"),
            "{missed:?}"
        );
    }
}
