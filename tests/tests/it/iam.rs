//! The emulator with IAM enforced (`--enforce-iam`: moto's access control, every
//! call signed by an IAM user allowed the action). These tests use an emulator
//! apart from the shared one so the other tests keep its administrator credentials.
//!
//! The audit claims that the policy `audit --print-policy` prints is all it needs;
//! here it runs as a user with exactly that policy, then with one action less.

use std::collections::BTreeSet;

use audit::Status;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use serde_json::Value;
use tests::runs::{ca, deploy_options, provision_options};
use tests::unique_name;
use xtask::deploy;
use xtask::emulator::EmulatorState;
use xtask::names::Names;
use xtask::provision;

fn emulator() -> &'static EmulatorState {
    tests::emulator_with(true, &[])
}

async fn admin_config() -> SdkConfig {
    xtask::aws::emulator_config(emulator()).await
}

/// A new IAM user with `policy` inline, and the SDK configuration of its access key.
async fn user_with_policy(admin: &SdkConfig, policy: &Value) -> SdkConfig {
    let iam = aws_sdk_iam::Client::new(admin);
    let user = unique_name("auditor");
    iam.create_user()
        .user_name(&user)
        .send()
        .await
        .expect("CreateUser");
    iam.put_user_policy()
        .user_name(&user)
        .policy_name("audit")
        .policy_document(policy.to_string())
        .send()
        .await
        .expect("PutUserPolicy");
    let key = iam
        .create_access_key()
        .user_name(&user)
        .send()
        .await
        .expect("CreateAccessKey");
    let key = key.access_key().expect("access key");
    let credentials = aws_sdk_secretsmanager::config::Credentials::new(
        key.access_key_id(),
        key.secret_access_key(),
        None,
        None,
        "iam-test-user",
    );
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&emulator().endpoint_url)
        .region(Region::new(emulator().region.clone()))
        .credentials_provider(credentials)
        .load()
        .await
}

#[tokio::test]
async fn a_caller_without_an_action_is_denied_it() {
    let admin = admin_config().await;
    let user = user_with_policy(
        &admin,
        &serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:ListSecrets", "Resource": "*"}
        ]}),
    )
    .await;
    aws_sdk_secretsmanager::Client::new(&user)
        .list_secrets()
        .send()
        .await
        .expect("an allowed action works");
    let denied = aws_sdk_ec2::Client::new(&user)
        .describe_vpcs()
        .send()
        .await
        .expect_err("an action the user lacks is denied");
    let code = aws_sdk_ec2::error::ProvideErrorMetadata::code(&denied).map(str::to_owned);
    let message = aws_sdk_ec2::error::ProvideErrorMetadata::message(&denied)
        .unwrap_or("")
        .to_owned();
    assert!(
        audit::collect::is_access_denied(code.as_deref(), &message),
        "{code:?}: {message}"
    );
    let unknown = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&emulator().endpoint_url)
        .region(Region::new(emulator().region.clone()))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "AKIAUNKNOWNKEY000000",
            "nope",
            None,
            None,
            "unknown",
        ))
        .load()
        .await;
    assert!(
        aws_sdk_secretsmanager::Client::new(&unknown)
            .list_secrets()
            .send()
            .await
            .is_err(),
        "a key no user owns is refused"
    );
}

/// The policy `audit --print-policy` prints, without `action`.
fn policy_without(action: &str) -> Value {
    let mut policy = audit::calls::iam_policy(audit::calls::DEFAULT_ROLE_NAME);
    for statement in policy["Statement"].as_array_mut().expect("statements") {
        if let Some(actions) = statement["Action"].as_array_mut() {
            actions.retain(|a| a != action);
        }
    }
    policy
}

