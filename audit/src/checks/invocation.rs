//! Whether Secrets Manager can invoke a secret's rotation function for that secret.
//!
//! [`super::secret_rotation_function::invoke_policy_allows_secrets_manager`] judges who else may
//! invoke the function (a safety claim). Whether *this* secret's rotation can start
//! is another question, which the differential test (`cargo xtask fuzz audit`)
//! showed the audit answering wrongly: a statement that lets Secrets Manager invoke
//! the function only for another secret (`aws:SourceArn`) is safe, yet Lambda
//! refuses this secret's invocation and RotateSecret fails. So the function's
//! resource policy is evaluated as Lambda evaluates Secrets Manager's request: the
//! action `lambda:InvokeFunction` on the function's ARN (the unqualified ARN the
//! secret names), with the request's source keys `aws:SourceAccount` (the secret's
//! account) and `aws:SourceArn` (the secret's ARN). Secrets Manager user guide,
//! "Permissions for rotation" and "The confused deputy problem": Secrets Manager
//! supplies both keys when it invokes a rotation function.
//!
//! A function that Lambda throttles entirely (reserved concurrency 0) runs no
//! rotation either (Lambda developer guide, "Configuring reserved concurrency for
//! a function").

use serde_json::{Value, json};

use super::policy_document::principals_of;
use crate::iam_eval::{Decision, NamedPolicy, Request, evaluate};

const SECRETS_MANAGER: &str = "Service:secretsmanager.amazonaws.com";

/// What the function's resource policy says about this secret's invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Allowed,
    /// Lambda refuses it; the text says why, naming the statement where one decides.
    Refused(String),
    /// A condition the audit cannot evaluate decides it.
    NotProven(String),
}

/// Evaluates the request Secrets Manager makes to invoke `function_arn` for
/// `secret_arn` of `account` against the function's resource policy `document`.
/// Only the statements naming Secrets Manager's service principal speak to it.
pub fn secrets_manager_may_invoke(
    document: &str,
    function_arn: &str,
    account: &str,
    secret_arn: &str,
) -> Invocation {
    let parsed: Value = match serde_json::from_str(document) {
        Ok(parsed) => parsed,
        Err(e) => return Invocation::NotProven(format!("its resource policy is not JSON ({e})")),
    };
    let statements: Vec<Value> = match &parsed["Statement"] {
        Value::Array(items) => items.clone(),
        item @ Value::Object(_) => vec![item.clone()],
        _ => Vec::new(),
    };
    let for_secrets_manager: Vec<Value> = statements
        .into_iter()
        .filter(|s| s.get("NotPrincipal").is_none())
        .filter(|s| {
            principals_of(&s["Principal"])
                .iter()
                .any(|p| p == SECRETS_MANAGER || p == "*")
        })
        .collect();
    let filtered = json!({"Statement": for_secrets_manager}).to_string();
    let policy = NamedPolicy {
        name: "its resource policy",
        document: &filtered,
    };
    let request = Request::new("lambda:InvokeFunction", function_arn)
        .with("aws:SourceAccount", account)
        .with("aws:SourceArn", secret_arn);
    match evaluate(&[policy], &request) {
        Ok(Decision::Allowed { .. }) => Invocation::Allowed,
        Ok(Decision::ExplicitDeny { by }) => Invocation::Refused(format!(
            "{by} denies secretsmanager.amazonaws.com invoking it for secret {secret_arn}"
        )),
        Ok(Decision::ImplicitDeny | Decision::OutsideBoundary { .. }) => {
            Invocation::Refused(format!(
                "no statement of its resource policy lets secretsmanager.amazonaws.com invoke it for secret {secret_arn} (aws:SourceArn and aws:SourceAccount must admit this secret and account), so Lambda refuses the rotation's invocation"
            ))
        }
        Ok(Decision::MayDeny { by, condition } | Decision::NotProven { by, condition }) => {
            Invocation::NotProven(format!(
                "whether {by} lets Secrets Manager invoke it for secret {secret_arn} depends on {condition}, which the audit cannot evaluate"
            ))
        }
        Err(why) => Invocation::NotProven(why),
    }
}

