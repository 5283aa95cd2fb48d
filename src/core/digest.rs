//! The DPO digest: when it is sent (a cron expression from config, evaluated in a
//! time zone) and what it says (one line per open case, most urgent first).
//!
//! Pure: the shell passes `after`/`now` and the open cases; this module neither
//! reads the clock nor sends anything. Cron is only for the digest: the 72-hour
//! deadline is computed in UTC by `clock`, never with cron.
//!
//! Cron dialect (zslayton `cron` 0.17): 6 or 7 fields, seconds first
//! (`sec min hour day-of-month month day-of-week [year]`). Day-of-week numbers in
//! that crate start at 1 = Sunday, unlike crontab, so [`DigestSchedule::parse`]
//! refuses numbers in the day-of-week field and asks for names (`Mon-Fri`): a
//! config written as `1-5` would otherwise silently run Sunday to Thursday.
//!
//! Daylight saving: the expression is evaluated in local time of the zone, so
//! 07:30 stays 07:30 local (05:30Z in summer, 06:30Z in winter). A local time that
//! does not exist on a spring-forward day (02:00–03:00 in Stockholm) is skipped
//! that day; one that exists twice in autumn runs once (the earlier instant),
//! because [`DigestSchedule::next_run`] always answers strictly after `after`.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::str::FromStr;

use super::case::{Case, State};
use super::regime::{self, Clock};
use super::text::digest as text;
use super::types::CaseRef;

/// Weekdays 07:30.
pub const DEFAULT_DIGEST_CRON: &str = "0 30 7 * * Mon-Fri";
pub const DEFAULT_DIGEST_TZ: &str = "Europe/Stockholm";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("digest schedule {expr:?} has 5 fields; this cron needs 6 or 7 with seconds first, e.g. \"0 30 7 * * Mon-Fri\"")]
    FiveFields { expr: String },
    #[error("digest schedule {expr:?} has {fields} fields; it needs 6 or 7 (sec min hour day-of-month month day-of-week [year]), e.g. \"0 30 7 * * Mon-Fri\"")]
    FieldCount { expr: String, fields: usize },
    #[error("digest schedule {expr:?}: write day-of-week as names (Mon-Fri), not numbers ({field:?}); this cron counts 1 = Sunday")]
    NumericWeekday { expr: String, field: String },
    #[error("digest schedule {expr:?} is not a valid cron expression: {detail}")]
    BadExpression { expr: String, detail: String },
    #[error("digest time zone {tz:?} is not a known IANA zone (e.g. \"Europe/Stockholm\")")]
    UnknownZone { tz: String },
    #[error("digest schedule {expr:?} never runs after {after}")]
    NeverRuns { expr: String, after: DateTime<Utc> },
}

/// A parsed, validated digest schedule.
#[derive(Debug, Clone)]
pub struct DigestSchedule {
    expr: String,
    schedule: cron::Schedule,
    tz: Tz,
}

impl DigestSchedule {
    /// Parses `expr` in zone `tz` (an IANA name). Every error names the problem in
    /// words fit for `check-config`.
    pub fn parse(expr: &str, tz: &str) -> Result<Self, DigestError> {
        let tz =
            Tz::from_str(tz.trim()).map_err(|_| DigestError::UnknownZone { tz: tz.to_string() })?;
        Self::parse_in(expr, tz)
    }

    /// As [`DigestSchedule::parse`], with the zone already known.
    pub fn parse_in(expr: &str, tz: Tz) -> Result<Self, DigestError> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        match fields.len() {
            6 | 7 => {}
            5 => {
                return Err(DigestError::FiveFields {
                    expr: expr.to_string(),
                })
            }
            n => {
                return Err(DigestError::FieldCount {
                    expr: expr.to_string(),
                    fields: n,
                })
            }
        }
        let dow = fields[5];
        // Steps ("Mon-Fri/2") may carry a number; the days themselves may not.
        let days = dow.split('/').next().unwrap_or("");
        if days.chars().any(|c| c.is_ascii_digit()) {
            return Err(DigestError::NumericWeekday {
                expr: expr.to_string(),
                field: dow.to_string(),
            });
        }
        let schedule = cron::Schedule::from_str(expr).map_err(|e| DigestError::BadExpression {
            expr: expr.to_string(),
            detail: e.to_string(),
        })?;
        Ok(DigestSchedule {
            expr: expr.to_string(),
            schedule,
            tz,
        })
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The first run strictly after `after`.
    pub fn next_run(&self, after: DateTime<Utc>) -> Result<DateTime<Utc>, DigestError> {
        let local = after.with_timezone(&self.tz);
        // The crate yields both instants of an ambiguous autumn time, the earlier
        // one first, and may yield an instant before `after` when `after` falls
        // between them: keep the first one that is really later.
        self.schedule
            .after(&local)
            .take(4)
            .map(|t| t.with_timezone(&Utc))
            .find(|t| *t > after)
            .ok_or_else(|| DigestError::NeverRuns {
                expr: self.expr.clone(),
                after,
            })
    }
}

