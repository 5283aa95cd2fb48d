//! Property tests of who may command ([`authorize`]) and of the
//! `Authentication-Results` parser.
//!
//! The trust property: the receiving server (authserv-id `mail.example.test`)
//! prepends its own `Authentication-Results` on top, saying DMARC failed,
//! `none`, or nothing about DMARC — or writes none at all above its own
//! `Received` line. Below comes anything the sender wrote: headers claiming
//! our authserv-id quoted, padded, escaped, commented, in another case, with a
//! trailing dot, saying `dmarc=pass` or an aligned `dkim=pass`, and `Received`
//! lines of their own. None of that may make a roster member's mail
//! authenticated, neither as an [`Origin`] given to [`authorize`] nor as a raw
//! message read by `notice::read` (which collects the trace headers). A
//! companion property checks the generators are not vacuous: with a passing
//! header on top, the same mail IS allowed, so the trust property can fail.
//!
//! Case counts are modest so that the debug test build stays fast; set
//! `PROPTEST_CASES=10000` (for example) to run longer.

use proptest::prelude::*;

use super::auth::{authorize, parse_auth_results, AuthConfig, Origin, TraceHeader, Verdict};
use super::notice::{self, ReadOptions};
use super::routing::{Committee, Contact, Route};

const TRUSTED: &str = "mail.example.test";
const SENDER: &str = "official@example.test";

fn cases(n: u32) -> ProptestConfig {
    let d = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_some() {
        d
    } else {
        ProptestConfig { cases: n, ..d }
    }
}

fn contact(a: &str) -> Contact {
    Contact {
        name: a.into(),
        address: a.into(),
        title: None,
    }
}

fn route() -> Route {
    Route {
        committee: Committee {
            name: "Kommunstyrelsen".into(),
            diarie_prefix: "KS".into(),
            delegation_point: "1.5".into(),
            delegation_point_art34: None,
        },
        official: contact(SENDER),
        deputy: contact("deputy@example.test"),
        dpo: contact("dpo@example.test"),
        coordinator: None,
    }
}

fn cfg() -> AuthConfig {
    AuthConfig {
        trusted_authserv_ids: vec![TRUSTED.into()],
        trust_local_submission: false,
        ..Default::default()
    }
}

/// The receiving server's own `Received` line (a client from outside).
const OUR_RECEIVED: &str = "from client.example (client.example [192.0.2.10]) by mail.example.test (Postfix) with ESMTPS id 4Xy1; Mon, 30 Nov 2026 10:00:00 +0100";

/// What the receiving server writes on top when the mail did not pass: its
/// failing results (with or without its `Received` line below them), or only
/// its `Received` line.
fn failing_top() -> impl Strategy<Value = Vec<TraceHeader>> {
    prop_oneof![
        3 => (failing_results(), any::<bool>()).prop_map(|(r, received)| {
            let mut v = vec![TraceHeader::AuthenticationResults(r)];
            if received {
                v.push(TraceHeader::Received(OUR_RECEIVED.into()));
            }
            v
        }),
        1 => Just(vec![TraceHeader::Received(OUR_RECEIVED.into())]),
    ]
}

fn failing_results() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "mail.example.test; dmarc=fail header.from=example.test",
        "mail.example.test; none",
        "mail.example.test; spf=pass smtp.mailfrom=example.test",
        "mail.example.test 1; dkim=fail header.d=example.test; dmarc=none header.from=example.test",
        "mail.example.test; dkim=pass header.d=elsewhere.example; dmarc=fail (p=reject) header.from=example.test",
        "mail.example.test; dmarc=temperror header.from=example.test",
        "mail.example.test; dkim=none; spf=softfail smtp.mailfrom=example.test; dmarc=fail",
    ])
    .prop_map(String::from)
}

/// What it writes when the mail passed.
fn passing_top() -> impl Strategy<Value = Vec<TraceHeader>> {
    passing_results().prop_map(|r| {
        vec![
            TraceHeader::AuthenticationResults(r),
            TraceHeader::Received(OUR_RECEIVED.into()),
        ]
    })
}

fn passing_results() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "mail.example.test; dmarc=pass header.from=example.test",
        "mail.example.test; dkim=pass header.d=example.test",
        "mail.example.test 1; spf=pass smtp.mailfrom=example.test; dkim=pass header.i=@example.test; dmarc=pass",
    ])
    .prop_map(String::from)
}

