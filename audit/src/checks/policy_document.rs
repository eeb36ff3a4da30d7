//! IAM policy documents read once for every check that judges one: a
//! document's statements ([`statements`]), `Principal` and `Action` as IAM
//! matches them ([`principals_of`], [`action_matches`], [`strings`]), and who a
//! resource policy lets in beyond the account ([`resource_policy_access`], and
//! [`key_policy_access`] for a KMS key policy). The secret, endpoint, function
//! and key checks share them; the role check evaluates requests with
//! [`crate::iam_eval`].
//!
//! Who a resource policy lets in: every `Allow` statement is read: a principal
//! of `*` passes only under a condition that pins the caller to this account
//! (`aws:PrincipalAccount` or `aws:SourceAccount` with `StringEquals`,
//! `aws:PrincipalArn`/`aws:SourceArn` with `ArnEquals`/`ArnLike`, every value
//! naming this account); an AWS principal must be of this account. A service
//! principal acts for whichever account asks it, so it passes only under
//! `aws:SourceAccount` or `aws:SourceArn` naming this account (IAM user guide,
//! "The confused deputy problem", "Cross-service confused deputy prevention"). A
//! principal of `*` pinned by `aws:PrincipalOrgID` (`StringEquals`, no wildcard)
//! is shared with that organisation's accounts, not public (IAM user guide, "AWS
//! global condition context keys", `aws:PrincipalOrgID`).

use serde_json::Value;

use crate::inventory::Collected;

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

/// Who a resource policy lets in beyond the account: its faults (statements
/// that let the public, another account or a service for any account in) are
/// empty when only this account's principals, and an organisation's, may use
/// the resource.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PolicyAccess {
    /// Statements that let the public, another account, or a service acting for
    /// any account in.
    pub faults: Vec<String>,
    /// Statements that share it with an organisation (`aws:PrincipalOrgID`).
    pub organisations: Vec<SharedWith>,
}

/// A statement that shares a resource with an organisation's accounts.
#[derive(Debug, PartialEq, Eq)]
pub struct SharedWith {
    /// The organisation's id (`o-...`).
    pub organisation: String,
    /// What the statement does, for a message.
    pub message: String,
}

/// Statements sharing a resource with an organisation ([`SharedWith`]), judged
/// against the audited account's own organisation as read
/// (`organizations:DescribeOrganization`; `Ok(None)`: in none).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Organisations {
    /// The ids of the account's own organisation that statements share with.
    pub own: Vec<String>,
    /// Statements that share with another organisation, or with one when the
    /// account is in none.
    pub foreign: Vec<String>,
    /// Statements whose organisation could not be compared: the account's was
    /// not read.
    pub undecided: Vec<String>,
}

/// Judges `shared` against `organisation`, the organisation of `account`.
pub fn judge_organisations(
    shared: Vec<SharedWith>,
    account: &str,
    organisation: &Collected<Option<String>>,
) -> Organisations {
    let mut judged = Organisations::default();
    for share in shared {
        match organisation {
            Collected::Ok(Some(ours)) if *ours == share.organisation => {
                if !judged.own.contains(ours) {
                    judged.own.push(ours.clone());
                }
            }
            Collected::Ok(Some(ours)) => judged.foreign.push(format!(
                "{}, not account {account}'s organisation {ours}",
                share.message
            )),
            Collected::Ok(None) => judged.foreign.push(format!(
                "{}, and account {account} is in no organisation",
                share.message
            )),
            Collected::Failed(error) => judged.undecided.push(format!(
                "{}, and whether {} is account {account}'s organisation is undecided, organizations:DescribeOrganization was not read: {}",
                share.message,
                share.organisation,
                error.describe()
            )),
            Collected::Skipped(reason) => judged.undecided.push(format!(
                "{}, and whether {} is account {account}'s organisation is undecided, organizations:DescribeOrganization was not read: {reason}",
                share.message, share.organisation
            )),
        }
    }
    judged
}

pub fn resource_policy_access(document: &str, account: &str) -> Result<PolicyAccess, String> {
    policy_access(document, account, &[])
}

