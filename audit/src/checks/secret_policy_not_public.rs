//! `secret.policy.not-public`: the application secret's resource policy neither
//! makes it public nor shares it outside the account.
//!
//! Prowler's `secretsmanager_not_publicly_accessible` fails a secret whose
//! resource policy lets `*` read it; an auditor also wants to know when another
//! account may (a cross-account grant is a trust boundary crossed, whether or not
//! it is "public"). Who the policy lets in is read by
//! [`super::policy_document::resource_policy_access`]; a policy that shares the
//! secret with an organisation (`aws:PrincipalOrgID`) passes when it is the
//! account's own (`organizations:DescribeOrganization`), and the message names
//! it; another organisation's, or any when the account is in none, fails; an
//! organisation that cannot be compared (the account's was not read) is an
//! ERROR, as an unknown account is. A secret without a resource policy passes: only this
//! account's identity policies can grant access to it (Secrets Manager user
//! guide, "Resource-based policies").

use super::context::Context;
use super::policy_document::{judge_organisations, resource_policy_access};
use crate::finding::{CheckDefinition, Finding, Severity};
use crate::inventory::Collected;

pub const DEFINITION: CheckDefinition = CheckDefinition {
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

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
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
                return context.finding(def, crate::finding::Status::Error, resource, format!("secret {name}: the audited account is unknown (sts:GetCallerIdentity failed), so its resource policy cannot be judged; grant the auditor sts:GetCallerIdentity"));
            };
            let access = match resource_policy_access(document, account) {
                Ok(access) => access,
                Err(fault) => return context.fail(def, resource, format!("secret {name}: {fault}")),
            };
            let organisations = judge_organisations(access.organisations, account, context.organization_id);
            let mut faults = access.faults;
            faults.extend(organisations.foreign);
            if !faults.is_empty() {
                return context.fail(def, resource, format!("secret {name}: {}; expected access only for principals of account {account}", faults.join("; ")));
            }
            if !organisations.undecided.is_empty() {
                // Undecided as with the account unknown above: ERROR, naming the read.
                return context.finding(def, crate::finding::Status::Error, resource, format!("secret {name}: {}", organisations.undecided.join("; ")));
            }
            if organisations.own.is_empty() {
                context.pass(def, resource, format!("secret {name}: its resource policy allows only principals of account {account}"))
            } else {
                context.pass(def, resource, format!("secret {name}: its resource policy allows principals of account {account} and the accounts of organisation {} (this account's), and is not public", organisations.own.join(", ")))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::finding::Status;
    use serde_json::json;

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

    /// A policy that shares the secret with an organisation: the account's own
    /// PASSes naming it, another's FAILs, and with the account's organisation
    /// unread it is an ERROR naming the pinned id and the read.
    #[test]
    fn a_secret_shared_with_an_organisation_passes_only_for_the_accounts_own() {
        let shared = |organisation: &str| {
            let mut region = compliant_region();
            region.secret_policies[0].policy = Collected::Ok(Some(
                json!({"Statement": {"Effect": "Allow", "Principal": "*",
                "Action": "secretsmanager:GetSecretValue", "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": organisation}}}})
                .to_string(),
            ));
            region
        };
        let ours = || Collected::Ok(Some(ORGANIZATION.to_owned()));
        let cases = vec![
            (
                shared(ORGANIZATION),
                ours(),
                Status::Pass,
                "and the accounts of organisation o-tutorial123 (this account's)",
            ),
            (
                shared("o-another9999"),
                ours(),
                Status::Fail,
                "organisation o-another9999 (aws:PrincipalOrgID), not account 123456789012's organisation o-tutorial123",
            ),
            (
                shared(ORGANIZATION),
                Collected::Ok(None),
                Status::Fail,
                "and account 123456789012 is in no organisation",
            ),
            (
                shared("o-another9999"),
                Collected::Failed(denied("organizations:DescribeOrganization")),
                Status::Error,
                "whether o-another9999 is account 123456789012's organisation is undecided, organizations:DescribeOrganization was not read",
            ),
        ];
        assert_in_organizations("secret.policy.not-public", cases);
    }
}
