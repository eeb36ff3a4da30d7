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
