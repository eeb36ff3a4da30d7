"""The emulator's network: who may connect to what, decided at each new connection.

Everything here runs on one machine's loopback, so without this module every
function would reach every database and every API whatever its VPC, security
groups, network ACLs or endpoints say, where AWS drops the packets and the client
times out (Secrets Manager user guide, "Troubleshoot rotation": "The most common
reason for a timeout during rotation is that the rotation function cannot access
either Secrets Manager or the target database").

How the decision is made:

* **Who connects.** A new TCP connection to an API (moto's port) or to a database
  address is traced to its process through ``/proc/net/tcp`` (the client's socket
  inode) and ``/proc/<pid>/fd``; the emulator started every function's process, so
  it knows which function a process is. Connections from anything else (the tests,
  the operator's commands, the bastion's SSH tunnel) are the operator's and pass.
* **What AWS would do.** The live EC2 and RDS state of the function's account and
  region is read into ``reachability.World`` and judged by the pure rules of
  ``reachability.py``, at every new connection: a rule fixed now applies to the next
  connection, as on AWS.
* **Which endpoint.** A call a function's interface endpoint carries is reported with
  that endpoint (``reachability.Verdict.endpoint``), whose policy ``strict.py`` then
  applies (``endpoint_policy.py``, behaviour ``endpoint-policy``), as AWS applies it
  to calls through it.
* **Unreachable is silence.** A dropped connection is held open and never answered
  until the client gives up (its own timeout, or the function's), as packets that a
  security group drops are never answered. Known difference: the TCP handshake
  itself completes here (the emulator cannot refuse a SYN to one process and accept
  another's), so a client's *connect* timeout does not fire; its read or operation
  timeout, or the function's timeout, does.
* **Each DB instance its own address.** As RDS gives every instance an endpoint of
  its own, each emulated instance (and read replica) listens on an address of the
  loopback range (127.0.0.2, 127.0.0.3, ...) on port 3306, with a certificate for
  that address and a name; the address is taken by binding it, so emulators running
  side by side never share one.

Switch: ``EMULATOR_OFF=network`` (or ``EMULATOR_NETWORK=off``, or ``EMULATOR_STRICT=off``) lets every connection
through, which is how a fidelity test shows the behaviour is not decorative.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time

import reachability as r
from emulator_log import log
from patching import replace

LOOPBACK_PORT = 3306


# --------------------------------------------------------------------------- the world from moto's state


def _true(value) -> bool:
    return value is True or str(value).lower() == "true"


def _host(cidr: str, offset: int) -> str:
    network = ipaddress.ip_network(cidr, strict=False)
    return str(network.network_address + min(offset, max(network.num_addresses - 2, 1)))


def _address_in(ip: str | None, cidr: str, offset: int) -> str:
    try:
        if ip and ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False):
            return ip
    except ValueError:
        pass
    return _host(cidr, offset)


def _group_rules(rules) -> tuple[r.GroupRule, ...]:
    out = []
    for rule in rules:
        source = getattr(rule, "source_group", None) or {}
        ip_range = getattr(rule, "ip_range", None) or {}
        out.append(
            r.GroupRule(
                protocol=r.protocol_of(rule.ip_protocol),
                from_port=None if rule.from_port is None else int(rule.from_port),
                to_port=None if rule.to_port is None else int(rule.to_port),
                cidr=ip_range.get("CidrIp"),
                cidr_v6=ip_range.get("CidrIpv6"),
                group=source.get("GroupId"),
                prefix_list=getattr(rule, "prefix_list_id", None),
            )
        )
    return tuple(out)


def _acl_entries(acl) -> tuple[r.AclEntry, ...]:
    entries = []
    for entry in acl.network_acl_entries:
        ports = None
        if entry.port_range_from not in (None, "") and entry.port_range_to not in (None, ""):
            ports = (int(entry.port_range_from), int(entry.port_range_to))
        entries.append(
            r.AclEntry(
                number=int(entry.rule_number),
                allow=str(entry.rule_action).lower() == "allow",
                egress=_true(entry.egress),
                protocol=r.protocol_of(entry.protocol),
                cidr=entry.cidr_block or None,
                cidr_v6=getattr(entry, "ipv6_cidr_block", None) or None,
                ports=ports,
            )
        )
    return tuple(entries)


def _routes(table) -> tuple[r.Route, ...]:
    routes = []
    for route in table.routes if table is not None else ():
        if not route.destination_cidr_block:
            continue
        if route.local:
            target = "local"
        elif route.nat_gateway is not None:
            target = route.nat_gateway.id
        elif route.vpc_pcx is not None:
            target = route.vpc_pcx.id
        elif route.gateway is not None:
            target = route.gateway.id
        else:
            target = "other"
        routes.append(r.Route(route.destination_cidr_block, target))
    return tuple(routes)


def world_of(account: str, region: str) -> r.World:
    """The network of one account and region, as plain data.

    moto's dictionaries change under concurrent requests; a read that meets one
    changing is read again (a few times) rather than turned into a drop.
    """
    for attempt in range(5):
        try:
            return _world_of(account, region)
        except RuntimeError:  # "dictionary changed size during iteration"
            if attempt == 4:
                raise
            time.sleep(0.01)
    raise AssertionError("unreachable")


def _world_of(account: str, region: str) -> r.World:
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[account][region]
    world = r.World()
    for vpc in list(ec2.vpcs.values()):
        world.vpcs[vpc.id] = r.Vpc(vpc.id, _true(vpc.enable_dns_support), _true(vpc.enable_dns_hostnames))
    tables = list(ec2.route_tables.values())
    explicit = {subnet_id: table for table in tables for subnet_id in list(table._associations.values())}
    main = {table.vpc_id: table for table in tables if table.main_association_id is not None}
    acls = list(ec2.network_acls.values())
    acl_of = {assoc.subnet_id: acl for acl in acls for assoc in list(acl._associations.values())}
    default_acl = {acl.vpc_id: acl for acl in acls if acl.default}
    for zone in list(ec2.subnets.values()):
        for subnet in list(zone.values()):
            acl = acl_of.get(subnet.id) or default_acl.get(subnet.vpc_id)
            table = explicit.get(subnet.id) or main.get(subnet.vpc_id)
            world.subnets[subnet.id] = r.Subnet(subnet.id, subnet.vpc_id, subnet.cidr_block, _acl_entries(acl) if acl else (), _routes(table))
    for groups in list(ec2.groups.values()):
        for group in list(groups.values()):
            world.groups[group.id] = r.Group(group.id, group.vpc_id or "", _group_rules(group.ingress_rules), _group_rules(group.egress_rules))
    for prefix_list in list(ec2.managed_prefix_lists.values()):
        versions = dict(prefix_list.entries)
        latest = versions.get(max(versions)) if versions else []
        world.prefix_lists[prefix_list.id] = tuple(e.get("Cidr") for e in latest or [] if e.get("Cidr"))
    for pcx in list(ec2.vpc_pcxs.values()):
        world.peerings[pcx.id] = r.Peering(pcx.id, frozenset({pcx.vpc.id, pcx.peer_vpc.id}), pcx._status.code == "active")
    for nat in list(ec2.nat_gateways.values()):
        if nat.state == "available":
            world.nat_gateways[nat.id] = nat.subnet_id
    endpoints = []
    for endpoint in list(ec2.vpc_end_points.values()):
        if str(endpoint.vpc_endpoint_type or "").lower() != "interface":
            continue
        groups = tuple(endpoint.security_group_ids or ()) or _default_group(ec2, endpoint.vpc_id)
        interfaces = []
        for index, subnet_id in enumerate(endpoint.subnet_ids or []):
            subnet = world.subnets.get(subnet_id)
            if subnet is None:
                continue
            eni_id = (endpoint.network_interface_ids or [None] * (index + 1))[index] if index < len(endpoint.network_interface_ids or []) else None
            eni = ec2.enis.get(eni_id) if eni_id else None
            ip = _address_in(getattr(eni, "private_ip_address", None), subnet.cidr, 20)
            interfaces.append(r.Interface(ip, subnet_id, groups, f"endpoint {endpoint.id}"))
        endpoints.append(
            r.Endpoint(endpoint.id, endpoint.vpc_id, endpoint.service_name.rsplit(".", 1)[-1], endpoint.state, _true(endpoint.private_dns_enabled), tuple(interfaces))
        )
    world.endpoints = tuple(endpoints)
    return world


def _default_group(ec2, vpc_id: str) -> tuple[str, ...]:
    group = ec2.get_default_security_group(vpc_id)
    return (group.id,) if group is not None else ()


class FunctionInterfaces:
    """Which network interfaces each function in a VPC holds: function ARN -> ENI ids.

    Lambda's side (``lambda_functions.LambdaNetwork``) creates and releases the
    interfaces; the network reads them here to place the function. Keeping the record
    here lets the network depend on nothing above it (``lambda_functions.py`` and
    ``strict.py`` import this module, never the other way round).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_function: dict[str, list[str]] = {}

    def add(self, function_arn: str, enis: list[str]) -> None:
        with self._lock:
            self._by_function.setdefault(function_arn, []).extend(enis)

    def of(self, function_arn: str) -> list[str]:
        with self._lock:
            return list(self._by_function.get(function_arn, []))

    def take(self, function_arn: str) -> list[str]:
        """The function leaves its interfaces (a VPC change, a deletion): they are no longer its."""
        with self._lock:
            return self._by_function.pop(function_arn, [])

    def give_back(self, function_arn: str, enis: list[str]) -> None:
        """Undo a ``take`` whose change was refused."""
        with self._lock:
            self._by_function[function_arn] = enis + self._by_function.get(function_arn, [])


