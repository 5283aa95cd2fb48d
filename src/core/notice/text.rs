//! Plain-text helpers for the notice reader: normalising decoded bodies and
//! cutting text into sentences. Every slice is taken at char boundaries.

/// Line ends to `\n`, no-break and thin spaces to plain spaces, invisible
/// characters removed: HTML-derived and Outlook text is full of them, and the
/// patterns downstream should not have to care.
pub fn normalize(s: &str) -> String {
    // Everything replaced is '\r', '\t' or a sequence starting with one of
    // the lead bytes C2 (U+00A0, U+00AD), E2 (U+2007..U+202F) or EF (U+FEFF).
    // Most bodies have none of them: one byte scan, one copy.
    let b = s.as_bytes();
    if !b
        .iter()
        .any(|x| matches!(x, 0x09 | 0x0D | 0xC2 | 0xE2 | 0xEF))
    {
        return s.to_string();
    }
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&x) = b.get(i) {
        let next = b.get(i + 1).copied();
        let next2 = b.get(i + 2).copied();
        match (x, next, next2) {
            (0x0D, Some(0x0A), _) => i += 1,
            (0x0D, _, _) => {
                out.push(b'\n');
                i += 1;
            }
            (0x09, _, _) => {
                out.push(b' ');
                i += 1;
            }
            // U+00A0 no-break space
            (0xC2, Some(0xA0), _) => {
                out.push(b' ');
                i += 2;
            }
            // U+00AD soft hyphen
            (0xC2, Some(0xAD), _) => i += 2,
            // U+2007, U+2009, U+200A, U+202F: spaces
            (0xE2, Some(0x80), Some(0x87 | 0x89 | 0x8A | 0xAF)) => {
                out.push(b' ');
                i += 3;
            }
            // U+200B..U+200D: zero-width
            (0xE2, Some(0x80), Some(0x8B..=0x8D)) => i += 3,
            // U+FEFF byte order mark
            (0xEF, Some(0xBB), Some(0xBF)) => i += 3,
            _ => {
                out.push(x);
                i += 1;
            }
        }
    }
    // Only whole sequences were removed or replaced by ASCII, so this holds.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The longest prefix of `s` of at most `n` bytes that ends at a char boundary.
pub fn prefix(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut i = n;
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    s.get(..i).unwrap_or("")
}

/// `s` without its ASCII-armored blocks: PGP keys, signatures and
/// encrypted messages, certificates and keys (`-----BEGIN X-----` to
/// `-----END X-----`, also quoted with `>`). Their base64 lines are no
/// prose: read as text they gave "systems" such as "mQCNAy". A clearsigned
/// message's text is kept (only its `BEGIN PGP SIGNED MESSAGE` line and the
/// `Hash:` lines after it go). A block ends at its END line or at the first
/// line that is not armor (base64, an armor header such as `Version: …`,
/// blank), so a stray BEGIN line never hides the prose after it. Borrowed
/// when there is none (most mail): one substring search.
pub fn without_armor(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains("-----BEGIN ") {
        return std::borrow::Cow::Borrowed(s);
    }
    enum State {
        Text,
        Block,
        SignedHeader,
    }
    let mut out = String::with_capacity(s.len());
    let mut state = State::Text;
    for line in s.split_inclusive('\n') {
        let bare = line.trim_start_matches(['>', ' ']).trim_end();
        match state {
            State::Text => {
                if let Some(label) = armor_line(bare, "BEGIN") {
                    state = if label == "PGP SIGNED MESSAGE" {
                        State::SignedHeader
                    } else {
                        State::Block
                    };
                    continue;
                }
            }
            State::SignedHeader => {
                if bare.starts_with("Hash:") {
                    continue;
                }
                state = State::Text;
                if bare.is_empty() {
                    continue;
                }
            }
            State::Block => {
                if armor_line(bare, "END").is_some() {
                    state = State::Text;
                    continue;
                }
                if is_armor_body(bare) {
                    continue;
                }
                state = State::Text;
            }
        }
        out.push_str(line);
    }
    std::borrow::Cow::Owned(out)
}

/// The label of an armor line `-----BEGIN X-----` (`which` = "BEGIN") or
/// `-----END X-----`: capitals, digits and spaces, at most 60 bytes.
fn armor_line<'a>(bare: &'a str, which: &str) -> Option<&'a str> {
    let label = bare
        .strip_prefix("-----")?
        .strip_suffix("-----")?
        .strip_prefix(which)?
        .strip_prefix(' ')?;
    let ok = !label.is_empty()
        && label.len() <= 60
        && label
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ');
    ok.then_some(label)
}

/// A line inside an armored block: blank, base64 (with `=` padding, or the
/// `=XXXX` checksum), or an armor header (`Version: …`, `Comment: …`).
fn is_armor_body(bare: &str) -> bool {
    if bare
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    {
        return true;
    }
    bare.split_once(": ").is_some_and(|(key, _)| {
        !key.is_empty()
            && key.len() <= 20
            && key.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
    })
}

