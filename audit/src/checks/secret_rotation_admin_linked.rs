//! `secret.rotation.admin-linked`: the secret's `masterarn` names the RDS-managed
//! admin secret of its database. It needs the secret's value, so it runs only on
//! the primary secrets and only with `--read-secrets`. It also fails when the
//! secret's user holds a privilege RDS's master user never holds: the master
//! cannot copy it to the alternate user, so every rotation stops in setSecret.

use super::context::Context;
use super::rotated_secrets::{each_secret, secret_resource};
use crate::finding::{CheckDefinition, Finding, Severity};
use crate::inventory::{Collected, CollectionError, PairRelation, Secret};

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "secret.rotation.admin-linked",
    title: "The secret's masterarn names the database's RDS-managed admin secret",
    severity: Severity::High,
    resource_type: "AwsSecretsManagerSecret",
    remediation: "Set the secret's masterarn key to the ARN of the RDS-managed admin secret of the same instance (DescribeDBInstances MasterUserSecret.SecretArn) with put-secret-value, keeping the other keys; if the secret's user holds what RDS's master user never holds (SUPER, FILE, SHUTDOWN, SYSTEM_USER), revoke it from the user and its clone, since the master cannot copy it to the alternate user",
    compliance: &[],
    references: &[
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/tutorials_rotation-alternating.html",
    ],
};

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    each_secret(context, def, true, |secret| {
        let resource = secret_resource(secret);
        let name = &secret.name;
        if !context.scope.read_secrets {
            return context.skip(
                def,
                &resource,
                "reads the secret's value (masterarn); run with --read-secrets",
            );
        }
        let Some(record) = context
            .region
            .secret_values
            .iter()
            .find(|r| r.secret_arn == secret.arn)
        else {
            return context.skip(
                def,
                &resource,
                &format!("the value of secret {name} was not read"),
            );
        };
        let facts = match &record.facts {
            Collected::Ok(facts) => facts,
            other => {
                return context
                    .missing(def, &resource, other)
                    .unwrap_or_else(|| context.skip(def, &resource, "not read"));
            }
        };
        let Some(masterarn) = facts.masterarn.as_deref() else {
            return context.fail(def, &resource, format!("secret {name}: key `masterarn` is missing; alternating-users rotation needs the ARN of the RDS-managed admin secret"));
        };
        let admin = match context
            .region
            .admin_secrets
            .iter()
            .find(|a| a.arn == masterarn)
            .map(|a| &a.secret)
        {
            Some(Collected::Ok(Some(admin))) => admin,
            Some(Collected::Ok(None)) => {
                return context.fail(def, &resource, format!("secret {name}: masterarn names {masterarn}, which does not exist; expected the RDS-managed admin secret"));
            }
            Some(other) => {
                return context
                    .missing(def, &resource, other)
                    .unwrap_or_else(|| context.skip(def, &resource, "not read"));
            }
            None => {
                return context.skip(
                    def,
                    &resource,
                    &format!("admin secret {masterarn} was not described"),
                );
            }
        };
        if admin.deleted_date.is_some() {
            return context.fail(def, &resource, format!("secret {name}: masterarn names {masterarn}, which is scheduled for deletion; expected a live RDS-managed admin secret"));
        }
        let owner = admin
            .owning_service
            .as_deref()
            .or_else(|| admin.tag("aws:secretsmanager:owningService"));
        if !owner.is_some_and(|o| o.eq_ignore_ascii_case("rds")) {
            return context.fail(
                def,
                &resource,
                format!("secret {name}: masterarn names {masterarn}, owned by {}; expected a secret managed by RDS (OwningService rds)", owner.unwrap_or("no service")),
            );
        }
        let db = match &context.region.database {
            Collected::Ok(Some(db)) => db,
            Collected::Ok(None) => {
                return context.fail(def, &resource, format!("secret {name}: RDS instance {} was not found, so its admin secret cannot be confirmed", context.scope.db_instance_id));
            }
            other => {
                return context
                    .missing(def, &resource, other)
                    .unwrap_or_else(|| context.skip(def, &resource, "no database"));
            }
        };
        match admin.tag("aws:rds:primaryDBInstanceArn") {
            Some(instance) if instance.eq_ignore_ascii_case(&db.arn) => {
                // The admin is RDS's master user: it cannot give the alternate user
                // what it never holds itself.
                let (beyond, note) = match held_beyond_master(context, secret, &resource) {
                    Ok(beyond) => beyond,
                    Err(finding) => return *finding,
                };
                if beyond.is_empty() {
                    context.pass(def, &resource, format!("secret {name}: masterarn names {masterarn}, the RDS-managed admin secret of {}{note}", db.id))
                } else {
                    context.fail(def, &resource, format!("secret {name}: masterarn names {masterarn}, the RDS-managed admin secret of {}, but the secret's user holds {}, which RDS's master user never holds and so cannot grant to the alternate user: the rotation stops in setSecret; revoke it from the user (and its clone)", db.id, beyond.join("; ")))
                }
            }
            Some(instance) => context.fail(def, &resource, format!("secret {name}: masterarn names {masterarn}, the admin secret of {instance}; expected the admin secret of {}", db.arn)),
            None => context.fail(def, &resource, format!("secret {name}: masterarn names {masterarn}, which has no aws:rds:primaryDBInstanceArn tag; expected the admin secret of {}", db.arn)),
        }
    })
}

