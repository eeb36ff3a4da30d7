"""RDS instances backed by MariaDB servers.

moto's DB instances have made-up endpoints with no database behind them. Here each
MySQL or MariaDB instance is its own MariaDB server (``mariadb_servers.py``), reached
at its own loopback address through the network's gate (``network.Gate``), with a
certificate for its endpoint's name; a managed master password creates that admin
user with the privileges RDS gives (``rds_master_privileges``), and ModifyDBInstance's
new master password, or one RDS now manages, is set on that server
(``set_master_password``) once the request passes the checks RDS makes
(``modification_refusal``: any change only while the instance is
available). A read replica is an
endpoint of its own serving its source's server; stopping and starting an instance
stops and starts its server; deleting it stops the server.

Nothing here runs at import (``original_instance_init`` only keeps moto's
``DBInstance.__init__``); the launcher calls ``install`` before the strict
behaviours, which wrap what it installs (``rds_instances.install_rds_patches``, the
instance states, and ``rds_managed_replica`` come later).
"""

from __future__ import annotations

import json
import secrets
import uuid

import behaviours
import launch_state
import network
from emulator_log import log
from mariadb_servers import MariaDbServer, rds_master_privileges
from moto.rds.models import DBInstance, MasterUserSecret
from patching import replace


original_instance_init = DBInstance.__init__


def patched_instance_init(self, backend, **kwargs):
    original_instance_init(self, backend, **kwargs)
    if getattr(self, "db_cluster_identifier", None) or kwargs.get("source_db_instance_identifier"):
        return  # cluster members share their cluster's data in moto; replicas: create_db_instance_read_replica
    engine = (self.engine or "").lower()
    if "mysql" not in engine and "mariadb" not in engine:
        return
    if self.publicly_accessible is None and behaviours.on("network"):
        self.publicly_accessible = network.default_publicly_accessible(self)  # as RDS reports it
    server = MariaDbServer(f"rds-{self.db_instance_identifier}-{uuid.uuid4().hex[:6]}")
    instance = self
    port = int(self.port or network.LOOPBACK_PORT)  # the requested Port, else MySQL's
    gate = network.Gate(self.db_instance_identifier, lambda: instance, lambda: server.port, port)
    try:
        server.certify(endpoint_name(self), [gate.address])
        server.start()
        launch_state.SUPERVISOR.add_server(server)
        self.emulator_server = server
        self.emulator_gate = gate
        self.port = port
        if getattr(self, "manage_master_user_password", False):
            password = json.loads(self.master_user_secret.secret.secret_string)["password"]
            self.master_user_secret._status = "active"
        else:
            password = kwargs.get("master_user_password") or ""  # moto hides the attribute
        server.create_admin(self.master_username or "admin", password, rds_master_privileges(engine))
    except Exception:
        gate.stop()
        raise


def endpoint_name(instance) -> str:
    """The instance's DNS name, as RDS forms it (``<id>.<account hash>.<region>.rds.amazonaws.com``);
    here only in its certificate: the endpoint's address is the instance's loopback address."""
    return f"{instance.db_instance_identifier}.emulator.{instance.region}.rds.amazonaws.com"


def set_master_password(instance, db_kwargs: dict, was_managed: bool) -> None:
    """ModifyDBInstance's new master password on the instance's own server (a
    replica has none: it serves its source's). RDS API reference, ModifyDBInstance:
    ``MasterUserPassword`` is "the new password for the master user";
    ``ManageMasterUserPassword`` "If the DB instance doesn't manage the master user
    password with Amazon Web Services Secrets Manager, you can turn on this
    management. In this case, you can't specify MasterUserPassword", and RDS then
    generates the password and keeps it in the secret it creates (RDS user guide,
    "Password management with Amazon RDS and AWS Secrets Manager", which lists
    "Modify the DB instance" among the ways to turn it on)."""
    server = getattr(instance, "emulator_server", None)
    if server is None or getattr(instance, "emulator_replica_of", None) is not None:
        return
    user = instance.master_username or "admin"
    if db_kwargs.get("manage_master_user_password") and not was_managed:
        managed = instance.master_user_secret
        server.set_password(user, json.loads(managed.secret.secret_string)["password"])
        managed._status = "active"
    elif db_kwargs.get("master_user_password") and not getattr(instance, "manage_master_user_password", False):
        server.set_password(user, db_kwargs["master_user_password"])


