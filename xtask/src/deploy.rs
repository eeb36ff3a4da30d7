//! `cargo xtask deploy`: the rotation function, its role and permission, and the
//! secret's rotation schedule.
//!
//! Deploy reads what provision made (by the run's tags and names) and creates or
//! updates the rest in place: a rerun uploads the code and configuration again and
//! changes nothing else. `--dry-run` still reads (to know what exists) but makes no
//! write call; it prints each one instead.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use aws_config::SdkConfig;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, Environment, FunctionCode, Runtime, VpcConfig};
use aws_sdk_secretsmanager::types::RotationRulesType;
use serde_json::{Value, json};

use permissions::{CALLS, Resource, When};

use crate::aws::{self, Calls, say};
use crate::names::{self, Names};
use crate::tags::{filter, owns_ec2, run_filters, tag_spec};

/// The statement id of the permission letting Secrets Manager invoke the function.
pub const PERMISSION_ID: &str = "SecretsManagerAccess";
/// The function's settings, from the issue: 128 MB, 30 s.
const MEMORY_MB: i32 = 128;
/// How long the function's logs are kept: a year, the usual audit trail retention.
pub const LOG_RETENTION_DAYS: i32 = 365;
const TIMEOUT_S: i32 = 30;

/// Options of `cargo xtask deploy`.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    pub names: Names,
    /// The function's zip (`cargo xtask build`).
    pub zip: PathBuf,
    /// PEM bundle of the database's CAs: its path becomes the function's `DB_CA_BUNDLE`.
    pub db_ca_bundle: Option<PathBuf>,
    /// Print every write call instead of making it.
    pub dry_run: bool,
    /// How long to wait for the first rotation.
    pub rotation_timeout: Duration,
    pub verbose: bool,
}

/// What a deploy did.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub function_arn: String,
    pub role_arn: String,
    pub rotation_group: String,
    /// Every write call made (or, in a dry run, that would have been made).
    pub writes: Vec<String>,
}

/// What provision made that deploy needs.
#[derive(Debug, Clone)]
struct Provisioned {
    vpc_id: String,
    private_subnets: Vec<String>,
    database_group: String,
    db_port: i32,
    /// The instance, then its read replicas (the rotator describes each).
    db_instance_arns: Vec<String>,
    admin_secret_arn: String,
    admin_kms_key: Option<String>,
    secret_arn: String,
    secret_kms_key: Option<String>,
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

/// The role's trust policy: Lambda may assume it.
pub fn trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }]
    })
}

/// Whether a function's resource policy already has the Secrets Manager statement.
pub fn has_permission(policy: &str) -> bool {
    serde_json::from_str::<Value>(policy)
        .ok()
        .and_then(|p| p["Statement"].as_array().cloned())
        .is_some_and(|statements| {
            statements
                .iter()
                .any(|s| s["Sid"].as_str() == Some(PERMISSION_ID))
        })
}

