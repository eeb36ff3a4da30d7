//! `rds.not-public`: the database is not publicly accessible (FSBP RDS.2).

use super::context::Context;
use super::rds::database;
use crate::finding::{CheckDefinition, Finding, Severity};

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "rds.not-public",
    title: "Database is not publicly accessible",
    severity: Severity::Critical,
    resource_type: "AwsRdsDbInstance",
    remediation: "aws rds modify-db-instance --db-instance-identifier <id> --no-publicly-accessible --apply-immediately; reach the database through the bastion",
    compliance: &["AWS-FSBP:RDS.2"],
    references: &[
        "https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-2",
    ],
};

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    let db = match database(context, def) {
        Ok(db) => db,
        Err(finding) => return vec![*finding],
    };
    vec![match db.publicly_accessible {
        Some(false) => context.pass(
            def,
            &db.arn,
            format!("RDS instance {} is not publicly accessible", db.id),
        ),
        Some(true) => context.fail(
            def,
            &db.arn,
            format!(
                "RDS instance {} is publicly accessible; expected PubliclyAccessible false",
                db.id
            ),
        ),
        None => context.fail(
            def,
            &db.arn,
            format!(
                "RDS instance {} did not report PubliclyAccessible; expected false",
                db.id
            ),
        ),
    }]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::finding::Status;
    use crate::inventory::Collected;

    #[test]
    fn public_database_fails() {
        let findings = findings_of(
            with_db(|db| db.publicly_accessible = Some(true)),
            "rds.not-public",
        );
        assert_eq!(findings[0].status, Status::Fail);
        assert!(
            findings[0]
                .message
                .contains("secretsmanagertutorial is publicly accessible")
        );
        assert_eq!(
            findings_of(
                with_db(|db| db.publicly_accessible = None),
                "rds.not-public"
            )[0]
            .status,
            Status::Fail
        );
        let mut region = compliant_region();
        region.database = Collected::Failed(denied("rds:DescribeDBInstances"));
        let findings = findings_of(region, "rds.not-public");
        assert_eq!(findings[0].status, Status::Error);
        assert!(findings[0].message.contains("rds:DescribeDBInstances"));
    }
}
