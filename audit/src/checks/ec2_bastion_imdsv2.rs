//! `ec2.bastion.imdsv2`: the bastion requires IMDSv2 (FSBP EC2.8).
//!
//! With `HttpTokens` `optional`, any process on the bastion (or a request it can
//! be tricked into forwarding) reads the instance role's credentials from the
//! metadata service with a plain GET; `required` demands a session token first
//! (Amazon EC2 User Guide, "Use IMDSv2"; AWS Config `ec2-imdsv2-check`: "NON_COMPLIANT
//! if the HttpTokens is set to optional"). The bastion is the one host of the
//! setup with a public address.

use super::context::Context;
use crate::finding::{CheckDefinition, Finding, Severity};
use crate::inventory::Collected;

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "ec2.bastion.imdsv2",
    title: "Bastion requires IMDSv2 (session tokens for instance metadata)",
    severity: Severity::High,
    resource_type: "AwsEc2Instance",
    remediation: "aws ec2 modify-instance-metadata-options --instance-id <id> --http-tokens required --http-endpoint enabled; cargo xtask provision launches the bastion so",
    compliance: &[
        "AWS-FSBP:EC2.8",
        "AWS-Config:ec2-imdsv2-check",
        "Prowler:ec2_instance_imdsv2_enabled",
    ],
    references: &[
        "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-existing-instances.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-8",
    ],
};

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    let bastions = match &context.region.bastions {
        Collected::Ok(bastions) => bastions,
        other => {
            return context
                .missing(def, &context.vpc_label(), other)
                .into_iter()
                .collect();
        }
    };
    // No bastion: nothing to judge here (the SSH check reports a missing one).
    bastions
        .iter()
        .map(|bastion| {
            let arn = context.arn("ec2", &format!("instance/{}", bastion.id), &bastion.id);
            match bastion.http_tokens.as_deref() {
                Some("required") => context.pass(
                    def,
                    &arn,
                    format!("bastion {} requires IMDSv2 (HttpTokens required)", bastion.id),
                ),
                Some(tokens) => context.fail(
                    def,
                    &arn,
                    format!(
                        "bastion {} has HttpTokens {tokens}: IMDSv1 answers without a session token; expected HttpTokens required",
                        bastion.id
                    ),
                ),
                None => context.skip(
                    def,
                    &arn,
                    &format!(
                        "bastion {}: its metadata options were not recorded (an inventory saved by an earlier version of the audit)",
                        bastion.id
                    ),
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::finding::Status;

    #[test]
    fn every_bastion_must_require_tokens() {
        // (HttpTokens, status, in the message)
        let table = [
            (Some("required"), Status::Pass, "requires IMDSv2"),
            (
                Some("optional"),
                Status::Fail,
                "bastion i-bastion has HttpTokens optional",
            ),
            (None, Status::Skip, "not recorded"),
        ];
        for (tokens, status, text) in table {
            let mut region = compliant_region();
            let mut second = bastion("i-second", BASTION_SG);
            second.http_tokens = tokens.map(str::to_owned);
            let mut first = bastion("i-bastion", BASTION_SG);
            first.http_tokens = tokens.map(str::to_owned);
            region.bastions = Collected::Ok(vec![first, second]);
            let findings = findings_of(region, DEFINITION.id);
            assert_eq!(findings.len(), 2, "each bastion is judged");
            assert_eq!(findings[0].status, status);
            assert!(
                findings[0].message.contains(text),
                "{}",
                findings[0].message
            );
            assert_eq!(
                findings[0].resource,
                format!("arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-bastion")
            );
        }
        let mut region = compliant_region();
        region.bastions = Collected::Failed(denied("ec2:DescribeInstances"));
        assert_eq!(findings_of(region, DEFINITION.id)[0].status, Status::Error);
        let mut region = compliant_region();
        region.bastions = Collected::Ok(Vec::new());
        assert!(findings_of(region, DEFINITION.id).is_empty());
    }
}
