//! `testSecret`: the pending credentials log in, run a trivial query, and prove to be
//! the pending user's own account with the current user's privileges (`identity`).
//!
//! This is the last check before finishSecret makes the pending version current, so
//! it logs in exactly as the application will, with the pending secret's own host,
//! database and TLS setting.
//!
//! A secret may name a read replica or an Aurora reader, while setSecret wrote the
//! alternate user on the writer: until replication has applied `CREATE USER`, the
//! grants and `ALTER USER ... IDENTIFIED BY`, the replica refuses the pending login
//! (the account is missing or still has its old password: 1045; no grant on the
//! database yet: 1044; still locked: MySQL 3118, MariaDB 4151). A replica reports how
//! far behind it is (RDS's `ReplicaLag` metric, `Seconds_Behind_Master`:
//! <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_MySQL.Replication.ReadReplicas.Monitor.html>),
//! and account statements reach it like any other (MariaDB MDEV-17753, "ALTER USER
//! fail to replicate", fixed: <https://github.com/MariaDB/server/commit/79078167c3>).
//! So on a read-only server (seen as the current user, who exists there already)
//! those refusals are retried with a growing pause, at most three logins in all (a
//! wrong-password login counts toward the account's lock), while the invocation's
//! remaining time allows one more login and the report; then the last refusal is
//! reported as it is. Anywhere else, and for any other failure, the first one is.
//!
//! On MySQL 8.0.19+ those wrong-password logins count toward the account's
//! `FAILED_LOGIN_ATTEMPTS` on the replica itself, and the one that reaches it is
//! refused with 3955 (ER_USER_ACCESS_DENIED_FOR_USER_ACCOUNT_BLOCKED_BY_PASSWORD_LOCK;
//! mysql-test `user_lock`: with `FAILED_LOGIN_ATTEMPTS 2` the second failed login gets
//! it). So the logins stay under the current user's limit (the clone has its
//! settings; one login when it cannot be read, see `failed_login_limit`), and a
//! 3955 is reported as that lock, with its remedy, not retried: nothing but time or
//! `ACCOUNT UNLOCK` ends it.

use std::time::Duration;

use sqlx::MySqlConnection;

use super::event::Context;
use super::rotator::{Rotator, login_of};
use crate::db::{self, DbError};
use crate::error::{Problem, RotationError};
use crate::grants::{self, FailedLoginLimit, limit_from_create_user};
use crate::preflight;
use crate::secret::DbSecret;
use crate::settings::Strategy;
use crate::sql::{self, Account};
use crate::version::ServerVersion;

mod identity;

/// The first pause after a refused pending login on a replica; each next one doubles.
const FIRST_PAUSE: Duration = Duration::from_secs(2);
/// The longest pause between two pending logins.
const LONGEST_PAUSE: Duration = Duration::from_secs(8);
/// The most pending logins one invocation makes. A refused login with a wrong
/// password counts toward the account's `FAILED_LOGIN_ATTEMPTS` lock on MySQL 8
/// (kept in that server's memory, so a replica can lock the account on its own:
/// <https://dev.mysql.com/doc/refman/8.0/en/password-management.html>) and toward
/// MariaDB's `max_password_errors`; a few logins spread over some seconds are
/// enough for lag, a loop until the timeout could lock the alternate user.
const MOST_LOGINS: u32 = 3;
/// Time kept back after a pause: one more login (`db`'s connect timeout is 5 s) and
/// the report of its failure.
const RESERVE: Duration = Duration::from_secs(7);

/// What testSecret does after the pending login failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AfterRefusal {
    /// Log in again after this pause: replication may not have brought the account yet.
    Retry(Duration),
    /// Report the failure as it is.
    Report,
}

/// Whether a refusal of the pending login has the shape of replication lag: 1045
/// ER_ACCESS_DENIED_ERROR (the account missing, or still with its old password), 1044
/// ER_DBACCESS_DENIED_ERROR (its grants not there yet), 3118 (MySQL) and 4151
/// (MariaDB) ER_ACCOUNT_HAS_BEEN_LOCKED (not yet unlocked): the states setSecret
/// leaves on the writer one after the other (MySQL manual, "Access denied":
/// <https://dev.mysql.com/doc/refman/8.0/en/error-access-denied.html>; MariaDB:
/// <https://mariadb.com/docs/reference/mdb/error-codes/ER_DBACCESS_DENIED_ERROR/>,
/// <https://mariadb.com/kb/en/e4151>).
pub(super) fn may_be_lag(number: Option<u16>) -> bool {
    matches!(number, Some(1044 | 1045 | 3118 | 4151))
}

