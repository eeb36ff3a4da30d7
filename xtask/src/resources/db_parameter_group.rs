//! The database's DB parameter group: `require_secure_transport` on, so the server
//! refuses connections without TLS (the default group cannot be changed and has it
//! off through MySQL 8.4: Amazon RDS User Guide, "Requiring SSL/TLS for all
//! connections to a MySQL DB instance on Amazon RDS").

use anyhow::{Result, anyhow, bail};

use super::context::Provisioner;
use super::deletion::{Deletion, Outcome};
use super::kind::{Clients, Kind, Resource};
use super::spec::{Plan, Spec};
use crate::aws;
use crate::names::Names;
use crate::tags::rds_tags;

/// This kind's declaration: what makes it, what it depends on, how it is found,
/// created, made ready and deleted (its row of the table, `TABLE`).
pub(crate) const SPEC: Spec = Spec {
    kind: Kind::DbParameterGroup,
    label: "DB parameter group",
    depends_on: &[],
    plan: Plan {
        found_by: "rds:DescribeDBParameterGroups by name, kept only with the run's tags",
        create: "rds:CreateDBParameterGroup for the engine's family (tagged), ModifyDBParameterGroup require_secure_transport=1 (checked every run)",
        ready: "",
        delete: "rds:DeleteDBParameterGroup, once the instance no longer uses it",
    },
    discover: Some(|clients, names, found| Box::pin(discover(clients, names, found))),
    delete: |d| Box::pin(delete(d)),
    provision: Some(|p| Box::pin(p.db_parameter_group())),
    deploy: None,
};

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

impl Provisioner<'_> {
    /// The project's parameter group, `require_secure_transport` on (set on every
    /// run: a value changed by hand is put back).
    pub(crate) async fn db_parameter_group(&mut self) -> Result<()> {
        let name = self.names.db_parameter_group.clone();
        let family =
            crate::resources::db_parameter_group::family(&self.placement()?.engine_version.clone());
        // AWS answers DBParameterGroupNotFound for a name it does not have (moto an
        // empty list): both mean "create it".
        let existing = match self
            .rds
            .describe_db_parameter_groups()
            .db_parameter_group_name(&name)
            .send()
            .await
        {
            Ok(out) => out.db_parameter_groups().first().cloned(),
            Err(error) if aws::is_not_found(&error) => None,
            Err(error) => bail!(
                "rds:DescribeDBParameterGroups {name}: {}",
                aws::describe(&error)
            ),
        };
        if let Some(group) = existing {
            let arn = group.db_parameter_group_arn().unwrap_or_default();
            if !crate::tags::owns_rds(&self.rds, self.names, arn).await? {
                bail!(
                    "DB parameter group {name} exists but does not carry the project's tags; refusing to adopt it: delete it or choose another --name"
                );
            }
            self.note("DB parameter group", &name, false);
        } else {
            self.rds
                .create_db_parameter_group()
                .db_parameter_group_name(&name)
                .db_parameter_group_family(&family)
                .description(format!("{}: connections only over TLS", self.names.run))
                .set_tags(Some(rds_tags(self.names)))
                .send()
                .await
                .map_err(|e| {
                    anyhow!(
                        "rds:CreateDBParameterGroup {name} ({family}): {}",
                        aws::describe(&e)
                    )
                })?;
            self.note("DB parameter group", &name, true);
        }
        // Dynamic: in force without a reboot (RDS User Guide, "Requiring SSL/TLS for
        // all connections to a MySQL DB instance on Amazon RDS").
        self.rds
            .modify_db_parameter_group()
            .db_parameter_group_name(&name)
            .parameters(
                aws_sdk_rds::types::Parameter::builder()
                    .parameter_name("require_secure_transport")
                    .parameter_value("1")
                    .apply_method(aws_sdk_rds::types::ApplyMethod::Immediate)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "rds:ModifyDBParameterGroup {name} require_secure_transport=1: {}",
                    aws::describe(&e)
                )
            })?;
        Ok(())
    }
}

/// The run's DB parameter group, by name, kept only with the run's tags (a group of the same name made by someone else is never deleted) (discovery).
pub(crate) async fn discover(
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
    let name = &names.db_parameter_group;
    let out = match clients
        .rds
        .describe_db_parameter_groups()
        .db_parameter_group_name(name)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if aws::is_not_found(&e) => return Ok(()),
        Err(e) => return Err(aws::failed("rds:DescribeDBParameterGroups")(e)),
    };
    for group in out.db_parameter_groups() {
        let Some(arn) = group.db_parameter_group_arn() else {
            continue;
        };
        if crate::tags::owns_rds(&clients.rds, names, arn).await? {
            found.push(Resource::new(Kind::DbParameterGroup, name, name));
        }
    }
    Ok(())
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
