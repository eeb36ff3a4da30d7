//! `vpc.endpoint-policy.<service>`: the policy of each required service's
//! endpoint keeps the account's trust boundary.
//!
//! Like Prowler's `vpc_endpoint_connections_trust_boundaries`, an `Allow` that
//! names another account's principal (or `*` pinned to another account) fails.
//! AWS's default policy (full access for `*`, no condition) passes with a note by
//! default, because the tutorial keeps it and only this VPC reaches the endpoint;
//! the policy setting `endpoint_policy_pin_account = true` fails it as Prowler
//! does. `*` pinned by `aws:PrincipalOrgID` to an organisation (AWS's
//! data-perimeter endpoint policies) keeps the boundary when it is the audited
//! account's own organisation (read with `organizations:DescribeOrganization`),
//! and fails when it is another's or the account is in none; when the account's
//! organisation was not read the pin is undecided, an ERROR as an unknown
//! account is. Whether the policy allows the calls the rotation makes is
//! `vpc.endpoint`'s question.

use super::context::Context;
use super::endpoint_service::is_endpoint_service;
use crate::finding::{CheckDefinition, Finding, Severity, Status};
use crate::inventory::Collected;

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "vpc.endpoint-policy",
    title: "Endpoint policy keeps the trust boundary: no principal of another account",
    severity: Severity::Medium,
    resource_type: "AwsEc2VpcEndpointService",
    remediation: "Edit the endpoint policy (aws ec2 modify-vpc-endpoint --policy-document ...) so that its Allow statements name only this account's principals, or Principal \"*\" under the condition aws:PrincipalAccount = <this account>",
    compliance: &["Prowler:vpc_endpoint_connections_trust_boundaries"],
    references: &["https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html"],
};

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    let mut findings = Vec::new();
    let Collected::Ok(endpoints) = &context.region.endpoints else {
        return findings; // vpc.endpoint.* reports why
    };
    for service in &context.policy.required_endpoints {
        for endpoint in endpoints
            .iter()
            .filter(|e| is_endpoint_service(&e.service_name, &context.region.region, service))
        {
            let service_name = &endpoint.service_name;
            let resource = context.arn(
                "ec2",
                &format!("vpc-endpoint/{}", endpoint.id),
                &endpoint.id,
            );
            // A deleted endpoint stays listed a while, `deleting` then `deleted`
            // (AWS lists it "for a period": openshift/hypershift#9517); it carries
            // no traffic again, so its policy is not judged (a replaced endpoint's
            // old policy would FAIL beside the new one's PASS).
            if is_deleted(&endpoint.state) {
                let mut finding = context.finding(def, Status::Skip, &resource, format!("endpoint {} for {service_name} is {}: it carries no traffic, so its policy is not judged", endpoint.id, endpoint.state));
                finding.check_id = format!("{}.{service}", def.id);
                findings.push(finding);
                continue;
            }
            let mut finding = match (&endpoint.policy_document, context.account_id) {
                (None, _) => context.pass(def, &resource, format!("endpoint {} for {service_name} reports no policy (full access within the VPC)", endpoint.id)),
                (Some(_), None) => context.finding(def, Status::Error, &resource, format!("endpoint {}: the audited account is unknown (sts:GetCallerIdentity failed), so its policy's trust boundary cannot be judged", endpoint.id)),
                (Some(document), Some(account)) => {
                    match endpoint_boundary(document, account, context.organization_id, context.policy.endpoint_policy_pin_account) {
                        Ok(boundary) if !boundary.faults.is_empty() => context.fail(def, &resource, format!("endpoint {} for {service_name}: {}; expected only principals of account {account}", endpoint.id, boundary.faults.join("; "))),
                        // Undecided as the unknown account above is: ERROR, naming the read that failed.
                        Ok(boundary) if !boundary.undecided.is_empty() => context.finding(def, Status::Error, &resource, format!("endpoint {} for {service_name}: {}", endpoint.id, boundary.undecided.join("; "))),
                        Ok(boundary) => context.pass(def, &resource, format!("endpoint {} for {service_name}: {}", endpoint.id, boundary.passed(account))),
                        Err(fault) => context.fail(def, &resource, format!("endpoint {}: {fault}", endpoint.id)),
                    }
                }
            };
            finding.check_id = format!("{}.{service}", def.id);
            findings.push(finding);
        }
    }
    findings
}

