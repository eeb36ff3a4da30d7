//! `secret.rotation.function-role`: the rotation function's execution role may do
//! every call an alternating-users rotation makes.
//!
//! A function whose role lacks one permission passes every other check and
//! fails every rotation (AccessDenied in its logs, the secret left with a
//! pending version). What the role must allow is not written here: it is derived
//! from the rotator's own list of its calls, `permissions::CALLS` (the Secrets
//! Manager user guide, "Lambda rotation function execution role permissions",
//! agrees), the list `cargo xtask deploy` builds the role's policy from. Each row
//! whose condition the inventory shows to hold is required:
//!
//! - on the application secret and on `*` (`GetRandomPassword`): always;
//! - on the `masterarn` secret (alternating users): known from the value only
//!   (`--read-secrets`); RDS-managed (`owningService` `rds`), its database's rows
//!   too, on the instance its `aws:rds:primaryDBInstanceArn` tag names (and that
//!   instance's read replicas, when the collected instance is it) or on the cluster
//!   its `aws:rds:primaryDBClusterArn` names;
//! - on the key of each secret encrypted with a customer-managed key (`KmsKeyId`
//!   present). Secrets under the AWS managed key `aws/secretsmanager` need no KMS
//!   permission in the role: every principal of the account may use that key
//!   through Secrets Manager (Secrets Manager API reference, `KmsKeyId`: "All users
//!   and roles in the AWS account automatically have access to use
//!   aws/secretsmanager"), and `DescribeSecret` omits `KmsKeyId` for it.
//!
//! Optional rows (`ListSecretVersionIds`: AWS's own rotation templates lack it and
//! the rotator falls back to the labelled versions) never FAIL; a PASS says when
//! one is not allowed and what degrades. Not judged, for want of evidence: the
//! member instances of an Aurora cluster (the inventory holds one instance), and
//! the RDS lookups of an admin secret that names a `host` (its value is not read).
//!
//! Decryption happens inside Secrets Manager on the role's behalf, so the request
//! context has `kms:ViaService` = `secretsmanager.<region>.amazonaws.com` and
//! `kms:EncryptionContext:SecretARN` = the secret (Secrets Manager user guide,
//! "Secret encryption and decryption"); conditions on those keys are evaluated.
//! Statements under other conditions are not guessed at (see [`crate::iam_eval`]):
//! the finding is then ERROR, naming the statement and the condition, for a person
//! to verify (`aws iam simulate-principal-policy`), never PASS.
//!
//! Beside the role's own policies, its permissions boundary (`GetRole`) and the
//! application secret's resource policy decide (IAM user guide, "Policy evaluation
//! logic"; Secrets Manager user guide, "Determine who has permissions to your AWS
//! Secrets Manager secrets"): a `Deny` in the secret's policy naming the role, its
//! account or everyone FAILs, an `Allow` there naming the role grants within the
//! boundary, and a call the boundary leaves out FAILs naming the boundary. The
//! `masterarn` secret's resource policy is read where the secret is described
//! (`--read-secrets`) and judged the same way. SCPs and RCPs are not evaluated.
//!
//! On a customer managed key the key policy decides first (KMS developer guide,
//! "Key policies in AWS KMS": "Unless the key policy explicitly allows it, you
//! cannot use IAM policies to allow access to a KMS key", and "KMS key access and
//! permissions"; https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html,
//! https://docs.aws.amazon.com/kms/latest/developerguide/control-access.html): a
//! `Deny` in it naming the role, its account or everyone FAILs; an `Allow` naming
//! the role grants without IAM (within the boundary); the role's IAM `Allow` counts
//! only where a statement allows the account (`arn:aws:iam::<account>:root`, the
//! default key policy's "Allows access to the AWS account and enables IAM
//! policies"), and a FAIL says when the key policy set one aside. The collector
//! resolves an alias with `kms:DescribeKey` (which also tells an AWS managed key,
//! needing nothing, apart, and the key state: a key not `Enabled` refuses every
//! cryptographic call, so FAIL whatever the policies say). KMS grants, which can
//! only add access, are not read: a PASS says which key policies were judged
//! without them. The KMS call is Secrets Manager's on the role's behalf (a forward
//! access session): `aws:ViaAWSService` is true and `aws:PrincipalIsAWSService`
//! false, so a data perimeter's usual service exception is judged.
//!
//! A policy the audit failed to read (access denied to `iam:GetPolicyVersion`,
//! say) does not hide what the others already decide: an explicit `Deny` read
//! elsewhere still FAILs, as does a call the role's policies leave out when only
//! the boundary is unread (a boundary never grants). Only the verdicts the unread
//! policy could change are ERROR, naming it and the permission the auditor lacks.
//!
//! Without `--read-secrets` the `masterarn` is unknown: the application-secret
//! part is still judged (a missing permission there FAILs), otherwise SKIP.

use super::context::Context;
use super::rotation_permissions::{
    Admin, CLUSTER_TAG, Gap, INSTANCE_TAG, KeyDelegation, OtherPolicies, Part, ResourcePolicy,
    judge, lambda_session, needs, needs_of, remediation, unusable_key, with_resolved_key,
};
use crate::finding::{CheckDefinition, Finding, Severity, Status};
use crate::iam_eval::{self, NamedPolicy};
use crate::inventory::{Collected, RoleRecord, Secret};
use permissions::{CALLS, Need as CallNeed};

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "secret.rotation.function-role",
    title: "The rotation function's execution role allows every call the rotation makes",
    severity: Severity::High,
    resource_type: "AwsIamRole",
    // The finding's own remediation lists each call, from `permissions::CALLS`
    // ([`remediation`]); this one stands where no role was judged.
    remediation: "Allow to the rotation function's execution role every call the rotator makes, each on its resource (the list is `permissions::CALLS`; the finding's remediation names them), and remove any Deny of them (`cargo xtask deploy` writes this least-privilege policy)",
    compliance: &["AWS-FSBP:SecretsManager.2"],
    references: &[
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html",
    ],
};

/// A secret whose resource policy the role's calls meet: the application secret,
/// then the masterarn secret.
struct PolicyHolder<'a> {
    arn: &'a str,
    name: &'a str,
}

