//! Does a password match the hash the server stores for an account?
//!
//! The rotator must know whether an existing alternate user holds a password this
//! secret stores (see `rotation::ownership`) without logging in as it: every failed
//! login counts against that account, and an account the rotation did not make may
//! be one whose owner set a limit (MariaDB's `max_password_errors` blocks it:
//! <https://mariadb.com/docs/server/ref/mdb/system-variables/max_password_errors>;
//! MySQL 8.0.19+'s `FAILED_LOGIN_ATTEMPTS` locks it:
//! <https://dev.mysql.com/doc/refman/8.0/en/password-management.html#failed-login-tracking>).
//! The admin connection reads `mysql.user.authentication_string` instead, and the
//! password is checked here, in memory, for the two formats RDS for MySQL, Aurora
//! MySQL and MariaDB use by default:
//!
//! - `mysql_native_password`: `*` and the upper-case hex of SHA1(SHA1(password))
//!   (MySQL internals, "Secure Password Authentication"; MariaDB knowledge base,
//!   "Authentication Plugin - mysql_native_password": "the password hash is stored
//!   in mysql.global_priv ... `*` followed by the hex of the double SHA-1").
//! - `caching_sha2_password` (MySQL 8's default): `$A$`, three hex digits giving the
//!   rounds in thousands, `$`, a 20-byte salt and 43 characters of SHA-256 crypt
//!   (Drepper's "Unix crypt using SHA-256 and SHA-512" with MySQL's longer salt and
//!   no `rounds=` field: `mysys/crypt_genhash_impl.cc` and
//!   `sql/auth/sha2_password.cc` in MySQL's source, `ITERATION_MULTIPLIER` 1000,
//!   `CRYPT_SALT_LENGTH` 20).
//!
//! - `sha256_password`: `$5$`, the 20-byte salt, `$` and the same 43 characters of
//!   5000 rounds.
//!
//! A password plugin whose hash is not computed here (MariaDB's `ed25519`) is
//! [`HashCheck::Unknown`], and so is a hash of more rounds than is worth computing: the
//! caller decides what that means. A plugin that takes no password, or a string none
//! of these formats produces (MySQL's placeholder of locked system accounts), holds no
//! stored password.

use sha1::{Digest as _, Sha1};
use sha2::Sha256;

/// What a stored hash says about a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashCheck {
    Match,
    NoMatch,
    /// The plugin or the format is not one this module can check.
    Unknown,
}

/// Checks `password` against an account's `plugin` and `authentication_string`.
pub fn check(plugin: &str, stored: &[u8], password: &str) -> HashCheck {
    // An account without a password: no stored version's password is empty.
    if stored.is_empty() {
        return if password.is_empty() {
            HashCheck::Match
        } else {
            HashCheck::NoMatch
        };
    }
    match plugin {
        // MariaDB before 10.4 leaves `plugin` empty for a native password (the hash is
        // then in `Password`, which `db::stored_passwords` reads instead).
        "mysql_native_password" | "" => check_native(stored, password),
        "caching_sha2_password" => check_caching_sha2(stored, password),
        "sha256_password" => check_sha256(stored, password),
        // A password plugin whose hash is not computed here.
        plugin if crate::sql::PASSWORD_PLUGINS.contains(&plugin) => HashCheck::Unknown,
        // A plugin that takes no password (`auth_socket`, `AWSAuthenticationPlugin`,
        // `unix_socket`, PAM): no stored password is the account's.
        _ => HashCheck::NoMatch,
    }
}

fn matches(equal: bool) -> HashCheck {
    if equal {
        HashCheck::Match
    } else {
        HashCheck::NoMatch
    }
}

/// `*` and 40 hex digits of SHA1(SHA1(password)).
fn check_native(stored: &[u8], password: &str) -> HashCheck {
    // Anything else (MySQL's `*THISISNOTAVALIDPASSWORDTHATCANBEUSEDHERE`, `invalid`)
    // is a string no password hashes to.
    let Some(hex) = stored.strip_prefix(b"*") else {
        return HashCheck::NoMatch;
    };
    if hex.len() != 40 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return HashCheck::NoMatch;
    }
    let twice = Sha1::digest(Sha1::digest(password.as_bytes()));
    let ours = to_hex(&twice);
    matches(ours.as_bytes().eq_ignore_ascii_case(hex))
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut text, b| {
        let _ = write!(text, "{b:02X}");
        text
    })
}

