//! `cargo xtask provision`, `deploy`, `rotate` and `cleanup` against the emulator,
//! through the same library functions the commands call.
//!
//! Every test uses a run name of its own (`unique_name`), so its VPC, database,
//! function and secret are its own and the tests run in parallel in the one
//! emulator of this process; the audit is pointed at the test's VPC, secret and
//! database. The rotator zip must exist (`cargo xtask build`; `cargo xtask test`
//! builds it first).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use audit::Status;
use aws_config::SdkConfig;
use tests::runs::{ca, cleanup_options, deploy_options, provision_options, state_dir};
use tests::{emulator, sdk_config, unique_name};
use xtask::cleanup::{self, Kind};
use xtask::deploy;
use xtask::names::Names;
use xtask::provision;
use xtask::rotate::{self, RotateOptions};

/// The run's tagged resources as `kind id` lines, sorted.
async fn tagged(config: &SdkConfig, names: &Names) -> BTreeSet<String> {
    cleanup::discover(config, names)
        .await
        .expect("discover")
        .into_iter()
        .map(|r| format!("{:?} {}", r.kind, r.id))
        .collect()
}

/// Everything a write could change, as text: tagged resources, the secret's
/// rotation and version labels, the function's code and configuration, the groups' rules.
async fn snapshot(config: &SdkConfig, names: &Names) -> String {
    let mut out = format!("{:?}\n", tagged(config, names).await);
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    if let Ok(secret) = secrets
        .describe_secret()
        .secret_id(&names.secret)
        .send()
        .await
    {
        let mut stages: Vec<_> = secret
            .version_ids_to_stages()
            .into_iter()
            .flatten()
            .map(|(id, stages)| format!("{id}={stages:?}"))
            .collect();
        stages.sort();
        let _ = writeln!(
            out,
            "rotation {:?} {:?} {:?}\n{stages:?}",
            secret.rotation_enabled(),
            secret.rotation_lambda_arn(),
            secret.rotation_rules()
        );
    }
    let lambda = aws_sdk_lambda::Client::new(config);
    if let Ok(function) = lambda
        .get_function_configuration()
        .function_name(&names.function)
        .send()
        .await
    {
        let _ = writeln!(
            out,
            "function {:?} {:?} {:?}",
            function.code_sha256(),
            function.last_modified(),
            function.environment()
        );
    }
    let ec2 = aws_sdk_ec2::Client::new(config);
    let groups = ec2
        .describe_security_groups()
        .set_filters(Some(xtask::provision::run_filters(names)))
        .send()
        .await
        .expect("describe groups");
    let mut rules: Vec<String> = groups
        .security_groups()
        .iter()
        .map(|g| format!("{:?} {:?}", g.group_id(), g.ip_permissions()))
        .collect();
    rules.sort();
    out += &rules.join("\n");
    out
}

/// `cargo xtask rotate` for the run `names`, waiting up to a minute.
async fn rotate_now(config: &SdkConfig, names: &Names) -> anyhow::Result<rotate::Rotation> {
    rotate_with(config, names, None).await
}

/// `cargo xtask rotate --clear-pending --yes` once Secrets Manager's own retries of
/// the failed rotation have ended: the recovery the command's error advises. While
/// the function's log is fresh it refuses (a retry could still be running); with
/// the quiet period waived it clears and rotates.
async fn rotate_clearing_pending(
    config: &SdkConfig,
    names: &Names,
) -> anyhow::Result<rotate::Rotation> {
    tests::wait_for_rotations_to_end(&names.secret).await;
    let refused = rotate_now(config, names)
        .await
        .expect_err("a new rotation is refused while AWSPENDING is left on the failed version");
    assert!(
        format!("{refused:#}").contains("--clear-pending"),
        "the refusal names the way out: {refused:#}"
    );
    let clear = |quiet| Some(xtask::pending::ClearPending { yes: true, quiet });
    let fresh = rotate_with(config, names, clear(None))
        .await
        .expect_err("the function logged about the secret moments ago");
    assert!(
        format!("{fresh:#}").contains("nothing changed")
            && format!("{fresh:#}").contains(&format!("/aws/lambda/{}", names.function)),
        "{fresh:#}"
    );
    rotate_with(config, names, clear(Some(Duration::ZERO))).await
}

