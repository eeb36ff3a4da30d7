"""ModifyDBInstance's master password checks (rds_servers.checked_modify), through
moto's RDS as a client calls it: what RDS refuses changes nothing, and turning on a
management already on makes no second secret. Instances here have no MariaDB server
(rds_servers.install is not run), so only the checks and moto's records are seen."""

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import rds_servers

REGION = "us-east-1"
NEW_PASSWORD = "a-new-password-1"  # a made-up value, never printed


@pytest.fixture(autouse=True)
def checked(monkeypatch):
    from moto.rds import models as rds_models

    original = rds_models.RDSBackend.modify_db_instance
    monkeypatch.setattr(rds_models.RDSBackend, "modify_db_instance", rds_servers.checked_modify(original))


def instance(rds, name: str, engine: str = "mysql", **extra) -> dict:
    if not extra.get("ManageMasterUserPassword"):
        extra["MasterUserPassword"] = "the-first-password"
    if engine == "mariadb":
        extra["EngineVersion"] = "10.11.8"  # moto knows no default for it
    return rds.create_db_instance(
        DBInstanceIdentifier=name, Engine=engine, DBInstanceClass="db.t3.micro", MasterUsername="admin", AllocatedStorage=20, **extra
    )["DBInstance"]


def refused(rds, name: str, **change) -> dict:
    with pytest.raises(ClientError) as error:
        rds.modify_db_instance(DBInstanceIdentifier=name, ApplyImmediately=True, **change)
    return error.value.response["Error"]


def secret_names() -> list[str]:
    return [s["Name"] for s in boto3.client("secretsmanager", region_name=REGION).list_secrets()["SecretList"]]


@pytest.mark.parametrize("engine", ["mysql", "mariadb", "postgres"])
@pytest.mark.parametrize("change", [{"ManageMasterUserPassword": True}, {"MasterUserPassword": NEW_PASSWORD}])
def test_a_read_replica_keeps_its_sources_password(engine, change):
    with mock_aws():
        rds = boto3.client("rds", region_name=REGION)
        instance(rds, "source", engine)
        rds.create_db_instance_read_replica(DBInstanceIdentifier="replica", SourceDBInstanceIdentifier="source")
        error = refused(rds, "replica", **change)
        assert error["Code"] == "InvalidParameterCombination"
        assert "read replica" in error["Message"].lower()
        replica = rds.describe_db_instances(DBInstanceIdentifier="replica")["DBInstances"][0]
        assert "MasterUserSecret" not in replica
        assert secret_names() == [], "no secret for a password that logs in nowhere"


def test_the_postgres_replica_refusal_is_awss_text():
    with mock_aws():
        rds = boto3.client("rds", region_name=REGION)
        instance(rds, "source", "postgres")
        rds.create_db_instance_read_replica(DBInstanceIdentifier="replica", SourceDBInstanceIdentifier="source")
        assert refused(rds, "replica", MasterUserPassword=NEW_PASSWORD)["Message"] == (
            "Cannot change master user password on an RDS postgres Read Replica because it uses physical replication and therefore cannot differ from its parent."
        )


def test_turning_on_a_management_already_on_keeps_the_one_secret():
    with mock_aws():
        rds = boto3.client("rds", region_name=REGION)
        first = instance(rds, "db", ManageMasterUserPassword=True)["MasterUserSecret"]["SecretArn"]
        answer = rds.modify_db_instance(DBInstanceIdentifier="db", ManageMasterUserPassword=True, ApplyImmediately=True)["DBInstance"]
        assert answer["MasterUserSecret"]["SecretArn"] == first
        assert len(secret_names()) == 1


@pytest.mark.parametrize(
    "managed, change",
    [
        (True, {"MasterUserPassword": NEW_PASSWORD}),
        (True, {"MasterUserPassword": NEW_PASSWORD, "ManageMasterUserPassword": True}),
        (False, {"MasterUserPassword": NEW_PASSWORD, "ManageMasterUserPassword": True}),
    ],
)
def test_a_master_password_beside_a_managed_one_is_refused(managed, change):
    with mock_aws():
        rds = boto3.client("rds", region_name=REGION)
        instance(rds, "db", ManageMasterUserPassword=managed)
        before = secret_names()
        assert refused(rds, "db", **change)["Code"] == "InvalidParameterCombination"
        described = rds.describe_db_instances(DBInstanceIdentifier="db")["DBInstances"][0]
        assert ("MasterUserSecret" in described) is managed
        assert secret_names() == before


