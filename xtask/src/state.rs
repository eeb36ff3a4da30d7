//! The state file: the ids of a run's resources as provision recorded them, so
//! that rotate finds the bastion to tunnel through and deploy and rotate the CA
//! bundle provision was given. It holds ids only, never a secret value.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

/// The ids of a run's resources, as recorded in the state file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub run: String,
    pub vpc_id: String,
    pub public_subnets: Vec<String>,
    pub private_subnets: Vec<String>,
    pub internet_gateway: String,
    pub route_table: String,
    pub endpoint_group: String,
    pub bastion_group: String,
    pub database_group: String,
    pub endpoints: Vec<String>,
    pub key_pair: String,
    pub key_file: PathBuf,
    pub ami: String,
    pub bastion_instance: String,
    pub db_instance: String,
    pub db_subnet_group: String,
    pub db_host: String,
    pub db_port: u16,
    pub admin_secret_arn: String,
    pub secret_arn: String,
    /// The application secret's customer managed KMS key.
    #[serde(default)]
    pub kms_key_arn: String,
    /// The `--db-ca-bundle` provision was given (absolute), so deploy and rotate use
    /// the same one when they are not given one.
    #[serde(default)]
    pub db_ca_bundle: Option<PathBuf>,
}

impl State {
    /// Reads a run's state file, if provision wrote one.
    pub fn load(path: &Path) -> Result<Option<Self>> {
        match fs::read_to_string(path) {
            Ok(text) => Ok(Some(serde_json::from_str(&text).with_context(|| {
                format!("{} is not a state file of provision", path.display())
            })?)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// The bastion of this run, to tunnel through: its public address, the key
    /// provision wrote, and the host keys from its console output when EC2 has them.
    pub async fn bastion(
        &self,
        ec2: &aws_sdk_ec2::Client,
        state_dir: &Path,
    ) -> Option<crate::tunnel::Bastion> {
        if self.bastion_instance.is_empty() {
            return None;
        }
        let described = ec2
            .describe_instances()
            .instance_ids(&self.bastion_instance)
            .send()
            .await
            .ok()?;
        let host = described
            .reservations()
            .iter()
            .flat_map(aws_sdk_ec2::types::Reservation::instances)
            .find_map(|i| i.public_ip_address())?
            .to_owned();
        Some(crate::tunnel::Bastion {
            pinned_keys: Vec::new(),
            console: Some(crate::tunnel::Console {
                ec2: ec2.clone(),
                instance_id: self.bastion_instance.clone(),
            }),
            host,
            port: 22,
            user: "ec2-user".to_owned(),
            key_file: self.key_file.clone(),
            known_hosts: state_dir.join(format!("{}-known_hosts", self.run)),
        })
    }

    /// Writes the state file (ids only; no secret value is ever in it).
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(self)?;
        fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
    }
}
