//! More than one clock on a case: the GDPR art. 33 notification to IMY and
//! the NIS2 chain of the cybersäkerhetslag (in force 15 January 2026; it
//! implements directive (EU) 2022/2555). Pure: every function takes the times
//! it needs; nothing here reads the clock or the store.
//!
//! The deadlines, and the texts they follow:
//! - GDPR art. 33(1): notify the supervisory authority (IMY) without undue delay
//!   and where feasible within 72 hours of becoming aware (`core::clock`).
//! - NIS2 art. 23(4)(a): an early warning within 24 hours of becoming aware of
//!   a significant incident.
//! - NIS2 art. 23(4)(b): an incident notification within 72 hours of becoming
//!   aware.
//! - NIS2 art. 23(4)(c): intermediate reports on the authority's request (no
//!   clock of its own: it carries the date the authority gives).
//! - NIS2 art. 23(4)(d): a final report not later than one month after the
//!   incident notification was submitted; (e) when the incident is still
//!   ongoing then, a progress report at that time and the final report within
//!   one month of the incident being handled.
//!
//! "One month" follows the Swedish rule for periods in months (lag (1930:173)
//! om beräkning av lagstadgad tid, 1 §): the period ends on the day of the last
//! month whose number is the day the period began; where that month has no
//! such day, on its last day (31 January → 28 February, or 29 in a leap year).
//! The time of day is kept (in Swedish time), so the month clock is never
//! longer than the calendar rule allows. The 2 § rule that moves a period
//! ending on a Saturday, Sunday or public holiday to the next working day is
//! NOT applied: an earlier deadline is always safe, a wrong holiday table not.
//! The elapsed-hour clocks (24 h, 72 h) count real hours across DST.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::core::notice::{Cause, Notice};

/// The legal regime a deadline belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Regime {
    /// GDPR art. 33 (IMY).
    Gdpr,
    /// NIS2 art. 23 / cybersäkerhetslagen.
    Nis2,
}

/// One deadline of a regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Clock {
    /// GDPR art. 33(1): 72 h after awareness.
    ImyNotification,
    /// NIS2 art. 23(4)(a): 24 h after awareness.
    EarlyWarning,
    /// NIS2 art. 23(4)(b): 72 h after awareness.
    IncidentNotification,
    /// NIS2 art. 23(4)(e): when the incident is still ongoing one month after
    /// the incident notification, a progress report is due then (present once
    /// the notification is sent, unless the incident was handled within the
    /// month).
    ProgressReport,
    /// NIS2 art. 23(4)(d)/(e): one month after the incident notification, or
    /// one month after the incident was handled when it was still ongoing at
    /// the one-month mark.
    FinalReport,
}

impl Clock {
    pub fn regime(self) -> Regime {
        match self {
            Clock::ImyNotification => Regime::Gdpr,
            _ => Regime::Nis2,
        }
    }
    /// The article the deadline follows.
    pub fn article(self) -> &'static str {
        match self {
            Clock::ImyNotification => "GDPR art. 33.1",
            Clock::EarlyWarning => "NIS2 art. 23.4 a",
            Clock::IncidentNotification => "NIS2 art. 23.4 b",
            Clock::ProgressReport => "NIS2 art. 23.4 e",
            Clock::FinalReport => "NIS2 art. 23.4 d–e",
        }
    }
}

/// Whether NIS2 applies to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Nis2Status {
    /// Nobody has raised it: only the GDPR clock runs.
    #[default]
    NotConsidered,
    /// The reader suggested it: the 24-hour early-warning clock runs at once,
    /// because waiting for the decision would spend the 24 hours.
    Suggested,
    /// The official decided it applies (`nis2: ja`).
    Applies,
    /// The official decided it does not (`nis2: nej`): its clocks stop.
    DoesNotApply,
}

