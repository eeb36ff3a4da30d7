//! Fidelity of the embedded emulator: each place where the launcher fixes moto is
//! checked here through the AWS SDK, as a user of AWS would see it.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

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
    scripted_secret_failing(config, fail_step, "always").await
}

/// As `scripted_secret`, the step failing only its first `times` runs ("always": every run).
async fn scripted_secret_failing(
    config: &aws_config::SdkConfig,
    fail_step: &str,
    times: &str,
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
        &[
            ("FAIL_STEP", fail_step),
            ("FAIL_TIMES", times),
            ("JOURNAL_SECRET", &journal),
        ],
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
        tests::wait_for_rotation(&secret, &pending_token).await,
        tests::RotationOutcome::Failed("setSecret".into())
    );

    assert_eq!(
        journal(&secrets, &journal_name).await,
        "createSecret setSecret createSecret setSecret createSecret setSecret",
        "steps after the failure never run, and Secrets Manager retries the whole rotation (3 attempts here)"
    );
    let attempts = rotation_attempts(&secret, &pending_token);
    assert_eq!(attempts.len(), 3, "each attempt is recorded: {attempts:?}");
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

    // A new rotation while one is unfinished is refused, as in AWS, and so is one
    // naming the unfinished version: the API reference documents no exception.
    let refused = secrets.rotate_secret().secret_id(&secret).send().await;
    assert!(
        refused.is_err(),
        "a second rotation must be refused while AWSPENDING is stuck"
    );
    let refused = secrets
        .rotate_secret()
        .secret_id(&secret)
        .client_request_token(&pending_token)
        .send()
        .await
        .expect_err("a request naming the pending version is refused too");
    assert!(
        refused
            .as_service_error()
            .and_then(aws_sdk_secretsmanager::error::ProvideErrorMetadata::message)
            .is_some_and(|m| m.contains("previous rotation isn't complete")),
        "{refused:?}"
    );

    // Fix the fault, clear AWSPENDING as CancelRotateSecret's documentation says:
    // a new rotation completes.
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
    // Until the update ends, Lambda runs the previous configuration.
    xtask::aws::wait_for_function(&lambda, &function_arn)
        .await
        .expect("the update ends");
    tests::rotation::clear_pending(&config, &secret, &pending_token).await;
    let token = secrets
        .rotate_secret()
        .secret_id(&secret)
        .send()
        .await
        .expect("a new rotation")
        .version_id()
        .expect("version id")
        .to_owned();
    assert_eq!(
        tests::wait_for_rotation(&secret, &token).await,
        tests::RotationOutcome::Succeeded
    );
    let (current, _, rotated) = stages(&secrets, &secret).await;
    assert_eq!(current.as_deref(), Some(token.as_str()));
    assert!(rotated);
    let value = secrets
        .get_secret_value()
        .secret_id(&secret)
        .send()
        .await
        .expect("get");
    assert_eq!(value.secret_string(), Some(r#"{"generation":1}"#));
}

/// The attempts the emulator recorded for the rotation of `secret` with `token`.
fn rotation_attempts(secret: &str, token: &str) -> Vec<serde_json::Value> {
    tests::emulator_json("/_emulator/rotations")
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .find(|r| r["secret_name"] == secret && r["token"] == token)
        .and_then(|r| r["attempts"].as_array().cloned())
        .unwrap_or_default()
}

/// "If any rotation step fails, Secrets Manager retries the entire rotation process
/// multiple times" (Secrets Manager user guide, "Rotation by Lambda function"): a
/// step that fails once is passed on the retry, which starts again at createSecret
/// with the same token, and the rotation completes.
#[tokio::test]
async fn a_failed_rotation_is_retried_whole_with_the_same_token() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let (secret, journal_name, function_arn) =
        scripted_secret_failing(&config, "testSecret", "1").await;
    let token = secrets
        .rotate_secret()
        .secret_id(&secret)
        .rotation_lambda_arn(&function_arn)
        .send()
        .await
        .expect("rotate")
        .version_id()
        .expect("version id")
        .to_owned();
    assert_eq!(
        tests::wait_for_rotation(&secret, &token).await,
        tests::RotationOutcome::Succeeded
    );
    assert_eq!(
        journal(&secrets, &journal_name).await,
        "createSecret setSecret testSecret createSecret setSecret testSecret finishSecret",
    );
    let attempts = rotation_attempts(&secret, &token);
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0]["failed_step"], json!("testSecret"));
    assert_eq!(attempts[1]["failed_step"], json!(null));
    let (current, pending, rotated) = stages(&secrets, &secret).await;
    assert_eq!(current.as_deref(), Some(token.as_str()));
    assert!(pending.is_none() || pending.as_deref() == Some(token.as_str()));
    assert!(rotated);
}

/// A version's value never changes (Secrets Manager API reference, PutSecretValue:
/// a used ClientRequestToken with another value fails): the empty `AWSPENDING`
/// version a rotation stages is filled once, and a retried `createSecret` that made
/// a new password instead of reading the pending one would be refused.
#[tokio::test]
async fn a_version_once_filled_keeps_its_value() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let secret = unique_name("immutable");
    secrets
        .create_secret()
        .name(&secret)
        .secret_string("first")
        .send()
        .await
        .expect("secret");
    let token = "11111111-2222-4333-8444-555555555555";
    let put = |value: &'static str| {
        secrets
            .put_secret_value()
            .secret_id(&secret)
            .client_request_token(token)
            .secret_string(value)
            .version_stages("AWSPENDING")
            .send()
    };
    put("pending-a")
        .await
        .expect("the first value of the version");
    put("pending-a")
        .await
        .expect("the same value again is the same request: accepted");
    let refused = put("pending-b").await;
    assert_eq!(
        refused
            .as_ref()
            .err()
            .and_then(|e| e.as_service_error())
            .and_then(aws_sdk_secretsmanager::error::ProvideErrorMetadata::code),
        Some("ResourceExistsException"),
        "a second value for a used token must be refused: {refused:?}"
    );
    let pending = secrets
        .get_secret_value()
        .secret_id(&secret)
        .version_stage("AWSPENDING")
        .send()
        .await
        .expect("pending");
    assert_eq!(pending.secret_string(), Some("pending-a"));
}

/// "Versions without staging labels are considered deprecated and are not included
/// in the list unless IncludeDeprecated" (API reference, ListSecretVersionIds): the
/// rotator finds an abandoned attempt's version only by asking for them.
#[tokio::test]
async fn a_version_without_a_label_is_listed_only_when_deprecated_ones_are_asked_for() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let secret = unique_name("deprecated");
    secrets
        .create_secret()
        .name(&secret)
        .secret_string("one")
        .send()
        .await
        .expect("secret");
    let abandoned = secrets
        .put_secret_value()
        .secret_id(&secret)
        .secret_string("two")
        .version_stages("AWSPENDING")
        .send()
        .await
        .expect("pending")
        .version_id()
        .expect("version")
        .to_owned();
    tests::rotation::clear_pending(&config, &secret, &abandoned).await;
    let listed = |deprecated: bool| {
        let secrets = secrets.clone();
        let secret = secret.clone();
        async move {
            secrets
                .list_secret_version_ids()
                .secret_id(&secret)
                .include_deprecated(deprecated)
                .send()
                .await
                .expect("ListSecretVersionIds")
                .versions()
                .iter()
                .filter_map(|v| v.version_id().map(str::to_owned))
                .collect::<BTreeSet<_>>()
        }
    };
    assert!(
        !listed(false).await.contains(&abandoned),
        "a version without a label must be left out by default"
    );
    assert!(listed(true).await.contains(&abandoned));
}

/// RotationRulesType: "The window must not extend into the next rotation window
/// or the next UTC day"; the user guide's "Rotation schedules": windows start on
/// the hour, at most every four hours. A refused schedule changes nothing. (AWS's
/// messages are not documented: only the error code is asserted.)
#[tokio::test]
async fn a_rotation_window_that_runs_into_the_next_window_or_day_is_refused() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let (secret, _, function_arn) = scripted_secret(&config, "none").await;
    let before = tests::stages(&secrets, &secret).await;
    for (schedule, duration) in [
        ("rate(4 hours)", "5h"),
        ("cron(0 22 * * ? *)", "3h"),
        ("cron(30 8 * * ? *)", "1h"),
        ("cron(0 * * * ? *)", "1h"),
        // The user guide's table of cron fields: the year "Must be *".
        ("cron(0 8 * * ? 2027)", "1h"),
    ] {
        let refused = secrets
            .rotate_secret()
            .secret_id(&secret)
            .rotation_lambda_arn(&function_arn)
            .rotation_rules(
                RotationRulesType::builder()
                    .schedule_expression(schedule)
                    .duration(duration)
                    .build(),
            )
            .send()
            .await;
        let error = refused.expect_err("a schedule or window AWS refuses must be refused");
        let service = error.as_service_error().expect("a service error");
        assert_eq!(
            aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(service),
            Some("InvalidParameterException"),
            "{schedule} {duration}"
        );
    }
    assert_eq!(tests::stages(&secrets, &secret).await, before);
    let described = secrets
        .describe_secret()
        .secret_id(&secret)
        .send()
        .await
        .expect("describe");
    assert_ne!(
        described.rotation_enabled(),
        Some(true),
        "nothing was configured"
    );
}

fn epoch_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// The last second of the first `cron(0 8 ? * MON *)` window with a 3-hour Duration
/// that starts after `after` (epoch seconds): the next Monday 08:00 UTC, plus three
/// hours, less a second (1970-01-01 was a Thursday).
fn monday_window_end_after(after: i64) -> i64 {
    let day = after.div_euclid(86_400);
    let days_to_monday = (7 - (day + 3) % 7) % 7;
    let mut start = (day + days_to_monday) * 86_400 + 8 * 3_600;
    if start <= after {
        start += 7 * 86_400;
    }
    start + 3 * 3_600 - 1
}

async fn next_rotation_date(secrets: &aws_sdk_secretsmanager::Client, secret: &str) -> Option<i64> {
    secrets
        .describe_secret()
        .secret_id(secret)
        .send()
        .await
        .expect("describe")
        .next_rotation_date()
        .map(aws_sdk_secretsmanager::primitives::DateTime::secs)
}

/// DescribeSecret's `NextRotationDate` is "the latest date that rotation will occur"
/// (API reference): the last second of the next window, which a failed rotation does
/// not move, and nothing while rotation is off.
#[tokio::test]
async fn next_rotation_date_is_the_last_second_of_the_next_window_whatever_a_failure_does() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let (secret, _, function_arn) = scripted_secret(&config, "setSecret").await;

    let before = epoch_seconds();
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
        .expect("configure the schedule");
    let after = epoch_seconds();
    let expected = [
        monday_window_end_after(before),
        monday_window_end_after(after),
    ];
    let next = next_rotation_date(&secrets, &secret).await;
    assert!(
        next.is_some_and(|next| expected.contains(&next)),
        "NextRotationDate must be the last second of the next rotation window (Monday 08:00-11:00 UTC): {next:?}, expected one of {expected:?}"
    );
    let described = secrets
        .describe_secret()
        .secret_id(&secret)
        .send()
        .await
        .expect("describe");
    assert_eq!(
        described
            .rotation_rules()
            .and_then(RotationRulesType::automatically_after_days),
        Some(7),
        "AWS answers the days between two windows of the cron() schedule"
    );
    tests::wait_for_rotations_to_end(&secret).await;

    let failed = secrets
        .rotate_secret()
        .secret_id(&secret)
        .send()
        .await
        .expect("rotate");
    assert_eq!(
        tests::wait_for_rotation(&secret, failed.version_id().expect("version")).await,
        tests::RotationOutcome::Failed("setSecret".into())
    );
    assert_eq!(
        next_rotation_date(&secrets, &secret).await,
        next,
        "a failed rotation leaves the next rotation date where it was"
    );

    secrets
        .cancel_rotate_secret()
        .secret_id(&secret)
        .send()
        .await
        .expect("cancel");
    assert_eq!(
        next_rotation_date(&secrets, &secret).await,
        None,
        "no next rotation date while rotation is off"
    );
}

#[tokio::test]
async fn schedule_expressions_round_trip_and_rotate_immediately_false_only_tests() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let (secret, journal_name, function_arn) = scripted_secret(&config, "none").await;

    let tested = secrets
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
    let test_version = tested.version_id().expect("version id").to_owned();
    let outcomes = tests::emulator_json("/_emulator/rotations");
    let test_token = outcomes
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .find(|r| r["secret_name"] == secret.as_str())
        .and_then(|r| r["token"].as_str())
        .expect("the configuration test is recorded")
        .to_owned();
    assert_ne!(
        test_token, test_version,
        "the test runs on a temporary version"
    );
    assert_eq!(
        tests::wait_for_rotation(&secret, &test_token).await,
        tests::RotationOutcome::Succeeded
    );
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

    let rotated = secrets
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
        tests::wait_for_rotation(&secret, rotated.version_id().expect("version")).await,
        tests::RotationOutcome::Succeeded
    );
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
    assert_eq!(
        rules.automatically_after_days(),
        Some(2),
        "DescribeSecret answers the days between rotations AWS calculates from the expression"
    );
    let next = described.next_rotation_date().expect("next rotation date");
    let last = described.last_rotated_date().expect("last rotated");
    // A rate() window starts at midnight: the last second of the 2-hour window two
    // days after the day of the rotation.
    assert_eq!(
        next.secs(),
        last.secs() - last.secs().rem_euclid(86_400) + 2 * 86_400 + 2 * 3_600 - 1
    );

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
    let instance = tests::poll_until(
        "the instance to be available",
        Duration::from_secs(30),
        || async {
            rds.describe_db_instances()
                .db_instance_identifier(&id)
                .send()
                .await
                .ok()
                .and_then(|out| out.db_instances().first().cloned())
                .filter(|i| i.db_instance_status() == Some("available"))
        },
    )
    .await;
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
    tests::db_instance_gone(&rds, &id, Duration::from_secs(30)).await;
    assert!(
        login(&db_options(address, port, user, password))
            .await
            .is_err(),
        "a deleted instance's server is stopped"
    );
}

