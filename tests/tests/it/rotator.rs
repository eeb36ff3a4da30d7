//! The rotator end to end: the zip from `cargo xtask build` runs as a Lambda function
//! in the emulator, and rotations are started with `RotateSecret`, as in AWS.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use rotator::grants::Grants;
use serde_json::{Value, json};
use sqlx::{Connection as _, MySqlConnection, Row as _};
use tests::rotation::{
    RdsInstance, current_version, delete_instance, deploy_rotator_as, endpoint_of, function_logs,
    rds_instance, rotate, value,
};
use tests::{db_options, emulator, login, sdk_config, unique_name};

pub(super) fn ca() -> String {
    emulator().ca_file.display().to_string()
}

/// The rotator as a function of a role with no policy (the emulator's IAM is not enforced here).
pub(super) async fn deploy_rotator(config: &SdkConfig, env: &[(&str, &str)]) -> String {
    let role = tests::lambda_role(config, "rotator-test-role").await;
    deploy_rotator_as(config, &role, env).await
}

pub(super) async fn admin() -> MySqlConnection {
    tests::admin_connection().await
}

pub(super) async fn exec(connection: &mut MySqlConnection, statement: String) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.clone()))
        .execute(connection)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

/// An application user with SELECT on its own database, its secret, and an admin secret.
pub(super) struct AppSecret {
    pub(super) name: String,
    pub(super) user: String,
    pub(super) database: String,
    pub(super) password: String,
}

pub(super) async fn app_secret(
    config: &SdkConfig,
    user: &str,
    account_host: &str,
    extra: Value,
) -> AppSecret {
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let db = &emulator().database;
    let database = unique_name("appdb");
    let password = format!("Initial-{}", unique_name("pw"));
    let mut connection = admin().await;
    exec(&mut connection, format!("CREATE DATABASE `{database}`")).await;
    exec(
        &mut connection,
        format!("CREATE TABLE `{database}`.`t` (id INT PRIMARY KEY)"),
    )
    .await;
    exec(
        &mut connection,
        format!("INSERT INTO `{database}`.`t` VALUES (1)"),
    )
    .await;
    // Hostile names are quoted by the rotator's own quoting, which its unit tests pin.
    let account = rotator::sql::Account::new(user, account_host)
        .sql()
        .expect("quotable test user");
    exec(
        &mut connection,
        format!("CREATE USER {account} IDENTIFIED BY '{password}'"),
    )
    .await;
    exec(
        &mut connection,
        format!("GRANT SELECT ON `{database}`.* TO {account}"),
    )
    .await;
    let admin_name = unique_name("admin");
    let admin_secret = secrets
        .create_secret()
        .name(&admin_name)
        .secret_string(json!({"engine": "mariadb", "host": db.host, "port": db.port, "username": db.admin_user, "password": db.admin_password}).to_string())
        .send()
        .await
        .expect("admin secret");
    let mut value = json!({
        "engine": "mysql", "host": db.host, "port": db.port, "username": user, "password": password,
        "dbname": database, "masterarn": admin_secret.arn().expect("arn"), "ssl": true, "team": {"owner": "payments"},
    });
    if let (Value::Object(object), Value::Object(extra)) = (&mut value, extra) {
        for (key, item) in extra {
            if item.is_null() {
                object.remove(&key);
            } else {
                object.insert(key, item);
            }
        }
    }
    let name = unique_name("SecretsManagerTutorialAppuser");
    secrets
        .create_secret()
        .name(&name)
        .secret_string(value.to_string())
        .send()
        .await
        .expect("app secret");
    AppSecret {
        name,
        user: user.to_owned(),
        database,
        password,
    }
}

/// Logs in with a secret value's credentials (TLS verified) and counts the rows of `t`.
pub(super) async fn select_with(secret: &Value) -> Result<i64, String> {
    let db = &emulator().database;
    select_with_at(&db.host, db.port, secret).await
}

async fn logs_in(user: &str, password: &str) -> bool {
    let db = &emulator().database;
    login(&db_options(&db.host, db.port, user, password))
        .await
        .is_ok()
}

/// The passwords of a secret's versions and of the emulator's admin.
async fn passwords_in_play(config: &SdkConfig, app: &AppSecret) -> Vec<String> {
    let mut passwords = vec![
        app.password.clone(),
        emulator().database.admin_password.clone(),
    ];
    for stage in ["AWSCURRENT", "AWSPREVIOUS"] {
        passwords.push(
            value(config, &app.name, stage).await["password"]
                .as_str()
                .expect("password")
                .to_owned(),
        );
    }
    passwords
}

async fn grants_of(user: &str, host: &str) -> Grants {
    let mut connection = admin().await;
    let rows: Vec<String> = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SHOW GRANTS FOR '{user}'@'{host}'"
    )))
    .fetch_all(&mut connection)
    .await
    .expect("show grants")
    .iter()
    .map(|row| row.get::<String, _>(0))
    .collect();
    Grants::parse(&rows, user, host).expect("parse grants")
}

#[tokio::test]
async fn the_tutorial_path_alternates_users_and_keeps_every_other_key() {
    let config = sdk_config().await;
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let app = app_secret(&config, &unique_name("appuser"), "%", json!({})).await;
    let before = value(&config, &app.name, "AWSCURRENT").await;

    rotate(&config, &app.name, &function).await;
    let first = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(first["username"], json!(format!("{}_clone", app.user)));
    assert_ne!(first["password"], before["password"]);
    assert_eq!(
        select_with(&first).await,
        Ok(1),
        "the clone logs in with the new password and can SELECT"
    );
    assert_eq!(
        select_with(&before).await,
        Ok(1),
        "the previous user still logs in with the old password"
    );
    for key in [
        "engine",
        "host",
        "port",
        "dbname",
        "masterarn",
        "ssl",
        "team",
    ] {
        assert_eq!(
            first[key], before[key],
            "key {key} must survive the rotation"
        );
    }
    assert_eq!(value(&config, &app.name, "AWSPREVIOUS").await, before);

    rotate(&config, &app.name, &function).await;
    let second = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(
        second["username"],
        json!(app.user),
        "the second rotation goes back to the original user"
    );
    assert_ne!(second["password"], before["password"]);
    assert_eq!(select_with(&second).await, Ok(1));
    assert_eq!(
        select_with(&first).await,
        Ok(1),
        "the clone keeps working until its next turn"
    );
    assert!(
        !logs_in(&app.user, &app.password).await,
        "the original password no longer works"
    );
    assert_eq!(second["team"], before["team"]);
}

#[tokio::test]
async fn the_clone_gets_exactly_the_current_users_privileges_on_a_non_wildcard_host() {
    let config = sdk_config().await;
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let app = app_secret(&config, &unique_name("grantee"), "127.0.0.1", json!({})).await;
    let clone = format!("{}_clone", app.user);
    let mut connection = admin().await;
    exec(
        &mut connection,
        format!(
            "GRANT INSERT, UPDATE ON `{}`.`t` TO '{}'@'127.0.0.1' WITH GRANT OPTION",
            app.database, app.user
        ),
    )
    .await;
    exec(
        &mut connection,
        format!(
            "GRANT SELECT (`id`) ON `{}`.`t` TO '{}'@'127.0.0.1'",
            app.database, app.user
        ),
    )
    .await;
    // A role with a default role, and a TLS requirement: both belong to the account.
    let role = unique_name("reader");
    let account = format!("'{}'@'127.0.0.1'", app.user);
    exec(&mut connection, format!("CREATE ROLE `{role}`")).await;
    exec(
        &mut connection,
        format!("GRANT SELECT ON `{}`.* TO `{role}`", app.database),
    )
    .await;
    exec(&mut connection, format!("GRANT `{role}` TO {account}")).await;
    exec(
        &mut connection,
        format!("SET DEFAULT ROLE `{role}` FOR {account}"),
    )
    .await;
    exec(&mut connection, format!("ALTER USER {account} REQUIRE SSL")).await;

    rotate(&config, &app.name, &function).await;
    let create_clone: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SHOW CREATE USER '{clone}'@'127.0.0.1'"
    )))
    .fetch_one(&mut connection)
    .await
    .expect("show create user");
    assert!(
        create_clone.contains("REQUIRE SSL"),
        "the clone must require TLS as the user does"
    );
    let original = grants_of(&app.user, "127.0.0.1").await;
    let copied = grants_of(&clone, "127.0.0.1").await;
    assert_eq!(
        copied.rows, original.rows,
        "the clone has exactly the user's privileges, WITH GRANT OPTION, column grants, roles and default role included"
    );
    assert!(
        copied
            .rows
            .iter()
            .any(|r| matches!(r, rotator::grants::GrantRow::DefaultRole { .. })),
        "{:?}",
        copied.rows
    );
    assert!(copied.rows.iter().any(|r| matches!(
        r,
        rotator::grants::GrantRow::Privileges {
            grant_option: true,
            ..
        }
    )));

    // Now the clone is current: add a grant to it and take one away, rotate back.
    exec(
        &mut connection,
        format!(
            "GRANT DELETE ON `{}`.* TO '{clone}'@'127.0.0.1'",
            app.database
        ),
    )
    .await;
    exec(
        &mut connection,
        format!(
            "REVOKE INSERT, UPDATE ON `{}`.`t` FROM '{clone}'@'127.0.0.1'",
            app.database
        ),
    )
    .await;
    exec(
        &mut connection,
        format!(
            "REVOKE GRANT OPTION ON `{}`.`t` FROM '{clone}'@'127.0.0.1'",
            app.database
        ),
    )
    .await;
    rotate(&config, &app.name, &function).await;
    let current = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(current["username"], json!(app.user));
    assert_eq!(
        grants_of(&app.user, "127.0.0.1").await.rows,
        grants_of(&clone, "127.0.0.1").await.rows,
        "extra privileges from the earlier rotation are revoked"
    );
    let rows = grants_of(&app.user, "127.0.0.1").await.rows;
    assert!(
        rows.iter().any(|r| r.to_string().contains("DELETE")),
        "{rows:?}"
    );
    assert!(
        !rows.iter().any(|r| r.to_string().contains("INSERT")),
        "{rows:?}"
    );
}

