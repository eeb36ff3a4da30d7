//! `audit`: the command line over the `audit` library (parse flags, call, print).

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use audit::inventory::Scope;
use audit::org::{Accounts, Evidence, OrgError, OrgInventory, OrgRequest, Regions};
use audit::{CollectRequest, Format, Inventory, Policy, Report};
use aws_config::{BehaviorVersion, Region};
use clap::Parser;

/// Audits an AWS account against the Secrets Manager alternating-users tutorial,
/// read-only. Exit code, the first that applies: 3 a check failed (or, with
/// --fail-on-skip, was skipped), 1 a runtime error, a check that could not run
/// (ERROR) or no account audited at all, 4 nothing failed but some accounts or
/// regions were not audited (unreachable, not enabled, denied by an SCP; counted on
/// stderr), 0 all passed (skipped checks are listed, and do not count unless
/// --fail-on-skip); 2 a usage error; always over every finding, also those
/// --status does not list.
#[derive(Debug, Parser)]
#[command(name = "audit", version)]
#[allow(clippy::struct_excessive_bools)] // each bool is a command-line flag
struct Cli {
    /// Region to audit; repeat for several (default: the AWS configuration's region).
    #[arg(long = "region", value_name = "REGION")]
    regions: Vec<String>,

    /// Regions to audit: `all` (each account's enabled regions, from ec2:DescribeRegions) or a comma-separated list.
    #[arg(long = "regions", value_name = "all|REGION,...")]
    regions_list: Option<String>,

    /// Audit these accounts (comma-separated 12-digit ids), each through sts:AssumeRole into --role-name.
    #[arg(long, value_name = "ID,...", conflicts_with = "organization")]
    accounts: Option<String>,

    /// Audit every active account of the organisation (organizations:ListAccounts; run from the management or a delegated administrator account).
    #[arg(long)]
    organization: bool,

    /// The role to assume in each account (default: OrganizationAccountAccessRole).
    #[arg(long, value_name = "NAME")]
    role_name: Option<String>,

    /// External id the accounts' roles require (sts:ExternalId).
    #[arg(long, value_name = "ID", env = "AUDIT_EXTERNAL_ID")]
    external_id: Option<String>,

    /// With --accounts or --organization, also audit the caller's own account, with its own credentials.
    #[arg(long)]
    include_self: bool,

    /// Calls in flight per account at most, over all its regions (SDK retries are adaptive on throttling).
    #[arg(long, value_name = "N", default_value_t = audit::org::DEFAULT_MAX_CONCURRENCY, value_parser = parse_max_concurrency)]
    max_concurrency: usize,

    // ---- organisation scale: coverage, bounds and sessions (see audit::org, audit::coverage)
    /// Accounts audited at once, at most (each with --max-concurrency calls in flight and a retry quota of its own).
    #[arg(long, value_name = "N", default_value_t = audit::org::DEFAULT_MAX_ACCOUNTS, value_parser = parse_max_accounts)]
    max_accounts: usize,

    /// How long one account's audit may take, e.g. 1800, 30m or 2h (default 30m); past it, the regions the account finished are kept and each other region is a region.collected ERROR row with the reason; an account with no region finished is reported unreachable (an account.reachable ERROR row); either way the run exits 1 unless a check failed (3), and goes on.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_account_timeout)]
    account_timeout: Duration,

    /// Attempts per AWS call, the first included (adaptive retries back off on throttling).
    #[arg(long, value_name = "N", default_value_t = audit::org::DEFAULT_RETRIES_MAX_ATTEMPTS, value_parser = parse_max_attempts)]
    retries_max_attempts: u32,

    /// Length of each assumed role's session, e.g. 3600, 90m or 2h (900 s to 12 h; default STS's, 1 h); sessions are renewed before they expire, so a run may last longer. When the caller is itself an assumed role, at most 1 h (role chaining).
    #[arg(long, value_name = "DURATION", value_parser = parse_session_duration)]
    session_duration: Option<Duration>,

    /// In a run over several regions or accounts, fail every check in a region where no part of the setup exists, instead of one row saying it is not applicable there.
    #[arg(long)]
    require_setup: bool,