#[tokio::test]
async fn the_audit_needs_exactly_the_policy_it_prints() {
    let admin = admin_config().await;
    let names = Names::new(&unique_name("Iam")).expect("names");
    let provisioned = provision::provision(&admin, &provision_options(&names))
        .await
        .expect("provision as the administrator");
    deploy::deploy(&admin, &deploy_options(&names, false))
        .await
        .expect("deploy as the administrator");
    let vpc = &provisioned.state.vpc_id;

    let auditor = user_with_policy(
        &admin,
        &audit::calls::iam_policy(audit::calls::DEFAULT_ROLE_NAME),
    )
    .await;
    let findings = xtask::demo::audit_run(&auditor, &names, vpc, ca()).await;
    let errors: Vec<String> = findings
        .iter()
        .filter(|f| f.status == Status::Error)
        .map(|f| format!("{}: {}", f.check_id, f.message))
        .collect();
    assert!(errors.is_empty(), "with the printed policy: {errors:#?}");
    let everything: BTreeSet<String> = findings.iter().map(|f| f.check_id.clone()).collect();

    let missing = "ec2:DescribeVpcEndpoints";
    let narrower = user_with_policy(&admin, &policy_without(missing)).await;
    let findings = xtask::demo::audit_run(&narrower, &names, vpc, ca()).await;
    let errored: BTreeSet<&str> = findings
        .iter()
        .filter(|f| f.status == Status::Error)
        .map(|f| f.check_id.as_str())
        .collect();
    assert_eq!(
        errored,
        BTreeSet::from(["vpc.endpoint.rds", "vpc.endpoint.secretsmanager"]),
        "exactly the checks that need {missing} report ERROR (of {everything:?})"
    );
    for finding in findings.iter().filter(|f| f.status == Status::Error) {
        assert!(
            finding.message.contains(missing),
            "{}: {}",
            finding.check_id,
            finding.message
        );
    }
    assert_eq!(
        audit::exit_code(&audit::Summary::of(&findings)),
        audit::EXIT_RUNTIME_ERROR
    );
}

/// The emulator authorises Secrets Manager calls against the secret's ARN, as AWS
/// does, so a caller allowed `GetSecretValue` on one secret only is denied on
/// another. The audit of both keeps what it could read: the first secret's
/// value checks still run and pass, the second's report ERROR naming the action.
#[tokio::test]
async fn a_value_denied_on_one_secret_leaves_the_others_checks_standing() {
    let admin = admin_config().await;
    let names = Names::new(&unique_name("IamTwo")).expect("names");
    let provisioned = provision::provision(&admin, &provision_options(&names))
        .await
        .expect("provision as the administrator");
    deploy::deploy(&admin, &deploy_options(&names, false))
        .await
        .expect("deploy as the administrator");
    let secrets = aws_sdk_secretsmanager::Client::new(&admin);
    let readable = secrets
        .describe_secret()
        .secret_id(&names.secret)
        .send()
        .await
        .expect("describe the secret");
    let readable_arn = readable.arn().expect("arn").to_owned();
    let value = secrets
        .get_secret_value()
        .secret_id(&names.secret)
        .send()
        .await
        .expect("read the secret as the administrator");
    let other = format!("{}Copy", names.secret);
    let other_arn = secrets
        .create_secret()
        .name(&other)
        .secret_string(value.secret_string().expect("string"))
        .send()
        .await
        .expect("create the second secret")
        .arn()
        .expect("arn")
        .to_owned();

    // The printed policy, with secret values readable on the first secret only.
    let mut policy = audit::calls::iam_policy(audit::calls::DEFAULT_ROLE_NAME);
    for statement in policy["Statement"].as_array_mut().expect("statements") {
        if statement["Sid"] == "AuditReadSecretValuesOnlyWithReadSecrets" {
            statement["Resource"] = Value::String(readable_arn.clone());
        }
    }
    let auditor = user_with_policy(&admin, &policy).await;
    let mut request =
        xtask::demo::audit_request(&names, &emulator().region, &provisioned.state.vpc_id, ca());
    request.scope.secret_ids = vec![names.secret.clone(), other.clone()];
    let inventory = audit::collect(std::slice::from_ref(&auditor), &request).await;
    let findings = audit::evaluate(&inventory, &request.policy);
    let of = |id: &str, arn: &str| {
        findings
            .iter()
            .find(|f| f.check_id == id && f.resource == arn)
            .unwrap_or_else(|| panic!("no {id} for {arn} in {findings:#?}"))
    };
    for id in ["secret.rotation.admin-linked", "db.appuser.select"] {
        let readable = of(id, &readable_arn);
        assert_eq!(readable.status, Status::Pass, "{readable:#?}");
        let denied = of(id, &other_arn);
        assert_eq!(denied.status, Status::Error, "{denied:#?}");
        assert!(
            denied
                .message
                .contains("access denied to secretsmanager:GetSecretValue"),
            "{}",
            denied.message
        );
    }
    // The rotation role is judged from the readable secret's masterarn.
    let role = findings
        .iter()
        .find(|f| {
            f.check_id == "secret.rotation.function-role"
                && f.message.contains(&format!("(secret {})", names.secret))
        })
        .expect("the role finding of the readable secret");
    assert_eq!(role.status, Status::Pass, "{role:#?}");
}

const ECHO: &str = env!("CARGO_BIN_EXE_echo-function");

