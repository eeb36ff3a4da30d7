"""A key's state decides whether Secrets Manager can decrypt or encrypt under it
(kms_key_state.key_state_refusal)."""

import pytest

import kms_key_state


@pytest.mark.parametrize(
    "kms_action, state, expected",
    [
        ("kms:Decrypt", "Enabled", None),
        ("kms:GenerateDataKey", "Enabled", None),
        ("kms:Decrypt", None, None),  # a key moto reports no state for: as created, Enabled
        ("kms:Decrypt", "Disabled", "DecryptionFailure"),
        ("kms:Decrypt", "PendingDeletion", "DecryptionFailure"),
        ("kms:Decrypt", "PendingImport", "DecryptionFailure"),
        ("kms:Decrypt", "Unavailable", "DecryptionFailure"),
        ("kms:GenerateDataKey", "Disabled", "EncryptionFailure"),
        ("kms:GenerateDataKey", "PendingDeletion", "EncryptionFailure"),
    ],
)
def test_only_an_enabled_key_serves(kms_action, state, expected):
    refusal = kms_key_state.key_state_refusal(kms_action, state)
    assert (refusal[0] if refusal else None) == expected


def test_the_messages_are_the_api_references():
    assert kms_key_state.key_state_refusal("kms:Decrypt", "Disabled")[1] == (
        "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
    )
    assert "Check that the KMS key is available, enabled, and not in an invalid state." in (
        kms_key_state.key_state_refusal("kms:GenerateDataKey", "Disabled")[1]
    )
