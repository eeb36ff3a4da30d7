"""Lambda as AWS runs it: roles, network interfaces, states and logs.

moto creates any function at once, with any role, and makes no network interface.
Here (behaviours ``role-assumable``, ``vpc-role-permissions``, ``lambda-enis``,
``lambda-states``, ``lambda-logs``):

* IAM user guide, "Troubleshooting IAM roles": a new role is not assumable at once;
  Lambda answers ``InvalidParameterValueException`` "The role defined for the
  function cannot be assumed by Lambda." (``check_role_assumable``).
* Lambda developer guide, "Giving Lambda functions access to resources in an Amazon
  VPC": a function is put in a VPC only if its execution role may create, describe
  and delete network interfaces; otherwise ``InvalidParameterValueException`` "The
  provided execution role does not have permissions to call CreateNetworkInterface
  on EC2" (``check_role_manages_enis``). Its Hyperplane ENIs (``InterfaceType``
  ``lambda``) stay after the function is deleted or detached, are removed by Lambda
  using the execution role, and block their subnets and security groups
  (``DependencyViolation``, enforced by ``ec2_dependencies``);
  aws/serverless-application-model#1169: with the role gone they stay
  (``LambdaNetwork``).
* Lambda developer guide, "Lambda function states": ``Pending`` after create,
  ``LastUpdateStatus`` ``InProgress`` after an update, ``ResourceConflictException``
  meanwhile (``FunctionStates``).
* Lambda developer guide, "Using CloudWatch Logs with Lambda": each invocation's
  output goes to ``/aws/lambda/<function>``, one stream per execution environment,
  as far as the execution role allows ``logs:CreateLogGroup``, ``CreateLogStream``
  and ``PutLogEvents`` (``put_function_logs``, called by ``lambda_runtime``).

What a role allows is decided by ``iam_policies``; which interfaces a function holds
is kept by ``network.FUNCTION_INTERFACES``. At import only the empty records are made
(``LAMBDA_NETWORK``, ``FUNCTION_STATES``); ``install_lambda_patches`` patches moto.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from datetime import datetime, timezone

import network
from base import ENI_RELEASE_SECONDS, LAMBDA_STATE_SECONDS, ROLE_PROPAGATION_SECONDS, SCHEDULER
from behaviours import on
from iam_policies import permits, policy_decision, request_context, role_permits, role_policies
from patching import replace


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
        network.FUNCTION_INTERFACES.add(fn.function_arn, created)

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

    @staticmethod
    def take(fn) -> list[str]:
        return network.FUNCTION_INTERFACES.take(fn.function_arn)

    @staticmethod
    def give_back(fn, enis: list[str]) -> None:
        network.FUNCTION_INTERFACES.give_back(fn.function_arn, enis)


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
    """Every patch of moto's Lambda: creation and deletion, updates, and what a
    function's configuration answers."""
    from moto.awslambda import models as lambda_models

    _install_create_and_delete(lambda_models.LambdaBackend)
    _install_updates(lambda_models.LambdaBackend)
    _install_configuration(lambda_models.LambdaFunction)


def _install_create_and_delete(backend) -> None:
    """CreateFunction checks the role (``role-assumable``, ``vpc-role-permissions``)
    and gives the function its network interfaces, starting ``Pending``; DeleteFunction
    releases them."""
    from moto.utilities.utils import get_partition

    original_create = backend.create_function
    original_delete = backend.delete_function

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

    replace(backend, "create_function", create_function)
    replace(backend, "delete_function", delete_function)


def _update_configuration(backend, original_update, fn, function_name, qualifier, body, partition):
    """UpdateFunctionConfiguration once its state allows it: the role checked against
    the network the function will have, its interfaces moved when its subnets or
    groups change (the new ones validated before the old ones are released)."""
    if on("vpc-role-permissions") and ("VpcConfig" in body or body.get("Role")):
        # The function's network as it will be, with the role it will have.
        vpc_config = body.get("VpcConfig") if "VpcConfig" in body else fn._vpc_config
        check_role_manages_enis(backend.account_id, partition, backend.region_name, body.get("Role") or fn.role, vpc_config)
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
    result = original_update(backend, function_name, qualifier, body)
    if on("lambda-states") and isinstance(result, dict):
        FUNCTION_STATES.configuration(fn, result)  # the answer already says InProgress, as AWS's does
    return result


def _install_updates(backend) -> None:
    """UpdateFunctionConfiguration, UpdateFunctionCode and PublishVersion: refused while
    the function is Pending or an update is in progress, then ``InProgress`` themselves
    (``lambda-states``)."""
    from moto.utilities.utils import get_partition

    original_update = backend.update_function_configuration
    original_update_code = backend.update_function_code
    original_publish = backend.publish_version

    def update_function_configuration(self, function_name, qualifier, body):
        partition = get_partition(self.region_name)
        if on("role-assumable") and body.get("Role"):
            check_role_assumable(self.account_id, partition, body["Role"])
        fn = self.get_function(function_name, qualifier)
        before = FUNCTION_STATES.begin_update(fn) if on("lambda-states") else None
        try:
            return _update_configuration(self, original_update, fn, function_name, qualifier, body, partition)
        except Exception:
            if on("lambda-states"):
                FUNCTION_STATES.undo_update(fn, before)
            raise

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

    replace(backend, "update_function_configuration", update_function_configuration)
    replace(backend, "update_function_code", update_function_code)
    replace(backend, "publish_version", publish_version)


def _install_configuration(function_class) -> None:
    """What GetFunction(Configuration) answers: the function's state
    (``lambda-states``) and the VPC of its subnets."""
    original_configuration = function_class.get_configuration

    def get_configuration(self, on_create: bool = False):
        config = original_configuration(self, on_create)
        return FUNCTION_STATES.configuration(self, config) if on("lambda-states") else config

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

    replace(function_class, "get_configuration", get_configuration)
    replace(function_class, "vpc_config", property(vpc_config))


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