// ----------------------------------------------------------------------------------
// Where AWS is harsher than moto (xtask/emulator/, one module per concern). Each test
// shows what a client of AWS sees; each fails against stock moto (`EMULATOR_STRICT=off`).

/// The error code of a failed call, if it failed.
fn code<T, E: aws_sdk_ec2::error::ProvideErrorMetadata>(result: &Result<T, E>) -> Option<String> {
    result
        .as_ref()
        .err()
        .and_then(|e| e.code().map(str::to_owned))
}

/// A new VPC with `cidr`; its id (which EC2 may not know yet on its first use).
async fn create_vpc(ec2: &aws_sdk_ec2::Client, cidr: &str) -> String {
    ec2.create_vpc()
        .cidr_block(cidr)
        .send()
        .await
        .expect("CreateVpc")
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_owned()
}

/// A VPC with two subnets in two zones and one security group, made as a careful
/// client makes them: retrying the first uses of each new id.
async fn network(ec2: &aws_sdk_ec2::Client, second_octet: u8) -> (String, Vec<String>, String) {
    let vpc = create_vpc(ec2, &format!("10.{second_octet}.0.0/16")).await;
    let mut subnets = Vec::new();
    for (index, zone) in ["us-east-1a", "us-east-1b"].into_iter().enumerate() {
        let created = tests::eventually(|| {
            ec2.create_subnet()
                .vpc_id(&vpc)
                .cidr_block(format!("10.{second_octet}.{index}.0/24"))
                .availability_zone(zone)
                .send()
        })
        .await
        .expect("CreateSubnet");
        subnets.push(
            created
                .subnet()
                .and_then(|s| s.subnet_id())
                .expect("subnet id")
                .to_owned(),
        );
    }
    let group = tests::eventually(|| {
        ec2.create_security_group()
            .group_name(unique_name("group"))
            .description("fidelity test")
            .vpc_id(&vpc)
            .send()
    })
    .await
    .expect("CreateSecurityGroup")
    .group_id()
    .expect("group id")
    .to_owned();
    // The first use of each new id is the one that answers NotFound.
    for subnet in &subnets {
        tests::eventually(|| ec2.describe_subnets().subnet_ids(subnet).send())
            .await
            .expect("DescribeSubnets");
    }
    tests::eventually(|| ec2.describe_security_groups().group_ids(&group).send())
        .await
        .expect("DescribeSecurityGroups");
    (vpc, subnets, group)
}

#[tokio::test]
async fn a_new_ec2_id_answers_not_found_on_its_first_use() {
    use aws_sdk_ec2::types::{AttributeBooleanValue, InstanceType, IpPermission, IpRange};
    let config = sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);

    let vpc = create_vpc(&ec2, "10.61.0.0/16").await;
    let dns = || {
        ec2.modify_vpc_attribute()
            .vpc_id(&vpc)
            .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build())
            .send()
    };
    assert_eq!(code(&dns().await).as_deref(), Some("InvalidVpcID.NotFound"));
    dns().await.expect("a moment later the VPC is known");

    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.61.1.0/24")
        .send()
        .await
        .expect("CreateSubnet")
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("subnet id")
        .to_owned();
    assert_eq!(
        code(&ec2.describe_subnets().subnet_ids(&subnet).send().await).as_deref(),
        Some("InvalidSubnetID.NotFound")
    );

    let group = ec2
        .create_security_group()
        .group_name(unique_name("young"))
        .description("young")
        .vpc_id(&vpc)
        .send()
        .await
        .expect("CreateSecurityGroup")
        .group_id()
        .expect("group id")
        .to_owned();
    let rule = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443)
        .ip_ranges(IpRange::builder().cidr_ip("10.61.0.0/16").build())
        .build();
    assert_eq!(
        code(
            &ec2.authorize_security_group_ingress()
                .group_id(&group)
                .ip_permissions(rule)
                .send()
                .await
        )
        .as_deref(),
        Some("InvalidGroup.NotFound")
    );

    let gateway = ec2
        .create_internet_gateway()
        .send()
        .await
        .expect("CreateInternetGateway")
        .internet_gateway()
        .and_then(|g| g.internet_gateway_id())
        .expect("gateway id")
        .to_owned();
    assert_eq!(
        code(
            &ec2.attach_internet_gateway()
                .internet_gateway_id(&gateway)
                .vpc_id(&vpc)
                .send()
                .await
        )
        .as_deref(),
        Some("InvalidInternetGatewayID.NotFound")
    );

    let instance = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .instance_type(InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .subnet_id(&subnet)
        .send()
        .await
        .expect("RunInstances")
        .instances()[0]
        .instance_id()
        .expect("instance id")
        .to_owned();
    assert_eq!(
        code(
            &ec2.describe_instances()
                .instance_ids(&instance)
                .send()
                .await
        )
        .as_deref(),
        Some("InvalidInstanceID.NotFound")
    );
    tests::eventually(|| ec2.terminate_instances().instance_ids(&instance).send())
        .await
        .expect("TerminateInstances");
}

/// Creates a function from the echo binary in `subnets` with `group`, as `role`.
async fn vpc_function(
    config: &aws_config::SdkConfig,
    role: &str,
    subnets: &[String],
    group: &str,
) -> String {
    let name = try_vpc_function(config, &unique_name("vpcfn"), role, subnets, group)
        .await
        .expect("CreateFunction in a VPC");
    // Pending (longer in a VPC) until Lambda has made its interfaces.
    xtask::aws::wait_for_function(&aws_sdk_lambda::Client::new(config), &name)
        .await
        .expect("the VPC function becomes Active");
    name
}

type CreateResult = Result<
    String,
    aws_sdk_lambda::error::SdkError<
        aws_sdk_lambda::operation::create_function::CreateFunctionError,
    >,
>;

/// `CreateFunction` of `name` from the echo binary in `subnets` with `group`, as
/// `role` (retried while the role propagates).
async fn try_vpc_function(
    config: &aws_config::SdkConfig,
    name: &str,
    role: &str,
    subnets: &[String],
    group: &str,
) -> CreateResult {
    use aws_sdk_lambda::types::{FunctionCode, Runtime, VpcConfig};
    let lambda = aws_sdk_lambda::Client::new(config);
    let code = FunctionCode::builder()
        .zip_file(Blob::new(tests::lambda_zip(Path::new(ECHO))))
        .build();
    let vpc_config = VpcConfig::builder()
        .set_subnet_ids(Some(subnets.to_vec()))
        .security_group_ids(group)
        .build();
    tests::retry_role_propagation(|| {
        lambda
            .create_function()
            .function_name(name)
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(role)
            .code(code.clone())
            .vpc_config(vpc_config.clone())
            .send()
    })
    .await
    .map(|_| name.to_owned())
}

async fn lambda_enis(
    ec2: &aws_sdk_ec2::Client,
    vpc: &str,
) -> Vec<aws_sdk_ec2::types::NetworkInterface> {
    ec2.describe_network_interfaces()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(vpc)
                .build(),
        )
        .send()
        .await
        .expect("DescribeNetworkInterfaces")
        .network_interfaces()
        .iter()
        .filter(|eni| {
            eni.interface_type() == Some(&aws_sdk_ec2::types::NetworkInterfaceType::Lambda)
        })
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_vpc_functions_interfaces_hold_its_group_and_subnets_until_lambda_releases_them() {
    let config = sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    let (vpc, subnets, group) = network(&ec2, 62).await;
    let role_name = unique_name("eni-role");
    let role = tests::lambda_role(&config, &role_name).await;
    tests::put_role_policy(&config, &role_name, "vpc-access", tests::VPC_ACCESS_POLICY).await;
    let function = vpc_function(&config, &role, &subnets, &group).await;

    let enis = lambda_enis(&ec2, &vpc).await;
    assert_eq!(enis.len(), 2, "one interface per subnet");
    for eni in &enis {
        assert_eq!(eni.requester_managed(), Some(true));
        assert!(
            eni.description()
                .unwrap_or("")
                .starts_with(&format!("AWS Lambda VPC ENI-{function}")),
            "{:?}",
            eni.description()
        );
    }
    assert_eq!(
        code(&ec2.delete_security_group().group_id(&group).send().await).as_deref(),
        Some("DependencyViolation")
    );
    assert_eq!(
        code(&ec2.delete_subnet().subnet_id(&subnets[0]).send().await).as_deref(),
        Some("DependencyViolation")
    );

    // Deleting the function does not free them at once; Lambda does, a while later.
    lambda
        .delete_function()
        .function_name(&function)
        .send()
        .await
        .expect("DeleteFunction");
    assert_eq!(
        lambda_enis(&ec2, &vpc).await.len(),
        2,
        "still there right after"
    );
    tests::poll_until(
        "Lambda to release the interfaces",
        Duration::from_secs(15),
        || async { lambda_enis(&ec2, &vpc).await.is_empty().then_some(()) },
    )
    .await;
    ec2.delete_security_group()
        .group_id(&group)
        .send()
        .await
        .expect("the group goes once the interfaces are gone");

    // Without the execution role, Lambda cannot delete them: they stay.
    let group = tests::eventually(|| {
        ec2.create_security_group()
            .group_name(unique_name("group"))
            .description("second")
            .vpc_id(&vpc)
            .send()
    })
    .await
    .expect("CreateSecurityGroup")
    .group_id()
    .expect("group id")
    .to_owned();
    tests::eventually(|| ec2.describe_security_groups().group_ids(&group).send())
        .await
        .expect("DescribeSecurityGroups");
    let function = vpc_function(&config, &role, &subnets, &group).await;
    lambda
        .delete_function()
        .function_name(&function)
        .send()
        .await
        .expect("DeleteFunction");
    iam.delete_role_policy()
        .role_name(&role_name)
        .policy_name("vpc-access")
        .send()
        .await
        .expect("DeleteRolePolicy");
    iam.delete_role()
        .role_name(&role_name)
        .send()
        .await
        .expect("DeleteRole");
    let settings = tests::emulator_json("/_emulator/settings");
    let release = settings["EMULATOR_ENI_RELEASE_SECONDS"]
        .as_f64()
        .expect("setting");
    tokio::time::sleep(Duration::from_secs_f64(release * 3.0)).await;
    assert_eq!(
        lambda_enis(&ec2, &vpc).await.len(),
        2,
        "with the role gone the interfaces stay"
    );
    // The role back (same ARN): Lambda can clean up again.
    tests::lambda_role(&config, &role_name).await;
    tests::poll_until(
        "release once the role exists again",
        Duration::from_secs(15),
        || async { lambda_enis(&ec2, &vpc).await.is_empty().then_some(()) },
    )
    .await;
}

