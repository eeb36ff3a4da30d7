//! The application user's grants as `SHOW GRANTS` prints them, read for the
//! checks that judge them (`db.appuser.select`, `db.appuser.least-privilege`,
//! `secret.rotation.admin-linked`).
//!
//! The rows are read over a connection made with the secret's own credentials,
//! so no admin access is needed. Parsing them is a pure function, tested on
//! MySQL and MariaDB output, including database-name wildcards and escapes
//! (`my\_db`), column-level grants (not enough), role grants, and MySQL 8's
//! partial revokes. The collector adds the rows of the session's active
//! (default) roles, so SELECT held through a role counts.

use super::context::Context;
use crate::finding::{CheckDefinition, Finding};
use crate::inventory::Collected;

/// A grant row with its password hash (MariaDB prints it) replaced by `<redacted>`.
pub fn redact_grant(row: &str) -> String {
    let mut out = String::with_capacity(row.len());
    let mut rest = row;
    loop {
        let Some(at) = rest.to_ascii_uppercase().find("IDENTIFIED ") else {
            out.push_str(rest);
            return out;
        };
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        let Some(open) = after.find('\'') else {
            out.push_str(after);
            return out;
        };
        out.push_str(&after[..=open]);
        // Skip to the closing quote ('' is an escaped quote).
        let bytes = after.as_bytes();
        let mut index = open + 1;
        while index < bytes.len() {
            if bytes[index] == b'\'' {
                if bytes.get(index + 1) == Some(&b'\'') {
                    index += 2;
                    continue;
                }
                break;
            }
            index += 1;
        }
        out.push_str("<redacted>");
        if index >= bytes.len() {
            return out;
        }
        out.push('\'');
        rest = &after[index + 1..];
    }
}

/// Splits a privilege list at top-level commas (`SELECT (a, b), INSERT`).
pub(super) fn privileges(list: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0_i32;
    let mut current = String::new();
    for c in list.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(current.trim().to_ascii_uppercase());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_ascii_uppercase());
    }
    parts
}

/// One `GRANT <privileges> ON <object> TO ...` row, split.
pub(super) struct GrantRow<'a> {
    /// The privileges, upper case, column lists kept (``UPDATE (`a`)``).
    pub privileges: Vec<String>,
    /// The object as the row prints it (`*.*`, `` `db`.* ``, ``PROCEDURE `db`.`p` ``).
    pub object: &'a str,
    /// `WITH GRANT OPTION`.
    pub grant_option: bool,
}

/// The row split, or `None` for a row that grants no privilege: a `REVOKE` row
/// (partial revokes) or a role granted (`GRANT role TO user`, no `ON`).
pub(super) fn grant_row(row: &str) -> Option<GrantRow<'_>> {
    let trimmed = row.trim();
    let body = trimmed
        .get(..6)
        .filter(|start| start.eq_ignore_ascii_case("GRANT "))
        .map(|_| &trimmed[6..])?;
    let upper = body.to_ascii_uppercase();
    let on = upper.find(" ON ")?;
    let object = match upper[on + 4..].find(" TO ") {
        Some(to) => &body[on + 4..on + 4 + to],
        None => &body[on + 4..],
    }
    .trim();
    Some(GrantRow {
        privileges: privileges(&body[..on]),
        object,
        grant_option: upper.contains(" WITH GRANT OPTION"),
    })
}

/// A privilege's name without its column list: ``UPDATE (`authentication_string`)``
/// is UPDATE on those columns of the table (MySQL manual, GRANT: "Column
/// Privileges").
pub(super) fn name_of(privilege: &str) -> &str {
    privilege.split('(').next().unwrap_or(privilege).trim()
}

/// Privileges RDS's master user never holds (Amazon RDS User Guide, "Master user
/// account privileges": no SUPER, FILE, SHUTDOWN or SYSTEM_USER; the rotator
/// refuses on the same list before any write).
const NEVER_HELD_BY_RDS_MASTER: &[&str] = &["SUPER", "FILE", "SHUTDOWN", "SYSTEM_USER"];

