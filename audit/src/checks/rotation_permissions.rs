//! What a rotation needs of its function's execution role, and how IAM decides
//! each need: pure functions for `secret.rotation.function-role`.
//!
//! The needs ([`needs`], [`needs_of`]) come from the rotator's own list of its
//! calls, `permissions::CALLS`, each on the resource the inventory shows it is
//! made on; [`judge`] evaluates each need with [`crate::iam_eval`] against the
//! role's policies, its permissions boundary, the resource policies of the
//! secrets and the key policies of their customer managed keys
//! ([`OtherPolicies`]), and says which are denied and which cannot be decided.

use crate::iam_eval::{self, Decision, NamedPolicy, Request};
use crate::inventory::{Collected, KeyPolicyRecord, Secret};
use permissions::{CALLS, Call, Need as CallNeed, Resource, When};

/// The tags by which an RDS-managed secret names its database.
pub(super) const INSTANCE_TAG: &str = "aws:rds:primaryDBInstanceArn";
pub(super) const CLUSTER_TAG: &str = "aws:rds:primaryDBClusterArn";

/// The AWS managed key of Secrets Manager, as a `KmsKeyId` may name it.
pub(super) fn is_aws_managed_key(key: &str) -> bool {
    key.ends_with("alias/aws/secretsmanager")
}

/// The ARN a policy statement names for `key`: an ARN as it is, a bare key id
/// within the secret's account and region; `None` for an alias, which IAM
/// policies do not name (the collector resolves it with kms:DescribeKey, see
/// [`with_resolved_key`]).
pub(super) fn key_arn(key: &str, secret_arn: &str) -> Option<String> {
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
pub(super) fn customer_key(secret: &Secret, role: &str) -> Result<Option<String>, String> {
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
    pub(super) fn rds_managed(&self) -> bool {
        self.secret.owning_service.as_deref() == Some("rds")
    }

    pub(super) fn tag(&self, key: &str) -> Option<&'a String> {
        self.secret.tags.get(key)
    }
}

/// Whether the rotator makes the calls of `when`, as far as the inventory shows.
pub(super) fn applies(when: When, admin: Option<Admin<'_>>) -> bool {
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
pub(super) fn targets(
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
    pub(super) fn describe(&self) -> String {
        format!("{} could not be read: {}", self.name, self.why)
    }
}

impl OtherPolicies {
    /// The unread policies that decide a request on `resource`, and whether one
    /// of them could grant it (an identity policy or the resource's own policy; a
    /// boundary never grants).
    pub(super) fn gaps_for(&self, resource: &str) -> (Vec<&str>, bool) {
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
    pub(super) fn resource_unread(&self, resource: &str) -> bool {
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

/// The FAIL line for key `key` in `state`, unless the state is `Enabled` (or
/// unknown, in an inventory of an earlier version). Only an `Enabled` key may be
/// used in cryptographic operations: a `Disabled`, `PendingDeletion`,
/// `PendingImport` or `Unavailable` key refuses `Decrypt` and `GenerateDataKey`
/// whatever its policies say (KMS developer guide, "Key states of AWS KMS keys",
/// https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html).
pub(super) fn unusable_key(key: &str, state: Option<&str>) -> Option<String> {
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
pub(super) fn delegated(
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
pub(super) fn with_resolved_key(secret: &Secret, keys: &[KeyPolicyRecord]) -> Secret {
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
