"""Reachability as AWS decides it: pure predicates over a plain model of a network.

AWS's troubleshooting guide for rotation names the most common failure: "the
rotation function cannot access either Secrets Manager or the target database"
(Secrets Manager user guide, "Troubleshoot rotation"). The emulator has no real
network, so this module decides, for one new connection, whether AWS would carry
it. The model is plain data (built from moto's EC2 and RDS state by
``network.py``); nothing here imports moto, so every rule is unit-tested
(``tests/test_reachability.py``).

What AWS documents, and how it is read here:

* Security groups are stateful and allow only: a rule admits a protocol (``-1`` is
  every protocol), a port range, and one source (an IPv4 or IPv6 CIDR, a referenced
  group, or a prefix list). A referenced group admits traffic from (or to) the
  network interfaces that carry it. The answer of an admitted connection is allowed
  whatever the rules say (VPC user guide, "Security group rules"; "Security group
  connection tracking").
* Network ACLs are stateless and ordered: "rules are evaluated in order, starting
  with the lowest numbered rule. As soon as a rule matches traffic, it's applied";
  the last rule ``*`` denies. The answer crosses them too, to the client's ephemeral
  port, so the ACLs must pass 1024-65535 ("Lambda functions use ports 1024-65535")
  both ways. Traffic inside one subnet crosses no ACL (VPC user guide, "Control
  subnet traffic with network access control lists"; "Ephemeral ports").
* Within a VPC the ``local`` route carries everything; between VPCs only a peering
  connection with routes in both VPCs' tables (VPC peering guide, "Update your
  route tables for a VPC peering connection").
* A function in a VPC has no public address, "even in a public subnet": it reaches
  the internet, and so the public service endpoints, only through a NAT gateway
  whose subnet routes to an internet gateway (Lambda developer guide, "Enable
  internet access for VPC-connected Lambda functions").
* It reaches a service through an interface endpoint when the endpoint's private
  DNS name answers for the service's default name: private DNS on, and the VPC's
  ``enableDnsSupport`` and ``enableDnsHostnames`` on (VPC user guide, "DNS
  attributes for your VPC"; PrivateLink guide, "Access an AWS service using an
  interface VPC endpoint"). The endpoint's interfaces carry its security groups
  (the VPC's default group when none is given). Any of its addresses may be chosen,
  so each must be reachable.
* A function outside a VPC reaches the public service endpoints, and a DB instance
  only when it is publicly accessible, its subnet routes to an internet gateway, and
  its groups and ACLs admit a public client (RDS user guide, "Working with a DB
  instance in a VPC": "Hiding a DB instance in a VPC from the internet").
* A function may run in any of its subnets, so a target is reachable only when it
  is from each of them.

Unreachable means the client is never answered (a security group or ACL drops the
packets silently); ``network.py`` holds such a connection open and silent.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

EPHEMERAL = (1024, 65535)
# A public address standing for "a client on the internet" (a function outside a
# VPC, whose public address AWS does not publish) and for "a public service
# endpoint" (Secrets Manager's default name resolves to public addresses).
PUBLIC_CLIENT = "3.5.140.2"
PUBLIC_SERVICE = "52.94.0.10"
HTTPS = 443
PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "all": "-1", "-1": "-1"}


def protocol_of(value) -> str:
    text = str(value if value is not None else "-1").lower()
    return PROTOCOL_NAMES.get(text, text)


@dataclass(frozen=True)
class GroupRule:
    """One security-group rule with one source (ingress) or destination (egress)."""

    protocol: str = "-1"
    from_port: int | None = None
    to_port: int | None = None
    cidr: str | None = None
    cidr_v6: str | None = None
    group: str | None = None
    prefix_list: str | None = None


@dataclass(frozen=True)
class Group:
    id: str
    vpc: str
    ingress: tuple[GroupRule, ...] = ()
    egress: tuple[GroupRule, ...] = ()


@dataclass(frozen=True)
class AclEntry:
    number: int
    allow: bool
    egress: bool
    protocol: str = "-1"
    cidr: str | None = "0.0.0.0/0"
    cidr_v6: str | None = None
    ports: tuple[int, int] | None = None  # None: every port (protocol -1)


@dataclass(frozen=True)
class Route:
    destination: str  # an IPv4 CIDR
    target: str  # "local", or the target's id: igw-..., nat-..., pcx-..., ...


@dataclass(frozen=True)
class Subnet:
    id: str
    vpc: str
    cidr: str
    acl: tuple[AclEntry, ...] = ()
    routes: tuple[Route, ...] = ()


@dataclass(frozen=True)
class Vpc:
    id: str
    dns_support: bool = True
    dns_hostnames: bool = True


@dataclass(frozen=True)
class Peering:
    id: str
    vpcs: frozenset
    active: bool = True


@dataclass(frozen=True)
class Interface:
    """One end of a connection: an address in a subnet, with security groups."""

    ip: str
    subnet: str
    groups: tuple[str, ...]
    name: str = ""


@dataclass(frozen=True)
class Endpoint:
    id: str
    vpc: str
    service: str  # the service's short name: secretsmanager, rds, sts, logs, ...
    state: str
    private_dns: bool
    interfaces: tuple[Interface, ...]


@dataclass
class World:
    vpcs: dict[str, Vpc] = field(default_factory=dict)
    subnets: dict[str, Subnet] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    prefix_lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    peerings: dict[str, Peering] = field(default_factory=dict)
    nat_gateways: dict[str, str] = field(default_factory=dict)  # nat id -> its subnet id
    endpoints: tuple[Endpoint, ...] = ()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str
    # The interface endpoint that carries a reached API call (its id and VPC), for
    # the endpoint's policy (``endpoint_policy.endpoint_policy_refusal``); None otherwise.
    endpoint: str | None = None
    vpc: str | None = None

    def __bool__(self) -> bool:
        return self.ok


REACHED = Verdict(True, "reachable")


def _in(cidr: str | None, ip: str) -> bool:
    if not cidr:
        return False
    try:
        network = ipaddress.ip_network(cidr, strict=False)
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return address.version == network.version and address in network


def _ports_cover(rule_from: int | None, rule_to: int | None, port: int) -> bool:
    if rule_from is None or rule_to is None:
        return True
    if rule_from == -1 and rule_to == -1:
        return True
    return rule_from <= port <= rule_to


def group_rule_matches(world: World, rule: GroupRule, protocol: str, port: int, peer: Interface) -> bool:
    """Whether one rule admits ``protocol``/``port`` from (or to) ``peer``."""
    rule_protocol = protocol_of(rule.protocol)
    if rule_protocol != "-1":
        if rule_protocol != protocol:
            return False
        if not _ports_cover(rule.from_port, rule.to_port, port):
            return False
    if rule.cidr and _in(rule.cidr, peer.ip):
        return True
    if rule.cidr_v6 and _in(rule.cidr_v6, peer.ip):
        return True
    if rule.group and rule.group in peer.groups:
        return True
    if rule.prefix_list and any(_in(cidr, peer.ip) for cidr in world.prefix_lists.get(rule.prefix_list, ())):
        return True
    return False


def groups_admit(world: World, groups: tuple[str, ...], egress: bool, protocol: str, port: int, peer: Interface) -> str | None:
    """None when one rule of one of ``groups`` admits the traffic, else why not."""
    for group_id in groups:
        group = world.groups.get(group_id)
        if group is None:
            continue
        rules = group.egress if egress else group.ingress
        if any(group_rule_matches(world, rule, protocol, port, peer) for rule in rules):
            return None
    direction = "to" if egress else "from"
    who = peer.name or peer.ip
    listed = ", ".join(groups) or "(none)"
    verb = "lets out" if egress else "admits"
    return f"no rule of security group(s) {listed} {verb} {protocol.upper()} {port} {direction} {who} ({peer.ip}, groups {', '.join(peer.groups) or 'none'})"


def _entry_matches(entry: AclEntry, protocol: str, ip: str) -> bool:
    entry_protocol = protocol_of(entry.protocol)
    if entry_protocol != "-1" and entry_protocol != protocol:
        return False
    return _in(entry.cidr, ip) or _in(entry.cidr_v6, ip)


def acl_allows(entries: tuple[AclEntry, ...], egress: bool, protocol: str, ports: tuple[int, int], ip: str) -> bool:
    """Whether an ACL passes every port of ``ports`` (inclusive) to or from ``ip``.

    Rules in number order, the first match decides; what no rule matches is denied.
    """
    undecided = [ports]
    for entry in sorted((e for e in entries if e.egress == egress), key=lambda e: int(e.number)):
        if not undecided:
            break
        if not _entry_matches(entry, protocol, ip):
            continue
        low, high = entry.ports if entry.ports is not None and protocol_of(entry.protocol) != "-1" else (0, 65535)
        remaining = []
        for start, end in undecided:
            lo, hi = max(start, low), min(end, high)
            if lo > hi:
                remaining.append((start, end))
                continue
            if not entry.allow:
                return False
            if start < lo:
                remaining.append((start, lo - 1))
            if hi < end:
                remaining.append((hi + 1, end))
        undecided = remaining
    return not undecided


def _route_for(subnet: Subnet, ip: str) -> Route | None:
    """The longest-prefix route of ``subnet``'s table for ``ip``."""
    best = None
    for route in subnet.routes:
        if _in(route.destination, ip):
            length = ipaddress.ip_network(route.destination, strict=False).prefixlen
            if best is None or length > best[0]:
                best = (length, route)
    return best[1] if best else None


