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
