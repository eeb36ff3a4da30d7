//! Where the admin logs in: the admin secret's host, or the RDS instance or cluster
//! an RDS-managed admin secret names, with its replicas and readers.
//!
//! An RDS-managed admin secret holds only `username` and `password`; its tag
//! `aws:rds:primaryDBInstanceArn` (or `...ClusterArn`) names the database, which RDS
//! describes. The replicas, and a cluster's reader and custom endpoints and member
//! instances, are the other endpoints an application secret may name for the same
//! database. An admin secret with a `host` is checked in `same_database` instead.

use super::event::Context;
use super::rotator::Rotator;
use crate::error::{Problem, RotationError};
use crate::secret::AdminSecret;

/// The admin login of `setSecret`, and the endpoints the application secret may name.
#[derive(Debug)]
pub(super) struct AdminEndpoint {
    pub(super) host: String,
    pub(super) port: u16,
    /// Read replicas, or a cluster's reader and custom endpoints and instances.
    pub(super) others: Vec<(String, u16)>,
    /// The host came from the admin secret (not from RDS), so replicas are unknown yet.
    pub(super) from_secret: bool,
}

impl Rotator {
    /// Where the admin logs in: the admin secret's host, or, for an RDS-managed admin
    /// secret, the instance or cluster its `aws:rds:primary...Arn` tag names. The
    /// instance's read replicas (a cluster's member instances) are described only when
    /// the application's `app` host is not the primary's (the cluster's or its reader's)
    /// endpoint: a replica added after deploy wrote the role's policy, which names the
    /// replicas it saw, must not stop the rotations of a secret on the primary.
    pub(super) async fn admin_endpoint(
        &self,
        cx: &Context<'_>,
        arn: &str,
        admin: &AdminSecret,
        app: (&str, u16),
    ) -> Result<AdminEndpoint, RotationError> {
        if let Some(host) = &admin.host {
            return Ok(AdminEndpoint {
                host: host.clone(),
                port: admin.port.unwrap_or(3306),
                others: Vec::new(),
                from_secret: true,
            });
        }
        let described = self
            .secrets
            .describe_secret()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| cx.aws("secretsmanager:DescribeSecret (admin secret)", &e))?;
        let tag = |suffix: &str| {
            described
                .tags()
                .iter()
                .find(|t| t.key().is_some_and(|k| k.eq_ignore_ascii_case(suffix)))
                .and_then(|t| t.value())
                .map(str::to_owned)
        };
        if let Some(instance_arn) = tag("aws:rds:primaryDBInstanceArn") {
            return self.instance_endpoint(cx, &instance_arn, app).await;
        }
        if let Some(cluster_arn) = tag("aws:rds:primaryDBClusterArn") {
            return self.cluster_endpoint(cx, &cluster_arn, app).await;
        }
        Err(cx.fail(Problem::AdminSecret {
            arn: arn.to_owned(),
            source: crate::secret::SecretError::Missing { key: "host", hint: "the admin secret has no host and no aws:rds:primaryDBInstanceArn tag; add host and port to it" },
        }))
    }

    /// One DB instance by identifier, `None` when RDS does not know it.
    pub(super) async fn describe_instance(
        &self,
        cx: &Context<'_>,
        id: &str,
    ) -> Result<Option<aws_sdk_rds::types::DbInstance>, RotationError> {
        match self
            .rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(found) => Ok(found.db_instances().first().cloned()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(aws_sdk_rds::operation::describe_db_instances::DescribeDBInstancesError::is_db_instance_not_found_fault) =>
            {
                Ok(None)
            }
            Err(error) => Err(cx.aws(permissions::DESCRIBE_DB_INSTANCES, &error)),
        }
    }

    /// One DB cluster by identifier, `None` when RDS does not know it.
    pub(super) async fn describe_cluster(
        &self,
        cx: &Context<'_>,
        id: &str,
    ) -> Result<Option<aws_sdk_rds::types::DbCluster>, RotationError> {
        match self.rds.describe_db_clusters().db_cluster_identifier(id).send().await {
            Ok(found) => Ok(found.db_clusters().first().cloned()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(aws_sdk_rds::operation::describe_db_clusters::DescribeDBClustersError::is_db_cluster_not_found_fault) =>
            {
                Ok(None)
            }
            Err(error) => Err(cx.aws(permissions::DESCRIBE_DB_CLUSTERS, &error)),
        }
    }

    async fn instance_endpoint(
        &self,
        cx: &Context<'_>,
        instance_arn: &str,
        app: (&str, u16),
    ) -> Result<AdminEndpoint, RotationError> {
        let instance = self
            .describe_instance(cx, rds_identifier(instance_arn))
            .await?
            .ok_or_else(|| {
                cx.fail(Problem::Protocol(format!(
                    "RDS instance {instance_arn} was not found"
                )))
            })?;
        let (host, port) = instance_address(&instance).ok_or_else(|| {
            cx.fail(Problem::Protocol(format!(
                "RDS instance {instance_arn} has no endpoint yet (is it available?)"
            )))
        })?;
        let mut others = Vec::new();
        let replicas = permissions::replicas_described(
            app.0,
            same_address(app, (&host, port)),
            instance.read_replica_db_instance_identifiers(),
        );
        for replica in replicas {
            if let Some(found) = self.describe_instance(cx, replica).await? {
                others.extend(instance_address(&found));
            }
        }
        Ok(AdminEndpoint {
            host,
            port,
            others,
            from_secret: false,
        })
    }

    pub(super) async fn cluster_endpoint(
        &self,
        cx: &Context<'_>,
        cluster_arn: &str,
        app: (&str, u16),
    ) -> Result<AdminEndpoint, RotationError> {
        let cluster = self
            .describe_cluster(cx, rds_identifier(cluster_arn))
            .await?
            .ok_or_else(|| {
                cx.fail(Problem::Protocol(format!(
                    "RDS cluster {cluster_arn} was not found"
                )))
            })?;
        let mut addresses = cluster_addresses(&cluster).into_iter();
        let (Some(_), Some((host, port))) = (cluster.endpoint(), addresses.next()) else {
            return Err(cx.fail(Problem::Protocol(format!(
                "RDS cluster {cluster_arn} has no endpoint yet"
            ))));
        };
        // The reader and custom endpoints (Aurora user guide, "Amazon Aurora endpoint connections").
        let mut others: Vec<(String, u16)> = addresses.collect();
        let on_cluster = same_address(app, (&host, port))
            || others.iter().any(|(h, p)| same_address(app, (h, *p)));
        let members: Vec<String> = cluster
            .db_cluster_members()
            .iter()
            .filter_map(|m| m.db_instance_identifier().map(str::to_owned))
            .collect();
        let members = permissions::replicas_described(app.0, on_cluster, &members);
        for id in members {
            if let Some(found) = self.describe_instance(cx, id).await? {
                others.extend(instance_address(&found));
            }
        }
        Ok(AdminEndpoint {
            host,
            port,
            others,
            from_secret: false,
        })
    }
}

