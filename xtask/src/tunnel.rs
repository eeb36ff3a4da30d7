//! An SSH tunnel through the bastion to the private database.
//!
//! On AWS the database is private to the VPC; the tutorial reaches it from the
//! bastion. Commands that must log in to the database (provision's `appuser`,
//! rotate's proof) open a local port forward with the machine's OpenSSH client
//! (`ssh -N -L`), the same tool the tutorial uses, so keys, agents and proxies work as
//! users expect. The bastion's host key is pinned: taken from the instance's console
//! output when EC2 has it there (cloud-init prints the host keys at first boot), else
//! trusted on first use and recorded in a known-hosts file of the project's, with a
//! message that says so. The tunnel closes when dropped.

use std::fs;
use std::io::Read as _;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// How long the tunnel may take to open.
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);

/// How to reach the bastion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bastion {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The private key written by provision (mode 0600).
    pub key_file: PathBuf,
    /// The project's known-hosts file for the bastion.
    pub known_hosts: PathBuf,
    /// `known_hosts` lines from the console output; empty: trust on first use.
    pub pinned_keys: Vec<String>,
    /// The instance whose console output holds the host keys, read (and waited for)
    /// only when a tunnel is needed; `None` when `pinned_keys` is all there is.
    pub console: Option<Console>,
}

/// An instance's console output, the source of its host keys.
#[derive(Clone)]
pub struct Console {
    pub ec2: aws_sdk_ec2::Client,
    pub instance_id: String,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("instance_id", &self.instance_id)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Console {
    fn eq(&self, other: &Self) -> bool {
        self.instance_id == other.instance_id
    }
}

impl Eq for Console {}

/// How long to wait for cloud-init's host-key block in the console output. EC2 posts
/// the buffered output "shortly after an instance transition state" (GetConsoleOutput
/// API reference), which for a new instance can take minutes.
const HOST_KEY_WAIT: Duration = Duration::from_mins(5);

impl Bastion {
    /// The bastion with its host keys pinned from the console output when EC2 has
    /// them there. GetConsoleOutput is called without `Latest`, which only Nitro
    /// instances support, and retried until the block appears or [`HOST_KEY_WAIT`]
    /// passes; an error is said, not hidden. Without keys the tunnel trusts the key on
    /// first use and says so.
    pub async fn with_console_keys(&self) -> Self {
        let mut bastion = self.clone();
        let Some(console) = &self.console else {
            return bastion;
        };
        if !bastion.pinned_keys.is_empty() {
            return bastion;
        }
        let host = self.host.clone();
        let waited = crate::aws::wait_for(
            &format!("the host keys in {}'s console output", console.instance_id),
            HOST_KEY_WAIT,
            || async {
                let output = console
                    .ec2
                    .get_console_output()
                    .instance_id(&console.instance_id)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "ec2:GetConsoleOutput {}: {}",
                            console.instance_id,
                            crate::aws::describe(&e)
                        )
                    })?;
                let text = output
                    .output()
                    .and_then(|encoded| aws_smithy_types::base64::decode(encoded).ok())
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                    .unwrap_or_default();
                let keys = host_keys_from_console(&text, &host);
                Ok((!keys.is_empty()).then_some(keys))
            },
        )
        .await;
        match waited {
            Ok(keys) => bastion.pinned_keys = keys,
            Err(error) => eprintln!("ssh: no host keys from the console output: {error:#}"),
        }
        bastion
    }
}

/// `known_hosts` lines for `host` from EC2 console output (cloud-init's host key block).
pub fn host_keys_from_console(console: &str, host: &str) -> Vec<String> {
    let Some(start) = console.find("-----BEGIN SSH HOST KEY KEYS-----") else {
        return Vec::new();
    };
    let Some(end) = console[start..].find("-----END SSH HOST KEY KEYS-----") else {
        return Vec::new();
    };
    console[start..start + end]
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let (kind, key) = (parts.next()?, parts.next()?);
            (kind.starts_with("ssh-") || kind.starts_with("ecdsa-"))
                .then(|| format!("{host} {kind} {key}"))
        })
        .collect()
}

