"""EC2's eventual consistency: a new id answers NotFound for a while (behaviour
``ec2-consistency``).

EC2 API reference, "Eventual consistency in the Amazon EC2 API": a new id can answer
``InvalidVpcID.NotFound`` and friends for a while after its create. moto answers at
once, so code that uses an id right after creating it passes against moto and fails
on AWS. Here the next ``EMULATOR_EC2_NOT_FOUND_CALLS`` calls naming a new id answer
NotFound, deterministically, so that a client that does not retry fails every time.

The HTTP layer (``strict.py``) sees every EC2 request: it asks ``EC2_CONSISTENCY``
whether a request names a young id, and tells it what each create answered. At
import only the empty record is made.
"""

from __future__ import annotations

import re
import threading

from base import EC2_NOT_FOUND_CALLS


# What each create returns, and the error a too-early use of that id answers.
EC2_CREATES = {
    "CreateVpc": [("vpcId", "InvalidVpcID.NotFound", "The vpc ID '{}' does not exist")],
    "CreateSubnet": [("subnetId", "InvalidSubnetID.NotFound", "The subnet ID '{}' does not exist")],
    "CreateSecurityGroup": [("groupId", "InvalidGroup.NotFound", "The security group '{}' does not exist")],
    "CreateInternetGateway": [
        ("internetGatewayId", "InvalidInternetGatewayID.NotFound", "The internetGateway ID '{}' does not exist")
    ],
    "RunInstances": [("instanceId", "InvalidInstanceID.NotFound", "The instance ID '{}' does not exist")],
}


class Ec2Consistency:
    """New ids that are not yet visible: the next calls naming them answer NotFound."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.young: dict[str, list] = {}  # id -> [calls left, code, message]

    def created(self, action: str, body: bytes) -> None:
        if EC2_NOT_FOUND_CALLS <= 0:
            return
        text = body.decode("utf-8", "replace")
        for tag, code, message in EC2_CREATES.get(action, []):
            for new_id in re.findall(rf"<{tag}>([^<]+)</{tag}>", text):
                with self.lock:
                    self.young[new_id] = [EC2_NOT_FOUND_CALLS, code, message.format(new_id)]

    def check(self, params: dict[str, list[str]]) -> tuple[str, str] | None:
        """The error for a request naming a young id (and one call used up), or None."""
        if not self.young:
            return None
        named = {value for key, values in params.items() if key != "Action" for value in values}
        with self.lock:
            for value in named:
                entry = self.young.get(value)
                if entry is None:
                    continue
                entry[0] -= 1
                if entry[0] <= 0:
                    del self.young[value]
                return entry[1], entry[2]
        return None


EC2_CONSISTENCY = Ec2Consistency()
