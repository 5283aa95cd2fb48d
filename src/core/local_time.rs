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
        assert_eq!(minute(summer, Stockholm), "2026-06-18 20:05");
        assert_eq!(zone_abbreviation(summer, Stockholm), "CEST");
    }
}
