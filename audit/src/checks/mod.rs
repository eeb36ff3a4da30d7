//! Checks: pure functions from an inventory and a policy to findings.
//!
//! Checks do no I/O, so they are tested exhaustively with hand-built inventories
//! and give the same findings on a saved inventory as on a live one (ages are
//! measured against the collection time, not the clock). Each check has a stable
//! id and a [`CheckDefinition`] (title, default severity, remediation, compliance
//! ids); a finding says what was found *and* what was expected.
//!
//! Missing input is never a silent pass: when the data a check needs failed to
//! load, the check reports ERROR naming the IAM action; when it was deliberately
//! not read (`--read-secrets` absent), SKIP with the reason.

mod db_appuser_least_privilege;
mod ec2_bastion_imdsv2;
mod grants;
mod invocation;
mod lambda_environment_no_secrets;
mod lambda_runtime_supported;
mod nacl;
pub(crate) mod network;
mod policies;
mod rds;
mod rds_ca_certificate_valid;
mod rds_snapshots_private_encrypted;
mod rds_storage_encrypted;
mod rds_tls_required;
mod region;
mod role;
mod schedule;
mod secret_kms_customer_managed;
mod secret_unused;
mod secrets;
mod setups;
mod vpc_default_security_group_closed;

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::inventory::{Collected, CollectionError, Inventory, RegionInventory, Scope};
use crate::policy::Policy;

pub use grants::{grants_allow_select, redact_grant, select_grant};

/// The outcome of a check for one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pass,
    Fail,
    Error,
    Skip,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Error => "ERROR",
            Status::Skip => "SKIP",
        })
    }
}

/// How much a failure matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

/// What a check is, independent of any resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckDefinition {
    /// Stable id (endpoint checks append the service: `vpc.endpoint.rds`).
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// The kind of resource, as Security Hub names it.
    pub resource_type: &'static str,
    pub remediation: &'static str,
    /// Compliance framework ids this check maps to.
    pub compliance: &'static [&'static str],
    /// Documentation for the remediation.
    pub references: &'static [&'static str],
}

/// One check's verdict on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub check_id: String,
    pub title: String,
    pub status: Status,
    pub severity: Severity,
    pub region: String,
    /// The resource's ARN (or id, when no ARN can be formed).
    pub resource: String,
    pub resource_type: String,
    /// What was found, and what was expected.
    pub message: String,
    pub remediation: String,
    pub compliance: Vec<String>,
    pub references: Vec<String>,
    /// The audited account, when known (every finding of a run over several accounts has it).
    #[serde(default)]
    pub account_id: Option<String>,
    /// The audited setup: the VPC's `Name` tag (or id), else the name it was looked
    /// for by; with `--discover`, the name of the secret the setup was found by.
    #[serde(default)]
    pub setup: Option<String>,
    /// Set when a `--mutelist` entry accepts this finding: it keeps its status and
    /// evidence, is shown as MUTED, and no longer decides the exit status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<Muted>,
}

/// Why a finding is muted (a `--mutelist` entry, see [`crate::mutelist`]), as every
/// format shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Muted {
    pub reason: String,
    /// The last day the entry mutes (`YYYY-MM-DD`, UTC).
    pub expires: String,
    /// The entry's position in the file (1-based), to find it.
    pub entry: usize,
    /// How the entry matched: `tag k=v` when the resource's own tags decided it
    /// (whoever may tag the resource in the audited account can set it), else
    /// `resource`, `resource and tag k=v`, `account`, `region` or `check`.
    #[serde(default)]
    pub matched_by: String,
}

impl Finding {
    /// `muted (FAIL) until 2027-03-31 by mutelist entry 1 (matched by tag
    /// exception=SEC-1): <reason>`, when muted.
    pub fn muted_note(&self) -> Option<String> {
        self.muted.as_ref().map(|m| {
            let how = if m.matched_by.is_empty() {
                String::new()
            } else {
                format!(" (matched by {})", m.matched_by)
            };
            format!(
                "muted ({}) until {} by mutelist entry {}{how}: {}",
                self.status, m.expires, m.entry, m.reason
            )
        })
    }
}

/// PASS/FAIL/ERROR/SKIP counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
    /// Findings a `--mutelist` entry accepts, whatever their status (not counted above).
    #[serde(default)]
    pub muted: usize,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Self {
        let mut summary = Self::default();
        for finding in findings {
            if finding.muted.is_some() {
                summary.muted += 1;
                continue;
            }
            match finding.status {
                Status::Pass => summary.pass += 1,
                Status::Fail => summary.fail += 1,
                Status::Error => summary.error += 1,
                Status::Skip => summary.skip += 1,
            }
        }
        summary
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} errors, {} skipped",
            self.pass, self.fail, self.error, self.skip
        )?;
        if self.muted > 0 {
            write!(f, ", {} muted", self.muted)?;
        }
        Ok(())
    }
}

