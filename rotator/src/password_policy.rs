//! The server's password policy, met before a password is frozen into `AWSPENDING`.
//!
//! A server with MySQL's `validate_password` (component or plugin) or MariaDB's
//! `simple_password_check` refuses a weak password with error 1819
//! (`ER_NOT_VALID_PASSWORD`) in `setSecret`. By then the password is stored in the
//! pending version, and every retry sets the same refused password again: the rotation
//! can never finish. So `createSecret` reads the policy's variables, asks
//! `GetRandomPassword` for a length that meets them, checks each answer here and asks
//! again a bounded number of times. A policy the settings cannot meet stops the step
//! before anything is written, naming the variable, its value and the fix.
//!
//! No candidate is ever sent to the server: `VALIDATE_PASSWORD_STRENGTH()` would put it
//! in the general and slow logs. Only what the variables describe is checked; MySQL's
//! `STRONG` policy also compares substrings with a dictionary file the rotator cannot
//! read, which is left to the server.
//!
//! Sources. MySQL reference manual, "Password Validation Options and Variables"
//! (<https://dev.mysql.com/doc/refman/8.0/en/validate-password-options-variables.html>):
//! `LOW` checks the length only; `MEDIUM` and `STRONG` add `number_count`,
//! `mixed_case_count` (that many lowercase and that many uppercase letters) and
//! `special_char_count` (nonalphanumeric characters); `length` cannot be below
//! `number_count + special_char_count + 2 * mixed_case_count`; `check_user_name`
//! refuses the user name and its reverse. MySQL 5.7's plugin names the same variables
//! with `_` for `.` (`validate_password_length`). MariaDB knowledge base, "Simple
//! Password Check Plugin" (<https://mariadb.com/kb/en/simple-password-check-plugin/>):
//! `simple_password_check_minimal_length`, `_digits`, `_letters_same_case` (that many
//! upper-case and that many lower-case letters) and `_other_characters` (neither digit
//! nor letter).
//!
//! The length is also capped at what `caching_sha2_password` (MySQL 8's default plugin)
//! accepts: 256 characters, and 213 when a client without TLS sends the password
//! RSA-encrypted (RSA-2048 with OAEP padding carries 214 bytes, the password and its
//! terminating NUL); see /work/shared/docs/rotation-facts.md, "RDS for MySQL 8".

use crate::settings::Settings;

/// The punctuation `GetRandomPassword` draws from (`ExcludePunctuation` in the
/// Secrets Manager API reference).
pub const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// How many passwords `createSecret` asks for before it gives up.
pub const ATTEMPTS: usize = 10;

/// The chance that one generated password meets the policy, which the requested length
/// is raised to reach (so that [`ATTEMPTS`] all missing is a one in 10^10 event).
const WANTED_CHANCE: f64 = 0.9;

/// One requirement and the variable it comes from, for the messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub count: usize,
    /// The variable as the server reported it: `simple_password_check_digits = 3`.
    pub source: String,
}

/// What a new password must have to pass the server's policy. All `None`: no policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    pub length: Option<Need>,
    pub digits: Option<Need>,
    pub lowercase: Option<Need>,
    pub uppercase: Option<Need>,
    pub special: Option<Need>,
    /// `validate_password.check_user_name = ON`: not the user name, nor it reversed.
    pub not_user_name: Option<String>,
}

/// The length `createSecret` may ask for at most, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    pub chars: usize,
    pub why: &'static str,
}

impl Cap {
    /// MySQL's cap (see the module's documentation); `None` on MariaDB, whose password
    /// plugins take any length.
    pub fn for_mysql(tls_required: bool) -> Self {
        if tls_required {
            Self {
                chars: 256,
                why: "caching_sha2_password accepts",
            }
        } else {
            Self {
                chars: 213,
                why: "caching_sha2_password accepts from a client without TLS (RSA-encrypted password exchange; with \"ssl\": true in the secret the limit is 256)",
            }
        }
    }
}

/// What to ask `GetRandomPassword` for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub length: usize,
    /// `PASSWORD_LENGTH` was above the cap and was lowered to it.
    pub clamped: bool,
}

fn need(count: usize, name: &str, value: &str) -> Option<Need> {
    (count > 0).then(|| Need {
        count,
        source: format!("{name} = {value}"),
    })
}

/// The larger of two requirements of the same kind.
fn stricter(a: Option<Need>, b: Option<Need>) -> Option<Need> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.count > a.count { b } else { a }),
        (a, b) => a.or(b),
    }
}

