//! The differential test's mutations: each one real configuration change of the
//! tutorial's setup, made through the AWS SDK as an operator (or an attacker, or a
//! hurried colleague) would make it.
//!
//! An operator never says whether the rotation survives it: the emulator decides
//! that by rotating. It says only what no rotation can show: the verdicts it must
//! draw from checks about safety (a public rule, a schedule), and which checks of the
//! rotation path it fails for such a reason ([`Operator::fails_for_safety`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use anyhow::{Context as _, Result, anyhow};
use audit::Status;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, IpPermission, IpRange, PortRange, RuleAction, UserIdGroupPair,
};
use serde_json::{Value, json};

use crate::aws::describe;
use crate::fuzz::Setup;

/// What an operator's change does, as a future borrowing the setup.
pub type Change<'a> = Pin<Box<dyn Future<Output = Result<String>> + Send + 'a>>;

/// One mutation of the catalogue: the change and what it means for the audit.
#[derive(Clone, Copy)]
pub struct Operator {
    pub name: &'static str,
    /// What it changes, for the table.
    pub family: &'static str,
    /// The setting it changes: a case draws at most one operator per slot, so that
    /// no mutation undoes or breaks another (two revokes of one rule, two policies
    /// under one name).
    pub slot: &'static str,
    /// Makes the change and says what it did.
    pub apply: for<'a> fn(&'a Setup) -> Change<'a>,
    /// Verdicts of checks no rotation can confirm that must follow.
    pub expect: &'static [(&'static str, Status)],
    /// Rotation-path checks this mutation fails for a reason of safety, not of the
    /// rotation (a database open to the world still admits the function): their FAIL
    /// is no prediction about the rotation. Each is also in `expect` as a FAIL.
    pub fails_for_safety: &'static [&'static str],
}

impl fmt::Debug for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

const fn op(
    name: &'static str,
    family: &'static str,
    slot: &'static str,
    apply: for<'a> fn(&'a Setup) -> Change<'a>,
) -> Operator {
    Operator {
        name,
        family,
        slot,
        apply,
        expect: &[],
        fails_for_safety: &[],
    }
}

const DB_INGRESS: &str = "database security group";
const EGRESS: &str = "function security group";
const ENDPOINT_INGRESS: &str = "endpoint security group";
const ENDPOINTS: &str = "interface endpoints";
const NACL: &str = "network ACLs";
const FUNCTION: &str = "function";
const ROLE: &str = "role";
const SECRET: &str = "secret";
const BASTION_ONLY_FAILS: &[(&str, Status)] = &[("rds.ingress.bastion-only", Status::Fail)];

