//! The rotator with IAM enforced (`--enforce-iam`): the function runs with its
//! execution role's temporary credentials, as in Lambda, so every AWS call it makes
//! is judged by the role's policy. These tests use the emulator with IAM enforced.
//!
//! `cargo xtask deploy` claims that the policy it writes is all the function needs;
//! here a rotation runs with exactly that policy, then with one statement less.

use aws_config::SdkConfig;
use serde_json::{Value, json};
use tests::rotation::{
    RdsInstance, current_version, deploy_rotator_as, function_logs, rds_instance, rotate, value,
};
use tests::{ACCOUNT_ID, RotationOutcome, db_options, login, unique_name};
use xtask::emulator::EmulatorState;

fn emulator() -> &'static EmulatorState {
    tests::emulator_with(true, &[])
}

async fn admin_config() -> SdkConfig {
    xtask::aws::emulator_config(emulator()).await
}

/// An application user on an RDS instance of its own, its secret (whose `masterarn`
/// is the instance's RDS-managed secret, as in the tutorial), and the policy
/// `cargo xtask deploy` gives the rotation function for them.
struct Tutorial {
    secret: String,
    /// The DB instance's identifier.
    instance: String,
    host: String,
    port: u16,
    policy: Value,
    /// What `policy` was built from, for a variant (a customer managed key).
    resources: xtask::deploy::RoleResources,
}

async fn tutorial(config: &SdkConfig) -> Tutorial {
    tutorial_on(config, rds_instance(config, "iamdb").await).await
}

