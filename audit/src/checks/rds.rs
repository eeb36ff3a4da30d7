//! Database instance checks: not public, admin password managed by RDS.

use super::context::Context;
use crate::finding::{CheckDefinition, Finding, Severity};
use crate::inventory::{Collected, DbInstance};

pub const NOT_PUBLIC: CheckDefinition = CheckDefinition {
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

pub const ADMIN_SECRET_MANAGED: CheckDefinition = CheckDefinition {
    id: "rds.admin-secret.managed",
    title: "Database admin password is managed by RDS in Secrets Manager",
    severity: Severity::Medium,
    resource_type: "AwsRdsDbInstance",
    remediation: "aws rds modify-db-instance --db-instance-identifier <id> --manage-master-user-password --apply-immediately; then point the application secret's masterarn at the new RDS-managed secret",
    compliance: &[],
    references: &[
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html",
    ],
};

/// The database, or the finding that explains why it is not there.
pub(super) fn database<'a>(
    context: &Context<'a>,
    def: &CheckDefinition,
) -> Result<&'a DbInstance, Box<Finding>> {
    let id = &context.scope.db_instance_id;
    match &context.region.database {
        Collected::Ok(Some(db)) => Ok(db),
        Collected::Ok(None) => Err(Box::new(context.fail(
            def,
            id,
            format!("RDS instance {id} was not found; expected the tutorial's database"),
        ))),
        other => Err(Box::new(
            context
                .missing(def, id, other)
                .unwrap_or_else(|| context.skip(def, id, "no database")),
        )),
    }
}

pub fn not_public(context: &Context<'_>) -> Vec<Finding> {
    let def = &NOT_PUBLIC;
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

pub fn admin_secret_managed(context: &Context<'_>) -> Vec<Finding> {
    let def = &ADMIN_SECRET_MANAGED;
    let db = match database(context, def) {
        Ok(db) => db,
        Err(finding) => return vec![*finding],
    };
    let expected = "expected MasterUserSecret with status active";
    vec![match &db.master_user_secret {
        None => context.fail(def, &db.arn, format!("RDS instance {} has no MasterUserSecret (its admin password is not managed by RDS); {expected}", db.id)),
        Some(secret) if secret.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("active")) => context.pass(
            def,
            &db.arn,
            format!("RDS instance {} admin password is managed by RDS in {}", db.id, secret.arn.as_deref().unwrap_or("(unnamed secret)")),
        ),
        // `rotating` is RDS rotating the secret (every 7 days, no window): normal,
        // unless its pending version outlasts a day (MasterUserSecret.SecretStatus,
        // Amazon RDS API reference: creating, active, rotating, impaired).
        Some(secret) if secret.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("rotating")) => {
            let arn = secret.arn.as_deref().unwrap_or("(unnamed secret)");
            match rotating_since(context, arn) {
                Some(since) if (context.now - since).whole_hours() > 24 => context.fail(
                    def,
                    &db.arn,
                    format!(
                        "RDS instance {} MasterUserSecret {arn} has been rotating since {} (its AWSPENDING version), over a day; {expected}",
                        db.id,
                        since.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
                    ),
                ),
                _ => context.pass(
                    def,
                    &db.arn,
                    format!("RDS instance {} admin password is managed by RDS in {arn}; note: RDS is rotating it now (status rotating)", db.id),
                ),
            }
        }
        Some(secret) => context.fail(
            def,
            &db.arn,
            format!(
                "RDS instance {} MasterUserSecret {} has status {}; {expected}",
                db.id,
                secret.arn.as_deref().unwrap_or("(unnamed)"),
                secret.status.as_deref().unwrap_or("(none)")
            ),
        ),
    }]
}

/// When the admin secret's pending version was created, if the secret was read.
fn rotating_since(context: &Context<'_>, arn: &str) -> Option<time::OffsetDateTime> {
    let listed = context.region.secrets.ok().into_iter().flatten();
    let described = context
        .region
        .admin_secrets
        .iter()
        .filter_map(|a| a.secret.ok().and_then(Option::as_ref));
    listed
        .chain(described)
        .find(|s| s.arn == arn)
        .and_then(|s| s.pending_created_date)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::finding::Status;
    use crate::inventory::{Collected, MasterUserSecret};

    fn with_db(
        change: impl Fn(&mut crate::inventory::DbInstance),
    ) -> crate::inventory::RegionInventory {
        let mut region = compliant_region();
        if let Collected::Ok(Some(db)) = &mut region.database {
            change(db);
        }
        region
    }

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

    #[test]
    fn admin_secret_must_be_managed_and_active() {
        let findings = findings_of(
            with_db(|db| db.master_user_secret = None),
            "rds.admin-secret.managed",
        );
        assert_eq!(findings[0].status, Status::Fail);
        let findings = findings_of(
            with_db(|db| {
                db.master_user_secret = Some(MasterUserSecret {
                    arn: Some(ADMIN_ARN.to_owned()),
                    status: Some("creating".to_owned()),
                });
            }),
            "rds.admin-secret.managed",
        );
        assert_eq!(findings[0].status, Status::Fail);
        assert!(findings[0].message.contains("status creating"));
        let mut region = compliant_region();
        region.database = Collected::Ok(None);
        let findings = findings_of(region, "rds.admin-secret.managed");
        assert_eq!(findings[0].status, Status::Fail);
        assert!(
            findings[0]
                .message
                .contains("secretsmanagertutorial was not found")
        );
    }
}
