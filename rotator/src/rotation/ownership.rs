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
//! The proof is a password this secret stores for it. The rotator only ever gives the
//! alternate user a password that the secret holds: the pending password (the version
//! that becomes `AWSPREVIOUS` after the next rotation), with which a new clone is
//! also created (locked until its privileges are copied: see `create_clones`).
//! Rotators before that created it with the current version's password, so that one
//! still proves a clone they left half made. The cases:
//!
//! - a normal second or later rotation: the alternate user holds the password of
//!   `AWSPREVIOUS`;
//! - a retried `setSecret` after a crash: it holds the pending password already
//!   (created or set; its privileges are copied again, which changes nothing when
//!   they are complete, and its password is left alone), or still `AWSPREVIOUS`'s (or
//!   `AWSCURRENT`'s, left by an older rotator);
//! - a first rotation after an earlier attempt whose `AWSPENDING` label was removed:
//!   the old pending version is still stored, without a label (deprecated), and
//!   `ListSecretVersionIds` with `IncludeDeprecated` lists it (Secrets Manager API
//!   reference, "ListSecretVersionIds": "Versions without staging labels are
//!   considered deprecated and are subject to deletion by Secrets Manager").
//!
//! The passwords are checked against the hashes the server stores for every host of
//! the alternate user (`mysql.user`, through the admin connection: see
//! [`crate::password_hash`]), never by logging in as it: each failed login counts
//! against the account, and one the rotation did not make may have a limit (MariaDB's
//! `max_password_errors` blocks it after that many:
//! <https://mariadb.com/docs/server/ref/mdb/system-variables/max_password_errors>;
//! MySQL 8.0.19+'s `FAILED_LOGIN_ATTEMPTS` locks it:
//! <https://dev.mysql.com/doc/refman/8.0/en/password-management.html>), so a login
//! proof would lock out the very owner this module protects. Every host must hold a
//! stored password, not only the one the function's address matches.
//!
//! Only where a hash cannot be checked here (an authentication plugin other than
//! `mysql_native_password` and `caching_sha2_password`, such as MariaDB's `ed25519`)
//! does the proof fall back to a login, at most [`MAX_PROOF_LOGINS`] of them, the most
//! likely password first.
//!
//! Where the server has one, a marker would be a second proof (MySQL 8.0.21+ stores
//! `ATTRIBUTE '<json>'` of `CREATE USER`, readable in
//! `INFORMATION_SCHEMA.USER_ATTRIBUTES`: <https://dev.mysql.com/doc/refman/8.0/en/create-user.html>);
//! MariaDB 10.11 has none (<https://mariadb.com/kb/en/create-user/>), so the password
//! is the proof on every server.
//!
//! The single-user strategy needs no proof: it refuses a pending version that names
//! another user than the current one, so it only ever writes to the secret's own account.

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use sqlx::MySqlConnection;

use super::{Context, Rotator, is_access_denied, value_missing};
use crate::db::{self, DbError, Login};
use crate::error::{Problem, RotationError};
use crate::password_hash::{self, HashCheck};
use crate::secret::{DbSecret, Password};
use crate::version::Flavor;

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

/// One password this secret stores, offered as a proof.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// How the version is named in the log (never its value).
    pub label: String,
    /// Whether it is this rotation's own pending version.
    pub pending: bool,
    pub password: Password,
}

/// What the stored hash of one account of the alternate user says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountProof {
    /// It holds this candidate's password.
    Holds { label: String, pending: bool },
    /// It holds none of the candidates' passwords.
    HoldsNone,
    /// Its hash cannot be checked here (another plugin, an unfamiliar format).
    Unknown,
}

/// Checks one account's stored hash against every candidate.
pub fn account_proof(plugin: &str, hash: Option<&[u8]>, candidates: &[Candidate]) -> AccountProof {
    let Some(hash) = hash else {
        return AccountProof::Unknown;
    };
    let mut unknown = false;
    for candidate in candidates {
        match password_hash::check(plugin, hash, candidate.password.expose()) {
            HashCheck::Match => {
                return AccountProof::Holds {
                    label: candidate.label.clone(),
                    pending: candidate.pending,
                };
            }
            HashCheck::Unknown => unknown = true,
            HashCheck::NoMatch => {}
        }
    }
    if unknown {
        AccountProof::Unknown
    } else {
        AccountProof::HoldsNone
    }
}

