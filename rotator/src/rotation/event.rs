//! The invocation event and the step's context.
//!
//! Secrets Manager sends `Step`, `SecretId`, `ClientRequestToken` and, on newer
//! invocations, `RotationToken`; the event is read here once, naming any missing or
//! wrong field, so the steps never look at raw JSON. The [`Context`] carries the event
//! into every step so that each error names the secret, the step and the version.

use std::time::{Duration, SystemTime};

use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use serde_json::Value;

use super::aws_errors::{is_access_denied, unreachable_hint};
use crate::error::{Problem, RotationError};

/// A rotation step, as Secrets Manager names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Create,
    Set,
    Test,
    Finish,
}

impl Step {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "createSecret" => Some(Self::Create),
            "setSecret" => Some(Self::Set),
            "testSecret" => Some(Self::Test),
            "finishSecret" => Some(Self::Finish),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "createSecret",
            Self::Set => "setSecret",
            Self::Test => "testSecret",
            Self::Finish => "finishSecret",
        }
    }
}

/// The invocation event of Secrets Manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationEvent {
    pub step: Step,
    pub secret_id: String,
    pub token: String,
    /// Passed on to `PutSecretValue` when present (cross-account / assumed-role rotation).
    pub rotation_token: Option<String>,
}

impl RotationEvent {
    /// Reads the event, naming any missing or wrong field.
    pub fn parse(value: &Value) -> Result<Self, RotationError> {
        let secret = value
            .get("SecretId")
            .and_then(Value::as_str)
            .unwrap_or("(unknown)")
            .to_owned();
        let step_name = value
            .get("Step")
            .and_then(Value::as_str)
            .unwrap_or("(unknown)")
            .to_owned();
        let fail = |message: String| RotationError {
            secret: secret.clone(),
            step: step_name.clone(),
            version: value
                .get("ClientRequestToken")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty() && t.len() <= 64)
                .map(str::to_owned),
            problem: Box::new(Problem::Event(message)),
        };
        let field = |name: &str| -> Result<String, RotationError> {
            match value.get(name) {
                Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
                Some(_) => Err(fail(format!("field `{name}` must be a non-empty string"))),
                None => Err(fail(format!(
                    "field `{name}` is missing; the function expects the event Secrets Manager sends (Step, SecretId, ClientRequestToken)"
                ))),
            }
        };
        let step_text = field("Step")?;
        let step = Step::parse(&step_text).ok_or_else(|| fail(format!("unknown step `{step_text}`; expected createSecret, setSecret, testSecret or finishSecret")))?;
        Ok(Self {
            step,
            secret_id: field("SecretId")?,
            token: field("ClientRequestToken")?,
            rotation_token: value
                .get("RotationToken")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        })
    }
}

/// A step's context: the event, for naming it in errors.
pub(super) struct Context<'a> {
    pub(super) event: &'a RotationEvent,
    /// When the invocation ends (Lambda's deadline), if known.
    pub(super) deadline: Option<SystemTime>,
}

impl Context<'_> {
    /// The invocation's time left; `None` when its deadline is unknown.
    pub(super) fn remaining(&self) -> Option<Duration> {
        self.deadline.map(|deadline| {
            deadline
                .duration_since(SystemTime::now())
                .unwrap_or_default()
        })
    }

    pub(super) fn fail(&self, problem: impl Into<Problem>) -> RotationError {
        RotationError {
            secret: self.event.secret_id.clone(),
            step: self.event.step.as_str().to_owned(),
            version: Some(self.event.token.clone()),
            problem: Box::new(problem.into()),
        }
    }

    /// A failed AWS call; a denied one names the action to allow.
    pub(super) fn aws<E: std::error::Error + ProvideErrorMetadata>(
        &self,
        action: &'static str,
        error: &E,
    ) -> RotationError {
        let message = match error.code() {
            Some(code) if is_access_denied(code) => format!(
                "access denied ({code}); allow {action} to the function's role (see the README's least-privilege policy)"
            ),
            Some(_) => DisplayErrorContext(error).to_string(),
            None => unreachable_hint(action, &DisplayErrorContext(error).to_string()),
        };
        self.fail(Problem::Aws { action, message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_parse_and_bad_ones_name_the_field() {
        let good = json!({"Step": "setSecret", "SecretId": "arn:s", "ClientRequestToken": "t", "RotationToken": "r"});
        assert_eq!(
            RotationEvent::parse(&good).unwrap(),
            RotationEvent {
                step: Step::Set,
                secret_id: "arn:s".into(),
                token: "t".into(),
                rotation_token: Some("r".into())
            }
        );
        let cases = [
            (
                json!({"SecretId": "s", "ClientRequestToken": "t"}),
                "field `Step` is missing",
            ),
            (
                json!({"Step": "rotateSecret", "SecretId": "s", "ClientRequestToken": "t"}),
                "unknown step `rotateSecret`",
            ),
            (
                json!({"Step": "createSecret", "ClientRequestToken": "t"}),
                "field `SecretId` is missing",
            ),
            (
                json!({"Step": "createSecret", "SecretId": "s"}),
                "field `ClientRequestToken` is missing",
            ),
            (
                json!({"Step": "createSecret", "SecretId": "s", "ClientRequestToken": 5}),
                "must be a non-empty string",
            ),
        ];
        for (event, expected) in cases {
            let error = RotationEvent::parse(&event).unwrap_err().to_string();
            assert!(error.contains(expected), "{event}: {error}");
        }
        let error = RotationEvent::parse(&json!({"Step": "testSecret", "SecretId": "my-secret"}))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("secret my-secret, step testSecret:"),
            "{error}"
        );
    }
}
