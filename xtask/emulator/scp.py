"""Organizations service control policies: a Deny in an SCP refuses the call.

Organizations user guide, "Service control policies (SCPs)": an SCP attached to the
organisation's root, to an organisational unit on a member account's path, or to the
account itself limits every IAM user and role of that account, whatever their own
policies allow; SCPs do not affect the management account. A request an SCP denies
is refused with the policy type named: IAM user guide, "Troubleshoot access denied
error messages" ("... with an explicit deny in a service control policy"); EC2
answers ``UnauthorizedOperation`` "You are not authorized to perform this operation."
followed by the same sentence. The common use is a region deny (a Deny with
``StringNotEquals`` on ``aws:RequestedRegion``; Organizations user guide, "Example
SCPs": "Deny access to AWS based on the requested AWS Region"). moto stores SCPs
(``CreatePolicy``, ``AttachPolicy``) and enforces none.

Only Deny statements are judged, with the evaluator every other policy here uses
(``iam_policies.policy_decision``): the default ``FullAWSAccess`` allows everything, and an
allow-list SCP (one that replaces ``FullAWSAccess``) is not modelled. The calls of
the management account, and calls the emulator cannot name an action for (REST
protocols), are not judged.

Behaviour ``scp`` (switched where requests are judged, ``strict``).
"""

from __future__ import annotations

SCP_TYPE = "SERVICE_CONTROL_POLICY"


def _policies_on_path(member: str) -> list[str] | None:
    """The contents of the SCPs that apply to a member account (its own, its OUs',
    the root's); None for an account that is no organisation's member (or is the
    management account)."""
    from moto.organizations.models import organizations_backends

    owner = organizations_backends.master_accounts.get(member)
    if owner is None:
        return None
    management, partition = owner
    if management == member:
        return None
    backend = organizations_backends[management][partition]
    account = next((a for a in backend.accounts if a.id == member), None)
    if account is None:
        return None
    contents = [p.content for p in account.attached_policies if p.type == SCP_TYPE]
    units = {unit.id: unit for unit in backend.ou}
    parent = units.get(account.parent_id)
    seen: set[str] = set()
    while parent is not None and parent.id not in seen:
        seen.add(parent.id)
        contents.extend(p.content for p in parent.attached_policies if p.type == SCP_TYPE)
        parent = units.get(parent.parent_id)
    return contents


def only_denials(document) -> dict:
    """The Deny statements of a policy document (JSON text or dict)."""
    import json

    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return {"Statement": []}
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    return {"Statement": [s for s in statements if isinstance(s, dict) and s.get("Effect") == "Deny"]}


def refusal(caller: str | None, action: str, resource: str, region: str, service: str) -> str | None:
    """The access denied message when an SCP of the caller's account denies the call."""
    from endpoint_policy import arn_account
    from iam_policies import policy_decision, principal_arn, request_context

    account = arn_account(caller)
    if account is None:
        return None
    contents = _policies_on_path(account)
    if not contents:
        return None
    context = request_context(principal_arn(caller), region)
    documents = [only_denials(content) for content in contents]
    if policy_decision(documents, action, resource, context) != "deny":
        return None
    sentence = f"User: {caller} is not authorized to perform: {action}"
    if service != "ec2":
        sentence += f" on resource: {resource}"
    sentence += " with an explicit deny in a service control policy"
    if service == "ec2":
        return f"You are not authorized to perform this operation. {sentence}"
    return sentence
