//! Generated documents end to end: the opening notice to the official carries
//! the draft decision, the IMY form draft and the deadline .ics, byte for byte
//! what the case timeline's checksums say; a decision by reply mails its
//! draft the same way; `cases draft` and `cases imy-form` against the same
//! case; unknown references and broken templates.

use std::collections::BTreeMap;
use std::process::Command;

use chrono::Utc;
use mail_parser::MimeHeaders;
use sha2::{Digest, Sha256};

use crate::harness::*;

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// (file name → bytes) of every attachment of a delivered mail.
fn attachments(m: &Mail) -> BTreeMap<String, Vec<u8>> {
    let parsed = mail_parser::MessageParser::default()
        .parse(&m.raw)
        .expect("a parseable mail");
    parsed
        .attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or_default().to_string(),
                a.contents().to_vec(),
            )
        })
        .collect()
}

/// The `documents` list of every `documents_generated` event, as
/// (via, file name → sha256).
fn documents_events(case: &serde_json::Value) -> Vec<(String, BTreeMap<String, String>)> {
    case["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["kind"] == "documents_generated")
        .map(|e| {
            let docs = e["data"]["documents"]
                .as_array()
                .expect("documents list")
                .iter()
                .map(|d| {
                    (
                        d["file_name"].as_str().unwrap_or_default().to_string(),
                        d["sha256"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            (
                e["data"]["via"].as_str().unwrap_or_default().to_string(),
                docs,
            )
        })
        .collect()
}

/// The text of every `<w:t>` of the .docx main part.
fn docx_text(bytes: &[u8]) -> String {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("the .docx is a zip");
    let mut xml = String::new();
    z.by_name("word/document.xml")
        .expect("word/document.xml in the package")
        .read_to_string(&mut xml)
        .expect("utf-8 xml");
    // Words may be split over runs; joining the run texts is what Word shows.
    let mut text = String::new();
    let mut rest = xml.as_str();
    while let Some(i) = rest.find("<w:t") {
        rest = &rest[i..];
        let Some(open_end) = rest.find('>') else {
            break;
        };
        let Some(close) = rest.find("</w:t>") else {
            break;
        };
        if open_end < close && !rest[..open_end].ends_with('/') {
            text.push_str(&rest[open_end + 1..close]);
            text.push(' ');
        }
        rest = &rest[close + 6..];
    }
    text
}

fn run_cli(s: &Setup, args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .arg("--config")
        .arg(&s.config)
        .env_remove("BREACHWATCH_DATABASE_URL")
        .env_remove("BREACHWATCH_IMAP_CA_FILE")
        .output()
        .expect("run breachwatch")
}

#[test]
fn opening_notice_carries_the_drafts_and_cases_draft_and_imy_form_match_the_timeline() {
    let s = setup(Knobs::default());
    let d = s.start();
    s.forward(3, "Dataintrång hos Provdata");
    let opening = wait_for(30, "the opening notice to the official", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.subject.contains("Ny personuppgiftsincident"))
    });
    let case_ref = s.cases()[0]["ref"].as_str().expect("ref").to_string();
    assert!(opening.subject.contains(&case_ref), "{}", opening.subject);

    // The attachments: notify draft (.docx + .txt), IMY draft (.txt + .html),
    // deadline .ics.
    let att = attachments(&opening);
    let names: Vec<&String> = att.keys().collect();
    let find = |pred: &dyn Fn(&str) -> bool| -> (String, Vec<u8>) {
        att.iter()
            .find(|(n, _)| pred(n))
            .map(|(n, b)| (n.clone(), b.clone()))
            .unwrap_or_else(|| panic!("attachment missing among {names:?}"))
    };
    let (docx_name, docx) = find(&|n| n.starts_with("Beslut-anmalan-") && n.ends_with(".docx"));
    assert!(docx_name.contains(&case_ref), "{docx_name}");
    let (_, decision_txt) = find(&|n| n.starts_with("Beslut-anmalan-") && n.ends_with(".txt"));
    let (_, imy_txt) = find(&|n| n.starts_with("IMY-anmalan-") && n.ends_with(".txt"));
    find(&|n| n.starts_with("IMY-anmalan-") && n.ends_with(".html"));
    assert!(
        !att.keys().any(|n| n.ends_with(".json")),
        "the machine form stays out of the inbox: {names:?}"
    );
    let (_, ics) = find(&|n| n.ends_with(".ics"));
    let decision_txt = String::from_utf8(decision_txt).expect("utf-8 decision");
    assert!(decision_txt.contains("Kommunstyrelsen"), "{decision_txt}");
    assert!(String::from_utf8_lossy(&imy_txt).contains(&case_ref));
    let ics = String::from_utf8(ics).expect("utf-8 ics");
    assert!(
        ics.contains("BEGIN:VCALENDAR") && ics.contains("VEVENT"),
        "{ics}"
    );

    // The .docx is a Word package whose text has the decision and the committee.
    let text = docx_text(&docx);
    assert!(text.contains("Beslut"), "{text}");
    assert!(text.contains("Kommunstyrelsen"), "{text}");

    // Every attachment's SHA-256 is the one recorded on the case timeline.
    let case = s.case(&case_ref);
    let events = documents_events(&case);
    assert_eq!(
        events.len(),
        1,
        "one documents event at opening: {events:?}"
    );
    let (via, recorded) = &events[0];
    assert_eq!(via, "opening_notice");
    assert_eq!(
        recorded.keys().collect::<Vec<_>>(),
        att.keys().collect::<Vec<_>>(),
        "the same files"
    );
    for (name, bytes) in &att {
        assert_eq!(
            recorded.get(name),
            Some(&sha256(bytes)),
            "{name}: delivered bytes differ from the recorded checksum"
        );
    }

    // `cases draft`: the files match what it printed and what it recorded.
    let out_dir = s.dir.path().join("drafts");
    let out = s.cli(&[
        "cases",
        "draft",
        &case_ref,
        "--outcome",
        "no-notify",
        "--out",
        out_dir.to_str().expect("utf-8 path"),
    ]);
    let printed: Vec<(String, String)> = out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (sum, path) = l.split_once("  ").expect("SHA-256  PATH");
            (sum.to_string(), path.to_string())
        })
        .collect();
    assert!(
        printed
            .iter()
            .any(|(_, p)| p.ends_with(&format!("Beslut-ej-anmalan-{case_ref}.docx"))),
        "{out}"
    );
    assert!(
        !printed.iter().any(|(_, p)| p.contains("IMY-")),
        "no IMY form when not notifying: {out}"
    );
    for (sum, path) in &printed {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(&sha256(&bytes), sum, "{path}");
    }
    let docx = std::fs::read(out_dir.join(format!("Beslut-ej-anmalan-{case_ref}.docx")))
        .expect("no-notify docx");
    assert!(docx_text(&docx).contains("Kommunstyrelsen"));
    let events = documents_events(&s.case(&case_ref));
    assert_eq!(events.len(), 2, "cases draft adds one event: {events:?}");
    let (via, recorded) = &events[1];
    assert_eq!(via, "cli");
    assert_eq!(recorded.len(), printed.len());
    for (sum, path) in &printed {
        let name = std::path::Path::new(path)
            .file_name()
            .and_then(|n| n.to_str())
            .expect("file name");
        assert_eq!(recorded.get(name), Some(sum), "{name}");
    }

    // `cases imy-form --format json`: the whole form, 37 answers.
    let json = s.cli(&["cases", "imy-form", &case_ref, "--format", "json"]);
    let form: serde_json::Value = serde_json::from_str(&json).expect("IMY JSON parses");
    assert_eq!(form["case_ref"], case_ref.as_str());
    assert_eq!(form["committee"], "Kommunstyrelsen");
    assert_eq!(
        form["answers"].as_array().map(|a| a.len()),
        Some(37),
        "{json}"
    );
    let html = s.cli(&["cases", "imy-form", &case_ref, "--format", "html"]);
    assert!(
        html.contains("<html") || html.contains("<!DOCTYPE"),
        "{html}"
    );

    // `cases show` as text (the reference in any letter case): what the case
    // is about, the facts, the messages, and why the clock started three
    // hours before the forward.
    let show = s.cli(&["cases", "show", &case_ref.to_lowercase()]);
    for want in [
        "subject:      VB: Dataintrång hos Provdata",
        "organisation: Provdata Sverige AB",
        "systems         ProvWeb",
        "groups          patients",
        "cause           attack",
        "why aware:    the supplier's mail reached the municipality",
        "forwarded it",
        "(3 h 0 min later)",
        "messages (1):",
        "opened_case",
        "case_opened",
        "opening to ",
    ] {
        assert!(show.contains(want), "{want:?} not in:\n{show}");
    }
    d.terminate();
}

#[test]
fn a_decision_by_reply_mails_its_draft_documents_with_checksums_on_the_timeline() {
    let s = setup(Knobs::default());
    let d = s.start();
    s.forward(2, "Dataintrång hos Provdata");
    let opening = wait_for(30, "the opening notice", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.subject.contains("Ny personuppgiftsincident"))
    });
    let r = s.cases()[0]["ref"].as_str().expect("ref").to_string();
    let subj = format!("SV: {}", opening.subject);
    let n = s.events(&r).len();
    s.reply(
        "official",
        Some(&opening.message_id),
        &subj,
        "bedömning: ingen risk\n\nUppgifterna var krypterade och nyckeln röjdes inte.",
    );
    s.wait_event(&r, n, "assessed");
    let n = s.events(&r).len();
    s.reply(
        "official",
        Some(&opening.message_id),
        &subj,
        "beslut: ej anmäl",
    );
    s.wait_event(&r, n, "decided");
    let draft = wait_for(30, "the draft decision to the official", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.subject.contains("Utkast till beslut"))
    });
    let att = attachments(&draft);
    let stem = format!("Beslut-ej-anmalan-{r}");
    let txt = att
        .get(&format!("{stem}.txt"))
        .unwrap_or_else(|| panic!("no-notify decision text among {:?}", att.keys()));
    assert!(
        att.contains_key(&format!("{stem}.docx")),
        "{:?}",
        att.keys()
    );
    assert!(
        att.contains_key(&format!("Tidsfrist-{r}.ics")),
        "{:?}",
        att.keys()
    );
    assert!(
        !att.keys().any(|k| k.starts_with("IMY-")),
        "no IMY form when not notifying: {:?}",
        att.keys()
    );
    // The assessment of the reply just before is in the draft ("Skäl för beslut").
    let txt = String::from_utf8(txt.clone()).expect("utf-8");
    assert!(!txt.contains("[Riskbedömning"), "{txt}");
    assert!(txt.contains("osannolikt"), "{txt}");
    // The official's reasoning, written under the assessment command.
    assert!(txt.contains("nyckeln röjdes inte"), "{txt}");
    // The .ics cancels the deadline reminder (the clock stops on no-notify).
    let ics = String::from_utf8(att[&format!("Tidsfrist-{r}.ics")].clone()).expect("utf-8");
    assert!(ics.contains("CANCELLED"), "{ics}");
    // Byte for byte what the timeline recorded.
    let events = documents_events(&s.case(&r));
    let (via, recorded) = events.last().expect("a documents event");
    assert_eq!(via, "mail");
    assert_eq!(recorded.len(), att.len());
    for (name, bytes) in &att {
        assert_eq!(recorded.get(name), Some(&sha256(bytes)), "{name}");
    }
    d.terminate();
}