    /// Regions not to audit in any account (comma-separated), e.g. those an SCP denies.
    #[arg(long, value_name = "REGION,...")]
    exclude_regions: Option<String>,

    /// Accounts not to audit (comma-separated ids); they are listed in the report's scope as excluded.
    #[arg(long, value_name = "ID,...")]
    exclude_accounts: Option<String>,

    /// With --organization, only the accounts under these organisational units (comma-separated ids, any depth); the others are listed as excluded.
    #[arg(long, value_name = "OU,...", requires = "organization")]
    ous: Option<String>,
    // ---- end of the organisation-scale flags
    /// Named AWS profile to take credentials and region from.
    #[arg(long, env = "AWS_PROFILE")]
    profile: Option<String>,

    /// Audit this VPC instead of the one tagged Name=SecretsManagerTutorial-vpc (or the policy's name).
    #[arg(long)]
    vpc_id: Option<String>,

    /// Secret to audit in full (name or ARN); repeat for several (default: the policy's, SecretsManagerTutorialAppuser).
    #[arg(long = "secret-id", value_name = "SECRET")]
    secret_ids: Vec<String>,

    /// Also check every secret of the region against the rotation checks (read with ListSecrets, 100 a call).
    #[arg(long)]
    all_secrets: bool,

    /// Find every MySQL database credential of each region, whatever its rotation state (from its aws:rds tags or rotation function in a VPC; with --read-secrets, from its value's keys), instead of the tutorial's names, and check each as a rotation setup; findings name the setup's secret, and every secret excluded is listed with its reason. With --all-secrets, every other secret is checked for rotation too.
    #[arg(long, conflicts_with_all = ["vpc_id", "secret_ids", "db_instance_id", "db_endpoint"])]
    discover: bool,

    /// RDS instance identifier of the database (default: the policy's, secretsmanagertutorial).
    #[arg(long)]
    db_instance_id: Option<String>,

    /// TOML file overriding the policy's expectations (names, schedule, window, endpoints, SSH prefix, rotation age).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,

    /// Read the audited secrets' values (secretsmanager:GetSecretValue) to check masterarn and the database grants; values are never printed or saved.
    #[arg(long)]
    read_secrets: bool,

    /// Connect to the database here (e.g. a tunnel through the bastion) instead of the secret's host.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_endpoint)]
    db_endpoint: Option<(String, u16)>,

    /// PEM file of certificate authorities to verify the database's TLS certificate (e.g. the RDS global bundle).
    #[arg(long, value_name = "FILE")]
    db_ca_bundle: Option<PathBuf>,

    /// Log in to the database even without verified TLS (a secret without `ssl` falls back to unverified TLS or plaintext; `"ssl": false` is plaintext); the report records it. Without it the password is sent only over TLS verified against --db-ca-bundle or the public roots.
    #[arg(long)]
    insecure_db_tls: bool,

    /// Report format (default: table on a terminal, json otherwise).
    #[arg(long, value_enum, env = "AUDIT_FORMAT")]
    format: Option<Format>,

    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Save the collected inventory (the evidence, without secret values) as JSON.
    #[arg(long, value_name = "FILE", conflicts_with = "from_inventory")]
    save_inventory: Option<PathBuf>,

    /// Evaluate a saved inventory instead of calling AWS (no AWS access at all).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["regions", "regions_list", "accounts", "organization", "role_name", "external_id", "include_self", "profile", "discover", "vpc_id", "secret_ids", "all_secrets", "db_instance_id", "read_secrets", "db_endpoint", "db_ca_bundle", "insecure_db_tls", "session_duration", "account_timeout", "exclude_regions", "exclude_accounts", "ous"])]
    from_inventory: Option<PathBuf>,

    /// TOML file of accepted exceptions (`[[mute]]` entries: reason, expires, checks, and optionally accounts, regions, resources, tags, resource_or_tag): findings they match are shown as MUTED with the reason and do not decide the exit status; expired and unused entries are reported.
    #[arg(long, value_name = "FILE")]
    mutelist: Option<PathBuf>,