/// The code and message of a failed Lambda call.
fn lambda_error<T, E: aws_sdk_lambda::error::ProvideErrorMetadata>(
    result: &Result<T, E>,
) -> (Option<String>, String) {
    let error = result.as_ref().err();
    (
        error.and_then(|e| e.code().map(str::to_owned)),
        error
            .and_then(aws_sdk_lambda::error::ProvideErrorMetadata::message)
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Lambda's function states (Lambda developer guide, "Lambda function states"): a new
/// function is `Pending` and "Lambda does not invoke a function during pending
/// state"; an update leaves `LastUpdateStatus` `InProgress` and another update
/// meanwhile is refused (`ResourceConflictException`). Callers wait for `Active` and
/// `Successful`, as `cargo xtask deploy` does (`aws::wait_for_function`).
#[tokio::test]
async fn a_new_function_is_pending_and_an_update_in_progress_refuses_another() {
    use aws_sdk_lambda::types::{FunctionCode, LastUpdateStatus, Runtime, State};
    let config = sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let role = tests::lambda_role(&config, &unique_name("state-role")).await;
    let name = unique_name("statefn");
    let zip = FunctionCode::builder()
        .zip_file(Blob::new(tests::lambda_zip(Path::new(ECHO))))
        .build();
    let created = tests::retry_role_propagation(|| {
        lambda
            .create_function()
            .function_name(&name)
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(&role)
            .code(zip.clone())
            .send()
    })
    .await
    .expect("CreateFunction");
    assert_eq!(
        created.state(),
        Some(&State::Pending),
        "a new function is Pending"
    );
    let invoke = || {
        lambda
            .invoke()
            .function_name(&name)
            .payload(Blob::new("{}"))
            .send()
    };
    let early = invoke().await;
    assert_eq!(
        code(&early).as_deref(),
        Some("ResourceConflictException"),
        "a Pending function is not invoked: {early:?}"
    );
    xtask::aws::wait_for_function(&lambda, &name)
        .await
        .expect("the function becomes Active");
    invoke().await.expect("an Active function is invoked");

    let update = || {
        lambda
            .update_function_configuration()
            .function_name(&name)
            .timeout(7)
            .send()
    };
    let first = update().await.expect("UpdateFunctionConfiguration");
    assert_eq!(
        first.last_update_status(),
        Some(&LastUpdateStatus::InProgress),
        "an update is InProgress"
    );
    let (code, message) = lambda_error(&update().await);
    assert_eq!(
        code.as_deref(),
        Some("ResourceConflictException"),
        "{message}"
    );
    assert!(message.contains("An update is in progress"), "{message}");
    xtask::aws::wait_for_function(&lambda, &name)
        .await
        .expect("the update ends");
    update()
        .await
        .expect("the next update, once the first ended");
}

/// Lambda's reserved concurrency (Lambda developer guide, "Configuring reserved
/// concurrency for a function"): a reservation of 0 throttles every invocation,
/// answered `TooManyRequestsException` (429) with the reason
/// `ReservedFunctionConcurrentInvocationLimitExceeded` (API reference, Invoke);
/// removing the reservation lets the function run again.
#[tokio::test]
async fn a_function_with_reserved_concurrency_zero_is_throttled() {
    use aws_sdk_lambda::types::{FunctionCode, Runtime};
    let config = sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let role = tests::lambda_role(&config, &unique_name("throttle-role")).await;
    let name = unique_name("throttledfn");
    let zip = FunctionCode::builder()
        .zip_file(Blob::new(tests::lambda_zip(Path::new(ECHO))))
        .build();
    tests::retry_role_propagation(|| {
        lambda
            .create_function()
            .function_name(&name)
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(&role)
            .code(zip.clone())
            .send()
    })
    .await
    .expect("CreateFunction");
    xtask::aws::wait_for_function(&lambda, &name)
        .await
        .expect("the function becomes Active");
    let invoke = || {
        lambda
            .invoke()
            .function_name(&name)
            .payload(Blob::new("{}"))
            .send()
    };
    invoke()
        .await
        .expect("a function without a reservation runs");
    lambda
        .put_function_concurrency()
        .function_name(&name)
        .reserved_concurrent_executions(0)
        .send()
        .await
        .expect("PutFunctionConcurrency 0");
    let throttled = invoke().await;
    let error = throttled.as_ref().err().and_then(|e| e.as_service_error());
    assert!(
        error.is_some_and(
            aws_sdk_lambda::operation::invoke::InvokeError::is_too_many_requests_exception
        ),
        "a reservation of 0 throttles the invocation: {throttled:?}"
    );
    let reason = error.and_then(|e| match e {
        aws_sdk_lambda::operation::invoke::InvokeError::TooManyRequestsException(t) => {
            t.reason().map(|r| r.as_str().to_owned())
        }
        _ => None,
    });
    assert_eq!(
        reason.as_deref(),
        Some("ReservedFunctionConcurrentInvocationLimitExceeded"),
        "{throttled:?}"
    );
    lambda
        .delete_function_concurrency()
        .function_name(&name)
        .send()
        .await
        .expect("DeleteFunctionConcurrency");
    invoke()
        .await
        .expect("without the reservation the function runs again");
}

/// Lambda creates a VPC function's network interfaces with its execution role: a
/// role that may not create, describe and delete them is refused, at create and
/// at update, and nothing is made.
#[tokio::test]
async fn a_vpc_function_needs_a_role_that_may_manage_its_network_interfaces() {
    let config = sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    let (vpc, subnets, group) = network(&ec2, 64).await;
    let role_name = unique_name("narrow-role");
    let role = tests::lambda_role(&config, &role_name).await;
    let refused = |missing: &str, result: &CreateResult| {
        assert_eq!(
            lambda_error(result),
            (
                Some("InvalidParameterValueException".to_owned()),
                format!(
                    "The provided execution role does not have permissions to call {missing} on EC2"
                )
            )
        );
    };

    // Create and describe, but not delete.
    tests::put_role_policy(
        &config,
        &role_name,
        "eni",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:CreateNetworkInterface","ec2:DescribeNetworkInterfaces"],"Resource":"*"}]}"#,
    )
    .await;
    let name = unique_name("vpcfn");
    refused(
        "DeleteNetworkInterface",
        &try_vpc_function(&config, &name, &role, &subnets, &group).await,
    );
    assert!(
        lambda
            .get_function()
            .function_name(&name)
            .send()
            .await
            .is_err(),
        "no function is created"
    );
    assert!(lambda_enis(&ec2, &vpc).await.is_empty(), "nor interfaces");

    // Interfaces in subnets only: CreateNetworkInterface names the security group too.
    let account = tests::ACCOUNT_ID;
    tests::put_role_policy(
        &config,
        &role_name,
        "eni",
        &json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ec2:DescribeNetworkInterfaces", "Resource": "*"},
            {"Effect": "Allow", "Action": ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"],
             "Resource": [format!("arn:aws:ec2:*:{account}:network-interface/*"), format!("arn:aws:ec2:*:{account}:subnet/*")]}
        ]})
        .to_string(),
    )
    .await;
    refused(
        "CreateNetworkInterface",
        &try_vpc_function(&config, &name, &role, &subnets, &group).await,
    );

    // All three in a managed policy attached to the role: created, with its interfaces.
    iam.delete_role_policy()
        .role_name(&role_name)
        .policy_name("eni")
        .send()
        .await
        .expect("DeleteRolePolicy");
    let policy_arn = iam
        .create_policy()
        .policy_name(unique_name("vpc-access"))
        .policy_document(tests::VPC_ACCESS_POLICY)
        .send()
        .await
        .expect("CreatePolicy")
        .policy()
        .and_then(|p| p.arn())
        .expect("policy arn")
        .to_owned();
    iam.attach_role_policy()
        .role_name(&role_name)
        .policy_arn(&policy_arn)
        .send()
        .await
        .expect("AttachRolePolicy");
    try_vpc_function(&config, &name, &role, &subnets, &group)
        .await
        .expect("a role that may manage the interfaces");
    assert_eq!(lambda_enis(&ec2, &vpc).await.len(), 2);

    // A function outside any VPC, as a role without those permissions, is not let in.
    let outside = unique_name("outside");
    create_function(&config, &outside, Path::new(ECHO), &[], 10).await;
    let into_vpc = |role: Option<String>| {
        lambda
            .update_function_configuration()
            .function_name(&outside)
            .set_role(role)
            .vpc_config(
                aws_sdk_lambda::types::VpcConfig::builder()
                    .set_subnet_ids(Some(subnets.clone()))
                    .security_group_ids(&group)
                    .build(),
            )
            .send()
    };
    let (code, message) = lambda_error(&into_vpc(None).await);
    assert_eq!(code.as_deref(), Some("InvalidParameterValueException"));
    assert!(
        message.contains("CreateNetworkInterface on EC2"),
        "{message}"
    );
    let configuration = lambda
        .get_function_configuration()
        .function_name(&outside)
        .send()
        .await
        .expect("GetFunctionConfiguration");
    assert!(
        configuration
            .vpc_config()
            .is_none_or(|v| v.subnet_ids().is_empty()),
        "the function stays outside the VPC: {:?}",
        configuration.vpc_config()
    );
    // With the role that may, it goes in.
    into_vpc(Some(role.clone()))
        .await
        .expect("UpdateFunctionConfiguration with a role that may manage the interfaces");
    assert_eq!(lambda_enis(&ec2, &vpc).await.len(), 4);
}

/// Lambda writes a function's logs with its execution role: without
/// `logs:CreateLogStream`/`logs:PutLogEvents` the function runs but its log group
/// gets no stream, and without `logs:CreateLogGroup` no group is made.
#[tokio::test]
async fn a_function_writes_logs_only_as_its_role_allows() {
    use aws_sdk_lambda::types::{FunctionCode, Runtime};
    let config = sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let role_name = unique_name("quiet-role");
    let role = tests::lambda_role(&config, &role_name).await;
    let code_zip = FunctionCode::builder()
        .zip_file(Blob::new(tests::lambda_zip(Path::new(ECHO))))
        .build();
    let create = |name: String| {
        let (lambda, role, code_zip) = (lambda.clone(), role.clone(), code_zip.clone());
        async move {
            tests::retry_role_propagation(|| {
                lambda
                    .create_function()
                    .function_name(&name)
                    .runtime(Runtime::Providedal2023)
                    .handler("bootstrap")
                    .role(&role)
                    .code(code_zip.clone())
                    .send()
            })
            .await
            .expect("CreateFunction");
            xtask::aws::wait_for_function(&lambda, &name)
                .await
                .expect("the function becomes Active");
        }
    };
    let invoke = |name: String| {
        let lambda = lambda.clone();
        async move {
            let out = lambda
                .invoke()
                .function_name(&name)
                .payload(Blob::new("{}"))
                .send()
                .await
                .expect("Invoke");
            assert_eq!(out.function_error(), None, "the function itself runs");
        }
    };
    let streams = |group: String| {
        let logs = logs.clone();
        async move {
            logs.describe_log_streams()
                .log_group_name(&group)
                .send()
                .await
                .expect("DescribeLogStreams")
                .log_streams()
                .len()
        }
    };

    // The group made beforehand (as deploy does); the role may not write to it.
    let name = unique_name("quiet");
    let group = format!("/aws/lambda/{name}");
    create(name.clone()).await;
    logs.create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .expect("CreateLogGroup");
    invoke(name.clone()).await;
    assert_eq!(
        streams(group.clone()).await,
        0,
        "no stream without the permissions"
    );

    // Streams and events of this group only (the Lambda developer guide's example).
    let group_arn = format!(
        "arn:aws:logs:us-east-1:{}:log-group:{group}:*",
        tests::ACCOUNT_ID
    );
    tests::put_role_policy(
        &config,
        &role_name,
        "logs",
        &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": group_arn}]})
        .to_string(),
    )
    .await;
    invoke(name.clone()).await;
    assert_eq!(
        streams(group.clone()).await,
        1,
        "a stream once the role allows it"
    );
    let events = logs
        .filter_log_events()
        .log_group_name(&group)
        .filter_pattern("START")
        .send()
        .await
        .expect("FilterLogEvents");
    assert_eq!(
        events.events().len(),
        1,
        "only the allowed invocation is logged"
    );

    // Another function of the same role: its group does not exist, and the role may
    // not create it.
    let other = unique_name("groupless");
    create(other.clone()).await;
    invoke(other.clone()).await;
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/aws/lambda/{other}"))
        .send()
        .await
        .expect("DescribeLogGroups");
    assert!(groups.log_groups().is_empty(), "{:?}", groups.log_groups());
}