/// What `setSecret` may do with the alternate user's existing accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Takeover {
    /// No account has the alternate user's name: the rotation creates it.
    NothingToTakeOver,
    /// Every account of it holds the pending password: `setSecret` finished before.
    AlreadySet,
    /// Every account of it holds a password this secret stores: it is this secret's.
    Ours { proof: String },
    /// An account holds none of them: stop before any write.
    Refused(String),
    /// An account's hash cannot be checked here: prove it with a login instead.
    Unverifiable,
}

/// The decision from each existing account's proof (`(host, proof)`); `tried` is how
/// many stored passwords were checked.
pub fn judge(
    alternate: &str,
    current_user: &str,
    accounts: &[(String, AccountProof)],
    tried: usize,
) -> Takeover {
    if accounts.is_empty() {
        return Takeover::NothingToTakeOver;
    }
    let unproven: Vec<String> = accounts
        .iter()
        .filter(|(_, proof)| *proof == AccountProof::HoldsNone)
        .map(|(host, _)| host.clone())
        .collect();
    if !unproven.is_empty() {
        return Takeover::Refused(refusal(
            alternate,
            current_user,
            &unproven,
            &format!(
                "none of the {tried} password(s) this secret stores for it matches the password hash the server stores"
            ),
        ));
    }
    let mut proofs = Vec::new();
    let mut all_pending = true;
    for (_, proof) in accounts {
        match proof {
            AccountProof::Holds { label, pending } => {
                all_pending &= *pending;
                if !proofs.contains(label) {
                    proofs.push(label.clone());
                }
            }
            AccountProof::HoldsNone | AccountProof::Unknown => return Takeover::Unverifiable,
        }
    }
    if all_pending {
        Takeover::AlreadySet
    } else {
        Takeover::Ours {
            proof: proofs.join(", "),
        }
    }
}

/// The decision of the login proof (used only where a hash cannot be checked), from
/// the alternate user's existing hosts and the login that succeeded, if any.
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
    Takeover::Refused(refusal(
        alternate,
        current_user,
        existing_hosts,
        &format!("none of the {tried} password(s) this secret stores for it logs in"),
    ))
}

/// Why an existing account is not written to, and the ways out.
fn refusal(alternate: &str, current_user: &str, hosts: &[String], why: &str) -> String {
    let accounts: Vec<String> = hosts
        .iter()
        .map(|h| format!("'{alternate}'@'{h}'"))
        .collect();
    let (them, exists) = if accounts.len() == 1 {
        ("it", "exists")
    } else {
        ("them", "exist")
    };
    format!(
        "the alternate user {} already {exists}, and nothing shows that this secret's rotation made {them}: \
         {why}. The rotator never takes over an \
         account it did not make (it would rewrite its password and replace its privileges with `{current_user}`'s): \
         drop or rename {them}, or name another user in the secret (its alternate is the name with `_clone` \
         added or removed); if {them} really is this secret's alternate user, set its password to the one in \
         the secret's AWSPREVIOUS version (before the first rotation, AWSCURRENT's). Two secrets for the same \
         database user (a writer-endpoint and a reader-endpoint secret, say) end here too: the other secret's \
         rotation made {them}, and rotating both would overwrite each other's password; keep one secret per \
         database user and point the applications at it",
        accounts.join(", "),
    )
}

/// Whether two lists of hosts hold the same hosts (MySQL compares host names
/// case-insensitively: <https://dev.mysql.com/doc/refman/8.0/en/account-names.html>).
fn same_hosts(a: &[String], b: &[String]) -> bool {
    let set = |hosts: &[String]| {
        hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect::<std::collections::BTreeSet<_>>()
    };
    set(a) == set(b)
}