/// MySQL 8.0.19+'s refusal of an account locked for a while after
/// `FAILED_LOGIN_ATTEMPTS` consecutive failed logins ("Failed-Login Tracking and
/// Temporary Account Locking", <https://dev.mysql.com/doc/refman/8.0/en/password-management.html>).
pub(super) const LOCKED_AFTER_FAILED_LOGINS: u16 = 3955;

/// What a 3955 on the pending login means and what ends it. setSecret unlocks the
/// alternate user on the writer (`ACCOUNT UNLOCK`), and a lagging replica applies
/// that unlock when it reaches it, which clears the lock there ("Failed-Login
/// Tracking and Temporary Account Locking"; MySQL 8.0 manual, "Account Locking": "As
/// of MySQL 8.0.19, ALTER USER ... UNLOCK unlocks any account named by the statement
/// that is temporarily locked due to too many failed logins",
/// <https://dev.mysql.com/doc/refman/8.0/en/account-locking.html>).
const LOCKED_REMEDY: &str = "MySQL locked the account after consecutive failed logins (FAILED_LOGIN_ATTEMPTS, error 3955). Clients still using the previous version's password keep relocking the account: update them first. On a read replica, logins with the pending password that arrive before replication has brought it (the application's, or testSecret's) count as failures there; a lagging replica clears the lock once it applies the unlock setSecret queued on the writer. Otherwise unlock the account on the writer (ALTER USER ... ACCOUNT UNLOCK, which replicates) or wait for PASSWORD_LOCK_TIME, and the rotation's next attempt tests it again";

/// The most pending logins for an account `limit` describes: fewer than the
/// limit, at least one, and one when the limit is unknown.
pub(super) fn most_logins(limit: FailedLoginLimit) -> u32 {
    match limit {
        FailedLoginLimit::None => MOST_LOGINS,
        FailedLoginLimit::Locks(limit) => MOST_LOGINS.min(limit.saturating_sub(1)).max(1),
        FailedLoginLimit::Unknown => 1,
    }
}

/// What to do after the pending login failed: `number` is the server's error number
/// of the refusal (`None`: not refused by the server), `on_replica` whether the
/// secret's host is read-only, `attempts` the logins made so far (1 after the first),
/// `most` the logins allowed ([`most_logins`]), `remaining` the invocation's time
/// left (`None`: unknown, so no time to wait on).
pub(super) fn after_refusal(
    number: Option<u16>,
    on_replica: bool,
    (attempts, most): (u32, u32),
    remaining: Option<Duration>,
) -> AfterRefusal {
    let Some(remaining) = remaining else {
        return AfterRefusal::Report;
    };
    if !may_be_lag(number) || !on_replica || attempts == 0 || attempts >= most {
        return AfterRefusal::Report;
    }
    let pause = FIRST_PAUSE
        .saturating_mul(1 << attempts.saturating_sub(1).min(8))
        .min(LONGEST_PAUSE);
    if remaining > pause + RESERVE {
        AfterRefusal::Retry(pause)
    } else {
        AfterRefusal::Report
    }
}

/// What testSecret learns of the pending secret's server after a lag-shaped refusal.
#[derive(Debug, Clone, Copy, Default)]
struct ReplicaFacts {
    read_only: bool,
    failed_login_limit: FailedLoginLimit,
}