#[tokio::test]
async fn a_failed_set_secret_keeps_the_old_credentials_and_every_step_rerun_is_a_no_op() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let app = app_secret(&config, &unique_name("faulty"), "%", json!({})).await;
    let before = value(&config, &app.name, "AWSCURRENT").await;
    let (current_before, _) = current_version(&config, &app.name).await;

    // Break the admin secret: a wrong password.
    let admin_arn = before["masterarn"].as_str().expect("masterarn").to_owned();
    let mut admin_value = value(&config, &admin_arn, "AWSCURRENT").await;
    let good_admin = admin_value.clone();
    admin_value["password"] = json!("wrong-password");
    secrets
        .put_secret_value()
        .secret_id(&admin_arn)
        .secret_string(admin_value.to_string())
        .send()
        .await
        .expect("break admin");

    let token = rotate(&config, &app.name, &function).await;
    let (current, pending) = current_version(&config, &app.name).await;
    assert_eq!(
        current, current_before,
        "AWSCURRENT stays on the old version"
    );
    assert_eq!(
        pending.as_deref(),
        Some(token.as_str()),
        "AWSPENDING is left for the retry, as in AWS"
    );
    assert_eq!(
        select_with(&before).await,
        Ok(1),
        "the old credentials still work"
    );
    let pending_value = value(&config, &app.name, "AWSPENDING").await;
    assert!(
        !logs_in(
            pending_value["username"].as_str().expect("user"),
            pending_value["password"].as_str().expect("pw")
        )
        .await
    );

    let invoke = async |step: &str| {
        let event = json!({"Step": step, "SecretId": app.name, "ClientRequestToken": token});
        tests::invoke(&lambda, &function, &event).await
    };
    // createSecret again: nothing changes.
    assert_eq!(invoke("createSecret").await.0, None);
    assert_eq!(value(&config, &app.name, "AWSPENDING").await, pending_value);
    // setSecret fails with a message naming the secret, the step and the admin login.
    let (error, body) = invoke("setSecret").await;
    assert_eq!(error.as_deref(), Some("Unhandled"));
    assert!(
        body.contains(&format!("secret {}, step setSecret", app.name))
            && body.contains("refused the login"),
        "{body}"
    );
    assert!(
        !body.contains("wrong-password"),
        "no password in errors: {body}"
    );

    // Fix the fault; the steps complete, and each again is a no-op.
    secrets
        .put_secret_value()
        .secret_id(&admin_arn)
        .secret_string(good_admin.to_string())
        .send()
        .await
        .expect("fix admin");
    for step in [
        "setSecret",
        "setSecret",
        "testSecret",
        "testSecret",
        "finishSecret",
        "finishSecret",
        "createSecret",
        "setSecret",
    ] {
        let (error, body) = invoke(step).await;
        assert_eq!(error, None, "{step}: {body}");
    }
    let (current, pending) = current_version(&config, &app.name).await;
    assert_eq!(current, token);
    assert_eq!(pending, None);
    let after = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(
        after, pending_value,
        "the value created once is the one that became current"
    );
    assert_eq!(select_with(&after).await, Ok(1));

    // And the next rotation runs normally.
    rotate(&config, &app.name, &function).await;
    assert_eq!(
        value(&config, &app.name, "AWSCURRENT").await["username"],
        json!(app.user)
    );
}

#[tokio::test]
async fn tls_is_verified_with_the_ca_bundle_and_never_downgraded_when_required() {
    let config = sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    // Without the CA bundle the emulator's certificate cannot be verified.
    let no_ca = deploy_rotator(&config, &[]).await;
    let app = app_secret(&config, &unique_name("tlsuser"), "%", json!({"ssl": true})).await;
    let token = rotate(&config, &app.name, &no_ca).await;
    let (_, pending) = current_version(&config, &app.name).await;
    assert_eq!(
        pending.as_deref(),
        Some(token.as_str()),
        "the rotation must stop: ssl=true forbids plaintext"
    );
    // The user name is longer than 16 characters, so createSecret already logs in to
    // read the server's version (for the user-name limit): that login must refuse plaintext.
    let event = json!({"Step": "createSecret", "SecretId": app.name, "ClientRequestToken": token});
    let (_, body) = tests::invoke(&lambda, &no_ca, &event).await;
    assert!(
        body.contains("TLS") && body.contains("DB_CA_BUNDLE"),
        "{body}"
    );

    // ssl absent: the server offers TLS but its certificate cannot be verified without
    // the CA. That is what an attacker in the path looks like: no plaintext fallback.
    let relaxed = app_secret(&config, &unique_name("tlsoff"), "%", json!({"ssl": null})).await;
    let token = rotate(&config, &relaxed.name, &no_ca).await;
    let (_, pending) = current_version(&config, &relaxed.name).await;
    assert_eq!(
        pending.as_deref(),
        Some(token.as_str()),
        "a failed certificate check must stop the rotation"
    );
    // createSecret logs in to read the server's version (the clone's name is long).
    let event =
        json!({"Step": "createSecret", "SecretId": relaxed.name, "ClientRequestToken": token});
    let (_, body) = tests::invoke(&lambda, &no_ca, &event).await;
    assert!(
        body.contains("does not fall back to plaintext") && body.contains("DB_CA_BUNDLE"),
        "{body}"
    );
    let logs = function_logs(&no_ca);
    assert!(
        !logs
            .lines()
            .any(|l| l.contains("logged in") && l.contains("plaintext")),
        "no login may have used plaintext: {logs}"
    );
}

#[tokio::test]
async fn single_user_rotation_changes_the_users_own_password() {
    let config = sdk_config().await;
    let function = deploy_rotator(
        &config,
        &[
            ("DB_CA_BUNDLE", &ca()),
            ("ROTATION_STRATEGY", "single-user"),
        ],
    )
    .await;
    let app = app_secret(
        &config,
        &unique_name("single"),
        "%",
        json!({"masterarn": null}),
    )
    .await;
    rotate(&config, &app.name, &function).await;
    let current = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(current["username"], json!(app.user));
    assert_ne!(current["password"], json!(app.password));
    assert_eq!(select_with(&current).await, Ok(1));
    assert!(
        !logs_in(&app.user, &app.password).await,
        "the old password is gone"
    );

    // The database is restored from a backup: it has the previous password again, and
    // neither AWSCURRENT nor the pending one logs in. The rotation uses AWSPREVIOUS.
    let mut connection = admin().await;
    exec(
        &mut connection,
        format!(
            "ALTER USER '{}'@'%' IDENTIFIED BY '{}'",
            app.user, app.password
        ),
    )
    .await;
    assert_eq!(
        value(&config, &app.name, "AWSPREVIOUS").await["password"],
        json!(app.password)
    );
    rotate(&config, &app.name, &function).await;
    let (_, pending) = current_version(&config, &app.name).await;
    assert_eq!(pending, None, "the rotation finished");
    let restored = value(&config, &app.name, "AWSCURRENT").await;
    assert_ne!(restored["password"], current["password"]);
    assert_eq!(select_with(&restored).await, Ok(1));
    assert!(
        !logs_in(&app.user, &app.password).await,
        "the previous password is gone"
    );
    assert!(function_logs(&function).contains("AWSPREVIOUS"));
}

#[tokio::test]
async fn an_rds_managed_admin_secret_is_found_through_its_instance_and_a_database_outage_changes_nothing()
 {
    let config = sdk_config().await;
    let rds = aws_sdk_rds::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let RdsInstance {
        id,
        host,
        port,
        managed_arn,
        master: mut connection,
        ..
    } = rds_instance(&config, "tutorialdb").await;
    exec(&mut connection, "CREATE DATABASE tutorial".to_owned()).await;
    exec(
        &mut connection,
        "CREATE TABLE tutorial.t (id INT)".to_owned(),
    )
    .await;
    exec(
        &mut connection,
        "CREATE USER 'appuser'@'%' IDENTIFIED BY 'Initial-1'".to_owned(),
    )
    .await;
    exec(
        &mut connection,
        "GRANT SELECT ON tutorial.* TO 'appuser'@'%'".to_owned(),
    )
    .await;
    drop(connection);
    let name = unique_name("SecretsManagerTutorialAppuser");
    let app = json!({"engine": "mysql", "host": host, "port": port, "username": "appuser", "password": "Initial-1", "dbname": "tutorial", "masterarn": managed_arn});
    secrets
        .create_secret()
        .name(&name)
        .secret_string(app.to_string())
        .send()
        .await
        .expect("secret");

    rotate(&config, &name, &function).await;
    let current = value(&config, &name, "AWSCURRENT").await;
    assert_eq!(current["username"], json!("appuser_clone"));
    let mut connection = login(&db_options(
        &host,
        port,
        "appuser_clone",
        current["password"].as_str().expect("pw"),
    ))
    .await
    .expect("clone login on the RDS instance");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tutorial.t")
        .fetch_one(&mut connection)
        .await
        .expect("select");
    assert_eq!(count, 0);
    connection.close().await.ok();

    // The database goes down: the rotation fails in setSecret and AWSCURRENT stays.
    let before = current_version(&config, &name).await.0;
    rds.stop_db_instance()
        .db_instance_identifier(&id)
        .send()
        .await
        .expect("stop");
    let token = rotate(&config, &name, &function).await;
    let (current, pending) = current_version(&config, &name).await;
    assert_eq!(
        current, before,
        "AWSCURRENT must not move while the database is down"
    );
    assert_eq!(pending.as_deref(), Some(token.as_str()));
    // It comes back: the old credentials work. Secrets Manager's own retries ran while
    // it was down and failed too, so AWSPENDING must be cleared for a new rotation,
    // which completes.
    rds.start_db_instance()
        .db_instance_identifier(&id)
        .send()
        .await
        .expect("start");
    let old = value(&config, &name, "AWSCURRENT").await;
    assert!(
        login(&db_options(
            &host,
            port,
            "appuser_clone",
            old["password"].as_str().expect("pw")
        ))
        .await
        .is_ok(),
        "the old credentials work again"
    );
    let refused = secrets.rotate_secret().secret_id(&name).send().await;
    assert!(
        refused.is_err(),
        "a new rotation is refused while AWSPENDING is left on the failed version"
    );
    tests::rotation::clear_pending(&config, &name, &token).await;
    let token = rotate(&config, &name, &function).await;
    let (current, pending) = current_version(&config, &name).await;
    assert_eq!((current.as_str(), pending), (token.as_str(), None));
    let back = value(&config, &name, "AWSCURRENT").await;
    assert_eq!(back["username"], json!("appuser"));
    assert!(
        login(&db_options(
            &host,
            port,
            "appuser",
            back["password"].as_str().expect("pw")
        ))
        .await
        .is_ok()
    );

    delete_instance(&rds, &id).await;
}

