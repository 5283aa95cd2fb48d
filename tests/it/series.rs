//! A new incident never disappears into another case: the ingest pipeline on
//! real SQLite and PostgreSQL (a generated mix of 200 supplier mails, copies of
//! one notice, the lookup's query plan), and the daemon through real mail
//! (a supplement and a final report without thread headers, a status series,
//! two forwards of one notice, two incidents of one supplier, the generated
//! mix put into the INBOX and drained by `breachwatch run`, a message split
//! out of its case by a `dela` reply).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};

use breachwatch::config::Config;
use breachwatch::store::Store;
use breachwatch::workers::ingest::{Handled, Pipeline};

use crate::harness::*;

fn config(db_url: &str) -> Config {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/local.toml")).unwrap();
    Config::from_toml(&text, |k| match k {
        "BREACHWATCH_DATABASE_URL" => Some(db_url.to_string()),
        "BREACHWATCH_IMAP_CA_FILE" => {
            Some(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml").to_string())
        }
        _ => None,
    })
    .unwrap()
}

async fn pipeline(db_url: &str) -> Pipeline {
    let store = Store::connect(db_url).await.expect("connect + migrate");
    Pipeline::new(Arc::new(config(db_url)), store)
}

// ------------------------------------------------------------ the generated mix

/// One supplier of the generated mix.
struct Supplier {
    company: String,
    domain: String,
    person: String,
    systems: Vec<String>,
}

/// Company names that end like system names do ("…appen", "…portalen",
/// "…systemet", "…tjänsten"), each with a legal form: the trap of issue 13.
fn suppliers(rng: &mut rand::rngs::StdRng) -> Vec<Supplier> {
    let roots = [
        "Parkeringsappen",
        "Skolportalen",
        "Vårdsystemet",
        "Lönetjänsten",
        "Bokningsappen",
        "Elevkollen",
        "Omsorgsdata",
        "Ekonomiplattformen",
        "Kundportalen",
        "Larmtjänsten",
        "Hemtjänstappen",
        "Bibliotekssystemet",
        "Fakturaportalen",
        "Schemaverktyget",
        "Journaldata",
        "Tidrapporten",
        "Färdtjänstappen",
        "Avgiftssystemet",
        "Närvaroappen",
        "Rekryteringsportalen",
        "Signeringstjänsten",
        "Arkivsystemet",
        "Ärendeportalen",
        "Mätdata",
        "Trygghetsappen",
        "Kulturportalen",
        "Fritidsappen",
        "Nordlarm",
        "Kommunsoft",
        "Datavärden",
    ];
    let forms = [
        "AB",
        "Aktiebolag",
        "Oy",
        "AS",
        "ApS",
        "GmbH",
        "Ltd",
        "Inc.",
        "LLC",
        "B.V.",
        "S.A.",
        "Sverige AB",
    ];
    let parts = [
        "Admin", "Betal", "Karta", "Web", "Mobil", "Rapport", "Kassa", "Schema",
    ];
    let people = [
        "Anna Berg",
        "Erik Lund",
        "Sara Holm",
        "Jonas Ek",
        "Maria Sjö",
        "Ali Khan",
    ];
    roots
        .iter()
        .enumerate()
        .map(|(i, root)| {
            let ascii: String = root
                .chars()
                .map(|c| match c {
                    'å' | 'ä' | 'Å' | 'Ä' => 'a',
                    'ö' | 'Ö' => 'o',
                    c => c.to_ascii_lowercase(),
                })
                .collect();
            let stem: String = ascii.chars().take(4).collect();
            let stem = format!("{}{}", stem[..1].to_uppercase(), &stem[1..]);
            let mut systems: Vec<String> = Vec::new();
            while systems.len() < 3 {
                let s = format!("{stem}{}", parts[rng.random_range(0..parts.len())]);
                if !systems.contains(&s) {
                    systems.push(s);
                }
            }
            Supplier {
                company: format!("{root} {}", forms[i % forms.len()]),
                domain: format!("{ascii}.example"),
                person: people[i % people.len()].to_string(),
                systems,
            }
        })
        .collect()
}

fn sv_month_day(t: DateTime<Utc>) -> String {
    let l = t.with_timezone(&chrono_tz::Europe::Stockholm);
    format!(
        "den {} kl. {}",
        breachwatch::core::documents::words::date_long(l.date_naive()),
        l.format("%H:%M")
    )
}

/// A supplier's notice about `system`, discovered at `found`, sent at `sent`.
/// With `caused_by_update` its subject (every other one: its first line)
/// names the software update that caused it, as a new notice may: such a
/// notice read as a follow-up and joined the supplier's open case of the
/// same system.
fn notice_mail(
    s: &Supplier,
    system: &str,
    found: DateTime<Utc>,
    sent: DateTime<Utc>,
    id: &str,
    english: bool,
    caused_by_update: Option<bool>,
) -> String {
    let (subject, greeting) = match (english, caused_by_update) {
        (true, Some(true)) => (
            format!("Security incident after the update on {system}"),
            "Dear customer,".to_string(),
        ),
        (true, Some(false)) => (
            "Security incident".to_string(),
            format!("Update of {system} caused unauthorised access."),
        ),
        (false, Some(true)) => (
            format!("Personuppgiftsincident vid uppdatering av {system}"),
            "Hej,".to_string(),
        ),
        (false, Some(false)) => (
            "Personuppgiftsincident".to_string(),
            format!("Uppdatering av {system} ledde till obehörig åtkomst."),
        ),
        (true, None) => (
            format!("Security incident affecting {system}"),
            "Dear customer,".to_string(),
        ),
        (false, None) => (
            format!("Personuppgiftsincident i {system}"),
            "Hej,".to_string(),
        ),
    };
    let body = if english {
        format!(
            "{greeting}\r\n\r\nWe discovered unauthorised access to the {system} platform on {}. \
Names and email addresses of your users may have been exposed.\r\n\r\n\
We will report back when we know more.\r\n\r\nBest regards\r\n{}\r\n{}\r\n",
            found
                .with_timezone(&chrono_tz::Europe::Stockholm)
                .format("%-d %B %Y at %H:%M"),
            s.person,
            s.company
        )
    } else {
        format!(
                "{greeting}\r\n\r\n{} har drabbats av ett dataintrång i systemet {system}. \
Vi upptäckte intrånget {}. Angriparen kan ha kommit åt namn och personnummer för kommunens brukare.\r\n\r\n\
Vi återkommer när vi vet mer.\r\n\r\nMed vänliga hälsningar\r\n{}\r\n{}\r\n",
                s.company,
                sv_month_day(found),
                s.person,
                s.company
            )
    };
    format!(
        "From: {person} <incident@{domain}>\r\nTo: breach@example.test\r\nSubject: {subject}\r\n\
Date: {date}\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}",
        person = s.person,
        domain = s.domain,
        date = sent.to_rfc2822(),
    )
}

/// The same notice forwarded by a colleague with Outlook (Swedish).
fn forwarded(
    s: &Supplier,
    inner: &str,
    sent: DateTime<Utc>,
    at: DateTime<Utc>,
    id: &str,
) -> String {
    let (head, body) = inner.split_once("\r\n\r\n").unwrap_or(("", inner));
    let subject = head
        .lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or("");
    format!(
        "From: Sam Staff <staff@example.test>\r\nTo: breach@example.test\r\nSubject: VB: {subject}\r\n\
Date: {date}\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
Hej, det här kom till funktionsbrevlådan.\r\n\r\nSam\r\n\r\n________________________________\r\n\
Från: {person} <incident@{domain}>\r\nSkickat: {orig}\r\nTill: IT-support <it@example.test>\r\nÄmne: {subject}\r\n\r\n{body}",
        date = at.to_rfc2822(),
        person = s.person,
        domain = s.domain,
        orig = sv_outlook_date(sent),
    )
}

struct Generated {
    /// (delivered at, raw, what it is)
    mails: Vec<(DateTime<Utc>, String, Role)>,
    notices: usize,
}

#[derive(Debug, Clone)]
enum Role {
    /// A distinct notice; its index.
    Notice(usize),
    /// A threaded follow-up of notice i.
    FollowUp(usize),
}

fn generate(seed: u64) -> (Vec<Supplier>, Generated) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let sups = suppliers(&mut rng);
    let start: DateTime<Utc> = "2026-11-01T07:00:00Z".parse().unwrap();
    let mut mails = Vec::new();
    let mut direct = Vec::new();
    let mut n = 0;
    // 170 distinct notices: each supplier gets 5 or 6 over its three systems,
    // so one system often has two incidents, found on different days.
    let mut per_supplier = vec![5usize; sups.len()];
    for c in per_supplier.iter_mut().take(170 - 5 * sups.len()) {
        *c += 1;
    }
    for (si, s) in sups.iter().enumerate() {
        for k in 0..per_supplier[si] {
            let system = &s.systems[k % 3];
            let day = (k as i64) * 3 + rng.random_range(0..2);
            let found = start + Duration::days(day) + Duration::minutes(rng.random_range(0..600));
            let sent = found + Duration::minutes(rng.random_range(30..300));
            let id = format!("n{n}@{}", s.domain);
            // Every fourth notice names the update that caused it.
            let caused_by_update = (n % 4 == 3).then_some(n % 8 == 3);
            let raw = notice_mail(
                s,
                system,
                found,
                sent,
                &id,
                rng.random_bool(0.3),
                caused_by_update,
            );
            if rng.random_bool(0.25) {
                // A colleague forwards it a day late.
                let at = sent + Duration::hours(20);
                let fwd = forwarded(s, &raw, sent, at, &format!("f{n}@example.test"));
                mails.push((at, fwd, Role::Notice(n)));
            } else {
                direct.push((n, id, system.clone(), si, sent));
                mails.push((sent, raw, Role::Notice(n)));
            }
            n += 1;
        }
    }
    // 30 threaded follow-ups to notices the supplier sent straight to us.
    for (k, (i, id, system, si, sent)) in direct.iter().take(30).enumerate() {
        let s = &sups[*si];
        let at = *sent + Duration::hours(5 + k as i64);
        let raw = format!(
            "From: {person} <incident@{domain}>\r\nTo: breach@example.test\r\nSubject: SV: Personuppgiftsincident i {system}\r\n\
Date: {date}\r\nMessage-ID: <u{k}@{domain}>\r\nIn-Reply-To: <{id}>\r\nReferences: <{id}>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
Uppdatering om incidenten: vi har nu stängt angriparens åtkomst till {system}.\r\n\r\n{person}\r\n{company}\r\n",
            person = s.person,
            domain = s.domain,
            date = at.to_rfc2822(),
            company = s.company,
        );
        mails.push((at, raw, Role::FollowUp(*i)));
    }
    mails.sort_by_key(|(at, _, _)| *at);
    (sups, Generated { mails, notices: n })
}

