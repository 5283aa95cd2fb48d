//! NIS2 beside GDPR through real mail (issue 16): a cyberattack notice is
//! suggested for NIS2 at opening, the early-warning reminder goes out while
//! only suggested, `nis2: nej` stops it and is on the timeline; a second case
//! goes through all three NIS2 reports by reply.

use chrono::{Duration, Utc};
use mail_parser::MimeHeaders;

use crate::harness::*;

/// A supplier's ransomware notice about the alarm centre, forwarded by staff;
/// the supplier's mail reached the municipality at `original`.
fn ransomware_forward(s: &Setup, original: chrono::DateTime<Utc>, subject: &str) -> Vec<u8> {
    let now = Utc::now();
    let id = format!("<fwd-{}@staff.example.test>", rand::random::<u64>());
    format!(
        "From: Sam Staff <{staff}>\r\n\
To: {breach}\r\n\
Subject: VB: {subject}\r\n\
Date: {date}\r\n\
Message-ID: {id}\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Vidarebefordrar, se nedan.\r\n\
\r\n\
________________________________\r\n\
Från: Incidentgruppen <incident@larmtjanst.example>\r\n\
Skickat: {orig}\r\n\
Till: IT-support <it-support@example.test>\r\n\
Ämne: {subject}\r\n\
\r\n\
Larmtjänst Norr AB har drabbats av ransomware i driftmiljön för larmcentralen.\r\n\
Tjänsten var otillgänglig i fyra timmar. Angriparen kan ha kommit åt namn,\r\n\
adresser och personnummer för brukare av trygghetslarm.\r\n\
\r\n\
Med vänliga hälsningar\r\n\
Larmtjänst Norr AB\r\n",
        staff = s.users.addr("staff"),
        breach = s.users.addr("breach"),
        date = now.to_rfc2822(),
        orig = sv_outlook_date(original),
    )
    .into_bytes()
}

fn open_nis2_case(s: &Setup, original: chrono::DateTime<Utc>, subject: &str) -> (String, Mail) {
    let before: Vec<String> = s
        .cases()
        .iter()
        .map(|c| c["ref"].as_str().unwrap_or_default().to_string())
        .collect();
    s.send("staff", &ransomware_forward(s, original, subject));
    let opening = wait_for(30, "opening notice", || {
        s.mails("official", "").into_iter().find(|m| {
            m.subject.contains("Ny personuppgiftsincident") && m.subject.contains(subject)
        })
    });
    let r = s
        .cases()
        .iter()
        .filter_map(|c| c["ref"].as_str().map(str::to_string))
        .find(|r| !before.contains(r))
        .expect("a new case");
    (r, opening)
}

fn event<'a>(events: &'a [serde_json::Value], kind: &str) -> Option<&'a serde_json::Value> {
    events.iter().find(|e| e["kind"] == kind)
}