/// The identifier at the end of an RDS ARN (`arn:aws:rds:region:account:db:name`).
pub(super) fn rds_identifier(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// A cluster's writer, reader and custom endpoints (API reference, `DBCluster`:
/// `Endpoint`, `ReaderEndpoint`, `CustomEndpoints`), all on the cluster's port.
pub(super) fn cluster_addresses(cluster: &aws_sdk_rds::types::DbCluster) -> Vec<(String, u16)> {
    let port = cluster
        .port()
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(3306);
    cluster
        .endpoint()
        .into_iter()
        .chain(cluster.reader_endpoint())
        .chain(cluster.custom_endpoints().iter().map(String::as_str))
        .map(|host| (host.to_owned(), port))
        .collect()
}

/// The endpoint of an instance, when it has one.
pub(super) fn instance_address(instance: &aws_sdk_rds::types::DbInstance) -> Option<(String, u16)> {
    let endpoint = instance.endpoint()?;
    Some((
        endpoint.address()?.to_owned(),
        endpoint
            .port()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(3306),
    ))
}

/// Whether `host:port` is the admin's database or one of its replicas/readers.
pub(super) fn endpoint_matches(host: &str, port: u16, endpoint: &AdminEndpoint) -> bool {
    same_address((host, port), (&endpoint.host, endpoint.port))
        || endpoint
            .others
            .iter()
            .any(|(h, p)| same_address((host, port), (h, *p)))
}

/// Host names compare as [`permissions::same_host`] says (without case or a
/// final dot); ports exactly.
pub(super) fn same_address(a: (&str, u16), b: (&str, u16)) -> bool {
    permissions::same_host(a.0, b.0) && a.1 == b.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rotation::aws_errors::is_access_denied;

    #[test]
    fn the_endpoint_may_be_the_admin_database_or_a_reader_with_the_same_port() {
        let endpoint = AdminEndpoint {
            host: "db.x.rds.amazonaws.com".into(),
            port: 3306,
            others: vec![("replica.x.rds.amazonaws.com".into(), 3307)],
            from_secret: false,
        };
        assert!(endpoint_matches("DB.x.rds.amazonaws.com", 3306, &endpoint));
        assert!(endpoint_matches(
            "replica.x.rds.amazonaws.com",
            3307,
            &endpoint
        ));
        assert!(!endpoint_matches("db.x.rds.amazonaws.com", 3307, &endpoint));
        assert!(!endpoint_matches(
            "replica.x.rds.amazonaws.com",
            3306,
            &endpoint
        ));
        assert!(!endpoint_matches("other.example", 3306, &endpoint));
        assert!(is_access_denied("AccessDenied") && is_access_denied("AccessDeniedException"));
        assert!(!is_access_denied("DBInstanceNotFound"));
    }
}
