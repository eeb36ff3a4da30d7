//! The evidence: everything the collector read, as plain serialisable data.
//!
//! Checks never see an SDK type. The collector translates each response into the
//! small structs below, so that an inventory can be saved as JSON, kept with a
//! report, and evaluated again later (or by someone with no AWS access). Each part
//! of the inventory is a [`Collected`]: the data, or the reason it is missing (the
//! call and IAM action that failed, and whether access was denied), so a check
//! whose input is missing reports ERROR naming the permission, and the others run.
//!
//! The inventory never holds a secret value. From a secret's value it keeps only
//! the non-sensitive keys (user name, host, port, database name, `masterarn`,
//! `ssl`); grant rows are stored with password hashes removed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Why part of the inventory is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionError {
    /// The IAM action of the call that failed, e.g. `ec2:DescribeVpcAttribute`.
    pub action: String,
    /// True when the service refused the call for lack of permission.
    pub access_denied: bool,
    /// The service's error code, when it gave one.
    pub code: Option<String>,
    /// What went wrong, as the SDK reported it.
    pub message: String,
}

/// Error codes that mean the credentials themselves were refused (expired,
/// invalid, or a clock too far off), not that a permission is missing: granting
/// an action would not help (AWS STS and EC2 error code references).
pub const CREDENTIAL_ERROR_CODES: &[&str] = &[
    "AuthFailure",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "SignatureDoesNotMatch",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
];

/// Secrets Manager's answer when the secret's KMS key does not decrypt it
/// (GetSecretValue, Secrets Manager API reference: "Secrets Manager can't decrypt the
/// protected secret text using the provided KMS key",
/// https://docs.aws.amazon.com/botocore/latest/reference/services/secretsmanager/client/exceptions/DecryptionFailure.html).
/// A key that is not Enabled gives it (KMS developer guide, "Key states of AWS KMS
/// keys"), so it is no denial of access: a permission denial through Secrets
/// Manager is `AccessDeniedException` "Access to KMS is not allowed".
pub const DECRYPTION_FAILURE: &str = "DecryptionFailure";

/// Whether an access-denied answer comes from a service control policy. The IAM
/// user guide ("Troubleshoot access denied error messages") gives the phrase
/// `with an explicit deny in a service control policy` (since 2025 followed by the
/// policy's ARN: AWS Security Blog, "Enhanced access denied error messages with
/// policy ARNs"), and `because no service control policy allows` for an SCP
/// allow-list; EC2 answers `UnauthorizedOperation` with the same phrase after
/// "You are not authorized to perform this operation.". The guide notes the words
/// may be capitalised ("Service Control Policy"), so the match ignores case.
pub fn is_scp_denial(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("explicit deny in a service control policy")
        || message.contains("because no service control policy allows")
}

impl CollectionError {
    /// One line naming the action and, when access was denied, the fix.
    pub fn describe(&self) -> String {
        if self
            .code
            .as_deref()
            .is_some_and(|c| CREDENTIAL_ERROR_CODES.contains(&c))
        {
            return format!(
                "{} failed: the credentials were refused ({}: expired or invalid credentials, or the clock is off by minutes); refresh the credentials or correct the clock and rerun",
                self.action,
                self.code.as_deref().unwrap_or_default()
            );
        }
        if self.code.as_deref() == Some(DECRYPTION_FAILURE) {
            return format!(
                "{} failed: the secret's KMS key refused to decrypt (disabled, pending deletion, or the key policy): check the key's state with kms:DescribeKey, then its key policy ({}: {})",
                self.action,
                DECRYPTION_FAILURE,
                first_line(&self.message)
            );
        }
        if self.access_denied && is_scp_denial(&self.message) {
            return format!(
                "{} denied by a service control policy of the account's organisation: granting the auditor's role the action would not help; exempt the auditor's role from the SCP (or leave the region out with --exclude-regions): {}",
                self.action,
                first_line(&self.message)
            );
        }
        if self.access_denied {
            format!(
                "{}: grant the auditor's role `{}` (see `audit --print-policy`)",
                access_denied_to(&self.action),
                self.action
            )
        } else {
            format!("{} failed: {}", self.action, self.message)
        }
    }
}

/// The words opening [`CollectionError::describe`] for a denial of `action` that no
/// service control policy made: a reader (the fuzz oracle) looks for them in a
/// finding to tell that refusal from other errors.
pub fn access_denied_to(action: &str) -> String {
    format!("access denied to {action}")
}

/// The first line of a service's message.
pub(crate) fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// The marker EC2 puts before the encoded form of an authorization failure (STS
/// API reference, DecodeAuthorizationMessage: "Some AWS operations additionally
/// return an encoded message"; EC2 answers `UnauthorizedOperation` "You are not
/// authorized to perform this operation. Encoded authorization failure message:
/// ...").
const ENCODED_MESSAGE: &str = "Encoded authorization failure message:";

/// The message without EC2's encoded authorization failure (a long opaque blob that
/// only `sts:DecodeAuthorizationMessage` can read): the marker and the token after
/// it are cut, whatever follows is kept.
pub fn without_encoded_message(message: &str) -> std::borrow::Cow<'_, str> {
    let Some(start) = message.find(ENCODED_MESSAGE) else {
        return std::borrow::Cow::Borrowed(message);
    };
    let after = &message[start + ENCODED_MESSAGE.len()..];
    let token = after.trim_start();
    let rest = token
        .find(char::is_whitespace)
        .map_or("", |end| &token[end..]);
    let kept = format!("{}{}", message[..start].trim_end(), rest);
    std::borrow::Cow::Owned(kept)
}

