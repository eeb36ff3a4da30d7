//! The application's secret: provision's step (created under the run's KMS key with
//! `masterarn` naming the RDS-managed admin secret, appuser made in the database with
//! a random password; an earlier run's secret moved to the key), discovery (which
//! also finds the secret's rotation), and its deletion after a 7-day recovery window,
//! or at once with `--force-delete-secrets`.

use anyhow::{Result, anyhow, bail};
use audit::sensitive::SensitiveString;
use serde_json::json;

use super::context::Provisioner;
use super::deletion::{Deletion, Outcome, gone_or};
use super::kind::{Clients, Kind, Resource};
use super::spec::{Plan, Spec};
use crate::aws::{self, say};
use crate::database::{self, DbLogin};
use crate::names::{self, Names};
use crate::tags::secret_tags;

/// This kind's declaration: what makes it, what it depends on, how it is found,
/// created, made ready and deleted (its row of the table, `TABLE`).
pub(crate) const SPEC: Spec = Spec {
    kind: Kind::Secret,
    label: "secret",
    depends_on: &[Kind::DbInstance, Kind::KmsKey],
    plan: Plan {
        found_by: "secretsmanager:ListSecrets by tag, planned deletions included; secrets another service owns skipped",
        create: "secretsmanager:CreateSecret under the KMS key (masterarn = the RDS-managed admin secret); appuser made in the database; an earlier run's secret is moved to the key (UpdateSecret --kms-key-id)",
        ready: "",
        delete: "secretsmanager:DeleteSecret (7-day recovery window, or --force-delete-secrets)",
    },
    discover: Some(|clients, names, found| Box::pin(discover(clients, names, found))),
    delete: |d| Box::pin(delete(d)),
    provision: Some(|p| Box::pin(p.app_secret())),
    deploy: None,
};

/// The recovery window, in days: Secrets Manager's shortest (7 to 30; API
/// reference, DeleteSecret: RecoveryWindowInDays).
pub(crate) const DELETION_WINDOW_DAYS: i64 = 7;

/// `secretsmanager:DeleteSecret`, with a recovery window unless forced; a secret
/// already scheduled for deletion stays so unless forced.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (clients, resource) = (d.clients, d.resource);
    let id = resource.id.as_str();
    let force = d.force_delete_secrets;
    if resource.scheduled_for_deletion && !force {
        // DeleteSecret with a recovery window refuses a secret already scheduled.
        return Ok(Outcome::Scheduled);
    }
    let call = if force {
        "secretsmanager:DeleteSecret ForceDeleteWithoutRecovery".to_owned()
    } else {
        format!("secretsmanager:DeleteSecret RecoveryWindowInDays={DELETION_WINDOW_DAYS}")
    };
    if !d.write(&call) {
        return Ok(Outcome::WouldDelete);
    }
    let request = clients.secrets.delete_secret().secret_id(id);
    let request = if force {
        request.force_delete_without_recovery(true)
    } else {
        request.recovery_window_in_days(DELETION_WINDOW_DAYS)
    };
    gone_or(request.send().await, "secretsmanager:DeleteSecret").map(|o| {
        if o == Outcome::Deleted && !force {
            Outcome::Scheduled
        } else {
            o
        }
    })
}