/// What `setSecret` may do with the alternate user: write to it (it is absent, or
/// this secret's), leaving alone the password of the hosts that hold the pending one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Claim {
    /// Hosts of the alternate user that hold the pending password already (a clone this
    /// step created, or set, before a crash or a failure): their password is not set
    /// again, which the server's password history would refuse (MySQL 3638: "Cannot use
    /// these credentials for '...' because they contradict the password history
    /// policy"; `password_history` applies to an administrator's ALTER USER too: MySQL
    /// manual, "Password Management", "Password Reuse Policy"). Their grants and
    /// settings are still copied: a clone created with the pending password and left
    /// before its copy (a crash) is finished on the retry.
    pub holding_pending: Vec<String>,
}

/// The hosts whose stored hash holds this rotation's pending password.
pub fn hosts_holding_pending(accounts: &[(String, AccountProof)]) -> Vec<String> {
    accounts
        .iter()
        .filter(|(_, proof)| matches!(proof, AccountProof::Holds { pending: true, .. }))
        .map(|(host, _)| host.clone())
        .collect()
}

impl Rotator {
    /// Whether `setSecret` may write to the alternate user (see the module's
    /// documentation): it is absent or provably this secret's, and which of its hosts
    /// hold the pending password already. Stops, before any write, when an existing
    /// account is not provably this secret's.
    pub(super) async fn claim_alternate(
        &self,
        cx: &Context<'_>,
        admin: &mut MySqlConnection,
        current: &DbSecret,
        pending: &DbSecret,
        flavor: Flavor,
        (existing_hosts, mirrored): (&[String], &[String]),
    ) -> Result<Claim, RotationError> {
        if existing_hosts.is_empty() {
            return Ok(Claim::default());
        }
        let alternate = pending.username.as_str();
        let stored = db::stored_passwords(admin, alternate, flavor)
            .await
            .map_err(|e| cx.fail(e))?;
        let mut candidates = vec![
            Candidate {
                label: format!("version {} (AWSPENDING)", cx.event.token),
                pending: true,
                password: pending.password.clone(),
            },
            // A clone left half made by a rotator that created it with the current
            // user's password (before the pending one, which meets the server's policy).
            Candidate {
                label: "the AWSCURRENT version".to_owned(),
                pending: false,
                password: current.password.clone(),
            },
        ];
        let proofs = |candidates: &[Candidate]| -> Vec<(String, AccountProof)> {
            stored
                .iter()
                .map(|account| {
                    let proof = account_proof(&account.plugin, account.hash(), candidates);
                    (account.host.clone(), proof)
                })
                .collect()
        };
        let mut accounts = proofs(&candidates);
        let mut verdict = judge(alternate, &current.username, &accounts, candidates.len());
        if matches!(verdict, Takeover::Refused(_)) {
            // AWSPREVIOUS (every rotation after the first) and older versions.
            candidates.extend(self.stored_candidates(cx, current, alternate).await?);
            accounts = proofs(&candidates);
            verdict = judge(alternate, &current.username, &accounts, candidates.len());
        }
        match verdict {
            Takeover::NothingToTakeOver => Ok(Claim::default()),
            Takeover::Ours { proof } => {
                tracing::info!(secret = %cx.event.secret_id, user = %alternate, proof = %proof, "the alternate user exists and holds a password this secret stores (its hash in mysql.user): it is this rotation's");
                Ok(Claim {
                    holding_pending: hosts_holding_pending(&accounts),
                })
            }
            Takeover::AlreadySet => {
                tracing::info!(secret = %cx.event.secret_id, user = %alternate, "every host of the alternate user holds the pending password already (its hash in mysql.user); its privileges and settings are checked and completed");
                Ok(Claim {
                    holding_pending: hosts_holding_pending(&accounts),
                })
            }
            Takeover::Refused(message) => Err(cx.fail(Problem::Refused(message))),
            Takeover::Unverifiable => {
                tracing::info!(secret = %cx.event.secret_id, user = %alternate, plugins = ?stored.iter().map(|a| a.plugin.as_str()).collect::<Vec<_>>(), "the alternate user's password hash cannot be checked here; proving it this secret's with a login");
                // The pending login is the first of at most MAX_PROOF_LOGINS, without a
                // default database and counting a locked account's refusal as a proof
                // (a clone created with the pending password is locked until copied).
                let label = StoredVersion {
                    id: cx.event.token.clone(),
                    stages: vec!["AWSPENDING".to_owned()],
                    created: None,
                };
                if self
                    .proof_login(cx, current, alternate, pending, &label)
                    .await?
                {
                    // A login proves the host it matched; the others are taken to hold
                    // it too only when the alternate user has exactly the hosts it must.
                    // Otherwise the hosts whose hash shows it keep it (setting the same
                    // password again would meet password_history or password_reuse_check).
                    let holding_pending = if same_hosts(existing_hosts, mirrored) {
                        existing_hosts.to_vec()
                    } else {
                        hosts_holding_pending(&accounts)
                    };
                    return Ok(Claim { holding_pending });
                }
                self.prove_by_login(cx, current, alternate, existing_hosts)
                    .await?;
                Ok(Claim::default())
            }
        }
    }

