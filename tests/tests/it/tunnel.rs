//! The SSH tunnel through the bastion, against a real OpenSSH server on this machine
//! standing in for the bastion, to the emulator's MariaDB behind it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::{Connection as _, MySqlConnection};
use xtask::tunnel::{Bastion, Tunnel};

/// A private `sshd` on a free port, with its own host key and one authorized client key.
struct Sshd {
    child: Child,
    port: u16,
    dir: PathBuf,
    host_key_line: String,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen (openssh-client)");
    assert!(status.success());
}

fn start_sshd(name: &str) -> Sshd {
    let sshd = ["/usr/sbin/sshd", "/usr/bin/sshd"].into_iter().find(|p| Path::new(p).exists()).unwrap_or_else(|| {
        panic!("sshd not found: the tunnel test needs the OpenSSH server as a stand-in bastion; install it with `sudo apt-get install -y openssh-server`")
    });
    let dir = xtask::paths::target_dir()
        .join("tunnel-test")
        .join(format!("{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::create_dir_all("/run/sshd").ok(); // sshd's privilege-separation directory
    keygen(&dir.join("host_key"));
    keygen(&dir.join("client_key"));
    std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys"))
        .expect("authorized_keys");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {dir}/host_key\nAuthorizedKeysFile {dir}/authorized_keys\nPidFile {dir}/sshd.pid\n\
         PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\nAllowTcpForwarding yes\n",
        dir = dir.display()
    );
    std::fs::write(dir.join("sshd_config"), config).expect("config");
    let child = Command::new(sshd)
        .arg("-D")
        .arg("-e")
        .arg("-f")
        .arg(dir.join("sshd_config"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sshd");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "sshd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let public = std::fs::read_to_string(dir.join("host_key.pub")).expect("host key");
    let mut parts = public.split_whitespace();
    let host_key_line = format!(
        "[127.0.0.1]:{port} {} {}",
        parts.next().expect("kind"),
        parts.next().expect("key")
    );
    Sshd {
        child,
        port,
        dir,
        host_key_line,
    }
}

fn bastion(sshd: &Sshd, pinned: Vec<String>) -> Bastion {
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "root".to_owned());
    Bastion {
        host: "127.0.0.1".to_owned(),
        port: sshd.port,
        user,
        key_file: sshd.dir.join("client_key"),
        known_hosts: sshd.dir.join("known_hosts"),
        pinned_keys: pinned,
        console: None,
    }
}

async fn login_through(tunnel: &Tunnel) -> Result<String, String> {
    let state = tests::emulator();
    let db = &state.database;
    let options = MySqlConnectOptions::new()
        .host("127.0.0.1")
        .port(tunnel.local_port)
        .username(&db.admin_user)
        .password(&db.admin_password)
        .ssl_mode(MySqlSslMode::VerifyCa)
        .ssl_ca(&state.ca_file);
    let mut connection = MySqlConnection::connect_with(&options)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query_scalar::<_, String>("SELECT CURRENT_USER()")
        .fetch_one(&mut connection)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_pinned_bastion_forwards_to_the_database() {
    let sshd = start_sshd("pinned");
    let bastion = bastion(&sshd, vec![sshd.host_key_line.clone()]);
    let db = &tests::emulator().database;
    let tunnel = Tunnel::open(&bastion, &db.host, db.port).expect("tunnel");
    assert_eq!(
        login_through(&tunnel).await,
        Ok(format!("{}@%", db.admin_user))
    );
    let port = tunnel.local_port;
    drop(tunnel);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the tunnel closes when dropped"
    );
}

#[tokio::test]
async fn a_bastion_with_another_host_key_is_refused() {
    let sshd = start_sshd("mismatch");
    let wrong = sshd
        .host_key_line
        .split(' ')
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
        + " AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    let bastion = bastion(&sshd, vec![wrong]);
    let db = &tests::emulator().database;
    let error = Tunnel::open(&bastion, &db.host, db.port)
        .expect_err("a wrong host key must be refused")
        .to_string();
    assert!(
        error.contains("Host key verification failed")
            || error.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unpinned_bastion_is_trusted_on_first_use_and_recorded() {
    let sshd = start_sshd("tofu");
    let bastion = bastion(&sshd, Vec::new());
    let db = &tests::emulator().database;
    let tunnel = Tunnel::open(&bastion, &db.host, db.port).expect("tunnel");
    assert!(login_through(&tunnel).await.is_ok());
    let recorded = std::fs::read_to_string(&bastion.known_hosts).expect("known_hosts written");
    let key = sshd.host_key_line.split(' ').nth(2).expect("key");
    assert!(
        recorded.contains(key),
        "the bastion's key is recorded for next time"
    );
}

/// EC2 posts an instance's console output a while after launch: the first
/// GetConsoleOutput (without `Latest`, which only Nitro instances support) has none,
/// and the bastion's host key is pinned from cloud-init's block once it appears.
#[tokio::test]
async fn host_keys_are_pinned_from_the_console_output_once_ec2_posts_it() {
    let config = tests::sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let launched = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .expect("run an instance");
    let instance = launched.instances()[0]
        .instance_id()
        .expect("instance id")
        .to_owned();
    let first = tests::eventually(|| ec2.get_console_output().instance_id(&instance).send())
        .await
        .expect("console output");
    assert_eq!(first.output(), None, "nothing is posted right after launch");

    let sshd = start_sshd("console");
    let mut unpinned = bastion(&sshd, Vec::new());
    unpinned.host = "203.0.113.7".to_owned();
    unpinned.console = Some(xtask::tunnel::Console {
        ec2: ec2.clone(),
        instance_id: instance.clone(),
    });
    let pinned = unpinned.with_console_keys().await;
    assert_eq!(pinned.pinned_keys.len(), 1, "{:?}", pinned.pinned_keys);
    assert!(
        pinned.pinned_keys[0].starts_with("203.0.113.7 ssh-ed25519 AAAA"),
        "{:?}",
        pinned.pinned_keys
    );
    ec2.terminate_instances()
        .instance_ids(&instance)
        .send()
        .await
        .expect("terminate");
}