/// Every mutation, in the order the table prints them.
pub const CATALOGUE: &[Operator] = &[
    op(
        "db-ingress-revoke-function",
        DB_INGRESS,
        "db-ingress",
        |s| Box::pin(revoke_db_from_function(s)),
    ),
    Operator {
        expect: BASTION_ONLY_FAILS,
        fails_for_safety: &["rds.ingress.bastion-only"],
        ..op(
            "db-ingress-open-world",
            DB_INGRESS,
            "db-ingress-world",
            |s| {
                Box::pin(ingress(
                    s,
                    &s.state.database_group,
                    tcp(s.db_port(), "0.0.0.0/0"),
                ))
            },
        )
    },
    op(
        "db-ingress-function-wrong-port",
        DB_INGRESS,
        "db-ingress",
        |s| Box::pin(db_from_function_instead(s, DbRule::WrongPort)),
    ),
    op(
        "db-ingress-function-all-traffic",
        DB_INGRESS,
        "db-ingress",
        |s| Box::pin(db_from_function_instead(s, DbRule::AllTraffic)),
    ),
    Operator {
        // The VPC's whole range may reach the database: not the bastion only.
        expect: BASTION_ONLY_FAILS,
        fails_for_safety: &["rds.ingress.bastion-only"],
        ..op(
            "db-ingress-function-subnet-cidr",
            DB_INGRESS,
            "db-ingress",
            |s| Box::pin(db_from_function_instead(s, DbRule::VpcRange)),
        )
    },
    op(
        "db-ingress-function-port-range",
        DB_INGRESS,
        "db-ingress",
        |s| Box::pin(db_from_function_instead(s, DbRule::PortRange)),
    ),
    op("function-egress-none", EGRESS, "function-egress", |s| {
        Box::pin(revoke_all_egress(s))
    }),
    op(
        "function-egress-https-only",
        EGRESS,
        "function-egress",
        |s| Box::pin(egress_only(s, 443, "0.0.0.0/0")),
    ),
    op(
        "function-egress-database-only",
        EGRESS,
        "function-egress",
        |s| Box::pin(egress_only(s, s.db_port(), &s.vpc_cidr)),
    ),
    op(
        "endpoint-ingress-revoke-https",
        ENDPOINT_INGRESS,
        "endpoint-ingress",
        |s| Box::pin(revoke_endpoint_https(s)),
    ),
    op(
        "endpoint-ingress-vpc-cidr",
        ENDPOINT_INGRESS,
        "endpoint-ingress",
        |s| Box::pin(endpoint_https_from_vpc(s)),
    ),
    op(
        "endpoint-delete-secretsmanager",
        ENDPOINTS,
        "secretsmanager-endpoint",
        |s| Box::pin(delete_endpoint(s, "secretsmanager")),
    ),
    op("endpoint-delete-rds", ENDPOINTS, "rds-endpoint", |s| {
        Box::pin(delete_endpoint(s, "rds"))
    }),
    op(
        "endpoint-private-dns-off",
        ENDPOINTS,
        "secretsmanager-endpoint",
        |s| Box::pin(private_dns_off(s)),
    ),
    op(
        "endpoint-policy-deny-put-secret-value",
        ENDPOINTS,
        "secretsmanager-endpoint",
        |s| {
            Box::pin(endpoint_policy(
                s,
                json!({"Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
                    {"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:PutSecretValue", "Resource": "*"}
                ]}),
            ))
        },
    ),
    Operator {
        expect: &[("vpc.endpoint-policy", Status::Fail)],
        fails_for_safety: &["vpc.endpoint-policy"],
        ..op(
            "endpoint-policy-other-account",
            ENDPOINTS,
            "secretsmanager-endpoint",
            |s| {
                Box::pin(endpoint_policy(
                    s,
                    json!({"Statement": [
                        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "*", "Resource": "*"},
                        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{}:root", s.account)}, "Action": "*", "Resource": "*"}
                    ]}),
                ))
            },
        )
    },
    op("vpc-dns-support-off", "VPC DNS", "vpc-dns-support", |s| {
        Box::pin(vpc_dns_off(s, VpcDns::Support))
    }),
    op(
        "vpc-dns-hostnames-off",
        "VPC DNS",
        "vpc-dns-hostnames",
        |s| Box::pin(vpc_dns_off(s, VpcDns::Hostnames)),
    ),
    op(
        "nacl-deny-database-port-in",
        NACL,
        "nacl-ingress-rule-1",
        |s| Box::pin(nacl_deny(s, false, s.db_port(), s.db_port())),
    ),
    op("nacl-deny-ephemeral-out", NACL, "nacl-egress-rule-1", |s| {
        Box::pin(nacl_deny(s, true, 1024, 65535))
    }),
    op("nacl-deny-https-out", NACL, "nacl-egress-rule-1", |s| {
        Box::pin(nacl_deny(s, true, 443, 443))
    }),
    op("function-outside-vpc", FUNCTION, "function-network", |s| {
        Box::pin(function_network(s, Vec::new(), Vec::new()))
    }),
    Operator {
        // The database still admits the function's former group, now no one's.
        expect: BASTION_ONLY_FAILS,
        fails_for_safety: &["rds.ingress.bastion-only"],
        ..op(
            "function-bastion-group",
            FUNCTION,
            "function-network",
            |s| {
                Box::pin(function_network(
                    s,
                    s.state.private_subnets.clone(),
                    vec![s.state.bastion_group.clone()],
                ))
            },
        )
    },
    op(
        "lambda-permission-removed",
        FUNCTION,
        "invoke-permission",
        |s| Box::pin(remove_invoke_permission(s)),
    ),
    op(
        "lambda-permission-wrong-account",
        FUNCTION,
        "invoke-permission",
        |s| Box::pin(invoke_from_other_account(s)),
    ),
    op(
        "role-deny-get-secret-value",
        ROLE,
        "role-extra-policy",
        |s| {
            Box::pin(role_inline(
                s,
                json!({"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": s.state.secret_arn}),
            ))
        },
    ),
    op("role-policy-deleted", ROLE, "role-policy", |s| {
        Box::pin(delete_role_policy(s))
    }),
    op(
        "role-boundary-without-put-secret-value",
        ROLE,
        "role-boundary",
        |s| Box::pin(boundary(s)),
    ),
    op("role-deny-not-action", ROLE, "role-extra-policy", |s| {
        Box::pin(role_inline(
            s,
            json!({"Effect": "Deny", "NotAction": ["secretsmanager:*", "logs:*", "ec2:*"], "Resource": "*"}),
        ))
    }),
    op("role-wrong-secret-resource", ROLE, "role-policy", |s| {
        Box::pin(role_policy_names_another_secret(s))
    }),
    op("secret-policy-deny-role", SECRET, "secret-policy", |s| {
        Box::pin(secret_policy(
            s,
            json!({"Effect": "Deny", "Principal": {"AWS": s.role_arn}, "Action": "secretsmanager:PutSecretValue", "Resource": "*"}),
        ))
    }),
    Operator {
        expect: &[("secret.policy.not-public", Status::Fail)],
        ..op("secret-policy-public-read", SECRET, "secret-policy", |s| {
            Box::pin(secret_policy(
                s,
                json!({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}),
            ))
        })
    },
    op(
        "secret-key-not-delegated",
        SECRET,
        "role-extra-policy",
        |s| Box::pin(key_not_delegated(s)),
    ),
    Operator {
        expect: &[("secret.rotation.schedule", Status::Fail)],
        ..op("schedule-monthly", "schedule", "schedule", |s| {
            Box::pin(schedule_monthly(s))
        })
    },
    Operator {
        expect: &[("rds.not-public", Status::Fail)],
        ..op("database-public", "database", "database-access", |s| {
            Box::pin(database_public(s))
        })
    },
];

