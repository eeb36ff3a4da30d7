"""KMS key operations that name the key by its ARN answer as they do by its id.

The KMS API reference says of ``KeyId`` in EnableKey, DisableKey, ScheduleKeyDeletion
and CancelKeyDeletion alike: "Specify the key ID or key ARN of the KMS key." moto
5.2.5 checks that the key exists either way (``KmsResponse._validate_cmk_id``), then
looks the given text up among its key ids (``KmsBackend.keys[key_id]``): a key ARN
raised a KeyError, answered as HTTP 500. Here each of those four backend methods is
given the key id (``key_id``, moto's own ``get_key_id``), and ScheduleKeyDeletion and
CancelKeyDeletion answer ``KeyId`` as the API reference describes it: "The Amazon
Resource Name (key ARN) of the KMS key" (moto echoed what was sent).

Not a behaviour with a switch: a 500 is no kinder than AWS, so this applies with
``EMULATOR_STRICT=off`` too.
"""

from __future__ import annotations

import json

import patching

# moto's KmsBackend methods that index its keys by the KeyId as sent.
BACKEND_METHODS = ("enable_key", "disable_key", "cancel_key_deletion", "schedule_key_deletion")
# Operations whose answer's KeyId is the key ARN (API reference, each one's response).
ANSWER_KEY_ARN = ("cancel_key_deletion", "schedule_key_deletion")


def key_id(key: str) -> str:
    """The key id a KeyId names: the id itself, or the part after ``:key/`` of a key ARN."""
    if key.startswith("arn:") and ":key/" in key:
        return key.split(":key/", 1)[1]
    return key


def _by_key_id(original):
    def method(self, key, *args, **kwargs):
        return original(self, key_id(key), *args, **kwargs)

    return method


def _answer_key_arn(original):
    def method(self):
        answer = json.loads(original(self))
        key = self.kms_backend.keys.get(key_id(answer.get("KeyId") or ""))
        if key is not None:
            answer["KeyId"] = key.arn
        return json.dumps(answer)

    return method


def install() -> None:
    from moto.kms.models import KmsBackend
    from moto.kms.responses import KmsResponse

    for name in BACKEND_METHODS:
        patching.replace(KmsBackend, name, _by_key_id(getattr(KmsBackend, name)))
    for name in ANSWER_KEY_ARN:
        patching.replace(KmsResponse, name, _answer_key_arn(getattr(KmsResponse, name)))
