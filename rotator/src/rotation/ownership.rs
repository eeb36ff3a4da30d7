//! Never take over an account the rotation did not make.
//!
//! `setSecret` rewrites the alternate user's password and makes its privileges
//! exactly the current user's, revoking the rest. That is right for the clone this
//! rotation made, and a takeover of anything else: an unrelated `appuser_clone` made
//! by an administrator would lose its password and privileges, and its owner would
//! be locked out while this secret's application gained whatever it could reach. So
//! before the first write to an alternate user that already exists, `setSecret`
//! proves it is this secret's, and otherwise stops, naming the account and the fix.
//!
//! The proof is a login as the alternate user with a password this secret has
//! stored for it. The rotator only ever gives the alternate user a password that the
//! secret holds: the pending password (the version that becomes `AWSPREVIOUS` after
//! the next rotation), and, while a new clone is being set up, the current version's
//! password (see `set_secret_alternating`: a clone created with it holds at most the
//! current user's privileges until the pending password is set, and a crash in
//! between leaves a clone this proof still recognises). The cases:
//!
//! - a normal second or later rotation: the alternate user holds the password of
//!   `AWSPREVIOUS`;
//! - a retried `setSecret` after a crash: the pending password already logs in (the
//!   step stops before it gets here), or the clone still holds `AWSCURRENT`'s or
//!   `AWSPREVIOUS`'s password;
//! - a first rotation after an earlier attempt whose `AWSPENDING` label was removed:
//!   the old pending version is still stored, without a label (deprecated), and
//!   `ListSecretVersionIds` with `IncludeDeprecated` lists it (Secrets Manager API
//!   reference, "ListSecretVersionIds": "Versions without staging labels are
//!   considered deprecated and are subject to deletion by Secrets Manager").
//!
//! Where the server has one, a marker would be a second proof (MySQL 8.0.21+ stores
//! `ATTRIBUTE '<json>'` of `CREATE USER`, readable in
//! `INFORMATION_SCHEMA.USER_ATTRIBUTES`: <https://dev.mysql.com/doc/refman/8.0/en/create-user.html>);
//! MariaDB 10.11 has none (<https://mariadb.com/kb/en/create-user/>), so the password
//! is the proof on every server.
//!
//! A login proves only the account the function's address matches; the other hosts
//! of the same name are hosts of the current user too (`mirror_hosts` refuses any
//! other), which this rotation mirrors. Each failed proof login counts as a failed
//! login of that account (MariaDB's `max_password_errors` blocks an account after that
//! many: <https://mariadb.com/docs/server/ref/mdb/system-variables/max_password_errors>;
//! MySQL 8.0.19+'s `FAILED_LOGIN_ATTEMPTS` locks one that sets it:
//! <https://dev.mysql.com/doc/refman/8.0/en/password-management.html>, WL#13515),
//! so at most [`MAX_PROOF_LOGINS`] passwords are tried, the most likely first.
//!
//! The single-user strategy needs no proof: it refuses a pending version that names
//! another user than the current one, so it only ever writes to the secret's own account.

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use sqlx::MySqlConnection;

use super::{Context, Rotator, is_access_denied, value_missing};
use crate::db::{self, DbError, Login};
use crate::error::{Problem, RotationError};
use crate::secret::DbSecret;

/// How many stored passwords are tried at most (each failure is a failed login).
pub const MAX_PROOF_LOGINS: usize = 5;

/// How many stored versions are read at most while looking for passwords to try.
const MAX_PROOF_READS: usize = 20;

/// A version of the secret, as `ListSecretVersionIds` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    pub id: String,
    pub stages: Vec<String>,
    /// Seconds since the epoch, when known.
    pub created: Option<i64>,
}

impl StoredVersion {
    fn has(&self, stage: &str) -> bool {
        self.stages.iter().any(|s| s == stage)
    }

    /// How the version is named in the log: its label, or its id when it has none.
    pub fn label(&self) -> String {
        if self.stages.is_empty() {
            format!("version {} (deprecated, no staging label)", self.id)
        } else {
            format!("version {} ({})", self.id, self.stages.join(", "))
        }
    }
}

/// The versions whose passwords may prove the alternate user ours, the most likely
/// first: `AWSPREVIOUS` (every rotation after the first), `AWSCURRENT` (a clone left
/// half made), then the others newest first (attempts whose pending label was
/// removed). The pending version itself is left out: `setSecret` tried it already.
pub fn proof_order<'a>(versions: &'a [StoredVersion], pending: &str) -> Vec<&'a StoredVersion> {
    let rank = |v: &StoredVersion| {
        if v.has("AWSPREVIOUS") {
            0
        } else if v.has("AWSCURRENT") {
            1
        } else {
            2
        }
    };
    let mut order: Vec<&StoredVersion> = versions.iter().filter(|v| v.id != pending).collect();
    // Stable: versions without a date keep the order they were listed in.
    order.sort_by_key(|v| (rank(v), std::cmp::Reverse(v.created.unwrap_or(i64::MIN))));
    order
}

