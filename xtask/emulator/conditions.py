"""IAM's Condition element, decided as AWS decides it: one evaluator for every policy.

The emulator judges identity policies (signed requests and the roles Lambda acts
with), trust policies (AssumeRole) and Lambda resource policies (Secrets Manager
invoking a rotation function). Each used to read ``Condition`` its own way, or not
at all; moto 5.2.5 evaluates only ``StringEquals`` and treats every other operator
as met, which lets a Deny apply and an Allow apply that AWS would not. All of them
call ``conditions_hold`` now. Pure: no moto, no work at import.

What AWS documents, and how it is read here:

* IAM user guide, "IAM JSON policy elements: Condition operators"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
  the String, Numeric, Date, Bool, Binary, IpAddress and Arn operators. A key absent
  from the request context makes the test false, except that a negated operator
  (``StringNotEquals``, ``ArnNotLike``, ``NotIpAddress``, ...) is then true; ``...IfExists``
  on an absent key is true, and "if you are using an Effect: Deny element with a
  negated condition operator like StringNotEqualsIfExists, the request is still
  denied even if the tag is missing". ``Null`` tests presence and takes no
  ``IfExists``. ``ArnLike``/``ArnEquals`` (identical) match each of the six
  colon-separated parts of an ARN on its own, so ``*`` never spans a colon there
  (except in the last part, the resource, which may hold colons).
  ``StringLike``/``ArnLike`` take ``*`` and ``?``; matching is case-sensitive except
  the ``...IgnoreCase`` operators.
* IAM user guide, "Conditions with multiple context keys or values"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/conditions-setoperators.html):
  operators are ANDed, keys under one operator are ANDed, a key's values are ORed,
  and a negated operator's values are NORed. Condition keys are case-insensitive
  ("AWS global condition context keys"; Lambda's AddPermission writes
  ``AWS:SourceAccount``). ``ForAllValues:`` holds when every request value matches
  (and when the key is absent or its set empty); ``ForAnyValue:`` when one does
  (never when absent or empty) ("Single-valued vs. multivalued context keys").
  ``ForAnyValue:...IfExists`` on an absent key is false as well: observed on AWS and
  reported (AWS re:Post, "ForAnyValue:StringEqualsIfExists behaving unexpectedly"),
  not documented.

What the emulator cannot decide (an operator it does not know, a value it cannot
parse, a policy variable ``${...}``, a single-valued operator on a multivalued key)
is neither true nor false. Three-valued, as AND reads it: a known false part
decides the block, otherwise the unknown part does, and it never lets an Allow
apply and always lets a Deny apply (the ``effect`` argument), so a policy the
emulator misreads errs towards refusing.

Behaviour ``iam-conditions`` (switched where requests are judged, ``iam_enforcement``).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from datetime import datetime, timezone
from operator import eq, ge, gt, le, lt

__all__ = ["EMULATOR_KEYS", "conditions_hold", "wildcard"]

_UNKNOWN = None  # the third truth value

# The condition keys the emulator supplies wherever AWS does (exact names, or a
# prefix ending in "/"). A key outside this list that a request lacks is not known
# to be absent (AWS may send it: aws:TagKeys, secretsmanager:VersionStage,
# aws:PrincipalTag/..., aws:SourceIp, kms:ViaService, ...), so a test of it is
# undecidable rather than "absent": it never lets an Allow apply and always lets a
# Deny apply, instead of letting an IfExists or negated Allow through.
EMULATOR_KEYS = (
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principaltype",
    "aws:username",
    "aws:requestedregion",
    "aws:currenttime",
    "aws:epochtime",
    "aws:securetransport",
    "aws:sourceaccount",
    "aws:sourcearn",
    # Given to a function's calls through an interface endpoint, absent from the
    # others (endpoint_policy.endpoint_keys), as AWS does.
    "aws:sourcevpce",
    "aws:sourcevpc",
    "sts:externalid",
    "aws:resourcetag/",
    "secretsmanager:resourcetag/",
)


def _modelled(key: str, keys) -> bool:
    return any(key == k or (k.endswith("/") and key.startswith(k)) for k in keys)


def wildcard(pattern: str, value: str, case_sensitive: bool) -> bool:
    """IAM's ``*`` and ``?`` (IAM user guide, "IAM JSON policy elements: Resource",
    and the Like condition operators), matched greedily with a single back-up point:
    O(pattern x value), where a regular expression of ``.*`` parts backtracks without
    bound on a crafted policy."""
    p, v = str(pattern), str(value)
    if not case_sensitive:
        p, v = p.lower(), v.lower()
    pi = vi = 0
    star, mark = -1, 0
    while vi < len(v):
        if pi < len(p) and p[pi] != "*" and (p[pi] == "?" or p[pi] == v[vi]):
            pi, vi = pi + 1, vi + 1
        elif pi < len(p) and p[pi] == "*":
            star, mark = pi, vi
            pi += 1
        elif star != -1:
            mark += 1
            pi, vi = star + 1, mark
        else:
            return False
    while pi < len(p) and p[pi] == "*":
        pi += 1
    return pi == len(p)


class _Undecidable(Exception):
    """A value the emulator cannot read (a number that is not one, a policy variable)."""


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise _Undecidable from None


def _instant(text: str) -> float:
    """ISO 8601 (W3C profile) or epoch seconds, as IAM's Date operators take them."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _Undecidable from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _boolean(text: str) -> str:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise _Undecidable
    return lowered


def _arn_like(pattern: str, value: str) -> bool:
    if pattern == "*":
        return True
    wanted, actual = pattern.split(":", 5), value.split(":", 5)
    if len(wanted) != 6 or len(actual) != 6:
        return False
    return all(wildcard(w, a, True) for w, a in zip(wanted, actual))


