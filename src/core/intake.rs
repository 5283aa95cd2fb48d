//! Intake: what to do with one message that was read — open a case, attach it to
//! a case, or only record it — and which mails that causes. Pure: the shell looks
//! up candidate cases and passes them in; the answer is data it stores in one
//! transaction.

use chrono::{DateTime, Duration, Utc};

use super::auth::{roster_role, Role};
use super::clock::{self, ReminderPlan};
use super::notice::{Kind, Notice};
use super::routing::{Route, RouteDecision};
use super::series;

/// Why a message attaches to a case, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// In-Reply-To/References names a message of the case.
    Thread,
    /// The subject or body carries the case reference.
    CaseRef,
    /// The case holds the same notice: its Message-ID (own, or of the
    /// message forwarded as an attachment).
    SameMessage,
    /// The case holds the same notice: the same normalised text.
    SameText,
    /// A follow-up of the same supplier about the same incident (`core::series`).
    Series,
}

impl Link {
    pub fn as_str(self) -> &'static str {
        match self {
            Link::Thread => "thread",
            Link::CaseRef => "case_ref",
            Link::SameMessage => "same_message",
            Link::SameText => "same_text",
            Link::Series => "series",
        }
    }
}

/// What the shell found in the store for this message.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    /// The case a thread header points at (incoming or outgoing message of it).
    pub by_thread: Option<i64>,
    /// The case named by the reference in subject/body, when it exists.
    pub by_ref: Option<i64>,
    /// A case that already holds this notice (another forward or copy of it).
    pub same_notice: Option<SameNotice>,
    /// The supplier's open cases around the message's time, for `core::series`.
    pub series: Vec<series::Candidate>,
    /// The case the message's thread or case reference named, which it is
    /// not news of (`core::series::another_incident`): the case its own case
    /// may belong to (before any case the series rule finds alike).
    pub named_not_joined: Option<series::Choice>,
}

/// A case holding the same notice, as the store found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SameNotice {
    pub case_id: i64,
    /// `SameMessage` or `SameText`.
    pub link: Link,
    /// The case's awareness instant: an earlier receipt of this copy moves it.
    pub case_aware_at: DateTime<Utc>,
}

/// Facts about our own deployment the decision needs.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// Domains that may receive mail from breachwatch.
    pub internal_domains: &'a [String],
    /// Our own From address (mail from it is ours, never answered).
    pub own_address: &'a str,
    /// Domain of the Message-IDs we generate.
    pub own_id_domain: &'a str,
    /// How far around a case's awareness and opening its supplier series reaches.
    pub series_window: Duration,
    /// The local time zone (a discovery date without a time is local).
    pub tz: chrono_tz::Tz,
}

/// Who gets the acknowledgement of a new case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckTo {
    /// The internal colleague who forwarded (or sent) the notice.
    Forwarder(String),
    /// A supplier wrote directly: breachwatch never mails suppliers, so the DPO
    /// is told instead.
    Dpo,
    /// The sender is already on the roster and gets the opening notice anyway.
    Nobody,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// A new case: its awareness instant, whether it is urgent, the first reminder.
    Open {
        aware_at: DateTime<Utc>,
        urgent: bool,
        next_reminder: Option<clock::Reminder>,
        ack: AckTo,
        /// An open case this may be the same incident as: the official is told.
        may_belong_to: Option<series::Choice>,
    },
    /// New information for an existing case; the official is told unless the
    /// message must never cause mail.
    Attach {
        case_id: i64,
        link: Link,
        notify_official: bool,
        /// For a series link: which case was chosen and why.
        series: Option<series::Choice>,
        /// This copy of the case's notice shows an earlier receipt: the case's
        /// awareness moves to it.
        earlier_aware_at: Option<DateTime<Utc>>,
    },
    /// Kept in the register of messages, nothing else happens.
    Record { reason: RecordReason },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordReason {
    /// breachwatch's own mail came back (e.g. a copy to the shared mailbox).
    OwnMail,
    /// Out-of-office, delivery report, read receipt, bulk mail.
    Automatic,
    /// Not a notice (newsletter, invoice, question).
    NotANotice,
}

