//! `cargo xtask fuzz audit`: the audit's prediction checked against the rotation's
//! outcome, case by case.
//!
//! A fixed list of test cases can never keep up with the ways a setup goes wrong,
//! and an audit tested only against expectations we wrote is as wrong as they are.
//! Here the emulator (which decides reachability and permissions as AWS does) is
//! the oracle: each case builds the compliant tutorial setup afresh (provision and
//! deploy, the first rotation included), applies one to three random mutations from
//! [`operators::CATALOGUE`], runs the audit, rotates, and compares the audit's
//! rotation-path verdict with what the rotation did ([`oracle`]). A disagreement is
//! shrunk to the fewest mutations that still disagree and printed with a command
//! (`--case N --operator ...`) that replays exactly those mutations.
//!
//! The emulator runs with IAM enforced (the function acts as its role) and one
//! attempt per rotation (Secrets Manager's retries repeat the same outcome and
//! would only make failed cases slower).

mod changes;
pub mod operators;
pub mod oracle;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use audit::Finding;
use aws_config::SdkConfig;
use comfy_table::Table;
use serde_json::Value;

use crate::cleanup::{self, CleanupOptions};
use crate::deploy::{self, DeployOptions};
use crate::emulator::{self, Emulator, EmulatorOptions, EmulatorState};
use crate::names::{self, Names};
use crate::provision::{self, ProvisionOptions};
use crate::state::State;
use operators::Operator;
use oracle::{Agreement, Outcome, Prediction};

/// What `cargo xtask fuzz audit` was asked for.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    pub seed: u64,
    pub cases: usize,
    /// Only this case of the seed (a replay).
    pub case: Option<usize>,
    /// One case per operator of the pool, alone, instead of random draws.
    pub each: bool,
    /// Cases run at once.
    pub jobs: usize,
    /// At most this many mutations per case (at least one).
    pub max_mutations: usize,
    /// Draw only from these operators (default: the whole catalogue).
    pub operators: Vec<String>,
}

impl FuzzOptions {
    /// Every operator alone, four cases at once: what `cargo xtask test` runs.
    pub fn each() -> Self {
        Self {
            seed: 1,
            cases: 0,
            case: None,
            each: true,
            jobs: 4,
            max_mutations: 1,
            operators: Vec::new(),
        }
    }
}

/// The setup of one case, and the clients to change it.
#[derive(Debug)]
pub struct Setup {
    pub names: Names,
    pub state: State,
    pub function: String,
    pub function_group: String,
    pub role_arn: String,
    pub vpc_cidr: String,
    pub account: String,
    /// Who makes the mutations (a key policy must name it).
    pub caller_arn: String,
    /// The directory of the emulator the case runs in (its database servers'
    /// root sockets).
    pub emulator_dir: PathBuf,
    pub ec2: aws_sdk_ec2::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub iam: aws_sdk_iam::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub rds: aws_sdk_rds::Client,
    pub kms: aws_sdk_kms::Client,
}

impl Setup {
    pub fn db_port(&self) -> i32 {
        i32::from(self.state.db_port)
    }

    /// The rotation role's inline policy, as deploy wrote it.
    pub async fn role_policy(&self) -> Result<Value> {
        let out = self
            .iam
            .get_role_policy()
            .role_name(&self.names.role)
            .policy_name(&self.names.role_policy)
            .send()
            .await
            .map_err(|e| anyhow!("iam:GetRolePolicy: {}", crate::aws::describe(&e)))?;
        let text = audit::iam_eval::decode_policy_document(out.policy_document());
        serde_json::from_str(&text).context("the role's policy is not JSON")
    }
}

/// SplitMix64: a small, fixed pseudo-random sequence, so a seed replays exactly.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % n as u64).unwrap_or(0)
    }
}