async fn rotate_with(
    config: &SdkConfig,
    names: &Names,
    clear_pending: Option<xtask::pending::ClearPending>,
) -> anyhow::Result<rotate::Rotation> {
    rotate::rotate(
        config,
        &RotateOptions {
            names: names.clone(),
            db_ca_bundle: ca(),
            timeout: Duration::from_mins(1),
            state_dir: state_dir(),
            verbose: false,
            clear_pending,
        },
    )
    .await
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, step by step
async fn provision_deploy_rotate_audit_cleanup_and_reruns_change_nothing() {
    let config = sdk_config().await;
    let names = Names::new(&unique_name("Xt")).expect("names");

    let first = provision::provision(&config, &provision_options(&names))
        .await
        .expect("provision");
    assert!(first.created.len() >= 15, "{:?}", first.created);
    let key = names.key_file(&state_dir());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key)
            .expect("private key file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "{}", key.display());
    let after_first = tagged(&config, &names).await;
    let again = provision::provision(&config, &provision_options(&names))
        .await
        .expect("provision again");
    assert!(again.created.is_empty(), "{:?}", again.created);
    assert_eq!(again.state, first.state);
    assert_eq!(tagged(&config, &names).await, after_first);

    let deployed = deploy::deploy(&config, &deploy_options(&names, false))
        .await
        .expect("deploy");
    let after_deploy = tagged(&config, &names).await;
    let redeployed = deploy::deploy(&config, &deploy_options(&names, false))
        .await
        .expect("deploy again");
    assert_eq!(redeployed.function_arn, deployed.function_arn);
    assert!(
        !redeployed.writes.iter().any(|w| {
            let action = w.split_whitespace().next().unwrap_or_default();
            action.contains(":Create")
                || action.contains(":Authorize")
                || action == "secretsmanager:RotateSecret"
                || action == "lambda:AddPermission"
        }),
        "a rerun only updates in place: {:?}",
        redeployed.writes
    );
    assert_eq!(tagged(&config, &names).await, after_deploy);

    // The database: the newest MySQL 8.4 the region offers for the class, encrypted.
    let rds = aws_sdk_rds::Client::new(&config);
    let described = rds
        .describe_db_instances()
        .db_instance_identifier(&names.db_instance)
        .send()
        .await
        .expect("DescribeDBInstances");
    let instance = &described.db_instances()[0];
    let offered = rds
        .describe_orderable_db_instance_options()
        .engine("mysql")
        .db_instance_class("db.t3.micro")
        .send()
        .await
        .expect("DescribeOrderableDBInstanceOptions");
    let newest = xtask::placement::newest_version(
        &offered
            .orderable_db_instance_options()
            .iter()
            .filter_map(|o| o.engine_version().map(str::to_owned))
            .collect::<Vec<_>>(),
        "8.4",
    );
    assert!(newest.is_some(), "the emulator offers MySQL 8.4");
    assert_eq!(instance.engine_version(), newest.as_deref());
    assert_eq!(instance.storage_encrypted(), Some(true));

    // IAM is global: the role says which region it serves; a deploy of the same run
    // elsewhere refuses it, and cleanup elsewhere leaves it alone.
    let region = config.region().expect("region").to_string();
    let iam = aws_sdk_iam::Client::new(&config);
    let role = iam
        .get_role()
        .role_name(&names.role)
        .send()
        .await
        .expect("GetRole");
    assert!(
        role.role()
            .expect("role")
            .tags()
            .iter()
            .any(|t| t.key() == xtask::names::REGION_TAG_KEY && t.value() == region),
        "{:?}",
        role.role().map(aws_sdk_iam::types::Role::tags)
    );
    let retag = |value: String| {
        let iam = iam.clone();
        let role = names.role.clone();
        async move {
            iam.tag_role()
                .role_name(role)
                .tags(
                    aws_sdk_iam::types::Tag::builder()
                        .key(xtask::names::REGION_TAG_KEY)
                        .value(value)
                        .build()
                        .expect("tag"),
                )
                .send()
                .await
                .expect("TagRole");
        }
    };
    retag("eu-west-3".to_owned()).await;
    let refused = deploy::deploy(&config, &deploy_options(&names, false))
        .await
        .expect_err("the role serves another region");
    let message = format!("{refused:#}");
    assert!(
        message.contains(&names.role)
            && message.contains("eu-west-3")
            && message.contains("--name"),
        "{message}"
    );
    assert!(
        !tagged(&config, &names)
            .await
            .iter()
            .any(|r| r.starts_with("Role ")),
        "cleanup here would leave the other region's role alone"
    );
    retag(region.clone()).await;

    let kinds: Vec<Kind> = cleanup::discover(&config, &names)
        .await
        .expect("discover")
        .iter()
        .map(|r| r.kind)
        .collect();
    for (kind, count) in [
        (Kind::Vpc, 1),
        (Kind::Function, 1),
        (Kind::LogGroup, 1),
        (Kind::Role, 1),
        (Kind::DbInstance, 1),
        (Kind::Secret, 1),
        (Kind::Instance, 1),
        (Kind::VpcEndpoint, 2),
        (Kind::Subnet, 4),
        (Kind::SecurityGroup, 4),
    ] {
        assert_eq!(
            kinds.iter().filter(|k| **k == kind).count(),
            count,
            "{kind:?} in {kinds:?}"
        );
    }

    let rotation = rotate_now(&config, &names).await.expect("rotate");
    assert_ne!(rotation.previous_user, rotation.current_user);
    assert!(
        [
            rotation.previous_user.as_str(),
            rotation.current_user.as_str()
        ]
        .iter()
        .all(|u| *u == "appuser" || *u == "appuser_clone"),
        "{rotation:?}"
    );

    let findings = xtask::demo::audit_run(&config, &names, &first.state.vpc_id, ca()).await;
    let not_passing: Vec<_> = findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .collect();
    assert!(not_passing.is_empty(), "{not_passing:#?}");
    assert!(findings.len() >= 13, "{findings:#?}");

    // The network decides, as on AWS: without the database group's rule for the
    // function's group, the audit says so and the next rotation cannot reach the
    // database (the emulator drops the connection); deploy puts the rule back.
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let function_group = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values(&names.rotation_group)
                .build(),
        )
        .send()
        .await
        .expect("DescribeSecurityGroups")
        .security_groups()
        .first()
        .and_then(|g| g.group_id())
        .expect("the function's group")
        .to_owned();
    // A rerun whose look at the group missed the rule (a deploy interrupted right
    // after writing it, or EC2 not yet showing it) writes it again: EC2 answers
    // InvalidPermission.Duplicate, which is success.
    xtask::resources::authorize_tcp(
        &ec2,
        &first.state.database_group,
        i32::from(first.state.db_port),
        &function_group,
    )
    .await
    .expect("writing the function's rule again, over the existing one");
    ec2.revoke_security_group_ingress()
        .group_id(&first.state.database_group)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(i32::from(first.state.db_port))
                .to_port(i32::from(first.state.db_port))
                .user_id_group_pairs(
                    aws_sdk_ec2::types::UserIdGroupPair::builder()
                        .group_id(&function_group)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("revoke the function's rule");
    let findings = xtask::demo::audit_run(&config, &names, &first.state.vpc_id, ca()).await;
    assert!(
        findings
            .iter()
            .any(|f| f.check_id == "rds.ingress.bastion-only" && f.status == Status::Fail),
        "{findings:#?}"
    );
    let cut = rotate_now(&config, &names)
        .await
        .expect_err("the function cannot reach the database");
    assert!(
        format!("{cut:#}").contains("setSecret"),
        "the step that needs the database fails: {cut:#}"
    );
    // Secrets Manager retries the failed rotation by itself; once it has given up,
    // the pending version must be cleared before a new rotation.
    tests::wait_for_rotations_to_end(&names.secret).await;
    deploy::deploy(&config, &deploy_options(&names, false))
        .await
        .expect("deploy repairs the rule");
    let repaired = rotate_clearing_pending(&config, &names)
        .await
        .expect("rotate after deploy repaired the network");
    assert_eq!(repaired.previous_user, rotation.current_user);

    // The same for Secrets Manager's endpoint: without its 443 rule the function gets
    // no answer, and says what to check; provision puts the rule back.
    let https_from_vpc = aws_sdk_ec2::types::IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443)
        .ip_ranges(
            aws_sdk_ec2::types::IpRange::builder()
                .cidr_ip(xtask::names::VPC_CIDR)
                .build(),
        )
        .build();
    ec2.revoke_security_group_ingress()
        .group_id(&first.state.endpoint_group)
        .ip_permissions(https_from_vpc)
        .send()
        .await
        .expect("revoke the endpoints' 443 rule");
    let cut = rotate_now(&config, &names)
        .await
        .expect_err("the function cannot reach Secrets Manager");
    assert!(
        format!("{cut:#}").contains("interface VPC endpoint"),
        "the function's error says what to check: {cut:#}"
    );
    tests::wait_for_rotations_to_end(&names.secret).await;
    provision::provision(&config, &provision_options(&names))
        .await
        .expect("provision repairs the rule");
    rotate_clearing_pending(&config, &names)
        .await
        .expect("rotate after provision repaired the endpoint's rule");

    // The function's VPC interfaces hold its subnets and group until Lambda removes
    // them, which it does only while the role exists: cleanup must wait for them
    // before deleting the role, and must not wait out its dependency timeout.
    let vpc_id = first.state.vpc_id.clone();
    let in_vpc = |name: &'static str| {
        aws_sdk_ec2::types::Filter::builder()
            .name(name)
            .values(&vpc_id)
            .build()
    };
    let enis = ec2
        .describe_network_interfaces()
        .filters(in_vpc("vpc-id"))
        .send()
        .await
        .expect("DescribeNetworkInterfaces");
    assert!(
        enis.network_interfaces().iter().any(|e| e
            .description()
            .unwrap_or("")
            .starts_with(&format!("AWS Lambda VPC ENI-{}", names.function))),
        "the deployed function has its interfaces in the VPC"
    );
    let release = tests::emulator_json("/_emulator/settings")["EMULATOR_ENI_RELEASE_SECONDS"]
        .as_f64()
        .expect("release setting");
    let mut patient = cleanup_options(&names, false);
    patient.dependency_timeout = Duration::from_mins(10);
    let started = std::time::Instant::now();
    let report = cleanup::cleanup(&config, &patient).await.expect("cleanup");
    let took = started.elapsed();
    assert!(report.complete(), "{}", report.table());
    assert!(
        took < Duration::from_secs_f64(release) + Duration::from_mins(1),
        "cleanup took {took:?}: it waited out a dependency instead of removing it in order"
    );
    assert!(tagged(&config, &names).await.is_empty());
    let left = ec2
        .describe_network_interfaces()
        .filters(in_vpc("vpc-id"))
        .send()
        .await
        .expect("DescribeNetworkInterfaces");
    assert!(
        left.network_interfaces().is_empty(),
        "no interface is left behind: {:?}",
        left.network_interfaces()
    );
    assert!(
        ec2.describe_vpcs()
            .vpc_ids(&vpc_id)
            .send()
            .await
            .map_or(true, |out| out.vpcs().is_empty()),
        "the VPC is gone"
    );
    assert!(!key.exists(), "the private key file goes with the run");
    assert!(
        rds.describe_db_instances()
            .db_instance_identifier(&names.db_instance)
            .send()
            .await
            .is_err(),
        "the database is gone"
    );
    // A second cleanup finds nothing and succeeds.
    let report = cleanup::cleanup(&config, &cleanup_options(&names, false))
        .await
        .expect("second cleanup");
    assert!(report.outcomes.is_empty() && report.complete());
}

