//! The context each kind's code is handed, below the kinds and the engine that walks
//! them: provision's ([`Provisioner`]: clients, the run, the ids found so far in
//! [`State`], what this call created, the placement) and deploy's ([`Deployer`]:
//! what provision made, [`Foundation`], and the one [`Calls`] every write goes
//! through, so that a dry run announces each write and makes none), with the options
//! of both commands.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, anyhow};
use aws_config::SdkConfig;
use serde_json::Value;

use crate::aws::{self, Calls, say};
use crate::names::Names;
use crate::state::State;

/// Options of `cargo xtask provision`.
#[derive(Debug, Clone)]
pub struct ProvisionOptions {
    pub names: Names,
    /// The one address admitted to SSH (`a.b.c.d/32`, or a bare address).
    pub my_ip: String,
    /// Accept a `--my-ip` wider than one address.
    pub allow_wide_ssh: bool,
    /// The bastion's AMI; when absent, the newest Amazon Linux 2023 image from DescribeImages.
    pub ami: Option<String>,
    /// PEM bundle of the database's CAs, for the admin login that creates appuser.
    pub db_ca_bundle: Option<PathBuf>,
    /// Where the state file and the bastion's private key go.
    pub state_dir: PathBuf,
    /// Print a line per resource.
    pub verbose: bool,
}

/// The shared context of provision's walk: clients, the run, what was found and made.
pub(crate) struct Provisioner<'a> {
    pub(crate) options: &'a ProvisionOptions,
    pub(crate) names: &'a Names,
    /// `--my-ip`, checked: the one address the bastion's group admits to SSH.
    pub(crate) my_ip: String,
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) rds: aws_sdk_rds::Client,
    pub(crate) secrets: aws_sdk_secretsmanager::Client,
    pub(crate) kms: aws_sdk_kms::Client,
    pub(crate) created: Vec<String>,
    pub(crate) state: State,
    /// Zones, engine version and endpoint service names, asked of the region first.
    pub(crate) placement: Option<crate::placement::Placement>,
}

impl<'a> Provisioner<'a> {
    /// A walk for the run of `options`, with the checked `my_ip`, nothing found yet.
    pub(crate) fn new(config: &SdkConfig, options: &'a ProvisionOptions, my_ip: String) -> Self {
        let names = &options.names;
        Self {
            options,
            names,
            my_ip,
            ec2: aws_sdk_ec2::Client::new(config),
            rds: aws_sdk_rds::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
            kms: aws_sdk_kms::Client::new(config),
            created: Vec::new(),
            placement: None,
            state: State {
                run: names.run.clone(),
                db_ca_bundle: options
                    .db_ca_bundle
                    .as_ref()
                    .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())),
                ..State::default()
            },
        }
    }

    /// Records `what id` as created (or found), and says so when verbose.
    pub(crate) fn note(&mut self, what: &str, id: &str, created: bool) {
        if created {
            self.created.push(format!("{what} {id}"));
        }
        if self.options.verbose {
            say(&format!(
                "{what} {id}: {}",
                if created { "created" } else { "exists" }
            ));
        }
    }

    /// The placement found at the start of `run` (the engine).
    pub(crate) fn placement(&self) -> Result<&crate::placement::Placement> {
        self.placement
            .as_ref()
            .ok_or_else(|| anyhow!("internal: placement asked for before it was found"))
    }
}

/// Options of `cargo xtask deploy`.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    pub names: Names,
    /// The function's zip (`cargo xtask build`).
    pub zip: PathBuf,
    /// PEM bundle of the database's CAs: its path becomes the function's `DB_CA_BUNDLE`.
    pub db_ca_bundle: Option<PathBuf>,
    /// Print every write call instead of making it.
    pub dry_run: bool,
    /// How long to wait for the first rotation.
    pub rotation_timeout: Duration,
    pub verbose: bool,
}

/// What provision made that deploy needs (found by `deploy.rs` before its walk).
#[derive(Debug, Clone)]
pub(crate) struct Foundation {
    pub(crate) vpc_id: String,
    pub(crate) private_subnets: Vec<String>,
    pub(crate) database_group: String,
    pub(crate) db_port: i32,
    /// The instance, then its read replicas (the rotator describes each).
    pub(crate) db_instance_arns: Vec<String>,
    pub(crate) admin_secret_arn: String,
    pub(crate) admin_kms_key: Option<String>,
    pub(crate) secret_arn: String,
    pub(crate) secret_kms_key: Option<String>,
}

/// The error for something provision makes that is not there.
pub(crate) fn missing(names: &Names, what: &str) -> anyhow::Error {
    anyhow!(
        "{what} of run {} not found; run `cargo xtask provision --name {}` first",
        names.run,
        names.run
    )
}

/// The shared context of deploy's walk: what provision made, the write policy
/// (`--dry-run`: every write announced through [`Calls`], none made) and what the walk
/// made so far.
pub(crate) struct Deployer<'a> {
    pub(crate) config: &'a SdkConfig,
    pub(crate) options: &'a DeployOptions,
    pub(crate) names: &'a Names,
    pub(crate) calls: Calls,
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) lambda: aws_sdk_lambda::Client,
    /// Account and partition of every ARN written (not `arn:aws:` everywhere).
    pub(crate) caller: aws::Caller,
    pub(crate) region: String,
    pub(crate) found: Foundation,
    /// The function's zip, taken when the function is made.
    pub(crate) zip: Vec<u8>,
    /// The role's inline policy.
    pub(crate) role_policy: Value,
    /// The function's own security group (made by [`Kind::SecurityGroup`]'s step).
    pub(crate) rotation_group: String,
    pub(crate) role_arn: String,
    pub(crate) function_arn: String,
}

impl<'a> Deployer<'a> {
    /// A walk over what `found` holds, writing as `options` says.
    pub(crate) fn new(
        config: &'a SdkConfig,
        options: &'a DeployOptions,
        caller: aws::Caller,
        found: Foundation,
        zip: Vec<u8>,
        role_policy: Value,
    ) -> Self {
        Self {
            config,
            options,
            names: &options.names,
            calls: Calls::new(options.dry_run),
            ec2: aws_sdk_ec2::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            caller,
            region: config.region().map(ToString::to_string).unwrap_or_default(),
            found,
            zip,
            role_policy,
            rotation_group: String::new(),
            role_arn: String::new(),
            function_arn: String::new(),
        }
    }

    /// Says `message` when verbose.
    pub(crate) fn note(&self, message: &str) {
        if self.options.verbose {
            say(message);
        }
    }
}
