//! The case machine's tests: every command in every state against the table
//! in the module doc, the effects of each step, merges and the reply workflow.

use super::*;
use crate::core::commands::ImyRef;
use chrono::{Duration, TimeZone};
use chrono_tz::Europe::Stockholm;

fn aware() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 27, 9, 0, 0).unwrap()
}

fn imy() -> ImyRef {
    ImyRef::parse("DI-2026-1234").unwrap()
}

fn opened() -> Case {
    Case::open(
        CaseRef::new("PUI", 2026, 7),
        aware(),
        aware() + Duration::hours(1),
        None,
    )
    .0
}

/// Drives a fresh case through commands, two hours after awareness.
fn at(path: &[Command]) -> Case {
    let mut c = opened();
    for cmd in path {
        c = c
            .apply(cmd, "anna@kommun.example", aware() + Duration::hours(2))
            .unwrap_or_else(|e| panic!("setup step {cmd:?} failed: {e}"))
            .case;
    }
    c
}

fn kinds(effects: &[Effect]) -> Vec<&'static str> {
    effects
        .iter()
        .map(|e| match e {
            Effect::RecordTimeline { .. } => "timeline",
            Effect::SendOpeningNotice { .. } => "opening",
            Effect::StartDeadlineReminders { .. } => "start_reminders",
            Effect::StartAckEscalation => "start_ack",
            Effect::StopAckEscalation => "stop_ack",
            Effect::StopDeadlineReminders => "stop_reminders",
            Effect::ResumeDeadlineReminders { .. } => "resume_reminders",
            Effect::SendDraft { .. } => "draft",
            Effect::Confirm { .. } => "confirm",
            Effect::AnswerRefusal { .. } => "refusal",
            Effect::NotifyRoster { .. } => "roster",
            Effect::MergeInto { .. } => "merge",
            Effect::SplitOut { .. } => "split",
        })
        .collect()
}

use Assessment as A;
use Command as C;
use Decision as D;

fn ack() -> C {
    C::Ack
}
fn assess(a: A) -> C {
    C::Assess(a)
}
fn decide(d: D) -> C {
    C::Decide(d)
}
fn reported() -> C {
    C::Reported(imy())
}

/// The setups every command is tried from.
fn setups() -> Vec<(&'static str, Vec<C>)> {
    vec![
        ("received", vec![]),
        ("acknowledged", vec![ack()]),
        ("assessed_risk", vec![ack(), assess(A::Risk)]),
        ("assessed_none", vec![ack(), assess(A::NoRisk)]),
        (
            "decided_notify",
            vec![ack(), assess(A::Risk), decide(D::Notify)],
        ),
        (
            "decided_no_notify",
            vec![ack(), assess(A::NoRisk), decide(D::DoNotNotify)],
        ),
        (
            "reported",
            vec![ack(), assess(A::Risk), decide(D::Notify), reported()],
        ),
        (
            "supplemented",
            vec![
                ack(),
                assess(A::Risk),
                decide(D::Notify),
                reported(),
                C::Supplement(None),
            ],
        ),
        (
            "withdrawn",
            vec![
                ack(),
                assess(A::Risk),
                decide(D::Notify),
                reported(),
                C::Withdraw(None),
            ],
        ),
        (
            "closed_reported",
            vec![
                ack(),
                assess(A::Risk),
                decide(D::Notify),
                reported(),
                C::Close,
            ],
        ),
        (
            "closed_no_notify",
            vec![ack(), assess(A::NoRisk), decide(D::DoNotNotify), C::Close],
        ),
    ]
}

/// The expected outcome of one command in one setup: Ok(new state) or the error.
type Expect = Result<State, TransitionError>;

fn already() -> TransitionError {
    TransitionError::AlreadyReported {
        imy_ref: "DI-2026-1234".into(),
    }
}

fn not_reported(c: &str) -> TransitionError {
    TransitionError::NotReported { command: c.into() }
}

