//! The application secret's customer managed KMS key (AWS Config
//! `secretsmanager-using-cmk`, FSBP KMS.4: its rotation on). KMS deletes a key only
//! after a waiting period of 7 to 30 days (AWS KMS developer guide, "Deleting AWS
//! KMS keys"). Cleanup deletes the key only once nothing can need it: while the
//! run's secret is only scheduled for deletion (restorable for 7 days) or its
//! deletion failed, a deleted key would leave a restored secret unreadable, so the
//! key and its alias stay; a secret of someone else's under the key also keeps it.
//! Otherwise it schedules the deletion with the shortest period first and removes
//! the alias after (so a failure leaves the alias, by which a rerun finds the key,
//! rather than an orphaned key). A key already pending deletion is left as it is.

use anyhow::{Result, anyhow, bail};

use super::context::Provisioner;
use super::deletion::{Deletion, Outcome, gone_or};
use super::kind::{Clients, Kind, Resource};
use super::spec::{Plan, Spec};
use crate::aws::{self, say};
use crate::names::Names;
use crate::state::State;
use crate::tags::kms_tags;

/// This kind's declaration: what makes it, what it depends on, how it is found,
/// created, made ready and deleted (its row of the table, `TABLE`).
pub(crate) const SPEC: Spec = Spec {
    kind: Kind::KmsKey,
    label: "KMS key",
    depends_on: &[],
    plan: Plan {
        found_by: "kms:DescribeKey by its alias alias/<name>-secret, kept only with the run's tags (kms:ListResourceTags) and not pending deletion",
        create: "kms:CreateKey (symmetric, default key policy, tagged), CreateAlias; EnableKeyRotation checked every run",
        ready: "",
        delete: "kept while the run's secret is only scheduled for deletion (or a secret not the run's uses it); else kms:ScheduleKeyDeletion after 7 days (KMS's shortest waiting period), then kms:DeleteAlias",
    },
    discover: Some(|clients, names, found| Box::pin(discover(clients, names, found))),
    delete: |d| Box::pin(delete(d)),
    provision: Some(|p| Box::pin(p.kms_key())),
    deploy: None,
};

/// The shortest waiting period KMS allows, in days.
pub(crate) const DELETION_WINDOW_DAYS: i32 = 7;

/// Why the key must stay, given what came of the run's secrets so far (cleanup
/// deletes secrets before the key): a secret scheduled for deletion, or whose
/// deletion failed (or, in a dry run without `--force-delete-secrets`, would be
/// scheduled), may still be restored and read.
pub(crate) fn kept_for_secret(outcomes: &[(Resource, Outcome)], force: bool) -> Option<String> {
    outcomes
        .iter()
        .filter(|(r, _)| r.kind == Kind::Secret)
        .find(|(_, o)| match o {
            Outcome::Scheduled | Outcome::Failed(_) | Outcome::Kept(_) => true,
            Outcome::WouldDelete => !force,
            Outcome::Deleted | Outcome::AlreadyGone => false,
        })
        .map(|(r, _)| {
            format!(
                "the secret {} can still be restored; it is encrypted under this key (rerun cleanup with --force-delete-secrets to delete both)",
                r.name
            )
        })
}

/// Whether a secret's `KmsKeyId` (as given: key id, key ARN, alias name or alias
/// ARN; Secrets Manager API reference, CreateSecret: KmsKeyId) names the key `id`
/// with alias `alias`.
fn names_key(kms_key_id: &str, id: &str, alias: &str) -> bool {
    kms_key_id == id
        || kms_key_id.ends_with(&format!(":key/{id}"))
        || (!alias.is_empty()
            && (kms_key_id == alias || kms_key_id.ends_with(&format!(":{alias}"))))
}

/// A secret that is not the run's, encrypted under the key: its name, or `None`.
/// Secrets scheduled for deletion count: they can still be restored (Secrets
/// Manager's recovery window), and would then need the key.
async fn foreign_secret(d: &Deletion<'_>) -> Result<Option<String>> {
    let (id, alias) = (d.resource.id.as_str(), d.resource.name.as_str());
    let mut token = None;
    loop {
        // Without IncludePlannedDeletion, secrets scheduled for deletion are left out.
        let page = d
            .clients
            .secrets
            .list_secrets()
            .include_planned_deletion(true)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| anyhow!("secretsmanager:ListSecrets: {}", aws::describe(&e)))?;
        for secret in page.secret_list() {
            let ours = d.names.owns(
                secret
                    .tags()
                    .iter()
                    .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
            );
            if !ours && secret.kms_key_id().is_some_and(|k| names_key(k, id, alias)) {
                return Ok(Some(secret.name().unwrap_or_default().to_owned()));
            }
        }
        token = page.next_token().map(ToOwned::to_owned);
        if token.is_none() {
            return Ok(None);
        }
    }
}

