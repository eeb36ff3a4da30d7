//! `cargo xtask fidelity`: no emulator behaviour is decorative.
//!
//! Each behaviour of the emulator (where AWS refuses, delays, retries or decides
//! reachability and moto does not) is listed, with its switch and its fidelity test,
//! in `xtask/emulator/behaviours.py`. This command runs each behaviour's test with
//! only that behaviour off (`EMULATOR_OFF=<name>`) and expects the test to fail:
//! a test that still passes does not show its behaviour, and the command fails,
//! naming it. The tests themselves run with every behaviour on in `cargo xtask test`.

use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

use crate::{emulator, paths};

/// One behaviour of the registry.
#[derive(Debug, Clone, Deserialize)]
pub struct Behaviour {
    pub name: String,
    pub summary: String,
    /// `<test binary>::<test function>`.
    pub test: String,
}

/// The registry, as `behaviours.py` prints it.
pub fn registry(python: &std::path::Path) -> Result<Vec<Behaviour>> {
    let script = paths::workspace_root()
        .join("xtask")
        .join("emulator")
        .join("behaviours.py");
    let out = Command::new(python)
        .arg(&script)
        .output()
        .with_context(|| format!("running {} {}", python.display(), script.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("{} printed no registry", script.display()))
}

/// Runs the check for every behaviour, or for those named in `only`.
pub fn run(only: &[String]) -> Result<ExitCode> {
    crate::prerequisites::ensure(true)?;
    let prerequisites = emulator::Prerequisites::find()?;
    let python = emulator::ensure_virtualenv(&prerequisites.python)?;
    let behaviours: Vec<Behaviour> = registry(&python)?
        .into_iter()
        .filter(|b| only.is_empty() || only.contains(&b.name))
        .collect();
    if let Some(unknown) = only
        .iter()
        .find(|name| !behaviours.iter().any(|b| &&b.name == name))
    {
        bail!("no emulator behaviour is named {unknown}; see xtask/emulator/behaviours.py");
    }
    crate::build::build_rotator(&crate::build::BuildOptions::default())?;
    let mut rows = Vec::new();
    let mut decorative = Vec::new();
    for behaviour in &behaviours {
        let (binary, test) = behaviour.test.split_once("::").with_context(|| {
            format!(
                "behaviour {}: test {} is not <binary>::<function>",
                behaviour.name, behaviour.test
            )
        })?;
        eprintln!(
            "fidelity: {} off, running {}",
            behaviour.name, behaviour.test
        );
        let started = Instant::now();
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
            .args([
                "test", "-p", "tests", "--test", binary, "--", "--exact", test,
            ])
            .env("EMULATOR_OFF", &behaviour.name)
            .current_dir(paths::workspace_root())
            .stdin(Stdio::null())
            .output()
            .context("running cargo test")?;
        let verdict = judge(&String::from_utf8_lossy(&out.stdout)).map_err(|why| {
            anyhow::anyhow!(
                "behaviour {}: `cargo test -p tests --test {binary} -- --exact {test}` {why}:\n{}",
                behaviour.name,
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        if verdict == Verdict::Passed {
            decorative.push(behaviour.name.clone());
        }
        let verdict = match verdict {
            Verdict::Passed => "PASSED: the test does not show it",
            Verdict::Failed => "failed, as it must",
        };
        rows.push(format!(
            "{:<24} {:>6.1}s  {verdict}  ({})",
            behaviour.name,
            started.elapsed().as_secs_f64(),
            behaviour.test
        ));
    }
    println!("{:<24} {:>7}  with the behaviour off", "behaviour", "time");
    for row in rows {
        println!("{row}");
    }
    if !decorative.is_empty() {
        bail!(
            "with {} off, its fidelity test still passes: the test does not show the behaviour (or the switch does not turn it off); rerun one with `EMULATOR_OFF=<name> cargo test -p tests --test <binary> -- --exact <test>`",
            decorative.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// How the one test ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed,
}

/// Reads libtest's summary: exactly one test must have run, and its outcome counts;
/// a build failure, or a name that matched nothing, is an error, not a verdict.
pub fn judge(stdout: &str) -> Result<Verdict, &'static str> {
    let summary = stdout
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("test result: "))
        .ok_or("printed no test result (did it build?)")?;
    let count = |kind: &str| {
        summary.split(';').find_map(|part| {
            let part = part.trim();
            let part = part.split_once(". ").map_or(part, |(_, rest)| rest);
            part.strip_suffix(kind)?.trim().parse::<u32>().ok()
        })
    };
    match (count("passed"), count("failed")) {
        (Some(1), Some(0)) => Ok(Verdict::Passed),
        (Some(0), Some(1)) => Ok(Verdict::Failed),
        _ => Err("did not run exactly one test"),
    }
}

#[cfg(test)]
mod tests {
    use super::{Verdict, judge};

    #[test]
    fn only_one_test_run_gives_a_verdict() {
        let cases = [
            (
                "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 40 filtered out; finished in 2.1s",
                Ok(Verdict::Passed),
            ),
            (
                "test x ... FAILED\ntest result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 40 filtered out",
                Ok(Verdict::Failed),
            ),
            (
                "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 41 filtered out",
                Err("did not run exactly one test"),
            ),
            (
                "error[E0425]: cannot find value",
                Err("printed no test result (did it build?)"),
            ),
        ];
        for (stdout, expected) in cases {
            assert_eq!(judge(stdout), expected, "{stdout}");
        }
    }
}
