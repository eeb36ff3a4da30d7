"""STS knows its caller by the key that signed (sts_trust.signing_key)."""

from __future__ import annotations

import pytest

import sts_trust

SCOPE = "/20261207/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"


@pytest.mark.parametrize(
    "authorization, moto_key, expected",
    [
        # The emulator's key, which moto's 20-capitals pattern misses.
        (f"AWS4-HMAC-SHA256 Credential=testing{SCOPE}", "AKIAEXAMPLE", "testing"),
        # A key moto finds: the same answer.
        (f"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE{SCOPE}", "AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
        # No header, or no credential in it: moto's answer stands.
        (None, "AKIAEXAMPLE", "AKIAEXAMPLE"),
        ("AWS4-HMAC-SHA256 Signature=abc", "AKIAEXAMPLE", "AKIAEXAMPLE"),
    ],
)
def test_the_signing_key_is_read_from_the_credential_scope(authorization, moto_key, expected):
    assert sts_trust.signing_key(authorization, moto_key) == expected


def test_get_caller_identity_names_the_user_whose_key_signed():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends
    from moto.sts.responses import TokenResponse

    iam = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
    user = iam.create_user(region_name="us-east-1", user_name="caller-test", path="/", tags=[])
    key = iam.create_access_key(user.name, prefix="AKIA")
    key.access_key_id = "testing-caller"
    originals = {name: getattr(TokenResponse, name) for name in ("get_access_key", "assume_role")}

    def answer() -> str:
        response = TokenResponse()
        response.headers = {"Authorization": f"AWS4-HMAC-SHA256 Credential=testing-caller{SCOPE}"}
        response.querystring = {}
        response.region = "us-east-1"
        response.partition = "aws"
        response.current_account = DEFAULT_ACCOUNT_ID
        _, arn, _ = response.backend.get_caller_identity(response.get_access_key(), "us-east-1")
        return arn

    try:
        # Without the patch: moto's placeholder, the mismatch seed 1208 case 85 showed.
        assert answer() == f"arn:aws:sts::{DEFAULT_ACCOUNT_ID}:user/moto"
        sts_trust.install_sts_patches()
        assert answer() == user.arn
    finally:
        # Every method install_sts_patches replaces, so no later test runs patched.
        for name, original in originals.items():
            setattr(TokenResponse, name, original)
        # The key's id was changed after moto indexed it: unindex it by identity.
        user.access_keys.remove(key)
        for index, indexed in list(iam.access_keys.items()):
            if indexed is key:
                del iam.access_keys[index]
        iam.delete_user(user.name)


def test_the_caller_test_leaves_stss_methods_as_moto_has_them():
    from moto.sts.responses import TokenResponse

    names = ("get_access_key", "assume_role")
    before = {name: getattr(TokenResponse, name) for name in names}
    test_get_caller_identity_names_the_user_whose_key_signed()
    assert {name: getattr(TokenResponse, name) for name in names} == before
