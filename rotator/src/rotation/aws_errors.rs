//! What a failed AWS call means: denied, missing, or unanswered.
//!
//! The steps turn every SDK error into a message that names the action and the fix;
//! the classification is kept apart from the steps so that each one reads the same
//! way, and so that the rules (which codes are a denial, which failures got no answer)
//! have one place and one table of tests.

use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

/// A call that got no answer (no error code, a timeout or a connection failure)
/// names what to check, as AWS's troubleshooting guide for rotation does; any other
/// failure is said as it is.
pub(crate) fn unreachable_hint(action: &str, message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    let unanswered = [
        "timeout",
        "timed out",
        "dispatch failure",
        "connect",
        "io error",
    ]
    .iter()
    .any(|needle| lower.contains(needle));
    if !unanswered {
        return message.to_owned();
    }
    let service = action.split(':').next().unwrap_or("the service");
    format!(
        "{message}: no answer from {service}. A function in a VPC reaches it only through an interface VPC \
         endpoint for {service} with private DNS on (and the VPC's DNS support and DNS hostnames on) or a \
         NAT gateway; check that the endpoint's security group admits TCP 443 from the function's security \
         group, that the function's group lets TCP 443 out, and that the subnets' network ACLs pass both ways"
    )
}

/// `GetSecretValue` found no such version (or no value in it yet).
pub(super) fn value_missing<R>(
    error: &aws_sdk_secretsmanager::error::SdkError<GetSecretValueError, R>,
) -> bool {
    matches!(
        error.as_service_error(),
        Some(GetSecretValueError::ResourceNotFoundException(_))
    )
}

/// AWS error codes of a denied call (IAM: `AccessDenied`, `AccessDeniedException`).
pub(super) fn is_access_denied(code: &str) -> bool {
    code.starts_with("AccessDenied") || code == "UnauthorizedOperation"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unanswered_call_names_what_to_check_and_other_failures_stay_as_they_are() {
        for (message, hinted) in [
            (
                "timeout: operation attempt timeout (occurred after 5s)",
                true,
            ),
            ("dispatch failure: io error: Connection refused", true),
            ("error trying to connect: tcp connect error", true),
            (
                "ResourceNotFoundException: Secrets Manager can't find the specified secret",
                false,
            ),
            (
                "InvalidRequestException: the secret is marked for deletion",
                false,
            ),
        ] {
            let out = unreachable_hint("secretsmanager:GetSecretValue", message);
            assert!(out.starts_with(message), "{out}");
            assert_eq!(
                out.contains("interface VPC endpoint for secretsmanager"),
                hinted,
                "{message}"
            );
        }
    }
}
