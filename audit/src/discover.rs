//! Discovery (`--discover`): every MySQL rotation setup of a region, whatever its
//! names, and whatever its rotation state.
//!
//! By default the audit finds one setup by the tutorial's names (the policy's VPC,
//! bastion, database and secret names). An organisation that followed the tutorial
//! with its own names, or more than once, has setups those names never reach. With
//! `--discover` the collector lists the region's secrets and, for each that is a
//! database credential by [`classify`], finds what the setup depends on from the
//! secret itself: the rotation function it names (if any), that function's
//! `VpcConfig` (the VPC, subnets and groups), and the database (by
//! [`database_of`]). Each setup is then collected and checked like the tutorial's,
//! and its findings name the secret as their `setup`.
//!
//! Why rotation does not decide it: FSBP SecretsManager.1 fails a secret whose
//! rotation is off. A rule that looked only at secrets with rotation on would never
//! see the secrets that control is about, and report a false PASS. So a database
//! credential with rotation off is a setup, and `secret.rotation.schedule` fails it.
//! Why a function outside a VPC does not exclude: where the function runs is what
//! the checks judge (`secret.rotation.function` fails it), not a reason to look away.
//!
//! Nothing is guessed: a secret's value (its keys) is read only with
//! `--read-secrets`, as everywhere else in the audit. Without it only metadata
//! counts (RDS tags, the project's tag, a rotation function in a VPC); a secret
//! nothing recognises is excluded with the advice to rerun with `--read-secrets`.
//! Every excluded secret is listed in the report with its reason
//! ([`ExcludedSecret`]), so none is left out silently. Without the value the
//! database of a setup stays unresolved and the checks that need it say so (SKIP,
//! with the reason) instead of auditing some other instance.
//!
//! These functions are pure; the calls are in `collect::discover`.

// The records discovery produces live with the inventory that stores them.
use crate::inventory::{
    Collected, DbInstance, FunctionConfiguration, Instance, Secret, SecretFacts, SecurityGroupRule,
    shown_host,
};
pub use crate::inventory::{Discovered, ExcludedSecret};

/// The tag RDS puts on the admin secret it manages for an instance
/// (`ManageMasterUserPassword`): the instance's ARN ("Password management with
/// Amazon RDS and AWS Secrets Manager", RDS User Guide; moto's `MasterUserSecret`
/// writes the same tag).
pub const RDS_PRIMARY_INSTANCE_TAG: &str = "aws:rds:primaryDBInstanceArn";

/// Whether a secret is a database rotation setup, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Setup(String),
    Excluded(String),
}

/// The tag RDS puts on the admin secret it manages for a cluster.
pub const RDS_PRIMARY_CLUSTER_TAG: &str = "aws:rds:primaryDBClusterArn";

/// The `engine` values of the RDS credential JSON for the MySQL family, the
/// engines this audit's rotation setups are for.
pub const MYSQL_ENGINES: &[&str] = &["mysql", "mariadb", "aurora-mysql", "aurora"];

