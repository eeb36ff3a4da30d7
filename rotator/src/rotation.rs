//! The four rotation steps, for alternating users and for a single user.
//!
//! Secrets Manager retries a failed rotation, and a Lambda can die between any two
//! calls, so every step first checks where the rotation stands and does only what
//! is missing. `setSecret` orders its work so that a crash anywhere leaves the
//! current credentials working and the pending credentials not yet usable: the clone
//! is created with the pending password (which createSecret made to meet the server's
//! password policy) but locked, given exactly the current user's privileges, and only
//! then unlocked (a server without `ACCOUNT LOCK`, MariaDB before 10.4.2, lets it log in
//! meanwhile, with no privileges); an existing clone gets the pending password last.
//! The current user is only
//! ever read, and an alternate user that already exists is written to only once it is
//! proven this secret's (module `ownership`). Every input is validated before the first write.

use std::path::Path;

use aws_sdk_secretsmanager::Client as SecretsClient;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use serde_json::Value;
use sqlx::MySqlConnection;

use crate::db::{self, DbError, Login, Transport};
use crate::error::{Problem, RotationError};
use crate::grantable;
use crate::grants::{self, Grants};
use crate::password_policy;
use crate::preflight;
use crate::secret::{AdminSecret, DbSecret, Password, TlsSetting};
use crate::settings::{Settings, Strategy};
use crate::sql::{self, Account};
use crate::version::{Flavor, ServerVersion};

mod ownership;

/// A rotation step, as Secrets Manager names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Create,
    Set,
    Test,
    Finish,
}

impl Step {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "createSecret" => Some(Self::Create),
            "setSecret" => Some(Self::Set),
            "testSecret" => Some(Self::Test),
            "finishSecret" => Some(Self::Finish),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "createSecret",
            Self::Set => "setSecret",
            Self::Test => "testSecret",
            Self::Finish => "finishSecret",
        }
    }
}

/// The invocation event of Secrets Manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationEvent {
    pub step: Step,
    pub secret_id: String,
    pub token: String,
    /// Passed on to `PutSecretValue` when present (cross-account / assumed-role rotation).
    pub rotation_token: Option<String>,
}

impl RotationEvent {
    /// Reads the event, naming any missing or wrong field.
    pub fn parse(value: &Value) -> Result<Self, RotationError> {
        let secret = value
            .get("SecretId")
            .and_then(Value::as_str)
            .unwrap_or("(unknown)")
            .to_owned();
        let step_name = value
            .get("Step")
            .and_then(Value::as_str)
            .unwrap_or("(unknown)")
            .to_owned();
        let fail = |message: String| RotationError {
            secret: secret.clone(),
            step: step_name.clone(),
            version: value
                .get("ClientRequestToken")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty() && t.len() <= 64)
                .map(str::to_owned),
            problem: Box::new(Problem::Event(message)),
        };
        let field = |name: &str| -> Result<String, RotationError> {
            match value.get(name) {
                Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
                Some(_) => Err(fail(format!("field `{name}` must be a non-empty string"))),
                None => Err(fail(format!(
                    "field `{name}` is missing; the function expects the event Secrets Manager sends (Step, SecretId, ClientRequestToken)"
                ))),
            }
        };
        let step_text = field("Step")?;
        let step = Step::parse(&step_text).ok_or_else(|| fail(format!("unknown step `{step_text}`; expected createSecret, setSecret, testSecret or finishSecret")))?;
        Ok(Self {
            step,
            secret_id: field("SecretId")?,
            token: field("ClientRequestToken")?,
            rotation_token: value
                .get("RotationToken")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        })
    }
}

/// The other user of an alternating pair: `name` ↔ `name_clone`.
pub fn alternate_user(name: &str) -> String {
    match name.strip_suffix("_clone") {
        Some(base) if !base.is_empty() => base.to_owned(),
        _ => format!("{name}_clone"),
    }
}

/// The user-name limit: the setting when given, else the server's.
pub fn user_name_limit(setting: Option<usize>, version: Option<&ServerVersion>) -> usize {
    setting
        .or_else(|| version.map(ServerVersion::max_user_name_len))
        .unwrap_or(16)
}

/// The AWS side of a rotation: Secrets Manager, and RDS for managed admin secrets.
#[derive(Debug, Clone)]
pub struct Rotator {
    secrets: SecretsClient,
    rds: aws_sdk_rds::Client,
    settings: Settings,
}

/// The admin login of `setSecret`, and the endpoints the application secret may name.
#[derive(Debug)]
struct AdminEndpoint {
    host: String,
    port: u16,
    /// Read replicas / Aurora readers / cluster instances of the same database.
    others: Vec<(String, u16)>,
    /// The host came from the admin secret (not from RDS), so replicas are unknown yet.
    from_secret: bool,
}

/// A step's context: the event, for naming it in errors.
struct Context<'a> {
    event: &'a RotationEvent,
}

impl Context<'_> {
    fn fail(&self, problem: impl Into<Problem>) -> RotationError {
        RotationError {
            secret: self.event.secret_id.clone(),
            step: self.event.step.as_str().to_owned(),
            version: Some(self.event.token.clone()),
            problem: Box::new(problem.into()),
        }
    }

    /// A failed AWS call; a denied one names the action to allow.
    fn aws<E: std::error::Error + ProvideErrorMetadata>(
        &self,
        action: &'static str,
        error: &E,
    ) -> RotationError {
        let message = match error.code() {
            Some(code) if is_access_denied(code) => format!(
                "access denied ({code}); allow {action} to the function's role (see the README's least-privilege policy)"
            ),
            Some(_) => DisplayErrorContext(error).to_string(),
            None => unreachable_hint(action, &DisplayErrorContext(error).to_string()),
        };
        self.fail(Problem::Aws { action, message })
    }
}

impl Rotator {
    pub fn new(secrets: SecretsClient, rds: aws_sdk_rds::Client, settings: Settings) -> Self {
        Self {
            secrets,
            rds,
            settings,
        }
    }

    fn ca_bundle(&self) -> Option<&Path> {
        self.settings.ca_bundle.as_deref()
    }

    /// Runs one step for an event as Secrets Manager sends it.
    pub async fn handle(&self, event: &Value) -> Result<(), RotationError> {
        let event = RotationEvent::parse(event)?;
        let cx = Context { event: &event };
        if let Some(path) = self.ca_bundle()
            && !path.is_file()
        {
            return Err(cx.fail(Problem::Refused(format!("DB_CA_BUNDLE names {}, which is not a readable file; package the CA bundle with the function or fix the path", path.display()))));
        }
        if !self.validate(&cx).await? {
            tracing::info!(secret = %event.secret_id, step = event.step.as_str(), "version is already AWSCURRENT; nothing to do");
            return Ok(());
        }
        tracing::info!(secret = %event.secret_id, step = event.step.as_str(), strategy = ?self.settings.strategy, "step started");
        match event.step {
            Step::Create => self.create_secret(&cx).await,
            Step::Set => match self.settings.strategy {
                Strategy::AlternatingUsers => self.set_secret_alternating(&cx).await,
                Strategy::SingleUser => self.set_secret_single(&cx).await,
            },
            Step::Test => self.test_secret(&cx).await,
            Step::Finish => self.finish_secret(&cx).await,
        }?;
        tracing::info!(secret = %event.secret_id, step = event.step.as_str(), "step finished");
        Ok(())
    }

    /// `DescribeSecret` of the rotated secret: its rotation state and labelled versions.
    async fn describe(
        &self,
        cx: &Context<'_>,
    ) -> Result<
        aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput,
        RotationError,
    > {
        self.secrets
            .describe_secret()
            .secret_id(&cx.event.secret_id)
            .send()
            .await
            .map_err(|e| cx.aws(permissions::DESCRIBE_SECRET, &e))
    }

    /// The reference's checks; `Ok(false)` when the token is already `AWSCURRENT`.
    async fn validate(&self, cx: &Context<'_>) -> Result<bool, RotationError> {
        let described = self.describe(cx).await?;
        if described.rotation_enabled() == Some(false) {
            return Err(cx.fail(Problem::Protocol(
                "rotation is not enabled for this secret; enable it with RotateSecret".to_owned(),
            )));
        }
        let stages = described
            .version_ids_to_stages()
            .and_then(|map| map.get(&cx.event.token));
        let Some(stages) = stages else {
            return Err(cx.fail(Problem::Protocol(format!("version {} is not a version of this secret; only Secrets Manager should invoke this step", cx.event.token))));
        };
        if stages.iter().any(|s| s == "AWSCURRENT") {
            return Ok(false);
        }
        if !stages.iter().any(|s| s == "AWSPENDING") {
            return Err(cx.fail(Problem::Protocol(format!(
                "version {} is not AWSPENDING; a rotation for it is not in progress",
                cx.event.token
            ))));
        }
        Ok(true)
    }

