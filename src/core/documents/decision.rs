//! The draft delegation decision as data: title, header, the sections of seeds
//! 000–002 (Beslut, Bakgrund, Skäl för beslut, Beslutsmotivering, Beredning,
//! Underlag för beslutet) and the signature block, worded per [`Outcome`], plus
//! its plain-text rendering. Renderers (.docx, templates) only lay this out;
//! every sentence is decided here so all formats say the same thing.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::model::{CaseFile, Outcome, RiskLevel};
use super::words::{
    category_words, cause_phrase, date_long_at, datetime_long, establishment, given,
    is_extra_protected, is_final_report, is_sensitive, join_sv, number_sv, placeholders,
    Establishment, Style,
};
use crate::core::notice::details::group_noun;

pub const H_BESLUT: &str = "Beslut";
pub const H_BAKGRUND: &str = "Bakgrund";
pub const H_SKAL: &str = "Skäl för beslut";
pub const H_MOTIVERING: &str = "Beslutsmotivering";
pub const H_BEREDNING: &str = "Beredning";
pub const H_UNDERLAG: &str = "Underlag för beslutet";

/// Every section heading, in document order.
pub const HEADINGS: [&str; 6] = [
    H_BESLUT,
    H_BAKGRUND,
    H_SKAL,
    H_MOTIVERING,
    H_BEREDNING,
    H_UNDERLAG,
];

const IMY: &str = "Integritetsskyddsmyndigheten (IMY)";

const LEGAL_BASIS: &str = "Beslutet fattas utifrån personuppgiftsansvarigs skyldigheter i artiklarna 33-34 i EU:s dataskyddsförordning. Beslutet upprättas utifrån kraven i 31-32 §§ förvaltningslagen.";

/// A piece of a section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    Paragraph { text: String },
    List { items: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    pub heading: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signature {
    /// "Enligt nämndens uppdrag,"
    pub closing: String,
    pub name: String,
    pub title: String,
    /// "Beslutet fattat med stöd av nämndens delegationsordning, punkt …."
    pub delegation: String,
    /// "Beslutet skickas till:"
    pub recipients_heading: String,
    pub recipients: Vec<String>,
}

/// The whole draft decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DraftDecision {
    pub outcome: Outcome,
    pub title: String,
    /// The municipality (the configured controller, "Vallsjö kommun"); None
    /// when not configured. Shown above the committee, as in the seeds' header.
    pub controller: Option<String>,
    pub committee: String,
    /// "2021-06-23"
    pub date: String,
    /// The diarienummer or the visible placeholder `[diarienummer]`.
    pub diarienummer: String,
    pub case_ref: String,
    pub sections: Vec<Section>,
    pub signature: Signature,
    /// Every blank left in the draft, once each, in document order: listed at
    /// the end of the text version so none is missed before the decision.
    pub open_items: Vec<String>,
}

fn para(text: impl Into<String>) -> Block {
    Block::Paragraph { text: text.into() }
}

fn or_placeholder(v: &Option<String>, placeholder: &str) -> String {
    given(v).unwrap_or(placeholder).to_string()
}

/// Upper-cases the first letter ("den 18 juni" → "Den 18 juni").
fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The draft decision for `outcome`.
pub fn decision(case: &CaseFile, outcome: Outcome) -> DraftDecision {
    let title = match outcome {
        // Seed 001's first decision (notify) says "gällande personuppgiftsincident"
        // but seed 000 uses "anmälan om"; a decision that is not a notification
        // must not say "anmälan om", so only NoNotify drops it.
        Outcome::NoNotify => "Beslut gällande personuppgiftsincident",
        _ => "Beslut gällande anmälan om personuppgiftsincident",
    };
    let sections = vec![
        Section {
            heading: H_BESLUT.into(),
            blocks: beslut(case, outcome),
        },
        Section {
            heading: H_BAKGRUND.into(),
            blocks: bakgrund(case),
        },
        Section {
            heading: H_SKAL.into(),
            blocks: skal(case, outcome),
        },
        Section {
            heading: H_MOTIVERING.into(),
            blocks: motivering(case, outcome),
        },
        Section {
            heading: H_BEREDNING.into(),
            blocks: beredning(case),
        },
        Section {
            heading: H_UNDERLAG.into(),
            blocks: underlag(case),
        },
    ];
    let signature = Signature {
        closing: "Enligt nämndens uppdrag,".into(),
        name: or_placeholder(&case.official.name, "[namn]"),
        title: or_placeholder(&case.official.title, "[titel]"),
        delegation: delegation_sentence(case, outcome),
        recipients_heading: "Beslutet skickas till:".into(),
        recipients: vec![format!(
            "Dataskyddsombud ({})",
            or_placeholder(&case.dpo.name, "[dataskyddsombud]")
        )],
    };
    let diarienummer = case.diarienummer_or_blank();
    let open_items = open_items(&diarienummer, &sections, &signature);
    DraftDecision {
        outcome,
        title: title.into(),
        controller: given(&case.controller.name).map(str::to_string),
        committee: case.committee.clone(),
        date: case.date.format("%Y-%m-%d").to_string(),
        diarienummer,
        case_ref: case.case_ref.to_string(),
        sections,
        signature,
        open_items,
    }
}

