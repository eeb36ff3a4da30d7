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

use anyhow::{Result, anyhow, bail};
use aws_config::SdkConfig;
use aws_sdk_ec2::types::{IpPermission, UserIdGroupPair};
use comfy_table::Table;

use crate::aws::{self, Calls};
use crate::discovery::{Clients, discover_with, planned};
use crate::names::Names;

pub use crate::discovery::{Resource, discover};
pub use crate::resources::Kind;
use crate::resources::deletion_rank;

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

/// What happened to one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Deleted,
    AlreadyGone,
    /// A secret scheduled for deletion after the recovery window.
    Scheduled,
    /// Only announced (dry run).
    WouldDelete,
    Failed(String),
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
        let outcome = if resource.kind == Kind::Role && function_failed {
            Outcome::Failed(
                "kept: Lambda needs this role to remove the function's network interfaces; rerun cleanup once they are gone".to_owned(),
            )
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
        // A secret left scheduled for deletion (no --force-delete-secrets) is done with.
        discover_with(&clients, &options.names)
            .await?
            .into_iter()
            .filter(|r| options.force_delete_secrets || !r.scheduled_for_deletion)
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

/// Maps an SDK result: not found means already gone.
fn gone_or<T, E>(result: Result<T, E>, call: &str) -> Result<Outcome>
where
    E: std::error::Error + aws_sdk_ec2::error::ProvideErrorMetadata,
{
    match result {
        Ok(_) => Ok(Outcome::Deleted),
        Err(e) if aws::is_not_found(&e) => Ok(Outcome::AlreadyGone),
        Err(e) => Err(anyhow!("{call}: {}", aws::describe(&e))),
    }
}

#[allow(clippy::too_many_lines)] // one match arm per kind, each that kind's deletion
async fn delete_one(
    clients: &Clients,
    options: &CleanupOptions,
    resource: &Resource,
    calls: &mut Calls,
) -> Result<Outcome> {
    let id = resource.id.as_str();
    let wait = options.dependency_timeout;
    let action = |call: &str| format!("{call} {id} ({})", resource.name);
    let ec2 = &clients.ec2;
    match resource.kind {
        Kind::Rotation => {
            if !calls.write(action("secretsmanager:CancelRotateSecret")) {
                return Ok(Outcome::WouldDelete);
            }
            gone_or(
                clients
                    .secrets
                    .cancel_rotate_secret()
                    .secret_id(id)
                    .send()
                    .await,
                "secretsmanager:CancelRotateSecret",
            )
        }
        Kind::Secret => {
            let force = options.force_delete_secrets;
            if resource.scheduled_for_deletion && !force {
                // DeleteSecret with a recovery window refuses a secret already scheduled.
                return Ok(Outcome::Scheduled);
            }
            let call = if force {
                "secretsmanager:DeleteSecret ForceDeleteWithoutRecovery"
            } else {
                "secretsmanager:DeleteSecret RecoveryWindowInDays=7"
            };
            if !calls.write(action(call)) {
                return Ok(Outcome::WouldDelete);
            }
            let request = clients.secrets.delete_secret().secret_id(id);
            let request = if force {
                request.force_delete_without_recovery(true)
            } else {
                request.recovery_window_in_days(7)
            };
            gone_or(request.send().await, "secretsmanager:DeleteSecret").map(|o| {
                if o == Outcome::Deleted && !force {
                    Outcome::Scheduled
                } else {
                    o
                }
            })
        }
        Kind::Function => delete_function(clients, id, wait, calls, &action).await,
        Kind::LogGroup => {
            if !calls.write(action("logs:DeleteLogGroup")) {
                return Ok(Outcome::WouldDelete);
            }
            gone_or(
                clients
                    .logs
                    .delete_log_group()
                    .log_group_name(id)
                    .send()
                    .await,
                "logs:DeleteLogGroup",
            )
        }
        Kind::Role => {
            let policies = match clients.iam.list_role_policies().role_name(id).send().await {
                Ok(out) => out.policy_names().to_vec(),
                Err(e) if aws::is_not_found(&e) => return Ok(Outcome::AlreadyGone),
                Err(e) => bail!("iam:ListRolePolicies: {}", aws::describe(&e)),
            };
            for policy in policies {
                if calls.write(action(&format!("iam:DeleteRolePolicy {policy}"))) {
                    gone_or(
                        clients
                            .iam
                            .delete_role_policy()
                            .role_name(id)
                            .policy_name(&policy)
                            .send()
                            .await,
                        "iam:DeleteRolePolicy",
                    )?;
                }
            }
            if !calls.write(action("iam:DeleteRole")) {
                return Ok(Outcome::WouldDelete);
            }
            gone_or(
                clients.iam.delete_role().role_name(id).send().await,
                "iam:DeleteRole",
            )
        }
        Kind::DbInstance => {
            if !calls.write(action(
                "rds:DeleteDBInstance SkipFinalSnapshot DeleteAutomatedBackups",
            )) {
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
        Kind::DbSubnetGroup => {
            if !calls.write(action("rds:DeleteDBSubnetGroup")) {
                return Ok(Outcome::WouldDelete);
            }
            gone_or(
                aws::patiently(wait, || {
                    clients
                        .rds
                        .delete_db_subnet_group()
                        .db_subnet_group_name(id)
                        .send()
                })
                .await,
                "rds:DeleteDBSubnetGroup",
            )
        }
        Kind::Instance => {
            if !calls.write(action("ec2:TerminateInstances")) {
                return Ok(Outcome::WouldDelete);
            }
            let outcome = gone_or(
                aws::patiently(wait, || ec2.terminate_instances().instance_ids(id).send()).await,
                "ec2:TerminateInstances",
            )?;
            aws::wait_for(
                &format!("instance {id} to terminate"),
                Duration::from_mins(10),
                || async move {
                    let out = ec2.describe_instances().instance_ids(id).send().await;
                    match out {
                        Err(e) if aws::is_not_found(&e) => Ok(Some(())),
                        Err(e) => bail!("ec2:DescribeInstances {id}: {}", aws::describe(&e)),
                        Ok(out) => Ok(out
                            .reservations()
                            .iter()
                            .flat_map(aws_sdk_ec2::types::Reservation::instances)
                            .all(|i| {
                                i.state()
                                    .and_then(|s| s.name())
                                    .map(aws_sdk_ec2::types::InstanceStateName::as_str)
                                    == Some("terminated")
                            })
                            .then_some(())),
                    }
                },
            )
            .await?;
            Ok(outcome)
        }
        Kind::KeyPair => {
            if !calls.write(action("ec2:DeleteKeyPair")) {
                return Ok(Outcome::WouldDelete);
            }
            gone_or(
                aws::patiently(wait, || ec2.delete_key_pair().key_name(id).send()).await,
                "ec2:DeleteKeyPair",
            )
        }
        Kind::VpcEndpoint => {
            if !calls.write(action("ec2:DeleteVpcEndpoints")) {
                return Ok(Outcome::WouldDelete);
            }
            let out = aws::patiently(wait, || {
                ec2.delete_vpc_endpoints().vpc_endpoint_ids(id).send()
            })
            .await;
            let outcome = match out {
                Ok(out) if out.unsuccessful().is_empty() => Outcome::Deleted,
                Ok(out) => {
                    let reason = out
                        .unsuccessful()
                        .iter()
                        .filter_map(|u| u.error().and_then(|e| e.message()))
                        .collect::<Vec<_>>()
                        .join("; ");
                    if reason.contains("does not exist") {
                        Outcome::AlreadyGone
                    } else {
                        bail!("ec2:DeleteVpcEndpoints: {reason}")
                    }
                }
                Err(e) if aws::is_not_found(&e) => Outcome::AlreadyGone,
                Err(e) => bail!("ec2:DeleteVpcEndpoints: {}", aws::describe(&e)),
            };
            aws::wait_for(
                &format!("endpoint {id} to be deleted"),
                Duration::from_mins(10),
                || async move {
                    match ec2
                        .describe_vpc_endpoints()
                        .vpc_endpoint_ids(id)
                        .send()
                        .await
                    {
                        Err(e) if aws::is_not_found(&e) => Ok(Some(())),
                        Err(e) => bail!("ec2:DescribeVpcEndpoints {id}: {}", aws::describe(&e)),
                        Ok(out) => Ok(out
                            .vpc_endpoints()
                            .iter()
                            .all(|e| {
                                e.state()
                                    .map(|s| s.as_str().to_ascii_lowercase())
                                    .as_deref()
                                    == Some("deleted")
                            })
                            .then_some(())),
                    }
                },
            )
            .await?;
            Ok(outcome)
        }
        Kind::SecurityGroup => {
            // Rules naming other groups go first, so groups in a cycle can be deleted.
            if !resource.refers_to.is_empty() {
                let pairs: Vec<UserIdGroupPair> = resource
                    .refers_to
                    .iter()
                    .map(|g| UserIdGroupPair::builder().group_id(g).build())
                    .collect();
                let described = ec2.describe_security_groups().group_ids(id).send().await;
                if let Ok(described) = described {
                    let rules: Vec<IpPermission> = described
                        .security_groups()
                        .iter()
                        .flat_map(aws_sdk_ec2::types::SecurityGroup::ip_permissions)
                        .filter(|p| {
                            p.user_id_group_pairs()
                                .iter()
                                .any(|pair| pairs.iter().any(|x| x.group_id() == pair.group_id()))
                        })
                        .cloned()
                        .collect();
                    if !rules.is_empty()
                        && calls.write(action(&format!(
                            "ec2:RevokeSecurityGroupIngress (rules from {})",
                            resource.refers_to.join(",")
                        )))
                    {
                        gone_or(
                            ec2.revoke_security_group_ingress()
                                .group_id(id)
                                .set_ip_permissions(Some(rules))
                                .send()
                                .await,
                            "ec2:RevokeSecurityGroupIngress",
                        )?;
                    }
                }
            }
            if !calls.write(action("ec2:DeleteSecurityGroup")) {
                return Ok(Outcome::WouldDelete);
            }
            gone_or(
                aws::patiently(wait, || ec2.delete_security_group().group_id(id).send()).await,
                "ec2:DeleteSecurityGroup",
            )
        }
        Kind::Subnet => {
            if !calls.write(action("ec2:DeleteSubnet")) {
                return Ok(Outcome::WouldDelete);
            }
            gone_or(
                aws::patiently(wait, || ec2.delete_subnet().subnet_id(id).send()).await,
                "ec2:DeleteSubnet",
            )
        }
        Kind::RouteTable => {
            let associations: Vec<String> =
                match ec2.describe_route_tables().route_table_ids(id).send().await {
                    Ok(out) => out
                        .route_tables()
                        .iter()
                        .flat_map(aws_sdk_ec2::types::RouteTable::associations)
                        .filter(|a| a.main() != Some(true))
                        .filter_map(|a| a.route_table_association_id().map(str::to_owned))
                        .collect(),
                    Err(e) if aws::is_not_found(&e) => return Ok(Outcome::AlreadyGone),
                    Err(e) => bail!("ec2:DescribeRouteTables: {}", aws::describe(&e)),
                };
            for association in associations {
                if calls.write(action(&format!("ec2:DisassociateRouteTable {association}"))) {
                    gone_or(
                        ec2.disassociate_route_table()
                            .association_id(&association)
                            .send()
                            .await,
                        "ec2:DisassociateRouteTable",
                    )?;
                }
            }
            if !calls.write(action("ec2:DeleteRouteTable")) {
                return Ok(Outcome::WouldDelete);
            }
            gone_or(
                aws::patiently(wait, || ec2.delete_route_table().route_table_id(id).send()).await,
                "ec2:DeleteRouteTable",
            )
        }
        Kind::InternetGateway => {
            let attached: Vec<String> = match ec2
                .describe_internet_gateways()
                .internet_gateway_ids(id)
                .send()
                .await
            {
                Ok(out) => out
                    .internet_gateways()
                    .iter()
                    .flat_map(aws_sdk_ec2::types::InternetGateway::attachments)
                    .filter_map(|a| a.vpc_id().map(str::to_owned))
                    .collect(),
                Err(e) if aws::is_not_found(&e) => return Ok(Outcome::AlreadyGone),
                Err(e) => bail!("ec2:DescribeInternetGateways: {}", aws::describe(&e)),
            };
            for vpc in attached {
                if calls.write(action(&format!("ec2:DetachInternetGateway from {vpc}"))) {
                    gone_or(
                        aws::patiently(wait, || {
                            ec2.detach_internet_gateway()
                                .internet_gateway_id(id)
                                .vpc_id(&vpc)
                                .send()
                        })
                        .await,
                        "ec2:DetachInternetGateway",
                    )?;
                }
            }
            if !calls.write(action("ec2:DeleteInternetGateway")) {
                return Ok(Outcome::WouldDelete);
            }
            gone_or(
                aws::patiently(wait, || {
                    ec2.delete_internet_gateway().internet_gateway_id(id).send()
                })
                .await,
                "ec2:DeleteInternetGateway",
            )
        }
        Kind::Vpc => {
            if !calls.write(action("ec2:DeleteVpc")) {
                return Ok(Outcome::WouldDelete);
            }
            gone_or(
                aws::patiently(wait, || ec2.delete_vpc().vpc_id(id).send()).await,
                "ec2:DeleteVpc",
            )
        }
    }
}

/// Deletes a function so that its VPC network interfaces go too.
///
/// Lambda removes a function's Hyperplane ENIs itself, minutes after the function
/// leaves the VPC, and needs the execution role to do it (Lambda developer guide,
/// "Giving Lambda functions access to resources in an Amazon VPC"; with the role
/// gone they stay: aws/serverless-application-model#1169). So: detach the function
/// from the VPC (an empty `VpcConfig`) and wait for the update, delete it, then wait
/// until no interface of it remains, and only then may its role be deleted (the
/// role comes after the function in [`Kind`]'s order).
async fn delete_function(
    clients: &Clients,
    id: &str,
    wait: Duration,
    calls: &mut Calls,
    action: &dyn Fn(&str) -> String,
) -> Result<Outcome> {
    let lambda = &clients.lambda;
    let in_vpc = match lambda
        .get_function_configuration()
        .function_name(id)
        .send()
        .await
    {
        Ok(out) => out.vpc_config().is_some_and(|v| !v.subnet_ids().is_empty()),
        Err(e) if aws::is_not_found(&e) => false,
        Err(e) => bail!(
            "lambda:GetFunctionConfiguration {id}: {}",
            aws::describe(&e)
        ),
    };
    if in_vpc
        && calls.write(action(
            "lambda:UpdateFunctionConfiguration VpcConfig={} (detach from the VPC)",
        ))
    {
        let detach = aws::retry_transient("lambda:UpdateFunctionConfiguration", wait, || {
            lambda
                .update_function_configuration()
                .function_name(id)
                .vpc_config(
                    aws_sdk_lambda::types::VpcConfig::builder()
                        .set_subnet_ids(Some(Vec::new()))
                        .set_security_group_ids(Some(Vec::new()))
                        .build(),
                )
                .send()
        })
        .await;
        match detach {
            Ok(_) => aws::wait_for_function(lambda, id).await?,
            Err(e) if e.to_string().contains("NotFound") => return Ok(Outcome::AlreadyGone),
            Err(e) => return Err(e),
        }
    }
    if !calls.write(action("lambda:DeleteFunction")) {
        return Ok(Outcome::WouldDelete);
    }
    let outcome = gone_or(
        lambda.delete_function().function_name(id).send().await,
        "lambda:DeleteFunction",
    )?;
    let ec2 = &clients.ec2;
    let prefix = format!("AWS Lambda VPC ENI-{id}");
    aws::wait_for(
        &format!("Lambda to remove the network interfaces of {id} (up to 20 minutes on AWS)"),
        wait,
        || {
            let prefix = prefix.clone();
            async move {
                let out = ec2
                    .describe_network_interfaces()
                    .filters(
                        aws_sdk_ec2::types::Filter::builder()
                            .name("description")
                            .values(format!("{prefix}*"))
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| anyhow!("ec2:DescribeNetworkInterfaces: {}", aws::describe(&e)))?;
                Ok(out
                    .network_interfaces()
                    .iter()
                    .all(|eni| !eni.description().unwrap_or("").starts_with(&prefix))
                    .then_some(()))
            }
        },
    )
    .await
    .map_err(|e| {
        e.context(format!(
            "the function {id} is deleted but Lambda has not yet removed its network interfaces; its role is kept so that Lambda can; rerun `cargo xtask cleanup` later"
        ))
    })?;
    Ok(outcome)
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
