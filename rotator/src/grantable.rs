//! Whether the admin may give the clone what the current user holds, decided from
//! `SHOW GRANTS` text before the first write.
//!
//! "To use GRANT, you must have the GRANT OPTION privilege, and you must have the
//! privileges that you are granting"; REVOKE asks the same (MariaDB knowledge base,
//! "GRANT" and "REVOKE"; MySQL reference manual, "GRANT Statement"). RDS's master user
//! holds a fixed list (RDS user guide, "Master user account privileges": no SUPER, FILE,
//! SHUTDOWN, SYSTEM_USER...), so an application user given more by someone else, or an
//! admin secret naming a lesser account, would make `setSecret` fail half-way: the clone
//! created, some of its grants copied. Here the admin's own grants are read, and every
//! statement of the [`plan`](crate::grants::plan) that gives or takes a privilege is
//! checked against them first; what the admin lacks is named with the fix.
//!
//! The model is the servers' check: each privilege a statement needs (and GRANT
//! OPTION) must be held at the statement's level or one above it (global, database,
//! table; a column privilege also from the same columns of the same table; a routine
//! privilege from the same routine). `ALL [PRIVILEGES]` is expanded to what it means
//! at its level on the server's flavor and version. Database names in database-level
//! grants are `LIKE` patterns. A MySQL partial revoke of the admin's (`REVOKE ... ON
//! db.* FROM admin`) takes the privilege away below the global level. `PROXY` rows and
//! role grants are left to the statements themselves (the server's error names them).
//!
//! Everything here is pure: rows in, shortfalls out.

use std::collections::BTreeSet;
use std::fmt;

use crate::grants::{GrantError, GrantRow, Planned, parse_row, unquote};
use crate::version::{Flavor, ServerVersion};

/// Where a grant applies.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Level {
    Global,
    /// A database name as the grant tables hold it: a `LIKE` pattern.
    Database(String),
    Table(String, String),
    /// `PROCEDURE`, `FUNCTION`, `PACKAGE`, `PACKAGE BODY`, with database and name.
    Routine(String, String, String),
}

impl Level {
    fn database(&self) -> Option<&str> {
        match self {
            Self::Global => None,
            Self::Database(db) | Self::Table(db, _) | Self::Routine(_, db, _) => Some(db),
        }
    }
}

/// One privilege of a row, its name in upper case with single spaces, and the columns
/// of a column privilege (`SELECT (`a`, `b`)`), lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    name: String,
    /// The name as the row printed it, for messages.
    shown: String,
    columns: Option<BTreeSet<String>>,
}

/// A privilege row, understood.
#[derive(Debug, Clone)]
struct Held {
    /// The object as the row printed it, for messages.
    object: String,
    level: Level,
    items: Vec<Item>,
    all: bool,
    grant_option: bool,
    revoke: bool,
}

/// Names that mean one privilege; the left one is read as the right one.
const ALIASES: &[(&str, &str)] = &[
    ("ALL", "ALL PRIVILEGES"),
    // MariaDB 10.5+: REPLICATION CLIENT is BINLOG MONITOR's old name (MariaDB knowledge
    // base, "GRANT", global privileges); MySQL prints REPLICATION CLIENT on both sides.
    ("REPLICATION CLIENT", "BINLOG MONITOR"),
    ("REPLICA MONITOR", "SLAVE MONITOR"),
    ("REPLICATION REPLICA", "REPLICATION SLAVE"),
    ("REPLICATION REPLICA ADMIN", "REPLICATION SLAVE ADMIN"),
];

fn normalize(name: &str) -> String {
    let upper = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase();
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == upper)
        .map_or(upper, |(_, canonical)| (*canonical).to_owned())
}

/// Splits `SELECT (`a`, `b`), UPDATE` / `BACKUP_ADMIN,BINLOG_ADMIN` into items.
fn parse_items(privileges: &str) -> Vec<Item> {
    let mut items = Vec::new();
    for piece in split_top(privileges) {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        let (name, columns) = match piece.find('(') {
            Some(open) => {
                let inner = piece[open + 1..].trim_end().trim_end_matches(')');
                let columns = split_top(inner)
                    .iter()
                    .map(|c| unquote(c.trim()).to_lowercase())
                    .collect();
                (&piece[..open], Some(columns))
            }
            None => (piece, None),
        };
        items.push(Item {
            name: normalize(name),
            shown: name.split_whitespace().collect::<Vec<_>>().join(" "),
            columns,
        });
    }
    items
}

/// Splits at the commas outside quotes and parentheses.
fn split_top(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut depth = 0_i32;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
        } else {
            match c {
                '`' | '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    pieces.push(std::mem::take(&mut current));
                    continue;
                }
                _ => {}
            }
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        pieces.push(current);
    }
    pieces
}

