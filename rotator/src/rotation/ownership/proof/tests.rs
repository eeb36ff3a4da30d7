//! The ownership rules, table by table (pure: no server, no AWS).

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
    let ids = |order: Vec<&StoredVersion>| order.iter().map(|v| v.id.clone()).collect::<Vec<_>>();
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
        // The same host written as a fully qualified name (trailing dot).
        (secret("app_clone", "db.example.", 3306), false, true),
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
    let judged = |accounts: Vec<(String, AccountProof)>| judge("app_clone", "app", &accounts, 3);
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
        let Takeover::Refused(message) = decide("app_clone", "app", &existing, None, tried) else {
            panic!("{existing:?}: not refused");
        };
        for part in expected {
            assert!(message.contains(part), "{part}: {message}");
        }
        assert!(message.contains("name another user"), "{message}");
    }
}

/// Why setSecret stops reading stored versions once the verdict is `Ours` or
/// `AlreadySet` (`stored_candidates`'s `settled`): a host that holds one candidate's
/// password keeps that proof whatever candidates follow, so a later read could only
/// have cost a GetSecretValue.
#[test]
fn more_candidates_never_change_a_settled_verdict() {
    let plugin = "mysql_native_password";
    let hosts = [
        ("%", native("previous-pw")),
        ("10.0.0.%", native("pending-pw")),
    ];
    let all = candidates();
    let extra = Candidate {
        label: "older".to_owned(),
        pending: false,
        password: Password::new("older-pw".to_owned()),
    };
    let verdict = |candidates: &[Candidate]| {
        let accounts: Vec<(String, AccountProof)> = hosts
            .iter()
            .map(|(host, hash)| {
                (
                    (*host).to_owned(),
                    account_proof(plugin, Some(hash), candidates),
                )
            })
            .collect();
        judge("app_clone", "app", &accounts, candidates.len())
    };
    // Pending and current alone leave the `%` host unproven: reads go on.
    assert!(matches!(verdict(&all[..2]), Takeover::Refused(_)));
    // AWSPREVIOUS settles it, and nothing read after it changes the verdict.
    let settled = verdict(&all);
    assert!(matches!(settled, Takeover::Ours { .. }), "{settled:?}");
    let mut more = all.clone();
    more.push(extra);
    assert_eq!(verdict(&more), settled);
}

/// The refusal path reads up to MAX_PROOF_READS versions, one at a time, judging
/// after each: each read must be checked once against each host it could still prove
/// (linear), not every earlier candidate again after each read (quadratic: at raised
/// caching_sha2_password_digest_rounds that passed the function's 30 s timeout).
#[test]
fn each_read_is_checked_once_against_the_hosts_still_unproven() {
    let plugin = "mysql_native_password";
    let passwords: Vec<String> = (0..2 + MAX_PROOF_READS)
        .map(|i| format!("pw-{i}"))
        .collect();
    let all: Vec<Candidate> = passwords
        .iter()
        .enumerate()
        .map(|(i, password)| Candidate {
            label: format!("v{i}"),
            pending: i == 0,
            password: Password::new(password.clone()),
        })
        .collect();
    // One host holds none of them (nothing settles: every version is read), the other
    // holds the fourth.
    let hosts = [
        ("%", native("not-ours")),
        ("10.0.0.%", native(&passwords[3])),
    ];
    let mut checks = 0;
    let mut counting = |plugin: &str, hash: &[u8], password: &str| {
        checks += 1;
        password_hash::check(plugin, hash, password)
    };
    // Pending and current first, then one read at a time, as `claim_alternate` does.
    let mut proofs: Vec<AccountProof> = hosts
        .iter()
        .map(|(_, hash)| account_proof_with(plugin, Some(hash), &all[..2], &mut counting))
        .collect();
    for (read, new) in all.iter().enumerate().skip(2) {
        for (proof, (_, hash)) in proofs.iter_mut().zip(&hosts) {
            *proof = extend_proof_with(
                proof,
                plugin,
                Some(hash),
                std::slice::from_ref(new),
                &mut counting,
            );
        }
        // The same proofs as checking everything read so far from scratch.
        let from_scratch: Vec<AccountProof> = hosts
            .iter()
            .map(|(_, hash)| account_proof(plugin, Some(hash), &all[..=read]))
            .collect();
        assert_eq!(proofs, from_scratch, "after read {read}");
    }
    // 22 checks for the host that holds none, 4 for the one that holds v3; rebuilding
    // the proofs from scratch after each read checked every earlier candidate again.
    assert_eq!(checks, all.len() + 4);
    assert_eq!(
        proofs[1],
        AccountProof::Holds {
            label: "v3".to_owned(),
            pending: false
        }
    );
    assert_eq!(proofs[0], AccountProof::HoldsNone);
    // Unknown (a hash no check here reads) stays Unknown, as from scratch.
    let unknown = extend_proof(&AccountProof::Unknown, plugin, Some(b"x"), &all[..1]);
    assert_eq!(unknown, AccountProof::Unknown);
}