def test_turning_management_off_with_a_new_password_is_accepted():
    """The reference's way back: ManageMasterUserPassword false "then you must specify
    MasterUserPassword", and RDS deletes the secret."""
    with mock_aws():
        rds = boto3.client("rds", region_name=REGION)
        instance(rds, "db", ManageMasterUserPassword=True)
        rds.modify_db_instance(DBInstanceIdentifier="db", ManageMasterUserPassword=False, MasterUserPassword=NEW_PASSWORD, ApplyImmediately=True)
        assert "MasterUserSecret" not in rds.describe_db_instances(DBInstanceIdentifier="db")["DBInstances"][0]


@pytest.mark.parametrize("change", [{"ManageMasterUserPassword": True}, {"MasterUserPassword": NEW_PASSWORD}])
def test_a_stopped_instance_is_refused_before_anything_changes(change):
    with mock_aws():
        rds = boto3.client("rds", region_name=REGION)
        instance(rds, "db")
        rds.stop_db_instance(DBInstanceIdentifier="db")
        assert refused(rds, "db", **change)["Code"] == "InvalidDBInstanceState"
        described = rds.describe_db_instances(DBInstanceIdentifier="db")["DBInstances"][0]
        assert described["DBInstanceStatus"] == "stopped"
        assert "MasterUserSecret" not in described
        assert secret_names() == []
        rds.start_db_instance(DBInstanceIdentifier="db")
        rds.modify_db_instance(DBInstanceIdentifier="db", ApplyImmediately=True, **change)


def test_other_changes_pass_unchecked():
    with mock_aws():
        rds = boto3.client("rds", region_name=REGION)
        instance(rds, "source")
        rds.create_db_instance_read_replica(DBInstanceIdentifier="replica", SourceDBInstanceIdentifier="source")
        rds.modify_db_instance(DBInstanceIdentifier="replica", PubliclyAccessible=True, ApplyImmediately=True)
        assert rds.describe_db_instances(DBInstanceIdentifier="replica")["DBInstances"][0]["PubliclyAccessible"] is True


NOT_AVAILABLE = "Database instance is not in available state."


@pytest.mark.parametrize(
    "status, refused_with",
    [
        ("available", None),
        ("storage-optimization", None),
        ("creating", NOT_AVAILABLE),
        ("modifying", NOT_AVAILABLE),
        ("stopped", NOT_AVAILABLE),
        ("stopping", NOT_AVAILABLE),
        ("deleting", NOT_AVAILABLE),
        # the emulator's choice: AWS takes storage changes in it (terraform-provider-aws#3708)
        ("storage-full", NOT_AVAILABLE),
    ],
)
def test_only_a_modifiable_state_accepts_a_modification(status, refused_with):
    class Instance:
        pass

    instance = Instance()
    instance.status = status
    refusal = rds_servers.state_refusal(instance)
    if refused_with is None:
        assert refusal is None
    else:
        assert refusal == ("InvalidDBInstanceState", refused_with)


def backend_instance(name: str):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.rds.models import rds_backends

    return rds_backends[DEFAULT_ACCOUNT_ID][REGION].databases[name]


@pytest.mark.parametrize("status", ["creating", "stopped"])
@pytest.mark.parametrize(
    "change",
    [{"PubliclyAccessible": True}, {"BackupRetentionPeriod": 3}, {"CACertificateIdentifier": "rds-ca-rsa4096-g1"}],
)
def test_any_change_to_an_instance_that_is_not_available_is_refused(status, change):
    with mock_aws():
        rds = boto3.client("rds", region_name=REGION)
        instance(rds, "db")
        before = rds.describe_db_instances(DBInstanceIdentifier="db")["DBInstances"][0]
        if status == "stopped":
            rds.stop_db_instance(DBInstanceIdentifier="db")
        else:
            backend_instance("db").status = status
        error = refused(rds, "db", **change)
        assert (error["Code"], error["Message"]) == ("InvalidDBInstanceState", NOT_AVAILABLE)
        after = rds.describe_db_instances(DBInstanceIdentifier="db")["DBInstances"][0]
        for key in change:
            assert after.get(key) == before.get(key), f"{key} changed although refused"


