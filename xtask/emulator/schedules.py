"""Secrets Manager's rotation rules: what RotateSecret accepts as a schedule and a window.

Secrets Manager API reference, RotationRulesType: ``AutomaticallyAfterDays`` (1-1000)
or ``ScheduleExpression`` (``rate()`` or ``cron()``, UTC), not both; a rate in hours
is 4 to 23 hours ("You can rotate a secret as often as every four hours");
``Duration`` is the rotation window in hours. "The window must not extend into the
next rotation window or the next UTC day. The window starts according to the
ScheduleExpression" (a ``rate()`` window starts at midnight). Without a Duration the
window closes after one hour for a schedule in hours and at the end of the UTC day
for one in days, so only an explicit Duration can overlap.

Behaviour ``rotation-window`` follows the user guide's "Rotation schedules" /
"Rotation windows": windows "always start on the hour", so a ``cron()`` whose minute
field is not ``0`` is refused; a secret rotates "as often as every four hours", so a
``cron()`` starting more often than that is refused; a window in hours may be no
longer than the hours between rotations, and "A cron expression that includes
increments of hours resets each day", so a cron starting several times a day is
judged by the gaps between its starts, the last one's reaching the next day's first;
a cron starting once a day must end by midnight. AWS's exact messages for these
refusals are not documented; the texts here say which rule was broken. Left
undecided, and accepted: hour fields this does not read (``L``, names).

Both-fields refusal: AWS's text, as users report it (hashicorp/terraform-provider-aws
#33329, #30540): "You cannot specify both rotation frequency and schedule expression
together."

Nothing here does work at import time.
"""

from __future__ import annotations

import re

RATE = re.compile(r"^rate\((\d+) (hour|hours|day|days)\)$")
CRON = re.compile(r"^cron\(([^()]+)\)$")
DURATION = re.compile(r"^(\d+)h$")
BOTH_REFUSED = "You cannot specify both rotation frequency and schedule expression together."


class RulesRefused(ValueError):
    """RotationRules Secrets Manager refuses (InvalidParameterException)."""


def _field_values(field: str, low: int, high: int) -> list[int] | None:
    """The values a cron field takes (`*`, `N`, `A-B`, `A,B`, `*/S`, `A/S`, `A-B/S`);
    None for what this does not read (`L`, `W`, `#`, names)."""
    values: set[int] = set()
    for part in field.split(","):
        match = re.fullmatch(r"(\*|\d+)(?:-(\d+))?(?:/(\d+))?", part.strip())
        if not match:
            return None
        start_text, end_text, step_text = match.groups()
        if start_text == "*":
            start, end = low, high
        else:
            start = int(start_text)
            end = int(end_text) if end_text is not None else (high if step_text else start)
        step = int(step_text) if step_text else 1
        if step < 1 or not low <= start <= high or not low <= end <= high or start > end:
            return None
        values.update(range(start, end + 1, step))
    return sorted(values)


def window_refusal(schedule: str | None, duration: str | None) -> str | None:
    """Why AWS refuses this schedule and window, or None when they fit (or when the
    rules above leave it undecided)."""
    if not schedule:
        return None
    window = None
    if duration and DURATION.match(duration):
        window = int(DURATION.match(duration).group(1)) * 60
    rate = RATE.match(schedule)
    if rate:
        every = int(rate.group(1)) * (60 if rate.group(2).startswith("hour") else 24 * 60)
        if window is not None and window > every:
            return f"Duration {duration} is longer than the {schedule} interval: the window would extend into the next rotation window."
        return None
    cron = CRON.match(schedule)
    if not cron or len(cron.group(1).split()) != 6:
        return None
    minutes, hours_field = cron.group(1).split()[:2]
    if minutes != "0":
        return f"{schedule}: rotation windows start on the hour; the minutes field must be 0."
    hours = _field_values(hours_field, 0, 23)
    if not hours:
        return None
    starts = [hour * 60 for hour in hours]
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
    if len(starts) > 1:
        gaps.append(24 * 60 + starts[0] - starts[-1])  # the last start to the next day's first
        if min(gaps) < 4 * 60:
            return f"{schedule} starts more often than every four hours, the shortest rotation schedule."
        if window is not None and window > min(gaps):
            return f"Duration {duration} is longer than the {min(gaps) // 60} hours between rotations of {schedule}: the window would extend into the next rotation window."
    elif window is not None and starts[0] + window > 24 * 60:
        return f"Duration {duration} from {hours[0]:02d}:00 UTC extends into the next UTC day."
    return None


def validate_rotation_rules(rules: dict, windows: bool = True) -> int | None:
    """Checks RotationRules as AWS does; returns the interval in seconds when known.
    Raises RulesRefused. ``windows``: whether the ``rotation-window`` behaviour is on."""
    days = rules.get("AutomaticallyAfterDays")
    schedule = rules.get("ScheduleExpression")
    duration = rules.get("Duration")
    if days is not None and schedule is not None:
        raise RulesRefused(BOTH_REFUSED)
    interval = None
    if days is not None:
        if not 1 <= int(days) <= 1000:
            raise RulesRefused("RotationRules.AutomaticallyAfterDays must be within 1-1000.")
        interval = int(days) * 86400
    if schedule is not None:
        rate = RATE.match(schedule)
        if rate:
            amount = int(rate.group(1))
            hours = rate.group(2).startswith("hour")
            if hours and not 4 <= amount <= 23:
                raise RulesRefused("rate(N hours) must be between 4 and 23 hours.")
            if not hours and not 1 <= amount <= 1000:
                raise RulesRefused("rate(N days) must be between 1 and 1000 days.")
            interval = amount * (3600 if hours else 86400)
        elif CRON.match(schedule):
            if len(CRON.match(schedule).group(1).split()) != 6:
                raise RulesRefused("A cron() expression has six fields.")
        else:
            raise RulesRefused(f"Invalid ScheduleExpression {schedule!r}: use rate(N days), rate(N hours) or cron(...).")
    if duration is not None:
        match = DURATION.match(duration)
        if not match or not 1 <= int(match.group(1)) <= 24:
            raise RulesRefused(f"Invalid Duration {duration!r}: use a number of hours such as 2h (1h-24h).")
    if windows:
        refusal = window_refusal(schedule, duration)
        if refusal:
            raise RulesRefused(refusal)
    return interval
