"""What every behaviour of the emulator needs: its settings and its timer.

Each behaviour module (``lambda_functions``, ``ec2_dependencies``, ``rds_instances``,
...) reads its delays here (and logs through ``logs.log``) and runs delayed work on
``SCHEDULER``, so that none of them imports ``strict.py`` (the HTTP layer, which
imports them): the modules form layers without a cycle.

Settings (environment of the launcher; ``EMULATOR_STRICT=off`` turns all off,
which is how a fidelity test shows that stock moto lacks a behaviour):

``EMULATOR_EC2_NOT_FOUND_CALLS``      calls naming a new EC2 id that answer NotFound (1)
``EMULATOR_ENI_RELEASE_SECONDS``      Lambda ENIs released this long after detach/delete (1.0)
``EMULATOR_ROLE_PROPAGATION_SECONDS`` a role younger than this cannot be given to Lambda (0.5)
``EMULATOR_ENDPOINT_SECONDS``         VPC endpoint pending -> available, deleting -> gone (0.5)
``EMULATOR_RDS_SECONDS``              DB instance creating -> available, deleting -> gone (1.0)
``EMULATOR_CONSOLE_SECONDS``          an instance's console output is empty this long after launch (3.0)
``EMULATOR_LAMBDA_STATE_SECONDS``     a new function is Pending, an update InProgress, this long (0.5; twice in a VPC)
``EMULATOR_ROTATION_ATTEMPTS``        attempts of a rotation, the first and its retries (3)
``EMULATOR_ROTATION_RETRY_SECONDS``   pause before a failed rotation is retried whole (1.0)

At import: the settings are read from the environment once and the scheduler's
thread starts (as it did when all this lived in ``strict.py``).
"""

from __future__ import annotations

import heapq
import os
import threading
import time

import behaviours
from emulator_log import log

STRICT = behaviours.STRICT


def _setting(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


EC2_NOT_FOUND_CALLS = int(_setting("EMULATOR_EC2_NOT_FOUND_CALLS", 1))
ENI_RELEASE_SECONDS = _setting("EMULATOR_ENI_RELEASE_SECONDS", 1.0)
ROLE_PROPAGATION_SECONDS = _setting("EMULATOR_ROLE_PROPAGATION_SECONDS", 0.5)
ENDPOINT_SECONDS = _setting("EMULATOR_ENDPOINT_SECONDS", 0.5)
RDS_SECONDS = _setting("EMULATOR_RDS_SECONDS", 1.0)
CONSOLE_SECONDS = _setting("EMULATOR_CONSOLE_SECONDS", 3.0)
LAMBDA_STATE_SECONDS = _setting("EMULATOR_LAMBDA_STATE_SECONDS", 0.5)
# Secrets Manager retries a failed rotation "multiple times" (user guide, "Rotation
# by Lambda function") without saying how often or how far apart: 3 and 1 s here.
ROTATION_ATTEMPTS = max(1, min(100, int(_setting("EMULATOR_ROTATION_ATTEMPTS", 3))))
ROTATION_RETRY_SECONDS = _setting("EMULATOR_ROTATION_RETRY_SECONDS", 1.0)
if not 0 <= ROTATION_RETRY_SECONDS <= 3600:  # NaN included
    ROTATION_RETRY_SECONDS = 1.0


def settings() -> dict:
    return {
        "strict": STRICT,
        "off": sorted(behaviours.OFF),
        "EMULATOR_EC2_NOT_FOUND_CALLS": EC2_NOT_FOUND_CALLS,
        "EMULATOR_ENI_RELEASE_SECONDS": ENI_RELEASE_SECONDS,
        "EMULATOR_ROLE_PROPAGATION_SECONDS": ROLE_PROPAGATION_SECONDS,
        "EMULATOR_ENDPOINT_SECONDS": ENDPOINT_SECONDS,
        "EMULATOR_RDS_SECONDS": RDS_SECONDS,
        "EMULATOR_CONSOLE_SECONDS": CONSOLE_SECONDS,
        "EMULATOR_LAMBDA_STATE_SECONDS": LAMBDA_STATE_SECONDS,
        "EMULATOR_ROTATION_ATTEMPTS": ROTATION_ATTEMPTS,
        "EMULATOR_ROTATION_RETRY_SECONDS": ROTATION_RETRY_SECONDS,
        "EMULATOR_NETWORK": os.environ.get("EMULATOR_NETWORK", "on"),
    }


# --------------------------------------------------------------------------- timers


class Scheduler:
    """One thread that runs delayed work: a task returns a delay to run again, or None."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.tasks: list[tuple[float, int, object]] = []
        self.counter = 0
        threading.Thread(target=self._run, daemon=True, name="strict-scheduler").start()

    def after(self, seconds: float, task) -> None:
        with self.lock:
            self.counter += 1
            heapq.heappush(self.tasks, (time.time() + max(seconds, 0.0), self.counter, task))
            self.lock.notify()

    def _run(self) -> None:
        while True:
            with self.lock:
                while not self.tasks or self.tasks[0][0] > time.time():
                    timeout = None if not self.tasks else max(self.tasks[0][0] - time.time(), 0.001)
                    self.lock.wait(timeout)
                _, _, task = heapq.heappop(self.tasks)
            try:
                again = task()
            except Exception as error:  # a task's failure must not stop the others
                log(f"delayed task failed: {error!r}")
                again = None
            if again is not None:
                self.after(again, task)


SCHEDULER = Scheduler()