/// Deploys; see the module documentation.
pub async fn deploy(config: &SdkConfig, options: &DeployOptions) -> Result<Deployed> {
    let names = &options.names;
    let mut calls = Calls::new(options.dry_run);
    let ec2 = aws_sdk_ec2::Client::new(config);
    let iam = aws_sdk_iam::Client::new(config);
    let lambda = aws_sdk_lambda::Client::new(config);
    let region = config.region().map(ToString::to_string).unwrap_or_default();
    // Account and partition of every ARN written below (not `arn:aws:` everywhere).
    let caller = aws::Caller::find(config).await?;
    let zip = read_zip(options)?;
    let found = find_provisioned(config, names).await?;
    let note = |message: String| {
        if options.verbose {
            say(&message);
        }
    };

    // The function's own security group, admitted by the database's.
    let rotation_group = rotation_group(&ec2, names, &found.vpc_id, &mut calls).await?;
    note(format!(
        "security group {rotation_group} {}",
        names.rotation_group
    ));
    crate::resources::security_group::admit_tcp(
        &ec2,
        &found.database_group,
        found.db_port,
        &rotation_group,
        &mut calls,
    )
    .await?;

    // The role and its least-privilege policy.
    let role_arn = role(&iam, names, &caller, &region, &mut calls).await?;
    put_role_policy(&iam, names, &caller, &region, &found, &mut calls).await?;
    note(format!(
        "role {role_arn} with inline policy {}",
        names.role_policy
    ));

    // The log group, before the first invocation would make one with no tags and no
    // expiry (Lambda creates `/aws/lambda/<function>` on first use otherwise).
    ensure_log_group(
        &aws_sdk_cloudwatchlogs::Client::new(config),
        names,
        &mut calls,
    )
    .await?;
    note(format!(
        "log group /aws/lambda/{} (kept {LOG_RETENTION_DAYS} days)",
        names.function
    ));

    // The function: created, or its code and configuration updated in place.
    let function = FunctionSetup::new(options, zip, &role_arn, &found, &rotation_group);
    let function_arn = if let Some(arn) = existing_function(&lambda, names).await? {
        update_function(&lambda, options, &function, &mut calls).await?;
        note(format!("function {} updated in place", names.function));
        arn
    } else if calls.write(format!(
        "lambda:CreateFunction {} (provided.al2023, x86_64, {MEMORY_MB} MB, {TIMEOUT_S} s, subnets {}, group {rotation_group})",
        names.function,
        found.private_subnets.join(",")
    )) {
        let arn = create_function(&lambda, names, &function).await?;
        note(format!("function {} created", names.function));
        arn
    } else {
        caller.arn("lambda", &region, &format!("function:{}", names.function))
    };

    // Secrets Manager of this account may invoke it.
    let account = caller.account.clone();
    allow_secrets_manager(&lambda, names, &account, &mut calls).await?;

    // The schedule, unless already exactly so; the first rotation runs now.
    configure_rotation(
        config,
        options,
        &found.secret_arn,
        &function_arn,
        &mut calls,
    )
    .await?;
    Ok(Deployed {
        function_arn,
        role_arn,
        rotation_group,
        writes: calls.writes,
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

/// The role's inline policy, written (or, in a dry run, announced) on every run.
async fn put_role_policy(
    iam: &aws_sdk_iam::Client,
    names: &Names,
    caller: &aws::Caller,
    region: &str,
    found: &Provisioned,
    calls: &mut Calls,
) -> Result<()> {
    let log_group = caller.arn(
        "logs",
        region,
        &format!("log-group:/aws/lambda/{}", names.function),
    );
    let policy = rotation_policy(&RoleResources {
        secret_arn: found.secret_arn.clone(),
        secret_kms_key: found.secret_kms_key.clone(),
        admin_secret_arn: found.admin_secret_arn.clone(),
        admin_kms_key: found.admin_kms_key.clone(),
        db_instance_arns: found.db_instance_arns.clone(),
        log_group_arn: log_group,
        secrets_manager_host: caller.service_host("secretsmanager", region),
    });
    if calls.write(format!(
        "iam:PutRolePolicy {} {} {policy}",
        names.role, names.role_policy
    )) {
        iam.put_role_policy()
            .role_name(&names.role)
            .policy_name(&names.role_policy)
            .policy_document(policy.to_string())
            .send()
            .await
            .map_err(|e| anyhow!("iam:PutRolePolicy {}: {}", names.role, aws::describe(&e)))?;
    }
    Ok(())
}

/// The function's code and configuration, as deploy creates or updates it.
struct FunctionSetup<'a> {
    zip: Vec<u8>,
    role_arn: &'a str,
    vpc: VpcConfig,
    environment: Environment,
}

impl<'a> FunctionSetup<'a> {
    fn new(
        options: &DeployOptions,
        zip: Vec<u8>,
        role_arn: &'a str,
        found: &Provisioned,
        rotation_group: &str,
    ) -> Self {
        let mut environment = Environment::builder();
        if options.db_ca_bundle.is_some() {
            environment = environment.variables("DB_CA_BUNDLE", crate::build::PACKAGED_CA_BUNDLE);
        }
        let environment = environment.build();
        let vpc = VpcConfig::builder()
            .set_subnet_ids(Some(found.private_subnets.clone()))
            .security_group_ids(rotation_group)
            .build();
        Self {
            zip,
            role_arn,
            vpc,
            environment,
        }
    }
}

/// The function's ARN, if it exists.
async fn existing_function(
    lambda: &aws_sdk_lambda::Client,
    names: &Names,
) -> Result<Option<String>> {
    match lambda
        .get_function()
        .function_name(&names.function)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .configuration()
            .and_then(|c| c.function_arn())
            .map(str::to_owned)),
        Err(error) if aws::is_not_found(&error) => Ok(None),
        Err(error) => bail!(
            "lambda:GetFunction {}: {}",
            names.function,
            aws::describe(&error)
        ),
    }
}

