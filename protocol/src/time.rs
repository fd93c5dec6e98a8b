//! RFC 3339 timestamps in the protocol's canonical form: UTC with `Z`, keeping the fractional
//! digits that were sent (`2024-01-15T12:30:00+02:00` → `2024-01-15T10:30:00Z`).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The last second of year 9999, the largest instant RFC 3339 can write.
pub const MAX_UNIX_SECONDS: u64 = 253_402_300_799;
/// The first second of year 0000.
const MIN_UNIX_SECONDS: i64 = -62_167_219_200;

/// Most fractional-second digits kept (nanoseconds).
const MAX_FRACTION_DIGITS: usize = 9;

/// An instant in canonical RFC 3339 form. Equality is on the canonical text, so two timestamps
/// that name the same second with different fractional precision are different values, as they
/// are on the wire.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp {
    text: String,
    unix_seconds: i64,
}

/// Why a text or number is not a timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Not of the shape `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    #[error("timestamp is not RFC 3339 (YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM))")]
    Syntax,
    /// A field out of its range (month 13, 31 February, hour 24, ...).
    #[error("timestamp has a field out of range")]
    Range,
    /// The instant falls outside years 0000–9999 once converted to UTC.
    #[error("timestamp is outside years 0000-9999")]
    OutOfYears,
}

impl Timestamp {
    /// Parses RFC 3339 with `Z` or a numeric offset and converts it to UTC. `T`, `t` or a space
    /// separate date and time; `z` is accepted for `Z`; 1–9 fractional digits are kept as sent.
    /// Leap seconds (`:60`) are refused.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampError> {
        let b = text.as_bytes();
        if b.len() < 20 {
            return Err(TimestampError::Syntax);
        }
        let year = digits(b, 0, 4)?;
        expect_byte(b, 4, b'-')?;
        let month = digits(b, 5, 2)?;
        expect_byte(b, 7, b'-')?;
        let day = digits(b, 8, 2)?;
        if !matches!(b[10], b'T' | b't' | b' ') {
            return Err(TimestampError::Syntax);
        }
        let hour = digits(b, 11, 2)?;
        expect_byte(b, 13, b':')?;
        let minute = digits(b, 14, 2)?;
        expect_byte(b, 16, b':')?;
        let second = digits(b, 17, 2)?;

        let mut pos = 19;
        let mut fraction = "";
        if b[pos] == b'.' {
            let start = pos + 1;
            let len = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
            if len == 0 || len > MAX_FRACTION_DIGITS {
                return Err(TimestampError::Syntax);
            }
            fraction = &text[start..start + len];
            pos = start + len;
        }
        let offset_seconds = match &b[pos..] {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
                let oh = digits(b, pos + 1, 2)?;
                let om = digits(b, pos + 4, 2)?;
                if oh > 23 || om > 59 {
                    return Err(TimestampError::Range);
                }
                let magnitude = i64::from(oh * 3600 + om * 60);
                if *sign == b'+' { magnitude } else { -magnitude }
            }
            _ => return Err(TimestampError::Syntax),
        };

        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return Err(TimestampError::Range);
        }
        let local = days_from_civil(i64::from(year), month, day) * 86_400
            + i64::from(hour * 3600 + minute * 60 + second);
        Self::from_parts(local - offset_seconds, fraction)
    }

    /// The timestamp of whole unix seconds (the legacy `PotEvent` shape), at most
    /// [`MAX_UNIX_SECONDS`].
    pub fn from_unix_seconds(seconds: u64) -> Result<Self, TimestampError> {
        let seconds = i64::try_from(seconds).map_err(|_| TimestampError::OutOfYears)?;
        Self::from_parts(seconds, "")
    }

    /// The timestamp of a system time, with microsecond precision (how the Core stamps receipt
    /// times).
    pub fn from_system_time(time: SystemTime) -> Self {
        let (seconds, micros) = match time.duration_since(UNIX_EPOCH) {
            Ok(d) => (d.as_secs() as i64, d.subsec_micros()),
            Err(before) => {
                let d = before.duration();
                let micros = d.subsec_micros();
                if micros == 0 {
                    (-(d.as_secs() as i64), 0)
                } else {
                    (-(d.as_secs() as i64) - 1, 1_000_000 - micros)
                }
            }
        };
        let fraction = format!("{micros:06}");
        let clamped = seconds.clamp(MIN_UNIX_SECONDS, MAX_UNIX_SECONDS as i64);
        Self::from_parts(clamped, &fraction).unwrap_or_else(|_| Self::unix_epoch())
    }

    fn unix_epoch() -> Self {
        Timestamp {
            text: "1970-01-01T00:00:00Z".to_owned(),
            unix_seconds: 0,
        }
    }

    fn from_parts(unix_seconds: i64, fraction: &str) -> Result<Self, TimestampError> {
        if !(MIN_UNIX_SECONDS..=MAX_UNIX_SECONDS as i64).contains(&unix_seconds) {
            return Err(TimestampError::OutOfYears);
        }
        let days = unix_seconds.div_euclid(86_400);
        let secs_of_day = unix_seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let (h, m, s) = (secs_of_day / 3600, secs_of_day / 60 % 60, secs_of_day % 60);
        let dot = if fraction.is_empty() { "" } else { "." };
        Ok(Timestamp {
            text: format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}{dot}{fraction}Z"),
            unix_seconds,
        })
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whole seconds since the unix epoch (negative before 1970).
    pub fn unix_seconds(&self) -> i64 {
        self.unix_seconds
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.text)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

