"""Every patch the launcher makes applies to the pinned moto (launcher.install)."""

from __future__ import annotations

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = """
import sys
sys.path.insert(0, {here!r})
import launcher
launcher.install({enforce_iam}, "AKIAEMULATORTEST", "secret")
print("installed")
"""


def _install(enforce_iam: bool, off: str = "") -> subprocess.CompletedProcess:
    environment = dict(os.environ, EMULATOR_OFF=off)
    environment.pop("EMULATOR_STRICT", None)
    return subprocess.run(
        [sys.executable, "-c", SCRIPT.format(here=HERE, enforce_iam=enforce_iam)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )


def test_every_patch_applies_to_the_pinned_moto_with_iam_enforced():
    done = _install(True)
    assert done.returncode == 0 and "installed" in done.stdout, done.stderr[-2000:]


def test_every_patch_applies_without_iam_enforcement():
    done = _install(False)
    assert done.returncode == 0 and "installed" in done.stdout, done.stderr[-2000:]
