"""RDS's TLS surface: require_secure_transport from a group's parameters, and the CAs."""

import datetime

import pytest

import rds_tls


@pytest.mark.parametrize(
    "parameters, on",
    [
        ({"require_secure_transport": {"ParameterValue": "1"}}, True),
        ({"require_secure_transport": {"ParameterValue": "ON"}}, True),
        ({"require_secure_transport": {"ParameterValue": "0"}}, False),
        ({"require_secure_transport": {}}, False),  # no value: the engine's default, OFF
        ({}, False),
        ({"max_connections": {"ParameterValue": "1"}}, False),
    ],
)
def test_the_group_value_decides(parameters, on):
    assert rds_tls.secure_transport(parameters) is on


def test_certificates_name_rds_cas_and_the_expired_one():
    every = rds_tls.certificates(None)
    assert {c["CertificateIdentifier"] for c in every} >= {"rds-ca-2019", rds_tls.DEFAULT_CA}
    (old,) = rds_tls.certificates("rds-ca-2019")
    assert old["ValidTill"] == datetime.datetime(2024, 8, 22, 17, 8, 50, tzinfo=datetime.timezone.utc)
    (current,) = rds_tls.certificates(rds_tls.DEFAULT_CA)
    assert current["ValidTill"].year == 2061
    assert rds_tls.certificates("rds-ca-nonexistent") == []