#[test]
fn a_cyberattack_notice_suggests_nis2_the_early_warning_reminder_goes_out_and_nej_stops_it() {
    let s = setup(Knobs::default());
    let _d = s.start();
    // The supplier's mail arrived a little less than 23 hours ago (the forward
    // gives minutes): the early warning's "1 hour left" reminder falls due
    // within about a minute of opening.
    let original = Utc::now() - Duration::hours(23) + Duration::seconds(75);
    let (r, opening) = open_nis2_case(&s, original, "Ransomware hos Larmtjänst");

    // The opening notice says NIS2 may apply, why, and the 24-hour deadline.
    assert!(opening.text.contains("NIS2"), "{}", opening.text);
    assert!(opening.text.contains("ransomware"), "{}", opening.text);
    assert!(
        opening.text.contains("Tidig varning senast"),
        "{}",
        opening.text
    );
    let events = s.events(&r);
    let suggested = event(&events, "nis2_suggested").expect("nis2_suggested on the timeline");
    let reasons = suggested["data"]["reasons"].as_array().expect("reasons");
    assert!(
        reasons.iter().any(|x| x["reason"] == "cyberattack"),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|x| x["reason"] == "unavailability"),
        "{reasons:?}"
    );
    let c = s.case(&r);
    assert_eq!(c["nis2"]["status"], "suggested");
    assert!(c["nis2_reminder_at"].is_string(), "{c}");
    let clocks: Vec<&str> = c["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["clock"].as_str())
        .collect();
    assert_eq!(
        clocks,
        [
            "imy-notification",
            "early-warning",
            "incident-notification",
            "final-report"
        ]
    );

    // The early-warning reminder goes out before anyone decided.
    let reminder = wait_for(120, "NIS2 early-warning reminder", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.subject.contains("Påminnelse NIS2"))
    });
    assert!(
        reminder.subject.contains("tidig varning"),
        "{}",
        reminder.subject
    );
    assert!(reminder.text.contains("nis2: ja"), "{}", reminder.text);
    assert!(
        reminder.text.contains("tidig varning skickad"),
        "{}",
        reminder.text
    );
    let ev = s.wait_event(&r, 0, "nis2_reminder");
    assert_eq!(ev["data"]["clock"], "early-warning");
    assert_eq!(s.case(&r)["nis2_reminders_sent"], 1);

    // `nis2: nej` with a reason: recorded with who and why, and the reminders stop.
    let decided = s.command(
        &r,
        &opening,
        "nis2: nej, larmcentralens drift omfattas inte av kommunens NIS2-tjänster",
        "nis2_decided",
    );
    assert_eq!(decided["data"]["applies"], false);
    assert_eq!(
        decided["data"]["reasoning"],
        "larmcentralens drift omfattas inte av kommunens NIS2-tjänster"
    );
    let c = s.case(&r);
    assert_eq!(c["nis2"]["status"], "does-not-apply");
    assert!(
        c["nis2_reminder_at"].is_null(),
        "the NIS2 reminders stopped: {c}"
    );
    assert!(
        c["next_reminder_at"].is_string(),
        "the GDPR clock runs on: {c}"
    );
    wait_for(20, "confirmation", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.text.contains("NIS2 gäller inte"))
    });
    // A report after "nej" is refused with the reason.
    s.command(&r, &opening, "tidig varning skickad", "command_refused");
}

#[test]
fn a_nis2_case_goes_through_all_three_reports_by_reply() {
    let s = setup(Knobs::default());
    let _d = s.start();
    let (r, opening) = open_nis2_case(
        &s,
        Utc::now() - Duration::hours(3),
        "Angrepp mot larmcentralen",
    );

    s.command(
        &r,
        &opening,
        "nis2: ja, larmcentralen är en samhällsviktig tjänst",
        "nis2_decided",
    );
    assert_eq!(s.case(&r)["nis2"]["status"], "applies");
    assert_eq!(
        s.case(&r)["nis2"]["reasoning"],
        "larmcentralen är en samhällsviktig tjänst"
    );

    // The final report cannot come before the notification it counts from.
    s.command(&r, &opening, "slutrapport skickad", "command_refused");

    s.command(
        &r,
        &opening,
        "tidig varning skickad",
        "nis2_early_warning_sent",
    );
    let ev = s.command(
        &r,
        &opening,
        "incidentanmälan skickad MCF-2026-0042",
        "nis2_incident_notification_sent",
    );
    assert_eq!(ev["data"]["authority_ref"], "MCF-2026-0042");
    assert_eq!(ev["data"]["late"], false);
    // The final report's clock now runs a month from the notification.
    let c = s.case(&r);
    let fin = c["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["clock"] == "final-report")
        .cloned()
        .unwrap();
    assert!(fin["due_at"].is_string(), "{fin}");
    assert!(c["nis2_reminder_at"].is_string(), "{c}");

    let ev = s.command(&r, &opening, "final report sent", "nis2_final_report_sent");
    assert_eq!(ev["data"]["late"], false);
    let c = s.case(&r);
    assert!(
        c["nis2_reminder_at"].is_null(),
        "every NIS2 deadline closed: {c}"
    );
    let open: Vec<_> = c["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["regime"] == "nis2" && k["done_at"].is_null())
        .collect();
    assert!(open.is_empty(), "{open:?}");
    // The GDPR clock is untouched by all of it.
    assert_eq!(c["state"], "received");
    assert!(c["next_reminder_at"].is_string());
    // The register still verifies with the NIS2 events in the chains.
    let out = s.cli(&["register", "verify"]);
    assert!(out.contains("register intact"), "{out}");
}

/// (file name → bytes) of every attachment of a delivered mail.
fn attachments(m: &Mail) -> std::collections::BTreeMap<String, Vec<u8>> {
    mail_parser::MessageParser::default()
        .parse(&m.raw)
        .expect("a parseable mail")
        .attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or_default().to_string(),
                a.contents().to_vec(),
            )
        })
        .collect()
}