    async fn current(&self, cx: &Context<'_>) -> Result<DbSecret, RotationError> {
        let value = self
            .secrets
            .get_secret_value()
            .secret_id(&cx.event.secret_id)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .map_err(|e| cx.aws("secretsmanager:GetSecretValue (AWSCURRENT)", &e))?;
        let text = value.secret_string().ok_or_else(|| {
            cx.fail(Problem::Secret {
                which: "current",
                source: crate::secret::SecretError::NoString,
            })
        })?;
        DbSecret::parse(text).map_err(|source| {
            cx.fail(Problem::Secret {
                which: "current",
                source,
            })
        })
    }

    /// The pending version's value, `None` while it has none (before `createSecret`).
    async fn pending(&self, cx: &Context<'_>) -> Result<Option<DbSecret>, RotationError> {
        let result = self
            .secrets
            .get_secret_value()
            .secret_id(&cx.event.secret_id)
            .version_id(&cx.event.token)
            .version_stage("AWSPENDING")
            .send()
            .await;
        match result {
            Ok(value) => {
                let text = value.secret_string().ok_or_else(|| {
                    cx.fail(Problem::Secret {
                        which: "pending",
                        source: crate::secret::SecretError::NoString,
                    })
                })?;
                DbSecret::parse(text).map(Some).map_err(|source| {
                    cx.fail(Problem::Secret {
                        which: "pending",
                        source,
                    })
                })
            }
            Err(error) if value_missing(&error) => Ok(None),
            Err(error) => Err(cx.aws("secretsmanager:GetSecretValue (AWSPENDING)", &error)),
        }
    }

    async fn require_pending(&self, cx: &Context<'_>) -> Result<DbSecret, RotationError> {
        self.pending(cx).await?.ok_or_else(|| {
            cx.fail(Problem::Protocol(
                "the pending version has no value; createSecret has not run for this token"
                    .to_owned(),
            ))
        })
    }

    /// The admin's session at the admin's endpoint (the admin secret `masterarn`
    /// names), after checking that the application secret's database is that one or a
    /// replica or reader of it: where the rotation writes.
    async fn admin_login(
        &self,
        cx: &Context<'_>,
        current: &DbSecret,
        masterarn: &str,
    ) -> Result<(MySqlConnection, AdminEndpoint), RotationError> {
        let admin = self.admin_secret(cx, masterarn).await?;
        let endpoint = self
            .admin_endpoint(cx, masterarn, &admin, (&current.host, current.port))
            .await?;
        self.check_same_database(cx, current, &endpoint).await?;
        let login = Login {
            host: &endpoint.host,
            port: endpoint.port,
            user: &admin.username,
            password: &admin.password,
            database: None,
            tls: admin_tls(admin.tls, self.ca_bundle().is_some()),
        };
        let (mut connection, transport) =
            db::connect(&login, self.ca_bundle())
                .await
                .map_err(|source| {
                    cx.fail(Problem::AdminLogin {
                        arn: masterarn.to_owned(),
                        source,
                    })
                })?;
        tracing::info!(secret = %cx.event.secret_id, step = cx.event.step.as_str(), admin_secret = %masterarn, host = %endpoint.host, transport = transport.as_str(), "logged in as the admin user");
        db::prepare_session(&mut connection)
            .await
            .map_err(|e| cx.fail(e))?;
        Ok((connection, endpoint))
    }

    /// The server's version and the requirements of its password policy, read where
    /// the pending password is later set. Alternating users: as the admin (`masterarn`)
    /// at the admin's endpoint, as setSecret logs in, not as the current user at the
    /// secret's host: a login with a stale current password adds a failed login
    /// toward the user's `FAILED_LOGIN_ATTEMPTS` lock (MySQL manual, "Password
    /// Management", "Failed-Login Tracking and Temporary Account Locking"), and a
    /// secret whose host is a read replica would read the replica's policy, which its
    /// own parameter group may set otherwise than the source's, where CREATE USER and
    /// ALTER USER run. Single user: as the current user at the secret's host, where the
    /// user sets its own password. When the admin login fails (setSecret will report
    /// it), the current user's login reads them, as before: a policy read there is
    /// better than none, and a long user name needs the version.
    async fn server_facts(
        &self,
        cx: &Context<'_>,
        current: &DbSecret,
    ) -> Result<(Option<ServerVersion>, password_policy::Requirements), RotationError> {
        let admin = match (self.settings.strategy, current.masterarn.as_deref()) {
            (Strategy::AlternatingUsers, Some(masterarn)) => {
                match self.admin_login(cx, current, masterarn).await {
                    Ok((connection, _)) => Some(connection),
                    Err(error) => {
                        tracing::warn!(secret = %cx.event.secret_id, admin_secret = %masterarn, reason = %error, "the admin login failed; the server's version and password policy are read as the current user at the secret's host instead");
                        None
                    }
                }
            }
            _ => None,
        };
        let mut connection = match admin {
            Some(connection) => connection,
            None => self.login(cx, current, "current").await?.0,
        };
        let text = db::version(&mut connection).await.map_err(|e| cx.fail(e))?;
        let variables = db::password_policy_variables(&mut connection)
            .await
            .map_err(|e| cx.fail(e))?;
        let requirements = password_policy::Requirements::from_variables(&variables)
            .map_err(|reason| cx.fail(Problem::Refused(reason)))?;
        Ok((ServerVersion::parse(&text), requirements))
    }

    /// A password the server's policy accepts, checked here (never by the server, whose
    /// `VALIDATE_PASSWORD_STRENGTH()` could log it) before it is stored: a password the
    /// server refuses in setSecret would be refused on every retry (see `password_policy`).
    async fn policy_password(
        &self,
        cx: &Context<'_>,
        requirements: &password_policy::Requirements,
        cap: Option<password_policy::Cap>,
        users: &[&str],
    ) -> Result<Password, RotationError> {
        let plan = password_policy::plan(requirements, &self.settings, cap)
            .map_err(|reason| cx.fail(Problem::Refused(reason)))?;
        if let (true, Some(cap)) = (plan.clamped, cap) {
            tracing::warn!(secret = %cx.event.secret_id, setting = self.settings.password_length, length = plan.length, "PASSWORD_LENGTH is more than the {} characters {}; asking for {}", cap.chars, cap.why, plan.length);
        }
        if !requirements.is_empty() {
            tracing::info!(secret = %cx.event.secret_id, policy = ?requirements, length = plan.length, "the server has a password policy; the password is generated to meet it");
        }
        let mut last = String::new();
        for attempt in 1..=password_policy::ATTEMPTS {
            let password = self.random_password(cx, plan.length).await?;
            match password_policy::shortfall(password.expose(), requirements, users) {
                None => return Ok(password),
                Some(reason) => {
                    tracing::info!(secret = %cx.event.secret_id, attempt, reason = %reason, "a generated password misses the server's password policy; asking for another");
                    last = reason;
                }
            }
        }
        Err(cx.fail(Problem::Refused(format!(
            "{} passwords of {} characters from GetRandomPassword all missed the server's password policy (the last: {last}); raise PASSWORD_LENGTH, or exclude fewer characters (EXCLUDE_CHARACTERS, EXCLUDE_*)",
            password_policy::ATTEMPTS,
            plan.length
        ))))
    }

    async fn random_password(
        &self,
        cx: &Context<'_>,
        length: usize,
    ) -> Result<Password, RotationError> {
        let s = &self.settings;
        let generated = self
            .secrets
            .get_random_password()
            .exclude_characters(&s.exclude_characters)
            .password_length(i64::try_from(length).unwrap_or(s.password_length))
            .exclude_numbers(s.exclude_numbers)
            .exclude_punctuation(s.exclude_punctuation)
            .exclude_uppercase(s.exclude_uppercase)
            .exclude_lowercase(s.exclude_lowercase)
            .require_each_included_type(s.require_each_included_type)
            .send()
            .await
            .map_err(|e| cx.aws(permissions::GET_RANDOM_PASSWORD, &e))?;
        generated
            .random_password()
            .map(|p| Password::new(p.to_owned()))
            .ok_or_else(|| {
                cx.fail(Problem::Aws {
                    action: permissions::GET_RANDOM_PASSWORD,
                    message: "no password returned".to_owned(),
                })
            })
    }