    /// List only findings of these statuses, in every format (comma-separated: PASS, FAIL, ERROR, SKIP, MUTED). The summary and the exit status still count every finding, listed or not.
    #[arg(
        long = "status",
        value_name = "STATUS,...",
        value_enum,
        value_delimiter = ',',
        ignore_case = true
    )]
    statuses: Vec<audit::report::ShownStatus>,

    /// Exit 3 when any check was skipped (e.g. the database checks without --read-secrets), for CI gates that must prove every check ran.
    #[arg(long)]
    fail_on_skip: bool,

    /// Print the least-privilege read-only IAM policy the audit needs, as JSON, and exit; with --role-name, its sts:AssumeRole statement names that role (default: OrganizationAccountAccessRole), to pair with --print-role-template's.
    #[arg(long, conflicts_with_all = ["regions", "regions_list", "accounts", "organization", "external_id", "include_self", "max_concurrency", "max_accounts", "retries_max_attempts", "session_duration", "account_timeout", "require_setup", "exclude_regions", "exclude_accounts", "ous", "profile", "vpc_id", "secret_ids", "all_secrets", "discover", "db_instance_id", "policy", "read_secrets", "db_endpoint", "db_ca_bundle", "insecure_db_tls", "format", "output", "save_inventory", "from_inventory", "mutelist", "statuses", "fail_on_skip", "print_role_template"])]
    print_policy: bool,

    /// Print a CloudFormation template (JSON) of a read-only audit role for every account (deploy it with a StackSet, then pass --role-name AuditReadOnly), and exit; recommended over OrganizationAccountAccessRole, which is an administrator.
    #[arg(long, exclusive = true)]
    print_role_template: bool,
}

fn parse_endpoint(text: &str) -> Result<(String, u16), String> {
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("{text:?} is not HOST:PORT"))?;
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("{port:?} is not a port number (1-65535)"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || port == 0 {
        return Err(format!("{text:?} is not HOST:PORT"));
    }
    Ok((host.to_owned(), port))
}

fn parse_max_accounts(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err(format!(
            "{text:?} is not a number of accounts from 1 to 1024"
        )),
    }
}

fn parse_max_attempts(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if (1..=20).contains(&n) => Ok(n),
        _ => Err(format!("{text:?} is not a number of attempts from 1 to 20")),
    }
}

/// `3600` (seconds), `90s`, `90m`, `2h`, `500ms`.
fn duration_of(text: &str) -> Option<Duration> {
    let (number, millis) = match text.strip_suffix("ms") {
        Some(n) => (n, 1),
        None => match text.strip_suffix('h') {
            Some(n) => (n, 3_600_000),
            None => match text.strip_suffix('m') {
                Some(n) => (n, 60_000),
                None => (text.strip_suffix('s').unwrap_or(text), 1000),
            },
        },
    };
    let millis = number.parse::<u64>().ok()?.saturating_mul(millis);
    Some(Duration::from_millis(millis))
}

/// `3600`, `90m`, `2h`: from 900 seconds to 12 hours (STS AssumeRole API
/// reference, `DurationSeconds`: 900 up to the role's maximum, at most 43200).
fn parse_session_duration(text: &str) -> Result<Duration, String> {
    match duration_of(text) {
        Some(d) if (900..=43_200).contains(&d.as_secs()) && d.subsec_millis() == 0 => Ok(d),
        _ => Err(format!(
            "{text:?} is not a session duration from 900 seconds (15m) to 12h; e.g. 3600, 90m or 2h"
        )),
    }
}

/// `1800`, `30m`, `2h`, `500ms`: more than nothing, at most a day.
fn parse_account_timeout(text: &str) -> Result<Duration, String> {
    match duration_of(text) {
        Some(d) if !d.is_zero() && d <= Duration::from_hours(24) => Ok(d),
        _ => Err(format!(
            "{text:?} is not an account timeout from 1ms to 24h; e.g. 1800, 30m or 2h"
        )),
    }
}

fn parse_max_concurrency(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=256).contains(&n) => Ok(n),
        _ => Err(format!("{text:?} is not a number of calls from 1 to 256")),
    }
}

