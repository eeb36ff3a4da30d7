//! The audit against the embedded emulator: a compliant copy of the tutorial's
//! setup passes every check, and each broken thing fails exactly its check.
//!
//! Every test provisions its own VPC, database, function and secret (names from
//! `unique_name`) and audits only those (explicit VPC, secret and database scope),
//! so the tests run in parallel against the one emulator of this process.
//!
//! Not covered here, for the emulator cannot build it: KMS and credential errors
//! (access denied is in `iam.rs`, against the emulator with IAM enforced), an RDS-managed secret in status `rotating`, a rotation that
//! outlasts its window (time would have to pass), groups of another account or
//! across a peering connection. Those are covered by the audit crate's unit tests
//! over inventories.

use std::collections::BTreeSet;
use std::path::Path;

use audit::inventory::Scope;
use audit::{CollectRequest, Finding, Inventory, Policy, Status};
use aws_config::SdkConfig;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, HttpTokensState, InstanceMetadataOptionsRequest, InstanceType,
    IpPermission, IpRange, Ipv6Range, ResourceType, Tag, TagSpecification, UserIdGroupPair,
    VpcEndpointType,
};
use aws_sdk_secretsmanager::types::RotationRulesType;
use serde_json::json;
use tests::{create_function, db_options, login, sdk_config, unique_name};

const ECHO: &str = env!("CARGO_BIN_EXE_echo-function");
const SCRIPTED: &str = env!("CARGO_BIN_EXE_scripted-rotation");
const MY_IP: &str = "203.0.113.10/32";
const APP_PASSWORD: &str = "AppUserPassw0rd42";
const CLONE_PASSWORD: &str = "CloneUserPassw0rd7";

/// What a test changes in the compliant setup.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // each bool breaks one thing
struct Options {
    secretsmanager_private_dns: bool,
    rds_endpoint_all_zones: bool,
    schedule: &'static str,
    /// The privileges appuser gets on `tutorial`.*.
    grant: &'static str,
    /// Point `masterarn` at a secret that was deleted.
    masterarn_deleted: bool,
    /// Write `dbname` into the secret (a console-made secret often has none).
    dbname: bool,
    /// Where the endpoints' group admits HTTPS from.
    endpoint_https_from: &'static str,
    /// Give the first private subnet a network ACL whose rule 90 denies TCP 443 out.
    acl_denies_https: bool,
    /// Leave `secretsmanager:GetSecretValue` on the masterarn secret out of the
    /// rotation role's inline policy.
    role_without_admin_read: bool,
    /// Give appuser SELECT through a role `reader` (MariaDB roles): `Some(true)`
    /// made its default role, `Some(false)` granted only.
    select_role: Option<bool>,
    /// Write the `ssl` key (true) into the secret; without it the audit must still verify TLS.
    ssl_key: bool,
    /// Create the database with `StorageEncrypted` (the API's default is unencrypted).
    storage_encrypted: bool,
    /// Privileges appuser also gets on `*.*` (none in the compliant setup).
    global_grant: Option<&'static str>,
    /// Privileges on `*.*` of a role `dba` granted to appuser but not made its
    /// default (not active at login).
    admin_role: Option<&'static str>,
    /// How many more roles (`extra0`, `extra1`, ...), each with SELECT on
    /// `tutorial`.*, are granted to appuser.
    extra_roles: usize,
    /// Privileges appuser also gets on `mysql`.* (none in the compliant setup).
    mysql_grant: Option<&'static str>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            secretsmanager_private_dns: true,
            rds_endpoint_all_zones: true,
            schedule: "rate(2 days)",
            grant: "SELECT, INSERT",
            masterarn_deleted: false,
            dbname: true,
            endpoint_https_from: "10.0.0.0/16",
            acl_denies_https: false,
            role_without_admin_read: false,
            select_role: None,
            ssl_key: true,
            storage_encrypted: true,
            global_grant: None,
            admin_role: None,
            extra_roles: 0,
            mysql_grant: None,
        }
    }
}

/// A provisioned copy of the tutorial's setup.
#[derive(Debug)]
struct Setup {
    config: SdkConfig,
    vpc_id: String,
    public_subnet: String,
    bastion_sg: String,
    db_sg: String,
    db_port: u16,
    secret_name: String,
    secret_arn: String,
    admin_arn: String,
    function: String,
    function_arn: String,
    db_id: String,
    /// The rotation function's execution role.
    role_arn: String,
    /// The network ACL of `acl_denies_https`.
    denying_acl: Option<String>,
    /// The bastion instance.
    bastion_id: String,
    /// The VPC's default security group, its rules removed.
    default_sg: String,
    /// The database's parameter group (require_secure_transport on).
    parameter_group: String,
    /// The application secret's customer managed key.
    key_arn: String,
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
    // Boxed: the setup's future is large, and every test awaits it.
    Box::pin(provision_boxed(options)).await
}

