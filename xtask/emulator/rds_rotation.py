"""RDS rotates the master password it manages, on the server and in the secret.

With ``ManageMasterUserPassword`` RDS creates the secret ``rds!db-<uuid>``, "manages the
settings for the secret and rotates the secret every seven days by default" (RDS user
guide, "Password management with Amazon RDS and AWS Secrets Manager", overview); the
secret therefore reports ``RotationEnabled`` with ``AutomaticallyAfterDays`` 7 from the
start. moto creates it with rotation off and never changes the password.

A rotation here does what RDS's managed rotation does, with no Lambda function
(Secrets Manager user guide, "Managed rotation for AWS Secrets Manager secrets"): a new
password in a new version staged ``AWSPENDING``, the master user's password changed
on the instance's server, then ``AWSCURRENT`` moved to the new version and
``AWSPREVIOUS`` to the old one. The new version keeps ``AWSPENDING`` beside
``AWSCURRENT`` afterwards: the AWS CLI reference's example of a secret RDS manages
(``secretsmanager list-secrets``, "Example 3: To list the secrets in your account
managed by another service") shows ``SecretVersionsToStages`` as ``{old: [AWSPREVIOUS],
new: [AWSCURRENT, AWSPENDING]}``, with the tags ``aws:rds:primaryDB...Arn`` and
``aws:secretsmanager:owningService`` = ``rds``. The same user guide page says "during
rotation, new connections that retrieve the secret may get the previous version of the
credentials": the window between the server's change and the move of ``AWSCURRENT``
is real, and a test can hold it open (``hold_seconds``) to show what a client reading
``AWSCURRENT`` meanwhile sees.

A rotation starts when ``ModifyDBInstance`` asks for it (``RotateMasterUserPassword``
with ``ApplyImmediately``, RDS API reference) or when a test asks the emulator, at the
moment it chooses, for the one the schedule would start: ``POST /_emulator/rds-rotate``
with ``{"instance": id, "region": region, "hold_seconds": seconds}``. The schedule
itself (every 7 days) is reported, not run.

Switch: ``rds-managed-rotation``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import base
import schedules
import strict
from behaviours import on
from emulator_log import log
from patching import replace

ROTATION_DAYS = 7  # RDS user guide, "Password management with Amazon RDS and AWS Secrets Manager"
ROTATION_STAGES = ("AWSCURRENT", "AWSPENDING", "AWSPREVIOUS")
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def managed_schedule(now: int, rules: dict | None = None) -> tuple[dict, int | None]:
    """The rotation rules of the secret (those RDS gives the secret it creates unless
    the user changed them with RotateSecret), and the next rotation date counted
    from `now`: the last second of the next window (``schedules.next_rotation``,
    behaviour ``rotation-schedule``), else `now` plus the interval."""
    rules = rules or {"AutomaticallyAfterDays": ROTATION_DAYS}
    if on("rotation-schedule"):
        return rules, schedules.next_rotation(rules, now)[0]
    return rules, now + int(rules.get("AutomaticallyAfterDays") or ROTATION_DAYS) * 86400


def stages_while_rotating(stages: dict[str, list[str]], new_id: str) -> dict[str, list[str]]:
    """The staging labels once the new version exists: AWSPENDING on it alone."""
    moved = {vid: [s for s in labels if s != "AWSPENDING"] for vid, labels in stages.items()}
    moved[new_id] = ["AWSPENDING"]
    return moved


def stages_after_rotation(stages: dict[str, list[str]], new_id: str) -> dict[str, list[str]]:
    """The staging labels once RDS finished: AWSCURRENT and AWSPENDING on the new
    version, AWSPREVIOUS on the one that was AWSCURRENT (and on no other); other
    labels stay where they are."""
    old_current = next((vid for vid, labels in stages.items() if "AWSCURRENT" in labels and vid != new_id), None)
    moved = {vid: [s for s in labels if s not in ROTATION_STAGES] for vid, labels in stages.items()}
    if old_current is not None:
        moved[old_current].append("AWSPREVIOUS")
    moved[new_id] = ["AWSCURRENT", "AWSPENDING"] + moved.get(new_id, [])
    return moved


class RotationRefused(Exception):
    """A rotation that cannot start; the message names the instance and why."""


def _lock(arn: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(arn, threading.Lock())


def _set_stages(secret, stages: dict[str, list[str]]) -> None:
    for vid, labels in stages.items():
        secret.versions[vid]["version_stages"] = labels


def rotate(instance, hold_seconds: float = 0.0) -> dict:
    """Rotates the master password RDS manages for `instance` (see the module's doc).
    Returns once the server has the new password; with `hold_seconds` the secret's
    AWSCURRENT moves that much later."""
    managed = getattr(instance, "master_user_secret", None)
    server = getattr(instance, "emulator_server", None)
    name = instance.db_instance_identifier
    if managed is None:
        raise RotationRefused(f"DB instance {name} has no password RDS manages; create or modify it with ManageMasterUserPassword")
    if server is None or getattr(instance, "emulator_replica_of", None) is not None:
        raise RotationRefused(f"DB instance {name} has no MariaDB server of its own in the emulator (only MySQL and MariaDB instances do)")
    if getattr(instance, "status", "available") != "available":
        raise RotationRefused(f"DB instance {name} is {instance.status}; RDS rotates the password of an available instance")
    secret = managed.secret
    lock = _lock(secret.arn)
    if not lock.acquire(blocking=False):
        raise RotationRefused(f"the master password of DB instance {name} is being rotated; wait for that rotation to finish")
    try:
        current = json.loads(secret.versions[secret.default_version_id]["secret_string"])
        password = json.loads(managed._generate_secret_string())["password"]
        new_id = str(uuid.uuid4())
        secret.versions[new_id] = {
            "createdate": int(time.time()),
            "version_id": new_id,
            "version_stages": [],
            "secret_string": json.dumps({**current, "password": password}),
        }
        _set_stages(secret, stages_while_rotating({vid: v["version_stages"] for vid, v in secret.versions.items()}, new_id))
        managed._status = "rotating"
        server.set_password(current.get("username") or instance.master_username, password)
    except Exception:
        lock.release()
        raise

    def finish() -> None:
        try:
            _set_stages(secret, stages_after_rotation({vid: v["version_stages"] for vid, v in secret.versions.items()}, new_id))
            secret.default_version_id = new_id
            now = int(time.time())
            secret.last_rotation_date = now
            secret.last_changed_date = now
            secret.next_rotation_date = managed_schedule(now, getattr(secret, "emulator_rotation_rules", None))[1]
            managed._status = "active"
            log(f"RDS rotated the master password of DB instance {name}: version {new_id} is AWSCURRENT")
        finally:
            lock.release()

    if hold_seconds > 0:
        base.SCHEDULER.after(hold_seconds, finish)
    else:
        finish()
    return {"ok": True, "instance": name, "secret_arn": secret.arn, "version_id": new_id}


def _find_instance(request: dict):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.rds.models import rds_backends

    name, region = request.get("instance"), request.get("region")
    if not isinstance(name, str) or not isinstance(region, str):
        raise RotationRefused('POST /_emulator/rds-rotate needs {"instance": "<DBInstanceIdentifier>", "region": "<region>"}')
    account = request.get("account") or DEFAULT_ACCOUNT_ID
    instance = rds_backends[account][region].databases.get(name)
    if instance is None:
        raise RotationRefused(f"no DB instance {name} in account {account}, region {region}")
    return instance


def rotate_managed_secret(secret) -> str | None:
    """``RotateSecret`` (immediately) on the secret RDS manages for a DB instance: RDS's
    rotation, at once; the new version's id. None where the emulator's RDS does not
    rotate (behaviour off, no instance or no server of its own): the call then only
    records the schedule. Raises RotationRefused as ``rotate`` does."""
    if not on("rds-managed-rotation") or getattr(secret, "owning_service", None) != "rds":
        return None
    from moto.rds.models import rds_backends

    backend = rds_backends[secret.account_id][secret.region]
    for instance in list(backend.databases.values()):
        managed = getattr(instance, "master_user_secret", None)
        if managed is not None and managed.secret is secret and getattr(instance, "emulator_server", None) is not None:
            return rotate(instance)["version_id"]
    return None


def rotate_on_request(request: dict) -> dict:
    """``POST /_emulator/rds-rotate``: the scheduled rotation, now."""
    if not on("rds-managed-rotation"):
        raise RotationRefused("the emulator's rds-managed-rotation behaviour is off (EMULATOR_OFF)")
    hold = request.get("hold_seconds", 0)
    if not isinstance(hold, (int, float)) or not 0 <= hold <= 600:
        raise RotationRefused("hold_seconds must be a number of seconds from 0 to 600")
    return rotate(_find_instance(request), float(hold))


def install() -> None:
    """The secret RDS creates reports its schedule; ModifyDBInstance's
    RotateMasterUserPassword rotates; the control path is registered."""
    from moto.rds.models import MasterUserSecret

    original_init = MasterUserSecret.__init__
    original_rotate = MasterUserSecret.rotate_secret

    def __init__(self, resource, kms_key_id):
        original_init(self, resource, kms_key_id)
        if on("rds-managed-rotation"):
            rules, next_date = managed_schedule(int(time.time()))
            secret = self.secret
            secret.rotation_requested = True
            secret.rotation_enabled = True
            secret.emulator_rotation_rules = dict(rules)
            secret.auto_rotate_after_days = rules["AutomaticallyAfterDays"]
            secret.emulator_interval = ROTATION_DAYS * 86400
            secret.next_rotation_date = next_date

    def rotate_secret(self):
        if on("rds-managed-rotation") and getattr(self.resource, "emulator_server", None) is not None:
            try:
                rotate(self.resource)
                return
            except RotationRefused as refused:
                from moto.rds.exceptions import RDSClientError

                # RDS API reference, ModifyDBInstance: InvalidDBInstanceStateFault
                raise RDSClientError("InvalidDBInstanceState", str(refused))
        return original_rotate(self)

    replace(MasterUserSecret, "__init__", __init__)
    replace(MasterUserSecret, "rotate_secret", rotate_secret)
    strict.CONTROL_POSTS["/_emulator/rds-rotate"] = rotate_on_request
