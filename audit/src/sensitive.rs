//! A secret value that cannot be printed by accident.
//!
//! Passwords read with `--read-secrets` live only in memory, inside
//! [`SensitiveString`], whose `Debug` and `Display` print `***`; the inventory and
//! every report hold only non-sensitive keys. Getting the value out takes an
//! explicit [`SensitiveString::expose`], which is easy to find in review.

use std::fmt;

/// A string whose formatting never shows its content.
#[derive(Clone, PartialEq, Eq)]
pub struct SensitiveString(String);

impl SensitiveString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that must use it (a database login).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SensitiveString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for SensitiveString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let value = SensitiveString::new("hunter2");
        assert_eq!(format!("{value}"), "***");
        assert_eq!(format!("{value:?}"), "***");
        assert_eq!(format!("{:?}", Some(&value)), "Some(***)");
        assert_eq!(value.expose(), "hunter2");
    }
}
