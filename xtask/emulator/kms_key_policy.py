"""A secret under a customer managed key: its caller needs the key as well as the
secret (behaviour ``kms-key-policy``).

moto encrypts nothing and asks KMS nothing. When IAM is enforced, a signed Secrets
Manager request is also refused unless the caller may use the secret's customer
managed key as the request needs it, by the key policy and the caller's IAM policies
(see the comment below for the sources and what is not modelled). Which KMS calls a
request makes (``kms_uses``) is also read by ``kms_key_state`` (a disabled key). The
decisions are ``iam_requests``' and ``iam_policies``'; ``install_kms_key_policy`` is
installed by ``iam_enforcement.enforce_iam``, after the IAM judge it wraps. Nothing
here runs at import.
"""

from __future__ import annotations

import json
import re

from behaviours import on
from iam_policies import access_decision
from iam_requests import secret_at, request_decisions
from patching import replace


#
# Secrets Manager user guide, "Secret encryption and decryption in AWS Secrets
# Manager": each secret value is encrypted under a data key from the secret's KMS
# key. Secrets Manager calls KMS "on behalf of the user who is creating or changing
# the secret value", who "must have" kms:GenerateDataKey and kms:Decrypt on the key
# ("in an IAM policy or key policy"): GenerateDataKey for CreateSecret with a value,
# PutSecretValue (the rotation function's createSecret step is one), UpdateSecret with
# a value; Decrypt for GetSecretValue. Establishing or changing the key (CreateSecret
# or UpdateSecret with KmsKeyId) validates both, with ``SecretVersionId``
# ``RequestToValidateKeyAccess``. Its requests carry ``kms:ViaService``
# ``secretsmanager.<Region>.amazonaws.com`` and the encryption context ``SecretARN``
# and ``SecretVersionId``. KMS developer guide, "Key policies in AWS KMS": "Unless the
# key policy explicitly allows it, you cannot use IAM policies to allow access to a
# KMS key" (its "Enable IAM User Permissions" statement names the account,
# ``arn:aws:iam::<account>:root``, which delegates to IAM), while an IAM Deny applies
# without it; a Deny in the key policy applies whatever IAM says. The AWS managed key
# ``aws/secretsmanager`` allows every principal of the account through Secrets Manager,
# so secrets under it are not judged here. The refusal is AWS's
# ``AccessDeniedException`` "Access to KMS is not allowed" (as reported by users of
# GetSecretValue: aws-samples/aws-secrets-manager-rotation-lambdas#53,
# external-secrets/external-secrets#390; the same text for the writes is assumed).
# Not modelled: grants; the Decrypt a PutSecretValue on an existing version makes to
# compare values; ``SecretARN`` at CreateSecret, where the ARN is made by the create,
# so a condition on it is undecidable there (an Allow under it does not apply); the
# key's state (a disabled key, or one pending deletion, still serves); which key
# encrypts each version after UpdateSecret changes KmsKeyId (AWS re-encrypts the
# existing versions only when the caller may decrypt them with the old key; here every
# version is judged against the new one); BatchGetSecretValue (its resource is ``*``).
# The emulator's administrator is an IAM user like any other here: KMS lets it use a
# key only as the key policy allows (the default key policy delegates to IAM). A key
# of another account needs both its key policy and the caller's own IAM Allow (Secrets
# Manager API reference, UpdateSecret ``KmsKeyId``: "The user making the call must
# have permissions to both the secret and the KMS key in their respective accounts").

AWS_MANAGED_SECRETS_KEY = "alias/aws/secretsmanager"
KEY_VALIDATION_VERSION = "RequestToValidateKeyAccess"
KMS_REFUSED = "Access to KMS is not allowed"


def kms_uses(action: str, params: dict, secret_key: str | None, secret_version: str | None) -> list[tuple[str, str, str | None]]:
    """The KMS calls Secrets Manager makes for the caller of ``action`` with request
    ``params``, on a secret whose key is ``secret_key`` (None: the AWS managed key, or
    no secret yet) and whose version read is ``secret_version``: ``(key as named,
    kms action, SecretVersionId or None where not known)``, none for the AWS managed
    key ``aws/secretsmanager``."""
    value = params.get("SecretString") is not None or params.get("SecretBinary") is not None
    new_key = params.get("KmsKeyId")
    if new_key == "":  # UpdateSecret's way of choosing aws/secretsmanager again
        new_key = AWS_MANAGED_SECRETS_KEY
    elif not isinstance(new_key, str):  # absent, or not a key name: moto validates it
        new_key = None
    token = params.get("ClientRequestToken") or None
    uses: list[tuple[str | None, str, str | None]] = []
    if action == "secretsmanager:GetSecretValue":
        uses.append((secret_key, "kms:Decrypt", secret_version))
    elif action == "secretsmanager:PutSecretValue":
        uses.append((secret_key, "kms:GenerateDataKey", token))
    elif action in ("secretsmanager:CreateSecret", "secretsmanager:UpdateSecret"):
        if new_key:
            uses += [(new_key, "kms:GenerateDataKey", KEY_VALIDATION_VERSION), (new_key, "kms:Decrypt", KEY_VALIDATION_VERSION)]
        if value:
            uses.append((new_key or secret_key, "kms:GenerateDataKey", token))
    return [(key, kms_action, version) for key, kms_action, version in uses if key and not key.endswith(AWS_MANAGED_SECRETS_KEY)]


