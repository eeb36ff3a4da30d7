//! The one place where values become SQL text.
//!
//! MySQL cannot bind user names, host names or passwords as parameters in
//! `CREATE USER`, `ALTER USER`, `GRANT` or `SHOW GRANTS`, so those statements are
//! text. Every value that reaches such a statement goes through [`string_literal`]
//! or [`identifier`], which either quote it exactly or refuse it with a reason, and
//! every statement of the rotator is built by a function of this module.
//!
//! Quoting assumes backslash escapes are on, and `SHOW GRANTS` parsing assumes
//! identifiers in backticks; [`SESSION_SETUP`] sets a known `sql_mode` for the
//! session, so a server configured with `NO_BACKSLASH_ESCAPES` or `ANSI_QUOTES`
//! cannot change what a quoted value means or how grants are printed.

use std::fmt;

use crate::secret::Password;
use crate::version::{Flavor, ServerVersion};

mod account_options;

pub use account_options::{password_option, user_attribute};

/// How long a statement of the rotator waits for a lock another session holds
/// (`lock_wait_timeout`, metadata locks; `innodb_lock_wait_timeout`, row locks), and
/// how long any statement may run on MariaDB (`max_statement_time`), in seconds.
///
/// The servers' defaults wait a year (MySQL's `lock_wait_timeout`: "The default is
/// 31536000", <https://dev.mysql.com/doc/refman/8.0/en/server-system-variables.html#sysvar_lock_wait_timeout>)
/// or a day (MariaDB's: 86400), so one blocked `GRANT` (a column grant waits for the
/// table's metadata lock behind a long transaction or `LOCK TABLES`) would hold the
/// step until the Lambda timeout, which says only "Task timed out". With these, the
/// statement fails with the server's lock error in time for the function to say which
/// statement waited and what to look for. MariaDB 10.11's account statements do not
/// honour `lock_wait_timeout` behind `FLUSH TABLES WITH READ LOCK` (seen here:
/// `CREATE USER` waited until the lock was released), so MariaDB also gets
/// `max_statement_time`, which interrupts any statement (error 1969:
/// <https://mariadb.com/kb/en/server-system-variables/#max_statement_time>); MySQL's
/// `max_execution_time` covers only `SELECT`, so MySQL relies on `lock_wait_timeout`.
/// Both fit, with the rest of a step, in the 30 s function timeout `cargo xtask deploy`
/// sets.
pub const LOCK_WAIT_SECONDS: u32 = 5;
/// See [`LOCK_WAIT_SECONDS`].
pub const STATEMENT_SECONDS: u32 = 10;
const _: () = assert!(
    STATEMENT_SECONDS > LOCK_WAIT_SECONDS,
    "a lock wait fails first"
);

/// Run first on every connection that executes a statement of this module: a known
/// `sql_mode`, and bounded waits ([`LOCK_WAIT_SECONDS`]; the `/*M! ... */` part is an
/// executable comment only MariaDB runs: <https://mariadb.com/kb/en/comment-syntax/>,
/// `max_statement_time` exists since MariaDB 10.1.1).
///
/// Under `ANSI_QUOTES`, `"` quotes identifiers and `SHOW GRANTS` prints names as
/// `"o\brien"` with the backslash literal (MariaDB 10.11, checked here; MySQL:
/// <https://dev.mysql.com/doc/refman/8.0/en/sql-mode.html#sqlmode_ansi_quotes>), and
/// `NO_BACKSLASH_ESCAPES` makes `\` literal in strings
/// (<https://mariadb.com/kb/en/sql-mode/>). `NO_ENGINE_SUBSTITUTION` alone exists
/// on MySQL 5.7, 8.x, 9.x and MariaDB, so this mode is valid everywhere.
pub const SESSION_SETUP: &str = "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', \
     lock_wait_timeout = 5, innodb_lock_wait_timeout = 5 /*M!100101 , max_statement_time = 10 */";

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
    carries_password: bool,
}

impl Statement {
    fn new(text: String, summary: String) -> Self {
        Self {
            text,
            summary,
            carries_password: false,
        }
    }

    fn with_password(text: String, summary: String) -> Self {
        Self {
            text,
            summary,
            carries_password: true,
        }
    }

    /// The SQL text, to execute; never log it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the text holds a password: the server's error text for it is then withheld.
    pub fn carries_password(&self) -> bool {
        self.carries_password
    }
}

