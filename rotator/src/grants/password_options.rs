//! MySQL 8's password-management options as `SHOW CREATE USER` prints them.
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
