//! `cargo xtask build`: the rotation Lambda's `bootstrap.zip`.
//!
//! The `provided.al2023` runtime runs an executable named `bootstrap` from the root
//! of the zip, on glibc 2.34. A binary linked here (glibc 2.36) may silently need a
//! newer symbol and then fail only in AWS, at its first cold start; so the build
//! reads the binary's ELF header and its versioned glibc symbols (`objdump -T`) and
//! refuses to package one that would not start.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::paths;

/// The newest glibc the `provided.al2023` runtime has.
pub const MAX_GLIBC: (u32, u32) = (2, 34);

/// Options of `cargo xtask build`.
#[derive(Debug, Default, Clone)]
pub struct BuildOptions {
    /// Build for Graviton (aarch64) instead of x86-64.
    pub arm64: bool,
    /// Print cargo's output.
    pub verbose: bool,
}

/// What was built.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub binary: PathBuf,
    pub zip: PathBuf,
    pub zip_bytes: u64,
    pub binary_bytes: u64,
    pub newest_glibc: Option<(u32, u32)>,
}

/// The zip the tests and `deploy` use.
pub fn zip_path() -> PathBuf {
    paths::target_dir()
        .join("lambda")
        .join("rotator")
        .join("bootstrap.zip")
}

/// Builds `bootstrap` with the `lambda` profile (release, aborting on a panic), checks it, and writes the zip.
pub fn build_rotator(options: &BuildOptions) -> Result<Artifact> {
    let (target, machine) = if options.arm64 {
        ("aarch64-unknown-linux-gnu", ElfMachine::Aarch64)
    } else {
        ("x86_64-unknown-linux-gnu", ElfMachine::X86_64)
    };
    if options.arm64 {
        check_arm64_toolchain()?;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(&cargo);
    command.current_dir(paths::workspace_root()).args([
        "build",
        "--profile",
        "lambda",
        "--package",
        "rotator",
        "--bin",
        "bootstrap",
        "--target",
        target,
    ]);
    if options.arm64 {
        command.env(
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER",
            "aarch64-linux-gnu-gcc",
        );
    }
    // On a terminal cargo's own progress bar shows what a first build spends its
    // minutes on; elsewhere (CI logs) it stays quiet unless asked.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    if !options.verbose && !terminal {
        command.arg("--quiet");
    }
    eprintln!(
        "building bootstrap for {target} (profile lambda: release with LTO, one codegen unit, stripped, panic=abort; a first build takes minutes, later ones seconds)"
    );
    let status = command
        .status()
        .with_context(|| format!("running {cargo}"))?;
    if !status.success() {
        bail!("building the rotator failed (see cargo's output above)");
    }
    let binary = paths::target_dir()
        .join(target)
        .join("lambda")
        .join("bootstrap");
    let bytes = fs::read(&binary).with_context(|| format!("reading {}", binary.display()))?;
    let found = elf_machine(&bytes)
        .with_context(|| format!("{} is not an ELF executable", binary.display()))?;
    if found != machine {
        bail!(
            "{} is built for {found:?}, not {machine:?}; the function's architecture would not run it",
            binary.display()
        );
    }
    let newest_glibc = newest_glibc(&binary)?;
    if let Some(version) = newest_glibc
        && version > MAX_GLIBC
    {
        bail!(
            "{} needs GLIBC_{}.{}, but the provided.al2023 runtime has glibc {}.{}; build with cargo-zigbuild (`cargo zigbuild --target {target}.2.34`) or on an older system",
            binary.display(),
            version.0,
            version.1,
            MAX_GLIBC.0,
            MAX_GLIBC.1
        );
    }
    let zip = if options.arm64 {
        paths::target_dir()
            .join("lambda")
            .join("rotator-arm64")
            .join("bootstrap.zip")
    } else {
        zip_path()
    };
    write_zip(&zip, &bytes)?;
    let zip_bytes = fs::metadata(&zip)?.len();
    Ok(Artifact {
        binary,
        zip,
        zip_bytes,
        binary_bytes: bytes.len() as u64,
        newest_glibc,
    })
}

fn check_arm64_toolchain() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let linker = Command::new("aarch64-linux-gnu-gcc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed.contains("aarch64-unknown-linux-gnu") || !linker {
        bail!(
            "no aarch64 toolchain on this machine (Rust standard library for aarch64-unknown-linux-gnu: {}, linker aarch64-linux-gnu-gcc: {}); install them with `rustup target add aarch64-unknown-linux-gnu` and `sudo apt-get install -y gcc-aarch64-linux-gnu`, or build for x86-64 (without --arm64)",
            if installed.contains("aarch64-unknown-linux-gnu") {
                "present"
            } else {
                "missing"
            },
            if linker { "present" } else { "missing" }
        );
    }
    Ok(())
}

/// The architectures Lambda runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfMachine {
    X86_64,
    Aarch64,
    Other(u16),
}

/// Reads `e_machine` of a 64-bit little-endian ELF file.
pub fn elf_machine(bytes: &[u8]) -> Option<ElfMachine> {
    if bytes.len() < 20 || &bytes[..4] != b"\x7fELF" || bytes[4] != 2 || bytes[5] != 1 {
        return None;
    }
    Some(match u16::from_le_bytes([bytes[18], bytes[19]]) {
        0x3e => ElfMachine::X86_64,
        0xb7 => ElfMachine::Aarch64,
        other => ElfMachine::Other(other),
    })
}