/// Whether a stored value may prove the alternate user: it is for the same database,
/// and it is either the value the alternate user logs in with (`username` is the
/// alternate) or the current version (whose password a new clone starts with).
pub fn can_prove(
    candidate: &DbSecret,
    is_current: bool,
    alternate: &str,
    current: &DbSecret,
) -> bool {
    candidate.host.eq_ignore_ascii_case(&current.host)
        && candidate.port == current.port
        && (is_current || candidate.username == alternate)
}

/// What `setSecret` may do with the alternate user's existing accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Takeover {
    /// No account has the alternate user's name: the rotation creates it.
    NothingToTakeOver,
    /// It exists and a stored password logged in: it is this secret's.
    Ours { proof: String },
    /// It exists and nothing proves it is this secret's: stop before any write.
    Refused(String),
}

/// The decision, from the alternate user's existing hosts and the proof found.
pub fn decide(
    alternate: &str,
    current_user: &str,
    existing_hosts: &[String],
    proof: Option<&str>,
    tried: usize,
) -> Takeover {
    if existing_hosts.is_empty() {
        return Takeover::NothingToTakeOver;
    }
    if let Some(proof) = proof {
        return Takeover::Ours {
            proof: proof.to_owned(),
        };
    }
    let accounts: Vec<String> = existing_hosts
        .iter()
        .map(|h| format!("'{alternate}'@'{h}'"))
        .collect();
    let (them, exists) = if accounts.len() == 1 {
        ("it", "exists")
    } else {
        ("them", "exist")
    };
    Takeover::Refused(format!(
        "the alternate user {} already {exists}, and nothing shows that this secret's rotation made {them}: \
         none of the {tried} password(s) this secret stores for it logs in. The rotator never takes over an \
         account it did not make (it would rewrite its password and replace its privileges with `{current_user}`'s): \
         drop or rename {them}, or name another user in the secret (its alternate is the name with `_clone` \
         added or removed); if {them} really is this secret's alternate user, set its password to the one in \
         the secret's AWSPREVIOUS version (before the first rotation, AWSCURRENT's)",
        accounts.join(", "),
    ))
}

impl Rotator {
    /// Stops before any write when the alternate user exists and is not provably this
    /// secret's (see the module's documentation).
    pub(super) async fn refuse_a_takeover(
        &self,
        cx: &Context<'_>,
        current: &DbSecret,
        alternate: &str,
        existing_hosts: &[String],
    ) -> Result<(), RotationError> {
        if existing_hosts.is_empty() {
            return Ok(());
        }
        let versions = self.stored_versions(cx).await?;
        let mut tried = 0;
        let mut read = 0;
        let mut proof = None;
        for version in proof_order(&versions, &cx.event.token) {
            if tried >= MAX_PROOF_LOGINS || read >= MAX_PROOF_READS {
                break;
            }
            let is_current = version.has("AWSCURRENT");
            let candidate = if is_current {
                current.clone()
            } else {
                read += 1;
                match self.version_value(cx, &version.id).await? {
                    Some(value) => value,
                    None => continue,
                }
            };
            if !can_prove(&candidate, is_current, alternate, current) {
                continue;
            }
            tried += 1;
            if self
                .proof_login(cx, current, alternate, &candidate, version)
                .await?
            {
                proof = Some(version.label());
                break;
            }
        }
        match decide(
            alternate,
            &current.username,
            existing_hosts,
            proof.as_deref(),
            tried,
        ) {
            Takeover::NothingToTakeOver => Ok(()),
            Takeover::Ours { proof } => {
                tracing::info!(secret = %cx.event.secret_id, user = %alternate, proof = %proof, "the alternate user exists and logs in with a password this secret stores: it is this rotation's");
                Ok(())
            }
            Takeover::Refused(message) => Err(cx.fail(Problem::Refused(message))),
        }
    }

