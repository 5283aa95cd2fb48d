//! Tests of the rendered files: golden outputs of every variant (regenerate with
//! `UPDATE_GOLDEN=1 cargo test --lib render`), the .docx as an OOXML package,
//! the .ics through a real parser, determinism and template errors.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::*;
use crate::core::documents::{sample, RiskAssessment, RiskLevel};

fn case_for(outcome: Outcome) -> CaseFile {
    match outcome {
        Outcome::Notify => sample::seed_001(),
        Outcome::NotifyInform => {
            let mut c = sample::seed_001();
            c.risk = Some(RiskAssessment {
                level: RiskLevel::High,
                reasoning: Some("Provsvar och personnummer kan ha röjts till obehöriga, vilket kan leda till identitetsstöld och förlust av konfidentialitet för uppgifter som omfattas av sekretess.".into()),
            });
            c
        }
        Outcome::NoNotify => {
            let mut c = sample::seed_001();
            c.risk = Some(RiskAssessment {
                level: RiskLevel::None,
                reasoning: Some("Uppgifterna var krypterade och nyckeln har inte röjts.".into()),
            });
            c
        }
        Outcome::Withdraw => sample::seed_001_withdrawn(),
    }
}

fn sv() -> Templates {
    Templates::builtin(Language::Sv).expect("built-in sv templates")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/documents")
}

/// Compares with the stored file, printing a line diff; `UPDATE_GOLDEN=1`
/// rewrites the file instead.
fn golden(name: &str, actual: &str) {
    let path = fixtures().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(fixtures()).expect("create fixtures dir");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let (e, a): (Vec<&str>, Vec<&str>) =
            (expected.split('\n').collect(), actual.split('\n').collect());
        let mut diff = String::new();
        for i in 0..e.len().max(a.len()) {
            let (x, y) = (e.get(i), a.get(i));
            if x != y {
                if let Some(x) = x {
                    diff.push_str(&format!("{:>4} - {x}\n", i + 1));
                }
                if let Some(y) = y {
                    diff.push_str(&format!("{:>4} + {y}\n", i + 1));
                }
            }
        }
        panic!(
            "{} differs (- expected, + actual; UPDATE_GOLDEN=1 to accept):\n{diff}",
            path.display()
        );
    }
}

fn doc<'a>(docs: &'a [Document], suffix: &str) -> &'a Document {
    docs.iter()
        .find(|d| d.file_name.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix} in bundle"))
}

fn utf8(d: &Document) -> &str {
    std::str::from_utf8(&d.bytes).expect("utf-8")
}

#[test]
fn golden_outputs_of_every_variant() {
    let t = sv();
    let mut hashes = String::new();
    for outcome in Outcome::ALL {
        let case = case_for(outcome);
        let docs = bundle(&case, &t, outcome).expect("bundle");
        let slug = outcome.slug();
        golden(&format!("decision-{slug}.txt"), utf8(doc(&docs, ".txt")));
        golden(&format!("calendar-{slug}.ics"), utf8(doc(&docs, ".ics")));
        if outcome.notifies() {
            let imy: Vec<&Document> = docs
                .iter()
                .filter(|d| d.file_name.starts_with("IMY-"))
                .collect();
            assert_eq!(imy.len(), 3);
            for d in imy {
                let ext = d.file_name.rsplit('.').next().unwrap_or("");
                golden(&format!("imy-{slug}.{ext}"), utf8(d));
            }
        } else {
            assert!(!docs.iter().any(|d| d.file_name.starts_with("IMY-")));
        }
        for d in &docs {
            hashes.push_str(&format!("{}  {}\n", d.sha256, d.file_name));
        }
    }
    // The .docx too: deterministic bytes give stable hashes across runs.
    golden("sha256sums.txt", &hashes);
}