/// `kms:ScheduleKeyDeletion`, then `kms:DeleteAlias` (the key's id is the
/// resource's id, its alias its name); kept while a secret of someone else's uses it.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    if !d.write(&format!(
        "kms:ScheduleKeyDeletion PendingWindowInDays {DELETION_WINDOW_DAYS}, kms:DeleteAlias"
    )) {
        return Ok(Outcome::WouldDelete);
    }
    if let Some(secret) = foreign_secret(d).await? {
        return Ok(Outcome::Kept(format!(
            "the secret {secret}, not this run's, is encrypted under this key; move it to another key (aws secretsmanager update-secret --secret-id {secret} --kms-key-id ...) and rerun cleanup"
        )));
    }
    let (kms, id, alias) = (
        &d.clients.kms,
        d.resource.id.as_str(),
        d.resource.name.as_str(),
    );
    let outcome = gone_or(
        kms.schedule_key_deletion()
            .key_id(id)
            .pending_window_in_days(DELETION_WINDOW_DAYS)
            .send()
            .await,
        "kms:ScheduleKeyDeletion",
    )?;
    if !alias.is_empty() {
        gone_or(
            kms.delete_alias().alias_name(alias).send().await,
            "kms:DeleteAlias",
        )?;
    }
    // KMS deletes it when the waiting period ends.
    Ok(match outcome {
        Outcome::Deleted => Outcome::Scheduled,
        other => other,
    })
}

/// What the run's alias names.
pub(crate) enum Lookup {
    /// No alias.
    Missing,
    /// A key with the run's tags.
    Ours(Box<aws_sdk_kms::types::KeyMetadata>),
    /// A key without them (someone else's: never adopted, never deleted), by id.
    Foreign(String),
    /// A key pending deletion (a cleanup that scheduled it but could not delete the
    /// alias), by id, and whether it carries the run's tags.
    Pending { key_id: String, ours: bool },
}

impl Lookup {
    /// The error provision gives for a foreign key.
    pub(crate) fn foreign_error(alias: &str, key_id: &str) -> anyhow::Error {
        anyhow!(
            "KMS alias {alias} names key {key_id} without the run's tags; refusing to use it: move the alias or choose another --name"
        )
    }
}

/// The key the run's alias names, if it is not pending deletion, and whether it
/// carries the run's tags.
async fn lookup(kms: &aws_sdk_kms::Client, names: &crate::names::Names) -> Result<Lookup> {
    use anyhow::bail;

    let alias = &names.kms_alias;
    let metadata = match kms.describe_key().key_id(alias).send().await {
        Ok(out) => out.key_metadata().cloned(),
        Err(error) if aws::is_not_found(&error) => return Ok(Lookup::Missing),
        Err(error) => bail!("kms:DescribeKey {alias}: {}", aws::describe(&error)),
    };
    let Some(metadata) = metadata else {
        return Ok(Lookup::Missing);
    };
    let ours = tagged(kms, names, metadata.key_id()).await?;
    let key_id = metadata.key_id().to_owned();
    Ok(
        if metadata.key_state() == Some(&aws_sdk_kms::types::KeyState::PendingDeletion) {
            Lookup::Pending { key_id, ours }
        } else if ours {
            Lookup::Ours(Box::new(metadata))
        } else {
            Lookup::Foreign(key_id)
        },
    )
}

/// Whether key `key_id` carries the run's tags.
async fn tagged(
    kms: &aws_sdk_kms::Client,
    names: &crate::names::Names,
    key_id: &str,
) -> Result<bool> {
    let tags = kms
        .list_resource_tags()
        .key_id(key_id)
        .send()
        .await
        .map_err(|e| anyhow!("kms:ListResourceTags {key_id}: {}", aws::describe(&e)))?;
    Ok(names.owns(tags.tags().iter().map(|t| (t.tag_key(), t.tag_value()))))
}

