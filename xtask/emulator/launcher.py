"""Embedded AWS emulator: moto server plus the fixes this project needs.

moto emulates the AWS APIs well enough for this project, except in three places
where an honest test needs AWS's real behaviour (see shared emulator facts):

* Lambda ``Invoke`` needs Docker in moto. Here a function's zip is unpacked and
  its ``bootstrap`` runs as a process against a Lambda Runtime API served by this
  launcher, one port per execution environment. Environments stay warm between
  invocations and are added when invocations overlap, as AWS does.
* ``RotateSecret`` in moto runs all four steps whatever happens and then promotes
  the new version. Here the steps stop at the first failure, ``AWSCURRENT`` stays
  where it was, ``ScheduleExpression``/``Duration`` are understood and reported.
* RDS instances in moto have made-up endpoints. Here each DB instance is its own
  MariaDB server process, and a managed master password creates that admin user.

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

import behaviours
import certificates
import kms_key_state
import moto.server
import network
import rds_managed_replica
import rds_rotation
import rds_tls
import strict
import throttling
from moto.awslambda.models import LambdaFunction
from moto.rds.models import DBInstance, MasterUserSecret
from moto.secretsmanager import models as sm_models
from moto.secretsmanager.exceptions import (
    InvalidParameterException,
    InvalidRequestException,
    ResourceNotFoundException,
    SecretNotFoundException,
)

ARGS: argparse.Namespace
SUPERVISOR: "Supervisor"
CA_KEY: bytes = b""  # the emulator CA's key, read once from --tls-ca-key (whose file is then removed)


def log(message: str) -> None:
    print(f"[launcher] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sql_string(value: str) -> str:
    """Quotes a string literal for MariaDB (backslash and quote escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --------------------------------------------------------------------------- MariaDB


class MariaDbServer:
    """One private MariaDB server: its own data directory, port and socket."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dir = os.path.join(ARGS.state_dir, "mariadb", name)
        self.datadir = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        self.log_path = os.path.join(self.dir, "mariadbd.log")
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.cert = ARGS.tls_cert
        self.key = ARGS.tls_key

    def start(self) -> None:
        os.makedirs(self.dir, exist_ok=True)
        if not os.path.isdir(self.datadir):
            SUPERVISOR.copy_template_datadir(self.datadir)
        preferred = self.port  # a restarted server (StartDBInstance) keeps its port, as RDS does
        for attempt in range(5):
            self.port = preferred if preferred and attempt == 0 else free_port()
            args = [
                ARGS.mariadbd,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                f"--pid-file={os.path.join(self.dir, 'mariadbd.pid')}",
                f"--ssl-ca={ARGS.tls_ca}",
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
            [ARGS.mariadb_client, "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-B"],
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
        if not CA_KEY:
            return  # an older xtask: the emulator's shared certificate (127.0.0.1, localhost)
        self.cert, self.key = certificates.issue(ARGS.tls_ca, CA_KEY, os.path.join(self.dir, "tls"), name, addresses)
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


# --------------------------------------------------------------------------- Lambda


class Invocation:
    def __init__(self, payload: bytes, deadline_ms: int, function_arn: str) -> None:
        self.request_id = str(uuid.uuid4())
        self.payload = payload
        self.deadline_ms = deadline_ms
        self.function_arn = function_arn
        self.done = threading.Event()
        self.result: bytes = b""
        self.errored = False


class RuntimeApiHandler(BaseHTTPRequestHandler):
    """The Lambda Runtime API for one execution environment."""

    protocol_version = "HTTP/1.1"
    environment: "ExecutionEnvironment"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass

    def _reply(self, status: int, body: bytes = b"{}", headers: dict | None = None) -> None:
        try:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the function process went away (stopped environment); nothing to tell it

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if not self.path.endswith("/runtime/invocation/next"):
            self._reply(404)
            return
        invocation = self.environment.next_invocation()
        if invocation is None:
            self._reply(500, b'{"errorMessage":"environment shutting down"}')
            return
        self._reply(
            200,
            invocation.payload,
            {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
                "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
            },
        )

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        match = re.search(r"/runtime/invocation/([^/]+)/(response|error)$", self.path)
        if match:
            self.environment.complete(match.group(1), body, match.group(2) == "error")
            self._reply(202)
        elif self.path.endswith("/runtime/init/error"):
            self.environment.init_error(body)
            self._reply(202)
        else:
            self._reply(404)


class ExecutionEnvironment:
    """A warm `bootstrap` process and the Runtime API port it polls."""

    def __init__(self, function: LambdaFunction, code_dir: str, env_id: int) -> None:
        self.function = function
        self.queue: Queue[Invocation | None] = Queue()
        self.current: Invocation | None = None
        self.busy = False
        self.fingerprint = configuration_fingerprint(function)
        self.log_path = os.path.join(ARGS.state_dir, "lambda", f"{function.function_name}-{env_id}.log")
        # As Lambda names them: one CloudWatch Logs stream per execution environment.
        self.log_stream = time.strftime("%Y/%m/%d/", time.gmtime()) + f"[{function.version}]{uuid.uuid4().hex}"
        handler = type("Handler", (RuntimeApiHandler,), {"environment": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": code_dir,
            "LAMBDA_RUNTIME_DIR": code_dir,
            "_HANDLER": function.handler or "bootstrap",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.run_time}",
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": str(function.version),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.server.server_address[1]}",
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            "AWS_ENDPOINT_URL": ARGS.endpoint_url,
        }
        env.update(role_credentials(function))
        logging_config = getattr(function, "logging_config", None) or {}
        if logging_config.get("LogFormat") == "JSON":
            env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        env.update(function.environment_vars or {})
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        self.logfile = open(self.log_path, "ab", buffering=0)
        self.process = subprocess.Popen(
            [os.path.join(code_dir, "bootstrap")],
            cwd=code_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.logfile,
            stderr=subprocess.STDOUT,
        )
        SUPERVISOR.track(self.process)
        network.CALLERS.add(self.process.pid, function)  # its connections are judged as this function's

    # Called from the Runtime API threads.
    def next_invocation(self) -> Invocation | None:
        while True:
            try:
                invocation = self.queue.get(timeout=1)
            except Empty:
                if self.process.poll() is not None:
                    return None
                continue
            self.current = invocation
            return invocation

    def complete(self, request_id: str, body: bytes, errored: bool) -> None:
        invocation = self.current
        if invocation is None or invocation.request_id != request_id:
            return
        invocation.result = body
        invocation.errored = errored
        self.current = None
        invocation.done.set()

    def init_error(self, body: bytes) -> None:
        self.init_failure = body

    def run(self, payload: bytes, timeout: float) -> tuple[bytes, bool, str]:
        start = os.path.getsize(self.log_path)  # the process appends through its own descriptor
        began = time.time()
        deadline_ms = int((time.time() + timeout) * 1000)
        invocation = Invocation(payload, deadline_ms, self.function.function_arn)
        self.queue.put(invocation)
        finished_at = time.time() + timeout
        while not invocation.done.wait(0.02):
            if self.process.poll() is not None:
                invocation.errored = True
                code = self.process.returncode
                invocation.result = json.dumps(
                    {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {invocation.request_id} Error: Runtime exited with status {code}"}
                ).encode()
                break
            if time.time() > finished_at:
                self.stop()
                invocation.errored = True
                invocation.result = json.dumps(
                    {"errorType": "Sandbox.Timedout", "errorMessage": f"RequestId: {invocation.request_id} Error: Task timed out after {timeout:.2f} seconds"}
                ).encode()
                break
        time.sleep(0.005)  # let the process flush the log lines of this invocation
        with open(self.log_path, "rb") as handle:
            handle.seek(start)
            logs = handle.read().decode("utf-8", "replace")
        # The platform's lines around the function's own output, as Lambda writes them.
        request = invocation.request_id
        lines = [f"START RequestId: {request} Version: {self.function.version}"]
        lines += logs.splitlines()
        lines.append(f"END RequestId: {request}")
        lines.append(
            f"REPORT RequestId: {request}\tDuration: {(time.time() - began) * 1000:.2f} ms\t"
            f"Memory Size: {self.function.memory_size} MB"
            + ("\tStatus: error" if invocation.errored else "")
        )
        try:
            strict.put_function_logs(self.function, self.log_stream, lines)
        except Exception as error:  # logs must never fail an invocation
            log(f"could not write the logs of {self.function.function_name} to CloudWatch Logs: {error!r}")
        return invocation.result, invocation.errored, logs

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        network.CALLERS.remove(self.process.pid)
        self.queue.put(None)
        self.server.shutdown()


def role_credentials(function: LambdaFunction) -> dict[str, str]:
    """The execution role's temporary credentials, as Lambda gives them to a function.

    Lambda assumes the function's role and puts the session in the environment
    (Lambda developer guide, "Defined runtime environment variables":
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); the session is
    named after the function. Here moto's STS assumes the role, so with IAM enforced
    every call the function makes is judged by the role's own policies (moto's
    access control looks an ``ASIA`` key with a session token up among the assumed
    roles and collects that role's inline and attached policies:
    moto/iam/access_control.py, ``AssumedRoleAccessKey``).
    """
    from moto.sts.models import sts_backends

    try:
        session = sts_backends[function.account_id]["aws"].assume_role(
            region_name=function.region,
            role_session_name=function.function_name[:64],
            role_arn=function.role,
            policy=None,
            duration=43200,
            external_id=None,
        )
    except Exception as error:
        log(f"could not assume the role {function.role} of {function.function_name}: {error!r}")
        if ARGS.enforce_iam:
            return {}  # no credentials: every call the function makes is refused, as it should be
        return {"AWS_ACCESS_KEY_ID": ARGS.access_key, "AWS_SECRET_ACCESS_KEY": ARGS.secret_key}
    return {
        "AWS_ACCESS_KEY_ID": session.access_key_id,
        "AWS_SECRET_ACCESS_KEY": session.secret_access_key,
        "AWS_SESSION_TOKEN": session.session_token,
    }


def configuration_fingerprint(function: LambdaFunction) -> str:
    """What an execution environment was made from; any change (code, environment,
    timeout, memory) retires the warm environments, as an update does in AWS."""
    return json.dumps(
        [function.code_sha_256, function.environment_vars, function.timeout, function.memory_size, function.handler, id(function)],
        sort_keys=True,
        default=str,
    )


class LambdaRuntime:
    """Execution environments per function, created on demand and kept warm."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: dict[str, list[ExecutionEnvironment]] = {}
        self.counter = 0

    def _code_dir(self, function: LambdaFunction) -> str:
        code_dir = os.path.join(ARGS.state_dir, "lambda", "code", function.function_name, function.code_sha_256.replace("/", "_").replace("+", "-"))
        if not os.path.isdir(code_dir):
            tmp = code_dir + f".tmp{os.getpid()}{threading.get_ident()}"
            os.makedirs(tmp, exist_ok=True)
            zip_bytes = function.code_bytes
            zip_path = os.path.join(tmp, "..", f"{os.path.basename(tmp)}.zip")
            with open(zip_path, "wb") as handle:
                handle.write(zip_bytes)
            with zipfile.ZipFile(zip_path) as archive:
                for info in archive.infolist():
                    archive.extract(info, tmp)
                    mode = (info.external_attr >> 16) & 0o777
                    if mode:
                        os.chmod(os.path.join(tmp, info.filename), mode)
            os.remove(zip_path)
            try:
                os.rename(tmp, code_dir)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
        return code_dir

    def invoke(self, function: LambdaFunction, payload: bytes) -> tuple[bytes, bool, str]:
        key = function.function_arn
        environment = None
        with self.lock:
            pool = self.idle.setdefault(key, [])
            while pool:
                candidate = pool.pop()
                if candidate.alive() and candidate.fingerprint == configuration_fingerprint(function):
                    environment = candidate
                    break
                candidate.stop()
            self.counter += 1
            env_id = self.counter
        if environment is None:
            if not os.path.exists(os.path.join(self._code_dir(function), "bootstrap")):
                body = json.dumps({"errorType": "Runtime.InvalidEntrypoint", "errorMessage": "the function's zip has no executable `bootstrap` at its root"})
                return body.encode(), True, ""
            environment = ExecutionEnvironment(function, self._code_dir(function), env_id)
        result = environment.run(payload, float(function.timeout or 3))
        with self.lock:
            if environment.alive():
                self.idle.setdefault(key, []).append(environment)
        return result

    def stop_all(self) -> None:
        with self.lock:
            for pool in self.idle.values():
                for environment in pool:
                    environment.stop()
            self.idle.clear()


