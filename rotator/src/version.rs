//! The database server's version, parsed, and what follows from it.
//!
//! AWS's reference function picked syntax by testing whether the version string
//! starts with `"8"`, which sends MySQL 9 down the 5.7 path. Here the version is
//! parsed into a flavor and numbers, and every decision is a comparison.

use std::fmt;

/// MySQL (including Aurora MySQL) or MariaDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    MySql,
    MariaDb,
}

/// A parsed `SELECT VERSION()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerVersion {
    pub flavor: Flavor,
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl ServerVersion {
    /// Parses `8.0.35`, `5.7.44-log`, `9.1.0`, `8.0.mysql_aurora.3.04.0`,
    /// `10.11.6-MariaDB-0+deb12u1`, `5.5.5-10.11.6-MariaDB` (the handshake form).
    pub fn parse(version: &str) -> Option<Self> {
        let mariadb = version.to_ascii_lowercase().contains("mariadb");
        let text = if mariadb {
            version.strip_prefix("5.5.5-").unwrap_or(version)
        } else {
            version
        };
        let mut numbers = text
            .split(|c: char| !c.is_ascii_digit())
            .map(str::parse::<u32>);
        let major = numbers.next()?.ok()?;
        let minor = numbers.next()?.ok()?;
        // Aurora writes `8.0.mysql_aurora.3.04.0`: the patch is not a number, take 0.
        let patch = text
            .split('.')
            .nth(2)
            .and_then(|p| p.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        Some(Self {
            flavor: if mariadb {
                Flavor::MariaDb
            } else {
                Flavor::MySql
            },
            major,
            minor,
            patch,
        })
    }

    fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        (self.major, self.minor, self.patch) >= (major, minor, patch)
    }

    /// The longest user name the server accepts: MariaDB 80, MySQL ≥ 5.7.8 32, older 16.
    pub fn max_user_name_len(&self) -> usize {
        match self.flavor {
            Flavor::MariaDb if self.at_least(10, 0, 0) => 80,
            Flavor::MySql if self.at_least(5, 7, 8) => 32,
            _ => 16,
        }
    }

    /// Whether `ALTER USER ... IDENTIFIED BY` and `CREATE USER` with it exist (MySQL ≥ 5.7.6, MariaDB ≥ 10.2).
    pub fn supports_alter_user(&self) -> bool {
        match self.flavor {
            Flavor::MySql => self.at_least(5, 7, 6),
            Flavor::MariaDb => self.at_least(10, 2, 0),
        }
    }

    /// Whether `CREATE USER ... ACCOUNT LOCK` exists (MySQL ≥ 5.7.6, MariaDB ≥ 10.4.2:
    /// MySQL manual and MariaDB knowledge base, "Account Locking").
    pub fn supports_account_lock(&self) -> bool {
        match self.flavor {
            Flavor::MySql => self.at_least(5, 7, 6),
            Flavor::MariaDb => self.at_least(10, 4, 2),
        }
    }

    /// Whether `ALTER USER ... IDENTIFIED BY ... REPLACE '<current>'` exists, which an
    /// account under `PASSWORD REQUIRE CURRENT` (or the global
    /// `password_require_current`) must use to change its own password: MySQL 8.0.13+
    /// (<https://dev.mysql.com/doc/refman/8.0/en/password-management.html#password-reverification-policy>);
    /// MariaDB has no such policy.
    pub fn supports_replace_current(&self) -> bool {
        match self.flavor {
            Flavor::MySql => self.at_least(8, 0, 13),
            Flavor::MariaDb => false,
        }
    }

    /// Whether accounts can hold a secondary password (`RETAIN CURRENT PASSWORD`), which
    /// only `DISCARD OLD PASSWORD` removes: MySQL 8.0.14+
    /// (<https://dev.mysql.com/doc/refman/8.0/en/password-management.html#dual-passwords>);
    /// MariaDB has none.
    pub fn supports_dual_passwords(&self) -> bool {
        match self.flavor {
            Flavor::MySql => self.at_least(8, 0, 14),
            Flavor::MariaDb => false,
        }
    }

    /// Whether accounts carry a JSON attribute (`ATTRIBUTE`, `COMMENT`), readable in
    /// `INFORMATION_SCHEMA.USER_ATTRIBUTES`: MySQL 8.0.21+
    /// (<https://dev.mysql.com/doc/refman/8.0/en/information-schema-user-attributes-table.html>).
    pub fn supports_user_attributes(&self) -> bool {
        self.flavor == Flavor::MySql && self.at_least(8, 0, 21)
    }

    /// Whether `ALTER USER ... ACCOUNT UNLOCK` also ends a temporary lock after too
    /// many failed logins: MySQL 8.0.19+ ("Account Locking",
    /// <https://dev.mysql.com/doc/refman/8.0/en/account-locking.html>).
    pub fn unlock_ends_temporary_locks(&self) -> bool {
        self.flavor == Flavor::MySql && self.at_least(8, 0, 19)
    }

    /// Whether `mysql.user` holds every password option (MySQL ≥ 8.0.19: history and
    /// reuse since 8.0.3, `Password_require_current` since 8.0.13, `Password_locking`
    /// in `User_attributes` since failed-login tracking came in 8.0.19); MariaDB has
    /// none of these options.
    pub fn reads_password_options_from_grant_tables(&self) -> bool {
        self.flavor == Flavor::MySql && self.at_least(8, 0, 19)
    }

    /// Whether roles exist (MySQL ≥ 8.0, MariaDB ≥ 10.0.5).
    pub fn supports_roles(&self) -> bool {
        match self.flavor {
            Flavor::MySql => self.at_least(8, 0, 0),
            Flavor::MariaDb => self.at_least(10, 0, 5),
        }
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.flavor {
            Flavor::MySql => "MySQL",
            Flavor::MariaDb => "MariaDB",
        };
        write!(f, "{name} {}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mysql_8_0_14_and_later_has_dual_passwords() {
        let cases = [
            ("8.0.13", false),
            ("8.0.14", true),
            ("8.4.3", true),
            ("5.7.44", false),
            ("10.11.19-MariaDB", false),
        ];
        for (text, expected) in cases {
            let version = ServerVersion::parse(text).expect("parses");
            assert_eq!(version.supports_dual_passwords(), expected, "{text}");
            // REPLACE came one release earlier.
            assert_eq!(
                version.supports_replace_current(),
                expected || text == "8.0.13",
                "{text}"
            );
        }
    }

    #[test]
    fn versions_parse_and_give_the_user_name_limit() {
        let cases = [
            ("5.6.51", Flavor::MySql, (5, 6, 51), 16),
            ("5.7.7-rc", Flavor::MySql, (5, 7, 7), 16),
            ("5.7.8", Flavor::MySql, (5, 7, 8), 32),
            ("5.7.44-log", Flavor::MySql, (5, 7, 44), 32),
            ("8.0.35", Flavor::MySql, (8, 0, 35), 32),
            ("8.0.mysql_aurora.3.04.0", Flavor::MySql, (8, 0, 0), 32),
            ("8.4.3", Flavor::MySql, (8, 4, 3), 32),
            ("9.1.0", Flavor::MySql, (9, 1, 0), 32),
            (
                "10.11.19-MariaDB-0+deb12u1",
                Flavor::MariaDb,
                (10, 11, 19),
                80,
            ),
            (
                "5.5.5-10.6.12-MariaDB-log",
                Flavor::MariaDb,
                (10, 6, 12),
                80,
            ),
            ("11.4.2-MariaDB", Flavor::MariaDb, (11, 4, 2), 80),
        ];
        for (text, flavor, (major, minor, patch), limit) in cases {
            let version =
                ServerVersion::parse(text).unwrap_or_else(|| panic!("{text} did not parse"));
            assert_eq!(
                version,
                ServerVersion {
                    flavor,
                    major,
                    minor,
                    patch
                },
                "{text}"
            );
            assert_eq!(version.max_user_name_len(), limit, "{text}");
        }
    }

    #[test]
    fn mysql_9_is_not_mistaken_for_5_7() {
        let v9 = ServerVersion::parse("9.0.1").unwrap();
        assert!(v9.supports_roles());
        assert!(v9.supports_alter_user());
        let v57 = ServerVersion::parse("5.7.44").unwrap();
        assert!(!v57.supports_roles());
    }

    #[test]
    fn garbage_does_not_parse() {
        for text in ["", "mysql", "x.y.z", "8"] {
            assert_eq!(ServerVersion::parse(text), None, "{text}");
        }
    }
}