impl fmt::Debug for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Statement({})", self.summary)
    }
}

/// `CREATE USER ... IDENTIFIED ... ACCOUNT LOCK`, with the pending password and the
/// current user's authentication plugin ([`identified`]): created locked, so that no
/// session opens on it before its grants, partial revokes, `REQUIRE` and limits are
/// all copied (a session keeps the global privileges it opened with: MySQL manual,
/// "When Privilege Changes Take Effect"); the copy unlocks it last, as the user is.
/// `ACCOUNT LOCK` in CREATE USER: MySQL 5.7.6+, MariaDB 10.4.2+ ("Account Locking");
/// `locked` false on older servers, which lack it. Both servers take the plugin clause
/// in CREATE USER as in ALTER USER (MySQL manual, "CREATE USER Statement":
/// `IDENTIFIED WITH auth_plugin BY 'auth_string'`; MariaDB, "CREATE USER":
/// `IDENTIFIED {VIA|WITH} authentication_plugin {USING|AS} PASSWORD('password')`),
/// followed by the lock option.
pub fn create_user(
    account: &Account,
    password: &Password,
    plugin: Option<&str>,
    flavor: Flavor,
    locked: bool,
) -> Result<Statement, QuoteError> {
    Ok(Statement::with_password(
        format!(
            "CREATE USER {} {}{}",
            account.sql()?,
            identified(password, plugin, flavor)?,
            if locked { " ACCOUNT LOCK" } else { "" }
        ),
        format!("create user {account}"),
    ))
}

/// Authentication plugins that check a password; another plugin (`auth_socket`,
/// `AWSAuthenticationPlugin`, `unix_socket`...) cannot be rotated by setting one.
pub const PASSWORD_PLUGINS: &[&str] = &[
    "mysql_native_password",
    "caching_sha2_password",
    "sha256_password",
    "ed25519",
];

/// The `IDENTIFIED ...` clause giving a password and keeping an authentication plugin:
/// `IDENTIFIED WITH <plugin> BY '...'` on MySQL
/// (<https://dev.mysql.com/doc/refman/8.0/en/alter-user.html>), `IDENTIFIED VIA
/// <plugin> USING PASSWORD('...')` on MariaDB (<https://mariadb.com/kb/en/alter-user/>).
fn identified(
    password: &Password,
    plugin: Option<&str>,
    flavor: Flavor,
) -> Result<String, QuoteError> {
    let literal = string_literal(password.expose(), "password")?;
    let Some(plugin) = plugin else {
        return Ok(format!("IDENTIFIED BY {literal}"));
    };
    if !PASSWORD_PLUGINS.contains(&plugin) {
        return Err(QuoteError {
            what: "authentication plugin",
            reason: "does not authenticate with a password, so a password rotation cannot serve it",
        });
    }
    Ok(match flavor {
        Flavor::MySql => format!("IDENTIFIED WITH {plugin} BY {literal}"),
        Flavor::MariaDb => format!("IDENTIFIED VIA {plugin} USING PASSWORD({literal})"),
    })
}

/// `ALTER USER ... IDENTIFIED ...`, keeping the account's authentication plugin ([`identified`]).
pub fn set_password(
    account: &Account,
    password: &Password,
    plugin: Option<&str>,
    flavor: Flavor,
) -> Result<Statement, QuoteError> {
    Ok(Statement::with_password(
        format!(
            "ALTER USER {} {}",
            account.sql()?,
            identified(password, plugin, flavor)?
        ),
        format!("set the password of {account}"),
    ))
}

/// `ALTER USER ... DISCARD OLD PASSWORD`: setting a password with the same plugin keeps
/// an account's secondary password ("the secondary password remains unchanged": MySQL
/// reference manual, "Dual Password Support"), so a clone could go on accepting one
/// this secret never stored.
pub fn discard_old_password(account: &Account) -> Result<Statement, QuoteError> {
    Ok(Statement::new(
        format!("ALTER USER {} DISCARD OLD PASSWORD", account.sql()?),
        format!("discard any secondary password of {account}"),
    ))
}

