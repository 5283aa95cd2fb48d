//! Swedish and English dates and times as people write them: in forward headers
//! ("Skickat: den 18 juni 2021 20:05", "Date: Fri, Jun 18, 2021 at 8:05 PM") and
//! in running text ("den 17 juni kl. 14:07", "kl. 14.07", "June 18, 2021 at 8:05
//! PM", "18 June 2021 20:05 UTC", "i går", "mellan den 2 och 4 maj").
//!
//! This module owns the *lexical* side only: finding date and time tokens,
//! binding a time to the date written next to it, and turning them into
//! instants with the rules of contract inspect-v1 (explicit zone honoured, else
//! the configured zone; a missing year from the message's Date; relative days
//! from the message's Date). Which role a time plays in an incident (discovered,
//! started, ended) is decided by the notice reader, not here.
//!
//! Pure and total: no clock, no IO, no panics; regexes are compiled once.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;
use once_cell::sync::Lazy;
use regex::Regex;

/// A zone written next to a time. Abbreviations are fixed offsets (CET is
/// +01:00 even in summer: the writer said so); region names follow DST.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    Fixed(FixedOffset),
    Region(Tz),
}

// Swedish, English, and the Norwegian and Danish spellings that differ
// (januar, februar, marts, mai, desember): Nordic suppliers' forwards say
// "Sendt: fredag 4. desember 2026 20:05".
const MONTHS: &str = "januari|january|januar|jan|februari|february|februar|feb|mars|marts|march|mar|april|apr|maj|mai|may|juni|june|jun|juli|july|jul|augusti|august|aug|september|sept|sep|oktober|october|okt|oct|november|nov|december|desember|dec";
const WEEKDAYS: &str = "måndag|tisdag|onsdag|torsdag|fredag|lördag|söndag|monday|tuesday|wednesday|thursday|friday|saturday|sunday|mån|tis|ons|tors|tor|fre|lör|sön|mon|tues|tue|wed|thurs|thu|fri|sat|sun";
// Case-sensitive on purpose: "ET" and "PT" must not match ordinary words.
const ZONES: &str = r"(?:(?:UTC|GMT)(?:\s?[+-]\s?[0-9]{1,2}(?::?[0-9]{2})?)?|CEST|CET|EEST|EET|BST|WEST|WET|EDT|EST|CDT|CST|MDT|MST|PDT|PST|ET|CT|PT|Z|[+-][0-9]{2}:?[0-9]{2})(?-u:\b)|(?i:eastern(?:\s+(?:standard|daylight))?\s+time|pacific(?:\s+(?:standard|daylight))?\s+time|central\s+european(?:\s+summer)?\s+time|central(?:\s+(?:standard|daylight))?\s+time|svensk\s+tid|swedish\s+time|stockholmstid)";

static RE_ISO: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})").expect("static regex"));
static RE_DM: Lazy<Regex> = Lazy::new(|| {
    Regex::new(&format!(
        r"(?i)(?:(?-u:\b)(?P<wd>{WEEKDAYS})(?:en|n|s)?\.?,?\s+)?(?:(?-u:\b)(?:den|the)\s+)?(?-u:\b)(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th|:e|e|a)?\.?(?:\s*(?:–|-|—|och|and|to|till)\s*(?P<d2>[0-9]{{1,2}})(?:st|nd|rd|th|:e|e|a)?\.?)?\s+(?:of\s+)?(?P<mo>{MONTHS})(?-u:\b)\.?(?:,?\s+(?P<y>[0-9]{{4}})(?-u:\b))?"
    ))
    .expect("static regex")
});
static RE_MD: Lazy<Regex> = Lazy::new(|| {
    Regex::new(&format!(
        r"(?i)(?:(?-u:\b)(?P<wd>{WEEKDAYS})\.?,?\s+)?(?-u:\b)(?P<mo>{MONTHS})\.?\s+(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th)?(?-u:\b)(?:\s*(?:–|-|—)\s*(?P<d2>[0-9]{{1,2}})(?-u:\b))?(?:,?\s+(?P<y>[0-9]{{4}})(?-u:\b))?"
    ))
    .expect("static regex")
});
static RE_TIME: Lazy<Regex> = Lazy::new(|| {
    Regex::new(&format!(
        r"(?i)(?P<kl>(?-u:\b)(?:kl\.?|klockan|at)\s*)?(?P<h>[0-9]{{1,2}})(?:(?P<sep>[:.])(?P<mi>[0-9]{{2}})(?:[:.](?P<s>[0-9]{{2}}))?)?(?:\s*(?P<ap>[ap])\.?\s?m(?-u:\b)\.?)?(?:\s*(?-i:(?P<z>{ZONES})))?"
    ))
    .expect("static regex")
});
static RE_REL: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)(?-u:\b)(i\s*dag|idag|i\s*går|igår|i\s*förrgår|today|yesterday|tonight|last\s+night|this\s+morning|i\s*natt|inatt|i\s*morse|i\s*kväll|ikväll)(?-u:\b)")
        .expect("static regex")
});
static RE_CTX: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)(?-u:\b)(samma\s+dag|same\s+day|dagen\s+efter|dagen\s+därpå|påföljande\s+dag|nästa\s+dag|the\s+(?:next|following)\s+day|the\s+day\s+after)(?-u:\b)")
        .expect("static regex")
});
static RE_WD_ONLY: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:i\s+(?P<sv>måndags|tisdags|onsdags|torsdags|fredags|lördags|söndags)|(?:on|last)\s+(?P<en>monday|tuesday|wednesday|thursday|friday|saturday|sunday))(?-u:\b)")
        .expect("static regex")
});
/// A date right after a weekday ("on Saturday 14 November"): the weekday
/// only names the day of that date.
static RE_DATE_FOLLOWS: Lazy<Regex> = Lazy::new(|| {
    Regex::new(&format!(
        r"(?i)^[\s,]*(?:(?:den|the)\s+)?(?:\d{{1,2}}(?:st|nd|rd|th|:e|e|a)?\.?\s+(?:of\s+)?(?:{MONTHS})(?-u:\b)|(?:{MONTHS})\.?\s+\d{{1,2}}(?-u:\b)|\d{{4}}-\d{{1,2}}-\d{{1,2}})"
    ))
    .expect("static regex")
});
/// What may stand between a date and the time that belongs to it.
static RE_BINDER: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)^[\s,]*(?:(?:t|kl\.?|klockan|at|on|den|the|i\s+natt|i\s+morse|i\s+kväll|natten\s+(?:till|mot)|på\s+(?:morgonen|kvällen|natten|eftermiddagen|förmiddagen)|in\s+the\s+(?:morning|evening|afternoon))[\s,]*)*$")
        .expect("static regex")
});
static RE_CONNECT: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"(?i)^\s*(?:och|and|–|-|—|till|to|until)\s*$").expect("static regex"));

