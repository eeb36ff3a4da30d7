"""The launcher's processes: started as `xtask/src/emulator.rs` starts it, killed with
SIGKILL, nothing it started remains (process_group.py); a port taken between its
choice and the server's bind never leaves a server without its port."""

from __future__ import annotations

import datetime
import io
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

import boto3
import pytest

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEARCH = os.environ.get("PATH", "") + ":/usr/sbin:/usr/local/sbin:/sbin:/usr/libexec"


def _program(*names: str) -> str | None:
    return next((found for name in names if (found := shutil.which(name, path=SEARCH))), None)


MARIADBD = _program("mariadbd", "mysqld")
INSTALL_DB = _program("mariadb-install-db", "mysql_install_db")
CLIENT = _program("mariadb", "mysql")
needs_mariadb = pytest.mark.skipif(not (MARIADBD and INSTALL_DB and CLIENT), reason="MariaDB server, mariadb-install-db and client needed")


def _write_authority(directory) -> dict:
    """A CA and a server certificate, as xtask/src/tls.rs writes them."""
    import certificates
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    os.makedirs(directory, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test emulator CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files = {"ca": os.path.join(directory, "ca.pem"), "ca_key": os.path.join(directory, "ca-key.pem")}
    with open(files["ca"], "wb") as handle:
        handle.write(ca.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with open(files["ca_key"], "wb") as handle:
        handle.write(key_pem)
    files["cert"], files["key"] = certificates.issue(files["ca"], key_pem, os.path.join(directory, "server"), "localhost", ["127.0.0.1"])
    return files


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launcher_command(directory, port: int, template) -> tuple[list[str], dict]:
    """The launcher's command line and environment as `launch` in xtask/src/emulator.rs gives them."""
    tls = _write_authority(os.path.join(directory, "tls"))
    run = os.path.join(directory, "run")
    os.makedirs(run, exist_ok=True)
    environment = dict(os.environ, PYTHONUNBUFFERED="1")
    environment.pop("AWS_ENDPOINT_URL", None)
    environment.pop("EMULATOR_OFF", None)
    environment.pop("EMULATOR_STRICT", None)
    return [
        sys.executable, os.path.join(HERE, "launcher.py"),
        "--port", str(port),
        "--state-dir", run,
        "--template-dir", str(template),
        "--ready-file", os.path.join(run, "ready.json"),
        "--mariadbd", MARIADBD,
        "--install-db", INSTALL_DB,
        "--mariadb-client", CLIENT,
        "--tls-ca", tls["ca"],
        "--tls-ca-key", tls["ca_key"],
        "--tls-cert", tls["cert"],
        "--tls-key", tls["key"],
        "--access-key", "testing",
        "--secret-key", "testing",
    ], environment


def _launch(directory, port: int, template) -> subprocess.Popen:
    """The launcher as `launch` in xtask/src/emulator.rs starts it: the same arguments,
    its own process group, stdin closed, output to launcher.log."""
    command, environment = _launcher_command(directory, port, template)
    log = open(os.path.join(directory, "launcher.log"), "wb")
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=environment,
        process_group=0,
    )


def _http_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def _wait_ready(launcher: subprocess.Popen, directory, port: int) -> dict:
    """What xtask waits for: the ready file, and moto answering on its port."""
    ready = os.path.join(directory, "run", "ready.json")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert launcher.poll() is None, f"the launcher exited ({launcher.returncode}):\n{_log(directory)}"
        if os.path.exists(ready) and _http_answers(port):
            with open(ready) as handle:
                return json.load(handle)
        time.sleep(0.1)
    raise AssertionError(f"the launcher was not ready within 90 s:\n{_log(directory)}")


def _log(directory) -> str:
    with open(os.path.join(directory, "launcher.log"), "rb") as handle:
        return handle.read().decode("utf-8", "replace")[-3000:]


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie has ended: it only waits to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _descendants(root: int) -> dict[int, str]:
    """Every live process below `root`, with its command line."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found and _alive(pid):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as handle:
                        found[pid] = handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
                except OSError:
                    found[pid] = "?"
                frontier.append(pid)
    return found


# A function that answers every invocation "ok" through the Runtime API, and stays warm.
BOOTSTRAP = """#!/usr/bin/python3
import os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as answer:
        request = answer.headers["Lambda-Runtime-Aws-Request-Id"]
    urllib.request.urlopen(urllib.request.Request(api + request + "/response", data=b'"ok"', method="POST")).read()
"""
TRUST = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'


def _start_a_db_instance_and_a_function(port: int) -> None:
    """A DB instance's MariaDB server and a warm function process, each started from one
    of moto's request threads, which end long before the launcher (why prctl's
    parent-death signal would not do)."""
    settings = dict(
        endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )
    boto3.client("rds", **settings).create_db_instance(
        DBInstanceIdentifier="orphan-check", Engine="mysql", DBInstanceClass="db.t3.micro",
        MasterUsername="admin", MasterUserPassword="password123", AllocatedStorage=20,
    )
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        entry = zipfile.ZipInfo("bootstrap")
        entry.external_attr = 0o755 << 16
        archive.writestr(entry, BOOTSTRAP)
    role = boto3.client("iam", **settings).create_role(RoleName="orphan-check", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    functions = boto3.client("lambda", **settings)
    deadline = time.monotonic() + 30
    while True:  # a new role is assumable by Lambda only after a while, as on AWS
        try:
            functions.create_function(FunctionName="orphan-check", Runtime="provided.al2023", Role=role, Handler="bootstrap", Code={"ZipFile": code.getvalue()})
            break
        except functions.exceptions.InvalidParameterValueException:
            assert time.monotonic() < deadline, "the role never became assumable"
            time.sleep(0.2)
    functions.get_waiter("function_active_v2").wait(FunctionName="orphan-check", WaiterConfig={"Delay": 1})
    assert functions.invoke(FunctionName="orphan-check")["Payload"].read() == b'"ok"'


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The MariaDB template directory the launchers of this file share (built by the first)."""
    return tmp_path_factory.mktemp("mariadb") / "template"


