//! The rotation function: deploy's step (created in the private subnets with the
//! function's own group, or its code and configuration updated in place, waited for
//! until active), discovery, and its deletion: detached from the VPC, deleted, and
//! waited for until Lambda has removed its network interfaces (which Lambda needs
//! the role for, so the role goes after).

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, Environment, FunctionCode, Runtime, VpcConfig};

use super::context::{DeployOptions, Deployer, Foundation};
use super::deletion::{Deletion, Outcome, gone_or};
use super::kind::{Clients, Kind, Resource};
use super::spec::{Plan, Spec};
use crate::aws::{self, Calls};
use crate::names::Names;

/// This kind's declaration: what makes it, what it depends on, how it is found,
/// created, made ready and deleted (its row of the table, `TABLE`).
pub(crate) const SPEC: Spec = Spec {
    kind: Kind::Function,
    label: "Lambda function",
    depends_on: &[
        Kind::Role,
        Kind::LogGroup,
        Kind::Subnet,
        Kind::SecurityGroup,
        Kind::VpcEndpoint,
    ],
    plan: Plan {
        found_by: "lambda:GetFunctionConfiguration by name, kept only if lambda:ListTags says it is the run's",
        create: "lambda:CreateFunction (provided.al2023, in the private subnets), or UpdateFunctionCode/Configuration in place",
        ready: "State Active and LastUpdateStatus Successful",
        delete: "lambda:UpdateFunctionConfiguration with an empty VpcConfig, DeleteFunction, then wait until its network interfaces are gone",
    },
    discover: Some(|clients, names, found| Box::pin(discover(clients, names, found))),
    delete: |d| Box::pin(delete(d)),
    provision: None,
    deploy: Some(|d| Box::pin(d.function())),
};

/// Deletes a function so that its VPC network interfaces go too.
///
/// Lambda removes a function's Hyperplane ENIs itself, minutes after the function
/// leaves the VPC, and needs the execution role to do it (Lambda developer guide,
/// "Giving Lambda functions access to resources in an Amazon VPC"; with the role
/// gone they stay: aws/serverless-application-model#1169). So: detach the function
/// from the VPC (an empty `VpcConfig`) and wait for the update, delete it, then wait
/// until no interface of it remains, and only then may its role be deleted (the
/// role comes after the function in `Kind`'s order).
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

/// The function's settings, from the issue: 128 MB, 30 s.
pub(crate) const MEMORY_MB: i32 = 128;

pub(crate) const TIMEOUT_S: i32 = 30;

/// The function's code and configuration, as deploy creates or updates it.
pub(crate) struct FunctionSetup<'a> {
    zip: Vec<u8>,
    role_arn: &'a str,
    vpc: VpcConfig,
    environment: Environment,
}

impl<'a> FunctionSetup<'a> {
    pub(crate) fn new(
        options: &DeployOptions,
        zip: Vec<u8>,
        role_arn: &'a str,
        found: &Foundation,
        rotation_group: &str,
    ) -> Self {
        let mut environment = Environment::builder();
        if options.db_ca_bundle.is_some() {
            environment = environment.variables("DB_CA_BUNDLE", crate::build::PACKAGED_CA_BUNDLE);
        }
        let environment = environment.build();
        let vpc = VpcConfig::builder()
            .set_subnet_ids(Some(found.private_subnets.clone()))
            .security_group_ids(rotation_group)
            .build();
        Self {
            zip,
            role_arn,
            vpc,
            environment,
        }
    }
}

/// The function's ARN, if it exists.
async fn existing_function(
    lambda: &aws_sdk_lambda::Client,
    names: &Names,
) -> Result<Option<String>> {
    match lambda
        .get_function()
        .function_name(&names.function)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .configuration()
            .and_then(|c| c.function_arn())
            .map(str::to_owned)),
        Err(error) if aws::is_not_found(&error) => Ok(None),
        Err(error) => bail!(
            "lambda:GetFunction {}: {}",
            names.function,
            aws::describe(&error)
        ),
    }
}

