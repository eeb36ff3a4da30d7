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
}