#[tokio::test]
async fn every_distinct_notice_of_a_generated_mix_opens_its_own_case() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&format!("sqlite://{}/mix.db", dir.path().display())).await;
    let (sups, g) = generate(13);
    assert!(g.mails.len() >= 200, "{} mails", g.mails.len());
    assert_eq!(g.notices, 170);
    let mut case_of: Vec<Option<String>> = vec![None; g.notices];
    let mut wrong = Vec::new();
    for (at, raw, role) in &g.mails {
        // As the daemon sees them: each mail handled as it arrives.
        let now = *at + Duration::minutes(2);
        let h = p
            .handle(raw.as_bytes(), Some(*at), None, now)
            .await
            .unwrap();
        match (role, h) {
            (Role::Notice(i), Handled::Opened(r)) => case_of[*i] = Some(r),
            (Role::FollowUp(i), Handled::Attached(r)) if case_of[*i].as_deref() == Some(&r) => {}
            (role, h) => wrong.push(format!("{role:?} -> {h:?}")),
        }
    }
    assert!(wrong.is_empty(), "{} misplaced: {wrong:#?}", wrong.len());
    let cases = p.store.list_cases().await.unwrap();
    assert_eq!(cases.len(), 170, "one case per distinct notice");
    // No company's name was read as a system.
    for c in &cases {
        for sys in &c.systems {
            assert!(
                !sups.iter().any(|s| s.company.starts_with(sys.as_str())),
                "{}: company read as system {sys:?} ({:?})",
                c.case_ref,
                c.systems
            );
        }
        assert!(!c.systems.is_empty(), "{} has no system", c.case_ref);
    }
}

/// `breachwatch ingest FILE` reads old mail today: notice 01 (forwarded in
/// 2021), then its supplement 02 (thread headers removed) and final report 03.
#[tokio::test]
async fn old_notices_ingested_today_keep_their_supplement_and_final_report() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&format!("sqlite://{}/o.db", dir.path().display())).await;
    let now = Utc::now();
    let read = |n: &str| {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/notices")
                .join(n),
        )
        .unwrap()
    };
    let Handled::Opened(r) = p
        .handle(&read("01-labportal-intrang-vb-helg.eml"), None, None, now)
        .await
        .unwrap()
    else {
        panic!("01 opens")
    };
    let supplement = without_thread_headers(&read("02-labportal-komplettering-sv.eml"));
    for raw in [supplement, read("03-labportal-slutrapport.eml")] {
        assert_eq!(
            p.handle(&raw, None, None, now).await.unwrap(),
            Handled::Attached(r.clone())
        );
    }
    assert_eq!(p.store.list_cases().await.unwrap().len(), 1);
}

// ---------------------------------------------------- copies of one notice

/// Two colleagues forward the same supplier mail; the second saw it earlier.
async fn two_forwards_are_one_case_with_the_earliest_awareness(db_url: &str) {
    let p = pipeline(db_url).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let sups = suppliers(&mut rng);
    let s = &sups[0];
    let found: DateTime<Utc> = "2026-11-02T08:00:00Z".parse().unwrap();
    let sent = found + Duration::hours(2);
    let inner = notice_mail(s, &s.systems[0], found, sent, "orig@x.example", false, None);
    let now = sent + Duration::hours(30);
    // The first forward says the supplier's mail came at `sent + 6 h`
    // (a colleague's copy of the notice reached them later) …
    let late = forwarded(
        s,
        &inner,
        sent + Duration::hours(6),
        now - Duration::hours(2),
        "f1@example.test",
    );
    let Handled::Opened(r) = p
        .handle(late.as_bytes(), Some(now - Duration::hours(2)), None, now)
        .await
        .unwrap()
    else {
        panic!("first forward opens")
    };
    let before = p.store.case_by_ref(&r).await.unwrap().unwrap();
    assert_eq!(before.aware_at, sent + Duration::hours(6));
    // … another colleague forwards their copy, received at `sent`.
    let early = forwarded(s, &inner, sent, now - Duration::hours(1), "f2@example.test");
    let h = p
        .handle(early.as_bytes(), Some(now - Duration::hours(1)), None, now)
        .await
        .unwrap();
    assert_eq!(h, Handled::Attached(r.clone()));
    let after = p.store.case_by_ref(&r).await.unwrap().unwrap();
    assert_eq!(
        after.aware_at, sent,
        "the earliest receipt starts the clock"
    );
    assert_eq!(after.deadline_at, sent + Duration::hours(72));
    let ev = p.store.case_events(after.id).await.unwrap();
    let moved = ev
        .iter()
        .find(|e| e.kind == "aware_at_moved")
        .expect("timeline says why");
    assert!(moved.data["why"].as_str().unwrap().contains("tidigare"));
    let att = ev.iter().find(|e| e.kind == "message_attached").unwrap();
    assert_eq!(att.data["link"], "same_text");
    // The supplier's own mail reaching the mailbox too: the same notice.
    let h = p
        .handle(
            inner.as_bytes(),
            Some(sent + Duration::minutes(1)),
            None,
            now,
        )
        .await
        .unwrap();
    assert_eq!(h, Handled::Attached(r.clone()));
    assert_eq!(p.store.list_cases().await.unwrap().len(), 1);
    // The group's same-notice look-up: three copies on the case; per identity
    // one row, the latest message holding it (the supplier's own mail, which
    // holds the text and the Message-ID: one row for both), none for an
    // identity no case holds; either kind of identity alone, or both.
    let n = breachwatch::core::notice::read(inner.as_bytes(), &p.cfg.read_options()).unwrap();
    let id = breachwatch::core::series::identity(&n);
    let (mid, text) = (id.notice_message_id.unwrap(), id.text_hash.unwrap());
    let unknown = "nobody@x.example".to_string();
    for (ids, texts, want) in [
        (vec![mid.clone(), unknown.clone()], vec![], 1),
        (vec![], vec![text.clone(), unknown.clone()], 1),
        (vec![mid.clone()], vec![text.clone()], 1),
        (vec![unknown.clone()], vec![unknown.clone()], 0),
    ] {
        let rows = p.store.cases_by_notices(&ids, &texts).await.unwrap();
        assert_eq!(rows.len(), want, "{ids:?} {texts:?}");
        for row in rows {
            assert_eq!(row.case_id, after.id);
            assert_eq!(row.aware_at, sent);
            assert!(
                row.notice_message_id.as_deref() == Some(mid.as_str())
                    || row.text_hash.as_deref() == Some(text.as_str())
            );
        }
    }
    // Moving aware_at is a change of the case row: the register still holds.
    let report = breachwatch::register::verify(&p.store, None).await.unwrap();
    assert!(report.problems().is_empty(), "{:?}", report.problems());
    p.store.close().await;
}

