//! MySQL 8's password-management options, read from `mysql.user` on MySQL 8.0.19+
//! ([`PasswordOptions::from_columns`]) and from `SHOW CREATE USER` before that.
//!
//! Each is kept as the clause that sets it, so copying one is `ALTER USER ... <clause>`
//! (checked again by `sql::password_option`), and one the server did not print is its
//! default: MariaDB prints none of them, MySQL only the failed-login ones when set
//! (`Rewriter_user::rewrite_account_lock_state`, `sql/sql_rewrite.cc`).

/// MySQL 8's password-management options of an account, each as the clause that
/// sets it, with the server default when `SHOW CREATE USER` does not print it
/// (MariaDB never does; MySQL: "Password Management",
/// <https://dev.mysql.com/doc/refman/8.0/en/password-management.html>).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordOptions {
    /// `PASSWORD HISTORY DEFAULT | n`
    pub history: String,
    /// `PASSWORD REUSE INTERVAL DEFAULT | n DAY`
    pub reuse_interval: String,
    /// `PASSWORD REQUIRE CURRENT [DEFAULT | OPTIONAL]`
    pub require_current: String,
    /// `FAILED_LOGIN_ATTEMPTS n` (0: no tracking)
    pub failed_login_attempts: String,
    /// `PASSWORD_LOCK_TIME n | UNBOUNDED` (0: no lock)
    pub password_lock_time: String,
}

impl Default for PasswordOptions {
    fn default() -> Self {
        Self {
            history: "PASSWORD HISTORY DEFAULT".to_owned(),
            reuse_interval: "PASSWORD REUSE INTERVAL DEFAULT".to_owned(),
            require_current: "PASSWORD REQUIRE CURRENT DEFAULT".to_owned(),
            failed_login_attempts: "FAILED_LOGIN_ATTEMPTS 0".to_owned(),
            password_lock_time: "PASSWORD_LOCK_TIME 0".to_owned(),
        }
    }
}

impl PasswordOptions {
    /// Every option's clause, in a fixed order.
    pub fn clauses(&self) -> [&str; 5] {
        [
            &self.history,
            &self.reuse_interval,
            &self.require_current,
            &self.failed_login_attempts,
            &self.password_lock_time,
        ]
    }

    /// Whether failed logins can lock the account for a while (both options set).
    pub fn tracks_failed_logins(&self) -> bool {
        !self.failed_login_attempts.ends_with(" 0") && !self.password_lock_time.ends_with(" 0")
    }

    /// The consecutive failed logins that lock the account, when failed logins do.
    pub fn failed_login_limit(&self) -> Option<u32> {
        if !self.tracks_failed_logins() {
            return None;
        }
        self.failed_login_attempts
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
    }
}

/// How many consecutive failed logins lock an account, as far as it was read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FailedLoginLimit {
    /// Failed logins lock nothing.
    None,
    /// This many consecutive failed logins lock the account.
    Locks(u32),
    /// Not read: any login after the first may be the one that locks it.
    #[default]
    Unknown,
}

impl From<Option<u32>> for FailedLoginLimit {
    fn from(limit: Option<u32>) -> Self {
        limit.map_or(Self::None, Self::Locks)
    }
}

/// The password options `SHOW CREATE USER` text states (all its rows joined);
/// `None` when it does not parse, or, on a server that prints ATTRIBUTE or COMMENT
/// clauses (`modern`: MySQL 8.0.19+ reads them from the grant tables), when such a
/// clause is there: its free text comes last and could be made to look like a
/// password option. MySQL locks an account only when `FAILED_LOGIN_ATTEMPTS` and
/// `PASSWORD_LOCK_TIME` are both nonzero ("Failed-Login Tracking and Temporary
/// Account Locking", <https://dev.mysql.com/doc/refman/8.0/en/password-management.html>):
/// see [`PasswordOptions::failed_login_limit`].
pub fn options_from_create_user(text: &str, modern: bool) -> Option<PasswordOptions> {
    let upper = text.to_ascii_uppercase();
    if modern && (upper.contains(" ATTRIBUTE '") || upper.contains(" COMMENT '")) {
        return None;
    }
    super::parse_create_user(text)
        .ok()
        .map(|settings| settings.password_options)
}

/// The failed-login limit `SHOW CREATE USER` text states ([`options_from_create_user`]);
/// unknown when that reads nothing.
pub fn limit_from_create_user(text: &str, modern: bool) -> FailedLoginLimit {
    options_from_create_user(text, modern)
        .map_or(FailedLoginLimit::Unknown, |o| o.failed_login_limit().into())
}