#[allow(clippy::too_many_lines)] // the tutorial's setup, resource by resource
async fn provision_boxed(options: &Options) -> Setup {
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
        .ip_permissions(cidr_permission(
            "tcp",
            443,
            443,
            options.endpoint_https_from,
        ))
        .send()
        .await
        .expect("endpoint rule");

    for subnet in &subnets {
        tests::eventually(|| ec2.describe_subnets().subnet_ids(subnet).send())
            .await
            .expect("describe subnet");
    }

    let default_sg = close_default_group(&ec2, &vpc_id).await;

    // The bastion, IMDSv2 only.
    let bastion = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .instance_type(InstanceType::T2Micro)
        .min_count(1)
        .max_count(1)
        .subnet_id(&public)
        .security_group_ids(&bastion_sg)
        .metadata_options(
            InstanceMetadataOptionsRequest::builder()
                .http_tokens(HttpTokensState::Required)
                .build(),
        )
        .tag_specifications(name_tag(
            ResourceType::Instance,
            audit::policy::TUTORIAL_BASTION_NAME,
        ))
        .send()
        .await
        .expect("run bastion");
    let bastion_id = bastion
        .instances()
        .first()
        .and_then(|i| i.instance_id())
        .expect("bastion id")
        .to_owned();

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
    // A parameter group of its own with require_secure_transport on, as provision makes.
    let parameter_group = format!("{name}-tls");
    rds.create_db_parameter_group()
        .db_parameter_group_name(&parameter_group)
        .db_parameter_group_family("mysql8.0")
        .description("audit test: TLS only")
        .send()
        .await
        .expect("create parameter group");
    set_secure_transport(&rds, &parameter_group, "1").await;
    rds.create_db_instance()
        .db_instance_identifier(&db_id)
        .db_parameter_group_name(&parameter_group)
        .engine("mysql")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .manage_master_user_password(true)
        .storage_encrypted(options.storage_encrypted)
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
    let mut statements = vec![
        "CREATE DATABASE tutorial".to_owned(),
        format!("CREATE USER 'appuser'@'%' IDENTIFIED BY '{APP_PASSWORD}'"),
        format!("GRANT {} ON tutorial.* TO 'appuser'@'%'", options.grant),
    ];
    if let Some(global) = options.global_grant {
        statements.push(format!("GRANT {global} ON *.* TO 'appuser'@'%'"));
    }
    if let Some(privileges) = options.mysql_grant {
        statements.push(format!("GRANT {privileges} ON mysql.* TO 'appuser'@'%'"));
    }
    if let Some(default) = options.select_role {
        // MariaDB roles (MariaDB knowledge base, "Roles Overview"; SET DEFAULT ROLE).
        statements.extend([
            "CREATE ROLE reader".to_owned(),
            "GRANT SELECT ON tutorial.* TO reader".to_owned(),
            "GRANT reader TO 'appuser'@'%'".to_owned(),
        ]);
        if default {
            statements.push("SET DEFAULT ROLE reader FOR 'appuser'@'%'".to_owned());
        }
    }
    if let Some(privileges) = options.admin_role {
        statements.extend([
            "CREATE ROLE dba".to_owned(),
            format!("GRANT {privileges} ON *.* TO dba"),
            "GRANT dba TO 'appuser'@'%'".to_owned(),
        ]);
    }
    for n in 0..options.extra_roles {
        statements.extend([
            format!("CREATE ROLE extra{n}"),
            format!("GRANT SELECT ON tutorial.* TO extra{n}"),
            format!("GRANT extra{n} TO 'appuser'@'%'"),
        ]);
    }
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
            .execute(&mut connection)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    // The rotation function in the VPC, invocable by Secrets Manager of this account.
    let function = unique_name("auditrotation");
    let function_arn = create_function(&config, &function, Path::new(ECHO), &[], 10).await;
    // A role of its own, with the inline policy `cargo xtask deploy` writes (below).
    let role_name = format!("{name}-rotation");
    let role_arn = tests::lambda_role(&config, &role_name).await;
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
        admin_arn.clone()
    };
    // The secret's customer managed key, rotating, under the default key policy, as
    // provision makes it (AWS Config secretsmanager-using-cmk).
    let kms = aws_sdk_kms::Client::new(&config);
    let key_arn = kms
        .create_key()
        .description("audit test: the application secret's key")
        .send()
        .await
        .expect("create key")
        .key_metadata()
        .map(|k| k.arn().unwrap_or(k.key_id()).to_owned())
        .expect("key arn");
    kms.enable_key_rotation()
        .key_id(&key_arn)
        .send()
        .await
        .expect("enable key rotation");
    let secret_name = unique_name("AuditAppuser");
    let mut value = json!({
        "engine": "mysql", "host": host, "port": port, "username": "appuser", "password": APP_PASSWORD,
        "dbname": "tutorial", "masterarn": masterarn, "ssl": true,
    });
    if let Some(object) = value.as_object_mut() {
        if !options.dbname {
            object.remove("dbname");
        }
        if !options.ssl_key {
            object.remove("ssl");
        }
    }
    let created = secrets
        .create_secret()
        .name(&secret_name)
        .kms_key_id(&key_arn)
        .secret_string(value.to_string())
        .send()
        .await
        .expect("create secret");
    let secret_arn = created.arn().expect("secret arn").to_owned();
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

    // The role's least-privilege policy, as deploy writes it.
    let mut policy = xtask::deploy::rotation_policy(&xtask::deploy::RoleResources {
        secret_arn: secret_arn.clone(),
        secret_kms_key: Some(key_arn.clone()),
        admin_secret_arn: masterarn.clone(),
        db_instance_arns: vec![instance.db_instance_arn().expect("instance arn").to_owned()],
        log_group_arn: format!(
            "arn:aws:logs:us-east-1:{}:log-group:/aws/lambda/{function}",
            tests::ACCOUNT_ID
        ),
        secrets_manager_host: "secretsmanager.us-east-1.amazonaws.com".to_owned(),
        ..Default::default()
    });
    if options.role_without_admin_read {
        for statement in policy["Statement"].as_array_mut().expect("statements") {
            if statement["Sid"] == "ReadTheAdminSecret" {
                statement["Action"] = json!(["secretsmanager:DescribeSecret"]);
            }
        }
    }
    aws_sdk_iam::Client::new(&config)
        .put_role_policy()
        .role_name(&role_name)
        .policy_name("rotation")
        .policy_document(policy.to_string())
        .send()
        .await
        .expect("put the rotation policy");
    // Into the VPC with that role, once it may manage the function's network
    // interfaces (Lambda refuses a role that may not, as on AWS).
    tests::retry_role_propagation(|| {
        lambda
            .update_function_configuration()
            .function_name(&function)
            .role(&role_arn)
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

    let denying_acl = if options.acl_denies_https {
        Some(acl_denying_https(&ec2, &vpc_id, &private_a).await)
    } else {
        None
    };

    Setup {
        config,
        vpc_id,
        public_subnet: public,
        bastion_sg,
        db_sg,
        db_port: port,
        secret_name,
        secret_arn,
        admin_arn,
        function,
        function_arn,
        db_id,
        role_arn,
        denying_acl,
        bastion_id,
        default_sg,
        parameter_group,
        key_arn,
    }
}

/// Sets `require_secure_transport` in a DB parameter group (dynamic: at once).
async fn set_secure_transport(rds: &aws_sdk_rds::Client, group: &str, value: &str) {
    rds.modify_db_parameter_group()
        .db_parameter_group_name(group)
        .parameters(
            aws_sdk_rds::types::Parameter::builder()
                .parameter_name("require_secure_transport")
                .parameter_value(value)
                .apply_method(aws_sdk_rds::types::ApplyMethod::Immediate)
                .build(),
        )
        .send()
        .await
        .expect("set require_secure_transport");
}

/// Removes every rule of the VPC's default security group (FSBP EC2.2), as
/// `cargo xtask provision` does, and returns the group's id.
async fn close_default_group(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> String {
    let filter = |name: &str, value: &str| Filter::builder().name(name).values(value).build();
    let groups = tests::eventually(|| {
        ec2.describe_security_groups()
            .filters(filter("vpc-id", vpc_id))
            .filters(filter("group-name", "default"))
            .send()
    })
    .await
    .expect("describe the default group");
    let group = groups.security_groups()[0]
        .group_id()
        .expect("default group id")
        .to_owned();
    let rules = ec2
        .describe_security_group_rules()
        .filters(filter("group-id", &group))
        .send()
        .await
        .expect("default group rules");
    for rule in rules.security_group_rules() {
        let id = rule.security_group_rule_id().expect("rule id");
        if rule.is_egress() == Some(true) {
            ec2.revoke_security_group_egress()
                .group_id(&group)
                .security_group_rule_ids(id)
                .send()
                .await
                .expect("revoke default egress");
        } else {
            ec2.revoke_security_group_ingress()
                .group_id(&group)
                .security_group_rule_ids(id)
                .send()
                .await
                .expect("revoke default ingress");
        }
    }
    group
}

/// A network ACL for `subnet` whose rule 90 denies TCP 443 out and whose rules 100
/// allow everything else, replacing the subnet's association with the default ACL.
async fn acl_denying_https(ec2: &aws_sdk_ec2::Client, vpc_id: &str, subnet: &str) -> String {
    use aws_sdk_ec2::types::{PortRange, RuleAction};
    let created = tests::eventually(|| ec2.create_network_acl().vpc_id(vpc_id).send())
        .await
        .expect("create network ACL");
    let acl = created
        .network_acl()
        .and_then(|a| a.network_acl_id())
        .expect("ACL id")
        .to_owned();
    for (number, egress, protocol, action, ports) in [
        (90, true, "6", RuleAction::Deny, Some((443, 443))),
        (100, true, "-1", RuleAction::Allow, None),
        (100, false, "-1", RuleAction::Allow, None),
    ] {
        let mut entry = ec2
            .create_network_acl_entry()
            .network_acl_id(&acl)
            .rule_number(number)
            .egress(egress)
            .protocol(protocol)
            .rule_action(action)
            .cidr_block("0.0.0.0/0");
        if let Some((from, to)) = ports {
            entry = entry.port_range(PortRange::builder().from(from).to(to).build());
        }
        tests::eventually(|| entry.clone().send())
            .await
            .expect("create ACL entry");
    }
    let current = ec2
        .describe_network_acls()
        .filters(
            Filter::builder()
                .name("association.subnet-id")
                .values(subnet)
                .build(),
        )
        .send()
        .await
        .expect("describe network ACLs");
    let association = current
        .network_acls()
        .iter()
        .flat_map(aws_sdk_ec2::types::NetworkAcl::associations)
        .find(|a| a.subnet_id() == Some(subnet))
        .and_then(|a| a.network_acl_association_id())
        .expect("the subnet's ACL association")
        .to_owned();
    ec2.replace_network_acl_association()
        .association_id(association)
        .network_acl_id(&acl)
        .send()
        .await
        .expect("associate the ACL");
    acl
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
            discover: false,
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
    finding_of(findings, id, Some(Status::Fail))
}

/// The finding of check `id`, of `status` when given.
fn finding_of<'a>(findings: &'a [Finding], id: &str, status: Option<Status>) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.check_id == id && status.is_none_or(|s| f.status == s))
        .unwrap_or_else(|| panic!("no {id} of status {status:?} in {findings:#?}"))
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
#[allow(clippy::too_many_lines)] // one end-to-end scenario, step by step
async fn a_compliant_setup_passes_every_check_and_a_saved_inventory_agrees() {
    let setup = provision(&Options::default()).await;
    let (inventory, findings) = audit(&setup).await;
    let not_passing: Vec<_> = findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .collect();
    assert!(not_passing.is_empty(), "{not_passing:#?}");
    let ids: BTreeSet<&str> = findings.iter().map(|f| f.check_id.as_str()).collect();
    assert_eq!(ids.len(), 28, "{ids:?}");
    // The role's permissions were read and judged, from the role's own policy.
    let role = findings
        .iter()
        .find(|f| f.check_id == "secret.rotation.function-role")
        .expect("the role check");
    assert_eq!(role.resource, setup.role_arn);
    assert!(
        role.message.contains(&format!(
            "secretsmanager:GetSecretValue on {}",
            setup.admin_arn
        )),
        "{}",
        role.message
    );
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

    // Without --read-secrets the four checks that need a value skip, saying why.
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
        BTreeSet::from([
            "secret.rotation.admin-linked",
            "secret.rotation.function-role",
            "db.appuser.select",
            "db.appuser.least-privilege"
        ])
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
    // Every finding counts, the setup's own RDS-managed admin secret included;
    // only the secrets (and functions) of the other tests sharing this emulator
    // are left out.
    let ours = [&setup.secret_arn, &setup.admin_arn, &setup.function_arn];
    let of_other_tests =
        |f: &Finding| f.check_id.starts_with("secret.") && !ours.contains(&&f.resource);
    let judged: Vec<_> = findings.iter().filter(|f| !of_other_tests(f)).collect();
    assert!(
        judged.iter().any(|f| f.resource == setup.admin_arn),
        "the admin secret is judged: {judged:#?}"
    );
    let not_passing: Vec<_> = judged.iter().filter(|f| f.status != Status::Pass).collect();
    // The allowed SKIPs: no Lambda function rotates the RDS-managed secret, and
    // its schedule is RDS's (RDS reports rotation every 7 days, which passes).
    assert!(
        not_passing.iter().all(|f| f.status == Status::Skip
            && (f.check_id == "secret.rotation.function"
                || f.check_id == "secret.rotation.schedule")
            && f.resource == setup.admin_arn
            && f.message.contains("managed by rds")),
        "{not_passing:#?}"
    );
    for finding in judged.iter().filter(|f| f.resource == setup.admin_arn) {
        assert!(finding.message.contains("managed by rds"), "{finding:#?}");
    }

    // Reports of a real run: the OCSF ids are stable across runs, CSV cells are
    // inert, and a gate that wants every check to run fails on the skipped ones.
    let report = audit::Report::new(&inventory, findings.clone());
    let second_run = audit::collect(std::slice::from_ref(&setup.config), &all).await;
    let again = audit::Report::new(
        &second_run,
        audit::evaluate(&second_run, &Policy::default()),
    );
    let uids = |r: &audit::Report| -> Vec<String> {
        r.findings
            .iter()
            .filter(|f| !of_other_tests(f))
            .map(|f| audit::report::ocsf::finding_uid(r, f))
            .collect()
    };
    assert_eq!(uids(&report), uids(&again));
    let ocsf: serde_json::Value =
        serde_json::from_str(&report.render(audit::Format::Ocsf)).expect("OCSF JSON");
    for finding in ocsf.as_array().expect("array") {
        assert_eq!(finding["class_uid"], 2003);
        assert_eq!(finding["cloud"]["account"]["uid"], tests::ACCOUNT_ID);
        assert!(
            finding["finding_info"]["uid"]
                .as_str()
                .is_some_and(|u| !u.is_empty())
        );
    }
    let junit = report.render(audit::Format::Junit);
    let stamp = junit
        .split("timestamp=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("timestamp");
    assert_eq!(stamp.len(), "2025-06-02T12:00:00".len(), "{stamp}");
    assert!(!stamp.contains('.') && !stamp.ends_with('Z'), "{stamp}");
    let without_values =
        audit::collect(std::slice::from_ref(&setup.config), &request(&setup, false)).await;
    let summary = audit::Summary::of(&audit::evaluate(&without_values, &Policy::default()));
    assert_eq!(audit::exit_code_with(&summary, false), audit::EXIT_OK);
    assert_eq!(audit::exit_code_with(&summary, true), audit::EXIT_FAILED);
}

/// Polls DescribeSecret until `done` holds (rotation is asynchronous on AWS, and
/// becoming so in the emulator).
async fn wait_for_stages(setup: &Setup, done: impl Fn(&tests::Stages) -> bool) -> tests::Stages {
    let secrets = aws_sdk_secretsmanager::Client::new(&setup.config);
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
    loop {
        let stages = tests::stages(&secrets, &setup.secret_name).await;
        if done(&stages) || std::time::Instant::now() > deadline {
            return stages;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn schedules_at_most_the_policys_period_pass() {
    // (`rate(48 hours)` is refused by Secrets Manager: hour rates are 4-23.)
    let setup = provision(&Options {
        schedule: "rate(12 hours)",
        ..Options::default()
    })
    .await;
    let (_, findings) = audit(&setup).await;
    assert!(failing(&findings).is_empty(), "{findings:#?}");
    let secrets = aws_sdk_secretsmanager::Client::new(&setup.config);
    for schedule in ["rate(1 day)", "cron(0 8 */2 * ? *)"] {
        secrets
            .rotate_secret()
            .secret_id(&setup.secret_name)
            .rotation_lambda_arn(&setup.function_arn)
            .rotation_rules(
                RotationRulesType::builder()
                    .schedule_expression(schedule)
                    .duration("2h")
                    .build(),
            )
            .rotate_immediately(false)
            .send()
            .await
            .expect("change schedule");
        // RotateImmediately=false still tests the function in the background (a
        // pending version meanwhile): audit once it has ended.
        tests::wait_for_rotations_to_end(&setup.secret_name).await;
        let (_, findings) = audit(&setup).await;
        assert!(failing(&findings).is_empty(), "{schedule}: {findings:#?}");
        let pass = findings
            .iter()
            .find(|f| f.check_id == "secret.rotation.schedule")
            .expect("schedule finding");
        assert!(pass.message.contains(schedule), "{}", pass.message);
    }
}

#[tokio::test]
async fn a_secret_without_dbname_passes_on_select_of_an_application_database() {
    let setup = provision(&Options {
        dbname: false,
        ..Options::default()
    })
    .await;
    let (_, findings) = audit(&setup).await;
    assert!(failing(&findings).is_empty(), "{findings:#?}");
    let select = findings
        .iter()
        .find(|f| f.check_id == "db.appuser.select")
        .expect("select finding");
    assert!(
        select.message.contains("`tutorial`.*") && select.message.contains("no dbname"),
        "{}",
        select.message
    );
}

#[tokio::test]
async fn a_rotation_in_progress_is_not_reported_as_stuck() {
    let setup = provision(&Options::default()).await;
    // A rotation function that stops at setSecret leaves AWSPENDING staged, as a
    // rotation still within its window does.
    let stopping = unique_name("auditstopping");
    let arn = create_function(
        &setup.config,
        &stopping,
        Path::new(SCRIPTED),
        &[("FAIL_STEP", "setSecret")],
        10,
    )
    .await;
    let secrets = aws_sdk_secretsmanager::Client::new(&setup.config);
    // Accepted, or refused once the asynchronous steps fail: either way AWSPENDING stays.
    let _ = secrets
        .rotate_secret()
        .secret_id(&setup.secret_name)
        .rotation_lambda_arn(&arn)
        .rotation_rules(
            RotationRulesType::builder()
                .schedule_expression("rate(2 days)")
                .duration("2h")
                .build(),
        )
        .send()
        .await;
    let stages = wait_for_stages(&setup, |s| s.pending.is_some()).await;
    assert!(stages.pending.is_some(), "{stages:?}");
    let (inventory, findings) = audit(&setup).await;
    let healthy = findings
        .iter()
        .find(|f| f.check_id == "secret.rotation.healthy")
        .expect("health finding");
    assert_eq!(healthy.status, Status::Pass, "{healthy:#?}");
    assert!(
        healthy.message.contains("a rotation is in progress"),
        "{}",
        healthy.message
    );
    let secret = &inventory.regions[0].secrets.ok().expect("secrets")[0];
    assert!(secret.pending_created_date.is_some(), "{secret:#?}");
}

#[tokio::test]
async fn a_function_anyone_may_invoke_fails() {
    let setup = provision(&Options::default()).await;
    let lambda = aws_sdk_lambda::Client::new(&setup.config);
    lambda
        .add_permission()
        .function_name(&setup.function)
        .statement_id("Everyone")
        .action("lambda:InvokeFunction")
        .principal("*")
        .send()
        .await
        .expect("add public permission");
    let (_, findings) = audit(&setup).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["secret.rotation.function"])
    );
    let finding = finding(&findings, "secret.rotation.function");
    assert!(
        finding
            .message
            .contains("statement Everyone lets * invoke it (public)"),
        "{}",
        finding.message
    );
}

#[tokio::test]
async fn a_public_function_url_fails() {
    let setup = provision(&Options::default()).await;
    let lambda = aws_sdk_lambda::Client::new(&setup.config);
    lambda
        .create_function_url_config()
        .function_name(&setup.function)
        .auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::None)
        .send()
        .await
        .expect("create function URL");
    let (_, findings) = audit(&setup).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["secret.rotation.function"])
    );
    let finding = finding(&findings, "secret.rotation.function");
    assert!(
        finding.message.contains("AuthType NONE"),
        "{}",
        finding.message
    );
}

/// Waits until the function's last update is done: Lambda refuses another one
/// meanwhile (`ResourceConflictException`), as the emulator does.
async fn function_update_done(setup: &Setup) {
    let lambda = aws_sdk_lambda::Client::new(&setup.config);
    tests::poll_until(
        "the rotation function's update",
        std::time::Duration::from_mins(1),
        || {
            let (lambda, function) = (lambda.clone(), setup.function.clone());
            async move {
                let configuration = lambda
                    .get_function_configuration()
                    .function_name(&function)
                    .send()
                    .await
                    .ok()?;
                (configuration.last_update_status()
                    != Some(&aws_sdk_lambda::types::LastUpdateStatus::InProgress))
                .then_some(())
            }
        },
    )
    .await;
}

#[tokio::test]
async fn a_deprecated_runtime_fails_naming_the_function_and_the_fix() {
    let setup = provision(&Options::default()).await;
    function_update_done(&setup).await;
    // `provided`: the Amazon Linux 1 custom runtime, deprecated on 2024-01-08.
    aws_sdk_lambda::Client::new(&setup.config)
        .update_function_configuration()
        .function_name(&setup.function)
        .runtime(aws_sdk_lambda::types::Runtime::Provided)
        .send()
        .await
        .expect("move the function to the provided runtime");
    let (_, findings) = audit(&setup).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["lambda.runtime.supported"])
    );
    let finding = finding(&findings, "lambda.runtime.supported");
    assert_eq!(finding.resource, setup.function_arn);
    assert!(
        finding.message.contains(&format!(
            "function {} runs on provided, deprecated by Lambda since 2024-01-08",
            setup.function
        )),
        "{}",
        finding.message
    );
    assert!(finding.remediation.contains("--runtime provided.al2023"));
    assert!(finding.compliance.contains(&"AWS-FSBP:Lambda.2".to_owned()));
}

