//! The four rotation steps, for alternating users and for a single user.
//!
//! Secrets Manager retries a failed rotation, and a Lambda can die between any two
//! calls, so every step first checks where the rotation stands and does only what
//! is missing. `setSecret` orders its work so that a crash anywhere leaves the
//! current credentials working and the pending credentials not yet usable: the clone
//! is created with the pending password (which createSecret made to meet the server's
//! password policy) but locked, given exactly the current user's privileges, and only
//! then unlocked (a server without `ACCOUNT LOCK`, MariaDB before 10.4.2, lets it log in
//! meanwhile, with no privileges); an existing clone gets the pending password last.
//! The current user is only
//! ever read, and an alternate user that already exists is written to only once it is
//! proven this secret's (module `ownership`). Every input is validated before the first write.
//!
//! One module per concern, each adding its own `impl Rotator` block: `event` (the
//! event and the step's context), `versions` (token checks, the secret's values),
//! `create`, `alternating` (with `hosts`, `admin_rights`, `copy`, `ownership`),
//! `single`, `test_secret`, `finish`, `admin` and `endpoint` (the admin's session
//! and where it logs in), `same_database` (whether the secret's host is the admin's database), `aws_errors` (what a failed AWS call means). Step modules
//! depend on `rotator` and `event`, never on this root, so there is no module cycle.

use serde_json::Value;

use crate::error::{Problem, RotationError};
use crate::settings::Strategy;
use event::Context;

mod admin;
mod admin_rights;
mod alternating;
mod aws_errors;
mod copy;
mod create;
mod endpoint;
mod event;
mod finish;
mod hosts;
mod ownership;
mod rotator;
mod same_database;
mod single;
mod test_secret;
mod versions;

pub use admin::admin_tls;
pub use create::{alternate_user, user_name_limit};
pub use event::{RotationEvent, Step};
pub use hosts::mirror_hosts;
pub use rotator::Rotator;

impl Rotator {
    /// Runs one step for an event as Secrets Manager sends it.
    pub async fn handle(&self, event: &Value) -> Result<(), RotationError> {
        self.handle_until(event, None).await
    }