/// The run's key `key_id` (recorded in an earlier run's state) if it still exists,
/// is not pending deletion and carries the run's tags: a run interrupted between
/// CreateKey and CreateAlias left it without its alias.
pub(crate) async fn recorded(
    kms: &aws_sdk_kms::Client,
    names: &crate::names::Names,
    key_id: &str,
) -> Result<Option<aws_sdk_kms::types::KeyMetadata>> {
    let metadata = match kms.describe_key().key_id(key_id).send().await {
        Ok(out) => out.key_metadata().cloned(),
        Err(error) if aws::is_not_found(&error) => return Ok(None),
        Err(error) => {
            return Err(anyhow!(
                "kms:DescribeKey {key_id}: {}",
                aws::describe(&error)
            ));
        }
    };
    let Some(metadata) = metadata else {
        return Ok(None);
    };
    let usable = !matches!(
        metadata.key_state(),
        Some(
            aws_sdk_kms::types::KeyState::PendingDeletion
                | aws_sdk_kms::types::KeyState::PendingReplicaDeletion
        )
    );
    Ok((usable && tagged(kms, names, key_id).await?).then_some(metadata))
}

/// `kms:CancelKeyDeletion` then `kms:EnableKey`: a key whose deletion is cancelled is
/// left disabled (AWS KMS developer guide, "Deleting AWS KMS keys": canceling key
/// deletion).
async fn revive(kms: &aws_sdk_kms::Client, key_id: &str) -> Result<()> {
    kms.cancel_key_deletion()
        .key_id(key_id)
        .send()
        .await
        .map_err(|e| anyhow!("kms:CancelKeyDeletion {key_id}: {}", aws::describe(&e)))?;
    kms.enable_key()
        .key_id(key_id)
        .send()
        .await
        .map_err(|e| anyhow!("kms:EnableKey {key_id}: {}", aws::describe(&e)))?;
    Ok(())
}

/// `kms:CreateAlias`, retried while KMS does not yet know a key just made
/// (`NotFoundException`: KMS is eventually consistent; AWS KMS developer guide,
/// "Eventual consistency"). When it still fails and `new_key`, the key is scheduled
/// for deletion so no untagged-by-alias key is left behind.
async fn create_alias(
    kms: &aws_sdk_kms::Client,
    alias: &str,
    key_id: &str,
    new_key: bool,
) -> Result<()> {
    let mut tries = 0;
    let error = loop {
        tries += 1;
        match kms
            .create_alias()
            .alias_name(alias)
            .target_key_id(key_id)
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(error) if aws::is_not_found(&error) && tries < 6 => {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            }
            Err(error) => break aws::describe(&error),
        }
    };
    if !new_key {
        return Err(anyhow!("kms:CreateAlias {alias} -> {key_id}: {error}"));
    }
    let cleanup = kms
        .schedule_key_deletion()
        .key_id(key_id)
        .pending_window_in_days(DELETION_WINDOW_DAYS)
        .send()
        .await
        .map_or_else(
            |e| format!("scheduling its deletion failed too ({}): schedule it with `aws kms schedule-key-deletion --key-id {key_id} --pending-window-in-days {DELETION_WINDOW_DAYS}`", aws::describe(&e)),
            |_| "the new key is scheduled for deletion".to_owned(),
        );
    Err(anyhow!(
        "kms:CreateAlias {alias} -> {key_id}: {error}; {cleanup}; rerun provision"
    ))
}

