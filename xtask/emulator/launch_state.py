"""What the launcher decided at start and every part of the process reads: its
arguments, the supervisor of its child processes, the emulator CA's key, and how
to find a free port. (The log is ``logs.log``.)

``launcher.main`` sets ``ARGS``, ``SUPERVISOR`` and ``CA_KEY`` before it starts
anything; the modules that run the process (``mariadb_servers``, ``lambda_runtime``,
``secret_rotation``, ``rds_servers``, ``supervision``) read them here as
``launch_state.ARGS`` at call time, so none of them imports the launcher. This
module imports no other module of the emulator: it is the bottom of those layers.
"""

from __future__ import annotations

import argparse
import socket

ARGS: argparse.Namespace
SUPERVISOR: "supervision.Supervisor"  # not imported: supervision.py sits above this module
CA_KEY: bytes = b""  # the emulator CA's key, read once from --tls-ca-key (whose file is then removed)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