/// The role's permissions boundary and the resource policies of the application
/// and masterarn secrets, as collected. One the audit tried and failed to read is
/// a [`Gap`]; one the inventory does not hold (an earlier version's, or a
/// masterarn secret's read without `--read-secrets`) is said in a PASS.
/// `function` names the session Lambda opens with the role (the function's name).
fn other_policies(
    context: &Context<'_>,
    record: &RoleRecord,
    holders: &[PolicyHolder<'_>],
    keys: &[&str],
    role: &str,
    function: &str,
) -> Result<OtherPolicies, Box<Finding>> {
    let def = &DEFINITION;
    let mut other = OtherPolicies::default();
    for (part, name) in [
        (&record.inline_policies, "the role's inline policies"),
        (&record.attached_policies, "the role's attached policies"),
    ] {
        if let Collected::Failed(error) = part {
            other.gaps.push(Gap {
                part: Part::Identity,
                name: name.to_owned(),
                why: error.describe(),
            });
        }
    }
    match &record.permissions_boundary {
        Collected::Ok(Some(boundary)) => {
            other.boundary = Some((boundary.name.clone(), boundary.document.clone()));
        }
        Collected::Ok(None) => {}
        Collected::Skipped(why) => other.unread.push(format!(
            "the role's permissions boundary was not read ({why})"
        )),
        Collected::Failed(error) => other.gaps.push(Gap {
            part: Part::Boundary,
            name: "the role's permissions boundary".to_owned(),
            why: error.describe(),
        }),
    }
    let session = lambda_session(role, function);
    let caller = iam_eval::Caller {
        role,
        session: &session,
        // A boundary the audit could not read still bounds the role.
        bounded: other.boundary.is_some() || other.gaps.iter().any(|g| g.part == Part::Boundary),
    };
    for holder in holders {
        let policy = context
            .region
            .secret_policies
            .iter()
            .find(|p| p.secret_arn == holder.arn)
            .map(|p| &p.policy);
        let name = format!("the resource policy of secret {}", holder.name);
        match policy {
            Some(Collected::Ok(Some(document))) => {
                let document =
                    iam_eval::resource_policy_for_role(document, &caller).map_err(|why| {
                        Box::new(context.finding(
                            def,
                            Status::Error,
                            holder.arn,
                            format!("secret {}: {why}", holder.name),
                        ))
                    })?;
                other.resources.push(ResourcePolicy {
                    resource: holder.arn.to_owned(),
                    name,
                    document,
                });
            }
            Some(Collected::Ok(None)) => {}
            Some(Collected::Failed(error)) => other.gaps.push(Gap {
                part: Part::Resource(holder.arn.to_owned()),
                name,
                why: error.describe(),
            }),
            Some(Collected::Skipped(why)) => {
                other.unread.push(format!("{name} was not read ({why})"));
            }
            None => other.unread.push(format!("{name} was not read")),
        }
    }
    for key in keys {
        key_policy(context, &caller, key, &mut other)?;
    }
    Ok(other)
}

/// The key policy of the customer managed key `key` (an ARN), as collected, into
/// `other`: the statements that speak to the role beside the secrets' resource
/// policies (a `Deny` naming the role, its account or everyone applies, an `Allow`
/// naming the role grants without IAM), and those that delegate to the account.
/// One the audit could not read is a [`Gap`] on the key; a key `DescribeKey` does
/// not find has no policy to allow anything.
fn key_policy(
    context: &Context<'_>,
    caller: &iam_eval::Caller<'_>,
    key: &str,
    other: &mut OtherPolicies,
) -> Result<(), Box<Finding>> {
    let def = &DEFINITION;
    let name = format!("the key policy of {key}");
    let record = context.region.key_policies.iter().find(|r| match &r.key {
        Collected::Ok(Some(k)) => k.arn == key,
        _ => r.key_id == key || key.ends_with(&format!(":key/{}", r.key_id)),
    });
    let document = match record.map(|r| &r.key) {
        None => {
            other.unread.push(format!(
                "{name} was not read (an inventory of an earlier version)"
            ));
            return Ok(());
        }
        Some(Collected::Skipped(why)) => {
            other.unread.push(format!("{name} was not read ({why})"));
            return Ok(());
        }
        Some(Collected::Failed(error)) => {
            other.gaps.push(Gap {
                part: Part::Resource(key.to_owned()),
                name,
                why: error.describe(),
            });
            return Ok(());
        }
        // No such key: nothing allows its use.
        Some(Collected::Ok(None)) => r#"{"Statement": []}"#.to_owned(),
        Some(Collected::Ok(Some(record))) => {
            if let Some(line) = unusable_key(key, record.key_state.as_deref()) {
                other.unusable_keys.push(line);
            }
            match &record.policy {
                Collected::Ok(document) => document.clone(),
                Collected::Failed(error) => {
                    other.gaps.push(Gap {
                        part: Part::Resource(key.to_owned()),
                        name,
                        why: error.describe(),
                    });
                    return Ok(());
                }
                Collected::Skipped(why) => {
                    other.unread.push(format!("{name} was not read ({why})"));
                    return Ok(());
                }
            }
        }
    };
    let error =
        |why: String| Box::new(context.finding(def, Status::Error, key, format!("{name}: {why}")));
    let direct = iam_eval::resource_policy_for_role(&document, caller).map_err(error)?;
    let delegation = iam_eval::key_policy_delegation(&document, caller).map_err(error)?;
    other.resources.push(ResourcePolicy {
        resource: key.to_owned(),
        name: name.clone(),
        document: direct,
    });
    other.delegations.push(KeyDelegation {
        resource: key.to_owned(),
        name,
        document: delegation,
    });
    Ok(())
}

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    let mut findings = context.each_primary_secret(def, |secret| {
        let secret = &with_resolved_key(secret, &context.region.key_policies);
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
        // A list the audit failed to read is a `Gap` (other_policies): the rest
        // is still judged.
        for part in [&record.inline_policies, &record.attached_policies] {
            match part {
                Collected::Ok(policies) => documents.extend(policies.iter()),
                Collected::Failed(_) => {}
                Collected::Skipped(why) => return context.skip(def, role, why),
            }
        }
        let policies: Vec<NamedPolicy<'_>> = documents
            .iter()
            .map(|p| NamedPolicy { name: &p.name, document: &p.document })
            .collect();
        // The masterarn secret, known only from the value (--read-secrets).
        let facts = context.region.secret_values.iter().find(|v| v.secret_arn == secret.arn).and_then(|v| v.facts.ok());
        let masterarn = facts.and_then(|f| f.masterarn.as_deref());
        // Without the masterarn secret's own record, whether RDS manages it (and so
        // which RDS calls the rotator makes) and its key are unknown: the calls known
        // from its ARN are judged, and the rest is said, never passed over in silence.
        // A secret that does not exist is secret.rotation.admin-linked's FAIL; one
        // the audit could not read is an ERROR here.
        let (admin, admin_unknown): (Option<Secret>, Option<(Status, String)>) = match masterarn {
            None => (None, None),
            Some(arn) => {
                let bare = || Secret { arn: arn.to_owned(), name: arn.to_owned(), ..Secret::default() };
                match context.region.admin_secrets.iter().find(|a| a.arn == arn).map(|a| &a.secret) {
                    Some(Collected::Ok(Some(admin))) => (Some(with_resolved_key(admin, &context.region.key_policies)), None),
                    Some(Collected::Ok(None)) => (Some(bare()), Some((Status::Pass, format!("the masterarn secret {arn} does not exist (see secret.rotation.admin-linked)")))),
                    Some(_) => (Some(bare()), Some((Status::Error, format!("the masterarn secret {arn} could not be described (see the audit's own access errors)")))),
                    None => (Some(bare()), Some((Status::Error, format!("the masterarn secret {arn} was not collected (another account or region?)")))),
                }
            }
        };
        let replicas = admin.as_ref().map(|a| replica_arns(context, a, facts)).unwrap_or_default();
        let admin = admin.as_ref().map(|secret| Admin { secret, replicas: &replicas });
        let needs = match needs(secret, admin, role) {
            Ok(needs) => needs,
            Err(why) => return context.finding(def, Status::Error, role, why),
        };
        let mut holders = vec![PolicyHolder { arn: &secret.arn, name: &secret.name }];
        if let Some(admin) = &admin {
            holders.push(PolicyHolder { arn: &admin.secret.arn, name: &admin.secret.name });
        }
        let mut keys: Vec<&str> = needs.iter().filter(|n| n.via_secret.is_some()).map(|n| n.resource.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let other = match other_policies(context, record, &holders, &keys, role, &configuration.name) {
            Ok(other) => other,
            Err(finding) => return *finding,
        };
        let (denied, undecided) = match judge(&policies, &other, &needs, role, &context.region.region, context.account_id) {
            Ok(verdict) => verdict,
            Err(why) => return context.finding(def, Status::Error, role, format!("role {role}: {why}")),
        };
        let subject = format!("role {role} of rotation function {} (secret {name})", configuration.name);
        let unread: Vec<String> = other.gaps.iter().map(Gap::describe).collect();
        if !denied.is_empty() || !other.unusable_keys.is_empty() {
            let also = if unread.is_empty() { String::new() } else { format!(" (also, {})", unread.join("; ")) };
            let mut lines = other.unusable_keys.clone();
            if !denied.is_empty() {
                lines.push(format!("{}; expected an Allow of each (rotations fail with AccessDenied otherwise)", denied.join("; ")));
            }
            return context.fail(def, role, format!("{subject}: {}{also}", lines.join("; ")));
        }
        if !unread.is_empty() && !undecided.is_empty() {
            return context.finding(def, Status::Error, role, format!("{subject}: cannot be decided: {}; undecided: {}; grant the auditor the read it lacks and rerun, or verify with aws iam simulate-principal-policy", unread.join("; "), undecided.join("; ")));
        }
        if !undecided.is_empty() {
            return context.finding(def, Status::Error, role, format!("{subject}: cannot be decided offline: {}; verify with aws iam simulate-principal-policy, or drop the condition", undecided.join("; ")));
        }
        let unknown_note = match admin_unknown {
            Some((Status::Error, unknown)) => {
                return context.finding(def, Status::Error, role, format!("{subject} allows every call it can be judged on, but {unknown}, so whether RDS manages it and its key are unknown: the calls the rotator makes for them (secretsmanager:DescribeSecret, rds:DescribeDBInstances or DescribeDBClusters, kms:Decrypt) cannot be judged"));
            }
            Some((_, unknown)) => format!("; {unknown}: its RDS and KMS calls are not judged"),
            None => String::new(),
        };
        if masterarn.is_none() {
            let reason = if context.scope.read_secrets {
                format!("{subject} allows every call on the application secret; the masterarn secret is unknown (the secret's value was not read, see secret.rotation.admin-linked)")
            } else {
                format!("{subject} allows every call on the application secret; the masterarn secret is read from the secret's value: rerun with --read-secrets to judge its permissions")
            };
            return context.skip(def, role, &reason);
        }
        let actions: Vec<String> = needs.iter().map(|n| format!("{} on {}", n.action, n.resource)).collect();
        let notes = pass_notes(&policies, &other, secret, admin, role, context);
        context.pass(def, role, format!("{subject} allows {}{notes}{unknown_note}", actions.join(", ")))
    });
    let remediation = remediation();
    for finding in &mut findings {
        finding.remediation.clone_from(&remediation);
    }
    findings
}

/// The read replicas of the admin secret's instance the rotator describes, as ARNs
/// (RDS names a replica of another region by its ARN), when the collected database
/// is that instance: the rule is `permissions::replicas_described`, the one the
/// rotator follows (none for a secret on the primary; only the replica its host
/// names).
pub(super) fn replica_arns(
    context: &Context<'_>,
    admin: &Secret,
    facts: Option<&crate::inventory::SecretFacts>,
) -> Vec<String> {
    let Collected::Ok(Some(db)) = &context.region.database else {
        return Vec::new();
    };
    if admin.tags.get(INSTANCE_TAG) != Some(&db.arn) {
        return Vec::new();
    }
    let on_primary = facts.is_some_and(|f| {
        f.host
            .as_deref()
            .zip(db.address.as_deref())
            .is_some_and(|(host, address)| permissions::same_host(host, address))
            && f.port.unwrap_or(3306) == db.port.unwrap_or(3306)
    });
    let host = facts.and_then(|f| f.host.as_deref()).unwrap_or_default();
    let prefix = db.arn.rsplit_once(':').map_or("", |(prefix, _)| prefix);
    permissions::replicas_described(host, on_primary, &db.read_replicas)
        .into_iter()
        .map(|r| {
            if r.starts_with("arn:") {
                r.clone()
            } else {
                format!("{prefix}:{r}")
            }
        })
        .collect()
}

/// What a PASS adds: each optional call the role does not allow and what degrades
/// without it, and what was not judged for want of evidence.
fn pass_notes(
    policies: &[NamedPolicy<'_>],
    other: &OtherPolicies,
    secret: &Secret,
    admin: Option<Admin<'_>>,
    role: &str,
    context: &Context<'_>,
) -> String {
    let mut notes = Vec::new();
    for need in needs_of(secret, admin, role, false).unwrap_or_default() {
        let without = CALLS.iter().find_map(|c| match c.need {
            CallNeed::Optional { without } if c.action == need.action => Some(without),
            _ => None,
        });
        let verdict = judge(
            policies,
            other,
            std::slice::from_ref(&need),
            role,
            &context.region.region,
            context.account_id,
        );
        if let (Some(without), Ok((denied, undecided))) = (without, verdict) {
            for line in denied.iter().chain(&undecided) {
                notes.push(format!("not required: {line} (without it, {without})"));
            }
        }
    }
    notes.extend(other.unread.iter().map(|u| format!("not judged: {u}")));
    // A policy that could not be read but decides none of the calls (a resource
    // policy of a secret no call is made on) is still said.
    notes.extend(
        other
            .gaps
            .iter()
            .map(|g| format!("not judged: {}", g.describe())),
    );
    // The key policies read were judged (an unread one is in `unread` or `gaps`);
    // KMS grants, which can only add access, are not read.
    for key in &other.delegations {
        notes.push(format!(
            "{} judged with the role's policies (KMS grants not read)",
            key.name
        ));
    }
    if admin.is_some_and(|a| a.tag(CLUSTER_TAG).is_some()) {
        notes.push("rds:DescribeDBInstances on the cluster's member instances is not judged (the inventory does not list them)".to_owned());
    }
    if notes.is_empty() {
        String::new()
    } else {
        format!("; {}", notes.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::inventory::{PolicyDocument, RegionInventory};
    use serde_json::{Value, json};

    /// The role check over the compliant region with `inline` as the role's
    /// policies, the application secret under the AWS managed key (so that the
    /// policies need no KMS statement) unless `change` says otherwise.
    fn with_policies(inline: Vec<Value>, change: impl Fn(&mut RegionInventory)) -> Vec<Finding> {
        let mut region = compliant_region();
        if let Collected::Ok(secrets) = &mut region.secrets {
            for secret in secrets.iter_mut() {
                secret.kms_key_id = None;
            }
        }
        region.key_policies.clear();
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
    #[allow(clippy::too_many_lines)] // a table of cases
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
        let random = json!({"Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"});
        let doc =
            |statements: Vec<&Value>| json!({"Version": "2012-10-17", "Statement": statements});
        let cases: Vec<(&str, Vec<Value>, Status, &str)> = vec![
            (
                "all four",
                vec![doc(vec![&app, &admin, &rds, &random])],
                Status::Pass,
                "secretsmanager:GetRandomPassword on *",
            ),
            (
                "no GetRandomPassword",
                vec![doc(vec![&app, &admin, &rds])],
                Status::Fail,
                "no statement allows secretsmanager:GetRandomPassword on * (the action takes no resource)",
            ),
            (
                "GetRandomPassword on a secret's ARN only: the action takes `*`",
                vec![doc(vec![
                    &app,
                    &admin,
                    &rds,
                    &json!({"Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": SECRET_ARN}),
                ])],
                Status::Fail,
                "secretsmanager:GetRandomPassword on *",
            ),
            (
                "no ListSecretVersionIds: optional, a note in the PASS",
                vec![doc(vec![
                    &json!({"Effect": "Allow", "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"], "Resource": SECRET_ARN}),
                    &admin,
                    &rds,
                    &random,
                ])],
                Status::Pass,
                "not required: no statement allows secretsmanager:ListSecretVersionIds on",
            ),
            (
                "no GetSecretValue on masterarn",
                vec![doc(vec![
                    &app,
                    &json!({"Effect": "Allow", "Action": "secretsmanager:DescribeSecret", "Resource": ADMIN_ARN}),
                    &rds,
                    &random,
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
                    &random,
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
    fn the_admin_databases_replicas_and_cluster_are_required_as_the_rotator_describes_them() {
        type Change = fn(&mut RegionInventory);
        const REPLICA: &str = "arn:aws:rds:us-east-1:123456789012:db:replica-1";
        const CLUSTER: &str = "arn:aws:rds:us-east-1:123456789012:cluster:tutorial";
        let secrets = json!({"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"});
        let instances = |arns: Value| json!({"Effect": "Allow", "Action": "rds:DescribeDBInstances", "Resource": arns});
        let clusters =
            json!({"Effect": "Allow", "Action": "rds:DescribeDBClusters", "Resource": CLUSTER});
        let with_replica = |region: &mut RegionInventory| {
            if let Collected::Ok(Some(db)) = &mut region.database {
                db.read_replicas = vec!["replica-1".to_owned()];
            }
        };
        let on_replica_of_two = |region: &mut RegionInventory| {
            if let Collected::Ok(Some(db)) = &mut region.database {
                db.read_replicas = vec!["replica-1".to_owned(), "replica-2".to_owned()];
            }
            if let Collected::Ok(facts) = &mut region.secret_values[0].facts {
                facts.host = Some("replica-1.abc.us-east-1.rds.amazonaws.com".to_owned());
            }
        };
        // The application secret names the replica's endpoint, not the primary's.
        let on_replica = |region: &mut RegionInventory| {
            if let Collected::Ok(Some(db)) = &mut region.database {
                db.read_replicas = vec!["replica-1".to_owned()];
            }
            if let Collected::Ok(facts) = &mut region.secret_values[0].facts {
                facts.host = Some("replica-1.abc.us-east-1.rds.amazonaws.com".to_owned());
            }
        };
        let aurora = |region: &mut RegionInventory| {
            if let Collected::Ok(Some(admin)) = &mut region.admin_secrets[0].secret {
                admin.tags.remove(INSTANCE_TAG);
                admin
                    .tags
                    .insert(CLUSTER_TAG.to_owned(), CLUSTER.to_owned());
            }
        };
        let cases: Vec<(&str, Vec<Value>, Change, Status, &str)> = vec![
            (
                "the instance only",
                vec![secrets.clone(), instances(json!(DB_ARN))],
                |_| {},
                Status::Pass,
                "rds:DescribeDBInstances on arn:aws:rds:us-east-1:123456789012:db:secretsmanagertutorial",
            ),
            (
                "a replica added after the role: a secret on the primary needs nothing on it",
                vec![secrets.clone(), instances(json!(DB_ARN))],
                with_replica,
                Status::Pass,
                "rds:DescribeDBInstances on arn:aws:rds:us-east-1:123456789012:db:secretsmanagertutorial",
            ),
            (
                "a secret on the primary named with a trailing dot is on the primary",
                vec![secrets.clone(), instances(json!(DB_ARN))],
                |region| {
                    let address = match &mut region.database {
                        Collected::Ok(Some(db)) => {
                            db.read_replicas = vec!["replica-1".to_owned()];
                            db.address.clone().unwrap_or_default()
                        }
                        _ => String::new(),
                    };
                    if let Collected::Ok(facts) = &mut region.secret_values[0].facts {
                        facts.host = Some(format!("{}.", address.to_ascii_uppercase()));
                    }
                },
                Status::Pass,
                "rds:DescribeDBInstances on arn:aws:rds:us-east-1:123456789012:db:secretsmanagertutorial",
            ),
            (
                "a secret on the replica: the rotator describes the replicas",
                vec![secrets.clone(), instances(json!(DB_ARN))],
                on_replica,
                Status::Fail,
                "no statement allows rds:DescribeDBInstances on arn:aws:rds:us-east-1:123456789012:db:replica-1 (a read replica of",
            ),
            (
                "the instance and its replica",
                vec![secrets.clone(), instances(json!([DB_ARN, REPLICA]))],
                on_replica,
                Status::Pass,
                REPLICA,
            ),
            (
                "only the replica the host names, as the rotator describes only it",
                vec![secrets.clone(), instances(json!([DB_ARN, REPLICA]))],
                on_replica_of_two,
                Status::Pass,
                REPLICA,
            ),
            (
                "an Aurora admin secret needs DescribeDBClusters",
                vec![secrets.clone()],
                aurora,
                Status::Fail,
                "no statement allows rds:DescribeDBClusters on arn:aws:rds:us-east-1:123456789012:cluster:tutorial",
            ),
            (
                "with it, saying what is not judged",
                vec![secrets.clone(), clusters],
                aurora,
                Status::Pass,
                "cluster's member instances is not judged",
            ),
        ];
        for (name, statements, change, status, text) in cases {
            let findings = with_policies(vec![json!({"Statement": statements})], change);
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
        }
    }

    #[test]
    fn a_masterarn_secret_that_was_not_collected_is_an_error_not_a_pass() {
        let everything = json!({"Effect": "Allow", "Action": "*", "Resource": "*"});
        let findings = with_policies(vec![json!({"Statement": [everything]})], |region| {
            region.admin_secrets.clear();
        });
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].status, Status::Error, "{}", findings[0].message);
        // A call the role denies on the application secret is still a FAIL.
        let reads_only =
            json!({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"});
        let failed = with_policies(vec![json!({"Statement": [reads_only]})], |region| {
            region.admin_secrets.clear();
        });
        assert_eq!(failed[0].status, Status::Fail, "{}", failed[0].message);
        assert!(
            findings[0].message.contains("was not collected")
                && findings[0].message.contains(ADMIN_ARN)
                && findings[0].message.contains("cannot be judged"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn the_remediation_names_every_call_of_the_rotators_list() {
        let text = remediation();
        for call in permissions::CALLS {
            assert!(text.contains(call.action), "{}: {text}", call.action);
        }
        assert!(
            text.contains("on `*`: secretsmanager:GetRandomPassword"),
            "{text}"
        );
        assert!(
            text.contains("secretsmanager:ListSecretVersionIds (optional"),
            "{text}"
        );
        let findings = with_policies(Vec::new(), |_| {});
        assert_eq!(findings[0].status, Status::Fail);
        assert_eq!(findings[0].remediation, text);
    }

    #[test]
    fn the_secrets_resource_policy_and_the_roles_boundary_decide_with_its_policies() {
        type Change = Box<dyn Fn(&mut RegionInventory)>;
        let deploy: Value = serde_json::from_str(&rotation_role_policy()).expect("policy");
        let without_put = {
            let mut doc = deploy.clone();
            for statement in doc["Statement"].as_array_mut().expect("statements") {
                if let Some(actions) = statement["Action"].as_array_mut() {
                    actions.retain(|a| a != "secretsmanager:PutSecretValue");
                }
            }
            doc
        };
        let on_secret = |statement: Value| {
            move |region: &mut RegionInventory| {
                region.secret_policies[0].policy = Collected::Ok(Some(
                    json!({"Version": "2012-10-17", "Statement": [statement.clone()]}).to_string(),
                ));
            }
        };
        let boundary = |actions: Value| {
            move |region: &mut RegionInventory| {
                region.roles[0].permissions_boundary = Collected::Ok(Some(PolicyDocument {
                    name: "permissions boundary arn:aws:iam::123456789012:policy/b".to_owned(),
                    document: json!({"Statement": {"Effect": "Allow", "Action": actions.clone(), "Resource": "*"}}).to_string(),
                }));
            }
        };
        let put = "secretsmanager:PutSecretValue";
        let cases: Vec<(&str, Vec<Value>, Change, Status, String)> = vec![
            (
                "a Deny in the secret's policy naming the role",
                vec![deploy.clone()],
                Box::new(on_secret(json!({"Effect": "Deny", "Principal": {"AWS": ROLE}, "Action": put, "Resource": "*"}))),
                Status::Fail,
                format!("the resource policy of secret SecretsManagerTutorialAppuser statement 1 denies {put} on {SECRET_ARN}"),
            ),
            (
                "a Deny in the secret's policy for everyone but an admin role",
                vec![deploy.clone()],
                Box::new(on_secret(json!({"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:role/admin"}, "Action": "secretsmanager:*", "Resource": "*"}))),
                Status::Fail,
                "denies secretsmanager:DescribeSecret on".to_owned(),
            ),
            (
                "a Deny naming another role",
                vec![deploy.clone()],
                Box::new(on_secret(json!({"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::123456789012:role/admin"}, "Action": put, "Resource": "*"}))),
                Status::Pass,
                "allows".to_owned(),
            ),
            (
                "the secret's policy grants what the role's own does not",
                vec![without_put.clone()],
                Box::new(on_secret(json!({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": put, "Resource": "*"}))),
                Status::Pass,
                "allows".to_owned(),
            ),
            (
                "an Allow naming only the account grants nothing",
                vec![without_put.clone()],
                Box::new(on_secret(json!({"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": put, "Resource": "*"}))),
                Status::Fail,
                format!("no statement allows {put} on {SECRET_ARN}"),
            ),
            (
                "a boundary without GetRandomPassword",
                vec![deploy.clone()],
                Box::new(boundary(json!(["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage", "rds:DescribeDBInstances"]))),
                Status::Fail,
                "secretsmanager:GetRandomPassword on * (the action takes no resource) is allowed, but permissions boundary arn:aws:iam::123456789012:policy/b allows no such request".to_owned(),
            ),
            (
                "a boundary allowing everything the rotation does",
                vec![deploy.clone()],
                Box::new(boundary(json!(["secretsmanager:*", "rds:Describe*"]))),
                Status::Pass,
                "allows".to_owned(),
            ),
            (
                "a boundary not in the inventory is said",
                vec![deploy.clone()],
                Box::new(|region: &mut RegionInventory| {
                    region.roles[0].permissions_boundary = Collected::Skipped("the inventory predates its collection".to_owned());
                }),
                Status::Pass,
                "not judged: the role's permissions boundary was not read".to_owned(),
            ),
        ];
        for (why, inline, change, status, text) in cases {
            let findings = with_policies(inline, change);
            assert_eq!(findings.len(), 1, "{why}");
            assert_eq!(findings[0].status, status, "{why}: {}", findings[0].message);
            assert!(
                findings[0].message.contains(&text),
                "{why}: {}",
                findings[0].message
            );
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
        assert!(
            findings[0]
                .message
                .contains(&format!("not judged: the key policy of {KEY}")),
            "a key policy the inventory does not hold is not judged, and said: {}",
            findings[0].message
        );
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
    #[allow(clippy::too_many_lines)] // one table of cases, each with its key policy
    fn the_key_policy_decides_whether_the_roles_kms_allow_counts() {
        use crate::inventory::{KeyPolicyRecord, KeyRecord};
        // (why, the secret's KmsKeyId, the role's statements, the key policy, verdict, text)
        type Case = (
            &'static str,
            &'static str,
            Vec<Value>,
            Collected<String>,
            Status,
            String,
        );
        const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd";
        let all = json!({"Effect": "Allow", "Action": ["secretsmanager:*", "rds:DescribeDBInstances"], "Resource": "*"});
        let iam_kms = json!({"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": KEY});
        let iam_deny = json!({"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"});
        let key_policy = |statements: Value| -> Collected<String> {
            Collected::Ok(json!({"Version": "2012-10-17", "Statement": statements}).to_string())
        };
        let delegation = json!({"Sid": "Enable IAM User Permissions", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"});
        let other_principal = json!({"Sid": "KeyUsers", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:role/someone-else"}, "Action": "kms:*", "Resource": "*"});
        let the_role = json!({"Sid": "RotationRole", "Effect": "Allow", "Principal": {"AWS": ROLE},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}});
        let deny_all = json!({"Sid": "NoDecrypt", "Effect": "Deny", "Principal": {"AWS": "*"},
            "Action": "kms:Decrypt", "Resource": "*"});
        // Denies only what does not come through Secrets Manager: not the rotation's.
        let deny_direct = json!({"Sid": "OnlyThroughSecretsManager", "Effect": "Deny", "Principal": {"AWS": "*"},
            "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringNotEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}});
        // A data perimeter: deny what comes from outside the network, unless an AWS
        // service calls on the principal's behalf (the rotation's KMS call does).
        let perimeter = json!({"Sid": "NetworkPerimeter", "Effect": "Deny", "Principal": {"AWS": "*"},
            "Action": "kms:*", "Resource": "*",
            "Condition": {"NotIpAddressIfExists": {"aws:SourceIp": "192.0.2.0/24"},
                "BoolIfExists": {"aws:ViaAWSService": "false", "aws:PrincipalIsAWSService": "false"}}});
        // The same perimeter without the service exception denies it.
        let perimeter_no_exception = json!({"Sid": "ServicesOnly", "Effect": "Deny", "Principal": {"AWS": "*"},
            "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"Bool": {"aws:ViaAWSService": "true"}}});
        let unread = Collected::Failed(denied("kms:GetKeyPolicy"));
        let cases: Vec<Case> = vec![
            (
                "a data-perimeter Deny that spares calls an AWS service makes",
                KEY,
                vec![all.clone(), iam_kms.clone()],
                key_policy(json!([delegation, perimeter])),
                Status::Pass,
                format!("the key policy of {KEY} judged"),
            ),
            (
                "a Deny of calls an AWS service makes for the role",
                KEY,
                vec![all.clone(), iam_kms.clone()],
                key_policy(json!([delegation, perimeter_no_exception])),
                Status::Fail,
                format!(
                    "the key policy of {KEY} statement ServicesOnly denies kms:Decrypt on {KEY}"
                ),
            ),
            (
                "the key policy delegates and IAM allows",
                KEY,
                vec![all.clone(), iam_kms.clone()],
                key_policy(json!([delegation])),
                Status::Pass,
                format!("the key policy of {KEY} judged"),
            ),
            (
                "the key policy names another principal only: the IAM Allow has no effect",
                KEY,
                vec![all.clone(), iam_kms.clone()],
                key_policy(json!([other_principal])),
                Status::Fail,
                format!(
                    "kms:Decrypt on {KEY} (the customer-managed key of secret SecretsManagerTutorialAppuser) is allowed by inline policy p0 statement 2, but the key policy of {KEY} neither allows the role nor delegates"
                ),
            ),
            (
                "the key policy allows the role itself: no IAM Allow needed",
                KEY,
                vec![all.clone()],
                key_policy(json!([other_principal, the_role])),
                Status::Pass,
                format!("the key policy of {KEY} judged"),
            ),
            (
                "a Deny in the key policy wins over the delegated IAM Allow",
                KEY,
                vec![all.clone(), iam_kms.clone()],
                key_policy(json!([delegation, deny_all])),
                Status::Fail,
                format!("the key policy of {KEY} statement NoDecrypt denies kms:Decrypt on {KEY}"),
            ),
            (
                "a Deny under a condition the rotation's request does not meet",
                KEY,
                vec![all.clone(), iam_kms.clone()],
                key_policy(json!([delegation, deny_direct])),
                Status::Pass,
                format!("the key policy of {KEY} judged"),
            ),
            (
                "an alias, resolved by DescribeKey",
                "alias/rotation",
                vec![all.clone(), iam_kms.clone()],
                key_policy(json!([delegation])),
                Status::Pass,
                format!("the key policy of {KEY} judged"),
            ),
            (
                "the key policy unread, IAM allows: undecided, naming the read",
                KEY,
                vec![all.clone(), iam_kms.clone()],
                unread.clone(),
                Status::Error,
                "access denied to kms:GetKeyPolicy".to_owned(),
            ),
            (
                "the key policy unread, IAM denies: denied whatever it says",
                KEY,
                vec![all.clone(), iam_kms.clone(), iam_deny.clone()],
                unread.clone(),
                Status::Fail,
                format!("inline policy p0 statement 3 denies kms:Decrypt on {KEY}"),
            ),
        ];
        for (why, key_id, statements, policy, status, text) in cases {
            let findings = with_policies(vec![json!({"Statement": statements})], |region| {
                if let Collected::Ok(secrets) = &mut region.secrets {
                    secrets[0].kms_key_id = Some(key_id.to_owned());
                }
                region.key_policies = vec![KeyPolicyRecord {
                    key_id: key_id.to_owned(),
                    key: Collected::Ok(Some(KeyRecord {
                        arn: KEY.to_owned(),
                        account: None,
                        aws_managed: false,
                        key_state: Some("Enabled".to_owned()),
                        policy: policy.clone(),
                        rotation_enabled: Collected::Ok(true),
                    })),
                }];
            });
            assert_eq!(findings.len(), 1, "{why}");
            assert_eq!(findings[0].status, status, "{why}: {}", findings[0].message);
            assert!(
                findings[0].message.contains(&text),
                "{why}: {}",
                findings[0].message
            );
            if status != Status::Pass {
                assert!(
                    !findings[0].message.contains("judged"),
                    "{why}: {}",
                    findings[0].message
                );
            }
        }
        // Only an Enabled key decrypts, whatever the policies allow; a state an
        // inventory of an earlier version did not record is not held against it.
        // (KeyState, verdict, text)
        let states: [(Option<&str>, Status, &str); 6] = [
            (Some("Enabled"), Status::Pass, "judged"),
            (None, Status::Pass, "judged"),
            (
                Some("Disabled"),
                Status::Fail,
                "is Disabled, and KMS refuses kms:Decrypt",
            ),
            (
                Some("PendingDeletion"),
                Status::Fail,
                "aws kms cancel-key-deletion",
            ),
            (
                Some("PendingImport"),
                Status::Fail,
                "aws kms import-key-material",
            ),
            (
                Some("Unavailable"),
                Status::Fail,
                "aws kms connect-custom-key-store",
            ),
        ];
        for (state, status, text) in states {
            let findings = with_policies(
                vec![json!({"Statement": [all.clone(), iam_kms.clone()]})],
                |region| {
                    if let Collected::Ok(secrets) = &mut region.secrets {
                        secrets[0].kms_key_id = Some(KEY.to_owned());
                    }
                    region.key_policies = vec![KeyPolicyRecord {
                        key_id: KEY.to_owned(),
                        key: Collected::Ok(Some(KeyRecord {
                            arn: KEY.to_owned(),
                            account: None,
                            aws_managed: false,
                            key_state: state.map(str::to_owned),
                            policy: key_policy(json!([delegation])),
                            rotation_enabled: Collected::Ok(true),
                        })),
                    }];
                },
            );
            let message = &findings[0].message;
            assert_eq!(findings[0].status, status, "{state:?}: {message}");
            assert!(message.contains(text), "{state:?}: {message}");
            if status == Status::Fail {
                assert!(message.contains(&format!("key {KEY} is ")), "{message}");
            }
        }
        // The key `DescribeKey` reports as AWS managed needs nothing in the role.
        let findings = with_policies(vec![json!({"Statement": [all.clone()]})], |region| {
            if let Collected::Ok(secrets) = &mut region.secrets {
                secrets[0].kms_key_id = Some(KEY.to_owned());
            }
            region.key_policies = vec![KeyPolicyRecord {
                key_id: KEY.to_owned(),
                key: Collected::Ok(Some(KeyRecord {
                    arn: KEY.to_owned(),
                    account: None,
                    aws_managed: true,
                    key_state: Some("Enabled".to_owned()),
                    policy: Collected::Skipped("AWS managed".to_owned()),
                    rotation_enabled: Collected::Ok(true),
                })),
            }];
        });
        assert_eq!(findings[0].status, Status::Pass, "{}", findings[0].message);
        assert!(
            !findings[0].message.contains("kms:"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    #[allow(clippy::too_many_lines)] // one table of cases, each with its inventory change
    fn a_policy_that_could_not_be_read_keeps_only_what_it_could_change_undecided() {
        type Change = Box<dyn Fn(&mut RegionInventory)>;
        let deploy: Value = serde_json::from_str(&rotation_role_policy()).expect("policy");
        let put = "secretsmanager:PutSecretValue";
        let deny_put = json!({"Statement": {"Effect": "Deny", "Action": put, "Resource": "*"}});
        let without_random = {
            let mut doc = deploy.clone();
            let statements = doc["Statement"].as_array_mut().expect("statements");
            let before = statements.len();
            statements.retain(|s| s["Action"] != json!("secretsmanager:GetRandomPassword"));
            assert_eq!(
                statements.len(),
                before - 1,
                "deploy's policy allows it once"
            );
            doc
        };
        let unread_attached = || -> Change {
            Box::new(|region: &mut RegionInventory| {
                region.roles[0].attached_policies =
                    Collected::Failed(denied("iam:ListAttachedRolePolicies"));
            })
        };
        // A boundary read without PutSecretValue, and the secret's policy unread.
        let boundary_without_put_secret_policy_unread: Change =
            Box::new(|region: &mut RegionInventory| {
                region.roles[0].permissions_boundary = Collected::Ok(Some(PolicyDocument {
                    name: "permissions boundary arn:aws:iam::123456789012:policy/b".to_owned(),
                    document: json!({"Statement": {"Effect": "Allow",
                        "NotAction": "secretsmanager:PutSecretValue", "Resource": "*"}})
                    .to_string(),
                }));
                region.secret_policies[0].policy =
                    Collected::Failed(denied("secretsmanager:GetResourcePolicy"));
            });
        // A Deny for everyone but the role (NotPrincipal) spares no principal
        // with a boundary, read or not.
        let not_principal_deny_boundary_unread: Change = Box::new(
            |region: &mut RegionInventory| {
                region.roles[0].permissions_boundary =
                    Collected::Failed(denied("iam:GetPolicyVersion"));
                region.secret_policies[0].policy = Collected::Ok(Some(
                    json!({"Statement": {"Effect": "Deny",
                    "NotPrincipal": {"AWS": [
                        "arn:aws:sts::123456789012:assumed-role/rotation-role/SecretsManagerTutorialRotation",
                        "arn:aws:iam::123456789012:root"]},
                    "Action": "secretsmanager:PutSecretValue", "Resource": "*"}})
                    .to_string(),
                ));
            },
        );
        let unread_boundary = || -> Change {
            Box::new(|region: &mut RegionInventory| {
                region.roles[0].permissions_boundary =
                    Collected::Failed(denied("iam:GetPolicyVersion"));
            })
        };
        let unread_secret_policy = || -> Change {
            Box::new(|region: &mut RegionInventory| {
                region.secret_policies[0].policy =
                    Collected::Failed(denied("secretsmanager:GetResourcePolicy"));
            })
        };
        let cases: Vec<(&str, Vec<Value>, Change, Status, &str)> = vec![
            // An explicit Deny in what was read stands, whatever the rest says.
            (
                "inline Deny, attached unread",
                vec![deploy.clone(), deny_put.clone()],
                unread_attached(),
                Status::Fail,
                "inline policy p1 statement 1 denies secretsmanager:PutSecretValue",
            ),
            (
                "inline Deny, boundary unread",
                vec![deploy.clone(), deny_put.clone()],
                unread_boundary(),
                Status::Fail,
                "also, the role's permissions boundary could not be read: access denied to iam:GetPolicyVersion",
            ),
            (
                "inline Deny, secret policy unread",
                vec![deploy.clone(), deny_put.clone()],
                unread_secret_policy(),
                Status::Fail,
                "denies secretsmanager:PutSecretValue",
            ),
            // A boundary only narrows: what the role's policies leave out stays out.
            (
                "GetRandomPassword missing, boundary unread",
                vec![without_random.clone()],
                unread_boundary(),
                Status::Fail,
                "no statement allows secretsmanager:GetRandomPassword on *",
            ),
            // The secret's own policy could grant a call on that secret, not on `*`.
            (
                "GetRandomPassword missing, secret policy unread",
                vec![without_random.clone()],
                unread_secret_policy(),
                Status::Fail,
                "no statement allows secretsmanager:GetRandomPassword on *",
            ),
            // What the role's policies allow, an unread policy could still deny.
            (
                "all allowed, boundary unread",
                vec![deploy.clone()],
                unread_boundary(),
                Status::Error,
                "secretsmanager:GetRandomPassword on * (the action takes no resource) is allowed by the policies read, unknown without the role's permissions boundary",
            ),
            (
                "all allowed, secret policy unread",
                vec![deploy.clone()],
                unread_secret_policy(),
                Status::Error,
                "access denied to secretsmanager:GetResourcePolicy",
            ),
            (
                "all allowed, attached unread",
                vec![deploy.clone()],
                unread_attached(),
                Status::Error,
                "secretsmanager:GetRandomPassword on * (the action takes no resource) is allowed by the policies read, unknown without the role's attached policies",
            ),
            // An unread identity policy could grant what the inline ones leave out.
            (
                "GetRandomPassword missing, attached unread",
                vec![without_random.clone()],
                unread_attached(),
                Status::Error,
                "secretsmanager:GetRandomPassword on * (the action takes no resource) is not allowed by the policies read, unknown without the role's attached policies",
            ),
            // The secret's unread policy could name the role's session, which
            // grants beyond the boundary.
            (
                "outside the boundary, secret policy unread",
                vec![deploy.clone()],
                boundary_without_put_secret_policy_unread,
                Status::Error,
                "is outside the permissions boundary by the policies read, unknown without the resource policy of secret",
            ),
            (
                "NotPrincipal Deny, boundary unread",
                vec![deploy.clone()],
                not_principal_deny_boundary_unread,
                Status::Fail,
                "denies secretsmanager:PutSecretValue",
            ),
        ];
        for (why, inline, change, status, text) in cases {
            let findings = with_policies(inline, change);
            assert_eq!(findings.len(), 1, "{why}");
            assert_eq!(findings[0].status, status, "{why}: {}", findings[0].message);
            assert!(
                findings[0].message.contains(text),
                "{why}: {}",
                findings[0].message
            );
        }
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