/// The delegation the decision rests on. A decision to notify and inform
/// cites the point for art. 33 and the one for art. 34 (seed 002: "punkt 2.2
/// PU:3 (art 33 GDPR) och punkt 2.2 PU:4 (art 34)"); a route with one point
/// (older configurations) cites it for both.
fn delegation_sentence(case: &CaseFile, outcome: Outcome) -> String {
    let p33 = or_placeholder(&case.delegation_point, "[punkt]");
    let lead = "Beslutet fattat med stöd av nämndens delegationsordning";
    if outcome != Outcome::NotifyInform {
        return format!("{lead}, punkt {p33}.");
    }
    match given(&case.delegation_point_art34) {
        Some(p34) if p34 != p33 => format!(
            "{lead}, punkt {p33} (artikel 33 i dataskyddsförordningen) och punkt {p34} (artikel 34 i dataskyddsförordningen)."
        ),
        _ => format!("{lead}, punkt {p33} (artiklarna 33 och 34 i dataskyddsförordningen)."),
    }
}

/// Who is informed first and how (seed 002: "i första skedet de registrerade
/// vars …"). The case records neither, so both are marked blanks for the
/// official to fill; never a guess.
pub(crate) const INFORM_PLAN_BLANK: &str = "I första skedet informeras [vilka registrerade som informeras först, t.ex. de registrerade vars uppgifter bekräftat har röjts: att fylla i], genom [hur de informeras, t.ex. brev eller e-post, och när: att fylla i].";

/// The blanks of a draft: the diarienummer when it has one (named, since
/// "____" alone says nothing), then every bracketed placeholder of the text.
fn open_items(diarienummer: &str, sections: &[Section], signature: &Signature) -> Vec<String> {
    let mut texts: Vec<&str> = Vec::new();
    for s in sections {
        for b in &s.blocks {
            match b {
                Block::Paragraph { text } => texts.push(text),
                Block::List { items } => texts.extend(items.iter().map(String::as_str)),
            }
        }
    }
    texts.extend([
        signature.name.as_str(),
        signature.title.as_str(),
        signature.delegation.as_str(),
    ]);
    texts.extend(signature.recipients.iter().map(String::as_str));
    let mut out = Vec::new();
    if !placeholders([diarienummer]).is_empty() {
        out.push(format!("Diarienummer: {diarienummer}"));
    }
    out.extend(
        placeholders(texts)
            .into_iter()
            .filter(|p| p.starts_with('[')),
    );
    out
}

fn beslut(case: &CaseFile, outcome: Outcome) -> Vec<Block> {
    let c = &case.committee;
    let notify = format!(
        "{c} beslutar att anmäla personuppgiftsincidenten till {IMY} på grund av att det anses sannolikt att det inträffade har medfört en risk för de registrerade."
    );
    match outcome {
        Outcome::Notify => vec![para(notify)],
        Outcome::NotifyInform => vec![
            para(notify),
            para(format!(
                "{c} beslutar att informera de registrerade om det inträffade på grund av att det anses sannolikt att det inträffade har medfört en hög risk för de registrerade."
            )),
            para(INFORM_PLAN_BLANK),
        ],
        Outcome::NoNotify => vec![para(format!(
            "{c} beslutar att inte anmäla personuppgiftsincidenten till {IMY} på grund av att det anses osannolikt att det inträffade har medfört en risk för de registrerades rättigheter och friheter. Incidenten dokumenteras enligt artikel 33.5 i EU:s dataskyddsförordning."
        ))],
        Outcome::Withdraw => {
            vec![para(format!(
                "{c} beslutar att återta anmälan om personuppgiftsincident till {IMY}{}.",
                imy_reference(case)
            ))]
        }
    }
}

