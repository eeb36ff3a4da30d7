//! `cargo xtask cleanup`: the tutorial's step 4, by tags.
//!
//! Cleanup first finds every resource that carries both the project's tag and the
//! run's tag (a name alone never qualifies: IAM roles and Lambda functions are
//! looked up by name and then kept only if their tags say they are ours), then
//! decides the order with a pure function ([`deletion_order`]), asks, and deletes,
//! waiting where AWS needs it (the database, the bastion and the endpoints must be
//! gone before their groups and subnets can go). Anything already gone counts as
//! done, so a cleanup after a half-finished provision, or a second cleanup, works.
//! It ends with what it deleted and what remains, and fails if anything remains.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use aws_config::SdkConfig;
use comfy_table::Table;

use crate::aws::{self, Calls};
use crate::discovery::{discover_with, planned};
use crate::names::Names;
use crate::resources::deletion::Deletion;
use crate::resources::{Clients, deletion_rank, engine, kms_key};

pub use crate::discovery::discover;
pub use crate::resources::{Kind, Outcome, Resource};

/// The order to delete `resources` in: by kind (dependents first), and among
/// security groups, a group before any group it refers to. Duplicates are dropped.
pub fn deletion_order(mut resources: Vec<Resource>) -> Vec<Resource> {
    resources.sort_by(|a, b| (deletion_rank(a.kind), &a.id).cmp(&(deletion_rank(b.kind), &b.id)));
    resources.dedup_by(|a, b| a.kind == b.kind && a.id == b.id);
    let (groups, mut rest): (Vec<_>, Vec<_>) = resources
        .into_iter()
        .partition(|r| r.kind == Kind::SecurityGroup);
    // Kahn's algorithm: a group goes once no remaining group refers to it; a cycle
    // (which rules can make) is broken in id order, since its rules are revoked first.
    let mut pending = groups;
    let mut ordered = Vec::new();
    while !pending.is_empty() {
        let free = pending.iter().position(|g| {
            !pending
                .iter()
                .any(|other| other.id != g.id && other.refers_to.contains(&g.id))
        });
        ordered.push(pending.remove(free.unwrap_or(0)));
    }
    let at = rest
        .iter()
        .position(|r| deletion_rank(r.kind) > deletion_rank(Kind::SecurityGroup))
        .unwrap_or(rest.len());
    rest.splice(at..at, ordered);
    rest
}

/// Options of `cargo xtask cleanup`.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // each is a flag of the command
pub struct CleanupOptions {
    pub names: Names,
    /// Print every delete call instead of making it.
    pub dry_run: bool,
    /// Delete without asking.
    pub yes: bool,
    /// Delete secrets at once instead of after a 7-day recovery window.
    pub force_delete_secrets: bool,
    /// The state directory (the state file and private key are removed with the run).
    pub state_dir: PathBuf,
    /// How long to keep retrying a deletion AWS refuses for now (ENIs of a deleted
    /// Lambda function hold its subnets and group for up to ~40 minutes).
    pub dependency_timeout: Duration,
    pub verbose: bool,
}

/// The result of a cleanup.
#[derive(Debug, Clone)]
pub struct Report {
    pub outcomes: Vec<(Resource, Outcome)>,
    /// Tagged resources still there at the end (empty after a dry run is not checked).
    pub remaining: Vec<Resource>,
    /// Every write call made or announced.
    pub writes: Vec<String>,
}

impl Report {
    /// Whether everything is gone (or, in a dry run, could be).
    pub fn complete(&self) -> bool {
        self.remaining.is_empty()
            && !self
                .outcomes
                .iter()
                .any(|(_, o)| matches!(o, Outcome::Failed(_)))
    }

    /// The outcomes as a table.
    pub fn table(&self) -> String {
        let mut table = Table::new();
        table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_header(["resource", "id", "name", "result"]);
        for (resource, outcome) in &self.outcomes {
            let result = match outcome {
                Outcome::Deleted => "deleted".to_owned(),
                Outcome::AlreadyGone => "already gone".to_owned(),
                Outcome::Scheduled => "scheduled for deletion in 7 days".to_owned(),
                Outcome::WouldDelete => "would delete (dry run)".to_owned(),
                Outcome::Kept(reason) => format!("kept: {reason}"),
                Outcome::Failed(message) => format!("NOT deleted: {message}"),
            };
            table.add_row([
                resource.kind.to_string(),
                resource.id.clone(),
                resource.name.clone(),
                result,
            ]);
        }
        for resource in &self.remaining {
            table.add_row([
                resource.kind.to_string(),
                resource.id.clone(),
                resource.name.clone(),
                "REMAINS".to_owned(),
            ]);
        }
        table.to_string()
    }
}

