//! Property tests: [`read`] is total. Whatever bytes arrive — arbitrary ones, or
//! messages built to be hostile (duplicate and odd headers, broken encodings,
//! deep multipart and message/rfc822 nesting, thousands of headers, dates in
//! year 1 or 9999, forward chains with impossible dates) — reading never
//! panics, and presenting the result never panics either.
//!
//! Case counts are modest so that the debug test build stays fast; set
//! `PROPTEST_CASES=10000` (for example) to run every property longer. A failure
//! prints the minimal input proptest shrank it to.

use proptest::prelude::*;

use super::{present, read, ReadOptions};
use crate::core::clock;

/// `n` cases unless `PROPTEST_CASES` asks for another number.
pub(super) fn cases(n: u32) -> ProptestConfig {
    let d = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_some() {
        d
    } else {
        ProptestConfig { cases: n, ..d }
    }
}

/// Everything the daemon does with a read notice inside the core: both
/// presentations and the deadline. None of it may panic.
fn read_and_present(raw: &[u8]) -> Option<super::Notice> {
    let opts = ReadOptions::default();
    let n = read(raw, &opts).ok()?;
    let _ = present::to_contract_json(&n, opts.tz);
    let _ = present::explain(&n, opts.tz);
    let _ = n.aware_at.map(clock::deadline);
    Some(n)
}

/// The notice's own promises about time: awareness is never later than
/// receipt, and no date a message carries starts the clock outside the years
/// mail can have (a forged "year 1" or "year 9999" sets nothing).
fn check_times(n: &super::Notice) -> Result<(), TestCaseError> {
    use chrono::Datelike;
    if let (Some(a), Some(r)) = (n.aware_at, n.received_at) {
        prop_assert!(a <= r, "aware_at {a} after received_at {r}");
    }
    for t in [n.aware_at, n.received_at].into_iter().flatten() {
        prop_assert!(
            (1970..=2200).contains(&t.year()),
            "implausible time {t} used for the clock"
        );
    }
    Ok(())
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "From", "To", "Cc", "Date", "Subject", "Message-ID", "In-Reply-To",
            "References", "Content-Type", "Content-Transfer-Encoding", "MIME-Version",
            "Auto-Submitted", "Precedence", "X-Autoreply", "X-Autorespond",
            "List-Unsubscribe", "Received", "Authentication-Results", "Reply-To",
            "Sender", "Content-Disposition", "Resent-From", "Resent-Date",
            "FROM", "date", "subject", "message-id",
        ])
        .prop_map(String::from),
        1 => "[!-9;-~]{1,30}",
    ]
}

/// Dates as headers and forward blocks write them, and as nobody should:
/// year 1 and 9999, year 0 and 10000, day 0 and 40, hour 99, zones out of range.
fn date_text() -> impl Strategy<Value = String> {
    let year = prop_oneof![
        Just(1i64),
        Just(0),
        Just(99),
        Just(1900),
        Just(1970),
        Just(2026),
        Just(9999),
        Just(10000),
        Just(65_536),
        Just(-1),
        any::<i64>(),
    ];
    let zone = prop::sample::select(vec![
        "+0000",
        "-0000",
        "+0100",
        "-2359",
        "+2400",
        "+9999",
        "GMT",
        "UT",
        "CEST",
        "Z",
        "",
        "+",
        "-99999999999",
    ]);
    let mon = prop::sample::select(vec![
        "Jan", "Feb", "Mar", "Dec", "jan", "xyz", "", "januari", "maj", "okt",
    ]);
    prop_oneof![
        (
            year.clone(),
            mon,
            0u32..40,
            0u32..100,
            0u32..100,
            0u32..100,
            zone
        )
            .prop_map(|(y, m, d, h, mi, s, z)| format!(
                "Mon, {d} {m} {y} {h:02}:{mi:02}:{s:02} {z}"
            )),
        (year.clone(), 0u32..15, 0u32..40, 0u32..30, 0u32..70)
            .prop_map(|(y, m, d, h, mi)| format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}")),
        (year, 0u32..40, 0u32..30, 0u32..70)
            .prop_map(|(y, d, h, mi)| format!("den {d} februari {y} kl. {h:02}:{mi:02}")),
        "[ -~]{0,40}",
    ]
}