/// The NIS2 drafts on a mail are the ones whose checksums the timeline holds.
fn nis2_drafts_attached(s: &Setup, r: &str, m: &Mail, via: &str) {
    use sha2::{Digest, Sha256};
    let att = attachments(m);
    let names: Vec<String> = att.keys().cloned().collect();
    for want in [
        format!("NIS2-tidig-varning-{r}.txt"),
        format!("NIS2-tidig-varning-{r}.html"),
        format!("NIS2-incidentanmalan-{r}.txt"),
        format!("NIS2-incidentanmalan-{r}.html"),
        format!("Tidsfrister-NIS2-{r}.ics"),
    ] {
        assert!(att.contains_key(&want), "{want} missing among {names:?}");
    }
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("NIS2-") && n.ends_with(".json")),
        "the JSON stays out of mail: {names:?}"
    );
    let ev = s
        .events(r)
        .into_iter()
        .rev()
        .find(|e| {
            e["kind"] == "documents_generated"
                && e["data"]["outcome"] == "nis2"
                && e["data"]["via"] == via
        })
        .expect("the NIS2 drafts' checksums on the timeline");
    for d in ev["data"]["documents"].as_array().unwrap() {
        let name = d["file_name"].as_str().unwrap();
        let bytes = att
            .get(name)
            .unwrap_or_else(|| panic!("{name} not attached"));
        assert_eq!(
            d["sha256"].as_str().unwrap(),
            hex::encode(Sha256::digest(bytes)),
            "{name}"
        );
    }
}