    /// Runs one step, knowing when the invocation ends (Lambda's deadline): testSecret
    /// waits for a lagging read replica only within that time.
    pub async fn handle_until(
        &self,
        event: &Value,
        deadline: Option<std::time::SystemTime>,
    ) -> Result<(), RotationError> {
        let event = RotationEvent::parse(event)?;
        let cx = Context {
            event: &event,
            deadline,
        };
        if let Some(path) = self.ca_bundle()
            && !path.is_file()
        {
            return Err(cx.fail(Problem::Refused(format!("DB_CA_BUNDLE names {}, which is not a readable file; package the CA bundle with the function or fix the path", path.display()))));
        }
        let Some(described) = self.validate(&cx).await? else {
            tracing::info!(secret = %event.secret_id, step = event.step.as_str(), "version is already AWSCURRENT; nothing to do");
            return Ok(());
        };
        tracing::info!(secret = %event.secret_id, step = event.step.as_str(), strategy = ?self.settings.strategy, "step started");
        match event.step {
            Step::Create => self.create_secret(&cx).await,
            Step::Set => match self.settings.strategy {
                Strategy::AlternatingUsers => self.set_secret_alternating(&cx).await,
                Strategy::SingleUser => self.set_secret_single(&cx).await,
            },
            Step::Test => self.test_secret(&cx).await,
            Step::Finish => self.finish_secret(&cx, &described).await,
        }?;
        tracing::info!(secret = %event.secret_id, step = event.step.as_str(), "step finished");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    /// The `.rs` files under `directory`, as paths relative to it.
    fn walk(directory: &std::path::Path, prefix: &str, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(directory).unwrap() {
            let entry = entry.unwrap();
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &format!("{name}/"), found);
            } else if entry.path().extension().is_some_and(|e| e == "rs") {
                found.push(name);
            }
        }
    }

    /// Every action the step code names (in a literal, such as
    /// `"secretsmanager:GetSecretValue (AWSCURRENT)"`, or through a constant of
    /// `permissions`) is a row of `permissions::CALLS`, from which deploy's role
    /// policy and the audit's role check are built: a new call written here without
    /// its row fails this test.
    #[test]
    fn every_action_the_steps_name_is_in_the_permissions_table() {
        let modules = [
            ("admin.rs", include_str!("rotation/admin.rs")),
            ("admin_rights.rs", include_str!("rotation/admin_rights.rs")),
            ("alternating.rs", include_str!("rotation/alternating.rs")),
            ("aws_errors.rs", include_str!("rotation/aws_errors.rs")),
            ("copy.rs", include_str!("rotation/copy.rs")),
            (
                "copy/settings.rs",
                include_str!("rotation/copy/settings.rs"),
            ),
            (
                "copy/settings/tests.rs",
                include_str!("rotation/copy/settings/tests.rs"),
            ),
            ("create.rs", include_str!("rotation/create.rs")),
            ("endpoint.rs", include_str!("rotation/endpoint.rs")),
            ("event.rs", include_str!("rotation/event.rs")),
            ("finish.rs", include_str!("rotation/finish.rs")),
            ("hosts.rs", include_str!("rotation/hosts.rs")),
            ("ownership.rs", include_str!("rotation/ownership.rs")),
            (
                "ownership/login_proof.rs",
                include_str!("rotation/ownership/login_proof.rs"),
            ),
            (
                "ownership/proof.rs",
                include_str!("rotation/ownership/proof.rs"),
            ),
            (
                "ownership/proof/tests.rs",
                include_str!("rotation/ownership/proof/tests.rs"),
            ),
            (
                "ownership/stored.rs",
                include_str!("rotation/ownership/stored.rs"),
            ),
            ("rotator.rs", include_str!("rotation/rotator.rs")),
            (
                "same_database.rs",
                include_str!("rotation/same_database.rs"),
            ),
            ("single.rs", include_str!("rotation/single.rs")),
            ("test_secret.rs", include_str!("rotation/test_secret.rs")),
            (
                "test_secret/identity.rs",
                include_str!("rotation/test_secret/identity.rs"),
            ),
            (
                "test_secret/identity/tests.rs",
                include_str!("rotation/test_secret/identity/tests.rs"),
            ),
            ("versions.rs", include_str!("rotation/versions.rs")),
        ];
        // A module added under `rotation/` without its line here would go unchecked.
        let mut on_disk = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rotation"),
            "",
            &mut on_disk,
        );
        on_disk.sort();
        let listed: Vec<String> = modules.iter().map(|(name, _)| (*name).to_owned()).collect();
        assert_eq!(listed, on_disk, "list every module of rotation/ here");
        let sources = std::iter::once(include_str!("rotation.rs"))
            .chain(modules.iter().map(|(_, source)| *source))
            .collect::<Vec<_>>();
        let mut named: Vec<String> = Vec::new();
        // The step code only: the tests below name actions of their own.
        for source in sources
            .iter()
            .map(|s| s.split("#[cfg(test)]").next().unwrap_or(s))
        {
            for service in ["secretsmanager", "rds", "kms"] {
                for piece in source.split(&format!("\"{service}:")).skip(1) {
                    let name: String = piece
                        .chars()
                        .take_while(char::is_ascii_alphanumeric)
                        .collect();
                    if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                        named.push(format!("{service}:{name}"));
                    }
                }
            }
            for piece in source.split("permissions::").skip(1) {
                let constant: String = piece
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                    .collect();
                let action = match constant.as_str() {
                    "DESCRIBE_SECRET" => permissions::DESCRIBE_SECRET,
                    "GET_SECRET_VALUE" => permissions::GET_SECRET_VALUE,
                    "PUT_SECRET_VALUE" => permissions::PUT_SECRET_VALUE,
                    "UPDATE_SECRET_VERSION_STAGE" => permissions::UPDATE_SECRET_VERSION_STAGE,
                    "LIST_SECRET_VERSION_IDS" => permissions::LIST_SECRET_VERSION_IDS,
                    "GET_RANDOM_PASSWORD" => permissions::GET_RANDOM_PASSWORD,
                    "DESCRIBE_DB_INSTANCES" => permissions::DESCRIBE_DB_INSTANCES,
                    "DESCRIBE_DB_CLUSTERS" => permissions::DESCRIBE_DB_CLUSTERS,
                    _ => continue,
                };
                named.push(action.to_owned());
            }
        }
        for action in [
            "secretsmanager:GetSecretValue",
            "secretsmanager:GetRandomPassword",
            "rds:DescribeDBClusters",
            "secretsmanager:ListSecretVersionIds",
        ] {
            assert!(
                named.iter().any(|n| n == action),
                "{action} not found in {named:?}"
            );
        }
        for action in &named {
            assert!(
                permissions::has_action(action),
                "the rotator calls {action}, which permissions::CALLS lacks: add its row"
            );
        }
    }
}
