//! One source of names, tags and defaults for provision, deploy, rotate, cleanup and
//! the audit.
//!
//! Every resource name is derived from the run's name (`--name`, default
//! `SecretsManagerTutorial`), so the default run creates exactly the tutorial's
//! names (`SecretsManagerTutorial-vpc`, `SecretsManagerTutorialInstance`,
//! `secretsmanagertutorial`, `SecretsManagerTutorialAppuser`) and tests create
//! their own side by side in one emulator. The project's tag comes from the audit's
//! policy module, so the audit's VPC discovery and cleanup agree by construction;
//! a second tag names the run, so that cleanup of one run never touches another.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

pub use audit::policy::{PROJECT_TAG_KEY, PROJECT_TAG_VALUE};

/// The run name of the tutorial itself.
pub const DEFAULT_NAME: &str = "SecretsManagerTutorial";
/// The key of the tag holding the run's name.
pub const RUN_TAG_KEY: &str = "ProjectRun";
/// The tutorial's rotation function name (the default run's).
pub const TUTORIAL_FUNCTION: &str = "tutorial-alternating-users-rotation";
/// The database user the application logs in as.
pub const APP_USER: &str = "appuser";
/// The database the application user may read.
pub const APP_DATABASE: &str = "tutorial";
/// The table `rotate` reads to prove the credentials can SELECT.
pub const APP_TABLE: &str = "rotation_check";
/// The RDS admin user name.
pub const ADMIN_USER: &str = "admin";
/// The rotation schedule and window the tutorial uses.
pub const SCHEDULE: &str = "rate(2 days)";
pub const WINDOW: &str = "2h";
/// A documentation address (RFC 5737) the demo admits SSH from.
pub const DEMO_MY_IP: &str = "203.0.113.10/32";
/// The VPC's address range and the subnets': two public, two private, in two zones.
pub const VPC_CIDR: &str = "10.0.0.0/16";
pub const PUBLIC_SUBNETS: [&str; 2] = ["10.0.0.0/24", "10.0.1.0/24"];
pub const PRIVATE_SUBNETS: [&str; 2] = ["10.0.2.0/24", "10.0.3.0/24"];
/// The tag on the run's IAM role naming the region it serves: IAM is global while
/// every other resource is regional, so the same `--name` in two regions would
/// otherwise share (and overwrite, and delete) one role.
pub const REGION_TAG_KEY: &str = "ProjectRegion";
/// The tag that says which role a subnet plays (`public`/`private`).
pub const TIER_TAG_KEY: &str = "Tier";

/// Every name of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub run: String,
    pub vpc: String,
    pub bastion: String,
    pub db_instance: String,
    pub db_subnet_group: String,
    pub db_parameter_group: String,
    /// The application secret's KMS key, by its alias.
    pub kms_alias: String,
    pub secret: String,
    pub key_pair: String,
    pub bastion_group: String,
    pub database_group: String,
    pub rotation_group: String,
    pub endpoint_group: String,
    pub function: String,
    pub role: String,
    pub role_policy: String,
}

impl Names {
    /// The names of run `run`: letters and digits, starting with a letter, at most 32.
    pub fn new(run: &str) -> Result<Self> {
        validate_run_name(run)?;
        let lower = run.to_ascii_lowercase();
        Ok(Self {
            run: run.to_owned(),
            vpc: format!("{run}-vpc"),
            bastion: format!("{run}Instance"),
            db_instance: lower.clone(),
            db_subnet_group: format!("{lower}-subnets"),
            db_parameter_group: format!("{lower}-tls"),
            kms_alias: format!("alias/{run}-secret"),
            secret: format!("{run}Appuser"),
            key_pair: format!("{run}KeyPair"),
            bastion_group: format!("{run}-bastion"),
            database_group: format!("{run}-database"),
            rotation_group: format!("{run}-rotation"),
            endpoint_group: format!("{run}-endpoints"),
            function: if run == DEFAULT_NAME {
                TUTORIAL_FUNCTION.to_owned()
            } else {
                format!("{lower}-alternating-users-rotation")
            },
            role: format!("{run}-rotation-role"),
            role_policy: format!("{run}-rotation-least-privilege"),
        })
    }

    /// The tags every resource of this run carries: the project's and the run's.
    pub fn tags(&self) -> [(&'static str, String); 2] {
        [
            (PROJECT_TAG_KEY, PROJECT_TAG_VALUE.to_owned()),
            (RUN_TAG_KEY, self.run.clone()),
        ]
    }

    /// Whether a resource's tags mark it as this run's (both tags present).
    pub fn owns<'a>(&self, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
        let mut project = false;
        let mut run = false;
        for (key, value) in tags {
            project |= key == PROJECT_TAG_KEY && value == PROJECT_TAG_VALUE;
            run |= key == RUN_TAG_KEY && value == self.run;
        }
        project && run
    }

