//! Hand-built inventories for the checks' unit tests: a compliant copy of the
//! tutorial's setup that each test breaks in one place.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::inventory::{
    AdminSecretRecord, Collected, CollectionError, DbInstance, DefaultSecurityGroup,
    EnvironmentVariable, FunctionConfiguration, FunctionRecord, GrantsRecord, Instance, Inventory,
    MasterUserSecret, Metadata, PolicyDocument, RegionInventory, RoleRecord, Scope, Secret,
    SecretFacts, SecretPolicyRecord, SecretValueRecord, SecurityGroupRule, Subnet, ValueShape, Vpc,
    VpcEndpoint,
};

pub const ACCOUNT: &str = "123456789012";
/// The organisation of [`ACCOUNT`].
pub const ORGANIZATION: &str = "o-tutorial123";
pub const REGION: &str = "us-east-1";
pub const VPC: &str = "vpc-0tutorial";
pub const BASTION_SG: &str = "sg-bastion";
pub const DB_SG: &str = "sg-database";
pub const LAMBDA_SG: &str = "sg-lambda";
pub const SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:SecretsManagerTutorialAppuser-AbCdEf";
pub const ADMIN_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-XyZ";
pub const FUNCTION_ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:SecretsManagerTutorialRotation";
pub const DB_ARN: &str = "arn:aws:rds:us-east-1:123456789012:db:secretsmanagertutorial";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/rotation-role";
/// The application secret's customer managed key (`cargo xtask provision` makes one).
pub const APP_KEY: &str =
    "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// The rotation role's inline policy as `cargo xtask deploy` writes it (the
/// parts the rotation's calls need; the application secret under its customer
/// managed key, the admin secret under the AWS managed key),
/// written out by hand: a copy of `permissions::CALLS` here would prove nothing.
pub fn rotation_role_policy() -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "RotateTheApplicationSecret", "Effect": "Allow",
             "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage", "secretsmanager:ListSecretVersionIds"],
             "Resource": SECRET_ARN},
            {"Sid": "ReadTheAdminSecret", "Effect": "Allow",
             "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": ADMIN_ARN},
            {"Sid": "GeneratePasswords", "Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"},
            {"Sid": "FindTheAdminSecretsDatabase", "Effect": "Allow", "Action": "rds:DescribeDBInstances", "Resource": DB_ARN},
            {"Sid": "UseTheApplicationSecretsKey", "Effect": "Allow",
             "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": APP_KEY,
             "Condition": {"StringEquals": {
                 "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
                 "kms:EncryptionContext:SecretARN": SECRET_ARN}}}
        ]
    })
    .to_string()
}

/// A time from RFC 3339 text.
pub fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).expect("RFC 3339 time")
}

pub fn rule(id: &str, group: &str, protocol: &str, from: i32, to: i32) -> SecurityGroupRule {
    SecurityGroupRule {
        id: id.to_owned(),
        group_id: group.to_owned(),
        is_egress: false,
        ip_protocol: protocol.to_owned(),
        from_port: Some(from),
        to_port: Some(to),
        cidr_ipv4: None,
        cidr_ipv6: None,
        prefix_list_id: None,
        referenced_group_id: None,
        referenced_group_owner: None,
        referenced_group_vpc: None,
        referenced_group_peering: None,
        description: None,
    }
}

pub fn from_cidr(mut rule: SecurityGroupRule, cidr: &str) -> SecurityGroupRule {
    if cidr.contains(':') {
        rule.cidr_ipv6 = Some(cidr.to_owned());
    } else {
        rule.cidr_ipv4 = Some(cidr.to_owned());
    }
    rule
}

/// A rule from a group of the same account and VPC, as EC2 reports it.
pub fn from_group(mut rule: SecurityGroupRule, group: &str) -> SecurityGroupRule {
    rule.referenced_group_id = Some(group.to_owned());
    rule.referenced_group_owner = Some(ACCOUNT.to_owned());
    rule.referenced_group_vpc = Some(VPC.to_owned());
    rule
}