/// RDS's master user holds no FILE (RDS user guide, "Master user account privileges"),
/// and "to use GRANT, you must have the privileges that you are granting" (MariaDB
/// knowledge base, "GRANT"): an application user given FILE by someone else cannot be
/// mirrored by the master. The rotation stops in setSecret before any write, naming
/// FILE and the fix; once FILE is revoked, the same rotation completes.
#[tokio::test]
async fn a_user_holding_what_the_rds_master_cannot_grant_stops_the_rotation_before_any_write() {
    let config = sdk_config().await;
    let rds = aws_sdk_rds::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let RdsInstance {
        id,
        host,
        port,
        managed_arn,
        master: mut connection,
        ..
    } = rds_instance(&config, "filedb").await;
    exec(&mut connection, "CREATE DATABASE app".to_owned()).await;
    exec(
        &mut connection,
        "CREATE USER 'appuser'@'%' IDENTIFIED BY 'Initial-1'".to_owned(),
    )
    .await;
    exec(
        &mut connection,
        "GRANT SELECT ON app.* TO 'appuser'@'%'".to_owned(),
    )
    .await;
    // The master cannot give FILE; the instance's root (outside RDS's world) can.
    let mut root = tests::rotation::instance_root(&id).await;
    exec(&mut root, "GRANT FILE ON *.* TO 'appuser'@'%'".to_owned()).await;
    let name = unique_name("SecretsManagerTutorialAppuser");
    let app = json!({"engine": "mysql", "host": host, "port": port, "username": "appuser", "password": "Initial-1", "dbname": "app", "masterarn": managed_arn});
    secrets
        .create_secret()
        .name(&name)
        .secret_string(app.to_string())
        .send()
        .await
        .expect("secret");
    let before = current_version(&config, &name).await.0;

    let token = rotate(&config, &name, &function).await;
    let (current, pending) = current_version(&config, &name).await;
    assert_eq!(current, before, "AWSCURRENT stays");
    assert_eq!(pending.as_deref(), Some(token.as_str()));
    assert!(
        !has_account(&mut root, "appuser_clone").await,
        "no alternate user was created"
    );
    let logs = function_logs(&function);
    assert!(
        logs.contains("'appuser'@'%' holds FILE ON *.*, which the admin 'admin'@'%' cannot grant")
            && logs.contains("RDS's master user never holds FILE")
            && logs.contains(
                "revoke it from 'appuser'@'%', or use an admin that holds it WITH GRANT OPTION"
            ),
        "the function's log names FILE, the admin and the fix:\n{logs}"
    );

    // The fix the message names: FILE revoked, AWSPENDING cleared, a new rotation completes.
    exec(
        &mut root,
        "REVOKE FILE ON *.* FROM 'appuser'@'%'".to_owned(),
    )
    .await;
    tests::rotation::clear_pending(&config, &name, &token).await;
    let token = rotate(&config, &name, &function).await;
    let (current, pending) = current_version(&config, &name).await;
    assert_eq!((current.as_str(), pending), (token.as_str(), None));
    assert_eq!(
        value(&config, &name, "AWSCURRENT").await["username"],
        json!("appuser_clone")
    );

    delete_instance(&rds, &id).await;
}

#[tokio::test]
async fn hostile_names_and_passwords_work_exactly_or_are_refused_before_any_change() {
    let config = sdk_config().await;
    // Passwords drawn from every printable character but space, quotes and backslashes included.
    let function = deploy_rotator(
        &config,
        &[
            ("DB_CA_BUNDLE", &ca()),
            ("EXCLUDE_CHARACTERS", " "),
            ("PASSWORD_LENGTH", "40"),
        ],
    )
    .await;
    let user = format!("o'b;r%\\i`n{}", unique_name("ü"));
    let app = app_secret(&config, &user, "%", json!({})).await;
    rotate(&config, &app.name, &function).await;
    let current = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(current["username"], json!(format!("{user}_clone")));
    assert_eq!(select_with(&current).await, Ok(1));
    rotate(&config, &app.name, &function).await;
    let back = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(back["username"], json!(user));
    assert_eq!(select_with(&back).await, Ok(1));

    // A name MySQL cannot store is refused in createSecret: no pending value is written.
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let emoji = app_secret(&config, &unique_name("plain"), "%", json!({})).await;
    let mut value_with_emoji = value(&config, &emoji.name, "AWSCURRENT").await;
    value_with_emoji["username"] = json!("app😀user");
    secrets
        .put_secret_value()
        .secret_id(&emoji.name)
        .secret_string(value_with_emoji.to_string())
        .send()
        .await
        .expect("put");
    let token = rotate(&config, &emoji.name, &function).await;
    let pending = secrets
        .get_secret_value()
        .secret_id(&emoji.name)
        .version_id(&token)
        .send()
        .await;
    assert!(
        pending.is_err(),
        "nothing may be written for a name that cannot be rotated"
    );
}

#[tokio::test]
async fn malformed_input_gets_a_clear_error_naming_the_secret_step_and_fix() {
    let config = sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let invoke = async |event: Value| tests::invoke(&lambda, &function, &event).await;
    let (error, body) = invoke(json!({"Step": "createSecret", "SecretId": "x"})).await;
    assert_eq!(error.as_deref(), Some("Unhandled"));
    assert!(
        body.contains("ClientRequestToken") && body.contains("InvalidEvent"),
        "{body}"
    );
    let (_, body) =
        invoke(json!({"Step": "explodeSecret", "SecretId": "x", "ClientRequestToken": "t"})).await;
    assert!(body.contains("unknown step `explodeSecret`"), "{body}");

    let cases = [
        ("not json at all", "not a JSON object"),
        (
            r#"{"engine":"mysql","host":"h","username":"u","password":"p"}"#,
            "`masterarn` is missing",
        ),
        (
            r#"{"engine":"postgres","host":"h","username":"u","password":"p","masterarn":"m"}"#,
            "engine `postgres` is not supported",
        ),
        (
            r#"{"engine":"mysql","host":"h","username":"u","password":"p","masterarn":"m","port":"x"}"#,
            "key `port` must be a port number",
        ),
        (
            r#"{"engine":"mysql","username":"u","password":"p","masterarn":"m"}"#,
            "key `host` is missing",
        ),
    ];
    for (secret_value, expected) in cases {
        let name = unique_name("malformed");
        secrets
            .create_secret()
            .name(&name)
            .secret_string(secret_value)
            .send()
            .await
            .expect("secret");
        let token = rotate(&config, &name, &function).await;
        let (_, pending) = current_version(&config, &name).await;
        assert_eq!(pending.as_deref(), Some(token.as_str()));
        assert!(
            secrets
                .get_secret_value()
                .secret_id(&name)
                .version_id(&token)
                .send()
                .await
                .is_err(),
            "nothing written for {secret_value}"
        );
        let (error, body) =
            invoke(json!({"Step": "createSecret", "SecretId": name, "ClientRequestToken": token}))
                .await;
        assert_eq!(error.as_deref(), Some("Unhandled"));
        assert!(
            body.contains(&format!("secret {name}, step createSecret")) && body.contains(expected),
            "{secret_value}: {body}"
        );
        assert!(!body.contains("\"p\""), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_secrets_rotate_concurrently_against_one_database() {
    let config = sdk_config().await;
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let mut apps = Vec::new();
    for _ in 0..50 {
        apps.push(app_secret(&config, &unique_name("many"), "%", json!({})).await);
    }
    let mut rotations = tokio::task::JoinSet::new();
    for app in &apps {
        let (config, name, function) = (config.clone(), app.name.clone(), function.clone());
        rotations.spawn(async move { rotate(&config, &name, &function).await });
        // Started 100 ms apart (all fifty overlap): the emulator is one Python
        // process on two shared cores, and fifty cold starts in the same instant
        // starved it past the function's 5 s attempt timeout in a full test run,
        // which Lambda's own capacity would not do.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    while let Some(done) = rotations.join_next().await {
        done.expect("rotation task");
    }
    for app in &apps {
        let current = value(&config, &app.name, "AWSCURRENT").await;
        assert_eq!(
            current["username"],
            json!(format!("{}_clone", app.user)),
            "{}",
            app.name
        );
        assert_eq!(select_with(&current).await, Ok(1), "{}", app.name);
    }
}

#[tokio::test]
async fn no_password_reaches_the_function_logs() {
    let config = sdk_config().await;
    let function = deploy_rotator(
        &config,
        &[("DB_CA_BUNDLE", &ca()), ("AWS_LAMBDA_LOG_FORMAT", "JSON")],
    )
    .await;
    let app = app_secret(&config, &unique_name("logged"), "%", json!({})).await;
    rotate(&config, &app.name, &function).await;
    rotate(&config, &app.name, &function).await;
    let previous = value(&config, &app.name, "AWSPREVIOUS").await;
    let current = value(&config, &app.name, "AWSCURRENT").await;
    let logs = function_logs(&function);
    assert!(
        logs.contains("step finished") && logs.contains("transport"),
        "the logs say what happened: {logs}"
    );
    // AWS_LAMBDA_LOG_FORMAT=JSON: the function's own lines are JSON objects.
    let finished: Vec<Value> = logs
        .lines()
        .filter(|l| l.contains("step finished"))
        .map(|l| serde_json::from_str(l).expect("a JSON log line"))
        .collect();
    assert!(!finished.is_empty());
    assert!(
        finished
            .iter()
            .all(|line| line["fields"]["message"] == json!("step finished")
                && line["level"] == json!("INFO")),
        "{finished:?}"
    );
    let secrets_in_play = [
        app.password.as_str(),
        previous["password"].as_str().expect("pw"),
        current["password"].as_str().expect("pw"),
        emulator().database.admin_password.as_str(),
    ];
    for password in secrets_in_play {
        assert!(!logs.contains(password), "a password reached the logs");
    }
}

#[tokio::test]
async fn a_password_statement_held_behind_a_global_read_lock_is_not_logged_at_debug_or_trace() {
    let config = sdk_config().await;
    for level in ["DEBUG", "TRACE"] {
        let function = deploy_rotator(
            &config,
            &[("DB_CA_BUNDLE", &ca()), ("AWS_LAMBDA_LOG_LEVEL", level)],
        )
        .await;
        let app = app_secret(&config, &unique_name("held"), "%", json!({})).await;
        // The first rotation creates the clone; in the second, the first write is the
        // ALTER USER that carries the new password, and the lock holds it.
        rotate(&config, &app.name, &function).await;
        let mut locker = admin().await;
        exec(&mut locker, "FLUSH TABLES WITH READ LOCK".to_owned()).await;
        let started = Instant::now();
        let rotation = tokio::spawn({
            let (config, name, function) = (config.clone(), app.name.clone(), function.clone());
            async move { rotate(&config, &name, &function).await }
        });
        tokio::time::sleep(Duration::from_millis(2500)).await;
        exec(&mut locker, "UNLOCK TABLES".to_owned()).await;
        rotation.await.expect("rotation task");
        assert!(
            started.elapsed() >= Duration::from_secs(2),
            "the rotation must have waited for the lock"
        );
        let current = value(&config, &app.name, "AWSCURRENT").await;
        assert_eq!(
            current["username"],
            json!(app.user),
            "the held rotation finished"
        );
        let logs = function_logs(&function);
        assert!(
            logs.contains("DEBUG") && logs.contains("set the password of"),
            "the function logs at {level}: {logs}"
        );
        for password in passwords_in_play(&config, &app).await {
            assert!(
                !logs.contains(&password),
                "a password reached the logs at {level}"
            );
        }
    }
}

/// A TCP forwarder on 127.0.0.1 whose connections reach the database from the source
/// address 127.0.0.2 (the server listens on 127.0.0.1 only; Linux routes all of
/// 127/8 to loopback), so the server sees a second client address.
async fn second_address_proxy() -> u16 {
    address_proxy([127, 0, 0, 2]).await
}

/// A TCP forwarder to the database whose connections come from `source` (a loopback
/// address), so the server sees another client host; returns its port on 127.0.0.1.
pub(super) async fn address_proxy(source: [u8; 4]) -> u16 {
    let db = &emulator().database;
    let target: SocketAddr = tokio::net::lookup_host((db.host.as_str(), db.port))
        .await
        .expect("database address")
        .find(SocketAddr::is_ipv4)
        .expect("an IPv4 database address");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("proxy listen");
    let port = listener.local_addr().expect("proxy address").port();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                let socket = tokio::net::TcpSocket::new_v4().expect("socket");
                socket
                    .bind(SocketAddr::from((source, 0)))
                    .expect("bind 127.0.0.2");
                if let Ok(mut outbound) = socket.connect(target).await {
                    tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
                        .await
                        .ok();
                }
            });
        }
    });
    port
}

