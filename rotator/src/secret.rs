//! The secret's JSON: parsed strictly, written back with every other key intact.
//!
//! A rotation copies the current secret, changes `username` and `password`, and must
//! keep every other key verbatim (applications store their own keys there). So the
//! parsed [`DbSecret`] keeps the original JSON object beside the typed fields, and
//! [`DbSecret::with_credentials`] edits only the two keys. Every problem names the
//! key and what a valid value looks like; no error or `Debug` output shows a value of
//! `password` (see [`Password`]).

use std::fmt;

use serde_json::{Map, Value};

/// A password: printed as `***` by `Debug` and `Display`, readable only through [`Password::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The password itself, for a login or a SQL statement only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Database engines the rotator supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    MySql,
    AuroraMySql,
    MariaDb,
}

impl Engine {
    /// Parses the `engine` key (also the RDS engine names such as `aurora-mysql`).
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "mysql" => Some(Self::MySql),
            "aurora-mysql" | "aurora" => Some(Self::AuroraMySql),
            "mariadb" => Some(Self::MariaDb),
            _ => None,
        }
    }
}

/// The secret's `ssl` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsSetting {
    /// `ssl` true: TLS with the certificate and host name verified, no fallback.
    Required,
    /// `ssl` false: plaintext.
    Disabled,
    /// `ssl` absent or not a boolean: try verified TLS, fall back to plaintext.
    Preferred,
}

/// A problem with a secret's JSON, naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "the secret value is not a JSON object ({0}); store the credentials as JSON with keys engine, host, username, password"
    )]
    NotJson(String),
    #[error(
        "the secret has no string value (it is binary or empty); store the credentials as a JSON SecretString"
    )]
    NoString,
    #[error("key `{key}` is missing; {hint}")]
    Missing {
        key: &'static str,
        hint: &'static str,
    },
    #[error("key `{key}` must be {expected}")]
    Invalid {
        key: &'static str,
        expected: &'static str,
    },
    #[error("engine `{0}` is not supported; use mysql, mariadb or aurora-mysql")]
    UnsupportedEngine(String),
}

/// The database credentials of a secret, with the original JSON object kept.
#[derive(Clone)]
pub struct DbSecret {
    pub engine: Engine,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: Password,
    pub dbname: Option<String>,
    pub masterarn: Option<String>,
    pub tls: TlsSetting,
    object: Map<String, Value>,
}

impl fmt::Debug for DbSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbSecret")
            .field("engine", &self.engine)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("dbname", &self.dbname)
            .field("masterarn", &self.masterarn)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

fn required_string(
    object: &Map<String, Value>,
    key: &'static str,
    hint: &'static str,
) -> Result<String, SecretError> {
    match object.get(key) {
        None | Some(Value::Null) => Err(SecretError::Missing { key, hint }),
        Some(Value::String(text)) if text.is_empty() => Err(SecretError::Invalid {
            key,
            expected: "a non-empty string",
        }),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err(SecretError::Invalid {
            key,
            expected: "a string",
        }),
    }
}

fn optional_string(
    object: &Map<String, Value>,
    key: &'static str,
) -> Result<Option<String>, SecretError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(SecretError::Invalid {
            key,
            expected: "a string",
        }),
    }
}

fn parse_port(object: &Map<String, Value>) -> Result<u16, SecretError> {
    let invalid = SecretError::Invalid {
        key: "port",
        expected: "a port number from 1 to 65535 (a number or a numeric string)",
    };
    let port = match object.get("port") {
        None | Some(Value::Null) => return Ok(3306),
        Some(Value::Number(number)) => number.as_u64().and_then(|n| u16::try_from(n).ok()),
        Some(Value::String(text)) => text.trim().parse::<u16>().ok(),
        Some(_) => None,
    };
    match port {
        Some(port) if port > 0 => Ok(port),
        _ => Err(invalid),
    }
}