#[tokio::test]
async fn cleanup_after_a_half_finished_provision_leaves_untagged_resources_alone() {
    let config = sdk_config().await;
    let names = Names::new(&unique_name("Xt")).expect("names");
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let rds = aws_sdk_rds::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);

    // Someone else's resources with the run's names but not its tags.
    let foreign_vpc = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Vpc)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("Name")
                        .value(&names.vpc)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("untagged vpc")
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_owned();
    secrets
        .create_secret()
        .name(&names.secret)
        .secret_string(r#"{"username":"someone","password":"else"}"#)
        .send()
        .await
        .expect("untagged secret");
    rds.create_db_instance()
        .db_instance_identifier(&names.db_instance)
        .engine("mysql")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .manage_master_user_password(true)
        .send()
        .await
        .expect("untagged database");

    // Provision stops at the database it must not adopt, after the network.
    let error = provision::provision(&config, &provision_options(&names))
        .await
        .expect_err("provision must refuse the untagged database");
    let message = format!("{error:#}");
    assert!(
        message.contains(&names.db_instance) && message.contains("refusing to adopt"),
        "{message}"
    );
    let half = tagged(&config, &names).await;
    assert!(
        half.iter().any(|r| r.starts_with("Vpc "))
            && half.iter().any(|r| r.starts_with("Instance ")),
        "{half:?}"
    );
    assert!(
        !half
            .iter()
            .any(|r| r.starts_with("DbInstance ") || r.starts_with("Secret "))
    );

    let report = cleanup::cleanup(&config, &cleanup_options(&names, false))
        .await
        .expect("cleanup");
    assert!(report.complete(), "{}", report.table());
    assert!(tagged(&config, &names).await.is_empty());
    assert!(
        report.outcomes.iter().all(|(r, _)| r.id != foreign_vpc),
        "{}",
        report.table()
    );

    // The untagged ones are all still there.
    // (This test's first use of the VPC's id: EC2 may not know it yet.)
    let vpcs = tests::eventually(|| ec2.describe_vpcs().vpc_ids(&foreign_vpc).send())
        .await
        .expect("the untagged VPC is still there");
    assert_eq!(vpcs.vpcs().len(), 1);
    let secret = secrets
        .describe_secret()
        .secret_id(&names.secret)
        .send()
        .await
        .expect("the untagged secret is still there");
    assert!(secret.deleted_date().is_none());
    rds.describe_db_instances()
        .db_instance_identifier(&names.db_instance)
        .send()
        .await
        .expect("the untagged database is still there");

    // Tidy up this test's foreign resources.
    rds.delete_db_instance()
        .db_instance_identifier(&names.db_instance)
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("delete foreign database");
    secrets
        .delete_secret()
        .secret_id(&names.secret)
        .force_delete_without_recovery(true)
        .send()
        .await
        .expect("delete foreign secret");
    ec2.delete_vpc()
        .vpc_id(&foreign_vpc)
        .send()
        .await
        .expect("delete foreign vpc");
}