/// Reads one name of an object (`` `a``b` ``, `'x'`, `bare`, `*`) from the start of `text`;
/// returns it unquoted and the rest.
fn take_name(text: &str) -> Option<(String, &str)> {
    let text = text.trim_start();
    let first = text.chars().next()?;
    if matches!(first, '`' | '\'' | '"') {
        let bytes = text.as_bytes();
        let quote = bytes[0];
        let mut i = 1;
        while i < bytes.len() {
            if bytes[i] == b'\\' && quote != b'`' {
                i += 2;
            } else if bytes[i] == quote {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return Some((unquote(&text[..=i]), &text[i + 1..]));
                }
            } else {
                i += 1;
            }
        }
        None
    } else {
        let end = text.find('.').unwrap_or(text.len());
        Some((text[..end].trim().to_owned(), &text[end..]))
    }
}

/// Parses the object of a privilege row: `*.*`, `` `db`.* ``, `` `db`.`t` ``,
/// `PROCEDURE `db`.`r``; `None` for what is no such level (`PROXY`'s `user@host`).
fn parse_level(object: &str) -> Option<Level> {
    let object = object.trim();
    let upper = object.to_ascii_uppercase();
    let (kind, rest) = [
        "PACKAGE BODY ",
        "PROCEDURE ",
        "FUNCTION ",
        "PACKAGE ",
        "TABLE ",
    ]
    .iter()
    .find(|k| upper.starts_with(**k))
    .map_or((None, object), |k| {
        (Some(k.trim().to_owned()), &object[k.len()..])
    });
    if rest.trim() == "*.*" && kind.is_none() {
        return Some(Level::Global);
    }
    let (first, rest) = take_name(rest)?;
    let rest = rest.trim_start().strip_prefix('.')?;
    let star = rest.trim() == "*";
    let (second, rest) = take_name(rest)?;
    if !rest.trim().is_empty() {
        return None;
    }
    match kind.as_deref() {
        Some("PROCEDURE" | "FUNCTION" | "PACKAGE" | "PACKAGE BODY") => {
            Some(Level::Routine(kind?, first, second.to_lowercase()))
        }
        _ if star => Some(Level::Database(first)),
        _ => Some(Level::Table(first, second)),
    }
}

/// `LIKE` with `%`, `_` and backslash escapes, as database-level grants match names.
fn like(pattern: &str, text: &str) -> bool {
    enum Token {
        Any,
        One,
        Literal(char),
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '%' => Token::Any,
            '_' => Token::One,
            '\\' => Token::Literal(chars.next().unwrap_or('\\')),
            c => Token::Literal(c),
        });
    }
    // Greedy matching that backs up only to the last `%`: O(pattern x text) at worst,
    // where plain recursion is exponential in the number of `%` (a grant's name is
    // the server's, not ours to trust).
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut back: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::One) => (p, t) = (p + 1, t + 1),
            Some(Token::Literal(c)) if *c == text[t] => (p, t) = (p + 1, t + 1),
            Some(Token::Any) => {
                back = Some((p, t));
                p += 1;
            }
            _ => match back {
                Some((star, mark)) => {
                    back = Some((star, mark + 1));
                    (p, t) = (star + 1, mark + 1);
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|token| matches!(token, Token::Any))
}

/// A database name of a grant with its escapes undone (`my\_db` is `my_db`).
fn unescape(name: &str) -> String {
    let mut out = String::new();
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a grant at `held` reaches the object at `wanted`.
fn covers(held: &Level, wanted: &Level) -> bool {
    match (held, wanted) {
        (Level::Global, _) => true,
        (Level::Database(pattern), wanted) => wanted
            .database()
            .is_some_and(|db| pattern == db || like(pattern, &unescape(db))),
        (Level::Table(db, table), Level::Table(want_db, want_table)) => {
            db == want_db && table == want_table
        }
        (Level::Routine(kind, db, name), Level::Routine(want_kind, want_db, want_name)) => {
            kind == want_kind && db == want_db && name == want_name
        }
        _ => false,
    }
}

fn at_least(version: &ServerVersion, flavor: Flavor, major: u32, minor: u32, patch: u32) -> bool {
    version.flavor == flavor
        && (version.major, version.minor, version.patch) >= (major, minor, patch)
}

/// What `ALL PRIVILEGES` gives at `level` on this server (MariaDB knowledge base, "GRANT":
/// global, database, table and function privileges; MySQL reference manual, "Privileges
/// Provided by MySQL", static privileges: MySQL 8 prints its global ones one by one).
fn all_privileges(level: &Level, version: &ServerVersion) -> Vec<&'static str> {
    const TABLE: &[&str] = &[
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "CREATE",
        "DROP",
        "REFERENCES",
        "INDEX",
        "ALTER",
        "CREATE VIEW",
        "SHOW VIEW",
        "TRIGGER",
    ];
    const DATABASE_EXTRA: &[&str] = &[
        "CREATE TEMPORARY TABLES",
        "LOCK TABLES",
        "EXECUTE",
        "CREATE ROUTINE",
        "ALTER ROUTINE",
        "EVENT",
    ];
    const GLOBAL_EXTRA: &[&str] = &[
        "RELOAD",
        "SHUTDOWN",
        "PROCESS",
        "FILE",
        "SHOW DATABASES",
        "SUPER",
        "REPLICATION SLAVE",
        "BINLOG MONITOR",
        "CREATE USER",
        "CREATE TABLESPACE",
    ];
    let history = at_least(version, Flavor::MariaDb, 10, 3, 4);
    let show_create_routine = at_least(version, Flavor::MariaDb, 11, 3, 0);
    let mut names: Vec<&'static str> = Vec::new();
    match level {
        Level::Routine(..) => {
            names.extend(["EXECUTE", "ALTER ROUTINE"]);
            if show_create_routine {
                names.push("SHOW CREATE ROUTINE");
            }
            return names;
        }
        Level::Table(..) => names.extend(TABLE),
        Level::Database(_) => names.extend(TABLE.iter().chain(DATABASE_EXTRA)),
        Level::Global => names.extend(TABLE.iter().chain(DATABASE_EXTRA).chain(GLOBAL_EXTRA)),
    }
    if history {
        names.push("DELETE HISTORY");
    }
    if show_create_routine && !matches!(level, Level::Table(..)) {
        names.push("SHOW CREATE ROUTINE");
    }
    if matches!(level, Level::Global) {
        if at_least(version, Flavor::MariaDb, 10, 5, 2) {
            names.extend([
                "SET USER",
                "FEDERATED ADMIN",
                "CONNECTION ADMIN",
                "READ_ONLY ADMIN",
                "REPLICATION SLAVE ADMIN",
                "REPLICATION MASTER ADMIN",
                "BINLOG ADMIN",
                "BINLOG REPLAY",
            ]);
        }
        if at_least(version, Flavor::MariaDb, 10, 5, 9) {
            names.push("SLAVE MONITOR");
        }
        if at_least(version, Flavor::MySql, 8, 0, 0) {
            names.extend(["CREATE ROLE", "DROP ROLE"]);
        }
    }
    names
}