#[tokio::test]
async fn a_password_in_the_functions_environment_fails_and_is_never_printed() {
    const LEAKED: &str = "Env1ronmentPassw0rd";
    let setup = provision(&Options::default()).await;
    function_update_done(&setup).await;
    aws_sdk_lambda::Client::new(&setup.config)
        .update_function_configuration()
        .function_name(&setup.function)
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .variables("ADMIN_PASSWORD", LEAKED)
                // A reference to a secret is what belongs there: not flagged.
                .variables("ADMIN_SECRET_ARN", &setup.admin_arn)
                .build(),
        )
        .send()
        .await
        .expect("put a password into the environment");
    let (inventory, findings) = audit(&setup).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["lambda.environment.no-secrets"])
    );
    let finding = finding(&findings, "lambda.environment.no-secrets");
    assert_eq!(finding.resource, setup.function_arn);
    assert!(
        finding.message.contains("ADMIN_PASSWORD") && !finding.message.contains("ADMIN_SECRET_ARN"),
        "{}",
        finding.message
    );
    assert!(finding.remediation.contains("Secrets Manager"));
    let evidence = serde_json::to_string(&(&inventory, &findings)).expect("json");
    assert!(
        !evidence.contains(LEAKED),
        "neither the inventory nor a finding may hold the value"
    );
}

#[tokio::test]
async fn an_unencrypted_database_fails() {
    let setup = provision(&Options {
        storage_encrypted: false,
        ..Options::default()
    })
    .await;
    let (_, findings) = audit(&setup).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["rds.storage.encrypted"])
    );
    let finding = finding(&findings, "rds.storage.encrypted");
    assert!(finding.resource.ends_with(&format!(":db:{}", setup.db_id)));
    assert!(
        finding.message.contains(&format!(
            "RDS instance {} storage is not encrypted; expected StorageEncrypted true",
            setup.db_id
        )),
        "{}",
        finding.message
    );
    assert!(finding.remediation.contains("aws rds copy-db-snapshot"));
}

#[tokio::test]
async fn a_public_snapshot_of_the_database_fails() {
    let setup = provision(&Options::default()).await;
    let rds = aws_sdk_rds::Client::new(&setup.config);
    let snapshot = unique_name("auditsnap");
    rds.create_db_snapshot()
        .db_instance_identifier(&setup.db_id)
        .db_snapshot_identifier(&snapshot)
        .send()
        .await
        .expect("snapshot the database");
    // A private snapshot of the encrypted database passes.
    let (_, findings) = audit(&setup).await;
    assert!(failing(&findings).is_empty(), "{findings:#?}");
    let private = findings
        .iter()
        .find(|f| f.check_id == "rds.snapshots.private-encrypted")
        .expect("the snapshot check");
    assert!(
        private.message.contains(&format!(
            "snapshot {snapshot} of RDS instance {} is private and encrypted",
            setup.db_id
        )),
        "{}",
        private.message
    );

    rds.modify_db_snapshot_attribute()
        .db_snapshot_identifier(&snapshot)
        .attribute_name("restore")
        .values_to_add("all")
        .send()
        .await
        .expect("make the snapshot public");
    let (_, findings) = audit(&setup).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["rds.snapshots.private-encrypted"])
    );
    let finding = finding(&findings, "rds.snapshots.private-encrypted");
    assert!(
        finding.resource.ends_with(&format!(":snapshot:{snapshot}")),
        "{}",
        finding.resource
    );
    assert!(
        finding.message.contains(&format!(
            "snapshot {snapshot} of RDS instance {} is public (restore=all",
            setup.db_id
        )),
        "{}",
        finding.message
    );
    assert!(finding.remediation.contains("--values-to-remove all"));
    // FSBP RDS.1's severity: Critical for a public snapshot.
    assert_eq!(finding.severity, audit::finding::Severity::Critical);
}

/// A login as appuser without TLS: whether the server accepts it.
async fn plaintext_login(setup: &Setup) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    let address = aws_sdk_rds::Client::new(&setup.config)
        .describe_db_instances()
        .db_instance_identifier(&setup.db_id)
        .send()
        .await
        .expect("describe database")
        .db_instances()
        .first()
        .and_then(|db| db.endpoint().and_then(|e| e.address()).map(str::to_owned))
        .expect("database address");
    let options = sqlx::mysql::MySqlConnectOptions::new()
        .host(&address)
        .port(setup.db_port)
        .username("appuser")
        .password(APP_PASSWORD)
        .ssl_mode(sqlx::mysql::MySqlSslMode::Disabled);
    sqlx::MySqlConnection::connect_with(&options)
        .await
        .map(drop)
}

#[tokio::test]
async fn a_database_accepting_plaintext_fails() {
    let setup = provision(&Options::default()).await;
    // The compliant setup's server refuses a login without TLS, as RDS does with
    // require_secure_transport on.
    assert!(
        plaintext_login(&setup).await.is_err(),
        "a login without TLS must be refused while require_secure_transport is 1"
    );
    let rds = aws_sdk_rds::Client::new(&setup.config);
    set_secure_transport(&rds, &setup.parameter_group, "0").await;
    plaintext_login(&setup)
        .await
        .expect("with require_secure_transport 0 a plaintext login is accepted");
    let (_, findings) = audit(&setup).await;
    assert_eq!(failing(&findings), BTreeSet::from(["rds.tls.required"]));
    let finding = finding(&findings, "rds.tls.required");
    assert!(finding.resource.ends_with(&format!(":db:{}", setup.db_id)));
    assert!(
        finding.message.contains(&format!(
            "RDS instance {}: parameter group {} has require_secure_transport 0; expected 1",
            setup.db_id, setup.parameter_group
        )),
        "{}",
        finding.message
    );
    assert!(finding.remediation.contains("require_secure_transport"));
}

#[tokio::test]
async fn a_database_on_an_expired_ca_fails() {
    let setup = provision(&Options::default()).await;
    aws_sdk_rds::Client::new(&setup.config)
        .modify_db_instance()
        .db_instance_identifier(&setup.db_id)
        .ca_certificate_identifier("rds-ca-2019")
        .apply_immediately(true)
        .send()
        .await
        .expect("move the database to rds-ca-2019");
    let (_, findings) = audit(&setup).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["rds.ca-certificate.valid"])
    );
    let finding = finding(&findings, "rds.ca-certificate.valid");
    assert!(
        finding.message.contains(&format!(
            "RDS instance {} uses CA rds-ca-2019, expired on 2024-08-22",
            setup.db_id
        )),
        "{}",
        finding.message
    );
    assert!(finding.remediation.contains("--ca-certificate-identifier"));
}

#[tokio::test]
async fn a_public_snapshot_of_an_aurora_members_cluster_fails() {
    // An Aurora member's data is snapshotted with its cluster: the instance has no
    // snapshots of its own, and a public cluster snapshot must not pass as "none".
    let config = sdk_config().await;
    let rds = aws_sdk_rds::Client::new(&config);
    let (cluster, member) = aurora_member(&rds, None).await;
    let snapshot = unique_name("auditclustersnap");
    rds.create_db_cluster_snapshot()
        .db_cluster_identifier(&cluster)
        .db_cluster_snapshot_identifier(&snapshot)
        .send()
        .await
        .expect("snapshot the cluster");
    rds.modify_db_cluster_snapshot_attribute()
        .db_cluster_snapshot_identifier(&snapshot)
        .attribute_name("restore")
        .values_to_add("all")
        .send()
        .await
        .expect("make the cluster snapshot public");
    let findings = audit_instance(&config, &member).await;
    let finding = findings
        .iter()
        .find(|f| f.check_id == "rds.snapshots.private-encrypted")
        .expect("the snapshot check");
    assert_eq!(finding.status, Status::Fail, "{finding:#?}");
    assert!(
        finding
            .resource
            .ends_with(&format!(":cluster-snapshot:{snapshot}")),
        "{}",
        finding.resource
    );
    assert!(
        finding.message.contains(&format!(
            "cluster snapshot {snapshot} of the cluster of RDS instance {member} is public (restore=all"
        )),
        "{}",
        finding.message
    );
    assert_eq!(finding.severity, audit::finding::Severity::Critical);
}

/// An encrypted Aurora MySQL cluster, with `group` as its DB cluster parameter
/// group (none: the default), and one member instance: (cluster, member).
async fn aurora_member(rds: &aws_sdk_rds::Client, group: Option<&str>) -> (String, String) {
    let cluster = unique_name("auditcluster");
    let member = unique_name("auditmember");
    rds.create_db_cluster()
        .db_cluster_identifier(&cluster)
        .engine("aurora-mysql")
        .master_username("admin")
        .master_user_password("ClusterPassw0rd42")
        .storage_encrypted(true)
        .set_db_cluster_parameter_group_name(group.map(str::to_owned))
        .send()
        .await
        .expect("create cluster");
    rds.create_db_instance()
        .db_instance_identifier(&member)
        .db_cluster_identifier(&cluster)
        .engine("aurora-mysql")
        .db_instance_class("db.t3.medium")
        .send()
        .await
        .expect("create member");
    (cluster, member)
}

/// A request for us-east-1 naming only the database `instance` (none: empty),
/// with the emulator's CA.
fn scoped_request(instance: &str, read_secrets: bool, discover: bool) -> CollectRequest {
    CollectRequest {
        scope: Scope {
            regions: vec!["us-east-1".to_owned()],
            vpc_id: None,
            secret_ids: Vec::new(),
            all_secrets: false,
            db_instance_id: instance.to_owned(),
            read_secrets,
            discover,
        },
        policy: Policy::default(),
        db_endpoint: None,
        db_ca_bundle: Some(tests::emulator().ca_file.clone()),
    }
}

/// The findings of an audit naming only the database `instance`.
async fn audit_instance(config: &SdkConfig, instance: &str) -> Vec<Finding> {
    let request = scoped_request(instance, false, false);
    let inventory = audit::collect(std::slice::from_ref(config), &request).await;
    audit::evaluate(&inventory, &Policy::default())
}

#[tokio::test]
async fn a_cluster_members_login_endpoints_include_its_clusters() {
    // A secret may name the cluster's writer or reader endpoint: the audit logs in
    // there as at the member's own endpoint, and nowhere else.
    let config = sdk_config().await;
    let rds = aws_sdk_rds::Client::new(&config);
    let (cluster, member) = aurora_member(&rds, None).await;
    // Another member: the rotator accepts its instance endpoint as the cluster's.
    let other = unique_name("auditmember");
    rds.create_db_instance()
        .db_instance_identifier(&other)
        .db_cluster_identifier(&cluster)
        .engine("aurora-mysql")
        .db_instance_class("db.t3.medium")
        .send()
        .await
        .expect("create the other member");
    let other_address = tests::available_db_instance(&rds, &other)
        .await
        .endpoint()
        .and_then(|e| e.address())
        .map(str::to_owned)
        .expect("the other member's endpoint");
    let described = rds
        .describe_db_clusters()
        .db_cluster_identifier(&cluster)
        .send()
        .await
        .expect("describe cluster");
    let found = described.db_clusters().first().expect("the cluster");
    let expected: Vec<String> = found
        .endpoint()
        .into_iter()
        .chain(found.reader_endpoint())
        .map(str::to_owned)
        .collect();
    assert!(!expected.is_empty(), "the cluster has endpoints");
    let request = CollectRequest {
        scope: Scope {
            regions: vec!["us-east-1".to_owned()],
            vpc_id: None,
            secret_ids: Vec::new(),
            all_secrets: false,
            db_instance_id: member.clone(),
            read_secrets: false,
            discover: false,
        },
        policy: Policy::default(),
        db_endpoint: None,
        db_ca_bundle: None,
    };
    let inventory = audit::collect(std::slice::from_ref(&config), &request).await;
    let db = inventory.regions[0]
        .database
        .ok()
        .and_then(Option::as_ref)
        .expect("the member");
    let recorded: Vec<&str> = db
        .cluster_endpoints
        .iter()
        .map(|e| e.address.as_str())
        .collect();
    for address in &expected {
        assert!(
            recorded.contains(&address.as_str()),
            "{address}: {recorded:?}"
        );
    }
    let related: Vec<&str> = db
        .related_endpoints
        .iter()
        .map(|e| e.address.as_str())
        .collect();
    assert!(
        related.contains(&other_address.as_str()),
        "{other_address}: {related:?}"
    );
}

#[tokio::test]
async fn discover_audits_a_secret_on_a_cluster_endpoint_at_the_clusters_writer() {
    // An Aurora application secret names its cluster's endpoint, which no
    // instance has: --discover resolves it through DescribeDBClusters.
    let config = sdk_config().await;
    let rds = aws_sdk_rds::Client::new(&config);
    let (cluster, member) = aurora_member(&rds, None).await;
    tests::available_db_instance(&rds, &member).await;
    let described = rds
        .describe_db_clusters()
        .db_cluster_identifier(&cluster)
        .send()
        .await
        .expect("describe cluster");
    let found = described.db_clusters().first().expect("the cluster");
    let writer = found
        .db_cluster_members()
        .iter()
        .find(|m| m.is_cluster_writer() == Some(true))
        .and_then(|m| m.db_instance_identifier())
        .expect("the cluster's writer")
        .to_owned();
    let host = found.endpoint().expect("the cluster endpoint").to_owned();
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let name = unique_name("AuditAuroraApp");
    let value = serde_json::json!({
        "engine": "mysql",
        "host": host,
        "port": found.port().unwrap_or(3306),
        "username": "appuser",
        "password": "NotUsedHere-1",
    });
    let arn = secrets
        .create_secret()
        .name(&name)
        .secret_string(value.to_string())
        .send()
        .await
        .expect("create secret")
        .arn()
        .expect("secret arn")
        .to_owned();
    let request = scoped_request("", true, true);
    let inventory = audit::collect(std::slice::from_ref(&config), &request).await;
    let discovered = inventory
        .regions
        .iter()
        .filter_map(|r| r.discovered.as_ref())
        .find(|d| d.secret_arn == arn)
        .expect("the Aurora secret is discovered");
    assert_eq!(
        discovered.scope.db_instance_id, writer,
        "{}",
        discovered.database
    );
    assert!(
        discovered
            .database
            .contains(&format!("endpoint of DB cluster {cluster}")),
        "{}",
        discovered.database
    );
}

