//! `--mutelist FILE`: accepted exceptions, each with a reason and an expiry date.
//!
//! A security team that has accepted a finding (a bastion kept open to one office
//! until a migration ends, say) must not see it as a failure every day, or the
//! real failures drown; but an exception nobody revisits is a hole. Prowler's
//! mutelist is the anchor (its users' most asked-for feature, with expiry and tag
//! matching among the requests in its issues): a muted finding keeps its status
//! and evidence, is shown as MUTED with the reason in every format, and no longer
//! decides the exit status. Here every entry must say why and until when:
//!
//! ```toml
//! [[mute]]
//! reason = "Bastion SSH from the office until the SSM migration (SEC-1234)"
//! expires = 2027-03-31             # a date; the entry mutes through that day (UTC)
//! checks = ["ec2.ssh.restricted"]  # check ids, `*` and `?` wildcards; required
//! accounts = ["123456789012"]      # optional: any account when absent
//! regions = ["eu-west-1"]          # optional: any region when absent
//! resources = ["arn:aws:ec2:*:*:security-group/sg-0abc*"]  # optional: any resource
//! tags = ["exception=SEC-1234", "env=sandbox*"]  # optional: the resource holds every one
//! resource_or_tag = true           # with resources and tags: either one suffices
//! ```
//!
//! Tags follow Prowler's mutelist ("Tags is an optional list that matches on
//! tuples of 'key=value' and are ANDed together", prowler docs/tutorials/mutelist.md):
//! every `key=value` listed must be on the resource (the key exactly, as AWS tag
//! keys are case-sensitive; the value with `*` and `?` wildcards). Prowler's users
//! asked to mute a resource *or* anything tagged as an exception in one entry;
//! `resource_or_tag = true` does that, where by default an entry with both lists
//! needs both. Tags are known for what the audit reads with its tags: the secrets
//! (every finding whose resource is a secret's ARN); a finding on another resource
//! (a security group, the VPC) matches no `tags` list, and an entry that only
//! such findings could match is reported as unused.
//!
//! An expired entry mutes nothing and is reported as expired, with the findings it
//! would have muted counted; an entry that matches no finding is reported as
//! unused, so the list shrinks as the setup is fixed. A file that does not parse,
//! an entry without a reason, a `checks` pattern that names no check, or a tag
//! without `=` is a usage error before anything is collected.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::checks::CHECKS;

use crate::finding::{Finding, Muted};
use crate::iam_eval::wildcard_matches;
use crate::inventory::Inventory;

/// One entry of the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    reason: String,
    expires: toml::value::Datetime,
    checks: Vec<String>,
    /// Absent: any. Written empty: refused (see [`validate`]).
    accounts: Option<Vec<String>>,
    regions: Option<Vec<String>>,
    resources: Option<Vec<String>>,
    /// `key=value` pairs the resource's tags must all hold.
    tags: Option<Vec<String>>,
    /// With `resources` and `tags`: either matching suffices.
    #[serde(default)]
    resource_or_tag: bool,
}

/// The tags of the resources the audit read with their tags (secrets), by ARN,
/// so mutelist entries can match findings by tag.
#[derive(Debug, Clone, Default)]
pub struct ResourceTags(std::collections::HashMap<String, BTreeMap<String, String>>);

impl ResourceTags {
    /// The tags of every secret of `inventories` (each account's, in an audit of several).
    pub fn of<'a>(inventories: impl IntoIterator<Item = &'a Inventory>) -> Self {
        let mut tags = std::collections::HashMap::new();
        for inventory in inventories {
            for region in &inventory.regions {
                for secret in region.secrets.ok().into_iter().flatten() {
                    if !secret.arn.is_empty() && !secret.tags.is_empty() {
                        tags.insert(secret.arn.clone(), secret.tags.clone());
                    }
                }
            }
        }
        Self(tags)
    }

    /// The tags of `resource`, when the audit read them.
    fn get(&self, resource: &str) -> Option<&BTreeMap<String, String>> {
        self.0.get(resource)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    mute: Vec<Entry>,
}

/// A parsed, validated mutelist.
#[derive(Debug, Clone, Default)]
pub struct Mutelist {
    entries: Vec<(Entry, Date)>,
}

/// What became of each entry in one run, for the report and standard error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryUse {
    /// 1-based position in the file.
    pub entry: usize,
    pub reason: String,
    pub expires: String,
    pub state: EntryState,
    /// Findings it muted (live), or matched (expired).
    pub matched: usize,
}

