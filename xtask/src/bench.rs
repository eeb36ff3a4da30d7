//! `cargo xtask bench rotator | audit`: measured speed, printed as tables.
//!
//! Timings are never pass/fail tests here (these machines are noisy). `bench rotator
//! --reference DIR` runs AWS's Python reference function in the same run, deployed in
//! the same emulator's Lambda against the same MariaDB, and alternates the two
//! (cold starts, then rotations) so that the machine's noise falls on both (how and
//! why: [`reference`]); without it, the reference's stored figures are shown and
//! labelled so. `bench audit` prints Prowler's figures, measured on the same kind of
//! machine (shared audit facts).

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::json;
use sqlx::{Connection as _, MySqlConnection};

mod reference;

use crate::build::{self, BuildOptions};
use crate::emulator::{Emulator, EmulatorOptions, EmulatorState};

/// AWS's Python reference as measured before, shown when no checkout is given
/// (shared emulator facts, "Reference figures").
const STORED_REFERENCE: Figures = Figures {
    cold_ms: 249.0,
    peak_mib: 52.0,
    rotation_ms: 195.0,
};
/// Prowler with its SSH and rotation checks on 2,000 secrets / 1,000 groups (audit facts).
const PROWLER_SECONDS: f64 = 22.0;
const PROWLER_REQUESTS: u64 = 3_551;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        f64::midpoint(values[n / 2 - 1], values[n / 2])
    }
}

#[allow(clippy::cast_precision_loss)]
fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}

fn start_emulator(name: &str) -> Result<EmulatorState> {
    let options = EmulatorOptions {
        dir: crate::paths::target_dir().join("emulator").join(name),
        parent_pid: Some(std::process::id()),
        ..EmulatorOptions::default()
    };
    crate::emulator::stop(&options.dir)?;
    Ok(Emulator::start(&options)?.state)
}

/// Process start to the first `GET .../invocation/next`: the function is ready for an
/// event. `command` is the function's process; the Runtime API address and the
/// variables Lambda sets are added here. Its peak RSS at that moment too.
fn cold_start_ms(mut command: Command) -> Result<(f64, u64)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let started = Instant::now();
    let mut child = command
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| {
            format!(
                "starting {}",
                std::path::Path::new(command.get_program()).display()
            )
        })?;
    listener.set_nonblocking(false)?;
    let (stream, _) = listener.accept()?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    if !request_line.contains("/runtime/invocation/next") {
        bail!("unexpected first request from the function: {request_line}");
    }
    let rss = peak_rss(child.id()).unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    drop(stream);
    Ok((elapsed, rss))
}

/// `VmHWM` of a process, in bytes.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Processes whose command line contains `needle`.
fn pids_matching(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}

async fn admin_connection(state: &EmulatorState) -> Result<MySqlConnection> {
    let db = &state.database;
    let options = sqlx::mysql::MySqlConnectOptions::new()
        .host(&db.host)
        .port(db.port)
        .username(&db.admin_user)
        .password(&db.admin_password)
        .ssl_mode(sqlx::mysql::MySqlSslMode::VerifyIdentity)
        .ssl_ca(&state.ca_file);
    Ok(MySqlConnection::connect_with(&options).await?)
}

/// What the bench measures of one rotation function.
#[derive(Debug, Clone, Copy)]
struct Figures {
    /// Process start to ready, median.
    cold_ms: f64,
    /// Peak RSS, at ready or during the rotations, whichever is higher.
    peak_mib: f64,
    /// A warm four-step rotation, RotateSecret to AWSCURRENT, median.
    rotation_ms: f64,
}

