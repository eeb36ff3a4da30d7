"""A secret under a customer managed key: which KMS calls Secrets Manager makes for a
request (kms_key_policy.kms_uses), and whether the key policy and the caller's IAM policies
allow them (kms_key_policy.key_access_decision over the shared evaluator); and
ModifyVpcEndpoint's ResetPolicy flag (ec2_dependencies.reset_requested)."""

import pytest

import ec2_dependencies
import iam_policies
import kms_key_policy

ACCOUNT = "123456789012"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/s"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/reader"
VALIDATE = "RequestToValidateKeyAccess"


@pytest.mark.parametrize(
    "action, params, secret_key, expected",
    [
        ("secretsmanager:GetSecretValue", {}, KEY, [(KEY, "kms:Decrypt", "v1")]),
        ("secretsmanager:PutSecretValue", {"SecretString": "x", "ClientRequestToken": "t"}, KEY, [(KEY, "kms:GenerateDataKey", "t")]),
        # the AWS managed key, named or by default: nothing to judge
        ("secretsmanager:GetSecretValue", {}, None, []),
        ("secretsmanager:GetSecretValue", {}, "alias/aws/secretsmanager", []),
        ("secretsmanager:CreateSecret", {"SecretString": "x"}, None, []),
        ("secretsmanager:CreateSecret", {"KmsKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/aws/secretsmanager", "SecretString": "x"}, None, []),
        # establishing a key validates both operations, a value needs a data key
        (
            "secretsmanager:CreateSecret",
            {"KmsKeyId": KEY, "SecretString": "x", "ClientRequestToken": "t"},
            None,
            [(KEY, "kms:GenerateDataKey", VALIDATE), (KEY, "kms:Decrypt", VALIDATE), (KEY, "kms:GenerateDataKey", "t")],
        ),
        ("secretsmanager:CreateSecret", {"KmsKeyId": KEY}, None, [(KEY, "kms:GenerateDataKey", VALIDATE), (KEY, "kms:Decrypt", VALIDATE)]),
        ("secretsmanager:UpdateSecret", {"SecretBinary": "eA=="}, KEY, [(KEY, "kms:GenerateDataKey", None)]),
        ("secretsmanager:UpdateSecret", {"Description": "d"}, KEY, []),
        # an empty KmsKeyId chooses aws/secretsmanager again: the new value needs no key
        ("secretsmanager:UpdateSecret", {"KmsKeyId": "", "SecretString": "x"}, KEY, []),
        # a KmsKeyId that is no key name is moto's to refuse, not a crash here
        ("secretsmanager:UpdateSecret", {"KmsKeyId": 123}, KEY, []),
        ("secretsmanager:DescribeSecret", {}, KEY, []),
        ("secretsmanager:ListSecretVersionIds", {}, KEY, []),
    ],
)
def test_the_kms_calls_a_request_makes(action, params, secret_key, expected):
    assert kms_key_policy.kms_uses(action, params, secret_key, "v1") == expected


def key_policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


ENABLE_IAM = {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
DENY_READER = {"Effect": "Deny", "Principal": {"AWS": ROLE}, "Action": "kms:Decrypt", "Resource": "*"}
ALLOW_READER = {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:Decrypt", "Resource": "*"}
IAM_DECRYPT = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}]}
IAM_DECRYPT_VIA = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": KEY,
            "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com", "kms:EncryptionContext:SecretARN": SECRET}},
        }
    ],
}


def may_decrypt(policy, identity_documents, boundary=None, context_extra=None):
    context = iam_policies.request_context(ROLE, "us-east-1", context_extra or {})
    identity = iam_policies.policy_decision(identity_documents, "kms:Decrypt", KEY, context)
    bounded = None if boundary is None else iam_policies.policy_decision(boundary, "kms:Decrypt", KEY, context)
    on_key = iam_policies.resource_policy_decision(policy, "kms:Decrypt", KEY, context, SESSION, ACCOUNT, boundary is not None)
    return kms_key_policy.key_access_decision(identity, bounded, on_key)


VIA = {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com", "kms:EncryptionContext:SecretARN": SECRET}


@pytest.mark.parametrize(
    "policy, identity, boundary, extra, allowed",
    [
        # without the key policy's delegation, an IAM Allow has no effect
        (key_policy(), [IAM_DECRYPT], None, None, False),
        (key_policy({**ENABLE_IAM, "Action": "kms:DescribeKey"}), [IAM_DECRYPT], None, None, False),
        # with it, IAM decides
        (key_policy(ENABLE_IAM), [IAM_DECRYPT], None, None, True),
        (key_policy(ENABLE_IAM), [], None, None, False),
        # the key policy alone can grant the role
        (key_policy(ALLOW_READER), [], None, None, True),
        (key_policy(ALLOW_READER), [], [IAM_DECRYPT], None, True),
        (key_policy(ALLOW_READER), [], [{"Version": "2012-10-17", "Statement": []}], None, False),
        # a Deny in the key policy or in IAM wins
        (key_policy(ENABLE_IAM, DENY_READER), [IAM_DECRYPT], None, None, False),
        (key_policy(ENABLE_IAM, ALLOW_READER), [{"Version": "2012-10-17", "Statement": [{**IAM_DECRYPT["Statement"][0], "Effect": "Deny"}]}], None, None, False),
        # conditions on kms:ViaService and the encryption context, as deploy writes them
        (key_policy(ENABLE_IAM), [IAM_DECRYPT_VIA], None, VIA, True),
        (key_policy(ENABLE_IAM), [IAM_DECRYPT_VIA], None, {**VIA, "kms:EncryptionContext:SecretARN": SECRET + "x"}, False),
        (key_policy(ENABLE_IAM), [IAM_DECRYPT_VIA], None, None, False),  # not through Secrets Manager
    ],
)
def test_the_key_policy_is_authoritative(policy, identity, boundary, extra, allowed):
    assert may_decrypt(policy, identity, boundary, extra) is allowed


@pytest.mark.parametrize(
    "identity, boundary, on_key, allowed",
    [
        ("allow", None, "none", False),  # IAM alone never opens a key
        ("allow", None, "account", True),
        ("none", None, "account", False),
        ("allow", "none", "account", False),
        ("none", None, "caller", True),
        ("allow", None, "deny", False),
        ("deny", None, "caller", False),
    ],
)
def test_key_access_needs_the_key_policy(identity, boundary, on_key, allowed):
    assert kms_key_policy.key_access_decision(identity, boundary, on_key) is allowed


@pytest.mark.parametrize("value, reset", [("true", True), (True, True), ("True", True), ("false", False), (None, False), ("", False)])
def test_reset_policy_flag(value, reset):
    assert ec2_dependencies.reset_requested(value) is reset
