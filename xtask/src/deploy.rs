//! `cargo xtask deploy`: the rotation function, its role and permission, and the
//! secret's rotation schedule.
//!
//! Deploy reads what provision made (by the run's tags and names) and creates or
//! updates the rest in place: a rerun uploads the code and configuration again and
//! changes nothing else. `--dry-run` still reads (to know what exists) but makes no
//! write call; it prints each one instead.

use anyhow::{Context as _, Result, anyhow};
use aws_config::SdkConfig;
use serde_json::{Value, json};

use permissions::{CALLS, Resource, When};

use crate::aws;
use crate::names::Names;
use crate::resources::context::{Deployer, Foundation, missing};
use crate::resources::{db_instance, security_group, subnet, vpc};

pub use crate::resources::context::DeployOptions;
pub use crate::resources::role::trust_policy;
pub(crate) use crate::resources::rotation::PERMISSION_ID;

/// What a deploy did.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub function_arn: String,
    pub role_arn: String,
    pub rotation_group: String,
    /// Every write call made (or, in a dry run, that would have been made).
    pub writes: Vec<String>,
}

/// The resources the rotation function's calls are made on, as deploy finds them.
#[derive(Debug, Clone, Default)]
pub struct RoleResources {
    /// The rotated (application) secret.
    pub secret_arn: String,
    /// Its `KmsKeyId` (`None`: the AWS managed key `aws/secretsmanager`).
    pub secret_kms_key: Option<String>,
    /// The RDS-managed admin secret its `masterarn` names.
    pub admin_secret_arn: String,
    pub admin_kms_key: Option<String>,
    /// The admin secret's DB instance, then its read replicas.
    pub db_instance_arns: Vec<String>,
    pub log_group_arn: String,
    /// `secretsmanager.<region>.<dns suffix>`, the `kms:ViaService` of its decryption.
    pub secrets_manager_host: String,
}

