//! The embedded emulator: moto (through the project's launcher) plus real MariaDB.
//!
//! Nothing in this project can reach AWS, so every command and test runs against a
//! local stand-in. The Rust side does what is easy to get right here and hard in a
//! shell script: find the prerequisites and say how to install what is missing,
//! generate the TLS authority, install moto into a project-local virtual
//! environment, start the launcher (which binds moto's port itself and names it in its ready file), wait until both moto and the
//! default MariaDB server answer, and record the launcher in one state file so
//! `down` stops exactly what `up` started: the launcher's process group, which the
//! launcher's watchdog stops too. The launcher (`emulator/launcher.py`)
//! supervises the MariaDB servers and the Lambda processes (`emulator/supervision.py`);
//! see its module doc.
//!
//! Tests start their own emulator through [`Emulator::start`] with a parent pid, so
//! the launcher stops everything when the test process exits.

use std::fmt::Write as _;
use std::fs;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::paths;

/// The region the emulator answers for.
pub const REGION: &str = "us-east-1";
/// moto accepts any credentials; these are the ones the emulator hands out.
const ACCESS_KEY: &str = "testing";
const SECRET_KEY: &str = "testing";
/// How long `up` waits for moto and MariaDB once the virtual environment exists.
const START_TIMEOUT: Duration = Duration::from_mins(1);

/// Where an emulator keeps its state, whether it follows a parent process, and
/// how strict it is beyond its defaults.
#[derive(Debug, Clone, Default)]
pub struct EmulatorOptions {
    /// Directory for the state file, logs, data directories and TLS files.
    pub dir: PathBuf,
    /// Stop the emulator when this process exits (the test harness sets it).
    pub parent_pid: Option<u32>,
    /// Every call must be signed by an IAM user allowed the action (moto's access
    /// control); the emulator's own credentials are an administrator's.
    pub enforce_iam: bool,
    /// Settings of the strict behaviours (`EMULATOR_*`, see `emulator/base.py`),
    /// over the launcher's environment.
    pub settings: Vec<(String, String)>,
}

impl EmulatorOptions {
    /// The emulator of `cargo xtask emulator`: `target/emulator/default`.
    pub fn default_instance() -> Self {
        Self::in_dir(paths::target_dir().join("emulator").join("default"))
    }

    /// An emulator in `dir` with the default (strict) behaviours.
    pub fn in_dir(dir: PathBuf) -> Self {
        Self {
            dir,
            ..Self::default()
        }
    }
}

/// The default MariaDB server of an emulator (the RDS instances get their own).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseEndpoint {
    pub host: String,
    pub port: u16,
    pub admin_user: String,
    pub admin_password: String,
    pub pid: u32,
}

impl DatabaseEndpoint {
    /// `mysql://user:password@127.0.0.1:port`, the admin URL printed by `up`.
    pub fn admin_url(&self) -> String {
        format!(
            "mysql://{}:{}@{}:{}",
            self.admin_user, self.admin_password, self.host, self.port
        )
    }
}

/// A root connection to the MariaDB server of RDS instance `id` of the emulator
/// in `dir`, through its socket: the operator's way in, outside RDS's world (no
/// RDS user can do what root does), for a grant RDS's master user cannot give.
pub async fn instance_root(dir: &Path, id: &str) -> Result<sqlx::MySqlConnection> {
    use sqlx::Connection as _;
    use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
    let servers = dir.join("run").join("mariadb");
    let prefix = format!("rds-{id}-");
    let socket = fs::read_dir(&servers)
        .with_context(|| {
            format!(
                "reading the emulator's MariaDB directory {}",
                servers.display()
            )
        })?
        .flatten()
        .find(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .map(|entry| entry.path().join("mysqld.sock"))
        .with_context(|| {
            format!(
                "RDS instance {id} has no MariaDB server in {}",
                servers.display()
            )
        })?;
    sqlx::MySqlConnection::connect_with(
        &MySqlConnectOptions::new()
            .socket(&socket)
            .username("root")
            .ssl_mode(MySqlSslMode::Disabled),
    )
    .await
    .with_context(|| format!("root login through {}", socket.display()))
}

/// Everything `up` started, as recorded in `state.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmulatorState {
    pub dir: PathBuf,
    pub launcher_pid: u32,
    pub endpoint_url: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub database: DatabaseEndpoint,
    pub ca_file: PathBuf,
    pub launcher_log: PathBuf,
}

impl EmulatorState {
    /// The `export NAME=value` lines a shell evaluates to use the emulator.
    pub fn exports(&self) -> String {
        let mut out = String::new();
        for (name, value) in self.env_vars() {
            let _ = writeln!(out, "export {name}={}", shell_quote(&value));
        }
        out
    }

