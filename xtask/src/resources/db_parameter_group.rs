//! The database's DB parameter group: `require_secure_transport` on, so the server
//! refuses connections without TLS (the default group cannot be changed and has it
//! off through MySQL 8.4: Amazon RDS User Guide, "Requiring SSL/TLS for all
//! connections to a MySQL DB instance on Amazon RDS").

use anyhow::Result;

use super::deletion::{Deletion, Outcome};

/// `rds:DeleteDBParameterGroup`, retried while the instance still uses it
/// (`InvalidDBParameterGroupState`).
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (rds, id) = (&d.clients.rds, d.resource.id.as_str());
    d.patiently("rds:DeleteDBParameterGroup", || {
        rds.delete_db_parameter_group()
            .db_parameter_group_name(id)
            .send()
    })
    .await
}

/// What provision says about TLS on instance `id` whose membership of `group` RDS
/// reports as `apply_status` (`DBInstance.DBParameterGroups[].ParameterApplyStatus`).
/// A group newly associated with an instance takes effect only after a reboot
/// (`pending-reboot`; Amazon RDS User Guide, "Associating a DB parameter group with a
/// DB instance" and "Rebooting a DB instance"): until the status is `in-sync` the
/// server may still accept plaintext, so TLS is not claimed. xtask never reboots the
/// user's instance itself.
pub(crate) fn tls_status(
    id: &str,
    group: &str,
    apply_status: Option<&str>,
    region: &str,
) -> String {
    let region = if region.is_empty() {
        String::new()
    } else {
        format!(" --region {region}")
    };
    match apply_status {
        Some("in-sync") => {
            format!("RDS instance {id}: parameter group {group} in sync (TLS required)")
        }
        Some("pending-reboot") => format!(
            "RDS instance {id}: parameter group {group} is pending reboot, so the server may still accept connections without TLS; reboot it when convenient (a brief outage): `aws rds reboot-db-instance --db-instance-identifier {id}{region}`, then rerun `cargo xtask provision`"
        ),
        Some(other) => format!(
            "RDS instance {id}: parameter group {group} is {other}; TLS is not required until it is in-sync: rerun `cargo xtask provision` to check again"
        ),
        None => format!(
            "RDS instance {id}: parameter group {group} not reported yet; TLS is not required until it is in-sync: rerun `cargo xtask provision` to check again"
        ),
    }
}

/// The parameter group family of a MySQL engine version (`8.4.3` → `mysql8.4`).
pub(crate) fn family(engine_version: &str) -> String {
    let major_minor: Vec<&str> = engine_version.split('.').take(2).collect();
    format!("mysql{}", major_minor.join("."))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_family_is_the_major_and_minor_version() {
        assert_eq!(super::family("8.4.3"), "mysql8.4");
        assert_eq!(super::family("8.0.40"), "mysql8.0");
    }

    #[test]
    fn tls_is_claimed_only_in_sync_and_a_pending_reboot_names_the_command() {
        let cases = [
            (Some("in-sync"), "region", "(TLS required)", true),
            (
                Some("pending-reboot"),
                "eu-west-1",
                "`aws rds reboot-db-instance --db-instance-identifier db1 --region eu-west-1`",
                false,
            ),
            (
                Some("pending-reboot"),
                "",
                "`aws rds reboot-db-instance --db-instance-identifier db1`",
                false,
            ),
            (
                Some("applying"),
                "r",
                "is applying; TLS is not required until it is in-sync",
                false,
            ),
            (None, "r", "not reported yet", false),
        ];
        for (status, region, expected, claims_tls) in cases {
            let said = super::tls_status("db1", "g-tls", status, region);
            assert!(said.contains(expected), "{status:?}: {said}");
            assert_eq!(
                said.contains("(TLS required)"),
                claims_tls,
                "{status:?}: {said}"
            );
        }
    }
}