#[test]
fn bundle_names_types_and_checksums() {
    let case = sample::seed_001();
    let docs = bundle(&case, &sv(), Outcome::Notify).expect("bundle");
    let names: Vec<&str> = docs.iter().map(|d| d.file_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Beslut-anmalan-PUI-2021-0001.docx",
            "Beslut-anmalan-PUI-2021-0001.txt",
            "IMY-anmalan-PUI-2021-0001.txt",
            "IMY-anmalan-PUI-2021-0001.html",
            "IMY-anmalan-PUI-2021-0001.json",
            "Tidsfrist-PUI-2021-0001.ics",
        ]
    );
    assert_eq!(docs[0].media_type, MEDIA_DOCX);
    for d in &docs {
        assert_eq!(d.sha256, sha256_hex(&d.bytes));
        assert_eq!(d.sha256.len(), 64);
    }
    assert_eq!(checksums(&docs).len(), docs.len());
    // Same input, same bytes: the recorded checksums can be verified later.
    let again = bundle(&case, &sv(), Outcome::Notify).expect("bundle");
    assert_eq!(docs, again);
}

#[test]
fn template_text_equals_core_text() {
    // The shipped Swedish templates lay out exactly what core renders, so the
    // mail body, the archive copy and the tests agree.
    let t = sv();
    for outcome in Outcome::ALL {
        let case = case_for(outcome);
        let d = decision(&case, outcome);
        assert_eq!(
            t.decision_text(&d).expect("render"),
            d.to_text(),
            "{outcome:?}"
        );
        let f = imy_form(&case, outcome);
        assert_eq!(t.imy_text(&f).expect("render"), f.to_text(), "{outcome:?}");
    }
}

fn zip_parts(bytes: &[u8]) -> Vec<(String, String)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip package");
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).expect("zip entry");
        let mut s = String::new();
        if f.name().ends_with(".xml") || f.name().ends_with(".rels") {
            f.read_to_string(&mut s).expect("utf-8 part");
        }
        out.push((f.name().to_string(), s));
    }
    out
}

/// Parses the XML fully (quick-xml checks that end tags match) and returns
/// the text content, unescaped.
fn xml_text(name: &str, xml: &str) -> String {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut text = String::new();
    let mut depth = 0i64;
    loop {
        match r.read_event() {
            Ok(quick_xml::events::Event::Start(_)) => depth += 1,
            Ok(quick_xml::events::Event::End(_)) => {
                depth -= 1;
                // Element boundaries separate texts; entity references inside
                // one text node must not.
                text.push('\n');
            }
            Ok(quick_xml::events::Event::Text(t)) => {
                let t = t.decode().unwrap_or_else(|e| panic!("{name}: {e}"));
                text.push_str(
                    &quick_xml::escape::unescape(&t).unwrap_or_else(|e| panic!("{name}: {e}")),
                );
            }
            Ok(quick_xml::events::Event::GeneralRef(g)) => {
                let g = g.decode().unwrap_or_else(|e| panic!("{name}: {e}"));
                text.push_str(
                    &quick_xml::escape::unescape(&format!("&{g};"))
                        .unwrap_or_else(|e| panic!("{name}: {e}")),
                );
            }
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("{name} is not well-formed XML: {e}"),
        }
    }
    assert_eq!(depth, 0, "{name}: unbalanced elements");
    text
}