    /// The environment variables of the emulator, as pairs.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint_url.clone()),
            ("AWS_REGION", self.region.clone()),
            ("AWS_ACCESS_KEY_ID", self.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_access_key.clone()),
            ("EMULATOR_DATABASE_URL", self.database.admin_url()),
            ("EMULATOR_DB_CA_FILE", self.ca_file.display().to_string()),
        ]
    }

    fn state_file(dir: &Path) -> PathBuf {
        dir.join("state.json")
    }

    /// Reads the state file of an emulator directory, if there is one.
    pub fn load(dir: &Path) -> Result<Option<Self>> {
        let path = Self::state_file(dir);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not a valid emulator state file; delete it",
                    path.display()
                )
            })?)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Process ids of everything the launcher runs, the launcher among them: the
    /// members of the process group it leads. That group is the one list of what to
    /// stop, the watchdog's too (`emulator/process_group.py`): every process the
    /// launcher starts, and theirs, is in it.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = group_members(self.launcher_pid);
        pids.push(self.launcher_pid);
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Whether the launcher process recorded here is still ours and alive (one
    /// started before launchers were marked included: `up` must not start another
    /// over its files, nor `status` call it stopped).
    pub fn is_running(&self) -> bool {
        process_belongs_to(self.launcher_pid, &self.dir)
            || started_unmarked(self.launcher_pid, &self.dir)
    }
}

/// The file the launcher writes once the default MariaDB server accepts logins.
#[derive(Debug, Deserialize)]
struct ReadyFile {
    launcher_pid: u32,
    /// moto's port, bound by the launcher (`--port 0`).
    port: u16,
    database: ReadyDatabase,
}

#[derive(Debug, Deserialize)]
struct ReadyDatabase {
    port: u16,
    user: String,
    password: String,
    pid: u32,
}

/// Commands the emulator needs from the machine.
#[derive(Debug, Clone)]
pub struct Prerequisites {
    pub python: PathBuf,
    pub mariadbd: PathBuf,
    pub install_db: PathBuf,
    pub client: PathBuf,
}

impl Prerequisites {
    /// Finds python3 and the MariaDB (or MySQL) server binaries, or says how to install them.
    pub fn find() -> Result<Self> {
        let python = find_program(&["python3"]).ok_or_else(|| {
            anyhow!("python3 not found: the emulator runs moto, a Python program; install it with `sudo apt-get install -y python3 python3-venv`")
        })?;
        let server_hint = "install the server with `sudo apt-get install -y mariadb-server` (Debian/Ubuntu) or `sudo dnf install -y mariadb-server`";
        let mariadbd = find_program(&["mariadbd", "mysqld"])
            .ok_or_else(|| anyhow!("MariaDB server not found (neither `mariadbd` nor `mysqld` on PATH or in /usr/sbin): {server_hint}"))?;
        let install_db = find_program(&["mariadb-install-db", "mysql_install_db"])
            .ok_or_else(|| anyhow!("`mariadb-install-db` not found: {server_hint}"))?;
        let client = find_program(&["mariadb", "mysql"])
            .ok_or_else(|| anyhow!("the `mariadb` command-line client was not found: install it with `sudo apt-get install -y mariadb-client`"))?;
        Ok(Self {
            python,
            mariadbd,
            install_db,
            client,
        })
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/libexec"].map(PathBuf::from));
    names.iter().find_map(|name| {
        dirs.iter()
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// A running emulator, and the guard that stops it when it was started for a test.
#[derive(Debug)]
pub struct Emulator {
    pub state: EmulatorState,
}

impl Emulator {
    /// Starts an emulator in `options.dir`; fails if one already runs there.
    pub fn start(options: &EmulatorOptions) -> Result<Self> {
        if let Some(state) = EmulatorState::load(&options.dir)?
            && state.is_running()
        {
            bail!(
                "the emulator is already up (launcher pid {}, {}); `cargo xtask emulator env` prints its environment, `cargo xtask emulator down` stops it",
                state.launcher_pid,
                state.endpoint_url
            );
        }
        let prerequisites = Prerequisites::find()?;
        let python = ensure_virtualenv(&prerequisites.python)?;
        fs::create_dir_all(&options.dir)
            .with_context(|| format!("creating {}", options.dir.display()))?;
        let tls = crate::tls::write_authority(&options.dir.join("tls"))?;
        let state = launch(options, &prerequisites, &python, &tls)?;
        let text = serde_json::to_string_pretty(&state)?;
        fs::write(EmulatorState::state_file(&options.dir), text)?;
        Ok(Self { state })
    }
}

/// Starts the launcher and waits until moto answers on the port it bound and the
/// default MariaDB server accepts logins.
///
/// The launcher binds moto's port itself (`--port 0`) and writes it in its ready
/// file, so no port is chosen here, released, and bound again by another process
/// (a race between concurrent emulators). MariaDB's ports, which `mariadbd` cannot
/// choose itself, are retried inside the launcher (`mariadb_servers.py`).
fn launch(
    options: &EmulatorOptions,
    prerequisites: &Prerequisites,
    python: &Path,
    tls: &crate::tls::TlsFiles,
) -> Result<EmulatorState> {
    let run_dir = options.dir.join("run");
    if run_dir.exists() {
        fs::remove_dir_all(&run_dir)
            .with_context(|| format!("removing old {}", run_dir.display()))?;
    }
    fs::create_dir_all(&run_dir)?;
    let ready_file = run_dir.join("ready.json");
    let log_path = options.dir.join("launcher.log");
    let log = fs::File::create(&log_path)?;
    let launcher = Launcher {
        run_dir: &run_dir,
        ready_file: &ready_file,
        log,
    };
    let mut command = launcher_command(options, prerequisites, python, tls, launcher)?;
    // Its own process group: a Ctrl-C in the terminal that ran `up` must not stop it.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .with_context(|| format!("starting the emulator launcher with {}", python.display()))?;
    let ready = match wait_until_ready(&mut child, &ready_file, &log_path) {
        Ok(ready) => ready,
        Err(error) => {
            // Not recorded anywhere yet (no state file): stop it here, or `down`
            // could never find it.
            let _ = kill(Pid::from_raw(pid_i32(child.id())), Signal::SIGTERM);
            return Err(error);
        }
    };
    // The child handle is dropped without waiting: the launcher outlives `up`.
    Ok(EmulatorState {
        dir: options.dir.clone(),
        launcher_pid: ready.launcher_pid,
        endpoint_url: format!("http://127.0.0.1:{}", ready.port),
        region: REGION.to_owned(),
        access_key_id: ACCESS_KEY.to_owned(),
        secret_access_key: SECRET_KEY.to_owned(),
        database: DatabaseEndpoint {
            host: "127.0.0.1".to_owned(),
            port: ready.database.port,
            admin_user: ready.database.user,
            admin_password: ready.database.password,
            pid: ready.database.pid,
        },
        ca_file: tls.ca.clone(),
        launcher_log: log_path,
    })
}

/// Waits until the launcher's ready file names moto's port and moto answers there.
fn wait_until_ready(
    child: &mut std::process::Child,
    ready_file: &Path,
    log_path: &Path,
) -> Result<ReadyFile> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "the emulator launcher exited ({status}) before it was ready; last lines of {}:\n{}",
                log_path.display(),
                log_tail(log_path, 20)
            );
        }
        if let Some(ready) = read_ready(ready_file)?
            && http_answers(ready.port)
        {
            return Ok(ready);
        }
        if Instant::now() > deadline {
            bail!(
                "the emulator was not ready within {} s; last lines of {}:\n{}",
                START_TIMEOUT.as_secs(),
                log_path.display(),
                log_tail(log_path, 20)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The launcher's ready file, once it has been written (atomically, by rename).
fn read_ready(path: &Path) -> Result<Option<ReadyFile>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).context("reading the launcher's ready file"),
    };
    let ready = serde_json::from_str(&text).context("reading the launcher's ready file")?;
    Ok(Some(ready))
}

/// Where one launch of the launcher listens and writes.
struct Launcher<'a> {
    run_dir: &'a Path,
    ready_file: &'a Path,
    /// The launcher's log, its stdout and stderr.
    log: fs::File,
}