/// Logs in through the 127.0.0.2 forwarder; returns `CURRENT_USER()` and the rows of `t`.
async fn from_second_address(proxy: u16, secret: &Value) -> Result<(String, i64), String> {
    let db = &emulator().database;
    let user = secret["username"].as_str().expect("username");
    let password = secret["password"].as_str().expect("password");
    let mut connection = login(&db_options(&db.host, proxy, user, password)).await?;
    let matched: String = sqlx::query_scalar("SELECT CURRENT_USER()")
        .fetch_one(&mut connection)
        .await
        .map_err(|e| e.to_string())?;
    let query = format!(
        "SELECT COUNT(*) FROM `{}`.`t`",
        secret["dbname"].as_str().unwrap_or_default()
    );
    let rows = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(query))
        .fetch_one(&mut connection)
        .await
        .map_err(|e| e.to_string())?;
    Ok((matched, rows))
}

#[tokio::test]
async fn a_user_with_two_hosts_gets_a_clone_at_both_and_the_new_credentials_work_from_another_address()
 {
    let config = sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let app = app_secret(&config, &unique_name("twohost"), "%", json!({})).await;
    let clone = format!("{}_clone", app.user);
    // The same user for the function's own address, with more privileges there.
    let mut connection = admin().await;
    exec(
        &mut connection,
        format!(
            "CREATE USER '{}'@'127.0.0.1' IDENTIFIED BY '{}'",
            app.user, app.password
        ),
    )
    .await;
    exec(
        &mut connection,
        format!(
            "GRANT SELECT, INSERT ON `{}`.* TO '{}'@'127.0.0.1'",
            app.database, app.user
        ),
    )
    .await;
    let proxy = second_address_proxy().await;
    let before = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(
        from_second_address(proxy, &before).await,
        Ok((format!("{}@%", app.user), 1)),
        "from 127.0.0.2 the user matches its '%' account"
    );

    rotate(&config, &app.name, &function).await;
    let current = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(current["username"], json!(clone));
    assert_eq!(select_with(&current).await, Ok(1), "from 127.0.0.1");
    assert_eq!(
        from_second_address(proxy, &current).await,
        Ok((format!("{clone}@%"), 1)),
        "the new credentials work from another client address too"
    );
    for host in ["%", "127.0.0.1"] {
        assert_eq!(
            grants_of(&clone, host).await.rows,
            grants_of(&app.user, host).await.rows,
            "the clone has the user's privileges at {host}"
        );
    }

    // A clone account at a host the user lacks cannot be mirrored: refused before any write.
    let other = app_secret(&config, &unique_name("narrow"), "%", json!({})).await;
    let other_clone = format!("{}_clone", other.user);
    exec(
        &mut connection,
        format!("CREATE USER '{other_clone}'@'10.9.9.9' IDENTIFIED BY 'Stray-1'"),
    )
    .await;
    let token = rotate(&config, &other.name, &function).await;
    let (_, pending) = current_version(&config, &other.name).await;
    assert_eq!(
        pending.as_deref(),
        Some(token.as_str()),
        "the rotation stops"
    );
    let event = json!({"Step": "setSecret", "SecretId": other.name, "ClientRequestToken": token});
    let (_, body) = tests::invoke(&lambda, &function, &event).await;
    assert!(
        body.contains(&format!("'{other_clone}'@'10.9.9.9'"))
            && body.contains("nothing was changed"),
        "{body}"
    );
    let exists: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = '%'")
            .bind(&other_clone)
            .fetch_one(&mut connection)
            .await
            .expect("count");
    assert_eq!(exists, 0, "no clone was created at '%'");
}

pub(super) async fn show_create_user(user: &str, host: &str) -> String {
    let mut connection = admin().await;
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SHOW CREATE USER '{user}'@'{host}'"
    )))
    .fetch_one(&mut connection)
    .await
    .expect("show create user")
}

#[tokio::test]
async fn the_clone_gets_the_users_plugin_expiry_limits_and_lock_state() {
    let config = sdk_config().await;
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let app = app_secret(&config, &unique_name("props"), "%", json!({})).await;
    let clone = format!("{}_clone", app.user);
    let mut connection = admin().await;
    let account = format!("'{}'@'%'", app.user);
    exec(
        &mut connection,
        format!(
            "ALTER USER {account} IDENTIFIED VIA mysql_native_password USING PASSWORD('{}')",
            app.password
        ),
    )
    .await;
    exec(
        &mut connection,
        format!("ALTER USER {account} WITH MAX_USER_CONNECTIONS 3 MAX_QUERIES_PER_HOUR 500"),
    )
    .await;
    exec(
        &mut connection,
        format!("ALTER USER {account} PASSWORD EXPIRE NEVER"),
    )
    .await;
    // A clone an earlier attempt left half made (it starts with the current password),
    // then locked, expiring and limited by someone else. The password makes it this
    // secret's (a locked account refuses only the right password with 4151); an
    // account this secret cannot prove is never written to
    // (`an_unrelated_account_with_the_alternate_users_name_is_never_taken_over`).
    exec(
        &mut connection,
        format!(
            "CREATE USER '{clone}'@'%' IDENTIFIED BY '{}' WITH MAX_UPDATES_PER_HOUR 9 PASSWORD EXPIRE INTERVAL 1 DAY ACCOUNT LOCK",
            app.password
        ),
    )
    .await;

    rotate(&config, &app.name, &function).await;
    let current = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(current["username"], json!(clone));
    assert_eq!(
        select_with(&current).await,
        Ok(1),
        "the clone is unlocked and logs in"
    );
    let created = show_create_user(&clone, "%").await;
    for expected in [
        "WITH MAX_QUERIES_PER_HOUR 500 MAX_USER_CONNECTIONS 3",
        "PASSWORD EXPIRE NEVER",
    ] {
        assert!(created.contains(expected), "{expected}: {created}");
    }
    for unexpected in ["ACCOUNT LOCK", "MAX_UPDATES_PER_HOUR", "INTERVAL"] {
        assert!(!created.contains(unexpected), "{unexpected}: {created}");
    }
}

#[tokio::test]
async fn a_grant_on_a_dropped_table_is_skipped_and_said_so() {
    let config = sdk_config().await;
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let app = app_secret(&config, &unique_name("stale"), "%", json!({})).await;
    let mut connection = admin().await;
    exec(
        &mut connection,
        format!("CREATE TABLE `{}`.`gone` (id INT)", app.database),
    )
    .await;
    exec(
        &mut connection,
        format!(
            "GRANT INSERT ON `{}`.`gone` TO '{}'@'%'",
            app.database, app.user
        ),
    )
    .await;
    // MariaDB, like MySQL, keeps the table grant after the table is dropped.
    exec(
        &mut connection,
        format!("DROP TABLE `{}`.`gone`", app.database),
    )
    .await;
    let rows = grants_of(&app.user, "%").await.rows;
    assert!(
        rows.iter().any(|r| r.to_string().contains("`gone`")),
        "{rows:?}"
    );

    rotate(&config, &app.name, &function).await;
    let current = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(current["username"], json!(format!("{}_clone", app.user)));
    assert_eq!(select_with(&current).await, Ok(1));
    let logs = function_logs(&function);
    assert!(
        logs.contains("no longer exists") && logs.contains("`gone`"),
        "{logs}"
    );
}

