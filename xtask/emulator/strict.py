"""The HTTP layer in front of moto: request-level behaviours and the control paths.

moto answers at once, and accepts what AWS refuses or delays. Code that passes
against plain moto can then fail on a real account. The emulator reproduces each such
behaviour, on by default (``behaviours.py`` is their registry, with switches), with
short delays so the suite stays fast and deterministic enough that a client that
ignores them fails every time.

This module is the WSGI middleware (``StrictApp``) the launcher puts in front of
moto's server. It sees every request before moto does, so it holds what is decided
per request: the emulated network's drops (``network.py``), a VPC endpoint's policy
(``endpoint_policy.py``) and the condition keys of a call through an endpoint, EC2's
young ids (``ec2_consistency.py``), injected failures, AWS's error shapes per protocol
(moto answers its access-control errors in EC2's XML whatever the protocol), and the
``/_emulator/`` control paths. Everything else is patched into moto by one module per
concern, each citing the AWS documentation it follows:

    launcher.py           arguments, start-up order and shutdown; installs the modules
                          below in a fixed order, then serves moto on the port it bound
    process_group.py      the launcher's process group, stopped by a watchdog if it is killed
    supervision.py        every child process of the launcher, and how they all stop
    rds_servers.py        each RDS instance its own MariaDB server behind its own address
    secret_rotation.py    RotateSecret's steps in the background, retried, cancelled
    lambda_runtime.py     Lambda's runtime: bootstrap processes behind a Runtime API
    mariadb_servers.py    one private MariaDB server; RDS's master user privileges
    strict.py             this HTTP layer
    iam_enforcement.py    IAM on: moto's access control, resource ARNs, conditions, key policy
    kms_key_policy.py     a secret's customer managed key (also read by kms_key_state.py)
    iam_requests.py       the decisions for a signed request (identity, boundary, resource)
    endpoint_policy.py    VPC endpoint policies
    lambda_functions.py   Lambda: assumable roles, VPC permissions, ENIs, states, logs
    ec2_dependencies.py   EC2: what blocks a delete, endpoint states and flags, console output
    ec2_consistency.py    EC2: a new id answers NotFound for a while
    rds_instances.py      RDS: offerings, instance states, subnet groups, the managed secret
    secrets_manager.py    Secrets Manager: owned secrets, invoke permission, versions
    sts_trust.py          STS: AssumeRole as the trust policy allows
    iam_policies.py       the one policy evaluator (with conditions.py)
    base.py               settings and scheduler that every module above needs
    kms_keys.py           KMS: Enable/DisableKey, Schedule/CancelKeyDeletion by key ARN, in the states AWS allows
    launch_state.py       the launcher's arguments, supervisor and CA key, read at call time
    patching.py           ``replace``: every patch of moto, checked; ``MOTO_VERSION``
    emulator_log.py       the log, each line prefixed by the module that wrote it

Each module imports only modules below it in this list (``network.py``,
``reachability.py``, ``conditions.py``, ``schedules.py`` and ``behaviours.py`` sit at
the bottom), so there is no import cycle; none below ``launcher.py`` imports this one. The launcher's other helpers
(``kms_key_state.py``, ``rds_rotation.py``, ``rds_managed_replica.py``,
``throttling.py``, ``certificates.py``) stand beside it; ``rds_rotation.py`` adds its
control path here (``CONTROL_POSTS``).
"""

from __future__ import annotations

import io
import json
import re
import threading
import uuid
from urllib.parse import parse_qs

import network
from base import settings
from emulator_log import log
from behaviours import on
from ec2_consistency import EC2_CONSISTENCY, EC2_CREATES
from endpoint_policy import (
    THROUGH_ENDPOINT,
    arn_account,
    vpc_endpoint_policy,
    signer_arn,
    endpoint_keys,
    endpoint_policy_refusal,
)


# --------------------------------------------------------------------------- the HTTP layer


def ec2_error(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
        f"<RequestID>{uuid.uuid4()}</RequestID></Response>"
    ).encode()


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
    (secret, token, status, step), ``?secret=ARN-or-name`` only that secret's: the
    tests' way to wait for an asynchronous rotation without sleeping. ``GET /_emulator/settings`` shows the settings.
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
            document, gateway = vpc_endpoint_policy(fn.account_id, region, verdict.endpoint)
            caller = signer_arn(environ)
            caller_account = arn_account(caller) or fn.account_id
            refusal = endpoint_policy_refusal(document, action, resource, caller, caller_account, region, verdict.endpoint, verdict.vpc, gateway=gateway)
            if refusal is not None:
                log(f"function {fn.function_name!r}: {refusal!r}")
                return _access_denied(start_response, service, environ, refusal)
        # The identity and resource policies see where the call came from, too.
        THROUGH_ENDPOINT.keys = (service, endpoint_keys(verdict.endpoint, verdict.vpc))
        try:
            return self._dispatch(environ, start_response, service)
        finally:
            THROUGH_ENDPOINT.keys = None

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
            # keep_blank_values: `secret=` names no secret, so it lists none, not all.
            secret = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).get("secret", [None])[0]
            body = json.dumps(self.rotations(secret)).encode()
        elif path == "/_emulator/network":
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


# --------------------------------------------------------------------------- a call as an endpoint policy sees it
#


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

    caller = signer_arn(environ)
    account = arn_account(caller)
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
