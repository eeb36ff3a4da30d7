//! An account's TLS requirement (`REQUIRE ...`), read from `mysql.user` and written
//! back as exactly quoted SQL.
//!
//! `SHOW CREATE USER` is no source for it on MySQL: `Rewriter_user::rewrite_ssl_properties`
//! (`sql/sql_rewrite.cc`) prints `SUBJECT '`, the value and `'` with nothing escaped, so a
//! distinguished name holding `'` or `\` (`/O=O'Brien Ltd`) prints as text that is not
//! the value, and copying that text gives the clone another requirement or a statement
//! that fails. MariaDB 10.11 escapes them (seen here: `SUBJECT '/CN=O''Brien \\ x'`).
//! Both servers keep the values in `mysql.user` (`ssl_type`, `ssl_cipher`,
//! `x509_issuer`, `x509_subject`: MySQL, "The mysql System Schema",
//! <https://dev.mysql.com/doc/refman/8.0/en/grant-tables.html>; MariaDB's `mysql.user`
//! view: <https://mariadb.com/kb/en/mysql-user-table/>), which a bound query reads
//! byte for byte; [`TlsRequirement::clause`] quotes them with `sql::string_literal`.

use crate::sql::{self, QuoteError};

/// What `REQUIRE` asks of an account's connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsRequirement {
    None,
    /// `REQUIRE SSL`
    Ssl,
    /// `REQUIRE X509`
    X509,
    /// `REQUIRE ISSUER '...' AND SUBJECT '...' AND CIPHER '...'` (each only when set).
    Specified {
        issuer: String,
        subject: String,
        cipher: String,
    },
}

impl TlsRequirement {
    /// From `mysql.user`'s `ssl_type` (`''`, `ANY`, `X509`, `SPECIFIED`) and the three
    /// values; `None` for an `ssl_type` neither server has.
    pub fn from_columns(ssl_type: &str, issuer: &str, subject: &str, cipher: &str) -> Option<Self> {
        match ssl_type.to_ascii_uppercase().as_str() {
            "" => Some(Self::None),
            "ANY" => Some(Self::Ssl),
            "X509" => Some(Self::X509),
            "SPECIFIED" => Some(Self::Specified {
                issuer: issuer.to_owned(),
                subject: subject.to_owned(),
                cipher: cipher.to_owned(),
            }),
            _ => None,
        }
    }

    /// The clause after `REQUIRE`, values quoted as SQL string literals.
    pub fn clause(&self) -> Result<String, QuoteError> {
        Ok(match self {
            Self::None => "NONE".to_owned(),
            Self::Ssl => "SSL".to_owned(),
            Self::X509 => "X509".to_owned(),
            Self::Specified {
                issuer,
                subject,
                cipher,
            } => {
                let mut parts = Vec::new();
                for (name, value, what) in [
                    ("ISSUER", issuer, "REQUIRE ISSUER"),
                    ("SUBJECT", subject, "REQUIRE SUBJECT"),
                    ("CIPHER", cipher, "REQUIRE CIPHER"),
                ] {
                    if !value.is_empty() {
                        parts.push(format!("{name} {}", sql::string_literal(value, what)?));
                    }
                }
                // MySQL refuses `REQUIRE` with no option; an empty SPECIFIED is no requirement.
                if parts.is_empty() {
                    "NONE".to_owned()
                } else {
                    parts.join(" AND ")
                }
            }
        })
    }

    /// `text` (a `SHOW CREATE USER` row) with each of this requirement's values, where
    /// it stands quoted as printed without escapes, replaced by `'-'`: a value with a
    /// quote in it would otherwise end the string early for any reader of the text.
    pub fn mask(&self, text: &str) -> String {
        let Self::Specified {
            issuer,
            subject,
            cipher,
        } = self
        else {
            return text.to_owned();
        };
        let mut masked = text.to_owned();
        for value in [issuer, subject, cipher] {
            if !value.is_empty() {
                masked = masked.replace(&format!("'{value}'"), "'-'");
            }
        }
        masked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_exactly_whatever_they_hold() {
        let specified =
            TlsRequirement::from_columns("SPECIFIED", "/C=US/O=It's", "/CN=O'Brien \\ x", "")
                .expect("known type");
        assert_eq!(
            specified.clause(),
            Ok("ISSUER '/C=US/O=It''s' AND SUBJECT '/CN=O''Brien \\\\ x'".to_owned())
        );
        for (ssl_type, clause) in [("", "NONE"), ("ANY", "SSL"), ("X509", "X509")] {
            assert_eq!(
                TlsRequirement::from_columns(ssl_type, "", "", "").map(|r| r.clause()),
                Some(Ok(clause.to_owned()))
            );
        }
        assert_eq!(
            TlsRequirement::from_columns("SPECIFIED", "", "", "").map(|r| r.clause()),
            Some(Ok("NONE".to_owned()))
        );
        assert_eq!(TlsRequirement::from_columns("OTHER", "", "", ""), None);
        let nul = TlsRequirement::from_columns("SPECIFIED", "", "a\0b", "").expect("known");
        assert!(nul.clause().is_err());
    }

    /// MySQL prints the values unescaped (`rewrite_ssl_properties`); the masked text
    /// parses, and MariaDB's escaped text is left as it is.
    #[test]
    fn unescaped_values_are_masked_before_parsing() {
        let requirement =
            TlsRequirement::from_columns("SPECIFIED", "/O=It's", "/CN=a", "").expect("known type");
        let mysql = "CREATE USER `u`@`%` IDENTIFIED WITH 'caching_sha2_password' REQUIRE SUBJECT '/CN=a' ISSUER '/O=It's' PASSWORD EXPIRE DEFAULT ACCOUNT LOCK";
        assert!(
            crate::grants::parse_create_user(mysql).is_err(),
            "unreadable as printed"
        );
        let masked = requirement.mask(mysql);
        let settings = crate::grants::parse_create_user(&masked).expect("masked text parses");
        assert!(settings.locked);
        let mariadb = "CREATE USER `u`@`%` REQUIRE ISSUER '/O=It''s' SUBJECT '/CN=a'";
        assert!(crate::grants::parse_create_user(&requirement.mask(mariadb)).is_ok());
    }
}