@pytest.mark.parametrize("managed", [True, False])
def test_turning_management_off_without_a_password_is_refused(managed):
    with mock_aws():
        rds = boto3.client("rds", region_name=REGION)
        instance(rds, "db", ManageMasterUserPassword=managed)
        before = secret_names()
        error = refused(rds, "db", ManageMasterUserPassword=False)
        assert (error["Code"], error["Message"]) == (
            "InvalidParameterCombination",
            "MasterUserPassword must be provided when ManageMasterUserPassword is set to false.",
        )
        described = rds.describe_db_instances(DBInstanceIdentifier="db")["DBInstances"][0]
        assert ("MasterUserSecret" in described) is managed
        assert secret_names() == before


def test_a_secret_key_without_turning_management_on_is_refused():
    with mock_aws():
        rds = boto3.client("rds", region_name=REGION)
        instance(rds, "db", ManageMasterUserPassword=True)
        key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
        error = refused(rds, "db", MasterUserSecretKmsKeyId=key)
        assert (error["Code"], error["Message"]) == (
            "InvalidParameterCombination",
            "A ManageMasterUserPassword value is required when MasterUserSecretKmsKeyId is specified.",
        )


def test_the_key_of_a_managed_secret_is_not_changed_but_the_same_key_is_accepted():
    # The refusal's code and text, and the acceptance of the same key, are the emulator's
    # choice: the reference says the key setting is "valid only if the DB instance doesn't
    # manage the master user password", which AWS may apply to the same key too.
    with mock_aws():
        rds = boto3.client("rds", region_name=REGION)
        secret = instance(rds, "db", ManageMasterUserPassword=True)["MasterUserSecret"]
        other = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
        error = refused(rds, "db", ManageMasterUserPassword=True, MasterUserSecretKmsKeyId=other)
        assert error["Code"] == "InvalidParameterCombination"
        assert "MasterUserSecretKmsKeyId can't be changed" in error["Message"]
        described = rds.describe_db_instances(DBInstanceIdentifier="db")["DBInstances"][0]["MasterUserSecret"]
        assert described["KmsKeyId"] == secret["KmsKeyId"]
        rds.modify_db_instance(
            DBInstanceIdentifier="db", ManageMasterUserPassword=True, MasterUserSecretKmsKeyId=secret["KmsKeyId"], ApplyImmediately=True
        )
        assert len(secret_names()) == 1


def test_turning_management_on_with_a_key_is_accepted():
    with mock_aws():
        rds = boto3.client("rds", region_name=REGION)
        instance(rds, "db")
        key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
        answer = rds.modify_db_instance(DBInstanceIdentifier="db", ManageMasterUserPassword=True, MasterUserSecretKmsKeyId=key, ApplyImmediately=True)
        assert answer["DBInstance"]["MasterUserSecret"]["KmsKeyId"] == key


@pytest.mark.parametrize("spelling", ["mydb", "MYDB", "arn"])
def test_an_identifier_spelt_otherwise_is_checked_as_the_instance_it_names(spelling):
    # AWS identifiers are not case-sensitive ("stored as a lowercase string", RDS API
    # reference, CreateDBInstance) and moto's modify finds an instance by its ARN too:
    # the refusals hold however the request names the instance.
    with mock_aws():
        rds = boto3.client("rds", region_name=REGION)
        arn = instance(rds, "MyDb")["DBInstanceArn"]
        rds.stop_db_instance(DBInstanceIdentifier="MyDb")
        name = arn if spelling == "arn" else spelling
        error = refused(rds, name, PubliclyAccessible=True)
        assert (error["Code"], error["Message"]) == ("InvalidDBInstanceState", NOT_AVAILABLE)
        assert rds.describe_db_instances(DBInstanceIdentifier="MyDb")["DBInstances"][0].get("PubliclyAccessible") is not True


def test_an_unknown_identifier_is_still_motos_not_found():
    with mock_aws():
        rds = boto3.client("rds", region_name=REGION)
        assert refused(rds, "nosuchdb", PubliclyAccessible=True)["Code"] == "DBInstanceNotFound"
