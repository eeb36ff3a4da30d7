"""No read replica of an instance whose master password RDS manages.

RDS user guide, "Password management with Amazon RDS and AWS Secrets Manager",
limitations: managing the master user password with Secrets Manager is not supported
for "creating a read replica when the source DB or DB cluster manages credentials with
Secrets Manager", for every engine except RDS for SQL Server. AWS refuses the request
with ``InvalidParameterValue`` "Creating read replicas for source instance with engine
mysql where ManageMasterUserPassword is enabled is not supported." (the text as AWS
answered it to terraform-aws-modules/terraform-aws-rds#512 and #532). moto copies the
source, its managed secret included.

Switch: ``rds-managed-replica``.
"""

from __future__ import annotations

from behaviours import on
from patching import replace


def replica_refusal(engine: str | None, manages_password: bool) -> str | None:
    """The message RDS refuses a read replica of a source with `engine` with, or None
    where it creates it."""
    engine = (engine or "").lower()
    if not manages_password or engine.startswith("sqlserver"):
        return None
    return f"Creating read replicas for source instance with engine {engine} where ManageMasterUserPassword is enabled is not supported."


def install() -> None:
    """Wraps CreateDBInstanceReadReplica (over ``rds_servers``' own patch of it)."""
    from moto.rds import models as rds_models
    from moto.rds.exceptions import RDSClientError

    original = rds_models.RDSBackend.create_db_instance_read_replica

    def create_db_instance_read_replica(self, db_kwargs):
        if on("rds-managed-replica"):
            try:
                source = self.find_db_from_id(db_kwargs["source_db_instance_identifier"])
            except Exception:  # an unknown source: moto's own answer (DBInstanceNotFound)
                source = None
            manages = source is not None and bool(getattr(source, "manage_master_user_password", False))
            refusal = replica_refusal(getattr(source, "engine", None), manages)
            if refusal is not None:
                raise RDSClientError("InvalidParameterValue", refusal)
        return original(self, db_kwargs)

    replace(rds_models.RDSBackend, "create_db_instance_read_replica", create_db_instance_read_replica)
