"""RDS's managed rotation: its schedule and how it moves the staging labels
(rds_rotation.managed_schedule, stages_while_rotating, stages_after_rotation)."""

import pytest

import rds_rotation


def test_rds_rotates_every_seven_days_by_the_end_of_the_seventh_day():
    rules, next_date = rds_rotation.managed_schedule(1_000)
    assert rules == {"AutomaticallyAfterDays": 7}
    assert next_date == 8 * 86400 - 1  # 1970-01-08 23:59:59 UTC: the window of the day 7 days on


def test_a_schedule_the_user_set_on_the_managed_secret_is_kept():
    rules, next_date = rds_rotation.managed_schedule(1_000, {"ScheduleExpression": "rate(2 days)", "Duration": "2h"})
    assert rules == {"ScheduleExpression": "rate(2 days)", "Duration": "2h"}
    assert next_date == 2 * 86400 + 2 * 3600 - 1


@pytest.mark.parametrize(
    "before, during, after",
    [
        # the first rotation of a new secret
        ({"v1": ["AWSCURRENT"]}, {"v1": ["AWSCURRENT"], "new": ["AWSPENDING"]}, {"v1": ["AWSPREVIOUS"], "new": ["AWSCURRENT", "AWSPENDING"]}),
        # a later one: the last rotation left AWSPENDING beside AWSCURRENT (AWS CLI
        # reference, list-secrets example 3); the oldest version loses AWSPREVIOUS
        (
            {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT", "AWSPENDING"]},
            {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"], "new": ["AWSPENDING"]},
            {"v1": [], "v2": ["AWSPREVIOUS"], "new": ["AWSCURRENT", "AWSPENDING"]},
        ),
        # a label of the user's stays where it is
        (
            {"v1": ["AWSCURRENT", "golden"]},
            {"v1": ["AWSCURRENT", "golden"], "new": ["AWSPENDING"]},
            {"v1": ["golden", "AWSPREVIOUS"], "new": ["AWSCURRENT", "AWSPENDING"]},
        ),
    ],
)
def test_the_labels_move_as_rds_moves_them(before, during, after):
    new = "new"
    while_rotating = rds_rotation.stages_while_rotating(before, new)
    assert while_rotating == during
    assert rds_rotation.stages_after_rotation(while_rotating, new) == after
    assert sum("AWSCURRENT" in labels for labels in rds_rotation.stages_after_rotation(while_rotating, new).values()) == 1


@pytest.mark.parametrize(
    "request_body, fragment",
    [
        ({}, "needs"),
        ({"instance": "db1"}, "needs"),
        ({"instance": "db1", "region": "us-east-1", "hold_seconds": -1}, "hold_seconds"),
        ({"instance": "db1", "region": "us-east-1", "hold_seconds": "5"}, "hold_seconds"),
        ({"instance": "db1", "region": "us-east-1", "hold_seconds": 601}, "hold_seconds"),
    ],
)
def test_a_bad_request_is_refused_with_what_to_send(request_body, fragment, monkeypatch):
    monkeypatch.setattr(rds_rotation, "on", lambda name: True)
    with pytest.raises(rds_rotation.RotationRefused, match=fragment):
        rds_rotation.rotate_on_request(request_body)
