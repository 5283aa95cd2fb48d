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

/// A `format=flowed` plain text (RFC 3676: Thunderbird, Apple Mail and
/// others send it) as the lines its writer typed: a line ending in a space
/// is a soft break, joined with the next line of the same quote depth
/// (`delsp`: the space is the sender's and is dropped); the space a sender
/// put before a line starting with a space, ">" or "From " is taken off; a
/// quoted line keeps its depth as ">" marks and a space. The signature
/// separator "-- " is never a soft break. Linear; borrows when the text has
/// no soft break and no stuffed line.
pub fn flowed_decoded(text: &str, delsp: bool) -> std::borrow::Cow<'_, str> {
    if !text
        .lines()
        .any(|l| flowed_line(l).2 || l.trim_start_matches('>').starts_with(' '))
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    // The quote depth of the paragraph being joined, after a soft break.
    let mut open: Option<usize> = None;
    for line in text.lines() {
        let (depth, body, soft) = flowed_line(line);
        match open {
            Some(d) if d == depth => {}
            Some(_) => {
                out.push('\n');
                push_quote(&mut out, depth);
            }
            None => push_quote(&mut out, depth),
        }
        if soft {
            out.push_str(if delsp { &body[..body.len() - 1] } else { body });
            open = Some(depth);
        } else {
            out.push_str(body);
            out.push('\n');
            open = None;
        }
    }
    if open.is_some() {
        out.push('\n');
    }
    if !text.ends_with('\n') {
        out.pop();
    }
    std::borrow::Cow::Owned(out)
}

/// A `format=flowed` line's quote depth, its text without the quote marks
/// and the stuffed space, and whether it ends in a soft break.
fn flowed_line(line: &str) -> (usize, &str, bool) {
    let body = line.trim_start_matches('>');
    let depth = line.len() - body.len();
    let body = body.strip_prefix(' ').unwrap_or(body);
    (depth, body, body.ends_with(' ') && body != "-- ")
}

/// The quote marks of a line at `depth` onto `out`: "> " at depth one,
/// ">> " at two, nothing at none.
fn push_quote(out: &mut String, depth: usize) {
    if depth > 0 {
        out.extend(std::iter::repeat_n('>', depth));
        out.push(' ');
    }
}

/// Mail clients wrap plain text at 66-78 characters a line; a text whose
/// longest prose line is within these bounds may be hard-wrapped.
const WRAP_WIDTHS: std::ops::RangeInclusive<usize> = 50..=80;
/// How much shorter than the longest line a line may end and still be full.
const WRAP_SLACK: usize = 3;

/// `text` with the line breaks inside hard-wrapped paragraphs made spaces,
/// so that a sentence broken over two lines ("… Den 4 december\nupptäckte vi
/// …") is read as one ([`sentences`] ends one at every line break). A text
/// is taken as wrapped when its longest prose line (one with a space) is 50
/// to 80 characters; a line break is a wrap when the line was full (the
/// next line's first word would not have fitted, within `WRAP_SLACK`), does
/// not end a sentence or a label (".", "!", "?", ":", ";", but "kl." and
/// the like go on), and the next line has the same quote marks and does not
/// start a list item, a "Label: value" line or a signature. Linear; borrows
/// when nothing joins.
pub fn unwrapped(text: &str) -> std::borrow::Cow<'_, str> {
    let width = text
        .split('\n')
        .filter(|l| l[quote_marks(l).0..].trim().contains(' '))
        .map(|l| quote_marks(l).1)
        .max()
        .unwrap_or(0);
    if !WRAP_WIDTHS.contains(&width) {
        return std::borrow::Cow::Borrowed(text);
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut joined_any = false;
    let mut join_next = false;
    for (i, line) in lines.iter().enumerate() {
        let (quote, _) = quote_marks(line);
        if join_next {
            // A line may end in the space of a soft break ("cirka 1 " …
            // "100 patienter"): one space joins.
            out.truncate(out.trim_end_matches([' ', '\t']).len());
            out.push(' ');
            out.push_str(line[quote..].trim_start());
        } else {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(line);
        }
        join_next = lines
            .get(i + 1)
            .is_some_and(|next| is_wrap(line, next, width));
        joined_any |= join_next;
    }
    match joined_any {
        true => std::borrow::Cow::Owned(out),
        false => std::borrow::Cow::Borrowed(text),
    }
}

