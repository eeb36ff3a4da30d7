"""Secrets Manager's rotation rules (schedules.py): schedules and windows, one rule a case."""

from __future__ import annotations

import pytest

import schedules


@pytest.mark.parametrize(
    ("schedule", "duration", "refused"),
    [
        ("rate(2 days)", "2h", None),
        ("rate(2 days)", "24h", None),  # a day's window closes at midnight at the latest
        ("rate(4 hours)", "4h", None),
        ("rate(4 hours)", "5h", "next rotation window"),
        ("rate(12 hours)", "13h", "next rotation window"),
        ("cron(0 8 ? * MON *)", "3h", None),
        ("cron(0 22 * * ? *)", "2h", None),  # ends exactly at midnight
        ("cron(0 22 * * ? *)", "3h", "next UTC day"),
        ("cron(0 */4 * * ? *)", "4h", None),
        ("cron(0 */4 * * ? *)", "5h", "next rotation window"),
        ("cron(0 2/4 * * ? *)", "4h", None),  # 22:00 + 4h meets the next day's 02:00: hours reset each day
        ("cron(0 8,16 * * ? *)", "8h", None),
        ("cron(0 8,16 * * ? *)", "9h", "next rotation window"),
        ("cron(0 8,10 * * ? *)", "1h", "every four hours"),
        ("cron(0 * * * ? *)", None, "every four hours"),
        ("cron(30 8 * * ? *)", "1h", "on the hour"),
        ("cron(* 8 * * ? *)", None, "on the hour"),
        ("cron(0 8 * * ? *)", None, None),  # no Duration: the default window always fits
        ("cron(0 L * * ? *)", "23h", None),  # an hour field this does not read: undecided
        ("cron(0 8 * * ? 2027)", None, "year field must be *"),  # the user guide's table: "Must be *"
        ("cron(0 8 * * ? 2026-2030)", "2h", "year field must be *"),
        ("cron(0 8 * * ? */2)", None, "year field must be *"),
    ],
)
def test_a_window_may_not_run_into_the_next_window_or_day(schedule, duration, refused):
    reason = schedules.window_refusal(schedule, duration)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason


def test_both_a_frequency_and_an_expression_are_refused_with_aws_text():
    with pytest.raises(schedules.RulesRefused, match="You cannot specify both rotation frequency and schedule expression together."):
        schedules.validate_rotation_rules({"AutomaticallyAfterDays": 2, "ScheduleExpression": "rate(2 days)"})


def test_the_window_rule_is_only_applied_when_its_behaviour_is_on():
    rules = {"ScheduleExpression": "rate(4 hours)", "Duration": "6h"}
    with pytest.raises(schedules.RulesRefused):
        schedules.validate_rotation_rules(rules)
    assert schedules.validate_rotation_rules(rules, windows=False) == 4 * 3600


@pytest.mark.parametrize(
    ("rules", "interval"),
    [
        ({"AutomaticallyAfterDays": 30}, 30 * 86400),
        ({"ScheduleExpression": "rate(2 days)", "Duration": "2h"}, 2 * 86400),
        ({"ScheduleExpression": "rate(6 hours)"}, 6 * 3600),
        ({"ScheduleExpression": "cron(0 8 ? * MON *)", "Duration": "3h"}, None),
    ],
)
def test_the_interval_is_known_for_rates_and_days(rules, interval):
    assert schedules.validate_rotation_rules(rules) == interval


@pytest.mark.parametrize(
    "rules",
    [
        {"AutomaticallyAfterDays": 0},
        {"ScheduleExpression": "rate(3 hours)"},
        {"ScheduleExpression": "rate(1001 days)"},
        {"ScheduleExpression": "cron(0 8 * * ?)"},
        {"ScheduleExpression": "every day"},
        {"ScheduleExpression": "rate(2 days)", "Duration": "25h"},
        {"ScheduleExpression": "rate(2 days)", "Duration": "2 hours"},
    ],
)
def test_malformed_rules_are_refused(rules):
    with pytest.raises(schedules.RulesRefused):
        schedules.validate_rotation_rules(rules)


def at(text: str) -> int:
    from datetime import datetime, timezone

    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp())


@pytest.mark.parametrize(
    ("rules", "after", "next_date", "days"),
    [
        # Live answers (schedules.py's docstring): the next Monday's window, to the end of its day ...
        ({"ScheduleExpression": "cron(0 0 ? * 2 *)"}, "2023-10-16T07:18:02", "2023-10-23T23:59:59", 7),
        ({"ScheduleExpression": "cron(0 0 ? * 2 *)"}, "2026-09-07T18:14:58", "2026-09-14T23:59:59", 7),
        # ... and N days after the last change, to the end of that day.
        ({"AutomaticallyAfterDays": 30}, "2026-02-03T17:42:24", "2026-03-05T23:59:59", 30),
        # A Duration closes the window earlier; a rate() window starts at midnight.
        ({"ScheduleExpression": "rate(2 days)", "Duration": "2h"}, "2026-12-07T16:00:00", "2026-12-09T01:59:59", 2),
        ({"ScheduleExpression": "rate(10 days)"}, "2026-12-07T00:00:00", "2026-12-17T23:59:59", 10),
        ({"ScheduleExpression": "cron(0 8 ? * MON *)", "Duration": "3h"}, "2026-12-07T16:00:00", "2026-12-14T10:59:59", 7),
        ({"ScheduleExpression": "cron(0 8 ? * MON *)", "Duration": "3h"}, "2026-12-07T07:00:00", "2026-12-07T10:59:59", 7),
        ({"ScheduleExpression": "cron(0 16 1,15 * ? *)", "Duration": "2h"}, "2026-12-07T16:00:00", "2026-12-15T17:59:59", 17),
        ({"ScheduleExpression": "cron(0 11 ? 1,4,7,10 3#1 *)"}, "2026-12-07T16:00:00", "2027-01-05T23:59:59", 91),
        ({"ScheduleExpression": "cron(0 21 L * ? *)"}, "2026-02-07T16:00:00", "2026-02-28T23:59:59", 31),
        ({"ScheduleExpression": "cron(0 9 ? * 6L *)"}, "2026-12-01T00:00:00", "2026-12-25T23:59:59", 35),
        # Schedules in hours: the window closes after an hour; no whole days between rotations.
        ({"ScheduleExpression": "rate(6 hours)"}, "2026-12-07T07:18:00", "2026-12-07T12:59:59", None),
        ({"ScheduleExpression": "rate(5 hours)"}, "2026-12-07T21:00:00", "2026-12-08T00:59:59", None),
        ({"ScheduleExpression": "cron(0 */4 * * ? *)"}, "2026-12-07T16:00:00", "2026-12-07T20:59:59", None),
        ({"ScheduleExpression": "cron(0 8,16 * * ? *)", "Duration": "2h"}, "2026-12-07T16:30:00", "2026-12-08T09:59:59", None),
    ],
)
def test_the_next_rotation_date_is_the_last_second_of_the_next_window(rules, after, next_date, days):
    assert schedules.next_rotation(rules, at(after)) == (at(next_date), days)


@pytest.mark.parametrize(
    "schedule",
    [
        "cron(0 0 1 1 ? 2020)",  # a year field that has ended: no window any more
        "cron(0 8 LW * ? *)",  # W is not read
        "cron(0 8 * * MON *)",  # both day fields set: AWS refuses it, nothing to compute
        "every day",
    ],
)
def test_a_schedule_without_a_next_window_has_no_date(schedule):
    assert schedules.next_rotation({"ScheduleExpression": schedule}, at("2026-12-07T16:00:00")) == (None, None)
