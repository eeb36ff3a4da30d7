use super::*;

#[test]
fn create_user_gives_the_tls_requirement_and_default_roles() {
    let cases = [
        (
            "CREATE USER 'appuser'@'%' IDENTIFIED WITH 'mysql_native_password' AS '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19' REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK",
            "NONE",
            None,
        ),
        (
            "CREATE USER `appuser`@`%` IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$x''y\\'z' REQUIRE SSL PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK PASSWORD HISTORY DEFAULT PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT DEFAULT",
            "SSL",
            None,
        ),
        (
            "CREATE USER `appuser`@`%` IDENTIFIED WITH 'caching_sha2_password' DEFAULT ROLE `reader`@`%`,`writer`@`%` REQUIRE X509 PASSWORD EXPIRE DEFAULT",
            "X509",
            Some("`reader`@`%`,`writer`@`%`"),
        ),
        (
            "CREATE USER `appuser`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19' REQUIRE ISSUER '/CN=ca' AND SUBJECT '/CN=app'",
            "ISSUER '/CN=ca' AND SUBJECT '/CN=app'",
            None,
        ),
        (
            "CREATE USER `appuser`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'",
            "NONE",
            None,
        ),
    ];
    for (text, require, roles) in cases {
        let settings = parse_create_user(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(settings.require, require, "{text}");
        assert_eq!(settings.default_roles.as_deref(), roles, "{text}");
    }
    assert!(parse_create_user("GRANT SELECT ON *.* TO a").is_err());
}

/// MariaDB 10.11 rows were captured on this machine's server; MySQL rows follow
/// MySQL 8.0's `SHOW CREATE USER` format (no MySQL server here).
#[test]
fn create_user_gives_plugin_limits_expiry_and_lock() {
    let limits = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    };
    let cases = [
        (
            "CREATE USER `u`@`%` IDENTIFIED BY PASSWORD '*D821809F681A40A6E379B50D0463EFAE20BDD122' WITH MAX_QUERIES_PER_HOUR 7 MAX_USER_CONNECTIONS 5 PASSWORD EXPIRE NEVER",
            None,
            limits(&[("MAX_QUERIES_PER_HOUR", "7"), ("MAX_USER_CONNECTIONS", "5")]),
            "NEVER",
            false,
        ),
        (
            "CREATE USER `u`@`127.0.0.1` IDENTIFIED BY PASSWORD '*D821809F681A40A6E379B50D0463EFAE20BDD122' ACCOUNT LOCK PASSWORD EXPIRE INTERVAL 30 DAY",
            None,
            limits(&[]),
            "INTERVAL 30 DAY",
            true,
        ),
        (
            // An expired MariaDB account: the policy comes as a second row.
            "CREATE USER \"x\"@\"%\" IDENTIFIED BY PASSWORD '*3FBEFEC33FD8E842761B011670846D73057E67BE' WITH MAX_USER_CONNECTIONS 3 ACCOUNT LOCK PASSWORD EXPIRE ALTER USER \"x\"@\"%\" PASSWORD EXPIRE INTERVAL 30 DAY",
            None,
            limits(&[("MAX_USER_CONNECTIONS", "3")]),
            "INTERVAL 30 DAY",
            true,
        ),
        (
            "CREATE USER `e`@`%` IDENTIFIED VIA ed25519 USING 'ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY' WITH MAX_STATEMENT_TIME 1.500000",
            Some("ed25519"),
            limits(&[("MAX_STATEMENT_TIME", "1.500000")]),
            "DEFAULT",
            false,
        ),
        (
            "CREATE USER `app`@`%` IDENTIFIED WITH 'mysql_native_password' AS '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19' REQUIRE NONE WITH MAX_USER_CONNECTIONS 3 PASSWORD EXPIRE NEVER ACCOUNT UNLOCK PASSWORD HISTORY DEFAULT PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT DEFAULT",
            Some("mysql_native_password"),
            limits(&[("MAX_USER_CONNECTIONS", "3")]),
            "NEVER",
            false,
        ),
        (
            "CREATE USER `app_clone`@`%` IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$x''y' REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT LOCK PASSWORD HISTORY DEFAULT",
            Some("caching_sha2_password"),
            limits(&[]),
            "DEFAULT",
            true,
        ),
    ];
    for (text, plugin, expected_limits, expiry, locked) in cases {
        let settings = parse_create_user(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(settings.plugin.as_deref(), plugin, "{text}");
        assert_eq!(settings.limits, expected_limits, "{text}");
        assert_eq!(settings.password_expiry, expiry, "{text}");
        assert_eq!(settings.locked, locked, "{text}");
        assert_eq!(settings.require, "NONE", "{text}");
    }
}

/// MySQL 8.0's format, as the manual's example prints it ("SHOW CREATE USER
/// Statement") with the options of "Password Management" and "CREATE USER
/// Statement" (<https://dev.mysql.com/doc/refman/8.0/en/create-user.html>) set; no
/// MySQL server here, so these are verified only against the documented format.
#[test]
fn create_user_gives_mysql_8_password_options_and_factors() {
    let text = "CREATE USER `app`@`%` IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$abc' REQUIRE NONE PASSWORD EXPIRE INTERVAL 90 DAY ACCOUNT UNLOCK PASSWORD HISTORY 5 PASSWORD REUSE INTERVAL 365 DAY PASSWORD REQUIRE CURRENT OPTIONAL FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME UNBOUNDED";
    let settings = parse_create_user(text).expect("parses");
    assert_eq!(
        settings.password_options.clauses(),
        [
            "PASSWORD HISTORY 5",
            "PASSWORD REUSE INTERVAL 365 DAY",
            "PASSWORD REQUIRE CURRENT OPTIONAL",
            "FAILED_LOGIN_ATTEMPTS 3",
            "PASSWORD_LOCK_TIME UNBOUNDED",
        ]
    );
    assert!(settings.password_options.tracks_failed_logins());
    assert_eq!(settings.password_expiry, "INTERVAL 90 DAY");
    assert_eq!(settings.factors, 1);
    assert!(!settings.locked);

    let required = parse_create_user(
        "CREATE USER `app`@`%` IDENTIFIED WITH 'caching_sha2_password' REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT LOCK PASSWORD HISTORY DEFAULT PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT FAILED_LOGIN_ATTEMPTS 4 PASSWORD_LOCK_TIME 2",
    )
    .expect("parses");
    assert_eq!(
        required.password_options.clauses(),
        [
            "PASSWORD HISTORY DEFAULT",
            "PASSWORD REUSE INTERVAL DEFAULT",
            "PASSWORD REQUIRE CURRENT",
            "FAILED_LOGIN_ATTEMPTS 4",
            "PASSWORD_LOCK_TIME 2",
        ]
    );
    assert!(required.locked);

    // The manual's multifactor example ("Multifactor Authentication": CREATE USER ...
    // IDENTIFIED WITH caching_sha2_password BY ... AND IDENTIFIED WITH authentication_ldap_sasl ...).
    let multifactor = parse_create_user(
        "CREATE USER `u`@`localhost` IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$abc' AND IDENTIFIED WITH 'authentication_ldap_sasl' AS 'uid=u_ldap,ou=People,dc=example,dc=com' REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK PASSWORD HISTORY DEFAULT PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT DEFAULT",
    )
    .expect("parses");
    assert_eq!(multifactor.factors, 2);
    assert_eq!(multifactor.plugin.as_deref(), Some("caching_sha2_password"));
    assert_eq!(multifactor.require, "NONE");

    // MariaDB prints none of them: every option is the server default.
    let mariadb = parse_create_user(
        "CREATE USER `u`@`%` IDENTIFIED BY PASSWORD '*D821809F681A40A6E379B50D0463EFAE20BDD122'",
    )
    .expect("parses");
    assert_eq!(mariadb.password_options, PasswordOptions::default());
    assert!(!mariadb.password_options.tracks_failed_logins());
}

#[test]
fn differences_name_each_setting_that_differs() {
    let wanted = AccountSettings::default();
    assert!(wanted.differences(&wanted.clone()).is_empty());
    let mut have = wanted.clone();
    have.password_options.history = "PASSWORD HISTORY 3".to_owned();
    have.locked = true;
    have.attribute = Some("{}".to_owned());
    assert_eq!(
        wanted.differences(&have),
        vec!["ACCOUNT LOCK", "PASSWORD HISTORY", "ATTRIBUTE"]
    );
}

/// MySQL 8.0 before 8.0.19 has no password columns to read, so the options come from
/// this text alone. Its format, as the 8.0 manual's example prints it ("SHOW CREATE
/// USER Statement", <https://dev.mysql.com/doc/refman/8.0/en/show-create-user.html>):
/// names in single quotes there (the manual's example; real 8.0 servers print them in
/// backticks, `` CREATE USER `u`@`%` ``, which the same reader takes: the tests above); the hash as a hex literal (`AS 0x...`) with
/// `print_identified_with_as_hex` (8.0.17+), else as a string literal, which may hold
/// unprintable bytes and escaped quotes; `PASSWORD HISTORY`, `REUSE INTERVAL` (8.0.3+)
/// and `REQUIRE CURRENT` (8.0.13+) always printed; no `FAILED_LOGIN_ATTEMPTS` or
/// `PASSWORD_LOCK_TIME` (8.0.19+), so failed logins never lock. The manual shows the
/// row wrapped across lines; the server returns it as one line: both are read alike.
/// No MySQL 8.0.18 server here: verified only against the documented format.
#[test]
fn mysql_8_0_18_show_create_user_gives_its_password_options() {
    let defaults = [
        "PASSWORD HISTORY DEFAULT",
        "PASSWORD REUSE INTERVAL DEFAULT",
        "PASSWORD REQUIRE CURRENT DEFAULT",
        "FAILED_LOGIN_ATTEMPTS 0",
        "PASSWORD_LOCK_TIME 0",
    ];
    let cases: [(&str, [&str; 5]); 5] = [
        // The manual's example, as the manual wraps it.
        (
            "CREATE USER 'u1'@'localhost'\nIDENTIFIED WITH 'caching_sha2_password'\nAS 0x244124303035240C7745603626313D613C4C10633E0A104B1E14135A544A7871567245614F4872344643546336546F624F6C7861326932752F45622F4F473273597557627139\nREQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK\nPASSWORD HISTORY DEFAULT PASSWORD REUSE INTERVAL DEFAULT\nPASSWORD REQUIRE CURRENT DEFAULT",
            defaults,
        ),
        // The same hash as a string literal (the variable off): raw control bytes,
        // escaped quote, backslash and newline, and text that reads like the failed-login
        // options 8.0.18 never prints (read as such, failed logins would seem to lock).
        (
            "CREATE USER 'app'@'%' IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$\u{c}wE`6&1=a<L\u{10}c>\\n\\' FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME 1 \\\\' REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK PASSWORD HISTORY 5 PASSWORD REUSE INTERVAL 30 DAY PASSWORD REQUIRE CURRENT OPTIONAL",
            [
                "PASSWORD HISTORY 5",
                "PASSWORD REUSE INTERVAL 30 DAY",
                "PASSWORD REQUIRE CURRENT OPTIONAL",
                "FAILED_LOGIN_ATTEMPTS 0",
                "PASSWORD_LOCK_TIME 0",
            ],
        ),
        // The account's own text without SELECT on mysql.user: the hash withheld;
        // REQUIRE CURRENT bare, last.
        (
            "CREATE USER 'app'@'%' IDENTIFIED WITH 'mysql_native_password' AS '<secret>' REQUIRE SSL PASSWORD EXPIRE NEVER ACCOUNT LOCK PASSWORD HISTORY 0 PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT",
            [
                "PASSWORD HISTORY 0",
                "PASSWORD REUSE INTERVAL DEFAULT",
                "PASSWORD REQUIRE CURRENT",
                "FAILED_LOGIN_ATTEMPTS 0",
                "PASSWORD_LOCK_TIME 0",
            ],
        ),
        // 8.0.3 to 8.0.12: no REQUIRE CURRENT yet.
        (
            "CREATE USER 'app'@'%' IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$abc' REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK PASSWORD HISTORY 2 PASSWORD REUSE INTERVAL DEFAULT",
            [
                "PASSWORD HISTORY 2",
                "PASSWORD REUSE INTERVAL DEFAULT",
                "PASSWORD REQUIRE CURRENT DEFAULT",
                "FAILED_LOGIN_ATTEMPTS 0",
                "PASSWORD_LOCK_TIME 0",
            ],
        ),
        // Default roles before the options (8.0's order: DEFAULT ROLE, REQUIRE, ...).
        (
            "CREATE USER 'app'@'%' IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$abc' DEFAULT ROLE 'reader'@'%' REQUIRE NONE PASSWORD EXPIRE INTERVAL 90 DAY ACCOUNT UNLOCK PASSWORD HISTORY DEFAULT PASSWORD REUSE INTERVAL 365 DAY PASSWORD REQUIRE CURRENT DEFAULT",
            [
                "PASSWORD HISTORY DEFAULT",
                "PASSWORD REUSE INTERVAL 365 DAY",
                "PASSWORD REQUIRE CURRENT DEFAULT",
                "FAILED_LOGIN_ATTEMPTS 0",
                "PASSWORD_LOCK_TIME 0",
            ],
        ),
    ];
    for (text, clauses) in cases {
        let settings = parse_create_user(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(settings.password_options.clauses(), clauses, "{text}");
        assert_eq!(
            settings.password_options.failed_login_limit(),
            None,
            "{text}"
        );
        assert_eq!(settings.factors, 1, "{text}");
    }
    let example = parse_create_user(cases[0].0).expect("parses");
    assert_eq!(example.plugin.as_deref(), Some("caching_sha2_password"));
    assert_eq!(
        (
            example.require.as_str(),
            example.password_expiry.as_str(),
            example.locked
        ),
        ("NONE", "DEFAULT", false)
    );
    let withheld = parse_create_user(cases[2].0).expect("parses");
    assert_eq!(
        (
            withheld.require.as_str(),
            withheld.password_expiry.as_str(),
            withheld.locked
        ),
        ("SSL", "NEVER", true)
    );
    let roles = parse_create_user(cases[4].0).expect("parses");
    assert_eq!(roles.default_roles.as_deref(), Some("'reader'@'%'"));
    assert_eq!(roles.password_expiry, "INTERVAL 90 DAY");
}
