//! The error of a rotation step: which secret, which step, what went wrong, and the fix.
//!
//! Secrets Manager shows the function's error to whoever looks at a failed rotation,
//! so the message is written for them: it starts with the secret and the step, and
//! its parts come from types that cannot print a secret value.

use std::fmt;

use crate::db::DbError;
use crate::grants::GrantError;
use crate::secret::SecretError;
use crate::settings::SettingError;
use crate::sql::QuoteError;

/// What went wrong, by kind (the kind becomes the Lambda `errorType`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Problem {
    #[error("the event is invalid: {0}")]
    Event(String),
    #[error("{0}")]
    Setting(#[from] SettingError),
    #[error("the {which} version of the secret is unusable: {source}")]
    Secret {
        which: &'static str,
        source: SecretError,
    },
    #[error("the admin secret {arn} is unusable: {source}")]
    AdminSecret { arn: String, source: SecretError },
    #[error("{0}")]
    Protocol(String),
    #[error("{action} failed: {message}")]
    Aws {
        action: &'static str,
        message: String,
    },
    #[error("{0}")]
    Database(#[from] DbError),
    /// The admin's login failed: the message names the admin secret beside the host.
    #[error("the admin login with the secret {arn} failed: {source}")]
    AdminLogin { arn: String, source: DbError },
    #[error("{0}; nothing was changed")]
    Refused(String),
    #[error("{0}")]
    Quote(#[from] QuoteError),
    #[error("{0}")]
    Grants(#[from] GrantError),
}

impl Problem {
    /// A short type name for Lambda's `errorType`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Event(_) => "InvalidEvent",
            Self::Setting(_) => "InvalidSetting",
            Self::Secret { .. } | Self::AdminSecret { .. } => "InvalidSecret",
            Self::Protocol(_) => "RotationStateError",
            Self::Aws { .. } => "AwsError",
            Self::Database(_) | Self::AdminLogin { .. } => "DatabaseError",
            Self::Refused(_) | Self::Quote(_) => "RefusedInput",
            Self::Grants(_) => "GrantError",
        }
    }
}

/// A failed step, with the secret, step and version it happened in. The version
/// (the event's token) tells one rotation's errors from a late retry of another's.
#[derive(Debug, Clone)]
pub struct RotationError {
    pub secret: String,
    pub step: String,
    /// The version being rotated, when the event named one.
    pub version: Option<String>,
    pub problem: Box<Problem>,
}

impl fmt::Display for RotationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "secret {}, step {}", self.secret, self.step)?;
        if let Some(version) = &self.version {
            write!(f, ", version {version}")?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for RotationError {}

impl From<RotationError> for lambda_runtime::Diagnostic {
    fn from(error: RotationError) -> Self {
        Self {
            error_type: error.problem.kind().to_owned(),
            error_message: error.to_string(),
        }
    }
}