pub fn from_prefix_list(mut rule: SecurityGroupRule, list: &str) -> SecurityGroupRule {
    rule.prefix_list_id = Some(list.to_owned());
    rule
}

fn subnet(id: &str, zone: &str) -> Subnet {
    let cidr = match id {
        "subnet-public-a" => "10.0.0.0/24",
        "subnet-private-a" => "10.0.1.0/24",
        _ => "10.0.2.0/24",
    };
    Subnet {
        id: id.to_owned(),
        availability_zone: zone.to_owned(),
        cidr_block: Some(cidr.to_owned()),
    }
}

pub const ENDPOINT_SG: &str = "sg-endpoints";

/// AWS's default endpoint policy: full access.
pub fn full_access_policy() -> String {
    serde_json::json!({"Statement": [{"Action": "*", "Effect": "Allow", "Principal": "*", "Resource": "*"}]})
        .to_string()
}

pub fn endpoint(service: &str, subnets: &[&str]) -> VpcEndpoint {
    VpcEndpoint {
        id: format!("vpce-{service}"),
        service_name: super::endpoint_service::endpoint_service_name(REGION, service),
        endpoint_type: "Interface".to_owned(),
        state: "available".to_owned(),
        private_dns_enabled: true,
        subnet_ids: subnets.iter().map(|&s| s.to_owned()).collect(),
        security_group_ids: vec![ENDPOINT_SG.to_owned()],
        policy_document: Some(full_access_policy()),
    }
}

pub fn invoke_policy(account: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": [{
            "Sid": "SecretsManagerAccess",
            "Effect": "Allow",
            "Principal": {"Service": "secretsmanager.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": FUNCTION_ARN,
            "Condition": {"StringEquals": {"AWS:SourceAccount": account}}
        }]
    })
    .to_string()
}

pub fn app_secret() -> Secret {
    let mut stages = BTreeMap::new();
    stages.insert("v1".to_owned(), vec!["AWSCURRENT".to_owned()]);
    stages.insert("v0".to_owned(), vec!["AWSPREVIOUS".to_owned()]);
    Secret {
        arn: SECRET_ARN.to_owned(),
        name: "SecretsManagerTutorialAppuser".to_owned(),
        primary: true,
        rotation_enabled: Some(true),
        rotation_lambda_arn: Some(FUNCTION_ARN.to_owned()),
        automatically_after_days: None,
        schedule_expression: Some("rate(2 days)".to_owned()),
        duration: Some("2h".to_owned()),
        created_date: Some(at("2025-01-01T00:00:00Z")),
        last_rotated_date: Some(at("2025-06-01T10:00:00Z")),
        last_accessed_date: Some(at("2025-06-01T00:00:00Z")),
        next_rotation_date: Some(at("2025-06-03T10:00:00Z")),
        deleted_date: None,
        owning_service: None,
        tags: BTreeMap::new(),
        versions_to_stages: stages,
        pending_created_date: None,
        pending_date_error: None,
        kms_key_id: Some(APP_KEY.to_owned()),
    }
}

/// The application key as `DescribeKey` and `GetKeyPolicy` show it: the default
/// key policy (the account's IAM policies decide), rotation on.
pub fn app_key() -> crate::inventory::KeyPolicyRecord {
    crate::inventory::KeyPolicyRecord {
        key_id: APP_KEY.to_owned(),
        key: Collected::Ok(Some(crate::inventory::KeyRecord {
            arn: APP_KEY.to_owned(),
            account: Some(ACCOUNT.to_owned()),
            aws_managed: false,
            key_state: Some("Enabled".to_owned()),
            policy: Collected::Ok(
                serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Sid": "Enable IAM User Permissions", "Effect": "Allow",
                    "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
                    "Action": "kms:*", "Resource": "*"}]})
                .to_string(),
            ),
            rotation_enabled: Collected::Ok(true),
        })),
    }
}

