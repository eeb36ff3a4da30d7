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
//! trust policies as AWS does), one account is closed, and two are empty; a
//! service control policy denies one of the empty ones a region (the emulator's
//! `scp` behaviour). The audit covers three regions: the setups', one without any
//! setup, and an opt-in region no account has enabled.
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

/// `audit --organization`, written as each account finishes (three at once, so
/// they finish out of order) with its evidence written account by account: the
/// same bytes as the whole-run report of that evidence, accounts by id, in JSON
/// (findings held back until the end) and CSV (rows written as they come).
async fn the_command_line_writes_the_whole_runs_report_as_accounts_finish() {
    let (binary, dir) = crate::audit::audit_binary_and_scratch_dir("org-stream");
    let state = tests::emulator_of_own("org");
    let policy = audit::Policy::default();
    for format in ["json", "csv"] {
        let (report, evidence) = (
            dir.join(format!("report.{format}")),
            dir.join(format!("evidence-{format}.json")),
        );
        let output = crate::audit::audit_against(&binary, state)
            .args(["--organization", "--regions", &REGIONS.join(",")])
            .args(["--max-accounts", "3", "--format", format, "--output"])
            .arg(&report)
            .arg("--save-inventory")
            .arg(&evidence)
            .output()
            .await
            .expect("run audit");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("API requests)"),
            "no summary line: {stderr}"
        );
        let saved = std::fs::read_to_string(&evidence).expect("evidence written");
        let Ok(Evidence::Organization(saved)) = parse_evidence(&saved) else {
            panic!("the evidence written account by account does not load");
        };
        let ids: Vec<&str> = saved
            .accounts
            .iter()
            .map(|a| a.account_id.as_str())
            .collect();
        assert!(ids.is_sorted() && ids.len() > 3, "{ids:?}");
        let whole = Report::for_organization(&saved, evaluate_organization(&saved, &policy, false));
        let format = match format {
            "json" => audit::Format::Json,
            _ => audit::Format::Csv,
        };
        assert_eq!(
            std::fs::read_to_string(&report).expect("report written"),
            whole.render(format),
            "{format:?}"
        );
    }
}

/// `--account-timeout` shorter than any account's audit: every account to audit
/// is reported not audited with the reason (an unreachable account: its
/// `account.reachable` row is ERROR and it counts as not audited; with no
/// account audited the exit is 1), and the run ends at once instead of hanging.
async fn an_account_past_its_deadline_is_a_coverage_gap_not_a_hang() {
    let (binary, dir) = crate::audit::audit_binary_and_scratch_dir("org-deadline");
    let state = tests::emulator_of_own("org");
    let report = dir.join("report.json");
    let started = Instant::now();
    let output = crate::audit::audit_against(&binary, state)
        .args(["--organization", "--regions", &REGIONS.join(",")])
        .args(["--account-timeout", "1ms", "--format", "json", "--output"])
        .arg(&report)
        .output()
        .await
        .expect("run audit");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("audit: not audited: "), "{stderr}");
    assert!(started.elapsed() < Duration::from_mins(1), "no hang");
    let report: Report =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("JSON");
    let states: Vec<&str> = report
        .scope
        .accounts
        .iter()
        .map(|a| a.state.as_str())
        .collect();
    assert!(
        states.iter().any(|s| s.starts_with(
            "unreachable: audit:account-timeout failed (the account's audit did not finish within 1ms (--account-timeout)"
        )),
        "{states:?}"
    );
    assert!(
        states
            .iter()
            .all(|s| !s.starts_with("audited") && !s.is_empty()),
        "{states:?}"
    );
}

/// A run that fails after it started (here the evidence file cannot be created)
/// leaves the previous report and evidence as they were, and no `.partial` file.
async fn a_run_that_fails_leaves_the_previous_report() {
    let (binary, dir) = crate::audit::audit_binary_and_scratch_dir("org-partial");
    let state = tests::emulator_of_own("org");
    let report = dir.join("report.csv");
    std::fs::write(&report, "the last good report\n").expect("previous report");
    let output = crate::audit::audit_against(&binary, state)
        .args(["--organization", "--regions", &REGIONS.join(",")])
        .args(["--format", "csv", "--output"])
        .arg(&report)
        .arg("--save-inventory")
        .arg(dir.join("no such directory").join("evidence.json"))
        .output()
        .await
        .expect("run audit");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("evidence.json.partial"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&report).expect("report"),
        "the last good report\n"
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, ["report.csv"], "no partial file left");
}

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

/// The account's findings of checks, without the coverage rows (`region.*`: a
/// region without the setup, or not audited), which [`coverage_rows`] gives.
fn of_account<'a>(findings: &'a [Finding], account: &str) -> Vec<&'a Finding> {
    findings
        .iter()
        .filter(|f| f.account_id.as_deref() == Some(account) && !is_coverage_row(f))
        .collect()
}

fn is_coverage_row(finding: &Finding) -> bool {
    matches!(
        finding.check_id.as_str(),
        "region.setup-present" | "region.reachable"
    )
}