def _routed(world: World, source: Subnet, target: Subnet, ip: str) -> bool:
    """Whether ``source``'s table carries traffic for ``ip`` in ``target``'s VPC."""
    if source.vpc == target.vpc:
        return True
    route = _route_for(source, ip)
    if route is None or not route.target.startswith("pcx-"):
        return False
    peering = world.peerings.get(route.target)
    return bool(peering and peering.active and {source.vpc, target.vpc} <= set(peering.vpcs))


def connection(world: World, client: Interface, server: Interface, port: int, protocol: str = "tcp") -> Verdict:
    """Whether a new connection from ``client`` to ``server``:``port`` is carried and answered."""
    source = world.subnets.get(client.subnet)
    target = world.subnets.get(server.subnet)
    if source is None or target is None:
        return Verdict(False, f"subnet {client.subnet if source is None else server.subnet} does not exist")
    if not _routed(world, source, target, server.ip):
        return Verdict(False, f"no route from subnet {source.id} ({source.vpc}) to {server.ip} in {target.vpc}: another VPC, and no active peering with routes")
    if not _routed(world, target, source, client.ip):
        return Verdict(False, f"no route back from subnet {target.id} ({target.vpc}) to {client.ip} in {source.vpc}")
    peered = source.vpc == target.vpc or _routed(world, source, target, server.ip)
    server_view = server if peered else Interface(server.ip, server.subnet, ())
    client_view = client if peered else Interface(client.ip, client.subnet, ())
    why = groups_admit(world, client.groups, True, protocol, port, server_view)
    if why:
        return Verdict(False, f"{client.name or client.ip} cannot send: {why}")
    why = groups_admit(world, server.groups, False, protocol, port, client_view)
    if why:
        return Verdict(False, f"{server.name or server.ip} drops it: {why}")
    if source.id != target.id:
        legs = (
            (source, True, (port, port), server.ip, "the request out of"),
            (target, False, (port, port), client.ip, "the request into"),
            (target, True, EPHEMERAL, client.ip, "the answer (ports 1024-65535) out of"),
            (source, False, EPHEMERAL, server.ip, "the answer (ports 1024-65535) into"),
        )
        for subnet, egress, ports, peer, what in legs:
            if not acl_allows(subnet.acl, egress, protocol, ports, peer):
                return Verdict(False, f"the network ACL of subnet {subnet.id} denies {what} it")
    return REACHED


