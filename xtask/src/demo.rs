//! `cargo xtask demo`: the main job end to end on the embedded emulator.
//!
//! It runs the same library functions as `provision`, `deploy`, `rotate`, `audit`
//! and `cleanup` against an emulator of its own (`target/emulator/demo`, stopped at
//! the end and when the demo's process exits), and prints one line per stage with
//! the time it took: start, provision, deploy (with the first rotation), two more
//! rotations (each verified by logging in), the audit (every check PASS), SSH opened
//! to the world and the audit catching it, cleanup, and a check that nothing is left.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use audit::inventory::Scope;
use audit::{CollectRequest, Finding, Status, Summary};
use aws_config::SdkConfig;

use crate::cleanup::{self, CleanupOptions};
use crate::deploy::{self, DeployOptions};
use crate::emulator::{self, Emulator, EmulatorOptions};
use crate::names::{self, Names};
use crate::provision::{self, ProvisionOptions};
use crate::rotate::{self, RotateOptions};

/// The audit of one run: its VPC, secret and database, reading secret values (never
/// printed) for `masterarn` and the grants.
pub fn audit_request(
    names: &Names,
    region: &str,
    vpc_id: &str,
    db_ca_bundle: Option<PathBuf>,
) -> CollectRequest {
    CollectRequest {
        scope: Scope {
            regions: vec![region.to_owned()],
            vpc_id: Some(vpc_id.to_owned()),
            secret_ids: vec![names.secret.clone()],
            all_secrets: false,
            db_instance_id: names.db_instance.clone(),
            read_secrets: true,
            discover: false,
        },
        policy: names.audit_policy(),
        db_endpoint: None,
        db_ca_bundle,
    }
}

/// Audits one run and returns the findings.
pub async fn audit_run(
    config: &SdkConfig,
    names: &Names,
    vpc_id: &str,
    db_ca_bundle: Option<PathBuf>,
) -> Vec<Finding> {
    let region = config.region().map(ToString::to_string).unwrap_or_default();
    let request = audit_request(names, &region, vpc_id, db_ca_bundle);
    let inventory = audit::collect(std::slice::from_ref(config), &request).await;
    audit::evaluate(&inventory, &request.policy)
}

