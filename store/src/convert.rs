//! The only conversions between Rust values and their SQLite columns: node ids (u64 stored as
//! the i64 with the same bits) and times (unix microseconds).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A u64 id as stored: the i64 with the same bits (ids above 2^63 become negative). SQLite
/// integers are signed, and rusqlite refuses u64 above `i64::MAX`.
pub(crate) const fn id_to_sql(id: u64) -> i64 {
    id as i64
}

/// The inverse of [`id_to_sql`].
pub(crate) const fn id_from_sql(v: i64) -> u64 {
    v as u64
}

/// Unix microseconds (negative before 1970), saturating at the i64 range.
pub(crate) fn time_to_micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_micros())
            .map(|m| -m)
            .unwrap_or(i64::MIN),
    }
}

/// The inverse of [`time_to_micros`].
pub(crate) fn time_from_micros(micros: i64) -> SystemTime {
    let magnitude = Duration::from_micros(micros.unsigned_abs());
    if micros >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

/// Microseconds per hour.
pub(crate) const HOUR_MICROS: i64 = 3_600_000_000;

/// The start of the hour holding `micros`, in unix seconds.
pub(crate) const fn hour_of_micros(micros: i64) -> i64 {
    micros.div_euclid(HOUR_MICROS) * 3600
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_i64() {
        for id in [
            0,
            1,
            i64::MAX as u64,
            1 << 63,
            11_364_728_073_201_639_405,
            u64::MAX,
        ] {
            assert_eq!(id_from_sql(id_to_sql(id)), id);
        }
        assert!(id_to_sql(u64::MAX) < 0);
    }

    #[test]
    fn times_round_trip_at_microsecond_precision() {
        let table = [
            UNIX_EPOCH,
            UNIX_EPOCH + Duration::new(1_705_314_600, 123_456_000),
            UNIX_EPOCH - Duration::new(1, 250_000_000),
        ];
        for t in table {
            assert_eq!(time_from_micros(time_to_micros(t)), t);
        }
        assert_eq!(hour_of_micros(HOUR_MICROS * 5 + 7), 5 * 3600);
        assert_eq!(hour_of_micros(-1), -3600);
    }
}
