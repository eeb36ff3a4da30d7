//! The audit against the embedded emulator: a compliant copy of the tutorial's
//! setup passes every check, and each broken thing fails exactly its check.
//!
//! Every test provisions its own VPC, database, function and secret (names from
//! `unique_name`) and audits only those (explicit VPC, secret and database scope),
//! so the tests run in parallel against the one emulator of this process.
//!
//! Not covered here: access denied. moto does not enforce IAM unless its server is
//! started with authentication on, so the ERROR path (missing IAM action named) is
//! covered by the audit crate's unit tests over inventories with recorded errors.

use std::collections::BTreeSet;
use std::path::Path;

use audit::inventory::Scope;
use audit::{CollectRequest, Finding, Inventory, Policy, Status};
use aws_config::SdkConfig;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, InstanceType, IpPermission, IpRange, Ipv6Range, ResourceType, Tag,
    TagSpecification, UserIdGroupPair, VpcEndpointType,
};
use aws_sdk_secretsmanager::types::RotationRulesType;
use serde_json::json;
use tests::{create_function, db_options, login, sdk_config, unique_name};

const ECHO: &str = env!("CARGO_BIN_EXE_echo-function");
const MY_IP: &str = "203.0.113.10/32";
const APP_PASSWORD: &str = "AppUserPassw0rd42";

/// What a test changes in the compliant setup.
#[derive(Debug, Clone)]
struct Options {
    secretsmanager_private_dns: bool,
    rds_endpoint_all_zones: bool,
    schedule: &'static str,
    /// The privileges appuser gets on `tutorial`.*.
    grant: &'static str,
    /// Point `masterarn` at a secret that was deleted.
    masterarn_deleted: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            secretsmanager_private_dns: true,
            rds_endpoint_all_zones: true,
            schedule: "rate(2 days)",
            grant: "SELECT, INSERT",
            masterarn_deleted: false,
        }
    }
}

/// A provisioned copy of the tutorial's setup.
#[derive(Debug)]
struct Setup {
    config: SdkConfig,
    vpc_id: String,
    bastion_sg: String,
    db_sg: String,
    db_port: u16,
    secret_name: String,
    db_id: String,
}

fn name_tag(resource: ResourceType, name: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .tags(Tag::builder().key("Name").value(name).build())
        .build()
}

fn cidr_permission(protocol: &str, from: i32, to: i32, cidr: &str) -> IpPermission {
    let permission = IpPermission::builder()
        .ip_protocol(protocol)
        .from_port(from)
        .to_port(to);
    if cidr.contains(':') {
        permission
            .ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).build())
            .build()
    } else {
        permission
            .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
            .build()
    }
}

fn group_permission(port: i32, group: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(group).build())
        .build()
}