#[test]
fn unknown_case_refs_exit_2_with_a_clear_message() {
    let s = setup(Knobs::default());
    let out_dir = s.dir.path().join("never");
    for args in [
        vec![
            "cases",
            "draft",
            "PUI-1999-9999",
            "--outcome",
            "notify",
            "--out",
            out_dir.to_str().expect("utf-8 path"),
        ],
        vec!["cases", "imy-form", "PUI-1999-9999"],
    ] {
        let out = run_cli(&s, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no case PUI-1999-9999"), "{args:?}: {err}");
    }
    assert!(!out_dir.exists(), "nothing written for an unknown case");
}

#[test]
fn a_broken_template_directory_stops_check_config_and_run_naming_the_file() {
    let s = setup(Knobs::default());
    let dir = s.dir.path().join("templates");
    std::fs::create_dir(&dir).expect("mkdir");
    for f in [
        "decision.txt.j2",
        "imy.txt.j2",
        "imy.html.j2",
        "calendar.txt.j2",
    ] {
        std::fs::copy(repo().join("config/templates/sv").join(f), dir.join(f)).expect("copy");
    }
    std::fs::write(dir.join("decision.txt.j2"), "{% if %}\n").expect("break it");
    let cfg = std::fs::read_to_string(&s.config).expect("config");
    std::fs::write(
        &s.config,
        format!(
            "{cfg}\n[documents]\ntemplates_dir = {:?}\n",
            dir.display().to_string()
        ),
    )
    .expect("write config");
    let out = Command::new(bin())
        .args(["check-config"])
        .arg(&s.config)
        .output()
        .expect("check-config");
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("documents.templates_dir") && text.contains("decision.txt.j2"),
        "{text}"
    );
    let out = run_cli(&s, &["run"]);
    assert_eq!(out.status.code(), Some(2), "run refuses the same config");
    assert!(String::from_utf8_lossy(&out.stderr).contains("decision.txt.j2"));
}