def key_access_decision(identity: str, boundary: str | None, key_policy: str) -> bool:
    """Whether KMS lets the caller use a key, from the same decisions as
    ``access_decision`` with the key policy as the resource policy, which is
    authoritative: nothing is allowed unless the key policy allows it to the caller
    or delegates to the account's IAM policies (``account``); any Deny wins."""
    return key_policy != "none" and access_decision(identity, boundary, key_policy)


def secrets_manager_host(region: str) -> str:
    return f"secretsmanager.{region}.amazonaws.com"


def find_kms_key(account_id: str, region: str, key_ref: str):
    """The moto KMS key a KmsKeyId names (id, ARN, alias or alias ARN), or None."""
    from moto.kms.models import kms_backends

    match = re.fullmatch(r"arn:[\w-]+:kms:([\w-]+):(\d{12}):.+", key_ref)
    if match:
        region, account_id = match[1], match[2]
    try:
        backend = kms_backends[account_id][region]
        return backend.keys[backend.any_id_to_key_id(key_ref)]
    except Exception:
        return None


def _key_tags(key) -> dict:
    from moto.kms.models import kms_backends

    try:
        tags = kms_backends[key.account_id][key.region].list_resource_tags(key.id).get("Tags", [])
    except Exception:
        tags = []
    return {f"aws:ResourceTag/{tag['TagKey']}": tag.get("TagValue", "") for tag in tags if "TagKey" in tag}


def _version_read(secret, params: dict) -> str | None:
    """The version GetSecretValue reads: its VersionId, or the one holding its stage."""
    if params.get("VersionId"):
        return params["VersionId"]
    stage = params.get("VersionStage") or "AWSCURRENT"
    # A copy: a PutSecretValue on another thread may be adding a version meanwhile.
    versions = list(getattr(secret, "versions", {}).items())
    return next((vid for vid, version in versions if stage in version.get("version_stages", [])), None)


def refuse_without_key_access(request, resource: str) -> None:
    """Refuses a Secrets Manager request whose caller may not use the secret's
    customer managed key as the request needs it (see ``kms_uses``)."""
    if not request._action.startswith("secretsmanager:"):
        return
    try:
        params = json.loads(request._body or b"{}")
    except ValueError:
        return
    if not isinstance(params, dict):
        return
    secret = secret_at(resource)
    secret_key = getattr(secret, "kms_key_id", None)
    uses = kms_uses(request._action, params, secret_key, _version_read(secret, params) if secret is not None else None)
    from moto.secretsmanager.exceptions import SecretsManagerClientError

    for key_ref, kms_action, version in uses:
        key = find_kms_key(request.account_id, request._region, key_ref)
        if key is None or getattr(key, "key_manager", "CUSTOMER") == "AWS":
            if key is None:  # Secrets Manager cannot use a key KMS does not have
                raise SecretsManagerClientError("AccessDeniedException", KMS_REFUSED)
            continue
        extra = {
            "kms:ViaService": secrets_manager_host(request._region),
            "kms:CallerAccount": request.account_id,
            **_key_tags(key),
        }
        if secret is not None:
            extra["kms:EncryptionContext:SecretARN"] = secret.arn
        if version is not None:
            extra["kms:EncryptionContext:SecretVersionId"] = version
        identity, boundary, key_policy = request_decisions(request, kms_action, key.arn, key.policy, extra)
        if key.account_id != request.account_id:
            # Another account's key: its key policy and the caller's own IAM Allow.
            allowed = identity == "allow" and boundary in (None, "allow") and key_policy not in ("none", "deny")
        else:
            allowed = key_access_decision(identity, boundary, key_policy)
        if not allowed:
            raise SecretsManagerClientError("AccessDeniedException", KMS_REFUSED)


def install_kms_key_policy() -> None:
    """Signed Secrets Manager requests also need the secret's customer managed key,
    as its key policy and the caller's IAM policies allow it (see above)."""
    from moto.iam import access_control

    judged = access_control.IAMRequestBase.check_action_permitted

    def check_action_permitted(self, resource: str) -> None:
        judged(self, resource)
        if on("kms-key-policy"):
            refuse_without_key_access(self, resource)

    replace(access_control.IAMRequestBase, "check_action_permitted", check_action_permitted)
