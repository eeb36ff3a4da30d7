//! The system packages `cargo xtask demo` and `cargo xtask test` need, checked in
//! their first second rather than after minutes of building.
//!
//! The list lives in `.ci/prerequisites`, which `.ci/run` reads too, so CI, the demo
//! and the tests agree on it. What is missing is installed the way `.ci/run` does
//! (`apt-get install`) when that can happen without a prompt (running as root, or
//! passwordless `sudo`); otherwise the command stops at once and prints the one
//! command to run.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

use crate::paths;

/// One line of `.ci/prerequisites`: a Debian package and how to tell it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prerequisite {
    pub package: String,
    pub check: Check,
    /// Only the tests need it (a third field `tests`): the demo does not install it.
    pub tests_only: bool,
}

/// How a package's presence is seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// One of these programs (names on PATH, or absolute paths).
    Any(Vec<String>),
    /// Every one of these programs.
    All(Vec<String>),
    /// python3 imports these modules.
    Python(Vec<String>),
}

/// Parses the list; a line it cannot read is an error naming the line.
pub fn parse(text: &str) -> Result<Vec<Prerequisite>> {
    let mut out = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(package), Some(check), purpose, None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            bail!(
                ".ci/prerequisites line {}: expected `package check [tests]`: {line}",
                number + 1
            );
        };
        let tests_only = match purpose {
            None => false,
            Some("tests") => true,
            Some(other) => bail!(
                ".ci/prerequisites line {}: unknown third field `{other}` (only `tests`)",
                number + 1
            ),
        };
        let split = |list: &str, sep: char| list.split(sep).map(str::to_owned).collect();
        let check = if let Some(list) = check.strip_prefix("any:") {
            Check::Any(split(list, '|'))
        } else if let Some(list) = check.strip_prefix("all:") {
            Check::All(split(list, '|'))
        } else if let Some(list) = check.strip_prefix("python:") {
            Check::Python(split(list, ','))
        } else {
            bail!(
                ".ci/prerequisites line {}: unknown check `{check}` (any:, all: or python:)",
                number + 1
            );
        };
        out.push(Prerequisite {
            package: package.to_owned(),
            check,
            tests_only,
        });
    }
    Ok(out)
}

fn program_present(name: &str) -> bool {
    if name.starts_with('/') {
        return Path::new(name).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
        || Path::new("/usr/sbin").join(name).is_file()
}

fn present(check: &Check) -> bool {
    match check {
        Check::Any(programs) => programs.iter().any(|p| program_present(p)),
        Check::All(programs) => programs.iter().all(|p| program_present(p)),
        Check::Python(modules) => Command::new("python3")
            .args(["-c", &format!("import {}", modules.join(", "))])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success()),
    }
}

/// The packages of the list that are missing here (those only the tests need, too,
/// when `for_tests`).
pub fn missing(for_tests: bool) -> Result<Vec<String>> {
    let path = paths::workspace_root().join(".ci").join("prerequisites");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(parse(&text)?
        .into_iter()
        .filter(|p| (for_tests || !p.tests_only) && !present(&p.check))
        .map(|p| p.package)
        .collect())
}

/// Checks the list (with the tests' own packages when `for_tests`) and installs what
/// is missing when it can do so unattended; otherwise fails at once with the command.
pub fn ensure(for_tests: bool) -> Result<()> {
    let missing = missing(for_tests)?;
    if missing.is_empty() {
        return Ok(());
    }
    let install = format!(
        "apt-get update && apt-get install -y --no-install-recommends {}",
        missing.join(" ")
    );
    // The owner of /proc/self is the process's effective user.
    let root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self")?) == 0;
    let sudo = !root
        && Command::new("sudo")
            .args(["-n", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !root && !sudo {
        bail!(
            "missing system packages: {}; install them with:\n  sudo sh -c '{install}'",
            missing.join(", ")
        );
    }
    eprintln!("installing missing system packages: {}", missing.join(" "));
    let mut command = if root {
        Command::new("sh")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", "sh"]);
        sudo
    };
    let status = command
        .args(["-c", &install])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get")?;
    if !status.success() {
        bail!(
            "installing {} failed ({status}); install them yourself:\n  sudo sh -c '{install}'",
            missing.join(" ")
        );
    }
    let still = self::missing(for_tests)?;
    if !still.is_empty() {
        bail!(
            "still missing after apt-get: {}; install them and rerun",
            still.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_parses_and_bad_lines_are_named() {
        let parsed = parse(
            "# comment\n\nbinutils any:objdump\nssh all:ssh|ssh-keygen\npy python:venv,ensurepip\nchromium any:chromium tests\n",
        )
        .expect("parses");
        assert_eq!(
            parsed,
            vec![
                Prerequisite {
                    package: "binutils".into(),
                    check: Check::Any(vec!["objdump".into()]),
                    tests_only: false,
                },
                Prerequisite {
                    package: "ssh".into(),
                    check: Check::All(vec!["ssh".into(), "ssh-keygen".into()]),
                    tests_only: false,
                },
                Prerequisite {
                    package: "py".into(),
                    check: Check::Python(vec!["venv".into(), "ensurepip".into()]),
                    tests_only: false,
                },
                Prerequisite {
                    package: "chromium".into(),
                    check: Check::Any(vec!["chromium".into()]),
                    tests_only: true,
                },
            ]
        );
        for bad in [
            "only-a-package",
            "pkg exists:x",
            "pkg any:x extra",
            "pkg any:x tests more",
        ] {
            let error = parse(bad).expect_err(bad).to_string();
            assert!(error.contains("line 1"), "{error}");
        }
    }

    #[test]
    fn the_projects_own_list_parses() {
        let text =
            std::fs::read_to_string(paths::workspace_root().join(".ci").join("prerequisites"))
                .expect("the list");
        assert!(parse(&text).expect("parses").len() >= 5);
    }
}