/// One rotation function in the emulator: how it is deployed and which secret
/// (and database user) it rotates.
struct Subject {
    function: &'static str,
    secret: &'static str,
    db_user: &'static str,
    zip: std::path::PathBuf,
    runtime: aws_sdk_lambda::types::Runtime,
    handler: &'static str,
    environment: Vec<(&'static str, String)>,
}

/// `cargo xtask bench rotator [--reference DIR]`.
pub async fn rotator(runs: usize, reference_dir: Option<&std::path::Path>) -> Result<()> {
    let runs = runs.max(10);
    let artifact = build::build_rotator(&BuildOptions::default())?;
    let reference = match reference_dir {
        Some(dir) => Some(reference::prepare(
            dir,
            &crate::emulator::Prerequisites::find()?.python,
        )?),
        None => None,
    };
    // Cold starts alternate between the two, so that the machine's noise falls on both.
    let (mut cold, mut reference_cold) = (Vec::new(), Vec::new());
    let (mut idle_rss, mut reference_idle_rss) = (0, 0);
    for _ in 0..runs {
        let mut rotator = Command::new(&artifact.binary);
        rotator.env_clear();
        let (ms, rss) = cold_start_ms(rotator)?;
        cold.push(ms);
        idle_rss = idle_rss.max(rss);
        if let Some(reference) = &reference {
            let (ms, rss) = cold_start_ms(reference.command())?;
            reference_cold.push(ms);
            reference_idle_rss = reference_idle_rss.max(rss);
        }
    }
    eprintln!("bench: starting the emulator");
    let state = start_emulator("bench-rotator")?;
    let mut subjects = vec![Subject {
        function: "bench-rotator",
        secret: "bench-app",
        db_user: "benchuser",
        zip: artifact.zip.clone(),
        runtime: aws_sdk_lambda::types::Runtime::Providedal2023,
        handler: "bootstrap",
        environment: vec![("DB_CA_BUNDLE", state.ca_file.display().to_string())],
    }];
    if let Some(reference) = &reference {
        subjects.push(Subject {
            function: "bench-reference",
            secret: "bench-reference-app",
            db_user: "benchref",
            zip: reference.zip.clone(),
            runtime: aws_sdk_lambda::types::Runtime::from(reference.runtime.as_str()),
            handler: "lambda_function.lambda_handler",
            environment: vec![
                ("REFERENCE_CA_FILE", state.ca_file.display().to_string()),
                ("SECRETS_MANAGER_ENDPOINT", state.endpoint_url.clone()),
            ],
        });
    }
    let measured = measure_rotations(&state, &subjects, runs).await;
    crate::emulator::stop(&state.dir)?;
    let mut measured = measured?;
    let mut figures = |cold: &mut Vec<f64>, idle: u64, index: usize| {
        let (rotations, peak): &mut (Vec<f64>, u64) = &mut measured[index];
        Figures {
            cold_ms: median(cold),
            peak_mib: mib((*peak).max(idle)),
            rotation_ms: median(rotations),
        }
    };
    let ours = figures(&mut cold, idle_rss, 0);
    let theirs = reference.as_ref().map(|r| {
        (
            figures(&mut reference_cold, reference_idle_rss, 1),
            r.versions.as_str(),
        )
    });
    print_rotator_table(&ours, theirs, runs, artifact.zip_bytes);
    Ok(())
}

/// Deploys each subject, creates its secret, then times `runs` rotations of each,
/// alternating between them; per subject, the warm rotation times (ms) and the peak
/// RSS of its execution environments.
async fn measure_rotations(
    state: &EmulatorState,
    subjects: &[Subject],
    runs: usize,
) -> Result<Vec<(Vec<f64>, u64)>> {
    let config = crate::aws::emulator_config(state).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let role_arn = bench_role(&config).await?;
    let admin_arn = create_admin_secret(state, &secrets).await?;
    let mut arns = Vec::new();
    for subject in subjects {
        arns.push(deploy_bench_function(&config, &role_arn, subject).await?);
        create_app_secret(state, &secrets, &admin_arn, subject).await?;
    }
    let mut times = vec![Vec::new(); subjects.len()];
    for run in 0..runs {
        for ((subject, arn), times) in subjects.iter().zip(&arns).zip(&mut times) {
            let ms = rotate_once(&secrets, subject.secret, arn, state)
                .await
                .with_context(|| format!("{} rotation {run}", subject.function))?;
            // The first includes the function's cold start, as the first rotation in AWS does.
            if run > 0 {
                times.push(ms);
            }
        }
    }
    Ok(subjects
        .iter()
        .zip(times)
        .map(|(subject, times)| {
            let peak = pids_matching(&format!("/lambda/code/{}/", subject.function))
                .into_iter()
                .filter_map(peak_rss)
                .max()
                .unwrap_or(0);
            (times, peak)
        })
        .collect())
}

/// The rotator beside the reference (this run's figures, or the stored ones), and the ratio.
fn print_rotator_table(
    ours: &Figures,
    reference: Option<(Figures, &str)>,
    runs: usize,
    zip_bytes: u64,
) {
    let (theirs, heading) = match reference {
        Some((figures, _)) => (figures, "AWS Python reference (this run)"),
        None => (
            STORED_REFERENCE,
            "AWS Python reference (stored, not this run)",
        ),
    };
    let ratio = |ours: f64, theirs: f64| format!("{:.1}×", theirs / ours);
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "measure",
        "this rotator",
        heading,
        "reference ÷ rotator",
        "target",
    ]);
    table.add_row([
        format!("start to handler ready (median of {runs})"),
        format!("{:.1} ms", ours.cold_ms),
        format!("{:.0} ms", theirs.cold_ms),
        ratio(ours.cold_ms, theirs.cold_ms),
        "≤ 20 ms".to_owned(),
    ]);
    table.add_row([
        "peak RSS (ready and rotating)".to_owned(),
        format!("{:.1} MiB", ours.peak_mib),
        format!("{:.0} MiB", theirs.peak_mib),
        ratio(ours.peak_mib, theirs.peak_mib),
        "≤ 24 MiB".to_owned(),
    ]);
    table.add_row([
        format!("full four-step rotation (median of {}, warm)", runs - 1),
        format!("{:.0} ms", ours.rotation_ms),
        // The stored figure ran against moto in-process, not this emulator: no ratio.
        if reference.is_some() {
            format!("{:.0} ms", theirs.rotation_ms)
        } else {
            format!("{:.0} ms (moto in-process)", theirs.rotation_ms)
        },
        if reference.is_some() {
            ratio(ours.rotation_ms, theirs.rotation_ms)
        } else {
            "not comparable".to_owned()
        },
        String::new(),
    ]);
    table.add_row([
        "zip size".to_owned(),
        format!("{:.2} MiB", mib(zip_bytes)),
        String::new(),
        String::new(),
        "≤ 8 MiB".to_owned(),
    ]);
    println!("{table}");
    match reference {
        Some((_, versions)) => println!(
            "both ran in this run against the same emulator and MariaDB, deployed in its Lambda ({versions})"
        ),
        None => println!(
            "reference figures stored from an earlier measurement; `--reference DIR` (a checkout of aws-samples/aws-secrets-manager-rotation-lambdas) measures it in this run"
        ),
    }
    println!(
        "rotation time includes the emulator (moto, Python) serving every Secrets Manager call and invocation"
    );
}