impl Provisioner<'_> {
    /// Moves an earlier run's secret to the run's key: Secrets Manager re-encrypts
    /// its current versions under it (API reference, UpdateSecret: KmsKeyId).
    /// A secret already rotating keeps its rotation function, whose role may decrypt
    /// only under the key named when `deploy` wrote its policy: the user is told to
    /// rerun deploy.
    async fn use_kms_key(
        &self,
        name: &str,
        current: Option<&str>,
        rotation_function: Option<&str>,
    ) -> Result<()> {
        let key = &self.state.kms_key_arn;
        if current == Some(key.as_str()) {
            return Ok(());
        }
        self.secrets
            .update_secret()
            .secret_id(name)
            .kms_key_id(key)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "secretsmanager:UpdateSecret {name} --kms-key-id {key}: {}",
                    aws::describe(&e)
                )
            })?;
        say(&format!("secret {name}: now encrypted with {key}"));
        if let Some(function) = rotation_function {
            say(&format!(
                "secret {name}: its rotation function {function} cannot read it under the new key until the rotation role may use the key: rerun `cargo xtask deploy` before the next rotation"
            ));
        }
        Ok(())
    }

    pub(crate) async fn app_secret(&mut self) -> Result<()> {
        let name = self.names.secret.clone();
        match aws::describe_secret(&self.secrets, &name).await {
            Ok(secret) => {
                if !self.names.owns(
                    secret
                        .tags()
                        .iter()
                        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
                ) {
                    bail!(
                        "secret {name} exists without the run's tags; delete it or choose another --name"
                    );
                }
                if secret.deleted_date().is_some() {
                    bail!(
                        "secret {name} is scheduled for deletion (a cleanup without --force-delete-secrets); restore it with `aws secretsmanager restore-secret --secret-id {name}` or delete it for good with `cargo xtask cleanup --force-delete-secrets`, then rerun"
                    );
                }
                secret
                    .arn()
                    .unwrap_or_default()
                    .clone_into(&mut self.state.secret_arn);
                self.note("secret", &name, false);
                return self
                    .use_kms_key(&name, secret.kms_key_id(), secret.rotation_lambda_arn())
                    .await;
            }
            Err(error) if error.missing => {}
            Err(error) => return Err(error.into()),
        }
        let admin = self.admin_login().await?;
        let password = self.random_password().await?;
        let mut connection = database::connect(&admin).await?;
        let user = format!("'{}'@'%'", names::APP_USER);
        let statements = [
            format!("CREATE DATABASE IF NOT EXISTS `{}`", names::APP_DATABASE),
            format!(
                "CREATE TABLE IF NOT EXISTS `{}`.`{}` (id INT PRIMARY KEY, note VARCHAR(100))",
                names::APP_DATABASE,
                names::APP_TABLE
            ),
            format!(
                "INSERT IGNORE INTO `{}`.`{}` VALUES (1, 'readable with the rotated credentials')",
                names::APP_DATABASE,
                names::APP_TABLE
            ),
            format!(
                "CREATE USER IF NOT EXISTS {user} IDENTIFIED BY '{}' REQUIRE SSL",
                password.expose()
            ),
            format!(
                "ALTER USER {user} IDENTIFIED BY '{}' REQUIRE SSL",
                password.expose()
            ),
            format!("GRANT SELECT ON `{}`.* TO {user}", names::APP_DATABASE),
        ];
        for (index, statement) in statements.iter().enumerate() {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement.clone()))
                .execute(&mut *connection)
                .await
                .map_err(|e| {
                    // Statements 3 and 4 hold the password: name them, and show only the
                    // server's error code (its message may quote the statement).
                    let (shown, error) = if (3..=4).contains(&index) {
                        (
                            format!("the statement setting {user}'s password"),
                            e.as_database_error()
                                .and_then(|d| d.code().map(|c| format!("error {c}")))
                                .unwrap_or_else(|| "failed".to_owned()),
                        )
                    } else {
                        (statement.clone(), e.to_string())
                    };
                    anyhow!(
                        "database {}:{} as {}: {shown}: {error}",
                        admin.host,
                        admin.port,
                        admin.user
                    )
                })?;
        }
        let value = json!({
            "engine": "mysql",
            "host": self.state.db_host,
            "port": self.state.db_port,
            "username": names::APP_USER,
            "password": password.expose(),
            "dbname": names::APP_DATABASE,
            "masterarn": self.state.admin_secret_arn,
            "ssl": true,
        });
        let created = self
            .secrets
            .create_secret()
            .name(&name)
            .description(format!(
                "{} credentials for {}, rotated with alternating users",
                names::APP_USER,
                self.names.db_instance
            ))
            .secret_string(value.to_string())
            .kms_key_id(&self.state.kms_key_arn)
            .set_tags(Some(secret_tags(self.names)))
            .send()
            .await
            .map_err(|e| anyhow!("secretsmanager:CreateSecret {name}: {}", aws::describe(&e)))?;
        created
            .arn()
            .unwrap_or_default()
            .clone_into(&mut self.state.secret_arn);
        self.note(
            "secret",
            &format!(
                "{name} ({} with SELECT on {})",
                names::APP_USER,
                names::APP_DATABASE
            ),
            true,
        );
        Ok(())
    }

    async fn admin_login(&self) -> Result<DbLogin> {
        let arn = &self.state.admin_secret_arn;
        let value = self
            .secrets
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "secretsmanager:GetSecretValue {arn} (the RDS-managed admin secret): {}",
                    aws::describe(&e)
                )
            })?;
        let parsed: serde_json::Value =
            serde_json::from_str(value.secret_string().unwrap_or_default()).map_err(|_| {
                anyhow!("admin secret {arn}: the value is not JSON with username and password")
            })?;
        let field = |key: &str| {
            parsed[key]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("admin secret {arn}: key `{key}` is missing"))
        };
        Ok(DbLogin {
            host: self.state.db_host.clone(),
            port: self.state.db_port,
            user: field("username")?,
            password: SensitiveString::new(field("password")?),
            ca_bundle: self.options.db_ca_bundle.clone(),
            via: self.state.bastion(&self.ec2, &self.options.state_dir).await,
        })
    }

    async fn random_password(&self) -> Result<SensitiveString> {
        let out = self
            .secrets
            .get_random_password()
            .password_length(32)
            .exclude_characters("/@\"'\\`")
            .send()
            .await
            .map_err(|e| anyhow!("secretsmanager:GetRandomPassword: {}", aws::describe(&e)))?;
        let password = out.random_password().unwrap_or_default();
        if password.len() < 16 || password.contains(['\'', '\\']) {
            bail!(
                "secretsmanager:GetRandomPassword returned an unusable password (too short or with a quote); rerun"
            );
        }
        Ok(SensitiveString::new(password))
    }
}