/// Provisions the tutorial's setup, compliant except where `options` say otherwise.
async fn provision(options: &Options) -> Setup {
    let config = sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let rds = aws_sdk_rds::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    let name = unique_name("audit");

    // VPC with DNS, a public and two private subnets in two zones.
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .tag_specifications(name_tag(ResourceType::Vpc, &format!("{name}-vpc")))
        .send()
        .await
        .expect("create vpc");
    let vpc_id = vpc
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_owned();
    for attribute in ["hostnames", "support"] {
        let on = AttributeBooleanValue::builder().value(true).build();
        tests::eventually(|| {
            let request = ec2.modify_vpc_attribute().vpc_id(&vpc_id);
            let request = if attribute == "hostnames" {
                request.enable_dns_hostnames(on.clone())
            } else {
                request.enable_dns_support(on.clone())
            };
            request.send()
        })
        .await
        .expect("enable DNS");
    }
    let mut subnets = Vec::new();
    for (cidr, zone) in [
        ("10.0.0.0/24", "us-east-1a"),
        ("10.0.1.0/24", "us-east-1a"),
        ("10.0.2.0/24", "us-east-1b"),
    ] {
        let subnet = tests::eventually(|| {
            ec2.create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block(cidr)
                .availability_zone(zone)
                .send()
        })
        .await
        .expect("create subnet");
        subnets.push(
            subnet
                .subnet()
                .and_then(|s| s.subnet_id())
                .expect("subnet id")
                .to_owned(),
        );
    }
    let (public, private_a, private_b) =
        (subnets[0].clone(), subnets[1].clone(), subnets[2].clone());

    // Security groups: bastion (SSH from one address), rotation function, database.
    let group = |label: &str| {
        let ec2 = ec2.clone();
        let vpc_id = vpc_id.clone();
        let group_name = format!("{name}-{label}");
        async move {
            let created = tests::eventually(|| {
                ec2.create_security_group()
                    .group_name(&group_name)
                    .description(&group_name)
                    .vpc_id(&vpc_id)
                    .send()
            })
            .await
            .expect("create group");
            let id = created.group_id().expect("group id").to_owned();
            // The first use of a new group's id answers NotFound (eventual consistency).
            tests::eventually(|| ec2.describe_security_groups().group_ids(&id).send())
                .await
                .expect("describe group");
            id
        }
    };
    let bastion_sg = group("bastion").await;
    let lambda_sg = group("lambda").await;
    let db_sg = group("db").await;
    let endpoint_sg = group("endpoints").await;
    ec2.authorize_security_group_ingress()
        .group_id(&bastion_sg)
        .ip_permissions(cidr_permission("tcp", 22, 22, MY_IP))
        .send()
        .await
        .expect("ssh rule");
    ec2.authorize_security_group_ingress()
        .group_id(&endpoint_sg)
        .ip_permissions(cidr_permission("tcp", 443, 443, "10.0.0.0/16"))
        .send()
        .await
        .expect("endpoint rule");

    for subnet in &subnets {
        tests::eventually(|| ec2.describe_subnets().subnet_ids(subnet).send())
            .await
            .expect("describe subnet");
    }

    // The bastion.
    ec2.run_instances()
        .image_id("ami-12c6146b")
        .instance_type(InstanceType::T2Micro)
        .min_count(1)
        .max_count(1)
        .subnet_id(&public)
        .security_group_ids(&bastion_sg)
        .tag_specifications(name_tag(
            ResourceType::Instance,
            audit::policy::TUTORIAL_BASTION_NAME,
        ))
        .send()
        .await
        .expect("run bastion");

    // Interface endpoints for Secrets Manager and RDS.
    for (service, private_dns, zones) in [
        (
            "secretsmanager",
            options.secretsmanager_private_dns,
            vec![private_a.clone(), private_b.clone()],
        ),
        (
            "rds",
            true,
            if options.rds_endpoint_all_zones {
                vec![private_a.clone(), private_b.clone()]
            } else {
                vec![private_a.clone()]
            },
        ),
    ] {
        ec2.create_vpc_endpoint()
            .vpc_id(&vpc_id)
            .service_name(format!("com.amazonaws.us-east-1.{service}"))
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .set_subnet_ids(Some(zones))
            .security_group_ids(&endpoint_sg)
            .private_dns_enabled(private_dns)
            .send()
            .await
            .expect("create endpoint");
    }

    // The database, private, admin password managed by RDS.
    let db_id = unique_name("auditdb");
    let subnet_group = format!("{name}-db");
    rds.create_db_subnet_group()
        .db_subnet_group_name(&subnet_group)
        .db_subnet_group_description("audit test")
        .subnet_ids(&private_a)
        .subnet_ids(&private_b)
        .send()
        .await
        .expect("create subnet group");
    rds.create_db_instance()
        .db_instance_identifier(&db_id)
        .engine("mysql")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .manage_master_user_password(true)
        .publicly_accessible(false)
        .db_subnet_group_name(&subnet_group)
        .vpc_security_group_ids(&db_sg)
        .send()
        .await
        .expect("create database");
    let instance = tests::available_db_instance(&rds, &db_id).await;
    let endpoint = instance.endpoint().expect("endpoint");
    let (host, port) = (
        endpoint.address().expect("address").to_owned(),
        u16::try_from(endpoint.port().expect("port")).expect("port"),
    );
    let admin_arn = instance
        .master_user_secret()
        .and_then(|s| s.secret_arn())
        .expect("managed admin secret")
        .to_owned();
    // The database's port (the emulator serves each instance on a port of its own).
    ec2.authorize_security_group_ingress()
        .group_id(&db_sg)
        .ip_permissions(group_permission(i32::from(port), &bastion_sg))
        .ip_permissions(group_permission(i32::from(port), &lambda_sg))
        .send()
        .await
        .expect("database rules");

    // appuser in the database, with or without SELECT.
    let admin_value = secrets
        .get_secret_value()
        .secret_id(&admin_arn)
        .send()
        .await
        .expect("admin secret value");
    let admin: serde_json::Value =
        serde_json::from_str(admin_value.secret_string().expect("string")).expect("admin json");
    let mut connection = login(&db_options(
        &host,
        port,
        admin["username"].as_str().expect("user"),
        admin["password"].as_str().expect("password"),
    ))
    .await
    .expect("admin login");
    let statements = [
        "CREATE DATABASE tutorial".to_owned(),
        format!("CREATE USER 'appuser'@'%' IDENTIFIED BY '{APP_PASSWORD}'"),
        format!("GRANT {} ON tutorial.* TO 'appuser'@'%'", options.grant),
    ];
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
            .execute(&mut connection)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    // The rotation function in the VPC, invocable by Secrets Manager of this account.
    let function = unique_name("auditrotation");
    let function_arn = create_function(&config, &function, Path::new(ECHO), &[], 10).await;
    tests::retry_role_propagation(|| {
        lambda
            .update_function_configuration()
            .function_name(&function)
            .vpc_config(
                aws_sdk_lambda::types::VpcConfig::builder()
                    .subnet_ids(&private_a)
                    .subnet_ids(&private_b)
                    .security_group_ids(&lambda_sg)
                    .build(),
            )
            .send()
    })
    .await
    .expect("put the function in the VPC");
    lambda
        .add_permission()
        .function_name(&function)
        .statement_id("SecretsManagerAccess")
        .action("lambda:InvokeFunction")
        .principal("secretsmanager.amazonaws.com")
        .source_account(tests::ACCOUNT_ID)
        .send()
        .await
        .expect("add permission");

    // The application secret, rotated on the schedule.
    let masterarn = if options.masterarn_deleted {
        let gone = unique_name("auditgone");
        let created = secrets
            .create_secret()
            .name(&gone)
            .secret_string(r#"{"username":"admin","password":"x"}"#)
            .send()
            .await
            .expect("create doomed secret");
        secrets
            .delete_secret()
            .secret_id(&gone)
            .force_delete_without_recovery(true)
            .send()
            .await
            .expect("delete secret");
        created.arn().expect("arn").to_owned()
    } else {
        admin_arn
    };
    let secret_name = unique_name("AuditAppuser");
    let value = json!({
        "engine": "mysql", "host": host, "port": port, "username": "appuser", "password": APP_PASSWORD,
        "dbname": "tutorial", "masterarn": masterarn, "ssl": true,
    });
    secrets
        .create_secret()
        .name(&secret_name)
        .secret_string(value.to_string())
        .send()
        .await
        .expect("create secret");
    secrets
        .rotate_secret()
        .secret_id(&secret_name)
        .rotation_lambda_arn(&function_arn)
        .rotation_rules(
            RotationRulesType::builder()
                .schedule_expression(options.schedule)
                .duration("2h")
                .build(),
        )
        .rotate_immediately(false)
        .send()
        .await
        .expect("configure rotation");
    // The configuration test (testSecret) runs in the background, as in AWS.
    tests::wait_for_rotations_to_end(&secret_name).await;

    Setup {
        config,
        vpc_id,
        bastion_sg,
        db_sg,
        db_port: port,
        secret_name,
        db_id,
    }
}

fn request(setup: &Setup, read_secrets: bool) -> CollectRequest {
    CollectRequest {
        scope: Scope {
            regions: vec!["us-east-1".to_owned()],
            vpc_id: Some(setup.vpc_id.clone()),
            secret_ids: vec![setup.secret_name.clone()],
            all_secrets: false,
            db_instance_id: setup.db_id.clone(),
            read_secrets,
        },
        policy: Policy::default(),
        db_endpoint: None,
        db_ca_bundle: Some(tests::emulator().ca_file.clone()),
    }
}

async fn audit(setup: &Setup) -> (Inventory, Vec<Finding>) {
    let inventory =
        audit::collect(std::slice::from_ref(&setup.config), &request(setup, true)).await;
    let findings = audit::evaluate(&inventory, &Policy::default());
    (inventory, findings)
}

fn failing(findings: &[Finding]) -> BTreeSet<&str> {
    findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .map(|f| f.check_id.as_str())
        .collect()
}

fn finding<'a>(findings: &'a [Finding], id: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.check_id == id && f.status == Status::Fail)
        .unwrap_or_else(|| panic!("no failing {id} in {findings:#?}"))
}

