//! Plan arm "attach": the message joins an existing case. A reply from the
//! case's roster may command it (`workers::reply`); the official and the
//! sender are told as `core::intake::attach_notices` decides.

use chrono::{DateTime, Utc};

use super::{Incoming, Outcome, Pipeline, Prepared, Records};
use crate::core::event::EventKind;
use crate::core::intake::{self, Link};
use crate::core::routing::Route;
use crate::core::series;
use crate::mail::compose;
use crate::store::{
    CaseChange, CaseKey, CaseRecord, CaseUpdate, Composed, IngestWrite, MergeWrite, NewEvent,
    OutboxMail,
};
use crate::workers::reply::{self, ReplyMail, SplitOut};

/// How the message joins its case (the fields of `Plan::Attach`).
pub(super) struct How {
    pub case_id: i64,
    pub link: Link,
    pub notify_official: bool,
    pub series: Option<series::Choice>,
    pub earlier_aware_at: Option<DateTime<Utc>>,
}

/// What a reply did to its case, and the mail that goes with the message.
#[derive(Default)]
struct Official {
    events: Vec<NewEvent>,
    mails: Vec<OutboxMail>,
    update: Option<CaseUpdate>,
    merge: Option<MergeWrite>,
    /// An accepted `split`: the message found and what the core asked.
    split: Option<(super::split::Found, SplitOut)>,
    /// The case's number, for the split's new case.
    case_ref: Option<String>,
}

/// `message_attached`: how and why the message joined the case.
fn attached_event(inc: &Incoming<'_>, how: &How, from: &str) -> NewEvent {
    let n = inc.n;
    let mut event = NewEvent {
        kind: EventKind::MessageAttached,
        actor: from.to_string(),
        data: serde_json::json!({
            "message_id": inc.message_id,
            "link": how.link.as_str(),
            "kind": n.kind,
            "subject": inc.subject,
            "received_at": n.received_at,
            "why": crate::core::text::timeline::join_reason(how.link, how.series.as_ref()),
            "series": how.series,
            // What a final report found ({0, 0}: none of ours),
            // for the withdrawal draft (`casefile`).
            "data_subjects": n.incident.data_subjects,
        }),
    };
    if let (Some(via), serde_json::Value::Object(m)) = (inc.via.clone(), &mut event.data) {
        m.insert("via".into(), via);
    }
    event
}

impl Pipeline {
    pub(super) async fn attach(
        &self,
        mut inc: Incoming<'_>,
        how: How,
        records: &Records,
    ) -> anyhow::Result<Prepared> {
        let from = inc.n.sender.address.clone().unwrap_or_default();
        let mut events = vec![attached_event(&inc, &how, &from)];
        let earlier = match how.earlier_aware_at {
            Some(at) => Some(
                self.earlier_awareness(
                    how.case_id,
                    at,
                    inc.message_id.as_deref(),
                    inc.now,
                    records,
                )
                .await?,
            ),
            None => None,
        };
        if let Some((_, ev)) = &earlier {
            events.push(ev.clone());
        }
        // Automatic mail never commands and is never answered.
        let official = if how.notify_official {
            self.official_side(&inc, how.case_id, &from, records)
                .await?
        } else {
            Official::default()
        };
        events.extend(official.events);
        let mails = official.mails;
        let case_id = how.case_id;
        type Composer = Box<dyn FnOnce(&CaseKey) -> Composed + Send>;
        let (change, composer): (CaseChange, Composer) = match (earlier, official.split) {
            // A copy of the notice is never a command: no workflow update.
            (Some((e, _)), _) => (
                CaseChange::AttachEarlier(Box::new(e)),
                Box::new(move |_: &CaseKey| Composed::mails(mails)),
            ),
            // `dela`: a new case from the message, in this transaction; the
            // composer is the new case's opening.
            (None, Some((found, out))) => {
                let source_ref = official.case_ref.clone().unwrap_or_default();
                let (split, opening) =
                    self.split_write(found, out, &source_ref, &from, mails, inc.now)?;
                (
                    CaseChange::AttachSplit {
                        case_id,
                        update: official.update,
                        split: Box::new(split),
                    },
                    Box::new(move |k: &CaseKey| opening.compose(k)),
                )
            }
            (None, None) => (
                match (official.update, official.merge) {
                    (Some(update), Some(m)) => CaseChange::AttachMerge {
                        case_id,
                        update,
                        merge: Box::new(m),
                    },
                    (update, _) => CaseChange::Attach { case_id, update },
                },
                Box::new(move |_: &CaseKey| Composed::mails(mails)),
            ),
        };
        let w = IngestWrite {
            message: inc.row("attached"),
            change,
            events,
            checkpoint: inc.checkpoint.take(),
        };
        Ok(Prepared {
            write: w,
            compose: composer,
            outcome: Outcome::Attached {
                message_id: inc.message_id.clone(),
                link: how.link.as_str(),
            },
        })
    }

