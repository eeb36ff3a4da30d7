//! Reading `SHOW GRANTS` / `SHOW CREATE USER` output and making the clone's
//! privileges exactly the current user's.
//!
//! AWS's reference function copied grant rows by cutting them at ` TO ` and
//! appending the clone's name, which dropped `WITH GRANT OPTION`, role grants and
//! default roles, and only ever added grants, so the two users drifted apart. Here
//! each row is tokenized (quoted names may contain anything), parsed into a
//! [`GrantRow`], and rendered back for another grantee. The clone's own rows are read
//! the same way, and [`plan`] gives the statements that turn the clone's set into the
//! current user's set: undo what the clone has extra, then grant what it lacks.
//! Password hashes that MariaDB prints inside `GRANT` (`IDENTIFIED BY PASSWORD
//! '*...'`) are dropped while parsing, so they can never reach a statement or a log.
//!
//! Everything here is pure: rows in, statements out.

use std::fmt;

mod account;
mod object;
mod password_options;

pub use account::{AccountSettings, parse_create_user};
pub use object::{GrantObject, columns as column_names, parse_object};
pub use password_options::{
    FailedLoginLimit, PasswordColumns, PasswordOptions, limit_from_create_user,
    options_from_create_user,
};

/// A row that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantError {
    /// The row with any password hash replaced by `***`.
    pub row: String,
    pub reason: &'static str,
}

impl fmt::Display for GrantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot read the grant row `{}`: {}",
            self.row, self.reason
        )
    }
}

impl std::error::Error for GrantError {}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Word,
    Quoted,
    Symbol,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