/// The run's secrets, planned deletions included, and the rotation of each that has one (discovery; a rotation is found with its secret).
pub(crate) async fn discover(
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
    let mut token = None;
    loop {
        let page = clients
            .secrets
            .list_secrets()
            .filters(
                aws_sdk_secretsmanager::types::Filter::builder()
                    .key(aws_sdk_secretsmanager::types::FilterNameStringType::TagValue)
                    .values(&names.run)
                    .build(),
            )
            // Without it, ListSecrets hides secrets scheduled for deletion (ListSecrets API
            // reference), which `--force-delete-secrets` must still find.
            .include_planned_deletion(true)
            .set_next_token(token)
            .send()
            .await
            .map_err(aws::failed("secretsmanager:ListSecrets"))?;
        for secret in page.secret_list() {
            let tags = secret
                .tags()
                .iter()
                .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")));
            // A secret another service owns (the RDS-managed admin secret, which RDS tags
            // like its instance) is that service's to delete: RDS deletes it with the
            // instance, and Secrets Manager refuses DeleteSecret on it.
            if !names.owns(tags) || secret.owning_service().is_some() {
                continue;
            }
            let (Some(arn), Some(name)) = (secret.arn(), secret.name()) else {
                continue;
            };
            let scheduled = secret.deleted_date().is_some();
            if secret.rotation_enabled() == Some(true) && !scheduled {
                found.push(Resource::new(Kind::Rotation, arn, name));
            }
            let mut resource = Resource::new(Kind::Secret, arn, name);
            resource.scheduled_for_deletion = scheduled;
            found.push(resource);
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(())
}
