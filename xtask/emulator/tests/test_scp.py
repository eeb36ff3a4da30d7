"""Which calls a service control policy refuses, and in which words (scp.py)."""

import json

import pytest

import scp

REGION_DENY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}},
            },
        ],
    }
)
CALLER = "arn:aws:sts::111111111111:assumed-role/Audit/s"


def test_only_the_deny_statements_are_judged():
    kept = scp.only_denials(REGION_DENY)["Statement"]
    assert [s["Effect"] for s in kept] == ["Deny"]
    assert scp.only_denials("not json") == {"Statement": []}
    assert scp.only_denials({"Statement": {"Effect": "Allow", "Action": "*"}}) == {"Statement": []}


@pytest.fixture
def member_with(monkeypatch):
    def attach(*contents):
        monkeypatch.setattr(scp, "_policies_on_path", lambda account: list(contents) if account == "111111111111" else None)

    return attach


def test_a_denied_region_is_refused_naming_the_scp_in_ec2s_words(member_with):
    member_with(REGION_DENY)
    message = scp.refusal(CALLER, "ec2:DescribeRegions", "*", "eu-west-1", "ec2")
    assert message == (
        "You are not authorized to perform this operation. User: arn:aws:sts::111111111111:assumed-role/Audit/s "
        "is not authorized to perform: ec2:DescribeRegions with an explicit deny in a service control policy"
    )
    other = scp.refusal(CALLER, "rds:DescribeDBInstances", "*", "eu-west-1", "rds")
    assert other.endswith("on resource: * with an explicit deny in a service control policy")
    assert scp.refusal(CALLER, "ec2:DescribeRegions", "*", "us-east-1", "ec2") is None


def test_no_scp_or_no_member_account_refuses_nothing(member_with):
    member_with()
    assert scp.refusal(CALLER, "ec2:DescribeRegions", "*", "eu-west-1", "ec2") is None
    member_with(REGION_DENY)
    management = "arn:aws:iam::222222222222:user/admin"
    assert scp.refusal(management, "ec2:DescribeRegions", "*", "eu-west-1", "ec2") is None
    assert scp.refusal(None, "ec2:DescribeRegions", "*", "eu-west-1", "ec2") is None