/// `RotateSecret` on a secret with no rotation function, naming none, is refused
/// and changes nothing (moto would make an empty version `AWSCURRENT`).
#[tokio::test]
async fn rotate_secret_without_a_rotation_function_is_refused_and_changes_nothing() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let secret = unique_name("functionless");
    secrets
        .create_secret()
        .name(&secret)
        .secret_string(r#"{"generation":0}"#)
        .send()
        .await
        .expect("CreateSecret");
    let before = tests::stages(&secrets, &secret).await;
    let with_rules = secrets
        .rotate_secret()
        .secret_id(&secret)
        .rotation_rules(
            RotationRulesType::builder()
                .schedule_expression("rate(2 days)")
                .build(),
        )
        .send()
        .await;
    for refused in [
        secrets.rotate_secret().secret_id(&secret).send().await,
        with_rules,
    ] {
        let error = refused.expect_err("no rotation function");
        let service = error.as_service_error().expect("a service error");
        assert_eq!(
            aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(service),
            Some("InvalidRequestException")
        );
        assert_eq!(
            aws_sdk_secretsmanager::error::ProvideErrorMetadata::message(service),
            Some("No Lambda rotation function ARN is associated with this secret.")
        );
    }
    assert_eq!(tests::stages(&secrets, &secret).await, before);
    let described = secrets
        .describe_secret()
        .secret_id(&secret)
        .send()
        .await
        .expect("DescribeSecret");
    assert_ne!(described.rotation_enabled(), Some(true));
    assert_eq!(
        described
            .version_ids_to_stages()
            .map(std::collections::HashMap::len),
        Some(1)
    );
    let value = secrets
        .get_secret_value()
        .secret_id(&secret)
        .send()
        .await
        .expect("GetSecretValue");
    assert_eq!(value.secret_string(), Some(r#"{"generation":0}"#));
}

#[tokio::test]
async fn rotate_secret_answers_at_once_and_the_rotation_runs_in_the_background() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let secret = unique_name("slow");
    secrets
        .create_secret()
        .name(&secret)
        .secret_string(r#"{"generation":0}"#)
        .send()
        .await
        .expect("secret");
    let function = create_function(
        &config,
        &unique_name("slow"),
        Path::new(SCRIPTED),
        &[("SLOW_STEP", "setSecret")],
        10,
    )
    .await;
    let (current_before, _, _) = stages(&secrets, &secret).await;
    let started = secrets
        .rotate_secret()
        .secret_id(&secret)
        .rotation_lambda_arn(&function)
        .send()
        .await
        .expect("RotateSecret");
    let token = started.version_id().expect("version id").to_owned();

    // It answered before the rotation finished: AWSPENDING is on the new version.
    let (current, pending, _) = stages(&secrets, &secret).await;
    assert_eq!(current, current_before, "AWSCURRENT has not moved yet");
    assert_eq!(pending.as_deref(), Some(token.as_str()));
    let again = secrets.rotate_secret().secret_id(&secret).send().await;
    assert_eq!(
        code(&again).as_deref(),
        Some("InvalidRequestException"),
        "a second rotation while one runs is refused"
    );

    assert_eq!(
        tests::wait_for_rotation(&secret, &token).await,
        tests::RotationOutcome::Succeeded
    );
    let (current, pending, rotated) = stages(&secrets, &secret).await;
    assert_eq!(current.as_deref(), Some(token.as_str()));
    assert_eq!(pending, None);
    assert!(rotated);
}

/// API reference, CancelRotateSecret: "Turns off automatic rotation, and if a
/// rotation is currently in progress, cancels the rotation"; the answer's VersionId
/// is the version the rotation created, to be evaluated for deletion.
#[tokio::test]
async fn cancel_rotate_secret_stops_the_rotation_in_progress_and_names_its_version() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let secret = unique_name("cancelled");
    let journal_name = unique_name("journal");
    secrets
        .create_secret()
        .name(&journal_name)
        .secret_string("steps:")
        .send()
        .await
        .expect("journal");
    secrets
        .create_secret()
        .name(&secret)
        .secret_string(r#"{"generation":0}"#)
        .send()
        .await
        .expect("secret");
    let function = create_function(
        &config,
        &unique_name("slow"),
        Path::new(SCRIPTED),
        &[
            ("SLOW_STEP", "setSecret"),
            ("JOURNAL_SECRET", &journal_name),
        ],
        10,
    )
    .await;
    let (current_before, _, _) = stages(&secrets, &secret).await;
    let token = secrets
        .rotate_secret()
        .secret_id(&secret)
        .rotation_lambda_arn(&function)
        .send()
        .await
        .expect("RotateSecret")
        .version_id()
        .expect("version id")
        .to_owned();
    // Cancel while setSecret runs (the function holds it 1.5 s).
    tests::poll_until("setSecret to start", Duration::from_secs(30), || async {
        let records = tests::emulator_json("/_emulator/rotations");
        records
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["token"] == token.as_str() && r["step"] == "setSecret")
            .then_some(())
    })
    .await;
    let cancelled = secrets
        .cancel_rotate_secret()
        .secret_id(&secret)
        .send()
        .await
        .expect("CancelRotateSecret");
    assert_eq!(
        cancelled.version_id(),
        Some(token.as_str()),
        "the answer names the version the cancelled rotation created"
    );
    assert_eq!(
        tests::wait_for_rotation(&secret, &token).await,
        tests::RotationOutcome::Failed("cancelled".into())
    );
    assert_eq!(
        journal(&secrets, &journal_name).await,
        "createSecret setSecret",
        "no step after the one in flight runs once the rotation is cancelled"
    );
    let (current, _, _) = stages(&secrets, &secret).await;
    assert_eq!(current, current_before, "AWSCURRENT stays");
    let described = secrets
        .describe_secret()
        .secret_id(&secret)
        .send()
        .await
        .expect("DescribeSecret");
    assert_eq!(described.rotation_enabled(), Some(false));
}

/// "You can't delete a default security group" (EC2 user guide, "Default security
/// groups for your VPCs"), and a group that another group's rule references stays
/// until that rule is revoked (DependencyViolation): cleanup must delete in order.
#[tokio::test]
async fn a_default_group_or_a_referenced_group_cannot_be_deleted() {
    use aws_sdk_ec2::types::{IpPermission, UserIdGroupPair};
    let config = sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let vpc = create_vpc(&ec2, "10.77.0.0/16").await;
    let group = |name: &'static str| {
        let (ec2, vpc) = (ec2.clone(), vpc.clone());
        async move {
            xtask::aws::after_create(|| {
                ec2.create_security_group()
                    .group_name(name)
                    .description(name)
                    .vpc_id(&vpc)
                    .send()
            })
            .await
            .expect("CreateSecurityGroup")
            .group_id()
            .expect("group id")
            .to_owned()
        }
    };
    let (database, function) = (group("database").await, group("function").await);
    let from_function = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(3306)
        .to_port(3306)
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(&function).build())
        .build();
    xtask::aws::after_create(|| {
        ec2.authorize_security_group_ingress()
            .group_id(&database)
            .ip_permissions(from_function.clone())
            .send()
    })
    .await
    .expect("AuthorizeSecurityGroupIngress");
    let delete = |id: String| {
        let ec2 = ec2.clone();
        async move {
            ec2.delete_security_group()
                .group_id(id)
                .send()
                .await
                .err()
                .and_then(|e| {
                    e.as_service_error()
                        .and_then(|s| s.meta().code().map(str::to_owned))
                })
        }
    };
    assert_eq!(
        delete(function.clone()).await.as_deref(),
        Some("DependencyViolation"),
        "a group another group's rule references must stay"
    );
    let default = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&vpc)
                .build(),
        )
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .expect("DescribeSecurityGroups")
        .security_groups()
        .first()
        .and_then(|g| g.group_id())
        .expect("the VPC's default group")
        .to_owned();
    assert_eq!(
        delete(default).await.as_deref(),
        Some("CannotDelete"),
        "a VPC's default group must stay"
    );
    // In order: the referencing group first, then the referenced one, then the VPC
    // (which takes its default group along).
    assert_eq!(delete(database).await, None);
    assert_eq!(delete(function).await, None);
    ec2.delete_vpc()
        .vpc_id(&vpc)
        .send()
        .await
        .expect("DeleteVpc");
}

#[tokio::test]
async fn lambda_refuses_a_role_that_is_new_or_does_not_trust_it() {
    use aws_sdk_lambda::types::{FunctionCode, Runtime};
    let config = sdk_config().await;
    let iam = aws_sdk_iam::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    let untrusting = iam
        .create_role()
        .role_name(unique_name("ec2-role"))
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .expect("CreateRole")
        .role()
        .map(|r| r.arn().to_owned())
        .expect("arn");
    let fresh = tests::lambda_role(&config, &unique_name("fresh-role")).await;
    let code_zip = FunctionCode::builder()
        .zip_file(Blob::new(tests::lambda_zip(Path::new(ECHO))))
        .build();
    let create = |role: String| {
        lambda
            .create_function()
            .function_name(unique_name("rolefn"))
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(role)
            .code(code_zip.clone())
            .send()
    };
    let first = create(fresh.clone()).await;
    assert_eq!(
        code(&first).as_deref(),
        Some("InvalidParameterValueException")
    );
    assert!(
        first
            .as_ref()
            .err()
            .and_then(aws_sdk_lambda::error::ProvideErrorMetadata::message)
            .unwrap_or("")
            .contains("cannot be assumed by Lambda")
    );
    tests::retry_role_propagation(|| create(fresh.clone()))
        .await
        .expect("the same role works once it has propagated");
    // The other role is older than the one that now works: only its trust policy is wrong.
    assert_eq!(
        code(&create(untrusting).await).as_deref(),
        Some("InvalidParameterValueException"),
        "a role that does not trust lambda.amazonaws.com never works"
    );
}

#[allow(clippy::too_many_lines)] // one scenario: each resource state in turn, on one network
#[tokio::test]
async fn endpoints_and_db_instances_take_time_to_come_and_go_and_hold_their_network() {
    use aws_sdk_ec2::types::{State, VpcEndpointType};
    let config = sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let rds = aws_sdk_rds::Client::new(&config);
    let (vpc, subnets, group) = network(&ec2, 63).await;

    let endpoint = ec2
        .create_vpc_endpoint()
        .vpc_id(&vpc)
        .service_name("com.amazonaws.us-east-1.secretsmanager")
        .vpc_endpoint_type(VpcEndpointType::Interface)
        .set_subnet_ids(Some(subnets.clone()))
        .security_group_ids(&group)
        .send()
        .await
        .expect("CreateVpcEndpoint")
        .vpc_endpoint()
        .cloned()
        .expect("endpoint");
    // EC2 reports endpoint states in lower case ("pending"), unlike the SDK's enum names.
    let lower = |state: Option<&State>| state.map(|s| s.as_str().to_ascii_lowercase());
    assert_eq!(lower(endpoint.state()).as_deref(), Some("pending"));
    let endpoint_id = endpoint.vpc_endpoint_id().expect("id").to_owned();
    let endpoint_state = || async {
        ec2.describe_vpc_endpoints()
            .vpc_endpoint_ids(&endpoint_id)
            .send()
            .await
            .ok()
            .and_then(|out| lower(out.vpc_endpoints().first().and_then(|e| e.state())))
    };
    tests::poll_until(
        "the endpoint to be available",
        Duration::from_secs(15),
        || async { (endpoint_state().await.as_deref() == Some("available")).then_some(()) },
    )
    .await;
    ec2.delete_vpc_endpoints()
        .vpc_endpoint_ids(&endpoint_id)
        .send()
        .await
        .expect("DeleteVpcEndpoints");
    assert_eq!(endpoint_state().await.as_deref(), Some("deleting"));
    assert_eq!(
        code(&ec2.delete_subnet().subnet_id(&subnets[0]).send().await).as_deref(),
        Some("DependencyViolation"),
        "a deleting endpoint still holds its subnets"
    );

    // A DB subnet group needs two zones.
    let one_zone = rds
        .create_db_subnet_group()
        .db_subnet_group_name(unique_name("onezone"))
        .db_subnet_group_description("one zone")
        .subnet_ids(&subnets[0])
        .send()
        .await;
    assert_eq!(
        code(&one_zone).as_deref(),
        Some("DBSubnetGroupDoesNotCoverEnoughAZs")
    );
    let subnet_group = unique_name("twozones");
    rds.create_db_subnet_group()
        .db_subnet_group_name(&subnet_group)
        .db_subnet_group_description("two zones")
        .set_subnet_ids(Some(subnets.clone()))
        .send()
        .await
        .expect("CreateDBSubnetGroup");

    let id = unique_name("lifecycle");
    let created = rds
        .create_db_instance()
        .db_instance_identifier(&id)
        .engine("mysql")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .manage_master_user_password(true)
        .db_subnet_group_name(&subnet_group)
        .vpc_security_group_ids(&group)
        .send()
        .await
        .expect("CreateDBInstance");
    let instance = created.db_instance().expect("instance");
    assert_eq!(instance.db_instance_status(), Some("creating"));
    assert!(instance.endpoint().is_none(), "no endpoint while creating");
    let status = || async {
        rds.describe_db_instances()
            .db_instance_identifier(&id)
            .send()
            .await
            .ok()
            .and_then(|out| out.db_instances().first().cloned())
    };
    let available = tests::poll_until(
        "the instance to be available",
        Duration::from_secs(30),
        || async {
            status()
                .await
                .filter(|i| i.db_instance_status() == Some("available"))
        },
    )
    .await;
    assert!(available.endpoint().is_some());
    assert_eq!(
        code(&ec2.delete_security_group().group_id(&group).send().await).as_deref(),
        Some("DependencyViolation"),
        "the instance holds its security group"
    );

    rds.delete_db_instance()
        .db_instance_identifier(&id)
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("DeleteDBInstance");
    assert_eq!(
        status()
            .await
            .and_then(|i| i.db_instance_status().map(str::to_owned))
            .as_deref(),
        Some("deleting")
    );
    assert_eq!(
        code(
            &rds.delete_db_subnet_group()
                .db_subnet_group_name(&subnet_group)
                .send()
                .await
        )
        .as_deref(),
        Some("InvalidDBSubnetGroupStateFault")
    );
    tests::poll_until(
        "the instance to be gone",
        Duration::from_secs(30),
        || async { status().await.is_none().then_some(()) },
    )
    .await;
    rds.delete_db_subnet_group()
        .db_subnet_group_name(&subnet_group)
        .send()
        .await
        .expect("the subnet group goes once the instance has");
    tests::poll_until(
        "the endpoint to be deleted",
        Duration::from_secs(15),
        || async {
            matches!(endpoint_state().await.as_deref(), None | Some("deleted")).then_some(())
        },
    )
    .await;
    ec2.delete_security_group()
        .group_id(&group)
        .send()
        .await
        .expect("nothing holds the group any more");
}