#[test]
fn a_nis2_case_handled_after_the_month_mark_with_drafts_digest_and_register() {
    let s = setup(Knobs::default());
    let _d = s.start();
    let (r, opening) = open_nis2_case(
        &s,
        Utc::now() - Duration::hours(2),
        "Ransomware i trygghetslarmet",
    );
    // The opening notice carries the drafts of both reports.
    nis2_drafts_attached(&s, &r, &opening, "opening_notice");
    let att = attachments(&opening);
    let ew = String::from_utf8(att[&format!("NIS2-tidig-varning-{r}.txt")].clone()).unwrap();
    assert!(ew.contains("Till: Myndigheten för civilt försvar"), "{ew}");
    assert!(ew.contains("Larmtjänst Norr AB"), "{ew}");
    assert!(ew.contains("angrepp misstänks"), "{ew}");
    assert!(ew.contains("[att fylla i]"), "{ew}");

    // `nis2: ja`: the answer carries the drafts again.
    s.command(
        &r,
        &opening,
        "nis2: ja, larmcentralen omfattas",
        "nis2_decided",
    );
    let answer = wait_for(30, "answer to nis2: ja", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.text.contains(&format!("NIS2 gäller för ärende {r}")))
    });
    nis2_drafts_attached(&s, &r, &answer, "mail");

    s.command(
        &r,
        &opening,
        "tidig varning skickad",
        "nis2_early_warning_sent",
    );
    s.command(
        &r,
        &opening,
        "incidentanmälan skickad MCF-2026-0099",
        "nis2_incident_notification_sent",
    );
    // Once notified, both month clocks are on the case.
    let c = s.case(&r);
    let clocks: Vec<&str> = c["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["clock"].as_str())
        .collect();
    assert!(clocks.contains(&"progress-report"), "{clocks:?}");
    // Still ongoing: the progress report, then the incident is handled.
    s.command(
        &r,
        &opening,
        "lägesrapport skickad",
        "nis2_progress_report_sent",
    );
    let c = s.case(&r);
    let fin = |c: &serde_json::Value| {
        c["clocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["clock"] == "final-report")
            .cloned()
            .unwrap()
    };
    assert!(fin(&c)["due_at"].is_null(), "waits for the handling: {c}");
    let before = Utc::now();
    let ev = s.command(&r, &opening, "incident hanterad", "nis2_incident_handled");
    let handled: chrono::DateTime<Utc> =
        ev["data"]["handled_at"].as_str().unwrap().parse().unwrap();
    assert!(handled >= before - Duration::seconds(5), "{ev}");
    let due: chrono::DateTime<Utc> = ev["data"]["final_report_due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        Some(due),
        breachwatch::core::regime::one_month_after(handled, chrono_tz::Europe::Stockholm)
    );
    let c = s.case(&r);
    assert!(fin(&c)["due_at"].is_string(), "{c}");
    assert!(
        c["nis2_reminder_at"].is_string(),
        "the final report's reminders: {c}"
    );
    wait_for(20, "confirmation of the handling", || {
        s.mails("official", "").into_iter().find(|m| {
            m.text.contains("incidenten är hanterad") && m.text.contains("slutrapport skickad")
        })
    });
    // A second "handled" is refused.
    s.command(&r, &opening, "incident handled", "command_refused");

    // The register shows each regime's dates, appended after GDPR's columns.
    let csv = s.cli(&["register", "export", "--format", "csv"]);
    let header = csv.lines().next().unwrap();
    assert!(
        header.ends_with(
            "\"nis2_final_report_due_at\",\"nis2_final_report_sent_at\",\"nis2_decision\""
        ) || header.ends_with("nis2_final_report_due_at,nis2_final_report_sent_at,nis2_decision"),
        "{header}"
    );
    assert!(header.starts_with("ref,state,committee"), "{header}");
    assert!(csv.contains("MCF-2026-0099"), "{csv}");
    let json: serde_json::Value =
        serde_json::from_str(&s.cli(&["register", "export", "--format", "json"])).unwrap();
    let row = json
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["ref"] == r.as_str())
        .unwrap();
    assert_eq!(row["nis2_status"], "applies");
    assert_eq!(row["nis2_notification_ref"], "MCF-2026-0099");
    for k in [
        "nis2_early_warning_due_at",
        "nis2_early_warning_sent_at",
        "nis2_notification_sent_at",
        "nis2_progress_report_sent_at",
        "nis2_handled_at",
        "nis2_final_report_due_at",
    ] {
        assert!(row[k].is_string(), "{k}: {row}");
    }
    assert!(row["nis2_final_report_sent_at"].is_null(), "{row}");
    let out = s.cli(&["register", "verify"]);
    assert!(out.contains("register intact"), "{out}");

    // The digest: a line per open deadline, each naming its clock.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let text = std::fs::read_to_string(&s.config).unwrap();
        let cfg = breachwatch::config::Config::from_toml(&text, |_| None).unwrap();
        let store = breachwatch::store::Store::connect(&s.db_url).await.unwrap();
        let p = breachwatch::workers::ingest::Pipeline::new(std::sync::Arc::new(cfg), store);
        let now = Utc::now();
        assert!(
            breachwatch::workers::digest::send_digest(&p.store, &p.sender, &p.cfg, now, now)
                .await
                .unwrap()
        );
    });
    let digest = wait_for(30, "the DPO digest", || {
        s.mails("dpo", "")
            .into_iter()
            .find(|m| m.subject.contains("Sammanställning"))
    });
    let lines: Vec<&str> = digest.text.lines().filter(|l| l.starts_with(&r)).collect();
    assert!(
        lines.iter().any(|l| l.contains("(NIS2: slutrapport)")),
        "{}",
        digest.text
    );
    assert!(
        lines.iter().any(|l| l.contains("(anmälan till IMY)")),
        "{}",
        digest.text
    );
    assert!(
        !lines.iter().any(|l| l.contains("NIS2: tidig varning")),
        "the early warning is sent: {}",
        digest.text
    );
}