/// A user's change of its own password, which needs no privilege (single-user rotation),
/// chosen by version: `ALTER USER USER() IDENTIFIED BY ...` on MySQL 5.7.6 and later;
/// `SET PASSWORD = PASSWORD(...)` before (`ALTER USER` is a syntax error there) and on
/// MariaDB (where `ALTER USER` needs the CREATE USER privilege). MySQL 8.0 removed
/// `PASSWORD()` (<https://dev.mysql.com/worklog/task/?id=10774>); 5.7 deprecated it
/// (<https://dev.mysql.com/doc/refman/5.7/en/set-password.html>).
///
/// On MySQL 8.0.13+ the statement names the password it replaces (`REPLACE`), which
/// `password_require_current` demands of an account changing its own password and
/// which is accepted, and checked, whether or not the policy applies ("If the REPLACE
/// clause is given, ... the current password must be correct": MySQL reference manual,
/// "ALTER USER Statement").
pub fn set_own_password(
    password: &Password,
    replacing: Option<&Password>,
    version: &ServerVersion,
) -> Result<Statement, QuoteError> {
    let literal = string_literal(password.expose(), "password")?;
    let text = match (version.flavor, replacing) {
        (Flavor::MySql, Some(replacing)) if version.supports_replace_current() => format!(
            "ALTER USER USER() IDENTIFIED BY {literal} REPLACE {}",
            string_literal(replacing.expose(), "current password")?
        ),
        (Flavor::MySql, _) if version.supports_alter_user() => {
            format!("ALTER USER USER() IDENTIFIED BY {literal}")
        }
        (Flavor::MySql | Flavor::MariaDb, _) => format!("SET PASSWORD = PASSWORD({literal})"),
    };
    Ok(Statement::with_password(
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

/// `ALTER USER ... WITH MAX_... n ...`: resource limits as `SHOW CREATE USER` printed them.
pub fn resource_limits(
    account: &Account,
    limits: &[(String, String)],
) -> Result<Statement, QuoteError> {
    for (name, value) in limits {
        let name_ok =
            name.starts_with("MAX_") && name.chars().all(|c| c.is_ascii_uppercase() || c == '_');
        let value_ok = !value.is_empty() && value.chars().all(|c| c.is_ascii_digit() || c == '.');
        if !name_ok || !value_ok {
            return Err(QuoteError {
                what: "resource limit",
                reason: "is not a MAX_... name with a number, as SHOW CREATE USER prints them",
            });
        }
    }
    let clause = limits
        .iter()
        .map(|(name, value)| format!("{name} {value}"))
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Statement::new(
        format!("ALTER USER {} WITH {clause}", account.sql()?),
        format!("set the resource limits of {account} to {clause}"),
    ))
}

/// `ALTER USER ... PASSWORD EXPIRE NEVER | DEFAULT | INTERVAL n DAY`.
pub fn password_expiry(account: &Account, policy: &str) -> Result<Statement, QuoteError> {
    let words: Vec<&str> = policy.split_whitespace().collect();
    let valid = match words.as_slice() {
        ["NEVER" | "DEFAULT"] => true,
        ["INTERVAL", days, "DAY"] => days.chars().all(|c| c.is_ascii_digit()),
        _ => false,
    };
    if !valid {
        return Err(QuoteError {
            what: "password expiry",
            reason: "is not NEVER, DEFAULT or INTERVAL n DAY",
        });
    }
    Ok(Statement::new(
        format!("ALTER USER {} PASSWORD EXPIRE {policy}", account.sql()?),
        format!("set the password expiry of {account} to {policy}"),
    ))
}

/// `ALTER USER ... ACCOUNT LOCK | UNLOCK`.
pub fn account_lock(account: &Account, locked: bool) -> Result<Statement, QuoteError> {
    let state = if locked { "LOCK" } else { "UNLOCK" };
    Ok(Statement::new(
        format!("ALTER USER {} ACCOUNT {state}", account.sql()?),
        format!("account {state} for {account}"),
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

/// The session's own grants. MariaDB: plain `SHOW GRANTS`, which adds the rows of
/// the current role and the roles it holds (MariaDB knowledge base, "SHOW GRANTS");
/// MySQL 8: `SHOW GRANTS FOR <account> USING <roles>`, which merges the privileges of
/// the named roles into the rows (MySQL reference manual, "SHOW GRANTS Statement").
pub fn show_session_grants(
    flavor: crate::version::Flavor,
    account: &Account,
    active_roles: &[Account],
) -> Result<Statement, QuoteError> {
    let text = match flavor {
        crate::version::Flavor::MariaDb => "SHOW GRANTS".to_owned(),
        crate::version::Flavor::MySql if active_roles.is_empty() => {
            format!("SHOW GRANTS FOR {}", account.sql()?)
        }
        crate::version::Flavor::MySql => format!(
            "SHOW GRANTS FOR {} USING {}",
            account.sql()?,
            active_roles
                .iter()
                .map(Account::sql)
                .collect::<Result<Vec<_>, _>>()?
                .join(", ")
        ),
    };
    Ok(Statement::new(
        text,
        format!("show the grants of {account}"),
    ))
}

/// `SHOW GRANTS FOR CURRENT_USER()`: the session's own account's rows, which any
/// account may read (MySQL and MariaDB, "SHOW GRANTS").
pub fn show_own_grants() -> Statement {
    Statement::new(
        "SHOW GRANTS FOR CURRENT_USER()".to_owned(),
        "show the grants of the session's own account".to_owned(),
    )
}

/// `SET ROLE NONE`: the session's roles off, before `SHOW GRANTS FOR CURRENT_USER()`,
/// which on MySQL 8 displays the privileges of the session's active roles merged into
/// the account's own rows (`Sql_cmd_show_grants::execute` passes the session's
/// `get_active_roles()` when no `USING` is given, `sql/auth/sql_authorization.cc`),
/// so two accounts could compare equal through a role neither holds directly.
/// MySQL >= 8.0 ("SET ROLE Statement") and MariaDB >= 10.0.5 ("SET ROLE").
pub fn set_role_none() -> Statement {
    Statement::new(
        "SET ROLE NONE".to_owned(),
        "turn the session's roles off".to_owned(),
    )
}

/// `SHOW CREATE USER CURRENT_USER()`: the session's own account, which MySQL shows
/// without privileges ("SHOW CREATE USER Statement": the `mysql` schema's `SELECT`
/// is needed "except to see information for the current user").
pub fn show_own_create_user() -> Statement {
    Statement::new(
        "SHOW CREATE USER CURRENT_USER()".to_owned(),
        "show create user of the session's own account".to_owned(),
    )
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
    fn a_secondary_password_is_discarded_by_its_own_statement() {
        let statement = discard_old_password(&Account::new("app_clone", "10.0.%")).unwrap();
        assert_eq!(
            statement.text(),
            "ALTER USER 'app_clone'@'10.0.%' DISCARD OLD PASSWORD"
        );
        assert!(!statement.carries_password());
    }

    #[test]
    fn the_session_setup_bounds_waits_with_the_documented_values() {
        for part in [
            format!("lock_wait_timeout = {LOCK_WAIT_SECONDS},"),
            format!("innodb_lock_wait_timeout = {LOCK_WAIT_SECONDS} "),
            format!("/*M!100101 , max_statement_time = {STATEMENT_SECONDS} */"),
        ] {
            assert!(SESSION_SETUP.contains(&part), "{part}: {SESSION_SETUP}");
        }
    }

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
        let statement =
            set_password(&Account::new("app", "%"), &password, None, Flavor::MySql).unwrap();
        assert!(statement.carries_password());
        assert!(statement.text().contains("s3cr3t''pw"));
        let debug = format!("{statement:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
    }

    #[test]
    fn the_password_statement_keeps_the_plugin_in_each_dialect() {
        let account = Account::new("app_clone", "%");
        let password = Password::new("p'w".to_owned());
        let text = |plugin, flavor| {
            set_password(&account, &password, plugin, flavor)
                .map(|s| s.text().to_owned())
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            text(None, Flavor::MariaDb).as_deref(),
            Ok("ALTER USER 'app_clone'@'%' IDENTIFIED BY 'p''w'")
        );
        assert_eq!(
            text(Some("mysql_native_password"), Flavor::MySql).as_deref(),
            Ok("ALTER USER 'app_clone'@'%' IDENTIFIED WITH mysql_native_password BY 'p''w'")
        );
        assert_eq!(
            text(Some("ed25519"), Flavor::MariaDb).as_deref(),
            Ok("ALTER USER 'app_clone'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('p''w')")
        );
        let refused = text(Some("AWSAuthenticationPlugin"), Flavor::MySql).unwrap_err();
        assert!(
            refused.contains("does not authenticate with a password"),
            "{refused}"
        );
        assert!(!refused.contains("p'w"));
    }

    #[test]
    fn the_clone_is_created_locked_with_the_users_plugin_in_each_dialect() {
        let account = Account::new("app_clone", "%");
        let password = Password::new("p'w".to_owned());
        let cases = [
            (
                None,
                Flavor::MariaDb,
                true,
                "CREATE USER 'app_clone'@'%' IDENTIFIED BY 'p''w' ACCOUNT LOCK",
            ),
            (
                None,
                Flavor::MariaDb,
                false,
                "CREATE USER 'app_clone'@'%' IDENTIFIED BY 'p''w'",
            ),
            (
                Some("caching_sha2_password"),
                Flavor::MySql,
                true,
                "CREATE USER 'app_clone'@'%' IDENTIFIED WITH caching_sha2_password BY 'p''w' ACCOUNT LOCK",
            ),
            (
                Some("ed25519"),
                Flavor::MariaDb,
                true,
                "CREATE USER 'app_clone'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('p''w') ACCOUNT LOCK",
            ),
        ];
        for (plugin, flavor, locked, expected) in cases {
            let statement = create_user(&account, &password, plugin, flavor, locked).unwrap();
            assert_eq!(statement.text(), expected);
            assert!(statement.carries_password());
            assert!(!format!("{statement:?}").contains("p'w"));
        }
        let refused = create_user(
            &account,
            &password,
            Some("auth_socket"),
            Flavor::MySql,
            true,
        )
        .unwrap_err()
        .to_string();
        assert!(
            refused.contains("does not authenticate with a password") && !refused.contains("p'w"),
            "{refused}"
        );
    }

    #[test]
    fn the_own_password_statement_follows_the_version() {
        let password = Password::new("pw".to_owned());
        let old = Password::new("o'ld".to_owned());
        for (version, expected) in [
            ("5.6.51-log", "SET PASSWORD = PASSWORD('pw')"),
            ("5.7.5-m15", "SET PASSWORD = PASSWORD('pw')"),
            ("5.7.6", "ALTER USER USER() IDENTIFIED BY 'pw'"),
            ("8.0.12", "ALTER USER USER() IDENTIFIED BY 'pw'"),
            (
                "8.0.13",
                "ALTER USER USER() IDENTIFIED BY 'pw' REPLACE 'o''ld'",
            ),
            (
                "8.0.36",
                "ALTER USER USER() IDENTIFIED BY 'pw' REPLACE 'o''ld'",
            ),
            (
                "9.1.0",
                "ALTER USER USER() IDENTIFIED BY 'pw' REPLACE 'o''ld'",
            ),
            ("10.11.6-MariaDB", "SET PASSWORD = PASSWORD('pw')"),
        ] {
            let parsed = ServerVersion::parse(version).unwrap();
            let statement = set_own_password(&password, Some(&old), &parsed).unwrap();
            assert_eq!(statement.text(), expected, "{version}");
            assert!(statement.carries_password());
            // Without a password to replace (the retry after 3891), no REPLACE.
            let without = set_own_password(&password, None, &parsed).unwrap();
            assert!(!without.text().contains("REPLACE"), "{version}");
        }
    }

    #[test]
    fn account_properties_are_validated_before_they_become_sql() {
        let account = Account::new("c", "%");
        let limits = [("MAX_USER_CONNECTIONS".to_owned(), "3".to_owned())];
        assert_eq!(
            resource_limits(&account, &limits).unwrap().text(),
            "ALTER USER 'c'@'%' WITH MAX_USER_CONNECTIONS 3"
        );
        let hostile = [("MAX_USER_CONNECTIONS".to_owned(), "3; DROP".to_owned())];
        assert!(resource_limits(&account, &hostile).is_err());
        assert_eq!(
            password_expiry(&account, "INTERVAL 90 DAY").unwrap().text(),
            "ALTER USER 'c'@'%' PASSWORD EXPIRE INTERVAL 90 DAY"
        );
        assert!(password_expiry(&account, "NEVER; DROP").is_err());
        assert_eq!(
            account_lock(&account, false).unwrap().text(),
            "ALTER USER 'c'@'%' ACCOUNT UNLOCK"
        );
    }
}
