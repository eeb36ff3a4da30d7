//! `secret.kms.customer-managed`: the secret is encrypted with a customer managed
//! KMS key whose key policy is not public and whose key material rotates.
//!
//! AWS Config's `secretsmanager-using-cmk` is NON_COMPLIANT for a secret under the
//! AWS managed key `aws/secretsmanager` ("The rule is COMPLIANT if a secret is
//! encrypted using a customer managed key"): that key's policy is AWS's and lets
//! every principal of the account that IAM allows decrypt through Secrets Manager,
//! so nothing but IAM stands between a role and the database password, and the key
//! cannot be shared with, or denied to, anyone on its own. A customer managed key
//! adds a second, separately owned gate (its key policy) and its own CloudTrail
//! trail. That gate is only worth having when it is not open to everyone (Prowler
//! `kms_key_not_publicly_accessible`: a statement allowing `*` without pinning the
//! account) and when the key material rotates (FSBP KMS.4, AWS Config
//! `cmk-backing-key-rotation-enabled`, Prowler `kms_cmk_rotation_enabled`).
//!
//! Why the compliant tutorial setup gets a key of its own from `cargo xtask
//! provision` rather than this check waiting behind a policy key: the Config rule
//! fails the tutorial's default, so a setup this project calls compliant must not;
//! deploy's role policy and `secret.rotation.function-role` already follow a
//! customer managed key (its `kms:ViaService` and `kms:EncryptionContext:SecretARN`
//! conditions, its key policy), so the key costs no new permission code; and the
//! price is small and bounded: one key ($1 a month, AWS KMS pricing) per setup,
//! whose deletion cleanup schedules (the shortest waiting period is 7 days: AWS KMS
//! developer guide, "Deleting AWS KMS keys"), tagged keys only. The RDS-managed
//! admin secret is not judged here: RDS chooses its key (`MasterUserSecretKmsKeyId`)
//! and the audit reads only the application secret as primary.
//!
//! A key owned by another account FAILs, naming that account: its key policy
//! cannot be read from here (GetKeyPolicy: "Cross-account use: No"), and the gate
//! this check asks for (a key policy the secret's own account controls) is then
//! another account's. A central key account may be intended; mute the finding
//! then. A key policy that pins `*` or a service to this account with
//! `kms:CallerAccount` is not public (see `policy_document::key_policy_access`);
//! one that shares the key with an organisation (`aws:PrincipalOrgID`) passes
//! for the account's own organisation only, as `secret.policy.not-public` judges
//! it (the organisation unread: an ERROR, or SKIP, as another unread part). Every
//! part that was read is judged before a missing part can make the finding an
//! ERROR (a failed call) or a SKIP (not read by design).

use super::context::Context;
use super::policy_document::{judge_organisations, key_policy_access};
use crate::finding::{CheckDefinition, Finding, Severity};
use crate::inventory::{Collected, KeyRecord, Secret};

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "secret.kms.customer-managed",
    title: "Secret is encrypted with a rotating, non-public customer managed key",
    severity: Severity::Medium,
    resource_type: "AwsSecretsManagerSecret",
    remediation: "Create a customer managed key (aws kms create-key; keep the default key policy, which delegates to IAM), turn its rotation on (aws kms enable-key-rotation --key-id <key>), then aws secretsmanager update-secret --secret-id <secret> --kms-key-id <key> and allow the rotation role kms:Decrypt and kms:GenerateDataKey through Secrets Manager (cargo xtask provision and deploy do all of this)",
    compliance: &[
        "AWS-Config:secretsmanager-using-cmk",
        "AWS-FSBP:KMS.4",
        "AWS-Config:cmk-backing-key-rotation-enabled",
        "Prowler:kms_cmk_rotation_enabled",
        "Prowler:kms_key_not_publicly_accessible",
    ],
    references: &[
        "https://docs.aws.amazon.com/config/latest/developerguide/secretsmanager-using-cmk.html",
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html",
        "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html",
    ],
};

