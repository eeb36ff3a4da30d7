"""Embedded AWS emulator: moto server plus the fixes this project needs.

moto emulates the AWS APIs well enough for this project, except in three places
where an honest test needs AWS's real behaviour (see shared emulator facts), each
now a module of its own:

* Lambda ``Invoke`` needs Docker in moto: ``lambda_runtime.py`` runs a function's
  ``bootstrap`` as a process against a Lambda Runtime API, one port per warm
  execution environment, added when invocations overlap, as AWS does.
* ``RotateSecret`` in moto runs all four steps whatever happens and then promotes
  the new version: ``secret_rotation.py`` stops at the first failure, leaves
  ``AWSCURRENT`` where it was, understands ``ScheduleExpression``/``Duration``, and
  returns at once while the steps run in the background (Secrets Manager user
  guide, "How rotation works": ``RotateSecret`` starts the rotation and returns).
* RDS instances in moto have made-up endpoints: ``rds_servers.py`` makes each DB
  instance its own MariaDB server process (``mariadb_servers.py``), and a managed
  master password creates that admin user.

Where else AWS is harsher than moto, one module per concern patches moto;
``strict.py`` (the HTTP layer in front of moto) lists them.

This file is what is left: argument parsing, the start-up order (``main``: the
arguments and the supervisor into ``launch_state``, then every install in a fixed
order, then moto's server) and shutdown. The supervisor (``supervision.py``) owns
every MariaDB server, including the default one the Rust side asks for, and every
function process, so that one process id stops everything (``SIGTERM``); the
launcher exits with its parent when started with ``--parent-pid`` (the test harness)
or, without it, when the parent whose process group it left is gone (a Ctrl-C there
reaches only that parent; ``process_group.lead_own_group``), and when the launcher itself is killed outright its watchdog stops its process group
(``process_group.py``). moto's port is bound here before anything starts
(``listen_on``) and served from that socket (``serve_moto``), never chosen, released
and bound again.

Layers, each importing only those below it: ``launcher`` > ``supervision`` >
``rds_servers``, ``secret_rotation``, ``lambda_runtime`` > ``mariadb_servers`` >
``launch_state``. Every moto method is replaced through ``patching.replace`` (or
added through ``patching.add``), from ``install``, never at import; the two counters
IAM enforcement resets (``iam_enforcement.enforce_iam``) are plain assignments,
guarded only by the moto version check.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import sys
import threading
import time
import traceback

import base
import behaviours
import certificates
import ec2_dependencies
import iam_enforcement
import kms_key_state
import kms_keys
import lambda_functions
import lambda_runtime
import launch_state
import moto.server
import network
import patching
import process_group
import rds_instances
import rds_managed_replica
import rds_rotation
import rds_servers
import rds_tls
import secret_rotation
import secrets_manager
import strict
import sts_trust
import throttling
from emulator_log import log
from mariadb_servers import MariaDbServer
from supervision import Supervisor
from werkzeug.serving import make_server


def shutdown(*_args) -> None:
    try:
        launch_state.SUPERVISOR.stop_all()
    finally:
        os._exit(0)


def watch_parent(pid: int, own_parent: bool = False) -> None:
    """Stops the launcher once process `pid` is gone: the one ``--parent-pid`` names,
    or (`own_parent`) the launcher's own parent, when the launcher left its parent's
    process group and a Ctrl-C there no longer reaches it (process_group.lead_own_group)."""
    while True:
        if own_parent:
            gone = process_group.parent_gone(pid)
        else:
            try:
                os.kill(pid, 0)
                gone = False
            except ProcessLookupError:
                gone = True
        if gone:
            log(f"parent process {pid} is gone; stopping")
            shutdown()
        time.sleep(0.5)


def listen_on(port: int) -> socket.socket:
    """moto's listening socket on ``port`` (0: any free port), bound by this process
    before it starts anything, and kept until moto serves on it: no port is chosen,
    released and bound again later, which another process could take in between.
    xtask passes 0 and reads the port from the ready file; a fixed port is for a
    launcher started by hand. When it is taken the launcher exits at once saying
    "Address already in use", before any child or ready file exists."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug's own server binds
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as error:
        sock.close()
        log(f"cannot serve the AWS APIs on 127.0.0.1:{port}: {error.strerror} (errno {error.errno}); start the launcher with another --port, or 0 for any free port")
        sys.exit(1)
    sock.listen(128)  # werkzeug's backlog; a client connecting early waits for moto
    return sock


def serve_moto(listener: socket.socket) -> None:
    """What ``moto.server.main`` does (its application, debug on, threaded, its
    request handler, ``MOTO_PORT``), on the socket ``listen_on`` bound, behind
    the emulator's HTTP layer (``strict.StrictApp``)."""
    port = listener.getsockname()[1]
    os.environ.setdefault("MOTO_PORT", str(port))
    moto_app = moto.server.DomainDispatcherApplication(moto.server.create_backend_app)
    moto_app.debug = True
    app = strict.StrictApp(moto_app, secret_rotation.ROTATIONS.snapshot)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=moto.server.MotoRequestHandler, fd=listener.fileno())
    listener.close()  # werkzeug serves on its own duplicate of the descriptor
    server.serve_forever()


