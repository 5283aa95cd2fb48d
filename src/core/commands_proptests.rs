//! Property tests of the reply-command reader ([`parse_reply`]): it answers any
//! text without panicking, and every command written the canonical way — the
//! way the README and the answers spell it, in Swedish and in English — reads
//! back as that same command, in that language, whatever the official wrote
//! below it or quoted above it.
//!
//! Case counts are modest so that the debug test build stays fast; set
//! `PROPTEST_CASES=10000` (for example) to run longer.

use proptest::prelude::*;

use super::case::{Assessment, Decision};
use super::commands::{parse_reply, AuthorityRef, Command, ImyRef, Lang, Nis2Command, Parsed};

fn cases(n: u32) -> ProptestConfig {
    let d = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_some() {
        d
    } else {
        ProptestConfig { cases: n, ..d }
    }
}

/// The canonical text of a command in a language: keyword, then the argument
/// as `Assessment::sv`/`en` and `Decision::sv`/`en` write it.
fn canonical(c: &Command, lang: Lang) -> String {
    let sv = lang == Lang::Sv;
    let pick = |s: &str, e: &str| if sv { s.to_string() } else { e.to_string() };
    let with = |kw_sv: &str, kw_en: &str, arg: &str| format!("{}: {arg}", pick(kw_sv, kw_en));
    match c {
        Command::Ack => pick("kvittera", "ack"),
        Command::Assess(a) => with("bedömning", "assess", if sv { a.sv() } else { a.en() }),
        Command::Decide(d) => with("beslut", "decide", if sv { d.sv() } else { d.en() }),
        Command::Reported(r) => format!("{} {r}", pick("anmält", "reported")),
        Command::Delay(t) => with("försening", "delay", t),
        Command::Supplement(None) => pick("komplettera", "supplement"),
        Command::Supplement(Some(t)) => with("komplettera", "supplement", t),
        Command::Withdraw(None) => pick("återta", "withdraw"),
        Command::Withdraw(Some(t)) => with("återta", "withdraw", t),
        Command::Close => pick("stäng", "close"),
        Command::Reopen => pick("återöppna", "reopen"),
        Command::Note(t) => with("notering", "note", t),
        Command::Registry(d) => with("diarienummer", "registry", d.as_str()),
        Command::Merge(r) => format!("{} {r}", pick("sammanfoga", "merge")),
        Command::Nis2(n) => canonical_nis2(n, lang),
    }
}

fn imy_ref() -> impl Strategy<Value = ImyRef> {
    (
        prop::sample::select(vec!["DI", "IMY"]),
        1000u32..10000,
        "[0-9]{1,8}",
    )
        .prop_filter_map("a valid reference", |(p, y, s)| {
            ImyRef::parse(&format!("{p}-{y}-{s}"))
        })
}

/// Free text as an official types it on one line: any printable characters,
/// except the invisible and odd spaces the reader deliberately replaces, and
/// no surrounding whitespace (the reader trims it).
fn free_text() -> impl Strategy<Value = String> {
    "\\PC{1,60}".prop_filter_map("non-empty after trimming", |s| {
        let s: String = s
            .chars()
            .filter(|c| {
                !matches!(
                    c,
                    '\u{00A0}' | '\u{2007}' | '\u{202F}' | '\u{2009}' | '\u{200A}'
                )
            })
            .collect();
        let t = s.trim();
        (!t.is_empty()).then(|| t.to_string())
    })
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        Just(Command::Ack),
        prop::sample::select(vec![
            Assessment::NoRisk,
            Assessment::Risk,
            Assessment::HighRisk
        ])
        .prop_map(Command::Assess),
        prop::sample::select(vec![
            Decision::Notify,
            Decision::NotifyAndInform,
            Decision::DoNotNotify
        ])
        .prop_map(Command::Decide),
        imy_ref().prop_map(Command::Reported),
        free_text().prop_map(Command::Delay),
        prop::option::of(free_text()).prop_map(Command::Supplement),
        prop::option::of(free_text()).prop_map(Command::Withdraw),
        Just(Command::Close),
        Just(Command::Reopen),
        free_text().prop_map(Command::Note),
        diarienummer().prop_map(Command::Registry),
        case_ref().prop_map(Command::Merge),
        nis2_command().prop_map(Command::Nis2),
    ]
}

/// The NIS2 commands as README writes them (`core::commands::nis2`).
fn canonical_nis2(c: &Nis2Command, lang: Lang) -> String {
    let sv = lang == Lang::Sv;
    let pick = |s: &str, e: &str| if sv { s.to_string() } else { e.to_string() };
    match c {
        Nis2Command::Decide { applies, reasoning } => {
            let answer = match (applies, sv) {
                (true, true) => "ja",
                (false, true) => "nej",
                (true, false) => "yes",
                (false, false) => "no",
            };
            match reasoning {
                Some(r) => format!("nis2: {answer}, {r}"),
                None => format!("nis2: {answer}"),
            }
        }
        Nis2Command::EarlyWarningSent => pick("tidig varning skickad", "early warning sent"),
        Nis2Command::NotificationSent { authority_ref } => format!(
            "{} {authority_ref}",
            pick("incidentanmälan skickad", "incident notification sent")
        ),
        Nis2Command::ProgressReportSent => pick("lägesrapport skickad", "progress report sent"),
        Nis2Command::FinalReportSent => pick("slutrapport skickad", "final report sent"),
        Nis2Command::IncidentHandled => pick("incident hanterad", "incident handled"),
    }
}

