//! The calls behind the hardening checks that need more than the setup's own
//! resources: the database's manual snapshots (and who may restore each), its
//! parameter group's (or its cluster's) `require_secure_transport` and its CA
//! certificate, and the VPC's default security group.
//!
//! Only manual snapshots are read: RDS shares only those ("You can share a manual
//! DB snapshot ... You can't share automated snapshots directly": Amazon RDS User
//! Guide, "Sharing a DB snapshot"), so an automated one cannot be public.
//! `DescribeDBSnapshotAttributes` names `all` under `restore` for a public
//! snapshot (Amazon RDS API reference, DescribeDBSnapshotAttributes:
//! "If all is included in the list of values for the restore attribute, then the
//! manual DB snapshot is public").

use aws_sdk_ec2::types::IpPermission;

use super::{RegionCollector, calls, collection_error, filter, not_found_or_error, to_time};
use crate::inventory::{
    CaCertificate, Collected, DbInstance, DbParameters, DbSnapshot, DefaultSecurityGroup,
};

/// The parameter that makes MySQL and MariaDB refuse connections without TLS
/// (Amazon RDS User Guide, "Requiring SSL/TLS for all connections to a MySQL DB
/// instance on Amazon RDS"; MariaDB: the same parameter, 10.5 and later).
pub(crate) const REQUIRE_SECURE_TRANSPORT: &str = "require_secure_transport";

/// `require_secure_transport`'s value over every page of a parameter listing
/// (`DescribeDBParameters` and `DescribeDBClusterParameters` page alike, as two
/// types): `Ok(None)` when no page gives it a value, the failed page's error else.
macro_rules! secure_transport {
    ($collector:expr, $call:expr, $pages:expr) => {{
        let mut pages = $pages;
        let mut value = Ok(None);
        while let Some(page) = pages.next().await {
            $collector.log.record($call);
            match page {
                Ok(page) => {
                    if let Some(found) = page
                        .parameters()
                        .iter()
                        .find(|p| p.parameter_name() == Some(REQUIRE_SECURE_TRANSPORT))
                    {
                        value = Ok(found.parameter_value().map(str::to_owned));
                    }
                }
                Err(error) => {
                    value = Err(collection_error($call, &error));
                    break;
                }
            }
        }
        value
    }};
}

