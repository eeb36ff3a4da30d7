//! `secret.policy.not-public`: the application secret's resource policy neither
//! makes it public nor shares it outside the account.
//!
//! Prowler's `secretsmanager_not_publicly_accessible` fails a secret whose
//! resource policy lets `*` read it; an auditor also wants to know when another
//! account may (a cross-account grant is a trust boundary crossed, whether or not
//! it is "public"). Every `Allow` statement is read: a principal of `*` passes only
//! under a condition that pins the caller to this account (`aws:PrincipalAccount`
//! or `aws:SourceAccount` with `StringEquals`, `aws:PrincipalArn`/`aws:SourceArn`
//! with `ArnEquals`/`ArnLike`, every value naming this account); an AWS principal
//! must be of this account; service principals are AWS services, not accounts.
//! A secret without a resource policy passes: only this account's identity
//! policies can grant access to it (Secrets Manager user guide, "Resource-based
//! policies").

use serde_json::Value;

use super::{CheckDefinition, Context, Finding, Severity};
use crate::inventory::Collected;

pub const SECRET_POLICY_NOT_PUBLIC: CheckDefinition = CheckDefinition {
    id: "secret.policy.not-public",
    title: "Secret's resource policy is not public and not shared outside the account",
    severity: Severity::Critical,
    resource_type: "AwsSecretsManagerSecret",
    remediation: "Remove the statements that allow Principal \"*\" or another account's principals (aws secretsmanager put-resource-policy with a narrower policy, or delete-resource-policy), or add a condition aws:PrincipalAccount = <this account>; aws secretsmanager validate-resource-policy checks it",
    compliance: &["Prowler:secretsmanager_not_publicly_accessible"],
    references: &[
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_resource-policies.html",
    ],
};

/// A policy document's statements (one object or an array), each with a label
/// for messages (`statement <Sid>`, or its position).
pub(crate) fn statements(document: &str) -> Result<Vec<(String, Value)>, String> {
    let policy: Value = serde_json::from_str(document)
        .map_err(|e| format!("its resource policy is not JSON ({e})"))?;
    let statements = match &policy["Statement"] {
        Value::Array(statements) => statements.clone(),
        statement @ Value::Object(_) => vec![statement.clone()],
        _ => Vec::new(),
    };
    Ok(statements
        .into_iter()
        .enumerate()
        .map(|(index, statement)| {
            let label = statement["Sid"].as_str().map_or_else(
                || format!("statement {}", index + 1),
                |sid| format!("statement {sid}"),
            );
            (label, statement)
        })
        .collect())
}

/// The faults of a resource policy: statements that let the public or another
/// account in. Empty when only this account's principals may use the resource.
pub fn foreign_access(document: &str, account: &str) -> Result<Vec<String>, String> {
    let mut faults = Vec::new();
    for (label, statement) in statements(document)? {
        if statement["Effect"].as_str() != Some("Allow") {
            continue;
        }
        if statement.get("NotPrincipal").is_some() {
            faults.push(format!(
                "{label} allows everyone but its NotPrincipal (public)"
            ));
            continue;
        }
        let pinned = pins_account(&statement["Condition"], account);
        for principal in principals_of(&statement["Principal"]) {
            let (kind, value) = principal
                .split_once(':')
                .unwrap_or(("", principal.as_str()));
            let fault = match (kind, value) {
                ("" | "AWS", "*") if !pinned => {
                    Some(format!("{label} allows Principal * (public)"))
                }
                ("" | "AWS", "*") | ("Service", _) => None,
                ("AWS", other) => {
                    let owner = if other.starts_with("arn:") {
                        other.split(':').nth(4).unwrap_or_default()
                    } else {
                        other
                    };
                    (owner != account)
                        .then(|| format!("{label} allows {other}, outside account {account}"))
                }
                (kind, other) => Some(format!(
                    "{label} allows the {kind} principal {other}, outside account {account}"
                )),
            };
            faults.extend(fault);
        }
    }
    Ok(faults)
}

/// Whether a condition restricts the caller to `account` (ANDed conditions: one
/// pinning condition is enough).
pub(crate) fn pins_account(condition: &Value, account: &str) -> bool {
    let Value::Object(operators) = condition else {
        return false;
    };
    operators.iter().any(|(operator, keys)| {
        let Value::Object(keys) = keys else {
            return false;
        };
        keys.iter().any(|(key, value)| {
            let key = key.to_ascii_lowercase();
            let values = strings(value);
            if values.is_empty() {
                return false;
            }
            match key.as_str() {
                "aws:principalaccount" | "aws:sourceaccount" => {
                    ["StringEquals", "StringLike"].contains(&operator.as_str())
                        && values.iter().all(|v| v == account)
                }
                "aws:principalarn" | "aws:sourcearn" => {
                    ["ArnEquals", "ArnLike", "StringEquals", "StringLike"]
                        .contains(&operator.as_str())
                        && values.iter().all(|v| v.split(':').nth(4) == Some(account))
                }
                _ => false,
            }
        })
    })
}

