"""Which reservations throttle every invocation (throttling.py)."""

import json

import pytest

import throttling


@pytest.mark.parametrize(
    ("reserved", "throttled"),
    [
        (None, False),  # no reservation: the account's unreserved pool
        (0, True),
        ("0", True),  # moto keeps what the request carried
        (" 0 ", True),
        (1, False),
        ("5", False),
        ("", False),
        ("nonsense", False),
        (False, False),  # not a number, whatever Python says
    ],
)
def test_only_a_reservation_of_zero_throttles_every_invocation(reserved, throttled):
    assert throttling.throttles_every_invocation(reserved) is throttled


def test_the_error_is_lambdas_throttling_error_with_its_reason():
    error = throttling.throttled_error()
    body = json.loads(error.get_body())
    assert error.code == 429
    assert body["__type"] == "TooManyRequestsException"
    assert body["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"


class _Function:
    """Not in moto's backend: its own reservation is read."""

    account_id = "123456789012"
    region = "us-east-1"
    function_name = "not-in-moto"

    def __init__(self, reserved):
        self.reserved_concurrency = reserved


@pytest.mark.parametrize("invocation_type", [None, "RequestResponse"])
def test_a_synchronous_invocation_of_a_throttled_function_is_refused(invocation_type):
    assert throttling.throttle(_Function(None), invocation_type) is False
    assert throttling.throttle(_Function(3), invocation_type) is False
    with pytest.raises(Exception) as raised:
        throttling.throttle(_Function(0), invocation_type)
    assert raised.value.code == 429


def test_an_event_is_accepted_but_not_run_and_a_dry_run_is_not_throttled():
    assert throttling.throttle(_Function(0), "Event") is True
    assert throttling.throttle(_Function(None), "Event") is False
    assert throttling.throttle(_Function(0), "DryRun") is False


def test_the_installed_moto_keeps_the_latest_configuration_where_the_reservation_is_read():
    throttling.check_moto()  # raises on a moto without LambdaStorage._get_latest