#[tokio::test]
async fn an_aurora_member_is_judged_on_its_cluster_parameter_group() {
    // Aurora MySQL's require_secure_transport is a DB cluster parameter (OFF by
    // default); the member's own DB parameter group has none, so judging it, or
    // skipping the member, would miss a cluster that accepts plaintext.
    let config = sdk_config().await;
    let rds = aws_sdk_rds::Client::new(&config);
    let group = unique_name("audittls");
    rds.create_db_cluster_parameter_group()
        .db_cluster_parameter_group_name(&group)
        .db_parameter_group_family("aurora-mysql8.0")
        .description("TLS required")
        .send()
        .await
        .expect("create cluster parameter group");
    rds.modify_db_cluster_parameter_group()
        .db_cluster_parameter_group_name(&group)
        .parameters(
            aws_sdk_rds::types::Parameter::builder()
                .parameter_name("require_secure_transport")
                .parameter_value("ON")
                .apply_method(aws_sdk_rds::types::ApplyMethod::Immediate)
                .build(),
        )
        .send()
        .await
        .expect("require TLS");
    // (the cluster's group, status, in the message)
    let cases = [
        (
            None,
            Status::Fail,
            "require_secure_transport the engine's default; expected 1".to_owned(),
        ),
        (
            Some(group.as_str()),
            Status::Pass,
            format!("{group} (DB cluster parameter group of cluster "),
        ),
    ];
    for (group, status, text) in cases {
        let (_, member) = aurora_member(&rds, group).await;
        let findings = audit_instance(&config, &member).await;
        let finding = findings
            .iter()
            .find(|f| f.check_id == "rds.tls.required")
            .expect("the TLS check");
        assert_eq!(finding.status, status, "{finding:#?}");
        assert!(finding.message.contains(&text), "{}", finding.message);
    }
}

#[tokio::test]
async fn a_secret_key_without_rotation_fails() {
    let setup = provision(&Options::default()).await;
    aws_sdk_kms::Client::new(&setup.config)
        .disable_key_rotation()
        .key_id(&setup.key_arn)
        .send()
        .await
        .expect("turn the key's rotation off");
    let (_, findings) = audit(&setup).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["secret.kms.customer-managed"])
    );
    let finding = finding(&findings, "secret.kms.customer-managed");
    assert_eq!(finding.resource, setup.secret_arn);
    assert!(
        finding.message.contains(&format!(
            "secret {}'s KMS key: its automatic rotation is off",
            setup.secret_name
        )),
        "{}",
        finding.message
    );
    assert!(finding.remediation.contains("enable-key-rotation"));
}

#[tokio::test]
async fn a_bastion_answering_imdsv1_fails() {
    let setup = provision(&Options::default()).await;
    let ec2 = aws_sdk_ec2::Client::new(&setup.config);
    // A new instance id answers NotFound for a while (EC2 eventual consistency).
    tests::eventually(|| {
        ec2.modify_instance_metadata_options()
            .instance_id(&setup.bastion_id)
            .http_tokens(HttpTokensState::Optional)
            .send()
    })
    .await
    .expect("allow IMDSv1");
    let (_, findings) = audit(&setup).await;
    assert_eq!(failing(&findings), BTreeSet::from(["ec2.bastion.imdsv2"]));
    let finding = finding(&findings, "ec2.bastion.imdsv2");
    assert!(
        finding
            .resource
            .ends_with(&format!("instance/{}", setup.bastion_id))
    );
    assert!(
        finding.message.contains(&format!(
            "bastion {} has HttpTokens optional",
            setup.bastion_id
        )),
        "{}",
        finding.message
    );
    assert!(finding.remediation.contains("--http-tokens required"));
}

#[tokio::test]
async fn a_rule_in_the_vpcs_default_group_fails() {
    let setup = provision(&Options::default()).await;
    aws_sdk_ec2::Client::new(&setup.config)
        .authorize_security_group_egress()
        .group_id(&setup.default_sg)
        .ip_permissions(cidr_permission("tcp", 443, 443, "0.0.0.0/0"))
        .send()
        .await
        .expect("open the default group");
    let (_, findings) = audit(&setup).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["vpc.default-security-group.closed"])
    );
    let finding = finding(&findings, "vpc.default-security-group.closed");
    assert!(
        finding
            .resource
            .ends_with(&format!("security-group/{}", setup.default_sg))
    );
    assert!(
        finding.message.contains(&format!(
            "default security group {} of {} has 1 rule(s): outbound tcp port 443 with 0.0.0.0/0",
            setup.default_sg, setup.vpc_id
        )),
        "{}",
        finding.message
    );
    assert!(finding.remediation.contains("revoke-security-group-egress"));
}

#[tokio::test]
async fn the_two_halves_of_the_internet_are_the_internet() {
    let setup = provision(&Options::default()).await;
    let ec2 = aws_sdk_ec2::Client::new(&setup.config);
    ec2.authorize_security_group_ingress()
        .group_id(&setup.bastion_sg)
        .ip_permissions(cidr_permission("tcp", 22, 22, "0.0.0.0/1"))
        .ip_permissions(cidr_permission("tcp", 22, 22, "128.0.0.0/1"))
        .ip_permissions(cidr_permission("tcp", 3389, 3389, "52.0.0.0/8"))
        .send()
        .await
        .expect("add rules");
    let (_, findings) = audit(&setup).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["ec2.ssh.restricted", "ec2.ingress.no-public"])
    );
    let ssh = finding(&findings, "ec2.ssh.restricted");
    assert_eq!(ssh.severity, audit::Severity::Critical, "{}", ssh.message);
    assert!(
        ssh.message.contains("0.0.0.0/1") && ssh.message.contains("128.0.0.0/1"),
        "{}",
        ssh.message
    );
    let rdp = finding(&findings, "ec2.ingress.no-public");
    assert!(
        rdp.message.contains("tcp 3389") && rdp.message.contains("52.0.0.0/8"),
        "{}",
        rdp.message
    );
}

#[tokio::test]
async fn ssh_from_an_open_group_or_from_two_addresses_fails() {
    let setup = provision(&Options::default()).await;
    let ec2 = aws_sdk_ec2::Client::new(&setup.config);
    let open = ec2
        .create_security_group()
        .group_name(unique_name("audit-open"))
        .description("open to the internet")
        .vpc_id(&setup.vpc_id)
        .send()
        .await
        .expect("create group")
        .group_id()
        .expect("group id")
        .to_owned();
    tests::eventually(|| {
        ec2.authorize_security_group_ingress()
            .group_id(&open)
            .ip_permissions(cidr_permission("tcp", 443, 443, "0.0.0.0/0"))
            .send()
    })
    .await
    .expect("open the group");
    ec2.authorize_security_group_ingress()
        .group_id(&setup.bastion_sg)
        .ip_permissions(group_permission(22, &open))
        .send()
        .await
        .expect("ssh from the open group");
    let (_, findings) = audit(&setup).await;
    assert_eq!(failing(&findings), BTreeSet::from(["ec2.ssh.restricted"]));
    let ssh = finding(&findings, "ec2.ssh.restricted");
    assert!(
        ssh.message.contains(&open) && ssh.message.contains("itself open to the internet"),
        "{}",
        ssh.message
    );
    let setup = provision(&Options::default()).await;
    let ec2 = aws_sdk_ec2::Client::new(&setup.config);
    ec2.authorize_security_group_ingress()
        .group_id(&setup.bastion_sg)
        .ip_permissions(cidr_permission("tcp", 22, 22, "198.51.100.8/32"))
        .send()
        .await
        .expect("a second address");
    let (_, findings) = audit(&setup).await;
    assert_eq!(failing(&findings), BTreeSet::from(["ec2.ssh.restricted"]));
    assert!(
        finding(&findings, "ec2.ssh.restricted")
            .message
            .contains("2 sources"),
        "{findings:#?}"
    );
}

#[tokio::test]
async fn a_second_bastion_and_the_databases_group_are_checked_for_ssh() {
    let setup = provision(&Options::default()).await;
    let ec2 = aws_sdk_ec2::Client::new(&setup.config);
    let second_sg = ec2
        .create_security_group()
        .group_name(unique_name("audit-second"))
        .description("second bastion")
        .vpc_id(&setup.vpc_id)
        .send()
        .await
        .expect("create group")
        .group_id()
        .expect("group id")
        .to_owned();
    tests::eventually(|| {
        ec2.authorize_security_group_ingress()
            .group_id(&second_sg)
            .ip_permissions(cidr_permission("tcp", 22, 22, "0.0.0.0/0"))
            .send()
    })
    .await
    .expect("ssh from anywhere");
    ec2.run_instances()
        .image_id("ami-12c6146b")
        .instance_type(InstanceType::T2Micro)
        .min_count(1)
        .max_count(1)
        .subnet_id(&setup.public_subnet)
        .security_group_ids(&second_sg)
        // IMDSv2, as provision launches a bastion: only SSH is wrong here.
        .metadata_options(
            aws_sdk_ec2::types::InstanceMetadataOptionsRequest::builder()
                .http_tokens(aws_sdk_ec2::types::HttpTokensState::Required)
                .build(),
        )
        .tag_specifications(name_tag(
            ResourceType::Instance,
            audit::policy::TUTORIAL_BASTION_NAME,
        ))
        .send()
        .await
        .expect("run a second bastion");
    ec2.authorize_security_group_ingress()
        .group_id(&setup.db_sg)
        .ip_permissions(cidr_permission("tcp", 22, 22, "::/0"))
        .send()
        .await
        .expect("ssh on the database's group");
    let (_, findings) = audit(&setup).await;
    assert_eq!(failing(&findings), BTreeSet::from(["ec2.ssh.restricted"]));
    let failed: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.check_id == "ec2.ssh.restricted" && f.status == Status::Fail)
        .collect();
    assert_eq!(failed.len(), 2, "{failed:#?}");
    assert!(failed.iter().any(|f| f.resource.ends_with(&second_sg)));
    assert!(failed.iter().any(|f| f.resource.ends_with(&setup.db_sg)
        && f.message.contains(&format!("database {}", setup.db_id))));
    assert!(
        failed
            .iter()
            .all(|f| f.severity == audit::Severity::Critical)
    );
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
async fn an_appuser_with_an_administrative_privilege_fails_held_directly_or_through_a_role() {
    // PROCESS: every session's statements (other users' passwords in them), and the
    // RDS master user may grant it (it holds it WITH GRANT OPTION). A role granted
    // but not the default is one SET ROLE away for whoever holds the password; the
    // audit reads its grants too (MariaDB: SET ROLE, SHOW GRANTS FOR CURRENT_ROLE).
    let cases = [
        (
            Options {
                global_grant: Some("PROCESS"),
                ..Options::default()
            },
            "holds PROCESS ON *.*",
        ),
        (
            Options {
                admin_role: Some("PROCESS"),
                ..Options::default()
            },
            "holds PROCESS ON *.* (through role `dba`)",
        ),
    ];
    for (options, held) in cases {
        let setup = provision(&options).await;
        let (_, findings) = audit(&setup).await;
        assert_eq!(
            failing(&findings),
            BTreeSet::from(["db.appuser.least-privilege"])
        );
        let finding = finding(&findings, "db.appuser.least-privilege");
        assert_eq!(finding.resource, setup.secret_arn);
        assert!(
            finding.message.contains(&format!(
                "user appuser of secret {} {held}",
                setup.secret_name
            )),
            "{}",
            finding.message
        );
        assert!(finding.remediation.contains("REVOKE"));
        assert!(!finding.message.contains(APP_PASSWORD));
    }
}

/// The secret as an alternating-users rotation leaves it: AWSCURRENT names
/// `appuser_clone` (created here with `appuser`'s data grants), AWSPREVIOUS
/// `appuser`, whose password still works.
async fn rotated_to_the_clone(setup: &Setup, root: &mut sqlx::MySqlConnection) {
    for statement in [
        format!("CREATE USER 'appuser_clone'@'%' IDENTIFIED BY '{CLONE_PASSWORD}'"),
        "GRANT SELECT, INSERT ON tutorial.* TO 'appuser_clone'@'%'".to_owned(),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
            .execute(&mut *root)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    put_value(
        setup,
        |value| {
            value["username"] = json!("appuser_clone");
            value["password"] = json!(CLONE_PASSWORD);
        },
        None,
    )
    .await;
}

#[tokio::test]
async fn what_the_master_cannot_grant_held_by_the_other_user_of_the_pair_fails() {
    // The fuzzer's false PASS: after a rotation AWSCURRENT names appuser_clone;
    // FILE given to appuser (AWSPREVIOUS) stops the next rotation in setSecret
    // (rotator::a_user_holding_what_the_rds_master_cannot_grant_stops_the_rotation_before_any_write),
    // so the audit reads the other user's grants with AWSPREVIOUS's credentials.
    let setup = provision(&Options::default()).await;
    let mut root = tests::rotation::instance_root(&setup.db_id).await;
    rotated_to_the_clone(&setup, &mut root).await;
    sqlx::query("GRANT FILE ON *.* TO 'appuser'@'%'")
        .execute(&mut root)
        .await
        .expect("grant FILE as root");
    let (inventory, findings) = Box::pin(audit(&setup)).await;
    assert_eq!(
        inventory.regions[0].grants[0].account.as_deref(),
        Some("appuser_clone@%"),
        "the audit logs in as the current user"
    );
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["db.appuser.least-privilege", "secret.rotation.admin-linked"])
    );
    for id in ["db.appuser.least-privilege", "secret.rotation.admin-linked"] {
        let finding = finding(&findings, id);
        assert!(
            finding.message.contains(
                "FILE ON *.* (user \"appuser\", the other user of the pair, named by AWSPREVIOUS)"
            ),
            "{id}: {}",
            finding.message
        );
        assert!(
            !finding.message.contains(APP_PASSWORD) && !finding.message.contains(CLONE_PASSWORD)
        );
    }

    // The other user's password no longer works: not proven (ERROR), never PASS.
    sqlx::query("REVOKE FILE ON *.* FROM 'appuser'@'%'")
        .execute(&mut root)
        .await
        .expect("revoke FILE");
    sqlx::query("ALTER USER 'appuser'@'%' IDENTIFIED BY 'SomethingElse0'")
        .execute(&mut root)
        .await
        .expect("change appuser's password");
    let (_, findings) = Box::pin(audit(&setup)).await;
    for id in ["db.appuser.least-privilege", "secret.rotation.admin-linked"] {
        let finding = finding_of(&findings, id, None);
        assert_eq!(finding.status, Status::Error, "{id}: {}", finding.message);
        assert!(
            finding
                .message
                .contains("the password AWSPREVIOUS holds for user \"appuser\" no longer works")
                && finding.message.contains("each audit adds a failed login"),
            "{id}: {}",
            finding.message
        );
    }
}

