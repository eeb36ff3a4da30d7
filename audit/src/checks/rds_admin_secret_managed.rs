//! `rds.admin-secret.managed`: RDS manages the database's admin password in
//! Secrets Manager (`MasterUserSecret` active, or rotating for under a day).

use super::context::Context;
use super::rds::database;
use crate::finding::{CheckDefinition, Finding, Severity};

pub const DEFINITION: CheckDefinition = CheckDefinition {
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

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
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