    async fn login(
        &self,
        cx: &Context<'_>,
        secret: &DbSecret,
        who: &str,
    ) -> Result<(MySqlConnection, Transport), RotationError> {
        let login = Login {
            host: &secret.host,
            port: secret.port,
            user: &secret.username,
            password: &secret.password,
            database: secret.dbname.as_deref(),
            tls: secret.tls,
        };
        let (connection, transport) = db::connect(&login, self.ca_bundle())
            .await
            .map_err(|e| cx.fail(e))?;
        tracing::info!(secret = %cx.event.secret_id, step = cx.event.step.as_str(), user = %secret.username, host = %secret.host, transport = transport.as_str(), "logged in as the {who} user");
        Ok((connection, transport))
    }

    async fn create_secret(&self, cx: &Context<'_>) -> Result<(), RotationError> {
        let current = self.current(cx).await?;
        if self.pending(cx).await?.is_some() {
            tracing::info!(secret = %cx.event.secret_id, "the pending version already has a value; nothing to do");
            return Ok(());
        }
        let username = match self.settings.strategy {
            Strategy::AlternatingUsers => {
                current.require_masterarn().map_err(|source| {
                    cx.fail(Problem::Secret {
                        which: "current",
                        source,
                    })
                })?;
                alternate_user(&current.username)
            }
            Strategy::SingleUser => current.username.clone(),
        };
        Account::new(username.as_str(), "%")
            .sql()
            .map_err(|e| cx.fail(e))?;
        let length = username.chars().count();
        let needs_version = length > 16 && self.settings.username_character_limit.is_none();
        // One login reads the server's version (for the user-name limit) and its
        // password policy, where the password is set (`server_facts`: the admin's, for
        // alternating users). Without the version a long name cannot be judged, so that
        // login's failure is the step's; otherwise a server that cannot be read leaves
        // the password to the settings alone, as before the policy was read, and
        // setSecret reports the login's problem (a single-user rotation whose current
        // password no longer works still goes on with AWSPREVIOUS there).
        let (version, requirements) = match self.server_facts(cx, &current).await {
            Ok(facts) => facts,
            Err(error) if !needs_version => {
                tracing::warn!(secret = %cx.event.secret_id, reason = %error, "the server's password policy could not be read; the password follows the function's settings alone");
                (None, password_policy::Requirements::default())
            }
            Err(error) => return Err(error),
        };
        if length > 16 || self.settings.username_character_limit.is_some() {
            let limit = user_name_limit(self.settings.username_character_limit, version.as_ref());
            if length > limit {
                return Err(cx.fail(Problem::Refused(format!(
                    "the alternate user name `{username}` has {length} characters, more than the {limit} the server allows; shorten the user name, or set USERNAME_CHARACTER_LIMIT if the server allows more"
                ))));
            }
        }
        let cap = version
            .filter(|v| v.flavor == Flavor::MySql)
            .map(|_| password_policy::Cap::for_mysql(current.tls == TlsSetting::Required));
        let users = [username.as_str(), current.username.as_str()];
        let password = self.policy_password(cx, &requirements, cap, &users).await?;
        let value = current.with_credentials(&username, &password);
        let mut put = self
            .secrets
            .put_secret_value()
            .secret_id(&cx.event.secret_id)
            .client_request_token(&cx.event.token)
            .secret_string(value)
            .version_stages("AWSPENDING");
        if let Some(token) = &cx.event.rotation_token {
            put = put.rotation_token(token);
        }
        put.send()
            .await
            .map_err(|e| cx.aws(permissions::PUT_SECRET_VALUE, &e))?;
        tracing::info!(secret = %cx.event.secret_id, user = %username, "pending version created");
        Ok(())
    }

    #[allow(clippy::too_many_lines)] // setSecret's steps in protocol order; rotation.rs's split along the protocol divides it
    async fn set_secret_alternating(&self, cx: &Context<'_>) -> Result<(), RotationError> {
        let current = self.current(cx).await?;
        let pending = self.require_pending(cx).await?;
        let masterarn = current
            .require_masterarn()
            .map_err(|source| {
                cx.fail(Problem::Secret {
                    which: "current",
                    source,
                })
            })?
            .to_owned();
        let expected = alternate_user(&current.username);
        if pending.username != expected {
            return Err(cx.fail(Problem::Refused(format!(
                "the pending user `{}` is not the alternate of the current user `{}` (expected `{expected}`)",
                pending.username, current.username
            ))));
        }
        if pending.host != current.host || pending.port != current.port {
            return Err(cx.fail(Problem::Refused(
                "the pending version names another host or port than the current one".to_owned(),
            )));
        }
        // The current credentials must work: this function only acts for a secret that is right.
        let (mut current_connection, _) = self.login(cx, &current, "current").await?;
        let matched = db::current_user(&mut current_connection)
            .await
            .map_err(|e| cx.fail(e))?;
        drop(current_connection);
        let matched = Account::from_current_user(&matched).ok_or_else(|| {
            cx.fail(Problem::Protocol(format!(
                "CURRENT_USER() returned `{matched}`, not user@host"
            )))
        })?;
        // An anonymous account or a proxy user can accept the login of a name it is not.
        if matched.user != current.username {
            return Err(cx.fail(Problem::Refused(format!(
                "the current credentials of `{}` log in as the account {matched} (CURRENT_USER()), not as `{}` itself: an anonymous or proxy account matched; drop the anonymous accounts (DROP USER ''@'...') or fix the secret's username",
                current.username, current.username
            ))));
        }

        let (mut admin_connection, endpoint) = self.admin_login(cx, &current, &masterarn).await?;
        let version_text = db::version(&mut admin_connection)
            .await
            .map_err(|e| cx.fail(e))?;
        let version = ServerVersion::parse(&version_text).ok_or_else(|| {
            cx.fail(Problem::Protocol(format!(
                "cannot parse the server version `{version_text}`"
            )))
        })?;
        let limit = user_name_limit(self.settings.username_character_limit, Some(&version));
        if pending.username.chars().count() > limit {
            return Err(cx.fail(Problem::Refused(format!(
                "user name `{}` is longer than the {limit} characters {version} allows",
                pending.username
            ))));
        }
        if !version.supports_alter_user() {
            return Err(cx.fail(Problem::Refused(format!(
                "{version} is too old; the rotator supports MySQL 5.7.6+ and MariaDB 10.2+"
            ))));
        }
        let conn = &mut admin_connection;
        let partial_revokes = self.preflight(cx, conn, &endpoint.host).await?;

        // Read and check every account of both names before the first write.
        let user_hosts = db::account_hosts(conn, &current.username)
            .await
            .map_err(|e| cx.fail(e))?;
        let clone_hosts = db::account_hosts(conn, &pending.username)
            .await
            .map_err(|e| cx.fail(e))?;
        let hosts = mirror_hosts(
            &current.username,
            &pending.username,
            &user_hosts,
            &clone_hosts,
            &matched.host,
        )
        .map_err(|reason| cx.fail(Problem::Refused(reason)))?;
        // An existing alternate user must be this secret's before anything is written
        // to it; the hosts that hold the pending password already keep it, and the
        // copy below completes (or confirms) their privileges and settings.
        // (No login as it: a failed one counts against the account; see `ownership`.)
        let claim = self
            .claim_alternate(
                cx,
                conn,
                &current,
                &pending,
                version.flavor,
                (&clone_hosts, &hosts),
            )
            .await?;
        let mut accounts = Vec::new();
        for host in hosts {
            let user = Account::new(current.username.as_str(), host.as_str());
            let clone = Account::new(pending.username.as_str(), host.as_str());
            clone.sql().map_err(|e| cx.fail(e))?;
            let settings = self.account_settings(cx, conn, &user).await?;
            if let Some(plugin) = &settings.plugin
                && !sql::PASSWORD_PLUGINS.contains(&plugin.as_str())
            {
                return Err(cx.fail(Problem::Refused(format!(
                    "{user} authenticates with the plugin `{plugin}`, which takes no password; a password rotation cannot serve it (supported: {})",
                    sql::PASSWORD_PLUGINS.join(", ")
                ))));
            }
            let grants = self.grants_of(cx, conn, &user).await?;
            accounts.push((user, clone, settings, grants));
        }
        tracing::info!(secret = %cx.event.secret_id, user = %current.username, hosts = ?accounts.iter().map(|a| a.0.host.as_str()).collect::<Vec<_>>(), "mirroring every host of the user");
        self.check_grantable(
            cx,
            conn,
            (&endpoint.host, &version),
            &accounts,
            partial_revokes,
        )
        .await?;
        let mut holding_pending = claim.holding_pending;
        holding_pending.extend(
            self.create_clones(cx, conn, &pending, &version, &accounts)
                .await?,
        );
        for (user, clone, settings, grants) in &accounts {
            self.copy_account(cx, conn, user, clone, grants, settings, &version)
                .await?;
        }
        for (_, clone, settings, _) in &accounts {
            let set_already = holding_pending
                .iter()
                .any(|h| h.eq_ignore_ascii_case(&clone.host));
            if !set_already {
                let statement = sql::set_password(
                    clone,
                    &pending.password,
                    settings.plugin.as_deref(),
                    version.flavor,
                )
                .map_err(|e| cx.fail(e))?;
                db::execute(conn, &statement)
                    .await
                    .map_err(|e| cx.fail(e))?;
                tracing::info!(secret = %cx.event.secret_id, account = %clone, "set the pending password of the alternate user");
            }
            // Also where the pending password was set before: a crash between the two
            // statements would otherwise leave the old one valid as a secondary.
            if version.supports_dual_passwords() {
                let discard = sql::discard_old_password(clone).map_err(|e| cx.fail(e))?;
                db::execute(conn, &discard).await.map_err(|e| cx.fail(e))?;
            }
        }
        Ok(())
    }

