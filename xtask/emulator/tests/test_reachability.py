"""Table tests of the reachability rules (``reachability.py``), one AWS rule a case."""

from __future__ import annotations

import dataclasses

import pytest

from reachability import (
    AclEntry,
    Endpoint,
    Group,
    GroupRule,
    Interface,
    Peering,
    Route,
    Subnet,
    Vpc,
    World,
    acl_allows,
    connection,
    database,
    service,
)

ALLOW_ALL = (AclEntry(100, True, False), AclEntry(100, True, True))
LOCAL = Route("10.0.0.0/16", "local")


def tutorial() -> World:
    """The tutorial's network: a function and a database in private subnets, an endpoint."""
    world = World()
    world.vpcs["vpc-1"] = Vpc("vpc-1")
    world.subnets["subnet-a"] = Subnet("subnet-a", "vpc-1", "10.0.1.0/24", ALLOW_ALL, (LOCAL,))
    world.subnets["subnet-b"] = Subnet("subnet-b", "vpc-1", "10.0.2.0/24", ALLOW_ALL, (LOCAL,))
    out_all = (GroupRule("-1", cidr="0.0.0.0/0"),)
    world.groups["sg-fn"] = Group("sg-fn", "vpc-1", (), out_all)
    world.groups["sg-db"] = Group("sg-db", "vpc-1", (GroupRule("tcp", 3306, 3306, group="sg-fn"),), out_all)
    world.groups["sg-ep"] = Group("sg-ep", "vpc-1", (GroupRule("tcp", 443, 443, cidr="10.0.0.0/16"),), out_all)
    world.endpoints = (
        Endpoint("vpce-sm", "vpc-1", "secretsmanager", "available", True, (Interface("10.0.2.20", "subnet-b", ("sg-ep",)),)),
    )
    return world


FUNCTION = (Interface("10.0.1.5", "subnet-a", ("sg-fn",), "function"),)
DB = Interface("10.0.2.100", "subnet-b", ("sg-db",), "db")


def with_group(world: World, group_id: str, **changes) -> World:
    world.groups[group_id] = dataclasses.replace(world.groups[group_id], **changes)
    return world


def with_acl(world: World, subnet_id: str, acl) -> World:
    world.subnets[subnet_id] = dataclasses.replace(world.subnets[subnet_id], acl=tuple(acl))
    return world


def test_the_tutorial_network_reaches_the_database_and_secrets_manager():
    world = tutorial()
    assert database(world, FUNCTION, DB, 3306, False)
    assert service(world, FUNCTION, "secretsmanager")


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda w: with_group(w, "sg-db", ingress=()), "drops it"),
        (lambda w: with_group(w, "sg-db", ingress=(GroupRule("tcp", 3307, 3310, group="sg-fn"),)), "drops it"),
        (lambda w: with_group(w, "sg-db", ingress=(GroupRule("udp", 3306, 3306, group="sg-fn"),)), "drops it"),
        (lambda w: with_group(w, "sg-db", ingress=(GroupRule("tcp", 3306, 3306, cidr="10.0.9.0/24"),)), "drops it"),
        (lambda w: with_group(w, "sg-db", ingress=(GroupRule("tcp", 3306, 3306, cidr_v6="::/0"),)), "drops it"),
        (lambda w: with_group(w, "sg-fn", egress=()), "cannot send"),
        (lambda w: with_group(w, "sg-fn", egress=(GroupRule("tcp", 443, 443, cidr="0.0.0.0/0"),)), "cannot send"),
        (lambda w: with_acl(w, "subnet-b", [AclEntry(50, False, False, "tcp", "10.0.1.0/24", ports=(3306, 3306)), *ALLOW_ALL]), "request into"),
        (lambda w: with_acl(w, "subnet-a", [AclEntry(100, True, True), AclEntry(100, True, False, "tcp", ports=(3306, 3306))]), "answer"),
        (lambda w: with_acl(w, "subnet-b", [AclEntry(100, True, False), AclEntry(100, True, True, "tcp", ports=(1024, 60000))]), "answer"),
        (lambda w: with_acl(w, "subnet-a", []), "ACL"),
    ],
)
def test_a_database_path_breaks_where_aws_would_drop_it(mutate, fragment):
    verdict = database(mutate(tutorial()), FUNCTION, DB, 3306, False)
    assert not verdict
    assert fragment in verdict.reason


