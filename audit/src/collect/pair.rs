//! The other user of an alternating pair.
//!
//! Alternating-users rotation keeps two users: the one `AWSCURRENT` names and its
//! alternate (`name` ↔ `name_clone`), whose password `AWSPREVIOUS` holds. The
//! rotator derives its next pending user from `AWSCURRENT` alone
//! (`permissions::alternate_user`) and sets that user's password and
//! privileges, so an `AWSPREVIOUS` naming anyone else (the master user, an unrelated
//! user) is not the pair's other user: it is recorded by name, never logged in as,
//! and the checks say what it means. Where the audit logs in is in
//! [`super::endpoints`].
//!
//! The other user's login is the last thing read before it: the versions' labels
//! and `AWSPREVIOUS`'s value are read again just before, and the login is skipped
//! when a rotation may have changed that user's password (a version staged
//! `AWSPENDING`, or a label-less version newer than `AWSCURRENT`: a rotation
//! cancelled after its setSecret). A login with a stale password counts as a
//! failed login, and MySQL 8.0.19+ locks an account after `FAILED_LOGIN_ATTEMPTS`
//! consecutive ones (MySQL worklog WL#13515,
//! <https://dev.mysql.com/worklog/task/?id=13515>; MySQL reference manual,
//! "Password Management", "Failed-Login Tracking and Temporary Account Locking",
//! <https://dev.mysql.com/doc/refman/8.0/en/password-management.html>), and
//! MariaDB 10.4.2+ blocks any account after `max_password_errors` of them until
//! `FLUSH PRIVILEGES` (MariaDB server system variables, `max_password_errors`,
//! <https://mariadb.com/kb/en/server-system-variables/#max_password_errors>;
//! <https://mariadb.com/docs/server/ref/mdb/system-variables/max_password_errors>):
//! a daily audit must never lock it. A refused login is never retried, and is
//! reported as what it is ([`refused_as_previous`]).

use time::OffsetDateTime;

use super::endpoints::LoginEndpoints;
use super::{DbLogin, Lockout, RegionCollector, alternate_user, calls, collection_error, to_time};
use crate::inventory::{Collected, CollectionError, OtherUserGrants, PairRelation, shown_user};

/// The other user of a secret's pair as its versions name it, before any login.
#[derive(Debug)]
pub(super) enum OtherUser {
    /// `AWSPREVIOUS` names the current user's alternate: logged in as (after the
    /// versions are read again) to read its grants.
    Alternate(String),
    /// The alternate, named by `AWSPREVIOUS` while a rotation is under way
    /// (`AWSPENDING` staged apart): not logged in as.
    NotWhilePending(String),
    /// No `AWSPREVIOUS`; `AWSPENDING` names the alternate (a first rotation under
    /// way or stuck): not logged in as.
    FirstRotation(String),
    /// `AWSPREVIOUS` names a user that is neither the current one nor its
    /// alternate (with that version's `host`, if any): not logged in as.
    Unrelated(String, Option<String>),
    /// `AWSPREVIOUS` is JSON without `username`.
    NoUsername,
    /// `AWSPREVIOUS` could not be read.
    Unread(CollectionError),
}

/// What `AWSPREVIOUS` naming `previous` (its `username`, if any, and its `host`)
/// makes of the pair of `current`: nothing when it names `current` (a
/// single-user secret, no pair); the alternate, named only while a rotation is
/// under way (`pending`); any other user recorded as unrelated, with its host;
/// no name said so.
pub(super) fn other_of(
    current: &str,
    previous: Option<&str>,
    previous_host: Option<&str>,
    pending: bool,
) -> Option<OtherUser> {
    let Some(previous) = previous else {
        return Some(OtherUser::NoUsername);
    };
    if previous == current {
        return None;
    }
    let name = previous.to_owned();
    Some(if previous != alternate_user(current) {
        OtherUser::Unrelated(name, previous_host.map(str::to_owned))
    } else if pending {
        OtherUser::NotWhilePending(name)
    } else {
        OtherUser::Alternate(name)
    })
}

/// One version of a secret as `ListSecretVersionIds` lists it.
#[derive(Debug, Clone)]
pub(super) struct ListedVersion {
    pub id: String,
    pub stages: Vec<String>,
    pub created: Option<OffsetDateTime>,
}