/// What became of an entry in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryState {
    /// Before its date, muting at least one finding.
    Live,
    /// Past its date: it mutes nothing.
    Expired,
    /// Before its date, muting nothing (no finding matches, or an earlier entry
    /// already mutes the ones that do).
    Unused,
}

impl EntryUse {
    /// One line for standard error, for the entries that need attention.
    pub fn warning(&self) -> Option<String> {
        let Self {
            entry,
            reason,
            expires,
            matched,
            ..
        } = self;
        match self.state {
            EntryState::Expired => Some(format!(
                "mutelist entry {entry} ({reason}) expired on {expires}: it mutes nothing ({matched} finding(s) match it); renew its date or remove it"
            )),
            EntryState::Unused => Some(format!(
                "mutelist entry {entry} ({reason}) mutes no finding (none matches, or an earlier entry mutes them): remove it if the exception is over"
            )),
            EntryState::Live => None,
        }
    }
}

impl Mutelist {
    /// Reads and validates `path` (a usage error names the file and the entry).
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            format!(
                "reading mutelist {}: {error}; check the path",
                path.display()
            )
        })?;
        Self::from_toml(&text).map_err(|error| format!("mutelist {}: {error}", path.display()))
    }

    /// Parses and validates a mutelist text.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut entries = Vec::new();
        for (index, entry) in file.mute.into_iter().enumerate() {
            let date =
                validate(&entry).map_err(|why| format!("[[mute]] entry {}: {why}", index + 1))?;
            entries.push((entry, date));
        }
        Ok(Self { entries })
    }

    /// Mutes the findings a live entry matches (the first such entry, in file
    /// order), as of `today`, and says what became of each entry.
    pub fn apply(
        &self,
        findings: &mut [Finding],
        today: Date,
        tags: &ResourceTags,
    ) -> Vec<EntryUse> {
        // Per entry: the findings it muted (live) or matched (expired).
        let mut counted = vec![0usize; self.entries.len()];
        for finding in findings.iter_mut() {
            if NEVER_MUTED.contains(&finding.check_id.as_str()) {
                continue;
            }
            for (index, (entry, expires)) in self.entries.iter().enumerate() {
                let Some(matched_by) = matches(entry, finding, tags.get(&finding.resource)) else {
                    continue;
                };
                if today > *expires {
                    counted[index] += 1;
                } else if finding.muted.is_none() {
                    counted[index] += 1;
                    finding.muted = Some(Muted {
                        reason: entry.reason.clone(),
                        expires: expires.to_string(),
                        entry: index + 1,
                        matched_by,
                    });
                }
            }
        }
        self.entries
            .iter()
            .zip(counted)
            .enumerate()
            .map(|(index, ((entry, expires), matched))| EntryUse {
                entry: index + 1,
                reason: entry.reason.clone(),
                expires: expires.to_string(),
                state: if today > *expires {
                    EntryState::Expired
                } else if matched == 0 {
                    EntryState::Unused
                } else {
                    EntryState::Live
                },
                matched,
            })
            .collect()
    }
}

/// The uses of one list applied in parts (each account of a run written as it
/// finishes) as one: counts add up, and an entry muting in any part is live.
pub fn merge_uses(total: &mut Vec<EntryUse>, part: Vec<EntryUse>) {
    if total.is_empty() {
        *total = part;
        return;
    }
    for (sum, more) in total.iter_mut().zip(part) {
        sum.matched += more.matched;
        if sum.state == EntryState::Unused && more.state == EntryState::Live {
            sum.state = EntryState::Live;
        }
    }
}

/// The findings that say an account or a region could not be audited
/// ([`crate::account_result::ACCOUNT_REACHABLE`], [`crate::checks::region::REGION_COLLECTED`]): never muted.
const NEVER_MUTED: &[&str] = &["account.reachable", "region.collected"];

/// Whether `pattern` can name a check id a finding carries: a check's own id, or
/// one of the per-service ids the endpoint checks give their findings
/// (`vpc.endpoint.rds`, `vpc.endpoint-policy.secretsmanager`).
fn names_a_check(pattern: &str) -> bool {
    const PER_SERVICE: [&str; 2] = [
        crate::checks::vpc_endpoint::DEFINITION.id,
        crate::checks::vpc_endpoint_policy::DEFINITION.id,
    ];
    let service_id = |id: &str| {
        pattern
            .strip_prefix(id)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|service| {
                !service.is_empty()
                    && service
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-.*?".contains(c))
            })
    };
    CHECKS
        .iter()
        .any(|c| wildcard_matches(pattern, c.id, false))
        || PER_SERVICE.iter().any(|id| {
            service_id(id) || wildcard_matches(pattern, &format!("{id}.secretsmanager"), false)
        })
}