/// MySQL's salt and digest lengths for `caching_sha2_password` and `sha256_password`.
const SHA2_SALT: usize = 20;
const SHA2_DIGEST_TEXT: usize = 43;

/// The most rounds checked here, in thousands: MySQL's default is 5 and its maximum
/// 4095 (`caching_sha2_password_digest_rounds`), whose check would take seconds per
/// password in a 128 MB function; above this the hash counts as one not checked here.
const MAX_THOUSANDS_OF_ROUNDS: u32 = 100;

/// `$5$<20-byte salt>$<43 characters>`, 5000 rounds (MySQL's `sha256_password`,
/// `sql/auth/sha2_password.cc`: `CRYPT_MAGIC` "5", the salt and the digest as
/// `my_crypt_genhash` writes them).
fn check_sha256(stored: &[u8], password: &str) -> HashCheck {
    let Some(rest) = stored.strip_prefix(b"$5$") else {
        return HashCheck::NoMatch;
    };
    if rest.len() != SHA2_SALT + 1 + SHA2_DIGEST_TEXT || rest[SHA2_SALT] != b'$' {
        return HashCheck::NoMatch;
    }
    let ours = sha256_crypt(password.as_bytes(), &rest[..SHA2_SALT], 5000);
    matches(ours.as_bytes() == &rest[SHA2_SALT + 1..])
}

/// `$A$<rounds/1000 in 3 hex digits>$<20-byte salt><43 characters>`.
fn check_caching_sha2(stored: &[u8], password: &str) -> HashCheck {
    let Some(rest) = stored.strip_prefix(b"$A$") else {
        return HashCheck::NoMatch;
    };
    if rest.len() != 3 + 1 + SHA2_SALT + SHA2_DIGEST_TEXT || rest[3] != b'$' {
        return HashCheck::NoMatch;
    }
    let Some(thousands) = std::str::from_utf8(&rest[..3])
        .ok()
        .and_then(|digits| u32::from_str_radix(digits, 16).ok())
    else {
        return HashCheck::NoMatch;
    };
    // MySQL accepts 5 to 4095 thousand rounds (`caching_sha2_password_digest_rounds`).
    if thousands == 0 || thousands > MAX_THOUSANDS_OF_ROUNDS {
        return HashCheck::Unknown;
    }
    let salt = &rest[4..4 + SHA2_SALT];
    let digest = &rest[4 + SHA2_SALT..];
    let ours = sha256_crypt(password.as_bytes(), salt, thousands * 1000);
    matches(ours.as_bytes() == digest)
}

/// The 43-character digest of Drepper's SHA-256 crypt, for any salt length (the
/// specification's steps, numbered as there: <https://www.akkadia.org/drepper/SHA-crypt.txt>).
pub fn sha256_crypt(password: &[u8], salt: &[u8], rounds: u32) -> String {
    // Steps 4-8: the alternate digest, of password, salt, password.
    let alternate = Sha256::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    // Steps 1-3, 9-12: digest A.
    let mut start = Sha256::new().chain_update(password).chain_update(salt);
    let mut left = password.len();
    while left > 32 {
        start.update(alternate);
        left -= 32;
    }
    start.update(&alternate[..left]);
    let mut length = password.len();
    while length > 0 {
        if length & 1 == 1 {
            start.update(alternate);
        } else {
            start.update(password);
        }
        length >>= 1;
    }
    let start = start.finalize();
    // Steps 13-16: the byte sequence P from the password.
    let mut of_password = Sha256::new();
    for _ in 0..password.len() {
        of_password.update(password);
    }
    let p_bytes = repeat_to(&of_password.finalize(), password.len());
    // Steps 17-20: the byte sequence S from the salt.
    let mut of_salt = Sha256::new();
    for _ in 0..16 + usize::from(start[0]) {
        of_salt.update(salt);
    }
    let s_bytes = repeat_to(&of_salt.finalize(), salt.len());
    // Step 21: the rounds.
    let mut digest = start;
    for round in 0..rounds {
        let mut next = Sha256::new();
        if round % 2 == 1 {
            next.update(&p_bytes);
        } else {
            next.update(digest);
        }
        if round % 3 != 0 {
            next.update(&s_bytes);
        }
        if round % 7 != 0 {
            next.update(&p_bytes);
        }
        if round % 2 == 1 {
            next.update(digest);
        } else {
            next.update(&p_bytes);
        }
        digest = next.finalize();
    }
    encode(&digest)
}

fn repeat_to(digest: &[u8], length: usize) -> Vec<u8> {
    digest.iter().copied().cycle().take(length).collect()
}

