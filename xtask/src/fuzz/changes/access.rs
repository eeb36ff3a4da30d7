//! Who may do what: the role's inline, managed and boundary policies, the secret's
//! resource policy, a customer managed key and its key policy, Secrets Manager's
//! permission to invoke the function, and the application user's grants.

use anyhow::{Context as _, Result};
use serde_json::{Value, json};

use super::failed;
use crate::fuzz::Setup;

pub(crate) async fn invoke_from_other_account(s: &Setup) -> Result<String> {
    remove_invoke_permission(s).await?;
    s.lambda
        .add_permission()
        .function_name(&s.function)
        .statement_id("SecretsManagerOtherAccount")
        .action("lambda:InvokeFunction")
        .principal("secretsmanager.amazonaws.com")
        .source_account("999999999999")
        .send()
        .await
        .map_err(failed("lambda:AddPermission"))?;
    Ok("invoke permission for Secrets Manager of account 999999999999 only".to_owned())
}

pub(crate) async fn delete_role_policy(s: &Setup) -> Result<String> {
    s.iam
        .delete_role_policy()
        .role_name(&s.names.role)
        .policy_name(&s.names.role_policy)
        .send()
        .await
        .map_err(failed("iam:DeleteRolePolicy"))?;
    Ok(format!(
        "role {}: inline policy {} deleted",
        s.names.role, s.names.role_policy
    ))
}

pub(crate) async fn role_policy_names_another_secret(s: &Setup) -> Result<String> {
    let other = format!("{}-other", s.state.secret_arn);
    let document = s
        .role_policy()
        .await?
        .to_string()
        .replace(&s.state.secret_arn, &other);
    s.iam
        .put_role_policy()
        .role_name(&s.names.role)
        .policy_name(&s.names.role_policy)
        .policy_document(document)
        .send()
        .await
        .map_err(failed("iam:PutRolePolicy"))?;
    Ok(format!(
        "role {}: its policy names {other} instead of the secret",
        s.names.role
    ))
}

pub(crate) async fn remove_invoke_permission(s: &Setup) -> Result<String> {
    s.lambda
        .remove_permission()
        .function_name(&s.function)
        .statement_id(crate::deploy::PERMISSION_ID)
        .send()
        .await
        .map_err(failed("lambda:RemovePermission"))?;
    Ok(format!(
        "function {}: Secrets Manager's invoke permission removed",
        s.function
    ))
}

pub(crate) async fn role_inline(s: &Setup, statement: Value) -> Result<String> {
    s.iam
        .put_role_policy()
        .role_name(&s.names.role)
        .policy_name("fuzz-extra")
        .policy_document(json!({"Version": "2012-10-17", "Statement": [statement]}).to_string())
        .send()
        .await
        .map_err(failed("iam:PutRolePolicy"))?;
    Ok(format!(
        "role {}: inline policy fuzz-extra {statement}",
        s.names.role
    ))
}

pub(crate) async fn boundary(s: &Setup) -> Result<String> {
    let document = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "NotAction": "secretsmanager:PutSecretValue", "Resource": "*"}
    ]});
    let arn = create_policy(s, "fuzz-boundary", &document).await?;
    s.iam
        .put_role_permissions_boundary()
        .role_name(&s.names.role)
        .permissions_boundary(&arn)
        .send()
        .await
        .map_err(failed("iam:PutRolePermissionsBoundary"))?;
    Ok(format!(
        "role {}: boundary {arn} allows all but secretsmanager:PutSecretValue",
        s.names.role
    ))
}

pub(crate) async fn secret_policy(s: &Setup, statement: Value) -> Result<String> {
    s.secrets
        .put_resource_policy()
        .secret_id(&s.state.secret_arn)
        .resource_policy(json!({"Version": "2012-10-17", "Statement": [statement]}).to_string())
        .send()
        .await
        .map_err(failed("secretsmanager:PutResourcePolicy"))?;
    Ok(format!("secret policy {statement}"))
}

/// A customer managed key whose policy lets only the operator use it (no
/// delegation to the account's IAM policies), the role allowed kms:Decrypt on it in
/// IAM, and the secret's current value stored anew under it. The key starts with
/// the default policy (which delegates), so that the operator may encrypt with it,
/// and is then narrowed.
pub(crate) async fn key_not_delegated(s: &Setup) -> Result<String> {
    let key = s
        .kms
        .create_key()
        .description(format!("{} fuzz key", s.names.run))
        .send()
        .await
        .map_err(failed("kms:CreateKey"))?;
    let key_arn = key
        .key_metadata()
        .map(|m| m.arn().unwrap_or(m.key_id()).to_owned())
        .context("CreateKey returned no key")?;
    let value = current_value(s).await?;
    s.secrets
        .update_secret()
        .secret_id(&s.state.secret_arn)
        .kms_key_id(&key_arn)
        .secret_string(value)
        .send()
        .await
        .map_err(failed(
            "secretsmanager:UpdateSecret (a new value under the key)",
        ))?;
    role_inline(s, json!({"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key_arn})).await?;
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "OperatorOnly", "Effect": "Allow", "Principal": {"AWS": s.caller_arn}, "Action": "kms:*", "Resource": "*"}
    ]});
    s.kms
        .put_key_policy()
        .key_id(&key_arn)
        // The only name a key policy has (KMS API reference, PutKeyPolicy).
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await
        .map_err(failed("kms:PutKeyPolicy"))?;
    Ok(format!(
        "secret encrypted with {key_arn}, whose policy names only {}; the role may kms:Decrypt it in IAM",
        s.caller_arn
    ))
}
/// A customer managed policy of the run's, named `<run>-<suffix>`, made from
/// `document`; its ARN. Cleanup keeps managed policies (they are not the run's to
/// delete), so it stays in the fuzz run's own emulator, thrown away with the run.
async fn create_policy(s: &Setup, suffix: &str, document: &Value) -> Result<String> {
    let created = s
        .iam
        .create_policy()
        .policy_name(format!("{}-{suffix}", s.names.run))
        .policy_document(document.to_string())
        .send()
        .await
        .map_err(failed("iam:CreatePolicy"))?;
    Ok(created
        .policy()
        .and_then(|p| p.arn())
        .context("CreatePolicy returned no ARN")?
        .to_owned())
}