fn tokenize(text: &str) -> Result<Vec<Token>, &'static str> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'\'' || c == b'"' || c == b'`' {
            let start = i;
            i += 1;
            loop {
                if i >= bytes.len() {
                    return Err("a quoted name or string is not closed");
                }
                if bytes[i] == b'\\' && c != b'`' {
                    i += 2;
                } else if bytes[i] == c {
                    if bytes.get(i + 1) == Some(&c) {
                        i += 2;
                    } else {
                        i += 1;
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            tokens.push(Token {
                kind: Kind::Quoted,
                start,
                end: i.min(bytes.len()),
            });
        } else if b",()@=".contains(&c) {
            tokens.push(Token {
                kind: Kind::Symbol,
                start: i,
                end: i + 1,
            });
            i += 1;
        } else {
            let start = i;
            while i < bytes.len()
                && !bytes[i].is_ascii_whitespace()
                && !b"'\"`,()@=".contains(&bytes[i])
            {
                i += 1;
            }
            tokens.push(Token {
                kind: Kind::Word,
                start,
                end: i,
            });
        }
    }
    Ok(tokens)
}

/// Removes the quotes of a quoted name or string, undoing doubled quotes and backslash escapes.
pub fn unquote(text: &str) -> String {
    let Some(first) = text.chars().next() else {
        return String::new();
    };
    if !matches!(first, '\'' | '"' | '`') || text.len() < 2 || !text.ends_with(first) {
        return text.to_owned();
    }
    let inner = &text[1..text.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == first && chars.peek() == Some(&first) {
            chars.next();
            out.push(first);
        } else if c == '\\' && first != '`' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('0') => out.push('\0'),
                Some('Z') => out.push('\u{1a}'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One row of `SHOW GRANTS`, without its grantee.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GrantRow {
    /// `GRANT <privileges> ON <object> TO ... [WITH GRANT OPTION]`, or a MySQL 8
    /// partial revoke `REVOKE <privileges> ON <object> FROM ...` (`revoke` true).
    Privileges {
        revoke: bool,
        privileges: String,
        object: String,
        grant_option: bool,
    },
    /// `GRANT <roles> TO ... [WITH ADMIN OPTION]` (MySQL 8, MariaDB).
    Roles { roles: String, admin_option: bool },
    /// MariaDB's `SET DEFAULT ROLE <role> FOR ...` row.
    DefaultRole { role: String },
}

impl GrantRow {
    fn is_usage(&self) -> bool {
        matches!(self, Self::Privileges { privileges, revoke: false, .. } if privileges.eq_ignore_ascii_case("USAGE"))
    }

    fn is_proxy(&self) -> bool {
        matches!(self, Self::Privileges { privileges, .. } if privileges.eq_ignore_ascii_case("PROXY"))
    }

    /// The statement that gives `grantee` (an already quoted account) this row.
    pub fn apply_sql(&self, grantee: &str) -> String {
        match self {
            Self::Privileges {
                revoke: false,
                privileges,
                object,
                grant_option,
            } => {
                let option = if *grant_option {
                    " WITH GRANT OPTION"
                } else {
                    ""
                };
                format!("GRANT {privileges} ON {object} TO {grantee}{option}")
            }
            Self::Privileges {
                revoke: true,
                privileges,
                object,
                ..
            } => format!("REVOKE {privileges} ON {object} FROM {grantee}"),
            Self::Roles {
                roles,
                admin_option,
            } => {
                let option = if *admin_option {
                    " WITH ADMIN OPTION"
                } else {
                    ""
                };
                format!("GRANT {roles} TO {grantee}{option}")
            }
            Self::DefaultRole { role } => format!("SET DEFAULT ROLE {role} FOR {grantee}"),
        }
    }

    /// The statements that take this row away from `grantee` again.
    pub fn undo_sql(&self, grantee: &str) -> Vec<String> {
        match self {
            Self::Privileges {
                revoke: false,
                privileges,
                object,
                grant_option,
            } => {
                let mut statements = Vec::new();
                if !self.is_usage() {
                    statements.push(format!("REVOKE {privileges} ON {object} FROM {grantee}"));
                }
                if *grant_option && !self.is_proxy() {
                    statements.push(format!("REVOKE GRANT OPTION ON {object} FROM {grantee}"));
                }
                statements
            }
            Self::Privileges {
                revoke: true,
                privileges,
                object,
                ..
            } => vec![format!("GRANT {privileges} ON {object} TO {grantee}")],
            Self::Roles { roles, .. } => vec![format!("REVOKE {roles} FROM {grantee}")],
            Self::DefaultRole { .. } => vec![format!("SET DEFAULT ROLE NONE FOR {grantee}")],
        }
    }

    fn order(&self) -> u8 {
        match self {
            Self::Privileges { revoke: false, .. } => 0,
            Self::Privileges { revoke: true, .. } => 1,
            Self::Roles { .. } => 2,
            Self::DefaultRole { .. } => 3,
        }
    }
}

/// A parsed row: what it grants, to whom, and the `REQUIRE` clause MariaDB may print in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRow {
    pub grant: GrantRow,
    pub grantee_user: String,
    pub grantee_host: String,
    pub require: Option<String>,
}

/// Replaces the password hash of a row with `***`, for error messages.
fn redact(row: &str) -> String {
    let upper = row.to_ascii_uppercase();
    match upper.find(" IDENTIFIED ") {
        Some(index) => format!("{} IDENTIFIED ***", &row[..index]),
        None => row.to_owned(),
    }
}

fn is_word(text: &str, token: &Token, word: &str) -> bool {
    token.kind == Kind::Word && text[token.start..token.end].eq_ignore_ascii_case(word)
}

/// Parses one row of `SHOW GRANTS FOR ...` (MySQL 5.7, 8.x, 9.x, MariaDB 10.x/11.x).
pub fn parse_row(row: &str) -> Result<ParsedRow, GrantError> {
    let row = row.trim().trim_end_matches(';');
    let error = |reason| GrantError {
        row: redact(row),
        reason,
    };
    let tokens = tokenize(row).map_err(error)?;
    let first = tokens.first().ok_or_else(|| error("the row is empty"))?;
    if is_word(row, first, "SET") {
        // SET DEFAULT ROLE <role> FOR <user>@<host>
        let for_index = tokens
            .iter()
            .position(|t| is_word(row, t, "FOR"))
            .ok_or_else(|| error("no FOR in SET DEFAULT ROLE"))?;
        if for_index < 4 {
            return Err(error("no role in SET DEFAULT ROLE"));
        }
        let role = row[tokens[3].start..tokens[for_index - 1].end].to_owned();
        let (user, host, _) =
            grantee(row, &tokens, for_index + 1).ok_or_else(|| error("no user@host after FOR"))?;
        return Ok(ParsedRow {
            grant: GrantRow::DefaultRole { role },
            grantee_user: user,
            grantee_host: host,
            require: None,
        });
    }
    let revoke = is_word(row, first, "REVOKE");
    if !revoke && !is_word(row, first, "GRANT") {
        return Err(error(
            "it starts with neither GRANT, REVOKE nor SET DEFAULT ROLE",
        ));
    }
    let to_word = if revoke { "FROM" } else { "TO" };
    let mut depth = 0_i32;
    let mut on_index = None;
    let mut to_index = None;
    for (index, token) in tokens.iter().enumerate().skip(1) {
        match &row[token.start..token.end] {
            "(" => depth += 1,
            ")" => depth -= 1,
            _ if depth == 0 && on_index.is_none() && is_word(row, token, "ON") => {
                on_index = Some(index);
            }
            _ if depth == 0 && is_word(row, token, to_word) => {
                to_index = Some(index);
                break;
            }
            _ => {}
        }
    }
    let to_index = to_index.ok_or_else(|| error("no grantee (TO/FROM) found"))?;
    let (user, host, rest) =
        grantee(row, &tokens, to_index + 1).ok_or_else(|| error("no user@host after TO"))?;
    let (require, grant_option, admin_option) = parse_tail(row, &tokens[rest..]);
    let grant = match on_index {
        Some(on_index) => {
            if on_index < 2 || to_index < on_index + 2 {
                return Err(error("a privilege list or object is empty"));
            }
            GrantRow::Privileges {
                revoke,
                privileges: row[tokens[1].start..tokens[on_index - 1].end].to_owned(),
                object: row[tokens[on_index + 1].start..tokens[to_index - 1].end].to_owned(),
                grant_option,
            }
        }
        None if !revoke && to_index >= 2 => GrantRow::Roles {
            roles: row[tokens[1].start..tokens[to_index - 1].end].to_owned(),
            admin_option,
        },
        None => return Err(error("no ON in a privilege row")),
    };
    Ok(ParsedRow {
        grant,
        grantee_user: user,
        grantee_host: host,
        require,
    })
}

/// `user@host` starting at `index`; returns the unquoted parts and the index after them.
fn grantee(row: &str, tokens: &[Token], index: usize) -> Option<(String, String, usize)> {
    let user = tokens.get(index)?;
    if user.kind == Kind::Symbol {
        return None;
    }
    let user_text = unquote(&row[user.start..user.end]);
    match (tokens.get(index + 1), tokens.get(index + 2)) {
        (Some(at), Some(host)) if &row[at.start..at.end] == "@" && host.kind != Kind::Symbol => {
            Some((user_text, unquote(&row[host.start..host.end]), index + 3))
        }
        // A role: MariaDB prints a role's rows with its bare name (`TO `r1``), which ends
        // the row or comes before WITH. Account rows always have a host; `Grants::parse`
        // refuses host-less rows for an account.
        (None, _) => Some((user_text, String::new(), index + 1)),
        (Some(next), _) if is_word(row, next, "WITH") => {
            Some((user_text, String::new(), index + 1))
        }
        _ => None,
    }
}

/// Reads what follows the grantee: `IDENTIFIED ...` (dropped), `REQUIRE ...`, `WITH ...`.
fn parse_tail(row: &str, tokens: &[Token]) -> (Option<String>, bool, bool) {
    let mut require = None;
    let mut grant_option = false;
    let mut admin_option = false;
    let mut index = 0;
    while index < tokens.len() {
        if is_word(row, &tokens[index], "REQUIRE") {
            let start = index + 1;
            let mut end = start;
            while end < tokens.len()
                && !is_word(row, &tokens[end], "WITH")
                && !is_word(row, &tokens[end], "IDENTIFIED")
            {
                end += 1;
            }
            if end > start {
                require = Some(row[tokens[start].start..tokens[end - 1].end].to_owned());
            }
            index = end;
        } else if is_word(row, &tokens[index], "WITH") {
            // WITH GRANT OPTION / WITH ADMIN OPTION / resource limits (account settings, not privileges)
            if tokens
                .get(index + 1)
                .is_some_and(|t| is_word(row, t, "GRANT"))
            {
                grant_option = true;
            }
            if tokens
                .get(index + 1)
                .is_some_and(|t| is_word(row, t, "ADMIN"))
            {
                admin_option = true;
            }
            index += 1;
        } else if is_word(row, &tokens[index], "GRANT")
            && tokens
                .get(index + 1)
                .is_some_and(|t| is_word(row, t, "OPTION"))
        {
            grant_option = true;
            index += 2;
        } else {
            // IDENTIFIED BY PASSWORD '<hash>' / IDENTIFIED VIA ... : skipped, never kept.
            index += 1;
        }
    }
    (require, grant_option, admin_option)
}

/// Rows of one account, read from `SHOW GRANTS`, checked to be that account's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub rows: Vec<GrantRow>,
    /// A `REQUIRE` clause MariaDB printed in a grant row (older servers without `SHOW CREATE USER`).
    pub require: Option<String>,
}

impl Grants {
    /// Parses all rows and checks that each names `user`@`host`.
    pub fn parse(rows: &[String], user: &str, host: &str) -> Result<Self, GrantError> {
        let mut grants = Self::default();
        for row in rows {
            let parsed = parse_row(row)?;
            let matches_host = parsed.grantee_host == host
                || (parsed.grantee_host.is_empty()
                    && matches!(parsed.grant, GrantRow::DefaultRole { .. }));
            if parsed.grantee_user != user || !matches_host {
                return Err(GrantError {
                    row: redact(row),
                    reason: "the row is for another account than the one asked for",
                });
            }
            if parsed.require.is_some() {
                grants.require.clone_from(&parsed.require);
            }
            if !grants.rows.contains(&parsed.grant) {
                grants.rows.push(parsed.grant);
            }
        }
        Ok(grants)
    }
}

/// One statement of a [`plan`], with the row it gives or takes away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub text: String,
    pub row: GrantRow,
    /// True when the statement gives the clone a row of the current user (not an undo).
    pub applies: bool,
}

impl GrantRow {
    /// Whether this row changes the account's global row (`*.*`) when granted or undone;
    /// a bare `USAGE` grants nothing.
    fn changes_global_row(&self) -> bool {
        matches!(self, Self::Privileges { object, grant_option, .. } if object == "*.*" && (*grant_option || !self.is_usage()))
    }

    fn is_partial_revoke(&self) -> bool {
        matches!(self, Self::Privileges { revoke: true, .. })
    }
}

/// The statements that make `clone`'s rows equal `current`'s, for the quoted account `clone_sql`.
///
/// Rows the clone has and the current user lacks are undone first; then the rows it
/// lacks are granted, privileges before partial revokes, roles, and default roles. A
/// row present on both sides is left alone, so an unchanged clone gets no statement,
/// with one exception: with `partial_revokes=ON`, MySQL drops an account's partial
/// revokes when its global row changes ("Privilege Restriction Using Partial
/// Revokes", <https://dev.mysql.com/doc/refman/8.0/en/partial-revokes.html>), so when
/// any statement touches `*.*`, every partial revoke of the current user is applied
/// again after it.
pub fn plan(current: &[GrantRow], clone: &[GrantRow], clone_sql: &str) -> Vec<Planned> {
    let mut statements = Vec::new();
    let extra: Vec<&GrantRow> = clone.iter().filter(|row| !current.contains(row)).collect();
    for row in &extra {
        statements.extend(row.undo_sql(clone_sql).into_iter().map(|text| Planned {
            text,
            row: (*row).clone(),
            applies: false,
        }));
    }
    let mut missing: Vec<&GrantRow> = current.iter().filter(|row| !clone.contains(row)).collect();
    // `REVOKE GRANT OPTION ON <object>` takes the option from every row on that object,
    // and MySQL 8 prints several rows on `*.*`: the static privileges, and the dynamic
    // ones grouped by whether they carry the option ("SHOW GRANTS Statement",
    // <https://dev.mysql.com/doc/refman/8.0/en/show-grants.html>; "Static Versus
    // Dynamic Privileges", <https://dev.mysql.com/doc/refman/8.0/en/privileges-provided.html>).
    // Undoing one such row would strip the option from the rows both accounts share, so
    // those are given again after the undo.
    let options_revoked: Vec<&str> = extra
        .iter()
        .filter_map(|row| match row {
            GrantRow::Privileges {
                revoke: false,
                object,
                grant_option: true,
                ..
            } if !row.is_proxy() => Some(object.as_str()),
            _ => None,
        })
        .collect();
    for row in current {
        if let GrantRow::Privileges {
            revoke: false,
            object,
            grant_option: true,
            ..
        } = row
            && options_revoked.contains(&object.as_str())
            && !row.is_proxy()
            && !missing.contains(&row)
        {
            missing.push(row);
        }
    }
    if extra
        .iter()
        .chain(missing.iter())
        .any(|row| row.changes_global_row())
    {
        for row in current.iter().filter(|row| row.is_partial_revoke()) {
            if !missing.contains(&row) {
                missing.push(row);
            }
        }
    }
    missing.sort_by_key(|row| row.order());
    statements.extend(missing.into_iter().map(|row| Planned {
        text: row.apply_sql(clone_sql),
        row: row.clone(),
        applies: true,
    }));
    statements
}

/// One item of a privilege list: the privilege's words and, for a column grant, its
/// column names as the server printed them (quoted).
#[derive(Debug, Clone, PartialEq, Eq)]
struct PrivilegeItem {
    name: String,
    columns: Option<Vec<String>>,
}

/// Splits `SELECT (`a`, `b`), INSERT` at its top-level commas.
fn privilege_items(privileges: &str) -> Option<Vec<PrivilegeItem>> {
    let tokens = tokenize(privileges).ok()?;
    let mut items = Vec::new();
    let mut name: Vec<&str> = Vec::new();
    let mut columns: Option<Vec<String>> = None;
    let mut in_list = false;
    for token in &tokens {
        let text = &privileges[token.start..token.end];
        match (in_list, text) {
            (false, "(") if !name.is_empty() && columns.is_none() => {
                in_list = true;
                columns = Some(Vec::new());
            }
            (true, ")") => in_list = false,
            (true, ",") => {}
            (true, _) if token.kind != Kind::Symbol => columns.as_mut()?.push(text.to_owned()),
            (false, ",") => {
                if name.is_empty() {
                    return None;
                }
                items.push(PrivilegeItem {
                    name: name.join(" "),
                    columns: columns.take(),
                });
                name.clear();
            }
            (false, _) if token.kind == Kind::Word && columns.is_none() => name.push(text),
            _ => return None,
        }
    }
    if in_list || name.is_empty() {
        return None;
    }
    items.push(PrivilegeItem {
        name: name.join(" "),
        columns,
    });
    Some(items)
}

/// The column of `row`'s column grants that a failed grant's error 1054
/// (`ER_BAD_FIELD_ERROR`, "Unknown column '%s' in '%s'") names.
///
/// MySQL and MariaDB keep column grants after `ALTER TABLE ... DROP COLUMN` (seen on
/// MariaDB 10.11: `SHOW GRANTS` still lists the column and `mysql.columns_priv` its
/// row), and granting them again fails with 1054 on every retry. The message's format
/// is the server's (MySQL: <https://dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html>,
/// error 1054, raised by `mysql_table_grant` with the column as the statement names it
/// and the table; MariaDB: <https://mariadb.com/kb/en/mariadb-error-codes/>); a server
/// whose messages are in another language (`lc_messages`) still quotes the column, so
/// a single column of the row quoted in the message is taken as well.
pub fn unknown_column(row: &GrantRow, message: &str) -> Option<String> {
    let GrantRow::Privileges {
        revoke: false,
        privileges,
        ..
    } = row
    else {
        return None;
    };
    let columns = column_names(privileges);
    if let Some(found) = columns
        .iter()
        .find(|c| message.starts_with(&format!("Unknown column '{c}' in '")))
    {
        return Some(found.clone());
    }
    let mut quoted = columns
        .iter()
        .filter(|c| message.contains(&format!("'{c}'")));
    match (quoted.next(), quoted.next()) {
        (Some(only), None) => Some(only.clone()),
        _ => None,
    }
}

/// `row` without its grants on `column` (compared as the server does, without regard
/// to case); `None` when nothing of the row remains. A privilege whose every column
/// was `column` goes; the rest of the row, and its other columns, stay.
pub fn without_column(row: &GrantRow, column: &str) -> Option<GrantRow> {
    let GrantRow::Privileges {
        revoke: false,
        privileges,
        object,
        grant_option,
    } = row
    else {
        return Some(row.clone());
    };
    let Some(items) = privilege_items(privileges) else {
        return Some(row.clone());
    };
    let mut kept = Vec::new();
    for item in items {
        match item.columns {
            None => kept.push(item.name),
            Some(columns) => {
                let columns: Vec<String> = columns
                    .into_iter()
                    .filter(|quoted| !unquote(quoted).eq_ignore_ascii_case(column))
                    .collect();
                if !columns.is_empty() {
                    kept.push(format!("{} ({})", item.name, columns.join(", ")));
                }
            }
        }
    }
    // A row of only column grants is gone when they are; a table-level privilege
    // keeps the row (its grant option belongs to the table, not the columns).
    if kept.is_empty() {
        return None;
    }
    Some(GrantRow::Privileges {
        revoke: false,
        privileges: kept.join(", "),
        object: object.clone(),
        grant_option: *grant_option,
    })
}

impl fmt::Display for GrantRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.apply_sql("<user>"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn privileges(privileges: &str, object: &str, grant_option: bool) -> GrantRow {
        GrantRow::Privileges {
            revoke: false,
            privileges: privileges.into(),
            object: object.into(),
            grant_option,
        }
    }

    /// Rows as the servers print them (MySQL 5.7.44, 8.0.36, 9.1; MariaDB 10.11).
    #[test]
    #[allow(clippy::too_many_lines)] // a table of captured rows
    fn captured_rows_parse() {
        let cases: Vec<(&str, GrantRow, &str, &str, Option<&str>)> = vec![
            // MySQL 5.7
            (
                "GRANT USAGE ON *.* TO 'appuser'@'%'",
                privileges("USAGE", "*.*", false),
                "appuser",
                "%",
                None,
            ),
            (
                "GRANT SELECT ON `mydb`.* TO 'appuser'@'%'",
                privileges("SELECT", "`mydb`.*", false),
                "appuser",
                "%",
                None,
            ),
            (
                "GRANT SELECT, INSERT ON `mydb`.`orders` TO 'appuser'@'10.0.%' WITH GRANT OPTION",
                privileges("SELECT, INSERT", "`mydb`.`orders`", true),
                "appuser",
                "10.0.%",
                None,
            ),
            // MySQL 8.x / 9.x
            (
                "GRANT USAGE ON *.* TO `appuser`@`%`",
                privileges("USAGE", "*.*", false),
                "appuser",
                "%",
                None,
            ),
            (
                "GRANT SELECT (`id`, `name`), UPDATE (`name`) ON `shop`.`customers` TO `appuser`@`%`",
                privileges(
                    "SELECT (`id`, `name`), UPDATE (`name`)",
                    "`shop`.`customers`",
                    false,
                ),
                "appuser",
                "%",
                None,
            ),
            (
                "GRANT EXECUTE ON PROCEDURE `shop`.`refund` TO `appuser`@`%`",
                privileges("EXECUTE", "PROCEDURE `shop`.`refund`", false),
                "appuser",
                "%",
                None,
            ),
            (
                "GRANT EXECUTE, ALTER ROUTINE ON FUNCTION `shop`.`tax` TO `appuser`@`%` WITH GRANT OPTION",
                privileges("EXECUTE, ALTER ROUTINE", "FUNCTION `shop`.`tax`", true),
                "appuser",
                "%",
                None,
            ),
            (
                "GRANT PROXY ON ``@`` TO `appuser`@`%` WITH GRANT OPTION",
                privileges("PROXY", "``@``", true),
                "appuser",
                "%",
                None,
            ),
            (
                "GRANT BACKUP_ADMIN,BINLOG_ADMIN ON *.* TO `appuser`@`%`",
                privileges("BACKUP_ADMIN,BINLOG_ADMIN", "*.*", false),
                "appuser",
                "%",
                None,
            ),
            (
                "GRANT `reader`@`%`,`writer`@`localhost` TO `appuser`@`%`",
                GrantRow::Roles {
                    roles: "`reader`@`%`,`writer`@`localhost`".into(),
                    admin_option: false,
                },
                "appuser",
                "%",
                None,
            ),
            (
                "GRANT `auditor`@`%` TO `appuser`@`%` WITH ADMIN OPTION",
                GrantRow::Roles {
                    roles: "`auditor`@`%`".into(),
                    admin_option: true,
                },
                "appuser",
                "%",
                None,
            ),
            (
                "REVOKE INSERT ON `mysql`.* FROM `appuser`@`%`",
                GrantRow::Privileges {
                    revoke: true,
                    privileges: "INSERT".into(),
                    object: "`mysql`.*".into(),
                    grant_option: false,
                },
                "appuser",
                "%",
                None,
            ),
            // MariaDB 10.11
            (
                "GRANT USAGE ON *.* TO `appuser`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'",
                privileges("USAGE", "*.*", false),
                "appuser",
                "%",
                None,
            ),
            (
                "GRANT USAGE ON *.* TO `appuser`@`127.0.0.1` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19' REQUIRE SSL",
                privileges("USAGE", "*.*", false),
                "appuser",
                "127.0.0.1",
                Some("SSL"),
            ),
            (
                "GRANT USAGE ON *.* TO `appuser`@`%` IDENTIFIED BY PASSWORD '*24' REQUIRE ISSUER '/CN=ca' AND SUBJECT '/CN=app' WITH GRANT OPTION",
                privileges("USAGE", "*.*", true),
                "appuser",
                "%",
                Some("ISSUER '/CN=ca' AND SUBJECT '/CN=app'"),
            ),
            (
                "GRANT ALL PRIVILEGES ON `app`.* TO `appuser`@`%` WITH GRANT OPTION",
                privileges("ALL PRIVILEGES", "`app`.*", true),
                "appuser",
                "%",
                None,
            ),
            (
                "GRANT `reader` TO `appuser`@`%`",
                GrantRow::Roles {
                    roles: "`reader`".into(),
                    admin_option: false,
                },
                "appuser",
                "%",
                None,
            ),
            (
                // A role's row, as MariaDB's plain SHOW GRANTS prints the current role's.
                "GRANT SELECT ON `app`.* TO `reader` WITH GRANT OPTION",
                privileges("SELECT", "`app`.*", true),
                "reader",
                "",
                None,
            ),
            (
                "SET DEFAULT ROLE `reader` FOR `appuser`@`%`",
                GrantRow::DefaultRole {
                    role: "`reader`".into(),
                },
                "appuser",
                "%",
                None,
            ),
            (
                "GRANT USAGE ON *.* TO `app``user`@`%` IDENTIFIED VIA ed25519 USING 'hash'",
                privileges("USAGE", "*.*", false),
                "app`user",
                "%",
                None,
            ),
            (
                "GRANT SELECT ON `we'ird`.* TO 'o\\'brien'@'%'",
                privileges("SELECT", "`we'ird`.*", false),
                "o'brien",
                "%",
                None,
            ),
            (
                "GRANT SELECT ON `d`.* TO `line\nbreak`@`%`",
                privileges("SELECT", "`d`.*", false),
                "line\nbreak",
                "%",
                None,
            ),
        ];
        for (row, grant, user, host, require) in cases {
            let parsed = parse_row(row).unwrap_or_else(|e| panic!("{row}: {e}"));
            assert_eq!(parsed.grant, grant, "{row}");
            assert_eq!(parsed.grantee_user, user, "{row}");
            assert_eq!(parsed.grantee_host, host, "{row}");
            assert_eq!(parsed.require.as_deref(), require, "{row}");
        }
    }

    #[test]
    fn rendering_for_the_clone_keeps_options_and_drops_password_hashes() {
        let cases = [
            (
                "GRANT SELECT, INSERT ON `mydb`.`orders` TO 'appuser'@'10.0.%' WITH GRANT OPTION",
                "GRANT SELECT, INSERT ON `mydb`.`orders` TO 'appuser_clone'@'10.0.%' WITH GRANT OPTION",
            ),
            (
                "GRANT USAGE ON *.* TO `appuser`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'",
                "GRANT USAGE ON *.* TO 'appuser_clone'@'10.0.%'",
            ),
            (
                "GRANT PROXY ON ``@`` TO `appuser`@`%` WITH GRANT OPTION",
                "GRANT PROXY ON ``@`` TO 'appuser_clone'@'10.0.%' WITH GRANT OPTION",
            ),
            (
                "GRANT `auditor`@`%` TO `appuser`@`%` WITH ADMIN OPTION",
                "GRANT `auditor`@`%` TO 'appuser_clone'@'10.0.%' WITH ADMIN OPTION",
            ),
            (
                "SET DEFAULT ROLE `reader` FOR `appuser`@`%`",
                "SET DEFAULT ROLE `reader` FOR 'appuser_clone'@'10.0.%'",
            ),
            (
                "REVOKE INSERT ON `mysql`.* FROM `appuser`@`%`",
                "REVOKE INSERT ON `mysql`.* FROM 'appuser_clone'@'10.0.%'",
            ),
        ];
        for (row, expected) in cases {
            let rendered = parse_row(row)
                .unwrap()
                .grant
                .apply_sql("'appuser_clone'@'10.0.%'");
            assert_eq!(rendered, expected);
            assert!(!rendered.contains("2470C0"));
        }
    }

    #[test]
    fn undo_reverses_each_kind_of_row() {
        let clone = "'c'@'%'";
        let cases = [
            (
                "GRANT SELECT ON `d`.* TO `u`@`%` WITH GRANT OPTION",
                vec![
                    "REVOKE SELECT ON `d`.* FROM 'c'@'%'",
                    "REVOKE GRANT OPTION ON `d`.* FROM 'c'@'%'",
                ],
            ),
            (
                "GRANT USAGE ON *.* TO `u`@`%` WITH GRANT OPTION",
                vec!["REVOKE GRANT OPTION ON *.* FROM 'c'@'%'"],
            ),
            ("GRANT USAGE ON *.* TO `u`@`%`", vec![]),
            (
                "GRANT PROXY ON `a`@`%` TO `u`@`%` WITH GRANT OPTION",
                vec!["REVOKE PROXY ON `a`@`%` FROM 'c'@'%'"],
            ),
            (
                "GRANT `r`@`%` TO `u`@`%`",
                vec!["REVOKE `r`@`%` FROM 'c'@'%'"],
            ),
            (
                "SET DEFAULT ROLE `r` FOR `u`@`%`",
                vec!["SET DEFAULT ROLE NONE FOR 'c'@'%'"],
            ),
            (
                "REVOKE INSERT ON `mysql`.* FROM `u`@`%`",
                vec!["GRANT INSERT ON `mysql`.* TO 'c'@'%'"],
            ),
        ];
        for (row, expected) in cases {
            assert_eq!(
                parse_row(row).unwrap().grant.undo_sql(clone),
                expected,
                "{row}"
            );
        }
    }

    fn rows(text: &[&str]) -> Vec<GrantRow> {
        text.iter()
            .map(|row| parse_row(row).unwrap().grant)
            .collect()
    }

    fn texts(planned: &[Planned]) -> Vec<String> {
        planned.iter().map(|p| p.text.clone()).collect()
    }

    #[test]
    fn partial_revokes_are_applied_again_whenever_the_global_row_changes() {
        let clone = "'c'@'%'";
        // MySQL 8.0 with partial_revokes=ON prints the restriction as a REVOKE row.
        let current = rows(&[
            "GRANT SELECT, INSERT ON *.* TO `u`@`%`",
            "REVOKE INSERT ON `mysql`.* FROM `u`@`%`",
        ]);
        let stale = rows(&[
            "GRANT SELECT ON *.* TO `c`@`%`",
            "REVOKE INSERT ON `mysql`.* FROM `c`@`%`",
        ]);
        let planned = plan(&current, &stale, clone);
        assert_eq!(
            texts(&planned),
            vec![
                "REVOKE SELECT ON *.* FROM 'c'@'%'".to_owned(),
                "GRANT SELECT, INSERT ON *.* TO 'c'@'%'".to_owned(),
                "REVOKE INSERT ON `mysql`.* FROM 'c'@'%'".to_owned(),
            ],
            "the revoke both accounts have is applied again after the global change"
        );
        // No global change: the shared partial revoke is left alone.
        let same_global = rows(&[
            "GRANT SELECT, INSERT ON *.* TO `c`@`%`",
            "REVOKE INSERT ON `mysql`.* FROM `c`@`%`",
            "GRANT DELETE ON `old`.* TO `c`@`%`",
        ]);
        assert_eq!(
            texts(&plan(&current, &same_global, clone)),
            vec!["REVOKE DELETE ON `old`.* FROM 'c'@'%'".to_owned()]
        );
    }

    /// MySQL 8.0's format: static global privileges in one row, dynamic ones (comma
    /// separated without spaces) in rows of their own, by grant option ("SHOW GRANTS
    /// Statement", the manual's `root` example); verified only against that format.
    #[test]
    fn undoing_one_global_rows_grant_option_keeps_it_on_the_others() {
        let clone = "'c'@'%'";
        let current = rows(&[
            "GRANT SELECT, INSERT ON *.* TO `u`@`%` WITH GRANT OPTION",
            "GRANT BACKUP_ADMIN,BINLOG_ADMIN ON *.* TO `u`@`%`",
            "GRANT XA_RECOVER_ADMIN ON *.* TO `u`@`%` WITH GRANT OPTION",
        ]);
        let stale = rows(&[
            "GRANT SELECT, INSERT ON *.* TO `c`@`%` WITH GRANT OPTION",
            "GRANT BACKUP_ADMIN,BINLOG_ADMIN ON *.* TO `c`@`%` WITH GRANT OPTION",
            "GRANT XA_RECOVER_ADMIN ON *.* TO `c`@`%` WITH GRANT OPTION",
        ]);
        assert_eq!(
            texts(&plan(&current, &stale, clone)),
            vec![
                "REVOKE BACKUP_ADMIN,BINLOG_ADMIN ON *.* FROM 'c'@'%'".to_owned(),
                "REVOKE GRANT OPTION ON *.* FROM 'c'@'%'".to_owned(),
                "GRANT BACKUP_ADMIN,BINLOG_ADMIN ON *.* TO 'c'@'%'".to_owned(),
                "GRANT SELECT, INSERT ON *.* TO 'c'@'%' WITH GRANT OPTION".to_owned(),
                "GRANT XA_RECOVER_ADMIN ON *.* TO 'c'@'%' WITH GRANT OPTION".to_owned(),
            ],
            "the rows both accounts hold with the option get it back"
        );
        // An undo without a grant option touches no other row.
        let plain = rows(&[
            "GRANT SELECT, INSERT ON *.* TO `c`@`%` WITH GRANT OPTION",
            "GRANT BACKUP_ADMIN,BINLOG_ADMIN ON *.* TO `c`@`%`",
            "GRANT XA_RECOVER_ADMIN ON *.* TO `c`@`%` WITH GRANT OPTION",
            "GRANT SELECT ON `old`.* TO `c`@`%`",
        ]);
        assert_eq!(
            texts(&plan(&current, &plain, clone)),
            vec!["REVOKE SELECT ON `old`.* FROM 'c'@'%'".to_owned()]
        );
    }

    #[test]
    fn plan_converges_in_both_directions() {
        let clone = "'app_clone'@'%'";
        let current = rows(&[
            "GRANT USAGE ON *.* TO `app`@`%`",
            "GRANT SELECT, INSERT ON `shop`.* TO `app`@`%`",
            "GRANT `reader`@`%` TO `app`@`%`",
        ]);
        // A fresh clone has only USAGE: grant the rest, privileges before roles.
        let fresh = rows(&["GRANT USAGE ON *.* TO `app_clone`@`%`"]);
        assert_eq!(
            texts(&plan(&current, &fresh, clone)),
            vec![
                "GRANT SELECT, INSERT ON `shop`.* TO 'app_clone'@'%'".to_owned(),
                "GRANT `reader`@`%` TO 'app_clone'@'%'".to_owned(),
            ]
        );
        // An identical clone gets nothing.
        let same = rows(&[
            "GRANT USAGE ON *.* TO `app_clone`@`%`",
            "GRANT SELECT, INSERT ON `shop`.* TO `app_clone`@`%`",
            "GRANT `reader`@`%` TO `app_clone`@`%`",
        ]);
        assert!(plan(&current, &same, clone).is_empty());
        // A clone with extras from an earlier rotation loses them, and a changed row is replaced.
        let drifted = rows(&[
            "GRANT USAGE ON *.* TO `app_clone`@`%`",
            "GRANT SELECT ON `shop`.* TO `app_clone`@`%` WITH GRANT OPTION",
            "GRANT DELETE ON `old`.* TO `app_clone`@`%`",
        ]);
        assert_eq!(
            texts(&plan(&current, &drifted, clone)),
            vec![
                "REVOKE SELECT ON `shop`.* FROM 'app_clone'@'%'".to_owned(),
                "REVOKE GRANT OPTION ON `shop`.* FROM 'app_clone'@'%'".to_owned(),
                "REVOKE DELETE ON `old`.* FROM 'app_clone'@'%'".to_owned(),
                "GRANT SELECT, INSERT ON `shop`.* TO 'app_clone'@'%'".to_owned(),
                "GRANT `reader`@`%` TO 'app_clone'@'%'".to_owned(),
            ]
        );
    }

    #[test]
    fn grants_of_another_account_are_refused() {
        let rows = vec!["GRANT SELECT ON *.* TO `other`@`%`".to_owned()];
        assert!(Grants::parse(&rows, "app", "%").is_err());
        let rows = vec!["GRANT SELECT ON *.* TO `app`@`localhost`".to_owned()];
        assert!(Grants::parse(&rows, "app", "%").is_err());
    }

    #[test]
    fn errors_never_show_password_hashes() {
        let error =
            parse_row("GRANT USAGE ON *.* TO IDENTIFIED BY PASSWORD '*2470C0C06DEE'").unwrap_err();
        assert!(!error.to_string().contains("2470C0"), "{error}");
        assert!(parse_row("GRANT SELECT ON `unclosed TO `a`@`%`").is_err());
        assert!(parse_row("DROP TABLE x").is_err());
        assert!(parse_row("").is_err());
    }

    #[test]
    fn unquote_undoes_every_quoting_form() {
        for (quoted, plain) in [
            ("`a``b`", "a`b"),
            ("'o''b'", "o'b"),
            ("'o\\'b'", "o'b"),
            ("'a\\\\b'", "a\\b"),
            ("plain", "plain"),
            ("''", ""),
        ] {
            assert_eq!(unquote(quoted), plain, "{quoted}");
        }
    }

    /// MariaDB 10.11's row after `ALTER TABLE w DROP COLUMN b`, and the 1054 messages
    /// of granting it again (English, and a translated server that still quotes the name).
    #[test]
    fn a_dropped_column_leaves_the_grant_without_it() {
        let row = parse_row(
            "GRANT SELECT (`e`, `a`, `c`, `b`), INSERT (`b`), UPDATE (`e`, `a`) ON `d`.`w` TO `u`@`%`",
        )
        .unwrap()
        .grant;
        let cases: &[(&str, Option<&str>)] = &[
            ("Unknown column 'b' in 'w'", Some("b")),
            ("Unbekanntes Tabellenfeld 'b' in w", Some("b")),
            // The table's name is also a column's: the English form still decides.
            ("Unknown column 'e' in 'a'", Some("e")),
            ("Unknown column 'zz' in 'w'", None),
            ("Table 'd.w' doesn't exist", None),
            // Two columns quoted and no English form: not guessed.
            ("'a' 'e'", None),
        ];
        for (message, column) in cases {
            assert_eq!(
                unknown_column(&row, message).as_deref(),
                *column,
                "{message}"
            );
        }
        let narrowed = without_column(&row, "b").unwrap();
        assert_eq!(
            narrowed.apply_sql("'c'@'%'"),
            "GRANT SELECT (`e`, `a`, `c`), UPDATE (`e`, `a`) ON `d`.`w` TO 'c'@'%'",
            "INSERT had only the dropped column and goes; the other columns stay, in the server's order"
        );
        // What MariaDB prints for that grant on the clone is the same row.
        assert_eq!(
            parse_row("GRANT SELECT (`e`, `a`, `c`), UPDATE (`e`, `a`) ON `d`.`w` TO `c`@`%`")
                .unwrap()
                .grant,
            narrowed
        );
        // Column names compare without regard to case, quoted names may hold anything.
        let odd = parse_row("GRANT SELECT (`Odd, ``name`), REFERENCES (`x`) ON `d`.`t` TO `u`@`%` WITH GRANT OPTION")
            .unwrap()
            .grant;
        assert_eq!(
            unknown_column(&odd, "Unknown column 'Odd, `name' in 't'").as_deref(),
            Some("Odd, `name")
        );
        assert_eq!(
            without_column(&odd, "odd, `NAME").map(|r| r.apply_sql("c")),
            Some("GRANT REFERENCES (`x`) ON `d`.`t` TO c WITH GRANT OPTION".to_owned())
        );
        // A row of only that column is gone; a table-level privilege keeps the row.
        let only = parse_row("GRANT SELECT (`gone`) ON `d`.`t` TO `u`@`%`")
            .unwrap()
            .grant;
        assert_eq!(without_column(&only, "gone"), None);
        let mixed = parse_row("GRANT INSERT, SELECT (`gone`) ON `d`.`t` TO `u`@`%`")
            .unwrap()
            .grant;
        assert_eq!(
            without_column(&mixed, "gone").map(|r| r.apply_sql("c")),
            Some("GRANT INSERT ON `d`.`t` TO c".to_owned())
        );
        // Rows without column grants are never narrowed.
        let table = parse_row("GRANT SELECT ON `d`.`t` TO `u`@`%`")
            .unwrap()
            .grant;
        assert_eq!(unknown_column(&table, "Unknown column 'x' in 't'"), None);
        assert_eq!(without_column(&table, "x"), Some(table.clone()));
    }
}
