//! Officials run a case by replying, through real mail: the full story to
//! `reported`, an illegal step answered with its reason, a forged command
//! refused silently, a late report refused until a delay reason is given, the
//! local-submission switch off, and the register that exports and verifies.

use chrono::Utc;

use crate::harness::*;

fn open_case(s: &Setup, hours_ago: i64) -> (String, Mail) {
    s.forward(hours_ago, "Dataintrång hos Provdata");
    let opening = wait_for(20, "opening notice", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.subject.contains("Ny personuppgiftsincident"))
    });
    let r = s.cases()[0]["ref"].as_str().unwrap().to_string();
    (r, opening)
}

fn answers(s: &Setup, role: &str, prefix: &str) -> Vec<Mail> {
    s.mails(role, "")
        .into_iter()
        .filter(|m| m.subject.contains(prefix))
        .collect()
}

fn state(s: &Setup, r: &str) -> String {
    s.case(r)["state"].as_str().unwrap_or_default().to_string()
}

#[test]
fn a_case_goes_from_notice_to_reported_by_replies_and_the_register_holds() {
    let s = setup(Knobs::default());
    let _d = s.start();
    let (r, opening) = open_case(&s, 2);

    s.command(&r, &opening, "Kvittera\n\nJag tar ärendet.", "acknowledged");
    assert_eq!(state(&s, &r), "acknowledged");
    wait_for(20, "confirmation", || {
        (answers(&s, "official", "Utfört").len() == 1).then_some(())
    });

    s.command(&r, &opening, "bedömning: risk", "assessed");

    // Reported before any decision: refused, answered with the reason, unchanged.
    s.command(&r, &opening, "anmält DI-2026-1234", "command_refused");
    let refusal = wait_for(20, "refusal answer", || {
        answers(&s, "official", "Kunde inte utföras")
            .into_iter()
            .next()
    });
    assert!(
        refusal.text.to_lowercase().contains("beslut"),
        "reason given: {}",
        refusal.text
    );
    assert_eq!(state(&s, &r), "assessed");

    s.command(&r, &opening, "beslut: anmäl", "decided");
    wait_for(20, "draft decision to the official", || {
        answers(&s, "official", "Utkast till beslut")
            .into_iter()
            .next()
    });
    assert!(
        s.case(&r)["next_reminder_at"].is_string(),
        "reminders still run until reported"
    );

    // A forged command: staff is not on the roster. Nothing changes, nothing is answered.
    let staff_before = s.mails("staff", "").len();
    let n = s.events(&r).len();
    s.reply("staff", None, &format!("Re: [{r}]"), "stäng");
    let ev = s.wait_event(&r, n, "command_unauthorised");
    assert!(ev["data"]["why"].as_str().unwrap_or_default().len() > 3);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(
        s.mails("staff", "").len(),
        staff_before,
        "a forger gets no answer"
    );
    assert_eq!(state(&s, &r), "decided");

    s.command(&r, &opening, "anmält DI-2026-1234", "reported");
    let c = s.case(&r);
    assert_eq!(c["state"], "reported");
    assert!(
        c["next_reminder_at"].is_null(),
        "reported stops the deadline reminders: {c}"
    );

    // The register exports every case with its decision, and verifies.
    let reg: Vec<serde_json::Value> =
        serde_json::from_str(&s.cli(&["register", "export", "--format", "json"])).unwrap();
    assert_eq!(reg.len(), 1);
    assert_eq!(reg[0]["decision"], "notify");
    assert_eq!(reg[0]["imy_ref"], "DI-2026-1234");
    assert_eq!(reg[0]["assessment"], "risk");
    let csv = s.cli(&["register", "export", "--format", "csv"]);
    assert!(
        csv.lines().count() == 2 && csv.contains("DI-2026-1234"),
        "{csv}"
    );
    assert!(s.cli(&["register", "verify"]).contains("register intact"));

    // Someone edits a stored timeline row: verify names the first broken link.
    let db = s.db_url.trim_start_matches("sqlite://").to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{db}"))
            .await
            .unwrap();
        sqlx::query("UPDATE events SET actor = 'someone-else@example.test' WHERE seq = 3")
            .execute(&mut c)
            .await
            .unwrap();
    });
    let out = std::process::Command::new(bin())
        .args(["register", "verify", "--config"])
        .arg(&s.config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&r) && text.contains("seq 3"), "{text}");
}