fn expected(setup: &str, cmd: &C) -> Expect {
    use State as S;
    use TransitionError as E;
    let acked = |by: &str| E::AlreadyAcknowledged {
        by: Some(by.into()),
        at: aware() + Duration::hours(2),
    };
    let closed = matches!(setup, "closed_reported" | "closed_no_notify");
    match cmd {
        C::Note(_) => Ok(match setup {
            "received" => S::Received,
            "acknowledged" => S::Acknowledged,
            "assessed_risk" | "assessed_none" => S::Assessed,
            "decided_notify" | "decided_no_notify" => S::Decided,
            "reported" => S::Reported,
            "supplemented" => S::Supplemented,
            "withdrawn" => S::Withdrawn,
            _ => S::Closed,
        }),
        // NIS2 commands change no state and are taken in every state; the
        // reports need NIS2 running, which none of these setups has.
        C::Nis2(crate::core::commands::Nis2Command::Decide { .. }) => {
            expected(setup, &C::Note("x".into()))
        }
        C::Nis2(_) => Err(E::Nis2NotRunning {
            report: Nis2Report::EarlyWarning,
        }),
        _ if closed && *cmd != C::Reopen => Err(E::Closed),
        // Bookkeeping like a note, but refused on a closed case.
        C::Registry(_) => expected(setup, &C::Note("x".into())),
        // Plain `apply` has no target at hand (see `mod merge`).
        C::Merge(t) => Err(E::MergeTargetMissing {
            target: t.to_string(),
        }),
        // Nor the message a split takes out (see `mod split`).
        C::Split(_) => Err(E::SplitWithoutMessage),
        C::Reopen => match setup {
            "closed_reported" => Ok(S::Reported),
            "closed_no_notify" => Ok(S::Decided),
            _ => Err(E::NotClosed),
        },
        C::Ack => match setup {
            "received" => Ok(S::Acknowledged),
            _ => Err(acked("anna@kommun.example")),
        },
        C::Assess(_) => match setup {
            "reported" | "supplemented" | "withdrawn" => Err(already()),
            _ => Ok(S::Assessed),
        },
        C::Decide(d) => match setup {
            "received" | "acknowledged" => Err(E::NotAssessed),
            "reported" | "supplemented" | "withdrawn" => Err(already()),
            "assessed_risk" | "decided_notify" if *d == D::DoNotNotify => {
                Err(E::NoNotifyWithRisk {
                    assessment: A::Risk,
                })
            }
            _ => Ok(S::Decided),
        },
        C::Reported(_) => match setup {
            "decided_notify" => Ok(S::Reported),
            "decided_no_notify" => Err(E::DecidedNotToNotify),
            "reported" | "supplemented" | "withdrawn" => Err(already()),
            _ => Err(E::NotDecided),
        },
        C::Delay(_) => Ok(match setup {
            "received" => S::Received,
            "acknowledged" => S::Acknowledged,
            "assessed_risk" | "assessed_none" => S::Assessed,
            "decided_notify" | "decided_no_notify" => S::Decided,
            "reported" => S::Reported,
            "supplemented" => S::Supplemented,
            _ => S::Withdrawn,
        }),
        C::Supplement(_) => match setup {
            "reported" | "supplemented" => Ok(S::Supplemented),
            "withdrawn" => Err(E::Withdrawn),
            _ => Err(not_reported("supplement")),
        },
        C::Withdraw(_) => match setup {
            "reported" | "supplemented" => Ok(S::Withdrawn),
            "withdrawn" => Err(E::Withdrawn),
            _ => Err(not_reported("withdraw")),
        },
        C::Close => match setup {
            "reported" | "supplemented" | "withdrawn" | "decided_no_notify" => Ok(S::Closed),
            "received" => Err(E::CannotClose { state: S::Received }),
            "acknowledged" => Err(E::CannotClose {
                state: S::Acknowledged,
            }),
            "assessed_risk" | "assessed_none" => Err(E::CannotClose { state: S::Assessed }),
            _ => Err(E::CannotClose { state: S::Decided }),
        },
    }
}

fn all_commands() -> Vec<C> {
    vec![
        C::Ack,
        C::Assess(A::NoRisk),
        C::Assess(A::Risk),
        C::Assess(A::HighRisk),
        C::Decide(D::Notify),
        C::Decide(D::NotifyAndInform),
        C::Decide(D::DoNotNotify),
        C::Reported(imy()),
        C::Delay("sent".into()),
        C::Supplement(None),
        C::Withdraw(None),
        C::Close,
        C::Reopen,
        C::Note("x".into()),
        C::Split(None),
        C::Nis2(crate::core::commands::Nis2Command::Decide {
            applies: true,
            reasoning: None,
        }),
        C::Nis2(crate::core::commands::Nis2Command::Decide {
            applies: false,
            reasoning: Some("bara nyhetsbrevet".into()),
        }),
        C::Nis2(crate::core::commands::Nis2Command::EarlyWarningSent),
    ]
}

#[test]
fn every_command_in_every_state_matches_the_table() {
    let mut checked = 0;
    for (setup, path) in setups() {
        let case = at(&path);
        for cmd in all_commands() {
            let got = case
                .apply(&cmd, "bo@kommun.example", aware() + Duration::hours(3))
                .map(|t| t.case.state);
            assert_eq!(got, expected(setup, &cmd), "{cmd:?} in {setup}");
            checked += 1;
        }
    }
    assert_eq!(checked, 11 * 18);
}

#[test]
fn the_diarienummer_is_recorded_in_every_open_state_and_keeps_the_state() {
    let d = |s: &str| Diarienummer::parse(s).expect("valid");
    for (setup, path) in setups() {
        let case = at(&path);
        let got = case.apply(
            &C::Registry(d("KS 2026/0123")),
            "bo@kommun.example",
            aware() + Duration::hours(3),
        );
        assert_eq!(
            got.clone().map(|t| t.case.state),
            expected(setup, &C::Registry(d("KS 2026/0123"))),
            "{setup}"
        );
        let Ok(t) = got else { continue };
        assert_eq!(t.case.diarienummer, Some(d("KS 2026/0123")), "{setup}");
        assert_eq!(
            kinds(&t.effects),
            ["timeline", "confirm"],
            "{setup}: recorded and confirmed, nothing else"
        );
        let Effect::RecordTimeline { kind, data } = &t.effects[0] else {
            unreachable!()
        };
        assert_eq!(kind, "diarienummer");
        assert_eq!(data["diarienummer"], "KS 2026/0123");
        // A corrected number replaces the first; the first stays on the timeline.
        let t2 = t
            .case
            .apply(
                &C::Registry(d("KS 2026/0124")),
                "bo@kommun.example",
                aware() + Duration::hours(4),
            )
            .expect("again");
        assert_eq!(t2.case.diarienummer, Some(d("KS 2026/0124")));
        let Effect::RecordTimeline { data, .. } = &t2.effects[0] else {
            unreachable!()
        };
        assert_eq!(data["previous"], "KS 2026/0123");
    }
    // Older rows without the field read back as None.
    let mut v = serde_json::to_value(opened()).unwrap();
    v.as_object_mut().unwrap().remove("diarienummer");
    let back: Case = serde_json::from_value(v).unwrap();
    assert_eq!(back.diarienummer, None);
}