fn held_from(row: &GrantRow) -> Option<Held> {
    let GrantRow::Privileges {
        revoke,
        privileges,
        object,
        grant_option,
    } = row
    else {
        return None;
    };
    let level = parse_level(object)?;
    let items = parse_items(privileges);
    let all = items.iter().any(|i| i.name == "ALL PRIVILEGES");
    Some(Held {
        object: object.trim().to_owned(),
        level,
        items: items
            .into_iter()
            .filter(|i| i.name != "USAGE" && i.name != "ALL PRIVILEGES" && i.name != "PROXY")
            .collect(),
        all,
        grant_option: *grant_option,
        revoke: *revoke,
    })
}

/// The privileges of the admin's session, from its `SHOW GRANTS` rows (MariaDB: plain
/// `SHOW GRANTS`, which adds the rows of the current role; MySQL: `SHOW GRANTS FOR
/// <admin> USING <active roles>`, which merges the roles' privileges into the rows).
#[derive(Debug, Clone, Default)]
pub struct AdminPrivileges {
    rows: Vec<Held>,
}

impl AdminPrivileges {
    /// Reads every privilege row, whatever its grantee (the admin or one of its active
    /// roles); role grants and default roles give nothing by themselves and are skipped.
    pub fn parse(rows: &[String]) -> Result<Self, GrantError> {
        let mut held = Vec::new();
        for row in rows {
            let parsed = parse_row(row)?;
            if let Some(h) = held_from(&parsed.grant) {
                held.push(h);
            }
        }
        Ok(Self { rows: held })
    }

    /// Whether the admin holds `name` (or, with `columns`, those columns) at `level`.
    fn holds(&self, name: &str, columns: Option<&BTreeSet<String>>, level: &Level) -> bool {
        let restricted = level.database().is_some()
            && self.rows.iter().any(|r| {
                r.revoke && covers(&r.level, level) && r.items.iter().any(|i| i.name == name)
            });
        if restricted {
            return false;
        }
        self.rows.iter().filter(|r| !r.revoke).any(|r| {
            if !covers(&r.level, level) {
                return false;
            }
            if name == "GRANT OPTION" {
                return r.grant_option;
            }
            if r.all {
                return true;
            }
            r.items.iter().any(|i| {
                i.name == name
                    && match (&i.columns, columns) {
                        (None, _) => true,
                        (Some(have), Some(want)) => r.level == *level && want.is_subset(have),
                        (Some(_), None) => false,
                    }
            })
        })
    }
}