impl RecordReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordReason::OwnMail => "own_mail",
            RecordReason::Automatic => "automatic",
            RecordReason::NotANotice => "not_a_notice",
        }
    }
}

fn is_own(n: &Notice, ctx: &Context<'_>) -> bool {
    let own_from = n
        .sender
        .address
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case(ctx.own_address));
    let own_id = n.message_id.as_deref().is_some_and(|m| {
        m.trim_end_matches('>')
            .ends_with(&format!("@{}", ctx.own_id_domain))
    });
    own_from && own_id
}

/// How far apart two receipts of one message can be: a copy delivered to
/// two addresses of the mailbox, or delayed on one route.
const COPY_RECEIPTS_APART_HOURS: i64 = 24;

/// Whether a message whose Message-ID is already recorded is a copy of the
/// recorded message (`(sender, receipt)` of each): the same sender
/// (ignoring case), received within [`COPY_RECEIPTS_APART_HOURS`] of it
/// when both receipts are known. Otherwise it is another message that
/// reuses the id (a broken mailer gives every mail one id, a template
/// keeps it): dropping it as a copy would lose a notice without a trace.
pub fn a_copy_of(
    recorded: (Option<&str>, Option<DateTime<Utc>>),
    this: (Option<&str>, Option<DateTime<Utc>>),
) -> bool {
    let same_sender = match (recorded.0, this.0) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (a, b) => a.is_none() && b.is_none(),
    };
    let close = match (recorded.1, this.1) {
        (Some(a), Some(b)) => (a - b).num_hours().abs() < COPY_RECEIPTS_APART_HOURS,
        _ => true,
    };
    same_sender && close
}

/// Who hears of a message attached to a case, besides the answers to a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttachNotices {
    /// The official is told of the news (not of their own words).
    pub official: bool,
    /// A colleague off the roster learns which case their message joined.
    pub sender: bool,
}

/// Decides [`AttachNotices`] for a non-automatic message from `sender`; a
/// command (accepted, refused or unauthorised) is answered elsewhere or not at all.
pub fn attach_notices(
    route: &Route,
    sender: &str,
    was_command: bool,
    internal_domains: &[String],
) -> AttachNotices {
    if was_command {
        return AttachNotices {
            official: false,
            sender: false,
        };
    }
    let role = roster_role(route, sender);
    AttachNotices {
        official: role != Some(Role::Official),
        sender: role.is_none() && super::types::is_internal(internal_domains, sender),
    }
}