#[derive(Debug, Clone, Copy, PartialEq)]
enum Rel {
    /// Days relative to the message's date; `night` marks "i natt"/"tonight",
    /// which means the previous day when the time would lie in the future.
    Msg { days: i64, night: bool },
    /// Days relative to the date last mentioned ("samma dag", "dagen efter").
    Ctx(i64),
    /// The most recent such weekday before the message's date ("i fredags").
    Weekday { wd: Weekday, strictly_before: bool },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TokKind {
    Date {
        y: Option<i32>,
        m: u32,
        d: u32,
        d2: Option<u32>,
    },
    Rel(Rel),
    Time {
        h: u32,
        mi: u32,
        s: u32,
        zone: Option<Zone>,
    },
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    start: usize,
    end: usize,
    kind: TokKind,
}

/// A date, a time or both, found in one sentence, resolved to instants.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    /// Byte span in the sentence (always at char boundaries).
    pub start: usize,
    pub end: usize,
    /// The instant, when a time of day was written.
    pub at: Option<DateTime<Utc>>,
    /// First and last day when only a date (or a day range) was written:
    /// 00:00:00 of the first day and 23:59:59 of the last, in the zone used.
    pub day_from: Option<DateTime<Utc>>,
    pub day_to: Option<DateTime<Utc>>,
    /// A time written with a date next to it (not borrowed from context).
    pub has_own_date: bool,
    /// The zone written with the time, if any (shared with a period's other end).
    pub zone: Option<Zone>,
}

/// What resolving needs: the default zone, the message's date (for missing
/// years and relative days) and the date mentioned last (for times written
/// without a date).
#[derive(Debug, Clone)]
pub struct DateCtx {
    pub tz: Tz,
    pub reference: DateTime<Utc>,
    pub last_date: Option<NaiveDate>,
}

impl DateCtx {
    pub fn new(tz: Tz, reference: DateTime<Utc>) -> Self {
        DateCtx {
            tz,
            reference,
            last_date: None,
        }
    }

    fn ref_local(&self) -> NaiveDateTime {
        self.reference.with_timezone(&self.tz).naive_local()
    }
}

fn month_of(s: &str) -> Option<u32> {
    let s = s.to_lowercase();
    let m = match s.get(..3)? {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "maj" | "mai" | "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "okt" | "oct" => 10,
        "nov" => 11,
        "dec" | "des" => 12,
        _ => return None,
    };
    Some(m)
}

fn weekday_of(s: &str) -> Option<Weekday> {
    let s = s.to_lowercase();
    let w = if s.starts_with("mån") || s.starts_with("mon") {
        Weekday::Mon
    } else if s.starts_with("tis") || s.starts_with("tue") {
        Weekday::Tue
    } else if s.starts_with("ons") || s.starts_with("wed") {
        Weekday::Wed
    } else if s.starts_with("tor") || s.starts_with("thu") {
        Weekday::Thu
    } else if s.starts_with("fre") || s.starts_with("fri") {
        Weekday::Fri
    } else if s.starts_with("lör") || s.starts_with("sat") {
        Weekday::Sat
    } else if s.starts_with("sön") || s.starts_with("sun") {
        Weekday::Sun
    } else {
        return None;
    };
    Some(w)
}