/// A usage error: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_init();
    if cli.print_policy {
        let role_name = cli
            .role_name
            .as_deref()
            .unwrap_or(audit::calls::DEFAULT_ROLE_NAME);
        if let Err(message) = audit::org::validate_role_name(role_name) {
            eprintln!("audit: {message}");
            return ExitCode::from(audit::EXIT_USAGE);
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&audit::calls::iam_policy(role_name)).unwrap_or_default()
        );
        return ExitCode::from(audit::EXIT_OK);
    }
    if cli.print_role_template {
        println!(
            "{}",
            serde_json::to_string_pretty(&audit::role_template::role_template())
                .unwrap_or_default()
        );
        return ExitCode::from(audit::EXIT_OK);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("audit: starting the async runtime: {error}");
            return ExitCode::from(audit::EXIT_RUNTIME_ERROR);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("audit: {error:#}");
            let usage = error.downcast_ref::<UsageError>().is_some()
                || error.downcast_ref::<audit::policy::PolicyError>().is_some();
            ExitCode::from(if usage {
                audit::EXIT_USAGE
            } else {
                audit::EXIT_RUNTIME_ERROR
            })
        }
    }
}

fn tracing_init() {
    // Logs are for debugging (`RUST_LOG=audit=info`); the report goes to stdout.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn run(cli: Cli) -> Result<u8> {
    let mut policy = match &cli.policy {
        Some(path) => Policy::from_file(path)?,
        None => Policy::default(),
    };
    policy.insecure_db_tls = cli.insecure_db_tls;
    // Read before anything is collected: a bad file is a usage error, not a late surprise.
    let mutelist = match &cli.mutelist {
        Some(path) => Some(audit::mutelist::Mutelist::from_file(path).map_err(UsageError)?),
        None => None,
    };
    let source = if let Some(path) = &cli.from_inventory {
        match load_inventory(path)? {
            Evidence::Single(inventory) => Source::Single(inventory),
            Evidence::Organization(org) => Source::Several(Box::new(Several::Saved(org))),
        }
    } else {
        let target = Target::of(&cli)?;
        match &target.accounts {
            Accounts::Caller => Source::Single(Box::new(
                Box::pin(collect_live(&cli, &policy, &target)).await?,
            )),
            _ => Source::Several(Box::new(Several::Live(
                Box::pin(plan_accounts(&cli, &policy, target)).await?,
            ))),
        }
    };
    let settings = audit::account_result::Settings {
        policy,
        require_setup: cli.require_setup,
        mutelist,
        today: time::OffsetDateTime::now_utc().date(),
        evidence: cli.save_inventory.is_some(),
    };
    match source {
        Source::Single(inventory) => run_single(&cli, &settings, &inventory),
        Source::Several(several) => Box::pin(run_organization(&cli, settings, *several)).await,
    }
}

/// What to report on: one account's inventory, or accounts of a run over
/// several, planned (audited as they are written) or saved.
enum Source {
    Single(Box<Inventory>),
    Several(Box<Several>),
}

/// Accounts of a run over several: planned (audited as they are written) or saved.
enum Several {
    Live(audit::org::Planned),
    Saved(OrgInventory),
}

/// The report format: `--format`, else a table on a terminal and JSON otherwise.
fn format_of(cli: &Cli) -> Format {
    let to_terminal = cli.output.is_none() && std::io::stdout().is_terminal();
    cli.format.unwrap_or(if to_terminal {
        Format::Table
    } else {
        Format::Json
    })
}

/// Where the report goes: `--output` (written aside, see
/// `audit::report::files`), or standard output.
enum Out {
    File(audit::report::files::PartialFile),
    Stdout(std::io::BufWriter<std::io::Stdout>),
}

impl Out {
    fn of(cli: &Cli) -> Result<Self> {
        Ok(match &cli.output {
            Some(path) => Self::File(audit::report::files::PartialFile::create(
                path,
                "the report",
            )?),
            None => Self::Stdout(std::io::BufWriter::new(std::io::stdout())),
        })
    }

    /// The report complete: `--output` replaces the previous one.
    fn commit(self) -> std::io::Result<()> {
        match self {
            Self::File(file) => file.commit(),
            Self::Stdout(mut out) => out.flush(),
        }
    }
}

impl std::io::Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::File(file) => file.write(buf),
            Self::Stdout(out) => out.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::File(file) => file.flush(),
            Self::Stdout(out) => out.flush(),
        }
    }
}

