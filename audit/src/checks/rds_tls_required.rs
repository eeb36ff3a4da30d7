//! `rds.tls.required`: the database refuses connections without TLS
//! (`require_secure_transport` on in its DB parameter group).
//!
//! The rotation function sends the application user's new password to the
//! database in `setSecret`; the rotator itself insists on verified TLS, but any
//! other client of the same user (the application, a script on the bastion) may
//! fall back to plaintext unless the server refuses it. With
//! `require_secure_transport` ON the server refuses it (Amazon RDS User Guide,
//! "Requiring SSL/TLS for all connections to a MySQL DB instance on Amazon RDS":
//! "For MySQL 8.4 and lower, the require_secure_transport parameter is set to 0
//! (OFF) by default ... You don't need to reboot your DB instance for the change to
//! take effect"; for MySQL 9.7 it defaults to 1; the MariaDB page: supported from
//! 10.5, OFF by default through 11.4, ON from 11.8). The default parameter group
//! cannot be changed, so the setting needs a group of the project's own.
//!
//! As AWS Config's `rds-mysql-instance-encrypted-in-transit` does, a group that is
//! not `in-sync` fails too: its value is not yet in force.
//!
//! An Aurora cluster member takes `require_secure_transport` from its DB
//! *cluster* parameter group ("You can require that all user connections to
//! your Aurora MySQL DB cluster use SSL/TLS by using the require_secure_transport
//! DB cluster parameter. By default, the require_secure_transport parameter is
//! set to OFF ... The parameter isn't available in DB instance parameter
//! groups": Amazon Aurora User Guide, "Requiring an SSL/TLS connection to an
//! Aurora MySQL DB cluster"), so that group is judged, with the member's
//! `DBClusterParameterGroupStatus`, where AWS Config's rule gives up ("The rule
//! returns NOT_APPLICABLE if the Amazon RDS instance is part of an RDS cluster":
//! AWS Config developer guide, rds-mysql-instance-encrypted-in-transit). An
//! inventory saved before the audit read cluster groups SKIPs a member, as it
//! used to.

use super::context::Context;
use super::rds::database;
use crate::finding::{CheckDefinition, Finding, Severity};
use crate::inventory::{Collected, DbInstance, DbParameters};

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "rds.tls.required",
    title: "Database refuses connections without TLS",
    severity: Severity::Medium,
    resource_type: "AwsRdsDbInstance",
    remediation: "Use a DB parameter group of your own with require_secure_transport on: aws rds create-db-parameter-group --db-parameter-group-name <name> --db-parameter-group-family mysql8.0 --description TLS; aws rds modify-db-parameter-group --db-parameter-group-name <name> --parameters ParameterName=require_secure_transport,ParameterValue=1,ApplyMethod=immediate; aws rds modify-db-instance --db-instance-identifier <id> --db-parameter-group-name <name> --apply-immediately (cargo xtask provision does this); for an Aurora cluster member, the same on a DB cluster parameter group of your own (create-db-cluster-parameter-group --db-parameter-group-family aurora-mysql8.0, modify-db-cluster-parameter-group, modify-db-cluster --db-cluster-parameter-group-name <name>)",
    compliance: &[
        "AWS-Config:rds-mysql-instance-encrypted-in-transit",
        "AWS-Config:rds-mariadb-instance-encrypted-in-transit",
        "Prowler:rds_instance_transport_encrypted",
    ],
    references: &[
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/mysql-ssl-connections.require-ssl.html",
        "https://docs.aws.amazon.com/config/latest/developerguide/rds-mysql-instance-encrypted-in-transit.html",
        "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraMySQL.Security.html",
    ],
};

/// Whether the engine turns `require_secure_transport` on when the group gives
/// it no value: MySQL 9.7 and later, MariaDB 11.8 and later (the RDS pages above).
pub(crate) fn on_by_default(engine: Option<&str>, version: Option<&str>) -> bool {
    let Some(version) = version else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let major_minor = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    match engine.unwrap_or_default() {
        "mariadb" => major_minor >= (11, 8),
        engine if engine.contains("mysql") && !engine.starts_with("aurora") => {
            major_minor >= (9, 7)
        }
        _ => false,
    }
}