/// The discovery rule: is a secret a database credential of a MySQL rotation
/// setup? Its rotation state does not decide it: a database credential with
/// rotation off is the very thing FSBP SecretsManager.1 fails, so it is a setup
/// (and `secret.rotation.schedule` fails it), not a secret to pass over.
///
/// - A secret scheduled for deletion, or managed by another service (an
///   RDS-managed admin secret is rotated by RDS and audited as the admin secret of
///   the setup whose `masterarn` names it), is excluded.
/// - When its value was read (`--read-secrets`), the value decides: a `masterarn`,
///   an `engine` of the MySQL family, or `host`, `username` and `password` make it
///   a database credential; anything else (an API key, a token, another engine) is
///   excluded.
/// - Otherwise only metadata can say it: an `aws:rds:primaryDBInstanceArn` or
///   `aws:rds:primaryDBClusterArn` tag, the project's `Project` tag, or a rotation
///   function that runs in a VPC (the tutorial's design: the function reaches a
///   private database from inside its VPC), or one that could not be read (the
///   checks then report why). A function outside any VPC is no evidence either
///   way, and a name is never enough: such a secret is excluded with the advice
///   to rerun with `--read-secrets`.
///
/// `function` is `None` when the secret names no rotation function.
pub fn classify(
    secret: &Secret,
    function: Option<&Collected<Option<FunctionConfiguration>>>,
    facts: Option<&Collected<SecretFacts>>,
) -> Verdict {
    if let Some(reason) = excluded_outright(secret) {
        return Verdict::Excluded(reason);
    }
    let rotation = match (secret.rotation_enabled, &secret.rotation_lambda_arn) {
        (Some(true), Some(arn)) => format!("rotation is on, by {arn}"),
        (Some(true), None) => "rotation is on, with no function".to_owned(),
        _ => "rotation is off".to_owned(),
    };
    let unread = match facts {
        Some(Collected::Ok(facts)) => {
            return match (value_evidence(facts), tag_evidence(secret)) {
                // RDS's or the project's tag outweighs a value whose keys are unusual.
                (Ok(why), _) | (Err(_), Some(why)) => Verdict::Setup(format!("{why}; {rotation}")),
                (Err(why), None) => Verdict::Excluded(why),
            };
        }
        Some(Collected::Failed(error)) => {
            format!("its value could not be read ({})", error.describe())
        }
        Some(Collected::Skipped(_)) | None => {
            "its value is read only with --read-secrets".to_owned()
        }
    };
    if let Some(why) = tag_evidence(secret) {
        return Verdict::Setup(format!("{why}; {rotation}"));
    }
    // With --read-secrets, a value the audit could not read (a key it may not use, a
    // denied GetSecretValue, a binary value) decides nothing: the secret is kept, so
    // its rotation is still checked (FSBP SecretsManager.1) and the checks that need
    // the value say why they cannot run, instead of an exclusion nobody gates on.
    if let Some(Collected::Failed(_)) = facts {
        return Verdict::Setup(format!(
            "kept because {unread}, so nothing shows it is not a database credential; {rotation}"
        ));
    }
    match function {
        Some(Collected::Ok(Some(configuration))) => match &configuration.vpc_id {
            Some(vpc) => Verdict::Setup(format!(
                "its rotation function {} runs in {vpc}; {rotation}",
                configuration.arn
            )),
            None => Verdict::Excluded(format!(
                "no evidence of a database credential: its rotation function {} runs outside any VPC, it has no aws:rds tag, and {unread}; rerun with --read-secrets to decide from its value's keys",
                configuration.arn
            )),
        },
        Some(Collected::Ok(None)) => {
            Verdict::Setup(format!("its rotation function does not exist; {rotation}"))
        }
        Some(Collected::Failed(error)) => Verdict::Setup(format!(
            "its rotation function could not be read ({}); {rotation}",
            error.action
        )),
        Some(Collected::Skipped(reason)) => {
            Verdict::Setup(format!("its rotation function: {reason}; {rotation}"))
        }
        None => Verdict::Excluded(format!(
            "no evidence of a database credential: no rotation function, no aws:rds tag, and {unread}; rerun with --read-secrets to decide from its value's keys"
        )),
    }
}

/// Why a secret is excluded whatever its value and function (deleted, or managed
/// by another service): the collector spends no call on such a secret.
pub fn excluded_outright(secret: &Secret) -> Option<String> {
    if secret.deleted_date.is_some() {
        return Some("scheduled for deletion".to_owned());
    }
    secret.owner().map(|service| {
        format!(
            "managed by {service}, which rotates it (audited as the admin secret of the setup whose masterarn names it)"
        )
    })
}

/// What a secret's tags say: the RDS tags name its database; the project's tag
/// marks a setup the project deployed.
fn tag_evidence(secret: &Secret) -> Option<String> {
    for key in [RDS_PRIMARY_INSTANCE_TAG, RDS_PRIMARY_CLUSTER_TAG] {
        if let Some(arn) = secret.tag(key) {
            return Some(format!("its {key} tag names {arn}"));
        }
    }
    (secret.tag(crate::policy::PROJECT_TAG_KEY) == Some(crate::policy::PROJECT_TAG_VALUE)).then(
        || {
            format!(
                "its {}={} tag marks the project's setup",
                crate::policy::PROJECT_TAG_KEY,
                crate::policy::PROJECT_TAG_VALUE
            )
        },
    )
}

/// What a secret's value (its keys, never printed) says: `Ok(why)` for a MySQL
/// database credential, `Err(why not)`.
fn value_evidence(facts: &SecretFacts) -> Result<String, String> {
    if facts.masterarn.is_some() {
        return Ok("its value names a masterarn".to_owned());
    }
    if let Some(engine) = &facts.engine {
        return if MYSQL_ENGINES.contains(&engine.to_ascii_lowercase().as_str()) {
            Ok(format!("its value is an RDS credential (engine {engine})"))
        } else {
            Err(format!(
                "its value is a credential for engine {engine}, not MySQL ({}); this audit checks MySQL rotation setups",
                MYSQL_ENGINES.join(", ")
            ))
        };
    }
    if facts.host.is_some() && facts.username.is_some() && facts.has_password {
        return Ok("its value has host, username and password".to_owned());
    }
    Err(
        "its value has no masterarn, no engine, and not host, username and password together: not a database credential"
            .to_owned(),
    )
}

/// The instance identifier in an RDS instance ARN
/// (`arn:<partition>:rds:<region>:<account>:db:<id>`).
pub fn instance_id_of_arn(arn: &str) -> Option<&str> {
    rds_id_of_arn(arn, "db")
}

/// The identifier in an RDS ARN of resource type `kind` (`db`, `cluster`).
fn rds_id_of_arn<'a>(arn: &'a str, kind: &str) -> Option<&'a str> {
    let mut parts = arn.splitn(7, ':');
    let (Some("arn"), _, Some("rds"), _, _, Some(found), Some(id)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (found == kind && !id.is_empty()).then_some(id)
}

