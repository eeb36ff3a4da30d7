"""IAM policy evaluation: whether policy documents allow an action on a resource.

One evaluator, pure over policy documents, for every policy the emulator reads: an
execution role's identity policies and permissions boundary (``lambda_functions``:
the role creates the function's network interfaces and writes its logs), a signed
caller's policies when IAM is enforced (``iam_requests``, ``iam_enforcement``), a
secret's or a KMS key's resource policy (``kms_key_policy``), a VPC endpoint's policy
(``endpoint_policy``), a role's trust policy (``sts_trust``) and a function's resource
policy for Secrets Manager (``secrets_manager``). Conditions are decided by
``conditions.py``. Sources:

* IAM user guide, "Policy evaluation logic" and "How AWS enforcement code logic
  evaluates requests": an explicit Deny wins, else an Allow is needed, in the identity
  policies and within a permissions boundary; a resource policy in the caller's own
  account can grant on its own.
* IAM user guide, "IAM JSON policy elements: Action", "...: Resource", "...: Principal",
  "AWS JSON policy elements: NotPrincipal", "Permissions boundaries for IAM entities".
* IAM user guide, "IAM JSON policy elements: Condition operators" and "Condition
  with multiple context keys or values": a statement applies only where its Condition
  holds in the request's context; "AWS global condition context keys" for the keys
  ``request_context`` puts in every request.
* Secrets Manager user guide, "Determine who has permissions to your AWS Secrets
  Manager secrets".

Nothing here runs at import; moto is imported only by the functions that read a
role's policies (``role_policies``, ``principal_arn``).
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone

from conditions import EMULATOR_KEYS, conditions_hold, wildcard


def as_list(value) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def policy_document(document) -> dict:
    if isinstance(document, str):
        from urllib.parse import unquote

        try:
            document = json.loads(document if document.lstrip().startswith("{") else unquote(document))
        except ValueError:
            return {}
    return document if isinstance(document, dict) else {}


#
# Lambda acts with the function's execution role: it creates the function's
# network interfaces and writes its logs with the role's permissions, whether or
# not the emulator enforces IAM on its callers. A small evaluator of identity
# policies, pure over policy documents, which also judges signed requests when IAM
# is enforced (``install_condition_evaluation``: moto's ``IAMPolicyStatement`` turns
# an Allow whose condition does not hold into an explicit Deny, ignores
# ``NotResource`` and matches actions case-sensitively).
# As the IAM user guide's "Policy evaluation logic" describes it: an explicit
# Deny wins, else an Allow is needed, in the identity policies and, when the role
# has one, in its permissions boundary too. Actions match case-insensitively,
# resources case-sensitively, ``*`` and ``?`` as wildcards ("IAM JSON policy
# elements: Action", "...: Resource"). A statement applies only when its Condition
# holds in the request's context (``conditions.conditions_hold``: what cannot be
# decided lets a Deny apply and never an Allow).


def policy_statements(document) -> list[dict]:
    statements = policy_document(document).get("Statement")
    statements = [statements] if isinstance(statements, dict) else as_list(statements)
    return [s for s in statements if isinstance(s, dict)]


def statement_covers(statement: dict, action: str, resource: str, context: dict) -> bool:
    """Whether the statement speaks of ``action`` on ``resource`` and its Condition
    lets its Effect apply in ``context``."""
    if "NotAction" in statement:
        if any(wildcard(p, action, False) for p in as_list(statement["NotAction"])):
            return False
    elif not any(wildcard(p, action, False) for p in as_list(statement.get("Action"))):
        return False
    if "NotResource" in statement:
        if any(wildcard(p, resource, True) for p in as_list(statement["NotResource"])):
            return False
    elif not any(wildcard(p, resource, True) for p in as_list(statement.get("Resource"))):
        return False
    return conditions_hold(statement.get("Condition"), context, statement.get("Effect"), EMULATOR_KEYS)


def policy_decision(documents, action: str, resource: str, context: dict) -> str:
    """``deny`` (an explicit Deny applies), ``allow`` (an Allow applies and no Deny)
    or ``none`` (implicitly denied) for ``action`` on ``resource`` in ``context``."""
    allowed = False
    for document in documents:
        for statement in policy_statements(document):
            if not statement_covers(statement, action, resource, context):
                continue
            effect = statement.get("Effect")
            if effect == "Deny":
                return "deny"
            if effect == "Allow":
                allowed = True
    return "allow" if allowed else "none"


def permits(documents, boundary, action: str, resource: str, context: dict) -> bool:
    """Whether identity policies (and a permissions boundary, when not None) allow it."""
    if policy_decision(documents, action, resource, context) != "allow":
        return False
    return boundary is None or policy_decision(boundary, action, resource, context) == "allow"


# A resource policy in the caller's own account (IAM user guide, "Policy evaluation
# logic" and "How AWS enforcement code logic evaluates requests"; Secrets Manager user
# guide, "Determine who has permissions to your AWS Secrets Manager secrets"): an
# explicit Deny in it applies whatever the identity policies say; within one account
# an Allow in either the identity policies or the resource policy suffices, but an
# Allow naming only the account (`123456789012`, `:root`) delegates to the identity
# policies and grants nothing itself, and one naming a role's ARN (not the session's)
# is still limited by the role's permissions boundary. An Allow for everyone (`*`) is
# read as the stricter of the two (limited by the boundary too): the guides do not
# say which applies. `NotPrincipal` on an Allow grants nothing here.
def principal_kinds(principal, caller_arn: str, caller_account: str) -> set[str]:
    """How a resource statement's ``Principal`` (or ``NotPrincipal``) names the
    caller, every way it does: ``caller`` (its user or role session ARN), ``role``
    (the session's role), ``everyone`` (``*``), ``account`` (its account). Values
    that are not strings name no one."""
    if principal == "*":
        return {"everyone"}
    if not isinstance(principal, dict):
        return set()
    values = principal.get("AWS")
    values = [values] if isinstance(values, str) else [v for v in values if isinstance(v, str)] if isinstance(values, list) else []
    session = re.fullmatch(r"arn:([\w-]+):sts::(\d{12}):assumed-role/([^/]+)/.+", caller_arn or "")
    kinds = set()
    for value in values:
        if value == "*":
            kinds.add("everyone")
        elif value == caller_arn:
            kinds.add("caller")
        elif value == caller_account or re.fullmatch(rf"arn:[\w-]+:iam::{caller_account}:root", value):
            kinds.add("account")
        elif session and re.fullmatch(rf"arn:{session[1]}:iam::{session[2]}:role/(.*/)?{re.escape(session[3])}", value):
            kinds.add("role")
    return kinds


def resource_principal(principal, caller_arn: str, caller_account: str) -> str | None:
    """The strongest way a ``Principal`` names the caller (see ``principal_kinds``),
    or None (not named)."""
    kinds = principal_kinds(principal, caller_arn, caller_account)
    return next((kind for kind in ("caller", "role", "everyone", "account") if kind in kinds), None)


def not_principal_spares(principal, caller_arn: str, caller_account: str, bounded: bool) -> bool:
    """Whether a ``Deny`` with this ``NotPrincipal`` spares the caller (IAM user
    guide, "AWS JSON policy elements: NotPrincipal"): only when it names the caller
    itself (the user, or the role session's own ARN) and the caller's account too,
    and never a principal with a permissions boundary ("Permissions boundaries for
    IAM entities": such a statement "will always deny any IAM principal that has a
    permissions boundary policy attached"). Naming only the role's ARN "might" deny
    the session: read here as a denial."""
    kinds = principal_kinds(principal, caller_arn, caller_account)
    return not bounded and "caller" in kinds and "account" in kinds


def resource_policy_decision(document, action: str, resource: str, context: dict, caller_arn: str, caller_account: str, bounded: bool = False) -> str:
    """``deny`` (a Deny statement applies to the caller), ``caller``/``role``/``everyone``
    (an Allow names the caller that way, no Deny), ``account`` (an Allow names only
    the caller's account: a delegation to its identity policies, which grants nothing
    itself), or ``none``. ``bounded``: the caller has a permissions boundary."""
    answer = "none"
    for statement in policy_statements(document):
        if not statement_covers(statement, action, resource, context):
            continue
        effect = statement.get("Effect")
        if "NotPrincipal" in statement:
            if effect == "Deny" and not not_principal_spares(statement["NotPrincipal"], caller_arn, caller_account, bounded):
                return "deny"  # denied to everyone the statement does not spare
            continue  # an Allow with NotPrincipal is not credited
        named = resource_principal(statement.get("Principal"), caller_arn, caller_account)
        if named is None:
            continue
        if effect == "Deny":
            return "deny"
        if effect == "Allow" and _GRANT_RANK[named] > _GRANT_RANK[answer]:
            answer = named
    return answer


_GRANT_RANK = {"none": 0, "account": 1, "everyone": 2, "role": 2, "caller": 3}


def access_decision(identity: str, boundary: str | None, resource: str) -> bool:
    """Whether a same-account request is allowed, from the identity policies' decision,
    the permissions boundary's (None without one) and the resource policy's (``none``
    without one; ``account``, a delegation, is as ``none``): any Deny wins; else an
    identity Allow within the boundary, or a resource-policy Allow naming the caller,
    or one naming its role (or everyone) within the boundary."""
    if "deny" in (identity, boundary, resource):
        return False
    within_boundary = boundary is None or boundary == "allow"
    if identity == "allow" and within_boundary:
        return True
    if resource == "caller":
        return True
    return resource in ("role", "everyone") and within_boundary


def request_context(principal_arn: str, region: str | None, extra: dict | None = None) -> dict:
    """The keys AWS puts in every request's context that the emulator knows
    (IAM user guide, "AWS global condition context keys"): the principal (for a role
    session ``aws:PrincipalArn`` is the role's ARN, not the session's), the region,
    the time, and ``aws:SecureTransport`` "true": AWS's API endpoints the SDKs call
    are HTTPS, and the emulator's plain http stands in for them, so a policy that
    denies insecure transport must not deny here what it would not deny there.
    ``aws:SourceIp`` stays absent (no public address); ``aws:SourceVpce`` and
    ``aws:SourceVpc`` are added (``endpoint_keys``) to the calls a function makes
    through an interface endpoint, and are absent from others, as on AWS."""
    match = re.fullmatch(r"arn:[\w-]+:(?:iam|sts)::(\d{12}):(user|role|assumed-role)/.*", principal_arn or "")
    now = time.time()
    context = {
        "aws:PrincipalArn": principal_arn,
        "aws:PrincipalAccount": match[1] if match else None,
        "aws:PrincipalType": {"user": "User", "role": "AssumedRole", "assumed-role": "AssumedRole"}.get(match[2]) if match else None,
        "aws:RequestedRegion": region,
        "aws:SecureTransport": "true",
        "aws:CurrentTime": datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now)),
    }
    context.update(extra or {})
    return context


def principal_arn(caller_arn: str) -> str:
    """``aws:PrincipalArn`` of a caller: a role session's is its role's ARN
    ("AWS global condition context keys"), with the role's path where the role exists."""
    session = re.fullmatch(r"arn:([\w-]+):sts::(\d{12}):assumed-role/([^/]+)/.+", caller_arn or "")
    if not session:
        return caller_arn
    try:
        from moto.iam.models import iam_backends

        return iam_backends[session[2]][session[1]].get_role(session[3]).arn
    except Exception:
        return f"arn:{session[1]}:iam::{session[2]}:role/{session[3]}"


def default_version_document(policy) -> str:
    version = next((v for v in getattr(policy, "versions", []) if v.is_default), None)
    return version.document if version is not None else "{}"


def role_policies(role_arn: str):
    """The role's identity policies (inline and attached) and its permissions
    boundary (None without one), as documents; None when the role does not exist."""
    from moto.iam.models import iam_backends

    match = re.fullmatch(r"arn:([\w-]+):iam::(\d{12}):role/(.+)", role_arn or "")
    if not match:
        return None
    iam = iam_backends[match[2]][match[1]]
    try:
        role = iam.get_role_by_arn(role_arn)
    except Exception:
        return None
    documents = list(role.policies.values())
    documents += [default_version_document(policy) for policy in role.managed_policies.values()]
    boundary = None
    if role.permissions_boundary_arn:
        try:
            boundary = [default_version_document(iam.get_policy(role.permissions_boundary_arn))]
        except Exception:
            boundary = []  # a boundary that cannot be read allows nothing
    return documents, boundary


def role_permits(role_arn: str, region: str, action: str, resources: list[str]) -> bool:
    """Whether the role may do ``action`` on every one of ``resources``."""
    policies = role_policies(role_arn)
    if policies is None:
        return False
    documents, boundary = policies
    context = request_context(role_arn, region)
    return all(permits(documents, boundary, action, resource, context) for resource in resources)