#[test]
fn case_and_effects_round_trip_through_json() {
    let path = [
        ack(),
        assess(A::Risk),
        decide(D::Notify),
        reported(),
        C::Supplement(None),
    ];
    let c = at(&path);
    let back: Case = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(back, c);
    let t = at(&[ack(), assess(A::HighRisk)])
        .apply(&decide(D::NotifyAndInform), "a", aware())
        .unwrap();
    for e in t.effects {
        let back: Effect = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }
}

#[test]
fn a_refused_command_changes_nothing() {
    let case = at(&[ack()]);
    let before = case.clone();
    assert!(case.apply(&C::Close, "a@b", aware()).is_err());
    assert_eq!(case, before);
}

#[test]
fn opening_schedules_reminders_escalation_and_notice() {
    let now = aware() + Duration::hours(61);
    let (case, effects) = Case::open(CaseRef::new("PUI", 2026, 1), aware(), now, None);
    assert_eq!(case.state, State::Received);
    assert_eq!(
        kinds(&effects),
        vec!["timeline", "opening", "start_reminders", "start_ack"]
    );
    assert!(matches!(
        effects[1],
        Effect::SendOpeningNotice {
            urgent: true,
            overdue: false
        }
    ));
    let (_, late) = Case::open(
        CaseRef::new("PUI", 2026, 2),
        aware(),
        aware() + Duration::hours(80),
        None,
    );
    assert!(matches!(
        late[1],
        Effect::SendOpeningNotice { overdue: true, .. }
    ));
}

#[test]
fn effects_of_each_step() {
    let now = aware() + Duration::hours(3);
    let table: Vec<(Vec<C>, C, Vec<&str>)> = vec![
        (vec![], ack(), vec!["timeline", "stop_ack", "confirm"]),
        // Assess straight from received is also the acknowledgement.
        (
            vec![],
            assess(A::Risk),
            vec!["timeline", "stop_ack", "confirm"],
        ),
        (vec![ack()], assess(A::Risk), vec!["timeline", "confirm"]),
        (
            vec![ack(), assess(A::Risk)],
            decide(D::Notify),
            vec!["timeline", "draft", "confirm", "roster"],
        ),
        (
            vec![ack(), assess(A::NoRisk)],
            decide(D::DoNotNotify),
            vec!["timeline", "draft", "stop_reminders", "confirm", "roster"],
        ),
        (
            vec![ack(), assess(A::Risk), decide(D::Notify)],
            reported(),
            vec!["timeline", "stop_reminders", "confirm", "roster"],
        ),
        // Reassessing a no-notify case restarts the clock.
        (
            vec![ack(), assess(A::NoRisk), decide(D::DoNotNotify)],
            assess(A::Risk),
            vec!["timeline", "resume_reminders", "confirm"],
        ),
        (
            vec![ack(), assess(A::NoRisk), decide(D::DoNotNotify)],
            C::Close,
            vec!["timeline", "confirm", "roster"],
        ),
        (
            vec![ack(), assess(A::Risk), decide(D::Notify), reported()],
            C::Supplement(None),
            vec!["timeline", "confirm", "roster"],
        ),
        (
            vec![ack()],
            C::Note("x".into()),
            vec!["timeline", "confirm"],
        ),
        (vec![], C::Delay("x".into()), vec!["timeline", "confirm"]),
    ];
    for (path, cmd, want) in table {
        let t = at(&path).apply(&cmd, "bo@kommun.example", now).unwrap();
        assert_eq!(kinds(&t.effects), want, "{cmd:?} after {path:?}");
    }
}

#[test]
fn decide_sends_the_matching_draft() {
    for (a, d) in [
        (A::Risk, D::Notify),
        (A::HighRisk, D::NotifyAndInform),
        (A::NoRisk, D::DoNotNotify),
        (A::NoRisk, D::Notify),
        (A::HighRisk, D::Notify),
    ] {
        let t = at(&[ack(), assess(a)])
            .apply(&decide(d), "bo@kommun.example", aware())
            .unwrap();
        assert!(
            t.effects.contains(&Effect::SendDraft {
                decision: d,
                assessment: a
            }),
            "{a:?} {d:?}"
        );
        assert_eq!(t.case.decided_by.as_deref(), Some("bo@kommun.example"));
    }
}

#[test]
fn no_notify_needs_no_risk_also_after_high_risk() {
    let err = at(&[ack(), assess(A::HighRisk)])
        .apply(&decide(D::DoNotNotify), "a", aware())
        .unwrap_err();
    assert_eq!(
        err,
        TransitionError::NoNotifyWithRisk {
            assessment: A::HighRisk
        }
    );
    assert!(err.sv(Stockholm).contains("ingen risk"));
}

#[test]
fn reassessing_clears_the_decision() {
    let c = at(&[
        ack(),
        assess(A::Risk),
        decide(D::Notify),
        assess(A::HighRisk),
    ]);
    assert_eq!(c.state, State::Assessed);
    assert_eq!(c.decision, None);
    assert_eq!(c.assessment, Some(A::HighRisk));
    // And a report now needs a new decision.
    assert_eq!(
        c.apply(&reported(), "a", aware()).unwrap_err(),
        TransitionError::NotDecided
    );
}

