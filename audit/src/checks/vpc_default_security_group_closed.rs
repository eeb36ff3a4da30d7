//! `vpc.default-security-group.closed`: the VPC's default security group admits
//! and sends nothing (FSBP EC2.2).
//!
//! A resource launched without a group lands in the default one, which AWS
//! creates admitting all traffic from its own members and sending all traffic
//! out (Amazon VPC User Guide, "Default security groups for your VPCs"). With no
//! rules, a resource placed there by mistake reaches nothing and nothing reaches
//! it; the setup's own resources all have groups of their own. AWS Config's
//! `vpc-default-security-group-closed` is NON_COMPLIANT when the group has any
//! inbound or outbound rule.

use super::context::Context;
use crate::finding::{CheckDefinition, Finding, Severity};
use crate::inventory::Collected;

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "vpc.default-security-group.closed",
    title: "The VPC's default security group restricts all traffic",
    severity: Severity::High,
    resource_type: "AwsEc2SecurityGroup",
    remediation: "Remove every rule of the default group: aws ec2 revoke-security-group-ingress --group-id <id> --security-group-rule-ids <ids>, and the same with revoke-security-group-egress (ids from aws ec2 describe-security-group-rules --filters Name=group-id,Values=<id>); give every resource a group of its own; cargo xtask provision does this for the VPC it creates",
    compliance: &[
        "AWS-FSBP:EC2.2",
        "AWS-Config:vpc-default-security-group-closed",
        "Prowler:ec2_securitygroup_default_restrict_traffic",
    ],
    references: &[
        "https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-2",
    ],
};

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    let group = match &context.region.default_security_group {
        Collected::Ok(Some(group)) => group,
        Collected::Ok(None) => {
            // Every VPC has one; none listed means no VPC was read.
            return vec![context.skip(
                def,
                &context.vpc_label(),
                &format!(
                    "no default security group was listed for {}",
                    context.vpc_label()
                ),
            )];
        }
        other => {
            return context
                .missing(def, &context.vpc_label(), other)
                .into_iter()
                .collect();
        }
    };
    let arn = context.arn("ec2", &format!("security-group/{}", group.id), &group.id);
    let vpc = context
        .region
        .vpc
        .ok()
        .and_then(Option::as_ref)
        .map_or_else(|| context.vpc_label(), |v| v.id.clone());
    if group.ingress.is_empty() && group.egress.is_empty() {
        return vec![context.pass(
            def,
            &arn,
            format!("default security group {} of {vpc} has no rules", group.id),
        )];
    }
    let mut rules = Vec::new();
    rules.extend(group.ingress.iter().map(|r| format!("inbound {r}")));
    rules.extend(group.egress.iter().map(|r| format!("outbound {r}")));
    vec![context.fail(
        def,
        &arn,
        format!(
            "default security group {} of {vpc} has {} rule(s): {}; expected no inbound and no outbound rule",
            group.id,
            rules.len(),
            rules.join("; ")
        ),
    )]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::finding::Status;
    use crate::inventory::DefaultSecurityGroup;

    #[test]
    fn any_rule_of_the_default_group_fails() {
        let rule = |r: &str| vec![r.to_owned()];
        // (ingress, egress, status, in the message)
        let table = [
            (
                vec![],
                vec![],
                Status::Pass,
                "sg-default of vpc-0tutorial has no rules",
            ),
            (
                rule("all traffic with sg-default"),
                vec![],
                Status::Fail,
                "inbound all traffic with sg-default",
            ),
            (
                vec![],
                rule("all traffic with 0.0.0.0/0"),
                Status::Fail,
                "1 rule(s): outbound all traffic with 0.0.0.0/0; expected no inbound",
            ),
            (
                rule("tcp port 22 with 10.0.0.0/16"),
                rule("all traffic with ::/0"),
                Status::Fail,
                "2 rule(s)",
            ),
        ];
        for (ingress, egress, status, text) in table {
            let mut region = compliant_region();
            region.default_security_group = Collected::Ok(Some(DefaultSecurityGroup {
                id: "sg-default".to_owned(),
                ingress,
                egress,
            }));
            let findings = findings_of(region, DEFINITION.id);
            assert_eq!(findings[0].status, status);
            assert!(
                findings[0].message.contains(text),
                "{}",
                findings[0].message
            );
            assert_eq!(
                findings[0].resource,
                format!("arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-default")
            );
        }
        let mut region = compliant_region();
        region.default_security_group = Collected::Failed(denied("ec2:DescribeSecurityGroups"));
        let findings = findings_of(region, DEFINITION.id);
        assert_eq!(findings[0].status, Status::Error);
        assert!(findings[0].message.contains("ec2:DescribeSecurityGroups"));
    }
}