    /// Creates the accounts of the alternate user that do not exist yet, with the
    /// pending password and the user's authentication plugin, and locked until
    /// `copy_account` has given them everything the user has and unlocks them (no
    /// session opens on a half-made account), as AWS's reference function
    /// `SecretsManagerRDSMySQLRotationMultiUser` creates it `IDENTIFIED BY` the pending
    /// password. Not with the current user's password: the server's password policy
    /// (MySQL `validate_password`, MariaDB `simple_password_check`) judges the password
    /// of CREATE USER, and a current password set before a stricter policy was installed
    /// would stop every first rotation there, while the pending one was generated to
    /// meet the policy (createSecret). A crash after any creation leaves a clone this
    /// secret proves its own by its pending password (`ownership`; a locked account
    /// accepts the right password, then refuses with 3118/4151); the retry finishes its
    /// copy and leaves its password alone. The account this function's address matches
    /// is created first (it is last in `accounts`). Returns the hosts created.
    async fn create_clones(
        &self,
        cx: &Context<'_>,
        conn: &mut MySqlConnection,
        pending: &DbSecret,
        version: &ServerVersion,
        accounts: &[(Account, Account, grants::AccountSettings, Grants)],
    ) -> Result<Vec<String>, RotationError> {
        let mut created = Vec::new();
        for (_, clone, settings, _) in accounts.iter().rev() {
            if db::account_exists(conn, clone)
                .await
                .map_err(|e| cx.fail(e))?
            {
                continue;
            }
            let statement = sql::create_user(
                clone,
                &pending.password,
                settings.plugin.as_deref(),
                version.flavor,
                version.supports_account_lock(),
            )
            .map_err(|e| cx.fail(e))?;
            db::execute(conn, &statement)
                .await
                .map_err(|e| cx.fail(e))?;
            tracing::info!(secret = %cx.event.secret_id, account = %clone, "created the alternate user with the pending password, locked until its privileges are copied");
            created.push(clone.host.clone());
        }
        Ok(created)
    }

    /// Refuses, before the first write, a server that takes no writes (read-only); says
    /// whether partial revokes are in force, which `check_grantable` then looks at
    /// (see `preflight`).
    async fn preflight(
        &self,
        cx: &Context<'_>,
        conn: &mut MySqlConnection,
        host: &str,
    ) -> Result<bool, RotationError> {
        let variables = db::write_variables(conn).await.map_err(|e| cx.fail(e))?;
        match preflight::refusal(host, &variables) {
            Some(reason) => Err(cx.fail(Problem::Refused(reason))),
            None => Ok(preflight::partial_revokes(&variables)),
        }
    }

    /// Refuses, before the first write, a copy the admin could not finish: each grant
    /// and revoke the clone needs must be within the admin's own privileges WITH GRANT
    /// OPTION ("To use GRANT, you must have the GRANT OPTION privilege, and you must
    /// have the privileges that you are granting": MariaDB knowledge base, "GRANT";
    /// MySQL reference manual, "GRANT Statement"). RDS's master user holds a fixed list
    /// without SUPER, FILE or SHUTDOWN (RDS user guide, "Master user account privileges").
    ///
    /// The check only ever stops a copy early; it never decides one the server would
    /// accept. So when the admin's own privileges cannot be read or parsed (mandatory
    /// roles in `USING`, an unfamiliar row), it says so and lets the server decide, as
    /// before it existed: a copy the server refuses is undone or redone on retry. Except
    /// under `partial_revokes=ON`, where a copy the server accepts can still leave the
    /// clone short of the user (inherited restrictions: see `preflight`), so the admin's
    /// privileges must be read.
    async fn check_grantable(
        &self,
        cx: &Context<'_>,
        conn: &mut MySqlConnection,
        (host, version): (&str, &ServerVersion),
        accounts: &[(Account, Account, grants::AccountSettings, Grants)],
        partial_revokes: bool,
    ) -> Result<(), RotationError> {
        let admin = match self.admin_privileges(cx, conn, version).await {
            Ok(admin) => admin,
            Err(error) if partial_revokes => return Err(error),
            Err(error) => {
                tracing::warn!(secret = %cx.event.secret_id, reason = %error, "the admin's own privileges could not be read; the server will judge the copy");
                return Ok(());
            }
        };
        let (admin_account, admin) = admin;
        if partial_revokes {
            let mut inherited: Vec<String> = Vec::new();
            for (_, _, _, target) in accounts {
                for restriction in admin.inherited_revokes(&target.rows) {
                    if !inherited.contains(&restriction) {
                        inherited.push(restriction);
                    }
                }
            }
            if let Some(reason) =
                preflight::inherited_refusal(host, &admin_account.to_string(), &inherited)
            {
                return Err(cx.fail(Problem::Refused(reason)));
            }
        }
        self.refuse_ungrantable(cx, conn, version, accounts, &admin_account, &admin)
            .await
    }

    /// The admin session's account and privileges (its `SHOW GRANTS`, with its active roles).
    async fn admin_privileges(
        &self,
        cx: &Context<'_>,
        conn: &mut MySqlConnection,
        version: &ServerVersion,
    ) -> Result<(Account, grantable::AdminPrivileges), RotationError> {
        let matched = db::current_user(conn).await.map_err(|e| cx.fail(e))?;
        let admin_account = Account::from_current_user(&matched).ok_or_else(|| {
            cx.fail(Problem::Protocol(format!(
                "CURRENT_USER() returned `{matched}`, not user@host"
            )))
        })?;
        let roles = if version.flavor == Flavor::MySql && version.supports_roles() {
            let active = db::current_role(conn).await.map_err(|e| cx.fail(e))?;
            grantable::parse_role_list(&active)
                .into_iter()
                .map(|(user, host)| Account::new(user, host))
                .collect()
        } else {
            Vec::new()
        };
        let statement = sql::show_session_grants(version.flavor, &admin_account, &roles)
            .map_err(|e| cx.fail(e))?;
        let rows = db::strings(conn, &statement)
            .await
            .map_err(|e| cx.fail(e))?;
        let admin = grantable::AdminPrivileges::parse(&rows).map_err(|e| cx.fail(e))?;
        Ok((admin_account, admin))
    }

    async fn refuse_ungrantable(
        &self,
        cx: &Context<'_>,
        conn: &mut MySqlConnection,
        version: &ServerVersion,
        accounts: &[(Account, Account, grants::AccountSettings, Grants)],
        admin_account: &Account,
        admin: &grantable::AdminPrivileges,
    ) -> Result<(), RotationError> {
        let mut refusals = Vec::new();
        for (user, clone, _, target) in accounts {
            let existing = if db::account_exists(conn, clone)
                .await
                .map_err(|e| cx.fail(e))?
            {
                self.grants_of(cx, conn, clone).await?.rows
            } else {
                // What CREATE USER gives.
                vec![grants::GrantRow::Privileges {
                    revoke: false,
                    privileges: "USAGE".to_owned(),
                    object: "*.*".to_owned(),
                    grant_option: false,
                }]
            };
            let clone_sql = clone.sql().map_err(|e| cx.fail(e))?;
            let planned = grants::plan(&target.rows, &existing, &clone_sql);
            let shortfalls = grantable::shortfalls(&planned, admin, version);
            if !shortfalls.is_empty() {
                refusals.push(
                    grantable::Refusal {
                        user: &user.to_string(),
                        clone: &clone.to_string(),
                        admin: &admin_account.to_string(),
                        shortfalls: &shortfalls,
                    }
                    .to_string(),
                );
            }
        }
        if refusals.is_empty() {
            Ok(())
        } else {
            Err(cx.fail(Problem::Refused(refusals.join("; "))))
        }
    }