/// What a statement run as `connection` answers: `Ok` or the server's message.
async fn run(connection: &mut sqlx::MySqlConnection, statement: &str) -> Result<(), String> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(connection)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// RDS user guide, "Master user account privileges" (RDS for MySQL 8.0.36 and higher):
/// the master user holds a fixed list WITH GRANT OPTION, with no FILE, SUPER or
/// SHUTDOWN, so it can neither hand those out nor use them; it can still grant ALL on a
/// database. Stock MariaDB's admin (`EMULATOR_STRICT=off`) holds ALL PRIVILEGES.
#[tokio::test]
async fn an_rds_master_user_holds_the_documented_privileges_and_no_file_super_or_shutdown() {
    let config = sdk_config().await;
    let rds = aws_sdk_rds::Client::new(&config);
    let tests::rotation::RdsInstance { id, mut master, .. } =
        tests::rotation::rds_instance(&config, "masterdb").await;

    let rows: Vec<String> = sqlx::raw_sql("SHOW GRANTS")
        .fetch_all(&mut master)
        .await
        .expect("SHOW GRANTS")
        .iter()
        .map(|row| row.get::<String, _>(0))
        .collect();
    let global: Vec<_> = rows
        .iter()
        .map(|row| rotator::grants::parse_row(row).expect("a grant row").grant)
        .filter_map(|grant| match grant {
            rotator::grants::GrantRow::Privileges {
                privileges,
                object,
                grant_option,
                revoke: false,
            } if object == "*.*" => Some((privileges, grant_option)),
            _ => None,
        })
        .collect();
    assert_eq!(global.len(), 1, "one global row: {rows:?}");
    let (privileges, grant_option) = &global[0];
    assert!(
        grant_option,
        "the master user holds its list WITH GRANT OPTION"
    );
    let held: BTreeSet<&str> = privileges.split(", ").collect();
    // The documented list in MariaDB 10.11's names (REPLICATION CLIENT = BINLOG MONITOR
    // + SLAVE MONITOR, SET_USER_ID = SET USER, CREATE/DROP ROLE within CREATE USER), and
    // DELETE HISTORY, MariaDB's part of a database's ALL (see mariadb_servers.py).
    let documented: BTreeSet<&str> = [
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "CREATE",
        "DROP",
        "RELOAD",
        "PROCESS",
        "REFERENCES",
        "INDEX",
        "ALTER",
        "SHOW DATABASES",
        "CREATE TEMPORARY TABLES",
        "LOCK TABLES",
        "EXECUTE",
        "REPLICATION SLAVE",
        "BINLOG MONITOR",
        "SLAVE MONITOR",
        "CREATE VIEW",
        "SHOW VIEW",
        "CREATE ROUTINE",
        "ALTER ROUTINE",
        "CREATE USER",
        "EVENT",
        "TRIGGER",
        "SET USER",
        "DELETE HISTORY",
    ]
    .into_iter()
    .collect();
    assert_eq!(held, documented, "the master user's global privileges");

    run(
        &mut master,
        "CREATE USER 'probe'@'%' IDENTIFIED BY 'Probe-1'",
    )
    .await
    .expect("the master user creates users");
    for privilege in ["FILE", "SUPER", "SHUTDOWN", "ALL PRIVILEGES"] {
        let refused = run(
            &mut master,
            &format!("GRANT {privilege} ON *.* TO 'probe'@'%'"),
        )
        .await;
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("Access denied")),
            "GRANT {privilege} ON *.* by the master user: {refused:?}"
        );
    }
    let outfile = tests::emulator().dir.join(format!("{id}-outfile.txt"));
    let refused = run(
        &mut master,
        &format!("SELECT 1 INTO OUTFILE '{}'", outfile.display()),
    )
    .await;
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("FILE")),
        "SELECT ... INTO OUTFILE needs FILE: {refused:?}"
    );
    assert!(!outfile.exists(), "no file was written");
    let refused = run(&mut master, "SHUTDOWN").await;
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("SHUTDOWN")),
        "SHUTDOWN needs SHUTDOWN: {refused:?}"
    );
    // What it holds, it hands out: ALL on a database, as RDS for MySQL's master does.
    run(&mut master, "CREATE DATABASE probed")
        .await
        .expect("CREATE DATABASE");
    run(
        &mut master,
        "GRANT ALL PRIVILEGES ON probed.* TO 'probe'@'%' WITH GRANT OPTION",
    )
    .await
    .expect("GRANT ALL on a database");
    run(&mut master, "SELECT 1")
        .await
        .expect("the server is still up");

    rds.delete_db_instance()
        .db_instance_identifier(&id)
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("delete");
}

#[allow(clippy::too_many_lines)] // one scenario: each refused change in turn, on one managed secret
#[tokio::test]
async fn a_secret_rds_manages_refuses_changes_and_carries_the_instances_tags() {
    let config = sdk_config().await;
    let rds = aws_sdk_rds::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let id = unique_name("owned");
    let created = rds
        .create_db_instance()
        .db_instance_identifier(&id)
        .engine("mysql")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .manage_master_user_password(true)
        .tags(Tag::builder().key("Project").value("fidelity").build())
        .send()
        .await
        .expect("CreateDBInstance");
    let arn = created
        .db_instance()
        .and_then(|i| i.master_user_secret())
        .and_then(|s| s.secret_arn())
        .expect("secret arn")
        .to_owned();
    let described = secrets
        .describe_secret()
        .secret_id(&arn)
        .send()
        .await
        .expect("DescribeSecret");
    assert!(
        described
            .tags()
            .iter()
            .any(|t| t.key() == Some("Project") && t.value() == Some("fidelity")),
        "RDS copies the instance's tags to its secret: {:?}",
        described.tags()
    );
    let refused = [
        code(
            &secrets
                .delete_secret()
                .secret_id(&arn)
                .force_delete_without_recovery(true)
                .send()
                .await,
        ),
        code(
            &secrets
                .put_secret_value()
                .secret_id(&arn)
                .secret_string("{}")
                .send()
                .await,
        ),
        code(
            &secrets
                .update_secret()
                .secret_id(&arn)
                .description("mine now")
                .send()
                .await,
        ),
        code(
            &secrets
                .rotate_secret()
                .secret_id(&arn)
                .rotation_lambda_arn("arn:aws:lambda:us-east-1:123456789012:function:any")
                .send()
                .await,
        ),
    ];
    for (call, code) in [
        "DeleteSecret",
        "PutSecretValue",
        "UpdateSecret",
        "RotateSecret",
    ]
    .iter()
    .zip(refused)
    {
        assert_eq!(code.as_deref(), Some("InvalidRequestException"), "{call}");
    }
    // RDS rotates it itself: RotateSecret with a schedule and no function is accepted,
    // and the secret keeps a value (moto would replace it with an empty version).
    secrets
        .rotate_secret()
        .secret_id(&arn)
        .rotation_rules(
            RotationRulesType::builder()
                .automatically_after_days(7)
                .build(),
        )
        .send()
        .await
        .expect("RotateSecret with rotation rules only");
    let described = secrets
        .describe_secret()
        .secret_id(&arn)
        .send()
        .await
        .expect("DescribeSecret");
    assert_eq!(described.rotation_enabled(), Some(true));
    assert_eq!(
        described
            .rotation_rules()
            .and_then(aws_sdk_secretsmanager::types::RotationRulesType::automatically_after_days),
        Some(7)
    );
    let value: Value = serde_json::from_str(
        secrets
            .get_secret_value()
            .secret_id(&arn)
            .send()
            .await
            .expect("GetSecretValue")
            .secret_string()
            .expect("a string value"),
    )
    .expect("json");
    assert!(value["password"].is_string(), "the secret keeps its value");
    rds.delete_db_instance()
        .db_instance_identifier(&id)
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("DeleteDBInstance");
    tests::poll_until(
        "RDS to delete its secret with the instance",
        Duration::from_secs(30),
        || async {
            secrets
                .describe_secret()
                .secret_id(&arn)
                .send()
                .await
                .is_err()
                .then_some(())
        },
    )
    .await;
}

/// KMS developer guide, "Key states of AWS KMS keys": only an Enabled key decrypts or
/// makes data keys; Secrets Manager then answers DecryptionFailure (read) and
/// EncryptionFailure (write), API reference, GetSecretValue and PutSecretValue.
#[tokio::test]
async fn a_secret_under_a_key_that_is_not_enabled_is_neither_read_nor_written() {
    let config = sdk_config().await;
    let kms = aws_sdk_kms::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let key = kms
        .create_key()
        .description("kms-key-state fidelity")
        .send()
        .await
        .expect("CreateKey")
        .key_metadata()
        .map(|m| m.key_id().to_owned())
        .expect("key id");
    let name = unique_name("keystate");
    secrets
        .create_secret()
        .name(&name)
        .kms_key_id(&key)
        .secret_string(r#"{"value":"first"}"#)
        .send()
        .await
        .expect("CreateSecret under an Enabled key");
    let read = || async {
        secrets
            .get_secret_value()
            .secret_id(&name)
            .send()
            .await
            .map(|v| v.secret_string().map(str::to_owned))
    };
    assert!(read().await.is_ok(), "readable while its key is Enabled");

    kms.disable_key()
        .key_id(&key)
        .send()
        .await
        .expect("DisableKey");
    assert_eq!(
        code(&read().await).as_deref(),
        Some("DecryptionFailure"),
        "GetSecretValue under a disabled key must fail with DecryptionFailure"
    );
    let write = secrets
        .put_secret_value()
        .secret_id(&name)
        .secret_string(r#"{"value":"second"}"#)
        .send()
        .await;
    assert_eq!(
        code(&write).as_deref(),
        Some("EncryptionFailure"),
        "PutSecretValue under a disabled key must fail with EncryptionFailure"
    );

    kms.enable_key()
        .key_id(&key)
        .send()
        .await
        .expect("EnableKey");
    assert_eq!(
        read()
            .await
            .expect("readable again once Enabled")
            .as_deref(),
        Some(r#"{"value":"first"}"#),
        "the refused write changed nothing"
    );
    kms.schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion");
    assert_eq!(
        code(&read().await).as_deref(),
        Some("DecryptionFailure"),
        "GetSecretValue under a key pending deletion must fail with DecryptionFailure"
    );
}

/// KMS developer guide, "Key states of AWS KMS keys": a key pending deletion is
/// neither enabled nor disabled (KMSInvalidStateException), CancelKeyDeletion leaves
/// it Disabled (API reference, CancelKeyDeletion) and refuses a key not pending
/// deletion; ScheduleKeyDeletion's PendingWindowInDays is 7 to 30 (API reference).
#[tokio::test]
async fn kms_refuses_enabling_a_key_pending_deletion_and_a_waiting_period_under_seven_days() {
    let config = sdk_config().await;
    let kms = aws_sdk_kms::Client::new(&config);
    let key = kms
        .create_key()
        .description("kms refusals")
        .send()
        .await
        .expect("CreateKey")
        .key_metadata()
        .map(|m| m.key_id().to_owned())
        .expect("key id");
    let state = || async {
        kms.describe_key()
            .key_id(&key)
            .send()
            .await
            .expect("DescribeKey")
            .key_metadata()
            .and_then(|m| m.key_state().cloned())
    };
    let too_short = kms
        .schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(6)
        .send()
        .await;
    assert_eq!(code(&too_short).as_deref(), Some("ValidationException"));
    assert_eq!(
        state().await,
        Some(aws_sdk_kms::types::KeyState::Enabled),
        "a refused schedule changes nothing"
    );

    let scheduled = kms
        .schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion with 7 days");
    assert_eq!(
        scheduled.key_state(),
        Some(&aws_sdk_kms::types::KeyState::PendingDeletion)
    );
    assert_eq!(scheduled.pending_window_in_days(), Some(7));
    let enable = kms.enable_key().key_id(&key).send().await;
    assert_eq!(code(&enable).as_deref(), Some("KMSInvalidStateException"));
    let message = enable
        .as_ref()
        .err()
        .and_then(aws_sdk_kms::error::ProvideErrorMetadata::message)
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("is pending deletion"), "{message}");
    let disable = kms.disable_key().key_id(&key).send().await;
    assert_eq!(code(&disable).as_deref(), Some("KMSInvalidStateException"));
    assert_eq!(
        state().await,
        Some(aws_sdk_kms::types::KeyState::PendingDeletion)
    );

    kms.cancel_key_deletion()
        .key_id(&key)
        .send()
        .await
        .expect("CancelKeyDeletion");
    assert_eq!(state().await, Some(aws_sdk_kms::types::KeyState::Disabled));
    let again = kms.cancel_key_deletion().key_id(&key).send().await;
    assert_eq!(code(&again).as_deref(), Some("KMSInvalidStateException"));
}

/// RDS user guide, "Password management with Amazon RDS and AWS Secrets Manager",
/// limitations: no read replica of a source whose master password RDS manages.
#[tokio::test]
async fn a_read_replica_of_a_source_whose_password_rds_manages_is_refused() {
    let config = sdk_config().await;
    let rds = aws_sdk_rds::Client::new(&config);
    let managed = tests::rotation::rds_instance(&config, "managedsrc").await;
    let replica_id = unique_name("refusedreplica");
    let refused = rds
        .create_db_instance_read_replica()
        .db_instance_identifier(&replica_id)
        .source_db_instance_identifier(&managed.id)
        .send()
        .await;
    assert_eq!(
        code(&refused).as_deref(),
        Some("InvalidParameterValue"),
        "a replica of a source whose password RDS manages must be refused"
    );
    let message = refused
        .as_ref()
        .err()
        .and_then(aws_sdk_rds::error::ProvideErrorMetadata::message)
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("ManageMasterUserPassword"), "{message}");
    assert!(
        rds.describe_db_instances()
            .db_instance_identifier(&replica_id)
            .send()
            .await
            .is_err(),
        "no replica was made"
    );
    // A source with a password of its own has replicas.
    let own = tests::rotation::rds_instance_with_own_password(&config, "ownsrc").await;
    rds.create_db_instance_read_replica()
        .db_instance_identifier(&replica_id)
        .source_db_instance_identifier(&own.id)
        .send()
        .await
        .expect("CreateDBInstanceReadReplica of a source with its own password");
    for id in [&replica_id, &own.id, &managed.id] {
        tests::rotation::delete_instance(&rds, id).await;
    }
}

/// The version id and value of a secret's version at `stage`.
async fn version_at(
    secrets: &aws_sdk_secretsmanager::Client,
    arn: &str,
    stage: &str,
) -> (String, Value) {
    let got = secrets
        .get_secret_value()
        .secret_id(arn)
        .version_stage(stage)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetSecretValue {stage}: {e:?}"));
    (
        got.version_id().expect("version id").to_owned(),
        serde_json::from_str(got.secret_string().expect("a string value")).expect("json"),
    )
}

/// Whether the master user logs in to `host:port` with the password of `value`.
async fn master_logs_in(host: &str, port: u16, value: &Value) -> bool {
    login(&db_options(
        host,
        port,
        value["username"].as_str().expect("username"),
        value["password"].as_str().expect("password"),
    ))
    .await
    .is_ok()
}

/// Waits for RDS to move `AWSCURRENT` of the secret it manages to `new_id`, then
/// checks that the new value logs in to the instance and `old` no longer does.
async fn current_moves_to(
    secrets: &aws_sdk_secretsmanager::Client,
    managed_arn: &str,
    new_id: &str,
    (host, port): (&str, u16),
    old: &Value,
) {
    tests::poll_until(
        "RDS to move AWSCURRENT",
        Duration::from_secs(30),
        || async {
            (version_at(secrets, managed_arn, "AWSCURRENT").await.0 == new_id).then_some(())
        },
    )
    .await;
    let (_, current) = version_at(secrets, managed_arn, "AWSCURRENT").await;
    assert!(
        !master_logs_in(host, port, old).await,
        "the old master password no longer logs in"
    );
    assert!(
        master_logs_in(host, port, &current).await,
        "the new AWSCURRENT logs in"
    );
}

/// RDS user guide, "Password management with Amazon RDS and AWS Secrets Manager": RDS
/// rotates the secret it manages every 7 days by default; the AWS CLI reference's
/// `list-secrets` example 3 shows such a secret's tags and labels after a rotation.
#[tokio::test]
async fn rds_rotates_the_master_password_it_manages_on_the_server_and_in_the_secret() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let tests::rotation::RdsInstance {
        id,
        arn,
        host,
        port,
        managed_arn,
        ..
    } = tests::rotation::rds_instance(&config, "rdsrotated").await;
    let described = secrets
        .describe_secret()
        .secret_id(&managed_arn)
        .send()
        .await
        .expect("DescribeSecret");
    assert_eq!(
        described.rotation_enabled(),
        Some(true),
        "a secret RDS manages reports rotation enabled"
    );
    assert_eq!(
        described
            .rotation_rules()
            .and_then(aws_sdk_secretsmanager::types::RotationRulesType::automatically_after_days),
        Some(7)
    );
    let tags: BTreeSet<(&str, &str)> = described
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?, t.value()?)))
        .collect();
    let expected: BTreeSet<(&str, &str)> = [
        ("aws:rds:primaryDBInstanceArn", arn.as_str()),
        ("aws:secretsmanager:owningService", "rds"),
    ]
    .into_iter()
    .collect();
    assert_eq!(tags, expected, "the tags AWS shows on a secret RDS manages");

    let (old_id, old) = version_at(&secrets, &managed_arn, "AWSCURRENT").await;
    let answer = tests::rotate_rds_master_password(&id, 2.0);
    assert_eq!(
        answer["ok"],
        json!(true),
        "the emulator's RDS rotates: {answer}"
    );
    let new_id = answer["version_id"]
        .as_str()
        .expect("the new version")
        .to_owned();
    // Mid-rotation: the server has the new password, AWSCURRENT is still the old one.
    let (pending_id, pending) = version_at(&secrets, &managed_arn, "AWSPENDING").await;
    assert_eq!(pending_id, new_id);
    assert_eq!(
        version_at(&secrets, &managed_arn, "AWSCURRENT").await.0,
        old_id
    );
    assert!(
        master_logs_in(&host, port, &pending).await,
        "the server has the new password"
    );

    current_moves_to(&secrets, &managed_arn, &new_id, (host.as_str(), port), &old).await;
    assert_eq!(
        version_at(&secrets, &managed_arn, "AWSPREVIOUS").await.0,
        old_id
    );
    assert_eq!(
        version_at(&secrets, &managed_arn, "AWSPENDING").await.0,
        new_id
    );
    rotate_through_modify_db_instance(&config, &id, &managed_arn, &new_id, (host.as_str(), port))
        .await;
}

