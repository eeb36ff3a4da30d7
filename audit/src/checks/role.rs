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
use crate::finding::{CheckDefinition, Finding, Severity, Status};
use crate::iam_eval::{self, Decision, NamedPolicy, Request};
use crate::inventory::{Collected, KeyPolicyRecord, RoleRecord, Secret};
use permissions::{CALLS, Call, Need as CallNeed, Resource, When};

/// The tags by which an RDS-managed secret names its database.
const INSTANCE_TAG: &str = "aws:rds:primaryDBInstanceArn";
const CLUSTER_TAG: &str = "aws:rds:primaryDBClusterArn";

pub const FUNCTION_ROLE: CheckDefinition = CheckDefinition {
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

/// The AWS managed key of Secrets Manager, as a `KmsKeyId` may name it.
fn is_aws_managed_key(key: &str) -> bool {
    key.ends_with("alias/aws/secretsmanager")
}

/// The ARN a policy statement names for `key`: an ARN as it is, a bare key id
/// within the secret's account and region; `None` for an alias, which IAM
/// policies do not name (the collector resolves it with kms:DescribeKey, see
/// [`with_resolved_key`]).
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

/// The KMS key of `secret` the role must be allowed to use: `None` for the AWS
/// managed key, an error for an alias (IAM policies name keys by ARN).
fn customer_key(secret: &Secret, role: &str) -> Result<Option<String>, String> {
    let Some(key) = secret
        .kms_key_id
        .as_deref()
        .filter(|k| !is_aws_managed_key(k))
    else {
        return Ok(None);
    };
    key_arn(key, &secret.arn).map(Some).ok_or_else(|| {
        format!(
            "secret {} is encrypted with the key named {key}, an alias the audit could not resolve (kms:DescribeKey, see the audit's own access errors); check that role {role} may use kms:Decrypt on that key",
            secret.name
        )
    })
}

/// The masterarn secret and what the inventory knows of its database.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admin<'a> {
    pub secret: &'a Secret,
    /// ARNs of the read replicas of the instance its tag names, when collected.
    pub replicas: &'a [String],
}

impl<'a> Admin<'a> {
    fn rds_managed(&self) -> bool {
        self.secret.owning_service.as_deref() == Some("rds")
    }

    fn tag(&self, key: &str) -> Option<&'a String> {
        self.secret.tags.get(key)
    }
}

/// Whether the rotator makes the calls of `when`, as far as the inventory shows.
fn applies(when: When, admin: Option<Admin<'_>>) -> bool {
    match when {
        // `targets` names a key only for a customer-managed one.
        When::Always | When::CustomerManagedKey => true,
        When::AlternatingUsers => admin.is_some(),
        // An RDS-managed secret holds no host: the rotator asks RDS.
        When::AdminFromRds => admin.is_some_and(|a| a.rds_managed()),
        When::AdminCluster => {
            admin.is_some_and(|a| a.rds_managed() && a.tag(CLUSTER_TAG).is_some())
        }
        // Needs the admin secret's value (a `host`), which the audit does not read.
        When::ApplicationOnReplica => false,
    }
}