/// A new secret, tagged `team` = `team` when given; its ARN.
async fn secret_of_team(admin: &SdkConfig, team: Option<&str>) -> String {
    let mut create = aws_sdk_secretsmanager::Client::new(admin)
        .create_secret()
        .name(unique_name("TeamSecret"))
        .secret_string(r#"{"generation":0}"#);
    if let Some(team) = team {
        create = create.tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("team")
                .value(team)
                .build(),
        );
    }
    let created = create.send().await.expect("CreateSecret");
    created.arn().expect("arn").to_owned()
}

/// Whether `GetSecretValue` on `secret` is allowed (false: denied, as AWS denies).
async fn may_read(config: &SdkConfig, secret: &str) -> bool {
    match aws_sdk_secretsmanager::Client::new(config)
        .get_secret_value()
        .secret_id(secret)
        .send()
        .await
    {
        Ok(_) => true,
        Err(error) => {
            let code = aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(&error);
            let message = aws_sdk_secretsmanager::error::ProvideErrorMetadata::message(&error)
                .unwrap_or("")
                .to_owned();
            assert!(
                audit::collect::is_access_denied(code, &message),
                "not a denial: {error:?}"
            );
            false
        }
    }
}

/// Whether a user with `statements` may read a secret of team `x`, one of team `y`
/// and an untagged one, in that order.
async fn reads_by_team(statements: Value) -> [bool; 3] {
    let admin = admin_config().await;
    let ours = secret_of_team(&admin, Some("x")).await;
    let theirs = secret_of_team(&admin, Some("y")).await;
    let untagged = secret_of_team(&admin, None).await;
    let user = user_with_policy(
        &admin,
        &serde_json::json!({"Version": "2012-10-17", "Statement": statements}),
    )
    .await;
    [
        may_read(&user, &ours).await,
        may_read(&user, &theirs).await,
        may_read(&user, &untagged).await,
    ]
}

/// IAM applies a statement only where its `Condition` holds in the request's
/// context (IAM user guide, "IAM JSON policy elements: Condition operators"): an
/// `Allow` for secrets tagged `team` = `x` reads such a secret only (the untagged
/// one lacks the key). moto 5.2.5 counts a condition on a key it does not know as
/// met, and allowed all three.
#[tokio::test]
async fn an_allow_applies_only_where_its_condition_holds() {
    let reads = reads_by_team(serde_json::json!([
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
         "Condition": {"StringEquals": {"aws:ResourceTag/team": "x"}}}
    ]))
    .await;
    assert_eq!(reads, [true, false, false], "team x, team y, untagged");
}