/// What has been sent under NIS2, as the case records it. Stored inside the
/// case's workflow JSON; every field has a default, so older rows decode.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Nis2 {
    pub status: Nis2Status,
    /// The reader's reasons when it suggested NIS2 at opening.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Nis2Reason>,
    /// Who decided `nis2: ja|nej`, when, and the reasoning written after it.
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reasoning: Option<String>,
    pub early_warning_sent_at: Option<DateTime<Utc>>,
    pub notification_sent_at: Option<DateTime<Utc>>,
    /// The authority's reference for the incident notification.
    pub notification_ref: Option<String>,
    /// A progress report sent instead of the final report (the incident was
    /// still ongoing a month after the notification).
    pub progress_report_sent_at: Option<DateTime<Utc>>,
    /// When the incident was handled (the final report is due a month after).
    pub handled_at: Option<DateTime<Utc>>,
    pub final_report_sent_at: Option<DateTime<Utc>>,
}

impl Nis2 {
    /// Nothing recorded: the case has never been near NIS2 (kept out of the
    /// stored workflow, so such cases store exactly what they stored before).
    pub fn is_unset(&self) -> bool {
        *self == Nis2::default()
    }

    /// The NIS2 clocks run: suggested or decided to apply.
    pub fn running(&self) -> bool {
        matches!(self.status, Nis2Status::Suggested | Nis2Status::Applies)
    }
}

/// One deadline with its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Due {
    pub clock: Clock,
    /// `None` when the deadline cannot be computed yet (the final report before
    /// the incident notification was sent, or before the incident was handled
    /// when a progress report was sent).
    pub due_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
}

impl Due {
    /// Open and with a known deadline.
    pub fn pending(&self) -> Option<DateTime<Utc>> {
        match (self.done_at, self.due_at) {
            (None, Some(d)) => Some(d),
            _ => None,
        }
    }
    /// Done after its deadline.
    pub fn late(&self) -> bool {
        matches!((self.done_at, self.due_at), (Some(done), Some(due)) if done > due)
    }
}

/// `at + one month` by the Swedish rule above (same local time of day;
/// clamped to the month's last day). `None` beyond chrono's range.
pub fn one_month_after(at: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
    let local = at.with_timezone(&tz);
    let (y, m) = if local.month() == 12 {
        (local.year().checked_add(1)?, 1)
    } else {
        (local.year(), local.month() + 1)
    };
    let day = local.day().min(last_day_of_month(y, m)?);
    let naive = NaiveDate::from_ymd_opt(y, m, day)?.and_time(local.time());
    // A time that does not exist (spring forward) moves an hour later; a time
    // that exists twice (autumn) takes the earlier of the two.
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(a, _) => Some(a.with_timezone(&Utc)),
        chrono::LocalResult::None => tz
            .from_local_datetime(&(naive + Duration::hours(1)))
            .earliest()
            .map(|t| t.with_timezone(&Utc)),
    }
}

fn last_day_of_month(y: i32, m: u32) -> Option<u32> {
    let (ny, nm) = if m == 12 {
        (y.checked_add(1)?, 1)
    } else {
        (y, m + 1)
    };
    NaiveDate::from_ymd_opt(ny, nm, 1)?
        .pred_opt()
        .map(|d| d.day())
}

fn hours_after(at: DateTime<Utc>, h: i64) -> Option<DateTime<Utc>> {
    at.checked_add_signed(Duration::hours(h))
}

/// Every deadline of a case: GDPR always, NIS2 while it is suggested or
/// applies. `imy_reported_at` closes the GDPR one.
pub fn deadlines(
    aware_at: DateTime<Utc>,
    imy_reported_at: Option<DateTime<Utc>>,
    nis2: &Nis2,
    tz: Tz,
) -> Vec<Due> {
    let mut out = vec![Due {
        clock: Clock::ImyNotification,
        due_at: hours_after(aware_at, 72),
        done_at: imy_reported_at,
    }];
    if matches!(nis2.status, Nis2Status::Suggested | Nis2Status::Applies) {
        out.push(Due {
            clock: Clock::EarlyWarning,
            due_at: hours_after(aware_at, 24),
            done_at: nis2.early_warning_sent_at,
        });
        out.push(Due {
            clock: Clock::IncidentNotification,
            due_at: hours_after(aware_at, 72),
            done_at: nis2.notification_sent_at,
        });
        out.push(Due {
            clock: Clock::FinalReport,
            due_at: final_report_start(nis2, tz).and_then(|s| one_month_after(s, tz)),
            done_at: nis2.final_report_sent_at,
        });
        if let Some(notified) = nis2.notification_sent_at {
            let mark = one_month_after(notified, tz);
            let handled_in_time = matches!((nis2.handled_at, mark), (Some(h), Some(m)) if h <= m);
            if !handled_in_time {
                // Art. 23(4)(e): still ongoing (or not known to be handled)
                // at the one-month mark: a progress report then. The final
                // report sent by then makes it moot. Listed after the final
                // report, so a reminder for the same instant names that.
                out.push(Due {
                    clock: Clock::ProgressReport,
                    due_at: mark,
                    done_at: nis2.progress_report_sent_at.or(nis2.final_report_sent_at),
                });
            }
        }
    }
    out
}