/// A part of the inventory: read, failed, or deliberately not read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Collected<T> {
    /// The data as read.
    Ok(T),
    /// The call failed; checks that need this data report ERROR.
    Failed(CollectionError),
    /// Not read, with the reason (e.g. `--read-secrets` not given); checks report SKIP.
    Skipped(String),
}

impl<T> Collected<T> {
    /// The data, when read.
    pub fn ok(&self) -> Option<&T> {
        match self {
            Collected::Ok(value) => Some(value),
            _ => None,
        }
    }
}

impl<T: Default> Default for Collected<T> {
    fn default() -> Self {
        Collected::Ok(T::default())
    }
}

/// What was asked to be audited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub regions: Vec<String>,
    /// `--vpc-id`, when given (otherwise the VPC is found by its `Name` tag).
    pub vpc_id: Option<String>,
    /// The secrets audited in full (`--secret-id`, or the policy's names).
    pub secret_ids: Vec<String>,
    /// Every secret of the region is also audited against the rotation checks.
    pub all_secrets: bool,
    /// RDS instance identifier of the database.
    pub db_instance_id: String,
    /// Secret values were read (`--read-secrets`).
    pub read_secrets: bool,
    /// Every rotation setup was looked for (`--discover`), not the named one; see
    /// [`crate::discover`].
    #[serde(default)]
    pub discover: bool,
}

/// Facts about the collection itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub tool: String,
    pub version: String,
    /// When collection started; checks measure ages against this, so a saved
    /// inventory evaluates the same later.
    #[serde(with = "time::serde::rfc3339")]
    pub collected_at: OffsetDateTime,
    /// The audited account, from `sts:GetCallerIdentity`, when known.
    pub account_id: Option<String>,
    /// The audited account's organisation, from
    /// `organizations:DescribeOrganization`: its id, `None` when the account is in
    /// no organisation, or why it is unknown (an inventory of an earlier version
    /// did not read it). Endpoint policies' `aws:PrincipalOrgID` and
    /// `aws:ResourceOrgID` conditions are decided with it.
    #[serde(default = "organization_not_read")]
    pub organization_id: Collected<Option<String>>,
    /// The database was logged in to with unverified TLS or plaintext
    /// (`--insecure-db-tls`); reports say so.
    #[serde(default)]
    pub insecure_db_tls: bool,
    /// HTTP requests the collector sent (every page and retry).
    pub api_requests: u64,
    /// Calls per IAM action (pages counted one each).
    pub calls: BTreeMap<String, u64>,
    pub scope: Scope,
}

fn organization_not_read() -> Collected<Option<String>> {
    Collected::Skipped("not read by the version that collected this inventory".to_owned())
}

/// Everything read, per region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub metadata: Metadata,
    pub regions: Vec<RegionInventory>,
    /// With `--discover`: every secret looked at and not audited as a setup, with
    /// the reason (absent from inventories saved by earlier versions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<ExcludedSecret>,
    /// Regions whose collection stopped part-way (a panic in the audit): each is
    /// one ERROR finding, and the other regions are audited as usual.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_regions: Vec<FailedRegion>,
    /// Regions probed and not audited (not enabled, or denied by a service control
    /// policy): each is one SKIP row, and their checks were not run; see
    /// [`crate::coverage`]. Absent from inventories saved by earlier versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_regions: Vec<SkippedRegion>,
}

/// Why a region of an account was not audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionGap {
    /// An opt-in region the account has not enabled (`OptInStatus` `not-opted-in`).
    NotEnabled,
    /// A service control policy denies the region; the service's first line.
    DeniedByScp(String),
}

/// A region probed and not audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRegion {
    pub region: String,
    pub gap: RegionGap,
}

impl SkippedRegion {
    /// Why, in words, for the region's row.
    pub fn reason(&self) -> String {
        match &self.gap {
            RegionGap::NotEnabled => format!(
                "region {} was not audited: it is an opt-in region the account has not enabled (ec2:DescribeRegions OptInStatus not-opted-in); nothing can run there",
                self.region
            ),
            RegionGap::DeniedByScp(message) => format!(
                "region {} was not audited: a service control policy denies it ({message})",
                self.region
            ),
        }
    }
}

/// A region whose collection stopped, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedRegion {
    pub region: String,
    pub error: CollectionError,
}