@pytest.mark.parametrize(
    "ingress",
    [
        (GroupRule("-1", cidr="0.0.0.0/0"),),
        (GroupRule("tcp", 0, 65535, cidr="10.0.1.0/24"),),
        (GroupRule("6", 3306, 3306, cidr="10.0.1.5/32"),),
        (GroupRule("tcp", 3306, 3306, prefix_list="pl-1"),),
    ],
)
def test_rules_admit_as_aws_reads_them(ingress):
    world = with_group(tutorial(), "sg-db", ingress=ingress)
    world.prefix_lists["pl-1"] = ("10.0.0.0/20",)
    assert database(world, FUNCTION, DB, 3306, False)


def test_acl_rules_apply_in_number_order_and_the_first_match_decides():
    deny_first = (AclEntry(10, False, False, "tcp", "10.0.0.0/8", ports=(3306, 3306)), AclEntry(20, True, False))
    allow_first = (AclEntry(10, True, False), AclEntry(20, False, False, "tcp", "10.0.0.0/8", ports=(3306, 3306)))
    assert not acl_allows(deny_first, False, "tcp", (3306, 3306), "10.0.1.5")
    assert acl_allows(allow_first, False, "tcp", (3306, 3306), "10.0.1.5")
    # Out of order in the list, in order by number.
    assert not acl_allows(tuple(reversed(deny_first)), False, "tcp", (3306, 3306), "10.0.1.5")
    # An ephemeral range is passed only when every port of it is.
    split = (AclEntry(10, True, True, "tcp", ports=(1024, 30000)), AclEntry(20, True, True, "tcp", ports=(30001, 65535)))
    assert acl_allows(split, True, "tcp", (1024, 65535), "10.0.1.5")
    assert not acl_allows(split[:1], True, "tcp", (1024, 65535), "10.0.1.5")
    assert not acl_allows((), True, "tcp", (443, 443), "10.0.1.5")


def test_traffic_inside_one_subnet_crosses_no_acl():
    world = with_acl(tutorial(), "subnet-a", [])
    same_subnet_db = Interface("10.0.1.100", "subnet-a", ("sg-db",), "db")
    assert database(world, FUNCTION, same_subnet_db, 3306, False)


def test_a_function_must_reach_the_target_from_each_of_its_subnets():
    world = tutorial()
    world.subnets["subnet-c"] = Subnet("subnet-c", "vpc-1", "10.0.3.0/24", (), (LOCAL,))
    both = (*FUNCTION, Interface("10.0.3.5", "subnet-c", ("sg-fn",), "function"))
    assert not database(world, both, DB, 3306, False)


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda w: setattr(w, "endpoints", ()), "no interface endpoint"),
        (lambda w: setattr(w, "endpoints", (dataclasses.replace(w.endpoints[0], private_dns=False),)), "private DNS off"),
        (lambda w: setattr(w, "endpoints", (dataclasses.replace(w.endpoints[0], state="pending"),)), "state pending"),
        (lambda w: w.vpcs.__setitem__("vpc-1", Vpc("vpc-1", dns_support=True, dns_hostnames=False)), "DNS hostnames off"),
        (lambda w: w.vpcs.__setitem__("vpc-1", Vpc("vpc-1", dns_support=False)), "VPC DNS support off"),
        (lambda w: with_group(w, "sg-ep", ingress=(GroupRule("tcp", 443, 443, cidr="10.0.2.0/24"),)), "drops it"),
        (lambda w: with_group(w, "sg-fn", egress=(GroupRule("tcp", 3306, 3306, cidr="0.0.0.0/0"),)), "cannot send"),
        (lambda w: setattr(w, "endpoints", (dataclasses.replace(w.endpoints[0], service="rds"),)), "no interface endpoint"),
    ],
)
def test_a_vpc_function_reaches_an_api_only_through_an_answering_endpoint(change, fragment):
    world = tutorial()
    change(world)
    verdict = service(world, FUNCTION, "secretsmanager")
    assert not verdict
    assert fragment in verdict.reason