impl Rotator {
    pub(super) async fn test_secret(&self, cx: &Context<'_>) -> Result<(), RotationError> {
        let pending = self.require_pending(cx).await?;
        let login = login_of(&pending);
        let mut attempts = 0;
        let mut replica: Option<ReplicaFacts> = None;
        let mut connection = loop {
            attempts += 1;
            let error = match db::connect(&login, self.ca_bundle()).await {
                Ok((connection, transport)) => {
                    tracing::info!(secret = %cx.event.secret_id, step = cx.event.step.as_str(), user = %pending.username, host = %pending.host, transport = transport.as_str(), attempts, "logged in as the pending user");
                    break connection;
                }
                Err(error) => error,
            };
            let number = match &error {
                DbError::Refused { number, .. } => *number,
                _ => None,
            };
            if number == Some(LOCKED_AFTER_FAILED_LOGINS) {
                return Err(cx.fail(Problem::Refused(format!("{error}; {LOCKED_REMEDY}"))));
            }
            if replica.is_none() && may_be_lag(number) && cx.remaining().is_some() {
                replica = Some(self.replica_facts(cx, &pending).await);
            }
            let (on_replica, limit) = replica.map_or((false, FailedLoginLimit::Unknown), |r| {
                (r.read_only, r.failed_login_limit)
            });
            match after_refusal(
                number,
                on_replica,
                (attempts, most_logins(limit)),
                cx.remaining(),
            ) {
                AfterRefusal::Retry(pause) => {
                    tracing::warn!(secret = %cx.event.secret_id, host = %pending.host, attempts, pause_ms = pause.as_millis(), reason = %error, "the pending login was refused by a read replica, which may not have applied setSecret's changes yet; trying again");
                    tokio::time::sleep(pause).await;
                }
                AfterRefusal::Report => {
                    if attempts > 1 {
                        tracing::warn!(secret = %cx.event.secret_id, host = %pending.host, attempts, "the read replica still refuses the pending login; reporting its last refusal");
                    }
                    return Err(cx.fail(error));
                }
            }
        };
        db::ping(&mut connection).await.map_err(|e| cx.fail(e))?;
        let alternating = self.settings.strategy == Strategy::AlternatingUsers;
        self.check_pending_identity(cx, &pending, &mut connection, alternating)
            .await
    }

    /// Whether the pending secret's server is read-only (a read replica, an Aurora
    /// reader), and how many failed logins lock the current user there (the clone has
    /// its settings), seen as the current user, who exists there already; not
    /// read-only when that cannot be seen. Alternating users only: a single user's
    /// current password no longer works once setSecret has run, and a failed login
    /// counts toward its `FAILED_LOGIN_ATTEMPTS` lock (a single user cannot change its
    /// own password on a read-only server in the first place).
    async fn replica_facts(&self, cx: &Context<'_>, pending: &DbSecret) -> ReplicaFacts {
        let unknown = ReplicaFacts::default();
        let Ok(current) = self.current(cx).await else {
            return unknown;
        };
        if current.username == pending.username
            || current.host != pending.host
            || current.port != pending.port
        {
            return unknown;
        }
        let Ok((mut connection, _)) = self.login(cx, &current, "current").await else {
            return unknown;
        };
        let read_only = match db::write_variables(&mut connection).await {
            Ok(variables) => preflight::refusal(&pending.host, &variables).is_some(),
            Err(_) => false,
        };
        let failed_login_limit = failed_login_limit(&mut connection).await;
        ReplicaFacts {
            read_only,
            failed_login_limit,
        }
    }
}

