//! The yearly statistics (`core::stats::YearReport`) as text, CSV, JSON and an
//! HTML page with SVG charts (plotters). Every word shown is in [`Words`], one
//! table per language, so a translator finds them in one place.

use std::fmt::Write as _;

use plotters::prelude::*;
use serde_json::{json, Value};

use crate::core::regime::Clock;
use crate::core::stats::{Counts, Outcome, Spread, YearReport};
use crate::render::Language;

/// Every label of the statistics, per language.
pub struct Words {
    pub title: &'static str,
    pub cases: &'static str,
    pub months: [&'static str; 12],
    pub per_month: &'static str,
    pub per_committee: &'static str,
    pub per_supplier: &'static str,
    pub per_cause: &'static str,
    pub per_data_category: &'static str,
    pub outcomes: &'static str,
    pub timeliness: &'static str,
    pub reported: &'static str,
    pub within_72h: &'static str,
    pub late: &'static str,
    pub no_reason: &'static str,
    pub awareness_to_decision: &'static str,
    pub awareness_to_report: &'static str,
    pub median: &'static str,
    pub p90: &'static str,
    pub none: &'static str,
    pub unknown: &'static str,
    pub hours_after: &'static str,
    pub count: &'static str,
    pub method: &'static str,
    pub nis2: &'static str,
    pub nis2_applies: &'static str,
    pub nis2_suggested: &'static str,
    pub nis2_not_applicable: &'static str,
    pub nis2_report: &'static str,
    pub on_time: &'static str,
    pub sent_late: &'static str,
    pub not_sent: &'static str,
    pub nis2_method: &'static str,
    pub nis2_clock: fn(Clock) -> &'static str,
    pub outcome: fn(Outcome) -> &'static str,
    /// A data category or cause key of the inspect vocabulary, as words.
    pub category: fn(&str) -> String,
    pub cause: fn(&str) -> String,
}

fn outcome_sv(o: Outcome) -> &'static str {
    match o {
        Outcome::Notified => "anmäld till IMY",
        Outcome::NotifiedAndInformed => "anmäld och de registrerade informerade",
        Outcome::NotNotified => "inte anmäld (dokumenterad)",
        Outcome::Withdrawn => "anmälan återkallad",
        Outcome::Undecided => "inte beslutad",
    }
}

fn outcome_en(o: Outcome) -> &'static str {
    match o {
        Outcome::Notified => "notified to IMY",
        Outcome::NotifiedAndInformed => "notified and data subjects informed",
        Outcome::NotNotified => "not notified (documented)",
        Outcome::Withdrawn => "notification withdrawn",
        Outcome::Undecided => "not decided",
    }
}

fn nis2_clock_sv(c: Clock) -> &'static str {
    match c {
        Clock::ImyNotification => "anmälan till IMY (72 h)",
        Clock::EarlyWarning => "tidig varning (24 h)",
        Clock::IncidentNotification => "incidentanmälan (72 h)",
        Clock::ProgressReport => "lägesrapport (en månad)",
        Clock::FinalReport => "slutrapport (en månad)",
    }
}

fn nis2_clock_en(c: Clock) -> &'static str {
    match c {
        Clock::ImyNotification => "IMY notification (72 h)",
        Clock::EarlyWarning => "early warning (24 h)",
        Clock::IncidentNotification => "incident notification (72 h)",
        Clock::ProgressReport => "progress report (one month)",
        Clock::FinalReport => "final report (one month)",
    }
}

fn category_sv(key: &str) -> String {
    crate::core::documents::words::category_form_label(key)
}

fn cause_sv(key: &str) -> String {
    use crate::core::documents::words::cause_form_label;
    use crate::core::notice::Cause;
    match key {
        "attack" => cause_form_label(Cause::Attack).to_string(),
        "human_error" => cause_form_label(Cause::HumanError).to_string(),
        "technical_fault" => cause_form_label(Cause::TechnicalFault).to_string(),
        other => other.to_string(),
    }
}

/// English: the vocabulary key in words ("personal_identity_number" →
/// "personal identity number").
fn key_en(key: &str) -> String {
    key.replace('_', " ")
}