    /// The secret's versions, the deprecated ones included; without
    /// `secretsmanager:ListSecretVersionIds` (a role written before it was needed), the
    /// labelled ones from `DescribeSecret`, with a warning.
    async fn stored_versions(&self, cx: &Context<'_>) -> Result<Vec<StoredVersion>, RotationError> {
        let mut versions = Vec::new();
        let mut next: Option<String> = None;
        // 100 a page, at most 5 pages: Secrets Manager keeps about 100 deprecated versions.
        for _ in 0..5 {
            let listed = self
                .secrets
                .list_secret_version_ids()
                .secret_id(&cx.event.secret_id)
                .include_deprecated(true)
                .max_results(100)
                .set_next_token(next.take())
                .send()
                .await;
            let page = match listed {
                Ok(page) => page,
                Err(error) if error.code().is_some_and(is_access_denied) => {
                    tracing::warn!(secret = %cx.event.secret_id, "access denied to secretsmanager:ListSecretVersionIds; only labelled versions can prove the alternate user this secret's (allow it to the function's role, as `cargo xtask deploy` does)");
                    return self.labelled_versions(cx).await;
                }
                Err(error) => return Err(cx.aws(permissions::LIST_SECRET_VERSION_IDS, &error)),
            };
            versions.extend(page.versions().iter().filter_map(|v| {
                Some(StoredVersion {
                    id: v.version_id()?.to_owned(),
                    stages: v.version_stages().to_vec(),
                    created: v
                        .created_date()
                        .map(aws_sdk_secretsmanager::primitives::DateTime::secs),
                })
            }));
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => break,
            }
        }
        Ok(versions)
    }

    async fn labelled_versions(
        &self,
        cx: &Context<'_>,
    ) -> Result<Vec<StoredVersion>, RotationError> {
        let described = self.describe(cx).await?;
        Ok(described
            .version_ids_to_stages()
            .into_iter()
            .flatten()
            .map(|(id, stages)| StoredVersion {
                id: id.clone(),
                stages: stages.clone(),
                created: None,
            })
            .collect())
    }

    /// One stored version's value; `None` when it is gone or is not a database secret.
    async fn version_value(
        &self,
        cx: &Context<'_>,
        id: &str,
    ) -> Result<Option<DbSecret>, RotationError> {
        let found = self
            .secrets
            .get_secret_value()
            .secret_id(&cx.event.secret_id)
            .version_id(id)
            .send()
            .await;
        match found {
            Ok(value) => Ok(value.secret_string().and_then(|t| DbSecret::parse(t).ok())),
            Err(error) if value_missing(&error) => Ok(None),
            Err(error) => Err(cx.aws("secretsmanager:GetSecretValue (an earlier version)", &error)),
        }
    }

    /// Whether `alternate` logs in with `candidate`'s password, at the current
    /// database and with the current version's TLS setting, without a default
    /// database (a clone left half made may lack the privileges for `dbname`).
    async fn proof_login(
        &self,
        cx: &Context<'_>,
        current: &DbSecret,
        alternate: &str,
        candidate: &DbSecret,
        version: &StoredVersion,
    ) -> Result<bool, RotationError> {
        let login = Login {
            host: &current.host,
            port: current.port,
            user: alternate,
            password: &candidate.password,
            database: None,
            tls: current.tls,
        };
        match db::connect(&login, self.ca_bundle()).await {
            // The session must be the alternate user's own: an anonymous or proxy
            // account that accepted the password proves nothing about it.
            Ok((mut connection, _)) => {
                let matched = db::current_user(&mut connection)
                    .await
                    .map_err(|e| cx.fail(e))?;
                close(connection).await;
                let own = crate::sql::Account::from_current_user(&matched)
                    .is_some_and(|account| account.user == alternate);
                if !own {
                    tracing::info!(secret = %cx.event.secret_id, user = %alternate, version = %version.label(), matched = %matched, "a stored password logged in, but as another account (CURRENT_USER()); not a proof");
                }
                Ok(own)
            }
            // Refusals that come only after the password was accepted: the account is
            // locked (MariaDB 4151, "Access denied, this account is locked": on 10.11 a
            // wrong password gets 1045 instead; MySQL 3118, ER_ACCOUNT_HAS_BEEN_LOCKED,
            // which `acl_authenticate` in MySQL's sql/auth/sql_authentication.cc raises
            // after the password check, "Historically it was checked after the password";
            // <https://mariadb.com/kb/en/account-locking/>,
            // <https://dev.mysql.com/doc/refman/8.0/en/account-locking.html>) or its
            // password expired (1820, 1862: <https://dev.mysql.com/doc/refman/8.0/en/expired-password-handling.html>).
            // MySQL's temporary lock after failed logins (3955) is not among them: it
            // answers any password.
            // The rotator's own clone may be either: an administrator locks the
            // inactive user, or it copied the user's expiry.
            // So is a session refused for its limits (1226 MAX_USER_CONNECTIONS and
            // friends) or the server's offline mode (3032): the password was right.
            Err(DbError::Refused {
                number: Some(number @ (4151 | 3118 | 1820 | 1862 | 1226 | 3032)),
                message,
                ..
            }) => {
                tracing::info!(secret = %cx.event.secret_id, user = %alternate, version = %version.label(), number, reason = %message, "the alternate user's password is this stored one (the server accepted it, then refused the session)");
                Ok(true)
            }
            // Only "access denied" means "not this password" (1045; 1698 for a socket
            // or plugin account). Any other refusal (a temporary lock, a blocked host,
            // too many connections) says nothing about the password: trying further
            // passwords would only add failed logins, so the step stops with it.
            Err(DbError::Refused {
                number: None | Some(1045 | 1698),
                message,
                ..
            }) => {
                tracing::info!(secret = %cx.event.secret_id, user = %alternate, version = %version.label(), reason = %message, "the alternate user does not log in with this stored password");
                Ok(false)
            }
            Err(error) => Err(cx.fail(error)),
        }
    }
}