/// What was read in one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionInventory {
    pub region: String,
    /// The audited VPC; `Ok(None)` when none matched.
    pub vpc: Collected<Option<Vpc>>,
    /// Subnets of the VPC (for availability zones).
    pub subnets: Collected<Vec<Subnet>>,
    /// VPC endpoints in the VPC.
    pub endpoints: Collected<Vec<VpcEndpoint>>,
    /// Every instance of the VPC with the bastion's name (empty when none has it):
    /// a second one, with SSH open, is as much a bastion as the first.
    pub bastions: Collected<Vec<Instance>>,
    /// The database; `Ok(None)` when it does not exist.
    pub database: Collected<Option<DbInstance>>,
    /// Rules of the bastions', the database's and the rotation functions' groups,
    /// and of the groups their rules reference.
    pub security_group_rules: Collected<Vec<SecurityGroupRule>>,
    /// Entries of the managed prefix lists those rules name.
    pub prefix_lists: Vec<PrefixList>,
    /// The audited secrets (and, with `--all-secrets`, every secret of the region).
    pub secrets: Collected<Vec<Secret>>,
    /// Secrets asked for by name that do not exist.
    pub missing_secrets: Vec<String>,
    /// Secrets asked for by name that could not be described; the others are kept.
    #[serde(default)]
    pub failed_secrets: Vec<FailedSecret>,
    /// Rotation functions named by the secrets.
    pub functions: Vec<FunctionRecord>,
    /// What was read from the audited secrets' values (never the values themselves).
    pub secret_values: Vec<SecretValueRecord>,
    /// Admin secrets named by `masterarn`.
    pub admin_secrets: Vec<AdminSecretRecord>,
    /// The resource policy of each audited (primary) secret, and of each
    /// `masterarn` secret that exists (read with `--read-secrets`).
    #[serde(default)]
    pub secret_policies: Vec<SecretPolicyRecord>,
    /// The customer managed KMS key of each audited secret and `masterarn` secret
    /// (`DescribeKey`) and its key policy (`GetKeyPolicy`): the key policy decides
    /// whether the rotation role's IAM Allow of `kms:Decrypt` counts at all.
    #[serde(default)]
    pub key_policies: Vec<KeyPolicyRecord>,
    /// The grants of each audited secret's user, read over its own connection.
    pub grants: Vec<GrantsRecord>,
    /// The network ACLs of the VPC (`DescribeNetworkAcls`): whether the function's
    /// subnets reach the endpoints' and the database's. Absent from inventories
    /// saved by earlier versions (then not judged, and the findings say so).
    #[serde(default = "not_collected")]
    pub network_acls: Collected<Vec<NetworkAcl>>,
    /// The execution roles of the rotation functions, with their policy documents.
    #[serde(default)]
    pub roles: Vec<RoleRecord>,
    /// The database's manual snapshots (`DescribeDBSnapshots`), and its cluster's
    /// when it is a cluster member (`DescribeDBClusterSnapshots`), each with who may
    /// restore it (`DescribeDBSnapshotAttributes`, `DescribeDBClusterSnapshotAttributes`). Absent from inventories saved by
    /// earlier versions (then not judged, and the findings say so).
    #[serde(default = "not_collected")]
    pub db_snapshots: Collected<Vec<DbSnapshot>>,
    /// The database's parameter groups as far as TLS is concerned
    /// (`DescribeDBParameters`), and its cluster's DB cluster parameter group
    /// when it is a cluster member (`DescribeDBClusterParameters`). Absent from
    /// earlier inventories.
    #[serde(default = "not_collected")]
    pub db_parameters: Collected<Vec<DbParameters>>,
    /// The CA the database's certificate is signed by (`DescribeCertificates`);
    /// `Ok(None)` when RDS lists no such CA. Absent from earlier inventories.
    #[serde(default = "not_collected")]
    pub ca_certificate: Collected<Option<CaCertificate>>,
    /// The VPC's default security group (`DescribeSecurityGroups`, group name
    /// `default`); `Ok(None)` when EC2 lists none. Absent from earlier inventories.
    #[serde(default = "not_collected")]
    pub default_security_group: Collected<Option<DefaultSecurityGroup>>,
    /// The active peering connections between a rotation function's VPC and its
    /// database's, read only when the two differ (`DescribeVpcPeeringConnections`).
    #[serde(default = "no_peering_read")]
    pub vpc_peerings: Collected<Vec<VpcPeering>>,
    /// With `--discover`: the setup this part of the region is, found from its
    /// secret (a region has one such part per setup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered: Option<Discovered>,
}

/// An active VPC peering connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcPeering {
    pub id: String,
    pub requester_vpc: String,
    pub accepter_vpc: String,
}

/// Peerings were read only where needed: an inventory without the field had none
/// to read, or was saved by an earlier version (then a VPC mismatch is judged
/// without them).
fn no_peering_read() -> Collected<Vec<VpcPeering>> {
    Collected::Ok(Vec::new())
}

/// What an inventory saved before a part existed holds for it.
fn not_collected<T>() -> Collected<T> {
    Collected::Skipped(
        "not collected: the inventory was saved by an earlier version of the audit".to_owned(),
    )
}

