"""A call through an interface endpoint as the endpoint's policy judges it
(endpoint_policy.endpoint_policy_refusal): the policy limits, never grants; the default
(full access) lets everything through; its refusals read as AWS's AccessDenied."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import ec2_dependencies  # noqa: E402
import endpoint_policy  # noqa: E402
import iam_policies  # noqa: E402
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
        # The principal: the role session, its role, everyone, or (an interface
        # endpoint) the account, which names all its identities; not another role,
        # nor another account.
        (policy(statement("Allow", "*", {"AWS": ROLE})), "secretsmanager:GetSecretValue", None),
        (policy(statement("Allow", "*", {"AWS": SESSION})), "secretsmanager:GetSecretValue", None),
        (policy(statement("Allow", "*", {"AWS": f"arn:aws:iam::{ACCOUNT}:role/someone-else"})), "secretsmanager:GetSecretValue", "because no VPC endpoint policy allows"),
        (policy(statement("Allow", "*", {"AWS": ACCOUNT})), "secretsmanager:GetSecretValue", None),
        (policy(statement("Allow", "*", {"AWS": f"arn:aws:iam::{ACCOUNT}:root"})), "secretsmanager:GetSecretValue", None),
        (policy(statement("Allow", "*", {"AWS": "210987654321"})), "secretsmanager:GetSecretValue", "because no VPC endpoint policy allows"),
        (policy(ALLOW_ALL, statement("Deny", "*", {"AWS": ACCOUNT})), "secretsmanager:GetSecretValue", "with an explicit deny"),
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
    answer = endpoint_policy.endpoint_policy_refusal(document, action, SECRET, SESSION, ACCOUNT, "us-east-1", ENDPOINT, VPC)
    if refused is None:
        assert answer is None
    else:
        assert answer is not None and refused in answer, answer


def test_a_refusal_reads_as_awss_access_denied():
    denied = endpoint_policy.endpoint_policy_refusal(
        policy(ALLOW_ALL, statement("Deny", "secretsmanager:PutSecretValue")), "secretsmanager:PutSecretValue", SECRET, SESSION, ACCOUNT, "us-east-1", ENDPOINT, VPC
    )
    assert denied == (
        f"User: {SESSION} is not authorized to perform: secretsmanager:PutSecretValue on resource: {SECRET} "
        "with an explicit deny in a VPC endpoint policy"
    )


def test_a_call_through_an_endpoint_names_it_and_its_vpc():
    assert endpoint_policy.endpoint_keys(ENDPOINT, VPC) == {"aws:SourceVpce": ENDPOINT, "aws:SourceVpc": VPC}
    assert "aws:SourceVpce" not in iam_policies.request_context(ROLE, "us-east-1")


@pytest.mark.parametrize("principal", [{"AWS": ACCOUNT}, {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}])
def test_a_gateway_endpoints_account_principal_is_its_root_user_only(principal):
    """PrivateLink guide, "Principals for gateway endpoints": the account names its
    root user there, not its users and roles."""
    document = policy(statement("Allow", "*", principal))
    args = ("secretsmanager:GetSecretValue", SECRET, SESSION, ACCOUNT, "us-east-1", ENDPOINT, VPC)
    assert "because no VPC endpoint policy allows" in endpoint_policy.endpoint_policy_refusal(document, *args, gateway=True)
    assert endpoint_policy.endpoint_policy_refusal(document, *args, gateway=False) is None


@pytest.mark.parametrize(
    "document, refused",
    [
        (policy(ALLOW_ALL), False),
        (policy(statement("Allow", "*", {"AWS": "*"})), False),
        (policy(statement("Allow", "*", {"AWS": ACCOUNT})), True),
        (policy(statement("Allow", "*", {"AWS": ROLE})), True),
        (policy(statement("Allow", "*", {"AWS": SESSION})), True),
    ],
)
def test_an_anonymous_caller_is_named_by_everyone_only(document, refused):
    answer = endpoint_policy.endpoint_policy_refusal(document, "secretsmanager:GetSecretValue", SECRET, None, ACCOUNT, "us-east-1", ENDPOINT, VPC)
    assert (answer is not None) == refused, answer
    if refused:
        assert answer.startswith("User: anonymous is not authorized to perform: secretsmanager:GetSecretValue")


def test_the_signer_is_whoever_signed_the_request():
    """The caller is the access key's: a role session (with its session token), an
    IAM user; an unknown key, a wrong token or no signature is nobody (anonymous)."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    account = "111122223333"
    iam = iam_backends[account]["aws"]
    role = iam.create_role("signer-role", "{}", "/", None, "", [], None)
    user = iam.create_user(region_name="us-east-1", user_name="signer-user", path="/", tags=[])
    user_key = iam.create_access_key(user.name, prefix="AKIA")
    session = sts_backends[account]["aws"].assume_role(
        region_name="us-east-1", role_session_name="fn", role_arn=role.arn, policy=None, duration=900, external_id=None
    )

    def signed(key, token=None):
        environ = {"HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0"}
        if token is not None:
            environ["HTTP_X_AMZ_SECURITY_TOKEN"] = token
        return endpoint_policy.signer_arn(environ)

    assert signed(session.access_key_id, session.session_token) == f"arn:aws:sts::{account}:assumed-role/signer-role/fn"
    assert signed(session.access_key_id, "not-the-token") is None
    assert signed(user_key.access_key_id) == f"arn:aws:iam::{account}:user/signer-user"
    assert signed("AKIAUNKNOWN000000000") is None
    assert endpoint_policy.signer_arn({}) is None


def test_private_dns_needs_the_vpcs_dns_support_and_hostnames():
    """CreateVpcEndpoint/ModifyVpcEndpoint ``PrivateDnsEnabled=true`` in a VPC without
    DNS hostnames (or DNS support) is InvalidParameter; ``false`` or absent is not
    judged; with both attributes on it is accepted."""
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models import ec2_backends

    backend = ec2_backends["111122223333"]["us-east-1"]
    vpc = backend.create_vpc("10.9.0.0/16")
    with pytest.raises(EC2ClientError) as refused:
        ec2_dependencies.refuse_private_dns_without_vpc_dns(backend, vpc.id, "true")
    assert refused.value.code == "InvalidParameter" and vpc.id in refused.value.message
    ec2_dependencies.refuse_private_dns_without_vpc_dns(backend, vpc.id, "false")
    ec2_dependencies.refuse_private_dns_without_vpc_dns(backend, vpc.id, None)
    backend.modify_vpc_attribute(vpc.id, "enable_dns_hostnames", "true")
    ec2_dependencies.refuse_private_dns_without_vpc_dns(backend, vpc.id, "true")
    backend.modify_vpc_attribute(vpc.id, "enable_dns_support", "false")
    with pytest.raises(EC2ClientError):
        ec2_dependencies.refuse_private_dns_without_vpc_dns(backend, vpc.id, "true")


def test_a_query_calls_action_is_named_from_a_get_too():
    """A query-protocol call's Action may come in the query string of a GET; it is
    judged as the same call sent as a POST."""
    import io

    get = {"REQUEST_METHOD": "GET", "QUERY_STRING": "Action=GetCallerIdentity&Version=2011-06-15", "wsgi.input": io.BytesIO(b"")}
    post_body = b"Action=GetCallerIdentity&Version=2011-06-15"
    post = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(post_body)), "wsgi.input": io.BytesIO(post_body)}
    for environ in (get, post):
        assert strict._endpoint_request(environ, "sts", ACCOUNT, "us-east-1") == ("sts:GetCallerIdentity", "*")
    assert post["wsgi.input"].read() == post_body  # put back for moto
