//! The function's execution role: its inline policies first, then the role.

use anyhow::{Result, bail};

use super::deletion::{Deletion, Outcome, gone_or};
use crate::aws;

/// `iam:DeleteRolePolicy` for each inline policy, then `iam:DeleteRole`.
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
    if !d.write("iam:DeleteRole") {
        return Ok(Outcome::WouldDelete);
    }
    gone_or(
        clients.iam.delete_role().role_name(id).send().await,
        "iam:DeleteRole",
    )
}