LAMBDA = LambdaRuntime()


def patched_lambda_invoke(self: LambdaFunction, body, request_headers, response_headers):
    if behaviours.on("lambda-states"):
        strict.FUNCTION_STATES.refuse_invoke(self)  # a Pending function is not invoked
    if behaviours.on("lambda-reserved-concurrency") and throttling.throttle(self, request_headers.get("x-amz-invocation-type")):
        return ""  # an asynchronous invocation accepted and kept queued, not run
    payload = body.encode() if isinstance(body, str) else (body or b"{}")
    result, errored, logs = LAMBDA.invoke(self, payload)  # logs reach CloudWatch Logs there
    if errored:
        response_headers["x-amz-function-error"] = "Unhandled"
    inv_type = request_headers.get("x-amz-invocation-type", "RequestResponse")
    if inv_type == "RequestResponse":
        tail = logs.encode("utf-8")[-4096:]
        response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
    return result


LambdaFunction.invoke = patched_lambda_invoke


# --------------------------------------------------------------------------- Secrets Manager rotation

RATE = re.compile(r"^rate\((\d+) (hour|hours|day|days)\)$")
CRON = re.compile(r"^cron\(([^()]+)\)$")
DURATION = re.compile(r"^(\d+)h$")
ROTATION_LOCKS: dict[str, threading.Lock] = {}
ROTATION_LOCKS_GUARD = threading.Lock()