impl RegionInventory {
    /// An inventory of a region where nothing was read yet.
    pub fn empty(region: &str) -> Self {
        Self {
            region: region.to_owned(),
            vpc: Collected::Ok(None),
            subnets: Collected::default(),
            endpoints: Collected::default(),
            bastions: Collected::default(),
            database: Collected::Ok(None),
            security_group_rules: Collected::default(),
            prefix_lists: Vec::new(),
            secrets: Collected::default(),
            missing_secrets: Vec::new(),
            failed_secrets: Vec::new(),
            functions: Vec::new(),
            secret_values: Vec::new(),
            admin_secrets: Vec::new(),
            secret_policies: Vec::new(),
            key_policies: Vec::new(),
            grants: Vec::new(),
            network_acls: Collected::default(),
            roles: Vec::new(),
            db_snapshots: Collected::default(),
            db_parameters: Collected::default(),
            ca_certificate: Collected::Ok(None),
            default_security_group: Collected::Ok(None),
            vpc_peerings: Collected::Ok(Vec::new()),
            discovered: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vpc {
    pub id: String,
    pub name: Option<String>,
    pub cidr_block: Option<String>,
    pub dns_hostnames: Collected<bool>,
    pub dns_support: Collected<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub availability_zone: String,
    /// The subnet's IPv4 range, when read from EC2 (not from RDS's subnet group).
    #[serde(default)]
    pub cidr_block: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcEndpoint {
    pub id: String,
    pub service_name: String,
    /// `Interface`, `Gateway`, `GatewayLoadBalancer`, ...
    pub endpoint_type: String,
    pub state: String,
    pub private_dns_enabled: bool,
    pub subnet_ids: Vec<String>,
    /// The endpoint's security groups (their rules are read with the others).
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    /// The endpoint policy; AWS gives every interface endpoint one (full access by default).
    #[serde(default)]
    pub policy_document: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    pub name: Option<String>,
    pub state: Option<String>,
    pub subnet_id: Option<String>,
    pub security_group_ids: Vec<String>,
    pub public_ip: Option<String>,
    /// `MetadataOptions.HttpTokens`: `required` (IMDSv2 only) or `optional`;
    /// `None` in an inventory of an earlier version.
    #[serde(default)]
    pub http_tokens: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbInstance {
    pub id: String,
    pub arn: String,
    pub engine: Option<String>,
    pub address: Option<String>,
    pub port: Option<u16>,
    pub publicly_accessible: Option<bool>,
    pub security_group_ids: Vec<String>,
    pub vpc_id: Option<String>,
    pub subnets: Vec<Subnet>,
    pub master_user_secret: Option<MasterUserSecret>,
    /// Its read replicas, as RDS names them (an identifier, or an ARN for another
    /// region's): the rotator describes each (`rds:DescribeDBInstances`).
    #[serde(default)]
    pub read_replicas: Vec<String>,
    /// `StorageEncrypted`; `None` in an inventory of an earlier version.
    #[serde(default)]
    pub storage_encrypted: Option<bool>,
    /// `DBClusterIdentifier`: the Aurora (or Multi-AZ) cluster the instance is a
    /// member of, whose snapshots are cluster snapshots.
    #[serde(default)]
    pub cluster_id: Option<String>,
    /// `EngineVersion` (the default of `require_secure_transport` depends on it).
    #[serde(default)]
    pub engine_version: Option<String>,
    /// `DBParameterGroups`: each group's name and `ParameterApplyStatus`.
    #[serde(default)]
    pub parameter_groups: Vec<DbParameterGroupStatus>,
    /// `CACertificateIdentifier`: the CA that signed the server's certificate.
    #[serde(default)]
    pub ca_certificate_identifier: Option<String>,
    /// `CertificateDetails.ValidTill`: when the server's own certificate expires.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub certificate_valid_till: Option<OffsetDateTime>,
    /// `MasterUsername`: the user RDS created with every privilege.
    #[serde(default)]
    pub master_username: Option<String>,
    /// For a cluster member, its cluster's endpoints (`DescribeDBClusters`:
    /// `Endpoint`, `ReaderEndpoint` and `CustomEndpoints`, on the cluster's
    /// `Port`): with the instance's own endpoint, the only hosts the audit logs
    /// in at with a secret's password.
    #[serde(default)]
    pub cluster_endpoints: Vec<DbAddress>,
    /// The instance endpoints of its read replicas and of its cluster's other
    /// members (`DescribeDBInstances` of each): the rotator accepts an
    /// application secret there too, so the audit logs in there.
    #[serde(default)]
    pub related_endpoints: Vec<DbAddress>,
    /// The RDS calls that failed while listing those endpoints: a login refused
    /// at a host not listed names them.
    #[serde(default)]
    pub endpoints_unread: Vec<CollectionError>,
}

/// A host and port a database answers at, as RDS reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbAddress {
    pub address: String,
    pub port: Option<u16>,
}

/// One of an instance's DB parameter groups as `DescribeDBInstances` names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbParameterGroupStatus {
    pub name: String,
    /// `in-sync`, `applying`, `pending-reboot`, ...
    pub apply_status: Option<String>,
}

/// What the audit read of a DB parameter group (`DescribeDBParameters`), or of
/// a cluster member's DB cluster parameter group (`DescribeDBClusterParameters`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbParameters {
    pub name: String,
    /// `require_secure_transport`'s `ParameterValue`; `None` when the group gives
    /// it no value (the engine's default then applies).
    pub require_secure_transport: Option<String>,
    /// The cluster whose DB cluster parameter group this is (`DescribeDBClusters`'
    /// `DBClusterParameterGroup`); `None` for an instance's DB parameter group.
    #[serde(default)]
    pub cluster: Option<String>,
    /// For a cluster's group, the member's `DBClusterParameterGroupStatus`
    /// (`DBClusterMembers`); an instance's group has its status in the instance.
    #[serde(default)]
    pub apply_status: Option<String>,
}

/// An RDS certificate authority (`DescribeCertificates`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaCertificate {
    pub id: String,
    /// `ValidTill`.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub valid_till: Option<OffsetDateTime>,
}

/// A manual snapshot of the database (`DescribeDBSnapshots`), or of its cluster
/// (`DescribeDBClusterSnapshots`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DbSnapshot {
    pub id: String,
    pub arn: String,
    /// A snapshot of the instance's cluster, not of the instance.
    #[serde(default)]
    pub cluster: bool,
    /// `Encrypted`.
    pub encrypted: Option<bool>,
    /// The `restore` attribute's values (`DescribeDBSnapshotAttributes`): account
    /// ids that may copy or restore it, `all` when it is public.
    pub restore: Collected<Vec<String>>,
}

