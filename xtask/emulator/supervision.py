"""The supervisor: every child process of the launcher, and how they all stop.

It prepares the MariaDB template data directory once (every server starts from a
copy), keeps the list of MariaDB servers and function processes, and stops them
all (``stop_all``: the Lambda execution environments first) on SIGTERM or when the
launcher's parent dies (``launcher.shutdown``). What is left after that, or after a
launcher killed outright, is found by its process group, not by a list kept here:
the watchdog stops the group (``process_group.py``) and ``xtask emulator down``
stops its members (``xtask/src/emulator.rs``, ``stop``), one list for both.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

import launch_state
from lambda_runtime import LAMBDA
from mariadb_servers import MariaDbServer, remove_fallback_directory, socket_path


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
        server.socket = socket_path(server.dir)
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

    def remove_server(self, server: MariaDbServer) -> None:
        server.stop()
        with self.lock:
            if server in self.servers:
                self.servers.remove(server)

    def track(self, process: subprocess.Popen) -> None:
        with self.lock:
            self.processes = [p for p in self.processes if p.poll() is None] + [process]

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
        remove_fallback_directory()
