"""KMS's EnableKey, DisableKey, ScheduleKeyDeletion and CancelKeyDeletion as AWS answers them.

Which key. The KMS API reference says of ``KeyId`` in the four operations alike:
"Specify the key ID or key ARN of the KMS key." moto 5.2.5 checks that the key exists
either way (``KmsResponse._validate_cmk_id``), then looked the given text up among its
key ids (``KmsBackend.keys[key_id]``): a key ARN raised a KeyError, answered as HTTP
500. Each backend method is now given the key id (``key_id``). moto also took any ARN
ending in ``:key/<id>`` as the local key, whatever its partition, region and account:
DisableKey or ScheduleKeyDeletion with another region's or account's ARN acted on the
key here. A KMS key lives in one region (KMS developer guide, "AWS KMS keys": "KMS keys
are created in a single AWS Region"; another region's key is NotFoundException) and
the API reference says of the four: "Cross-account use: No. You cannot perform this
operation on a KMS key in a different AWS account." An ARN whose partition, region or
account is not the request's is answered NotFoundException (``foreign_key_arn``), as a
key that does not exist is. ScheduleKeyDeletion and CancelKeyDeletion answer
``KeyId`` as the API reference describes it: "The Amazon Resource Name (key ARN) of
the KMS key" (moto echoed what was sent); ScheduleKeyDeletion also answers
``KeyState`` and ``PendingWindowInDays`` (API reference, ScheduleKeyDeletion, Response
Elements; the developer guide's "Schedule key deletion" shows them in its example),
which moto left out. None of this is a behaviour with a switch: a 500, an
act on the wrong key or a missing field is no kinder than AWS, so it applies with
``EMULATOR_STRICT=off`` too.

Which state. moto changes the state whatever it was. KMS allows each of the four only
in some key states (KMS developer guide, "Key states of AWS KMS keys", its table and
notes): EnableKey and DisableKey refuse a key pending deletion ("KMSInvalidStateException:
<key ARN> is pending deletion.") or pending import; ScheduleKeyDeletion refuses a key
already pending deletion (it does not start the waiting period again); CancelKeyDeletion
refuses a key that is not pending deletion ("<key ARN> is not pending deletion.";
moto disabled an Enabled key). PendingWindowInDays "must be between 7 and 30,
inclusive" (API reference, ScheduleKeyDeletion; moto answered 200, changed nothing and
answered no DeletionDate). An AWS managed key is enabled, disabled or deleted by no
one (developer guide, "Enable and disable keys": "You cannot enable or disable AWS
managed keys"; "Schedule key deletion": "You cannot schedule the deletion of AWS
managed keys or AWS owned keys"): its key policy allows the account only
``kms:Describe*``, ``kms:Get*`` and ``kms:List*``, so these are AccessDeniedException
(the code inferred from the key policy; the developer guide names none). That decision is ``state_refusal`` and
``pending_window_refusal``; the texts are the developer guide's, whose exact wording
on a live account could not be checked here. Switch: ``kms-key-state`` (with
``kms_key_state.py``).
"""

from __future__ import annotations

import json

import patching
from behaviours import on
from emulator_log import log

# moto's KmsBackend methods that index its keys by the KeyId as sent.
BACKEND_METHODS = ("enable_key", "disable_key", "cancel_key_deletion", "schedule_key_deletion")
# The operations, by moto's KmsResponse method.
OPERATIONS = {
    "enable_key": "EnableKey",
    "disable_key": "DisableKey",
    "schedule_key_deletion": "ScheduleKeyDeletion",
    "cancel_key_deletion": "CancelKeyDeletion",
}
# Operations whose answer's KeyId is the key ARN (API reference, each one's response).
ANSWER_KEY_ARN = ("cancel_key_deletion", "schedule_key_deletion")
# API reference, ScheduleKeyDeletion, PendingWindowInDays: "between 7 and 30,
# inclusive. If you do not include a value, it defaults to 30."
PENDING_WINDOW_DAYS = (7, 30)
DEFAULT_PENDING_WINDOW_DAYS = 30

INVALID_STATE = "KMSInvalidStateException"


def key_id(key: str) -> str:
    """The key id a KeyId names: the id itself, or the part after ``:key/`` of a key ARN."""
    if key.startswith("arn:") and ":key/" in key:
        return key.split(":key/", 1)[1]
    return key


def key_arn_parts(key: str) -> tuple[str, str, str, str] | None:
    """(partition, region, account, key id) of a key ARN,
    ``arn:<partition>:kms:<region>:<account>:key/<id>``; None for anything else."""
    parts = key.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "kms" or not parts[5].startswith("key/"):
        return None
    return parts[1], parts[3], parts[4], parts[5][len("key/"):]