/// Finds an operator by name.
pub fn by_name(name: &str) -> Option<Operator> {
    CATALOGUE.iter().copied().find(|o| o.name == name)
}

fn failed<E>(what: &str) -> impl FnOnce(E) -> anyhow::Error
where
    E: std::error::Error + aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    let what = what.to_owned();
    move |e| anyhow!("{what}: {}", describe(&e))
}

/// How the database's rule for the function is replaced.
#[derive(Debug, Clone, Copy)]
enum DbRule {
    WrongPort,
    AllTraffic,
    VpcRange,
    PortRange,
}

async fn db_from_function_instead(s: &Setup, rule: DbRule) -> Result<String> {
    revoke_db_from_function(s).await?;
    let port = s.db_port();
    let permission = match rule {
        DbRule::WrongPort => tcp(port + 1, &s.function_group),
        DbRule::AllTraffic => all_traffic_from_group(&s.function_group),
        DbRule::VpcRange => tcp(port, &s.vpc_cidr),
        DbRule::PortRange => IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(port - 6)
            .to_port(port + 4)
            .user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(&s.function_group)
                    .build(),
            )
            .build(),
    };
    ingress(s, &s.state.database_group, permission).await
}

async fn egress_only(s: &Setup, port: i32, destination: &str) -> Result<String> {
    revoke_all_egress(s).await?;
    egress(s, tcp(port, destination)).await
}