#[test]
fn docx_is_a_valid_package_with_every_section() {
    for outcome in Outcome::ALL {
        let case = case_for(outcome);
        let d = decision(&case, outcome);
        let bytes = docx::decision_docx(&d, case.date, "Thobias Wall").expect("docx");
        let parts = zip_parts(&bytes);
        let names: Vec<&str> = parts.iter().map(|(n, _)| n.as_str()).collect();
        for required in [
            "[Content_Types].xml",
            "_rels/.rels",
            "word/document.xml",
            "word/styles.xml",
        ] {
            assert!(names.contains(&required), "{required} missing: {names:?}");
        }
        let mut all_text = String::new();
        let mut body = String::new();
        for (name, xml) in &parts {
            if name.ends_with(".xml") || name.ends_with(".rels") {
                let t = xml_text(name, xml);
                if name == "word/document.xml" {
                    body = t.clone();
                }
                all_text.push_str(&t);
            }
        }
        for h in crate::core::documents::decision::HEADINGS {
            assert!(
                body.contains(h),
                "{outcome:?}: heading {h} not in document.xml"
            );
        }
        for v in [
            d.title.as_str(),
            "Kommunstyrelsen beslutar att",
            "Enligt nämndens uppdrag,",
            "Thobias Wall",
            "tf. avdelningschef",
            "punkt Ö:29-Ö:30",
            "Dataskyddsombud (Security Solution Scandinavia AB)",
            "Från personuppgiftsbiträde: Anmälan om dataintrång, inkom den 18 juni 2021",
        ] {
            assert!(body.contains(v), "{outcome:?}: {v} not in document.xml");
        }
        // Date and diarienummer sit in the page header, as in the seeds.
        for v in [
            "KS 2021/0590",
            d.date.as_str(),
            "Diarienummer",
            "Vallsjö kommun",
        ] {
            assert!(all_text.contains(v), "{outcome:?}: {v} not in the package");
        }
        let core = parts
            .iter()
            .find(|(n, _)| n == "docProps/core.xml")
            .map(|(_, x)| x.as_str())
            .unwrap_or("");
        assert!(
            core.contains(&format!("{}T00:00:00Z", d.date)),
            "created/modified from the decision date"
        );
    }
}