FUNCTION_INTERFACES = FunctionInterfaces()


def function_interfaces(fn, world: r.World) -> tuple[r.Interface, ...]:
    """The function's network interfaces, one per subnet; empty when it is not in a VPC."""
    from moto.ec2.models import ec2_backends

    config = getattr(fn, "_vpc_config", None) or {}
    subnets = list(config.get("SubnetIds") or [])
    groups = tuple(config.get("SecurityGroupIds") or [])
    if not subnets or not groups:
        return ()
    ec2 = ec2_backends[fn.account_id][fn.region]
    ip_of = {}
    for eni_id in FUNCTION_INTERFACES.of(fn.function_arn):
        eni = ec2.enis.get(eni_id)
        if eni is not None and getattr(eni, "status", "in-use") == "in-use":
            ip_of.setdefault(eni.subnet.id, eni.private_ip_address)
    interfaces = []
    for subnet_id in subnets:
        subnet = world.subnets.get(subnet_id)
        cidr = subnet.cidr if subnet else "0.0.0.0/32"
        interfaces.append(r.Interface(_address_in(ip_of.get(subnet_id), cidr, 5), subnet_id, groups, f"function {fn.function_name}"))
    return tuple(interfaces)


def instance_interface(instance, world: r.World) -> tuple[r.Interface, bool]:
    """A DB instance's interface in its subnet, and whether it is publicly accessible.

    RDS places an instance in a subnet of its DB subnet group in its Availability
    Zone; without a subnet group it is in the default VPC. Whether it is public is
    ``PubliclyAccessible`` as RDS reports it (its default: ``default_publicly_accessible``).
    """
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[instance.account_id][instance.region]
    group = getattr(instance, "db_subnet_group", None)
    subnets = list(getattr(group, "_subnets", None) or [])
    if not subnets and ec2.default_vpc is not None:
        subnets = [s for s in world_subnets_of(ec2, ec2.default_vpc.id)]
    zone = getattr(instance, "availability_zone", None)
    chosen = next((s for s in subnets if s.availability_zone == zone), subnets[0] if subnets else None)
    accessible = instance.publicly_accessible
    if accessible is None:
        accessible = default_publicly_accessible(instance)
    groups = tuple(instance.vpc_security_group_ids or ())
    if chosen is None:
        return r.Interface("0.0.0.0", "", groups, f"DB instance {instance.db_instance_identifier}"), bool(accessible)
    offset = 100 + sum(map(ord, instance.db_instance_identifier)) % 100
    return r.Interface(_host(chosen.cidr_block, offset), chosen.id, groups, f"DB instance {instance.db_instance_identifier}"), bool(accessible)


