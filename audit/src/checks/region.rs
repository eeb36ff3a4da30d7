//! `region.collected`: a region whose collection stopped part-way (a panic in
//! the audit) is one ERROR finding, like an account that could not be reached
//! (`account.reachable`), so a bug met in one region of a large organisation
//! neither hides that region nor ends the run.

use crate::finding::{CheckDefinition, Finding, Severity, Status};
use crate::inventory::Inventory;

pub const REGION_COLLECTED: CheckDefinition = CheckDefinition {
    id: "region.collected",
    title: "The auditor collected the region",
    severity: Severity::High,
    resource_type: "Other",
    remediation: "Run the audit again for the region (`--region REGION`); if it stops again, report the message with the audit's version",
    compliance: &[],
    references: &[],
};

/// One ERROR finding per region whose collection stopped.
pub fn region_collected(inventory: &Inventory) -> Vec<Finding> {
    let definition = &REGION_COLLECTED;
    inventory
        .failed_regions
        .iter()
        .map(|failed| Finding {
            check_id: definition.id.to_owned(),
            title: definition.title.to_owned(),
            status: Status::Error,
            severity: definition.severity,
            region: failed.region.clone(),
            resource: format!("region/{}", failed.region),
            resource_type: definition.resource_type.to_owned(),
            message: format!(
                "region {} was not audited: {}",
                failed.region,
                failed.error.describe()
            ),
            remediation: definition.remediation.to_owned(),
            compliance: Vec::new(),
            references: Vec::new(),
            account_id: inventory.metadata.account_id.clone(),
            setup: None,
            muted: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::compliant_inventory;
    use super::*;
    use crate::inventory::FailedRegion;

    #[test]
    fn a_region_that_stopped_is_one_error_and_the_others_are_still_checked() {
        let mut inventory = compliant_inventory();
        let panic: Box<dyn std::any::Any + Send> = Box::new("index out of bounds");
        inventory.failed_regions.push(FailedRegion {
            region: "eu-west-3".to_owned(),
            error: crate::collect::panicked("eu-west-3", panic.as_ref()),
        });
        let findings = crate::checks::evaluate(&inventory, &crate::Policy::default());
        let errors: Vec<_> = findings
            .iter()
            .filter(|f| f.status != Status::Pass)
            .collect();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].check_id, "region.collected");
        assert_eq!(errors[0].region, "eu-west-3");
        assert!(errors[0].message.contains("index out of bounds"));
        assert!(findings.iter().any(|f| f.region != "eu-west-3"));
    }

    #[test]
    fn a_panicking_future_is_an_error_and_a_finished_one_its_output() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let caught = runtime.block_on(crate::collect::CatchPanic::new(async {
            tokio::task::yield_now().await;
            panic!("boom in region");
        }));
        let panic = caught.expect_err("the panic is caught");
        let error = crate::collect::panicked("ap-south-2", panic.as_ref());
        assert!(error.message.contains("boom in region"), "{error:?}");
        assert!(error.message.contains("ap-south-2"));
        let done = runtime.block_on(crate::collect::CatchPanic::new(async { 7 }));
        assert_eq!(done.ok(), Some(7));
    }

    /// The workspace's release profile must unwind, or the catch above never runs
    /// in a release build of the audit.
    #[test]
    fn the_release_profile_unwinds_and_only_the_lambdas_aborts() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
        let text = std::fs::read_to_string(path).expect("the workspace's Cargo.toml");
        let manifest: toml::Table = text.parse().expect("TOML");
        let profile = |name: &str| {
            manifest["profile"][name]
                .get("panic")
                .and_then(toml::Value::as_str)
                .map(str::to_owned)
        };
        assert_ne!(profile("release").as_deref(), Some("abort"));
        assert_eq!(profile("lambda").as_deref(), Some("abort"));
    }
}