impl AdminPrivileges {
    /// The admin's partial revokes (`REVOKE <privileges> ON `db`.* FROM admin`) that a
    /// clone of a user holding `user_rows` would inherit, each as `REVOKE <the
    /// privileges concerned> ON <db>`: under `partial_revokes=ON`, "any restriction the
    /// grantor has ... is inherited by the grantee" of a global grant (MySQL reference
    /// manual, "Privilege Restriction Using Partial Revokes"), so the admin's GRANT of a
    /// global privilege it has revoked on a schema gives the clone that restriction too,
    /// and the clone differs from the user. Only the privileges the user holds globally
    /// and has not revoked on the same schema itself count: a restriction on
    /// `mysql`.* of a privilege the user lacks reaches nobody. A user's grants at the
    /// restricted schema itself are not inherited restrictions but grants the admin
    /// cannot make, which [`shortfalls`] finds.
    pub fn inherited_revokes(&self, user_rows: &[GrantRow]) -> Vec<String> {
        let user: Vec<Held> = user_rows.iter().filter_map(held_from).collect();
        let global = |name: &str| {
            user.iter().any(|h| {
                !h.revoke
                    && h.level == Level::Global
                    && (h.all
                        || h.items
                            .iter()
                            .any(|i| i.name == name && i.columns.is_none()))
            })
        };
        let revoked_too = |level: &Level, name: &str| {
            user.iter().any(|h| {
                h.revoke && h.level == *level && (h.all || h.items.iter().any(|i| i.name == name))
            })
        };
        let mut inherited = Vec::new();
        for restriction in self.rows.iter().filter(|r| r.revoke) {
            let names: Vec<&str> = restriction
                .items
                .iter()
                .filter(|i| global(&i.name) && !revoked_too(&restriction.level, &i.name))
                .map(|i| i.shown.as_str())
                .collect();
            if !names.is_empty() {
                inherited.push(format!(
                    "REVOKE {} ON {}",
                    names.join(", "),
                    restriction.object
                ));
            }
        }
        inherited
    }
}

/// A statement of the plan the admin may not run: the row, what it lacks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    /// The row to give (the current user holds it) or to take away (the clone holds it
    /// and the current user does not).
    pub row: GrantRow,
    pub gives: bool,
    /// What the admin lacks, as the row names it (`GRANT OPTION` included).
    pub missing: Vec<String>,
}

/// The statements of `planned` (privilege rows only) the admin cannot run, and why.
pub fn shortfalls(
    planned: &[Planned],
    admin: &AdminPrivileges,
    version: &ServerVersion,
) -> Vec<Shortfall> {
    let mut found = Vec::new();
    for step in planned {
        let Some(held) = held_from(&step.row) else {
            continue;
        };
        // A partial revoke (`REVOKE ... ON db.*` under a global grant) is a restriction,
        // not a privilege, and the grantor's own restrictions are inherited by the
        // grantee ("Privilege Restriction Using Partial Revokes", MySQL manual 8.2.12):
        // judging it here would refuse, for good, copies the server completes. The
        // server decides those rows.
        if held.revoke
            && matches!(&step.row, GrantRow::Privileges { object, .. } if object != "*.*")
            && step.applies
        {
            continue;
        }
        let mut needed: Vec<(String, String, Option<BTreeSet<String>>)> = held
            .items
            .iter()
            .map(|i| (i.name.clone(), i.shown.clone(), i.columns.clone()))
            .collect();
        if held.all {
            for name in all_privileges(&held.level, version) {
                let name = normalize(name);
                if !needed.iter().any(|(n, ..)| *n == name) {
                    needed.push((name.clone(), name, None));
                }
            }
        }
        let row_is_only_usage = needed.is_empty() && !held.grant_option;
        if row_is_only_usage {
            continue;
        }
        let mut missing: Vec<String> = needed
            .iter()
            .filter(|(name, _, columns)| !admin.holds(name, columns.as_ref(), &held.level))
            .map(|(_, shown, _)| shown.clone())
            .collect();
        if !admin.holds("GRANT OPTION", None, &held.level) {
            missing.push("GRANT OPTION".to_owned());
        }
        if !missing.is_empty() {
            found.push(Shortfall {
                row: step.row.clone(),
                gives: step.applies,
                missing,
            });
        }
    }
    found
}

/// Privileges RDS's master user never holds (RDS user guide, "Master user account
/// privileges": no SUPER, FILE, SHUTDOWN or SYSTEM_USER on any engine version).
const NEVER_ON_RDS: &[&str] = &["SUPER", "FILE", "SHUTDOWN", "SYSTEM_USER"];

/// The refusal for `shortfalls`: who holds what the admin cannot grant, and the fix.
#[derive(Debug)]
pub struct Refusal<'a> {
    pub user: &'a str,
    pub clone: &'a str,
    pub admin: &'a str,
    pub shortfalls: &'a [Shortfall],
}

impl fmt::Display for Refusal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, shortfall) in self.shortfalls.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            let (holder, verb) = if shortfall.gives {
                (self.user, "grant")
            } else {
                (self.clone, "revoke")
            };
            let GrantRow::Privileges {
                privileges, object, ..
            } = &shortfall.row
            else {
                continue;
            };
            let lacked: Vec<&str> = shortfall
                .missing
                .iter()
                .map(String::as_str)
                .filter(|m| *m != "GRANT OPTION")
                .collect();
            let what = if lacked.is_empty() {
                privileges.clone()
            } else {
                lacked.join(", ")
            };
            let never: Vec<&str> = lacked
                .iter()
                .copied()
                .filter(|m| NEVER_ON_RDS.contains(&normalize(m).as_str()))
                .collect();
            let hint = if never.is_empty() {
                String::new()
            } else {
                format!(" (RDS's master user never holds {})", never.join(", "))
            };
            write!(
                f,
                "{holder} holds {what} ON {object}, which the admin {} cannot {verb}: it lacks {}{hint}; revoke it from {holder}, or use an admin that holds it WITH GRANT OPTION",
                self.admin,
                shortfall.missing.join(", ")
            )?;
        }
        Ok(())
    }
}

