"""RDS's TLS surface: the server enforces its parameter group's
``require_secure_transport``, and the CA certificates (``DescribeCertificates``,
``CACertificateIdentifier``) are RDS's.

* ``require_secure_transport``: "Use the require_secure_transport parameter to
  require that all user connections to your MySQL DB instance use SSL/TLS ... You
  don't need to reboot your DB instance for the change to take effect" (Amazon RDS
  User Guide, "Requiring SSL/TLS for all connections to a MySQL DB instance on Amazon
  RDS"; the MariaDB page says the same for 10.5 and later). moto stores the group's
  parameters and changes nothing. Here the instance's MariaDB server (10.11, which
  has the variable since 10.5.2: MariaDB knowledge base, "require_secure_transport")
  gets ``SET GLOBAL require_secure_transport`` whenever its group's value or its
  group changes, so a plaintext login is refused as on RDS. Without a value the
  engine's default applies: OFF through MySQL 8.4 and MariaDB 11.4, the versions
  the emulator offers. Switch: ``rds-secure-transport``.
* ``DescribeCertificates`` is not in moto: answered from RDS's CA list below. moto
  gives a new instance ``rds-ca-default``, which RDS does not have; RDS's default
  for new instances is ``rds-ca-rsa2048-g1`` (User Guide, "Using SSL/TLS to encrypt
  a connection to a DB instance or cluster": "the default CA is rds-ca-rsa2048-g1").
  ``rds-ca-2019`` expired on 2024-08-22 (User Guide, "Rotating your SSL/TLS
  certificate": "rds-ca-2019 expired in August, 2024"; the day from the
  certificate as quoted in EngineerBetter/control-tower#340). The G1 CAs' exact
  ``ValidTill`` instants were not confirmed here: the guide gives their lifetimes
  (40 years for rsa2048, 100 for rsa4096 and ecc384, from 2021), the instants
  below are of that shape. The emulator's servers present its own CA's
  certificate whatever the identifier: only the API's answers follow RDS.
"""

from __future__ import annotations

import datetime

from behaviours import on
from patching import add, replace

PARAMETER = "require_secure_transport"

# (identifier, valid from, valid till): RDS's CAs (see the module's doc).
CERTIFICATES = (
    ("rds-ca-2019", "2019-08-22T17:08:50Z", "2024-08-22T17:08:50Z"),
    ("rds-ca-ecc384-g1", "2021-05-21T23:06:38Z", "2121-05-21T23:59:59Z"),
    ("rds-ca-rsa2048-g1", "2021-05-21T22:23:47Z", "2061-05-21T23:59:59Z"),
    ("rds-ca-rsa4096-g1", "2021-05-21T22:33:21Z", "2121-05-21T23:59:59Z"),
)
DEFAULT_CA = "rds-ca-rsa2048-g1"


def secure_transport(parameters: dict) -> bool:
    """Whether a group's stored parameters (moto's ``{name: {ParameterValue: ...}}``)
    turn ``require_secure_transport`` on; no value is the engine's default, OFF."""
    value = str((parameters.get(PARAMETER) or {}).get("ParameterValue") or "").strip().upper()
    return value in ("1", "ON", "TRUE")


def certificates(identifier: str | None, region: str = "us-east-1") -> list[dict]:
    """DescribeCertificates' ``Certificates``: every CA, or the one named."""
    found = []
    for name, valid_from, valid_till in CERTIFICATES:
        if identifier and identifier != name:
            continue
        found.append(
            {
                "CertificateIdentifier": name,
                "CertificateType": "CA",
                "CertificateArn": f"arn:aws:rds:{region}::cert:{name}",
                "ValidFrom": datetime.datetime.fromisoformat(valid_from.replace("Z", "+00:00")),
                "ValidTill": datetime.datetime.fromisoformat(valid_till.replace("Z", "+00:00")),
                "CustomerOverride": False,
            }
        )
    return found


def apply(instance) -> None:
    """Sets the instance's server's ``require_secure_transport`` from its group."""
    server = getattr(instance, "emulator_server", None)
    if server is None or getattr(instance, "emulator_replica_of", None):
        return
    try:
        groups = instance.db_parameter_groups()
    except Exception:  # a group that does not exist: moto refused the request already
        return
    wanted = on("rds-secure-transport") and any(secure_transport(g.parameters) for g in groups)
    server.sql(f"SET GLOBAL {PARAMETER} = {'ON' if wanted else 'OFF'};\n")


def install() -> None:
    """DescribeCertificates, RDS's default CA, and the parameter's enforcement."""
    from moto.core.responses import ActionResult
    from moto.rds import models as rds_models
    from moto.rds.exceptions import RDSClientError
    from moto.rds.responses import RDSResponse

    def describe_certificates(self):
        identifier = self.params.get("CertificateIdentifier")
        found = certificates(identifier, self.region)
        if identifier and not found:
            raise RDSClientError("CertificateNotFound", f"Certificate {identifier} not found.")
        return ActionResult({"Certificates": found, "DefaultCertificateForNewLaunches": DEFAULT_CA})

    add(RDSResponse, "describe_certificates", describe_certificates)  # not in moto

    def instance_init(self, backend, **kwargs):
        original_init(self, backend, **kwargs)  # the original, kept below by replace()
        if getattr(self, "ca_certificate_identifier", None) in (None, "rds-ca-default"):
            self.ca_certificate_identifier = DEFAULT_CA
        apply(self)

    original_init = replace(rds_models.DBInstance, "__init__", instance_init)

    def modify_db_instance(self, db_instance_identifier, db_kwargs):
        ca = db_kwargs.get("ca_certificate_identifier")
        if ca and not certificates(ca):
            raise RDSClientError("CertificateNotFound", f"Certificate {ca} not found.")
        database = original_modify_instance(self, db_instance_identifier, db_kwargs)
        apply(database)
        return database

    original_modify_instance = replace(rds_models.RDSBackend, "modify_db_instance", modify_db_instance)

    def modify_db_parameter_group(self, db_parameter_group_name, db_parameter_group_parameters):
        group = original_modify_group(self, db_parameter_group_name, db_parameter_group_parameters)
        for database in list(self.databases.values()):
            if (getattr(database, "db_parameter_group_name", None) or "").lower() == group.name:
                apply(database)
        return group

    original_modify_group = replace(rds_models.RDSBackend, "modify_db_parameter_group", modify_db_parameter_group)