def validate_rotation_rules(rules: dict) -> int | None:
    """Checks RotationRules as AWS does; returns the interval in seconds when known."""
    days = rules.get("AutomaticallyAfterDays")
    schedule = rules.get("ScheduleExpression")
    duration = rules.get("Duration")
    if days is not None and schedule is not None:
        raise InvalidParameterException("You can't specify both AutomaticallyAfterDays and ScheduleExpression.")
    interval = None
    if days is not None:
        if not 1 <= int(days) <= 1000:
            raise InvalidParameterException("RotationRules.AutomaticallyAfterDays must be within 1-1000.")
        interval = int(days) * 86400
    if schedule is not None:
        rate = RATE.match(schedule)
        if rate:
            amount = int(rate.group(1))
            hours = rate.group(2).startswith("hour")
            if hours and not 4 <= amount <= 23:
                raise InvalidParameterException("rate(N hours) must be between 4 and 23 hours.")
            if not hours and not 1 <= amount <= 1000:
                raise InvalidParameterException("rate(N days) must be between 1 and 1000 days.")
            interval = amount * (3600 if hours else 86400)
        elif CRON.match(schedule):
            if len(CRON.match(schedule).group(1).split()) != 6:
                raise InvalidParameterException("A cron() expression has six fields.")
        else:
            raise InvalidParameterException(f"Invalid ScheduleExpression {schedule!r}: use rate(N days), rate(N hours) or cron(...).")
    if duration is not None:
        match = DURATION.match(duration)
        if not match or not 1 <= int(match.group(1)) <= 24:
            raise InvalidParameterException(f"Invalid Duration {duration!r}: use a number of hours such as 2h (1h-24h).")
    return interval


