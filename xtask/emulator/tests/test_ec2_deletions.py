"""What goes when EC2 deletes: a VPC's default network ACL, a deleted endpoint.

moto kept both for ever, so a long run (the fuzz: a VPC and two endpoints a case)
listed hundreds of them in every DescribeNetworkAcls and DescribeVpcEndpoints."""

import time

import boto3
import pytest
from moto import mock_aws

import base
import ec2_dependencies

REGION = "us-east-1"


@pytest.fixture
def ec2(monkeypatch):
    """A mocked EC2 with the emulator's EC2 patches, undone after the test."""
    from moto.ec2.models import EC2Backend
    from moto.ec2.responses.vpcs import VPCs
    from moto.ec2.responses.general import General

    for owner, names in [
        (EC2Backend, ["delete_vpc", "delete_subnet", "delete_security_group", "terminate_instances", "create_vpc_endpoint", "delete_vpc_endpoints"]),
        (VPCs, ["modify_vpc_endpoint", "create_vpc_endpoint"]),
        (General, ["get_console_output"]),
    ]:
        for name in names:
            monkeypatch.setattr(owner, name, getattr(owner, name))
    ec2_dependencies.install_ec2_patches()
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


def acls_of(ec2, vpc_id: str) -> list:
    return ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["NetworkAcls"]


def test_a_deleted_vpc_takes_its_default_network_acl_with_it(ec2):
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    other = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    assert [acl["IsDefault"] for acl in acls_of(ec2, vpc_id)] == [True]
    ec2.delete_vpc(VpcId=vpc_id)
    assert acls_of(ec2, vpc_id) == []
    assert [acl["IsDefault"] for acl in acls_of(ec2, other)] == [True], "another VPC's ACL stays"


def test_a_deleted_interface_endpoint_is_deleting_then_deleted_for_a_while_then_gone(ec2, monkeypatch):
    monkeypatch.setattr(ec2_dependencies, "DELETED_ENDPOINT_SECONDS", 1.0)
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc_id, ServiceName=f"com.amazonaws.{REGION}.secretsmanager", VpcEndpointType="Interface", SubnetIds=[subnet]
    )["VpcEndpoint"]["VpcEndpointId"]
    ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint])
    seen = []
    deadline = time.monotonic() + base.ENDPOINT_SECONDS + 10
    while time.monotonic() < deadline:
        states = [e["State"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]]
        if not seen or seen[-1] != states:
            seen.append(states)
        if not states:
            break
        time.sleep(0.05)
    assert seen == [["deleting"], ["deleted"], []], seen