#[tokio::test]
async fn dry_runs_make_no_write_call() {
    let config = sdk_config().await;
    let names = Names::new(&unique_name("Xt")).expect("names");

    // Provision's plan, from the table of resources: nothing found, everything to make.
    let before = snapshot(&config, &names).await;
    let plan = provision::plan(&config, &names).await.expect("plan");
    assert_eq!(snapshot(&config, &names).await, before);
    assert!(
        plan.contains("ec2:CreateVpc") && plan.contains("rds:CreateDBInstance"),
        "{plan}"
    );
    assert!(!plan.contains("check and repair"), "{plan}");

    let provisioned = provision::provision(&config, &provision_options(&names))
        .await
        .expect("provision");
    // Provisioned, the plan finds each resource by its tags and would only check it.
    let plan = provision::plan(&config, &names).await.expect("plan again");
    assert!(plan.contains(&provisioned.state.vpc_id), "{plan}");
    assert!(!plan.contains("ec2:CreateVpc"), "{plan}");
    assert!(plan.contains("check and repair"), "{plan}");

    // Deploy: nothing exists yet, so every create is announced and none made.
    let before = snapshot(&config, &names).await;
    let planned = deploy::deploy(&config, &deploy_options(&names, true))
        .await
        .expect("dry-run deploy");
    assert_eq!(snapshot(&config, &names).await, before);
    let calls = planned.writes.join("\n");
    for call in [
        "ec2:CreateSecurityGroup",
        "ec2:AuthorizeSecurityGroupIngress",
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "lambda:CreateFunction",
        "lambda:AddPermission",
        "secretsmanager:RotateSecret",
    ] {
        assert!(calls.contains(call), "{call} missing from\n{calls}");
    }

    // Deployed for real, a dry-run deploy announces the in-place updates only.
    deploy::deploy(&config, &deploy_options(&names, false))
        .await
        .expect("deploy");
    let before = snapshot(&config, &names).await;
    let planned = deploy::deploy(&config, &deploy_options(&names, true))
        .await
        .expect("dry-run redeploy");
    assert_eq!(snapshot(&config, &names).await, before);
    assert!(
        planned
            .writes
            .iter()
            .any(|w| w.starts_with("lambda:UpdateFunctionCode")),
        "{:?}",
        planned.writes
    );

    // Cleanup: every deletion announced, nothing deleted.
    let report = cleanup::cleanup(&config, &cleanup_options(&names, true))
        .await
        .expect("dry-run cleanup");
    assert_eq!(snapshot(&config, &names).await, before);
    let calls = report.writes.join("\n");
    for call in [
        "secretsmanager:CancelRotateSecret",
        "secretsmanager:DeleteSecret",
        "lambda:DeleteFunction",
        "iam:DeleteRole",
        "rds:DeleteDBInstance",
        "ec2:TerminateInstances",
        "ec2:DeleteVpcEndpoints",
        "ec2:DeleteSecurityGroup",
        "ec2:DeleteSubnet",
        "ec2:DeleteVpc",
    ] {
        assert!(calls.contains(call), "{call} missing from\n{calls}");
    }
    assert!(
        report
            .outcomes
            .iter()
            .all(|(_, o)| *o == cleanup::Outcome::WouldDelete),
        "{}",
        report.table()
    );

    let report = cleanup::cleanup(&config, &cleanup_options(&names, false))
        .await
        .expect("cleanup");
    assert!(report.complete(), "{}", report.table());
}

