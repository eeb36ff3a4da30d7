"""What a policy allows: an execution role for Lambda, a caller, a trust policy,
a function's resource policy for Secrets Manager (iam_policies.policy_decision / permits,
sts_trust.trust_allows, secrets_manager.invoke_permitted)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import iam_policies  # noqa: E402
import secrets_manager  # noqa: E402
import sts_trust  # noqa: E402

ACCOUNT = "123456789012"
ENI = f"arn:aws:ec2:us-east-1:{ACCOUNT}:network-interface/*"
SUBNET = f"arn:aws:ec2:us-east-1:{ACCOUNT}:subnet/subnet-1"
GROUP = f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-1"
STREAM = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/f:log-stream:2026/01/01/[$LATEST]abc"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/rotator"
CONTEXT = iam_policies.request_context(ROLE, "us-east-1")


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
        # ... nor does an IfExists on a key AWS may send and the emulator does not
        # model (ec2:Vpc): undecidable, it errs towards refusing.
        ([allow("ec2:*", Condition={"StringEqualsIfExists": {"ec2:Vpc": "x"}})], "ec2:CreateNetworkInterface", ENI, "none"),
        # An IfExists on a key the emulator models and this call lacks does apply.
        ([allow("ec2:*", Condition={"StringEqualsIfExists": {"aws:SourceArn": "x"}})], "ec2:CreateNetworkInterface", ENI, "allow"),
        # A condition on the context: an Allow applies only where it holds ...
        ([allow("ec2:*", Condition={"StringEquals": {"aws:PrincipalAccount": ACCOUNT}})], "ec2:CreateNetworkInterface", ENI, "allow"),
        ([allow("ec2:*", Condition={"StringEquals": {"aws:PrincipalAccount": "999999999999"}})], "ec2:CreateNetworkInterface", ENI, "none"),
        # ... and so does a Deny: unmet, the Allow beside it decides.
        ([VPC_ACCESS, deny("ec2:*", Condition={"Bool": {"aws:SecureTransport": "false"}})], "ec2:CreateNetworkInterface", ENI, "allow"),
        ([VPC_ACCESS, deny("ec2:*", Condition={"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}})], "ec2:CreateNetworkInterface", ENI, "deny"),
        # A Deny on a key AWS always sends but the emulator does not model applies.
        ([VPC_ACCESS, deny("ec2:*", Condition={"Bool": {"aws:ViaAWSService": "false"}})], "ec2:CreateNetworkInterface", ENI, "deny"),
        # A condition the emulator cannot decide never lets an Allow apply, always a Deny.
        ([allow("ec2:*", Condition={"StringEqualsSometimes": {"aws:PrincipalAccount": ACCOUNT}})], "ec2:CreateNetworkInterface", ENI, "none"),
        ([VPC_ACCESS, deny("ec2:*", Condition={"StringEqualsSometimes": {"aws:PrincipalAccount": "1"}})], "ec2:CreateNetworkInterface", ENI, "deny"),
        # A statement on its own (not in a list) and a document as a string.
        ([{"Statement": {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}}], "logs:PutLogEvents", STREAM, "allow"),
        (['{"Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]}'], "logs:PutLogEvents", STREAM, "allow"),
    ],
)
def test_policy_decision(documents, action, resource, expected):
    assert iam_policies.policy_decision(documents, action, resource, CONTEXT) == expected


def test_a_permissions_boundary_must_allow_too():
    identity = [VPC_ACCESS]
    assert iam_policies.permits(identity, None, "ec2:CreateNetworkInterface", ENI, CONTEXT)
    assert iam_policies.permits(identity, [allow("ec2:*")], "ec2:CreateNetworkInterface", ENI, CONTEXT)
    assert not iam_policies.permits(identity, [allow("logs:*")], "ec2:CreateNetworkInterface", ENI, CONTEXT)
    assert not iam_policies.permits(identity, [], "ec2:CreateNetworkInterface", ENI, CONTEXT)
    # The boundary alone grants nothing.
    assert not iam_policies.permits([], [allow("*")], "ec2:CreateNetworkInterface", ENI, CONTEXT)
    # A boundary's conditions count too.
    narrowed = [allow("ec2:*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}})]
    assert not iam_policies.permits(identity, narrowed, "ec2:CreateNetworkInterface", ENI, CONTEXT)


def test_the_context_names_the_principal_the_region_and_secure_transport():
    assert CONTEXT["aws:PrincipalArn"] == ROLE
    assert CONTEXT["aws:PrincipalAccount"] == ACCOUNT
    assert CONTEXT["aws:PrincipalType"] == "AssumedRole"
    assert CONTEXT["aws:RequestedRegion"] == "us-east-1"
    assert CONTEXT["aws:SecureTransport"] == "true"
    assert "aws:SourceVpce" not in CONTEXT and "aws:SourceIp" not in CONTEXT
    user = iam_policies.request_context(f"arn:aws:iam::{ACCOUNT}:user/alice", None, {"aws:username": "alice"})
    assert user["aws:PrincipalType"] == "User" and user["aws:username"] == "alice"


CALLER = f"arn:aws:iam::{ACCOUNT}:user/alice"


def trust(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def trusting(condition=None, effect="Allow"):
    statement = {"Effect": effect, "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    if condition is not None:
        statement["Condition"] = condition
    return statement


@pytest.mark.parametrize(
    "document, external_id, expected",
    [
        (trust(trusting()), None, True),
        (trust(trusting({"StringEquals": {"sts:ExternalId": "e-1"}})), "e-1", True),
        (trust(trusting({"StringEquals": {"sts:ExternalId": "e-1"}})), "e-2", False),
        (trust(trusting({"StringEquals": {"sts:ExternalId": "e-1"}})), None, False),
        # Operators beyond StringEquals/StringLike, on keys AssumeRole knows.
        (trust(trusting({"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/a*"}})), None, True),
        (trust(trusting({"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}})), None, False),
        (trust(trusting({"Null": {"sts:ExternalId": "true"}})), None, True),
        # A Deny applies only where its condition holds.
        (trust(trusting(), trusting({"Null": {"sts:ExternalId": "true"}}, "Deny")), None, False),
        (trust(trusting(), trusting({"Null": {"sts:ExternalId": "true"}}, "Deny")), "e-1", True),
        (trust(trusting(), trusting({"Bogus": {"sts:ExternalId": "x"}}, "Deny")), "e-1", False),
    ],
)
def test_trust_policy_conditions(document, external_id, expected):
    assert sts_trust.trust_allows(document, CALLER, ACCOUNT, external_id) is expected


FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rotator"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app-AbCdEf"
OTHER = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:other-XyZabc"


def invoke(condition=None, principal=None, resource=FUNCTION, effect="Allow"):
    statement = {
        "Effect": effect,
        "Principal": principal or {"Service": "secretsmanager.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": resource,
    }
    if condition is not None:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


@pytest.mark.parametrize(
    "policy, expected",
    [
        (invoke(), True),
        ({}, False),
        (invoke(principal={"Service": "events.amazonaws.com"}), False),
        (invoke(principal="*"), True),
        (invoke(principal={"Service": ["events.amazonaws.com", "secretsmanager.amazonaws.com"]}), True),
        (invoke(principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), False),
        (invoke(resource=FUNCTION + ":live"), False),
        # Lambda's AddPermission writes SourceArn as ArnLike and SourceAccount as
        # StringEquals, with the key spelt AWS:...
        (invoke({"ArnLike": {"AWS:SourceArn": SECRET}}), True),
        (invoke({"ArnLike": {"AWS:SourceArn": OTHER}}), False),
        (invoke({"ArnLike": {"AWS:SourceArn": f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:app-*"}}), True),
        (invoke({"StringEquals": {"AWS:SourceAccount": ACCOUNT}}), True),
        (invoke({"StringEquals": {"AWS:SourceAccount": "999999999999"}}), False),
        (invoke({"StringEquals": {"AWS:SourceAccount": ACCOUNT}, "ArnLike": {"AWS:SourceArn": OTHER}}), False),
        # An explicit Deny for this secret wins.
        ({"Statement": invoke()["Statement"] + invoke({"ArnEquals": {"aws:SourceArn": SECRET}}, effect="Deny")["Statement"]}, False),
        ({"Statement": invoke()["Statement"] + invoke({"ArnEquals": {"aws:SourceArn": OTHER}}, effect="Deny")["Statement"]}, True),
    ],
)
def test_secrets_manager_may_invoke_the_function(policy, expected):
    assert secrets_manager.invoke_permitted(policy, FUNCTION, SECRET, ACCOUNT) is expected


# ---------------------------------------------------------------- a secret's resource policy

RP_USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
RP_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/rotator/fn"
RP_SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf"


def on_secret(effect, principal, action="secretsmanager:GetSecretValue", key="Principal", **extra):
    return {"Version": "2012-10-17", "Statement": [{"Effect": effect, key: principal, "Action": action, "Resource": "*", **extra}]}


@pytest.mark.parametrize(
    "document, caller, expected",
    [
        (on_secret("Deny", {"AWS": ROLE}), RP_SESSION, "deny"),  # a role's ARN names its sessions
        (on_secret("Deny", {"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"}), RP_SESSION, "none"),
        (on_secret("Deny", "*"), RP_USER, "deny"),
        (on_secret("Deny", {"AWS": ACCOUNT}), RP_USER, "deny"),  # the account names all its principals
        (on_secret("Deny", {"AWS": RP_USER}, key="NotPrincipal"), RP_SESSION, "deny"),  # everyone but alice
        # NotPrincipal spares only the caller named with its account, never the account's others.
        (on_secret("Deny", {"AWS": [RP_USER, ACCOUNT]}, key="NotPrincipal"), RP_USER, "none"),
        (on_secret("Deny", {"AWS": RP_USER}, key="NotPrincipal"), RP_USER, "deny"),  # "might" deny: denied here
        (on_secret("Deny", {"AWS": [f"arn:aws:iam::{ACCOUNT}:role/admin", f"arn:aws:iam::{ACCOUNT}:root"]}, key="NotPrincipal"), RP_SESSION, "deny"),
        (on_secret("Deny", {"AWS": [ROLE, f"arn:aws:iam::{ACCOUNT}:root"]}, key="NotPrincipal"), RP_SESSION, "deny"),  # the role, not its session
        (on_secret("Deny", {"AWS": [ROLE, RP_SESSION, ACCOUNT]}, key="NotPrincipal"), RP_SESSION, "none"),
        (on_secret("Deny", {"AWS": 5}), RP_USER, "none"),  # not a principal: names no one, and no error
        (on_secret("Allow", {"AWS": RP_USER}), RP_USER, "caller"),
        (on_secret("Allow", {"AWS": RP_SESSION}), RP_SESSION, "caller"),
        (on_secret("Allow", {"AWS": ROLE}), RP_SESSION, "role"),
        (on_secret("Allow", {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), RP_USER, "account"),  # a delegation only
        (on_secret("Allow", "*"), RP_USER, "everyone"),
        (on_secret("Allow", {"AWS": RP_USER}, key="NotPrincipal"), RP_SESSION, "none"),
        (on_secret("Allow", {"AWS": RP_USER}, action="secretsmanager:PutSecretValue"), RP_USER, "none"),
        # Conditions hold or not as in identity policies.
        (on_secret("Deny", "*", Condition={"StringNotEquals": {"aws:PrincipalArn": ROLE}}), RP_SESSION, "none"),
        (on_secret("Deny", "*", Condition={"StringNotEquals": {"aws:PrincipalArn": ROLE}}), RP_USER, "deny"),
    ],
)
def test_a_secrets_resource_policy_names_the_caller(document, caller, expected):
    context = iam_policies.request_context(iam_policies.principal_arn(caller), "us-east-1")
    assert iam_policies.resource_policy_decision(document, "secretsmanager:GetSecretValue", RP_SECRET, context, caller, ACCOUNT) == expected


@pytest.mark.parametrize(
    "identity, boundary, on_resource, allowed",
    [
        ("allow", None, "none", True),
        ("none", None, "none", False),
        ("allow", None, "deny", False),  # the resource policy's Deny wins
        ("none", None, "caller", True),  # either policy's Allow suffices in one account
        ("none", "none", "caller", True),  # naming the user or session itself: the boundary does not limit it
        ("none", "none", "role", False),  # naming the role's ARN: limited by its boundary
        ("none", "allow", "role", True),
        ("none", "none", "everyone", False),
        ("allow", "none", "none", False),  # an identity Allow outside the boundary
        ("allow", "deny", "caller", False),  # an explicit Deny anywhere wins
        ("deny", None, "caller", False),
    ],
)
def test_access_is_the_union_of_allows_within_one_account(identity, boundary, on_resource, allowed):
    assert iam_policies.access_decision(identity, boundary, on_resource) is allowed


def test_not_principal_never_spares_a_caller_with_a_permissions_boundary():
    document = on_secret("Deny", {"AWS": [RP_SESSION, ACCOUNT]}, key="NotPrincipal")
    context = iam_policies.request_context(iam_policies.principal_arn(RP_SESSION), "us-east-1")
    decide = lambda bounded: iam_policies.resource_policy_decision(document, "secretsmanager:GetSecretValue", RP_SECRET, context, RP_SESSION, ACCOUNT, bounded)  # noqa: E731
    assert (decide(False), decide(True)) == ("none", "deny")