/// A VPC's default security group and its rules, each described in a line
/// (`DescribeSecurityGroups`: `IpPermissions`, `IpPermissionsEgress`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultSecurityGroup {
    pub id: String,
    pub ingress: Vec<String>,
    pub egress: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterUserSecret {
    pub arn: Option<String>,
    pub status: Option<String>,
}

/// One rule of a security group (`DescribeSecurityGroupRules`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupRule {
    pub id: String,
    pub group_id: String,
    pub is_egress: bool,
    /// `tcp`, `udp`, `icmp`, `-1` (all), or a protocol number.
    pub ip_protocol: String,
    /// `-1` or absent with protocol `-1`.
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub cidr_ipv4: Option<String>,
    pub cidr_ipv6: Option<String>,
    pub prefix_list_id: Option<String>,
    pub referenced_group_id: Option<String>,
    /// The referenced group's account (`ReferencedGroupInfo.UserId`).
    #[serde(default)]
    pub referenced_group_owner: Option<String>,
    /// The referenced group's VPC, when EC2 reports it.
    #[serde(default)]
    pub referenced_group_vpc: Option<String>,
    /// Set when the referenced group is across a VPC peering connection.
    #[serde(default)]
    pub referenced_group_peering: Option<String>,
    pub description: Option<String>,
}

/// A managed prefix list's CIDRs (`GetManagedPrefixListEntries`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrefixList {
    pub id: String,
    pub entries: Collected<Vec<String>>,
}

/// A secret that could not be described, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedSecret {
    /// The name or ARN asked for.
    pub id: String,
    pub error: CollectionError,
}

/// A secret's metadata (`DescribeSecret` or `ListSecrets`; no value).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Secret {
    pub arn: String,
    pub name: String,
    /// Audited in full (named by `--secret-id` or the policy), not only listed.
    pub primary: bool,
    pub rotation_enabled: Option<bool>,
    pub rotation_lambda_arn: Option<String>,
    pub automatically_after_days: Option<i64>,
    pub schedule_expression: Option<String>,
    pub duration: Option<String>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub created_date: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_rotated_date: Option<OffsetDateTime>,
    /// `LastAccessedDate`: the day (AWS truncates it to the date) the secret was
    /// last read; absent when it never was.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_accessed_date: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub next_rotation_date: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub deleted_date: Option<OffsetDateTime>,
    pub owning_service: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Version id → staging labels.
    pub versions_to_stages: BTreeMap<String, Vec<String>>,
    /// When the version staged `AWSPENDING` (apart from `AWSCURRENT`) was created
    /// (`ListSecretVersionIds`), read only when there is one: it tells a rotation in
    /// progress from a stuck one.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub pending_created_date: Option<OffsetDateTime>,
    /// Why `pending_created_date` could not be read (`ListSecretVersionIds`
    /// failed): the rotation's progress is then unknown, not stuck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_date_error: Option<CollectionError>,
    /// `KmsKeyId`: the customer-managed key the secret is encrypted with; absent
    /// for the AWS managed key `aws/secretsmanager` (Secrets Manager API
    /// reference, `DescribeSecret`).
    #[serde(default)]
    pub kms_key_id: Option<String>,
}

/// Whether a version other than the `AWSCURRENT` one is staged `stage`:
/// `AWSPREVIOUS` names the other user of an alternating pair; `AWSPENDING` says a
/// rotation is under way (or stuck after its createSecret).
pub fn staged_apart_from_current(
    versions: &std::collections::BTreeMap<String, Vec<String>>,
    stage: &str,
) -> bool {
    versions.values().any(|stages| {
        stages.iter().any(|s| s == stage) && !stages.iter().any(|s| s == "AWSCURRENT")
    })
}

impl Secret {
    /// Whether a version other than the `AWSCURRENT` one is staged `stage`.
    pub fn staged_apart(&self, stage: &str) -> bool {
        staged_apart_from_current(&self.versions_to_stages, stage)
    }

    /// A tag's value; keys compare without case, as the `aws:` tags come in either.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// The service that owns the secret (`OwningService`, or its owning-service tag).
    pub fn owner(&self) -> Option<&str> {
        self.owning_service
            .as_deref()
            .or_else(|| self.tag("aws:secretsmanager:owningService"))
            .filter(|o| !o.is_empty())
    }
}

/// A rotation function (`GetFunctionConfiguration`, `GetPolicy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionRecord {
    /// The ARN a secret names.
    pub arn: String,
    /// `Ok(None)` when the function does not exist.
    pub configuration: Collected<Option<FunctionConfiguration>>,
    /// The resource policy document; `Ok(None)` when it has none.
    pub policy: Collected<Option<String>>,
    /// The function URL's `AuthType` (`NONE` is public); `Ok(None)` when it has no URL.
    #[serde(default)]
    pub url_auth_type: Collected<Option<String>>,
    /// The function's reserved concurrency; `Ok(None)` without a reservation.
    #[serde(default = "not_collected")]
    pub reserved_concurrency: Collected<Option<i32>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionConfiguration {
    pub name: String,
    pub arn: String,
    pub vpc_id: Option<String>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    /// `State` (`Active`, `Pending`, `Inactive`, `Failed`).
    #[serde(default)]
    pub state: Option<String>,
    /// `LastUpdateStatus` (`Successful`, `InProgress`, `Failed`).
    #[serde(default)]
    pub last_update_status: Option<String>,
    /// The execution role's ARN.
    #[serde(default)]
    pub role: Option<String>,
    /// `Runtime` (`provided.al2023`, ...); absent for a container image.
    #[serde(default)]
    pub runtime: Option<String>,
    /// `PackageType`: `Zip` or `Image`.
    #[serde(default)]
    pub package_type: Option<String>,
    /// The environment's variable names, each with the shape of its value (never
    /// the value: it may be a secret).
    #[serde(default)]
    pub environment: Vec<EnvironmentVariable>,
}

