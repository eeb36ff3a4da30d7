//! Which hosts the clone gets: exactly the current user's.
//!
//! A user may have several accounts (`app@'%'` and `app@'10.0.%'`), and clients
//! elsewhere match the others; AWS's reference function read the grants of `'%'` only.
//! The rule is a pure function, kept apart from the statements that act on it.

/// The hosts the clone gets: exactly the user's, from `mysql.user`, with `matched`
/// (the account the function's own login matched) last, so that when the pending
/// password logs in from here, every other host already has it.
///
/// `CURRENT_USER()` names only the account that matched the function's address; a
/// user may have several (`app@'%'` and `app@'10.0.%'`), and clients elsewhere match
/// the others. A clone account at a host the user lacks is refused: it would keep a
/// password and privileges this rotation does not manage (typically a `'%'` clone
/// left by AWS's reference function for a user with a narrower host).
pub fn mirror_hosts(
    user: &str,
    clone: &str,
    user_hosts: &[String],
    clone_hosts: &[String],
    matched: &str,
) -> Result<Vec<String>, String> {
    if !user_hosts.iter().any(|h| h == matched) {
        return Err(format!(
            "mysql.user has no account '{user}'@'{matched}', though the current login matched it; check that masterarn names the admin secret of the database the secret's host points at"
        ));
    }
    let extra: Vec<String> = clone_hosts
        .iter()
        .filter(|h| !user_hosts.contains(h))
        .map(|h| format!("'{clone}'@'{h}'"))
        .collect();
    if !extra.is_empty() {
        return Err(format!(
            "{} exist(s) where `{user}` has no account, so the clone cannot mirror the user: clients there would log in as an account this rotation does not manage; drop {} or create `{user}` at the same host(s)",
            extra.join(", "),
            if extra.len() == 1 { "it" } else { "them" }
        ));
    }
    let mut hosts: Vec<String> = user_hosts
        .iter()
        .filter(|h| *h != matched)
        .cloned()
        .collect();
    hosts.push(matched.to_owned());
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clone_mirrors_every_host_and_the_matched_one_gets_its_password_last() {
        let hosts = |list: &[&str]| list.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            mirror_hosts(
                "app",
                "app_clone",
                &hosts(&["%", "10.0.%"]),
                &hosts(&[]),
                "10.0.%"
            ),
            Ok(hosts(&["%", "10.0.%"]))
        );
        assert_eq!(
            mirror_hosts(
                "app",
                "app_clone",
                &hosts(&["%", "10.0.%"]),
                &hosts(&["10.0.%"]),
                "%"
            ),
            Ok(hosts(&["10.0.%", "%"]))
        );
        // The reference's '%' clone beside a user moved to a narrower host.
        let refused = mirror_hosts(
            "app",
            "app_clone",
            &hosts(&["10.0.%"]),
            &hosts(&["%", "10.0.%"]),
            "10.0.%",
        )
        .unwrap_err();
        assert!(
            refused.contains("'app_clone'@'%'") && refused.contains("drop it"),
            "{refused}"
        );
        assert!(mirror_hosts("app", "app_clone", &hosts(&["%"]), &hosts(&[]), "10.0.%").is_err());
    }
}