/// The secret's current value, with `change` applied, put as a new AWSCURRENT
/// (AWSPREVIOUS moves to the old one: Secrets Manager API reference,
/// PutSecretValue); `stages` instead when given.
async fn put_value(
    setup: &Setup,
    change: impl FnOnce(&mut serde_json::Value),
    stages: Option<&str>,
) -> String {
    let mut value = secret_json(setup, &setup.secret_arn).await;
    change(&mut value);
    aws_sdk_secretsmanager::Client::new(&setup.config)
        .put_secret_value()
        .secret_id(&setup.secret_arn)
        .secret_string(value.to_string())
        .set_version_stages(stages.map(|s| vec![s.to_owned()]))
        .send()
        .await
        .expect("put a value")
        .version_id()
        .expect("version id")
        .to_owned()
}

/// A secret's current value as JSON.
async fn secret_json(setup: &Setup, arn: &str) -> serde_json::Value {
    let value = aws_sdk_secretsmanager::Client::new(&setup.config)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("the value of {arn}: {e:?}"));
    serde_json::from_str(value.secret_string().expect("string")).expect("json")
}

#[tokio::test]
async fn an_awsprevious_holding_the_master_credentials_fails_least_privilege() {
    // The false PASS: AWSPREVIOUS names the master user, neither appuser nor its
    // alternate; it was dropped as "no pair".
    let setup = provision(&Options::default()).await;
    let admin = secret_json(&setup, &setup.admin_arn).await;
    let (master, master_password) = (
        admin["username"].as_str().expect("username").to_owned(),
        admin["password"].as_str().expect("password").to_owned(),
    );
    let app = secret_json(&setup, &setup.secret_arn).await;
    put_value(
        &setup,
        |v| {
            v["username"] = json!(master);
            v["password"] = json!(master_password);
        },
        None,
    )
    .await;
    put_value(&setup, |v| *v = app.clone(), None).await;
    let (inventory, findings) = Box::pin(audit(&setup)).await;
    let other = inventory.regions[0].grants[0]
        .other_user
        .as_ref()
        .expect("the other version's user is recorded");
    assert!(
        matches!(&other.rows, audit::inventory::Collected::Skipped(_)),
        "the master user is not logged in as: {other:?}"
    );
    let finding = finding(&findings, "db.appuser.least-privilege");
    assert_eq!(finding.status, Status::Fail, "{}", finding.message);
    assert!(
        finding.message.contains(&format!(
            "holds the credentials of user {master:?}, the master user (MasterUsername)"
        )),
        "{}",
        finding.message
    );
    let admin_linked = finding_of(&findings, "secret.rotation.admin-linked", None);
    assert_ne!(
        admin_linked.status,
        Status::Pass,
        "{}",
        admin_linked.message
    );
    for f in &findings {
        assert!(
            !f.message.contains(&master_password) && !f.message.contains(APP_PASSWORD),
            "{}",
            f.check_id
        );
    }
}

#[tokio::test]
async fn a_secret_host_that_is_not_the_databases_is_never_logged_in_to() {
    // Whoever may write the secret but not read it stages a new AWSCURRENT naming
    // a server of theirs; the audit must not hand it the passwords.
    let setup = provision(&Options::default()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let port = listener.local_addr().expect("address").port();
    put_value(
        &setup,
        |v| {
            v["host"] = json!("127.0.0.1");
            v["port"] = json!(port);
        },
        None,
    )
    .await;
    let (_, findings) = Box::pin(audit(&setup)).await;
    let accepted =
        tokio::time::timeout(std::time::Duration::from_millis(300), listener.accept()).await;
    assert!(
        accepted.is_err(),
        "the audit connected to the secret's foreign host"
    );
    let finding = finding_of(&findings, "db.appuser.least-privilege", None);
    assert_eq!(finding.status, Status::Error, "{}", finding.message);
    assert!(
        finding.message.contains(&format!(
            "its host \"127.0.0.1\" port {port} is not an endpoint of the audited database"
        )),
        "{}",
        finding.message
    );
    assert!(!finding.message.contains(APP_PASSWORD));
}

#[tokio::test]
async fn the_other_user_is_not_logged_in_as_after_a_rotation_cancelled_past_set_secret() {
    // A rotation set appuser's new password (setSecret), then its AWSPENDING label
    // was removed: AWSPREVIOUS's password is stale, and a login with it counts
    // toward FAILED_LOGIN_ATTEMPTS.
    let setup = provision(&Options::default()).await;
    let mut root = tests::rotation::instance_root(&setup.db_id).await;
    rotated_to_the_clone(&setup, &mut root).await;
    let pending = put_value(
        &setup,
        |v| {
            v["username"] = json!("appuser");
            v["password"] = json!("PendingPassw0rd9");
        },
        Some("AWSPENDING"),
    )
    .await;
    sqlx::query("ALTER USER 'appuser'@'%' IDENTIFIED BY 'PendingPassw0rd9'")
        .execute(&mut root)
        .await
        .expect("setSecret's password");
    aws_sdk_secretsmanager::Client::new(&setup.config)
        .update_secret_version_stage()
        .secret_id(&setup.secret_arn)
        .version_stage("AWSPENDING")
        .remove_from_version_id(&pending)
        .send()
        .await
        .expect("cancel the rotation");
    let (inventory, findings) = Box::pin(audit(&setup)).await;
    let other = inventory.regions[0].grants[0]
        .other_user
        .as_ref()
        .expect("the other user is recorded");
    assert!(
        matches!(&other.rows, audit::inventory::Collected::Skipped(why)
            if why.contains(&format!("version {pending} has no staging label and is newer than AWSCURRENT"))),
        "{other:?}"
    );
    let finding = finding_of(&findings, "db.appuser.least-privilege", None);
    assert_ne!(finding.status, Status::Pass, "{}", finding.message);
    assert!(!finding.message.contains("PendingPassw0rd9"));
}

#[tokio::test]
async fn writes_on_mysql_fail_least_privilege_even_on_a_server_in_ansi_quotes_mode() {
    // A parameter group with sql_mode ANSI (or ANSI_QUOTES) makes the server quote
    // names with `"` in SHOW GRANTS (MySQL reference manual, "Server SQL Modes":
    // ANSI_QUOTES; "Schema Object Names"); read as text, `"mysql".*` is not `mysql`,
    // and the write on the grant tables passed. The audit reads grants in a session
    // of its own mode. The instance's server stands for its parameter group here.
    let setup = provision(&Options {
        mysql_grant: Some("INSERT, UPDATE"),
        ..Options::default()
    })
    .await;
    let mut root = tests::rotation::instance_root(&setup.db_id).await;
    sqlx::query("SET GLOBAL sql_mode = 'ANSI_QUOTES'")
        .execute(&mut root)
        .await
        .expect("SET GLOBAL sql_mode");
    let (_, findings) = Box::pin(audit(&setup)).await;
    let finding = finding(&findings, "db.appuser.least-privilege");
    assert_eq!(finding.status, Status::Fail, "{}", finding.message);
    assert!(finding.message.contains("mysql"), "{}", finding.message);
    assert!(!finding.message.contains(APP_PASSWORD));
}

#[tokio::test]
async fn roles_past_the_reading_bound_leave_least_privilege_unproven() {
    // 33 roles: the audit reads 32 (a bound against huge role graphs); the 33rd
    // could hold anything, so the check is an ERROR naming the bound, not a PASS.
    let setup = provision(&Options {
        extra_roles: 33,
        ..Options::default()
    })
    .await;
    let (_, findings) = Box::pin(audit(&setup)).await;
    let finding = findings
        .iter()
        .find(|f| f.check_id == "db.appuser.least-privilege")
        .expect("a least-privilege finding");
    assert_eq!(finding.status, Status::Error, "{}", finding.message);
    assert!(
        finding
            .message
            .contains("the audit reads the grants of at most 32 roles per user"),
        "{}",
        finding.message
    );
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

#[tokio::test]
async fn a_secret_readable_by_anyone_or_another_account_fails() {
    let setup = provision(&Options::default()).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&setup.config);
    for (principal, expected) in [
        (json!("*"), "Principal * (public)"),
        (
            json!({"AWS": "arn:aws:iam::999999999999:root"}),
            "outside account",
        ),
    ] {
        let policy = json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "Shared", "Effect": "Allow", "Principal": principal,
            "Action": "secretsmanager:GetSecretValue", "Resource": "*"
        }]});
        secrets
            .put_resource_policy()
            .secret_id(&setup.secret_name)
            .resource_policy(policy.to_string())
            .send()
            .await
            .expect("put resource policy");
        let (_, findings) = audit(&setup).await;
        assert_eq!(
            failing(&findings),
            BTreeSet::from(["secret.policy.not-public"])
        );
        let finding = finding(&findings, "secret.policy.not-public");
        assert!(
            finding.message.contains(expected) && finding.message.contains(&setup.secret_name),
            "{}",
            finding.message
        );
    }
}

#[tokio::test]
async fn endpoints_the_function_cannot_reach_fail() {
    // HTTPS admitted from the public subnet only, not the function's subnets.
    let setup = provision(&Options {
        endpoint_https_from: "10.0.0.0/24",
        ..Options::default()
    })
    .await;
    let (_, findings) = audit(&setup).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["vpc.endpoint.secretsmanager", "vpc.endpoint.rds"])
    );
    let finding = finding(&findings, "vpc.endpoint.secretsmanager");
    assert!(
        finding.message.contains("admit no HTTPS") && finding.message.contains(&setup.function),
        "{}",
        finding.message
    );
}

/// AWS's data-perimeter endpoint policy (aws-samples/data-perimeter-policy-examples,
/// `vpc_endpoint_policies/default_endpoint_policy.json`) allows on
/// `aws:PrincipalOrgID` and `aws:ResourceOrgID`: the audit reads the account's
/// organisation (`organizations:DescribeOrganization`, moto implements it) and
/// decides the policy instead of giving an ERROR. First the account is in no
/// organisation: the pin FAILs both checks, and a Deny on `StringNotEquals` a
/// missing key applies, as IAM decides it. Then it creates one (an emulator of
/// this test's own, as an organisation is global to its account): its own id
/// PASSes, another's FAILs.
#[tokio::test]
#[allow(clippy::too_many_lines)] // one scenario, before and after the organisation
async fn a_data_perimeter_endpoint_policy_is_decided_by_the_accounts_organisation() {
    tests::emulator_of_own("data-perimeter");
    let setup = Box::pin(provision(&Options::default())).await;
    let (inventory, _) = audit(&setup).await;
    assert_eq!(
        inventory.metadata.organization_id,
        audit::inventory::Collected::Ok(None),
        "the account is in no organisation yet"
    );
    let audit::inventory::Collected::Ok(endpoints) = &inventory.regions[0].endpoints else {
        panic!("the endpoints were not read");
    };
    let endpoint = endpoints
        .iter()
        .find(|e| e.service_name.ends_with(".secretsmanager"))
        .expect("the Secrets Manager endpoint")
        .id
        .clone();
    let ec2 = aws_sdk_ec2::Client::new(&setup.config);
    let audit_with = |statements: serde_json::Value| {
        let (ec2, endpoint, setup) = (ec2.clone(), endpoint.clone(), &setup);
        async move {
            ec2.modify_vpc_endpoint()
                .vpc_endpoint_id(&endpoint)
                .policy_document(
                    json!({"Version": "2012-10-17", "Statement": statements}).to_string(),
                )
                .send()
                .await
                .expect("ModifyVpcEndpoint with a policy");
            audit(setup).await
        }
    };
    let perimeter = |id: &str| {
        json!([{"Sid": "AllowRequestsByOrgsIdentitiesToOrgsResources", "Effect": "Allow",
            "Principal": "*", "Action": "*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": id, "aws:ResourceOrgID": id}}}])
    };
    let not_allowed = "its endpoint policy does not allow secretsmanager:GetSecretValue";

    // In no organisation: no organisation's pin admits the rotation's calls.
    let (_, findings) = audit_with(perimeter("o-another9999")).await;
    let calls = finding(&findings, "vpc.endpoint.secretsmanager");
    assert!(calls.message.contains(not_allowed), "{}", calls.message);
    let boundary = finding(&findings, "vpc.endpoint-policy.secretsmanager");
    assert!(
        boundary.message.contains("is in no organisation"),
        "{}",
        boundary.message
    );
    let (_, findings) = audit_with(json!([
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-another9999"}}}
    ]))
    .await;
    let denied = finding(&findings, "vpc.endpoint.secretsmanager");
    assert!(
        denied
            .message
            .contains("statement 2 denies secretsmanager:"),
        "{}",
        denied.message
    );

    // In an organisation of its own: its id admits the calls, another's does not.
    let created = aws_sdk_organizations::Client::new(&setup.config)
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("create the account's organisation");
    let id = created
        .organization()
        .and_then(|o| o.id())
        .expect("the organisation's id")
        .to_owned();
    let (inventory, findings) = audit_with(perimeter(&id)).await;
    assert_eq!(
        inventory.metadata.organization_id,
        audit::inventory::Collected::Ok(Some(id.clone()))
    );
    let passed = |check: &str| {
        findings
            .iter()
            .find(|f| f.check_id == check)
            .filter(|f| f.status == Status::Pass)
            .unwrap_or_else(|| panic!("{check} does not pass: {findings:#?}"))
    };
    passed("vpc.endpoint.secretsmanager");
    let own = passed("vpc.endpoint-policy.secretsmanager");
    assert!(
        own.message.contains(&format!(
            "admits the accounts of organisation {id} (this account's)"
        )),
        "{}",
        own.message
    );
    let (_, findings) = audit_with(perimeter("o-another9999")).await;
    let calls = finding(&findings, "vpc.endpoint.secretsmanager");
    assert!(calls.message.contains(not_allowed), "{}", calls.message);
    let boundary = finding(&findings, "vpc.endpoint-policy.secretsmanager");
    assert!(
        boundary.message.contains(&format!(
            "not account {}'s organisation {id}",
            tests::ACCOUNT_ID
        )),
        "{}",
        boundary.message
    );
}