/// The launcher's command line: its directories, MariaDB programs,
/// TLS files and credentials, and the options' settings.
fn launcher_command(
    options: &EmulatorOptions,
    prerequisites: &Prerequisites,
    python: &Path,
    tls: &crate::tls::TlsFiles,
    launcher: Launcher<'_>,
) -> Result<Command> {
    let Launcher {
        run_dir,
        ready_file,
        log,
    } = launcher;
    let mut command = Command::new(python);
    if let Some(dir) = run_dir.parent() {
        let marker = owner_marker(dir);
        if let Some((name, value)) = marker.split_once('=') {
            command.env(name, value);
        }
    }
    command
        .arg(
            paths::workspace_root()
                .join("xtask")
                .join("emulator")
                .join("launcher.py"),
        )
        // moto's port: the launcher binds any free one and writes it in its ready file.
        .arg("--port")
        .arg("0")
        .arg("--state-dir")
        .arg(run_dir)
        .arg("--template-dir")
        .arg(
            paths::target_dir()
                .join("emulator")
                .join("mariadb-template"),
        )
        .arg("--ready-file")
        .arg(ready_file)
        .arg("--mariadbd")
        .arg(&prerequisites.mariadbd)
        .arg("--install-db")
        .arg(&prerequisites.install_db)
        .arg("--mariadb-client")
        .arg(&prerequisites.client)
        .arg("--tls-ca")
        .arg(&tls.ca)
        .arg("--tls-ca-key")
        .arg(&tls.ca_key)
        .arg("--tls-cert")
        .arg(&tls.cert)
        .arg("--tls-key")
        .arg(&tls.key)
        .arg("--access-key")
        .arg(ACCESS_KEY)
        .arg("--secret-key")
        .arg(SECRET_KEY)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .env("PYTHONUNBUFFERED", "1")
        .env_remove("AWS_ENDPOINT_URL");
    if let Some(parent) = options.parent_pid {
        command.arg("--parent-pid").arg(parent.to_string());
    }
    if options.enforce_iam {
        command.arg("--enforce-iam");
    }
    for (name, value) in &options.settings {
        command.env(name, value);
    }
    Ok(command)
}

