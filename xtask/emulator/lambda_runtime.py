"""Lambda's runtime without Docker: execution environments that run a function's
``bootstrap`` against a Lambda Runtime API served here.

moto's ``Invoke`` needs Docker, which these machines lack. Here a function's zip is
unpacked and its ``bootstrap`` runs as a process (tracked by the supervisor) against
a Runtime API on a port of its own, one per execution environment. Environments stay
warm between invocations, are added when invocations overlap and are retired when the
function's configuration changes, as AWS does; the function gets its role's temporary credentials
(``role_credentials``) and its output reaches CloudWatch Logs
(``lambda_functions.put_function_logs``).

``install`` replaces ``LambdaFunction.invoke`` by ``patched_lambda_invoke``; the
launcher calls it first of all its installs (it ran at import when this lived in
launcher.py).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from queue import Empty, Queue

import behaviours
import lambda_functions
import launch_state
import network
import throttling
from emulator_log import log
from moto.awslambda.models import LambdaFunction
from patching import replace


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
        self.log_path = os.path.join(launch_state.ARGS.state_dir, "lambda", f"{function.function_name}-{env_id}.log")
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
            "AWS_ENDPOINT_URL": launch_state.ARGS.endpoint_url,
        }
        env.update(role_credentials(function))
        logging_config = getattr(function, "logging_config", None) or {}
        if logging_config.get("LogFormat") == "JSON":
            env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        env.update(function.environment_vars or {})
        # The mark `cargo xtask emulator down` knows the emulator's processes by is
        # never taken from a function's configuration (which could name another
        # emulator's directory).
        env.pop("XTASK_EMULATOR_DIR", None)
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
        launch_state.SUPERVISOR.track(self.process)
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
            lambda_functions.put_function_logs(self.function, self.log_stream, lines)
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
        if launch_state.ARGS.enforce_iam:
            return {}  # no credentials: every call the function makes is refused, as it should be
        return {"AWS_ACCESS_KEY_ID": launch_state.ARGS.access_key, "AWS_SECRET_ACCESS_KEY": launch_state.ARGS.secret_key}
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
        code_dir = os.path.join(launch_state.ARGS.state_dir, "lambda", "code", function.function_name, function.code_sha_256.replace("/", "_").replace("+", "-"))
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
        lambda_functions.FUNCTION_STATES.refuse_invoke(self)  # a Pending function is not invoked
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


def install() -> None:
    """Invocations run here rather than in moto's Docker container."""
    replace(LambdaFunction, "invoke", patched_lambda_invoke)