fn address_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}@[a-z]{1,8}\\.(example|test|se)",
        "\"[ -~]{0,20}\" <[a-z]{1,8}@[a-z.]{1,12}>",
        Just("undisclosed-recipients:;".to_string()),
        Just("grupp: a@b.example, c@d.example;".to_string()),
        Just("<@route.example:a@b.example>".to_string()),
        Just("a@[127.0.0.1]".to_string()),
        Just("ünï@cödé.example".to_string()),
        Just("<>".to_string()),
        Just("no-at-sign".to_string()),
        Just("a@b@c".to_string()),
        Just("(comment (nested) a@b.example".to_string()),
        (1usize..300).prop_map(|n| (0..n)
            .map(|i| format!("u{i}@x{i}.example"))
            .collect::<Vec<_>>()
            .join(", ")),
    ]
}

fn encoded_word() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "utf-8",
            "UTF-8",
            "iso-8859-1",
            "windows-1252",
            "gb2312",
            "utf-7",
            "bogus",
            "",
            "utf-16",
            "koi8-r",
        ]),
        prop::sample::select(vec!["B", "Q", "b", "q", "X", ""]),
        "[!-~]{0,40}",
        any::<bool>(),
    )
        .prop_map(|(cs, enc, payload, close)| {
            format!("=?{cs}?{enc}?{payload}{}", if close { "?=" } else { "" })
        })
}

fn message_ids() -> impl Strategy<Value = String> {
    prop_oneof![
        "<[a-z0-9.]{1,20}@[a-z.]{1,12}>",
        "[a-z<>@ ]{0,30}",
        (1usize..500).prop_map(|n| (0..n)
            .map(|i| format!("<id{i}@x.example>"))
            .collect::<Vec<_>>()
            .join(" ")),
        Just("<".to_string()),
        Just("<<<>>>".to_string()),
    ]
}

fn content_type() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("text/plain; charset=utf-8".to_string()),
        Just("text/plain; charset=bogus".to_string()),
        Just("text/html; charset=\"iso-8859-1\"".to_string()),
        Just("message/rfc822".to_string()),
        Just("multipart/report; report-type=delivery-status; boundary=r".to_string()),
        "multipart/(mixed|alternative|related|digest); boundary=\"?[ -~]{0,20}\"?",
        "[ -~]{0,40}",
    ]
}

/// A header value fitting the name most of the time, anything at other times.
fn header_value(name: &str) -> BoxedStrategy<String> {
    let any_text = prop_oneof![
        "[ -~]{0,60}",
        "\\PC{0,40}",
        encoded_word(),
        // Folded, and folded badly (a bare CR, a fold with nothing after it).
        "[ -~]{0,20}\r\n [ -~]{0,20}",
        "[ -~]{0,20}\r[ -~]{0,20}",
        "[ -~]{0,20}\n",
    ];
    match name.to_ascii_lowercase().as_str() {
        "date" | "resent-date" => prop_oneof![3 => date_text(), 1 => any_text].boxed(),
        "from" | "to" | "cc" | "reply-to" | "sender" | "resent-from" => {
            prop_oneof![3 => address_text(), 1 => any_text].boxed()
        }
        "message-id" | "in-reply-to" | "references" => {
            prop_oneof![3 => message_ids(), 1 => any_text].boxed()
        }
        "content-type" => prop_oneof![3 => content_type(), 1 => any_text].boxed(),
        "content-transfer-encoding" => prop_oneof![
            prop::sample::select(vec![
                "base64",
                "quoted-printable",
                "8bit",
                "7bit",
                "binary",
                "x-uuencode",
                "bogus"
            ])
            .prop_map(String::from),
            any_text
        ]
        .boxed(),
        "subject" => prop_oneof![
            Just("VB: Dataintrång hos leverantören".to_string()),
            Just("Automatiskt svar: Intrång".to_string()),
            "(SV|VB|Fwd|RE|Fw): (SV: |VB: |Fwd: ){0,20}[ -~]{0,30}",
            "\\[PUI-[0-9]{1,6}-[0-9]{1,6}\\] [ -~]{0,20}",
            any_text
        ]
        .boxed(),
        _ => any_text.boxed(),
    }
}

fn header() -> impl Strategy<Value = (String, String)> {
    header_name().prop_flat_map(|n| (Just(n.clone()), header_value(&n)))
}

