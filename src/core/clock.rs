//! The art. 33 clock: the deadline and the reminder plan, as pure functions of the
//! awareness instant and `now`.
//!
//! All arithmetic is on UTC instants, so 72 hours are 72 elapsed hours whatever
//! daylight saving does to the wall clock (which then shows 71 or 73 hours).
//! Rendering in a zone is the presenter's job.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// GDPR art. 33(1): 72 hours after becoming aware.
pub const DEADLINE_HOURS: i64 = 72;

/// The longest interval between overdue reminders a plan may set (a year):
/// anything longer is a typo, and the arithmetic stays far from overflow.
pub const MAX_OVERDUE_EVERY_HOURS: i64 = 24 * 366;

/// Below this much time left, the opening notice is marked urgent.
pub const URGENT_HOURS: i64 = 12;

/// Saturates at the end of representable time instead of overflowing (the
/// reader bounds dates to 1970–2200, but the core never panics on input).
pub fn deadline(aware_at: DateTime<Utc>) -> DateTime<Utc> {
    aware_at
        .checked_add_signed(Duration::hours(DEADLINE_HOURS))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Time left until the deadline; negative once it has passed.
pub fn time_left(aware_at: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    deadline(aware_at) - now
}

pub fn is_urgent(aware_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    time_left(aware_at, now) < Duration::hours(URGENT_HOURS)
}

/// When reminders fall due, in hours after awareness. Configurable; the default is
/// +24, +48, +60, +66, +70, then +72 (overdue) and every 24 h after that until
/// a decision stops the clock. A plan `problems` refuses gives fewer reminders
/// (None where an offset is out of range), never a panic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderPlan {
    /// Hours after awareness, strictly increasing, each below 72.
    pub hours_after_awareness: Vec<i64>,
    /// Hours between overdue reminders after the deadline (the first is at 72 h).
    pub overdue_every_hours: i64,
}

impl Default for ReminderPlan {
    fn default() -> Self {
        ReminderPlan {
            hours_after_awareness: vec![24, 48, 60, 66, 70],
            overdue_every_hours: 24,
        }
    }
}

impl ReminderPlan {
    /// Every problem with the plan, for `check-config`.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(1..=MAX_OVERDUE_EVERY_HOURS).contains(&self.overdue_every_hours) {
            out.push(format!(
                "overdue_every_hours must be between 1 and {MAX_OVERDUE_EVERY_HOURS}"
            ));
        }
        let mut prev = 0;
        for &h in &self.hours_after_awareness {
            if h <= prev || h >= DEADLINE_HOURS {
                out.push(format!(
                    "hours_after_awareness must be strictly increasing between 1 and {} (got {h})",
                    DEADLINE_HOURS - 1
                ));
                break;
            }
            prev = h;
        }
        out
    }

    /// The offset in hours of reminder number `seq` (0-based over the whole
    /// infinite series), or None for a bad plan.
    fn offset_hours(&self, seq: u32) -> Option<i64> {
        let n = u32::try_from(self.hours_after_awareness.len()).ok()?;
        if seq < n {
            return self.hours_after_awareness.get(seq as usize).copied();
        }
        if self.overdue_every_hours <= 0 {
            return None;
        }
        i64::from(seq - n)
            .checked_mul(self.overdue_every_hours)?
            .checked_add(DEADLINE_HOURS)
    }
}

/// One reminder of a case's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reminder {
    /// Position in the plan (0-based); stable, so it can key an idempotent outbox row.
    pub seq: u32,
    pub due_at: DateTime<Utc>,
    /// Hours after awareness.
    pub offset_hours: i64,
    /// At or past the deadline: the deputy is added.
    pub overdue: bool,
}

fn reminder(aware_at: DateTime<Utc>, plan: &ReminderPlan, seq: u32) -> Option<Reminder> {
    let h = plan.offset_hours(seq)?;
    Some(Reminder {
        seq,
        due_at: aware_at.checked_add_signed(Duration::try_hours(h)?)?,
        offset_hours: h,
        overdue: h >= DEADLINE_HOURS,
    })
}

