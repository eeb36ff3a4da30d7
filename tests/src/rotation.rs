//! The rotator as a Lambda function of the emulator: its zip, a function of a given
//! role, rotations started with `RotateSecret`, and RDS instances with an RDS-managed
//! admin secret. Shared by the rotator's test areas (one with IAM enforced).

use std::path::Path;

use aws_config::SdkConfig;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_secretsmanager::types::RotationRulesType;
use serde_json::Value;
use sqlx::MySqlConnection;

use crate::{db_options, emulator, login, unique_name};

/// The packaged function; `cargo xtask test` builds it before the tests run.
///
/// # Panics
/// When it has not been built.
pub fn rotator_zip() -> Vec<u8> {
    let path = xtask::build::zip_path();
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `cargo xtask build` first (`cargo xtask test` does)",
            path.display()
        )
    })
}

/// Creates the rotator as a function of `role` with the environment `env`; returns its ARN.
///
/// # Panics
/// When the function cannot be created.
pub async fn deploy_rotator_as(config: &SdkConfig, role: &str, env: &[(&str, &str)]) -> String {
    use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime};
    let lambda = aws_sdk_lambda::Client::new(config);
    let mut environment = Environment::builder();
    for (key, value) in env {
        environment = environment.variables(*key, *value);
    }
    let name = unique_name("rotator");
    let environment = environment.build();
    let code = FunctionCode::builder()
        .zip_file(Blob::new(rotator_zip()))
        .build();
    let created = crate::retry_role_propagation(|| {
        lambda
            .create_function()
            .function_name(&name)
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(role)
            .timeout(30)
            .memory_size(128)
            .environment(environment.clone())
            .code(code.clone())
            .send()
    })
    .await
    .expect("create rotator function");
    // A new function is Pending for a moment and is not invoked until Active.
    xtask::aws::wait_for_function(&lambda, &name)
        .await
        .unwrap_or_else(|e| panic!("function {name}: {e:#}"));
    crate::allow_secrets_manager(config, &name).await;
    created.function_arn().expect("arn").to_owned()
}

/// Starts a rotation of `secret` by `function` with the tutorial's schedule and waits
/// for it to end; returns its token (the new version's id).
///
/// # Panics
/// When `RotateSecret` fails or the rotation does not end in time.
pub async fn rotate(config: &SdkConfig, secret: &str, function: &str) -> String {
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let out = secrets
        .rotate_secret()
        .secret_id(secret)
        .rotation_lambda_arn(function)
        .rotation_rules(
            RotationRulesType::builder()
                .schedule_expression("rate(2 days)")
                .duration("2h")
                .build(),
        )
        .send()
        .await
        .expect("RotateSecret");
    let version = out.version_id().expect("version").to_owned();
    // RotateSecret only starts the rotation (as in AWS); the tests look once it ended.
    crate::wait_for_rotation(secret, &version).await;
    version
}

/// Removes `AWSPENDING` from the version `token` a failed rotation left, the way
/// out CancelRotateSecret's documentation describes: Secrets Manager refuses every
/// new rotation while that label sits on another version than `AWSCURRENT`.
///
/// # Panics
/// When `UpdateSecretVersionStage` fails.
pub async fn clear_pending(config: &SdkConfig, secret: &str, token: &str) {
    xtask::pending::remove_pending(&aws_sdk_secretsmanager::Client::new(config), secret, token)
        .await
        .expect("UpdateSecretVersionStage: remove AWSPENDING");
}

/// The JSON value of `secret` at `stage`.
///
/// # Panics
/// When it cannot be read or is not JSON.
pub async fn value(config: &SdkConfig, secret: &str, stage: &str) -> Value {
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let out = secrets
        .get_secret_value()
        .secret_id(secret)
        .version_stage(stage)
        .send()
        .await
        .expect("GetSecretValue");
    serde_json::from_str(out.secret_string().expect("string")).expect("json")
}

/// The version `AWSCURRENT` is on, and `AWSPENDING`'s when a rotation is unfinished.
///
/// # Panics
/// When the secret has no `AWSCURRENT`.
pub async fn current_version(config: &SdkConfig, secret: &str) -> (String, Option<String>) {
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let found = crate::stages(&secrets, secret).await;
    (found.current.expect("AWSCURRENT"), found.pending)
}

/// Everything the function's processes wrote (the emulator keeps a file per
/// execution environment, `<function>-<n>.log`).
///
/// # Panics
/// When the emulator has no Lambda log directory.
pub fn function_logs(function: &str) -> String {
    let name = function.rsplit(':').next().expect("name");
    let dir = emulator().dir.join("run").join("lambda");
    assert!(
        Path::new(&dir).exists(),
        "no Lambda log directory {}",
        dir.display()
    );
    let mut logs = String::new();
    for entry in std::fs::read_dir(&dir).expect("lambda log dir").flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(&format!("{name}-"))
            && entry.path().extension().is_some_and(|e| e == "log")
        {
            logs.push_str(&std::fs::read_to_string(entry.path()).expect("log"));
        }
    }
    logs
}

/// An RDS instance of the emulator (a MariaDB server of its own) with its admin secret
/// (`managed_arn`: RDS's own, or an ordinary one for `rds_instance_with_own_password`),
/// and a connection to it as its master user.
#[derive(Debug)]
pub struct RdsInstance {
    pub id: String,
    pub arn: String,
    pub host: String,
    pub port: u16,
    pub managed_arn: String,
    pub master: MySqlConnection,
}

