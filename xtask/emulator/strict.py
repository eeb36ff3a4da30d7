"""Where AWS is harsher than moto, the emulator is too.

moto answers at once, and accepts what AWS refuses or delays. Code that passes
against plain moto can then fail on a real account: an id used a moment after
its create answers ``NotFound``, a security group still held by Lambda's network
interfaces refuses to go, a rotation is still running when ``RotateSecret`` has
already answered. Each behaviour here reproduces one of those, on by default,
with short delays so the suite stays fast and deterministic enough that a
client that ignores them fails every time. Sources (also in the README):

* EC2 API reference, "Eventual consistency in the Amazon EC2 API": a new id can
  answer ``InvalidVpcID.NotFound`` and friends for a while after its create.
* Lambda developer guide, "Giving Lambda functions access to resources in an
  Amazon VPC": Hyperplane ENIs (``InterfaceType`` ``lambda``) stay after the
  function is deleted or detached, are removed by Lambda using the execution
  role, and block their subnets and security groups (``DependencyViolation``);
  aws/serverless-application-model#1169: with the role gone they stay.
* IAM user guide, "Troubleshooting IAM roles": a new role is not assumable at
  once; Lambda answers ``InvalidParameterValueException`` "The role defined for
  the function cannot be assumed by Lambda."
* ``RotateSecret`` naming a function whose resource policy does not admit
  ``secretsmanager.amazonaws.com`` is refused (``AccessDeniedException``, "Secrets
  Manager cannot invoke the specified Lambda function. Ensure that the function policy
  grants access to the principal secretsmanager.amazonaws.com."): AWS's text as
  terraform-provider-aws's secret rotation resource retries it, and as the floci
  emulator models it.
* Secrets Manager user guide, "How rotation works": ``RotateSecret`` starts the
  rotation and returns; the steps run asynchronously. "Secrets managed by other
  AWS services": the owning service alone can change or delete them.
  terraform-provider-aws#41337: RDS copies the instance's tags to the secret.
* Secrets Manager API reference, ``ListSecretVersionIds``: versions without a staging
  label are listed only with ``IncludeDeprecated``, each with its own ``CreatedDate``.
* RDS user guide, "Working with a DB instance in a VPC": a DB subnet group needs
  subnets in at least two Availability Zones.
* EC2 API reference, GetConsoleOutput: the output is buffered and "posted shortly
  after an instance transition state"; ``Latest`` works on Nitro instances only.
  cloud-init prints the host keys between ``-----BEGIN SSH HOST KEY KEYS-----`` and
  ``-----END SSH HOST KEY KEYS-----`` at first boot.
* Lambda developer guide, "Using CloudWatch Logs with Lambda": each invocation's
  output goes to ``/aws/lambda/<function>``, one stream per execution environment,
  as far as the execution role allows ``logs:CreateLogGroup``, ``CreateLogStream``
  and ``PutLogEvents``.
* Lambda developer guide, "Giving Lambda functions access to resources in an
  Amazon VPC": a function is put in a VPC only if its execution role may create,
  describe and delete network interfaces; otherwise ``InvalidParameterValueException``
  "The provided execution role does not have permissions to call
  CreateNetworkInterface on EC2".
* IAM user guide, "IAM JSON policy elements: Principal" and STS API reference,
  ``AssumeRole``: a role can be assumed only by a principal its trust policy
  allows (an account's root stands for every principal of that account), with
  the ``sts:ExternalId`` the policy asks for; otherwise ``AccessDenied`` "User: ...
  is not authorized to perform: sts:AssumeRole on resource: ...". moto hands out
  credentials for any role ARN, existing or not.
* IAM user guide, "IAM JSON policy elements: Condition operators" and "Condition
  with multiple context keys or values": a statement applies only where its
  Condition holds in the request's context; moto 5.2.5 reads only ``StringEquals``
  and turns an Allow whose condition fails into a Deny. One evaluator
  (``conditions.py``) decides every policy here: identity policies of callers and
  execution roles, trust policies, and a rotation function's resource policy.
* PrivateLink guide, "Control access to VPC endpoints using endpoint policies": a
  call through an interface endpoint also needs the endpoint policy's Allow (the
  default allows all) and no Deny of it; IAM user guide, "Troubleshoot access denied
  error messages": the refusal names the "VPC endpoint policy". The network
  (``network.py``) says which endpoint carried a function's call; the policy is
  judged by the same evaluator as a secret's resource policy (``endpoint_policy_refusal``).

Settings (environment of the launcher; ``EMULATOR_STRICT=off`` turns all off,
which is how a fidelity test shows that stock moto lacks a behaviour):

``EMULATOR_EC2_NOT_FOUND_CALLS``      calls naming a new EC2 id that answer NotFound (1)
``EMULATOR_ENI_RELEASE_SECONDS``      Lambda ENIs released this long after detach/delete (1.0)
``EMULATOR_ROLE_PROPAGATION_SECONDS`` a role younger than this cannot be given to Lambda (0.5)
``EMULATOR_ENDPOINT_SECONDS``         VPC endpoint pending -> available, deleting -> deleted (0.5)
``EMULATOR_RDS_SECONDS``              DB instance creating -> available, deleting -> gone (1.0)
``EMULATOR_CONSOLE_SECONDS``          an instance's console output is empty this long after launch (3.0)
``EMULATOR_ROTATION_ATTEMPTS``        attempts of a rotation, the first and its retries (3)
``EMULATOR_ROTATION_RETRY_SECONDS``   pause before a failed rotation is retried whole (1.0)
"""

from __future__ import annotations

import heapq
import io
import json
import os
import re
import threading
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qs

import behaviours
from behaviours import on
from conditions import EMULATOR_KEYS, conditions_hold, wildcard

STRICT = behaviours.STRICT