/// The role both functions run as: it may write their logs.
async fn bench_role(config: &aws_config::SdkConfig) -> Result<String> {
    let iam = aws_sdk_iam::Client::new(config);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = iam
        .create_role()
        .role_name("bench-rotator")
        .assume_role_policy_document(trust)
        .send()
        .await?;
    // Its logs, as a deployed function writes them (Lambda writes a function's logs
    // only when its role allows it; these are AWSLambdaBasicExecutionRole's actions).
    iam.put_role_policy()
        .role_name("bench-rotator")
        .policy_name("logs")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}"#)
        .send()
        .await?;
    Ok(role.role().map(|r| r.arn().to_owned()).unwrap_or_default())
}

/// `subject`'s function, with Secrets Manager's permission to invoke it; its ARN.
async fn deploy_bench_function(
    config: &aws_config::SdkConfig,
    role_arn: &str,
    subject: &Subject,
) -> Result<String> {
    let lambda = aws_sdk_lambda::Client::new(config);
    let name = subject.function;
    let mut environment = aws_sdk_lambda::types::Environment::builder();
    for (key, value) in &subject.environment {
        environment = environment.variables(*key, value);
    }
    let environment = environment.build();
    let code = aws_sdk_lambda::types::FunctionCode::builder()
        .zip_file(aws_sdk_lambda::primitives::Blob::new(std::fs::read(
            &subject.zip,
        )?))
        .build();
    // A new role propagates before Lambda can assume it (the emulator, like IAM, says so).
    let function = crate::aws::retry_transient(
        &format!("lambda:CreateFunction {name}"),
        Duration::from_mins(1),
        || {
            lambda
                .create_function()
                .function_name(name)
                .runtime(subject.runtime.clone())
                .handler(subject.handler)
                .role(role_arn)
                .timeout(30)
                .memory_size(128)
                .environment(environment.clone())
                .code(code.clone())
                .send()
        },
    )
    .await?;
    // A new function is Pending for a moment and is not invoked until Active.
    crate::aws::wait_for_function(&lambda, name).await?;
    // Secrets Manager may invoke it (RotateSecret is refused otherwise, as on AWS).
    lambda
        .add_permission()
        .function_name(name)
        .statement_id("SecretsManagerRotation")
        .action("lambda:InvokeFunction")
        .principal("secretsmanager.amazonaws.com")
        .send()
        .await?;
    Ok(function.function_arn().unwrap_or_default().to_owned())
}

/// The admin secret `bench-admin` that every bench secret names; its ARN.
async fn create_admin_secret(
    state: &EmulatorState,
    secrets: &aws_sdk_secretsmanager::Client,
) -> Result<String> {
    let db = &state.database;
    // `mysql`, the tutorial's engine: AWS's reference refuses an admin secret with any
    // other (lambda_function.py, `get_secret_dict`); the server is MariaDB either way.
    let admin_secret = secrets
        .create_secret()
        .name("bench-admin")
        .secret_string(json!({"engine": "mysql", "host": db.host, "port": db.port, "username": db.admin_user, "password": db.admin_password}).to_string())
        .send()
        .await?;
    Ok(admin_secret.arn().unwrap_or_default().to_owned())
}

/// The database user of `subject` with SELECT on `bench`, and its secret, which
/// names the admin secret and asks for verified TLS.
async fn create_app_secret(
    state: &EmulatorState,
    secrets: &aws_sdk_secretsmanager::Client,
    admin_arn: &str,
    subject: &Subject,
) -> Result<()> {
    let db = &state.database;
    let user = subject.db_user;
    let mut admin = admin_connection(state).await?;
    // `user` is one of the bench's own constant names (`Subject::db_user`), never input.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE IF NOT EXISTS bench; CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY 'Bench-Initial-1'; GRANT SELECT ON bench.* TO '{user}'@'%'"))).execute(&mut admin).await?;
    let app = json!({"engine": "mysql", "host": db.host, "port": db.port, "username": user, "password": "Bench-Initial-1", "dbname": "bench", "masterarn": admin_arn, "ssl": true});
    secrets
        .create_secret()
        .name(subject.secret)
        .secret_string(app.to_string())
        .send()
        .await?;
    Ok(())
}

