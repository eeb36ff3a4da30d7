//! The differential test's mutations: each one real configuration change of the
//! tutorial's setup, made through the AWS SDK as an operator (or an attacker, or a
//! hurried colleague) would make it.
//!
//! An operator never says whether the rotation survives it: the emulator decides
//! that by rotating. It says only what no rotation can show: the verdicts it must
//! draw from checks about safety (a public rule, a schedule), and which checks of the
//! rotation path it fails for such a reason ([`Operator::fails_for_safety`]).

use std::fmt;

use anyhow::{Context as _, Result, anyhow};
use audit::Status;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, IpPermission, IpRange, PortRange, RuleAction, UserIdGroupPair,
};
use serde_json::{Value, json};

use crate::aws::describe;
use crate::fuzz::Setup;

/// One mutation of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Operator {
    pub name: &'static str,
    /// What it changes, for the table.
    pub family: &'static str,
    /// Verdicts of checks no rotation can confirm that must follow.
    pub expect: &'static [(&'static str, Status)],
    /// Rotation-path checks this mutation fails for a reason of safety, not of the
    /// rotation (a database open to the world still admits the function): their FAIL
    /// is no prediction about the rotation.
    pub fails_for_safety: &'static [&'static str],
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

const fn op(name: &'static str, family: &'static str) -> Operator {
    Operator {
        name,
        family,
        expect: &[],
        fails_for_safety: &[],
    }
}