/// The roles of MySQL's `CURRENT_ROLE()` (`` `r1`@`%`,`r2`@`localhost` ``, or `NONE`), as
/// (name, host) pairs.
pub fn parse_role_list(text: &str) -> Vec<(String, String)> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("NONE") {
        return Vec::new();
    }
    split_top(text)
        .iter()
        .filter_map(|role| {
            let (name, rest) = take_name(role)?;
            let rest = rest.trim_start();
            let host = rest
                .strip_prefix('@')
                .map_or_else(|| "%".to_owned(), |h| unquote(h.trim()));
            Some((name, host))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::plan;

    type Case<'a> = (&'a [&'a str], Vec<Vec<String>>, Vec<Vec<String>>);

    fn version(text: &str) -> ServerVersion {
        ServerVersion::parse(text).expect("version")
    }

    fn admin(rows: &[&str]) -> AdminPrivileges {
        AdminPrivileges::parse(&rows.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>())
            .expect("admin rows")
    }

    /// What the emulator's RDS for MySQL master prints (MariaDB 10.11, captured).
    const RDS_MASTER_ON_MARIADB: &str = "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, REFERENCES, INDEX, ALTER, SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, BINLOG MONITOR, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT, TRIGGER, DELETE HISTORY, SET USER, SLAVE MONITOR ON *.* TO `admin`@`%` IDENTIFIED BY PASSWORD '*D821809F681A40A6E379B50D0463EFAE20BDD122' WITH GRANT OPTION";

    /// RDS for MySQL 8.0.36's master as MySQL 8 prints it: static privileges, dynamic
    /// ones, and the role (RDS user guide, "Master user account privileges").
    const RDS_MASTER_ON_MYSQL: &[&str] = &[
        "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, REFERENCES, INDEX, ALTER, SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, REPLICATION CLIENT, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT, TRIGGER, CREATE ROLE, DROP ROLE ON *.* TO `admin`@`%` WITH GRANT OPTION",
        "GRANT APPLICATION_PASSWORD_ADMIN,ROLE_ADMIN,SET_USER_ID,XA_RECOVER_ADMIN ON *.* TO `admin`@`%` WITH GRANT OPTION",
        "GRANT `rds_superuser_role`@`%` TO `admin`@`%`",
    ];

    fn check(
        admin: &AdminPrivileges,
        user_rows: &[&str],
        version: &ServerVersion,
    ) -> Vec<Vec<String>> {
        let current: Vec<GrantRow> = user_rows
            .iter()
            .map(|r| parse_row(r).unwrap().grant)
            .collect();
        let fresh = vec![parse_row("GRANT USAGE ON *.* TO `c`@`%`").unwrap().grant];
        let planned = plan(&current, &fresh, "'c'@'%'");
        shortfalls(&planned, admin, version)
            .into_iter()
            .map(|s| s.missing)
            .collect()
    }

    #[test]
    fn rds_master_grants_what_applications_hold_and_not_file_or_super() {
        let mariadb = version("10.11.19-MariaDB-0+deb12u1");
        let mysql = version("8.0.36");
        let on_mariadb = admin(&[RDS_MASTER_ON_MARIADB]);
        let on_mysql = admin(RDS_MASTER_ON_MYSQL);
        let none: Vec<Vec<String>> = Vec::new();
        // (user rows, what the admin lacks on MariaDB, on MySQL)
        let cases: Vec<Case> = vec![
            (
                &["GRANT USAGE ON *.* TO `u`@`%`"],
                none.clone(),
                none.clone(),
            ),
            (
                &[
                    "GRANT USAGE ON *.* TO `u`@`%`",
                    "GRANT SELECT, INSERT ON `app`.* TO `u`@`%`",
                ],
                none.clone(),
                none.clone(),
            ),
            (
                &["GRANT ALL PRIVILEGES ON `app`.* TO `u`@`%` WITH GRANT OPTION"],
                none.clone(),
                none.clone(),
            ),
            (
                &["GRANT SELECT (`id`, `name`), UPDATE (`name`) ON `shop`.`customers` TO `u`@`%`"],
                none.clone(),
                none.clone(),
            ),
            (
                &[
                    "GRANT EXECUTE, ALTER ROUTINE ON PROCEDURE `shop`.`refund` TO `u`@`%` WITH GRANT OPTION",
                ],
                none.clone(),
                none.clone(),
            ),
            (
                &["GRANT FILE ON *.* TO `u`@`%`"],
                vec![vec!["FILE".to_owned()]],
                vec![vec!["FILE".to_owned()]],
            ),
            (
                &[
                    "GRANT SELECT, FILE, SUPER ON *.* TO `u`@`%`",
                    "GRANT SELECT ON `app`.* TO `u`@`%`",
                ],
                vec![vec!["FILE".to_owned(), "SUPER".to_owned()]],
                vec![vec!["FILE".to_owned(), "SUPER".to_owned()]],
            ),
            // REPLICATION CLIENT and BINLOG MONITOR are one privilege on MariaDB.
            (
                &["GRANT REPLICATION CLIENT ON *.* TO `u`@`%`"],
                none.clone(),
                none.clone(),
            ),
        ];
        for (rows, on_maria, on_my) in cases {
            assert_eq!(
                check(&on_mariadb, rows, &mariadb),
                on_maria,
                "MariaDB: {rows:?}"
            );
            assert_eq!(check(&on_mysql, rows, &mysql), on_my, "MySQL: {rows:?}");
        }
        // ALL on *.* (a root-like application user): MariaDB prints it as ALL.
        let missing = check(
            &on_mariadb,
            &["GRANT ALL PRIVILEGES ON *.* TO `u`@`%`"],
            &mariadb,
        );
        assert_eq!(missing.len(), 1);
        for privilege in [
            "SHUTDOWN",
            "FILE",
            "SUPER",
            "CREATE TABLESPACE",
            "BINLOG ADMIN",
        ] {
            assert!(
                missing[0].iter().any(|m| m == privilege),
                "{privilege} in {missing:?}"
            );
        }
        assert!(
            !missing[0]
                .iter()
                .any(|m| m == "SELECT" || m == "GRANT OPTION")
        );
        // MySQL's dynamic privileges are compared by name.
        assert_eq!(
            check(
                &on_mysql,
                &["GRANT BACKUP_ADMIN,ROLE_ADMIN ON *.* TO `u`@`%`"],
                &mysql
            ),
            vec![vec!["BACKUP_ADMIN".to_owned()]]
        );
    }

    #[test]
    fn without_grant_option_or_above_the_admins_level_nothing_is_grantable() {
        let mariadb = version("10.11.6-MariaDB");
        let no_option = admin(&["GRANT SELECT, INSERT ON *.* TO `a`@`%`"]);
        assert_eq!(
            check(
                &no_option,
                &["GRANT SELECT ON `app`.* TO `u`@`%`"],
                &mariadb
            ),
            vec![vec!["GRANT OPTION".to_owned()]]
        );
        // A database admin grants in its databases only; wildcards and escapes as LIKE.
        let db_admin = admin(&[
            "GRANT USAGE ON *.* TO `a`@`%`",
            "GRANT ALL PRIVILEGES ON `app\\_%`.* TO `a`@`%` WITH GRANT OPTION",
        ]);
        for (rows, expected) in [
            (vec!["GRANT SELECT ON `app_one`.* TO `u`@`%`"], 0),
            (
                vec!["GRANT SELECT, DELETE HISTORY ON `app_one`.`t` TO `u`@`%`"],
                0,
            ),
            (vec!["GRANT ALL PRIVILEGES ON `app_one`.* TO `u`@`%`"], 0),
            (vec!["GRANT SELECT ON `appone`.* TO `u`@`%`"], 1),
            (vec!["GRANT SELECT ON `other`.* TO `u`@`%`"], 1),
            (vec!["GRANT SELECT ON *.* TO `u`@`%`"], 1),
        ] {
            assert_eq!(
                check(&db_admin, &rows, &mariadb).len(),
                expected,
                "{rows:?}"
            );
        }
        // Column and table grants of the admin reach only their own table and columns.
        let table_admin = admin(&[
            "GRANT SELECT (`id`, `name`) ON `shop`.`customers` TO `a`@`%` WITH GRANT OPTION",
            "GRANT INSERT ON `shop`.`orders` TO `a`@`%` WITH GRANT OPTION",
        ]);
        for (row, expected) in [
            ("GRANT SELECT (`id`) ON `shop`.`customers` TO `u`@`%`", 0),
            (
                "GRANT SELECT (`id`, `email`) ON `shop`.`customers` TO `u`@`%`",
                1,
            ),
            ("GRANT SELECT ON `shop`.`customers` TO `u`@`%`", 1),
            ("GRANT INSERT ON `shop`.`orders` TO `u`@`%`", 0),
            ("GRANT INSERT ON `shop`.`refunds` TO `u`@`%`", 1),
        ] {
            assert_eq!(
                check(&table_admin, &[row], &mariadb).len(),
                expected,
                "{row}"
            );
        }
        // A MySQL partial revoke takes the privilege away below the global level.
        let restricted = admin(&[
            "GRANT SELECT, INSERT ON *.* TO `a`@`%` WITH GRANT OPTION",
            "REVOKE INSERT ON `mysql`.* FROM `a`@`%`",
        ]);
        let mysql = version("8.0.36");
        assert_eq!(
            check(&restricted, &["GRANT INSERT ON `app`.* TO `u`@`%`"], &mysql).len(),
            0
        );
        assert_eq!(
            check(
                &restricted,
                &["GRANT INSERT ON `mysql`.`user` TO `u`@`%`"],
                &mysql
            ),
            vec![vec!["INSERT".to_owned()]]
        );
        // The emulator's default admin (root-like) grants anything.
        let root = admin(&[
            "GRANT ALL PRIVILEGES ON *.* TO `emulator_admin`@`%` IDENTIFIED BY PASSWORD '*AB' WITH GRANT OPTION",
        ]);
        assert!(
            check(
                &root,
                &["GRANT ALL PRIVILEGES ON *.* TO `u`@`%` WITH GRANT OPTION"],
                &mariadb
            )
            .is_empty()
        );
    }

    #[test]
    fn the_rows_of_the_admins_current_role_count() {
        // MariaDB's plain SHOW GRANTS, with the default role `r1` active (captured).
        let with_role = admin(&[
            "GRANT `r1` TO `admin`@`%` WITH ADMIN OPTION",
            "GRANT USAGE ON *.* TO `admin`@`%` IDENTIFIED BY PASSWORD '*D8'",
            "GRANT `r2` TO `r1`",
            "GRANT USAGE ON *.* TO `r1`",
            "GRANT SELECT ON `app`.* TO `r1` WITH GRANT OPTION",
            "GRANT USAGE ON *.* TO `r2`",
            "GRANT INSERT ON `app`.* TO `r2`",
            "SET DEFAULT ROLE `r1` FOR `admin`@`%`",
        ]);
        let mariadb = version("10.11.6-MariaDB");
        assert!(
            check(
                &with_role,
                &["GRANT SELECT ON `app`.* TO `u`@`%`"],
                &mariadb
            )
            .is_empty()
        );
        assert!(
            check(
                &with_role,
                &["GRANT INSERT ON `app`.* TO `u`@`%`"],
                &mariadb
            )
            .is_empty()
        );
        assert_eq!(
            check(
                &with_role,
                &["GRANT DELETE ON `app`.* TO `u`@`%`"],
                &mariadb
            ),
            vec![vec!["DELETE".to_owned()]]
        );
        assert_eq!(
            parse_role_list("`rds_superuser_role`@`%`,`r``2`@`localhost`"),
            vec![
                ("rds_superuser_role".to_owned(), "%".to_owned()),
                ("r`2".to_owned(), "localhost".to_owned())
            ]
        );
        assert!(parse_role_list("NONE").is_empty());
    }

    #[test]
    fn extras_of_the_clone_need_the_same_to_be_revoked() {
        let mariadb = version("10.11.6-MariaDB");
        let master = admin(&[RDS_MASTER_ON_MARIADB]);
        let current = vec![
            parse_row("GRANT SELECT ON `app`.* TO `u`@`%`")
                .unwrap()
                .grant,
        ];
        let clone = vec![
            parse_row("GRANT FILE ON *.* TO `c`@`%`").unwrap().grant,
            parse_row("GRANT SELECT ON `app`.* TO `c`@`%`")
                .unwrap()
                .grant,
        ];
        let found = shortfalls(&plan(&current, &clone, "'c'@'%'"), &master, &mariadb);
        assert_eq!(found.len(), 1);
        assert!(!found[0].gives);
        // A clone that already holds what the admin cannot grant needs nothing.
        let current = vec![parse_row("GRANT FILE ON *.* TO `u`@`%`").unwrap().grant];
        let clone = vec![parse_row("GRANT FILE ON *.* TO `c`@`%`").unwrap().grant];
        assert!(shortfalls(&plan(&current, &clone, "'c'@'%'"), &master, &mariadb).is_empty());
    }

    #[test]
    fn the_refusal_names_the_privilege_the_holder_and_the_fix() {
        let mariadb = version("10.11.6-MariaDB");
        let master = admin(&[RDS_MASTER_ON_MARIADB]);
        let current = vec![
            parse_row("GRANT SELECT, FILE ON *.* TO `u`@`%`")
                .unwrap()
                .grant,
        ];
        let fresh = vec![parse_row("GRANT USAGE ON *.* TO `c`@`%`").unwrap().grant];
        let found = shortfalls(&plan(&current, &fresh, "'c'@'%'"), &master, &mariadb);
        let message = Refusal {
            user: "'appuser'@'%'",
            clone: "'appuser_clone'@'%'",
            admin: "'admin'@'%'",
            shortfalls: &found,
        }
        .to_string();
        assert_eq!(
            message,
            "'appuser'@'%' holds FILE ON *.*, which the admin 'admin'@'%' cannot grant: it lacks FILE (RDS's master user never holds FILE); revoke it from 'appuser'@'%', or use an admin that holds it WITH GRANT OPTION"
        );
        let no_option = admin(&["GRANT SELECT ON *.* TO `a`@`%`"]);
        let current = vec![
            parse_row("GRANT SELECT ON `app`.* TO `u`@`%`")
                .unwrap()
                .grant,
        ];
        let found = shortfalls(&plan(&current, &fresh, "'c'@'%'"), &no_option, &mariadb);
        let message = Refusal {
            user: "'u'@'%'",
            clone: "'c'@'%'",
            admin: "'a'@'%'",
            shortfalls: &found,
        }
        .to_string();
        assert!(
            message.starts_with("'u'@'%' holds SELECT ON `app`.*, which the admin 'a'@'%' cannot grant: it lacks GRANT OPTION;"),
            "{message}"
        );
    }

    /// MySQL 8.0's `SHOW GRANTS` rows with partial revokes (the manual's format:
    /// "Privilege Restriction Using Partial Revokes"; no MySQL server here, so the
    /// check is verified by this table only).
    #[test]
    fn only_restrictions_on_privileges_the_user_holds_globally_are_inherited() {
        let restricted = admin(&[
            "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE USER ON *.* TO `admin`@`%` WITH GRANT OPTION",
            "REVOKE INSERT, UPDATE, DELETE ON `mysql`.* FROM `admin`@`%`",
            "REVOKE SELECT ON `payroll`.* FROM `admin`@`%`",
            // A role's row merged by `SHOW GRANTS ... USING`.
            "REVOKE DELETE ON `audit`.* FROM `admin`@`%`",
        ]);
        let cases: [(&[&str], &[&str]); 6] = [
            // The usual application user: schema grants only; nothing is inherited
            // (a grant on `payroll` itself is `shortfalls`' to refuse).
            (
                &[
                    "GRANT USAGE ON *.* TO `app`@`%`",
                    "GRANT SELECT, INSERT ON `app`.* TO `app`@`%`",
                ],
                &[],
            ),
            (
                &["GRANT SELECT ON *.* TO `app`@`%`"],
                &["REVOKE SELECT ON `payroll`.*"],
            ),
            (
                &["GRANT SELECT, INSERT ON *.* TO `app`@`%`"],
                &["REVOKE INSERT ON `mysql`.*", "REVOKE SELECT ON `payroll`.*"],
            ),
            (
                &["GRANT ALL PRIVILEGES ON *.* TO `app`@`%`"],
                &[
                    "REVOKE INSERT, UPDATE, DELETE ON `mysql`.*",
                    "REVOKE SELECT ON `payroll`.*",
                    "REVOKE DELETE ON `audit`.*",
                ],
            ),
            // The user carries the same restriction itself: the clone gets it either way.
            (
                &[
                    "GRANT SELECT ON *.* TO `app`@`%`",
                    "REVOKE SELECT ON `payroll`.* FROM `app`@`%`",
                ],
                &[],
            ),
            // A table grant is not global: nothing to inherit.
            (&["GRANT SELECT ON `payroll`.`t` TO `app`@`%`"], &[]),
        ];
        for (user, expected) in cases {
            let rows: Vec<GrantRow> = user.iter().map(|r| parse_row(r).unwrap().grant).collect();
            assert_eq!(restricted.inherited_revokes(&rows), expected, "{user:?}");
        }
        // An admin without partial revokes passes nothing on.
        let plain = admin(&["GRANT ALL PRIVILEGES ON *.* TO `admin`@`%` WITH GRANT OPTION"]);
        let all = [parse_row("GRANT ALL PRIVILEGES ON *.* TO `app`@`%`")
            .unwrap()
            .grant];
        assert!(plain.inherited_revokes(&all).is_empty());
    }

    #[test]
    fn objects_parse_to_their_level() {
        let cases = [
            ("*.*", Some(Level::Global)),
            ("`app`.*", Some(Level::Database("app".into()))),
            ("`my\\_db`.*", Some(Level::Database("my\\_db".into()))),
            (
                "`a.b`.`t``x`",
                Some(Level::Table("a.b".into(), "t`x".into())),
            ),
            (
                "PROCEDURE `shop`.`Refund`",
                Some(Level::Routine(
                    "PROCEDURE".into(),
                    "shop".into(),
                    "refund".into(),
                )),
            ),
            ("``@``", None),
            ("`u`@`%`", None),
        ];
        for (object, level) in cases {
            assert_eq!(parse_level(object), level, "{object}");
        }
        assert!(like("app\\_%", "app_one") && !like("app\\_%", "appone") && like("%", "x"));
    }

    #[test]
    fn like_patterns_match_as_the_server_reads_them_and_in_linear_time() {
        for (pattern, text, expected) in [
            ("%", "", true),
            ("_", "", false),
            ("a%b", "ab", true),
            ("a%b", "axxb", true),
            ("a%b", "axxc", false),
            ("%b%", "abc", true),
            ("a_c", "abc", true),
            ("a_c", "ac", false),
            ("a\\%", "a%", true),
            ("a\\%", "ab", false),
            ("tail\\", "tail\\", true),
            ("%%a", "ba", true),
        ] {
            assert_eq!(like(pattern, text), expected, "{pattern} ~ {text}");
        }
        // Recursion would take 2^20 steps here; the greedy matcher a few thousand.
        let pattern = format!("{}b", "%a".repeat(20));
        assert!(!like(&pattern, &"a".repeat(60)));
    }
}
