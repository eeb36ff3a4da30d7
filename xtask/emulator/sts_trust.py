"""STS: AssumeRole only for a caller the role's trust policy allows (behaviour
``assume-role-trust``).

moto hands out credentials for any role ARN, existing or not. Sources:

* IAM user guide, "IAM JSON policy elements: Principal" and STS API reference,
  ``AssumeRole``: a role can be assumed only by a principal its trust policy allows
  (an account's root stands for every principal of that account), with the
  ``sts:ExternalId`` the policy asks for; otherwise ``AccessDenied`` "User: ... is not
  authorized to perform: sts:AssumeRole on resource: ...".
* IAM user guide, "IAM JSON policy elements: Condition operators": the trust policy's
  conditions are decided by ``conditions.py``, as every other policy's.

Nothing here runs at import; ``install_sts_patches`` patches moto when the launcher
calls it.
"""

from __future__ import annotations

import re
import uuid

from behaviours import on
from conditions import EMULATOR_KEYS, conditions_hold
from iam_policies import as_list, policy_document, principal_arn, request_context
from patching import replace


def _principal_matches(principal, caller_arn: str, caller_account: str) -> bool:
    """Whether a trust statement's Principal names the caller: `*`, the caller's
    account (`123456789012` or its `:root`), the caller's ARN, or, for a role
    session (`sts::A:assumed-role/R/s`), the role `iam::A:role/R`."""
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    session = re.fullmatch(r"arn:([\w-]+):sts::(\d{12}):assumed-role/([^/]+)/.+", caller_arn)
    for value in as_list(principal.get("AWS")):
        if value in ("*", caller_account, caller_arn):
            return True
        if re.fullmatch(rf"arn:[\w-]+:iam::{caller_account}:root", value):
            return True
        if session and re.fullmatch(rf"arn:{session[1]}:iam::{session[2]}:role/(.*/)?{re.escape(session[3])}", value):
            return True
    return False


def trust_allows(document, caller_arn: str, caller_account: str, external_id: str | None) -> bool:
    """Whether a role's trust policy lets the caller AssumeRole (an explicit Deny wins)."""
    statements = policy_document(document).get("Statement")
    statements = [statements] if isinstance(statements, dict) else as_list(statements)
    context = request_context(principal_arn(caller_arn), None, {"sts:ExternalId": external_id})
    context["aws:PrincipalAccount"] = caller_account
    allowed = False
    for statement in statements:
        if not isinstance(statement, dict):
            continue
        actions = as_list(statement.get("Action"))
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        if not _principal_matches(statement.get("Principal"), caller_arn, caller_account):
            continue
        if not conditions_hold(statement.get("Condition"), context, statement.get("Effect"), EMULATOR_KEYS):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


def role_assumable_by(role_arn: str, caller_arn: str, caller_account: str, external_id: str | None) -> bool:
    from moto.iam.models import iam_backends

    match = re.fullmatch(r"arn:([\w-]+):iam::(\d{12}):role/(.+)", role_arn or "")
    if not match:
        return False
    try:
        role = iam_backends[match[2]][match[1]].get_role_by_arn(role_arn)
    except Exception:
        return False  # AWS answers AccessDenied for a role that does not exist, too
    return trust_allows(role.assume_role_policy_document, caller_arn, caller_account, external_id)


def _sts_access_denied(caller_arn: str, role_arn: str):
    """STS's own error shape (`ErrorResponse/Error`, the awsQuery protocol), 403;
    moto's `AccessDeniedError` nests it in `Errors`, where an SDK finds no code."""
    from xml.sax.saxutils import escape

    from moto.core.exceptions import AccessDeniedError

    error = AccessDeniedError(user_arn=caller_arn, action=f"sts:AssumeRole on resource: {role_arn}")
    error.description = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{escape(error.message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return error


# The access key id of a SigV4 ``Authorization`` header: ``Credential=<key>/<date>/...``
# (AWS General Reference, "Signature Version 4": the credential scope follows the key).
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


def signing_key(authorization: str | None, moto_key: str) -> str:
    """The access key id that signed an STS request. moto 5's
    ``BaseResponse.get_access_key`` finds only a key of exactly 20 capitals and
    digits and answers ``AKIAEXAMPLE`` otherwise, so GetCallerIdentity signed with the
    emulator's key (``testing``) named moto's placeholder
    ``arn:aws:sts::<account>:user/moto`` instead of the signing user, and a key policy
    or trust policy built from that answer named no one who calls. AWS answers for the
    caller: GetCallerIdentity "returns details about the IAM user or role whose
    credentials are used to call the operation"
    (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
    ``moto_key`` (moto's answer) stands when the header names no key."""
    match = _CREDENTIAL.search(authorization or "")
    return match[1] if match else moto_key


def install_sts_patches() -> None:
    """AssumeRole refuses a caller the role's trust policy does not allow; STS knows
    the caller by the key that signed (``signing_key``)."""
    from moto.sts.responses import TokenResponse

    moto_get_access_key = TokenResponse.get_access_key

    def get_access_key(self) -> str:
        return signing_key(self.headers.get("Authorization"), moto_get_access_key(self))

    replace(TokenResponse, "get_access_key", get_access_key)

    original = TokenResponse.assume_role

    def assume_role(self):
        role_arn = self._get_param("RoleArn")
        external_id = self._get_param("ExternalId")
        _, caller_arn, caller_account = self.backend.get_caller_identity(self.get_access_key(), self.region)
        if on("assume-role-trust") and not role_assumable_by(role_arn, caller_arn, caller_account, external_id):
            raise _sts_access_denied(caller_arn, role_arn)
        return original(self)

    replace(TokenResponse, "assume_role", assume_role)
