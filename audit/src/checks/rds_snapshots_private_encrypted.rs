//! `rds.snapshots.private-encrypted`: no manual snapshot of the database is public
//! (FSBP RDS.1) or unencrypted (FSBP RDS.4).
//!
//! A public snapshot can be restored by any AWS account, and with it every
//! password hash in `mysql.user`: the rotation's credentials included. A snapshot
//! is public when its `restore` attribute holds `all` (Amazon RDS API reference,
//! DescribeDBSnapshotAttributes). RDS shares only manual snapshots, so only those
//! are read. An unencrypted snapshot is the other way the same data leaves the
//! database's protection (and RDS cannot share a snapshot encrypted with the AWS
//! managed key at all: User Guide, "Sharing a DB snapshot"), so one check judges
//! both, and its message says which property failed. Its severity follows the
//! controls': Critical for a public snapshot (FSBP RDS.1 is Critical), Medium for
//! one that is only unencrypted (FSBP RDS.4 is Medium).

use super::context::Context;
use super::rds::database;
use crate::finding::{CheckDefinition, Finding, Severity};
use crate::inventory::{Collected, DbSnapshot};

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "rds.snapshots.private-encrypted",
    title: "Database snapshots are private and encrypted",
    // Raised to Critical for a public snapshot (see the module's doc).
    severity: Severity::Medium,
    resource_type: "AwsRdsDbSnapshot",
    remediation: "Make the snapshot private: aws rds modify-db-snapshot-attribute --db-snapshot-identifier <id> --attribute-name restore --values-to-remove all; replace an unencrypted snapshot by an encrypted copy (aws rds copy-db-snapshot --kms-key-id <key>) and delete the original",
    compliance: &[
        "AWS-FSBP:RDS.1",
        "AWS-FSBP:RDS.4",
        "AWS-Config:rds-snapshots-public-prohibited",
        "AWS-Config:rds-snapshot-encrypted",
        "Prowler:rds_snapshots_public_access",
        "Prowler:rds_snapshots_encrypted",
    ],
    references: &[
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ShareSnapshot.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-1",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-4",
    ],
};

/// Whether a snapshot's `restore` attribute makes it public.
fn is_public(restore: &[String]) -> bool {
    restore.iter().any(|v| v.eq_ignore_ascii_case("all"))
}

