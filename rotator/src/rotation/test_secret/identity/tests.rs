use super::*;

fn row(text: &str) -> GrantRow {
    grants::parse_row(text).expect("row").grant
}

#[test]
fn only_the_pending_users_own_account_passes() {
    assert_eq!(
        own_account("app_clone", "app_clone@%"),
        Ok(Account::new("app_clone", "%"))
    );
    assert_eq!(
        own_account("app_clone", "app_clone@10.0.%"),
        Ok(Account::new("app_clone", "10.0.%"))
    );
    // An anonymous account with a more specific host matched the login.
    let anonymous = own_account("app_clone", "@localhost").expect_err("anonymous");
    assert!(
        anonymous.contains("log in as the account ''@'localhost'")
            && anonymous.contains("DROP USER ''@'localhost'"),
        "{anonymous}"
    );
    // A wildcard-named or other account (a proxy user's CURRENT_USER()).
    assert!(own_account("app_clone", "app@%").is_err());
    assert!(own_account("app_clone", "nohost").is_err());
}

#[test]
fn rows_of_other_grantees_are_left_out() {
    let rows = [
        "GRANT USAGE ON *.* TO `app_clone`@`%`".to_owned(),
        "GRANT SELECT ON `db`.* TO `app_clone`@`%`".to_owned(),
        "GRANT `reader` TO `app_clone`@`%`".to_owned(),
        // MariaDB: the rows of the active role follow the user's own.
        "GRANT INSERT ON `db`.* TO `reader`".to_owned(),
        "SET DEFAULT ROLE `reader` FOR `app_clone`@`%`".to_owned(),
    ];
    let own = own_rows(&rows, &Account::new("app_clone", "%")).expect("rows");
    assert_eq!(
        own,
        vec![row(&rows[0]), row(&rows[1]), row(&rows[2]), row(&rows[4])]
    );
}

#[test]
fn rows_on_dropped_objects_are_expected_as_the_copy_left_them() {
    let whole = row("GRANT SELECT (`a`, `gone`), INSERT ON `db`.`t` TO `u`@`%`");
    assert_eq!(as_copied(&whole, &Existence::Whole), Some(whole.clone()));
    assert_eq!(as_copied(&whole, &Existence::Gone), None);
    assert_eq!(
        as_copied(&whole, &Existence::Columns(vec!["A".into(), "b".into()])),
        Some(row("GRANT SELECT (`a`), INSERT ON `db`.`t` TO `u`@`%`"))
    );
    let only_columns = row("GRANT SELECT (`gone`) ON `db`.`t` TO `u`@`%`");
    assert_eq!(
        as_copied(&only_columns, &Existence::Columns(vec!["a".into()])),
        None
    );
}

#[test]
fn a_difference_names_each_row_both_ways_and_no_grantee() {
    let usage = row("GRANT USAGE ON *.* TO `u`@`%`");
    let select = row("GRANT SELECT ON `db`.* TO `u`@`%`");
    let insert = row("GRANT INSERT ON `db`.* TO `u`@`%`");
    assert_eq!(
        difference(
            &[usage.clone(), select.clone()],
            &[select.clone(), usage.clone()]
        ),
        None
    );
    let found = difference(&[usage.clone(), select.clone()], &[usage, insert]).expect("differs");
    assert_eq!(
        found,
        "missing [GRANT SELECT ON `db`.* TO <user>]; extra [GRANT INSERT ON `db`.* TO <user>]"
    );
    let option = row("GRANT SELECT ON `db`.* TO `u`@`%` WITH GRANT OPTION");
    assert!(
        difference(&[select], &[option]).is_some(),
        "the grant option counts"
    );
}
