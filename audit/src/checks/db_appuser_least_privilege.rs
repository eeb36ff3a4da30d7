//! `db.appuser.least-privilege`: the application user holds no `ALL`,
//! `GRANT OPTION`, `SUPER` or other administrative privilege on `*.*`.
//!
//! Alternating-users rotation copies the application user's grants to its clone
//! (`appuser_clone`) at every rotation, so whatever the user holds is handed out
//! twice, and the password that opens it sits in a secret that a Lambda function,
//! its role and everyone who may read the secret can use. The application needs
//! data privileges on its own database; anything more is what an attacker holding
//! the secret gains.
//!
//! No FSBP control, AWS Config rule or Prowler check reads a database's grants
//! (audit-facts.md: Prowler "has no check for ... database grants"); the closest
//! anchor is the CIS MySQL benchmarks' "Ensure 'SUPER' is not granted to
//! non-administrative users" and their siblings for PROCESS, FILE, SHUTDOWN,
//! CREATE USER, GRANT OPTION and the `mysql` database, which this check follows.
//!
//! Which privileges are administrative: the MySQL reference manual, "Privileges
//! Provided by MySQL" ("Administrative privileges enable users to manage operation
//! of the MySQL server. These privileges are global"), whose table gives the
//! context "server administration" to ALL, CREATE TABLESPACE, CREATE USER,
//! PROCESS, PROXY, RELOAD, REPLICATION CLIENT, REPLICATION SLAVE, SHOW DATABASES,
//! SHUTDOWN and SUPER, and "file access on server host" to FILE; every dynamic
//! privilege (MySQL 8: `SYSTEM_VARIABLES_ADMIN`, `FLUSH_TABLES`, ...) is global
//! and administrative. Static names are words separated by spaces and dynamic ones
//! are written with `_`; MariaDB's split of SUPER (10.5: `BINLOG ADMIN`,
//! `CONNECTION ADMIN`, `READ_ONLY ADMIN`, `SET USER`, `REPLICA MONITOR`, ...) is
//! caught by its `ADMIN`/`MONITOR`/`_` names and listed otherwise. Write access to
//! the `mysql` database is administrative too: its tables are the grant tables.
//!
//! Every role granted to the user is judged too, active or not: whoever holds the
//! password can `SET ROLE` to it. A role whose grants could not be read leaves
//! least privilege unproven: ERROR, not PASS.
//!
//! The RDS master user is created with every privilege `WITH GRANT OPTION` by
//! design, so a secret holding it (its user is the instance's `MasterUsername`,
//! or it is a setup's `masterarn`, as `--discover --read-secrets` finds them) is
//! SKIPped: it is the admin credential, not an application user.

use super::context::Context;
use super::grants::{AppuserGrants, GrantRow, appuser_grants, grant_row, like, name_of, unquote};
use crate::finding::{CheckDefinition, Finding, Severity};
use crate::inventory::{Collected, CollectionError, OtherUserGrants, PairRelation, RoleGrants};

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "db.appuser.least-privilege",
    title: "The secret's database user holds no administrative privilege",
    severity: Severity::High,
    resource_type: "AwsSecretsManagerSecret",
    remediation: "As the admin, take the privilege away from the user and its clone, e.g. REVOKE ALL PRIVILEGES, GRANT OPTION FROM '<user>'@'%', '<user>_clone'@'%'; then GRANT only the data privileges the application needs ON `<dbname>`.* (SELECT, INSERT, UPDATE, DELETE)",
    compliance: &[
        "CIS-MySQL:Ensure 'SUPER' is not granted to non-administrative users",
        "CIS-MySQL:Ensure 'GRANT OPTION' is not granted to non-administrative users",
    ],
    references: &[
        "https://dev.mysql.com/doc/refman/8.0/en/privileges-provided.html",
        "https://mariadb.com/kb/en/grant/",
    ],
};

/// Static administrative privileges (MySQL manual's "server administration" and
/// "file access on server host" contexts; `ALL` counts only on `*.*`).
const ADMINISTRATIVE: &[&str] = &[
    "ALL",
    "ALL PRIVILEGES",
    "CREATE TABLESPACE",
    "CREATE USER",
    "FILE",
    "PROCESS",
    "PROXY",
    "RELOAD",
    "REPLICATION CLIENT",
    "REPLICATION SLAVE",
    "SHOW DATABASES",
    "SHUTDOWN",
    "SUPER",
    // MariaDB 10.5's parts of SUPER without ADMIN or MONITOR in their names
    // (MariaDB knowledge base, GRANT: "Global Privileges").
    "SET USER",
    "BINLOG REPLAY",
];

/// Privileges that change a database's content or shape: on `mysql`.* they
/// rewrite the grant tables.
const WRITES: &[&str] = &[
    "ALL",
    "ALL PRIVILEGES",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "ALTER",
];

/// Privileges that run or replace stored code: EXECUTE on `*.*` or `mysql`.* runs
/// the server's own routines (CIS MySQL keeps EXECUTE off the `mysql` database),
/// and on RDS those include the administrative `mysql.rds_*` procedures
/// (`mysql.rds_kill`, `mysql.rds_set_configuration`, `mysql.rds_stop_replication`,
/// ...), of which the RDS for MySQL stored procedure reference says "The master
/// user must run these procedures"; ALTER ROUTINE drops or redefines them.
const RUNS: &[&str] = &["EXECUTE", "ALTER ROUTINE"];

