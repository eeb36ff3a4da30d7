//! The rotator's checks of what setSecret made, end to end on the emulator's MariaDB:
//! testSecret proves the pending login is the alternate user itself with the current
//! user's privileges, and setSecret copies a TLS requirement whose names hold quotes
//! exactly and reads the clone's settings back.

use std::fmt::Write as _;

use serde_json::{Value, json};
use sqlx::Row as _;
use tests::rotation::{rotate, value};
use tests::{sdk_config, unique_name};

use super::rotator::{
    address_proxy, admin, app_secret, ca, deploy_rotator, exec, select_with, show_create_user,
};

async fn put_value(config: &aws_config::SdkConfig, secret: &str, value: &Value) {
    aws_sdk_secretsmanager::Client::new(config)
        .put_secret_value()
        .secret_id(secret)
        .secret_string(value.to_string())
        .send()
        .await
        .expect("PutSecretValue");
}

/// The client host of every login in this test, the function's included (through a
/// forwarder): an anonymous account there matches no other test's logins.
const CLIENT: [u8; 4] = [127, 0, 0, 3];

#[tokio::test]
async fn test_secret_fails_unless_the_pending_login_is_the_clone_itself_with_the_users_privileges()
{
    let config = sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let proxy = address_proxy(CLIENT).await;
    let app = app_secret(&config, &unique_name("ident"), "%", json!({"port": proxy})).await;
    let clone = format!("{}_clone", app.user);
    // A table the user may only ALTER: a table-level privilege that is no column
    // privilege, so information_schema.COLUMNS shows the user none of its columns,
    // while TABLES shows the table.
    let ops = format!("{}_ops", app.database);
    let mut root = admin().await;
    for statement in [
        format!("CREATE DATABASE `{ops}`"),
        format!("CREATE TABLE `{ops}`.`t` (id INT PRIMARY KEY)"),
        format!("GRANT ALTER ON `{ops}`.`t` TO '{}'@'%'", app.user),
    ] {
        exec(&mut root, statement).await;
    }
    // The admin secret through the same forwarder, first with a wrong password: the
    // rotation stops at setSecret, and the test runs each step itself.
    let current = value(&config, &app.name, "AWSCURRENT").await;
    let admin_arn = current["masterarn"].as_str().expect("masterarn").to_owned();
    let mut admin_value = value(&config, &admin_arn, "AWSCURRENT").await;
    admin_value["port"] = json!(proxy);
    let good_admin = admin_value.clone();
    admin_value["password"] = json!("wrong-password");
    put_value(&config, &admin_arn, &admin_value).await;
    let token = rotate(&config, &app.name, &function).await;
    put_value(&config, &admin_arn, &good_admin).await;
    let invoke = async |step: &str| {
        let event = json!({"Step": step, "SecretId": app.name, "ClientRequestToken": token});
        tests::invoke(&lambda, &function, &event).await
    };
    let (error, body) = invoke("setSecret").await;
    assert_eq!(error, None, "{body}");
    let pending = value(&config, &app.name, "AWSPENDING").await;
    assert_eq!(pending["username"], json!(clone));
    let password = pending["password"].as_str().expect("password").to_owned();

    // An anonymous account at the client's host is matched before `clone`@`%` and
    // accepts the pending password (and may use the database): the login works, as
    // someone else.
    let anonymous = rotator::sql::Account::new("", "127.0.0.3")
        .sql()
        .expect("quotable");
    let literal = rotator::sql::string_literal(&password, "password").expect("quotable");
    exec(
        &mut root,
        format!("CREATE USER {anonymous} IDENTIFIED BY {literal}"),
    )
    .await;
    exec(
        &mut root,
        format!("GRANT SELECT ON `{}`.* TO {anonymous}", app.database),
    )
    .await;
    let (error, body) = invoke("testSecret").await;
    exec(&mut root, format!("DROP USER {anonymous}")).await;
    assert_eq!(error.as_deref(), Some("Unhandled"), "{body}");
    assert!(
        body.contains("''@'127.0.0.3'") && body.contains("CURRENT_USER()"),
        "{body}"
    );
    assert!(!body.contains(&password), "no password in errors: {body}");

    // A privilege taken from the clone between setSecret and testSecret, and one given.
    let on_database = format!("ON `{}`.*", app.database);
    exec(
        &mut root,
        format!("REVOKE SELECT {on_database} FROM '{clone}'@'%'"),
    )
    .await;
    exec(
        &mut root,
        format!("GRANT INSERT {on_database} TO '{clone}'@'%'"),
    )
    .await;
    let (error, body) = invoke("testSecret").await;
    assert_eq!(error.as_deref(), Some("Unhandled"), "{body}");
    assert!(
        body.contains(&format!("missing [GRANT SELECT {on_database} TO <user>]"))
            && body.contains(&format!("extra [GRANT INSERT {on_database} TO <user>]"))
            && body.contains(&format!("'{}'@'%'", app.user)),
        "{body}"
    );

    // Put right, the same steps pass and the rotation ends as usual.
    exec(
        &mut root,
        format!("REVOKE INSERT {on_database} FROM '{clone}'@'%'"),
    )
    .await;
    exec(
        &mut root,
        format!("GRANT SELECT {on_database} TO '{clone}'@'%'"),
    )
    .await;
    // The table-level grant taken from the clone: the table exists (TABLES), so the
    // clone lacks a privilege the user holds, though the user sees no column of it.
    let on_table = format!("ON `{ops}`.`t`");
    exec(
        &mut root,
        format!("REVOKE ALTER {on_table} FROM '{clone}'@'%'"),
    )
    .await;
    let (error, body) = invoke("testSecret").await;
    assert_eq!(error.as_deref(), Some("Unhandled"), "{body}");
    assert!(
        body.contains(&format!("missing [GRANT ALTER {on_table} TO <user>]")),
        "{body}"
    );
    exec(
        &mut root,
        format!("GRANT ALTER {on_table} TO '{clone}'@'%'"),
    )
    .await;
    for step in ["testSecret", "finishSecret"] {
        let (error, body) = invoke(step).await;
        assert_eq!(error, None, "{step}: {body}");
    }
    let after = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(after["username"], json!(clone));
}