/// What is wrong with a secret's customer managed key (empty when nothing is),
/// or the collection error that keeps it from being judged. Every part that was
/// read is judged first: a known fault is a FAIL even when another part could
/// not be read. `Err` carries the unread part's `Collected` (ERROR for a failed
/// call, SKIP for one deliberately not made) through [`Context::missing`].
/// A key policy that shares the key with an organisation is judged against the
/// account's `organisation` as `secret.policy.not-public` judges a secret's.
pub(crate) fn key_faults(
    key: &KeyRecord,
    account: &str,
    organisation: &Collected<Option<String>>,
) -> Result<Vec<String>, KeyUnread> {
    let mut faults = Vec::new();
    if key.aws_managed {
        faults.push(format!("{} is an AWS managed key", key.arn));
        return Ok(faults);
    }
    let mut unread = None;
    match &key.policy {
        Collected::Ok(document) => match key_policy_access(document, account) {
            Ok(access) => {
                let shares = judge_organisations(access.organisations, account, organisation);
                faults.extend(
                    access
                        .faults
                        .into_iter()
                        .chain(shares.foreign)
                        .map(|fault| format!("its key policy's {fault}")),
                );
                if !shares.undecided.is_empty() {
                    unread = match organisation {
                        Collected::Failed(error) => Some(Collected::Failed(error.clone())),
                        Collected::Skipped(reason) => Some(Collected::Skipped(reason.clone())),
                        Collected::Ok(_) => None,
                    };
                }
            }
            Err(e) => faults.push(format!(
                "its key policy cannot be judged: {}",
                e.replace("resource policy", "key policy")
            )),
        },
        Collected::Failed(error) => unread = Some(Collected::Failed(error.clone())),
        Collected::Skipped(reason) => unread = Some(Collected::Skipped(reason.clone())),
    }
    match &key.rotation_enabled {
        Collected::Ok(true) => {}
        Collected::Ok(false) => faults.push("its automatic rotation is off".to_owned()),
        Collected::Failed(error) => {
            unread.get_or_insert(Collected::Failed(error.clone()));
        }
        Collected::Skipped(reason) => {
            unread.get_or_insert(Collected::Skipped(reason.clone()));
        }
    }
    match unread {
        Some(unread) if faults.is_empty() => Err(KeyUnread(unread)),
        _ => Ok(faults),
    }
}

/// The part of a key that could not be read (`Failed` or `Skipped`).
#[derive(Debug)]
pub(crate) struct KeyUnread(pub Collected<()>);