/// One environment variable of a function, without its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentVariable {
    pub name: String,
    pub value: ValueShape,
}

/// What an environment variable's value looks like, decided where it is read so
/// that the value itself is never kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueShape {
    /// Empty or blank.
    Empty,
    /// A pointer to where a secret lives, not the secret: an ARN, a
    /// `{{resolve:...}}` dynamic reference, a Parameter Store path, or a file path.
    Reference,
    /// Anything else: possibly the secret itself.
    Literal,
}

impl ValueShape {
    /// The shape of `value`.
    pub fn of(value: &str) -> Self {
        let value = value.trim();
        if value.is_empty() {
            ValueShape::Empty
        } else if value.starts_with("arn:")
            || value.starts_with("{{resolve:")
            || (value.starts_with('/') && !value.contains(char::is_whitespace))
        {
            ValueShape::Reference
        } else {
            ValueShape::Literal
        }
    }
}

/// A network ACL (`DescribeNetworkAcls`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAcl {
    pub id: String,
    /// The VPC's default ACL: subnets with no association of their own use it.
    pub is_default: bool,
    /// The subnets associated with it.
    pub subnet_ids: Vec<String>,
    pub entries: Vec<NetworkAclEntry>,
}

/// One rule of a network ACL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAclEntry {
    /// 1..=32766, or 32767 for the `*` rule AWS adds last.
    pub rule_number: i32,
    pub egress: bool,
    /// `-1` (all), or a protocol number (`6` TCP).
    pub protocol: String,
    /// `allow` or `deny`.
    pub action: String,
    pub cidr_ipv4: Option<String>,
    pub cidr_ipv6: Option<String>,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
}

/// A rotation function's execution role and its permission policies
/// (`ListRolePolicies`/`GetRolePolicy`, `ListAttachedRolePolicies`/`GetPolicy`/
/// `GetPolicyVersion`). Policy documents are not secret; they are kept so that a
/// saved inventory is evaluated again the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleRecord {
    pub arn: String,
    /// Inline policies, by name.
    pub inline_policies: Collected<Vec<PolicyDocument>>,
    /// Attached managed policies (their default version), by ARN.
    pub attached_policies: Collected<Vec<PolicyDocument>>,
    /// The permissions boundary's default version (`GetRole`, then the managed
    /// policy); `Ok(None)` when the role has none. An inventory saved before it was
    /// collected reads as skipped.
    #[serde(default = "boundary_not_collected")]
    pub permissions_boundary: Collected<Option<PolicyDocument>>,
}

fn boundary_not_collected() -> Collected<Option<PolicyDocument>> {
    Collected::Skipped("the inventory predates its collection".to_owned())
}

/// A named IAM policy document (JSON, URL-decoded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDocument {
    pub name: String,
    pub document: String,
}

/// The non-sensitive keys of a secret's current value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretFacts {
    pub username: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub dbname: Option<String>,
    pub engine: Option<String>,
    pub masterarn: Option<String>,
    /// `ssl` key: `Some(true)` verify TLS, `Some(false)` plaintext, `None` prefer TLS.
    pub ssl: Option<bool>,
    /// Whether the value has a `password` key (never the password): with `host`
    /// and `username`, it makes the value a database credential for `--discover`.
    #[serde(default)]
    pub has_password: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretValueRecord {
    pub secret_arn: String,
    pub facts: Collected<SecretFacts>,
}

/// A secret's resource policy (`GetResourcePolicy`); `Ok(None)` when it has none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretPolicyRecord {
    pub secret_arn: String,
    pub policy: Collected<Option<String>>,
}

/// A secret's KMS key as a `KmsKeyId` names it, and its key policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyPolicyRecord {
    /// The key as the secret's `KmsKeyId` names it (an ARN, a key id or an alias).
    pub key_id: String,
    /// What `DescribeKey` and `GetKeyPolicy` (policy name `default`) found; `Ok(None)`
    /// when no such key exists.
    pub key: Collected<Option<KeyRecord>>,
}

/// A KMS key as `DescribeKey` describes it, with its key policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The key's ARN (an alias resolved).
    pub arn: String,
    /// `AWSAccountId`: the account that owns the key (and its key policy).
    #[serde(default)]
    pub account: Option<String>,
    /// `KeyManager` is `AWS`: an AWS managed key, whose policy is AWS's.
    pub aws_managed: bool,
    /// `KeyState` as `DescribeKey` reports it (`Enabled`, `Disabled`,
    /// `PendingDeletion`, ...); `None` in an inventory of an earlier version.
    #[serde(default)]
    pub key_state: Option<String>,
    /// The key policy; not read for an AWS managed key (`Skipped`).
    pub policy: Collected<String>,
    /// Whether automatic rotation of the key material is on
    /// (`GetKeyRotationStatus`); not read for an AWS managed key (AWS rotates those
    /// every year). Absent from earlier inventories.
    #[serde(default = "not_collected")]
    pub rotation_enabled: Collected<bool>,
}