#[tokio::test]
async fn the_admin_login_uses_tls_even_when_the_application_secret_says_plaintext() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let app = app_secret(
        &config,
        &unique_name("plainapp"),
        "%",
        json!({"ssl": false}),
    )
    .await;
    // An admin that the server only admits over TLS; its secret has no `ssl` key.
    let admin_user = unique_name("tlsadmin");
    let admin_password = format!("Admin-{}", unique_name("pw"));
    let mut connection = admin().await;
    exec(
        &mut connection,
        format!("CREATE USER '{admin_user}'@'%' IDENTIFIED BY '{admin_password}' REQUIRE SSL"),
    )
    .await;
    exec(
        &mut connection,
        format!("GRANT ALL PRIVILEGES ON *.* TO '{admin_user}'@'%' WITH GRANT OPTION"),
    )
    .await;
    let before = value(&config, &app.name, "AWSCURRENT").await;
    let admin_arn = before["masterarn"].as_str().expect("masterarn").to_owned();
    let mut admin_value = value(&config, &admin_arn, "AWSCURRENT").await;
    admin_value["username"] = json!(admin_user);
    admin_value["password"] = json!(admin_password);
    assert!(admin_value.get("ssl").is_none());
    secrets
        .put_secret_value()
        .secret_id(&admin_arn)
        .secret_string(admin_value.to_string())
        .send()
        .await
        .expect("admin secret");

    rotate(&config, &app.name, &function).await;
    let current = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(
        current["username"],
        json!(format!("{}_clone", app.user)),
        "the admin logged in over TLS (its account requires it)"
    );
    let logs = function_logs(&function);
    let admin_line = logs
        .lines()
        .find(|l| l.contains("logged in as the admin user"))
        .expect("admin login logged");
    assert!(admin_line.contains("tls-verified"), "{admin_line}");
    assert!(
        logs.lines()
            .filter(|l| l.contains("logged in as the current user"))
            .all(|l| l.contains("plaintext")),
        "the application's own logins follow its ssl=false: {logs}"
    );
}

#[tokio::test]
async fn grants_are_read_and_replayed_under_a_known_sql_mode_whatever_the_servers() {
    let config = sdk_config().await;
    let rds = aws_sdk_rds::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    // A server of its own (an RDS instance of the emulator), whose global sql_mode quotes
    // identifiers with `"`, where a backslash in a name is printed literally.
    let RdsInstance {
        id,
        host,
        port,
        managed_arn,
        master: mut connection,
        ..
    } = rds_instance(&config, "ansidb").await;
    let user = "back\\slash";
    database_with_user(&mut connection, "ansi", user, "Initial-1").await;
    // On RDS a server's sql_mode comes from its DB parameter group: the master user
    // holds no SUPER and cannot SET GLOBAL (RDS user guide, "Master user account
    // privileges"). The emulator's parameter groups do not reach its servers, so the
    // instance's root sets it, as the parameter group would.
    exec(
        &mut tests::rotation::instance_root(&id).await,
        "SET GLOBAL sql_mode = 'ANSI_QUOTES,STRICT_TRANS_TABLES'".to_owned(),
    )
    .await;
    drop(connection);
    let name = unique_name("AnsiQuotesAppuser");
    let app = json!({"engine": "mysql", "host": host, "port": port, "username": user, "password": "Initial-1", "dbname": "ansi", "masterarn": managed_arn});
    secrets
        .create_secret()
        .name(&name)
        .secret_string(app.to_string())
        .send()
        .await
        .expect("secret");

    rotate(&config, &name, &function).await;
    let current = value(&config, &name, "AWSCURRENT").await;
    assert_eq!(current["username"], json!(format!("{user}_clone")));
    let mut connection = login(&db_options(
        &host,
        port,
        current["username"].as_str().expect("user"),
        current["password"].as_str().expect("pw"),
    ))
    .await
    .expect("the clone logs in");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ansi.t")
        .fetch_one(&mut connection)
        .await
        .expect("select");
    assert_eq!(count, 1);
    drop(connection);
    delete_instance(&rds, &id).await;
}

/// Whether `user` has an account on the server behind `connection`.
async fn has_account(connection: &mut MySqlConnection, user: &str) -> bool {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mysql.user WHERE User = ?")
        .bind(user)
        .fetch_one(connection)
        .await
        .expect("count accounts");
    count > 0
}

/// A database `database` holding a table `t` with one row, and `user`@'%' with SELECT
/// on it, made through `connection` (an instance's master, say).
async fn database_with_user(
    connection: &mut MySqlConnection,
    database: &str,
    user: &str,
    password: &str,
) {
    let account = rotator::sql::Account::new(user, "%")
        .sql()
        .expect("quotable");
    for statement in [
        format!("CREATE DATABASE `{database}`"),
        format!("CREATE TABLE `{database}`.t (id INT PRIMARY KEY)"),
        format!("INSERT INTO `{database}`.t VALUES (1)"),
        format!("CREATE USER {account} IDENTIFIED BY '{password}'"),
        format!("GRANT SELECT ON `{database}`.* TO {account}"),
    ] {
        exec(connection, statement).await;
    }
}

/// AWS's reference function accepts an application secret whose host is a read
/// replica of the admin secret's database, and writes on the admin's (the source's)
/// server: it asks RDS whether the host's instance names the admin's database as
/// `ReadReplicaSourceDBInstanceIdentifier`, then logs in with the admin secret
/// (aws-samples/aws-secrets-manager-rotation-lambdas,
/// SecretsManagerRDSMySQLRotationMultiUser/lambda_function.py: `is_rds_replica_database`,
/// then `get_connection(master_dict)`). The rotator does the same, and also compares
/// the port; any other database is refused before anything is written.
#[tokio::test]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, step by step
async fn a_read_replica_host_is_rotated_on_its_source_and_another_database_or_port_is_refused() {
    // The setup as a user builds it on AWS: RDS makes no replica of a source whose
    // master password it manages ("Creating a read replica when the source DB ...
    // manages credentials with Secrets Manager" is not supported, RDS user guide,
    // "Password management with Amazon RDS and AWS Secrets Manager", limitations; the
    // emulator's `rds-managed-replica`). So the source starts with a password of its
    // own, gets its replica, and only then has RDS manage its password: ModifyDBInstance
    // `ManageMasterUserPassword` ("If the DB instance doesn't manage the master user
    // password with Amazon Web Services Secrets Manager, you can turn on this
    // management", RDS API reference), which the same user guide lists among the ways
    // to turn it on; neither page limits it for a source with replicas (not confirmed
    // on a live account). The admin secret is then RDS's own, naming the source by
    // its `aws:rds:primaryDBInstanceArn` tag, as the reference function expects.
    let config = sdk_config().await;
    let rds = aws_sdk_rds::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let RdsInstance {
        id: source_id,
        host: source_host,
        port: source_port,
        master: mut source,
        ..
    } = tests::rotation::rds_instance_with_own_password(&config, "replicasrc").await;
    exec(&mut source, "CREATE DATABASE replicated".to_owned()).await;
    exec(
        &mut source,
        "CREATE TABLE replicated.t (id INT PRIMARY KEY)".to_owned(),
    )
    .await;
    exec(
        &mut source,
        "INSERT INTO replicated.t VALUES (1)".to_owned(),
    )
    .await;
    for user in ["reader", "stranger"] {
        exec(
            &mut source,
            format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'Initial-1'"),
        )
        .await;
        exec(
            &mut source,
            format!("GRANT SELECT ON replicated.* TO '{user}'@'%'"),
        )
        .await;
    }

    let replica_id = unique_name("replica");
    rds.create_db_instance_read_replica()
        .db_instance_identifier(&replica_id)
        .source_db_instance_identifier(&source_id)
        .send()
        .await
        .expect("CreateDBInstanceReadReplica");
    let replica = tests::available_db_instance(&rds, &replica_id).await;
    assert_eq!(
        replica.read_replica_source_db_instance_identifier(),
        Some(source_id.as_str())
    );
    rds.modify_db_instance()
        .db_instance_identifier(&source_id)
        .manage_master_user_password(true)
        .apply_immediately(true)
        .send()
        .await
        .expect("ModifyDBInstance ManageMasterUserPassword on the source");
    let managed_arn = tests::available_db_instance(&rds, &source_id)
        .await
        .master_user_secret()
        .and_then(|s| s.secret_arn())
        .expect("the secret RDS now manages")
        .to_owned();
    let described = tests::available_db_instance(&rds, &source_id).await;
    assert!(
        described
            .read_replica_db_instance_identifiers()
            .contains(&replica_id),
        "{described:?}"
    );
    let (replica_host, replica_port) = endpoint_of(&replica);
    assert_ne!(
        (replica_host.as_str(), replica_port),
        (source_host.as_str(), source_port),
        "a replica has an endpoint of its own"
    );

    let app_secret = |user: &str, host: &str, port: u16| json!({"engine": "mysql", "host": host, "port": port, "username": user, "password": "Initial-1", "dbname": "replicated", "masterarn": managed_arn, "ssl": true});
    let name = unique_name("ReplicaAppuser");
    secrets
        .create_secret()
        .name(&name)
        .secret_string(app_secret("reader", &replica_host, replica_port).to_string())
        .send()
        .await
        .expect("secret");
    rotate(&config, &name, &function).await;
    let current = value(&config, &name, "AWSCURRENT").await;
    assert_eq!(current["username"], json!("reader_clone"));
    assert_eq!(current["host"], json!(replica_host), "the host is kept");
    let mut through_replica = login(&db_options(
        &replica_host,
        replica_port,
        "reader_clone",
        current["password"].as_str().expect("pw"),
    ))
    .await
    .expect("the new password logs in through the replica");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM replicated.t")
        .fetch_one(&mut through_replica)
        .await
        .expect("select through the replica");
    assert_eq!(count, 1);
    // The emulator's replica serves its source's server, so the data cannot tell
    // which endpoint the admin wrote through: the function's log does.
    let logs = function_logs(&function);
    let admin_logins: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("logged in as the admin user"))
        .collect();
    assert!(
        !admin_logins.is_empty()
            && admin_logins
                .iter()
                .all(|l| l.contains(&source_host) && !l.contains(&replica_host)),
        "the admin writes on the source, {source_host}, not on the replica: {admin_logins:#?}"
    );

    // An unrelated instance whose server has the same user: the current login works
    // there, but the admin secret is not that database's.
    let RdsInstance {
        host: other_host,
        port: other_port,
        master: mut other,
        ..
    } = rds_instance(&config, "unrelated").await;
    for statement in [
        "CREATE DATABASE replicated",
        "CREATE USER 'stranger'@'%' IDENTIFIED BY 'Initial-1'",
        "GRANT SELECT ON replicated.* TO 'stranger'@'%'",
    ] {
        exec(&mut other, statement.to_owned()).await;
    }
    // (Each instance has an address of its own on port 3306, as each RDS endpoint
    // has a name of its own, so an endpoint's address with another instance's port is
    // no longer a way to the same server; the port check is unit-tested in the rotator.)
    for (user, host, port) in [("stranger", other_host.as_str(), other_port)] {
        let name = unique_name("WrongDatabase");
        secrets
            .create_secret()
            .name(&name)
            .secret_string(app_secret(user, host, port).to_string())
            .send()
            .await
            .expect("secret");
        let token = rotate(&config, &name, &function).await;
        assert_eq!(
            current_version(&config, &name).await.1.as_deref(),
            Some(token.as_str()),
            "the rotation of {user}'s secret at {host}:{port} stops"
        );
        let event = json!({"Step": "setSecret", "SecretId": name, "ClientRequestToken": token});
        let (error, body) = tests::invoke(&lambda, &function, &event).await;
        assert_eq!(error.as_deref(), Some("Unhandled"), "{body}");
        assert!(
            body.contains(&format!("`{host}:{port}`"))
                && body.contains(&format!("`{source_host}:{source_port}`")),
            "the error names both databases: {body}"
        );
        let clone = format!("{user}_clone");
        assert!(
            !has_account(&mut source, &clone).await && !has_account(&mut other, &clone).await,
            "nothing was written for {user}"
        );
        assert!(
            login(&db_options(host, port, user, "Initial-1"))
                .await
                .is_ok(),
            "{user}'s password is unchanged"
        );
    }

    rds.delete_db_instance()
        .db_instance_identifier(&replica_id)
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("delete the replica");
    tests::db_instance_gone(&rds, &replica_id, Duration::from_mins(1)).await;
    assert!(
        secrets
            .describe_secret()
            .secret_id(&managed_arn)
            .send()
            .await
            .is_ok(),
        "deleting the replica keeps its source's managed secret"
    );
    assert!(
        login(&db_options(
            &source_host,
            source_port,
            "reader_clone",
            current["password"].as_str().expect("pw"),
        ))
        .await
        .is_ok(),
        "deleting the replica keeps its source's server running"
    );
}

