//! `audit --print-role-template`: a CloudFormation template of a read-only audit
//! role, to deploy to every account (a StackSet) and name with `--role-name`.
//!
//! Why: `--role-name`'s default, `OrganizationAccountAccessRole`, is the role
//! Organizations creates with full administrator permissions (Organizations user
//! guide, "Accessing member accounts": the role grants `AdministratorAccess`). An
//! auditor should hold only what the audit reads. The template's permissions are
//! `--print-policy`'s statements for the audited account, derived from the same
//! table of calls ([`crate::calls`]), so the two never disagree; reading secret
//! values is a separate policy, only when the stack's `ReadSecrets` is `true`. The
//! role trusts one principal (the auditor's), and requires the external id when
//! one is given.

use serde_json::{Value, json};

/// The role's name unless the stack's `RoleName` says otherwise.
pub const DEFAULT_AUDIT_ROLE_NAME: &str = "AuditReadOnly";

/// A statement of `--print-policy` without the caller's listing of the
/// organisation's accounts ([`crate::calls::CALLER_ONLY`]), which a member
/// account's role never makes; `organizations:DescribeOrganization` stays (each
/// audited account reads its own organisation's id).
fn member_statement(mut statement: Value) -> Value {
    if let Some(actions) = statement["Action"].as_array_mut() {
        actions.retain(|a| {
            !crate::calls::CALLER_ONLY
                .iter()
                .any(|call| a.as_str() == Some(call.action))
        });
    }
    statement
}

/// The template, as JSON (CloudFormation reads JSON and YAML alike).
pub fn role_template() -> Value {
    let policy = crate::calls::iam_policy(crate::calls::DEFAULT_ROLE_NAME);
    let statements = policy["Statement"].as_array().cloned().unwrap_or_default();
    let sid = |s: &Value| s["Sid"].as_str().unwrap_or_default().to_owned();
    // The caller's own statements are not the role's: AssumeRole into the
    // accounts, and listing the organisation (made with the caller's credentials
    // in the management or delegated administrator account).
    let read_only: Vec<Value> = statements
        .iter()
        .filter(|s| sid(s) == "AuditReadOnly")
        .cloned()
        .map(member_statement)
        .collect();
    let secret_values: Vec<Value> = statements
        .iter()
        .filter(|s| sid(s).ends_with("OnlyWithReadSecrets"))
        .cloned()
        .collect();
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Read-only role for the Secrets Manager alternating-users audit (audit --print-role-template); assume it with audit --role-name",
        "Parameters": {
            "AuditorPrincipalArn": {
                "Type": "String",
                "Description": "ARN of the principal that runs the audit (a role or user of the auditing account; not the account's root, which would let every principal of that account with sts:AssumeRole in)",
                // CloudFormation matches the pattern against the whole value
                // (template reference, Parameters, AllowedPattern).
                "AllowedPattern": "arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+"
            },
            "ExternalId": {
                "Type": "String",
                "Default": "",
                "Description": "The external id the auditor passes (--external-id); empty for none"
            },
            "RoleName": {
                "Type": "String",
                "Default": DEFAULT_AUDIT_ROLE_NAME,
                "Description": "The role's name (pass it to audit --role-name)"
            },
            "ReadSecrets": {
                "Type": "String",
                "AllowedValues": ["false", "true"],
                "Default": "false",
                "Description": "true: also allow secretsmanager:GetSecretValue (audit --read-secrets)"
            }
        },
        "Conditions": {
            "HasExternalId": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ExternalId"}, ""]}]},
            "ReadSecrets": {"Fn::Equals": [{"Ref": "ReadSecrets"}, "true"]}
        },
        "Resources": {
            "AuditRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": {"Ref": "RoleName"},
                    // One hour: an audit run's sessions are renewed as they
                    // expire (see `org::assume`), and a caller that is itself a
                    // role may not ask for more (role chaining; STS API reference,
                    // AssumeRole, DurationSeconds).
                    "MaxSessionDuration": 3_600,
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Principal": {"AWS": {"Ref": "AuditorPrincipalArn"}},
                            "Action": "sts:AssumeRole",
                            "Condition": {"Fn::If": [
                                "HasExternalId",
                                {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}},
                                {"Ref": "AWS::NoValue"}
                            ]}
                        }]
                    },
                    "Policies": [
                        {
                            "PolicyName": "AuditReadOnly",
                            "PolicyDocument": {"Version": "2012-10-17", "Statement": read_only}
                        },
                        {"Fn::If": [
                            "ReadSecrets",
                            {
                                "PolicyName": "AuditReadSecretValues",
                                "PolicyDocument": {"Version": "2012-10-17", "Statement": secret_values}
                            },
                            {"Ref": "AWS::NoValue"}
                        ]}
                    ]
                }
            }
        },
        "Outputs": {
            "RoleArn": {"Value": {"Fn::GetAtt": ["AuditRole", "Arn"]}}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_holds_the_audited_accounts_statements_and_nothing_more() {
        let template = role_template();
        let role = &template["Resources"]["AuditRole"]["Properties"];
        let policy = crate::calls::iam_policy(crate::calls::DEFAULT_ROLE_NAME);
        let statements = policy["Statement"].as_array().expect("statements");
        assert_eq!(
            role["Policies"][0]["PolicyDocument"]["Statement"],
            json!([member_statement(statements[0].clone())]),
            "the read-only statement of --print-policy"
        );
        let granted = role["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"].to_string();
        assert!(!granted.contains("organizations:List"), "{granted}");
        assert!(
            granted.contains("organizations:DescribeOrganization"),
            "each account reads its own organisation: {granted}"
        );
        assert!(granted.contains("ec2:DescribeVpcs") && granted.contains("ec2:DescribeRegions"));
        assert!(
            statements[0]["Action"]
                .to_string()
                .contains("organizations:ListAccounts"),
            "the caller's policy keeps them"
        );
        assert_eq!(role["MaxSessionDuration"], 3600);
        let conditional = &role["Policies"][1]["Fn::If"];
        assert_eq!(conditional[0], "ReadSecrets");
        assert_eq!(
            conditional[1]["PolicyDocument"]["Statement"],
            json!([statements[1], statements[2]]),
            "GetSecretValue and its kms:Decrypt only with ReadSecrets"
        );
        let text = template.to_string();
        assert!(
            !text.contains("AuditAssumeTheAuditRole"),
            "the caller's AssumeRole is not the role's"
        );
        assert!(!text.contains("\"*:*\"") && !text.contains("\"Action\":\"*\""));
        let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
        assert_eq!(trust["Principal"]["AWS"]["Ref"], "AuditorPrincipalArn");
        assert_eq!(
            trust["Condition"]["Fn::If"][1]["StringEquals"]["sts:ExternalId"]["Ref"],
            "ExternalId"
        );
        // Every condition and parameter the template refers to is declared.
        for name in ["HasExternalId", "ReadSecrets"] {
            assert!(template["Conditions"].get(name).is_some(), "{name}");
        }
        // The trusted principal: a role or user, never an account's root.
        let pattern = template["Parameters"]["AuditorPrincipalArn"]["AllowedPattern"]
            .as_str()
            .expect("pattern");
        assert!(!pattern.contains("root"), "{pattern}");
        assert!(pattern.starts_with("arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/"));
        for name in [
            "AuditorPrincipalArn",
            "ExternalId",
            "RoleName",
            "ReadSecrets",
        ] {
            assert!(template["Parameters"].get(name).is_some(), "{name}");
        }
    }
}