/// Step 22's base-64 of the final digest, in its byte order.
fn encode(c: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const GROUPS: [(usize, usize, usize); 10] = [
        (0, 10, 20),
        (21, 1, 11),
        (12, 22, 2),
        (3, 13, 23),
        (24, 4, 14),
        (15, 25, 5),
        (6, 16, 26),
        (27, 7, 17),
        (18, 28, 8),
        (9, 19, 29),
    ];
    let mut text = String::with_capacity(SHA2_DIGEST_TEXT);
    let mut put = |word: u32, characters: usize| {
        let mut word = word;
        for _ in 0..characters {
            text.push(char::from(ALPHABET[(word & 0x3f) as usize]));
            word >>= 6;
        }
    };
    for (high, middle, low) in GROUPS {
        put(
            u32::from(c[high]) << 16 | u32::from(c[middle]) << 8 | u32::from(c[low]),
            4,
        );
    }
    put(u32::from(c[31]) << 8 | u32::from(c[30]), 3);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's own SHA-256 test vectors with the default 5000 rounds
    /// and others (SHA-crypt.txt, "Test vectors"), as glibc's `crypt(3)` gives them:
    /// `crypt("Hello world!", "$5$saltstring")`.
    #[test]
    fn the_specifications_vectors() {
        let long = "x".repeat(70);
        let cases: [(&str, &str, u32, &str); 5] = [
            (
                "Hello world!",
                "saltstring",
                5000,
                "5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
            ),
            (
                "Hello world!",
                "saltstringsaltst",
                10000,
                "3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
            ),
            (
                "we have a short salt string but not a short password",
                "roundstoolow",
                1000,
                "p20OiWa5GmKDHyeQuvXKgAXjYozUMLD5yQL6RzRpZCC",
            ),
            // glibc 2.36 (Python's crypt.crypt with "$5$rounds=5000$0123456789abcdef"):
            // an empty password, and one longer than two digests.
            (
                "",
                "0123456789abcdef",
                5000,
                "Zn36wCiXtVKLQsl4EZaBU/Ag5FUHHzFRXevhCLkg7x/",
            ),
            (
                &long,
                "0123456789abcdef",
                5000,
                "PtktarChupU2HspS5L2tzUZeyI7SEI/LGbCZCyq.ic5",
            ),
        ];
        for (password, salt, rounds, expected) in cases {
            assert_eq!(
                sha256_crypt(password.as_bytes(), salt.as_bytes(), rounds),
                expected,
                "{salt}"
            );
        }
    }

    #[test]
    fn native_hashes_are_double_sha1_in_either_case() {
        // MariaDB 10.11: SELECT authentication_string FROM mysql.user after
        // CREATE USER ... IDENTIFIED BY 'Hello world!'.
        let stored = b"*0DA3D1CD83EC6FAE79E8E3859E146E74E1CE416A";
        let cases = [
            (
                "mysql_native_password",
                &stored[..],
                "Hello world!",
                HashCheck::Match,
            ),
            (
                "mysql_native_password",
                &stored[..],
                "Hello world",
                HashCheck::NoMatch,
            ),
            (
                "mysql_native_password",
                b"*0da3d1cd83ec6fae79e8e3859e146e74e1ce416a",
                "Hello world!",
                HashCheck::Match,
            ),
            (
                "mysql_native_password",
                b"0DA3D1CD",
                "Hello world!",
                HashCheck::NoMatch,
            ),
            (
                "mysql_native_password",
                b"invalid",
                "Hello world!",
                HashCheck::NoMatch,
            ),
            // MariaDB before 10.4: an empty plugin with a native hash.
            ("", &stored[..], "Hello world!", HashCheck::Match),
            (
                "mysql_native_password",
                b"",
                "Hello world!",
                HashCheck::NoMatch,
            ),
            ("ed25519", b"somekey", "Hello world!", HashCheck::Unknown),
            ("auth_socket", b"", "x", HashCheck::NoMatch),
            ("unix_socket", b"x", "x", HashCheck::NoMatch),
            ("AWSAuthenticationPlugin", b"RDS", "RDS", HashCheck::NoMatch),
        ];
        for (plugin, stored, password, expected) in cases {
            assert_eq!(check(plugin, stored, password), expected, "{plugin}");
        }
    }

    /// `caching_sha2_password` strings as MySQL stores them (raw salt bytes, control
    /// characters included), published with their passwords in the tests of an
    /// independent MySQL hash implementation (a `mysql_hashes` module's
    /// `test_caching_sha2_password`); there is no MySQL 8 server here to make more.
    #[test]
    fn mysql_8_caching_sha2_strings() {
        let cases: [(&str, &[u8]); 3] = [
            (
                "Q",
                b"$A$005$L%*,g1\\\x11Ei%%Y3\x1f\x07uF)56R6OBmao.7gDHAdcEqhrLF33ZjApRNgQyvDHN.tuH45",
            ),
            (
                "CMunq1PrKH",
                b"$A$005$&M\x15\x06UEK\x0dS#{: d}\x1a\x1ak'Pmqo1L9Dlfn03ogl4DiNubgaRsN4FYJjhE57s08Z39s2",
            ),
            (
                "qfVOTeBdXxbBL3f6qcneX3oXKqzQxGW8QgheW4JjgNzuvTsmYWuhCdyN2six4Tv5LmCVH6SB4f0fvWpSlujKuPlIkWZYOV6yy9QA",
                b"$A$005$Xb_m\x1a\x14'\x16i\x1aH>\x1dUmO.k1\x11.tBQcU8BapajNqCdLWqlJz2BnO3p2h11hqBxZ1.kB91",
            ),
        ];
        for (password, stored) in cases {
            assert_eq!(stored.len(), 70);
            assert_eq!(
                check("caching_sha2_password", stored, password),
                HashCheck::Match,
                "{password}"
            );
            assert_eq!(
                check("caching_sha2_password", stored, &format!("{password}x")),
                HashCheck::NoMatch
            );
        }
    }

    /// `sha256_password` strings from the same published tests.
    #[test]
    fn mysql_sha256_password_strings() {
        let cases: [(&str, &[u8]); 2] = [
            (
                "Q",
                b"$5$\x1bn\x08;I\\^%-ulR\x7f/\x0f|\x0d=Y\x0d$QcN2Q6rtTo.NpYDa7sNqet8BaXuLxhH7GvIMx70ykaC",
            ),
            (
                "CMunq1PrKH",
                b"$5$~m\x1f.#wd#\x0bI=r9\x0e#\x12\x0dg<r$..ZRdIIP/eEPHlUAhTQ1itsFtLIPIcjpDhTUk2NG/F8",
            ),
        ];
        for (password, stored) in cases {
            assert_eq!(stored.len(), 67);
            assert_eq!(check("sha256_password", stored, password), HashCheck::Match);
            assert_eq!(check("sha256_password", stored, "Q2"), HashCheck::NoMatch);
        }
    }

    #[test]
    fn caching_sha2_hashes_carry_their_rounds_and_a_20_byte_salt() {
        let salt = b"abcdefghij0123456789";
        let digest = sha256_crypt(b"Hello world!", salt, 5000);
        let stored = format!("$A$005${}{digest}", std::str::from_utf8(salt).unwrap());
        assert_eq!(
            stored.len(),
            70,
            "MySQL's caching_sha2 strings are 70 bytes"
        );
        let cases = [
            (stored.clone(), "Hello world!", HashCheck::Match),
            (stored.clone(), "hello world!", HashCheck::NoMatch),
            // Other rounds are read from the string (0x00A thousand = 10000).
            (
                stored.replacen("$A$005$", "$A$00A$", 1),
                "Hello world!",
                HashCheck::NoMatch,
            ),
            (
                stored.replacen("$A$005$", "$A$0ZZ$", 1),
                "Hello world!",
                HashCheck::NoMatch,
            ),
            // Rounds beyond what is worth computing here (MySQL allows 4095 thousand).
            (
                stored.replacen("$A$005$", "$A$FFF$", 1),
                "Hello world!",
                HashCheck::Unknown,
            ),
            (
                stored.replacen("$A$005$", "$A$000$", 1),
                "Hello world!",
                HashCheck::Unknown,
            ),
            (stored[..60].to_owned(), "Hello world!", HashCheck::NoMatch),
            (
                stored.replacen("$A$", "$5$", 1),
                "Hello world!",
                HashCheck::NoMatch,
            ),
            // The placeholder MySQL gives its locked system accounts.
            (
                "$A$005$THISISACOMBINATIONOFINVALIDSALTANDPASSWORDTHATMUSTNEVERBRBEUSED".to_owned(),
                "Hello world!",
                HashCheck::NoMatch,
            ),
        ];
        for (stored, password, expected) in cases {
            assert_eq!(
                check("caching_sha2_password", stored.as_bytes(), password),
                expected,
                "{stored}"
            );
        }
    }
}
