//! Security groups: the rules provision writes (the database's, the endpoints' and
//! the bastion's) and deploy writes (the database's rule for the function's group),
//! and how cleanup deletes a group.
//!
//! Every group is looked up one way, by VPC and group name ([`named_group`]):
//! provision's three and deploy's function group through [`run_group`] (a group of
//! that name without the run's tags is refused) and [`create_group`], the database's
//! group for deploy, and the VPC's default group that provision closes.
//!
//! Both commands write a rule the same way, so that a rerun is harmless: look at the
//! group first and write nothing when a rule already admits the source, and take
//! EC2's `InvalidPermission.Duplicate` as success, since a look can miss a rule that
//! is there (a deploy interrupted after `AuthorizeSecurityGroupIngress`, or EC2's
//! eventual consistency: "Eventual consistency in the Amazon EC2 API").

use anyhow::{Result, anyhow, bail};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
use aws_sdk_ec2::types::{
    IpPermission, IpRange, Ipv6Range, ResourceType, SecurityGroup, Tag, UserIdGroupPair,
};

use super::context::{Deployer, Provisioner, missing};
use super::deletion::{Deletion, Outcome, gone_or};
use super::ec2::discover_ec2;
use super::kind::{Clients, Kind, Resource};
use super::spec::{Plan, Spec};
use crate::aws::{self, Calls};
use crate::names::{self, Names};
use crate::tags::{filter, owns_ec2, tag_spec};

/// This kind's declaration: what makes it, what it depends on, how it is found,
/// created, made ready and deleted (its row of the table, `TABLE`).
pub(crate) const SPEC: Spec = Spec {
    kind: Kind::SecurityGroup,
    label: "security group",
    depends_on: &[Kind::Vpc],
    plan: Plan {
        found_by: "ec2:DescribeSecurityGroups by tags",
        create: "ec2:CreateSecurityGroup (endpoints, bastion, database; deploy adds the function's), AuthorizeSecurityGroupIngress (each rule checked)",
        ready: "",
        delete: "ec2:RevokeSecurityGroupIngress of rules naming other groups, ec2:DeleteSecurityGroup",
    },
    discover: Some(|clients, names, found| Box::pin(discover(clients, names, found))),
    delete: |d| Box::pin(delete(d)),
    provision: Some(|p| {
        Box::pin(async move {
            let my_ip = p.my_ip.clone();
            p.groups(&my_ip).await
        })
    }),
    deploy: Some(|d| Box::pin(d.function_group())),
};

/// Whether a group already admits `port` over TCP from `source` (a CIDR or a group id).
pub(crate) fn admits(group: &SecurityGroup, port: i32, source: &str) -> bool {
    group.ip_permissions().iter().any(|p| {
        p.ip_protocol() == Some("tcp")
            && p.from_port() == Some(port)
            && p.to_port() == Some(port)
            && (p.ip_ranges().iter().any(|r| r.cidr_ip() == Some(source))
                || p.ipv6_ranges()
                    .iter()
                    .any(|r| r.cidr_ipv6() == Some(source))
                || p.user_id_group_pairs()
                    .iter()
                    .any(|g| g.group_id() == Some(source)))
    })
}

/// The rule admitting TCP `port` from `source`: a group id (`sg-...`), an IPv6 CIDR
/// or an IPv4 CIDR.
pub(crate) fn tcp_permission(port: i32, source: &str) -> IpPermission {
    let permission = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port);
    if source.starts_with("sg-") {
        permission
            .user_id_group_pairs(UserIdGroupPair::builder().group_id(source).build())
            .build()
    } else if source.contains(':') {
        permission
            .ipv6_ranges(Ipv6Range::builder().cidr_ipv6(source).build())
            .build()
    } else {
        permission
            .ip_ranges(IpRange::builder().cidr_ip(source).build())
            .build()
    }
}

/// Whether `AuthorizeSecurityGroupIngress` failed only because the group already has
/// the rule: EC2 answers `InvalidPermission.Duplicate` then (EC2 API reference,
/// AuthorizeSecurityGroupIngress and "Error codes for the Amazon EC2 API"), and the
/// rule we asked for is there.
pub(crate) fn is_duplicate<E: ProvideErrorMetadata>(error: &E) -> bool {
    aws::code(error) == "InvalidPermission.Duplicate"
}