#[test]
fn docx_has_one_normal_style_swedish_language_an_author_and_highlighted_blanks() {
    let mut case = sample::seed_001();
    case.diarienummer = None;
    case.official.title = None;
    let d = decision(&case, Outcome::Notify);
    let bytes = docx::decision_docx(&d, case.date, "Anna <Ö> & Co").expect("docx");
    let parts = zip_parts(&bytes);
    let part = |name: &str| {
        parts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, x)| x.clone())
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let styles = part("word/styles.xml");
    xml_text("styles.xml", &styles);
    assert_eq!(
        styles.matches(r#"w:styleId="Normal""#).count(),
        1,
        "one Normal style: {styles}"
    );
    assert!(styles.contains(r#"<w:lang w:val="sv-SE""#), "{styles}");
    let core = part("docProps/core.xml");
    xml_text("core.xml", &core);
    assert!(
        core.contains("<dc:creator>Anna &lt;Ö&gt; &amp; Co</dc:creator>"),
        "{core}"
    );
    assert!(
        core.contains("<cp:lastModifiedBy>Anna &lt;Ö&gt; &amp; Co</cp:lastModifiedBy>"),
        "{core}"
    );
    assert!(core.contains("<dc:language>sv-SE</dc:language>"), "{core}");
    // Every blank is a highlighted run of its own: the title placeholder in
    // the body and the series' blank number in the header.
    let doc = part("word/document.xml");
    let highlighted = |xml: &str, t: &str| {
        xml.contains(r#"<w:highlight w:val="yellow" />"#)
            && xml
                .split("<w:r>")
                .any(|run| run.contains("w:highlight") && run.contains(&format!(">{t}</w:t>")))
    };
    assert!(highlighted(&doc, "[titel]"), "{doc}");
    let header = parts
        .iter()
        .filter(|(n, _)| n.starts_with("word/header"))
        .map(|(_, x)| x.as_str())
        .collect::<String>();
    assert!(highlighted(&header, "____"), "{header}");
    // Plain text is not highlighted.
    assert!(!doc
        .split("<w:r>")
        .any(|run| run.contains("w:highlight") && run.contains("Enligt nämndens uppdrag")));
}

#[test]
fn docx_escapes_markup_in_values() {
    let mut case = sample::seed_001();
    case.committee = "Vård- & omsorgsnämnden <VOO>".into();
    let d = decision(&case, Outcome::Notify);
    let bytes = docx::decision_docx(&d, case.date, "Thobias Wall").expect("docx");
    let parts = zip_parts(&bytes);
    let (_, xml) = parts
        .iter()
        .find(|(n, _)| n == "word/document.xml")
        .expect("document.xml");
    assert!(xml_text("document.xml", xml).contains("Vård- & omsorgsnämnden <VOO> beslutar"));
}

fn parse_ics(text: &str) -> icalendar::Calendar {
    text.parse::<icalendar::Calendar>()
        .expect("parses as iCalendar")
}

fn first_event(cal: &icalendar::Calendar) -> icalendar::Event {
    cal.components
        .iter()
        .find_map(|c| match c {
            icalendar::CalendarComponent::Event(e) => Some(e.clone()),
            _ => None,
        })
        .expect("a VEVENT")
}

#[test]
fn ics_parses_with_deadline_alarm_and_stable_uid() {
    use icalendar::{CalendarDateTime, Component, DatePerhapsTime};
    // Generated 10 hours after awareness: both alarms are still ahead.
    let mut case = sample::seed_001();
    case.generated_at = case.aware_at + chrono::Duration::hours(10);
    let docs = bundle(&case, &sv(), Outcome::Notify).expect("bundle");
    let text = utf8(doc(&docs, ".ics"));
    assert!(
        text.contains("\r\n") && !text.replace("\r\n", "").contains('\n'),
        "CRLF lines"
    );
    let cal = parse_ics(text);
    let ev = first_event(&cal);
    // A one-hour block that ends at the deadline.
    assert_eq!(
        ev.get_end(),
        Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(
            case.deadline_at
        )))
    );
    assert_eq!(
        ev.get_start(),
        Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(
            case.deadline_at - chrono::Duration::hours(1)
        )))
    );
    assert_eq!(ev.get_uid(), Some("PUI-2021-0001@breachwatch"));
    assert_eq!(ev.get_timestamp(), Some(case.generated_at));
    let alarms: Vec<_> = ev
        .components()
        .iter()
        .filter(|c| c.component_kind() == "VALARM")
        .collect();
    assert_eq!(alarms.len(), 2, "{text}");
    assert_eq!(alarms[0].property_value("TRIGGER"), Some("-PT24H"));
    assert_eq!(alarms[1].property_value("TRIGGER"), Some("-PT2H"));
    for a in &alarms {
        assert_eq!(a.property_value("ACTION"), Some("DISPLAY"));
    }
    assert!(text.contains("TRIGGER;RELATED=END:-PT24H\r\n"), "{text}");
    let seq1 = ev.get_sequence().expect("SEQUENCE");

    // A later render with other content keeps the UID and raises SEQUENCE.
    let mut later = case.clone();
    later.committee = "Vård- och omsorgsnämnden".into();
    later.generated_at += chrono::Duration::hours(5);
    let docs2 = bundle(&later, &sv(), Outcome::Notify).expect("bundle");
    let text2 = utf8(doc(&docs2, ".ics"));
    assert_ne!(text, text2);
    let ev2 = first_event(&parse_ics(text2));
    assert_eq!(ev2.get_uid(), ev.get_uid());
    assert!(ev2.get_sequence().expect("SEQUENCE") > seq1);
    assert!(ev2
        .get_summary()
        .unwrap_or("")
        .contains("Vård- och omsorgsnämnden"));
}

#[test]
fn ics_is_cancelled_when_the_clock_stops() {
    use icalendar::Component;
    let case = case_for(Outcome::NoNotify);
    let docs = bundle(&case, &sv(), Outcome::NoNotify).expect("bundle");
    let ev = first_event(&parse_ics(utf8(doc(&docs, ".ics"))));
    assert_eq!(ev.property_value("STATUS"), Some("CANCELLED"));
    assert_eq!(ev.get_uid(), Some("PUI-2021-0001@breachwatch"));
    assert!(
        ev.components().is_empty(),
        "no alarm on a cancelled deadline"
    );
}