/// " (IMY:s diarienummer …)" when IMY's reference is known, else nothing.
fn imy_reference(case: &CaseFile) -> String {
    given(&case.imy_reference)
        .map(|r| format!(" (IMY:s diarienummer {r})"))
        .unwrap_or_default()
}

fn processor_name(case: &CaseFile) -> Option<&str> {
    given(&case.processor.organisation)
}

/// What the facts say, in one paragraph: systems and cause, discovery, period.
/// `style` writes the instants read from the notice in the calling
/// document's one style (a date read without a time as the date alone).
pub(crate) fn facts_paragraph(case: &CaseFile, style: Style) -> String {
    let when = |t: DateTime<Utc>, tz| style.stated(t, tz);
    let f = &case.facts;
    let tz = case.tz;
    let mut s: Vec<String> = Vec::new();
    let systems = join_sv(&f.systems);
    match (f.systems.is_empty(), f.cause) {
        (false, Some(cause)) => s.push(format!(
            "{systems} har utsatts för {}.",
            cause_phrase(cause)
        )),
        (false, None) => s.push(format!("Incidenten berör {systems}.")),
        (true, Some(cause)) => s.push(format!("Incidenten beror på {}.", cause_phrase(cause))),
        (true, None) => s.push(
            "Vilka system som berörs och vad som orsakat incidenten är ännu inte känt.".into(),
        ),
    }
    if let Some(t) = given(&case.details.cause_text) {
        s.push(format!(
            "Personuppgiftsbiträdet beskriver det så här: ”{t}”"
        ));
    }
    if let Some(d) = f.discovered_at {
        let who = if processor_name(case).is_some() {
            "Personuppgiftsbiträdet upptäckte incidenten"
        } else {
            "Incidenten upptäcktes"
        };
        s.push(format!("{who} {}.", when(d, tz)));
    }
    match (f.occurred_from, f.occurred_to) {
        (Some(a), Some(b)) => s.push(format!(
            "Incidenten pågick under perioden {}.",
            style.period(a, b, tz)
        )),
        (Some(a), None) => s.push(format!("Incidenten började {}.", when(a, tz))),
        (None, Some(b)) => s.push(format!(
            "När incidenten började är ännu inte känt; den upphörde {}.",
            when(b, tz)
        )),
        (None, None) => {}
    }
    match (f.ongoing, f.occurred_to) {
        (Some(true), _) => s.push("Incidenten pågår fortfarande.".into()),
        (Some(false), None) => s.push("Incidenten har upphört.".into()),
        (None, None) => s.push("Det är ännu inte känt om incidenten har upphört.".into()),
        _ => {}
    }
    // The supplier may write in another zone (a US notice says "EDT"): every
    // time here is converted, and says so.
    let times = f.discovered_at.is_some() || f.occurred_from.is_some() || f.occurred_to.is_some();
    if times && tz == chrono_tz::Europe::Stockholm {
        s.push("Tiderna är angivna i svensk tid.".into());
    }
    s.join(" ")
}

/// The forward in Bakgrund: who passed the notice on and when, and why the
/// clock runs from the earlier receipt.
fn forward_sentence(case: &CaseFile, f: &super::model::Forward) -> String {
    let tz = case.tz;
    capitalise(&format!(
        "{} vidarebefordrade {} meddelandet från personuppgiftsbiträdet, som kommit in till kommunen {}, till dem som hanterar personuppgiftsincidenter. Tidsfristen på 72 timmar räknas från när meddelandet kom in till kommunen.",
        datetime_long(f.at, tz),
        f.by.trim(),
        datetime_long(case.aware_at, tz)
    ))
}

/// A draft of the reason for a late notification (IMY question 14) from the
/// forward, when the forward itself came after the deadline or used a large
/// part of it; the official completes it.
/// `when` writes an instant in the calling document's one style.
pub(crate) fn delay_draft(
    case: &CaseFile,
    when: fn(DateTime<Utc>, chrono_tz::Tz) -> String,
) -> Option<String> {
    let f = case.forward.as_ref()?;
    let tz = case.tz;
    Some(format!(
        "Personuppgiftsbiträdets meddelande kom in till kommunen {} men vidarebefordrades till dem som hanterar personuppgiftsincidenter först {}. [Övriga skäl till dröjsmålet: att fylla i]",
        when(case.aware_at, tz),
        when(f.at, tz)
    ))
}