/// Adds an ingress rule to the bastion's group and audits.
async fn audit_with_bastion_rule(permission: IpPermission) -> (Setup, Vec<Finding>) {
    let setup = Box::pin(provision(&Options::default())).await;
    let ec2 = aws_sdk_ec2::Client::new(&setup.config);
    ec2.authorize_security_group_ingress()
        .group_id(&setup.bastion_sg)
        .ip_permissions(permission)
        .send()
        .await
        .expect("add rule");
    let (_, findings) = audit(&setup).await;
    (setup, findings)
}

#[tokio::test]
async fn a_compliant_setup_passes_every_check_and_a_saved_inventory_agrees() {
    let setup = provision(&Options::default()).await;
    let (inventory, findings) = audit(&setup).await;
    let not_passing: Vec<_> = findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .collect();
    assert!(not_passing.is_empty(), "{not_passing:#?}");
    let ids: BTreeSet<&str> = findings.iter().map(|f| f.check_id.as_str()).collect();
    assert_eq!(ids.len(), 13, "{ids:?}");
    assert!(inventory.metadata.api_requests > 0);
    assert!(
        inventory.metadata.api_requests < 40,
        "{} requests: {:?}",
        inventory.metadata.api_requests,
        inventory.metadata.calls
    );
    assert_eq!(
        inventory.metadata.account_id.as_deref(),
        Some(tests::ACCOUNT_ID)
    );
    let grants = &inventory.regions[0].grants[0];
    assert!(
        grants.tls.as_deref().is_some_and(|t| t.starts_with("TLS")),
        "ssl true must verify TLS: {grants:?}"
    );

    // The inventory is evidence: saved and loaded, it gives the same findings, offline.
    let saved = serde_json::to_string(&inventory).expect("save");
    assert!(
        !saved.contains(APP_PASSWORD),
        "the inventory must never hold a secret value"
    );
    let loaded: Inventory = serde_json::from_str(&saved).expect("load");
    assert_eq!(audit::evaluate(&loaded, &Policy::default()), findings);

    // Without --read-secrets the two checks that need a value skip, saying why.
    let inventory =
        audit::collect(std::slice::from_ref(&setup.config), &request(&setup, false)).await;
    let findings = audit::evaluate(&inventory, &Policy::default());
    let skipped: BTreeSet<&str> = findings
        .iter()
        .filter(|f| f.status == Status::Skip)
        .map(|f| f.check_id.as_str())
        .collect();
    assert_eq!(
        skipped,
        BTreeSet::from(["secret.rotation.admin-linked", "db.appuser.select"])
    );
    assert!(
        findings
            .iter()
            .filter(|f| f.status == Status::Skip)
            .all(|f| f.message.contains("--read-secrets"))
    );
    assert_eq!(
        inventory
            .metadata
            .calls
            .get("secretsmanager:GetSecretValue"),
        None
    );

    // With --all-secrets every secret of the region comes from ListSecrets pages
    // (100 a call), never one DescribeSecret per secret; the audited one still passes.
    let mut all = request(&setup, true);
    all.scope.all_secrets = true;
    let inventory = audit::collect(std::slice::from_ref(&setup.config), &all).await;
    let listed = inventory.regions[0].secrets.ok().map_or(0, Vec::len);
    let pages = inventory
        .metadata
        .calls
        .get("secretsmanager:ListSecrets")
        .copied()
        .unwrap_or(0);
    assert!(
        listed >= 2 && pages >= 1 && pages <= (listed as u64).div_ceil(100) + 1,
        "{listed} secrets in {pages} pages"
    );
    assert_eq!(
        inventory
            .metadata
            .calls
            .get("secretsmanager:DescribeSecret"),
        Some(&1),
        "only the admin secret is described: {:?}",
        inventory.metadata.calls
    );
    let findings = audit::evaluate(&inventory, &Policy::default());
    let audited: Vec<_> = findings
        .iter()
        .filter(|f| f.message.contains(&setup.secret_name) && f.status != Status::Pass)
        .collect();
    assert!(audited.is_empty(), "{audited:#?}");
}

