"""Which read replicas RDS refuses (rds_managed_replica.replica_refusal)."""

import pytest

import rds_managed_replica


@pytest.mark.parametrize(
    "engine, manages, refused",
    [
        ("mysql", True, True),
        ("mariadb", True, True),
        ("postgres", True, True),
        ("mysql", False, False),
        ("sqlserver-se", True, False),  # the one engine the limitation excepts
        (None, False, False),
    ],
)
def test_a_source_whose_password_rds_manages_has_no_replica(engine, manages, refused):
    assert (rds_managed_replica.replica_refusal(engine, manages) is not None) is refused


def test_the_message_is_awss():
    assert rds_managed_replica.replica_refusal("mysql", True) == (
        "Creating read replicas for source instance with engine mysql where ManageMasterUserPassword is enabled is not supported."
    )