/// Issue 19, item 2: an account that merely has the alternate user's name (made by an
/// administrator, with its own password and privileges) is never taken over, nor
/// locked out by failed logins. The first rotation stops in setSecret before any
/// write, naming the account and the fix; once it is dropped, the same rotation completes, and the next two, whose
/// alternate user exists and was made by the rotator, are recognised and proceed.
#[tokio::test]
async fn an_unrelated_account_with_the_alternate_users_name_is_never_taken_over() {
    let config = sdk_config().await;
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let app = app_secret(&config, &unique_name("appuser"), "%", json!({})).await;
    let clone = format!("{}_clone", app.user);
    let unrelated_password = format!("Unrelated-{}", unique_name("pw"));
    let other_database = unique_name("otherdb");
    let mut connection = admin().await;
    exec(
        &mut connection,
        format!("CREATE DATABASE `{other_database}`"),
    )
    .await;
    exec(
        &mut connection,
        format!("CREATE USER '{clone}'@'%' IDENTIFIED BY '{unrelated_password}'"),
    )
    .await;
    exec(
        &mut connection,
        format!("GRANT SELECT, INSERT ON `{other_database}`.* TO '{clone}'@'%'"),
    )
    .await;
    let account_before = show_create_user(&clone, "%").await;
    let grants_before = grants_of(&clone, "%").await;
    let (current_before, _) = current_version(&config, &app.name).await;

    // While the rotation runs, MariaDB blocks an account after 3 failed logins in a
    // row (`max_password_errors`, global; error 4150 "User is blocked because of too
    // many credential errors"): the proof must not log in as an account it cannot
    // prove its own, or its owner is locked out. (Secrets Manager's retries make the
    // rotation run three times.) Restored before any assertion can fail.
    exec(
        &mut connection,
        "SET GLOBAL max_password_errors = 3".to_owned(),
    )
    .await;
    let token = rotate(&config, &app.name, &function).await;
    let outcome = tests::wait_for_rotation(&app.name, &token).await;
    let owner_logs_in = logs_in(&clone, &unrelated_password).await;
    exec(
        &mut connection,
        "SET GLOBAL max_password_errors = DEFAULT".to_owned(),
    )
    .await;
    assert_eq!(
        outcome,
        tests::RotationOutcome::Failed("setSecret".to_owned()),
        "the rotation stops at setSecret"
    );
    assert!(
        owner_logs_in,
        "the account's owner still logs in: the rotation made no failed login as it"
    );
    assert_eq!(
        current_version(&config, &app.name).await.0,
        current_before,
        "AWSCURRENT stays"
    );
    assert_eq!(
        show_create_user(&clone, "%").await,
        account_before,
        "the account's password (its hash) and settings are unchanged"
    );
    assert_eq!(
        grants_of(&clone, "%").await,
        grants_before,
        "its privileges are unchanged"
    );
    assert!(logs_in(&clone, &unrelated_password).await);
    let logs = function_logs(&function);
    assert!(
        logs.contains(&format!("the alternate user '{clone}'@'%' already exists"))
            && logs.contains("drop or rename it, or name another user")
            && logs.contains("nothing was changed"),
        "the function's log names the account and the fix:\n{logs}"
    );
    let pending = value(&config, &app.name, "AWSPENDING").await;
    for password in [
        unrelated_password.as_str(),
        app.password.as_str(),
        pending["password"].as_str().expect("password"),
    ] {
        assert!(!logs.contains(password), "a password reached the log");
    }

    // The fix the message names: the account dropped, AWSPENDING cleared (Secrets
    // Manager's retries failed too), a new rotation completes.
    exec(&mut connection, format!("DROP USER '{clone}'@'%'")).await;
    tests::rotation::clear_pending(&config, &app.name, &token).await;
    let token = rotate(&config, &app.name, &function).await;
    assert_eq!(
        tests::wait_for_rotation(&app.name, &token).await,
        tests::RotationOutcome::Succeeded
    );
    let first = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(first["username"], json!(clone));
    assert_eq!(select_with(&first).await, Ok(1));

    // The second and third rotations write to alternate users the rotator made (the
    // original user, then its own clone): each proves itself with AWSPREVIOUS.
    for expected in [&app.user, &clone] {
        let token = rotate(&config, &app.name, &function).await;
        assert_eq!(
            tests::wait_for_rotation(&app.name, &token).await,
            tests::RotationOutcome::Succeeded
        );
        let now = value(&config, &app.name, "AWSCURRENT").await;
        assert_eq!(&now["username"], &json!(expected));
        assert_eq!(select_with(&now).await, Ok(1));
    }
    assert!(
        function_logs(&function).contains("it is this rotation's"),
        "the recognised alternate user is said so"
    );
}

/// Issue 19, item 2, the idempotency case: an earlier attempt set the clone's password
/// to its pending value, and that version then lost its AWSPENDING label (an operator
/// cleared it to start over). The clone exists and neither AWSCURRENT nor
/// AWSPREVIOUS logs it in, but the deprecated version does (ListSecretVersionIds with
/// IncludeDeprecated): the next rotation recognises the clone as its own.
#[tokio::test]
async fn a_clone_left_by_an_abandoned_attempt_is_recognised_through_its_deprecated_version() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let app = app_secret(&config, &unique_name("abandon"), "%", json!({})).await;
    let clone = format!("{}_clone", app.user);
    let before = value(&config, &app.name, "AWSCURRENT").await;

    // An attempt that fails at setSecret (the admin password is wrong)...
    let admin_arn = before["masterarn"].as_str().expect("masterarn").to_owned();
    let good_admin = value(&config, &admin_arn, "AWSCURRENT").await;
    let mut broken = good_admin.clone();
    broken["password"] = json!("wrong-password");
    let put_admin = async |value: &Value| {
        secrets
            .put_secret_value()
            .secret_id(&admin_arn)
            .secret_string(value.to_string())
            .send()
            .await
            .expect("admin secret");
    };
    put_admin(&broken).await;
    let abandoned = rotate(&config, &app.name, &function).await;
    // ...whose setSecret then ran once more and set the clone's password...
    put_admin(&good_admin).await;
    let event = json!({"Step": "setSecret", "SecretId": app.name, "ClientRequestToken": abandoned});
    let (error, body) = tests::invoke(&lambda, &function, &event).await;
    assert_eq!(error, None, "{body}");
    let abandoned_value = value(&config, &app.name, "AWSPENDING").await;
    assert!(
        logs_in(
            &clone,
            abandoned_value["password"].as_str().expect("password")
        )
        .await
    );
    // ...and was abandoned: its AWSPENDING label removed, the version kept without one.
    secrets
        .update_secret_version_stage()
        .secret_id(&app.name)
        .version_stage("AWSPENDING")
        .remove_from_version_id(&abandoned)
        .send()
        .await
        .expect("clear AWSPENDING");

    let token = rotate(&config, &app.name, &function).await;
    assert_eq!(
        tests::wait_for_rotation(&app.name, &token).await,
        tests::RotationOutcome::Succeeded,
        "{}",
        function_logs(&function)
    );
    let now = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(now["username"], json!(clone));
    assert_eq!(select_with(&now).await, Ok(1));
    let logs = function_logs(&function);
    assert!(
        logs.contains("it is this rotation's")
            && logs.contains(&format!(
                "version {abandoned} (deprecated, no staging label)"
            )),
        "the deprecated version is the proof:\n{logs}"
    );
}

