"""IAM's Condition element (conditions.conditions_hold), table-driven: each row is a
condition block, a request context, and whether an Allow and a Deny then apply."""

import pytest

from conditions import conditions_hold, wildcard

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf"
ROLE = "arn:aws:iam::123456789012:role/rotator"
CONTEXT = {
    "aws:PrincipalArn": ROLE,
    "aws:PrincipalAccount": "123456789012",
    "aws:SecureTransport": True,
    "aws:ResourceTag/team": "x",
    "aws:EpochTime": "1767225600",  # 2026-01-01T00:00:00Z
    "aws:CurrentTime": "2026-01-01T00:00:00Z",
    "aws:SourceIp": "203.0.113.7",
    "aws:TagKeys": ["team", "owner"],
    "s3:max-keys": "10",
}

# (condition block, context, Allow applies, Deny applies)
CASES = [
    # No condition: the statement applies.
    (None, CONTEXT, True, True),
    ({}, CONTEXT, True, True),
    # String operators; keys are case-insensitive, values are not.
    ({"StringEquals": {"aws:ResourceTag/team": "x"}}, CONTEXT, True, True),
    ({"StringEquals": {"AWS:RESOURCETAG/TEAM": "x"}}, CONTEXT, True, True),
    ({"StringEquals": {"aws:ResourceTag/team": "X"}}, CONTEXT, False, False),
    ({"StringEqualsIgnoreCase": {"aws:ResourceTag/team": "X"}}, CONTEXT, True, True),
    ({"StringNotEquals": {"aws:ResourceTag/team": "x"}}, CONTEXT, False, False),
    ({"StringNotEqualsIgnoreCase": {"aws:ResourceTag/team": "X"}}, CONTEXT, False, False),
    ({"StringNotEquals": {"aws:ResourceTag/team": "y"}}, CONTEXT, True, True),
    ({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/rot?tor"}}, CONTEXT, True, True),
    ({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/ROT*"}}, CONTEXT, False, False),
    ({"StringNotLike": {"aws:PrincipalArn": "*:role/other*"}}, CONTEXT, True, True),
    # A key's values are ORed; a negated operator's values NORed.
    ({"StringEquals": {"aws:ResourceTag/team": ["y", "x"]}}, CONTEXT, True, True),
    ({"StringNotEquals": {"aws:ResourceTag/team": ["y", "x"]}}, CONTEXT, False, False),
    # Keys under one operator, and operators, are ANDed.
    ({"StringEquals": {"aws:ResourceTag/team": "x", "aws:PrincipalAccount": "999999999999"}}, CONTEXT, False, False),
    ({"StringEquals": {"aws:ResourceTag/team": "x"}, "Bool": {"aws:SecureTransport": "false"}}, CONTEXT, False, False),
    ({"StringEquals": {"aws:ResourceTag/team": "x"}, "Bool": {"aws:SecureTransport": "true"}}, CONTEXT, True, True),
    # An absent key fails a test, but a negated test holds, and so does IfExists.
    ({"StringEquals": {"aws:ResourceTag/other": "x"}}, CONTEXT, False, False),
    ({"StringNotEquals": {"aws:ResourceTag/other": "x"}}, CONTEXT, True, True),
    ({"StringEqualsIfExists": {"aws:ResourceTag/other": "x"}}, CONTEXT, True, True),
    ({"StringNotEqualsIfExists": {"aws:ResourceTag/other": "x"}}, CONTEXT, True, True),
    ({"StringEqualsIfExists": {"aws:ResourceTag/team": "y"}}, CONTEXT, False, False),
    ({"ArnLike": {"aws:SourceArn": SECRET}}, CONTEXT, False, False),
    ({"ArnNotLike": {"aws:SourceArn": SECRET}}, CONTEXT, True, True),
    # Null tests presence, and takes no IfExists.
    ({"Null": {"aws:ResourceTag/other": "true"}}, CONTEXT, True, True),
    ({"Null": {"aws:ResourceTag/team": "true"}}, CONTEXT, False, False),
    ({"Null": {"aws:ResourceTag/team": False}}, CONTEXT, True, True),
    ({"NullIfExists": {"aws:ResourceTag/team": "false"}}, CONTEXT, False, True),
    # Bool: JSON booleans and strings alike.
    ({"Bool": {"aws:SecureTransport": True}}, CONTEXT, True, True),
    ({"Bool": {"aws:SecureTransport": "FALSE"}}, CONTEXT, False, False),
    # ARNs match part by part: * does not span a colon, except in the resource.
    ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}, CONTEXT, True, True),
    ({"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/rotator"}}, CONTEXT, True, True),
    ({"ArnLike": {"aws:PrincipalArn": "arn:aws:*:role/rotator"}}, CONTEXT, False, False),
    ({"StringLike": {"aws:PrincipalArn": "arn:aws:*:role/rotator"}}, CONTEXT, True, True),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:secretsmanager:*:123456789012:secret:app-*"}}, {"aws:SourceArn": SECRET}, True, True),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:secretsmanager:*:123456789012:secret:other-*"}}, {"aws:SourceArn": SECRET}, False, False),
    ({"ArnNotEquals": {"aws:SourceArn": SECRET}}, {"aws:SourceArn": SECRET}, False, False),
    ({"ArnLike": {"aws:SourceArn": SECRET}}, {"aws:SourceArn": "not-an-arn"}, False, False),
    # Numbers, dates and addresses.
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, CONTEXT, True, True),
    ({"NumericLessThan": {"s3:max-keys": "10"}}, CONTEXT, False, False),
    ({"NumericGreaterThan": {"s3:max-keys": "9.5"}}, CONTEXT, True, True),
    ({"NumericNotEquals": {"s3:max-keys": ["10", "11"]}}, CONTEXT, False, False),
    ({"DateGreaterThan": {"aws:CurrentTime": "2025-12-31T23:59:59Z"}}, CONTEXT, True, True),
    ({"DateLessThan": {"aws:EpochTime": "2026-01-01T00:00:00+00:00"}}, CONTEXT, False, False),
    ({"DateEquals": {"aws:EpochTime": "1767225600"}}, CONTEXT, True, True),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, CONTEXT, True, True),
    ({"NotIpAddress": {"aws:SourceIp": ["198.51.100.0/24", "203.0.113.7"]}}, CONTEXT, False, False),
    ({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, CONTEXT, False, False),
    ({"BinaryEquals": {"aws:ResourceTag/team": "eA=="}}, CONTEXT, True, True),
    # Set operators over a multivalued key.
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "owner", "cost"]}}, CONTEXT, True, True),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}, CONTEXT, False, False),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["owner"]}}, CONTEXT, True, True),
    ({"ForAnyValue:StringLike": {"aws:TagKeys": ["cost*"]}}, CONTEXT, False, False),
    ({"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}}, CONTEXT, True, True),
    ({"ForAllValues:StringNotEquals": {"aws:TagKeys": "team"}}, CONTEXT, False, False),
    ({"ForAnyValue:StringNotEquals": {"aws:TagKeys": "team"}}, CONTEXT, True, True),
    # ... absent or empty: ForAllValues holds, ForAnyValue does not (IfExists or not).
    ({"ForAllValues:StringEquals": {"aws:RequestTag/x": "a"}}, CONTEXT, True, True),
    ({"ForAnyValue:StringEquals": {"aws:RequestTag/x": "a"}}, CONTEXT, False, False),
    ({"ForAnyValue:StringEqualsIfExists": {"aws:RequestTag/x": "a"}}, CONTEXT, False, False),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": "a"}}, {"aws:TagKeys": []}, True, True),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": "a"}}, {"aws:TagKeys": ""}, False, False),
    # What the emulator cannot decide never lets an Allow apply, always a Deny:
    # an unknown operator, ...
    ({"StringEqualsSometimes": {"aws:ResourceTag/team": "x"}}, CONTEXT, False, True),
    ({"stringequals": {"aws:ResourceTag/team": "x"}}, CONTEXT, False, True),  # documented spelling only
    ({"ForSomeValues:StringEquals": {"aws:TagKeys": "team"}}, CONTEXT, False, True),
    ({"StringEqualsSometimes": {}}, CONTEXT, False, True),
    ({"StringEquals": {}}, CONTEXT, True, True),
    # ... an unknown one beside a test that holds, ...
    ({"StringEquals": {"aws:ResourceTag/team": "x"}, "Bogus": {"k": "v"}}, CONTEXT, False, True),
    # ... but a test that fails decides the block (false AND unknown is false).
    ({"StringEquals": {"aws:ResourceTag/team": "y"}, "Bogus": {"k": "v"}}, CONTEXT, False, False),
    # ... a value that is not a number, date, boolean, address or base64, ...
    ({"NumericLessThan": {"s3:max-keys": "ten"}}, CONTEXT, False, True),
    ({"NumericLessThan": {"aws:PrincipalArn": "10"}}, CONTEXT, False, True),
    ({"DateLessThan": {"aws:CurrentTime": "next tuesday"}}, CONTEXT, False, True),
    ({"Bool": {"aws:SecureTransport": "yes"}}, CONTEXT, False, True),
    ({"IpAddress": {"aws:SourceIp": "300.0.0.0/8"}}, CONTEXT, False, True),
    ({"BinaryEquals": {"aws:ResourceTag/team": "not base64!"}}, CONTEXT, False, True),
    # ... a policy variable, ...
    ({"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}, CONTEXT, False, True),
    # ... a multivalued key without a set operator, and a malformed block.
    ({"StringEquals": {"aws:TagKeys": "team"}}, CONTEXT, False, True),
    ({"StringEquals": "aws:ResourceTag/team"}, CONTEXT, False, True),
    ("StringEquals", CONTEXT, False, True),
]


@pytest.mark.parametrize("condition, context, allow, deny", CASES)
def test_conditions_hold(condition, context, allow, deny):
    assert conditions_hold(condition, context, "Allow") is allow
    assert conditions_hold(condition, context, "Deny") is deny


def test_an_absent_context_is_an_empty_one():
    assert conditions_hold({"StringNotEquals": {"aws:SourceAccount": "1"}}, None, "Allow") is True
    assert conditions_hold({"StringEquals": {"aws:SourceAccount": "1"}}, {"aws:SourceAccount": None}, "Allow") is False


@pytest.mark.parametrize(
    "pattern, value, case_sensitive, expected",
    [
        ("*", "", True, True),
        ("logs:*", "logs:PutLogEvents", True, True),
        ("LOGS:put*", "logs:PutLogEvents", False, True),
        ("LOGS:put*", "logs:PutLogEvents", True, False),
        ("ec2:*NetworkInterface*", "ec2:DescribeNetworkInterfaces", False, True),
        ("arn:?ws:*", "arn:aws:iam::1:role/r", True, True),
        ("a*b", "acb", True, True),
        ("a*b", "acc", True, False),
        ("[ab]", "a", True, False),  # no character classes in IAM
        ("a.c", "abc", True, False),  # nor regular expressions
        ("*a" * 20 + "b", "a" * 64, True, False),  # a crafted policy answers at once
    ],
)
def test_wildcards_match_as_iam_reads_them(pattern, value, case_sensitive, expected):
    assert wildcard(pattern, value, case_sensitive) is expected


def test_a_key_the_emulator_does_not_model_is_undecidable_not_absent():
    from conditions import EMULATOR_KEYS

    # AWS sends secretsmanager:VersionStage on GetSecretValue; absent here, it must
    # not let an IfExists Allow through, and it must let a positive Deny apply.
    allow_if_exists = {"StringEqualsIfExists": {"secretsmanager:VersionStage": "AWSCURRENT"}}
    deny_previous = {"StringEquals": {"secretsmanager:VersionStage": "AWSPREVIOUS"}}
    assert conditions_hold(allow_if_exists, {}, "Allow") is True  # read as absent
    assert conditions_hold(allow_if_exists, {}, "Allow", EMULATOR_KEYS) is False
    assert conditions_hold(deny_previous, {}, "Deny", EMULATOR_KEYS) is True
    # A modelled key, absent, is absent: aws:SourceArn on a direct call.
    negated = {"ArnNotLike": {"aws:SourceArn": "arn:aws:s3:::x"}}
    assert conditions_hold(negated, {}, "Allow", EMULATOR_KEYS) is True
    tag = {"StringEquals": {"aws:ResourceTag/team": "x"}}
    assert conditions_hold(tag, {}, "Allow", EMULATOR_KEYS) is False
    assert conditions_hold(tag, {"aws:ResourceTag/team": "x"}, "Allow", EMULATOR_KEYS) is True