#[tokio::test]
async fn a_network_acl_denying_https_fails_the_endpoints_naming_acl_and_rule() {
    let setup = provision(&Options {
        acl_denies_https: true,
        ..Options::default()
    })
    .await;
    let (inventory, findings) = audit(&setup).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["vpc.endpoint.secretsmanager", "vpc.endpoint.rds"])
    );
    let acl = setup.denying_acl.as_deref().expect("the ACL");
    for id in ["vpc.endpoint.secretsmanager", "vpc.endpoint.rds"] {
        let message = &finding(&findings, id).message;
        assert!(
            message.contains(&format!("network ACL {acl} of subnet"))
                && message.contains("denies TCP 443 out to")
                && message.contains("(rule 90)"),
            "{message}"
        );
    }
    assert_eq!(
        inventory.metadata.calls.get("ec2:DescribeNetworkAcls"),
        Some(&1)
    );
}

#[tokio::test]
async fn a_role_that_cannot_read_the_masterarn_secret_fails_naming_it() {
    let setup = provision(&Options {
        role_without_admin_read: true,
        ..Options::default()
    })
    .await;
    let (inventory, findings) = audit(&setup).await;
    assert_eq!(
        failing(&findings),
        BTreeSet::from(["secret.rotation.function-role"])
    );
    let message = &finding(&findings, "secret.rotation.function-role").message;
    assert!(
        message.contains(&format!(
            "no statement allows secretsmanager:GetSecretValue on {} (the masterarn secret",
            setup.admin_arn
        )),
        "{message}"
    );
    // The policy documents are evidence: a saved inventory judges the same.
    let saved = serde_json::to_string(&inventory).expect("save");
    let loaded: Inventory = serde_json::from_str(&saved).expect("load");
    assert_eq!(audit::evaluate(&loaded, &Policy::default()), findings);
}

#[tokio::test]
async fn select_held_through_a_default_role_passes_and_a_granted_role_alone_does_not() {
    // Partial revokes (MySQL 8) are not here: the emulator's servers are MariaDB,
    // which has none; the audit crate's unit tests cover them on captured rows.
    let setup = provision(&Options {
        grant: "USAGE",
        select_role: Some(true),
        ..Options::default()
    })
    .await;
    let (inventory, findings) = audit(&setup).await;
    assert!(failing(&findings).is_empty(), "{findings:#?}");
    let rows = inventory.regions[0].grants[0]
        .rows
        .ok()
        .expect("grant rows");
    assert!(
        rows.iter()
            .any(|r| r.contains("SELECT ON `tutorial`.* TO `reader`")),
        "the role's grants were read: {rows:?}"
    );

    let setup = provision(&Options {
        grant: "USAGE",
        select_role: Some(false),
        ..Options::default()
    })
    .await;
    let (_, findings) = audit(&setup).await;
    assert_eq!(failing(&findings), BTreeSet::from(["db.appuser.select"]));
}

#[tokio::test]
async fn a_secret_without_ssl_is_read_over_verified_tls_only() {
    let setup = provision(&Options {
        ssl_key: false,
        ..Options::default()
    })
    .await;
    // Verified against the emulator's CA: logs in over TLS.
    let (inventory, findings) = audit(&setup).await;
    assert!(failing(&findings).is_empty(), "{findings:#?}");
    let grants = &inventory.regions[0].grants[0];
    assert!(
        grants.tls.as_deref().is_some_and(|t| t.starts_with("TLS")),
        "{grants:?}"
    );
    assert!(!inventory.metadata.insecure_db_tls);

    // A CA bundle without the emulator's CA: no login, and the finding says why.
    let mut wrong_ca = request(&setup, true);
    wrong_ca.db_ca_bundle = Some("/etc/ssl/certs/ca-certificates.crt".into());
    let inventory = audit::collect(std::slice::from_ref(&setup.config), &wrong_ca).await;
    let grants = &inventory.regions[0].grants[0];
    assert_eq!(grants.account, None, "it must not log in: {grants:?}");
    let findings = audit::evaluate(&inventory, &Policy::default());
    let select = findings
        .iter()
        .find(|f| f.check_id == "db.appuser.select")
        .expect("select finding");
    assert_eq!(select.status, Status::Error, "{select:#?}");
    assert!(
        select.message.contains("logging in as \"appuser\"")
            && select.message.to_lowercase().contains("certificate"),
        "{}",
        select.message
    );
    assert!(!select.message.contains(APP_PASSWORD));

    // --insecure-db-tls logs in without verifying, and every report says so.
    wrong_ca.policy.insecure_db_tls = true;
    let inventory = audit::collect(std::slice::from_ref(&setup.config), &wrong_ca).await;
    assert!(inventory.metadata.insecure_db_tls);
    assert!(inventory.regions[0].grants[0].account.is_some());
    let report = audit::Report::new(&inventory, audit::evaluate(&inventory, &Policy::default()));
    assert!(report.scope.insecure_db_tls);
    assert!(
        report
            .render(audit::Format::Table)
            .contains("--insecure-db-tls"),
        "the table warns"
    );
    let json: serde_json::Value =
        serde_json::from_str(&report.render(audit::Format::Json)).expect("JSON report");
    assert_eq!(json["scope"]["insecure_db_tls"], true, "{json}");
}

/// A `--discover` run of the region (the default policy, no names given).
fn discover_request(setup: &Setup, read_secrets: bool) -> CollectRequest {
    let mut request = request(setup, read_secrets);
    let policy = Policy::default();
    request.scope = Scope {
        regions: vec!["us-east-1".to_owned()],
        vpc_id: None,
        secret_ids: policy.secret_ids.clone(),
        all_secrets: false,
        db_instance_id: policy.db_instance_id,
        read_secrets,
        discover: true,
    };
    request
}

/// The findings of one setup, by the secret it was found by.
fn of_setup<'a>(findings: &'a [Finding], setup: &Setup) -> Vec<&'a Finding> {
    findings
        .iter()
        .filter(|f| f.setup.as_deref() == Some(setup.secret_name.as_str()))
        .collect()
}

#[tokio::test]
async fn discover_finds_setups_whatever_their_names_and_checks_each() {
    let options = Options::default();
    let (good, bad) = tokio::join!(Box::pin(provision(&options)), Box::pin(provision(&options)));
    // None of the names is the tutorial's (the bastion keeps the policy's name).
    for setup in [&good, &bad] {
        assert_ne!(setup.secret_name, audit::policy::TUTORIAL_SECRET);
        assert_ne!(setup.db_id, audit::policy::TUTORIAL_DB_INSTANCE);
    }
    let ec2 = aws_sdk_ec2::Client::new(&bad.config);
    ec2.authorize_security_group_ingress()
        .group_id(&bad.db_sg)
        .ip_permissions(cidr_permission("tcp", 22, 22, "0.0.0.0/0"))
        .send()
        .await
        .expect("ssh from anywhere on the database's group");

    // By the tutorial's names, neither setup is audited.
    let mut by_names = request(&good, true);
    by_names.scope.vpc_id = None;
    by_names.scope.secret_ids = Policy::default().secret_ids;
    by_names.scope.db_instance_id = Policy::default().db_instance_id;
    let inventory = audit::collect(std::slice::from_ref(&good.config), &by_names).await;
    let findings = audit::evaluate(&inventory, &Policy::default());
    for setup in [&good, &bad] {
        assert!(of_setup(&findings, setup).is_empty());
        assert!(
            !findings
                .iter()
                .any(|f| f.message.contains(&setup.secret_name)
                    || f.resource.contains(&setup.secret_name)
                    || f.resource.contains(&setup.db_id)),
            "{findings:#?}"
        );
    }

    // With --discover both are found from their secrets, and checked in full.
    let inventory = audit::collect(
        std::slice::from_ref(&good.config),
        &discover_request(&good, true),
    )
    .await;
    let findings = audit::evaluate(&inventory, &Policy::default());
    for setup in [&good, &bad] {
        let part = inventory
            .regions
            .iter()
            .find(|r| {
                r.discovered
                    .as_ref()
                    .is_some_and(|d| d.secret_name == setup.secret_name)
            })
            .unwrap_or_else(|| panic!("{} not discovered", setup.secret_name));
        let discovered = part.discovered.as_ref().expect("discovered");
        assert_eq!(discovered.function_arn, setup.function_arn);
        assert_eq!(
            discovered.scope.vpc_id.as_deref(),
            Some(setup.vpc_id.as_str())
        );
        assert_eq!(discovered.scope.db_instance_id, setup.db_id);
        assert!(
            discovered.database.contains("aws:rds:primaryDBInstanceArn"),
            "{}",
            discovered.database
        );
    }
    let good_findings = of_setup(&findings, &good);
    let not_passing: Vec<_> = good_findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .collect();
    assert!(not_passing.is_empty(), "{not_passing:#?}");
    let ids: BTreeSet<&str> = good_findings.iter().map(|f| f.check_id.as_str()).collect();
    // Every check of a setup, the rotation role's included, judged and passed.
    assert_eq!(ids.len(), 28, "{ids:?}");
    assert!(ids.contains("secret.rotation.function-role"), "{ids:?}");
    let bad_findings: Vec<Finding> = of_setup(&findings, &bad).into_iter().cloned().collect();
    assert_eq!(
        failing(&bad_findings),
        BTreeSet::from(["ec2.ssh.restricted"])
    );
    assert!(
        finding(&bad_findings, "ec2.ssh.restricted")
            .resource
            .ends_with(&bad.db_sg)
    );

    // A saved --discover inventory is evidence too: the same findings, offline.
    let saved = serde_json::to_string(&inventory).expect("save");
    assert!(!saved.contains(APP_PASSWORD));
    let loaded: Inventory = serde_json::from_str(&saved).expect("load");
    assert_eq!(audit::evaluate(&loaded, &Policy::default()), findings);

    discover_from_the_command_line(&good, &bad).await;

    // Without --read-secrets the database cannot be named: its checks skip, saying why.
    let inventory = audit::collect(
        std::slice::from_ref(&good.config),
        &discover_request(&good, false),
    )
    .await;
    let findings = audit::evaluate(&inventory, &Policy::default());
    let good_findings = of_setup(&findings, &good);
    assert!(!good_findings.is_empty());
    let skipped: Vec<_> = good_findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .collect();
    assert!(
        skipped
            .iter()
            .all(|f| f.status == Status::Skip && f.message.contains("--read-secrets")),
        "{skipped:#?}"
    );
    assert!(skipped.iter().any(|f| f.check_id == "rds.not-public"));
    assert_eq!(
        inventory
            .metadata
            .calls
            .get("secretsmanager:GetSecretValue"),
        None
    );
}

/// The audit binary run against the emulator (its endpoint, region and credentials,
/// no profile, no `AUDIT_FORMAT`), with stdin closed.
pub(crate) fn audit_against(
    binary: &Path,
    state: &xtask::emulator::EmulatorState,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary);
    command
        .env("AWS_ENDPOINT_URL", &state.endpoint_url)
        .env("AWS_REGION", &state.region)
        .env("AWS_ACCESS_KEY_ID", &state.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &state.secret_access_key)
        .env_remove("AWS_PROFILE")
        .env_remove("AUDIT_FORMAT")
        .stdin(std::process::Stdio::null());
    command
}

/// The audit binary (`cargo xtask test` builds it before the tests run) and a new
/// scratch directory for one test's files.
pub(crate) fn audit_binary_and_scratch_dir(
    prefix: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let binary = xtask::paths::target_dir().join("debug").join("audit");
    assert!(
        binary.is_file(),
        "{} is not built: run `cargo build -p audit` first (`cargo xtask test` does)",
        binary.display()
    );
    let dir = xtask::paths::target_dir()
        .join("audit-tests")
        .join(unique_name(prefix));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    (binary, dir)
}