/// Issue 19, item 9: MariaDB, like MySQL, keeps a column grant after `ALTER TABLE ...
/// DROP COLUMN`, and granting it again fails with 1054 on every retry. The clone gets
/// the grant without the dropped column (its other columns, and the other privileges
/// of the row, stay), the function warns, and the next rotations converge.
#[tokio::test]
async fn a_column_grant_on_a_dropped_column_is_copied_without_it_and_said_so() {
    let config = sdk_config().await;
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let app = app_secret(&config, &unique_name("columns"), "%", json!({})).await;
    let clone = format!("{}_clone", app.user);
    let mut connection = admin().await;
    exec(
        &mut connection,
        format!("CREATE TABLE `{}`.`w` (a INT, b INT, c INT)", app.database),
    )
    .await;
    exec(
        &mut connection,
        format!(
            "GRANT SELECT (a, b), INSERT (b), UPDATE (c) ON `{}`.`w` TO '{}'@'%'",
            app.database, app.user
        ),
    )
    .await;
    exec(
        &mut connection,
        format!("ALTER TABLE `{}`.`w` DROP COLUMN b", app.database),
    )
    .await;
    let on_w = |grants: &Grants| -> Vec<String> {
        grants
            .rows
            .iter()
            .map(ToString::to_string)
            .filter(|r| r.contains("`w`"))
            .collect()
    };
    let kept = on_w(&grants_of(&app.user, "%").await);
    assert!(
        kept.len() == 1 && kept[0].contains("`b`"),
        "MariaDB keeps the grant on the dropped column: {kept:?}"
    );

    rotate(&config, &app.name, &function).await;
    let first = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(
        first["username"],
        json!(clone),
        "{}",
        function_logs(&function)
    );
    assert_eq!(select_with(&first).await, Ok(1));
    let copied = on_w(&grants_of(&clone, "%").await);
    assert_eq!(copied.len(), 1, "{copied:?}");
    assert!(
        copied[0].contains("SELECT (`a`)")
            && copied[0].contains("UPDATE (`c`)")
            && !copied[0].contains("INSERT")
            && !copied[0].contains("`b`"),
        "{copied:?}"
    );
    let logs = function_logs(&function);
    assert!(
        logs.contains("names a column that no longer exists") && logs.contains("column=b"),
        "{logs}"
    );

    // Back to the original user: its stale grant becomes the clone's; then again.
    for expected in [&app.user, &clone] {
        rotate(&config, &app.name, &function).await;
        let now = value(&config, &app.name, "AWSCURRENT").await;
        assert_eq!(
            &now["username"],
            &json!(expected),
            "{}",
            function_logs(&function)
        );
        assert_eq!(select_with(&now).await, Ok(1));
    }
    assert_eq!(
        on_w(&grants_of(&app.user, "%").await),
        on_w(&grants_of(&clone, "%").await)
    );
}

/// Issue 19, item 13: a statement blocked by another session's lock fails within the
/// rotator's bound (`lock_wait_timeout`, 5 s), saying what to look for, instead of
/// waiting out the function's timeout (without the bound, no attempt would say
/// anything but "Task timed out"); once the lock is released,
/// the rotation completes. A column grant waits for its table's metadata lock (MariaDB
/// 10.11, seen here), and `LOCK TABLES ... WRITE` holds that lock.
#[tokio::test]
async fn a_statement_blocked_by_another_sessions_lock_fails_in_time_and_says_so() {
    let config = sdk_config().await;
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let app = app_secret(&config, &unique_name("locked"), "%", json!({})).await;
    let clone = format!("{}_clone", app.user);
    let mut connection = admin().await;
    exec(
        &mut connection,
        format!("CREATE TABLE `{}`.`w` (a INT)", app.database),
    )
    .await;
    exec(
        &mut connection,
        format!(
            "GRANT SELECT (a) ON `{}`.`w` TO '{}'@'%'",
            app.database, app.user
        ),
    )
    .await;
    let (current_before, _) = current_version(&config, &app.name).await;

    let mut holder = admin().await;
    exec(
        &mut holder,
        format!("LOCK TABLES `{}`.`w` WRITE", app.database),
    )
    .await;
    let token = rotate(&config, &app.name, &function).await;
    let outcome = tests::wait_for_rotation(&app.name, &token).await;
    exec(&mut holder, "UNLOCK TABLES".to_owned()).await;
    assert_eq!(
        outcome,
        tests::RotationOutcome::Failed("setSecret".to_owned()),
        "{}",
        function_logs(&function)
    );
    assert_eq!(
        current_version(&config, &app.name).await.0,
        current_before,
        "AWSCURRENT stays"
    );
    let logs = function_logs(&function);
    assert!(
        logs.contains("Lock wait timeout exceeded")
            && logs.contains("another session holds a lock this statement needs")
            && logs.contains("SHOW PROCESSLIST"),
        "the function says which statement waited and what to look for:\n{logs}"
    );

    tests::rotation::clear_pending(&config, &app.name, &token).await;
    let token = rotate(&config, &app.name, &function).await;
    assert_eq!(
        tests::wait_for_rotation(&app.name, &token).await,
        tests::RotationOutcome::Succeeded,
        "{}",
        function_logs(&function)
    );
    let now = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(now["username"], json!(clone));
    assert_eq!(select_with(&now).await, Ok(1));
    assert!(
        grants_of(&clone, "%")
            .await
            .rows
            .iter()
            .any(|row| row.to_string().contains("SELECT (`a`)")),
        "the column grant was copied once the lock was gone"
    );
}

/// Issue 19, item 1: two secrets for one database user (an Aurora writer-endpoint
/// secret and a reader-endpoint secret, say) would rotate the same alternate user and
/// overwrite each other's password: an outage for whichever application holds the
/// first. The first secret's rotation makes the clone; the second's finds it holding
/// none of the second secret's stored passwords and stops before any write, saying
/// that another secret for the same user does this; the first secret's credentials
/// keep working.
#[tokio::test]
async fn a_second_secret_for_the_same_user_never_overwrites_the_first_ones_clone() {
    let config = sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let app = app_secret(&config, &unique_name("twosecrets"), "%", json!({})).await;
    let clone = format!("{}_clone", app.user);
    let second = unique_name("SecretsManagerTutorialAppuser");
    secrets
        .create_secret()
        .name(&second)
        .secret_string(value(&config, &app.name, "AWSCURRENT").await.to_string())
        .send()
        .await
        .expect("second secret");

    let token = rotate(&config, &app.name, &function).await;
    assert_eq!(
        tests::wait_for_rotation(&app.name, &token).await,
        tests::RotationOutcome::Succeeded
    );
    let first = value(&config, &app.name, "AWSCURRENT").await;
    assert_eq!(first["username"], json!(clone));
    let clone_before = show_create_user(&clone, "%").await;

    let token = rotate(&config, &second, &function).await;
    assert_eq!(
        tests::wait_for_rotation(&second, &token).await,
        tests::RotationOutcome::Failed("setSecret".to_owned()),
        "{}",
        function_logs(&function)
    );
    assert_eq!(
        show_create_user(&clone, "%").await,
        clone_before,
        "the first secret's clone (its password hash) is unchanged"
    );
    assert_eq!(
        select_with(&first).await,
        Ok(1),
        "the first secret still logs in"
    );
    let logs = function_logs(&function);
    assert!(
        logs.contains(&format!("the alternate user '{clone}'@'%' already exists"))
            && logs.contains("Two secrets for the same database user"),
        "the refusal names the account and the likely cause:\n{logs}"
    );
}