/// Waits until the emulator runs no rotation of `secret` (its `/_emulator/rotations`).
async fn wait_for_rotations_to_end(state: &EmulatorState, secret: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        let running = crate::emulator::rotations_of(state, secret)?
            .iter()
            .any(|r| r["status"] == "running");
        if !running {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("a rotation of {secret} was still running after a minute");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One rotation of `secret`, timed from RotateSecret to its version becoming
/// AWSCURRENT, in ms.
async fn rotate_once(
    secrets: &aws_sdk_secretsmanager::Client,
    secret: &str,
    function_arn: &str,
    state: &EmulatorState,
) -> Result<f64> {
    let rules = aws_sdk_secretsmanager::types::RotationRulesType::builder()
        .schedule_expression("rate(2 days)")
        .duration("2h")
        .build();
    // The previous rotation's invocation may still be returning after finishSecret
    // made its version AWSCURRENT; Secrets Manager refuses a new one until it has
    // ("A previous rotation isn't complete"), so wait, untimed.
    wait_for_rotations_to_end(state, secret).await?;
    let started = Instant::now();
    let out = secrets
        .rotate_secret()
        .secret_id(secret)
        .rotation_lambda_arn(function_arn)
        .rotation_rules(rules)
        .send()
        .await?;
    // RotateSecret only starts the rotation; it is done when the version is AWSCURRENT.
    let token = out.version_id().unwrap_or_default();
    while started.elapsed() < Duration::from_mins(1) {
        let current = crate::aws::describe_secret(secrets, secret).await?;
        if current
            .version_ids_to_stages()
            .and_then(|m| m.get(token))
            .is_some_and(|s| s.iter().any(|x| x == "AWSCURRENT"))
        {
            return Ok(started.elapsed().as_secs_f64() * 1000.0);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bail!(
        "the rotation of {secret} did not complete within a minute; see the function's log in {}",
        state.dir.join("run").join("lambda").display()
    )
}

/// `cargo xtask bench audit`.
#[allow(clippy::too_many_lines)] // one benchmark's script, step by step
pub async fn audit(secret_count: usize, group_count: usize) -> Result<()> {
    eprintln!("bench: starting the emulator");
    let state = start_emulator("bench-audit")?;
    let config = crate::aws::emulator_config(&state).await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.80.0.0/16")
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Vpc)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("Name")
                        .value("SecretsManagerTutorial-vpc")
                        .build(),
                )
                .build(),
        )
        .send()
        .await?;
    let vpc_id = vpc
        .vpc()
        .and_then(|v| v.vpc_id())
        .ok_or_else(|| anyhow!("no VPC id"))?
        .to_owned();
    eprintln!("bench: creating {secret_count} secrets and {group_count} security groups");
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..secret_count.max(group_count) {
        let (secrets, ec2, vpc_id) = (secrets.clone(), ec2.clone(), vpc_id.clone());
        tasks.spawn(async move {
            if index < secret_count {
                secrets
                    .create_secret()
                    .name(format!("bench/app-{index:05}"))
                    .secret_string(r#"{"engine":"mysql","host":"h","username":"u","password":"p"}"#)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| anyhow!("{e}"))?;
            }
            if index < group_count {
                // The new VPC's id may not be known yet (EC2's eventual consistency).
                crate::aws::after_create(|| {
                    ec2.create_security_group()
                        .group_name(format!("bench-{index:05}"))
                        .description("bench")
                        .vpc_id(&vpc_id)
                        .send()
                })
                .await
                .map(|_| ())
                .map_err(|e| anyhow!("{e}"))?;
            }
            anyhow::Ok(())
        });
        while tasks.len() >= 16 {
            if let Some(done) = tasks.join_next().await {
                done??;
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    eprintln!(
        "bench: created in {:.1} s; auditing",
        started.elapsed().as_secs_f64()
    );

    let request = all_secrets_request(std::slice::from_ref(&state.region));
    let policy = request.policy.clone();
    let started = Instant::now();
    let inventory = audit::collect(std::slice::from_ref(&config), &request).await;
    let findings = audit::evaluate(&inventory, &policy);
    let wall = started.elapsed();
    crate::emulator::stop(&state.dir)?;

    let list_pages = secret_count.div_ceil(100) as u64;
    let calls: &BTreeMap<String, u64> = &inventory.metadata.calls;
    let mut by_action = Table::new();
    by_action
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(["IAM action", "calls"]);
    for (action, count) in calls {
        by_action.add_row([action.clone(), count.to_string()]);
    }
    println!("{by_action}");
    let requests = inventory.metadata.api_requests;
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "measure",
        "this audit",
        "Prowler (SSH + rotation checks)",
    ]);
    table.add_row([
        "data".to_owned(),
        format!("{secret_count} secrets, {group_count} security groups"),
        "same".to_owned(),
    ]);
    table.add_row([
        "wall time of collect + evaluate".to_owned(),
        format!("{:.2} s", wall.as_secs_f64()),
        format!("{PROWLER_SECONDS:.0} s"),
    ]);
    table.add_row([
        "AWS API requests".to_owned(),
        requests.to_string(),
        PROWLER_REQUESTS.to_string(),
    ]);
    table.add_row([
        "ListSecrets pages the data needs".to_owned(),
        list_pages.to_string(),
        String::new(),
    ]);
    table.add_row([
        "findings".to_owned(),
        findings.len().to_string(),
        String::new(),
    ]);
    println!("{table}");
    let secrets_calls = calls
        .get("secretsmanager:ListSecrets")
        .copied()
        .unwrap_or(0);
    if secrets_calls > list_pages + list_pages / 10 {
        println!(
            "note: ListSecrets was called {secrets_calls} times for {list_pages} pages of data"
        );
    }
    Ok(())
}

/// Regions of each member account in `bench audit --org`: the emulator's and one more.
const ORG_SECOND_REGION: &str = "us-west-2";
/// Secrets in each member account and region besides the tutorial's (issue 12).
pub const ORG_SECRETS_PER_REGION: usize = 200;

/// Creates a member account and waits until Organizations reports it made
/// (CreateAccount is asynchronous on AWS: DescribeCreateAccountStatus says when).
async fn create_member(org: &aws_sdk_organizations::Client, name: &str) -> Result<String> {
    let created = org
        .create_account()
        .account_name(name)
        .email(format!("{name}@example.com"))
        .send()
        .await
        .with_context(|| format!("organizations:CreateAccount {name}"))?;
    let request = created
        .create_account_status()
        .and_then(|s| s.id())
        .ok_or_else(|| anyhow!("CreateAccount {name} answered no request id"))?
        .to_owned();
    crate::aws::wait_for(
        &format!("account {name} to be created"),
        Duration::from_mins(1),
        || async {
            let Ok(answer) = org
                .describe_create_account_status()
                .create_account_request_id(&request)
                .send()
                .await
            else {
                return Ok(None);
            };
            let Some(status) = answer.create_account_status() else {
                return Ok(None);
            };
            Ok((status.state()
                == Some(&aws_sdk_organizations::types::CreateAccountState::Succeeded))
            .then(|| status.account_id().map(str::to_owned))
            .flatten())
        },
    )
    .await
}

/// The management account's credentials exchanged for the member's
/// `OrganizationAccountAccessRole` (which CreateAccount makes, as on AWS).
async fn member_config(
    config: &aws_config::SdkConfig,
    account: &str,
) -> Result<aws_config::SdkConfig> {
    let answer = aws_sdk_sts::Client::new(config)
        .assume_role()
        .role_arn(audit::org::role_arn(
            "aws",
            account,
            audit::org::DEFAULT_ROLE_NAME,
        ))
        .role_session_name("bench-setup")
        .send()
        .await
        .with_context(|| format!("sts:AssumeRole into {account}"))?;
    let credentials = answer
        .credentials()
        .ok_or_else(|| anyhow!("AssumeRole into {account} answered no credentials"))?;
    Ok(config
        .to_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            aws_sdk_sts::config::Credentials::new(
                credentials.access_key_id(),
                credentials.secret_access_key(),
                Some(credentials.session_token().to_owned()),
                None,
                "bench-setup",
            ),
        ))
        .build())
}

fn name_tag(
    kind: aws_sdk_ec2::types::ResourceType,
    name: &str,
) -> aws_sdk_ec2::types::TagSpecification {
    aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(kind)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("Name")
                .value(name)
                .build(),
        )
        .build()
}