fn not_passing(findings: &[Finding]) -> String {
    findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .map(|f| format!("{:?} {}: {}", f.status, f.check_id, f.message))
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// Prints stage lines: total time, stage time, what happened.
struct Stages {
    started: Instant,
    stage: Instant,
}

impl Stages {
    fn line(&mut self, message: &str) {
        println!(
            "[{:>5.1}s] (+{:>4.1}s) {message}",
            self.started.elapsed().as_secs_f64(),
            self.stage.elapsed().as_secs_f64()
        );
        self.stage = Instant::now();
    }
}

/// Runs the demo.
pub fn run() -> Result<ExitCode> {
    crate::prerequisites::ensure(false)?;
    let artifact = crate::build::build_rotator(&crate::build::BuildOptions::default())?;
    let options = EmulatorOptions {
        dir: crate::paths::target_dir().join("emulator").join("demo"),
        parent_pid: Some(std::process::id()),
        ..EmulatorOptions::default()
    };
    emulator::stop(&options.dir)?;
    let mut stages = Stages {
        started: Instant::now(),
        stage: Instant::now(),
    };
    let emulator = Emulator::start(&options)?;
    stages.line(&format!(
        "emulator up: moto at {}, MariaDB with TLS",
        emulator.state.endpoint_url
    ));
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let result = runtime.block_on(stages_on(&emulator, artifact.zip, &mut stages));
    emulator::stop(&options.dir)?;
    stages.line("emulator stopped");
    result?;
    println!(
        "demo done in {:.1} s",
        stages.started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// The demo's stages, in the order it runs and prints them.
async fn stages_on(emulator: &Emulator, zip: PathBuf, stages: &mut Stages) -> Result<()> {
    let config = crate::aws::emulator_config(&emulator.state).await;
    let names = Names::new(names::DEFAULT_NAME)?;
    let ca = Some(emulator.state.ca_file.clone());
    let state_dir = crate::paths::target_dir().join("xtask").join("demo");

    let provisioned = provision::provision(
        &config,
        &ProvisionOptions {
            names: names.clone(),
            my_ip: names::DEMO_MY_IP.to_owned(),
            allow_wide_ssh: false,
            ami: None,
            db_ca_bundle: ca.clone(),
            state_dir: state_dir.clone(),
            verbose: false,
        },
    )
    .await?;
    let state = &provisioned.state;
    stages.line(&format!(
        "provision: {} resources: {} {}, bastion {} (AMI {}, SSH from {}), RDS {} at {}:{}, secret {}",
        provisioned.created.len(),
        names.vpc,
        state.vpc_id,
        state.bastion_instance,
        state.ami,
        names::DEMO_MY_IP,
        state.db_instance,
        state.db_host,
        state.db_port,
        names.secret
    ));

    let deployed = deploy::deploy(
        &config,
        &DeployOptions {
            names: names.clone(),
            zip,
            db_ca_bundle: ca.clone(),
            dry_run: false,
            rotation_timeout: Duration::from_mins(2),
            verbose: false,
        },
    )
    .await?;
    stages.line(&format!(
        "deploy: function {} in the VPC ({} write calls), rotation {} within {}, first rotation done",
        names.function,
        deployed.writes.len(),
        names::SCHEDULE,
        names::WINDOW
    ));

    let rotate_options = RotateOptions {
        names: names.clone(),
        db_ca_bundle: ca.clone(),
        timeout: Duration::from_mins(2),
        state_dir: state_dir.clone(),
        verbose: false,
        clear_pending: None,
    };
    for _ in 0..2 {
        let rotation = rotate::rotate(&config, &rotate_options).await?;
        stages.line(&format!(
            "rotate: {} -> {}; the new user logs in and can SELECT, {} still logs in",
            rotation.previous_user, rotation.current_user, rotation.previous_user
        ));
    }

    let findings = audit_run(&config, &names, &state.vpc_id, ca.clone()).await;
    let summary = Summary::of(&findings);
    if summary.pass != findings.len() {
        bail!(
            "the audit of the fresh setup did not pass every check ({summary}):\n  {}",
            not_passing(&findings)
        );
    }
    stages.line(&format!("audit: all {} checks PASS", summary.pass));

    break_ssh(&config, &names, state, ca, stages).await?;
    clean_up(&config, &names, state_dir, stages).await
}

/// Opens SSH to the world on the bastion's group; the audit must catch it.
async fn break_ssh(
    config: &SdkConfig,
    names: &Names,
    state: &crate::state::State,
    ca: Option<PathBuf>,
    stages: &mut Stages,
) -> Result<()> {
    let ec2 = aws_sdk_ec2::Client::new(config);
    ec2.authorize_security_group_ingress()
        .group_id(&state.bastion_group)
        .ip_permissions(crate::resources::security_group::tcp_permission(
            22,
            "0.0.0.0/0",
        ))
        .send()
        .await
        .map_err(|e| anyhow!("opening SSH to the world: {}", crate::aws::describe(&e)))?;
    let findings = audit_run(config, names, &state.vpc_id, ca).await;
    let failed: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .collect();
    if !failed.iter().any(|f| f.check_id == "ec2.ssh.restricted") {
        bail!(
            "the audit did not catch SSH open to the world on {}:\n  {}",
            state.bastion_group,
            not_passing(&findings)
        );
    }
    stages.line(&format!(
        "break: SSH from 0.0.0.0/0 on {}; audit FAILS {} as it should",
        state.bastion_group,
        failed
            .iter()
            .map(|f| format!("{} ({:?})", f.check_id, f.severity))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(())
}

/// Deletes the run's resources by tag; the account must be empty after.
async fn clean_up(
    config: &SdkConfig,
    names: &Names,
    state_dir: PathBuf,
    stages: &mut Stages,
) -> Result<()> {
    let report = cleanup::cleanup(
        config,
        &CleanupOptions {
            names: names.clone(),
            dry_run: false,
            yes: true,
            force_delete_secrets: true,
            state_dir,
            dependency_timeout: Duration::from_secs(30),
            verbose: false,
        },
    )
    .await?;
    if !report.complete() {
        bail!("cleanup left resources:\n{}", report.table());
    }
    stages.line(&format!(
        "cleanup: {} resources deleted by tag, in dependency order",
        report.outcomes.len()
    ));

    let left = account_contents(config).await?;
    if !left.is_empty() {
        bail!(
            "the account is not empty after cleanup: {}",
            left.join(", ")
        );
    }
    stages.line("account empty again: no secret, DB instance, function, role or non-default VPC");
    Ok(())
}

/// What the emulator's account holds besides its defaults.
async fn account_contents(config: &SdkConfig) -> Result<Vec<String>> {
    let mut left = Vec::new();
    let secrets = aws_sdk_secretsmanager::Client::new(config)
        .list_secrets()
        .send()
        .await
        .map_err(|e| anyhow!("secretsmanager:ListSecrets: {}", crate::aws::describe(&e)))?;
    left.extend(
        secrets
            .secret_list()
            .iter()
            .map(|s| format!("secret {}", s.name().unwrap_or_default())),
    );
    let instances = aws_sdk_rds::Client::new(config)
        .describe_db_instances()
        .send()
        .await
        .map_err(|e| anyhow!("rds:DescribeDBInstances: {}", crate::aws::describe(&e)))?;
    left.extend(instances.db_instances().iter().map(|i| {
        format!(
            "RDS instance {}",
            i.db_instance_identifier().unwrap_or_default()
        )
    }));
    let functions = aws_sdk_lambda::Client::new(config)
        .list_functions()
        .send()
        .await
        .map_err(|e| anyhow!("lambda:ListFunctions: {}", crate::aws::describe(&e)))?;
    left.extend(
        functions
            .functions()
            .iter()
            .map(|f| format!("function {}", f.function_name().unwrap_or_default())),
    );
    let roles = aws_sdk_iam::Client::new(config)
        .list_roles()
        .send()
        .await
        .map_err(|e| anyhow!("iam:ListRoles: {}", crate::aws::describe(&e)))?;
    left.extend(
        roles
            .roles()
            .iter()
            .map(|r| format!("role {}", r.role_name())),
    );
    let vpcs = aws_sdk_ec2::Client::new(config)
        .describe_vpcs()
        .send()
        .await
        .map_err(|e| anyhow!("ec2:DescribeVpcs: {}", crate::aws::describe(&e)))?;
    left.extend(
        vpcs.vpcs()
            .iter()
            .filter(|v| v.is_default() != Some(true))
            .map(|v| format!("VPC {}", v.vpc_id().unwrap_or_default())),
    );
    Ok(left)
}
