"""Secrets Manager as AWS answers it: owned secrets, rotation functions it may invoke,
versions that never change, and which versions are listed.

moto lets anyone change a secret another service owns, starts a rotation with any
function, overwrites a filled version and lists every version. Here (behaviours
``owned-secrets``, ``invoke-permission``, ``version-immutable``,
``deprecated-versions``):

* Secrets Manager user guide, "Secrets managed by other AWS services": the owning
  service alone can change or delete them (``OWNED_MESSAGE``; the owner acts through
  ``internal_call``, as ``rds_instances`` does when it deletes an instance's secret).
* ``RotateSecret`` naming a function whose resource policy does not admit
  ``secretsmanager.amazonaws.com`` is refused (``AccessDeniedException``, "Secrets
  Manager cannot invoke the specified Lambda function. Ensure that the function policy
  grants access to the principal secretsmanager.amazonaws.com."): AWS's text as
  terraform-provider-aws's secret rotation resource retries it, and as the floci
  emulator models it. The policy's conditions are judged with the confused-deputy keys
  (Secrets Manager user guide, "Permissions for the Lambda rotation function") by
  ``iam_policies``; ``secret_rotation``'s RotateSecret calls
  ``refuse_rotation_without_invoke_permission``.
* Secrets Manager API reference, ``PutSecretValue`` (``ClientRequestToken``): a
  version's value never changes.
* Secrets Manager API reference, ``ListSecretVersionIds``: versions without a staging
  label are listed only with ``IncludeDeprecated``, each with its own ``CreatedDate``.
* Secrets Manager API reference, ``CreateSecret``: a name scheduled for deletion cannot
  be used again until the secret is gone.

The rotation itself (steps, retries, refusals) is ``secret_rotation``'s. Nothing here runs at
import; ``install_secretsmanager_patches`` patches moto when the launcher calls it.
"""

from __future__ import annotations

import json
import threading
import time

from behaviours import on
from iam_policies import as_list, statement_covers, policy_statements
from patching import replace


OWNED_MESSAGE = (
    "You can't {verb} secret {name} because it's managed by {service}. "
    "Use {service} to {verb} it."
)
_INTERNAL = threading.local()


def internal_call(function, *args, **kwargs):
    """Runs a backend call on behalf of the owning service (which may change its secret)."""
    _INTERNAL.active = True
    try:
        return function(*args, **kwargs)
    finally:
        _INTERNAL.active = False


INVOKE_REFUSED = (
    "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function "
    "policy grants access to the principal secretsmanager.amazonaws.com."
)


SECRETS_MANAGER = "secretsmanager.amazonaws.com"


