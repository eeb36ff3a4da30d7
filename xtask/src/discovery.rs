//! What the run's tags find: every resource of the run, read-only.
//!
//! Cleanup deletes what this finds, and provision's dry run plans from it. A
//! resource counts only when it carries both the project's tag and the run's tag: a
//! name alone never qualifies (IAM roles and Lambda functions are looked up by name
//! and then kept only if their tags say they are ours).

use anyhow::{Result, anyhow};
use aws_config::SdkConfig;
use aws_sdk_ec2::types::Filter;

use crate::aws;
use crate::names::Names;
pub use crate::resources::Resource;
use crate::resources::kms_key::Lookup;
use crate::resources::{Clients, Kind, Planned};
use crate::tags::{owns_ec2, run_filters};

/// What `found` means for one command: for each kind of `kinds`, the ids found, as
/// [`crate::resources::plan`] prints them.
pub fn planned(found: &[Resource], kinds: &[Kind]) -> Vec<Planned> {
    kinds
        .iter()
        .map(|kind| Planned {
            kind: *kind,
            found: found
                .iter()
                .filter(|r| r.kind == *kind)
                .map(|r| {
                    if r.name.is_empty() || r.name == r.id {
                        r.id.clone()
                    } else {
                        format!("{} {}", r.id, r.name)
                    }
                })
                .collect(),
        })
        .collect()
}

fn ec2_name(tags: &[aws_sdk_ec2::types::Tag]) -> String {
    tags.iter()
        .find(|t| t.key() == Some("Name"))
        .and_then(|t| t.value())
        .unwrap_or("")
        .to_owned()
}

/// Every resource carrying the run's tags (read-only).
pub async fn discover(config: &SdkConfig, names: &Names) -> Result<Vec<Resource>> {
    discover_with(&Clients::new(config), names).await
}

pub(crate) async fn discover_with(clients: &Clients, names: &Names) -> Result<Vec<Resource>> {
    let mut found = Vec::new();
    // Secrets (and their rotation).
    find_secrets(clients, names, &mut found).await?;
    // The function and the role: looked up by name, kept only when tagged as ours.
    find_by_name(clients, names, &mut found).await?;
    // RDS.
    find_rds(clients, names, &mut found).await?;
    // The secret's KMS key, by its alias and tags; a key of someone else's under the
    // same alias is skipped (never deleted), as a parameter group of the same name is.
    match crate::resources::kms_key::lookup(&clients.kms, names).await? {
        Lookup::Ours(key) => {
            found.push(Resource::new(Kind::KmsKey, key.key_id(), &names.kms_alias));
        }
        Lookup::Foreign(key_id) => aws::say(&format!(
            "warning: KMS alias {} names key {key_id} without the run's tags; left alone",
            names.kms_alias
        )),
        // Already pending deletion: nothing left to do for cleanup.
        Lookup::Missing | Lookup::Pending { .. } => {}
    }
    // EC2, by tag filters (and the tags checked again).
    let filters = run_filters(names);
    find_ec2_hosts(&clients.ec2, names, &filters, &mut found).await?;
    find_ec2_network(&clients.ec2, names, filters, &mut found).await?;
    Ok(found)
}