def _ip_in(network: str, address: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        raise _Undecidable from None


def _binary_equals(encoded: str, value: str) -> bool:
    try:
        return base64.b64decode(encoded, validate=True) == value.encode()
    except (binascii.Error, ValueError):
        raise _Undecidable from None


# operator -> (does one policy value match one request value, is it negated)
_OPERATORS = {
    "StringEquals": (lambda p, v: p == v, False),
    "StringNotEquals": (lambda p, v: p == v, True),
    "StringEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), True),
    "StringLike": (lambda p, v: wildcard(p, v, True), False),
    "StringNotLike": (lambda p, v: wildcard(p, v, True), True),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
    "Bool": (lambda p, v: _boolean(p) == _boolean(v), False),
    "BinaryEquals": (_binary_equals, False),
    "IpAddress": (_ip_in, False),
    "NotIpAddress": (_ip_in, True),
}
# Numeric and Date operators: the request's value compared with the policy's.
_COMPARISONS = {
    "Equals": (eq, False),
    "NotEquals": (eq, True),
    "LessThan": (lt, False),
    "LessThanEquals": (le, False),
    "GreaterThan": (gt, False),
    "GreaterThanEquals": (ge, False),
}
for _family, _parse_value in (("Numeric", _number), ("Date", _instant)):
    for _name, (_compare, _negated) in _COMPARISONS.items():
        _OPERATORS[_family + _name] = (
            lambda p, v, compare=_compare, parse=_parse_value: compare(parse(v), parse(p)),
            _negated,
        )
# Policy variables are read only by these (IAM user guide, "Condition operators").
_TAKES_VARIABLES = ("String", "Arn", "Bool")


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _policy_values(values) -> list[str]:
    values = values if isinstance(values, list) else [values]
    return [_text(v) for v in values]


def _context_values(value) -> list[str] | None:
    """None when the key is absent; a list (maybe empty) otherwise."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, set)):
        return [_text(v) for v in value]
    return [_text(value)]


def _one_value(matches, negated: bool, policy_values: list[str], value: str) -> bool:
    hit = any(matches(p, value) for p in policy_values)
    return not hit if negated else hit


def _parse(operator: str) -> tuple[str | None, bool, str] | None:
    """(set qualifier, IfExists, base operator), or None for an operator IAM lacks."""
    qualifier = None
    for prefix in ("ForAnyValue:", "ForAllValues:"):
        if operator.startswith(prefix):
            qualifier, operator = prefix[:-1], operator[len(prefix) :]
            break
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    if base == "Null" and (if_exists or qualifier):
        return None  # "IfExists ... except the Null condition"
    if base != "Null" and base not in _OPERATORS:
        return None
    return qualifier, if_exists, base


def _key(operator: str, expected, actual) -> bool | None:
    """One operator over one key: True, False, or None (undecidable)."""
    parsed = _parse(operator)
    if parsed is None:
        return _UNKNOWN
    qualifier, if_exists, base = parsed
    if base == "Null":
        try:
            wanted = {_boolean(v) for v in _policy_values(expected)}
        except _Undecidable:
            return _UNKNOWN
        return ("true" if actual is None else "false") in wanted
    matches, negated = _OPERATORS[base]
    policy_values = _policy_values(expected)
    if any("${" in p for p in policy_values) and base.startswith(_TAKES_VARIABLES):
        return _UNKNOWN  # policy variables are not substituted here
    if qualifier and actual is not None:
        actual = [v for v in actual if v != ""]  # an empty string is an empty set
    if actual is None:
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return True if (if_exists or negated) else False
    try:
        if qualifier == "ForAllValues":
            return all(_one_value(matches, negated, policy_values, v) for v in actual)
        if qualifier == "ForAnyValue":
            return any(_one_value(matches, negated, policy_values, v) for v in actual)
        if len(actual) != 1:
            return _UNKNOWN  # a multivalued key needs a set operator
        return _one_value(matches, negated, policy_values, actual[0])
    except _Undecidable:
        return _UNKNOWN


def _block(condition, context: dict, keys=None) -> bool | None:
    if condition is None:
        return True
    if not isinstance(condition, dict):
        return _UNKNOWN
    unknown = False
    for operator, tests in condition.items():
        if not isinstance(tests, dict) or _parse(str(operator)) is None:
            unknown = True  # an operator IAM lacks is undecidable even over no keys
            if not isinstance(tests, dict):
                continue
        for key, expected in tests.items():
            name = str(key).lower()
            if keys is not None and name not in context and not _modelled(name, keys):
                unknown = True  # AWS may send this key; the emulator does not know it
                continue
            verdict = _key(str(operator), expected, context.get(name))
            if verdict is False:
                return False
            unknown = unknown or verdict is _UNKNOWN
    return _UNKNOWN if unknown else True


def conditions_hold(condition_block, context: dict, effect: str, keys=None) -> bool:
    """Whether a statement's ``Condition`` lets its ``effect`` (``Allow``/``Deny``) apply.

    ``context`` maps condition keys (any case) to a value (str, bool, number) or a
    list of values; an absent key is missing or None. ``keys``, when given, lists the
    keys known to be absent when missing (``EMULATOR_KEYS``); any other missing key
    is undecidable. What cannot be decided lets a Deny apply and never an Allow.
    """
    normalised = {}
    for key, value in (context or {}).items():
        values = _context_values(value)
        if values is not None:
            normalised[str(key).lower()] = values
    verdict = _block(condition_block, normalised, keys)
    if verdict is _UNKNOWN:
        return effect == "Deny"
    return verdict