fn sorted_messages(case: &CaseFile) -> Vec<&super::model::ReceivedMessage> {
    let mut m: Vec<_> = case.messages.iter().collect();
    // Stable sort: two messages in the same minute keep the order given.
    m.sort_by_key(|m| m.received_at);
    m
}

fn bakgrund(case: &CaseFile) -> Vec<Block> {
    let tz = case.tz;
    let from_processor = match processor_name(case) {
        Some(org) => format!("personuppgiftsbiträdet {org}"),
        None => "personuppgiftsbiträdet".to_string(),
    };
    let mut entries: Vec<(DateTime<Utc>, String)> = Vec::new();
    let mut first_message: Option<DateTime<Utc>> = None;
    for m in sorted_messages(case) {
        // A final report is called so, as seed 001 does ("inkom slutrapport
        // från personuppgiftsbiträdet").
        let what = if m.follow_up && is_final_report(&m.subject) {
            "inkom slutrapport från personuppgiftsbiträdet"
        } else if m.follow_up {
            "inkom kompletterande information från personuppgiftsbiträdet"
        } else {
            "inkom e-postmeddelande från"
        };
        let whom = if m.follow_up {
            ""
        } else {
            from_processor.as_str()
        };
        let mut text = capitalise(&format!(
            "{} {what}{}{whom}: ”{}”.",
            datetime_long(m.received_at, tz),
            if whom.is_empty() { "" } else { " " },
            m.subject.trim()
        ));
        if let Some(summary) = given(&m.summary) {
            text.push(' ');
            text.push_str(summary);
        }
        entries.push((m.received_at, text));
        first_message.get_or_insert(m.received_at);
    }
    for e in &case.timeline {
        entries.push((
            e.at,
            // A dash, not a colon, after the time (as the IMY form writes it).
            format!(
                "{} – {}",
                capitalise(&datetime_long(e.at, tz)),
                e.text.trim()
            ),
        ));
    }
    if let Some(f) = &case.forward {
        entries.push((f.at, forward_sentence(case, f)));
    }
    if let Some(at) = case.imy_notified_at {
        entries.push((
            at,
            capitalise(&format!(
                "{} anmäldes incidenten till {IMY}{}.",
                datetime_long(at, tz),
                imy_reference(case)
            )),
        ));
    }
    entries.sort_by_key(|(at, _)| *at);
    let mut blocks: Vec<Block> = Vec::new();
    let facts = facts_paragraph(case, Style::Long);
    let mut facts_placed = false;
    let measures = measures_paragraph(case);
    for (at, text) in entries {
        blocks.push(para(text));
        // The facts read from the supplier's notice follow the notice itself, as
        // in seed 001 where they follow the message that brought them.
        if !facts_placed && Some(at) == first_message {
            blocks.push(para(facts.clone()));
            blocks.extend(measures.clone().map(para));
            facts_placed = true;
        }
    }
    if !facts_placed {
        let mut head = vec![para(facts)];
        head.extend(measures.map(para));
        blocks.splice(0..0, head);
    }
    blocks
}

/// The supplier's measures as it wrote them, quoted (never translated).
fn measures_paragraph(case: &CaseFile) -> Option<String> {
    let m = &case.details.measures;
    if m.is_empty() {
        return None;
    }
    let quoted: Vec<String> = m.iter().map(|s| format!("”{}”", s.trim())).collect();
    Some(format!(
        "Personuppgiftsbiträdet uppger att det har vidtagit följande åtgärder: {}",
        quoted.join(" ")
    ))
}

/// Who the data subjects are, as the notice names them, or the marked blank.
fn groups_sentence(case: &CaseFile) -> String {
    let g = &case.details.subject_groups;
    if g.is_empty() {
        return "De registrerade är [vilka grupper de registrerade tillhör, t.ex. patienter, anställda, elever eller brukare: att fylla i].".into();
    }
    let nouns: Vec<String> = g.iter().map(|g| group_noun(g).to_string()).collect();
    format!("De registrerade är enligt meddelandet {}.", join_sv(&nouns))
}