/// The tutorial's setup on `instance`.
async fn tutorial_on(config: &SdkConfig, instance: RdsInstance) -> Tutorial {
    let RdsInstance {
        id,
        arn,
        host,
        port,
        managed_arn,
        mut master,
        ..
    } = instance;
    for statement in [
        "CREATE DATABASE tutorial",
        "CREATE USER 'appuser'@'%' IDENTIFIED BY 'Initial-1'",
        "GRANT SELECT ON tutorial.* TO 'appuser'@'%'",
    ] {
        sqlx::raw_sql(statement)
            .execute(&mut master)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let created = secrets
        .create_secret()
        .name(unique_name("SecretsManagerTutorialAppuser"))
        .secret_string(
            json!({"engine": "mysql", "host": host, "port": port, "username": "appuser", "password": "Initial-1", "dbname": "tutorial", "masterarn": managed_arn, "ssl": true})
                .to_string(),
        )
        .send()
        .await
        .expect("application secret");
    let secret = created.arn().expect("secret ARN").to_owned();
    let region = &emulator().region;
    let log_group = format!("arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:/aws/lambda/rotator*");
    let resources = xtask::deploy::RoleResources {
        secret_arn: secret.clone(),
        admin_secret_arn: managed_arn,
        db_instance_arns: vec![arn],
        log_group_arn: log_group,
        secrets_manager_host: format!("secretsmanager.{region}.amazonaws.com"),
        ..Default::default()
    };
    Tutorial {
        secret,
        instance: id,
        host,
        port,
        policy: xtask::deploy::rotation_policy(&resources),
        resources,
    }
}

/// A role Lambda may assume, with `policy` inline, as `cargo xtask deploy` makes it.
async fn role_with(config: &SdkConfig, policy: &Value) -> String {
    let iam = aws_sdk_iam::Client::new(config);
    let name = unique_name("rotator-iam-role");
    let role = iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(xtask::deploy::trust_policy().to_string())
        .send()
        .await
        .expect("CreateRole");
    iam.put_role_policy()
        .role_name(&name)
        .policy_name("rotation")
        .policy_document(policy.to_string())
        .send()
        .await
        .expect("PutRolePolicy");
    role.role().expect("role").arn().to_owned()
}

async fn rotator_with(config: &SdkConfig, policy: &Value) -> String {
    let role = role_with(config, policy).await;
    rotator_as(config, &role).await
}

async fn rotator_as(config: &SdkConfig, role: &str) -> String {
    let ca = emulator().ca_file.display().to_string();
    deploy_rotator_as(config, role, &[("DB_CA_BUNDLE", &ca)]).await
}

/// The audit's verdict on the rotation function's role (`secret.rotation.function-role`
/// of the application secret, its value read), to hold against what the rotation did.
async fn role_finding(config: &SdkConfig, app: &Tutorial) -> audit::Finding {
    let request = audit::CollectRequest {
        scope: audit::inventory::Scope {
            regions: vec![emulator().region.clone()],
            vpc_id: None,
            secret_ids: vec![app.secret.clone()],
            all_secrets: false,
            db_instance_id: app.instance.clone(),
            read_secrets: true,
            discover: false,
        },
        policy: audit::Policy::default(),
        db_endpoint: None,
        db_ca_bundle: Some(emulator().ca_file.clone()),
    };
    let inventory = audit::collect(std::slice::from_ref(config), &request).await;
    audit::evaluate(&inventory, &audit::Policy::default())
        .into_iter()
        .find(|f| f.check_id == "secret.rotation.function-role")
        .expect("the role check's finding")
}

/// Rotates once with `function`, which must stop at `step` with `error` in its logs
/// and AWSCURRENT untouched; then the audit's verdict on its role.
async fn failed_rotation(
    config: &SdkConfig,
    app: &Tutorial,
    function: &str,
    step: &str,
    error: &str,
) -> audit::Finding {
    let (current_before, _) = current_version(config, &app.secret).await;
    let token = rotate(config, &app.secret, function).await;
    assert_eq!(
        tests::wait_for_rotation(&app.secret, &token).await,
        RotationOutcome::Failed(step.to_owned()),
        "function logs: {}",
        function_logs(function)
    );
    assert_eq!(
        current_version(config, &app.secret).await.0,
        current_before,
        "AWSCURRENT stays"
    );
    let logs = function_logs(function);
    assert!(logs.contains(error), "the error names the refusal: {logs}");
    role_finding(config, app).await
}

#[tokio::test]
async fn the_policy_deploy_writes_is_enough_for_a_rotation() {
    let config = admin_config().await;
    let app = tutorial(&config).await;
    let function = rotator_with(&config, &app.policy).await;

    // The second rotation writes to a user that exists (`appuser`), so it first proves
    // it this secret's, listing the secret's versions (ListSecretVersionIds) as the role.
    for expected in ["appuser_clone", "appuser"] {
        let token = rotate(&config, &app.secret, &function).await;
        assert_eq!(
            tests::wait_for_rotation(&app.secret, &token).await,
            RotationOutcome::Succeeded,
            "function logs: {}",
            function_logs(&function)
        );
        let current = value(&config, &app.secret, "AWSCURRENT").await;
        assert_eq!(current["username"], json!(expected));
        assert!(
            login(&db_options(
                &app.host,
                app.port,
                expected,
                current["password"].as_str().expect("pw")
            ))
            .await
            .is_ok(),
            "the new password logs in"
        );
    }
    // The calls were the role's: the function's credentials are an assumed-role session.
    let logs = function_logs(&function);
    assert!(
        !logs.contains("AccessDenied")
            && !logs.contains("access denied")
            && logs.contains("it is this rotation's"),
        "{logs}"
    );
    // The audit agrees with what happened: the role may do what the rotations did.
    let role = role_finding(&config, &app).await;
    assert_eq!(role.status, audit::Status::Pass, "{}", role.message);
}

/// A `Deny` in the secret's resource policy stops a role its own policy allows
/// (Secrets Manager user guide, "Determine who has permissions to your AWS Secrets
/// Manager secrets"): the rotation fails at its first write, and the audit, which
/// reads that policy beside the role's, fails the role for it instead of passing it.
#[tokio::test]
async fn a_deny_in_the_secrets_resource_policy_fails_the_rotation_and_the_audit() {
    let config = admin_config().await;
    let app = tutorial(&config).await;
    let role = role_with(&config, &app.policy).await;
    let function = rotator_as(&config, &role).await;
    let deny = json!({"Version": "2012-10-17", "Statement": [{"Sid": "NoWritesByTheRotator",
        "Effect": "Deny", "Principal": {"AWS": role}, "Action": "secretsmanager:PutSecretValue",
        "Resource": "*"}]});
    aws_sdk_secretsmanager::Client::new(&config)
        .put_resource_policy()
        .secret_id(&app.secret)
        .resource_policy(deny.to_string())
        .send()
        .await
        .expect("PutResourcePolicy");
    // createSecret is the step that stores the pending password.
    let finding = failed_rotation(
        &config,
        &app,
        &function,
        "createSecret",
        "secretsmanager:PutSecretValue failed: access denied",
    )
    .await;
    assert_eq!(finding.status, audit::Status::Fail, "{}", finding.message);
    assert!(
        finding
            .message
            .contains("statement NoWritesByTheRotator denies secretsmanager:PutSecretValue"),
        "the finding names the secret's policy statement: {}",
        finding.message
    );
}

/// A permissions boundary caps what the role's own policy allows (IAM user guide,
/// "Permissions boundaries for IAM entities"): with one that leaves out
/// `GetRandomPassword`, the rotation stops at its first step, and the audit fails
/// the role naming the boundary.
#[tokio::test]
async fn a_permissions_boundary_without_get_random_password_fails_the_rotation_and_the_audit() {
    let config = admin_config().await;
    let app = tutorial(&config).await;
    let role = role_with(&config, &app.policy).await;
    let iam = aws_sdk_iam::Client::new(&config);
    let boundary = iam
        .create_policy()
        .policy_name(unique_name("rotator-boundary"))
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "NotAction": "secretsmanager:GetRandomPassword", "Resource": "*"}]})
            .to_string(),
        )
        .send()
        .await
        .expect("CreatePolicy");
    let boundary = boundary
        .policy()
        .and_then(|p| p.arn())
        .expect("policy ARN")
        .to_owned();
    iam.put_role_permissions_boundary()
        .role_name(role.rsplit('/').next().expect("role name"))
        .permissions_boundary(&boundary)
        .send()
        .await
        .expect("PutRolePermissionsBoundary");
    let function = rotator_as(&config, &role).await;

    // createSecret is the step that asks for a password.
    let finding = failed_rotation(
        &config,
        &app,
        &function,
        "createSecret",
        "secretsmanager:GetRandomPassword failed: access denied",
    )
    .await;
    assert_eq!(finding.status, audit::Status::Fail, "{}", finding.message);
    assert!(
        finding.message.contains(&format!(
            "permissions boundary {boundary} allows no such request"
        )) && finding.message.contains("secretsmanager:GetRandomPassword"),
        "the finding names the boundary and the call: {}",
        finding.message
    );
}

