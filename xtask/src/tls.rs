//! A throw-away certificate authority for the emulator's MariaDB servers.
//!
//! RDS servers present certificates that chain to Amazon's RDS CAs, which are not in
//! public trust stores; clients must be given a CA bundle. The emulator reproduces
//! that: every `up` makes a new CA and a server certificate for `localhost` and
//! `127.0.0.1`, so a client that verifies must be handed `ca.pem`. The CA's key stays
//! beside it (mode 0600) so that the launcher can give each DB instance a certificate
//! for its own address, as each RDS instance has one for its own endpoint.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// The files a TLS-enabled MariaDB server and its clients need.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca: PathBuf,
    /// The CA's private key: the launcher signs each DB instance's certificate with it.
    pub ca_key: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Generates a CA and a server certificate signed by it into `dir`.
pub fn write_authority(dir: &Path) -> Result<TlsFiles> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "rotation emulator CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let ca_key_pem = ca_key.serialize_pem();
    let issuer = Issuer::new(ca_params, ca_key);

    let mut server_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server_key = KeyPair::generate()?;
    let server_cert = server_params.signed_by(&server_key, &issuer)?;

    let files = TlsFiles {
        ca: dir.join("ca.pem"),
        ca_key: dir.join("ca-key.pem"),
        cert: dir.join("server-cert.pem"),
        key: dir.join("server-key.pem"),
    };
    fs::write(&files.ca, ca_cert.pem())?;
    write_private(&files.ca_key, &ca_key_pem)?;
    fs::write(&files.cert, server_cert.pem())?;
    write_private(&files.key, &server_key.serialize_pem())?;
    Ok(files)
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}
