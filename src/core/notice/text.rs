//! Plain-text helpers for the notice reader: normalising decoded bodies and
//! cutting text into sentences. Every slice is taken at char boundaries.

/// Line ends to `\n`, no-break and thin spaces to plain spaces, invisible
/// characters removed: HTML-derived and Outlook text is full of them, and the
/// patterns downstream should not have to care.
pub fn normalize(s: &str) -> String {
    // Most bodies need nothing done: check once, copy once.
    if !s.contains([
        '\r', '\u{a0}', '\u{202f}', '\u{2007}', '\u{2009}', '\u{200a}', '\t', '\u{200b}',
        '\u{200c}', '\u{200d}', '\u{feff}', '\u{ad}',
    ]) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\u{a0}' | '\u{202f}' | '\u{2007}' | '\u{2009}' | '\u{200a}' | '\t' => out.push(' '),
            '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{feff}' | '\u{ad}' => {}
            _ => out.push(c),
        }
    }
    out
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
            let b = bytes[i];
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
    fn prefix_stops_at_char_boundaries() {
        assert_eq!(prefix("åäö", 3), "å");
        assert_eq!(prefix("åäö", 4), "åä");
        assert_eq!(prefix("abc", 10), "abc");
    }

    #[test]
    fn normalizes_spaces_and_line_ends() {
        assert_eq!(normalize("a\u{a0}b\r\nc\rd\u{200b}"), "a b\nc\nd");
    }
}