#[tokio::test]
async fn without_rds_describe_db_instances_the_rotation_stops_and_names_the_action() {
    let config = admin_config().await;
    let app = tutorial(&config).await;
    let mut policy = app.policy.clone();
    let statements = policy["Statement"].as_array_mut().expect("statements");
    let before = statements.len();
    statements.retain(|s| s["Action"] != json!("rds:DescribeDBInstances"));
    assert_eq!(
        statements.len(),
        before - 1,
        "deploy's policy allows it once"
    );
    let function = rotator_with(&config, &policy).await;
    let (current_before, _) = current_version(&config, &app.secret).await;

    let token = rotate(&config, &app.secret, &function).await;
    assert_eq!(
        tests::wait_for_rotation(&app.secret, &token).await,
        RotationOutcome::Failed("setSecret".to_owned()),
        "setSecret is the step that finds the admin's database"
    );
    let (current, pending) = current_version(&config, &app.secret).await;
    assert_eq!(current, current_before, "AWSCURRENT stays");
    assert_eq!(pending.as_deref(), Some(token.as_str()));
    assert!(
        login(&db_options(&app.host, app.port, "appuser", "Initial-1"))
            .await
            .is_ok(),
        "AWSCURRENT's credentials still work"
    );
    // The failed rotation's own error, in the function's logs, and the step's error
    // when it runs again.
    let denied = "rds:DescribeDBInstances failed: access denied";
    let logs = function_logs(&function);
    assert!(
        logs.contains(denied) && !logs.contains("point masterarn at"),
        "the error names the denied action, not the admin secret: {logs}"
    );
    let event = json!({"Step": "setSecret", "SecretId": app.secret, "ClientRequestToken": token});
    let lambda = aws_sdk_lambda::Client::new(&config);
    let (error, body) = tests::invoke(&lambda, &function, &event).await;
    assert_eq!(error.as_deref(), Some("Unhandled"), "{body}");
    assert!(
        body.contains(denied) && !body.contains("point masterarn at"),
        "{body}"
    );
}

