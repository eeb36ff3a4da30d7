//! The RDS instance: provision's step (created private, encrypted, with an
//! RDS-managed admin password, in the project's parameter group, waited for until
//! available; an earlier run's instance is moved to that group once it is available,
//! since RDS refuses ModifyDBInstance of an instance in any other state; then the database group's rule admitting the bastion on the
//! instance's port, known only once it exists), the lookup deploy needs, discovery,
//! and its deletion without a final snapshot, waited for (its subnet group and
//! security group go only after it).

use std::time::Duration;

use anyhow::{Result, anyhow, bail};

use super::context::{Provisioner, missing};
use super::deletion::{Deletion, Outcome, gone_or};
use super::kind::{Clients, Kind, Resource};
use super::spec::{Plan, Spec};
use crate::aws::{self, say};
use crate::names::{self, Names};
use crate::tags::rds_tags;

/// This kind's declaration: what makes it, what it depends on, how it is found,
/// created, made ready and deleted (its row of the table, `TABLE`).
pub(crate) const SPEC: Spec = Spec {
    kind: Kind::DbInstance,
    label: "RDS instance",
    depends_on: &[
        Kind::DbSubnetGroup,
        Kind::DbParameterGroup,
        Kind::SecurityGroup,
    ],
    plan: Plan {
        found_by: "rds:DescribeDBInstances by name, kept only with the run's tags",
        create: "rds:CreateDBInstance MySQL 8.4 (newest offered) db.t3.micro, private, encrypted, admin password managed by RDS, in the project's parameter group (an earlier run's instance is moved to it once available: ModifyDBInstance)",
        ready: "status available with an endpoint (up to 20 minutes)",
        delete: "rds:DeleteDBInstance without a final snapshot, then wait until gone",
    },
    discover: Some(|clients, names, found| Box::pin(discover(clients, names, found))),
    delete: |d| Box::pin(delete(d)),
    provision: Some(|p| Box::pin(p.database_and_ingress())),
    deploy: None,
};

/// `rds:DeleteDBInstance`, then the wait until RDS no longer lists it.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (clients, id) = (d.clients, d.resource.id.as_str());
    let wait = d.wait;
    if !d.write("rds:DeleteDBInstance SkipFinalSnapshot DeleteAutomatedBackups") {
        return Ok(Outcome::WouldDelete);
    }
    let outcome = gone_or(
        aws::patiently(wait, || {
            clients
                .rds
                .delete_db_instance()
                .db_instance_identifier(id)
                .skip_final_snapshot(true)
                .delete_automated_backups(true)
                .send()
        })
        .await,
        "rds:DeleteDBInstance",
    )?;
    let rds = clients.rds.clone();
    aws::wait_for(
        &format!("RDS instance {id} to be deleted (minutes on AWS)"),
        Duration::from_mins(40),
        || {
            let rds = rds.clone();
            async move {
                match rds
                    .describe_db_instances()
                    .db_instance_identifier(id)
                    .send()
                    .await
                {
                    Err(e) if aws::is_not_found(&e) => Ok(Some(())),
                    Ok(out) if out.db_instances().is_empty() => Ok(Some(())),
                    Ok(_) => Ok(None),
                    Err(e) => bail!("rds:DescribeDBInstances {id}: {}", aws::describe(&e)),
                }
            }
        },
    )
    .await?;
    Ok(outcome)
}