#[tokio::test]
async fn two_forwards_of_one_notice_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    two_forwards_are_one_case_with_the_earliest_awareness(&format!(
        "sqlite://{}/f.db",
        dir.path().display()
    ))
    .await;
}

#[tokio::test]
async fn two_forwards_of_one_notice_on_postgres() {
    crate::harness::with_pg(|url| async move {
        two_forwards_are_one_case_with_the_earliest_awareness(&url).await
    })
    .await;
}

// ------------------------------------------------------------ the lookup

#[tokio::test]
async fn the_series_lookup_is_one_indexed_query() {
    use sqlx::Row;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/q.db", dir.path().display());
    let store = Store::connect(&url).await.unwrap();
    let Store::Sqlite(pool) = &store else {
        unreachable!()
    };
    let pool = &pool.pool().await;
    let plan: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
        "EXPLAIN QUERY PLAN {}",
        breachwatch::store::SERIES_QUERY
    )))
    .bind("provdata.example")
    .bind("provdata")
    .bind(Utc::now())
    .bind(Utc::now())
    .bind(50i64)
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>(3))
    .collect();
    let text = plan.join("\n");
    assert!(
        text.contains("cases_supplier_domain") && text.contains("cases_supplier_org"),
        "{text}"
    );
    assert!(
        !text.contains("SCAN cases"),
        "no scan of every case: {text}"
    );
    // The same-notice lookup too: by the notice's Message-ID or text hash.
    let plan: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
        "EXPLAIN QUERY PLAN {}",
        breachwatch::store::NOTICE_QUERY
    )))
    .bind("id@x.example")
    .bind("abc")
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>(3))
    .collect();
    let text = plan.join("\n");
    assert!(
        text.contains("messages_notice_message_id") && text.contains("messages_text_hash"),
        "{text}"
    );
    assert!(!text.contains("SCAN m"), "no scan of every message: {text}");
    store.close().await;
}

/// A supplier whose notices are a report in a PDF under the same covering
/// text each time: the next incident's report is a new case (the text alone
/// made it "the same notice" and joined it to the first case, with no clock
/// of its own), a colleague's forward of the first report joins the first.
#[tokio::test]
async fn the_same_covering_text_with_another_report_is_another_notice() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&format!("sqlite://{}/d.db", dir.path().display())).await;
    let text = "Hej! Vi har upptäckt en personuppgiftsincident som kan beröra er organisation. \
                Detaljerna finns i den bifogade incidentrapporten. Kontakta oss vid frågor.\r\n\r\n\
                Med vänlig hälsning\r\nProvlabb Support";
    let report = |what: &str| -> String {
        let pdf: Vec<u8> = format!("%PDF-1.4 {what} ")
            .bytes()
            .cycle()
            .take(2000)
            .collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(pdf);
        b64.as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    let mail = |from: &str, date: &str, id: &str, subject: &str, body: &str, pdf: &str| {
        format!(
            "From: {from}\r\nTo: breach@example.test\r\nSubject: {subject}\r\nDate: {date}\r\n\
Message-ID: <{id}>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n\
--b\r\nContent-Type: application/pdf; name=\"Incidentrapport.pdf\"\r\n\
Content-Disposition: attachment; filename=\"Incidentrapport.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n--b--\r\n"
        )
    };
    let supplier = "Provlabb Support <support@provlabb.example>";
    let first = mail(
        supplier,
        "Fri, 04 Dec 2026 20:05:00 +0100",
        "r1@provlabb.example",
        "Personuppgiftsincident",
        text,
        &report("LabPortalen 2026-12-04"),
    );
    let second = mail(
        supplier,
        "Fri, 11 Dec 2026 09:30:00 +0100",
        "r2@provlabb.example",
        "Personuppgiftsincident",
        text,
        &report("Kassan 2026-12-11"),
    );
    // A colleague forwards the first report (the same file, Outlook's lines).
    let forward = mail(
        "Sam Staff <sam@example.test>",
        "Mon, 07 Dec 2026 08:10:00 +0100",
        "f1@example.test",
        "VB: Personuppgiftsincident",
        &format!(
            "Se nedan.\r\n\r\nFrån: {supplier}\r\nSkickat: den 4 december 2026 20:05\r\n\
             Till: IT <it@example.test>\r\nÄmne: Personuppgiftsincident\r\n\r\n{text}"
        ),
        &report("LabPortalen 2026-12-04").replace("\r\n", ""),
    );
    let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let Handled::Opened(r1) = p
        .handle(first.as_bytes(), None, None, at("2026-12-04T19:06:00Z"))
        .await
        .unwrap()
    else {
        panic!("the first report opens a case")
    };
    let h = p
        .handle(forward.as_bytes(), None, None, at("2026-12-07T07:11:00Z"))
        .await
        .unwrap();
    assert_eq!(h, Handled::Attached(r1.clone()), "the same report");
    let h = p
        .handle(second.as_bytes(), None, None, at("2026-12-11T08:31:00Z"))
        .await
        .unwrap();
    let Handled::Opened(r2) = h else {
        panic!("another report is another notice: {h:?}")
    };
    assert_ne!(r1, r2);
}

#[tokio::test]
async fn a_new_notice_about_the_same_system_and_discovery_names_the_case_it_may_belong_to() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&format!("sqlite://{}/h.db", dir.path().display())).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let sups = suppliers(&mut rng);
    let s = &sups[3];
    let found: DateTime<Utc> = "2026-11-02T08:00:00Z".parse().unwrap();
    let first = notice_mail(
        s,
        &s.systems[0],
        found,
        found + Duration::hours(1),
        "h1@x.example",
        false,
        None,
    );
    let now = found + Duration::hours(3);
    let Handled::Opened(r1) = p.handle(first.as_bytes(), None, None, now).await.unwrap() else {
        panic!("opens")
    };
    // Same system, discovered twenty minutes later by the supplier's account:
    // possibly the same incident, but a notice of its own.
    let second = notice_mail(
        s,
        &s.systems[0],
        found + Duration::minutes(20),
        found + Duration::hours(2),
        "h2@x.example",
        false,
        None,
    );
    let Handled::Opened(r2) = p.handle(second.as_bytes(), None, None, now).await.unwrap() else {
        panic!("a breach notice is never attached by resemblance")
    };
    assert_ne!(r1, r2);
    let c2 = p.store.case_by_ref(&r2).await.unwrap().unwrap();
    let ev = p.store.case_events(c2.id).await.unwrap();
    assert_eq!(
        ev[0].data["may_belong_to"]["case"],
        r1.as_str(),
        "{:?}",
        ev[0].data
    );
    let opening = p
        .store
        .case_outbox(c2.id)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.purpose == "opening")
        .unwrap();
    let Store::Sqlite(pool) = &p.store else {
        unreachable!()
    };
    let pool = &pool.pool().await;
    let raw: Vec<u8> = sqlx::query_scalar(
        "SELECT r.raw FROM outbox o JOIN outbox_raw r ON r.id = o.id WHERE o.message_id = $1",
    )
    .bind(&opening.message_id)
    .fetch_one(pool)
    .await
    .unwrap();
    let text = Mail::new(raw).text;
    assert!(
        text.contains(&format!("Kan höra till ärende {r1}")),
        "{text}"
    );
    // The notice says how to merge it if it is the same incident.
    assert!(text.contains(&format!("\"sammanfoga {r1}\"")), "{text}");
    // Another system of the same supplier: a new case, nothing to tell.
    let third = notice_mail(
        s,
        &s.systems[1],
        found,
        found + Duration::hours(1),
        "h3@x.example",
        true,
        None,
    );
    let Handled::Opened(r3) = p.handle(third.as_bytes(), None, None, now).await.unwrap() else {
        panic!("another system opens its own case")
    };
    let c3 = p.store.case_by_ref(&r3).await.unwrap().unwrap();
    let ev = p.store.case_events(c3.id).await.unwrap();
    assert!(ev[0].data["may_belong_to"].is_null(), "{:?}", ev[0].data);
}