/// The next open deadline (earliest first), for reminders and the digest.
pub fn next_due(dues: &[Due]) -> Option<Due> {
    dues.iter()
        .filter(|d| d.pending().is_some())
        .min_by_key(|d| d.due_at)
        .copied()
}

/// How far ahead of a NIS2 deadline its reminders go out (only those after
/// the clock's start): a week, two days, a day, 12 h, 4 h and 1 h before.
pub const NIS2_REMINDER_HOURS_BEFORE: &[i64] = &[168, 48, 24, 12, 4, 1];

/// After a NIS2 deadline has passed, a reminder every this many hours (the
/// first at the deadline itself) until the report is recorded.
pub const NIS2_OVERDUE_EVERY_HOURS: i64 = 24;

/// One planned NIS2 reminder: the instant it goes out and the deadline it is
/// about (the mail names every open deadline; this one is the nearest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Nis2Reminder {
    pub at: DateTime<Utc>,
    pub clock: Clock,
    pub due_at: DateTime<Utc>,
    /// At or after the deadline: the deputy is added, as for GDPR.
    pub overdue: bool,
}

/// Where the final report's month counts from (art. 23(4)(d)/(e)): the
/// incident notification; the handling of the incident instead when it was
/// handled after the one-month mark or a progress report was sent (the
/// incident was ongoing then). None while that instant is not known.
fn final_report_start(nis2: &Nis2, tz: Tz) -> Option<DateTime<Utc>> {
    let notified = nis2.notification_sent_at?;
    let mark = one_month_after(notified, tz)?;
    match nis2.handled_at {
        Some(h) if h <= mark && nis2.progress_report_sent_at.is_none() => Some(notified),
        Some(h) => Some(h),
        None if nis2.progress_report_sent_at.is_some() => None,
        None => Some(notified),
    }
}

/// The start of a NIS2 deadline's clock (awareness for the first two, the
/// notification for the progress report, the notification or the handling
/// for the final report).
fn clock_start(aware_at: DateTime<Utc>, nis2: &Nis2, c: Clock, tz: Tz) -> Option<DateTime<Utc>> {
    match c {
        Clock::ImyNotification | Clock::EarlyWarning | Clock::IncidentNotification => {
            Some(aware_at)
        }
        Clock::ProgressReport => nis2.notification_sent_at,
        Clock::FinalReport => final_report_start(nis2, tz),
    }
}

/// The first reminder of one open deadline strictly after `after`.
fn next_for(due: &Due, start: DateTime<Utc>, after: DateTime<Utc>) -> Option<Nis2Reminder> {
    let due_at = due.pending()?;
    let before = NIS2_REMINDER_HOURS_BEFORE
        .iter()
        .filter_map(|h| due_at.checked_sub_signed(Duration::hours(*h)))
        .filter(|t| *t > start)
        .find(|t| *t > after);
    if let Some(at) = before {
        return Some(Nis2Reminder {
            at,
            clock: due.clock,
            due_at,
            overdue: false,
        });
    }
    let every = NIS2_OVERDUE_EVERY_HOURS * 3600;
    let past = (after - due_at).num_seconds();
    let k = if past < 0 { 0 } else { past / every + 1 };
    let at = due_at.checked_add_signed(Duration::try_seconds(k.checked_mul(every)?)?)?;
    Some(Nis2Reminder {
        at,
        clock: due.clock,
        due_at,
        overdue: true,
    })
}

