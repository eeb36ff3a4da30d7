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
//!   (`REVOKE ... ON `db`.* FROM admin` rows in its `SHOW GRANTS`): "any restriction
//!   the grantor has ... is inherited by the grantee" (MySQL reference manual,
//!   "Privilege Restriction Using Partial Revokes",
//!   <https://dev.mysql.com/doc/refman/8.0/en/partial-revokes.html>), so the clone could
//!   not get exactly the current user's privileges. MariaDB has no such variable.

/// The variables the preflight reads (`SHOW GLOBAL VARIABLES`); absent ones are off.
pub const VARIABLES: [&str; 4] = [
    "read_only",
    "super_read_only",
    "innodb_read_only",
    "partial_revokes",
];

/// Why the rotation must not write on this server, or `None` when it may.
///
/// `variables` are (name, value) as the server lists them, `admin_grants` the admin
/// session's `SHOW GRANTS` rows (only looked at when `partial_revokes` is on).
pub fn refusal(
    host: &str,
    admin: &str,
    variables: &[(String, String)],
    admin_grants: &[String],
) -> Option<String> {
    // Anything but OFF: MariaDB 12 made `read_only` an enum (ON, NO_LOCK,
    // NO_LOCK_NO_ADMIN), every value but OFF read-only to ordinary writes.
    let on = |name: &str| {
        variables.iter().find_map(|(n, v)| {
            let value = v.trim().to_ascii_uppercase();
            (n.eq_ignore_ascii_case(name) && !matches!(value.as_str(), "OFF" | "0" | ""))
                .then_some(value)
        })
    };
    if let Some((name, value)) = ["innodb_read_only", "super_read_only", "read_only"]
        .into_iter()
        .find_map(|name| on(name).map(|value| (name, value)))
    {
        return Some(format!(
            "the admin's database {host} is read-only ({name}={value}): a read replica, an Aurora reader, or a former primary after a failover; its accounts cannot be written, or would diverge from the source's. Point the admin secret's host (or, for an RDS-managed admin secret, its instance or cluster) at the writer"
        ));
    }
    if on("partial_revokes").is_some() {
        let revokes: Vec<&str> = admin_grants
            .iter()
            .map(|row| row.trim())
            .filter(|row| {
                row.get(..7)
                    .is_some_and(|start| start.eq_ignore_ascii_case("REVOKE "))
            })
            .collect();
        if !revokes.is_empty() {
            return Some(format!(
                "partial_revokes=ON on {host} and the admin {admin} has partial revokes ({}); MySQL passes a grantor's restrictions on to the accounts it grants to, so the clone cannot be given exactly the current user's privileges. Use an admin without partial revokes, or lift them (GRANT the revoked privileges ON the named databases TO {admin})",
                revokes.join("; ")
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password_policy::tests::vars;

    /// The server's variables, the admin's grants, and a part of the refusal expected.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [String], Option<&'a str>);

    #[test]
    fn a_read_only_server_or_an_admin_with_partial_revokes_is_refused() {
        let plain = vec!["GRANT ALL PRIVILEGES ON *.* TO `admin`@`%` WITH GRANT OPTION".to_owned()];
        let restricted = vec![
            "GRANT SELECT, INSERT ON *.* TO `admin`@`%` WITH GRANT OPTION".to_owned(),
            "REVOKE INSERT ON `payroll`.* FROM `admin`@`%`".to_owned(),
        ];
        let cases: [Case; 9] = [
            // MariaDB's primary: no super_read_only, no partial_revokes.
            (
                &[("read_only", "OFF"), ("innodb_read_only", "OFF")],
                &plain,
                None,
            ),
            (&[], &restricted, None),
            (
                &[("read_only", "ON")],
                &plain,
                Some("read-only (read_only=ON)"),
            ),
            (
                &[("super_read_only", "ON"), ("read_only", "ON")],
                &plain,
                Some("super_read_only=ON"),
            ),
            (
                &[("innodb_read_only", "1")],
                &plain,
                Some("innodb_read_only=1"),
            ),
            // MariaDB 12's read_only enum: every value but OFF is read-only.
            (
                &[("read_only", "NO_LOCK_NO_ADMIN")],
                &plain,
                Some("read_only=NO_LOCK_NO_ADMIN"),
            ),
            (&[("partial_revokes", "ON")], &plain, None),
            (
                &[("partial_revokes", "ON"), ("read_only", "OFF")],
                &restricted,
                Some("REVOKE INSERT ON `payroll`.* FROM `admin`@`%`"),
            ),
            // Partial revokes are only printed, and only inherited, with the variable on.
            (&[("partial_revokes", "OFF")], &restricted, None),
        ];
        for (pairs, grants, expected) in cases {
            let found = refusal("db.example", "'admin'@'%'", &vars(pairs), grants);
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
}
