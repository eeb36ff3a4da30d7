//! Whether the application secret's host is the admin secret's database, when the
//! admin secret names a `host` of its own.
//!
//! setSecret writes as the admin at the admin's host, so an application secret on
//! another database must be refused. But one database has many names: an RDS
//! instance and its read replicas; an Aurora or Multi-AZ DB cluster's writer
//! endpoint, reader endpoint, custom endpoints and member instances. Only RDS knows
//! which belong together, so each host that is an RDS endpoint name is described
//! (`DescribeDBInstances`, `DescribeDBClusters`) as AWS's reference does
//! (aws-samples/aws-secrets-manager-rotation-lambdas,
//! SecretsManagerRDSMySQLRotationMultiUser/lambda_function.py:
//! `is_rds_replica_database`, `get_cluster_info_from_master_host`), and two hosts are
//! the same database when RDS puts them in one cluster, or one is a read replica of
//! the other. Unlike the reference, a cluster's writer and custom endpoints count
//! too, and a name is trusted only when RDS lists it as that database's endpoint.

use aws_sdk_rds::types::{DbCluster, DbInstance};

use super::endpoint::{
    AdminEndpoint, cluster_addresses, endpoint_matches, instance_address, rds_identifier,
    same_address,
};
use super::event::Context;
use super::rotator::Rotator;
use crate::error::{Problem, RotationError};
use crate::secret::DbSecret;

/// What an RDS host name says of itself. Formats from the Aurora user guide, "Types
/// of connections to Aurora DB clusters" (`mydbcluster.cluster-123456789012.us-east-1.rds.amazonaws.com`,
/// `mydbcluster.cluster-ro-123456789012...`) and "Considerations for custom endpoints
/// in Amazon Aurora" (`endpoint_name.cluster-custom-customer_DNS_identifier.AWS_Region.rds.amazonaws.com`);
/// an instance endpoint starts with the instance identifier
/// (`<id>.<hash>.<region>.rds.amazonaws.com`). Multi-AZ DB clusters use the same
/// `cluster-` and `cluster-ro-` forms (RDS user guide, "Connecting to a Multi-AZ DB cluster").
#[derive(Debug, PartialEq, Eq)]
pub(super) enum RdsName<'a> {
    /// A cluster's writer or reader endpoint: the first label is the cluster identifier.
    Cluster(&'a str),
    /// A custom endpoint: its first label is the endpoint's name, not the cluster's.
    Custom,
    /// An instance endpoint: the first label is the instance identifier.
    Instance(&'a str),
    /// Not a name RDS gave (an address, a CNAME).
    Other,
}

pub(super) fn rds_name(host: &str) -> RdsName<'_> {
    let mut labels = host.split('.');
    let first = labels.next().unwrap_or_default();
    let second = labels.next().unwrap_or_default().to_ascii_lowercase();
    if first.is_empty() || second.is_empty() || !host.to_ascii_lowercase().contains(".rds.") {
        RdsName::Other
    } else if second.starts_with("cluster-custom-") {
        RdsName::Custom
    } else if second.starts_with("cluster-") {
        RdsName::Cluster(first)
    } else {
        RdsName::Instance(first)
    }
}

/// One database as RDS describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Database {
    /// What two hosts of one database share: `cluster:<id>` or `instance:<id>`.
    pub(super) key: String,
    /// A read replica's source, as its `key`: the admin may write there for it.
    pub(super) source: Option<String>,
    /// The endpoints RDS lists for it (a cluster's writer, reader and custom endpoints).
    pub(super) addresses: Vec<(String, u16)>,
}

/// The database of an instance RDS described, with its cluster when it is a member.
pub(super) fn instance_database(instance: &DbInstance, cluster: Option<&DbCluster>) -> Database {
    let mut addresses: Vec<(String, u16)> = instance_address(instance).into_iter().collect();
    let key = if let Some(cluster) = cluster {
        addresses.extend(cluster_addresses(cluster));
        cluster_key(cluster.db_cluster_identifier().unwrap_or_default())
    } else {
        instance_key(instance.db_instance_identifier().unwrap_or_default())
    };
    let source = instance
        .read_replica_source_db_instance_identifier()
        .map(|source| instance_key(rds_identifier(source)));
    Database {
        key,
        source,
        addresses,
    }
}

fn cluster_key(id: &str) -> String {
    format!("cluster:{}", id.to_ascii_lowercase())
}

fn instance_key(id: &str) -> String {
    format!("instance:{}", id.to_ascii_lowercase())
}

/// Whether `app` and `admin` (host and port) are one database, by what RDS said of
/// each (`None`: not an RDS name, or RDS does not list it as its endpoint).
pub(super) fn same_database(
    app: (&str, u16),
    app_database: Option<&Database>,
    admin: (&str, u16),
    admin_database: Option<&Database>,
) -> bool {
    let lists = |database: Option<&Database>, host: (&str, u16)| {
        database.is_some_and(|d| d.addresses.iter().any(|(h, p)| same_address(host, (h, *p))))
    };
    // One cluster, or the application's host a read replica of the admin's instance.
    let related = match (app_database, admin_database) {
        (Some(app), Some(admin)) => app.key == admin.key || app.source.as_ref() == Some(&admin.key),
        _ => false,
    };
    related || lists(app_database, admin) || lists(admin_database, app)
}

