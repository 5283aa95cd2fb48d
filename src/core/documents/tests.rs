//! Unit tests of the document content: every variant's wording and placeholders.

use super::*;
use crate::core::documents::{RiskAssessment, RiskLevel};

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
    // The municipality above the committee, as in the seeds' header.
    assert!(text.contains("\n\nVallsjö kommun\nKommunstyrelsen\nDatum: 2021-06-23\n"));
    assert!(text
        .contains("- Från personuppgiftsbiträde: Anmälan om dataintrång, inkom den 18 juni 2021"));
    assert!(text.contains("namn, personnummer och hälso- och sjukvårdsuppgifter"));
    assert!(text.contains("punkt Ö:29-Ö:30."));
    assert!(text.contains("Dataskyddsombud (Security Solution Scandinavia AB)"));
    assert!(text.contains(
        "den 16 juni 2021 kl.\u{a0}20.20 – den 18 juni 2021 kl.\u{a0}16.07. Tiderna är angivna i svensk tid."
    ));
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
    // No number yet: the committee's series of the year, the number blank.
    assert!(text.contains("Diarienummer: KS 2021/____\n"));
    for p in [
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
    assert!(
        w.contains("- Anmälan till Integritetsskyddsmyndigheten (IMY), skickad den 22 juni 2021\n")
    );
    assert!(w.contains("- Från personuppgiftsbiträde: Slutrapport, inkom den 24 juni 2021\n"));
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
    // One figure from the supplier is an estimate: the interval, flagged.
    let a = q23(&case);
    assert_eq!(a.answer.as_deref(), Some("1 - 10"));
    assert!(a.flag.as_deref().unwrap_or("").contains("cirka 7"));
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

#[test]
fn a_withdrawal_states_only_what_the_case_holds() {
    // With the final report (none of ours affected): cited by its date, with
    // the date of the notification and IMY's reference.
    let w = decision(&sample::seed_001_withdrawn(), Outcome::Withdraw).to_text();
    assert!(w.contains("skickades till Integritetsskyddsmyndigheten (IMY) den 22 juni 2021 och har där diarienummer IMY-2021-4711."));
    assert!(w.contains("Av personuppgiftsbiträdets slutrapport, som inkom den 24 juni 2021, framgår att inga av personuppgiftsansvarigs registrerade är drabbade"));
    assert!(!w.contains("Det är fastställt av personuppgiftsbiträdet"));
    // Without a final report: a marked blank, and no claim in the motivation.
    let mut no_report = sample::seed_001_withdrawn();
    no_report.messages.retain(|m| m.subject != "Slutrapport");
    no_report.imy_reference = None;
    no_report.imy_notified_at = None;
    let w = decision(&no_report, Outcome::Withdraw).to_text();
    assert!(!w.contains("framgår att inga"));
    assert!(!w.contains("Det är fastställt"));
    assert!(!w.contains("eftersom inga registrerade"));
    assert!(w.contains("[Skäl för återtagandet: vad som visar"));
    assert!(w.contains("den [datum då anmälan skickades: att fylla i]"));
    assert!(w.contains("[IMY:s diarienummer: att fylla i]"));
    assert!(w.contains("återtas eftersom [skäl för återtagandet: att fylla i]."));
    // A final report whose finding is not on the case: cited, finding blank.
    let mut unread = sample::seed_001_withdrawn();
    unread.facts.data_subjects = None;
    for m in &mut unread.messages {
        m.none_of_ours = false;
    }
    let w = decision(&unread, Outcome::Withdraw).to_text();
    assert!(w.contains("inkom den 24 juni 2021. [Vad slutrapporten visar"));
    // The report's own finding (read when it arrived) is enough, even when
    // the case's facts are still the first notice's; a titled report is
    // cited by its title, once, with no doubled comma.
    let mut titled = sample::seed_001_withdrawn();
    titled.facts.data_subjects = None;
    for m in &mut titled.messages {
        if m.subject == "Slutrapport" {
            m.subject = "Slutrapport – dataintrång i LabPortalen".into();
        }
    }
    let w = decision(&titled, Outcome::Withdraw).to_text();
    assert!(w.contains("Av personuppgiftsbiträdets slutrapport ”Slutrapport – dataintrång i LabPortalen”, som inkom den 24 juni 2021, framgår att inga"), "{w}");
    assert!(!w.contains(",,"));
    assert!(w.contains(
        "inkom slutrapport från personuppgiftsbiträdet: ”Slutrapport – dataintrång i LabPortalen”"
    ));
}

#[test]
fn an_approximate_count_stays_approximate() {
    let case = sample::notice_07();
    let text = decision(&case, Outcome::Notify).to_text();
    assert!(text.contains("berör enligt personuppgiftsbiträdet cirka 640 registrerade."));
    assert!(!text.contains("berör 640"));
    let q23 = &imy_form(&case, Outcome::Notify).answers[22];
    assert_eq!(q23.answer.as_deref(), Some("101 - 1 000"));
    assert!(q23.flag.as_deref().unwrap_or("").contains("cirka 640"));
    assert!(!imy_form(&case, Outcome::Notify)
        .to_text()
        .contains("Exakt antal registrerade: 640"));
}

#[test]
fn questions_33_to_35_never_contradict_each_other() {
    // No assessment yet: 33, 34 and 35 all open.
    let case = sample::notice_07();
    let f = imy_form(&case, Outcome::Notify);
    for no in [33usize, 34, 35] {
        let a = &f.answers[no - 1];
        assert!(a.missing, "question {no} should be open");
        assert_ne!(a.answer.as_deref(), Some("Ej tillämpligt"), "question {no}");
    }
    // Informing: 33 yes, 34 open, 35 not applicable.
    let f = imy_form(&case, Outcome::NotifyInform);
    assert_eq!(f.answers[32].answer.as_deref(), Some("Ja"));
    assert!(f.answers[33].missing);
    assert_eq!(f.answers[34].answer.as_deref(), Some("Ej tillämpligt"));
    // A risk that is not high: 33 no, 34 not applicable, 35 the reason.
    let mut risk = case.clone();
    risk.risk = Some(RiskAssessment {
        level: RiskLevel::Risk,
        reasoning: None,
    });
    let f = imy_form(&risk, Outcome::Notify);
    assert_eq!(f.answers[32].answer.as_deref(), Some("Nej"));
    assert_eq!(f.answers[33].answer.as_deref(), Some("Ej tillämpligt"));
    assert!(!f.answers[34].missing);
}

#[test]
fn a_supplier_outside_the_eea_has_no_org_number_and_the_transfer_is_flagged() {
    let case = sample::notice_07();
    let q22 = &imy_form(&case, Outcome::Notify).answers[21];
    let answer = q22.answer.as_deref().unwrap_or("");
    assert!(answer.starts_with("Brightline Survey, Inc."));
    assert!(!answer.contains("organisationsnummer [att fylla i]"));
    assert!(q22.flag.as_deref().unwrap_or("").contains("tredjeland"));
    let text = decision(&case, Outcome::Notify).to_text();
    assert!(text.contains("[Överföring till tredjeland:"));
    // A Swedish supplier keeps the number to fill in and no transfer note.
    let seed = sample::seed_001();
    let q22 = &imy_form(&seed, Outcome::Notify).answers[21];
    assert!(q22
        .answer
        .as_deref()
        .unwrap_or("")
        .contains("organisationsnummer [att fylla i]"));
    assert!(!decision(&seed, Outcome::Notify)
        .to_text()
        .contains("tredjeland"));
}

#[test]
fn the_forward_is_told_in_bakgrund_and_offered_as_the_reason_for_delay() {
    let case = sample::notice_07();
    let text = decision(&case, Outcome::Notify).to_text();
    assert!(
        text.contains("Den 10 september 2025 kl.\u{a0}08.12 vidarebefordrade Sara Nyström meddelandet från personuppgiftsbiträdet, som kommit in till kommunen den 9 september 2025 kl.\u{a0}23.47, till dem som hanterar personuppgiftsincidenter."),
        "{text}"
    );
    // On time: nothing about a delay.
    assert!(!text.contains("Skälen till dröjsmålet"), "{text}");
    // Late, without a recorded reason: the forward is the draft of question 14
    // and of the decision's reason, with the rest left blank.
    let mut late = case.clone();
    late.generated_at = late.deadline_at + chrono::Duration::hours(2);
    let q14 = &imy_form(&late, Outcome::Notify).answers[13];
    let a = q14.answer.as_deref().unwrap_or("");
    assert!(a.contains("kom in till kommunen 2025-09-09 kl. 23:47 men vidarebefordrades till dem som hanterar personuppgiftsincidenter först 2025-09-10 kl. 08:12"), "{a}");
    assert!(q14.missing && a.contains("[Övriga skäl till dröjsmålet: att fylla i]"));
    let text = decision(&late, Outcome::Notify).to_text();
    assert!(
        text.contains("Skälen till dröjsmålet: Personuppgiftsbiträdets meddelande kom in"),
        "{text}"
    );
    // A recorded reason wins.
    late.delay_reason = Some("Leverantören rapporterade sent.".into());
    assert_eq!(
        imy_form(&late, Outcome::Notify).answers[13]
            .answer
            .as_deref(),
        Some("Leverantören rapporterade sent.")
    );
    // No forward: no such sentence.
    let mut direct = case;
    direct.forward = None;
    assert!(!decision(&direct, Outcome::Notify)
        .to_text()
        .contains("vidarebefordrade"));
}

fn answer(f: &ImyForm, no: u8) -> &imy::Answer {
    f.answers.iter().find(|a| a.no == no).expect("question")
}

#[test]
fn the_notices_groups_area_measures_and_cause_reach_the_form_and_the_decision() {
    let case = sample::notice_07();
    let f = imy_form(&case, Outcome::Notify);
    // 25: the group the notice names, with a flag to check for more.
    let q25 = answer(&f, 25);
    assert_eq!(
        q25.answer.as_deref(),
        Some("- Anställda hos den personuppgiftsansvarige")
    );
    assert!(!q25.missing && q25.flag.is_some());
    // 30: the supplier's measures, quoted as written, at the notice's time.
    let q30 = answer(&f, 30).answer.clone().unwrap_or_default();
    assert!(
        q30.contains(
            "2025-09-09 kl. 23:47 – Personuppgiftsbiträdet uppger: ”We revoked the compromised key"
        ),
        "{q30}"
    );
    assert!(q30.contains("”We have also notified law enforcement.”"));
    // 18: the kind and the supplier's own words (the misused API key).
    let q18 = answer(&f, 18).answer.clone().unwrap_or_default();
    assert!(
        q18.starts_with(
            "Antagonistiskt angrepp\nPersonuppgiftsbiträdets beskrivning: ”On September 8"
        ),
        "{q18}"
    );
    assert!(q18.contains("an API key belonging to one of our integration partners"));
    // 20: no area named and none configured is the blank, never a guess.
    let mut bare = case.clone();
    bare.controller.activity_area = None;
    let q20 = answer(&imy_form(&bare, Outcome::Notify), 20).clone();
    assert!(q20.answer.is_none() && q20.missing);
    // The decision: the group in Skäl, cause and measures in Bakgrund.
    let text = decision(&case, Outcome::Notify).to_text();
    assert!(
        text.contains("De registrerade är enligt meddelandet anställda."),
        "{text}"
    );
    assert!(text.contains("Personuppgiftsbiträdet beskriver det så här: ”On September 8"));
    assert!(text.contains(
        "Personuppgiftsbiträdet uppger att det har vidtagit följande åtgärder: ”We revoked the compromised key"
    ));
}

#[test]
fn seed_001s_area_is_the_notices_and_its_groups_the_patients() {
    let case = sample::seed_001();
    let f = imy_form(&case, Outcome::Notify);
    assert_eq!(
        answer(&f, 20).answer.as_deref(),
        Some("Hälso- och sjukvård (företagshälsovård)")
    );
    assert_eq!(answer(&f, 25).answer.as_deref(), Some("- Patienter"));
    // Without the notice's area the committee's configured one is used.
    let mut c = case.clone();
    c.details.activity_area = None;
    assert_eq!(
        answer(&imy_form(&c, Outcome::Notify), 20).answer.as_deref(),
        Some("Företagshälsovård")
    );
}

#[test]
fn facts_the_notice_does_not_give_are_marked_blanks() {
    let mut case = sample::notice_07();
    case.details = Default::default();
    let f = imy_form(&case, Outcome::Notify);
    assert!(answer(&f, 25).answer.is_none() && answer(&f, 25).missing);
    assert!(f.open_items.iter().any(|i| i.starts_with("25. ")));
    assert_eq!(
        answer(&f, 18).answer.as_deref(),
        Some("Antagonistiskt angrepp")
    );
    let d = decision(&case, Outcome::Notify);
    let text = d.to_text();
    assert!(text.contains("De registrerade är [vilka grupper de registrerade tillhör"));
    assert!(d.open_items.iter().any(|i| i.contains("vilka grupper")));
    assert!(!text.contains("vidtagit följande åtgärder"));
    assert!(!text.contains("beskriver det så här"));
}

#[test]
fn the_suppliers_reference_is_cited_with_its_notice_in_underlag() {
    let mut case = sample::seed_001();
    case.details.supplier_reference = Some("INC-2021-0042".into());
    let text = decision(&case, Outcome::Notify).to_text();
    assert!(text.contains(
        "- Från personuppgiftsbiträde: Anmälan om dataintrång, inkom den 18 juni 2021, personuppgiftsbiträdets referens INC-2021-0042\n"
    ), "{text}");
    // Once, with the first notice only.
    assert_eq!(text.matches("INC-2021-0042").count(), 1);
}

#[test]
fn notify_inform_cites_the_points_for_art_33_and_34_and_one_point_serves_both() {
    let mut case = sample::seed_001();
    case.delegation_point = Some("2.2 PU:3".into());
    case.delegation_point_art34 = Some("2.2 PU:4".into());
    let d = decision(&case, Outcome::NotifyInform);
    assert_eq!(
        d.signature.delegation,
        "Beslutet fattat med stöd av nämndens delegationsordning, punkt 2.2 PU:3 (artikel 33 i dataskyddsförordningen) och punkt 2.2 PU:4 (artikel 34 i dataskyddsförordningen)."
    );
    // Notify alone rests on art. 33 only.
    assert_eq!(
        decision(&case, Outcome::Notify).signature.delegation,
        "Beslutet fattat med stöd av nämndens delegationsordning, punkt 2.2 PU:3."
    );
    // An older configuration with one point: it is cited for both articles.
    case.delegation_point_art34 = None;
    assert_eq!(
        decision(&case, Outcome::NotifyInform).signature.delegation,
        "Beslutet fattat med stöd av nämndens delegationsordning, punkt 2.2 PU:3 (artiklarna 33 och 34 i dataskyddsförordningen)."
    );
}

#[test]
fn notify_inform_says_who_is_informed_first_and_how_as_marked_blanks() {
    let case = sample::seed_001();
    let d = decision(&case, Outcome::NotifyInform);
    let text = d.to_text();
    assert!(text.contains("I första skedet informeras [vilka registrerade som informeras först"));
    assert!(d
        .open_items
        .iter()
        .any(|i| i.starts_with("[vilka registrerade som informeras först")));
    assert!(d
        .open_items
        .iter()
        .any(|i| i.starts_with("[hur de informeras")));
    // The same blanks answer IMY question 34, which stays open.
    let f = imy_form(&case, Outcome::NotifyInform);
    let q34 = answer(&f, 34);
    assert!(q34.missing);
    assert!(q34
        .answer
        .as_deref()
        .unwrap_or("")
        .contains("I första skedet informeras ["));
    // The other outcomes do not inform.
    assert!(!decision(&case, Outcome::Notify)
        .to_text()
        .contains("I första skedet"));
}

/// Dates the notice gives without a time (its discovery "den 4 december",
/// its period "1 till 3 december") are written as dates in the IMY form and
/// the decision, not as "00:00" and "23:59"; a time given stays.
#[test]
fn dates_the_notice_gives_without_a_time_are_written_as_dates() {
    let mut case = sample::seed_001();
    let t = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    case.facts.discovered_at = Some(t("2026-12-03T23:00:00Z"));
    case.facts.occurred_from = Some(t("2026-11-30T23:00:00Z"));
    case.facts.occurred_to = Some(t("2026-12-03T22:59:59Z"));
    case.facts.ongoing = Some(false);
    let f = imy_form(&case, Outcome::Notify);
    assert_eq!(answer(&f, 10).answer.as_deref(), Some("2026-12-01"));
    assert_eq!(answer(&f, 13).answer.as_deref(), Some("2026-12-03"));
    let q11 = answer(&f, 11).answer.clone().unwrap_or_default();
    assert!(q11.ends_with("upptäckte incidenten 2026-12-04."), "{q11}");
    let text = decision(&case, Outcome::Notify).to_text();
    assert!(
        text.contains(
            "upptäckte incidenten den 4 december 2026. Incidenten pågick under perioden \
             1–3 december 2026."
        ),
        "{text}"
    );
    assert!(!text.contains("00.00") && !text.contains("23.59"), "{text}");
    // A discovery with its time keeps it.
    case.facts.discovered_at = Some(t("2026-12-04T13:30:00Z"));
    let q11 = imy_form(&case, Outcome::Notify);
    let q11 = answer(&q11, 11).answer.clone().unwrap_or_default();
    assert!(
        q11.ends_with("upptäckte incidenten 2026-12-04 kl. 14:30."),
        "{q11}"
    );
}