/// A secret RDS manages, through Secrets Manager: RotateSecret with rotation rules
/// alone changes its schedule (Secrets Manager user guide, "Managed rotation", "To
/// change the schedule for managed rotation (AWS CLI)"); a rotation function is
/// refused with AWS's text (a live account, floci PR #2378); without
/// `RotateImmediately=false`, RDS rotates it at once (RotateSecret's API reference:
/// "then immediately starts a rotation").
#[tokio::test]
async fn rotate_secret_on_a_secret_rds_manages_changes_its_schedule_or_has_rds_rotate_it() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let tests::rotation::RdsInstance {
        host,
        port,
        managed_arn,
        ..
    } = tests::rotation::rds_instance(&config, "rdsschedule").await;

    let refused = secrets
        .rotate_secret()
        .secret_id(&managed_arn)
        .rotation_lambda_arn("arn:aws:lambda:us-east-1:123456789012:function:any")
        .send()
        .await
        .expect_err("a rotation function is refused on a secret RDS manages");
    let service = refused.as_service_error().expect("a service error");
    assert_eq!(
        aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(service),
        Some("InvalidRequestException")
    );
    assert_eq!(
        aws_sdk_secretsmanager::error::ProvideErrorMetadata::message(service),
        Some("Rotation Lambda ARN is not supported for a service-managed secret.")
    );

    let (before_id, before) = version_at(&secrets, &managed_arn, "AWSCURRENT").await;
    secrets
        .rotate_secret()
        .secret_id(&managed_arn)
        .rotation_rules(
            RotationRulesType::builder()
                .schedule_expression("rate(3 days)")
                .build(),
        )
        .rotate_immediately(false)
        .send()
        .await
        .expect("a new schedule for a secret RDS manages");
    let described = secrets
        .describe_secret()
        .secret_id(&managed_arn)
        .send()
        .await
        .expect("DescribeSecret");
    let rules = described.rotation_rules().expect("rotation rules");
    assert_eq!(rules.schedule_expression(), Some("rate(3 days)"));
    assert_eq!(rules.automatically_after_days(), Some(3));
    assert_eq!(
        version_at(&secrets, &managed_arn, "AWSCURRENT").await.0,
        before_id,
        "RotateImmediately=false changes only the schedule"
    );
    assert!(master_logs_in(&host, port, &before).await);

    let rotated = secrets
        .rotate_secret()
        .secret_id(&managed_arn)
        .send()
        .await
        .expect("RotateSecret now");
    let new_id = rotated.version_id().expect("the new version").to_owned();
    assert_ne!(new_id, before_id, "RDS makes a new version");
    current_moves_to(
        &secrets,
        &managed_arn,
        &new_id,
        (host.as_str(), port),
        &before,
    )
    .await;
}

/// RDS API reference, ModifyDBInstance `RotateMasterUserPassword` (with
/// `ApplyImmediately`): the same rotation, asked of RDS.
async fn rotate_through_modify_db_instance(
    config: &aws_config::SdkConfig,
    id: &str,
    managed_arn: &str,
    before: &str,
    (host, port): (&str, u16),
) {
    let rds = aws_sdk_rds::Client::new(config);
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    rds.modify_db_instance()
        .db_instance_identifier(id)
        .rotate_master_user_password(true)
        .apply_immediately(true)
        .send()
        .await
        .expect("ModifyDBInstance RotateMasterUserPassword");
    let (current_id, current) = version_at(&secrets, managed_arn, "AWSCURRENT").await;
    assert_ne!(
        current_id, before,
        "RotateMasterUserPassword makes a new version"
    );
    assert!(
        master_logs_in(host, port, &current).await,
        "the new AWSCURRENT logs in"
    );
    assert_eq!(
        version_at(&secrets, managed_arn, "AWSPREVIOUS").await.0,
        before
    );
    tests::rotation::delete_instance(&rds, id).await;
}

#[tokio::test]
async fn a_secret_scheduled_for_deletion_is_listed_only_on_request_and_holds_its_name() {
    use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let name = unique_name("planned");
    secrets
        .create_secret()
        .name(&name)
        .secret_string("x")
        .send()
        .await
        .expect("CreateSecret");
    secrets
        .delete_secret()
        .secret_id(&name)
        .recovery_window_in_days(7)
        .send()
        .await
        .expect("DeleteSecret");
    let listed = |planned: bool| {
        secrets
            .list_secrets()
            .filters(
                Filter::builder()
                    .key(FilterNameStringType::Name)
                    .values(&name)
                    .build(),
            )
            .include_planned_deletion(planned)
            .send()
    };
    assert!(
        listed(false)
            .await
            .expect("ListSecrets")
            .secret_list()
            .is_empty()
    );
    assert_eq!(
        listed(true).await.expect("ListSecrets").secret_list().len(),
        1
    );
    assert_eq!(
        code(
            &secrets
                .create_secret()
                .name(&name)
                .secret_string("y")
                .send()
                .await
        )
        .as_deref(),
        Some("InvalidRequestException")
    );
}

#[tokio::test]
async fn every_invocation_writes_to_the_functions_log_group() {
    let config = sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let name = unique_name("logged");
    create_function(&config, &name, Path::new(ECHO), &[], 10).await;
    for _ in 0..2 {
        lambda
            .invoke()
            .function_name(&name)
            .payload(Blob::new("{}"))
            .send()
            .await
            .expect("Invoke");
    }
    let group = format!("/aws/lambda/{name}");
    let events = logs
        .filter_log_events()
        .log_group_name(&group)
        .send()
        .await
        .expect("FilterLogEvents");
    let messages: Vec<&str> = events.events().iter().filter_map(|e| e.message()).collect();
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.starts_with("START RequestId: "))
            .count(),
        2
    );
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.starts_with("REPORT RequestId: "))
            .count(),
        2
    );
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.starts_with("echo function handling request"))
            .count(),
        2,
        "{messages:?}"
    );
    let streams: BTreeSet<&str> = events
        .events()
        .iter()
        .filter_map(|e| e.log_stream_name())
        .collect();
    assert_eq!(
        streams.len(),
        1,
        "one stream per execution environment (warm)"
    );
    let stream = streams.first().expect("stream");
    assert!(stream.contains("/[$LATEST]"), "{stream}");

    // The invocations a rotation makes are logged the same way.
    let (secret, _, function) = scripted_secret(&config, "none").await;
    let started = aws_sdk_secretsmanager::Client::new(&config)
        .rotate_secret()
        .secret_id(&secret)
        .rotation_lambda_arn(&function)
        .send()
        .await
        .expect("RotateSecret");
    tests::wait_for_rotation(&secret, started.version_id().expect("version")).await;
    let function_name = function.rsplit(':').next().expect("name");
    let events = logs
        .filter_log_events()
        .log_group_name(format!("/aws/lambda/{function_name}"))
        .filter_pattern("START")
        .send()
        .await
        .expect("FilterLogEvents");
    assert_eq!(events.events().len(), 4, "one invocation per step");
}

/// Secrets Manager invokes the rotation function only if the function's resource
/// policy lets it: without the permission AWS refuses `RotateSecret` at once, and
/// nothing is rotated or configured.
#[tokio::test]
async fn rotate_secret_is_refused_until_secrets_manager_may_invoke_the_function() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    let (secret, _, function_arn) = scripted_secret(&config, "none").await;
    // scripted_secret's function may be invoked (tests::create_function adds the
    // permission, as deploy does); take the permission away first.
    lambda
        .remove_permission()
        .function_name(&function_arn)
        .statement_id("SecretsManagerRotation")
        .send()
        .await
        .expect("RemovePermission");
    let rotate = || {
        secrets
            .rotate_secret()
            .secret_id(&secret)
            .rotation_lambda_arn(&function_arn)
            .rotation_rules(
                RotationRulesType::builder()
                    .schedule_expression("rate(2 days)")
                    .build(),
            )
            .send()
    };
    let refused = rotate().await.expect_err("no invoke permission");
    let service = refused.as_service_error().expect("a service error");
    assert_eq!(
        aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(service),
        Some("AccessDeniedException")
    );
    assert!(
        aws_sdk_secretsmanager::error::ProvideErrorMetadata::message(service)
            .unwrap_or_default()
            .contains("cannot invoke the specified Lambda function"),
        "{refused:?}"
    );
    let described = secrets
        .describe_secret()
        .secret_id(&secret)
        .send()
        .await
        .expect("describe");
    assert_ne!(
        described.rotation_enabled(),
        Some(true),
        "nothing configured"
    );

    tests::allow_secrets_manager(&config, &function_arn).await;
    let started = rotate().await.expect("allowed now");
    let token = started.version_id().expect("version id").to_owned();
    assert_eq!(
        tests::wait_for_rotation(&secret, &token).await,
        tests::RotationOutcome::Succeeded
    );
}