/// The database only when RDS lists `host` as its endpoint: a name alone (a
/// cluster's or instance's identifier in the first label) proves nothing.
pub(super) fn listing(host: (&str, u16), database: Option<Database>) -> Option<Database> {
    database.filter(|d| d.addresses.iter().any(|(h, p)| same_address(host, (h, *p))))
}

impl Rotator {
    /// The database RDS lists `host:port` as an endpoint of, if any.
    async fn database_of(
        &self,
        cx: &Context<'_>,
        (host, port): (&str, u16),
    ) -> Result<Option<Database>, RotationError> {
        let database = match rds_name(host) {
            RdsName::Other | RdsName::Custom => return Ok(None),
            RdsName::Cluster(id) => self
                .describe_cluster(cx, id)
                .await?
                .map(|cluster| Database {
                    key: cluster_key(cluster.db_cluster_identifier().unwrap_or(id)),
                    source: None,
                    addresses: cluster_addresses(&cluster),
                }),
            RdsName::Instance(id) => match self.describe_instance(cx, id).await? {
                None => None,
                Some(instance) => {
                    let cluster = match instance.db_cluster_identifier() {
                        Some(cluster) => self.describe_cluster(cx, cluster).await?,
                        None => None,
                    };
                    Some(instance_database(&instance, cluster.as_ref()))
                }
            },
        };
        Ok(listing((host, port), database))
    }

