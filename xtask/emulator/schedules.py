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
"Rotation windows"
(https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html):
windows "always start on the hour", so a ``cron()`` whose minute field is not ``0``
is refused; its table of cron fields says the year "Must be *" ("because Secrets
Manager does not support rotation schedules that are more than a year apart"), so
any other year field is refused; a secret rotates "as often as every four hours", so
a ``cron()`` starting more often than that is refused; a window in hours may be no
longer than the hours between rotations, and "A cron expression that includes
increments of hours resets each day", so a cron starting several times a day is
judged by the gaps between its starts, the last one's reaching the next day's first;
a cron starting once a day must end by midnight. AWS's exact messages for these
refusals are not documented (for the year field none was found in AWS's docs or
public issues either; the error code is the one RotateSecret documents for an invalid
parameter, InvalidParameterException); the texts here say which rule was broken. Left
undecided, and accepted: hour fields this does not read (``L``, names).

Both-fields refusal: AWS's text, as users report it (hashicorp/terraform-provider-aws
#33329, #30540): "You cannot specify both rotation frequency and schedule expression
together."

What DescribeSecret and ListSecrets answer (``next_rotation``; behaviour
``rotation-schedule``), from the API reference and real answers:

- ``NextRotationDate``: "The next rotation is scheduled to occur on or before this
  date. If the secret isn't configured for rotation or rotation has been disabled,
  Secrets Manager returns null. If rotation fails, Secrets Manager retries the entire
  rotation process multiple times. If rotation is unsuccessful, this date may be in
  the past" and it "represents the latest date that rotation will occur" (API
  reference, DescribeSecret). So it is the last second of the next rotation window:
  a live ``list-secrets`` answer (a public lab write-up, 2023) shows
  ``cron(0 0 ? * 2 *)`` last rotated Monday 2023-10-16 07:18 UTC with
  ``NextRotationDate`` 2023-10-23 23:59:59 UTC (the next Monday's window, closing at
  the end of the UTC day), and another (2026) ``AutomaticallyAfterDays`` 30, value last
  changed 2026-02-03 17:42 UTC, with 2026-03-05 23:59:59 UTC: the day N days after
  the last change, to its end. A failed rotation leaves it where it was.
- ``AutomaticallyAfterDays``: "If you use this field to set the rotation schedule,
  Secrets Manager calculates the next rotation date based on the previous rotation.
  Manually updating the secret value by calling PutSecretValue or UpdateSecret is
  considered a valid rotation" and "In DescribeSecret and ListSecrets, this value is
  calculated from the rotation schedule after every successful rotation"
  (RotationRulesType); terraform-provider-aws (``flattenRotationRulesType``): "If
  ScheduleExpression is set, AutomaticallyAfterDays will be the result of AWS
  calculating the number of days between rotations"; the live answer above shows
  ``AutomaticallyAfterDays`` 7 beside ``cron(0 0 ? * 2 *)``.
- Windows: a ``rate()`` window starts at midnight; without a Duration a schedule in
  hours closes after one hour, one in days at the end of the UTC day
  (RotationRulesType, ScheduleExpression and Duration). Day-of-week 1 is Sunday (the
  live answer's ``2`` is Monday).

Not confirmed by AWS's documentation, decided here: a ``rate(N days)`` counts N days
from the day of the last rotation, as ``AutomaticallyAfterDays`` does; a
``rate(N hours)`` window starts every N hours from midnight, again each day (as a cron
in hours "resets each day"); the calculated ``AutomaticallyAfterDays`` is the days
between the next window and the one after it, and is left out for a schedule in
hours (its range is 1-1000); a new configuration counts from the RotateSecret call;
a manual change counts as a rotation only for ``AutomaticallyAfterDays`` and only
when it makes a version AWSCURRENT. Cron fields ``W`` and ``L`` in day-of-week
alone are not read: such a schedule has no computed date.

Nothing here does work at import time.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta, timezone

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
    if cron.group(1).split()[5] != "*":
        return f"{schedule}: the year field must be *; Secrets Manager does not support rotation schedules more than a year apart."
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


DAY = 86400
HOUR = 3600
MONTHS = {name: number for number, name in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)}
WEEKDAYS = {name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}


def _named(field: str, names: dict[str, int]) -> str:
    for name, number in names.items():
        field = re.sub(rf"\b{name}\b", str(number), field, flags=re.IGNORECASE)
    return field


