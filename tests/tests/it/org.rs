//! An organisation audited in one run, against the embedded emulator.
//!
//! The emulator's own account (123456789012) creates an organisation with
//! Organizations and seven member accounts (`CreateAccount` makes each an
//! `OrganizationAccountAccessRole` that trusts the management account, as AWS
//! does). The tutorial's setup is built in two of them by the same library calls
//! as `cargo xtask provision` and `deploy`, given the member account's assumed-role
//! credentials: one left compliant, one broken in two ways. A third holds the same
//! setup under other names, which only `--discover` finds. One account's role
//! trusts another account only, so AssumeRole is refused (the emulator checks
//! trust policies as AWS does), one account is closed, and two are empty.
//!
//! One test, for an organisation can be created once per emulator (this area's own).
//! The rotator zip must exist (`cargo xtask build`; `cargo xtask test` builds it).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use audit::org::{
    AccountOutcome, Accounts, Evidence, OrgInventory, OrgRequest, Regions, evaluate_organization,
    parse_evidence,
};
use audit::{Finding, Report, Status};
use aws_config::SdkConfig;
use aws_sdk_ec2::types::{IpPermission, IpRange};
use aws_sdk_organizations::types::{CreateAccountState, OrganizationFeatureSet};
use aws_sdk_secretsmanager::types::RotationRulesType;
use serde_json::json;
use tests::runs::{ca, deploy_options, provision_options, state_dir};
use tests::unique_name;
use xtask::names::{self, Names};
use xtask::{deploy, provision};

/// The SDK configuration for this area's own emulator.
async fn sdk_config() -> SdkConfig {
    xtask::aws::emulator_config(tests::emulator_of_own("org")).await
}

const ROLE: &str = audit::org::DEFAULT_ROLE_NAME;

/// Creates a member account and waits until Organizations reports it made.
async fn create_account(org: &aws_sdk_organizations::Client, name: &str) -> String {
    let created = org
        .create_account()
        .account_name(name)
        .email(format!("{name}@example.com"))
        .send()
        .await
        .expect("create account");
    let request = created
        .create_account_status()
        .and_then(|s| s.id())
        .expect("request id")
        .to_owned();
    // CreateAccount is asynchronous on AWS: poll DescribeCreateAccountStatus.
    tests::poll_until(
        &format!("account {name} to be created"),
        Duration::from_mins(1),
        || async {
            let status = org
                .describe_create_account_status()
                .create_account_request_id(&request)
                .send()
                .await
                .ok()?;
            let status = status.create_account_status()?;
            (status.state() == Some(&CreateAccountState::Succeeded))
                .then(|| status.account_id().map(str::to_owned))
                .flatten()
        },
    )
    .await
}

/// The management account's credentials exchanged for the member's role.
async fn member_config(config: &SdkConfig, account: &str) -> SdkConfig {
    let answer = aws_sdk_sts::Client::new(config)
        .assume_role()
        .role_arn(audit::org::role_arn("aws", account, ROLE))
        .role_session_name("org-test")
        .send()
        .await
        .expect("assume the member's role");
    tests::assumed_config(config, &answer)
}

/// The tutorial's setup in a member account, by `provision` and `deploy`; returns
/// the bastion's security group.
async fn tutorial_setup(config: &SdkConfig, names: &Names, account: &str) -> String {
    let options = provision::ProvisionOptions {
        state_dir: state_dir().join(account),
        ..provision_options(names)
    };
    let provisioned = provision::provision(config, &options)
        .await
        .unwrap_or_else(|e| panic!("provision in {account}: {e:#}"));
    deploy::deploy(config, &deploy_options(names, false))
        .await
        .unwrap_or_else(|e| panic!("deploy in {account}: {e:#}"));
    provisioned.state.bastion_group
}

fn of_account<'a>(findings: &'a [Finding], account: &str) -> Vec<&'a Finding> {
    findings
        .iter()
        .filter(|f| f.account_id.as_deref() == Some(account))
        .collect()
}

/// Whether a finding is about the setup of `names` (its secret, database or VPC).
fn names_setup(finding: &Finding, names: &Names) -> bool {
    [&names.secret, &names.db_instance, &names.vpc]
        .iter()
        .any(|name| {
            finding.setup.as_deref() == Some(name.as_str())
                || finding.resource.contains(name.as_str())
                || finding.message.contains(name.as_str())
        })
}