/// What `rows` give that RDS's master user cannot give again, one
/// `<privileges> ON <object>` each: "To use GRANT, you must have the GRANT OPTION
/// privilege, and you must have the privileges that you are granting" (MariaDB
/// knowledge base, "GRANT"; MySQL reference manual, "GRANT Statement"), and
/// `ALL PRIVILEGES ON *.*` includes SUPER, FILE and SHUTDOWN.
pub(crate) fn beyond_rds_master(rows: &[String]) -> Vec<String> {
    rows.iter()
        .filter_map(|row| grant_row(row))
        .filter_map(|grant| {
            let lacking: Vec<&str> = grant
                .privileges
                .iter()
                .map(|p| name_of(p))
                .filter(|p| NEVER_HELD_BY_RDS_MASTER.contains(p))
                .collect();
            let all = grant.object == "*.*"
                && grant
                    .privileges
                    .iter()
                    .any(|p| p == "ALL" || p == "ALL PRIVILEGES");
            if all {
                Some(format!(
                    "ALL PRIVILEGES (SUPER, FILE, SHUTDOWN among them) ON {}",
                    grant.object
                ))
            } else {
                (!lacking.is_empty()).then(|| format!("{} ON {}", lacking.join(", "), grant.object))
            }
        })
        .collect()
}

/// An identifier without its backquotes.
pub(super) fn unquote(identifier: &str) -> String {
    let trimmed = identifier.trim();
    // Backticks, or `"` under ANSI_QUOTES (an inventory read from a session in that
    // mode): each doubles itself inside (MySQL reference manual, "Schema Object Names").
    ['`', '"']
        .iter()
        .find_map(|quote| {
            let inner = trimmed.strip_prefix(*quote)?.strip_suffix(*quote)?;
            Some(inner.replace(&format!("{quote}{quote}"), &quote.to_string()))
        })
        .unwrap_or_else(|| trimmed.to_owned())
}

