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
