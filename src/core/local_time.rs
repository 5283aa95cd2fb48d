//! Instants in the configured zone, one formatter per purpose. Instants are
//! UTC everywhere else; a zone is applied only here and in the documents'
//! Swedish wording (`core::documents::words`).

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;

/// For machines (JSON output, the register export, inspect-v1):
/// "2026-03-27T10:00:00+01:00".
pub fn rfc3339(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// For people, to the minute, where the zone is known from the context
/// (tables, answers to commands): "2026-03-27 10:00".
pub fn minute(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// True for an instant the reader took from a date written without a time:
/// such a date is read as local midnight, or as 23:59:59 where it ends a
/// period ("1 till 3 december", `core::dates`). What people read shows it
/// as the date alone, and the series rule takes it as the whole day. (A
/// time written as "00:00" reads the same way: the instant is still right,
/// only its minute is not shown.)
pub fn read_without_time(at: DateTime<Utc>, tz: Tz) -> bool {
    let t = at.with_timezone(&tz).time();
    t == chrono::NaiveTime::MIN || chrono::NaiveTime::from_hms_opt(23, 59, 59) == Some(t)
}

/// [`minute`] for an instant read from a text: "2026-03-27 10:00", or
/// "2026-03-27" for a date read without a time.
pub fn minute_as_read(at: DateTime<Utc>, tz: Tz) -> String {
    match read_without_time(at, tz) {
        true => at.with_timezone(&tz).format("%Y-%m-%d").to_string(),
        false => minute(at, tz),
    }
}

/// The zone's abbreviation at that instant ("CET", "CEST"), for a text that
/// names it next to [`minute`].
pub fn zone_abbreviation(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Stockholm;

    #[test]
    fn each_purpose_has_its_form_in_winter_and_summer() {
        let winter: DateTime<Utc> = "2026-03-27T09:00:00Z".parse().unwrap();
        let summer: DateTime<Utc> = "2026-06-18T18:05:00Z".parse().unwrap();
        assert_eq!(rfc3339(winter, Stockholm), "2026-03-27T10:00:00+01:00");
        assert_eq!(minute(winter, Stockholm), "2026-03-27 10:00");
        assert_eq!(zone_abbreviation(winter, Stockholm), "CET");
        assert_eq!(rfc3339(summer, Stockholm), "2026-06-18T20:05:00+02:00");
        assert_eq!(minute_as_read(summer, Stockholm), "2026-06-18 20:05");
        // A date read without a time: its midnight, or a period's last second.
        let start: DateTime<Utc> = "2026-11-30T23:00:00Z".parse().unwrap();
        let end: DateTime<Utc> = "2026-12-03T22:59:59Z".parse().unwrap();
        assert_eq!(minute_as_read(start, Stockholm), "2026-12-01");
        assert_eq!(minute_as_read(end, Stockholm), "2026-12-03");
        assert_eq!(minute(summer, Stockholm), "2026-06-18 20:05");
        assert_eq!(zone_abbreviation(summer, Stockholm), "CEST");
    }
}