#[test]
fn a_late_report_needs_a_delay_reason_first() {
    let s = setup(Knobs::default());
    let _d = s.start();
    let (r, opening) = open_case(&s, 80);
    for (cmd, kind) in [
        ("kvittera", "acknowledged"),
        ("bedömning: hög risk", "assessed"),
        ("beslut: anmäl och informera", "decided"),
    ] {
        s.command(&r, &opening, cmd, kind);
    }
    s.command(&r, &opening, "anmält DI-2026-777", "command_refused");
    let refusal = wait_for(20, "refusal", || {
        answers(&s, "official", "Kunde inte utföras")
            .into_iter()
            .next()
    });
    assert!(
        refusal.text.to_lowercase().contains("försening"),
        "{}",
        refusal.text
    );
    assert_eq!(state(&s, &r), "decided");

    s.command(
        &r,
        &opening,
        "försening: leverantörens meddelande lästes först på måndagen",
        "delay_reason",
    );
    s.command(&r, &opening, "anmält DI-2026-777", "reported");
    let reg: Vec<serde_json::Value> =
        serde_json::from_str(&s.cli(&["register", "export"])).unwrap();
    assert!(reg[0]["delay_reason"]
        .as_str()
        .unwrap()
        .contains("måndagen"));
    // The IMY draft carries the reason as answer 14.
    let form: serde_json::Value =
        serde_json::from_str(&s.cli(&["cases", "imy-form", &r, "--format", "json"])).unwrap();
    let q14 = form["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["no"] == 14)
        .cloned()
        .expect("question 14");
    assert!(q14.to_string().contains("måndagen"), "{q14}");
}

#[test]
fn without_trusted_authentication_a_roster_member_cannot_command() {
    let s = setup(Knobs {
        trust_local: false,
        ..Knobs::default()
    });
    let _d = s.start();
    let (r, opening) = open_case(&s, 2);
    let n = s.events(&r).len();
    s.reply(
        "official",
        Some(&opening.message_id),
        &format!("SV: {}", opening.subject),
        "kvittera",
    );
    let ev = s.wait_event(&r, n, "command_unauthorised");
    assert!(ev["data"]["why"].is_string());
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(state(&s, &r), "received");
    assert!(
        answers(&s, "official", "Utfört").is_empty()
            && answers(&s, "official", "Kunde inte").is_empty()
    );
}

#[test]
fn a_supplier_status_update_joins_the_open_case_without_thread_headers() {
    let s = setup(Knobs::default());
    let _d = s.start();
    let (r, _) = open_case(&s, 3);
    let n = s.events(&r).len();
    let update = format!(
        "From: Provdata Kundservice <noreply@provdata.example>\r\nTo: {b}\r\n\
Subject: Uppdatering om incidenten i ProvWeb\r\nDate: {d}\r\nMessage-ID: <upd-{x}@provdata.example>\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
Uppdatering: vi har nu stängt angriparens åtkomst till ProvWeb. Utredningen fortsätter.\r\n\r\n\
Provdata Sverige AB\r\n",
        b = s.users.addr("breach"),
        d = Utc::now().to_rfc2822(),
        x = rand::random::<u32>(),
    );
    s.send("noreply@provdata.example", update.as_bytes());
    let ev = s.wait_event(&r, n, "message_attached");
    assert_eq!(ev["data"]["link"], "series", "{ev}");
    assert_eq!(s.cases().len(), 1, "no second case for the status update");
    // The supplier is never mailed; the official hears of the update.
    wait_for(20, "follow-up notice", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.subject.contains("Ny information"))
    });
}

