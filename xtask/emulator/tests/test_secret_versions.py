"""ListSecretVersionIds as AWS answers it (secrets_manager.install_secretsmanager_patches)."""

import boto3
from moto import mock_aws

import secrets_manager


def test_deprecated_versions_are_listed_only_when_asked_for():
    secrets_manager.install_secretsmanager_patches()
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name="s", SecretString="one")
        pending = client.put_secret_value(SecretId="s", SecretString="two", VersionStages=["AWSPENDING"])["VersionId"]
        client.update_secret_version_stage(SecretId="s", VersionStage="AWSPENDING", RemoveFromVersionId=pending)
        labelled = client.list_secret_version_ids(SecretId="s")["Versions"]
        every = client.list_secret_version_ids(SecretId="s", IncludeDeprecated=True)["Versions"]
    assert [v["VersionStages"] for v in labelled] == [["AWSCURRENT"]]
    assert sorted(v["VersionId"] for v in every if not v["VersionStages"]) == [pending]
    assert len(every) == 2