impl Requirements {
    /// Reads the variables of `SHOW GLOBAL VARIABLES` (name, value); absent variables
    /// mean no policy. A value that is not what the manuals describe is an error naming it.
    pub fn from_variables(variables: &[(String, String)]) -> Result<Self, String> {
        // MySQL 8's component uses `validate_password.x`, 5.7's plugin `validate_password_x`.
        let find = |name: &str| {
            let old = name.replace('.', "_");
            variables
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name) || n.eq_ignore_ascii_case(&old))
                .map(|(n, v)| (n.as_str(), v.trim()))
        };
        let number = |name: &str| -> Result<Option<Need>, String> {
            let Some((found, value)) = find(name) else {
                return Ok(None);
            };
            let count = value.parse::<usize>().map_err(|_| {
                format!("the server reports {found} = {value}, which is not a whole number; check the server's password-validation settings")
            })?;
            Ok(need(count, found, value))
        };
        let mut wanted = Self::default();
        if let Some((found, value)) = find("validate_password.policy") {
            let counts = match value.to_ascii_uppercase().as_str() {
                "0" | "LOW" => false,
                "1" | "MEDIUM" | "2" | "STRONG" => true,
                _ => {
                    return Err(format!(
                        "the server reports {found} = {value}, not LOW, MEDIUM or STRONG; check the server's password-validation settings"
                    ));
                }
            };
            wanted.length = number("validate_password.length")?;
            if counts {
                let mixed = number("validate_password.mixed_case_count")?;
                wanted.digits = number("validate_password.number_count")?;
                wanted.special = number("validate_password.special_char_count")?;
                wanted.lowercase.clone_from(&mixed);
                wanted.uppercase = mixed;
            }
            if let Some((found, value)) = find("validate_password.check_user_name")
                && matches!(value.to_ascii_uppercase().as_str(), "ON" | "1")
            {
                wanted.not_user_name = Some(format!("{found} = {value}"));
            }
        }
        let letters = number("simple_password_check_letters_same_case")?;
        wanted.length = stricter(
            wanted.length,
            number("simple_password_check_minimal_length")?,
        );
        wanted.digits = stricter(wanted.digits, number("simple_password_check_digits")?);
        wanted.special = stricter(
            wanted.special,
            number("simple_password_check_other_characters")?,
        );
        wanted.lowercase = stricter(wanted.lowercase, letters.clone());
        wanted.uppercase = stricter(wanted.uppercase, letters);
        Ok(wanted)
    }

    /// Whether any variable asks anything.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The character classes with their requirement, the class's name, and the
    /// setting that would exclude it.
    fn classes(&self) -> [(Option<&Need>, Class); 4] {
        [
            (self.digits.as_ref(), Class::Digit),
            (self.lowercase.as_ref(), Class::Lowercase),
            (self.uppercase.as_ref(), Class::Uppercase),
            (self.special.as_ref(), Class::Special),
        ]
    }
}

/// The character classes the policies count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Digit,
    Lowercase,
    Uppercase,
    Special,
}

impl Class {
    fn of(c: char) -> Self {
        if c.is_ascii_digit() || c.is_numeric() {
            Self::Digit
        } else if c.is_lowercase() {
            Self::Lowercase
        } else if c.is_uppercase() {
            Self::Uppercase
        } else {
            Self::Special
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Self::Digit => "digits",
            Self::Lowercase => "lowercase letters",
            Self::Uppercase => "uppercase letters",
            Self::Special => "special characters (punctuation)",
        }
    }

    fn setting(self) -> &'static str {
        match self {
            Self::Digit => "EXCLUDE_NUMBERS",
            Self::Lowercase => "EXCLUDE_LOWERCASE",
            Self::Uppercase => "EXCLUDE_UPPERCASE",
            Self::Special => "EXCLUDE_PUNCTUATION",
        }
    }

    fn excluded(self, settings: &Settings) -> bool {
        match self {
            Self::Digit => settings.exclude_numbers,
            Self::Lowercase => settings.exclude_lowercase,
            Self::Uppercase => settings.exclude_uppercase,
            Self::Special => settings.exclude_punctuation,
        }
    }

    /// The characters of this class `GetRandomPassword` may return under `settings`.
    fn available(self, settings: &Settings) -> usize {
        if self.excluded(settings) {
            return 0;
        }
        let all: Vec<char> = match self {
            Self::Digit => ('0'..='9').collect(),
            Self::Lowercase => ('a'..='z').collect(),
            Self::Uppercase => ('A'..='Z').collect(),
            Self::Special => PUNCTUATION.chars().collect(),
        };
        all.iter()
            .filter(|c| !settings.exclude_characters.contains(**c))
            .count()
    }
}