/// The next NIS2 reminder strictly after `after`, over every open NIS2
/// deadline of the case (none when NIS2 is not suggested or applies). The
/// early-warning reminders start with the suggestion: waiting for the
/// decision would spend the 24 hours.
pub fn next_nis2_reminder(
    aware_at: DateTime<Utc>,
    nis2: &Nis2,
    tz: Tz,
    after: DateTime<Utc>,
) -> Option<Nis2Reminder> {
    if !nis2.running() {
        return None;
    }
    deadlines(aware_at, None, nis2, tz)
        .iter()
        .filter(|d| d.clock.regime() == Regime::Nis2)
        .filter_map(|d| next_for(d, clock_start(aware_at, nis2, d.clock, tz)?, after))
        .min_by_key(|r| (r.at, r.due_at))
}

/// The open NIS2 deadlines (known and not done), earliest first.
pub fn open_nis2(aware_at: DateTime<Utc>, nis2: &Nis2, tz: Tz) -> Vec<Due> {
    let mut v: Vec<Due> = deadlines(aware_at, None, nis2, tz)
        .into_iter()
        .filter(|d| d.clock.regime() == Regime::Nis2 && d.pending().is_some())
        .collect();
    v.sort_by_key(|d| d.due_at);
    v
}

/// Why the reader suggests that NIS2 may apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Nis2Reason {
    /// A cyberattack named as such (ransomware, DDoS, cyberattack…).
    Cyberattack { word: String },
    /// A service is (or was) unavailable.
    Unavailability { word: String },
    /// One of the municipality's services that the admin listed as in scope.
    InScopeService { service: String },
    /// Many people affected (at least [`MANY_AFFECTED`]) by an attack.
    ManyAffected { at_least: u64 },
}

/// How many affected people make an attack worth the NIS2 question.
pub const MANY_AFFECTED: u64 = 10_000;

const CYBERATTACK_WORDS: &[&str] = &[
    "cyberattack",
    "cyberangrepp",
    "cyber attack",
    "ransomware",
    "utpressningsvirus",
    "krypteringsattack",
    "ddos",
    "överbelastningsattack",
    "överbelastningsangrepp",
    "it-angrepp",
    "it-attack",
];

const UNAVAILABILITY_WORDS: &[&str] = &[
    "otillgänglig",
    "inte tillgänglig",
    "ej tillgänglig",
    "driftstörning",
    "driftstopp",
    "avbrott i tjänsten",
    "ligger nere",
    "unavailable",
    "outage",
    "downtime",
    "service disruption",
    "not available",
];

/// How much of the text is searched.
const MAX_SUGGEST_CHARS: usize = 30_000;

fn find_word(text: &str, words: &[&str]) -> Option<String> {
    words
        .iter()
        .find(|w| text.contains(*w))
        .map(|w| w.to_string())
}

/// The reader's NIS2 suggestion for a notice: every reason found, empty when
/// none. `in_scope` are the service names an admin listed (matched without
/// regard to case, at least 3 characters).
pub fn suggest_nis2(n: &Notice, in_scope: &[String]) -> Vec<Nis2Reason> {
    let mut text: String = n
        .threading
        .subject
        .as_deref()
        .unwrap_or_default()
        .chars()
        .chain(std::iter::once('\n'))
        .chain(n.body_text.chars().take(MAX_SUGGEST_CHARS))
        .collect::<String>()
        .to_lowercase();
    for s in &n.incident.systems {
        text.push('\n');
        text.push_str(&s.to_lowercase());
    }
    let mut out = Vec::new();
    if let Some(word) = find_word(&text, CYBERATTACK_WORDS) {
        out.push(Nis2Reason::Cyberattack { word });
    }
    if let Some(word) = find_word(&text, UNAVAILABILITY_WORDS) {
        out.push(Nis2Reason::Unavailability { word });
    }
    for service in in_scope {
        let s = service.trim().to_lowercase();
        if s.chars().count() >= 3 && text.contains(&s) {
            out.push(Nis2Reason::InScopeService {
                service: service.trim().to_string(),
            });
        }
    }
    if n.incident.cause == Some(Cause::Attack) {
        if let Some(min) = n.incident.data_subjects.as_ref().and_then(|r| r.min) {
            if min >= MANY_AFFECTED {
                out.push(Nis2Reason::ManyAffected { at_least: min });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
