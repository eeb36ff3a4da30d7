"""IAM enforced: every request signed by a principal its policies allow, judged as AWS
judges it (optional, per emulator: ``--enforce-iam``; behaviours ``iam-conditions``,
``secret-resource-policy``, ``kms-key-policy``).

``enforce_iam`` turns moto's access control on with the emulator's own key as an
administrator's, then installs, in this order: resource ARNs for Secrets Manager and
RDS calls (``install_resource_arns``), the evaluator with conditions in place of
moto's (``install_condition_evaluation``), and the key-policy judge
(``kms_key_policy``) around it. Sources:

* moto's access control (``INITIAL_NO_AUTH_ACTION_COUNT``); moto 5.2.5 reads only
  ``StringEquals`` and turns an Allow whose condition fails into a Deny
  (``patching.MOTO_VERSION``: the version whose check is replaced).
* IAM user guide, "IAM JSON policy elements: Condition operators" and "Condition with
  multiple context keys or values": a statement applies only where its Condition holds
  in the request's context. One evaluator (``conditions.py``, ``iam_policies``)
  decides every policy here.
* Service Authorization Reference: Secrets Manager actions take the ``Secret``
  resource type, ``rds:DescribeDBInstances`` the ``db`` type.

Nothing here runs at import; the launcher calls ``enforce_iam``.
"""

from __future__ import annotations

import json

import behaviours
from behaviours import on
from iam_policies import access_decision
from iam_requests import resource_tags, secret_at, request_decisions
from kms_key_policy import install_kms_key_policy
from patching import add, check_moto_version, replace


def enforce_iam(account_id: str, access_key: str, secret_key: str) -> None:
    """Every request must be signed by an IAM user allowed the action (moto's access control).

    The emulator's own credentials belong to an administrator user, so the harness
    keeps working; tests make users with narrower policies through the IAM API.
    """
    from moto import settings as moto_settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.models import iam_backends

    iam = iam_backends[account_id]["aws"]
    user = iam.create_user(region_name="us-east-1", user_name="emulator-admin", path="/", tags=[])
    iam.put_user_policy(
        user.name,
        "administrator",
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    )
    key = iam.create_access_key(user.name, prefix="AKIA")
    key.access_key_id = access_key
    key.secret_access_key = secret_key
    moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    ActionAuthenticatorMixin.request_count = 0
    # moto's signature check miscomputes some REST requests (Lambda's, here); the
    # key must still belong to a user, whose policies decide. A known difference.
    from moto.iam.access_control import IAMRequest

    replace(IAMRequest, "check_signature", lambda self: None)
    install_resource_arns()
    if on("iam-conditions"):
        install_condition_evaluation()
    install_kms_key_policy()


def install_condition_evaluation() -> None:
    """Signed requests are judged by ``policy_decision`` with the request's context,
    Conditions included.

    moto 5.2.5's ``IAMRequestBase.check_action_permitted`` asks each statement
    ``IAMPolicyStatement.is_action_permitted``, whose ``_check_conditions`` knows
    only ``StringEquals`` over the keys of ``format_incoming_conditional_values``
    (``sts:ExternalId``), counts every other operator as met, and answers an unmet
    condition with an explicit Deny, even on an Allow statement: a Deny on a tag
    applied to every secret, an Allow limited to a tag to none or all. The whole
    check is replaced: the caller's identity policies (as moto collects them),
    the resource ARN (``install_resource_arns``) and ``request_context`` plus the
    resource's tags; a role session's role also answers for its permissions
    boundary. AssumeRole's trust policy is judged by ``install_sts_patches``.
    """
    from moto.iam import access_control

    check_moto_version("IAMRequestBase.check_action_permitted", "that method")
    base = getattr(access_control, "IAMRequestBase", None)
    if base is None or not callable(getattr(base, "check_action_permitted", None)):
        raise RuntimeError("moto.iam.access_control.IAMRequestBase.check_action_permitted is gone")

    def check_action_permitted(self, resource: str) -> None:
        if self._action == "sts:GetCallerIdentity":
            return  # always allowed, even against an explicit Deny (as moto has it)
        secret = secret_at(resource) if behaviours.on("secret-resource-policy") else None
        # The secret's resource policy, same account only: moto finds a secret in the
        # caller's own account's backend, so a cross-account request never reaches
        # here with another account's secret.
        policy = getattr(secret, "policy", None) if secret is not None else None
        decisions = request_decisions(self, self._action, resource, policy, resource_tags(resource, self._region))
        if not access_decision(*decisions):
            self._raise_access_denied()

    replace(base, "check_action_permitted", check_action_permitted)


def install_resource_arns() -> None:
    """Policies scoped to a resource are judged against that resource's ARN.

    moto checks every call of these services against the resource ``*``
    (``BaseResponse.call_action`` asks ``_determine_resource`` only of IAM, STS and
    SQS), so a statement with ``"Resource": "<secret ARN>"`` never matched and a
    least-privilege policy such as the rotation function's was refused. AWS
    evaluates the ARN of the resource an action names (Service Authorization
    Reference: Secrets Manager actions take the ``Secret`` resource type,
    ``rds:DescribeDBInstances`` the ``db`` type); a call that names none stays ``*``.
    """
    from moto.rds.responses import RDSResponse
    from moto.secretsmanager.responses import SecretsManagerResponse

    def secret_arn(self) -> str:
        try:
            secret_id = self._get_param("SecretId")
            if secret_id and secret_id in self.backend.secrets:
                return self.backend.secrets[secret_id].arn
        except Exception:  # an unreadable request is judged as before, against "*"
            pass
        return "*"

    def db_instance_arn(self) -> str:
        try:
            instance = self._get_param("DBInstanceIdentifier")
            if instance and not instance.startswith("arn:"):
                return f"arn:aws:rds:{self.region}:{self.current_account}:db:{instance}"
            return instance or "*"
        except Exception:
            return "*"

    # moto defines the hook on IAM's, STS's and SQS's responses only: added here.
    add(SecretsManagerResponse, "_determine_resource", secret_arn)
    add(RDSResponse, "_determine_resource", db_instance_arn)
