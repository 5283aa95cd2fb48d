//! The DPO's yearly statistics (`breachwatch stats --year Y`): pure counting
//! over one plain record per case. No store, no clock: the shell builds the
//! [`CaseStat`]s and passes the zone the year is counted in.
//!
//! Rules (stated here so the numbers can be checked by hand):
//! - A case belongs to the year in which the municipality became aware of it
//!   (`aware_at` in the given zone), the date the GDPR art. 33 clock starts.
//! - "Within 72 hours" compares elapsed time: `reported_at - aware_at <= 72 h`
//!   (the deadline the case machine uses, DST-neutral because both are UTC).
//! - Median and p90 use the nearest-rank method on the durations in minutes
//!   (p = ⌈q·n⌉-th smallest), so every figure is one case's real duration.
//! - NIS2 (`core::regime`): a case counts as a NIS2 incident when NIS2 was
//!   decided to apply; suggested-and-undecided and decided-not-to-apply are
//!   counted beside it. Timeliness is per report over the cases where NIS2
//!   runs (applies or suggested): sent by its deadline (elapsed hours for the
//!   24 h and 72 h, the month rule in `tz` for the month clocks), sent late,
//!   or not sent (yet).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::core::regime::{self, Clock, Nis2, Nis2Status};

/// How a case ended up, for the outcome table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Reported to IMY (art. 33).
    Notified,
    /// Reported to IMY and the data subjects informed (art. 33 + 34).
    NotifiedAndInformed,
    /// Decided not to report (documented only, art. 33(5)).
    NotNotified,
    /// A report that was later withdrawn.
    Withdrawn,
    /// No decision yet.
    Undecided,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Notified,
        Outcome::NotifiedAndInformed,
        Outcome::NotNotified,
        Outcome::Withdrawn,
        Outcome::Undecided,
    ];
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Notified => "notified",
            Outcome::NotifiedAndInformed => "notified-and-informed",
            Outcome::NotNotified => "not-notified",
            Outcome::Withdrawn => "withdrawn",
            Outcome::Undecided => "undecided",
        }
    }
}

/// One case as the statistics see it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseStat {
    pub case_ref: String,
    pub aware_at: DateTime<Utc>,
    pub committee: String,
    /// The supplier's organisation (or mail domain); `None` when unknown.
    pub supplier: Option<String>,
    /// The cause as read from the notice; `None` when the notice gave none.
    pub cause: Option<String>,
    pub data_categories: Vec<String>,
    pub outcome: Outcome,
    pub decided_at: Option<DateTime<Utc>>,
    pub reported_at: Option<DateTime<Utc>>,
    pub delay_reason: Option<String>,
    /// The case's NIS2 state (default: never considered).
    pub nis2: Nis2,
}

/// One NIS2 report's timeliness over the year's NIS2 cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Nis2Timeliness {
    pub clock: Clock,
    pub on_time: usize,
    pub late: usize,
    pub not_sent: usize,
}

/// The year's NIS2 incidents (`core::regime`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nis2Year {
    /// Decided to apply (`nis2: ja`): the NIS2 incidents.
    pub applies: usize,
    /// Suggested by the reader and not decided.
    pub suggested: usize,
    /// Decided not to apply (`nis2: nej`).
    pub not_applicable: usize,
    /// Early warning, incident notification, progress report, final report.
    pub reports: Vec<Nis2Timeliness>,
}

/// The NIS2 reports in the order they are due.
pub const NIS2_REPORTS: [Clock; 4] = [
    Clock::EarlyWarning,
    Clock::IncidentNotification,
    Clock::ProgressReport,
    Clock::FinalReport,
];