/// A running `ssh -N -L` and the local port it listens on.
#[derive(Debug)]
pub struct Tunnel {
    child: Child,
    pub local_port: u16,
}

impl Tunnel {
    /// Forwards a free local port to `target_host:target_port` through the bastion.
    pub fn open(bastion: &Bastion, target_host: &str, target_port: u16) -> Result<Self> {
        if !bastion.key_file.is_file() {
            bail!(
                "the bastion's private key {} is missing; it is written by `cargo xtask provision` when it creates the key pair",
                bastion.key_file.display()
            );
        }
        if let Some(dir) = bastion.known_hosts.parent() {
            fs::create_dir_all(dir)?;
        }
        let checking = if bastion.pinned_keys.is_empty() {
            eprintln!(
                "ssh: the bastion's host key could not be pinned from its console output; trusting it on first use (TOFU) and recording it in {}: check its fingerprint against the instance's console if this matters to you",
                bastion.known_hosts.display()
            );
            "accept-new"
        } else {
            fs::write(&bastion.known_hosts, bastion.pinned_keys.join("\n") + "\n")
                .with_context(|| format!("writing {}", bastion.known_hosts.display()))?;
            "yes"
        };
        let local_port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut child = Command::new("ssh")
            .arg("-N")
            .args(["-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-o", "ConnectTimeout=10"])
            .args(["-o", &format!("StrictHostKeyChecking={checking}")])
            .args(["-o", &format!("UserKnownHostsFile={}", bastion.known_hosts.display())])
            .args(["-o", "IdentitiesOnly=yes", "-i"])
            .arg(&bastion.key_file)
            .args(["-p", &bastion.port.to_string()])
            .args(["-L", &format!("127.0.0.1:{local_port}:{target_host}:{target_port}")])
            .arg(format!("{}@{}", bastion.user, bastion.host))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting ssh (the OpenSSH client; install it with `sudo apt-get install -y openssh-client`)")?;
        let deadline = Instant::now() + OPEN_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    pipe.read_to_string(&mut stderr).ok();
                }
                bail!(
                    "the SSH tunnel through the bastion {}@{}:{} closed ({status}): {}; check that the bastion's security group admits your address on port 22 (--my-ip) and that the instance is running",
                    bastion.user,
                    bastion.host,
                    bastion.port,
                    stderr.trim()
                );
            }
            if TcpStream::connect_timeout(
                &([127, 0, 0, 1], local_port).into(),
                Duration::from_millis(200),
            )
            .is_ok()
            {
                return Ok(Self { child, local_port });
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!(
                    "the SSH tunnel through {} did not open within {} s",
                    bastion.host,
                    OPEN_TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::host_keys_from_console;

    #[test]
    fn host_keys_are_read_from_cloud_init_output() {
        let console = "boot...\n-----BEGIN SSH HOST KEY KEYS-----\necdsa-sha2-nistp256 AAAAE2VjZHNh root@ip-10-0-0-5\nssh-ed25519 AAAAC3NzaC1l root@ip-10-0-0-5\n-----END SSH HOST KEY KEYS-----\nlogin:";
        assert_eq!(
            host_keys_from_console(console, "203.0.113.7"),
            vec![
                "203.0.113.7 ecdsa-sha2-nistp256 AAAAE2VjZHNh".to_owned(),
                "203.0.113.7 ssh-ed25519 AAAAC3NzaC1l".to_owned()
            ]
        );
        assert!(host_keys_from_console("no keys here", "h").is_empty());
        assert!(
            host_keys_from_console("-----BEGIN SSH HOST KEY KEYS-----\nssh-rsa AAA", "h")
                .is_empty()
        );
    }
}
