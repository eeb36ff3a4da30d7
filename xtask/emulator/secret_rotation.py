"""Secrets Manager rotation by a Lambda function, as AWS runs it.

moto's ``RotateSecret`` runs all four steps whatever happens and then promotes the
new version. Here (``patched_rotate_secret``) the call returns at once and the steps
run in the background (``Rotations``; Secrets Manager user guide, "How rotation
works"), stop at the first failure with ``AWSCURRENT`` where it was, and a failed
rotation is retried whole; ``ScheduleExpression``/``Duration`` are understood
(``schedules.py``) and reported (``patched_to_dict``); ``CancelRotateSecret`` cancels
the running rotation; ``GetSecretValue`` without a version reads ``AWSCURRENT`` and
``UpdateSecretVersionStage`` keeps that label and the default version one.

``install`` replaces ``SecretsManagerBackend.cancel_rotate_secret``,
``update_secret_version_stage``, ``get_secret_value``, ``rotate_secret`` and
``FakeSecret.to_dict`` in that order; the launcher calls it right after
``lambda_runtime.install`` (both ran at import when they lived in launcher.py).
``ROTATIONS.snapshot`` answers ``GET /_emulator/rotations`` (``strict.py``).
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import base
import behaviours
import schedules
import secrets_manager
from emulator_log import log
from moto.secretsmanager import models as sm_models
from moto.secretsmanager.exceptions import (
    InvalidParameterException,
    InvalidRequestException,
    ResourceNotFoundException,
    SecretNotFoundException,
)
from patching import replace


ROTATION_LOCKS: dict[str, threading.Lock] = {}
ROTATION_LOCKS_GUARD = threading.Lock()


def validate_rotation_rules(rules: dict) -> int | None:
    """RotationRules checked as AWS does (``schedules.py``), refused with
    InvalidParameterException; the interval in seconds when known."""
    try:
        return schedules.validate_rotation_rules(rules, windows=behaviours.on("rotation-window"))
    except schedules.RulesRefused as refused:
        raise InvalidParameterException(str(refused)) from None


def schedule_from(secret, after: int) -> None:
    """Behaviour ``rotation-schedule``: ``NextRotationDate`` (the last second of the
    next rotation window) and the ``AutomaticallyAfterDays`` AWS calculates, counted
    from `after` (a successful rotation, a new configuration, or a manual change of
    the value under ``AutomaticallyAfterDays``), as ``schedules.next_rotation`` says."""
    rules = getattr(secret, "emulator_rotation_rules", None)
    if not rules:
        return
    secret.next_rotation_date, secret.emulator_calculated_days = schedules.next_rotation(rules, after)


def value_changed_by_hand(secret) -> None:
    """PutSecretValue or UpdateSecret made a new AWSCURRENT: under
    ``AutomaticallyAfterDays`` that "is considered a valid rotation" and the next
    rotation date counts from it (API reference, RotationRulesType)."""
    rules = getattr(secret, "emulator_rotation_rules", None) or {}
    if behaviours.on("rotation-schedule") and getattr(secret, "rotation_enabled", False) and rules.get("AutomaticallyAfterDays") and not rules.get("ScheduleExpression"):
        schedule_from(secret, int(time.time()))


def rotation_turned_back_on(secret) -> None:
    """RotateSecret without RotationRules on a secret whose rotation was off
    (CancelRotateSecret): the stored rules apply again ("If you don't include the
    configuration parameters, the operation starts a rotation with the values already
    stored in the secret", API reference, RotateSecret; CancelRotateSecret: "To turn
    on automatic rotation again, call RotateSecret"), and the next rotation is the
    next window from now ("RotateImmediately ... wait until the next scheduled
    rotation window"), not the date computed before rotation was turned off, which
    DescribeSecret hid meanwhile ("If ... rotation has been disabled, Secrets Manager
    returns null", DescribeSecret NextRotationDate) and which may have passed with no
    rotation failing. The same reference says turning rotation off and on again
    moves the next rotation: "if you turn off automatic rotation and then turn it back on, the next rotation
    may occur much sooner than this date"
    (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html).
    Which instant the new date counts from it does not say; counting from the call,
    as for a new schedule, is this emulator's decision (schedules.py). The same for a
    function's rotation (``patched_rotate_secret``) and a managed one
    (``configure_managed_rotation``)."""
    schedule_from(secret, int(time.time()))


def rotation_lock(arn: str) -> threading.Lock:
    with ROTATION_LOCKS_GUARD:
        return ROTATION_LOCKS.setdefault(arn, threading.Lock())


original_rotate_secret = None  # moto's, kept by install()
original_to_dict = None


def configure_managed_rotation(secret, rotation_rules, rotate_immediately: bool = True) -> str:
    """``RotateSecret`` without a function on a secret another service manages (RDS):
    accepted, the schedule recorded: the Secrets Manager user guide, "Managed rotation"
    ("To change the schedule for managed rotation (AWS CLI)": ``rotate-secret
    --rotation-rules``), accepted on a live account (floci PR #2378). With
    ``RotateImmediately`` (the default) the owning service rotates at once, as
    RotateSecret's API reference says of every rotation ("sets the values for the
    secret and then immediately starts a rotation"; not confirmed for a managed
    secret by the user guides, whose documented way to rotate an RDS secret at once
    is ModifyDBInstance ``RotateMasterUserPassword``): ``rds_rotation`` sets a new
    password on the instance's server and moves the labels, answering the new
    version. Where the emulator's RDS cannot (no server, behaviour
    ``rds-managed-rotation`` off, an instance not available, a rotation under way)
    the value stays as it was, where moto would make an empty version ``AWSCURRENT``."""
    interval = validate_rotation_rules(rotation_rules) if rotation_rules else None
    was_enabled = bool(secret.rotation_enabled)
    secret.rotation_requested = True
    secret.rotation_enabled = True
    if rotation_rules:
        secret.emulator_rotation_rules = dict(rotation_rules)
        secret.auto_rotate_after_days = int(rotation_rules.get("AutomaticallyAfterDays") or 0)
        secret.emulator_interval = interval
        if behaviours.on("rotation-schedule"):
            schedule_from(secret, int(time.time()))
        elif interval:
            secret.next_rotation_date = int(time.time()) + interval
    elif not was_enabled and behaviours.on("rotation-schedule"):
        rotation_turned_back_on(secret)
    if rotate_immediately:
        import rds_rotation  # imported when needed: it brings in the HTTP layer (strict)

        try:
            new_version = rds_rotation.rotate_managed_secret(secret)
        except rds_rotation.RotationRefused as refused:
            # RotateSecret only starts a rotation, which then fails in the background
            # on AWS; here it is not started (not modelled further) and the call stands.
            log(f"RotateSecret on {secret.name!r}: RDS does not rotate it now: {refused}")
            new_version = None
        if new_version is not None:
            return secret.to_short_dict(version_id=new_version)
    return secret.to_short_dict()


def patched_rotate_secret(self, secret_id, client_request_token=None, rotation_lambda_arn=None, rotation_rules=None, rotate_immediately=True):
    if not self._is_valid_identifier(secret_id):
        raise SecretNotFoundException()
    secret = self.secrets[secret_id]
    if not isinstance(secret, sm_models.FakeSecret):
        return original_rotate_secret(self, secret_id, client_request_token, rotation_lambda_arn, rotation_rules, rotate_immediately)
    if behaviours.on("owned-secrets") and rotation_lambda_arn and secret.owning_service:
        # A secret another service manages is rotated by that service, never by a function.
        # AWS's text, from a live account (floci PR #2378, "refuses a Lambda ARN outright").
        raise InvalidRequestException("Rotation Lambda ARN is not supported for a service-managed secret.")
    lambda_arn = rotation_lambda_arn or secret.rotation_lambda_arn
    if not lambda_arn and not behaviours.on("rotation-needs-function"):
        # moto's own path: it makes an empty version AWSCURRENT (the secret loses its value).
        return original_rotate_secret(self, secret_id, client_request_token, rotation_lambda_arn, rotation_rules, rotate_immediately)
    if secret.is_deleted():
        raise InvalidRequestException("You tried to perform the operation on a secret that's currently marked deleted.")
    if not lambda_arn:
        if secret.owning_service:
            return configure_managed_rotation(secret, rotation_rules, rotate_immediately)
        # Secrets Manager API reference, InvalidRequestException: "You tried to enable
        # rotation on a secret that doesn't already have a Lambda function ARN
        # configured and you didn't include such an ARN as a parameter in this call."
        # AWS's text, as the AWS CLI prints it (and LocalStack answers it).
        raise InvalidRequestException("No Lambda rotation function ARN is associated with this secret.")
    interval = validate_rotation_rules(rotation_rules or {}) if rotation_rules else None

    from moto.awslambda.utils import get_backend

    lambda_backend = get_backend(self.account_id, self.region_name)
    try:
        lambda_backend.get_function(lambda_arn)
    except Exception:
        raise ResourceNotFoundException(f"Resource not found for ARN '{lambda_arn}'.")
    if behaviours.on("invoke-permission"):
        secrets_manager.refuse_rotation_without_invoke_permission(lambda_backend, lambda_arn, secret)

    with rotation_lock(secret.arn):
        current_id = secret.default_version_id
        pending_id = next((vid for vid, v in secret.versions.items() if "AWSPENDING" in v["version_stages"]), None)
        running = ROTATIONS.running(secret.arn)
        if running is not None and client_request_token == running:
            return secret.to_short_dict(version_id=running)  # the same request again: nothing new
        if running is not None or (behaviours.on("pending-refusal") and pending_id is not None and pending_id != current_id):
            # API reference, RotateSecret and CancelRotateSecret: with AWSPENDING on
            # another version than AWSCURRENT "the attempt to rotate fails"; no
            # exception is documented for a request naming the pending version's id.
            # The way out is CancelRotateSecret's: remove AWSPENDING from that version.
            raise InvalidRequestException("A previous rotation isn't complete. That rotation will be reattempted.")
        if client_request_token:
            self._client_request_token_validator(client_request_token)
            if client_request_token in secret.versions and client_request_token != current_id:
                # A token names the new version; it never overwrites an old one (API
                # reference, RotateSecret, ClientRequestToken). moto would replace it.
                raise InvalidRequestException(
                    f"A version {client_request_token} already exists for secret {secret.name}; use a new ClientRequestToken."
                )

        was_enabled = bool(secret.rotation_enabled)
        secret.rotation_requested = True
        secret.rotation_enabled = True
        secret.rotation_lambda_arn = lambda_arn
        if rotation_rules:
            secret.emulator_rotation_rules = dict(rotation_rules)
            secret.auto_rotate_after_days = int(rotation_rules.get("AutomaticallyAfterDays") or 0)
            secret.emulator_interval = interval
            if behaviours.on("rotation-schedule"):
                # A new schedule counts from now; a failed rotation leaves the date
                # where this put it, so it may pass, as the API reference says.
                schedule_from(secret, int(time.time()))
        elif not was_enabled and behaviours.on("rotation-schedule"):
            rotation_turned_back_on(secret)
        interval = getattr(secret, "emulator_interval", None)

        if not secret.versions:
            return secret.to_short_dict()

        if not rotate_immediately:
            if client_request_token == current_id:
                raise InvalidRequestException(
                    f"Version {client_request_token} is the current version of secret {secret.name}; use a new ClientRequestToken."
                )
            # AWS tests the configuration: testSecret on a pending copy of the current value,
            # in the background like every rotation.
            test_id = client_request_token or str(uuid.uuid4())
            current = secret.versions[current_id]
            secret.remove_version_stages_from_old_versions(["AWSPENDING"])
            secret.versions[test_id] = {
                "createdate": int(time.time()),
                "version_id": test_id,
                "version_stages": ["AWSPENDING"],
                **({"secret_string": current["secret_string"]} if "secret_string" in current else {}),
            }
            if interval and secret.next_rotation_date is None and not behaviours.on("rotation-schedule"):
                secret.next_rotation_date = int(time.time()) + interval
            ROTATIONS.start(secret, test_id, ("testSecret",), lambda ok: secret.versions.pop(test_id, None), lambda_backend, lambda_arn)
            return secret.to_short_dict(version_id=current_id)

        new_version_id = client_request_token or str(uuid.uuid4())
        if new_version_id in secret.versions and "AWSCURRENT" in secret.versions[new_version_id]["version_stages"]:
            return secret.to_short_dict(version_id=new_version_id)
        secret.remove_version_stages_from_old_versions(["AWSPENDING"])
        secret.versions[new_version_id] = {
            "createdate": int(time.time()),
            "version_id": new_version_id,
            "version_stages": ["AWSPENDING"],
        }

        def finished(ok: bool) -> None:
            if ok and "AWSCURRENT" in secret.versions.get(new_version_id, {}).get("version_stages", []):
                secret.last_rotation_date = int(time.time())
                if behaviours.on("rotation-schedule"):
                    schedule_from(secret, secret.last_rotation_date)
                elif interval:
                    secret.next_rotation_date = int(time.time()) + interval

        steps = ("createSecret", "setSecret", "testSecret", "finishSecret")
        attempts = base.ROTATION_ATTEMPTS if behaviours.on("rotation-retries") else 1
        ROTATIONS.start(secret, new_version_id, steps, finished, lambda_backend, lambda_arn, attempts=attempts)
        return secret.to_short_dict(version_id=new_version_id)


class Rotations:
    """Rotations run in the background, as in AWS: ``RotateSecret`` answers at once.

    The steps run in order on a thread of their own and stop at the first failed
    one (``AWSPENDING`` stays, ``AWSCURRENT`` is untouched). A failed attempt is
    retried whole with the same token, as Secrets Manager does ("If any rotation
    step fails, Secrets Manager retries the entire rotation process multiple
    times", user guide, "Rotation by Lambda function"); how many times and how far
    apart AWS does not say, so ``EMULATOR_ROTATION_ATTEMPTS`` and
    ``EMULATOR_ROTATION_RETRY_SECONDS`` set it. Retries stop when the version no
    longer carries ``AWSPENDING`` (the operator cleared it, as CancelRotateSecret's
    documentation describes) or rotation was turned off. Every rotation and each of
    its attempts is recorded, so that tests can wait for one through
    ``GET /_emulator/rotations``.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: list[dict] = []

    def running(self, arn: str) -> str | None:
        with self.lock:
            for record in self.records:
                if record["secret_arn"] == arn and record["status"] == "running" and not record.get("cancelled"):
                    return record["token"]
        return None

    def start(self, secret, token: str, steps, finished, lambda_backend, lambda_arn: str, attempts: int = 1) -> None:
        record = {
            "secret_arn": secret.arn,
            "secret_name": secret.name,
            "token": token,
            "steps": list(steps),
            "status": "running",
            "step": None,
            "attempts": [],
            "started": time.time(),
            "finished": None,
        }
        with self.lock:
            self.records.append(record)

        def still_wanted() -> bool:
            version = secret.versions.get(token)
            return (
                version is not None
                and "AWSPENDING" in version["version_stages"]
                and secret.rotation_enabled
                and not secret.is_deleted()
            )

        def one_attempt(attempt: dict) -> bool:
            if not behaviours.on("rotation-steps"):
                # moto's own: every step runs whatever happens, then the version is promoted.
                for step in steps:
                    record["step"] = step
                    invoke_step(lambda_backend, lambda_arn, secret, step, token)
                if "finishSecret" in steps and token in secret.versions:
                    current = secret.default_version_id
                    if current != token:
                        secret.versions[token]["version_stages"] = ["AWSCURRENT"]
                        if current in secret.versions:
                            secret.versions[current]["version_stages"] = ["AWSPREVIOUS"]
                        secret.default_version_id = token
                return True
            for step in steps:
                if record.get("cancelled"):
                    attempt["failed_step"] = "cancelled"
                    return False
                record["step"] = step
                if not invoke_step(lambda_backend, lambda_arn, secret, step, token):
                    attempt["failed_step"] = step
                    return False
            return True

        def run() -> None:
            ok = False
            try:
                for number in range(1, max(1, attempts) + 1):
                    if number > 1:
                        time.sleep(base.ROTATION_RETRY_SECONDS)
                        if not still_wanted():
                            log(f"rotation of {secret.name!r}: not retried, version {token!r} is no longer AWSPENDING, or rotation is off, or the secret is deleted")
                            break
                        log(f"rotation of {secret.name!r}: attempt {number} of {attempts}, same version {token!r}")
                    attempt = {"number": number, "started": time.time(), "failed_step": None}
                    with self.lock:
                        record["attempts"].append(attempt)
                    ok = one_attempt(attempt)
                    attempt["finished"] = time.time()
                    if ok:
                        break
                finished(ok)
            except Exception as error:  # a rotation thread must always end its record
                ok = False
                log(f"rotation of {secret.name!r}: the emulator failed: {error!r}")
            finally:
                with self.lock:
                    record["status"] = "succeeded" if ok else "cancelled" if record.get("cancelled") else "failed"
                    record["finished"] = time.time()

        threading.Thread(target=run, daemon=True, name=f"rotation-{secret.name}").start()

    def cancel(self, arn: str) -> None:
        """CancelRotateSecret: the running rotation of `arn` invokes no further step
        and is not retried (the step in flight, a Lambda invocation, runs to its end)."""
        with self.lock:
            for record in self.records:
                if record["secret_arn"] == arn and record["status"] == "running":
                    record["cancelled"] = True

    def snapshot(self, secret: str | None = None) -> list[dict]:
        """Every record, or only those of one secret (its ARN or name).

        A caller waiting on one rotation polls this several times a second; over a
        long run (``cargo xtask fuzz audit``) the records of every secret ever
        rotated made each poll encode all of them in the emulator's one Python
        process, slowing every other call, so pollers ask for their secret's.
        """
        with self.lock:
            return [
                {**record, "attempts": [dict(a) for a in record["attempts"]]}
                for record in self.records
                if secret is None or secret in (record["secret_arn"], record["secret_name"])
            ]


ROTATIONS = Rotations()


def invoke_step(lambda_backend, lambda_arn: str, secret, step: str, token: str) -> bool:
    event = {"Step": step, "SecretId": secret.arn, "ClientRequestToken": token, "RotationToken": str(uuid.uuid4())}
    response_headers: dict = {}
    try:
        lambda_backend.invoke(lambda_arn, qualifier=None, body=json.dumps(event), headers={}, response_headers=response_headers)
    except Exception as error:  # an invocation that could not even start is a failed step
        log(f"rotation of {secret.name!r}: {step} could not be invoked: {error!r}")
        return False
    if "x-amz-function-error" in response_headers:
        log(f"rotation of {secret.name!r}: {step} failed; this attempt stopped, AWSCURRENT unchanged")
        return False
    return True


def patched_to_dict(self) -> dict:
    dct = original_to_dict(self)
    rules = getattr(self, "emulator_rotation_rules", None)
    if self.rotation_requested and rules is not None:
        dct["RotationRules"] = {key: rules[key] for key in ("AutomaticallyAfterDays", "Duration", "ScheduleExpression") if key in rules}
        calculated = getattr(self, "emulator_calculated_days", None)
        if behaviours.on("rotation-schedule") and "ScheduleExpression" in rules and calculated:
            # "In DescribeSecret and ListSecrets, this value is calculated from the
            # rotation schedule" (RotationRulesType); schedules.py's docstring.
            dct["RotationRules"]["AutomaticallyAfterDays"] = calculated
    if behaviours.on("rotation-schedule") and not self.rotation_enabled:
        # "If the secret isn't configured for rotation or rotation has been disabled,
        # Secrets Manager returns null" (API reference, DescribeSecret NextRotationDate).
        dct["NextRotationDate"] = None
    if dct.get("LastRotatedDate") is None:
        dct.pop("LastRotatedDate", None)
    if dct.get("NextRotationDate") is None:
        dct.pop("NextRotationDate", None)
    return dct


original_update_stage = None  # moto's, kept by install()
original_get_secret_value = None


def patched_update_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
    """moto moves the AWSCURRENT label but not the version GetSecretValue returns; keep them one."""
    result = original_update_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
    secret = self.secrets[secret_id]
    current = next((vid for vid, v in secret.versions.items() if "AWSCURRENT" in v["version_stages"]), None)
    if current is not None:
        secret.default_version_id = current
    return result


def patched_get_secret_value(self, secret_id, version_id, version_stage):
    if not version_id and not version_stage:
        version_stage = "AWSCURRENT"
    return original_get_secret_value(self, secret_id, version_id, version_stage)


original_cancel_rotate_secret = None  # moto's, kept by install()


def patched_cancel_rotate_secret(self, secret_id):
    """API reference, CancelRotateSecret: "Turns off automatic rotation, and if a
    rotation is currently in progress, cancels the rotation"; its ``VersionId`` is
    "the version of the secret created during the rotation. This version might not
    be complete, and should be evaluated for possible deletion". moto only turns
    rotation off, answering with the current version."""
    if not behaviours.on("cancel-rotation"):
        return original_cancel_rotate_secret(self, secret_id)
    if not self._is_valid_identifier(secret_id):
        raise SecretNotFoundException()
    secret = self.secrets[secret_id]
    with rotation_lock(secret.arn):
        if isinstance(secret, sm_models.FakeSecret) and secret.owning_service and not secret.rotation_lambda_arn and not secret.is_deleted():
            # A secret RDS manages has no rotation function, which moto requires here;
            # AWS turns its rotation off (users do so from the console,
            # aws-controllers-k8s/community#2674; terraform-aws-modules/terraform-aws-rds
            # #580 documents turning it off through the secret's rotation resource).
            secret.rotation_enabled = False
            answer = secret.to_short_dict()
        else:
            answer = original_cancel_rotate_secret(self, secret_id)
        ROTATIONS.cancel(secret.arn)
    current = secret.default_version_id
    pending = next((vid for vid, v in secret.versions.items() if "AWSPENDING" in v["version_stages"] and vid != current), None)
    return secret.to_short_dict(version_id=pending) if pending else answer


def install() -> None:
    """Replaces moto's methods in this order (the order they had at import when this
    lived in launcher.py), keeping the originals the patches call."""
    global original_cancel_rotate_secret, original_update_stage, original_get_secret_value
    global original_rotate_secret, original_to_dict
    if value_changed_by_hand not in secrets_manager.VALUE_CHANGED_HOOKS:
        secrets_manager.VALUE_CHANGED_HOOKS.append(value_changed_by_hand)
    backend = sm_models.SecretsManagerBackend
    original_cancel_rotate_secret = replace(backend, "cancel_rotate_secret", patched_cancel_rotate_secret)
    original_update_stage = replace(backend, "update_secret_version_stage", patched_update_stage)
    original_get_secret_value = replace(backend, "get_secret_value", patched_get_secret_value)
    original_rotate_secret = replace(backend, "rotate_secret", patched_rotate_secret)
    original_to_dict = replace(sm_models.FakeSecret, "to_dict", patched_to_dict)
