"""KMS operations take a key ARN where they take a key id (kms_keys), through boto3
against moto in this process, with the patch installed for the test only."""

import boto3
import pytest
from moto import mock_aws

import kms_keys
import patching

ARN = "arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize(
    "given, expected",
    [
        ("1234abcd-12ab-34cd-56ef-1234567890ab", "1234abcd-12ab-34cd-56ef-1234567890ab"),
        (ARN, "1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("mrk-1234abcd12ab34cd56ef1234567890ab", "mrk-1234abcd12ab34cd56ef1234567890ab"),
        ("arn:aws:kms:us-east-2:111122223333:alias/app", "arn:aws:kms:us-east-2:111122223333:alias/app"),  # not a key ARN: as sent
    ],
)
def test_the_key_id_a_key_id_names(given, expected):
    assert kms_keys.key_id(given) == expected


@pytest.fixture
def patched(monkeypatch):
    """kms_keys.install, undone after the test (moto's classes are shared by every test)."""

    def replace(owner, name, replacement):
        original = getattr(owner, name)
        monkeypatch.setattr(owner, name, replacement)
        return original

    monkeypatch.setattr(patching, "replace", replace)
    kms_keys.install()


@pytest.mark.parametrize("by", ["KeyId", "Arn"])
def test_a_key_is_disabled_enabled_scheduled_for_deletion_and_revived_by_its_id_or_arn(patched, by):
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        metadata = kms.create_key()["KeyMetadata"]
        key = metadata[by]

        def state():
            return kms.describe_key(KeyId=metadata["KeyId"])["KeyMetadata"]["KeyState"]

        kms.disable_key(KeyId=key)
        assert state() == "Disabled"
        kms.enable_key(KeyId=key)
        assert state() == "Enabled"
        scheduled = kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        assert scheduled["KeyId"] == metadata["Arn"]  # API reference: the key ARN, whatever was sent
        assert state() == "PendingDeletion"
        assert kms.cancel_key_deletion(KeyId=key)["KeyId"] == metadata["Arn"]
        assert state() == "Disabled"


def test_an_arn_of_no_key_is_refused_as_not_found(patched):
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        with pytest.raises(kms.exceptions.NotFoundException):
            kms.schedule_key_deletion(KeyId="arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")


# --------------------------------------------------------------------------- which key: region, account, partition

HERE = ("aws", "us-east-1", "123456789012")


@pytest.mark.parametrize(
    "given, foreign",
    [
        ("1234abcd-12ab-34cd-56ef-1234567890ab", False),
        ("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", False),
        ("arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", True),  # another region
        ("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", True),  # another account
        ("arn:aws-cn:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", True),  # another partition
        ("arn:aws:kms:us-east-1:123456789012:alias/app", False),  # not a key ARN: moto's own answer
    ],
)
def test_a_key_arn_of_another_region_account_or_partition_is_foreign(given, foreign):
    assert kms_keys.foreign_key_arn(given, *HERE) is foreign


def client():
    return boto3.client("kms", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def state_of(kms, key_id):
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]


@pytest.mark.parametrize("where", [("eu-west-1", "123456789012"), ("us-east-1", "111122223333")])
@pytest.mark.parametrize("operation", ["disable_key", "schedule_key_deletion"])
def test_another_regions_or_accounts_key_arn_is_not_found_and_the_local_key_is_untouched(patched, where, operation):
    with mock_aws():
        kms = client()
        key = kms.create_key()["KeyMetadata"]
        region, account = where
        elsewhere = f"arn:aws:kms:{region}:{account}:key/{key['KeyId']}"
        with pytest.raises(kms.exceptions.NotFoundException):
            getattr(kms, operation)(KeyId=elsewhere)
        assert state_of(kms, key["KeyId"]) == "Enabled"


# --------------------------------------------------------------------------- which state (kms-key-state)

ARN_ = "arn:aws:kms:us-east-1:123456789012:key/k"