# The states in which RDS accepts a ModifyDBInstance. AWS answers any other with
# InvalidDBInstanceState "Database instance is not in available state." (the fault
# and its text as CloudTrail recorded them for a ModifyDBInstance sent while the
# instance was still being created: hashicorp/terraform-provider-aws#31594; the fault
# is in the RDS API reference, ModifyDBInstance, Errors). Which states besides
# `available` AWS accepts is not documented: `storage-optimization` is accepted here
# because terraform-provider-aws waits for "available, storage-optimization" before it
# modifies an instance (hashicorp/terraform-provider-aws#3708), and an instance in it
# is in service. AWS's refusal of a stopped instance: RDS user guide, "Stopping an
# Amazon RDS DB instance temporarily" (USER_StopInstance.html, its limitations; the
# page's wording was not re-read for this comment). Every other state is
# refused here as the emulator's conservative choice, not documented: `deleting`, and
# `storage-full`, in which AWS does accept AllocatedStorage and Iops changes
# (hashicorp/terraform-provider-aws#3708; AWS knowledge center, rds-out-of-storage),
# which the emulator does not model (its instances are never storage-full).
MODIFIABLE_STATES = ("available", "storage-optimization")


def state_refusal(instance) -> tuple[str, str] | None:
    """The error RDS answers any ModifyDBInstance of `instance` with when it is not in
    a state that accepts modifications (``MODIFIABLE_STATES``), or None."""
    status = getattr(instance, "status", "available")
    if status in MODIFIABLE_STATES:
        return None
    return "InvalidDBInstanceState", "Database instance is not in available state."


def same_key(backend, wanted: str, current: str | None) -> bool:
    """Whether the KMS key `wanted` names (an id, ARN, alias or alias ARN) is the key
    whose ARN is `current`; a key KMS does not know is not the same."""
    if current is None:
        return False
    if wanted == current:
        return True
    try:
        return backend.kms.describe_key(wanted).arn == current
    except Exception:  # an unknown key or alias
        return False


def secret_key_refusal(instance, backend, db_kwargs) -> tuple[str, str] | None:
    """The error RDS answers a ``MasterUserSecretKmsKeyId`` it does not accept with.

    ModifyDBInstance's reference, MasterUserSecretKmsKeyId: "This setting is valid only
    if both of the following conditions are met: The DB instance doesn't manage the
    master user password in Amazon Web Services Secrets Manager. If the DB instance
    already manages the master user password ..., you can't change the KMS key used to
    encrypt the secret. You are turning on ManageMasterUserPassword ..." So:

    - without ``ManageMasterUserPassword`` true it is refused; AWS's text, as
      ModifyDBCluster answered it (hashicorp/terraform-provider-aws#41795): "A
      ManageMasterUserPassword value is required when MasterUserSecretKmsKeyId is
      specified."; the error code is not confirmed (InvalidParameterCombination here);
    - naming another key than the one of a secret RDS already manages is refused (code
      and text not documented: the emulator's). The same key is the no-op it is.
    """
    wanted = db_kwargs.get("master_user_secret_kms_key_id")
    if not wanted:
        return None
    if db_kwargs.get("manage_master_user_password") is not True:
        return "InvalidParameterCombination", "A ManageMasterUserPassword value is required when MasterUserSecretKmsKeyId is specified."
    secret = getattr(instance, "master_user_secret", None)
    if not getattr(instance, "manage_master_user_password", False) or secret is None:
        return None
    try:
        current = secret.kms_key_id
    except Exception:  # a secret without a key RDS knows: nothing to compare
        return None
    if same_key(backend, wanted, current):
        return None
    return "InvalidParameterCombination", (
        f"MasterUserSecretKmsKeyId can't be changed: RDS already manages the master user password of DB instance "
        f"{instance.db_instance_identifier} under KMS key {current}; turn the management off (ManageMasterUserPassword false "
        f"with a MasterUserPassword), then on again with the new key."
    )


