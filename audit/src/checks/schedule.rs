//! How often a rotation schedule rotates: the longest interval between two
//! rotation windows, in hours.
//!
//! A policy's rotation period is an upper bound, as AWS Config's
//! `secretsmanager-rotation-enabled-check` treats its
//! `maximumAllowedRotationFrequency(InHours)` parameter ("NON_COMPLIANT if the
//! rotation frequency is higher than the number specified",
//! <https://docs.aws.amazon.com/config/latest/developerguide/secretsmanager-rotation-enabled-check.html>).
//! So `rate(48 hours)`, `rate(1 day)` and a `cron(...)` that fires every other day
//! all satisfy "every 2 days"; comparing expressions textually would fail them.
//!
//! Secrets Manager's expressions (RotationRulesType, Secrets Manager API
//! reference): `rate(N hours)` / `rate(N days)` (as often as every four hours), or
//! `cron(minutes hours day-of-month month day-of-week year)` in UTC, where one of
//! the two day fields is `?`. A cron's longest interval is found by listing its
//! firing times over three years from the collection's date (leap days, month
//! lengths and the year field as they fall from then on), which is exact for
//! every field form supported here (`*`, `?`, values, names, ranges, lists,
//! steps); `L`, `W` and `#` are refused rather than guessed. The gaps before the
//! first firing and after the last count too: a schedule whose year field ends
//! (`cron(0 0 * * ? 2025-2026)`) stops rotating, and its trailing gap says so.

use std::collections::BTreeSet;

use time::{Date, Weekday};

/// The longest interval in hours between rotations of `rate(...)` or `cron(...)`
/// (a cron as it fires from `today` on); `Err` says why it cannot be known.
pub fn max_interval_hours(expression: &str, today: Date) -> Result<i64, String> {
    let expression = expression.trim();
    if let Some(inner) = expression
        .strip_prefix("rate(")
        .and_then(|e| e.strip_suffix(')'))
    {
        let mut parts = inner.split_whitespace();
        let (Some(amount), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("{expression} is not rate(N hours) or rate(N days)"));
        };
        let amount: i64 = amount
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{expression}: {amount} is not a positive number"))?;
        return match unit {
            "hour" | "hours" => Ok(amount),
            "day" | "days" => Ok(amount * 24),
            _ => Err(format!("{expression}: unit {unit} is not hours or days")),
        };
    }
    if let Some(inner) = expression
        .strip_prefix("cron(")
        .and_then(|e| e.strip_suffix(')'))
    {
        return cron_max_interval_hours(inner, today).map_err(|why| format!("{expression}: {why}"));
    }
    Err(format!("{expression} is neither rate(...) nor cron(...)"))
}

/// A cron field's allowed values within `min..=max`; `None` for `?` (no constraint).
fn field(
    text: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Result<Option<BTreeSet<u32>>, String> {
    if text == "?" {
        return Ok(None);
    }
    if text.contains(['L', 'W', '#']) && names.is_empty() || text.contains('#') {
        return Err(format!(
            "field {text} uses L, W or #, which this audit does not evaluate; state the schedule with rate() or plain cron values"
        ));
    }
    let value = |token: &str| -> Result<u32, String> {
        if let Some(index) = names.iter().position(|n| n.eq_ignore_ascii_case(token)) {
            return Ok(u32::try_from(index).unwrap_or(0) + name_base);
        }
        token
            .parse::<u32>()
            .ok()
            .filter(|v| (min..=max).contains(v))
            .ok_or_else(|| format!("{token} is not a value within {min}-{max}"))
    };
    let mut values = BTreeSet::new();
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (
                range,
                step.parse::<u32>()
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or_else(|| format!("step {step} is not a positive number"))?,
            ),
            None => (part, 1),
        };
        let (from, to) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let start = value(range)?;
            (start, if part.contains('/') { max } else { start })
        };
        if from > to {
            return Err(format!("range {range} is empty"));
        }
        values.extend((from..=to).step_by(step as usize));
    }
    Ok(Some(values))
}