def internet(world: World, client: Interface, port: int, address: str = PUBLIC_SERVICE) -> Verdict:
    """Whether a VPC interface (without a public address) reaches ``address`` on the internet."""
    subnet = world.subnets.get(client.subnet)
    if subnet is None:
        return Verdict(False, f"subnet {client.subnet} does not exist")
    route = _route_for(subnet, address)
    if route is None or not route.target.startswith("nat-"):
        via = route.target if route else "no route"
        return Verdict(False, f"subnet {subnet.id} has no route to the internet through a NAT gateway (0.0.0.0/0 -> {via}); a function in a VPC has no public address")
    nat_subnet = world.subnets.get(world.nat_gateways.get(route.target, ""))
    if nat_subnet is None:
        return Verdict(False, f"NAT gateway {route.target} is not available")
    upstream = _route_for(nat_subnet, address)
    if upstream is None or not upstream.target.startswith("igw-"):
        return Verdict(False, f"the subnet {nat_subnet.id} of NAT gateway {route.target} has no route to an internet gateway")
    public = Interface(address, "", (), "the public endpoint")
    why = groups_admit(world, client.groups, True, "tcp", port, public)
    if why:
        return Verdict(False, f"{client.name or client.ip} cannot send: {why}")
    legs = [
        (subnet, True, (port, port), address, "the request out of"),
        (subnet, False, EPHEMERAL, address, "the answer (ports 1024-65535) into"),
    ]
    if nat_subnet.id != subnet.id:
        legs += [
            (nat_subnet, False, (port, port), client.ip, "the request into"),
            (nat_subnet, True, (port, port), address, "the request out of"),
            (nat_subnet, False, EPHEMERAL, address, "the answer (ports 1024-65535) into"),
            (nat_subnet, True, EPHEMERAL, client.ip, "the answer (ports 1024-65535) out of"),
        ]
    for acl_subnet, egress, ports, peer, what in legs:
        if not acl_allows(acl_subnet.acl, egress, "tcp", ports, peer):
            return Verdict(False, f"the network ACL of subnet {acl_subnet.id} denies {what} it")
    return REACHED