/// Whether an endpoint's `State` is on its way out or gone (`deleting`, `deleted`).
fn is_deleted(state: &str) -> bool {
    state.eq_ignore_ascii_case("deleting") || state.eq_ignore_ascii_case("deleted")
}

/// What an endpoint policy does at the account's trust boundary.
struct Boundary {
    /// Statements that cross it.
    faults: Vec<String>,
    /// Statements pinned to an organisation that cannot be compared with the
    /// account's, which was not read.
    undecided: Vec<String>,
    /// The account's own organisation, when a statement admits its accounts.
    own: Vec<String>,
    /// It lets Principal `*` in with no condition (AWS's default), allowed as
    /// `endpoint_policy_pin_account` is off.
    open: bool,
}

impl Boundary {
    /// The PASS message's verdict.
    fn passed(&self, account: &str) -> String {
        let admitted = if self.own.is_empty() {
            format!("its policy names no principal outside account {account}")
        } else {
            format!(
                "its policy admits the accounts of organisation {} (this account's) and names no other principal outside account {account}",
                self.own.join(", ")
            )
        };
        let note = if self.open {
            "; note: it lets Principal * in without pinning this account (AWS's default full-access policy; set endpoint_policy_pin_account = true to fail it)"
        } else {
            ""
        };
        format!("{admitted}{note}")
    }
}