/// The tutorial's network and secret in one account and region, directly through the
/// SDK (VPC named as the tutorial's, two subnets, the bastion's group, the Secrets
/// Manager and RDS interface endpoints, the application secret), plus `extra` secrets.
async fn org_region_setup(config: aws_config::SdkConfig, extra: usize) -> Result<()> {
    use aws_sdk_ec2::types::{ResourceType, VpcEndpointType};
    let region = config.region().map(ToString::to_string).unwrap_or_default();
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .tag_specifications(name_tag(
            ResourceType::Vpc,
            audit::policy::TUTORIAL_VPC_NAME,
        ))
        .send()
        .await?;
    let vpc_id = vpc
        .vpc()
        .and_then(|v| v.vpc_id())
        .ok_or_else(|| anyhow!("no VPC id"))?
        .to_owned();
    crate::resources::vpc::enable_dns(&ec2, &vpc_id).await?;
    let mut subnets = Vec::new();
    for (index, zone) in ["a", "b"].iter().enumerate() {
        let subnet = crate::aws::after_create(|| {
            ec2.create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block(format!("10.0.{index}.0/24"))
                .availability_zone(format!("{region}{zone}"))
                .send()
        })
        .await?;
        subnets.push(
            subnet
                .subnet()
                .and_then(|s| s.subnet_id())
                .unwrap_or_default()
                .to_owned(),
        );
    }
    crate::aws::after_create(|| {
        ec2.create_security_group()
            .group_name(audit::policy::TUTORIAL_BASTION_NAME)
            .description("bench bastion")
            .vpc_id(&vpc_id)
            .send()
    })
    .await?;
    for service in ["secretsmanager", "rds"] {
        // The new subnets' ids may not be known yet (EC2's eventual consistency).
        crate::aws::after_create(|| {
            ec2.create_vpc_endpoint()
                .vpc_id(&vpc_id)
                .vpc_endpoint_type(VpcEndpointType::Interface)
                .service_name(format!("com.amazonaws.{region}.{service}"))
                .set_subnet_ids(Some(subnets.clone()))
                .private_dns_enabled(true)
                .send()
        })
        .await?;
    }
    let value = r#"{"engine":"mysql","host":"h","username":"u","password":"p"}"#;
    secrets
        .create_secret()
        .name(audit::policy::TUTORIAL_SECRET)
        .secret_string(value)
        .send()
        .await?;
    for index in 0..extra {
        secrets
            .create_secret()
            .name(format!("bench/app-{index:05}"))
            .secret_string(value)
            .send()
            .await?;
    }
    Ok(())
}

