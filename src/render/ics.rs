//! The calendar entry for the art. 33 deadline: one VEVENT, the hour before the
//! deadline (UTC), so it ends when the 72 hours do, with display alarms 24 h
//! and 2 h before the deadline, never one in the past ([`alarms`]). The UID is derived from the case ref
//! so a later render replaces the event; DTSTAMP and SEQUENCE come from the
//! case's `generated_at`, never from the clock. When the outcome stops the clock
//! (no notification, withdrawal) the event is sent as CANCELLED.
//!
//! Written by hand rather than with icalendar's writer: that writer adds a
//! random UID and a `Utc::now()` DTSTAMP to every sub-component (the VALARM),
//! which would make the bytes, and so the recorded checksum, differ per run.
//! The tests parse the result with icalendar's parser.

use chrono::{DateTime, Duration, Utc};

use crate::core::documents::CaseFile;

/// The event's UID: stable per case.
pub fn uid(case: &CaseFile) -> String {
    format!("{}@breachwatch", case.case_ref)
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// TEXT escaping of RFC 5545 §3.3.11.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets (RFC 5545 §3.1) without splitting a
/// UTF-8 character, and ends it with CRLF.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            // The leading space of a continuation line counts toward its 75.
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

/// SEQUENCE grows with `generated_at`: minutes since awareness, so a later
/// render of the same case always carries a higher number.
fn sequence(case: &CaseFile) -> i64 {
    (case.generated_at - case.aware_at)
        .num_minutes()
        .clamp(0, i64::from(i32::MAX))
}

/// The alarms' TRIGGER values, as of `generated_at`: 24 h and 2 h before the
/// deadline (relative to the event's end, which is the deadline) while they
/// are still ahead. With less than 2 h left, one at once (absolute, the
/// generation instant) and one 1 h before the deadline if that is still
/// ahead: an alarm in the past either fires late or not at all, and both mislead.
pub fn alarms(deadline: DateTime<Utc>, generated_at: DateTime<Utc>) -> Vec<String> {
    let ahead = |h: i64| deadline - Duration::hours(h) > generated_at;
    if ahead(2) {
        [24, 2]
            .into_iter()
            .filter(|&h| ahead(h))
            .map(|h| format!("TRIGGER;RELATED=END:-PT{h}H"))
            .collect()
    } else {
        let mut out = vec![format!("TRIGGER;VALUE=DATE-TIME:{}", stamp(generated_at))];
        if ahead(1) {
            out.push("TRIGGER;RELATED=END:-PT1H".into());
        }
        out
    }
}

/// The .ics text. `summary` and `description` come from the calendar template.
pub fn calendar(case: &CaseFile, summary: &str, description: &str, cancelled: bool) -> String {
    let ev = Event {
        uid: uid(case),
        end: case.deadline_at,
        stamp: case.generated_at,
        sequence: sequence(case),
        summary: summary.to_string(),
        description: description.to_string(),
        cancelled,
    };
    wrap(&[ev])
}

/// One VEVENT: the hour before a deadline, ending at it.
#[derive(Debug, Clone)]
pub struct Event {
    pub uid: String,
    /// The deadline.
    pub end: DateTime<Utc>,
    /// DTSTAMP, and the instant the alarms are judged from.
    pub stamp: DateTime<Utc>,
    pub sequence: i64,
    pub summary: String,
    pub description: String,
    pub cancelled: bool,
}

fn event_lines(e: &Event, lines: &mut Vec<String>) {
    let start = e.end - Duration::hours(1);
    lines.extend([
        "BEGIN:VEVENT".into(),
        format!("UID:{}", e.uid),
        format!("DTSTAMP:{}", stamp(e.stamp)),
        format!("SEQUENCE:{}", e.sequence),
        format!("DTSTART:{}", stamp(start)),
        format!("DTEND:{}", stamp(e.end)),
        format!("SUMMARY:{}", escape(&e.summary)),
        format!("DESCRIPTION:{}", escape(&e.description)),
        format!(
            "STATUS:{}",
            if e.cancelled {
                "CANCELLED"
            } else {
                "CONFIRMED"
            }
        ),
        "TRANSP:TRANSPARENT".into(),
    ]);
    if !e.cancelled {
        for trigger in alarms(e.end, e.stamp) {
            lines.extend([
                "BEGIN:VALARM".into(),
                "ACTION:DISPLAY".into(),
                format!("DESCRIPTION:{}", escape(&e.summary)),
                trigger,
                "END:VALARM".into(),
            ]);
        }
    }
    lines.push("END:VEVENT".into());
}

/// A VCALENDAR holding `events` (one per deadline), folded, CRLF.
pub fn wrap(events: &[Event]) -> String {
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "VERSION:2.0".into(),
        "PRODID:-//breachwatch//documents//SV".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
    ];
    for e in events {
        event_lines(e, &mut lines);
    }
    lines.push("END:VCALENDAR".into());
    let mut out = String::new();
    for l in &lines {
        fold(l, &mut out);
    }
    out
}

