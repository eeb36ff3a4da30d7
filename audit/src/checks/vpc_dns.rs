//! `vpc.dns`: the VPC has DNS hostnames and DNS resolution enabled.
//!
//! An interface endpoint's private DNS name (the service's own name answered
//! with the endpoint's addresses) works only with both attributes on (EC2 API
//! reference, `CreateVpcEndpoint`, `PrivateDnsEnabled`: "To use a private hosted
//! zone, you must set the following VPC attributes to true: enableDnsHostnames
//! and enableDnsSupport"); without them the rotation function is sent to the
//! service's public address.

use super::context::Context;
use crate::finding::{CheckDefinition, Finding, Severity};
use crate::inventory::Collected;

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "vpc.dns",
    title: "VPC has DNS hostnames and DNS resolution enabled",
    severity: Severity::Medium,
    resource_type: "AwsEc2Vpc",
    remediation: "Enable both attributes: aws ec2 modify-vpc-attribute --vpc-id <vpc> --enable-dns-hostnames; aws ec2 modify-vpc-attribute --vpc-id <vpc> --enable-dns-support (private DNS of interface endpoints needs both)",
    compliance: &[],
    references: &["https://docs.aws.amazon.com/vpc/latest/userguide/vpc-dns.html"],
};

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    let vpc = match &context.region.vpc {
        Collected::Ok(Some(vpc)) => vpc,
        Collected::Ok(None) => {
            return vec![context.fail(
                def,
                &context.vpc_label(),
                format!(
                    "{} was not found; expected the tutorial's VPC",
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
    let resource = context.arn("ec2", &format!("vpc/{}", vpc.id), &vpc.id);
    let mut off = Vec::new();
    for (label, value) in [
        ("DNS hostnames", &vpc.dns_hostnames),
        ("DNS resolution", &vpc.dns_support),
    ] {
        match value {
            Collected::Ok(true) => {}
            Collected::Ok(false) => off.push(label),
            other => return context.missing(def, &resource, other).into_iter().collect(),
        }
    }
    if off.is_empty() {
        vec![context.pass(
            def,
            &resource,
            format!(
                "VPC {} has DNS hostnames and DNS resolution enabled",
                vpc.id
            ),
        )]
    } else {
        vec![context.fail(
            def,
            &resource,
            format!(
                "VPC {} has {} disabled; expected DNS hostnames and DNS resolution enabled",
                vpc.id,
                off.join(" and ")
            ),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::inventory::Collected;

    #[test]
    fn dns_attributes_must_both_be_on() {
        use crate::finding::Status;
        let mut region = compliant_region();
        if let Collected::Ok(Some(vpc)) = &mut region.vpc {
            vpc.dns_hostnames = Collected::Ok(false);
        }
        let finding = only(region.clone(), "vpc.dns");
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("DNS hostnames disabled") && finding.message.contains(VPC)
        );
        if let Collected::Ok(Some(vpc)) = &mut region.vpc {
            vpc.dns_support = Collected::Failed(denied("ec2:DescribeVpcAttribute"));
            vpc.dns_hostnames = Collected::Ok(true);
        }
        let finding = only(region.clone(), "vpc.dns");
        assert_eq!(finding.status, Status::Error);
        assert!(finding.message.contains("ec2:DescribeVpcAttribute"));
        region.vpc = Collected::Ok(None);
        let finding = only(region, "vpc.dns");
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.message.contains("SecretsManagerTutorial-vpc"));
    }
}