/// Why a login as the other user could meet a password a rotation changed, when
/// it could: a version staged `AWSPENDING` apart from `AWSCURRENT` (setSecret may
/// have set it already), or a version without a label newer than `AWSCURRENT`'s
/// (an `AWSPENDING` label removed after setSecret: Secrets Manager keeps the
/// version, "Versions without staging labels are considered deprecated",
/// Secrets Manager API reference, ListSecretVersionIds, `IncludeDeprecated`,
/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecretVersionIds.html>).
/// A version dated with `AWSCURRENT`'s (the same second), or either without a
/// date, counts as newer.
pub(super) fn login_hazard(versions: &[ListedVersion]) -> Option<String> {
    let has = |v: &ListedVersion, stage: &str| v.stages.iter().any(|s| s == stage);
    if let Some(pending) = versions
        .iter()
        .find(|v| has(v, "AWSPENDING") && !has(v, "AWSCURRENT"))
    {
        return Some(format!(
            "not logged in as: version {} is staged AWSPENDING (a rotation under way, whose setSecret may have changed this user's password); if it stays, see secret.rotation.healthy",
            pending.id
        ));
    }
    let current = versions
        .iter()
        .find(|v| has(v, "AWSCURRENT"))
        .and_then(|v| v.created);
    versions
        .iter()
        .find(|v| {
            v.stages.is_empty()
                && match (v.created, current) {
                    (Some(created), Some(current)) => created >= current,
                    _ => true,
                }
        })
        .map(|v| {
            format!(
                "not logged in as: version {} has no staging label and is newer than AWSCURRENT (a rotation cancelled after its setSecret may have changed this user's password); the next successful rotation settles it",
                v.id
            )
        })
}

/// Why the login must not go on when `AWSPREVIOUS` moved to another version
/// after its value (version `read`) was read: a rotation finished in between.
pub(super) fn moved_since_read(versions: &[ListedVersion], read: Option<&str>) -> Option<String> {
    let listed = versions
        .iter()
        .find(|v| v.stages.iter().any(|s| s == "AWSPREVIOUS"))
        .map(|v| v.id.as_str());
    (listed.is_none() || listed != read).then(|| {
        format!(
            "not logged in as: AWSPREVIOUS is now version {} but version {} was read (a rotation finished during the audit); audit again",
            listed.unwrap_or("(none)"),
            read.unwrap_or("(unknown)")
        )
    })
}

/// The code a refused login's error carries (MySQL error 1045,
/// `ER_ACCESS_DENIED_ERROR`, SQLSTATE 28000: MySQL error reference,
/// <https://dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html#error_er_access_denied_error>).
pub(super) const LOGIN_REFUSED: &str = "login-refused";

/// Whether the server refused the login's user name and password.
pub(super) fn login_refused(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(sqlx::error::DatabaseError::code)
        .is_some_and(|code| code == "28000")
}

/// The other user's rows, a refused login said as what it means: the password
/// `AWSPREVIOUS` holds no longer works, and each audit adds a failed login.
pub(super) fn refused_as_previous(
    rows: Collected<Vec<String>>,
    username: &str,
) -> Collected<Vec<String>> {
    match rows {
        Collected::Failed(error) if error.code.as_deref() == Some(LOGIN_REFUSED) => {
            Collected::Failed(CollectionError {
                message: format!(
                    "the password AWSPREVIOUS holds for user {} no longer works ({}); each audit adds a failed login, and an account with FAILED_LOGIN_ATTEMPTS (MySQL 8.0.19+) is locked after that many in a row, every account of a MariaDB 10.4.2+ server after max_password_errors; the next rotation sets this user's password: rotate the secret",
                    shown_user(username),
                    error.message
                ),
                ..error
            })
        }
        rows => rows,
    }
}

/// Why the other user of the pair is not logged in as, when a failed login could
/// help lock it ([`Lockout`] other than `Never`), naming what could lock it.
fn lockout_note(current: &str, other: &str, lockout: &Lockout) -> String {
    let (current, other) = (shown_user(current), shown_user(other));
    let why = match lockout {
        Lockout::Never => return String::new(),
        Lockout::Options(options) => format!(
            "user {current} has {options}, so failed logins lock the account, and setSecret gives user {other} the same options"
        ),
        Lockout::MaxPasswordErrors(limit) => format!(
            "the MariaDB server's max_password_errors is {limit}, so failed logins block an account until FLUSH PRIVILEGES"
        ),
        Lockout::Unread(why) => format!("{why}, so failed logins may lock the account"),
    };
    format!(
        "not logged in as: {why}; a login with a stale AWSPREVIOUS password could help lock user {other}, so its grants are not read; read them as the master user (SHOW GRANTS FOR {other})"
    )
}