/// Uploads the code and the configuration of an existing function again.
async fn update_function(
    lambda: &aws_sdk_lambda::Client,
    options: &DeployOptions,
    function: &FunctionSetup<'_>,
    calls: &mut Calls,
) -> Result<()> {
    let names = &options.names;
    let FunctionSetup {
        zip,
        role_arn,
        vpc,
        environment,
    } = function;
    if calls.write(format!(
        "lambda:UpdateFunctionCode {} ({} bytes from {})",
        names.function,
        zip.len(),
        options.zip.display()
    )) {
        aws::retry_transient(
            &format!("lambda:UpdateFunctionCode {}", names.function),
            Duration::from_mins(2),
            || {
                lambda
                    .update_function_code()
                    .function_name(&names.function)
                    .zip_file(Blob::new(zip.clone()))
                    .architectures(Architecture::X8664)
                    .send()
            },
        )
        .await?;
        aws::wait_for_function(lambda, &names.function).await?;
    }
    if calls.write(format!(
        "lambda:UpdateFunctionConfiguration {} (role, provided.al2023, {MEMORY_MB} MB, {TIMEOUT_S} s, VPC, DB_CA_BUNDLE)",
        names.function
    )) {
        aws::retry_transient(&format!("lambda:UpdateFunctionConfiguration {}", names.function), Duration::from_mins(2),
            || {
                lambda
                    .update_function_configuration()
                    .function_name(&names.function)
                    .role(*role_arn)
                    .runtime(Runtime::Providedal2023)
                    .handler("bootstrap")
                    .memory_size(MEMORY_MB)
                    .timeout(TIMEOUT_S)
                    .vpc_config(vpc.clone())
                    .environment(environment.clone())
                    .send()
            },
        )
        .await?;
        aws::wait_for_function(lambda, &names.function).await?;
    }
    Ok(())
}

/// Creates the function with the run's tags and waits until it is ready; its ARN.
async fn create_function(
    lambda: &aws_sdk_lambda::Client,
    names: &Names,
    function: &FunctionSetup<'_>,
) -> Result<String> {
    let mut request_tags = std::collections::HashMap::new();
    for (key, value) in names.tags() {
        request_tags.insert(key.to_owned(), value);
    }
    let created = aws::retry_transient(
        &format!("lambda:CreateFunction {}", names.function),
        Duration::from_mins(2),
        || {
            lambda
                .create_function()
                .function_name(&names.function)
                .description(format!(
                    "Alternating-users rotation of {} (cargo xtask deploy)",
                    names.secret
                ))
                .runtime(Runtime::Providedal2023)
                .handler("bootstrap")
                .architectures(Architecture::X8664)
                .role(function.role_arn)
                .memory_size(MEMORY_MB)
                .timeout(TIMEOUT_S)
                .vpc_config(function.vpc.clone())
                .environment(function.environment.clone())
                .set_tags(Some(request_tags.clone()))
                .code(
                    FunctionCode::builder()
                        .zip_file(Blob::new(function.zip.clone()))
                        .build(),
                )
                .send()
        },
    )
    .await?;
    aws::wait_for_function(lambda, &names.function).await?;
    Ok(created.function_arn().unwrap_or_default().to_owned())
}

