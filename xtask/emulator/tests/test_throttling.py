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
    def __init__(self, reserved):
        self.reserved_concurrency = reserved


def test_a_throttled_function_is_refused_and_others_are_not():
    throttling.refuse_throttled(_Function(None))
    throttling.refuse_throttled(_Function(3))
    with pytest.raises(Exception) as raised:
        throttling.refuse_throttled(_Function(0))
    assert raised.value.code == 429