/// Issue 19, item 5: a server whose password-validation plugin refuses the password
/// (MariaDB's `simple_password_check`, error 1819) would refuse it on every retry, once
/// it is stored in AWSPENDING. createSecret reads the policy and generates a password
/// that meets it: the rotation succeeds and the new password logs in. A policy the
/// function's settings cannot meet (special characters required, punctuation excluded)
/// stops createSecret before anything is written, naming the variable and the fix.
///
/// The plugin judges every password set on its server while it is installed, so the
/// test runs on a server of its own (an RDS instance of the emulator): no other test's
/// accounts are judged, whatever runs in parallel. Its root installs the plugin, as a
/// parameter group's `plugin_load_add` would on a managed server.
#[allow(clippy::too_many_lines)] // one scenario: the policy installed, two rotations, the refusal, the policy removed
#[tokio::test]
async fn the_servers_password_policy_is_met_before_the_password_is_stored() {
    const POLICY: [(&str, &str); 4] = [
        ("simple_password_check_minimal_length", "40"),
        ("simple_password_check_digits", "3"),
        ("simple_password_check_letters_same_case", "3"),
        ("simple_password_check_other_characters", "3"),
    ];
    let config = sdk_config().await;
    let rds = aws_sdk_rds::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let no_punctuation = deploy_rotator(
        &config,
        &[("DB_CA_BUNDLE", &ca()), ("EXCLUDE_PUNCTUATION", "true")],
    )
    .await;
    let RdsInstance {
        id,
        host,
        port,
        managed_arn,
        master: mut connection,
        ..
    } = rds_instance(&config, "pwpolicydb").await;
    let initial = "Policy-Initial-ABC-def-123-!#%-GHI-jkl-456";
    database_with_user(&mut connection, "policy", "strict", initial).await;
    drop(connection);
    let secret_of = |name: &str| json!({"engine": "mysql", "host": host, "port": port, "username": "strict", "password": initial, "dbname": "policy", "masterarn": managed_arn, "team": name});
    let (name, refused) = (unique_name("PolicyAppuser"), unique_name("PolicyRefused"));
    for secret in [&name, &refused] {
        secrets
            .create_secret()
            .name(secret)
            .secret_string(secret_of(secret).to_string())
            .send()
            .await
            .expect("secret");
    }

    let mut root = tests::rotation::instance_root(&id).await;
    let installed = install_password_policy(&mut root, &POLICY).await;
    let refused_token = rotate(&config, &refused, &no_punctuation).await;
    let refused_outcome = tests::wait_for_rotation(&refused, &refused_token).await;
    let token = rotate(&config, &name, &function).await;
    let outcome = tests::wait_for_rotation(&name, &token).await;
    // The policy is lifted before any assertion can fail.
    lift_password_policy(root, installed, &POLICY).await;

    assert_eq!(
        outcome,
        tests::RotationOutcome::Succeeded,
        "{}",
        function_logs(&function)
    );
    let current = value(&config, &name, "AWSCURRENT").await;
    assert_eq!(current["username"], json!("strict_clone"));
    let password = current["password"].as_str().expect("password");
    let wanted = rotator::password_policy::Requirements::from_variables(
        &POLICY.map(|(n, v)| (n.to_owned(), v.to_owned())),
    )
    .expect("policy");
    assert_eq!(
        rotator::password_policy::shortfall(password, &wanted, &[]),
        None,
        "the new password meets the policy"
    );
    let mut clone = login(&db_options(&host, port, "strict_clone", password))
        .await
        .expect("the new password logs in");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM policy.t")
        .fetch_one(&mut clone)
        .await
        .expect("select");
    assert_eq!(count, 1);
    drop(clone);
    let logs = function_logs(&function);
    assert!(
        logs.contains("the server has a password policy") && !logs.contains(password),
        "the policy is logged, the password is not:\n{logs}"
    );

    assert_eq!(
        refused_outcome,
        tests::RotationOutcome::Failed("createSecret".to_owned())
    );
    assert!(
        secrets
            .get_secret_value()
            .secret_id(&refused)
            .version_id(&refused_token)
            .send()
            .await
            .is_err(),
        "nothing was written to the pending version"
    );
    let logs = function_logs(&no_punctuation);
    assert!(
        logs.contains("simple_password_check_other_characters = 3")
            && logs.contains("EXCLUDE_PUNCTUATION=true excludes them")
            && logs.contains("nothing was changed"),
        "the refusal names the variable and the fix:\n{logs}"
    );
    delete_instance(&rds, &id).await;
}

/// Installs MariaDB's `simple_password_check` on a server of a test's own (through its
/// root) and sets `policy`; returns whether it was installed already.
async fn install_password_policy(root: &mut MySqlConnection, policy: &[(&str, &str)]) -> bool {
    let installed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'simple_password_check'",
    )
    .fetch_one(&mut *root)
    .await
    .expect("plugins");
    if installed == 0 {
        exec(root, "INSTALL SONAME 'simple_password_check'".to_owned()).await;
    }
    for (variable, value) in policy {
        exec(root, format!("SET GLOBAL {variable} = {value}")).await;
    }
    installed > 0
}

/// Undoes [`install_password_policy`].
async fn lift_password_policy(
    mut root: MySqlConnection,
    was_installed: bool,
    policy: &[(&str, &str)],
) {
    if was_installed {
        for (variable, _) in policy {
            exec(&mut root, format!("SET GLOBAL {variable} = DEFAULT")).await;
        }
    } else {
        exec(
            &mut root,
            "UNINSTALL SONAME 'simple_password_check'".to_owned(),
        )
        .await;
    }
}

/// Issue 19, DBA review: the application user's password was set before the server's
/// password policy was installed and does not meet it (all lowercase). The policy
/// judges every password an account statement sets, so a clone created `IDENTIFIED BY`
/// the current password is refused ("Operation CREATE USER failed"), and the first
/// rotation never gets past setSecret. The clone is created with the pending password,
/// which createSecret generated to meet the policy: both rotations succeed under the
/// policy, and each new password logs in. On a server of its own (an RDS instance of
/// the emulator), as `the_servers_password_policy_is_met_before_the_password_is_stored`.
#[tokio::test]
async fn a_current_password_weaker_than_a_later_policy_does_not_stop_the_first_rotation() {
    const POLICY: [(&str, &str); 4] = [
        ("simple_password_check_minimal_length", "12"),
        ("simple_password_check_digits", "1"),
        ("simple_password_check_letters_same_case", "1"),
        ("simple_password_check_other_characters", "1"),
    ];
    let weak = "weaklowercasepassword";
    let config = sdk_config().await;
    let rds = aws_sdk_rds::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let RdsInstance {
        id,
        host,
        port,
        managed_arn,
        master: mut connection,
        ..
    } = rds_instance(&config, "weakpwdb").await;
    database_with_user(&mut connection, "weakdb", "weak", weak).await;
    drop(connection);
    let name = unique_name("WeakAppuser");
    secrets
        .create_secret()
        .name(&name)
        .secret_string(json!({"engine": "mysql", "host": host, "port": port, "username": "weak", "password": weak, "dbname": "weakdb", "masterarn": managed_arn}).to_string())
        .send()
        .await
        .expect("secret");

    let mut root = tests::rotation::instance_root(&id).await;
    let installed = install_password_policy(&mut root, &POLICY).await;
    // The policy is in force: the user's own password would be refused now.
    let probe = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE USER 'weak_probe'@'%' IDENTIFIED BY '{weak}'"
    )))
    .execute(&mut root)
    .await
    .map(|_| ());
    // Each rotation's outcome, then whether its new password logs in and reads.
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        let token = rotate(&config, &name, &function).await;
        let outcome = tests::wait_for_rotation(&name, &token).await;
        let failed = outcome != tests::RotationOutcome::Succeeded;
        outcomes.push(outcome);
        if failed {
            break;
        }
        let current = value(&config, &name, "AWSCURRENT").await;
        outcomes.push(match select_with_at(&host, port, &current).await {
            Ok(1) => tests::RotationOutcome::Succeeded,
            other => tests::RotationOutcome::Failed(format!("the new password: {other:?}")),
        });
    }
    // The policy is lifted before any assertion can fail.
    lift_password_policy(root, installed, &POLICY).await;

    assert!(
        probe.is_err(),
        "the policy refuses an all-lowercase password"
    );
    assert_eq!(
        outcomes,
        vec![tests::RotationOutcome::Succeeded; 4],
        "{}",
        function_logs(&function)
    );
    assert_eq!(
        value(&config, &name, "AWSCURRENT").await["username"],
        json!("weak"),
        "two rotations: back to the user, with a password the policy accepts"
    );
    assert_eq!(
        value(&config, &name, "AWSPREVIOUS").await["username"],
        json!("weak_clone")
    );
    let logs = function_logs(&function);
    assert!(!logs.contains(weak), "no password in the logs:\n{logs}");
    delete_instance(&rds, &id).await;
}

/// Logs in at `host`:`port` with a secret value's credentials (TLS verified) and
/// counts the rows of `t` in its `dbname`.
async fn select_with_at(host: &str, port: u16, secret: &Value) -> Result<i64, String> {
    let user = secret["username"].as_str().expect("username");
    let password = secret["password"].as_str().expect("password");
    let mut connection = login(&db_options(host, port, user, password)).await?;
    let query = format!(
        "SELECT COUNT(*) FROM `{}`.`t`",
        secret["dbname"].as_str().unwrap_or_default()
    );
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(query))
        .fetch_one(&mut connection)
        .await
        .map_err(|e| e.to_string())
}

/// Issue 19 (admin preflight): an admin secret whose host is read-only (a replica, an
/// Aurora reader, a former primary after a failover) stops setSecret before any write,
/// naming the host and that it is read-only; the clone is not created. Once the server
/// takes writes again, the same secret rotates. On a server of its own (an RDS instance
/// of the emulator), whose root sets `read_only` as a failover would.
#[tokio::test]
async fn a_read_only_admin_database_stops_set_secret_before_any_write() {
    let config = sdk_config().await;
    let rds = aws_sdk_rds::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let function = deploy_rotator(&config, &[("DB_CA_BUNDLE", &ca())]).await;
    let RdsInstance {
        id,
        host,
        port,
        managed_arn,
        master: mut connection,
        ..
    } = rds_instance(&config, "readonlydb").await;
    database_with_user(&mut connection, "ro", "ro", "Initial-1").await;
    let name = unique_name("ReadOnlyAppuser");
    secrets
        .create_secret()
        .name(&name)
        .secret_string(json!({"engine": "mysql", "host": host, "port": port, "username": "ro", "password": "Initial-1", "dbname": "ro", "masterarn": managed_arn}).to_string())
        .send()
        .await
        .expect("secret");

    let mut root = tests::rotation::instance_root(&id).await;
    exec(&mut root, "SET GLOBAL read_only = ON".to_owned()).await;
    let token = rotate(&config, &name, &function).await;
    let outcome = tests::wait_for_rotation(&name, &token).await;
    // Writable again before any assertion can fail.
    exec(&mut root, "SET GLOBAL read_only = OFF".to_owned()).await;
    drop(root);
    assert_eq!(
        outcome,
        tests::RotationOutcome::Failed("setSecret".to_owned()),
        "{}",
        function_logs(&function)
    );
    assert!(
        !has_account(&mut connection, "ro_clone").await,
        "the clone was not created"
    );
    let logs = function_logs(&function);
    assert!(
        logs.contains(&format!(
            "the admin's database {host} is read-only (read_only=ON)"
        )) && logs.contains("at the writer")
            && logs.contains("nothing was changed"),
        "the refusal names the host and the fix:\n{logs}"
    );

    tests::rotation::clear_pending(&config, &name, &token).await;
    let token = rotate(&config, &name, &function).await;
    assert_eq!(
        tests::wait_for_rotation(&name, &token).await,
        tests::RotationOutcome::Succeeded,
        "{}",
        function_logs(&function)
    );
    assert_eq!(
        value(&config, &name, "AWSCURRENT").await["username"],
        json!("ro_clone")
    );
    drop(connection);
    delete_instance(&rds, &id).await;
}