/// The length to ask `GetRandomPassword` for: at least `PASSWORD_LENGTH` and the
/// policy's minimum, raised until one password meets every count nine times in ten,
/// never above `cap`. A policy the settings or the cap cannot meet is an error that
/// names the variable, its value and the fix.
pub fn plan(wanted: &Requirements, settings: &Settings, cap: Option<Cap>) -> Result<Plan, String> {
    let alphabet: usize = [
        Class::Digit,
        Class::Lowercase,
        Class::Uppercase,
        Class::Special,
    ]
    .iter()
    .map(|c| c.available(settings))
    .sum();
    let mut shares = Vec::new();
    for (need, class) in wanted.classes() {
        let Some(need) = need else { continue };
        let available = class.available(settings);
        if available == 0 {
            let why = if class.excluded(settings) {
                format!("{}=true excludes them", class.setting())
            } else {
                "EXCLUDE_CHARACTERS excludes every one of them".to_owned()
            };
            return Err(format!(
                "the server's password policy requires {} {} ({}), but {why}; set {}=false and keep some of them out of EXCLUDE_CHARACTERS, or lower {} on the server",
                need.count,
                class.plural(),
                need.source,
                class.setting(),
                need.source.split(" = ").next().unwrap_or(&need.source)
            ));
        }
        #[allow(clippy::cast_precision_loss)] // both far below 2^52
        shares.push((need.count, available as f64 / alphabet.max(1) as f64));
    }
    let counted: usize = shares.iter().map(|(n, _)| n).sum();
    let minimum = wanted.length.as_ref().map_or(0, |n| n.count).max(counted);
    if let Some(cap) = cap
        && minimum > cap.chars
    {
        let mut sources: Vec<&str> = std::iter::once(wanted.length.as_ref())
            .chain(wanted.classes().iter().map(|(n, _)| *n))
            .flatten()
            .map(|n| n.source.as_str())
            .collect();
        sources.dedup();
        return Err(format!(
            "the server's password policy ({}) requires passwords of at least {minimum} characters, more than the {} characters {}; lower those variables on the server",
            sources.join(", "),
            cap.chars,
            cap.why
        ));
    }
    let setting = usize::try_from(settings.password_length).unwrap_or(0);
    let upper = cap.map_or(usize::MAX, |c| c.chars);
    let mut length = setting.max(minimum).min(upper);
    let clamped = setting > upper;
    while length < upper && chance(length, &shares) < WANTED_CHANCE {
        length += 1;
    }
    Ok(Plan { length, clamped })
}

/// The chance that a uniformly random password of `length` characters holds at least
/// `n` characters of each class, a class being drawn with probability `p` (the classes
/// taken as independent, which the retries make up for).
fn chance(length: usize, shares: &[(usize, f64)]) -> f64 {
    shares
        .iter()
        .map(|&(n, p)| {
            if p >= 1.0 {
                return if length >= n { 1.0 } else { 0.0 };
            }
            // P(X < n) for X ~ Binomial(length, p), by the recurrence of its terms.
            let mut term = (1.0 - p).powi(i32::try_from(length).unwrap_or(i32::MAX));
            let mut below = 0.0;
            for k in 0..n.min(length + 1) {
                below += term;
                #[allow(clippy::cast_precision_loss)] // lengths are below 2^52
                let factor = (length - k) as f64 / (k + 1) as f64 * p / (1.0 - p);
                term *= factor;
            }
            (1.0 - below).max(0.0)
        })
        .product()
}

