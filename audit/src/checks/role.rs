//! `secret.rotation.function-role`: the rotation function's execution role may do
//! every call an alternating-users rotation makes.
//!
//! A function whose role lacks one permission passes every other check and
//! fails every rotation (AccessDenied in its logs, the secret left with a
//! pending version). The calls, from the Secrets Manager user guide ("Lambda
//! rotation function execution role permissions") and the rotator:
//!
//! - on the application secret: `DescribeSecret`, `GetSecretValue`,
//!   `PutSecretValue`, `UpdateSecretVersionStage`. `ListSecretVersionIds` (deploy's
//!   policy grants it: the rotator's proof that an existing alternate user is the
//!   secret's own reads the versions without a label) is not required: AWS's own
//!   rotation templates lack it and the rotator falls back to the labelled versions,
//!   so requiring it would fail every role written from them;
//! - on the `masterarn` secret (alternating users): `GetSecretValue`, and, when
//!   RDS manages it, `DescribeSecret` (its tags name the instance) and
//!   `rds:DescribeDBInstances` on that instance;
//! - `kms:Decrypt` on the key of each secret encrypted with a customer-managed key
//!   (`KmsKeyId` present), and `kms:GenerateDataKey` on the application secret's
//!   (writing the pending version encrypts it). Secrets under the AWS managed key
//!   `aws/secretsmanager` need no KMS permission in the role: every principal of
//!   the account may use that key through Secrets Manager (Secrets Manager API
//!   reference, `KmsKeyId`: "All users and roles in the AWS account automatically
//!   have access to use aws/secretsmanager"), and `DescribeSecret` omits `KmsKeyId`
//!   for it.
//!
//! Decryption happens inside Secrets Manager on the role's behalf, so the request
//! context has `kms:ViaService` = `secretsmanager.<region>.amazonaws.com` and
//! `kms:EncryptionContext:SecretARN` = the secret (Secrets Manager user guide,
//! "Secret encryption and decryption"); conditions on those keys are evaluated.
//! Statements under other conditions are not guessed at (see [`crate::iam_eval`]):
//! the finding is then ERROR, naming the statement and the condition, for a person
//! to verify (`aws iam simulate-principal-policy`), never PASS.
//!
//! Without `--read-secrets` the `masterarn` is unknown: the application-secret
//! part is still judged (a missing permission there FAILs), otherwise SKIP.

use super::{CheckDefinition, Context, Finding, Severity, Status};
use crate::iam_eval::{self, Decision, NamedPolicy, Request};
use crate::inventory::{Collected, Secret};

pub const FUNCTION_ROLE: CheckDefinition = CheckDefinition {
    id: "secret.rotation.function-role",
    title: "The rotation function's execution role allows every call the rotation makes",
    severity: Severity::High,
    resource_type: "AwsIamRole",
    remediation: "Add to the rotation function's execution role an Allow of secretsmanager:DescribeSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage (and ListSecretVersionIds, which lets the rotator recognise a clone an abandoned attempt left) on the application secret, secretsmanager:GetSecretValue (and DescribeSecret, with rds:DescribeDBInstances on its instance, when RDS manages it) on the masterarn secret, and kms:Decrypt (kms:GenerateDataKey for the application secret) on any customer-managed key of those secrets; remove any Deny of them (`cargo xtask deploy` writes this least-privilege policy)",
    compliance: &["AWS-FSBP:SecretsManager.2"],
    references: &[
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html",
    ],
};

/// The AWS managed key of Secrets Manager, as a `KmsKeyId` may name it.
fn is_aws_managed_key(key: &str) -> bool {
    key.ends_with("alias/aws/secretsmanager")
}

/// The ARN a key policy statement names for `key`: an ARN as it is, a bare key id
/// within the secret's account and region; `None` for an alias, which IAM
/// policies do not name (resolving it would need kms:DescribeKey).
fn key_arn(key: &str, secret_arn: &str) -> Option<String> {
    if key.starts_with("arn:") {
        return (!key.contains(":alias/")).then(|| key.to_owned());
    }
    if key.starts_with("alias/") {
        return None;
    }
    let parts: Vec<&str> = secret_arn.split(':').collect();
    let (partition, region, account) = (parts.get(1)?, parts.get(3)?, parts.get(4)?);
    Some(format!("arn:{partition}:kms:{region}:{account}:key/{key}"))
}