async fn endpoint_https_from_vpc(s: &Setup) -> Result<String> {
    revoke_endpoint_https(s).await?;
    ingress(s, &s.state.endpoint_group, tcp(443, &s.vpc_cidr)).await
}

async fn invoke_from_other_account(s: &Setup) -> Result<String> {
    remove_invoke_permission(s).await?;
    s.lambda
        .add_permission()
        .function_name(&s.function)
        .statement_id("SecretsManagerOtherAccount")
        .action("lambda:InvokeFunction")
        .principal("secretsmanager.amazonaws.com")
        .source_account("999999999999")
        .send()
        .await
        .map_err(failed("lambda:AddPermission"))?;
    Ok("invoke permission for Secrets Manager of account 999999999999 only".to_owned())
}

async fn delete_role_policy(s: &Setup) -> Result<String> {
    s.iam
        .delete_role_policy()
        .role_name(&s.names.role)
        .policy_name(&s.names.role_policy)
        .send()
        .await
        .map_err(failed("iam:DeleteRolePolicy"))?;
    Ok(format!(
        "role {}: inline policy {} deleted",
        s.names.role, s.names.role_policy
    ))
}

async fn role_policy_names_another_secret(s: &Setup) -> Result<String> {
    let other = format!("{}-other", s.state.secret_arn);
    let document = s
        .role_policy()
        .await?
        .to_string()
        .replace(&s.state.secret_arn, &other);
    s.iam
        .put_role_policy()
        .role_name(&s.names.role)
        .policy_name(&s.names.role_policy)
        .policy_document(document)
        .send()
        .await
        .map_err(failed("iam:PutRolePolicy"))?;
    Ok(format!(
        "role {}: its policy names {other} instead of the secret",
        s.names.role
    ))
}

async fn schedule_monthly(s: &Setup) -> Result<String> {
    s.secrets
        .rotate_secret()
        .secret_id(&s.state.secret_arn)
        .rotation_rules(
            aws_sdk_secretsmanager::types::RotationRulesType::builder()
                .schedule_expression("rate(30 days)")
                .build(),
        )
        .rotate_immediately(false)
        .send()
        .await
        .map_err(failed("secretsmanager:RotateSecret"))?;
    Ok("rotation every 30 days, no window".to_owned())
}

async fn database_public(s: &Setup) -> Result<String> {
    s.rds
        .modify_db_instance()
        .db_instance_identifier(&s.state.db_instance)
        .publicly_accessible(true)
        .apply_immediately(true)
        .send()
        .await
        .map_err(failed("rds:ModifyDBInstance"))?;
    Ok(format!(
        "database {} publicly accessible",
        s.state.db_instance
    ))
}

fn tcp(port: i32, source: &str) -> IpPermission {
    crate::resources::security_group::tcp_permission(port, source)
}

fn all_traffic_from_group(group: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("-1")
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(group).build())
        .build()
}

fn all_traffic_to_world() -> IpPermission {
    IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build()
}

fn describe_permission(permission: &IpPermission) -> String {
    let ports = match (permission.from_port(), permission.to_port()) {
        (Some(from), Some(to)) if from == to => format!("port {from}"),
        (Some(from), Some(to)) => format!("ports {from}-{to}"),
        _ => "all ports".to_owned(),
    };
    let source: Vec<String> = permission
        .user_id_group_pairs()
        .iter()
        .filter_map(|p| p.group_id().map(str::to_owned))
        .chain(
            permission
                .ip_ranges()
                .iter()
                .filter_map(|r| r.cidr_ip().map(str::to_owned)),
        )
        .collect();
    format!(
        "protocol {} {ports} {}",
        permission.ip_protocol().unwrap_or("?"),
        source.join(", ")
    )
}

async fn ingress(s: &Setup, group: &str, permission: IpPermission) -> Result<String> {
    let text = describe_permission(&permission);
    s.ec2
        .authorize_security_group_ingress()
        .group_id(group)
        .ip_permissions(permission)
        .send()
        .await
        .map_err(failed(&format!(
            "ec2:AuthorizeSecurityGroupIngress {group}"
        )))?;
    Ok(format!("{group} admits {text}"))
}