/// The admin secret a `masterarn` names (`DescribeSecret`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminSecretRecord {
    /// The `masterarn` as written in the application secret.
    pub arn: String,
    /// `Ok(None)` when no such secret exists.
    pub secret: Collected<Option<Secret>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantsRecord {
    pub secret_arn: String,
    /// `user@host` as the server reported `CURRENT_USER()`, when it connected.
    pub account: Option<String>,
    /// The TLS mode the connection used.
    pub tls: Option<String>,
    /// `SHOW GRANTS` rows, password hashes removed.
    pub rows: Collected<Vec<String>>,
    /// The grants of every role granted to the user, active or not (a role that
    /// is not active can be `SET ROLE` by whoever holds the password).
    #[serde(default)]
    pub roles: Vec<RoleGrants>,
    /// The other user of the alternating pair (`name` ↔ `name_clone`), as the
    /// secret's `AWSPREVIOUS` version names it, read with that version's
    /// credentials: the next rotation hands that user's grants on, so what it holds
    /// counts as much as the current user's. `None` when no `AWSPREVIOUS` names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_user: Option<OtherUserGrants>,
}

/// The other user of an alternating pair and its grants, or why they could not be
/// read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OtherUserGrants {
    /// The user name `AWSPREVIOUS` holds (or `(unknown)` when it was not read).
    pub username: String,
    /// How that user stands to the secret's current user. Absent from
    /// inventories of earlier versions, which recorded only the alternate.
    #[serde(default)]
    pub relation: PairRelation,
    pub rows: Collected<Vec<String>>,
    #[serde(default)]
    pub roles: Vec<RoleGrants>,
    /// The `host` of the version naming the user, when it has one: a master
    /// user's name (RDS's default `admin` is common) says nothing of which
    /// server's master it is.
    #[serde(default)]
    pub host: Option<String>,
}

/// How the user a secret's other version names stands to its current user
/// `name`. The rotator derives the next pending user from `AWSCURRENT` alone
/// (`rotator::rotation::create::alternate_user`), so only [`Self::Alternate`] is
/// the user its next rotation sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PairRelation {
    /// `AWSPREVIOUS` names `name`'s alternate (`name` ↔ `name_clone`).
    #[default]
    Alternate,
    /// No `AWSPREVIOUS`; `AWSPENDING` names the alternate: a first rotation
    /// under way or stuck, its clone never logged in as.
    FirstRotation,
    /// `AWSPREVIOUS` names another user, neither `name` nor its alternate (the
    /// master user, a renamed user, a value written by hand); not logged in as.
    Unrelated,
    /// `AWSPREVIOUS` is JSON without `username`.
    NoUsername,
    /// `AWSPREVIOUS` could not be read: the user it names is unknown.
    Unread,
}

/// A user name a secret's value gave, for findings: quoted and escaped, and cut
/// at 32 characters (the longest MySQL user name: "The maximum length for user
/// names in MySQL 8.0 is 32 characters", MySQL reference manual, "Replication and
/// User Name Length",
/// <https://dev.mysql.com/doc/refman/8.0/en/replication-features-user-names.html>),
/// since whoever may write the secret chose it.
pub fn shown_user(name: &str) -> String {
    quoted_and_cut(name, 32)
}

/// `text` quoted and escaped (Rust's `Debug` of a string), cut at `most`
/// characters with `…` after a cut.
fn quoted_and_cut(text: &str, most: usize) -> String {
    let cut: String = text.chars().take(most).collect();
    if cut.len() < text.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

/// A host name a secret's value gave, for findings and output: quoted and
/// escaped, and cut at 253 characters (the longest DNS name: RFC 1035 section
/// 2.3.4 "Size limits", 255 octets on the wire, 253 characters as text), since
/// whoever may write the secret chose it.
pub fn shown_host(host: &str) -> String {
    quoted_and_cut(host, 253)
}

impl OtherUserGrants {
    /// The user's name for findings ([`shown_user`]).
    pub fn shown(&self) -> String {
        match self.relation {
            PairRelation::Unread => "(the user AWSPREVIOUS names: unread)".to_owned(),
            _ => shown_user(&self.username),
        }
    }

    /// The version that named the user, for findings.
    pub fn named_by(&self) -> &'static str {
        match self.relation {
            PairRelation::FirstRotation => "AWSPENDING",
            _ => "AWSPREVIOUS",
        }
    }
}

/// One granted role's `SHOW GRANTS` rows, or why they could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleGrants {
    /// The role as `SHOW GRANTS` names it (`` `dba`@`%` `` or `` `dba` ``).
    pub role: String,
    pub rows: Collected<Vec<String>>,
}

/// A discovered setup: the secret it was found by and what it depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovered {
    /// The secret's name: the finding's `setup`.
    pub secret_name: String,
    pub secret_arn: String,
    /// The rotation function the secret names.
    pub function_arn: String,
    /// Why the secret counts as a rotation setup ([`crate::discover::classify`]).
    pub reason: String,
    /// How the database was found, or why it could not be.
    pub database: String,
    /// What the setup was collected as (its VPC, secret and database).
    pub scope: Scope,
}