/// Lets Secrets Manager of `account` invoke the function, unless it already may.
async fn allow_secrets_manager(
    lambda: &aws_sdk_lambda::Client,
    names: &Names,
    account: &str,
    calls: &mut Calls,
) -> Result<()> {
    let has = match lambda
        .get_policy()
        .function_name(&names.function)
        .send()
        .await
    {
        Ok(out) => out.policy().is_some_and(has_permission),
        Err(error) if aws::is_not_found(&error) => false, // no resource policy yet
        Err(error) => bail!(
            "lambda:GetPolicy {}: {}; deploy needs it to see whether Secrets Manager may already invoke the function",
            names.function,
            aws::describe(&error)
        ),
    };
    if !has
        && calls.write(format!(
            "lambda:AddPermission {} {PERMISSION_ID} lambda:InvokeFunction secretsmanager.amazonaws.com aws:SourceAccount={account}",
            names.function
        ))
    {
        lambda
            .add_permission()
            .function_name(&names.function)
            .statement_id(PERMISSION_ID)
            .action("lambda:InvokeFunction")
            .principal("secretsmanager.amazonaws.com")
            .source_account(account)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "lambda:AddPermission {}: {}",
                    names.function,
                    aws::describe(&e)
                )
            })?;
    }
    Ok(())
}

/// The secret's schedule and window, unless already exactly so; the first rotation
/// then runs and is waited for. A rotation left unfinished is named with its way
/// out before anything is asked of Secrets Manager, which would refuse (API
/// reference, RotateSecret), and in a dry run too.
async fn configure_rotation(
    config: &SdkConfig,
    options: &DeployOptions,
    secret_arn: &str,
    function_arn: &str,
    calls: &mut Calls,
) -> Result<()> {
    let names = &options.names;
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let described = aws::describe_secret(&secrets, &names.secret).await?;
    let function = names.function.as_str();
    let unfinished = crate::rotation_status::Labels::of(&described).pending;
    let rules = described.rotation_rules();
    let configured = described.rotation_enabled() == Some(true)
        && described.rotation_lambda_arn() == Some(function_arn)
        && rules.and_then(|r| r.schedule_expression()) == Some(names::SCHEDULE)
        && rules.and_then(|r| r.duration()) == Some(names::WINDOW);
    if configured {
        if options.verbose {
            say(&format!(
                "secret {} already rotates {} within {}",
                names.secret,
                names::SCHEDULE,
                names::WINDOW
            ));
        }
        if let Some(pending) = unfinished {
            // The configuration is right, but no rotation will succeed until this is seen to.
            say(&format!(
                "warning: {:#}",
                crate::pending::unfinished(&names.secret, &pending, Some(function))
            ));
        }
        return Ok(());
    }
    if let Some(pending) = unfinished {
        return Err(
            crate::pending::unfinished(&names.secret, &pending, Some(function))
                .context("deploy cannot configure and start the rotation"),
        );
    }
    if !calls.write(format!(
        "secretsmanager:RotateSecret {} function {function_arn} ScheduleExpression {} Duration {} RotateImmediately true",
        names.secret,
        names::SCHEDULE,
        names::WINDOW
    )) {
        return Ok(());
    }
    // Right after AddPermission, Secrets Manager may not see the new statement yet.
    let rotated = aws::retry_while(
        &format!("secretsmanager:RotateSecret {}", names.secret),
        Duration::from_mins(2),
        |e| aws::is_transient(e) || aws::is_invoke_permission_propagating(e),
        || {
            secrets
                .rotate_secret()
                .secret_id(secret_arn)
                .rotation_lambda_arn(function_arn)
                .rotation_rules(
                    RotationRulesType::builder()
                        .schedule_expression(names::SCHEDULE)
                        .duration(names::WINDOW)
                        .build(),
                )
                .rotate_immediately(true)
                .send()
        },
    )
    .await?;
    if let Some(version) = rotated.version_id() {
        crate::rotation_status::wait_for_rotation(
            config,
            &names.secret,
            version,
            options.rotation_timeout,
        )
        .await?;
    }
    if options.verbose {
        say(&format!(
            "secret {} rotates {} within {}; first rotation done",
            names.secret,
            names::SCHEDULE,
            names::WINDOW
        ));
    }
    Ok(())
}