/// Parses a zone token as written after a time.
pub fn parse_zone(z: &str) -> Option<Zone> {
    let t = z.trim();
    let fixed = |h: i32| FixedOffset::east_opt(h * 3600).map(Zone::Fixed);
    let lower = t.to_lowercase();
    if lower.contains("eastern") {
        return Some(Zone::Region(chrono_tz::America::New_York));
    }
    if lower.contains("pacific") {
        return Some(Zone::Region(chrono_tz::America::Los_Angeles));
    }
    if lower.contains("central european") {
        return if lower.contains("summer") {
            fixed(2)
        } else {
            Some(Zone::Region(chrono_tz::Europe::Berlin))
        };
    }
    if lower.contains("central") {
        return Some(Zone::Region(chrono_tz::America::Chicago));
    }
    if lower.contains("svensk") || lower.contains("swedish") || lower.contains("stockholm") {
        return Some(Zone::Region(chrono_tz::Europe::Stockholm));
    }
    match t {
        "CEST" | "EET" => return fixed(2),
        "CET" | "BST" | "WEST" => return fixed(1),
        "EEST" => return fixed(3),
        "WET" | "Z" => return fixed(0),
        "EDT" => return fixed(-4),
        "EST" | "CDT" => return fixed(-5),
        "CST" | "MDT" => return fixed(-6),
        "MST" | "PDT" => return fixed(-7),
        "PST" => return fixed(-8),
        "ET" => return Some(Zone::Region(chrono_tz::America::New_York)),
        "CT" => return Some(Zone::Region(chrono_tz::America::Chicago)),
        "PT" => return Some(Zone::Region(chrono_tz::America::Los_Angeles)),
        _ => {}
    }
    // UTC, GMT, UTC+2, GMT+1, +0100, -05:00
    let rest = t
        .strip_prefix("UTC")
        .or_else(|| t.strip_prefix("GMT"))
        .unwrap_or(t);
    let rest: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
    if rest.is_empty() {
        return fixed(0);
    }
    let (sign, digits) = match rest.chars().next() {
        Some('+') => (1, rest.get(1..)?),
        Some('-') => (-1, rest.get(1..)?),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        3 => (
            digits.get(..1)?.parse().ok()?,
            digits.get(1..)?.parse().ok()?,
        ),
        4 => (
            digits.get(..2)?.parse().ok()?,
            digits.get(2..)?.parse().ok()?,
        ),
        _ => return None,
    };
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60)).map(Zone::Fixed)
}

/// A local wall-clock time in a zone to UTC. A time that does not exist (the
/// hour skipped in spring) is read one hour later; an ambiguous one (autumn)
/// as the earlier instant.
pub fn local_to_utc(ndt: NaiveDateTime, zone: Option<Zone>, tz: Tz) -> Option<DateTime<Utc>> {
    fn in_tz<Z: TimeZone>(z: &Z, ndt: NaiveDateTime) -> Option<DateTime<Utc>> {
        z.from_local_datetime(&ndt)
            .earliest()
            .or_else(|| {
                z.from_local_datetime(&(ndt + Duration::hours(1)))
                    .earliest()
            })
            .map(|d| d.with_timezone(&Utc))
    }
    match zone {
        Some(Zone::Fixed(o)) => in_tz(&o, ndt),
        Some(Zone::Region(r)) => in_tz(&r, ndt),
        None => in_tz(&tz, ndt),
    }
}

fn char_before(s: &str, i: usize) -> Option<char> {
    s.get(..i).and_then(|p| p.chars().next_back())
}

fn char_at(s: &str, i: usize) -> Option<char> {
    s.get(i..).and_then(|p| p.chars().next())
}

/// True when `i` is at the start of a line, ignoring blanks and bullet marks.
fn at_line_start(s: &str, i: usize) -> bool {
    let before = s.get(..i).unwrap_or("");
    let line = before.rsplit('\n').next().unwrap_or("");
    line.chars()
        .all(|c| c.is_whitespace() || matches!(c, '-' | '*' | '•' | '–' | '·'))
}

/// Cheap test for the words relative dates are made of, so that the three
/// relative-date patterns only run on sentences that can contain one.
static RE_REL_HINT: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)dag|går|today|yesterday|night|morning|natt|morse|kväll|day|monday|tuesday|wednesday|thursday|friday|saturday|sunday")
        .expect("static regex")
});

fn tokens(s: &str) -> Vec<Tok> {
    let mut cands: Vec<Tok> = Vec::new();
    // Every absolute date and every time has a digit; most sentences have none.
    if s.bytes().any(|b| b.is_ascii_digit()) {
        absolute_tokens(s, &mut cands);
    }
    if RE_REL_HINT.is_match(s) {
        relative_tokens(s, &mut cands);
    }
    // Keep the leftmost, then longest, of overlapping candidates.
    cands.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut out: Vec<Tok> = Vec::new();
    for t in cands {
        if out.last().is_some_and(|l| t.start < l.end) {
            continue;
        }
        out.push(t);
    }
    out
}