/// Uploads the code and the configuration of an existing function again.
async fn update_function(
    lambda: &aws_sdk_lambda::Client,
    options: &DeployOptions,
    function: &FunctionSetup<'_>,
    calls: &mut Calls,
) -> Result<()> {
    let names = &options.names;
    let FunctionSetup {
        zip,
        role_arn,
        vpc,
        environment,
    } = function;
    if calls.write(format!(
        "lambda:UpdateFunctionCode {} ({} bytes from {})",
        names.function,
        zip.len(),
        options.zip.display()
    )) {
        aws::retry_transient(
            &format!("lambda:UpdateFunctionCode {}", names.function),
            Duration::from_mins(2),
            || {
                lambda
                    .update_function_code()
                    .function_name(&names.function)
                    .zip_file(Blob::new(zip.clone()))
                    .architectures(Architecture::X8664)
                    .send()
            },
        )
        .await?;
        aws::wait_for_function(lambda, &names.function).await?;
    }
    if calls.write(format!(
        "lambda:UpdateFunctionConfiguration {} (role, provided.al2023, {MEMORY_MB} MB, {TIMEOUT_S} s, VPC, DB_CA_BUNDLE)",
        names.function
    )) {
        aws::retry_transient(&format!("lambda:UpdateFunctionConfiguration {}", names.function), Duration::from_mins(2),
            || {
                lambda
                    .update_function_configuration()
                    .function_name(&names.function)
                    .role(*role_arn)
                    .runtime(Runtime::Providedal2023)
                    .handler("bootstrap")
                    .memory_size(MEMORY_MB)
                    .timeout(TIMEOUT_S)
                    .vpc_config(vpc.clone())
                    .environment(environment.clone())
                    .send()
            },
        )
        .await?;
        aws::wait_for_function(lambda, &names.function).await?;
    }
    Ok(())
}

/// Creates the function with the run's tags and waits until it is ready; its ARN.
pub(crate) async fn create_function(
    lambda: &aws_sdk_lambda::Client,
    names: &Names,
    function: &FunctionSetup<'_>,
) -> Result<String> {
    let mut request_tags = std::collections::HashMap::new();
    for (key, value) in names.tags() {
        request_tags.insert(key.to_owned(), value);
    }
    let created = aws::retry_transient(
        &format!("lambda:CreateFunction {}", names.function),
        Duration::from_mins(2),
        || {
            lambda
                .create_function()
                .function_name(&names.function)
                .description(format!(
                    "Alternating-users rotation of {} (cargo xtask deploy)",
                    names.secret
                ))
                .runtime(Runtime::Providedal2023)
                .handler("bootstrap")
                .architectures(Architecture::X8664)
                .role(function.role_arn)
                .memory_size(MEMORY_MB)
                .timeout(TIMEOUT_S)
                .vpc_config(function.vpc.clone())
                .environment(function.environment.clone())
                .set_tags(Some(request_tags.clone()))
                .code(
                    FunctionCode::builder()
                        .zip_file(Blob::new(function.zip.clone()))
                        .build(),
                )
                .send()
        },
    )
    .await?;
    aws::wait_for_function(lambda, &names.function).await?;
    Ok(created.function_arn().unwrap_or_default().to_owned())
}

impl Deployer<'_> {
    /// The function: created, or its code and configuration updated in place.
    pub(crate) async fn function(&mut self) -> Result<()> {
        let names = self.names;
        let function = FunctionSetup::new(
            self.options,
            std::mem::take(&mut self.zip),
            &self.role_arn,
            &self.found,
            &self.rotation_group,
        );
        self.function_arn = if let Some(arn) = existing_function(&self.lambda, names).await? {
            update_function(&self.lambda, self.options, &function, &mut self.calls).await?;
            self.note(&format!("function {} updated in place", names.function));
            arn
        } else if self.calls.write(format!(
            "lambda:CreateFunction {} (provided.al2023, x86_64, {MEMORY_MB} MB, {TIMEOUT_S} s, subnets {}, group {})",
            names.function,
            self.found.private_subnets.join(","),
            self.rotation_group
        )) {
            let arn = create_function(&self.lambda, names, &function).await?;
            self.note(&format!("function {} created", names.function));
            arn
        } else {
            self.caller
                .arn("lambda", &self.region, &format!("function:{}", names.function))
        };
        Ok(())
    }
}

/// The function, by name, kept only if `lambda:ListTags` says it is the run's (discovery).
pub(crate) async fn discover(
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
    match clients
        .lambda
        .get_function_configuration()
        .function_name(&names.function)
        .send()
        .await
    {
        Ok(out) => {
            // GetFunction returns tags only to a caller allowed lambda:ListTags, and
            // silently omits them otherwise; ListTags fails loudly instead.
            let arn = out.function_arn().unwrap_or(&names.function).to_owned();
            let tags = clients
                .lambda
                .list_tags()
                .resource(&arn)
                .send()
                .await
                .map_err(aws::failed("lambda:ListTags"))?;
            let tags = tags.tags().into_iter().flatten();
            if names.owns(tags.map(|(k, v)| (k.as_str(), v.as_str()))) {
                found.push(Resource::new(
                    Kind::Function,
                    &names.function,
                    &names.function,
                ));
            }
        }
        Err(e) if aws::is_not_found(&e) => {}
        Err(e) => return Err(aws::failed("lambda:GetFunctionConfiguration")(e)),
    }
    Ok(())
}