/// A `Deny` applies only where its condition holds too: "deny unless tagged
/// `team` = `x`" (a negated operator, true where the tag is absent) leaves the tagged
/// secret readable. moto 5.2.5 counts every operator but `StringEquals` as met, and
/// denied all three.
#[tokio::test]
async fn a_deny_applies_only_where_its_condition_holds() {
    let reads = reads_by_team(serde_json::json!([
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
        {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:ResourceTag/team": "x"}}}
    ]))
    .await;
    assert_eq!(reads, [true, false, false], "team x, team y, untagged");
}

/// A condition the emulator cannot decide (here an operator IAM does not have, which
/// moto's policy validator lets through over no keys; AWS's validator may refuse the
/// policy outright) never lets a caller through: the `Deny` applies.
#[tokio::test]
async fn a_deny_the_emulator_cannot_read_applies() {
    let allow = serde_json::json!(
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"});
    let unreadable = serde_json::json!(
        {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
         "Condition": {"StringEqualsSometimes": {}}});
    assert_eq!(
        reads_by_team(serde_json::json!([allow])).await,
        [true; 3],
        "the Allow alone reads them all"
    );
    assert_eq!(
        reads_by_team(serde_json::json!([allow, unreadable])).await,
        [false; 3],
        "the unreadable Deny applies"
    );
}

/// Secrets Manager invokes a rotation function with the secret's account and ARN as
/// `aws:SourceAccount` and `aws:SourceArn` (Secrets Manager user guide, "Permissions
/// for the Lambda rotation function": with `aws:SourceArn` "the rotation function can
/// only be used to rotate the secret specified by that ARN"). A permission whose
/// `SourceArn` names another secret does not let it rotate this one.
#[tokio::test]
async fn rotate_secret_needs_a_permission_whose_source_arn_is_the_secret() {
    let admin = admin_config().await;
    let secret = secret_of_team(&admin, None).await;
    let other = secret_of_team(&admin, None).await;
    let name = unique_name("rotation-echo");
    let function = tests::create_function(&admin, &name, std::path::Path::new(ECHO), &[], 10).await;
    let lambda = aws_sdk_lambda::Client::new(&admin);
    lambda
        .remove_permission()
        .function_name(&name)
        .statement_id("SecretsManagerRotation")
        .send()
        .await
        .expect("RemovePermission");
    let permit = |sid: &'static str, source: String| {
        lambda
            .add_permission()
            .function_name(&name)
            .statement_id(sid)
            .action("lambda:InvokeFunction")
            .principal("secretsmanager.amazonaws.com")
            .source_account(tests::ACCOUNT_ID)
            .source_arn(source)
            .send()
    };
    let secrets = aws_sdk_secretsmanager::Client::new(&admin);
    let rotate = || {
        secrets
            .rotate_secret()
            .secret_id(&secret)
            .rotation_lambda_arn(&function)
            .send()
    };

    permit("ForTheOtherSecret", other)
        .await
        .expect("AddPermission");
    let refused = rotate().await.expect_err("a permission for another secret");
    let code = aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(&refused);
    let message = aws_sdk_secretsmanager::error::ProvideErrorMetadata::message(&refused);
    assert_eq!(code, Some("AccessDeniedException"), "{refused:?}");
    assert!(
        message
            .unwrap_or("")
            .contains("cannot invoke the specified Lambda function"),
        "{refused:?}"
    );

    permit("ForThisSecret", secret.clone())
        .await
        .expect("AddPermission");
    let started = rotate().await.expect("a permission for this secret");
    // The echo function rotates nothing; the rotation only has to end.
    tests::wait_for_rotation(&secret, started.version_id().expect("version")).await;
}

/// The caller's own ARN (GetCallerIdentity).
async fn arn_of(config: &SdkConfig) -> String {
    aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity")
        .arn()
        .expect("arn")
        .to_owned()
}

/// Secrets Manager judges a request with the secret's resource policy beside the
/// caller's own policies (Secrets Manager user guide, "Determine who has permissions
/// to your AWS Secrets Manager secrets"): its `Deny` stops a caller its identity
/// policy allows, and within one account its `Allow` naming a caller grants what the
/// caller's identity policy does not. moto stored the policy and judged neither.
#[tokio::test]
async fn a_secrets_resource_policy_denies_and_grants_as_iam_evaluates_it() {
    let admin = admin_config().await;
    let secret = secret_of_team(&admin, None).await;
    let allowed = user_with_policy(
        &admin,
        &serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}),
    )
    .await;
    let other = user_with_policy(
        &admin,
        &serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:ListSecrets", "Resource": "*"}]}),
    )
    .await;
    assert_eq!(
        [
            may_read(&allowed, &secret).await,
            may_read(&other, &secret).await
        ],
        [true, false],
        "before the resource policy: only the user whose policy allows it reads"
    );

    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": {"AWS": arn_of(&allowed).await},
         "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": arn_of(&other).await},
         "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]});
    aws_sdk_secretsmanager::Client::new(&admin)
        .put_resource_policy()
        .secret_id(&secret)
        .resource_policy(policy.to_string())
        .send()
        .await
        .expect("PutResourcePolicy");
    assert_eq!(
        [
            may_read(&allowed, &secret).await,
            may_read(&other, &secret).await
        ],
        [false, true],
        "the resource policy's Deny and Allow must apply"
    );
}

/// A key policy: `statements` after the usual "Enable IAM User Permissions"
/// statement when `delegate_to_iam`, else alone.
fn key_policy(delegate_to_iam: bool, statements: &[Value]) -> String {
    let root = format!("arn:aws:iam::{}:root", tests::ACCOUNT_ID);
    let delegation = serde_json::json!({"Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"});
    let mut all = Vec::new();
    if delegate_to_iam {
        all.push(delegation);
    }
    all.extend_from_slice(statements);
    serde_json::json!({"Version": "2012-10-17", "Statement": all}).to_string()
}

/// `None` when the call went through, else its error's code and message (a secret's
/// value is never in either).
fn refusal<T, E: aws_sdk_secretsmanager::error::ProvideErrorMetadata>(
    result: Result<T, E>,
) -> Option<(String, String)> {
    result.err().map(|error| {
        (
            error.code().unwrap_or_default().to_owned(),
            error.message().unwrap_or_default().to_owned(),
        )
    })
}

/// `GetSecretValue` as `config`, as [`refusal`] tells it.
async fn read_error(config: &SdkConfig, secret: &str) -> Option<(String, String)> {
    refusal(
        aws_sdk_secretsmanager::Client::new(config)
            .get_secret_value()
            .secret_id(secret)
            .send()
            .await,
    )
}