impl RegionCollector<'_> {
    /// The other user's grants, or why they were not read: the alternate is
    /// logged in as, with `AWSPREVIOUS`'s password read again just before and the
    /// current version's host, port and `ssl` (a previous version naming another
    /// server never decides which server's account is judged).
    pub(super) async fn other_user_grants(
        &self,
        arn: &str,
        current: &DbLogin,
        other: &OtherUser,
        endpoints: &LoginEndpoints,
        lockout: Lockout,
    ) -> OtherUserGrants {
        let named = |username: &str, relation, rows| OtherUserGrants {
            username: username.to_owned(),
            relation,
            rows,
            roles: Vec::new(),
            host: None,
        };
        match other {
            // A stale password would count toward the account's lockout: the
            // current user's options stand for its alternate's (setSecret copies
            // the account options, FAILED_LOGIN_ATTEMPTS and PASSWORD_LOCK_TIME
            // among them: rotator/src/sql/account_options.rs), and MariaDB's
            // max_password_errors is the server's.
            OtherUser::Alternate(username) if lockout != Lockout::Never => named(
                username,
                PairRelation::Alternate,
                Collected::Skipped(lockout_note(&current.username, username, &lockout)),
            ),
            OtherUser::Alternate(username) => match self.fresh_previous(arn, current, username).await
            {
                Ok(login) => {
                    let (grants, _) = self.grants_of(arn, &login, endpoints).await;
                    OtherUserGrants {
                        rows: refused_as_previous(grants.rows, username),
                        roles: grants.roles,
                        ..named(username, PairRelation::Alternate, Collected::Ok(Vec::new()))
                    }
                }
                Err(rows) => named(username, PairRelation::Alternate, rows),
            },
            OtherUser::NotWhilePending(username) => named(
                username,
                PairRelation::Alternate,
                Collected::Skipped(
                    "not logged in as while a rotation is under way (a version staged AWSPENDING); if it stays, see secret.rotation.healthy"
                        .to_owned(),
                ),
            ),
            OtherUser::FirstRotation(username) => named(
                username,
                PairRelation::FirstRotation,
                Collected::Skipped(
                    "not logged in as: a first rotation is under way or stuck (AWSPENDING names it, no AWSPREVIOUS)"
                        .to_owned(),
                ),
            ),
            OtherUser::Unrelated(username, host) => OtherUserGrants {
                host: host.clone(),
                ..named(
                    username,
                    PairRelation::Unrelated,
                    Collected::Skipped(
                        "not logged in as: it is neither the secret's user nor its alternate"
                            .to_owned(),
                    ),
                )
            },
            OtherUser::NoUsername => named(
                "(none)",
                PairRelation::NoUsername,
                Collected::Skipped("AWSPREVIOUS has no `username` key".to_owned()),
            ),
            OtherUser::Unread(error) => named(
                "(unknown)",
                PairRelation::Unread,
                Collected::Failed(error.clone()),
            ),
        }
    }

    /// `AWSPREVIOUS`'s login for `username`, read again now, on the current
    /// version's host; `Err` with the rows' reason when it must not be used. The
    /// value is read first, then the versions: the login goes on only when the
    /// version read is still the one staged `AWSPREVIOUS` and nothing since may
    /// have changed the user's password ([`login_hazard`]).
    async fn fresh_previous(
        &self,
        arn: &str,
        current: &DbLogin,
        username: &str,
    ) -> Result<DbLogin, Collected<Vec<String>>> {
        let shown = shown_user(username);
        let (facts, login, read_id) = self.secret_version(arn, Some("AWSPREVIOUS")).await;
        let previous = match (facts, login) {
            (_, Some(previous)) if previous.username == username => previous,
            (Collected::Failed(error), _) => return Err(Collected::Failed(error)),
            (Collected::Ok(facts), _)
                if facts.username.as_deref() == Some(username) && !facts.has_password =>
            {
                return Err(Collected::Skipped(format!(
                    "not logged in as: the secret's AWSPREVIOUS version names user {shown} but holds no `password`; the next rotation sets that user's password"
                )));
            }
            _ => {
                return Err(Collected::Skipped(format!(
                    "not logged in as: the secret's AWSPREVIOUS version no longer holds user {shown} and a password (it changed during the audit); audit again"
                )));
            }
        };
        let versions = self.listed_versions(arn).await.map_err(Collected::Failed)?;
        if let Some(hazard) = login_hazard(&versions) {
            return Err(Collected::Skipped(hazard));
        }
        if let Some(moved) = moved_since_read(&versions, read_id.as_deref()) {
            return Err(Collected::Skipped(moved));
        }
        Ok(DbLogin {
            host: current.host.clone(),
            port: current.port,
            ssl: current.ssl,
            ..previous
        })
    }

    /// Every version of the secret, label-less ones included.
    async fn listed_versions(&self, arn: &str) -> Result<Vec<ListedVersion>, CollectionError> {
        let call = &calls::SECRETSMANAGER_LIST_SECRET_VERSION_IDS;
        let mut pages = self
            .clients
            .secrets
            .list_secret_version_ids()
            .secret_id(arn)
            .include_deprecated(true)
            .max_results(100)
            .into_paginator()
            .send();
        let mut versions = Vec::new();
        while let Some(page) = pages.next().await {
            self.log.record(call);
            let page = page.map_err(|error| collection_error(call, &error))?;
            versions.extend(page.versions().iter().map(|v| ListedVersion {
                id: v.version_id().unwrap_or_default().to_owned(),
                stages: v.version_stages().to_vec(),
                created: to_time(v.created_date()),
            }));
        }
        Ok(versions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lockout_note_names_what_could_lock_the_other_user() {
        // (lockout, in the note)
        let table = [
            (
                Lockout::Options("FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME 2".to_owned()),
                "user \"app\" has FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME 2, so failed logins lock the account, and setSecret gives user \"app_clone\" the same options",
            ),
            (
                Lockout::MaxPasswordErrors(5),
                "the MariaDB server's max_password_errors is 5",
            ),
            (
                Lockout::Unread(
                    "could not read user \"app\"'s account options (denied)".to_owned(),
                ),
                "not logged in as: could not read user \"app\"'s account options (denied), so failed logins may lock",
            ),
        ];
        for (lockout, text) in table {
            let note = lockout_note("app", "app_clone", &lockout);
            assert!(note.contains(text), "{note}");
            assert!(note.contains("SHOW GRANTS FOR \"app_clone\""), "{note}");
        }
    }

    #[test]
    fn awsprevious_is_the_pairs_other_user_only_when_it_names_the_alternate() {
        // (current, AWSPREVIOUS's username, pending, expected)
        let table: &[(&str, Option<&str>, bool, &str)] = &[
            ("appuser", Some("appuser"), false, "none"),
            ("appuser", Some("appuser"), true, "none"),
            (
                "appuser",
                Some("appuser_clone"),
                false,
                "alternate appuser_clone",
            ),
            ("appuser_clone", Some("appuser"), false, "alternate appuser"),
            (
                "appuser",
                Some("appuser_clone"),
                true,
                "pending appuser_clone",
            ),
            // The master user, or anyone else: recorded, never dropped.
            ("appuser", Some("admin"), false, "unrelated admin"),
            ("appuser", Some("admin"), true, "unrelated admin"),
            (
                "appuser_clone",
                Some("appuser_clone_clone"),
                false,
                "unrelated appuser_clone_clone",
            ),
            ("appuser", None, false, "no username"),
        ];
        for (current, previous, pending, expected) in table {
            let got = match other_of(current, *previous, None, *pending) {
                None => "none".to_owned(),
                Some(OtherUser::Alternate(u)) => format!("alternate {u}"),
                Some(OtherUser::NotWhilePending(u)) => format!("pending {u}"),
                Some(OtherUser::Unrelated(u, _)) => format!("unrelated {u}"),
                Some(OtherUser::NoUsername) => "no username".to_owned(),
                Some(other) => format!("{other:?}"),
            };
            assert_eq!(&got, expected, "{current} {previous:?} {pending}");
        }
    }

    #[test]
    fn a_login_is_skipped_when_a_rotation_may_have_changed_the_password() {
        let at = |s: i64| OffsetDateTime::from_unix_timestamp(1_700_000_000 + s).ok();
        let v = |id: &str, stages: &[&str], created| ListedVersion {
            id: id.to_owned(),
            stages: stages.iter().map(|s| (*s).to_owned()).collect(),
            created,
        };
        // (versions, the skip's reason mentions; None when the login may go on)
        let table: Vec<(Vec<ListedVersion>, Option<&str>)> = vec![
            (
                vec![
                    v("c", &["AWSCURRENT"], at(10)),
                    v("p", &["AWSPREVIOUS"], at(5)),
                ],
                None,
            ),
            // An older label-less version: a finished rotation's leftover.
            (
                vec![
                    v("c", &["AWSCURRENT"], at(10)),
                    v("p", &["AWSPREVIOUS"], at(5)),
                    v("old", &[], at(1)),
                ],
                None,
            ),
            (
                vec![
                    v("c", &["AWSCURRENT"], at(10)),
                    v("p", &["AWSPREVIOUS"], at(5)),
                    v("n", &["AWSPENDING"], at(20)),
                ],
                Some("version n is staged AWSPENDING"),
            ),
            // AWSPENDING left on the current version: nothing under way.
            (
                vec![
                    v("c", &["AWSCURRENT", "AWSPENDING"], at(10)),
                    v("p", &["AWSPREVIOUS"], at(5)),
                ],
                None,
            ),
            // A cancelled rotation: its pending label removed after setSecret.
            (
                vec![
                    v("c", &["AWSCURRENT"], at(10)),
                    v("p", &["AWSPREVIOUS"], at(5)),
                    v("x", &[], at(20)),
                ],
                Some("version x has no staging label and is newer than AWSCURRENT"),
            ),
            (
                vec![
                    v("c", &["AWSCURRENT"], at(10)),
                    v("p", &["AWSPREVIOUS"], at(5)),
                    v("x", &[], at(10)),
                ],
                Some("version x has no staging label"),
            ),
            (
                vec![
                    v("c", &["AWSCURRENT"], at(10)),
                    v("p", &["AWSPREVIOUS"], at(5)),
                    v("x", &[], None),
                ],
                Some("version x has no staging label"),
            ),
        ];
        for (versions, expected) in table {
            let got = login_hazard(&versions);
            match expected {
                None => assert!(got.is_none(), "{versions:?}: {got:?}"),
                Some(text) => assert!(
                    got.as_deref().is_some_and(|g| g.contains(text)),
                    "{versions:?}: {got:?}"
                ),
            }
        }
    }

    #[test]
    fn the_login_waits_for_the_version_read_to_be_still_awsprevious() {
        let v = |id: &str, stages: &[&str]| ListedVersion {
            id: id.to_owned(),
            stages: stages.iter().map(|s| (*s).to_owned()).collect(),
            created: None,
        };
        let listed = vec![v("c", &["AWSCURRENT"]), v("p", &["AWSPREVIOUS"])];
        // (version read, refused because of)
        let table: &[(Option<&str>, Option<&str>)] = &[
            (Some("p"), None),
            (
                Some("old"),
                Some("AWSPREVIOUS is now version p but version old was read"),
            ),
            (None, Some("version (unknown) was read")),
        ];
        for (read, expected) in table {
            let got = moved_since_read(&listed, *read);
            match expected {
                None => assert!(got.is_none(), "{read:?}: {got:?}"),
                Some(text) => assert!(
                    got.as_deref().is_some_and(|g| g.contains(text)),
                    "{read:?}: {got:?}"
                ),
            }
        }
        let none = moved_since_read(&[v("c", &["AWSCURRENT"])], Some("p"));
        assert!(none.is_some_and(|g| g.contains("now version (none)")));
    }

    #[test]
    fn a_refused_awsprevious_login_says_its_password_no_longer_works() {
        let failed = |code: Option<&str>| {
            Collected::Failed(CollectionError {
                action: "mysql:connect".to_owned(),
                access_denied: false,
                code: code.map(str::to_owned),
                message: "the server refused it".to_owned(),
            })
        };
        let refused = refused_as_previous(failed(Some(LOGIN_REFUSED)), "appuser_clone");
        let Collected::Failed(error) = refused else {
            panic!("still a failure: {refused:?}");
        };
        for text in [
            "the password AWSPREVIOUS holds for user \"appuser_clone\" no longer works",
            "each audit adds a failed login",
            "FAILED_LOGIN_ATTEMPTS (MySQL 8.0.19+)",
            "MariaDB 10.4.2+ server after max_password_errors",
        ] {
            assert!(error.message.contains(text), "{text}: {}", error.message);
        }
        // Another failure (a timeout, a TLS error) is left as it was.
        let other = refused_as_previous(failed(None), "appuser_clone");
        assert_eq!(other, failed(None));
    }
}