impl RegionCollector<'_> {
    /// What the database's hardening checks read beside the instance: its manual
    /// snapshots (and its cluster's), its parameter groups, its CA.
    pub(super) async fn db_hardening(
        &self,
        database: &Collected<Option<DbInstance>>,
    ) -> (
        Collected<Vec<DbSnapshot>>,
        Collected<Vec<DbParameters>>,
        Collected<Option<CaCertificate>>,
    ) {
        let cluster = database
            .ok()
            .and_then(Option::as_ref)
            .and_then(|db| db.cluster_id.as_deref());
        let (instance_snapshots, cluster_snapshots, parameters, ca) = tokio::join!(
            self.db_snapshots(),
            self.cluster_snapshots(cluster),
            self.db_parameters(database),
            self.ca_certificate(database)
        );
        let snapshots = match (instance_snapshots, cluster_snapshots) {
            (Collected::Ok(mut mine), Collected::Ok(theirs)) => {
                mine.extend(theirs);
                Collected::Ok(mine)
            }
            (Collected::Ok(_), failed) | (failed, _) => failed,
        };
        (snapshots, parameters, ca)
    }

    /// The manual snapshots of the instance's cluster, each with its `restore`
    /// attribute: a cluster member's data is snapshotted with its cluster, never as
    /// an instance (Amazon Aurora User Guide, "Creating a DB cluster snapshot").
    async fn cluster_snapshots(&self, cluster: Option<&str>) -> Collected<Vec<DbSnapshot>> {
        let Some(cluster) = cluster else {
            return Collected::Ok(Vec::new());
        };
        let call = &calls::RDS_DESCRIBE_DB_CLUSTER_SNAPSHOTS;
        let mut pages = self
            .clients
            .rds
            .describe_db_cluster_snapshots()
            .db_cluster_identifier(cluster)
            .snapshot_type("manual")
            .max_records(100)
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            self.log.record(call);
            match page {
                Ok(page) => found.extend(page.db_cluster_snapshots().iter().cloned()),
                Err(error) => return Collected::Failed(collection_error(call, &error)),
            }
        }
        let mut snapshots = Vec::new();
        for snapshot in found {
            let id = snapshot
                .db_cluster_snapshot_identifier()
                .unwrap_or_default()
                .to_owned();
            let restore = self.cluster_restore_attribute(&id).await;
            snapshots.push(DbSnapshot {
                arn: snapshot.db_cluster_snapshot_arn().unwrap_or(&id).to_owned(),
                id,
                cluster: true,
                encrypted: snapshot.storage_encrypted(),
                restore,
            });
        }
        Collected::Ok(snapshots)
    }

    /// The accounts a cluster snapshot's `restore` attribute names (`all`: anyone;
    /// Amazon RDS API reference, DescribeDBClusterSnapshotAttributes).
    async fn cluster_restore_attribute(&self, snapshot: &str) -> Collected<Vec<String>> {
        let call = &calls::RDS_DESCRIBE_DB_CLUSTER_SNAPSHOT_ATTRIBUTES;
        self.log.record(call);
        match self
            .clients
            .rds
            .describe_db_cluster_snapshot_attributes()
            .db_cluster_snapshot_identifier(snapshot)
            .send()
            .await
        {
            Ok(output) => Collected::Ok(
                output
                    .db_cluster_snapshot_attributes_result()
                    .map(aws_sdk_rds::types::DbClusterSnapshotAttributesResult::db_cluster_snapshot_attributes)
                    .unwrap_or_default()
                    .iter()
                    .filter(|a| a.attribute_name() == Some("restore"))
                    .flat_map(|a| a.attribute_values().iter().cloned())
                    .collect(),
            ),
            Err(error) => Collected::Failed(collection_error(call, &error)),
        }
    }

    /// The database's manual snapshots, each with its `restore` attribute.
    async fn db_snapshots(&self) -> Collected<Vec<DbSnapshot>> {
        let call = &calls::RDS_DESCRIBE_DB_SNAPSHOTS;
        let id = &self.request.scope.db_instance_id;
        if id.is_empty() {
            return Collected::Skipped("the setup's database is unknown".to_owned());
        }
        let mut pages = self
            .clients
            .rds
            .describe_db_snapshots()
            .db_instance_identifier(id)
            .snapshot_type("manual")
            .max_records(100)
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            self.log.record(call);
            match page {
                Ok(page) => found.extend(page.db_snapshots().iter().cloned()),
                Err(error) => return Collected::Failed(collection_error(call, &error)),
            }
        }
        let mut snapshots = Vec::new();
        for snapshot in found {
            let snapshot_id = snapshot
                .db_snapshot_identifier()
                .unwrap_or_default()
                .to_owned();
            let restore = self.restore_attribute(&snapshot_id).await;
            snapshots.push(DbSnapshot {
                arn: snapshot
                    .db_snapshot_arn()
                    .unwrap_or(&snapshot_id)
                    .to_owned(),
                id: snapshot_id,
                cluster: false,
                encrypted: snapshot.encrypted(),
                restore,
            });
        }
        Collected::Ok(snapshots)
    }

    /// `require_secure_transport` in each of the database's DB parameter groups
    /// (`DescribeDBParameters`, every page: the API filters by nothing but
    /// `Source`, and a value set by the user and one from the engine's defaults
    /// both count).
    async fn db_parameters(
        &self,
        database: &Collected<Option<DbInstance>>,
    ) -> Collected<Vec<DbParameters>> {
        let call = &calls::RDS_DESCRIBE_DB_PARAMETERS;
        let db = match database {
            Collected::Ok(Some(db)) => db,
            Collected::Ok(None) => return Collected::Ok(Vec::new()),
            _ => return Collected::Skipped("the database could not be read".to_owned()),
        };
        if let Some(cluster) = &db.cluster_id {
            return self.cluster_parameters(&db.id, cluster).await;
        }
        let mut groups = Vec::new();
        for group in &db.parameter_groups {
            let pages = self
                .clients
                .rds
                .describe_db_parameters()
                .db_parameter_group_name(&group.name)
                .max_records(100)
                .into_paginator()
                .send();
            let value = match secure_transport!(self, call, pages) {
                Ok(value) => value,
                Err(error) => return Collected::Failed(error),
            };
            groups.push(DbParameters {
                name: group.name.clone(),
                require_secure_transport: value,
                cluster: None,
                apply_status: None,
            });
        }
        Collected::Ok(groups)
    }

    /// `require_secure_transport` of a cluster member: the cluster's DB cluster
    /// parameter group decides it, not the instance's group ("You can require
    /// that all user connections to your Aurora MySQL DB cluster use SSL/TLS by
    /// using the require_secure_transport DB cluster parameter ... The parameter
    /// isn't available in DB instance parameter groups": Amazon Aurora User
    /// Guide, "Requiring an SSL/TLS connection to an Aurora MySQL DB cluster").
    /// The group's name and the member's apply status come from
    /// `DescribeDBClusters` (`DBClusterParameterGroup`, `DBClusterMembers`); its
    /// value from `DescribeDBClusterParameters`, every page.
    async fn cluster_parameters(
        &self,
        instance: &str,
        cluster: &str,
    ) -> Collected<Vec<DbParameters>> {
        let found = match self.describe_cluster(cluster).await {
            Ok(Some(found)) => found,
            Ok(None) => return Collected::Ok(Vec::new()),
            Err(error) => return Collected::Failed(error),
        };
        let Some(name) = found.db_cluster_parameter_group() else {
            return Collected::Ok(Vec::new());
        };
        let apply_status = found
            .db_cluster_members()
            .iter()
            .find(|m| m.db_instance_identifier() == Some(instance))
            .and_then(|m| m.db_cluster_parameter_group_status())
            .map(str::to_owned);
        let parameters = |value: Option<String>| {
            Collected::Ok(vec![DbParameters {
                name: name.to_owned(),
                require_secure_transport: value,
                cluster: Some(cluster.to_owned()),
                apply_status: apply_status.clone(),
            }])
        };
        // A default group holds the engine's defaults and cannot be changed
        // ("These default parameter groups contain preferred parameter settings
        // and can't be modified": Amazon Aurora User Guide, "Listing DB cluster
        // parameter groups in Amazon Aurora"): no value, so the engine's default
        // decides, without a call.
        if name.starts_with("default.") {
            return parameters(None);
        }
        let call = &calls::RDS_DESCRIBE_DB_CLUSTER_PARAMETERS;
        let pages = self
            .clients
            .rds
            .describe_db_cluster_parameters()
            .db_cluster_parameter_group_name(name)
            .max_records(100)
            .into_paginator()
            .send();
        match secure_transport!(self, call, pages) {
            Ok(value) => parameters(value),
            Err(error) => Collected::Failed(error),
        }
    }

    /// The CA the database's certificate is signed by, with its expiry
    /// (`DescribeCertificates`); `Ok(None)` when RDS lists no such CA.
    async fn ca_certificate(
        &self,
        database: &Collected<Option<DbInstance>>,
    ) -> Collected<Option<CaCertificate>> {
        let call = &calls::RDS_DESCRIBE_CERTIFICATES;
        let Collected::Ok(Some(DbInstance {
            ca_certificate_identifier: Some(id),
            ..
        })) = database
        else {
            return Collected::Skipped(
                "the database or its CACertificateIdentifier could not be read".to_owned(),
            );
        };
        self.log.record(call);
        match self
            .clients
            .rds
            .describe_certificates()
            .certificate_identifier(id)
            .send()
            .await
        {
            Ok(output) => Collected::Ok(
                output
                    .certificates()
                    .iter()
                    .find(|c| c.certificate_identifier() == Some(id.as_str()))
                    .map(|c| CaCertificate {
                        id: id.clone(),
                        valid_till: to_time(c.valid_till()),
                    }),
            ),
            Err(error) => not_found_or_error(call, &error),
        }
    }

    /// The accounts a snapshot's `restore` attribute names (`all`: anyone).
    async fn restore_attribute(&self, snapshot: &str) -> Collected<Vec<String>> {
        let call = &calls::RDS_DESCRIBE_DB_SNAPSHOT_ATTRIBUTES;
        self.log.record(call);
        match self
            .clients
            .rds
            .describe_db_snapshot_attributes()
            .db_snapshot_identifier(snapshot)
            .send()
            .await
        {
            Ok(output) => Collected::Ok(
                output
                    .db_snapshot_attributes_result()
                    .map(aws_sdk_rds::types::DbSnapshotAttributesResult::db_snapshot_attributes)
                    .unwrap_or_default()
                    .iter()
                    .filter(|a| a.attribute_name() == Some("restore"))
                    .flat_map(|a| a.attribute_values().iter().cloned())
                    .collect(),
            ),
            Err(error) => Collected::Failed(collection_error(call, &error)),
        }
    }

    /// The VPC's default security group (every VPC has one, named `default`:
    /// Amazon VPC User Guide, "Default security groups for your VPCs").
    pub(super) async fn default_security_group(
        &self,
        vpc: &str,
    ) -> Collected<Option<DefaultSecurityGroup>> {
        let call = &calls::EC2_DESCRIBE_SECURITY_GROUPS;
        self.log.record(call);
        match self
            .clients
            .ec2
            .describe_security_groups()
            .filters(filter("vpc-id", [vpc]))
            .filters(filter("group-name", ["default"]))
            .send()
            .await
        {
            Ok(output) => {
                Collected::Ok(
                    output
                        .security_groups()
                        .first()
                        .map(|group| DefaultSecurityGroup {
                            id: group.group_id().unwrap_or_default().to_owned(),
                            ingress: group.ip_permissions().iter().map(describe).collect(),
                            egress: group.ip_permissions_egress().iter().map(describe).collect(),
                        }),
                )
            }
            Err(error) => Collected::Failed(collection_error(call, &error)),
        }
    }
}

