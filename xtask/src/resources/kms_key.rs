//! The application secret's customer managed KMS key (AWS Config
//! `secretsmanager-using-cmk`, FSBP KMS.4: its rotation on). KMS deletes a key only
//! after a waiting period of 7 to 30 days (AWS KMS developer guide, "Deleting AWS
//! KMS keys"): cleanup removes its alias, so a rerun makes a new key, and schedules
//! the deletion with the shortest period. A key already pending deletion is left as
//! it is.

use anyhow::Result;

use super::deletion::{Deletion, Outcome, gone_or};

/// The shortest waiting period KMS allows, in days.
pub(crate) const DELETION_WINDOW_DAYS: i32 = 7;

/// `kms:DeleteAlias`, then `kms:ScheduleKeyDeletion` (the key's id is the
/// resource's id, its alias its name).
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (clients, id, alias) = (d.clients, d.resource.id.as_str(), d.resource.name.as_str());
    let kms = &clients.kms;
    if !d.write(&format!(
        "kms:DeleteAlias {alias}, kms:ScheduleKeyDeletion PendingWindowInDays {DELETION_WINDOW_DAYS}"
    )) {
        return Ok(Outcome::WouldDelete);
    }
    if !alias.is_empty() {
        gone_or(
            kms.delete_alias().alias_name(alias).send().await,
            "kms:DeleteAlias",
        )?;
    }
    let outcome = gone_or(
        kms.schedule_key_deletion()
            .key_id(id)
            .pending_window_in_days(DELETION_WINDOW_DAYS)
            .send()
            .await,
        "kms:ScheduleKeyDeletion",
    )?;
    // KMS deletes it when the waiting period ends.
    Ok(match outcome {
        Outcome::Deleted => Outcome::Scheduled,
        other => other,
    })
}

/// The run's key: the one its alias names, if it carries the run's tags and is not
/// pending deletion. `Ok(None)` when there is none; an error when the alias names a
/// key of someone else (never adopted, never deleted).
pub(crate) async fn find(
    kms: &aws_sdk_kms::Client,
    names: &crate::names::Names,
) -> Result<Option<aws_sdk_kms::types::KeyMetadata>> {
    use anyhow::{anyhow, bail};

    use crate::aws;
    let alias = &names.kms_alias;
    let metadata = match kms.describe_key().key_id(alias).send().await {
        Ok(out) => out.key_metadata().cloned(),
        Err(error) if aws::is_not_found(&error) => return Ok(None),
        Err(error) => bail!("kms:DescribeKey {alias}: {}", aws::describe(&error)),
    };
    let Some(metadata) = metadata else {
        return Ok(None);
    };
    if metadata.key_state() == Some(&aws_sdk_kms::types::KeyState::PendingDeletion) {
        return Ok(None);
    }
    let tags = kms
        .list_resource_tags()
        .key_id(metadata.key_id())
        .send()
        .await
        .map_err(|e| anyhow!("kms:ListResourceTags {alias}: {}", aws::describe(&e)))?;
    if !names.owns(tags.tags().iter().map(|t| (t.tag_key(), t.tag_value()))) {
        bail!(
            "KMS alias {alias} names key {} without the run's tags; refusing to use or delete it: move the alias or choose another --name",
            metadata.key_id()
        );
    }
    Ok(Some(metadata))
}
