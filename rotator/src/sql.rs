//! The one place where values become SQL text.
//!
//! MySQL cannot bind user names, host names or passwords as parameters in
//! `CREATE USER`, `ALTER USER`, `GRANT` or `SHOW GRANTS`, so those statements are
//! text. Every value that reaches such a statement goes through [`string_literal`]
//! or [`identifier`], which either quote it exactly or refuse it with a reason, and
//! every statement of the rotator is built by a function of this module.
//!
//! Quoting assumes backslash escapes are on; [`SESSION_SETUP`] turns off
//! `NO_BACKSLASH_ESCAPES` for the session, so a server configured with it cannot
//! change what a quoted value means.

use std::fmt;

use crate::secret::Password;
use crate::version::Flavor;

/// Run first on every connection that executes a statement of this module.
pub const SESSION_SETUP: &str =
    "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')";

/// A value that cannot be put into SQL exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {reason}")]
pub struct QuoteError {
    /// What the value is ("user name", "password", ...).
    pub what: &'static str,
    /// Why it was refused, without the value itself.
    pub reason: &'static str,
}

fn check(value: &str, what: &'static str) -> Result<(), QuoteError> {
    if value.contains('\0') {
        return Err(QuoteError {
            what,
            reason: "contains a NUL character, which MySQL cannot store",
        });
    }
    Ok(())
}

/// Quotes a string literal: `'it''s'`, backslashes doubled.
pub fn string_literal(value: &str, what: &'static str) -> Result<String, QuoteError> {
    check(value, what)?;
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            other => out.push(other),
        }
    }
    out.push('\'');
    Ok(out)
}

/// Quotes an identifier (database, table, role name): `` `my``db` ``.
pub fn identifier(value: &str, what: &'static str) -> Result<String, QuoteError> {
    check(value, what)?;
    if value.is_empty() {
        return Err(QuoteError {
            what,
            reason: "is empty",
        });
    }
    if value.ends_with(' ') {
        return Err(QuoteError {
            what,
            reason: "ends with a space, which MySQL does not allow in names",
        });
    }
    Ok(format!("`{}`", value.replace('`', "``")))
}

/// A MySQL account: user name and the host part it was created with.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Account {
    pub user: String,
    pub host: String,
}

impl Account {
    pub fn new(user: impl Into<String>, host: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            host: host.into(),
        }
    }

    /// Parses the result of `CURRENT_USER()`: `name@host`, split at the last `@`.
    pub fn from_current_user(value: &str) -> Option<Self> {
        let (user, host) = value.rsplit_once('@')?;
        Some(Self::new(user, host))
    }

    /// `'user'@'host'`, refusing names MySQL's grant tables cannot hold.
    pub fn sql(&self) -> Result<String, QuoteError> {
        if self.user.chars().any(|c| c.len_utf8() > 3)
            || self.host.chars().any(|c| c.len_utf8() > 3)
        {
            return Err(QuoteError {
                what: "user name",
                reason: "has a character outside the Basic Multilingual Plane (an emoji, say), which MySQL's grant tables (utf8mb3) cannot store",
            });
        }
        Ok(format!(
            "{}@{}",
            string_literal(&self.user, "user name")?,
            string_literal(&self.host, "account host")?
        ))
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'@'{}'", self.user, self.host)
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'@'{}'", self.user, self.host)
    }
}

/// A statement that may hold a password: its `Debug` never shows the text.
pub struct Statement {
    text: String,
    /// What the statement does, for logs and errors.
    pub summary: String,
}

impl Statement {
    fn new(text: String, summary: String) -> Self {
        Self { text, summary }
    }

    /// The SQL text, to execute; never log it.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Statement({})", self.summary)
    }
}

/// `CREATE USER ... IDENTIFIED BY ...`.
pub fn create_user(account: &Account, password: &Password) -> Result<Statement, QuoteError> {
    Ok(Statement::new(
        format!(
            "CREATE USER {} IDENTIFIED BY {}",
            account.sql()?,
            string_literal(password.expose(), "password")?
        ),
        format!("create user {account}"),
    ))
}

/// `ALTER USER ... IDENTIFIED BY ...`.
pub fn set_password(account: &Account, password: &Password) -> Result<Statement, QuoteError> {
    Ok(Statement::new(
        format!(
            "ALTER USER {} IDENTIFIED BY {}",
            account.sql()?,
            string_literal(password.expose(), "password")?
        ),
        format!("set the password of {account}"),
    ))
}

/// A user's change of its own password, which needs no privilege (single-user rotation):
/// `ALTER USER USER() IDENTIFIED BY ...` on MySQL, `SET PASSWORD = PASSWORD(...)` on
/// MariaDB (where `ALTER USER` needs the CREATE USER privilege).
pub fn set_own_password(password: &Password, flavor: Flavor) -> Result<Statement, QuoteError> {
    let literal = string_literal(password.expose(), "password")?;
    let text = match flavor {
        Flavor::MySql => format!("ALTER USER USER() IDENTIFIED BY {literal}"),
        Flavor::MariaDb => format!("SET PASSWORD = PASSWORD({literal})"),
    };
    Ok(Statement::new(
        text,
        "set the user's own password".to_owned(),
    ))
}

