//! A complete sample [`CaseFile`] with the facts of seed 001 (Infosolutions
//! Sverige AB, LabPortalen/eRemiss, Kommunstyrelsen, KS 2021/0590). It is the
//! golden tests' input, and `Templates::load` renders every template against it
//! so a template that names a field that does not exist fails at `check-config`.

use chrono::{NaiveDate, TimeZone, Utc};

use super::model::{
    CaseFile, Forward, Organisation, Person, PostalAddress, Processor, ReceivedMessage,
    RiskAssessment, RiskLevel, TimelineEvent,
};
use crate::core::notice::details::Details;
use crate::core::notice::{Cause, Incident, Range};
use crate::core::types::CaseRef;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> chrono::DateTime<Utc> {
    // Constant, valid dates; `single()` keeps this total without unwrap.
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .unwrap_or_default()
}

/// Seed 001 as of the first decision (2021-06-23): notify IMY, late, subjects
/// not yet known. Times are UTC; Stockholm was UTC+2 in June 2021.
pub fn seed_001() -> CaseFile {
    CaseFile {
        case_ref: CaseRef::new("PUI", 2021, 1),
        diarienummer: Some("KS 2021/0590".into()),
        diarie_prefix: Some("KS".into()),
        committee: "Kommunstyrelsen".into(),
        delegation_point: Some("Ö:29-Ö:30".into()),
        delegation_point_art34: None,
        official: Person {
            name: Some("Thobias Wall".into()),
            title: Some("tf. avdelningschef".into()),
            email: Some("thobias.wall@vallsjo.kommun.example".into()),
            phone: None,
        },
        dpo: Person {
            name: Some("Security Solution Scandinavia AB".into()),
            title: None,
            email: Some("dso@securitysolution.example".into()),
            phone: None,
        },
        preparation: Some("I beredningen av detta ärende har deltagit Maria Skogh jurist, David Bogaeus informationssäkerhetssamordnare, Pia Majing Laugesen tf. verksamhetschef, Alexandra Papadopoulou medicinskt ledningsansvarig läkare. Dataskyddsombudet har informerats om det inträffade.".into()),
        date: NaiveDate::from_ymd_opt(2021, 6, 23).unwrap_or_default(),
        generated_at: utc(2021, 6, 23, 10, 0),
        tz: chrono_tz::Europe::Stockholm,
        aware_at: utc(2021, 6, 18, 18, 5),
        deadline_at: utc(2021, 6, 21, 18, 5),
        processor: Processor {
            organisation: Some("Infosolutions Sverige AB".into()),
            number: None,
            email: Some("noreply@infosolutions.example".into()),
        },
        messages: vec![
            ReceivedMessage {
                subject: "Anmälan om dataintrång".into(),
                received_at: utc(2021, 6, 18, 18, 5),
                from: "Infosolutions Sverige AB <noreply@infosolutions.example>".into(),
                summary: Some("E-posten skickades till en medarbetare på IT och digitalisering men berörde Företagshälsovården.".into()),
                follow_up: false,
                none_of_ours: false,
            },
            ReceivedMessage {
                subject: "Kompletterande information om dataintrång".into(),
                received_at: utc(2021, 6, 21, 15, 41),
                from: "Infosolutions Sverige AB <noreply@infosolutions.example>".into(),
                summary: Some("Biträdet uppger att ingen data har raderats eller ändrats men att omfattningen av åtkomsten inte med säkerhet kan påvisas.".into()),
                follow_up: true,
                none_of_ours: false,
            },
            ReceivedMessage {
                subject: "Kompletterande information om dataintrång ang antal registrerade".into(),
                received_at: utc(2021, 6, 23, 6, 58),
                from: "Infosolutions Sverige AB <noreply@infosolutions.example>".into(),
                summary: None,
                follow_up: true,
                none_of_ours: false,
            },
            ReceivedMessage {
                subject: "Ytterligare kompletterande information om dataintrång ang antal registrerade".into(),
                received_at: utc(2021, 6, 23, 9, 25),
                from: "Infosolutions Sverige AB <noreply@infosolutions.example>".into(),
                summary: Some("Antalet berörda registrerade är ännu inte känt men färre än först befarat.".into()),
                follow_up: true,
                none_of_ours: false,
            },
        ],
        facts: Incident {
            discovered_at: Some(utc(2021, 6, 17, 12, 7)),
            occurred_from: Some(utc(2021, 6, 16, 18, 20)),
            occurred_to: Some(utc(2021, 6, 18, 14, 7)),
            ongoing: Some(false),
            systems: vec!["LabPortalen".into(), "eRemiss".into()],
            data_categories: vec![
                "identification".into(),
                "personal_identity_number".into(),
                "health".into(),
            ],
            data_subjects: None,
            cause: Some(Cause::Attack),
        },
        // Seed 001 names the patients and the occupational health service; it
        // gives no measures of the supplier and no reference of its own.
        details: Details {
            subject_groups: vec!["patients".into()],
            activity_area: Some("occupational_health".into()),
            ..Details::default()
        },
        risk: Some(RiskAssessment {
            level: RiskLevel::Risk,
            reasoning: Some("Genom intrånget bedöms sannolikheten som hög för att personuppgifter röjts till obehöriga. Personuppgiftsbiträdet har ännu inte kunnat svara på hur många registrerade som drabbats.".into()),
        }),
        delay_reason: Some("Personuppgiftsbiträdets e-post inkom en fredag kväll till en medarbetare på IT och lästes först måndag morgon. Därefter krävdes kompletterande uppgifter från biträdet för att utreda hur kommunens registrerade berördes.".into()),
        imy_reference: None,
        imy_notified_at: None,
        timeline: vec![
            TimelineEvent {
                at: utc(2021, 6, 21, 5, 9),
                text: "Medarbetaren på IT skickade det inkomna meddelandet till tf. verksamhetschef för företagshälsovården. Utredning påbörjades omgående.".into(),
            },
            TimelineEvent {
                at: utc(2021, 6, 22, 13, 28),
                text: "Tf. verksamhetschef ställde kompletterande frågor till personuppgiftsbiträdet om hur många av kommunens registrerade som påverkats av incidenten.".into(),
            },
        ],
        // The forward is on the timeline above, as seed 001 tells it.
        forward: None,
        controller: Organisation {
            name: Some("Vallsjö kommun".into()),
            number: None,
            address: Some(PostalAddress {
                street: Some("Box 100".into()),
                postcode: Some("123 45".into()),
                city: Some("Vallsjö".into()),
                country: Some("Sverige".into()),
            }),
            activity_area: Some("Företagshälsovård".into()),
        },
    }
}