def private_dns_answers(world: World, endpoint: Endpoint) -> bool:
    vpc = world.vpcs.get(endpoint.vpc)
    return bool(endpoint.private_dns and vpc and vpc.dns_support and vpc.dns_hostnames)


def service(world: World, function: tuple[Interface, ...], name: str) -> Verdict:
    """Whether a function reaches the API of service ``name`` (its endpoint's short name).

    ``function`` holds its interfaces, one per subnet; empty: not in a VPC.
    """
    if not function:
        return REACHED  # the public endpoint, over Lambda's own internet access
    vpc = world.subnets[function[0].subnet].vpc if function[0].subnet in world.subnets else ""
    answering = [e for e in world.endpoints if e.vpc == vpc and e.service == name and e.state == "available" and private_dns_answers(world, e)]
    if not answering:
        for interface in function:
            verdict = internet(world, interface, HTTPS)
            if not verdict:
                present = [e for e in world.endpoints if e.vpc == vpc and e.service == name]
                hint = ""
                if present:
                    e = present[0]
                    vpc_state = world.vpcs.get(vpc)
                    hint = (
                        f"; endpoint {e.id} does not answer for the service's name (state {e.state}, private DNS "
                        f"{'on' if e.private_dns else 'off'}, VPC DNS support {'on' if vpc_state and vpc_state.dns_support else 'off'}, "
                        f"DNS hostnames {'on' if vpc_state and vpc_state.dns_hostnames else 'off'})"
                    )
                else:
                    hint = f"; VPC {vpc} has no interface endpoint for {name}"
                return Verdict(False, f"{name}: {verdict.reason}{hint}")
        return REACHED
    endpoint = answering[0]
    if not endpoint.interfaces:
        return Verdict(False, f"{name}: endpoint {endpoint.id} has no network interface (no subnet)")
    for interface in function:
        for target in endpoint.interfaces:
            verdict = connection(world, interface, target, HTTPS)
            if not verdict:
                return Verdict(False, f"{name} through endpoint {endpoint.id}: {verdict.reason}")
    return Verdict(True, "reachable", endpoint.id, endpoint.vpc)


def database(world: World, function: tuple[Interface, ...], server: Interface, port: int, publicly_accessible: bool) -> Verdict:
    """Whether a function reaches a DB instance's ``server`` interface on ``port``."""
    if function:
        for interface in function:
            verdict = connection(world, interface, server, port)
            if not verdict:
                return verdict
        return REACHED
    if not publicly_accessible:
        return Verdict(False, f"the function is not in a VPC and {server.name or 'the DB instance'} is not publicly accessible")
    subnet = world.subnets.get(server.subnet)
    if subnet is None:
        return Verdict(False, f"subnet {server.subnet} does not exist")
    route = _route_for(subnet, PUBLIC_CLIENT)
    if route is None or not route.target.startswith("igw-"):
        return Verdict(False, f"{server.name or 'the DB instance'} is publicly accessible but its subnet {subnet.id} has no route to an internet gateway")
    client = Interface(PUBLIC_CLIENT, "", (), "a function outside any VPC (a public address)")
    why = groups_admit(world, server.groups, False, "tcp", port, client)
    if why:
        return Verdict(False, f"{server.name or server.ip} drops it: {why}")
    if not acl_allows(subnet.acl, False, "tcp", (port, port), PUBLIC_CLIENT) or not acl_allows(subnet.acl, True, "tcp", EPHEMERAL, PUBLIC_CLIENT):
        return Verdict(False, f"the network ACL of subnet {subnet.id} denies a public client")
    return REACHED