@needs_mariadb
def test_a_launcher_killed_with_sigkill_leaves_no_process_behind(tmp_path, template):
    port = _free_port()  # a fixed port, as by hand (xtask passes 0); the test needs it before ready.json
    launcher = _launch(tmp_path, port, template)
    children: dict[int, str] = {}
    try:
        ready = _wait_ready(launcher, tmp_path, port)
        _start_a_db_instance_and_a_function(port)
        deadline = time.monotonic() + 30
        while sum("mariadbd" in command for command in _descendants(launcher.pid).values()) < 2:
            assert time.monotonic() < deadline, f"no MariaDB server for the DB instance:\n{_log(tmp_path)}"
            time.sleep(0.1)
        children = _descendants(launcher.pid)
        assert ready["database"]["pid"] in children, f"the default MariaDB server is not the launcher's: {children}"
        assert any("/lambda/code/" in command for command in children.values()), f"no warm function process: {children}"
        launcher.send_signal(signal.SIGKILL)
        launcher.wait(timeout=10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(pid) for pid in children):
            time.sleep(0.2)
        left = {pid: command for pid, command in children.items() if _alive(pid)}
        assert left == {}, f"still running 30 s after the launcher was killed: {left}"
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
        for pid in children:  # only what this test started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_launcher_killed_with_sigkill_leaves_no_private_socket_directory_behind(tmp_path):
    """The private directory for MariaDB sockets (mariadb_servers.fallback_directory,
    made with mkdtemp) of a launcher killed with SIGKILL is removed by its watchdog."""
    script = (
        "import sys, time\n"
        f"sys.path.insert(0, {HERE!r})\n"
        "import mariadb_servers, process_group\n"
        "group, _ = process_group.lead_own_group()\n"
        "process_group.start_watchdog(group)\n"
        "print(mariadb_servers.fallback_directory(), flush=True)\n"
        "time.sleep(600)\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, start_new_session=True)
    try:
        directory = child.stdout.readline().decode().strip()
        assert directory.startswith(str(tmp_path)) and os.path.isdir(directory), directory
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        deadline = time.monotonic() + 20
        while os.path.exists(directory) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not os.path.exists(directory), f"{directory} is still there 20 s after its launcher was killed"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@needs_mariadb
def test_a_launcher_whose_port_is_taken_exits_at_once_saying_so_and_starts_nothing(tmp_path, template):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        launcher = _launch(tmp_path, port, template)
        try:
            code = launcher.wait(timeout=60)
        finally:
            if launcher.poll() is None:
                launcher.kill()
                launcher.wait()
    assert code != 0
    # a fixed port taken (a launcher started by hand): it says so and starts nothing
    assert "Address already in use" in _log(tmp_path)
    assert not os.path.exists(os.path.join(tmp_path, "run", "ready.json"))
    assert not os.path.exists(os.path.join(tmp_path, "run", "mariadb")), "a MariaDB server was started for a launcher that cannot serve"


@needs_mariadb
def test_a_mariadb_port_taken_between_its_choice_and_the_servers_bind_gives_the_server_another(tmp_path, template, monkeypatch):
    import argparse

    import launch_state
    import mariadb_servers
    from supervision import Supervisor

    tls = _write_authority(os.path.join(tmp_path, "tls"))
    monkeypatch.setattr(launch_state, "ARGS", argparse.Namespace(
        state_dir=str(tmp_path / "run"), template_dir=str(template), mariadbd=MARIADBD, install_db=INSTALL_DB,
        mariadb_client=CLIENT, tls_ca=tls["ca"], tls_cert=tls["cert"], tls_key=tls["key"],
    ), raising=False)
    monkeypatch.setattr(launch_state, "SUPERVISOR", Supervisor(), raising=False)
    launch_state.SUPERVISOR.prepare_template()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        chosen = iter([taken.getsockname()[1]])
        # the first port chosen is taken by another process before mariadbd binds it
        monkeypatch.setattr(mariadb_servers, "free_port", lambda: next(chosen, None) or _free_port())
        server = mariadb_servers.MariaDbServer("race")
        try:
            server.start()
            assert server.port != taken.getsockname()[1]
            assert "Address already in use" in open(server.log_path, encoding="utf-8", errors="replace").read()
            assert server.sql("SELECT 1").strip() == "1"
            with socket.create_connection(("127.0.0.1", server.port), timeout=5):
                pass  # the server listens on the port it reports
        finally:
            server.stop()


@pytest.mark.parametrize("depth", [1, 5])
def test_a_servers_socket_path_always_fits_a_socket_address(depth, monkeypatch):
    import mariadb_servers

    tmp_path = tempfile.mkdtemp(dir="/tmp")  # short: pytest's tmp_path is too long for a socket
    monkeypatch.setattr(tempfile, "tempdir", tmp_path)
    monkeypatch.setattr(mariadb_servers, "_FALLBACK_DIRECTORY", None)
    directory = "/tmp/" + "/".join(["d" * 20] * depth) + "/run/mariadb/rds-" + "i" * 63 + "-abcdef"
    path = mariadb_servers.socket_path(directory)
    assert len(path.encode()) <= 107
    assert path == mariadb_servers.socket_path(directory)  # the same server, the same path
    assert mariadb_servers.socket_path("/tmp/short") == "/tmp/short/mysqld.sock"
    # In a directory of this launcher's own that no other user may enter, not in the
    # shared temporary directory where another user could create the path first.
    parent = os.path.dirname(path)
    assert os.path.dirname(parent) == str(tmp_path)
    assert os.stat(parent).st_uid == os.getuid()
    assert stat.S_IMODE(os.stat(parent).st_mode) == 0o700
    mariadb_servers.remove_fallback_directory()  # at shutdown (Supervisor.stop_all)
    assert not os.path.exists(parent)
    os.rmdir(tmp_path)


def test_a_temporary_directory_too_long_for_a_socket_is_refused_saying_so(monkeypatch, tmp_path):
    import mariadb_servers

    long_tmp = tmp_path / ("t" * 100)
    long_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(long_tmp))
    monkeypatch.setattr(mariadb_servers, "_FALLBACK_DIRECTORY", None)
    with pytest.raises(RuntimeError, match="set TMPDIR to a shorter directory"):
        mariadb_servers.socket_path("/tmp/" + "d" * 120)
    mariadb_servers.remove_fallback_directory()