/// One permission the rotation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Need {
    pub action: &'static str,
    pub resource: String,
    /// What it is for, in messages.
    pub why: String,
    /// The KMS request context (`kms:ViaService`, `kms:EncryptionContext:SecretARN`).
    pub via_secret: Option<String>,
}

fn secret_needs(
    secret: &Secret,
    role: &str,
    actions: &[&'static str],
    generate: bool,
) -> Result<Vec<Need>, String> {
    let mut needs: Vec<Need> = actions
        .iter()
        .map(|&action| Need {
            action,
            resource: secret.arn.clone(),
            why: format!("secret {}", secret.name),
            via_secret: None,
        })
        .collect();
    if let Some(key) = secret
        .kms_key_id
        .as_deref()
        .filter(|k| !is_aws_managed_key(k))
    {
        let Some(arn) = key_arn(key, &secret.arn) else {
            return Err(format!(
                "secret {} is encrypted with the key named {key}, an alias the audit does not resolve; check that role {role} may use kms:Decrypt on that key",
                secret.name
            ));
        };
        let kms: &[&'static str] = if generate {
            &["kms:Decrypt", "kms:GenerateDataKey"]
        } else {
            &["kms:Decrypt"]
        };
        needs.extend(kms.iter().map(|&action| Need {
            action,
            resource: arn.clone(),
            why: format!("the customer-managed key of secret {}", secret.name),
            via_secret: Some(secret.arn.clone()),
        }));
    }
    Ok(needs)
}

/// Every permission a rotation of `secret` with admin secret `admin` needs.
pub(crate) fn needs(
    secret: &Secret,
    admin: Option<&Secret>,
    role: &str,
) -> Result<Vec<Need>, String> {
    let mut all = secret_needs(
        secret,
        role,
        &[
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetSecretValue",
            "secretsmanager:PutSecretValue",
            "secretsmanager:UpdateSecretVersionStage",
        ],
        true,
    )?;
    if let Some(admin) = admin {
        let rds_managed = admin.owning_service.as_deref() == Some("rds");
        let actions: &[&'static str] = if rds_managed {
            &[
                "secretsmanager:GetSecretValue",
                "secretsmanager:DescribeSecret",
            ]
        } else {
            &["secretsmanager:GetSecretValue"]
        };
        let mut admin_needs = secret_needs(admin, role, actions, false)?;
        for need in &mut admin_needs {
            need.why = format!("the masterarn secret {}", admin.name);
        }
        all.extend(admin_needs);
        if rds_managed && let Some(instance) = admin.tags.get("aws:rds:primaryDBInstanceArn") {
            all.push(Need {
                action: "rds:DescribeDBInstances",
                resource: instance.clone(),
                why: "the instance of the RDS-managed masterarn secret".to_owned(),
                via_secret: None,
            });
        }
    }
    Ok(all)
}

/// The verdict over every need: FAIL lines (denied), ERROR lines (undecided).
pub(crate) fn judge(
    policies: &[NamedPolicy<'_>],
    needs: &[Need],
    role: &str,
    region: &str,
    account: Option<&str>,
) -> Result<(Vec<String>, Vec<String>), String> {
    let mut denied = Vec::new();
    let mut undecided = Vec::new();
    for need in needs {
        let mut request = Request::new(need.action, &need.resource)
            .with("aws:PrincipalArn", role)
            .with("aws:RequestedRegion", region);
        if let Some(account) = account {
            request = request.with("aws:PrincipalAccount", account);
        }
        if let Some(secret) = &need.via_secret {
            request = request
                .with(
                    "kms:ViaService",
                    &format!("secretsmanager.{region}.amazonaws.com"),
                )
                .with("kms:EncryptionContext:SecretARN", secret);
            if let Some(account) = account {
                request = request.with("kms:CallerAccount", account);
            }
        }
        let what = format!("{} on {} ({})", need.action, need.resource, need.why);
        match iam_eval::evaluate(policies, &request)? {
            Decision::Allowed { .. } => {}
            Decision::ImplicitDeny => denied.push(format!("no statement allows {what}")),
            Decision::ExplicitDeny { by } => denied.push(format!("{by} denies {what}")),
            Decision::MayDeny { by, condition } => undecided.push(format!(
                "{by} may deny {what} under a condition the audit cannot evaluate ({condition})"
            )),
            Decision::NotProven { by, condition } => undecided.push(format!(
                "{what} is allowed only by {by}, under a condition the audit cannot evaluate ({condition})"
            )),
        }
    }
    Ok((denied, undecided))
}

pub fn function_role(context: &Context<'_>) -> Vec<Finding> {
    let def = &FUNCTION_ROLE;
    context.each_primary_secret(def, |secret| {
        let name = &secret.name;
        if let Some(service) = &secret.owning_service {
            return context.skip(def, &secret.arn, &format!("secret {name} is managed by {service}, which rotates it without a Lambda function"));
        }
        let Some(function_arn) = secret.rotation_lambda_arn.as_deref() else {
            return context.skip(def, &secret.arn, &format!("secret {name} names no rotation function (see secret.rotation.function)"));
        };
        let configuration = match context.region.functions.iter().find(|f| f.arn == function_arn).map(|f| &f.configuration) {
            Some(Collected::Ok(Some(configuration))) => configuration,
            Some(Collected::Ok(None)) | None => return context.skip(def, function_arn, &format!("rotation function {function_arn} does not exist or was not read (see secret.rotation.function)")),
            Some(other) => return context.missing(def, function_arn, other).unwrap_or_else(|| context.skip(def, function_arn, "not collected")),
        };
        let Some(role) = configuration.role.as_deref() else {
            return context.skip(def, function_arn, &format!("rotation function {} reports no execution role", configuration.name));
        };
        let Some(record) = context.region.roles.iter().find(|r| r.arn == role) else {
            return context.skip(def, role, &format!("role {role} of rotation function {} was not collected (an inventory of an earlier version)", configuration.name));
        };
        let mut documents = Vec::new();
        for part in [&record.inline_policies, &record.attached_policies] {
            match part {
                Collected::Ok(policies) => documents.extend(policies.iter()),
                other => return context.missing(def, role, other).unwrap_or_else(|| context.skip(def, role, "not collected")),
            }
        }
        let policies: Vec<NamedPolicy<'_>> = documents
            .iter()
            .map(|p| NamedPolicy { name: &p.name, document: &p.document })
            .collect();
        // The masterarn secret, known only from the value (--read-secrets).
        let facts = context.region.secret_values.iter().find(|v| v.secret_arn == secret.arn).and_then(|v| v.facts.ok());
        let masterarn = facts.and_then(|f| f.masterarn.as_deref());
        let admin: Option<Secret> = masterarn.map(|arn| {
            context
                .region
                .admin_secrets
                .iter()
                .find(|a| a.arn == arn)
                .and_then(|a| a.secret.ok().cloned().flatten())
                .unwrap_or_else(|| Secret { arn: arn.to_owned(), name: arn.to_owned(), ..Secret::default() })
        });
        let needs = match needs(secret, admin.as_ref(), role) {
            Ok(needs) => needs,
            Err(why) => return context.finding(def, Status::Error, role, why),
        };
        let (denied, undecided) = match judge(&policies, &needs, role, &context.region.region, context.account_id) {
            Ok(verdict) => verdict,
            Err(why) => return context.finding(def, Status::Error, role, format!("role {role}: {why}")),
        };
        let subject = format!("role {role} of rotation function {} (secret {name})", configuration.name);
        if !denied.is_empty() {
            return context.fail(def, role, format!("{subject}: {}; expected an Allow of each (rotations fail with AccessDenied otherwise)", denied.join("; ")));
        }
        if !undecided.is_empty() {
            return context.finding(def, Status::Error, role, format!("{subject}: cannot be decided offline: {}; verify with aws iam simulate-principal-policy, or drop the condition", undecided.join("; ")));
        }
        if masterarn.is_none() {
            let reason = if context.scope.read_secrets {
                format!("{subject} allows every call on the application secret; the masterarn secret is unknown (the secret's value was not read, see secret.rotation.admin-linked)")
            } else {
                format!("{subject} allows every call on the application secret; the masterarn secret is read from the secret's value: rerun with --read-secrets to judge its permissions")
            };
            return context.skip(def, role, &reason);
        }
        let actions: Vec<String> = needs.iter().map(|n| format!("{} on {}", n.action, n.resource)).collect();
        context.pass(def, role, format!("{subject} allows {}", actions.join(", ")))
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::inventory::{PolicyDocument, RegionInventory};
    use serde_json::{Value, json};

    fn with_policies(inline: Vec<Value>, change: impl Fn(&mut RegionInventory)) -> Vec<Finding> {
        let mut region = compliant_region();
        region.roles[0].inline_policies = Collected::Ok(
            inline
                .into_iter()
                .enumerate()
                .map(|(i, d)| PolicyDocument {
                    name: format!("inline policy p{i}"),
                    document: d.to_string(),
                })
                .collect(),
        );
        change(&mut region);
        findings_of(region, "secret.rotation.function-role")
    }

    #[test]
    fn the_deploy_policy_passes_and_each_missing_permission_fails_by_name() {
        let compliant = findings_of(compliant_region(), "secret.rotation.function-role");
        assert_eq!(compliant.len(), 1);
        assert_eq!(
            compliant[0].status,
            Status::Pass,
            "{}",
            compliant[0].message
        );

        let app = json!({"Effect": "Allow", "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage", "secretsmanager:ListSecretVersionIds"], "Resource": SECRET_ARN});
        let admin = json!({"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": ADMIN_ARN});
        let rds =
            json!({"Effect": "Allow", "Action": "rds:DescribeDBInstances", "Resource": DB_ARN});
        let doc =
            |statements: Vec<&Value>| json!({"Version": "2012-10-17", "Statement": statements});
        let cases: Vec<(&str, Vec<Value>, Status, &str)> = vec![
            (
                "all three",
                vec![doc(vec![&app, &admin, &rds])],
                Status::Pass,
                "allows",
            ),
            (
                "no GetSecretValue on masterarn",
                vec![doc(vec![
                    &app,
                    &json!({"Effect": "Allow", "Action": "secretsmanager:DescribeSecret", "Resource": ADMIN_ARN}),
                    &rds,
                ])],
                Status::Fail,
                "no statement allows secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-XyZ (the masterarn secret",
            ),
            (
                "no PutSecretValue",
                vec![doc(vec![
                    &json!({"Effect": "Allow", "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:UpdateSecretVersionStage", "secretsmanager:ListSecretVersionIds"], "Resource": SECRET_ARN}),
                    &admin,
                    &rds,
                ])],
                Status::Fail,
                "secretsmanager:PutSecretValue on",
            ),
            (
                "wildcards cover it",
                vec![
                    json!({"Statement": {"Effect": "Allow", "Action": ["secretsmanager:*", "rds:Describe*"], "Resource": "*"}}),
                ],
                Status::Pass,
                "allows",
            ),
            (
                "a Deny in a second policy wins",
                vec![
                    json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}),
                    json!({"Statement": {"Sid": "NoAdmin", "Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": "arn:aws:secretsmanager:*:*:secret:rds!*"}}),
                ],
                Status::Fail,
                "inline policy p1 statement NoAdmin denies secretsmanager:GetSecretValue",
            ),
            (
                "an Allow under an unknown condition is not a PASS",
                vec![
                    json!({"Statement": {"Sid": "FromVpc", "Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}}}),
                ],
                Status::Error,
                "under a condition the audit cannot evaluate (StringEquals on aws:SourceVpc)",
            ),
            (
                "a Deny under an unknown condition is not a PASS",
                vec![
                    json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Sid": "Hours", "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}]}),
                ],
                Status::Error,
                "may deny",
            ),
            (
                "a Deny whose condition is false does not apply",
                vec![
                    json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}}]}),
                ],
                Status::Pass,
                "allows",
            ),
            (
                "a document without statements is an ERROR",
                vec![json!("not a policy")],
                Status::Error,
                "has no Statement",
            ),
        ];
        for (name, inline, status, text) in cases {
            let findings = with_policies(inline, |_| {});
            assert_eq!(findings.len(), 1, "{name}");
            assert_eq!(
                findings[0].status, status,
                "{name}: {}",
                findings[0].message
            );
            assert!(
                findings[0].message.contains(text),
                "{name}: {}",
                findings[0].message
            );
            assert_eq!(findings[0].resource, ROLE, "{name}");
        }
    }

    #[test]
    fn customer_managed_keys_need_decrypt_and_the_aws_managed_key_does_not() {
        const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd";
        let all = json!({"Effect": "Allow", "Action": ["secretsmanager:*", "rds:DescribeDBInstances"], "Resource": "*"});
        let set_key = |key: &'static str| {
            move |region: &mut RegionInventory| {
                if let Collected::Ok(secrets) = &mut region.secrets {
                    secrets[0].kms_key_id = Some(key.to_owned());
                }
            }
        };
        // aws/secretsmanager: nothing to allow.
        let findings = with_policies(
            vec![json!({"Statement": [all.clone()]})],
            set_key("alias/aws/secretsmanager"),
        );
        assert_eq!(findings[0].status, Status::Pass, "{}", findings[0].message);
        // A customer-managed key without kms:Decrypt fails, naming the key.
        let findings = with_policies(vec![json!({"Statement": [all.clone()]})], set_key(KEY));
        assert_eq!(findings[0].status, Status::Fail);
        assert!(
            findings[0]
                .message
                .contains(&format!("kms:Decrypt on {KEY}")),
            "{}",
            findings[0].message
        );
        // Allowed through Secrets Manager only, for this secret: the condition is evaluated.
        let via = json!({"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": KEY,
            "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com", "kms:EncryptionContext:SecretARN": SECRET_ARN}}});
        let findings = with_policies(vec![json!({"Statement": [all.clone(), via]})], set_key(KEY));
        assert_eq!(findings[0].status, Status::Pass, "{}", findings[0].message);
        // A bare key id is the key of the secret's account and region.
        let findings = with_policies(
            vec![
                json!({"Statement": [all.clone(), {"Effect": "Allow", "Action": "kms:*", "Resource": KEY}]}),
            ],
            set_key("1234abcd"),
        );
        assert_eq!(findings[0].status, Status::Pass, "{}", findings[0].message);
        // An alias cannot be resolved offline: not a PASS.
        let findings = with_policies(vec![json!({"Statement": [all]})], set_key("alias/my-key"));
        assert_eq!(findings[0].status, Status::Error);
        assert!(
            findings[0].message.contains("alias/my-key"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn missing_inputs_are_never_a_pass() {
        // Without --read-secrets: the application part is judged, the rest skipped.
        let mut region = compliant_region();
        region.secret_values.clear();
        let findings = findings_of(region.clone(), "secret.rotation.function-role");
        assert_eq!(findings[0].status, Status::Skip, "{}", findings[0].message);
        region.roles[0].inline_policies = Collected::Ok(Vec::new());
        let findings = findings_of(region, "secret.rotation.function-role");
        assert_eq!(findings[0].status, Status::Fail, "{}", findings[0].message);
        // A denied IAM read is an ERROR naming the action.
        let findings = with_policies(Vec::new(), |region| {
            region.roles[0].attached_policies =
                Collected::Failed(denied("iam:ListAttachedRolePolicies"));
        });
        assert_eq!(findings[0].status, Status::Error);
        assert!(
            findings[0].message.contains("iam:ListAttachedRolePolicies"),
            "{}",
            findings[0].message
        );
        // An inventory of an earlier version has no roles: SKIP, saying so.
        let findings = with_policies(Vec::new(), |region| region.roles.clear());
        assert_eq!(findings[0].status, Status::Skip);
    }
}
