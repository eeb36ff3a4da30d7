//! AWS's Python reference rotation function, prepared to run beside the rotator.
//!
//! `cargo xtask bench rotator --reference DIR` measures
//! `SecretsManagerRDSMySQLRotationMultiUser/lambda_function.py` from the user's
//! checkout of aws-samples/aws-secrets-manager-rotation-lambdas in the same run, against
//! the same emulator and MariaDB as the rotator. None of its code is kept in this
//! repository: the checkout is the user's, and the venv and the function's zip are
//! written under `target/bench/python-reference/`.
//!
//! How it runs, and why: the reference is deployed into the emulator's Lambda, so that
//! its rotations take exactly the rotator's path (RotateSecret → the emulator's Secrets
//! Manager → Lambda Invoke → a warm execution environment → the Runtime API). The
//! emulator's Lambda has no Python runtime image: it runs the `bootstrap` at the root of
//! any function's zip as a process (`xtask/emulator/lambda_runtime.py`, Docker-less).
//! So the reference's zip carries a `bootstrap` that execs the venv's Python on a small
//! Runtime API loop ([`RUNNER`]), which is what AWS's Python runtime does too (its
//! `bootstrap` runs the runtime interface client, `awslambdaric`, which imports the
//! handler and polls `/runtime/invocation/next`). Driving `lambda_handler` directly with
//! four hand-made events would skip Secrets Manager's own invocations, its stage checks
//! and the Lambda hop the rotator pays, and so flatter the reference; this way no
//! emulator change was needed.
//!
//! Two allowances, both so that the reference does what it does on Lambda: it trusts
//! the fixed path `/etc/pki/tls/cert.pem` (Amazon Linux's bundle, lambda_function.py
//! `connect_and_authenticate`), so the runner maps that path, inside its own process
//! and whether or not the host has the file (Debian lacks it; on Fedora, RHEL or
//! Amazon Linux it is the system's bundle, which never signed the emulator's server),
//! to the emulator's CA, the one the rotator is given as `DB_CA_BUNDLE`: both then use
//! verified TLS. And it reads `SECRETS_MANAGER_ENDPOINT`
//! (set by AWS's SAR template), here the emulator's endpoint.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

/// The function inside the checkout.
pub const FUNCTION_PATH: &str = "SecretsManagerRDSMySQLRotationMultiUser/lambda_function.py";

/// The Runtime API loop the reference's `bootstrap` runs. "Ready" is the first
/// `GET .../invocation/next`, after the import of the function (boto3, pymysql) and one
/// Secrets Manager client, the work the reference's first invocation cannot avoid.
const RUNNER: &str = r#"import http.client, importlib, json, logging, os, ssl, sys

_create = ssl.create_default_context
def _context(purpose=ssl.Purpose.SERVER_AUTH, *, cafile=None, capath=None, cadata=None):
    # Amazon Linux's bundle, which the reference names: always the emulator's CA here,
    # also where the host has one (Fedora, RHEL, Amazon Linux), which never signed the
    # emulator's server (see the bench's doc); the host's file is never touched.
    if cafile == "/etc/pki/tls/cert.pem":
        cafile = os.environ["REFERENCE_CA_FILE"]
    return _create(purpose, cafile=cafile, capath=capath, cadata=cadata)
ssl.create_default_context = _context

logging.basicConfig(stream=sys.stdout, format="[%(levelname)s]\t%(asctime)s\t%(message)s")
sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
module, name = os.environ["_HANDLER"].rsplit(".", 1)
handler = getattr(importlib.import_module(module), name)
import boto3
boto3.client("secretsmanager", endpoint_url=os.environ.get("SECRETS_MANAGER_ENDPOINT"))

host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
api = http.client.HTTPConnection(host, int(port))
base = "/2018-06-01/runtime/invocation/"
while True:
    api.request("GET", base + "next")
    response = api.getresponse()
    event = json.loads(response.read())
    request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
    try:
        path, body = request_id + "/response", json.dumps(handler(event, None))
    except Exception as error:
        logging.exception("handler failed")
        path, body = request_id + "/error", json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)})
    api.request("POST", base + path, body, {"Content-Type": "application/json"})
    api.getresponse().read()
"#;

/// The reference, ready to start or deploy.
#[derive(Debug)]
pub struct Reference {
    /// The venv's Python.
    pub python: PathBuf,
    /// The unpacked function: `lambda_function.py`, `runner.py`, `bootstrap`.
    pub code_dir: PathBuf,
    /// The same, zipped for the emulator's Lambda.
    pub zip: PathBuf,
    /// The Lambda runtime matching the venv's Python, e.g. `python3.11`.
    pub runtime: String,
    /// `boto3 X, PyMySQL Y, Python Z`: what was measured.
    pub versions: String,
}