pub const SV: Words = Words {
    title: "Personuppgiftsincidenter",
    cases: "Antal incidenter",
    months: [
        "jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
    ],
    per_month: "Per månad (när kommunen fick kännedom)",
    per_committee: "Per nämnd",
    per_supplier: "Per leverantör",
    per_cause: "Per orsak (som leverantören angav den)",
    per_data_category: "Per kategori av personuppgifter",
    outcomes: "Utfall",
    timeliness: "Anmälan inom 72 timmar",
    reported: "Anmälda till IMY",
    within_72h: "varav inom 72 timmar",
    late: "Sena anmälningar och skälen",
    no_reason: "inget skäl registrerat",
    awareness_to_decision: "Från kännedom till beslut",
    awareness_to_report: "Från kännedom till anmälan",
    median: "median",
    p90: "90:e percentilen",
    none: "inga",
    unknown: "uppgift saknas",
    hours_after: "timmar efter kännedom",
    count: "antal",
    method: "Året räknas efter när kommunen fick kännedom (svensk tid). Tider är förfluten tid; median och 90:e percentil är verkliga ärendens tider (närmaste rang).",
    nis2: "NIS2-incidenter (cybersäkerhetslagen)",
    nis2_applies: "NIS2 gäller",
    nis2_suggested: "föreslagen, inte beslutad",
    nis2_not_applicable: "NIS2 gäller inte",
    nis2_report: "Rapport",
    on_time: "i tid",
    sent_late: "sen",
    not_sent: "inte skickad",
    nis2_method: "Rapporterna räknas för ärenden där NIS2 gäller eller är föreslagen: 24 och 72 timmar som förfluten tid, en månad enligt lagen (1930:173) om beräkning av lagstadgad tid.",
    nis2_clock: nis2_clock_sv,
    outcome: outcome_sv,
    category: category_sv,
    cause: cause_sv,
};

pub const EN: Words = Words {
    title: "Personal data breaches",
    cases: "Number of incidents",
    months: [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ],
    per_month: "Per month (when the municipality became aware)",
    per_committee: "Per committee",
    per_supplier: "Per supplier",
    per_cause: "Per cause (as the supplier stated it)",
    per_data_category: "Per category of personal data",
    outcomes: "Outcome",
    timeliness: "Notification within 72 hours",
    reported: "Notified to IMY",
    within_72h: "of which within 72 hours",
    late: "Late notifications and their reasons",
    no_reason: "no reason recorded",
    awareness_to_decision: "Awareness to decision",
    awareness_to_report: "Awareness to notification",
    median: "median",
    p90: "90th percentile",
    none: "none",
    unknown: "not known",
    hours_after: "hours after awareness",
    count: "count",
    method: "The year is counted by when the municipality became aware (Swedish time). Times are elapsed time; median and 90th percentile are real cases' times (nearest rank).",
    nis2: "NIS2 incidents (Swedish Cybersecurity Act)",
    nis2_applies: "NIS2 applies",
    nis2_suggested: "suggested, not decided",
    nis2_not_applicable: "NIS2 does not apply",
    nis2_report: "Report",
    on_time: "on time",
    sent_late: "late",
    not_sent: "not sent",
    nis2_method: "Reports are counted for cases where NIS2 applies or is suggested: 24 and 72 hours as elapsed time, one month by the Swedish rule for periods in months (1930:173).",
    nis2_clock: nis2_clock_en,
    outcome: outcome_en,
    category: key_en,
    cause: key_en,
};

pub fn words(lang: Language) -> &'static Words {
    match lang {
        Language::Sv => &SV,
        Language::En => &EN,
    }
}

fn duration(m: Option<i64>, w: &Words, lang: Language) -> String {
    match m {
        None => w.none.to_string(),
        Some(m) => {
            let (h, min) = (m / 60, m % 60);
            match lang {
                Language::Sv => format!("{h} tim {min} min"),
                Language::En => format!("{h} h {min} min"),
            }
        }
    }
}

fn name<'a>(label: &'a str, w: &'a Words) -> &'a str {
    if label.is_empty() {
        w.unknown
    } else {
        label
    }
}

fn percent(part: usize, whole: usize) -> String {
    match (part * 100 + whole / 2).checked_div(whole) {
        None => "–".to_string(),
        Some(p) => format!("{p} %"),
    }
}