/// The account's coverage rows: (check, region, status).
fn coverage_rows(findings: &[Finding], account: &str) -> BTreeSet<(String, String, Status)> {
    findings
        .iter()
        .filter(|f| f.account_id.as_deref() == Some(account) && is_coverage_row(f))
        .map(|f| (f.check_id.clone(), f.region.clone(), f.status))
        .collect()
}

/// The regions of the audit: the setups' own, one no account uses, and an opt-in
/// region no account has enabled (the emulator answers DescribeRegions as moto
/// does: `me-central-1` is `not-opted-in`).
const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "me-central-1"];

/// What an account without the setup reports over [`REGIONS`]: a row per region.
fn no_setup_rows() -> BTreeSet<(String, String, Status)> {
    BTreeSet::from([
        (
            "region.setup-present".to_owned(),
            "us-east-1".to_owned(),
            Status::Skip,
        ),
        (
            "region.setup-present".to_owned(),
            "us-west-2".to_owned(),
            Status::Skip,
        ),
        (
            "region.reachable".to_owned(),
            "me-central-1".to_owned(),
            Status::Skip,
        ),
    ])
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

    // A service control policy denies every region but us-east-1 to one empty
    // account, in the shape AWS publishes (aws-samples/service-control-policy-examples,
    // Region-controls, "Deny access to AWS based on the requested AWS region"): a
    // Deny with NotAction exempting global actions, ec2:DescribeRegions among them,
    // so a probe by DescribeRegions would never see the deny.
    let region_deny = org
        .create_policy()
        .name("deny-outside-us-east-1")
        .description("region deny")
        .r#type(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        .content(
            json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "DenyUnapprovedRegionsExceptGlobal",
                "Effect": "Deny",
                "NotAction": ["iam:*", "organizations:*", "sts:*", "support:*",
                    "ec2:DescribeRegions", "ec2:DescribeTransitGateways"],
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}}}]})
            .to_string(),
        )
        .send()
        .await
        .expect("create the SCP");
    org.attach_policy()
        .policy_id(
            region_deny
                .policy()
                .and_then(|p| p.policy_summary())
                .and_then(|p| p.id())
                .expect("policy id"),
        )
        .target_id(&empty_a)
        .send()
        .await
        .expect("attach the SCP");

    // The audit of the whole organisation, from the management account.
    let mut request = OrgRequest {
        max_concurrency: 4,
        max_accounts: 3,
        ..OrgRequest::new(
            Accounts::Organization,
            Regions::List(REGIONS.iter().map(|&r| r.to_owned()).collect()),
            xtask::demo::audit_request(&names, "us-east-1", "", ca()),
        )
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
    // Every account of the organisation is in the scope, by id, with its state.
    let ids: Vec<&str> = inventory
        .accounts
        .iter()
        .map(|a| a.account_id.as_str())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "accounts by id");
    let state = |id: &str| {
        inventory
            .accounts
            .iter()
            .find(|a| a.account_id == id)
            .map_or_else(
                || panic!("account {id} is not in the scope"),
                audit::org::AccountRecord::state,
            )
    };
    for audited in [&compliant, &broken, &empty_a, &empty_b, &renamed] {
        assert_eq!(state(audited), "audited");
    }
    // Each audited account's organisation is read once, with its role, before
    // its regions (two enabled) are collected apart.
    let organisation = org
        .describe_organization()
        .send()
        .await
        .expect("describe the organisation")
        .organization()
        .and_then(|o| o.id())
        .expect("the organisation's id")
        .to_owned();
    for audited in [&compliant, &broken, &empty_a, &empty_b, &renamed] {
        let collected = inventory
            .accounts
            .iter()
            .find(|a| &a.account_id == audited)
            .and_then(audit::org::AccountRecord::inventory)
            .expect("an audited account's inventory");
        assert_eq!(
            collected.metadata.organization_id,
            audit::inventory::Collected::Ok(Some(organisation.clone())),
            "{audited}"
        );
        assert_eq!(
            collected
                .metadata
                .calls
                .get("organizations:DescribeOrganization"),
            Some(&1),
            "{audited}: {:?}",
            collected.metadata.calls
        );
    }
    assert!(state(&refusing).starts_with("unreachable: sts:AssumeRole failed"));
    assert!(
        state(&closed).starts_with("suspended ("),
        "{}",
        state(&closed)
    );
    assert!(
        state(tests::ACCOUNT_ID).starts_with("excluded: the caller's own account"),
        "{}",
        state(tests::ACCOUNT_ID)
    );
    assert_eq!(ids.len(), 8, "seven members and the management account");
    let policy = names.audit_policy();
    let findings = evaluate_organization(&inventory, &policy, false);

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

    // The empty accounts are audited: one row per region says the setup is not
    // there, the disabled opt-in region is one row saying so, and no check fails.
    assert!(of_account(&findings, &empty_b).is_empty());
    assert_eq!(coverage_rows(&findings, &empty_b), no_setup_rows());
    // The account the SCP limits: us-west-2 is one row naming the SCP, not audited.
    assert!(of_account(&findings, &empty_a).is_empty());
    let denied: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.account_id.as_deref() == Some(empty_a.as_str()) && f.region == "us-west-2")
        .collect();
    assert!(
        denied.len() == 1
            && denied[0].check_id == "region.reachable"
            && denied[0].status == Status::Skip
            && denied[0]
                .message
                .contains("a service control policy denies it (You are not authorized to perform this operation. User: arn:aws:sts::")
            && denied[0].message.contains("with an explicit deny in a service control policy")
            && denied[0].message.contains("ec2:DescribeVpcs"),
        "the SCP-denied region is one region.reachable row: {denied:#?}"
    );
    // The setup is found in the compliant account: no setup.found failure.
    assert!(findings.iter().all(|f| f.check_id != "setup.found"));
    // The accounts with the setup: us-west-2 has none, me-central-1 is not enabled.
    assert_eq!(
        coverage_rows(&findings, &compliant),
        no_setup_rows()
            .into_iter()
            .filter(|(_, region, _)| region != "us-east-1")
            .collect()
    );
    // Not audited, and counted so: the refusing account, the region not enabled in
    // each of the five accounts reached, and the region the SCP denies.
    assert_eq!(
        inventory.not_audited(),
        audit::coverage::NotAudited {
            accounts: 1,
            regions: 6,
            audited: 5
        }
    );
    // --require-setup: the empty accounts' checks fail in every enabled region.
    let required = evaluate_organization(&inventory, &policy, true);
    let empty_required = of_account(&required, &empty_b);
    for region in ["us-east-1", "us-west-2"] {
        assert!(
            empty_required
                .iter()
                .any(|f| f.check_id == "vpc.dns" && f.status == Status::Fail && f.region == region),
            "{empty_required:#?}"
        );
    }

    // By the tutorial's names, the renamed setup is not audited: nothing names it,
    // and the account is as one without the setup (a row per region).
    let unnamed: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.account_id.as_deref() == Some(renamed.as_str()))
        .collect();
    assert_eq!(coverage_rows(&findings, &renamed), no_setup_rows());
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
    let again = Report::for_organization(&loaded, evaluate_organization(&loaded, &policy, false));
    assert_eq!(again, report);
    assert_eq!(
        again.render(audit::Format::Json),
        report.render(audit::Format::Json)
    );
    the_command_line_writes_the_whole_runs_report_as_accounts_finish().await;
    an_account_past_its_deadline_is_a_coverage_gap_not_a_hang().await;
    a_run_that_fails_leaves_the_previous_report().await;

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
    let own = both
        .accounts
        .iter()
        .find(|a| a.account_id == tests::ACCOUNT_ID)
        .expect("the caller's own account");
    assert!(own.role_arn.is_none());
    assert!(matches!(own.outcome, AccountOutcome::Collected(_)));
    assert!(both.accounts.iter().any(|a| a.account_id == compliant));

    // --accounts naming the caller's own account audits it (with its own
    // credentials), without --include-self.
    let mut named_self = request.clone();
    named_self.accounts = Accounts::List(vec![tests::ACCOUNT_ID.to_owned()]);
    named_self.regions = Regions::List(vec!["us-east-1".to_owned()]);
    let caller_only = audit::org::collect_organization(&config, &named_self)
        .await
        .expect("collect the caller's own account, named");
    assert_eq!(caller_only.accounts.len(), 1);
    assert_eq!(caller_only.accounts[0].state(), "audited");
    assert!(caller_only.accounts[0].role_arn.is_none());

    // --ous: only the accounts under the unit (here one, moved into it); every
    // other account is in the scope as excluded.
    let root = org.list_roots().send().await.expect("list roots").roots()[0]
        .id()
        .expect("root id")
        .to_owned();
    let unit = org
        .create_organizational_unit()
        .parent_id(&root)
        .name("audited-unit")
        .send()
        .await
        .expect("create unit")
        .organizational_unit()
        .and_then(|u| u.id())
        .expect("unit id")
        .to_owned();
    org.move_account()
        .account_id(&empty_b)
        .source_parent_id(&root)
        .destination_parent_id(&unit)
        .send()
        .await
        .expect("move the account into the unit");
    let mut by_unit = request.clone();
    by_unit.regions = Regions::List(vec!["us-east-1".to_owned()]);
    by_unit.ous = vec![unit];
    let in_unit = audit::org::collect_organization(&config, &by_unit)
        .await
        .expect("collect the unit");
    let audited: Vec<&str> = in_unit
        .accounts
        .iter()
        .filter(|a| a.state() == "audited")
        .map(|a| a.account_id.as_str())
        .collect();
    assert_eq!(audited, [empty_b.as_str()]);
    assert!(in_unit.accounts.iter().any(|a| a.account_id == compliant
        && a.state() == "excluded: not under the organisational units of --ous"));

    // --regions all: the account's enabled regions, from DescribeRegions.
    let regions = audit::org::enabled_regions(&compliant_config)
        .await
        .expect("describe regions");
    assert!(regions.iter().any(|r| r == "us-east-1"), "{regions:?}");
    assert!(
        !regions.iter().any(|r| r == "me-central-1"),
        "an opt-in region not enabled is not audited by --regions all: {regions:?}"
    );
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
    let findings = evaluate_organization(&inventory, policy, false);

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