/// A plain-text mail for the thread tests: `extra` header lines end in CRLF.
fn thread_mail(from: &str, subject: &str, date: &str, id: &str, extra: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: breach@example.test\r\nSubject: {subject}\r\nDate: {date}\r\n\
         Message-ID: <{id}>\r\n{extra}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n",
        body.replace('\n', "\r\n")
    )
}

/// A message in a case's thread, or naming its number, is news of that case
/// unless it shows it is another incident. Before, all of these joined the
/// case they named: a supplier's new breach reported in the old thread, a
/// colleague's forward of another supplier's notice "like PUI-2026-0001";
/// and a final report that named the discovery date without its time, sent
/// without thread headers, opened a case of its own.
#[tokio::test]
async fn a_new_incident_in_an_old_thread_opens_its_own_case() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&format!("sqlite://{}/t.db", dir.path().display())).await;
    let lab = "LabPortalen Support <incident@labportal.example>";
    let notice = "Hej,\n\nVi vill informera er om en personuppgiftsincident i LabPortalen.\n\n\
        Den 20 november 2026 kl. 14:30 upptäckte vi att en obehörig person hade fått åtkomst \
        till LabPortalen via ett komprometterat konto. Uppgifter om patienter (namn, \
        personnummer och provsvar) kan ha exponerats. Cirka 400 personer i er kommun berörs.\n\n\
        Med vänlig hälsning\nLabPortalen Support";
    let quote =
        format!(
        "\n\nDen 20 nov. 2026 16:05 skrev LabPortalen Support <incident@labportal.example>:\n{}",
        notice.lines().map(|l| format!("> {l}")).collect::<Vec<_>>().join("\n")
    );
    let in_thread = "In-Reply-To: <n1@labportal.example>\r\nReferences: <n1@labportal.example>\r\n";
    let subject = "Personuppgiftsincident i LabPortalen";
    let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let first = thread_mail(
        lab,
        subject,
        "Fri, 20 Nov 2026 16:05:00 +0100",
        "n1@labportal.example",
        "",
        notice,
    );
    let Handled::Opened(r1) = p
        .handle(first.as_bytes(), None, None, at("2026-11-20T15:06:00Z"))
        .await
        .unwrap()
    else {
        panic!("the notice opens a case")
    };
    let opened = |h: Handled, what: &str| match h {
        Handled::Opened(r) => r,
        other => panic!("{what}: {other:?}"),
    };
    // News of the case: each joins it.
    let news = [
        thread_mail(lab, &format!("Re: {subject}"), "Mon, 23 Nov 2026 10:00:00 +0100", "s4@labportal.example", in_thread,
            &format!("Hej,\n\nUppdatering om incidenten: vi har nu gått igenom loggarna. 412 personer berörs.{quote}")),
        thread_mail(lab, &format!("Re: {subject}"), "Mon, 23 Nov 2026 10:30:00 +0100", "s5@labportal.example", in_thread,
            &format!("Hej,\n\nEn rättelse: incidenten upptäcktes redan den 19 november 2026 kl. 22:00.{quote}")),
        thread_mail(lab, &format!("Re: {subject}"), "Tue, 24 Nov 2026 10:00:00 +0100", "f1@labportal.example", in_thread,
            &format!("Hej,\n\nVi har inte upptäckt några nya incidenter sedan dess. 412 personer berörs av intrånget.{quote}")),
        thread_mail("Anna Andersson <anna@example.test>", &format!("VB: {r1} Begäran om komplettering från IMY"),
            "Wed, 25 Nov 2026 09:00:00 +0100", "f2@example.test", "",
            "Hej, detta kom från IMY.\n\n---------- Vidarebefordrat meddelande ---------\n\
             Från: Integritetsskyddsmyndigheten <imy@imy.example>\nDatum: tis 24 nov. 2026 kl 15:00\n\
             Ämne: Begäran om komplettering\nTill: Anna Andersson <anna@example.test>\n\n\
             Integritetsskyddsmyndigheten har tagit emot er anmälan om en personuppgiftsincident i \
             LabPortalen som upptäcktes den 20 november 2026. Vi ber er komplettera anmälan med \
             uppgift om hur många registrerade som berörs.\n\nIntegritetsskyddsmyndigheten"),
        thread_mail("Olivia Official <official@example.test>", &format!("SV: [{r1}] {subject}"),
            "Wed, 25 Nov 2026 10:00:00 +0100", "o1@example.test", in_thread,
            &format!("kvittera\n\nVi behandlar det som en ny incident om det visar sig vara ett nytt intrång.{quote}")),
        thread_mail(lab, &format!("Re: {subject}"), "Fri, 27 Nov 2026 10:00:00 +0100", "s7@labportal.example", in_thread,
            &format!("Hej,\n\nHär är vår slutrapport om incidenten som upptäcktes den 20 november. \
                      Kontot är spärrat och alla lösenord är bytta.{quote}")),
        // The same final report without thread headers: the series rule.
        thread_mail(lab, &format!("Slutrapport: {subject}"), "Fri, 27 Nov 2026 11:00:00 +0100", "s7nt@labportal.example", "",
            "Hej,\n\nHär är vår slutrapport om incidenten i LabPortalen som upptäcktes den 20 november. \
             Kontot är spärrat och alla lösenord är bytta. Ärendet är avslutat från vår sida.\n\nLabPortalen Support"),
    ];
    for (i, m) in news.iter().enumerate() {
        let h = p
            .handle(m.as_bytes(), None, None, at("2026-11-27T12:00:00Z"))
            .await
            .unwrap();
        assert_eq!(h, Handled::Attached(r1.clone()), "news {i}");
    }
    // A new breach reported in the old thread, in Swedish and in English.
    let new_sv = thread_mail(lab, &format!("Re: {subject}"), "Sat, 05 Dec 2026 11:00:00 +0100", "s1@labportal.example", in_thread,
        &format!("Hej,\n\nVi har tyvärr upptäckt en ny personuppgiftsincident i LabPortalen, som inte har med \
                  den tidigare att göra.\n\nDen 5 december 2026 kl. 09:10 upptäckte vi att provsvar för fel \
                  patient hade skickats till en annan vårdgivare. Uppgifter om hälsa för cirka 30 personer har röjts.{quote}"));
    let r2 = opened(
        p.handle(new_sv.as_bytes(), None, None, at("2026-12-05T10:01:00Z"))
            .await
            .unwrap(),
        "a new breach in the thread",
    );
    let new_en = thread_mail(lab, &format!("RE: {subject}"), "Sat, 05 Dec 2026 12:00:00 +0100", "s6@labportal.example", in_thread,
        &format!("Hello,\n\nUnfortunately we have to report a new personal data breach. On 4 December 2026 at 16:00 \
                  we discovered that a misconfigured backup of LabPortal was publicly accessible.{quote}"));
    let r3 = opened(
        p.handle(new_en.as_bytes(), None, None, at("2026-12-05T11:01:00Z"))
            .await
            .unwrap(),
        "in English",
    );
    // A colleague forwards another supplier's notice, naming the case.
    let other = thread_mail("Anna Andersson <anna@example.test>", &format!("VB: {r1} ny incident från Tryggvakt"),
        "Mon, 07 Dec 2026 08:10:00 +0100", "s3@example.test", "",
        &format!("Hej! Liknande den i {r1}.\n\n---------- Vidarebefordrat meddelande ---------\n\
                  Från: Tryggvakt Larmcentral <driftinfo@tryggvakt.example>\nDatum: fre 4 dec. 2026 kl 20:05\n\
                  Ämne: Personuppgiftsincident hos Tryggvakt\nTill: Anna Andersson <anna@example.test>\n\n\
                  Hej,\n\nDen 4 december 2026 kl. 18:40 upptäckte vi att en obehörig person kommit åt \
                  larmplattformen TryggCentral. Namn, adress och uppgifter om hälsotillstånd för brukare \
                  med trygghetslarm kan ha exponerats.\n\nTryggvakt Norden AB"));
    let r4 = opened(
        p.handle(other.as_bytes(), None, None, at("2026-12-07T07:11:00Z"))
            .await
            .unwrap(),
        "another supplier's notice",
    );
    let refs = [&r1, &r2, &r3, &r4];
    for (i, a) in refs.iter().enumerate() {
        assert!(!refs[i + 1..].contains(a), "four cases: {refs:?}");
    }
    // Each new case names the case it was in the thread of, and why; its
    // clock is its own (the forward's at the supplier's Friday 20:05).
    for (r, why) in [
        (&r2, "svar i ärendets tråd, men säger att det gäller en ny incident och med en annan upptäcktstid"),
        (&r3, "svar i ärendets tråd, men säger att det gäller en ny incident och med en annan upptäcktstid"),
        (&r4, "nämner ärendenumret, men säger att det gäller en ny incident, från en annan leverantör och med en annan upptäcktstid"),
    ] {
        let c = p.store.case_by_ref(r).await.unwrap().unwrap();
        let ev = p.store.case_events(c.id).await.unwrap();
        assert_eq!(ev[0].data["may_belong_to"]["case"], r1.as_str(), "{r}: {:?}", ev[0].data);
        assert_eq!(ev[0].data["may_belong_to"]["why"], why, "{r}");
    }
    let c4 = p.store.case_by_ref(&r4).await.unwrap().unwrap();
    assert_eq!(c4.aware_at, at("2026-12-04T19:05:00Z"));
    // A reply in the new case's thread is news of the new case.
    let follow = thread_mail(lab, "Re: Re: Personuppgiftsincident i LabPortalen", "Sun, 06 Dec 2026 09:00:00 +0100",
        "s1b@labportal.example", "In-Reply-To: <s1@labportal.example>\r\nReferences: <n1@labportal.example> <s1@labportal.example>\r\n",
        "Hej,\n\nUppdatering: 31 personer berörs av felskicket.");
    let h = p
        .handle(follow.as_bytes(), None, None, at("2026-12-06T08:01:00Z"))
        .await
        .unwrap();
    assert_eq!(h, Handled::Attached(r2.clone()));
}