#[tokio::test]
async fn a_rendering_failure_never_holds_back_the_opening_notice() {
    use std::sync::Arc;

    use breachwatch::config::Config;
    use breachwatch::render::Templates;
    use breachwatch::store::Store;
    use breachwatch::workers::ingest::{Handled, Pipeline};

    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}/f.db", dir.path().display());
    let text = std::fs::read_to_string(repo().join("config/local.toml")).expect("local.toml");
    let cfg = Config::from_toml(&text, |k| match k {
        "BREACHWATCH_DATABASE_URL" => Some(db.clone()),
        "BREACHWATCH_IMAP_CA_FILE" => Some(repo().join("Cargo.toml").display().to_string()),
        _ => None,
    })
    .expect("config");
    let store = Store::connect(&db).await.expect("store");
    let mut p = Pipeline::new(Arc::new(cfg), store.clone());
    // As if the template files had gone since the configuration was checked.
    p.templates = Arc::new(Templates::unavailable());
    let raw = "From: Staff <staff@example.test>\r\nTo: breach@example.test\r\n\
Subject: VB: Dataintrång hos Provdata\r\nDate: Mon, 21 Jun 2021 07:09:14 +0200\r\n\
Message-ID: <f1@x>\r\n\r\nProvdata har haft ett dataintrång i ProvWeb.\r\n"
        .as_bytes();
    let h = p
        .handle(raw, None, None, Utc::now())
        .await
        .expect("handled");
    let Handled::Opened(r) = h else {
        panic!("expected a case, got {h:?}")
    };
    let c = store.case_summary(&r).await.expect("case");
    let mails = store.case_outbox(c.id).await.expect("outbox");
    assert!(
        mails.iter().any(|m| m.purpose == "opening"),
        "the opening notice is queued: {mails:?}"
    );
    let kinds: Vec<String> = store
        .case_events(c.id)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.kind.to_string())
        .collect();
    assert!(kinds.contains(&"documents_failed".to_string()), "{kinds:?}");
    assert!(
        !kinds.contains(&"documents_generated".to_string()),
        "{kinds:?}"
    );
    store.close().await;
}