/// The columns of `mysql.user` that hold an account's password options on MySQL
/// 8.0.19+, as text, `None` for SQL `NULL`: `Password_reuse_history` and
/// `Password_reuse_time` (`smallint unsigned`, `NULL`: the global default),
/// `Password_require_current` (`enum('N','Y')`, `NULL`: the default), and the
/// `Password_locking` member of `User_attributes` (JSON, `failed_login_attempts` and
/// `password_lock_time_days`, -1 for `UNBOUNDED`; absent when neither is set). The
/// table's definition: `scripts/mysql_system_tables.sql` (MySQL 8.0); the JSON is
/// what `CREATE USER ... FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME 2` stores
/// (`{"Password_locking": {"failed_login_attempts": 3, "password_lock_time_days": 2}}`,
/// mysql-test `user_lock`; "Failed-Login Tracking and Temporary Account Locking",
/// <https://dev.mysql.com/doc/refman/8.0/en/password-management.html>).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordColumns {
    pub reuse_history: Option<String>,
    pub reuse_time: Option<String>,
    pub require_current: Option<String>,
    pub failed_login_attempts: Option<String>,
    pub lock_time_days: Option<String>,
}

impl PasswordOptions {
    /// The options the columns hold, each as the clause that sets it; an error names
    /// the column whose value is not one MySQL stores. Nothing is read from `SHOW
    /// CREATE USER` text, so no value elsewhere in it (a crafted `REQUIRE SUBJECT`)
    /// can pass for one of these.
    pub fn from_columns(columns: &PasswordColumns) -> Result<Self, String> {
        let number = |name: &str, value: &str| {
            if !value.is_empty() && value.len() <= 5 && value.bytes().all(|b| b.is_ascii_digit()) {
                Ok(value.to_owned())
            } else {
                Err(format!(
                    "mysql.user {name} holds `{value}`, not a number of MySQL's"
                ))
            }
        };
        let mut options = Self::default();
        if let Some(value) = &columns.reuse_history {
            options.history = format!(
                "PASSWORD HISTORY {}",
                number("Password_reuse_history", value)?
            );
        }
        if let Some(value) = &columns.reuse_time {
            options.reuse_interval = format!(
                "PASSWORD REUSE INTERVAL {} DAY",
                number("Password_reuse_time", value)?
            );
        }
        match columns.require_current.as_deref() {
            None => {}
            Some("Y") => "PASSWORD REQUIRE CURRENT".clone_into(&mut options.require_current),
            Some("N") => {
                "PASSWORD REQUIRE CURRENT OPTIONAL".clone_into(&mut options.require_current);
            }
            Some(other) => {
                return Err(format!(
                    "mysql.user Password_require_current holds `{other}`, not Y, N or NULL"
                ));
            }
        }
        if let Some(value) = &columns.failed_login_attempts {
            options.failed_login_attempts = format!(
                "FAILED_LOGIN_ATTEMPTS {}",
                number("failed_login_attempts", value)?
            );
        }
        match columns.lock_time_days.as_deref() {
            None => {}
            Some("-1") => {
                "PASSWORD_LOCK_TIME UNBOUNDED".clone_into(&mut options.password_lock_time);
            }
            Some(value) => {
                options.password_lock_time = format!(
                    "PASSWORD_LOCK_TIME {}",
                    number("password_lock_time_days", value)?
                );
            }
        }
        Ok(options)
    }
}