fn nis2_year(cases: &[&CaseStat], tz: Tz) -> Nis2Year {
    let mut y = Nis2Year {
        applies: 0,
        suggested: 0,
        not_applicable: 0,
        reports: NIS2_REPORTS
            .iter()
            .map(|c| Nis2Timeliness {
                clock: *c,
                on_time: 0,
                late: 0,
                not_sent: 0,
            })
            .collect(),
    };
    for c in cases {
        let n = &c.nis2;
        match n.status {
            Nis2Status::Applies => y.applies += 1,
            Nis2Status::Suggested => y.suggested += 1,
            Nis2Status::DoesNotApply => y.not_applicable += 1,
            Nis2Status::NotConsidered => {}
        }
        if !n.running() {
            continue;
        }
        let dues = regime::deadlines(c.aware_at, None, n, tz);
        for t in y.reports.iter_mut() {
            let Some(due) = dues.iter().find(|d| d.clock == t.clock) else {
                continue;
            };
            let sent = match t.clock {
                Clock::EarlyWarning => n.early_warning_sent_at,
                Clock::IncidentNotification => n.notification_sent_at,
                Clock::ProgressReport => n.progress_report_sent_at,
                _ => n.final_report_sent_at,
            };
            match (sent, due.due_at) {
                // A progress report made moot by the final report is no report.
                (None, _) if t.clock == Clock::ProgressReport && due.done_at.is_some() => {}
                (None, _) => t.not_sent += 1,
                (Some(s), Some(d)) if s > d => t.late += 1,
                (Some(_), _) => t.on_time += 1,
            }
        }
    }
    y
}

/// A count per label, largest first (ties by label), so tables read top-down.
pub type Counts = Vec<(String, usize)>;

/// Median and p90 of a set of durations (whole minutes), with how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Spread {
    pub n: usize,
    pub median_minutes: Option<i64>,
    pub p90_minutes: Option<i64>,
}

/// A report made after 72 hours, with the reason the case gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Late {
    pub case_ref: String,
    pub hours_after_awareness: i64,
    pub delay_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YearReport {
    pub year: i32,
    pub cases: usize,
    /// Cases per month, January first (by awareness, local time).
    pub per_month: [usize; 12],
    pub per_committee: Counts,
    pub per_supplier: Counts,
    pub per_cause: Counts,
    /// A case with three categories counts once under each.
    pub per_data_category: Counts,
    pub outcomes: Vec<(Outcome, usize)>,
    /// Cases reported to IMY (including later withdrawn).
    pub reported: usize,
    pub reported_within_72h: usize,
    pub late: Vec<Late>,
    pub awareness_to_decision: Spread,
    pub awareness_to_report: Spread,
    pub nis2: Nis2Year,
}

/// The label used for a missing supplier or cause (kept as data; the renderer
/// translates it).
pub const UNKNOWN: &str = "";

const MAX_LABEL_CHARS: usize = 80;

fn label(s: Option<&str>) -> String {
    let t = s.map(str::trim).unwrap_or_default();
    t.chars().take(MAX_LABEL_CHARS).collect()
}

fn counts(map: BTreeMap<String, usize>) -> Counts {
    let mut v: Counts = map.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// Nearest rank: the ⌈q·n⌉-th smallest (1-based), q in (0, 1].
fn nearest_rank(sorted: &[i64], num: usize, den: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * num).div_ceil(den).max(1);
    sorted.get(rank - 1).copied()
}

fn spread(mut minutes: Vec<i64>) -> Spread {
    minutes.sort_unstable();
    Spread {
        n: minutes.len(),
        median_minutes: nearest_rank(&minutes, 1, 2),
        p90_minutes: nearest_rank(&minutes, 9, 10),
    }
}

fn minutes_between(from: DateTime<Utc>, to: DateTime<Utc>) -> Option<i64> {
    // A time before awareness is a data error, not a negative duration.
    let m = to.signed_duration_since(from).num_minutes();
    (m >= 0).then_some(m)
}

