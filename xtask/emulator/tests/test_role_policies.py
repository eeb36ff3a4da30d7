"""What an execution role allows Lambda to do for it (strict.policy_decision / permits)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import strict  # noqa: E402

ACCOUNT = "123456789012"
ENI = f"arn:aws:ec2:us-east-1:{ACCOUNT}:network-interface/*"
SUBNET = f"arn:aws:ec2:us-east-1:{ACCOUNT}:subnet/subnet-1"
GROUP = f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-1"
STREAM = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/f:log-stream:2026/01/01/[$LATEST]abc"


def allow(action, resource="*", **extra):
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource, **extra}]}


def deny(action, resource="*", **extra):
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": action, "Resource": resource, **extra}]}


VPC_ACCESS = allow(
    [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ]
)


@pytest.mark.parametrize(
    "documents, action, resource, expected",
    [
        # AWSLambdaVPCAccessExecutionRole (v3) allows what Lambda needs.
        ([VPC_ACCESS], "ec2:CreateNetworkInterface", SUBNET, "allow"),
        ([VPC_ACCESS], "ec2:DescribeNetworkInterfaces", "*", "allow"),
        # Nothing said is an implicit deny.
        ([], "ec2:CreateNetworkInterface", ENI, "none"),
        ([allow("secretsmanager:GetSecretValue")], "ec2:CreateNetworkInterface", ENI, "none"),
        # Actions match case-insensitively, with * and ? as wildcards.
        ([allow("EC2:create*")], "ec2:CreateNetworkInterface", ENI, "allow"),
        ([allow("ec2:?eleteNetworkInterface")], "ec2:DeleteNetworkInterface", ENI, "allow"),
        ([allow("ec2:Describe?")], "ec2:DescribeNetworkInterfaces", "*", "none"),
        # Resources match case-sensitively; a narrower resource leaves the rest out.
        ([allow("ec2:*", f"arn:aws:ec2:*:{ACCOUNT}:network-interface/*")], "ec2:CreateNetworkInterface", GROUP, "none"),
        ([allow("ec2:*", f"arn:aws:ec2:us-east-1:{ACCOUNT}:*/*")], "ec2:CreateNetworkInterface", GROUP, "allow"),
        ([allow("ec2:*", "ARN:aws:ec2:*")], "ec2:CreateNetworkInterface", GROUP, "none"),
        # DescribeNetworkInterfaces is authorised on "*" only: an ARN pattern does not cover it.
        ([allow("ec2:DescribeNetworkInterfaces", "arn:aws:ec2:*:*:*")], "ec2:DescribeNetworkInterfaces", "*", "none"),
        # NotAction and NotResource.
        ([{"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}], "ec2:CreateNetworkInterface", ENI, "allow"),
        ([{"Statement": [{"Effect": "Allow", "NotAction": "ec2:*", "Resource": "*"}]}], "ec2:CreateNetworkInterface", ENI, "none"),
        ([{"Statement": [{"Effect": "Allow", "Action": "ec2:*", "NotResource": GROUP}]}], "ec2:CreateNetworkInterface", GROUP, "none"),
        ([{"Statement": [{"Effect": "Allow", "Action": "ec2:*", "NotResource": GROUP}]}], "ec2:CreateNetworkInterface", SUBNET, "allow"),
        # An explicit Deny wins over any Allow, in any document.
        ([VPC_ACCESS, deny("ec2:DeleteNetworkInterface")], "ec2:DeleteNetworkInterface", ENI, "deny"),
        ([VPC_ACCESS, deny("ec2:DeleteNetworkInterface")], "ec2:CreateNetworkInterface", ENI, "allow"),
        # A condition needs a key there is none of: the Allow does not apply ...
        ([allow("ec2:*", Condition={"StringEquals": {"ec2:Vpc": "arn:aws:ec2:us-east-1:1:vpc/vpc-1"}})], "ec2:CreateNetworkInterface", ENI, "none"),
        # ... unless it is an IfExists on that key.
        ([allow("ec2:*", Condition={"StringEqualsIfExists": {"ec2:Vpc": "x"}})], "ec2:CreateNetworkInterface", ENI, "allow"),
        # An unknown condition never keeps a Deny from applying.
        ([VPC_ACCESS, deny("ec2:*", Condition={"Bool": {"aws:ViaAWSService": "false"}})], "ec2:CreateNetworkInterface", ENI, "deny"),
        # A statement on its own (not in a list) and a document as a string.
        ([{"Statement": {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}}], "logs:PutLogEvents", STREAM, "allow"),
        (['{"Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]}'], "logs:PutLogEvents", STREAM, "allow"),
    ],
)
def test_policy_decision(documents, action, resource, expected):
    assert strict.policy_decision(documents, action, resource) == expected


def test_a_permissions_boundary_must_allow_too():
    identity = [VPC_ACCESS]
    assert strict.permits(identity, None, "ec2:CreateNetworkInterface", ENI)
    assert strict.permits(identity, [allow("ec2:*")], "ec2:CreateNetworkInterface", ENI)
    assert not strict.permits(identity, [allow("logs:*")], "ec2:CreateNetworkInterface", ENI)
    assert not strict.permits(identity, [], "ec2:CreateNetworkInterface", ENI)
    # The boundary alone grants nothing.
    assert not strict.permits([], [allow("*")], "ec2:CreateNetworkInterface", ENI)


@pytest.mark.parametrize(
    "pattern, value, case_sensitive, expected",
    [
        ("*", "", True, True),
        ("logs:*", "logs:PutLogEvents", True, True),
        ("LOGS:put*", "logs:PutLogEvents", False, True),
        ("LOGS:put*", "logs:PutLogEvents", True, False),
        ("ec2:*NetworkInterface*", "ec2:DescribeNetworkInterfaces", False, True),
        ("arn:?ws:*", "arn:aws:iam::1:role/r", True, True),
        ("a*b", "acb", True, True),
        ("a*b", "acc", True, False),
        ("[ab]", "a", True, False),  # no character classes in IAM
        ("*a" * 20 + "b", "a" * 64, True, False),  # a crafted policy answers at once
    ],
)
def test_wildcards_match_as_iam_reads_them(pattern, value, case_sensitive, expected):
    assert strict._wildcard(pattern, value, case_sensitive) is expected