/// The session account's failed-login limit. On MySQL 8.0.19+ it is read from
/// `mysql.user`'s `User_attributes` (where `db::password_columns` reads it for
/// copying), since `SHOW CREATE USER` prints it before ATTRIBUTE and COMMENT text
/// that could be made to look like it. Reading that table needs `SELECT` on it,
/// which an application user seldom has: then (and before 8.0.19, and on MariaDB,
/// which prints no such option) the account's own `SHOW CREATE USER`, which any
/// account may read, is parsed, unless on 8.0.19+ it carries an ATTRIBUTE or
/// COMMENT clause; text that does not parse leaves the limit unknown.
async fn failed_login_limit(connection: &mut MySqlConnection) -> FailedLoginLimit {
    let Some(version) = db::version(connection)
        .await
        .ok()
        .and_then(|v| ServerVersion::parse(&v))
    else {
        return FailedLoginLimit::Unknown;
    };
    let modern = version.reads_password_options_from_grant_tables();
    if modern {
        let account = db::current_user(connection)
            .await
            .ok()
            .and_then(|matched| Account::from_current_user(&matched));
        if let Some(account) = account
            && let Ok(Some(columns)) = db::password_columns(connection, &account).await
        {
            return grants::PasswordOptions::from_columns(&columns)
                .map_or(FailedLoginLimit::Unknown, |o| o.failed_login_limit().into());
        }
    }
    match db::strings(connection, &sql::show_own_create_user()).await {
        Ok(rows) => limit_from_create_user(&rows.join(" "), modern),
        Err(_) => FailedLoginLimit::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lag_shaped_refusal_on_a_replica_is_retried_and_only_within_the_time_left() {
        let secs = Duration::from_secs;
        let ms = Duration::from_millis;
        let retry = AfterRefusal::Retry;
        let report = AfterRefusal::Report;
        for (number, on_replica, attempts, remaining, expected) in [
            // The account not there yet, or not yet with its new password.
            (Some(1045), true, 1, Some(secs(25)), retry(secs(2))),
            (Some(1045), true, 2, Some(secs(25)), retry(secs(4))),
            // At most three logins: more could lock the account (FAILED_LOGIN_ATTEMPTS).
            (Some(1045), true, 3, Some(secs(25)), report),
            (Some(1045), true, 30, Some(secs(25)), report),
            // Its grants or its unlock not there yet.
            (Some(1044), true, 1, Some(secs(25)), retry(secs(2))),
            (Some(3118), true, 1, Some(secs(25)), retry(secs(2))),
            (Some(4151), true, 1, Some(secs(25)), retry(secs(2))),
            // On the writer a refusal is final: nothing is on its way there.
            (Some(1045), false, 1, Some(secs(25)), report),
            // Not the shape of lag: too many connections, unreachable, plugin.
            (Some(1040), true, 1, Some(secs(25)), report),
            (None, true, 1, Some(secs(25)), report),
            (Some(1698), true, 1, Some(secs(25)), report),
            // Locked after failed logins: only time or ACCOUNT UNLOCK ends it.
            (
                Some(LOCKED_AFTER_FAILED_LOGINS),
                true,
                1,
                Some(secs(25)),
                report,
            ),
            // No time for a pause, one more login and the report.
            (Some(1045), true, 1, Some(ms(9000)), report),
            (Some(1045), true, 1, Some(ms(9001)), retry(secs(2))),
            (Some(1045), true, 2, Some(secs(11)), report),
            (Some(1045), true, 1, None, report),
        ] {
            assert_eq!(
                after_refusal(number, on_replica, (attempts, MOST_LOGINS), remaining),
                expected,
                "{number:?} on_replica={on_replica} attempts={attempts} remaining={remaining:?}"
            );
        }
    }

    #[test]
    fn the_lock_remedy_names_the_clients_that_relock_and_the_queued_unlock() {
        for part in [
            "clients still using the previous version's password keep relocking the account",
            "a lagging replica clears the lock once it applies the unlock setsecret queued",
            "account unlock",
            "password_lock_time",
        ] {
            assert!(
                LOCKED_REMEDY.to_lowercase().contains(part),
                "{part}: {LOCKED_REMEDY}"
            );
        }
    }

    #[test]
    fn the_logins_stay_under_the_failed_login_limit() {
        // (FAILED_LOGIN_ATTEMPTS with a lock time, the most logins testSecret makes)
        for (limit, expected) in [
            (FailedLoginLimit::None, 3),
            (FailedLoginLimit::Locks(1), 1),
            (FailedLoginLimit::Locks(2), 1),
            (FailedLoginLimit::Locks(3), 2),
            (FailedLoginLimit::Locks(4), 3),
            (FailedLoginLimit::Locks(32767), 3),
            // Unreadable (SHOW CREATE USER that does not parse, mysql.user not
            // readable on 8.0.19+): the first login may already be the last one.
            (FailedLoginLimit::Unknown, 1),
        ] {
            assert_eq!(most_logins(limit), expected, "{limit:?}");
        }
        let secs = Duration::from_secs;
        // FAILED_LOGIN_ATTEMPTS 3: the second refusal is reported, the third login would lock.
        assert_eq!(
            after_refusal(
                Some(1045),
                true,
                (1, most_logins(FailedLoginLimit::Locks(3))),
                Some(secs(25))
            ),
            AfterRefusal::Retry(secs(2))
        );
        assert_eq!(
            after_refusal(
                Some(1045),
                true,
                (2, most_logins(FailedLoginLimit::Locks(3))),
                Some(secs(25))
            ),
            AfterRefusal::Report
        );
        assert_eq!(
            after_refusal(
                Some(1045),
                true,
                (1, most_logins(FailedLoginLimit::Locks(2))),
                Some(secs(25))
            ),
            AfterRefusal::Report
        );
    }
}
