//! The function's execution role: its inline policies deleted and its managed
//! policies detached first, then the role. DeleteRole fails while either remains
//! (IAM API reference, DeleteRole: "Before attempting to delete a role, remove the
//! following attached items: Inline policies (DeleteRolePolicy), Attached managed
//! policies (DetachRolePolicy)..."). A managed policy someone attached to the run's
//! role is only detached: the policy is not the run's, and may serve others.

use anyhow::{Result, bail};

use super::deletion::{Deletion, Outcome, gone_or};
use crate::aws;

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