async fn close(connection: MySqlConnection) {
    use sqlx::Connection as _;
    let _ = connection.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: &str, stages: &[&str], created: Option<i64>) -> StoredVersion {
        StoredVersion {
            id: id.into(),
            stages: stages.iter().map(|s| (*s).to_owned()).collect(),
            created,
        }
    }

    #[test]
    fn previous_then_current_then_the_newest_others_and_never_the_pending_version() {
        let versions = [
            version("old", &[], Some(100)),
            version("cur", &["AWSCURRENT"], Some(300)),
            version("pend", &["AWSPENDING"], Some(400)),
            version("prev", &["AWSPREVIOUS"], Some(200)),
            version("failed", &[], Some(250)),
            version("undated", &[], None),
        ];
        let ids =
            |order: Vec<&StoredVersion>| order.iter().map(|v| v.id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(proof_order(&versions, "pend")),
            ["prev", "cur", "failed", "old", "undated"]
        );
        // A first rotation: no AWSPREVIOUS; an earlier attempt's pending version is
        // another token's, so it is tried.
        let first = [
            version("cur", &["AWSCURRENT"], Some(1)),
            version("cleared", &[], Some(2)),
            version("this", &["AWSPENDING"], Some(3)),
        ];
        assert_eq!(ids(proof_order(&first, "this")), ["cur", "cleared"]);
        assert!(proof_order(&[], "this").is_empty());
    }

    fn secret(user: &str, host: &str, port: u16) -> DbSecret {
        DbSecret::parse(
            &serde_json::json!({"engine": "mysql", "host": host, "port": port, "username": user, "password": "p"})
                .to_string(),
        )
        .unwrap()
    }

    #[test]
    fn only_the_alternates_own_values_and_the_current_one_at_the_same_database_may_prove_it() {
        let current = secret("app", "db.example", 3306);
        let cases = [
            (secret("app_clone", "db.example", 3306), false, true),
            (secret("app_clone", "DB.example", 3306), false, true),
            (secret("app", "db.example", 3306), true, true),
            // An old value of the current user (before a manual change) is not the clone's.
            (secret("app", "db.example", 3306), false, false),
            (secret("app_clone", "other.example", 3306), false, false),
            (secret("app_clone", "db.example", 3307), false, false),
            (secret("someone", "db.example", 3306), false, false),
        ];
        for (candidate, is_current, expected) in cases {
            assert_eq!(
                can_prove(&candidate, is_current, "app_clone", &current),
                expected,
                "{candidate:?} current={is_current}"
            );
        }
    }

    #[test]
    fn an_existing_alternate_is_written_only_with_a_proof() {
        let hosts = |list: &[&str]| list.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            decide("app_clone", "app", &hosts(&[]), None, 0),
            Takeover::NothingToTakeOver
        );
        assert_eq!(
            decide(
                "app_clone",
                "app",
                &hosts(&[]),
                Some("version v (AWSPREVIOUS)"),
                1
            ),
            Takeover::NothingToTakeOver
        );
        assert_eq!(
            decide(
                "app_clone",
                "app",
                &hosts(&["%"]),
                Some("version v (AWSPREVIOUS)"),
                1
            ),
            Takeover::Ours {
                proof: "version v (AWSPREVIOUS)".into()
            }
        );
        let cases = [
            (
                hosts(&["%"]),
                2,
                &[
                    "'app_clone'@'%' already exists",
                    "none of the 2 password(s)",
                    "drop or rename it,",
                    "`app`'s",
                ][..],
            ),
            (
                hosts(&["%", "10.0.%"]),
                0,
                &[
                    "'app_clone'@'%', 'app_clone'@'10.0.%' already exist",
                    "drop or rename them,",
                ][..],
            ),
        ];
        for (existing, tried, expected) in cases {
            let Takeover::Refused(message) = decide("app_clone", "app", &existing, None, tried)
            else {
                panic!("{existing:?}: not refused");
            };
            for part in expected {
                assert!(message.contains(part), "{part}: {message}");
            }
            assert!(message.contains("name another user"), "{message}");
        }
    }
}