/// Every mutation, in the order the table prints them.
pub const CATALOGUE: &[Operator] = &[
    op("db-ingress-revoke-function", "database security group"),
    Operator {
        expect: &[("rds.ingress.bastion-only", Status::Fail)],
        fails_for_safety: &["rds.ingress.bastion-only"],
        ..op("db-ingress-open-world", "database security group")
    },
    op("db-ingress-function-wrong-port", "database security group"),
    op("db-ingress-function-all-traffic", "database security group"),
    Operator {
        fails_for_safety: &["rds.ingress.bastion-only"],
        ..op("db-ingress-function-subnet-cidr", "database security group")
    },
    op("db-ingress-function-port-range", "database security group"),
    op("function-egress-none", "function security group"),
    op("function-egress-https-only", "function security group"),
    op("function-egress-database-only", "function security group"),
    op("endpoint-ingress-revoke-https", "endpoint security group"),
    op("endpoint-ingress-vpc-cidr", "endpoint security group"),
    op("endpoint-delete-secretsmanager", "interface endpoints"),
    op("endpoint-delete-rds", "interface endpoints"),
    op("endpoint-private-dns-off", "interface endpoints"),
    op(
        "endpoint-policy-deny-put-secret-value",
        "interface endpoints",
    ),
    Operator {
        expect: &[("vpc.endpoint-policy", Status::Fail)],
        fails_for_safety: &["vpc.endpoint-policy"],
        ..op("endpoint-policy-any-principal", "interface endpoints")
    },
    op("vpc-dns-support-off", "VPC DNS"),
    op("vpc-dns-hostnames-off", "VPC DNS"),
    op("nacl-deny-database-port-in", "network ACLs"),
    op("nacl-deny-ephemeral-out", "network ACLs"),
    op("nacl-deny-https-out", "network ACLs"),
    op("function-outside-vpc", "function"),
    Operator {
        // The database still admits the function's former group, now no one's.
        fails_for_safety: &["rds.ingress.bastion-only"],
        ..op("function-bastion-group", "function")
    },
    op("lambda-permission-removed", "function"),
    op("lambda-permission-wrong-account", "function"),
    op("role-deny-get-secret-value", "role"),
    op("role-policy-deleted", "role"),
    op("role-boundary-without-put-secret-value", "role"),
    op("role-deny-not-action", "role"),
    op("role-wrong-secret-resource", "role"),
    op("secret-policy-deny-role", "secret"),
    Operator {
        expect: &[("secret.policy.not-public", Status::Fail)],
        ..op("secret-policy-public-read", "secret")
    },
    op("secret-key-not-delegated", "secret"),
    Operator {
        expect: &[("secret.rotation.schedule", Status::Fail)],
        ..op("schedule-monthly", "schedule")
    },
    Operator {
        expect: &[("rds.not-public", Status::Fail)],
        ..op("database-public", "database")
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

/// Applies `operator` to the setup and says what it did.
pub async fn apply(operator: &Operator, s: &Setup) -> Result<String> {
    match operator.name {
        "db-ingress-revoke-function" => revoke_db_from_function(s).await,
        "db-ingress-open-world" => ingress(s, &s.state.database_group, tcp(s.db_port(), "0.0.0.0/0")).await,
        "db-ingress-function-wrong-port" => {
            revoke_db_from_function(s).await?;
            ingress(s, &s.state.database_group, tcp(s.db_port() + 1, &s.function_group)).await
        }
        "db-ingress-function-all-traffic" => {
            revoke_db_from_function(s).await?;
            ingress(s, &s.state.database_group, all_traffic_from_group(&s.function_group)).await
        }
        "db-ingress-function-subnet-cidr" => {
            revoke_db_from_function(s).await?;
            ingress(s, &s.state.database_group, tcp(s.db_port(), &s.vpc_cidr)).await
        }
        "db-ingress-function-port-range" => {
            revoke_db_from_function(s).await?;
            let port = s.db_port();
            let range = IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(port - 6)
                .to_port(port + 4)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&s.function_group).build())
                .build();
            ingress(s, &s.state.database_group, range).await
        }
        "function-egress-none" => revoke_all_egress(s).await,
        "function-egress-https-only" => {
            revoke_all_egress(s).await?;
            egress(s, tcp(443, "0.0.0.0/0")).await
        }
        "function-egress-database-only" => {
            revoke_all_egress(s).await?;
            egress(s, tcp(s.db_port(), &s.vpc_cidr)).await
        }
        "endpoint-ingress-revoke-https" => revoke_endpoint_https(s).await,
        "endpoint-ingress-vpc-cidr" => {
            revoke_endpoint_https(s).await?;
            ingress(s, &s.state.endpoint_group, tcp(443, &s.vpc_cidr)).await
        }
        "endpoint-delete-secretsmanager" => delete_endpoint(s, "secretsmanager").await,
        "endpoint-delete-rds" => delete_endpoint(s, "rds").await,
        "endpoint-private-dns-off" => private_dns_off(s).await,
        "endpoint-policy-deny-put-secret-value" => {
            endpoint_policy(s, json!({"Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:PutSecretValue", "Resource": "*"}
            ]}))
            .await
        }
        "endpoint-policy-any-principal" => {
            endpoint_policy(s, json!({"Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "*", "Resource": "*"},
                {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{}:root", s.account)}, "Action": "*", "Resource": "*"}
            ]}))
            .await
        }
        "vpc-dns-support-off" | "vpc-dns-hostnames-off" => vpc_dns_off(s, operator.name).await,
        "nacl-deny-database-port-in" => nacl_deny(s, false, s.db_port(), s.db_port()).await,
        "nacl-deny-ephemeral-out" => nacl_deny(s, true, 1024, 65535).await,
        "nacl-deny-https-out" => nacl_deny(s, true, 443, 443).await,
        "function-outside-vpc" => function_network(s, Vec::new(), Vec::new()).await,
        "function-bastion-group" => {
            let subnets = s.state.private_subnets.clone();
            function_network(s, subnets, vec![s.state.bastion_group.clone()]).await
        }
        "lambda-permission-removed" => remove_invoke_permission(s).await,
        "lambda-permission-wrong-account" => {
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
        "role-deny-get-secret-value" => {
            role_inline(s, json!({"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": s.state.secret_arn})).await
        }
        "role-policy-deleted" => {
            s.iam
                .delete_role_policy()
                .role_name(&s.names.role)
                .policy_name(&s.names.role_policy)
                .send()
                .await
                .map_err(failed("iam:DeleteRolePolicy"))?;
            Ok(format!("role {}: inline policy {} deleted", s.names.role, s.names.role_policy))
        }
        "role-boundary-without-put-secret-value" => boundary(s).await,
        "role-deny-not-action" => {
            role_inline(s, json!({"Effect": "Deny", "NotAction": ["secretsmanager:*", "logs:*", "ec2:*"], "Resource": "*"})).await
        }
        "role-wrong-secret-resource" => {
            let other = format!("{}-other", s.state.secret_arn);
            let document = s.role_policy().await?.to_string().replace(&s.state.secret_arn, &other);
            s.iam
                .put_role_policy()
                .role_name(&s.names.role)
                .policy_name(&s.names.role_policy)
                .policy_document(document)
                .send()
                .await
                .map_err(failed("iam:PutRolePolicy"))?;
            Ok(format!("role {}: its policy names {other} instead of the secret", s.names.role))
        }
        "secret-policy-deny-role" => {
            secret_policy(s, json!({"Effect": "Deny", "Principal": {"AWS": s.role_arn}, "Action": "secretsmanager:PutSecretValue", "Resource": "*"})).await
        }
        "secret-policy-public-read" => {
            secret_policy(s, json!({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})).await
        }
        "secret-key-not-delegated" => key_not_delegated(s).await,
        "schedule-monthly" => {
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
        "database-public" => {
            s.rds
                .modify_db_instance()
                .db_instance_identifier(&s.state.db_instance)
                .publicly_accessible(true)
                .apply_immediately(true)
                .send()
                .await
                .map_err(failed("rds:ModifyDBInstance"))?;
            Ok(format!("database {} publicly accessible", s.state.db_instance))
        }
        other => Err(anyhow!("no operator is named {other}")),
    }
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

async fn vpc_dns_off(s: &Setup, which: &str) -> Result<String> {
    let off = AttributeBooleanValue::builder().value(false).build();
    let call = s.ec2.modify_vpc_attribute().vpc_id(&s.state.vpc_id);
    let call = if which == "vpc-dns-support-off" {
        call.enable_dns_support(off)
    } else {
        call.enable_dns_hostnames(off)
    };
    call.send()
        .await
        .map_err(failed("ec2:ModifyVpcAttribute"))?;
    Ok(format!("VPC {}: {which}", s.state.vpc_id))
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
        .policy(policy.to_string())
        .send()
        .await
        .map_err(failed("kms:PutKeyPolicy"))?;
    Ok(format!(
        "secret encrypted with {key_arn}, whose policy names only {}; the role may kms:Decrypt it in IAM",
        s.caller_arn
    ))
}