/// Why `password` misses the policy (counts and variables, never the password), or
/// `None` when it meets it. `users` are the names `check_user_name` compares with.
pub fn shortfall(password: &str, wanted: &Requirements, users: &[&str]) -> Option<String> {
    let length = password.chars().count();
    if let Some(need) = &wanted.length
        && length < need.count
    {
        return Some(format!(
            "{length} characters, fewer than {} ({})",
            need.count, need.source
        ));
    }
    for (need, class) in wanted.classes() {
        let Some(need) = need else { continue };
        let have = password.chars().filter(|c| Class::of(*c) == class).count();
        if have < need.count {
            return Some(format!(
                "{have} {}, fewer than {} ({})",
                class.plural(),
                need.count,
                need.source
            ));
        }
    }
    if let Some(source) = &wanted.not_user_name {
        let reversed = |s: &str| s.chars().rev().collect::<String>();
        if users.iter().any(|user| {
            password.eq_ignore_ascii_case(user) || password.eq_ignore_ascii_case(&reversed(user))
        }) {
            return Some(format!("it is a user name or its reverse ({source})"));
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Variables as `SHOW GLOBAL VARIABLES` lists them (also used by `preflight`'s tests).
    pub(crate) fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn counts(wanted: &Requirements) -> [usize; 5] {
        [
            &wanted.length,
            &wanted.digits,
            &wanted.lowercase,
            &wanted.uppercase,
            &wanted.special,
        ]
        .map(|n| n.as_ref().map_or(0, |n| n.count))
    }

    /// Variables as the server lists them, the counts they require, and check_user_name.
    type Case<'a> = (&'a [(&'a str, &'a str)], [usize; 5], bool);

    #[test]
    fn the_variables_of_each_server_become_requirements() {
        let mysql8 = [
            ("validate_password.check_user_name", "ON"),
            ("validate_password.dictionary_file", ""),
            ("validate_password.length", "12"),
            ("validate_password.mixed_case_count", "2"),
            ("validate_password.number_count", "3"),
            ("validate_password.policy", "MEDIUM"),
            ("validate_password.special_char_count", "4"),
        ];
        let mysql57 = [
            ("validate_password_length", "8"),
            ("validate_password_mixed_case_count", "1"),
            ("validate_password_number_count", "1"),
            ("validate_password_policy", "0"),
            ("validate_password_special_char_count", "1"),
            ("validate_password_check_user_name", "OFF"),
        ];
        let mariadb = [
            ("simple_password_check_digits", "3"),
            ("simple_password_check_letters_same_case", "3"),
            ("simple_password_check_minimal_length", "40"),
            ("simple_password_check_other_characters", "2"),
        ];
        let cases: [Case; 5] = [
            (&[], [0; 5], false),
            (&mysql8, [12, 3, 2, 2, 4], true),
            // LOW counts the length only.
            (&mysql57, [8, 0, 0, 0, 0], false),
            (&mariadb, [40, 3, 3, 3, 2], false),
            (
                &[
                    ("validate_password.policy", "STRONG"),
                    ("validate_password.length", "8"),
                    ("validate_password.number_count", "0"),
                ],
                [8, 0, 0, 0, 0],
                false,
            ),
        ];
        for (pairs, expected, user_name) in cases {
            let wanted = Requirements::from_variables(&vars(pairs)).unwrap();
            assert_eq!(counts(&wanted), expected, "{pairs:?}");
            assert_eq!(wanted.not_user_name.is_some(), user_name, "{pairs:?}");
        }
        let wanted = Requirements::from_variables(&vars(&mariadb)).unwrap();
        assert_eq!(
            wanted.digits.unwrap().source,
            "simple_password_check_digits = 3"
        );
        assert!(Requirements::from_variables(&[]).unwrap().is_empty());
    }

    #[test]
    fn values_the_manuals_do_not_describe_name_the_variable() {
        for pairs in [
            &[("validate_password.policy", "HIGH")][..],
            &[("simple_password_check_digits", "many")][..],
            &[
                ("validate_password.policy", "LOW"),
                ("validate_password.length", "-1"),
            ][..],
        ] {
            let error = Requirements::from_variables(&vars(pairs)).unwrap_err();
            assert!(error.contains(pairs[pairs.len() - 1].0), "{error}");
        }
    }

    fn mariadb(length: &str, digits: &str, letters: &str, other: &str) -> Requirements {
        Requirements::from_variables(&vars(&[
            ("simple_password_check_minimal_length", length),
            ("simple_password_check_digits", digits),
            ("simple_password_check_letters_same_case", letters),
            ("simple_password_check_other_characters", other),
        ]))
        .unwrap()
    }

    #[test]
    fn the_length_asked_for_meets_the_policy_within_the_cap() {
        let defaults = Settings::default();
        let mysql = Some(Cap::for_mysql(true));
        // No policy: PASSWORD_LENGTH as it is.
        assert_eq!(
            plan(&Requirements::default(), &defaults, None),
            Ok(Plan {
                length: 32,
                clamped: false
            })
        );
        // The server's minimum, raised until the counts are likely.
        let demanding = plan(&mariadb("40", "3", "3", "3"), &defaults, None).unwrap();
        assert!((40..=80).contains(&demanding.length), "{demanding:?}");
        // A long PASSWORD_LENGTH is capped on MySQL, kept on MariaDB.
        let long = Settings {
            password_length: 300,
            ..Settings::default()
        };
        assert_eq!(
            plan(&Requirements::default(), &long, mysql),
            Ok(Plan {
                length: 256,
                clamped: true
            })
        );
        assert_eq!(
            plan(&Requirements::default(), &long, Some(Cap::for_mysql(false))).map(|p| p.length),
            Ok(213)
        );
        assert_eq!(
            plan(&Requirements::default(), &long, None).map(|p| p.length),
            Ok(300)
        );
    }

    #[test]
    fn a_policy_the_settings_or_the_cap_cannot_meet_names_the_variable_and_the_fix() {
        let no_punctuation = Settings {
            exclude_punctuation: true,
            ..Settings::default()
        };
        let no_digits_left = Settings {
            exclude_characters: "0123456789".to_owned(),
            ..Settings::default()
        };
        let cases = [
            (
                mariadb("8", "1", "1", "1"),
                &no_punctuation,
                None,
                &[
                    "simple_password_check_other_characters = 1",
                    "EXCLUDE_PUNCTUATION=false",
                ][..],
            ),
            (
                mariadb("8", "1", "1", "0"),
                &no_digits_left,
                None,
                &[
                    "simple_password_check_digits = 1",
                    "EXCLUDE_CHARACTERS excludes every one",
                ][..],
            ),
            (
                mariadb("300", "0", "0", "0"),
                &Settings::default(),
                Some(Cap::for_mysql(true)),
                &[
                    "simple_password_check_minimal_length = 300",
                    "256 characters",
                    "lower those variables",
                ][..],
            ),
            (
                mariadb("8", "200", "10", "0"),
                &Settings::default(),
                Some(Cap::for_mysql(false)),
                &[
                    "at least 220 characters",
                    "213",
                    "simple_password_check_digits = 200",
                ][..],
            ),
        ];
        for (wanted, settings, cap, expected) in cases {
            let error = plan(&wanted, settings, cap).unwrap_err();
            for part in expected {
                assert!(error.contains(part), "{part}: {error}");
            }
        }
    }

    #[test]
    fn a_password_is_checked_by_counting_and_the_reason_never_quotes_it() {
        let wanted = mariadb("12", "2", "2", "2");
        let cases = [
            ("Ab1!Ab1!Cd2#", None),
            ("Ab1!Ab1!", Some("8 characters, fewer than 12")),
            ("Abcdefgh1!#$", Some("1 digits, fewer than 2")),
            ("ABcdefgh12!#", None),
            ("Abcdefgh12!#", Some("1 uppercase letters")),
            ("ABCDEFGh12!#", Some("1 lowercase letters")),
            ("ABcdefgh12!x", Some("1 special characters")),
        ];
        for (password, expected) in cases {
            let found = shortfall(password, &wanted, &[]);
            match expected {
                None => assert_eq!(found, None, "{password}"),
                Some(part) => {
                    let reason = found.unwrap_or_default();
                    assert!(reason.contains(part), "{password}: {reason}");
                    assert!(!reason.contains(password), "{reason}");
                }
            }
        }
        let by_name = Requirements::from_variables(&vars(&[
            ("validate_password.policy", "LOW"),
            ("validate_password.check_user_name", "ON"),
        ]))
        .unwrap();
        assert!(shortfall("AppUser", &by_name, &["appuser"]).is_some());
        assert!(shortfall("resuppa", &by_name, &["appuser"]).is_some());
        assert_eq!(shortfall("other", &by_name, &["appuser"]), None);
    }

    #[test]
    fn the_chance_grows_with_the_length() {
        let shares = [(3, 10.0 / 89.0), (3, 27.0 / 89.0)];
        assert!(chance(6, &shares) < chance(40, &shares));
        assert!(chance(40, &shares) < chance(80, &shares));
        assert!(chance(80, &shares) > 0.95);
        assert!(chance(2, &shares).abs() < f64::EPSILON);
        assert!((chance(5, &[(5, 1.0)]) - 1.0).abs() < f64::EPSILON);
    }
}