/// Seed 001 as of the withdrawal (2021-06-24): notified on the 22nd, the
/// processor's final report shows none of ours affected.
pub fn seed_001_withdrawn() -> CaseFile {
    let mut c = seed_001();
    c.date = NaiveDate::from_ymd_opt(2021, 6, 24).unwrap_or_default();
    c.generated_at = utc(2021, 6, 24, 8, 0);
    c.imy_notified_at = Some(utc(2021, 6, 22, 14, 0));
    c.imy_reference = Some("IMY-2021-4711".into());
    c.messages.push(ReceivedMessage {
        subject: "Slutrapport".into(),
        received_at: utc(2021, 6, 24, 6, 25),
        from: "Infosolutions Sverige AB <noreply@infosolutions.example>".into(),
        summary: Some("Slutrapporten visar att inga av personuppgiftsansvarigs registrerade har berörts av incidenten.".into()),
        follow_up: true,
        none_of_ours: true,
    });
    c.facts.data_subjects = Some(Range {
        min: Some(0),
        max: Some(0),
    });
    c
}

/// Shared notice 07 (an English notice from a US supplier, forwarded from
/// Gmail) as opened: "Approximately 640 respondents", no assessment yet. The
/// approximation, the non-EU supplier and the undecided questions 33-35 are
/// tested on it.
pub fn notice_07() -> CaseFile {
    let mut c = seed_001();
    c.case_ref = CaseRef::new("PUI", 2025, 7);
    c.diarienummer = None;
    c.date = NaiveDate::from_ymd_opt(2025, 9, 10).unwrap_or_default();
    c.generated_at = utc(2025, 9, 10, 6, 13);
    c.aware_at = utc(2025, 9, 9, 21, 47);
    c.deadline_at = utc(2025, 9, 12, 21, 47);
    c.processor = Processor {
        organisation: Some("Brightline Survey, Inc.".into()),
        number: None,
        email: Some("security@brightline.test".into()),
    };
    c.messages = vec![ReceivedMessage {
        subject: "Notice of Data Security Incident".into(),
        received_at: utc(2025, 9, 9, 21, 47),
        from: "Brightline Survey, Inc. <security@brightline.test>".into(),
        summary: None,
        follow_up: false,
        none_of_ours: false,
    }];
    c.facts = Incident {
        discovered_at: Some(utc(2025, 9, 8, 19, 15)),
        occurred_from: Some(utc(2025, 9, 6, 5, 2)),
        occurred_to: Some(utc(2025, 9, 8, 19, 40)),
        ongoing: Some(false),
        systems: vec!["Brightline Insights".into()],
        data_categories: vec!["identification".into(), "contact_details".into()],
        data_subjects: Some(Range {
            min: Some(640),
            max: Some(640),
        }),
        cause: Some(Cause::Attack),
    };
    c.details = Details {
        subject_groups: vec!["employees".into()],
        activity_area: None,
        measures: vec![
            "We revoked the compromised key, rotated all partner credentials and engaged an outside cybersecurity firm.".into(),
            "We have also notified law enforcement.".into(),
        ],
        cause_text: Some("On September 8, 2025, at 3:15 p.m. Eastern Time, our engineering team discovered that an API key belonging to one of our integration partners had been used by an unauthorized third party to query the Brightline Insights reporting database.".into()),
        supplier_reference: None,
    };
    c.risk = None;
    c.delay_reason = None;
    c.timeline = Vec::new();
    c.forward = Some(Forward {
        by: "Sara Nyström".into(),
        at: Utc
            .with_ymd_and_hms(2025, 9, 10, 6, 12, 55)
            .single()
            .unwrap_or_default(),
    });
    c
}