/// `GetRandomPassword` takes no resource, so a role that allows Secrets Manager on
/// its secrets only cannot call it: the rotation stops at its first step, before
/// anything is written (the audit's role check requires it for this reason).
#[tokio::test]
async fn without_get_random_password_the_rotation_stops_at_create_secret() {
    let config = admin_config().await;
    let app = tutorial(&config).await;
    let mut policy = app.policy.clone();
    let statements = policy["Statement"].as_array_mut().expect("statements");
    let before = statements.len();
    statements.retain(|s| s["Action"] != json!("secretsmanager:GetRandomPassword"));
    assert_eq!(
        statements.len(),
        before - 1,
        "deploy's policy allows it once"
    );
    let function = rotator_with(&config, &policy).await;
    let (current_before, _) = current_version(&config, &app.secret).await;

    let token = rotate(&config, &app.secret, &function).await;
    assert_eq!(
        tests::wait_for_rotation(&app.secret, &token).await,
        RotationOutcome::Failed("createSecret".to_owned()),
        "createSecret is the step that asks for a password"
    );
    let (current, _) = current_version(&config, &app.secret).await;
    assert_eq!(current, current_before, "AWSCURRENT stays");
    let logs = function_logs(&function);
    assert!(
        logs.contains("secretsmanager:GetRandomPassword failed: access denied"),
        "the error names the denied action: {logs}"
    );
}

/// A read replica added after `cargo xtask deploy` wrote the role's policy (which
/// names the instances it saw) must not stop the rotations of a secret on the primary:
/// the rotator describes the replicas only when the secret's host is not the primary's
/// endpoint. The emulator judges `rds:DescribeDBInstances` by the instance's ARN, so
/// describing the new replica would be denied.
#[tokio::test]
async fn a_replica_added_after_deploy_does_not_stop_rotations_on_the_primary() {
    let config = admin_config().await;
    // RDS makes no replica of a source whose master password it manages.
    let app = tutorial_on(
        &config,
        tests::rotation::rds_instance_with_own_password(&config, "iamdb").await,
    )
    .await;
    let function = rotator_with(&config, &app.policy).await;
    let rds = aws_sdk_rds::Client::new(&config);
    let replica_id = unique_name("iamreplica");
    rds.create_db_instance_read_replica()
        .db_instance_identifier(&replica_id)
        .source_db_instance_identifier(&app.instance)
        .send()
        .await
        .expect("CreateDBInstanceReadReplica");
    let replica = tests::available_db_instance(&rds, &replica_id).await;
    assert!(
        !app.policy.to_string().contains(&replica_id),
        "the policy predates the replica"
    );
    assert_eq!(
        replica.read_replica_source_db_instance_identifier(),
        Some(app.instance.as_str())
    );

    let token = rotate(&config, &app.secret, &function).await;
    assert_eq!(
        tests::wait_for_rotation(&app.secret, &token).await,
        RotationOutcome::Succeeded,
        "function logs: {}",
        function_logs(&function)
    );
    let current = value(&config, &app.secret, "AWSCURRENT").await;
    assert_eq!(current["username"], json!("appuser_clone"));
}