#[test]
fn html_escapes_and_marks_missing() {
    let mut case = sample::seed_001();
    case.processor.organisation = Some("Evil <script>alert(1)</script> AB".into());
    let f = imy_form(&case, Outcome::Notify);
    let html = sv().imy_html(&f).expect("html");
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;"));
    assert!(html.contains("class=\"answer missing\""));
    assert!(html.contains("id=\"q37\""));
    // A blank inside an answer is marked, escaped like the rest.
    assert!(
        html.contains("Evil &lt;script&gt;alert(1)&lt;/script&gt; AB, organisationsnummer <mark><span style=\"background: #ffeb3b; font-weight: bold\">[att fylla i]</span></mark>"),
        "{html}"
    );
    // The questions still open are listed at the end, marked.
    assert!(
        html.contains("<li><mark><span style=\"background: #ffeb3b; font-weight: bold\">2. Organisationsnummer</span></mark></li>"),
        "{html}"
    );
    // No machine timestamp in the document.
    assert!(html.contains("Skapat: 2021-06-23 kl. 12:00"), "{html}");
}

fn copy_sv(dir: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/templates/sv");
    for name in TEMPLATE_FILES {
        std::fs::copy(src.join(name), dir.join(name)).expect("copy template");
    }
}

#[test]
fn shipped_directories_load_and_match_the_built_in_sets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/templates");
    let case = sample::seed_001();
    for (dir, lang) in [("sv", Language::Sv), ("en", Language::En)] {
        let loaded = Templates::load(&root.join(dir)).expect("shipped set loads");
        let builtin = Templates::builtin(lang).expect("built-in set");
        let a = bundle(&case, &loaded, Outcome::Notify).expect("bundle");
        let b = bundle(&case, &builtin, Outcome::Notify).expect("bundle");
        assert_eq!(a, b, "{dir}: directory and embedded copy differ");
    }
    let en = Templates::builtin(Language::En).expect("en");
    let f = imy_form(&case, Outcome::Notify);
    assert!(en
        .imy_text(&f)
        .expect("text")
        .starts_with("Draft: personal data breach notification"));
}

#[test]
fn a_missing_template_is_reported_with_its_file_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_sv(dir.path());
    std::fs::remove_file(dir.path().join(IMY_HTML_NAME)).expect("remove");
    let err = Templates::load(dir.path()).expect_err("must fail");
    assert!(matches!(err, TemplateError::Missing { .. }), "{err:?}");
    assert_eq!(err.file(), dir.path().join(IMY_HTML_NAME));
    assert!(err.to_string().contains("imy.html.j2 is missing"), "{err}");

    let err = Templates::load(&dir.path().join("nope")).expect_err("must fail");
    assert!(matches!(err, TemplateError::Dir { .. }), "{err:?}");
    assert!(err.to_string().contains("nope"), "{err}");
}

const IMY_HTML_NAME: &str = templates::IMY_HTML;

#[test]
fn a_broken_template_is_reported_with_its_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_sv(dir.path());
    let file = dir.path().join(templates::DECISION_TXT);
    std::fs::write(&file, "{{ decision.title }}\n\n{% for s in %}\n").expect("write");
    let err = Templates::load(dir.path()).expect_err("syntax error");
    let msg = err.to_string();
    assert!(msg.contains("decision.txt.j2 is broken at line 3"), "{msg}");
    assert!(matches!(err, TemplateError::Broken { line: Some(3), .. }));

    // A misspelt variable is caught at load time too, not when a case is decided.
    std::fs::write(&file, "{{ decision.titel }}\n").expect("write");
    let err = Templates::load(dir.path()).expect_err("undefined variable");
    assert!(
        err.to_string()
            .contains("decision.txt.j2 is broken at line 1"),
        "{err}"
    );

    let cal = dir.path().join(templates::CALENDAR_TXT);
    copy_sv(dir.path());
    std::fs::write(&cal, "{{ case.deadline | nosuchfilter }}\n").expect("write");
    let err = Templates::load(dir.path()).expect_err("unknown filter");
    assert!(
        err.to_string().contains("calendar.txt.j2 is broken"),
        "{err}"
    );
}

