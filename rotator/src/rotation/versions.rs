//! Where the rotation stands: the token's stages and the values of its versions.
//!
//! Every step first checks, with `DescribeSecret`, that the token is a version of
//! the secret and still `AWSPENDING` (or already `AWSCURRENT`, when there is nothing
//! to do), as AWS's reference function does; then it reads the `AWSCURRENT` and
//! `AWSPENDING` values it needs. Both are here because every step needs them.

use super::aws_errors::value_missing;
use super::event::Context;
use super::rotator::Rotator;
use crate::error::{Problem, RotationError};
use crate::secret::DbSecret;

impl Rotator {
    /// `DescribeSecret` of the rotated secret: its rotation state and labelled versions.
    pub(super) async fn describe(
        &self,
        cx: &Context<'_>,
    ) -> Result<
        aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput,
        RotationError,
    > {
        self.secrets
            .describe_secret()
            .secret_id(&cx.event.secret_id)
            .send()
            .await
            .map_err(|e| cx.aws(permissions::DESCRIBE_SECRET, &e))
    }

    /// The reference's checks; `Ok(None)` when the token is already `AWSCURRENT`, else
    /// the description they read, which finishSecret uses instead of describing the
    /// secret a second time within the same invocation.
    pub(super) async fn validate(
        &self,
        cx: &Context<'_>,
    ) -> Result<
        Option<aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput>,
        RotationError,
    > {
        let described = self.describe(cx).await?;
        if described.rotation_enabled() == Some(false) {
            return Err(cx.fail(Problem::Protocol(
                "rotation is not enabled for this secret; enable it with RotateSecret".to_owned(),
            )));
        }
        let stages = described
            .version_ids_to_stages()
            .and_then(|map| map.get(&cx.event.token));
        let Some(stages) = stages else {
            return Err(cx.fail(Problem::Protocol(format!("version {} is not a version of this secret; only Secrets Manager should invoke this step", cx.event.token))));
        };
        if stages.iter().any(|s| s == "AWSCURRENT") {
            return Ok(None);
        }
        if !stages.iter().any(|s| s == "AWSPENDING") {
            return Err(cx.fail(Problem::Protocol(format!(
                "version {} is not AWSPENDING; a rotation for it is not in progress",
                cx.event.token
            ))));
        }
        Ok(Some(described))
    }

    pub(super) async fn current(&self, cx: &Context<'_>) -> Result<DbSecret, RotationError> {
        let value = self
            .secrets
            .get_secret_value()
            .secret_id(&cx.event.secret_id)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .map_err(|e| cx.aws("secretsmanager:GetSecretValue (AWSCURRENT)", &e))?;
        let text = value.secret_string().ok_or_else(|| {
            cx.fail(Problem::Secret {
                which: "current",
                source: crate::secret::SecretError::NoString,
            })
        })?;
        DbSecret::parse(text).map_err(|source| {
            cx.fail(Problem::Secret {
                which: "current",
                source,
            })
        })
    }

    /// The pending version's value, `None` while it has none (before `createSecret`).
    pub(super) async fn pending(
        &self,
        cx: &Context<'_>,
    ) -> Result<Option<DbSecret>, RotationError> {
        let result = self
            .secrets
            .get_secret_value()
            .secret_id(&cx.event.secret_id)
            .version_id(&cx.event.token)
            .version_stage("AWSPENDING")
            .send()
            .await;
        match result {
            Ok(value) => {
                let text = value.secret_string().ok_or_else(|| {
                    cx.fail(Problem::Secret {
                        which: "pending",
                        source: crate::secret::SecretError::NoString,
                    })
                })?;
                DbSecret::parse(text).map(Some).map_err(|source| {
                    cx.fail(Problem::Secret {
                        which: "pending",
                        source,
                    })
                })
            }
            Err(error) if value_missing(&error) => Ok(None),
            Err(error) => Err(cx.aws("secretsmanager:GetSecretValue (AWSPENDING)", &error)),
        }
    }

    pub(super) async fn require_pending(
        &self,
        cx: &Context<'_>,
    ) -> Result<DbSecret, RotationError> {
        self.pending(cx).await?.ok_or_else(|| {
            cx.fail(Problem::Protocol(
                "the pending version has no value; createSecret has not run for this token"
                    .to_owned(),
            ))
        })
    }
}