impl Reference {
    /// The process a cold start measures: the runner, as the `bootstrap` starts it.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.python);
        command
            .arg(self.code_dir.join("runner.py"))
            .env_clear()
            .env("LAMBDA_TASK_ROOT", &self.code_dir)
            .env("_HANDLER", "lambda_function.lambda_handler")
            .env("SECRETS_MANAGER_ENDPOINT", "http://127.0.0.1:9");
        command
    }
}

/// Checks the checkout, installs pymysql and boto3 into a venv (once) and writes the
/// function's code and zip under `target/bench/python-reference/`.
pub fn prepare(checkout: &Path, python3: &Path) -> Result<Reference> {
    let function = checkout.join(FUNCTION_PATH);
    let source = fs::read(&function).with_context(|| {
        format!(
            "--reference {}: {FUNCTION_PATH} is not readable there; pass a checkout of \
             https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas",
            checkout.display()
        )
    })?;
    let root = crate::paths::target_dir()
        .join("bench")
        .join("python-reference");
    let python = ensure_venv(&root.join("venv"), python3)?;
    let code_dir = root.join("code");
    fs::create_dir_all(&code_dir)?;
    fs::write(code_dir.join("lambda_function.py"), &source)?;
    fs::write(code_dir.join("runner.py"), RUNNER)?;
    let python = std::path::absolute(&python)
        .with_context(|| format!("making {} absolute", python.display()))?;
    let bootstrap = format!(
        "#!/bin/sh\nexec {} \"$LAMBDA_TASK_ROOT/runner.py\"\n",
        shell_quote(&python.to_string_lossy())
    );
    let zip = root.join("function.zip");
    write_zip(
        &zip,
        &[
            ("bootstrap", bootstrap.as_bytes(), 0o755),
            ("lambda_function.py", source.as_slice(), 0o644),
            ("runner.py", RUNNER.as_bytes(), 0o644),
        ],
    )?;
    let probe = "import sys, boto3, pymysql; print(f'python{sys.version_info[0]}.{sys.version_info[1]}'); \
                 print(f'boto3 {boto3.__version__}, PyMySQL {pymysql.VERSION_STRING}, Python {sys.version.split()[0]}')";
    let output = Command::new(&python).args(["-c", probe]).output()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut lines = text.lines();
    let (Some(runtime), Some(versions)) = (lines.next(), lines.next()) else {
        bail!(
            "the reference's venv {} cannot import boto3 and pymysql: delete it and rerun",
            root.join("venv").display()
        );
    };
    Ok(Reference {
        python,
        code_dir,
        zip,
        runtime: runtime.to_owned(),
        versions: versions.to_owned(),
    })
}

/// The versions the README's figures were measured with: a venv installed with other
/// pins (an earlier bench) is installed again, so a run measures what it reports.
const PINS: [&str; 2] = ["boto3==1.44.18", "PyMySQL==1.2.4"];

/// `text` as one POSIX shell word: single-quoted, each `'` written as `'\''`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `venv/bin/python` with pymysql and boto3 ([`PINS`]) from PyPI, installed on first
/// use and again when the pins change.
fn ensure_venv(venv: &Path, python3: &Path) -> Result<PathBuf> {
    let python = venv.join("bin").join("python");
    let marker = venv.join("installed");
    let pins = format!("{}\n", PINS.join(" "));
    if python.exists() && fs::read_to_string(&marker).is_ok_and(|installed| installed == pins) {
        return Ok(python);
    }
    eprintln!(
        "bench: installing {} into {} (first use, or the pins changed)",
        PINS.join(" and "),
        venv.display()
    );
    crate::emulator::create_venv(python3, venv)?;
    // Compiled on install (pip's default), as Lambda's runtime ships boto3 compiled.
    let output = Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "-q"])
        .args(PINS)
        .output()
        .context("running pip")?;
    if !output.status.success() {
        bail!(
            "installing pymysql and boto3 for the reference failed (pip needs access to PyPI):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    fs::write(&marker, pins)?;
    Ok(python)
}

fn write_zip(path: &Path, entries: &[(&str, &[u8], u32)]) -> Result<()> {
    let file = fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut writer = zip::ZipWriter::new(file);
    for (name, bytes, mode) in entries {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(*mode);
        writer.start_file(*name, options)?;
        writer.write_all(bytes)?;
    }
    writer.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn a_path_is_one_shell_word_whatever_it_holds() {
        for (path, word) in [
            ("/srv/venv/bin/python", "'/srv/venv/bin/python'"),
            ("/home/a b/python", "'/home/a b/python'"),
            ("/tmp/it's/python", r"'/tmp/it'\''s/python'"),
            ("/tmp/$(id)`x`/python", "'/tmp/$(id)`x`/python'"),
        ] {
            assert_eq!(shell_quote(path), word);
            // The shell reads it back as the same single word.
            let echoed = std::process::Command::new("sh")
                .args(["-c", &format!("printf %s {word}")])
                .output()
                .expect("sh runs");
            assert_eq!(String::from_utf8_lossy(&echoed.stdout), path);
        }
    }
}