def modification_refusal(instance, backend, db_kwargs) -> tuple[str, str] | None:
    """The error (code, message) RDS answers ModifyDBInstance of `instance` with, or None
    where it accepts it: the instance's state first (``state_refusal``, any change),
    then the master password (``password_change_refusal``) and its secret's key
    (``secret_key_refusal``). The state and key checks, and ManageMasterUserPassword
    false without a password, are behaviour ``rds-modify-refusals``."""
    if behaviours.on("rds-modify-refusals"):
        refusal = state_refusal(instance) or secret_key_refusal(instance, backend, db_kwargs)
        if refusal is not None:
            return refusal
    return password_change_refusal(instance, db_kwargs)


def password_change_refusal(instance, db_kwargs) -> tuple[str, str] | None:
    """The error (code, message) RDS answers a ModifyDBInstance that changes the master
    password of `instance` with, or None where it accepts it.

    - On a read replica, ``MasterUserPassword`` and ``ManageMasterUserPassword`` are
      refused, InvalidParameterCombination: a replica's users are its source's.
      AWS's text for RDS for PostgreSQL, as ModifyDBInstance answered it
      (terraform-aws-modules/terraform-aws-rds#526, hashicorp/terraform-provider-aws
      #46544): "Cannot change master user password on an RDS postgres Read Replica
      because it uses physical replication and therefore cannot differ from its
      parent."; for MySQL and MariaDB the exact message is not confirmed, so the
      emulator forms its own. ``ManageMasterUserPassword`` on a replica: "isn't
      supported for read replica" is AWS's text for CreateDBCluster
      (hashicorp/terraform-provider-aws#40188, InvalidParameterValue there); for
      ModifyDBInstance neither code nor text is confirmed.
    - Both at once, or ``MasterUserPassword`` on an instance whose password RDS
      already manages (unless the call turns that management off), are refused,
      InvalidParameterCombination: RDS API reference, ModifyDBInstance
      (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html),
      ``MasterUserPassword``: "Can't be specified if ManageMasterUserPassword is turned
      on"; ``ManageMasterUserPassword``: "Can't manage the master user password with
      Amazon Web Services Secrets Manager if MasterUserPassword is specified". The
      texts are the emulator's.
    - ``ManageMasterUserPassword`` false without ``MasterUserPassword`` is refused,
      InvalidParameterCombination: ModifyDBInstance's reference, ManageMasterUserPassword:
      "If the DB instance already manages the master user password ... and you specify
      that the master user password is not managed ..., then you must specify
      MasterUserPassword"; AWS refuses it whether or not the password is managed
      (aws-cloudformation/aws-cloudformation-resource-providers-rds#442: "RDS would
      reject the change stating that MasterUserPassword is required when
      ManageMasterUserPassword is false"; getmoto/moto#8824, a maintainer: "The real AWS
      backend requires that MasterUserPassword be passed in whenever
      ManageMasterUserPassword is set to False"). AWS's text, as ModifyDBCluster answered
      it (terraform-aws-modules/terraform-aws-rds-aurora#370): "MasterUserPassword must
      be provided when ManageMasterUserPassword is set to false.".
    """
    manage = db_kwargs.get("manage_master_user_password")
    password = db_kwargs.get("master_user_password")
    if manage is False and password is None and behaviours.on("rds-modify-refusals"):
        return "InvalidParameterCombination", "MasterUserPassword must be provided when ManageMasterUserPassword is set to false."
    if manage is not True and password is None:
        return None
    name = instance.db_instance_identifier
    if getattr(instance, "is_replica", False):
        if manage is True:
            return "InvalidParameterCombination", "ManageMasterUserPassword isn't supported for read replica"
        engine = (instance.engine or "").lower()
        if engine.startswith("postgres"):
            return "InvalidParameterCombination", (
                "Cannot change master user password on an RDS postgres Read Replica because it uses physical replication and therefore cannot differ from its parent."
            )
        source = getattr(instance, "source_db_instance_identifier", None)
        return "InvalidParameterCombination", (
            f"Cannot change master user password on an RDS {engine} Read Replica: its users are its source's; change it on {source}."
        )
    if manage is True and password is not None:
        return "InvalidParameterCombination", "ManageMasterUserPassword can't be turned on in a request that specifies MasterUserPassword."
    if password is not None and manage is not False and getattr(instance, "manage_master_user_password", False):
        return "InvalidParameterCombination", (
            f"MasterUserPassword can't be specified: RDS manages the master user password of DB instance {name} with Secrets Manager."
        )
    # With behaviour rds-modify-refusals off (its state check answers first when on), a
    # stopped instance's server still cannot take a new password: refused as RDS would.
    if state_refusal(instance) is not None:
        return state_refusal(instance)
    return None