def rotation_lock(arn: str) -> threading.Lock:
    with ROTATION_LOCKS_GUARD:
        return ROTATION_LOCKS.setdefault(arn, threading.Lock())


original_rotate_secret = sm_models.SecretsManagerBackend.rotate_secret
original_to_dict = sm_models.FakeSecret.to_dict


def configure_managed_rotation(secret, rotation_rules) -> str:
    """``RotateSecret`` without a function on a secret another service manages (RDS):
    accepted, the schedule recorded (Secrets Manager user guide, "Managed rotation";
    accepted on a live account, floci PR #2378). The owning service's change of the
    password is not modelled here: the value stays as it was, where moto would make
    an empty version ``AWSCURRENT``."""
    interval = validate_rotation_rules(rotation_rules) if rotation_rules else None
    secret.rotation_requested = True
    secret.rotation_enabled = True
    if rotation_rules:
        secret.emulator_rotation_rules = dict(rotation_rules)
        secret.auto_rotate_after_days = int(rotation_rules.get("AutomaticallyAfterDays") or 0)
        secret.emulator_interval = interval
        if interval:
            secret.next_rotation_date = int(time.time()) + interval
    return secret.to_short_dict()


def patched_rotate_secret(self, secret_id, client_request_token=None, rotation_lambda_arn=None, rotation_rules=None, rotate_immediately=True):
    if not self._is_valid_identifier(secret_id):
        raise SecretNotFoundException()
    secret = self.secrets[secret_id]
    if not isinstance(secret, sm_models.FakeSecret):
        return original_rotate_secret(self, secret_id, client_request_token, rotation_lambda_arn, rotation_rules, rotate_immediately)
    if behaviours.on("owned-secrets") and rotation_lambda_arn and secret.owning_service:
        # A secret another service manages is rotated by that service, never by a function.
        raise InvalidRequestException(
            f"You can't rotate secret {secret.name} with a Lambda function because it's managed by {secret.owning_service}."
        )
    lambda_arn = rotation_lambda_arn or secret.rotation_lambda_arn
    if not lambda_arn and not behaviours.on("rotation-needs-function"):
        # moto's own path: it makes an empty version AWSCURRENT (the secret loses its value).
        return original_rotate_secret(self, secret_id, client_request_token, rotation_lambda_arn, rotation_rules, rotate_immediately)
    if secret.is_deleted():
        raise InvalidRequestException("You tried to perform the operation on a secret that's currently marked deleted.")
    if not lambda_arn:
        if secret.owning_service:
            return configure_managed_rotation(secret, rotation_rules)
        # Secrets Manager API reference, InvalidRequestException: "You tried to enable
        # rotation on a secret that doesn't already have a Lambda function ARN
        # configured and you didn't include such an ARN as a parameter in this call."
        # AWS's text, as the AWS CLI prints it (and LocalStack answers it).
        raise InvalidRequestException("No Lambda rotation function ARN is associated with this secret.")
    interval = validate_rotation_rules(rotation_rules or {}) if rotation_rules else None

    from moto.awslambda.utils import get_backend

    lambda_backend = get_backend(self.account_id, self.region_name)
    try:
        lambda_backend.get_function(lambda_arn)
    except Exception:
        raise ResourceNotFoundException(f"Resource not found for ARN '{lambda_arn}'.")
    if behaviours.on("invoke-permission"):
        strict.refuse_rotation_without_invoke_permission(lambda_backend, lambda_arn, secret)

    with rotation_lock(secret.arn):
        current_id = secret.default_version_id
        pending_id = next((vid for vid, v in secret.versions.items() if "AWSPENDING" in v["version_stages"]), None)
        running = ROTATIONS.running(secret.arn)
        if running is not None and client_request_token == running:
            return secret.to_short_dict(version_id=running)  # the same request again: nothing new
        if running is not None or (behaviours.on("pending-refusal") and pending_id is not None and pending_id != current_id):
            # API reference, RotateSecret and CancelRotateSecret: with AWSPENDING on
            # another version than AWSCURRENT "the attempt to rotate fails"; no
            # exception is documented for a request naming the pending version's id.
            # The way out is CancelRotateSecret's: remove AWSPENDING from that version.
            raise InvalidRequestException("A previous rotation isn't complete. That rotation will be reattempted.")
        if client_request_token:
            self._client_request_token_validator(client_request_token)
            if client_request_token in secret.versions and client_request_token != current_id:
                # A token names the new version; it never overwrites an old one (API
                # reference, RotateSecret, ClientRequestToken). moto would replace it.
                raise InvalidRequestException(
                    f"A version {client_request_token} already exists for secret {secret.name}; use a new ClientRequestToken."
                )

        secret.rotation_requested = True
        secret.rotation_enabled = True
        secret.rotation_lambda_arn = lambda_arn
        if rotation_rules:
            secret.emulator_rotation_rules = dict(rotation_rules)
            secret.auto_rotate_after_days = int(rotation_rules.get("AutomaticallyAfterDays") or 0)
            secret.emulator_interval = interval
        interval = getattr(secret, "emulator_interval", None)

        if not secret.versions:
            return secret.to_short_dict()

        if not rotate_immediately:
            if client_request_token == current_id:
                raise InvalidRequestException(
                    f"Version {client_request_token} is the current version of secret {secret.name}; use a new ClientRequestToken."
                )
            # AWS tests the configuration: testSecret on a pending copy of the current value,
            # in the background like every rotation.
            test_id = client_request_token or str(uuid.uuid4())
            current = secret.versions[current_id]
            secret.remove_version_stages_from_old_versions(["AWSPENDING"])
            secret.versions[test_id] = {
                "createdate": int(time.time()),
                "version_id": test_id,
                "version_stages": ["AWSPENDING"],
                **({"secret_string": current["secret_string"]} if "secret_string" in current else {}),
            }
            if interval and secret.next_rotation_date is None:
                secret.next_rotation_date = int(time.time()) + interval
            ROTATIONS.start(secret, test_id, ("testSecret",), lambda ok: secret.versions.pop(test_id, None), lambda_backend, lambda_arn)
            return secret.to_short_dict(version_id=current_id)

        new_version_id = client_request_token or str(uuid.uuid4())
        if new_version_id in secret.versions and "AWSCURRENT" in secret.versions[new_version_id]["version_stages"]:
            return secret.to_short_dict(version_id=new_version_id)
        secret.remove_version_stages_from_old_versions(["AWSPENDING"])
        secret.versions[new_version_id] = {
            "createdate": int(time.time()),
            "version_id": new_version_id,
            "version_stages": ["AWSPENDING"],
        }

        def finished(ok: bool) -> None:
            if ok and "AWSCURRENT" in secret.versions.get(new_version_id, {}).get("version_stages", []):
                secret.last_rotation_date = int(time.time())
                if interval:
                    secret.next_rotation_date = int(time.time()) + interval

        steps = ("createSecret", "setSecret", "testSecret", "finishSecret")
        attempts = strict.ROTATION_ATTEMPTS if behaviours.on("rotation-retries") else 1
        ROTATIONS.start(secret, new_version_id, steps, finished, lambda_backend, lambda_arn, attempts=attempts)
        return secret.to_short_dict(version_id=new_version_id)


