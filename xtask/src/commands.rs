//! The command-line arguments of provision, deploy, rotate and cleanup, and the glue
//! from them to the library functions (which tests call directly). `main.rs` only
//! names these as subcommands.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Args;

use crate::aws::{self, Target, TargetOptions};
use crate::names::{self, Names};

/// Where to run, and which run.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Use the running embedded emulator (`cargo xtask emulator up`) instead of an AWS account
    #[arg(long)]
    pub local: bool,
    /// Named AWS profile for credentials and region
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// AWS region (default: the profile's, or AWS_REGION)
    #[arg(long)]
    pub region: Option<String>,
    /// The run's name: every resource name derives from it and it is tagged on each one
    #[arg(long, default_value = names::DEFAULT_NAME, env = "XTASK_RUN_NAME")]
    pub name: String,
    /// Directory for the state file (resource ids) and the bastion's private key
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

impl CommonArgs {
    fn names(&self) -> Result<Names> {
        Names::new(&self.name)
    }

    fn state_dir(&self) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(names::default_state_dir)
    }

    async fn target(&self) -> Result<Target> {
        aws::target(&TargetOptions {
            local: self.local,
            profile: self.profile.clone(),
            region: self.region.clone(),
        })
        .await
    }
}

/// The database CA bundle: the flag, else the one provision recorded in the run's
/// state file, else (with --local only) the emulator's CA. On an account one is
/// required: without it provision would wait for RDS and then fail at the admin
/// login, and deploy would make a function that cannot verify the database.
fn ca_bundle(
    flag: Option<&PathBuf>,
    target: &Target,
    common: &CommonArgs,
) -> Result<Option<PathBuf>> {
    if let Some(flag) = flag {
        if !flag.is_file() {
            anyhow::bail!("--db-ca-bundle {}: no such file", flag.display());
        }
        return Ok(Some(flag.clone()));
    }
    let names = common.names()?;
    let recorded = crate::state::State::load(&names.state_file(&common.state_dir()))
        .ok()
        .flatten()
        .and_then(|state| state.db_ca_bundle)
        .filter(|path| path.is_file());
    match (recorded, &target.emulator_ca) {
        (Some(path), _) => Ok(Some(path)),
        (None, Some(emulator)) => Ok(Some(emulator.clone())),
        (None, None) => anyhow::bail!(
            "--db-ca-bundle is required on AWS: the RDS CA bundle (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem), or the bundle of the database's region; provision records it for deploy and rotate (env DB_CA_BUNDLE)"
        ),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("starting the async runtime")
}

/// `cargo xtask provision`.
#[derive(Debug, Clone, Args)]
pub struct ProvisionArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The one address admitted to the bastion by SSH (a.b.c.d/32); required on AWS (with --local: a documentation address)
    #[arg(long, value_name = "CIDR", env = "MY_IP")]
    pub my_ip: Option<String>,
    /// Accept a --my-ip wider than a single address
    #[arg(long)]
    pub allow_wide_ssh: bool,
    /// The bastion's AMI (default: the newest Amazon Linux 2023 x86_64 image from DescribeImages)
    #[arg(long, value_name = "AMI_ID")]
    pub ami: Option<String>,
    /// PEM bundle of the database's CAs (on AWS the RDS global bundle; default with --local: the emulator's CA)
    #[arg(long, value_name = "FILE", env = "DB_CA_BUNDLE")]
    pub db_ca_bundle: Option<PathBuf>,
    /// Print what exists (found by the run's tags) and what provision would create, in order; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

impl ProvisionArgs {
    pub fn run(&self) -> Result<ExitCode> {
        runtime()?.block_on(async {
            let target = self.common.target().await?;
            if self.dry_run {
                let names = self.common.names()?;
                println!(
                    "provision plan of run {} (dry run, nothing is created):\n{}",
                    names.run,
                    crate::provision::plan(&target.config, &names).await?
                );
                return Ok(ExitCode::SUCCESS);
            }
            let my_ip = match (&self.my_ip, self.common.local) {
                (Some(ip), _) => ip.clone(),
                (None, true) => names::DEMO_MY_IP.to_owned(),
                (None, false) => anyhow::bail!(
                    "--my-ip is required: the address you SSH from, as a.b.c.d/32 (e.g. from `curl https://checkip.amazonaws.com`)"
                ),
            };
            let options = crate::provision::ProvisionOptions {
                names: self.common.names()?,
                my_ip,
                allow_wide_ssh: self.allow_wide_ssh,
                ami: self.ami.clone(),
                db_ca_bundle: ca_bundle(self.db_ca_bundle.as_ref(), &target, &self.common)?,
                state_dir: self.common.state_dir(),
                verbose: true,
            };
            let done = crate::provision::provision(&target.config, &options).await?;
            println!(
                "provisioned run {}: {} created, state in {}",
                options.names.run,
                done.created.len(),
                options.names.state_file(&options.state_dir).display()
            );
            Ok(ExitCode::SUCCESS)
        })
    }
}

/// `cargo xtask deploy`.
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// PEM bundle of the database's CAs; its path is the function's DB_CA_BUNDLE (default with --local: the emulator's CA)
    #[arg(long, value_name = "FILE", env = "DB_CA_BUNDLE")]
    pub db_ca_bundle: Option<PathBuf>,
    /// Print every write call instead of making it (reads still happen)
    #[arg(long)]
    pub dry_run: bool,
    /// Deploy this zip instead of building target/lambda/rotator/bootstrap.zip
    #[arg(long, value_name = "FILE")]
    pub zip: Option<PathBuf>,
    /// Seconds to wait for the first rotation
    #[arg(long, default_value_t = 300)]
    pub rotation_timeout: u64,
}