@pytest.mark.parametrize(
    "operation, state, manager, expected",
    [
        # KMS developer guide, "Key states of AWS KMS keys": its table, notes [3], [4], [5], [12].
        ("EnableKey", "Enabled", "CUSTOMER", None),
        ("EnableKey", "Disabled", "CUSTOMER", None),
        ("EnableKey", "Unavailable", "CUSTOMER", None),
        ("EnableKey", "PendingDeletion", "CUSTOMER", ("KMSInvalidStateException", f"{ARN_} is pending deletion.")),
        ("EnableKey", "PendingImport", "CUSTOMER", ("KMSInvalidStateException", f"{ARN_} is pending import.")),
        ("DisableKey", "Enabled", "CUSTOMER", None),
        ("DisableKey", "Disabled", "CUSTOMER", None),
        ("DisableKey", "PendingDeletion", "CUSTOMER", ("KMSInvalidStateException", f"{ARN_} is pending deletion.")),
        ("DisableKey", "PendingImport", "CUSTOMER", ("KMSInvalidStateException", f"{ARN_} is pending import.")),
        ("ScheduleKeyDeletion", "Enabled", "CUSTOMER", None),
        ("ScheduleKeyDeletion", "Disabled", "CUSTOMER", None),
        ("ScheduleKeyDeletion", "PendingImport", "CUSTOMER", None),
        ("ScheduleKeyDeletion", "PendingDeletion", "CUSTOMER", ("KMSInvalidStateException", f"{ARN_} is pending deletion.")),
        ("CancelKeyDeletion", "PendingDeletion", "CUSTOMER", None),
        ("CancelKeyDeletion", "Enabled", "CUSTOMER", ("KMSInvalidStateException", f"{ARN_} is not pending deletion.")),
        ("CancelKeyDeletion", "Disabled", "CUSTOMER", ("KMSInvalidStateException", f"{ARN_} is not pending deletion.")),
    ],
)
def test_which_key_states_allow_each_operation(operation, state, manager, expected):
    assert kms_keys.state_refusal(operation, ARN_, state, manager) == expected


@pytest.mark.parametrize("operation", ["EnableKey", "DisableKey", "ScheduleKeyDeletion", "CancelKeyDeletion"])
def test_an_aws_managed_key_is_neither_enabled_disabled_nor_deleted(operation):
    code, message = kms_keys.state_refusal(operation, ARN_, "Enabled", "AWS")
    assert code == "AccessDeniedException"
    assert ARN_ in message and f"kms:{operation}" in message


@pytest.mark.parametrize(
    "days, refused",
    [(None, False), (7, False), (30, False), (6, True), (31, True), (0, True), (-1, True), ("7", True), (True, True)],
)
def test_the_pending_window_is_7_to_30_days(days, refused):
    refusal = kms_keys.pending_window_refusal(days)
    assert (refusal is not None) is refused
    if refused:
        assert refusal[0] == "ValidationException"


def test_enable_and_disable_refuse_a_key_pending_deletion_and_change_nothing(patched):
    with mock_aws():
        kms = client()
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        for operation in (kms.enable_key, kms.disable_key):
            with pytest.raises(kms.exceptions.KMSInvalidStateException, match="is pending deletion"):
                operation(KeyId=key)
            assert state_of(kms, key) == "PendingDeletion"


def test_cancel_key_deletion_refuses_a_key_not_pending_deletion_and_leaves_it_enabled(patched):
    with mock_aws():
        kms = client()
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        with pytest.raises(kms.exceptions.KMSInvalidStateException, match="is not pending deletion"):
            kms.cancel_key_deletion(KeyId=key)
        assert state_of(kms, key) == "Enabled"


def test_schedule_key_deletion_refuses_a_key_already_pending_deletion_and_keeps_its_date(patched):
    with mock_aws():
        kms = client()
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        first = kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        with pytest.raises(kms.exceptions.KMSInvalidStateException, match="is pending deletion"):
            kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=30)
        assert kms.describe_key(KeyId=key)["KeyMetadata"]["DeletionDate"] == first["DeletionDate"]


@pytest.mark.parametrize("days", [6, 31])
def test_a_pending_window_outside_7_to_30_days_is_refused_and_changes_nothing(patched, days):
    with mock_aws():
        kms = client()
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        with pytest.raises(kms.exceptions.ClientError) as raised:
            kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=days)
        assert raised.value.response["Error"]["Code"] == "ValidationException"
        assert state_of(kms, key) == "Enabled"


def test_an_aws_managed_key_is_not_scheduled_for_deletion(patched):
    from moto.kms.models import kms_backends

    with mock_aws():
        kms = client()
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        kms_backends["123456789012"]["us-east-1"].keys[key].key_manager = "AWS"  # as aws/secretsmanager is
        with pytest.raises(kms.exceptions.ClientError) as raised:
            kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
        assert state_of(kms, key) == "Enabled"


@pytest.mark.parametrize("days, expected", [(None, 30), (10, 10)])
def test_schedule_key_deletion_answers_the_key_state_and_the_waiting_period(patched, days, expected):
    with mock_aws():
        kms = client()
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        answer = kms.schedule_key_deletion(KeyId=key, **({} if days is None else {"PendingWindowInDays": days}))
        assert answer["KeyState"] == "PendingDeletion"
        assert answer["PendingWindowInDays"] == expected


def test_with_kms_key_state_off_moto_decides_the_states(patched, monkeypatch):
    import behaviours

    monkeypatch.setattr(behaviours, "OFF", frozenset({"kms-key-state"}))
    with mock_aws():
        kms = client()
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        kms.enable_key(KeyId=key)  # moto's: allowed
        assert state_of(kms, key) == "Enabled"
