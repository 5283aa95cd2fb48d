//! Hostile mail, as an attacker would send it: each test is one finding of the
//! review (crafted messages fed through `breachwatch ingest`, or through the
//! real mail stack to the daemon) and fails on the code before its fix.

use chrono::{Duration, Utc};

use crate::harness::{outlook_forward, outlook_forward_from, setup, wait_for, Knobs, Setup};

/// `auth.trust_local_submission` off, `trusted_authserv_ids =
/// ["mail.example.test"]`: a hardened site's configuration.
fn hardened() -> Setup {
    setup(Knobs {
        trust_local: false,
        ..Knobs::default()
    })
}

/// Feeds one message to `breachwatch ingest`; returns its result line.
fn ingest(s: &Setup, name: &str, raw: &[u8]) -> String {
    let path = s.dir.path().join(name);
    std::fs::write(&path, raw).expect("write eml");
    s.cli(&["ingest", path.to_str().expect("utf-8 path")])
}

/// Opens a case from a staff member's forward; returns its reference.
fn open_case(s: &Setup) -> String {
    let now = Utc::now();
    let raw = outlook_forward(s, now - Duration::hours(3), "Intrång i LabPortalen", now);
    let out = ingest(s, "notice.eml", &raw);
    assert!(out.contains("Opened"), "{out}");
    s.cases()[0]["ref"].as_str().expect("case ref").to_string()
}

/// A command mail from `from` about `case_ref` with the given header block
/// above From (trace headers, top first).
fn command_mail(s: &Setup, case_ref: &str, trace: &str, from: &str, command: &str) -> Vec<u8> {
    format!(
        "{trace}From: {from}\r\nTo: {breach}\r\nSubject: SV: [{case_ref}] Ny personuppgiftsincident\r\n\
Date: {date}\r\nMessage-ID: <cmd-{n}@example.test>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n{command}\r\nInget att anmäla.\r\n",
        breach = s.users.addr("breach"),
        date = Utc::now().to_rfc2822(),
        n = rand::random::<u64>(),
    )
    .into_bytes()
}