/// Cause and category keys shown as words (other tables are names as given).
fn localised(counts: &Counts, f: fn(&str) -> String) -> Counts {
    counts
        .iter()
        .map(|(l, n)| (if l.is_empty() { String::new() } else { f(l) }, *n))
        .collect()
}

fn text_counts(out: &mut String, title: &str, counts: &Counts, w: &Words) {
    let _ = writeln!(out, "\n{title}");
    if counts.is_empty() {
        let _ = writeln!(out, "  {}", w.none);
    }
    for (label, n) in counts {
        let _ = writeln!(out, "  {n:>5}  {}", name(label, w));
    }
}

fn text_spread(out: &mut String, title: &str, s: &Spread, w: &Words, lang: Language) {
    let _ = writeln!(
        out,
        "  {title}: {} {}, {} {} (n = {})",
        w.median,
        duration(s.median_minutes, w, lang),
        w.p90,
        duration(s.p90_minutes, w, lang),
        s.n
    );
}

/// Plain text for the terminal or a mail.
pub fn text(r: &YearReport, lang: Language) -> String {
    let w = words(lang);
    let mut out = String::new();
    let _ = writeln!(out, "{} {}", w.title, r.year);
    let _ = writeln!(out, "{}: {}", w.cases, r.cases);
    let _ = writeln!(out, "\n{}", w.per_month);
    for (m, n) in w.months.iter().zip(r.per_month) {
        let _ = writeln!(out, "  {m:<4} {n:>5}");
    }
    text_counts(&mut out, w.per_committee, &r.per_committee, w);
    text_counts(&mut out, w.per_supplier, &r.per_supplier, w);
    text_counts(&mut out, w.per_cause, &localised(&r.per_cause, w.cause), w);
    text_counts(
        &mut out,
        w.per_data_category,
        &localised(&r.per_data_category, w.category),
        w,
    );
    let _ = writeln!(out, "\n{}", w.outcomes);
    for (o, n) in &r.outcomes {
        let _ = writeln!(out, "  {n:>5}  {}", (w.outcome)(*o));
    }
    let _ = writeln!(out, "\n{}", w.timeliness);
    let _ = writeln!(out, "  {}: {}", w.reported, r.reported);
    let _ = writeln!(
        out,
        "  {}: {} ({})",
        w.within_72h,
        r.reported_within_72h,
        percent(r.reported_within_72h, r.reported)
    );
    text_spread(
        &mut out,
        w.awareness_to_decision,
        &r.awareness_to_decision,
        w,
        lang,
    );
    text_spread(
        &mut out,
        w.awareness_to_report,
        &r.awareness_to_report,
        w,
        lang,
    );
    let _ = writeln!(out, "\n{}", w.late);
    if r.late.is_empty() {
        let _ = writeln!(out, "  {}", w.none);
    }
    for l in &r.late {
        let _ = writeln!(
            out,
            "  {}  {} {}: {}",
            l.case_ref,
            l.hours_after_awareness,
            w.hours_after,
            l.delay_reason.as_deref().unwrap_or(w.no_reason)
        );
    }
    text_nis2(&mut out, r, w);
    let _ = writeln!(out, "\n{}", w.method);
    out
}

fn text_nis2(out: &mut String, r: &YearReport, w: &Words) {
    let n = &r.nis2;
    let _ = writeln!(out, "\n{}", w.nis2);
    let _ = writeln!(out, "  {:>5}  {}", n.applies, w.nis2_applies);
    let _ = writeln!(out, "  {:>5}  {}", n.suggested, w.nis2_suggested);
    let _ = writeln!(out, "  {:>5}  {}", n.not_applicable, w.nis2_not_applicable);
    let _ = writeln!(
        out,
        "  {:<30} {:>7} {:>7} {:>13}",
        w.nis2_report, w.on_time, w.sent_late, w.not_sent
    );
    for t in &n.reports {
        let _ = writeln!(
            out,
            "  {:<30} {:>7} {:>7} {:>13}",
            (w.nis2_clock)(t.clock),
            t.on_time,
            t.late,
            t.not_sent
        );
    }
    let _ = writeln!(out, "  {}", w.nis2_method);
}

