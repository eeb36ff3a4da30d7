//! `cargo xtask test`: the one command CI and developers run.
//!
//! Formatting and lints first (cheap, and a failure there says the most), then the
//! Python environment of the emulator (so the emulators the integration tests
//! start at once do not race to install it), then every test of the workspace.

use std::process::{Command, ExitCode};

use anyhow::{Context as _, Result, bail};

use crate::emulator;
use crate::libtest::Totals;

/// Runs fmt, clippy and the tests; `extra` is passed on to `cargo test`.
pub fn run(extra: &[String]) -> Result<ExitCode> {
    crate::prerequisites::ensure(true)?;
    // `cargo fmt` finds a crate's files by their `mod` lines, and the resource kinds'
    // are written by a macro (the list of kinds, `resources/kind.rs`), which rustfmt
    // does not expand (rust-lang/rustfmt#3253): so their files are named to it.
    let kinds = resource_files()?;
    let mut fmt = vec!["fmt", "--all", "--check", "--"];
    fmt.extend(kinds.iter().map(String::as_str));
    cargo(
        &fmt,
        "formatting differs; run `cargo fmt --all -- xtask/src/resources/*.rs`",
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
    let python = emulator::ensure_virtualenv(&prerequisites.python)?;
    emulator_unit_tests(&python)?;
    let artifact = crate::build::build_rotator(&crate::build::BuildOptions::default())?;
    eprintln!("rotator zip: {}", artifact.zip.display());
    // Tests that run the `audit` command itself need its binary, current.
    cargo(
        &["build", "--package", "audit", "--bin", "audit"],
        "building the audit binary failed (see above)",
    )?;
    let mut args = vec!["test", "--workspace"];
    args.extend(extra.iter().map(String::as_str));
    let totals = cargo_test(&args)?;
    // One closing line for the whole run (cargo prints one per test target).
    println!(
        "{} passed, {} failed, {} skipped",
        totals.passed, totals.failed, totals.ignored
    );
    if !totals.success {
        bail!("`cargo {}`: tests failed (see above)", args.join(" "));
    }
    // No emulator behaviour is decorative: each fidelity test fails with its
    // behaviour off (a few minutes; not for a filtered run).
    if extra.is_empty() {
        crate::fidelity::check(&python, &[])?;
        // The audit's verdicts against behaviour: each mutation of the tutorial's
        // setup alone, audited and rotated (a few minutes).
        let results = crate::fuzz::check(&crate::fuzz::FuzzOptions::each())?;
        let against = results.iter().filter(|r| r.counts_against()).count();
        if against > 0 {
            bail!(
                "`cargo xtask fuzz audit --each`: {against} case(s) where the audit's verdict and the rotation disagree, or that could not run (see above; each prints the command that replays it)"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every file of `xtask/src/resources/`, for rustfmt to check: the kinds' `mod` lines
/// are made by a macro, which `cargo fmt` does not follow.
fn resource_files() -> Result<Vec<String>> {
    let dir = crate::paths::workspace_root().join("xtask/src/resources");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            files.push(path.display().to_string());
        }
    }
    files.sort();
    Ok(files)
}

/// The emulator's pure parts (reachability, policy evaluation) have Python unit tests
/// (`xtask/emulator/tests`), run with the emulator's own interpreter before the Rust
/// tests that depend on them.
fn emulator_unit_tests(python: &std::path::Path) -> Result<()> {
    let dir = crate::paths::workspace_root()
        .join("xtask")
        .join("emulator");
    let status = Command::new(python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(&dir)
        .status()
        .with_context(|| format!("running pytest with {}", python.display()))?;
    if !status.success() {
        bail!(
            "the emulator's unit tests failed (see above); rerun them with `{} -m pytest {}`",
            python.display(),
            dir.join("tests").display()
        );
    }
    Ok(())
}

/// Runs `cargo test`, passing its output through, and adds up the results.
fn cargo_test(args: &[&str]) -> Result<Totals> {
    use std::io::BufRead as _;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("$ cargo {}", args.join(" "));
    let mut child = Command::new(&cargo)
        .args(args)
        .current_dir(crate::paths::workspace_root())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("running {cargo}"))?;
    let mut totals = Totals::default();
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line?;
            println!("{line}");
            totals.add_line(&line);
        }
    }
    totals.success = child.wait()?.success();
    Ok(totals)
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