#[test]
fn a_case_with_nothing_known_still_renders_with_placeholders() {
    use crate::core::documents::{Organisation, Person, Processor};
    use crate::core::notice::Incident;
    use crate::core::types::CaseRef;
    let at = sample::seed_001().aware_at;
    let case = CaseFile {
        case_ref: CaseRef::new("PUI", 2026, 7),
        diarienummer: None,
        diarie_prefix: None,
        committee: "Vård- och omsorgsnämnden".into(),
        delegation_point: None,
        delegation_point_art34: None,
        official: Person::default(),
        dpo: Person::default(),
        preparation: None,
        date: at.date_naive(),
        generated_at: at,
        tz: chrono_tz::Europe::Stockholm,
        aware_at: at,
        deadline_at: crate::core::clock::deadline(at),
        processor: Processor::default(),
        messages: vec![],
        facts: Incident::default(),
        details: Default::default(),
        risk: None,
        delay_reason: None,
        imy_reference: None,
        imy_notified_at: None,
        timeline: vec![],
        forward: None,
        controller: Organisation::default(),
    };
    for outcome in Outcome::ALL {
        let docs = bundle(&case, &sv(), outcome).expect("bundle");
        let text = utf8(doc(&docs, ".txt"));
        for p in [
            "[diarienummer]",
            "[namn]",
            "[titel]",
            "[punkt]",
            "[dataskyddsombud]",
        ] {
            assert!(text.contains(p), "{outcome:?}: {p}");
        }
        zip_parts(&doc(&docs, ".docx").bytes);
    }
    let f = imy_form(&case, Outcome::Notify);
    assert_eq!(f.answers.len(), 37);
    assert!(f.answers.iter().filter(|a| a.missing).count() > 20);
    assert!(f.to_text().contains("[att fylla i]"));
}

#[test]
fn language_names_parse() {
    assert_eq!("sv".parse::<Language>(), Ok(Language::Sv));
    assert_eq!(" EN ".parse::<Language>(), Ok(Language::En));
    assert!("de".parse::<Language>().is_err());
    assert!(Templates::from_config(None, Language::En).is_ok());
}

/// Writes every variant's bundle to `$DOCS_OUT` for a look in Word or
/// LibreOffice: `DOCS_OUT=/tmp/docs cargo test --lib render -- --ignored`.
#[test]
#[ignore]
fn write_samples_for_manual_check() {
    let Some(out) = std::env::var_os("DOCS_OUT") else {
        return;
    };
    let out = PathBuf::from(out);
    for outcome in Outcome::ALL {
        let dir = out.join(outcome.slug());
        std::fs::create_dir_all(&dir).expect("mkdir");
        for d in bundle(&case_for(outcome), &sv(), outcome).expect("bundle") {
            std::fs::write(dir.join(&d.file_name), &d.bytes).expect("write");
        }
    }
    // Shared notice 07 as opened: blanks, an estimate, a supplier outside the EU/EEA.
    let dir = out.join("notice-07");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for d in bundle(&sample::notice_07(), &sv(), Outcome::Notify).expect("bundle") {
        std::fs::write(dir.join(&d.file_name), &d.bytes).expect("write");
    }
}