fn subjects_sentence(case: &CaseFile) -> String {
    let r = case.facts.data_subjects;
    let (min, max) = match r {
        Some(r) => (r.min, r.max),
        None => (None, None),
    };
    match (min, max) {
        (Some(1), Some(1)) => "Personuppgiftsincidenten berör en registrerad.".into(),
        (Some(0), Some(0)) => {
            "Enligt personuppgiftsbiträdet berör personuppgiftsincidenten inga registrerade.".into()
        }
        // A single count from a supplier is its estimate ("Approximately 640"
        // and "640" read the same): it stays an approximation until verified.
        (Some(a), Some(b)) if a == b => {
            format!(
                "Personuppgiftsincidenten berör enligt personuppgiftsbiträdet cirka {} registrerade.",
                number_sv(a)
            )
        }
        (Some(a), Some(b)) => format!(
            "Personuppgiftsincidenten berör mellan {} och {} registrerade.",
            number_sv(a.min(b)),
            number_sv(a.max(b))
        ),
        (None, Some(b)) => format!(
            "Personuppgiftsincidenten berör upp till {} registrerade.",
            number_sv(b)
        ),
        (Some(a), None) => format!(
            "Personuppgiftsincidenten berör minst {} registrerade.",
            number_sv(a)
        ),
        (None, None) => {
            "Det är oklart hur många registrerade som är drabbade av incidenten.".into()
        }
    }
}

fn categories_paragraph(case: &CaseFile) -> String {
    let cats = &case.facts.data_categories;
    if cats.is_empty() {
        return "Personuppgifterna som berörs av incidenten är [personuppgifter: att fylla i]."
            .into();
    }
    let words: Vec<String> = cats.iter().map(|c| category_words(c)).collect();
    let mut s = format!(
        "Personuppgifterna som berörs av incidenten är {}.",
        join_sv(&words)
    );
    let sensitive = cats.iter().any(|c| is_sensitive(c));
    let extra = cats.iter().any(|c| is_extra_protected(c));
    let tail = match (extra, sensitive) {
        (true, true) => Some("Såväl extra skyddsvärda personuppgifter som känsliga personuppgifter omfattas därmed av incidenten."),
        (false, true) => Some("Känsliga personuppgifter omfattas därmed av incidenten."),
        (true, false) => Some("Extra skyddsvärda personuppgifter omfattas därmed av incidenten."),
        (false, false) => None,
    };
    if let Some(t) = tail {
        s.push(' ');
        s.push_str(t);
    }
    s
}

fn risk_blocks(case: &CaseFile) -> Vec<Block> {
    let Some(risk) = &case.risk else {
        return vec![para("[Riskbedömning: att fylla i]")];
    };
    let mut out = Vec::new();
    if let Some(r) = given(&risk.reasoning) {
        out.push(para(r));
    }
    out.push(para(match risk.level {
        RiskLevel::None => "Mot bakgrund av detta bedömer vi det som osannolikt att det inträffade har medfört en risk för de registrerades rättigheter och friheter.",
        RiskLevel::Risk => "Mot bakgrund av detta bedömer vi det som sannolikt att det inträffade har lett till att de registrerades rättigheter och friheter har påverkats.",
        RiskLevel::High => "Mot bakgrund av detta bedömer vi det som sannolikt att det inträffade har lett till hög risk för att de registrerades rättigheter och friheter har påverkats.",
    }));
    out
}

/// The supplier's final report, when one is on the case (the latest).
fn final_report(case: &CaseFile) -> Option<&super::model::ReceivedMessage> {
    sorted_messages(case)
        .into_iter()
        .rev()
        .find(|m| is_final_report(&m.subject))
}

/// True when the case holds what a withdrawal rests on: the supplier's final
/// report and the count it gave, none of ours.
fn none_affected_on_record(case: &CaseFile) -> bool {
    final_report(case).is_some_and(|m| m.none_of_ours)
        || (final_report(case).is_some()
            && case
                .facts
                .data_subjects
                .is_some_and(|r| r.min == Some(0) && r.max == Some(0)))
}

