//! Bounds on text that comes from outside and is kept or copied: a reply's body
//! on the hash-chained timeline, and a supplier's subject copied into our own
//! mail. An attacker controls both sizes; the timeline can never shrink and a
//! mail header line may not exceed 998 octets (RFC 5322 §2.1.1), so both are
//! cut here, once, at a character boundary.
//!
//! Owns only the cutting rules; where the full original is kept (the raw bytes
//! in the register of received messages) is the shell's business.

use std::borrow::Cow;

/// Most bytes of outside text stored on an event or a message row (the same
/// bound the notice reader applies to a body).
pub const MAX_STORED_TEXT: usize = 64 * 1024;

/// Most characters of a subject copied into an outgoing mail's subject or body.
/// Long enough for any real subject, short enough that `[REF] Prefix: subject`
/// stays a readable line.
pub const MAX_SUBJECT_CHARS: usize = 200;

/// `s` cut to at most `max` bytes, marker included, at a character boundary.
/// A cut text ends with a marker that says it was cut and how long the
/// original was, so a reader of the register knows to look at the raw message.
pub fn cut_text(s: &str, max: usize) -> Cow<'_, str> {
    cut_text_of(s, max, s.len())
}

/// [`cut_text`] of a text that is itself already a cut of a longer source
/// of `whole` bytes (a bounded prefix of a huge HTML body, read as text):
/// marked as cut whenever `whole` exceeds what `s` holds, and the marker
/// tells `whole`.
pub fn cut_text_of(s: &str, max: usize, whole: usize) -> Cow<'_, str> {
    if s.len() <= max && whole <= s.len() {
        return Cow::Borrowed(s);
    }
    let marker = format!(
        "\n[avkortad av breachwatch: texten var {} byte; hela meddelandet finns i registret över mottagna meddelanden]",
        whole.max(s.len())
    );
    let keep = floor_char_boundary(s, max.saturating_sub(marker.len()));
    Cow::Owned(format!("{}{marker}", s.get(..keep).unwrap_or("")))
}

/// Most characters of a display name read from a header.
pub const MAX_NAME_CHARS: usize = 200;

/// A subject fit to copy into our mail: [`one_line`] of at most
/// [`MAX_SUBJECT_CHARS`] characters.
pub fn short_subject(s: &str) -> String {
    one_line(s, MAX_SUBJECT_CHARS)
}

/// `s` as one line: control characters and runs of whitespace (a folded or
/// encoded header can decode to line breaks) become one space, and more than
/// `max` characters end in "…".
pub fn one_line(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    let mut chars = 0;
    let mut space = false;
    for c in s.trim().chars() {
        if c.is_whitespace() || c.is_control() {
            space = true;
            continue;
        }
        if space {
            if chars + 1 >= max {
                out.push('…');
                return out;
            }
            out.push(' ');
            chars += 1;
            space = false;
        }
        if chars >= max {
            out.push('…');
            return out;
        }
        out.push(c);
        chars += 1;
    }
    out
}

/// The largest char boundary of `s` at or below `i`.
fn floor_char_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_as_is() {
        assert!(matches!(cut_text("hej", 10), Cow::Borrowed("hej")));
        let exact = "å".repeat(5);
        assert_eq!(cut_text(&exact, 10), exact);
    }

    #[test]
    fn long_text_is_cut_at_a_char_boundary_with_a_marker_and_the_size() {
        // Two-byte characters: any odd cut point is inside one.
        let s = "ö".repeat(100_000);
        let cut = cut_text(&s, MAX_STORED_TEXT);
        assert!(cut.len() <= MAX_STORED_TEXT, "{}", cut.len());
        assert!(cut.len() > MAX_STORED_TEXT - 200);
        assert!(cut.starts_with("öö"));
        assert!(cut.contains("avkortad"), "the cut is marked");
        assert!(cut.contains("200000 byte"), "the original size is told");
        // Every byte of the kept part is whole characters.
        let kept = cut.split('\n').next().unwrap();
        assert!(kept.chars().all(|c| c == 'ö'));
    }

    #[test]
    fn a_text_read_from_a_cut_source_is_marked_even_when_short() {
        let s = "kort text";
        assert_eq!(cut_text_of(s, MAX_STORED_TEXT, s.len()), s);
        let cut = cut_text_of(s, MAX_STORED_TEXT, 900_000);
        assert!(cut.starts_with("kort text\n[avkortad"), "{cut}");
        assert!(cut.contains("900000 byte"), "{cut}");
        let long = "å".repeat(MAX_STORED_TEXT);
        assert!(cut_text_of(&long, MAX_STORED_TEXT, 900_000).len() <= MAX_STORED_TEXT);
    }

    #[test]
    fn a_tiny_bound_still_gives_only_the_marker_and_never_panics() {
        let cut = cut_text("abcdefgh", 3);
        assert!(cut.contains("8 byte"));
        assert!(!cut.contains("abc"));
    }

    #[test]
    fn subjects_are_shortened_with_an_ellipsis_and_made_one_line() {
        let long = "Intrång ".repeat(30_000);
        let s = short_subject(&long);
        let n = s.chars().count();
        assert!(
            n <= MAX_SUBJECT_CHARS + 1 && n > MAX_SUBJECT_CHARS - 10,
            "{n}"
        );
        assert!(s.ends_with('…'));
        assert!(s.starts_with("Intrång Intrång"));
        assert_eq!(
            short_subject("  Dataintrång\r\n\thos\u{0}Provdata  "),
            "Dataintrång hos Provdata"
        );
        let exactly = "x".repeat(MAX_SUBJECT_CHARS);
        assert_eq!(short_subject(&exactly), exactly);
        assert_eq!(short_subject(""), "");
    }
}
