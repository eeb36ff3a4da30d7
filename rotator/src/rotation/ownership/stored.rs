//! The secret's stored versions and their values, read for the ownership proof.
//!
//! Older versions hold the passwords an alternate user this rotation made may still
//! have (`AWSPREVIOUS`, or a pending version whose label was removed), so the proof
//! reads them; a role without `ListSecretVersionIds` falls back to the labelled ones.

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;

use super::proof::{Candidate, MAX_PROOF_READS, StoredVersion, can_prove, proof_order};
use crate::error::RotationError;
use crate::rotation::aws_errors::{is_access_denied, value_missing};
use crate::rotation::event::Context;
use crate::rotation::rotator::Rotator;
use crate::secret::DbSecret;

impl Rotator {
    /// The passwords of the stored versions other than the pending and current ones
    /// that may prove the alternate user, the most likely first; read one version at a
    /// time, each handed to `settled` as it is found, until `settled` says the ones
    /// found so far decide the proof.
    ///
    /// Without that stop every setSecret read up to [`MAX_PROOF_READS`] versions, one
    /// `GetSecretValue` each, although `AWSPREVIOUS`, read first, proves a clone made by
    /// the previous rotation: a secret rotated for weeks keeps that many versions, and
    /// `cargo xtask bench rotator` counted a read per earlier rotation.
    pub(super) async fn stored_candidates(
        &self,
        cx: &Context<'_>,
        current: &DbSecret,
        alternate: &str,
        mut settled: impl FnMut(&Candidate) -> bool,
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
                let candidate = Candidate {
                    label: version.label(),
                    pending: false,
                    password: value.password,
                };
                let done = settled(&candidate);
                candidates.push(candidate);
                if done {
                    break;
                }
            }
        }
        Ok(candidates)
    }

    /// The secret's versions, the deprecated ones included; without
    /// `secretsmanager:ListSecretVersionIds` (a role written before it was needed), the
    /// labelled ones from `DescribeSecret`, with a warning.
    pub(super) async fn stored_versions(
        &self,
        cx: &Context<'_>,
    ) -> Result<Vec<StoredVersion>, RotationError> {
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
    pub(super) async fn version_value(
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
}