/// Our authserv-id as an outsider may spell it, and other ids.
fn authserv_id() -> impl Strategy<Value = String> {
    let case_changed = prop::collection::vec(any::<bool>(), TRUSTED.len()).prop_map(|up| {
        TRUSTED
            .chars()
            .zip(up)
            .map(|(c, u)| if u { c.to_ascii_uppercase() } else { c })
            .collect::<String>()
    });
    prop_oneof![
        Just(TRUSTED.to_string()),
        case_changed,
        prop::sample::select(vec![
            "\"mail.example.test\"",
            "\" mail.example.test\"",
            "\"mail.example.test \"",
            "\"\tmail.example.test\"",
            "\"mail\\.example.test\"",
            "\"m\\ail.example.test\"",
            "\"MAIL.EXAMPLE.TEST\"",
            "(our own) mail.example.test",
            "mail.example.test (checked)",
            "(a (nested \\) comment)) mail.example.test",
            " mail.example.test",
            "\t mail.example.test",
            "\r\n mail.example.test",
            "mail.example.test.",
            "\"mail.example.test.\"",
            "mail.example.test.evil.example",
            "example.test",
            "evil.example",
            "\"\"",
        ])
        .prop_map(String::from),
        "[ -~]{0,30}",
    ]
}

/// Results an outsider writes to look authenticated.
fn results() -> impl Strategy<Value = String> {
    let one = prop_oneof![
        Just("dmarc=pass header.from=example.test".to_string()),
        Just("dmarc=pass".to_string()),
        Just("DMARC=PASS header.from=EXAMPLE.TEST".to_string()),
        Just("dmarc = pass (p=none) header.from = \"example.test\"".to_string()),
        Just("dkim=pass header.d=example.test".to_string()),
        Just("dkim=pass header.i=@example.test".to_string()),
        Just("dkim=pass header.d=sub.example.test header.s=s1".to_string()),
        Just("dkim=pass reason=\"good\" header.d=example.test".to_string()),
        Just("spf=pass smtp.mailfrom=example.test".to_string()),
        Just("none".to_string()),
        "[ -~]{0,30}",
    ];
    prop::collection::vec(one, 0..4).prop_map(|r| r.join("; "))
}

/// A trace header an outsider wrote: mostly results, sometimes a `Received`
/// line (claiming our server, or local submission).
fn outsider_trace() -> impl Strategy<Value = TraceHeader> {
    prop_oneof![
        4 => outsider_header().prop_map(TraceHeader::AuthenticationResults),
        1 => prop::sample::select(vec![
            OUR_RECEIVED,
            "from localhost (localhost [127.0.0.1]) by mail.example.test (Postfix) with ESMTP id 1",
            "from mail.example.test by mail.example.test with LMTP id 2",
            "by mail.example.test; Mon, 30 Nov 2026 10:00:00 +0100",
        ])
        .prop_map(|r| TraceHeader::Received(r.to_string())),
    ]
}

fn origin(trace: Vec<TraceHeader>) -> Origin {
    Origin {
        from_fields: 1,
        from_addresses: vec![SENDER.into()],
        trace,
    }
}

/// A raw reply carrying `trace` (top first) above its From line.
fn raw_message(trace: &[TraceHeader]) -> Vec<u8> {
    let mut out = String::new();
    for h in trace {
        match h {
            TraceHeader::AuthenticationResults(v) => {
                out.push_str(&format!("Authentication-Results: {v}\r\n"))
            }
            TraceHeader::Received(v) => out.push_str(&format!("Received: {v}\r\n")),
            TraceHeader::ExchangeOrganization(h, v) => {
                out.push_str(&format!("X-MS-Exchange-Organization-{h:?}: {v}\r\n"))
            }
        }
    }
    out.push_str(&format!(
        "From: {SENDER}\r\nTo: breach@example.test\r\nSubject: SV: [PUI-2026-0001] x\r\n\
Message-ID: <p@example.test>\r\n\r\nkvittera\r\n"
    ));
    out.into_bytes()
}

/// One header an outsider wrote, well-formed or not.
fn outsider_header() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (authserv_id(), prop::option::of(Just(" 1")), results(), any::<bool>()).prop_map(
            |(id, v, r, trailing)| {
                let sep = if r.is_empty() { "" } else { "; " };
                format!("{id}{}{sep}{r}{}", v.unwrap_or(""), if trailing { ";" } else { "" })
            }
        ),
        1 => "\\PC{0,80}",
    ]
}

