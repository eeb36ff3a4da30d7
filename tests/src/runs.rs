//! Options for a run of `cargo xtask provision`, `deploy` and `cleanup` in the
//! emulator the test uses: its CA, the built zip, and a state directory of the
//! process's own, shared by the test areas that call the xtask library (their run
//! names, from `unique_name`, keep their state files apart).

use std::path::PathBuf;
use std::time::Duration;

use xtask::cleanup::CleanupOptions;
use xtask::deploy::DeployOptions;
use xtask::names::Names;
use xtask::provision::ProvisionOptions;

use crate::emulator;

/// This process's state directory (state files and private keys).
pub fn state_dir() -> PathBuf {
    xtask::paths::target_dir()
        .join("xtask-tests")
        .join(std::process::id().to_string())
}

/// The emulator's database CA.
pub fn ca() -> Option<PathBuf> {
    Some(emulator().ca_file.clone()).filter(|p| p.is_file())
}

/// The rotator zip `cargo xtask build` made.
///
/// # Panics
/// When it has not been built.
pub fn zip() -> PathBuf {
    let path = xtask::build::zip_path();
    assert!(
        path.is_file(),
        "{} is missing; run `cargo xtask build` first (`cargo xtask test` does)",
        path.display()
    );
    path
}

pub fn provision_options(names: &Names) -> ProvisionOptions {
    ProvisionOptions {
        names: names.clone(),
        my_ip: "203.0.113.10/32".to_owned(),
        allow_wide_ssh: false,
        ami: None,
        db_ca_bundle: ca(),
        state_dir: state_dir(),
        verbose: false,
    }
}

pub fn deploy_options(names: &Names, dry_run: bool) -> DeployOptions {
    DeployOptions {
        names: names.clone(),
        zip: zip(),
        db_ca_bundle: ca(),
        dry_run,
        rotation_timeout: Duration::from_mins(1),
        verbose: false,
    }
}

pub fn cleanup_options(names: &Names, dry_run: bool) -> CleanupOptions {
    CleanupOptions {
        names: names.clone(),
        dry_run,
        yes: true,
        force_delete_secrets: true,
        state_dir: state_dir(),
        dependency_timeout: Duration::from_secs(20),
        verbose: false,
    }
}
