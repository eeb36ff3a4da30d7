"""EC2 as AWS keeps it: what holds a subnet, a security group or a VPC, endpoints that
take time, an instance's console, and ModifyVpcEndpoint's flags.

moto deletes what AWS refuses to delete, and ignores some of ModifyVpcEndpoint's
parameters. Here (behaviours ``group-dependencies``, ``lambda-enis``,
``resource-states``, ``endpoint-reset-policy``, ``endpoint-private-dns``,
``endpoint-private-dns-attributes``):

* Lambda developer guide, "Giving Lambda functions access to resources in an Amazon
  VPC": a function's Hyperplane ENIs (made by ``lambda_functions``) block their
  subnets and security groups (``DependencyViolation``); so do a DB instance's subnet
  group and groups.
* EC2 user guide, "Default security groups for your VPCs": a default group cannot be
  deleted (``CannotDelete``); a group another group's rule references cannot either
  (``DependencyViolation``; ``refuse_group_deletion``).
* PrivateLink guide, VPC endpoint states: an interface endpoint is ``pending``, then
  ``available``; ``deleting`` (``EMULATOR_ENDPOINT_SECONDS``), then ``deleted``
  for a minute (``DELETED_ENDPOINT_SECONDS``), then gone.
* EC2 API reference, DeleteVpc: the VPC's default security group, network ACL and
  route table go with it.
* EC2 API reference, GetConsoleOutput: the output is buffered and "posted shortly
  after an instance transition state"; ``Latest`` works on Nitro instances only.
  cloud-init prints the host keys between ``-----BEGIN SSH HOST KEY KEYS-----`` and
  ``-----END SSH HOST KEY KEYS-----`` at first boot (``EMULATOR_CONSOLE_SECONDS``).
* EC2 API reference, ModifyVpcEndpoint (``ResetPolicy``, ``PrivateDnsEnabled``) and
  CreateVpcEndpoint (``PrivateDnsEnabled`` needs the VPC's DNS attributes): see
  ``install_endpoint_policy_reset`` and ``refuse_private_dns_without_vpc_dns``.

Nothing here runs at import; ``install_ec2_patches`` patches moto when the launcher
calls it.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone

from base import CONSOLE_SECONDS, ENDPOINT_SECONDS, SCHEDULER
from behaviours import on
from patching import replace


VPC_DELETION = threading.local()

# How long a deleted interface endpoint stays listed in state "deleted" (AWS: "for a
# period", not documented; see ``delete_vpc_endpoints``).
DELETED_ENDPOINT_SECONDS = 60.0


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

    replace(General, "get_console_output", get_console_output)


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

            def deleted(vpce_id=vpce_id):
                original_delete_endpoints(self, [vpce_id])  # state "deleted"
                # AWS lists a deleted endpoint "for a period" (openshift/hypershift#9517),
                # how long it does not document; moto kept it for ever, and a long
                # run (the fuzz deletes two endpoints a case) made every
                # DescribeVpcEndpoints list hundreds (1.4 s at 344).
                SCHEDULER.after(DELETED_ENDPOINT_SECONDS, lambda: gone(vpce_id))

            def gone(vpce_id):
                self.vpc_end_points.pop(vpce_id, None)
                # None: a scheduled task's result is the delay to run it again.

            SCHEDULER.after(ENDPOINT_SECONDS, deleted)


    original_delete_vpc = EC2Backend.delete_vpc

    def delete_vpc_with_its_default_group(self, vpc_id):
        # The VPC's own default group goes with it (moto deletes it through
        # delete_security_group, which a user may not call on it).
        VPC_DELETION.active = True
        try:
            vpc = original_delete_vpc(self, vpc_id)
        finally:
            VPC_DELETION.active = False
        # So does its default network ACL ("When you delete the VPC, it deletes the
        # default security group, network ACL, and route table for the VPC", EC2 API
        # reference, DeleteVpc); moto kept it, listed by every DescribeNetworkAcls.
        for acl_id, acl in list(self.network_acls.items()):
            if acl.vpc_id == vpc_id and acl.default:
                self.network_acls.pop(acl_id, None)
        return vpc

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

    replace(EC2Backend, "delete_vpc", delete_vpc)
    replace(EC2Backend, "delete_subnet", delete_subnet)
    replace(EC2Backend, "delete_security_group", delete_security_group)
    replace(EC2Backend, "terminate_instances", terminate_instances)
    replace(EC2Backend, "create_vpc_endpoint", create_vpc_endpoint)
    replace(EC2Backend, "delete_vpc_endpoints", delete_vpc_endpoints)
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

    replace(VPCs, "modify_vpc_endpoint", modify_vpc_endpoint)
    replace(VPCs, "create_vpc_endpoint", create_vpc_endpoint)


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