const MONTHS: &[&str] = &[
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Days simulated: three years, so every yearly and leap-year pattern shows.
const SIMULATED_DAYS: i64 = 3 * 366;

fn cron_max_interval_hours(inner: &str, today: Date) -> Result<i64, String> {
    let fields: Vec<&str> = inner.split_whitespace().collect();
    let [minutes, hours, day_of_month, month, day_of_week, year] = fields.as_slice() else {
        return Err(format!(
            "expected 6 fields (minutes hours day-of-month month day-of-week year), found {}",
            fields.len()
        ));
    };
    let all = |set: Option<BTreeSet<u32>>, min: u32, max: u32| set.unwrap_or((min..=max).collect());
    let minutes = all(field(minutes, 0, 59, &[], 0)?, 0, 59);
    let hours = all(field(hours, 0, 23, &[], 0)?, 0, 23);
    let day_of_month = field(day_of_month, 1, 31, &[], 0)?;
    let months = all(field(month, 1, 12, MONTHS, 1)?, 1, 12);
    let day_of_week = field(day_of_week, 1, 7, DAYS, 1)?;
    let years = field(year, 1970, 2199, &[], 0)?;
    let mut fires: Vec<i64> = Vec::new();
    let mut day = today;
    for index in 0..SIMULATED_DAYS {
        let month_ok = months.contains(&u32::from(u8::from(day.month())));
        let year_ok = years
            .as_ref()
            .is_none_or(|y| y.contains(&u32::try_from(day.year()).unwrap_or(0)));
        let monthday_ok = day_of_month
            .as_ref()
            .is_none_or(|d| d.contains(&u32::from(day.day())));
        let dow = match day.weekday() {
            Weekday::Sunday => 1,
            Weekday::Monday => 2,
            Weekday::Tuesday => 3,
            Weekday::Wednesday => 4,
            Weekday::Thursday => 5,
            Weekday::Friday => 6,
            Weekday::Saturday => 7,
        };
        let weekday_ok = day_of_week.as_ref().is_none_or(|d| d.contains(&dow));
        if month_ok && year_ok && monthday_ok && weekday_ok {
            for hour in &hours {
                for minute in &minutes {
                    fires.push(index * 24 * 60 + i64::from(*hour) * 60 + i64::from(*minute));
                }
            }
        }
        day = day.next_day().ok_or("date out of range")?;
    }
    // From the start of today to the first firing, between firings, and from
    // the last to the end of the simulated days.
    let end = SIMULATED_DAYS * 24 * 60;
    let (Some(first), Some(last)) = (fires.first(), fires.last()) else {
        return Err(format!(
            "it never fires in the three years from {today}, so the secret is never rotated"
        ));
    };
    let between = fires.windows(2).map(|w| w[1] - w[0]);
    let longest = between.chain([*first, end - last]).max().unwrap_or(end);
    Ok((longest + 59) / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Date {
        let parts: Vec<i32> = text
            .split('-')
            .map(|p| p.parse().expect("number"))
            .collect();
        let month = time::Month::try_from(u8::try_from(parts[1]).expect("month")).expect("month");
        Date::from_calendar_date(parts[0], month, u8::try_from(parts[2]).expect("day"))
            .expect("date")
    }

    #[test]
    fn a_cron_is_simulated_from_the_collection_date_with_its_trailing_gap() {
        // Daily until the end of 2026: from mid-2026 it stops within the simulated
        // three years, and that gap is the schedule's longest.
        let ending = "cron(0 0 * * ? 2025-2026)";
        let hours = max_interval_hours(ending, day("2026-06-01")).expect("fires");
        assert!(hours > 365 * 24, "{hours}");
        // A year later it never fires again.
        assert!(max_interval_hours(ending, day("2027-06-01")).is_err());
        // A schedule that starts later: the wait until it starts counts.
        let later =
            max_interval_hours("cron(0 0 * * ? 2028-2199)", day("2026-06-01")).expect("fires");
        assert!(later > 365 * 24, "{later}");
        // Periodic schedules: the leading and trailing gaps are within a period.
        for today in ["2025-01-01", "2026-12-07", "2027-02-28"] {
            assert_eq!(
                max_interval_hours("cron(0 8 ? * MON *)", day(today)),
                Ok(168),
                "{today}"
            );
        }
    }

    #[test]
    fn intervals_of_rates_and_crons() {
        let cases: &[(&str, Result<i64, ()>)] = &[
            ("rate(2 days)", Ok(48)),
            ("rate(1 day)", Ok(24)),
            ("rate(48 hours)", Ok(48)),
            ("rate(4 hours)", Ok(4)),
            ("rate(30 days)", Ok(720)),
            ("cron(0 8 */2 * ? *)", Ok(48)),
            ("cron(0 0 ? * * *)", Ok(24)),
            ("cron(0 0 1 * ? *)", Ok(31 * 24)),
            ("cron(0 4 ? * MON,WED,FRI,SUN *)", Ok(48)),
            ("cron(0 4 ? * MON-FRI *)", Ok(72)),
            ("cron(0 */4 * * ? *)", Ok(4)),
            ("cron(0 0 ? * 2#1 *)", Err(())),
            ("cron(0 0 L * ? *)", Err(())),
            // Once, then never again: the trailing gap is the rest of the three years.
            ("cron(0 0 1 1 ? 2025)", Ok(3 * 366 * 24)),
            ("cron(0 0 1 1 ? 2024)", Err(())),
            ("cron(0 0 * *)", Err(())),
            ("rate(2 weeks)", Err(())),
            ("rate(0 days)", Err(())),
            ("every 2 days", Err(())),
        ];
        for (expression, expected) in cases {
            let got = max_interval_hours(expression, day("2025-01-01"));
            match expected {
                Ok(hours) => assert_eq!(got, Ok(*hours), "{expression}"),
                Err(()) => assert!(got.is_err(), "{expression}: {got:?}"),
            }
        }
    }
}
