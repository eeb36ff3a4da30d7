"""The operator's control paths, as a test or the fuzz reads them."""

import json

import secret_rotation
import strict


def record(arn: str, name: str, token: str, status: str) -> dict:
    return {"secret_arn": arn, "secret_name": name, "token": token, "status": status, "attempts": [{"n": 1}]}


def rotations(query: str) -> list:
    """``GET /_emulator/rotations?<query>`` through the middleware, as the Rust helper sends it."""
    log = secret_rotation.Rotations()
    log.records = [
        record("arn:aws:secretsmanager:us-east-1:123456789012:secret:app+one-AbCdEf", "app+one", "t1", "succeeded"),
        record("arn:aws:secretsmanager:us-east-1:123456789012:secret:two-GhIjKl", "two", "t2", "running"),
        record("arn:aws:secretsmanager:us-east-1:123456789012:secret:app+one-AbCdEf", "app+one", "t3", "running"),
    ]
    app = strict.StrictApp(lambda environ, start: [b"moto"], log.snapshot)
    statuses = []
    body = app(
        {"PATH_INFO": "/_emulator/rotations", "QUERY_STRING": query, "REQUEST_METHOD": "GET"},
        lambda status, headers: statuses.append(status),
    )
    assert statuses == ["200 OK"]
    return [(r["secret_name"], r["token"]) for r in json.loads(b"".join(body))]


def test_without_a_query_every_rotation_is_listed():
    assert rotations("") == [("app+one", "t1"), ("two", "t2"), ("app+one", "t3")]


def test_a_secret_by_percent_encoded_arn_lists_only_its_rotations_oldest_first():
    # The text xtask's `query_value` gives for this ARN (its unit test has the same row).
    arn = "arn%3Aaws%3Asecretsmanager%3Aus-east-1%3A123456789012%3Asecret%3Aapp%2Bone-AbCdEf"
    assert rotations(f"secret={arn}") == [("app+one", "t1"), ("app+one", "t3")]


def test_an_unencoded_plus_is_a_space_and_an_empty_name_lists_nothing():
    assert rotations("secret=app+one") == []
    assert rotations("secret=") == []


def test_a_secret_by_name_lists_its_rotations_and_an_unknown_one_none():
    assert rotations("secret=two") == [("two", "t2")]
    assert rotations("secret=app%2Bone") == [("app+one", "t1"), ("app+one", "t3")]
    assert rotations("secret=app") == []