/// MySQL's `LIKE` matching of a grant's database pattern: `%` any run, `_` any
/// character, `\` escapes (a trailing `\` is itself).
///
/// Greedy, backing up only to the last `%`: O(pattern x name) at worst. The pattern
/// is the audited server's, so a crafted one (`%%%...!`) must not stall the audit,
/// as plain recursion (exponential in the number of `%`) would. The rotator has the
/// same matcher (`rotator::grantable`); the two crates share no code yet.
pub(super) fn like(pattern: &str, name: &str) -> bool {
    enum Token {
        Any,
        One,
        Literal(char),
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '%' => Token::Any,
            '_' => Token::One,
            '\\' => Token::Literal(chars.next().unwrap_or('\\')),
            c => Token::Literal(c),
        });
    }
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    let mut back: Option<(usize, usize)> = None;
    while n < name.len() {
        match tokens.get(p) {
            Some(Token::One) => (p, n) = (p + 1, n + 1),
            Some(Token::Literal(c)) if *c == name[n] => (p, n) = (p + 1, n + 1),
            Some(Token::Any) => {
                back = Some((p, n));
                p += 1;
            }
            _ => match back {
                Some((star, mark)) => {
                    back = Some((star, mark + 1));
                    (p, n) = (star + 1, mark + 1);
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|token| matches!(token, Token::Any))
}

/// Databases of the server itself; SELECT on one of them is not access to
/// application data.
const SYSTEM_DATABASES: &[&str] = &["mysql", "information_schema", "performance_schema", "sys"];

/// Whether `SHOW GRANTS` rows allow SELECT on all of `dbname` (or, without a
/// database name, on some database other than the system ones).
pub fn grants_allow_select(rows: &[String], dbname: Option<&str>) -> bool {
    select_grant(rows, dbname).is_some()
}

/// The object of the first grant that allows SELECT on all of `dbname` (`*.*`
/// or `` `db`.* ``); without a database name, a grant on `*.*` or on any database
/// pattern that is not only a system database (a secret made in the console often
/// has no `dbname`).
pub fn select_grant(rows: &[String], dbname: Option<&str>) -> Option<String> {
    // MySQL 8 with `partial_revokes` lists database-level exceptions to a global
    // grant as `REVOKE SELECT ON `db`.* FROM ...` rows (MySQL reference manual,
    // "Privilege Restriction Using Partial Revokes"): *.* then does not cover db.
    let revoked = |database: &str| {
        rows.iter().any(|row| {
            let trimmed = row.trim();
            let Some(body) = trimmed
                .strip_prefix("REVOKE ")
                .or_else(|| trimmed.strip_prefix("revoke "))
            else {
                return false;
            };
            let upper = body.to_ascii_uppercase();
            let Some(on) = upper.find(" ON ") else {
                return false;
            };
            let list = privileges(&body[..on]);
            let object = &body[on + 4..];
            let object = match object.to_ascii_uppercase().find(" FROM ") {
                Some(from) => &object[..from],
                None => object,
            };
            list.iter()
                .any(|p| p == "SELECT" || p == "ALL" || p == "ALL PRIVILEGES")
                && object
                    .trim()
                    .strip_suffix(".*")
                    .is_some_and(|db| unquote(db) == database)
        })
    };
    rows.iter().find_map(|row| {
        let body = row
            .trim()
            .strip_prefix("GRANT ")
            .or_else(|| row.trim().strip_prefix("grant "))?;
        let upper = body.to_ascii_uppercase();
        let on = upper.find(" ON ")?; // a role grant has no ON
        let list = privileges(&body[..on]);
        if !list
            .iter()
            .any(|p| p == "SELECT" || p == "ALL" || p == "ALL PRIVILEGES")
        {
            return None;
        }
        let object_and_rest = &body[on + 4..];
        let object = match object_and_rest.to_ascii_uppercase().find(" TO ") {
            Some(to) => &object_and_rest[..to],
            None => object_and_rest,
        };
        let object = object.trim();
        if object.to_ascii_uppercase().starts_with("TABLE ") {
            return None;
        }
        if object == "*.*" {
            return match dbname {
                Some(dbname) if revoked(dbname) => None,
                _ => Some(object.to_owned()),
            };
        }
        let database = object.strip_suffix(".*")?; // table level is not enough
        let pattern = unquote(database);
        let covers = match dbname {
            Some(dbname) => like(&pattern, dbname),
            // A pattern without `%` that matches a system database is that database
            // (`performance_schema`'s `_` is a one-character wildcard).
            None => !SYSTEM_DATABASES
                .iter()
                .any(|system| like(&pattern, system) && !pattern.contains('%')),
        };
        covers.then(|| object.to_owned())
    })
}

/// The application user's grants as the audit read them, for the checks that
/// judge them.
pub(super) struct AppuserGrants<'a> {
    pub user: String,
    pub dbname: Option<String>,
    pub rows: &'a [String],
}

/// The grants of `secret`'s user, or the finding that says why they are not
/// there: SKIP without `--read-secrets`, the failed call's ERROR otherwise.
pub(super) fn appuser_grants<'a>(
    context: &Context<'a>,
    def: &CheckDefinition,
    secret: &crate::inventory::Secret,
) -> Result<AppuserGrants<'a>, Box<Finding>> {
    let resource = &secret.arn;
    let name = &secret.name;
    if !context.scope.read_secrets {
        return Err(Box::new(context.skip(def, resource, "connects with the secret's credentials; run with --read-secrets (and --db-endpoint HOST:PORT through a tunnel)")));
    }
    let region = context.region;
    let value = region
        .secret_values
        .iter()
        .find(|r| &r.secret_arn == resource);
    let facts = value.and_then(|r| r.facts.ok());
    let user = facts
        .and_then(|f| f.username.clone())
        .unwrap_or_else(|| "(unknown user)".to_owned());
    let dbname = facts.and_then(|f| f.dbname.clone());
    let Some(record) = region.grants.iter().find(|g| &g.secret_arn == resource) else {
        // No login because the value could not be read: that call's ERROR, not a SKIP.
        if let Some(value) = value
            && let Some(finding) = context.missing(def, resource, &value.facts)
        {
            return Err(Box::new(finding));
        }
        return Err(Box::new(context.skip(
            def,
            resource,
            &format!("the grants of secret {name}'s user were not read"),
        )));
    };
    match &record.rows {
        Collected::Ok(rows) => Ok(AppuserGrants { user, dbname, rows }),
        other => Err(Box::new(
            context
                .missing(def, resource, other)
                .unwrap_or_else(|| context.skip(def, resource, "not read")),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn names_are_unquoted_from_backticks_or_ansi_double_quotes() {
        for (quoted, name) in [
            ("`mysql`", "mysql"),
            ("\"mysql\"", "mysql"),
            ("`a``b`", "a`b"),
            ("\"a\"\"b\"", "a\"b"),
            ("`a\"b`", "a\"b"),
            ("mysql", "mysql"),
            ("\"", "\""),
            (" `%` ", "%"),
        ] {
            assert_eq!(unquote(quoted), name, "{quoted}");
        }
    }

    #[test]
    fn like_matches_as_mysql_reads_grant_patterns_and_in_linear_time() {
        for (pattern, name, expected) in [
            ("%", "", true),
            ("_", "", false),
            ("tutorial", "tutorial", true),
            ("tut%", "tutorial", true),
            ("tut_rial", "tutorial", true),
            ("tut\\_rial", "tutorial", false),
            ("my\\_db", "my_db", true),
            ("%%a", "ba", true),
            ("a%b", "axxc", false),
            ("tail\\", "tail\\", true),
        ] {
            assert_eq!(like(pattern, name), expected, "{pattern} ~ {name}");
        }
        // A crafted grant: recursion would try about 10^17 splits.
        let crafted = format!("{}!", "%".repeat(62));
        assert!(!like(&crafted, "performance_schema"));
    }

    #[test]
    #[allow(clippy::too_many_lines)] // a table of cases
    fn select_is_found_globally_or_on_the_database() {
        let cases: Vec<(&str, &[&str], Option<&str>, bool)> = vec![
            (
                "db-level select",
                &[
                    "GRANT USAGE ON *.* TO `appuser`@`%`",
                    "GRANT SELECT, INSERT ON `tutorial`.* TO `appuser`@`%`",
                ],
                Some("tutorial"),
                true,
            ),
            (
                "global select",
                &["GRANT SELECT ON *.* TO 'appuser'@'%'"],
                Some("tutorial"),
                true,
            ),
            (
                "global select, no dbname",
                &["GRANT SELECT ON *.* TO 'appuser'@'%'"],
                None,
                true,
            ),
            (
                "db-level, no dbname: any application database",
                &["GRANT SELECT ON `tutorial`.* TO 'appuser'@'%'"],
                None,
                true,
            ),
            (
                "no dbname: a system database is not enough",
                &[
                    "GRANT SELECT ON `mysql`.* TO 'appuser'@'%'",
                    "GRANT SELECT ON `performance_schema`.* TO 'appuser'@'%'",
                ],
                None,
                false,
            ),
            (
                "no dbname: a wildcard database covers application databases",
                &["GRANT SELECT ON `app%`.* TO 'appuser'@'%'"],
                None,
                true,
            ),
            (
                "no dbname: table level is not enough",
                &["GRANT SELECT ON `tutorial`.`t` TO 'appuser'@'%'"],
                None,
                false,
            ),
            (
                "all privileges",
                &["GRANT ALL PRIVILEGES ON `tutorial`.* TO `appuser`@`%` WITH GRANT OPTION"],
                Some("tutorial"),
                true,
            ),
            (
                "usage only",
                &["GRANT USAGE ON *.* TO `appuser`@`%` IDENTIFIED BY PASSWORD '*ABC'"],
                Some("tutorial"),
                false,
            ),
            (
                "other database",
                &["GRANT SELECT ON `other`.* TO `appuser`@`%`"],
                Some("tutorial"),
                false,
            ),
            (
                "table level only",
                &["GRANT SELECT ON `tutorial`.`t` TO `appuser`@`%`"],
                Some("tutorial"),
                false,
            ),
            (
                "column level only",
                &["GRANT SELECT (`a`, `b`) ON `tutorial`.`t` TO `appuser`@`%`"],
                Some("tutorial"),
                false,
            ),
            (
                "escaped underscore",
                &["GRANT SELECT ON `my\\_db`.* TO `appuser`@`%`"],
                Some("my_db"),
                true,
            ),
            (
                "escaped underscore is literal",
                &["GRANT SELECT ON `my\\_db`.* TO `appuser`@`%`"],
                Some("myxdb"),
                false,
            ),
            (
                "wildcard database",
                &["GRANT SELECT ON `app%`.* TO `appuser`@`%`"],
                Some("app_data"),
                true,
            ),
            (
                "insert, update only",
                &["GRANT INSERT, UPDATE ON `tutorial`.* TO `appuser`@`%`"],
                Some("tutorial"),
                false,
            ),
            (
                "role grant",
                &["GRANT `reader`@`%` TO `appuser`@`%`"],
                Some("tutorial"),
                false,
            ),
            (
                "global select with a partial revoke on the database",
                &[
                    "GRANT SELECT ON *.* TO `appuser`@`%`",
                    "REVOKE SELECT ON `tutorial`.* FROM `appuser`@`%`",
                ],
                Some("tutorial"),
                false,
            ),
            (
                "global select with a partial revoke elsewhere",
                &[
                    "GRANT SELECT ON *.* TO `appuser`@`%`",
                    "REVOKE SELECT ON `mysql`.* FROM `appuser`@`%`",
                ],
                Some("tutorial"),
                true,
            ),
            (
                "select through a role, as SHOW GRANTS ... USING lists it",
                &[
                    "GRANT USAGE ON *.* TO `appuser`@`%`",
                    "GRANT `reader`@`%` TO `appuser`@`%`",
                    "GRANT SELECT ON `tutorial`.* TO `appuser`@`%`",
                ],
                Some("tutorial"),
                true,
            ),
            (
                "select among many",
                &["GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON *.* TO `appuser`@`%`"],
                Some("tutorial"),
                true,
            ),
        ];
        for (name, grant_rows, dbname, expected) in cases {
            assert_eq!(
                grants_allow_select(&show_grants(grant_rows), dbname),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn password_hashes_are_redacted() {
        assert_eq!(
            redact_grant(
                "GRANT USAGE ON *.* TO `appuser`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'"
            ),
            "GRANT USAGE ON *.* TO `appuser`@`%` IDENTIFIED BY PASSWORD '<redacted>'"
        );
        assert_eq!(
            redact_grant(
                "GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED VIA mysql_native_password USING '*AB''C' OR unix_socket"
            ),
            "GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED VIA mysql_native_password USING '<redacted>' OR unix_socket"
        );
        assert_eq!(
            redact_grant("GRANT SELECT ON *.* TO `u`@`%`"),
            "GRANT SELECT ON *.* TO `u`@`%`"
        );
        assert_eq!(
            redact_grant("x IDENTIFIED BY PASSWORD '*unterminated"),
            "x IDENTIFIED BY PASSWORD '<redacted>"
        );
    }

    #[test]
    fn what_the_rds_master_cannot_grant_is_named() {
        let table: &[(&str, &[&str])] = &[
            ("GRANT SELECT, INSERT ON `tutorial`.* TO `appuser`@`%`", &[]),
            ("GRANT PROCESS, RELOAD ON *.* TO `appuser`@`%`", &[]),
            (
                "GRANT FILE, PROCESS ON *.* TO `appuser`@`%`",
                &["FILE ON *.*"],
            ),
            (
                "grant super, shutdown on *.* to 'appuser'@'%'",
                &["SUPER, SHUTDOWN ON *.*"],
            ),
            (
                "GRANT SYSTEM_USER ON *.* TO `appuser`@`%`",
                &["SYSTEM_USER ON *.*"],
            ),
            (
                "GRANT ALL PRIVILEGES ON *.* TO `appuser`@`%`",
                &["ALL PRIVILEGES (SUPER, FILE, SHUTDOWN among them) ON *.*"],
            ),
            ("GRANT ALL PRIVILEGES ON `tutorial`.* TO `appuser`@`%`", &[]),
            ("GRANT `dba`@`%` TO `appuser`@`%`", &[]),
            ("REVOKE FILE ON *.* FROM `appuser`@`%`", &[]),
        ];
        for (row, expected) in table {
            assert_eq!(beyond_rds_master(&[(*row).to_owned()]), *expected, "{row}");
        }
    }
}
