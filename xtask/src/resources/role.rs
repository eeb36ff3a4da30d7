//! The function's execution role: its inline policies deleted and its managed
//! policies detached first, then the role. DeleteRole fails while either remains
//! (IAM API reference, DeleteRole: "Before attempting to delete a role, remove the
//! following attached items: Inline policies (DeleteRolePolicy), Attached managed
//! policies (DetachRolePolicy)..."). A managed policy someone attached to the run's
//! role is only detached: the policy is not the run's, and may serve others.

use anyhow::{Result, anyhow, bail};
use serde_json::{Value, json};

use super::context::Deployer;
use super::deletion::{Deletion, Outcome, gone_or};
use super::kind::{Clients, Kind, Resource};
use super::spec::{Plan, Spec};
use crate::aws::{self, Calls};
use crate::names::{self, Names};

/// This kind's declaration: what makes it, what it depends on, how it is found,
/// created, made ready and deleted (its row of the table, `TABLE`).
pub(crate) const SPEC: Spec = Spec {
    kind: Kind::Role,
    label: "IAM role",
    depends_on: &[],
    plan: Plan {
        found_by: "iam:GetRole by name, kept only with the run's tags and this region's tag",
        create: "iam:CreateRole (trust lambda.amazonaws.com), PutRolePolicy (least privilege)",
        ready: "assumable by Lambda (CreateFunction retried while it is not)",
        delete: "iam:DeleteRolePolicy, iam:DetachRolePolicy (the policy itself is kept), iam:DeleteRole, once the function's network interfaces are gone",
    },
    discover: Some(|clients, names, found| Box::pin(discover(clients, names, found))),
    delete: |d| Box::pin(delete(d)),
    provision: None,
    deploy: Some(|d| Box::pin(d.role())),
};

/// `iam:DeleteRolePolicy` for each inline policy, `iam:DetachRolePolicy` for each
/// attached managed policy, then `iam:DeleteRole`.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (clients, id) = (d.clients, d.resource.id.as_str());
    let policies = match clients.iam.list_role_policies().role_name(id).send().await {
        Ok(out) => out.policy_names().to_vec(),
        Err(e) if aws::is_not_found(&e) => return Ok(Outcome::AlreadyGone),
        Err(e) => bail!("iam:ListRolePolicies: {}", aws::describe(&e)),
    };
    for policy in policies {
        if d.write(&format!("iam:DeleteRolePolicy {policy}")) {
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
    if !detach_managed_policies(d).await? {
        return Ok(Outcome::AlreadyGone);
    }
    if !d.write("iam:DeleteRole") {
        return Ok(Outcome::WouldDelete);
    }
    gone_or(
        clients.iam.delete_role().role_name(id).send().await,
        "iam:DeleteRole",
    )
}

/// Detaches every managed policy attached to the role; false when the role is
/// already gone. One page of up to 1000 holds them all: IAM allows a role at most
/// 20 managed policies (IAM user guide, "IAM and AWS STS quotas").
async fn detach_managed_policies(d: &mut Deletion<'_>) -> Result<bool> {
    let (clients, id) = (d.clients, d.resource.id.as_str());
    let attached = match clients
        .iam
        .list_attached_role_policies()
        .role_name(id)
        .max_items(1000)
        .send()
        .await
    {
        Ok(out) => out.attached_policies().to_vec(),
        Err(e) if aws::is_not_found(&e) => return Ok(false),
        Err(e) => bail!("iam:ListAttachedRolePolicies: {}", aws::describe(&e)),
    };
    for arn in attached.iter().filter_map(|p| p.policy_arn()) {
        if d.write(&format!("iam:DetachRolePolicy {arn}")) {
            gone_or(
                clients
                    .iam
                    .detach_role_policy()
                    .role_name(id)
                    .policy_arn(arn)
                    .send()
                    .await,
                "iam:DetachRolePolicy",
            )?;
        }
    }
    Ok(true)
}

/// The role's trust policy: Lambda may assume it.
pub fn trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }]
    })
}

