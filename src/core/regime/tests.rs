use super::*;
use crate::core::notice::{read, ReadOptions};
use chrono::TimeZone;

fn sthlm() -> Tz {
    chrono_tz::Europe::Stockholm
}

/// A local Stockholm time (must exist and be unambiguous).
fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    sthlm()
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("a single local time")
        .with_timezone(&Utc)
}

fn fmt(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| {
        t.with_timezone(&sthlm())
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    })
    .unwrap_or_else(|| "-".into())
}

fn due(dues: &[Due], c: Clock) -> Due {
    *dues.iter().find(|d| d.clock == c).expect("clock present")
}

#[test]
fn both_regimes_run_on_one_case_and_the_early_warning_comes_first() {
    let aware = local(2026, 5, 6, 9, 15);
    let nis2 = Nis2 {
        status: Nis2Status::Suggested,
        ..Nis2::default()
    };
    let d = deadlines(aware, None, &nis2, sthlm());
    let clocks: Vec<Clock> = d.iter().map(|d| d.clock).collect();
    assert_eq!(
        clocks,
        [
            Clock::ImyNotification,
            Clock::EarlyWarning,
            Clock::IncidentNotification,
            Clock::FinalReport
        ]
    );
    assert_eq!(next_due(&d).map(|d| d.clock), Some(Clock::EarlyWarning));
    assert_eq!(
        fmt(due(&d, Clock::EarlyWarning).due_at),
        "2026-05-07 09:15 CEST"
    );
    assert_eq!(
        fmt(due(&d, Clock::ImyNotification).due_at),
        "2026-05-09 09:15 CEST"
    );
    assert_eq!(
        due(&d, Clock::IncidentNotification).due_at,
        due(&d, Clock::ImyNotification).due_at
    );
    // The final report's clock starts only when the notification is sent.
    assert_eq!(due(&d, Clock::FinalReport).due_at, None);
    assert_eq!(due(&d, Clock::FinalReport).pending(), None);

    // IMY reported and the early warning sent: the NIS2 notification is next.
    let nis2 = Nis2 {
        status: Nis2Status::Applies,
        early_warning_sent_at: Some(aware + Duration::hours(20)),
        ..Nis2::default()
    };
    let d = deadlines(aware, Some(aware + Duration::hours(30)), &nis2, sthlm());
    assert_eq!(
        next_due(&d).map(|d| d.clock),
        Some(Clock::IncidentNotification)
    );
    assert!(!due(&d, Clock::EarlyWarning).late());
}

#[test]
fn suggested_at_2330_on_the_friday_before_summer_time_counts_elapsed_hours() {
    // Friday 27 March 2026 23:30 CET; clocks go forward at 02:00 on Sunday 29 March.
    let aware = local(2026, 3, 27, 23, 30);
    let nis2 = Nis2 {
        status: Nis2Status::Suggested,
        ..Nis2::default()
    };
    let d = deadlines(aware, None, &nis2, sthlm());
    assert_eq!(
        fmt(due(&d, Clock::EarlyWarning).due_at),
        "2026-03-28 23:30 CET"
    );
    // 72 real hours later the wall clock shows one hour more.
    assert_eq!(
        fmt(due(&d, Clock::IncidentNotification).due_at),
        "2026-03-31 00:30 CEST"
    );
    assert_eq!(
        due(&d, Clock::IncidentNotification)
            .due_at
            .map(|t| t - aware),
        Some(Duration::hours(72))
    );
}

#[test]
fn the_final_report_is_due_one_month_after_the_notification_by_the_month_end_rule() {
    let cases = [
        // 31 January → the last day of February.
        ((2026, 1, 31, 10, 0), "2026-02-28 10:00 CET"),
        ((2028, 1, 31, 10, 0), "2028-02-29 10:00 CET"),
        // 31 March → 30 April (summer time: same wall time, CEST).
        ((2026, 3, 31, 16, 45), "2026-04-30 16:45 CEST"),
        // December → January of the next year.
        ((2026, 12, 31, 23, 59), "2027-01-31 23:59 CET"),
        // Across the change to summer time: same wall time.
        ((2026, 3, 5, 8, 0), "2026-04-05 08:00 CEST"),
        // A wall time that does not exist (02:30 on 28 March 2027) moves an hour on.
        ((2027, 2, 28, 2, 30), "2027-03-28 03:30 CEST"),
    ];
    for ((y, mo, d, h, mi), expected) in cases {
        let sent = local(y, mo, d, h, mi);
        let nis2 = Nis2 {
            status: Nis2Status::Applies,
            notification_sent_at: Some(sent),
            ..Nis2::default()
        };
        let dues = deadlines(sent - Duration::hours(40), None, &nis2, sthlm());
        assert_eq!(
            fmt(due(&dues, Clock::FinalReport).due_at),
            expected,
            "notification sent {y}-{mo}-{d} {h}:{mi}"
        );
    }
}