#[tokio::test]
async fn cleanup_without_yes_and_without_input_deletes_nothing() {
    let binary = xtask::paths::target_dir().join("debug").join("xtask");
    if !binary.is_file() {
        eprintln!(
            "skipped: {} is not built (any `cargo xtask ...` builds it)",
            binary.display()
        );
        return;
    }
    let config = sdk_config().await;
    let names = Names::new(&unique_name("Xt")).expect("names");
    provision::provision(&config, &provision_options(&names))
        .await
        .expect("provision");
    let before = tagged(&config, &names).await;
    let state = emulator();
    let output = tokio::process::Command::new(&binary)
        .args(["cleanup", "--name", &names.run, "--state-dir"])
        .arg(state_dir())
        .env("AWS_ENDPOINT_URL", &state.endpoint_url)
        .env("AWS_REGION", &state.region)
        .env("AWS_ACCESS_KEY_ID", &state.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &state.secret_access_key)
        .env_remove("AWS_PROFILE")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run xtask cleanup");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("--yes") && stderr.contains("nothing deleted"),
        "{stderr}"
    );
    assert_eq!(tagged(&config, &names).await, before);

    let report = cleanup::cleanup(&config, &cleanup_options(&names, false))
        .await
        .expect("cleanup");
    assert!(report.complete(), "{}", report.table());
}