/// The application secret re-encrypted under a new customer managed key (its default
/// key policy, which delegates to the account's IAM policies), and the policy
/// `cargo xtask deploy` gives the rotation function for a secret under that key.
async fn under_a_customer_key(config: &SdkConfig, app: &Tutorial) -> (String, Value) {
    let key = aws_sdk_kms::Client::new(config)
        .create_key()
        .description("the rotated secret's customer managed key")
        .send()
        .await
        .expect("CreateKey")
        .key_metadata()
        .and_then(|k| k.arn().map(str::to_owned))
        .expect("key ARN");
    // A new value with the new key: Secrets Manager encrypts it under that key.
    let current = value(config, &app.secret, "AWSCURRENT").await;
    aws_sdk_secretsmanager::Client::new(config)
        .update_secret()
        .secret_id(&app.secret)
        .kms_key_id(&key)
        .secret_string(current.to_string())
        .send()
        .await
        .expect("UpdateSecret with KmsKeyId");
    let policy = xtask::deploy::rotation_policy(&xtask::deploy::RoleResources {
        secret_kms_key: Some(key.clone()),
        ..app.resources.clone()
    });
    assert!(
        policy.to_string().contains("kms:Decrypt") && policy.to_string().contains(&key),
        "deploy's policy allows kms:Decrypt on the key: {policy}"
    );
    (key, policy)
}

/// A KMS key policy decides before IAM (KMS developer guide, "Key policies in AWS
/// KMS": "Unless the key policy explicitly allows it, you cannot use IAM policies to
/// allow access to a KMS key"): with a key policy that allows only another principal
/// (the administrator), neither the account nor the role, the role's own IAM Allow of
/// kms:Decrypt has no effect, the rotation cannot read the secret, and the audit,
/// which reads the key policy beside the role's, fails the role naming it.
#[tokio::test]
async fn a_key_policy_that_does_not_delegate_to_iam_fails_the_rotation_and_the_audit() {
    let config = admin_config().await;
    let app = tutorial(&config).await;
    let (key, policy) = under_a_customer_key(&config, &app).await;
    let function = rotator_with(&config, &policy).await;
    let administrator = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity")
        .arn()
        .expect("caller ARN")
        .to_owned();
    assert!(
        !administrator.ends_with(":root"),
        "the key's user is a principal, not the account: {administrator}"
    );
    let only_the_administrator = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "AdministratorOnly", "Effect": "Allow", "Principal": {"AWS": administrator},
        "Action": "kms:*", "Resource": "*"}]});
    aws_sdk_kms::Client::new(&config)
        .put_key_policy()
        .key_id(&key)
        .policy_name("default")
        .policy(only_the_administrator.to_string())
        .send()
        .await
        .expect("PutKeyPolicy");
    // createSecret is the step that reads the current value; the rotator reports
    // the key policy's refusal as the read's.
    let finding = failed_rotation(
        &config,
        &app,
        &function,
        "createSecret",
        "secretsmanager:GetSecretValue (AWSCURRENT) failed: access denied",
    )
    .await;
    assert_eq!(finding.status, audit::Status::Fail, "{}", finding.message);
    assert!(
        finding.message.contains(&format!(
            "kms:Decrypt on {key} (the customer-managed key of secret"
        )) && finding.message.contains(&format!(
            "but the key policy of {key} neither allows the role nor delegates to the account's IAM policies"
        )),
        "the finding names the key policy: {}",
        finding.message
    );
}

/// The same key with its default key policy, which delegates to the account: the
/// role's IAM Allow counts, the rotation succeeds, and the audit passes the role,
/// saying it judged the key policy.
#[tokio::test]
async fn a_key_policy_that_delegates_to_iam_lets_the_role_decrypt() {
    let config = admin_config().await;
    let app = tutorial(&config).await;
    let (key, policy) = under_a_customer_key(&config, &app).await;
    let function = rotator_with(&config, &policy).await;

    let token = rotate(&config, &app.secret, &function).await;
    assert_eq!(
        tests::wait_for_rotation(&app.secret, &token).await,
        RotationOutcome::Succeeded,
        "function logs: {}",
        function_logs(&function)
    );
    let current = value(&config, &app.secret, "AWSCURRENT").await;
    assert_eq!(current["username"], json!("appuser_clone"));

    let finding = role_finding(&config, &app).await;
    assert_eq!(finding.status, audit::Status::Pass, "{}", finding.message);
    assert!(
        finding
            .message
            .contains(&format!("the key policy of {key} judged")),
        "the finding says the key policy was judged: {}",
        finding.message
    );
}
