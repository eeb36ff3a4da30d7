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
  ``GRACE_SECONDS``. Then it removes the directories the launcher told it of on that
  pipe (``remove_after_exit``: the private MariaDB socket directory, which a killed
  launcher cannot remove itself), and exits too.

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
import shutil
import signal
import subprocess
import sys
import time

GRACE_SECONDS = 10.0

# The watchdog's Popen, held for the launcher's whole life: dropping it would close
# the pipe's writing end and stop everything.
_WATCHDOG: subprocess.Popen | None = None


def lead_own_group() -> tuple[int, bool]:
    """Makes this process the leader of a process group of its own (if it is not
    already: `xtask` starts the launcher so) and returns the group's id and whether
    this process moved into it.

    A moved process has left its parent's group, which may be a terminal's foreground
    group: a Ctrl-C there then reaches the parent and no longer this process (termios(3),
    "INTR": SIGINT "is sent to all processes in the foreground process group"). The
    launcher, when moved and not given ``--parent-pid``, therefore stops once its parent
    is gone (``parent_gone``, ``launcher.watch_parent``); to outlive the process that
    starts it, start it in a group of its own, as ``xtask emulator up`` does."""
    moved = os.getpgrp() != os.getpid()
    if moved:
        os.setpgid(0, 0)
    return os.getpgrp(), moved


def parent_gone(parent: int) -> bool:
    """Whether the parent this process had (`parent`, its ``os.getppid()`` at start) has
    ended: an orphan is adopted by init or a subreaper, so its parent id changes
    (unlike ``kill(parent, 0)``, not fooled by a new process given the same pid)."""
    return os.getppid() != parent


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


def remove_after_exit(path: str) -> None:
    """Tells the watchdog to remove directory `path` (one this launcher made for itself,
    such as ``mariadb_servers.fallback_directory``) once the group is stopped: one line
    on its pipe. The launcher still removes it itself when it stops normally; this is
    for the launcher killed with SIGKILL. No watchdog (a module test): nothing to tell."""
    encoded = os.fsencode(path)
    if _WATCHDOG is None or _WATCHDOG.stdin is None or b"\n" in encoded:
        return
    try:
        _WATCHDOG.stdin.write(encoded + b"\n")
        _WATCHDOG.stdin.flush()
    except (BrokenPipeError, ValueError):
        pass


def remove_directories(told: bytes) -> None:
    """Removes each directory named on a line of `told` (what ``remove_after_exit`` wrote)."""
    for line in told.split(b"\n"):
        if line:
            shutil.rmtree(os.fsdecode(line), ignore_errors=True)


def group_alive(group: int) -> bool:
    """Whether any process of `group` remains (zombies count until they are reaped)."""
    try:
        os.killpg(group, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _signal_group(group: int, signum: int) -> bool:
    """Sends `signum` to `group`; False when there is no one left to signal, or no one
    this process may signal (killpg(2): ESRCH, EPERM), which it reports on stderr."""
    try:
        os.killpg(group, signum)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        print(f"[process_group] may not signal process group {group} ({signal.Signals(signum).name}); stop what is left of it by hand", file=sys.stderr, flush=True)
        return False


def stop_group(group: int, grace: float = GRACE_SECONDS) -> None:
    """SIGTERM to every process of `group`, then SIGKILL to what is left after `grace`.
    The group is checked again right before SIGKILL: once its processes have all ended
    its id is free, and another group given it later must not be killed."""
    if not _signal_group(group, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not group_alive(group):
            return
        time.sleep(0.1)
    if group_alive(group):
        _signal_group(group, signal.SIGKILL)


def watch(group: int) -> None:
    """The watchdog: waits for the end of its input (its launcher gone), then stops the
    group and removes the directories the launcher named on that input."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    told = sys.stdin.buffer.read()  # to end-of-file: until the launcher is gone
    stop_group(group)
    remove_directories(told)


if __name__ == "__main__":
    watch(int(sys.argv[1]))
