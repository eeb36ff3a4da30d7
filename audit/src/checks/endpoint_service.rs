//! The name of an AWS service's interface endpoint service in a region
//! (`com.amazonaws.us-east-1.secretsmanager`), derived from the region's
//! partition in one place so that the checks that look endpoints up by service
//! (`vpc.endpoint.*`, `vpc.endpoint.policy`) and their fixtures agree.
//!
//! The commercial and GovCloud partitions use `com.amazonaws.<region>.<service>`
//! (VPC user guide, "AWS services that integrate with AWS PrivateLink":
//! <https://docs.aws.amazon.com/vpc/latest/privatelink/aws-services-privatelink-support.html>).
//! In the China partition the prefix depends on the service: some services are
//! `cn.com.amazonaws.<region>.<service>` (Cloud Control API's China guide names
//! `cn.com.amazonaws.<region>.cloudcontrolapi`:
//! <https://docs.amazonaws.cn/cloudcontrolapi/latest/userguide/vpc-interface-endpoints.html>),
//! others keep `com.amazonaws.`; the AWS CDK keeps the list of the former, taken
//! from `aws ec2 describe-vpc-endpoint-services`
//! (`InterfaceVpcEndpointAwsService.getDefaultEndpointPrefix` in
//! `aws-cdk-lib/aws-ec2/lib/vpc-endpoint.ts`, fixed for China in
//! <https://github.com/aws/aws-cdk/pull/16139>; `rds` is on it in both China
//! regions, `secretsmanager` and `kms` are not). So [`endpoint_service_name`]
//! gives the name a service is known to have, and [`is_endpoint_service`] also
//! accepts the other China prefix for a service this list does not cover.

use super::context::partition;

/// Services whose China endpoint service name carries the `cn.` prefix (from
/// the AWS CDK's table, see the module documentation), among those an audit
/// policy is likely to require.
const CN_PREFIXED: &[&str] = &["ec2", "lambda", "rds", "sts"];

/// The name of `service`'s interface endpoint service in `region`:
/// `com.amazonaws.<region>.<service>`, or `cn.com.amazonaws.<region>.<service>`
/// for a service known to carry the prefix in the China partition.
pub(super) fn endpoint_service_name(region: &str, service: &str) -> String {
    let prefix = if partition(region) == "aws-cn" && CN_PREFIXED.contains(&service) {
        "cn.com.amazonaws"
    } else {
        "com.amazonaws"
    };
    format!("{prefix}.{region}.{service}")
}

/// Whether `name` is the endpoint service of `service` in `region`: the name
/// [`endpoint_service_name`] gives, or, in the China partition, the same name
/// with the other prefix (the list of prefixed services is not complete).
pub(super) fn is_endpoint_service(name: &str, region: &str, service: &str) -> bool {
    let plain = format!("com.amazonaws.{region}.{service}");
    name == plain || (partition(region) == "aws-cn" && name == format!("cn.{plain}"))
}

#[cfg(test)]
mod tests {
    use super::{endpoint_service_name, is_endpoint_service};

    #[test]
    fn the_name_follows_the_partition_and_the_service() {
        let cases = [
            (
                "us-east-1",
                "secretsmanager",
                "com.amazonaws.us-east-1.secretsmanager",
            ),
            ("us-east-1", "rds", "com.amazonaws.us-east-1.rds"),
            ("us-gov-west-1", "rds", "com.amazonaws.us-gov-west-1.rds"),
            (
                "us-gov-east-1",
                "secretsmanager",
                "com.amazonaws.us-gov-east-1.secretsmanager",
            ),
            ("cn-north-1", "rds", "cn.com.amazonaws.cn-north-1.rds"),
            (
                "cn-northwest-1",
                "rds",
                "cn.com.amazonaws.cn-northwest-1.rds",
            ),
            (
                "cn-north-1",
                "secretsmanager",
                "com.amazonaws.cn-north-1.secretsmanager",
            ),
        ];
        for (region, service, expected) in cases {
            assert_eq!(
                endpoint_service_name(region, service),
                expected,
                "{region} {service}"
            );
        }
    }

    #[test]
    fn either_china_prefix_matches_only_in_china() {
        let cases = [
            ("com.amazonaws.us-east-1.rds", "us-east-1", "rds", true),
            ("cn.com.amazonaws.us-east-1.rds", "us-east-1", "rds", false),
            (
                "com.amazonaws.us-gov-west-1.rds",
                "us-gov-west-1",
                "rds",
                true,
            ),
            (
                "cn.com.amazonaws.us-gov-west-1.rds",
                "us-gov-west-1",
                "rds",
                false,
            ),
            ("cn.com.amazonaws.cn-north-1.rds", "cn-north-1", "rds", true),
            ("com.amazonaws.cn-north-1.rds", "cn-north-1", "rds", true),
            ("cn.com.amazonaws.cn-north-1.kms", "cn-north-1", "kms", true),
            (
                "com.amazonaws.cn-north-1.rds-data",
                "cn-north-1",
                "rds",
                false,
            ),
            ("com.amazonaws.us-west-2.rds", "us-east-1", "rds", false),
            (
                "com.amazonaws.vpce.us-east-1.vpce-svc-1",
                "us-east-1",
                "rds",
                false,
            ),
        ];
        for (name, region, service, expected) in cases {
            assert_eq!(
                is_endpoint_service(name, region, service),
                expected,
                "{name} as {service} in {region}"
            );
        }
    }
}