def found_instance(backend, identifier: str):
    """The instance `identifier` names as moto's own ModifyDBInstance finds it
    (DescribeDBInstances: its identifier in any case, or its ARN; `databases` alone
    knows no ARN), or None when there
    is none (moto then answers DBInstanceNotFound itself). AWS identifiers are not
    case-sensitive: "This parameter is stored as a lowercase string." (RDS API
    reference, CreateDBInstance and ModifyDBInstance, DBInstanceIdentifier:
    https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html)."""
    from moto.rds.exceptions import DBInstanceNotFoundError

    try:
        return backend.describe_db_instances(identifier)[0]
    except DBInstanceNotFoundError:
        return None


def checked_modify(original):
    """moto's ModifyDBInstance (`original`) with RDS's checks first
    (``modification_refusal``: moto accepts every change in any state, creates a secret
    even on a replica and, on a stopped instance, records a password its server never gets),
    ManageMasterUserPassword on an instance RDS already manages taken as the no-op it
    is (moto would make a second secret), and the new or now-managed password set on
    the instance's server (moto records it, the server would keep the old one)."""
    from moto.rds.exceptions import RDSClientError

    def modify_db_instance(self, db_instance_identifier, db_kwargs):
        database = found_instance(self, db_instance_identifier)
        was_managed = bool(getattr(database, "manage_master_user_password", False))
        if database is not None:  # else moto's own answer (DBInstanceNotFound)
            refusal = modification_refusal(database, self, db_kwargs)
            if refusal is not None:
                raise RDSClientError(*refusal)
            if was_managed and db_kwargs.get("manage_master_user_password") is True:
                db_kwargs.pop("manage_master_user_password")
            # moto renames (NewDBInstanceIdentifier) by the key as stored
            db_instance_identifier = database.db_instance_identifier
        database = original(self, db_instance_identifier, db_kwargs)
        set_master_password(database, db_kwargs, was_managed)
        return database

    return modify_db_instance


def instance_address(self) -> str:
    gate = getattr(self, "emulator_gate", None)
    if gate is not None:
        return gate.address
    return f"{self.db_instance_identifier}.aaaaaaaaaa.{self.region}.rds.amazonaws.com"


def random_master_secret(self) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#$%&()*+,-.:;<=>?[]^_{|}~"
    password = "".join(secrets.choice(alphabet) for _ in range(28))
    return json.dumps({"username": getattr(self.resource, "master_username", None) or "admin", "password": password})


original_delete_instance = None


