"""RDS instances as AWS keeps them: the offerings, lifecycle states, the subnet-group
rule and the managed secret's tags.

moto creates and deletes a DB instance at once, accepts a subnet group in one zone,
answers no MySQL offering, and gives the managed master secret no tags. Here
(behaviours ``resource-states``, ``owned-secrets``; the offerings always):

* RDS user guide, "Viewing Amazon RDS DB instance status": ``creating`` (no
  ``Endpoint``), then ``available``; ``deleting``, then gone (``EMULATOR_RDS_SECONDS``).
* RDS user guide, "Working with a DB instance in a VPC": a DB subnet group needs
  subnets in at least two Availability Zones.
* RDS user guide, "MySQL on Amazon RDS versions": what
  ``DescribeOrderableDBInstanceOptions`` answers for MySQL (``install_offerings``,
  installed whatever the strictness, since provision asks it).
* terraform-provider-aws#41337: RDS copies the instance's tags to the secret it
  manages, which goes with the instance (through ``secrets_manager.internal_call``:
  the owning service may delete it).

The master user's privileges and the managed rotation are elsewhere (``mariadb_servers``,
``rds_rotation``, ``rds_managed_replica``). Nothing here runs at import.
"""

from __future__ import annotations

from base import RDS_SECONDS, SCHEDULER
from behaviours import on
from patching import replace
from secrets_manager import internal_call


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

    replace(rds_models.RDSBackend, "describe_orderable_db_instance_options", describe_orderable_db_instance_options)


def install_rds_patches() -> None:
    """Lifecycle states, the subnet-group rule and the managed secret's tags.

    Installed over ``rds_servers``' own RDS patches, whose ``delete_db_instance``
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

    replace(backend, "create_subnet_group", create_subnet_group)
    replace(backend, "delete_subnet_group", delete_subnet_group)
    replace(backend, "create_db_instance", create_db_instance)
    replace(backend, "delete_db_instance", delete_db_instance)
    replace(DBInstance, "endpoint", property(endpoint))
    replace(MasterUserSecret, "_generate_secret_tags", secret_tags)
    replace(MasterUserSecret, "delete_secret", delete_secret)