/// The run's role: adopted only when tagged as the run's and not serving another
/// region (IAM names are global), else created with the run's and the region's tags.
pub(crate) async fn role(
    iam: &aws_sdk_iam::Client,
    names: &Names,
    caller: &aws::Caller,
    region: &str,
    calls: &mut Calls,
) -> Result<String> {
    let region_tag = |value: &str| {
        aws_sdk_iam::types::Tag::builder()
            .key(names::REGION_TAG_KEY)
            .value(value)
            .build()
            .map_err(|e| anyhow!("tag {}: {e}", names::REGION_TAG_KEY))
    };
    match iam.get_role().role_name(&names.role).send().await {
        Ok(out) => {
            let role = out
                .role()
                .ok_or_else(|| anyhow!("iam:GetRole {}: no role returned", names.role))?;
            let tags = || role.tags().iter().map(|t| (t.key(), t.value()));
            if !names.owns(tags()) {
                bail!(
                    "IAM role {} exists without the run's tags; delete it or choose another --name",
                    names.role
                );
            }
            if let Some(other) = Names::role_serves_other_region(tags(), region) {
                bail!(
                    "IAM role {} serves run {} in {other} (tag {}); IAM names are global, so a deploy here would rewrite its policy: deploy this run in {other}, or choose another --name in {region}",
                    names.role,
                    names.run,
                    names::REGION_TAG_KEY
                );
            }
            if !tags().any(|(key, _)| key == names::REGION_TAG_KEY)
                && calls.write(format!(
                    "iam:TagRole {} {}={region}",
                    names.role,
                    names::REGION_TAG_KEY
                ))
            {
                iam.tag_role()
                    .role_name(&names.role)
                    .tags(region_tag(region)?)
                    .send()
                    .await
                    .map_err(|e| anyhow!("iam:TagRole {}: {}", names.role, aws::describe(&e)))?;
            }
            return Ok(role.arn().to_owned());
        }
        Err(error) if aws::is_not_found(&error) => {}
        Err(error) => bail!("iam:GetRole {}: {}", names.role, aws::describe(&error)),
    }
    if !calls.write(format!(
        "iam:CreateRole {} trust lambda.amazonaws.com",
        names.role
    )) {
        return Ok(caller.arn("iam", "", &format!("role/{}", names.role)));
    }
    let mut tags = vec![region_tag(region)?];
    for (key, value) in names.tags() {
        tags.push(
            aws_sdk_iam::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| anyhow!("tag {key}: {e}"))?,
        );
    }
    let created = iam
        .create_role()
        .role_name(&names.role)
        .description(format!("The rotation function of {}", names.secret))
        .assume_role_policy_document(trust_policy().to_string())
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| anyhow!("iam:CreateRole {}: {}", names.role, aws::describe(&e)))?;
    created
        .role()
        .map(|r| r.arn().to_owned())
        .ok_or_else(|| anyhow!("iam:CreateRole {}: no role returned", names.role))
}

/// The role's inline `policy`, written (or, in a dry run, announced) on every run.
pub(crate) async fn put_role_policy(
    iam: &aws_sdk_iam::Client,
    names: &Names,
    policy: &Value,
    calls: &mut Calls,
) -> Result<()> {
    if calls.write(format!(
        "iam:PutRolePolicy {} {} {policy}",
        names.role, names.role_policy
    )) {
        iam.put_role_policy()
            .role_name(&names.role)
            .policy_name(&names.role_policy)
            .policy_document(policy.to_string())
            .send()
            .await
            .map_err(|e| anyhow!("iam:PutRolePolicy {}: {}", names.role, aws::describe(&e)))?;
    }
    Ok(())
}

impl Deployer<'_> {
    /// The role and its least-privilege policy.
    pub(crate) async fn role(&mut self) -> Result<()> {
        let names = self.names;
        self.role_arn = role(
            &self.iam,
            names,
            &self.caller,
            &self.region,
            &mut self.calls,
        )
        .await?;
        put_role_policy(&self.iam, names, &self.role_policy, &mut self.calls).await?;
        self.note(&format!(
            "role {} with inline policy {}",
            self.role_arn, names.role_policy
        ));
        Ok(())
    }
}

/// The role, by name, kept only with the run's tags and not serving another region (discovery).
pub(crate) async fn discover(
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
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
        Err(e) => return Err(aws::failed("iam:GetRole")(e)),
    }
    Ok(())
}