#[test]
fn small_texts_read_as_an_official_writes_them() {
    // "Inc." ends the sentence once.
    let (_, description) = sv()
        .calendar_text(&sample::notice_07(), Outcome::Notify)
        .expect("calendar");
    assert!(
        description.contains("Personuppgiftsbiträde: Brightline Survey, Inc.\n"),
        "{description}"
    );
    assert!(!description.contains(".."), "{description}");
    // No reason recorded: the sentence is the blank, not "label: [label: …]".
    let mut late = sample::seed_001();
    late.delay_reason = None;
    let text = sv()
        .decision_text(&decision(&late, Outcome::Notify))
        .expect("text");
    assert!(
        text.contains("[Skälen till dröjsmålet: att fylla i]"),
        "{text}"
    );
    assert!(!text.contains("Skälen till dröjsmålet: ["), "{text}");
    // Every blank is listed at the end of the text version.
    assert!(
        text.ends_with("Att fylla i före beslut:\n- [Skälen till dröjsmålet: att fylla i]\n"),
        "{text}"
    );
    let mut blank = sample::seed_001();
    blank.diarienummer = None;
    blank.official.title = None;
    let text = sv()
        .decision_text(&decision(&blank, Outcome::Notify))
        .expect("text");
    assert!(
        text.ends_with("Att fylla i före beslut:\n- Diarienummer: KS 2021/____\n- [titel]\n"),
        "{text}"
    );
    // A finished draft has no list.
    let done = sv()
        .decision_text(&decision(&sample::seed_001(), Outcome::Notify))
        .expect("text");
    assert!(!done.contains("Att fylla i före beslut"), "{done}");
    // The IMY form: no colon after a time, no machine timestamp.
    let form = sv()
        .imy_text(&imy_form(&late, Outcome::Notify))
        .expect("form");
    assert!(
        form.contains("gick ut 2021-06-21 kl. 20:05. Anmälan är alltså sen"),
        "{form}"
    );
    assert!(form.contains("Skapat: 2021-06-23 kl. 12:00\n"), "{form}");
    assert!(
        form.contains("\nAtt fylla i innan anmälan skickas:\n- 2. Organisationsnummer\n"),
        "{form}"
    );
}

mod stats {
    //! `breachwatch stats` over a generated year of cases, compared with golden
    //! files (text sv/en, CSV, JSON, HTML with its charts).
    use super::golden;
    use crate::core::regime::Nis2Status;
    use crate::core::stats::{year_report, CaseStat, Outcome};
    use crate::render::{stats, Language};
    use chrono::{Duration, TimeZone, Utc};
    use chrono_tz::Tz;