async fn find_provisioned(config: &SdkConfig, names: &Names) -> Result<Provisioned> {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let rds = aws_sdk_rds::Client::new(config);
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let vpc_id = find_vpc(&ec2, names).await?;
    let private_subnets = find_private_subnets(&ec2, names, &vpc_id).await?;
    let database_group = find_database_group(&ec2, names, &vpc_id).await?;
    let instance = find_db_instance(&rds, names).await?;
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
    Ok(Provisioned {
        vpc_id,
        private_subnets,
        database_group,
        db_port,
        db_instance_arns: instance_and_replicas(&instance),
        admin_secret_arn,
        admin_kms_key: admin.and_then(|s| s.kms_key_id()).map(str::to_owned),
        secret_arn: secret.arn().unwrap_or_default().to_owned(),
        secret_kms_key: secret.kms_key_id().map(str::to_owned),
    })
}

/// The error for something provision makes that is not there.
fn missing(names: &Names, what: &str) -> anyhow::Error {
    anyhow!(
        "{what} of run {} not found; run `cargo xtask provision --name {}` first",
        names.run,
        names.run
    )
}

/// The run's VPC, by its tags.
async fn find_vpc(ec2: &aws_sdk_ec2::Client, names: &Names) -> Result<String> {
    let vpcs = ec2
        .describe_vpcs()
        .set_filters(Some(run_filters(names)))
        .send()
        .await
        .map_err(|e| anyhow!("ec2:DescribeVpcs: {}", aws::describe(&e)))?;
    Ok(vpcs
        .vpcs()
        .first()
        .and_then(|v| v.vpc_id())
        .ok_or_else(|| missing(names, &format!("VPC {}", names.vpc)))?
        .to_owned())
}

/// The run's private subnets in the VPC, by their tags.
async fn find_private_subnets(
    ec2: &aws_sdk_ec2::Client,
    names: &Names,
    vpc_id: &str,
) -> Result<Vec<String>> {
    let mut filters = run_filters(names);
    filters.push(filter("vpc-id", vpc_id));
    filters.push(filter(&format!("tag:{}", names::TIER_TAG_KEY), "private"));
    let subnets = ec2
        .describe_subnets()
        .set_filters(Some(filters))
        .send()
        .await
        .map_err(|e| anyhow!("ec2:DescribeSubnets: {}", aws::describe(&e)))?;
    let private_subnets: Vec<String> = subnets
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_id().map(str::to_owned))
        .collect();
    if private_subnets.is_empty() {
        return Err(missing(names, "the private subnets"));
    }
    Ok(private_subnets)
}

/// The database's security group in the VPC, by its name, kept only when tagged as the run's.
async fn find_database_group(
    ec2: &aws_sdk_ec2::Client,
    names: &Names,
    vpc_id: &str,
) -> Result<String> {
    let groups = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", vpc_id))
        .filters(filter("group-name", names.database_group.clone()))
        .send()
        .await
        .map_err(|e| anyhow!("ec2:DescribeSecurityGroups: {}", aws::describe(&e)))?;
    Ok(groups
        .security_groups()
        .first()
        .filter(|g| owns_ec2(names, g.tags()))
        .and_then(|g| g.group_id())
        .ok_or_else(|| missing(names, &format!("security group {}", names.database_group)))?
        .to_owned())
}

