//! The rotator on Aurora and Multi-AZ DB clusters whose admin secret names a `host`:
//! an application secret on the cluster's reader endpoint or on a member instance is
//! the admin's database, one on another cluster is not.
//!
//! The emulator's clusters have RDS's endpoint names (`<cluster>.cluster-…`,
//! `<cluster>.cluster-ro-…`, member instances `<id>.<hash>.<region>.rds.amazonaws.com`)
//! but no server behind them, so no login succeeds: the rotator's decision shows in
//! its log, where createSecret reports why the admin login it tries first was not made
//! (a refusal naming both databases) or made and failed (unresolvable here).

use serde_json::json;
use tests::rotation::{endpoint_of, function_logs, rotate};
use tests::{sdk_config, unique_name};

use super::rotator::deploy_rotator;

/// An Aurora MySQL cluster with `members` instances; its writer and reader endpoints,
/// port, and the members' endpoints.
async fn cluster(
    rds: &aws_sdk_rds::Client,
    prefix: &str,
    members: usize,
) -> (String, String, u16, Vec<String>) {
    let id = unique_name(prefix);
    rds.create_db_cluster()
        .db_cluster_identifier(&id)
        .engine("aurora-mysql")
        .master_username("admin")
        .master_user_password("Cluster-Admin-1")
        .send()
        .await
        .expect("CreateDBCluster");
    let mut instances = Vec::new();
    for n in 0..members {
        let instance = format!("{id}-{n}");
        rds.create_db_instance()
            .db_instance_identifier(&instance)
            .db_cluster_identifier(&id)
            .engine("aurora-mysql")
            .db_instance_class("db.r6g.large")
            .send()
            .await
            .expect("CreateDBInstance in the cluster");
        let described = tests::available_db_instance(rds, &instance).await;
        instances.push(endpoint_of(&described).0);
    }
    let described = rds
        .describe_db_clusters()
        .db_cluster_identifier(&id)
        .send()
        .await
        .expect("DescribeDBClusters");
    let found = described.db_clusters().first().expect("the cluster");
    (
        found.endpoint().expect("writer endpoint").to_owned(),
        found.reader_endpoint().expect("reader endpoint").to_owned(),
        u16::try_from(found.port().expect("port")).expect("port"),
        instances,
    )
}

#[tokio::test]
async fn a_clusters_reader_endpoint_and_instances_are_its_admins_database_and_another_cluster_is_not()
 {
    let config = sdk_config().await;
    let rds = aws_sdk_rds::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let function = deploy_rotator(&config, &[]).await;
    let (writer, reader, port, members) = cluster(&rds, "aurora", 2).await;
    let (_, other_reader, other_port, _) = cluster(&rds, "otheraurora", 1).await;
    assert!(
        writer.contains(".cluster-") && reader.contains(".cluster-ro-"),
        "RDS's endpoint names: {writer} {reader}"
    );
    let admin = secrets
        .create_secret()
        .name(unique_name("AuroraAdmin"))
        .secret_string(json!({"engine": "aurora-mysql", "host": writer, "port": port, "username": "admin", "password": "Cluster-Admin-1"}).to_string())
        .send()
        .await
        .expect("admin secret");
    let admin_arn = admin.arn().expect("arn");

    // (the application secret's host and port, whether it is the admin's database)
    let cases = [
        (reader.as_str(), port, true),
        (members[1].as_str(), port, true),
        (other_reader.as_str(), other_port, false),
    ];
    for (host, port, same) in cases {
        let name = unique_name("ClusterAppuser");
        secrets
            .create_secret()
            .name(&name)
            .secret_string(json!({"engine": "aurora-mysql", "host": host, "port": port, "username": "app", "password": "Initial-1", "masterarn": admin_arn}).to_string())
            .send()
            .await
            .expect("secret");
        rotate(&config, &name, &function).await;
        let logs = function_logs(&function);
        let accepted = logs.lines().any(|l| {
            l.contains(host)
                && l.contains("cluster endpoint or cluster instance of the admin secret's database")
        });
        let refused = logs.lines().any(|l| {
            l.contains(&format!(
                "`{host}:{port}` is neither the admin secret's database"
            ))
        });
        assert_eq!(
            (accepted, refused),
            (same, !same),
            "{host}: accepted {accepted}, refused {refused}\n{}",
            logs.lines()
                .filter(|l| l.contains(host))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