    /// A year of cases from a fixed seed (a small LCG: no `rand` version drift
    /// can change the golden files), plus cases just outside the year.
    pub fn generated_year() -> Vec<CaseStat> {
        let mut seed: u64 = 0x0020_26b7_eac4;
        let mut next = move |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let committees = [
            "Kommunstyrelsen",
            "Socialnämnden",
            "Barn- och utbildningsnämnden",
            "Miljö- och byggnadsnämnden",
        ];
        let suppliers = [
            "LabPortalen AB",
            "Trygghetslarm Norden AB",
            "Skolplattformen Sverige AB",
            "Brightline Survey, Inc.",
            "",
        ];
        let causes = ["attack", "human_error", "technical_fault", ""];
        let cats = [
            "identification",
            "personal_identity_number",
            "health",
            "contact_details",
            "credentials",
            "children_private_circumstances",
        ];
        let mut out = Vec::new();
        for i in 0..96u64 {
            let start = Utc
                .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .single()
                .expect("valid");
            let aware = start + Duration::minutes((next(365 * 24 * 60)) as i64);
            let mut c = CaseStat {
                case_ref: format!("PUI-2026-{:04}", i + 1),
                aware_at: aware,
                committee: committees[next(4) as usize].into(),
                supplier: Some(suppliers[next(5) as usize].to_string()).filter(|s| !s.is_empty()),
                cause: Some(causes[next(4) as usize].to_string()).filter(|s| !s.is_empty()),
                data_categories: (0..next(3) + 1)
                    .map(|_| cats[next(6) as usize].to_string())
                    .collect(),
                outcome: Outcome::Undecided,
                decided_at: None,
                reported_at: None,
                delay_reason: None,
                nis2: Default::default(),
            };
            match next(10) {
                0 => {}
                1..=4 => {
                    c.decided_at = Some(aware + Duration::minutes(60 + next(70 * 60) as i64));
                    c.outcome = Outcome::NotNotified;
                }
                k => {
                    let decided = aware + Duration::minutes(60 + next(80 * 60) as i64);
                    c.decided_at = Some(decided);
                    c.reported_at = Some(decided + Duration::minutes(next(180) as i64));
                    c.outcome = match k {
                        5 | 6 => Outcome::Notified,
                        7 | 8 => Outcome::NotifiedAndInformed,
                        _ => Outcome::Withdrawn,
                    };
                    if c.reported_at
                        .is_some_and(|r| r - aware > Duration::hours(72))
                        && next(3) > 0
                    {
                        c.delay_reason =
                            Some("Meddelandet låg i IT-supportens brevlåda över helgen.".into());
                    }
                }
            }
            out.push(c);
        }
        // NIS2 on the attacks, derived from what is drawn above (no more
        // draws, so the GDPR figures stay as they were): every third applies
        // and goes through the reports (some late, one still ongoing at the
        // month mark), every third is only suggested, the rest decided not to apply.
        for (i, c) in out.iter_mut().enumerate() {
            if c.cause.as_deref() != Some("attack") {
                continue;
            }
            let i = i as i64;
            let aware = c.aware_at;
            c.nis2.reasons = vec![crate::core::regime::Nis2Reason::Cyberattack {
                word: "ransomware".into(),
            }];
            match i % 3 {
                0 => {
                    let notified = aware + Duration::hours(40 + (i % 5) * 9);
                    c.nis2.status = Nis2Status::Applies;
                    c.nis2.early_warning_sent_at = Some(aware + Duration::hours(6 + i % 23));
                    c.nis2.notification_sent_at = Some(notified);
                    if i % 2 == 0 {
                        c.nis2.progress_report_sent_at = Some(notified + Duration::days(30));
                        c.nis2.handled_at = Some(notified + Duration::days(45));
                    } else {
                        c.nis2.handled_at = Some(notified + Duration::days(10));
                        c.nis2.final_report_sent_at = Some(notified + Duration::days(18 + i % 17));
                    }
                }
                1 => c.nis2.status = Nis2Status::Suggested,
                _ => c.nis2.status = Nis2Status::DoesNotApply,
            }
        }
        // Outside 2026 in Swedish time (the first is 23:59 local on New Year's Eve).
        for (r, at) in [
            (
                "PUI-2025-0099",
                Utc.with_ymd_and_hms(2025, 12, 31, 22, 59, 0),
            ),
            (
                "PUI-2027-0001",
                Utc.with_ymd_and_hms(2026, 12, 31, 23, 0, 0),
            ),
        ] {
            let mut c = out[0].clone();
            c.case_ref = r.into();
            c.aware_at = at.single().expect("valid");
            out.push(c);
        }
        out
    }

    fn report() -> crate::core::stats::YearReport {
        let tz: Tz = "Europe/Stockholm".parse().expect("zone");
        year_report(&generated_year(), 2026, tz)
    }

    #[test]
    fn a_generated_year_matches_the_golden_text_csv_and_json() {
        let r = report();
        assert_eq!(r.cases, 96, "the two cases outside 2026 are left out");
        assert_eq!(r.per_month.iter().sum::<usize>(), 96);
        golden("stats-2026.sv.txt", &stats::text(&r, Language::Sv));
        golden("stats-2026.en.txt", &stats::text(&r, Language::En));
        golden("stats-2026.csv", &stats::csv(&r));
        golden(
            "stats-2026.json",
            &format!(
                "{}\n",
                serde_json::to_string_pretty(&stats::json(&r)).expect("json")
            ),
        );
    }

    #[test]
    fn the_html_has_seven_charts_and_escapes_every_name() {
        let mut cases = generated_year();
        cases[0].committee = "<script>alert(1)</script>".into();
        let tz: Tz = "Europe/Stockholm".parse().expect("zone");
        let r = year_report(&cases, 2026, tz);
        let html = stats::html(&r, Language::Sv);
        assert_eq!(html.matches("<svg").count(), 7);
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        golden("stats-2026.sv.html", &stats::html(&report(), Language::Sv));
    }
}