def default_publicly_accessible(instance) -> bool:
    """``PubliclyAccessible`` when the request did not say (RDS API reference,
    CreateDBInstance): without a DB subnet group, public when the default VPC has an
    internet gateway attached; with one, public when its VPC has an internet gateway
    attached ("If DBSubnetGroupName is specified, and PubliclyAccessible isn't
    specified ... If the subnets are part of a VPC that has an internet gateway
    attached to it, the DB instance is public")."""
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[instance.account_id][instance.region]
    group = getattr(instance, "db_subnet_group", None)
    vpc_id = getattr(group, "vpc_id", None) or (ec2.default_vpc.id if ec2.default_vpc is not None else None)
    return any(getattr(getattr(igw, "vpc", None), "id", None) == vpc_id for igw in list(ec2.internet_gateways.values()))


def world_subnets_of(ec2, vpc_id: str) -> list:
    return [s for zone in list(ec2.subnets.values()) for s in list(zone.values()) if s.vpc_id == vpc_id]


# --------------------------------------------------------------------------- who connects


class Callers:
    """The function behind each process the emulator started for it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_pid: dict[int, object] = {}

    def add(self, pid: int, fn) -> None:
        with self.lock:
            self.by_pid[pid] = fn

    def remove(self, pid: int) -> None:
        with self.lock:
            self.by_pid.pop(pid, None)

    def function_of(self, peer_ip: str, peer_port: int, local_ip: str, local_port: int):
        """The function whose process owns the client end (``peer``) of the connection
        that reached ``local``, if any. Processes that have exited are forgotten."""
        with self.lock:
            for pid in [pid for pid in self.by_pid if not os.path.exists(f"/proc/{pid}")]:
                del self.by_pid[pid]
            candidates = dict(self.by_pid)
        if not candidates:
            return None
        inode = _socket_inode(peer_ip, peer_port, local_ip, local_port)
        if inode is None:
            return None
        target = f"socket:[{inode}]"
        for pid, fn in candidates.items():
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    try:
                        if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                            return fn
                    except OSError:
                        continue
            except OSError:
                continue
        return None


def _hex_v4(ip: str, port: int) -> str | None:
    try:
        return f"{int.from_bytes(socket.inet_aton(ip), 'little'):08X}:{port:04X}"
    except OSError:
        return None


def _hex_v6_mapped(ip: str, port: int) -> str | None:
    """An IPv4 address as a dual-stack socket shows it in /proc/net/tcp6 (::ffff:a.b.c.d)."""
    try:
        packed = bytes(10) + b"\xff\xff" + socket.inet_aton(ip)
    except OSError:
        return None
    words = [int.from_bytes(packed[i : i + 4], "little") for i in range(0, 16, 4)]
    return "".join(f"{w:08X}" for w in words) + f":{port:04X}"


def _socket_inode(ip: str, port: int, remote_ip: str, remote_port: int) -> str | None:
    """The inode of the client socket ``ip:port`` connected to ``remote_ip:remote_port``
    (proc(5), /proc/net/tcp and tcp6: local address, remote address, ..., inode; a
    socket in TIME_WAIT has inode 0 and is no one's)."""
    for path, encode in (("/proc/net/tcp", _hex_v4), ("/proc/net/tcp6", _hex_v6_mapped)):
        local, remote = encode(ip, port), encode(remote_ip, remote_port)
        if local is None or remote is None:
            continue
        try:
            with open(path) as handle:
                next(handle, None)
                for line in handle:
                    fields = line.split()
                    if len(fields) > 9 and fields[1] == local and fields[2] == remote and fields[9] != "0":
                        return fields[9]
        except OSError:
            continue
    return None


CALLERS = Callers()
DROPS: list[dict] = []  # every dropped connection, for ``GET /_emulator/network``
_DROPS_LOCK = threading.Lock()


def dropped(fn, target: str, reason: str) -> None:
    """Records and logs a connection the network did not carry."""
    log(f"function {fn.function_name} -> {target} dropped: {reason}")
    with _DROPS_LOCK:
        DROPS.append({"function": fn.function_name, "function_arn": fn.function_arn, "target": target, "reason": reason, "time": time.time()})
        del DROPS[:-1000]


def drops() -> list[dict]:
    with _DROPS_LOCK:
        return [dict(d) for d in DROPS]
ENABLED = os.environ.get("EMULATOR_NETWORK", "on").lower() not in ("off", "0", "false", "no")


def enabled() -> bool:
    import behaviours

    return ENABLED and behaviours.on("network")


# --------------------------------------------------------------------------- decisions


def api_verdict(fn, service_name: str) -> r.Verdict:
    world = world_of(fn.account_id, fn.region)
    return r.service(world, function_interfaces(fn, world), service_name)


def database_verdict(fn, instance) -> r.Verdict:
    world = world_of(instance.account_id, instance.region)
    server, public = instance_interface(instance, world)
    port = int(getattr(instance, "port", None) or LOOPBACK_PORT)
    if fn.account_id != instance.account_id or fn.region != instance.region:
        if function_interfaces(fn, world_of(fn.account_id, fn.region)):
            return r.Verdict(False, f"function {fn.function_name} is in a VPC of another account or region than DB instance {instance.db_instance_identifier}")
        return r.database(world, (), server, port, public)
    return r.database(world, function_interfaces(fn, world), server, port, public)


def hold(client: socket.socket | None, seconds: float) -> None:
    """Keeps a connection open and silent until the client gives up (or ``seconds`` pass)."""
    deadline = time.time() + seconds
    if client is None:
        time.sleep(seconds)
        return
    client.settimeout(1.0)
    while time.time() < deadline:
        try:
            if not client.recv(65536):
                break
        except socket.timeout:
            continue
        except OSError:
            break
    try:
        client.close()
    except OSError:
        pass


# --------------------------------------------------------------------------- each DB instance its address


class Gate:
    """A DB instance's endpoint: its own loopback address on port 3306.

    Each new connection is judged (``database_verdict``) and then either carried to
    the MariaDB server behind it or held silent.
    """

    def __init__(self, name: str, instance_ref, upstream_port, port: int = LOOPBACK_PORT) -> None:
        self.name = name
        self.instance_ref = instance_ref  # () -> the moto DBInstance, for the live decision
        self.upstream_port = upstream_port  # () -> the port of the MariaDB server
        self.port = port
        self.listener, self.address = _bind_loopback(port)
        self.open = True
        threading.Thread(target=self._accept, daemon=True, name=f"gate-{name}").start()

    def _accept(self) -> None:
        while self.open:
            try:
                client, peer = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client, peer), daemon=True).start()

    def _serve(self, client: socket.socket, peer) -> None:
        if enabled():
            local = client.getsockname()
            fn = CALLERS.function_of(peer[0], peer[1], local[0], local[1])
            if fn is not None:
                try:
                    verdict = database_verdict(fn, self.instance_ref())
                except Exception as error:  # a decision that cannot be made is a drop, said loudly
                    verdict = r.Verdict(False, f"the emulator could not decide ({error!r})")
                if not verdict:
                    dropped(fn, f"DB instance {self.name} ({self.address}:{self.port})", verdict.reason)
                    hold(client, float(getattr(fn, "timeout", 3) or 3) + 5)
                    return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port()), timeout=10)
            upstream.settimeout(None)
        except OSError:
            client.close()  # the server is down (a stopped instance): nothing listens
            return
        for reader, writer in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pump, args=(reader, writer), daemon=True).start()

    def stop(self) -> None:
        self.open = False
        try:
            self.listener.close()
        except OSError:
            pass