/// What is wrong with one snapshot (empty when nothing is), given its `restore`
/// attribute's values.
pub(crate) fn problems(snapshot: &DbSnapshot, restore: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    if is_public(restore) {
        problems.push("public (restore=all: any AWS account may restore it)".to_owned());
    }
    match snapshot.encrypted {
        Some(true) => {}
        Some(false) => problems.push("not encrypted".to_owned()),
        None => problems.push("did not report Encrypted".to_owned()),
    }
    problems
}

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    let db = match database(context, def) {
        Ok(db) => db,
        Err(finding) => return vec![*finding],
    };
    let snapshots = match &context.region.db_snapshots {
        Collected::Ok(snapshots) => snapshots,
        other => return context.missing(def, &db.arn, other).into_iter().collect(),
    };
    if snapshots.is_empty() {
        return vec![context.pass(
            def,
            &db.arn,
            format!(
                "RDS instance {} has no manual snapshots{}",
                db.id,
                db.cluster_id
                    .as_ref()
                    .map_or_else(String::new, |c| format!(", nor has its cluster {c}"))
            ),
        )];
    }
    snapshots
        .iter()
        .map(|snapshot| {
            let restore = match &snapshot.restore {
                Collected::Ok(restore) => restore,
                other => {
                    return context
                        .missing(def, &snapshot.arn, other)
                        .unwrap_or_else(|| context.skip(def, &snapshot.arn, "not read"));
                }
            };
            let problems = problems(snapshot, restore);
            let kind = if snapshot.cluster {
                format!("cluster snapshot {} of the cluster of", snapshot.id)
            } else {
                format!("snapshot {} of", snapshot.id)
            };
            if problems.is_empty() {
                context.pass(
                    def,
                    &snapshot.arn,
                    format!("{kind} RDS instance {} is private and encrypted", db.id),
                )
            } else {
                let mut finding = context.fail(
                    def,
                    &snapshot.arn,
                    format!(
                        "{kind} RDS instance {} is {}; expected a private, encrypted snapshot",
                        db.id,
                        problems.join(" and ")
                    ),
                );
                if is_public(restore) {
                    finding.severity = Severity::Critical;
                }
                finding
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::finding::Status;

    fn snapshot(encrypted: Option<bool>, restore: Collected<Vec<String>>) -> DbSnapshot {
        DbSnapshot {
            id: "before-upgrade".to_owned(),
            arn: "arn:aws:rds:us-east-1:123456789012:snapshot:before-upgrade".to_owned(),
            cluster: false,
            encrypted,
            restore,
        }
    }

    #[test]
    fn public_or_unencrypted_snapshots_fail() {
        let shared = vec!["210987654321".to_owned()];
        let public = vec!["all".to_owned()];
        // (encrypted, restore, status, severity, in the message)
        let table = [
            (
                Some(true),
                Collected::Ok(Vec::new()),
                Status::Pass,
                Severity::Medium,
                "is private and encrypted",
            ),
            // Shared with a named account: not public (RDS.1 is about `all`).
            (
                Some(true),
                Collected::Ok(shared),
                Status::Pass,
                Severity::Medium,
                "private",
            ),
            (
                Some(true),
                Collected::Ok(public.clone()),
                Status::Fail,
                Severity::Critical,
                "is public (restore=all",
            ),
            // Only unencrypted: FSBP RDS.4's Medium, not RDS.1's Critical.
            (
                Some(false),
                Collected::Ok(Vec::new()),
                Status::Fail,
                Severity::Medium,
                "is not encrypted",
            ),
            (
                Some(false),
                Collected::Ok(public),
                Status::Fail,
                Severity::Critical,
                "public (restore=all: any AWS account may restore it) and not encrypted",
            ),
            (
                Some(true),
                Collected::Failed(denied("rds:DescribeDBSnapshotAttributes")),
                Status::Error,
                Severity::Medium,
                "rds:DescribeDBSnapshotAttributes",
            ),
        ];
        for (encrypted, restore, status, severity, text) in table {
            let mut region = compliant_region();
            region.db_snapshots = Collected::Ok(vec![snapshot(encrypted, restore)]);
            let findings = findings_of(region, DEFINITION.id);
            assert_eq!(findings.len(), 1);
            assert_eq!(findings[0].status, status, "{:?}", findings[0]);
            assert_eq!(findings[0].severity, severity, "{:?}", findings[0]);
            assert!(
                findings[0].message.contains(text),
                "{}",
                findings[0].message
            );
            assert!(findings[0].resource.ends_with(":snapshot:before-upgrade"));
        }
    }

    #[test]
    fn a_cluster_members_snapshots_are_its_clusters() {
        // An Aurora member has no instance snapshots: its cluster's are judged.
        let mut region = compliant_region();
        if let Collected::Ok(Some(db)) = &mut region.database {
            db.cluster_id = Some("tutorial-cluster".to_owned());
        }
        let findings = findings_of(region.clone(), DEFINITION.id);
        assert!(
            findings[0]
                .message
                .contains("nor has its cluster tutorial-cluster"),
            "{}",
            findings[0].message
        );
        let mut public = snapshot(Some(true), Collected::Ok(vec!["all".to_owned()]));
        public.cluster = true;
        public.arn = "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:nightly".to_owned();
        region.db_snapshots = Collected::Ok(vec![public]);
        let findings = findings_of(region, DEFINITION.id);
        assert_eq!(findings[0].status, Status::Fail);
        assert_eq!(findings[0].severity, Severity::Critical);
        assert!(findings[0].resource.ends_with(":cluster-snapshot:nightly"));
        assert!(
            findings[0]
                .message
                .contains("cluster snapshot before-upgrade of the cluster of RDS instance secretsmanagertutorial is public"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn no_snapshot_passes_and_an_unread_listing_does_not() {
        let findings = findings_of(compliant_region(), DEFINITION.id);
        assert_eq!(findings[0].status, Status::Pass);
        assert!(findings[0].message.contains("no manual snapshots"));
        let mut region = compliant_region();
        region.db_snapshots = Collected::Failed(denied("rds:DescribeDBSnapshots"));
        let findings = findings_of(region, DEFINITION.id);
        assert_eq!(findings[0].status, Status::Error);
        assert!(findings[0].message.contains("rds:DescribeDBSnapshots"));
    }
}