/// A secret under a customer managed key is decrypted for the caller, who must be
/// allowed `kms:Decrypt` on the key (Secrets Manager user guide, "Secret encryption
/// and decryption in AWS Secrets Manager"); the key policy decides first: an IAM
/// Allow counts only where the key policy delegates to the account's IAM policies,
/// and a Deny in it wins (KMS developer guide, "Key policies in AWS KMS"). moto
/// returned the value to anyone allowed `secretsmanager:GetSecretValue`.
#[tokio::test]
async fn a_secret_under_a_customer_key_is_read_only_as_the_key_policy_allows() {
    let admin = admin_config().await;
    let kms = aws_sdk_kms::Client::new(&admin);
    let key = kms
        .create_key()
        .description("fidelity: a secret's customer managed key")
        .send()
        .await
        .expect("CreateKey")
        .key_metadata()
        .map(|k| k.arn().unwrap_or_default().to_owned())
        .expect("key metadata");
    let secret = aws_sdk_secretsmanager::Client::new(&admin)
        .create_secret()
        .name(unique_name("UnderACustomerKey"))
        .kms_key_id(&key)
        .secret_string(r#"{"generation":0}"#)
        .send()
        .await
        .expect("CreateSecret as the administrator")
        .arn()
        .expect("arn")
        .to_owned();

    let iam = aws_sdk_iam::Client::new(&admin);
    let role = unique_name("SecretReader");
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole",
         "Principal": {"AWS": format!("arn:aws:iam::{}:root", tests::ACCOUNT_ID)}}]});
    let role_arn = iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("CreateRole")
        .role()
        .map(|r| r.arn().to_owned())
        .expect("role");
    let read_write = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Resource": &secret,
         "Action": ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]}]});
    tests::put_role_policy(&admin, &role, "read-write", &read_write.to_string()).await;
    let answer = aws_sdk_sts::Client::new(&admin)
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("reader")
        .send()
        .await
        .expect("AssumeRole");
    let reader = tests::assumed_config(&admin, &answer);
    let refused = Some((
        "AccessDeniedException".to_owned(),
        "Access to KMS is not allowed".to_owned(),
    ));

    // The default key policy delegates to IAM, and the role's policies allow no kms:Decrypt.
    assert_eq!(
        read_error(&reader, &secret).await,
        refused,
        "a caller not allowed kms:Decrypt on the secret's key must be refused"
    );

    // A kms: action through Secrets Manager for this secret only, as deploy grants it.
    let through_secrets_manager = |action: &str| {
        serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": action, "Resource": &key,
             "Condition": {"StringEquals": {
                "kms:ViaService": format!("secretsmanager.{}.amazonaws.com", emulator().region),
                "kms:EncryptionContext:SecretARN": &secret}}}]})
        .to_string()
    };
    let decrypt = through_secrets_manager("kms:Decrypt");
    tests::put_role_policy(&admin, &role, "decrypt", &decrypt).await;
    let deny = serde_json::json!({"Effect": "Deny", "Principal": {"AWS": &role_arn},
        "Action": "kms:Decrypt", "Resource": "*"});
    for (policy, expected, why) in [
        (
            key_policy(false, &[]),
            refused.clone(),
            "an IAM Allow has no effect unless the key policy delegates to IAM",
        ),
        (
            key_policy(true, &[]),
            None,
            "the key policy delegates and the role's policy allows kms:Decrypt",
        ),
        (
            key_policy(true, &[deny]),
            refused.clone(),
            "a Deny in the key policy wins over the IAM Allow",
        ),
    ] {
        kms.put_key_policy()
            .key_id(&key)
            .policy_name("default")
            .policy(policy)
            .bypass_policy_lockout_safety_check(true)
            .send()
            .await
            .expect("PutKeyPolicy");
        assert_eq!(read_error(&reader, &secret).await, expected, "{why}");
    }

    // A write needs kms:GenerateDataKey (the rotation's createSecret step is one).
    let write = || {
        aws_sdk_secretsmanager::Client::new(&reader)
            .put_secret_value()
            .secret_id(&secret)
            .secret_string(r#"{"generation":1}"#)
            .send()
    };
    assert_eq!(
        refusal(write().await),
        refused,
        "a write without kms:GenerateDataKey"
    );
    let generate = through_secrets_manager("kms:GenerateDataKey");
    tests::put_role_policy(&admin, &role, "generate", &generate).await;
    assert_eq!(refusal(write().await), None, "kms:GenerateDataKey allowed");
}
