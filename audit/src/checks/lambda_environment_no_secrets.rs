//! `lambda.environment.no-secrets`: no secret-looking value in the rotation
//! function's environment variables.
//!
//! Anyone with `lambda:GetFunctionConfiguration` reads a function's environment in
//! clear text, so a password there bypasses Secrets Manager, its rotation and its
//! audit trail (AWS Lambda Developer Guide, "Securing Lambda environment
//! variables": "we recommend that you don't store sensitive information such as
//! passwords ... in environment variables; use AWS Secrets Manager instead").
//! A variable whose name says it holds a secret (`PASSWORD`, `SECRET`, `TOKEN`,
//! ...) fails when its value is not a reference (an ARN, a `{{resolve:...}}`
//! dynamic reference, a path); a name ending in `_ARN`, `_ID`, `_NAME`, `_PATH` or
//! `_FILE` says it holds where the secret is, not the secret. The collector keeps
//! only each value's shape, never the value, so no report can print it.
//!
//! Prowler's `awslambda_function_no_secrets_in_variables` scans the values with
//! detect-secrets instead; a value is never read here, so a secret under an
//! innocent name (`DB_CONFIG`) passes: a limit the message does not hide.

use super::context::Context;
use crate::finding::{CheckDefinition, Finding, Severity};
use crate::inventory::{EnvironmentVariable, ValueShape};

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "lambda.environment.no-secrets",
    title: "Rotation function keeps no secret in its environment variables",
    severity: Severity::High,
    resource_type: "AwsLambdaFunction",
    remediation: "Store the value in Secrets Manager and put its ARN in the variable instead (the function reads it with secretsmanager:GetSecretValue); remove the variable: aws lambda update-function-configuration --function-name <name> --environment Variables={...}; then rotate the exposed credential",
    compliance: &["Prowler:awslambda_function_no_secrets_in_variables"],
    references: &[
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html",
    ],
};

/// Words in a variable's name that say it holds a secret.
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
];

/// Name endings that say it holds a password: `MYSQL_PWD` is the MySQL client's
/// own password variable (MySQL manual, "Environment Variables"); `DB_PASS` is
/// common. Endings only, so that `PASSENGER` or `COMPASS` are not read as secrets.
const SECRET_ENDINGS: &[&str] = &["_PWD", "_PASS"];

/// Name endings that say the variable holds where a secret is, not the secret.
const REFERENCE_SUFFIXES: &[&str] = &["_ARN", "_ID", "_NAME", "_PATH", "_FILE"];

/// The names of the variables that look like they hold a secret's value.
pub(crate) fn secret_looking(variables: &[EnvironmentVariable]) -> Vec<&str> {
    variables
        .iter()
        .filter(|v| v.value == ValueShape::Literal)
        .filter(|v| {
            let name = v.name.to_ascii_uppercase();
            (SECRET_WORDS.iter().any(|w| name.contains(w))
                || SECRET_ENDINGS.iter().any(|e| name.ends_with(e)))
                && !REFERENCE_SUFFIXES.iter().any(|s| name.ends_with(s))
        })
        .map(|v| v.name.as_str())
        .collect()
}

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    context.each_function(def, |configuration| {
        let names = secret_looking(&configuration.environment);
        if names.is_empty() {
            context.pass(
                def,
                &configuration.arn,
                format!(
                    "function {}: none of its {} environment variables is named like a secret and holds a value other than a reference",
                    configuration.name,
                    configuration.environment.len()
                ),
            )
        } else {
            context.fail(
                def,
                &configuration.arn,
                format!(
                    "function {}: environment variable(s) {} are named like secrets and hold a literal value (not shown); expected no secret in the environment, only a reference such as the secret's ARN",
                    configuration.name,
                    names.join(", ")
                ),
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::finding::Status;
    use crate::inventory::Collected;

    #[test]
    fn secret_names_with_literal_values_are_flagged_and_references_are_not() {
        // (name, value, flagged)
        let table = [
            ("DB_PASSWORD", "hunter2", true),
            ("MYSQL_PWD", "hunter2", true),
            ("DB_PASS", "hunter2", true),
            ("PASSENGER_COUNT", "4", false),
            ("db_password", "hunter2", true),
            ("API_TOKEN", "abc", true),
            ("AWS_SECRET_ACCESS_KEY", "wJalr", true),
            ("GITHUB_APIKEY", "x", true),
            ("DB_PASSWORD", "", false),
            ("DB_PASSWORD", "   ", false),
            (
                "DB_PASSWORD",
                "arn:aws:secretsmanager:us-east-1:1:secret:db-AbC",
                false,
            ),
            (
                "DB_PASSWORD",
                "{{resolve:secretsmanager:db:SecretString:password}}",
                false,
            ),
            ("DB_PASSWORD", "/run/secrets/db", false),
            (
                "SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:1:secret:db",
                false,
            ),
            ("SECRET_ID", "SecretsManagerTutorialAppuser", false),
            ("TOKEN_FILE", "token.txt", false),
            ("DB_CA_BUNDLE", "/var/task/ca.pem", false),
            ("LOG_LEVEL", "debug", false),
            ("PWD", "/var/task", false),
        ];
        for (name, value, flagged) in table {
            let variables = [EnvironmentVariable {
                name: name.to_owned(),
                value: ValueShape::of(value),
            }];
            assert_eq!(
                secret_looking(&variables) == [name],
                flagged,
                "{name}={value:?}"
            );
        }
    }

    #[test]
    fn a_failure_names_the_variable_never_its_value() {
        let mut region = compliant_region();
        if let Collected::Ok(Some(c)) = &mut region.functions[0].configuration {
            c.environment = vec![
                EnvironmentVariable {
                    name: "DB_CA_BUNDLE".to_owned(),
                    value: ValueShape::of("/var/task/ca.pem"),
                },
                EnvironmentVariable {
                    name: "ADMIN_PASSWORD".to_owned(),
                    value: ValueShape::of("S3cr3t-value"),
                },
            ];
        }
        let findings = findings_of(region, DEFINITION.id);
        assert_eq!(findings[0].status, Status::Fail);
        assert_eq!(findings[0].resource, FUNCTION_ARN);
        assert!(findings[0].message.contains("ADMIN_PASSWORD"));
        assert!(!findings[0].message.contains("DB_CA_BUNDLE"));
        assert!(!findings[0].message.contains("S3cr3t"));
        assert_eq!(
            findings_of(compliant_region(), DEFINITION.id)[0].status,
            Status::Pass
        );
    }
}