/// One-shot form: parse and compute the next run.
pub fn next_run(expr: &str, tz: Tz, after: DateTime<Utc>) -> Result<DateTime<Utc>, DigestError> {
    DigestSchedule::parse_in(expr, tz)?.next_run(after)
}

/// For `check-config`: the schedule parses and runs at least once after `now`.
/// Returns the next run so the command can show it.
pub fn validate(expr: &str, tz: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, DigestError> {
    DigestSchedule::parse(expr, tz)?.next_run(now)
}

/// What the digest needs to know about an open case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenCase {
    pub case_ref: CaseRef,
    /// Committee name, e.g. "Kommunstyrelsen".
    pub committee: String,
    pub state: State,
    pub deadline: DateTime<Utc>,
    /// Whether the case may still need notifying (see `Case::deadline_clock_running`).
    pub clock_running: bool,
    /// The case's open NIS2 deadlines with a known instant (`core::regime`),
    /// each a line of its own.
    pub nis2: Vec<regime::Due>,
}

impl OpenCase {
    /// The case as the digest shows it; `tz` is the configured zone (the
    /// NIS2 month clocks count in it).
    pub fn from_case(case: &Case, committee: &str, tz: chrono_tz::Tz) -> Self {
        OpenCase {
            case_ref: case.case_ref.clone(),
            committee: committee.to_string(),
            state: case.state,
            deadline: case.deadline(),
            clock_running: case.deadline_clock_running(),
            nis2: if case.merged_into.is_some() {
                Vec::new()
            } else {
                regime::open_nis2(case.aware_at, &case.nis2, tz)
            },
        }
    }
}

pub use super::text::digest::anchor_text_sv;

/// One line of the digest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DigestLine {
    pub case_ref: CaseRef,
    /// The deadline the line is about: GDPR's (`imy-notification`) or one of
    /// NIS2's.
    pub clock: Clock,
    pub committee: String,
    pub state: State,
    pub deadline: DateTime<Utc>,
    /// Seconds until the deadline; negative when overdue.
    pub seconds_left: i64,
    pub overdue: bool,
    pub clock_running: bool,
    /// "2 d 5 h", "försenad 3 h", or "klockan stoppad".
    pub time_left_sv: String,
    /// "2 d 5 h", "overdue 3 h", or "clock stopped".
    pub time_left_en: String,
}

/// Renders an amount of time as "2 d 5 h", "5 h", "45 min" (days and hours when a
/// day or more, hours alone under a day, minutes under an hour).
fn span(minutes: i64) -> String {
    let (d, h, m) = (minutes / (24 * 60), (minutes / 60) % 24, minutes % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h")
    } else {
        format!("{m} min")
    }
}

/// "2 d 5 h" or "försenad 3 h". Time left is rounded down and lateness up, to the
/// minute: both err on the side of urgency.
pub fn time_left_sv(left: Duration) -> String {
    render(left, text::LATE_SV)
}

/// "2 d 5 h" or "overdue 3 h".
pub fn time_left_en(left: Duration) -> String {
    render(left, text::LATE_EN)
}

fn render(left: Duration, late_word: &str) -> String {
    let secs = left.num_seconds();
    if secs >= 0 {
        span(secs / 60)
    } else {
        let late = secs.unsigned_abs();
        let minutes = i64::try_from(late.div_ceil(60)).unwrap_or(i64::MAX);
        format!("{late_word} {}", span(minutes))
    }
}

