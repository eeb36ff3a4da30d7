"""Lambda's reserved concurrency of 0: every invocation is throttled.

Lambda developer guide, "Configuring reserved concurrency for a function": a
function's reserved concurrency is the most instances of it that may run at once,
and a reservation of 0 stops every invocation ("throttles all invocations" until
the reservation is removed). A synchronous Invoke over the reservation is answered
``TooManyRequestsException`` (HTTP 429) with ``Reason``
``ReservedFunctionConcurrentInvocationLimitExceeded`` (Lambda API reference,
Invoke, "Errors"; the reasons are those the API's ``ThrottleReason`` lists).
Secrets Manager's invocations of a rotation function are throttled the same way,
so its rotation fails. moto stores the reservation (PutFunctionConcurrency) but
invokes the function whatever it says.

Only the reservation of 0 is decided: the emulator runs invocations one after
another, so no positive reservation is ever exceeded here.

Switch: ``lambda-reserved-concurrency`` (``lambda_runtime`` refuses the invocation).
"""

from __future__ import annotations

import json

THROTTLED_REASON = "ReservedFunctionConcurrentInvocationLimitExceeded"


def throttles_every_invocation(reserved) -> bool:
    """Whether a function's reserved concurrency (as moto stores it: ``None``
    without a reservation, else the number or its text) stops every invocation."""
    if reserved is None or isinstance(reserved, bool):
        return False
    try:
        return int(str(reserved).strip()) == 0
    except ValueError:
        return False


def throttled_error():
    """The error Lambda answers for an invocation over the function's reservation."""
    from moto.awslambda.exceptions import LambdaClientError

    error = LambdaClientError("TooManyRequestsException", "Rate Exceeded.")
    error.code = 429
    error.description = json.dumps(
        {"__type": "TooManyRequestsException", "message": "Rate Exceeded.", "Reason": THROTTLED_REASON, "Type": "User"}
    )
    return error


def check_moto() -> None:
    """The reservation is read through moto's private ``LambdaStorage._get_latest``
    (moto 5.2.5): refuse to start on a moto without it, rather than silently read a
    published version's stale copy."""
    from moto.awslambda.models import LambdaStorage

    if not callable(getattr(LambdaStorage, "_get_latest", None)):
        raise RuntimeError(
            "lambda-reserved-concurrency reads moto's LambdaStorage._get_latest, which this moto lacks: "
            "find where moto keeps a function's latest configuration and update throttling.reservation"
        )


def reservation(function):
    """The function's reserved concurrency, read from its latest configuration: a
    reservation covers every version and alias ("Configuring reserved concurrency"),
    while moto's published versions are copies made before it was set."""
    from moto.awslambda.models import lambda_backends

    try:
        storage = lambda_backends[function.account_id][function.region]._lambdas
        latest = storage._get_latest(function.function_name)
    except KeyError:  # deleted meanwhile: its own copy is all there is
        latest = None
    return getattr(latest if latest is not None else function, "reserved_concurrency", None)


def throttle(function, invocation_type: str | None) -> bool:
    """Applies a reservation of 0 to one invocation. A synchronous one
    (``RequestResponse``) is refused with Lambda's throttling error; an asynchronous
    one (``Event``) is accepted (202) and, as Lambda keeps a throttled event queued
    ("How Lambda handles errors and retries with asynchronous invocation"), not run:
    the answer is True. ``DryRun`` only checks the request and permissions."""
    if invocation_type == "DryRun" or not throttles_every_invocation(reservation(function)):
        return False
    if invocation_type == "Event":
        return True
    raise throttled_error()