# A script run from a terminal: the terminal's foreground job is this process's group,
# and the launcher it starts is in that group until it leads its own.
# The parent takes Ctrl-C as a program in a terminal does: a test run started in the
# background of a shell without job control (nohup ... &, as CI may start it)
# inherits SIGINT ignored (POSIX, "Shell Command Language": asynchronous lists), and
# the parent would then never end.
PARENT = """import signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
launcher = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=open(sys.argv[1], "ab"), stderr=subprocess.STDOUT)
print(launcher.pid, flush=True)
time.sleep(600)
"""


@needs_mariadb
def test_a_launcher_started_in_its_parents_group_stops_when_a_ctrl_c_ends_that_parent(tmp_path, template):
    port = _free_port()
    command, environment = _launcher_command(tmp_path, port, template)
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, os.path.join(tmp_path, "launcher.log"), *command],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=environment, process_group=0,
    )
    launcher = int(parent.stdout.readline())
    children: dict[int, str] = {}
    try:
        ready = os.path.join(tmp_path, "run", "ready.json")
        deadline = time.monotonic() + 90
        while not (os.path.exists(ready) and _http_answers(port)):
            assert _alive(launcher), f"the launcher exited:\n{_log(tmp_path)}"
            assert time.monotonic() < deadline, f"the launcher was not ready within 90 s:\n{_log(tmp_path)}"
            time.sleep(0.1)
        children = _descendants(launcher)
        assert any("mariadbd" in command for command in children.values()), children
        assert os.getpgid(launcher) == launcher != parent.pid  # it leads its own group now
        os.killpg(parent.pid, signal.SIGINT)  # Ctrl-C: SIGINT to the terminal's foreground group
        parent.wait(timeout=10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (_alive(launcher) or any(_alive(pid) for pid in children)):
            time.sleep(0.2)
        assert not _alive(launcher), f"the launcher runs on 30 s after its parent's Ctrl-C:\n{_log(tmp_path)}"
        left = {pid: command for pid, command in children.items() if _alive(pid)}
        assert left == {}, f"still running 30 s after the launcher's parent was stopped: {left}"
        assert "is gone; stopping" in _log(tmp_path)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pid in [launcher, *children]:  # only what this test started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


class _Group:
    """os.killpg for a process group that ends on SIGTERM after `ends_after` checks, or
    whose signals raise `refused` (recording every signal sent)."""

    def __init__(self, ends_after: int = 0, refused: set[int] = frozenset()):
        self.sent: list[int] = []
        self.checks_left = ends_after
        self.terminated = False
        self.refused = refused

    def killpg(self, group: int, signum: int) -> None:
        if signum in self.refused:
            raise PermissionError(1, "Operation not permitted")
        if signum == 0:
            if self.terminated and self.checks_left <= 0:
                raise ProcessLookupError(3, "No such process")
            self.checks_left -= 1
            return
        self.sent.append(signum)
        if signum == signal.SIGTERM:
            self.terminated = True


@pytest.mark.parametrize(
    "ends_after, grace, expected",
    [
        (0, 0.0, [signal.SIGTERM]),  # gone by the deadline: no SIGKILL to a group id that may be another's now
        (0, 0.5, [signal.SIGTERM]),
        (10**6, 0.0, [signal.SIGTERM, signal.SIGKILL]),  # still there: SIGKILL
    ],
)
def test_the_watchdog_kills_only_a_group_still_there_at_the_deadline(monkeypatch, ends_after, grace, expected):
    import process_group

    group = _Group(ends_after)
    monkeypatch.setattr(process_group.os, "killpg", group.killpg)
    process_group.stop_group(4242, grace=grace)
    assert group.sent == expected


@pytest.mark.parametrize("refused", [{signal.SIGTERM}, {signal.SIGKILL}, {signal.SIGTERM, signal.SIGKILL}])
def test_a_group_the_watchdog_may_not_signal_is_reported_not_raised(monkeypatch, capsys, refused):
    import process_group

    group = _Group(10**6, refused)
    monkeypatch.setattr(process_group.os, "killpg", group.killpg)
    process_group.stop_group(4242, grace=0.0)
    assert "may not signal process group 4242" in capsys.readouterr().err


def test_a_parent_is_gone_when_this_process_has_another(monkeypatch):
    import process_group

    assert not process_group.parent_gone(os.getppid())
    assert process_group.parent_gone(os.getppid() + 1)
