//! The emulator with IAM enforced (`--enforce-iam`: moto's access control, every
//! call signed by an IAM user allowed the action). This test binary has an emulator
//! of its own so the other tests keep the emulator's administrator credentials.
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
    let mut policy = audit::calls::iam_policy();
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

    let auditor = user_with_policy(&admin, &audit::calls::iam_policy()).await;
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
    let mut policy = audit::calls::iam_policy();
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
