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
//! does the proof fall back to a login, at most [`proof::MAX_PROOF_LOGINS`] of them, the most
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
//!
//! The pure rules (which versions may prove it, what a stored hash says, the
//! decision) are in `proof`; reading the stored versions in `stored`; the login proof
//! in `login_proof`.

use sqlx::MySqlConnection;

use super::event::Context;
use super::rotator::Rotator;
use crate::db;
use crate::error::{Problem, RotationError};
use crate::secret::DbSecret;
use crate::version::Flavor;
use proof::{
    AccountProof, Candidate, StoredVersion, Takeover, account_proof, extend_proof,
    hosts_holding_pending, judge, same_hosts,
};

mod login_proof;
mod proof;
mod stored;

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
        let mut accounts: Vec<(String, AccountProof)> = stored
            .iter()
            .map(|account| {
                let proof = account_proof(&account.plugin, account.hash(), &candidates);
                (account.host.clone(), proof)
            })
            .collect();
        let mut verdict = judge(alternate, &current.username, &accounts, candidates.len());
        if matches!(verdict, Takeover::Refused(_)) {
            // AWSPREVIOUS (every rotation after the first) and older versions, read
            // until every host holds one of them: a host that holds a password keeps
            // that proof whatever else is read, so more reads could not change the
            // verdict (`judge`), only cost a GetSecretValue each. Each read is checked
            // only against the hosts it could still prove (`extend_proof`).
            let mut tried = candidates.len();
            let settled = |new: &Candidate| {
                tried += 1;
                for ((_, proof), account) in accounts.iter_mut().zip(&stored) {
                    *proof = extend_proof(
                        proof,
                        &account.plugin,
                        account.hash(),
                        std::slice::from_ref(new),
                    );
                }
                matches!(
                    judge(alternate, &current.username, &accounts, tried),
                    Takeover::Ours { .. } | Takeover::AlreadySet
                )
            };
            let more = self
                .stored_candidates(cx, current, alternate, settled)
                .await?;
            candidates.extend(more);
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
}