def _aws_weekday(day: date) -> int:
    """Day-of-week as cron() counts it: 1 is Sunday, 7 Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _day_matcher(dom: str, month: str, dow: str, year: str):
    """A predicate on dates for cron()'s day fields, or None for what is not read."""
    months = _field_values(_named(month, MONTHS), 1, 12)
    years = None if year == "*" else _field_values(year, 1970, 2199)
    if months is None or (year != "*" and years is None):
        return None
    dom, dow = dom.strip(), _named(dow.strip(), WEEKDAYS)
    if (dom == "?") == (dow == "?"):
        return None  # exactly one of the two day fields is `?`
    if dom == "L":
        def on_day(day: date) -> bool:
            return day.day == calendar.monthrange(day.year, day.month)[1]
    elif dom != "?":
        days = _field_values(dom, 1, 31)
        if days is None:
            return None
        def on_day(day: date) -> bool:
            return day.day in days
    elif match := re.fullmatch(r"([1-7])#([1-5])", dow):
        weekday, nth = int(match.group(1)), int(match.group(2))
        def on_day(day: date) -> bool:
            return _aws_weekday(day) == weekday and (day.day - 1) // 7 + 1 == nth
    elif match := re.fullmatch(r"([1-7])L", dow):
        weekday = int(match.group(1))
        def on_day(day: date) -> bool:
            return _aws_weekday(day) == weekday and day.day + 7 > calendar.monthrange(day.year, day.month)[1]
    else:
        weekdays = _field_values(dow, 1, 7)
        if weekdays is None:
            return None
        def on_day(day: date) -> bool:
            return _aws_weekday(day) in weekdays
    return lambda day: day.month in months and (years is None or day.year in years) and on_day(day)


def _cron_starts(fields: list[str]):
    """The window starts of a six-field cron() as (minutes of the day, day predicate),
    or None for what is not read."""
    minutes = _field_values(fields[0], 0, 59)
    hours = _field_values(fields[1], 0, 23)
    matcher = _day_matcher(*fields[2:6])
    if minutes is None or hours is None or matcher is None:
        return None
    return [hour * 60 + minute for hour in hours for minute in minutes], matcher


def _midnight(at: int) -> int:
    return at - at % DAY


def _starts_after(rules: dict, after: int, limit_days: int = 5 * 366):
    """Window starts (epoch seconds) strictly after `after`, in order; a generator.
    AutomaticallyAfterDays and rate(N days): the midnight N days after `after`'s day,
    then every N days."""
    schedule = rules.get("ScheduleExpression")
    days = rules.get("AutomaticallyAfterDays")
    rate = RATE.match(schedule) if schedule else None
    if schedule is None and days:
        rate_days = int(days)
    elif rate and not rate.group(2).startswith("hour"):
        rate_days = int(rate.group(1))
    else:
        rate_days = None
    if rate_days:
        start = _midnight(after) + rate_days * DAY
        while True:
            yield start
            start += rate_days * DAY
    if rate:  # rate(N hours): every N hours from midnight, again each day
        every = int(rate.group(1))
        day = _midnight(after)
        for _ in range(limit_days):
            for hour in range(0, 24, every):
                if day + hour * HOUR > after:
                    yield day + hour * HOUR
            day += DAY
        return
    cron = CRON.match(schedule or "")
    fields = cron.group(1).split() if cron else []
    parsed = _cron_starts(fields) if len(fields) == 6 else None
    if parsed is None:
        return
    minutes_of_day, on_day = parsed
    day = _midnight(after)
    for _ in range(limit_days):
        if on_day(datetime.fromtimestamp(day, timezone.utc).date()):
            for minute in minutes_of_day:
                if day + minute * 60 > after:
                    yield day + minute * 60
        day += DAY


def _in_hours(rules: dict) -> bool:
    """Whether the schedule is "in hours" (more than one window a day), whose default
    window closes after one hour; one in days closes at the end of the UTC day."""
    schedule = rules.get("ScheduleExpression") or ""
    rate = RATE.match(schedule)
    if rate:
        return rate.group(2).startswith("hour")
    cron = CRON.match(schedule)
    fields = cron.group(1).split() if cron else []
    if len(fields) != 6:
        return False
    minutes, hours = _field_values(fields[0], 0, 59), _field_values(fields[1], 0, 23)
    return bool(minutes and hours and len(minutes) * len(hours) > 1)


def window_end(rules: dict, start: int) -> int:
    """The first second after the window starting at `start`."""
    duration = DURATION.match(rules.get("Duration") or "")
    if duration:
        return start + int(duration.group(1)) * HOUR
    return start + HOUR if _in_hours(rules) else _midnight(start) + DAY


def next_rotation(rules: dict, after: int) -> tuple[int | None, int | None]:
    """(NextRotationDate, calculated AutomaticallyAfterDays) for a secret last rotated
    (or configured) at `after`, epoch seconds: the last second of the first window
    starting after it, and the whole days from that window's start to the next
    one's (None for a schedule in hours). (None, None) when the schedule is not read."""
    starts = _starts_after(rules, after)
    first = next(starts, None)
    if first is None:
        return None, None
    second = next(starts, None)
    days = (second - first) // DAY if second is not None else None
    return window_end(rules, first) - 1, days if days else None