fn absolute_tokens(s: &str, cands: &mut Vec<Tok>) {
    for c in RE_ISO.captures_iter(s) {
        let (Some(all), Some(y), Some(m), Some(d)) = (c.get(0), c.get(1), c.get(2), c.get(3))
        else {
            continue;
        };
        if char_before(s, all.start()).is_some_and(|ch| ch.is_ascii_digit() || ch == '-')
            || char_at(s, all.end()).is_some_and(|ch| ch.is_ascii_digit())
        {
            continue;
        }
        let (Ok(y), Ok(m), Ok(d)) = (
            y.as_str().parse::<i32>(),
            m.as_str().parse::<u32>(),
            d.as_str().parse::<u32>(),
        ) else {
            continue;
        };
        if NaiveDate::from_ymd_opt(y, m, d).is_some() {
            cands.push(Tok {
                start: all.start(),
                end: all.end(),
                kind: TokKind::Date {
                    y: Some(y),
                    m,
                    d,
                    d2: None,
                },
            });
        }
    }
    for re in [&*RE_DM, &*RE_MD] {
        for c in re.captures_iter(s) {
            let (Some(all), Some(mo), Some(d)) = (c.get(0), c.name("mo"), c.name("d")) else {
                continue;
            };
            let y = c.name("y").and_then(|y| y.as_str().parse::<i32>().ok());
            // "may" in lower case is the English verb far more often than the month.
            if mo.as_str() == "may" && y.is_none() {
                continue;
            }
            if char_before(s, all.start()).is_some_and(|ch| ch.is_ascii_digit()) {
                continue;
            }
            let Some(m) = month_of(mo.as_str()) else {
                continue;
            };
            let Ok(d) = d.as_str().parse::<u32>() else {
                continue;
            };
            let d2 = c.name("d2").and_then(|x| x.as_str().parse::<u32>().ok());
            if !(1..=31).contains(&d) || d2.is_some_and(|d2| d2 < d || d2 > 31) {
                continue;
            }
            cands.push(Tok {
                start: all.start(),
                end: all.end(),
                kind: TokKind::Date { y, m, d, d2 },
            });
        }
    }
    // Times are checked one by one: a bare "17.55" is a time only at the start
    // of a line ("17.55 – konsulenten …") or as the second end of a period.
    let mut times: Vec<Tok> = Vec::new();
    // Every digit starts a match; most are no time (a count, a phone number,
    // an ID, an encoded attachment). A match the checks below would give up
    // is rejected here, before its groups are read (the costly part). One
    // that starts with a digit has no "kl"/"at" (those start with a letter),
    // so its hour starts the match; it gives up when the character before
    // the hour is a letter or digit (not the "T" of an ISO time), and when it
    // has neither a separator (":" or ".") nor "am"/"pm".
    for m in RE_TIME.find_iter(s) {
        let bare = m.as_str().starts_with(|c: char| c.is_ascii_digit());
        if bare
            && (char_before(s, m.start()).is_some_and(|p| p.is_alphanumeric() && p != 'T')
                || !m.as_str().contains([':', '.', 'm', 'M']))
        {
            continue;
        }
        // The same match, with its groups.
        let Some(c) = RE_TIME.captures_at(s, m.start()) else {
            continue;
        };
        let (Some(all), Some(h)) = (c.get(0), c.name("h")) else {
            continue;
        };
        let kl = c
            .name("kl")
            .map(|k| k.as_str().trim().to_lowercase())
            .filter(|k| !k.is_empty());
        let has_kl = kl.as_deref().is_some_and(|k| k.starts_with("kl"));
        let sep = c.name("sep").map(|x| x.as_str());
        let ap = c.name("ap").map(|x| x.as_str().to_lowercase());
        let (Ok(mut hh), mi) = (
            h.as_str().parse::<u32>(),
            c.name("mi")
                .and_then(|x| x.as_str().parse::<u32>().ok())
                .unwrap_or(0),
        ) else {
            continue;
        };
        let ss = c
            .name("s")
            .and_then(|x| x.as_str().parse::<u32>().ok())
            .unwrap_or(0);
        let hstart = h.start();
        if let Some(p) = char_before(s, hstart) {
            if p.is_alphanumeric() && kl.is_none() && p != 'T' {
                continue;
            }
            if p.is_ascii_digit() {
                continue;
            }
            if matches!(p, '.' | ':' | ',' | '/')
                && char_before(s, hstart - 1).is_some_and(|q| q.is_ascii_digit())
            {
                continue;
            }
        }
        // The regex may stop early inside a longer number ("2021", "1.2.3").
        let digits_end = c
            .name("s")
            .or(c.name("mi"))
            .map(|x| x.end())
            .unwrap_or(h.end());
        if char_at(s, digits_end).is_some_and(|ch| ch.is_ascii_digit()) {
            continue;
        }
        if matches!(char_at(s, digits_end), Some('.' | ':' | ',' | '/'))
            && char_at(s, digits_end + 1).is_some_and(|ch| ch.is_ascii_digit())
        {
            continue;
        }
        let ok = if ap.is_some() || has_kl {
            true
        } else {
            match sep {
                Some(":") => true,
                Some(".") => {
                    let after = s.get(all.end()..).unwrap_or("").trim_start();
                    let line_start = at_line_start(s, all.start())
                        && (after.starts_with('–')
                            || after.starts_with('-')
                            || after.starts_with('—')
                            || after.starts_with(':'));
                    let second_end = times.last().is_some_and(|prev| {
                        s.get(prev.end..all.start())
                            .is_some_and(|g| RE_CONNECT.is_match(g))
                    });
                    line_start || second_end
                }
                _ => false,
            }
        };
        if !ok {
            continue;
        }
        if let Some(ap) = ap.as_deref() {
            if hh == 0 || hh > 12 {
                continue;
            }
            if ap == "p" && hh < 12 {
                hh += 12;
            } else if ap == "a" && hh == 12 {
                hh = 0;
            }
        }
        if hh > 23 || mi > 59 || ss > 59 {
            continue;
        }
        let zone = c.name("z").and_then(|z| parse_zone(z.as_str()));
        // Do not let the token swallow a zone that did not parse.
        let end = if zone.is_some() {
            all.end()
        } else {
            c.name("ap").map(|x| x.end()).unwrap_or(digits_end)
        };
        let end = if c.name("ap").is_some() && zone.is_none() {
            // keep a trailing "." of "p.m." inside the token
            let m = c.name("ap").map(|x| x.end()).unwrap_or(end);
            if s.get(m..).is_some_and(|r| r.starts_with('.')) {
                m + 1
            } else {
                m
            }
        } else {
            end
        };
        let start = if kl.is_some() { all.start() } else { hstart };
        times.push(Tok {
            start,
            end,
            kind: TokKind::Time {
                h: hh,
                mi,
                s: ss,
                zone,
            },
        });
    }
    cands.extend(times);
}