/// The resources a call of the table is made on, each with what it is for
/// messages and, for a key, the secret it decrypts (the KMS request context).
fn targets(
    call: &Call,
    secret: &Secret,
    admin: Option<Admin<'_>>,
    role: &str,
) -> Result<Vec<(String, String, Option<String>)>, String> {
    let key_of = |secret: &Secret| -> Result<Vec<_>, String> {
        Ok(customer_key(secret, role)?
            .map(|key| {
                let why = format!("the customer-managed key of secret {}", secret.name);
                (key, why, Some(secret.arn.clone()))
            })
            .into_iter()
            .collect())
    };
    let admin_secret = admin.map(|a| a.secret);
    Ok(match call.resource {
        Resource::ApplicationSecret => {
            vec![(secret.arn.clone(), format!("secret {}", secret.name), None)]
        }
        Resource::Any => vec![(
            "*".to_owned(),
            "the action takes no resource".to_owned(),
            None,
        )],
        Resource::ApplicationSecretKey => key_of(secret)?,
        Resource::AdminSecret => admin_secret
            .map(|a| {
                (
                    a.arn.clone(),
                    format!("the masterarn secret {}", a.name),
                    None,
                )
            })
            .into_iter()
            .collect(),
        Resource::AdminSecretKey => match admin_secret {
            Some(admin) => key_of(admin)?,
            None => Vec::new(),
        },
        // A cluster's member instances are not in the inventory (see the module doc).
        Resource::AdminDbInstances => admin
            .and_then(|a| Some((a.tag(INSTANCE_TAG)?, a.replicas)))
            .map(|(instance, replicas)| {
                let why = "the instance of the RDS-managed masterarn secret";
                std::iter::once((instance.clone(), why.to_owned(), None))
                    .chain(
                        replicas
                            .iter()
                            .map(|r| (r.clone(), format!("a read replica of {instance}"), None)),
                    )
                    .collect()
            })
            .unwrap_or_default(),
        Resource::AdminDbCluster => admin
            .and_then(|a| a.tag(CLUSTER_TAG))
            .map(|cluster| {
                vec![(
                    cluster.clone(),
                    "the Aurora cluster of the RDS-managed masterarn secret".to_owned(),
                    None,
                )]
            })
            .unwrap_or_default(),
        Resource::ApplicationDatabase => Vec::new(),
    })
}

/// The permissions a rotation of `secret` with admin secret `admin` makes use of,
/// from the rotator's list of its calls: the required ones, or the optional ones.
pub(crate) fn needs_of(
    secret: &Secret,
    admin: Option<Admin<'_>>,
    role: &str,
    required: bool,
) -> Result<Vec<Need>, String> {
    let mut all = Vec::new();
    for call in CALLS
        .iter()
        .filter(|c| c.is_required() == required && applies(c.when, admin))
    {
        for (resource, why, via_secret) in targets(call, secret, admin, role)? {
            all.push(Need {
                action: call.action,
                resource,
                why,
                via_secret,
            });
        }
    }
    Ok(all)
}

/// Every permission a rotation of `secret` with admin secret `admin` needs.
pub(crate) fn needs(
    secret: &Secret,
    admin: Option<Admin<'_>>,
    role: &str,
) -> Result<Vec<Need>, String> {
    needs_of(secret, admin, role, true)
}

/// The remediation of a finding: each call of the table, on its resource.
pub(crate) fn remediation() -> String {
    let mut resources: Vec<Resource> = Vec::new();
    for call in CALLS {
        if !resources.contains(&call.resource) {
            resources.push(call.resource);
        }
    }
    let parts: Vec<String> = resources
        .into_iter()
        .map(|resource| {
            let actions: Vec<String> = CALLS
                .iter()
                .filter(|c| c.resource == resource)
                .map(|c| {
                    let when = match c.when {
                        When::Always | When::AlternatingUsers | When::CustomerManagedKey => "",
                        When::AdminFromRds => " when RDS manages the masterarn secret",
                        When::AdminCluster => " when that is an Aurora cluster's",
                        When::ApplicationOnReplica => " when the admin secret names a host and the application secret another endpoint of its database (a read replica, a cluster endpoint or instance)",
                    };
                    let optional = match c.need {
                        CallNeed::Required => "",
                        CallNeed::Optional { .. } => " (optional: the rotator degrades without it)",
                    };
                    format!("{}{when}{optional}", c.action)
                })
                .collect();
            let on = match resource {
                Resource::ApplicationSecret => "the application secret",
                Resource::AdminSecret => "the masterarn secret",
                Resource::Any => "`*`",
                Resource::ApplicationSecretKey => "the application secret's customer-managed KMS key, if any",
                Resource::AdminSecretKey => "the masterarn secret's customer-managed KMS key, if any",
                Resource::AdminDbInstances => "the masterarn secret's DB instance and its read replicas (or its cluster's instances)",
                Resource::AdminDbCluster => "its Aurora cluster",
                Resource::ApplicationDatabase => "the RDS instances and clusters the application and admin secrets' hosts name",
            };
            format!("on {on}: {}", actions.join(", "))
        })
        .collect();
    format!(
        "Allow to the rotation function's execution role each call the rotator makes (its list, permissions::CALLS): {}; remove any Deny of them (`cargo xtask deploy` writes this least-privilege policy)",
        parts.join("; ")
    )
}