pub fn admin_secret() -> Secret {
    let mut tags = BTreeMap::new();
    tags.insert("aws:rds:primaryDBInstanceArn".to_owned(), DB_ARN.to_owned());
    tags.insert(
        "aws:secretsmanager:owningService".to_owned(),
        "rds".to_owned(),
    );
    Secret {
        arn: ADMIN_ARN.to_owned(),
        name: "rds!db-1234".to_owned(),
        primary: false,
        rotation_enabled: Some(true),
        automatically_after_days: Some(7),
        created_date: Some(at("2025-01-01T00:00:00Z")),
        last_rotated_date: Some(at("2025-05-30T00:00:00Z")),
        owning_service: Some("rds".to_owned()),
        tags,
        ..Secret::default()
    }
}

pub fn bastion(id: &str, group: &str) -> Instance {
    Instance {
        id: id.to_owned(),
        name: Some("SecretsManagerTutorialInstance".to_owned()),
        state: Some("running".to_owned()),
        subnet_id: Some("subnet-public-a".to_owned()),
        security_group_ids: vec![group.to_owned()],
        public_ip: Some("203.0.113.10".to_owned()),
        http_tokens: Some("required".to_owned()),
    }
}

#[allow(clippy::too_many_lines)] // one literal inventory, field by field
pub fn compliant_region() -> RegionInventory {
    RegionInventory {
        region: REGION.to_owned(),
        vpc: Collected::Ok(Some(Vpc {
            id: VPC.to_owned(),
            name: Some("SecretsManagerTutorial-vpc".to_owned()),
            cidr_block: Some("10.0.0.0/16".to_owned()),
            dns_hostnames: Collected::Ok(true),
            dns_support: Collected::Ok(true),
        })),
        subnets: Collected::Ok(vec![
            subnet("subnet-public-a", "us-east-1a"),
            subnet("subnet-private-a", "us-east-1a"),
            subnet("subnet-private-b", "us-east-1b"),
        ]),
        endpoints: Collected::Ok(vec![
            endpoint("secretsmanager", &["subnet-private-a", "subnet-private-b"]),
            endpoint("rds", &["subnet-private-a", "subnet-private-b"]),
        ]),
        bastions: Collected::Ok(vec![bastion("i-bastion", BASTION_SG)]),
        database: Collected::Ok(Some(DbInstance {
            id: "secretsmanagertutorial".to_owned(),
            arn: DB_ARN.to_owned(),
            engine: Some("mysql".to_owned()),
            address: Some("secretsmanagertutorial.abc.us-east-1.rds.amazonaws.com".to_owned()),
            port: Some(3306),
            publicly_accessible: Some(false),
            security_group_ids: vec![DB_SG.to_owned()],
            vpc_id: Some(VPC.to_owned()),
            subnets: vec![
                subnet("subnet-private-a", "us-east-1a"),
                subnet("subnet-private-b", "us-east-1b"),
            ],
            master_user_secret: Some(MasterUserSecret {
                arn: Some(ADMIN_ARN.to_owned()),
                status: Some("active".to_owned()),
            }),
            read_replicas: Vec::new(),
            storage_encrypted: Some(true),
            engine_version: Some("8.0.40".to_owned()),
            cluster_id: None,
            parameter_groups: vec![crate::inventory::DbParameterGroupStatus {
                name: "secretsmanagertutorial-tls".to_owned(),
                apply_status: Some("in-sync".to_owned()),
            }],
            ca_certificate_identifier: Some("rds-ca-rsa2048-g1".to_owned()),
            certificate_valid_till: None,
            master_username: Some("admin".to_owned()),
            cluster_endpoints: Vec::new(),
            related_endpoints: Vec::new(),
            endpoints_unread: Vec::new(),
        })),
        security_group_rules: Collected::Ok(vec![
            from_cidr(
                rule("sgr-ssh", BASTION_SG, "tcp", 22, 22),
                "198.51.100.7/32",
            ),
            from_group(rule("sgr-db-bastion", DB_SG, "tcp", 3306, 3306), BASTION_SG),
            from_group(rule("sgr-db-lambda", DB_SG, "tcp", 3306, 3306), LAMBDA_SG),
            from_cidr(
                SecurityGroupRule {
                    is_egress: true,
                    ..rule("sgr-egress", BASTION_SG, "-1", -1, -1)
                },
                "0.0.0.0/0",
            ),
            from_cidr(
                SecurityGroupRule {
                    is_egress: true,
                    ..rule("sgr-lambda-egress", LAMBDA_SG, "-1", -1, -1)
                },
                "0.0.0.0/0",
            ),
            from_cidr(
                rule("sgr-endpoints", ENDPOINT_SG, "tcp", 443, 443),
                "10.0.0.0/16",
            ),
        ]),
        prefix_lists: Vec::new(),
        secrets: Collected::Ok(vec![app_secret()]),
        missing_secrets: Vec::new(),
        failed_secrets: Vec::new(),
        functions: vec![FunctionRecord {
            arn: FUNCTION_ARN.to_owned(),
            configuration: Collected::Ok(Some(FunctionConfiguration {
                name: "SecretsManagerTutorialRotation".to_owned(),
                arn: FUNCTION_ARN.to_owned(),
                vpc_id: Some(VPC.to_owned()),
                subnet_ids: vec!["subnet-private-a".to_owned(), "subnet-private-b".to_owned()],
                security_group_ids: vec![LAMBDA_SG.to_owned()],
                state: Some("Active".to_owned()),
                last_update_status: Some("Successful".to_owned()),
                role: Some(ROLE.to_owned()),
                runtime: Some("provided.al2023".to_owned()),
                package_type: Some("Zip".to_owned()),
                environment: vec![EnvironmentVariable {
                    name: "DB_CA_BUNDLE".to_owned(),
                    value: ValueShape::of("/var/task/ca.pem"),
                }],
            })),
            policy: Collected::Ok(Some(invoke_policy(ACCOUNT))),
            url_auth_type: Collected::Ok(None),
            reserved_concurrency: Collected::Ok(None),
        }],
        secret_values: vec![SecretValueRecord {
            secret_arn: SECRET_ARN.to_owned(),
            facts: Collected::Ok(SecretFacts {
                username: Some("appuser".to_owned()),
                host: Some("secretsmanagertutorial.abc.us-east-1.rds.amazonaws.com".to_owned()),
                port: Some(3306),
                dbname: Some("tutorial".to_owned()),
                engine: Some("mysql".to_owned()),
                masterarn: Some(ADMIN_ARN.to_owned()),
                ssl: None,
                has_password: true,
            }),
        }],
        secret_policies: vec![SecretPolicyRecord {
            secret_arn: SECRET_ARN.to_owned(),
            policy: Collected::Ok(None),
        }],
        key_policies: vec![app_key()],
        admin_secrets: vec![AdminSecretRecord {
            arn: ADMIN_ARN.to_owned(),
            secret: Collected::Ok(Some(admin_secret())),
        }],
        grants: vec![GrantsRecord {
            secret_arn: SECRET_ARN.to_owned(),
            account: Some("appuser@%".to_owned()),
            tls: Some("tls".to_owned()),
            rows: Collected::Ok(vec![
                "GRANT USAGE ON *.* TO `appuser`@`%` IDENTIFIED BY PASSWORD '<redacted>'"
                    .to_owned(),
                "GRANT SELECT, INSERT ON `tutorial`.* TO `appuser`@`%`".to_owned(),
            ]),
            roles: Vec::new(),
            other_user: None,
        }],
        network_acls: Collected::Ok(vec![super::nacl::tests::default_acl("acl-default")]),
        vpc_peerings: Collected::Ok(Vec::new()),
        roles: vec![RoleRecord {
            arn: ROLE.to_owned(),
            inline_policies: Collected::Ok(vec![PolicyDocument {
                name: "inline policy rotation".to_owned(),
                document: rotation_role_policy(),
            }]),
            attached_policies: Collected::Ok(Vec::new()),
            permissions_boundary: Collected::Ok(None),
        }],
        db_snapshots: Collected::Ok(Vec::new()),
        db_parameters: Collected::Ok(vec![crate::inventory::DbParameters {
            name: "secretsmanagertutorial-tls".to_owned(),
            require_secure_transport: Some("1".to_owned()),
            cluster: None,
            apply_status: None,
        }]),
        ca_certificate: Collected::Ok(Some(crate::inventory::CaCertificate {
            id: "rds-ca-rsa2048-g1".to_owned(),
            valid_till: Some(at("2061-05-21T22:23:47Z")),
        })),
        default_security_group: Collected::Ok(Some(DefaultSecurityGroup {
            id: "sg-default".to_owned(),
            ingress: Vec::new(),
            egress: Vec::new(),
        })),
        discovered: None,
    }
}