/// Finds, confirms and deletes the run's resources; see the module documentation.
pub async fn cleanup(config: &SdkConfig, options: &CleanupOptions) -> Result<Report> {
    let clients = Clients::new(config);
    let found = deletion_order(discover_with(&clients, &options.names).await?);
    if options.dry_run && !found.is_empty() {
        let kinds = crate::resources::deletion_order();
        println!(
            "cleanup plan of run {} (dry run, nothing is deleted):\n{}",
            options.names.run,
            crate::resources::plan(&planned(&found, &kinds), true)
        );
    }
    if found.is_empty() {
        remove_local_files(options);
        return Ok(Report {
            outcomes: Vec::new(),
            remaining: Vec::new(),
            writes: Vec::new(),
        });
    }
    if !options.dry_run && !options.yes {
        println!(
            "cleanup of run {} would delete {} resources:",
            options.names.run,
            found.len()
        );
        for resource in &found {
            println!("  {} {} {}", resource.kind, resource.id, resource.name);
        }
        if !aws::confirm("delete them?").await {
            bail!(
                "nothing deleted: cleanup was not confirmed (standard input gave no \"yes\"); pass --yes to delete without asking"
            );
        }
    }
    let mut calls = Calls::new(options.dry_run);
    let mut outcomes: Vec<(Resource, Outcome)> = Vec::new();
    for resource in found {
        // Lambda needs the execution role to remove the function's network interfaces:
        // while the function (or its interfaces) remain, the role stays.
        let function_failed = outcomes
            .iter()
            .any(|(r, o)| r.kind == Kind::Function && matches!(o, Outcome::Failed(_)));
        let key_kept = (resource.kind == Kind::KmsKey)
            .then(|| kms_key::kept_for_secret(&outcomes, options.force_delete_secrets))
            .flatten();
        let outcome = if resource.kind == Kind::Role && function_failed {
            Outcome::Failed(
                "kept: Lambda needs this role to remove the function's network interfaces; rerun cleanup once they are gone".to_owned(),
            )
        } else if let Some(reason) = key_kept {
            Outcome::Kept(reason)
        } else {
            delete(&clients, options, &resource, &mut calls).await
        };
        if options.verbose {
            aws::say(&format!(
                "{} {} {}: {outcome:?}",
                resource.kind, resource.id, resource.name
            ));
        }
        outcomes.push((resource, outcome));
    }
    let remaining: Vec<Resource> = if options.dry_run {
        Vec::new()
    } else {
        // A secret left scheduled for deletion (no --force-delete-secrets) is done
        // with, and so is the key kept for it.
        let kept: Vec<&Resource> = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Kept(_)))
            .map(|(r, _)| r)
            .collect();
        discover_with(&clients, &options.names)
            .await?
            .into_iter()
            .filter(|r| options.force_delete_secrets || !r.scheduled_for_deletion)
            .filter(|r| !kept.iter().any(|k| k.kind == r.kind && k.id == r.id))
            .collect()
    };
    if !options.dry_run && remaining.is_empty() {
        remove_local_files(options);
    }
    Ok(Report {
        outcomes,
        remaining,
        writes: calls.writes,
    })
}

fn remove_local_files(options: &CleanupOptions) {
    if options.dry_run {
        return;
    }
    let names = &options.names;
    for path in [
        names.state_file(&options.state_dir),
        names.key_file(&options.state_dir),
    ] {
        std::fs::remove_file(path).ok();
    }
}

/// Deletes one resource; failures are outcomes, not errors, so cleanup goes on.
async fn delete(
    clients: &Clients,
    options: &CleanupOptions,
    resource: &Resource,
    calls: &mut Calls,
) -> Outcome {
    match delete_one(clients, options, resource, calls).await {
        Ok(outcome) => outcome,
        Err(error) => Outcome::Failed(format!("{error:#}")),
    }
}

