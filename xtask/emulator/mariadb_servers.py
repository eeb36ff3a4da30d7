"""MariaDB servers: each RDS instance's, and the default one the Rust side asks for.

One ``MariaDbServer`` is a private ``mariadbd`` process with its own data directory
(a copy of the supervisor's template), port, socket and certificate. The supervisor
(``supervision.py``) owns every server; ``rds_servers.py`` gives each DB instance one
and its master user the privileges RDS gives (``rds_master_privileges``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import time

import behaviours
import certificates
import launch_state
import process_group
from launch_state import free_port


# unix(7): a socket's path, sun_path, holds 108 bytes with its final NUL; mariadbd
# refuses a longer one at start ("The socket file path is too long (> 107)").
SOCKET_PATH_MAX = 107


# The launcher's own directory for the sockets that do not fit in their server's
# directory: made by ``tempfile.mkdtemp`` (mode 0700, "readable, writable, and
# searchable only by the creating user ID"; Python docs), so no other local user can
# create a socket there before mariadbd does and be sent the launcher's SQL, master
# passwords included (a fixed name in the shared temporary directory allowed that).
# Removed when the launcher stops (``remove_fallback_directory``), or by the watchdog
# after a SIGKILL (``process_group.remove_after_exit``).
_FALLBACK_DIRECTORY: str | None = None
_FALLBACK_LOCK = threading.Lock()


def fallback_directory() -> str:
    """This launcher's private directory for socket files, made on first use."""
    global _FALLBACK_DIRECTORY
    with _FALLBACK_LOCK:
        if _FALLBACK_DIRECTORY is None:
            _FALLBACK_DIRECTORY = tempfile.mkdtemp(prefix="emulator-mariadb-")
            # A launcher killed with SIGKILL cannot remove it: its watchdog will.
            process_group.remove_after_exit(_FALLBACK_DIRECTORY)
        return _FALLBACK_DIRECTORY


def remove_fallback_directory() -> None:
    """Removes the private socket directory (its servers are stopped by then)."""
    global _FALLBACK_DIRECTORY
    with _FALLBACK_LOCK:
        if _FALLBACK_DIRECTORY is not None:
            shutil.rmtree(_FALLBACK_DIRECTORY, ignore_errors=True)
            _FALLBACK_DIRECTORY = None


def socket_path(directory: str) -> str:
    """Where the server in ``directory`` listens for the launcher's own SQL: in that
    directory when the path fits in a socket address, else a short name in this
    launcher's private directory (``fallback_directory``; a deep state directory and a
    63-character DB instance identifier do not fit)."""
    path = os.path.join(directory, "mysqld.sock")
    if len(os.fsencode(path)) <= SOCKET_PATH_MAX:
        return path
    digest = hashlib.sha256(os.fsencode(os.path.abspath(directory))).hexdigest()[:16]
    path = os.path.join(fallback_directory(), f"{digest}.sock")
    if len(os.fsencode(path)) > SOCKET_PATH_MAX:
        raise RuntimeError(
            f"MariaDB server socket for {directory}: neither {os.path.join(directory, 'mysqld.sock')} nor {path} "
            f"fits in a socket address ({SOCKET_PATH_MAX} bytes, unix(7)); set TMPDIR to a shorter directory "
            "or give the emulator a shorter state directory"
        )
    return path


