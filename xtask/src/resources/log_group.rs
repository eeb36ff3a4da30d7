//! The function's log group (`/aws/lambda/<function>`): deploy's step, made before
//! the function so that it is tagged and keeps logs 365 days (Lambda would otherwise
//! create it on the first write, untagged and kept forever), discovery and deletion.

use anyhow::{Result, anyhow, bail};

use super::context::Deployer;
use super::deletion::{Deletion, Outcome, gone_or};
use super::kind::{Clients, Kind, Resource};
use super::spec::{Plan, Spec};
use crate::aws::{self, Calls};
use crate::names::Names;

/// This kind's declaration: what makes it, what it depends on, how it is found,
/// created, made ready and deleted (its row of the table, `TABLE`).
pub(crate) const SPEC: Spec = Spec {
    kind: Kind::LogGroup,
    label: "log group",
    depends_on: &[],
    plan: Plan {
        found_by: "logs:ListTagsLogGroup on /aws/lambda/<function>",
        create: "logs:CreateLogGroup (tagged), PutRetentionPolicy 365 days",
        ready: "",
        delete: "logs:DeleteLogGroup",
    },
    discover: Some(|clients, names, found| Box::pin(discover(clients, names, found))),
    delete: |d| Box::pin(delete(d)),
    provision: None,
    deploy: Some(|d| Box::pin(d.log_group())),
};

/// `logs:DeleteLogGroup`.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (clients, id) = (d.clients, d.resource.id.as_str());
    if !d.write("logs:DeleteLogGroup") {
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

/// How long the function's logs are kept: a year, the usual audit trail retention.
const LOG_RETENTION_DAYS: i32 = 365;

/// Creates the function's log group with the run's tags, or tags one Lambda made;
/// sets its retention either way.
async fn ensure_log_group(
    logs: &aws_sdk_cloudwatchlogs::Client,
    names: &Names,
    calls: &mut Calls,
) -> Result<()> {
    let group = format!("/aws/lambda/{}", names.function);
    let exists = logs
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .map_err(|e| anyhow!("logs:DescribeLogGroups {group}: {}", aws::describe(&e)))?
        .log_groups()
        .iter()
        .any(|g| g.log_group_name() == Some(group.as_str()));
    let tags: std::collections::HashMap<String, String> = names
        .tags()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    if !exists {
        if calls.write(format!("logs:CreateLogGroup {group} (tagged)")) {
            match logs
                .create_log_group()
                .log_group_name(&group)
                .set_tags(Some(tags))
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if aws::code(&e) == "ResourceAlreadyExistsException" => {}
                Err(e) => bail!("logs:CreateLogGroup {group}: {}", aws::describe(&e)),
            }
        }
    } else if calls.write(format!("logs:TagLogGroup {group}")) {
        #[allow(deprecated)] // TagResource needs the group's ARN; this takes its name
        logs.tag_log_group()
            .log_group_name(&group)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| anyhow!("logs:TagLogGroup {group}: {}", aws::describe(&e)))?;
    }
    if calls.write(format!(
        "logs:PutRetentionPolicy {group} {LOG_RETENTION_DAYS} days"
    )) {
        logs.put_retention_policy()
            .log_group_name(&group)
            .retention_in_days(LOG_RETENTION_DAYS)
            .send()
            .await
            .map_err(|e| anyhow!("logs:PutRetentionPolicy {group}: {}", aws::describe(&e)))?;
    }
    Ok(())
}

impl Deployer<'_> {
    /// The log group, before the first invocation would make one with no tags and no
    /// expiry (Lambda creates `/aws/lambda/<function>` on first use otherwise).
    pub(crate) async fn log_group(&mut self) -> Result<()> {
        ensure_log_group(
            &aws_sdk_cloudwatchlogs::Client::new(self.config),
            self.names,
            &mut self.calls,
        )
        .await?;
        self.note(&format!(
            "log group /aws/lambda/{} (kept {LOG_RETENTION_DAYS} days)",
            self.names.function
        ));
        Ok(())
    }
}

/// The function's log group, kept only with the run's tags (discovery).
pub(crate) async fn discover(
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
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
        Err(e) => return Err(aws::failed("logs:ListTagsLogGroup")(e)),
    }
    Ok(())
}