#[test]
fn a_progress_report_moves_the_final_report_to_a_month_after_handling() {
    let aware = local(2026, 9, 1, 8, 0);
    let mut nis2 = Nis2 {
        status: Nis2Status::Applies,
        early_warning_sent_at: Some(aware + Duration::hours(5)),
        notification_sent_at: Some(aware + Duration::hours(50)),
        progress_report_sent_at: Some(local(2026, 10, 3, 9, 0)),
        ..Nis2::default()
    };
    let d = deadlines(aware, None, &nis2, sthlm());
    assert_eq!(due(&d, Clock::FinalReport).due_at, None, "not handled yet");
    nis2.handled_at = Some(local(2026, 10, 20, 15, 0));
    let d = deadlines(aware, None, &nis2, sthlm());
    // 25 October is the change back to normal time: 20 November keeps 15:00.
    assert_eq!(
        fmt(due(&d, Clock::FinalReport).due_at),
        "2026-11-20 15:00 CET"
    );
    nis2.final_report_sent_at = Some(local(2026, 11, 21, 9, 0));
    let d = deadlines(aware, None, &nis2, sthlm());
    assert!(due(&d, Clock::FinalReport).late());
    assert_eq!(next_due(&d).map(|d| d.clock), Some(Clock::ImyNotification));
}

#[test]
fn nis2_decided_not_to_apply_leaves_only_the_gdpr_clock() {
    let aware = local(2026, 6, 1, 12, 0);
    for status in [Nis2Status::DoesNotApply, Nis2Status::NotConsidered] {
        let nis2 = Nis2 {
            status,
            early_warning_sent_at: Some(aware),
            ..Nis2::default()
        };
        let d = deadlines(aware, None, &nis2, sthlm());
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].clock.regime(), Regime::Gdpr);
    }
}

#[test]
fn extreme_instants_give_no_deadline_and_no_panic() {
    let nis2 = Nis2 {
        status: Nis2Status::Applies,
        notification_sent_at: Some(DateTime::<Utc>::MAX_UTC),
        ..Nis2::default()
    };
    let d = deadlines(DateTime::<Utc>::MAX_UTC, None, &nis2, sthlm());
    assert!(d.iter().all(|d| d.due_at.is_none()));
    assert_eq!(next_due(&d), None);
    assert!(one_month_after(DateTime::<Utc>::MIN_UTC, sthlm()).is_some());
}

fn notice(file: &str) -> Notice {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/notices")
        .join(file);
    read(
        &std::fs::read(path).expect("fixture"),
        &ReadOptions::default(),
    )
    .expect("readable")
}

#[test]
fn the_reader_suggests_nis2_for_a_cyberattack_that_stops_a_service() {
    let n = notice("04-trygghetslarm-cyberattack-natt.eml");
    let reasons = suggest_nis2(&n, &["TryggCentral".to_string(), "ab".to_string()]);
    assert!(reasons.contains(&Nis2Reason::Cyberattack {
        word: "cyberattack".into()
    }));
    assert!(reasons.contains(&Nis2Reason::Unavailability {
        word: "driftstörning".into()
    }));
    assert!(reasons.contains(&Nis2Reason::InScopeService {
        service: "TryggCentral".into()
    }));
    // Two-letter names never match everything.
    assert!(!reasons
        .iter()
        .any(|r| matches!(r, Nis2Reason::InScopeService { service } if service == "ab")));
}

#[test]
fn an_ordinary_breach_notice_suggests_nothing() {
    let n = notice("01-labportal-intrang-vb-helg.eml");
    assert_eq!(suggest_nis2(&n, &[]), vec![]);
    let n = notice("08-felskickat-lon-latin1.eml");
    assert_eq!(suggest_nis2(&n, &["LabPortalen".to_string()]), vec![]);
}

