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
pub(crate) struct Behaviour {
    name: String,
    /// `<area>::<test function>`: the test's path in the one integration-test
    /// binary ([`TEST_BINARY`]), whose module `<area>` is `tests/tests/it/<area>.rs`.
    test: String,
    /// Text the failure must show with the behaviour off; empty: a panic in the
    /// test's own file.
    #[serde(default)]
    expect: String,
}

/// The one integration-test binary of the `tests` crate (`tests/tests/it/main.rs`).
const TEST_BINARY: &str = "it";

/// The registry, as `behaviours.py` prints it.
fn registry(python: &std::path::Path) -> Result<Vec<Behaviour>> {
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

/// `cargo xtask fidelity`: the check for every behaviour, or for those named in `only`.
pub fn run(only: &[String]) -> Result<ExitCode> {
    crate::prerequisites::ensure(true)?;
    let prerequisites = emulator::Prerequisites::find()?;
    let python = emulator::ensure_virtualenv(&prerequisites.python)?;
    crate::build::build_rotator(&crate::build::BuildOptions::default())?;
    check(&python, only)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs each behaviour's fidelity test with that behaviour off (the rotator's zip
/// must be built) and prints a table; fails when one still passes.
pub fn check(python: &std::path::Path, only: &[String]) -> Result<()> {
    let behaviours: Vec<Behaviour> = registry(python)?
        .into_iter()
        .filter(|b| only.is_empty() || only.contains(&b.name))
        .collect();
    if let Some(unknown) = only
        .iter()
        .find(|name| !behaviours.iter().any(|b| &&b.name == name))
    {
        bail!("no emulator behaviour is named {unknown}; see xtask/emulator/behaviours.py");
    }
    let mut rows = Vec::new();
    let mut decorative = Vec::new();
    for behaviour in &behaviours {
        let test = &behaviour.test;
        let (area, _) = test.split_once("::").with_context(|| {
            format!(
                "behaviour {}: test {test} is not <area>::<function>",
                behaviour.name
            )
        })?;
        eprintln!(
            "fidelity: {} off, running {}",
            behaviour.name, behaviour.test
        );
        let started = Instant::now();
        let mut command =
            Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
        command
            .args([
                "test",
                "-p",
                "tests",
                "--test",
                TEST_BINARY,
                "--",
                "--exact",
                test,
            ])
            .current_dir(paths::workspace_root())
            .stdin(Stdio::null());
        // Only this behaviour off: no other emulator setting of the caller's leaks in.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("EMULATOR_") {
                command.env_remove(name);
            }
        }
        let out = command
            .env("EMULATOR_OFF", &behaviour.name)
            .output()
            .context("running cargo test")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let verdict = judge(&stdout, area, &behaviour.expect).map_err(|why| {
            anyhow::anyhow!(
                "behaviour {}: `EMULATOR_OFF={} cargo test -p tests --test {TEST_BINARY} -- --exact {test}` {why}:\n{stdout}\n{}",
                behaviour.name,
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
            "with {} off, its fidelity test still passes: the test does not show the behaviour (or the switch does not turn it off); rerun one with `EMULATOR_OFF=<name> cargo test -p tests --test {TEST_BINARY} -- --exact <area>::<test>`",
            decorative.join(", ")
        );
    }
    Ok(())
}

/// How the one test ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Passed,
    Failed,
}

/// Reads libtest's output: exactly one test must have run. A failure counts only
/// where it shows the behaviour: `expect` in the output, or (without one) a panic
/// raised in the test's own file `tests/tests/it/<area>.rs` rather than in a shared
/// helper. A build failure, a name that matched nothing, or a failure elsewhere is an
/// error.
fn judge(stdout: &str, area: &str, expect: &str) -> Result<Verdict, String> {
    let mut totals = crate::libtest::Totals::default();
    stdout.lines().for_each(|line| totals.add_line(line));
    match (totals.passed, totals.failed) {
        (1, 0) => Ok(Verdict::Passed),
        (0, 1) if !expect.is_empty() && stdout.contains(expect) => Ok(Verdict::Failed),
        (0, 1) if !expect.is_empty() => Err(format!("failed without showing \"{expect}\"")),
        (0, 1) if stdout.contains(&format!("panicked at tests/tests/it/{area}.rs:")) => {
            Ok(Verdict::Failed)
        }
        (0, 1) => Err(format!(
            "failed, but not in tests/tests/it/{area}.rs (a shared helper or the harness): not evidence of the behaviour"
        )),
        _ => Err("did not run exactly one test (did it build?)".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::{Verdict, judge};

    #[test]
    fn only_a_failure_that_shows_the_behaviour_counts() {
        let ok = "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 40 filtered out";
        let failed = |at: &str| {
            format!(
                "thread 'x' panicked at {at}:10:5:\nassertion failed: must be refused\ntest result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 40 filtered out"
            )
        };
        let cases = [
            (ok.to_owned(), "", Ok(Verdict::Passed)),
            (failed("tests/tests/it/emulator.rs"), "", Ok(Verdict::Failed)),
            (failed("tests/tests/it/emulator.rs"), "must be refused", Ok(Verdict::Failed)),
            (
                failed("tests/tests/it/emulator.rs"),
                "other text",
                Err("failed without showing \"other text\"".to_owned()),
            ),
            (
                failed("tests/src/lib.rs"),
                "",
                Err("failed, but not in tests/tests/it/emulator.rs (a shared helper or the harness): not evidence of the behaviour".to_owned()),
            ),
            (
                "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 41 filtered out".to_owned(),
                "",
                Err("did not run exactly one test (did it build?)".to_owned()),
            ),
            (
                "error[E0425]: cannot find value".to_owned(),
                "",
                Err("did not run exactly one test (did it build?)".to_owned()),
            ),
        ];
        for (stdout, expect, expected) in cases {
            assert_eq!(judge(&stdout, "emulator", expect), expected, "{stdout}");
        }
    }
}