/// Admits TCP `port` from `source` (a CIDR or a group id) on `group`, unless a rule
/// already does; the write goes through `calls`, so a dry run only announces it. A
/// group made a moment ago may answer `NotFound` for a while, and is asked again.
pub(crate) async fn admit_tcp(
    ec2: &aws_sdk_ec2::Client,
    group: &str,
    port: i32,
    source: &str,
    calls: &mut Calls,
) -> Result<()> {
    let described = aws::after_create(|| ec2.describe_security_groups().group_ids(group).send())
        .await
        .map_err(|e| anyhow!("ec2:DescribeSecurityGroups {group}: {}", aws::describe(&e)))?;
    if described
        .security_groups()
        .first()
        .is_some_and(|g| admits(g, port, source))
        || !calls.write(format!(
            "ec2:AuthorizeSecurityGroupIngress {group} tcp {port} from {source}"
        ))
    {
        return Ok(());
    }
    authorize_tcp(ec2, group, port, source).await
}

/// `AuthorizeSecurityGroupIngress` of TCP `port` from `source` on `group`, without
/// looking first; a rule already there is success ([`is_duplicate`]).
pub async fn authorize_tcp(
    ec2: &aws_sdk_ec2::Client,
    group: &str,
    port: i32,
    source: &str,
) -> Result<()> {
    match aws::after_create(|| {
        ec2.authorize_security_group_ingress()
            .group_id(group)
            .ip_permissions(tcp_permission(port, source))
            .send()
    })
    .await
    {
        Ok(_) => Ok(()),
        Err(error) if is_duplicate(&error) => Ok(()),
        Err(error) => bail!(
            "ec2:AuthorizeSecurityGroupIngress {group} tcp {port} from {source}: {}",
            aws::describe(&error)
        ),
    }
}

/// Removes every rule of the VPC's default security group, so that it admits and
/// sends nothing (FSBP EC2.2, AWS Config `vpc-default-security-group-closed`); the
/// setup's resources all have groups of their own. Only for a VPC the run made: the
/// default group is created with it and deleted with it (Amazon VPC User Guide,
/// "Default security groups for your VPCs": "You can't delete a default security
/// group"; it goes when its VPC is deleted), so cleanup is unchanged. A rerun finds
/// no rule and writes nothing. Rules are revoked by id
/// (`RevokeSecurityGroupIngress`/`Egress` with `SecurityGroupRuleIds`), which needs
/// no copy of each rule's peers.
pub(crate) async fn close_default_group(
    ec2: &aws_sdk_ec2::Client,
    vpc: &str,
    calls: &mut Calls,
) -> Result<()> {
    let group = default_group_of(ec2, vpc).await?;
    let rules: Vec<aws_sdk_ec2::types::SecurityGroupRule> = ec2
        .describe_security_group_rules()
        .filters(filter("group-id", &group))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| {
            anyhow!(
                "ec2:DescribeSecurityGroupRules {group}: {}",
                aws::describe(&e)
            )
        })?;
    let (egress, ingress): (Vec<_>, Vec<_>) = rules
        .iter()
        .filter(|r| r.group_id() == Some(group.as_str()))
        .partition(|r| r.is_egress() == Some(true));
    for (direction, rules) in [(Direction::Inbound, ingress), (Direction::Outbound, egress)] {
        let ids: Vec<String> = rules
            .iter()
            .filter_map(|r| r.security_group_rule_id().map(str::to_owned))
            .collect();
        revoke_by_id(ec2, &group, vpc, direction, ids, calls).await?;
    }
    Ok(())
}

