//! The login proof, only where a stored hash cannot be checked (another plugin).
//!
//! Each failed login counts against the account, so at most `MAX_PROOF_LOGINS`
//! passwords are tried, the most likely first, and only "access denied" is taken to
//! mean "not this password".

use sqlx::MySqlConnection;

use super::proof::{
    MAX_PROOF_LOGINS, MAX_PROOF_READS, StoredVersion, Takeover, can_prove, decide, proof_order,
};
use crate::db::{self, DbError, Login};
use crate::error::{Problem, RotationError};
use crate::rotation::event::Context;
use crate::rotation::rotator::Rotator;
use crate::secret::DbSecret;

impl Rotator {
    /// The login proof, where a hash cannot be checked: stops before any write when
    /// the alternate user exists and no stored password logs it in.
    pub(super) async fn prove_by_login(
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

    /// Whether `alternate` logs in with `candidate`'s password, at the current
    /// database and with the current version's TLS setting, without a default
    /// database (a clone left half made may lack the privileges for `dbname`).
    pub(super) async fn proof_login(
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