impl DeployArgs {
    pub fn run(&self) -> Result<ExitCode> {
        let zip = match &self.zip {
            Some(zip) => zip.clone(),
            None => crate::build::build_rotator(&crate::build::BuildOptions::default())?.zip,
        };
        runtime()?.block_on(async {
            let target = self.common.target().await?;
            let options = crate::deploy::DeployOptions {
                names: self.common.names()?,
                zip,
                db_ca_bundle: ca_bundle(self.db_ca_bundle.as_ref(), &target, &self.common)?,
                dry_run: self.dry_run,
                rotation_timeout: Duration::from_secs(self.rotation_timeout),
                verbose: true,
            };
            let done = crate::deploy::deploy(&target.config, &options).await?;
            if self.dry_run {
                println!("dry run: {} write calls not made", done.writes.len());
            } else {
                println!(
                    "deployed {} ({} write calls)",
                    done.function_arn,
                    done.writes.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        })
    }
}

/// `cargo xtask rotate`.
#[derive(Debug, Clone, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// PEM bundle of the database's CAs, for the logins that prove the rotation (default with --local: the emulator's CA)
    #[arg(long, value_name = "FILE", env = "DB_CA_BUNDLE")]
    pub db_ca_bundle: Option<PathBuf>,
    /// Seconds to wait for the rotation
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// When an earlier rotation failed and left AWSPENDING on its version (Secrets Manager then refuses new rotations), remove that label first, as CancelRotateSecret's documentation describes, and rotate anew; asks for confirmation, and refuses while the function's log shows recent activity for the secret
    #[arg(long)]
    pub clear_pending: bool,
    /// With --clear-pending: do not ask
    #[arg(long, requires = "clear_pending")]
    pub yes: bool,
    /// With --clear-pending: seconds the function's log must have been silent about the secret (default: twice the function's timeout, at least 60)
    #[arg(long, value_name = "SECONDS", requires = "clear_pending")]
    pub quiet_for: Option<u64>,
}

impl RotateArgs {
    pub fn run(&self) -> Result<ExitCode> {
        runtime()?.block_on(async {
            let target = self.common.target().await?;
            let options = crate::rotate::RotateOptions {
                names: self.common.names()?,
                db_ca_bundle: ca_bundle(self.db_ca_bundle.as_ref(), &target, &self.common)?,
                timeout: Duration::from_secs(self.timeout),
                state_dir: self.common.state_dir(),
                verbose: true,
                clear_pending: self.clear_pending.then_some(crate::pending::ClearPending {
                    yes: self.yes,
                    quiet: self.quiet_for.map(Duration::from_secs),
                }),
            };
            let done = crate::rotate::rotate(&target.config, &options).await?;
            println!(
                "rotated {}: {} -> {} (version {})",
                options.names.secret, done.previous_user, done.current_user, done.version_id
            );
            Ok(ExitCode::SUCCESS)
        })
    }
}

/// `cargo xtask cleanup`.
#[derive(Debug, Clone, Args)]
pub struct CleanupArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Print every delete call instead of making it
    #[arg(long)]
    pub dry_run: bool,
    /// Delete without asking (without it, cleanup asks on standard input; no input means no)
    #[arg(long)]
    pub yes: bool,
    /// Delete secrets at once instead of after Secrets Manager's 7-day recovery window
    #[arg(long)]
    pub force_delete_secrets: bool,
    /// Seconds to keep retrying deletions AWS refuses while dependencies are released
    #[arg(long, default_value_t = 2700)]
    pub dependency_timeout: u64,
}

impl CleanupArgs {
    pub fn run(&self) -> Result<ExitCode> {
        runtime()?.block_on(async {
            let target = self.common.target().await?;
            let options = crate::cleanup::CleanupOptions {
                names: self.common.names()?,
                dry_run: self.dry_run,
                yes: self.yes,
                force_delete_secrets: self.force_delete_secrets,
                state_dir: self.common.state_dir(),
                dependency_timeout: Duration::from_secs(self.dependency_timeout),
                verbose: false,
            };
            let report = crate::cleanup::cleanup(&target.config, &options).await?;
            if report.outcomes.is_empty() {
                println!(
                    "nothing tagged {}={} and {}={} found; nothing to delete",
                    names::PROJECT_TAG_KEY,
                    names::PROJECT_TAG_VALUE,
                    names::RUN_TAG_KEY,
                    options.names.run
                );
                return Ok(ExitCode::SUCCESS);
            }
            println!("{}", report.table());
            if report.complete() {
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!(
                    "cleanup incomplete: the resources marked above remain; rerun `cargo xtask cleanup` once the cause is fixed"
                );
                Ok(ExitCode::FAILURE)
            }
        })
    }
}