/// One rule in a line: `-1 all ports to/from 0.0.0.0/0, sg-1`.
fn describe(permission: &IpPermission) -> String {
    let protocol = match permission.ip_protocol().unwrap_or("-1") {
        "-1" => "all traffic".to_owned(),
        other => other.to_owned(),
    };
    let ports = match (permission.from_port(), permission.to_port()) {
        (Some(from), Some(to)) if from >= 0 && from == to => format!(" port {from}"),
        (Some(from), Some(to)) if from >= 0 => format!(" ports {from}-{to}"),
        _ => String::new(),
    };
    let peers: Vec<&str> = permission
        .ip_ranges()
        .iter()
        .filter_map(|r| r.cidr_ip())
        .chain(
            permission
                .ipv6_ranges()
                .iter()
                .filter_map(|r| r.cidr_ipv6()),
        )
        .chain(
            permission
                .prefix_list_ids()
                .iter()
                .filter_map(|p| p.prefix_list_id()),
        )
        .chain(
            permission
                .user_id_group_pairs()
                .iter()
                .filter_map(|g| g.group_id()),
        )
        .collect();
    let peers = if peers.is_empty() {
        "(no peer)".to_owned()
    } else {
        peers.join(", ")
    };
    format!("{protocol}{ports} with {peers}")
}
