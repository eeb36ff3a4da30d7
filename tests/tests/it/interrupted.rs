//! A provision interrupted between a create and the call that completes the new
//! resource (an attribute, an attachment) is repaired by the next run, with no
//! duplicate. The emulator makes chosen EC2 calls fail (`/_emulator/fail`), and
//! that is global to an emulator, so these tests have an emulator of their own.

use tests::runs::{cleanup_options, provision_options};
use tests::unique_name;
use xtask::cleanup;
use xtask::names::Names;
use xtask::provision;

/// The SDK configuration for this area's own emulator.
async fn sdk_config() -> aws_config::SdkConfig {
    xtask::aws::emulator_config(tests::emulator_of_own("interrupted")).await
}

#[tokio::test]
async fn a_provision_interrupted_between_create_and_attribute_is_repaired_by_a_rerun() {
    let config = sdk_config().await;
    let names = Names::new(&unique_name("Xt")).expect("names");
    let ec2 = aws_sdk_ec2::Client::new(&config);

    // First the gateway's attachment, then the public IPs of a new public subnet fail
    // (provision makes the gateway before the subnets: resources::TABLE's order).
    tests::fail_next_ec2_calls("AttachInternetGateway", "UnauthorizedOperation", 1);
    let error = provision::provision(&config, &provision_options(&names))
        .await
        .expect_err("the injected failure stops provision");
    assert!(
        format!("{error:#}").contains("AttachInternetGateway"),
        "{error:#}"
    );
    tests::fail_next_ec2_calls("ModifySubnetAttribute", "UnauthorizedOperation", 1);
    let error = provision::provision(&config, &provision_options(&names))
        .await
        .expect_err("the injected failure stops provision");
    assert!(
        format!("{error:#}").contains("ModifySubnetAttribute"),
        "{error:#}"
    );

    let done = provision::provision(&config, &provision_options(&names))
        .await
        .expect("the third run completes");
    let vpc = done.state.vpc_id.clone();
    let subnets = ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&vpc)
                .build(),
        )
        .send()
        .await
        .expect("DescribeSubnets");
    assert_eq!(subnets.subnets().len(), 4, "no duplicate subnets");
    for public in &done.state.public_subnets {
        let subnet = subnets
            .subnets()
            .iter()
            .find(|s| s.subnet_id() == Some(public.as_str()))
            .expect("public subnet");
        assert_eq!(
            subnet.map_public_ip_on_launch(),
            Some(true),
            "{public}: the attribute the first run missed is set"
        );
    }
    let gateways = ec2
        .describe_internet_gateways()
        .set_filters(Some(provision::run_filters(&names)))
        .send()
        .await
        .expect("DescribeInternetGateways");
    assert_eq!(gateways.internet_gateways().len(), 1, "no second gateway");
    assert!(
        gateways.internet_gateways()[0]
            .attachments()
            .iter()
            .any(|a| a.vpc_id() == Some(vpc.as_str())),
        "the gateway the second run made is attached"
    );

    let report = cleanup::cleanup(&config, &cleanup_options(&names, false))
        .await
        .expect("cleanup");
    assert!(report.complete(), "{}", report.table());
}
