//! The setup's settings: the rotation schedule and window, rotation turned off,
//! the function's placement and reserved concurrency, the database's public access.

use anyhow::Result;

use super::failed;
use crate::fuzz::Setup;

/// A new schedule, `window` its Duration (none when `None`), without rotating now.
pub(crate) async fn schedule(s: &Setup, expression: &str, window: Option<&str>) -> Result<String> {
    s.secrets
        .rotate_secret()
        .secret_id(&s.state.secret_arn)
        .rotation_rules(
            aws_sdk_secretsmanager::types::RotationRulesType::builder()
                .schedule_expression(expression)
                .set_duration(window.map(str::to_owned))
                .build(),
        )
        .rotate_immediately(false)
        .send()
        .await
        .map_err(failed("secretsmanager:RotateSecret"))?;
    Ok(match window {
        Some(window) => format!("rotation on {expression} within {window}"),
        None => format!("rotation on {expression}, no window"),
    })
}

/// Rotation turned off as the console's "Disable automatic rotation" does:
/// CancelRotateSecret, which keeps the function's ARN ("Turns off automatic
/// rotation", API reference, CancelRotateSecret).
pub(crate) async fn rotation_off(s: &Setup) -> Result<String> {
    s.secrets
        .cancel_rotate_secret()
        .secret_id(&s.state.secret_arn)
        .send()
        .await
        .map_err(failed("secretsmanager:CancelRotateSecret"))?;
    Ok(format!("secret {}: automatic rotation off", s.names.secret))
}

/// Reserved concurrency 0: Lambda throttles every invocation of the function
/// (Lambda developer guide, "Configuring reserved concurrency for a function").
pub(crate) async fn concurrency_zero(s: &Setup) -> Result<String> {
    s.lambda
        .put_function_concurrency()
        .function_name(&s.function)
        .reserved_concurrent_executions(0)
        .send()
        .await
        .map_err(failed("lambda:PutFunctionConcurrency"))?;
    Ok(format!("function {}: reserved concurrency 0", s.function))
}

pub(crate) async fn database_public(s: &Setup) -> Result<String> {
    s.rds
        .modify_db_instance()
        .db_instance_identifier(&s.state.db_instance)
        .publicly_accessible(true)
        .apply_immediately(true)
        .send()
        .await
        .map_err(failed("rds:ModifyDBInstance"))?;
    Ok(format!(
        "database {} publicly accessible",
        s.state.db_instance
    ))
}

pub(crate) async fn function_network(
    s: &Setup,
    subnets: Vec<String>,
    groups: Vec<String>,
) -> Result<String> {
    let text = if subnets.is_empty() {
        "outside any VPC".to_owned()
    } else {
        format!("in groups {}", groups.join(", "))
    };
    s.lambda
        .update_function_configuration()
        .function_name(&s.function)
        .vpc_config(
            aws_sdk_lambda::types::VpcConfig::builder()
                .set_subnet_ids(Some(subnets))
                .set_security_group_ids(Some(groups))
                .build(),
        )
        .send()
        .await
        .map_err(failed("lambda:UpdateFunctionConfiguration"))?;
    crate::aws::wait_for_function(&s.lambda, &s.function).await?;
    Ok(format!("function {} runs {text}", s.function))
}