#[tokio::test]
async fn ssh_by_protocol_minus_one_fails_the_ssh_check() {
    let (setup, findings) =
        audit_with_bastion_rule(cidr_permission("-1", -1, -1, "10.0.0.0/8")).await;
    assert_eq!(failing(&findings), BTreeSet::from(["ec2.ssh.restricted"]));
    let finding = finding(&findings, "ec2.ssh.restricted");
    assert!(
        finding.message.contains(&setup.bastion_sg) && finding.message.contains("protocol -1"),
        "{}",
        finding.message
    );
}

#[tokio::test]
async fn ssh_by_port_range_from_anywhere_fails_ssh_and_public_ingress() {
    let (setup, findings) =
        audit_with_bastion_rule(cidr_permission("tcp", 20, 25, "0.0.0.0/0")).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["ec2.ssh.restricted", "ec2.ingress.no-public"])
    );
    let finding = finding(&findings, "ec2.ssh.restricted");
    assert_eq!(finding.severity, audit::Severity::Critical);
    assert!(
        finding.message.contains(&setup.bastion_sg) && finding.message.contains("tcp 20-25"),
        "{}",
        finding.message
    );
}

#[tokio::test]
async fn ssh_from_ipv6_anywhere_is_critical() {
    let (setup, findings) = audit_with_bastion_rule(cidr_permission("tcp", 22, 22, "::/0")).await;
    assert_eq!(failing(&findings), BTreeSet::from(["ec2.ssh.restricted"]));
    let finding = finding(&findings, "ec2.ssh.restricted");
    assert_eq!(finding.severity, audit::Severity::Critical);
    assert!(
        finding.message.contains(&setup.bastion_sg) && finding.message.contains("::/0"),
        "{}",
        finding.message
    );
}

