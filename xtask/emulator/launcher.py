"""Embedded AWS emulator: moto server plus the fixes this project needs.

moto emulates the AWS APIs well enough for this project, except in three places
where an honest test needs AWS's real behaviour (see shared emulator facts):

* Lambda ``Invoke`` needs Docker in moto. Here a function's zip is unpacked and
  its ``bootstrap`` runs as a process against a Lambda Runtime API served by this
  launcher, one port per execution environment. Environments stay warm between
  invocations and are added when invocations overlap, as AWS does.
* ``RotateSecret`` in moto runs all four steps whatever happens and then promotes
  the new version. Here the steps stop at the first failure, ``AWSCURRENT`` stays
  where it was, ``ScheduleExpression``/``Duration`` are understood and reported; the
  call returns at once and the steps run in the background (Secrets Manager user
  guide, "How rotation works": ``RotateSecret`` starts the rotation and returns).
* RDS instances in moto have made-up endpoints. Here each DB instance is its own
  MariaDB server process, and a managed master password creates that admin user.

Where else AWS is harsher than moto, one module per concern patches moto, and the
launcher installs them in a fixed order (``main``); ``strict.py`` (the HTTP layer in
front of moto) lists them.

The launcher also supervises every MariaDB server, including the default one the
Rust side asks for, so that one process id stops everything (``SIGTERM``), and it
exits with its parent when started with ``--parent-pid`` (the test harness).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from queue import Empty, Queue

import base
import behaviours
import certificates
import ec2_dependencies
import iam_enforcement
import kms_key_state
import lambda_functions
import launch_state
import moto.server
import network
import rds_instances
import rds_managed_replica
import rds_rotation
import rds_servers
import schedules
import secrets_manager
import strict
import sts_trust
import throttling
from lambda_runtime import LAMBDA
from launch_state import free_port, log
from mariadb_servers import MariaDbServer, rds_master_privileges
from moto.awslambda.models import LambdaFunction
from moto.secretsmanager import models as sm_models
from secret_rotation import ROTATIONS


# --------------------------------------------------------------------------- supervision


class Supervisor:
    """Owns every child process; stops them all on SIGTERM or when the parent dies."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.servers: list[MariaDbServer] = []
        self.processes: list[subprocess.Popen] = []
        self.template_ready = threading.Event()
        self.template = launch_state.ARGS.template_dir

    def prepare_template(self) -> None:
        """Runs mariadb-install-db once; every server starts from a copy of it."""
        if not os.path.isdir(os.path.join(self.template, "mysql")):
            building = f"{self.template}.building-{os.getpid()}"
            shutil.rmtree(building, ignore_errors=True)
            os.makedirs(building)
            args = [
                launch_state.ARGS.install_db,
                "--no-defaults",
                f"--datadir={building}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ]
            if os.geteuid() == 0:
                args.append("--user=root")
            result = subprocess.run(args, capture_output=True, text=True, timeout=120)
            if result.returncode != 0:
                raise RuntimeError(f"mariadb-install-db failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
            self.lock_down_template(building)
            try:
                os.rename(building, self.template)
            except OSError:  # another emulator finished first; its template is as good
                shutil.rmtree(building, ignore_errors=True)
        self.template_ready.set()

    def lock_down_template(self, datadir: str) -> None:
        """Leaves root reachable through the socket only, and no anonymous accounts.

        A fresh data directory has root with an empty password on 127.0.0.1 and ::1,
        and may have anonymous accounts that shadow 'user'@'%' for local TCP logins.
        """
        server = MariaDbServer("template")
        server.datadir = datadir
        server.dir = os.path.join(launch_state.ARGS.state_dir, "mariadb", "template-run")
        server.socket = os.path.join(server.dir, "mysqld.sock")
        server.log_path = os.path.join(server.dir, "mariadbd.log")
        server.start()
        try:
            users = server.sql("SELECT CONCAT(QUOTE(user), '@', QUOTE(host)) FROM mysql.user WHERE user = '' OR (user = 'root' AND host <> 'localhost')")
            drops = "".join(f"DROP USER {account};\n" for account in users.split("\n") if account.strip())
            server.sql(drops + "FLUSH PRIVILEGES;\n")
        finally:
            server.stop()
            shutil.rmtree(server.dir, ignore_errors=True)

    def copy_template_datadir(self, target: str) -> None:
        self.template_ready.wait()
        shutil.copytree(self.template, target)

    def add_server(self, server: MariaDbServer) -> None:
        with self.lock:
            self.servers.append(server)
        self.write_children()

    def remove_server(self, server: MariaDbServer) -> None:
        server.stop()
        with self.lock:
            if server in self.servers:
                self.servers.remove(server)
        self.write_children()

    def track(self, process: subprocess.Popen) -> None:
        with self.lock:
            self.processes = [p for p in self.processes if p.poll() is None] + [process]
        self.write_children()

    def write_children(self) -> None:
        """Records every child pid for `xtask emulator down` (written atomically)."""
        with self.lock:
            pids = [s.process.pid for s in self.servers if s.process and s.process.poll() is None]
            pids += [p.pid for p in self.processes if p.poll() is None]
            path = os.path.join(launch_state.ARGS.state_dir, "children.json")
            try:
                with open(path + ".tmp", "w") as handle:
                    json.dump({"pids": pids}, handle)
                os.replace(path + ".tmp", path)
            except OSError as error:
                log(f"could not record child processes: {error}")

    def stop_all(self) -> None:
        LAMBDA.stop_all()
        with self.lock:
            servers = list(self.servers)
            processes = list(self.processes)
        for process in processes:
            if process.poll() is None:
                process.kill()
        threads = [threading.Thread(target=server.stop) for server in servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.write_children()


def shutdown(*_args) -> None:
    try:
        launch_state.SUPERVISOR.stop_all()
    finally:
        os._exit(0)


def watch_parent(pid: int) -> None:
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            log(f"parent process {pid} is gone; stopping")
            shutdown()
        time.sleep(0.5)


def start_default_server() -> dict:
    server = MariaDbServer("default")
    server.start()
    launch_state.SUPERVISOR.add_server(server)
    password = secrets.token_urlsafe(18)
    server.create_admin(launch_state.ARGS.admin_user, password)
    return {"port": server.port, "user": launch_state.ARGS.admin_user, "password": password, "pid": server.process.pid, "log": server.log_path}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
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
    launch_state.ARGS.endpoint_url = f"http://127.0.0.1:{launch_state.ARGS.port}"
    if launch_state.ARGS.tls_ca_key:
        launch_state.CA_KEY = certificates.take_key(launch_state.ARGS.tls_ca_key)
    os.makedirs(launch_state.ARGS.state_dir, exist_ok=True)
    launch_state.SUPERVISOR = Supervisor()
    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    if launch_state.ARGS.parent_pid:
        threading.Thread(target=watch_parent, args=(launch_state.ARGS.parent_pid,), daemon=True).start()
    unknown = behaviours.unknown_switches()
    if unknown:
        log(f"EMULATOR_OFF names no behaviour: {', '.join(unknown)}; the behaviours are: {', '.join(behaviours.BY_NAME)}")
        sys.exit(2)
    rds_servers.install_rds_patches()
    rds_instances.install_offerings()
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
    if launch_state.ARGS.enforce_iam:
        iam_enforcement.enforce_iam("123456789012", launch_state.ARGS.access_key, launch_state.ARGS.secret_key)
    original_dispatcher = moto.server.DomainDispatcherApplication
    moto.server.DomainDispatcherApplication = lambda *a, **k: strict.StrictApp(original_dispatcher(*a, **k), ROTATIONS.snapshot)

    def prepare_and_start() -> None:
        try:
            launch_state.SUPERVISOR.prepare_template()
            database = start_default_server()
            with open(launch_state.ARGS.ready_file + ".tmp", "w") as handle:
                json.dump({"launcher_pid": os.getpid(), "database": database}, handle)
            os.replace(launch_state.ARGS.ready_file + ".tmp", launch_state.ARGS.ready_file)
        except Exception as error:
            log(f"could not start the default MariaDB server: {error}")
            traceback.print_exc()
            shutdown()

    threading.Thread(target=prepare_and_start, daemon=True).start()
    moto.server.signal_handler = shutdown  # moto installs it for SIGINT/SIGTERM
    moto.server.main(["--host", "127.0.0.1", "--port", str(launch_state.ARGS.port)])


if __name__ == "__main__":
    main()