#[tokio::test]
async fn a_failed_rotation_names_the_failing_step_and_the_functions_error() {
    let config = sdk_config().await;
    let names = Names::new(&unique_name("Xt")).expect("names");
    provision::provision(&config, &provision_options(&names))
        .await
        .expect("provision");
    deploy::deploy(&config, &deploy_options(&names, false))
        .await
        .expect("deploy");
    // The function can no longer verify the database's certificate.
    let lambda = aws_sdk_lambda::Client::new(&config);
    lambda
        .update_function_configuration()
        .function_name(&names.function)
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .variables("DB_CA_BUNDLE", "/nonexistent/ca.pem")
                .build(),
        )
        .send()
        .await
        .expect("break the function's CA bundle");
    // Until the update ends, Lambda runs the previous configuration.
    xtask::aws::wait_for_function(&lambda, &names.function)
        .await
        .expect("the update ends");
    let error = rotate::rotate(
        &config,
        &RotateOptions {
            names: names.clone(),
            db_ca_bundle: ca(),
            timeout: Duration::from_secs(30),
            state_dir: state_dir(),
            verbose: false,
            clear_pending: None,
        },
    )
    .await
    .expect_err("the rotation must fail");
    let message = format!("{error:#}");
    eprintln!("{message}");
    assert!(
        message.contains("failing step: createSecret")
            || message.contains("failing step: setSecret")
            || message.contains("failing step: testSecret"),
        "{message}"
    );
    assert!(message.contains("still AWSPENDING"), "{message}");

    let report = cleanup::cleanup(&config, &cleanup_options(&names, false))
        .await
        .expect("cleanup");
    assert!(report.complete(), "{}", report.table());
}

/// `rotate` before `deploy`: Secrets Manager refuses to rotate a secret without a
/// rotation function, the command says to deploy first, and the secret keeps its value.
#[tokio::test]
async fn rotate_before_deploy_says_to_deploy_and_leaves_the_secret_alone() {
    let config = sdk_config().await;
    let names = Names::new(&unique_name("Xt")).expect("names");
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let value = r#"{"engine":"mysql","host":"127.0.0.1","port":3306,"username":"appuser","password":"unchanged"}"#;
    secrets
        .create_secret()
        .name(&names.secret)
        .secret_string(value)
        .send()
        .await
        .expect("CreateSecret");
    let error = rotate::rotate(
        &config,
        &RotateOptions {
            names: names.clone(),
            db_ca_bundle: ca(),
            timeout: Duration::from_secs(10),
            state_dir: state_dir(),
            verbose: false,
            clear_pending: None,
        },
    )
    .await
    .expect_err("no rotation function");
    let message = format!("{error:#}");
    assert!(
        message.contains(&format!("secret {} has no rotation function", names.secret))
            && message.contains("run `cargo xtask deploy` first"),
        "{message}"
    );
    let after = secrets
        .get_secret_value()
        .secret_id(&names.secret)
        .send()
        .await
        .expect("GetSecretValue");
    assert_eq!(after.secret_string(), Some(value));
}

#[tokio::test]
async fn a_secret_scheduled_for_deletion_is_found_and_removed_by_force_delete_secrets() {
    let config = sdk_config().await;
    let names = Names::new(&unique_name("Xt")).expect("names");
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    tagged_secret(&secrets, &names, None).await;
    secrets
        .delete_secret()
        .secret_id(&names.secret)
        .recovery_window_in_days(7)
        .send()
        .await
        .expect("DeleteSecret with a recovery window");

    // Without --force-delete-secrets it stays scheduled, and that is not a failure.
    let mut keep = cleanup_options(&names, false);
    keep.force_delete_secrets = false;
    let report = cleanup::cleanup(&config, &keep).await.expect("cleanup");
    assert!(
        report
            .outcomes
            .iter()
            .any(|(r, o)| r.kind == Kind::Secret && *o == cleanup::Outcome::Scheduled),
        "{}",
        report.table()
    );
    let report = cleanup::cleanup(&config, &cleanup_options(&names, false))
        .await
        .expect("cleanup --force-delete-secrets");
    assert!(report.complete(), "{}", report.table());
    let listed = secrets
        .list_secrets()
        .include_planned_deletion(true)
        .filters(
            aws_sdk_secretsmanager::types::Filter::builder()
                .key(aws_sdk_secretsmanager::types::FilterNameStringType::Name)
                .values(&names.secret)
                .build(),
        )
        .send()
        .await
        .expect("ListSecrets");
    assert!(
        listed.secret_list().is_empty(),
        "the secret is gone for good"
    );
}

/// A tagged key with the run's alias, and the run's tagged secret encrypted under it
/// (what provision makes), without the rest of provision.
async fn key_and_secret(config: &SdkConfig, names: &Names) -> String {
    let kms = aws_sdk_kms::Client::new(config);
    let mut create = kms.create_key();
    for (key, value) in names.tags() {
        create = create.tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key(key)
                .tag_value(value)
                .build()
                .expect("tag"),
        );
    }
    let key = create.send().await.expect("CreateKey");
    let key_id = key.key_metadata().expect("key").key_id().to_owned();
    kms.create_alias()
        .alias_name(&names.kms_alias)
        .target_key_id(&key_id)
        .send()
        .await
        .expect("CreateAlias");
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    tagged_secret(&secrets, names, Some(&names.kms_alias)).await;
    key_id
}

