//! `cargo xtask`: the project's tasks. Each subcommand lives in its own module of the
//! library; this file only parses the command line.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use xtask::emulator::{self, Emulator, EmulatorOptions, EmulatorState};

/// Build, run and check the credential-rotation project.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Start, stop or inspect the embedded emulator (moto + MariaDB)
    #[command(subcommand)]
    Emulator(EmulatorTask),
    /// Run the whole check: cargo fmt --check, clippy -D warnings, then every test
    Test {
        /// Arguments passed on to `cargo test` after the workspace selection (a test name filter, say)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Turn each emulator behaviour off in turn and check that its fidelity test then fails
    ///
    /// The behaviours, their switches and tests are listed in xtask/emulator/behaviours.py
    /// (and the README's table). A test that passes with its behaviour off does not show
    /// it; the command then fails, naming the behaviour.
    Fidelity {
        /// Only these behaviours (default: all)
        #[arg(value_name = "BEHAVIOUR")]
        only: Vec<String>,
    },
    /// The main job end to end on the embedded emulator, with no AWS account
    Demo,
    /// Create the tutorial's VPC, endpoints, bastion, RDS MySQL, appuser and its secret (idempotent)
    Provision(xtask::commands::ProvisionArgs),
    /// Build and deploy the rotation function, its role and permission, and schedule rotation (idempotent)
    Deploy(xtask::commands::DeployArgs),
    /// Rotate the secret now, wait, and prove the new and previous credentials log in
    Rotate(xtask::commands::RotateArgs),
    /// Delete everything tagged as this run's, in dependency order (asks unless --yes)
    Cleanup(xtask::commands::CleanupArgs),
    /// Measure speed and print tables (never pass/fail)
    #[command(subcommand)]
    Bench(BenchTask),
    /// Check a verdict against behaviour with random mutations of the tutorial's setup
    #[command(subcommand)]
    Fuzz(FuzzTask),
    /// Build the rotation Lambda: target/lambda/rotator/bootstrap.zip (provided.al2023)
    ///
    /// Release build (LTO, one codegen unit, stripped, panic=abort). Fails if the
    /// binary needs a glibc newer than 2.34 (the runtime's) or has the wrong architecture.
    Build {
        /// Build for Graviton (aarch64); needs the aarch64 Rust target and linker
        #[arg(long)]
        arm64: bool,
        /// Show cargo's full output
        #[arg(long, short)]
        verbose: bool,
    },
}

#[derive(Debug, Subcommand)]
enum BenchTask {
    /// Cold start, peak memory, rotation time and zip size of the rotator
    Rotator {
        /// Cold starts and rotations to measure (at least 10)
        #[arg(long, default_value_t = 10)]
        runs: usize,
        /// A checkout of aws-samples/aws-secrets-manager-rotation-lambdas: its Python
        /// MySQL multi-user function is measured in the same run (else its stored figures)
        #[arg(long, value_name = "DIR")]
        reference: Option<std::path::PathBuf>,
    },
    /// Wall time and API requests of `audit --all-secrets` on a large account
    Audit {
        /// Secrets to create in the emulator
        #[arg(long, default_value_t = 2000)]
        secrets: usize,
        /// Security groups to create in the tutorial VPC
        #[arg(long, default_value_t = 1000)]
        security_groups: usize,
        /// An organisation instead: member accounts × 2 regions, each with the
        /// tutorial's network and 200 secrets, beside one of them audited alone
        #[arg(long)]
        org: bool,
        /// Member accounts of the organisation (with --org)
        #[arg(long, default_value_t = 50, requires = "org")]
        accounts: usize,
    },
}