/// One account: collected whole, then evaluated and written.
fn run_single(
    cli: &Cli,
    settings: &audit::account_result::Settings,
    inventory: &Inventory,
) -> Result<u8> {
    let decided = audit::account_result::single_account(inventory, settings);
    if cli.from_inventory.is_none() {
        if cli.discover {
            eprintln!(
                "audit: --discover: {}",
                discovered_line(&decided.totals.discovered, inventory.excluded.len())
            );
        }
        if let Some(path) = &cli.save_inventory {
            let json =
                serde_json::to_string_pretty(inventory).context("serialising the inventory")?;
            let mut file = audit::report::files::PartialFile::create(path, "the inventory")?;
            file.write_all((json + "\n").as_bytes())
                .and_then(|()| file.commit())
                .with_context(|| format!("writing the inventory to {}", path.display()))?;
        }
    }
    let mut report = Report::new(inventory, decided.findings);
    report.mutelist = decided.totals.mutelist;
    let (api_requests, gaps) = (decided.totals.api_requests, decided.totals.gaps);
    // Of every finding: what `--status` leaves out was still not checked.
    let skipped = report.skipped_lines();
    let left_out = report.keep_statuses(&cli.statuses);
    let format = format_of(cli);
    let mut out = Out::of(cli)?;
    out.write_all(report.render(format).as_bytes())
        .and_then(|()| out.commit())
        .context("writing the report")?;
    Ok(tail(
        cli,
        format,
        &report,
        &skipped,
        left_out,
        api_requests,
        gaps,
    ))
}

/// Several accounts: each evaluated as soon as it is collected, written in
/// account-id order, its inventory dropped (see `audit::report::stream`). A
/// write error (a closed pipe, a full disk) stops the run: the accounts in
/// flight are aborted.
/// Raises the soft limit of open files to the hard one. Each account done before an
/// earlier one is held in an unlinked file of its own until its turn
/// (`report::files::held_file`); behind one slow account, thousands of accounts
/// may wait, and a soft limit of 1024 (systemd's and cron's default) would end
/// the run (EMFILE) or fail the SDK's sockets. getrlimit(2)/setrlimit(2): an
/// unprivileged process may raise its soft limit up to the hard limit.
fn raise_open_files_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
        && let Err(error) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
    {
        eprintln!("audit: could not raise the open-files limit from {soft} to {hard}: {error}");
    }
}

async fn run_organization(
    cli: &Cli,
    settings: audit::account_result::Settings,
    several: Several,
) -> Result<u8> {
    use audit::report::stream::{AccountDone, OrgWriter};
    use std::ops::ControlFlow;
    raise_open_files_limit();
    let head = match &several {
        Several::Live(planned) => planned.head.clone(),
        // Its header only: the accounts are not copied.
        Several::Saved(org) => OrgInventory {
            accounts: Vec::new(),
            format: org.format.clone(),
            tool: org.tool.clone(),
            version: org.version.clone(),
            collected_at: org.collected_at,
            caller: org.caller.clone(),
            role_name: org.role_name.clone(),
        },
    };
    let format = format_of(cli);
    let evidence = cli
        .save_inventory
        .as_deref()
        .filter(|_| cli.from_inventory.is_none());
    let mut out = Out::of(cli)?;
    let mut writer = OrgWriter::new(&head, format, &cli.statuses, &mut out, evidence)
        .context("starting the report")?;
    match several {
        Several::Live(planned) => {
            let settings = std::sync::Arc::new(settings.clone());
            let failed = std::cell::RefCell::new(None);
            let stop = |error: std::io::Error| {
                failed.borrow_mut().get_or_insert(error);
            };
            let hold = |done: AccountDone| match done.spill() {
                Ok(spilled) => ControlFlow::Continue(spilled),
                Err(error) => {
                    stop(error);
                    ControlFlow::Break(())
                }
            };
            let emit = |done: AccountDone| match writer.account(done) {
                Ok(()) => ControlFlow::Continue(()),
                Err(error) => {
                    stop(error);
                    ControlFlow::Break(())
                }
            };
            Box::pin(with_progress(planned.run(
                move |record| AccountDone::of(&record, &settings),
                hold,
                emit,
            )))
            .await;
            if let Some(error) = failed.into_inner() {
                return Err(error).context("writing the report");
            }
        }
        Several::Saved(org) => {
            for record in org.accounts {
                writer
                    .account(AccountDone::of(&record, &settings))
                    .context("writing the report")?;
            }
        }
    }
    let finished = writer
        .finish(&head, &settings)
        .and_then(|finished| out.commit().map(|()| finished))
        .context("writing the report")?;
    if cli.discover && cli.from_inventory.is_none() {
        let excluded = finished.report.excluded.len();
        eprintln!(
            "audit: --discover: {}",
            discovered_line(&finished.discovered, excluded)
        );
    }
    Ok(tail(
        cli,
        format,
        &finished.report,
        &finished.skipped,
        finished.left_out,
        finished.api_requests,
        finished.gaps,
    ))
}