/// The newest `GLIBC_x.y` version any dynamic symbol of `binary` needs.
pub fn newest_glibc(binary: &Path) -> Result<Option<(u32, u32)>> {
    let output = Command::new("objdump")
        .arg("-T")
        .arg(binary)
        .output()
        .context("running objdump (from binutils; install it with `sudo apt-get install -y binutils`) to check glibc symbol versions")?;
    if !output.status.success() {
        bail!(
            "objdump -T {} failed: {}",
            binary.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(glibc_versions(&String::from_utf8_lossy(&output.stdout))
        .into_iter()
        .max())
}

/// Every `GLIBC_x.y` in `objdump -T` output.
pub fn glibc_versions(objdump: &str) -> Vec<(u32, u32)> {
    objdump
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|version| {
            let mut parts = version.split('.');
            let major = parts.next()?.parse().ok()?;
            let minor = parts.next()?.parse().ok()?;
            Some((major, minor))
        })
        .collect()
}

/// The file name of a CA bundle packaged beside `bootstrap` (see [`with_ca_bundle`]).
pub const PACKAGED_CA_BUNDLE: &str = "ca-bundle.pem";

/// The function's zip with `pem` added as [`PACKAGED_CA_BUNDLE`]; the rotator finds it
/// through a relative `DB_CA_BUNDLE`, resolved against the package's directory.
pub fn with_ca_bundle(function_zip: &[u8], pem: &[u8]) -> Result<Vec<u8>> {
    if !String::from_utf8_lossy(pem).contains("-----BEGIN CERTIFICATE-----") {
        bail!(
            "the CA bundle is not a PEM file of certificates (no -----BEGIN CERTIFICATE----- line)"
        );
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(function_zip))
        .context("reading the function's zip")?;
    let mut binary = Vec::new();
    std::io::Read::read_to_end(
        &mut archive
            .by_name("bootstrap")
            .context("the function's zip has no `bootstrap`")?,
        &mut binary,
    )?;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut out);
    let executable = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    writer.start_file("bootstrap", executable)?;
    writer.write_all(&binary)?;
    writer.start_file(PACKAGED_CA_BUNDLE, executable.unix_permissions(0o644))?;
    writer.write_all(pem)?;
    writer.finish()?;
    Ok(out.into_inner())
}

/// Writes a zip with one entry `bootstrap`, mode 0755.
pub fn write_zip(path: &Path, binary: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    // A name of this process: two builds at once (a test and a demo, say) must not share it.
    let tmp = path.with_extension(format!("zip.{}.tmp", std::process::id()));
    let file = fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut writer = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    writer.start_file("bootstrap", options)?;
    writer.write_all(binary)?;
    writer.finish()?;
    fs::rename(&tmp, path)
        .with_context(|| format!("moving {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_versions_are_read_from_objdump_output() {
        let text = "0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.2.5) write\n\
                    0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.34) __libc_start_main\n\
                    0000000000000000      DF *UND*  0000000000000000  GLIBC_2.28  statx\n";
        let versions = glibc_versions(text);
        assert_eq!(versions, vec![(2, 2), (2, 34), (2, 28)]);
        assert_eq!(versions.into_iter().max(), Some((2, 34)));
        assert!((2, 35) > MAX_GLIBC && (2, 9) < MAX_GLIBC);
    }

    #[test]
    fn elf_machines_are_recognised() {
        let mut header = vec![0x7f, b'E', b'L', b'F', 2, 1];
        header.resize(20, 0);
        header[18] = 0x3e;
        assert_eq!(elf_machine(&header), Some(ElfMachine::X86_64));
        header[18] = 0xb7;
        assert_eq!(elf_machine(&header), Some(ElfMachine::Aarch64));
        assert_eq!(elf_machine(b"#!/bin/sh\n"), None);
    }

    #[test]
    fn a_ca_bundle_is_packaged_beside_bootstrap() {
        let dir = std::env::temp_dir().join(format!("xtask-zip-ca-{}", std::process::id()));
        let path = dir.join("bootstrap.zip");
        write_zip(&path, b"\x7fELF binary").unwrap();
        let zip = fs::read(&path).unwrap();
        let pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let packaged = with_ca_bundle(&zip, pem).unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(packaged)).unwrap();
        assert_eq!(
            archive
                .by_name("bootstrap")
                .unwrap()
                .unix_mode()
                .map(|m| m & 0o777),
            Some(0o755)
        );
        let mut text = String::new();
        std::io::Read::read_to_string(&mut archive.by_name(PACKAGED_CA_BUNDLE).unwrap(), &mut text)
            .unwrap();
        assert_eq!(text.as_bytes(), pem);
        assert!(with_ca_bundle(&zip, b"not a certificate").is_err());
        fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn the_zip_holds_one_executable_bootstrap() {
        let dir = std::env::temp_dir().join(format!("xtask-zip-{}", std::process::id()));
        let path = dir.join("bootstrap.zip");
        write_zip(&path, b"\x7fELF binary").unwrap();
        let mut archive = zip::ZipArchive::new(fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(archive.len(), 1);
        let entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name(), "bootstrap");
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
        drop(entry);
        fs::remove_dir_all(dir).ok();
    }
}
