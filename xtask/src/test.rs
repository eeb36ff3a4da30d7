//! `cargo xtask test`: the one command CI and developers run.
//!
//! Formatting and lints first (cheap, and a failure there says the most), then the
//! Python environment of the emulator (so parallel test binaries do not race to
//! install it), then every test of the workspace.

use std::process::{Command, ExitCode};

use anyhow::{Context as _, Result, bail};

use crate::emulator;

/// Runs fmt, clippy and the tests; `extra` is passed on to `cargo test`.
pub fn run(extra: &[String]) -> Result<ExitCode> {
    cargo(
        &["fmt", "--all", "--check"],
        "formatting differs; run `cargo fmt --all`",
    )?;
    cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        "clippy found problems (see above)",
    )?;
    let prerequisites = emulator::Prerequisites::find()?;
    emulator::ensure_virtualenv(&prerequisites.python)?;
    let artifact = crate::build::build_rotator(&crate::build::BuildOptions::default())?;
    eprintln!("rotator zip: {}", artifact.zip.display());
    let mut args = vec!["test", "--workspace"];
    args.extend(extra.iter().map(String::as_str));
    cargo(&args, "tests failed (see above)")?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `cargo <args>` in the workspace root, failing with `failure` when it fails.
pub fn cargo(args: &[&str], failure: &str) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(crate::paths::workspace_root())
        .status()
        .with_context(|| format!("running {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}`: {failure}", args.join(" "));
    }
    Ok(())
}
