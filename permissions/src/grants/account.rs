//! The account settings of `SHOW CREATE USER` that the clone must share.
//!
//! `SHOW GRANTS` carries none of these; without them an application pinned to
//! `mysql_native_password` could not log in as a `caching_sha2_password` clone, a
//! clone could expire mid-cycle, lose its connection limits or its password
//! policy, and an existing clone could stay locked.
//!
//! The format is MySQL's (`Rewriter_user::rewrite` in `sql/sql_rewrite.cc`; the
//! manual's example, "SHOW CREATE USER Statement",
//! <https://dev.mysql.com/doc/refman/8.0/en/show-create-user.html>: `... REQUIRE NONE
//! PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK PASSWORD HISTORY DEFAULT PASSWORD REUSE
//! INTERVAL DEFAULT PASSWORD REQUIRE CURRENT DEFAULT`, then `FAILED_LOGIN_ATTEMPTS`
//! and `PASSWORD_LOCK_TIME` when set) and MariaDB's, which prints only what differs
//! from the defaults. MySQL prints the `REQUIRE`
//! values (`SUBJECT`, `ISSUER`, `CIPHER`) between quotes without escaping them
//! (`rewrite_ssl_properties`), so those are read from `mysql.user` instead
//! (`crate::tls_requirement`) and masked before this parser sees the text.

use super::password_options::{PasswordOptions, read as password_option};
use super::{GrantError, Kind, is_word, redact, tokenize, unquote};

/// The account settings of `SHOW CREATE USER` that the clone must share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSettings {
    /// The `REQUIRE` clause (`NONE`, `SSL`, `X509`, `ISSUER '...' AND SUBJECT '...'`...),
    /// `NONE` when absent; the caller replaces it with the clause read from `mysql.user`.
    pub require: String,
    /// MySQL 8's `DEFAULT ROLE` list, if any.
    pub default_roles: Option<String>,
    /// The authentication plugin (`IDENTIFIED WITH` / `VIA`); `None` for MariaDB's
    /// `IDENTIFIED BY PASSWORD` (the server default, `mysql_native_password`).
    pub plugin: Option<String>,
    /// Authentication factors: 1, or 2 and 3 for MySQL 8.0.27+'s multifactor accounts
    /// (`... AND IDENTIFIED WITH ...`: "Multifactor Authentication",
    /// <https://dev.mysql.com/doc/refman/8.0/en/multifactor-authentication.html>).
    pub factors: usize,
    /// Resource limits other than zero (`WITH MAX_USER_CONNECTIONS 3 ...`), names upper case.
    pub limits: Vec<(String, String)>,
    /// `NEVER`, `DEFAULT` or `INTERVAL n DAY`; `DEFAULT` when not printed (MariaDB).
    pub password_expiry: String,
    /// `ACCOUNT LOCK`.
    pub locked: bool,
    /// MySQL 8's password-management options.
    pub password_options: PasswordOptions,
    /// MySQL 8.0.21+'s user attribute (JSON), when the caller read it.
    pub attribute: Option<String>,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            require: "NONE".to_owned(),
            default_roles: None,
            plugin: None,
            factors: 1,
            limits: Vec::new(),
            password_expiry: "DEFAULT".to_owned(),
            locked: false,
            password_options: PasswordOptions::default(),
            attribute: None,
        }
    }
}

impl AccountSettings {
    /// The names of the settings in which `other` differs, for a report; the plugin is
    /// left aside, since the statement that sets the password sets it too.
    pub fn differences(&self, other: &Self) -> Vec<&'static str> {
        let mut names = Vec::new();
        let mut check = |differs: bool, name| {
            if differs {
                names.push(name);
            }
        };
        check(self.require != other.require, "REQUIRE");
        check(self.default_roles != other.default_roles, "DEFAULT ROLE");
        check(
            self.limits != other.limits,
            "resource limits (WITH MAX_...)",
        );
        check(
            self.password_expiry != other.password_expiry,
            "PASSWORD EXPIRE",
        );
        check(self.locked != other.locked, "ACCOUNT LOCK");
        let (ours, theirs) = (
            self.password_options.clauses(),
            other.password_options.clauses(),
        );
        for (index, name) in [
            "PASSWORD HISTORY",
            "PASSWORD REUSE INTERVAL",
            "PASSWORD REQUIRE CURRENT",
            "FAILED_LOGIN_ATTEMPTS",
            "PASSWORD_LOCK_TIME",
        ]
        .into_iter()
        .enumerate()
        {
            check(ours[index] != theirs[index], name);
        }
        check(self.attribute != other.attribute, "ATTRIBUTE");
        names
    }
}

