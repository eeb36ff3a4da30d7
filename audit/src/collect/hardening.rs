//! The calls behind the hardening checks that need more than the setup's own
//! resources: the database's manual snapshots (and who may restore each) and the
//! VPC's default security group.
//!
//! Only manual snapshots are read: RDS shares only those ("You can share a manual
//! DB snapshot ... You can't share automated snapshots directly": Amazon RDS User
//! Guide, "Sharing a DB snapshot"), so an automated one cannot be public.
//! `DescribeDBSnapshotAttributes` names `all` under `restore` for a public
//! snapshot (Amazon RDS API reference, DescribeDBSnapshotAttributes:
//! "If all is included in the list of values for the restore attribute, then the
//! manual DB snapshot is public").

use aws_sdk_ec2::types::IpPermission;

use super::{RegionCollector, calls, collection_error, filter};
use crate::inventory::{Collected, DbSnapshot, DefaultSecurityGroup};

impl RegionCollector<'_> {
    /// The database's manual snapshots, each with its `restore` attribute.
    pub(super) async fn db_snapshots(&self) -> Collected<Vec<DbSnapshot>> {
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
                encrypted: snapshot.encrypted(),
                restore,
            });
        }
        Collected::Ok(snapshots)
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