#[tokio::test]
async fn assume_role_is_refused_unless_the_trust_policy_allows_the_caller() {
    let config = sdk_config().await;
    let iam = aws_sdk_iam::Client::new(&config);
    let sts = aws_sdk_sts::Client::new(&config);
    let me = tests::ACCOUNT_ID;
    let role = |name: String, trust: Value| {
        let iam = iam.clone();
        async move {
            iam.create_role()
                .role_name(&name)
                .assume_role_policy_document(trust.to_string())
                .send()
                .await
                .expect("create role")
                .role()
                .expect("role")
                .arn()
                .to_owned()
        }
    };
    let trusting = |principal: &str, condition: Value| {
        let mut statement =
            json!({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"});
        if !condition.is_null() {
            statement["Condition"] = condition;
        }
        json!({"Version": "2012-10-17", "Statement": [statement]})
    };
    let other_account = role(
        unique_name("TrustsOther"),
        trusting("arn:aws:iam::111111111111:root", Value::Null),
    )
    .await;
    let with_external_id = role(
        unique_name("NeedsExternalId"),
        trusting(
            &format!("arn:aws:iam::{me}:root"),
            json!({"StringEquals": {"sts:ExternalId": "audit-7"}}),
        ),
    )
    .await;
    let assume = |arn: String, external_id: Option<&'static str>| {
        sts.assume_role()
            .role_arn(arn)
            .role_session_name("fidelity")
            .set_external_id(external_id.map(str::to_owned))
            .send()
    };
    // A role trusting another account, a role that does not exist, a missing or
    // wrong external id: AccessDenied naming the caller and the role, as AWS says it.
    for (arn, external_id) in [
        (other_account.clone(), None),
        (
            "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole".to_owned(),
            None,
        ),
        (with_external_id.clone(), None),
        (with_external_id.clone(), Some("audit-8")),
    ] {
        let error = assume(arn.clone(), external_id)
            .await
            .expect_err("AssumeRole must be refused");
        let service = error.as_service_error().expect("service error");
        assert_eq!(
            aws_sdk_sts::error::ProvideErrorMetadata::code(service),
            Some("AccessDenied"),
            "{arn}"
        );
        let message =
            aws_sdk_sts::error::ProvideErrorMetadata::message(service).unwrap_or_default();
        assert!(
            message.contains("is not authorized to perform: sts:AssumeRole on resource: ")
                && message.contains(&arn),
            "{message}"
        );
    }
    // The trusted caller with the right external id gets credentials that act as the role.
    let answer = assume(with_external_id.clone(), Some("audit-7"))
        .await
        .expect("assume role");
    let identity = aws_sdk_sts::Client::new(&tests::assumed_config(&config, &answer))
        .get_caller_identity()
        .send()
        .await
        .expect("caller identity");
    assert_eq!(identity.account(), Some(me));
    let role_name = with_external_id.rsplit('/').next().expect("name");
    assert!(
        identity
            .arn()
            .is_some_and(|a| a.starts_with(&format!("arn:aws:sts::{me}:assumed-role/{role_name}/"))),
        "{identity:?}"
    );
}

/// What the echo function's network probe says: did `event`'s target answer?
async fn probe(lambda: &aws_sdk_lambda::Client, function: &str, event: &Value) -> bool {
    let (error, body) = tests::invoke(lambda, function, event).await;
    assert_eq!(error, None, "the probe itself failed: {body}");
    serde_json::from_str::<Value>(&body).expect("json")["answered"]
        .as_bool()
        .expect("answered")
}

/// The reasons the emulated network gave for the connections it dropped from `function`.
fn drops_of(function: &str) -> Vec<String> {
    tests::emulator_json("/_emulator/network")["drops"]
        .as_array()
        .expect("drops")
        .iter()
        .filter(|d| d["function"] == function)
        .map(|d| format!("{} {}", d["target"], d["reason"]))
        .collect()
}

/// A Secrets Manager interface endpoint with private DNS in `vpc`'s `subnets`, its
/// interfaces carrying `group`; its id, once it is available. Private DNS needs the
/// VPC's `enableDnsSupport` (on in a new VPC) and `enableDnsHostnames` (off in a new
/// VPC): DNS hostnames are turned on first (EC2 API reference, CreateVpcEndpoint,
/// `PrivateDnsEnabled`).
async fn secrets_manager_endpoint(
    ec2: &aws_sdk_ec2::Client,
    vpc: &str,
    subnets: &[String],
    group: &str,
) -> String {
    tests::eventually(|| {
        ec2.modify_vpc_attribute()
            .vpc_id(vpc)
            .enable_dns_hostnames(
                aws_sdk_ec2::types::AttributeBooleanValue::builder()
                    .value(true)
                    .build(),
            )
            .send()
    })
    .await
    .expect("DNS hostnames on");
    let endpoint = ec2
        .create_vpc_endpoint()
        .vpc_id(vpc)
        .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Interface)
        .service_name("com.amazonaws.us-east-1.secretsmanager")
        .set_subnet_ids(Some(subnets.to_vec()))
        .security_group_ids(group)
        .private_dns_enabled(true)
        .send()
        .await
        .expect("CreateVpcEndpoint")
        .vpc_endpoint()
        .and_then(|e| e.vpc_endpoint_id())
        .expect("endpoint id")
        .to_owned();
    tests::poll_until("the endpoint is available", Duration::from_secs(20), || {
        let ec2 = ec2.clone();
        let endpoint = endpoint.clone();
        async move {
            let out = ec2
                .describe_vpc_endpoints()
                .vpc_endpoint_ids(&endpoint)
                .send()
                .await
                .ok()?;
            let state = out.vpc_endpoints().first()?.state()?.as_str().to_owned();
            (state == "available").then_some(())
        }
    })
    .await;
    endpoint
}

#[allow(clippy::too_many_lines)] // one scenario: each network change and its effect on the same function
#[tokio::test]
async fn a_function_reaches_a_database_or_an_api_only_where_its_network_carries_it() {
    use aws_sdk_ec2::types::{IpPermission, IpRange, UserIdGroupPair};
    let config = sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let rds = aws_sdk_rds::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    let (vpc, subnets, function_group) = network(&ec2, 64).await;
    let new_group = |name: &'static str| {
        let ec2 = ec2.clone();
        let vpc = vpc.clone();
        async move {
            let id = tests::eventually(|| {
                ec2.create_security_group()
                    .group_name(unique_name(name))
                    .description(name)
                    .vpc_id(&vpc)
                    .send()
            })
            .await
            .expect("CreateSecurityGroup")
            .group_id()
            .expect("id")
            .to_owned();
            tests::eventually(|| ec2.describe_security_groups().group_ids(&id).send())
                .await
                .expect("DescribeSecurityGroups");
            id
        }
    };
    let database_group = new_group("db").await;
    let endpoint_group = new_group("endpoint").await;
    let from_function = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(3306)
        .to_port(3306)
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(&function_group).build())
        .build();
    ec2.authorize_security_group_ingress()
        .group_id(&database_group)
        .ip_permissions(from_function.clone())
        .send()
        .await
        .expect("ingress from the function's group");
    let subnet_group = unique_name("netgroup");
    rds.create_db_subnet_group()
        .db_subnet_group_name(&subnet_group)
        .db_subnet_group_description("network fidelity")
        .set_subnet_ids(Some(subnets.clone()))
        .send()
        .await
        .expect("CreateDBSubnetGroup");
    let id = unique_name("netdb");
    rds.create_db_instance()
        .db_instance_identifier(&id)
        .engine("mysql")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("not-used-here-1")
        .db_subnet_group_name(&subnet_group)
        .vpc_security_group_ids(&database_group)
        .publicly_accessible(false)
        .send()
        .await
        .expect("CreateDBInstance");
    let instance = tests::available_db_instance(&rds, &id).await;
    let (host, port) = tests::rotation::endpoint_of(&instance);
    assert_eq!(port, 3306, "each instance listens on MySQL's port");
    assert!(
        host.starts_with("127.") && host != "127.0.0.1",
        "an address of its own: {host}"
    );

    let role_name = unique_name("net-role");
    let role = tests::lambda_role(&config, &role_name).await;
    tests::put_role_policy(&config, &role_name, "vpc-access", tests::VPC_ACCESS_POLICY).await;
    let function = vpc_function(&config, &role, &subnets, &function_group).await;
    let to_database = json!({ "connect": { "host": host, "port": port, "seconds": 2 } });
    let to_secrets_manager = json!({ "api": { "service": "secretsmanager", "seconds": 2 } });

    // The database admits the function's group: the server greets it.
    assert!(
        probe(&lambda, &function, &to_database).await,
        "{:?}",
        drops_of(&function)
    );
    // Without the rule, silence, decided at the next connection.
    ec2.revoke_security_group_ingress()
        .group_id(&database_group)
        .ip_permissions(from_function.clone())
        .send()
        .await
        .expect("revoke");
    assert!(!probe(&lambda, &function, &to_database).await);
    assert!(
        drops_of(&function)
            .iter()
            .any(|d| d.contains(&database_group) && d.contains("3306")),
        "{:?}",
        drops_of(&function)
    );
    // A CIDR covering the function's subnets admits it again.
    ec2.authorize_security_group_ingress()
        .group_id(&database_group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(3306)
                .to_port(3306)
                .ip_ranges(IpRange::builder().cidr_ip("10.64.0.0/16").build())
                .build(),
        )
        .send()
        .await
        .expect("ingress by CIDR");
    assert!(probe(&lambda, &function, &to_database).await);
    // A network ACL that denies everything (a new ACL has only the `*` deny rules)
    // on one of the subnets: the path between the two subnets is cut.
    let acl = ec2
        .create_network_acl()
        .vpc_id(&vpc)
        .send()
        .await
        .expect("CreateNetworkAcl")
        .network_acl()
        .and_then(|a| a.network_acl_id())
        .expect("acl id")
        .to_owned();
    let association = ec2
        .describe_network_acls()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("association.subnet-id")
                .values(&subnets[0])
                .build(),
        )
        .send()
        .await
        .expect("DescribeNetworkAcls")
        .network_acls()
        .iter()
        .flat_map(aws_sdk_ec2::types::NetworkAcl::associations)
        .find(|a| a.subnet_id() == Some(subnets[0].as_str()))
        .and_then(|a| a.network_acl_association_id())
        .expect("the subnet's association")
        .to_owned();
    let replaced = tests::eventually(|| {
        ec2.replace_network_acl_association()
            .association_id(&association)
            .network_acl_id(&acl)
            .send()
    })
    .await
    .expect("ReplaceNetworkAclAssociation");
    assert!(!probe(&lambda, &function, &to_database).await);
    assert!(
        drops_of(&function)
            .iter()
            .any(|d| d.contains("network ACL")),
        "{:?}",
        drops_of(&function)
    );
    let default_acl = ec2
        .describe_network_acls()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&vpc)
                .build(),
        )
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("default")
                .values("true")
                .build(),
        )
        .send()
        .await
        .expect("default ACL")
        .network_acls()
        .first()
        .and_then(|a| a.network_acl_id())
        .expect("default acl id")
        .to_owned();
    ec2.replace_network_acl_association()
        .association_id(replaced.new_association_id().expect("new association"))
        .network_acl_id(&default_acl)
        .send()
        .await
        .expect("back to the default ACL");
    assert!(probe(&lambda, &function, &to_database).await);

    // Secrets Manager: a VPC function has no way out until an interface endpoint with
    // private DNS answers for the service's name, in a VPC with DNS hostnames on.
    assert!(!probe(&lambda, &function, &to_secrets_manager).await);
    assert!(
        drops_of(&function)
            .iter()
            .any(|d| d.contains("no interface endpoint for secretsmanager")),
        "{:?}",
        drops_of(&function)
    );
    ec2.authorize_security_group_ingress()
        .group_id(&endpoint_group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(IpRange::builder().cidr_ip("10.64.0.0/16").build())
                .build(),
        )
        .send()
        .await
        .expect("443 from the VPC");
    let endpoint = secrets_manager_endpoint(&ec2, &vpc, &subnets, &endpoint_group).await;
    assert!(
        probe(&lambda, &function, &to_secrets_manager).await,
        "{:?}",
        drops_of(&function)
    );
    // Without the endpoint's private DNS, the service's name is not the endpoint's.
    ec2.modify_vpc_endpoint()
        .vpc_endpoint_id(&endpoint)
        .private_dns_enabled(false)
        .send()
        .await
        .expect("private DNS off");
    assert!(!probe(&lambda, &function, &to_secrets_manager).await);

    // Outside any VPC: the public API yes, a private database never.
    let outside = unique_name("public-fn");
    create_function(&config, &outside, Path::new(ECHO), &[], 10).await;
    assert!(probe(&lambda, &outside, &to_secrets_manager).await);
    assert!(!probe(&lambda, &outside, &to_database).await);
    assert!(
        drops_of(&outside)
            .iter()
            .any(|d| d.contains("not publicly accessible")),
        "{:?}",
        drops_of(&outside)
    );
}

/// What a function's `GetSecretValue` of `secret`, sent through its VPC's endpoint,
/// answers: the HTTP status and, for an error, its body (a success's body holds the
/// secret's value and is not shown).
async fn get_secret_from_function(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    secret: &str,
) -> (u64, String) {
    let event = json!({ "api": {
        "service": "secretsmanager",
        "seconds": 5,
        "target": "secretsmanager.GetSecretValue",
        "body": { "SecretId": secret },
    } });
    let (error, body) = tests::invoke(lambda, function, &event).await;
    assert_eq!(error, None, "the probe itself failed: {body}");
    let answer: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        answer["answered"],
        json!(true),
        "the network must carry the call to the endpoint: {:?}",
        drops_of(function)
    );
    (
        answer["status"].as_u64().expect("status"),
        answer["error"].as_str().unwrap_or_default().to_owned(),
    )
}