def test_a_nat_gateway_reaches_the_public_endpoint_and_private_dns_takes_precedence():
    world = tutorial()
    world.endpoints = ()
    world.subnets["subnet-pub"] = Subnet("subnet-pub", "vpc-1", "10.0.0.0/24", ALLOW_ALL, (LOCAL, Route("0.0.0.0/0", "igw-1")))
    world.subnets["subnet-a"] = dataclasses.replace(world.subnets["subnet-a"], routes=(LOCAL, Route("0.0.0.0/0", "nat-1")))
    world.nat_gateways["nat-1"] = "subnet-pub"
    assert service(world, FUNCTION, "secretsmanager")
    # A public subnet gives a function no internet: it has no public address.
    world.subnets["subnet-a"] = dataclasses.replace(world.subnets["subnet-a"], routes=(LOCAL, Route("0.0.0.0/0", "igw-1")))
    assert not service(world, FUNCTION, "secretsmanager")
    # With an endpoint whose private DNS answers, its groups decide, NAT or not.
    world.subnets["subnet-a"] = dataclasses.replace(world.subnets["subnet-a"], routes=(LOCAL, Route("0.0.0.0/0", "nat-1")))
    with_group(world, "sg-ep", ingress=())
    world.endpoints = tutorial().endpoints
    assert not service(world, FUNCTION, "secretsmanager")


def test_a_function_outside_a_vpc_reaches_public_apis_and_only_public_databases():
    world = tutorial()
    world.subnets["subnet-b"] = dataclasses.replace(world.subnets["subnet-b"], routes=(LOCAL, Route("0.0.0.0/0", "igw-1")))
    assert service(world, (), "secretsmanager")
    assert not database(world, (), DB, 3306, False)
    assert not database(world, (), DB, 3306, True)  # the group admits only the function's group
    with_group(world, "sg-db", ingress=(GroupRule("tcp", 3306, 3306, cidr="0.0.0.0/0"),))
    assert database(world, (), DB, 3306, True)
    world.subnets["subnet-b"] = dataclasses.replace(world.subnets["subnet-b"], routes=(LOCAL,))
    assert not database(world, (), DB, 3306, True)


def test_another_vpc_is_reached_only_through_an_active_peering_with_routes_both_ways():
    world = tutorial()
    world.vpcs["vpc-2"] = Vpc("vpc-2")
    world.groups["sg-db2"] = Group("sg-db2", "vpc-2", (GroupRule("tcp", 3306, 3306, cidr="10.0.1.0/24"),), ())
    world.subnets["subnet-x"] = Subnet("subnet-x", "vpc-2", "10.1.1.0/24", ALLOW_ALL, (Route("10.1.0.0/16", "local"),))
    other = Interface("10.1.1.100", "subnet-x", ("sg-db2",), "db")
    assert not database(world, FUNCTION, other, 3306, False)
    world.peerings["pcx-1"] = Peering("pcx-1", frozenset({"vpc-1", "vpc-2"}))
    world.subnets["subnet-a"] = dataclasses.replace(world.subnets["subnet-a"], routes=(LOCAL, Route("10.1.0.0/16", "pcx-1")))
    assert not database(world, FUNCTION, other, 3306, False), "no route back"
    world.subnets["subnet-x"] = dataclasses.replace(world.subnets["subnet-x"], routes=(Route("10.1.0.0/16", "local"), Route("10.0.0.0/16", "pcx-1")))
    assert database(world, FUNCTION, other, 3306, False)
    world.peerings["pcx-1"] = Peering("pcx-1", frozenset({"vpc-1", "vpc-2"}), active=False)
    assert not database(world, FUNCTION, other, 3306, False)


def test_connection_reports_a_missing_subnet():
    verdict = connection(tutorial(), Interface("10.9.9.9", "subnet-gone", ()), DB, 3306)
    assert not verdict and "subnet-gone" in verdict.reason