/// The lines of standard error after the report, and the exit status.
fn tail(
    cli: &Cli,
    format: Format,
    report: &Report,
    skipped: &[String],
    left_out: usize,
    api_requests: u64,
    gaps: audit::coverage::NotAudited,
) -> u8 {
    if cli.output.is_some() || format != Format::Table {
        // Text from the audited account or the mutelist, on one line, with no
        // control character: nothing reaches a terminal or forges a CI log's line.
        let line_of = audit::report::one_line;
        for line in skipped {
            eprintln!("audit: skipped {}", line_of(line));
        }
        if let Some(line) = report.left_out_line(left_out) {
            eprintln!("audit: {line}");
        }
        for line in report.excluded_lines() {
            eprintln!("audit: excluded {}", line_of(&line));
        }
        for line in report
            .mutelist
            .iter()
            .filter_map(audit::mutelist::EntryUse::warning)
        {
            eprintln!("audit: {}", line_of(&line));
        }
        match &cli.from_inventory {
            Some(path) => eprintln!(
                "audit: {} (from inventory {})",
                report.summary,
                path.display()
            ),
            None => eprintln!("audit: {} ({} API requests)", report.summary, api_requests),
        }
    }
    if gaps.any() || report.summary.error > 0 {
        // One line, whatever the format: a scheduled run's log shows the gap and
        // the checks that could not run.
        eprintln!(
            "audit: not audited: {} account(s), {} region(s); {} ERROR row(s) (their rows say why: account.reachable, region.reachable, region.collected, and each ERROR)",
            gaps.accounts, gaps.regions, report.summary.error
        );
    }
    audit::exit_status(&report.summary, cli.fail_on_skip, gaps)
}

/// `2 rotation setup(s): a (us-east-1), b (eu-west-1); 3 secret(s) excluded, ...`.
fn discovered_line(names: &[String], excluded: usize) -> String {
    if names.is_empty() {
        format!(
            "no rotation setup found (no secret recognised as a MySQL database credential); {excluded} secret(s) excluded, each listed with its reason"
        )
    } else {
        format!(
            "{} rotation setup(s): {}; {excluded} secret(s) excluded, each listed with its reason",
            names.len(),
            names.join(", ")
        )
    }
}

fn load_inventory(path: &Path) -> Result<Evidence> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        UsageError(format!(
            "reading inventory {}: {error}; check the path",
            path.display()
        ))
    })?;
    audit::org::parse_evidence(&text).map_err(|error| {
        UsageError(format!(
            "inventory {}: {error}; expected a file written by --save-inventory",
            path.display()
        ))
        .into()
    })
}

/// What to audit, from the flags, checked before any call.
#[derive(Debug)]
struct Target {
    accounts: Accounts,
    regions: Regions,
    exclude_regions: Vec<String>,
    exclude_accounts: Vec<String>,
    ous: Vec<String>,
}