/// What a finding says, whatever setup it is filed under.
fn outcomes(findings: &[&Finding]) -> BTreeSet<(String, Status, String)> {
    findings
        .iter()
        .map(|f| (f.check_id.clone(), f.status, f.resource.clone()))
        .collect()
}

fn failing(findings: &[&Finding]) -> BTreeSet<String> {
    findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .map(|f| f.check_id.clone())
        .collect()
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, step by step
async fn an_organisation_is_audited_account_by_account_and_its_evidence_reevaluates() {
    let config = sdk_config().await;
    let org = aws_sdk_organizations::Client::new(&config);
    org.create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .expect("create organisation");
    let mut members = Vec::new();
    for label in [
        "compliant",
        "broken",
        "refusing",
        "empty-a",
        "empty-b",
        "closed",
        "renamed",
    ] {
        members.push(create_account(&org, &unique_name(label)).await);
    }
    let [
        compliant,
        broken,
        refusing,
        empty_a,
        empty_b,
        closed,
        renamed,
    ] = <[String; 7]>::try_from(members).expect("seven accounts");
    org.close_account()
        .account_id(&closed)
        .send()
        .await
        .expect("close account");

    // The tutorial, compliant in one account and broken in two ways in another;
    // in a third, compliant under names that are not the tutorial's (built
    // meanwhile, to keep the test's time down).
    let names = Names::new(names::DEFAULT_NAME).expect("names");
    let other_names = Names::new("PayrollRotation").expect("other names");
    let compliant_config = member_config(&config, &compliant).await;
    let renamed_config = member_config(&config, &renamed).await;
    tokio::join!(
        Box::pin(tutorial_setup(&compliant_config, &names, &compliant)),
        Box::pin(tutorial_setup(&renamed_config, &other_names, &renamed)),
    );
    let broken_config = member_config(&config, &broken).await;
    let bastion_group = tutorial_setup(&broken_config, &names, &broken).await;
    aws_sdk_ec2::Client::new(&broken_config)
        .authorize_security_group_ingress()
        .group_id(&bastion_group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .expect("open SSH to the world");
    aws_sdk_secretsmanager::Client::new(&broken_config)
        .rotate_secret()
        .secret_id(&names.secret)
        .rotation_rules(
            RotationRulesType::builder()
                .schedule_expression("rate(30 days)")
                .duration("2h")
                .build(),
        )
        .rotate_immediately(false)
        .send()
        .await
        .expect("a thirty-day schedule");
    tests::wait_for_rotations_to_end(&names.secret).await;

    // The refusing account's role trusts another account only.
    aws_sdk_iam::Client::new(&member_config(&config, &refusing).await)
        .update_assume_role_policy()
        .role_name(ROLE)
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "sts:AssumeRole"}]})
            .to_string(),
        )
        .send()
        .await
        .expect("trust another account only");

    // The audit of the whole organisation, from the management account.
    let mut request = OrgRequest {
        accounts: Accounts::Organization,
        include_self: false,
        regions: Regions::List(vec!["us-east-1".to_owned()]),
        role_name: ROLE.to_owned(),
        external_id: None,
        max_concurrency: 4,
        collect: xtask::demo::audit_request(&names, "us-east-1", "", ca()),
    };
    request.collect.scope.vpc_id = None; // each account's VPC is found by its Name tag
    let started = Instant::now();
    let inventory: OrgInventory = audit::org::collect_organization(&config, &request)
        .await
        .expect("collect the organisation");
    let elapsed = started.elapsed();
    eprintln!(
        "organisation of {} accounts collected in {:.2} s, {} API requests",
        inventory.accounts.len(),
        elapsed.as_secs_f64(),
        inventory.api_requests()
    );
    assert_eq!(inventory.caller.account_id, tests::ACCOUNT_ID);
    let audited: BTreeSet<&str> = inventory
        .accounts
        .iter()
        .map(|a| a.account_id.as_str())
        .collect();
    assert_eq!(
        audited,
        BTreeSet::from([
            compliant.as_str(),
            broken.as_str(),
            refusing.as_str(),
            empty_a.as_str(),
            empty_b.as_str(),
            renamed.as_str()
        ]),
        "the active members only: not the closed one, not the caller's own"
    );
    let policy = names.audit_policy();
    let findings = evaluate_organization(&inventory, &policy);

    // The compliant account passes every check; the broken one fails exactly its two breaks.
    let good = of_account(&findings, &compliant);
    assert!(good.len() >= 16, "{good:#?}");
    assert!(failing(&good).is_empty(), "{good:#?}");
    let bad = of_account(&findings, &broken);
    assert_eq!(
        failing(&bad),
        BTreeSet::from([
            "ec2.ssh.restricted".to_owned(),
            "secret.rotation.schedule".to_owned()
        ]),
        "{bad:#?}"
    );
    assert!(
        bad.iter()
            .all(|f| f.setup.as_deref() == Some(policy.vpc_name.as_str())),
        "{bad:#?}"
    );
    assert!(
        bad.iter()
            .filter(|f| f.resource.starts_with("arn:"))
            .all(|f| f.resource.contains(&format!(":{broken}:"))),
        "resources are the account's own: {bad:#?}"
    );

    // The refusing account is one ERROR row naming it and the reason.
    let refused = of_account(&findings, &refusing);
    assert_eq!(refused.len(), 1, "{refused:#?}");
    let row = refused[0];
    assert_eq!(
        (row.status, row.check_id.as_str()),
        (Status::Error, "account.reachable")
    );
    assert!(
        row.message.contains(&refusing)
            && row.message.contains("sts:AssumeRole failed (AccessDenied")
            && row
                .message
                .contains("is not authorized to perform: sts:AssumeRole"),
        "{}",
        row.message
    );

    // The empty accounts are audited (and find no setup), not errors.
    for empty in [&empty_a, &empty_b] {
        let found = of_account(&findings, empty);
        assert!(
            found.iter().all(|f| f.check_id != "account.reachable")
                && found
                    .iter()
                    .any(|f| f.check_id == "vpc.dns" && f.status == Status::Fail),
            "{found:#?}"
        );
    }

    // By the tutorial's names, the renamed setup is not audited: nothing names it.
    let unnamed = of_account(&findings, &renamed);
    assert!(!unnamed.is_empty(), "the account is audited");
    assert!(
        unnamed.iter().all(|f| !names_setup(f, &other_names)),
        "{unnamed:#?}"
    );

    // One report: grouped by account, each finding with its account and region.
    let report = Report::for_organization(&inventory, findings.clone());
    let table = report.render(audit::Format::Table);
    for account in [&compliant, &broken, &refusing] {
        assert!(table.contains(&format!("account {account}")), "{table}");
    }
    let ocsf: serde_json::Value =
        serde_json::from_str(&report.render(audit::Format::Ocsf)).expect("OCSF");
    for (finding, source) in ocsf.as_array().expect("array").iter().zip(&findings) {
        assert_eq!(
            finding["cloud"]["account"]["uid"].as_str(),
            source.account_id.as_deref()
        );
        // A finding about a whole account (`global`) is placed in the home region.
        let region = if source.region == audit::org::ACCOUNT_REGION {
            report.scope.regions[0].as_str()
        } else {
            source.region.as_str()
        };
        assert_eq!(finding["cloud"]["region"], region);
    }

    // The evidence is one file for every account; evaluated again, the same report.
    let saved = serde_json::to_string_pretty(&inventory).expect("save");
    assert!(
        !saved.contains("AppUserPassw0rd"),
        "no secret value in evidence"
    );
    let Ok(Evidence::Organization(loaded)) = parse_evidence(&saved) else {
        panic!("the saved organisation inventory does not load");
    };
    let again = Report::for_organization(&loaded, evaluate_organization(&loaded, &policy));
    assert_eq!(again, report);
    assert_eq!(
        again.render(audit::Format::Json),
        report.render(audit::Format::Json)
    );

    let members = Members {
        renamed: &renamed,
        unchanged: [&compliant, &broken, &refusing],
        empty: [&empty_a, &empty_b],
    };
    discover_in_every_account(
        &config,
        &request,
        &findings,
        &policy,
        &other_names,
        &members,
    )
    .await;

    // --include-self: the caller's own account, with its own credentials (no role).
    let mut with_self = request.clone();
    with_self.accounts = Accounts::List(vec![compliant.clone()]);
    with_self.include_self = true;
    let both = audit::org::collect_organization(&config, &with_self)
        .await
        .expect("collect with the caller's own account");
    let own = &both.accounts[0];
    assert_eq!(own.account_id, tests::ACCOUNT_ID);
    assert!(own.role_arn.is_none());
    assert!(matches!(own.outcome, AccountOutcome::Collected(_)));
    assert_eq!(both.accounts[1].account_id, compliant);

    // --regions all: the account's enabled regions, from DescribeRegions.
    let regions = audit::org::enabled_regions(&compliant_config)
        .await
        .expect("describe regions");
    assert!(regions.iter().any(|r| r == "us-east-1"), "{regions:?}");
}