const CLAUSES: &[&str] = &[
    "IDENTIFIED",
    "REQUIRE",
    "WITH",
    "PASSWORD",
    "ACCOUNT",
    "DEFAULT",
    "COMMENT",
    "ATTRIBUTE",
    "FAILED_LOGIN_ATTEMPTS",
    "PASSWORD_LOCK_TIME",
];

/// Parses `SHOW CREATE USER` (all its rows joined: MariaDB prints an expired
/// account's expiry policy as a second `ALTER USER` row) for the account settings.
pub fn parse_create_user(text: &str) -> Result<AccountSettings, GrantError> {
    let text = text.trim();
    let error = |reason| GrantError {
        row: redact(text),
        reason,
    };
    let tokens = tokenize(text).map_err(error)?;
    if tokens.len() < 3
        || !is_word(text, &tokens[0], "CREATE")
        || !is_word(text, &tokens[1], "USER")
    {
        return Err(error("it is not a CREATE USER statement"));
    }
    let is_clause = |index: usize| CLAUSES.iter().any(|w| is_word(text, &tokens[index], w));
    let clause_end = |start: usize| {
        (start..tokens.len())
            .find(|&i| is_clause(i))
            .unwrap_or(tokens.len())
    };
    let word = |index: usize| {
        tokens
            .get(index)
            .filter(|t| t.kind == Kind::Word)
            .map(|t| text[t.start..t.end].to_ascii_uppercase())
    };
    let mut settings = AccountSettings::default();
    let options = &mut settings.password_options;
    let mut index = 2;
    while index < tokens.len() {
        let ahead: Vec<Option<String>> = (index..index + 5).map(word).collect();
        if let Some(taken) = password_option(&ahead, options) {
            index += taken;
            continue;
        }
        let after_password = is_word(text, &tokens[index - 1], "PASSWORD");
        let current = word(index);
        let next = word(index + 1);
        let third = word(index + 2);
        match (current.as_deref(), next.as_deref()) {
            (Some("REQUIRE"), _) if !after_password => {
                let end = clause_end(index + 1);
                if end > index + 1 {
                    text[tokens[index + 1].start..tokens[end - 1].end]
                        .clone_into(&mut settings.require);
                }
                index = end;
            }
            // MySQL: IDENTIFIED WITH 'plugin' [AS '...']; MariaDB: IDENTIFIED VIA plugin [USING '...'].
            (Some("IDENTIFIED"), Some("WITH" | "VIA")) => {
                if settings.plugin.is_none() {
                    settings.plugin = tokens
                        .get(index + 2)
                        .map(|t| unquote(&text[t.start..t.end]));
                }
                index += 3;
            }
            // A second or third factor (MySQL 8.0.27+).
            (Some("AND"), Some("IDENTIFIED")) => {
                settings.factors += 1;
                index += 1;
            }
            (Some("WITH"), _) => {
                index += 1;
                while let (Some(name), Some(value)) = (word(index), word(index + 1)) {
                    if !name.starts_with("MAX_") {
                        break;
                    }
                    if value.chars().any(|c| c.is_ascii_digit() && c != '0') {
                        settings.limits.push((name, value));
                    }
                    index += 2;
                }
            }
            (Some("PASSWORD"), Some("EXPIRE")) => match third.as_deref() {
                Some(policy @ ("NEVER" | "DEFAULT")) => {
                    policy.clone_into(&mut settings.password_expiry);
                    index += 3;
                }
                Some("INTERVAL") => {
                    let days = word(index + 3).unwrap_or_default();
                    settings.password_expiry = format!("INTERVAL {days} DAY");
                    index += 5;
                }
                // A bare PASSWORD EXPIRE marks the password expired now: not a policy to copy.
                _ => index += 2,
            },
            (Some("ACCOUNT"), _) => {
                settings.locked = next.as_deref() == Some("LOCK");
                index += 2;
            }
            (Some("DEFAULT"), Some("ROLE")) => {
                let end = clause_end(index + 2);
                if end > index + 2 {
                    settings.default_roles =
                        Some(text[tokens[index + 2].start..tokens[end - 1].end].to_owned());
                }
                index = end;
            }
            _ => index += 1,
        }
    }
    Ok(settings)
}

#[cfg(test)]
mod tests;