/// `audit --discover --save-inventory`, then `audit --from-inventory`: the same
/// findings, each setup named by its secret. `cargo xtask test` builds the binary
/// before the tests run.
async fn discover_from_the_command_line(good: &Setup, bad: &Setup) {
    let (binary, dir) = audit_binary_and_scratch_dir("discover");
    let state = tests::emulator();
    let run = |args: Vec<std::ffi::OsString>| audit_against(&binary, state).args(args).output();
    let (inventory, live, offline) = (
        dir.join("inventory.json"),
        dir.join("live.json"),
        dir.join("offline.json"),
    );
    let output = run(vec![
        "--discover".into(),
        "--read-secrets".into(),
        "--db-ca-bundle".into(),
        state.ca_file.clone().into(),
        "--format".into(),
        "json".into(),
        "--save-inventory".into(),
        inventory.clone().into(),
        "--output".into(),
        live.clone().into(),
    ])
    .await
    .expect("run audit --discover");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&good.secret_name) && stderr.contains(&bad.secret_name),
        "{stderr}"
    );
    assert!(!stderr.contains(APP_PASSWORD));
    let output = run(vec![
        "--from-inventory".into(),
        inventory.into(),
        "--format".into(),
        "json".into(),
        "--output".into(),
        offline.clone().into(),
    ])
    .await
    .expect("run audit --from-inventory");
    assert_ne!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let findings = |path: &Path| -> serde_json::Value {
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("report")).expect("json");
        report["findings"].clone()
    };
    let (live, offline) = (findings(&live), findings(&offline));
    assert_eq!(live, offline);
    let failing_of = |setup: &Setup| -> BTreeSet<String> {
        live.as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["setup"] == setup.secret_name.as_str() && f["status"] != "PASS")
            .map(|f| f["check_id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(failing_of(good), BTreeSet::new());
    assert_eq!(
        failing_of(bad),
        BTreeSet::from(["ec2.ssh.restricted".to_owned()])
    );
}

/// FSBP SecretsManager.1 through `--discover`: a database credential with rotation
/// off is a setup whose rotation check fails; a secret that is no database
/// credential (an API key) is excluded and listed with the reason; with
/// `--all-secrets` every secret is checked once.
#[tokio::test]
async fn discover_recognises_database_credentials_whatever_their_rotation() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let create = |name: String, value: serde_json::Value| {
        let secrets = secrets.clone();
        async move {
            let created = secrets
                .create_secret()
                .name(&name)
                .secret_string(value.to_string())
                .send()
                .await
                .unwrap_or_else(|e| panic!("create secret {name}: {e:?}"));
            (name, created.arn().unwrap_or_default().to_owned())
        }
    };
    let (database, database_arn) = create(
        unique_name("unrotated-db"),
        json!({
            "engine": "mysql",
            "host": "unrotated.example.internal",
            "port": 3306,
            "username": "app",
            "password": APP_PASSWORD,
        }),
    )
    .await;
    let (api_key, api_key_arn) =
        create(unique_name("api-key"), json!({ "api_key": APP_PASSWORD })).await;
    let mut request = scoped_request("", true, true);
    let inventory = audit::collect(std::slice::from_ref(&config), &request).await;
    let findings = audit::evaluate(&inventory, &Policy::default());

    // The database credential is a setup although its rotation is off, and fails
    // the rotation check (FSBP SecretsManager.1).
    let part = inventory
        .regions
        .iter()
        .find(|r| {
            r.discovered
                .as_ref()
                .is_some_and(|d| d.secret_arn == database_arn)
        })
        .unwrap_or_else(|| panic!("{database} not discovered: {:#?}", inventory.excluded));
    let reason = &part.discovered.as_ref().expect("discovered").reason;
    assert!(reason.contains("rotation is off"), "{reason}");
    let schedule = findings
        .iter()
        .find(|f| f.check_id == "secret.rotation.schedule" && f.resource == database_arn)
        .expect("the rotation check of the unrotated database secret");
    assert_eq!(schedule.status, Status::Fail, "{schedule:#?}");
    assert!(
        schedule
            .compliance
            .contains(&"AWS-FSBP:SecretsManager.1".to_owned())
    );

    // The API key is excluded, with its reason, in the inventory and the report.
    let excluded = inventory
        .excluded
        .iter()
        .find(|e| e.secret_arn == api_key_arn)
        .unwrap_or_else(|| panic!("{api_key} not listed as excluded"));
    assert!(
        excluded.reason.contains("not a database credential"),
        "{excluded:?}"
    );
    assert!(!findings.iter().any(|f| f.resource == api_key_arn));
    let report = audit::Report::new(&inventory, findings);
    let table = report.render(audit::Format::Table);
    assert!(
        table.contains(&format!("excluded: {api_key_arn}")),
        "{table}"
    );
    for text in [&table, &report.render(audit::Format::Json)] {
        assert!(!text.contains(APP_PASSWORD));
    }
    let json: serde_json::Value =
        serde_json::from_str(&report.render(audit::Format::Json)).expect("JSON report");
    assert!(
        json["excluded"]
            .as_array()
            .expect("excluded")
            .iter()
            .any(|e| e["secret_arn"] == api_key_arn.as_str()),
        "{json}"
    );

    // With --all-secrets too: every secret is checked once, the API key's
    // rotation failing, the database secret's in its own setup only.
    request.scope.all_secrets = true;
    let inventory = audit::collect(std::slice::from_ref(&config), &request).await;
    let findings = audit::evaluate(&inventory, &Policy::default());
    for arn in [&database_arn, &api_key_arn] {
        let schedules: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.check_id == "secret.rotation.schedule" && &f.resource == arn)
            .collect();
        assert_eq!(schedules.len(), 1, "{arn}: {schedules:#?}");
        assert_eq!(schedules[0].status, Status::Fail, "{schedules:#?}");
    }
    assert!(
        inventory
            .excluded
            .iter()
            .any(|e| e.secret_arn == api_key_arn)
    );
}

