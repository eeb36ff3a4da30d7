//! The rotation function: detached from the VPC, deleted, and waited for until
//! Lambda has removed its network interfaces.

use anyhow::{Result, anyhow, bail};

use super::deletion::{Deletion, Outcome, gone_or};
use crate::aws;

/// Deletes a function so that its VPC network interfaces go too.
///
/// Lambda removes a function's Hyperplane ENIs itself, minutes after the function
/// leaves the VPC, and needs the execution role to do it (Lambda developer guide,
/// "Giving Lambda functions access to resources in an Amazon VPC"; with the role
/// gone they stay: aws/serverless-application-model#1169). So: detach the function
/// from the VPC (an empty `VpcConfig`) and wait for the update, delete it, then wait
/// until no interface of it remains, and only then may its role be deleted (the
/// role comes after the function in [`super::Kind`]'s order).
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (clients, id) = (d.clients, d.resource.id.as_str());
    let lambda = &clients.lambda;
    let wait = d.wait;
    let in_vpc = match lambda
        .get_function_configuration()
        .function_name(id)
        .send()
        .await
    {
        Ok(out) => out.vpc_config().is_some_and(|v| !v.subnet_ids().is_empty()),
        Err(e) if aws::is_not_found(&e) => false,
        Err(e) => bail!(
            "lambda:GetFunctionConfiguration {id}: {}",
            aws::describe(&e)
        ),
    };
    if in_vpc && d.write("lambda:UpdateFunctionConfiguration VpcConfig={} (detach from the VPC)") {
        let detach = aws::retry_transient("lambda:UpdateFunctionConfiguration", wait, || {
            lambda
                .update_function_configuration()
                .function_name(id)
                .vpc_config(
                    aws_sdk_lambda::types::VpcConfig::builder()
                        .set_subnet_ids(Some(Vec::new()))
                        .set_security_group_ids(Some(Vec::new()))
                        .build(),
                )
                .send()
        })
        .await;
        match detach {
            Ok(_) => aws::wait_for_function(lambda, id).await?,
            Err(e) if e.to_string().contains("NotFound") => return Ok(Outcome::AlreadyGone),
            Err(e) => return Err(e),
        }
    }
    if !d.write("lambda:DeleteFunction") {
        return Ok(Outcome::WouldDelete);
    }
    let outcome = gone_or(
        lambda.delete_function().function_name(id).send().await,
        "lambda:DeleteFunction",
    )?;
    let ec2 = &clients.ec2;
    let prefix = format!("AWS Lambda VPC ENI-{id}");
    aws::wait_for(
        &format!("Lambda to remove the network interfaces of {id} (up to 20 minutes on AWS)"),
        wait,
        || {
            let prefix = prefix.clone();
            async move {
                let out = ec2
                    .describe_network_interfaces()
                    .filters(
                        aws_sdk_ec2::types::Filter::builder()
                            .name("description")
                            .values(format!("{prefix}*"))
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| anyhow!("ec2:DescribeNetworkInterfaces: {}", aws::describe(&e)))?;
                Ok(out
                    .network_interfaces()
                    .iter()
                    .all(|eni| !eni.description().unwrap_or("").starts_with(&prefix))
                    .then_some(()))
            }
        },
    )
    .await
    .map_err(|e| {
        e.context(format!(
            "the function {id} is deleted but Lambda has not yet removed its network interfaces; its role is kept so that Lambda can; rerun `cargo xtask cleanup` later"
        ))
    })?;
    Ok(outcome)
}