class Rotations:
    """Rotations run in the background, as in AWS: ``RotateSecret`` answers at once.

    The steps run in order on a thread of their own and stop at the first failed
    one (``AWSPENDING`` stays, ``AWSCURRENT`` is untouched). A failed attempt is
    retried whole with the same token, as Secrets Manager does ("If any rotation
    step fails, Secrets Manager retries the entire rotation process multiple
    times", user guide, "Rotation by Lambda function"); how many times and how far
    apart AWS does not say, so ``EMULATOR_ROTATION_ATTEMPTS`` and
    ``EMULATOR_ROTATION_RETRY_SECONDS`` set it. Retries stop when the version no
    longer carries ``AWSPENDING`` (the operator cleared it, as CancelRotateSecret's
    documentation describes) or rotation was turned off. Every rotation and each of
    its attempts is recorded, so that tests can wait for one through
    ``GET /_emulator/rotations``.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: list[dict] = []

    def running(self, arn: str) -> str | None:
        with self.lock:
            for record in self.records:
                if record["secret_arn"] == arn and record["status"] == "running" and not record.get("cancelled"):
                    return record["token"]
        return None

    def start(self, secret, token: str, steps, finished, lambda_backend, lambda_arn: str, attempts: int = 1) -> None:
        record = {
            "secret_arn": secret.arn,
            "secret_name": secret.name,
            "token": token,
            "steps": list(steps),
            "status": "running",
            "step": None,
            "attempts": [],
            "started": time.time(),
            "finished": None,
        }
        with self.lock:
            self.records.append(record)

        def still_wanted() -> bool:
            version = secret.versions.get(token)
            return (
                version is not None
                and "AWSPENDING" in version["version_stages"]
                and secret.rotation_enabled
                and not secret.is_deleted()
            )

        def one_attempt(attempt: dict) -> bool:
            if not behaviours.on("rotation-steps"):
                # moto's own: every step runs whatever happens, then the version is promoted.
                for step in steps:
                    record["step"] = step
                    invoke_step(lambda_backend, lambda_arn, secret, step, token)
                if "finishSecret" in steps and token in secret.versions:
                    current = secret.default_version_id
                    if current != token:
                        secret.versions[token]["version_stages"] = ["AWSCURRENT"]
                        if current in secret.versions:
                            secret.versions[current]["version_stages"] = ["AWSPREVIOUS"]
                        secret.default_version_id = token
                return True
            for step in steps:
                if record.get("cancelled"):
                    attempt["failed_step"] = "cancelled"
                    return False
                record["step"] = step
                if not invoke_step(lambda_backend, lambda_arn, secret, step, token):
                    attempt["failed_step"] = step
                    return False
            return True

        def run() -> None:
            ok = False
            try:
                for number in range(1, max(1, attempts) + 1):
                    if number > 1:
                        time.sleep(strict.ROTATION_RETRY_SECONDS)
                        if not still_wanted():
                            log(f"rotation of {secret.name!r}: not retried, version {token!r} is no longer AWSPENDING, or rotation is off, or the secret is deleted")
                            break
                        log(f"rotation of {secret.name!r}: attempt {number} of {attempts}, same version {token!r}")
                    attempt = {"number": number, "started": time.time(), "failed_step": None}
                    with self.lock:
                        record["attempts"].append(attempt)
                    ok = one_attempt(attempt)
                    attempt["finished"] = time.time()
                    if ok:
                        break
                finished(ok)
            except Exception as error:  # a rotation thread must always end its record
                ok = False
                log(f"rotation of {secret.name!r}: the emulator failed: {error!r}")
            finally:
                with self.lock:
                    record["status"] = "succeeded" if ok else "cancelled" if record.get("cancelled") else "failed"
                    record["finished"] = time.time()

        threading.Thread(target=run, daemon=True, name=f"rotation-{secret.name}").start()

    def cancel(self, arn: str) -> None:
        """CancelRotateSecret: the running rotation of `arn` invokes no further step
        and is not retried (the step in flight, a Lambda invocation, runs to its end)."""
        with self.lock:
            for record in self.records:
                if record["secret_arn"] == arn and record["status"] == "running":
                    record["cancelled"] = True

    def snapshot(self) -> list[dict]:
        with self.lock:
            return [{**record, "attempts": [dict(a) for a in record["attempts"]]} for record in self.records]


ROTATIONS = Rotations()


def invoke_step(lambda_backend, lambda_arn: str, secret, step: str, token: str) -> bool:
    event = {"Step": step, "SecretId": secret.arn, "ClientRequestToken": token, "RotationToken": str(uuid.uuid4())}
    response_headers: dict = {}
    try:
        lambda_backend.invoke(lambda_arn, qualifier=None, body=json.dumps(event), headers={}, response_headers=response_headers)
    except Exception as error:  # an invocation that could not even start is a failed step
        log(f"rotation of {secret.name!r}: {step} could not be invoked: {error!r}")
        return False
    if "x-amz-function-error" in response_headers:
        log(f"rotation of {secret.name!r}: {step} failed; this attempt stopped, AWSCURRENT unchanged")
        return False
    return True


def patched_to_dict(self) -> dict:
    dct = original_to_dict(self)
    rules = getattr(self, "emulator_rotation_rules", None)
    if self.rotation_requested and rules is not None:
        dct["RotationRules"] = {key: rules[key] for key in ("AutomaticallyAfterDays", "Duration", "ScheduleExpression") if key in rules}
    if dct.get("LastRotatedDate") is None:
        dct.pop("LastRotatedDate", None)
    if dct.get("NextRotationDate") is None:
        dct.pop("NextRotationDate", None)
    return dct


original_update_stage = sm_models.SecretsManagerBackend.update_secret_version_stage
original_get_secret_value = sm_models.SecretsManagerBackend.get_secret_value


def patched_update_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
    """moto moves the AWSCURRENT label but not the version GetSecretValue returns; keep them one."""
    result = original_update_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
    secret = self.secrets[secret_id]
    current = next((vid for vid, v in secret.versions.items() if "AWSCURRENT" in v["version_stages"]), None)
    if current is not None:
        secret.default_version_id = current
    return result


def patched_get_secret_value(self, secret_id, version_id, version_stage):
    if not version_id and not version_stage:
        version_stage = "AWSCURRENT"
    return original_get_secret_value(self, secret_id, version_id, version_stage)


original_cancel_rotate_secret = sm_models.SecretsManagerBackend.cancel_rotate_secret


def patched_cancel_rotate_secret(self, secret_id):
    """API reference, CancelRotateSecret: "Turns off automatic rotation, and if a
    rotation is currently in progress, cancels the rotation"; its ``VersionId`` is
    "the version of the secret created during the rotation. This version might not
    be complete, and should be evaluated for possible deletion". moto only turns
    rotation off, answering with the current version."""
    if not behaviours.on("cancel-rotation"):
        return original_cancel_rotate_secret(self, secret_id)
    if not self._is_valid_identifier(secret_id):
        raise SecretNotFoundException()
    secret = self.secrets[secret_id]
    with rotation_lock(secret.arn):
        answer = original_cancel_rotate_secret(self, secret_id)
        ROTATIONS.cancel(secret.arn)
    current = secret.default_version_id
    pending = next((vid for vid, v in secret.versions.items() if "AWSPENDING" in v["version_stages"] and vid != current), None)
    return secret.to_short_dict(version_id=pending) if pending else answer


sm_models.SecretsManagerBackend.cancel_rotate_secret = patched_cancel_rotate_secret
sm_models.SecretsManagerBackend.update_secret_version_stage = patched_update_stage
sm_models.SecretsManagerBackend.get_secret_value = patched_get_secret_value
sm_models.SecretsManagerBackend.rotate_secret = patched_rotate_secret
sm_models.FakeSecret.to_dict = patched_to_dict


# --------------------------------------------------------------------------- RDS

original_instance_init = DBInstance.__init__


def patched_instance_init(self, backend, **kwargs):
    original_instance_init(self, backend, **kwargs)
    if getattr(self, "db_cluster_identifier", None) or kwargs.get("source_db_instance_identifier"):
        return  # cluster members share their cluster's data in moto; replicas: create_db_instance_read_replica
    engine = (self.engine or "").lower()
    if "mysql" not in engine and "mariadb" not in engine:
        return
    if self.publicly_accessible is None and behaviours.on("network"):
        self.publicly_accessible = network.default_publicly_accessible(self)  # as RDS reports it
    server = MariaDbServer(f"rds-{self.db_instance_identifier}-{uuid.uuid4().hex[:6]}")
    instance = self
    port = int(self.port or network.LOOPBACK_PORT)  # the requested Port, else MySQL's
    gate = network.Gate(self.db_instance_identifier, lambda: instance, lambda: server.port, port)
    try:
        server.certify(endpoint_name(self), [gate.address])
        server.start()
        SUPERVISOR.add_server(server)
        self.emulator_server = server
        self.emulator_gate = gate
        self.port = port
        if getattr(self, "manage_master_user_password", False):
            password = json.loads(self.master_user_secret.secret.secret_string)["password"]
            self.master_user_secret._status = "active"
        else:
            password = kwargs.get("master_user_password") or ""  # moto hides the attribute
        server.create_admin(self.master_username or "admin", password, rds_master_privileges(engine))
    except Exception:
        gate.stop()
        raise


def endpoint_name(instance) -> str:
    """The instance's DNS name, as RDS forms it (``<id>.<account hash>.<region>.rds.amazonaws.com``);
    here only in its certificate: the endpoint's address is the instance's loopback address."""
    return f"{instance.db_instance_identifier}.emulator.{instance.region}.rds.amazonaws.com"


def instance_address(self) -> str:
    gate = getattr(self, "emulator_gate", None)
    if gate is not None:
        return gate.address
    return f"{self.db_instance_identifier}.aaaaaaaaaa.{self.region}.rds.amazonaws.com"


def random_master_secret(self) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#$%&()*+,-.:;<=>?[]^_{|}~"
    password = "".join(secrets.choice(alphabet) for _ in range(28))
    return json.dumps({"username": getattr(self.resource, "master_username", None) or "admin", "password": password})


original_delete_instance = None


def install_rds_patches() -> None:
    from moto.rds import models as rds_models

    global original_delete_instance
    DBInstance.__init__ = patched_instance_init
    DBInstance.address = property(instance_address)
    MasterUserSecret._generate_secret_string = random_master_secret
    original_delete_instance = rds_models.RDSBackend.delete_db_instance

    def delete_db_instance(self, db_instance_identifier, *args, **kwargs):
        database = self.databases.get(db_instance_identifier)
        result = original_delete_instance(self, db_instance_identifier, *args, **kwargs)
        gate = getattr(database, "emulator_gate", None)
        if gate is not None:
            gate.stop()
        server = getattr(database, "emulator_server", None)
        if server is not None and not getattr(database, "emulator_replica_of", None):
            SUPERVISOR.remove_server(server)
        return result

    rds_models.RDSBackend.delete_db_instance = delete_db_instance

    original_create_replica = rds_models.RDSBackend.create_db_instance_read_replica

    def create_db_instance_read_replica(self, db_kwargs):
        # moto makes the replica a shallow copy of its source: it would share the
        # source's server (deleting the replica would stop it) and the source's managed
        # master secret (deleting the replica would delete it). A replica has neither.
        replica = original_create_replica(self, db_kwargs)
        source_server = replica.__dict__.pop("emulator_server", None)
        replica.__dict__.pop("emulator_gate", None)
        replica.__dict__.pop("master_user_secret", None)
        replica.manage_master_user_password = False
        replica.tags = list(db_kwargs.get("tags") or [])
        if source_server is not None:
            # An honest approximation of a replica (RDS user guide, "Working with DB
            # instance read replicas"): an endpoint of its own (its own address, judged
            # by the network like any instance) serving its source's server, so its
            # source's users log in at once. Unlike RDS there is no second server and no
            # replication: it would accept writes. The source's certificate names the
            # replica's address too, so a client that verifies the host accepts it.
            port = int(replica.port or network.LOOPBACK_PORT)
            gate = network.Gate(replica.db_instance_identifier, lambda: replica, lambda: source_server.port, port)
            replica.emulator_gate = gate
            replica.emulator_replica_of = source_server
            source = self.databases.get(replica.source_db_instance_identifier) if hasattr(replica, "source_db_instance_identifier") else None
            addresses = [getattr(getattr(source, "emulator_gate", None), "address", None)] if source is not None else []
            replicas = getattr(source_server, "replica_addresses", [])
            replicas.append((endpoint_name(replica), gate.address))
            source_server.replica_addresses = replicas
            try:
                source_server.certify(endpoint_name(source) if source is not None else source_server.name, [a for a in addresses if a] + [a for _, a in replicas])
            except Exception as error:
                log(f"could not give {source_server.name} a certificate for replica {replica.db_instance_identifier}: {error}")
            replica.port = port
        return replica

    rds_models.RDSBackend.create_db_instance_read_replica = create_db_instance_read_replica

    original_stop = rds_models.RDSBackend.stop_db_instance
    original_start = rds_models.RDSBackend.start_db_instance

    def stop_db_instance(self, db_instance_identifier, *args, **kwargs):
        result = original_stop(self, db_instance_identifier, *args, **kwargs)
        server = getattr(self.databases.get(db_instance_identifier), "emulator_server", None)
        if server is not None:
            server.stop()
        return result

    def start_db_instance(self, db_instance_identifier, *args, **kwargs):
        result = original_start(self, db_instance_identifier, *args, **kwargs)
        server = getattr(self.databases.get(db_instance_identifier), "emulator_server", None)
        if server is not None and (server.process is None or server.process.poll() is not None):
            server.start()
            SUPERVISOR.write_children()
        return result

    rds_models.RDSBackend.stop_db_instance = stop_db_instance
    rds_models.RDSBackend.start_db_instance = start_db_instance


# --------------------------------------------------------------------------- supervision


class Supervisor:
    """Owns every child process; stops them all on SIGTERM or when the parent dies."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.servers: list[MariaDbServer] = []
        self.processes: list[subprocess.Popen] = []
        self.template_ready = threading.Event()
        self.template = ARGS.template_dir

    def prepare_template(self) -> None:
        """Runs mariadb-install-db once; every server starts from a copy of it."""
        if not os.path.isdir(os.path.join(self.template, "mysql")):
            building = f"{self.template}.building-{os.getpid()}"
            shutil.rmtree(building, ignore_errors=True)
            os.makedirs(building)
            args = [
                ARGS.install_db,
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
        server.dir = os.path.join(ARGS.state_dir, "mariadb", "template-run")
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
            path = os.path.join(ARGS.state_dir, "children.json")
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
        SUPERVISOR.stop_all()
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
    SUPERVISOR.add_server(server)
    password = secrets.token_urlsafe(18)
    server.create_admin(ARGS.admin_user, password)
    return {"port": server.port, "user": ARGS.admin_user, "password": password, "pid": server.process.pid, "log": server.log_path}


def main() -> None:
    global ARGS, SUPERVISOR, CA_KEY
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
    ARGS = parser.parse_args()
    ARGS.endpoint_url = f"http://127.0.0.1:{ARGS.port}"
    if ARGS.tls_ca_key:
        CA_KEY = certificates.take_key(ARGS.tls_ca_key)
    os.makedirs(ARGS.state_dir, exist_ok=True)
    SUPERVISOR = Supervisor()
    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    if ARGS.parent_pid:
        threading.Thread(target=watch_parent, args=(ARGS.parent_pid,), daemon=True).start()
    unknown = behaviours.unknown_switches()
    if unknown:
        log(f"EMULATOR_OFF names no behaviour: {', '.join(unknown)}; the behaviours are: {', '.join(behaviours.BY_NAME)}")
        sys.exit(2)
    install_rds_patches()
    rds_tls.install()
    strict.install_offerings()
    if strict.STRICT:
        strict.install_lambda_patches()
        strict.install_ec2_patches()
        strict.install_secretsmanager_patches()
        strict.install_rds_patches()
        strict.install_sts_patches()
        kms_key_state.install()
        rds_rotation.install()
        rds_managed_replica.install()
        network.install()
        log(f"strict AWS behaviours on: {json.dumps(strict.settings())}")
    else:
        log("strict AWS behaviours off (EMULATOR_STRICT=off): moto's own, kinder behaviour")
    if ARGS.enforce_iam:
        strict.enforce_iam("123456789012", ARGS.access_key, ARGS.secret_key)
    original_dispatcher = moto.server.DomainDispatcherApplication
    moto.server.DomainDispatcherApplication = lambda *a, **k: strict.StrictApp(original_dispatcher(*a, **k), ROTATIONS.snapshot)

    def prepare_and_start() -> None:
        try:
            SUPERVISOR.prepare_template()
            database = start_default_server()
            with open(ARGS.ready_file + ".tmp", "w") as handle:
                json.dump({"launcher_pid": os.getpid(), "database": database}, handle)
            os.replace(ARGS.ready_file + ".tmp", ARGS.ready_file)
        except Exception as error:
            log(f"could not start the default MariaDB server: {error}")
            traceback.print_exc()
            shutdown()

    threading.Thread(target=prepare_and_start, daemon=True).start()
    moto.server.signal_handler = shutdown  # moto installs it for SIGINT/SIGTERM
    moto.server.main(["--host", "127.0.0.1", "--port", str(ARGS.port)])


if __name__ == "__main__":
    main()