/// Declares the one list of checks: each definition beside the function that
/// evaluates it, from which [`CHECKS`] and [`evaluate`]'s walk are both made.
macro_rules! checks {
    ($($definition:path => $evaluate:path,)*) => {
        /// Every check, in report order.
        pub const CHECKS: &[CheckDefinition] = &[$($definition),*];
        /// Each check's evaluation, in the order of [`CHECKS`].
        const EVALUATIONS: &[fn(&Context<'_>) -> Vec<Finding>] = &[$($evaluate),*];
    };
}

checks! {
    network::VPC_DNS => network::vpc_dns,
    network::VPC_ENDPOINT => network::vpc_endpoints,
    network::ENDPOINT_POLICY => network::vpc_endpoint_policies,
    network::SSH_RESTRICTED => network::ssh_restricted,
    network::INGRESS_NO_PUBLIC => network::ingress_no_public,
    network::RDS_INGRESS_BASTION_ONLY => network::rds_ingress_bastion_only,
    vpc_default_security_group_closed::DEFINITION => vpc_default_security_group_closed::evaluate,
    ec2_bastion_imdsv2::DEFINITION => ec2_bastion_imdsv2::evaluate,
    rds::NOT_PUBLIC => rds::not_public,
    rds::ADMIN_SECRET_MANAGED => rds::admin_secret_managed,
    rds_storage_encrypted::DEFINITION => rds_storage_encrypted::evaluate,
    rds_snapshots_private_encrypted::DEFINITION => rds_snapshots_private_encrypted::evaluate,
    rds_tls_required::DEFINITION => rds_tls_required::evaluate,
    rds_ca_certificate_valid::DEFINITION => rds_ca_certificate_valid::evaluate,
    secrets::ROTATION_SCHEDULE => secrets::rotation_schedule,
    secrets::ROTATION_FUNCTION => secrets::rotation_function,
    role::FUNCTION_ROLE => role::function_role,
    lambda_runtime_supported::DEFINITION => lambda_runtime_supported::evaluate,
    lambda_environment_no_secrets::DEFINITION => lambda_environment_no_secrets::evaluate,
    secrets::ADMIN_LINKED => secrets::admin_linked,
    secrets::ROTATION_HEALTHY => secrets::rotation_healthy,
    policies::SECRET_POLICY_NOT_PUBLIC => policies::secret_policy_not_public,
    secret_unused::DEFINITION => secret_unused::evaluate,
    secret_kms_customer_managed::DEFINITION => secret_kms_customer_managed::evaluate,
    grants::APPUSER_SELECT => grants::appuser_select,
    db_appuser_least_privilege::DEFINITION => db_appuser_least_privilege::evaluate,
}

/// Evaluates every check over every region of the inventory.
pub fn evaluate(inventory: &Inventory, policy: &Policy) -> Vec<Finding> {
    let mut findings = Vec::new();
    for region in &inventory.regions {
        let context = Context {
            region,
            policy,
            // A discovered setup is checked against its own scope (its VPC,
            // secret and database), the tutorial's against the run's.
            scope: region
                .discovered
                .as_ref()
                .map_or(&inventory.metadata.scope, |setup| &setup.scope),
            account_id: inventory.metadata.account_id.as_deref(),
            now: inventory.metadata.collected_at,
        };
        for check in EVALUATIONS {
            findings.extend(check(&context));
        }
    }
    findings.extend(region::region_collected(inventory));
    setups::merge_shared(findings)
}

/// What every check sees.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub region: &'a RegionInventory,
    pub policy: &'a Policy,
    pub scope: &'a Scope,
    pub account_id: Option<&'a str>,
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

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn the_compliant_fixture_passes_every_check() {
        let inventory = compliant_inventory();
        let findings = evaluate(&inventory, &Policy::default());
        let not_passing: Vec<_> = findings
            .iter()
            .filter(|f| f.status != Status::Pass)
            .collect();
        assert!(not_passing.is_empty(), "{not_passing:#?}");
        let mut ids: Vec<&str> = findings.iter().map(|f| f.check_id.as_str()).collect();
        ids.dedup();
        assert_eq!(
            ids,
            [
                "vpc.dns",
                "vpc.endpoint.secretsmanager",
                "vpc.endpoint.rds",
                "vpc.endpoint-policy.secretsmanager",
                "vpc.endpoint-policy.rds",
                "ec2.ssh.restricted",
                "ec2.ingress.no-public",
                "rds.ingress.bastion-only",
                "vpc.default-security-group.closed",
                "ec2.bastion.imdsv2",
                "rds.not-public",
                "rds.admin-secret.managed",
                "rds.storage.encrypted",
                "rds.snapshots.private-encrypted",
                "rds.tls.required",
                "rds.ca-certificate.valid",
                "secret.rotation.schedule",
                "secret.rotation.function",
                "secret.rotation.function-role",
                "lambda.runtime.supported",
                "lambda.environment.no-secrets",
                "secret.rotation.admin-linked",
                "secret.rotation.healthy",
                "secret.policy.not-public",
                "secret.unused",
                "secret.kms.customer-managed",
                "db.appuser.select",
                "db.appuser.least-privilege",
            ]
        );
    }

    #[test]
    fn check_ids_are_unique_and_every_check_has_remediation() {
        let mut ids: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CHECKS.len());
        assert!(
            CHECKS
                .iter()
                .all(|c| !c.remediation.is_empty() && !c.title.is_empty())
        );
    }

    #[test]
    fn resources_are_arns_when_the_account_is_known() {
        let inventory = compliant_inventory();
        let findings = evaluate(&inventory, &Policy::default());
        let dns = findings
            .iter()
            .find(|f| f.check_id == "vpc.dns")
            .expect("vpc.dns");
        assert_eq!(
            dns.resource,
            format!("arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/{VPC}")
        );
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }

    fn discovered(region: RegionInventory) -> Inventory {
        let mut inventory = inventory_of(discovered_as(region, "billing-db-app"));
        // The run's scope names nothing: each setup carries its own.
        inventory.metadata.scope.secret_ids = Vec::new();
        inventory.metadata.scope.db_instance_id = String::new();
        inventory.metadata.scope.discover = true;
        inventory
    }

    #[test]
    fn a_discovered_setup_is_checked_in_its_own_scope_and_named_by_its_secret() {
        let inventory = discovered(compliant_region());
        let findings = evaluate(&inventory, &Policy::default());
        assert_eq!(findings, {
            let mut expected = evaluate(&compliant_inventory(), &Policy::default());
            for finding in &mut expected {
                finding.setup = Some("billing-db-app".to_owned());
            }
            expected
        });

        // Without a bastion, no bastion is required: the database's group may
        // admit only the function's (here it still admits the former bastion's).
        let mut region = compliant_region();
        region.bastions = Collected::Ok(Vec::new());
        let findings = evaluate(&discovered(region), &Policy::default());
        let failing: Vec<_> = findings
            .iter()
            .filter(|f| f.status != Status::Pass)
            .map(|f| f.check_id.as_str())
            .collect();
        assert_eq!(failing, ["rds.ingress.bastion-only"], "{findings:#?}");
        assert!(
            !findings
                .iter()
                .any(|f| f.message.contains("no instance tagged"))
        );
    }

    #[test]
    fn a_discovered_setup_with_rotation_off_or_a_function_outside_a_vpc_fails() {
        // Rotation off (no function): FSBP SecretsManager.1 fails, not a silent pass.
        let mut region = compliant_region();
        if let Collected::Ok(secrets) = &mut region.secrets {
            for secret in secrets.iter_mut().filter(|s| s.arn == SECRET_ARN) {
                secret.rotation_enabled = Some(false);
                secret.rotation_lambda_arn = None;
            }
        }
        let findings = evaluate(&discovered(region), &Policy::default());
        for id in ["secret.rotation.schedule", "secret.rotation.function"] {
            let finding = findings
                .iter()
                .find(|f| f.check_id == id && f.resource == SECRET_ARN)
                .unwrap_or_else(|| panic!("{id}: {findings:#?}"));
            assert_eq!(finding.status, Status::Fail, "{finding:#?}");
            assert!(
                finding
                    .compliance
                    .contains(&"AWS-FSBP:SecretsManager.1".to_owned())
            );
        }

        // A function outside any VPC: the setup's VPC is unknown (the collector
        // says why) and the function check fails it for running outside a VPC.
        let mut region = compliant_region();
        for function in &mut region.functions {
            if let Collected::Ok(Some(configuration)) = &mut function.configuration {
                configuration.vpc_id = None;
                configuration.subnet_ids.clear();
                configuration.security_group_ids.clear();
            }
        }
        let why = "setup billing-db-app: its rotation function runs outside any VPC";
        region.vpc = Collected::Skipped(why.to_owned());
        region.subnets = Collected::Skipped(why.to_owned());
        region.endpoints = Collected::Skipped(why.to_owned());
        let mut inventory = discovered(region);
        if let Some(setup) = &mut inventory.regions[0].discovered {
            setup.scope.vpc_id = None;
        }
        let findings = evaluate(&inventory, &Policy::default());
        let function = findings
            .iter()
            .find(|f| f.check_id == "secret.rotation.function")
            .expect("the function check");
        assert_eq!(function.status, Status::Fail, "{function:#?}");
        assert!(
            function.message.contains("does not run in a VPC"),
            "{function:#?}"
        );
        let dns = findings
            .iter()
            .find(|f| f.check_id == "vpc.dns")
            .expect("the VPC check");
        assert_eq!(dns.status, Status::Skip);
        assert!(dns.message.contains("outside any VPC"), "{dns:#?}");
    }

    #[test]
    fn summary_counts_each_status() {
        let inventory = compliant_inventory();
        let mut findings = evaluate(&inventory, &Policy::default());
        findings[0].status = Status::Fail;
        findings[1].status = Status::Error;
        findings[2].status = Status::Skip;
        let summary = Summary::of(&findings);
        assert_eq!(
            (summary.fail, summary.error, summary.skip, summary.pass),
            (1, 1, 1, findings.len() - 3)
        );
    }
}
