"""A call through an interface endpoint as the endpoint's policy judges it
(strict.endpoint_policy_refusal): the policy limits, never grants; the default
(full access) lets everything through; its refusals read as AWS's AccessDenied."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import strict  # noqa: E402

ACCOUNT = "123456789012"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/rotator-role/rotator"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/rotator-role"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app-AbCdEf"
ENDPOINT = "vpce-0123456789abcdef0"
VPC = "vpc-0a1b2c3d"
DEFAULT = '{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}'


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def statement(effect, action, principal="*", resource="*", **extra):
    return {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource, **extra}


ALLOW_ALL = statement("Allow", "*")


@pytest.mark.parametrize(
    "document, action, refused",
    [
        (None, "secretsmanager:GetSecretValue", None),
        (DEFAULT, "secretsmanager:PutSecretValue", None),
        (policy(ALLOW_ALL, statement("Deny", "secretsmanager:PutSecretValue")), "secretsmanager:PutSecretValue", "with an explicit deny in a VPC endpoint policy"),
        (policy(ALLOW_ALL, statement("Deny", "secretsmanager:PutSecretValue")), "secretsmanager:GetSecretValue", None),
        (policy(statement("Allow", "secretsmanager:DescribeSecret")), "secretsmanager:GetSecretValue", "because no VPC endpoint policy allows the secretsmanager:GetSecretValue action"),
        (policy(statement("Allow", "secretsmanager:Get*", resource=SECRET)), "secretsmanager:GetSecretValue", None),
        (policy(statement("Allow", "*", resource=SECRET + "-other")), "secretsmanager:GetSecretValue", "because no VPC endpoint policy allows"),
        # The principal: the role session, its role, or everyone; not another role,
        # nor the account alone (that names the account's root user only).
        (policy(statement("Allow", "*", {"AWS": ROLE})), "secretsmanager:GetSecretValue", None),
        (policy(statement("Allow", "*", {"AWS": SESSION})), "secretsmanager:GetSecretValue", None),
        (policy(statement("Allow", "*", {"AWS": f"arn:aws:iam::{ACCOUNT}:role/someone-else"})), "secretsmanager:GetSecretValue", "because no VPC endpoint policy allows"),
        (policy(statement("Allow", "*", {"AWS": ACCOUNT})), "secretsmanager:GetSecretValue", "because no VPC endpoint policy allows"),
        (policy(ALLOW_ALL, statement("Deny", "*", {"AWS": ROLE})), "secretsmanager:GetSecretValue", "with an explicit deny"),
        (policy(ALLOW_ALL, statement("Deny", "*", {"AWS": f"arn:aws:iam::{ACCOUNT}:role/someone-else"})), "secretsmanager:GetSecretValue", None),
        # Conditions on where the call came from.
        (policy(statement("Allow", "*", Condition={"StringEquals": {"aws:SourceVpce": ENDPOINT}})), "secretsmanager:GetSecretValue", None),
        (policy(statement("Allow", "*", Condition={"StringEquals": {"aws:SourceVpce": "vpce-other"}})), "secretsmanager:GetSecretValue", "because no VPC endpoint policy allows"),
        (policy(ALLOW_ALL, statement("Deny", "*", Condition={"StringNotEquals": {"aws:SourceVpc": VPC}})), "secretsmanager:GetSecretValue", None),
        (policy(ALLOW_ALL, statement("Deny", "*", Condition={"StringNotEquals": {"aws:SourceVpc": "vpc-other"}})), "secretsmanager:GetSecretValue", "with an explicit deny"),
        # An empty policy allows nothing.
        (policy(), "secretsmanager:GetSecretValue", "because no VPC endpoint policy allows"),
    ],
)
def test_the_endpoint_policy_limits_calls_through_the_endpoint(document, action, refused):
    answer = strict.endpoint_policy_refusal(document, action, SECRET, SESSION, ACCOUNT, "us-east-1", ENDPOINT, VPC)
    if refused is None:
        assert answer is None
    else:
        assert answer is not None and refused in answer, answer


def test_a_refusal_reads_as_awss_access_denied():
    denied = strict.endpoint_policy_refusal(
        policy(ALLOW_ALL, statement("Deny", "secretsmanager:PutSecretValue")), "secretsmanager:PutSecretValue", SECRET, SESSION, ACCOUNT, "us-east-1", ENDPOINT, VPC
    )
    assert denied == (
        f"User: {SESSION} is not authorized to perform: secretsmanager:PutSecretValue on resource: {SECRET} "
        "with an explicit deny in a VPC endpoint policy"
    )


def test_a_call_through_an_endpoint_names_it_and_its_vpc():
    assert strict.endpoint_keys(ENDPOINT, VPC) == {"aws:SourceVpce": ENDPOINT, "aws:SourceVpc": VPC}
    assert "aws:SourceVpce" not in strict.request_context(ROLE, "us-east-1")