/// The verdict on one group: `Ok` with the pass message, `Err` with the failure's.
pub(crate) fn verdict(
    db: &DbInstance,
    group: &DbParameters,
    apply_status: Option<&str>,
) -> Result<String, String> {
    let id = &db.id;
    let name = match &group.cluster {
        Some(cluster) => format!(
            "{} (DB cluster parameter group of cluster {cluster})",
            group.name
        ),
        None => group.name.clone(),
    };
    let on = match group.require_secure_transport.as_deref() {
        Some(value) => ["1", "ON", "TRUE"].contains(&value.to_ascii_uppercase().as_str()),
        None => on_by_default(db.engine.as_deref(), db.engine_version.as_deref()),
    };
    let shown = group
        .require_secure_transport
        .as_deref()
        .unwrap_or("the engine's default");
    if !on {
        return Err(format!(
            "RDS instance {id}: parameter group {name} has require_secure_transport {shown}; expected 1, so that the server refuses connections without TLS"
        ));
    }
    match apply_status {
        Some("in-sync") | None => Ok(format!(
            "RDS instance {id}: parameter group {name} has require_secure_transport {shown}"
        )),
        Some(status) => Err(format!(
            "RDS instance {id}: parameter group {name} has require_secure_transport {shown} but is {status}, not in-sync: the setting is not yet in force"
        )),
    }
}

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    let db = match database(context, def) {
        Ok(db) => db,
        Err(finding) => return vec![*finding],
    };
    let groups = match &context.region.db_parameters {
        Collected::Ok(groups) => groups,
        other => return context.missing(def, &db.arn, other).into_iter().collect(),
    };
    if let Some(cluster) = &db.cluster_id
        && !groups.iter().any(|g| g.cluster.is_some())
    {
        return vec![context.skip(
            def,
            &db.arn,
            &format!(
                "RDS instance {} is a member of DB cluster {cluster}: require_secure_transport is a cluster-level setting, not read (an inventory saved by an earlier version of the audit, or a cluster that names no DB cluster parameter group)",
                db.id
            ),
        )];
    }
    if groups.is_empty() {
        return vec![context.skip(
            def,
            &db.arn,
            &format!("RDS instance {} reports no DB parameter group", db.id),
        )];
    }
    groups
        .iter()
        .map(|group| {
            let status = if group.cluster.is_some() {
                group.apply_status.as_deref()
            } else {
                db.parameter_groups
                    .iter()
                    .find(|g| g.name == group.name)
                    .and_then(|g| g.apply_status.as_deref())
            };
            match verdict(db, group, status) {
                Ok(message) => context.pass(def, &db.arn, message),
                Err(message) => context.fail(def, &db.arn, message),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::finding::Status;

    fn region_with(
        value: Option<&str>,
        status: &str,
        version: &str,
    ) -> crate::inventory::RegionInventory {
        let mut region = compliant_region();
        if let Collected::Ok(Some(db)) = &mut region.database {
            db.parameter_groups[0].apply_status = Some(status.to_owned());
            db.engine_version = Some(version.to_owned());
        }
        if let Collected::Ok(groups) = &mut region.db_parameters {
            groups[0].require_secure_transport = value.map(str::to_owned);
        }
        region
    }

    #[test]
    fn require_secure_transport_must_be_on_and_in_force() {
        // (value, apply status, engine version, status, in the message)
        let table = [
            (
                Some("1"),
                "in-sync",
                "8.0.40",
                Status::Pass,
                "has require_secure_transport 1",
            ),
            (
                Some("ON"),
                "in-sync",
                "8.0.40",
                Status::Pass,
                "require_secure_transport ON",
            ),
            (
                Some("0"),
                "in-sync",
                "8.0.40",
                Status::Fail,
                "has require_secure_transport 0; expected 1",
            ),
            (
                None,
                "in-sync",
                "8.4.3",
                Status::Fail,
                "the engine's default; expected 1",
            ),
            (
                None,
                "in-sync",
                "9.7.0",
                Status::Pass,
                "the engine's default",
            ),
            (
                Some("1"),
                "pending-reboot",
                "8.0.40",
                Status::Fail,
                "is pending-reboot, not in-sync",
            ),
        ];
        for (value, apply, version, status, text) in table {
            let findings = findings_of(region_with(value, apply, version), DEFINITION.id);
            assert_eq!(findings.len(), 1);
            assert_eq!(
                findings[0].status, status,
                "{value:?} {apply}: {}",
                findings[0].message
            );
            assert!(
                findings[0].message.contains(text),
                "{}",
                findings[0].message
            );
            assert_eq!(findings[0].resource, DB_ARN);
        }
        let mut region = compliant_region();
        region.db_parameters = Collected::Failed(denied("rds:DescribeDBParameters"));
        let findings = findings_of(region, DEFINITION.id);
        assert_eq!(findings[0].status, Status::Error);
        assert!(findings[0].message.contains("rds:DescribeDBParameters"));
    }

    #[test]
    fn a_cluster_member_is_judged_on_its_cluster_group() {
        // (cluster, the cluster group's value and the member's status (None: an
        // inventory from before cluster groups were read), status, in the message)
        let table = [
            (None, None, Status::Fail, "has require_secure_transport 0"),
            (
                Some("aurora-1"),
                Some((Some("1"), "in-sync")),
                Status::Pass,
                "tls-cluster (DB cluster parameter group of cluster aurora-1) has require_secure_transport 1",
            ),
            // Aurora MySQL's default is OFF, whatever the version.
            (
                Some("aurora-1"),
                Some((None, "in-sync")),
                Status::Fail,
                "the engine's default; expected 1",
            ),
            (
                Some("aurora-1"),
                Some((Some("ON"), "pending-reboot")),
                Status::Fail,
                "is pending-reboot, not in-sync",
            ),
            (
                Some("aurora-1"),
                None,
                Status::Skip,
                "cluster-level setting, not read",
            ),
        ];
        for (cluster, read, status, text) in table {
            // The instance group says 0: never what decides a member.
            let mut region = region_with(Some("0"), "in-sync", "8.0.40");
            if let Collected::Ok(Some(db)) = &mut region.database {
                db.engine = Some("aurora-mysql".to_owned());
                db.cluster_id = cluster.map(str::to_owned);
            }
            if let (Some((value, apply)), Some(cluster)) = (read, cluster) {
                region.db_parameters = Collected::Ok(vec![crate::inventory::DbParameters {
                    name: "tls-cluster".to_owned(),
                    require_secure_transport: value.map(str::to_owned),
                    cluster: Some(cluster.to_owned()),
                    apply_status: Some(apply.to_owned()),
                }]);
            }
            let findings = findings_of(region, DEFINITION.id);
            assert_eq!(findings.len(), 1);
            assert_eq!(findings[0].status, status, "{findings:#?}");
            assert!(
                findings[0].message.contains(text),
                "{}",
                findings[0].message
            );
        }
    }

    #[test]
    fn the_default_follows_the_engine_version() {
        for (engine, version, on) in [
            ("mysql", "8.0.40", false),
            ("mysql", "8.4.3", false),
            ("mysql", "9.7.0", true),
            ("mariadb", "10.11.9", false),
            ("mariadb", "11.4.4", false),
            ("mariadb", "11.8.2", true),
            ("aurora-mysql", "9.7.0", false),
        ] {
            assert_eq!(
                on_by_default(Some(engine), Some(version)),
                on,
                "{engine} {version}"
            );
        }
        assert!(!on_by_default(Some("mysql"), None));
    }
}