/// The run's secrets, and the rotation of each that has one.
async fn find_secrets(clients: &Clients, names: &Names, found: &mut Vec<Resource>) -> Result<()> {
    let err = |call: &str, e: String| anyhow!("{call}: {e}");
    let mut token = None;
    loop {
        let page = clients
            .secrets
            .list_secrets()
            .filters(
                aws_sdk_secretsmanager::types::Filter::builder()
                    .key(aws_sdk_secretsmanager::types::FilterNameStringType::TagValue)
                    .values(&names.run)
                    .build(),
            )
            // Without it, ListSecrets hides secrets scheduled for deletion (ListSecrets API
            // reference), which `--force-delete-secrets` must still find.
            .include_planned_deletion(true)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| err("secretsmanager:ListSecrets", aws::describe(&e)))?;
        for secret in page.secret_list() {
            let tags = secret
                .tags()
                .iter()
                .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")));
            // A secret another service owns (the RDS-managed admin secret, which RDS tags
            // like its instance) is that service's to delete: RDS deletes it with the
            // instance, and Secrets Manager refuses DeleteSecret on it.
            if !names.owns(tags) || secret.owning_service().is_some() {
                continue;
            }
            let (Some(arn), Some(name)) = (secret.arn(), secret.name()) else {
                continue;
            };
            let scheduled = secret.deleted_date().is_some();
            if secret.rotation_enabled() == Some(true) && !scheduled {
                found.push(Resource::new(Kind::Rotation, arn, name));
            }
            let mut resource = Resource::new(Kind::Secret, arn, name);
            resource.scheduled_for_deletion = scheduled;
            found.push(resource);
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(())
}

/// The function, its log group and the role, looked up by name.
async fn find_by_name(clients: &Clients, names: &Names, found: &mut Vec<Resource>) -> Result<()> {
    let err = |call: &str, e: String| anyhow!("{call}: {e}");
    match clients
        .lambda
        .get_function_configuration()
        .function_name(&names.function)
        .send()
        .await
    {
        Ok(out) => {
            // GetFunction returns tags only to a caller allowed lambda:ListTags, and
            // silently omits them otherwise; ListTags fails loudly instead.
            let arn = out.function_arn().unwrap_or(&names.function).to_owned();
            let tags = clients
                .lambda
                .list_tags()
                .resource(&arn)
                .send()
                .await
                .map_err(|e| err("lambda:ListTags", aws::describe(&e)))?;
            let tags = tags.tags().into_iter().flatten();
            if names.owns(tags.map(|(k, v)| (k.as_str(), v.as_str()))) {
                found.push(Resource::new(
                    Kind::Function,
                    &names.function,
                    &names.function,
                ));
            }
        }
        Err(e) if aws::is_not_found(&e) => {}
        Err(e) => return Err(err("lambda:GetFunctionConfiguration", aws::describe(&e))),
    }
    let group = format!("/aws/lambda/{}", names.function);
    #[allow(deprecated)] // ListTagsForResource needs the group's ARN; this takes its name
    match clients
        .logs
        .list_tags_log_group()
        .log_group_name(&group)
        .send()
        .await
    {
        Ok(out) => {
            let tags = out.tags().into_iter().flatten();
            if names.owns(tags.map(|(k, v)| (k.as_str(), v.as_str()))) {
                found.push(Resource::new(Kind::LogGroup, &group, &group));
            }
        }
        Err(e) if aws::is_not_found(&e) => {}
        Err(e) => return Err(err("logs:ListTagsLogGroup", aws::describe(&e))),
    }
    match clients.iam.get_role().role_name(&names.role).send().await {
        Ok(out) => {
            // IAM is global: a role that serves this run in another region stays.
            let region = clients.iam.config().region().map(ToString::to_string);
            if out.role().is_some_and(|r| {
                let tags = || r.tags().iter().map(|t| (t.key(), t.value()));
                names.owns(tags())
                    && Names::role_serves_other_region(tags(), region.as_deref().unwrap_or(""))
                        .is_none()
            }) {
                found.push(Resource::new(Kind::Role, &names.role, &names.role));
            }
        }
        Err(e) if aws::is_not_found(&e) => {}
        Err(e) => return Err(err("iam:GetRole", aws::describe(&e))),
    }
    Ok(())
}

/// The DB instance, the DB subnet group and the DB parameter group.
async fn find_rds(clients: &Clients, names: &Names, found: &mut Vec<Resource>) -> Result<()> {
    let err = |call: &str, e: String| anyhow!("{call}: {e}");
    let mut marker = None;
    loop {
        let page = clients
            .rds
            .describe_db_instances()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| err("rds:DescribeDBInstances", aws::describe(&e)))?;
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
    match clients
        .rds
        .describe_db_subnet_groups()
        .db_subnet_group_name(&names.db_subnet_group)
        .send()
        .await
    {
        Ok(out) => {
            for group in out.db_subnet_groups() {
                let Some(arn) = group.db_subnet_group_arn() else {
                    continue;
                };
                if crate::tags::owns_rds(&clients.rds, names, arn).await? {
                    found.push(Resource::new(
                        Kind::DbSubnetGroup,
                        &names.db_subnet_group,
                        &names.db_subnet_group,
                    ));
                }
            }
        }
        Err(e) if aws::is_not_found(&e) => {}
        Err(e) => return Err(err("rds:DescribeDBSubnetGroups", aws::describe(&e))),
    }
    find_parameter_group(clients, names, found).await
}

/// The run's DB parameter group, by name, kept only with the run's tags (a group of
/// the same name made by someone else is never deleted).
async fn find_parameter_group(
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
    let err = |call: &str, e: String| anyhow!("{call}: {e}");
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
        Err(e) => return Err(err("rds:DescribeDBParameterGroups", aws::describe(&e))),
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

/// The bastion, its key pair, the endpoints and the security groups.
async fn find_ec2_hosts(
    ec2: &aws_sdk_ec2::Client,
    names: &Names,
    filters: &[Filter],
    found: &mut Vec<Resource>,
) -> Result<()> {
    let ours = |tags: &[aws_sdk_ec2::types::Tag]| owns_ec2(names, tags);
    let err = |call: &str, e: String| anyhow!("{call}: {e}");
    let instances = ec2
        .describe_instances()
        .set_filters(Some(filters.to_vec()))
        .send()
        .await
        .map_err(|e| err("ec2:DescribeInstances", aws::describe(&e)))?;
    for instance in instances
        .reservations()
        .iter()
        .flat_map(aws_sdk_ec2::types::Reservation::instances)
    {
        let state = instance
            .state()
            .and_then(|s| s.name())
            .map(|s| s.as_str().to_owned());
        if ours(instance.tags())
            && !matches!(state.as_deref(), Some("terminated" | "shutting-down"))
        {
            found.push(Resource::new(
                Kind::Instance,
                instance.instance_id().unwrap_or_default(),
                ec2_name(instance.tags()),
            ));
        }
    }
    let pairs = ec2
        .describe_key_pairs()
        .set_filters(Some(filters.to_vec()))
        .send()
        .await
        .map_err(|e| err("ec2:DescribeKeyPairs", aws::describe(&e)))?;
    for pair in pairs.key_pairs() {
        if ours(pair.tags()) {
            let name = pair.key_name().unwrap_or_default();
            found.push(Resource::new(Kind::KeyPair, name, name));
        }
    }
    let endpoints = ec2
        .describe_vpc_endpoints()
        .set_filters(Some(filters.to_vec()))
        .send()
        .await
        .map_err(|e| err("ec2:DescribeVpcEndpoints", aws::describe(&e)))?;
    for endpoint in endpoints.vpc_endpoints() {
        let state = endpoint
            .state()
            .map(|s| s.as_str().to_ascii_lowercase())
            .unwrap_or_default();
        if ours(endpoint.tags()) && state != "deleted" && state != "deleting" {
            found.push(Resource::new(
                Kind::VpcEndpoint,
                endpoint.vpc_endpoint_id().unwrap_or_default(),
                endpoint.service_name().unwrap_or_default(),
            ));
        }
    }
    let groups = ec2
        .describe_security_groups()
        .set_filters(Some(filters.to_vec()))
        .send()
        .await
        .map_err(|e| err("ec2:DescribeSecurityGroups", aws::describe(&e)))?;
    for group in groups.security_groups() {
        if ours(group.tags()) && group.group_name() != Some("default") {
            let mut resource = Resource::new(
                Kind::SecurityGroup,
                group.group_id().unwrap_or_default(),
                group.group_name().unwrap_or_default(),
            );
            resource.refers_to = group
                .ip_permissions()
                .iter()
                .flat_map(aws_sdk_ec2::types::IpPermission::user_id_group_pairs)
                .filter_map(|pair| pair.group_id().map(str::to_owned))
                .filter(|id| Some(id.as_str()) != group.group_id())
                .collect();
            found.push(resource);
        }
    }
    Ok(())
}

/// The subnets, the route table, the internet gateway and the VPC.
async fn find_ec2_network(
    ec2: &aws_sdk_ec2::Client,
    names: &Names,
    filters: Vec<Filter>,
    found: &mut Vec<Resource>,
) -> Result<()> {
    let ours = |tags: &[aws_sdk_ec2::types::Tag]| owns_ec2(names, tags);
    let err = |call: &str, e: String| anyhow!("{call}: {e}");
    let subnets = ec2
        .describe_subnets()
        .set_filters(Some(filters.clone()))
        .send()
        .await
        .map_err(|e| err("ec2:DescribeSubnets", aws::describe(&e)))?;
    for subnet in subnets.subnets() {
        if ours(subnet.tags()) {
            found.push(Resource::new(
                Kind::Subnet,
                subnet.subnet_id().unwrap_or_default(),
                ec2_name(subnet.tags()),
            ));
        }
    }
    let tables = ec2
        .describe_route_tables()
        .set_filters(Some(filters.clone()))
        .send()
        .await
        .map_err(|e| err("ec2:DescribeRouteTables", aws::describe(&e)))?;
    for table in tables.route_tables() {
        let main = table.associations().iter().any(|a| a.main() == Some(true));
        if ours(table.tags()) && !main {
            found.push(Resource::new(
                Kind::RouteTable,
                table.route_table_id().unwrap_or_default(),
                ec2_name(table.tags()),
            ));
        }
    }
    let gateways = ec2
        .describe_internet_gateways()
        .set_filters(Some(filters.clone()))
        .send()
        .await
        .map_err(|e| err("ec2:DescribeInternetGateways", aws::describe(&e)))?;
    for gateway in gateways.internet_gateways() {
        if ours(gateway.tags()) {
            found.push(Resource::new(
                Kind::InternetGateway,
                gateway.internet_gateway_id().unwrap_or_default(),
                ec2_name(gateway.tags()),
            ));
        }
    }
    let vpcs = ec2
        .describe_vpcs()
        .set_filters(Some(filters))
        .send()
        .await
        .map_err(|e| err("ec2:DescribeVpcs", aws::describe(&e)))?;
    for vpc in vpcs.vpcs() {
        if ours(vpc.tags()) {
            found.push(Resource::new(
                Kind::Vpc,
                vpc.vpc_id().unwrap_or_default(),
                ec2_name(vpc.tags()),
            ));
        }
    }
    Ok(())
}