fn digits(b: &[u8], start: usize, len: usize) -> Result<u32, TimestampError> {
    let field = b.get(start..start + len).ok_or(TimestampError::Syntax)?;
    field.iter().try_fold(0u32, |acc, &c| {
        if c.is_ascii_digit() {
            Ok(acc * 10 + u32::from(c - b'0'))
        } else {
            Err(TimestampError::Syntax)
        }
    })
}

fn expect_byte(b: &[u8], at: usize, want: u8) -> Result<(), TimestampError> {
    if b.get(at) == Some(&want) {
        Ok(())
    } else {
        Err(TimestampError::Syntax)
    }
}

fn is_leap_year(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date. Years are counted from March so that the
/// leap day falls at the end of the counting year; 400-year eras repeat exactly.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn canonicalises_rfc3339() {
        let table = [
            (
                "2024-01-15T10:30:00Z",
                "2024-01-15T10:30:00Z",
                1_705_314_600,
            ),
            (
                "2024-01-15T12:30:00+02:00",
                "2024-01-15T10:30:00Z",
                1_705_314_600,
            ),
            (
                "2024-01-15T10:30:00.123456Z",
                "2024-01-15T10:30:00.123456Z",
                1_705_314_600,
            ),
            (
                "2024-01-15t10:30:00.5z",
                "2024-01-15T10:30:00.5Z",
                1_705_314_600,
            ),
            (
                "2024-01-15 10:30:00-00:00",
                "2024-01-15T10:30:00Z",
                1_705_314_600,
            ),
            (
                "2024-01-01T01:00:00+03:30",
                "2023-12-31T21:30:00Z",
                1_704_058_200,
            ),
            (
                "2024-02-29T23:59:59-01:00",
                "2024-03-01T00:59:59Z",
                1_709_254_799,
            ),
            ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z", -1),
            (
                "0000-01-01T00:00:00Z",
                "0000-01-01T00:00:00Z",
                MIN_UNIX_SECONDS,
            ),
            (
                "9999-12-31T23:59:59Z",
                "9999-12-31T23:59:59Z",
                MAX_UNIX_SECONDS as i64,
            ),
        ];
        for (input, canonical, unix) in table {
            let ts = Timestamp::parse_rfc3339(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(ts.as_str(), canonical, "{input}");
            assert_eq!(ts.unix_seconds(), unix, "{input}");
        }
    }

    #[test]
    fn refuses_what_is_not_rfc3339() {
        use TimestampError::*;
        let table = [
            ("yesterday", Syntax),
            ("", Syntax),
            ("2024-01-15T10:30:00", Syntax),
            ("2024-01-15T10:30Z", Syntax),
            ("2024-01-15T10:30:00.Z", Syntax),
            ("2024-01-15T10:30:00.1234567890Z", Syntax),
            ("2024-01-15T10:30:00+0200", Syntax),
            ("2024-01-15T10:30:00Z ", Syntax),
            ("2024/01/15T10:30:00Z", Syntax),
            ("+024-01-15T10:30:00Z", Syntax),
            ("2024-13-15T10:30:00Z", Range),
            ("2023-02-29T10:30:00Z", Range),
            ("2024-04-31T10:30:00Z", Range),
            ("2024-01-15T24:00:00Z", Range),
            ("2024-01-15T10:60:00Z", Range),
            ("2016-12-31T23:59:60Z", Range),
            ("2024-01-15T10:30:00+24:00", Range),
            ("0000-01-01T00:00:00+00:01", OutOfYears),
            ("9999-12-31T23:59:59-00:01", OutOfYears),
        ];
        for (input, want) in table {
            assert_eq!(Timestamp::parse_rfc3339(input), Err(want), "{input:?}");
        }
    }

    #[test]
    fn unix_seconds_to_rfc3339() {
        let table = [
            (0, "1970-01-01T00:00:00Z"),
            (1_705_314_600, "2024-01-15T10:30:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (MAX_UNIX_SECONDS, "9999-12-31T23:59:59Z"),
        ];
        for (secs, text) in table {
            assert_eq!(Timestamp::from_unix_seconds(secs).unwrap().as_str(), text);
        }
        assert_eq!(
            Timestamp::from_unix_seconds(MAX_UNIX_SECONDS + 1),
            Err(TimestampError::OutOfYears)
        );
        assert_eq!(
            Timestamp::from_unix_seconds(u64::MAX),
            Err(TimestampError::OutOfYears)
        );
    }

    #[test]
    fn system_time_has_microseconds() {
        let t = UNIX_EPOCH + Duration::new(1_705_314_600, 123_456_789);
        assert_eq!(
            Timestamp::from_system_time(t).as_str(),
            "2024-01-15T10:30:00.123456Z"
        );
        let before = UNIX_EPOCH - Duration::new(0, 250_000_000);
        assert_eq!(
            Timestamp::from_system_time(before).as_str(),
            "1969-12-31T23:59:59.750000Z"
        );
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        let first = days_from_civil(1900, 1, 1);
        let last = days_from_civil(2300, 12, 31);
        let mut expected = (1900, 1, 1);
        for days in first..=last {
            assert_eq!(civil_from_days(days), expected);
            assert_eq!(
                days_from_civil(expected.0, expected.1, expected.2),
                days,
                "{expected:?}"
            );
            let (y, m, d) = expected;
            expected = if d < days_in_month(y as u32, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }
}