/// The byte length of a line's quote marks ("> > ", none unless it starts
/// with ">") and the characters after them.
fn quote_marks(line: &str) -> (usize, usize) {
    let quote = match line.starts_with('>') {
        true => line.len() - line.trim_start_matches(['>', ' ']).len(),
        false => 0,
    };
    (quote, line[quote..].chars().count())
}

/// Whether the break between `line` and `next` is a hard wrap (see
/// [`unwrapped`]).
fn is_wrap(line: &str, next: &str, width: usize) -> bool {
    let ((q1, len), (q2, _)) = (quote_marks(line), quote_marks(next));
    let (a, b) = (line[q1..].trim_end(), next[q2..].trim());
    if line.get(..q1).map(str::trim) != next.get(..q2).map(str::trim)
        || a.trim().is_empty()
        || b.is_empty()
    {
        return false;
    }
    let first_word = b.split(' ').next().unwrap_or("");
    // Within a few characters: clients count bytes or characters, wrap
    // before or at the width, and the longest line seen may be short of it.
    let full = len + 1 + first_word.chars().count() + WRAP_SLACK > width;
    let last_word = a.rsplit(' ').next().unwrap_or("").to_lowercase();
    let ends = match a.chars().last() {
        Some('.') => !ABBREV.contains(&last_word.trim_end_matches('.')),
        Some('!' | '?' | ':' | ';') => true,
        _ => false,
    };
    let list_item = b.starts_with(['-', '*', '•', '–', '·', '+'])
        || b.split_once(['.', ')']).is_some_and(|(n, rest)| {
            !n.is_empty()
                && n.len() <= 3
                && n.bytes().all(|c| c.is_ascii_digit())
                && rest.starts_with(' ')
        });
    // "Antal berörda: 400"; not "som berörs är: namn, …", a sentence's
    // next line (a label starts with a capital).
    let label = b.split_once(": ").is_some_and(|(l, _)| {
        l.chars().next().is_some_and(char::is_uppercase)
            && l.chars().count() <= 30
            && l.split(' ').count() <= 4
            && !l.contains(['.', ','])
    });
    full && !ends && !list_item && !label && !a.starts_with("--")
}

