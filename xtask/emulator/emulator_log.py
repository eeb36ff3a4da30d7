"""The launcher's log: one line per event on stderr (``launcher.log`` beside the
emulator's state), each prefixed by the module that wrote it, ``[secret_rotation]``,
``[network]``, so that a reader goes from a line to the code that decided it. (The
prefixes once named the file a helper lived in, ``[strict]``, ``[launcher]``, which
said nothing after the split into modules.)

Named ``emulator_log``, not ``logs``: CloudWatch Logs is ``moto.logs`` and the
``lambda-logs`` behaviour, and a reader should not take one for the other.

This module imports no other module of the emulator: every layer may log.
"""

from __future__ import annotations

import os
import sys


def log(message: str) -> None:
    """Writes ``[<calling module>] message`` to stderr, flushed at once."""
    caller = sys._getframe(1).f_globals  # the calling module's globals (sys docs: CPython)
    # By file, not __name__: the launcher runs as a script, whose __name__ is "__main__".
    module = os.path.splitext(os.path.basename(caller.get("__file__") or ""))[0] or caller.get("__name__", "?")
    print(f"[{module}] {message}", file=sys.stderr, flush=True)