def foreign_key_arn(key: str, partition: str, region: str, account: str) -> bool:
    """Whether `key` is a key ARN of another partition, region or account than the
    request's: no key of this region and account (NotFoundException)."""
    parts = key_arn_parts(key)
    return parts is not None and parts[:3] != (partition, region, account)


def state_refusal(operation: str, arn: str, key_state: str | None, key_manager: str | None) -> tuple[str, str] | None:
    """The error (code, message) KMS answers `operation` on the key `arn` in
    `key_state`, managed by `key_manager` (``AWS`` or ``CUSTOMER``), or None where it
    is allowed (KMS developer guide, "Key states of AWS KMS keys"; see the module doc)."""
    if key_manager == "AWS":
        return (
            "AccessDeniedException",
            f"{arn} is an AWS managed key: its key policy does not allow kms:{operation} "
            "(AWS managed keys are enabled, disabled and deleted by no one); use a customer managed key",
        )
    if operation in ("EnableKey", "DisableKey"):
        if key_state == "PendingDeletion":
            return INVALID_STATE, f"{arn} is pending deletion."
        if key_state == "PendingImport":
            return INVALID_STATE, f"{arn} is pending import."
    elif operation == "ScheduleKeyDeletion":
        if key_state == "PendingDeletion":
            return INVALID_STATE, f"{arn} is pending deletion."
    elif operation == "CancelKeyDeletion":
        if key_state != "PendingDeletion":
            return INVALID_STATE, f"{arn} is not pending deletion."
    return None


def pending_window_refusal(days) -> tuple[str, str] | None:
    """ValidationException for a PendingWindowInDays outside 7 to 30 (None: the default, 30)."""
    if days is None:
        return None
    low, high = PENDING_WINDOW_DAYS
    if isinstance(days, bool) or not isinstance(days, int):
        return "ValidationException", f"PendingWindowInDays {days!r} is not a number of days; give {low} to {high}"
    if days < low:
        return "ValidationException", (
            f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: "
            f"Member must have value greater than or equal to {low}"
        )
    if days > high:
        return "ValidationException", (
            f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: "
            f"Member must have value less than or equal to {high}"
        )
    return None


def _by_key_id(original):
    def method(self, key, *args, **kwargs):
        return original(self, key_id(key), *args, **kwargs)

    return method


def _as_aws_answers(name: str, original):
    """moto's KmsResponse method `name`, deciding first which key and whether its
    state allows the operation, and answering as the API reference describes."""
    operation = OPERATIONS[name]

    def method(self):
        from moto.core.exceptions import JsonRESTError
        from moto.kms.exceptions import NotFoundException
        from moto.utilities.utils import get_partition

        key = self._get_param("KeyId") or ""
        backend = self.kms_backend
        strict = on("kms-key-state")
        if strict and operation == "ScheduleKeyDeletion":
            refusal = pending_window_refusal(self._get_param("PendingWindowInDays"))
            if refusal is not None:
                raise JsonRESTError(*refusal)
        if foreign_key_arn(key, get_partition(backend.region_name), backend.region_name, backend.account_id):
            raise NotFoundException(f"Key '{key}' does not exist")
        if strict:
            self._validate_cmk_id(key)  # NotFoundException first, as moto answers it
            found = backend.keys[key_id(key)]
            refusal = state_refusal(operation, found.arn, found.key_state, getattr(found, "key_manager", "CUSTOMER"))
            if refusal is not None:
                log(f"{operation} {found.arn}: refused ({refusal[0]}), the key is {found.key_state}")
                raise JsonRESTError(*refusal)
        answer = original(self)
        if name not in ANSWER_KEY_ARN:
            return answer
        answer = json.loads(answer)
        found = backend.keys.get(key_id(answer.get("KeyId") or ""))
        if found is not None:
            answer["KeyId"] = found.arn
            if name == "schedule_key_deletion" and answer.get("DeletionDate") is not None:
                answer["KeyState"] = found.key_state
                days = self._get_param("PendingWindowInDays")
                answer["PendingWindowInDays"] = DEFAULT_PENDING_WINDOW_DAYS if days is None else days
        return json.dumps(answer)

    return method


def install() -> None:
    from moto.kms.models import KmsBackend
    from moto.kms.responses import KmsResponse

    for name in BACKEND_METHODS:
        patching.replace(KmsBackend, name, _by_key_id(getattr(KmsBackend, name)))
    for name in OPERATIONS:
        patching.replace(KmsResponse, name, _as_aws_answers(name, getattr(KmsResponse, name)))