def _names_service(principal, service: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return service in as_list(principal.get("Service"))


def invoke_permitted(policy, function_arn: str, secret_arn: str, secret_account: str) -> bool:
    """Whether a function's resource policy lets Secrets Manager invoke it to rotate
    one secret. Secrets Manager calls with its service principal and the
    confused-deputy keys ``aws:SourceAccount`` (the secret's account) and
    ``aws:SourceArn`` (the secret's ARN): Secrets Manager user guide, "Permissions for
    the Lambda rotation function" ("if you include the context key aws:SourceArn in
    your Lambda rotation function policy, the rotation function can only be used to
    rotate the secret specified by that ARN"); Lambda's AddPermission turns its
    ``SourceAccount``/``SourceArn`` into exactly those conditions. The statement's
    resource is the function's unqualified ARN. An explicit Deny wins."""
    context = {
        "aws:SourceAccount": secret_account,
        "aws:SourceArn": secret_arn,
        "aws:PrincipalServiceName": SECRETS_MANAGER,
        "aws:SecureTransport": "true",
    }
    allowed = False
    for statement in policy_statements(policy):
        if not _names_service(statement.get("Principal"), SECRETS_MANAGER):
            continue
        if not statement_covers(statement, "lambda:InvokeFunction", function_arn, context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def refuse_rotation_without_invoke_permission(lambda_backend, lambda_arn: str, secret) -> None:
    """RotateSecret names a function whose resource policy does not let Secrets Manager
    invoke it for this secret: AWS refuses with AccessDeniedException
    (terraform-provider-aws retries this very error while a new permission
    propagates). moto starts the rotation anyway."""
    from moto.secretsmanager.exceptions import SecretsManagerClientError

    try:
        # moto's wire format: {"Policy": "<the policy document as a string>", ...}
        wire = json.loads(lambda_backend.get_policy(lambda_arn))
        policy = json.loads(wire["Policy"]) if isinstance(wire.get("Policy"), str) else wire
    except Exception:  # no resource policy at all
        policy = {}
    from moto.awslambda.utils import make_function_arn

    fn = lambda_backend.get_function(lambda_arn)  # the caller has found it
    function_arn = make_function_arn(fn.region, fn.account_id, fn.function_name)
    if not invoke_permitted(policy, function_arn, secret.arn, secret.account_id):
        raise SecretsManagerClientError("AccessDeniedException", INVOKE_REFUSED)


def _refuse_if_owned(backend, secret_id: str, verb: str) -> None:
    if not on("owned-secrets"):
        return
    if getattr(_INTERNAL, "active", False):
        return
    from moto.secretsmanager.exceptions import InvalidRequestException

    if not backend._is_valid_identifier(secret_id):
        return
    secret = backend.secrets[secret_id]
    owner = getattr(secret, "owning_service", None)
    if owner:
        raise InvalidRequestException(OWNED_MESSAGE.format(verb=verb, name=secret.name, service=owner))


# Called with a secret whose AWSCURRENT value PutSecretValue or UpdateSecret has
# just replaced. ``secret_rotation.install`` adds the schedule's recount
# (``value_changed_by_hand``): it imports this module, so this module does not
# import it.
VALUE_CHANGED_HOOKS: list = []


def _changed_by_hand(backend, secret_id: str) -> None:
    """A new AWSCURRENT value by PutSecretValue or UpdateSecret: the hooks (the
    schedule may count from it) see the secret."""
    secret = backend.secrets.get(secret_id) if hasattr(backend.secrets, "get") else None
    if secret is not None:
        for hook in VALUE_CHANGED_HOOKS:
            hook(secret)


def install_secretsmanager_patches() -> None:
    from moto.secretsmanager import models as sm_models

    backend = sm_models.SecretsManagerBackend
    original_delete = backend.delete_secret
    original_put = backend.put_secret_value
    original_update = backend.update_secret
    original_create = backend.create_secret

    def delete_secret(self, secret_id, *args, **kwargs):
        _refuse_if_owned(self, secret_id, "delete")
        return original_delete(self, secret_id, *args, **kwargs)

    def put_secret_value(self, secret_id, secret_string=None, secret_binary=None, client_request_token=None, version_stages=None):
        _refuse_if_owned(self, secret_id, "put a value in")
        if on("version-immutable") and client_request_token and self._is_valid_identifier(secret_id):
            # A version's value never changes: the placeholder RotateSecret stages may
            # be filled once, then the same token with another value is refused (API
            # reference, PutSecretValue, ClientRequestToken). moto lets a version that
            # carries AWSPENDING be overwritten, which would hide a createSecret that
            # makes a new password on every retry.
            secret = self.secrets[secret_id]
            version = getattr(secret, "versions", {}).get(client_request_token)
            filled = version is not None and ("secret_string" in version or "secret_binary" in version)
            if filled and (version.get("secret_string"), version.get("secret_binary")) != (secret_string, secret_binary):
                from moto.secretsmanager.exceptions import ResourceExistsException

                raise ResourceExistsException(
                    f"You can't use ClientRequestToken {client_request_token} because that value is already in use for a version of secret {secret.arn}."
                )
        answer = original_put(self, secret_id, secret_string, secret_binary, client_request_token, version_stages)
        if not version_stages or "AWSCURRENT" in version_stages:
            _changed_by_hand(self, secret_id)
        return answer

    def update_secret(self, secret_id, *args, **kwargs):
        _refuse_if_owned(self, secret_id, "update")
        answer = original_update(self, secret_id, *args, **kwargs)
        value = (list(args[:2]) + [kwargs.get("secret_string"), kwargs.get("secret_binary")])
        if any(v is not None for v in value):
            _changed_by_hand(self, secret_id)
        return answer

    def create_secret(self, name, *args, **kwargs):
        from moto.secretsmanager.exceptions import InvalidRequestException

        existing = self.secrets.get(name) if hasattr(self.secrets, "get") else None
        if existing is not None and existing.is_deleted():
            raise InvalidRequestException(
                "You can't create this secret because a secret with this name is already scheduled for deletion."
            )
        return original_create(self, name, *args, **kwargs)

    def list_secret_version_ids(self, secret_id, include_deprecated=False):
        # Secrets Manager API reference, ListSecretVersionIds: "Versions without staging
        # labels are considered deprecated ... By default, versions without staging
        # labels aren't included" (IncludeDeprecated lists them); CreatedDate is the
        # version's own. moto 5.2.5 lists every version and dates each "now".
        from moto.secretsmanager.exceptions import SecretNotFoundException

        if not self._is_valid_identifier(secret_id):
            raise SecretNotFoundException()
        secret = self.secrets[secret_id]
        versions = [
            {
                "CreatedDate": version.get("createdate", int(time.time())),
                "VersionId": version_id,
                "VersionStages": version["version_stages"],
            }
            for version_id, version in secret.versions.items()
            if include_deprecated or version["version_stages"] or not on("deprecated-versions")
        ]
        return json.dumps({"ARN": secret.arn, "Name": secret.name, "Versions": versions})

    replace(backend, "delete_secret", delete_secret)
    replace(backend, "put_secret_value", put_secret_value)
    replace(backend, "update_secret", update_secret)
    replace(backend, "create_secret", create_secret)
    replace(backend, "list_secret_version_ids", list_secret_version_ids)

    from moto.secretsmanager.responses import SecretsManagerResponse

    def list_secret_version_ids_response(self):
        include = self._get_param("IncludeDeprecated", if_none=False)
        return self.backend.list_secret_version_ids(
            secret_id=self._get_param("SecretId", if_none=""),
            include_deprecated=include is True or str(include).lower() == "true",
        )

    replace(SecretsManagerResponse, "list_secret_version_ids", list_secret_version_ids_response)
