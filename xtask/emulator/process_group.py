"""Nothing the launcher starts outlives it, even when it is killed with SIGKILL.

The launcher stops its children itself on SIGTERM or SIGINT and when its parent
dies (``launcher.shutdown``), but SIGKILL (``kill -9``, the OOM killer, a harness
that times out) runs no handler: the MariaDB servers and function processes would
run on, holding their ports and data directories, with no one left to stop them.

How they are stopped instead:

* The launcher leads a process group of its own (``lead_own_group``), which every
  process it starts, and theirs, inherits (setpgid(2): "a child created via fork(2)
  inherits its parent's process group ID"; ``mariadb-install-db``'s own
  ``mariadbd`` included).
* ``start_watchdog`` starts one small process in a session of its own (so outside
  that group, and out of reach of a terminal's Ctrl-C) that reads a pipe whose only
  writer is the launcher. The kernel closes the launcher's end when the launcher
  ends, however it ends; the watchdog then reads end-of-file and stops the group:
  SIGTERM (a MariaDB server shuts down cleanly), then SIGKILL for what is left after
  ``GRACE_SECONDS``. Then it exits too.

Why not ``prctl(PR_SET_PDEATHSIG)`` in each child: prctl(2) (now the page
PR_SET_PDEATHSIG(2const), CAVEATS) says "the 'parent' in this case is considered to be the thread that created this process", so the signal
comes when the *thread* that started the child ends. The launcher starts MariaDB
servers from its start-up thread and from moto's request threads, which end long
before the launcher does: their servers would be killed under a running emulator.
It would also miss grandchildren, and setting it needs ``preexec_fn``, which the
``subprocess`` documentation says is not safe in a process with threads.

The watchdog's pipe is made by ``subprocess`` with ``os.pipe``, whose descriptors are
not inheritable (PEP 446): no other child keeps the writing end open past its exec. ``python process_group.py PGID``
is the watchdog; this module imports nothing of the emulator, so it starts in
milliseconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

GRACE_SECONDS = 10.0

# The watchdog's Popen, held for the launcher's whole life: dropping it would close
# the pipe's writing end and stop everything.
_WATCHDOG: subprocess.Popen | None = None


def lead_own_group() -> int:
    """Makes this process the leader of a process group of its own (if it is not
    already: `xtask` starts the launcher so) and returns the group's id."""
    if os.getpgrp() != os.getpid():
        os.setpgid(0, 0)
    return os.getpgrp()


def start_watchdog(group: int) -> subprocess.Popen:
    """Starts the process that stops `group` once this process has ended."""
    global _WATCHDOG
    if group != os.getpid():
        # The watchdog signals the whole group: only a group this process leads (whose
        # members are its own descendants) may be signalled so.
        raise RuntimeError(f"process group {group} is not led by this process ({os.getpid()}); call lead_own_group first")
    _WATCHDOG = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), str(group)],
        stdin=subprocess.PIPE,
        start_new_session=True,
        close_fds=True,
    )
    return _WATCHDOG


def group_alive(group: int) -> bool:
    """Whether any process of `group` remains (zombies count until they are reaped)."""
    try:
        os.killpg(group, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def stop_group(group: int, grace: float = GRACE_SECONDS) -> None:
    """SIGTERM to every process of `group`, then SIGKILL to what is left after `grace`."""
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not group_alive(group):
            return
        time.sleep(0.1)
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass


def watch(group: int) -> None:
    """The watchdog: waits for the end of its input (its launcher gone), then stops the group."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while sys.stdin.buffer.read(4096):
        pass
    stop_group(group)


if __name__ == "__main__":
    watch(int(sys.argv[1]))
