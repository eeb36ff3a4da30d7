//! The rules of the ownership proof, as pure functions: which stored versions may
//! prove the alternate user this secret's, in which order, what one account's stored
//! hash says of the candidates, and the decision over all of its accounts.

use crate::password_hash::{self, HashCheck};
use crate::secret::{DbSecret, Password};

/// How many stored passwords are tried at most (each failure is a failed login).
pub const MAX_PROOF_LOGINS: usize = 5;

/// How many stored versions are read at most while looking for passwords to try.
pub const MAX_PROOF_READS: usize = 20;

/// A version of the secret, as `ListSecretVersionIds` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    pub id: String,
    pub stages: Vec<String>,
    /// Seconds since the epoch, when known.
    pub created: Option<i64>,
}

impl StoredVersion {
    pub(super) fn has(&self, stage: &str) -> bool {
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
    permissions::same_host(&candidate.host, &current.host)
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
    account_proof_with(plugin, hash, candidates, &mut password_hash::check)
}

/// One account's proof extended with candidates read after those it was made from:
/// the same as [`account_proof`] over all of them (the first match is kept), checking
/// only `more`, and nothing once the account holds one. `setSecret` reads up to
/// [`MAX_PROOF_READS`] versions one at a time and judges after each; checking every
/// earlier candidate again each time made the refusal path (an account not ours, that
/// no read settles) quadratic in sha256-crypt checks, each of
/// `caching_sha2_password_digest_rounds` rounds (5000 to 4095000: MySQL manual,
/// "Caching SHA-2 Pluggable Authentication"), enough to pass the function's timeout.
pub fn extend_proof(
    proof: &AccountProof,
    plugin: &str,
    hash: Option<&[u8]>,
    more: &[Candidate],
) -> AccountProof {
    extend_proof_with(proof, plugin, hash, more, &mut password_hash::check)
}

fn extend_proof_with(
    proof: &AccountProof,
    plugin: &str,
    hash: Option<&[u8]>,
    more: &[Candidate],
    check: &mut impl FnMut(&str, &[u8], &str) -> HashCheck,
) -> AccountProof {
    if let AccountProof::Holds { .. } = proof {
        return proof.clone();
    }
    match (proof, account_proof_with(plugin, hash, more, check)) {
        (_, holds @ AccountProof::Holds { .. }) => holds,
        (AccountProof::Unknown, _) | (_, AccountProof::Unknown) => AccountProof::Unknown,
        _ => AccountProof::HoldsNone,
    }
}

fn account_proof_with(
    plugin: &str,
    hash: Option<&[u8]>,
    candidates: &[Candidate],
    check: &mut impl FnMut(&str, &[u8], &str) -> HashCheck,
) -> AccountProof {
    let Some(hash) = hash else {
        return AccountProof::Unknown;
    };
    let mut unknown = false;
    for candidate in candidates {
        match check(plugin, hash, candidate.password.expose()) {
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
pub(super) fn same_hosts(a: &[String], b: &[String]) -> bool {
    let set = |hosts: &[String]| {
        hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect::<std::collections::BTreeSet<_>>()
    };
    set(a) == set(b)
}

/// The hosts whose stored hash holds this rotation's pending password.
pub fn hosts_holding_pending(accounts: &[(String, AccountProof)]) -> Vec<String> {
    accounts
        .iter()
        .filter(|(_, proof)| matches!(proof, AccountProof::Holds { pending: true, .. }))
        .map(|(host, _)| host.clone())
        .collect()
}

#[cfg(test)]
mod tests;