async fn egress(s: &Setup, permission: IpPermission) -> Result<String> {
    let text = describe_permission(&permission);
    s.ec2
        .authorize_security_group_egress()
        .group_id(&s.function_group)
        .ip_permissions(permission)
        .send()
        .await
        .map_err(failed("ec2:AuthorizeSecurityGroupEgress"))?;
    Ok(format!(
        "function group {} lets out only {text}",
        s.function_group
    ))
}

async fn revoke_db_from_function(s: &Setup) -> Result<String> {
    s.ec2
        .revoke_security_group_ingress()
        .group_id(&s.state.database_group)
        .ip_permissions(tcp(s.db_port(), &s.function_group))
        .send()
        .await
        .map_err(failed(
            "ec2:RevokeSecurityGroupIngress (database from function)",
        ))?;
    Ok(format!(
        "database group {} no longer admits function group {}",
        s.state.database_group, s.function_group
    ))
}

async fn revoke_all_egress(s: &Setup) -> Result<String> {
    s.ec2
        .revoke_security_group_egress()
        .group_id(&s.function_group)
        .ip_permissions(all_traffic_to_world())
        .send()
        .await
        .map_err(failed("ec2:RevokeSecurityGroupEgress"))?;
    Ok(format!(
        "function group {} lets nothing out",
        s.function_group
    ))
}

async fn revoke_endpoint_https(s: &Setup) -> Result<String> {
    let group = s
        .ec2
        .describe_security_groups()
        .group_ids(&s.state.endpoint_group)
        .send()
        .await
        .map_err(failed("ec2:DescribeSecurityGroups"))?;
    let rules: Vec<IpPermission> = group
        .security_groups()
        .iter()
        .flat_map(|g| g.ip_permissions().iter().cloned())
        .filter(|p| p.from_port() == Some(443))
        .collect();
    if rules.is_empty() {
        return Err(anyhow!(
            "endpoint group {} admits no 443 to revoke",
            s.state.endpoint_group
        ));
    }
    s.ec2
        .revoke_security_group_ingress()
        .group_id(&s.state.endpoint_group)
        .set_ip_permissions(Some(rules))
        .send()
        .await
        .map_err(failed("ec2:RevokeSecurityGroupIngress (endpoints)"))?;
    Ok(format!(
        "endpoint group {} admits no 443",
        s.state.endpoint_group
    ))
}

async fn endpoint_of(s: &Setup, service: &str) -> Result<String> {
    let suffix = format!(".{service}");
    let found = s
        .ec2
        .describe_vpc_endpoints()
        .filters(
            Filter::builder()
                .name("vpc-id")
                .values(&s.state.vpc_id)
                .build(),
        )
        .send()
        .await
        .map_err(failed("ec2:DescribeVpcEndpoints"))?;
    found
        .vpc_endpoints()
        .iter()
        .find(|e| e.service_name().is_some_and(|n| n.ends_with(&suffix)))
        .and_then(|e| e.vpc_endpoint_id().map(str::to_owned))
        .ok_or_else(|| anyhow!("VPC {} has no {service} endpoint", s.state.vpc_id))
}

async fn delete_endpoint(s: &Setup, service: &str) -> Result<String> {
    let id = endpoint_of(s, service).await?;
    s.ec2
        .delete_vpc_endpoints()
        .vpc_endpoint_ids(&id)
        .send()
        .await
        .map_err(failed("ec2:DeleteVpcEndpoints"))?;
    Ok(format!("{service} endpoint {id} deleted"))
}