    /// A reply's command (if it is one) and the mail telling the official and
    /// the sender about the message.
    async fn official_side(
        &self,
        inc: &Incoming<'_>,
        case_id: i64,
        from: &str,
        records: &Records,
    ) -> anyhow::Result<Official> {
        let record = self.case_record(records, case_id).await?;
        let route: Option<Route> = record.route.clone();
        let mut out = Official {
            case_ref: Some(record.case_ref.to_string()),
            ..Official::default()
        };
        let was_command = self.reply_work(inc, &record, &mut out).await?;
        if let Some(route) = route {
            self.attach_mails(inc, &record, &route, from, was_command, &mut out);
        }
        Ok(out)
    }

    /// Runs the reply through the case machine; returns whether it commanded.
    /// A case whose stored workflow cannot be used is a fault of the case, not
    /// of this message: the message is still recorded on it, with the reason.
    async fn reply_work(
        &self,
        inc: &Incoming<'_>,
        record: &CaseRecord,
        out: &mut Official,
    ) -> anyhow::Result<bool> {
        let reply = ReplyMail::from_notice(inc.n);
        // The reply's one parse: what the command needs from the store, and
        // then the case machine's input.
        let parsed = crate::core::commands::parse_reply(&reply.text);
        let needs = parsed.needs();
        // A decision's draft documents (and the NIS2 drafts after `nis2: ja`)
        // need the case as stored; every other reply goes without it.
        // Unreadable, the draft goes without them (recorded).
        let file = if needs.case_file {
            crate::casefile::load(&self.store, &self.cfg, record.case_ref.as_str(), inc.now)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(case = %record.case_ref, "case file unavailable for documents: {e}");
                    None
                })
        } else {
            None
        };
        let docs = file.as_ref().map(|f| (f, self.templates.as_ref()));
        // A merge names another case: read it as stored first (not found: the
        // core refuses and says so).
        let merge_target = match &needs.merge_target {
            Some(r) => self.store.case_by_ref(r.as_str()).await?,
            None => None,
        };
        // A split takes out the message the reply is about: found through
        // the reply's thread headers (not found: the core refuses).
        let split = if needs.split {
            self.split_found(inc, record).await?
        } else {
            None
        };
        match reply::prepare(
            &self.cfg,
            &self.sender,
            record,
            &reply,
            &parsed,
            inc.now,
            docs,
            merge_target.as_ref(),
            split.as_ref().map(|f| &f.source),
        ) {
            Ok(w) => {
                out.events.extend(w.events);
                out.mails.extend(w.mails);
                out.update = w.update;
                out.merge = w.merge;
                out.split = match (split, w.split) {
                    (Some(found), Some(s)) => Some((found, s)),
                    _ => None,
                };
                Ok(w.was_command)
            }
            Err(e) => {
                tracing::error!(case = %record.case_ref, "reply could not be handled: {e}");
                out.events.push(NewEvent {
                    kind: EventKind::ReplyNotHandled,
                    actor: "breachwatch".into(),
                    data: serde_json::json!({ "error": e.to_string() }),
                });
                Ok(false)
            }
        }
    }

    /// The follow-up notice to the official and the acknowledgement to the
    /// sender, as `core::intake::attach_notices` decides.
    fn attach_mails(
        &self,
        inc: &Incoming<'_>,
        record: &CaseRecord,
        route: &Route,
        from: &str,
        was_command: bool,
        out: &mut Official,
    ) {
        let tell =
            intake::attach_notices(route, from, was_command, &self.cfg.general.internal_domains);
        let key = &inc.hash[..16];
        let mut drafts = Vec::new();
        if tell.official {
            // An incident message naming another discovery time than the
            // case's may be a new incident: the official is told so.
            let tz = self.cfg.tz();
            let (mine, case) = (inc.n.incident.discovered_at, record.incident.discovered_at);
            let other = match (mine, case) {
                (Some(message), Some(case))
                    if inc.n.kind.is_incident()
                        && series::same_discovery(mine, Some(case), tz) == Some(false) =>
                {
                    Some(crate::core::text::mail::OtherDiscovery { message, case, tz })
                }
                _ => None,
            };
            drafts.push(compose::follow_up_notice(
                &record.case_ref,
                route,
                &inc.subject,
                from,
                key,
                other,
            ));
        }
        if tell.sender {
            drafts.push(compose::attached_acknowledgement(
                &record.case_ref,
                &inc.subject,
                from,
                inc.message_id.as_deref(),
                key,
            ));
        }
        for d in drafts {
            match compose::format_registered(
                &self.sender,
                &record.case_ref,
                record.case().diarienummer.as_ref().map(|n| n.as_str()),
                d,
            ) {
                Ok(m) => out.mails.push(m),
                Err(e) => out.events.push(compose::dropped_event(&e)),
            }
        }
    }
}
