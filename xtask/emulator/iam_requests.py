"""The decisions for a signed request: what its caller's identity policies, its
permissions boundary and a resource's policy say, in the request's context.

Shared by the two judges of signed requests when IAM is enforced: the caller's access
to the action (``iam_enforcement``, behaviours ``iam-conditions`` and
``secret-resource-policy``) and to a secret's customer managed key
(``kms_key_policy``). The request is moto's (``moto.iam.access_control``); the policies
are weighed by ``iam_policies``. Sources:

* IAM user guide, "Policy evaluation logic" and "AWS global condition context keys"
  (a role session's ``aws:PrincipalArn`` is its role's; ``aws:username`` for a user).
* Service Authorization Reference, AWS Secrets Manager: ``aws:ResourceTag/<key>`` and
  ``secretsmanager:ResourceTag/<key>`` both carry the secret's tags.
* PrivateLink guide, "Control access to VPC endpoints using endpoint policies": a call
  through an interface endpoint carries ``aws:SourceVpce`` and ``aws:SourceVpc``
  (``endpoint_policy.THROUGH_ENDPOINT``, set by the HTTP layer).

Nothing here runs at import.
"""

from __future__ import annotations

import re

from endpoint_policy import THROUGH_ENDPOINT
from iam_policies import (
    default_version_document,
    policy_decision,
    principal_arn,
    request_context,
    resource_policy_decision,
    role_policies,
)


def _moto_policy_document(policy):
    """A policy as moto's ``collect_policies`` hands it out: a managed ``Policy``, a
    role's inline document (str), or a user's or group's inline policy (dict)."""
    if isinstance(policy, dict) and "policy_document" in policy:
        return policy["policy_document"]
    if isinstance(policy, (str, dict)):
        return policy
    return default_version_document(policy)


def secret_at(resource: str):
    """The secret an ARN names, or None (not a secret's ARN, or no such secret)."""
    match = re.fullmatch(r"arn:[\w-]+:secretsmanager:([\w-]+):(\d{12}):secret:.+", resource or "")
    if not match:
        return None
    from moto.secretsmanager.models import secretsmanager_backends

    try:
        return secretsmanager_backends[match[2]][match[1]].secrets.get(resource)
    except Exception:  # a name moto cannot parse: as for a secret that is not there
        return None


def resource_tags(resource: str, region: str) -> dict:
    """``aws:ResourceTag/<key>`` and, for a secret, ``secretsmanager:ResourceTag/<key>``
    (Service Authorization Reference, AWS Secrets Manager: both carry the secret's
    tags), for the resource a request names."""
    secret = secret_at(resource)
    context = {}
    for tag in getattr(secret, "tags", None) or []:
        if isinstance(tag, dict) and "Key" in tag:
            for prefix in ("aws:ResourceTag/", "secretsmanager:ResourceTag/"):
                context[prefix + tag["Key"]] = tag.get("Value", "")
    return context


def request_decisions(request, action: str, resource: str, resource_policy, extra: dict) -> tuple[str, str | None, str]:
    """The decisions ``access_decision`` weighs for a signed request's caller doing
    ``action`` on ``resource``: its identity policies' (as moto collects them; a role
    session's role's inline and managed policies), its permissions boundary's (None
    without one) and ``resource_policy``'s (``none`` without one), in the request's
    context plus ``extra``."""
    from moto.iam import access_control

    key = request._access_key
    caller = principal_arn(key.arn)
    extra = dict(extra)
    through = getattr(THROUGH_ENDPOINT, "keys", None)
    if through is not None and action.split(":", 1)[0] == through[0]:
        extra.update(through[1])  # a call through an endpoint: aws:SourceVpce, aws:SourceVpc
    if isinstance(key, access_control.IAMUserAccessKey):
        extra["aws:username"] = caller.rsplit("/", 1)[-1]
    context = request_context(caller, request._region, extra)
    context["aws:PrincipalAccount"] = request.account_id
    if isinstance(key, access_control.AssumedRoleAccessKey):
        documents, boundary = role_policies(caller) or ([], [])
    else:
        documents = [_moto_policy_document(policy) for policy in key.collect_policies()]
        boundary = None  # a user's boundary is not modelled (moto keeps none)
    identity = policy_decision(documents, action, resource, context)
    bounded = None if boundary is None else policy_decision(boundary, action, resource, context)
    on_resource = "none"
    if resource_policy:
        on_resource = resource_policy_decision(resource_policy, action, resource, context, key.arn, request.account_id, bool(boundary))
    return identity, bounded, on_resource
