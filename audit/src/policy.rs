//! The expectations an audit measures against.
//!
//! Checks stay Rust code (they need real logic: port ranges, CIDR widths, grant
//! parsing), but every *value* they compare with lives here, with the tutorial's
//! values as defaults. An auditor whose organisation differs (another schedule, a
//! /28 for SSH, other resource names) writes a small TOML file with only the keys
//! that differ; everything else keeps its default. Unknown keys are refused, so a
//! typo cannot silently leave a default in force.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The tutorial's VPC `Name` tag.
pub const TUTORIAL_VPC_NAME: &str = "SecretsManagerTutorial-vpc";
/// The tutorial's bastion `Name` tag.
pub const TUTORIAL_BASTION_NAME: &str = "SecretsManagerTutorialInstance";
/// The tutorial's RDS instance identifier.
pub const TUTORIAL_DB_INSTANCE: &str = "secretsmanagertutorial";
/// The tutorial's application secret.
pub const TUTORIAL_SECRET: &str = "SecretsManagerTutorialAppuser";
/// The key of the tag every resource the project creates carries (`cargo xtask
/// provision` and `deploy` set it, `cleanup` deletes only what carries it).
pub const PROJECT_TAG_KEY: &str = "Project";
/// The value of the project's tag.
pub const PROJECT_TAG_VALUE: &str = "SecretsManagerTutorial";

/// What the audited setup is expected to look like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// `Name` tag of the VPC to audit when `--vpc-id` is not given.
    pub vpc_name: String,
    /// A tag `key=value` that marks the project's resources; used to choose
    /// between several VPCs that carry the same name.
    pub project_tag: Option<TagPolicy>,
    /// `Name` tag of the bastion instance inside the VPC.
    pub bastion_name: String,
    /// RDS instance identifier of the database.
    pub db_instance_id: String,
    /// Secrets to audit when neither `--secret-id` nor `--all-secrets` is given.
    pub secret_ids: Vec<String>,
    /// Rotation interval in days (`rate(N days)` or `AutomaticallyAfterDays` N).
    pub rotation_days: u32,
    /// Rotation window in hours (`Duration` `Nh`).
    pub rotation_window_hours: u32,
    /// Most days allowed since the last rotation; when absent, the schedule
    /// plus the window.
    pub max_days_since_rotation: Option<u32>,
    /// Most days between rotations of a secret another service rotates (the
    /// RDS-managed admin secret): its own schedule must be at most this, and its
    /// age is judged by the shorter of the two. RDS's default is 7 days (Amazon RDS
    /// User Guide, "Password management with Amazon RDS and AWS Secrets Manager").
    pub admin_max_rotation_days: u32,
    /// Fewest days the database's CA certificate must still be valid
    /// (`rds.ca-certificate.valid`).
    pub ca_certificate_min_days: u32,
    /// Services that need an interface endpoint in the VPC (`com.amazonaws.<region>.<service>`;
    /// in China some carry a `cn.` prefix, see `checks::endpoint_service`).
    pub required_endpoints: Vec<String>,
    /// Shortest IPv4 prefix allowed as an SSH source (32 = one address).
    pub ssh_min_prefix_v4: u8,
    /// Shortest IPv6 prefix allowed as an SSH source (128 = one address).
    pub ssh_min_prefix_v6: u8,
    /// The SSH port.
    pub ssh_port: u16,
    /// Most distinct sources (addresses, ranges, groups) one security group may
    /// admit SSH from ("my IP": 1).
    pub ssh_max_sources: usize,
    /// A public (non-RFC 1918) IPv4 range with a prefix shorter than this counts
    /// as the internet (Prowler's wide-open threshold: 24).
    pub public_min_prefix_v4: u8,
    /// The same for IPv6 outside `fc00::/7`.
    pub public_min_prefix_v6: u8,
    /// Fail an endpoint policy that lets `*` in without pinning this account
    /// (AWS's default full-access policy), as Prowler's trust-boundary check does.
    pub endpoint_policy_pin_account: bool,
    /// Log in to the database with weaker TLS than verified (`--insecure-db-tls`
    /// only; a policy file cannot set it): without it the application password is
    /// sent only over TLS whose certificate and host name are verified.
    #[serde(skip)]
    pub insecure_db_tls: bool,
}