/// The fault of a reserved concurrency that throttles every invocation.
pub fn throttled(reserved_concurrency: Option<i32>) -> Option<String> {
    (reserved_concurrency == Some(0)).then(|| {
        "its reserved concurrency is 0, so Lambda throttles every invocation and Secrets Manager cannot run the rotation (remove it: aws lambda delete-function-concurrency)".to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "123456789012";
    const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:rotator";
    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf";
    const OTHER: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf";

    fn allow(condition: &Value) -> Value {
        json!({"Sid": "sm", "Effect": "Allow", "Principal": {"Service": "secretsmanager.amazonaws.com"},
               "Action": "lambda:InvokeFunction", "Resource": FUNCTION, "Condition": condition})
    }

    #[test]
    fn secrets_managers_request_for_this_secret_is_evaluated_with_its_source() {
        let deny_this = json!({"Sid": "no", "Effect": "Deny", "Principal": {"Service": "secretsmanager.amazonaws.com"},
                               "Action": "lambda:*", "Resource": "*", "Condition": {"ArnEquals": {"aws:SourceArn": SECRET}}});
        let other_principal = json!({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                                     "Action": "lambda:InvokeFunction", "Resource": FUNCTION});
        let cases: Vec<(&str, Vec<Value>, Result<(), &str>)> = vec![
            (
                "deploy's statement: the account",
                vec![allow(
                    &json!({"StringEquals": {"AWS:SourceAccount": ACCOUNT}}),
                )],
                Ok(()),
            ),
            (
                "this secret's ARN",
                vec![allow(&json!({"ArnLike": {"AWS:SourceArn": SECRET}}))],
                Ok(()),
            ),
            (
                "a pattern covering it",
                vec![allow(
                    &json!({"ArnLike": {"AWS:SourceArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-*"}}),
                )],
                Ok(()),
            ),
            (
                "both keys",
                vec![allow(
                    &json!({"StringEquals": {"AWS:SourceAccount": ACCOUNT}, "ArnLike": {"AWS:SourceArn": SECRET}}),
                )],
                Ok(()),
            ),
            (
                "another secret only",
                vec![allow(&json!({"ArnLike": {"AWS:SourceArn": OTHER}}))],
                Err("refused"),
            ),
            (
                "another account only",
                vec![allow(
                    &json!({"StringEquals": {"AWS:SourceAccount": "999999999999"}}),
                )],
                Err("refused"),
            ),
            (
                "another function",
                vec![
                    json!({"Effect": "Allow", "Principal": {"Service": "secretsmanager.amazonaws.com"}, "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:other"}),
                ],
                Err("refused"),
            ),
            (
                "another principal only",
                vec![other_principal],
                Err("refused"),
            ),
            (
                "a Deny of this secret wins",
                vec![
                    allow(&json!({"StringEquals": {"AWS:SourceAccount": ACCOUNT}})),
                    deny_this,
                ],
                Err("denies"),
            ),
            (
                "an unknown key",
                vec![allow(
                    &json!({"StringEquals": {"aws:SourceOrgID": "o-abc"}}),
                )],
                Err("cannot evaluate"),
            ),
        ];
        for (name, statements, expected) in cases {
            let document = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
            let got = secrets_manager_may_invoke(&document, FUNCTION, ACCOUNT, SECRET);
            match (expected, &got) {
                (Ok(()), Invocation::Allowed) => {}
                (Err("refused"), Invocation::Refused(text)) => {
                    assert!(text.contains(SECRET), "{name}: {text}");
                }
                (Err("denies"), Invocation::Refused(text)) => {
                    assert!(text.contains("denies"), "{name}: {text}");
                }
                (Err("cannot evaluate"), Invocation::NotProven(text)) => {
                    assert!(text.contains("aws:SourceOrgID"), "{name}: {text}");
                }
                (expected, got) => panic!("{name}: expected {expected:?}, got {got:?}"),
            }
        }
        assert!(matches!(
            secrets_manager_may_invoke("not json", FUNCTION, ACCOUNT, SECRET),
            Invocation::NotProven(_)
        ));
    }

    #[test]
    fn only_a_reservation_of_zero_throttles_every_invocation() {
        for (reserved, throttles) in [
            (None, false),
            (Some(0), true),
            (Some(1), false),
            (Some(100), false),
        ] {
            assert_eq!(throttled(reserved).is_some(), throttles, "{reserved:?}");
        }
    }
}