/// A forward block as mail clients write it, with an odd date in it.
fn forward_block() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "________________________________\nFrån: {who}\nSkickat: {date}\nTill: it@example.test\nÄmne: Intrång\n\n",
            "---------- Forwarded message ---------\nFrom: {who}\nDate: {date}\nSubject: Breach\nTo: it@example.test\n\n",
            "Begin forwarded message:\n\nFrom: {who}\nDate: {date}\nSubject: Breach\n\n",
            "-----Ursprungligt meddelande-----\nFrån: {who}\nSkickat: {date}\n\n",
            "> Från: {who}\n> Skickat: {date}\n> \n",
        ]),
        address_text(),
        date_text(),
    )
        .prop_map(|(tpl, who, date)| tpl.replace("{who}", &who).replace("{date}", &date))
}

fn body_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~\n]{0,200}",
        "\\PC{0,100}",
        Just("Vi har drabbats av ett dataintrång i ProvWeb. Personnummer för 1 200 patienter kan ha lästs. Intrånget upptäcktes den 31 februari kl. 99:99.".to_string()),
        // Forward chains, nested many times.
        (prop::collection::vec(forward_block(), 0..12), "[ -~\n]{0,80}")
            .prop_map(|(blocks, tail)| format!("{}{tail}", blocks.concat())),
        // Base64 and quoted-printable that are not quite either.
        "[A-Za-z0-9+/=]{0,120}",
        "([ -<>-~]{0,10}=[0-9A-Fa-f]{0,2}){0,20}",
        // HTML with unclosed and deeply nested tags.
        (1usize..400).prop_map(|n| format!("<html>{}Intrång{}", "<div>".repeat(n), "</p>".repeat(n / 2))),
    ]
}

/// A MIME body tree.
#[derive(Debug, Clone)]
enum Part {
    Leaf {
        headers: Vec<(String, String)>,
        body: String,
    },
    Multipart {
        subtype: String,
        boundary: String,
        parts: Vec<Part>,
        close: bool,
    },
    Rfc822 {
        headers: Vec<(String, String)>,
        inner: Box<Part>,
    },
}

fn leaf() -> impl Strategy<Value = Part> {
    (
        prop::collection::vec(
            prop_oneof![
                header(),
                content_type().prop_map(|v| ("Content-Type".to_string(), v)),
            ],
            0..4,
        ),
        body_text(),
    )
        .prop_map(|(headers, body)| Part::Leaf { headers, body })
}

fn part() -> impl Strategy<Value = Part> {
    leaf().prop_recursive(8, 48, 5, |inner| {
        prop_oneof![
            (
                prop::sample::select(vec![
                    "mixed",
                    "alternative",
                    "related",
                    "digest",
                    "report",
                    "x"
                ]),
                // Boundaries: ordinary, empty, a prefix of another, odd bytes.
                prop_oneof![
                    "[a-z0-9]{1,12}",
                    Just(String::new()),
                    Just("b".to_string()),
                    "[ -~]{0,70}"
                ],
                prop::collection::vec(inner.clone(), 0..5),
                any::<bool>(),
            )
                .prop_map(|(subtype, boundary, parts, close)| Part::Multipart {
                    subtype: subtype.to_string(),
                    boundary,
                    parts,
                    close,
                }),
            (prop::collection::vec(header(), 0..6), inner).prop_map(|(headers, inner)| {
                Part::Rfc822 {
                    headers,
                    inner: Box::new(inner),
                }
            }),
        ]
    })
}

fn write_headers(out: &mut String, headers: &[(String, String)]) {
    for (n, v) in headers {
        out.push_str(n);
        out.push_str(": ");
        out.push_str(v);
        out.push_str("\r\n");
    }
}

/// Writes a part: its own headers, a blank line, its body.
fn write_part(out: &mut String, p: &Part) {
    match p {
        Part::Leaf { headers, body } => {
            write_headers(out, headers);
            out.push_str("\r\n");
            out.push_str(body);
            out.push_str("\r\n");
        }
        Part::Multipart {
            subtype,
            boundary,
            parts,
            close,
        } => {
            out.push_str(&format!(
                "Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\r\n\r\npreamble\r\n"
            ));
            for c in parts {
                out.push_str(&format!("--{boundary}\r\n"));
                write_part(out, c);
            }
            if *close {
                out.push_str(&format!("--{boundary}--\r\nepilogue\r\n"));
            }
        }
        Part::Rfc822 { headers, inner } => {
            out.push_str("Content-Type: message/rfc822\r\n\r\n");
            write_headers(out, headers);
            write_part(out, inner);
        }
    }
}