#[derive(Debug, Subcommand)]
enum FuzzTask {
    /// The audit's rotation-path verdict against the outcome of a real rotation
    ///
    /// Each case builds the compliant tutorial setup in the embedded emulator (IAM
    /// enforced, network decided from the live EC2 state), applies 1 to
    /// --max-mutations random mutations from a catalogue of real configuration
    /// changes, audits, rotates, and compares. A disagreement (a false PASS or FAIL,
    /// or a missing expected verdict) is shrunk to the fewest mutations and printed
    /// with the command that replays it; the exit status is 1 if there is any.
    Audit {
        /// Seed of the random mutations (the same seed draws the same cases)
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Cases to run
        #[arg(long, default_value_t = 40)]
        cases: usize,
        /// Run only this case of the seed (to replay a disagreement)
        #[arg(long)]
        case: Option<usize>,
        /// One case per operator, each alone, instead of random draws (what `cargo xtask test` runs)
        #[arg(long, conflicts_with_all = ["case", "seed", "cases"])]
        each: bool,
        /// Cases run at once
        #[arg(long, default_value_t = 4)]
        jobs: usize,
        /// At most this many mutations per case
        #[arg(long, default_value_t = 3)]
        max_mutations: usize,
        /// Draw only from these operators (repeat the flag; default: the whole catalogue); with --case, apply exactly these, in this order
        #[arg(long = "operator", value_name = "NAME")]
        operators: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum EmulatorTask {
    /// Start moto and a TLS-enabled MariaDB server; prints `export NAME=value` lines
    ///
    /// Use it as `eval "$(cargo xtask emulator up)"`. State lives in
    /// target/emulator/default/state.json; `down` stops exactly what `up` started.
    Up,
    /// Stop every process `up` started (by their ids) and nothing else
    Down,
    /// Say what runs
    Status,
    /// Print the `export NAME=value` lines of the running emulator again
    Env,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.task {
        Task::Emulator(task) => emulator_task(&task),
        Task::Test { args } => xtask::test::run(&args),
        Task::Fidelity { only } => xtask::fidelity::run(&only),
        Task::Demo => xtask::demo::run(),
        Task::Provision(args) => args.run(),
        Task::Deploy(args) => args.run(),
        Task::Rotate(args) => args.run(),
        Task::Cleanup(args) => args.run(),
        Task::Fuzz(FuzzTask::Audit {
            seed,
            cases,
            case,
            each,
            jobs,
            max_mutations,
            operators,
        }) => xtask::fuzz::run(&xtask::fuzz::FuzzOptions {
            seed,
            cases,
            case,
            each,
            jobs,
            max_mutations,
            operators,
        }),
        Task::Bench(bench) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async {
                match bench {
                    BenchTask::Rotator { runs, reference } => {
                        xtask::bench::rotator(runs, reference.as_deref()).await
                    }
                    BenchTask::Audit {
                        org: true,
                        accounts,
                        ..
                    } => {
                        xtask::bench::audit_org(accounts, xtask::bench::ORG_SECRETS_PER_REGION)
                            .await
                    }
                    BenchTask::Audit {
                        secrets,
                        security_groups,
                        ..
                    } => xtask::bench::audit(secrets, security_groups).await,
                }
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Task::Build { arm64, verbose } => {
            let artifact =
                xtask::build::build_rotator(&xtask::build::BuildOptions { arm64, verbose })?;
            let glibc = artifact
                .newest_glibc
                .map_or_else(|| "none".to_owned(), |(a, b)| format!("{a}.{b}"));
            println!(
                "{}: {:.2} MiB zipped ({:.2} MiB binary, newest glibc symbol {glibc}, runtime has {}.{})",
                artifact.zip.display(),
                mib(artifact.zip_bytes),
                mib(artifact.binary_bytes),
                xtask::build::MAX_GLIBC.0,
                xtask::build::MAX_GLIBC.1
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[allow(clippy::cast_precision_loss)]
fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}

fn emulator_task(task: &EmulatorTask) -> Result<ExitCode> {
    let options = EmulatorOptions::default_instance();
    match task {
        EmulatorTask::Up => {
            let started = std::time::Instant::now();
            let emulator = Emulator::start(&options)?;
            eprintln!(
                "emulator up in {:.1} s: moto at {}, MariaDB (TLS) on port {}; stop it with `cargo xtask emulator down`",
                started.elapsed().as_secs_f64(),
                emulator.state.endpoint_url,
                emulator.state.database.port
            );
            print!("{}", emulator.state.exports());
        }
        EmulatorTask::Down => {
            let stopped = emulator::stop(&options.dir)?;
            if stopped.is_empty() {
                eprintln!("the emulator was not running");
            } else {
                let list: Vec<String> = stopped.iter().map(ToString::to_string).collect();
                eprintln!("emulator stopped (processes {})", list.join(", "));
            }
        }
        EmulatorTask::Status => match EmulatorState::load(&options.dir)? {
            Some(state) if state.is_running() => {
                println!(
                    "emulator up: moto at {} (launcher pid {})",
                    state.endpoint_url, state.launcher_pid
                );
                if emulator::process_belongs_to(state.database.pid, &options.dir) {
                    println!(
                        "  default MariaDB on 127.0.0.1:{} (pid {})",
                        state.database.port, state.database.pid
                    );
                } else {
                    let log = options
                        .dir
                        .join("run")
                        .join("mariadb")
                        .join("default")
                        .join("mariadbd.log");
                    println!(
                        "  the default MariaDB (pid {}) has stopped; last lines of {}:\n{}\n  restart the emulator with `cargo xtask emulator down` and `up`",
                        state.database.pid,
                        log.display(),
                        emulator::log_tail(&log, 10)
                    );
                    return Ok(ExitCode::from(3));
                }
                let others: Vec<u32> = state
                    .pids()
                    .into_iter()
                    // The launcher's group, ours since the launcher is: a function's
                    // process, started with its own environment, is counted too.
                    .filter(|pid| *pid != state.launcher_pid && *pid != state.database.pid)
                    .collect();
                println!(
                    "  {} more processes (RDS instance servers, warm Lambda functions)",
                    others.len()
                );
                println!("  log: {}", state.launcher_log.display());
            }
            Some(state) => {
                println!(
                    "emulator down: the recorded launcher (pid {}) is not running; last lines of its log:\n{}",
                    state.launcher_pid,
                    emulator::log_tail(&state.launcher_log, 10)
                );
                return Ok(ExitCode::from(3));
            }
            None => {
                println!("emulator down; start it with `cargo xtask emulator up`");
                return Ok(ExitCode::from(3));
            }
        },
        EmulatorTask::Env => match EmulatorState::load(&options.dir)? {
            Some(state) if state.is_running() => print!("{}", state.exports()),
            _ => anyhow::bail!(
                "the emulator is not running; start it with `cargo xtask emulator up`"
            ),
        },
    }
    Ok(ExitCode::SUCCESS)
}