def sql_string(value: str) -> str:
    """Quotes a string literal for MariaDB (backslash and quote escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class MariaDbServer:
    """One private MariaDB server: its own data directory, port and socket."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dir = os.path.join(launch_state.ARGS.state_dir, "mariadb", name)
        self.datadir = os.path.join(self.dir, "data")
        self.socket = socket_path(self.dir)
        self.log_path = os.path.join(self.dir, "mariadbd.log")
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.cert = launch_state.ARGS.tls_cert
        self.key = launch_state.ARGS.tls_key

    def start(self) -> None:
        os.makedirs(self.dir, exist_ok=True)
        if not os.path.isdir(self.datadir):
            launch_state.SUPERVISOR.copy_template_datadir(self.datadir)
        preferred = self.port  # a restarted server (StartDBInstance) keeps its port, as RDS does
        # mariadbd cannot be asked for any free port (MariaDB docs, --port: "0 to default
        # to, my.cnf, $MYSQL_TCP_PORT, /etc/services, built-in default (3306)"), so one
        # is chosen here; when another process takes it before mariadbd binds it, the
        # server exits saying so and starts again on another port (tests/test_launcher_processes.py).
        for attempt in range(5):
            self.port = preferred if preferred and attempt == 0 else free_port()
            args = [
                launch_state.ARGS.mariadbd,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                f"--pid-file={os.path.join(self.dir, 'mariadbd.pid')}",
                f"--ssl-ca={launch_state.ARGS.tls_ca}",
                f"--ssl-cert={self.cert}",
                f"--ssl-key={self.key}",
                "--innodb-buffer-pool-size=16M",
                "--innodb-log-file-size=8M",
                "--max-connections=500",
                "--performance-schema=OFF",
            ]
            if os.geteuid() == 0:
                args.append("--user=root")
            logfile = open(self.log_path, "ab")
            self.process = subprocess.Popen(
                args, stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
            if self._wait_ready():
                return
            if self.process.poll() is None:
                self.process.kill()
            if "Address already in use" not in self.log_tail():
                break
        raise RuntimeError(
            f"MariaDB server {self.name} did not start; last lines of {self.log_path}:\n{self.log_tail()}"
        )

    def _wait_ready(self) -> bool:
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process is not None and self.process.poll() is not None:
                return False
            if os.path.exists(self.socket):
                try:
                    self.sql("SELECT 1")
                    return True
                except RuntimeError:
                    pass
            time.sleep(0.05)
        return False

    def sql(self, statements: str) -> str:
        result = subprocess.run(
            [launch_state.ARGS.mariadb_client, "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-B"],
            input=statements,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if result.returncode != 0:
            raise RuntimeError(f"SQL on {self.name} failed: {result.stderr.strip()}")
        return result.stdout

    def create_admin(self, user: str, password: str, privileges: str = "ALL PRIVILEGES") -> None:
        """Creates (or resets) ``user``@'%' holding ``privileges`` on ``*.*`` WITH GRANT OPTION.

        The default is a root equivalent, for the emulator's own default server; an
        RDS instance's master user gets ``rds_master_privileges(engine)`` instead.
        """
        self.sql(
            f"CREATE USER IF NOT EXISTS {sql_string(user)}@'%' IDENTIFIED BY {sql_string(password)};\n"
            f"ALTER USER {sql_string(user)}@'%' IDENTIFIED BY {sql_string(password)};\n"
            f"GRANT {privileges} ON *.* TO {sql_string(user)}@'%' WITH GRANT OPTION;\n"
            "FLUSH PRIVILEGES;\n"
        )

    def set_password(self, user: str, password: str) -> None:
        """Gives ``user``@'%' a new password (RDS's managed rotation of its master user)."""
        self.sql(f"ALTER USER {sql_string(user)}@'%' IDENTIFIED BY {sql_string(password)};\nFLUSH PRIVILEGES;\n")

    def certify(self, name: str, addresses: list[str]) -> None:
        """Gives the server a certificate for ``name`` and ``addresses``; a running server
        reloads it (MariaDB ``FLUSH SSL``, 10.4 and later)."""
        if not launch_state.CA_KEY:
            return  # an older xtask: the emulator's shared certificate (127.0.0.1, localhost)
        self.cert, self.key = certificates.issue(launch_state.ARGS.tls_ca, launch_state.CA_KEY, os.path.join(self.dir, "tls"), name, addresses)
        if self.process is not None and self.process.poll() is None:
            self.sql("FLUSH SSL;")

    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                return "\n".join(handle.read().decode("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# RDS user guide, "Master user account privileges": the master user of RDS for MySQL
# 8.0.36 and higher holds exactly SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD,
# PROCESS, REFERENCES, INDEX, ALTER, SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK
# TABLES, EXECUTE, REPLICATION SLAVE, REPLICATION CLIENT, CREATE VIEW, SHOW VIEW, CREATE
# ROUTINE, ALTER ROUTINE, CREATE USER, EVENT, TRIGGER, CREATE ROLE, DROP ROLE,
# APPLICATION_PASSWORD_ADMIN, ROLE_ADMIN, SET_USER_ID, XA_RECOVER_ADMIN on *.* (WITH
# GRANT OPTION), plus the role rds_superuser_role ("Role-based privilege model for RDS
# for MySQL"); no SUPER, FILE, SHUTDOWN or SYSTEM_USER. The same list in MariaDB 10.11's
# names (MariaDB knowledge base, "GRANT", global privileges; "CREATE ROLE"):
# * REPLICATION CLIENT is BINLOG MONITOR's old name since 10.5 and no longer allows SHOW
#   SLAVE STATUS, which MySQL's REPLICATION CLIENT does (MySQL reference manual,
#   "Privileges Provided by MySQL"): BINLOG MONITOR + SLAVE MONITOR.
# * CREATE ROLE / DROP ROLE: MariaDB has no such privileges; CREATE USER allows both.
# * SET_USER_ID (a DEFINER other than oneself) is MariaDB's SET USER.
# * ROLE_ADMIN, APPLICATION_PASSWORD_ADMIN, XA_RECOVER_ADMIN have no MariaDB counterpart
#   (a MariaDB role is granted by whoever holds it WITH ADMIN OPTION, there are no dual
#   passwords, XA RECOVER needs no privilege).
# * DELETE HISTORY exists only in MariaDB (system-versioned tables) and is part of its
#   database-level ALL: without it `GRANT ALL ON db.*` fails (1044). RDS for MySQL's
#   master can grant ALL on a database (its list holds every MySQL database privilege);
#   RDS for MariaDB's cannot (WordOps/WordOps#263, tenancy/multi-tenant#660), so only
#   the MySQL master gets it.
# * "You can't modify the tables in the mysql database directly" (8.0.36+) has no MariaDB
#   form: MariaDB has no partial revokes, and a privilege on *.* covers the mysql
#   database too. A known difference (README).
RDS_MYSQL_MASTER_PRIVILEGES = (
    "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, REFERENCES, INDEX, ALTER, "
    "SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, "
    "BINLOG MONITOR, SLAVE MONITOR, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, "
    "CREATE USER, EVENT, TRIGGER, SET USER, DELETE HISTORY"
)
# Same page, RDS for MariaDB: the list without the 8.0.36 additions (REPLICATION CLIENT
# being BINLOG MONITOR). Whether RDS also gives it SLAVE MONITOR could not be confirmed.
RDS_MARIADB_MASTER_PRIVILEGES = (
    "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, REFERENCES, INDEX, ALTER, "
    "SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, "
    "BINLOG MONITOR, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, "
    "EVENT, TRIGGER"
)


def rds_master_privileges(engine: str) -> str:
    """What an RDS instance's master user holds; root's ALL with EMULATOR_STRICT=off."""
    if not behaviours.on("rds-master-privileges"):
        return "ALL PRIVILEGES"
    return RDS_MARIADB_MASTER_PRIVILEGES if "mariadb" in engine else RDS_MYSQL_MASTER_PRIVILEGES