/// Reads one of MySQL 8's password options from `ahead` (the next words, upper case)
/// into `options`; returns how many words it took, `None` when none starts there.
pub(super) fn read(ahead: &[Option<String>], options: &mut PasswordOptions) -> Option<usize> {
    let w = |i: usize| ahead.get(i).and_then(|w| w.as_deref());
    match (w(0)?, w(1)) {
        ("PASSWORD", Some("HISTORY")) => {
            options.history = format!("PASSWORD HISTORY {}", w(2)?);
            Some(3)
        }
        ("PASSWORD", Some("REUSE")) => match w(3)? {
            "DEFAULT" => {
                "PASSWORD REUSE INTERVAL DEFAULT".clone_into(&mut options.reuse_interval);
                Some(4)
            }
            days => {
                options.reuse_interval = format!("PASSWORD REUSE INTERVAL {days} DAY");
                Some(5)
            }
        },
        ("PASSWORD", Some("REQUIRE")) if w(2) == Some("CURRENT") => {
            if let Some(value @ ("DEFAULT" | "OPTIONAL")) = w(3) {
                options.require_current = format!("PASSWORD REQUIRE CURRENT {value}");
                Some(4)
            } else {
                "PASSWORD REQUIRE CURRENT".clone_into(&mut options.require_current);
                Some(3)
            }
        }
        ("FAILED_LOGIN_ATTEMPTS", Some(value)) => {
            options.failed_login_attempts = format!("FAILED_LOGIN_ATTEMPTS {value}");
            Some(2)
        }
        ("PASSWORD_LOCK_TIME", Some(value)) => {
            options.password_lock_time = format!("PASSWORD_LOCK_TIME {value}");
            Some(2)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_read_from_show_create_user_unless_free_text_follows_it() {
        let plain = "CREATE USER `app`@`%` IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$abc' REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK PASSWORD HISTORY DEFAULT PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT DEFAULT FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME 2";
        let attribute = format!("{plain} ATTRIBUTE '{{\"note\": \"FAILED_LOGIN_ATTEMPTS 0\"}}'");
        let comment = format!("{plain} COMMENT 'x'");
        let cases = [
            // An application user that may not read mysql.user: its own text.
            (plain, true, FailedLoginLimit::Locks(3)),
            (plain, false, FailedLoginLimit::Locks(3)),
            // Free text after the options on 8.0.19+: not trusted.
            (attribute.as_str(), true, FailedLoginLimit::Unknown),
            (comment.as_str(), true, FailedLoginLimit::Unknown),
            // Tracked but never locked (PASSWORD_LOCK_TIME 0), or not tracked.
            (
                "CREATE USER `app`@`%` FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME 0",
                true,
                FailedLoginLimit::None,
            ),
            (
                "CREATE USER `app`@`%` FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME UNBOUNDED",
                true,
                FailedLoginLimit::Locks(3),
            ),
            // MariaDB prints no such option.
            (
                "CREATE USER `app`@`%` IDENTIFIED BY PASSWORD '*0123'",
                false,
                FailedLoginLimit::None,
            ),
            // Text that does not parse.
            (
                "CREATE USER `app`@`%` REQUIRE SUBJECT '/O=O'Reilly' FAILED_LOGIN_ATTEMPTS 3",
                true,
                FailedLoginLimit::Unknown,
            ),
        ];
        for (text, modern, expected) in cases {
            assert_eq!(limit_from_create_user(text, modern), expected, "{text}");
        }
    }

    fn columns(values: [Option<&str>; 5]) -> PasswordColumns {
        let [
            reuse_history,
            reuse_time,
            require_current,
            failed_login_attempts,
            lock_time_days,
        ] = values.map(|v| v.map(str::to_owned));
        PasswordColumns {
            reuse_history,
            reuse_time,
            require_current,
            failed_login_attempts,
            lock_time_days,
        }
    }

    /// The column values MySQL 8.0 stores for each clause (see `PasswordColumns`).
    #[test]
    fn the_grant_table_columns_give_the_clauses() {
        assert_eq!(
            PasswordOptions::from_columns(&columns([None; 5])),
            Ok(PasswordOptions::default())
        );
        let set = PasswordOptions::from_columns(&columns([
            Some("5"),
            Some("365"),
            Some("Y"),
            Some("3"),
            Some("-1"),
        ]))
        .expect("valid");
        assert_eq!(
            set.clauses(),
            [
                "PASSWORD HISTORY 5",
                "PASSWORD REUSE INTERVAL 365 DAY",
                "PASSWORD REQUIRE CURRENT",
                "FAILED_LOGIN_ATTEMPTS 3",
                "PASSWORD_LOCK_TIME UNBOUNDED"
            ]
        );
        assert!(set.tracks_failed_logins());
        assert_eq!(set.failed_login_limit(), Some(3));
        let optional = PasswordOptions::from_columns(&columns([
            Some("0"),
            None,
            Some("N"),
            Some("0"),
            Some("2"),
        ]))
        .expect("valid");
        assert_eq!(
            optional.clauses(),
            [
                "PASSWORD HISTORY 0",
                "PASSWORD REUSE INTERVAL DEFAULT",
                "PASSWORD REQUIRE CURRENT OPTIONAL",
                "FAILED_LOGIN_ATTEMPTS 0",
                "PASSWORD_LOCK_TIME 2"
            ]
        );
        assert!(!optional.tracks_failed_logins());
        assert_eq!(optional.failed_login_limit(), None);
    }

    #[test]
    fn a_value_mysql_does_not_store_is_refused_by_column() {
        for (values, column) in [
            (
                [Some("5 FAILED_LOGIN_ATTEMPTS 9"), None, None, None, None],
                "Password_reuse_history",
            ),
            ([None, Some(""), None, None, None], "Password_reuse_time"),
            (
                [None, None, Some("OPTIONAL"), None, None],
                "Password_require_current",
            ),
            (
                [None, None, None, Some("-3"), None],
                "failed_login_attempts",
            ),
            (
                [None, None, None, None, Some("1e9")],
                "password_lock_time_days",
            ),
        ] {
            let error = PasswordOptions::from_columns(&columns(values)).expect_err("refused");
            assert!(error.contains(column), "{error}");
        }
    }
}
