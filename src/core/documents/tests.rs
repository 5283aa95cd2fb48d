//! Unit tests of the document content: every variant's wording and placeholders.

use super::*;

#[test]
fn notify_variant_follows_the_seed() {
    let case = sample::seed_001();
    let d = decision(&case, Outcome::Notify);
    let text = d.to_text();
    assert!(text.starts_with("Beslut gällande anmälan om personuppgiftsincident\n"));
    for h in decision::HEADINGS {
        assert!(text.contains(&format!("\n{h}\n")), "missing heading {h}");
    }
    assert!(text.contains("Kommunstyrelsen beslutar att anmäla personuppgiftsincidenten till Integritetsskyddsmyndigheten (IMY)"));
    assert!(text.contains("Diarienummer: KS 2021/0590"));
    assert!(text.contains("- Från personuppgiftsbiträde: Anmälan om dataintrång, inkom 2021-06-18"));
    assert!(text.contains("namn, personnummer och hälso- och sjukvårdsuppgifter"));
    assert!(text.contains("punkt Ö:29-Ö:30."));
    assert!(text.contains("Dataskyddsombud (Security Solution Scandinavia AB)"));
    assert!(text.contains("2021-06-16 kl. 20:20 – 2021-06-18 kl. 16:07"));
    // Generated after the deadline: the lateness and its reason are stated.
    assert!(text.contains("Anmälan görs senare än 72 timmar"));
}

#[test]
fn missing_values_show_visible_placeholders() {
    let mut case = sample::seed_001();
    case.diarienummer = None;
    case.official.title = None;
    case.delegation_point = None;
    case.preparation = None;
    case.risk = None;
    case.facts.data_categories.clear();
    case.messages.clear();
    let text = decision(&case, Outcome::Notify).to_text();
    for p in [
        "[diarienummer]",
        "[titel]",
        "[punkt]",
        "[Beredning: att fylla i]",
        "[Riskbedömning: att fylla i]",
        "[personuppgifter: att fylla i]",
        "[Underlag: att fylla i]",
    ] {
        assert!(text.contains(p), "missing placeholder {p}");
    }
}

#[test]
fn each_outcome_has_its_decision_sentence() {
    let case = sample::seed_001();
    let t = |o| decision(&case, o).to_text();
    assert!(t(Outcome::NotifyInform).contains("beslutar att informera de registrerade"));
    let no = t(Outcome::NoNotify);
    assert!(no.starts_with("Beslut gällande personuppgiftsincident\n"));
    assert!(no.contains("beslutar att inte anmäla"));
    assert!(!no.contains("senare än 72 timmar"));
    let w = decision(&sample::seed_001_withdrawn(), Outcome::Withdraw).to_text();
    assert!(w.contains("beslutar att återta anmälan om personuppgiftsincident till Integritetsskyddsmyndigheten (IMY) (IMY:s diarienummer IMY-2021-4711)."));
    assert!(w.contains("- Anmälan till Integritetsskyddsmyndigheten (IMY), skickad 2021-06-22\n"));
    assert!(w.contains("- Från personuppgiftsbiträde: Slutrapport, inkom 2021-06-24\n"));
}

#[test]
fn imy_form_has_37_answers_and_flags_lateness() {
    let case = sample::seed_001();
    let f = imy_form(&case, Outcome::Notify);
    assert_eq!(f.answers.len(), 37);
    for (i, a) in f.answers.iter().enumerate() {
        assert_eq!(a.no as usize, i + 1);
    }
    let q14 = &f.answers[13];
    assert!(q14
        .flag
        .as_deref()
        .unwrap_or("")
        .contains("2021-06-21 kl. 20:05"));
    assert!(q14.answer.as_deref().unwrap_or("").contains("fredag kväll"));
    // On time: no flag, a plain "not applicable".
    let mut early = case.clone();
    early.generated_at = early.aware_at + chrono::Duration::hours(10);
    let f = imy_form(&early, Outcome::Notify);
    assert!(f.answers[13].flag.is_none());
    assert!(!f.answers[13].missing);
    // Late without a recorded reason: flagged and missing.
    let mut late = case.clone();
    late.delay_reason = None;
    let f = imy_form(&late, Outcome::Notify);
    assert!(f.answers[13].missing && f.answers[13].flag.is_some());
    assert!(f
        .to_text()
        .contains("14. Om er anmälan kommer in senare än 72 timmar"));
}

#[test]
fn question_23_maps_counts_to_the_forms_ranges() {
    use crate::core::notice::Range;
    let mut case = sample::seed_001();
    let q23 = |c: &CaseFile| imy_form(c, Outcome::Notify).answers[22].clone();
    assert!(q23(&case).missing);
    case.facts.data_subjects = Some(Range {
        min: Some(7),
        max: Some(7),
    });
    assert_eq!(
        q23(&case).answer.as_deref(),
        Some("Exakt antal registrerade: 7 (intervall 1 - 10)")
    );
    case.facts.data_subjects = Some(Range {
        min: Some(1000),
        max: Some(10000),
    });
    let a = q23(&case);
    assert_eq!(a.answer.as_deref(), Some("1 001 - 10 000"));
    assert!(a.flag.is_some());
    case.facts.data_subjects = Some(Range {
        min: None,
        max: Some(500),
    });
    assert_eq!(q23(&case).answer.as_deref(), Some("101 - 1 000"));
}

#[test]
fn json_has_stable_keys() {
    let f = imy_form(&sample::seed_001(), Outcome::Notify);
    let v: serde_json::Value = serde_json::from_str(&f.to_json()).expect("json");
    assert_eq!(v["schema"], "breachwatch.imy/1");
    assert_eq!(v["deadline_at"], "2021-06-21T20:05:00+02:00");
    assert_eq!(v["late"], true);
    let a = &v["answers"][0];
    for k in [
        "no", "section", "question", "required", "answer", "missing", "flag",
    ] {
        assert!(a.get(k).is_some(), "key {k}");
    }
    assert_eq!(v["answers"][23]["answer"], serde_json::Value::Null);
}