/// The digest lines: cases whose clock runs, by time left (overdue first, the most
/// overdue at the top), then cases whose clock has stopped (reported, decided not
/// to notify, …) by reference. Ties go by reference so the order is stable.
pub fn digest_lines(cases: &[OpenCase], now: DateTime<Utc>) -> Vec<DigestLine> {
    let line = |c: &OpenCase, clock: Clock, deadline: DateTime<Utc>, running: bool| {
        let left = deadline - now;
        let overdue = running && now > deadline;
        let (sv, en) = if running {
            (time_left_sv(left), time_left_en(left))
        } else {
            text::clock_stopped()
        };
        DigestLine {
            case_ref: c.case_ref.clone(),
            clock,
            committee: c.committee.clone(),
            state: c.state,
            deadline,
            seconds_left: left.num_seconds(),
            overdue,
            clock_running: running,
            time_left_sv: sv,
            time_left_en: en,
        }
    };
    let mut lines: Vec<DigestLine> = Vec::new();
    for c in cases.iter().filter(|c| c.state != State::Closed) {
        lines.push(line(c, Clock::ImyNotification, c.deadline, c.clock_running));
        // One line per open NIS2 deadline (a NIS2 report is its own clock).
        for d in &c.nis2 {
            if let Some(at) = d.pending() {
                lines.push(line(c, d.clock, at, true));
            }
        }
    }
    lines.sort_by(|a, b| {
        b.clock_running
            .cmp(&a.clock_running)
            .then_with(|| {
                if a.clock_running {
                    a.seconds_left.cmp(&b.seconds_left)
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .then_with(|| a.case_ref.cmp(&b.case_ref))
            .then_with(|| a.deadline.cmp(&b.deadline))
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::register::Anchor;
    use chrono::TimeZone;
    use chrono_tz::Europe::Stockholm;

    fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap()
    }

    #[test]
    fn default_schedule_keeps_0730_local_across_dst() {
        let s = DigestSchedule::parse(DEFAULT_DIGEST_CRON, DEFAULT_DIGEST_TZ).unwrap();
        let table = [
            // Friday 27 March (winter time) 08:00 local -> Monday 30 March, summer time.
            (utc(2026, 3, 27, 7, 0), utc(2026, 3, 30, 5, 30)),
            // From the DST Sunday itself.
            (utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 5, 30)),
            // Friday 23 October (summer time) -> Monday 26 October, winter time.
            (utc(2026, 10, 23, 6, 0), utc(2026, 10, 26, 6, 30)),
            (utc(2026, 10, 25, 1, 0), utc(2026, 10, 26, 6, 30)),
            // Just before and exactly at a run: strictly after.
            (utc(2026, 3, 30, 5, 29), utc(2026, 3, 30, 5, 30)),
            (utc(2026, 3, 30, 5, 30), utc(2026, 3, 31, 5, 30)),
            // Friday run, then Saturday and Sunday are skipped.
            (utc(2026, 1, 9, 6, 30), utc(2026, 1, 12, 6, 30)),
        ];
        for (after, want) in table {
            let got = s.next_run(after).unwrap();
            assert_eq!(got, want, "after {after}");
            let local = got.with_timezone(&Stockholm);
            assert_eq!(local.format("%H:%M").to_string(), "07:30");
        }
        assert_eq!(
            next_run(DEFAULT_DIGEST_CRON, Stockholm, utc(2026, 3, 27, 7, 0)),
            Ok(utc(2026, 3, 30, 5, 30))
        );
    }

    #[test]
    fn ambiguous_autumn_time_runs_once() {
        // 02:30 happens twice on 25 October 2026 (00:30Z and 01:30Z).
        let s = DigestSchedule::parse("0 30 2 * * *", "Europe/Stockholm").unwrap();
        let first = s.next_run(utc(2026, 10, 24, 23, 0)).unwrap();
        assert_eq!(first, utc(2026, 10, 25, 0, 30));
        // Asking again after the first run, or from between the two instants,
        // never gives a time at or before `after`.
        let second = s.next_run(first).unwrap();
        assert!(second > first);
        let between = s.next_run(utc(2026, 10, 25, 1, 15)).unwrap();
        assert!(between > utc(2026, 10, 25, 1, 15));
        // Spring forward: 02:30 does not exist on 29 March; skipped that day.
        let spring = s.next_run(utc(2026, 3, 28, 23, 0)).unwrap();
        assert_eq!(spring, utc(2026, 3, 30, 0, 30));
    }

    #[test]
    fn validation_errors_are_clear() {
        let now = utc(2026, 1, 1, 0, 0);
        let table: Vec<(&str, &str, &str)> = vec![
            ("30 7 * * Mon-Fri", "Europe/Stockholm", "5 fields"),
            ("0 30 7 * * 1-5", "Europe/Stockholm", "names (Mon-Fri)"),
            ("0 30 7 * * 2", "Europe/Stockholm", "1 = Sunday"),
            ("0 30 7 * *", "Europe/Stockholm", "5 fields"),
            ("0 30", "Europe/Stockholm", "2 fields"),
            (
                "0 30 25 * * Mon-Fri",
                "Europe/Stockholm",
                "not a valid cron",
            ),
            ("0 30 7 * * Mon-Fry", "Europe/Stockholm", "not a valid cron"),
            ("0 30 7 * * Mon-Fri", "Europe/Stokholm", "IANA zone"),
            ("0 0 0 30 Feb *", "Europe/Stockholm", "never runs"),
        ];
        for (expr, tz, want) in table {
            let err = validate(expr, tz, now).unwrap_err().to_string();
            assert!(err.contains(want), "{expr:?} {tz:?}: {err}");
        }
        assert!(validate(DEFAULT_DIGEST_CRON, DEFAULT_DIGEST_TZ, now).is_ok());
        assert!(validate("0 0 8 * * Mon,Wed,Fri 2026-2030", "Europe/Stockholm", now).is_ok());
        assert!(validate("0 0 8 * * Mon-Fri/2", "UTC", now).is_ok());
    }

    #[test]
    fn time_left_rendering() {
        let table = [
            (Duration::hours(53), "2 d 5 h", "2 d 5 h"),
            (
                Duration::hours(53) + Duration::minutes(59),
                "2 d 5 h",
                "2 d 5 h",
            ),
            (Duration::hours(48), "2 d 0 h", "2 d 0 h"),
            (Duration::hours(5) + Duration::minutes(10), "5 h", "5 h"),
            (Duration::minutes(45), "45 min", "45 min"),
            (Duration::zero(), "0 min", "0 min"),
            (-Duration::hours(3), "försenad 3 h", "overdue 3 h"),
            (-Duration::seconds(10), "försenad 1 min", "overdue 1 min"),
            (
                -(Duration::hours(26) + Duration::seconds(1)),
                "försenad 1 d 2 h",
                "overdue 1 d 2 h",
            ),
        ];
        for (d, sv, en) in table {
            assert_eq!(time_left_sv(d), sv, "{d:?}");
            assert_eq!(time_left_en(d), en, "{d:?}");
        }
    }

    fn open(seq: u32, state: State, deadline: DateTime<Utc>, running: bool) -> OpenCase {
        OpenCase {
            case_ref: CaseRef::new("PUI", 2026, seq),
            committee: "Kommunstyrelsen".into(),
            state,
            deadline,
            clock_running: running,
            nis2: Vec::new(),
        }
    }

    #[test]
    fn lines_sorted_by_time_left_overdue_first_stopped_last() {
        let now = utc(2026, 3, 30, 5, 30);
        let cases = vec![
            open(1, State::Assessed, now + Duration::hours(53), true),
            open(2, State::Reported, now - Duration::hours(100), false),
            open(3, State::Received, now - Duration::hours(3), true),
            open(4, State::Acknowledged, now + Duration::hours(5), true),
            open(5, State::Decided, now - Duration::hours(30), true),
            open(6, State::Closed, now, false),
            open(7, State::Decided, now + Duration::hours(1), false),
        ];
        let lines = digest_lines(&cases, now);
        let got: Vec<(String, String, bool)> = lines
            .iter()
            .map(|l| (l.case_ref.to_string(), l.time_left_sv.clone(), l.overdue))
            .collect();
        let want: Vec<(String, String, bool)> = vec![
            ("PUI-2026-0005", "försenad 1 d 6 h", true),
            ("PUI-2026-0003", "försenad 3 h", true),
            ("PUI-2026-0004", "5 h", false),
            ("PUI-2026-0001", "2 d 5 h", false),
            ("PUI-2026-0002", "klockan stoppad", false),
            ("PUI-2026-0007", "klockan stoppad", false),
        ]
        .into_iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c))
        .collect();
        assert_eq!(got, want);
        assert_eq!(lines[0].time_left_en, "overdue 1 d 6 h");
    }

    #[test]
    fn a_nis2_case_has_a_line_per_open_nis2_deadline_sorted_with_the_rest() {
        use crate::core::regime::Nis2Status;
        // Aware Friday 27 March 2026 23:30 local (22:30Z): the early
        // warning is due 24 elapsed hours later, the IMY notification and the
        // incident notification 72 hours later (across the change to summer
        // time, in elapsed hours).
        let aware = utc(2026, 3, 27, 22, 30);
        let (mut case, _) = Case::open(CaseRef::new("PUI", 2026, 3), aware, aware, None);
        case.nis2.status = Nis2Status::Suggested;
        let now = utc(2026, 3, 28, 10, 0);
        let oc = OpenCase::from_case(&case, "Socialnämnden", Stockholm);
        assert_eq!(oc.nis2.len(), 2, "{:?}", oc.nis2);
        let other = open(1, State::Received, now + Duration::hours(20), true);
        let lines = digest_lines(&[oc, other], now);
        let got: Vec<(String, Clock, String)> = lines
            .iter()
            .map(|l| (l.case_ref.to_string(), l.clock, l.time_left_sv.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("PUI-2026-0003".into(), Clock::EarlyWarning, "12 h".into()),
                (
                    "PUI-2026-0001".into(),
                    Clock::ImyNotification,
                    "20 h".into()
                ),
                (
                    "PUI-2026-0003".into(),
                    Clock::ImyNotification,
                    "2 d 12 h".into()
                ),
                (
                    "PUI-2026-0003".into(),
                    Clock::IncidentNotification,
                    "2 d 12 h".into()
                ),
            ]
        );
        // The early warning sent: its line goes; the text names the clock.
        case.nis2.early_warning_sent_at = Some(now);
        let oc = OpenCase::from_case(&case, "Socialnämnden", Stockholm);
        let lines = digest_lines(&[oc], now);
        assert_eq!(lines.len(), 2);
        let text =
            crate::core::text::digest::text(Stockholm, "2026-03-28", &lines, &[], (&[], false), "");
        assert!(text.contains("NIS2: incidentanmälan"), "{text}");
        assert!(text.contains("anmälan till IMY"), "{text}");
    }

    /// Mail recorded without a case is listed (local time, sender, subject
    /// on one line each, bounded), with what the DPO can do about it; a cut
    /// list says so; none, no section.
    #[test]
    fn the_digest_lists_mail_without_a_case() {
        use crate::core::text::digest::{text, UnplacedMail};
        let long = "x".repeat(300);
        let unplaced = [
            UnplacedMail {
                at: utc(2026, 3, 29, 23, 30),
                from: Some("support@provlabb.example"),
                subject: Some("Viktig information\r\nom era uppgifter"),
            },
            UnplacedMail {
                at: utc(2026, 3, 28, 8, 0),
                from: None,
                subject: Some(&long),
            },
        ];
        let t = text(Stockholm, "2026-03-30", &[], &[], (&unplaced, false), "");
        assert!(
            t.contains("Post utan ärende sedan förra sammanställningen"),
            "{t}"
        );
        assert!(t.contains("\"Rapportera incident\""), "{t}");
        // 23:30 UTC on the night of the change to summer time: 01:30 CEST.
        assert!(
            t.contains(
                "2026-03-30 01:30  support@provlabb.example  Viktig information om era uppgifter\n"
            ),
            "{t}"
        );
        let line = t
            .lines()
            .find(|l| l.starts_with("2026-03-28 09:00"))
            .unwrap();
        assert!(line.contains("(okänd avsändare)"), "{line}");
        assert!(line.chars().count() < 140, "{line}");
        assert!(!t.contains("fler finns"), "{t}");
        let t = text(Stockholm, "2026-03-30", &[], &[], (&unplaced, true), "");
        assert!(t.contains("(de 2 senaste; fler finns)"), "{t}");
        let t = text(Stockholm, "2026-03-30", &[], &[], (&[], false), "");
        assert!(!t.contains("Post utan ärende"), "{t}");
    }

    #[test]
    fn the_anchor_paragraph_carries_the_line_whole_and_local_time() {
        let a = Anchor {
            at: utc(2026, 3, 30, 5, 30),
            upto: 9,
            cases: 2,
            events: 11,
            root: "0a".repeat(32),
        };
        let text = anchor_text_sv(&a, Stockholm);
        assert!(
            text.starts_with("Registerankare 2026-03-30 07:30 CEST (2 ärenden, 11 händelser)"),
            "{text}"
        );
        assert!(text.lines().any(|l| l == a.line()), "{text}");
        assert_eq!(Anchor::find(&text), Ok(a));
    }

    #[test]
    fn open_case_from_a_case_follows_the_clock_rule() {
        let aware = utc(2026, 3, 27, 9, 0);
        let (case, _) = Case::open(CaseRef::new("PUI", 2026, 9), aware, aware, None);
        let oc = OpenCase::from_case(&case, "Utbildningsnämnden", Stockholm);
        assert_eq!(oc.deadline, utc(2026, 3, 30, 9, 0));
        assert!(oc.clock_running);
        let line = &digest_lines(&[oc], utc(2026, 3, 28, 9, 0))[0];
        assert_eq!(line.time_left_sv, "2 d 0 h");
        assert_eq!(line.committee, "Utbildningsnämnden");
    }
}