impl Target {
    fn of(cli: &Cli) -> Result<Self> {
        let usage = |message: String| anyhow::Error::from(UsageError(message));
        let regions =
            audit::org::parse_regions(&cli.regions, cli.regions_list.as_deref()).map_err(usage)?;
        let accounts = match (&cli.accounts, cli.organization) {
            (Some(text), _) => Accounts::List(audit::org::parse_account_ids(text).map_err(usage)?),
            (None, true) => Accounts::Organization,
            (None, false) => Accounts::Caller,
        };
        if accounts == Accounts::Caller
            && (cli.include_self
                || cli.role_name.is_some()
                || cli.external_id.is_some()
                || cli.session_duration.is_some()
                || cli.exclude_accounts.is_some())
        {
            bail!(usage(
                "--include-self, --role-name, --external-id, --session-duration and --exclude-accounts apply to --accounts or --organization; add one of them"
                    .to_owned()
            ));
        }
        let exclude_regions = match &cli.exclude_regions {
            None => Vec::new(),
            Some(text) => match audit::org::parse_regions(&[], Some(text)).map_err(usage)? {
                Regions::List(regions) => regions,
                _ => bail!(usage(
                    "--exclude-regions: name the regions to leave out, e.g. --exclude-regions ap-east-1,me-south-1"
                        .to_owned()
                )),
            },
        };
        let ous = match &cli.ous {
            None => Vec::new(),
            Some(text) => audit::org::parse_ous(text).map_err(usage)?,
        };
        let exclude_accounts = match &cli.exclude_accounts {
            None => Vec::new(),
            Some(text) => audit::org::parse_account_ids(text)
                .map_err(|e| usage(e.replace("--accounts", "--exclude-accounts")))?,
        };
        if let Some(name) = &cli.role_name {
            audit::org::validate_role_name(name).map_err(usage)?;
        }
        if let Some(id) = &cli.external_id {
            audit::org::validate_external_id(id).map_err(usage)?;
        }
        Ok(Self {
            accounts,
            regions,
            exclude_regions,
            exclude_accounts,
            ous,
        })
    }
}

/// The per-account request, the same for one account or many.
fn collect_request(cli: &Cli, policy: &Policy, regions: Vec<String>) -> Result<CollectRequest> {
    let request = CollectRequest {
        scope: Scope {
            regions,
            vpc_id: cli.vpc_id.clone(),
            secret_ids: if cli.secret_ids.is_empty() {
                policy.secret_ids.clone()
            } else {
                cli.secret_ids.clone()
            },
            all_secrets: cli.all_secrets,
            db_instance_id: cli
                .db_instance_id
                .clone()
                .unwrap_or_else(|| policy.db_instance_id.clone()),
            read_secrets: cli.read_secrets,
            discover: cli.discover,
        },
        policy: policy.clone(),
        db_endpoint: cli.db_endpoint.clone(),
        db_ca_bundle: cli.db_ca_bundle.clone(),
    };
    if let Some(bundle) = &request.db_ca_bundle
        && !bundle.is_file()
    {
        bail!(UsageError(format!(
            "--db-ca-bundle {}: no such file; pass a PEM file of CA certificates",
            bundle.display()
        )));
    }
    Ok(request)
}

/// The caller's configuration; without a configured region, the first of
/// `--regions` (STS, Organizations and the region probe need one).
async fn base_config(cli: &Cli, regions: &Regions) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &cli.profile {
        loader = loader.profile_name(profile);
    }
    let base = loader.load().await;
    match (base.region(), regions) {
        (None, Regions::List(listed)) if !listed.is_empty() => base
            .to_builder()
            .region(Region::new(listed[0].clone()))
            .build(),
        _ => base,
    }
}

async fn plan_accounts(cli: &Cli, policy: &Policy, target: Target) -> Result<audit::org::Planned> {
    let base = base_config(cli, &target.regions).await;
    let request = OrgRequest {
        accounts: target.accounts,
        include_self: cli.include_self,
        regions: target.regions,
        role_name: cli
            .role_name
            .clone()
            .unwrap_or_else(|| audit::org::DEFAULT_ROLE_NAME.to_owned()),
        external_id: cli.external_id.clone(),
        max_concurrency: cli.max_concurrency,
        max_accounts: cli.max_accounts,
        account_timeout: cli.account_timeout,
        retries_max_attempts: cli.retries_max_attempts,
        session_duration: cli.session_duration,
        exclude_accounts: target.exclude_accounts,
        exclude_regions: target.exclude_regions,
        ous: target.ous,
        collect: collect_request(cli, policy, Vec::new())?,
    };
    audit::org::plan_organization(&base, &request)
        .await
        .map_err(|error| match error {
            OrgError::NoAccounts(_) | OrgError::NoRegion => UsageError(error.to_string()).into(),
            other => anyhow::Error::from(other),
        })
}