impl Provisioner<'_> {
    /// The application secret's customer managed key, found by its alias and tags
    /// or made, with rotation on (checked every run).
    pub(crate) async fn kms_key(&mut self) -> Result<()> {
        let alias = self.names.kms_alias.clone();
        let arn = if let Some(key) = self.existing_key().await? {
            let arn = key.arn().unwrap_or(key.key_id()).to_owned();
            self.note("KMS key", &format!("{alias} ({arn})"), false);
            arn
        } else {
            let created = self
                .kms
                .create_key()
                .description(format!(
                    "{}: encrypts the secret {}",
                    self.names.run, self.names.secret
                ))
                .set_tags(Some(kms_tags(self.names)))
                .send()
                .await
                .map_err(|e| anyhow!("kms:CreateKey: {}", aws::describe(&e)))?;
            let key = created
                .key_metadata()
                .ok_or_else(|| anyhow!("kms:CreateKey answered no key"))?;
            let arn = key.arn().unwrap_or(key.key_id()).to_owned();
            // Recorded before the alias: the state file (saved even when a step fails)
            // lets a rerun find the key if CreateAlias does not happen.
            self.state.kms_key_arn.clone_from(&arn);
            crate::resources::kms_key::create_alias(&self.kms, &alias, key.key_id(), true).await?;
            self.note("KMS key", &format!("{alias} ({arn})"), true);
            arn
        };
        let rotating = self
            .kms
            .get_key_rotation_status()
            .key_id(&arn)
            .send()
            .await
            .map_err(|e| anyhow!("kms:GetKeyRotationStatus {alias}: {}", aws::describe(&e)))?
            .key_rotation_enabled();
        if !rotating {
            self.kms
                .enable_key_rotation()
                .key_id(&arn)
                .send()
                .await
                .map_err(|e| anyhow!("kms:EnableKeyRotation {alias}: {}", aws::describe(&e)))?;
        }
        self.state.kms_key_arn = arn;
        Ok(())
    }

    /// The run's key: by its alias (a deletion a cleanup scheduled is cancelled), or
    /// by the id an interrupted earlier run recorded (its alias then made).
    async fn existing_key(&self) -> Result<Option<aws_sdk_kms::types::KeyMetadata>> {
        use crate::resources::kms_key;
        let alias = &self.names.kms_alias;
        match kms_key::lookup(&self.kms, self.names).await? {
            Lookup::Ours(key) => Ok(Some(*key)),
            Lookup::Foreign(key_id) => Err(Lookup::foreign_error(alias, &key_id)),
            Lookup::Pending { key_id, ours: true } => {
                kms_key::revive(&self.kms, &key_id).await?;
                say(&format!(
                    "KMS key {alias} ({key_id}): its deletion cancelled and the key enabled again"
                ));
                kms_key::recorded(&self.kms, self.names, &key_id).await
            }
            Lookup::Pending {
                key_id,
                ours: false,
            } => bail!(
                "KMS alias {alias} names key {key_id}, pending deletion and without the run's tags; delete the alias (`aws kms delete-alias --alias-name {alias}`) or choose another --name"
            ),
            Lookup::Missing => {
                let recorded = State::load(&self.names.state_file(&self.options.state_dir))
                    .ok()
                    .flatten()
                    .map(|s| s.kms_key_arn)
                    .filter(|k| !k.is_empty());
                let Some(recorded) = recorded else {
                    return Ok(None);
                };
                let Some(key) = kms_key::recorded(&self.kms, self.names, &recorded).await? else {
                    return Ok(None);
                };
                kms_key::create_alias(&self.kms, alias, key.key_id(), false).await?;
                say(&format!(
                    "KMS key {recorded}: an earlier run's, given its alias {alias} again"
                ));
                Ok(Some(key))
            }
        }
    }
}

/// The secret's KMS key, by its alias and tags; a key of someone else's under the
/// same alias is skipped (never deleted), as a parameter group of the same name is;
/// a key already pending deletion leaves cleanup nothing to do (discovery).
pub(crate) async fn discover(
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
    match lookup(&clients.kms, names).await? {
        Lookup::Ours(key) => {
            found.push(Resource::new(Kind::KmsKey, key.key_id(), &names.kms_alias));
        }
        Lookup::Foreign(key_id) => aws::say(&format!(
            "warning: KMS alias {} names key {key_id} without the run's tags; left alone",
            names.kms_alias
        )),
        Lookup::Missing | Lookup::Pending { .. } => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Outcome;
    use crate::resources::kind::{Kind, Resource};

    #[test]
    fn the_key_stays_while_the_runs_secret_can_be_restored() {
        let secret = |o: Outcome| vec![(Resource::new(Kind::Secret, "arn:s", "app-secret"), o)];
        let cases = [
            (secret(Outcome::Scheduled), false, true),
            (secret(Outcome::Failed("denied".into())), true, true),
            (secret(Outcome::WouldDelete), false, true),
            (secret(Outcome::WouldDelete), true, false),
            (secret(Outcome::Deleted), true, false),
            (secret(Outcome::AlreadyGone), false, false),
            (Vec::new(), false, false),
        ];
        for (outcomes, force, kept) in cases {
            let reason = super::kept_for_secret(&outcomes, force);
            assert_eq!(reason.is_some(), kept, "{outcomes:?} force={force}");
            if let Some(reason) = reason {
                assert!(reason.starts_with("the secret app-secret can still be restored"));
            }
        }
    }

    #[test]
    fn a_secret_names_the_key_by_id_arn_alias_or_alias_arn() {
        let (id, alias) = ("1234abcd-12ab", "alias/run-secret");
        let cases = [
            ("1234abcd-12ab", true),
            ("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab", true),
            ("alias/run-secret", true),
            ("arn:aws:kms:eu-west-1:111122223333:alias/run-secret", true),
            ("arn:aws:kms:eu-west-1:111122223333:key/other", false),
            ("alias/run-secret-2", false),
            ("alias/aws/secretsmanager", false),
        ];
        for (given, expected) in cases {
            assert_eq!(super::names_key(given, id, alias), expected, "{given}");
        }
    }
}