fn relative_tokens(s: &str, cands: &mut Vec<Tok>) {
    for c in RE_REL.captures_iter(s) {
        let Some(all) = c.get(0) else { continue };
        let w: String = all
            .as_str()
            .to_lowercase()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let rel = match w.as_str() {
            "idag" | "today" | "imorse" | "thismorning" | "ikväll" => Rel::Msg {
                days: 0,
                night: false,
            },
            "igår" | "yesterday" => Rel::Msg {
                days: -1,
                night: false,
            },
            "iförrgår" => Rel::Msg {
                days: -2,
                night: false,
            },
            _ => Rel::Msg {
                days: 0,
                night: true,
            },
        };
        cands.push(Tok {
            start: all.start(),
            end: all.end(),
            kind: TokKind::Rel(rel),
        });
    }
    for c in RE_CTX.captures_iter(s) {
        let Some(all) = c.get(0) else { continue };
        let l = all.as_str().to_lowercase();
        let days = if l.starts_with("sam") || l.starts_with("same") {
            0
        } else {
            1
        };
        cands.push(Tok {
            start: all.start(),
            end: all.end(),
            kind: TokKind::Rel(Rel::Ctx(days)),
        });
    }
    for c in RE_WD_ONLY.captures_iter(s) {
        let Some(all) = c.get(0) else { continue };
        if RE_DATE_FOLLOWS.is_match(s.get(all.end()..).unwrap_or("")) {
            continue;
        }
        let (name, strictly_before) = match (c.name("sv"), c.name("en")) {
            (Some(sv), _) => (sv.as_str(), true),
            (_, Some(en)) => (en.as_str(), false),
            _ => continue,
        };
        if let Some(wd) = weekday_of(name) {
            cands.push(Tok {
                start: all.start(),
                end: all.end(),
                kind: TokKind::Rel(Rel::Weekday {
                    wd,
                    strictly_before,
                }),
            });
        }
    }
}

impl DateCtx {
    fn resolve_date(&self, y: Option<i32>, m: u32, d: u32) -> Option<NaiveDate> {
        match y {
            Some(y) => NaiveDate::from_ymd_opt(y, m, d),
            None => {
                let r = self.ref_local().date();
                let cand = NaiveDate::from_ymd_opt(r.year(), m, d);
                match cand {
                    Some(c) if c > r + Duration::days(1) => {
                        NaiveDate::from_ymd_opt(r.year() - 1, m, d)
                    }
                    Some(c) => Some(c),
                    // 29 February in a year without it: try the year before.
                    None => NaiveDate::from_ymd_opt(r.year() - 1, m, d),
                }
            }
        }
    }

    fn resolve_rel(&self, rel: Rel) -> Option<NaiveDate> {
        let r = self.ref_local().date();
        match rel {
            Rel::Msg { days, .. } => r.checked_add_signed(Duration::days(days)),
            Rel::Ctx(days) => self
                .last_date
                .unwrap_or(r)
                .checked_add_signed(Duration::days(days)),
            Rel::Weekday {
                wd,
                strictly_before,
            } => {
                let mut d = if strictly_before { r.pred_opt()? } else { r };
                for _ in 0..7 {
                    if d.weekday() == wd {
                        return Some(d);
                    }
                    d = d.pred_opt()?;
                }
                None
            }
        }
    }
}