async fn collect_live(cli: &Cli, policy: &Policy, target: &Target) -> Result<Inventory> {
    let base = base_config(cli, &target.regions).await;
    let (regions, skipped) = match &target.regions {
        Regions::List(regions) if regions.len() == 1 && target.exclude_regions.is_empty() => {
            (regions.clone(), Vec::new())
        }
        Regions::Default | Regions::All if base.region().is_none() => bail!(UsageError(
            "no region: pass --region REGION (or --regions all) and set AWS_REGION (or a profile's region)"
                .to_owned()
        )),
        Regions::Default => (
            base.region().map(ToString::to_string).into_iter().collect(),
            Vec::new(),
        ),
        // Several regions: each probed once (not enabled, denied by an SCP).
        wanted => audit::org::probe_regions(&base, wanted, &target.exclude_regions)
            .await
            .map_err(|error| anyhow::anyhow!("--regions: {}", error.describe()))?,
    };
    let configs: Vec<_> = regions
        .iter()
        .map(|r| base.to_builder().region(Region::new(r.clone())).build())
        .collect();
    let request = collect_request(cli, policy, regions)?;
    let mut inventory = Box::pin(with_progress(audit::collect(&configs, &request))).await;
    inventory.skipped_regions = skipped;
    Ok(inventory)
}

/// Shows a spinner on stderr when collection takes over a second on a terminal.
async fn with_progress<T>(work: impl std::future::Future<Output = T>) -> T {
    if !std::io::stderr().is_terminal() {
        return work.await;
    }
    tokio::pin!(work);
    tokio::select! {
        done = &mut work => return done,
        () = tokio::time::sleep(Duration::from_secs(1)) => {}
    }
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message("collecting the inventory (read-only AWS calls)...");
    spinner.enable_steady_tick(Duration::from_millis(120));
    let result = work.await;
    spinner.finish_and_clear();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_takes_the_names_the_report_uses_in_any_case() {
        use audit::report::ShownStatus;
        let cli = Cli::try_parse_from(["audit", "--status", "FAIL,error", "--status", "Muted"])
            .expect("accepted");
        assert_eq!(
            cli.statuses,
            [ShownStatus::Fail, ShownStatus::Error, ShownStatus::Muted]
        );
        let error = Cli::try_parse_from(["audit", "--status", "WARN"]).expect_err("refused");
        assert!(
            error.to_string().contains("PASS, FAIL, ERROR, SKIP, MUTED"),
            "{error}"
        );
        assert!(
            Cli::try_parse_from(["audit"])
                .expect("no filter")
                .statuses
                .is_empty()
        );
    }

    #[test]
    fn discover_combines_with_all_secrets_but_not_with_names() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["audit"], args].concat());
        let cli = parse(&["--discover", "--all-secrets", "--read-secrets"]).expect("accepted");
        assert!(cli.discover && cli.all_secrets);
        for named in [
            &["--vpc-id", "vpc-1"][..],
            &["--secret-id", "s"],
            &["--db-instance-id", "d"],
            &["--db-endpoint", "localhost:3306"],
        ] {
            let args = [&["--discover"][..], named].concat();
            assert!(parse(&args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn an_account_timeout_is_a_duration_from_a_millisecond_to_a_day() {
        for (text, expected) in [
            ("1800", Some(Duration::from_mins(30))),
            ("30m", Some(Duration::from_mins(30))),
            ("2h", Some(Duration::from_hours(2))),
            ("90s", Some(Duration::from_secs(90))),
            ("500ms", Some(Duration::from_millis(500))),
            ("24h", Some(Duration::from_hours(24))),
            ("25h", None),
            ("0", None),
            ("0ms", None),
            ("-1m", None),
            ("soon", None),
            ("", None),
        ] {
            assert_eq!(parse_account_timeout(text).ok(), expected, "{text:?}");
        }
        let cli = Cli::try_parse_from(["audit"]).expect("default");
        assert_eq!(cli.account_timeout, audit::org::DEFAULT_ACCOUNT_TIMEOUT);
    }
}
