//! Property tests of who may command ([`authorize`]) and of the
//! `Authentication-Results` parser.
//!
//! The trust property: the receiving server (authserv-id `mail.example.test`)
//! prepends its own header on top, saying DMARC failed, `none`, or nothing
//! about DMARC. Below it comes anything the sender wrote: headers claiming our
//! authserv-id quoted, padded, escaped, commented, in another case, with a
//! trailing dot, saying `dmarc=pass` or an aligned `dkim=pass`. None of that may
//! make a roster member's mail authenticated. A companion property checks the
//! generator is not vacuous: with a passing header on top, the same mail IS
//! allowed, so the trust property can fail.
//!
//! Case counts are modest so that the debug test build stays fast; set
//! `PROPTEST_CASES=10000` (for example) to run longer.

use proptest::prelude::*;

use super::auth::{authorize, parse_auth_results, AuthConfig, Submission, Verdict};
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
    }
}

/// What the receiving server writes on top when the mail did not pass.
fn failing_top() -> impl Strategy<Value = String> {
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
fn passing_top() -> impl Strategy<Value = String> {
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
        below in prop::collection::vec(outsider_header(), 0..6),
    ) {
        let mut headers = vec![top.as_str()];
        headers.extend(below.iter().map(String::as_str));
        let v = authorize(&cfg(), &route(), SENDER, &headers, Submission::Remote);
        prop_assert!(
            !matches!(v, Verdict::Allowed { .. }),
            "allowed by outsider headers {headers:?}: {v:?}"
        );
    }

    /// The trust property above could fail: with our server's passing header on
    /// top, the same roster member's mail is allowed whatever is below.
    #[test]
    fn a_passing_top_header_authenticates(
        top in passing_top(),
        below in prop::collection::vec(outsider_header(), 0..6),
    ) {
        let mut headers = vec![top.as_str()];
        headers.extend(below.iter().map(String::as_str));
        let v = authorize(&cfg(), &route(), SENDER, &headers, Submission::Remote);
        prop_assert!(matches!(v, Verdict::Allowed { .. }), "{headers:?}: {v:?}");
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

    /// Deciding never panics, whatever the sender and the headers.
    #[test]
    fn authorize_never_panics(
        sender in "\\PC{0,40}",
        headers in prop::collection::vec("\\PC{0,80}", 0..5),
        local in any::<bool>(),
    ) {
        let hs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let sub = if local { Submission::Local } else { Submission::Remote };
        let _ = authorize(&cfg(), &route(), &sender, &hs, sub);
    }
}