pub fn compliant_inventory() -> Inventory {
    inventory_of(compliant_region())
}

pub fn inventory_of(region: RegionInventory) -> Inventory {
    Inventory {
        metadata: Metadata {
            tool: "audit".to_owned(),
            version: "test".to_owned(),
            collected_at: at("2025-06-02T12:00:00Z"),
            account_id: Some(ACCOUNT.to_owned()),
            organization_id: Collected::Ok(Some(ORGANIZATION.to_owned())),
            insecure_db_tls: false,
            api_requests: 0,
            calls: BTreeMap::new(),
            scope: Scope {
                regions: vec![REGION.to_owned()],
                vpc_id: None,
                secret_ids: vec!["SecretsManagerTutorialAppuser".to_owned()],
                all_secrets: false,
                db_instance_id: "secretsmanagertutorial".to_owned(),
                read_secrets: true,
                discover: false,
            },
        },
        regions: vec![region],
        excluded: Vec::new(),
        failed_regions: Vec::new(),
        skipped_regions: Vec::new(),
    }
}

pub fn denied(action: &str) -> CollectionError {
    CollectionError {
        action: action.to_owned(),
        access_denied: true,
        code: Some("AccessDenied".to_owned()),
        message: "User is not authorized".to_owned(),
    }
}

/// Every network ACL of `region` denies TCP `port` in, before its other rules.
pub fn acls_deny_inbound(region: &mut RegionInventory, port: i32) {
    if let Collected::Ok(acls) = &mut region.network_acls {
        for acl in acls {
            acl.entries.push(super::nacl::tests::entry(
                50,
                false,
                "6",
                "deny",
                "0.0.0.0/0",
                Some((port, port)),
            ));
        }
    }
}