    /// Refuses an application secret whose database is not the admin's: the same
    /// host and port, a read replica of it, or an endpoint or member of its cluster.
    /// With a `host` in the admin secret, RDS is asked (see the module's doc).
    pub(super) async fn check_same_database(
        &self,
        cx: &Context<'_>,
        current: &DbSecret,
        endpoint: &AdminEndpoint,
    ) -> Result<(), RotationError> {
        if endpoint_matches(&current.host, current.port, endpoint) {
            return Ok(());
        }
        if endpoint.from_secret {
            let app = (current.host.as_str(), current.port);
            let admin = (endpoint.host.as_str(), endpoint.port);
            let app_database = self.database_of(cx, app).await?;
            let admin_database = self.database_of(cx, admin).await?;
            if same_database(app, app_database.as_ref(), admin, admin_database.as_ref()) {
                tracing::info!(secret = %cx.event.secret_id, host = %current.host, admin_host = %endpoint.host, "the secret's host is a read replica, cluster endpoint or cluster instance of the admin secret's database");
                return Ok(());
            }
        }
        Err(cx.fail(Problem::Refused(format!(
            "the secret's database `{}:{}` is neither the admin secret's database `{}:{}` nor one of its read replicas, cluster endpoints or cluster instances; point masterarn at the admin secret of this database, or fix the secret's host and port",
            current.host, current.port, endpoint.host, endpoint.port
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::types::{DbClusterMember, Endpoint};

    #[test]
    fn rds_names_say_what_they_are() {
        let cases = [
            (
                "mydbcluster.cluster-c7tj4example.us-east-1.rds.amazonaws.com",
                RdsName::Cluster("mydbcluster"),
            ),
            (
                "mydbcluster.cluster-ro-c7tj4example.us-east-1.rds.amazonaws.com",
                RdsName::Cluster("mydbcluster"),
            ),
            (
                "MyDbCluster.CLUSTER-RO-c7tj4example.us-east-1.rds.amazonaws.com",
                RdsName::Cluster("MyDbCluster"),
            ),
            (
                "analytics.cluster-custom-c7tj4example.us-east-1.rds.amazonaws.com",
                RdsName::Custom,
            ),
            (
                "db-1.c7tj4example.us-east-1.rds.amazonaws.com",
                RdsName::Instance("db-1"),
            ),
            (
                "db-1.c7tj4example.cn-north-1.rds.amazonaws.com.cn",
                RdsName::Instance("db-1"),
            ),
            ("db.example.com", RdsName::Other),
            ("127.0.0.5", RdsName::Other),
            ("", RdsName::Other),
            (".rds.amazonaws.com", RdsName::Other),
        ];
        for (host, expected) in cases {
            assert_eq!(rds_name(host), expected, "{host}");
        }
    }

    fn cluster(id: &str, customs: &[&str], members: &[&str]) -> DbCluster {
        let mut cluster = DbCluster::builder()
            .db_cluster_identifier(id)
            .endpoint(format!(
                "{id}.cluster-c7tj4example.us-east-1.rds.amazonaws.com"
            ))
            .reader_endpoint(format!(
                "{id}.cluster-ro-c7tj4example.us-east-1.rds.amazonaws.com"
            ))
            .port(3306);
        for custom in customs {
            cluster = cluster.custom_endpoints(format!(
                "{custom}.cluster-custom-c7tj4example.us-east-1.rds.amazonaws.com"
            ));
        }
        for member in members {
            cluster = cluster.db_cluster_members(
                DbClusterMember::builder()
                    .db_instance_identifier(*member)
                    .build(),
            );
        }
        cluster.build()
    }

    fn instance(id: &str, cluster: Option<&str>, source: Option<&str>) -> DbInstance {
        DbInstance::builder()
            .db_instance_identifier(id)
            .set_db_cluster_identifier(cluster.map(str::to_owned))
            .set_read_replica_source_db_instance_identifier(source.map(str::to_owned))
            .endpoint(
                Endpoint::builder()
                    .address(format!("{id}.c7tj4example.us-east-1.rds.amazonaws.com"))
                    .port(3306)
                    .build(),
            )
            .build()
    }

    /// As `Rotator::database_of` resolves a host, over described RDS objects.
    fn resolve(host: &str, clusters: &[DbCluster], instances: &[DbInstance]) -> Option<Database> {
        let cluster_named = |id: &str| {
            clusters
                .iter()
                .find(|c| c.db_cluster_identifier() == Some(id))
        };
        let database = match rds_name(host) {
            RdsName::Other | RdsName::Custom => None,
            RdsName::Cluster(id) => cluster_named(id).map(|c| Database {
                key: cluster_key(id),
                source: None,
                addresses: cluster_addresses(c),
            }),
            RdsName::Instance(id) => instances
                .iter()
                .find(|i| i.db_instance_identifier() == Some(id))
                .map(|i| instance_database(i, i.db_cluster_identifier().and_then(cluster_named))),
        };
        listing((host, 3306), database)
    }

    #[test]
    fn a_clusters_endpoints_and_instances_are_one_database_and_replicas_go_to_their_source() {
        let clusters = [
            cluster("aurora", &["analytics"], &["aurora-1", "aurora-2"]),
            cluster("other", &["reports"], &["other-1"]),
        ];
        let instances = [
            instance("aurora-1", Some("aurora"), None),
            instance("aurora-2", Some("aurora"), None),
            instance("other-1", Some("other"), None),
            instance("plain", None, None),
            instance(
                "plain-replica",
                None,
                Some("arn:aws:rds:us-east-1:1:db:plain"),
            ),
            instance("plain-replica-2", None, Some("plain")),
        ];
        let host = |name: &str| {
            let (id, kind) = name.split_once('/').unwrap_or((name, ""));
            match kind {
                "writer" => format!("{id}.cluster-c7tj4example.us-east-1.rds.amazonaws.com"),
                "reader" => format!("{id}.cluster-ro-c7tj4example.us-east-1.rds.amazonaws.com"),
                "custom" => format!("{id}.cluster-custom-c7tj4example.us-east-1.rds.amazonaws.com"),
                _ => format!("{id}.c7tj4example.us-east-1.rds.amazonaws.com"),
            }
        };
        // (application host, admin host, the same database)
        let cases = [
            ("aurora/reader", "aurora/writer", true),
            ("analytics/custom", "aurora/writer", true),
            ("aurora/writer", "aurora-1", true),
            ("aurora/reader", "aurora-2", true),
            ("aurora-2", "aurora/writer", true),
            ("aurora-2", "aurora-1", true),
            ("analytics/custom", "aurora-1", true),
            // The admin on a custom endpoint: found from the application's cluster.
            ("aurora/reader", "analytics/custom", true),
            ("plain-replica", "plain", true),
            ("plain-replica-2", "plain", true),
            // Another cluster's endpoints, a custom endpoint of another cluster.
            ("other/reader", "aurora/writer", false),
            ("reports/custom", "aurora/writer", false),
            ("other-1", "aurora-1", false),
            // A replica is not where the admin writes for its source, nor for its sibling.
            ("plain", "plain-replica", false),
            ("plain-replica", "plain-replica-2", false),
            // Two custom endpoints: nothing names a cluster.
            ("analytics/custom", "reports/custom", false),
            // Names RDS does not list (a cluster or instance that is not there).
            ("gone/reader", "gone/writer", false),
            ("gone-1", "plain", false),
        ];
        for (app, admin, expected) in cases {
            let (app_host, admin_host) = (host(app), host(admin));
            let app_database = resolve(&app_host, &clusters, &instances);
            let admin_database = resolve(&admin_host, &clusters, &instances);
            assert_eq!(
                same_database(
                    (&app_host, 3306),
                    app_database.as_ref(),
                    (&admin_host, 3306),
                    admin_database.as_ref()
                ),
                expected,
                "{app} for an admin at {admin}"
            );
        }
        // Another port of a listed endpoint is not it.
        let writer = host("aurora/writer");
        let database = resolve(&writer, &clusters, &instances);
        assert!(!same_database(
            (&host("analytics/custom"), 3307),
            None,
            (&writer, 3306),
            database.as_ref()
        ));
    }
}