/// Issue 13: the machine opened two cases for one incident (the forwards name
/// different systems); the official merges the second into the first by
/// replying `sammanfoga <first>` to the second's opening notice.
#[test]
fn two_cases_of_one_incident_are_merged_by_reply() {
    let s = setup(Knobs::default());
    let _d = s.start();
    let now = Utc::now();
    let wait_handled = |n: usize| {
        wait_for(30, &format!("{n} messages handled"), || {
            (s.mails("breach", "Processed").len() >= n).then_some(())
        })
    };
    // The first case's notice was seen 2 hours ago, the second's 20 hours
    // ago: the merged case must count from the earlier one.
    s.send(
        "staff",
        &outlook_forward_from(
            &s,
            now - chrono::Duration::hours(2),
            "Intrång i ProvWeb",
            now,
            "provdata.example",
            "ProvWeb",
        ),
    );
    wait_handled(1);
    s.send(
        "staff",
        &outlook_forward_from(
            &s,
            now - chrono::Duration::hours(20),
            "Intrång i eRemiss",
            now,
            "provdata.example",
            "eRemiss",
        ),
    );
    wait_handled(2);
    let mut refs: Vec<String> = s
        .cases()
        .iter()
        .map(|c| c["ref"].as_str().unwrap().to_string())
        .collect();
    refs.sort();
    assert_eq!(refs.len(), 2, "two cases opened: {refs:?}");
    let (target, source) = (refs[0].clone(), refs[1].clone());
    let opening = wait_for(20, "the second case's opening notice", || {
        s.mails("official", "").into_iter().find(|m| {
            m.subject.contains("Ny personuppgiftsincident") && m.subject.contains(&source)
        })
    });
    let source_aware = s.case(&source)["aware_at"].clone();
    assert_ne!(s.case(&target)["aware_at"], source_aware);

    // Refusals first: the case itself, and a case that does not exist. Both
    // are answered with the reason and change nothing.
    let ev = s.command(
        &source,
        &opening,
        &format!("sammanfoga {source}"),
        "command_refused",
    );
    assert!(ev["data"]["reason"].as_str().unwrap().contains("itself"));
    let ev = s.command(&source, &opening, "merge PUI-1999-0999", "command_refused");
    assert!(ev["data"]["reason"].as_str().unwrap().contains("no case"));
    assert_eq!(state(&s, &source), "received");
    wait_for(20, "two refusal answers", || {
        let n = answers(&s, "official", "Kunde inte utföras").len()
            + answers(&s, "official", "Not done").len();
        (n == 2).then_some(())
    });

    // The merge: lower case and without zero padding, as people write.
    let seq: u32 = target.rsplit('-').next().unwrap().parse().unwrap();
    let year = &target[target.len() - 9..target.len() - 5];
    let written = format!("pui-{year}-{seq}");
    let ev = s.command(
        &source,
        &opening,
        &format!("Sammanfoga {written}\nSamma intrång, leverantören bekräftar."),
        "merged_into",
    );
    assert_eq!(ev["data"]["target"], serde_json::json!(target));
    assert_eq!(ev["data"]["aware_at_moved"], serde_json::json!(true));
    assert_eq!(state(&s, &source), "closed");
    assert!(s.case(&source)["next_reminder_at"].is_null());

    let t = s.case(&target);
    assert_eq!(t["state"], "received");
    assert_eq!(t["aware_at"], source_aware, "the earlier awareness wins");
    let subjects: Vec<String> = t["message_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["subject"].as_str().unwrap_or_default().to_string())
        .collect();
    for want in ["Intrång i ProvWeb", "Intrång i eRemiss"] {
        assert!(
            subjects.iter().any(|s| s.contains(want)),
            "{want}: {subjects:?}"
        );
    }
    let merged = s.wait_event(&target, 0, "merged_from");
    assert_eq!(merged["data"]["from"], serde_json::json!(source));
    s.wait_event(&target, 0, "aware_at_moved");

    let confirm = wait_for(20, "confirmation", || {
        answers(&s, "official", "Utfört").into_iter().next()
    });
    assert!(confirm.text.contains(&target), "{}", confirm.text);
    assert!(confirm.text.contains("tidigare"), "{}", confirm.text);
    wait_for(20, "the roster is told", || {
        s.mails("deputy", "")
            .into_iter()
            .find(|m| m.text.contains("sammanfogat"))
    });
    assert!(s.cli(&["register", "verify"]).contains("register intact"));

    // Now closed, the source refuses a second merge.
    s.command(
        &source,
        &opening,
        &format!("sammanfoga {target}"),
        "command_refused",
    );
}