#[test]
fn a_diarienummer_set_by_reply_is_on_the_timeline_in_later_documents_and_subjects() {
    let s = setup(Knobs::default());
    let _d = s.start();
    s.forward(2, "Dataintrång hos Provdata");
    let opening = wait_for(30, "the opening notice", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.subject.contains("Ny personuppgiftsincident"))
    });
    let r = s.cases()[0]["ref"].as_str().expect("ref").to_string();
    // Before registration the opening draft has the committee's series, the number blank.
    let year = Utc::now().format("%Y").to_string();
    let att = attachments(&opening);
    let before = att
        .iter()
        .find(|(n, _)| n.starts_with("Beslut-anmalan-") && n.ends_with(".txt"))
        .map(|(_, b)| String::from_utf8(b.clone()).expect("utf-8"))
        .expect("opening decision draft");
    assert!(
        before.contains(&format!("Diarienummer: KS {year}/____")),
        "{before}"
    );
    // The notice came in two hours before staff forwarded it: Bakgrund says so.
    assert!(
        before.contains("vidarebefordrade")
            && before.contains("Tidsfristen på 72 timmar räknas från"),
        "{before}"
    );

    // The registry's number, by reply in Swedish (lower case, no space: normalised).
    let ev = s.command(&r, &opening, "diarienummer: ks2026/0123", "diarienummer");
    assert_eq!(ev["data"]["diarienummer"], "KS 2026/0123", "{ev}");
    let done = wait_for(30, "the confirmation", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.subject.contains("Utfört"))
    });
    assert!(
        done.subject.contains("Dnr KS 2026/0123"),
        "{}",
        done.subject
    );
    assert!(done.text.contains("KS 2026/0123"), "{}", done.text);

    // Corrected in English: the later number wins, the first stays on the timeline.
    let ev = s.command(&r, &opening, "registry: KS 2026/0124", "diarienummer");
    assert_eq!(ev["data"]["previous"], "KS 2026/0123", "{ev}");

    s.command(&r, &opening, "bedömning: risk", "assessed");
    s.command(&r, &opening, "beslut: anmäl", "decided");
    let draft = wait_for(30, "the draft decision", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.subject.contains("Utkast till beslut"))
    });
    assert!(
        draft.subject.contains("Dnr KS 2026/0124"),
        "{}",
        draft.subject
    );
    let att = attachments(&draft);
    let txt = att
        .get(&format!("Beslut-anmalan-{r}.txt"))
        .map(|b| String::from_utf8(b.clone()).expect("utf-8"))
        .unwrap_or_else(|| panic!("draft text among {:?}", att.keys()));
    assert!(txt.contains("Diarienummer: KS 2026/0124\n"), "{txt}");
    let imy = att
        .get(&format!("IMY-anmalan-{r}.txt"))
        .map(|b| String::from_utf8(b.clone()).expect("utf-8"))
        .unwrap_or_else(|| panic!("IMY draft among {:?}", att.keys()));
    assert!(imy.contains(&format!("KS 2026/0124 ({r})")), "{imy}");
    let docx = att
        .get(&format!("Beslut-anmalan-{r}.docx"))
        .unwrap_or_else(|| panic!("docx among {:?}", att.keys()));
    // The .docx carries it in the page header, as the seeds do.
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(docx.clone())).expect("zip");
    let mut headers = String::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).expect("entry");
        if f.name().starts_with("word/header") {
            std::io::Read::read_to_string(&mut f, &mut headers).expect("utf-8 xml");
        }
    }
    assert!(headers.contains("KS 2026/0124"), "{headers}");
    // A number that is not one is answered with the form it takes; nothing changes.
    let n = s.events(&r).len();
    s.reply(
        "official",
        Some(&opening.message_id),
        &format!("SV: {}", opening.subject),
        "diarienummer: snart",
    );
    s.wait_event(&r, n, "command_invalid");
    let c = s.case(&r);
    assert!(c.to_string().contains("KS 2026/0124"), "{c}");
}