    /// The passwords of the stored versions other than the pending and current ones
    /// that may prove the alternate user, the most likely first.
    async fn stored_candidates(
        &self,
        cx: &Context<'_>,
        current: &DbSecret,
        alternate: &str,
    ) -> Result<Vec<Candidate>, RotationError> {
        let versions = self.stored_versions(cx).await?;
        let mut candidates = Vec::new();
        for version in proof_order(&versions, &cx.event.token)
            .into_iter()
            .filter(|v| !v.has("AWSCURRENT"))
            .take(MAX_PROOF_READS)
        {
            let Some(value) = self.version_value(cx, &version.id).await? else {
                continue;
            };
            if can_prove(&value, false, alternate, current) {
                candidates.push(Candidate {
                    label: version.label(),
                    pending: false,
                    password: value.password,
                });
            }
        }
        Ok(candidates)
    }

    /// The login proof, where a hash cannot be checked: stops before any write when
    /// the alternate user exists and no stored password logs it in.
    async fn prove_by_login(
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
            // The pending login (`claim_alternate`) was the first.
            if tried + 1 >= MAX_PROOF_LOGINS || read >= MAX_PROOF_READS {
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
            Takeover::Ours { proof } => {
                tracing::info!(secret = %cx.event.secret_id, user = %alternate, proof = %proof, "the alternate user exists and logs in with a password this secret stores: it is this rotation's");
                Ok(())
            }
            Takeover::Refused(message) => Err(cx.fail(Problem::Refused(message))),
            // `decide` answers none of these once an account exists.
            Takeover::NothingToTakeOver | Takeover::AlreadySet | Takeover::Unverifiable => Ok(()),
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

    /// `*` and SHA1(SHA1(password)), as MariaDB and MySQL store `mysql_native_password`.
    fn native(password: &str) -> Vec<u8> {
        use sha1::{Digest as _, Sha1};
        use std::fmt::Write as _;
        let twice = Sha1::digest(Sha1::digest(password.as_bytes()));
        let mut text = String::from("*");
        for byte in twice {
            write!(text, "{byte:02X}").expect("a String takes any text");
        }
        text.into_bytes()
    }

    fn candidates() -> Vec<Candidate> {
        [
            ("pend", true, "pending-pw"),
            ("cur", false, "current-pw"),
            ("prev", false, "previous-pw"),
        ]
        .into_iter()
        .map(|(label, pending, password)| Candidate {
            label: label.to_owned(),
            pending,
            password: Password::new(password.to_owned()),
        })
        .collect()
    }

    #[test]
    fn each_account_is_proved_by_its_stored_hash() {
        let plugin = "mysql_native_password";
        let holds = |label: &str, pending: bool| AccountProof::Holds {
            label: label.to_owned(),
            pending,
        };
        let cases = [
            (plugin, Some(native("pending-pw")), holds("pend", true)),
            (plugin, Some(native("previous-pw")), holds("prev", false)),
            (
                plugin,
                Some(native("someone-else")),
                AccountProof::HoldsNone,
            ),
            (plugin, Some(Vec::new()), AccountProof::HoldsNone),
            ("ed25519", Some(b"pubkey".to_vec()), AccountProof::Unknown),
            (
                plugin,
                Some(b"not-a-hash".to_vec()),
                AccountProof::HoldsNone,
            ),
            ("auth_socket", Some(Vec::new()), AccountProof::HoldsNone),
            (plugin, None, AccountProof::Unknown),
        ];
        for (plugin, hash, expected) in cases {
            assert_eq!(
                account_proof(plugin, hash.as_deref(), &candidates()),
                expected,
                "{plugin}"
            );
        }
        // The candidates' passwords never show in a proof.
        let shown = format!(
            "{:?}",
            account_proof(plugin, Some(&native("current-pw")), &candidates())
        );
        assert!(!shown.contains("current-pw"), "{shown}");
    }

    #[test]
    fn every_host_must_hold_a_stored_password() {
        let holds = |label: &str, pending: bool| AccountProof::Holds {
            label: label.to_owned(),
            pending,
        };
        let on = |list: Vec<(&str, AccountProof)>| {
            list.into_iter()
                .map(|(host, proof)| (host.to_owned(), proof))
                .collect::<Vec<_>>()
        };
        let judged =
            |accounts: Vec<(String, AccountProof)>| judge("app_clone", "app", &accounts, 3);
        assert_eq!(judged(on(vec![])), Takeover::NothingToTakeOver);
        assert_eq!(
            judged(on(vec![
                ("%", holds("pend", true)),
                ("10.0.%", holds("pend", true))
            ])),
            Takeover::AlreadySet
        );
        // A crash between two hosts' passwords: one holds the pending password, the
        // other still the previous one. Both are this secret's; the step is redone.
        assert_eq!(
            judged(on(vec![
                ("%", holds("prev", false)),
                ("10.0.%", holds("pend", true))
            ])),
            Takeover::Ours {
                proof: "prev, pend".into()
            }
        );
        assert_eq!(
            judged(on(vec![
                ("%", holds("prev", false)),
                ("localhost", holds("prev", false))
            ])),
            Takeover::Ours {
                proof: "prev".into()
            }
        );
        // One host the secret cannot account for refuses the whole user, naming that
        // host, even when another host's hash cannot be checked.
        for accounts in [
            on(vec![
                ("%", holds("prev", false)),
                ("10.0.%", AccountProof::HoldsNone),
            ]),
            on(vec![
                ("%", AccountProof::Unknown),
                ("10.0.%", AccountProof::HoldsNone),
            ]),
        ] {
            let Takeover::Refused(message) = judged(accounts.clone()) else {
                panic!("{accounts:?}: not refused");
            };
            assert!(
                message.contains("'app_clone'@'10.0.%' already exists")
                    && !message.contains("'app_clone'@'%'")
                    && message.contains("none of the 3 password(s)")
                    && message.contains("matches the password hash"),
                "{message}"
            );
        }
        assert_eq!(
            judged(on(vec![
                ("%", holds("prev", false)),
                ("10.0.%", AccountProof::Unknown)
            ])),
            Takeover::Unverifiable
        );
    }

    /// Each host's proof, and the hosts expected to keep the pending password.
    type PendingCase<'a> = (Vec<(&'a str, AccountProof)>, &'a [&'a str]);

    #[test]
    fn only_hosts_proved_by_the_pending_password_keep_their_password() {
        let holds = |label: &str, pending: bool| AccountProof::Holds {
            label: label.to_owned(),
            pending,
        };
        let cases: [PendingCase; 4] = [
            (vec![], &[]),
            // A clone created with the pending password, then a crash before its copy.
            (vec![("%", holds("pend", true))], &["%"]),
            // A crash between two hosts' passwords.
            (
                vec![("%", holds("prev", false)), ("10.0.%", holds("pend", true))],
                &["10.0.%"],
            ),
            (
                vec![("%", AccountProof::Unknown), ("h", AccountProof::HoldsNone)],
                &[],
            ),
        ];
        for (accounts, expected) in cases {
            let accounts: Vec<(String, AccountProof)> = accounts
                .into_iter()
                .map(|(host, proof)| (host.to_owned(), proof))
                .collect();
            assert_eq!(hosts_holding_pending(&accounts), expected, "{accounts:?}");
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
