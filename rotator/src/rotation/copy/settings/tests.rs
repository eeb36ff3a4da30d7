use super::*;

fn mysql(version: &str) -> ServerVersion {
    ServerVersion::parse(version).expect("version")
}

fn texts(statements: &[Statement]) -> Vec<String> {
    statements.iter().map(|s| s.text().to_owned()).collect()
}

/// `SHOW CREATE USER` rows in MySQL 8.0's documented format ("SHOW CREATE USER
/// Statement"; the options of "Password Management"); verified only against that
/// format, as no MySQL server runs here.
#[test]
fn mysql_8_password_options_are_copied_and_reset() {
    let clone = Account::new("app_clone", "%");
    let user = grants::parse_create_user(
        "CREATE USER `app`@`%` IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$abc' REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK PASSWORD HISTORY 5 PASSWORD REUSE INTERVAL 30 DAY PASSWORD REQUIRE CURRENT FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME 1",
    )
    .expect("user");
    let fresh = grants::parse_create_user(
        "CREATE USER `app_clone`@`%` IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$def' REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT LOCK PASSWORD HISTORY DEFAULT PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT DEFAULT",
    )
    .expect("clone");
    let statements =
        settings_statements(&clone, &user, &fresh, &mysql("8.0.36")).expect("statements");
    assert_eq!(
        texts(&statements),
        [
            "ALTER USER 'app_clone'@'%' PASSWORD HISTORY 5",
            "ALTER USER 'app_clone'@'%' PASSWORD REUSE INTERVAL 30 DAY",
            "ALTER USER 'app_clone'@'%' PASSWORD REQUIRE CURRENT",
            "ALTER USER 'app_clone'@'%' FAILED_LOGIN_ATTEMPTS 3",
            "ALTER USER 'app_clone'@'%' PASSWORD_LOCK_TIME 1",
            "ALTER USER 'app_clone'@'%' ACCOUNT UNLOCK",
        ]
    );
    // The other way: the clone's own options go back to the defaults.
    let back = settings_statements(&clone, &fresh, &user, &mysql("8.0.36")).expect("statements");
    assert_eq!(
        texts(&back)[..5],
        [
            "ALTER USER 'app_clone'@'%' PASSWORD HISTORY DEFAULT",
            "ALTER USER 'app_clone'@'%' PASSWORD REUSE INTERVAL DEFAULT",
            "ALTER USER 'app_clone'@'%' PASSWORD REQUIRE CURRENT DEFAULT",
            "ALTER USER 'app_clone'@'%' FAILED_LOGIN_ATTEMPTS 0",
            "ALTER USER 'app_clone'@'%' PASSWORD_LOCK_TIME 0",
        ]
    );
    // An unchanged clone whose failed logins are tracked: only the unlock, which ends
    // a temporary lock (MySQL 8.0.19+) that SHOW CREATE USER does not show.
    let mut same = user.clone();
    same.plugin = Some("caching_sha2_password".to_owned());
    assert_eq!(
        texts(&settings_statements(&clone, &user, &same, &mysql("8.0.36")).expect("statements")),
        ["ALTER USER 'app_clone'@'%' ACCOUNT UNLOCK"]
    );
    assert!(
        settings_statements(&clone, &user, &same, &mysql("8.0.18"))
            .expect("statements")
            .is_empty()
    );
    // No tracking, nothing differs: no statement at all.
    let plain = AccountSettings::default();
    assert!(
        settings_statements(&clone, &plain, &plain.clone(), &mysql("8.0.36"))
            .expect("statements")
            .is_empty()
    );
}

#[test]
fn attributes_are_replaced_not_merged() {
    assert_eq!(
        attribute_patches(Some(r#"{"team": "payments"}"#), None),
        [r#"{"team": "payments"}"#]
    );
    assert_eq!(
        attribute_patches(
            Some(r#"{"team": "payments"}"#),
            Some(r#"{"b": 1, "a": {"x": 2}}"#)
        ),
        [r#"{"a":null,"b":null}"#, r#"{"team": "payments"}"#]
    );
    assert_eq!(
        attribute_patches(None, Some(r#"{"a": 1}"#)),
        [r#"{"a":null}"#]
    );
    assert!(attribute_patches(None, None).is_empty());

    let clone = Account::new("app_clone", "%");
    let wanted = AccountSettings {
        attribute: Some(r#"{"owner": "O'Brien"}"#.to_owned()),
        ..AccountSettings::default()
    };
    let have = AccountSettings::default();
    assert_eq!(
        texts(&settings_statements(&clone, &wanted, &have, &mysql("8.0.21")).expect("ok")),
        [r#"ALTER USER 'app_clone'@'%' ATTRIBUTE '{"owner": "O''Brien"}'"#]
    );
    // Before 8.0.21 (and on MariaDB) there are no attributes to copy.
    assert!(
        settings_statements(&clone, &wanted, &have, &mysql("8.0.20"))
            .expect("ok")
            .is_empty()
    );
}

#[test]
fn the_tls_requirement_is_written_as_read_from_the_grant_tables() {
    let clone = Account::new("app_clone", "%");
    let require = crate::tls_requirement::TlsRequirement::from_columns(
        "SPECIFIED",
        "/O=It's",
        "/CN=a\\b",
        "",
    )
    .expect("known")
    .clause()
    .expect("quotable");
    let wanted = AccountSettings {
        require,
        ..AccountSettings::default()
    };
    let have = AccountSettings::default();
    assert_eq!(
        texts(&settings_statements(&clone, &wanted, &have, &mysql("10.11.6-MariaDB")).expect("ok")),
        [r"ALTER USER 'app_clone'@'%' REQUIRE ISSUER '/O=It''s' AND SUBJECT '/CN=a\\b'"]
    );
}

#[test]
fn password_options_outside_the_documented_forms_are_refused() {
    let clone = Account::new("c", "%");
    for clause in [
        "PASSWORD HISTORY 5; DROP USER x",
        "PASSWORD HISTORY",
        "FAILED_LOGIN_ATTEMPTS -1",
        "PASSWORD_LOCK_TIME FOREVER",
        "PASSWORD REQUIRE CURRENT NOW",
    ] {
        assert!(sql::password_option(&clone, clause).is_err(), "{clause}");
    }
}

/// MySQL 8.0.18 (options read from `SHOW CREATE USER`, no failed-login options yet;
/// format: the 8.0 manual's "SHOW CREATE USER Statement" example, the hash as
/// `print_identified_with_as_hex` prints it): only the options that differ are
/// written, and none the server does not know.
#[test]
fn mysql_8_0_18_options_from_show_create_user_are_copied() {
    let clone = Account::new("app_clone", "%");
    let user = grants::parse_create_user(
        "CREATE USER 'app'@'%' IDENTIFIED WITH 'caching_sha2_password' AS 0x244124303035240C77 REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK PASSWORD HISTORY 5 PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT OPTIONAL",
    )
    .expect("user");
    let fresh = grants::parse_create_user(
        "CREATE USER 'app_clone'@'%' IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$def' REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT LOCK PASSWORD HISTORY DEFAULT PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT DEFAULT",
    )
    .expect("clone");
    assert_eq!(
        texts(&settings_statements(&clone, &user, &fresh, &mysql("8.0.18")).expect("statements")),
        [
            "ALTER USER 'app_clone'@'%' PASSWORD HISTORY 5",
            "ALTER USER 'app_clone'@'%' PASSWORD REQUIRE CURRENT OPTIONAL",
            "ALTER USER 'app_clone'@'%' ACCOUNT UNLOCK",
        ]
    );
}