def _pump(reader: socket.socket, writer: socket.socket) -> None:
    try:
        while data := reader.recv(65536):
            writer.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (reader, writer):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


_BIND_LOCK = threading.Lock()


def _bind_loopback(port: int) -> tuple[socket.socket, str]:
    """Binds the first free 127.0.0.N:``port`` (N from 2): the address is this emulator's
    while the socket is open, whatever other emulators on the machine hold."""
    with _BIND_LOCK:
        for n in range(2, 4096):
            address = str(ipaddress.ip_address("127.0.0.0") + n)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind((address, port))
            except OSError:
                sock.close()
                if n == 2 and _wildcard_listener(port):
                    raise RuntimeError(
                        f"another program listens on port {port} of every address (0.0.0.0 or ::), so no DB "
                        f"instance can have an address of its own: bind it to 127.0.0.1 only (MySQL/MariaDB: "
                        f"bind-address=127.0.0.1; Docker: -p 127.0.0.1:{port}:{port})"
                    )
                continue
            sock.listen(128)
            return sock, address
    raise RuntimeError(f"no free address on 127.0.0.2-127.0.15.255 for port {port}: too many DB instances or emulators")


def _wildcard_listener(port: int) -> bool:
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as handle:
                next(handle, None)
                for line in handle:
                    fields = line.split()
                    address, _, hex_port = fields[1].rpartition(":")
                    if fields[3] == "0A" and int(hex_port, 16) == port and set(address) == {"0"}:
                        return True
        except (OSError, ValueError, IndexError):
            continue
    return False