/// A whole message: a From line first (so it is a message by any reading),
/// then any headers, then a body tree.
fn message() -> impl Strategy<Value = String> {
    (
        address_text(),
        prop::collection::vec(header(), 0..30),
        part(),
    )
        .prop_map(|(from, headers, body)| {
            let mut out = format!("From: {from}\r\n");
            write_headers(&mut out, &headers);
            write_part(&mut out, &body);
            out
        })
}

/// The same part nested `depth` times, as multiparts or as attached messages.
fn nested(depth: usize, rfc822: bool, close: bool) -> String {
    let mut out = String::from(
        "From: a@b.example\r\nSubject: VB: Intrång\r\nDate: Mon, 1 Jan 0001 00:00:00 +0000\r\n",
    );
    for i in 0..depth {
        if rfc822 {
            out.push_str(&format!(
                "Content-Type: message/rfc822\r\n\r\nFrom: l{i}@b.example\r\nDate: Fri, 31 Dec 9999 23:59:59 -2359\r\nSubject: Fwd: {i}\r\n"
            ));
        } else {
            out.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
            ));
        }
    }
    out.push_str("Content-Type: text/plain\r\n\r\nVi har haft ett dataintrång.\r\n");
    if close && !rfc822 {
        for i in (0..depth).rev() {
            out.push_str(&format!("--b{i}--\r\n"));
        }
    }
    out
}

proptest! {
    #![proptest_config(cases(512))]

    /// Any bytes at all: a notice or `NotAMessage`, never a panic.
    #[test]
    fn read_is_total_on_arbitrary_bytes(raw in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = read_and_present(&raw);
    }

    /// Bytes that start like a header, so the parser gets past the first check.
    #[test]
    fn read_is_total_on_bytes_after_a_header(
        name in "[A-Za-z-]{1,20}",
        rest in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let mut raw = format!("{name}: ").into_bytes();
        raw.extend(rest);
        let n = read_and_present(&raw);
        prop_assert!(n.is_some(), "a message with a header line is a notice");
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// Structured but hostile messages are always read into a notice.
    #[test]
    fn read_is_total_on_hostile_messages(msg in message()) {
        let n = read_and_present(msg.as_bytes());
        prop_assert!(n.is_some(), "a message that starts with From: is a notice");
        if let Some(n) = n {
            check_times(&n)?;
        }
    }

    /// The same, with non-UTF-8 bytes and NULs sprinkled over it.
    #[test]
    fn read_is_total_on_hostile_messages_with_raw_bytes(
        msg in message(),
        junk in prop::collection::vec((any::<prop::sample::Index>(), prop_oneof![Just(0u8), Just(0xff), Just(0x80), Just(b'\r'), any::<u8>()]), 0..20),
    ) {
        let mut raw = msg.into_bytes();
        for (at, b) in junk {
            let i = at.index(raw.len() + 1);
            raw.insert(i, b);
        }
        let _ = read_and_present(&raw);
    }
}

proptest! {
    #![proptest_config(cases(32))]

    /// Thousands of headers, with many duplicates of the ones the reader uses
    /// (a few dozen generated headers, repeated: generating thousands of
    /// distinct ones costs more than reading them).
    #[test]
    fn read_is_total_on_huge_header_lists(
        headers in prop::collection::vec(header(), 1..40),
        count in 1000usize..5000,
        body in body_text(),
    ) {
        let mut out = String::from("From: a@b.example\r\n");
        let many: Vec<(String, String)> = headers.iter().cloned().cycle().take(count).collect();
        write_headers(&mut out, &many);
        out.push_str("\r\n");
        out.push_str(&body);
        let n = read_and_present(out.as_bytes());
        prop_assert!(n.is_some());
    }

    /// Deep nesting of multiparts or attached messages, closed or not.
    #[test]
    fn read_is_total_on_deep_nesting(depth in 1usize..400, rfc822 in any::<bool>(), close in any::<bool>()) {
        let msg = nested(depth, rfc822, close);
        let n = read_and_present(msg.as_bytes());
        prop_assert!(n.is_some());
    }
}
