"""DescribeSecret's NextRotationDate as Secrets Manager answers it (secret_rotation with
schedules.py, behaviour rotation-schedule): a new value under AutomaticallyAfterDays
counts as a rotation, one under a ScheduleExpression does not, and rotation off
answers no date. The rotations themselves are the Rust fidelity test's."""

import time

import boto3
import pytest
from moto import mock_aws

import schedules
import secret_rotation
import secrets_manager

REGION = "us-east-1"


@pytest.fixture(scope="module", autouse=True)
def patched():
    secrets_manager.install_secretsmanager_patches()
    if secret_rotation.original_to_dict is None:  # installing twice would wrap the wrappers
        secret_rotation.install()


def configured(client, rules: dict, tags: list | None = None):
    """Secret "s" (with `tags`) with rotation configured by `rules` at the epoch (long ago)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.secretsmanager.models import secretsmanager_backends

    client.create_secret(Name="s", SecretString="one", Tags=tags or [])
    secret = secretsmanager_backends[DEFAULT_ACCOUNT_ID][REGION].secrets["s"]
    secret.rotation_requested = secret.rotation_enabled = True
    secret.rotation_lambda_arn = f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:rotator"
    secret.emulator_rotation_rules = dict(rules)
    secret_rotation.schedule_from(secret, 0)
    return secret


def next_date(client) -> int | None:
    answer = client.describe_secret(SecretId="s").get("NextRotationDate")
    return None if answer is None else int(answer.timestamp())


def test_a_new_value_under_automatically_after_days_counts_as_a_rotation():
    rules = {"AutomaticallyAfterDays": 30}
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        configured(client, rules)
        assert next_date(client) == 31 * 86400 - 1  # 1970-01-31 23:59:59 UTC
        client.put_secret_value(SecretId="s", SecretString="two", VersionStages=["AWSPENDING"])
        assert next_date(client) == 31 * 86400 - 1, "a pending value is no rotation"
        before = int(time.time())
        client.put_secret_value(SecretId="s", SecretString="three")
        after = int(time.time())
        assert next_date(client) in {schedules.next_rotation(rules, at)[0] for at in (before, after)}


def test_a_new_value_under_a_schedule_expression_leaves_the_date():
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        configured(client, {"ScheduleExpression": "rate(30 days)"})
        client.put_secret_value(SecretId="s", SecretString="two")
        assert next_date(client) == 31 * 86400 - 1
        rules = client.describe_secret(SecretId="s")["RotationRules"]
        assert rules == {"ScheduleExpression": "rate(30 days)", "AutomaticallyAfterDays": 30}


def test_rotation_turned_off_answers_no_next_rotation_date():
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        configured(client, {"AutomaticallyAfterDays": 30})
        client.cancel_rotate_secret(SecretId="s")
        assert "NextRotationDate" not in client.describe_secret(SecretId="s")
        listed = client.list_secrets()["SecretList"]
        assert [("NextRotationDate" in secret) for secret in listed] == [False]


def rotation_function(region: str = REGION) -> str:
    """A function Secrets Manager may invoke, as RotateSecret requires
    (behaviour invoke-permission); its ARN."""
    import io
    import json
    import zipfile

    iam = boto3.client("iam", region_name=region)
    role = iam.create_role(
        RoleName="rotator",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
    )["Role"]["Arn"]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("bootstrap", "#!/bin/sh\n")
    functions = boto3.client("lambda", region_name=region)
    arn = functions.create_function(FunctionName="rotator", Runtime="provided.al2023", Role=role, Handler="bootstrap", Code={"ZipFile": package.getvalue()})["FunctionArn"]
    functions.add_permission(FunctionName="rotator", StatementId="secrets", Action="lambda:InvokeFunction", Principal="secretsmanager.amazonaws.com")
    return arn


def turned_off_and_back_on(client, rules: dict) -> None:
    """CancelRotateSecret, then RotateSecret(RotateImmediately=false) with no rules:
    the stored `rules` apply again, counted from that call."""
    client.cancel_rotate_secret(SecretId="s")
    assert next_date(client) is None
    before = int(time.time())
    client.rotate_secret(SecretId="s", RotateImmediately=False)
    after = int(time.time())
    described = client.describe_secret(SecretId="s")
    assert described["RotationEnabled"] is True
    assert {key: described["RotationRules"][key] for key in rules} == rules, "the stored rules apply again"
    assert next_date(client) in {schedules.next_rotation(rules, at)[0] for at in (before, after)}
    assert next_date(client) > after, "the next rotation is ahead, not a date from before rotation was off"


@pytest.mark.parametrize("rules", [{"ScheduleExpression": "rate(10 days)"}, {"AutomaticallyAfterDays": 10}])
def test_rotation_turned_back_on_without_rules_counts_the_next_window_from_then(rules, monkeypatch):
    """CancelRotateSecret, then RotateSecret(RotateImmediately=false) with no rules: the
    stored schedule applies again from the call, not the date computed before rotation
    was turned off (here in 1970, long passed with no rotation failing)."""
    started = []
    monkeypatch.setattr(secret_rotation.ROTATIONS, "start", lambda secret, token, steps, *rest, **kw: started.append(tuple(steps)))
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        secret = configured(client, rules)
        secret.rotation_lambda_arn = rotation_function()
        assert next_date(client) == 11 * 86400 - 1  # 1970-01-11 23:59:59 UTC
        turned_off_and_back_on(client, rules)
        assert started == [("testSecret",)], "RotateImmediately=false only tests the configuration"


def test_managed_rotation_turned_back_on_without_rules_counts_the_next_window_from_then():
    """The same for a secret RDS manages (configure_managed_rotation): CancelRotateSecret
    turns its rotation off though it has no function, and RotateSecret with no function
    and no rules then must not bring back the date computed before."""
    rules = {"AutomaticallyAfterDays": 7}
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        secret = configured(client, rules, tags=[{"Key": "aws:secretsmanager:owningService", "Value": "rds"}])
        secret.rotation_lambda_arn = None
        assert secret.owning_service == "rds"
        assert next_date(client) == 8 * 86400 - 1  # 1970-01-08 23:59:59 UTC
        turned_off_and_back_on(client, rules)