/// A grant's object without its object type: `PROCEDURE `mysql`.`rds_kill``
/// (a routine-level grant) names routine `rds_kill` of database `mysql` (MySQL
/// manual, GRANT: "object_type: { TABLE | FUNCTION | PROCEDURE }"; MariaDB adds
/// `PACKAGE` and `PACKAGE BODY`).
fn without_object_type(object: &str) -> &str {
    let upper = object.to_ascii_uppercase();
    [
        "PACKAGE BODY ",
        "PACKAGE ",
        "PROCEDURE ",
        "FUNCTION ",
        "TABLE ",
    ]
    .iter()
    .find(|kind| upper.starts_with(*kind))
    .map_or(object, |kind| object[kind.len()..].trim_start())
}

/// Whether a database-level grant's pattern covers every database or the grant
/// tables: `%`, or a pattern `LIKE`-matching `mysql` (`m_sql`, `my%`). With
/// MySQL 8's `partial_revokes` on, wildcards in grants are literal (MySQL manual,
/// "Privilege Restriction Using Partial Revokes": "If partial_revokes is enabled,
/// MySQL interprets % and _ ... as literal characters"); the REVOKE rows
/// SHOW GRANTS prints are the evidence that it is on.
fn covers_grant_tables(pattern: &str, wildcards_literal: bool) -> bool {
    if wildcards_literal {
        pattern.replace("\\_", "_").replace("\\%", "%") == "mysql"
    } else {
        pattern == "%" || like(pattern, "mysql")
    }
}

fn is_administrative(privilege: &str) -> bool {
    ADMINISTRATIVE.contains(&privilege)
        || privilege.contains('_')
        || privilege.contains("ADMIN")
        || privilege.contains("MONITOR")
}

/// What each `SHOW GRANTS` row hands out beyond least privilege, one line each
/// (empty when nothing does).
pub(crate) fn excess(rows: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let wildcards_literal = rows.iter().any(|row| {
        row.trim_start()
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("REVOKE "))
    });
    for row in rows {
        // REVOKE rows (partial revokes) only take away; a role granted has its own
        // rows, judged apart.
        let Some(GrantRow {
            privileges: list,
            object,
            grant_option,
        }) = grant_row(row)
        else {
            continue;
        };
        let database = without_object_type(object)
            .split_once('.')
            .map(|(db, _)| unquote(db));
        let names: Vec<&str> = list.iter().map(|p| name_of(p)).collect();
        let everything = object == "*.*"
            || (object.ends_with(".*")
                && database
                    .as_deref()
                    .is_some_and(|db| db == "%" && !wildcards_literal));
        let mut held: Vec<&str> = Vec::new();
        if everything {
            // Writes on every database include the grant tables.
            held.extend(
                names
                    .iter()
                    .copied()
                    .filter(|p| is_administrative(p) || WRITES.contains(p) || RUNS.contains(p)),
            );
        } else if names.contains(&"PROXY") {
            held.push("PROXY");
        } else if database
            .as_deref()
            .is_some_and(|db| covers_grant_tables(db, wildcards_literal))
        {
            held.extend(
                names
                    .iter()
                    .copied()
                    .filter(|p| WRITES.contains(p) || RUNS.contains(p)),
            );
        }
        if list.iter().any(|p| p == "GRANT OPTION") || grant_option {
            held.push("GRANT OPTION");
        }
        if !held.is_empty() {
            found.push(format!("{} ON {object}", held.join(", ")));
        }
    }
    found
}

/// Why `secret` holds the RDS master credential, when it does.
fn master_credential(
    context: &Context<'_>,
    secret: &crate::inventory::Secret,
    user: &str,
) -> Option<String> {
    if let Collected::Ok(Some(db)) = &context.region.database
        && db.master_username.as_deref() == Some(user)
    {
        return Some(format!(
            "user {user} of secret {} is the master user (MasterUsername) of RDS instance {}, which holds every privilege by design; least privilege is judged for application users",
            secret.name, db.id
        ));
    }
    let named = context.region.secret_values.iter().any(|value| {
        value
            .facts
            .ok()
            .and_then(|f| f.masterarn.as_deref())
            .is_some_and(|arn| arn == secret.arn)
    });
    named.then(|| {
        format!(
            "secret {} is a setup's masterarn (the admin credential); least privilege is judged for application users",
            secret.name
        )
    })
}

