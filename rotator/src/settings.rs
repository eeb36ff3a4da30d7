//! The function's environment settings, under the names of AWS's reference function.
//!
//! Read once at start, validated, so a typo in a setting fails the first invocation
//! with the variable's name instead of a rotation that half happens.

use std::path::PathBuf;

/// The user strategy of a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Two users, `name` and `name_clone`, alternate; an admin secret changes them.
    AlternatingUsers,
    /// One user changes its own password; no admin secret.
    SingleUser,
}

/// Settings of `GetRandomPassword`, user names, TLS and the strategy.
#[allow(clippy::struct_excessive_bools)] // the reference's settings, one flag each
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub exclude_characters: String,
    pub password_length: i64,
    pub exclude_numbers: bool,
    pub exclude_punctuation: bool,
    pub exclude_uppercase: bool,
    pub exclude_lowercase: bool,
    pub require_each_included_type: bool,
    pub secrets_manager_endpoint: Option<String>,
    pub username_character_limit: Option<usize>,
    pub strategy: Strategy,
    pub ca_bundle: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            exclude_characters: "/@\"'\\".to_owned(),
            password_length: 32,
            exclude_numbers: false,
            exclude_punctuation: false,
            exclude_uppercase: false,
            exclude_lowercase: false,
            require_each_included_type: true,
            secrets_manager_endpoint: None,
            username_character_limit: None,
            strategy: Strategy::AlternatingUsers,
            ca_bundle: None,
        }
    }
}

/// A setting with a value the function cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name}={value:?} is invalid: {expected}")]
pub struct SettingError {
    pub name: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// The reference's booleans: `true`, `1`, `y`, `yes` in any case are true.
fn boolean(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "true" | "1" | "y" | "yes"
    )
}

impl Settings {
    /// Reads the settings through `lookup` (the process environment in the function).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let mut settings = Self::default();
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        if let Some(value) = lookup("EXCLUDE_CHARACTERS") {
            settings.exclude_characters = value;
        }
        if let Some(value) = get("PASSWORD_LENGTH") {
            settings.password_length = match value.trim().parse::<i64>() {
                Ok(length) if (8..=4096).contains(&length) => length,
                _ => {
                    return Err(SettingError {
                        name: "PASSWORD_LENGTH",
                        value,
                        expected: "a whole number from 8 to 4096",
                    });
                }
            };
        }
        for (name, field) in [
            ("EXCLUDE_NUMBERS", &mut settings.exclude_numbers),
            ("EXCLUDE_PUNCTUATION", &mut settings.exclude_punctuation),
            ("EXCLUDE_UPPERCASE", &mut settings.exclude_uppercase),
            ("EXCLUDE_LOWERCASE", &mut settings.exclude_lowercase),
            (
                "REQUIRE_EACH_INCLUDED_TYPE",
                &mut settings.require_each_included_type,
            ),
        ] {
            if let Some(value) = get(name) {
                *field = boolean(&value);
            }
        }
        settings.secrets_manager_endpoint = get("SECRETS_MANAGER_ENDPOINT");
        if let Some(value) = get("USERNAME_CHARACTER_LIMIT") {
            settings.username_character_limit = match value.trim().parse::<usize>() {
                Ok(limit) if (1..=255).contains(&limit) => Some(limit),
                _ => {
                    return Err(SettingError {
                        name: "USERNAME_CHARACTER_LIMIT",
                        value,
                        expected: "a whole number from 1 to 255",
                    });
                }
            };
        }
        if let Some(value) = get("ROTATION_STRATEGY") {
            settings.strategy = match value.trim().to_ascii_lowercase().as_str() {
                "alternating-users" | "alternating_users" => Strategy::AlternatingUsers,
                "single-user" | "single_user" => Strategy::SingleUser,
                _ => {
                    return Err(SettingError {
                        name: "ROTATION_STRATEGY",
                        value,
                        expected: "alternating-users or single-user",
                    });
                }
            };
        }
        // A relative path names a file packaged with the function (in its zip):
        // Lambda unpacks the zip to LAMBDA_TASK_ROOT (/var/task).
        settings.ca_bundle =
            get("DB_CA_BUNDLE")
                .map(PathBuf::from)
                .map(|path| match get("LAMBDA_TASK_ROOT") {
                    Some(root) if path.is_relative() => PathBuf::from(root).join(path),
                    _ => path,
                });
        Ok(settings)
    }

    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, SettingError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Settings, SettingError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_match_the_reference() {
        let settings = with(&[]).unwrap();
        assert_eq!(settings.exclude_characters, "/@\"'\\");
        assert_eq!(settings.password_length, 32);
        assert!(settings.require_each_included_type);
        assert!(!settings.exclude_punctuation);
        assert_eq!(settings.strategy, Strategy::AlternatingUsers);
    }

    #[test]
    fn booleans_read_as_the_reference_reads_them() {
        for (value, expected) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("y", true),
            ("Yes", true),
            ("false", false),
            ("0", false),
            ("no", false),
            ("on", false),
        ] {
            assert_eq!(
                with(&[("EXCLUDE_PUNCTUATION", value)])
                    .unwrap()
                    .exclude_punctuation,
                expected,
                "{value}"
            );
        }
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases = [
            ("PASSWORD_LENGTH", "abc"),
            ("PASSWORD_LENGTH", "4"),
            ("USERNAME_CHARACTER_LIMIT", "0"),
            ("USERNAME_CHARACTER_LIMIT", "x"),
            ("ROTATION_STRATEGY", "multi-user"),
        ];
        for (name, value) in cases {
            let error = with(&[(name, value)]).unwrap_err();
            assert_eq!(error.name, name);
            assert!(error.to_string().contains(name));
        }
    }

    #[test]
    fn a_relative_ca_bundle_is_found_in_the_function_package() {
        let packaged = with(&[
            ("DB_CA_BUNDLE", "ca-bundle.pem"),
            ("LAMBDA_TASK_ROOT", "/var/task"),
        ])
        .unwrap();
        assert_eq!(
            packaged.ca_bundle,
            Some(PathBuf::from("/var/task/ca-bundle.pem"))
        );
        let absolute = with(&[
            ("DB_CA_BUNDLE", "/opt/rds.pem"),
            ("LAMBDA_TASK_ROOT", "/var/task"),
        ])
        .unwrap();
        assert_eq!(absolute.ca_bundle, Some(PathBuf::from("/opt/rds.pem")));
    }

    #[test]
    fn strategy_and_limits_parse() {
        let settings = with(&[
            ("ROTATION_STRATEGY", "single-user"),
            ("USERNAME_CHARACTER_LIMIT", "16"),
            ("DB_CA_BUNDLE", "/opt/rds.pem"),
        ])
        .unwrap();
        assert_eq!(settings.strategy, Strategy::SingleUser);
        assert_eq!(settings.username_character_limit, Some(16));
        assert_eq!(settings.ca_bundle, Some(PathBuf::from("/opt/rds.pem")));
    }
}