/// A mailer that gives every mail one Message-ID (a template keeps it, a
/// broken client): the second notice with a recorded Message-ID was dropped
/// as a duplicate before (no record, no case, moved out of the INBOX). Now a
/// copy of the recorded message (its sender, within a day) is still one,
/// and another message is recorded without the id and placed as its own:
/// one by one and in a group commit.
#[tokio::test]
async fn a_new_notice_reusing_a_recorded_message_id_is_not_dropped() {
    let lab = "LabPortalen Support <incident@labportal.example>";
    let first = thread_mail(lab, "Personuppgiftsincident i LabPortalen", "Fri, 20 Nov 2026 16:05:00 +0100", "same@labportal.example", "",
        "Hej,\n\nDen 20 november 2026 kl. 14:30 upptäckte vi att en obehörig person hade fått åtkomst \
         till LabPortalen. Namn och personnummer för cirka 400 personer kan ha exponerats.\n\nLabPortalen Support");
    // The same mail through a second address of the mailbox: other bytes.
    let copy = first.replacen(
        "From: ",
        "X-Original-To: dataskydd@example.test\r\nFrom: ",
        1,
    );
    let second = thread_mail(lab, "Personuppgiftsincident i LabPortalen", "Sat, 05 Dec 2026 11:00:00 +0100", "same@labportal.example", "",
        "Hej,\n\nDen 5 december 2026 kl. 09:10 upptäckte vi att provsvar för fel patient hade skickats \
         till en annan vårdgivare. Uppgifter om hälsa för cirka 30 personer har röjts.\n\nLabPortalen Support");
    let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let mails = [
        (first, at("2026-11-20T15:05:10Z")),
        (copy, at("2026-11-20T15:06:00Z")),
        (second.clone(), at("2026-12-05T10:00:30Z")),
        (second, at("2026-12-05T10:00:30Z")),
    ];
    let now = at("2026-12-05T10:01:00Z");
    let dir = tempfile::tempdir().unwrap();
    let (p, one) = one_by_one(
        &format!("sqlite://{}/one.db", dir.path().display()),
        &mails,
        now,
    )
    .await;
    let [Handled::Opened(r1), Handled::Duplicate, Handled::Opened(r2), Handled::Duplicate] =
        &one[..]
    else {
        panic!("{one:?}")
    };
    assert_ne!(r1, r2);
    // The second notice is recorded on its case without the id; the id
    // still finds the first.
    let c2 = p.store.case_by_ref(r2).await.unwrap().unwrap();
    let msgs = p.store.case_messages(c2.id).await.unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].message_id, None);
    // In a group commit, the same answers.
    let url = format!("sqlite://{}/group.db", dir.path().display());
    assert_eq!(grouped(&url, &mails, now).await, one);
}