/// Creates a MySQL instance with `ManageMasterUserPassword`, waits until it is
/// available and logs in as its master user.
///
/// The instance is publicly accessible in the default VPC, with a security group of
/// its own admitting MySQL from anywhere: the setup in which a function outside any
/// VPC (as the rotator tests deploy it) reaches a database on AWS. The emulator's
/// network decides that as AWS does; the tutorial's private setup is `cargo xtask
/// provision`'s, tested in `tests/tests/it/xtask.rs`.
///
/// # Panics
/// When any of that fails.
pub async fn rds_instance(config: &SdkConfig, prefix: &str) -> RdsInstance {
    rds_instance_of(config, prefix, None).await
}

/// The same with a master password of its own, kept in an ordinary secret (engine,
/// host, port, username, password) named by `managed_arn`: the source RDS makes read
/// replicas of. RDS refuses a replica of a source whose password it manages (RDS user
/// guide, "Password management with Amazon RDS and AWS Secrets Manager", limitations).
///
/// # Panics
/// When any of that fails.
pub async fn rds_instance_with_own_password(config: &SdkConfig, prefix: &str) -> RdsInstance {
    let password = format!("Own-{}", unique_name("pw"));
    rds_instance_of(config, prefix, Some(&password)).await
}

async fn rds_instance_of(config: &SdkConfig, prefix: &str, password: Option<&str>) -> RdsInstance {
    let rds = aws_sdk_rds::Client::new(config);
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let id = unique_name(prefix);
    let group = public_mysql_group(config, &id).await;
    let create = rds
        .create_db_instance()
        .db_instance_identifier(&id)
        .engine("mysql")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .publicly_accessible(true)
        .vpc_security_group_ids(group);
    let create = match password {
        Some(password) => create.master_user_password(password),
        None => create.manage_master_user_password(true),
    };
    create.send().await.expect("create instance");
    let instance = crate::available_db_instance(&rds, &id).await;
    let (host, port) = endpoint_of(&instance);
    let managed_arn = match password {
        None => instance
            .master_user_secret()
            .and_then(|s| s.secret_arn())
            .expect("managed secret")
            .to_owned(),
        Some(password) => secrets
            .create_secret()
            .name(format!("{id}-admin"))
            .secret_string(
                serde_json::json!({"engine": "mysql", "host": host, "port": port, "username": "admin", "password": password})
                    .to_string(),
            )
            .send()
            .await
            .expect("admin secret")
            .arn()
            .expect("admin secret ARN")
            .to_owned(),
    };
    let managed: Value = serde_json::from_str(
        secrets
            .get_secret_value()
            .secret_id(&managed_arn)
            .send()
            .await
            .expect("managed value")
            .secret_string()
            .expect("string"),
    )
    .expect("json");
    let master = login(&db_options(
        &host,
        port,
        managed["username"].as_str().expect("u"),
        managed["password"].as_str().expect("p"),
    ))
    .await
    .expect("master login");
    RdsInstance {
        arn: instance.db_instance_arn().expect("instance ARN").to_owned(),
        id,
        host,
        port,
        managed_arn,
        master,
    }
}

/// Deletes a test's own RDS instance, without a final snapshot.
///
/// # Panics
/// When RDS refuses.
pub async fn delete_instance(rds: &aws_sdk_rds::Client, id: &str) {
    rds.delete_db_instance()
        .db_instance_identifier(id)
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("delete");
}

/// The address and port RDS reports for an instance.
///
/// # Panics
/// When it has no endpoint.
pub fn endpoint_of(instance: &aws_sdk_rds::types::DbInstance) -> (String, u16) {
    let endpoint = instance.endpoint().expect("endpoint");
    (
        endpoint.address().expect("address").to_owned(),
        u16::try_from(endpoint.port().expect("port")).expect("port"),
    )
}

/// A security group of the default VPC admitting MySQL (3306) from anywhere.
///
/// # Panics
/// When EC2 refuses.
pub async fn public_mysql_group(config: &SdkConfig, name: &str) -> String {
    use aws_sdk_ec2::types::{IpPermission, IpRange};
    let ec2 = aws_sdk_ec2::Client::new(config);
    let group = ec2
        .create_security_group()
        .group_name(format!("{name}-mysql"))
        .description("MySQL from anywhere (a publicly accessible test database)")
        .send()
        .await
        .expect("CreateSecurityGroup")
        .group_id()
        .expect("group id")
        .to_owned();
    crate::eventually(|| {
        ec2.authorize_security_group_ingress()
            .group_id(&group)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(3306)
                    .to_port(3306)
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .send()
    })
    .await
    .expect("AuthorizeSecurityGroupIngress");
    group
}

/// A connection as `root` to the MariaDB server of the emulator's RDS instance `id`,
/// through its socket: the operator's way in, outside RDS's world (no RDS user can
/// do what root does), for a test that needs a grant RDS's master user cannot give.
///
/// # Panics
/// When the instance has no server here or root cannot log in.
pub async fn instance_root(id: &str) -> MySqlConnection {
    xtask::emulator::instance_root(&emulator().dir, id)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
}