/// The policies beside the role's own that decide its requests.
#[derive(Debug, Default)]
pub(crate) struct OtherPolicies {
    /// The role's permissions boundary: its name and document.
    pub boundary: Option<(String, String)>,
    /// The resource policies of the secrets the role calls on.
    pub resources: Vec<ResourcePolicy>,
    /// What could not be judged for want of evidence, for a PASS to say.
    pub unread: Vec<String>,
    /// The policies the audit tried and failed to read.
    pub gaps: Vec<Gap>,
    /// The key policies read: on their key, an IAM `Allow` counts only as far as
    /// the key policy delegates to the account ([`KeyDelegation`]). Their statements
    /// that speak to the role itself are in `resources`.
    pub delegations: Vec<KeyDelegation>,
    /// The keys whose `KeyState` refuses cryptographic operations, each a FAIL
    /// line whatever the policies allow ([`unusable_key`]).
    pub unusable_keys: Vec<String>,
}

/// What a KMS key policy lets the account's IAM policies allow: its `Allow`
/// statements naming the account (`iam_eval::key_policy_delegation`).
#[derive(Debug)]
pub(crate) struct KeyDelegation {
    /// The key's ARN.
    pub resource: String,
    /// `the key policy of <key ARN>`, for messages.
    pub name: String,
    pub document: String,
}

/// A policy the audit tried and failed to read. What it decides is unknown, so
/// it can only keep a verdict from being certain: a request another policy
/// explicitly denies stays denied whatever it says (IAM user guide, "Policy
/// evaluation logic": an explicit deny in any policy overrides any allow), and a
/// boundary can only narrow what the role's policies allow.
#[derive(Debug)]
pub(crate) struct Gap {
    pub part: Part,
    /// `the role's attached policies`, `the resource policy of secret <name>`.
    pub name: String,
    /// The collection error, described (it names what to grant the auditor).
    pub why: String,
}

/// Which policy a [`Gap`] is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// Some of the role's own (inline or managed) policies.
    Identity,
    Boundary,
    /// The resource policy of the resource with this ARN: a secret's, or a KMS
    /// key's key policy (which, like a secret's, could grant the role directly).
    Resource(String),
}

impl Gap {
    /// `<name> could not be read: <error>`.
    fn describe(&self) -> String {
        format!("{} could not be read: {}", self.name, self.why)
    }
}

impl OtherPolicies {
    /// The unread policies that decide a request on `resource`, and whether one
    /// of them could grant it (an identity policy or the resource's own policy; a
    /// boundary never grants).
    fn gaps_for(&self, resource: &str) -> (Vec<&str>, bool) {
        let relevant: Vec<&Gap> = self
            .gaps
            .iter()
            .filter(|g| !matches!(&g.part, Part::Resource(arn) if arn != resource))
            .collect();
        let can_grant = relevant.iter().any(|g| g.part != Part::Boundary);
        (
            relevant.iter().map(|g| g.name.as_str()).collect(),
            can_grant,
        )
    }

    /// Whether an unread resource policy of `resource` could grant beyond the
    /// boundary (an `Allow` naming the role's session does: IAM user guide,
    /// "Permissions boundaries for IAM entities").
    fn resource_unread(&self, resource: &str) -> bool {
        self.gaps
            .iter()
            .any(|g| matches!(&g.part, Part::Resource(arn) if arn == resource))
    }
}