/// Stable JSON (keys in English, labels as stored).
pub fn json(r: &YearReport) -> Value {
    let counts = |c: &Counts| -> Value {
        c.iter()
            .map(|(l, n)| json!({ "label": l, "count": n }))
            .collect()
    };
    json!({
        "year": r.year,
        "cases": r.cases,
        "per_month": r.per_month,
        "per_committee": counts(&r.per_committee),
        "per_supplier": counts(&r.per_supplier),
        "per_cause": counts(&r.per_cause),
        "per_data_category": counts(&r.per_data_category),
        "outcomes": r.outcomes.iter().map(|(o, n)| json!({ "outcome": o.key(), "count": n })).collect::<Vec<_>>(),
        "reported": r.reported,
        "reported_within_72h": r.reported_within_72h,
        "late": r.late,
        "awareness_to_decision": r.awareness_to_decision,
        "awareness_to_report": r.awareness_to_report,
        "nis2": r.nis2,
    })
}

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// One row per figure: `table,label,value` (spreadsheet-friendly).
pub fn csv(r: &YearReport) -> String {
    let mut out = String::from("table,label,value\n");
    let mut row = |t: &str, l: &str, v: String| {
        let _ = writeln!(out, "{},{},{}", csv_field(t), csv_field(l), csv_field(&v));
    };
    row("year", "", r.year.to_string());
    row("cases", "", r.cases.to_string());
    for (i, n) in r.per_month.iter().enumerate() {
        row("per_month", &format!("{:02}", i + 1), n.to_string());
    }
    for (t, c) in [
        ("per_committee", &r.per_committee),
        ("per_supplier", &r.per_supplier),
        ("per_cause", &r.per_cause),
        ("per_data_category", &r.per_data_category),
    ] {
        for (l, n) in c {
            row(t, l, n.to_string());
        }
    }
    for (o, n) in &r.outcomes {
        row("outcome", o.key(), n.to_string());
    }
    row("reported", "", r.reported.to_string());
    row("reported_within_72h", "", r.reported_within_72h.to_string());
    for (t, s) in [
        ("awareness_to_decision_minutes", &r.awareness_to_decision),
        ("awareness_to_report_minutes", &r.awareness_to_report),
    ] {
        row(t, "n", s.n.to_string());
        row(
            t,
            "median",
            s.median_minutes.map(|m| m.to_string()).unwrap_or_default(),
        );
        row(
            t,
            "p90",
            s.p90_minutes.map(|m| m.to_string()).unwrap_or_default(),
        );
    }
    row("nis2", "applies", r.nis2.applies.to_string());
    row("nis2", "suggested", r.nis2.suggested.to_string());
    row("nis2", "not_applicable", r.nis2.not_applicable.to_string());
    for t in &r.nis2.reports {
        let clock = serde_json::to_value(t.clock)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        row("nis2_on_time", &clock, t.on_time.to_string());
        row("nis2_late", &clock, t.late.to_string());
        row("nis2_not_sent", &clock, t.not_sent.to_string());
    }
    for l in &r.late {
        row(
            "late",
            &l.case_ref,
            format!(
                "{} h; {}",
                l.hours_after_awareness,
                l.delay_reason.as_deref().unwrap_or("")
            ),
        );
    }
    out
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A vertical bar chart (one bar per month) as an SVG string.
pub fn month_chart(labels: &[String], values: &[usize], y_label: &str) -> String {
    let n = labels.len().max(1) as u32;
    let top = values.iter().copied().max().unwrap_or(0).max(1) as u32;
    // Headroom so the tallest bar does not touch the frame.
    let top = top + top.div_ceil(10);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 300)).into_drawing_area();
        let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .margin(12)
                .x_label_area_size(32)
                .y_label_area_size(44)
                // Segments 0..=n-1: one per bar, none empty at the end.
                .build_cartesian_2d((0u32..n - 1).into_segmented(), 0u32..top)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .light_line_style(WHITE)
                .y_desc(y_label)
                .x_labels(n as usize)
                .x_label_style(("sans-serif", 14))
                .y_label_style(("sans-serif", 13))
                .x_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) => {
                        labels.get(*i as usize).cloned().unwrap_or_default()
                    }
                    _ => String::new(),
                })
                .draw()?;
            // Bars drawn in label order (plotters' Histogram groups through a
            // HashMap, so its SVG would differ from run to run).
            chart.draw_series(values.iter().enumerate().map(|(i, v)| {
                let i = i as u32;
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0),
                        (SegmentValue::Exact(i + 1), *v as u32),
                    ],
                    BAR.filled(),
                );
                bar.set_margin(0, 0, 6, 6);
                bar
            }))?;
            root.present()?;
            Ok(())
        })();
        if drawn.is_err() {
            // A chart is an illustration; the tables carry the numbers.
            return String::new();
        }
    }
    svg
}