/// How long `stop` lets what is left of the launcher's group end after SIGTERM
/// before SIGKILL: the watchdog's grace (`GRACE_SECONDS`, `emulator/process_group.py`).
const GROUP_GRACE: Duration = Duration::from_secs(10);

/// Stops every process of the emulator recorded in `dir` and removes its state file.
///
/// The launcher is asked first (SIGTERM: it stops its children itself); what is left
/// of its process group then gets SIGTERM and, after [`GROUP_GRACE`], SIGKILL, as the
/// watchdog does (`stop_group`, `emulator/process_group.py`). Returns the ids that
/// were stopped.
///
/// The group is signalled whole (killpg(2)), members whose command line names no
/// directory of ours included (the `sleep` of a function's bootstrap), once the
/// launcher or a member is shown to be ours by its environment ([`OWNER_ENV`]). That
/// stays true while the group has members: no new process is given the id of a group
/// that has any (POSIX.1-2024, fork(): "The child process ID also shall not match any
/// active process group ID",
/// <https://pubs.opengroup.org/onlinepubs/9799919799/functions/fork.html>), so no
/// other group can have it. The group is checked for live members right before each
/// signal, as `stop_group` does: once it has emptied, its id is free again and is
/// left alone.
pub fn stop(dir: &Path) -> Result<Vec<u32>> {
    let Some(state) = EmulatorState::load(dir)? else {
        return Ok(Vec::new());
    };
    let group = state.launcher_pid;
    let launcher_ours = process_belongs_to(state.launcher_pid, dir);
    let mut stopped = group_members(group);
    if !launcher_ours && !stopped.iter().any(|pid| process_belongs_to(*pid, dir)) {
        if started_unmarked(state.launcher_pid, dir) {
            // Its record is kept: removing it would leave the emulator running
            // with nothing left to find it by.
            bail!(
                "the emulator in {} (launcher pid {pid}) was started by an earlier xtask, which did not mark its processes; stop its process group with `kill -- -{pid}`",
                dir.display(),
                pid = state.launcher_pid
            );
        }
        if let Some(member) = stopped
            .iter()
            .copied()
            .find(|pid| names_state_dir(*pid, dir))
        {
            // The same, its launcher gone: the group lives on (a MariaDB server, a
            // function) and keeps its id, which no other group can take meanwhile.
            bail!(
                "the emulator in {} (launcher pid {pid}, no longer running) left its process group running (pid {member} among them, naming {run}); it was started by an earlier xtask, which did not mark its processes: stop the group with `kill -- -{pid}`, then rerun `cargo xtask emulator down`",
                dir.display(),
                pid = state.launcher_pid,
                run = dir.join("run").display()
            );
        }
        // Neither the launcher nor any process of its group is ours: the ids were
        // given to others since.
        fs::remove_file(EmulatorState::state_file(dir)).ok();
        return Ok(Vec::new());
    }
    if launcher_ours {
        stopped.push(state.launcher_pid);
        let _ = kill(Pid::from_raw(pid_i32(state.launcher_pid)), Signal::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && process_belongs_to(state.launcher_pid, dir) {
        std::thread::sleep(Duration::from_millis(100));
    }
    for signal in [Signal::SIGTERM, Signal::SIGKILL] {
        let left = group_members(group);
        if left.is_empty() {
            break;
        }
        stopped.extend(&left);
        let _ = killpg(Pid::from_raw(pid_i32(group)), signal);
        let deadline = Instant::now() + GROUP_GRACE;
        while signal == Signal::SIGTERM
            && Instant::now() < deadline
            && !group_members(group).is_empty()
        {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    stopped.sort_unstable();
    stopped.dedup();
    fs::remove_file(EmulatorState::state_file(dir)).ok();
    Ok(stopped)
}

/// Whether `pid` is a launcher started for `dir` before launchers carried
/// [`OWNER_ENV`]: one of its arguments is exactly `<dir>/run`, its state directory.
fn started_unmarked(pid: u32, dir: &Path) -> bool {
    command_line_and_state_dir(pid, dir).is_some_and(|(cmdline, runs)| {
        cmdline
            .split(|byte| *byte == 0)
            .any(|argument| runs.iter().any(|run| argument == run.as_bytes()))
    })
}

/// `pid`'s command line (`/proc/<pid>/cmdline`, arguments NUL-separated) and the
/// state directory `<dir>/run`, spelt as given and canonical; None once `pid` is gone.
fn command_line_and_state_dir(pid: u32, dir: &Path) -> Option<(Vec<u8>, [String; 2])> {
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let canonical = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let runs = [dir.join("run"), canonical.join("run")].map(|run| run.display().to_string());
    Some((cmdline, runs))
}

/// Whether one of `pid`'s arguments names the state directory `<dir>/run` or a path
/// under it, whole or as an option's value (`--datadir=<dir>/run/...`), as the
/// processes an unmarked launcher started do. Weaker than [`OWNER_ENV`] (any command
/// may name a path): used only of members of the recorded launcher's group, to name
/// them, never to signal them.
fn names_state_dir(pid: u32, dir: &Path) -> bool {
    let Some((cmdline, runs)) = command_line_and_state_dir(pid, dir) else {
        return false;
    };
    cmdline
        .split(|byte| *byte == 0)
        .filter_map(|argument| std::str::from_utf8(argument).ok())
        .any(|argument| {
            let path = argument
                .split_once('=')
                .map_or(argument, |(_, value)| value);
            runs.iter().any(|run| {
                path == run
                    || path
                        .strip_prefix(run.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
        })
}

/// The live processes of process group `group` (zombies have ended already), from
/// `/proc/<pid>/stat`.
fn group_members(group: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| live_process_group(&stat))
                == Some(group)
        })
        .collect()
}

/// The `pgrp` field of a `/proc/<pid>/stat` line (proc(5): the fifth field; the
/// third, `state`, is `Z` for a zombie, which has none here). The command name may
/// hold spaces and parentheses, so the fields are counted from its last `)`.
fn live_process_group(stat: &str) -> Option<u32> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace();
    if fields.next()? == "Z" {
        return None;
    }
    fields.nth(1)?.parse().ok()
}

fn pid_i32(pid: u32) -> i32 {
    i32::try_from(pid).unwrap_or(i32::MAX)
}

/// The variable `up` gives the launcher: the emulator's directory, which every
/// process it starts inherits (a function's process, started with its own
/// environment, may not; the group's signal reaches it anyway). A command line
/// naming the directory proves nothing: `tail -f <dir>/launcher.log`, or another
/// emulator whose directory starts with the same text, names it too.
const OWNER_ENV: &str = "XTASK_EMULATOR_DIR";

/// The value of [`OWNER_ENV`] for the emulator in `dir`.
fn owner_marker(dir: &Path) -> String {
    let dir = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    format!("{OWNER_ENV}={}", dir.display())
}

/// Whether `pid` is alive and was started by the emulator in `dir` (its
/// environment, `/proc/<pid>/environ`, carries [`OWNER_ENV`] naming `dir`).
pub fn process_belongs_to(pid: u32, dir: &Path) -> bool {
    let Ok(environ) = fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    if let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat"))
        && stat.split_whitespace().nth(2) == Some("Z")
    {
        return false;
    }
    let marker = owner_marker(dir);
    environ
        .split(|byte| *byte == 0)
        .any(|entry| entry == marker.as_bytes())
}

fn http_answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /moto-api/data.json HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

/// A request to the emulator's own API (`/_emulator/...`: its rotations, injected
/// failures), answered in JSON.
pub fn request(
    state: &EmulatorState,
    method: &str,
    path: &str,
    body: &str,
) -> Result<serde_json::Value> {
    let address = state.endpoint_url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address)
        .with_context(|| format!("connecting to the emulator at {address}"))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .with_context(|| format!("{method} {path} to the emulator"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .with_context(|| format!("the emulator's answer to {method} {path}"))?;
    let answer = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    serde_json::from_str(answer)
        .with_context(|| format!("the emulator's answer to {method} {path} is not JSON: {answer}"))
}

/// The emulator's records of one secret's rotations, by its ARN or name
/// (`GET /_emulator/rotations?secret=`), oldest first. A caller waiting on a
/// rotation polls this; asking for one secret's keeps each poll small however many
/// rotations a long run (the fuzz, a bench) has made.
pub fn rotations_of(state: &EmulatorState, secret: &str) -> Result<Vec<serde_json::Value>> {
    let path = format!("/_emulator/rotations?secret={}", query_value(secret));
    match request(state, "GET", &path, "")? {
        serde_json::Value::Array(records) => Ok(records),
        other => bail!("the emulator's answer to GET {path} is not a list of rotations: {other}"),
    }
}

/// `value` percent-encoded for a query string: every byte but letters, digits and
/// `-_.~` as `%XX`, so that a secret name's `+` (which Python's `parse_qs` reads
/// as a space), `/`, `=` and `@`, and an ARN's `:`, arrive as they are.
fn query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The last `lines` lines of a log file, for error messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A new, empty virtualenv at `venv` (any old one cleared).
pub fn create_venv(python3: &Path, venv: &Path) -> Result<()> {
    let status = Command::new(python3)
        .args(["-m", "venv", "--clear"])
        .arg(venv)
        .stdout(Stdio::null())
        .status()
        .context("running python3 -m venv")?;
    if !status.success() {
        bail!(
            "`python3 -m venv {}` failed: install the venv module with `sudo apt-get install -y python3-venv`",
            venv.display()
        );
    }
    Ok(())
}

/// Installs moto (pinned in `emulator/requirements.txt`) into `target/emulator/venv` once.
///
/// Concurrent callers (the emulators one test process starts at once) wait on a lock directory; the install is
/// recorded with the requirements' contents so a changed pin reinstalls.
pub fn ensure_virtualenv(python3: &Path) -> Result<PathBuf> {
    let requirements_path = paths::workspace_root()
        .join("xtask")
        .join("emulator")
        .join("requirements.txt");
    let requirements = fs::read_to_string(&requirements_path)
        .with_context(|| format!("reading {}", requirements_path.display()))?;
    let venv = paths::target_dir().join("emulator").join("venv");
    let marker = venv.join("installed-requirements.txt");
    let python = venv.join("bin").join("python");
    if fs::read_to_string(&marker).ok().as_deref() == Some(requirements.as_str()) && python.exists()
    {
        return Ok(python);
    }
    let parent = venv.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent)?;
    let lock = parent.join("venv.lock");
    let _guard = DirLock::acquire(&lock, Duration::from_mins(10))?;
    if fs::read_to_string(&marker).ok().as_deref() == Some(requirements.as_str()) && python.exists()
    {
        return Ok(python);
    }
    eprintln!(
        "emulator: installing moto into {} (first use only, about a minute)",
        venv.display()
    );
    create_venv(python3, &venv)?;
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-compile",
            "-q",
            "-r",
        ])
        .arg(&requirements_path)
        .output()
        .context("running pip")?;
    if !output.status.success() {
        bail!(
            "installing the emulator's Python packages failed (pip needs access to PyPI):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    fs::write(&marker, requirements)?;
    Ok(python)
}

/// A lock held by creating a directory; removed on drop. Stale locks (dead owner) are broken.
struct DirLock {
    path: PathBuf,
}

impl DirLock {
    fn acquire(path: &Path, timeout: Duration) -> Result<Self> {
        let deadline = Instant::now() + timeout;
        loop {
            match fs::create_dir(path) {
                Ok(()) => {
                    fs::write(path.join("pid"), std::process::id().to_string())?;
                    return Ok(Self {
                        path: path.to_owned(),
                    });
                }
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = fs::read_to_string(path.join("pid"))
                        .ok()
                        .and_then(|p| p.trim().parse::<u32>().ok());
                    if owner.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
                        fs::remove_dir_all(path).ok();
                        continue;
                    }
                    if Instant::now() > deadline {
                        bail!(
                            "timed out waiting for {} (another install running?)",
                            path.display()
                        );
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(error) => {
                    return Err(error).with_context(|| format!("creating {}", path.display()));
                }
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        fs::remove_dir_all(&self.path).ok();
    }
}

fn shell_quote(value: &str) -> String {
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:@=,".contains(c))
    {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::{
        DatabaseEndpoint, EmulatorState, OWNER_ENV, group_members, live_process_group,
        names_state_dir, owner_marker, pid_i32, process_belongs_to, query_value, shell_quote, stop,
    };
    use std::fs;
    use std::path::PathBuf;
    use std::process::Command;
    use std::time::{Duration, Instant};

    /// What `/_emulator/rotations?secret=` receives: the pytest of the control path
    /// (`test_control_paths.py`) decodes the ARN row's text back to the ARN.
    #[test]
    fn a_query_value_keeps_only_unreserved_bytes_as_they_are() {
        for (value, encoded) in [
            ("two", "two"),
            ("app+one", "app%2Bone"),
            ("a/b=c@d.e_f-g~h", "a%2Fb%3Dc%40d.e_f-g~h"),
            ("rds!db-1 x", "rds%21db-1%20x"),
            (
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:app+one-AbCdEf",
                "arn%3Aaws%3Asecretsmanager%3Aus-east-1%3A123456789012%3Asecret%3Aapp%2Bone-AbCdEf",
            ),
            ("", ""),
        ] {
            assert_eq!(query_value(value), encoded, "{value}");
        }
    }

    /// Only the environment `up` gives makes a process ours: not a command line
    /// naming the directory (`tail -f <dir>/launcher.log`), nor the marker of
    /// another emulator whose directory starts with the same text.
    #[test]
    fn a_process_naming_the_directory_without_its_marker_is_not_the_emulators() {
        let dir = std::env::temp_dir().join(format!("xtask-owner-test-{}", std::process::id()));
        let other = PathBuf::from(format!("{}-org", dir.display()));
        fs::create_dir_all(&dir).expect("test directory");
        fs::create_dir_all(&other).expect("test directory");
        let marker = owner_marker(&other);
        let (name, value) = marker.split_once('=').expect("NAME=value");
        let mut naming = Command::new("sh")
            .env(name, value)
            .arg("-c")
            .arg("sleep 30; :")
            .arg(dir.join("launcher.log"))
            .spawn()
            .expect("sh");
        let pid = naming.id();
        // Read once the shell runs (not while it is still being exec'd).
        let shown = dir.join("launcher.log").display().to_string();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline
            && !fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&shown))
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let ours = process_belongs_to(pid, &dir);
        let the_others = process_belongs_to(pid, &other);
        let _ = naming.kill();
        let _ = naming.wait();
        fs::remove_dir_all(&dir).ok();
        fs::remove_dir_all(&other).ok();
        assert!(!ours, "a command line naming the directory made it ours");
        assert!(the_others, "the other emulator's marker was not recognised");
    }

    /// The record `up` would write for a stand-in launcher `launcher_pid`.
    fn stand_in_state(dir: &std::path::Path, launcher_pid: u32) -> EmulatorState {
        EmulatorState {
            dir: dir.to_path_buf(),
            launcher_pid,
            endpoint_url: "http://127.0.0.1:1".to_owned(),
            region: "us-east-1".to_owned(),
            access_key_id: "testing".to_owned(),
            secret_access_key: "testing".to_owned(),
            database: DatabaseEndpoint {
                host: "127.0.0.1".to_owned(),
                port: 1,
                admin_user: "admin".to_owned(),
                admin_password: String::new(),
                pid: launcher_pid,
            },
            ca_file: dir.join("ca.pem"),
            launcher_log: dir.join("launcher.log"),
        }
    }

    /// `stand_in_state` written as the directory's state file, as `up` would.
    fn record_stand_in(dir: &std::path::Path, launcher_pid: u32) -> EmulatorState {
        let state = stand_in_state(dir, launcher_pid);
        fs::write(
            EmulatorState::state_file(dir),
            serde_json::to_string(&state).expect("json"),
        )
        .expect("state file");
        state
    }

    /// A launcher started before launchers were marked is not taken for a
    /// stranger: `down` says how to stop it and keeps its record.
    #[test]
    fn an_unmarked_launcher_of_the_directory_is_named_not_forgotten() {
        let dir = std::env::temp_dir().join(format!("xtask-unmarked-test-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("test directory");
        let mut launcher = Command::new("sh")
            .env_remove(OWNER_ENV)
            .arg("-c")
            .arg("sleep 30; :")
            .arg(dir.join("run"))
            .spawn()
            .expect("sh");
        // Until the child has exec'd `sh`, its command line is still this test's
        // (fork(2) copies it): wait for the launcher's own before asking.
        let cmdline = format!("/proc/{}/cmdline", launcher.id());
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10)
            && !fs::read(&cmdline).is_ok_and(|line| line.starts_with(b"sh\0"))
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        let state = record_stand_in(&dir, launcher.id());
        let running = state.is_running();
        let stopped = stop(&dir);
        let kept = EmulatorState::state_file(&dir).exists();
        let _ = launcher.kill();
        let _ = launcher.wait();
        fs::remove_dir_all(&dir).ok();
        let error = format!(
            "{:#}",
            stopped.expect_err("an unmarked launcher is an error")
        );
        assert!(
            error.contains(&format!("kill -- -{}", state.launcher_pid)),
            "{error}"
        );
        assert!(kept, "the record of a running emulator was removed");
        assert!(running, "`up` and `status` would take it for stopped");
    }

    /// `down` stops what the watchdog would: the whole process group the launcher
    /// leads, not a list the launcher keeps. A stand-in launcher (started as `up`
    /// starts it, in a group of its own) runs a child that no list records and that
    /// outlives it, naming the emulator's directory as the real ones do, and a
    /// `sleep` that names nothing of ours, as a function's bootstrap may run.
    #[test]
    fn stop_ends_every_process_of_the_launchers_group() {
        let dir = std::env::temp_dir().join(format!("xtask-stop-test-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("test directory");
        let mut launcher = Command::new("sh");
        let marker = owner_marker(&dir);
        let (name, value) = marker.split_once('=').expect("NAME=value");
        launcher.env(name, value).arg("-c").arg(format!(
            "env -u {OWNER_ENV} sleep 9876 & sh -c 'while :; do sleep 1; done' & wait"
        ));
        std::os::unix::process::CommandExt::process_group(&mut launcher, 0);
        let mut launcher = launcher.spawn().expect("sh");
        let launcher_pid = launcher.id();
        let deadline = Instant::now() + Duration::from_secs(10);
        let (child, bystander) = loop {
            let members = group_members(launcher_pid);
            let child = members
                .iter()
                .copied()
                .find(|pid| *pid != launcher_pid && process_belongs_to(*pid, &dir));
            let bystander = members.iter().copied().find(|pid| {
                fs::read(format!("/proc/{pid}/cmdline")).ok().as_deref() == Some(b"sleep\09876\0")
            });
            if let (Some(child), Some(bystander)) = (child, bystander) {
                break (child, bystander);
            }
            assert!(
                Instant::now() < deadline,
                "the stand-in's children did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(!process_belongs_to(bystander, &dir));
        record_stand_in(&dir, launcher_pid);
        let stopped = stop(&dir).expect("stop");
        let _ = launcher.wait();
        let alive = |pid: u32| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| live_process_group(&stat))
                == Some(launcher_pid)
        };
        let left: Vec<u32> = [child, bystander]
            .into_iter()
            .filter(|pid| alive(*pid))
            .collect();
        if !left.is_empty() {
            // Clean up what this test started before failing.
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(i32::try_from(launcher_pid).unwrap_or(i32::MAX)),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        fs::remove_dir_all(&dir).ok();
        assert!(
            left.is_empty(),
            "{left:?} of the launcher's group outlived `down`"
        );
        assert!(
            [child, bystander, launcher_pid]
                .iter()
                .all(|pid| stopped.contains(pid)),
            "{stopped:?}"
        );
    }

    /// An unmarked launcher that died while its group lives on (a child naming the
    /// state directory, as a MariaDB server's `--datadir` does) is named by `down`,
    /// its record kept, not forgotten as a stranger's.
    #[test]
    fn the_group_of_an_unmarked_launcher_that_died_is_named_not_forgotten() {
        let dir = std::env::temp_dir().join(format!("xtask-orphan-test-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("test directory");
        let datadir = format!("--datadir={}", dir.join("run").join("db").display());
        let mut launcher = Command::new("sh");
        launcher.env_remove(OWNER_ENV).arg("-c").arg(format!(
            "sh -c 'while :; do sleep 1; done' child {datadir} & exit 0"
        ));
        std::os::unix::process::CommandExt::process_group(&mut launcher, 0);
        let mut launcher = launcher.spawn().expect("sh");
        let launcher_pid = launcher.id();
        let _ = launcher.wait();
        let deadline = Instant::now() + Duration::from_secs(10);
        let child = loop {
            // The child is found once it has exec'd `sh` with its own arguments.
            if let Some(child) = group_members(launcher_pid)
                .into_iter()
                .find(|pid| names_state_dir(*pid, &dir))
            {
                break child;
            }
            assert!(
                Instant::now() < deadline,
                "the stand-in's child did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        record_stand_in(&dir, launcher_pid);
        let stopped = stop(&dir);
        let kept = EmulatorState::state_file(&dir).exists();
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid_i32(launcher_pid)),
            nix::sys::signal::Signal::SIGKILL,
        );
        fs::remove_dir_all(&dir).ok();
        let error = format!(
            "{:#}",
            stopped.expect_err("a live unmarked group is an error")
        );
        assert!(
            error.contains(&format!("kill -- -{launcher_pid}")),
            "{error}"
        );
        assert!(error.contains(&format!("pid {child}")), "{error}");
        assert!(kept, "the record of a running emulator's group was removed");
    }

    #[test]
    fn the_state_directory_is_named_whole_or_as_an_options_value_only() {
        let dir = std::env::temp_dir().join(format!("xtask-names-test-{}", std::process::id()));
        let run = dir.join("run").display().to_string();
        let cases = [
            (
                vec!["mariadbd".to_owned(), format!("--datadir={run}/db")],
                true,
            ),
            (vec!["python3".to_owned(), run.clone()], true),
            (vec!["tail".to_owned(), format!("{run}-old/log")], false),
            (vec!["tail".to_owned(), format!("{}", dir.display())], false),
            (vec!["sleep".to_owned(), "30".to_owned()], false),
        ];
        for (arguments, expected) in cases {
            let mut child = Command::new("sh")
                .arg("-c")
                .arg("sleep 30")
                .arg("stand-in")
                .args(&arguments)
                .spawn()
                .expect("sh");
            let pid = child.id();
            let deadline = Instant::now() + Duration::from_secs(10);
            // Until the child has exec'd `sh`, its command line is this test's.
            while fs::read(format!("/proc/{pid}/cmdline"))
                .map_or(true, |c| !c.windows(8).any(|w| w == b"stand-in"))
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            let named = names_state_dir(pid, &dir);
            let _ = child.kill();
            let _ = child.wait();
            assert_eq!(named, expected, "{arguments:?}");
        }
    }

    #[test]
    fn the_process_group_is_read_after_the_command_name_whatever_it_holds() {
        let cases = [
            ("4242 (mariadbd) S 4200 4200 4200 0 -1", Some(4200)),
            ("77 (a) b (c) S 1 76 76 0", Some(76)),
            ("9 (sh) R", None),
            ("5 (sh) Z 1 5 5 0", None), // a zombie: ended, in no group here
            ("garbage", None),
        ];
        for (stat, expected) in cases {
            assert_eq!(live_process_group(stat), expected, "{stat}");
        }
    }

    #[test]
    fn shell_quote_leaves_plain_values_and_quotes_the_rest() {
        let cases = [
            ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
            ("a b", "'a b'"),
            ("it's", r"'it'\''s'"),
            ("p$w", "'p$w'"),
        ];
        for (input, expected) in cases {
            assert_eq!(shell_quote(input), expected, "{input}");
        }
    }
}
