//! MySQL 8's account options that `SHOW CREATE USER` prints and the clone is given
//! as printed (password-management options) or as read from the grant tables (the
//! user attribute), each checked or quoted here like every other value of `sql`.

use super::{Account, QuoteError, Statement, string_literal};

/// `ALTER USER ... <option>`: one of MySQL 8's password-management options as
/// [`crate::grants::PasswordOptions`] holds it (`PASSWORD HISTORY 5`,
/// `FAILED_LOGIN_ATTEMPTS 3`, ...), checked to be only such words and numbers.
pub fn password_option(account: &Account, clause: &str) -> Result<Statement, QuoteError> {
    let words: Vec<&str> = clause.split_whitespace().collect();
    let number = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit());
    let valid = match words.as_slice() {
        ["PASSWORD", "HISTORY", value] => *value == "DEFAULT" || number(value),
        ["PASSWORD", "REUSE", "INTERVAL", "DEFAULT"] => true,
        ["PASSWORD", "REUSE", "INTERVAL", days, "DAY"] => number(days),
        ["PASSWORD", "REQUIRE", "CURRENT", rest @ ..] => {
            matches!(rest, [] | ["DEFAULT" | "OPTIONAL"])
        }
        ["FAILED_LOGIN_ATTEMPTS", value] => number(value),
        ["PASSWORD_LOCK_TIME", value] => *value == "UNBOUNDED" || number(value),
        _ => false,
    };
    if !valid {
        return Err(QuoteError {
            what: "password option",
            reason: "is not one of MySQL's password-management options as SHOW CREATE USER prints them",
        });
    }
    Ok(Statement::new(
        format!("ALTER USER {} {clause}", account.sql()?),
        format!("set {clause} for {account}"),
    ))
}

/// `ALTER USER ... ATTRIBUTE '<json>'` (MySQL 8.0.21+), which merges `json` into the
/// account's attribute ("CREATE USER Statement", User Comment and Attribute Options).
pub fn user_attribute(account: &Account, json: &str) -> Result<Statement, QuoteError> {
    Ok(Statement::new(
        format!(
            "ALTER USER {} ATTRIBUTE {}",
            account.sql()?,
            string_literal(json, "user attribute")?
        ),
        format!("set the attribute of {account}"),
    ))
}