def _setting(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


EC2_NOT_FOUND_CALLS = int(_setting("EMULATOR_EC2_NOT_FOUND_CALLS", 1))
ENI_RELEASE_SECONDS = _setting("EMULATOR_ENI_RELEASE_SECONDS", 1.0)
ROLE_PROPAGATION_SECONDS = _setting("EMULATOR_ROLE_PROPAGATION_SECONDS", 0.5)
ENDPOINT_SECONDS = _setting("EMULATOR_ENDPOINT_SECONDS", 0.5)
RDS_SECONDS = _setting("EMULATOR_RDS_SECONDS", 1.0)
CONSOLE_SECONDS = _setting("EMULATOR_CONSOLE_SECONDS", 3.0)
LAMBDA_STATE_SECONDS = _setting("EMULATOR_LAMBDA_STATE_SECONDS", 0.5)
# Secrets Manager retries a failed rotation "multiple times" (user guide, "Rotation
# by Lambda function") without saying how often or how far apart: 3 and 1 s here.
ROTATION_ATTEMPTS = max(1, min(100, int(_setting("EMULATOR_ROTATION_ATTEMPTS", 3))))
ROTATION_RETRY_SECONDS = _setting("EMULATOR_ROTATION_RETRY_SECONDS", 1.0)
if not 0 <= ROTATION_RETRY_SECONDS <= 3600:  # NaN included
    ROTATION_RETRY_SECONDS = 1.0


def settings() -> dict:
    return {
        "strict": STRICT,
        "off": sorted(behaviours.OFF),
        "EMULATOR_EC2_NOT_FOUND_CALLS": EC2_NOT_FOUND_CALLS,
        "EMULATOR_ENI_RELEASE_SECONDS": ENI_RELEASE_SECONDS,
        "EMULATOR_ROLE_PROPAGATION_SECONDS": ROLE_PROPAGATION_SECONDS,
        "EMULATOR_ENDPOINT_SECONDS": ENDPOINT_SECONDS,
        "EMULATOR_RDS_SECONDS": RDS_SECONDS,
        "EMULATOR_CONSOLE_SECONDS": CONSOLE_SECONDS,
        "EMULATOR_LAMBDA_STATE_SECONDS": LAMBDA_STATE_SECONDS,
        "EMULATOR_ROTATION_ATTEMPTS": ROTATION_ATTEMPTS,
        "EMULATOR_ROTATION_RETRY_SECONDS": ROTATION_RETRY_SECONDS,
        "EMULATOR_NETWORK": os.environ.get("EMULATOR_NETWORK", "on"),
    }


def log(message: str) -> None:
    import sys

    print(f"[strict] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- timers


class Scheduler:
    """One thread that runs delayed work: a task returns a delay to run again, or None."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.tasks: list[tuple[float, int, object]] = []
        self.counter = 0
        threading.Thread(target=self._run, daemon=True, name="strict-scheduler").start()

    def after(self, seconds: float, task) -> None:
        with self.lock:
            self.counter += 1
            heapq.heappush(self.tasks, (time.time() + max(seconds, 0.0), self.counter, task))
            self.lock.notify()

    def _run(self) -> None:
        while True:
            with self.lock:
                while not self.tasks or self.tasks[0][0] > time.time():
                    timeout = None if not self.tasks else max(self.tasks[0][0] - time.time(), 0.001)
                    self.lock.wait(timeout)
                _, _, task = heapq.heappop(self.tasks)
            try:
                again = task()
            except Exception as error:  # a task's failure must not stop the others
                log(f"delayed task failed: {error!r}")
                again = None
            if again is not None:
                self.after(again, task)


SCHEDULER = Scheduler()


# --------------------------------------------------------------------------- EC2 eventual consistency

# What each create returns, and the error a too-early use of that id answers.
EC2_CREATES = {
    "CreateVpc": [("vpcId", "InvalidVpcID.NotFound", "The vpc ID '{}' does not exist")],
    "CreateSubnet": [("subnetId", "InvalidSubnetID.NotFound", "The subnet ID '{}' does not exist")],
    "CreateSecurityGroup": [("groupId", "InvalidGroup.NotFound", "The security group '{}' does not exist")],
    "CreateInternetGateway": [
        ("internetGatewayId", "InvalidInternetGatewayID.NotFound", "The internetGateway ID '{}' does not exist")
    ],
    "RunInstances": [("instanceId", "InvalidInstanceID.NotFound", "The instance ID '{}' does not exist")],
}


class Ec2Consistency:
    """New ids that are not yet visible: the next calls naming them answer NotFound."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.young: dict[str, list] = {}  # id -> [calls left, code, message]

    def created(self, action: str, body: bytes) -> None:
        if EC2_NOT_FOUND_CALLS <= 0:
            return
        text = body.decode("utf-8", "replace")
        for tag, code, message in EC2_CREATES.get(action, []):
            for new_id in re.findall(rf"<{tag}>([^<]+)</{tag}>", text):
                with self.lock:
                    self.young[new_id] = [EC2_NOT_FOUND_CALLS, code, message.format(new_id)]

    def check(self, params: dict[str, list[str]]) -> tuple[str, str] | None:
        """The error for a request naming a young id (and one call used up), or None."""
        if not self.young:
            return None
        named = {value for key, values in params.items() if key != "Action" for value in values}
        with self.lock:
            for value in named:
                entry = self.young.get(value)
                if entry is None:
                    continue
                entry[0] -= 1
                if entry[0] <= 0:
                    del self.young[value]
                return entry[1], entry[2]
        return None


EC2_CONSISTENCY = Ec2Consistency()


def ec2_error(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
        f"<RequestID>{uuid.uuid4()}</RequestID></Response>"
    ).encode()


# --------------------------------------------------------------------------- the HTTP layer


def json_error(code: str, message: str) -> bytes:
    """An error in the JSON protocols' shape (``__type`` and ``message``)."""
    return json.dumps({"__type": code, "message": message}).encode()


QUERY_SERVICES = {"rds", "iam", "sts"}
# POST control paths a behaviour's module adds at install (path -> handler of the
# request's JSON, answering JSON); a handler's exception is answered 400 with its text.
CONTROL_POSTS: dict = {}
CREDENTIAL = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


class StrictApp:
    """WSGI middleware in front of moto: request-level behaviours and the control paths.

    ``GET /_emulator/rotations`` lists every rotation the emulator ran or runs
    (secret, token, status, step): the tests' way to wait for an asynchronous
    rotation without sleeping. ``GET /_emulator/settings`` shows the settings.
    ``POST /_emulator/fail`` makes the next calls of an EC2 action fail. A behaviour's
    module adds its own POST paths to ``CONTROL_POSTS`` (``rds_rotation``: ``/_emulator/rds-rotate``).
    """

    def __init__(self, app, rotations) -> None:
        self.app = app
        self.rotations = rotations
        self.lock = threading.Lock()
        self.injected: dict[str, list] = {}  # EC2 action -> [calls left, code]

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_emulator/"):
            if self._from_function(environ):
                start_response("403 Forbidden", [("Content-Type", "application/json")])
                return [b'{"error":"the emulator\'s control paths are the operator\'s, not a function\'s"}']
            return self._control(environ, path, start_response)
        match = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = match.group(2) if match else ""
        if match and on("scp"):
            denied = _scp_refusal(environ, service, match.group(1))
            if denied is not None:
                log(f"service control policy: {denied!r}")
                return _access_denied(start_response, service, environ, denied)
        dropped, fn, verdict = self._network_drop(environ, service)
        if dropped is not None:
            start_response("504 Gateway Timeout", [("Content-Type", "text/plain"), ("Content-Length", str(len(dropped)))])
            return [dropped]
        if fn is None or verdict is None or verdict.endpoint is None or not on("endpoint-policy"):
            return self._dispatch(environ, start_response, service)
        region = match.group(1) if match else fn.region
        request = _endpoint_request(environ, service, fn.account_id, region)
        if request is not None:
            action, resource = request
            document, gateway = _endpoint_policy(fn.account_id, region, verdict.endpoint)
            caller = _signer_arn(environ)
            caller_account = _arn_account(caller) or fn.account_id
            refusal = endpoint_policy_refusal(document, action, resource, caller, caller_account, region, verdict.endpoint, verdict.vpc, gateway=gateway)
            if refusal is not None:
                log(f"function {fn.function_name!r}: {refusal!r}")
                return _access_denied(start_response, service, environ, refusal)
        # The identity and resource policies see where the call came from, too.
        _THROUGH_ENDPOINT.keys = (service, endpoint_keys(verdict.endpoint, verdict.vpc))
        try:
            return self._dispatch(environ, start_response, service)
        finally:
            _THROUGH_ENDPOINT.keys = None

    def _dispatch(self, environ, start_response, service: str):
        if environ.get("HTTP_X_AMZ_TARGET") or service == "lambda":
            return self._json_errors(environ, start_response, rest=service == "lambda")
        if service in QUERY_SERVICES:
            return self._query_errors(environ, start_response)
        if service != "ec2" or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        params = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        action = (params.get("Action") or [""])[0]
        with self.lock:
            injected = self.injected.get(action)
            if injected is not None:
                injected[0] -= 1
                if injected[0] <= 0:
                    del self.injected[action]
        if injected is not None:
            payload = ec2_error(injected[1], f"{action} failed on purpose (emulator: /_emulator/fail)")
            start_response("400 Bad Request", [("Content-Type", "text/xml"), ("Content-Length", str(len(payload)))])
            return [payload]
        if on("ec2-consistency"):
            refused = EC2_CONSISTENCY.check(params)
            if refused is not None:
                payload = ec2_error(*refused)
                start_response("400 Bad Request", [("Content-Type", "text/xml"), ("Content-Length", str(len(payload)))])
                return [payload]
        status, headers, payload = self._call(environ)
        if on("ec2-consistency") and status.startswith("200") and action in EC2_CREATES:
            EC2_CONSISTENCY.created(action, payload)
        if status.startswith("403") and b"<Code>AccessDenied</Code>" in payload:
            # EC2 says UnauthorizedOperation where moto's access control says AccessDenied.
            payload = ec2_error("UnauthorizedOperation", "You are not authorized to perform this operation.")
        headers.append(("Content-Length", str(len(payload))))
        start_response(status, headers)
        return [payload]

    @staticmethod
    def _from_function(environ) -> bool:
        import network

        try:
            return network.CALLERS.function_of(
                environ.get("REMOTE_ADDR", ""),
                int(environ.get("REMOTE_PORT") or 0),
                environ.get("SERVER_NAME", "127.0.0.1"),
                int(environ.get("SERVER_PORT") or 0),
            ) is not None
        except ValueError:
            return False

    def _network_drop(self, environ, service: str):
        """A call from a function that its network would not carry: held silent until the
        client gives up (``network.py``), then answered to no one. Returns what to answer
        (None: carried), the calling function (None: the operator's call, or the network
        is off) and the network's verdict (which names the endpoint that carried it)."""
        import network

        if not network.enabled():
            return None, None, None
        try:
            fn = network.CALLERS.function_of(
                environ.get("REMOTE_ADDR", ""),
                int(environ.get("REMOTE_PORT") or 0),
                environ.get("SERVER_NAME", "127.0.0.1"),
                int(environ.get("SERVER_PORT") or 0),
            )
        except ValueError:
            return None, None, None
        if fn is None:
            return None, None, None
        name = service or (environ.get("HTTP_X_AMZ_TARGET", "").split(".")[0].lower())
        try:
            verdict = network.api_verdict(fn, name)
        except Exception as error:  # a decision that cannot be made is a drop, said loudly
            verdict = network.r.Verdict(False, f"the emulator could not decide ({error!r})")
        if verdict:
            return None, fn, verdict
        network.dropped(fn, f"the {name} API", verdict.reason)
        network.hold(None, float(getattr(fn, "timeout", 3) or 3) + 5)
        return b"dropped by the emulated network", fn, verdict

    def _call(self, environ):
        """Runs moto on the request; returns its status, headers (no length) and body."""
        captured: dict = {}

        def capture(status, headers, exc_info=None):
            captured["status"] = status
            captured["headers"] = headers
            return lambda data: None

        chunks = self.app(environ, capture)
        try:
            payload = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        headers = [(k, v) for k, v in captured.get("headers", []) if k.lower() != "content-length"]
        return captured.get("status", "500 Internal Server Error"), headers, payload

    def _json_errors(self, environ, start_response, rest: bool):
        """moto's access-control errors are XML whatever the protocol; AWS answers a
        JSON protocol in JSON (`__type`, or `x-amzn-ErrorType` for REST-JSON), and an
        SDK cannot read the error code otherwise."""
        status, headers, payload = self._call(environ)
        if status.startswith("403") and payload.lstrip().startswith(b"<"):
            text = payload.decode("utf-8", "replace")
            code = (re.search(r"<Code>([^<]*)</Code>", text) or [None, "AccessDenied"])[1]
            message = (re.search(r"<Message>([^<]*)</Message>", text) or [None, "access denied"])[1]
            if code == "AccessDenied":
                code = "AccessDeniedException"
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            headers.append(("Content-Type", "application/json" if rest else "application/x-amz-json-1.1"))
            if rest:
                headers.append(("x-amzn-ErrorType", code))
                payload = json.dumps({"Type": "User", "message": message}).encode()
            else:
                payload = json_error(code, message)
        headers.append(("Content-Length", str(len(payload))))
        start_response(status, headers)
        return [payload]

    def _query_errors(self, environ, start_response):
        """moto's access-control errors wrap the error in ``<Errors>``, EC2's layout; a
        query-protocol service (RDS, IAM, STS) answers ``<ErrorResponse><Error>``
        (RDS API reference, "Common errors"; the AWS query protocol's error shape),
        and an SDK cannot read the error code otherwise."""
        status, headers, payload = self._call(environ)
        if status.startswith("403") and b"<Errors><Error>" in payload:
            payload = payload.replace(b"<Errors>", b"").replace(b"</Errors>", b"")
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            headers.append(("Content-Type", "text/xml"))
        headers.append(("Content-Length", str(len(payload))))
        start_response(status, headers)
        return [payload]

    def _control(self, environ, path: str, start_response):
        if path == "/_emulator/rotations":
            body = json.dumps(self.rotations()).encode()
        elif path == "/_emulator/network":
            import network

            body = json.dumps({"enabled": network.enabled(), "drops": network.drops()}).encode()
        elif path == "/_emulator/settings":
            body = json.dumps(settings()).encode()
        elif path in CONTROL_POSTS and environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                body = json.dumps(CONTROL_POSTS[path](json.loads(environ["wsgi.input"].read(length) or b"{}"))).encode()
            except Exception as error:
                body = json.dumps({"ok": False, "error": str(error)}).encode()
                start_response("400 Bad Request", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
                return [body]
        elif path == "/_emulator/fail" and environ.get("REQUEST_METHOD") == "POST":
            # {"action": "ModifySubnetAttribute", "code": "UnauthorizedOperation", "count": 1}:
            # the next `count` EC2 calls of that action fail, so a test can interrupt a
            # command between two calls and show that a rerun repairs what it left.
            length = int(environ.get("CONTENT_LENGTH") or 0)
            request = json.loads(environ["wsgi.input"].read(length) or b"{}")
            with self.lock:
                self.injected[request["action"]] = [int(request.get("count", 1)), request.get("code", "UnauthorizedOperation")]
            body = json.dumps({"ok": True}).encode()
        else:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error":"unknown emulator path"}']
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


# --------------------------------------------------------------------------- Lambda: ENIs and roles


def _role_error():
    from moto.awslambda.exceptions import InvalidParameterValueException

    return InvalidParameterValueException("The role defined for the function cannot be assumed by Lambda.")


def _trusts_lambda(document) -> bool:
    if isinstance(document, str):
        try:
            from urllib.parse import unquote

            document = json.loads(document if document.lstrip().startswith("{") else unquote(document))
        except ValueError:
            return False
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = [services] if isinstance(services, str) else services
        if "lambda.amazonaws.com" in services:
            return True
    return False


_ROLE_LOCK = threading.Lock()
_ROLES_USED: set[str] = set()


def check_role_assumable(account_id: str, partition: str, role_arn: str) -> None:
    """As Lambda does: a role must exist, trust lambda.amazonaws.com, and have propagated."""
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[account_id][partition].get_role_by_arn(role_arn)
    except Exception:
        raise _role_error()
    if not _trusts_lambda(role.assume_role_policy_document):
        raise _role_error()
    created = role.create_date
    if created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    # Deterministic as well as timed: the first use of a new role always fails, so a
    # client that does not retry fails every time, however slow the machine.
    with _ROLE_LOCK:
        first_use = role_arn not in _ROLES_USED
        _ROLES_USED.add(role_arn)
    young = (datetime.now(timezone.utc) - created).total_seconds() < ROLE_PROPAGATION_SECONDS
    if ROLE_PROPAGATION_SECONDS > 0 and (first_use or young):
        raise _role_error()


def role_exists(account_id: str, partition: str, role_arn: str) -> bool:
    from moto.iam.models import iam_backends

    try:
        iam_backends[account_id][partition].get_role_by_arn(role_arn)
        return True
    except Exception:
        return False


# --------------------------------------------------------------------------- IAM: what an execution role allows
#
# Lambda acts with the function's execution role: it creates the function's
# network interfaces and writes its logs with the role's permissions, whether or
# not the emulator enforces IAM on its callers. A small evaluator of identity
# policies, pure over policy documents, which also judges signed requests when IAM
# is enforced (``install_condition_evaluation``: moto's ``IAMPolicyStatement`` turns
# an Allow whose condition does not hold into an explicit Deny, ignores
# ``NotResource`` and matches actions case-sensitively).
# As the IAM user guide's "Policy evaluation logic" describes it: an explicit
# Deny wins, else an Allow is needed, in the identity policies and, when the role
# has one, in its permissions boundary too. Actions match case-insensitively,
# resources case-sensitively, ``*`` and ``?`` as wildcards ("IAM JSON policy
# elements: Action", "...: Resource"). A statement applies only when its Condition
# holds in the request's context (``conditions.conditions_hold``: what cannot be
# decided lets a Deny apply and never an Allow).


def _statements(document) -> list[dict]:
    statements = _policy_document(document).get("Statement")
    statements = [statements] if isinstance(statements, dict) else _as_list(statements)
    return [s for s in statements if isinstance(s, dict)]


def _statement_covers(statement: dict, action: str, resource: str, context: dict) -> bool:
    """Whether the statement speaks of ``action`` on ``resource`` and its Condition
    lets its Effect apply in ``context``."""
    if "NotAction" in statement:
        if any(wildcard(p, action, False) for p in _as_list(statement["NotAction"])):
            return False
    elif not any(wildcard(p, action, False) for p in _as_list(statement.get("Action"))):
        return False
    if "NotResource" in statement:
        if any(wildcard(p, resource, True) for p in _as_list(statement["NotResource"])):
            return False
    elif not any(wildcard(p, resource, True) for p in _as_list(statement.get("Resource"))):
        return False
    return conditions_hold(statement.get("Condition"), context, statement.get("Effect"), EMULATOR_KEYS)


def policy_decision(documents, action: str, resource: str, context: dict) -> str:
    """``deny`` (an explicit Deny applies), ``allow`` (an Allow applies and no Deny)
    or ``none`` (implicitly denied) for ``action`` on ``resource`` in ``context``."""
    allowed = False
    for document in documents:
        for statement in _statements(document):
            if not _statement_covers(statement, action, resource, context):
                continue
            effect = statement.get("Effect")
            if effect == "Deny":
                return "deny"
            if effect == "Allow":
                allowed = True
    return "allow" if allowed else "none"


def permits(documents, boundary, action: str, resource: str, context: dict) -> bool:
    """Whether identity policies (and a permissions boundary, when not None) allow it."""
    if policy_decision(documents, action, resource, context) != "allow":
        return False
    return boundary is None or policy_decision(boundary, action, resource, context) == "allow"


# A resource policy in the caller's own account (IAM user guide, "Policy evaluation
# logic" and "How AWS enforcement code logic evaluates requests"; Secrets Manager user
# guide, "Determine who has permissions to your AWS Secrets Manager secrets"): an
# explicit Deny in it applies whatever the identity policies say; within one account
# an Allow in either the identity policies or the resource policy suffices, but an
# Allow naming only the account (`123456789012`, `:root`) delegates to the identity
# policies and grants nothing itself, and one naming a role's ARN (not the session's)
# is still limited by the role's permissions boundary. An Allow for everyone (`*`) is
# read as the stricter of the two (limited by the boundary too): the guides do not
# say which applies. `NotPrincipal` on an Allow grants nothing here.
def principal_kinds(principal, caller_arn: str, caller_account: str) -> set[str]:
    """How a resource statement's ``Principal`` (or ``NotPrincipal``) names the
    caller, every way it does: ``caller`` (its user or role session ARN), ``role``
    (the session's role), ``everyone`` (``*``), ``account`` (its account). Values
    that are not strings name no one."""
    if principal == "*":
        return {"everyone"}
    if not isinstance(principal, dict):
        return set()
    values = principal.get("AWS")
    values = [values] if isinstance(values, str) else [v for v in values if isinstance(v, str)] if isinstance(values, list) else []
    session = re.fullmatch(r"arn:([\w-]+):sts::(\d{12}):assumed-role/([^/]+)/.+", caller_arn or "")
    kinds = set()
    for value in values:
        if value == "*":
            kinds.add("everyone")
        elif value == caller_arn:
            kinds.add("caller")
        elif value == caller_account or re.fullmatch(rf"arn:[\w-]+:iam::{caller_account}:root", value):
            kinds.add("account")
        elif session and re.fullmatch(rf"arn:{session[1]}:iam::{session[2]}:role/(.*/)?{re.escape(session[3])}", value):
            kinds.add("role")
    return kinds


def resource_principal(principal, caller_arn: str, caller_account: str) -> str | None:
    """The strongest way a ``Principal`` names the caller (see ``principal_kinds``),
    or None (not named)."""
    kinds = principal_kinds(principal, caller_arn, caller_account)
    return next((kind for kind in ("caller", "role", "everyone", "account") if kind in kinds), None)


def not_principal_spares(principal, caller_arn: str, caller_account: str, bounded: bool) -> bool:
    """Whether a ``Deny`` with this ``NotPrincipal`` spares the caller (IAM user
    guide, "AWS JSON policy elements: NotPrincipal"): only when it names the caller
    itself (the user, or the role session's own ARN) and the caller's account too,
    and never a principal with a permissions boundary ("Permissions boundaries for
    IAM entities": such a statement "will always deny any IAM principal that has a
    permissions boundary policy attached"). Naming only the role's ARN "might" deny
    the session: read here as a denial."""
    kinds = principal_kinds(principal, caller_arn, caller_account)
    return not bounded and "caller" in kinds and "account" in kinds


def resource_policy_decision(document, action: str, resource: str, context: dict, caller_arn: str, caller_account: str, bounded: bool = False) -> str:
    """``deny`` (a Deny statement applies to the caller), ``caller``/``role``/``everyone``
    (an Allow names the caller that way, no Deny), ``account`` (an Allow names only
    the caller's account: a delegation to its identity policies, which grants nothing
    itself), or ``none``. ``bounded``: the caller has a permissions boundary."""
    answer = "none"
    for statement in _statements(document):
        if not _statement_covers(statement, action, resource, context):
            continue
        effect = statement.get("Effect")
        if "NotPrincipal" in statement:
            if effect == "Deny" and not not_principal_spares(statement["NotPrincipal"], caller_arn, caller_account, bounded):
                return "deny"  # denied to everyone the statement does not spare
            continue  # an Allow with NotPrincipal is not credited
        named = resource_principal(statement.get("Principal"), caller_arn, caller_account)
        if named is None:
            continue
        if effect == "Deny":
            return "deny"
        if effect == "Allow" and _GRANT_RANK[named] > _GRANT_RANK[answer]:
            answer = named
    return answer


_GRANT_RANK = {"none": 0, "account": 1, "everyone": 2, "role": 2, "caller": 3}


def access_decision(identity: str, boundary: str | None, resource: str) -> bool:
    """Whether a same-account request is allowed, from the identity policies' decision,
    the permissions boundary's (None without one) and the resource policy's (``none``
    without one; ``account``, a delegation, is as ``none``): any Deny wins; else an
    identity Allow within the boundary, or a resource-policy Allow naming the caller,
    or one naming its role (or everyone) within the boundary."""
    if "deny" in (identity, boundary, resource):
        return False
    within_boundary = boundary is None or boundary == "allow"
    if identity == "allow" and within_boundary:
        return True
    if resource == "caller":
        return True
    return resource in ("role", "everyone") and within_boundary


def request_context(principal_arn: str, region: str | None, extra: dict | None = None) -> dict:
    """The keys AWS puts in every request's context that the emulator knows
    (IAM user guide, "AWS global condition context keys"): the principal (for a role
    session ``aws:PrincipalArn`` is the role's ARN, not the session's), the region,
    the time, and ``aws:SecureTransport`` "true": AWS's API endpoints the SDKs call
    are HTTPS, and the emulator's plain http stands in for them, so a policy that
    denies insecure transport must not deny here what it would not deny there.
    ``aws:SourceIp`` stays absent (no public address); ``aws:SourceVpce`` and
    ``aws:SourceVpc`` are added (``endpoint_keys``) to the calls a function makes
    through an interface endpoint, and are absent from others, as on AWS."""
    match = re.fullmatch(r"arn:[\w-]+:(?:iam|sts)::(\d{12}):(user|role|assumed-role)/.*", principal_arn or "")
    now = time.time()
    context = {
        "aws:PrincipalArn": principal_arn,
        "aws:PrincipalAccount": match[1] if match else None,
        "aws:PrincipalType": {"user": "User", "role": "AssumedRole", "assumed-role": "AssumedRole"}.get(match[2]) if match else None,
        "aws:RequestedRegion": region,
        "aws:SecureTransport": "true",
        "aws:CurrentTime": datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now)),
    }
    context.update(extra or {})
    return context


def _default_version(policy) -> str:
    version = next((v for v in getattr(policy, "versions", []) if v.is_default), None)
    return version.document if version is not None else "{}"


def role_policies(role_arn: str):
    """The role's identity policies (inline and attached) and its permissions
    boundary (None without one), as documents; None when the role does not exist."""
    from moto.iam.models import iam_backends

    match = re.fullmatch(r"arn:([\w-]+):iam::(\d{12}):role/(.+)", role_arn or "")
    if not match:
        return None
    iam = iam_backends[match[2]][match[1]]
    try:
        role = iam.get_role_by_arn(role_arn)
    except Exception:
        return None
    documents = list(role.policies.values())
    documents += [_default_version(policy) for policy in role.managed_policies.values()]
    boundary = None
    if role.permissions_boundary_arn:
        try:
            boundary = [_default_version(iam.get_policy(role.permissions_boundary_arn))]
        except Exception:
            boundary = []  # a boundary that cannot be read allows nothing
    return documents, boundary


def role_permits(role_arn: str, region: str, action: str, resources: list[str]) -> bool:
    """Whether the role may do ``action`` on every one of ``resources``."""
    policies = role_policies(role_arn)
    if policies is None:
        return False
    documents, boundary = policies
    context = request_context(role_arn, region)
    return all(permits(documents, boundary, action, resource, context) for resource in resources)


# Lambda developer guide, "Giving Lambda functions access to resources in an Amazon
# VPC" (execution role permissions): the role must allow ec2:CreateNetworkInterface,
# ec2:DescribeNetworkInterfaces ("only works if it's allowed on all resources") and
# ec2:DeleteNetworkInterface; the AWS managed policy AWSLambdaVPCAccessExecutionRole
# holds them. Without them CreateFunction and UpdateFunctionConfiguration answer
# InvalidParameterValueException "The provided execution role does not have
# permissions to call CreateNetworkInterface on EC2" (AWS's text, as CloudFormation,
# SAM and Terraform users report it; the same sentence with DescribeNetworkInterfaces
# or DeleteNetworkInterface is assumed, not confirmed). CreateNetworkInterface is
# authorised on the new interface, the subnet and the security groups (Service
# Authorization Reference for EC2), so a policy limited to network-interface/* and
# subnet/* is refused, as terraform-provider-aws#20698 reports.
ENI_PERMISSION_REFUSED = "The provided execution role does not have permissions to call {action} on EC2"


def check_role_manages_enis(account_id: str, partition: str, region: str, role_arn: str, vpc_config) -> None:
    subnets, groups = LambdaNetwork._wanted(vpc_config)
    if not subnets and not groups:
        return  # no VPC, or leaving it: no interface to create
    from moto.awslambda.exceptions import InvalidParameterValueException

    arn = f"arn:{partition}:ec2:{region}:{account_id}:"
    needed = [
        (
            "CreateNetworkInterface",
            [arn + "network-interface/*"]
            + [arn + f"subnet/{subnet}" for subnet in subnets]
            + [arn + f"security-group/{group}" for group in groups],
        ),
        ("DescribeNetworkInterfaces", ["*"]),
        ("DeleteNetworkInterface", [arn + "network-interface/*"]),
    ]
    for action, resources in needed:
        if not role_permits(role_arn, region, f"ec2:{action}", resources):
            raise InvalidParameterValueException(ENI_PERMISSION_REFUSED.format(action=action))


def logs_permitted(role_arn: str, region: str, account_id: str, group: str, stream: str, group_exists: bool, stream_exists: bool) -> bool:
    """Whether the execution role lets Lambda write this invocation's logs.

    Lambda developer guide, "Using CloudWatch Logs with Lambda" / "Defining Lambda
    function permissions with an execution role": the function sends logs only if
    its role allows logs:CreateLogStream and logs:PutLogEvents, and
    logs:CreateLogGroup when the group is not there yet (AWSLambdaBasicExecutionRole
    holds all three). A log group has two ARNs, with and without a trailing ``:*``
    (CloudWatch Logs user guide, "Overview of managing access permissions to your
    CloudWatch Logs resources"); a stream's is the group's plus ``:log-stream:NAME``.
    Either ARN of the group allowed (and neither denied) lets the call through.
    """
    policies = role_policies(role_arn)
    if policies is None:
        return False
    documents, boundary = policies
    base = f"arn:{role_arn.split(':')[1]}:logs:{region}:{account_id}:log-group:{group}"
    candidates = {
        "logs:CreateLogGroup": [base, base + ":*"],
        "logs:CreateLogStream": [base + ":*", f"{base}:log-stream:{stream}"],
        "logs:PutLogEvents": [f"{base}:log-stream:{stream}", base + ":*"],
    }
    needed = ["logs:PutLogEvents"]
    if not stream_exists:
        needed.insert(0, "logs:CreateLogStream")
    if not group_exists:
        needed.insert(0, "logs:CreateLogGroup")
    context = request_context(role_arn, region)
    for action in needed:
        resources = candidates[action]
        decisions = [policy_decision(documents, action, r, context) for r in resources]
        if "deny" in decisions or "allow" not in decisions:
            return False
        if boundary is not None and not any(permits(documents, boundary, action, r, context) for r in resources):
            return False
    return True


class LambdaNetwork:
    """The Hyperplane ENIs of functions in a VPC: made with the function, released late."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_function: dict[str, list[str]] = {}  # function ARN -> ENI ids

    @staticmethod
    def _ec2(fn):
        from moto.ec2.models import ec2_backends

        return ec2_backends[fn.account_id][fn.region]

    @staticmethod
    def _wanted(vpc_config) -> tuple[list[str], list[str]]:
        config = vpc_config or {}
        return list(config.get("SubnetIds") or []), list(config.get("SecurityGroupIds") or [])

    def attach(self, fn, vpc_config) -> None:
        subnets, groups = self._wanted(vpc_config)
        if not subnets or not groups:
            return
        ec2 = self._ec2(fn)
        from moto.awslambda.exceptions import InvalidParameterValueException

        for subnet_id in subnets:
            try:
                ec2.get_subnet(subnet_id)
            except Exception:
                raise InvalidParameterValueException(
                    f"Error occurred while DescribeSubnets. EC2 Error Code: InvalidSubnetID.NotFound. EC2 Error Message: The subnet ID '{subnet_id}' does not exist"
                )
        for group_id in groups:
            if ec2.get_security_group_from_id(group_id) is None:
                raise InvalidParameterValueException(
                    f"Error occurred while DescribeSecurityGroups. EC2 Error Code: InvalidGroup.NotFound. EC2 Error Message: The security group '{group_id}' does not exist"
                )
        created = []
        for subnet_id in subnets:
            eni = ec2.create_network_interface(
                subnet_id,
                [],
                group_ids=groups,
                description=f"AWS Lambda VPC ENI-{fn.function_name}-{uuid.uuid4()}",
            )
            eni.requester_managed = True
            eni.interface_type = "lambda"
            eni.status = "in-use"
            created.append(eni.id)
        with self.lock:
            self.by_function.setdefault(fn.function_arn, []).extend(created)

    def release(self, fn, enis: list[str]) -> None:
        """The function no longer uses these ENIs: Lambda deletes them after the release
        delay, and only while the function's execution role exists."""
        if not enis:
            return
        ec2 = self._ec2(fn)
        for eni_id in enis:
            eni = ec2.enis.get(eni_id)
            if eni is not None:
                eni.status = "available"
        from moto.utilities.utils import get_partition

        account, partition, role = fn.account_id, get_partition(fn.region), fn.role

        def delete_when_role_exists():
            if not role_exists(account, partition, role):
                return ENI_RELEASE_SECONDS  # Lambda needs the role to delete them: they stay
            for eni_id in enis:
                ec2.enis.pop(eni_id, None)
            return None

        SCHEDULER.after(ENI_RELEASE_SECONDS, delete_when_role_exists)

    def take(self, fn) -> list[str]:
        with self.lock:
            return self.by_function.pop(fn.function_arn, [])

    def give_back(self, fn, enis: list[str]) -> None:
        with self.lock:
            self.by_function[fn.function_arn] = enis + self.by_function.get(fn.function_arn, [])


LAMBDA_NETWORK = LambdaNetwork()


class FunctionStates:
    """Lambda's function states (Lambda developer guide, "Lambda function states"):
    after CreateFunction a function is ``Pending`` while Lambda sets up its resources
    (longer in a VPC), and "Lambda does not invoke a function during pending state":
    Invoke, UpdateFunctionCode, UpdateFunctionConfiguration and PublishVersion fail.
    An update sets ``LastUpdateStatus`` ``InProgress`` until it is done, and another
    update meanwhile fails. Both answer ``ResourceConflictException`` (409), with
    AWS's texts as its users report them. moto answers ``Active``/``Successful`` at
    once. Invocations during an update run the new configuration here (AWS runs the
    previous one until the update ends)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending_until: dict[str, float] = {}
        self.updating_until: dict[str, float] = {}

    @staticmethod
    def _seconds(fn) -> float:
        return LAMBDA_STATE_SECONDS * (2 if (getattr(fn, "_vpc_config", None) or {}).get("SubnetIds") else 1)

    def created(self, fn) -> None:
        with self.lock:
            self.pending_until[fn.function_arn] = time.monotonic() + self._seconds(fn)
            self.updating_until.pop(fn.function_arn, None)

    def begin_update(self, fn) -> float | None:
        """Refuses an update while the function is Pending or another update runs,
        else marks this one as running, in one step (two concurrent updates cannot
        both pass). Returns what to restore if the update itself then fails."""
        with self.lock:
            now = time.monotonic()
            if now < self.pending_until.get(fn.function_arn, 0.0):
                raise _conflict(PENDING_REFUSED)
            if now < self.updating_until.get(fn.function_arn, 0.0):
                raise _conflict(f"The operation cannot be performed at this time. An update is in progress for resource: {fn.function_arn}")
            before = self.updating_until.get(fn.function_arn)
            self.updating_until[fn.function_arn] = now + self._seconds(fn)
            return before

    def undo_update(self, fn, before: float | None) -> None:
        with self.lock:
            if before is None:
                self.updating_until.pop(fn.function_arn, None)
            else:
                self.updating_until[fn.function_arn] = before

    def deleted(self, arn: str) -> None:
        with self.lock:
            self.pending_until.pop(arn, None)
            self.updating_until.pop(arn, None)

    def _until(self, table: dict, fn) -> bool:
        with self.lock:
            return time.monotonic() < table.get(fn.function_arn, 0.0)

    def pending(self, fn) -> bool:
        return self._until(self.pending_until, fn)

    def updating(self, fn) -> bool:
        return self._until(self.updating_until, fn)

    def refuse_invoke(self, fn) -> None:
        if self.pending(fn):
            raise _conflict(PENDING_REFUSED)

    def configuration(self, fn, config: dict) -> dict:
        if self.pending(fn):
            config.update(State="Pending", StateReason="The function is being created.", StateReasonCode="Creating")
            config.update(LastUpdateStatus="InProgress", LastUpdateStatusReason="The function is being created.", LastUpdateStatusReasonCode="Creating")
        elif self.updating(fn):
            # The texts AWS shows for an update in progress (Lambda developer guide,
            # "Lambda function states", GetFunctionConfiguration example).
            config.update(LastUpdateStatus="InProgress", LastUpdateStatusReason="The function is being created.", LastUpdateStatusReasonCode="Creating")
        return config


PENDING_REFUSED = "The operation cannot be performed at this time. The function is currently in the following state: Pending"


def _conflict(message: str):
    from moto.awslambda.exceptions import LambdaClientError

    error = LambdaClientError("ResourceConflictException", message)
    error.code = 409
    return error


FUNCTION_STATES = FunctionStates()
UPDATING_CODE = threading.local()


def install_lambda_patches() -> None:
    from moto.awslambda import models as lambda_models
    from moto.utilities.utils import get_partition

    backend = lambda_models.LambdaBackend
    original_create = backend.create_function
    original_update = backend.update_function_configuration
    original_delete = backend.delete_function
    original_update_code = backend.update_function_code
    original_publish = backend.publish_version
    original_configuration = lambda_models.LambdaFunction.get_configuration

    def create_function(self, spec):
        role = spec.get("Role")
        partition = get_partition(self.region_name)
        if on("role-assumable") and role and re.match(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:role/", role):
            check_role_assumable(self.account_id, partition, role)
        if on("vpc-role-permissions"):
            check_role_manages_enis(self.account_id, partition, self.region_name, role, spec.get("VpcConfig"))
        fn = original_create(self, spec)
        try:
            latest = self.get_function(fn.function_name)
            LAMBDA_NETWORK.attach(latest, spec.get("VpcConfig"))
        except Exception:
            original_delete(self, fn.function_name)
            raise
        if on("lambda-states"):
            FUNCTION_STATES.created(latest)
        return fn

    def update_function_configuration(self, function_name, qualifier, body):
        partition = get_partition(self.region_name)
        if on("role-assumable") and body.get("Role"):
            check_role_assumable(self.account_id, partition, body["Role"])
        fn = self.get_function(function_name, qualifier)
        before = FUNCTION_STATES.begin_update(fn) if on("lambda-states") else None
        try:
            return _update_configuration(self, fn, function_name, qualifier, body, partition)
        except Exception:
            if on("lambda-states"):
                FUNCTION_STATES.undo_update(fn, before)
            raise

    def _update_configuration(self, fn, function_name, qualifier, body, partition):
        if on("vpc-role-permissions") and ("VpcConfig" in body or body.get("Role")):
            # The function's network as it will be, with the role it will have.
            vpc_config = body.get("VpcConfig") if "VpcConfig" in body else fn._vpc_config
            check_role_manages_enis(self.account_id, partition, self.region_name, body.get("Role") or fn.role, vpc_config)
        if "VpcConfig" in body:
            before = [sorted(x) for x in LAMBDA_NETWORK._wanted(fn._vpc_config)]
            after = [sorted(x) for x in LAMBDA_NETWORK._wanted(body.get("VpcConfig"))]
            if before != after:
                old = LAMBDA_NETWORK.take(fn)
                try:
                    LAMBDA_NETWORK.attach(fn, body.get("VpcConfig"))  # validates before anything changes
                except Exception:
                    LAMBDA_NETWORK.give_back(fn, old)
                    raise
                LAMBDA_NETWORK.release(fn, old)
        result = original_update(self, function_name, qualifier, body)
        if on("lambda-states") and isinstance(result, dict):
            FUNCTION_STATES.configuration(fn, result)  # the answer already says InProgress, as AWS's does
        return result

    def update_function_code(self, function_name, qualifier, body):
        fn = self.get_function(function_name, qualifier)
        if not on("lambda-states"):
            return original_update_code(self, function_name, qualifier, body)
        before = FUNCTION_STATES.begin_update(fn)
        try:
            UPDATING_CODE.active = True  # its own PublishVersion (Publish=true) is part of it
            result = original_update_code(self, function_name, qualifier, body)
        except Exception:
            FUNCTION_STATES.undo_update(fn, before)
            raise
        finally:
            UPDATING_CODE.active = False
        if isinstance(result, dict):
            FUNCTION_STATES.configuration(fn, result)
        return result

    def publish_version(self, function_name, description="", *args, **kwargs):
        if on("lambda-states") and not getattr(UPDATING_CODE, "active", False):
            fn = self.get_function(function_name)
            FUNCTION_STATES.undo_update(fn, FUNCTION_STATES.begin_update(fn))  # refused while Pending or updating
        return original_publish(self, function_name, description, *args, **kwargs)

    def get_configuration(self, on_create: bool = False):
        config = original_configuration(self, on_create)
        return FUNCTION_STATES.configuration(self, config) if on("lambda-states") else config

    def delete_function(self, function_name, qualifier=None):
        try:
            fn = self.get_function(function_name)
        except Exception:
            fn = None
        result = original_delete(self, function_name, qualifier)
        if fn is not None and not qualifier:
            LAMBDA_NETWORK.release(fn, LAMBDA_NETWORK.take(fn))
            FUNCTION_STATES.deleted(fn.function_arn)
        return result

    backend.create_function = create_function
    backend.update_function_configuration = update_function_configuration
    backend.update_function_code = update_function_code
    backend.publish_version = publish_version
    backend.delete_function = delete_function
    lambda_models.LambdaFunction.get_configuration = get_configuration

    # GetFunctionConfiguration's VpcConfig.VpcId is the VPC of the function's subnets
    # (Lambda API reference, VpcConfigResponse); moto answers a constant "vpc-123abc".
    def vpc_config(self):
        if not self._vpc_config:
            return None
        config = self._vpc_config.copy()
        subnets = list(config.get("SubnetIds") or [])
        if config.get("SecurityGroupIds") and subnets:
            try:
                config["VpcId"] = LAMBDA_NETWORK._ec2(self).get_subnet(subnets[0]).vpc_id
            except Exception:
                config["VpcId"] = ""
        return config

    lambda_models.LambdaFunction.vpc_config = property(vpc_config)


# --------------------------------------------------------------------------- EC2 dependencies and endpoints


VPC_DELETION = threading.local()


def refuse_group_deletion(ec2, group_id: str) -> None:
    """EC2 refuses to delete a VPC's default security group ("You can't delete a
    default security group", EC2 user guide, "Default security groups for your
    VPCs": ``CannotDelete``) and a group another group's rule references
    (``DependencyViolation``, "resource sg-... has a dependent object": the rule must
    be revoked first; aws-nuke#410, openshift/installer#4440 hit it with the default
    group referencing another). moto deletes both."""
    from moto.ec2.exceptions import EC2ClientError

    group = ec2.get_security_group_from_id(group_id)
    if group is None:
        return
    if getattr(group, "is_default", False) or group.name == "default":
        raise EC2ClientError("CannotDelete", f'the specified group: "{group_id}" name: "default" cannot be deleted by a user')
    # Only rules of the group's own VPC hold it: a rule in a peered VPC becomes stale
    # instead (EC2 API reference, DescribeStaleSecurityGroups).
    for vpc_groups in list(ec2.groups.values()):
        for other in list(vpc_groups.values()):
            if other.id == group_id or other.vpc_id != group.vpc_id:
                continue
            for rule in list(other.ingress_rules) + list(other.egress_rules):
                if (getattr(rule, "source_group", None) or {}).get("GroupId") == group_id:
                    raise _dependency_error(f"resource {group_id} has a dependent object")


def _dependency_error(message: str):
    from moto.ec2.exceptions import DependencyViolationError

    return DependencyViolationError(message)


def _db_instances_using(account_id: str, region: str):
    from moto.rds.models import rds_backends

    try:
        return list(rds_backends[account_id][region].databases.values())
    except Exception:
        return []


def _console_output(instance) -> str | None:
    """What GetConsoleOutput shows of ``instance``: nothing until it has been up for
    ``EMULATOR_CONSOLE_SECONDS``, then boot lines and cloud-init's host-key block (a
    key derived from the instance id, so it is stable across calls)."""
    launched = getattr(instance, "launch_time", None)
    if isinstance(launched, str):
        try:
            launched = datetime.fromisoformat(launched.replace("Z", "+00:00"))
        except ValueError:
            launched = None
    if launched is not None:
        if launched.tzinfo is None:
            launched = launched.replace(tzinfo=timezone.utc)
        if (datetime.now(timezone.utc) - launched).total_seconds() < CONSOLE_SECONDS:
            return None
    import base64
    import hashlib

    key = base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + hashlib.sha256(instance.id.encode()).digest()).decode()
    return (
        "cloud-init[1]: Cloud-init v. 22.2.2 running 'modules:final'\n"
        "-----BEGIN SSH HOST KEY KEYS-----\n"
        f"ssh-ed25519 {key} root@{instance.id}\n"
        "-----END SSH HOST KEY KEYS-----\n"
        "cloud-init[1]: Cloud-init v. 22.2.2 finished\n"
    )


def install_console_output() -> None:
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.ec2.responses.general import General
    from moto.ec2.utils import Base64EncodedString

    def get_console_output(self):
        instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
        result = {"InstanceId": instance.id, "Timestamp": utcnow()}
        text = _console_output(instance)
        if text is not None:
            result["Output"] = Base64EncodedString.from_raw_string(text)
        return ActionResult(result)

    General.get_console_output = get_console_output


def install_ec2_patches() -> None:
    from moto.ec2.models import EC2Backend

    install_console_output()

    original_delete_subnet = EC2Backend.delete_subnet
    original_delete_group = EC2Backend.delete_security_group
    original_terminate = EC2Backend.terminate_instances
    original_create_endpoint = EC2Backend.create_vpc_endpoint
    original_delete_endpoints = EC2Backend.delete_vpc_endpoints

    def live_enis(self):
        for eni in list(self.enis.values()):
            if not on("lambda-enis") and getattr(eni, "interface_type", "") == "lambda":
                continue  # moto's own: Lambda's interfaces hold nothing
            instance = getattr(eni, "instance", None)
            if instance is not None and getattr(instance, "state", "") == "terminated":
                continue
            yield eni

    def delete_subnet(self, subnet_id):
        for eni in live_enis(self):
            if eni.subnet is not None and eni.subnet.id == subnet_id:
                raise _dependency_error(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
        for database in _db_instances_using(self.account_id, self.region_name):
            group = getattr(database, "db_subnet_group", None)
            subnets = [s.id for s in getattr(group, "_subnets", [])] if group is not None and not isinstance(group, str) else []
            if subnet_id in subnets:
                raise _dependency_error(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
        return original_delete_subnet(self, subnet_id)

    def delete_security_group(self, name=None, group_id=None):
        target = group_id
        if target is None and name is not None:
            group = self.get_security_group_by_name_or_id(name)
            target = group.id if group is not None else None
        if target is not None and on("group-dependencies") and not getattr(VPC_DELETION, "active", False):
            refuse_group_deletion(self, target)
        if target is not None:
            for eni in live_enis(self):
                if target in [g.id for g in eni._group_set] or target in (getattr(eni, "_emulator_group_ids", None) or []):
                    raise _dependency_error(f"resource {target} has a dependent object")
            for database in _db_instances_using(self.account_id, self.region_name):
                if target in (getattr(database, "vpc_security_group_ids", None) or []):
                    raise _dependency_error(f"resource {target} has a dependent object")
        return original_delete_group(self, name, group_id)

    def terminate_instances(self, instance_ids):
        result = original_terminate(self, instance_ids)
        # AWS deletes an instance's primary network interface with it.
        for instance, _ in result:
            for nic in list(getattr(instance, "nics", {}).values()):
                self.enis.pop(nic.id, None)
        return result

    def create_vpc_endpoint(self, *args, **kwargs):
        endpoint = original_create_endpoint(self, *args, **kwargs)
        if (endpoint.vpc_endpoint_type or "").lower() == "interface" and ENDPOINT_SECONDS > 0 and on("resource-states"):
            endpoint.state = "pending"

            def ready():
                if endpoint.state == "pending":
                    endpoint.state = "available"

            SCHEDULER.after(ENDPOINT_SECONDS, ready)
        return endpoint

    def delete_vpc_endpoints(self, vpce_ids=None):
        if ENDPOINT_SECONDS <= 0 or not on("resource-states"):
            return original_delete_endpoints(self, vpce_ids)
        from moto.ec2.exceptions import InvalidVpcEndPointIdError

        for vpce_id in vpce_ids or []:
            endpoint = self.vpc_end_points.get(vpce_id)
            if endpoint is None:
                raise InvalidVpcEndPointIdError(vpce_id)
        for vpce_id in vpce_ids or []:
            endpoint = self.vpc_end_points[vpce_id]
            if endpoint.state in ("deleting", "deleted"):
                continue
            endpoint.state = "deleting"

            def gone(vpce_id=vpce_id):
                original_delete_endpoints(self, [vpce_id])

            SCHEDULER.after(ENDPOINT_SECONDS, gone)

    original_delete_vpc = EC2Backend.delete_vpc

    def delete_vpc_with_its_default_group(self, vpc_id):
        # The VPC's own default group goes with it (moto deletes it through
        # delete_security_group, which a user may not call on it).
        VPC_DELETION.active = True
        try:
            return original_delete_vpc(self, vpc_id)
        finally:
            VPC_DELETION.active = False

    def delete_vpc(self, vpc_id):
        # AWS refuses while anything but the default group and the main route table
        # remains; moto checks subnets and route tables but not groups or gateways.
        for group in list(self.groups.get(vpc_id, {}).values()):
            if group.name != "default":
                raise _dependency_error(f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
        for gateway in list(self.internet_gateways.values()):
            if gateway.vpc is not None and gateway.vpc.id == vpc_id:
                raise _dependency_error(f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
        return delete_vpc_with_its_default_group(self, vpc_id)

    EC2Backend.delete_vpc = delete_vpc
    EC2Backend.delete_subnet = delete_subnet
    EC2Backend.delete_security_group = delete_security_group
    EC2Backend.terminate_instances = terminate_instances
    EC2Backend.create_vpc_endpoint = create_vpc_endpoint
    EC2Backend.delete_vpc_endpoints = delete_vpc_endpoints
    install_endpoint_policy_reset()


def reset_requested(value) -> bool:
    """Whether a query-protocol ``ResetPolicy`` parameter asks for the reset (the SDKs
    send ``true``; absent or anything else leaves the policy alone)."""
    return str(value).strip().lower() == "true"


def install_endpoint_policy_reset() -> None:
    """``ModifyVpcEndpoint`` with ``ResetPolicy=true`` restores the default policy.

    EC2 API reference, ModifyVpcEndpoint, ``ResetPolicy``: "(Gateway endpoint)
    Specify true to reset the policy document to the default policy. The default
    policy allows full access to the service." (CreateVpcEndpoint, ``PolicyDocument``:
    "If this parameter is not specified, we attach a default policy that allows full
    access to the service.") moto 5.2.5's ``VPCs.modify_vpc_endpoint`` never reads
    ``ResetPolicy`` and keeps the old policy. The reset is applied to every endpoint
    type here: the current reference labels the parameter "(Gateway endpoint)", older
    editions name no type, and what AWS does with it on an interface endpoint, or
    with ``ResetPolicy`` and ``PolicyDocument`` together, could not be confirmed (the
    reset wins here).
    """
    from moto.ec2.models.vpcs import VPCEndPoint
    from moto.ec2.responses.vpcs import VPCs

    original_modify = VPCs.modify_vpc_endpoint
    original_create = VPCs.create_vpc_endpoint

    def create_vpc_endpoint(self):
        if str(self._get_param("VpcEndpointType") or "").lower() == "interface":
            refuse_private_dns_without_vpc_dns(self.ec2_backend, self._get_param("VpcId"), self._get_param("PrivateDnsEnabled"))
        return original_create(self)

    def modify_vpc_endpoint(self):
        known = self.ec2_backend.vpc_end_points.get(self._get_param("VpcEndpointId"))
        if known is not None and str(known.vpc_endpoint_type or "").lower() == "interface":
            refuse_private_dns_without_vpc_dns(self.ec2_backend, known.vpc_id, self._get_param("PrivateDnsEnabled"))
        result = original_modify(self)
        endpoint = self.ec2_backend.describe_vpc_endpoints(vpc_end_point_ids=[self._get_param("VpcEndpointId")])[0]
        if on("endpoint-reset-policy") and reset_requested(self._get_param("ResetPolicy")):
            endpoint.policy_document = json.dumps(VPCEndPoint.DEFAULT_POLICY)
        # PrivateDnsEnabled: "(Interface endpoint) Indicates whether a private hosted
        # zone is associated with the VPC" (EC2 API reference, ModifyVpcEndpoint);
        # moto 5.2.5 never reads it, so turning private DNS off changed nothing and a
        # function kept reaching the service by its public name.
        private_dns = self._get_param("PrivateDnsEnabled")
        if on("endpoint-private-dns") and private_dns is not None:
            endpoint.private_dns_enabled = reset_requested(private_dns)
        return result

    VPCs.modify_vpc_endpoint = modify_vpc_endpoint
    VPCs.create_vpc_endpoint = create_vpc_endpoint


def refuse_private_dns_without_vpc_dns(backend, vpc_id, private_dns) -> None:
    """InvalidParameter for ``PrivateDnsEnabled=true`` on an interface endpoint in a VPC
    whose ``enableDnsSupport`` or ``enableDnsHostnames`` is off (behaviour
    ``endpoint-private-dns-attributes``).

    EC2 API reference, CreateVpcEndpoint and ModifyVpcEndpoint, ``PrivateDnsEnabled``
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.html):
    "To use a private hosted zone, you must set the following VPC attributes to true:
    enableDnsHostnames and enableDnsSupport." moto 5.2.5 accepts it in any VPC. Only
    an explicit ``true`` is refused here: whether AWS also refuses a CreateVpcEndpoint
    that leaves ``PrivateDnsEnabled`` to its default could not be confirmed.
    """
    if not on("endpoint-private-dns-attributes") or not reset_requested(private_dns) or not vpc_id:
        return
    from moto.ec2.exceptions import EC2ClientError

    vpc = backend.vpcs.get(vpc_id)
    if vpc is None:
        return  # moto answers for a VPC that is not there
    if not (_attribute_on(vpc.enable_dns_support) and _attribute_on(vpc.enable_dns_hostnames)):
        raise EC2ClientError(
            "InvalidParameter",
            f"Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for {vpc_id}",
        )


def _attribute_on(value) -> bool:
    """A VPC attribute as moto keeps it (a bool, or the string a request set)."""
    return value is True or str(value).strip().lower() == "true"


# --------------------------------------------------------------------------- Secrets Manager


OWNED_MESSAGE = (
    "You can't {verb} secret {name} because it's managed by {service}. "
    "Use {service} to {verb} it."
)
_INTERNAL = threading.local()


def internal_call(function, *args, **kwargs):
    """Runs a backend call on behalf of the owning service (which may change its secret)."""
    _INTERNAL.active = True
    try:
        return function(*args, **kwargs)
    finally:
        _INTERNAL.active = False


INVOKE_REFUSED = (
    "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function "
    "policy grants access to the principal secretsmanager.amazonaws.com."
)


SECRETS_MANAGER = "secretsmanager.amazonaws.com"


def _names_service(principal, service: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return service in _as_list(principal.get("Service"))


def invoke_permitted(policy, function_arn: str, secret_arn: str, secret_account: str) -> bool:
    """Whether a function's resource policy lets Secrets Manager invoke it to rotate
    one secret. Secrets Manager calls with its service principal and the
    confused-deputy keys ``aws:SourceAccount`` (the secret's account) and
    ``aws:SourceArn`` (the secret's ARN): Secrets Manager user guide, "Permissions for
    the Lambda rotation function" ("if you include the context key aws:SourceArn in
    your Lambda rotation function policy, the rotation function can only be used to
    rotate the secret specified by that ARN"); Lambda's AddPermission turns its
    ``SourceAccount``/``SourceArn`` into exactly those conditions. The statement's
    resource is the function's unqualified ARN. An explicit Deny wins."""
    context = {
        "aws:SourceAccount": secret_account,
        "aws:SourceArn": secret_arn,
        "aws:PrincipalServiceName": SECRETS_MANAGER,
        "aws:SecureTransport": "true",
    }
    allowed = False
    for statement in _statements(policy):
        if not _names_service(statement.get("Principal"), SECRETS_MANAGER):
            continue
        if not _statement_covers(statement, "lambda:InvokeFunction", function_arn, context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def refuse_rotation_without_invoke_permission(lambda_backend, lambda_arn: str, secret) -> None:
    """RotateSecret names a function whose resource policy does not let Secrets Manager
    invoke it for this secret: AWS refuses with AccessDeniedException
    (terraform-provider-aws retries this very error while a new permission
    propagates). moto starts the rotation anyway."""
    from moto.secretsmanager.exceptions import SecretsManagerClientError

    try:
        # moto's wire format: {"Policy": "<the policy document as a string>", ...}
        wire = json.loads(lambda_backend.get_policy(lambda_arn))
        policy = json.loads(wire["Policy"]) if isinstance(wire.get("Policy"), str) else wire
    except Exception:  # no resource policy at all
        policy = {}
    from moto.awslambda.utils import make_function_arn

    fn = lambda_backend.get_function(lambda_arn)  # the caller has found it
    function_arn = make_function_arn(fn.region, fn.account_id, fn.function_name)
    if not invoke_permitted(policy, function_arn, secret.arn, secret.account_id):
        raise SecretsManagerClientError("AccessDeniedException", INVOKE_REFUSED)


def _refuse_if_owned(backend, secret_id: str, verb: str) -> None:
    if not on("owned-secrets"):
        return
    if getattr(_INTERNAL, "active", False):
        return
    from moto.secretsmanager.exceptions import InvalidRequestException

    if not backend._is_valid_identifier(secret_id):
        return
    secret = backend.secrets[secret_id]
    owner = getattr(secret, "owning_service", None)
    if owner:
        raise InvalidRequestException(OWNED_MESSAGE.format(verb=verb, name=secret.name, service=owner))


def install_secretsmanager_patches() -> None:
    from moto.secretsmanager import models as sm_models

    backend = sm_models.SecretsManagerBackend
    original_delete = backend.delete_secret
    original_put = backend.put_secret_value
    original_update = backend.update_secret
    original_create = backend.create_secret

    def delete_secret(self, secret_id, *args, **kwargs):
        _refuse_if_owned(self, secret_id, "delete")
        return original_delete(self, secret_id, *args, **kwargs)

    def put_secret_value(self, secret_id, secret_string=None, secret_binary=None, client_request_token=None, version_stages=None):
        _refuse_if_owned(self, secret_id, "put a value in")
        if on("version-immutable") and client_request_token and self._is_valid_identifier(secret_id):
            # A version's value never changes: the placeholder RotateSecret stages may
            # be filled once, then the same token with another value is refused (API
            # reference, PutSecretValue, ClientRequestToken). moto lets a version that
            # carries AWSPENDING be overwritten, which would hide a createSecret that
            # makes a new password on every retry.
            secret = self.secrets[secret_id]
            version = getattr(secret, "versions", {}).get(client_request_token)
            filled = version is not None and ("secret_string" in version or "secret_binary" in version)
            if filled and (version.get("secret_string"), version.get("secret_binary")) != (secret_string, secret_binary):
                from moto.secretsmanager.exceptions import ResourceExistsException

                raise ResourceExistsException(
                    f"You can't use ClientRequestToken {client_request_token} because that value is already in use for a version of secret {secret.arn}."
                )
        return original_put(self, secret_id, secret_string, secret_binary, client_request_token, version_stages)

    def update_secret(self, secret_id, *args, **kwargs):
        _refuse_if_owned(self, secret_id, "update")
        return original_update(self, secret_id, *args, **kwargs)

    def create_secret(self, name, *args, **kwargs):
        from moto.secretsmanager.exceptions import InvalidRequestException

        existing = self.secrets.get(name) if hasattr(self.secrets, "get") else None
        if existing is not None and existing.is_deleted():
            raise InvalidRequestException(
                "You can't create this secret because a secret with this name is already scheduled for deletion."
            )
        return original_create(self, name, *args, **kwargs)

    def list_secret_version_ids(self, secret_id, include_deprecated=False):
        # Secrets Manager API reference, ListSecretVersionIds: "Versions without staging
        # labels are considered deprecated ... By default, versions without staging
        # labels aren't included" (IncludeDeprecated lists them); CreatedDate is the
        # version's own. moto 5.2.5 lists every version and dates each "now".
        from moto.secretsmanager.exceptions import SecretNotFoundException

        if not self._is_valid_identifier(secret_id):
            raise SecretNotFoundException()
        secret = self.secrets[secret_id]
        versions = [
            {
                "CreatedDate": version.get("createdate", int(time.time())),
                "VersionId": version_id,
                "VersionStages": version["version_stages"],
            }
            for version_id, version in secret.versions.items()
            if include_deprecated or version["version_stages"] or not on("deprecated-versions")
        ]
        return json.dumps({"ARN": secret.arn, "Name": secret.name, "Versions": versions})

    backend.delete_secret = delete_secret
    backend.put_secret_value = put_secret_value
    backend.update_secret = update_secret
    backend.create_secret = create_secret
    backend.list_secret_version_ids = list_secret_version_ids

    from moto.secretsmanager.responses import SecretsManagerResponse

    def list_secret_version_ids_response(self):
        include = self._get_param("IncludeDeprecated", if_none=False)
        return self.backend.list_secret_version_ids(
            secret_id=self._get_param("SecretId", if_none=""),
            include_deprecated=include is True or str(include).lower() == "true",
        )

    SecretsManagerResponse.list_secret_version_ids = list_secret_version_ids_response


# --------------------------------------------------------------------------- RDS


# --------------------------------------------------------------------------- offerings


# What DescribeOrderableDBInstanceOptions answers for MySQL (moto 5.2.5 knows only
# Aurora PostgreSQL and Neptune and answers [] for MySQL). Versions as the RDS user
# guide's "MySQL on Amazon RDS versions" lists them; every standard zone of the region.
MYSQL_VERSIONS = ["8.0.42", "8.0.43", "8.4.6", "8.4.7"]
MYSQL_CLASSES = ["db.t3.micro", "db.t3.small", "db.t4g.micro"]


def install_offerings() -> None:
    """Offerings moto lacks, installed whatever the strictness (provision asks them)."""
    from moto.ec2.models import ec2_backends
    from moto.rds import models as rds_models

    original = rds_models.RDSBackend.describe_orderable_db_instance_options

    def describe_orderable_db_instance_options(self, engine, engine_version):
        if engine != "mysql":
            return original(self, engine, engine_version)
        zones = [
            {"Name": zone.name}
            for zone in ec2_backends[self.account_id][self.region_name].describe_availability_zones()
            if getattr(zone, "zone_type", "availability-zone") == "availability-zone"
        ]
        return [
            {
                "Engine": "mysql",
                "EngineVersion": version,
                "DBInstanceClass": klass,
                "LicenseModel": "general-public-license",
                "AvailabilityZones": zones,
                "MultiAZCapable": True,
                "Vpc": True,
                "StorageType": "gp3",
                "SupportsStorageEncryption": True,
            }
            for version in MYSQL_VERSIONS
            if not engine_version or version == engine_version
            for klass in MYSQL_CLASSES
        ]

    rds_models.RDSBackend.describe_orderable_db_instance_options = describe_orderable_db_instance_options


def install_rds_patches() -> None:
    """Lifecycle states, the subnet-group rule and the managed secret's tags.

    Installed over the launcher's own RDS patches, whose ``delete_db_instance``
    stops the instance's MariaDB server: here that happens when the instance is
    finally gone, not when the delete is asked for.
    """
    from moto.rds import models as rds_models
    from moto.rds.exceptions import RDSClientError
    from moto.rds.models import DBInstance, MasterUserSecret

    backend = rds_models.RDSBackend
    original_create_group = backend.create_subnet_group
    original_delete_group = backend.delete_subnet_group
    original_create_instance = backend.create_db_instance
    original_delete_instance = backend.delete_db_instance
    original_tags = MasterUserSecret._generate_secret_tags
    original_delete_secret = MasterUserSecret.delete_secret
    original_endpoint = DBInstance.endpoint

    def create_subnet_group(self, subnet_name, description, subnets, tags):
        zones = {getattr(s, "availability_zone", None) for s in subnets}
        if len(zones) < 2:
            raise RDSClientError(
                "DBSubnetGroupDoesNotCoverEnoughAZs",
                "The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. "
                "Current AZ coverage: " + ", ".join(sorted(z for z in zones if z)) + ". Add subnets to cover at least 2 AZs.",
            )
        return original_create_group(self, subnet_name, description, subnets, tags)

    def delete_subnet_group(self, subnet_name):
        for database in self.databases.values():
            group = getattr(database, "db_subnet_group", None)
            name = getattr(group, "name", group)
            if name is not None and name == subnet_name.lower():
                raise RDSClientError(
                    "InvalidDBSubnetGroupStateFault",
                    f"Cannot delete the subnet group '{subnet_name}' because at least one database instance: "
                    f"{database.db_instance_identifier} is still using it.",
                )
        return original_delete_group(self, subnet_name)

    def create_db_instance(self, *args, **kwargs):
        database = original_create_instance(self, *args, **kwargs)
        if RDS_SECONDS > 0 and on("resource-states") and not getattr(database, "is_replica", False):
            database.status = "creating"

            def ready():
                if database.status == "creating":
                    database.status = "available"

            SCHEDULER.after(RDS_SECONDS, ready)
        return database

    def delete_db_instance(self, db_instance_identifier, *args, **kwargs):
        database = self.databases.get(db_instance_identifier)
        if database is None or RDS_SECONDS <= 0 or not on("resource-states"):
            return original_delete_instance(self, db_instance_identifier, *args, **kwargs)
        if database.status == "deleting":
            raise RDSClientError("InvalidDBInstanceState", f"Instance {db_instance_identifier} is already being deleted.")
        database.status = "deleting"

        def gone():
            original_delete_instance(self, db_instance_identifier, *args, **kwargs)

        SCHEDULER.after(RDS_SECONDS, gone)
        return database

    def endpoint(self):
        if getattr(self, "status", "") == "creating":
            return None  # RDS reports no endpoint until the instance exists
        return original_endpoint.fget(self)

    def secret_tags(self):
        tags = original_tags(self)
        if not on("owned-secrets"):
            return tags
        for tag in getattr(self.resource, "tags", None) or []:
            if not any(t["Key"] == tag.get("Key") for t in tags):
                tags.append({"Key": tag.get("Key"), "Value": tag.get("Value")})
        return tags

    def delete_secret(self):
        return internal_call(original_delete_secret, self)

    backend.create_subnet_group = create_subnet_group
    backend.delete_subnet_group = delete_subnet_group
    backend.create_db_instance = create_db_instance
    backend.delete_db_instance = delete_db_instance
    DBInstance.endpoint = property(endpoint)
    MasterUserSecret._generate_secret_tags = secret_tags
    MasterUserSecret.delete_secret = delete_secret


# --------------------------------------------------------------------------- STS: trust policies


def _as_list(value) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _policy_document(document) -> dict:
    if isinstance(document, str):
        from urllib.parse import unquote

        try:
            document = json.loads(document if document.lstrip().startswith("{") else unquote(document))
        except ValueError:
            return {}
    return document if isinstance(document, dict) else {}


def _principal_matches(principal, caller_arn: str, caller_account: str) -> bool:
    """Whether a trust statement's Principal names the caller: `*`, the caller's
    account (`123456789012` or its `:root`), the caller's ARN, or, for a role
    session (`sts::A:assumed-role/R/s`), the role `iam::A:role/R`."""
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    session = re.fullmatch(r"arn:([\w-]+):sts::(\d{12}):assumed-role/([^/]+)/.+", caller_arn)
    for value in _as_list(principal.get("AWS")):
        if value in ("*", caller_account, caller_arn):
            return True
        if re.fullmatch(rf"arn:[\w-]+:iam::{caller_account}:root", value):
            return True
        if session and re.fullmatch(rf"arn:{session[1]}:iam::{session[2]}:role/(.*/)?{re.escape(session[3])}", value):
            return True
    return False


def principal_arn(caller_arn: str) -> str:
    """``aws:PrincipalArn`` of a caller: a role session's is its role's ARN
    ("AWS global condition context keys"), with the role's path where the role exists."""
    session = re.fullmatch(r"arn:([\w-]+):sts::(\d{12}):assumed-role/([^/]+)/.+", caller_arn or "")
    if not session:
        return caller_arn
    try:
        from moto.iam.models import iam_backends

        return iam_backends[session[2]][session[1]].get_role(session[3]).arn
    except Exception:
        return f"arn:{session[1]}:iam::{session[2]}:role/{session[3]}"


def trust_allows(document, caller_arn: str, caller_account: str, external_id: str | None) -> bool:
    """Whether a role's trust policy lets the caller AssumeRole (an explicit Deny wins)."""
    statements = _policy_document(document).get("Statement")
    statements = [statements] if isinstance(statements, dict) else _as_list(statements)
    context = request_context(principal_arn(caller_arn), None, {"sts:ExternalId": external_id})
    context["aws:PrincipalAccount"] = caller_account
    allowed = False
    for statement in statements:
        if not isinstance(statement, dict):
            continue
        actions = _as_list(statement.get("Action"))
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        if not _principal_matches(statement.get("Principal"), caller_arn, caller_account):
            continue
        if not conditions_hold(statement.get("Condition"), context, statement.get("Effect"), EMULATOR_KEYS):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


def role_assumable_by(role_arn: str, caller_arn: str, caller_account: str, external_id: str | None) -> bool:
    from moto.iam.models import iam_backends

    match = re.fullmatch(r"arn:([\w-]+):iam::(\d{12}):role/(.+)", role_arn or "")
    if not match:
        return False
    try:
        role = iam_backends[match[2]][match[1]].get_role_by_arn(role_arn)
    except Exception:
        return False  # AWS answers AccessDenied for a role that does not exist, too
    return trust_allows(role.assume_role_policy_document, caller_arn, caller_account, external_id)


def _sts_access_denied(caller_arn: str, role_arn: str):
    """STS's own error shape (`ErrorResponse/Error`, the awsQuery protocol), 403;
    moto's `AccessDeniedError` nests it in `Errors`, where an SDK finds no code."""
    from xml.sax.saxutils import escape

    from moto.core.exceptions import AccessDeniedError

    error = AccessDeniedError(user_arn=caller_arn, action=f"sts:AssumeRole on resource: {role_arn}")
    error.description = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{escape(error.message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return error


def install_sts_patches() -> None:
    """AssumeRole refuses a caller the role's trust policy does not allow."""
    from moto.sts.responses import TokenResponse

    original = TokenResponse.assume_role

    def assume_role(self):
        role_arn = self._get_param("RoleArn")
        external_id = self._get_param("ExternalId")
        _, caller_arn, caller_account = self.backend.get_caller_identity(self.get_access_key(), self.region)
        if on("assume-role-trust") and not role_assumable_by(role_arn, caller_arn, caller_account, external_id):
            raise _sts_access_denied(caller_arn, role_arn)
        return original(self)

    TokenResponse.assume_role = assume_role


# --------------------------------------------------------------------------- CloudWatch Logs


def put_function_logs(fn, stream: str, lines: list[str]) -> None:
    """Writes an invocation's output to /aws/lambda/<function>, creating group and
    stream, as far as the execution role allows (see ``logs_permitted``)."""
    from moto.logs.models import logs_backends

    logs = logs_backends[fn.account_id][fn.region]
    group = f"/aws/lambda/{fn.function_name}"
    if on("lambda-logs"):
        existing = logs.groups.get(group)
        if not logs_permitted(
            fn.role,
            fn.region,
            fn.account_id,
            group,
            stream,
            group_exists=existing is not None,
            stream_exists=existing is not None and stream in existing.streams,
        ):
            return
    if group not in logs.groups:
        try:
            logs.create_log_group(group, {})
        except Exception:
            pass  # created by a concurrent invocation
    log_group = logs.groups.get(group)
    if log_group is None:
        return
    if stream not in log_group.streams:
        try:
            logs.create_log_stream(group, stream)
        except Exception:
            pass
    now = int(time.time() * 1000)
    events = [{"timestamp": now, "message": line} for line in lines if line.strip()]
    if events:
        logs.put_log_events(group, stream, events)


# --------------------------------------------------------------------------- IAM enforcement


def enforce_iam(account_id: str, access_key: str, secret_key: str) -> None:
    """Every request must be signed by an IAM user allowed the action (moto's access control).

    The emulator's own credentials belong to an administrator user, so the harness
    keeps working; tests make users with narrower policies through the IAM API.
    """
    from moto import settings as moto_settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.models import iam_backends

    iam = iam_backends[account_id]["aws"]
    user = iam.create_user(region_name="us-east-1", user_name="emulator-admin", path="/", tags=[])
    iam.put_user_policy(
        user.name,
        "administrator",
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    )
    key = iam.create_access_key(user.name, prefix="AKIA")
    key.access_key_id = access_key
    key.secret_access_key = secret_key
    moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    ActionAuthenticatorMixin.request_count = 0
    # moto's signature check miscomputes some REST requests (Lambda's, here); the
    # key must still belong to a user, whose policies decide. A known difference.
    from moto.iam.access_control import IAMRequest

    IAMRequest.check_signature = lambda self: None
    install_resource_arns()
    if on("iam-conditions"):
        install_condition_evaluation()
    install_kms_key_policy()


MOTO_VERSION = "5.2.5"  # the version whose access control install_condition_evaluation replaces


def _moto_policy_document(policy):
    """A policy as moto's ``collect_policies`` hands it out: a managed ``Policy``, a
    role's inline document (str), or a user's or group's inline policy (dict)."""
    if isinstance(policy, dict) and "policy_document" in policy:
        return policy["policy_document"]
    if isinstance(policy, (str, dict)):
        return policy
    return _default_version(policy)


def _secret_at(resource: str):
    """The secret an ARN names, or None (not a secret's ARN, or no such secret)."""
    match = re.fullmatch(r"arn:[\w-]+:secretsmanager:([\w-]+):(\d{12}):secret:.+", resource or "")
    if not match:
        return None
    from moto.secretsmanager.models import secretsmanager_backends

    try:
        return secretsmanager_backends[match[2]][match[1]].secrets.get(resource)
    except Exception:  # a name moto cannot parse: as for a secret that is not there
        return None


def _resource_tags(resource: str, region: str) -> dict:
    """``aws:ResourceTag/<key>`` and, for a secret, ``secretsmanager:ResourceTag/<key>``
    (Service Authorization Reference, AWS Secrets Manager: both carry the secret's
    tags), for the resource a request names."""
    secret = _secret_at(resource)
    context = {}
    for tag in getattr(secret, "tags", None) or []:
        if isinstance(tag, dict) and "Key" in tag:
            for prefix in ("aws:ResourceTag/", "secretsmanager:ResourceTag/"):
                context[prefix + tag["Key"]] = tag.get("Value", "")
    return context


def request_decisions(request, action: str, resource: str, resource_policy, extra: dict) -> tuple[str, str | None, str]:
    """The decisions ``access_decision`` weighs for a signed request's caller doing
    ``action`` on ``resource``: its identity policies' (as moto collects them; a role
    session's role's inline and managed policies), its permissions boundary's (None
    without one) and ``resource_policy``'s (``none`` without one), in the request's
    context plus ``extra``."""
    from moto.iam import access_control

    key = request._access_key
    caller = principal_arn(key.arn)
    extra = dict(extra)
    through = getattr(_THROUGH_ENDPOINT, "keys", None)
    if through is not None and action.split(":", 1)[0] == through[0]:
        extra.update(through[1])  # a call through an endpoint: aws:SourceVpce, aws:SourceVpc
    if isinstance(key, access_control.IAMUserAccessKey):
        extra["aws:username"] = caller.rsplit("/", 1)[-1]
    context = request_context(caller, request._region, extra)
    context["aws:PrincipalAccount"] = request.account_id
    if isinstance(key, access_control.AssumedRoleAccessKey):
        documents, boundary = role_policies(caller) or ([], [])
    else:
        documents = [_moto_policy_document(policy) for policy in key.collect_policies()]
        boundary = None  # a user's boundary is not modelled (moto keeps none)
    identity = policy_decision(documents, action, resource, context)
    bounded = None if boundary is None else policy_decision(boundary, action, resource, context)
    on_resource = "none"
    if resource_policy:
        on_resource = resource_policy_decision(resource_policy, action, resource, context, key.arn, request.account_id, bool(boundary))
    return identity, bounded, on_resource


def install_condition_evaluation() -> None:
    """Signed requests are judged by ``policy_decision`` with the request's context,
    Conditions included.

    moto 5.2.5's ``IAMRequestBase.check_action_permitted`` asks each statement
    ``IAMPolicyStatement.is_action_permitted``, whose ``_check_conditions`` knows
    only ``StringEquals`` over the keys of ``format_incoming_conditional_values``
    (``sts:ExternalId``), counts every other operator as met, and answers an unmet
    condition with an explicit Deny, even on an Allow statement: a Deny on a tag
    applied to every secret, an Allow limited to a tag to none or all. The whole
    check is replaced: the caller's identity policies (as moto collects them),
    the resource ARN (``install_resource_arns``) and ``request_context`` plus the
    resource's tags; a role session's role also answers for its permissions
    boundary. AssumeRole's trust policy is judged by ``install_sts_patches``.
    """
    import moto
    from moto.iam import access_control

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"the emulator replaces moto {MOTO_VERSION}'s IAMRequestBase.check_action_permitted; "
            f"moto {moto.__version__} is installed: check that method, then update MOTO_VERSION"
        )
    base = getattr(access_control, "IAMRequestBase", None)
    if base is None or not callable(getattr(base, "check_action_permitted", None)):
        raise RuntimeError("moto.iam.access_control.IAMRequestBase.check_action_permitted is gone")

    def check_action_permitted(self, resource: str) -> None:
        if self._action == "sts:GetCallerIdentity":
            return  # always allowed, even against an explicit Deny (as moto has it)
        secret = _secret_at(resource) if behaviours.on("secret-resource-policy") else None
        # The secret's resource policy, same account only: moto finds a secret in the
        # caller's own account's backend, so a cross-account request never reaches
        # here with another account's secret.
        policy = getattr(secret, "policy", None) if secret is not None else None
        decisions = request_decisions(self, self._action, resource, policy, _resource_tags(resource, self._region))
        if not access_decision(*decisions):
            self._raise_access_denied()

    base.check_action_permitted = check_action_permitted


# --------------------------------------------------------------------------- VPC endpoint policies
#
# PrivateLink guide, "Control access to VPC endpoints using endpoint policies"
# (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html): an
# endpoint policy is a resource-based policy on the endpoint that controls "which AWS
# principals can use the endpoint to access an AWS service"; it "does not override or
# replace identity-based policies or resource-based policies", and without one AWS
# attaches the default, which "grants full access" ({"Effect": "Allow", "Principal":
# "*", "Action": "*", "Resource": "*"}). So it limits and never grants: a call through
# the endpoint needs an Allow in it naming the caller (``*`` names everyone; the
# account names every identity of it in an interface endpoint's policy, but only its
# root user, "not all users and roles", in a gateway endpoint's) and no Deny that
# applies, besides what the caller's own policies need.
# The calls through an endpoint carry ``aws:SourceVpce`` (the endpoint's id) and
# ``aws:SourceVpc`` (its VPC); calls over the internet carry neither (IAM user guide,
# "AWS global condition context keys"; KMS developer guide, "Use VPC endpoints to
# control access to AWS KMS resources"). The refusal is AccessDenied in IAM's format
# for a policy type (IAM user guide, "Troubleshoot access denied error messages",
# https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html):
# "User: <arn> is not authorized to perform: <action> on resource: <arn> with an
# explicit deny in a VPC endpoint policy", or "... because no VPC endpoint policy
# allows the <action> action".
#
# The emulated network (``network.py``) decides at each call which endpoint carries a
# function's call; the policy is then judged here, in front of moto, whether IAM is
# enforced or not, for whoever signed the call (``_signer_arn``: usually the
# function's role session, which Lambda names after the function, but any
# credentials the function holds, an assumed role's or a user's, are judged as
# theirs; an unsigned call or an unknown key as anonymous). Not judged: calls whose IAM action the emulator cannot name
# from the request (REST protocols, Lambda's), and every call when the network is off
# (``EMULATOR_OFF=network``: no endpoint carries anything then).

ENDPOINT_POLICY = "VPC endpoint policy"
_THROUGH_ENDPOINT = threading.local()  # (service, condition keys) of the call this thread serves


def endpoint_keys(endpoint_id: str, vpc_id: str | None) -> dict:
    """The condition keys of a call that came through endpoint ``endpoint_id``."""
    keys = {"aws:SourceVpce": endpoint_id}
    if vpc_id:
        keys["aws:SourceVpc"] = vpc_id
    return keys


def endpoint_policy_refusal(
    document,
    action: str,
    resource: str,
    caller_arn: str | None,
    account: str,
    region: str,
    endpoint_id: str,
    vpc_id: str | None,
    extra: dict | None = None,
    gateway: bool = False,
) -> str | None:
    """None when endpoint ``endpoint_id``'s policy ``document`` (None: the default,
    full access) lets ``caller_arn`` (None: an anonymous caller, whom only ``*`` names)
    of account ``account`` do ``action`` on ``resource``; else the AccessDenied message
    AWS gives.

    The account as principal (``"AWS": "<account>"`` or ``arn:aws:iam::<account>:root``)
    names every identity of the account in an interface endpoint's policy (IAM user
    guide, "AWS account principals",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts),
    but the account's root user alone in a gateway endpoint's (PrivateLink guide,
    "Principals for gateway endpoints",
    https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html)."""
    if document is None:
        return None
    anonymous = caller_arn is None
    caller = "" if anonymous else caller_arn
    context = request_context("" if anonymous else principal_arn(caller), region, {**(extra or {}), **endpoint_keys(endpoint_id, vpc_id)})
    if anonymous:
        context = {key: value for key, value in context.items() if not key.startswith("aws:Principal")}
    else:
        context["aws:PrincipalAccount"] = account
    decision = resource_policy_decision(document, action, resource, context, caller, "" if anonymous else account)
    refused = f"User: {'anonymous' if anonymous else caller} is not authorized to perform: {action} on resource: {resource}"
    if decision == "deny":
        return f"{refused} with an explicit deny in a {ENDPOINT_POLICY}"
    if decision in ("caller", "role", "everyone") or (decision == "account" and not gateway):
        return None
    return f"{refused} because no {ENDPOINT_POLICY} allows the {action} action"


_ACCESS_KEY = re.compile(r"Credential=([^/,\s]+)/")


def _signer_arn(environ) -> str | None:
    """The ARN of whoever signed a request: the IAM user or role session its access key
    (and, for a session, its ``X-Amz-Security-Token``) belongs to, as moto's access
    control finds it (moto/iam/access_control.py, ``create_access_key``). None for an
    unsigned request, an unknown key or a session token that does not match: an
    anonymous caller, whom only a ``*`` principal names. (AWS refuses such a request
    anyway, whether IAM is enforced here or not: the endpoint policy cannot let more
    through than it lets through for anyone.)"""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    match = _ACCESS_KEY.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match is None:
        return None
    key, token = match[1], environ.get("HTTP_X_AMZ_SECURITY_TOKEN")
    for account in list(sts_backends.keys()):
        for partition in list(sts_backends[account].keys()):
            session = sts_backends[account][partition].get_assumed_role_from_access_key(key)
            if session is not None:
                return session.arn if token == session.session_token else None
    if token:
        return None  # a session token with a key no session has
    for account in list(iam_backends.keys()):
        for partition in list(iam_backends[account].keys()):
            user = iam_backends[account][partition].get_user_from_access_key_id(key)
            if user is not None:
                return user.arn
    return None


def _arn_account(arn: str | None) -> str | None:
    """The account an IAM or STS ARN belongs to."""
    match = re.fullmatch(r"arn:[\w-]+:(?:iam|sts)::(\d{12}):.*", arn or "")
    return match[1] if match else None


def _endpoint_policy(account: str, region: str, endpoint_id: str):
    """The endpoint's policy document (None when the endpoint is gone: nothing to judge)
    and whether it is a gateway endpoint."""
    from moto.ec2.models import ec2_backends

    endpoint = ec2_backends[account][region].vpc_end_points.get(endpoint_id)
    if endpoint is None:
        return None, False
    kind = str(getattr(endpoint, "vpc_endpoint_type", None) or "Gateway")
    return getattr(endpoint, "policy_document", None), kind.lower() == "gateway"


def _secret_arn(account: str, region: str, secret_id: str) -> str:
    """The ARN of the secret a SecretId names; for one that does not exist, the ARN it
    would have (as a policy's Resource would name it)."""
    from moto.secretsmanager.models import secretsmanager_backends

    try:
        secrets = secretsmanager_backends[account][region].secrets
        if secret_id in secrets:
            return secrets[secret_id].arn
    except Exception:  # a name moto cannot parse: as for a secret that is not there
        pass
    return secret_id if secret_id.startswith("arn:") else f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_id}"


def _endpoint_request(environ, service: str, account: str, region: str) -> tuple[str, str] | None:
    """The IAM action and resource of a call (None: the action cannot be named from the
    request). The body is read and put back for moto."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:  # the JSON protocols: X-Amz-Target is "<prefix>.<Operation>"
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        action = f"{service}:{target.rsplit('.', 1)[-1]}"
    elif service in QUERY_SERVICES or service == "ec2":
        # The query protocol takes its parameters from the body of a POST or the query
        # string of a GET ("Query requests", EC2 API reference): both are read, the
        # body's winning, so that a GET does not escape the policy.
        query = parse_qs(environ.get("QUERY_STRING", ""))
        query.update(parse_qs(body.decode("utf-8", "replace")))
        params = {key: values[0] for key, values in query.items()}
        if not params.get("Action"):
            return None
        action = f"{service}:{params['Action']}"
    else:
        return None
    resource = "*"
    secret_id = params.get("SecretId") if isinstance(params, dict) else None
    if service == "secretsmanager" and isinstance(secret_id, str) and secret_id:
        resource = _secret_arn(account, region, secret_id)
    return action, resource


def _scp_refusal(environ, service: str, region: str) -> str | None:
    """The refusal of a call a service control policy of the caller's account
    denies (``scp``), or None."""
    import scp

    caller = _signer_arn(environ)
    account = _arn_account(caller)
    if account is None:
        return None
    request = _endpoint_request(environ, service, account, region)
    if request is None:
        return None
    action, resource = request
    return scp.refusal(caller, action, resource, region, service)


def _access_denied(start_response, service: str, environ, message: str):
    """AccessDenied in the service's protocol: JSON (400, ``__type``), as Secrets Manager
    answers its other refusals (moto's ``SecretsManagerClientError``); query (403,
    ``ErrorResponse``); EC2 (``UnauthorizedOperation``)."""
    from xml.sax.saxutils import escape

    if environ.get("HTTP_X_AMZ_TARGET"):
        status, content_type = "400 Bad Request", "application/x-amz-json-1.1"
        payload = json_error("AccessDeniedException", message)
    elif service == "ec2":
        status, content_type = "403 Forbidden", "text/xml"
        payload = ec2_error("UnauthorizedOperation", escape(message))
    else:
        status, content_type = "403 Forbidden", "text/xml"
        payload = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        ).encode()
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(payload)))])
    return [payload]


# --------------------------------------------------------------------------- KMS: a secret's customer managed key
#
# Secrets Manager user guide, "Secret encryption and decryption in AWS Secrets
# Manager": each secret value is encrypted under a data key from the secret's KMS
# key. Secrets Manager calls KMS "on behalf of the user who is creating or changing
# the secret value", who "must have" kms:GenerateDataKey and kms:Decrypt on the key
# ("in an IAM policy or key policy"): GenerateDataKey for CreateSecret with a value,
# PutSecretValue (the rotation function's createSecret step is one), UpdateSecret with
# a value; Decrypt for GetSecretValue. Establishing or changing the key (CreateSecret
# or UpdateSecret with KmsKeyId) validates both, with ``SecretVersionId``
# ``RequestToValidateKeyAccess``. Its requests carry ``kms:ViaService``
# ``secretsmanager.<Region>.amazonaws.com`` and the encryption context ``SecretARN``
# and ``SecretVersionId``. KMS developer guide, "Key policies in AWS KMS": "Unless the
# key policy explicitly allows it, you cannot use IAM policies to allow access to a
# KMS key" (its "Enable IAM User Permissions" statement names the account,
# ``arn:aws:iam::<account>:root``, which delegates to IAM), while an IAM Deny applies
# without it; a Deny in the key policy applies whatever IAM says. The AWS managed key
# ``aws/secretsmanager`` allows every principal of the account through Secrets Manager,
# so secrets under it are not judged here. The refusal is AWS's
# ``AccessDeniedException`` "Access to KMS is not allowed" (as reported by users of
# GetSecretValue: aws-samples/aws-secrets-manager-rotation-lambdas#53,
# external-secrets/external-secrets#390; the same text for the writes is assumed).
# Not modelled: grants; the Decrypt a PutSecretValue on an existing version makes to
# compare values; ``SecretARN`` at CreateSecret, where the ARN is made by the create,
# so a condition on it is undecidable there (an Allow under it does not apply); the
# key's state (a disabled key, or one pending deletion, still serves); which key
# encrypts each version after UpdateSecret changes KmsKeyId (AWS re-encrypts the
# existing versions only when the caller may decrypt them with the old key; here every
# version is judged against the new one); BatchGetSecretValue (its resource is ``*``).
# The emulator's administrator is an IAM user like any other here: KMS lets it use a
# key only as the key policy allows (the default key policy delegates to IAM). A key
# of another account needs both its key policy and the caller's own IAM Allow (Secrets
# Manager API reference, UpdateSecret ``KmsKeyId``: "The user making the call must
# have permissions to both the secret and the KMS key in their respective accounts").

AWS_MANAGED_SECRETS_KEY = "alias/aws/secretsmanager"
KEY_VALIDATION_VERSION = "RequestToValidateKeyAccess"
KMS_REFUSED = "Access to KMS is not allowed"


def kms_uses(action: str, params: dict, secret_key: str | None, secret_version: str | None) -> list[tuple[str, str, str | None]]:
    """The KMS calls Secrets Manager makes for the caller of ``action`` with request
    ``params``, on a secret whose key is ``secret_key`` (None: the AWS managed key, or
    no secret yet) and whose version read is ``secret_version``: ``(key as named,
    kms action, SecretVersionId or None where not known)``, none for the AWS managed
    key ``aws/secretsmanager``."""
    value = params.get("SecretString") is not None or params.get("SecretBinary") is not None
    new_key = params.get("KmsKeyId")
    if new_key == "":  # UpdateSecret's way of choosing aws/secretsmanager again
        new_key = AWS_MANAGED_SECRETS_KEY
    elif not isinstance(new_key, str):  # absent, or not a key name: moto validates it
        new_key = None
    token = params.get("ClientRequestToken") or None
    uses: list[tuple[str | None, str, str | None]] = []
    if action == "secretsmanager:GetSecretValue":
        uses.append((secret_key, "kms:Decrypt", secret_version))
    elif action == "secretsmanager:PutSecretValue":
        uses.append((secret_key, "kms:GenerateDataKey", token))
    elif action in ("secretsmanager:CreateSecret", "secretsmanager:UpdateSecret"):
        if new_key:
            uses += [(new_key, "kms:GenerateDataKey", KEY_VALIDATION_VERSION), (new_key, "kms:Decrypt", KEY_VALIDATION_VERSION)]
        if value:
            uses.append((new_key or secret_key, "kms:GenerateDataKey", token))
    return [(key, kms_action, version) for key, kms_action, version in uses if key and not key.endswith(AWS_MANAGED_SECRETS_KEY)]


def key_access_decision(identity: str, boundary: str | None, key_policy: str) -> bool:
    """Whether KMS lets the caller use a key, from the same decisions as
    ``access_decision`` with the key policy as the resource policy, which is
    authoritative: nothing is allowed unless the key policy allows it to the caller
    or delegates to the account's IAM policies (``account``); any Deny wins."""
    return key_policy != "none" and access_decision(identity, boundary, key_policy)


def secrets_manager_host(region: str) -> str:
    return f"secretsmanager.{region}.amazonaws.com"


def _kms_key(account_id: str, region: str, key_ref: str):
    """The moto KMS key a KmsKeyId names (id, ARN, alias or alias ARN), or None."""
    from moto.kms.models import kms_backends

    match = re.fullmatch(r"arn:[\w-]+:kms:([\w-]+):(\d{12}):.+", key_ref)
    if match:
        region, account_id = match[1], match[2]
    try:
        backend = kms_backends[account_id][region]
        return backend.keys[backend.any_id_to_key_id(key_ref)]
    except Exception:
        return None


def _key_tags(key) -> dict:
    from moto.kms.models import kms_backends

    try:
        tags = kms_backends[key.account_id][key.region].list_resource_tags(key.id).get("Tags", [])
    except Exception:
        tags = []
    return {f"aws:ResourceTag/{tag['TagKey']}": tag.get("TagValue", "") for tag in tags if "TagKey" in tag}


def _version_read(secret, params: dict) -> str | None:
    """The version GetSecretValue reads: its VersionId, or the one holding its stage."""
    if params.get("VersionId"):
        return params["VersionId"]
    stage = params.get("VersionStage") or "AWSCURRENT"
    # A copy: a PutSecretValue on another thread may be adding a version meanwhile.
    versions = list(getattr(secret, "versions", {}).items())
    return next((vid for vid, version in versions if stage in version.get("version_stages", [])), None)


def refuse_without_key_access(request, resource: str) -> None:
    """Refuses a Secrets Manager request whose caller may not use the secret's
    customer managed key as the request needs it (see ``kms_uses``)."""
    if not request._action.startswith("secretsmanager:"):
        return
    try:
        params = json.loads(request._body or b"{}")
    except ValueError:
        return
    if not isinstance(params, dict):
        return
    secret = _secret_at(resource)
    secret_key = getattr(secret, "kms_key_id", None)
    uses = kms_uses(request._action, params, secret_key, _version_read(secret, params) if secret is not None else None)
    from moto.secretsmanager.exceptions import SecretsManagerClientError

    for key_ref, kms_action, version in uses:
        key = _kms_key(request.account_id, request._region, key_ref)
        if key is None or getattr(key, "key_manager", "CUSTOMER") == "AWS":
            if key is None:  # Secrets Manager cannot use a key KMS does not have
                raise SecretsManagerClientError("AccessDeniedException", KMS_REFUSED)
            continue
        extra = {
            "kms:ViaService": secrets_manager_host(request._region),
            "kms:CallerAccount": request.account_id,
            **_key_tags(key),
        }
        if secret is not None:
            extra["kms:EncryptionContext:SecretARN"] = secret.arn
        if version is not None:
            extra["kms:EncryptionContext:SecretVersionId"] = version
        identity, boundary, key_policy = request_decisions(request, kms_action, key.arn, key.policy, extra)
        if key.account_id != request.account_id:
            # Another account's key: its key policy and the caller's own IAM Allow.
            allowed = identity == "allow" and boundary in (None, "allow") and key_policy not in ("none", "deny")
        else:
            allowed = key_access_decision(identity, boundary, key_policy)
        if not allowed:
            raise SecretsManagerClientError("AccessDeniedException", KMS_REFUSED)


def install_kms_key_policy() -> None:
    """Signed Secrets Manager requests also need the secret's customer managed key,
    as its key policy and the caller's IAM policies allow it (see above)."""
    from moto.iam import access_control

    judged = access_control.IAMRequestBase.check_action_permitted

    def check_action_permitted(self, resource: str) -> None:
        judged(self, resource)
        if on("kms-key-policy"):
            refuse_without_key_access(self, resource)

    access_control.IAMRequestBase.check_action_permitted = check_action_permitted


def install_resource_arns() -> None:
    """Policies scoped to a resource are judged against that resource's ARN.

    moto checks every call of these services against the resource ``*``
    (``BaseResponse.call_action`` asks ``_determine_resource`` only of IAM, STS and
    SQS), so a statement with ``"Resource": "<secret ARN>"`` never matched and a
    least-privilege policy such as the rotation function's was refused. AWS
    evaluates the ARN of the resource an action names (Service Authorization
    Reference: Secrets Manager actions take the ``Secret`` resource type,
    ``rds:DescribeDBInstances`` the ``db`` type); a call that names none stays ``*``.
    """
    from moto.rds.responses import RDSResponse
    from moto.secretsmanager.responses import SecretsManagerResponse

    def secret_arn(self) -> str:
        try:
            secret_id = self._get_param("SecretId")
            if secret_id and secret_id in self.backend.secrets:
                return self.backend.secrets[secret_id].arn
        except Exception:  # an unreadable request is judged as before, against "*"
            pass
        return "*"

    def db_instance_arn(self) -> str:
        try:
            instance = self._get_param("DBInstanceIdentifier")
            if instance and not instance.startswith("arn:"):
                return f"arn:aws:rds:{self.region}:{self.current_account}:db:{instance}"
            return instance or "*"
        except Exception:
            return "*"

    SecretsManagerResponse._determine_resource = secret_arn
    RDSResponse._determine_resource = db_instance_arn