/// The mutations of case `case` of `seed`: 1 to `max` distinct operators of `pool`.
pub fn draw(seed: u64, case: usize, max: usize, pool: &[Operator]) -> Vec<Operator> {
    let mut rng = Rng::new(seed ^ (case as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let count = 1 + rng.below(max.clamp(1, pool.len().max(1)));
    let mut left: Vec<Operator> = pool.to_vec();
    let mut chosen: Vec<Operator> = Vec::new();
    while chosen.len() < count && !left.is_empty() {
        let next = left.remove(rng.below(left.len()));
        // One operator per setting: two would undo or break each other.
        left.retain(|o| o.slot != next.slot);
        chosen.push(next);
    }
    // Settings a user makes while the setup works (a schedule, the application
    // user's grants) come first: drawn after a broken invoke permission or key
    // policy, AWS would refuse them and the case could not run.
    chosen.sort_by_key(|o| !o.set_while_working());
    chosen
}

/// One case's result.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub case: usize,
    pub operators: Vec<Operator>,
    /// What each mutation did.
    pub applied: Vec<String>,
    pub prediction: Option<Prediction>,
    pub outcome: Option<Outcome>,
    pub agreement: Option<Agreement>,
    /// Expected verdicts the audit did not give.
    pub unmet: Vec<String>,
    /// The case could not be run (a mutation or the setup failed).
    pub error: Option<String>,
    /// What cleanup left, if anything.
    pub cleanup: Option<String>,
    pub seconds: f64,
    /// Why a first setup failed (it was built again).
    pub setup_retried: Option<String>,
    /// Seconds per phase: setup, mutations, audit, rotation, cleanup.
    pub phases: Vec<(&'static str, f64)>,
}

impl CaseResult {
    /// Whether the case shows the audit wrong.
    pub fn disagrees(&self) -> bool {
        matches!(
            self.agreement,
            Some(Agreement::FalsePass | Agreement::FalseFail)
        ) || !self.unmet.is_empty()
    }

    /// Whether the case fails the run: it disagrees, or could not be run.
    pub fn counts_against(&self) -> bool {
        self.disagrees() || self.error.is_some()
    }

    fn same_fault(&self, other: &Self) -> bool {
        self.agreement == other.agreement && self.unmet.is_empty() == other.unmet.is_empty()
    }

    fn summary(&self) -> String {
        let names: Vec<&str> = self.operators.iter().map(|o| o.name).collect();
        let verdict = match (&self.error, &self.agreement) {
            (Some(error), _) => format!("not run: {error}"),
            (None, Some(agreement)) => {
                let unmet = if self.unmet.is_empty() {
                    String::new()
                } else {
                    format!("; {} expected verdict(s) missing", self.unmet.len())
                };
                format!(
                    "audit {}, rotation {} -> {agreement}{unmet}",
                    prediction_word(self.prediction.as_ref()),
                    outcome_word(self.outcome.as_ref())
                )
            }
            (None, None) => "no verdict".to_owned(),
        };
        let phases: Vec<String> = self
            .phases
            .iter()
            .map(|(name, seconds)| format!("{name} {seconds:.1}"))
            .collect();
        format!(
            "case {} [{}] {verdict} ({:.1} s: {})",
            self.case,
            names.join(", "),
            self.seconds,
            phases.join(", ")
        )
    }
}

fn prediction_word(prediction: Option<&Prediction>) -> &'static str {
    match prediction {
        Some(Prediction::Succeeds) => "PASS",
        Some(Prediction::Fails(_)) => "FAIL",
        Some(Prediction::Unknown(_)) => "ERROR",
        None => "-",
    }
}

fn outcome_word(outcome: Option<&Outcome>) -> String {
    match outcome {
        Some(Outcome::Succeeded) => "succeeded".to_owned(),
        Some(Outcome::Failed(step)) => format!("failed ({step})"),
        None => "-".to_owned(),
    }
}

/// What every case shares.
struct Shared {
    config: SdkConfig,
    state: EmulatorState,
    zip: PathBuf,
    state_dir: PathBuf,
    setups: AtomicUsize,
}

/// Runs `cargo xtask fuzz audit`: exit status 1 when a case disagreed or could not
/// be run.
pub fn run(options: &FuzzOptions) -> Result<ExitCode> {
    let results = check(options)?;
    Ok(if results.iter().any(CaseResult::counts_against) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs the cases and prints their table; returns every case's result.
pub fn check(options: &FuzzOptions) -> Result<Vec<CaseResult>> {
    let pool = pool(&options.operators)?;
    crate::prerequisites::ensure(false)?;
    let artifact = crate::build::build_rotator(&crate::build::BuildOptions::default())?;
    let dir = crate::paths::target_dir().join("emulator").join("fuzz");
    let emulator_options = EmulatorOptions {
        dir: dir.clone(),
        parent_pid: Some(std::process::id()),
        enforce_iam: true,
        // One attempt per rotation; a bastion's console answers sooner. Neither
        // changes what a call is allowed or what the network lets through.
        settings: vec![
            ("EMULATOR_ROTATION_ATTEMPTS".to_owned(), "1".to_owned()),
            ("EMULATOR_CONSOLE_SECONDS".to_owned(), "0.5".to_owned()),
        ],
    };
    emulator::stop(&dir)?;
    let started = Instant::now();
    let emulator = Emulator::start(&emulator_options)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let result = runtime.block_on(async {
        let shared = Arc::new(Shared {
            config: crate::aws::emulator_config(&emulator.state).await,
            state: emulator.state.clone(),
            zip: artifact.zip,
            state_dir: crate::paths::target_dir().join("xtask").join("fuzz"),
            setups: AtomicUsize::new(0),
        });
        run_cases(&shared, options, &pool).await
    });
    if let Ok(results) = &result {
        print!("{}", report(results, options, started.elapsed()));
    }
    emulator::stop(&dir)?;
    result
}

fn pool(only: &[String]) -> Result<Vec<Operator>> {
    if only.is_empty() {
        return Ok(operators::CATALOGUE.to_vec());
    }
    only.iter()
        .map(|name| {
            operators::by_name(name).ok_or_else(|| {
                anyhow!(
                    "--operator {name}: no such operator; the catalogue: {}",
                    operators::CATALOGUE
                        .iter()
                        .map(|o| o.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        })
        .collect()
}

async fn run_cases(
    shared: &Arc<Shared>,
    options: &FuzzOptions,
    pool: &[Operator],
) -> Result<Vec<CaseResult>> {
    let cases: Vec<usize> = match options.case {
        Some(case) => vec![case],
        None if options.each => (0..pool.len()).collect(),
        None => (0..options.cases).collect(),
    };
    let total = cases.len();
    let limit = Arc::new(tokio::sync::Semaphore::new(options.jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    // A replay names its case's mutations: exactly those, in that order.
    let exact = options.case.is_some() && !options.operators.is_empty();
    for case in cases {
        let operators = if exact {
            pool.to_vec()
        } else if options.each {
            vec![pool[case % pool.len()]]
        } else {
            draw(options.seed, case, options.max_mutations, pool)
        };
        let shared = Arc::clone(shared);
        let limit = Arc::clone(&limit);
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let result = run_case(&shared, case, &operators).await;
            println!("{}", result.summary());
            if result.disagrees() && operators.len() > 1 {
                shrink(&shared, result).await
            } else {
                result
            }
        });
    }
    let mut results = Vec::with_capacity(total);
    while let Some(done) = tasks.join_next().await {
        results.push(done.map_err(|e| anyhow!("a fuzz case panicked: {e}"))?);
    }
    results.sort_by_key(|r| r.case);
    Ok(results)
}

/// The smallest subset of a disagreeing case's mutations that disagrees the same way.
async fn shrink(shared: &Arc<Shared>, result: CaseResult) -> CaseResult {
    let all = result.operators.clone();
    for size in 1..all.len() {
        for subset in subsets(&all, size) {
            let smaller = run_case(shared, result.case, &subset).await;
            println!("  shrinking: {}", smaller.summary());
            if smaller.error.is_none() && smaller.disagrees() && smaller.same_fault(&result) {
                return smaller;
            }
        }
    }
    result
}

fn subsets(all: &[Operator], size: usize) -> Vec<Vec<Operator>> {
    let mut out = Vec::new();
    let n = all.len();
    for mask in 0u32..(1 << n) {
        if mask.count_ones() as usize == size {
            out.push(
                (0..n)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| all[i])
                    .collect(),
            );
        }
    }
    out
}

async fn run_case(shared: &Arc<Shared>, case: usize, operators: &[Operator]) -> CaseResult {
    let started = Instant::now();
    let mut result = CaseResult {
        case,
        operators: operators.to_vec(),
        applied: Vec::new(),
        prediction: None,
        outcome: None,
        agreement: None,
        unmet: Vec::new(),
        error: None,
        cleanup: None,
        seconds: 0.0,
        phases: Vec::new(),
        setup_retried: None,
    };
    // The setup is not under test: one that fails (the emulator under load) is
    // built once more under a new name, and the first failure is reported.
    for attempt in 0..2 {
        let number = shared.setups.fetch_add(1, Ordering::Relaxed);
        let names = match Names::new(&format!("Fuzz{number}")) {
            Ok(names) => names,
            Err(error) => {
                result.error = Some(format!("{error:#}"));
                break;
            }
        };
        result.error = judge_case(shared, &names, &mut result)
            .await
            .err()
            .map(|e| format!("{e:#}"));
        let cleaning = Instant::now();
        result.cleanup = clean(shared, &names).await.err().map(|e| format!("{e:#}"));
        result
            .phases
            .push(("cleanup", cleaning.elapsed().as_secs_f64()));
        match &result.error {
            Some(error)
                if attempt == 0 && !result.phases.iter().any(|(phase, _)| *phase == "setup") =>
            {
                result.setup_retried = Some(error.clone());
                result.phases.clear();
            }
            _ => break,
        }
    }
    result.seconds = started.elapsed().as_secs_f64();
    result
}

async fn judge_case(shared: &Arc<Shared>, names: &Names, result: &mut CaseResult) -> Result<()> {
    let mut phase = Instant::now();
    let mut lap = |result: &mut CaseResult, name: &'static str| {
        result.phases.push((name, phase.elapsed().as_secs_f64()));
        phase = Instant::now();
    };
    let setup = build_setup(shared, names).await?;
    lap(result, "setup");
    for operator in &result.operators {
        let applied = (operator.apply)(&setup)
            .await
            .with_context(|| format!("operator {operator}"))?;
        result.applied.push(applied);
    }
    settle(shared, &setup).await?;
    lap(result, "mutations");
    let region = shared
        .config
        .region()
        .map(ToString::to_string)
        .unwrap_or_default();
    let request = crate::demo::audit_request(
        names,
        &region,
        &setup.state.vpc_id,
        Some(shared.state.ca_file.clone()),
    );
    let inventory = audit::collect(std::slice::from_ref(&shared.config), &request).await;
    let findings = audit::evaluate(&inventory, &request.policy);
    let value_refused = oracle::value_refused(&inventory.regions);
    let masked: BTreeSet<&str> = result
        .operators
        .iter()
        .flat_map(|o| o.fails_for_safety.iter().copied())
        .collect();
    let (prediction, hidden) = oracle::predict(&findings, &masked);
    lap(result, "audit");
    let outcome = rotate_once(shared, &setup).await?;
    lap(result, "rotation");
    result.agreement = Some(oracle::agreement(&prediction, hidden, &outcome));
    result.unmet = expected_verdicts(&findings, &result.operators, value_refused.as_deref());
    result.prediction = Some(prediction);
    result.outcome = Some(outcome);
    Ok(())
}

/// The expected verdicts of every operator of the case that the findings miss.
/// `value_refused`: the call AWS refused the audit when it read the secret's value
/// ([`oracle::value_refused`]). It must be the refusal an operator of the case
/// declares ([`Operator::hides_secret_values`]), and a declared refusal must be
/// recorded: otherwise the emulator, the harness or the declaration is wrong, and the
/// case says so instead of letting the refusal's ERROR stand for an expected verdict.
/// Only a refusal both declared and recorded changes what the operators may expect
/// of the checks needing the value ([`oracle::NEEDS_SECRET_VALUE`]).
fn expected_verdicts(
    findings: &[Finding],
    operators: &[Operator],
    value_refused: Option<&str>,
) -> Vec<String> {
    let declared = operators
        .iter()
        .find_map(|o| o.hides_secret_values.map(|action| (o, action)));
    let mut unmet = Vec::new();
    let refusal = match (declared, value_refused) {
        (None, None) => None,
        (Some((_, action)), Some(recorded)) if action == recorded => Some(recorded),
        (None, Some(recorded)) => {
            unmet.push(format!(
                "the audit was refused the secret's value ({recorded}) though no operator of the case hides it: the emulator or the harness is wrong"
            ));
            None
        }
        (Some((operator, action)), recorded) => {
            unmet.push(format!(
                "{operator} hides the secret's value from the auditor ({action} refused), but the audit {}: the operator's declaration or the emulator is wrong",
                recorded.map_or_else(
                    || "recorded no refusal of it".to_owned(),
                    |recorded| format!("was refused {recorded} instead")
                )
            ));
            None
        }
    };
    unmet.extend(
        operators
            .iter()
            .flat_map(|o| oracle::unmet(findings, o.expect, refusal)),
    );
    unmet
}

/// The compliant tutorial setup under `names`: provisioned, deployed, rotated once.
async fn build_setup(shared: &Shared, names: &Names) -> Result<Setup> {
    let config = &shared.config;
    let ca = Some(shared.state.ca_file.clone());
    let provisioned = provision::provision(
        config,
        &ProvisionOptions {
            names: names.clone(),
            my_ip: names::DEMO_MY_IP.to_owned(),
            allow_wide_ssh: false,
            ami: None,
            db_ca_bundle: ca.clone(),
            state_dir: shared.state_dir.clone(),
            verbose: false,
        },
    )
    .await
    .context("provision")?;
    let deployed = deploy::deploy(
        config,
        &DeployOptions {
            names: names.clone(),
            zip: shared.zip.clone(),
            db_ca_bundle: ca,
            dry_run: false,
            rotation_timeout: Duration::from_mins(2),
            verbose: false,
        },
    )
    .await
    .context("deploy")?;
    let ec2 = aws_sdk_ec2::Client::new(config);
    let vpc = ec2
        .describe_vpcs()
        .vpc_ids(&provisioned.state.vpc_id)
        .send()
        .await
        .map_err(|e| anyhow!("ec2:DescribeVpcs: {}", crate::aws::describe(&e)))?;
    let vpc_cidr = vpc
        .vpcs()
        .first()
        .and_then(|v| v.cidr_block())
        .context("the VPC has no CIDR")?
        .to_owned();
    let caller = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| anyhow!("sts:GetCallerIdentity: {}", crate::aws::describe(&e)))?;
    Ok(Setup {
        names: names.clone(),
        state: provisioned.state,
        function: names.function.clone(),
        function_group: deployed.rotation_group,
        role_arn: deployed.role_arn,
        vpc_cidr,
        account: caller.account().unwrap_or_default().to_owned(),
        caller_arn: caller.arn().unwrap_or_default().to_owned(),
        emulator_dir: shared.state.dir.clone(),
        ec2,
        lambda: aws_sdk_lambda::Client::new(config),
        iam: aws_sdk_iam::Client::new(config),
        secrets: aws_sdk_secretsmanager::Client::new(config),
        rds: aws_sdk_rds::Client::new(config),
        kms: aws_sdk_kms::Client::new(config),
    })
}

/// The emulator's record of every rotation of `secret` it ran
/// ([`emulator::rotations_of`]).
async fn rotation_records(shared: &Shared, secret: &str) -> Result<Vec<Value>> {
    let state = shared.state.clone();
    let secret = secret.to_owned();
    tokio::task::spawn_blocking(move || emulator::rotations_of(&state, &secret))
        .await
        .map_err(|e| anyhow!("reading the emulator's rotations: {e}"))?
}

/// Waits until no rotation of the setup's secret runs: the test a new schedule
/// starts (RotateSecret with RotateImmediately=false runs testSecret on a version
/// staged AWSPENDING) is over, as it is when a user audits a settled setup.
async fn settle(shared: &Arc<Shared>, setup: &Setup) -> Result<()> {
    let secret = setup.state.secret_arn.as_str();
    let deadline = Instant::now() + Duration::from_mins(3);
    while rotation_records(shared, secret)
        .await?
        .iter()
        .any(|r| r["secret_arn"] == secret && r["status"] == "running")
    {
        if Instant::now() > deadline {
            bail!(
                "a rotation of {} was still running after 3 minutes",
                setup.names.secret
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

/// Starts a rotation now and waits for the emulator to say how it ended.
///
/// A rotation still running would make Secrets Manager refuse this one for a
/// reason no audit predicts, so it waits for it first ([`settle`]). A refusal is
/// an outcome only when it is a denial (the function's invoke permission, which
/// the audit judges); any other is the case's error.
async fn rotate_once(shared: &Arc<Shared>, setup: &Setup) -> Result<Outcome> {
    let secret = setup.state.secret_arn.as_str();
    settle(shared, setup).await?;
    let deadline = Instant::now() + Duration::from_mins(3);
    let started = setup.secrets.rotate_secret().secret_id(secret).send().await;
    let token = match started {
        Ok(out) => out.version_id().unwrap_or_default().to_owned(),
        Err(error) if crate::aws::code(&error) == "AccessDeniedException" => {
            return Ok(Outcome::Failed(format!(
                "RotateSecret refused: {}",
                crate::aws::describe(&error)
            )));
        }
        Err(error) => bail!("RotateSecret: {}", crate::aws::describe(&error)),
    };
    loop {
        let records = rotation_records(shared, secret).await?;
        let record = records
            .iter()
            .rev()
            .find(|r| r["token"] == token.as_str() && r["secret_arn"] == secret);
        match record.map(|r| (r["status"].as_str(), r["step"].as_str())) {
            Some((Some("succeeded"), _)) => return Ok(Outcome::Succeeded),
            Some((Some("failed" | "cancelled"), step)) => {
                return Ok(Outcome::Failed(step.unwrap_or("?").to_owned()));
            }
            _ if Instant::now() > deadline => {
                bail!(
                    "the rotation of {} (version {token}) did not end in 3 minutes",
                    setup.names.secret
                )
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

async fn clean(shared: &Shared, names: &Names) -> Result<()> {
    let report = cleanup::cleanup(
        &shared.config,
        &CleanupOptions {
            names: names.clone(),
            dry_run: false,
            yes: true,
            force_delete_secrets: true,
            state_dir: shared.state_dir.clone(),
            dependency_timeout: Duration::from_secs(30),
            verbose: false,
        },
    )
    .await?;
    if report.complete() {
        Ok(())
    } else {
        Err(anyhow!(
            "cleanup of {} left resources:\n{}",
            names.run,
            report.table()
        ))
    }
}

/// Per operator: how often it was drawn and how the cases it was in came out.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    cases: usize,
    agree: usize,
    false_pass: usize,
    false_fail: usize,
    undecided: usize,
    masked: usize,
    unmet: usize,
    not_run: usize,
}

impl Tally {
    fn add(&mut self, result: &CaseResult) {
        self.cases += 1;
        if result.error.is_some() {
            self.not_run += 1;
        }
        match result.agreement {
            Some(Agreement::Agree) => self.agree += 1,
            Some(Agreement::FalsePass) => self.false_pass += 1,
            Some(Agreement::FalseFail) => self.false_fail += 1,
            Some(Agreement::Undecided) => self.undecided += 1,
            Some(Agreement::Masked) => self.masked += 1,
            None => {}
        }
        if !result.unmet.is_empty() {
            self.unmet += 1;
        }
    }

    fn row(&self, name: &str, family: &str) -> Vec<String> {
        vec![
            name.to_owned(),
            family.to_owned(),
            self.cases.to_string(),
            self.agree.to_string(),
            self.false_pass.to_string(),
            self.false_fail.to_string(),
            self.undecided.to_string(),
            self.masked.to_string(),
            self.unmet.to_string(),
            self.not_run.to_string(),
        ]
    }
}

/// The table per operator, then each disagreement with both sides' reasons.
fn report(results: &[CaseResult], options: &FuzzOptions, elapsed: Duration) -> String {
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    for result in results {
        total.add(result);
        for operator in &result.operators {
            tallies.entry(operator.name).or_default().add(result);
        }
    }
    let mut table = Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "operator",
        "changes",
        "cases",
        "agree",
        "false PASS",
        "false FAIL",
        "ERROR",
        "masked",
        "verdict missing",
        "not run",
    ]);
    for operator in operators::by_family() {
        if let Some(tally) = tallies.get(operator.name) {
            table.add_row(tally.row(operator.name, operator.family));
        }
    }
    table.add_row(total.row("all cases", ""));
    let drawn = if options.each {
        "each operator alone".to_owned()
    } else {
        format!("seed {}", options.seed)
    };
    let mut out = format!(
        "\naudit against rotation, {drawn} ({} cases in {:.0} s):\n{table}\n",
        results.len(),
        elapsed.as_secs_f64()
    );
    for result in results
        .iter()
        .filter(|r| r.disagrees() || r.error.is_some())
    {
        out.push_str(&details(result));
    }
    out.push_str(&warnings(results));
    out
}

fn details(result: &CaseResult) -> String {
    let mut out = format!(
        "\n{}\n  replay: cargo xtask fuzz audit --case {}{}\n",
        result.summary(),
        result.case,
        result.operators.iter().fold(String::new(), |mut line, o| {
            let _ = write!(line, " --operator {}", o.name);
            line
        })
    );
    for applied in &result.applied {
        let _ = writeln!(out, "  mutation: {applied}");
    }
    match &result.prediction {
        Some(Prediction::Fails(lines) | Prediction::Unknown(lines)) => {
            for line in lines {
                let _ = writeln!(out, "  audit: {line}");
            }
        }
        Some(Prediction::Succeeds) => out.push_str("  audit: every rotation-path check PASS\n"),
        None => {}
    }
    if let Some(outcome) = &result.outcome {
        let _ = writeln!(out, "  rotation: {}", outcome_word(Some(outcome)));
    }
    for unmet in &result.unmet {
        let _ = writeln!(out, "  expected: {unmet}");
    }
    if let Some(cleanup) = &result.cleanup {
        let _ = writeln!(out, "  cleanup: {cleanup}");
    }
    out
}

/// Setups that had to be built twice, and cleanups that left something: not the
/// audit's fault, but worth knowing.
fn warnings(results: &[CaseResult]) -> String {
    let mut out = String::new();
    for result in results {
        if let Some(error) = &result.setup_retried {
            let _ = writeln!(
                out,
                "warning: case {}: the first setup failed and was built again: {error}",
                result.case
            );
        }
        if let Some(cleanup) = result
            .cleanup
            .as_ref()
            .filter(|_| !result.disagrees() && result.error.is_none())
        {
            let _ = writeln!(out, "warning: case {}: {cleanup}", result.case);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_and_case_always_draw_the_same_distinct_mutations() {
        let pool = operators::CATALOGUE;
        for case in 0..50 {
            let first = draw(7, case, 3, pool);
            let again = draw(7, case, 3, pool);
            let names: Vec<&str> = first.iter().map(|o| o.name).collect();
            assert_eq!(names, again.iter().map(|o| o.name).collect::<Vec<_>>());
            assert!((1..=3).contains(&first.len()), "{names:?}");
            let distinct: BTreeSet<&str> = names.iter().copied().collect();
            assert_eq!(distinct.len(), names.len(), "{names:?}");
        }
        let spread: BTreeSet<&str> = (0..200)
            .flat_map(|case| draw(1, case, 3, pool))
            .map(|o| o.name)
            .collect();
        assert_eq!(spread.len(), pool.len(), "200 cases draw every operator");
    }

    #[test]
    fn settings_needing_a_working_setup_are_made_before_the_mutations_that_break_it() {
        // Seed 1208 drew a removed invoke permission before a new schedule (case
        // 7) and a key no longer delegated before a grant (case 85): AWS refused
        // the second change and neither case could run.
        let mut drawn = 0;
        for case in 0..300 {
            let operators = draw(1208, case, 3, operators::CATALOGUE);
            let first_other = operators
                .iter()
                .position(|o| !o.set_while_working())
                .unwrap_or(operators.len());
            let last_setting = operators.iter().rposition(Operator::set_while_working);
            if let Some(last) = last_setting {
                drawn += 1;
                assert!(last < first_other, "case {case}: {operators:?}");
            }
        }
        assert!(drawn > 10, "{drawn} cases drew such a setting");
    }

    #[test]
    fn every_operator_is_of_a_family_the_report_prints() {
        for operator in operators::CATALOGUE {
            assert!(
                operators::FAMILIES.contains(&operator.family),
                "{} is of family {:?}, which FAMILIES does not list",
                operator.name,
                operator.family
            );
        }
        assert_eq!(operators::by_family().len(), operators::CATALOGUE.len());
    }

    #[test]
    fn every_operator_has_a_distinct_name_that_finds_it() {
        let names: BTreeSet<&str> = operators::CATALOGUE.iter().map(|o| o.name).collect();
        assert_eq!(names.len(), operators::CATALOGUE.len());
        for name in names {
            assert_eq!(operators::by_name(name).map(|o| o.name), Some(name));
        }
        assert!(pool(&["no-such".to_owned()]).is_err());
    }

    #[test]
    fn subsets_of_a_size_are_all_there() {
        let all = &operators::CATALOGUE[..3];
        assert_eq!(subsets(all, 1).len(), 3);
        assert_eq!(subsets(all, 2).len(), 3);
        assert!(subsets(all, 2).iter().all(|s| s.len() == 2));
    }

    #[test]
    fn a_case_never_draws_two_operators_of_one_setting() {
        for case in 0..300 {
            let drawn = draw(11, case, 3, operators::CATALOGUE);
            let slots: BTreeSet<&str> = drawn.iter().map(|o| o.slot).collect();
            assert_eq!(slots.len(), drawn.len(), "{drawn:?}");
        }
    }

    #[test]
    fn a_refusal_of_the_value_stands_for_a_verdict_only_when_an_operator_declares_it() {
        // (operators, refusal recorded, disagreement expected, unmet count)
        type Row<'a> = (&'a [Operator], Option<&'a str>, Option<&'a str>, usize);
        // Case 85 of seed 1208: the emulator refused the auditor kms:Decrypt though the
        // key policy names the auditor. The refusal's ERROR must not meet the FAIL
        // the PROCESS grant expects unless an operator of the case hides the value.
        let finding = |id: &str, status, message: &str| Finding {
            message: message.to_owned(),
            ..oracle::tests::finding(id, status)
        };
        let denied = "access denied to kms:Decrypt: grant the auditor's role `kms:Decrypt` (see `audit --print-policy`)";
        let refused = [
            finding("db.appuser.least-privilege", audit::Status::Error, denied),
            finding("secret.rotation.admin-linked", audit::Status::Error, denied),
        ];
        let grant = operators::by_name("appuser-grant-process").expect("in the catalogue");
        let key = operators::by_name("secret-key-not-delegated").expect("in the catalogue");
        assert_eq!(
            key.hides_secret_values, None,
            "its key policy names the auditor"
        );
        let hiding = Operator {
            hides_secret_values: Some("kms:Decrypt"),
            ..key
        };
        let artefact = "the audit was refused the secret's value (kms:Decrypt) though no operator of the case hides it";
        let undeclared =
            "hides the secret's value from the auditor (kms:Decrypt refused), but the audit";
        let cases: [Row; 6] = [
            // Declared and recorded: the refusal meets the expected FAIL.
            (&[grant, hiding], Some("kms:Decrypt"), None, 0),
            // Recorded, declared by no operator: an artefact, and the FAIL is unmet.
            (&[grant, key], Some("kms:Decrypt"), Some(artefact), 3),
            (&[grant], Some("kms:Decrypt"), Some(artefact), 3),
            // Declared, not recorded (or another call): the declaration is wrong.
            (&[grant, hiding], None, Some(undeclared), 3),
            (
                &[grant, hiding],
                Some("secretsmanager:GetSecretValue"),
                Some(undeclared),
                3,
            ),
            // Neither: the refusal is no verdict.
            (&[grant, key], None, None, 2),
        ];
        for (ops, recorded, disagreement, count) in cases {
            let unmet = expected_verdicts(&refused, ops, recorded);
            assert_eq!(unmet.len(), count, "{ops:?} {recorded:?}: {unmet:?}");
            if let Some(words) = disagreement {
                assert!(unmet[0].contains(words), "{ops:?} {recorded:?}: {unmet:?}");
            }
        }
        // Declared and recorded, every finding of a needing check must be the refusal.
        let mut beside = refused.to_vec();
        beside.push(finding(
            "db.appuser.least-privilege",
            audit::Status::Pass,
            "fine",
        ));
        assert_eq!(
            expected_verdicts(&beside, &[grant, hiding], Some("kms:Decrypt")).len(),
            1
        );
    }

    #[test]
    fn a_check_an_operator_fails_for_safety_is_one_it_must_fail() {
        for operator in operators::CATALOGUE {
            for id in operator.fails_for_safety {
                assert!(
                    operator.expect.contains(&(*id, audit::Status::Fail)),
                    "{operator}: masks {id} without expecting it to FAIL"
                );
                assert!(
                    oracle::ROTATION_PATH.contains(id),
                    "{operator}: {id} is not on the rotation path"
                );
            }
        }
        // Every id the oracle and the operators name is one the audit has.
        let known = |id: &str| audit::checks::CHECKS.iter().any(|c| c.id == id);
        for id in oracle::ROTATION_PATH
            .iter()
            .chain(oracle::NEEDS_SECRET_VALUE)
        {
            assert!(known(id), "{id}");
        }
        for operator in operators::CATALOGUE {
            for (id, _) in operator.expect {
                assert!(known(id), "{operator}: {id}");
            }
        }
    }
}