/// `mails` (raw, delivered at) through a fresh pipeline on `url`, one by one.
async fn one_by_one(
    url: &str,
    mails: &[(String, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> (Pipeline, Vec<Handled>) {
    let p = pipeline(url).await;
    let mut out = Vec::new();
    for (raw, t) in mails {
        out.push(p.handle(raw.as_bytes(), Some(*t), None, now).await.unwrap());
    }
    (p, out)
}

/// `mails` through a fresh pipeline on `url` in one batch: read on the
/// reader threads, written in group commits as the drain writes them.
async fn grouped(url: &str, mails: &[(String, DateTime<Utc>)], now: DateTime<Utc>) -> Vec<Handled> {
    use breachwatch::workers::ingest::read_all;
    let g = pipeline(url).await;
    let batch = mails
        .iter()
        .map(|(raw, t)| (raw.as_bytes().to_vec(), Some(*t), None))
        .collect();
    let reads = read_all(g.cfg.read_options(), batch).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let (handled, err) = g.handle_batch(&reads, &stop, Some(now)).await;
    assert!(err.is_none(), "{err:?}");
    handled
}

/// Two reports in the same words (the intranet's wording of a lost phone)
/// by two people five weeks apart: the second joined the first case as "the
/// same notice" (same text) before, with no clock of its own. A copy (the
/// reporter's manager forwarding it, the reporter sending it again) still
/// joins its own report's case; one by one and in a group commit.
#[tokio::test]
async fn a_report_in_the_words_of_an_earlier_one_is_a_notice_of_its_own() {
    let words =
        "Hej,\n\nJag har tappat min jobbtelefon. Telefonen innehåller mejl med personuppgifter \
                 om brukare inom hemtjänsten. Den var låst med PIN-kod.\n\nHälsningar";
    let subject = "Personuppgiftsincident: borttappad telefon";
    let anna = "Anna Andersson <anna@example.test>";
    let bertil = "Bertil Berg <bertil@example.test>";
    let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let mails = [
        (thread_mail(anna, subject, "Mon, 02 Nov 2026 09:00:00 +0100", "p1@example.test", "", words), at("2026-11-02T08:00:10Z")),
        (thread_mail(anna, subject, "Tue, 03 Nov 2026 09:00:00 +0100", "p4@example.test", "", words), at("2026-11-03T08:00:10Z")),
        (thread_mail(bertil, subject, "Mon, 07 Dec 2026 09:00:00 +0100", "p2@example.test", "", words), at("2026-12-07T08:00:10Z")),
        (thread_mail("Chef Chefsson <chef@example.test>", &format!("VB: {subject}"), "Mon, 07 Dec 2026 10:00:00 +0100", "p3@example.test", "",
            &format!("Se nedan.\n\nFrån: {bertil}\nSkickat: den 7 december 2026 09:00\nTill: Dataskydd <breach@example.test>\nÄmne: {subject}\n\n{words}")),
         at("2026-12-07T09:00:10Z")),
    ];
    let now = at("2026-12-07T09:01:00Z");
    let dir = tempfile::tempdir().unwrap();
    let (_, one) = one_by_one(
        &format!("sqlite://{}/one.db", dir.path().display()),
        &mails,
        now,
    )
    .await;
    let [Handled::Opened(r1), Handled::Attached(a1), Handled::Opened(r2), Handled::Attached(a2)] =
        &one[..]
    else {
        panic!("{one:?}")
    };
    assert_ne!(r1, r2);
    assert_eq!((a1, a2), (r1, r2));
    let url = format!("sqlite://{}/group.db", dir.path().display());
    assert_eq!(grouped(&url, &mails, now).await, one);
}

// ------------------------------------------------- the daemon, through real mail

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("tests/fixtures/notices").join(name)).expect("fixture")
}

/// The message without its In-Reply-To and References headers (and their
/// folded continuation lines).
fn without_thread_headers(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap();
    let mut out = String::new();
    let mut skipping = false;
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if !skipping {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        let l = line.to_ascii_lowercase();
        skipping = l.starts_with("in-reply-to:") || l.starts_with("references:");
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    format!("{out}\n{body}").into_bytes()
}

fn processed(s: &Setup, n: usize) {
    wait_for(30, &format!("{n} messages handled"), || {
        (s.mails("breach", "Processed").len() + s.mails("breach", "Quarantine").len() >= n)
            .then_some(())
    });
}

fn links(s: &Setup, r: &str) -> Vec<String> {
    s.events(r)
        .into_iter()
        .filter(|e| e["kind"] == "message_attached")
        .map(|e| e["data"]["link"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_supplement_and_a_final_report_without_thread_headers_join_the_notice() {
    let s = setup(Knobs::default());
    let _d = s.start();
    s.send("staff", &fixture("01-labportal-intrang-vb-helg.eml"));
    processed(&s, 1);
    let supplement = without_thread_headers(&fixture("02-labportal-komplettering-sv.eml"));
    assert!(!String::from_utf8_lossy(&supplement).contains("In-Reply-To"));
    s.send("staff", &supplement);
    s.send("staff", &fixture("03-labportal-slutrapport.eml"));
    processed(&s, 3);
    let cases = s.cases();
    assert_eq!(cases.len(), 1, "{cases:#?}");
    let r = cases[0]["ref"].as_str().unwrap();
    assert_eq!(cases[0]["messages"], 3);
    assert_eq!(links(&s, r), ["series", "series"]);
    let why = s
        .events(r)
        .into_iter()
        .find(|e| e["kind"] == "message_attached")
        .unwrap()["data"]["why"]
        .to_string();
    assert!(why.contains("ProvWeb"), "{why}");
}

fn supplier_mail(
    s: &Setup,
    from: &str,
    subject: &str,
    extra: &str,
    content_type: &str,
    body: &str,
) {
    let raw = format!(
        "From: {from}\r\nTo: {b}\r\nSubject: {subject}\r\nDate: {d}\r\nMessage-ID: <st-{x}@provdata.example>\r\n{extra}\
MIME-Version: 1.0\r\nContent-Type: {content_type}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        b = s.users.addr("breach"),
        d = Utc::now().to_rfc2822(),
        x = rand::random::<u64>(),
    );
    let addr = from
        .rsplit_once('<')
        .map(|(_, a)| a.trim_end_matches('>'))
        .unwrap_or(from);
    s.send(addr, raw.as_bytes());
}

#[test]
fn a_suppliers_status_series_stays_one_case_and_is_never_answered() {
    let s = setup(Knobs::default());
    let _d = s.start();
    s.forward(3, "Dataintrång hos Provdata");
    processed(&s, 1);
    let r = s.cases()[0]["ref"].as_str().unwrap().to_string();
    supplier_mail(
        &s,
        "Provdata Kundservice <noreply@provdata.example>",
        "Uppdatering om incidenten i ProvWeb",
        "",
        "text/plain",
        "Uppdatering: vi har nu stängt angriparens åtkomst till ProvWeb. Utredningen fortsätter.\r\n\r\nProvdata Sverige AB",
    );
    processed(&s, 2);
    supplier_mail(
        &s,
        "Provdata Status <no-reply@status.provdata.example>",
        "[Provdata Status] Uppdatering: incident i ProvWeb",
        "Auto-Submitted: auto-generated\r\n",
        "text/plain",
        "Status: Åtgärdas\r\nIncidenten i ProvWeb åtgärdas. Vi har identifierat orsaken och arbetar med en lösning.\r\n\r\nDu får detta meddelande eftersom du prenumererar på statusuppdateringar.",
    );
    processed(&s, 3);
    supplier_mail(
        &s,
        "Provdata Drift <drift@provdata.example>",
        "Lägesrapport ProvWeb",
        "",
        "text/html",
        "<html><body><p>Lägesrapport om intrånget i ProvWeb:</p><p>Vi har återställt databasen från säkerhetskopia. Ingen ny obehörig åtkomst har upptäckts.</p><p>Provdata Sverige AB</p></body></html>",
    );
    processed(&s, 4);
    supplier_mail(
        &s,
        "Provdata Status <no-reply@status.provdata.example>",
        "[Provdata Status] Löst: incident i ProvWeb",
        "Auto-Submitted: auto-generated\r\n",
        "text/plain",
        "Uppdatering: incidenten i ProvWeb är löst. Tjänsten fungerar igen som vanligt.",
    );
    processed(&s, 5);
    let cases = s.cases();
    assert_eq!(cases.len(), 1, "no update opens a case: {cases:#?}");
    assert_eq!(cases[0]["messages"], 5);
    assert_eq!(links(&s, &r), ["series", "series", "series", "series"]);
    // Nobody is answered: the supplier is never mailed, no acknowledgement
    // beyond the forwarder's, and the automatic updates cause no mail at all.
    let mails = s.case(&r)["mails"].as_array().cloned().unwrap_or_default();
    let purposes: Vec<&str> = mails
        .iter()
        .map(|m| m["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(
        purposes,
        ["opening", "acknowledgement", "follow_up", "follow_up"],
        "{mails:#?}"
    );
    assert!(
        !serde_json::to_string(&mails)
            .unwrap()
            .contains("provdata.example"),
        "{mails:#?}"
    );
}

#[test]
fn two_colleagues_forwarding_one_notice_make_one_case_with_the_earliest_awareness() {
    let s = setup(Knobs::default());
    let second = format!("staff2-{}", s.users.tag);
    let out = std::process::Command::new(repo().join("deploy/local/add-user.sh"))
        .arg(&second)
        .env("STATE_DIR", s.stack.get("MAILSTACK_STATE_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let second = format!("{second}@example.test");
    let _d = s.start();
    let now = Utc::now();
    let seen_late = now - Duration::hours(5);
    let seen_early = now - Duration::hours(20);
    let first = outlook_forward(&s, seen_late, "Dataintrång hos Provdata", now);
    s.send("staff", &first);
    processed(&s, 1);
    let r = s.cases()[0]["ref"].as_str().unwrap().to_string();
    // The second colleague's copy reached them earlier; their forward differs
    // (sender, note, date), the notice inside is the same.
    let other = String::from_utf8(outlook_forward(
        &s,
        seen_early,
        "Dataintrång hos Provdata",
        now,
    ))
    .unwrap()
    .replace(&s.users.addr("staff"), &second)
    .replace("Sam Staff", "Stina Andersson")
    .replace("ingen läste det förrän nu", "jag såg det först nu");
    s.send(&second, other.as_bytes());
    processed(&s, 2);
    let cases = s.cases();
    assert_eq!(cases.len(), 1, "{cases:#?}");
    let aware: DateTime<Utc> = cases[0]["aware_at"].as_str().unwrap().parse().unwrap();
    assert!(
        (aware - seen_early).num_seconds().abs() < 60,
        "aware_at {aware} is the earlier receipt {seen_early}"
    );
    assert_eq!(links(&s, &r), ["same_text"]);
    let moved = s.wait_event(&r, 0, "aware_at_moved");
    assert!(moved["data"]["why"].is_string());
    // The second colleague learns which case their forward joined.
    wait_for(20, "acknowledgement to the second colleague", || {
        s.mails("staff2", "")
            .into_iter()
            .find(|m| m.text.contains(&r) || m.subject.contains(&r))
    });
}

#[test]
fn two_incidents_of_one_supplier_in_different_systems_are_two_cases() {
    let s = setup(Knobs::default());
    let _d = s.start();
    let now = Utc::now();
    s.send(
        "staff",
        &outlook_forward_from(
            &s,
            now - Duration::hours(2),
            "Intrång i ProvWeb",
            now,
            "provdata.example",
            "ProvWeb",
        ),
    );
    processed(&s, 1);
    s.send(
        "staff",
        &outlook_forward_from(
            &s,
            now - Duration::hours(1),
            "Intrång i eRemiss",
            now,
            "provdata.example",
            "eRemiss",
        ),
    );
    processed(&s, 2);
    let cases = s.cases();
    assert_eq!(cases.len(), 2, "{cases:#?}");
    wait_for(20, "two opening notices", || {
        (s.mails("official", "")
            .iter()
            .filter(|m| m.subject.contains("Ny personuppgiftsincident"))
            .count()
            == 2)
            .then_some(())
    });
}

#[test]
fn rules_test_says_which_case_a_message_would_join_and_why() {
    let s = setup(Knobs::default());
    let file = |name: &str, raw: &[u8]| {
        let p = s.dir.path().join(name);
        std::fs::write(&p, raw).unwrap();
        p.display().to_string()
    };
    let first = file("01.eml", &fixture("01-labportal-intrang-vb-helg.eml"));
    let before = s.cli(&["rules", "test", &first]);
    assert!(before.contains("case:      opens a new case"), "{before}");
    s.cli(&["ingest", &first]);
    let r = s.cases()[0]["ref"].as_str().unwrap().to_string();
    let supplement = file(
        "02.eml",
        &without_thread_headers(&fixture("02-labportal-komplettering-sv.eml")),
    );
    let explained = s.cli(&["inspect", &supplement, "--explain"]);
    for want in [
        "supplier domain: provdata.example",
        "supplier organisation key: provdata",
        "a follow-up may join",
    ] {
        assert!(explained.contains(want), "{want}: {explained}");
    }
    let out = s.cli(&["rules", "test", &supplement]);
    assert!(
        out.contains(&format!(
            "case:      joins {r} (series: samma leverantör, samma system (ProvWeb, eRemiss)"
        )),
        "{out}"
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let sups = suppliers(&mut rng);
    let other = file(
        "other.eml",
        notice_mail(
            &sups[0],
            &sups[0].systems[0],
            Utc::now(),
            Utc::now(),
            "o@x.example",
            false,
            None,
        )
        .as_bytes(),
    );
    let out = s.cli(&["rules", "test", &other]);
    assert!(out.contains("case:      opens a new case\n"), "{out}");
    let out = s.cli(&["rules", "test", &first]);
    assert!(out.contains("already recorded"), "{out}");
    // Nothing was recorded by asking.
    let cases = s.cases();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["messages"], 1);
}

/// The Message-ID of a generated mail, without brackets.
fn outer_message_id(raw: &str) -> String {
    raw.lines()
        .find_map(|l| l.strip_prefix("Message-ID: <"))
        .and_then(|l| l.split('>').next())
        .expect("generated mails have a Message-ID")
        .to_string()
}

/// The generated mix of issue 13 (170 distinct notices from eleven suppliers
/// with three systems each and company names that end like system names,
/// a quarter forwarded by staff, 30 threaded follow-ups) put into the real
/// INBOX in arrival order, then drained by `breachwatch run`: every notice
/// opens exactly one case of its own and every follow-up joins its notice.
#[test]
fn the_daemon_drains_a_generated_mix_of_200_into_one_case_per_distinct_notice() {
    let s = setup(Knobs::default());
    let (sups, g) = generate(13);
    assert!(g.mails.len() >= 200, "{} mails", g.mails.len());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cfg = Config::load(&s.config).expect("config");
        let (mut conn, _, _) = breachwatch::mail::imap::ImapConn::connect(&cfg.imap)
            .await
            .expect("IMAP connect");
        for (_, raw, _) in &g.mails {
            conn.append("INBOX", raw.as_bytes()).await.expect("APPEND");
        }
        conn.logout().await;
    });
    let started = std::time::Instant::now();
    let _d = s.start();
    wait_for(600, "the whole mix handled", || {
        (s.mails("breach", "Processed").len() >= g.mails.len()).then_some(())
    });
    eprintln!(
        "{} mails drained by the daemon in {:.1} s",
        g.mails.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(s.mails("breach", "Quarantine").is_empty());
    // Where each mail went, from the store the daemon wrote.
    let placed: std::collections::HashMap<String, (i64, String)> = rt.block_on(async {
        let store = Store::connect(&s.db_url).await.unwrap();
        let cases = store.list_cases().await.unwrap();
        let mut placed = std::collections::HashMap::new();
        for c in cases {
            for m in store.case_messages(c.id).await.unwrap() {
                if let Some(id) = m.message_id {
                    placed.insert(id, (c.id, c.case_ref.clone()));
                }
            }
        }
        placed
    });
    let mut case_of: Vec<Option<i64>> = vec![None; g.notices];
    let mut wrong = Vec::new();
    for (_, raw, role) in &g.mails {
        let id = outer_message_id(raw);
        let Some((case, _)) = placed.get(&id) else {
            wrong.push(format!("{role:?} {id}: in no case"));
            continue;
        };
        match role {
            Role::Notice(i) => case_of[*i] = Some(*case),
            Role::FollowUp(_) => {}
        }
    }
    for (_, raw, role) in &g.mails {
        if let Role::FollowUp(i) = role {
            let id = outer_message_id(raw);
            if placed.get(&id).map(|p| p.0) != case_of[*i] {
                wrong.push(format!("follow-up {id} not with notice {i}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{} misplaced: {wrong:#?}", wrong.len());
    let distinct: std::collections::HashSet<i64> = case_of.iter().flatten().copied().collect();
    assert_eq!(distinct.len(), g.notices, "each notice its own case");
    let cases = s.cases();
    assert_eq!(
        cases.len(),
        g.notices,
        "exactly one case per distinct notice"
    );
    for c in &cases {
        let systems: Vec<String> = serde_json::from_value(c["systems"].clone()).unwrap_or_default();
        assert!(!systems.is_empty(), "{c}");
        for sys in &systems {
            assert!(
                !sups.iter().any(|s| s.company.starts_with(sys.as_str())),
                "company read as a system: {c}"
            );
        }
    }
}

/// `dela` by reply: a supplier's mail that the series rule put into a case
/// is another incident. The official answers "dela" to the mail that told
/// of it; the message moves into a new case with its own clock (from its own
/// receipt, not the case's), route, opening notice and acknowledgement;
/// both timelines say so; the first case keeps its clock. Someone off the
/// roster cannot do it.
#[test]
fn a_message_is_split_out_of_its_case_by_reply() {
    let s = setup(Knobs::default());
    let _d = s.start();
    s.forward(3, "Dataintrång hos Provdata");
    processed(&s, 1);
    let a = s.cases()[0]["ref"].as_str().unwrap().to_string();
    let a_aware = s.case(&a)["aware_at"].clone();
    supplier_mail(
        &s,
        "Provdata Drift <drift@provdata.example>",
        "Uppdatering om incidenten i ProvWeb",
        "",
        "text/plain",
        "Uppdatering: vi har nu stängt angriparens åtkomst till ProvWeb. Utredningen fortsätter.\r\n\r\nProvdata Sverige AB",
    );
    processed(&s, 2);
    assert_eq!(s.cases().len(), 1);
    assert_eq!(links(&s, &a), ["series"]);
    let told = wait_for(30, "the official is told of the new message", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.text.contains("Uppdatering om incidenten i ProvWeb"))
    });
    assert!(told.text.contains("\"dela\""), "{}", told.text);

    // Staff are not on the case's roster: recorded, nothing moves.
    let n = s.events(&a).len();
    s.reply(
        "staff",
        Some(&told.message_id),
        &format!("SV: {}", told.subject),
        "dela",
    );
    s.wait_event(&a, n, "command_unauthorised");
    assert_eq!(s.cases().len(), 1);

    let ev = s.command(
        &a,
        &told,
        "dela: annan incident enligt leverantören",
        "case_split",
    );
    let b = ev["data"]["new_case"]
        .as_str()
        .expect("the new case's number")
        .to_string();
    assert_ne!(a, b);
    assert_eq!(ev["data"]["why"], "annan incident enligt leverantören");
    let cases = s.cases();
    assert_eq!(cases.len(), 2, "{cases:#?}");
    let subjects = |r: &str| -> Vec<String> {
        s.case(r)["message_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["subject"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(subjects(&b), ["Uppdatering om incidenten i ProvWeb"]);
    assert!(
        !subjects(&a)
            .iter()
            .any(|x| x == "Uppdatering om incidenten i ProvWeb"),
        "{:?}",
        subjects(&a)
    );
    // Its own clock: from its receipt (minutes ago), not the forward's
    // three hours; the first case keeps its own.
    let bc = s.case(&b);
    assert_eq!(s.case(&a)["aware_at"], a_aware);
    let b_aware: DateTime<Utc> = bc["aware_at"].as_str().unwrap().parse().unwrap();
    let first: DateTime<Utc> = a_aware.as_str().unwrap().parse().unwrap();
    assert!(b_aware > first + Duration::hours(2), "{b_aware} vs {first}");
    assert!(b_aware <= Utc::now());
    let said: DateTime<Utc> = ev["data"]["new_aware_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(said, b_aware, "the timeline says the new clock");
    // Both timelines record it.
    let opened = s.wait_event(&b, 0, "case_opened");
    assert_eq!(opened["data"]["split_from"], serde_json::json!(a));
    let from = s.wait_event(&b, 0, "split_from");
    assert_eq!(from["data"]["from"], serde_json::json!(a));
    // Its own opening notice (naming where it came from), the DPO's
    // acknowledgement of a supplier's direct mail, and the answer.
    let notice = wait_for(30, "the new case's opening notice", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.subject.contains("Ny personuppgiftsincident") && m.subject.contains(&b))
    });
    assert!(
        notice.text.contains(&format!("Delat ur ärende {a}")),
        "{}",
        notice.text
    );
    wait_for(30, "the DPO's acknowledgement of the new case", || {
        s.mails("dpo", "")
            .into_iter()
            .find(|m| m.subject.contains(&b))
    });
    let done = wait_for(30, "the answer to the command", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.subject.starts_with("Utfört") && m.text.contains("nytt ärende"))
    });
    assert!(done.text.contains(&a), "{}", done.text);
    wait_for(30, "the deputy is told", || {
        s.mails("deputy", "")
            .into_iter()
            .find(|m| m.text.contains("flyttat ur ärende"))
    });
    // The only message of the new case cannot be split again.
    s.command(&b, &notice, "split", "command_refused");
    assert!(s.cli(&["register", "verify"]).contains("register intact"));
}

// ------------------------------------------------------------ group commit

/// The generated mix (with copies, a second copy of one notice's bytes and an
/// unreadable message) handled as ONE backlog: once message by message, once
/// read in parallel and written in group transactions
/// (`Pipeline::handle_batch`). Every message must end the same way, with the
/// same case numbers: a group decides exactly as one message at a time.
async fn groups_decide_as_one_by_one(url_one: &str, url_group: &str) {
    use breachwatch::workers::ingest::read_all;
    let (_, g) = generate(29);
    let at: DateTime<Utc> = "2026-12-01T09:00:00Z".parse().unwrap();
    let mut mails: Vec<(DateTime<Utc>, Vec<u8>)> = g
        .mails
        .iter()
        .map(|(t, raw, _)| (*t, raw.as_bytes().to_vec()))
        .collect();
    // The same bytes twice in one group, and bytes that are no message.
    let copy = mails[3].clone();
    mails.insert(5, copy);
    mails.insert(9, (at, b"\x00\x01 no header at all".to_vec()));
    // Large mail among the notices: a group's register rows then take several
    // INSERTs (at most 1 MiB of raw mail each), each row known by its hash.
    for (k, i) in [12usize, 13, 14, 30].into_iter().enumerate() {
        let big = format!(
            "From: Kim <kim@example.test>\r\nTo: breach@example.test\r\nSubject: Protokoll {k}\r\n\
Date: Mon, 30 Nov 2026 10:00:00 +0100\r\nMessage-ID: <big-{k}@example.test>\r\n\r\n{}\r\n",
            format!("Protokoll från mötet, del {k}. ").repeat(14_000)
        );
        mails.insert(i, (at, big.into_bytes()));
    }
    let one = pipeline(url_one).await;
    let mut by_one = Vec::new();
    for (t, raw) in &mails {
        by_one.push(one.handle(raw, Some(*t), None, at).await.unwrap());
    }
    let grouped = pipeline(url_group).await;
    let reads = read_all(
        grouped.cfg.read_options(),
        mails
            .iter()
            .map(|(t, raw)| (raw.clone(), Some(*t), None))
            .collect(),
    )
    .await;
    let stop = tokio_util::sync::CancellationToken::new();
    let mut times = breachwatch::workers::ingest::WriteTimes::default();
    let (by_group, err) = grouped
        .handle_batch_timed(&reads, &stop, Some(at), &mut times)
        .await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(by_group.len(), mails.len());
    // Every group was written as a group (none again one by one), in fewer
    // transactions than messages.
    assert_eq!(times.fallbacks, 0, "{times:?}");
    assert!(times.groups < mails.len() / 2, "{times:?}");
    // The cases the messages attach to are read one query a group, not one
    // a message.
    let attached = by_group
        .iter()
        .filter(|h| matches!(h, Handled::Attached(_)))
        .count();
    assert!(attached > times.groups, "{attached} attached, {times:?}");
    assert!(times.case_reads <= times.groups, "{times:?}");
    let differ: Vec<String> = by_one
        .iter()
        .zip(&by_group)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| format!("{i}: one by one {a:?}, grouped {b:?}"))
        .collect();
    assert!(differ.is_empty(), "{differ:#?}");
    assert!(by_group.contains(&Handled::Duplicate));
    assert!(by_group
        .iter()
        .any(|h| matches!(h, Handled::Quarantined(_))));
    let (a, b) = (
        one.store.list_cases().await.unwrap(),
        grouped.store.list_cases().await.unwrap(),
    );
    assert_eq!(a.len(), b.len());
    assert!(a.len() >= 170);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((&x.case_ref, &x.systems), (&y.case_ref, &y.systems));
        // The same messages on each case: every register row went to its case.
        let ids = |rows: Vec<breachwatch::store::MessageRow>| -> Vec<Option<String>> {
            rows.into_iter().map(|m| m.message_id).collect()
        };
        assert_eq!(
            ids(one.store.case_messages(x.id).await.unwrap()),
            ids(grouped.store.case_messages(y.id).await.unwrap()),
            "{}",
            x.case_ref
        );
        // The same timeline, hash for hash: each event's register number
        // and the case row it seals are what one by one wrote (the group's
        // new cases are written a kind of write at a time).
        let hashes = |evs: Vec<breachwatch::store::EventRow>| -> Vec<(i64, String, String)> {
            evs.into_iter()
                .map(|e| (e.seq, e.kind.as_str().to_string(), e.hash))
                .collect()
        };
        assert_eq!(
            hashes(one.store.case_events(x.id).await.unwrap()),
            hashes(grouped.store.case_events(y.id).await.unwrap()),
            "{}",
            x.case_ref
        );
    }
    for p in [&one, &grouped] {
        let report = breachwatch::register::verify(&p.store, None).await.unwrap();
        assert!(report.problems().is_empty(), "{:?}", report.problems());
    }
}

#[tokio::test]
async fn a_mix_in_group_commits_decides_as_one_by_one_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    groups_decide_as_one_by_one(
        &format!("sqlite://{}/one.db", dir.path().display()),
        &format!("sqlite://{}/group.db", dir.path().display()),
    )
    .await;
}

#[tokio::test]
async fn a_mix_in_group_commits_decides_as_one_by_one_on_postgres() {
    crate::harness::with_pg(|a| async move {
        crate::harness::with_pg(|b| async move { groups_decide_as_one_by_one(&a, &b).await }).await
    })
    .await;
}

/// A group whose transaction fails is written message by message: the
/// messages before the failing one are recorded once, the failing one stops
/// the batch (it stays for the next pass, like any store error), and a second
/// pass over the whole batch records the rest without a duplicate.
#[tokio::test]
async fn a_failing_group_is_written_one_by_one_and_loses_nothing() {
    use breachwatch::workers::ingest::read_all;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/poison.db", dir.path().display());
    let p = pipeline(&url).await;
    let (_, g) = generate(31);
    let at: DateTime<Utc> = "2026-12-01T09:00:00Z".parse().unwrap();
    let batch: Vec<breachwatch::workers::ingest::RawMessage> = g.mails[..12]
        .iter()
        .map(|(t, raw, _)| (raw.as_bytes().to_vec(), Some(*t), None))
        .collect();
    let reads = read_all(p.cfg.read_options(), batch).await;
    let poison = match &reads[6].notice {
        Ok(n) => n.message_id.clone().unwrap(),
        Err(e) => panic!("{e}"),
    };
    let poison = poison.trim_matches(['<', '>']).to_string();
    // The store refuses exactly one message's row (as a fault of the store).
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.message_id = '{poison}' \
         BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
    )))
    .execute(&pool)
    .await
    .unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let (handled, err) = p.handle_batch(&reads, &stop, Some(at)).await;
    assert_eq!(handled.len(), 6, "{handled:?}");
    assert!(err.is_some());
    let recorded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(recorded, 6, "the messages before the failing one, once");
    sqlx::query("DROP TRIGGER poison")
        .execute(&pool)
        .await
        .unwrap();
    let (again, err) = p.handle_batch(&reads, &stop, Some(at)).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(again.len(), 12);
    assert!(
        again[..6].iter().all(|h| *h == Handled::Duplicate),
        "{again:?}"
    );
    assert!(
        again[6..].iter().all(|h| *h != Handled::Duplicate),
        "{again:?}"
    );
    let recorded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(recorded, 12, "every message once");
}