    /// The region another deployment of this run uses the (global) IAM role in, when
    /// its region tag names one other than `region`; an untagged role (made before the
    /// tag existed) belongs to no other region.
    pub fn role_serves_other_region<'a>(
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
        region: &str,
    ) -> Option<String> {
        tags.into_iter()
            .find(|(key, _)| *key == REGION_TAG_KEY)
            .map(|(_, value)| value)
            .filter(|value| *value != region)
            .map(str::to_owned)
    }

    /// The audit's expectations for this run's names (tutorial values otherwise).
    pub fn audit_policy(&self) -> audit::Policy {
        audit::Policy {
            vpc_name: self.vpc.clone(),
            bastion_name: self.bastion.clone(),
            db_instance_id: self.db_instance.clone(),
            secret_ids: vec![self.secret.clone()],
            ..audit::Policy::default()
        }
    }

    /// The state file recording the ids of this run's resources.
    pub fn state_file(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.json", self.run))
    }

    /// The bastion key pair's private key (mode 0600).
    pub fn key_file(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.pem", self.key_pair))
    }
}

/// Where state files and the bastion's private key go by default: `target/xtask`.
pub fn default_state_dir() -> PathBuf {
    crate::paths::target_dir().join("xtask")
}

fn validate_run_name(run: &str) -> Result<()> {
    let mut chars = run.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !starts_with_letter || !run.chars().all(|c| c.is_ascii_alphanumeric()) || run.len() > 32 {
        bail!(
            "--name {run:?}: use 1-32 letters and digits starting with a letter (it becomes the RDS instance id, secret and group names), e.g. {DEFAULT_NAME}"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_run_has_the_tutorial_names_the_audit_expects() {
        let names = Names::new(DEFAULT_NAME).expect("default");
        let policy = audit::Policy::default();
        assert_eq!(names.vpc, policy.vpc_name);
        assert_eq!(names.bastion, policy.bastion_name);
        assert_eq!(names.db_instance, policy.db_instance_id);
        assert_eq!(vec![names.secret.clone()], policy.secret_ids);
        assert_eq!(names.function, TUTORIAL_FUNCTION);
        assert_eq!(names.audit_policy(), policy);
        let tag = policy.project_tag.expect("project tag");
        let [(key, value), _] = names.tags();
        assert_eq!(
            (tag.key.as_str(), tag.value.as_str()),
            (key, value.as_str())
        );
    }

    #[test]
    fn run_names_are_validated() {
        let cases = [
            ("SecretsManagerTutorial", true),
            ("Xtask123x4", true),
            ("a", true),
            ("", false),
            ("1abc", false),
            ("has-hyphen", false),
            ("has space", false),
            ("A23456789012345678901234567890123", false),
        ];
        for (name, ok) in cases {
            assert_eq!(Names::new(name).is_ok(), ok, "{name:?}");
        }
    }

    #[test]
    fn a_role_tagged_for_another_region_is_not_this_regions() {
        type Tags<'a> = &'a [(&'a str, &'a str)];
        let cases: [(Tags, Option<&str>); 4] = [
            (&[(REGION_TAG_KEY, "eu-west-1")], Some("eu-west-1")),
            (&[(REGION_TAG_KEY, "us-east-1")], None),
            (&[("Other", "eu-west-1")], None),
            (&[], None),
        ];
        for (tags, expected) in cases {
            assert_eq!(
                Names::role_serves_other_region(tags.iter().copied(), "us-east-1").as_deref(),
                expected,
                "{tags:?}"
            );
        }
    }

    #[test]
    fn ownership_needs_both_tags() {
        let names = Names::new("RunA").expect("names");
        let cases: [(&[(&str, &str)], bool); 5] = [
            (
                &[
                    ("Project", "SecretsManagerTutorial"),
                    ("ProjectRun", "RunA"),
                ],
                true,
            ),
            (
                &[
                    ("ProjectRun", "RunA"),
                    ("Project", "SecretsManagerTutorial"),
                    ("Name", "x"),
                ],
                true,
            ),
            (&[("Project", "SecretsManagerTutorial")], false),
            (
                &[
                    ("Project", "SecretsManagerTutorial"),
                    ("ProjectRun", "RunB"),
                ],
                false,
            ),
            (&[("Name", "RunA-vpc")], false),
        ];
        for (tags, expected) in cases {
            assert_eq!(names.owns(tags.iter().copied()), expected, "{tags:?}");
        }
    }
}