/// The entry's expiry as a date, or what is wrong with it.
fn validate(entry: &Entry) -> Result<Date, String> {
    if entry.reason.trim().is_empty() {
        return Err(
            "`reason` is empty; say why the exception is accepted (a ticket, an owner)".to_owned(),
        );
    }
    let expires = match (entry.expires.date, entry.expires.time) {
        (Some(date), None) => Date::from_calendar_date(
            i32::from(date.year),
            time::Month::try_from(date.month).map_err(|e| e.to_string())?,
            date.day,
        )
        .map_err(|e| format!("`expires` {}: {e}", entry.expires))?,
        _ => {
            return Err(format!(
                "`expires` = {} is not a date; write one as 2027-03-31 (no quotes, no time)",
                entry.expires
            ));
        }
    };
    if entry.checks.is_empty() {
        return Err("`checks` is empty; name the check ids it mutes (`*` mutes every check, but must be written)".to_owned());
    }
    for pattern in &entry.checks {
        if !names_a_check(pattern) {
            return Err(format!(
                "`checks` pattern {pattern:?} names no check; the checks are: {} (the endpoint checks per service, as vpc.endpoint.rds)",
                CHECKS.iter().map(|c| c.id).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    for (name, list) in [
        ("accounts", &entry.accounts),
        ("regions", &entry.regions),
        ("resources", &entry.resources),
        ("tags", &entry.tags),
    ] {
        if list.as_ref().is_some_and(Vec::is_empty) {
            return Err(format!(
                "`{name}` is written empty; leave it out to mean any, or name at least one"
            ));
        }
    }
    for account in entry.accounts.iter().flatten() {
        if !account
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '?')
        {
            return Err(format!(
                "`accounts` value {account:?} is not a 12-digit account id (wildcards `*` and `?` allowed)"
            ));
        }
    }
    for tag in entry.tags.iter().flatten() {
        if tag.split_once('=').is_none_or(|(key, _)| key.is_empty()) {
            return Err(format!(
                "`tags` value {tag:?} is not key=value; write the tag as Key=Value (the value may use `*` and `?`)"
            ));
        }
    }
    if entry.resource_or_tag && (entry.resources.is_none() || entry.tags.is_none()) {
        return Err(
            "`resource_or_tag` needs both `resources` and `tags`; add the missing list or remove it"
                .to_owned(),
        );
    }
    Ok(expires)
}

/// The resource's tags that satisfy every `key=value` of `patterns` (keys
/// exactly, values with wildcards), as `key=value` with the resource's values;
/// `None` when one is missing, or the audit did not read the resource's tags.
fn tags_match(patterns: &[String], tags: Option<&BTreeMap<String, String>>) -> Option<String> {
    let tags = tags?;
    patterns
        .iter()
        .map(|pattern| {
            let (key, value) = pattern.split_once('=')?;
            let actual = tags.get(key)?;
            wildcard_matches(value, actual, false).then(|| format!("{key}={actual}"))
        })
        .collect::<Option<Vec<_>>>()
        .map(|pairs| pairs.join(", "))
}

/// How `entry` matched `finding`, when its patterns all match (an absent list
/// matches all; with `resource_or_tag`, its resources or its tags): `tag k=v`
/// when the resource's own tags decided it, else the narrowest list that did
/// (`resource`, `account`, `region`, `check`). A tag is set by whoever may tag
/// the resource in the audited account, so the reports say when one muted.
fn matches(
    entry: &Entry,
    finding: &Finding,
    tags: Option<&BTreeMap<String, String>>,
) -> Option<String> {
    let any = |patterns: Option<&Vec<String>>, value: Option<&str>| match patterns {
        None => true,
        Some(patterns) => {
            value.is_some_and(|value| patterns.iter().any(|p| wildcard_matches(p, value, false)))
        }
    };
    if !(any(Some(&entry.checks), Some(&finding.check_id))
        && any(entry.accounts.as_ref(), finding.account_id.as_deref())
        && any(entry.regions.as_ref(), Some(&finding.region)))
    {
        return None;
    }
    let resource = entry
        .resources
        .as_ref()
        .map(|_| any(entry.resources.as_ref(), Some(&finding.resource)));
    let tagged = entry
        .tags
        .as_ref()
        .map(|patterns| tags_match(patterns, tags));
    let by_tag = |pairs: &str| format!("tag {pairs}");
    match (resource, tagged) {
        // Both lists are given (`validate`): either one, the resource first.
        (Some(true), _) if entry.resource_or_tag => Some("resource".to_owned()),
        (Some(false), Some(Some(pairs))) if entry.resource_or_tag => Some(by_tag(&pairs)),
        (Some(true), Some(Some(pairs))) => Some(format!("resource and {}", by_tag(&pairs))),
        (None, Some(Some(pairs))) => Some(by_tag(&pairs)),
        (Some(true), None) => Some("resource".to_owned()),
        (None, None) => Some(
            if entry.accounts.is_some() {
                "account"
            } else if entry.regions.is_some() {
                "region"
            } else {
                "check"
            }
            .to_owned(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Severity, Status};

    fn date(year: i32, month: u8, day: u8) -> Date {
        Date::from_calendar_date(year, time::Month::try_from(month).expect("month"), day)
            .expect("date")
    }

    fn finding(check: &str, account: &str, region: &str, resource: &str) -> Finding {
        Finding {
            check_id: check.to_owned(),
            title: String::new(),
            status: Status::Fail,
            severity: Severity::High,
            region: region.to_owned(),
            resource: resource.to_owned(),
            resource_type: String::new(),
            message: String::new(),
            remediation: String::new(),
            compliance: Vec::new(),
            references: Vec::new(),
            account_id: Some(account.to_owned()),
            setup: None,
            muted: None,
        }
    }

    const LIST: &str = r#"
[[mute]]
reason = "office SSH until the migration"
expires = 2027-03-31
checks = ["ec2.ssh.*"]
accounts = ["111111111111"]
resources = ["sg-0abc*"]

[[mute]]
reason = "old exception"
expires = 2026-01-31
checks = ["secret.rotation.schedule"]

[[mute]]
reason = "nothing matches this"
expires = 2027-01-01
checks = ["vpc.dns"]
regions = ["ap-south-2"]
"#;

    #[test]
    fn live_entries_mute_expired_ones_do_not_and_unused_ones_are_said() {
        let list = Mutelist::from_toml(LIST).expect("valid");
        let mut findings = vec![
            finding(
                "ec2.ssh.restricted",
                "111111111111",
                "eu-west-1",
                "sg-0abc123",
            ),
            finding(
                "ec2.ssh.restricted",
                "222222222222",
                "eu-west-1",
                "sg-0abc123",
            ),
            finding("ec2.ssh.restricted", "111111111111", "eu-west-1", "sg-0def"),
            finding(
                "secret.rotation.schedule",
                "111111111111",
                "eu-west-1",
                "arn:s",
            ),
        ];
        let uses = list.apply(&mut findings, date(2026, 12, 6), &ResourceTags::default());
        let muted: Vec<bool> = findings.iter().map(|f| f.muted.is_some()).collect();
        assert_eq!(
            muted,
            [true, false, false, false],
            "only the first matches every pattern"
        );
        assert_eq!(
            findings[0].muted,
            Some(Muted {
                reason: "office SSH until the migration".to_owned(),
                expires: "2027-03-31".to_owned(),
                entry: 1,
                matched_by: "resource".to_owned(),
            })
        );
        let states: Vec<(EntryState, usize)> = uses.iter().map(|u| (u.state, u.matched)).collect();
        assert_eq!(
            states,
            [
                (EntryState::Live, 1),
                (EntryState::Expired, 1),
                (EntryState::Unused, 0)
            ]
        );
        assert!(uses[0].warning().is_none());
        let said = |i: usize| uses[i].warning().expect("said");
        assert!(said(1).contains("expired on 2026-01-31"), "{}", said(1));
        assert!(said(2).contains("mutes no finding"), "{}", said(2));
        // The entry mutes through its last day, and not the day after.
        let ssh = || {
            vec![finding(
                "ec2.ssh.restricted",
                "111111111111",
                "r",
                "sg-0abc",
            )]
        };
        let mut last_day = ssh();
        list.apply(&mut last_day, date(2027, 3, 31), &ResourceTags::default());
        assert!(last_day[0].muted.is_some());
        let mut after = ssh();
        let uses = list.apply(&mut after, date(2027, 4, 1), &ResourceTags::default());
        assert!(after[0].muted.is_none());
        assert_eq!(uses[0].state, EntryState::Expired);
    }

    #[test]
    fn coverage_gaps_and_findings_outside_the_lists_are_never_muted() {
        let list = Mutelist::from_toml(
            "[[mute]]\nreason = \"sandbox\"\nexpires = 2099-01-01\nchecks = [\"*\"]\naccounts = [\"111111111111\"]\n\n[[mute]]\nreason = \"shadowed\"\nexpires = 2099-01-01\nchecks = [\"vpc.*\"]\n",
        )
        .expect("valid");
        let mut findings = vec![
            finding("account.reachable", "111111111111", "us-east-1", "role"),
            finding("vpc.dns", "111111111111", "us-east-1", "vpc"),
            finding("vpc.dns", "", "us-east-1", "vpc"),
        ];
        findings[2].account_id = None;
        let uses = list.apply(&mut findings, date(2026, 12, 6), &ResourceTags::default());
        assert!(
            findings[0].muted.is_none(),
            "an account not audited stays visible"
        );
        assert_eq!(findings[1].muted.as_ref().map(|m| m.entry), Some(1));
        assert_eq!(
            findings[2].muted.as_ref().map(|m| m.entry),
            Some(2),
            "no account: only an entry without an accounts list"
        );
        assert_eq!(uses[1].state, EntryState::Live);
        // An entry whose findings an earlier one already mutes mutes nothing.
        let mut only_first = vec![finding("vpc.dns", "111111111111", "us-east-1", "vpc")];
        let uses = list.apply(&mut only_first, date(2026, 12, 6), &ResourceTags::default());
        assert_eq!(uses[1].state, EntryState::Unused);
    }

    #[test]
    fn tag_entries_need_every_tag_and_resource_or_tag_takes_either() {
        let list = Mutelist::from_toml(
            r#"
[[mute]]
reason = "sandbox secrets"
expires = 2099-01-01
checks = ["secret.*"]
tags = ["env=sandbox*", "owner=team-a"]

[[mute]]
reason = "this secret, or anything tagged as an exception"
expires = 2099-01-01
checks = ["secret.rotation.schedule"]
resources = ["arn:s:listed"]
tags = ["exception=SEC-1"]
resource_or_tag = true

[[mute]]
reason = "both needed"
expires = 2099-01-01
checks = ["secret.unused"]
resources = ["arn:s:listed*"]
tags = ["exception=SEC-1"]
"#,
        )
        .expect("valid");
        let tagged = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let tags = ResourceTags(
            [
                (
                    "arn:s:sandbox",
                    tagged(&[("env", "sandbox-1"), ("owner", "team-a")]),
                ),
                ("arn:s:partial", tagged(&[("env", "sandbox")])),
                (
                    "arn:s:case",
                    tagged(&[("Env", "sandbox"), ("owner", "team-a")]),
                ),
                ("arn:s:tagged", tagged(&[("exception", "SEC-1")])),
                ("arn:s:listed-tagged", tagged(&[("exception", "SEC-1")])),
            ]
            .into_iter()
            .map(|(arn, tags)| (arn.to_owned(), tags))
            .collect(),
        );
        let account = "111111111111";
        let mut findings = vec![
            finding("secret.rotation.healthy", account, "r", "arn:s:sandbox"),
            finding("secret.rotation.healthy", account, "r", "arn:s:partial"),
            finding("secret.rotation.healthy", account, "r", "arn:s:case"),
            finding("secret.rotation.schedule", account, "r", "arn:s:listed"),
            finding("secret.rotation.schedule", account, "r", "arn:s:tagged"),
            finding("secret.rotation.schedule", account, "r", "arn:s:other"),
            finding("secret.unused", account, "r", "arn:s:listed"),
            finding("secret.unused", account, "r", "arn:s:listed-tagged"),
        ];
        let uses = list.apply(&mut findings, date(2026, 12, 6), &tags);
        let by: Vec<Option<usize>> = findings
            .iter()
            .map(|f| f.muted.as_ref().map(|m| m.entry))
            .collect();
        assert_eq!(
            by,
            [
                Some(1), // every tag, the value by its wildcard
                None,    // one tag of two
                None,    // `Env` is not `env`: tag keys are case-sensitive
                Some(2), // the listed resource, untagged
                Some(2), // another resource, tagged
                None,    // neither
                None,    // the resource without the tag
                Some(3), // both
            ]
        );
        assert!(uses.iter().all(|u| u.state == EntryState::Live), "{uses:?}");
        // Each muted finding says how it matched: a tag the audited account set is named.
        let how: Vec<&str> = findings
            .iter()
            .filter_map(|f| f.muted.as_ref().map(|m| m.matched_by.as_str()))
            .collect();
        assert_eq!(
            how,
            [
                "tag env=sandbox-1, owner=team-a",
                "resource",
                "tag exception=SEC-1",
                "resource and tag exception=SEC-1",
            ]
        );
        assert!(
            findings[4]
                .muted_note()
                .expect("muted")
                .contains("by mutelist entry 2 (matched by tag exception=SEC-1): "),
            "{:?}",
            findings[4].muted_note()
        );
        // A resource whose tags the audit did not read matches no tag list.
        let mut group = vec![finding("secret.rotation.schedule", account, "r", "sg-1")];
        list.apply(&mut group, date(2026, 12, 6), &ResourceTags::default());
        assert!(group[0].muted.is_none());
    }

    #[test]
    fn per_service_endpoint_ids_can_be_named() {
        for pattern in [
            "vpc.endpoint.rds",
            "vpc.endpoint.*",
            "vpc.endpoint-policy.secretsmanager",
            "vpc.endpoint",
            "*",
        ] {
            assert!(names_a_check(pattern), "{pattern}");
        }
        for pattern in [
            "vpc.endpoint.",
            "vpc.endpointx",
            "ssh",
            "vpc.endpoint.rds/../x",
        ] {
            assert!(!names_a_check(pattern), "{pattern}");
        }
    }

    #[test]
    fn bad_entries_are_refused_naming_the_entry_and_the_fix() {
        let cases = [
            (
                "reason = \"\"\nexpires = 2027-01-01\nchecks = [\"vpc.dns\"]",
                "`reason` is empty",
            ),
            (
                "reason = \"r\"\nexpires = \"2027-01-01\"\nchecks = [\"vpc.dns\"]",
                "invalid type",
            ),
            (
                "reason = \"r\"\nexpires = 2027-01-01T10:00:00Z\nchecks = [\"vpc.dns\"]",
                "is not a date",
            ),
            (
                "reason = \"r\"\nexpires = 2027-01-01\nchecks = []",
                "`checks` is empty",
            ),
            (
                "reason = \"r\"\nexpires = 2027-01-01",
                "missing field `checks`",
            ),
            (
                "reason = \"r\"\nexpires = 2027-01-01\nchecks = [\"ssh\"]",
                "names no check; the checks are: ",
            ),
            (
                "reason = \"r\"\nexpires = 2027-01-01\nchecks = [\"vpc.dns\"]\naccounts = [\"prod\"]",
                "not a 12-digit account id",
            ),
            (
                "reason = \"r\"\nexpires = 2027-01-01\nchecks = [\"vpc.dns\"]\nresources = []",
                "`resources` is written empty",
            ),
            (
                "reason = \"r\"\nexpires = 2027-01-01\nchecks = [\"vpc.dns\"]\nresource = [\"x\"]",
                "unknown field `resource`",
            ),
            (
                "reason = \"r\"\nexpires = 2027-01-01\nchecks = [\"vpc.dns\"]\ntags = [\"exception\"]",
                "`tags` value \"exception\" is not key=value",
            ),
            (
                "reason = \"r\"\nexpires = 2027-01-01\nchecks = [\"vpc.dns\"]\ntags = [\"=x\"]",
                "is not key=value",
            ),
            (
                "reason = \"r\"\nexpires = 2027-01-01\nchecks = [\"vpc.dns\"]\ntags = []",
                "`tags` is written empty",
            ),
            (
                "reason = \"r\"\nexpires = 2027-01-01\nchecks = [\"vpc.dns\"]\ntags = [\"a=b\"]\nresource_or_tag = true",
                "`resource_or_tag` needs both `resources` and `tags`",
            ),
        ];
        for (body, expected) in cases {
            let error = Mutelist::from_toml(&format!("[[mute]]\n{body}\n")).expect_err(body);
            assert!(error.contains(expected), "{body}: {error}");
            if !expected.contains("field") && !expected.contains("type") {
                assert!(error.starts_with("[[mute]] entry 1: "), "{error}");
            }
        }
        assert!(
            Mutelist::from_toml("")
                .expect("an empty list")
                .entries
                .is_empty()
        );
    }
}
