//! Where the audit logs in with a secret's passwords: every login, the current
//! user's and the other user's, is allowed only here.
//!
//! A secret's JSON is written by whoever may `PutSecretValue`, which need not be
//! who may read it: its `host` could name a server of theirs, where the audit would
//! hand over the passwords of `AWSCURRENT` and `AWSPREVIOUS`. So the audit logs in
//! only at endpoints RDS reports for the audited database, or at the tunnel the
//! auditor names. "The audited database" is what the rotator accepts as the admin
//! secret's database (`rotator::rotation::same_database`): the instance, its read
//! replicas, and for a cluster member its cluster's writer, reader and custom
//! endpoints and its members' instance endpoints. A name that only resolves there
//! (a Route 53 alias, a CNAME) is not logged in to: RDS does not list it.

use aws_sdk_rds::error::ProvideErrorMetadata as _;

use super::{RegionCollector, calls, collection_error, endpoint_of, is_not_found};
use crate::inventory::{Collected, CollectionError, DbAddress, DbInstance};

/// The hosts and ports the audit may log in at with a secret's password, and the
/// RDS calls that failed while listing them (a host missing from `list` may be
/// one of theirs); `Err` with why none is known.
pub(super) type LoginEndpoints = Result<Endpoints, String>;

#[derive(Debug, Default)]
pub(super) struct Endpoints {
    pub list: Vec<(String, u16)>,
    pub unread: Vec<String>,
}

/// The endpoints of `database` ([`LoginEndpoints`]).
pub(super) fn login_endpoints(database: &Collected<Option<DbInstance>>) -> LoginEndpoints {
    let db = match database {
        Collected::Ok(Some(db)) => db,
        Collected::Ok(None) => return Err("the audited RDS instance was not found".to_owned()),
        Collected::Failed(error) => {
            return Err(format!(
                "the audited RDS instance could not be described: {}",
                error.message
            ));
        }
        Collected::Skipped(why) => return Err(why.clone()),
    };
    let instance = db.address.clone().map(|address| DbAddress {
        address,
        port: db.port,
    });
    Ok(Endpoints {
        list: instance
            .iter()
            .chain(&db.cluster_endpoints)
            .chain(&db.related_endpoints)
            .map(|e| (e.address.clone(), e.port.unwrap_or(3306)))
            .collect(),
        unread: db
            .endpoints_unread
            .iter()
            .map(CollectionError::describe)
            .collect(),
    })
}

