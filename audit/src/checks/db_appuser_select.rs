//! `db.appuser.select`: the application user can read its data.
//!
//! The grants are read over a connection made with the secret's own credentials
//! (`SHOW GRANTS`), which proves at once that the secret's password works and what
//! it may do; no admin access is needed. The collector adds the rows of the
//! session's active (default) roles, so SELECT held through a role counts; the
//! rows are read by [`super::grants`].

use super::context::Context;
use super::grants::{AppuserGrants, appuser_grants, select_grant};
use crate::finding::{CheckDefinition, Finding, Severity};

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "db.appuser.select",
    title: "The secret's database user can SELECT",
    severity: Severity::Medium,
    resource_type: "AwsSecretsManagerSecret",
    remediation: "As the admin: GRANT SELECT ON `<dbname>`.* TO '<user>'@'%' (and the same for the alternate user <user>_clone, or let the next rotation copy it)",
    compliance: &[],
    references: &["https://dev.mysql.com/doc/refman/8.0/en/show-grants.html"],
};

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    context.each_primary_secret(def, |secret| {
        let (resource, name) = (&secret.arn, &secret.name);
        let AppuserGrants { user, dbname, rows } = match appuser_grants(context, def, secret) {
            Ok(grants) => grants,
            Err(finding) => return *finding,
        };
        let scope = dbname.as_deref().map_or_else(
            || {
                "on *.* or on some database other than the system ones (the secret has no dbname)"
                    .to_owned()
            },
            |db| format!("on `{db}`.* or *.*"),
        );
        if let Some(object) = select_grant(rows, dbname.as_deref()) {
            context.pass(
                def,
                resource,
                format!(
                    "user {user} of secret {name} can SELECT on {object}; expected SELECT {scope}"
                ),
            )
        } else {
            context.fail(
                def,
                resource,
                format!(
                    "user {user} of secret {name} cannot SELECT {scope}; its grants: {}",
                    rows.join(" | ")
                ),
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::finding::Status;
    use crate::inventory::Collected;

    #[test]
    fn the_check_passes_fails_errors_and_skips() {
        assert_eq!(
            findings_of(compliant_region(), "db.appuser.select")[0].status,
            Status::Pass
        );
        let mut region = compliant_region();
        region.grants[0].rows =
            Collected::Ok(show_grants(&["GRANT USAGE ON *.* TO `appuser`@`%`"]));
        let finding = &findings_of(region, "db.appuser.select")[0];
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("user appuser") && finding.message.contains("`tutorial`.*"),
            "{}",
            finding.message
        );
        // Without dbname (a console-made secret), SELECT on an application database
        // passes and the message names the grant.
        let mut region = compliant_region();
        if let Collected::Ok(facts) = &mut region.secret_values[0].facts {
            facts.dbname = None;
        }
        let finding = &findings_of(region.clone(), "db.appuser.select")[0];
        assert_eq!(finding.status, Status::Pass, "{}", finding.message);
        assert!(
            finding.message.contains("SELECT on `tutorial`.*")
                && finding.message.contains("no dbname"),
            "{}",
            finding.message
        );
        region.grants[0].rows = Collected::Ok(show_grants(&[
            "GRANT USAGE ON *.* TO `appuser`@`%`",
            "GRANT SELECT ON `mysql`.* TO `appuser`@`%`",
        ]));
        let finding = &findings_of(region, "db.appuser.select")[0];
        assert_eq!(finding.status, Status::Fail, "{}", finding.message);
        assert!(
            finding.message.contains("other than the system ones"),
            "{}",
            finding.message
        );
        let mut region = compliant_region();
        region.grants[0].rows = Collected::Failed(crate::inventory::CollectionError {
            action: "mysql:connect".to_owned(),
            access_denied: false,
            code: None,
            message: "connection refused".to_owned(),
        });
        let finding = &findings_of(region, "db.appuser.select")[0];
        assert_eq!(finding.status, Status::Error);
        assert!(finding.message.contains("mysql:connect"));
        // The value could not be read (so no login): ERROR naming that call, not SKIP.
        let mut region = compliant_region();
        region.grants.clear();
        region.secret_values[0].facts = Collected::Failed(super::super::fixtures::denied(
            "secretsmanager:GetSecretValue",
        ));
        let finding = &findings_of(region, "db.appuser.select")[0];
        assert_eq!(finding.status, Status::Error, "{}", finding.message);
        assert!(
            finding
                .message
                .contains("access denied to secretsmanager:GetSecretValue"),
            "{}",
            finding.message
        );
        let mut inventory = compliant_inventory();
        inventory.metadata.scope.read_secrets = false;
        let findings = crate::checks::evaluate(&inventory, &crate::policy::Policy::default());
        let finding = findings
            .iter()
            .find(|f| f.check_id == "db.appuser.select")
            .expect("finding");
        assert_eq!(finding.status, Status::Skip);
        assert!(finding.message.contains("--read-secrets"));
    }
}