const BAR: RGBColor = RGBColor(0x1f, 0x5f, 0x99);

/// A horizontal bar chart (long labels on the left, up to 40 characters) as
/// an SVG string.
pub fn label_chart(labels: &[String], values: &[usize]) -> String {
    let n = labels.len().max(1) as u32;
    let right = values.iter().copied().max().unwrap_or(0).max(1) as u32;
    let right = right + right.div_ceil(10);
    let height = 40 + 30 * n;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, height)).into_drawing_area();
        let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .margin(8)
                .x_label_area_size(24)
                .y_label_area_size(300)
                .build_cartesian_2d(0u32..right, (0u32..n - 1).into_segmented())?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .light_line_style(WHITE)
                .y_labels(n as usize)
                .y_label_style(("sans-serif", 14))
                .x_label_style(("sans-serif", 13))
                // The first label at the top, as in the table below the chart.
                .y_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) => labels
                        .get((n - 1).saturating_sub(*i) as usize)
                        .map(|l| l.chars().take(40).collect::<String>())
                        .unwrap_or_default(),
                    _ => String::new(),
                })
                .draw()?;
            chart.draw_series(values.iter().enumerate().map(|(i, v)| {
                let i = (n - 1).saturating_sub(i as u32);
                let mut bar = Rectangle::new(
                    [
                        (0, SegmentValue::Exact(i)),
                        (*v as u32, SegmentValue::Exact(i + 1)),
                    ],
                    BAR.filled(),
                );
                bar.set_margin(5, 5, 0, 0);
                bar
            }))?;
            root.present()?;
            Ok(())
        })();
        if drawn.is_err() {
            return String::new();
        }
    }
    svg
}

fn html_table(out: &mut String, counts: &[(String, usize)], w: &Words) {
    out.push_str("<table><tbody>");
    if counts.is_empty() {
        let _ = write!(out, "<tr><td colspan=\"2\">{}</td></tr>", esc(w.none));
    }
    for (l, n) in counts {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{n}</td></tr>",
            esc(name(l, w))
        );
    }
    out.push_str("</tbody></table>");
}

/// A section: heading, an optional chart (at most 12 bars), the whole table.
fn html_section(out: &mut String, title: &str, counts: &[(String, usize)], chart: bool, w: &Words) {
    let _ = write!(out, "<section><h2>{}</h2>", esc(title));
    if chart && !counts.is_empty() {
        let shown = &counts[..counts.len().min(12)];
        let labels: Vec<String> = shown.iter().map(|(l, _)| name(l, w).to_string()).collect();
        let values: Vec<usize> = shown.iter().map(|(_, n)| *n).collect();
        let _ = write!(out, "<figure>{}</figure>", label_chart(&labels, &values));
    }
    html_table(out, counts, w);
    out.push_str("</section>\n");
}

/// The NIS2 section: the counts, a chart of each report's timeliness
/// (on time, late and not sent, one bar each), and the table.
fn html_nis2(out: &mut String, r: &YearReport, w: &Words) {
    let n = &r.nis2;
    let _ = write!(
        out,
        "<section><h2>{}</h2><table><tbody>\
         <tr><td>{}</td><td class=\"n\">{}</td></tr>\
         <tr><td>{}</td><td class=\"n\">{}</td></tr>\
         <tr><td>{}</td><td class=\"n\">{}</td></tr></tbody></table>",
        esc(w.nis2),
        esc(w.nis2_applies),
        n.applies,
        esc(w.nis2_suggested),
        n.suggested,
        esc(w.nis2_not_applicable),
        n.not_applicable,
    );
    let mut labels = Vec::new();
    let mut values = Vec::new();
    for t in &n.reports {
        for (what, v) in [
            (w.on_time, t.on_time),
            (w.sent_late, t.late),
            (w.not_sent, t.not_sent),
        ] {
            labels.push(format!("{}: {what}", (w.nis2_clock)(t.clock)));
            values.push(v);
        }
    }
    let _ = write!(out, "<figure>{}</figure>", label_chart(&labels, &values));
    let _ = write!(
        out,
        "<table><thead><tr><th>{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th></tr></thead><tbody>",
        esc(w.nis2_report),
        esc(w.on_time),
        esc(w.sent_late),
        esc(w.not_sent)
    );
    for t in &n.reports {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc((w.nis2_clock)(t.clock)),
            t.on_time,
            t.late,
            t.not_sent
        );
    }
    let _ = writeln!(
        out,
        "</tbody></table><p class=\"method\">{}</p></section>",
        esc(w.nis2_method)
    );
}

