//! What the admin's server must allow before `setSecret` writes anything.
//!
//! A rotation that fails half-way is undone or redone on retry, but one that cannot
//! succeed should not start: its first write fails with the server's bare error, or,
//! worse, succeeds where it must not. Two such servers are recognised from their
//! variables before the first write:
//!
//! - A read-only server (`read_only`, MySQL's `super_read_only`, `innodb_read_only`):
//!   a read replica, an Aurora reader, or a former primary after a failover that the
//!   admin secret's host still names. Accounts written there are refused or, for an
//!   admin exempt from `read_only` (SUPER, MariaDB's READ_ONLY ADMIN), make the replica
//!   diverge from its source.
//! - MySQL 8 with `partial_revokes=ON` and an admin that has partial revokes
//!   (`REVOKE ... ON `db`.* FROM admin` rows in its `SHOW GRANTS`, read `USING` its
//!   active roles, as Aurora MySQL 3's and RDS for MySQL 8.0.36+'s master holds its
//!   privileges through `rds_superuser_role`: MySQL reference manual, "SHOW GRANTS
//!   Statement", "USING ... the privileges associated with each role"): "any
//!   restriction the grantor has ... is inherited by the grantee" (MySQL reference
//!   manual, "Privilege Restriction Using Partial Revokes",
//!   <https://dev.mysql.com/doc/refman/8.0/en/partial-revokes.html>), so the clone could
//!   not get exactly the current user's privileges. Only the restrictions the clone
//!   would inherit count ([`crate::grantable::AdminPrivileges::inherited_revokes`]):
//!   a restriction on a schema of a privilege the user does not hold globally (RDS
//!   admins often have `REVOKE ... ON `mysql`.*`) reaches nobody. This is checked once
//!   the user's grants are read, before the first write. MariaDB has no such variable
//!   (nor partial revokes), so this part is verified by unit tests only.

/// The variables the preflight reads (`SHOW GLOBAL VARIABLES`); absent ones are off.
pub const VARIABLES: [&str; 4] = [
    "read_only",
    "super_read_only",
    "innodb_read_only",
    "partial_revokes",
];

/// Why the rotation must not write on this server, or `None` when it may.
///
/// `variables` are (name, value) as the server lists them.
pub fn refusal(host: &str, variables: &[(String, String)]) -> Option<String> {
    if let Some((name, value)) = ["innodb_read_only", "super_read_only", "read_only"]
        .into_iter()
        .find_map(|name| on(variables, name).map(|value| (name, value)))
    {
        return Some(format!(
            "the admin's database {host} is read-only ({name}={value}): a read replica, an Aurora reader, or a former primary after a failover; its accounts cannot be written, or would diverge from the source's. Point the admin secret's host (or, for an RDS-managed admin secret, its instance or cluster) at the writer"
        ));
    }
    None
}

/// Whether partial revokes are in force (`partial_revokes=ON`; MySQL 8.0.16+).
pub fn partial_revokes(variables: &[(String, String)]) -> bool {
    on(variables, "partial_revokes").is_some()
}

/// Why the admin `admin` may not make the clone at `host`: `inherited` are its partial
/// revokes the clone would inherit (see the module's documentation).
pub fn inherited_refusal(host: &str, admin: &str, inherited: &[String]) -> Option<String> {
    (!inherited.is_empty()).then(|| format!(
        "partial_revokes=ON on {host} and the admin {admin} has partial revokes of privileges the user holds globally ({}); MySQL passes a grantor's restrictions on to the accounts it grants to, so the clone cannot be given exactly the current user's privileges. Use an admin without these partial revokes, or lift them (GRANT the revoked privileges ON the named databases TO {admin})",
        inherited.join("; ")
    ))
}

/// The value of a variable that is on: anything but OFF. MariaDB 12 made `read_only`
/// an enum (ON, NO_LOCK, NO_LOCK_NO_ADMIN), every value but OFF read-only to ordinary writes.
fn on(variables: &[(String, String)], name: &str) -> Option<String> {
    variables.iter().find_map(|(n, v)| {
        let value = v.trim().to_ascii_uppercase();
        (n.eq_ignore_ascii_case(name) && !matches!(value.as_str(), "OFF" | "0" | ""))
            .then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password_policy::tests::vars;

    /// The server's variables and a part of the refusal expected.
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);

    #[test]
    fn a_read_only_server_is_refused() {
        let cases: [Case; 7] = [
            // MariaDB's primary: no super_read_only, no partial_revokes.
            (&[("read_only", "OFF"), ("innodb_read_only", "OFF")], None),
            (&[], None),
            (&[("read_only", "ON")], Some("read-only (read_only=ON)")),
            (
                &[("super_read_only", "ON"), ("read_only", "ON")],
                Some("super_read_only=ON"),
            ),
            (&[("innodb_read_only", "1")], Some("innodb_read_only=1")),
            // MariaDB 12's read_only enum: every value but OFF is read-only.
            (
                &[("read_only", "NO_LOCK_NO_ADMIN")],
                Some("read_only=NO_LOCK_NO_ADMIN"),
            ),
            (&[("partial_revokes", "ON")], None),
        ];
        for (pairs, expected) in cases {
            let found = refusal("db.example", &vars(pairs));
            match expected {
                None => assert_eq!(found, None, "{pairs:?}"),
                Some(part) => {
                    let message = found.unwrap_or_default();
                    assert!(message.contains(part), "{pairs:?}: {message}");
                    assert!(message.contains("db.example"), "{message}");
                }
            }
        }
    }

    #[test]
    fn only_inherited_partial_revokes_are_refused_and_named() {
        let cases: [(&[(&str, &str)], bool); 4] = [
            (&[("partial_revokes", "ON")], true),
            (&[("partial_revokes", "OFF")], false),
            (&[("read_only", "OFF")], false),
            (&[], false),
        ];
        for (pairs, expected) in cases {
            assert_eq!(partial_revokes(&vars(pairs)), expected, "{pairs:?}");
        }
        assert_eq!(inherited_refusal("db.example", "'admin'@'%'", &[]), None);
        let message = inherited_refusal(
            "db.example",
            "'admin'@'%'",
            &["REVOKE SELECT ON `payroll`.*".to_owned()],
        )
        .unwrap_or_default();
        assert!(
            message.contains("db.example")
                && message.contains("'admin'@'%'")
                && message.contains("REVOKE SELECT ON `payroll`.*"),
            "{message}"
        );
    }
}