/// The NIS2 deadlines of a case as one calendar, one VEVENT per deadline
/// whose instant is known (UID `REF-nis2-CLOCK@breachwatch`, stable, so a
/// later render moves or cancels it); a deadline already met, or all of them
/// when NIS2 no longer runs, is CANCELLED.
pub fn nis2_calendar(case: &CaseFile, dues: &[crate::core::regime::Due], running: bool) -> String {
    let events: Vec<Event> = dues
        .iter()
        .filter(|d| d.clock.regime() == crate::core::regime::Regime::Nis2)
        .filter_map(|d| {
            let end = d.due_at?;
            let (summary, description) = crate::core::text::nis2::calendar_entry(
                d.clock,
                &case.case_ref.to_string(),
                &case.committee,
                end,
                case.tz,
            );
            let clock = serde_json::to_value(d.clock)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            Some(Event {
                uid: format!("{}-nis2-{clock}@breachwatch", case.case_ref),
                end,
                stamp: case.generated_at,
                sequence: sequence(case),
                summary,
                description,
                cancelled: !running || d.done_at.is_some(),
            })
        })
        .collect();
    wrap(&events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_characters_whole_and_lines_short() {
        let mut out = String::new();
        fold(&format!("DESCRIPTION:{}", "åäö".repeat(40)), &mut out);
        for l in out.split("\r\n") {
            assert!(l.len() <= 75, "{} octets", l.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded, format!("DESCRIPTION:{}\r\n", "åäö".repeat(40)));
    }

    #[test]
    fn alarms_are_never_in_the_past() {
        use chrono::TimeZone;
        let deadline = Utc.with_ymd_and_hms(2026, 3, 20, 12, 0, 0).unwrap();
        let at = |h: i64, m: i64| deadline - Duration::hours(h) - Duration::minutes(m);
        assert_eq!(
            alarms(deadline, at(71, 0)),
            ["TRIGGER;RELATED=END:-PT24H", "TRIGGER;RELATED=END:-PT2H"]
        );
        assert_eq!(alarms(deadline, at(24, 0)), ["TRIGGER;RELATED=END:-PT2H"]);
        // 59 minutes left... and 1 h 30 min left.
        assert_eq!(
            alarms(deadline, at(0, 59)),
            ["TRIGGER;VALUE=DATE-TIME:20260320T110100Z"]
        );
        assert_eq!(
            alarms(deadline, at(1, 30)),
            [
                "TRIGGER;VALUE=DATE-TIME:20260320T103000Z",
                "TRIGGER;RELATED=END:-PT1H"
            ]
        );
        // Overdue: at once only.
        assert_eq!(
            alarms(deadline, deadline + Duration::hours(3)),
            ["TRIGGER;VALUE=DATE-TIME:20260320T150000Z"]
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