/// A managed policy made from `document` and attached to the role. Cleanup
/// detaches it from the role before deleting the role.
async fn attach_new_policy(s: &Setup, suffix: &str, document: &Value) -> Result<String> {
    let arn = create_policy(s, suffix, document).await?;
    s.iam
        .attach_role_policy()
        .role_name(&s.names.role)
        .policy_arn(&arn)
        .send()
        .await
        .map_err(failed("iam:AttachRolePolicy"))?;
    Ok(arn)
}

/// A managed policy attached to the role that denies writing the secret.
pub(crate) async fn managed_deny(s: &Setup) -> Result<String> {
    let document = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "secretsmanager:PutSecretValue", "Resource": s.state.secret_arn}
    ]});
    let arn = attach_new_policy(s, "fuzz-deny", &document).await?;
    Ok(format!(
        "role {}: managed policy {arn} denies secretsmanager:PutSecretValue on the secret",
        s.names.role
    ))
}

/// The role's permissions moved from its inline policy into an attached managed
/// policy with the same document: the role may do exactly what it could.
pub(crate) async fn policy_as_managed(s: &Setup) -> Result<String> {
    let document = s.role_policy().await?;
    let arn = attach_new_policy(s, "fuzz-managed", &document).await?;
    delete_role_policy(s).await?;
    Ok(format!(
        "role {}: inline policy {} replaced by the managed policy {arn} with the same statements",
        s.names.role, s.names.role_policy
    ))
}

/// Secrets Manager may invoke the function only for another secret (`SourceArn`).
pub(crate) async fn invoke_for_other_secret(s: &Setup) -> Result<String> {
    let (prefix, _) = s
        .state
        .secret_arn
        .split_once(":secret:")
        .context("the secret's ARN has no :secret: part")?;
    let other = format!("{prefix}:secret:fuzz-other-secret-AbCdEf");
    remove_invoke_permission(s).await?;
    s.lambda
        .add_permission()
        .function_name(&s.function)
        .statement_id("SecretsManagerOtherSecret")
        .action("lambda:InvokeFunction")
        .principal("secretsmanager.amazonaws.com")
        .source_arn(&other)
        .send()
        .await
        .map_err(failed("lambda:AddPermission"))?;
    Ok(format!(
        "invoke permission for Secrets Manager on behalf of {other} only"
    ))
}

/// Which user of the alternating pair an operator changes.
#[derive(Clone, Copy)]
pub(crate) enum PairUser {
    /// The one the secret's AWSCURRENT value names (after the setup's first
    /// rotation, the clone).
    Current,
    /// The other one (`name` ↔ `name_clone`, as the rotator pairs them), which
    /// AWSPREVIOUS names: the next rotation's setSecret grants from it.
    Other,
}

/// A user of the pair given `privileges` on `*.*` by the instance's root (the
/// operator's way in, outside RDS's world): FILE, which RDS's master user never
/// holds and so cannot copy to the other user, or PROCESS, which it holds WITH
/// GRANT OPTION. The audit logs in as the current user and, with AWSPREVIOUS's
/// credentials, as the other one.
pub(crate) async fn appuser_granted(
    s: &Setup,
    privileges: &str,
    which: PairUser,
) -> Result<String> {
    let value: Value = serde_json::from_str(&current_value(s).await?)
        .context("the application secret's value is not JSON")?;
    let current = value["username"]
        .as_str()
        .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .context("the application secret names no plain username")?;
    let (name, role) = match which {
        PairUser::Current => (current.to_owned(), "the secret's current user"),
        PairUser::Other => (
            audit::collect::alternate_user(current),
            "the other user of the pair, in AWSPREVIOUS",
        ),
    };
    let mut root = crate::emulator::instance_root(&s.emulator_dir, &s.state.db_instance).await?;
    let user = format!("'{name}'@'%'");
    let statement = format!("GRANT {privileges} ON *.* TO {user}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.clone()))
        .execute(&mut root)
        .await
        .with_context(|| {
            format!(
                "database of RDS instance {} as root: {statement}",
                s.state.db_instance
            )
        })?;
    Ok(format!(
        "{user} ({role}) holds {privileges} ON *.* (granted by the instance's root)"
    ))
}

/// The application secret's AWSCURRENT value (never printed).
async fn current_value(s: &Setup) -> Result<String> {
    let current = s
        .secrets
        .get_secret_value()
        .secret_id(&s.state.secret_arn)
        .send()
        .await
        .map_err(failed("secretsmanager:GetSecretValue"))?;
    current
        .secret_string()
        .map(str::to_owned)
        .context("the secret has no string value")
}