fn parse_tls(object: &Map<String, Value>) -> TlsSetting {
    match object.get("ssl") {
        Some(Value::Bool(true)) => TlsSetting::Required,
        Some(Value::Bool(false)) => TlsSetting::Disabled,
        Some(Value::String(text)) if text.eq_ignore_ascii_case("true") => TlsSetting::Required,
        Some(Value::String(text)) if text.eq_ignore_ascii_case("false") => TlsSetting::Disabled,
        _ => TlsSetting::Preferred,
    }
}

/// A secret string as a JSON object; serde_json's messages give a position, never the text.
fn json_object(text: &str) -> Result<Map<String, Value>, SecretError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(SecretError::NotJson(
            "it is JSON, but not an object".to_owned(),
        )),
        Err(error) => Err(SecretError::NotJson(error.to_string())),
    }
}

impl DbSecret {
    /// Parses a secret string; `Missing`/`Invalid` name the key.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let object = json_object(text)?;
        let engine_text = required_string(
            &object,
            "engine",
            "set it to mysql, mariadb or aurora-mysql",
        )?;
        let engine =
            Engine::parse(&engine_text).ok_or(SecretError::UnsupportedEngine(engine_text))?;
        Ok(Self {
            engine,
            host: required_string(
                &object,
                "host",
                "set it to the database endpoint's host name",
            )?,
            port: parse_port(&object)?,
            username: required_string(&object, "username", "set it to the database user name")?,
            password: Password::new(required_string(
                &object,
                "password",
                "set it to the user's current password",
            )?),
            dbname: optional_string(&object, "dbname")?,
            masterarn: optional_string(&object, "masterarn")?,
            tls: parse_tls(&object),
            object,
        })
    }

    /// The same JSON with `username` and `password` replaced, every other key verbatim.
    pub fn with_credentials(&self, username: &str, password: &Password) -> String {
        let mut object = self.object.clone();
        object.insert("username".to_owned(), Value::String(username.to_owned()));
        object.insert(
            "password".to_owned(),
            Value::String(password.expose().to_owned()),
        );
        Value::Object(object).to_string()
    }

    /// The key `masterarn`, required by the alternating-users strategy.
    pub fn require_masterarn(&self) -> Result<&str, SecretError> {
        self.masterarn.as_deref().ok_or(SecretError::Missing {
            key: "masterarn",
            hint: "alternating-users rotation needs the ARN of the admin secret (set ROTATION_STRATEGY=single-user to rotate without one)",
        })
    }
}

/// The admin secret named by `masterarn`: credentials, and the connection keys when present.
///
/// An RDS-managed admin secret holds only `username` and `password`; its host, port
/// and engine come from RDS (see `rotation::endpoint`).
#[derive(Debug, Clone)]
pub struct AdminSecret {
    pub username: String,
    pub password: Password,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub engine: Option<Engine>,
    pub tls: TlsSetting,
}