/// Words after which a full stop does not end a sentence.
const ABBREV: &[&str] = &[
    "kl", "ca", "t.ex", "bl.a", "dvs", "d.v.s", "inkl", "p.m", "a.m", "nr", "tel", "jfr", "resp",
    "mr", "mrs", "ms", "dr", "st", "no", "org.nr", "fr.o.m", "t.o.m", "tf", "ev", "etc", "vs",
];

/// Splits text into sentences: at line breaks and at `.`, `!` or `?` followed
/// by a space and a capital letter or digit (unless the word before is a
/// known abbreviation such as "kl."). Returns non-empty trimmed slices.
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in text.split('\n') {
        let mut start = 0;
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let Some(&b) = bytes.get(i) else {
                break;
            };
            if (b == b'.' || b == b'!' || b == b'?') && bytes.get(i + 1) == Some(&b' ') {
                let next = line.get(i + 2..).and_then(|r| r.chars().next());
                let ends = next.is_some_and(|c| c.is_uppercase() || c.is_ascii_digit());
                let word = line
                    .get(start..i)
                    .and_then(|p| p.rsplit(|c: char| c.is_whitespace()).next())
                    .unwrap_or("")
                    .to_lowercase();
                let abbrev = b == b'.' && ABBREV.contains(&word.as_str());
                if ends && !abbrev {
                    if let Some(s) = line.get(start..=i) {
                        push_trimmed(&mut out, s);
                    }
                    start = i + 1;
                }
            }
            i += 1;
        }
        if let Some(s) = line.get(start..) {
            push_trimmed(&mut out, s);
        }
    }
    out
}

fn push_trimmed<'a>(out: &mut Vec<&'a str>, s: &'a str) {
    let t = s.trim();
    if !t.is_empty() {
        out.push(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sentences_but_not_after_kl() {
        let s = sentences("Det hände kl. 10.42 i går. Vi upptäckte det sedan! Inc. that\nNy rad");
        assert_eq!(
            s,
            [
                "Det hände kl. 10.42 i går.",
                "Vi upptäckte det sedan!",
                "Inc. that",
                "Ny rad"
            ]
        );
        assert_eq!(
            sentences("at 3:15 p.m. Eastern Time, we"),
            ["at 3:15 p.m. Eastern Time, we"]
        );
    }

    #[test]
    fn armored_blocks_are_not_text_but_a_signed_message_is() {
        // No armor: the text itself.
        assert!(matches!(
            without_armor("Hej.\nSystem X."),
            std::borrow::Cow::Borrowed(_)
        ));
        // A key block between prose, quoted or not.
        let key = "Intro.\n-----BEGIN PGP PUBLIC KEY BLOCK-----\nVersion: 2.6.2\n\nmQCNAy8QZDIAAAEEANLippiAbQ\nTm9ydGhXaW5kIFBvcnRhbA==\n=Xq3f\n-----END PGP PUBLIC KEY BLOCK-----\nOutro.\n";
        assert_eq!(without_armor(key), "Intro.\nOutro.\n");
        let quoted = key.lines().map(|l| format!("> {l}\n")).collect::<String>();
        assert_eq!(without_armor(&quoted), "> Intro.\n> Outro.\n");
        // A clearsigned notice: its text stays, header and signature go.
        let signed = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nVi upptäckte intrång i LabPortalen.\n-----BEGIN PGP SIGNATURE-----\n\niQEzBAEBCAAdFiEE\n=abcd\n-----END PGP SIGNATURE-----\n";
        assert_eq!(
            without_armor(signed),
            "Vi upptäckte intrång i LabPortalen.\n"
        );
        // A certificate, CRLF line ends.
        let cert = "a\r\n-----BEGIN CERTIFICATE-----\r\nMIIB\r\n-----END CERTIFICATE-----\r\nb\r\n";
        assert_eq!(without_armor(cert), "a\r\nb\r\n");
        // A BEGIN line with no END hides only base64 after it, not prose.
        let stray = "-----BEGIN PGP MESSAGE-----\nhQEMA1234\nThe attacker reached Tempo Admin.\n";
        assert_eq!(without_armor(stray), "The attacker reached Tempo Admin.\n");
        // Not armor lines: a lower-case label, text after the dashes.
        for t in [
            "-----BEGIN pgp-----\nx\n",
            "-----BEGIN X----- now\nx\n",
            "-----BEGIN -----\nx\n",
        ] {
            assert_eq!(without_armor(t), t);
        }
    }

    #[test]
    fn prefix_stops_at_char_boundaries() {
        assert_eq!(prefix("åäö", 3), "å");
        assert_eq!(prefix("åäö", 4), "åä");
        assert_eq!(prefix("abc", 10), "abc");
    }

    #[test]
    fn normalizes_spaces_and_line_ends() {
        assert_eq!(normalize("a\u{a0}b\r\nc\rd\u{200b}"), "a b\nc\nd");
        assert_eq!(
            normalize("å\u{202f}ä\u{2009}ö\u{feff}\u{ad}x\t\u{2014}"),
            "å ä öx \u{2014}"
        );
    }
}