async fn private_dns_off(s: &Setup) -> Result<String> {
    let id = endpoint_of(s, "secretsmanager").await?;
    s.ec2
        .modify_vpc_endpoint()
        .vpc_endpoint_id(&id)
        .private_dns_enabled(false)
        .send()
        .await
        .map_err(failed("ec2:ModifyVpcEndpoint"))?;
    // A change the emulator ignores would make a case that tests nothing.
    let described = s
        .ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(&id)
        .send()
        .await
        .map_err(failed("ec2:DescribeVpcEndpoints"))?;
    if described
        .vpc_endpoints()
        .first()
        .and_then(aws_sdk_ec2::types::VpcEndpoint::private_dns_enabled)
        != Some(false)
    {
        return Err(anyhow!(
            "endpoint {id} still reports private DNS on after ModifyVpcEndpoint PrivateDnsEnabled=false"
        ));
    }
    Ok(format!("secretsmanager endpoint {id}: private DNS off"))
}

async fn endpoint_policy(s: &Setup, policy: Value) -> Result<String> {
    let id = endpoint_of(s, "secretsmanager").await?;
    s.ec2
        .modify_vpc_endpoint()
        .vpc_endpoint_id(&id)
        .policy_document(policy.to_string())
        .send()
        .await
        .map_err(failed("ec2:ModifyVpcEndpoint"))?;
    Ok(format!("secretsmanager endpoint {id}: policy {policy}"))
}

#[derive(Debug, Clone, Copy)]
enum VpcDns {
    Support,
    Hostnames,
}

async fn vpc_dns_off(s: &Setup, which: VpcDns) -> Result<String> {
    let off = AttributeBooleanValue::builder().value(false).build();
    let call = s.ec2.modify_vpc_attribute().vpc_id(&s.state.vpc_id);
    let call = match which {
        VpcDns::Support => call.enable_dns_support(off),
        VpcDns::Hostnames => call.enable_dns_hostnames(off),
    };
    call.send()
        .await
        .map_err(failed("ec2:ModifyVpcAttribute"))?;
    Ok(format!("VPC {}: DNS {which:?} off", s.state.vpc_id))
}

/// A DENY entry numbered before every other in the network ACL of the function's
/// (private) subnets.
async fn nacl_deny(s: &Setup, egress: bool, from: i32, to: i32) -> Result<String> {
    let subnet = s
        .state
        .private_subnets
        .first()
        .context("the setup has no private subnet")?;
    let acls = s
        .ec2
        .describe_network_acls()
        .filters(
            Filter::builder()
                .name("association.subnet-id")
                .values(subnet)
                .build(),
        )
        .send()
        .await
        .map_err(failed("ec2:DescribeNetworkAcls"))?;
    let acl = acls
        .network_acls()
        .first()
        .and_then(|a| a.network_acl_id())
        .context("no network ACL is associated with the private subnet")?
        .to_owned();
    s.ec2
        .create_network_acl_entry()
        .network_acl_id(&acl)
        .rule_number(1)
        .protocol("6")
        .rule_action(RuleAction::Deny)
        .egress(egress)
        .cidr_block("0.0.0.0/0")
        .port_range(PortRange::builder().from(from).to(to).build())
        .send()
        .await
        .map_err(failed("ec2:CreateNetworkAclEntry"))?;
    let direction = if egress { "out" } else { "in" };
    Ok(format!(
        "network ACL {acl}: rule 1 denies TCP {from}-{to} {direction}"
    ))
}

async fn function_network(s: &Setup, subnets: Vec<String>, groups: Vec<String>) -> Result<String> {
    let text = if subnets.is_empty() {
        "outside any VPC".to_owned()
    } else {
        format!("in groups {}", groups.join(", "))
    };
    s.lambda
        .update_function_configuration()
        .function_name(&s.function)
        .vpc_config(
            aws_sdk_lambda::types::VpcConfig::builder()
                .set_subnet_ids(Some(subnets))
                .set_security_group_ids(Some(groups))
                .build(),
        )
        .send()
        .await
        .map_err(failed("lambda:UpdateFunctionConfiguration"))?;
    crate::aws::wait_for_function(&s.lambda, &s.function).await?;
    Ok(format!("function {} runs {text}", s.function))
}