/// A tag `key` = `value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagPolicy {
    pub key: String,
    pub value: String,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            vpc_name: TUTORIAL_VPC_NAME.to_owned(),
            project_tag: Some(TagPolicy {
                key: PROJECT_TAG_KEY.to_owned(),
                value: PROJECT_TAG_VALUE.to_owned(),
            }),
            bastion_name: TUTORIAL_BASTION_NAME.to_owned(),
            db_instance_id: TUTORIAL_DB_INSTANCE.to_owned(),
            secret_ids: vec![TUTORIAL_SECRET.to_owned()],
            rotation_days: 2,
            rotation_window_hours: 2,
            max_days_since_rotation: None,
            admin_max_rotation_days: 7,
            ca_certificate_min_days: 30,
            required_endpoints: vec!["secretsmanager".to_owned(), "rds".to_owned()],
            ssh_min_prefix_v4: 32,
            ssh_min_prefix_v6: 128,
            ssh_port: 22,
            ssh_max_sources: 1,
            public_min_prefix_v4: 24,
            public_min_prefix_v6: 48,
            endpoint_policy_pin_account: false,
            insecure_db_tls: false,
        }
    }
}

/// A policy file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy file {path}: {error}; check that the path exists and is readable")]
    Read { path: String, error: std::io::Error },
    #[error("policy file {path}: {error}")]
    Parse {
        path: String,
        error: toml::de::Error,
    },
    #[error("policy file {path}: {message}")]
    Invalid { path: String, message: String },
}

impl Policy {
    /// Reads a TOML policy; keys it does not set keep the tutorial's defaults.
    pub fn from_file(path: &Path) -> Result<Self, PolicyError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| PolicyError::Read {
            path: display.clone(),
            error,
        })?;
        Self::from_toml(&text).map_err(|error| match error {
            PolicyError::Parse { error, .. } => PolicyError::Parse {
                path: display,
                error,
            },
            PolicyError::Invalid { message, .. } => PolicyError::Invalid {
                path: display,
                message,
            },
            other @ PolicyError::Read { .. } => other,
        })
    }

    /// Parses a TOML policy text (see [`Policy::from_file`]).
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        let policy: Self = toml::from_str(text).map_err(|error| PolicyError::Parse {
            path: "<text>".to_owned(),
            error,
        })?;
        policy.validate().map_err(|message| PolicyError::Invalid {
            path: "<text>".to_owned(),
            message,
        })?;
        Ok(policy)
    }

    fn validate(&self) -> Result<(), String> {
        if self.rotation_days == 0 {
            return Err("rotation_days must be at least 1".to_owned());
        }
        if self.admin_max_rotation_days == 0 {
            return Err("admin_max_rotation_days must be at least 1".to_owned());
        }
        if !(1..=24).contains(&self.rotation_window_hours) {
            return Err(
                "rotation_window_hours must be within 1-24, as Secrets Manager allows".to_owned(),
            );
        }
        if self.ssh_min_prefix_v4 > 32 {
            return Err("ssh_min_prefix_v4 must be within 0-32".to_owned());
        }
        if self.ssh_min_prefix_v6 > 128 {
            return Err("ssh_min_prefix_v6 must be within 0-128".to_owned());
        }
        if !(1..=32).contains(&self.public_min_prefix_v4) {
            return Err("public_min_prefix_v4 must be within 1-32".to_owned());
        }
        if !(1..=128).contains(&self.public_min_prefix_v6) {
            return Err("public_min_prefix_v6 must be within 1-128".to_owned());
        }
        if self.ssh_max_sources == 0 {
            return Err("ssh_max_sources must be at least 1".to_owned());
        }
        Ok(())
    }

    /// Most hours allowed since the last rotation.
    pub fn max_hours_since_rotation(&self) -> i64 {
        match self.max_days_since_rotation {
            Some(days) => i64::from(days) * 24,
            None => i64::from(self.rotation_days) * 24 + i64::from(self.rotation_window_hours),
        }
    }

    /// The policy as TOML, for an auditor to start a file from.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_gives_the_tutorial_defaults() {
        assert_eq!(
            Policy::from_toml("").expect("empty policy"),
            Policy::default()
        );
    }

    #[test]
    fn a_file_overrides_only_what_it_sets() {
        let policy =
            Policy::from_toml("rotation_days = 7\nrequired_endpoints = [\"secretsmanager\"]\n")
                .expect("policy");
        assert_eq!(policy.rotation_days, 7);
        assert_eq!(policy.required_endpoints, vec!["secretsmanager".to_owned()]);
        assert_eq!(policy.vpc_name, TUTORIAL_VPC_NAME);
        assert_eq!(policy.max_hours_since_rotation(), 7 * 24 + 2);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(matches!(
            Policy::from_toml("rotation_dayz = 7"),
            Err(PolicyError::Parse { .. })
        ));
        assert!(matches!(
            Policy::from_toml("rotation_window_hours = 30"),
            Err(PolicyError::Invalid { .. })
        ));
        assert!(matches!(
            Policy::from_toml("ssh_min_prefix_v4 = 33"),
            Err(PolicyError::Invalid { .. })
        ));
    }

    #[test]
    fn defaults_round_trip_through_toml() {
        let text = Policy::default().to_toml();
        assert_eq!(
            Policy::from_toml(&text).expect("round trip"),
            Policy::default()
        );
    }
}