/// A secret's resource policy, narrowed to the statements that speak to the role
/// (`iam_eval::resource_policy_for_role`).
#[derive(Debug)]
pub(crate) struct ResourcePolicy {
    /// The secret's ARN.
    pub resource: String,
    /// `the resource policy of secret <name>`, for messages.
    pub name: String,
    pub document: String,
}

/// A secret whose resource policy the role's calls meet: the application secret,
/// then the masterarn secret.
struct PolicyHolder<'a> {
    arn: &'a str,
    name: &'a str,
}

/// The session ARN Lambda's calls carry with `role`: Lambda names the role's
/// session after the function (empty for a role that is not an IAM ARN).
pub(crate) fn lambda_session(role: &str, function: &str) -> String {
    match role.split_once(":iam::") {
        Some((partition, rest)) => format!(
            "{partition}:sts::{}:assumed-role/{}/{function}",
            rest.split(':').next().unwrap_or_default(),
            role.rsplit('/').next().unwrap_or(role)
        ),
        None => String::new(),
    }
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
    let def = &FUNCTION_ROLE;
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
    let def = &FUNCTION_ROLE;
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

/// The FAIL line for key `key` in `state`, unless the state is `Enabled` (or
/// unknown, in an inventory of an earlier version). Only an `Enabled` key may be
/// used in cryptographic operations: a `Disabled`, `PendingDeletion`,
/// `PendingImport` or `Unavailable` key refuses `Decrypt` and `GenerateDataKey`
/// whatever its policies say (KMS developer guide, "Key states of AWS KMS keys",
/// https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html).
fn unusable_key(key: &str, state: Option<&str>) -> Option<String> {
    let state = state?;
    let fix = match state {
        "Enabled" => return None,
        "Disabled" => "enable it (aws kms enable-key)",
        "PendingDeletion" | "PendingReplicaDeletion" => {
            "cancel its deletion (aws kms cancel-key-deletion) and enable it (aws kms enable-key)"
        }
        "PendingImport" => "import its key material (aws kms import-key-material)",
        "Unavailable" => "reconnect its custom key store (aws kms connect-custom-key-store)",
        _ => "wait until it is Enabled, or enable it (aws kms enable-key)",
    };
    Some(format!(
        "key {key} is {state}, and KMS refuses kms:Decrypt and kms:GenerateDataKey on a key that is not Enabled; {fix}"
    ))
}

/// The verdict over every need: FAIL lines (denied), ERROR lines (undecided).
pub(crate) fn judge(
    policies: &[NamedPolicy<'_>],
    other: &OtherPolicies,
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
            .with("aws:RequestedRegion", region)
            // The SDKs call AWS's APIs over TLS only.
            .with("aws:SecureTransport", "true");
        if let Some(account) = account {
            request = request.with("aws:PrincipalAccount", account);
        }
        if let Some(secret) = &need.via_secret {
            // Secrets Manager makes the KMS call for the role, in a forward access
            // session: `aws:ViaAWSService` is true and the principal is the role,
            // not a service (IAM user guide, "Forward access sessions",
            // https://docs.aws.amazon.com/IAM/latest/UserGuide/access_forward_access_sessions.html).
            request = request
                .with("aws:ViaAWSService", "true")
                .with("aws:PrincipalIsAWSService", "false")
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
        let (identity, ignored) = delegated(
            iam_eval::evaluate(policies, &request)?,
            other
                .delegations
                .iter()
                .find(|d| d.resource == need.resource),
            &request,
        )?;
        let boundary = match &other.boundary {
            Some((name, document)) => Some((
                iam_eval::evaluate(&[NamedPolicy { name, document }], &request)?,
                name.as_str(),
            )),
            None => None,
        };
        let resource = match other.resources.iter().find(|r| r.resource == need.resource) {
            Some(policy) => Some(iam_eval::evaluate(
                &[NamedPolicy {
                    name: &policy.name,
                    document: &policy.document,
                }],
                &request,
            )?),
            None => None,
        };
        let (gaps, gap_may_grant) = other.gaps_for(&need.resource);
        let unknown = |verdict: &str| {
            format!(
                "{what} {verdict} by the policies read, unknown without {}",
                gaps.join(" and ")
            )
        };
        match iam_eval::combine(&identity, boundary.as_ref().map(|(d, n)| (d, *n)), resource.as_ref()) {
            Decision::Allowed { .. } if gaps.is_empty() => {}
            Decision::Allowed { .. } => undecided.push(unknown("is allowed")),
            Decision::ImplicitDeny if gap_may_grant => undecided.push(unknown("is not allowed")),
            Decision::ImplicitDeny => denied.push(match &ignored {
                Some((allowed_by, key_policy)) => format!(
                    "{what} is allowed by {allowed_by}, but {key_policy} neither allows the role nor delegates to the account's IAM policies (no statement allowing arn:aws:iam::<account>:root), so that Allow has no effect (KMS grants, which could allow it, are not read: aws kms list-grants)"
                ),
                None => format!("no statement allows {what}"),
            }),
            Decision::OutsideBoundary { .. } if other.resource_unread(&need.resource) => {
                undecided.push(unknown("is outside the permissions boundary"));
            }
            Decision::OutsideBoundary { by } => {
                denied.push(format!("{what} is allowed, but {by} allows no such request"));
            }
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

/// The role's own (IAM) decision on a request on a KMS key whose key policy's
/// `delegation` was read: an `Allow` counts only where the key policy delegates the
/// request to the account, undecided where the delegation is; a `Deny` counts
/// whatever the key policy says (KMS developer guide, "Key policies in AWS KMS":
/// "You can use an IAM policy to deny a permission to a KMS key without permission
/// from a key policy"). Also the IAM `Allow` set aside, with the key policy's name.
fn delegated(
    identity: Decision,
    delegation: Option<&KeyDelegation>,
    request: &Request<'_>,
) -> Result<(Decision, Option<(String, String)>), String> {
    let Some(delegation) = delegation else {
        return Ok((identity, None));
    };
    let by_key = iam_eval::evaluate(
        &[NamedPolicy {
            name: &delegation.name,
            document: &delegation.document,
        }],
        request,
    )?;
    Ok(match (identity, by_key) {
        (Decision::Allowed { .. }, Decision::NotProven { by, condition }) => {
            (Decision::NotProven { by, condition }, None)
        }
        (Decision::Allowed { by } | Decision::NotProven { by, .. }, Decision::ImplicitDeny) => {
            (Decision::ImplicitDeny, Some((by, delegation.name.clone())))
        }
        // Delegated (or a Deny, which counts either way).
        (identity, _) => (identity, None),
    })
}

/// `secret` with its `KmsKeyId` as `DescribeKey` resolved it: the key's ARN (an
/// alias resolved), or none for an AWS managed key, which needs nothing in the role.
fn with_resolved_key(secret: &Secret, keys: &[KeyPolicyRecord]) -> Secret {
    let mut resolved = secret.clone();
    let record = secret
        .kms_key_id
        .as_deref()
        .and_then(|id| keys.iter().find(|r| r.key_id == id));
    if let Some(Collected::Ok(Some(key))) = record.map(|r| &r.key) {
        resolved.kms_key_id = (!key.aws_managed).then(|| key.arn.clone());
    }
    resolved
}

pub fn function_role(context: &Context<'_>) -> Vec<Finding> {
    let def = &FUNCTION_ROLE;
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
fn replica_arns(
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
            .is_some_and(|(host, address)| host.eq_ignore_ascii_case(address))
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