/// The first reminder due strictly after `after`. Used when a case is opened (so a
/// late case gets only the reminders still ahead) and after each reminder is sent.
pub fn next_after(
    aware_at: DateTime<Utc>,
    plan: &ReminderPlan,
    after: DateTime<Utc>,
) -> Option<Reminder> {
    let n = u32::try_from(plan.hours_after_awareness.len()).ok()?;
    for seq in 0..n {
        let r = reminder(aware_at, plan, seq)?;
        if r.due_at > after {
            return Some(r);
        }
    }
    // Past the fixed part: jump straight to the right overdue step.
    let every = plan.overdue_every_hours;
    if every <= 0 {
        return None;
    }
    let past = (after - deadline(aware_at)).num_seconds();
    let k = if past < 0 {
        0
    } else {
        past / every.checked_mul(3600)? + 1
    };
    reminder(aware_at, plan, n.checked_add(u32::try_from(k).ok()?)?)
}

/// The latest reminder due at or before `now`, if any. When the daemon was down
/// over several due instants it sends this one only: never a burst of past ones.
pub fn latest_due(
    aware_at: DateTime<Utc>,
    plan: &ReminderPlan,
    now: DateTime<Utc>,
) -> Option<Reminder> {
    let next = next_after(aware_at, plan, now)?;
    if next.seq == 0 {
        None
    } else {
        reminder(aware_at, plan, next.seq - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Europe::Stockholm;

    fn sthlm(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Stockholm
            .with_ymd_and_hms(y, m, d, h, mi, 0)
            .single()
            .expect("unambiguous local time")
            .with_timezone(&Utc)
    }

    #[test]
    fn absurd_plans_and_instants_give_no_reminder_instead_of_a_panic() {
        let aware = sthlm(2026, 3, 27, 10, 0);
        for every in [i64::MAX, i64::MAX / 3600 + 1, i64::MIN, -1, 0] {
            let plan = ReminderPlan {
                hours_after_awareness: vec![24],
                overdue_every_hours: every,
            };
            let late = aware + Duration::days(400);
            let _ = next_after(aware, &plan, late);
            let _ = latest_due(aware, &plan, late);
            assert!(!plan.problems().is_empty(), "{every} accepted");
        }
        let huge = ReminderPlan {
            hours_after_awareness: vec![i64::MAX],
            overdue_every_hours: 24,
        };
        assert_eq!(next_after(aware, &huge, aware), None);
        assert!(!huge.problems().is_empty());
        let end = DateTime::<Utc>::MAX_UTC;
        assert_eq!(deadline(end), end);
        let _ = next_after(end, &ReminderPlan::default(), end);
        let _ = is_urgent(end, aware);
    }

    #[test]
    fn deadline_across_spring_dst_is_72_elapsed_hours() {
        // 2026-03-29 02:00 CET -> 03:00 CEST: wall clock shows 73 hours later.
        let aware = sthlm(2026, 3, 27, 10, 0);
        let d = deadline(aware).with_timezone(&Stockholm);
        assert_eq!(d.to_rfc3339(), "2026-03-30T11:00:00+02:00");
    }

    #[test]
    fn deadline_across_autumn_dst_is_72_elapsed_hours() {
        // 2026-10-25 03:00 CEST -> 02:00 CET: wall clock shows 71 hours later.
        let aware = sthlm(2026, 10, 23, 10, 0);
        let d = deadline(aware).with_timezone(&Stockholm);
        assert_eq!(d.to_rfc3339(), "2026-10-26T09:00:00+01:00");
    }

    #[test]
    fn fresh_case_gets_the_whole_default_plan_in_order() {
        let aware = sthlm(2026, 3, 27, 10, 0);
        let plan = ReminderPlan::default();
        let mut at = aware;
        let mut hours = Vec::new();
        for _ in 0..8 {
            let r = next_after(aware, &plan, at).expect("plan is infinite");
            hours.push((r.offset_hours, r.overdue));
            at = r.due_at;
        }
        assert_eq!(
            hours,
            vec![
                (24, false),
                (48, false),
                (60, false),
                (66, false),
                (70, false),
                (72, true),
                (96, true),
                (120, true)
            ]
        );
    }

    #[test]
    fn reminders_across_dst_keep_elapsed_hours() {
        let aware = sthlm(2026, 3, 27, 10, 0);
        let plan = ReminderPlan::default();
        let r = next_after(aware, &plan, aware + Duration::hours(47)).unwrap();
        assert_eq!(r.offset_hours, 48);
        // 48 elapsed hours after Friday 10:00 CET is Sunday 11:00 CEST.
        assert_eq!(
            r.due_at.with_timezone(&Stockholm).to_rfc3339(),
            "2026-03-29T11:00:00+02:00"
        );
    }

    #[test]
    fn late_case_gets_only_what_is_ahead() {
        let aware = sthlm(2021, 6, 18, 20, 5);
        let opened = aware + Duration::hours(71);
        assert!(is_urgent(aware, opened));
        let plan = ReminderPlan::default();
        let r = next_after(aware, &plan, opened).unwrap();
        assert_eq!(r.offset_hours, 72);
        assert!(r.overdue);
        assert_eq!(r.due_at, deadline(aware));
        // Nothing was due at opening after the fixed reminders had passed:
        // latest_due would name the +70 one, but the opening notice replaces it;
        // the shell schedules from next_after(opened) only.
        assert_eq!(latest_due(aware, &plan, opened).unwrap().offset_hours, 70);
    }

    #[test]
    fn days_overdue_jumps_to_the_right_step_without_a_burst() {
        let aware = sthlm(2026, 1, 5, 9, 0);
        let plan = ReminderPlan::default();
        let now = aware + Duration::hours(72 + 24 * 3 + 5);
        let due = latest_due(aware, &plan, now).unwrap();
        assert_eq!(due.offset_hours, 72 + 24 * 3);
        let next = next_after(aware, &plan, now).unwrap();
        assert_eq!(next.offset_hours, 72 + 24 * 4);
        assert_eq!(next.seq, due.seq + 1);
    }

    #[test]
    fn not_urgent_with_a_day_left_and_nothing_due_before_first_reminder() {
        let aware = sthlm(2026, 5, 4, 8, 0);
        let plan = ReminderPlan::default();
        assert!(!is_urgent(aware, aware + Duration::hours(1)));
        assert_eq!(latest_due(aware, &plan, aware + Duration::hours(23)), None);
    }

    proptest::proptest! {
        /// Whatever the config says and whatever the instants, the clock
        /// answers (possibly None) and never panics.
        #[test]
        fn any_plan_and_instants_never_panic(
            hours in proptest::collection::vec(proptest::prelude::any::<i64>(), 0..8),
            every in proptest::prelude::any::<i64>(),
            aware_secs in proptest::prelude::any::<i64>(),
            after_secs in proptest::prelude::any::<i64>(),
        ) {
            let plan = ReminderPlan { hours_after_awareness: hours, overdue_every_hours: every };
            let at = |s: i64| DateTime::<Utc>::from_timestamp(s, 0).unwrap_or(DateTime::<Utc>::MAX_UTC);
            let (aware, after) = (at(aware_secs), at(after_secs));
            let _ = plan.problems();
            let _ = deadline(aware);
            let _ = is_urgent(aware, after);
            if let Some(r) = next_after(aware, &plan, after) {
                proptest::prop_assert!(r.due_at > after);
            }
            if let Some(r) = latest_due(aware, &plan, after) {
                proptest::prop_assert!(r.due_at <= after);
            }
        }
    }

    #[test]
    fn bad_plans_are_reported() {
        let p = ReminderPlan {
            hours_after_awareness: vec![24, 12, 80],
            overdue_every_hours: 0,
        };
        assert_eq!(p.problems().len(), 2);
        assert!(ReminderPlan::default().problems().is_empty());
    }
}