/// The VPC's default group. A VPC just made may not show it yet, and a filtered
/// Describe then answers an empty list, not NotFound (EC2 API reference,
/// "Eventual consistency in the Amazon EC2 API"), so the empty answer is what is
/// waited out.
async fn default_group_of(ec2: &aws_sdk_ec2::Client, vpc: &str) -> Result<String> {
    aws::wait_for(
        &format!("the default security group of {vpc}"),
        std::time::Duration::from_mins(1),
        || async {
            let group = named_group(ec2, vpc, "default").await?;
            Ok(group.and_then(|g| g.group_id))
        },
    )
    .await
}

/// The group named `name` in `vpc`, if there is one (`ec2:DescribeSecurityGroups`
/// by VPC and group name): the one lookup of a group that provision, deploy and
/// closing the default group share. A VPC made a moment ago may answer `NotFound`
/// for a while, and is asked again.
async fn named_group(
    ec2: &aws_sdk_ec2::Client,
    vpc: &str,
    name: &str,
) -> Result<Option<SecurityGroup>> {
    let found = aws::after_create(|| {
        ec2.describe_security_groups()
            .filters(filter("vpc-id", vpc))
            .filters(filter("group-name", name))
            .send()
    })
    .await
    .map_err(|e| {
        anyhow!(
            "ec2:DescribeSecurityGroups {name} in {vpc}: {}",
            aws::describe(&e)
        )
    })?;
    Ok(found.security_groups.unwrap_or_default().into_iter().next())
}

/// The id of the run's group `name` in `vpc`, or `None` when the VPC has no group of
/// that name; one of that name without the run's tags is someone else's, and an
/// error.
async fn run_group(
    ec2: &aws_sdk_ec2::Client,
    names: &Names,
    vpc: &str,
    name: &str,
) -> Result<Option<String>> {
    let Some(group) = named_group(ec2, vpc, name).await? else {
        return Ok(None);
    };
    let id = group.group_id().unwrap_or_default();
    if !owns_ec2(names, group.tags()) {
        bail!(
            "security group {name} ({id}) exists in {vpc} without the run's tags; delete it or choose another --name"
        );
    }
    Ok(Some(id.to_owned()))
}

/// Creates the run's group `name` in `vpc`, tagged, and answers its id. A VPC made a
/// moment ago may answer `NotFound` for a while, and is asked again.
async fn create_group(
    ec2: &aws_sdk_ec2::Client,
    names: &Names,
    vpc: &str,
    name: &str,
    description: &str,
) -> Result<String> {
    let spec = tag_spec(names, ResourceType::SecurityGroup, name);
    let created = aws::after_create(|| {
        ec2.create_security_group()
            .group_name(name)
            .description(description)
            .vpc_id(vpc)
            .tag_specifications(spec.clone())
            .send()
    })
    .await
    .map_err(|e| anyhow!("ec2:CreateSecurityGroup {name}: {}", aws::describe(&e)))?;
    Ok(created
        .group_id()
        .ok_or_else(|| anyhow!("ec2:CreateSecurityGroup {name}: no id returned"))?
        .to_owned())
}

#[derive(Clone, Copy)]
enum Direction {
    Inbound,
    Outbound,
}

/// Revokes these rules of the default group by id (none: nothing is written).
async fn revoke_by_id(
    ec2: &aws_sdk_ec2::Client,
    group: &str,
    vpc: &str,
    direction: Direction,
    ids: Vec<String>,
    calls: &mut Calls,
) -> Result<()> {
    let (action, rules, effect) = match direction {
        Direction::Inbound => (
            "ec2:RevokeSecurityGroupIngress",
            "inbound",
            "the default group admits nothing",
        ),
        Direction::Outbound => (
            "ec2:RevokeSecurityGroupEgress",
            "outbound",
            "the default group lets nothing out",
        ),
    };
    let listed = ids.join(", ");
    if ids.is_empty()
        || !calls.write(format!(
            "{action} {group} (default group of {vpc}) {listed}"
        ))
    {
        return Ok(());
    }
    let sent = match direction {
        Direction::Inbound => ec2
            .revoke_security_group_ingress()
            .group_id(group)
            .set_security_group_rule_ids(Some(ids))
            .send()
            .await
            .map(drop)
            .map_err(|e| (aws::is_not_found(&e), aws::describe(&e))),
        Direction::Outbound => ec2
            .revoke_security_group_egress()
            .group_id(group)
            .set_security_group_rule_ids(Some(ids))
            .send()
            .await
            .map(drop)
            .map_err(|e| (aws::is_not_found(&e), aws::describe(&e))),
    };
    match sent {
        // A rule already gone (`InvalidSecurityGroupRuleId.NotFound`, e.g. revoked by a
        // concurrent run or by hand since it was listed) is what was asked for.
        Err((true, _)) => return Ok(()),
        Err((false, e)) => bail!("{action} {group} (default group of {vpc}): {e}"),
        Ok(()) => {}
    }
    aws::say(&format!(
        "default security group {group} of {vpc}: {rules} rules {listed} revoked ({effect})"
    ));
    Ok(())
}