/// Finds the dates and times of one sentence, binds each time to the date
/// written next to it, and resolves them. Updates `ctx.last_date`.
pub fn mentions(s: &str, ctx: &mut DateCtx) -> Vec<Mention> {
    let toks = tokens(s);
    let mut out = Vec::new();
    let binds = |a: &Tok, b: &Tok| {
        s.get(a.end..b.start)
            .is_some_and(|g| g.len() <= 40 && RE_BINDER.is_match(g))
    };
    let mut i = 0;
    while i < toks.len() {
        let Some(&t) = toks.get(i) else { break };
        let next = toks.get(i + 1).copied();
        let (date_tok, time_tok, start, end, used) = match (t.kind, next) {
            (TokKind::Time { .. }, Some(n))
                if !matches!(n.kind, TokKind::Time { .. }) && binds(&t, &n) =>
            {
                (Some(n), Some(t), t.start, n.end, 2)
            }
            (TokKind::Time { .. }, _) => (None, Some(t), t.start, t.end, 1),
            (_, Some(n)) if matches!(n.kind, TokKind::Time { .. }) && binds(&t, &n) => {
                (Some(t), Some(n), t.start, n.end, 2)
            }
            _ => (Some(t), None, t.start, t.end, 1),
        };
        i += used;
        let (day, day2, night) = match date_tok.map(|d| d.kind) {
            Some(TokKind::Date { y, m, d, d2 }) => (
                ctx.resolve_date(y, m, d),
                d2.and_then(|d2| ctx.resolve_date(y, m, d2)),
                false,
            ),
            Some(TokKind::Rel(rel)) => (
                ctx.resolve_rel(rel),
                None,
                matches!(rel, Rel::Msg { night: true, .. }),
            ),
            _ => (None, None, false),
        };
        let has_own_date = day.is_some();
        if let Some(d) = day2.or(day) {
            ctx.last_date = Some(d);
        }
        match time_tok.map(|t| t.kind) {
            Some(TokKind::Time {
                h,
                mi,
                s: sec,
                zone,
            }) => {
                let Some(nt) = NaiveTime::from_hms_opt(h, mi, sec) else {
                    continue;
                };
                let base = day
                    .or(ctx.last_date)
                    .unwrap_or_else(|| ctx.ref_local().date());
                let mut at = local_to_utc(base.and_time(nt), zone, ctx.tz);
                if night && at.is_some_and(|a| a > ctx.reference + Duration::minutes(1)) {
                    at = base
                        .pred_opt()
                        .and_then(|b| local_to_utc(b.and_time(nt), zone, ctx.tz));
                }
                out.push(Mention {
                    start,
                    end,
                    at,
                    day_from: None,
                    day_to: None,
                    has_own_date,
                    zone,
                });
            }
            _ => {
                let Some(d) = day else { continue };
                let last = day2.unwrap_or(d);
                let from = local_to_utc(d.and_time(NaiveTime::MIN), None, ctx.tz);
                let to = NaiveTime::from_hms_opt(23, 59, 59)
                    .and_then(|t| local_to_utc(last.and_time(t), None, ctx.tz));
                out.push(Mention {
                    start,
                    end,
                    at: None,
                    day_from: from,
                    day_to: to,
                    has_own_date: true,
                    zone: None,
                });
            }
        }
    }
    out
}

static RE_BLOCK_ZONE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(&format!(
        r"(?i)(?:all (?:times|timestamps)(?: are)?(?: given| stated| shown)?(?: in)?|times (?:are |given |stated )*in|tider(?:na)? (?:anges|är angivna|ges|redovisas) i|samtliga tider(?: anges| är)?(?: i)?|alla tider(?: anges| är)?(?: i)?|tidpunkter(?:na)? anges i)\s*:?\s*(?-i:(?P<z>{ZONES}))"
    ))
    .expect("static regex")
});

/// The zone a text states once for a whole block or table ("All times UTC",
/// "Samtliga tider anges i svensk tid"): times after it without a zone of
/// their own are read in it.
pub fn block_zone(s: &str) -> Option<Zone> {
    RE_BLOCK_ZONE
        .captures(s)
        .and_then(|c| c.name("z"))
        .and_then(|z| parse_zone(z.as_str()))
}

/// Re-resolves a mention's time in another zone (the zone written at the
/// other end of a period: "10:00–11:00 CET").
pub fn with_zone(m: &Mention, zone: Zone, tz: Tz) -> Option<DateTime<Utc>> {
    let at = m.at?;
    let local = at.with_timezone(&tz).naive_local();
    local_to_utc(local, Some(zone), tz)
}

/// Parses the date of a forward or quote header ("den 18 juni 2021 20:05",
/// "Friday, June 18, 2021 8:05 PM", "Tue, 3 Dec 2024 17:31:00 +0100",
/// "7 november 2024 kl. 16:44:09 CET"), and, as the whole value, the numeric
/// forms whose order of day and month is not a guess ([`numeric_header_date`]).
/// The wall clock is read in `tz` unless a zone is written. `reference`
/// supplies a missing year.
pub fn parse_header_date(s: &str, tz: Tz, reference: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut ctx = DateCtx::new(tz, reference);
    let ms = mentions(s, &mut ctx);
    ms.iter()
        .find(|m| m.has_own_date && m.at.is_some())
        .and_then(|m| m.at)
        .or_else(|| ms.iter().find_map(|m| m.day_from))
        .or_else(|| numeric_header_date(s, tz))
}

/// [`numeric_header_date`]'s whole value: an optional weekday, the date in
/// numbers, the time, an optional zone.
static RE_NUMERIC_HEADER_DATE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(
        r"(?i)^\s*(?:\p{L}{2,12}\.?,?\s+)?(?P<a>[0-9]{1,2})(?P<sep>[./])(?P<b>[0-9]{1,2})(?P<sep2>[./])(?P<y>[0-9]{4}),?\s+(?:kl\.?\s+)?(?P<h>[0-9]{1,2})[:.](?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2}))?(?:\s*(?P<ampm>[ap])\.?m\.?)?(?:\s+(?P<z>\S.{0,40}))?\s*$",
    )
    .expect("static regex")
});