fn nis2_command() -> impl Strategy<Value = Nis2Command> {
    prop_oneof![
        (
            any::<bool>(),
            prop::option::of("[a-zåäöA-Z][a-zåäöA-Z0-9 ,]{0,40}[a-zåäö0-9]")
        )
            .prop_map(|(applies, reasoning)| Nis2Command::Decide { applies, reasoning }),
        Just(Nis2Command::EarlyWarningSent),
        "[A-Z]{2,6}-20[0-9]{2}-[0-9]{1,6}".prop_filter_map("a valid reference", |r| {
            AuthorityRef::parse(&r)
                .map(|authority_ref| Nis2Command::NotificationSent { authority_ref })
        }),
        Just(Nis2Command::ProgressReportSent),
        Just(Nis2Command::FinalReportSent),
        Just(Nis2Command::IncidentHandled),
    ]
}

/// A case reference as breachwatch writes it (`CaseRef::new`).
fn case_ref() -> impl Strategy<Value = super::types::CaseRef> {
    (
        prop::sample::select(vec!["PUI", "KS", "DSO1"]),
        2000i32..2100,
        1u32..100_000_000,
    )
        .prop_map(|(p, y, n)| super::types::CaseRef::new(p, y, n))
}

/// A registry number as the committees write it: series, year, number.
fn diarienummer() -> impl Strategy<Value = super::commands::Diarienummer> {
    (
        prop::sample::select(vec!["KS", "VON", "BUN", "SBN"]),
        2000u32..2100,
        1u32..100_000,
    )
        .prop_filter_map("a valid diarienummer", |(p, y, n)| {
            super::commands::Diarienummer::parse(&format!("{p} {y}/{n:04}"))
        })
}

fn lang() -> impl Strategy<Value = Lang> {
    prop_oneof![Just(Lang::Sv), Just(Lang::En)]
}

/// Body lines that cannot be mistaken for quoted history or a signature.
fn body_lines() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-zåäöA-Z0-9 ,.]{0,40}", 0..6)
}

proptest! {
    #![proptest_config(cases(512))]

    /// Any text gives an answer.
    #[test]
    fn parse_reply_never_panics(text in "\\PC{0,400}") {
        let _ = parse_reply(&text);
    }

    /// Any characters at all, control characters and lone CRs included, over
    /// many lines, shaped like replies (quotes, attributions, separators).
    #[test]
    fn parse_reply_never_panics_on_reply_shapes(
        lines in prop::collection::vec(prop_oneof![
            "(?s).{0,60}",
            "> .{0,40}",
            Just("-- ".to_string()),
            Just("-----Ursprungligt meddelande-----".to_string()),
            Just("________________________________".to_string()),
            "(On|Den|Am) .{0,30} (wrote|skrev):",
            "(Från|From): .{0,20}",
            "(kvittera|beslut|bedömning|anmält|försening|notering|återta|komplettera|stäng)[:; ]?.{0,30}",
        ], 0..20),
    ) {
        let _ = parse_reply(&lines.join("\n"));
    }

    /// Canonical command text reads back as the same command in the same
    /// language, with the lines after it as the body.
    #[test]
    fn canonical_commands_read_back(c in command(), l in lang(), body in body_lines(), blank in 0usize..3) {
        let text = format!("{}{}\n{}", "\n".repeat(blank), canonical(&c, l), body.join("\n"));
        let want_body = body
            .iter()
            .map(|s| s.trim_end())
            .collect::<Vec<_>>()
            .join("\n")
            .trim_matches('\n')
            .to_string();
        match parse_reply(&text) {
            Parsed::Command { command, lang, body } => {
                prop_assert_eq!(command, c);
                prop_assert_eq!(lang, l);
                prop_assert_eq!(body, want_body);
            }
            other => prop_assert!(false, "{text:?} read as {other:?}"),
        }
    }

    /// Bottom posting: the quoted mail (with or without its attribution line)
    /// above the command does not hide it.
    #[test]
    fn commands_below_a_quote_read_back(
        c in command(),
        l in lang(),
        quoted in prop::collection::vec("> [ -~]{0,40}", 1..8),
        attribution in any::<bool>(),
    ) {
        let attr = if attribution { "On Mon, 30 Nov 2026 at 10:00, breachwatch <breach@example.test> wrote:\n" } else { "" };
        let text = format!("{attr}{}\n\n{}\n", quoted.join("\n"), canonical(&c, l));
        match parse_reply(&text) {
            Parsed::Command { command, lang, .. } => {
                prop_assert_eq!(command, c);
                prop_assert_eq!(lang, l);
            }
            other => prop_assert!(false, "{text:?} read as {other:?}"),
        }
    }

    /// A command without an argument must be the whole line: followed by more
    /// words it is a sentence ("stäng inte ärendet än"), never the command.
    #[test]
    fn argumentless_commands_followed_by_words_are_text(
        kw in prop::sample::select(vec!["kvittera", "ack", "stäng", "close", "återöppna", "reopen"]),
        rest in "[a-zåäö]{1,12}( [a-zåäö]{1,12}){0,4}",
    ) {
        let text = format!("{kw} {rest}");
        let parsed = parse_reply(&text);
        prop_assert!(
            !matches!(parsed, Parsed::Command { .. }),
            "{text:?} read as {parsed:?}"
        );
    }

    /// IMY references: the normalised text parses back to itself, and the ways
    /// people write them (lower case, en dash, spaces) give the same reference.
    #[test]
    fn imy_references_round_trip(r in imy_ref(), sep in prop::sample::select(vec!["-", "–", " "]), lower in any::<bool>()) {
        prop_assert_eq!(ImyRef::parse(r.as_str()), Some(r.clone()));
        let written = r.as_str().replace('-', sep);
        let written = if lower { written.to_lowercase() } else { written };
        prop_assert_eq!(ImyRef::parse(&written), Some(r));
    }
}