/// What the secret's user, and the other user of its pair, hold that RDS's
/// master user never holds, with a note for the PASS (a first rotation's clone,
/// not read). The other user (AWSPREVIOUS) is the one the next rotation's
/// setSecret sets; when it or the current user could not be read, or
/// AWSPREVIOUS names no user of the pair, the link is not proven: `Err` with
/// that finding, never a plain PASS.
fn held_beyond_master(
    context: &Context<'_>,
    secret: &Secret,
    resource: &str,
) -> Result<(Vec<String>, String), Box<Finding>> {
    let record = context
        .region
        .grants
        .iter()
        .find(|g| g.secret_arn == secret.arn);
    let Some(record) = record else {
        return Err(Box::new(context.skip(
            &DEFINITION,
            resource,
            &format!(
                "the grants of secret {}'s user were not read, so what it holds beyond RDS's master user is not known",
                secret.name
            ),
        )));
    };
    let mut beyond = match &record.rows {
        Collected::Ok(rows) => super::grants::beyond_rds_master(rows),
        unread => {
            return Err(Box::new(
                context
                    .missing(&DEFINITION, resource, unread)
                    .unwrap_or_else(|| context.skip(&DEFINITION, resource, "not read")),
            ));
        }
    };
    if let Some(other) = record.other_user.as_ref() {
        let not_proven = |why: String| {
            Err(Box::new(context.error(
                &DEFINITION,
                resource,
                &CollectionError {
                    action: "secretsmanager:GetSecretValue".to_owned(),
                    access_denied: false,
                    code: None,
                    message: format!(
                        "the admin link of secret {} is not proven: {why}",
                        secret.name
                    ),
                },
            )))
        };
        match other.relation {
            PairRelation::Alternate | PairRelation::Unread => {}
            PairRelation::FirstRotation => {
                let note = format!(
                    "; {}, the clone AWSPENDING names (a first rotation under way or stuck), was not logged in as",
                    other.shown()
                );
                return Ok((beyond, note));
            }
            PairRelation::Unrelated if beyond.is_empty() => {
                return not_proven(format!(
                    "its AWSPREVIOUS version names user {}, not the other user of the pair, and the audit did not log in as it (see db.appuser.least-privilege)",
                    other.shown()
                ));
            }
            PairRelation::NoUsername if beyond.is_empty() => {
                return not_proven(
                    "its AWSPREVIOUS version is JSON without `username`, so the other user of the pair is unknown".to_owned(),
                );
            }
            PairRelation::Unrelated | PairRelation::NoUsername => {
                return Ok((beyond, String::new()));
            }
        }
        match &other.rows {
            Collected::Ok(rows) => beyond.extend(
                super::grants::beyond_rds_master(rows)
                    .into_iter()
                    .map(|held| {
                        format!(
                            "{held} (user {}, the other user of the pair, named by AWSPREVIOUS)",
                            other.shown()
                        )
                    }),
            ),
            // What the current user holds already FAILs the link.
            unread if beyond.is_empty() => {
                if let Some(finding) = context.missing(&DEFINITION, resource, unread) {
                    return Err(Box::new(finding));
                }
            }
            _ => {}
        }
    }
    Ok((beyond, String::new()))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::finding::Status;
    use crate::inventory::{Collected, RegionInventory};

    #[test]
    fn a_user_holding_what_the_rds_master_never_holds_fails_the_admin_link() {
        // (the user's rows, status, in the message)
        let table: &[(&[&str], Status, &str)] = &[
            (
                &["GRANT SELECT ON `tutorial`.* TO `appuser`@`%`"],
                Status::Pass,
                "the RDS-managed admin secret of",
            ),
            // PROCESS the master holds WITH GRANT OPTION: least privilege's
            // business, not the rotation's.
            (
                &["GRANT PROCESS ON *.* TO `appuser`@`%`"],
                Status::Pass,
                "the RDS-managed admin secret of",
            ),
            (
                &[
                    "GRANT FILE ON *.* TO `appuser`@`%`",
                    "GRANT SELECT ON `tutorial`.* TO `appuser`@`%`",
                ],
                Status::Fail,
                "holds FILE ON *.*, which RDS's master user never holds and so cannot grant to the alternate user",
            ),
        ];
        for (rows, status, text) in table {
            let mut region = compliant_region();
            region.grants[0].rows = Collected::Ok(rows.iter().map(|r| (*r).to_owned()).collect());
            let (got, message) = status_and_message(region, "secret.rotation.admin-linked");
            assert_eq!(got, *status, "{rows:?}: {message}");
            assert!(message.contains(text), "{message}");
        }
        // What the current user holds FAILs the link, the other user unread or not.
        let mut region = with_other_user(Collected::Skipped("not logged in as".to_owned()));
        if let Collected::Ok(rows) = &mut region.grants[0].rows {
            rows.push("GRANT FILE ON *.* TO `appuser`@`%`".to_owned());
        }
        let (got, message) = status_and_message(region, "secret.rotation.admin-linked");
        assert_eq!(got, Status::Fail, "{message}");
        assert!(message.contains("holds FILE ON *.*"), "{message}");
    }

    #[test]
    fn the_other_user_of_the_pair_is_judged_too_and_unread_is_not_proven() {
        // (the other user's rows, status, in the message)
        let table: &[(Collected<Vec<String>>, Status, &str)] = &[
            (
                clone_rows(None),
                Status::Pass,
                "the RDS-managed admin secret of",
            ),
            (
                clone_rows(Some("FILE")),
                Status::Fail,
                "holds FILE ON *.* (user \"appuser_clone\", the other user of the pair, named by AWSPREVIOUS)",
            ),
            (
                Collected::Failed(crate::inventory::CollectionError {
                    action: "mysql:connect".to_owned(),
                    access_denied: false,
                    code: None,
                    message: "logging in as appuser_clone failed".to_owned(),
                }),
                Status::Error,
                "logging in as appuser_clone failed",
            ),
            // Not logged in as while a rotation is under way: never a PASS on the
            // current user alone.
            (
                Collected::Skipped("not logged in as while a rotation is under way".to_owned()),
                Status::Skip,
                "rotation is under way",
            ),
        ];
        for (rows, status, text) in table {
            let region = with_other_user(rows.clone());
            let (got, message) = status_and_message(region, "secret.rotation.admin-linked");
            assert_eq!(got, *status, "{rows:?}: {message}");
            assert!(message.contains(text), "{message}");
        }
    }

    #[test]
    fn unread_grants_or_an_awsprevious_outside_the_pair_are_never_a_plain_pass() {
        use crate::inventory::PairRelation;
        let id = "secret.rotation.admin-linked";
        let mut region = compliant_region();
        region.grants[0].rows = Collected::Failed(denied("SHOW GRANTS"));
        let (got, message) = status_and_message(region, id);
        assert_eq!(got, Status::Error, "{message}");
        let mut region = compliant_region();
        region.grants.clear();
        let (got, message) = status_and_message(region, id);
        assert_eq!(got, Status::Skip, "{message}");
        assert!(message.contains("were not read"), "{message}");
        // (AWSPREVIOUS's user, relation, status, in the message)
        let table: &[(&str, PairRelation, Status, &str)] = &[
            (
                "admin",
                PairRelation::Unrelated,
                Status::Error,
                "names user \"admin\", not the other user of the pair",
            ),
            (
                "(none)",
                PairRelation::NoUsername,
                Status::Error,
                "JSON without `username`",
            ),
            (
                "appuser_clone",
                PairRelation::FirstRotation,
                Status::Pass,
                "\"appuser_clone\", the clone AWSPENDING names",
            ),
        ];
        for (username, relation, status, text) in table {
            let (got, message) = status_and_message(with_other_version(username, *relation), id);
            assert_eq!(got, *status, "{username}: {message}");
            assert!(message.contains(text), "{message}");
        }
    }

    #[test]
    fn the_admin_link_must_name_the_databases_rds_managed_secret() {
        let with_admin = |f: &dyn Fn(&mut RegionInventory)| {
            let mut region = compliant_region();
            f(&mut region);
            status_and_message(region, "secret.rotation.admin-linked")
        };
        assert_eq!(with_admin(&|_| {}).0, Status::Pass);
        let (status, message) = with_admin(&|r| r.admin_secrets[0].secret = Collected::Ok(None));
        assert_eq!(status, Status::Fail);
        assert!(
            message.contains("does not exist") && message.contains(ADMIN_ARN),
            "{message}"
        );
        let (status, message) = with_admin(&|r| {
            if let Collected::Ok(Some(s)) = &mut r.admin_secrets[0].secret {
                s.deleted_date = Some(at("2025-06-01T00:00:00Z"));
            }
        });
        assert_eq!(status, Status::Fail);
        assert!(message.contains("scheduled for deletion"));
        let (status, message) = with_admin(&|r| {
            if let Collected::Ok(Some(s)) = &mut r.admin_secrets[0].secret {
                s.owning_service = None;
                s.tags.clear();
            }
        });
        assert_eq!(status, Status::Fail);
        assert!(message.contains("OwningService rds"));
        let (status, message) = with_admin(&|r| {
            if let Collected::Ok(Some(s)) = &mut r.admin_secrets[0].secret {
                s.tags.remove("aws:rds:primaryDBInstanceArn");
                s.tags.insert(
                    "AWS:RDS:PRIMARYDBINSTANCEARN".to_owned(),
                    "arn:aws:rds:us-east-1:123456789012:db:other".to_owned(),
                );
            }
        });
        assert_eq!(status, Status::Fail);
        assert!(message.contains("db:other"), "{message}");
        let (status, _) = with_admin(&|r| {
            if let Collected::Ok(Some(s)) = &mut r.admin_secrets[0].secret {
                s.tags.insert(
                    "aws:rds:primaryDBInstanceArn".to_owned(),
                    DB_ARN.to_uppercase(),
                );
            }
        });
        assert_eq!(
            status,
            Status::Pass,
            "the instance ARN matches case-insensitively"
        );
        let (status, message) = with_admin(&|r| {
            if let Collected::Ok(facts) = &mut r.secret_values[0].facts {
                facts.masterarn = None;
            }
        });
        assert_eq!(status, Status::Fail);
        assert!(message.contains("`masterarn` is missing"));
        let (status, message) = with_admin(&|r| {
            r.secret_values[0].facts = Collected::Failed(denied("secretsmanager:GetSecretValue"));
        });
        assert_eq!(status, Status::Error);
        assert!(message.contains("secretsmanager:GetSecretValue"));

        let mut inventory = compliant_inventory();
        inventory.metadata.scope.read_secrets = false;
        let findings = crate::checks::evaluate(&inventory, &crate::policy::Policy::default());
        let finding = findings
            .iter()
            .find(|f| f.check_id == "secret.rotation.admin-linked")
            .expect("finding");
        assert_eq!(finding.status, Status::Skip);
        assert!(finding.message.contains("--read-secrets"));
    }
}