/// What the secret's `AWSPREVIOUS` means when it does not name the pair's other
/// user.
#[derive(Debug, PartialEq, Eq)]
enum NotThePair {
    /// It names the instance's master user: a FAIL whatever else is found.
    Master(String),
    /// It names another user, or none: not proven (ERROR) unless something else
    /// fails, then a note beside that FAIL.
    NotProven(&'static str, String),
}

/// What the secret's `AWSPREVIOUS` means when it does not name the pair's other
/// user: the master user's credentials ([`NotThePair::Master`]), another user or
/// none ([`NotThePair::NotProven`]). The rotator derives the next pending user
/// from `AWSCURRENT` alone (`permissions::alternate_user`), so such a version is
/// neither set nor cleared by rotation: the next one moves `AWSPREVIOUS` onto
/// today's `AWSCURRENT` and leaves it stored without a label.
fn not_the_pair(
    context: &Context<'_>,
    secret: &crate::inventory::Secret,
    user: &str,
    other: &OtherUserGrants,
) -> Option<NotThePair> {
    let name = &secret.name;
    let alternate = permissions::alternate_user(user);
    let shown = other.shown();
    // One rotation moves AWSPREVIOUS onto today's AWSCURRENT (createSecret
    // derives the pending user from AWSCURRENT: `permissions::alternate_user`;
    // finishSecret stages AWSPREVIOUS on the version that was AWSCURRENT).
    let one_rotation = format!(
        "one rotation of this secret then stages AWSPREVIOUS on today's AWSCURRENT ({user}), the other user of the pair, and leaves the old version stored without a label (readable by its VersionId until Secrets Manager deletes it), so changing that password is what takes it away"
    );
    if other.relation == PairRelation::Unrelated
        && let Some(whose) = master_of(context, secret, other)
    {
        return Some(NotThePair::Master(format!(
            "secret {name}'s AWSPREVIOUS version holds the credentials of user {shown}, {whose}, which holds every privilege: whoever may read the secret (GetSecretValue with VersionStage AWSPREVIOUS) could log in as the master, unless the master's password changed after that version was stored; rotating this secret does not change it; change the master user's password ({}); {one_rotation}",
            how_to_change_the_master(context, secret)
        )));
    }
    match other.relation {
        PairRelation::Alternate | PairRelation::FirstRotation | PairRelation::Unread => None,
        PairRelation::Unrelated => Some(NotThePair::NotProven(
            "mysql:SHOW GRANTS",
            format!(
                "its AWSPREVIOUS version names user {shown}, neither {user} nor its alternate {alternate}, and the audit did not log in as it; the next rotation sets {alternate} (derived from AWSCURRENT), whose grants were not read, and {shown}'s password stays readable by whoever may read the secret; if that user is not meant to be reached from this secret, change its password; {one_rotation}"
            ),
        )),
        PairRelation::NoUsername => Some(NotThePair::NotProven(
            "secretsmanager:GetSecretValue",
            format!(
                "its AWSPREVIOUS version is JSON without `username`, so the other user of the pair ({alternate}) and what it holds are unknown; rotate the secret once: AWSPREVIOUS then holds today's AWSCURRENT ({user})"
            ),
        )),
    }
}

/// Whose master user `other` is, when it is one: the audited instance's
/// `MasterUsername`, unless `AWSPREVIOUS` names a host that is not one of the
/// instance's endpoints (RDS's default master name `admin` is common, so a name
/// alone does not say which server's master it is); or the user of the
/// secret's `masterarn` secret, when its value was read.
fn master_of(
    context: &Context<'_>,
    secret: &crate::inventory::Secret,
    other: &OtherUserGrants,
) -> Option<String> {
    if let Collected::Ok(Some(db)) = &context.region.database
        && db.master_username.as_deref() == Some(other.username.as_str())
    {
        let here = other.host.as_deref().is_none_or(|host| {
            db.address
                .iter()
                .chain(db.cluster_endpoints.iter().map(|e| &e.address))
                .chain(db.related_endpoints.iter().map(|e| &e.address))
                .any(|address| permissions::same_host(address, host))
        });
        if here {
            return Some(format!(
                "the master user (MasterUsername) of RDS instance {}",
                db.id
            ));
        }
    }
    let facts_of = |arn: &str| {
        context
            .region
            .secret_values
            .iter()
            .find(|v| v.secret_arn == arn)
            .and_then(|v| v.facts.ok())
    };
    let masterarn = facts_of(&secret.arn)?.masterarn.as_deref()?;
    let admin = facts_of(masterarn)?.username.as_deref()?;
    (admin == other.username)
        .then(|| format!("the user of the secret's masterarn ({masterarn}), its admin credential"))
}

/// How the audited instance's master password is changed: rotating its
/// RDS-managed secret when RDS manages it (ManageMasterUserPassword), else
/// ModifyDBInstance, or ModifyDBCluster for a cluster member, with
/// `--master-user-password` (Amazon RDS API reference, ModifyDBInstance and
/// ModifyDBCluster, `MasterUserPassword`,
/// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html>).
fn how_to_change_the_master(context: &Context<'_>, secret: &crate::inventory::Secret) -> String {
    let Collected::Ok(Some(db)) = &context.region.database else {
        return format!("for the admin secret of {}, rotate it", secret.name);
    };
    match (&db.master_user_secret, &db.cluster_id) {
        (Some(managed), _) => format!(
            "RDS manages it: rotate its RDS-managed secret {}",
            managed.arn.as_deref().unwrap_or("(MasterUserSecret)")
        ),
        (None, Some(cluster)) => format!(
            "aws rds modify-db-cluster --db-cluster-identifier {cluster} --master-user-password ..., or rotate the cluster's RDS-managed secret if it has one"
        ),
        (None, None) => format!(
            "aws rds modify-db-instance --db-instance-identifier {} --master-user-password ...",
            db.id
        ),
    }
}

/// What `roles` hand out beyond least privilege (each marked with its role and
/// `whose`), and the roles whose grants could not be read.
fn held_through_roles<'a>(
    roles: &'a [RoleGrants],
    whose: &str,
    excess: &mut Vec<String>,
    unread: &mut Vec<(&'a str, &'a str)>,
) {
    for role in roles {
        match &role.rows {
            Collected::Ok(role_rows) => excess.extend(
                self::excess(role_rows)
                    .into_iter()
                    .map(|held| format!("{held} (through role {}){whose}", role.role)),
            ),
            Collected::Failed(error) => unread.push((role.role.as_str(), error.message.as_str())),
            Collected::Skipped(why) => unread.push((role.role.as_str(), why.as_str())),
        }
    }
}

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    context.each_primary_secret(def, |secret| {
        let (resource, name) = (&secret.arn, &secret.name);
        let AppuserGrants { user, rows, .. } = match appuser_grants(context, def, secret) {
            Ok(grants) => grants,
            Err(finding) => return *finding,
        };
        if let Some(why) = master_credential(context, secret, &user) {
            return context.skip(def, resource, &why);
        }
        let record = context
            .region
            .grants
            .iter()
            .find(|g| &g.secret_arn == resource);
        let roles = record.map_or(&[][..], |g| g.roles.as_slice());
        let mut excess = excess(rows);
        let mut unread = Vec::new();
        held_through_roles(roles, "", &mut excess, &mut unread);
        // The other user of the pair (AWSPREVIOUS): the next rotation sets its
        // password, and its credentials are readable wherever the secret is.
        let other = record.and_then(|g| g.other_user.as_ref());
        // The current user's own excess is reported first; what AWSPREVIOUS
        // means is a FAIL of its own (the master) or a note beside another FAIL.
        let own = (!excess.is_empty()).then(|| {
            let mut held = excess.clone();
            held.dedup();
            format!(
                "user {user} of secret {name} holds {}; rotation copies it to the clone user; expected only data privileges on the application's database",
                held.join("; ")
            )
        });
        let mut note = None;
        match other.and_then(|o| not_the_pair(context, secret, &user, o)) {
            Some(NotThePair::Master(text)) => {
                let message = own.map_or(text.clone(), |own| format!("{own}. Also, {text}"));
                return context.fail(def, resource, message);
            }
            Some(NotThePair::NotProven(action, why)) if own.is_none() => {
                let error = CollectionError {
                    action: action.to_owned(),
                    access_denied: false,
                    code: None,
                    message: format!(
                        "least privilege of user {user} of secret {name} not proven: {why}"
                    ),
                };
                return context.error(def, resource, &error);
            }
            Some(NotThePair::NotProven(_, why)) => note = Some(why),
            None => {}
        }
        // A first rotation's clone (AWSPENDING) is not logged in as; setSecret
        // gives it exactly the current user's privileges, judged above.
        let first_rotation = other.filter(|o| o.relation == PairRelation::FirstRotation);
        let other = other.filter(|o| matches!(o.relation, PairRelation::Alternate | PairRelation::Unread));
        let other_label = other.map(|o| {
            format!(
                " (user {}, the other user of the pair, named by {})",
                o.shown(),
                o.named_by()
            )
        });
        // The other user deliberately not logged in as (a rotation under way, or a
        // login that could help lock it): said as such, its own words naming why.
        let mut not_logged_in = None;
        if let (Some(other), Some(label)) = (other, &other_label) {
            match &other.rows {
                Collected::Ok(other_rows) => {
                    excess.extend(self::excess(other_rows).into_iter().map(|held| format!("{held}{label}")));
                    held_through_roles(&other.roles, label, &mut excess, &mut unread);
                }
                Collected::Failed(error) => unread.push((label.as_str(), error.message.as_str())),
                Collected::Skipped(why) => not_logged_in = Some((label.as_str(), why.as_str())),
            }
        }
        if !excess.is_empty() {
            excess.dedup();
            return context.fail(
                def,
                resource,
                format!(
                    "user {user} of secret {name} holds {}; rotation copies it to the clone user; expected only data privileges on the application's database{}",
                    excess.join("; "),
                    note.map_or_else(String::new, |n| format!(". Note: {n}"))
                ),
            );
        }
        if !unread.is_empty() {
            let error = CollectionError {
                action: "mysql:SHOW GRANTS".to_owned(),
                access_denied: false,
                code: None,
                message: format!(
                    "least privilege of user {user} of secret {name} not proven: the grants of {} could not be read ({})",
                    unread
                        .iter()
                        .map(|(role, _)| *role)
                        .collect::<Vec<_>>()
                        .join(", "),
                    unread[0].1
                ),
            };
            return context.error(def, resource, &error);
        }
        if let Some((label, why)) = not_logged_in {
            let error = CollectionError {
                action: "mysql:SHOW GRANTS".to_owned(),
                access_denied: false,
                code: None,
                message: format!(
                    "user {user} of secret {name} holds only data privileges, but the other user of the pair{label} was not judged, {why}"
                ),
            };
            return context.error(def, resource, &error);
        }
        context.pass(
            def,
            resource,
            format!(
                "user {user} of secret {name} holds no ALL, GRANT OPTION, SUPER or administrative privilege on *.*, directly or through its {} role(s){}{}",
                roles.len(),
                other.map_or_else(String::new, |o| format!(", and neither does {}, the other user of the pair (AWSPREVIOUS)", o.shown())),
                first_rotation.map_or_else(String::new, |o| format!("; {}, the clone AWSPENDING names (a first rotation under way or stuck), was not logged in as: setSecret gives it exactly {user}'s privileges", o.shown()))
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::finding::Status;
    use crate::inventory::RoleGrants;

    #[test]
    fn administrative_privileges_are_found_in_mysql_and_mariadb_rows() {
        // (rows, what is flagged; empty when least privilege)
        let table: &[(&[&str], &[&str])] = &[
            (
                &[
                    "GRANT USAGE ON *.* TO `appuser`@`%` IDENTIFIED BY PASSWORD '<redacted>'",
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON `tutorial`.* TO `appuser`@`%`",
                ],
                &[],
            ),
            // ALL on its own database is its data, not the server.
            (
                &["GRANT ALL PRIVILEGES ON `tutorial`.* TO `appuser`@`%`"],
                &[],
            ),
            (&["GRANT SELECT ON *.* TO `appuser`@`%`"], &[]),
            (
                &["GRANT SELECT, UPDATE ON *.* TO `appuser`@`%`"],
                &["UPDATE ON *.*"],
            ),
            (
                &["GRANT ALL PRIVILEGES ON *.* TO `appuser`@`%` WITH GRANT OPTION"],
                &["ALL PRIVILEGES, GRANT OPTION ON *.*"],
            ),
            (
                &["GRANT SELECT ON `tutorial`.* TO `appuser`@`%` WITH GRANT OPTION"],
                &["GRANT OPTION ON `tutorial`.*"],
            ),
            (
                &["GRANT SELECT, PROCESS, SUPER ON *.* TO 'appuser'@'%'"],
                &["PROCESS, SUPER ON *.*"],
            ),
            (
                &["GRANT RELOAD, SHUTDOWN, FILE, CREATE USER ON *.* TO `appuser`@`%`"],
                &["RELOAD, SHUTDOWN, FILE, CREATE USER ON *.*"],
            ),
            // MySQL 8 dynamic privileges, one row of their own.
            (
                &["GRANT SYSTEM_VARIABLES_ADMIN,FLUSH_TABLES ON *.* TO `appuser`@`%`"],
                &["SYSTEM_VARIABLES_ADMIN, FLUSH_TABLES ON *.*"],
            ),
            // MariaDB 10.5+'s parts of SUPER.
            (
                &[
                    "GRANT BINLOG ADMIN, CONNECTION ADMIN, SET USER, REPLICA MONITOR ON *.* TO `appuser`@`%`",
                ],
                &["BINLOG ADMIN, CONNECTION ADMIN, SET USER, REPLICA MONITOR ON *.*"],
            ),
            // Writing the grant tables is creating users.
            (
                &["GRANT SELECT, INSERT, UPDATE ON `mysql`.* TO `appuser`@`%`"],
                &["INSERT, UPDATE ON `mysql`.*"],
            ),
            (
                &["GRANT UPDATE ON `mysql`.`user` TO `appuser`@`%`"],
                &["UPDATE ON `mysql`.`user`"],
            ),
            (&["GRANT SELECT ON `mysql`.* TO `appuser`@`%`"], &[]),
            (
                &["GRANT PROXY ON ''@'%' TO 'appuser'@'%'"],
                &["PROXY ON ''@'%'"],
            ),
            // A role grant has no ON; a partial revoke only takes away.
            (
                &[
                    "GRANT `reader`@`%` TO `appuser`@`%`",
                    "REVOKE SUPER ON *.* FROM `appuser`@`%`",
                ],
                &[],
            ),
            // Wildcard database patterns that cover every database or `mysql`.
            (
                &["GRANT ALL PRIVILEGES ON `%`.* TO `appuser`@`%`"],
                &["ALL PRIVILEGES ON `%`.*"],
            ),
            (
                &["GRANT INSERT ON `m_sql`.* TO `appuser`@`%`"],
                &["INSERT ON `m_sql`.*"],
            ),
            (
                &["GRANT SELECT, UPDATE ON `my%`.* TO `appuser`@`%`"],
                &["UPDATE ON `my%`.*"],
            ),
            (&["GRANT ALL ON `app%`.* TO `appuser`@`%`"], &[]),
            // With partial_revokes on (a REVOKE row shows it) wildcards are literal.
            (
                &[
                    "GRANT ALL PRIVILEGES ON `m_sql`.* TO `appuser`@`%`",
                    "REVOKE SELECT ON `x`.* FROM `appuser`@`%`",
                ],
                &[],
            ),
            // Column-level writes into the grant tables; EXECUTE on them or *.*.
            (
                &["GRANT UPDATE (`authentication_string`) ON `mysql`.`user` TO `appuser`@`%`"],
                &["UPDATE ON `mysql`.`user`"],
            ),
            (
                &["GRANT EXECUTE ON *.* TO `appuser`@`%`"],
                &["EXECUTE ON *.*"],
            ),
            (
                &["GRANT EXECUTE ON `mysql`.* TO `appuser`@`%`"],
                &["EXECUTE ON `mysql`.*"],
            ),
            (&["GRANT EXECUTE ON `tutorial`.* TO `appuser`@`%`"], &[]),
            // Lower case, as some clients print it.
            (&["grant super on *.* to 'appuser'@'%'"], &["SUPER ON *.*"]),
        ];
        for (rows, expected) in table {
            let rows: Vec<String> = rows.iter().map(|r| (*r).to_owned()).collect();
            assert_eq!(excess(&rows), *expected, "{rows:?}");
        }
    }

    #[test]
    fn routine_and_table_grants_on_the_mysql_database_are_found() {
        // Routine-level grants on RDS's own procedures (only the master user is
        // meant to run them), and the object type a grant may name.
        let table: &[(&str, &[&str])] = &[
            (
                "GRANT EXECUTE ON PROCEDURE `mysql`.`rds_kill` TO `appuser`@`%`",
                &["EXECUTE ON PROCEDURE `mysql`.`rds_kill`"],
            ),
            (
                "grant execute, alter routine on procedure mysql.rds_set_configuration to 'appuser'@'%'",
                &["EXECUTE, ALTER ROUTINE ON procedure mysql.rds_set_configuration"],
            ),
            (
                "GRANT EXECUTE ON FUNCTION `mysql`.`any_function` TO `appuser`@`%`",
                &["EXECUTE ON FUNCTION `mysql`.`any_function`"],
            ),
            (
                "GRANT UPDATE ON TABLE `mysql`.`user` TO `appuser`@`%`",
                &["UPDATE ON TABLE `mysql`.`user`"],
            ),
            (
                "GRANT EXECUTE ON PROCEDURE `tutorial`.`report` TO `appuser`@`%`",
                &[],
            ),
        ];
        for (row, expected) in table {
            assert_eq!(excess(&[(*row).to_owned()]), *expected, "{row}");
        }
    }

    #[test]
    fn the_finding_names_what_is_held_and_skips_without_read_secrets() {
        let findings = findings_of(compliant_region(), DEFINITION.id);
        assert_eq!(findings[0].status, Status::Pass, "{findings:#?}");

        let mut region = compliant_region();
        region.grants[0].rows = Collected::Ok(vec![
            "GRANT SUPER ON *.* TO `appuser`@`%`".to_owned(),
            "GRANT SELECT ON `tutorial`.* TO `appuser`@`%`".to_owned(),
        ]);
        let findings = findings_of(region, DEFINITION.id);
        assert_eq!(findings[0].status, Status::Fail);
        assert_eq!(findings[0].resource, SECRET_ARN);
        assert!(
            findings[0].message.contains(
                "user appuser of secret SecretsManagerTutorialAppuser holds SUPER ON *.*"
            ),
            "{}",
            findings[0].message
        );

        let mut inventory = compliant_inventory();
        inventory.metadata.scope.read_secrets = false;
        let findings: Vec<_> =
            crate::checks::evaluate(&inventory, &crate::policy::Policy::default())
                .into_iter()
                .filter(|f| f.check_id == DEFINITION.id)
                .collect();
        assert_eq!(findings[0].status, Status::Skip);
        assert!(findings[0].message.contains("--read-secrets"));

        let mut region = compliant_region();
        region.grants[0].rows = Collected::Failed(denied("SHOW GRANTS"));
        assert_eq!(findings_of(region, DEFINITION.id)[0].status, Status::Error);
    }

    #[test]
    fn the_other_user_of_the_pair_is_judged_and_an_unread_one_is_not_proven() {
        let unread = Collected::Failed(denied("SHOW GRANTS"));
        // (the other user's rows, status, in the message)
        let table: &[(Collected<Vec<String>>, Status, &str)] = &[
            (
                clone_rows(None),
                Status::Pass,
                "neither does \"appuser_clone\", the other user of the pair (AWSPREVIOUS)",
            ),
            (
                clone_rows(Some("FILE")),
                Status::Fail,
                "holds FILE ON *.* (user \"appuser_clone\", the other user of the pair, named by AWSPREVIOUS)",
            ),
            (unread, Status::Error, "not proven"),
        ];
        for (rows, status, text) in table {
            let region = with_other_user(rows.clone());
            let findings = findings_of(region, DEFINITION.id);
            assert_eq!(findings[0].status, *status, "{findings:#?}");
            assert!(
                findings[0].message.contains(text),
                "{}",
                findings[0].message
            );
        }
    }

    /// While a rotation is under way the other user is named but not logged in
    /// as (collection: its rows are Skipped): its grants, which the next rotation
    /// gives on, are unknown. Seed 1208's case 109 (a new schedule, whose test
    /// left a version staged AWSPENDING while the audit ran) had PASSed with
    /// PROCESS on that user.
    #[test]
    fn the_other_user_is_not_proven_while_a_rotation_is_under_way() {
        let under_way = with_other_user(crate::inventory::Collected::Skipped(
            "not logged in as while a rotation is under way".to_owned(),
        ));
        let (status, message) = status_and_message(under_way, DEFINITION.id);
        assert_eq!(status, Status::Error, "{message}");
        assert!(
            message.contains("rotation is under way") && message.contains("appuser_clone"),
            "{message}"
        );
        // Not logged in as for fear of a lockout: an ERROR that names the options,
        // not a generic "could not be read".
        let lockout = with_other_user(crate::inventory::Collected::Skipped(
            "not logged in as: user \"appuser\" has FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME 2"
                .to_owned(),
        ));
        let (status, message) = status_and_message(lockout, DEFINITION.id);
        assert_eq!(status, Status::Error, "{message}");
        assert!(
            message.contains("was not judged, not logged in as: user \"appuser\" has FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME 2")
                && !message.contains("could not be read"),
            "{message}"
        );
        // A single-user secret (no other user recorded) is judged on its user.
        assert_eq!(
            status_and_message(compliant_region(), DEFINITION.id).0,
            Status::Pass
        );
    }

    #[test]
    fn an_awsprevious_naming_no_user_of_the_pair_is_never_a_pass() {
        use crate::inventory::PairRelation;
        // (AWSPREVIOUS's user, its relation, status, in the message)
        let table: &[(&str, PairRelation, Status, &str)] = &[
            // The instance's MasterUsername (the fixture's is `admin`).
            (
                "admin",
                PairRelation::Unrelated,
                Status::Fail,
                "holds the credentials of user \"admin\", the master user (MasterUsername) of RDS instance secretsmanagertutorial",
            ),
            (
                "reporting",
                PairRelation::Unrelated,
                Status::Error,
                "names user \"reporting\", neither appuser nor its alternate appuser_clone",
            ),
            (
                "(none)",
                PairRelation::NoUsername,
                Status::Error,
                "AWSPREVIOUS version is JSON without `username`",
            ),
            // A first rotation under way or stuck: the clone is named.
            (
                "appuser_clone",
                PairRelation::FirstRotation,
                Status::Pass,
                "\"appuser_clone\", the clone AWSPENDING names (a first rotation under way or stuck), was not logged in as",
            ),
        ];
        for (username, relation, status, text) in table {
            let (got, message) =
                status_and_message(with_other_version(username, *relation), DEFINITION.id);
            assert_eq!(got, *status, "{username}: {message}");
            assert!(message.contains(text), "{message}");
        }
    }

    #[test]
    fn a_master_user_in_awsprevious_is_judged_by_its_host_and_the_masterarn_secret() {
        use crate::inventory::{MasterUserSecret, PairRelation, SecretFacts, SecretValueRecord};
        // (AWSPREVIOUS's user and host, RDS manages the password, cluster
        // member, the masterarn secret's user read, status, in the message)
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            bool,
            bool,
            Option<&'a str>,
            Status,
            &'a str,
        );
        let table: &[Case] = &[
            (
                "admin",
                None,
                true,
                false,
                None,
                Status::Fail,
                "rotate its RDS-managed secret",
            ),
            (
                "admin",
                Some("SecretsManagerTutorial.abc.us-east-1.rds.amazonaws.com."),
                false,
                false,
                None,
                Status::Fail,
                "aws rds modify-db-instance --db-instance-identifier secretsmanagertutorial --master-user-password",
            ),
            (
                "admin",
                None,
                false,
                true,
                None,
                Status::Fail,
                "aws rds modify-db-cluster --db-cluster-identifier c1 --master-user-password",
            ),
            // Another server's `admin`: not this instance's master.
            (
                "admin",
                Some("other.xyz.us-east-1.rds.amazonaws.com"),
                true,
                false,
                None,
                Status::Error,
                "names user \"admin\", neither appuser",
            ),
            // The masterarn secret's user, read: its admin credential.
            (
                "root",
                None,
                true,
                false,
                Some("root"),
                Status::Fail,
                "the user of the secret's masterarn",
            ),
            (
                "root",
                None,
                true,
                false,
                Some("admin"),
                Status::Error,
                "not proven",
            ),
            // Worded as what could happen, and one rotation, not two.
            (
                "admin",
                None,
                true,
                false,
                None,
                Status::Fail,
                "could log in as the master, unless the master's password changed after that version was stored",
            ),
            (
                "admin",
                None,
                true,
                false,
                None,
                Status::Fail,
                "one rotation of this secret then stages AWSPREVIOUS on today's AWSCURRENT (appuser)",
            ),
        ];
        for (username, host, managed, member, admin, status, text) in table {
            let mut region = with_other_version(username, PairRelation::Unrelated);
            if let Some(other) = &mut region.grants[0].other_user {
                other.host = host.map(str::to_owned);
            }
            if let Collected::Ok(Some(db)) = &mut region.database {
                db.master_user_secret = managed.then(|| MasterUserSecret {
                    arn: Some("arn:managed".to_owned()),
                    status: None,
                });
                db.cluster_id = member.then(|| "c1".to_owned());
            }
            if let Some(admin) = admin {
                region.secret_values.push(SecretValueRecord {
                    secret_arn: ADMIN_ARN.to_owned(),
                    facts: Collected::Ok(SecretFacts {
                        username: Some((*admin).to_owned()),
                        host: None,
                        port: None,
                        dbname: None,
                        engine: None,
                        masterarn: None,
                        ssl: None,
                        has_password: true,
                    }),
                });
            }
            let (got, message) = status_and_message(region, DEFINITION.id);
            assert_eq!(got, *status, "{username} {host:?}: {message}");
            assert!(message.contains(text), "{text}: {message}");
        }
    }

    #[test]
    fn an_unread_awsprevious_is_not_proven_and_not_named_as_the_alternate() {
        use crate::inventory::PairRelation;
        let mut region = with_other_version("(unknown)", PairRelation::Unread);
        if let Some(other) = &mut region.grants[0].other_user {
            other.rows = Collected::Failed(CollectionError {
                action: "secretsmanager:GetSecretValue".to_owned(),
                access_denied: true,
                code: None,
                message: "denied".to_owned(),
            });
        }
        let (got, message) = status_and_message(region, DEFINITION.id);
        assert_eq!(got, Status::Error, "{message}");
        assert!(
            message.contains("(the user AWSPREVIOUS names: unread)")
                && !message.contains("(unknown)"),
            "{message}"
        );
    }

    #[test]
    fn the_current_users_own_excess_fails_whatever_awsprevious_names() {
        use crate::inventory::PairRelation;
        // (AWSPREVIOUS's user, its relation, status, in the message)
        let table: &[(&str, PairRelation, Status, &[&str])] = &[
            (
                "reporting",
                PairRelation::Unrelated,
                Status::Fail,
                &[
                    "user appuser of secret",
                    "holds SUPER",
                    "Note: its AWSPREVIOUS version names user \"reporting\"",
                ],
            ),
            (
                "(none)",
                PairRelation::NoUsername,
                Status::Fail,
                &[
                    "holds SUPER",
                    "Note: its AWSPREVIOUS version is JSON without `username`",
                ],
            ),
            (
                "admin",
                PairRelation::Unrelated,
                Status::Fail,
                &["holds SUPER", "the master user (MasterUsername)"],
            ),
        ];
        for (username, relation, status, texts) in table {
            let mut region = with_other_version(username, *relation);
            region.grants[0].rows = Collected::Ok(vec![
                "GRANT SUPER ON *.* TO `appuser`@`%`".to_owned(),
                "GRANT SELECT ON `tutorial`.* TO `appuser`@`%`".to_owned(),
            ]);
            let (got, message) = status_and_message(region, DEFINITION.id);
            assert_eq!(got, *status, "{username}: {message}");
            for text in *texts {
                assert!(message.contains(text), "{text}: {message}");
            }
        }
    }

    #[test]
    fn a_master_credential_is_skipped() {
        let master_grants = || {
            Collected::Ok(vec![
                "GRANT ALL PRIVILEGES ON *.* TO `admin`@`%` WITH GRANT OPTION".to_owned(),
            ])
        };
        // (the instance's MasterUsername, another secret's masterarn names this one, status)
        for (master, named, status) in [
            (Some("admin"), false, Status::Skip),
            (Some("root"), true, Status::Skip),
            (Some("root"), false, Status::Fail),
            (None, false, Status::Fail),
        ] {
            let mut region = compliant_region();
            region.grants[0].rows = master_grants();
            if let Collected::Ok(Some(db)) = &mut region.database {
                db.master_username = master.map(str::to_owned);
            }
            for value in &mut region.secret_values {
                if let Collected::Ok(facts) = &mut value.facts {
                    facts.username = Some("admin".to_owned());
                    facts.masterarn = named.then(|| SECRET_ARN.to_owned());
                }
            }
            let findings = findings_of(region, DEFINITION.id);
            assert_eq!(
                findings[0].status, status,
                "{master:?} {named}: {findings:#?}"
            );
        }
    }

    #[test]
    fn every_granted_role_is_judged_and_an_unread_one_is_not_proven() {
        let role = |name: &str, rows: Collected<Vec<String>>| RoleGrants {
            role: name.to_owned(),
            rows,
        };
        let dba = || {
            role(
                "`dba`@`%`",
                Collected::Ok(vec![
                    "GRANT ALL PRIVILEGES ON *.* TO `dba`@`%` WITH GRANT OPTION".to_owned(),
                ]),
            )
        };
        let reader = || {
            role(
                "`reader`@`%`",
                Collected::Ok(vec![
                    "GRANT SELECT ON `tutorial`.* TO `reader`@`%`".to_owned(),
                ]),
            )
        };
        let unread = || role("`other`@`%`", Collected::Failed(denied("SHOW GRANTS")));
        // (roles, status, text in the message)
        let table: Vec<(Vec<RoleGrants>, Status, &str)> = vec![
            (vec![reader()], Status::Pass, "through its 1 role(s)"),
            (
                vec![reader(), dba()],
                Status::Fail,
                "ALL PRIVILEGES, GRANT OPTION ON *.* (through role `dba`@`%`)",
            ),
            (
                vec![reader(), unread()],
                Status::Error,
                "`other`@`%` could not be read",
            ),
            // A known FAIL is not hidden by a role that could not be read.
            (
                vec![unread(), dba()],
                Status::Fail,
                "through role `dba`@`%`",
            ),
        ];
        for (roles, status, text) in table {
            let mut region = compliant_region();
            region.grants[0].roles = roles;
            let findings = findings_of(region, DEFINITION.id);
            assert_eq!(findings[0].status, status, "{findings:#?}");
            assert!(
                findings[0].message.contains(text),
                "{}",
                findings[0].message
            );
        }
    }
}
