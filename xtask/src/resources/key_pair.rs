//! The bastion's key pair: provision's step (created when missing, its private key
//! written with mode 0600, since EC2 returns it only once), discovery and deletion.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};
use audit::sensitive::SensitiveString;
use aws_sdk_ec2::operation::describe_key_pairs::DescribeKeyPairsOutput;
use aws_sdk_ec2::types::{KeyType, ResourceType, Tag};

use super::context::Provisioner;
use super::deletion::{Deletion, Outcome};
use super::ec2::discover_ec2;
use super::kind::{Clients, Kind, Resource};
use super::spec::{Plan, Spec};
use crate::aws::{self, say};
use crate::names::Names;
use crate::tags::{filter, owns_ec2, tag_spec};

/// This kind's declaration: what makes it, what it depends on, how it is found,
/// created, made ready and deleted (its row of the table, `TABLE`).
pub(crate) const SPEC: Spec = Spec {
    kind: Kind::KeyPair,
    label: "key pair",
    depends_on: &[],
    plan: Plan {
        found_by: "ec2:DescribeKeyPairs by the run's tags",
        create: "ec2:CreateKeyPair (tagged); the private key written with mode 0600",
        ready: "",
        delete: "ec2:DeleteKeyPair",
    },
    discover: Some(|clients, names, found| Box::pin(discover(clients, names, found))),
    delete: |d| Box::pin(delete(d)),
    provision: Some(|p| Box::pin(p.key_pair())),
    deploy: None,
};

/// `ec2:DeleteKeyPair`, retried while AWS says a dependency is being released.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (ec2, id) = (&d.clients.ec2, d.resource.id.as_str());
    d.patiently("ec2:DeleteKeyPair", || {
        ec2.delete_key_pair().key_name(id).send()
    })
    .await
}

impl Provisioner<'_> {
    pub(crate) async fn key_pair(&mut self) -> Result<()> {
        let name = self.names.key_pair.clone();
        let key_file = self.names.key_file(&self.options.state_dir);
        let found = self
            .ec2
            .describe_key_pairs()
            .filters(filter("key-name", name.clone()))
            .send()
            .await
            .map_err(|e| anyhow!("ec2:DescribeKeyPairs: {}", aws::describe(&e)))?;
        if let Some(pair) = found.key_pairs().first() {
            if !owns_ec2(self.names, pair.tags()) {
                bail!(
                    "key pair {name} exists without the run's tags; delete it or choose another --name"
                );
            }
            if !key_file.is_file() && self.options.verbose {
                say(&format!(
                    "key pair {name}: its private key is not at {} (AWS shows it only once); SSH to the bastion needs that file",
                    key_file.display()
                ));
            }
            self.note("key pair", &name, false);
        } else {
            let created = self
                .ec2
                .create_key_pair()
                .key_name(&name)
                .key_type(KeyType::Rsa)
                .tag_specifications(tag_spec(self.names, ResourceType::KeyPair, &name))
                .send()
                .await
                .map_err(|e| anyhow!("ec2:CreateKeyPair {name}: {}", aws::describe(&e)))?;
            let material = SensitiveString::new(created.key_material().unwrap_or_default());
            write_private_key(&key_file, &material)?;
            self.note(
                "key pair",
                &format!("{name} (private key in {}, mode 0600)", key_file.display()),
                true,
            );
        }
        self.state.key_pair = name;
        self.state.key_file = key_file;
        Ok(())
    }
}

/// Writes the bastion's private key with mode 0600, replacing an old file.
fn write_private_key(path: &Path, material: &SensitiveString) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if path.exists() {
        fs::remove_file(path).with_context(|| format!("replacing {}", path.display()))?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating the private key file {}", path.display()))?;
    file.write_all(material.expose().as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The bastion's key pair by its tags (discovery).
pub(crate) async fn discover(
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
    let ec2 = &clients.ec2;
    let describe = |filters| ec2.describe_key_pairs().set_filters(filters).send();
    discover_ec2(names, found, "ec2:DescribeKeyPairs", describe, listed).await
}

/// Each key pair of a `DescribeKeyPairs` answer, with its tags, by its name.
fn listed(answer: &DescribeKeyPairsOutput) -> Vec<(&[Tag], Resource)> {
    let pairs = answer.key_pairs().iter();
    pairs
        .map(|pair| {
            let name = pair.key_name().unwrap_or_default();
            (pair.tags(), Resource::new(Kind::KeyPair, name, name))
        })
        .collect()
}