async fn remove_invoke_permission(s: &Setup) -> Result<String> {
    s.lambda
        .remove_permission()
        .function_name(&s.function)
        .statement_id(crate::deploy::PERMISSION_ID)
        .send()
        .await
        .map_err(failed("lambda:RemovePermission"))?;
    Ok(format!(
        "function {}: Secrets Manager's invoke permission removed",
        s.function
    ))
}

async fn role_inline(s: &Setup, statement: Value) -> Result<String> {
    s.iam
        .put_role_policy()
        .role_name(&s.names.role)
        .policy_name("fuzz-extra")
        .policy_document(json!({"Version": "2012-10-17", "Statement": [statement]}).to_string())
        .send()
        .await
        .map_err(failed("iam:PutRolePolicy"))?;
    Ok(format!(
        "role {}: inline policy fuzz-extra {statement}",
        s.names.role
    ))
}

async fn boundary(s: &Setup) -> Result<String> {
    let document = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "NotAction": "secretsmanager:PutSecretValue", "Resource": "*"}
    ]});
    let created = s
        .iam
        .create_policy()
        .policy_name(format!("{}-fuzz-boundary", s.names.run))
        .policy_document(document.to_string())
        .send()
        .await
        .map_err(failed("iam:CreatePolicy"))?;
    let arn = created
        .policy()
        .and_then(|p| p.arn())
        .context("CreatePolicy returned no ARN")?
        .to_owned();
    s.iam
        .put_role_permissions_boundary()
        .role_name(&s.names.role)
        .permissions_boundary(&arn)
        .send()
        .await
        .map_err(failed("iam:PutRolePermissionsBoundary"))?;
    Ok(format!(
        "role {}: boundary {arn} allows all but secretsmanager:PutSecretValue",
        s.names.role
    ))
}

async fn secret_policy(s: &Setup, statement: Value) -> Result<String> {
    s.secrets
        .put_resource_policy()
        .secret_id(&s.state.secret_arn)
        .resource_policy(json!({"Version": "2012-10-17", "Statement": [statement]}).to_string())
        .send()
        .await
        .map_err(failed("secretsmanager:PutResourcePolicy"))?;
    Ok(format!("secret policy {statement}"))
}

/// A customer managed key whose policy lets only the operator use it (no
/// delegation to the account's IAM policies), the role allowed kms:Decrypt on it in
/// IAM, and the secret's current value stored anew under it. The key starts with
/// the default policy (which delegates), so that the operator may encrypt with it,
/// and is then narrowed.
async fn key_not_delegated(s: &Setup) -> Result<String> {
    let key = s
        .kms
        .create_key()
        .description(format!("{} fuzz key", s.names.run))
        .send()
        .await
        .map_err(failed("kms:CreateKey"))?;
    let key_arn = key
        .key_metadata()
        .map(|m| m.arn().unwrap_or(m.key_id()).to_owned())
        .context("CreateKey returned no key")?;
    let current = s
        .secrets
        .get_secret_value()
        .secret_id(&s.state.secret_arn)
        .send()
        .await
        .map_err(failed("secretsmanager:GetSecretValue"))?;
    let value = current
        .secret_string()
        .context("the secret has no string value")?;
    s.secrets
        .update_secret()
        .secret_id(&s.state.secret_arn)
        .kms_key_id(&key_arn)
        .secret_string(value)
        .send()
        .await
        .map_err(failed(
            "secretsmanager:UpdateSecret (a new value under the key)",
        ))?;
    role_inline(s, json!({"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key_arn})).await?;
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "OperatorOnly", "Effect": "Allow", "Principal": {"AWS": s.caller_arn}, "Action": "kms:*", "Resource": "*"}
    ]});
    s.kms
        .put_key_policy()
        .key_id(&key_arn)
        // The only name a key policy has (KMS API reference, PutKeyPolicy).
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await
        .map_err(failed("kms:PutKeyPolicy"))?;
    Ok(format!(
        "secret encrypted with {key_arn}, whose policy names only {}; the role may kms:Decrypt it in IAM",
        s.caller_arn
    ))
}