/// A self-contained HTML page (no scripts, no external files) with charts.
pub fn html(r: &YearReport, lang: Language) -> String {
    let w = words(lang);
    let months: Vec<String> = w.months.iter().map(|m| m.to_string()).collect();
    let outcomes: Vec<(String, usize)> = r
        .outcomes
        .iter()
        .map(|(o, n)| ((w.outcome)(*o).to_string(), *n))
        .collect();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{title} {year}</title>\n\
         <style>body{{font-family:sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}}\
         table{{border-collapse:collapse;margin:.5rem 0 1.5rem}}td,th{{border-bottom:1px solid #ccc;padding:.25rem .75rem;text-align:left}}\
         .n{{text-align:right}}figure{{margin:.5rem 0}}svg{{max-width:100%;height:auto}}.key{{font-size:2rem;font-weight:bold}}\
         p.method{{color:#555;font-size:.9rem}}</style>\n\
         </head><body>\n<h1>{title} {year}</h1>\n<p><span class=\"key\">{cases}</span> {cases_label}</p>\n",
        lang = match lang {
            Language::Sv => "sv",
            Language::En => "en",
        },
        title = esc(w.title),
        year = r.year,
        cases = r.cases,
        cases_label = esc(&w.cases.to_lowercase()),
    );
    let _ = writeln!(
        out,
        "<section><h2>{}</h2><figure>{}</figure></section>",
        esc(w.per_month),
        month_chart(&months, &r.per_month, w.count)
    );
    html_section(&mut out, w.outcomes, &outcomes, true, w);
    let _ = write!(
        out,
        "<section><h2>{}</h2><table><tbody><tr><td>{}</td><td class=\"n\">{}</td></tr>\
         <tr><td>{}</td><td class=\"n\">{} ({})</td></tr>",
        esc(w.timeliness),
        esc(w.reported),
        r.reported,
        esc(w.within_72h),
        r.reported_within_72h,
        percent(r.reported_within_72h, r.reported),
    );
    for (what, s) in [
        (w.awareness_to_decision, &r.awareness_to_decision),
        (w.awareness_to_report, &r.awareness_to_report),
    ] {
        for (q, m) in [(w.median, s.median_minutes), (w.p90, s.p90_minutes)] {
            let _ = write!(
                out,
                "<tr><td>{} ({})</td><td class=\"n\">{}</td></tr>",
                esc(what),
                esc(q),
                esc(&duration(m, w, lang))
            );
        }
    }
    let _ = write!(out, "</tbody></table><h3>{}</h3><ul>", esc(w.late));
    if r.late.is_empty() {
        let _ = write!(out, "<li>{}</li>", esc(w.none));
    }
    for l in &r.late {
        let _ = write!(
            out,
            "<li>{} – {} {}: {}</li>",
            esc(&l.case_ref),
            l.hours_after_awareness,
            esc(w.hours_after),
            esc(l.delay_reason.as_deref().unwrap_or(w.no_reason))
        );
    }
    out.push_str("</ul></section>\n");
    html_nis2(&mut out, r, w);
    html_section(&mut out, w.per_committee, &r.per_committee, true, w);
    html_section(&mut out, w.per_supplier, &r.per_supplier, true, w);
    html_section(
        &mut out,
        w.per_cause,
        &localised(&r.per_cause, w.cause),
        true,
        w,
    );
    html_section(
        &mut out,
        w.per_data_category,
        &localised(&r.per_data_category, w.category),
        true,
        w,
    );
    let _ = writeln!(
        out,
        "<p class=\"method\">{}</p>\n</body></html>",
        esc(w.method)
    );
    out
}
