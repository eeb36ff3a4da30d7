"""VPC endpoint policies: a call through an interface endpoint needs the endpoint
policy's Allow too (behaviour ``endpoint-policy``).

The emulated network (``network.py``) says which endpoint carried a function's call;
the HTTP layer (``strict.py``) names the call's action and resource, asks
``endpoint_policy_refusal`` here, and answers a refusal in the service's protocol.
The calls that came through an endpoint carry ``aws:SourceVpce`` and ``aws:SourceVpc``
into the caller's own policies as well (``THROUGH_ENDPOINT``, read by
``iam_requests``). Sources:

* PrivateLink guide, "Control access to VPC endpoints using endpoint policies"
  (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html): a
  call through an interface endpoint also needs the endpoint policy's Allow (the
  default allows all) and no Deny of it; "Principals for gateway endpoints".
* IAM user guide, "Troubleshoot access denied error messages": the refusal names the
  "VPC endpoint policy"; "AWS account principals"; "AWS global condition context keys".
* KMS developer guide, "Use VPC endpoints to control access to AWS KMS resources".

The policy is judged by the same evaluator as a secret's resource policy
(``iam_policies.resource_policy_decision``). Nothing here runs at import.
"""

from __future__ import annotations

import re
import threading

from iam_policies import principal_arn, request_context, resource_policy_decision


# PrivateLink guide, "Control access to VPC endpoints using endpoint policies"
# (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html): an
# endpoint policy is a resource-based policy on the endpoint that controls "which AWS
# principals can use the endpoint to access an AWS service"; it "does not override or
# replace identity-based policies or resource-based policies", and without one AWS
# attaches the default, which "grants full access" ({"Effect": "Allow", "Principal":
# "*", "Action": "*", "Resource": "*"}). So it limits and never grants: a call through
# the endpoint needs an Allow in it naming the caller (``*`` names everyone; the
# account names every identity of it in an interface endpoint's policy, but only its
# root user, "not all users and roles", in a gateway endpoint's) and no Deny that
# applies, besides what the caller's own policies need.
# The calls through an endpoint carry ``aws:SourceVpce`` (the endpoint's id) and
# ``aws:SourceVpc`` (its VPC); calls over the internet carry neither (IAM user guide,
# "AWS global condition context keys"; KMS developer guide, "Use VPC endpoints to
# control access to AWS KMS resources"). The refusal is AccessDenied in IAM's format
# for a policy type (IAM user guide, "Troubleshoot access denied error messages",
# https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html):
# "User: <arn> is not authorized to perform: <action> on resource: <arn> with an
# explicit deny in a VPC endpoint policy", or "... because no VPC endpoint policy
# allows the <action> action".
#
# The emulated network (``network.py``) decides at each call which endpoint carries a
# function's call; the policy is then judged here, in front of moto, whether IAM is
# enforced or not, for whoever signed the call (``signer_arn``: usually the
# function's role session, which Lambda names after the function, but any
# credentials the function holds, an assumed role's or a user's, are judged as
# theirs; an unsigned call or an unknown key as anonymous). Not judged: calls whose IAM action the emulator cannot name
# from the request (REST protocols, Lambda's), and every call when the network is off
# (``EMULATOR_OFF=network``: no endpoint carries anything then).


ENDPOINT_POLICY = "VPC endpoint policy"
THROUGH_ENDPOINT = threading.local()  # (service, condition keys) of the call this thread serves


def endpoint_keys(endpoint_id: str, vpc_id: str | None) -> dict:
    """The condition keys of a call that came through endpoint ``endpoint_id``."""
    keys = {"aws:SourceVpce": endpoint_id}
    if vpc_id:
        keys["aws:SourceVpc"] = vpc_id
    return keys


def endpoint_policy_refusal(
    document,
    action: str,
    resource: str,
    caller_arn: str | None,
    account: str,
    region: str,
    endpoint_id: str,
    vpc_id: str | None,
    extra: dict | None = None,
    gateway: bool = False,
) -> str | None:
    """None when endpoint ``endpoint_id``'s policy ``document`` (None: the default,
    full access) lets ``caller_arn`` (None: an anonymous caller, whom only ``*`` names)
    of account ``account`` do ``action`` on ``resource``; else the AccessDenied message
    AWS gives.

    The account as principal (``"AWS": "<account>"`` or ``arn:aws:iam::<account>:root``)
    names every identity of the account in an interface endpoint's policy (IAM user
    guide, "AWS account principals",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts),
    but the account's root user alone in a gateway endpoint's (PrivateLink guide,
    "Principals for gateway endpoints",
    https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html)."""
    if document is None:
        return None
    anonymous = caller_arn is None
    caller = "" if anonymous else caller_arn
    context = request_context("" if anonymous else principal_arn(caller), region, {**(extra or {}), **endpoint_keys(endpoint_id, vpc_id)})
    if anonymous:
        context = {key: value for key, value in context.items() if not key.startswith("aws:Principal")}
    else:
        context["aws:PrincipalAccount"] = account
    decision = resource_policy_decision(document, action, resource, context, caller, "" if anonymous else account)
    refused = f"User: {'anonymous' if anonymous else caller} is not authorized to perform: {action} on resource: {resource}"
    if decision == "deny":
        return f"{refused} with an explicit deny in a {ENDPOINT_POLICY}"
    if decision in ("caller", "role", "everyone") or (decision == "account" and not gateway):
        return None
    return f"{refused} because no {ENDPOINT_POLICY} allows the {action} action"


_ACCESS_KEY = re.compile(r"Credential=([^/,\s]+)/")


def signer_arn(environ) -> str | None:
    """The ARN of whoever signed a request: the IAM user or role session its access key
    (and, for a session, its ``X-Amz-Security-Token``) belongs to, as moto's access
    control finds it (moto/iam/access_control.py, ``create_access_key``). None for an
    unsigned request, an unknown key or a session token that does not match: an
    anonymous caller, whom only a ``*`` principal names. (AWS refuses such a request
    anyway, whether IAM is enforced here or not: the endpoint policy cannot let more
    through than it lets through for anyone.)"""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    match = _ACCESS_KEY.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match is None:
        return None
    key, token = match[1], environ.get("HTTP_X_AMZ_SECURITY_TOKEN")
    for account in list(sts_backends.keys()):
        for partition in list(sts_backends[account].keys()):
            session = sts_backends[account][partition].get_assumed_role_from_access_key(key)
            if session is not None:
                return session.arn if token == session.session_token else None
    if token:
        return None  # a session token with a key no session has
    for account in list(iam_backends.keys()):
        for partition in list(iam_backends[account].keys()):
            user = iam_backends[account][partition].get_user_from_access_key_id(key)
            if user is not None:
                return user.arn
    return None


def arn_account(arn: str | None) -> str | None:
    """The account an IAM or STS ARN belongs to."""
    match = re.fullmatch(r"arn:[\w-]+:(?:iam|sts)::(\d{12}):.*", arn or "")
    return match[1] if match else None


def vpc_endpoint_policy(account: str, region: str, endpoint_id: str):
    """The endpoint's policy document (None when the endpoint is gone: nothing to judge)
    and whether it is a gateway endpoint."""
    from moto.ec2.models import ec2_backends

    endpoint = ec2_backends[account][region].vpc_end_points.get(endpoint_id)
    if endpoint is None:
        return None, False
    kind = str(getattr(endpoint, "vpc_endpoint_type", None) or "Gateway")
    return getattr(endpoint, "policy_document", None), kind.lower() == "gateway"
