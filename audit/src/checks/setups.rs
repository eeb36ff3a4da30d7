//! Setups that share a VPC or a database (`--discover` finds one per secret)
//! share the findings about it: the VPC's DNS, its endpoints, the bastion's and
//! the database's groups. Each setup is checked on its own (its scope decides
//! what it reads), and a finding that every setup of its resource reached alike
//! (same check, resource, verdict and message) is reported once, listing the
//! setups, instead of once per setup under one id. A finding that differs per
//! setup stays one per setup; OCSF's `finding_info.uid` and JUnit's test names
//! include the setup, so they stay unique either way.

use std::collections::HashMap;

use crate::finding::Finding;

/// `findings` with those identical but for their setup merged into one whose
/// `setup` lists them (in order, each once), at the first one's place.
pub fn merge_shared(findings: Vec<Finding>) -> Vec<Finding> {
    type Key = (
        Option<String>,
        String,
        String,
        String,
        crate::finding::Status,
        String,
    );
    let key = |f: &Finding| -> Key {
        (
            f.account_id.clone(),
            f.region.clone(),
            f.check_id.clone(),
            f.resource.clone(),
            f.status,
            f.message.clone(),
        )
    };
    let mut merged: Vec<(Finding, Vec<String>)> = Vec::with_capacity(findings.len());
    let mut first: HashMap<Key, usize> = HashMap::new();
    for finding in findings {
        let setup = finding.setup.clone();
        if let Some(&index) = first.get(&key(&finding)) {
            merged[index].1.extend(setup);
        } else {
            first.insert(key(&finding), merged.len());
            merged.push((finding, setup.into_iter().collect()));
        }
    }
    merged
        .into_iter()
        .map(|(mut finding, mut setups)| {
            setups.sort();
            setups.dedup();
            if !setups.is_empty() {
                finding.setup = Some(setups.join(", "));
            }
            finding
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::fixtures::*;
    use crate::Policy;
    use crate::checks::evaluate;
    use crate::finding::Status;

    /// Two discovered setups in one VPC, on one database: `billing` and `orders`.
    fn two_setups_in_one_vpc() -> crate::inventory::Inventory {
        let mut inventory = inventory_of(discovered_as(compliant_region(), "billing"));
        inventory
            .regions
            .push(discovered_as(compliant_region(), "orders"));
        inventory
    }

    #[test]
    fn a_vpc_shared_by_two_setups_is_judged_once_listing_both() {
        let findings = evaluate(&two_setups_in_one_vpc(), &Policy::default());
        let dns: Vec<_> = findings
            .iter()
            .filter(|f| f.check_id == "vpc.dns")
            .collect();
        assert_eq!(dns.len(), 1, "{dns:#?}");
        assert_eq!(dns[0].setup.as_deref(), Some("billing, orders"));
    }

    #[test]
    fn finding_ids_and_test_names_are_unique_when_setups_share_a_vpc() {
        let mut inventory = two_setups_in_one_vpc();
        // The second setup's DNS is judged otherwise (its own collection saw
        // hostnames off): two findings on one VPC, one per setup.
        if let Some(crate::inventory::Collected::Ok(Some(vpc))) =
            inventory.regions.get_mut(1).map(|r| &mut r.vpc)
        {
            vpc.dns_hostnames = crate::inventory::Collected::Ok(false);
        }
        let findings = evaluate(&inventory, &Policy::default());
        let report = crate::Report::new(&inventory, findings);
        let dns = report.findings.iter().filter(|f| f.check_id == "vpc.dns");
        assert_eq!(dns.count(), 2);
        let uids: Vec<String> = report
            .findings
            .iter()
            .map(|f| crate::report::ocsf::finding_uid(&report, f))
            .collect();
        let unique: BTreeSet<&String> = uids.iter().collect();
        assert_eq!(unique.len(), uids.len(), "{uids:#?}");
        let junit = report.render(crate::Format::Junit);
        let names: Vec<&str> = junit
            .lines()
            .filter_map(|l| l.split("<testcase ").nth(1))
            .collect();
        let unique: BTreeSet<&&str> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:#?}");
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.status == Status::Fail && f.setup.as_deref() == Some("orders"))
        );
    }
}