/// The run's DB instance, by its identifier.
async fn find_db_instance(
    rds: &aws_sdk_rds::Client,
    names: &Names,
) -> Result<aws_sdk_rds::types::DbInstance> {
    let instances = rds
        .describe_db_instances()
        .db_instance_identifier(&names.db_instance)
        .send()
        .await
        .map_err(|e| {
            if aws::is_not_found(&e) {
                missing(names, &format!("RDS instance {}", names.db_instance))
            } else {
                anyhow!(
                    "rds:DescribeDBInstances {}: {}",
                    names.db_instance,
                    aws::describe(&e)
                )
            }
        })?;
    instances
        .db_instances()
        .first()
        .cloned()
        .ok_or_else(|| missing(names, &format!("RDS instance {}", names.db_instance)))
}

/// The ARNs of an instance and of its read replicas: RDS names a replica of the same
/// region by its identifier, one of another region by its ARN.
fn instance_and_replicas(instance: &aws_sdk_rds::types::DbInstance) -> Vec<String> {
    let arn = instance.db_instance_arn().unwrap_or_default();
    let prefix = arn.rsplit_once(':').map_or("", |(prefix, _)| prefix);
    std::iter::once(arn.to_owned())
        .chain(
            instance
                .read_replica_db_instance_identifiers()
                .iter()
                .map(|replica| {
                    if replica.starts_with("arn:") {
                        replica.clone()
                    } else {
                        format!("{prefix}:{replica}")
                    }
                }),
        )
        .collect()
}

async fn rotation_group(
    ec2: &aws_sdk_ec2::Client,
    names: &Names,
    vpc_id: &str,
    calls: &mut Calls,
) -> Result<String> {
    let found = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", vpc_id))
        .filters(filter("group-name", names.rotation_group.clone()))
        .send()
        .await
        .map_err(|e| anyhow!("ec2:DescribeSecurityGroups: {}", aws::describe(&e)))?;
    if let Some(group) = found.security_groups().first() {
        if !owns_ec2(names, group.tags()) {
            bail!(
                "security group {} exists in {vpc_id} without the run's tags; delete it or choose another --name",
                names.rotation_group
            );
        }
        return Ok(group.group_id().unwrap_or_default().to_owned());
    }
    if !calls.write(format!(
        "ec2:CreateSecurityGroup {} in {vpc_id}",
        names.rotation_group
    )) {
        return Ok(format!("<new group {}>", names.rotation_group));
    }
    let created = ec2
        .create_security_group()
        .group_name(&names.rotation_group)
        .description("The rotation function; the database admits it")
        .vpc_id(vpc_id)
        .tag_specifications(tag_spec(
            names,
            aws_sdk_ec2::types::ResourceType::SecurityGroup,
            &names.rotation_group,
        ))
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "ec2:CreateSecurityGroup {}: {}",
                names.rotation_group,
                aws::describe(&e)
            )
        })?;
    Ok(created.group_id().unwrap_or_default().to_owned())
}