/// The rotation function's inline policy: least privilege, one statement per
/// resource of the rotator's calls as `permissions::CALLS` lists them (deploy's
/// setup: alternating users, the admin secret RDS-managed for a DB instance), plus
/// what Lambda needs to run the function in the VPC and write its logs.
///
/// A customer-managed key gets `kms:` actions through Secrets Manager only, for its
/// own secret; the AWS managed key needs nothing in the role. Every call the rotator
/// makes for an Aurora cluster or for a `host` in the admin secret is left out:
/// deploy's admin secret is the RDS-managed secret of an instance, so it makes none.
pub fn rotation_policy(resources: &RoleResources) -> Value {
    let mut order: Vec<Resource> = Vec::new();
    for call in CALLS {
        if !order.contains(&call.resource) {
            order.push(call.resource);
        }
    }
    let mut statements: Vec<Value> = Vec::new();
    for resource in order {
        let actions = permissions::actions(|c| c.resource == resource && made_here(c.when));
        let Some((sid, arns, condition)) = statement_target(resource, resources) else {
            continue;
        };
        if actions.is_empty() || arns.is_empty() {
            continue;
        }
        let mut statement = json!({
            "Sid": sid,
            "Effect": "Allow",
            "Action": one_or_many(&actions),
            "Resource": one_or_many(&arns),
        });
        if let Some(condition) = condition {
            statement["Condition"] = condition;
        }
        statements.push(statement);
    }
    let log_group_arn = &resources.log_group_arn;
    statements.extend([
        // The EC2 actions of the managed policy AWSLambdaVPCAccessExecutionRole (v3),
        // which Lambda uses to create and remove the function's network interfaces
        // (AWS managed policy reference); DescribeNetworkInterfaces needs "*".
        json!({
            "Sid": "RunInTheVpc",
            "Effect": "Allow",
            "Action": [
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses"
            ],
            "Resource": "*"
        }),
        json!({
            "Sid": "WriteItsLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group_arn, format!("{log_group_arn}:*")]
        }),
    ]);
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Whether the function deploy sets up makes the calls of a `When`.
fn made_here(when: When) -> bool {
    match when {
        // Alternating users, with the instance's RDS-managed secret (no `host`); a
        // key only where there is one (`statement_target` leaves the rest out).
        When::Always | When::AlternatingUsers | When::AdminFromRds | When::CustomerManagedKey => {
            true
        }
        // The admin secret is an instance's (deploy stops without one), and has no host.
        When::AdminCluster | When::ApplicationOnReplica => false,
    }
}

/// The statement id, the ARNs and the condition of the statement on `resource`.
fn statement_target(
    resource: Resource,
    r: &RoleResources,
) -> Option<(&'static str, Vec<String>, Option<Value>)> {
    let through_secrets_manager = |secret: &str| {
        json!({"StringEquals": {
            "kms:ViaService": r.secrets_manager_host,
            "kms:EncryptionContext:SecretARN": secret,
        }})
    };
    Some(match resource {
        Resource::ApplicationSecret => (
            "RotateTheApplicationSecret",
            vec![r.secret_arn.clone()],
            None,
        ),
        Resource::AdminSecret => ("ReadTheAdminSecret", vec![r.admin_secret_arn.clone()], None),
        // GetRandomPassword takes no resource.
        Resource::Any => ("GeneratePasswords", vec!["*".to_owned()], None),
        Resource::ApplicationSecretKey => (
            "UseTheApplicationSecretsKey",
            vec![key_resource(r.secret_kms_key.as_deref(), &r.secret_arn)?],
            Some(through_secrets_manager(&r.secret_arn)),
        ),
        Resource::AdminSecretKey => (
            "DecryptTheAdminSecret",
            vec![key_resource(
                r.admin_kms_key.as_deref(),
                &r.admin_secret_arn,
            )?],
            Some(through_secrets_manager(&r.admin_secret_arn)),
        ),
        Resource::AdminDbInstances => (
            "FindTheAdminSecretsDatabase",
            r.db_instance_arns.clone(),
            None,
        ),
        Resource::AdminDbCluster | Resource::ApplicationDatabase => return None,
    })
}

/// The `Resource` naming a secret's KMS key; `None` for the AWS managed key, which
/// every principal of the account may use through Secrets Manager (API reference,
/// `KmsKeyId`). IAM names a key by its ARN only, so an alias becomes `*`, held to
/// the one secret by the statement's conditions.
fn key_resource(key: Option<&str>, secret_arn: &str) -> Option<String> {
    let key = key?;
    if key.ends_with("alias/aws/secretsmanager") {
        return None;
    }
    if key.contains("alias/") {
        return Some("*".to_owned());
    }
    if key.starts_with("arn:") {
        return Some(key.to_owned());
    }
    // A bare key id: a key of the secret's account and region.
    let parts: Vec<&str> = secret_arn.split(':').collect();
    Some(match (parts.get(1), parts.get(3), parts.get(4)) {
        (Some(partition), Some(region), Some(account)) => {
            format!("arn:{partition}:kms:{region}:{account}:key/{key}")
        }
        _ => "*".to_owned(),
    })
}

/// A policy's `Action` or `Resource`: one value as a string, more as a list.
fn one_or_many<T: AsRef<str>>(values: &[T]) -> Value {
    match values {
        [one] => json!(one.as_ref()),
        many => json!(many.iter().map(AsRef::as_ref).collect::<Vec<&str>>()),
    }
}

/// Deploys; see the module documentation.
pub async fn deploy(config: &SdkConfig, options: &DeployOptions) -> Result<Deployed> {
    let names = &options.names;
    let region = config.region().map(ToString::to_string).unwrap_or_default();
    // Account and partition of every ARN written (not `arn:aws:` everywhere).
    let caller = aws::Caller::find(config).await?;
    let zip = read_zip(options)?;
    let found = foundation(config, names).await?;
    let policy = role_policy(names, &caller, &region, &found);
    let mut deployer = Deployer::new(config, options, caller, found, zip, policy);
    deployer.run().await?;
    Ok(Deployed {
        function_arn: deployer.function_arn,
        role_arn: deployer.role_arn,
        rotation_group: deployer.rotation_group,
        writes: deployer.calls.writes,
    })
}

/// Finds, by the run's tags and names, what provision made that deploy needs: the
/// VPC, its private subnets and the database's group, the DB instance with its
/// admin secret, and the application secret.
async fn foundation(config: &SdkConfig, names: &Names) -> Result<Foundation> {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let rds = aws_sdk_rds::Client::new(config);
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let vpc_id = vpc::find(&ec2, names).await?;
    let private_subnets = subnet::find_private(&ec2, names, &vpc_id).await?;
    let database_group = security_group::find_database_group(&ec2, names, &vpc_id).await?;
    let instance = db_instance::find(&rds, names).await?;
    let db_port = instance
        .endpoint()
        .and_then(aws_sdk_rds::types::Endpoint::port)
        .ok_or_else(|| {
            anyhow!(
                "RDS instance {} has no endpoint yet; rerun `cargo xtask provision` to wait for it",
                names.db_instance
            )
        })?;
    let admin = instance.master_user_secret();
    let admin_secret_arn = admin
        .and_then(|s| s.secret_arn())
        .ok_or_else(|| {
            anyhow!(
                "RDS instance {} has no RDS-managed admin secret",
                names.db_instance
            )
        })?
        .to_owned();
    let secret = aws::describe_secret(&secrets, &names.secret)
        .await
        .map_err(|e| {
            if e.missing {
                missing(names, &format!("secret {}", names.secret))
            } else {
                e.into()
            }
        })?;
    Ok(Foundation {
        vpc_id,
        private_subnets,
        database_group,
        db_port,
        db_instance_arns: db_instance::instance_and_replicas(&instance),
        admin_secret_arn,
        admin_kms_key: admin.and_then(|s| s.kms_key_id()).map(str::to_owned),
        secret_arn: secret.arn().unwrap_or_default().to_owned(),
        secret_kms_key: secret.kms_key_id().map(str::to_owned),
    })
}

/// The role's inline policy for the resources provision made.
fn role_policy(names: &Names, caller: &aws::Caller, region: &str, found: &Foundation) -> Value {
    let log_group = caller.arn(
        "logs",
        region,
        &format!("log-group:/aws/lambda/{}", names.function),
    );
    rotation_policy(&RoleResources {
        secret_arn: found.secret_arn.clone(),
        secret_kms_key: found.secret_kms_key.clone(),
        admin_secret_arn: found.admin_secret_arn.clone(),
        admin_kms_key: found.admin_kms_key.clone(),
        db_instance_arns: found.db_instance_arns.clone(),
        log_group_arn: log_group,
        secrets_manager_host: caller.service_host("secretsmanager", region),
    })
}

/// The function's zip, with the CA bundle in it when one is given: it travels in the
/// zip, so the function finds it on AWS as in the emulator.
fn read_zip(options: &DeployOptions) -> Result<Vec<u8>> {
    let mut zip = std::fs::read(&options.zip).with_context(|| {
        format!(
            "reading the function's zip {}; build it with `cargo xtask build`",
            options.zip.display()
        )
    })?;
    if let Some(bundle) = &options.db_ca_bundle {
        let pem = std::fs::read(bundle)
            .with_context(|| format!("reading --db-ca-bundle {}", bundle.display()))?;
        zip = crate::build::with_ca_bundle(&zip, &pem)
            .with_context(|| format!("--db-ca-bundle {}", bundle.display()))?;
    }
    Ok(zip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_scopes_each_action_to_its_resource() {
        let policy = rotation_policy(&RoleResources {
            secret_arn: "arn:aws:secretsmanager:us-east-1:1:secret:app".to_owned(),
            secret_kms_key: Some("app-key".to_owned()),
            admin_secret_arn: "arn:aws:secretsmanager:us-east-1:1:secret:rds!db".to_owned(),
            admin_kms_key: Some("arn:aws:kms:us-east-1:1:key/k".to_owned()),
            db_instance_arns: vec!["arn:aws:rds:us-east-1:1:db:tutorial".to_owned()],
            log_group_arn: "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f".to_owned(),
            secrets_manager_host: "secretsmanager.us-east-1.amazonaws.com".to_owned(),
        });
        let statements = policy["Statement"].as_array().expect("statements");
        let resource_of = |action: &str| -> Vec<String> {
            statements
                .iter()
                .filter(|s| match &s["Action"] {
                    Value::String(a) => a == action,
                    Value::Array(a) => a.iter().any(|x| x == action),
                    _ => false,
                })
                .map(|s| s["Resource"].to_string())
                .collect()
        };
        let cases = [
            (
                "secretsmanager:PutSecretValue",
                vec!["\"arn:aws:secretsmanager:us-east-1:1:secret:app\""],
            ),
            (
                "secretsmanager:UpdateSecretVersionStage",
                vec!["\"arn:aws:secretsmanager:us-east-1:1:secret:app\""],
            ),
            (
                "secretsmanager:ListSecretVersionIds",
                vec!["\"arn:aws:secretsmanager:us-east-1:1:secret:app\""],
            ),
            (
                "secretsmanager:GetSecretValue",
                vec![
                    "\"arn:aws:secretsmanager:us-east-1:1:secret:app\"",
                    "\"arn:aws:secretsmanager:us-east-1:1:secret:rds!db\"",
                ],
            ),
            ("secretsmanager:GetRandomPassword", vec!["\"*\""]),
            ("ec2:CreateNetworkInterface", vec!["\"*\""]),
            (
                "rds:DescribeDBInstances",
                vec!["\"arn:aws:rds:us-east-1:1:db:tutorial\""],
            ),
            (
                "kms:Decrypt",
                vec![
                    "\"arn:aws:kms:us-east-1:1:key/app-key\"",
                    "\"arn:aws:kms:us-east-1:1:key/k\"",
                ],
            ),
            (
                "kms:GenerateDataKey",
                vec!["\"arn:aws:kms:us-east-1:1:key/app-key\""],
            ),
            // Deploy's admin secret is an instance's: no cluster to describe.
            ("rds:DescribeDBClusters", vec![]),
            ("secretsmanager:DeleteSecret", vec![]),
            ("secretsmanager:*", vec![]),
        ];
        for (action, expected) in cases {
            assert_eq!(resource_of(action), expected, "{action}");
        }
        // Nothing but the three actions above and logs goes to "*" without a condition.
        for statement in statements {
            if statement["Resource"] == "*" && statement["Condition"].is_null() {
                let actions = statement["Action"].to_string();
                assert!(
                    actions.contains("GetRandomPassword") || actions.contains("NetworkInterface"),
                    "{statement}"
                );
            }
        }
    }

    #[test]
    fn every_call_of_the_table_that_deploys_setup_makes_is_allowed_and_no_other() {
        let resources = RoleResources {
            secret_arn: "arn:aws:secretsmanager:us-east-1:1:secret:app".to_owned(),
            admin_secret_arn: "arn:aws:secretsmanager:us-east-1:1:secret:rds!db".to_owned(),
            db_instance_arns: vec![
                "arn:aws:rds:us-east-1:1:db:tutorial".to_owned(),
                "arn:aws:rds:us-east-1:1:db:replica".to_owned(),
            ],
            log_group_arn: "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f".to_owned(),
            secrets_manager_host: "secretsmanager.us-east-1.amazonaws.com".to_owned(),
            ..RoleResources::default()
        };
        let policy = rotation_policy(&resources);
        let statements = policy["Statement"].as_array().expect("statements");
        let allowed: Vec<String> = statements
            .iter()
            .flat_map(|s| match &s["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        // The AWS managed key (no key given) needs nothing; the cluster and
        // host-based calls are not made by deploy's setup.
        let mut expected =
            permissions::actions(|c| made_here(c.when) && c.when != When::CustomerManagedKey);
        let mut granted: Vec<&str> = allowed
            .iter()
            .map(String::as_str)
            .filter(|a| !a.starts_with("ec2:") && !a.starts_with("logs:"))
            .collect();
        expected.sort_unstable();
        granted.sort_unstable();
        granted.dedup();
        assert_eq!(granted, expected);
        for (action, resource) in [
            ("secretsmanager:GetRandomPassword", json!("*")),
            (
                "rds:DescribeDBInstances",
                json!([
                    "arn:aws:rds:us-east-1:1:db:tutorial",
                    "arn:aws:rds:us-east-1:1:db:replica"
                ]),
            ),
        ] {
            // Alone in its statement, as tests/tests/it/rotator_iam.rs removes it.
            let statement = statements
                .iter()
                .find(|s| s["Action"] == json!(action))
                .unwrap_or_else(|| panic!("{action} alone in a statement"));
            assert_eq!(statement["Resource"], resource, "{action}");
        }
        assert!(
            !allowed.iter().any(|a| a.starts_with("kms:")),
            "{allowed:?}"
        );
        assert!(!allowed.iter().any(|a| a == "rds:DescribeDBClusters"));
    }

    #[test]
    fn a_key_is_named_by_its_arn_and_the_aws_managed_key_needs_nothing() {
        let secret = "arn:aws:secretsmanager:eu-west-1:1:secret:app";
        let cases = [
            (None, None),
            (Some("alias/aws/secretsmanager"), None),
            (
                Some("arn:aws:kms:eu-west-1:1:alias/aws/secretsmanager"),
                None,
            ),
            (Some("1234"), Some("arn:aws:kms:eu-west-1:1:key/1234")),
            (
                Some("arn:aws:kms:eu-west-1:2:key/99"),
                Some("arn:aws:kms:eu-west-1:2:key/99"),
            ),
            (Some("alias/mine"), Some("*")),
        ];
        for (key, expected) in cases {
            assert_eq!(key_resource(key, secret).as_deref(), expected, "{key:?}");
        }
    }
}