/// `ssl_type` and the three TLS names of an account (hex of their bytes), as
/// `mysql.user` holds them.
async fn tls_columns(user: &str, host: &str) -> Vec<String> {
    let mut root = admin().await;
    let row = sqlx::query(
        "SELECT CAST(ssl_type AS CHAR), HEX(x509_issuer), HEX(x509_subject), HEX(ssl_cipher) FROM mysql.user WHERE User = ? AND Host = ?",
    )
    .bind(user)
    .bind(host)
    .fetch_one(&mut root)
    .await
    .expect("mysql.user row");
    (0..4).map(|i| row.get::<String, _>(i)).collect()
}

fn hex(text: &str) -> String {
    text.bytes().fold(String::new(), |mut out, b| {
        write!(out, "{b:02X}").expect("writing to a String");
        out
    })
}

#[tokio::test]
async fn a_tls_requirement_whose_names_hold_quotes_is_copied_exactly_and_read_back() {
    let config = sdk_config().await;
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let app = app_secret(&config, &unique_name("dn"), "%", json!({})).await;
    let clone = format!("{}_clone", app.user);
    // The same user at an address the function never comes from, where it must show
    // a certificate with these names (quote and backslash in them).
    let host = "10.20.30.40";
    let mut root = admin().await;
    exec(
        &mut root,
        format!(
            r"CREATE USER '{}'@'{host}' IDENTIFIED BY '{}' REQUIRE ISSUER '/C=IE/O=O''Brien \\ Sons' AND SUBJECT '/CN=it''s' AND CIPHER 'ECDHE-RSA-AES256-GCM-SHA384'",
            app.user, app.password
        ),
    )
    .await;
    exec(
        &mut root,
        format!(
            "GRANT SELECT ON `{}`.* TO '{}'@'{host}'",
            app.database, app.user
        ),
    )
    .await;
    let user_tls = tls_columns(&app.user, host).await;
    assert_eq!(
        user_tls[..3],
        [
            "SPECIFIED".to_owned(),
            hex("/C=IE/O=O'Brien \\ Sons"),
            hex("/CN=it's")
        ]
    );

    rotate(&config, &app.name, &function).await;
    let current = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(current["username"], json!(clone), "the rotation ended");
    assert_eq!(select_with(&current).await, Ok(1));
    assert_eq!(
        tls_columns(&clone, host).await,
        user_tls,
        "the clone holds the very same names"
    );
    // SHOW CREATE USER of both, after the password, reads the same.
    let settings = |text: String| {
        text.split_once(" REQUIRE ")
            .map_or_else(|| text.clone(), |(_, rest)| rest.to_owned())
    };
    assert_eq!(
        settings(show_create_user(&clone, host).await),
        settings(show_create_user(&app.user, host).await)
    );
}
