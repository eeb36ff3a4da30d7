//! `rds.storage.encrypted`: the database's storage is encrypted at rest (FSBP
//! RDS.3).
//!
//! `StorageEncrypted` covers the instance's storage, its automated backups, read
//! replicas and snapshots (Amazon RDS User Guide, "Encrypting Amazon RDS
//! resources"). It can only be chosen when the instance is created: an existing
//! instance is encrypted by restoring an encrypted copy of a snapshot.

use super::context::Context;
use super::rds::database;
use crate::finding::{CheckDefinition, Finding, Severity};

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "rds.storage.encrypted",
    title: "Database storage is encrypted at rest",
    severity: Severity::Medium,
    resource_type: "AwsRdsDbInstance",
    remediation: "Encryption is set at creation: snapshot the instance (aws rds create-db-snapshot), copy the snapshot with --kms-key-id (aws rds copy-db-snapshot), restore the encrypted copy (aws rds restore-db-instance-from-db-snapshot) and move the application to it; cargo xtask provision creates the instance with StorageEncrypted",
    compliance: &[
        "AWS-FSBP:RDS.3",
        "AWS-Config:rds-storage-encrypted",
        "Prowler:rds_instance_storage_encrypted",
    ],
    references: &[
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-3",
    ],
};

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    let db = match database(context, def) {
        Ok(db) => db,
        Err(finding) => return vec![*finding],
    };
    vec![match db.storage_encrypted {
        Some(true) => context.pass(
            def,
            &db.arn,
            format!("RDS instance {} storage is encrypted", db.id),
        ),
        Some(false) => context.fail(
            def,
            &db.arn,
            format!(
                "RDS instance {} storage is not encrypted; expected StorageEncrypted true",
                db.id
            ),
        ),
        None => context.skip(
            def,
            &db.arn,
            &format!(
                "RDS instance {}: StorageEncrypted was not recorded (an inventory saved by an earlier version of the audit)",
                db.id
            ),
        ),
    }]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::finding::Status;
    use crate::inventory::Collected;

    #[test]
    fn storage_must_be_encrypted() {
        // (StorageEncrypted, status, in the message)
        let table = [
            (Some(true), Status::Pass, "storage is encrypted"),
            (
                Some(false),
                Status::Fail,
                "secretsmanagertutorial storage is not encrypted; expected StorageEncrypted true",
            ),
            (None, Status::Skip, "not recorded"),
        ];
        for (encrypted, status, text) in table {
            let mut region = compliant_region();
            if let Collected::Ok(Some(db)) = &mut region.database {
                db.storage_encrypted = encrypted;
            }
            let findings = findings_of(region, DEFINITION.id);
            assert_eq!(findings[0].status, status, "{encrypted:?}");
            assert_eq!(findings[0].resource, DB_ARN);
            assert!(
                findings[0].message.contains(text),
                "{}",
                findings[0].message
            );
        }
        let mut region = compliant_region();
        region.database = Collected::Failed(denied("rds:DescribeDBInstances"));
        assert_eq!(findings_of(region, DEFINITION.id)[0].status, Status::Error);
    }
}
