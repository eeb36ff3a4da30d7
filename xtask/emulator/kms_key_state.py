"""A secret under a customer managed key serves only while the key is Enabled.

Secrets Manager keeps each version encrypted under a data key that the secret's KMS
key protects: reading a version asks KMS to ``Decrypt`` it, writing one asks KMS for
``GenerateDataKey`` (Secrets Manager user guide, "Secret encryption and decryption in
AWS Secrets Manager"). KMS refuses both for a key that is not Enabled (KMS developer
guide, "Key states of AWS KMS keys": Disabled answers ``DisabledException``,
PendingDeletion, PendingImport and Unavailable answer ``KMSInvalidStateException``),
and Secrets Manager then answers its own exceptions (API reference, GetSecretValue:
``DecryptionFailure`` "Secrets Manager can't decrypt the protected secret text using
the provided KMS key."; PutSecretValue, CreateSecret, UpdateSecret:
``EncryptionFailure`` "Secrets Manager can't encrypt the protected secret text using
the provided KMS key. Check that the KMS key is available, enabled, and not in an
invalid state."). The API reference gives those texts as the exceptions' descriptions;
that AWS answers them word for word could not be checked against a live account here.

moto stores the value in the clear and never asks its KMS, so a disabled key still
served. Which KMS calls a request makes is ``kms_key_policy.kms_uses`` (the same list
the key policy is judged on); the state of each key decides here, for every caller (the
key policy is judged only when IAM is enforced; a key's state whatever the caller).
The AWS managed key ``aws/secretsmanager`` is always Enabled.

Switch: ``kms-key-state``, which also decides, in ``kms_keys.py``, which states EnableKey,
DisableKey, ScheduleKeyDeletion and CancelKeyDeletion change a key from.
"""

from __future__ import annotations

import kms_key_policy
from behaviours import on
from emulator_log import log
from patching import replace

DECRYPTION_FAILURE = "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
ENCRYPTION_FAILURE = (
    "Secrets Manager can't encrypt the protected secret text using the provided KMS key. "
    "Check that the KMS key is available, enabled, and not in an invalid state."
)


def key_state_refusal(kms_action: str, key_state: str | None) -> tuple[str, str] | None:
    """The Secrets Manager error (code, message) for a KMS call on a key in `key_state`,
    or None where KMS serves it. Only Enabled serves a cryptographic operation (KMS
    developer guide, "Key states of AWS KMS keys"); a state moto does not report
    (None) is taken as Enabled, the state of every key moto creates."""
    if key_state in (None, "Enabled"):
        return None
    if kms_action == "kms:Decrypt":
        return "DecryptionFailure", DECRYPTION_FAILURE
    return "EncryptionFailure", ENCRYPTION_FAILURE


def _refuse_unusable_keys(backend, secret_id: str | None, action: str, params: dict) -> None:
    """Raises Secrets Manager's error if a KMS call `action` needs is on a key that is
    not Enabled. A secret that does not exist is left to moto's own answer."""
    secret = None
    if secret_id is not None:
        if not backend._is_valid_identifier(secret_id):
            return
        secret = backend.secrets[secret_id]
    secret_key = getattr(secret, "kms_key_id", None)
    for key_ref, kms_action, _version in kms_key_policy.kms_uses(action, params, secret_key, None):
        key = kms_key_policy.find_kms_key(backend.account_id, backend.region_name, key_ref)
        refusal = key_state_refusal(kms_action, getattr(key, "key_state", None)) if key is not None else None
        if refusal is not None:
            from moto.secretsmanager.exceptions import SecretsManagerClientError

            name = getattr(secret, "name", None) or secret_id or params.get("Name")
            log(f"secret {name!r}: {kms_action} refused, key {key.arn} is {key.key_state}")
            raise SecretsManagerClientError(*refusal)


def _value_params(secret_string, secret_binary, token=None, kms_key_id=None) -> dict:
    params = {"SecretString": secret_string, "SecretBinary": secret_binary, "ClientRequestToken": token}
    if kms_key_id is not None:
        params["KmsKeyId"] = kms_key_id
    return params


def install() -> None:
    """Wraps the Secrets Manager backend's reads and writes of values (whatever patches
    are already installed: this runs after them)."""
    from moto.secretsmanager import models as sm_models

    backend = sm_models.SecretsManagerBackend
    original_get = backend.get_secret_value
    original_put = backend.put_secret_value
    original_update = backend.update_secret
    original_create = backend.create_secret

    def get_secret_value(self, secret_id, version_id, version_stage):
        answer = original_get(self, secret_id, version_id, version_stage)  # moto's own refusals first
        if on("kms-key-state"):
            _refuse_unusable_keys(self, secret_id, "secretsmanager:GetSecretValue", {})
        return answer

    def put_secret_value(self, secret_id, secret_string=None, secret_binary=None, client_request_token=None, version_stages=None):
        if on("kms-key-state"):
            _refuse_unusable_keys(self, secret_id, "secretsmanager:PutSecretValue", _value_params(secret_string, secret_binary, client_request_token))
        return original_put(self, secret_id, secret_string, secret_binary, client_request_token, version_stages)

    def update_secret(self, secret_id, *args, **kwargs):
        if on("kms-key-state"):
            params = _value_params(kwargs.get("secret_string"), kwargs.get("secret_binary"), kwargs.get("client_request_token"), kwargs.get("kms_key_id"))
            _refuse_unusable_keys(self, secret_id, "secretsmanager:UpdateSecret", params)
        return original_update(self, secret_id, *args, **kwargs)

    def create_secret(self, name, *args, **kwargs):
        if on("kms-key-state") and kwargs.get("kms_key_id"):
            params = _value_params(kwargs.get("secret_string"), kwargs.get("secret_binary"), kwargs.get("client_request_token"), kwargs["kms_key_id"])
            _refuse_unusable_keys(self, None, "secretsmanager:CreateSecret", {**params, "Name": name})
        return original_create(self, name, *args, **kwargs)

    replace(backend, "get_secret_value", get_secret_value)
    replace(backend, "put_secret_value", put_secret_value)
    replace(backend, "update_secret", update_secret)
    replace(backend, "create_secret", create_secret)