# --------------------------------------------------------------------------- moto's default groups


def install() -> None:
    """A VPC's default security group admits all traffic from its own members.

    VPC user guide, "Default security groups for your VPCs": inbound, "Allows inbound
    traffic from network interfaces (and their associated instances) that are
    assigned to the same security group"; outbound, all. moto makes the group with
    no inbound rule, so two members of it could not talk, where on AWS they can.
    """
    from moto.ec2.models.security_groups import SecurityGroupBackend, SecurityGroupRule

    original = SecurityGroupBackend.create_security_group

    def create_security_group(self, name, description, vpc_id=None, tags=None, force=False, is_default=None):
        group = original(self, name, description, vpc_id=vpc_id, tags=tags, force=force, is_default=is_default)
        if is_default and name == "default" and not group.ingress_rules:
            rule = SecurityGroupRule(self, "-1", group.id, None, None, None, source_group={"GroupId": group.id, "UserId": self.account_id}, is_egress=False)
            group.add_ingress_rule(rule)
        return group

    replace(SecurityGroupBackend, "create_security_group", create_security_group)

    # A default VPC comes with an internet gateway and a main route table routing
    # 0.0.0.0/0 to it (VPC user guide, "Default VPCs": "Create an internet gateway and
    # connect it to your default VPC"; "Add a route to the main route table that points
    # all traffic (0.0.0.0/0) to the internet gateway"). moto makes neither, so a
    # publicly accessible instance there would be unreachable where AWS reaches it.
    from moto.ec2.models.vpcs import VPCBackend

    original_default_vpc = VPCBackend.create_default_vpc

    def create_default_vpc(self):
        vpc = original_default_vpc(self)
        gateway = self.create_internet_gateway()
        self.attach_internet_gateway(gateway.id, vpc.id)
        for table in list(self.route_tables.values()):
            if table.vpc_id == vpc.id and table.main_association_id is not None:
                self.create_route(table.id, "0.0.0.0/0", gateway_id=gateway.id)
        return vpc

    replace(VPCBackend, "create_default_vpc", create_default_vpc)