/// How an endpoint policy keeps the account's trust boundary. `organisation`
/// is the account's organisation as read (`Ok(None)`: in none).
fn endpoint_boundary(
    document: &str,
    account: &str,
    organisation: &Collected<Option<String>>,
    pin_account: bool,
) -> Result<Boundary, String> {
    let access = super::policy_document::resource_policy_access(document, account)?;
    let mut faults = access.faults;
    let (own, undecided) = if pin_account {
        // Asked for this account only: an organisation's accounts are more.
        faults.extend(access.organisations.into_iter().map(|s| s.message));
        (Vec::new(), Vec::new())
    } else {
        let judged = super::policy_document::judge_organisations(
            access.organisations,
            account,
            organisation,
        );
        faults.extend(judged.foreign);
        (judged.own, judged.undecided)
    };
    let before = faults.len();
    if !pin_account {
        // The unconditioned `*` (AWS's default) is allowed unless asked otherwise.
        faults.retain(|f| !f.ends_with("allows Principal * (public)"));
    }
    let open = faults.len() < before;
    Ok(Boundary {
        faults,
        undecided,
        own,
        open,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::inventory::Collected;

    #[test]
    fn endpoint_policies_keep_the_trust_boundary() {
        use crate::finding::Status;
        let with_policy = |document: String, pin: bool| {
            let mut region = compliant_region();
            if let Collected::Ok(endpoints) = &mut region.endpoints {
                endpoints[0].policy_document = Some(document);
            }
            let policy = crate::policy::Policy {
                endpoint_policy_pin_account: pin,
                ..crate::policy::Policy::default()
            };
            crate::checks::evaluate(&inventory_of(region), &policy)
                .into_iter()
                .find(|f| f.check_id == "vpc.endpoint-policy.secretsmanager")
                .expect("finding")
        };
        assert_eq!(
            with_policy(full_access_policy(), false).status,
            Status::Pass
        );
        assert_eq!(with_policy(full_access_policy(), true).status, Status::Fail);
        let foreign = serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "*", "Resource": "*"}]}).to_string();
        let finding = with_policy(foreign, false);
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("999999999999"),
            "{}",
            finding.message
        );
        let pinned = serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}}]}).to_string();
        assert_eq!(with_policy(pinned, true).status, Status::Pass);
    }

    /// A replaced endpoint, listed a while as `deleting` or `deleted`, is not
    /// judged: its old policy does not FAIL beside the live endpoint's PASS.
    #[test]
    fn a_deleted_endpoints_policy_is_not_judged() {
        use crate::finding::Status;
        let foreign = serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "*", "Resource": "*"}]}).to_string();
        for (state, expected) in [
            ("deleted", Status::Skip),
            ("Deleting", Status::Skip),
            ("available", Status::Fail),
            ("pending", Status::Fail),
        ] {
            let mut region = compliant_region();
            if let Collected::Ok(endpoints) = &mut region.endpoints {
                let mut old = endpoints[0].clone();
                old.id = "vpce-old".to_owned();
                old.state = state.to_owned();
                old.policy_document = Some(foreign.clone());
                endpoints.push(old);
            }
            let findings: Vec<_> =
                crate::checks::evaluate(&inventory_of(region), &crate::policy::Policy::default())
                    .into_iter()
                    .filter(|f| f.check_id == "vpc.endpoint-policy.secretsmanager")
                    .collect();
            let old = findings
                .iter()
                .find(|f| f.resource.contains("vpce-old"))
                .expect("a finding for the old endpoint");
            assert_eq!(old.status, expected, "{state}: {}", old.message);
            assert!(
                findings
                    .iter()
                    .any(|f| !f.resource.contains("vpce-old") && f.status == Status::Pass),
                "{state}: the live endpoint still passes: {findings:#?}"
            );
        }
    }

    /// `*` pinned to an organisation (AWS's data-perimeter endpoint policy) is
    /// judged against the audited account's organisation: its own PASSes
    /// saying so, another's FAILs, and with the organisation unread it is an
    /// ERROR naming the pinned id and the read that failed.
    #[test]
    #[allow(clippy::type_complexity)] // the table's row, written where it is read
    fn an_organisation_pin_is_judged_against_the_accounts_organisation() {
        use crate::finding::Status;
        let perimeter = |organisation: &str| {
            serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": organisation, "aws:ResourceOrgID": organisation}}}]})
            .to_string()
        };
        // (name, the account's organisation, the policy's organisation, the status, text)
        let cases: Vec<(&str, Collected<Option<String>>, &str, Status, &str)> = vec![
            (
                "this organisation",
                Collected::Ok(Some(ORGANIZATION.to_owned())),
                ORGANIZATION,
                Status::Pass,
                "its policy admits the accounts of organisation o-tutorial123 (this account's) and names no other principal outside account 123456789012",
            ),
            (
                "another organisation",
                Collected::Ok(Some(ORGANIZATION.to_owned())),
                "o-another9999",
                Status::Fail,
                "shares it with the accounts of organisation o-another9999 (aws:PrincipalOrgID), not account 123456789012's organisation o-tutorial123",
            ),
            (
                "an account in no organisation",
                Collected::Ok(None),
                ORGANIZATION,
                Status::Fail,
                "and account 123456789012 is in no organisation",
            ),
            (
                "the organisation unread",
                Collected::Failed(denied("organizations:DescribeOrganization")),
                "o-another9999",
                Status::Error,
                "shares it with the accounts of organisation o-another9999 (aws:PrincipalOrgID), and whether o-another9999 is account 123456789012's organisation is undecided, organizations:DescribeOrganization was not read: access denied to organizations:DescribeOrganization",
            ),
        ];
        for (name, organisation, pinned, status, text) in cases {
            let mut region = compliant_region();
            if let Collected::Ok(endpoints) = &mut region.endpoints {
                endpoints[0].policy_document = Some(perimeter(pinned));
            }
            let finding =
                in_organization(region, organisation, "vpc.endpoint-policy.secretsmanager");
            assert_eq!(finding.status, status, "{name}: {}", finding.message);
            assert!(
                finding.message.contains(text) && !finding.message.contains("note:"),
                "{name}: {}",
                finding.message
            );
        }
    }
}