/// Revokes the group's rules that name other groups (so that groups in a cycle can
/// be deleted), then `ec2:DeleteSecurityGroup`, retried while what uses the group is
/// being released.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let resource = d.resource;
    let (ec2, id) = (&d.clients.ec2, resource.id.as_str());
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
                && d.write(&format!(
                    "ec2:RevokeSecurityGroupIngress (rules from {})",
                    resource.refers_to.join(",")
                ))
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
    d.patiently("ec2:DeleteSecurityGroup", || {
        ec2.delete_security_group().group_id(id).send()
    })
    .await
}

impl Provisioner<'_> {
    /// The three groups provision makes, their rules that need no database, and the
    /// VPC's default group closed.
    pub(crate) async fn groups(&mut self, my_ip: &str) -> Result<()> {
        let endpoint_group = self
            .group(
                &self.names.endpoint_group.clone(),
                "HTTPS to the Secrets Manager and RDS endpoints from the VPC",
            )
            .await?;
        self.state.endpoint_group.clone_from(&endpoint_group);
        self.ingress(&endpoint_group, 443, names::VPC_CIDR).await?;
        let bastion_group = self
            .group(
                &self.names.bastion_group.clone(),
                "SSH to the bastion from one address",
            )
            .await?;
        self.state.bastion_group.clone_from(&bastion_group);
        self.ingress(&bastion_group, 22, my_ip).await?;
        let database_group = self
            .group(
                &self.names.database_group.clone(),
                "MySQL from the bastion and the rotation function only",
            )
            .await?;
        self.state.database_group = database_group;
        // The VPC's own default group: closed, since nothing of the setup uses it.
        let mut calls = aws::Calls::new(false);
        close_default_group(&self.ec2, &self.state.vpc_id, &mut calls).await
    }

    /// Finds the run's group `name` in the VPC, or creates it.
    pub(crate) async fn group(&mut self, name: &str, description: &str) -> Result<String> {
        let (ec2, vpc) = (&self.ec2, self.state.vpc_id.as_str());
        let (id, created) = match run_group(ec2, self.names, vpc, name).await? {
            Some(id) => (id, false),
            None => (
                create_group(ec2, self.names, vpc, name, description).await?,
                true,
            ),
        };
        self.note("security group", &format!("{id} {name}"), created);
        Ok(id)
    }

    /// Admits TCP `port` from `source` on `group` unless a rule already does.
    pub(crate) async fn ingress(&mut self, group: &str, port: i32, source: &str) -> Result<()> {
        // Provision has no dry run of its own (its plan is `provision::plan`).
        let mut calls = aws::Calls::new(false);
        admit_tcp(&self.ec2, group, port, source, &mut calls).await
    }
}

/// The database's security group in the VPC, by its name, kept only when tagged as the run's.
pub(crate) async fn find_database_group(
    ec2: &aws_sdk_ec2::Client,
    names: &Names,
    vpc_id: &str,
) -> Result<String> {
    let group = named_group(ec2, vpc_id, &names.database_group).await?;
    group
        .filter(|g| owns_ec2(names, g.tags()))
        .and_then(|g| g.group_id)
        .ok_or_else(|| missing(names, &format!("security group {}", names.database_group)))
}