/// Counts the cases of `year` (awareness in `tz`).
pub fn year_report(all: &[CaseStat], year: i32, tz: Tz) -> YearReport {
    let cases: Vec<&CaseStat> = all
        .iter()
        .filter(|c| c.aware_at.with_timezone(&tz).year() == year)
        .collect();
    let mut per_month = [0usize; 12];
    let mut committee = BTreeMap::new();
    let mut supplier = BTreeMap::new();
    let mut cause = BTreeMap::new();
    let mut category = BTreeMap::new();
    let mut outcome: BTreeMap<Outcome, usize> = BTreeMap::new();
    let mut to_decision = Vec::new();
    let mut to_report = Vec::new();
    let mut within = 0;
    let mut reported = 0;
    let mut late = Vec::new();
    for c in &cases {
        let month = c.aware_at.with_timezone(&tz).month0() as usize;
        per_month[month] += 1;
        *committee.entry(label(Some(&c.committee))).or_insert(0) += 1;
        *supplier.entry(label(c.supplier.as_deref())).or_insert(0) += 1;
        *cause.entry(label(c.cause.as_deref())).or_insert(0) += 1;
        let mut cats: Vec<String> = c.data_categories.iter().map(|d| label(Some(d))).collect();
        cats.sort();
        cats.dedup();
        for d in cats.into_iter().filter(|d| !d.is_empty()) {
            *category.entry(d).or_insert(0) += 1;
        }
        *outcome.entry(c.outcome).or_insert(0) += 1;
        if let Some(m) = c.decided_at.and_then(|d| minutes_between(c.aware_at, d)) {
            to_decision.push(m);
        }
        if let Some(r) = c.reported_at {
            reported += 1;
            if let Some(m) = minutes_between(c.aware_at, r) {
                to_report.push(m);
            }
            if r.signed_duration_since(c.aware_at) <= Duration::hours(72) {
                within += 1;
            } else {
                late.push(Late {
                    case_ref: c.case_ref.clone(),
                    hours_after_awareness: r.signed_duration_since(c.aware_at).num_hours(),
                    delay_reason: c.delay_reason.clone(),
                });
            }
        }
    }
    late.sort_by(|a, b| a.case_ref.cmp(&b.case_ref));
    YearReport {
        year,
        cases: cases.len(),
        per_month,
        per_committee: counts(committee),
        per_supplier: counts(supplier),
        per_cause: counts(cause),
        per_data_category: counts(category),
        outcomes: Outcome::ALL
            .iter()
            .map(|o| (*o, outcome.get(o).copied().unwrap_or(0)))
            .collect(),
        reported,
        reported_within_72h: within,
        late,
        awareness_to_decision: spread(to_decision),
        awareness_to_report: spread(to_report),
        nis2: nis2_year(&cases, tz),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("valid")
    }

    fn case(r: &str, aware: DateTime<Utc>) -> CaseStat {
        CaseStat {
            case_ref: r.into(),
            aware_at: aware,
            committee: "Kommunstyrelsen".into(),
            supplier: Some("LabPortalen AB".into()),
            cause: None,
            data_categories: vec![],
            outcome: Outcome::Undecided,
            decided_at: None,
            reported_at: None,
            delay_reason: None,
            nis2: Nis2::default(),
        }
    }

    #[test]
    fn nis2_incidents_and_their_timeliness_per_report() {
        let tz: Tz = "Europe/Stockholm".parse().expect("zone");
        let aware = at(2026, 1, 29, 8, 0);
        let mut on_time = case("PUI-1", aware);
        on_time.nis2 = Nis2 {
            status: Nis2Status::Applies,
            early_warning_sent_at: Some(aware + Duration::hours(24)),
            notification_sent_at: Some(at(2026, 1, 31, 9, 0)),
            handled_at: Some(at(2026, 2, 20, 9, 0)),
            // 31 January 10:00 local → 28 February 10:00 local: on time.
            final_report_sent_at: Some(at(2026, 2, 28, 9, 0)),
            ..Nis2::default()
        };
        let mut late = case("PUI-2", aware);
        late.nis2 = Nis2 {
            status: Nis2Status::Applies,
            early_warning_sent_at: Some(aware + Duration::hours(24) + Duration::minutes(1)),
            ..Nis2::default()
        };
        let mut suggested = case("PUI-3", aware);
        suggested.nis2.status = Nis2Status::Suggested;
        let mut no = case("PUI-4", aware);
        no.nis2.status = Nis2Status::DoesNotApply;
        no.nis2.early_warning_sent_at = Some(aware);
        let r = year_report(
            &[on_time, late, suggested, no, case("PUI-5", aware)],
            2026,
            tz,
        );
        assert_eq!(
            (r.nis2.applies, r.nis2.suggested, r.nis2.not_applicable),
            (2, 1, 1)
        );
        let get = |c: Clock| *r.nis2.reports.iter().find(|t| t.clock == c).unwrap();
        let ew = get(Clock::EarlyWarning);
        assert_eq!((ew.on_time, ew.late, ew.not_sent), (1, 1, 1));
        let inc = get(Clock::IncidentNotification);
        assert_eq!((inc.on_time, inc.late, inc.not_sent), (1, 0, 2));
        // Handled within the month: no progress report is counted.
        let pr = get(Clock::ProgressReport);
        assert_eq!((pr.on_time, pr.late, pr.not_sent), (0, 0, 0));
        let fr = get(Clock::FinalReport);
        assert_eq!((fr.on_time, fr.late, fr.not_sent), (1, 0, 2));
    }

    #[test]
    fn the_year_is_the_local_year_of_awareness() {
        let tz: Tz = "Europe/Stockholm".parse().expect("zone");
        // 23:30 UTC on 31 December is 00:30 on 1 January in Stockholm.
        let cases = [
            case("PUI-1", at(2025, 12, 31, 23, 30)),
            case("PUI-2", at(2025, 12, 31, 22, 30)),
        ];
        let r = year_report(&cases, 2026, tz);
        assert_eq!(r.cases, 1);
        assert_eq!(r.per_month[0], 1);
        assert_eq!(year_report(&cases, 2025, tz).per_month[11], 1);
    }

    #[test]
    fn seventy_two_elapsed_hours_across_dst_are_on_time_and_one_minute_more_is_late() {
        let tz: Tz = "Europe/Stockholm".parse().expect("zone");
        // Aware Friday 27 March 2026 20:05 local (19:05 UTC); clocks go forward on 29 March.
        let aware = at(2026, 3, 27, 19, 5);
        let mut on_time = case("PUI-1", aware);
        on_time.reported_at = Some(aware + Duration::hours(72));
        on_time.outcome = Outcome::Notified;
        let mut late = case("PUI-2", aware);
        late.reported_at = Some(aware + Duration::hours(72) + Duration::minutes(1));
        late.delay_reason = Some("Meddelandet låg i fel brevlåda.".into());
        late.outcome = Outcome::Notified;
        let r = year_report(&[on_time, late], 2026, tz);
        assert_eq!((r.reported, r.reported_within_72h), (2, 1));
        assert_eq!(r.late.len(), 1);
        assert_eq!(r.late[0].case_ref, "PUI-2");
        assert_eq!(r.late[0].hours_after_awareness, 72);
    }

    #[test]
    fn median_and_p90_are_real_durations_by_nearest_rank() {
        let tz: Tz = "Europe/Stockholm".parse().expect("zone");
        let aware = at(2026, 5, 4, 8, 0);
        let cases: Vec<CaseStat> = (1..=10)
            .map(|h| {
                let mut c = case(&format!("PUI-{h}"), aware);
                c.decided_at = Some(aware + Duration::hours(h));
                c
            })
            .collect();
        let r = year_report(&cases, 2026, tz);
        assert_eq!(r.awareness_to_decision.n, 10);
        assert_eq!(r.awareness_to_decision.median_minutes, Some(5 * 60));
        assert_eq!(r.awareness_to_decision.p90_minutes, Some(9 * 60));
        assert_eq!(r.awareness_to_report.median_minutes, None);
    }

    #[test]
    fn categories_count_once_per_case_and_labels_are_bounded() {
        let tz: Tz = "Europe/Stockholm".parse().expect("zone");
        let mut c = case("PUI-1", at(2026, 2, 1, 10, 0));
        c.data_categories = vec![
            "hälsa".into(),
            "hälsa".into(),
            " kontakt ".into(),
            "".into(),
        ];
        c.supplier = Some("x".repeat(10_000));
        let r = year_report(&[c], 2026, tz);
        assert_eq!(
            r.per_data_category,
            vec![("hälsa".to_string(), 1), ("kontakt".to_string(), 1)]
        );
        assert_eq!(r.per_supplier[0].0.chars().count(), MAX_LABEL_CHARS);
    }

    #[test]
    fn a_report_time_before_awareness_is_not_a_negative_duration() {
        let tz: Tz = "Europe/Stockholm".parse().expect("zone");
        let aware = at(2026, 6, 1, 10, 0);
        let mut c = case("PUI-1", aware);
        c.reported_at = Some(aware - Duration::hours(1));
        let r = year_report(&[c], 2026, tz);
        assert_eq!(r.awareness_to_report.n, 0);
        assert_eq!(r.reported, 1);
        assert_eq!(r.reported_within_72h, 1);
    }
}