pub fn secret_policy_not_public(context: &Context<'_>) -> Vec<Finding> {
    let def = &SECRET_POLICY_NOT_PUBLIC;
    context.each_primary_secret(def, |secret| {
            let resource = &secret.arn;
            let name = &secret.name;
            let Some(record) = context
                .region
                .secret_policies
                .iter()
                .find(|p| &p.secret_arn == resource)
            else {
                return context.skip(def, resource, &format!("the resource policy of secret {name} was not read"));
            };
            let document = match &record.policy {
                Collected::Ok(Some(document)) => document,
                Collected::Ok(None) => {
                    return context.pass(def, resource, format!("secret {name} has no resource policy, so only this account's identity policies grant access to it"));
                }
                other => {
                    return context
                        .missing(def, resource, other)
                        .unwrap_or_else(|| context.skip(def, resource, "not read"));
                }
            };
            let Some(account) = context.account_id else {
                return context.finding(def, super::Status::Error, resource, format!("secret {name}: the audited account is unknown (sts:GetCallerIdentity failed), so its resource policy cannot be judged; grant the auditor sts:GetCallerIdentity"));
            };
            match foreign_access(document, account) {
                Ok(faults) if faults.is_empty() => context.pass(def, resource, format!("secret {name}: its resource policy allows only principals of account {account}")),
                Ok(faults) => context.fail(def, resource, format!("secret {name}: {}; expected access only for principals of account {account}", faults.join("; "))),
                Err(fault) => context.fail(def, resource, format!("secret {name}: {fault}")),
            }
        })
}

/// A string or an array of strings, as IAM policies write both.
pub(crate) fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// IAM's action matching: case-insensitive, `*` and `?` wildcards.
pub(crate) fn action_matches(pattern: &str, action: &str) -> bool {
    crate::iam_eval::wildcard_matches(pattern, action, true)
}

/// `Principal` as `TYPE:value` strings (`*` for the bare wildcard).
pub(crate) fn principals_of(principal: &Value) -> Vec<String> {
    match principal {
        Value::String(s) if s == "*" => vec!["*".to_owned()],
        Value::String(s) => vec![format!("AWS:{s}")],
        Value::Object(map) => map
            .iter()
            .flat_map(|(kind, values)| {
                strings(values)
                    .into_iter()
                    .map(move |v| format!("{kind}:{v}"))
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::checks::Status;
    use serde_json::json;

    #[test]
    fn resource_policies_are_judged_statement_by_statement() {
        let own_role = format!("arn:aws:iam::{ACCOUNT}:role/app");
        let cases: Vec<(&str, Value, bool)> = vec![
            (
                "this account's role",
                json!({"Effect": "Allow", "Principal": {"AWS": own_role}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}),
                true,
            ),
            (
                "this account's root",
                json!({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "secretsmanager:*", "Resource": "*"}),
                true,
            ),
            (
                "a deny for everyone",
                json!({"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*"}),
                true,
            ),
            (
                "* pinned to this account",
                json!({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}}),
                true,
            ),
            (
                "public",
                json!({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}),
                false,
            ),
            (
                "AWS *",
                json!({"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}),
                false,
            ),
            (
                "* with a negated condition",
                json!({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalAccount": "999999999999"}}}),
                false,
            ),
            (
                "another account",
                json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}),
                false,
            ),
            (
                "NotPrincipal",
                json!({"Effect": "Allow", "NotPrincipal": {"AWS": own_role}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}),
                false,
            ),
        ];
        for (name, statement, passes) in cases {
            let document = json!({"Version": "2012-10-17", "Statement": [statement]}).to_string();
            let faults = foreign_access(&document, ACCOUNT).expect("JSON");
            assert_eq!(faults.is_empty(), passes, "{name}: {faults:?}");
        }
    }

    #[test]
    fn the_check_passes_without_a_policy_and_fails_a_public_one() {
        let with_policy = |policy: Collected<Option<String>>| {
            let mut region = compliant_region();
            region.secret_policies[0].policy = policy;
            findings_of(region, "secret.policy.not-public").remove(0)
        };
        assert_eq!(with_policy(Collected::Ok(None)).status, Status::Pass);
        let public = json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}}).to_string();
        let finding = with_policy(Collected::Ok(Some(public)));
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("Principal * (public)"),
            "{}",
            finding.message
        );
        assert_eq!(finding.severity, Severity::Critical);
        let finding = with_policy(Collected::Failed(denied(
            "secretsmanager:GetResourcePolicy",
        )));
        assert_eq!(finding.status, Status::Error);
        assert!(finding.message.contains("secretsmanager:GetResourcePolicy"));
    }
}