/// An interface endpoint's policy limits what goes through it, and grants nothing
/// (PrivateLink guide, "Control access to VPC endpoints using endpoint policies"): the
/// default policy lets everything through; a Deny of an action, or a policy allowing
/// only other actions, refuses a function's call through the endpoint with IAM's
/// AccessDenied naming the endpoint policy (IAM user guide, "Troubleshoot access
/// denied error messages"), while the operator's own call, which does not go through
/// the endpoint, is not the endpoint's to judge. A call through the endpoint carries
/// `aws:SourceVpce`, so an Allow conditioned on this endpoint applies.
#[allow(clippy::too_many_lines)] // one scenario: each policy and its effect on the same function
#[tokio::test]
async fn a_functions_call_through_an_endpoint_is_judged_by_the_endpoint_policy() {
    use aws_sdk_ec2::types::{IpPermission, IpRange};
    let config = sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let (vpc, subnets, group) = network(&ec2, 65).await;
    // The endpoint's interfaces carry the group, which admits HTTPS from the VPC.
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(IpRange::builder().cidr_ip("10.65.0.0/16").build())
                .build(),
        )
        .send()
        .await
        .expect("443 from the VPC");
    let endpoint = secrets_manager_endpoint(&ec2, &vpc, &subnets, &group).await;
    let set_policy = |document: Value| {
        let ec2 = ec2.clone();
        let endpoint = endpoint.clone();
        async move {
            ec2.modify_vpc_endpoint()
                .vpc_endpoint_id(&endpoint)
                .policy_document(document.to_string())
                .send()
                .await
                .expect("ModifyVpcEndpoint with a policy");
        }
    };
    let secret = unique_name("through-endpoint");
    secrets
        .create_secret()
        .name(&secret)
        .secret_string("not-a-real-password")
        .send()
        .await
        .expect("CreateSecret");
    let role_name = unique_name("vpce-role");
    let role = tests::lambda_role(&config, &role_name).await;
    tests::put_role_policy(&config, &role_name, "vpc-access", tests::VPC_ACCESS_POLICY).await;
    let function = vpc_function(&config, &role, &subnets, &group).await;

    // The default policy: full access.
    let (status, error) = get_secret_from_function(&lambda, &function, &secret).await;
    assert_eq!(
        status, 200,
        "the default endpoint policy allows all: {error}"
    );

    // A Deny of GetSecretValue refuses it through the endpoint, to the function's role.
    set_policy(json!({ "Statement": [
        { "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*" },
        { "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*" },
    ] }))
    .await;
    let (status, error) = get_secret_from_function(&lambda, &function, &secret).await;
    assert!(
        status == 400
            && error.contains("AccessDeniedException")
            && error.contains(&format!(
                "assumed-role/{role_name}/{function} is not authorized to perform: \
                 secretsmanager:GetSecretValue"
            ))
            && error.contains("with an explicit deny in a VPC endpoint policy"),
        "the endpoint policy's Deny must refuse the function's GetSecretValue: status {status}, {error}"
    );
    // The operator's call goes over the internet, not through the endpoint.
    secrets
        .get_secret_value()
        .secret_id(&secret)
        .send()
        .await
        .expect("a call that does not go through the endpoint is not the endpoint's to judge");

    // An endpoint policy does not grant: allowing other actions only refuses this one.
    set_policy(json!({ "Statement": [
        { "Effect": "Allow", "Principal": "*", "Action": "secretsmanager:DescribeSecret", "Resource": "*" },
    ] }))
    .await;
    let (status, error) = get_secret_from_function(&lambda, &function, &secret).await;
    assert!(
        status == 400
            && error.contains(
                "because no VPC endpoint policy allows the secretsmanager:GetSecretValue action"
            ),
        "an endpoint policy without an Allow for GetSecretValue must refuse it: status {status}, {error}"
    );

    // The call carries aws:SourceVpce: an Allow for calls through this endpoint applies.
    set_policy(json!({ "Statement": [
        { "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
          "Condition": { "StringEquals": { "aws:SourceVpce": endpoint } } },
    ] }))
    .await;
    let (status, error) = get_secret_from_function(&lambda, &function, &secret).await;
    assert_eq!(status, 200, "an Allow for this endpoint applies: {error}");
}

/// `ModifyVpcEndpoint` with `ResetPolicy` puts back the default policy, which "allows
/// full access to the service" (EC2 API reference, ModifyVpcEndpoint, `ResetPolicy`,
/// documented for gateway endpoints). moto kept the old, narrower policy.
#[tokio::test]
async fn modify_vpc_endpoint_with_reset_policy_restores_the_full_access_policy() {
    let config = sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let vpc = create_vpc(&ec2, "10.66.0.0/16").await;
    let narrow = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::one-bucket/*"}]});
    let endpoint = tests::eventually(|| {
        ec2.create_vpc_endpoint()
            .vpc_id(&vpc)
            .service_name("com.amazonaws.us-east-1.s3")
            .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Gateway)
            .policy_document(narrow.to_string())
            .send()
    })
    .await
    .expect("CreateVpcEndpoint")
    .vpc_endpoint()
    .and_then(|e| e.vpc_endpoint_id())
    .expect("endpoint id")
    .to_owned();
    let policy = || async {
        let described = tests::eventually(|| {
            ec2.describe_vpc_endpoints()
                .vpc_endpoint_ids(&endpoint)
                .send()
        })
        .await
        .expect("DescribeVpcEndpoints");
        let document = described
            .vpc_endpoints()
            .first()
            .and_then(|e| e.policy_document())
            .expect("the endpoint's policy");
        serde_json::from_str::<Value>(document).expect("a JSON policy")
    };
    assert_eq!(policy().await["Statement"], narrow["Statement"]);

    tests::eventually(|| {
        ec2.modify_vpc_endpoint()
            .vpc_endpoint_id(&endpoint)
            .reset_policy(true)
            .send()
    })
    .await
    .expect("ModifyVpcEndpoint");
    let statements = policy().await["Statement"].clone();
    assert_eq!(
        statements,
        json!([{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]),
        "ResetPolicy must restore the full-access default policy"
    );
    ec2.delete_vpc_endpoints()
        .vpc_endpoint_ids(&endpoint)
        .send()
        .await
        .expect("DeleteVpcEndpoints");
}

/// ModifyVpcEndpoint's `PrivateDnsEnabled` ("(Interface endpoint) Indicates whether a
/// private hosted zone is associated with the VPC", EC2 API reference) takes effect:
/// moto ignored it, so a function kept reaching Secrets Manager by its public name
/// after private DNS was turned off (found by `cargo xtask fuzz audit`, operator
/// endpoint-private-dns-off).
#[tokio::test]
async fn modify_vpc_endpoint_turns_private_dns_off_and_on() {
    let config = sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let (vpc, subnets, group) = network(&ec2, 67).await;
    let endpoint = secrets_manager_endpoint(&ec2, &vpc, &subnets, &group).await;
    let private_dns = || async {
        tests::eventually(|| {
            ec2.describe_vpc_endpoints()
                .vpc_endpoint_ids(&endpoint)
                .send()
        })
        .await
        .expect("DescribeVpcEndpoints")
        .vpc_endpoints()
        .first()
        .and_then(aws_sdk_ec2::types::VpcEndpoint::private_dns_enabled)
    };
    assert_eq!(private_dns().await, Some(true));
    for wanted in [false, true] {
        ec2.modify_vpc_endpoint()
            .vpc_endpoint_id(&endpoint)
            .private_dns_enabled(wanted)
            .send()
            .await
            .expect("ModifyVpcEndpoint");
        assert_eq!(
            private_dns().await,
            Some(wanted),
            "PrivateDnsEnabled={wanted} must turn the endpoint's private DNS {}",
            if wanted { "on" } else { "off" }
        );
    }
    ec2.delete_vpc_endpoints()
        .vpc_endpoint_ids(&endpoint)
        .send()
        .await
        .expect("DeleteVpcEndpoints");
}

/// Private DNS needs the VPC's DNS: CreateVpcEndpoint and ModifyVpcEndpoint answer
/// `InvalidParameter` to `PrivateDnsEnabled=true` for an interface endpoint in a VPC
/// whose `enableDnsHostnames` (or `enableDnsSupport`) is off (EC2 API reference,
/// CreateVpcEndpoint, `PrivateDnsEnabled`: "To use a private hosted zone, you must set
/// the following VPC attributes to true: enableDnsHostnames and enableDnsSupport").
/// moto accepted it in any VPC.
#[tokio::test]
async fn private_dns_needs_the_vpcs_dns_support_and_hostnames() {
    use aws_sdk_ec2::types::VpcEndpointType;
    let config = sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    // A new VPC has DNS support on and DNS hostnames off.
    let (vpc, subnets, group) = network(&ec2, 68).await;
    let create = |private_dns: bool| {
        ec2.create_vpc_endpoint()
            .vpc_id(&vpc)
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .service_name("com.amazonaws.us-east-1.secretsmanager")
            .set_subnet_ids(Some(subnets.clone()))
            .security_group_ids(&group)
            .private_dns_enabled(private_dns)
            .send()
    };
    let refused = tests::eventually(|| create(true)).await;
    assert_eq!(
        code(&refused).as_deref(),
        Some("InvalidParameter"),
        "PrivateDnsEnabled=true must be refused in a VPC without DNS hostnames: {refused:?}"
    );
    // Without private DNS the endpoint is created; turning it on is refused too.
    let endpoint = tests::eventually(|| create(false))
        .await
        .expect("an endpoint without private DNS")
        .vpc_endpoint()
        .and_then(|e| e.vpc_endpoint_id())
        .expect("endpoint id")
        .to_owned();
    let turn_on = || {
        ec2.modify_vpc_endpoint()
            .vpc_endpoint_id(&endpoint)
            .private_dns_enabled(true)
            .send()
    };
    let refused = tests::eventually(turn_on).await;
    assert_eq!(
        code(&refused).as_deref(),
        Some("InvalidParameter"),
        "PrivateDnsEnabled=true must be refused in a VPC without DNS hostnames (ModifyVpcEndpoint): {refused:?}"
    );
    // With DNS hostnames on, it is accepted.
    ec2.modify_vpc_attribute()
        .vpc_id(&vpc)
        .enable_dns_hostnames(
            aws_sdk_ec2::types::AttributeBooleanValue::builder()
                .value(true)
                .build(),
        )
        .send()
        .await
        .expect("DNS hostnames on");
    turn_on()
        .await
        .expect("PrivateDnsEnabled=true in a VPC with DNS support and hostnames");
    ec2.delete_vpc_endpoints()
        .vpc_endpoint_ids(&endpoint)
        .send()
        .await
        .expect("DeleteVpcEndpoints");
}

/// The text and fault RDS answers a ModifyDBInstance of an instance that is not
/// available with (hashicorp/terraform-provider-aws#31594, from CloudTrail, for an
/// instance being created). That a stopped instance gets the same text is the
/// emulator's choice: AWS's answer to it is not on record.
const NOT_AVAILABLE: &str = "Database instance is not in available state.";

/// The error code and message of a refused call.
fn refusal<T, E: aws_sdk_rds::error::ProvideErrorMetadata>(
    result: &Result<T, E>,
) -> (Option<String>, String) {
    (
        code(result),
        result
            .as_ref()
            .err()
            .and_then(|e| e.message().map(str::to_owned))
            .unwrap_or_default(),
    )
}

/// RDS API reference, ModifyDBInstance: any change to an instance that is not
/// available is refused (InvalidDBInstanceState); ManageMasterUserPassword false needs
/// a MasterUserPassword; MasterUserSecretKmsKeyId needs ManageMasterUserPassword and
/// cannot change the key of a secret RDS already manages. Each refusal changes nothing.
#[tokio::test]
async fn modify_db_instance_refuses_what_rds_refuses() {
    let config = sdk_config().await;
    let rds = aws_sdk_rds::Client::new(&config);
    let db = tests::rotation::rds_instance(&config, "modifyrefused").await;
    rds.stop_db_instance()
        .db_instance_identifier(&db.id)
        .send()
        .await
        .expect("StopDBInstance");
    let stopped = rds
        .modify_db_instance()
        .db_instance_identifier(&db.id)
        .backup_retention_period(3)
        .apply_immediately(true)
        .send()
        .await;
    assert_eq!(
        refusal(&stopped),
        (
            Some("InvalidDBInstanceState".to_owned()),
            NOT_AVAILABLE.to_owned()
        ),
        "a stopped instance must refuse ModifyDBInstance"
    );
    rds.start_db_instance()
        .db_instance_identifier(&db.id)
        .send()
        .await
        .expect("StartDBInstance");
    let started = tests::available_db_instance(&rds, &db.id).await;
    assert_ne!(
        started.backup_retention_period(),
        Some(3),
        "the refused change was not made"
    );

    // The refusal is the reference's (ManageMasterUserPassword: false needs
    // MasterUserPassword); the code and text pinned here are the emulator's choice: this
    // text is AWS's answer to ModifyDBCluster (terraform-aws-modules/terraform-aws-rds-aurora#370),
    // ModifyDBInstance's own is not on record.
    let off = rds
        .modify_db_instance()
        .db_instance_identifier(&db.id)
        .manage_master_user_password(false)
        .apply_immediately(true)
        .send()
        .await;
    assert_eq!(
        refusal(&off),
        (
            Some("InvalidParameterCombination".to_owned()),
            "MasterUserPassword must be provided when ManageMasterUserPassword is set to false."
                .to_owned()
        ),
        "turning the management off without a password must be refused"
    );
    // The refusal is the reference's (MasterUserSecretKmsKeyId needs
    // ManageMasterUserPassword); the code is the emulator's choice, not on record (AWS's
    // text is known only from ModifyDBCluster: hashicorp/terraform-provider-aws#41795).
    let another_key = "alias/another-key";
    let key_alone = rds
        .modify_db_instance()
        .db_instance_identifier(&db.id)
        .master_user_secret_kms_key_id(another_key)
        .apply_immediately(true)
        .send()
        .await;
    assert_eq!(
        code(&key_alone).as_deref(),
        Some("InvalidParameterCombination"),
        "a MasterUserSecretKmsKeyId without ManageMasterUserPassword must be refused"
    );
    let key_change = rds
        .modify_db_instance()
        .db_instance_identifier(&db.id)
        .manage_master_user_password(true)
        .master_user_secret_kms_key_id(another_key)
        .apply_immediately(true)
        .send()
        .await;
    // The refusal is the reference's (the key of a secret RDS manages can't be changed);
    // its code and its text naming the instance are the emulator's choice, not on
    // record. The emulator's acceptance of the same key on a managed instance is its
    // choice too, and not checked here: the reference says the key setting is "valid only
    // if the DB instance doesn't manage the master user password".
    let (key_code, key_message) = refusal(&key_change);
    assert_eq!(
        key_code.as_deref(),
        Some("InvalidParameterCombination"),
        "{key_message}"
    );
    assert!(key_message.contains(&db.id), "{key_message}");
    let after = tests::available_db_instance(&rds, &db.id).await;
    assert_eq!(
        after.master_user_secret().and_then(|s| s.secret_arn()),
        Some(db.managed_arn.as_str()),
        "the managed secret is kept"
    );
    tests::rotation::delete_instance(&rds, &db.id).await;
}