impl AdminSecret {
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let object = json_object(text)?;
        let engine = match optional_string(&object, "engine")? {
            Some(text) => Some(Engine::parse(&text).ok_or(SecretError::UnsupportedEngine(text))?),
            None => None,
        };
        Ok(Self {
            username: required_string(&object, "username", "set it to the admin user name")?,
            password: Password::new(required_string(
                &object,
                "password",
                "set it to the admin password",
            )?),
            host: optional_string(&object, "host")?,
            port: if object.contains_key("port") {
                Some(parse_port(&object)?)
            } else {
                None
            },
            engine,
            tls: parse_tls(&object),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"engine":"mysql","host":"db.example","username":"appuser","password":"pw'1","dbname":"app","masterarn":"arn:admin","custom":{"keep":[1,2]}}"#;

    #[test]
    fn a_good_secret_parses_and_keeps_unknown_keys_on_rewrite() {
        let secret = DbSecret::parse(GOOD).unwrap();
        assert_eq!(secret.engine, Engine::MySql);
        assert_eq!(secret.port, 3306);
        assert_eq!(secret.tls, TlsSetting::Preferred);
        let rewritten: Value = serde_json::from_str(
            &secret.with_credentials("appuser_clone", &Password::new("new".into())),
        )
        .unwrap();
        assert_eq!(rewritten["username"], "appuser_clone");
        assert_eq!(rewritten["password"], "new");
        assert_eq!(rewritten["custom"], serde_json::json!({"keep": [1, 2]}));
        assert_eq!(rewritten["masterarn"], "arn:admin");
        assert_eq!(rewritten["dbname"], "app");
    }

    #[test]
    fn every_malformed_secret_names_the_key_and_never_the_password() {
        let cases: &[(&str, &str)] = &[
            ("not json", "not a JSON object"),
            ("[1]", "not a JSON object"),
            (
                r#"{"host":"h","username":"u","password":"p"}"#,
                "key `engine` is missing",
            ),
            (
                r#"{"engine":"postgres","host":"h","username":"u","password":"p"}"#,
                "engine `postgres` is not supported",
            ),
            (
                r#"{"engine":"mysql","username":"u","password":"p"}"#,
                "key `host` is missing",
            ),
            (
                r#"{"engine":"mysql","host":"h","password":"p"}"#,
                "key `username` is missing",
            ),
            (
                r#"{"engine":"mysql","host":"h","username":"u"}"#,
                "key `password` is missing",
            ),
            (
                r#"{"engine":"mysql","host":"h","username":"u","password":7}"#,
                "key `password` must be a string",
            ),
            (
                r#"{"engine":"mysql","host":"h","username":"u","password":"p","port":"abc"}"#,
                "key `port` must be a port number",
            ),
            (
                r#"{"engine":"mysql","host":"h","username":"u","password":"p","port":70000}"#,
                "key `port` must be a port number",
            ),
            (
                r#"{"engine":"mysql","host":"h","username":"u","password":"p","port":0}"#,
                "key `port` must be a port number",
            ),
        ];
        for (text, expected) in cases {
            let error = DbSecret::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(!error.contains("\"p\""), "{error}");
        }
    }

    #[test]
    fn port_and_ssl_accept_the_documented_forms() {
        let base = |extra: &str| {
            format!(r#"{{"engine":"mariadb","host":"h","username":"u","password":"p"{extra}}}"#)
        };
        assert_eq!(
            DbSecret::parse(&base(r#","port":"3307""#)).unwrap().port,
            3307
        );
        assert_eq!(
            DbSecret::parse(&base(r#","port":3308"#)).unwrap().port,
            3308
        );
        let tls = [
            (r#","ssl":true"#, TlsSetting::Required),
            (r#","ssl":"TRUE""#, TlsSetting::Required),
            (r#","ssl":false"#, TlsSetting::Disabled),
            (r#","ssl":"false""#, TlsSetting::Disabled),
            (r#","ssl":"maybe""#, TlsSetting::Preferred),
            ("", TlsSetting::Preferred),
        ];
        for (extra, expected) in tls {
            assert_eq!(
                DbSecret::parse(&base(extra)).unwrap().tls,
                expected,
                "{extra}"
            );
        }
    }

    #[test]
    fn missing_masterarn_explains_the_strategy() {
        let secret =
            DbSecret::parse(r#"{"engine":"mysql","host":"h","username":"u","password":"p"}"#)
                .unwrap();
        let error = secret.require_masterarn().unwrap_err().to_string();
        assert!(
            error.contains("`masterarn` is missing") && error.contains("admin secret"),
            "{error}"
        );
    }

    #[test]
    fn debug_output_hides_the_password() {
        let secret = DbSecret::parse(GOOD).unwrap();
        let debug = format!("{secret:?}");
        assert!(!debug.contains("pw'1"), "{debug}");
        assert!(debug.contains("***"));
    }

    #[test]
    fn an_rds_managed_admin_secret_has_only_credentials() {
        let admin = AdminSecret::parse(r#"{"username":"admin","password":"x"}"#).unwrap();
        assert_eq!(admin.host, None);
        assert_eq!(admin.port, None);
        assert!(
            AdminSecret::parse(r#"{"password":"x"}"#)
                .unwrap_err()
                .to_string()
                .contains("`username`")
        );
    }
}