/// An instance's endpoint, from `DescribeDBInstances`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: String,
    pub address: Option<String>,
    pub port: Option<u16>,
}

/// A DB cluster's endpoints and its writer instance, from `DescribeDBClusters`
/// (`Endpoint`, `ReaderEndpoint`, `CustomEndpoints` on its `Port`;
/// `DBClusterMembers` with `IsClusterWriter`: Amazon RDS API reference,
/// DBCluster, <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBCluster.html>).
/// A setup on a cluster is audited at its writer instance, whose cluster's
/// endpoints the audit then logs in at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterEndpoints {
    pub id: String,
    pub addresses: Vec<String>,
    pub port: Option<u16>,
    pub writer: Option<String>,
}

/// The cluster identifier in an RDS cluster ARN
/// (`arn:<partition>:rds:<region>:<account>:cluster:<id>`).
pub fn cluster_id_of_arn(arn: &str) -> Option<&str> {
    rds_id_of_arn(arn, "cluster")
}

/// The writer instance of `cluster`, or why there is none to audit.
fn writer_of(cluster: &ClusterEndpoints) -> Result<String, String> {
    cluster.writer.clone().ok_or_else(|| {
        format!(
            "DB cluster {} has no writer instance (DBClusterMembers with IsClusterWriter) to audit",
            cluster.id
        )
    })
}

/// The cluster one of whose endpoints is the secret's `host` (on its `port`,
/// when the secret names one).
pub fn match_cluster_host<'a>(
    host: &str,
    port: Option<u16>,
    clusters: &'a [ClusterEndpoints],
) -> Option<&'a ClusterEndpoints> {
    clusters.iter().find(|c| {
        c.addresses.iter().any(|a| permissions::same_host(a, host))
            && (port.is_none() || c.port.is_none() || c.port == port)
    })
}

