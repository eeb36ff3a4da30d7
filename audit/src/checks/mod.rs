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
mod db_appuser_select;
mod ec2_bastion_imdsv2;
mod ec2_ingress_no_public;
mod ec2_ssh_restricted;
mod endpoint_service;
mod grants;
mod invocation;
mod lambda_environment_no_secrets;
mod lambda_runtime_supported;
mod nacl;
pub(crate) mod network;
mod policy_document;
mod rds;
mod rds_admin_secret_managed;
mod rds_ca_certificate_valid;
mod rds_ingress_bastion_only;
mod rds_not_public;
mod rds_snapshots_private_encrypted;
mod rds_storage_encrypted;
mod rds_tls_required;
mod region;
mod rotated_secrets;
mod rotation_permissions;
mod schedule;
mod secret_kms_customer_managed;
mod secret_policy_not_public;
mod secret_rotation_admin_linked;
mod secret_rotation_function;
mod secret_rotation_function_role;
mod secret_rotation_healthy;
mod secret_rotation_schedule;
mod secret_unused;
mod setups;
mod vpc_default_security_group_closed;
mod vpc_dns;
pub(crate) mod vpc_endpoint;
pub(crate) mod vpc_endpoint_policy;

mod context;

use crate::finding::{CheckDefinition, Finding};
use crate::inventory::Inventory;
use crate::policy::Policy;
pub(crate) use context::{Context, partition};

pub use grants::{grants_allow_select, redact_grant, select_grant};

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
    vpc_dns::DEFINITION => vpc_dns::evaluate,
    vpc_endpoint::DEFINITION => vpc_endpoint::evaluate,
    vpc_endpoint_policy::DEFINITION => vpc_endpoint_policy::evaluate,
    ec2_ssh_restricted::DEFINITION => ec2_ssh_restricted::evaluate,
    ec2_ingress_no_public::DEFINITION => ec2_ingress_no_public::evaluate,
    rds_ingress_bastion_only::DEFINITION => rds_ingress_bastion_only::evaluate,
    vpc_default_security_group_closed::DEFINITION => vpc_default_security_group_closed::evaluate,
    ec2_bastion_imdsv2::DEFINITION => ec2_bastion_imdsv2::evaluate,
    rds_not_public::DEFINITION => rds_not_public::evaluate,
    rds_admin_secret_managed::DEFINITION => rds_admin_secret_managed::evaluate,
    rds_storage_encrypted::DEFINITION => rds_storage_encrypted::evaluate,
    rds_snapshots_private_encrypted::DEFINITION => rds_snapshots_private_encrypted::evaluate,
    rds_tls_required::DEFINITION => rds_tls_required::evaluate,
    rds_ca_certificate_valid::DEFINITION => rds_ca_certificate_valid::evaluate,
    secret_rotation_schedule::DEFINITION => secret_rotation_schedule::evaluate,
    secret_rotation_function::DEFINITION => secret_rotation_function::evaluate,
    secret_rotation_function_role::DEFINITION => secret_rotation_function_role::evaluate,
    lambda_runtime_supported::DEFINITION => lambda_runtime_supported::evaluate,
    lambda_environment_no_secrets::DEFINITION => lambda_environment_no_secrets::evaluate,
    secret_rotation_admin_linked::DEFINITION => secret_rotation_admin_linked::evaluate,
    secret_rotation_healthy::DEFINITION => secret_rotation_healthy::evaluate,
    secret_policy_not_public::DEFINITION => secret_policy_not_public::evaluate,
    secret_unused::DEFINITION => secret_unused::evaluate,
    secret_kms_customer_managed::DEFINITION => secret_kms_customer_managed::evaluate,
    db_appuser_select::DEFINITION => db_appuser_select::evaluate,
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
            organization_id: &inventory.metadata.organization_id,
            now: inventory.metadata.collected_at,
        };
        for check in EVALUATIONS {
            findings.extend(check(&context));
        }
    }
    findings.extend(region::region_collected(inventory));
    setups::merge_shared(findings)
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::finding::{Status, Summary};
    use crate::inventory::{Collected, RegionInventory};

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