/// `audit --mutelist`: an accepted exception (SSH from a second address, with a
/// reason and a date) is shown as MUTED and no longer fails the run; the same entry
/// expired mutes nothing and says so; an entry matching nothing is named as unused;
/// a bad file is a usage error before anything is read. Run through the binary, on
/// the inventory of a live setup.
#[tokio::test]
async fn a_mutelist_accepts_a_finding_until_its_date_and_names_stale_entries() {
    let setup = Box::pin(provision(&Options::default())).await;
    let ec2 = aws_sdk_ec2::Client::new(&setup.config);
    ec2.authorize_security_group_ingress()
        .group_id(&setup.bastion_sg)
        .ip_permissions(cidr_permission("tcp", 22, 22, "198.51.100.8/32"))
        .send()
        .await
        .expect("a second address");
    // The application secret tagged as an approved exception (TagResource).
    aws_sdk_secretsmanager::Client::new(&setup.config)
        .tag_resource()
        .secret_id(&setup.secret_arn)
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("exception")
                .value("SEC-9")
                .build(),
        )
        .send()
        .await
        .expect("tag the secret");
    let (inventory, findings) = audit(&setup).await;
    assert_eq!(failing(&findings), BTreeSet::from(["ec2.ssh.restricted"]));

    let (binary, dir) = audit_binary_and_scratch_dir("mutelist");
    let saved = dir.join("inventory.json");
    std::fs::write(&saved, serde_json::to_string(&inventory).expect("json")).expect("save");
    let run_with = |list: &str, format: &str, extra: &[&str]| {
        let path = dir.join(unique_name("mutelist"));
        std::fs::write(&path, list).expect("mutelist");
        std::process::Command::new(&binary)
            .args(["--from-inventory".as_ref(), saved.as_os_str()])
            .args(["--mutelist".as_ref(), path.as_os_str()])
            .args(["--format", format])
            .args(extra)
            .env_remove("AUDIT_FORMAT")
            .output()
            .expect("run audit")
    };
    let run = |list: &str, format: &str| run_with(list, format, &[]);
    let entry = |expires: &str| {
        format!(
            "[[mute]]\nreason = \"second office until the VPN (SEC-1)\"\nexpires = {expires}\nchecks = [\"ec2.ssh.*\"]\nresources = [\"*{}*\"]\n",
            setup.bastion_sg
        )
    };
    let unused = "[[mute]]\nreason = \"DNS exception\"\nexpires = 2099-01-01\nchecks = [\"vpc.dns\"]\nregions = [\"ap-south-2\"]\n";

    // Live: MUTED, its status and evidence kept, the run passes.
    let output = run(&format!("{}{unused}", entry("2099-12-31")), "json");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let ssh: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check_id"] == "ec2.ssh.restricted" && f["status"] == "FAIL")
        .collect();
    assert_eq!(ssh.len(), 1, "the bastion's group");
    assert_eq!(ssh[0]["status"], "FAIL", "the evidence stays");
    assert_eq!(ssh[0]["muted"]["expires"], "2099-12-31");
    assert_eq!(report["summary"]["fail"], 0);
    assert_eq!(report["summary"]["muted"], 1);
    assert!(
        stderr.contains("mutelist entry 2 (DNS exception) mutes no finding"),
        "{stderr}"
    );
    let table = run(&entry("2099-12-31"), "table");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("MUTED") && text.contains("second office until the VPN (SEC-1)"),
        "{text}"
    );

    muted_by_tag_and_listed_alone(&run_with, &entry("2099-12-31"), &setup.secret_arn);

    // Expired: the finding fails the run again, and the entry says it expired;
    // `--status FAIL` lists it alone, and the exit status is the run's.
    let output = run_with(&entry("2020-01-31"), "json", &["--status", "fail"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("expired on 2020-01-31"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["summary"]["fail"], 1);
    let statuses: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["status"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(statuses, ["FAIL"]);
    let output = run_with(&entry("2020-01-31"), "json", &["--status", "PASS"]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "a failure not listed still decides the exit status"
    );

    // A bad file: a usage error naming the entry, no report.
    let output = run(
        "[[mute]]\nreason = \"\"\nexpires = 2099-01-01\nchecks = [\"ec2.ssh.*\"]\n",
        "json",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("[[mute]] entry 1: `reason` is empty"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

/// By tag: every finding on the tagged secret is muted by the tag entry; with
/// `--status MUTED` only the muted findings are listed, and every one is counted.
fn muted_by_tag_and_listed_alone(
    run_with: &dyn Fn(&str, &str, &[&str]) -> std::process::Output,
    live_entry: &str,
    secret_arn: &str,
) {
    let by_tag = "[[mute]]\nreason = \"approved exception\"\nexpires = 2099-12-31\nchecks = [\"secret.*\"]\ntags = [\"exception=SEC-*\"]\n";
    let output = run_with(
        &format!("{live_entry}{by_tag}"),
        "json",
        &["--status", "MUTED"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let listed = report["findings"].as_array().expect("findings");
    assert!(listed.iter().all(|f| f["muted"].is_object()), "{report:#}");
    let on_secret: Vec<&serde_json::Value> = listed
        .iter()
        .filter(|f| f["resource"] == secret_arn)
        .collect();
    assert!(
        !on_secret.is_empty(),
        "the tagged secret's findings: {report:#}"
    );
    assert!(on_secret.iter().all(|f| f["muted"]["entry"] == 2));
    // The tag the audited account set is named as what muted them.
    assert!(
        on_secret
            .iter()
            .all(|f| f["muted"]["matched_by"] == "tag exception=SEC-9"),
        "{on_secret:#?}"
    );
    // Standard error says what --status left out, and still lists every skipped check.
    let left_out = report["summary"]["pass"].as_u64().unwrap_or_default()
        + report["summary"]["fail"].as_u64().unwrap_or_default()
        + report["summary"]["error"].as_u64().unwrap_or_default()
        + report["summary"]["skip"].as_u64().unwrap_or_default();
    assert!(
        stderr.contains(&format!(
            "audit: --status left out {left_out} findings (PASS, FAIL, ERROR, SKIP)"
        )),
        "{stderr}"
    );
    if report["summary"]["skip"].as_u64().is_some_and(|n| n > 0) {
        assert!(stderr.contains("audit: skipped "), "{stderr}");
    }
    assert_eq!(report["listed"], serde_json::json!(["MUTED"]));
    assert_eq!(
        report["summary"]["muted"].as_u64(),
        Some(listed.len() as u64),
        "every muted finding listed"
    );
    assert!(
        report["summary"]["pass"].as_u64().is_some_and(|n| n > 0),
        "the unlisted PASS findings still counted"
    );
}

/// A function in another VPC than its database's (no peering) cannot reach it:
/// the function check names both VPCs.
#[tokio::test]
async fn a_function_in_another_vpc_than_its_database_fails_naming_both() {
    let setup = provision(&Options::default()).await;
    let ec2 = aws_sdk_ec2::Client::new(&setup.config);
    let other = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .expect("create vpc");
    let other_vpc = other
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_owned();
    let subnet = tests::eventually(|| {
        ec2.create_subnet()
            .vpc_id(&other_vpc)
            .cidr_block("10.9.1.0/24")
            .availability_zone("us-east-1a")
            .send()
    })
    .await
    .expect("create subnet");
    let subnet_id = subnet
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("subnet id")
        .to_owned();
    let group = tests::eventually(|| {
        ec2.create_security_group()
            .group_name(unique_name("elsewhere"))
            .description("another VPC")
            .vpc_id(&other_vpc)
            .send()
    })
    .await
    .expect("create group");
    let group_id = group.group_id().expect("group id").to_owned();
    let lambda = aws_sdk_lambda::Client::new(&setup.config);
    // The provisioning's own update may still be in progress (Lambda answers
    // ResourceConflictException meanwhile): try again for a while.
    let mut attempts = 0;
    loop {
        let moved = lambda
            .update_function_configuration()
            .function_name(&setup.function)
            .vpc_config(
                aws_sdk_lambda::types::VpcConfig::builder()
                    .subnet_ids(&subnet_id)
                    .security_group_ids(&group_id)
                    .build(),
            )
            .send()
            .await;
        match moved {
            Ok(_) => break,
            Err(error) if attempts < 60 && error.as_service_error().is_some_and(aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationError::is_resource_conflict_exception) => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(error) => panic!("move the function: {error:?}"),
        }
    }
    let (_, findings) = audit(&setup).await;
    let function = finding(&findings, "secret.rotation.function");
    assert!(
        function.message.contains(&format!(
            "it runs in {other_vpc} but database {} is in {}, with no active peering connection",
            setup.db_id, setup.vpc_id
        )),
        "{}",
        function.message
    );
    // Peered, the database is not the fault (the function is still outside the
    // audited VPC, which the check names on its own).
    let peering = ec2
        .create_vpc_peering_connection()
        .vpc_id(&other_vpc)
        .peer_vpc_id(&setup.vpc_id)
        .send()
        .await
        .expect("request peering");
    let peering_id = peering
        .vpc_peering_connection()
        .and_then(|p| p.vpc_peering_connection_id())
        .expect("peering id")
        .to_owned();
    ec2.accept_vpc_peering_connection()
        .vpc_peering_connection_id(&peering_id)
        .send()
        .await
        .expect("accept peering");
    let (_, findings) = audit(&setup).await;
    let function = finding(&findings, "secret.rotation.function");
    assert!(
        !function.message.contains("no active peering"),
        "{}",
        function.message
    );
}

/// A service principal acts for whichever account asks it: without
/// aws:SourceAccount or aws:SourceArn the secret's policy fails; an
/// organisation's principals (aws:PrincipalOrgID) are not the public, but an
/// organisation the account is not in is outside it (this emulator's account is
/// in none; the account's own organisation PASSes in
/// `a_data_perimeter_endpoint_policy_is_decided_by_the_accounts_organisation`).
#[tokio::test]
async fn a_secret_shared_with_a_service_for_any_account_fails_and_an_organisation_is_not_public() {
    let setup = provision(&Options::default()).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&setup.config);
    let statement = |principal: serde_json::Value, condition: serde_json::Value| {
        json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "Shared", "Effect": "Allow", "Principal": principal,
            "Action": "secretsmanager:GetSecretValue", "Resource": "*", "Condition": condition
        }]})
    };
    let service = json!({"Service": "lambda.amazonaws.com"});
    for (policy, fails, expected) in [
        (
            statement(service.clone(), json!({})),
            true,
            "confused deputy",
        ),
        (
            statement(
                service,
                json!({"StringEquals": {"aws:SourceAccount": tests::ACCOUNT_ID}}),
            ),
            false,
            "allows only principals of account",
        ),
        (
            statement(
                json!("*"),
                json!({"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
            ),
            true,
            "organisation o-a1b2c3d4e5 (aws:PrincipalOrgID), and account",
        ),
    ] {
        secrets
            .put_resource_policy()
            .secret_id(&setup.secret_name)
            .resource_policy(policy.to_string())
            .send()
            .await
            .expect("put resource policy");
        let (_, findings) = audit(&setup).await;
        let judged = findings
            .iter()
            .find(|f| f.check_id == "secret.policy.not-public")
            .expect("policy finding");
        assert_eq!(
            judged.status == Status::Fail,
            fails,
            "{policy}: {}",
            judged.message
        );
        assert!(judged.message.contains(expected), "{}", judged.message);
        assert!(!judged.message.contains("(public)"), "{}", judged.message);
    }
}

/// Replaces the Resource of the rotation role's statement `sid`.
async fn set_role_statement_resource(setup: &Setup, sid: &str, resource: &str) {
    let iam = aws_sdk_iam::Client::new(&setup.config);
    let role = setup.role_arn.rsplit('/').next().expect("role name");
    let current = iam
        .get_role_policy()
        .role_name(role)
        .policy_name("rotation")
        .send()
        .await
        .expect("get the rotation policy");
    let mut policy: serde_json::Value = serde_json::from_str(
        &audit::iam_eval::decode_policy_document(current.policy_document()),
    )
    .expect("policy JSON");
    for statement in policy["Statement"].as_array_mut().expect("statements") {
        if statement["Sid"] == sid {
            statement["Resource"] = json!(resource);
        }
    }
    iam.put_role_policy()
        .role_name(role)
        .policy_name("rotation")
        .policy_document(policy.to_string())
        .send()
        .await
        .expect("put the rotation policy");
}

/// IAM matches a `*` inside an ARN segment within that segment only, and a
/// policy variable by the caller's context: the role check neither lets the
/// first cross `secret:` nor guesses the second.
#[tokio::test]
async fn arn_wildcards_stay_in_their_segment_and_policy_variables_are_not_proven() {
    let setup = provision(&Options::default()).await;
    let account = tests::ACCOUNT_ID;
    // `*rds!db*` would need its first `*` to swallow `secret:`: IAM does not.
    set_role_statement_resource(
        &setup,
        "ReadTheAdminSecret",
        &format!("arn:aws:secretsmanager:us-east-1:{account}:*rds!db*"),
    )
    .await;
    let (_, findings) = audit(&setup).await;
    let role = finding(&findings, "secret.rotation.function-role");
    assert!(role.message.contains(&setup.admin_arn), "{}", role.message);
    // `${aws:PrincipalTag/...}` names what the caller's tags make it: not proven.
    set_role_statement_resource(
        &setup,
        "ReadTheAdminSecret",
        &format!("arn:aws:secretsmanager:us-east-1:{account}:secret:${{aws:PrincipalTag/admin}}*"),
    )
    .await;
    let (_, findings) = audit(&setup).await;
    let role = findings
        .iter()
        .find(|f| f.check_id == "secret.rotation.function-role")
        .expect("role finding");
    assert_eq!(role.status, Status::Error, "{}", role.message);
    assert!(role.message.contains("policy variable"), "{}", role.message);
}

/// Rotates `secret` by the setup's function on `schedule` (in a 2-hour window),
/// and waits for the configuration test that starts to end.
async fn rotate_on_schedule(setup: &Setup, secret: &str, schedule: &str) {
    aws_sdk_secretsmanager::Client::new(&setup.config)
        .rotate_secret()
        .secret_id(secret)
        .rotation_lambda_arn(&setup.function_arn)
        .rotation_rules(
            RotationRulesType::builder()
                .schedule_expression(schedule)
                .duration("2h")
                .build(),
        )
        .rotate_immediately(false)
        .send()
        .await
        .expect("configure rotation");
    tests::wait_for_rotations_to_end(secret).await;
}

/// A cron whose year field ends this year would stop rotating, but Secrets
/// Manager takes no year other than `*` ("Must be *", user guide, "Rotation
/// schedules",
/// https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html):
/// the schedule is refused and the setup, still compliant, keeps its own. (The
/// audit's reading of such a cron, from an inventory, is a unit test of its
/// schedule reader, `checks/schedule.rs`.)
#[tokio::test]
async fn a_cron_that_stops_this_year_is_refused_and_the_schedule_stays_compliant() {
    let setup = provision(&Options::default()).await;
    let (inventory, findings) = audit(&setup).await;
    assert!(failing(&findings).is_empty(), "{findings:#?}");
    let year = inventory.metadata.collected_at.year();
    let refused = aws_sdk_secretsmanager::Client::new(&setup.config)
        .rotate_secret()
        .secret_id(&setup.secret_name)
        .rotation_lambda_arn(&setup.function_arn)
        .rotation_rules(
            RotationRulesType::builder()
                .schedule_expression(format!("cron(0 */4 * * ? {year})"))
                .duration("2h")
                .build(),
        )
        .rotate_immediately(false)
        .send()
        .await
        .expect_err("a cron with a year other than * is refused");
    assert_eq!(
        refused.as_service_error().and_then(|e| e.meta().code()),
        Some("InvalidParameterException"),
        "{refused:?}"
    );
    let (_, findings) = audit(&setup).await;
    assert!(failing(&findings).is_empty(), "{findings:#?}");
}

/// Carrier-grade NAT space (100.64.0.0/10) is not the internet; 0.0.0.0/0 on
/// RDP is, and fails FSBP EC2.18 and EC2.19 by name.
#[tokio::test]
async fn shared_address_space_is_not_the_internet_and_unrestricted_rdp_names_ec2_18_and_19() {
    let (setup, findings) =
        audit_with_bastion_rule(cidr_permission("tcp", 3389, 3389, "100.64.0.0/10")).await;
    assert!(failing(&findings).is_empty(), "{findings:#?}");
    let ec2 = aws_sdk_ec2::Client::new(&setup.config);
    ec2.authorize_security_group_ingress()
        .group_id(&setup.bastion_sg)
        .ip_permissions(cidr_permission("tcp", 3389, 3389, "0.0.0.0/0"))
        .send()
        .await
        .expect("add rule");
    let (_, findings) = audit(&setup).await;
    let open = finding(&findings, "ec2.ingress.no-public");
    assert_eq!(
        open.compliance,
        vec!["AWS-FSBP:EC2.18".to_owned(), "AWS-FSBP:EC2.19".to_owned()]
    );
    let endpoint = findings
        .iter()
        .find(|f| f.check_id.starts_with("vpc.endpoint."))
        .expect("endpoint finding");
    assert!(
        !endpoint.compliance.iter().any(|c| c.contains("EC2.10")),
        "{:?}",
        endpoint.compliance
    );
}

/// Two setups in one VPC, on one database (two secrets rotated by one
/// function): the VPC's findings are given once, listing both, and every OCSF
/// finding id and JUnit test name is unique.
#[tokio::test]
async fn setups_sharing_a_vpc_share_its_findings_and_keep_unique_ids() {
    let first = provision(&Options::default()).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&first.config);
    let value = secrets
        .get_secret_value()
        .secret_id(&first.secret_name)
        .send()
        .await
        .expect("value");
    let second = unique_name("AuditSecondAppuser");
    secrets
        .create_secret()
        .name(&second)
        .secret_string(value.secret_string().expect("string"))
        .send()
        .await
        .expect("create the second secret");
    rotate_on_schedule(&first, &second, "rate(2 days)").await;
    let inventory = audit::collect(
        std::slice::from_ref(&first.config),
        &discover_request(&first, true),
    )
    .await;
    let findings = audit::evaluate(&inventory, &Policy::default());
    let ours = |f: &&Finding| {
        f.setup
            .as_deref()
            .is_some_and(|s| s.split(", ").any(|s| s == first.secret_name || s == second))
    };
    let dns: Vec<&Finding> = findings
        .iter()
        .filter(ours)
        .filter(|f| f.check_id == "vpc.dns")
        .collect();
    assert_eq!(dns.len(), 1, "{dns:#?}");
    let mut both = [first.secret_name.clone(), second.clone()];
    both.sort();
    assert_eq!(dns[0].setup.as_deref(), Some(both.join(", ").as_str()));
    let report = audit::Report::new(&inventory, findings.clone());
    let uids: Vec<String> = report
        .findings
        .iter()
        .filter(ours)
        .map(|f| audit::report::ocsf::finding_uid(&report, f))
        .collect();
    let unique: BTreeSet<&String> = uids.iter().collect();
    assert_eq!(unique.len(), uids.len(), "{uids:#?}");
    let junit = report.render(audit::Format::Junit);
    let names: Vec<&str> = junit
        .lines()
        .filter(|l| l.contains(&first.secret_name) || l.contains(&second))
        .filter_map(|l| l.split("<testcase ").nth(1))
        .collect();
    let unique: BTreeSet<&&str> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "{names:#?}");
}

/// `audit --regions` over two regions of one account, from the command line: a
/// region without the setup is one "not applicable" row (not a FAIL per check),
/// an opt-in region the account has not enabled (`me-central-1`, as the emulator
/// answers DescribeRegions) is one SKIP row and not audited, and since the named
/// setup is in no region audited, one `setup.found` FAIL makes the run exit 3 (a
/// misspelt name or a deleted setup does not pass); stderr counts the region not
/// audited. `--require-setup` fails the checks there instead (exit 3).
#[tokio::test]
async fn regions_without_the_setup_or_not_enabled_are_one_row_each_and_a_setup_found_nowhere_fails()
{
    let (binary, dir) = audit_binary_and_scratch_dir("coverage");
    let state = tests::emulator();
    let report = dir.join("report.json");
    let run = |extra: &[&str]| {
        audit_against(&binary, state)
            .args(["--regions", "eu-north-1,me-central-1", "--format", "json"])
            .args(extra)
            .arg("--output")
            .arg(&report)
            .output()
    };
    let findings = || -> Vec<(String, String, String)> {
        let text = std::fs::read_to_string(&report).expect("report");
        let report: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                let field = |key: &str| f[key].as_str().unwrap_or_default().to_owned();
                (field("region"), field("check_id"), field("status"))
            })
            .collect()
    };
    let output = run(&[]).await.expect("run audit");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("audit: not audited: 0 account(s), 1 region(s)"),
        "{stderr}"
    );
    let strings = |rows: &[(&str, &str, &str)]| -> Vec<(String, String, String)> {
        rows.iter()
            .map(|&(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()))
            .collect()
    };
    assert_eq!(
        findings(),
        strings(&[
            ("eu-north-1", "region.setup-present", "SKIP"),
            ("global", "setup.found", "FAIL"),
            ("me-central-1", "region.reachable", "SKIP"),
        ])
    );

    let output = run(&["--require-setup"]).await.expect("run audit");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("audit: not audited: 0 account(s), 1 region(s)"));
    let rows = findings();
    assert!(
        rows.iter()
            .any(|(region, check, status)| region == "eu-north-1"
                && check == "vpc.dns"
                && status == "FAIL"),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .all(|(_, check, _)| check != "region.setup-present")
    );
}

/// `audit --print-policy --role-name NAME`: the caller's AssumeRole statement names
/// that role, so the policy pairs with `--print-role-template`'s role; a malformed
/// name is a usage error (exit 2) naming the rule.
#[tokio::test]
async fn the_printed_policy_names_the_role_asked_for() {
    let (binary, _dir) = audit_binary_and_scratch_dir("print-policy");
    let run = |role: &'static str| {
        tokio::process::Command::new(&binary)
            .args(["--print-policy", "--role-name", role])
            .output()
    };
    let output = run("AuditReadOnly").await.expect("run audit");
    assert_eq!(output.status.code(), Some(0));
    let policy: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let assume = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .find(|s| s["Action"] == json!(["sts:AssumeRole"]))
        .expect("the AssumeRole statement");
    assert_eq!(assume["Resource"], "arn:aws:iam::*:role/AuditReadOnly");
    let output = run("bad name!").await.expect("run audit");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not an IAM role name"));
}