/// Decides what happens to one message.
pub fn plan(
    n: &Notice,
    found: &Lookup,
    route: &RouteDecision,
    ctx: &Context<'_>,
    reminders: &ReminderPlan,
    now: DateTime<Utc>,
) -> Plan {
    if is_own(n, ctx) {
        return Plan::Record {
            reason: RecordReason::OwnMail,
        };
    }
    let automatic = n.kind == Kind::AutoReply || n.threading.never_answer;
    let direct = found
        .by_thread
        .map(|id| (id, Link::Thread))
        .or(found.by_ref.map(|id| (id, Link::CaseRef)));
    if let Some((case_id, link)) = direct {
        // An auto-reply to one of our mails is kept with the case but answered by
        // nobody; a real message is news for the official.
        return Plan::Attach {
            case_id,
            link,
            notify_official: !automatic,
            series: None,
            earlier_aware_at: None,
        };
    }
    if let Some(same) = &found.same_notice {
        // Another copy of a notice the case holds: the earliest receipt of any
        // copy is when the municipality became aware.
        let earlier = n
            .aware_at
            .or(n.received_at)
            .map(|a| a.min(now))
            .filter(|a| *a < same.case_aware_at);
        return Plan::Attach {
            case_id: same.case_id,
            link: same.link,
            notify_official: !automatic,
            series: None,
            earlier_aware_at: earlier,
        };
    }
    // Automatic mail is placed too (a status tool's updates belong with their
    // incident); it is only never answered.
    let verdict = series::decide(
        &series::Incoming::of(n, now, ctx.tz),
        &found.series,
        ctx.series_window,
    );
    let may_belong_to = match verdict {
        series::Verdict::Join(choice) => {
            return Plan::Attach {
                case_id: choice.case_id,
                link: Link::Series,
                notify_official: !automatic,
                series: Some(choice),
                earlier_aware_at: None,
            };
        }
        // The case its thread or number named says more to the official
        // than a resemblance.
        series::Verdict::Hint(choice) => found.named_not_joined.clone().or(Some(choice)),
        series::Verdict::None => found.named_not_joined.clone(),
    };
    // Automatic mail that joins nothing is only recorded (an out-of-office,
    // a status page's "service restored"), unless it is an incident message
    // that names personal data: a supplier's bulk-sent update on a breach
    // whose first notice never reached this mailbox is news of a breach,
    // and recorded as automatic it would be seen by nobody.
    let breach_news = n.kind == Kind::FollowUp
        && (!n.incident.data_categories.is_empty() || n.incident.data_subjects.is_some());
    if automatic && n.kind != Kind::BreachNotice && !breach_news {
        return Plan::Record {
            reason: RecordReason::Automatic,
        };
    }
    match n.kind {
        Kind::BreachNotice | Kind::FollowUp => {}
        Kind::AutoReply | Kind::Other => {
            return Plan::Record {
                reason: if n.kind == Kind::Other {
                    RecordReason::NotANotice
                } else {
                    RecordReason::Automatic
                },
            }
        }
    }
    // A follow-up we cannot place is still news of an incident: open a case rather
    // than lose it.
    let aware_at = n.aware_at.or(n.received_at).unwrap_or(now).min(now);
    let sender = n.sender.address.clone().unwrap_or_default();
    let on_roster = roster_role(&route.route, &sender).is_some();
    let ack = if sender.is_empty() || automatic {
        AckTo::Dpo
    } else if super::types::is_internal(ctx.internal_domains, &sender) {
        if on_roster {
            AckTo::Nobody
        } else {
            AckTo::Forwarder(sender)
        }
    } else {
        AckTo::Dpo
    };
    Plan::Open {
        aware_at,
        urgent: clock::is_urgent(aware_at, now),
        next_reminder: clock::next_after(aware_at, reminders, now),
        ack,
        may_belong_to,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::notice::{read, ReadOptions};
    use chrono::Duration;

    fn route() -> RouteDecision {
        RouteDecision {
            rule: None,
            reasons: vec![],
            route: crate::core::routing::test_route("KS"),
        }
    }

    fn msg(headers: &str, body: &str) -> Notice {
        let raw = format!(
            "{headers}\r\nTo: breach@example.test\r\nDate: Fri, 18 Jun 2021 20:05:00 +0200\r\n\r\n{body}\r\n"
        );
        read(raw.as_bytes(), &ReadOptions::default()).unwrap()
    }

    fn ctx(d: &[String]) -> Context<'_> {
        Context {
            internal_domains: d,
            own_address: "breach@example.test",
            own_id_domain: "breachwatch.example.test",
            series_window: Duration::days(14),
            tz: chrono_tz::Europe::Stockholm,
        }
    }

    fn now() -> DateTime<Utc> {
        "2021-06-21T05:09:00Z".parse().unwrap()
    }

    /// A recorded Message-ID on another message: a copy only from the same
    /// sender within a day; else another message that reuses the id.
    #[test]
    fn a_copy_has_the_recorded_sender_and_a_receipt_within_a_day() {
        let t = |s: &str| Some(s.parse::<DateTime<Utc>>().unwrap());
        let rec = (Some("incident@lab.example"), t("2026-11-20T15:05:00Z"));
        // To a second address of the mailbox, minutes later; case of letters.
        assert!(a_copy_of(
            rec,
            (Some("Incident@LAB.example"), t("2026-11-20T15:09:00Z"))
        ));
        assert!(a_copy_of(
            rec,
            (Some("incident@lab.example"), t("2026-11-21T15:04:00Z"))
        ));
        // A receipt unknown on either side: the sender decides.
        assert!(a_copy_of(rec, (Some("incident@lab.example"), None)));
        assert!(a_copy_of((None, None), (None, t("2026-11-21T15:04:00Z"))));
        // Fifteen days later, another sender, a sender only on one side.
        assert!(!a_copy_of(
            rec,
            (Some("incident@lab.example"), t("2026-12-05T10:00:00Z"))
        ));
        assert!(!a_copy_of(
            rec,
            (Some("x@other.example"), t("2026-11-20T15:09:00Z"))
        ));
        assert!(!a_copy_of(rec, (None, t("2026-11-20T15:09:00Z"))));
    }

    #[test]
    fn internal_forwarder_gets_the_ack_and_late_case_is_urgent() {
        let d = vec!["example.test".to_string()];
        let mut n = msg(
            "From: staff@example.test\r\nSubject: VB: Dataintrång\r\nMessage-ID: <1@x>",
            "Dataintrång hos oss",
        );
        n.kind = Kind::BreachNotice;
        n.aware_at = Some(now() - Duration::hours(71));
        let p = plan(
            &n,
            &Lookup::default(),
            &route(),
            &ctx(&d),
            &ReminderPlan::default(),
            now(),
        );
        match p {
            Plan::Open {
                urgent,
                ack,
                next_reminder,
                aware_at,
                ..
            } => {
                assert!(urgent);
                assert_eq!(ack, AckTo::Forwarder("staff@example.test".into()));
                assert_eq!(aware_at, now() - Duration::hours(71));
                assert_eq!(next_reminder.unwrap().offset_hours, 72);
            }
            other => panic!("expected Open, got {other:?}"),
        }
    }

    #[test]
    fn supplier_writing_directly_is_acknowledged_to_the_dpo() {
        let d = vec!["example.test".to_string()];
        let mut n = msg("From: noreply@provdata.example\r\nSubject: Intrång", "x");
        n.kind = Kind::BreachNotice;
        let p = plan(
            &n,
            &Lookup::default(),
            &route(),
            &ctx(&d),
            &ReminderPlan::default(),
            now(),
        );
        assert!(
            matches!(
                p,
                Plan::Open {
                    ack: AckTo::Dpo,
                    ..
                }
            ),
            "{p:?}"
        );
    }

    #[test]
    fn thread_link_beats_case_ref_and_auto_replies_are_not_answered() {
        let d = vec!["example.test".to_string()];
        let found = Lookup {
            by_thread: Some(7),
            by_ref: Some(9),
            ..Lookup::default()
        };
        let n = msg(
            "From: official@example.test\r\nSubject: Re: [PUI-2021-0009]\r\nIn-Reply-To: <a@b>",
            "ok",
        );
        let p = plan(
            &n,
            &found,
            &route(),
            &ctx(&d),
            &ReminderPlan::default(),
            now(),
        );
        assert_eq!(
            p,
            Plan::Attach {
                case_id: 7,
                link: Link::Thread,
                notify_official: true,
                series: None,
                earlier_aware_at: None,
            }
        );
        let auto = msg(
            "From: official@example.test\r\nAuto-Submitted: auto-replied\r\nSubject: Frånvaro\r\nIn-Reply-To: <a@b>",
            "Jag är på semester",
        );
        let p = plan(
            &auto,
            &found,
            &route(),
            &ctx(&d),
            &ReminderPlan::default(),
            now(),
        );
        assert!(matches!(
            p,
            Plan::Attach {
                notify_official: false,
                ..
            }
        ));
        let p = plan(
            &auto,
            &Lookup::default(),
            &route(),
            &ctx(&d),
            &ReminderPlan::default(),
            now(),
        );
        assert_eq!(
            p,
            Plan::Record {
                reason: RecordReason::Automatic
            }
        );
    }

    #[test]
    fn attached_news_reaches_the_official_and_an_off_roster_colleague() {
        let d = vec!["example.test".to_string()];
        let r = route().route;
        let from_staff = attach_notices(&r, "staff@example.test", false, &d);
        assert_eq!(
            from_staff,
            AttachNotices {
                official: true,
                sender: true
            }
        );
        let from_official = attach_notices(&r, "Official@Example.test", false, &d);
        assert_eq!(
            from_official,
            AttachNotices {
                official: false,
                sender: false
            }
        );
        let from_dpo = attach_notices(&r, "dpo@example.test", false, &d);
        assert_eq!(
            from_dpo,
            AttachNotices {
                official: true,
                sender: false
            }
        );
        let from_supplier = attach_notices(&r, "noreply@provdata.example", false, &d);
        assert_eq!(
            from_supplier,
            AttachNotices {
                official: true,
                sender: false
            }
        );
        let command = attach_notices(&r, "staff@example.test", true, &d);
        assert_eq!(
            command,
            AttachNotices {
                official: false,
                sender: false
            }
        );
    }

    fn candidate(id: i64, systems: &[&str]) -> series::Candidate {
        series::Candidate {
            case_id: id,
            case_ref: format!("PUI-2021-{id:04}"),
            aware_at: now() - Duration::days(2),
            opened_at: now() - Duration::days(2),
            systems: systems.iter().map(|s| s.to_string()).collect(),
            discovered_at: None,
            occurred_from: None,
            occurred_to: None,
            data_categories: vec![],
            cause: None,
        }
    }

    fn supplier_mail(headers: &str, body: &str) -> Notice {
        let mut n = msg(
            &format!("From: Drift <drift@provdata.example>\r\nMessage-ID: <s@provdata.example>\r\n{headers}"),
            body,
        );
        n.received_at = Some(now());
        n.aware_at = Some(now());
        n
    }

    #[test]
    fn another_copy_of_a_notice_joins_and_an_earlier_receipt_moves_awareness() {
        let d = vec!["example.test".to_string()];
        let mut n = msg(
            "From: staff2@example.test\r\nSubject: VB: Dataintrång",
            "Dataintrång",
        );
        n.kind = Kind::BreachNotice;
        n.aware_at = Some(now() - Duration::hours(30));
        let found = Lookup {
            same_notice: Some(SameNotice {
                case_id: 4,
                link: Link::SameText,
                case_aware_at: now() - Duration::hours(20),
            }),
            ..Lookup::default()
        };
        let p = plan(
            &n,
            &found,
            &route(),
            &ctx(&d),
            &ReminderPlan::default(),
            now(),
        );
        assert_eq!(
            p,
            Plan::Attach {
                case_id: 4,
                link: Link::SameText,
                notify_official: true,
                series: None,
                earlier_aware_at: Some(now() - Duration::hours(30)),
            }
        );
        // A later copy leaves the clock alone.
        n.aware_at = Some(now() - Duration::hours(10));
        let p = plan(
            &n,
            &found,
            &route(),
            &ctx(&d),
            &ReminderPlan::default(),
            now(),
        );
        assert!(
            matches!(
                p,
                Plan::Attach {
                    earlier_aware_at: None,
                    ..
                }
            ),
            "{p:?}"
        );
    }

    #[test]
    fn an_automatic_status_update_joins_its_incident_unanswered() {
        let d = vec!["example.test".to_string()];
        let n = supplier_mail(
            "Auto-Submitted: auto-generated\r\nSubject: Uppdatering: driftstörning i ProvWeb",
            "Uppdatering om incidenten: ProvWeb fungerar igen. Incidenten är åtgärdad.",
        );
        assert!(n.threading.never_answer);
        assert_eq!(n.kind, Kind::FollowUp, "{n:?}");
        let found = Lookup {
            series: vec![candidate(3, &["ProvWeb"])],
            ..Lookup::default()
        };
        match plan(
            &n,
            &found,
            &route(),
            &ctx(&d),
            &ReminderPlan::default(),
            now(),
        ) {
            Plan::Attach {
                case_id: 3,
                link: Link::Series,
                notify_official: false,
                series: Some(c),
                ..
            } => assert!(c.why.contains("ProvWeb"), "{}", c.why),
            other => panic!("{other:?}"),
        }
    }

    /// A supplier's update sent as bulk mail (or by a status page) that
    /// joins no case: recorded as automatic before, seen by nobody; now a
    /// case when it names personal data, still only recorded when it does
    /// not ("service restored").
    #[test]
    fn an_automatic_update_on_a_breach_with_no_case_opens_one() {
        let d = vec!["example.test".to_string()];
        for headers in [
            "Precedence: bulk\r\nList-Unsubscribe: <mailto:u@lev.example>\r\nSubject: Uppdatering: personuppgiftsincident i ProvWeb",
            "Auto-Submitted: auto-generated\r\nSubject: [ProvWeb] Update - unauthorized access",
        ] {
            let n = supplier_mail(
                headers,
                "Uppdatering om incidenten: den 1 juni 2021 upptäckte vi att en obehörig person \
                 kommit åt ProvWeb. Namn och personnummer för 2 000 patienter har exponerats.",
            );
            assert!(n.threading.never_answer);
            assert_eq!(n.kind, Kind::FollowUp, "{n:?}");
            match plan(&n, &Lookup::default(), &route(), &ctx(&d), &ReminderPlan::default(), now()) {
                Plan::Open { ack: AckTo::Dpo, .. } => {}
                other => panic!("{headers}: {other:?}"),
            }
        }
        let n = supplier_mail(
            "Auto-Submitted: auto-generated\r\nSubject: Uppdatering: driftstörning i ProvWeb",
            "Uppdatering om incidenten: ProvWeb fungerar igen. Incidenten är åtgärdad.",
        );
        assert_eq!(n.kind, Kind::FollowUp, "{n:?}");
        assert_eq!(
            plan(
                &n,
                &Lookup::default(),
                &route(),
                &ctx(&d),
                &ReminderPlan::default(),
                now()
            ),
            Plan::Record {
                reason: RecordReason::Automatic
            }
        );
    }

    #[test]
    fn a_new_notice_about_the_same_system_opens_a_case_and_names_the_other() {
        let d = vec!["example.test".to_string()];
        let mut n = supplier_mail(
            "Subject: Dataintrång i ProvWeb",
            "Vi har drabbats av ett dataintrång i tjänsten ProvWeb. Personnummer kan ha röjts.",
        );
        n.kind = Kind::BreachNotice;
        let found = Lookup {
            series: vec![candidate(3, &["ProvWeb"]), candidate(5, &["Kassa"])],
            ..Lookup::default()
        };
        match plan(
            &n,
            &found,
            &route(),
            &ctx(&d),
            &ReminderPlan::default(),
            now(),
        ) {
            Plan::Open {
                may_belong_to: Some(c),
                ..
            } => assert_eq!(c.case_ref, "PUI-2021-0003"),
            other => panic!("{other:?}"),
        }
        // Only another system's case open: a new case, nothing to tell.
        let found = Lookup {
            series: vec![candidate(5, &["Kassa"])],
            ..Lookup::default()
        };
        assert!(matches!(
            plan(
                &n,
                &found,
                &route(),
                &ctx(&d),
                &ReminderPlan::default(),
                now()
            ),
            Plan::Open {
                may_belong_to: None,
                ..
            }
        ));
    }

    #[test]
    fn own_mail_is_only_recorded() {
        let d = vec!["example.test".to_string()];
        let n = msg(
            "From: breach@example.test\r\nMessage-ID: <abc@breachwatch.example.test>\r\nSubject: [PUI-2021-0001] Nytt",
            "x",
        );
        let p = plan(
            &n,
            &Lookup::default(),
            &route(),
            &ctx(&d),
            &ReminderPlan::default(),
            now(),
        );
        assert_eq!(
            p,
            Plan::Record {
                reason: RecordReason::OwnMail
            }
        );
    }

    #[test]
    fn awareness_in_the_future_is_clamped_to_now() {
        let d = vec!["example.test".to_string()];
        let mut n = msg("From: staff@example.test\r\nSubject: Intrång", "x");
        n.kind = Kind::BreachNotice;
        n.aware_at = Some(now() + Duration::hours(5));
        match plan(
            &n,
            &Lookup::default(),
            &route(),
            &ctx(&d),
            &ReminderPlan::default(),
            now(),
        ) {
            Plan::Open { aware_at, .. } => assert_eq!(aware_at, now()),
            other => panic!("{other:?}"),
        }
    }
}