#[test]
fn handled_within_the_month_needs_no_progress_report_and_the_final_report_stays_at_the_mark() {
    let aware = local(2026, 1, 29, 7, 0);
    let notified = local(2026, 1, 31, 10, 0);
    let mut nis2 = Nis2 {
        status: Nis2Status::Applies,
        early_warning_sent_at: Some(aware + Duration::hours(3)),
        notification_sent_at: Some(notified),
        ..Nis2::default()
    };
    // Not known to be handled: at the one-month mark (31 January → 28
    // February) either the final report or, if still ongoing, a progress report.
    let d = deadlines(aware, None, &nis2, sthlm());
    assert_eq!(
        fmt(due(&d, Clock::ProgressReport).due_at),
        "2026-02-28 10:00 CET"
    );
    assert_eq!(
        fmt(due(&d, Clock::FinalReport).due_at),
        "2026-02-28 10:00 CET"
    );
    // Handled on 10 February: the progress report is not needed, the final
    // report is due at the mark.
    nis2.handled_at = Some(local(2026, 2, 10, 12, 0));
    let d = deadlines(aware, None, &nis2, sthlm());
    assert!(d.iter().all(|x| x.clock != Clock::ProgressReport), "{d:?}");
    assert_eq!(
        fmt(due(&d, Clock::FinalReport).due_at),
        "2026-02-28 10:00 CET"
    );
    // Reminders follow: the next is the final report's week-ahead one.
    let r = next_nis2_reminder(aware, &nis2, sthlm(), local(2026, 2, 15, 0, 0)).unwrap();
    assert_eq!(r.clock, Clock::FinalReport);
    assert_eq!(fmt(Some(r.at)), "2026-02-21 10:00 CET");
}

#[test]
fn ongoing_at_the_mark_a_progress_report_then_and_the_final_report_a_month_after_handling() {
    let aware = local(2026, 9, 1, 8, 0);
    let notified = local(2026, 9, 3, 10, 0);
    let mut nis2 = Nis2 {
        status: Nis2Status::Applies,
        early_warning_sent_at: Some(aware + Duration::hours(5)),
        notification_sent_at: Some(notified),
        ..Nis2::default()
    };
    // Past the mark with nothing sent: both are overdue, the reminder says so.
    let after_mark = local(2026, 10, 4, 9, 0);
    let r = next_nis2_reminder(aware, &nis2, sthlm(), after_mark).unwrap();
    assert!(r.overdue);
    assert_eq!(fmt(Some(r.due_at)), "2026-10-03 10:00 CEST");
    // The progress report sent: the final report waits for the handling.
    nis2.progress_report_sent_at = Some(after_mark);
    let d = deadlines(aware, None, &nis2, sthlm());
    assert_eq!(due(&d, Clock::FinalReport).due_at, None);
    assert_eq!(due(&d, Clock::ProgressReport).done_at, Some(after_mark));
    assert_eq!(next_nis2_reminder(aware, &nis2, sthlm(), after_mark), None);
    // Handled on 31 October (winter time since the 25th): final report due 30
    // November, same wall time; its reminders start after the handling.
    let handled = local(2026, 10, 31, 14, 0);
    nis2.handled_at = Some(handled);
    let d = deadlines(aware, None, &nis2, sthlm());
    assert_eq!(
        fmt(due(&d, Clock::FinalReport).due_at),
        "2026-11-30 14:00 CET"
    );
    let r = next_nis2_reminder(aware, &nis2, sthlm(), handled).unwrap();
    assert_eq!(
        (r.clock, fmt(Some(r.at))),
        (Clock::FinalReport, "2026-11-23 14:00 CET".to_string())
    );
    // Handled after the mark without a progress report (it was missed): the
    // final report still counts from the handling, the progress report stays overdue.
    nis2.progress_report_sent_at = None;
    let d = deadlines(aware, None, &nis2, sthlm());
    assert_eq!(
        fmt(due(&d, Clock::FinalReport).due_at),
        "2026-11-30 14:00 CET"
    );
    assert_eq!(
        due(&d, Clock::ProgressReport).pending(),
        Some(local(2026, 10, 3, 10, 0))
    );
}

#[test]
fn the_month_counts_in_the_configured_zone() {
    // 23:30 UTC on 30 January is already 31 January in Stockholm: the month
    // ends on the last day of February there (27 February 23:30 UTC), and
    // on 28 February 23:30 in UTC itself.
    let sent = Utc.with_ymd_and_hms(2026, 1, 30, 23, 30, 0).unwrap();
    assert_eq!(
        one_month_after(sent, sthlm()),
        Some(Utc.with_ymd_and_hms(2026, 2, 27, 23, 30, 0).unwrap())
    );
    assert_eq!(
        one_month_after(sent, chrono_tz::UTC),
        Some(Utc.with_ymd_and_hms(2026, 2, 28, 23, 30, 0).unwrap())
    );
}