/// [`resource_policy_access`] for a KMS key policy, where `kms:CallerAccount`
/// (`StringEquals` this account) also pins `*` and a service principal to the
/// account: AWS KMS developer guide, "AWS KMS condition keys", kms:CallerAccount
/// ("allow or deny access to all identities (IAM users and roles) in an AWS
/// account"); AWS managed keys' policies and Terraform modules pin `*` with it.
pub fn key_policy_access(document: &str, account: &str) -> Result<PolicyAccess, String> {
    policy_access(document, account, &["kms:calleraccount"])
}

fn policy_access(
    document: &str,
    account: &str,
    extra_keys: &[&str],
) -> Result<PolicyAccess, String> {
    let account_keys: Vec<&str> = ACCOUNT_KEYS.iter().chain(extra_keys).copied().collect();
    let source_keys: Vec<&str> = SOURCE_KEYS.iter().chain(extra_keys).copied().collect();
    let mut access = PolicyAccess::default();
    let faults = &mut access.faults;
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
        let condition = &statement["Condition"];
        let pinned = pins_account_by(condition, account, &account_keys);
        let source_pinned = pins_account_by(condition, account, &source_keys);
        let organisation = pinned_organisation(condition);
        for principal in principals_of(&statement["Principal"]) {
            let (kind, value) = principal
                .split_once(':')
                .unwrap_or(("", principal.as_str()));
            let fault = match (kind, value) {
                ("" | "AWS", "*") if !pinned => match &organisation {
                    Some(organisation) => {
                        access.organisations.push(SharedWith {
                            message: format!(
                                "{label} shares it with the accounts of organisation {organisation} (aws:PrincipalOrgID)"
                            ),
                            organisation: organisation.clone(),
                        });
                        None
                    }
                    None => Some(format!("{label} allows Principal * (public)")),
                },
                ("Service", service) if !source_pinned => Some(format!(
                    "{label} allows the service principal {service} without a condition aws:SourceAccount or aws:SourceArn naming account {account}, so the service may use it on behalf of any account (confused deputy)"
                )),
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
    Ok(access)
}

/// The condition keys that pin a service principal's request to the account it
/// acts for (IAM user guide, "Cross-service confused deputy prevention").
const SOURCE_KEYS: &[&str] = &["aws:sourceaccount", "aws:sourcearn"];

/// Every key that pins a caller to an account.
const ACCOUNT_KEYS: &[&str] = &[
    "aws:principalaccount",
    "aws:sourceaccount",
    "aws:principalarn",
    "aws:sourcearn",
];

/// The organisation a condition pins the caller to: `aws:PrincipalOrgID` with
/// `StringEquals`, one value without wildcards.
fn pinned_organisation(condition: &Value) -> Option<String> {
    let keys = condition.get("StringEquals")?.as_object()?;
    let (_, value) = keys
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("aws:PrincipalOrgID"))?;
    match strings(value).as_slice() {
        [id] if !id.is_empty() && !id.contains(['*', '?', '$']) => Some(id.clone()),
        _ => None,
    }
}

/// Whether a condition restricts the caller to `account` by one of `keys_allowed`
/// (lower-case; ANDed conditions: one pinning condition is enough).
fn pins_account_by(condition: &Value, account: &str, keys_allowed: &[&str]) -> bool {
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
            if values.is_empty() || !keys_allowed.contains(&key.as_str()) {
                return false;
            }
            match key.as_str() {
                "aws:principalaccount" | "aws:sourceaccount" | "kms:calleraccount" => {
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
                "a service for any account (confused deputy)",
                json!({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}),
                false,
            ),
            (
                "a service pinned by aws:PrincipalAccount only (not the service's source)",
                json!({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}}),
                false,
            ),
            (
                "a service for this account",
                json!({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}),
                true,
            ),
            (
                "a service for a function of this account",
                json!({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*",
                "Condition": {"ArnLike": {"aws:SourceArn": format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:*")}}}),
                true,
            ),
            (
                "* pinned to an organisation",
                json!({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}),
                true,
            ),
            (
                "* pinned to any organisation",
                json!({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
                "Condition": {"StringLike": {"aws:PrincipalOrgID": "o-*"}}}),
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
            let faults = resource_policy_access(&document, ACCOUNT)
                .expect("JSON")
                .faults;
            assert_eq!(faults.is_empty(), passes, "{name}: {faults:?}");
        }
    }
}