/// `audit --all-secrets` in `regions` with the default policy, as the audit bench runs it.
fn all_secrets_request(regions: &[String]) -> audit::CollectRequest {
    let policy = audit::Policy::default();
    audit::CollectRequest {
        scope: audit::inventory::Scope {
            regions: regions.to_vec(),
            vpc_id: None,
            secret_ids: Vec::new(),
            all_secrets: true,
            db_instance_id: policy.db_instance_id.clone(),
            read_secrets: false,
            discover: false,
        },
        policy,
        db_endpoint: None,
        db_ca_bundle: None,
    }
}

/// One measured run of the `audit` command in the organisation bench.
struct Measured {
    wall: f64,
    /// The audit process's own peak RSS.
    rss: u64,
    /// CPU time (user + system) of the audit process, and of the emulator's
    /// processes over the same run, in seconds.
    audit_cpu: f64,
    emulator_cpu: f64,
    requests: u64,
    findings: u64,
}

/// Clock ticks a second in `/proc/<pid>/stat` times: `USER_HZ`, 100 on Linux
/// (proc(5): "measured in clock ticks (divide by sysconf(_SC_CLK_TCK))"; the
/// kernel reports them to user space in `USER_HZ`, fixed at 100).
const CLOCK_TICKS: f64 = 100.0;

/// `utime + stime` of a process (fields 14 and 15 of `/proc/<pid>/stat`, after
/// the command name in parentheses), with its waited-for children's (16, 17), in ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<u64> = after_name
        .split_whitespace()
        .skip(11)
        .take(4)
        .filter_map(|f| f.parse().ok())
        .collect();
    Some(fields.iter().sum())
}

/// The parent of a process (field 4 of `/proc/<pid>/stat`).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU ticks of `root` and every process under it (the emulator's launcher and
/// the moto server it runs).
fn tree_cpu_ticks(root: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let pids: Vec<u32> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect();
    let under = |mut pid: u32| {
        for _ in 0..64 {
            if pid == root {
                return true;
            }
            match parent_of(pid) {
                Some(parent) if parent > 1 => pid = parent,
                _ => return false,
            }
        }
        false
    };
    pids.into_iter()
        .filter(|&pid| under(pid))
        .filter_map(cpu_ticks)
        .sum()
}

