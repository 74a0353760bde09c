//! IMAP dates (`1-Feb-2024`, SEARCH) and date-times (`"01-Feb-2024 10:00:00 +0100"`,
//! APPEND and INTERNALDATE), with conversion to and from Unix timestamps.

use std::fmt;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    /// Four-digit year.
    pub year: u16,
    /// 1 to 12.
    pub month: u8,
    /// 1 to 31 (checked against the month).
    pub day: u8,
}

/// A date and time with the sender's zone offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// The local date.
    pub date: Date,
    /// 0 to 23.
    pub hour: u8,
    /// 0 to 59.
    pub minute: u8,
    /// 0 to 60.
    pub second: u8,
    /// Offset from UTC in minutes (`+0100` is 60).
    pub zone_minutes: i16,
}

/// The month number for an English three-letter abbreviation (case-insensitive).
pub(crate) fn month_from_name(name: &[u8]) -> Option<u8> {
    MONTHS
        .iter()
        .position(|m| m.as_bytes().eq_ignore_ascii_case(name))
        .and_then(|i| u8::try_from(i + 1).ok())
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap(i64::from(year)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    /// A valid date, or `None` (`31-Feb`, month 13...).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month))
            .then_some(Date { year, month, day })
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(&self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let m = i64::from(self.month);
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01, if its year fits in four digits.
    pub fn from_days_since_epoch(days: i64) -> Option<Date> {
        let z = days.checked_add(719_468)?;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date::new(
            u16::try_from(year).ok().filter(|y| *y <= 9999)?,
            u8::try_from(month).ok()?,
            u8::try_from(day).ok()?,
        )
    }
}

impl DateTime {
    /// Seconds since the Unix epoch (UTC).
    pub fn timestamp(&self) -> i64 {
        self.date.days_since_epoch() * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(self.zone_minutes) * 60
    }

    /// The local date-time at `zone_minutes` east of UTC for a Unix timestamp.
    pub fn from_timestamp(timestamp: i64, zone_minutes: i16) -> Option<DateTime> {
        let local = timestamp.checked_add(i64::from(zone_minutes) * 60)?;
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        Some(DateTime {
            date: Date::from_days_since_epoch(days)?,
            hour: u8::try_from(secs / 3600).ok()?,
            minute: u8::try_from(secs % 3600 / 60).ok()?,
            second: u8::try_from(secs % 60).ok()?,
            zone_minutes,
        })
    }
}

fn month_name(month: u8) -> &'static str {
    MONTHS
        .get(usize::from(month.saturating_sub(1)))
        .copied()
        .unwrap_or("Jan")
}

impl fmt::Display for Date {
    /// `1-Feb-2024`, as SEARCH expects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{:04}",
            self.day,
            month_name(self.month),
            self.year
        )
    }
}

impl fmt::Display for DateTime {
    /// `01-Feb-2024 10:00:00 +0100` (without the quotes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.zone_minutes < 0 { '-' } else { '+' };
        let zone = self.zone_minutes.unsigned_abs();
        write!(
            f,
            "{:02}-{}-{:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
            self.date.day,
            month_name(self.date.month),
            self.date.year,
            self.hour,
            self.minute,
            self.second,
            zone / 60,
            zone % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        let dt = DateTime {
            date: Date::new(2024, 2, 29).unwrap(),
            hour: 23,
            minute: 30,
            second: 5,
            zone_minutes: -90,
        };
        let ts = dt.timestamp();
        assert_eq!(DateTime::from_timestamp(ts, -90), Some(dt));
        assert_eq!(dt.to_string(), "29-Feb-2024 23:30:05 -0130");
        assert_eq!(Date::new(1970, 1, 1).unwrap().days_since_epoch(), 0);
        assert!(Date::new(2023, 2, 29).is_none());
        assert_eq!(Date::new(2024, 2, 1).unwrap().to_string(), "1-Feb-2024");
    }
}