fn judge(context: &Context<'_>, secret: &Secret) -> Finding {
    let def = &DEFINITION;
    let (resource, name) = (&secret.arn, &secret.name);
    let Some(key_id) = secret.kms_key_id.as_deref() else {
        return context.fail(
            def,
            resource,
            format!(
                "secret {name} is encrypted with the AWS managed key aws/secretsmanager; expected a customer managed key"
            ),
        );
    };
    let Some(record) = context
        .region
        .key_policies
        .iter()
        .find(|k| k.key_id == key_id)
    else {
        return context.skip(
            def,
            resource,
            &format!("key {key_id} of secret {name} was not read"),
        );
    };
    let key = match &record.key {
        Collected::Ok(Some(key)) => key,
        Collected::Ok(None) => {
            return context.fail(
                def,
                resource,
                format!("secret {name} names KMS key {key_id}, which does not exist; expected a customer managed key"),
            );
        }
        other => {
            return context
                .missing(def, resource, other)
                .unwrap_or_else(|| context.skip(def, resource, "not read"));
        }
    };
    let Some(account) = context.account_id else {
        return context.skip(
            def,
            resource,
            "the account is unknown, so who the key policy lets in cannot be judged",
        );
    };
    if let Some(owner) = key.account.as_deref().filter(|owner| *owner != account) {
        return context.fail(
            def,
            resource,
            format!(
                "secret {name} is encrypted with KMS key {} of account {owner}, whose key policy account {account} cannot read or control; expected a customer managed key of account {account}",
                key.arn
            ),
        );
    }
    match key_faults(key, account, context.organization_id) {
        Ok(faults) if faults.is_empty() => context.pass(
            def,
            resource,
            format!(
                "secret {name} is encrypted with customer managed key {}, its key policy not public and its rotation on",
                key.arn
            ),
        ),
        Ok(faults) => context.fail(
            def,
            resource,
            format!(
                "secret {name}'s KMS key: {}; expected a customer managed key whose key policy is not public and whose rotation is on",
                faults.join("; ")
            ),
        ),
        Err(KeyUnread(unread)) => context
            .missing(def, resource, &unread)
            .unwrap_or_else(|| context.skip(def, resource, "not read")),
    }
}

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    context.each_primary_secret(&DEFINITION, |secret| judge(context, secret))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::finding::Status;

    fn default_key_policy() -> String {
        match app_key().key {
            Collected::Ok(Some(KeyRecord {
                policy: Collected::Ok(policy),
                ..
            })) => policy,
            other => panic!("the fixture's key: {other:?}"),
        }
    }

    fn with_key(
        policy: Collected<String>,
        rotation: Collected<bool>,
        aws_managed: bool,
    ) -> crate::inventory::RegionInventory {
        let mut region = compliant_region();
        let mut record = app_key();
        if let Collected::Ok(Some(key)) = &mut record.key {
            key.policy = policy;
            key.rotation_enabled = rotation;
            key.aws_managed = aws_managed;
        }
        region.key_policies = vec![record];
        region
    }

    #[test]
    fn the_key_must_be_customer_managed_not_public_and_rotating() {
        let public = serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": "*",
            "Action": "kms:Decrypt", "Resource": "*"}]})
        .to_string();
        // (policy, rotation, AWS managed, status, in the message)
        let table = [
            (
                Collected::Ok(default_key_policy()),
                Collected::Ok(true),
                false,
                Status::Pass,
                "customer managed key",
            ),
            (
                Collected::Ok(default_key_policy()),
                Collected::Ok(false),
                false,
                Status::Fail,
                "its automatic rotation is off",
            ),
            (
                Collected::Ok(public),
                Collected::Ok(true),
                false,
                Status::Fail,
                "allows Principal * (public)",
            ),
            (
                Collected::Skipped("AWS managed".to_owned()),
                Collected::Skipped("AWS".to_owned()),
                true,
                Status::Fail,
                "is an AWS managed key",
            ),
            (
                Collected::Failed(denied("kms:GetKeyPolicy")),
                Collected::Ok(true),
                false,
                Status::Error,
                "kms:GetKeyPolicy",
            ),
            (
                Collected::Ok(default_key_policy()),
                Collected::Failed(denied("kms:GetKeyRotationStatus")),
                false,
                Status::Error,
                "kms:GetKeyRotationStatus",
            ),
        ];
        for (policy, rotation, aws_managed, status, text) in table {
            let findings = findings_of(with_key(policy, rotation, aws_managed), DEFINITION.id);
            assert_eq!(findings.len(), 1);
            assert_eq!(findings[0].status, status, "{}", findings[0].message);
            assert!(
                findings[0].message.contains(text),
                "{}",
                findings[0].message
            );
            assert_eq!(findings[0].resource, SECRET_ARN);
        }
    }

    #[test]
    fn a_known_fault_is_not_hidden_by_an_unread_part_and_caller_account_pins() {
        let pinned = |principal: serde_json::Value| {
            serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": principal,
                "Action": "kms:Decrypt", "Resource": "*",
                "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}}}]})
            .to_string()
        };
        let other_account = serde_json::json!({"Statement": [{"Effect": "Allow",
            "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"kms:CallerAccount": "999999999999"}}}]})
        .to_string();
        // (policy, rotation, status, in the message)
        let table = [
            (
                Collected::Failed(denied("kms:GetKeyPolicy")),
                Collected::Ok(false),
                Status::Fail,
                "its automatic rotation is off",
            ),
            (
                Collected::Skipped("not read".to_owned()),
                Collected::Ok(true),
                Status::Skip,
                "not read",
            ),
            (
                Collected::Ok(pinned(serde_json::json!("*"))),
                Collected::Ok(true),
                Status::Pass,
                "not public",
            ),
            (
                Collected::Ok(pinned(
                    serde_json::json!({"Service": "secretsmanager.amazonaws.com"}),
                )),
                Collected::Ok(true),
                Status::Pass,
                "not public",
            ),
            (
                Collected::Ok(other_account),
                Collected::Ok(true),
                Status::Fail,
                "allows Principal * (public)",
            ),
        ];
        for (policy, rotation, status, text) in table {
            let findings = findings_of(with_key(policy, rotation, false), DEFINITION.id);
            assert_eq!(findings[0].status, status, "{}", findings[0].message);
            assert!(
                findings[0].message.contains(text),
                "{}",
                findings[0].message
            );
        }
    }

    #[test]
    fn a_key_of_another_account_fails_naming_it() {
        let mut region = with_key(
            Collected::Skipped("a key of account 999999999999".to_owned()),
            Collected::Ok(true),
            false,
        );
        if let Collected::Ok(Some(key)) = &mut region.key_policies[0].key {
            key.account = Some("999999999999".to_owned());
        }
        let findings = findings_of(region, DEFINITION.id);
        assert_eq!(findings[0].status, Status::Fail);
        assert!(
            findings[0].message.contains("of account 999999999999"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn the_aws_managed_default_fails() {
        let mut region = compliant_region();
        if let Collected::Ok(secrets) = &mut region.secrets {
            secrets[0].kms_key_id = None;
        }
        let findings = findings_of(region, DEFINITION.id);
        assert_eq!(findings[0].status, Status::Fail);
        assert!(
            findings[0]
                .message
                .contains("AWS managed key aws/secretsmanager")
        );
    }

    /// A key policy that shares the key with an organisation: the account's
    /// own passes, another's fails, and with the account's organisation unread
    /// the verdict is an ERROR naming the read.
    #[test]
    fn a_key_shared_with_an_organisation_passes_only_for_the_accounts_own() {
        let shared = |organisation: &str| {
            let policy = serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": "*",
                "Action": "kms:Decrypt", "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": organisation}}}]})
            .to_string();
            with_key(Collected::Ok(policy), Collected::Ok(true), false)
        };
        let ours = || Collected::Ok(Some(ORGANIZATION.to_owned()));
        let cases = vec![
            (
                shared(ORGANIZATION),
                ours(),
                Status::Pass,
                "its key policy not public",
            ),
            (
                shared("o-another9999"),
                ours(),
                Status::Fail,
                "organisation o-another9999 (aws:PrincipalOrgID), not account 123456789012's organisation o-tutorial123",
            ),
            (
                shared("o-another9999"),
                Collected::Failed(denied("organizations:DescribeOrganization")),
                Status::Error,
                "organizations:DescribeOrganization",
            ),
        ];
        assert_in_organizations("secret.kms.customer-managed", cases);
    }
}