/// Runs the `audit` command with `args` against the emulator and measures it:
/// its peak RSS (`VmHWM`, read every 10 ms while it runs; it only grows), its CPU
/// time once it has exited (read from the zombie before it is reaped, `waitid`
/// with `WNOWAIT`), the emulator's CPU time over the same run, and the requests
/// and findings it reports on standard error.
#[allow(clippy::cast_precision_loss)] // ticks of a bench run
fn measure_audit(
    binary: &std::path::Path,
    state: &EmulatorState,
    args: &[String],
) -> Result<Measured> {
    use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
    let emulator_before = tree_cpu_ticks(state.launcher_pid);
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args(args)
        .envs(state.env_vars())
        .env_remove("AWS_PROFILE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", binary.display()))?;
    let pid = child.id();
    let stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stderr) = stderr {
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        }
        text
    });
    let raw = nix::unistd::Pid::from_raw(i32::try_from(pid)?);
    let mut rss = 0;
    loop {
        rss = rss.max(peak_rss(pid).unwrap_or(0));
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT | WaitPidFlag::WNOHANG;
        match waitid(Id::Pid(raw), flags)? {
            WaitStatus::StillAlive => std::thread::sleep(Duration::from_millis(10)),
            _ => break,
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let audit_ticks = cpu_ticks(pid).unwrap_or(0);
    let emulator_ticks = tree_cpu_ticks(state.launcher_pid).saturating_sub(emulator_before);
    let status = child.wait()?;
    let stderr = reader.join().unwrap_or_default();
    // 0 all passed, 3 a check failed (the setup has no database or function), 1
    // an ERROR row, 4 a region not audited: the run still reported.
    if !matches!(status.code(), Some(0 | 1 | 3 | 4)) {
        bail!("audit {} exited with {status}:\n{stderr}", args.join(" "));
    }
    let (requests, findings) =
        counted(&stderr).ok_or_else(|| anyhow!("audit printed no summary line:\n{stderr}"))?;
    Ok(Measured {
        wall,
        rss,
        audit_cpu: audit_ticks as f64 / CLOCK_TICKS,
        emulator_cpu: emulator_ticks as f64 / CLOCK_TICKS,
        requests,
        findings,
    })
}

/// From the audit's summary line on standard error (`audit: 3 passed, 1 failed,
/// 0 errors, 2 skipped (40 API requests)`): the requests and the findings.
fn counted(stderr: &str) -> Option<(u64, u64)> {
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("audit: ") && l.ends_with(" API requests)"))?;
    let (counts, requests) = line.strip_prefix("audit: ")?.rsplit_once(" (")?;
    let requests = requests.strip_suffix(" API requests)")?.parse().ok()?;
    let findings = counts
        .split(", ")
        .filter_map(|part| part.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Some((requests, findings))
}

/// `cargo xtask bench audit --org`: an organisation of `accounts` members × 2 regions,
/// audited in one run of the `audit` command, beside the same command on one of them.
pub async fn audit_org(accounts: usize, secrets_per_region: usize) -> Result<()> {
    if accounts == 0 {
        bail!("--accounts 0: the organisation needs at least one member account");
    }
    crate::test::cargo(
        &["build", "--package", "audit", "--bin", "audit"],
        "building the audit binary failed (see above)",
    )?;
    let binary = crate::paths::target_dir().join("debug").join("audit");
    eprintln!("bench: starting the emulator");
    let state = start_emulator("bench-audit-org")?;
    let config = crate::aws::emulator_config(&state).await;
    let regions = vec![state.region.clone(), ORG_SECOND_REGION.to_owned()];
    let members = build_organisation(&config, accounts, secrets_per_region, &regions).await?;
    let out = state.dir.join("bench-out");
    std::fs::create_dir_all(&out)?;
    let path = |name: &str| out.join(name).display().to_string();
    let args = |scope: &[&str], report: &str, evidence: &str| {
        let mut args: Vec<String> = scope.iter().map(|&a| a.to_owned()).collect();
        args.extend(
            [
                "--regions",
                regions.join(",").as_str(),
                "--all-secrets",
                "--format",
                "json",
                "--output",
                path(report).as_str(),
                "--save-inventory",
                path(evidence).as_str(),
            ]
            .map(str::to_owned),
        );
        args
    };
    // One account alone, both regions, through its role as every account of the organisation.
    let one = measure_audit(
        &binary,
        &state,
        &args(
            &["--accounts", &members[0]],
            "one.json",
            "one-evidence.json",
        ),
    )?;
    let single_calls = org_calls(&path("one-evidence.json"))?.1;
    let org = measure_audit(
        &binary,
        &state,
        &args(&["--organization"], "org.json", "org-evidence.json"),
    )?;
    let org = Measured {
        requests: org.requests + accounts as u64,
        ..org
    };
    crate::emulator::stop(&state.dir)?;
    let (reached, calls) = org_calls(&path("org-evidence.json"))?;
    if reached != accounts {
        bail!("the organisation audit reached {reached} of {accounts} accounts");
    }
    // The HTML page an auditor opens (under 5 MB at 50 accounts), from the evidence,
    // after the measures: rendering is the report's cost, not the audit's.
    let html = Command::new(&binary)
        .args(["--from-inventory", path("org-evidence.json").as_str()])
        .args(["--format", "html", "--output", path("org.html").as_str()])
        .stderr(Stdio::null())
        .status()?;
    if !matches!(html.code(), Some(0 | 1 | 3 | 4)) {
        bail!("audit --format html from the evidence exited with {html}");
    }
    let html_bytes = std::fs::metadata(path("org.html"))?.len();
    print_org_tables(accounts, regions.len(), &one, &org, html_bytes);
    print_org_calls(accounts, &calls, &single_calls, org.requests);
    println!(
        "built in each account and region: the tutorial's VPC ({}), 2 subnets, the bastion's security group, the secretsmanager and rds interface endpoints, the tutorial's secret and {secrets_per_region} more; no DB instance (each is a real MariaDB server here) and no rotation function",
        audit::policy::TUTORIAL_VPC_NAME
    );
    println!(
        "each row is one run of the audit command (debug build, --format json --output, --save-inventory): peak RSS is its own VmHWM; CPU is user + system time, the audit's and the emulator's (moto) over the same run; requests are the audit's own counter"
    );
    Ok(())
}

/// From an organisation's evidence file: the accounts collected, and the calls
/// per action (pages, not retries) over all of them.
fn org_calls(evidence: &str) -> Result<(usize, BTreeMap<String, u64>)> {
    let file = std::fs::File::open(evidence).with_context(|| format!("reading {evidence}"))?;
    let org: audit::org::OrgInventory = serde_json::from_reader(BufReader::new(file))
        .with_context(|| format!("{evidence}: not an organisation inventory"))?;
    let mut calls: BTreeMap<String, u64> = BTreeMap::new();
    let mut reached = 0;
    for record in &org.accounts {
        if let Some(inventory) = record.inventory() {
            reached += 1;
            for (action, count) in &inventory.metadata.calls {
                *calls.entry(action.clone()).or_default() += count;
            }
        }
    }
    Ok((reached, calls))
}

/// An organisation of `accounts` members, each with the tutorial's network and
/// `secrets_per_region` + 1 secrets in each region; the members' ids.
async fn build_organisation(
    config: &aws_config::SdkConfig,
    accounts: usize,
    secrets_per_region: usize,
    regions: &[String],
) -> Result<Vec<String>> {
    let org = aws_sdk_organizations::Client::new(config);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .context("organizations:CreateOrganization")?;
    let started = Instant::now();
    let mut members = Vec::new();
    for index in 0..accounts {
        members.push(create_member(&org, &format!("bench-member-{index:03}")).await?);
    }
    eprintln!(
        "bench: {accounts} accounts created; building the tutorial's network and {} secrets in each of {} regions",
        secrets_per_region + 1,
        regions.len()
    );
    let mut tasks = tokio::task::JoinSet::new();
    for account in &members {
        let member = member_config(config, account).await?;
        for region in regions {
            let regional = member
                .to_builder()
                .region(aws_config::Region::new(region.clone()))
                .build();
            let label = format!("{account} {region}");
            tasks.spawn(async move {
                org_region_setup(regional, secrets_per_region)
                    .await
                    .with_context(|| format!("setting up {label}"))
            });
            while tasks.len() >= 8 {
                if let Some(done) = tasks.join_next().await {
                    done??;
                }
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    eprintln!(
        "bench: set up in {:.1} s (not measured); auditing one account, then the organisation",
        started.elapsed().as_secs_f64()
    );
    Ok(members)
}

/// The runs side by side, then the goals and whether each is met.
#[allow(clippy::cast_precision_loss)] // counts shown as ratios
fn print_org_tables(
    accounts: usize,
    regions: usize,
    one: &Measured,
    org: &Measured,
    html_bytes: u64,
) {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "run",
        "wall time",
        "peak RSS (audit)",
        "CPU: audit",
        "CPU: emulator",
        "API requests",
        "requests per account",
        "findings",
    ]);
    for (label, run, per_account) in [
        (format!("one account × {regions} regions"), one, 1),
        (
            format!("organisation: {accounts} accounts × {regions} regions"),
            org,
            accounts,
        ),
    ] {
        table.add_row([
            label,
            format!("{:.2} s", run.wall),
            format!("{:.1} MiB", mib(run.rss)),
            format!("{:.2} s", run.audit_cpu),
            format!("{:.2} s", run.emulator_cpu),
            run.requests.to_string(),
            format!("{:.1}", run.requests as f64 / per_account as f64),
            run.findings.to_string(),
        ]);
    }
    table.add_row([
        "Prowler (single-account measurement)".to_owned(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        format!("{PROWLER_REQUESTS} (2,000 secrets + 1,000 groups)"),
        String::new(),
    ]);
    println!("{table}");
    let yes = |met: bool| if met { "yes" } else { "no" }.to_owned();
    let request_goal = one.requests * accounts as u64 + accounts as u64;
    let ratio = org.wall / one.wall;
    // The audit's own share: its CPU time per account of work against one account's.
    let cpu_ratio = org.audit_cpu / accounts as f64 / one.audit_cpu.max(0.01);
    let mut goals = Table::new();
    goals
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(["goal", "measured", "met"]);
    goals.add_row([
        "wall time ≤ 3× one account's".to_owned(),
        format!("{ratio:.2}× for {accounts}× the work"),
        yes(ratio <= 3.0),
    ]);
    goals.add_row([
        "the audit's CPU time per account ≤ 3× one account's".to_owned(),
        format!(
            "{cpu_ratio:.2}× ({:.3} s per account against {:.3} s)",
            org.audit_cpu / accounts as f64,
            one.audit_cpu
        ),
        yes(cpu_ratio <= 3.0),
    ]);
    goals.add_row([
        format!("requests ≤ {accounts}× one account's + {accounts} AssumeRole = {request_goal}"),
        format!(
            "{} ({:.2}× one account's)",
            org.requests,
            org.requests as f64 / one.requests.max(1) as f64
        ),
        yes(org.requests <= request_goal),
    ]);
    goals.add_row([
        // Flat is judged across runs: the README's table has 50, 100 and 200.
        "peak RSS ≤ 128 MiB (flat: compare runs of several --accounts)".to_owned(),
        format!(
            "{:.1} MiB ({:.1} MiB for one account)",
            mib(org.rss),
            mib(one.rss)
        ),
        yes(mib(org.rss) <= 128.0),
    ]);
    // The goal is set at 50 accounts: another size shows the page's share per 50
    // accounts (it grows with its findings) and is not judged.
    let html_mb = html_bytes as f64 / 1e6;
    goals.add_row(if accounts == 50 {
        [
            "HTML report < 5 MB at 50 accounts".to_owned(),
            format!("{html_mb:.2} MB for {} findings", org.findings),
            yes(html_bytes < 5_000_000),
        ]
    } else {
        [
            "HTML report < 5 MB at 50 accounts".to_owned(),
            format!(
                "{:.2} MB for {} findings ({:.2} MB per 50 accounts)",
                html_mb,
                org.findings,
                html_mb * 50.0 / accounts as f64
            ),
            "n/a (set at 50)".to_owned(),
        ]
    });
    println!("{goals}");
}

/// Calls per action (pages, not retries) over every account, against N × one account's.
fn print_org_calls(
    accounts: usize,
    org_calls: &BTreeMap<String, u64>,
    single_calls: &BTreeMap<String, u64>,
    org_requests: u64,
) {
    let org_pages: u64 = org_calls.values().sum();
    let differing: Vec<String> = org_calls
        .iter()
        .filter_map(|(action, count)| {
            let expected = single_calls.get(action).copied().unwrap_or(0) * accounts as u64;
            (*count != expected).then(|| format!("{action} {count} (expected {expected})"))
        })
        .collect();
    println!(
        "organisation requests: {} collection requests (every page and retry, {org_pages} of them distinct calls) + {accounts} AssumeRole; GetCallerIdentity and the ListAccounts pages are not counted",
        org_requests - accounts as u64
    );
    if differing.is_empty() {
        println!("calls per action: exactly {accounts} × one account's");
    } else {
        println!(
            "calls per action that differ from {accounts} × one account's: {}",
            differing.join(", ")
        );
    }
}