/// The run's role: adopted only when tagged as the run's and not serving another
/// region (IAM names are global), else created with the run's and the region's tags.
async fn role(
    iam: &aws_sdk_iam::Client,
    names: &Names,
    caller: &aws::Caller,
    region: &str,
    calls: &mut Calls,
) -> Result<String> {
    let region_tag = |value: &str| {
        aws_sdk_iam::types::Tag::builder()
            .key(names::REGION_TAG_KEY)
            .value(value)
            .build()
            .map_err(|e| anyhow!("tag {}: {e}", names::REGION_TAG_KEY))
    };
    match iam.get_role().role_name(&names.role).send().await {
        Ok(out) => {
            let role = out
                .role()
                .ok_or_else(|| anyhow!("iam:GetRole {}: no role returned", names.role))?;
            let tags = || role.tags().iter().map(|t| (t.key(), t.value()));
            if !names.owns(tags()) {
                bail!(
                    "IAM role {} exists without the run's tags; delete it or choose another --name",
                    names.role
                );
            }
            if let Some(other) = Names::role_serves_other_region(tags(), region) {
                bail!(
                    "IAM role {} serves run {} in {other} (tag {}); IAM names are global, so a deploy here would rewrite its policy: deploy this run in {other}, or choose another --name in {region}",
                    names.role,
                    names.run,
                    names::REGION_TAG_KEY
                );
            }
            if !tags().any(|(key, _)| key == names::REGION_TAG_KEY)
                && calls.write(format!(
                    "iam:TagRole {} {}={region}",
                    names.role,
                    names::REGION_TAG_KEY
                ))
            {
                iam.tag_role()
                    .role_name(&names.role)
                    .tags(region_tag(region)?)
                    .send()
                    .await
                    .map_err(|e| anyhow!("iam:TagRole {}: {}", names.role, aws::describe(&e)))?;
            }
            return Ok(role.arn().to_owned());
        }
        Err(error) if aws::is_not_found(&error) => {}
        Err(error) => bail!("iam:GetRole {}: {}", names.role, aws::describe(&error)),
    }
    if !calls.write(format!(
        "iam:CreateRole {} trust lambda.amazonaws.com",
        names.role
    )) {
        return Ok(caller.arn("iam", "", &format!("role/{}", names.role)));
    }
    let mut tags = vec![region_tag(region)?];
    for (key, value) in names.tags() {
        tags.push(
            aws_sdk_iam::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| anyhow!("tag {key}: {e}"))?,
        );
    }
    let created = iam
        .create_role()
        .role_name(&names.role)
        .description(format!("The rotation function of {}", names.secret))
        .assume_role_policy_document(trust_policy().to_string())
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| anyhow!("iam:CreateRole {}: {}", names.role, aws::describe(&e)))?;
    created
        .role()
        .map(|r| r.arn().to_owned())
        .ok_or_else(|| anyhow!("iam:CreateRole {}: no role returned", names.role))
}

/// Creates the function's log group with the run's tags, or tags one Lambda made;
/// sets its retention either way.
async fn ensure_log_group(
    logs: &aws_sdk_cloudwatchlogs::Client,
    names: &Names,
    calls: &mut Calls,
) -> Result<()> {
    let group = format!("/aws/lambda/{}", names.function);
    let exists = logs
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .map_err(|e| anyhow!("logs:DescribeLogGroups {group}: {}", aws::describe(&e)))?
        .log_groups()
        .iter()
        .any(|g| g.log_group_name() == Some(group.as_str()));
    let tags: std::collections::HashMap<String, String> = names
        .tags()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    if !exists {
        if calls.write(format!("logs:CreateLogGroup {group} (tagged)")) {
            match logs
                .create_log_group()
                .log_group_name(&group)
                .set_tags(Some(tags))
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if aws::code(&e) == "ResourceAlreadyExistsException" => {}
                Err(e) => bail!("logs:CreateLogGroup {group}: {}", aws::describe(&e)),
            }
        }
    } else if calls.write(format!("logs:TagLogGroup {group}")) {
        #[allow(deprecated)] // TagResource needs the group's ARN; this takes its name
        logs.tag_log_group()
            .log_group_name(&group)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| anyhow!("logs:TagLogGroup {group}: {}", aws::describe(&e)))?;
    }
    if calls.write(format!(
        "logs:PutRetentionPolicy {group} {LOG_RETENTION_DAYS} days"
    )) {
        logs.put_retention_policy()
            .log_group_name(&group)
            .retention_in_days(LOG_RETENTION_DAYS)
            .send()
            .await
            .map_err(|e| anyhow!("logs:PutRetentionPolicy {group}: {}", aws::describe(&e)))?;
    }
    Ok(())
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

    #[test]
    fn the_permission_is_found_by_its_statement_id() {
        let cases = [
            (r#"{"Statement":[{"Sid":"SecretsManagerAccess"}]}"#, true),
            (r#"{"Statement":[{"Sid":"Other"}]}"#, false),
            (r#"{"Statement":[]}"#, false),
            ("not json", false),
        ];
        for (policy, expected) in cases {
            assert_eq!(has_permission(policy), expected, "{policy}");
        }
    }
}
