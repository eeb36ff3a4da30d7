"""The registry of the emulator's AWS behaviours: what each is, what it follows, its switch.

Where AWS is harsher than moto, or decides something moto does not (a refusal, a
delay, a retry, what a function can reach), the emulator does it too, one behaviour
at a time. Each behaviour here has a name, a one-line summary, the AWS documentation
it follows, the fidelity test (through the AWS SDK) that shows it, and the modules
that implement it. The name is
its switch: ``EMULATOR_OFF=name[,name...]`` turns it off, ``EMULATOR_STRICT=off``
turns them all off (moto's own, kinder behaviour). ``cargo xtask fidelity`` runs
each behaviour's test with that behaviour off and expects it to fail, so that no
behaviour is decorative; the README's table of behaviours is checked against this
registry by ``tests/test_behaviours.py``.

Nothing here does work at import time beyond reading the environment once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Behaviour:
    name: str
    summary: str
    source: str
    # The fidelity test: "<area>::<test function>" in the integration-test binary
    # (tests/tests/it/main.rs), whose module <area> is tests/tests/it/<area>.rs.
    test: str
    # Text the test's failure must show with the behaviour off (an assertion's
    # message); when empty, the failure must at least be raised in the test's own
    # file, not in a shared helper, so that a test failing for another reason does
    # not count as showing the behaviour.
    expect: str = ""
    # The modules (xtask/emulator/<module>.py) that implement it, the one holding its
    # decision first: where a reader goes from the README's table or a switch name.
    # tests/test_behaviours.py checks that the first names the behaviour and that every
    # module switching it is listed.
    modules: tuple[str, ...] = ()


REGISTRY: tuple[Behaviour, ...] = (
    Behaviour(
        "rotation-steps",
        "RotateSecret answers at once; the four steps run in the background and stop at the first failure, AWSCURRENT untouched",
        "Secrets Manager user guide, \"How rotation works\"; API reference, RotateSecret",
        "emulator::a_rotation_whose_set_secret_fails_leaves_awscurrent_untouched",
        modules=("secret_rotation",),
    ),
    Behaviour(
        "rotation-retries",
        "a failed rotation is retried whole with the same token (EMULATOR_ROTATION_ATTEMPTS, EMULATOR_ROTATION_RETRY_SECONDS)",
        "Secrets Manager user guide, \"Rotation by Lambda function\": retries the entire rotation process multiple times",
        "emulator::a_failed_rotation_is_retried_whole_with_the_same_token",
        modules=("secret_rotation",),
    ),
    Behaviour(
        "pending-refusal",
        "RotateSecret is refused while AWSPENDING sits on another version than AWSCURRENT, whatever the token",
        "API reference, RotateSecret and CancelRotateSecret",
        "emulator::a_rotation_whose_set_secret_fails_leaves_awscurrent_untouched",
        modules=("secret_rotation",),
    ),
    Behaviour(
        "cancel-rotation",
        "CancelRotateSecret turns rotation off and cancels the rotation in progress (no further step, no retry), answering the unfinished version's id",
        "API reference, CancelRotateSecret",
        "emulator::cancel_rotate_secret_stops_the_rotation_in_progress_and_names_its_version",
        modules=("secret_rotation",),
    ),
    Behaviour(
        "version-immutable",
        "a secret version's value never changes: PutSecretValue with a used ClientRequestToken and another value is refused, AWSPENDING or not",
        "API reference, PutSecretValue (ClientRequestToken)",
        "emulator::a_version_once_filled_keeps_its_value",
        "a second value for a used token must be refused",
        modules=("secrets_manager",),
    ),
    Behaviour(
        "deprecated-versions",
        "ListSecretVersionIds leaves out versions without a label unless IncludeDeprecated, each with its own CreatedDate",
        "API reference, ListSecretVersionIds",
        "emulator::a_version_without_a_label_is_listed_only_when_deprecated_ones_are_asked_for",
        modules=("secrets_manager",),
    ),
    Behaviour(
        "rotation-needs-function",
        "RotateSecret on a secret with no rotation function is refused and changes nothing",
        "API reference, RotateSecret, InvalidRequestException",
        "emulator::rotate_secret_without_a_rotation_function_is_refused_and_changes_nothing",
        modules=("secret_rotation",),
    ),
    Behaviour(
        "rotation-window",
        "RotateSecret refuses a schedule or window AWS refuses: a cron() not on the hour, with a year other than `*`, or starting more often than every four hours, a Duration longer than the time between rotations, or past midnight for a once-a-day cron()",
        "API reference, RotationRulesType (Duration, ScheduleExpression); user guide, \"Rotation schedules\" (rotation windows, cron fields)",
        "emulator::a_rotation_window_that_runs_into_the_next_window_or_day_is_refused",
        "a schedule or window AWS refuses must be refused",
        modules=("schedules", "secret_rotation"),
    ),
    Behaviour(
        "rotation-schedule",
        "DescribeSecret and ListSecrets answer NextRotationDate as the last second of the next rotation window (counted from the last successful rotation, a new schedule, or a new value under AutomaticallyAfterDays; a failed rotation leaves it; none while rotation is off) and the AutomaticallyAfterDays AWS calculates from a ScheduleExpression",
        "API reference, DescribeSecret (NextRotationDate) and RotationRulesType; user guide, \"Rotation schedules\"; live list-secrets answers quoted in schedules.py",
        "emulator::next_rotation_date_is_the_last_second_of_the_next_window_whatever_a_failure_does",
        "NextRotationDate must be the last second of the next rotation window",
        modules=("schedules", "secret_rotation", "rds_rotation", "secrets_manager"),
    ),
    Behaviour(
        "invoke-permission",
        "RotateSecret is refused unless the function's resource policy lets secretsmanager.amazonaws.com invoke it",
        "Secrets Manager user guide, \"Troubleshoot rotation\" (access denied when configuring rotation)",
        "emulator::rotate_secret_is_refused_until_secrets_manager_may_invoke_the_function",
        modules=("secret_rotation",),
    ),
    Behaviour(
        "owned-secrets",
        "a secret RDS manages refuses DeleteSecret, PutSecretValue, UpdateSecret and rotation by a function, and carries the instance's tags",
        "Secrets Manager user guide, \"Secrets managed by other AWS services\"; terraform-provider-aws#41337",
        "emulator::a_secret_rds_manages_refuses_changes_and_carries_the_instances_tags",
        modules=("secrets_manager", "secret_rotation", "rds_instances"),
    ),
    Behaviour(
        "ec2-consistency",
        "a new EC2 id answers *.NotFound on its first use",
        "EC2 API reference, \"Eventual consistency in the Amazon EC2 API\"",
        "emulator::a_new_ec2_id_answers_not_found_on_its_first_use",
        modules=("ec2_consistency",),
    ),
    Behaviour(
        "group-dependencies",
        "a VPC's default security group cannot be deleted (CannotDelete), nor a group another group's rule references (DependencyViolation)",
        "EC2 user guide, \"Default security groups for your VPCs\"; EC2 API reference, DeleteSecurityGroup",
        "emulator::a_default_group_or_a_referenced_group_cannot_be_deleted",
        modules=("ec2_dependencies",),
    ),
    Behaviour(
        "endpoint-reset-policy",
        "ModifyVpcEndpoint with ResetPolicy restores the default full-access endpoint policy",
        "EC2 API reference, ModifyVpcEndpoint (ResetPolicy)",
        "emulator::modify_vpc_endpoint_with_reset_policy_restores_the_full_access_policy",
        "ResetPolicy must restore the full-access default policy",
        modules=("ec2_dependencies",),
    ),
    Behaviour(
        "endpoint-private-dns",
        "ModifyVpcEndpoint with PrivateDnsEnabled turns an interface endpoint's private DNS on or off",
        "EC2 API reference, ModifyVpcEndpoint (PrivateDnsEnabled)",
        "emulator::modify_vpc_endpoint_turns_private_dns_off_and_on",
        "PrivateDnsEnabled=false must turn the endpoint's private DNS off",
        modules=("ec2_dependencies",),
    ),
    Behaviour(
        "endpoint-private-dns-attributes",
        "CreateVpcEndpoint and ModifyVpcEndpoint refuse PrivateDnsEnabled=true for an interface endpoint in a VPC without enableDnsSupport and enableDnsHostnames (InvalidParameter)",
        "EC2 API reference, CreateVpcEndpoint and ModifyVpcEndpoint (PrivateDnsEnabled)",
        "emulator::private_dns_needs_the_vpcs_dns_support_and_hostnames",
        "PrivateDnsEnabled=true must be refused in a VPC without DNS hostnames",
        modules=("ec2_dependencies",),
    ),
    Behaviour(
        "lambda-enis",
        "a VPC function's network interfaces hold its subnets and groups, and are released late, only while its role exists",
        "Lambda developer guide, \"Giving Lambda functions access to resources in an Amazon VPC\"",
        "emulator::a_vpc_functions_interfaces_hold_its_group_and_subnets_until_lambda_releases_them",
        modules=("ec2_dependencies", "lambda_functions"),
    ),
    Behaviour(
        "lambda-reserved-concurrency",
        "a function whose reserved concurrency is 0 is throttled: Invoke (and Secrets Manager's invocation of a rotation function) answers TooManyRequestsException (429, ReservedFunctionConcurrentInvocationLimitExceeded)",
        "Lambda developer guide, \"Configuring reserved concurrency for a function\"; API reference, Invoke (Errors)",
        "emulator::a_function_with_reserved_concurrency_zero_is_throttled",
        modules=("throttling", "lambda_runtime"),
    ),
    Behaviour(
        "lambda-states",
        "a new function is Pending (not invoked, not updated) for a moment, longer in a VPC; an update is InProgress and refuses another (ResourceConflictException)",
        "Lambda developer guide, \"Lambda function states\"",
        "emulator::a_new_function_is_pending_and_an_update_in_progress_refuses_another",
        modules=("lambda_functions", "lambda_runtime"),
    ),
    Behaviour(
        "vpc-role-permissions",
        "a function is put in a VPC only if its role may create, describe and delete network interfaces",
        "Lambda developer guide, \"Giving Lambda functions access to resources in an Amazon VPC\"",
        "emulator::a_vpc_function_needs_a_role_that_may_manage_its_network_interfaces",
        modules=("lambda_functions",),
    ),
    Behaviour(
        "lambda-logs",
        "each invocation's output goes to /aws/lambda/<function>, as far as the execution role allows",
        "Lambda developer guide, \"Using CloudWatch Logs with Lambda\"",
        "emulator::a_function_writes_logs_only_as_its_role_allows",
        modules=("lambda_functions",),
    ),
    Behaviour(
        "role-assumable",
        "Lambda refuses a role that is too new or whose trust policy does not let Lambda assume it",
        "IAM user guide, \"Troubleshooting IAM roles\"",
        "emulator::lambda_refuses_a_role_that_is_new_or_does_not_trust_it",
        modules=("lambda_functions",),
    ),
    Behaviour(
        "assume-role-trust",
        "AssumeRole is refused unless the role's trust policy allows the caller (and its ExternalId)",
        "STS API reference, AssumeRole; IAM user guide, \"IAM JSON policy elements: Principal\"",
        "emulator::assume_role_is_refused_unless_the_trust_policy_allows_the_caller",
        modules=("sts_trust",),
    ),
    Behaviour(
        "iam-conditions",
        "signed requests are judged with policy Conditions (every documented operator, IfExists, set operators) and the request's context; what cannot be decided never lets an Allow apply and always lets a Deny apply",
        "IAM user guide, \"IAM JSON policy elements: Condition operators\", \"Conditions with multiple context keys or values\"",
        "iam::an_allow_applies_only_where_its_condition_holds",
        modules=("conditions", "iam_enforcement"),
    ),
    Behaviour(
        "secret-resource-policy",
        "a secret's resource policy is judged with the caller's policies: its Deny applies to the principals it names, its Allow grants a same-account caller it names (a role's ARN within the role's boundary; the account alone grants nothing)",
        "Secrets Manager user guide, \"Determine who has permissions to your AWS Secrets Manager secrets\"; IAM user guide, \"Policy evaluation logic\"",
        "iam::a_secrets_resource_policy_denies_and_grants_as_iam_evaluates_it",
        modules=("iam_enforcement",),
    ),
    Behaviour(
        "kms-key-policy",
        "a secret under a customer managed key is read only by a caller allowed kms:Decrypt and written only by one allowed kms:GenerateDataKey on it, as the key policy (authoritative, delegating to IAM only through the account) and IAM allow; \"Access to KMS is not allowed\" otherwise",
        "Secrets Manager user guide, \"Secret encryption and decryption in AWS Secrets Manager\"; KMS developer guide, \"Key policies in AWS KMS\"",
        "iam::a_secret_under_a_customer_key_is_read_only_as_the_key_policy_allows",
        "a caller not allowed kms:Decrypt on the secret's key must be refused",
        modules=("kms_key_policy",),
    ),
    Behaviour(
        "kms-key-state",
        "a secret under a customer managed key that is not Enabled (Disabled, PendingDeletion) is neither read (DecryptionFailure) nor written (EncryptionFailure); EnableKey, DisableKey, ScheduleKeyDeletion and CancelKeyDeletion change a key's state only from the states KMS allows (KMSInvalidStateException otherwise: no enabling or disabling a key pending deletion, no second schedule, no cancelling what is not scheduled), not on an AWS managed key (AccessDeniedException), and with PendingWindowInDays 7 to 30 only (ValidationException)",
        "KMS developer guide, \"Key states of AWS KMS keys\", \"Enable and disable keys\", \"Schedule key deletion\"; KMS API reference, ScheduleKeyDeletion (PendingWindowInDays); Secrets Manager API reference, GetSecretValue and PutSecretValue (DecryptionFailure, EncryptionFailure)",
        "emulator::a_secret_under_a_key_that_is_not_enabled_is_neither_read_nor_written",
        "GetSecretValue under a disabled key must fail with DecryptionFailure",
        modules=("kms_key_state", "kms_keys"),
    ),
    Behaviour(
        "resource-states",
        "VPC endpoints and DB instances pass through pending/creating and deleting, and hold their network meanwhile",
        "VPC user guide, interface endpoints; RDS user guide, DB instance status",
        "emulator::endpoints_and_db_instances_take_time_to_come_and_go_and_hold_their_network",
        modules=("rds_instances", "ec2_dependencies"),
    ),
    Behaviour(
        "rds-master-privileges",
        "an RDS instance's master user holds RDS's documented privileges: no SUPER, FILE or SHUTDOWN",
        "RDS user guide, \"Master user account privileges\"",
        "emulator::an_rds_master_user_holds_the_documented_privileges_and_no_file_super_or_shutdown",
        modules=("mariadb_servers",),
    ),
    Behaviour(
        "rds-managed-rotation",
        "a secret RDS manages reports rotation every 7 days and is rotated by RDS (ModifyDBInstance RotateMasterUserPassword, RotateSecret without RotateImmediately=false, or POST /_emulator/rds-rotate): a new password on the server, AWSCURRENT and AWSPENDING on the new version, AWSPREVIOUS on the old",
        "RDS user guide, \"Password management with Amazon RDS and AWS Secrets Manager\"; Secrets Manager user guide, \"Managed rotation\"; AWS CLI reference, secretsmanager list-secrets (example 3)",
        "emulator::rds_rotates_the_master_password_it_manages_on_the_server_and_in_the_secret",
        "a secret RDS manages reports rotation enabled",
        modules=("rds_rotation",),
    ),
    Behaviour(
        "rds-modify-refusals",
        "ModifyDBInstance refuses any change to an instance that is creating or stopped (InvalidDBInstanceState \"Database instance is not in available state.\"; creating: AWS's refusal in hashicorp/terraform-provider-aws#31594; stopped: RDS user guide, \"Stopping an Amazon RDS DB instance temporarily\") and, the emulator's conservative choice (not documented), in every other state but available and storage-optimization (deleting, storage-full, where AWS takes storage changes: terraform-provider-aws#3708, ...), ManageMasterUserPassword=false without MasterUserPassword, and a MasterUserSecretKmsKeyId without ManageMasterUserPassword or naming another key than the managed secret's (InvalidParameterCombination)",
        "RDS API reference, ModifyDBInstance (ManageMasterUserPassword, MasterUserSecretKmsKeyId, Errors); AWS's texts: hashicorp/terraform-provider-aws#31594, #41795, terraform-aws-modules/terraform-aws-rds-aurora#370",
        "emulator::modify_db_instance_refuses_what_rds_refuses",
        "a stopped instance must refuse ModifyDBInstance",
        modules=("rds_servers",),
    ),
    Behaviour(
        "rds-secure-transport",
        "the instance's server applies its DB parameter group's require_secure_transport at once (SET GLOBAL): ON refuses a login without TLS",
        "RDS user guide, \"Requiring SSL/TLS for all connections to a MySQL DB instance on Amazon RDS\" (no reboot needed)",
        "audit::a_database_accepting_plaintext_fails",
        "a login without TLS must be refused",
        modules=("rds_tls",),
    ),
    Behaviour(
        "rds-managed-replica",
        "CreateDBInstanceReadReplica of an instance whose master password RDS manages is refused (InvalidParameterValue), RDS for SQL Server excepted",
        "RDS user guide, \"Password management with Amazon RDS and AWS Secrets Manager\" (limitations); AWS's text: terraform-aws-modules/terraform-aws-rds#532",
        "emulator::a_read_replica_of_a_source_whose_password_rds_manages_is_refused",
        "a replica of a source whose password RDS manages must be refused",
        modules=("rds_managed_replica",),
    ),
    Behaviour(
        "network",
        "a function reaches a database or an API only where its VPC, security groups, network ACLs and endpoints carry it",
        "Secrets Manager user guide, \"Troubleshoot rotation\"; VPC user guide (security groups, network ACLs, interface endpoints)",
        "emulator::a_function_reaches_a_database_or_an_api_only_where_its_network_carries_it",
        modules=("network", "reachability", "rds_servers"),
    ),
    Behaviour(
        "endpoint-policy",
        "a function's call through an interface endpoint needs the endpoint policy's Allow and no Deny of it (AccessDenied \"... in a VPC endpoint policy\"), and carries aws:SourceVpce and aws:SourceVpc",
        "PrivateLink guide, \"Control access to VPC endpoints using endpoint policies\"; IAM user guide, \"Troubleshoot access denied error messages\"",
        "emulator::a_functions_call_through_an_endpoint_is_judged_by_the_endpoint_policy",
        "the endpoint policy's Deny must refuse the function's GetSecretValue",
        modules=("endpoint_policy",),
    ),
    Behaviour(
        "scp",
        "a Deny in a service control policy on a member account's path (the account, its OUs, the root) refuses its users' and roles' calls, naming \"an explicit deny in a service control policy\" (EC2: UnauthorizedOperation); the management account is not affected",
        "Organizations user guide, \"Service control policies (SCPs)\" and \"Example SCPs\" (deny by aws:RequestedRegion); IAM user guide, \"Troubleshoot access denied error messages\"",
        "org::an_organisation_is_audited_account_by_account_and_its_evidence_reevaluates",
        "the SCP-denied region is one region.reachable row",
        modules=("scp",),
    ),
)

BY_NAME = {behaviour.name: behaviour for behaviour in REGISTRY}


def _truthy_off(value: str | None) -> bool:
    return (value or "on").lower() in ("off", "0", "false", "no")


STRICT = not _truthy_off(os.environ.get("EMULATOR_STRICT"))
OFF = frozenset(name.strip() for name in os.environ.get("EMULATOR_OFF", "").split(",") if name.strip())


def unknown_switches() -> list[str]:
    """Names in EMULATOR_OFF that no behaviour has (the launcher refuses to start)."""
    return sorted(OFF - BY_NAME.keys())


def on(name: str) -> bool:
    """Whether behaviour `name` is on; a name not in the registry is a bug here."""
    if name not in BY_NAME:
        raise KeyError(f"no emulator behaviour named {name!r}; see behaviours.REGISTRY")
    return STRICT and name not in OFF


def markdown_table() -> str:
    """The README's table of behaviours, as this registry says it."""
    rows = ["| Behaviour (`EMULATOR_OFF=`) | What the emulator does | AWS documentation | Fidelity test | Module |", "|---|---|---|---|---|"]
    for behaviour in REGISTRY:
        modules = ", ".join(f"`{module}.py`" for module in behaviour.modules)
        rows.append(f"| `{behaviour.name}` | {behaviour.summary} | {behaviour.source} | `{behaviour.test}` | {modules} |")
    return "\n".join(rows)


if __name__ == "__main__":
    # `python behaviours.py`: the registry as JSON, for `cargo xtask fidelity`.
    import json
    import sys

    json.dump([behaviour.__dict__ for behaviour in REGISTRY], sys.stdout, indent=1)
    print()
