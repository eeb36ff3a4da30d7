"""The launcher's log: one line per event on stderr (``launcher.log`` beside the
emulator's state), each prefixed by the module that wrote it, ``[secret_rotation]``,
``[network]``, so that a reader goes from a line to the code that decided it. (The
prefixes once named the file a helper lived in, ``[strict]``, ``[launcher]``, which
said nothing after the split into modules.)

This module imports no other module of the emulator: every layer may log.
"""

from __future__ import annotations

import sys


def log(message: str) -> None:
    """Writes ``[<calling module>] message`` to stderr, flushed at once."""
    module = sys._getframe(1).f_globals.get("__name__", "?")  # the caller's module (sys docs: CPython)
    print(f"[{module}] {message}", file=sys.stderr, flush=True)
