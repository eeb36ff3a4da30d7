//! Fidelity of the embedded emulator: each place where the launcher fixes moto is
//! checked here through the AWS SDK, as a user of AWS would see it.

use std::path::Path;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_rds::types::Tag;
use aws_sdk_secretsmanager::types::RotationRulesType;
use serde_json::{Value, json};
use sqlx::Row as _;
use tests::{create_function, db_options, login, sdk_config, unique_name};

const ECHO: &str = env!("CARGO_BIN_EXE_echo-function");
const SCRIPTED: &str = env!("CARGO_BIN_EXE_scripted-rotation");

#[tokio::test]
async fn invoked_function_output_comes_back_and_errors_are_function_errors() {
    let config = sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let name = unique_name("echo");
    create_function(
        &config,
        &name,
        Path::new(ECHO),
        &[("GREETING", "hello from env")],
        10,
    )
    .await;

    let out = lambda
        .invoke()
        .function_name(&name)
        .payload(Blob::new(r#"{"hello":"world"}"#))
        .send()
        .await
        .expect("invoke");
    assert_eq!(out.function_error(), None);
    let body: Value =
        serde_json::from_slice(out.payload().expect("payload").as_ref()).expect("json payload");
    assert_eq!(body["echo"], json!({"hello": "world"}));
    assert_eq!(body["function"], json!(name));
    assert_eq!(body["greeting"], json!("hello from env"));

    // A second invocation reuses the warm process, as AWS does.
    let again = lambda
        .invoke()
        .function_name(&name)
        .payload(Blob::new("{}"))
        .send()
        .await
        .expect("invoke again");
    let again: Value =
        serde_json::from_slice(again.payload().expect("payload").as_ref()).expect("json");
    assert_eq!(
        again["pid"], body["pid"],
        "the execution environment should stay warm"
    );

    let failed = lambda
        .invoke()
        .function_name(&name)
        .payload(Blob::new(r#"{"fail":"boom"}"#))
        .send()
        .await
        .expect("invoke");
    assert_eq!(failed.function_error(), Some("Unhandled"));
    let error: Value =
        serde_json::from_slice(failed.payload().expect("payload").as_ref()).expect("error json");
    assert_eq!(error["errorMessage"], json!("boom"));
}

/// A secret whose rotation is done by the scripted function, and its journal secret.
async fn scripted_secret(
    config: &aws_config::SdkConfig,
    fail_step: &str,
) -> (String, String, String) {
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let secret = unique_name("rotated");
    let journal = unique_name("journal");
    secrets
        .create_secret()
        .name(&journal)
        .secret_string("steps:")
        .send()
        .await
        .expect("journal secret");
    secrets
        .create_secret()
        .name(&secret)
        .secret_string(r#"{"generation":0}"#)
        .send()
        .await
        .expect("secret");
    let function = unique_name("scripted");
    let arn = create_function(
        config,
        &function,
        Path::new(SCRIPTED),
        &[("FAIL_STEP", fail_step), ("JOURNAL_SECRET", &journal)],
        10,
    )
    .await;
    (secret, journal, arn)
}

async fn journal(secrets: &aws_sdk_secretsmanager::Client, journal: &str) -> String {
    let value = secrets
        .get_secret_value()
        .secret_id(journal)
        .send()
        .await
        .expect("journal");
    value
        .secret_string()
        .unwrap_or_default()
        .trim_start_matches("steps:")
        .trim()
        .to_owned()
}

async fn stages(
    secrets: &aws_sdk_secretsmanager::Client,
    secret: &str,
) -> (Option<String>, Option<String>, bool) {
    let found = tests::stages(secrets, secret).await;
    (found.current, found.pending, found.rotated)
}

#[tokio::test]
async fn a_rotation_whose_set_secret_fails_leaves_awscurrent_untouched() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    let (secret, journal_name, function_arn) = scripted_secret(&config, "setSecret").await;
    let (current_before, _, _) = stages(&secrets, &secret).await;

    let started = secrets
        .rotate_secret()
        .secret_id(&secret)
        .rotation_lambda_arn(&function_arn)
        .rotation_rules(
            RotationRulesType::builder()
                .schedule_expression("rate(2 days)")
                .duration("2h")
                .build(),
        )
        .send()
        .await
        .expect("rotate");
    let pending_token = started.version_id().expect("version id").to_owned();

    assert_eq!(
        journal(&secrets, &journal_name).await,
        "createSecret setSecret",
        "steps after the failure must not run"
    );
    let (current, pending, rotated) = stages(&secrets, &secret).await;
    assert_eq!(current, current_before, "AWSCURRENT must stay where it was");
    assert_eq!(
        pending.as_deref(),
        Some(pending_token.as_str()),
        "AWSPENDING stays on the failed version, as in AWS"
    );
    assert!(!rotated, "LastRotatedDate is recorded only on success");
    let value = secrets
        .get_secret_value()
        .secret_id(&secret)
        .send()
        .await
        .expect("get");
    assert_eq!(value.secret_string(), Some(r#"{"generation":0}"#));
    assert_eq!(
        value.version_id(),
        current_before.as_deref(),
        "GetSecretValue and DescribeSecret agree"
    );

    // A new rotation while one is unfinished is refused, as in AWS.
    let refused = secrets.rotate_secret().secret_id(&secret).send().await;
    assert!(
        refused.is_err(),
        "a second rotation must be refused while AWSPENDING is stuck"
    );

    // Fix the fault, reattempt the unfinished rotation: it completes.
    lambda
        .update_function_configuration()
        .function_name(&function_arn)
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .variables("FAIL_STEP", "none")
                .variables("JOURNAL_SECRET", &journal_name)
                .build(),
        )
        .send()
        .await
        .expect("update configuration");
    secrets
        .rotate_secret()
        .secret_id(&secret)
        .client_request_token(&pending_token)
        .send()
        .await
        .expect("reattempt");
    let (current, _, rotated) = stages(&secrets, &secret).await;
    assert_eq!(current.as_deref(), Some(pending_token.as_str()));
    assert!(rotated);
    let value = secrets
        .get_secret_value()
        .secret_id(&secret)
        .send()
        .await
        .expect("get");
    assert_eq!(value.secret_string(), Some(r#"{"generation":1}"#));
}

#[tokio::test]
async fn schedule_expressions_round_trip_and_rotate_immediately_false_only_tests() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let (secret, journal_name, function_arn) = scripted_secret(&config, "none").await;

    secrets
        .rotate_secret()
        .secret_id(&secret)
        .rotation_lambda_arn(&function_arn)
        .rotation_rules(
            RotationRulesType::builder()
                .schedule_expression("cron(0 8 ? * MON *)")
                .duration("3h")
                .build(),
        )
        .rotate_immediately(false)
        .send()
        .await
        .expect("rotate");
    assert_eq!(journal(&secrets, &journal_name).await, "testSecret");
    let described = secrets
        .describe_secret()
        .secret_id(&secret)
        .send()
        .await
        .expect("describe");
    assert_eq!(described.rotation_enabled(), Some(true));
    let rules = described.rotation_rules().expect("rules");
    assert_eq!(rules.schedule_expression(), Some("cron(0 8 ? * MON *)"));
    assert_eq!(rules.duration(), Some("3h"));
    assert!(described.last_rotated_date().is_none());
    let (_, pending, _) = stages(&secrets, &secret).await;
    assert_eq!(pending, None, "the test version is removed afterwards");

    secrets
        .rotate_secret()
        .secret_id(&secret)
        .rotation_rules(
            RotationRulesType::builder()
                .schedule_expression("rate(2 days)")
                .duration("2h")
                .build(),
        )
        .send()
        .await
        .expect("rotate");
    assert_eq!(
        journal(&secrets, &journal_name).await,
        "testSecret createSecret setSecret testSecret finishSecret"
    );
    let described = secrets
        .describe_secret()
        .secret_id(&secret)
        .send()
        .await
        .expect("describe");
    let rules = described.rotation_rules().expect("rules");
    assert_eq!(rules.schedule_expression(), Some("rate(2 days)"));
    assert_eq!(rules.duration(), Some("2h"));
    assert_eq!(rules.automatically_after_days(), None);
    assert!(described.last_rotated_date().is_some());
    let next = described.next_rotation_date().expect("next rotation date");
    let last = described.last_rotated_date().expect("last rotated");
    assert_eq!(next.secs() - last.secs(), 2 * 86_400);

    let invalid = secrets
        .rotate_secret()
        .secret_id(&secret)
        .rotation_rules(
            RotationRulesType::builder()
                .schedule_expression("every two days")
                .build(),
        )
        .send()
        .await;
    assert!(
        invalid.is_err(),
        "an invalid schedule expression is refused"
    );
}

#[tokio::test]
async fn an_rds_instance_endpoint_accepts_the_managed_admin_secret() {
    let config = sdk_config().await;
    let rds = aws_sdk_rds::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let id = unique_name("db");
    rds.create_db_instance()
        .db_instance_identifier(&id)
        .engine("mysql")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .manage_master_user_password(true)
        .tags(Tag::builder().key("Project").value("test").build())
        .send()
        .await
        .expect("create instance");
    let described = rds
        .describe_db_instances()
        .db_instance_identifier(&id)
        .send()
        .await
        .expect("describe");
    let instance = &described.db_instances()[0];
    let endpoint = instance.endpoint().expect("endpoint");
    let secret = instance.master_user_secret().expect("master user secret");
    assert_eq!(secret.secret_status(), Some("active"));
    let secret_arn = secret.secret_arn().expect("secret arn");

    let meta = secrets
        .describe_secret()
        .secret_id(secret_arn)
        .send()
        .await
        .expect("describe secret");
    assert_eq!(meta.owning_service(), Some("rds"));
    let tag = meta
        .tags()
        .iter()
        .find(|t| t.key() == Some("aws:rds:primaryDBInstanceArn"))
        .expect("primary instance tag");
    assert_eq!(tag.value(), instance.db_instance_arn());

    let value = secrets
        .get_secret_value()
        .secret_id(secret_arn)
        .send()
        .await
        .expect("secret value");
    let credentials: Value =
        serde_json::from_str(value.secret_string().expect("string")).expect("json");
    let user = credentials["username"].as_str().expect("username");
    let password = credentials["password"].as_str().expect("password");
    let address = endpoint.address().expect("address");
    let port = u16::try_from(endpoint.port().expect("port")).expect("port range");
    assert_ne!(
        port,
        tests::emulator().database.port,
        "each instance is its own server"
    );
    let mut connection = login(&db_options(address, port, user, password))
        .await
        .expect("admin login to the instance");
    let row = sqlx::query("SELECT CURRENT_USER()")
        .fetch_one(&mut connection)
        .await
        .expect("query");
    assert_eq!(row.get::<String, _>(0), format!("{user}@%"));
    assert!(
        login(&db_options(address, port, user, "wrong password"))
            .await
            .is_err()
    );
    drop(connection);

    rds.delete_db_instance()
        .db_instance_identifier(&id)
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("delete");
    assert!(
        login(&db_options(address, port, user, password))
            .await
            .is_err(),
        "a deleted instance's server is stopped"
    );
}