/// A secret that `--discover` looked at and did not audit as a setup, and why: the
/// report lists each one, so a secret left out is never left out silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExcludedSecret {
    /// The audited account, when known (set when the report is built).
    #[serde(default)]
    pub account_id: Option<String>,
    pub region: String,
    pub secret_arn: String,
    pub secret_name: String,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_name_from_a_secret_is_quoted_and_cut_at_32_characters() {
        let long = "u".repeat(40);
        let table = [
            ("appuser", "\"appuser\""),
            ("evil\nname", "\"evil\\nname\""),
            (long.as_str(), "\"uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu\"…"),
        ];
        for (name, shown) in table {
            assert_eq!(shown_user(name), shown, "{name}");
        }
    }

    #[test]
    fn the_scp_denial_is_recognised_by_its_documented_words_only() {
        let cases = [
            // EC2 (UnauthorizedOperation), as users quote it.
            (
                "You are not authorized to perform this operation. User: arn:aws:sts::111111111111:assumed-role/Audit/s is not authorized to perform: ec2:DescribeRegions with an explicit deny in a service control policy",
                true,
            ),
            // With the policy's ARN (the enhanced message).
            (
                "User: arn:aws:iam::123456789012:user/Matt is not authorized to perform: iam:ListRoles on resource: arn:aws:iam::123456789012:role/* with an explicit deny in a service control policy: arn:aws:organizations::987654321098:policy/o-qv5af4abcd/service_control_policy/p-2kgnabcd",
                true,
            ),
            (
                "User: x is not authorized to perform: rds:DescribeDBInstances on resource: arn:aws:rds:ap-south-1:1:db:* due to an explicit deny in a Service Control Policy",
                true,
            ),
            (
                "User: x is not authorized to perform: ec2:DescribeVpcs because no service control policy allows the ec2:DescribeVpcs action",
                true,
            ),
            // Other denials are a missing permission, not a region gap.
            (
                "User: x is not authorized to perform: ec2:DescribeVpcs because no identity-based policy allows the ec2:DescribeVpcs action",
                false,
            ),
            (
                "User: x is not authorized to perform: ec2:DescribeVpcs with an explicit deny in an identity-based policy",
                false,
            ),
            (
                "User: x is not authorized to perform: ec2:DescribeVpcs with an explicit deny in a resource control policy",
                false,
            ),
            (
                "AWS was not able to validate the provided access credentials",
                false,
            ),
            ("", false),
        ];
        for (message, scp) in cases {
            assert_eq!(is_scp_denial(message), scp, "{message}");
        }
    }

    #[test]
    fn collected_serialises_with_its_state_named() {
        let failed: Collected<bool> = Collected::Failed(CollectionError {
            action: "ec2:DescribeVpcAttribute".to_owned(),
            access_denied: true,
            code: Some("UnauthorizedOperation".to_owned()),
            message: "denied".to_owned(),
        });
        let json = serde_json::to_value(&failed).expect("json");
        assert_eq!(json["failed"]["action"], "ec2:DescribeVpcAttribute");
        let back: Collected<bool> = serde_json::from_value(json).expect("back");
        assert_eq!(back, failed);
        assert_eq!(
            serde_json::to_value(Collected::Ok(true)).expect("json"),
            serde_json::json!({"ok": true})
        );
    }

    #[test]
    fn ec2s_encoded_authorization_message_is_cut_and_the_rest_kept() {
        let cases = [
            (
                "You are not authorized to perform this operation. Encoded authorization failure message: AbC-12_x/y+z= (UnauthorizedOperation)",
                "You are not authorized to perform this operation. (UnauthorizedOperation)",
            ),
            (
                "You are not authorized to perform this operation. User: x is not authorized to perform: ec2:DescribeVpcs with an explicit deny in a service control policy. Encoded authorization failure message: QmFzZTY0",
                "You are not authorized to perform this operation. User: x is not authorized to perform: ec2:DescribeVpcs with an explicit deny in a service control policy.",
            ),
            (
                "AccessDenied: no encoded part",
                "AccessDenied: no encoded part",
            ),
            ("", ""),
        ];
        for (message, kept) in cases {
            assert_eq!(without_encoded_message(message), kept, "{message}");
        }
    }

    #[test]
    fn an_scp_denial_is_not_described_as_a_missing_grant() {
        let error = |message: &str| CollectionError {
            action: "ec2:DescribeVpcs".to_owned(),
            access_denied: true,
            code: Some("UnauthorizedOperation".to_owned()),
            message: message.to_owned(),
        };
        let scp = error(
            "You are not authorized to perform this operation. User: x is not authorized to perform: ec2:DescribeVpcs with an explicit deny in a service control policy",
        )
        .describe();
        assert!(!scp.contains("grant the auditor's role"), "{scp}");
        assert!(
            scp.starts_with("ec2:DescribeVpcs denied by a service control policy"),
            "{scp}"
        );
        let missing = error(
            "User: x is not authorized to perform: ec2:DescribeVpcs because no identity-based policy allows the ec2:DescribeVpcs action",
        )
        .describe();
        assert_eq!(
            missing,
            "access denied to ec2:DescribeVpcs: grant the auditor's role `ec2:DescribeVpcs` (see `audit --print-policy`)"
        );
    }
}