/// The run's secret (`{}`) with its tags, under `kms_key` if given.
async fn tagged_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    names: &Names,
    kms_key: Option<&str>,
) {
    let mut create = secrets
        .create_secret()
        .name(&names.secret)
        .set_kms_key_id(kms_key.map(ToOwned::to_owned))
        .secret_string("{}");
    for (key, value) in names.tags() {
        create = create.tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key(key)
                .value(value)
                .build(),
        );
    }
    create.send().await.expect("CreateSecret");
}

async fn key_state(config: &SdkConfig, key_id: &str) -> aws_sdk_kms::types::KeyState {
    aws_sdk_kms::Client::new(config)
        .describe_key()
        .key_id(key_id)
        .send()
        .await
        .expect("DescribeKey")
        .key_metadata()
        .and_then(|k| k.key_state().cloned())
        .expect("key state")
}

fn outcome_of(report: &cleanup::Report, kind: Kind) -> cleanup::Outcome {
    report
        .outcomes
        .iter()
        .find(|(r, _)| r.kind == kind)
        .map_or_else(
            || panic!("no {kind:?} in\n{}", report.table()),
            |(_, o)| o.clone(),
        )
}

#[tokio::test]
async fn cleanup_keeps_the_key_while_its_secret_can_be_restored() {
    let config = sdk_config().await;
    let names = Names::new(&unique_name("Xk")).expect("names");
    let key_id = key_and_secret(&config, &names).await;

    let mut keep = cleanup_options(&names, false);
    keep.force_delete_secrets = false;
    let report = cleanup::cleanup(&config, &keep).await.expect("cleanup");
    assert_eq!(
        outcome_of(&report, Kind::Secret),
        cleanup::Outcome::Scheduled
    );
    assert!(
        matches!(outcome_of(&report, Kind::KmsKey), cleanup::Outcome::Kept(ref why) if why.contains(&names.secret)),
        "{}",
        report.table()
    );
    assert!(report.complete(), "{}", report.table());
    assert_eq!(
        key_state(&config, &key_id).await,
        aws_sdk_kms::types::KeyState::Enabled
    );
    // The secret restored is readable: its key and alias are still there.
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    secrets
        .restore_secret()
        .secret_id(&names.secret)
        .send()
        .await
        .expect("RestoreSecret");
    secrets
        .get_secret_value()
        .secret_id(&names.secret)
        .send()
        .await
        .expect("GetSecretValue after restore");

    // Once the secret is gone for good, the key goes too.
    let report = cleanup::cleanup(&config, &cleanup_options(&names, false))
        .await
        .expect("cleanup --force-delete-secrets");
    assert_eq!(
        outcome_of(&report, Kind::KmsKey),
        cleanup::Outcome::Scheduled
    );
    assert_eq!(
        key_state(&config, &key_id).await,
        aws_sdk_kms::types::KeyState::PendingDeletion
    );
}

#[tokio::test]
async fn cleanup_keeps_a_key_another_secret_uses() {
    let config = sdk_config().await;
    let names = Names::new(&unique_name("Xf")).expect("names");
    let key_id = key_and_secret(&config, &names).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let foreign = format!("{}-someone-else", names.secret);
    secrets
        .create_secret()
        .name(&foreign)
        .kms_key_id(&key_id)
        .secret_string("{}")
        .send()
        .await
        .expect("CreateSecret (untagged)");

    let report = cleanup::cleanup(&config, &cleanup_options(&names, false))
        .await
        .expect("cleanup");
    assert_eq!(outcome_of(&report, Kind::Secret), cleanup::Outcome::Deleted);
    assert!(
        matches!(outcome_of(&report, Kind::KmsKey), cleanup::Outcome::Kept(ref why) if why.contains(&foreign)),
        "{}",
        report.table()
    );
    assert_eq!(
        key_state(&config, &key_id).await,
        aws_sdk_kms::types::KeyState::Enabled
    );
    secrets
        .delete_secret()
        .secret_id(&foreign)
        .force_delete_without_recovery(true)
        .send()
        .await
        .expect("DeleteSecret");
    let report = cleanup::cleanup(&config, &cleanup_options(&names, false))
        .await
        .expect("cleanup again");
    assert!(report.complete(), "{}", report.table());
}