/// The instance whose endpoint is the secret's `host` (and `port`, when several
/// share the address, as behind one proxy or in an emulator). Host names compare
/// without case and a trailing dot (DNS names are case-insensitive).
pub fn match_host(host: &str, port: Option<u16>, instances: &[Endpoint]) -> Result<String, String> {
    let by_address: Vec<&Endpoint> = instances
        .iter()
        .filter(|i| {
            i.address
                .as_deref()
                .is_some_and(|a| permissions::same_host(a, host))
        })
        .collect();
    let matching: Vec<&Endpoint> = if by_address.len() > 1 {
        by_address
            .iter()
            .copied()
            .filter(|i| port.is_some() && i.port == port)
            .collect()
    } else {
        by_address.clone()
    };
    let host = crate::inventory::shown_host(host);
    match matching.as_slice() {
        [one] => Ok(one.id.clone()),
        [] if by_address.is_empty() => Err(format!(
            "no RDS instance of the region has the endpoint {host}"
        )),
        [] => Err(format!(
            "{} RDS instances have the endpoint {host} and none its port {}",
            by_address.len(),
            port.map_or_else(|| "(none in the secret)".to_owned(), |p| p.to_string())
        )),
        many => Err(format!(
            "{} RDS instances have the endpoint {host}:{} ({})",
            many.len(),
            port.map_or_else(String::new, |p| p.to_string()),
            many.iter()
                .map(|i| i.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The database a setup depends on: the instance named by the RDS tag of the
/// admin secret its `masterarn` names, else the instance whose endpoint is its
/// `host`. `Ok((id, how))`, or `Err(why not)`. `admin` is the `masterarn`'s
/// secret as described (`None` when there is no `masterarn`); `instances` the
/// region's endpoints (`None` when they could not be listed).
pub fn database_of(
    facts: &Collected<SecretFacts>,
    admin: Option<&Collected<Option<Secret>>>,
    instances: Option<&[Endpoint]>,
    clusters: Option<&[ClusterEndpoints]>,
) -> Result<(String, String), String> {
    let facts = match facts {
        Collected::Ok(facts) => facts,
        Collected::Skipped(_) => {
            return Err(
                "the database is named only in the secret's value (host, masterarn), read only with --read-secrets; rerun with --read-secrets to audit it"
                    .to_owned(),
            );
        }
        Collected::Failed(error) => {
            return Err(format!(
                "the secret's value could not be read, so its database is unknown: {}",
                error.describe()
            ));
        }
    };
    let mut why = Vec::new();
    if let (Some(masterarn), Some(admin)) = (&facts.masterarn, admin) {
        match admin {
            Collected::Ok(Some(secret)) => {
                let instance = secret
                    .tags
                    .get(RDS_PRIMARY_INSTANCE_TAG)
                    .and_then(|arn| instance_id_of_arn(arn));
                let cluster = secret
                    .tags
                    .get(RDS_PRIMARY_CLUSTER_TAG)
                    .and_then(|arn| cluster_id_of_arn(arn));
                match (instance, cluster) {
                    (Some(id), _) => {
                        return Ok((
                            id.to_owned(),
                            format!(
                                "from the {RDS_PRIMARY_INSTANCE_TAG} tag of its masterarn {}",
                                secret.name
                            ),
                        ));
                    }
                    (None, Some(cluster)) => {
                        let found = clusters.map(|all| all.iter().find(|c| c.id == cluster));
                        match found {
                            Some(Some(found)) => match writer_of(found) {
                                Ok(writer) => {
                                    return Ok((
                                        writer.clone(),
                                        format!(
                                            "from the {RDS_PRIMARY_CLUSTER_TAG} tag of its masterarn {}: cluster {cluster}, writer instance {writer}",
                                            secret.name
                                        ),
                                    ));
                                }
                                Err(message) => why.push(message),
                            },
                            Some(None) => why.push(format!(
                                "the {RDS_PRIMARY_CLUSTER_TAG} tag of its masterarn {} names cluster {cluster}, which DescribeDBClusters does not list",
                                secret.name
                            )),
                            None => why.push(
                                "the region's DB clusters could not be listed".to_owned(),
                            ),
                        }
                    }
                    (None, None) => why.push(format!(
                        "its masterarn {} has no {RDS_PRIMARY_INSTANCE_TAG} or {RDS_PRIMARY_CLUSTER_TAG} tag (not an RDS-managed secret)",
                        secret.name
                    )),
                }
            }
            Collected::Ok(None) => why.push(format!("its masterarn {masterarn} does not exist")),
            Collected::Failed(error) => why.push(format!(
                "its masterarn {masterarn} could not be described: {}",
                error.describe()
            )),
            Collected::Skipped(reason) => why.push(reason.clone()),
        }
    }
    match (&facts.host, instances) {
        (Some(host), Some(instances)) => match match_host(host, facts.port, instances) {
            Ok(id) => {
                return Ok((
                    id,
                    format!("its host {} is the instance's endpoint", shown_host(host)),
                ));
            }
            Err(message) => match clusters.map(|all| match_cluster_host(host, facts.port, all)) {
                Some(Some(cluster)) => match writer_of(cluster) {
                    Ok(writer) => {
                        return Ok((
                            writer.clone(),
                            format!(
                                "its host {} is an endpoint of DB cluster {}, whose writer instance is {writer}",
                                shown_host(host),
                                cluster.id
                            ),
                        ));
                    }
                    Err(message) => why.push(message),
                },
                Some(None) => why.push(format!("{message}, nor a DB cluster")),
                None => why.push(format!(
                    "{message}; the region's DB clusters could not be listed"
                )),
            },
        },
        (Some(_), None) => why.push("the region's RDS instances could not be listed".to_owned()),
        (None, _) => why.push("its value has no host".to_owned()),
    }
    Err(format!("its database was not found: {}", why.join("; ")))
}

/// A discovered setup's bastions, found by their role rather than a name: the
/// VPC's instances (of `instances`) with a group that the database's groups admit
/// on the database port by group reference, and a group that admits SSH
/// (`ssh_port`, from any source). A setup built under its own names has its
/// bastion found so, and `rds.ingress.bastion-only` accepts it. When no instance
/// has that role (or the rules or the database are unknown), the instances named
/// `bastion_name` (the policy's) are the bastions, as for the tutorial's setup.
pub fn bastions_by_role(
    instances: Vec<Instance>,
    database: Option<&DbInstance>,
    rules: Option<&[SecurityGroupRule]>,
    ssh_port: u16,
    bastion_name: &str,
) -> Vec<Instance> {
    let by_role: Vec<Instance> = match (database, rules) {
        (Some(db), Some(rules)) => {
            let db_port = db.port.unwrap_or(3306);
            let admitted: Vec<&str> = rules
                .iter()
                .filter(|r| {
                    db.security_group_ids.contains(&r.group_id)
                        && crate::checks::network::admits_tcp_port(r, db_port)
                })
                .filter_map(|r| r.referenced_group_id.as_deref())
                .collect();
            let admits_ssh = |group: &String| {
                rules.iter().any(|r| {
                    &r.group_id == group && crate::checks::network::admits_tcp_port(r, ssh_port)
                })
            };
            instances
                .iter()
                .filter(|i| {
                    i.security_group_ids
                        .iter()
                        .any(|g| admitted.contains(&g.as_str()))
                        && i.security_group_ids.iter().any(admits_ssh)
                })
                .cloned()
                .collect()
        }
        _ => Vec::new(),
    };
    if by_role.is_empty() {
        instances
            .into_iter()
            .filter(|i| i.name.as_deref() == Some(bastion_name))
            .collect()
    } else {
        by_role
    }
}

#[cfg(test)]
mod bastion_tests {
    use super::*;
    use crate::checks::fixtures::{bastion, compliant_region, from_group, rule};

    #[test]
    fn a_setups_bastion_is_found_by_its_role_and_by_name_only_as_a_fallback() {
        let region = compliant_region();
        let db = region
            .database
            .ok()
            .and_then(Option::as_ref)
            .expect("database")
            .clone();
        let db_group = db.security_group_ids[0].clone();
        let mut jump = bastion("i-jump", "sg-jump");
        jump.name = Some("billing-jump".to_owned());
        let mut web = bastion("i-web", "sg-web");
        web.name = Some("web".to_owned());
        let mut named = bastion("i-named", "sg-named");
        named.name = Some(crate::policy::TUTORIAL_BASTION_NAME.to_owned());
        let port = i32::from(db.port.unwrap_or(3306));
        let rules = vec![
            from_group(rule("r-db", &db_group, "tcp", port, port), "sg-jump"),
            crate::checks::fixtures::from_cidr(
                rule("r-ssh", "sg-jump", "tcp", 22, 22),
                "203.0.113.10/32",
            ),
            // The web server has SSH too, but the database does not admit it.
            crate::checks::fixtures::from_cidr(
                rule("r-web", "sg-web", "tcp", 22, 22),
                "203.0.113.10/32",
            ),
        ];
        let instances = vec![jump.clone(), web.clone(), named.clone()];
        let found = |rules: Option<&[SecurityGroupRule]>| -> Vec<String> {
            bastions_by_role(
                instances.clone(),
                Some(&db),
                rules,
                22,
                crate::policy::TUTORIAL_BASTION_NAME,
            )
            .into_iter()
            .map(|i| i.id)
            .collect()
        };
        assert_eq!(found(Some(rules.as_slice())), vec!["i-jump".to_owned()]);
        // Without SSH on its group it is no bastion: the name decides.
        assert_eq!(found(Some(&rules[..1])), vec!["i-named".to_owned()]);
        // Rules unread: the name decides.
        assert_eq!(found(None), vec!["i-named".to_owned()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::CollectionError;

    /// (secret, function, value, is a setup, words of the reason)
    type RuleCase<'a> = (
        &'a Secret,
        Option<&'a Collected<Option<FunctionConfiguration>>>,
        Option<&'a Collected<SecretFacts>>,
        bool,
        &'a str,
    );

    /// (value, masterarn's secret, the region's endpoints, instance or words of the reason)
    type DatabaseCase<'a> = (
        &'a Collected<SecretFacts>,
        Option<&'a Collected<Option<Secret>>>,
        Option<&'a [Endpoint]>,
        Result<&'a str, &'a str>,
    );

    fn function(vpc: Option<&str>) -> Collected<Option<FunctionConfiguration>> {
        Collected::Ok(Some(FunctionConfiguration {
            name: "f".to_owned(),
            arn: "arn:aws:lambda:us-east-1:1:function:f".to_owned(),
            vpc_id: vpc.map(str::to_owned),
            subnet_ids: Vec::new(),
            security_group_ids: Vec::new(),
            state: None,
            last_update_status: None,
            role: None,
            runtime: None,
            package_type: None,
            environment: Vec::new(),
        }))
    }

    fn failed(action: &str) -> CollectionError {
        CollectionError {
            action: action.to_owned(),
            access_denied: true,
            code: None,
            message: "denied".to_owned(),
        }
    }

    #[test]
    #[allow(clippy::too_many_lines)] // a table of cases
    fn the_discovery_rule() {
        let rotated = Secret {
            name: "s".to_owned(),
            rotation_enabled: Some(true),
            rotation_lambda_arn: Some("arn:aws:lambda:us-east-1:1:function:f".to_owned()),
            ..Secret::default()
        };
        // Rotation turned off (`CancelRotateSecret` keeps the function's ARN).
        let off_with_function = Secret {
            rotation_enabled: Some(false),
            ..rotated.clone()
        };
        let never_rotated = Secret {
            name: "db-app".to_owned(),
            rotation_enabled: None,
            rotation_lambda_arn: None,
            ..Secret::default()
        };
        let tagged = |key: &str, value: &str| Secret {
            tags: [(key.to_owned(), value.to_owned())].into(),
            ..never_rotated.clone()
        };
        let instance_tag = tagged(RDS_PRIMARY_INSTANCE_TAG, "arn:aws:rds:us-east-1:1:db:d");
        let cluster_tag = tagged(RDS_PRIMARY_CLUSTER_TAG, "arn:aws:rds:us-east-1:1:cluster:c");
        let project_tag = tagged("Project", "SecretsManagerTutorial");
        let other_project = tagged("Project", "Billing");
        let managed = Secret {
            owning_service: Some("rds".to_owned()),
            ..instance_tag.clone()
        };
        let managed_by_tag = tagged("aws:secretsmanager:owningService", "rds");
        let deleted = Secret {
            deleted_date: Some(time::OffsetDateTime::UNIX_EPOCH),
            ..rotated.clone()
        };
        let facts = |masterarn: Option<&str>, engine: Option<&str>, host: bool, password: bool| {
            Collected::Ok(SecretFacts {
                masterarn: masterarn.map(str::to_owned),
                engine: engine.map(str::to_owned),
                host: host.then(|| "db".to_owned()),
                username: host.then(|| "appuser".to_owned()),
                has_password: password,
                ..SecretFacts::default()
            })
        };
        let skipped = Collected::Skipped("no --read-secrets".to_owned());
        let with_masterarn = facts(Some("arn:admin"), None, false, false);
        let mysql = facts(None, Some("mysql"), true, true);
        let aurora = facts(None, Some("Aurora-MySQL"), true, true);
        let postgres = facts(None, Some("postgres"), true, true);
        let login = facts(None, None, true, true);
        let host_no_password = facts(None, None, true, false);
        let api_key = facts(None, None, false, true);
        let unreadable = Collected::Failed(failed("secretsmanager:GetSecretValue"));
        let in_vpc = function(Some("vpc-1"));
        let outside = function(None);
        let gone = Collected::Ok(None);
        let denied = Collected::Failed(failed("lambda:GetFunctionConfiguration"));
        let cases: &[RuleCase<'_>] = &[
            // Without the value: a function in a VPC, or one that cannot be judged.
            (&rotated, Some(&in_vpc), None, true, "runs in vpc-1"),
            (
                &rotated,
                Some(&in_vpc),
                Some(&skipped),
                true,
                "rotation is on",
            ),
            (&rotated, Some(&gone), None, true, "does not exist"),
            (
                &rotated,
                Some(&denied),
                None,
                true,
                "lambda:GetFunctionConfiguration",
            ),
            // A function outside a VPC is no evidence, but a tag is.
            (
                &rotated,
                Some(&outside),
                Some(&skipped),
                false,
                "--read-secrets",
            ),
            // A value the audit could not read decides nothing: kept, so its
            // rotation is checked, saying why.
            (
                &rotated,
                Some(&outside),
                Some(&unreadable),
                true,
                "GetSecretValue",
            ),
            (
                &never_rotated,
                None,
                Some(&unreadable),
                true,
                "rotation is off",
            ),
            // With the value, whatever the function's placement: the keys decide.
            (
                &rotated,
                Some(&outside),
                Some(&with_masterarn),
                true,
                "masterarn",
            ),
            (&rotated, Some(&outside), Some(&mysql), true, "engine mysql"),
            (
                &rotated,
                Some(&outside),
                Some(&login),
                true,
                "host, username and password",
            ),
            (
                &rotated,
                Some(&in_vpc),
                Some(&api_key),
                false,
                "not a database credential",
            ),
            (
                &rotated,
                Some(&in_vpc),
                Some(&host_no_password),
                false,
                "not a database",
            ),
            (&rotated, Some(&in_vpc), Some(&postgres), false, "not MySQL"),
            // Rotation off: still a database credential (and the schedule check fails it).
            (
                &off_with_function,
                Some(&in_vpc),
                Some(&with_masterarn),
                true,
                "rotation is off",
            ),
            (
                &off_with_function,
                Some(&in_vpc),
                None,
                true,
                "rotation is off",
            ),
            (&never_rotated, None, Some(&mysql), true, "rotation is off"),
            (&never_rotated, None, Some(&aurora), true, "Aurora-MySQL"),
            (
                &instance_tag,
                None,
                Some(&skipped),
                true,
                "primaryDBInstanceArn",
            ),
            (&cluster_tag, None, None, true, "primaryDBClusterArn"),
            (
                &project_tag,
                None,
                None,
                true,
                "Project=SecretsManagerTutorial",
            ),
            (
                &cluster_tag,
                None,
                Some(&unreadable),
                true,
                "rotation is off",
            ),
            // RDS's tag outranks a value whose keys are unusual.
            (
                &instance_tag,
                None,
                Some(&api_key),
                true,
                "aws:rds:primaryDBInstanceArn",
            ),
            // Not database credentials, or nothing says so: excluded, with the reason.
            (
                &never_rotated,
                None,
                Some(&api_key),
                false,
                "not a database credential",
            ),
            (
                &never_rotated,
                None,
                Some(&skipped),
                false,
                "rerun with --read-secrets",
            ),
            (&other_project, None, None, false, "no evidence"),
            // Not audited as setups of their own.
            (&managed, None, Some(&mysql), false, "managed by rds"),
            (&managed_by_tag, None, None, false, "managed by rds"),
            (&deleted, Some(&in_vpc), Some(&mysql), false, "deletion"),
        ];
        for (i, (secret, function, facts, setup, words)) in cases.iter().enumerate() {
            let verdict = classify(secret, *function, *facts);
            let (is_setup, reason) = match &verdict {
                Verdict::Setup(reason) => (true, reason),
                Verdict::Excluded(reason) => (false, reason),
            };
            assert_eq!(is_setup, *setup, "case {i}: {verdict:?}");
            assert!(reason.contains(words), "case {i}: {verdict:?}");
        }
    }

    #[test]
    fn instance_ids_come_from_rds_instance_arns_only() {
        let cases = [
            ("arn:aws:rds:us-east-1:123456789012:db:mydb", Some("mydb")),
            ("arn:aws-cn:rds:cn-north-1:123456789012:db:x-1", Some("x-1")),
            ("arn:aws:rds:us-east-1:123456789012:cluster:c", None),
            ("arn:aws:secretsmanager:us-east-1:1:secret:db:x", None),
            ("arn:aws:rds:us-east-1:123456789012:db:", None),
            ("mydb", None),
        ];
        for (arn, id) in cases {
            assert_eq!(instance_id_of_arn(arn), id, "{arn}");
        }
    }

    #[test]
    fn a_host_matches_one_endpoint_by_name_then_port() {
        let endpoint = |id: &str, address: &str, port: u16| Endpoint {
            id: id.to_owned(),
            address: Some(address.to_owned()),
            port: Some(port),
        };
        let instances = [
            endpoint("a", "a.xyz.us-east-1.rds.amazonaws.com", 3306),
            endpoint("b", "127.0.0.1", 40001),
            endpoint("c", "127.0.0.1", 40002),
            Endpoint {
                id: "creating".to_owned(),
                address: None,
                port: None,
            },
        ];
        let cases: &[(&str, Option<u16>, Result<&str, &str>)] = &[
            ("a.xyz.us-east-1.rds.amazonaws.com", Some(3306), Ok("a")),
            ("A.XYZ.us-east-1.rds.amazonaws.com.", None, Ok("a")),
            // One address: the port in the secret does not have to agree (the
            // checks compare it); several: the port decides.
            ("a.xyz.us-east-1.rds.amazonaws.com", Some(1), Ok("a")),
            ("127.0.0.1", Some(40002), Ok("c")),
            ("127.0.0.1", Some(3306), Err("none its port 3306")),
            ("127.0.0.1", None, Err("none its port (none in the secret)")),
            ("other.example.com", Some(3306), Err("no RDS instance")),
        ];
        for (host, port, expected) in cases {
            let got = match_host(host, *port, &instances);
            match (expected, &got) {
                (Ok(id), Ok(found)) => assert_eq!(found, id, "{host}"),
                (Err(words), Err(message)) => assert!(message.contains(words), "{host}: {message}"),
                _ => panic!("{host}: {got:?}, expected {expected:?}"),
            }
        }
        let twins = [endpoint("x", "h", 1), endpoint("y", "h", 1)];
        assert!(
            match_host("h", Some(1), &twins)
                .expect_err("ambiguous")
                .contains("x, y")
        );
    }

    #[test]
    fn the_database_comes_from_the_masterarn_tag_then_the_host() {
        let facts = |masterarn: bool, host: Option<&str>| {
            Collected::Ok(SecretFacts {
                masterarn: masterarn.then(|| "arn:admin".to_owned()),
                host: host.map(str::to_owned),
                port: Some(3306),
                ..SecretFacts::default()
            })
        };
        let tagged = Collected::Ok(Some(Secret {
            name: "rds!db-1".to_owned(),
            tags: [(
                RDS_PRIMARY_INSTANCE_TAG.to_owned(),
                "arn:aws:rds:us-east-1:1:db:tagged".to_owned(),
            )]
            .into(),
            ..Secret::default()
        }));
        let untagged = Collected::Ok(Some(Secret {
            name: "admin".to_owned(),
            ..Secret::default()
        }));
        let gone = Collected::Ok(None);
        let instances = [Endpoint {
            id: "by-host".to_owned(),
            address: Some("db.example".to_owned()),
            port: Some(3306),
        }];
        let skipped = Collected::Skipped("x".to_owned());
        let unreadable = Collected::Failed(failed("secretsmanager:GetSecretValue"));
        let cases: &[DatabaseCase<'_>] = &[
            (
                &facts(true, Some("db.example")),
                Some(&tagged),
                Some(&instances),
                Ok("tagged"),
            ),
            (
                &facts(true, Some("db.example")),
                Some(&untagged),
                Some(&instances),
                Ok("by-host"),
            ),
            (
                &facts(true, Some("db.example")),
                Some(&gone),
                Some(&instances),
                Ok("by-host"),
            ),
            (
                &facts(false, Some("db.example")),
                None,
                Some(&instances),
                Ok("by-host"),
            ),
            (
                &facts(true, None),
                Some(&untagged),
                Some(&instances),
                Err("no aws:rds:primaryDBInstanceArn or aws:rds:primaryDBClusterArn tag"),
            ),
            (
                &facts(true, Some("elsewhere")),
                Some(&gone),
                Some(&instances),
                Err("arn:admin does not exist; no RDS instance"),
            ),
            (
                &facts(false, Some("db.example")),
                None,
                None,
                Err("could not be listed"),
            ),
            (&skipped, None, Some(&instances), Err("--read-secrets")),
            (
                &unreadable,
                None,
                Some(&instances),
                Err("secretsmanager:GetSecretValue"),
            ),
        ];
        for (i, (facts, admin, instances, expected)) in cases.iter().enumerate() {
            let got = database_of(facts, *admin, *instances, Some(&[]));
            match (expected, &got) {
                (Ok(id), Ok((found, how))) => {
                    assert_eq!(found, id, "case {i}");
                    if let Collected::Ok(SecretFacts {
                        host: Some(host), ..
                    }) = facts
                        && how.starts_with("its host")
                    {
                        assert!(
                            how.starts_with(&format!("its host {host:?}")),
                            "case {i}: {how}"
                        );
                    }
                }
                (Err(words), Err(message)) => {
                    assert!(message.contains(words), "case {i}: {message}");
                }
                _ => panic!("case {i}: {got:?}, expected {expected:?}"),
            }
        }
    }

    /// (value, admin secret, clusters listed, expected writer or error words)
    type ClusterCase<'a> = (
        Collected<SecretFacts>,
        Option<&'a Collected<Option<Secret>>>,
        Option<&'a [ClusterEndpoints]>,
        Result<&'a str, &'a str>,
    );

    #[test]
    fn an_aurora_setup_is_audited_at_its_clusters_writer() {
        let facts = |masterarn: bool, host: &str| {
            Collected::Ok(SecretFacts {
                masterarn: masterarn.then(|| "arn:admin".to_owned()),
                host: Some(host.to_owned()),
                port: Some(3306),
                ..SecretFacts::default()
            })
        };
        let cluster_tagged = Collected::Ok(Some(Secret {
            name: "rds!cluster-1".to_owned(),
            tags: [(
                RDS_PRIMARY_CLUSTER_TAG.to_owned(),
                "arn:aws:rds:us-east-1:1:cluster:c1".to_owned(),
            )]
            .into(),
            ..Secret::default()
        }));
        let clusters = [
            ClusterEndpoints {
                id: "c1".to_owned(),
                addresses: vec![
                    "c1.cluster-abc.us-east-1.rds.amazonaws.com".to_owned(),
                    "c1.cluster-ro-abc.us-east-1.rds.amazonaws.com".to_owned(),
                ],
                port: Some(3306),
                writer: Some("c1-writer".to_owned()),
            },
            ClusterEndpoints {
                id: "c2".to_owned(),
                addresses: vec!["c2.cluster-abc.us-east-1.rds.amazonaws.com".to_owned()],
                port: Some(3306),
                writer: None,
            },
        ];
        let instances = [Endpoint {
            id: "solo".to_owned(),
            address: Some("solo.abc.us-east-1.rds.amazonaws.com".to_owned()),
            port: Some(3306),
        }];
        let cut = format!("the endpoint \"{}\"…, nor", "h".repeat(253));
        let cases: Vec<ClusterCase> = vec![
            (
                facts(true, "anything"),
                Some(&cluster_tagged),
                Some(&clusters),
                Ok("c1-writer"),
            ),
            (
                facts(false, "C1.cluster-ro-abc.us-east-1.rds.amazonaws.com."),
                None,
                Some(&clusters),
                Ok("c1-writer"),
            ),
            (
                facts(false, "c2.cluster-abc.us-east-1.rds.amazonaws.com"),
                None,
                Some(&clusters),
                Err("DB cluster c2 has no writer instance"),
            ),
            (
                facts(false, "c1.cluster-abc.us-east-1.rds.amazonaws.com"),
                None,
                None,
                Err("the region's DB clusters could not be listed"),
            ),
            (
                facts(true, "elsewhere"),
                Some(&cluster_tagged),
                None,
                Err("the region's DB clusters could not be listed"),
            ),
            (
                facts(false, "elsewhere"),
                None,
                Some(&clusters),
                Err(
                    "no RDS instance of the region has the endpoint \"elsewhere\", nor a DB cluster",
                ),
            ),
            // The secret's host, written by whoever may write the secret: escaped
            // and cut.
            (
                facts(false, "evil\n\u{1b}[2Jhost"),
                None,
                Some(&clusters),
                Err("the endpoint \"evil\\n\\u{1b}[2Jhost\", nor"),
            ),
            (
                facts(false, &"h".repeat(300)),
                None,
                Some(&clusters),
                Err(&cut),
            ),
        ];
        for (i, (facts, admin, clusters, expected)) in cases.iter().enumerate() {
            let got = database_of(facts, *admin, Some(&instances), *clusters);
            match (expected, &got) {
                (Ok(id), Ok((found, _))) => assert_eq!(found, id, "case {i}"),
                (Err(words), Err(message)) => {
                    assert!(message.contains(words), "case {i}: {message}");
                }
                _ => panic!("case {i}: {got:?}, expected {expected:?}"),
            }
        }
    }
}