impl Provisioner<'_> {
    /// Provision's step: the instance, then the database group's rule admitting the
    /// bastion on the instance's port (known only once the instance exists; the
    /// emulator serves each instance on its own port).
    async fn database_and_ingress(&mut self) -> Result<()> {
        self.database().await?;
        let (port, bastion, database) = (
            i32::from(self.state.db_port),
            self.state.bastion_group.clone(),
            self.state.database_group.clone(),
        );
        self.ingress(&database, port, &bastion).await
    }

    /// Moves an earlier run's instance into the project's parameter group, and says on
    /// every run whether the group is in force. No `ApplyImmediately`: the group name
    /// changes at once without it, its parameters only at the next reboot either way,
    /// and `ApplyImmediately` would also apply the user's other pending modifications
    /// (Amazon RDS API Reference, ModifyDBInstance: DBParameterGroupName,
    /// ApplyImmediately).
    async fn use_parameter_group(
        &self,
        id: &str,
        instance: Option<&aws_sdk_rds::types::DbInstance>,
    ) -> Result<()> {
        let name = &self.names.db_parameter_group;
        let current = instance.map_or(&[][..], aws_sdk_rds::types::DbInstance::db_parameter_groups);
        let ours = current
            .iter()
            .find(|g| g.db_parameter_group_name() == Some(name.as_str()));
        let apply_status = if let Some(group) = ours {
            group.parameter_apply_status().map(ToOwned::to_owned)
        } else {
            // The instance can leave `available` between the describe and the modify
            // (a backup or maintenance starting): RDS's InvalidDBInstanceState then
            // sends it back to waiting, within the one budget.
            let started = std::time::Instant::now();
            let out = loop {
                wait_until_modifiable(&self.rds, id, MODIFY_WAIT.saturating_sub(started.elapsed()))
                    .await?;
                match self
                    .rds
                    .modify_db_instance()
                    .db_instance_identifier(id)
                    .db_parameter_group_name(name)
                    .send()
                    .await
                {
                    Ok(out) => break out,
                    Err(e) if wait_again(aws::code(&e), started.elapsed()) => {
                        say(&format!(
                            "RDS instance {id} left the available state before ModifyDBInstance ({}); waiting again",
                            aws::describe(&e)
                        ));
                    }
                    Err(e) => bail!(
                        "rds:ModifyDBInstance {id} --db-parameter-group-name {name}: {}",
                        aws::describe(&e)
                    ),
                }
            };
            say(&format!(
                "RDS instance {id}: moved to parameter group {name}"
            ));
            out.db_instance()
                .map(aws_sdk_rds::types::DbInstance::db_parameter_groups)
                .unwrap_or_default()
                .iter()
                .find(|g| g.db_parameter_group_name() == Some(name.as_str()))
                .and_then(|g| g.parameter_apply_status())
                .map(ToOwned::to_owned)
        };
        let region = self
            .rds
            .config()
            .region()
            .map(ToString::to_string)
            .unwrap_or_default();
        say(&crate::resources::db_parameter_group::tls_status(
            id,
            name,
            apply_status.as_deref(),
            &region,
        ));
        Ok(())
    }

    pub(crate) async fn database(&mut self) -> Result<()> {
        let group_name = self.names.db_subnet_group.clone();
        let id = self.names.db_instance.clone();
        let created = match self
            .rds
            .describe_db_instances()
            .db_instance_identifier(&id)
            .send()
            .await
        {
            Ok(out) => {
                let tags = out
                    .db_instances()
                    .first()
                    .map(aws_sdk_rds::types::DbInstance::tag_list)
                    .unwrap_or_default();
                if !self.names.owns(
                    tags.iter()
                        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
                ) {
                    bail!(
                        "RDS instance {id} exists but does not carry the project's tags ({}={}, {}={}); refusing to adopt it: delete it or choose another --name",
                        names::PROJECT_TAG_KEY,
                        names::PROJECT_TAG_VALUE,
                        names::RUN_TAG_KEY,
                        self.names.run
                    );
                }
                self.use_parameter_group(&id, out.db_instances().first())
                    .await?;
                false
            }
            Err(error) if aws::is_not_found(&error) => {
                let version = self.placement()?.engine_version.clone();
                self.rds
                    .create_db_instance()
                    .db_instance_identifier(&id)
                    .engine(crate::placement::DB_ENGINE)
                    .engine_version(&version)
                    .db_instance_class(crate::placement::DB_CLASS)
                    .allocated_storage(20)
                    .master_username(names::ADMIN_USER)
                    .manage_master_user_password(true)
                    // The API's default is unencrypted storage (the console's is encrypted).
                    .storage_encrypted(true)
                    .publicly_accessible(false)
                    .db_subnet_group_name(&group_name)
                    .db_parameter_group_name(&self.names.db_parameter_group)
                    .vpc_security_group_ids(&self.state.database_group)
                    .set_tags(Some(rds_tags(self.names)))
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow!(
                            "rds:CreateDBInstance {id} ({} {version}, {}): {}",
                            crate::placement::DB_ENGINE,
                            crate::placement::DB_CLASS,
                            aws::describe(&e)
                        )
                    })?;
                true
            }
            Err(error) => bail!("rds:DescribeDBInstances {id}: {}", aws::describe(&error)),
        };
        let rds = self.rds.clone();
        let (host, port, admin_arn) = aws::wait_for(
            &format!("RDS instance {id} to be available (minutes on AWS)"),
            Duration::from_mins(40),
            || {
                let rds = rds.clone();
                let id = id.clone();
                async move {
                    let out = rds
                        .describe_db_instances()
                        .db_instance_identifier(&id)
                        .send()
                        .await
                        .map_err(|e| {
                            anyhow!("rds:DescribeDBInstances {id}: {}", aws::describe(&e))
                        })?;
                    let Some(instance) = out.db_instances().first() else {
                        return Ok(None);
                    };
                    if !instance.db_instance_status().is_some_and(in_service) {
                        return Ok(None);
                    }
                    let endpoint = instance.endpoint();
                    let secret = instance.master_user_secret();
                    match (
                        endpoint.and_then(|e| e.address()),
                        endpoint.and_then(aws_sdk_rds::types::Endpoint::port),
                        secret.and_then(|s| s.secret_arn()),
                    ) {
                        (Some(host), Some(port), Some(arn))
                            if secret.and_then(|s| s.secret_status()) == Some("active") =>
                        {
                            let port = u16::try_from(port).map_err(|_| {
                                anyhow!("RDS instance {id} reports port {port}, not a TCP port")
                            })?;
                            Ok(Some((host.to_owned(), port, arn.to_owned())))
                        }
                        (_, _, None) => bail!(
                            "RDS instance {id} has no RDS-managed admin secret (MasterUserSecret); it was not created by provision: delete it or choose another --name"
                        ),
                        _ => Ok(None),
                    }
                }
            },
        )
        .await?;
        self.note(
            "RDS instance",
            &format!("{id} at {host}:{port}, admin secret managed by RDS"),
            created,
        );
        self.state.db_instance = id;
        self.state.db_host = host;
        self.state.db_port = port;
        self.state.admin_secret_arn = admin_arn;
        Ok(())
    }
}