def start_default_server() -> dict:
    server = MariaDbServer("default")
    server.start()
    launch_state.SUPERVISOR.add_server(server)
    password = secrets.token_urlsafe(18)
    server.create_admin(launch_state.ARGS.admin_user, password)
    return {"port": server.port, "user": launch_state.ARGS.admin_user, "password": password, "pid": server.process.pid, "log": server.log_path}


def install(enforce_iam: bool, access_key: str, secret_key: str) -> None:
    """Every patch of moto, in the order they must be made (later ones wrap earlier
    ones). ``tests/test_installs.py`` runs this on the pinned moto in a process of its
    own, so a patch whose target moto lacks fails there, not in the first test."""
    patching.check_moto_version()  # the moto every patch below was written for
    lambda_runtime.install()
    secret_rotation.install()
    rds_servers.install()
    rds_tls.install()
    rds_instances.install_offerings()
    kms_keys.install()  # which key (a key ARN, its region and account) whatever the switches; key states under kms-key-state
    if behaviours.on("lambda-reserved-concurrency"):
        throttling.check_moto()
    if base.STRICT:
        lambda_functions.install_lambda_patches()
        ec2_dependencies.install_ec2_patches()
        secrets_manager.install_secretsmanager_patches()
        rds_instances.install_rds_patches()
        sts_trust.install_sts_patches()
        kms_key_state.install()
        rds_rotation.install()
        rds_managed_replica.install()
        network.install()
        log(f"strict AWS behaviours on: {json.dumps(base.settings())}")
    else:
        log("strict AWS behaviours off (EMULATOR_STRICT=off): moto's own, kinder behaviour")
    if enforce_iam:
        iam_enforcement.enforce_iam("123456789012", access_key, secret_key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="moto's port; 0: any free port (the ready file says which)")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--template-dir", required=True)
    parser.add_argument("--mariadbd", required=True)
    parser.add_argument("--install-db", required=True)
    parser.add_argument("--mariadb-client", required=True)
    parser.add_argument("--tls-ca", required=True)
    parser.add_argument("--tls-cert", required=True)
    parser.add_argument("--tls-key", required=True)
    parser.add_argument("--tls-ca-key", help="the CA's key: each DB instance gets a certificate for its own address")
    parser.add_argument("--admin-user", default="emulator_admin")
    parser.add_argument("--access-key", default="testing")
    parser.add_argument("--secret-key", default="testing")
    parser.add_argument("--parent-pid", type=int)
    parser.add_argument("--enforce-iam", action="store_true", help="every call needs an IAM user allowed the action")
    launch_state.ARGS = parser.parse_args()
    listener = listen_on(launch_state.ARGS.port)
    launch_state.ARGS.port = listener.getsockname()[1]
    launch_state.ARGS.endpoint_url = f"http://127.0.0.1:{launch_state.ARGS.port}"
    # Before any child: every process started from here on is in this group, which
    # the watchdog stops if the launcher is killed outright (process_group.py).
    parent = os.getppid()
    group, left_parents_group = process_group.lead_own_group()
    process_group.start_watchdog(group)
    if launch_state.ARGS.tls_ca_key:
        launch_state.CA_KEY = certificates.take_key(launch_state.ARGS.tls_ca_key)
    os.makedirs(launch_state.ARGS.state_dir, exist_ok=True)
    launch_state.SUPERVISOR = Supervisor()
    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    if launch_state.ARGS.parent_pid:
        threading.Thread(target=watch_parent, args=(launch_state.ARGS.parent_pid,), daemon=True).start()
    elif left_parents_group:
        threading.Thread(target=watch_parent, args=(parent, True), daemon=True).start()
    unknown = behaviours.unknown_switches()
    if unknown:
        log(f"EMULATOR_OFF names no behaviour: {', '.join(unknown)}; the behaviours are: {', '.join(behaviours.BY_NAME)}")
        sys.exit(2)
    install(launch_state.ARGS.enforce_iam, launch_state.ARGS.access_key, launch_state.ARGS.secret_key)

    def prepare_and_start() -> None:
        try:
            launch_state.SUPERVISOR.prepare_template()
            database = start_default_server()
            with open(launch_state.ARGS.ready_file + ".tmp", "w") as handle:
                json.dump({"launcher_pid": os.getpid(), "port": launch_state.ARGS.port, "database": database}, handle)
            os.replace(launch_state.ARGS.ready_file + ".tmp", launch_state.ARGS.ready_file)
        except Exception as error:
            log(f"could not start the default MariaDB server: {error}")
            traceback.print_exc()
            shutdown()

    threading.Thread(target=prepare_and_start, daemon=True).start()
    serve_moto(listener)


if __name__ == "__main__":
    main()