#[tokio::test]
async fn ssh_from_a_slash_24_fails() {
    let (setup, findings) =
        audit_with_bastion_rule(cidr_permission("tcp", 22, 22, "198.51.100.0/24")).await;
    assert_eq!(failing(&findings), BTreeSet::from(["ec2.ssh.restricted"]));
    let finding = finding(&findings, "ec2.ssh.restricted");
    assert_eq!(finding.severity, audit::Severity::High);
    assert!(
        finding.message.contains(&setup.bastion_sg) && finding.message.contains("198.51.100.0/24"),
        "{}",
        finding.message
    );
}

#[tokio::test]
async fn an_endpoint_without_private_dns_fails() {
    let setup = provision(&Options {
        secretsmanager_private_dns: false,
        ..Options::default()
    })
    .await;
    let (_, findings) = audit(&setup).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["vpc.endpoint.secretsmanager"])
    );
    let finding = finding(&findings, "vpc.endpoint.secretsmanager");
    assert!(
        finding.message.contains("private DNS disabled") && finding.message.contains(&setup.vpc_id),
        "{}",
        finding.message
    );
    assert!(
        finding.resource.contains("vpc-endpoint/vpce-"),
        "{}",
        finding.resource
    );
}

#[tokio::test]
async fn an_endpoint_missing_a_zone_fails() {
    let setup = provision(&Options {
        rds_endpoint_all_zones: false,
        ..Options::default()
    })
    .await;
    let (_, findings) = audit(&setup).await;
    assert_eq!(failing(&findings), BTreeSet::from(["vpc.endpoint.rds"]));
    let finding = finding(&findings, "vpc.endpoint.rds");
    assert!(
        finding.message.contains("us-east-1b"),
        "{}",
        finding.message
    );
}

#[tokio::test]
async fn a_masterarn_naming_a_deleted_secret_fails() {
    let setup = provision(&Options {
        masterarn_deleted: true,
        ..Options::default()
    })
    .await;
    let (_, findings) = audit(&setup).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["secret.rotation.admin-linked"])
    );
    let finding = finding(&findings, "secret.rotation.admin-linked");
    assert!(
        finding.message.contains("does not exist") && finding.message.contains(&setup.secret_name),
        "{}",
        finding.message
    );
}

#[tokio::test]
async fn a_thirty_day_schedule_fails() {
    let setup = provision(&Options {
        schedule: "rate(30 days)",
        ..Options::default()
    })
    .await;
    let (_, findings) = audit(&setup).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["secret.rotation.schedule"])
    );
    let finding = finding(&findings, "secret.rotation.schedule");
    assert!(
        finding.message.contains("rate(30 days)") && finding.message.contains(&setup.secret_name),
        "{}",
        finding.message
    );
}

#[tokio::test]
async fn an_appuser_without_select_fails() {
    let setup = provision(&Options {
        grant: "INSERT, UPDATE",
        ..Options::default()
    })
    .await;
    let (_, findings) = audit(&setup).await;
    assert_eq!(failing(&findings), BTreeSet::from(["db.appuser.select"]));
    let finding = finding(&findings, "db.appuser.select");
    assert!(
        finding.message.contains("appuser") && finding.message.contains(&setup.secret_name),
        "{}",
        finding.message
    );
    assert!(!finding.message.contains(APP_PASSWORD));
}

#[tokio::test]
async fn the_database_port_open_to_a_network_fails() {
    let setup = provision(&Options::default()).await;
    let ec2 = aws_sdk_ec2::Client::new(&setup.config);
    let port = i32::from(setup.db_port);
    ec2.authorize_security_group_ingress()
        .group_id(&setup.db_sg)
        .ip_permissions(cidr_permission("tcp", port, port, "10.0.0.0/16"))
        .send()
        .await
        .expect("add rule");
    let (_, findings) = audit(&setup).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["rds.ingress.bastion-only"])
    );
    let finding = finding(&findings, "rds.ingress.bastion-only");
    assert!(
        finding.message.contains(&setup.db_sg)
            && finding.message.contains("10.0.0.0/16")
            && finding.message.contains(&setup.db_id),
        "{}",
        finding.message
    );
}