    async fn grants_of(
        &self,
        cx: &Context<'_>,
        conn: &mut MySqlConnection,
        account: &Account,
    ) -> Result<Grants, RotationError> {
        let rows = db::strings(conn, &sql::show_grants(account).map_err(|e| cx.fail(e))?)
            .await
            .map_err(|e| cx.fail(e))?;
        Grants::parse(&rows, &account.user, &account.host).map_err(|e| cx.fail(e))
    }

    /// `SHOW CREATE USER`: TLS requirement, default roles, plugin, limits, expiry, lock.
    async fn account_settings(
        &self,
        cx: &Context<'_>,
        conn: &mut MySqlConnection,
        account: &Account,
    ) -> Result<grants::AccountSettings, RotationError> {
        let rows = db::strings(
            conn,
            &sql::show_create_user(account).map_err(|e| cx.fail(e))?,
        )
        .await
        .map_err(|e| cx.fail(e))?;
        if rows.is_empty() {
            return Err(cx.fail(Problem::Protocol(format!(
                "SHOW CREATE USER {account} returned nothing"
            ))));
        }
        grants::parse_create_user(&rows.join(" ")).map_err(|e| cx.fail(e))
    }

    /// Makes `clone`'s privileges and account settings exactly `current`'s.
    #[allow(clippy::too_many_arguments)]
    async fn copy_account(
        &self,
        cx: &Context<'_>,
        conn: &mut MySqlConnection,
        current: &Account,
        clone: &Account,
        target: &Grants,
        wanted: &grants::AccountSettings,
        version: &ServerVersion,
    ) -> Result<(), RotationError> {
        let clone_sql = clone.sql().map_err(|e| cx.fail(e))?;
        let existing = self.grants_of(cx, conn, clone).await?;
        // Rows of the current user not given to the clone, and rows given without the
        // columns that no longer exist: both leave the result short of `target` on purpose.
        let mut skipped = Vec::new();
        let mut narrowed: Vec<(grants::GrantRow, grants::GrantRow)> = Vec::new();
        for planned in grants::plan(&target.rows, &existing.rows, &clone_sql) {
            let mut row = planned.row.clone();
            let mut statement = sql::privilege_statement(planned.text);
            loop {
                let error = match db::execute(conn, &statement).await {
                    Ok(()) => {
                        tracing::info!(secret = %cx.event.secret_id, statement = %statement.summary, "privilege copied");
                        if row != planned.row {
                            narrowed.push((planned.row.clone(), row));
                        }
                        break;
                    }
                    Err(error) => error,
                };
                let copies_a_privilege =
                    planned.applies && matches!(planned.row, grants::GrantRow::Privileges { .. });
                match error.number() {
                    // MySQL and MariaDB keep table grants after DROP TABLE (MySQL also routine
                    // grants), and granting on a missing table or routine fails with 1146
                    // (ER_NO_SUCH_TABLE) / 1305 (ER_SP_DOES_NOT_EXIST) on every retry:
                    // https://dev.mysql.com/doc/refman/8.0/en/grant.html ("MySQL does not
                    // automatically revoke any privileges when you drop a database or table").
                    Some(1146 | 1305) if copies_a_privilege => {
                        tracing::warn!(secret = %cx.event.secret_id, account = %current, grant = %planned.row, reason = %error, "not copied: the grant names a table or routine that no longer exists; revoke it from the user to silence this");
                        skipped.push(planned.row.clone());
                        break;
                    }
                    // Column grants outlive `ALTER TABLE ... DROP COLUMN` the same way, and
                    // granting one fails with 1054 (ER_BAD_FIELD_ERROR) on every retry: the
                    // grant is given again without that column (see `grants::unknown_column`).
                    // Each round removes one column of the row, so the loop ends. Undoing
                    // such a row needs nothing: REVOKE does not look the columns up (MySQL's
                    // `mysql_table_grant` in sql/auth/sql_authorization.cc checks them only
                    // `if (!revoke_grant)`; MariaDB 10.11 revokes them too, as seen here).
                    Some(1054) if copies_a_privilege => {
                        let DbError::Statement { message, .. } = &error else {
                            return Err(cx.fail(error));
                        };
                        let Some(column) = grants::unknown_column(&row, message) else {
                            return Err(cx.fail(error));
                        };
                        tracing::warn!(secret = %cx.event.secret_id, account = %current, grant = %planned.row, column = %column, "not copied for this column: the grant names a column that no longer exists; the rest of the grant is copied; revoke it from the user to silence this");
                        let Some(rest) = grants::without_column(&row, &column) else {
                            skipped.push(planned.row.clone());
                            break;
                        };
                        statement = sql::privilege_statement(rest.apply_sql(&clone_sql));
                        row = rest;
                    }
                    _ => return Err(cx.fail(error)),
                }
            }
        }
        let have = self.account_settings(cx, conn, clone).await?;
        let mut statements = Vec::new();
        if wanted.require != have.require {
            statements.push(sql::require(clone, &wanted.require));
        }
        if version.flavor == Flavor::MySql
            && version.supports_roles()
            && wanted.default_roles != have.default_roles
        {
            statements.push(sql::default_roles(clone, wanted.default_roles.as_deref()));
        }
        if wanted.limits != have.limits {
            let mut limits = wanted.limits.clone();
            for (name, _) in &have.limits {
                if !limits.iter().any(|(n, _)| n == name) {
                    limits.push((name.clone(), "0".to_owned()));
                }
            }
            statements.push(sql::resource_limits(clone, &limits));
        }
        if wanted.password_expiry != have.password_expiry {
            statements.push(sql::password_expiry(clone, &wanted.password_expiry));
        }
        if wanted.locked != have.locked {
            statements.push(sql::account_lock(clone, wanted.locked));
        }
        for statement in statements {
            let statement = statement.map_err(|e| cx.fail(e))?;
            db::execute(conn, &statement)
                .await
                .map_err(|e| cx.fail(e))?;
            tracing::info!(secret = %cx.event.secret_id, statement = %statement.summary, "account setting copied");
        }
        // Check the result the way an auditor would: read both back and compare.
        let after = self.grants_of(cx, conn, clone).await?;
        let expected: Vec<&grants::GrantRow> = target
            .rows
            .iter()
            .filter(|r| !skipped.contains(r))
            .map(|r| {
                narrowed
                    .iter()
                    .find(|(whole, _)| whole == r)
                    .map_or(r, |(_, given)| given)
            })
            .collect();
        let missing: Vec<String> = expected
            .iter()
            .filter(|r| !after.rows.contains(r))
            .map(ToString::to_string)
            .collect();
        let extra: Vec<String> = after
            .rows
            .iter()
            .filter(|r| !expected.contains(r))
            .map(ToString::to_string)
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            return Err(cx.fail(Problem::Protocol(format!(
                "after copying, the privileges of {clone} differ from {current}: missing [{}], extra [{}]",
                missing.join("; "),
                extra.join("; ")
            ))));
        }
        Ok(())
    }

    async fn admin_secret(
        &self,
        cx: &Context<'_>,
        arn: &str,
    ) -> Result<AdminSecret, RotationError> {
        let value = self.secrets.get_secret_value().secret_id(arn).send().await.map_err(|e| {
            cx.fail(Problem::Aws {
                action: "secretsmanager:GetSecretValue (admin secret from masterarn)",
                message: format!("{}; check that masterarn names the admin secret and that the function's role may read it", DisplayErrorContext(&e)),
            })
        })?;
        let text = value.secret_string().ok_or_else(|| {
            cx.fail(Problem::AdminSecret {
                arn: arn.to_owned(),
                source: crate::secret::SecretError::NoString,
            })
        })?;
        AdminSecret::parse(text).map_err(|source| {
            cx.fail(Problem::AdminSecret {
                arn: arn.to_owned(),
                source,
            })
        })
    }

    /// Where the admin logs in: the admin secret's host, or, for an RDS-managed admin
    /// secret, the instance or cluster its `aws:rds:primary...Arn` tag names. The
    /// instance's read replicas (a cluster's member instances) are described only when
    /// the application's `app` host is not the primary's (the cluster's or its reader's)
    /// endpoint: a replica added after deploy wrote the role's policy, which names the
    /// replicas it saw, must not stop the rotations of a secret on the primary.
    async fn admin_endpoint(
        &self,
        cx: &Context<'_>,
        arn: &str,
        admin: &AdminSecret,
        app: (&str, u16),
    ) -> Result<AdminEndpoint, RotationError> {
        if let Some(host) = &admin.host {
            return Ok(AdminEndpoint {
                host: host.clone(),
                port: admin.port.unwrap_or(3306),
                others: Vec::new(),
                from_secret: true,
            });
        }
        let described = self
            .secrets
            .describe_secret()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| cx.aws("secretsmanager:DescribeSecret (admin secret)", &e))?;
        let tag = |suffix: &str| {
            described
                .tags()
                .iter()
                .find(|t| t.key().is_some_and(|k| k.eq_ignore_ascii_case(suffix)))
                .and_then(|t| t.value())
                .map(str::to_owned)
        };
        if let Some(instance_arn) = tag("aws:rds:primaryDBInstanceArn") {
            return self.instance_endpoint(cx, &instance_arn, app).await;
        }
        if let Some(cluster_arn) = tag("aws:rds:primaryDBClusterArn") {
            return self.cluster_endpoint(cx, &cluster_arn, app).await;
        }
        Err(cx.fail(Problem::AdminSecret {
            arn: arn.to_owned(),
            source: crate::secret::SecretError::Missing { key: "host", hint: "the admin secret has no host and no aws:rds:primaryDBInstanceArn tag; add host and port to it" },
        }))
    }

    /// One DB instance by identifier, `None` when RDS does not know it.
    async fn describe_instance(
        &self,
        cx: &Context<'_>,
        id: &str,
    ) -> Result<Option<aws_sdk_rds::types::DbInstance>, RotationError> {
        match self
            .rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(found) => Ok(found.db_instances().first().cloned()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(aws_sdk_rds::operation::describe_db_instances::DescribeDBInstancesError::is_db_instance_not_found_fault) =>
            {
                Ok(None)
            }
            Err(error) => Err(cx.aws(permissions::DESCRIBE_DB_INSTANCES, &error)),
        }
    }

    async fn instance_endpoint(
        &self,
        cx: &Context<'_>,
        instance_arn: &str,
        app: (&str, u16),
    ) -> Result<AdminEndpoint, RotationError> {
        let instance = self
            .describe_instance(cx, rds_identifier(instance_arn))
            .await?
            .ok_or_else(|| {
                cx.fail(Problem::Protocol(format!(
                    "RDS instance {instance_arn} was not found"
                )))
            })?;
        let (host, port) = instance_address(&instance).ok_or_else(|| {
            cx.fail(Problem::Protocol(format!(
                "RDS instance {instance_arn} has no endpoint yet (is it available?)"
            )))
        })?;
        let mut others = Vec::new();
        let replicas = permissions::replicas_described(
            app.0,
            same_address(app, (&host, port)),
            instance.read_replica_db_instance_identifiers(),
        );
        for replica in replicas {
            if let Some(found) = self.describe_instance(cx, replica).await? {
                others.extend(instance_address(&found));
            }
        }
        Ok(AdminEndpoint {
            host,
            port,
            others,
            from_secret: false,
        })
    }

    async fn cluster_endpoint(
        &self,
        cx: &Context<'_>,
        cluster_arn: &str,
        app: (&str, u16),
    ) -> Result<AdminEndpoint, RotationError> {
        let described = self
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(rds_identifier(cluster_arn))
            .send()
            .await
            .map_err(|e| cx.aws(permissions::DESCRIBE_DB_CLUSTERS, &e))?;
        let cluster = described.db_clusters().first().ok_or_else(|| {
            cx.fail(Problem::Protocol(format!(
                "RDS cluster {cluster_arn} was not found"
            )))
        })?;
        let host = cluster
            .endpoint()
            .ok_or_else(|| {
                cx.fail(Problem::Protocol(format!(
                    "RDS cluster {cluster_arn} has no endpoint yet"
                )))
            })?
            .to_owned();
        let port = cluster
            .port()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(3306);
        let mut others: Vec<(String, u16)> = cluster
            .reader_endpoint()
            .map(|reader| (reader.to_owned(), port))
            .into_iter()
            .collect();
        let on_cluster = same_address(app, (&host, port))
            || others.iter().any(|(h, p)| same_address(app, (h, *p)));
        let members: Vec<String> = cluster
            .db_cluster_members()
            .iter()
            .filter_map(|m| m.db_instance_identifier().map(str::to_owned))
            .collect();
        let members = permissions::replicas_described(app.0, on_cluster, &members);
        for id in members {
            if let Some(found) = self.describe_instance(cx, id).await? {
                others.extend(instance_address(&found));
            }
        }
        Ok(AdminEndpoint {
            host,
            port,
            others,
            from_secret: false,
        })
    }

    /// Refuses an application secret whose database is not the admin's: the same
    /// host and port, a read replica or an Aurora reader/instance of it. With a `host`
    /// in the admin secret, RDS is asked, as AWS's reference function does, whether
    /// the application's host is an RDS read replica or cluster instance of it.
    async fn check_same_database(
        &self,
        cx: &Context<'_>,
        current: &DbSecret,
        endpoint: &AdminEndpoint,
    ) -> Result<(), RotationError> {
        if endpoint_matches(&current.host, current.port, endpoint) {
            return Ok(());
        }
        // RDS endpoints start with the instance identifier: <id>.<hash>.<region>.rds.amazonaws.com.
        let id = current.host.split('.').next().unwrap_or_default();
        if endpoint.from_secret
            && !id.is_empty()
            && current.host.contains(".rds.")
            && let Some(instance) = self.describe_instance(cx, id).await?
            && instance_address(&instance)
                .is_some_and(|(h, p)| h.eq_ignore_ascii_case(&current.host) && p == current.port)
        {
            let mut sources = Vec::new();
            if let Some(source) = instance.read_replica_source_db_instance_identifier()
                && let Some(found) = self.describe_instance(cx, rds_identifier(source)).await?
            {
                sources.extend(instance_address(&found));
            }
            if let Some(cluster_id) = instance.db_cluster_identifier() {
                let cluster = self
                    .cluster_endpoint(cx, cluster_id, (&current.host, current.port))
                    .await?;
                sources.push((cluster.host.clone(), cluster.port));
                sources.extend(cluster.others);
            }
            if sources
                .iter()
                .any(|(h, p)| h.eq_ignore_ascii_case(&endpoint.host) && *p == endpoint.port)
            {
                tracing::info!(secret = %cx.event.secret_id, host = %current.host, admin_host = %endpoint.host, "the secret's host is a read replica or cluster instance of the admin secret's database");
                return Ok(());
            }
        }
        Err(cx.fail(Problem::Refused(format!(
            "the secret's database `{}:{}` is neither the admin secret's database `{}:{}` nor one of its read replicas or readers; point masterarn at the admin secret of this database, or fix the secret's host and port",
            current.host, current.port, endpoint.host, endpoint.port
        ))))
    }

    async fn set_secret_single(&self, cx: &Context<'_>) -> Result<(), RotationError> {
        let current = self.current(cx).await?;
        let pending = self.require_pending(cx).await?;
        if pending.username != current.username
            || pending.host != current.host
            || pending.port != current.port
        {
            return Err(cx.fail(Problem::Refused("single-user rotation keeps the user, host and port; the pending version changes them".to_owned())));
        }
        if self.pending_logs_in(cx, &pending).await? {
            tracing::info!(secret = %cx.event.secret_id, "the pending credentials already log in; nothing to do");
            return Ok(());
        }
        // The password that logged in is the one the statement replaces (`REPLACE`).
        let (mut connection, replacing) = match self.login(cx, &current, "current").await {
            Ok((connection, _)) => (connection, current.password.clone()),
            Err(current_error) => self
                .login_as_previous(cx, &current, &pending)
                .await?
                .ok_or(current_error)?,
        };
        db::prepare_session(&mut connection)
            .await
            .map_err(|e| cx.fail(e))?;
        let version_text = db::version(&mut connection).await.map_err(|e| cx.fail(e))?;
        let version = ServerVersion::parse(&version_text).ok_or_else(|| {
            cx.fail(Problem::Protocol(format!(
                "cannot parse the server version `{version_text}`, so the statement that changes a password cannot be chosen"
            )))
        })?;
        let statement = sql::set_own_password(&pending.password, Some(&replacing), &version)
            .map_err(|e| cx.fail(e))?;
        match db::execute(&mut connection, &statement).await {
            Ok(()) => {}
            // 3891 ER_INCORRECT_CURRENT_PASSWORD: MySQL checks REPLACE against the
            // primary password only, and the one that logged in was the secondary
            // (`RETAIN CURRENT PASSWORD`). Without REPLACE the change goes through
            // unless the account must name its current password.
            Err(error) if error.number() == Some(3891) => {
                tracing::warn!(secret = %cx.event.secret_id, user = %current.username, "the password that logged in is the account's secondary password (RETAIN CURRENT PASSWORD), which REPLACE does not accept; setting the new one without REPLACE");
                let statement = sql::set_own_password(&pending.password, None, &version)
                    .map_err(|e| cx.fail(e))?;
                db::execute(&mut connection, &statement)
                    .await
                    .map_err(|e| cx.fail(e))?;
            }
            Err(error) => return Err(cx.fail(error)),
        }
        tracing::info!(secret = %cx.event.secret_id, user = %current.username, "the user set its own new password");
        Ok(())
    }

    /// Whether the pending credentials log in already (single-user `setSecret` done
    /// before). Only "access denied" (1045; 1698 for a socket or plugin account)
    /// means "not set yet": any other refusal (too many connections 1040/1226, a
    /// locked or expired account, no access to `dbname` 1044) is reported as it is,
    /// because setting the same password again would only hit the server's password
    /// history (3638) and hide the real cause.
    async fn pending_logs_in(
        &self,
        cx: &Context<'_>,
        pending: &DbSecret,
    ) -> Result<bool, RotationError> {
        let login = Login {
            host: &pending.host,
            port: pending.port,
            user: &pending.username,
            password: &pending.password,
            database: pending.dbname.as_deref(),
            tls: pending.tls,
        };
        match db::connect(&login, self.ca_bundle()).await {
            Ok(_) => Ok(true),
            Err(db::DbError::Refused {
                number: None | Some(1045 | 1698),
                ..
            }) => Ok(false),
            Err(error) => Err(cx.fail(error)),
        }
    }

    /// The `AWSPREVIOUS` login of single-user rotation, as AWS's reference function
    /// tries when neither the pending nor the current password works (a database
    /// restored from a backup, say): `None` when there is no usable previous version.
    async fn login_as_previous(
        &self,
        cx: &Context<'_>,
        current: &DbSecret,
        pending: &DbSecret,
    ) -> Result<Option<(MySqlConnection, Password)>, RotationError> {
        let found = self
            .secrets
            .get_secret_value()
            .secret_id(&cx.event.secret_id)
            .version_stage("AWSPREVIOUS")
            .send()
            .await;
        let text = match found {
            Ok(value) => value.secret_string().map(str::to_owned),
            Err(error) if value_missing(&error) => None,
            Err(error) => return Err(cx.aws("secretsmanager:GetSecretValue (AWSPREVIOUS)", &error)),
        };
        let Some(mut previous) = text.and_then(|t| DbSecret::parse(&t).ok()) else {
            return Ok(None);
        };
        if previous.username != pending.username
            || previous.host != pending.host
            || previous.port != pending.port
        {
            return Err(cx.fail(Problem::Refused(format!(
                "the current credentials do not log in, and the previous version (AWSPREVIOUS) names user `{}` at {}:{}, not the pending `{}` at {}:{}; fix AWSCURRENT",
                previous.username, previous.host, previous.port, pending.username, pending.host, pending.port
            ))));
        }
        // The reference uses the current version's `ssl` for the previous login.
        previous.tls = current.tls;
        match self.login(cx, &previous, "previous (AWSPREVIOUS)").await {
            Ok((connection, _)) => {
                tracing::warn!(secret = %cx.event.secret_id, user = %previous.username, "the current password does not log in; the previous one (AWSPREVIOUS) did, and is used to set the pending password");
                Ok(Some((connection, previous.password)))
            }
            Err(_) => Ok(None),
        }
    }

    async fn test_secret(&self, cx: &Context<'_>) -> Result<(), RotationError> {
        let pending = self.require_pending(cx).await?;
        let (mut connection, _) = self.login(cx, &pending, "pending").await?;
        db::ping(&mut connection).await.map_err(|e| cx.fail(e))?;
        Ok(())
    }

    async fn finish_secret(&self, cx: &Context<'_>) -> Result<(), RotationError> {
        let described = self.describe(cx).await?;
        let current = described
            .version_ids_to_stages()
            .into_iter()
            .flatten()
            .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
            .map(|(id, _)| id.clone());
        if current.as_deref() == Some(cx.event.token.as_str()) {
            return Ok(());
        }
        let mut update = self
            .secrets
            .update_secret_version_stage()
            .secret_id(&cx.event.secret_id)
            .version_stage("AWSCURRENT")
            .move_to_version_id(&cx.event.token);
        if let Some(current) = &current {
            update = update.remove_from_version_id(current);
        }
        update
            .send()
            .await
            .map_err(|e| cx.aws(permissions::UPDATE_SECRET_VERSION_STAGE, &e))?;
        tracing::info!(secret = %cx.event.secret_id, version = %cx.event.token, previous = ?current, "AWSCURRENT moved to the new version");
        Ok(())
    }
}