/// How long provision waits, in all, for RDS to accept its ModifyDBInstance.
const MODIFY_WAIT: Duration = Duration::from_mins(40);

/// Whether an instance in `status` serves connections: `available`, or
/// `storage-optimization` (RDS optimizing storage after a storage change, the instance in
/// service: RDS user guide, "Viewing Amazon RDS DB instance status"), as
/// terraform-provider-aws waits for "available, storage-optimization"
/// (hashicorp/terraform-provider-aws#3708).
fn in_service(status: &str) -> bool {
    matches!(status, "available" | "storage-optimization")
}

/// Whether a ModifyDBInstance refused with `code`, `elapsed` after provision began to
/// wait, is to wait for the instance again: RDS's InvalidDBInstanceState (the instance
/// left `available` after it was described, RDS API reference, ModifyDBInstance,
/// Errors) while the budget (`MODIFY_WAIT`) lasts; any other refusal is final.
fn wait_again(code: &str, elapsed: Duration) -> bool {
    code == "InvalidDBInstanceState" && elapsed < MODIFY_WAIT
}

/// What an instance in `status` means for a ModifyDBInstance about to be sent.
#[derive(Debug, PartialEq, Eq)]
enum Modifiable {
    /// RDS accepts the modification now.
    Now,
    /// RDS refuses it now, and the instance gets to `available` on its own.
    Later,
    /// RDS refuses it, and the instance stays so until someone acts: the fix.
    Never(&'static str),
}

/// RDS refuses ModifyDBInstance of an instance that is not available
/// (InvalidDBInstanceState "Database instance is not in available state.", as CloudTrail
/// recorded it in hashicorp/terraform-provider-aws#31594; RDS API reference,
/// ModifyDBInstance, Errors). `storage-optimization` is accepted as terraform-provider-aws
/// accepts it (hashicorp/terraform-provider-aws#3708; AWS does not document which
/// states accept a modification). The states are the RDS user guide's, "Viewing Amazon
/// RDS DB instance status".
fn modifiable(status: &str) -> Modifiable {
    match status {
        s if in_service(s) => Modifiable::Now,
        "stopped" => Modifiable::Never(
            "start it (aws rds start-db-instance --db-instance-identifier <id>) and rerun provision",
        ),
        "stopping" => Modifiable::Never(
            "wait until it is stopped, start it (aws rds start-db-instance) and rerun provision",
        ),
        "deleting" => Modifiable::Never(
            "it is being deleted: wait until it is gone and rerun provision to create it again",
        ),
        // RDS user guide, "Viewing Amazon RDS DB instance status": the KMS key cannot be
        // reached, and starting the instance recovers it once the key is active again.
        "inaccessible-encryption-credentials-recoverable" => Modifiable::Never(
            "RDS cannot reach its KMS key: enable the key (aws kms enable-key) or restore RDS's access to it, start the instance (aws rds start-db-instance) and rerun provision",
        ),
        "failed"
        | "restore-error"
        | "storage-full"
        | "incompatible-network"
        | "incompatible-option-group"
        | "incompatible-parameters"
        | "incompatible-restore"
        | "inaccessible-encryption-credentials"
        | "incompatible-credentials"
        | "unsupported-configuration"
        | "insufficient-capacity" => Modifiable::Never(
            "RDS cannot bring it back on its own: see the RDS user guide, \"Viewing Amazon RDS DB instance status\", repair or delete it, and rerun provision",
        ),
        _ => Modifiable::Later,
    }
}

/// Waits (at most `budget`, with progress) until RDS accepts a ModifyDBInstance
/// of `id`: a rerun can find the instance still creating, modifying or backing up.
/// An instance that does not get there on its own (stopped, deleting, failed) is an
/// error naming its state and the fix at once.
async fn wait_until_modifiable(
    rds: &aws_sdk_rds::Client,
    id: &str,
    budget: Duration,
) -> Result<()> {
    let last = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let seen = std::sync::Arc::clone(&last);
    let waited = aws::wait_for(
        &format!("RDS instance {id} to be available before ModifyDBInstance (minutes on AWS)"),
        budget,
        || {
            let rds = rds.clone();
            let seen = std::sync::Arc::clone(&seen);
            async move {
                let out = match rds.describe_db_instances().db_instance_identifier(id).send().await {
                    Ok(out) => out,
                    Err(e) => {
                        return Ok(Some(Err(anyhow!(
                            "rds:DescribeDBInstances {id}: {}",
                            aws::describe(&e)
                        ))));
                    }
                };
                let status = out
                    .db_instances()
                    .first()
                    .and_then(aws_sdk_rds::types::DbInstance::db_instance_status)
                    .unwrap_or("unknown")
                    .to_owned();
                let fresh = {
                    let mut last = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    let fresh = *last != status;
                    last.clone_from(&status);
                    fresh
                };
                match modifiable(&status) {
                    Modifiable::Now => Ok(Some(Ok(()))),
                    Modifiable::Never(fix) => Ok(Some(Err(anyhow!(
                        "RDS instance {id} is {status}: RDS refuses ModifyDBInstance (moving it to the project's parameter group) until it is available; {fix}"
                    )))),
                    Modifiable::Later => {
                        if fresh {
                            say(&format!(
                                "RDS instance {id} is {status}; waiting for it to be available before ModifyDBInstance"
                            ));
                        }
                        Ok(None)
                    }
                }
            }
        },
    )
    .await;
    match waited {
        Ok(answer) => answer,
        // Only the wait's own timeout: every other error is an answer above.
        Err(timeout) => {
            let status = last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            Err(timeout.context(format!(
                "RDS instance {id} is still {status}, not available: RDS refuses ModifyDBInstance until it is; rerun provision once `aws rds describe-db-instances --db-instance-identifier {id}` shows it available"
            )))
        }
    }
}

/// The run's DB instance, by its identifier.
pub(crate) async fn find(
    rds: &aws_sdk_rds::Client,
    names: &Names,
) -> Result<aws_sdk_rds::types::DbInstance> {
    let instances = rds
        .describe_db_instances()
        .db_instance_identifier(&names.db_instance)
        .send()
        .await
        .map_err(|e| {
            if aws::is_not_found(&e) {
                missing(names, &format!("RDS instance {}", names.db_instance))
            } else {
                anyhow!(
                    "rds:DescribeDBInstances {}: {}",
                    names.db_instance,
                    aws::describe(&e)
                )
            }
        })?;
    instances
        .db_instances()
        .first()
        .cloned()
        .ok_or_else(|| missing(names, &format!("RDS instance {}", names.db_instance)))
}

/// The ARNs of an instance and of its read replicas: RDS names a replica of the same
/// region by its identifier, one of another region by its ARN.
pub(crate) fn instance_and_replicas(instance: &aws_sdk_rds::types::DbInstance) -> Vec<String> {
    let arn = instance.db_instance_arn().unwrap_or_default();
    let prefix = arn.rsplit_once(':').map_or("", |(prefix, _)| prefix);
    std::iter::once(arn.to_owned())
        .chain(
            instance
                .read_replica_db_instance_identifiers()
                .iter()
                .map(|replica| {
                    if replica.starts_with("arn:") {
                        replica.clone()
                    } else {
                        format!("{prefix}:{replica}")
                    }
                }),
        )
        .collect()
}

/// The run's DB instances by their tags, those being deleted left out (discovery).
pub(crate) async fn discover(
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
    let mut marker = None;
    loop {
        let page = clients
            .rds
            .describe_db_instances()
            .set_marker(marker)
            .send()
            .await
            .map_err(aws::failed("rds:DescribeDBInstances"))?;
        for instance in page.db_instances() {
            let tags = instance
                .tag_list()
                .iter()
                .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")));
            if names.owns(tags) && instance.db_instance_status() != Some("deleting") {
                let id = instance.db_instance_identifier().unwrap_or_default();
                found.push(Resource::new(Kind::DbInstance, id, id));
            }
        }
        marker = page.marker().map(str::to_owned);
        if marker.is_none() {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{MODIFY_WAIT, Modifiable, in_service, modifiable, wait_again};
    use std::time::Duration;

    #[test]
    fn a_modification_waits_for_a_passing_state_and_stops_at_a_lasting_one() {
        for (status, expected) in [
            ("available", "now"),
            ("storage-optimization", "now"),
            ("creating", "later"),
            ("modifying", "later"),
            ("backing-up", "later"),
            ("rebooting", "later"),
            ("starting", "later"),
            ("configuring-enhanced-monitoring", "later"),
            ("stopped", "never"),
            ("stopping", "never"),
            ("deleting", "never"),
            ("failed", "never"),
            ("storage-full", "never"),
            ("incompatible-parameters", "never"),
            ("inaccessible-encryption-credentials-recoverable", "never"),
            ("incompatible-credentials", "never"),
            ("unsupported-configuration", "never"),
        ] {
            let got = match modifiable(status) {
                Modifiable::Now => "now",
                Modifiable::Later => "later",
                Modifiable::Never(fix) => {
                    assert!(!fix.is_empty(), "{status}: a fix must be named");
                    "never"
                }
            };
            assert_eq!(got, expected, "{status}");
        }
    }

    #[test]
    fn provision_takes_an_instance_optimizing_its_storage_as_in_service() {
        for (status, expected) in [
            ("available", true),
            ("storage-optimization", true),
            ("creating", false),
            ("backing-up", false),
            ("modifying", false),
            ("storage-full", false),
            ("stopped", false),
        ] {
            assert_eq!(in_service(status), expected, "{status}");
        }
    }

    #[test]
    fn a_modification_refused_for_the_instances_state_waits_again_while_the_budget_lasts() {
        let early = Duration::from_secs(5);
        for (code, elapsed, expected) in [
            ("InvalidDBInstanceState", early, true),
            ("InvalidDBInstanceState", MODIFY_WAIT, false),
            ("InvalidDBInstanceState", MODIFY_WAIT + early, false),
            ("DBParameterGroupNotFound", early, false),
            ("AccessDenied", early, false),
            ("", early, false),
        ] {
            assert_eq!(
                wait_again(code, elapsed),
                expected,
                "{code} after {elapsed:?}"
            );
        }
    }
}