#[test]
fn after_the_deadline_reported_needs_a_delay_reason() {
    let decided = at(&[ack(), assess(A::Risk), decide(D::Notify)]);
    let deadline = aware() + Duration::hours(72);
    // Exactly at the deadline is still on time.
    assert!(decided.apply(&reported(), "a", deadline).is_ok());
    let late = deadline + Duration::seconds(1);
    let err = decided.apply(&reported(), "a", late).unwrap_err();
    assert_eq!(err, TransitionError::LateWithoutDelayReason { deadline });
    // Deadline 2026-03-30 09:00Z is 11:00 summer time in Stockholm.
    assert!(
        err.sv(Stockholm).contains("2026-03-30 11:00"),
        "{}",
        err.sv(Stockholm)
    );
    assert!(err.sv(Stockholm).contains("försening:"));
    assert!(err.en(Stockholm).contains("delay:"));
    // The reason may be recorded before or after the deadline passes.
    let with_reason = decided
        .apply(
            &C::Delay("Leverantören rapporterade sent".into()),
            "a",
            late,
        )
        .unwrap()
        .case;
    assert_eq!(decided.state, with_reason.state);
    let t = with_reason.apply(&reported(), "a", late).unwrap();
    assert_eq!(t.case.state, State::Reported);
    assert_eq!(t.case.imy_ref, Some(imy()));
    match &t.effects[0] {
        Effect::RecordTimeline { kind, data } => {
            assert_eq!(kind, "reported");
            assert_eq!(data["late"], json!(true));
            assert_eq!(
                data["delay_reason"],
                json!("Leverantören rapporterade sent")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn supplements_are_counted() {
    let c = at(&[
        ack(),
        assess(A::Risk),
        decide(D::Notify),
        reported(),
        C::Supplement(None),
        C::Supplement(Some("antal".into())),
        C::Supplement(None),
    ]);
    assert_eq!(c.state, State::Supplemented);
    assert_eq!(c.supplements, 3);
}

#[test]
fn reopen_returns_to_the_state_before_closing_with_its_data() {
    let base = vec![ack(), assess(A::Risk), decide(D::Notify), reported()];
    for (extra, want) in [
        (vec![], State::Reported),
        (vec![C::Supplement(None)], State::Supplemented),
        (vec![C::Withdraw(None)], State::Withdrawn),
    ] {
        let mut path = base.clone();
        path.extend(extra);
        path.push(C::Close);
        path.push(C::Reopen);
        let c = at(&path);
        assert_eq!(c.state, want);
        assert_eq!(c.imy_ref, Some(imy()));
        assert_eq!(c.closed_at, None);
    }
    // A reopened no-notify case can be reassessed and notified; the clock
    // resumes on the reassessment.
    let c = at(&[
        ack(),
        assess(A::NoRisk),
        decide(D::DoNotNotify),
        C::Close,
        C::Reopen,
    ]);
    assert_eq!(
        (c.state, c.decision),
        (State::Decided, Some(D::DoNotNotify))
    );
    assert!(!c.deadline_clock_running());
    let t = c.apply(&assess(A::Risk), "a", aware()).unwrap();
    assert!(t.case.deadline_clock_running());
}

#[test]
fn ack_records_who_and_when_and_a_second_ack_says_so() {
    let t = opened()
        .apply(&ack(), "anna@kommun.example", aware() + Duration::hours(2))
        .unwrap();
    assert_eq!(
        t.case.acknowledged_by.as_deref(),
        Some("anna@kommun.example")
    );
    let err = t
        .case
        .apply(&ack(), "bo@kommun.example", aware() + Duration::hours(3))
        .unwrap_err();
    // 11:00Z is 12:00 in Stockholm on 27 March (winter time).
    assert_eq!(
        err.sv(Stockholm),
        "Ärendet är redan kvitterat av anna@kommun.example 2026-03-27 12:00."
    );
}

#[test]
fn ack_on_an_older_row_without_acknowledgement_keeps_its_state() {
    let mut c = at(&[ack(), assess(A::Risk)]);
    c.acknowledged_at = None;
    c.acknowledged_by = None;
    let t = c.apply(&ack(), "bo@kommun.example", aware()).unwrap();
    assert_eq!(t.case.state, State::Assessed);
    assert_eq!(t.case.acknowledged_by.as_deref(), Some("bo@kommun.example"));
    assert!(t.effects.contains(&Effect::StopAckEscalation));
}

#[test]
fn error_texts_exist_in_both_languages_for_every_error() {
    use TransitionError as E;
    let all = vec![
        E::Closed,
        E::NotClosed,
        E::AlreadyAcknowledged {
            by: None,
            at: aware(),
        },
        E::NotAssessed,
        E::NoNotifyWithRisk {
            assessment: A::Risk,
        },
        E::NotDecided,
        E::DecidedNotToNotify,
        already(),
        E::LateWithoutDelayReason { deadline: aware() },
        not_reported("supplement"),
        E::Withdrawn,
        E::CannotClose {
            state: State::Received,
        },
        E::MergeIntoItself,
        E::MergeTargetMissing {
            target: "PUI-2026-0009".into(),
        },
        E::MergeTargetClosed {
            target: "PUI-2026-0009".into(),
        },
        E::MergedInto {
            target: "PUI-2026-0009".into(),
        },
    ];
    for e in all {
        let (sv, en) = (e.sv(Stockholm), e.en(Stockholm));
        assert!(!sv.is_empty() && !en.is_empty() && sv != en, "{e:?}");
        let fx = e.effects(&C::Close, Stockholm);
        assert!(matches!(&fx[0], Effect::RecordTimeline { kind, .. } if kind == "command_refused"));
        assert!(matches!(&fx[1], Effect::AnswerRefusal { .. }));
    }
    assert!(already()
        .sv(Stockholm)
        .starts_with("Ärendet är redan anmält till IMY"));
    assert!(already()
        .en(Stockholm)
        .starts_with("The case is already reported"));
}

mod merge {
    use super::*;

    fn named(seq: u32) -> CaseRef {
        CaseRef::new("PUI", 2026, seq)
    }

    /// Case `seq`, opened `hours` after [`aware`] with that awareness.
    fn case(seq: u32, hours: i64) -> Case {
        let at = aware() + Duration::hours(hours);
        Case::open(named(seq), at, at, None).0
    }

    fn merge(
        source: &Case,
        target: Option<&Case>,
        seq: u32,
    ) -> Result<Transition, TransitionError> {
        source.apply_with_target(
            &C::Merge(named(seq)),
            "anna@kommun.example",
            aware() + Duration::hours(30),
            target,
        )
    }

    #[test]
    fn the_source_closes_and_the_target_takes_the_earlier_awareness() {
        // Source 8 became known 5 h before target 7 (opened from a later
        // forward): the earlier awareness wins and the target says so.
        let source = case(8, 0);
        let target = case(7, 5);
        let t = merge(&source, Some(&target), 7).unwrap();
        assert_eq!(t.case.state, State::Closed);
        assert_eq!(t.case.state_before_close, Some(State::Received));
        assert!(t.case.closed_at.is_some());
        assert_eq!(
            kinds(&t.effects),
            vec![
                "timeline",
                "merge",
                "stop_ack",
                "stop_reminders",
                "confirm",
                "roster"
            ]
        );
        match &t.effects[0] {
            Effect::RecordTimeline { kind, data } => {
                assert_eq!(kind, "merged_into");
                assert_eq!(data["target"], json!("PUI-2026-0007"));
                assert_eq!(data["aware_at_moved"], json!(true));
                assert_eq!(data["state"], json!("closed"));
            }
            other => panic!("{other:?}"),
        }
        match &t.effects[1] {
            Effect::MergeInto {
                target: next,
                aware_at_moved,
                data,
            } => {
                assert!(*aware_at_moved);
                assert_eq!(next.case_ref, named(7));
                assert_eq!(next.aware_at, source.aware_at);
                assert_eq!(next.state, target.state);
                assert_eq!(data["from"], json!("PUI-2026-0008"));
                assert_eq!(data["previous_aware_at"], json!(target.aware_at));
                assert_eq!(data["deadline"], json!(clock::deadline(source.aware_at)));
            }
            other => panic!("{other:?}"),
        }
        let confirm = t.effects.iter().find_map(|e| match e {
            Effect::Confirm { sv, en } => Some((sv.clone(), en.clone())),
            _ => None,
        });
        let (sv, en) = confirm.unwrap();
        assert!(
            sv.contains("sammanfogat med PUI-2026-0007") && sv.contains("tidigare"),
            "{sv}"
        );
        assert!(
            en.contains("merged into PUI-2026-0007") && en.contains("earlier"),
            "{en}"
        );
    }

    #[test]
    fn a_later_source_leaves_the_target_awareness_and_says_nothing_of_it() {
        let source = case(8, 5);
        let target = case(7, 0);
        let t = merge(&source, Some(&target), 7).unwrap();
        match &t.effects[1] {
            Effect::MergeInto {
                target: next,
                aware_at_moved,
                ..
            } => {
                assert!(!*aware_at_moved);
                assert_eq!(next.as_ref(), &target);
            }
            other => panic!("{other:?}"),
        }
        assert!(t
            .effects
            .iter()
            .any(|e| matches!(e, Effect::Confirm { sv, .. } if !sv.contains("tidigare"))));
    }

    #[test]
    fn refusals_leave_the_case_and_say_why() {
        let source = case(8, 0);
        let mut closed = case(7, 0);
        closed.state = State::Closed;
        let other = case(9, 0);
        for (target, seq, want) in [
            (Some(&source), 8, TransitionError::MergeIntoItself),
            (
                None,
                7,
                TransitionError::MergeTargetMissing {
                    target: "PUI-2026-0007".into(),
                },
            ),
            // A case found under another reference is not the named one.
            (
                Some(&other),
                7,
                TransitionError::MergeTargetMissing {
                    target: "PUI-2026-0007".into(),
                },
            ),
            (
                Some(&closed),
                7,
                TransitionError::MergeTargetClosed {
                    target: "PUI-2026-0007".into(),
                },
            ),
        ] {
            assert_eq!(merge(&source, target, seq).unwrap_err(), want);
        }
        // The merged-away case stays closed: reopening is refused, a note
        // still goes on its timeline.
        let merged = merge(&source, Some(&case(7, 0)), 7).unwrap().case;
        assert_eq!(merged.merged_into, Some(named(7)));
        assert_eq!(
            merged.apply(&C::Reopen, "a", aware()).unwrap_err(),
            TransitionError::MergedInto {
                target: "PUI-2026-0007".into()
            }
        );
        assert!(merged.apply(&C::Note("x".into()), "a", aware()).is_ok());
        // A closed source is refused like every command on a closed case.
        let mut gone = case(8, 0);
        gone.state = State::Closed;
        assert_eq!(
            merge(&gone, Some(&case(7, 0)), 7).unwrap_err(),
            TransitionError::Closed
        );
        // Without the target at hand (plain apply) a merge is refused.
        assert!(matches!(
            source.apply(&C::Merge(named(7)), "a", aware()),
            Err(TransitionError::MergeTargetMissing { .. })
        ));
    }
}

mod reply {
    use super::*;
    use crate::core::routing::{Committee, Contact};

    fn contact(a: &str) -> Contact {
        Contact {
            name: a.into(),
            address: a.into(),
            title: None,
        }
    }

    pub(super) fn route() -> Route {
        Route {
            committee: Committee {
                name: "Kommunstyrelsen".into(),
                diarie_prefix: "KS".into(),
                delegation_point: "1.4.2".into(),
                delegation_point_art34: None,
            },
            official: contact("anna@kommun.example"),
            deputy: contact("bo@kommun.example"),
            dpo: contact("dso@dpo.example"),
            coordinator: None,
        }
    }

    pub(super) fn cfg() -> AuthConfig {
        AuthConfig {
            trusted_authserv_ids: vec!["mx.kommun.example".into()],
            trust_local_submission: false,
            ..Default::default()
        }
    }

    const PASS: &[&str] = &["mx.kommun.example; dmarc=pass header.from=kommun.example"];
    const FORGED: &[&str] = &["mx.evil.example; dmarc=pass header.from=kommun.example"];

    fn run(sender: &str, text: &str, auth: &[&str]) -> ReplyOutcome {
        let origin = crate::core::auth::Origin {
            from_fields: 1,
            from_addresses: vec![sender.to_lowercase()],
            trace: auth
                .iter()
                .map(|a| crate::core::auth::TraceHeader::AuthenticationResults(a.to_string()))
                .collect(),
        };
        let parsed = crate::core::commands::parse_reply(text);
        let reply = Reply {
            sender,
            parsed: &parsed,
            origin: &origin,
        };
        handle_reply(
            &opened(),
            &route(),
            &cfg(),
            &reply,
            aware() + Duration::hours(2),
            Stockholm,
            Related::default(),
        )
    }

    fn timeline_kind(o: &ReplyOutcome) -> &str {
        match &o.effects[0] {
            Effect::RecordTimeline { kind, .. } => kind.as_str(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_authenticated_command_moves_the_case_and_keeps_the_body() {
        let o = run(
            "Anna@Kommun.example",
            "Kvittera\nJag tittar på det i dag.\n\n> Ny incident",
            PASS,
        );
        assert_eq!(o.case.as_ref().map(|c| c.state), Some(State::Acknowledged));
        assert_eq!(timeline_kind(&o), "acknowledged");
        match &o.effects[0] {
            Effect::RecordTimeline { data, .. } => {
                assert_eq!(data["body"], json!("Jag tittar på det i dag."));
                assert_eq!(data["role"], json!("official"));
                assert_eq!(data["via"]["via"], json!("dmarc"));
            }
            other => panic!("{other:?}"),
        }
        assert!(o.effects.contains(&Effect::StopAckEscalation));
        assert_eq!(o.lang, Some(Lang::Sv));
        let o = run("anna@kommun.example", "decide: maybe", PASS);
        assert_eq!(o.lang, Some(Lang::En));
    }

    #[test]
    fn a_forged_command_changes_nothing_and_is_not_answered() {
        for (sender, auth) in [
            ("anna@kommun.example", FORGED),
            ("mallory@evil.example", PASS),
            ("anna@kommun.example", &[][..]),
        ] {
            for text in ["beslut: ej anmäl", "beslut: kanske"] {
                let o = run(sender, text, auth);
                assert_eq!(o.case, None, "{sender} {text}");
                assert_eq!(o.effects.len(), 1, "{sender} {text}: {:?}", o.effects);
                assert_eq!(timeline_kind(&o), "command_unauthorised");
                assert_eq!(o.lang, None);
            }
        }
    }

    #[test]
    fn a_follow_up_from_anyone_goes_on_the_timeline_only() {
        let o = run(
            "support@supplier.example",
            "Hej, här är vår slutrapport.",
            &[],
        );
        assert_eq!(o.case, None);
        assert_eq!(o.effects.len(), 1);
        assert_eq!(timeline_kind(&o), "follow_up");
    }

    #[test]
    fn invalid_or_refused_commands_from_the_roster_are_answered() {
        let o = run("bo@kommun.example", "beslut: kanske", PASS);
        assert_eq!(o.case, None);
        assert_eq!(timeline_kind(&o), "command_invalid");
        assert!(
            matches!(&o.effects[1], Effect::AnswerRefusal { sv, .. } if sv.contains("ej anmäl"))
        );

        let o = run("bo@kommun.example", "beslut: anmäl", PASS);
        assert_eq!(o.case, None);
        assert_eq!(timeline_kind(&o), "command_refused");
        assert!(
            matches!(&o.effects[1], Effect::AnswerRefusal { sv, .. } if sv.contains("bedömning"))
        );
    }
}

// --- NIS2 (`nis2.rs`) --------------------------------------------------------

mod nis2_commands {
    use super::*;
    use crate::core::commands::{AuthorityRef, Nis2Command as N};
    use crate::core::regime::{Clock, Nis2Reason, Nis2Status};

    fn suggested() -> Case {
        let (c, ev) = opened().with_nis2_suggestion(vec![Nis2Reason::Cyberattack {
            word: "ransomware".into(),
        }]);
        assert_eq!(ev.map(|e| e.0), Some(EventKind::Nis2Suggested));
        c
    }

    fn run(c: &Case, cmd: N, hours: i64) -> Result<Transition, TransitionError> {
        c.apply(
            &C::Nis2(cmd),
            "anna@kommun.example",
            aware() + Duration::hours(hours),
        )
    }

    fn sent(r: &str) -> N {
        N::NotificationSent {
            authority_ref: AuthorityRef::parse(r).unwrap(),
        }
    }

    #[test]
    fn no_reasons_no_suggestion_and_old_rows_decode_without_nis2() {
        let (c, ev) = opened().with_nis2_suggestion(Vec::new());
        assert_eq!((c.nis2.status, ev), (Nis2Status::NotConsidered, None));
        // A case that never met NIS2 stores exactly what it stored before.
        let v = serde_json::to_value(&c).unwrap();
        assert!(v.get("nis2").is_none());
        let back: Case = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
        let with = serde_json::to_value(suggested()).unwrap();
        assert_eq!(with["nis2"]["status"], "suggested");
        assert_eq!(with["nis2"]["reasons"][0]["word"], "ransomware");
        let back: Case = serde_json::from_value(with).unwrap();
        assert_eq!(back, suggested());
    }

    #[test]
    fn nej_stops_the_nis2_reminders_and_records_who_and_why() {
        let c = suggested();
        let tz = Stockholm;
        let first = c.next_nis2_reminder(tz, aware()).unwrap();
        assert_eq!(first.clock, Clock::EarlyWarning);
        assert_eq!(first.at, aware() + Duration::hours(12));
        let t = run(
            &c,
            N::Decide {
                applies: false,
                reasoning: Some("bara nyhetsbrevet drabbat".into()),
            },
            2,
        )
        .unwrap();
        assert_eq!(t.case.nis2.status, Nis2Status::DoesNotApply);
        assert_eq!(
            t.case.nis2.decided_by.as_deref(),
            Some("anna@kommun.example")
        );
        assert_eq!(
            t.case.nis2.reasoning.as_deref(),
            Some("bara nyhetsbrevet drabbat")
        );
        assert_eq!(t.case.state, c.state, "NIS2 changes no GDPR state");
        assert_eq!(t.case.next_nis2_reminder(tz, aware()), None);
        assert!(matches!(
            &t.effects[0],
            Effect::RecordTimeline { kind: EventKind::Nis2Decided, data } if data["applies"] == false
        ));
        // A report after "nej" is refused in words.
        let e = run(&t.case, N::EarlyWarningSent, 3).unwrap_err();
        assert_eq!(
            e,
            TransitionError::Nis2NotRunning {
                report: Nis2Report::EarlyWarning
            }
        );
        assert!(e.sv(tz).contains("nis2: ja"), "{}", e.sv(tz));
    }

    #[test]
    fn all_three_reports_close_their_deadlines_in_order() {
        let tz = Stockholm;
        let c = run(
            &suggested(),
            N::Decide {
                applies: true,
                reasoning: None,
            },
            1,
        )
        .unwrap()
        .case;
        // The progress and final reports count from the notification.
        assert_eq!(
            run(&c, N::FinalReportSent, 2).unwrap_err(),
            TransitionError::Nis2NotificationFirst {
                report: Nis2Report::FinalReport
            }
        );
        let c = run(&c, N::EarlyWarningSent, 20).unwrap().case;
        assert!(run(&c, N::EarlyWarningSent, 21).is_err(), "twice");
        let next = c
            .next_nis2_reminder(tz, aware() + Duration::hours(20))
            .unwrap();
        assert_eq!(next.clock, Clock::IncidentNotification);
        let t = run(&c, sent("MCF-2026-0042"), 30).unwrap();
        assert_eq!(
            t.case.nis2.notification_ref.as_deref(),
            Some("MCF-2026-0042")
        );
        assert!(matches!(
            &t.effects[0],
            Effect::RecordTimeline { kind: EventKind::Nis2NotificationSent, data }
                if data["late"] == false && data["authority_ref"] == "MCF-2026-0042"
        ));
        let c = t.case;
        let next = c
            .next_nis2_reminder(tz, aware() + Duration::hours(30))
            .unwrap();
        assert_eq!(next.clock, Clock::FinalReport);
        // The GDPR case may close meanwhile; the final report still comes by reply.
        let t = run(&c, N::FinalReportSent, 24 * 20).unwrap();
        assert!(matches!(
            &t.effects[0],
            Effect::RecordTimeline { kind: EventKind::Nis2FinalReportSent, data } if data["late"] == false
        ));
        assert_eq!(t.case.next_nis2_reminder(tz, aware()), None);
        let d = t.case.deadlines(tz);
        assert!(d
            .iter()
            .filter(|d| d.clock.regime() == crate::core::regime::Regime::Nis2)
            .all(|d| d.done_at.is_some()));
    }

    #[test]
    fn incident_handled_after_the_month_mark_moves_the_final_report_and_is_refused_twice() {
        let tz = Stockholm;
        let c = run(
            &suggested(),
            N::Decide {
                applies: true,
                reasoning: None,
            },
            1,
        )
        .unwrap()
        .case;
        let c = run(&c, N::EarlyWarningSent, 10).unwrap().case;
        let c = run(&c, sent("MCF-2026-0007"), 40).unwrap().case;
        // Ongoing past the one-month mark: the progress report, then handled.
        let c = run(&c, N::ProgressReportSent, 24 * 31).unwrap().case;
        let at = |h: i64| aware() + Duration::hours(h);
        let t = c
            .apply_in(
                &C::Nis2(N::IncidentHandled),
                "anna@kommun.example",
                at(24 * 40),
                Related::default(),
                tz,
            )
            .unwrap();
        assert_eq!(t.case.nis2.handled_at, Some(at(24 * 40)));
        let want = crate::core::regime::one_month_after(at(24 * 40), tz);
        assert!(matches!(
            &t.effects[0],
            Effect::RecordTimeline { kind: EventKind::Nis2IncidentHandled, data }
                if data["final_report_due_at"] == json!(want)
        ));
        let confirm = t
            .effects
            .iter()
            .find_map(|e| match e {
                Effect::Confirm { sv, .. } => Some(sv.clone()),
                _ => None,
            })
            .unwrap();
        assert!(confirm.contains("slutrapport skickad"), "{confirm}");
        let next = t.case.next_nis2_reminder(tz, at(24 * 40)).unwrap();
        assert_eq!((next.clock, Some(next.due_at)), (Clock::FinalReport, want));
        // Twice: refused, naming when.
        let e = t
            .case
            .apply_in(
                &C::Nis2(N::IncidentHandled),
                "anna@kommun.example",
                at(24 * 41),
                Related::default(),
                tz,
            )
            .unwrap_err();
        assert_eq!(e, TransitionError::Nis2AlreadyHandled { at: at(24 * 40) });
        assert!(
            e.sv(tz).contains("redan registrerad som hanterad"),
            "{}",
            e.sv(tz)
        );
        // Not under NIS2: refused.
        let e = run(&opened(), N::IncidentHandled, 2).unwrap_err();
        assert_eq!(e, TransitionError::Nis2HandledNotRunning);
    }

    #[test]
    fn a_late_early_warning_is_recorded_as_late_and_a_closed_case_takes_nis2_commands() {
        let mut c = suggested();
        c.state = State::Closed;
        let t = run(&c, N::EarlyWarningSent, 30).unwrap();
        assert!(matches!(
            &t.effects[0],
            Effect::RecordTimeline { kind: EventKind::Nis2EarlyWarningSent, data } if data["late"] == true
        ));
        let Effect::Confirm { sv, .. } = t
            .effects
            .iter()
            .find(|e| matches!(e, Effect::Confirm { .. }))
            .unwrap()
        else {
            unreachable!()
        };
        assert!(sv.contains("efter fristen"), "{sv}");
        c.merged_into = Some(CaseRef::new("PUI", 2026, 9));
        assert!(matches!(
            run(&c, N::EarlyWarningSent, 30),
            Err(TransitionError::MergedInto { .. })
        ));
    }
}

mod split {
    use super::*;

    fn source(messages: u32) -> SplitSource {
        SplitSource {
            row: 42,
            message_id: Some("n2@supplier.example".into()),
            subject: "Incident i Bokningsappen".into(),
            aware_at: aware() + Duration::hours(20),
            messages_in_case: messages,
        }
    }

    fn split(case: &Case, m: Option<&SplitSource>) -> Result<Transition, TransitionError> {
        case.apply_with(
            &C::Split(Some("annat system".into())),
            "anna@kommun.example",
            aware() + Duration::hours(30),
            Related {
                merge_target: None,
                split: m,
            },
        )
    }

    #[test]
    fn the_message_leaves_with_its_own_clock_and_the_case_goes_on() {
        let case = at(&[ack(), assess(A::Risk)]);
        let m = source(3);
        let t = split(&case, Some(&m)).unwrap();
        // The case itself is unchanged but for nothing: same state, same clock.
        assert_eq!(t.case.state, State::Assessed);
        assert_eq!(t.case.aware_at, case.aware_at);
        assert_eq!(
            kinds(&t.effects),
            ["timeline", "split", "confirm", "roster"]
        );
        match &t.effects[0] {
            Effect::RecordTimeline { kind, data } => {
                assert_eq!(kind, "case_split");
                assert_eq!(data["message_id"], json!("n2@supplier.example"));
                assert_eq!(data["new_aware_at"], json!(m.aware_at));
                assert_eq!(data["new_deadline"], json!(clock::deadline(m.aware_at)));
                assert_eq!(data["why"], json!("annat system"));
            }
            other => panic!("{other:?}"),
        }
        // The new clock is the message's own earliest receipt, not the case's.
        assert_eq!(
            t.effects[1],
            Effect::SplitOut {
                message_row: 42,
                aware_at: m.aware_at,
                urgent: false,
            }
        );
        let Some(Effect::Confirm { sv, en }) = t.effects.get(2) else {
            panic!("{:?}", t.effects)
        };
        assert!(
            sv.contains("Incident i Bokningsappen") && sv.contains("nytt ärende"),
            "{sv}"
        );
        assert!(
            en.contains("new case") && en.contains("PUI-2026-0007"),
            "{en}"
        );
    }

    #[test]
    fn a_split_needs_a_message_that_is_not_the_only_one_and_an_open_case() {
        let case = opened();
        assert_eq!(
            split(&case, None).unwrap_err(),
            TransitionError::SplitWithoutMessage
        );
        assert_eq!(
            split(&case, Some(&source(1))).unwrap_err(),
            TransitionError::SplitOnlyMessage
        );
        let closed = at(&[ack(), assess(A::NoRisk), decide(D::DoNotNotify), C::Close]);
        assert_eq!(
            split(&closed, Some(&source(2))).unwrap_err(),
            TransitionError::Closed
        );
        // Every refusal has words in both languages.
        for e in [
            TransitionError::SplitWithoutMessage,
            TransitionError::SplitOnlyMessage,
        ] {
            assert!(e.sv(Stockholm).contains("dela"), "{}", e.sv(Stockholm));
            assert!(!e.en(Stockholm).is_empty());
        }
    }

    #[test]
    fn a_split_from_someone_off_the_roster_is_not_carried_out() {
        // `handle_reply` authorises before it applies: a forged "dela" is
        // recorded and changes nothing.
        let origin = crate::core::auth::Origin {
            from_fields: 1,
            from_addresses: vec!["mallory@evil.example".into()],
            trace: vec![],
        };
        let parsed = crate::core::commands::parse_reply("dela");
        let reply = Reply {
            sender: "mallory@evil.example",
            parsed: &parsed,
            origin: &origin,
        };
        let m = source(2);
        let out = handle_reply(
            &opened(),
            &super::reply::route(),
            &super::reply::cfg(),
            &reply,
            aware() + Duration::hours(2),
            Stockholm,
            Related {
                merge_target: None,
                split: Some(&m),
            },
        );
        assert!(out.case.is_none());
        assert_eq!(kinds(&out.effects), ["timeline"]);
        assert!(!out
            .effects
            .iter()
            .any(|e| matches!(e, Effect::SplitOut { .. })));
    }
}