/// Deletes one resource the way its kind says (`resources/<kind>.rs`).
async fn delete_one(
    clients: &Clients,
    options: &CleanupOptions,
    resource: &Resource,
    calls: &mut Calls,
) -> Result<Outcome> {
    let d = &mut Deletion {
        clients,
        resource,
        wait: options.dependency_timeout,
        force_delete_secrets: options.force_delete_secrets,
        names: &options.names,
        calls,
    };
    engine::delete(d).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(kind: Kind, id: &str, refers_to: &[&str]) -> Resource {
        Resource {
            kind,
            id: id.to_owned(),
            name: String::new(),
            refers_to: refers_to.iter().map(|s| (*s).to_owned()).collect(),
            scheduled_for_deletion: false,
        }
    }

    fn ids(resources: &[Resource]) -> Vec<&str> {
        resources.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn deletion_goes_from_dependents_to_what_they_depend_on() {
        let cases: Vec<(Vec<Resource>, Vec<&str>)> = vec![
            // The full set, shuffled: the rotation first, the VPC last (resources::TABLE's order).
            (
                vec![
                    r(Kind::Vpc, "vpc-1", &[]),
                    r(Kind::Subnet, "subnet-1", &[]),
                    r(Kind::SecurityGroup, "sg-bastion", &[]),
                    r(Kind::SecurityGroup, "sg-db", &["sg-bastion", "sg-rotation"]),
                    r(Kind::SecurityGroup, "sg-rotation", &[]),
                    r(Kind::DbInstance, "db", &[]),
                    r(Kind::Secret, "arn:secret", &[]),
                    r(Kind::Rotation, "arn:secret", &[]),
                    r(Kind::Function, "fn", &[]),
                    r(Kind::Role, "role", &[]),
                    r(Kind::InternetGateway, "igw-1", &[]),
                    r(Kind::RouteTable, "rtb-1", &[]),
                    r(Kind::Instance, "i-1", &[]),
                    r(Kind::KeyPair, "key", &[]),
                    r(Kind::VpcEndpoint, "vpce-1", &[]),
                    r(Kind::DbSubnetGroup, "subnets", &[]),
                ],
                vec![
                    "arn:secret",
                    "fn",
                    "role",
                    "arn:secret",
                    "db",
                    "subnets",
                    "i-1",
                    "key",
                    "vpce-1",
                    "sg-db",
                    "sg-bastion",
                    "sg-rotation",
                    "rtb-1",
                    "subnet-1",
                    "igw-1",
                    "vpc-1",
                ],
            ),
            // A half-finished provision: only the network.
            (
                vec![
                    r(Kind::Vpc, "vpc-1", &[]),
                    r(Kind::SecurityGroup, "sg-a", &[]),
                    r(Kind::Subnet, "subnet-1", &[]),
                ],
                vec!["sg-a", "subnet-1", "vpc-1"],
            ),
            // A chain of group references, and a cycle broken in id order.
            (
                vec![
                    r(Kind::SecurityGroup, "sg-a", &[]),
                    r(Kind::SecurityGroup, "sg-b", &["sg-a"]),
                    r(Kind::SecurityGroup, "sg-c", &["sg-b"]),
                ],
                vec!["sg-c", "sg-b", "sg-a"],
            ),
            (
                vec![
                    r(Kind::SecurityGroup, "sg-y", &["sg-x"]),
                    r(Kind::SecurityGroup, "sg-x", &["sg-y"]),
                ],
                vec!["sg-x", "sg-y"],
            ),
            // Duplicates (found twice) are deleted once; nothing found, nothing to do.
            (
                vec![r(Kind::Vpc, "vpc-1", &[]), r(Kind::Vpc, "vpc-1", &[])],
                vec!["vpc-1"],
            ),
            (vec![], vec![]),
        ];
        for (input, expected) in cases {
            let ordered = deletion_order(input.clone());
            assert_eq!(ids(&ordered), expected, "{input:?}");
        }
    }

    #[test]
    fn rotation_is_cancelled_before_its_secret_is_deleted() {
        let ordered = deletion_order(vec![
            r(Kind::Secret, "arn:s", &[]),
            r(Kind::Rotation, "arn:s", &[]),
        ]);
        assert_eq!(
            ordered.iter().map(|r| r.kind).collect::<Vec<_>>(),
            vec![Kind::Rotation, Kind::Secret]
        );
    }
}
