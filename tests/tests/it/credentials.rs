//! The commands accept the profiles teams use: IAM Identity Center (SSO) and
//! `credential_process`. aws-config supports both only with its `sso` and
//! `credentials-process` features; without them the first call fails.
//!
//! Each case runs the `xtask` binary in a process of its own, with a config file
//! of its own (`AWS_CONFIG_FILE`) and `HOME` in a temporary directory, against the
//! emulator (`AWS_ENDPOINT_URL`).

use std::path::{Path, PathBuf};

use tests::{emulator, unique_name};

fn xtask_binary() -> Option<PathBuf> {
    let binary = xtask::paths::target_dir().join("debug").join("xtask");
    binary.is_file().then_some(binary)
}

fn scratch(name: &str) -> PathBuf {
    let dir = xtask::paths::target_dir()
        .join("credentials-tests")
        .join(format!("{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `xtask cleanup --dry-run` (read-only) with `profile` from `config` in `home`.
async fn run_with_profile(home: &Path, config: &Path, profile: &str) -> std::process::Output {
    let binary = xtask_binary().expect("the xtask binary");
    tokio::process::Command::new(binary)
        .args(["cleanup", "--dry-run", "--name", &unique_name("Cred")])
        .args(["--profile", profile, "--region", "us-east-1", "--state-dir"])
        .arg(home.join("state"))
        .env("AWS_CONFIG_FILE", config)
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("HOME", home)
        .env("AWS_ENDPOINT_URL", &emulator().endpoint_url)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run xtask")
}

#[tokio::test]
async fn a_credential_process_profile_is_used() {
    if xtask_binary().is_none() {
        eprintln!("skipped: the xtask binary is not built (any `cargo xtask ...` builds it)");
        return;
    }
    let home = scratch("process");
    let script = home.join("print-keys.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"testing\", \"SecretAccessKey\": \"testing\"}'\n",
    )
    .expect("script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let config = home.join("config");
    std::fs::write(
        &config,
        format!(
            "[profile process]\ncredential_process = {}\nregion = us-east-1\n",
            script.display()
        ),
    )
    .expect("config");
    let output = run_with_profile(&home, &config, "process").await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
}

#[tokio::test]
async fn an_sso_profile_is_understood_and_asks_for_a_login() {
    if xtask_binary().is_none() {
        eprintln!("skipped: the xtask binary is not built (any `cargo xtask ...` builds it)");
        return;
    }
    let home = scratch("sso");
    let config = home.join("config");
    std::fs::write(
        &config,
        "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Auditor\nregion = us-east-1\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n",
    )
    .expect("config");
    let output = run_with_profile(&home, &config, "sso").await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    // No SSO login has happened (no cached token): the SSO provider must be the one
    // that answers, asking for a login, not a "feature not enabled" refusal.
    assert!(!output.status.success(), "{stderr}");
    assert!(!stderr.contains("feature"), "{stderr}");
    assert!(
        stderr.to_ascii_lowercase().contains("sso") || stderr.contains("token"),
        "{stderr}"
    );
}