/// The findings of one check id over a region.
pub fn findings_of(region: RegionInventory, check_id: &str) -> Vec<crate::finding::Finding> {
    crate::checks::evaluate(&inventory_of(region), &crate::policy::Policy::default())
        .into_iter()
        .filter(|f| f.check_id == check_id)
        .collect()
}

/// The one finding of `check_id` over `region`, in an account whose organisation
/// (`organizations:DescribeOrganization`) is `organization`.
pub fn in_organization(
    region: RegionInventory,
    organization: Collected<Option<String>>,
    check_id: &str,
) -> crate::finding::Finding {
    let mut inventory = inventory_of(region);
    inventory.metadata.organization_id = organization;
    let mut findings: Vec<_> =
        crate::checks::evaluate(&inventory, &crate::policy::Policy::default())
            .into_iter()
            .filter(|f| f.check_id == check_id)
            .collect();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    findings.remove(0)
}

/// For each case (a region, its account's organisation, the status, a text),
/// the one finding of `check_id` has that status and says that text.
pub fn assert_in_organizations(
    check_id: &str,
    cases: Vec<(
        RegionInventory,
        Collected<Option<String>>,
        crate::finding::Status,
        &str,
    )>,
) {
    for (region, organization, status, text) in cases {
        let finding = in_organization(region, organization, check_id);
        assert_eq!(finding.status, status, "{}", finding.message);
        assert!(finding.message.contains(text), "{}", finding.message);
    }
}

/// The compliant region with `extra` security group rules.
pub fn with_rules(extra: Vec<SecurityGroupRule>) -> RegionInventory {
    let mut region = compliant_region();
    if let Collected::Ok(rules) = &mut region.security_group_rules {
        rules.extend(extra);
    }
    region
}

