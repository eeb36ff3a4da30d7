//! What every check sees ([`Context`]) and how it words a finding. A module of
//! its own so that each check file depends on it and on [`crate::finding`], never
//! on the list of checks in `mod.rs`.

use time::OffsetDateTime;

use crate::finding::{CheckDefinition, Finding, Status};
use crate::inventory::{Collected, CollectionError, RegionInventory, Scope};
use crate::policy::Policy;

/// What every check sees.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub region: &'a RegionInventory,
    pub policy: &'a Policy,
    pub scope: &'a Scope,
    pub account_id: Option<&'a str>,
    /// The audited account's organisation (`Ok(None)`: in none).
    pub organization_id: &'a Collected<Option<String>>,
    pub now: OffsetDateTime,
}

impl Context<'_> {
    /// `arn:<partition>:<service>:<region>:<account>:<resource>`, or the bare id when
    /// the account is unknown.
    pub fn arn(&self, service: &str, resource: &str, id: &str) -> String {
        match self.account_id {
            Some(account) => format!(
                "arn:{}:{service}:{}:{account}:{resource}",
                partition(&self.region.region),
                self.region.region
            ),
            None => id.to_owned(),
        }
    }

    pub fn finding(
        &self,
        definition: &CheckDefinition,
        status: Status,
        resource: &str,
        message: String,
    ) -> Finding {
        Finding {
            check_id: definition.id.to_owned(),
            title: definition.title.to_owned(),
            status,
            severity: definition.severity,
            region: self.region.region.clone(),
            resource: resource.to_owned(),
            resource_type: definition.resource_type.to_owned(),
            message,
            remediation: definition.remediation.to_owned(),
            compliance: definition
                .compliance
                .iter()
                .map(|&c| c.to_owned())
                .collect(),
            references: definition
                .references
                .iter()
                .map(|&r| r.to_owned())
                .collect(),
            account_id: self.account_id.map(str::to_owned),
            setup: Some(self.setup()),
            muted: None,
        }
    }

    /// The setup a finding belongs to: a discovered setup's secret name; else the
    /// VPC found (its `Name`, else its id), else the one asked for (`--vpc-id`, or
    /// the policy's name).
    pub fn setup(&self) -> String {
        if let Some(setup) = &self.region.discovered {
            return setup.secret_name.clone();
        }
        match (
            self.region.vpc.ok().and_then(Option::as_ref),
            &self.scope.vpc_id,
        ) {
            (Some(vpc), _) => vpc.name.clone().unwrap_or_else(|| vpc.id.clone()),
            (None, Some(id)) => id.clone(),
            (None, None) => self.policy.vpc_name.clone(),
        }
    }

    pub fn pass(&self, definition: &CheckDefinition, resource: &str, message: String) -> Finding {
        self.finding(definition, Status::Pass, resource, message)
    }

    pub fn fail(&self, definition: &CheckDefinition, resource: &str, message: String) -> Finding {
        self.finding(definition, Status::Fail, resource, message)
    }

    pub fn error(
        &self,
        definition: &CheckDefinition,
        resource: &str,
        error: &CollectionError,
    ) -> Finding {
        self.finding(definition, Status::Error, resource, error.describe())
    }

    pub fn skip(&self, definition: &CheckDefinition, resource: &str, reason: &str) -> Finding {
        self.finding(definition, Status::Skip, resource, reason.to_owned())
    }

    /// The finding for input that is not there: ERROR for a failed call, SKIP for
    /// data deliberately not read. `None` when the data is there.
    pub fn missing<T>(
        &self,
        definition: &CheckDefinition,
        resource: &str,
        collected: &Collected<T>,
    ) -> Option<Finding> {
        match collected {
            Collected::Ok(_) => None,
            Collected::Failed(error) => Some(self.error(definition, resource, error)),
            Collected::Skipped(reason) => Some(self.skip(definition, resource, reason)),
        }
    }

    /// `check` on each primary (fully audited) secret; the finding for a
    /// listing that failed or was not read otherwise.
    pub fn each_primary_secret(
        &self,
        definition: &CheckDefinition,
        check: impl Fn(&crate::inventory::Secret) -> Finding,
    ) -> Vec<Finding> {
        let Collected::Ok(secrets) = &self.region.secrets else {
            return self
                .missing(
                    definition,
                    &self.scope.secret_ids.join(","),
                    &self.region.secrets,
                )
                .into_iter()
                .collect();
        };
        secrets.iter().filter(|s| s.primary).map(check).collect()
    }

    /// `check` on each rotation function that exists; the finding for one that
    /// could not be read (one that does not exist fails `secret.rotation.function`).
    pub fn each_function(
        &self,
        definition: &CheckDefinition,
        check: impl Fn(&crate::inventory::FunctionConfiguration) -> Finding,
    ) -> Vec<Finding> {
        self.region
            .functions
            .iter()
            .filter_map(|function| match &function.configuration {
                Collected::Ok(Some(configuration)) => Some(check(configuration)),
                Collected::Ok(None) => None,
                other => self.missing(definition, &function.arn, other),
            })
            .collect()
    }

    /// The VPC the scope names or that was found, for messages.
    pub fn vpc_label(&self) -> String {
        match &self.scope.vpc_id {
            Some(id) => id.clone(),
            None => format!("the VPC tagged Name={}", self.policy.vpc_name),
        }
    }
}

/// A note's words for input that was not read: the action and whether it was
/// denied, failed or skipped (`action` names a skipped read, which carries only a
/// reason), without the remediation or AWS's message, e.g.
/// `ec2:DescribeNetworkAcls (access denied)`. `None` when the input was read.
pub(crate) fn unread_input<T>(collected: &Collected<T>, action: &str) -> Option<String> {
    match collected {
        Collected::Ok(_) => None,
        Collected::Failed(error) if error.access_denied => {
            Some(format!("{} (access denied)", error.action))
        }
        Collected::Failed(error) => Some(format!("{} (failed)", error.action)),
        Collected::Skipped(_) => Some(format!("{action} (skipped)")),
    }
}

/// The partition of a region (`aws`, `aws-cn`, `aws-us-gov`).
pub(crate) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}