/// Why the audit does not log in at `host`:`port`, a secret's, when it is not one
/// of `endpoints` ([`permissions::same_host`] compares the names). The host is
/// printed escaped and cut short: whoever wrote the secret chose it. `discover`:
/// the setup was found by `--discover`, whose advice names no flag it conflicts
/// with.
pub(super) fn endpoint_refusal(
    host: &str,
    port: u16,
    endpoints: &LoginEndpoints,
    discover: bool,
) -> Option<String> {
    let shown = crate::inventory::shown_host(host);
    let name_it = if discover {
        "make the secret's host an endpoint RDS lists for its database, or audit it without --discover, naming the database (--db-instance-id) or a tunnel (--db-endpoint HOST:PORT)"
    } else {
        "name the database (--db-instance-id), or pass --db-endpoint HOST:PORT through a tunnel"
    };
    match endpoints {
        Ok(found)
            if found
                .list
                .iter()
                .any(|(h, p)| permissions::same_host(h, host) && *p == port) =>
        {
            None
        }
        Ok(found) if !found.unread.is_empty() => Some(format!(
            "its host {shown} port {port} is not among the audited database's endpoints RDS listed, and some could not be listed ({}), so the audit did not log in there with the secret's password; grant the audit's role the call named, then audit again",
            found.unread.join("; ")
        )),
        Ok(found) => Some(format!(
            "its host {shown} port {port} is not an endpoint of the audited database, its read replicas or its cluster ({}), so the audit did not log in there with the secret's password and the grants were not read; set the secret's `host` and `port` to one of these endpoints (whoever may write the secret, even without reading it, could point it at a server of theirs)",
            if found.list.is_empty() {
                "RDS reported none".to_owned()
            } else {
                found
                    .list
                    .iter()
                    .map(|(h, p)| format!("{h}:{p}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        )),
        Err(why) => Some(format!(
            "its host {shown} cannot be checked against the audited database's endpoints ({why}), so the audit did not log in there with the secret's password; {name_it}"
        )),
    }
}

impl RegionCollector<'_> {
    /// `cluster` as `DescribeDBClusters` describes it (`Ok(None)`: not listed),
    /// asked once per cluster: its parameter group and its endpoints read the
    /// same answer.
    pub(super) async fn describe_cluster(
        &self,
        cluster: &str,
    ) -> Result<Option<aws_sdk_rds::types::DbCluster>, CollectionError> {
        if let Some(known) = self
            .clusters
            .lock()
            .ok()
            .and_then(|c| c.get(cluster).cloned())
        {
            return known;
        }
        let call = &calls::RDS_DESCRIBE_DB_CLUSTERS;
        self.log.record(call);
        let answer = match self
            .clients
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(cluster)
            .send()
            .await
        {
            Ok(output) => Ok(output.db_clusters().first().cloned()),
            Err(error) => Err(collection_error(call, &error)),
        };
        if let Ok(mut known) = self.clusters.lock() {
            known.insert(cluster.to_owned(), answer.clone());
        }
        answer
    }

    /// The endpoints of `db`'s cluster (`DescribeDBClusters`: `Endpoint`,
    /// `ReaderEndpoint`, `CustomEndpoints`, on its `Port`: Amazon RDS API
    /// reference, DBCluster,
    /// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBCluster.html>)
    /// and the instance endpoints of its read replicas and its cluster's other
    /// members (`DescribeDBInstances` of each, as the rotator describes them), into
    /// `db`; a failed call is kept in `endpoints_unread` and named where a login is
    /// refused. A cross-Region replica (named by its ARN) is not described: the
    /// audit reads one Region at a time.
    pub(super) async fn add_related_endpoints(&self, db: &mut DbInstance) {
        let mut others: Vec<String> = db
            .read_replicas
            .iter()
            .filter(|id| !id.starts_with("arn:"))
            .cloned()
            .collect();
        if let Some(cluster) = db.cluster_id.clone() {
            match self.describe_cluster(&cluster).await {
                Ok(Some(found)) => {
                    let port = found.port().and_then(|p| u16::try_from(p).ok());
                    db.cluster_endpoints = found
                        .endpoint()
                        .into_iter()
                        .chain(found.reader_endpoint())
                        .map(str::to_owned)
                        .chain(found.custom_endpoints().iter().cloned())
                        .map(|address| DbAddress { address, port })
                        .collect();
                    others.extend(
                        found
                            .db_cluster_members()
                            .iter()
                            .filter_map(|m| m.db_instance_identifier())
                            .filter(|id| *id != db.id)
                            .map(str::to_owned),
                    );
                }
                Ok(None) => {}
                Err(error) => db.endpoints_unread.push(error),
            }
        }
        let call = &calls::RDS_DESCRIBE_DB_INSTANCES;
        for id in others {
            self.log.record(call);
            match self
                .clients
                .rds
                .describe_db_instances()
                .db_instance_identifier(&id)
                .send()
                .await
            {
                Ok(output) => db
                    .related_endpoints
                    .extend(output.db_instances().iter().filter_map(|found| {
                        match endpoint_of(found) {
                            (Some(address), port) => Some(DbAddress { address, port }),
                            _ => None,
                        }
                    })),
                // A replica deleted since the primary was described.
                Err(error) if is_not_found(error.code()) => {}
                Err(error) => db.endpoints_unread.push(collection_error(call, &error)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (database, host, port, refused because of)
    type EndpointCase<'a> = (Collected<Option<DbInstance>>, &'a str, u16, Option<&'a str>);

    #[test]
    fn the_audit_logs_in_only_at_the_audited_databases_endpoints() {
        let db = |cluster: Vec<DbAddress>| {
            Collected::Ok(Some(DbInstance {
                address: Some("db.abc.us-east-1.rds.amazonaws.com".to_owned()),
                port: Some(3306),
                cluster_endpoints: cluster,
                ..crate::checks::fixtures::compliant_region()
                    .database
                    .ok()
                    .cloned()
                    .flatten()
                    .expect("fixture database")
            }))
        };
        let reader = DbAddress {
            address: "c.cluster-ro-abc.us-east-1.rds.amazonaws.com".to_owned(),
            port: Some(3306),
        };
        let replica = DbAddress {
            address: "db-r1.abc.us-east-1.rds.amazonaws.com".to_owned(),
            port: Some(3306),
        };
        let with_related = |related: Vec<DbAddress>, unread: Vec<&str>| {
            let mut database = db(Vec::new());
            if let Collected::Ok(Some(found)) = &mut database {
                found.related_endpoints = related;
                found.endpoints_unread = unread
                    .into_iter()
                    .map(|message| CollectionError {
                        action: "rds:DescribeDBClusters".to_owned(),
                        access_denied: false,
                        code: None,
                        message: message.to_owned(),
                    })
                    .collect();
            }
            database
        };
        let unknown: Collected<Option<DbInstance>> =
            Collected::Skipped("the setup's database is unknown".to_owned());
        // (database, host, port, refused because of)
        let table: Vec<EndpointCase> = vec![
            (
                db(Vec::new()),
                "db.abc.us-east-1.rds.amazonaws.com",
                3306,
                None,
            ),
            (
                db(Vec::new()),
                "DB.abc.us-east-1.rds.amazonaws.com.",
                3306,
                None,
            ),
            (
                db(Vec::new()),
                "db.abc.us-east-1.rds.amazonaws.com",
                3307,
                Some(
                    "not an endpoint of the audited database, its read replicas or its cluster (db.abc.us-east-1.rds.amazonaws.com:3306)",
                ),
            ),
            (
                db(Vec::new()),
                "collector.attacker.example",
                3306,
                Some("\"collector.attacker.example\" port 3306 is not an endpoint"),
            ),
            (db(vec![reader.clone()]), &reader.address, 3306, None),
            // A read replica's or another cluster member's instance endpoint:
            // the rotator accepts them as the admin's database too.
            (
                with_related(vec![replica.clone()], Vec::new()),
                &replica.address,
                3306,
                None,
            ),
            // A cluster endpoint when DescribeDBClusters failed: the failure is
            // named, not "not an endpoint".
            (
                with_related(Vec::new(), vec!["rds:DescribeDBClusters failed: throttled"]),
                &reader.address,
                3306,
                Some("some could not be listed (rds:DescribeDBClusters failed"),
            ),
            (db(Vec::new()), "evil\nhost", 3306, Some("\"evil\\nhost\"")),
            (
                unknown,
                "db.abc.us-east-1.rds.amazonaws.com",
                3306,
                Some(
                    "cannot be checked against the audited database's endpoints (the setup's database is unknown)",
                ),
            ),
        ];
        for (database, host, port, expected) in table {
            let got = endpoint_refusal(host, port, &login_endpoints(&database), false);
            match expected {
                None => assert!(got.is_none(), "{host}:{port}: {got:?}"),
                Some(text) => assert!(
                    got.as_deref().is_some_and(|g| g.contains(text)),
                    "{host}:{port}: {got:?}"
                ),
            }
        }
    }

    #[test]
    fn the_advice_on_an_unknown_database_names_no_flag_discover_conflicts_with() {
        let unknown: LoginEndpoints = Err("no database was matched".to_owned());
        let named = endpoint_refusal("h", 3306, &unknown, false).unwrap_or_default();
        assert!(
            named.contains("name the database (--db-instance-id)"),
            "{named}"
        );
        let discovered = endpoint_refusal("h", 3306, &unknown, true).unwrap_or_default();
        assert!(
            discovered
                .contains("an endpoint RDS lists for its database, or audit it without --discover"),
            "{discovered}"
        );
    }
}