/// The function's own group in the VPC: the run's, or created (through `calls`, so a
/// dry run only announces it and answers a placeholder id).
pub(crate) async fn rotation_group(
    ec2: &aws_sdk_ec2::Client,
    names: &Names,
    vpc_id: &str,
    calls: &mut Calls,
) -> Result<String> {
    let name = &names.rotation_group;
    if let Some(id) = run_group(ec2, names, vpc_id, name).await? {
        return Ok(id);
    }
    if !calls.write(format!("ec2:CreateSecurityGroup {name} in {vpc_id}")) {
        return Ok(format!("<new group {name}>"));
    }
    let description = "The rotation function; the database admits it";
    create_group(ec2, names, vpc_id, name, description).await
}

impl Deployer<'_> {
    /// Deploy's step of this kind: the function's own security group, admitted by
    /// the database's.
    pub(crate) async fn function_group(&mut self) -> Result<()> {
        let names = self.names;
        self.rotation_group =
            rotation_group(&self.ec2, names, &self.found.vpc_id, &mut self.calls).await?;
        self.note(&format!(
            "security group {} {}",
            self.rotation_group, names.rotation_group
        ));
        admit_tcp(
            &self.ec2,
            &self.found.database_group,
            self.found.db_port,
            &self.rotation_group,
            &mut self.calls,
        )
        .await
    }
}

/// The run's security groups by their tags (the VPC's default group never), each
/// with the groups its rules name (discovery).
pub(crate) async fn discover(
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
    let ec2 = &clients.ec2;
    let describe = |filters| ec2.describe_security_groups().set_filters(filters).send();
    discover_ec2(names, found, "ec2:DescribeSecurityGroups", describe, listed).await
}

/// Each group of a `DescribeSecurityGroups` answer, with its tags, but a VPC's default
/// group (it goes with its VPC); by id, named by its name, with the other groups its
/// rules name (cleanup revokes those rules first).
fn listed(answer: &DescribeSecurityGroupsOutput) -> Vec<(&[Tag], Resource)> {
    let groups = answer.security_groups().iter();
    groups
        .filter(|group| group.group_name() != Some("default"))
        .map(|group| {
            let id = group.group_id();
            let name = group.group_name().unwrap_or_default();
            let mut resource = Resource::new(Kind::SecurityGroup, id.unwrap_or_default(), name);
            resource.refers_to = group
                .ip_permissions()
                .iter()
                .flat_map(IpPermission::user_id_group_pairs)
                .filter_map(|pair| pair.group_id().map(str::to_owned))
                .filter(|other| Some(other.as_str()) != id)
                .collect();
            (group.tags(), resource)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_admits_only_what_its_rules_say() {
        let group = SecurityGroup::builder()
            .ip_permissions(tcp_permission(22, "203.0.113.10/32"))
            .ip_permissions(tcp_permission(3306, "sg-123"))
            .ip_permissions(tcp_permission(443, "2001:db8::/64"))
            .build();
        let cases = [
            (22, "203.0.113.10/32", true),
            (22, "203.0.113.11/32", false),
            (3306, "sg-123", true),
            (3306, "sg-456", false),
            (3307, "sg-123", false),
            (443, "2001:db8::/64", true),
            (443, "2001:db8:1::/64", false),
        ];
        for (port, source, expected) in cases {
            assert_eq!(admits(&group, port, source), expected, "{port} {source}");
        }
    }

    #[test]
    fn only_a_duplicate_rule_counts_as_already_admitted() {
        use aws_sdk_ec2::error::ErrorMetadata;
        use aws_sdk_ec2::operation::authorize_security_group_ingress::AuthorizeSecurityGroupIngressError;
        let cases = [
            ("InvalidPermission.Duplicate", true),
            ("InvalidPermission.Malformed", false),
            ("InvalidGroup.NotFound", false),
            ("RulesPerSecurityGroupLimitExceeded", false),
            ("UnauthorizedOperation", false),
        ];
        for (code, expected) in cases {
            let error = AuthorizeSecurityGroupIngressError::generic(
                ErrorMetadata::builder()
                    .code(code)
                    .message("from the test")
                    .build(),
            );
            assert_eq!(is_duplicate(&error), expected, "{code}");
        }
    }
}