#[tokio::test]
async fn a_foreign_key_under_the_runs_alias_does_not_stop_cleanup() {
    let config = sdk_config().await;
    let names = Names::new(&unique_name("Xa")).expect("names");
    let kms = aws_sdk_kms::Client::new(&config);
    let key = kms.create_key().send().await.expect("CreateKey (untagged)");
    let key_id = key.key_metadata().expect("key").key_id().to_owned();
    kms.create_alias()
        .alias_name(&names.kms_alias)
        .target_key_id(&key_id)
        .send()
        .await
        .expect("CreateAlias");

    let found = cleanup::discover(&config, &names).await.expect("discover");
    assert!(found.iter().all(|r| r.kind != Kind::KmsKey), "{found:?}");
    let report = cleanup::cleanup(&config, &cleanup_options(&names, false))
        .await
        .expect("cleanup");
    assert!(report.complete(), "{}", report.table());
    assert_eq!(
        key_state(&config, &key_id).await,
        aws_sdk_kms::types::KeyState::Enabled
    );
    kms.describe_key()
        .key_id(&names.kms_alias)
        .send()
        .await
        .expect("the alias is left alone");
}

#[tokio::test]
async fn provision_restores_the_runs_key_left_pending_deletion_under_its_alias() {
    let config = sdk_config().await;
    let names = Names::new(&unique_name("Xp")).expect("names");
    let first = provision::provision(&config, &provision_options(&names))
        .await
        .expect("provision");
    let key = first.state.kms_key_arn.clone();
    // A cleanup that scheduled the key's deletion but could not delete the alias
    // (by the key's id, as cleanup does).
    let key_id = key.rsplit('/').next().expect("key id");
    aws_sdk_kms::Client::new(&config)
        .schedule_key_deletion()
        .key_id(key_id)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion");

    let again = provision::provision(&config, &provision_options(&names))
        .await
        .expect("provision again");
    assert_eq!(again.state.kms_key_arn, key, "the same key is used");
    assert_eq!(
        key_state(&config, key_id).await,
        aws_sdk_kms::types::KeyState::Enabled
    );
    let report = cleanup::cleanup(&config, &cleanup_options(&names, false))
        .await
        .expect("cleanup");
    assert!(report.complete(), "{}", report.table());
}

/// RDS refuses ModifyDBInstance of an instance that is not available (InvalidDBInstanceState,
/// hashicorp/terraform-provider-aws#31594). A rerun that finds its instance outside the
/// project's parameter group moves it only once it is available: a stopped instance
/// is an error naming it, its state and the fix, with nothing sent; once started, the
/// rerun moves it.
#[tokio::test]
async fn a_rerun_moves_its_instance_to_the_parameter_group_only_once_it_is_available() {
    let config = sdk_config().await;
    let names = Names::new(&unique_name("Xm")).expect("names");
    let first = provision::provision(&config, &provision_options(&names))
        .await
        .expect("provision");
    let id = first.state.db_instance.clone();
    let rds = aws_sdk_rds::Client::new(&config);
    let group_of = |instance: &aws_sdk_rds::types::DbInstance| {
        instance
            .db_parameter_groups()
            .first()
            .and_then(|g| g.db_parameter_group_name())
            .unwrap_or_default()
            .to_owned()
    };
    let elsewhere = format!("{}-elsewhere", names.db_parameter_group);
    rds.create_db_parameter_group()
        .db_parameter_group_name(&elsewhere)
        .db_parameter_group_family("mysql8.4")
        .description("another group")
        .send()
        .await
        .expect("CreateDBParameterGroup");
    rds.modify_db_instance()
        .db_instance_identifier(&id)
        .db_parameter_group_name(&elsewhere)
        .send()
        .await
        .expect("move the instance out of the project's group");
    rds.stop_db_instance()
        .db_instance_identifier(&id)
        .send()
        .await
        .expect("StopDBInstance");

    let error = provision::provision(&config, &provision_options(&names))
        .await
        .expect_err("a stopped instance cannot be moved");
    let error = format!("{error:#}");
    assert!(
        error.contains(&format!("RDS instance {id} is stopped"))
            && error.contains("start-db-instance"),
        "{error}"
    );
    let stopped = rds
        .describe_db_instances()
        .db_instance_identifier(&id)
        .send()
        .await
        .expect("DescribeDBInstances");
    assert_eq!(
        group_of(&stopped.db_instances()[0]),
        elsewhere,
        "nothing was sent to the stopped instance"
    );

    rds.start_db_instance()
        .db_instance_identifier(&id)
        .send()
        .await
        .expect("StartDBInstance");
    provision::provision(&config, &provision_options(&names))
        .await
        .expect("the rerun after the start moves the instance");
    let moved = tests::available_db_instance(&rds, &id).await;
    assert_eq!(group_of(&moved), names.db_parameter_group);
    let report = cleanup::cleanup(&config, &cleanup_options(&names, false))
        .await
        .expect("cleanup");
    assert!(report.complete(), "{}", report.table());
    rds.delete_db_parameter_group()
        .db_parameter_group_name(&elsewhere)
        .send()
        .await
        .expect("DeleteDBParameterGroup");
}