/// A header date written in numbers, with a time: day first with dots
/// ("04.12.2026 20:05": German, Norwegian, Finnish clients), month first
/// with slashes and a 12-hour clock ("Fri 12/4/2026 8:05 PM": Outlook in US
/// English). Slashes with a 24-hour clock ("4/12/2026 20:05") could be
/// either order: not read.
fn numeric_header_date(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let c = RE_NUMERIC_HEADER_DATE.captures(s)?;
    let sep = c.name("sep").map(|m| m.as_str());
    if sep != c.name("sep2").map(|m| m.as_str()) {
        return None;
    }
    let num = |n: &str| c.name(n).and_then(|m| m.as_str().parse::<u32>().ok());
    let (a, b) = (num("a")?, num("b")?);
    let twelve = c.name("ampm").map(|m| m.as_str().eq_ignore_ascii_case("p"));
    let (day, month) = match (sep, twelve) {
        (Some("."), None) => (a, b),
        (Some("/"), Some(_)) => (b, a),
        _ => return None,
    };
    let y = i32::try_from(num("y")?).ok()?;
    let mut h = num("h")?;
    if let Some(pm) = twelve {
        if !(1..=12).contains(&h) {
            return None;
        }
        h = match (h, pm) {
            (12, false) => 0,
            (12, true) => 12,
            (h, true) => h + 12,
            (h, false) => h,
        };
    }
    let ndt = NaiveDate::from_ymd_opt(y, month, day)?.and_hms_opt(
        h,
        num("mi")?,
        num("s").unwrap_or(0),
    )?;
    let zone = match c.name("z") {
        Some(z) => Some(parse_zone(z.as_str())?),
        None => None,
    };
    local_to_utc(ndt, zone, tz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Stockholm;

    #[test]
    fn block_zone_statements() {
        assert!(
            matches!(block_zone("Incident summary (all times UTC):"), Some(Zone::Fixed(o)) if o.local_minus_utc() == 0)
        );
        assert!(matches!(
            block_zone("Samtliga tider anges i UTC."),
            Some(Zone::Fixed(_))
        ));
        assert!(matches!(
            block_zone("Tider anges i svensk tid."),
            Some(Zone::Region(chrono_tz::Europe::Stockholm))
        ));
        assert!(block_zone("Vi återkommer kl. 14:00 UTC.").is_none());
        assert!(block_zone("All times are approximate.").is_none());
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn hdr(s: &str) -> Option<String> {
        parse_header_date(s, Stockholm, utc("2026-01-01T00:00:00Z"))
            .map(|d| d.with_timezone(&Stockholm).to_rfc3339())
    }

    #[test]
    fn header_date_styles() {
        let cases = [
            ("den 18 juni 2021 20:05", "2021-06-18T20:05:00+02:00"),
            ("torsdag 23 mars 2023 01:58", "2023-03-23T01:58:00+01:00"),
            ("fredag, 14 mars 2025 17:52", "2025-03-14T17:52:00+01:00"),
            ("Friday, June 18, 2021 8:05 PM", "2021-06-18T20:05:00+02:00"),
            ("03 December 2024 17:31", "2024-12-03T17:31:00+01:00"),
            ("Fri, Jun 18, 2021 at 8:05 PM", "2021-06-18T20:05:00+02:00"),
            ("Tue, Sep 9, 2025 at 11:47 PM", "2025-09-09T23:47:00+02:00"),
            ("lör 29 mars 2025 kl. 10:14", "2025-03-29T10:14:00+01:00"),
            (
                "7 november 2024 kl. 16:44:09 CET",
                "2024-11-07T16:44:09+01:00",
            ),
            ("7 juni 2024 kl. 16:44:09 CEST", "2024-06-07T16:44:09+02:00"),
            (
                "Tue, 3 Dec 2024 17:31:00 +0100",
                "2024-12-03T17:31:00+01:00",
            ),
            (
                "Tue, 3 Dec 2024 16:31:00 +0000",
                "2024-12-03T17:31:00+01:00",
            ),
            (
                "November 7, 2024 at 4:44:09 PM GMT+1",
                "2024-11-07T16:44:09+01:00",
            ),
            ("2024-12-03 17:31", "2024-12-03T17:31:00+01:00"),
            // Numbers: day first with dots, month first with a 12-hour clock.
            ("04.12.2026 20:05", "2026-12-04T20:05:00+01:00"),
            ("fredag 04.12.2026 kl. 20.05", "2026-12-04T20:05:00+01:00"),
            ("4.7.2026 20:05:13", "2026-07-04T20:05:13+02:00"),
            ("12/4/2026 8:05 PM", "2026-12-04T20:05:00+01:00"),
            ("Fri 12/4/2026 8:05 PM", "2026-12-04T20:05:00+01:00"),
            ("7/3/2026 12:05 AM", "2026-07-03T00:05:00+02:00"),
            ("12/4/2026 11:05 AM PST", "2026-12-04T20:05:00+01:00"),
            // Norwegian and Danish forwards.
            ("fredag 4. desember 2026 20:05", "2026-12-04T20:05:00+01:00"),
            ("4. mai 2026 kl. 08:30", "2026-05-04T08:30:00+02:00"),
            ("17. marts 2026 09:15", "2026-03-17T09:15:00+01:00"),
            ("2. januar 2026 10:00", "2026-01-02T10:00:00+01:00"),
            ("27. februar 2026 23:59", "2026-02-27T23:59:00+01:00"),
            ("Mon, 30 Mar 2026 at 09:12", "2026-03-30T09:12:00+02:00"),
            (
                "Monday, March 30, 2026 12:05 AM",
                "2026-03-30T00:05:00+02:00",
            ),
            (
                "Monday, March 30, 2026 12:05 PM",
                "2026-03-30T12:05:00+02:00",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(hdr(input).as_deref(), Some(want), "{input}");
        }
        // Either order could be meant, or no time: not read.
        for input in [
            "4/12/2026 20:05",
            "04.12.2026",
            "04.12/2026 20:05",
            "31.02.2026 20:05",
            "12/4/2026 13:05 PM",
        ] {
            assert_eq!(hdr(input), None, "{input}");
        }
    }

    fn text_times(s: &str, reference: &str) -> Vec<String> {
        let mut ctx = DateCtx::new(Stockholm, utc(reference));
        mentions(s, &mut ctx)
            .into_iter()
            .map(|m| match m.at {
                Some(a) => a.with_timezone(&Stockholm).to_rfc3339(),
                None => format!(
                    "{}..{}",
                    m.day_from.unwrap().with_timezone(&Stockholm).to_rfc3339(),
                    m.day_to.unwrap().with_timezone(&Stockholm).to_rfc3339()
                ),
            })
            .collect()
    }

    #[test]
    fn running_text_forms() {
        let r = "2021-06-21T05:00:00Z";
        assert_eq!(
            text_times("upptäcktes torsdagen den 17 juni 2021 kl. 14:07, när", r),
            ["2021-06-17T14:07:00+02:00"]
        );
        assert_eq!(
            text_times(
                "under perioden 2021-06-16 kl. 20:20 – 2021-06-18 kl. 16:07.",
                r
            ),
            ["2021-06-16T20:20:00+02:00", "2021-06-18T16:07:00+02:00"]
        );
        assert_eq!(
            text_times(
                "pågick mellan den 16 juni kl. 20.20 och den 18 juni kl. 16.07.",
                r
            ),
            ["2021-06-16T20:20:00+02:00", "2021-06-18T16:07:00+02:00"]
        );
        assert_eq!(
            text_times("mellan den 2 och 4 maj", r),
            ["2021-05-02T00:00:00+02:00..2021-05-04T23:59:59+02:00"]
        );
        assert_eq!(
            text_times("On June 18, 2021 at 8:05 PM we", r),
            ["2021-06-18T20:05:00+02:00"]
        );
        assert_eq!(
            text_times("at 18 June 2021 20:05 UTC", r),
            ["2021-06-18T22:05:00+02:00"]
        );
        assert_eq!(
            text_times("kl. 14:07 CET", r),
            ["2021-06-21T15:07:00+02:00"]
        );
        assert_eq!(
            text_times("i går kl. 10.42", r),
            ["2021-06-20T10:42:00+02:00"]
        );
        assert_eq!(
            text_times("yesterday at 3:15 p.m. Eastern Time", r),
            ["2021-06-20T21:15:00+02:00"]
        );
        assert_eq!(
            text_times(
                "between 1:02 a.m. ET on September 6, 2025 and 3:40 p.m. ET on September 8, 2025",
                r
            ),
            ["2025-09-06T07:02:00+02:00", "2025-09-08T21:40:00+02:00"]
        );
        assert_eq!(
            text_times("kl. 19.32 den 14 april", r),
            ["2021-04-14T19:32:00+02:00"]
        );
        // a date without year more than a day after the message: the year before
        assert_eq!(
            text_times("den 28 november kl. 22.00", "2025-03-05T13:10:33Z"),
            ["2024-11-28T22:00:00+01:00"]
        );
        // bare dotted times only at a line start or as a period's second end
        assert_eq!(text_times("version 7.20 är ute", r), Vec::<String>::new());
        assert_eq!(
            text_times("17.55 – konsulenten klev av", "2024-10-25T08:00:00Z"),
            ["2024-10-25T17:55:00+02:00"]
        );
        assert_eq!(
            text_times("mellan kl. 17.55 och 20.15", "2024-10-25T08:00:00Z").len(),
            2
        );
        assert!(text_times("IP 192.0.2.17 och 10.20.1.15", r).is_empty());
        assert!(text_times("AM9PR09MB4821 2021", r).is_empty());
    }

    #[test]
    fn dst_edges() {
        // 02:30 does not exist on 2026-03-29 in Stockholm: read as 03:30.
        let d = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        let u = local_to_utc(d, None, Stockholm).unwrap();
        assert_eq!(u, utc("2026-03-29T01:30:00Z"));
    }
}