/// "Skäl för beslut" of a withdrawal: only what the case holds. The final
/// report is cited by date; without one (or without its finding) the reason
/// is a marked blank, never the seed's sentence as a fixed text.
fn withdrawal_reasons(case: &CaseFile) -> Vec<Block> {
    let tz = case.tz;
    let mut out = Vec::new();
    let sent = match case.imy_notified_at {
        Some(at) => date_long_at(at, tz),
        None => "den [datum då anmälan skickades: att fylla i]".into(),
    };
    let reference = given(&case.imy_reference).unwrap_or("[IMY:s diarienummer: att fylla i]");
    out.push(para(format!(
        "Anmälan om personuppgiftsincidenten skickades till {IMY} {sent} och har där diarienummer {reference}."
    )));
    out.push(para(match final_report(case) {
        Some(m) if none_affected_on_record(case) => format!(
            "Av personuppgiftsbiträdets slutrapport{}, som inkom {}, framgår att inga av personuppgiftsansvarigs registrerade är drabbade av incidenten.",
            report_title(&m.subject).map(|t| format!(" {t}")).unwrap_or_default(),
            date_long_at(m.received_at, tz)
        ),
        Some(m) => format!(
            "Personuppgiftsbiträdets slutrapport{} inkom {}. [Vad slutrapporten visar om personuppgiftsansvarigs registrerade: att fylla i]",
            report_title(&m.subject).map(|t| format!(", {t},")).unwrap_or_default(),
            date_long_at(m.received_at, tz)
        ),
        None => "[Skäl för återtagandet: vad som visar att inga av personuppgiftsansvarigs registrerade är drabbade, t.ex. personuppgiftsbiträdets slutrapport och dess datum: att fylla i]".into(),
    }));
    out
}

/// "”Slutrapport om intrång”" when the report's subject says more than
/// "Slutrapport"; None when it does not (a rendered draft read "slutrapport,
/// ”Slutrapport”, som inkom …"). The caller punctuates: a rendered withdrawal
/// read "slutrapport, ”…”,, som inkom".
fn report_title(subject: &str) -> Option<String> {
    let s = subject.trim();
    let bare = s.trim_end_matches(['.', ':']).to_lowercase();
    (!matches!(bare.as_str(), "slutrapport" | "final report")).then(|| format!("”{s}”"))
}

/// A supplier outside the EU/EEA: the transfer is named and left for the
/// official to state, since the case cannot know its legal basis.
fn third_country_paragraph(case: &CaseFile) -> Option<Block> {
    let org = given(&case.processor.organisation);
    (establishment(org, given(&case.processor.email)) == Establishment::OutsideEea).then(|| {
        para(format!(
            "Personuppgiftsbiträdet{} är etablerat utanför EU/EES, så personuppgifterna kan ha överförts till tredjeland. [Överföring till tredjeland: ange land och stöd enligt kapitel V i dataskyddsförordningen]",
            org.map(|o| format!(" {o}")).unwrap_or_default()
        ))
    })
}

fn skal(case: &CaseFile, outcome: Outcome) -> Vec<Block> {
    if outcome == Outcome::Withdraw {
        return withdrawal_reasons(case);
    }
    let mut out = vec![
        para(format!(
            "{} {}",
            subjects_sentence(case),
            groups_sentence(case)
        )),
        para(categories_paragraph(case)),
    ];
    out.extend(third_country_paragraph(case));
    out.extend(risk_blocks(case));
    out
}

/// True when the notification goes out after the 72 hours.
pub(crate) fn is_late(case: &CaseFile) -> bool {
    case.generated_at > case.deadline_at
}

pub(crate) fn subjects_unknown(case: &CaseFile) -> bool {
    case.facts
        .data_subjects
        .is_none_or(|r| r.min.is_none() && r.max.is_none())
}

fn motivering(case: &CaseFile, outcome: Outcome) -> Vec<Block> {
    let mut out = Vec::new();
    match outcome {
        Outcome::Notify => {
            out.push(para(format!("Vi bedömer det som sannolikt att de registrerades fri- och rättigheter har påverkats av det inträffade och anmäler därför incidenten till {IMY}.")));
            if subjects_unknown(case) {
                out.push(para("Det är ännu oklart hur många registrerade som drabbats. Huruvida de registrerade ska informeras beslutas därför senare i utredningen."));
            }
        }
        Outcome::NotifyInform => out.push(para(format!("Vi bedömer det som sannolikt att det inträffade har lett till en hög risk för de registrerades fri- och rättigheter. Det inträffade ska därför anmälas till {IMY} och de registrerade ska informeras."))),
        Outcome::NoNotify => out.push(para(format!("Vi bedömer det som osannolikt att det inträffade har medfört en risk för de registrerades fri- och rättigheter. Incidenten anmäls därför inte till {IMY}. Incidenten och skälen för detta beslut dokumenteras enligt artikel 33.5 i EU:s dataskyddsförordning."))),
        Outcome::Withdraw => out.push(para(if none_affected_on_record(case) {
            format!("Anmälan till {IMY} återtas eftersom personuppgiftsbiträdets slutrapport visar att inga av personuppgiftsansvarigs registrerade drabbats av incidenten.")
        } else {
            format!("Anmälan till {IMY} återtas eftersom [skäl för återtagandet: att fylla i].")
        })),
    }
    if outcome.notifies() && is_late(case) {
        // Without a recorded reason the whole sentence is the blank, not a
        // label followed by a bracket that repeats it.
        let reason = match (given(&case.delay_reason), delay_draft(case, datetime_long)) {
            (Some(r), _) => format!("Skälen till dröjsmålet: {r}"),
            (None, Some(draft)) => format!("Skälen till dröjsmålet: {draft}"),
            (None, None) => "[Skälen till dröjsmålet: att fylla i]".into(),
        };
        out.push(para(format!(
            "Anmälan görs senare än 72 timmar efter att nämnden fick kännedom om incidenten ({}). {reason}",
            datetime_long(case.aware_at, case.tz)
        )));
    }
    out.push(para(LEGAL_BASIS));
    out
}