def install() -> None:
    from moto.rds import models as rds_models

    global original_delete_instance
    replace(DBInstance, "__init__", patched_instance_init)
    replace(DBInstance, "address", property(instance_address))
    replace(MasterUserSecret, "_generate_secret_string", random_master_secret)
    original_delete_instance = rds_models.RDSBackend.delete_db_instance

    def delete_db_instance(self, db_instance_identifier, *args, **kwargs):
        # The instance as moto's own delete finds it: `databases` is a CaseInsensitiveDict
        # (any spelling, as AWS), and moto's delete takes no ARN (whether AWS's does is
        # not documented), so only what moto deletes has its gate and server stopped.
        database = self.databases.get(db_instance_identifier)
        result = original_delete_instance(self, db_instance_identifier, *args, **kwargs)
        gate = getattr(database, "emulator_gate", None)
        if gate is not None:
            gate.stop()
        server = getattr(database, "emulator_server", None)
        if server is not None and not getattr(database, "emulator_replica_of", None):
            launch_state.SUPERVISOR.remove_server(server)
        return result

    replace(rds_models.RDSBackend, "delete_db_instance", delete_db_instance)

    replace(rds_models.RDSBackend, "modify_db_instance", checked_modify(rds_models.RDSBackend.modify_db_instance))

    original_create_replica = rds_models.RDSBackend.create_db_instance_read_replica

    def create_db_instance_read_replica(self, db_kwargs):
        # moto makes the replica a shallow copy of its source: it would share the
        # source's server (deleting the replica would stop it) and the source's managed
        # master secret (deleting the replica would delete it). A replica has neither.
        replica = original_create_replica(self, db_kwargs)
        source_server = replica.__dict__.pop("emulator_server", None)
        replica.__dict__.pop("emulator_gate", None)
        replica.__dict__.pop("master_user_secret", None)
        replica.manage_master_user_password = False
        replica.tags = list(db_kwargs.get("tags") or [])
        if source_server is not None:
            # An honest approximation of a replica (RDS user guide, "Working with DB
            # instance read replicas"): an endpoint of its own (its own address, judged
            # by the network like any instance) serving its source's server, so its
            # source's users log in at once. Unlike RDS there is no second server and no
            # replication: it would accept writes. The source's certificate names the
            # replica's address too, so a client that verifies the host accepts it.
            port = int(replica.port or network.LOOPBACK_PORT)
            gate = network.Gate(replica.db_instance_identifier, lambda: replica, lambda: source_server.port, port)
            replica.emulator_gate = gate
            replica.emulator_replica_of = source_server
            source = self.databases.get(replica.source_db_instance_identifier) if hasattr(replica, "source_db_instance_identifier") else None
            addresses = [getattr(getattr(source, "emulator_gate", None), "address", None)] if source is not None else []
            replicas = getattr(source_server, "replica_addresses", [])
            replicas.append((endpoint_name(replica), gate.address))
            source_server.replica_addresses = replicas
            try:
                source_server.certify(endpoint_name(source) if source is not None else source_server.name, [a for a in addresses if a] + [a for _, a in replicas])
            except Exception as error:
                log(f"could not give {source_server.name} a certificate for replica {replica.db_instance_identifier}: {error}")
            replica.port = port
        return replica

    replace(rds_models.RDSBackend, "create_db_instance_read_replica", create_db_instance_read_replica)

    original_stop = rds_models.RDSBackend.stop_db_instance
    original_start = rds_models.RDSBackend.start_db_instance

    def stop_db_instance(self, db_instance_identifier, *args, **kwargs):
        result = original_stop(self, db_instance_identifier, *args, **kwargs)
        server = getattr(self.databases.get(db_instance_identifier), "emulator_server", None)
        if server is not None:
            server.stop()
        return result

    def start_db_instance(self, db_instance_identifier, *args, **kwargs):
        result = original_start(self, db_instance_identifier, *args, **kwargs)
        server = getattr(self.databases.get(db_instance_identifier), "emulator_server", None)
        if server is not None and (server.process is None or server.process.poll() is not None):
            server.start()
        return result

    replace(rds_models.RDSBackend, "stop_db_instance", stop_db_instance)
    replace(rds_models.RDSBackend, "start_db_instance", start_db_instance)