fn kinds(s: &Setup, case_ref: &str) -> Vec<String> {
    s.events(case_ref)
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Finding 1 (HIGH): a forged Authentication-Results header below the
/// receiving server's own (which says dmarc=fail), with a quoted authserv-id
/// that has whitespace, or the only one and below the receiving server's
/// Received line: neither commands the case.
#[test]
fn forged_authentication_results_never_command_a_case() {
    let s = hardened();
    let case_ref = open_case(&s);
    let official = s.users.addr("official");
    let received = "Received: from mx.evil.example (mx.evil.example [203.0.113.9])\r\n\tby mail.example.test (Postfix) with ESMTPS id 4F1; Mon, 30 Nov 2026 10:00:00 +0000\r\n";
    let ours = "Authentication-Results: mail.example.test; spf=fail smtp.mailfrom=evil.example; dmarc=fail header.from=example.test\r\n";
    let forged_ids = [
        "\" mail.example.test\"",
        "\"mail.example.test\t\"",
        "\"mail.example.test\\ \"",
    ];
    for (i, id) in forged_ids.iter().enumerate() {
        let trace = format!(
            "{ours}{received}Authentication-Results: {id}; dkim=pass header.d=example.test; dmarc=pass header.from=example.test\r\n"
        );
        let raw = command_mail(&s, &case_ref, &trace, &official, "beslut: ej anmäl");
        ingest(&s, &format!("forged-{i}.eml"), &raw);
    }
    // The only trusted-looking header sits below the receiving server's line.
    let trace = format!(
        "{received}Authentication-Results: mail.example.test; dmarc=pass header.from=example.test\r\n"
    );
    let raw = command_mail(&s, &case_ref, &trace, &official, "beslut: ej anmäl");
    ingest(&s, "below-received.eml", &raw);

    let case = s.case(&case_ref);
    assert_eq!(case["state"], "received", "a forged command moved the case");
    let k = kinds(&s, &case_ref);
    assert_eq!(
        k.iter().filter(|k| *k == "command_unauthorised").count(),
        4,
        "{k:?}"
    );
    assert!(!k.iter().any(|k| k == "decided"), "{k:?}");
    // Nothing answers a forger, and no draft went out.
    let purposes: Vec<String> = case["mails"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| m["purpose"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        !purposes.iter().any(|p| p == "draft" || p == "answer"),
        "{purposes:?}"
    );

    // The real thing still works: the receiving server's own header on top.
    let trace = format!(
        "Authentication-Results: mail.example.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test\r\n{received}"
    );
    let raw = command_mail(&s, &case_ref, &trace, &official, "kvittera");
    ingest(&s, "genuine.eml", &raw);
    assert_eq!(s.case(&case_ref)["state"], "acknowledged");
}

/// Finding 7 (LOW): dmarc=pass without header.from, two From fields, a From
/// with two addresses: refused.
#[test]
fn a_command_needs_exactly_one_from_named_by_dmarc() {
    let s = hardened();
    let case_ref = open_case(&s);
    let official = s.users.addr("official");
    let top = |props: &str| {
        format!("Authentication-Results: mail.example.test; dkim=none; dmarc=pass{props}\r\n")
    };
    ingest(
        &s,
        "no-header-from.eml",
        &command_mail(&s, &case_ref, &top(""), &official, "kvittera"),
    );
    let two_froms = format!(
        "{}From: Mallory <mallory@evil.example>\r\n",
        top(" header.from=example.test")
    );
    ingest(
        &s,
        "two-froms.eml",
        &command_mail(&s, &case_ref, &two_froms, &official, "kvittera"),
    );
    ingest(
        &s,
        "two-addresses.eml",
        &command_mail(
            &s,
            &case_ref,
            &top(" header.from=example.test"),
            &format!("{official}, mallory@evil.example"),
            "kvittera",
        ),
    );
    assert_eq!(s.case(&case_ref)["state"], "received");
    let k = kinds(&s, &case_ref);
    assert_eq!(
        k.iter().filter(|k| *k == "command_unauthorised").count(),
        3,
        "{k:?}"
    );
}

/// Finding 8 (LOW): with local submission trusted, a remote client whose HELO
/// is `[127.0.0.1]` is still remote: the address comes from the TCP-info.
#[test]
fn a_helo_of_127_0_0_1_is_not_local_submission() {
    let s = setup(Knobs::default()); // trust_local_submission = true
    let case_ref = open_case(&s);
    let official = s.users.addr("official");
    let forged = "Received: from [127.0.0.1] (mx.evil.example [203.0.113.9])\r\n\tby mail.example.test (Postfix) with ESMTP id 77; Mon, 30 Nov 2026 10:00:00 +0000\r\n";
    ingest(
        &s,
        "helo.eml",
        &command_mail(&s, &case_ref, forged, &official, "kvittera"),
    );
    assert_eq!(s.case(&case_ref)["state"], "received");
    let genuine = "Received: from vm (localhost [127.0.0.1])\r\n\tby mail.example.test (Postfix) with ESMTP id 78; Mon, 30 Nov 2026 10:00:00 +0000\r\n";
    ingest(
        &s,
        "local.eml",
        &command_mail(&s, &case_ref, genuine, &official, "kvittera"),
    );
    assert_eq!(s.case(&case_ref)["state"], "acknowledged");
}

/// A forwarded notice from an internal-looking sender address.
fn forward_from(s: &Setup, from: &str, system: &str) -> Vec<u8> {
    let now = Utc::now();
    // A supplier of its own per notice: this test is about addresses, not
    // about which case a notice joins.
    let raw = outlook_forward_from(
        s,
        now - Duration::hours(2),
        &format!("Intrång i {system}"),
        now,
        &format!("{}.example", system.to_lowercase()),
        system,
    );
    let text = String::from_utf8(raw).expect("utf-8");
    text.replacen(
        &format!("From: Sam Staff <{}>", s.users.addr("staff")),
        &format!("From: {from}"),
        1,
    )
    .into_bytes()
}

/// Findings 2 (HIGH) and 3 (MEDIUM): senders whose address the SMTP library
/// refuses, or that a relay would forward outside (`%`, `!`), open their
/// case with the refusal recorded, nobody at those addresses is mailed, and
/// the daemon goes on to the next message.
#[test]
fn an_address_that_cannot_be_mailed_never_stops_intake() {
    let s = hardened();
    let hostile = [
        format!("{}@example.test", "x".repeat(65)),
        "\"x@evil\"@example.test".to_string(),
        "a@b@example.test".to_string(),
        "victim%external.example@example.test".to_string(),
        "external.example!victim@example.test".to_string(),
    ];
    for (i, from) in hostile.iter().enumerate() {
        s.send("staff", &forward_from(&s, from, &format!("System{i}")));
    }
    // An ordinary forward behind them.
    s.send(
        "staff",
        &forward_from(&s, &s.users.addr("staff"), "LabPortalen"),
    );
    let daemon = s.start();
    let cases = wait_for(40, "six cases", || {
        let c = s.cases();
        (c.len() == hostile.len() + 1).then_some(c)
    });
    wait_for(20, "the INBOX emptied", || {
        s.mails("breach", "").is_empty().then_some(())
    });
    // The ordinary forward was acknowledged to its sender.
    wait_for(20, "the acknowledgement to staff", || {
        s.mails("staff", "")
            .into_iter()
            .find(|m| m.subject.contains("Mottaget"))
    });
    for c in &cases {
        let r = c["ref"].as_str().unwrap_or_default();
        let case = s.case(r);
        for m in case["mails"].as_array().into_iter().flatten() {
            for to in m["recipients"].as_array().into_iter().flatten() {
                let to = to.as_str().unwrap_or_default();
                assert!(
                    !to.contains('%') && !to.contains('!') && !to.contains('"'),
                    "{r}: mailed {to}"
                );
                assert!(to.split('@').count() == 2, "{r}: mailed {to}");
            }
        }
    }
    let refused = cases
        .iter()
        .filter(|c| {
            kinds(&s, c["ref"].as_str().unwrap_or_default())
                .iter()
                .any(|k| k == "recipient_refused")
        })
        .count();
    assert_eq!(refused, hostile.len());
    // The refusal names the address as written: the quoted local part is kept,
    // never cut to "@example.test".
    let recorded: Vec<String> = cases
        .iter()
        .flat_map(|c| s.events(c["ref"].as_str().unwrap_or_default()))
        .filter(|e| e["kind"] == "recipient_refused")
        .map(|e| {
            e["data"]["address"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(recorded.iter().all(|a| !a.starts_with('@')), "{recorded:?}");
    assert!(
        recorded.iter().any(|a| a == "\"x@evil\"@example.test"),
        "{recorded:?}"
    );
    daemon.terminate();
}

/// Finding 12 (LOW): a forwarded `Date: 1 januari 0001` does not set the
/// clock: the case opens on the delivery time, and the timeline says why.
#[test]
fn a_forward_from_year_one_does_not_set_the_clock() {
    let s = hardened();
    let now = Utc::now();
    let raw = outlook_forward(&s, now - Duration::hours(2), "Intrång i LabPortalen", now);
    let text = String::from_utf8(raw).expect("utf-8");
    let start = text.find("Skickat: ").expect("Skickat line");
    let end = start + text[start..].find("\r\n").expect("line end");
    let forged = format!(
        "{}Skickat: den 1 januari 0001 00:00{}",
        &text[..start],
        &text[end..]
    );
    let out = ingest(&s, "year-one.eml", forged.as_bytes());
    assert!(out.contains("Opened"), "{out}");
    let case = s.cases()[0].clone();
    let aware: chrono::DateTime<Utc> = case["aware_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .expect("aware_at");
    assert!(
        (aware - now).num_seconds().abs() < 120,
        "aware_at {aware} is not the delivery time {now}"
    );
    let r = case["ref"].as_str().unwrap_or_default();
    let opened = s
        .events(r)
        .into_iter()
        .find(|e| e["kind"] == "case_opened")
        .expect("case_opened");
    let ignored = opened["data"]["ignored_chain_times"].to_string();
    assert!(
        ignored.contains("implausible") || ignored.contains("too_old"),
        "{opened}"
    );
}