/// Words after which a full stop does not end a sentence.
const ABBREV: &[&str] = &[
    "kl", "ca", "t.ex", "bl.a", "dvs", "d.v.s", "inkl", "p.m", "a.m", "nr", "tel", "jfr", "resp",
    "mr", "mrs", "ms", "dr", "st", "no", "org.nr", "fr.o.m", "t.o.m", "tf", "ev", "etc", "vs",
    "approx",
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
    fn a_wrapped_line_ending_in_a_space_joins_with_one_space() {
        let line = "Vi har nu g\u{e5}tt igenom loggarna och kan se att uppgifter om cirka 1 ";
        let text = format!("{line}\n100 patienter ber\u{f6}rs av incidenten.\n");
        assert_eq!(
            unwrapped(&text),
            "Vi har nu g\u{e5}tt igenom loggarna och kan se att uppgifter om cirka 1 100 \
             patienter ber\u{f6}rs av incidenten.\n"
        );
    }

    #[test]
    fn a_flowed_text_is_read_as_the_lines_its_writer_typed() {
        let sent = "Den 4 december \r\nuppt\u{e4}ckte vi att en obeh\u{f6}rig \r\nperson loggat in.\r\n\r\n \
                    >Rad som b\u{f6}rjar med tecken.\r\n From oss.\r\n> Tidigare \r\n> fr\u{e5}ga \r\nsvar\r\n-- \r\nAnna";
        assert_eq!(
            flowed_decoded(sent, false),
            "Den 4 december uppt\u{e4}ckte vi att en obeh\u{f6}rig person loggat in.\n\n\
             >Rad som b\u{f6}rjar med tecken.\nFrom oss.\n> Tidigare fr\u{e5}ga \nsvar\n-- \nAnna"
        );
        // delsp=yes: the space before the break is the sender's own.
        assert_eq!(
            flowed_decoded("Personnum \nmer och namn.\n", true),
            "Personnummer och namn.\n"
        );
        // Deeper quotes keep their depth; a soft line before a change of
        // depth ends its paragraph.
        assert_eq!(flowed_decoded(">> a \n>> b\n> c\n", false), ">> a b\n> c\n");
        // Nothing soft and nothing stuffed: the text itself.
        assert!(matches!(
            flowed_decoded("Rad ett.\nRad tv\u{e5}.", false),
            std::borrow::Cow::Borrowed(_)
        ));
    }

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

    /// A hard-wrapped notice's sentences span its lines; a text of short
    /// lines (a signature, a list, label lines) and one with long paragraph
    /// lines stay as they are.
    #[test]
    fn hard_wrapped_lines_are_joined_into_their_sentences() {
        let wrapped = "Hej,\n\nVi vill informera er om en personuppgiftsincident i LabPortalen. Den 4 december\n\
                       upptäckte vi att en obehörig person hade fått åtkomst till LabPortalen under\n\
                       perioden 1 december till 3 december. Namn och personnummer för cirka 400\n\
                       patienter kan ha exponerats. Incidenten upptäcktes av vår tekniska jour kl.\n\
                       14:30. Berörda uppgifter är följande, med mera uppgifter om var och en av dem:\n\
                       - namn\n\
                       - personnummer\n\
                       Antal berörda: 400 personer i LabPortalens register över provsvar och remisser\n\
                       Kontakt: LabPortalens support på telefon, vardagar mellan 08:00 och 17:00 varje\n\
                       vecka.\n\nMed vänliga hälsningar\nLabPortalen Support\nLabPortal AB";
        let u = unwrapped(wrapped);
        assert_eq!(
            sentences(&u),
            [
                "Hej,",
                "Vi vill informera er om en personuppgiftsincident i LabPortalen.",
                "Den 4 december upptäckte vi att en obehörig person hade fått åtkomst till LabPortalen under perioden 1 december till 3 december.",
                "Namn och personnummer för cirka 400 patienter kan ha exponerats.",
                "Incidenten upptäcktes av vår tekniska jour kl. 14:30.",
                "Berörda uppgifter är följande, med mera uppgifter om var och en av dem:",
                "- namn",
                "- personnummer",
                "Antal berörda: 400 personer i LabPortalens register över provsvar och remisser",
                "Kontakt: LabPortalens support på telefon, vardagar mellan 08:00 och 17:00 varje vecka.",
                "Med vänliga hälsningar",
                "LabPortalen Support",
                "LabPortal AB",
            ]
        );
        // Quoted the same way, the quote marks of the next line go.
        let quoted = wrapped
            .lines()
            .map(|l| format!("> {l}\n"))
            .collect::<String>();
        let u_quoted = u.lines().map(|l| format!("> {l}\n")).collect::<String>();
        assert_eq!(unwrapped(&quoted), u_quoted);
        // Short lines only, and paragraphs on one long line: unchanged.
        let short =
            "System: LabPortalen\nBerörda\nnamn\npersonnummer\nMed vänliga hälsningar\nAnna";
        assert!(matches!(unwrapped(short), std::borrow::Cow::Borrowed(_)));
        let long = format!(
            "{}\n{}",
            "Vi upptäckte ett intrång ".repeat(5),
            "i LabPortalen den 4 december."
        );
        assert!(matches!(unwrapped(&long), std::borrow::Cow::Borrowed(_)));
        // A sentence's next line with a colon in it is no label line.
        let colon = "Vi har nu gått igenom vilka personuppgifter som fanns i systemet och de\n\
                     som berörs är: namn, personnummer och adress för 400 patienter i regionen.";
        assert_eq!(sentences(&unwrapped(colon)), [colon.replace('\n', " ")]);
        // A line that was not full ends where it ends.
        let heading = "Personuppgiftsincident i LabPortalen\nVi upptäckte den 4 december att en obehörig person fått åtkomst\ntill systemet.";
        assert_eq!(
            unwrapped(heading),
            "Personuppgiftsincident i LabPortalen\nVi upptäckte den 4 december att en obehörig person fått åtkomst till systemet."
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