/// `ALTER USER ... REQUIRE ...`, with a clause read from `SHOW CREATE USER`.
pub fn require(account: &Account, clause: &str) -> Result<Statement, QuoteError> {
    Ok(Statement::new(
        format!("ALTER USER {} REQUIRE {clause}", account.sql()?),
        format!("require {clause} for {account}"),
    ))
}

/// MySQL 8's default roles of an account: `ALTER USER ... DEFAULT ROLE <roles>` with the
/// role list as `SHOW CREATE USER` printed it, or `SET DEFAULT ROLE NONE TO ...`.
pub fn default_roles(account: &Account, roles: Option<&str>) -> Result<Statement, QuoteError> {
    let text = match roles {
        Some(roles) => format!("ALTER USER {} DEFAULT ROLE {roles}", account.sql()?),
        None => format!("SET DEFAULT ROLE NONE TO {}", account.sql()?),
    };
    Ok(Statement::new(
        text,
        format!("set the default roles of {account}"),
    ))
}

/// `SHOW GRANTS FOR ...`.
pub fn show_grants(account: &Account) -> Result<Statement, QuoteError> {
    Ok(Statement::new(
        format!("SHOW GRANTS FOR {}", account.sql()?),
        format!("show grants for {account}"),
    ))
}

/// `SHOW CREATE USER ...`.
pub fn show_create_user(account: &Account) -> Result<Statement, QuoteError> {
    Ok(Statement::new(
        format!("SHOW CREATE USER {}", account.sql()?),
        format!("show create user {account}"),
    ))
}

/// A grant or revoke statement rewritten from `SHOW GRANTS` output (see `grants`).
pub fn privilege_statement(text: String) -> Statement {
    let summary = text.clone();
    Statement::new(text, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literals_quote_every_hostile_character_exactly() {
        let cases: &[(&str, &str)] = &[
            ("appuser", "'appuser'"),
            ("o'brien", "'o''brien'"),
            ("back\\slash", "'back\\\\slash'"),
            ("`tick`", "'`tick`'"),
            ("50%_off", "'50%_off'"),
            ("a;DROP TABLE x;--", "'a;DROP TABLE x;--'"),
            ("line\nbreak", "'line\nbreak'"),
            ("ünïcødé", "'ünïcødé'"),
            ("'; --", "'''; --'"),
            ("\\'", "'\\\\'''"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                string_literal(input, "user name").as_deref(),
                Ok(*expected),
                "{input:?}"
            );
        }
    }

    #[test]
    fn nul_is_refused_with_a_reason_that_does_not_show_the_value() {
        let error = string_literal("pa\0ss", "password").unwrap_err();
        assert_eq!(
            error.to_string(),
            "password contains a NUL character, which MySQL cannot store"
        );
    }

    #[test]
    fn identifiers_double_backticks_and_refuse_what_mysql_refuses() {
        assert_eq!(identifier("mydb", "database name").as_deref(), Ok("`mydb`"));
        assert_eq!(
            identifier("my`db", "database name").as_deref(),
            Ok("`my``db`")
        );
        assert_eq!(identifier("it's", "database name").as_deref(), Ok("`it's`"));
        assert!(identifier("", "database name").is_err());
        assert!(identifier("trailing ", "database name").is_err());
        assert!(identifier("nul\0", "database name").is_err());
    }

    #[test]
    fn accounts_quote_user_and_host_and_refuse_four_byte_characters() {
        assert_eq!(
            Account::new("app'user", "10.0.%").sql().as_deref(),
            Ok("'app''user'@'10.0.%'")
        );
        assert!(Account::new("app😀", "%").sql().is_err());
        assert_eq!(
            Account::from_current_user("a@b@%"),
            Some(Account::new("a@b", "%"))
        );
        assert_eq!(Account::from_current_user("nohost"), None);
    }

    #[test]
    fn default_roles_are_set_or_cleared() {
        let account = Account::new("app_clone", "%");
        assert_eq!(
            default_roles(&account, Some("`r`@`%`")).unwrap().text(),
            "ALTER USER 'app_clone'@'%' DEFAULT ROLE `r`@`%`"
        );
        assert_eq!(
            default_roles(&account, None).unwrap().text(),
            "SET DEFAULT ROLE NONE TO 'app_clone'@'%'"
        );
    }

    #[test]
    fn statements_never_show_the_password_in_debug() {
        let password = Password::new("s3cr3t'pw".to_owned());
        let statement = set_password(&Account::new("app", "%"), &password).unwrap();
        assert!(statement.text().contains("s3cr3t''pw"));
        let debug = format!("{statement:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
    }
}