/// The members, by what `--discover` should find in them.
struct Members<'a> {
    /// The tutorial's setup under other names.
    renamed: &'a str,
    /// The tutorial's setup (compliant, broken), or the refusing role.
    unchanged: [&'a str; 3],
    /// No setup at all.
    empty: [&'a str; 2],
}

/// `--organization --discover`: the renamed setup is found in its account, from
/// its secret; the accounts with the tutorial's setup or a refusing role say what
/// they said without discovery; an empty account has no setup to report.
async fn discover_in_every_account(
    config: &SdkConfig,
    request: &OrgRequest,
    by_names: &[Finding],
    policy: &audit::Policy,
    other_names: &Names,
    members: &Members<'_>,
) {
    let renamed = members.renamed;
    let mut discovering = request.clone();
    discovering.collect.scope.discover = true;
    let started = Instant::now();
    let inventory = audit::org::collect_organization(config, &discovering)
        .await
        .expect("collect the organisation with --discover");
    eprintln!(
        "organisation collected with --discover in {:.2} s, {} API requests",
        started.elapsed().as_secs_f64(),
        inventory.api_requests()
    );
    let findings = evaluate_organization(&inventory, policy);

    // The renamed setup: found, checked, each finding with its account and secret.
    let found = of_account(&findings, renamed);
    assert!(
        found
            .iter()
            .any(|f| f.setup.as_deref() == Some(other_names.secret.as_str())),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .all(|f| f.setup.as_deref() == Some(other_names.secret.as_str())
                && f.account_id.as_deref() == Some(renamed)),
        "{found:#?}"
    );
    // Compliant: discovery finds this setup's own bastion by its role (an
    // instance whose group the database admits and that admits SSH), not by the
    // policy's name, so its group is no stranger on the database's port.
    assert_eq!(failing(&found), BTreeSet::new(), "{found:#?}");
    assert!(
        found.len() >= 16
            && found
                .iter()
                .any(|f| f.message.contains(&other_names.db_instance)),
        "checked in full, its database included: {found:#?}"
    );
    assert!(
        found
            .iter()
            .filter(|f| f.resource.starts_with("arn:"))
            .all(|f| f.resource.contains(&format!(":{renamed}:"))),
        "resources are the account's own: {found:#?}"
    );

    // The tutorial's setups and the refusing role: the same outcomes as by names
    // (filed under the secret's name instead of the VPC's).
    for account in members.unchanged {
        let before = of_account(by_names, account);
        let after = of_account(&findings, account);
        assert!(!after.is_empty(), "account {account}");
        assert_eq!(outcomes(&after), outcomes(&before), "account {account}");
    }
    // An empty account is audited and has no setup: no finding, and no error.
    for account in members.empty {
        assert!(of_account(&findings, account).is_empty(), "{findings:#?}");
        assert!(
            inventory
                .accounts
                .iter()
                .any(|a| a.account_id == account
                    && matches!(a.outcome, AccountOutcome::Collected(_))),
            "account {account}"
        );
    }

    // The report says the setups were discovered.
    let report = audit::Report::for_organization(&inventory, findings);
    assert!(report.scope.discover);
    let json: serde_json::Value =
        serde_json::from_str(&report.render(audit::Format::Json)).expect("JSON report");
    assert_eq!(json["scope"]["discover"], true, "{}", json["scope"]);
}