fn beredning(case: &CaseFile) -> Vec<Block> {
    let text = or_placeholder(&case.preparation, "[Beredning: att fylla i]");
    // The seeds always end with the DPO being informed; the primer says the DPO
    // is informed of every case, so say it unless the configured text does.
    let text = if text.contains("Dataskyddsombudet") {
        text
    } else {
        format!("{text} Dataskyddsombudet har informerats om det inträffade.")
    };
    vec![para(text)]
}

fn underlag(case: &CaseFile) -> Vec<Block> {
    let tz = case.tz;
    // The supplier's own reference (read from its first notice) goes with
    // that notice, as seed 002 cites "Anmälan …, dnr 230327-IKK_28-MV47".
    let reference = given(&case.details.supplier_reference);
    let mut cited = false;
    let mut items: Vec<(DateTime<Utc>, String)> = sorted_messages(case)
        .into_iter()
        .map(|m| {
            let r = match reference {
                Some(r) if !m.follow_up && !cited => {
                    cited = true;
                    format!(", personuppgiftsbiträdets referens {r}")
                }
                _ => String::new(),
            };
            (
                m.received_at,
                format!(
                    "Från personuppgiftsbiträde: {}, inkom {}{r}",
                    m.subject.trim(),
                    date_long_at(m.received_at, tz)
                ),
            )
        })
        .collect();
    if let Some(at) = case.imy_notified_at {
        items.push((
            at,
            format!("Anmälan till {IMY}, skickad {}", date_long_at(at, tz)),
        ));
    }
    items.sort_by_key(|(at, _)| *at);
    let mut items: Vec<String> = items.into_iter().map(|(_, s)| s).collect();
    if items.is_empty() {
        items.push("[Underlag: att fylla i]".into());
    }
    vec![Block::List { items }]
}

impl DraftDecision {
    /// Plain text: the same content as the .docx, for mail bodies and archives.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        out.push_str(&self.title);
        out.push_str("\n\n");
        if let Some(c) = &self.controller {
            out.push_str(c);
            out.push('\n');
        }
        out.push_str(&format!(
            "{}\nDatum: {}\nDiarienummer: {}\nÄrende: {}\n",
            self.committee, self.date, self.diarienummer, self.case_ref
        ));
        for s in &self.sections {
            out.push('\n');
            out.push_str(&s.heading);
            out.push('\n');
            for b in &s.blocks {
                out.push('\n');
                match b {
                    Block::Paragraph { text } => {
                        out.push_str(text);
                        out.push('\n');
                    }
                    Block::List { items } => {
                        for i in items {
                            out.push_str("- ");
                            out.push_str(i);
                            out.push('\n');
                        }
                    }
                }
            }
        }
        let sig = &self.signature;
        out.push_str(&format!(
            "\n{}\n\n{}\n{}\n\n{}\n\n{}\n",
            sig.closing, sig.name, sig.title, sig.delegation, sig.recipients_heading
        ));
        for r in &sig.recipients {
            out.push_str(r);
            out.push('\n');
        }
        if !self.open_items.is_empty() {
            out.push_str("\nAtt fylla i före beslut:\n");
            for i in &self.open_items {
                out.push_str("- ");
                out.push_str(i);
                out.push('\n');
            }
        }
        out
    }
}