/// The identifier at the end of an RDS ARN (`arn:aws:rds:region:account:db:name`).
fn rds_identifier(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// The endpoint of an instance, when it has one.
fn instance_address(instance: &aws_sdk_rds::types::DbInstance) -> Option<(String, u16)> {
    let endpoint = instance.endpoint()?;
    Some((
        endpoint.address()?.to_owned(),
        endpoint
            .port()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(3306),
    ))
}

/// A call that got no answer (no error code, a timeout or a connection failure)
/// names what to check, as AWS's troubleshooting guide for rotation does; any other
/// failure is said as it is.
pub(crate) fn unreachable_hint(action: &str, message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    let unanswered = [
        "timeout",
        "timed out",
        "dispatch failure",
        "connect",
        "io error",
    ]
    .iter()
    .any(|needle| lower.contains(needle));
    if !unanswered {
        return message.to_owned();
    }
    let service = action.split(':').next().unwrap_or("the service");
    format!(
        "{message}: no answer from {service}. A function in a VPC reaches it only through an interface VPC \
         endpoint for {service} with private DNS on (and the VPC's DNS support and DNS hostnames on) or a \
         NAT gateway; check that the endpoint's security group admits TCP 443 from the function's security \
         group, that the function's group lets TCP 443 out, and that the subnets' network ACLs pass both ways"
    )
}

/// `GetSecretValue` found no such version (or no value in it yet).
fn value_missing<R>(
    error: &aws_sdk_secretsmanager::error::SdkError<GetSecretValueError, R>,
) -> bool {
    matches!(
        error.as_service_error(),
        Some(GetSecretValueError::ResourceNotFoundException(_))
    )
}

/// AWS error codes of a denied call (IAM: `AccessDenied`, `AccessDeniedException`).
fn is_access_denied(code: &str) -> bool {
    code.starts_with("AccessDenied") || code == "UnauthorizedOperation"
}

/// Whether `host:port` is the admin's database or one of its replicas/readers.
fn endpoint_matches(host: &str, port: u16, endpoint: &AdminEndpoint) -> bool {
    same_address((host, port), (&endpoint.host, endpoint.port))
        || endpoint
            .others
            .iter()
            .any(|(h, p)| same_address((host, port), (h, *p)))
}

/// Host names compare without case (DNS); ports exactly.
fn same_address(a: (&str, u16), b: (&str, u16)) -> bool {
    a.0.eq_ignore_ascii_case(b.0) && a.1 == b.1
}

/// The admin login's TLS: its own secret's `ssl`, never the application secret's
/// (whoever can write that must not be able to send the master credentials in
/// plaintext); with a CA bundle configured, verified TLS unless the admin secret
/// itself says `ssl: false`.
pub fn admin_tls(admin: TlsSetting, ca_bundle_configured: bool) -> TlsSetting {
    match admin {
        TlsSetting::Preferred if ca_bundle_configured => TlsSetting::Required,
        other => other,
    }
}

/// The hosts the clone gets: exactly the user's, from `mysql.user`, with `matched`
/// (the account the function's own login matched) last, so that when the pending
/// password logs in from here, every other host already has it.
///
/// `CURRENT_USER()` names only the account that matched the function's address; a
/// user may have several (`app@'%'` and `app@'10.0.%'`), and clients elsewhere match
/// the others. A clone account at a host the user lacks is refused: it would keep a
/// password and privileges this rotation does not manage (typically a `'%'` clone
/// left by AWS's reference function for a user with a narrower host).
pub fn mirror_hosts(
    user: &str,
    clone: &str,
    user_hosts: &[String],
    clone_hosts: &[String],
    matched: &str,
) -> Result<Vec<String>, String> {
    if !user_hosts.iter().any(|h| h == matched) {
        return Err(format!(
            "mysql.user has no account '{user}'@'{matched}', though the current login matched it; check that masterarn names the admin secret of the database the secret's host points at"
        ));
    }
    let extra: Vec<String> = clone_hosts
        .iter()
        .filter(|h| !user_hosts.contains(h))
        .map(|h| format!("'{clone}'@'{h}'"))
        .collect();
    if !extra.is_empty() {
        return Err(format!(
            "{} exist(s) where `{user}` has no account, so the clone cannot mirror the user: clients there would log in as an account this rotation does not manage; drop {} or create `{user}` at the same host(s)",
            extra.join(", "),
            if extra.len() == 1 { "it" } else { "them" }
        ));
    }
    let mut hosts: Vec<String> = user_hosts
        .iter()
        .filter(|h| *h != matched)
        .cloned()
        .collect();
    hosts.push(matched.to_owned());
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every action the step code names (in a literal, such as
    /// `"secretsmanager:GetSecretValue (AWSCURRENT)"`, or through a constant of
    /// `permissions`) is a row of `permissions::CALLS`, from which deploy's role
    /// policy and the audit's role check are built: a new call written here without
    /// its row fails this test.
    #[test]
    fn every_action_the_steps_name_is_in_the_permissions_table() {
        let sources = [
            include_str!("rotation.rs"),
            include_str!("rotation/ownership.rs"),
        ];
        let mut named: Vec<String> = Vec::new();
        // The step code only: the tests below name actions of their own.
        for source in sources.map(|s| s.split("#[cfg(test)]").next().unwrap_or(s)) {
            for service in ["secretsmanager", "rds", "kms"] {
                for piece in source.split(&format!("\"{service}:")).skip(1) {
                    let name: String = piece
                        .chars()
                        .take_while(char::is_ascii_alphanumeric)
                        .collect();
                    if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                        named.push(format!("{service}:{name}"));
                    }
                }
            }
            for piece in source.split("permissions::").skip(1) {
                let constant: String = piece
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                    .collect();
                let action = match constant.as_str() {
                    "DESCRIBE_SECRET" => permissions::DESCRIBE_SECRET,
                    "GET_SECRET_VALUE" => permissions::GET_SECRET_VALUE,
                    "PUT_SECRET_VALUE" => permissions::PUT_SECRET_VALUE,
                    "UPDATE_SECRET_VERSION_STAGE" => permissions::UPDATE_SECRET_VERSION_STAGE,
                    "LIST_SECRET_VERSION_IDS" => permissions::LIST_SECRET_VERSION_IDS,
                    "GET_RANDOM_PASSWORD" => permissions::GET_RANDOM_PASSWORD,
                    "DESCRIBE_DB_INSTANCES" => permissions::DESCRIBE_DB_INSTANCES,
                    "DESCRIBE_DB_CLUSTERS" => permissions::DESCRIBE_DB_CLUSTERS,
                    _ => continue,
                };
                named.push(action.to_owned());
            }
        }
        for action in [
            "secretsmanager:GetSecretValue",
            "secretsmanager:GetRandomPassword",
            "rds:DescribeDBClusters",
            "secretsmanager:ListSecretVersionIds",
        ] {
            assert!(
                named.iter().any(|n| n == action),
                "{action} not found in {named:?}"
            );
        }
        for action in &named {
            assert!(
                permissions::has_action(action),
                "the rotator calls {action}, which permissions::CALLS lacks: add its row"
            );
        }
    }

    #[test]
    fn an_unanswered_call_names_what_to_check_and_other_failures_stay_as_they_are() {
        for (message, hinted) in [
            (
                "timeout: operation attempt timeout (occurred after 5s)",
                true,
            ),
            ("dispatch failure: io error: Connection refused", true),
            ("error trying to connect: tcp connect error", true),
            (
                "ResourceNotFoundException: Secrets Manager can't find the specified secret",
                false,
            ),
            (
                "InvalidRequestException: the secret is marked for deletion",
                false,
            ),
        ] {
            let out = unreachable_hint("secretsmanager:GetSecretValue", message);
            assert!(out.starts_with(message), "{out}");
            assert_eq!(
                out.contains("interface VPC endpoint for secretsmanager"),
                hinted,
                "{message}"
            );
        }
    }

    #[test]
    fn users_alternate_both_ways() {
        for (name, alternate) in [
            ("appuser", "appuser_clone"),
            ("appuser_clone", "appuser"),
            ("_clone", "_clone_clone"),
            ("a_clone_clone", "a_clone"),
            ("o'brien", "o'brien_clone"),
        ] {
            assert_eq!(alternate_user(name), alternate, "{name}");
        }
    }

    #[test]
    fn the_limit_comes_from_the_setting_then_the_server() {
        let mariadb = ServerVersion::parse("10.11.6-MariaDB");
        let mysql56 = ServerVersion::parse("5.6.51");
        assert_eq!(user_name_limit(Some(20), mariadb.as_ref()), 20);
        assert_eq!(user_name_limit(None, mariadb.as_ref()), 80);
        assert_eq!(user_name_limit(None, mysql56.as_ref()), 16);
        assert_eq!(user_name_limit(None, None), 16);
    }

    #[test]
    fn events_parse_and_bad_ones_name_the_field() {
        let good = json!({"Step": "setSecret", "SecretId": "arn:s", "ClientRequestToken": "t", "RotationToken": "r"});
        assert_eq!(
            RotationEvent::parse(&good).unwrap(),
            RotationEvent {
                step: Step::Set,
                secret_id: "arn:s".into(),
                token: "t".into(),
                rotation_token: Some("r".into())
            }
        );
        let cases = [
            (
                json!({"SecretId": "s", "ClientRequestToken": "t"}),
                "field `Step` is missing",
            ),
            (
                json!({"Step": "rotateSecret", "SecretId": "s", "ClientRequestToken": "t"}),
                "unknown step `rotateSecret`",
            ),
            (
                json!({"Step": "createSecret", "ClientRequestToken": "t"}),
                "field `SecretId` is missing",
            ),
            (
                json!({"Step": "createSecret", "SecretId": "s"}),
                "field `ClientRequestToken` is missing",
            ),
            (
                json!({"Step": "createSecret", "SecretId": "s", "ClientRequestToken": 5}),
                "must be a non-empty string",
            ),
        ];
        for (event, expected) in cases {
            let error = RotationEvent::parse(&event).unwrap_err().to_string();
            assert!(error.contains(expected), "{event}: {error}");
        }
        let error = RotationEvent::parse(&json!({"Step": "testSecret", "SecretId": "my-secret"}))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("secret my-secret, step testSecret:"),
            "{error}"
        );
    }

    #[test]
    fn the_endpoint_may_be_the_admin_database_or_a_reader_with_the_same_port() {
        let endpoint = AdminEndpoint {
            host: "db.x.rds.amazonaws.com".into(),
            port: 3306,
            others: vec![("replica.x.rds.amazonaws.com".into(), 3307)],
            from_secret: false,
        };
        assert!(endpoint_matches("DB.x.rds.amazonaws.com", 3306, &endpoint));
        assert!(endpoint_matches(
            "replica.x.rds.amazonaws.com",
            3307,
            &endpoint
        ));
        assert!(!endpoint_matches("db.x.rds.amazonaws.com", 3307, &endpoint));
        assert!(!endpoint_matches(
            "replica.x.rds.amazonaws.com",
            3306,
            &endpoint
        ));
        assert!(!endpoint_matches("other.example", 3306, &endpoint));
        assert!(is_access_denied("AccessDenied") && is_access_denied("AccessDeniedException"));
        assert!(!is_access_denied("DBInstanceNotFound"));
    }

    #[test]
    fn the_admin_login_follows_its_own_ssl_and_the_ca_bundle() {
        use TlsSetting::{Disabled, Preferred, Required};
        assert_eq!(admin_tls(Preferred, true), Required);
        assert_eq!(admin_tls(Preferred, false), Preferred);
        assert_eq!(admin_tls(Required, false), Required);
        assert_eq!(admin_tls(Disabled, true), Disabled);
    }

    #[test]
    fn the_clone_mirrors_every_host_and_the_matched_one_gets_its_password_last() {
        let hosts = |list: &[&str]| list.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            mirror_hosts(
                "app",
                "app_clone",
                &hosts(&["%", "10.0.%"]),
                &hosts(&[]),
                "10.0.%"
            ),
            Ok(hosts(&["%", "10.0.%"]))
        );
        assert_eq!(
            mirror_hosts(
                "app",
                "app_clone",
                &hosts(&["%", "10.0.%"]),
                &hosts(&["10.0.%"]),
                "%"
            ),
            Ok(hosts(&["10.0.%", "%"]))
        );
        // The reference's '%' clone beside a user moved to a narrower host.
        let refused = mirror_hosts(
            "app",
            "app_clone",
            &hosts(&["10.0.%"]),
            &hosts(&["%", "10.0.%"]),
            "10.0.%",
        )
        .unwrap_err();
        assert!(
            refused.contains("'app_clone'@'%'") && refused.contains("drop it"),
            "{refused}"
        );
        assert!(mirror_hosts("app", "app_clone", &hosts(&["%"]), &hosts(&[]), "10.0.%").is_err());
    }
}