/// The one finding of `id` over a region.
pub fn only(region: RegionInventory, id: &str) -> crate::finding::Finding {
    let mut findings = findings_of(region, id);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    findings.remove(0)
}

/// The finding of `id` about security group `group`.
pub fn of_group(region: RegionInventory, id: &str, group: &str) -> crate::finding::Finding {
    let suffix = format!("security-group/{group}");
    findings_of(region, id)
        .into_iter()
        .find(|f| f.resource.ends_with(&suffix))
        .unwrap_or_else(|| panic!("no {id} finding for {group}"))
}

/// The compliant region with its application secret changed by `change`.
pub fn with_secret(change: impl Fn(&mut Secret)) -> RegionInventory {
    let mut region = compliant_region();
    if let Collected::Ok(secrets) = &mut region.secrets {
        change(&mut secrets[0]);
    }
    region
}

/// The compliant region with its database changed by `change`.
pub fn with_db(change: impl Fn(&mut DbInstance)) -> RegionInventory {
    let mut region = compliant_region();
    if let Collected::Ok(Some(db)) = &mut region.database {
        change(db);
    }
    region
}

/// Grant rows as `SHOW GRANTS` returns them.
pub fn show_grants(rows: &[&str]) -> Vec<String> {
    rows.iter().map(|&r| r.to_owned()).collect()
}

/// The status and message of the one finding of `id` over a region.
pub fn status_and_message(region: RegionInventory, id: &str) -> (crate::finding::Status, String) {
    let finding = only(region, id);
    (finding.status, finding.message)
}

/// `region` as the setup `--discover` found by the secret `secret_name`, in
/// the fixture's VPC and on its database.
pub fn discovered_as(mut region: RegionInventory, secret_name: &str) -> RegionInventory {
    region.discovered = Some(crate::discover::Discovered {
        secret_name: secret_name.to_owned(),
        secret_arn: SECRET_ARN.to_owned(),
        function_arn: FUNCTION_ARN.to_owned(),
        reason: "its rotation function runs in vpc-0tutorial".to_owned(),
        database: "from the tag".to_owned(),
        scope: Scope {
            regions: vec![REGION.to_owned()],
            vpc_id: Some(VPC.to_owned()),
            secret_ids: vec![SECRET_ARN.to_owned()],
            all_secrets: false,
            db_instance_id: "secretsmanagertutorial".to_owned(),
            read_secrets: true,
            discover: true,
        },
    });
    region
}

/// The compliant region, with the other user of the alternating pair
/// (`appuser_clone`, named by AWSPREVIOUS) read as `rows`.
pub fn with_other_user(rows: Collected<Vec<String>>) -> RegionInventory {
    let mut region = compliant_region();
    region.grants[0].other_user = Some(crate::inventory::OtherUserGrants {
        username: "appuser_clone".to_owned(),
        relation: crate::inventory::PairRelation::Alternate,
        rows,
        roles: Vec::new(),
        host: None,
    });
    region
}

/// The compliant region whose secret's other version names `username`, standing
/// to `appuser` as `relation`, not logged in as.
pub fn with_other_version(
    username: &str,
    relation: crate::inventory::PairRelation,
) -> RegionInventory {
    let mut region = compliant_region();
    region.grants[0].other_user = Some(crate::inventory::OtherUserGrants {
        username: username.to_owned(),
        relation,
        rows: Collected::Skipped("not logged in as".to_owned()),
        roles: Vec::new(),
        host: None,
    });
    region
}

/// `appuser_clone`'s grant rows: its data grant, and `global` on `*.*` when given.
pub fn clone_rows(global: Option<&str>) -> Collected<Vec<String>> {
    let mut rows = vec!["GRANT SELECT ON `tutorial`.* TO `appuser_clone`@`%`".to_owned()];
    if let Some(global) = global {
        rows.push(format!("GRANT {global} ON *.* TO `appuser_clone`@`%`"));
    }
    Collected::Ok(rows)
}