proptest! {
    #![proptest_config(cases(1000))]

    /// Nothing an outsider can write below our server's failing header makes
    /// the mail authenticated.
    #[test]
    fn outsider_headers_never_authenticate(
        top in failing_top(),
        below in prop::collection::vec(outsider_trace(), 0..6),
    ) {
        let trace: Vec<TraceHeader> = top.into_iter().chain(below).collect();
        let v = authorize(&cfg(), &route(), &origin(trace.clone()));
        prop_assert!(
            !matches!(v, Verdict::Allowed { .. }),
            "allowed by outsider headers {trace:?}: {v:?}"
        );
    }

    /// The same, end to end: the headers in a raw message, collected by the
    /// reader, decided by `authorize`.
    #[test]
    fn outsider_headers_in_a_message_never_authenticate(
        top in failing_top(),
        below in prop::collection::vec(outsider_trace(), 0..6),
    ) {
        let trace: Vec<TraceHeader> = top.into_iter().chain(below).collect();
        let raw = raw_message(&trace);
        let n = notice::read(&raw, &ReadOptions::default());
        prop_assert!(n.is_ok());
        if let Ok(n) = n {
            let v = authorize(&cfg(), &route(), &n.origin);
            prop_assert!(
                !matches!(v, Verdict::Allowed { .. }),
                "allowed by outsider headers {:?}: {v:?}",
                String::from_utf8_lossy(&raw)
            );
        }
    }

    /// The trust properties above could fail: with our server's passing header
    /// on top, the same roster member's mail is allowed whatever is below.
    #[test]
    fn a_passing_top_header_authenticates(
        top in passing_top(),
        below in prop::collection::vec(outsider_trace(), 0..6),
    ) {
        let trace: Vec<TraceHeader> = top.into_iter().chain(below).collect();
        let v = authorize(&cfg(), &route(), &origin(trace.clone()));
        prop_assert!(matches!(v, Verdict::Allowed { .. }), "{trace:?}: {v:?}");
        let n = notice::read(&raw_message(&trace), &ReadOptions::default());
        prop_assert!(n.is_ok());
        if let Ok(n) = n {
            let v = authorize(&cfg(), &route(), &n.origin);
            prop_assert!(matches!(v, Verdict::Allowed { .. }), "read: {trace:?}: {v:?}");
        }
    }

    /// The parser answers any text, an error or a value, never a panic.
    #[test]
    fn parser_never_panics(value in "\\PC{0,200}") {
        let _ = parse_auth_results(&value);
    }

    /// Shaped like real headers, with comments, quotes and escapes in odd places.
    #[test]
    fn parser_never_panics_on_header_shapes(h in outsider_header(), cut in any::<prop::sample::Index>()) {
        let _ = parse_auth_results(&h);
        // Every prefix too: a header cut anywhere (unclosed comment, dangling
        // backslash, half a quoted string).
        let mut at = cut.index(h.len() + 1);
        while !h.is_char_boundary(at) {
            at -= 1;
        }
        let _ = parse_auth_results(&h[..at]);
    }

    /// Deciding never panics, whatever the senders and the headers.
    #[test]
    fn authorize_never_panics(
        from_fields in 0usize..3,
        from_addresses in prop::collection::vec("\\PC{0,40}", 0..3),
        trace in prop::collection::vec(prop_oneof![
            "\\PC{0,80}".prop_map(TraceHeader::AuthenticationResults),
            "\\PC{0,80}".prop_map(TraceHeader::Received),
        ], 0..6),
        local in any::<bool>(),
    ) {
        let cfg = AuthConfig { trust_local_submission: local, ..cfg() };
        let o = Origin { from_fields, from_addresses, trace };
        let _ = authorize(&cfg, &route(), &o);
    }
}

/// The counterexample the trust property found on the code before the
/// receiving server's header alone counted: a quoted authserv-id with a space
/// below our failing header was trusted.
#[test]
fn a_quoted_padded_authserv_id_below_a_failing_header_is_not_trusted() {
    let trace = vec![
        TraceHeader::AuthenticationResults(
            "mail.example.test; dmarc=fail header.from=example.test".into(),
        ),
        TraceHeader::AuthenticationResults(
            "\" mail.example.test\"; dmarc=pass header.from=example.test".into(),
        ),
    ];
    let v = authorize(&cfg(), &route(), &origin(trace));
    assert!(!matches!(v, Verdict::Allowed { .. }), "{v:?}");
}
