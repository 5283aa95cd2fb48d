//! Incident facts read from the notice's own text: when it was discovered,
//! when it started and ended, whether it is ongoing, the named systems, the
//! data categories (contract vocabulary), the number of data subjects and the
//! cause. Every fact keeps the sentence it came from as evidence.
//!
//! Heuristic by nature, so it errs towards `null`: a fact is only stated when
//! a cue in the same sentence says what it is. Pure and total.

use std::cell::Cell;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use once_cell::sync::Lazy;
use regex::{Regex, RegexSet};

use super::label;
use super::org;
use super::text::sentences;
use super::{Cause, Evidence, Incident, Range};
use crate::core::dates::{self, DateCtx, Mention};

fn re(s: &str) -> Regex {
    Regex::new(s).expect("static regex")
}

// ---------------------------------------------------------------- times

static RE_DISC: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)upptäck|märkte|uppmärksammade|noterade|observerade|identifierade|fick (?:vi )?(?:kännedom|reda)|blev (?:vi )?(?:medvetna|uppmärksammade)|kännedom om|discover|detect|noticed|noticing|identified|became aware|were alerted|was alerted|spotted|found out|(?-u:\b)found(?-u:\b)|såg vi|larmade|saknades|reported to us|hittades|^\s*(?:detected|upptäckt|discovered)\s*:?",
    )
});
static RE_END: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)stängdes|stängde|stängd|stängt|stoppades|stoppade|stoppat|avslutades|avslutade|avbröts|spärrades|spärrade|blockerades|blockerade|kopplade(?-u:\b).{0,40}(?-u:\b)bort|kopplades bort|rättade|rättades|åtgärdades|åtgärdade|åtgärdat|återställ|sedan dess|upphörde|tog bort|togs bort|raderade|raderades|raderat|fram till|ended|stopped|(?:been|was|were|is|are) contained|revoked|terminated|blocked|closed|fixed|resolved|restored|shut down|shut (?:\p{Latin}+\s+){1,3}down|disabled|removed|until|locked|deactivated|stängts|stoppats|^\s*(?:end|slut|ended|access revoked)\s*:?",
    )
});
static RE_START: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)inleddes|inleds|startade|började|påbörjades|inträffade|uppstod|kom in|infördes|skedde|ägde rum|användes senast|began|begun|started|occurred|commenced|first accessed|initial access|took place|introduced|(?-u:\b)sedan(?-u:\b)|(?-u:\b)since(?-u:\b)|^\s*(?:start|början|began|unauthori[sz]ed access began)\s*:?",
    )
});
/// Sentences about what will happen: their times are not incident facts.
static RE_FUTURE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)(?-u:\b)nästa(?-u:\b)|(?-u:\b)next(?-u:\b)|återkommer|kommer att|kommer vi|(?-u:\b)will(?-u:\b)|(?-u:\b)planerar|(?-u:\b)planerad|(?-u:\b)planned|(?-u:\b)scheduled|senast kl\.? [0-9]+ (?:i dag|idag|i morgon|imorgon)|webinar|webbinari",
    )
});
static RE_PERIOD_INTRO: Lazy<Regex> =
    Lazy::new(|| re(r"(?i)(?:mellan|between|från|from|perioden|period|under tiden)\s*$"));
static RE_DASH_CONNECT: Lazy<Regex> =
    Lazy::new(|| re(r"(?i)^\s*(?:–|-|—|till|to|until|through|t\.o\.m\.?)\s*$"));
static RE_AND_CONNECT: Lazy<Regex> = Lazy::new(|| re(r"(?i)^\s*(?:och|and)\s*$"));

static RE_SHORT_SUBJECT: Lazy<Regex> =
    Lazy::new(|| re(r"(?i)^(?:we|they|our\s+\p{Latin}+(?:\s+team)?|the\s+\p{Latin}+\s+team)\s+"));
/// "from X until we reset the passwords at Y": a period whose end follows a
/// short clause.
static RE_UNTIL_CLAUSE: Lazy<Regex> =
    Lazy::new(|| re(r"(?i)^\s*(?:until|till|tills|fram till|up until)\s[^0-9.;:!?]{0,60}$"));

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Disc,
    Start,
    End,
    None,
}

/// The role of the cue closest to the end of `seg` (the text right before a
/// time): "we discovered that it had been open since 3 March" — the start.
fn role_before(seg: &str) -> Role {
    let last = |r: &Regex| r.find_iter(seg).last().map(|m| m.end());
    let mut best: (Option<usize>, Role) = (None, Role::None);
    for (r, role) in [
        (&*RE_DISC, Role::Disc),
        (&*RE_END, Role::End),
        (&*RE_START, Role::Start),
    ] {
        if let Some(e) = last(r) {
            if best.0.is_none_or(|b| e > b) {
                best = (Some(e), role);
            }
        }
    }
    // "åtgärdat sedan den 3 november", "closed since 10:00": the end, not a start.
    let end_since = RE_END
        .find_iter(seg)
        .any(|m| RE_SINCE_TAIL.is_match(seg.get(m.end()..).unwrap_or("")));
    if best.1 == Role::Start && end_since {
        return Role::End;
    }
    best.1
}

static RE_SINCE_TAIL: Lazy<Regex> = Lazy::new(|| re(r"(?i)^\s+(?:sedan|since)(?:\s+den)?\s*$"));

fn role_of(seg: &str) -> Role {
    if RE_DISC.is_match(seg) {
        Role::Disc
    } else if RE_END.is_match(seg) {
        Role::End
    } else if RE_START.is_match(seg) {
        Role::Start
    } else {
        Role::None
    }
}

/// The role of a cue that opens `after` (after blanks and commas), with the
/// byte offset where that cue ends.
fn immediate_role(after: &str) -> (Role, usize) {
    let t = after.trim_start_matches([' ', ',']);
    // "On 18 August at 07:50 our engineers discovered": a pronoun or a
    // possessive subject between the fronted time and its verb.
    let subject = RE_SHORT_SUBJECT.find(t).map_or(0, |m| m.end());
    let t = t.get(subject..).unwrap_or(t);
    let skip = after.len() - t.len();
    for (r, role) in [
        (&*RE_DISC, Role::Disc),
        (&*RE_END, Role::End),
        (&*RE_START, Role::Start),
    ] {
        if let Some(m) = r.find(t) {
            if m.start() == 0 {
                return (role, skip + m.end());
            }
        }
    }
    (Role::None, 0)
}

// The mentions borrow their sentence: a sentence of thousands of times
// copied once per time was quadratic in memory (a 30,000-character line of
// "kl 21.54" held 83 MB of copies).
#[derive(Debug, Clone)]
struct Timed<'s> {
    at: DateTime<Utc>,
    role: Role,
    sentence: &'s str,
}

#[derive(Debug, Clone)]
struct DayOnly<'s> {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    role: Role,
    sentence: &'s str,
}

struct Period<'s> {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    sentence: &'s str,
    /// "från 09:30 till 12:00, då den hittades": the end is the discovery.
    found_at_end: bool,
}

/// A clause right after a period's end saying that is when it was found.
static RE_FOUND_AT_END: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)^[^.;:]{0,40}?(?:^|[\s,])(?:då|när|when|at which point)\s[^.;:]{0,40}?(?:hittades|upptäcktes|uppmärksammades|märktes|was found|were found|was discovered|were discovered|was noticed|was detected|we found|we noticed|vi hittade|vi upptäckte)",
    )
});

/// discovered_at, occurred_from, occurred_to.
type Triple = (
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

fn endpoint(m: &Mention, start: bool) -> Option<DateTime<Utc>> {
    m.at.or(if start { m.day_from } else { m.day_to })
}

fn times<'s>(
    sents: &[&'s str],
    tz: Tz,
    reference: DateTime<Utc>,
    ongoing: Option<bool>,
    ev: &mut Vec<Evidence>,
) -> Triple {
    let mut ctx = DateCtx::new(tz, reference);
    let limit = reference + Duration::minutes(2);
    let mut timed: Vec<Timed<'s>> = Vec::new();
    let mut days: Vec<DayOnly<'s>> = Vec::new();
    let mut periods: Vec<Period<'s>> = Vec::new();
    let mut block_zone = None;
    for s in sents {
        block_zone = dates::block_zone(s).or(block_zone);
        let mut ms = dates::mentions(s, &mut ctx);
        if ms.is_empty() || RE_FUTURE.is_match(s) {
            continue;
        }
        // A zone stated once for the block applies to every time without one.
        if let Some(z) = block_zone {
            for m in ms.iter_mut().filter(|m| m.zone.is_none() && m.at.is_some()) {
                m.at = dates::with_zone(m, z, tz).or(m.at);
                m.zone = Some(z);
            }
        }
        let mut used = vec![false; ms.len()];
        // Periods: "mellan X och Y", "X – Y", "between X and Y".
        for i in 0..ms.len().saturating_sub(1) {
            let (Some(a), Some(b)) = (ms.get(i), ms.get(i + 1)) else {
                continue;
            };
            if used.get(i).copied().unwrap_or(true) {
                continue;
            }
            let gap = s.get(a.end..b.start).unwrap_or("");
            let before = s.get(..a.start).unwrap_or("");
            let is_period = RE_DASH_CONNECT.is_match(gap)
                || ((RE_AND_CONNECT.is_match(gap) || RE_UNTIL_CLAUSE.is_match(gap))
                    && RE_PERIOD_INTRO.is_match(before));
            if !is_period {
                continue;
            }
            let mut from = endpoint(a, true);
            let mut to = endpoint(b, false);
            // "10:00–11:00 CET": a zone written once applies to both ends.
            if let (None, Some(z)) = (a.zone, b.zone) {
                from = dates::with_zone(a, z, tz).or(from);
            }
            if let (Some(z), None) = (a.zone, b.zone) {
                to = dates::with_zone(b, z, tz).or(to);
            }
            if let (Some(f), Some(t)) = (from, to) {
                // "kl. 22.00 – 02.00": the end is on the next day.
                let t = if t < f && !b.has_own_date {
                    t + Duration::days(1)
                } else {
                    t
                };
                if f <= t && f <= limit {
                    for k in [i, i + 1] {
                        if let Some(u) = used.get_mut(k) {
                            *u = true;
                        }
                    }
                    periods.push(Period {
                        from: f,
                        to: t.min(limit.max(f)),
                        sentence: s,
                        found_at_end: RE_FOUND_AT_END.is_match(s.get(b.end..).unwrap_or("")),
                    });
                }
            }
        }
        let mut claimed = 0usize;
        for (i, m) in ms.iter().enumerate() {
            if used.get(i).copied().unwrap_or(true) {
                continue;
            }
            let prev_end = i
                .checked_sub(1)
                .and_then(|p| ms.get(p))
                .map_or(0, |p| p.end);
            let next_start = ms.get(i + 1).map(|n| n.start).unwrap_or(s.len());
            let after = s.get(m.end..next_start).unwrap_or("");
            // Swedish puts the verb right after a fronted time ("kl. 13.40
            // upptäckte vi"): a cue directly after the time is its own; a cue
            // the previous time took that way is not this one's.
            let (mut role, _) = immediate_role(after);
            if role == Role::None {
                let from = claimed.max(prev_end);
                role = role_before(s.get(from..m.start).unwrap_or(""));
            }
            if role == Role::None && i + 1 == ms.len() {
                role = role_of(after);
            }
            claimed = match immediate_role(after) {
                (Role::None, _) => 0,
                (_, end) => m.end + end,
            };
            match (m.at, m.day_from, m.day_to) {
                (Some(at), _, _) if at <= limit => timed.push(Timed {
                    at,
                    role,
                    sentence: s,
                }),
                (None, Some(f), Some(t)) if f <= limit => {
                    let before_trim = s.get(prev_end..m.start).unwrap_or("").trim_end();
                    if RE_PERIOD_INTRO.is_match(before_trim) && t - f > Duration::days(1) {
                        periods.push(Period {
                            from: f,
                            to: t,
                            sentence: s,
                            found_at_end: false,
                        });
                    } else {
                        // "this morning … no longer": a relative day is no end.
                        let written = s.get(m.start..m.end).unwrap_or("");
                        let role = if role == Role::End
                            && !written.contains(|c: char| c.is_ascii_digit())
                        {
                            Role::None
                        } else {
                            role
                        };
                        days.push(DayOnly {
                            from: f,
                            to: t,
                            role,
                            sentence: s,
                        });
                    }
                }
                _ => {}
            }
        }
    }
    let mut push = |field: &str, s: &str| {
        ev.push(Evidence {
            field: field.into(),
            text: s.to_string(),
        })
    };
    let period = periods.first();
    let disc = timed
        .iter()
        .find(|t| t.role == Role::Disc)
        .map(|t| (t.at, t.sentence))
        .or_else(|| {
            days.iter()
                .find(|d| d.role == Role::Disc)
                .map(|d| (d.from, d.sentence))
        })
        .or_else(|| {
            periods
                .iter()
                .find(|p| p.found_at_end)
                .map(|p| (p.to, p.sentence))
        });
    let untagged = || timed.iter().filter(|t| t.role == Role::None);
    let from = period
        .map(|p| (p.from, p.sentence))
        .or_else(|| {
            timed
                .iter()
                .find(|t| t.role == Role::Start)
                .map(|t| (t.at, t.sentence))
        })
        .or_else(|| {
            let d = disc.as_ref()?.0;
            untagged()
                .filter(|t| t.at < d)
                .min_by_key(|t| t.at)
                .map(|t| (t.at, t.sentence))
        })
        .or_else(|| {
            days.iter()
                .find(|d| d.role == Role::Start)
                .map(|d| (d.from, d.sentence))
        })
        .or_else(|| {
            // "lost a laptop on 15 October … reported to us at 18:20": an
            // untagged day before the discovery is the day it happened.
            let d = disc.as_ref()?.0;
            days.iter()
                .filter(|x| x.role == Role::None && x.to < d + Duration::days(1) && x.from <= d)
                .min_by_key(|x| x.from)
                .map(|x| (x.from, x.sentence))
        });
    let to = if let Some(p) = period {
        Some((p.to, p.sentence))
    } else if ongoing == Some(true) {
        None
    } else {
        timed
            .iter()
            .find(|t| t.role == Role::End)
            .map(|t| (t.at, t.sentence))
            .or_else(|| {
                let d = disc.as_ref()?.0;
                if ongoing != Some(false) {
                    return None;
                }
                untagged()
                    .filter(|t| t.at > d)
                    .max_by_key(|t| t.at)
                    .map(|t| (t.at, t.sentence))
            })
            .or_else(|| {
                days.iter()
                    .find(|d| d.role == Role::End)
                    .map(|d| (d.to, d.sentence))
            })
    };
    if let Some((_, s)) = &disc {
        push("discovered_at", s);
    }
    if let Some((_, s)) = &from {
        push("occurred_from", s);
    }
    if let Some((_, s)) = &to {
        push("occurred_to", s);
    }
    (disc.map(|d| d.0), from.map(|f| f.0), to.map(|t| t.0))
}

// ---------------------------------------------------------------- ongoing

static RE_ONGOING_TRUE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)pågår (?:fortfarande|fortsatt|alltjämt|just nu|ännu)|är (?:fortfarande|ännu|alltjämt|just nu) (?:nere|pågående|otillgänglig|otillgängligt|ur drift|inte åtgärdad|inte löst|inte under kontroll)|fortfarande (?:nere|otillgänglig|ur funktion|pågår)|ligger (?:fortfarande |just nu |alltjämt )?nere|har ännu inte (?:full )?kontroll|pågående (?:attack|angrepp|intrång)|is (?:still )?ongoing|still ongoing|remains? ongoing|är (?:fortfarande|ännu) nere|is still down|(?:is|are|remains?) still (?:down|unavailable|offline)|still (?:down|unavailable)|not yet (?:contained|resolved|under control)|is currently (?:down|unavailable)|ongoing (?:attack|incident)",
    )
});
static RE_ONGOING_FALSE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)pågår inte|inte längre|är (?:nu |därmed |alltså |sedan dess )?(?:avslutad|avslutat|avslutade|stoppad|stoppat|åtgärdad|åtgärdat|löst|över|under kontroll)|har (?:nu )?(?:upphört|avslutats|stoppats|åtgärdats)|finns inte kvar|(?:is|has been) (?:now )?(?:contained|resolved|terminated|stopped|closed|remediated|fixed)|was (?:now )?(?:contained|resolved|remediated|stopped|terminated)|kvarstår inte|inte (?:längre )?kvar|är (?:nu )?(?:borttagen|borttaget|spärrad|spärrat|avstängd|avstängt|åtgärdad|åtgärdat|rättad|rättat|stängd|stängt)|(?:is|are) working again|works again|(?-u:\b)no longer(?-u:\b)|the incident is (?:closed|over)|(?:has|have) been (?:terminated|contained|resolved|stopped|revoked)|no longer (?:ongoing|active)|is over|has ended|åter i (?:full )?drift|fungerar (?:nu )?igen|is (?:now )?back (?:online|up)|has been restored",
    )
});

/// "har sedan i går upphört": [`RE_ONGOING_FALSE`]'s phrase with up to two
/// words in it, a pattern of its own: inside the alternation it multiplied
/// the automaton every sentence goes through (issue #10).
static RE_ONGOING_FALSE_WORDS: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)(?:har|hade) (?:\p{Latin}+ ){0,2}?(?:upphört|avslutats|stoppats|åtgärdats|stängts)(?-u:\b)",
    )
});

/// Where in `s` the first statement that the incident is over begins: the
/// leftmost match of either pattern, as of one alternation of both.
fn over_at(s: &str) -> Option<usize> {
    [&*RE_ONGOING_FALSE, &*RE_ONGOING_FALSE_WORDS]
        .iter()
        .filter_map(|r| r.find(s).map(|m| m.start()))
        .min()
}

fn ongoing(sents: &[&str], ev: &mut Vec<Evidence>) -> Option<bool> {
    let mut last: Option<(usize, bool, &str)> = None;
    for (i, s) in sents.iter().enumerate() {
        let t = RE_ONGOING_TRUE.find(s).map(|m| m.start());
        let f = over_at(s);
        let v = match (t, f) {
            (Some(a), Some(b)) => Some(a > b),
            (Some(_), None) => Some(true),
            (None, Some(_)) => Some(false),
            _ => None,
        };
        if let Some(v) = v {
            last = Some((i, v, s));
        }
    }
    let (_, v, s) = last?;
    ev.push(Evidence {
        field: "ongoing".into(),
        text: s.to_string(),
    });
    Some(v)
}

// ---------------------------------------------------------------- cause

static RE_ATTACK: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)intrång|intrusion|intruder|cyberattack|cyberangrepp|it-attack|it-angrepp|hackerattack|hackare|hackad|hackat|hackats|hacked|kommit åt|(?-u:\b)kom åt|ransomware|utpressningsvirus|gisslanprogram|angrepp|angripare|attack|nätfiske|phishing|skadlig kod|skadlig programvara|malware|obehörig tredje part|obehörig person|en obehörig (?:kopierade|har|hade|fick)|unauthori[sz]ed (?:third party|party|person|access)|without authori[sz]ation|utan behörighet|unauthori[sz]ed third party|threat actor|hacker|ddos|överbelastningsattack|credential stuffing|brute.?force|stulen|stulits|stöld|stolen|theft|inbrott|sql.?injection|injection attack|exploited|utnyttjades|utnyttjade en sårbarhet|password spraying|lösenordsattack|compromised through|komprometterad|komprometterat|skadeprogram|trojan|(?-u:\b)virus(?-u:\b)|infekterad|infekterat|infected with|lurades|falsk inloggningssida|fake (?:login|sign-in) page|bedräglig|fraudulent|(?:was|were|been) taken over|kapades|kapats|unknown (?:party|third party|actor)|okänd (?:part|aktör)|utomstående (?:loggade|kom|fick|har)",
    )
});
/// "lurade en anställd att…": [`RE_ATTACK`]'s phrase with up to two words
/// in it, a pattern of its own: inside the alternation it multiplied the
/// automaton every sentence goes through (issue #10).
static RE_ATTACK_WORDS: Lazy<Regex> = Lazy::new(|| re(r"(?i)lurade (?:\p{Latin}+ ){0,2}att"));

/// Whether `s` names an attack ([`RE_ATTACK`] or [`RE_ATTACK_WORDS`]).
fn names_attack(s: &str) -> bool {
    RE_ATTACK.is_match(s) || RE_ATTACK_WORDS.is_match(s)
}

static RE_HUMAN: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)mänskliga faktorn|mänskligt (?:fel|misstag)|misstag|felskick|fel mottagare|felaktig mottagare|human error|by mistake|mistakenly|wrong recipient|sent to the wrong|misdirected|glömde|glömt|tappade|tappat|borttappad|kommit bort|kom bort|förlorad|förlorade|förlust|(?-u:\b)lost(?-u:\b)|misplaced|oavsiktlig|accidental|inadvertent|råkade|råkat|förbiseende|by oversight",
    )
});
static RE_TECH: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)tekniskt fel|tekniska fel|systemfel|programfel|mjukvarufel|bugg|software bug|(?-u:\b)bug(?-u:\b)|felkonfiguration|felkonfigurerad|konfigurationsfel|fel i konfiguration|misconfigur|configuration error|hårdvarufel|hardware failure|technical (?:fault|error|failure|issue)|system error|driftfel|strömavbrott|power outage|fel i (?:en |vår )?(?:programuppdatering|uppdatering|programvaran|koden)|felaktig (?:behörighet|konfiguration|inställning|behörighetsinställning|databasuppdatering|uppdatering)|faulty|(?-u:\b)defect|(?-u:\b)defekt",
    )
});
/// "Ett fel i X", "Felet …": a fault, said only in passing.
static RE_WEAK_TECH: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)(?-u:\b)(?:ett|något) fel i(?-u:\b)|(?-u:\b)felet(?-u:\b)|(?-u:\b)an? error in(?-u:\b)",
    )
});
/// Words that say where data went, not why: an effect, not a cause.
static RE_MISDIRECT: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)felskick\p{Latin}*|fel mottagare|felaktig mottagare|wrong recipients?|sent to the wrong|misdirected|(?:till|to) (?:fel|wrong|an? (?:wrong|incorrect)) \p{Latin}+",
    )
});
static RE_CAUSE_SENT: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)orsaken|orsakades|orsakats|berodde på|beror på|på grund av|till följd av|caused by|the cause|due to|root cause",
    )
});
static RE_CAUSE_NEG: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)inget tyder|ingenting tyder|ingen indikation|inga tecken|inga spår|no indication|no evidence|no sign|not (?:the result of|caused by)|inte (?:orsakad|orsakat|ett resultat)|utesluter",
    )
});

/// Who did it, in a sentence that gives the cause: a person of the supplier.
static RE_CAUSE_AGENT: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)(?-u:\b)(?:en|ett|vår|våra|a|an|our|one of our)\s+(?:\p{Latin}+\s+)?(?:medarbetare|anställd|konsult|tekniker|handläggare|administratör|employee|member of (?:our )?staff|colleague|consultant|technician|administrator)(?-u:\b)",
    )
});
/// A fault in the supplier's own words, in a sentence that gives the cause:
/// "en felaktig koppling", "an error in", "a failure of".
static RE_CAUSE_FAULT: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)(?-u:\b)(?:felaktig|felaktigt|felaktiga)\s+(?P<what>\p{Latin}+)|(?-u:\b)(?:fel(?:et)?|error|fault|failure|defect|glitch)\s+(?:i|in|of|på|on)(?-u:\b)",
    )
});

/// A cause sentence the word lists did not settle: a person of the supplier
/// is a mistake, a fault in some part (not a wrong recipient) a technical fault.
fn stated_cause_in_own_words(s: &str) -> Option<Cause> {
    if RE_CAUSE_AGENT.is_match(s) {
        return Some(Cause::HumanError);
    }
    let fault = RE_CAUSE_FAULT.captures_iter(s).any(|c| {
        c.name("what").is_none_or(|w| {
            let w = w.as_str().to_lowercase();
            !(w.starts_with("mottagar") || w.contains("adress") || w.starts_with("person"))
        })
    });
    fault.then_some(Cause::TechnicalFault)
}

fn cause_in(s: &str) -> Option<Cause> {
    if names_attack(s) {
        Some(Cause::Attack)
    } else {
        match (RE_HUMAN.find(s), RE_TECH.find(s)) {
            (Some(h), Some(t)) => Some(if h.start() < t.start() {
                Cause::HumanError
            } else {
                Cause::TechnicalFault
            }),
            (Some(_), None) => Some(Cause::HumanError),
            (None, Some(_)) => Some(Cause::TechnicalFault),
            _ => None,
        }
    }
}

/// True when the sentence names a cause of the reader's list (attack,
/// mistake, fault); `details` quotes such a sentence.
pub(super) fn states_cause(s: &str) -> bool {
    cause_in(s).is_some()
}

fn cause(sents: &[&str], subject: &str, ev: &mut Vec<Evidence>) -> Option<Cause> {
    let usable = |s: &&&str| !RE_CAUSE_NEG.is_match(s);
    // A sentence that states the cause outright wins.
    for s in sents.iter().filter(usable) {
        if RE_CAUSE_SENT.is_match(s) {
            if let Some(c) = cause_in(s).or_else(|| stated_cause_in_own_words(s)) {
                ev.push(Evidence {
                    field: "cause".into(),
                    text: s.to_string(),
                });
                return Some(c);
            }
        }
    }
    let mut first: [Option<&str>; 3] = [None, None, None];
    let mut counts = [0usize; 3];
    let mut own_mistake = 0usize;
    // The subject is a label ("Stulen iPad"); the body's account wins over
    // it, so the subject counts only when the body names no cause at all.
    let body_says = sents
        .iter()
        .any(|s| !RE_CAUSE_NEG.is_match(s) && cause_in(s).is_some());
    let subject_counts = !body_says;
    let all = std::iter::once(&subject)
        .filter(|_| subject_counts)
        .chain(sents.iter());
    for s in all.filter(|s| !RE_CAUSE_NEG.is_match(s)) {
        let named = [names_attack(s), RE_HUMAN.is_match(s), RE_TECH.is_match(s)];
        for (k, named) in named.into_iter().enumerate() {
            if named {
                if let (Some(c), Some(f)) = (counts.get_mut(k), first.get_mut(k)) {
                    *c += 1;
                    f.get_or_insert(s);
                }
            }
        }
        if RE_HUMAN.is_match(&RE_MISDIRECT.replace_all(s, " ")) {
            own_mistake += 1;
        }
    }
    // An attacker named anywhere makes it an attack; otherwise the more
    // often stated of human error and technical fault.
    let [attack, human, tech] = counts;
    let k = if attack > 0 {
        0
    } else if human == 0 && tech == 0 {
        let s = std::iter::once(&subject)
            .chain(sents.iter())
            .find(|s| RE_WEAK_TECH.is_match(s))?;
        ev.push(Evidence {
            field: "cause".into(),
            text: s.to_string(),
        });
        return Some(Cause::TechnicalFault);
    } else if tech > 0 && own_mistake == 0 {
        // "sent to the wrong recipients" by "a configuration error": the
        // misdirection is what happened, the fault is why.
        2
    } else if human >= tech {
        1
    } else {
        2
    };
    if let Some(s) = first.get(k).copied().flatten() {
        ev.push(Evidence {
            field: "cause".into(),
            text: s.to_string(),
        });
    }
    [Cause::Attack, Cause::HumanError, Cause::TechnicalFault]
        .get(k)
        .copied()
}

// ---------------------------------------------------------------- categories

/// Each category of data and the pattern that names it.
static CATEGORIES: &[(&str, &str)] = &[
    (
        "identification",
        r"(?i)(?-u:\b)namn(?-u:\b)|(?-u:\b)namnen(?-u:\b)|namnuppgift|för- och efternamn|(?-u:\b)names?(?-u:\b)|full name|first name|last name|surname|lönespecifikation|lönebesked|payslip",
    ),
    (
        "personal_identity_number",
        r"(?i)personnummer|personnumret|samordningsnummer|personal identity number|social security|national identity number|national id(?-u:\b)|personal id number|(?-u:\b)ssn(?-u:\b)|födelsenummer",
    ),
    (
        "contact_details",
        r"(?i)(?:^|[^-\w]|e-|post|hem|mejl|mail)adress(?:er|en|erna)?(?-u:\b)|telefonnummer|mobilnummer|kontaktuppgift|e-?mail address|phone number|telephone number|mobile number|postal address|home address|contact details|contact information|(?:^|[^\w-])address(?:es)?(?-u:\b)|vilka (?:telefon)?nummer|nummer som (?:ringt|ringde|sms)|(?:calling|caller) numbers|numbers (?:that|who) (?:called|texted)",
    ),
    (
        "health",
        r"(?i)hälsa|hälso|sjukvård|provsvar|journal|diagnos|insatser enligt|beviljade insatser|(?-u:\b)sol(?-u:\b)|(?-u:\b)lss(?-u:\b)|funktionsnedsättning|läkemedel|medication|health|medical|test results|prescription|disabilit|patienternas|patientuppgift|patient data|vårdinsats|omsorgsinsats|vårdplan|care plan|(?-u:\b)remiss|besöksanteckning|vårdbesök|reason for visit",
    ),
    (
        "financial",
        r"(?i)ekonomisk|bankkonto|kontonummer|bankuppgift|(?-u:\b)lön(?-u:\b)|(?-u:\b)löner(?-u:\b)|löne(?:belopp|spec|uppgift|utbetalning|besked)|kortnummer|kreditkort|inkomst|financial|bank account|account number|card number|credit card|salary|payroll|(?-u:\b)iban(?-u:\b)|income",
    ),
    (
        "location",
        r"(?i)gps-position|gps-koordinat|gps-data|positionsuppgift|positionsdata|platsdata|platsuppgift|lokaliseringsuppgift|location data|geolocation|gps (?:position|coordinates|data|location)|gps-positioner|(?-u:\b)positioner(?-u:\b)|positions? data|location history|platshistorik",
    ),
    (
        "communication_logs",
        r"(?i)kommunikationslogg|samtalslogg|chattlogg|samtalshistorik|call logs?|chat logs?|call records|chat history|meddelandehistorik|sms-historik|sms history|message history|samtalsloggar",
    ),
    (
        "communication_metadata",
        r"(?i)metadata om kommunikation|kommunikationsmetadata|trafikdata|message metadata|communication metadata|traffic data|vilka nummer som|tidpunkt och längd|who called|call duration",
    ),
    (
        "criminal_offences",
        r"(?i)uppgift(?:er)? om brott|lagöverträdelse|brottmål|belastningsregist|criminal record|criminal offen|convictions",
    ),
    (
        "ethnic_origin",
        r"(?i)etniskt ursprung|etnicitet|ethnic|racial",
    ),
    (
        "political_opinions",
        r"(?i)politisk(?:a)? åsikt|political opinion|partitillhörighet",
    ),
    (
        "religious_beliefs",
        r"(?i)religiös|religion|trosuppfattning|filosofisk övertygelse|religious|philosophical belief",
    ),
    (
        "trade_union_membership",
        r"(?i)fackligt medlemskap|fackföreningsmedlemskap|facklig tillhörighet|trade union",
    ),
    ("genetic", r"(?i)genetisk|genetic|(?-u:\b)dna(?-u:\b)"),
    (
        "biometric",
        r"(?i)biometri|fingeravtryck|ansiktsbild|ansiktsmall|biometric|fingerprint|facial|face templates?",
    ),
    (
        "sex_life",
        r"(?i)sexualliv|sexuell läggning|sexuell orientering|sex life|sexual orientation",
    ),
    (
        "credentials",
        r"(?i)lösenord|inloggningsuppgift|användarnamn|inloggningsdata|password|credential|username|login details|log-in details",
    ),
    (
        "children_private_circumstances",
        r"(?i)barns privata förhållanden|barnavårdsärende|orosanmälan|barnavård|child welfare|(?:elevers|barns|pupils'|children's)\s+(?:närvaro|frånvaro|attendance|absence)",
    ),
    (
        "official_documents",
        r"(?i)passnummer|passkopia|kopia av pass|id-kort|id-handling|körkort|legitimation|passport|id card|identity card|driving licen|driver's licen|officiella dokument|official documents",
    ),
];
/// Phrases that name a category with a few words between their parts
/// ("frånvaron för samtliga elever"): a category is named by its pattern in
/// [`CATEGORIES`] or by one of its phrases here. They are kept out of
/// [`CATEGORY_SET`]: the set's automaton, which every sentence goes through,
/// multiplied its states by their word counts (1.2 MB more search cache,
/// `benches/reader_memory.rs`, issue #10).
static CATEGORY_PHRASES: &[(&str, &str)] = &[
    ("health", r"(?i)insatser (?:för|till) (?:\S+\s+){0,3}brukar"),
    (
        "children_private_circumstances",
        r"(?i)(?:närvaro|frånvaro)\p{Latin}*(?:\s+\S+){0,6}?\s+(?:för|om|of|for)\s+(?:\S+\s+){0,3}?(?:elever|eleverna|barn|barnen|pupils|children)(?-u:\b)",
    ),
    (
        "children_private_circumstances",
        r"(?i)(?:attendance|absence) (?:records|data) (?:of|for) (?:\S+\s+){0,3}?(?:pupils|children|students)",
    ),
];
/// Every pattern of [`CATEGORIES`] in one automaton: which categories a
/// sentence names in one pass over it instead of one pass per category.
static CATEGORY_SET: Lazy<RegexSet> =
    Lazy::new(|| RegexSet::new(CATEGORIES.iter().map(|(_, p)| *p)).expect("static regex set"));
/// Every phrase of [`CATEGORY_PHRASES`] in one automaton.
static PHRASE_SET: Lazy<RegexSet> = Lazy::new(|| {
    RegexSet::new(CATEGORY_PHRASES.iter().map(|(_, p)| *p)).expect("static regex set")
});

/// Whether `s` names any category of data.
fn names_a_category(s: &str) -> bool {
    CATEGORY_SET.is_match(s) || PHRASE_SET.is_match(s)
}

/// The categories `s` names, in the order of [`CATEGORIES`].
fn categories_named(s: &str) -> Vec<&'static str> {
    let set = CATEGORY_SET.matches(s);
    let phrases = PHRASE_SET.matches(s);
    CATEGORIES
        .iter()
        .enumerate()
        .filter(|(i, (c, _))| {
            set.matched(*i)
                || phrases
                    .iter()
                    .any(|j| CATEGORY_PHRASES.get(j).is_some_and(|(p, _)| p == c))
        })
        .map(|(_, (c, _))| *c)
        .collect()
}
static RE_NEG: Lazy<Regex> = Lazy::new(|| {
    re(r"(?i)(?-u:\b)(?:inte|ej|inga|ingen|inget|varken|not|none|no|never|neither|nor)(?-u:\b)")
});
static RE_DATA_CUE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)uppgift|innehöll|innehåller|innehålla|fanns|finns|lagras|lagrade|exponera|röjd|åtkomst till|involved|contained|contains|exposed|records|visar|visade|visades|lästs|kopierats|kunde se|could see|synlig|visible|tillgängliga|åtkomliga|accessible|(?:of|för)\s+[0-9]|leaked|läckt|stores|lagrar|\p{Latin}:\s",
    )
});
/// Whether `s` says data was in it or shown ([`RE_DATA_CUE`]). A cause's,
/// measures' or contact's label line ([`label::label_line`]) is no data
/// line by its colons ("Vidtagna åtgärder: alla lösenord är bytta"), only
/// by its words ("Orsak: listan innehöll namn och adresser").
fn data_cue(s: &str) -> bool {
    match label::label_line(s) {
        Some(l) => RE_DATA_CUE.is_match(&l.value.replace(':', " ")),
        None => RE_DATA_CUE.is_match(s),
    }
}

static RE_DATA_HEADING: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)vilka (?:person)?uppgifter|berörda (?:person)?uppgifter|typ av (?:person)?uppgifter|kategorier av|what (?:information|data|personal data)|which (?:information|data)|information (?:was )?involved|data (?:was )?involved|types of (?:personal )?data",
    )
});
/// "Vi vet ännu inte vilka uppgifter…", "the categories of data are not yet
/// known", "uppgifterna är ännu okända": the sentence says what data is not
/// known. Four patterns, not one alternation: in one automaton their counted
/// runs (up to 60 characters, up to three words) multiplied each other's
/// states (1.2 MB of search cache, `benches/reader_memory.rs`, issue #10).
static RE_UNKNOWN: Lazy<[Regex; 4]> = Lazy::new(|| {
    [
        r"(?i)(?:vet|know)(?:\s+\S+){0,3}?\s+(?:vilka|which|what|om några|whether any|if any)\s+(?:person)?(?:uppgifter|data|information|personal data)",
        r"(?i)categor\p{Latin}*(?:\s+\S+){0,2}\s+(?:are|is)\s+(?:not yet known|unknown)",
        r"(?i)(?:uppgifter|data|information)(?-u:\b).{0,60}(?:okänt|okända|oklart|ej fastställt|inte fastställt|not yet known|unknown|inte känt)",
        r"(?i)(?:okänt|oklart|unknown|not yet known)(?-u:\b).{0,40}(?:vilka|which|what) (?:uppgifter|data|information)",
    ]
    .map(re)
});

/// Whether `s` says which data is not known ([`RE_UNKNOWN`]).
fn names_unknown_data(s: &str) -> bool {
    RE_UNKNOWN.iter().any(|r| r.is_match(s))
}

/// Where data went, not what it was: "till fel e-postadress"; how the
/// intruder got in, not what was taken: "med stulna inloggningsuppgifter".
static RE_NOT_DATA: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)(?:till|to|from|från)\s+(?:fel|wrong|an? (?:incorrect|wrong))\s+(?:e-?post|e-?mail|mejl)?-?\s*(?:adress|address)\p{Latin}*|(?:med|using|with)\s+(?:(?:ett|a|an)\s+)?(?:läckt|läckta|stulet|stulna|kapade|komprometterade|stolen|leaked|compromised|phished)\s+(?:lösenord|inloggningsuppgifter|inloggningsuppgift|användaruppgifter|passwords?|session tokens?|credentials?|login details)",
    )
});

fn categories(sents: &[&str], ev: &mut Vec<Evidence>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut heading_left = 0usize;
    let cleaned: Vec<std::borrow::Cow<str>> = sents
        .iter()
        .map(|s| RE_NOT_DATA.replace_all(s, " "))
        .collect();
    for s in cleaned.iter().map(|c| c.as_ref()) {
        if RE_DATA_HEADING.is_match(s) {
            // A heading whose list follows ("Berörda uppgifter:", then a
            // line an item); a label line with its value ("Kategorier av
            // personuppgifter: namn, personnummer", a form's table row) is
            // its own list, and the rows after it are no items of it.
            heading_left = if names_a_category(s) { 1 } else { 3 };
        }
        let in_heading = heading_left > 0;
        heading_left = heading_left.saturating_sub(1);
        if RE_NEG.is_match(s) {
            continue;
        }
        // Most sentences name no category: one search says so.
        if !names_a_category(s) {
            continue;
        }
        let hits = categories_named(s);
        if hits.len() < 2 && !in_heading && !data_cue(s) {
            continue;
        }
        let mut added = false;
        for h in hits {
            if !out.iter().any(|c| c == h) {
                out.push(h.to_string());
                added = true;
            }
        }
        if added {
            ev.push(Evidence {
                field: "data_categories".into(),
                text: s.to_string(),
            });
        }
    }
    if out.is_empty() {
        if let Some(s) = sents.iter().find(|s| names_unknown_data(s)) {
            out.push("unknown".into());
            ev.push(Evidence {
                field: "data_categories".into(),
                text: s.to_string(),
            });
        }
    }
    out
}

// ---------------------------------------------------------------- data subjects

const NUM: &str = r"ett (?:tio|tjugo|trettio|fyrtio|femtio|sextio|sjuttio|åttio|nittio|hundra|tusen)tal|ett dussin|a dozen|[0-9]{1,3}(?:[ .,][0-9]{3})+|[0-9]+|tretton|fjorton|femton|sexton|sjutton|arton|nitton|tjugo|trettio|fyrtio|femtio|två|tre|fyra|fem|sex|sju|åtta|nio|tio|elva|tolv|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve";
const NOUNS: &str = r"[\p{Ll}&&\p{Latin}]*(?:personer|kunder|elever|gäster|ägare|tagare|sökande|anställda|medlemmar|deltagare|brukare|patienter|invånare)|mottagare|resenärer|workers|guards|landowners|owners|tenants|guardians|parents|recipients|staff|personer|person|registrerade|brukare|elever|eleverna|anställda|medarbetare|patienter|kunder|användare|användarkonton|konton|invånare|vårdnadshavare|barn|individer|kontaktpersoner|medlemmar|sökande|klienter|deltagare|respondenter|people|persons|individuals|users|user accounts|accounts|employees|staff members|customers|patients|students|pupils|respondents|data subjects|residents|members|citizens|children|clients|applicants";

static RE_RANGE: Lazy<Regex> = Lazy::new(|| {
    re(&format!(
        r"(?i)(?:(?-u:\b)(?:mellan|between)\s+)?(?P<a>{NUM})\s*(?:–|-|—|och|and|till|to)\s*(?P<b>{NUM})\s+(?:[\p{{Latin}}']+\s+){{0,3}}?(?:{NOUNS})(?-u:\b)"
    ))
});
static RE_COUNT: Lazy<Regex> = Lazy::new(|| {
    re(&format!(
        r"(?i)(?:(?-u:\b)(?P<q>färre än|mindre än|under|upp till|högst|maximalt|max|som mest|fewer than|less than|up to|at most|no more than|minst|över|mer än|fler än|drygt|at least|more than|over|cirka|ca\.?|ungefär|omkring|runt|approximately|about|around|roughly|some|nearly|närmare|nästan)\s+)?(?-u:\b)(?P<n>{NUM})\s+(?:[\p{{Latin}}']+\s+){{0,3}}?(?:{NOUNS})(?-u:\b)"
    ))
});
static RE_ZERO: Lazy<Regex> = Lazy::new(|| {
    re(&format!(
        r"(?i)(?-u:\b)(?:inga|ingen|inte någon|inte några|none|no)\s+(?:av\s+|of\s+)?(?:[\p{{Latin}}']+\s+){{0,3}}?(?:{NOUNS})(?-u:\b)|(?-u:\b)no personal data (?:were|was|has been|have been) (?:affected|involved|accessed|exposed)|(?-u:\b)inga personuppgifter (?:har )?(?:berörts|påverkats|drabbats|exponerats|röjts)"
    ))
});
/// "Antalet berörda brukare är 212", and a form's or table's label line
/// "Antal berörda registrerade: cirka 2 300", "Antal berörda: 40",
/// "Number of affected data subjects: 2,300", "Affected users: 12": the
/// number after the noun (a label with no people noun, "Antal berörda
/// system: 3", is none).
static RE_COUNT_AFTER: Lazy<Regex> = Lazy::new(|| {
    re(&format!(
        r"(?i)(?:(?-u:\b)(?:antalet|antal|(?:total |approximate |estimated )?number of)\s+(?:(?:berörda|affected|drabbade|påverkade)\s+)?(?:{NOUNS})(?:\s+(?:affected|concerned|involved|berörda|drabbade))?\s*(?:är|var|uppgår till|uppskattas till|beräknas till|bedöms vara|is|was|is estimated at|is estimated to be|:)|(?-u:\b)(?:antalet|antal)\s+(?:berörda|drabbade|påverkade)\s*(?:är|var|uppgår till|uppskattas till|beräknas till|bedöms vara|:)|(?-u:\b)(?:berörda|drabbade|påverkade|affected)\s+(?:{NOUNS})\s*:)\s*(?:(?P<q>{QUAL})\s+)?(?P<n>{NUM})(?-u:\b)"
    ))
});
/// The qualifiers a count may have ("cirka 2 300", "upp till 40"), read by
/// [`qualified`].
const QUAL: &str = r"färre än|mindre än|under|upp till|högst|maximalt|max|som mest|fewer than|less than|up to|at most|no more than|minst|över|mer än|fler än|drygt|at least|more than|over|cirka|ca\.?|ungefär|omkring|runt|approximately|approx\.?|about|around|roughly|some|nearly|närmare|nästan";
/// A table's count row with no colon: the label alone ("Antal berörda
/// registrerade", "Number of affected users"), its count after it in the
/// same line (a pasted row whose tab is a space after normalising) or alone
/// on the next (Outlook's text of an HTML table, a cell a line).
static RE_COUNT_LABEL: Lazy<Regex> = Lazy::new(|| {
    re(&format!(
        r"(?i)^\s*(?:antalet|antal|(?:total |approximate |estimated )?number of)\s+(?:(?:berörda|affected|drabbade|påverkade)(?:\s+(?:{NOUNS}))?|(?:{NOUNS})(?:\s+(?:affected|concerned|involved|berörda|drabbade))?)\s*:?(?P<rest>.*)$"
    ))
});
/// A table's count cell: the count alone ("Cirka 2 300", "40 st.").
static RE_COUNT_CELL: Lazy<Regex> = Lazy::new(|| {
    re(&format!(
        r"(?i)^\s*(?:(?P<q>{QUAL})\s+)?(?P<n>{NUM})(?:\s+(?:st|personer|registrerade|people|persons|individuals))?\.?\s*$"
    ))
});

/// A count row without a colon at `sents[i]` ([`RE_COUNT_LABEL`]): its count
/// and the text it was read from (the label and the next line's cell joined).
fn count_row(sents: &[&str], i: usize) -> Option<(Range, String)> {
    let s = sents.get(i)?;
    let rest = RE_COUNT_LABEL.captures(s)?.name("rest")?.as_str();
    let (cell, text) = if rest.trim().is_empty() {
        let next = sents.get(i + 1)?;
        (*next, format!("{s} {next}"))
    } else {
        (rest, s.to_string())
    };
    let c = RE_COUNT_CELL.captures(cell)?;
    let n = num(c.name("n")?.as_str())?;
    Some((qualified(c.name("q").map(|q| q.as_str()), n), text))
}

/// A count a later sentence gives as final wins over an earlier estimate.
static RE_FINAL_COUNT: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)slutlig|final|efter analys|after (?:the |our )?analysis|bekräftat|confirmed|exakt|exact",
    )
});
static RE_AFFECT: Lazy<Regex> =
    Lazy::new(|| re(r"(?i)berör|drabba|omfatta|gäller|affected|involved|exposed|impacted|concern"));

fn num(s: &str) -> Option<u64> {
    let words = [
        ("två", 2),
        ("tre", 3),
        ("fyra", 4),
        ("fem", 5),
        ("sex", 6),
        ("sju", 7),
        ("åtta", 8),
        ("nio", 9),
        ("tio", 10),
        ("elva", 11),
        ("tolv", 12),
        ("two", 2),
        ("three", 3),
        ("four", 4),
        ("five", 5),
        ("six", 6),
        ("seven", 7),
        ("eight", 8),
        ("nine", 9),
        ("ten", 10),
        ("eleven", 11),
        ("twelve", 12),
        ("ett dussin", 12),
        ("a dozen", 12),
        ("tretton", 13),
        ("fjorton", 14),
        ("femton", 15),
        ("sexton", 16),
        ("sjutton", 17),
        ("arton", 18),
        ("nitton", 19),
        ("tjugo", 20),
        ("trettio", 30),
        ("fyrtio", 40),
        ("femtio", 50),
        ("thirteen", 13),
        ("fourteen", 14),
        ("fifteen", 15),
        ("sixteen", 16),
        ("seventeen", 17),
        ("eighteen", 18),
        ("nineteen", 19),
        ("twenty", 20),
        ("thirty", 30),
        ("forty", 40),
        ("fifty", 50),
    ];
    let l = s.to_lowercase();
    if let Some((_, n)) = words.iter().find(|(w, _)| *w == l) {
        return Some(*n);
    }
    // "ett fyrtiotal" = 40, "ett hundratal" = 100 (an approximate count).
    if let Some(base) = l.strip_prefix("ett ").and_then(|r| r.strip_suffix("tal")) {
        let tens = [
            ("tio", 10),
            ("tjugo", 20),
            ("trettio", 30),
            ("fyrtio", 40),
            ("femtio", 50),
            ("sextio", 60),
            ("sjuttio", 70),
            ("åttio", 80),
            ("nittio", 90),
            ("hundra", 100),
            ("tusen", 1000),
        ];
        return tens.iter().find(|(w, _)| *w == base).map(|(_, n)| *n);
    }
    let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() > 12 {
        return None;
    }
    digits.parse().ok()
}

/// A number glued to a time, a date or a phone number is not a count.
fn clean_start(s: &str, start: usize) -> bool {
    let before = s.get(..start).unwrap_or("");
    let mut it = before.chars().rev();
    match it.next() {
        None => true,
        Some(c) if c.is_whitespace() => {
            !matches!(it.next(), Some(p) if p.is_ascii_digit() && before.trim_end().ends_with(|c: char| c.is_ascii_digit()))
        }
        Some('(') => true,
        Some(_) => false,
    }
}

/// The range a count with its qualifier stands for ("upp till 2 000" → 1–2000).
fn qualified(q: Option<&str>, n: u64) -> Range {
    let q = q.map(|q| q.to_lowercase());
    match q.as_deref() {
        Some("färre än" | "mindre än" | "under" | "fewer than" | "less than") => Range {
            min: Some(1.min(n.saturating_sub(1))),
            max: Some(n.saturating_sub(1)),
        },
        Some(
            "upp till" | "högst" | "maximalt" | "max" | "som mest" | "up to" | "at most"
            | "no more than",
        ) => Range {
            min: Some(1.min(n)),
            max: Some(n),
        },
        Some("minst" | "at least" | "drygt") => Range {
            min: Some(n),
            max: None,
        },
        Some("över" | "mer än" | "fler än" | "more than" | "over") => Range {
            min: Some(n + 1),
            max: None,
        },
        _ => Range {
            min: Some(n),
            max: Some(n),
        },
    }
}

const QUALIFIERS: &str = r"färre än|mindre än|under|upp till|högst|maximalt|max|som mest|fewer than|less than|up to|at most|no more than|minst|över|mer än|fler än|drygt|at least|more than|over|cirka|ca\.?|ungefär|omkring|runt|approximately|about|around|roughly|some|nearly|närmare|nästan";

/// "namn och telefonnummer för 2 300 besökare", "names … of about 2 300
/// visitors": personal data *of* N somethings are data of N people, whatever
/// the noun, unless the noun counts things or time.
static RE_DATA_OF_COUNT: Lazy<Regex> = Lazy::new(|| {
    re(&format!(
        r"(?i)(?-u:\b)(?:för|of|om|about|on|belonging to|tillhörande)\s+(?:(?P<q>{QUALIFIERS})\s+)?(?P<n>{NUM})\s+(?P<noun>\p{{Latin}}+)"
    ))
});
/// Nouns that count things, messages or time, never people.
const NOT_PEOPLE: &[&str] = &[
    "record",
    "post",
    "rad",
    "fil",
    "file",
    "dokument",
    "document",
    "handling",
    "meddelande",
    "message",
    "sms",
    "mejl",
    "mail",
    "e-post",
    "brev",
    "letter",
    "rapport",
    "report",
    "tabell",
    "table",
    "ärende",
    "case",
    "dag",
    "day",
    "timm",
    "hour",
    "minut",
    "minute",
    "sekund",
    "second",
    "vecka",
    "veck",
    "week",
    "månad",
    "month",
    "år",
    "year",
    "procent",
    "percent",
    "kr",
    "sek",
    "euro",
    "kronor",
    "gb",
    "mb",
    "tb",
    "server",
    "system",
    "konto",
    "account",
    "mapp",
    "folder",
    "bild",
    "image",
    "screenshot",
    "skärmbild",
    "version",
    "rader",
    "row",
    "line",
    "transaktion",
    "transaction",
    "faktur",
    "invoice",
    "bokning",
    "booking",
    "enhet",
    "device",
    "dator",
    "computer",
    "sida",
    "page",
    "tjänst",
    "service",
    "januari",
    "january",
    "februari",
    "february",
    "mars",
    "march",
    "april",
    "maj",
    "may",
    "juni",
    "june",
    "juli",
    "july",
    "augusti",
    "august",
    "september",
    "oktober",
    "october",
    "november",
    "december",
];

fn people_noun(noun: &str) -> bool {
    let n = noun.to_lowercase();
    !NOT_PEOPLE.iter().any(|w| n.starts_with(w))
}

/// "Kommunens uppgifter omfattas inte", "your residents are not affected":
/// the controller's own people or data said to be untouched.
static RE_OURS_NOT_AFFECTED: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)(?-u:\b)(?:kommunens|era|ert|er|your|the municipality's|the council's)\s+(?:\p{Latin}+\s+){0,3}?(?:omfattas|berörs|påverkas|berördes|påverkades|drabbades|drabbas|are|were|is|was|have been|has been)\s+(?:\p{Latin}+\s+)?(?:inte|ej|not)\s+(?:\p{Latin}+\s+)?(?:av|berörda|påverkade|drabbade|affected|involved|impacted|exposed)|(?-u:\b)(?:inga|no)\s+(?:\p{Latin}+\s+){0,3}?(?:personuppgifter|personal data|uppgifter|data)\s+(?:från|om|of|from|about|belonging to)\s+(?:kommunen|er|your|[\p{Lu}&&\p{Latin}]\p{Latin}+ kommun)(?-u:\b)",
    )
});
/// A count said to be an estimate: a later count replaces it.
static RE_ESTIMATE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)uppskatt|preliminär|first estimate|initial estimate|estimated at|our estimate|första bedömning",
    )
});
/// A later count said to be the result of a review.
static RE_RECOUNT: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)now (?:say|know|confirm)|can now|kan nu|vet nu|efter (?:vår )?genomgång|having (?:gone through|reviewed|checked)|after (?:going through|reviewing|checking|our review)",
    )
});

fn subjects(sents: &[&str], ev: &mut Vec<Evidence>) -> Option<Range> {
    // (strong: the sentence says they are affected, estimate, range, sentence)
    let mut best: Option<(bool, bool, Range, std::borrow::Cow<'_, str>)> = None;
    for (i, s) in sents.iter().enumerate() {
        let mut found: Option<Range> = None;
        // The text the count was read from, when not `s` alone.
        let mut read_from: Option<String> = None;
        // Each pattern searched where it is needed, on its own: a RegexSet
        // of them held a second copy of their programs and its own search
        // cache (2.7 MB of the reader's heap, `benches/reader_memory.rs`).
        if let Some(c) = RE_RANGE.captures(s) {
            let start = c.name("a").map(|m| m.start()).unwrap_or(0);
            if let (Some(a), Some(b)) = (
                c.name("a").and_then(|m| num(m.as_str())),
                c.name("b").and_then(|m| num(m.as_str())),
            ) {
                if a <= b && clean_start(s, start) {
                    found = Some(Range {
                        min: Some(a),
                        max: Some(b),
                    });
                }
            }
        }
        if found.is_none() {
            for c in RE_COUNT.captures_iter(s) {
                let Some(nm) = c.name("n") else { continue };
                if !clean_start(s, nm.start()) {
                    continue;
                }
                let Some(n) = num(nm.as_str()) else { continue };
                found = Some(qualified(c.name("q").map(|q| q.as_str()), n));
                break;
            }
        }
        if found.is_none() {
            if let Some(c) = RE_COUNT_AFTER.captures(s) {
                if let Some(n) = c.name("n").and_then(|m| num(m.as_str())) {
                    found = Some(qualified(c.name("q").map(|q| q.as_str()), n));
                }
            }
        }
        if found.is_none() {
            if let Some((r, text)) = count_row(sents, i) {
                found = Some(r);
                read_from = Some(text);
            }
        }
        if found.is_none() && names_a_category(s) {
            for c in RE_DATA_OF_COUNT.captures_iter(s) {
                let (Some(nm), Some(noun)) = (c.name("n"), c.name("noun")) else {
                    continue;
                };
                if !clean_start(s, nm.start()) || !people_noun(noun.as_str()) {
                    continue;
                }
                let Some(n) = num(nm.as_str()) else { continue };
                // "of 2026": a year, not a count.
                if nm.as_str().len() == 4 && (1900..=2100).contains(&n) {
                    continue;
                }
                found = Some(qualified(c.name("q").map(|q| q.as_str()), n));
                break;
            }
        }
        if found.is_none()
            && ((RE_ZERO.is_match(s) && RE_AFFECT.is_match(s)) || RE_OURS_NOT_AFFECTED.is_match(s))
        {
            found = Some(Range {
                min: Some(0),
                max: Some(0),
            });
        }
        if let Some(r) = found {
            let s: std::borrow::Cow<'_, str> = match read_from {
                Some(text) => text.into(),
                None => (*s).into(),
            };
            let strong = RE_AFFECT.is_match(&s);
            let estimate = RE_ESTIMATE.is_match(&s);
            let replaces = match &best {
                None => true,
                Some((false, _, _, _)) if strong => true,
                Some((_, was_estimate, _, _)) => {
                    RE_FINAL_COUNT.is_match(&s) || (*was_estimate && RE_RECOUNT.is_match(&s))
                }
            };
            if replaces {
                let strong = strong || best.is_some();
                best = Some((strong, estimate, r, s));
            }
        }
    }
    let (_, _, r, s) = best?;
    ev.push(Evidence {
        field: "data_subjects".into(),
        text: s.to_string(),
    });
    Some(r)
}

// ---------------------------------------------------------------- systems

static RE_WORD: Lazy<Regex> = Lazy::new(|| re(r"[\p{Latin}]+"));
static RE_MASK: Lazy<Regex> = Lazy::new(|| {
    re(r"(?i)\S+@\S+|https?://\S+|www\.\S+|(?-u:\b)\S+\.(?:se|com|example|test|org|net|nu)(?-u:\b)")
});
const NAME: &str =
    r"(?:[\p{Lu}&&\p{Latin}]|[\p{Ll}&&\p{Latin}][\p{Lu}&&\p{Latin}])[\p{Latin}0-9\-]*";
static RE_SV_SYSTEM: Lazy<Regex> = Lazy::new(|| {
    re(&format!(
        r"(?-u:\b)(?P<cue>\p{{Latin}}*(?:tjänsten|tjänsterna|systemet|systemen|plattformen|appen|applikationen|portalen|programmet|verktyget|modulen|databasen))\s+(?P<n>{NAME}(?:\s+{NAME})?(?:(?:\s*,\s*|\s+och\s+|\s+and\s+){NAME}(?:\s+{NAME})?)*)"
    ))
});
static RE_INCIDENT_IN: Lazy<Regex> = Lazy::new(|| {
    re(&format!(
        r"(?i:incident|intrång|dataintrång|driftstörning|störning|avbrott|fel|programfel|felkonfiguration|konfigurationsfel|bugg|sårbarhet|attack|angrepp|cyberattack|inloggad|logga in|breach|outage|vulnerability|bug|error|fault|misconfiguration)\s+(?:i|mot|på|in|affecting|on)\s+(?P<n>{NAME}(?:\s+{NAME})?)"
    ))
});
static RE_IN_SYSTEM_HOLDS: Lazy<Regex> = Lazy::new(|| {
    re(&format!(
        r"(?-u:\b)[Ii]\s+(?P<n>{NAME})\s+(?:finns|fanns|lagras|lagrades|registreras|hanteras)(?-u:\b)"
    ))
});
static RE_EN_SYSTEM: Lazy<Regex> = Lazy::new(|| {
    re(&format!(
        r"(?-u:\b)(?P<n>{NAME}(?:\s+{NAME}){{0,2}})\s+(?:[\p{{Ll}}&&\p{{Latin}}]+\s+)?(?:portal|platform|application|app|system|database|service|module|tool|software|solution)(?-u:\b)"
    ))
});

const NOT_SYSTEMS: &[&str] = &[
    "iphone",
    "ipad",
    "ipod",
    "ios",
    "macos",
    "icloud",
    "powerpoint",
    "onedrive",
    "sharepoint",
    "onenote",
    "linkedin",
    "youtube",
    "javascript",
    "typescript",
    "postgresql",
    "mysql",
    "github",
    "gitlab",
    "wordpress",
    "facetime",
    "whatsapp",
    "teamviewer",
    "paypal",
    "mcafee",
    "sol",
    "dos",
    "ddos",
    "imy",
    "gdpr",
    "lss",
    "it",
    "the",
    "our",
    "your",
    "this",
    "that",
    "vi",
    "det",
    "den",
    "de",
    "vår",
    "vårt",
    "våra",
    "er",
    "ert",
    "era",
    "en",
    "ett",
    "a",
    "an",
    "we",
    "i",
    "in",
    "security",
    "data",
    "customer",
    "kund",
    "support",
    "all",
    "every",
    "each",
    "any",
    "its",
    "their",
    "his",
    "her",
    "my",
    "new",
    "old",
    "samma",
    "hela",
    "alla",
    "kommunens",
    "self-service",
    "vilka",
    "vilket",
    "vilken",
    "which",
    "what",
    "these",
    "those",
    "other",
    "övriga",
    "andra",
    "flera",
    "några",
    "båda",
    "both",
    "external",
    "internal",
    "interna",
    "externa",
    "nya",
    "affected",
    "berörda",
    "drabbade",
    "felet",
    "bifogat",
    "incidenten",
    "attacken",
    "intrånget",
    "systemet",
];

/// Most systems read from one notice: a notice names a few; a text of
/// thousands of capitalised words (German prose, a crafted mail) must not
/// become thousands of systems on the case, its register row and its drafts.
pub const MAX_SYSTEMS: usize = 20;
/// Most names weighed as systems in one notice, each a candidate from the
/// running text: weighing one may scan the whole text (is it the company's
/// name, does it recur), so without a bound a text of thousands of names
/// took time and memory quadratic in its length (0.35 s and 237 MB for one
/// crafted mail of 28 kB). English prose of `MAX_FACT_CHARS` has 550-1,100
/// runs of capitalised words (the longest texts of the public corpus).
const MAX_SYSTEM_CANDIDATES: usize = 4_000;
/// Most names kept as systems before the last pass (a name inside a longer
/// one is dropped there), each with its sentence: once there are this many,
/// no more names are weighed.
const MAX_SYSTEMS_FOUND: usize = 100;

/// Takes one from `budget`; false when none is left.
fn spend(budget: &Cell<usize>) -> bool {
    let left = budget.get();
    budget.set(left.saturating_sub(1));
    left > 0
}

fn systems(
    sents: &[&str],
    subject: &str,
    org_words: &[String],
    ev: &mut Vec<Evidence>,
) -> Vec<String> {
    let mut found: Vec<(String, String)> = Vec::new();
    // What is left of [`MAX_SYSTEM_CANDIDATES`].
    let budget = Cell::new(MAX_SYSTEM_CANDIDATES);
    let is_org = |n: &str| is_company(n, org_words, sents, subject);
    // `strong`: the text itself calls it a system here ("i tjänsten X",
    // "affecting X", "the X portal"), so a product named like its maker
    // still counts; a bare name must not be the company's.
    let add_as = |found: &mut Vec<(String, String)>, n: &str, s: &str, strong: bool| {
        if !spend(&budget) {
            return;
        }
        let n = n.trim().trim_matches(|c: char| c == '-' || c == ',');
        let words: Vec<&str> = n.split_whitespace().collect();
        // Drop leading function words ("The Kestrel portal", "Vår app").
        let words: Vec<&str> = words
            .into_iter()
            .skip_while(|w| NOT_SYSTEMS.contains(&w.to_lowercase().as_str()))
            .collect();
        let n = words.join(" ");
        if n.chars().count() < 3
            || NOT_SYSTEMS.contains(&n.to_lowercase().as_str())
            || n.split_whitespace()
                .all(|w| org::is_legal_form(w) || org::is_region_word(w))
        {
            return;
        }
        if n.chars().all(|c| c.is_uppercase() || !c.is_alphabetic()) && n.len() <= 4 {
            return;
        }
        // A name ending in a legal form is a company, never a system.
        if n.split_whitespace().last().is_some_and(org::is_legal_form) {
            return;
        }
        // Last, as it reads the whole text: a bare name must not be the company's.
        if !found.iter().any(|(f, _)| f.eq_ignore_ascii_case(&n)) && (strong || !is_org(&n)) {
            found.push((n, s.to_string()));
            // Enough kept: no more is weighed.
            if found.len() >= MAX_SYSTEMS_FOUND {
                budget.set(0);
            }
        }
    };
    let all_text: Vec<&str> = std::iter::once(subject)
        .chain(sents.iter().copied())
        .collect();
    let mut fallback: Vec<(String, String)> = Vec::new();
    for s in std::iter::once(&subject).chain(sents.iter()) {
        if budget.get() == 0 {
            break;
        }
        let masked = RE_MASK.replace_all(s, " ");
        let m: &str = &masked;
        // A CamelCase word has a capital right after a small letter: without
        // such a pair anywhere, no word needs looking at.
        let camel_pair = m
            .chars()
            .zip(m.chars().skip(1))
            .any(|(a, b)| a.is_lowercase() && b.is_uppercase());
        let words = camel_pair.then(|| RE_WORD.find_iter(m));
        for w in words.into_iter().flatten() {
            let t = w.as_str();
            let mut prev_lower = false;
            let mut camel = false;
            for c in t.chars() {
                if c.is_uppercase() && prev_lower {
                    camel = true;
                }
                prev_lower = c.is_lowercase();
            }
            if camel && t.chars().count() >= 4 {
                add_as(&mut found, t, s, false);
            }
        }
        for (n, sign) in running_names(m, &all_text, org_words, &budget) {
            match sign {
                Sign::Strong => add_as(&mut found, &n, s, true),
                Sign::Plain => add_as(&mut found, &n, s, false),
                Sign::Fallback if fallback.len() < MAX_SYSTEMS_FOUND => {
                    fallback.push((n, s.to_string()))
                }
                Sign::Fallback => {}
            }
        }
        for c in RE_SV_SYSTEM.captures_iter(m) {
            // "i Kundportalen Plus": a capitalised compound inside a sentence
            // is itself part of the name.
            if let (Some(cue), Some(n)) = (c.name("cue"), c.name("n")) {
                if cue.as_str().starts_with(char::is_uppercase) {
                    let first = n.as_str().split([',']).next().unwrap_or("");
                    let first = first.split(" och ").next().unwrap_or("").trim();
                    // "Bibliotekssystemet Arken" says what Arken is;
                    // "Kundportalen Plus" is one name.
                    let descriptor = RE_DESCRIPTOR.is_match(cue.as_str())
                        && !first.split_whitespace().any(is_product_suffix);
                    if descriptor {
                        add_as(&mut found, first, s, true);
                    } else if cue.start() > 0 {
                        add_as(&mut found, &format!("{} {}", cue.as_str(), first), s, false);
                    } else {
                        continue;
                    }
                    continue;
                }
            }
            if let Some(n) = c.name("n") {
                for part in n
                    .as_str()
                    .split([','])
                    .flat_map(|p| p.split(" och "))
                    .flat_map(|p| p.split(" and "))
                {
                    add_as(&mut found, part, s, true);
                }
            }
        }
        for r in [&*RE_INCIDENT_IN, &*RE_IN_SYSTEM_HOLDS, &*RE_EN_SYSTEM] {
            for c in r.captures_iter(m) {
                if let Some(n) = c.name("n") {
                    // A lone capitalised word opening a sentence is just grammar.
                    let lone_first = n.start() == 0 && !n.as_str().contains(' ');
                    if !lone_first {
                        add_as(&mut found, n.as_str(), s, false);
                    }
                }
            }
        }
    }
    // Nothing named as a system: a name only a preposition points at
    // ("ett sms från Förskoleappen", "en rapport fra Vaktlista") is the best
    // reading, even named like its maker, unless the text writes it as a
    // company (with a legal form) or it is the company's whole name.
    if found.is_empty() {
        for (n, s) in fallback {
            let written_as_company = std::iter::once(&subject)
                .chain(sents.iter())
                .any(|t| named_as_company(t, &n));
            let whole_org = {
                let core: Vec<String> = n
                    .split_whitespace()
                    .filter(|w| !org::is_legal_form(w))
                    .map(str::to_lowercase)
                    .collect();
                !org_words.is_empty() && core == org_words
            };
            if written_as_company || whole_org {
                continue;
            }
            add_as(&mut found, &n, &s, true);
        }
    }
    // A name inside a longer one ("Self-Service" in "Kestrel Self-Service").
    let names: Vec<String> = found.iter().map(|(n, _)| n.to_lowercase()).collect();
    let mut out = Vec::new();
    for (n, s) in &found {
        if out.len() >= MAX_SYSTEMS {
            break;
        }
        let l = n.to_lowercase();
        let inside = names.iter().any(|o| {
            o.len() > l.len() && o.split_whitespace().any(|w| w == l)
                || (o.len() > l.len() && o.ends_with(&format!(" {l}")))
                || (o.len() > l.len() && o.starts_with(&format!("{l} ")))
        });
        if !inside {
            out.push(n.clone());
            ev.push(Evidence {
                field: "systems".into(),
                text: s.clone(),
            });
        }
    }
    out
}

static RE_DESCRIPTOR: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)(?:systemet|systemen|tjänsten|tjänsterna|plattformen|verktyget|programmet|modulen|databasen)$",
    )
});
/// A run of capitalised words inside a sentence: "Tempo Admin", "Kvitto SMS Gateway".
static RE_RUN: Lazy<Regex> = Lazy::new(|| re(&format!(r"{NAME}(?: {NAME}){{0,3}}")));
/// A Swedish compound that names a system by its last part ("Bygglovsportalen").
static RE_SYSTEM_SUFFIX: Lazy<Regex> = Lazy::new(|| {
    re(
        r"^[\p{Lu}&&\p{Latin}][\p{Ll}&&\p{Latin}]{2,}(?:portalen|portal|systemet|appen|tjänsten|plattformen|registret|databasen|webben|planeraren|bokningen|bokaren|journalen|kalendern|arkivet|kollen|boken)$",
    )
});
/// Words right before a name that make it the thing something happened in.
const RUN_CUES: &[&str] = &[
    "i",
    "in",
    "på",
    "on",
    "mot",
    "against",
    "affecting",
    "of",
    "ur",
    "through",
    "via",
    "within",
    "inom",
    "into",
    "query",
    "hosts",
    "using",
    "uses",
    "använder",
    "behind",
    "system",
    "service",
    "platform",
    "portal",
    "app",
    "application",
    "tool",
    "archive",
    "database",
    "solution",
    "tjänst",
    "plattform",
    "systemet",
    "tjänsten",
];
/// Words right after a name (perhaps after one more lower-case word) that
/// make it a system: "the Planify project", "the ResidentHub staging environment".
const RUN_NOUNS_AFTER: &[&str] = &[
    "portal",
    "platform",
    "application",
    "app",
    "system",
    "database",
    "service",
    "module",
    "tool",
    "software",
    "solution",
    "project",
    "environment",
    "incident",
    "login",
    "instance",
    "tenant",
    "console",
    "projekt",
    "miljö",
    "incidenten",
];
/// ", the … service", ", vår … tjänst" right after a name.
static RE_APPOSITIVE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)^\s*,\s*(?:the|your|our|vår|vårt|våra|er|ert|era|den|det)\s+(?:[\p{Latin}-]+\s+){0,3}?(?:service|system|app|application|platform|portal|console|tool|software|tjänst|tjänsten|system|systemet|plattform|plattformen|app|appen|portal|portalen|verktyg|verktyget)(?-u:\b)",
    )
});
/// A system noun right before a lone name: "i deras tjänst Arkivet".
const SYSTEM_NOUN_CUES: &[&str] = &[
    "system",
    "service",
    "platform",
    "portal",
    "application",
    "tool",
    "archive",
    "database",
    "tjänst",
    "plattform",
    "systemet",
    "tjänsten",
    "plattformen",
    "query",
    "hosts",
    "affecting",
];
const MONTH_DAY_WORDS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "incident",
    "ransomware",
    "phishing",
    "slutrapport",
    "update",
    "uppdatering",
    "status",
];

/// "Tryggvakts larmplattform": the company's genitive.
fn is_org_genitive(w: &str, org_words: &[String]) -> bool {
    let l = w.to_lowercase();
    l.strip_suffix('s')
        .is_some_and(|g| org_words.iter().any(|o| o == g))
}

const PRODUCT_SUFFIXES: &[&str] = &[
    "plus", "pro", "online", "go", "web", "admin", "cloud", "mobile", "connect", "core", "sync",
    "hub", "portal", "gateway", "console", "manager", "suite", "express", "one", "next", "lite",
    "flex", "boka", "nova", "kliniken",
];

fn is_product_suffix(w: &str) -> bool {
    PRODUCT_SUFFIXES.contains(&w.to_lowercase().as_str())
}

/// Names in running text without CamelCase: a run of capitalised words
/// inside a sentence that follows a cue ("i", "in", "affecting", "systemet")
/// or is followed by a system noun, or (without a cue) recurs or is a
/// Swedish system compound. A lone word after a cue needs one more sign
/// (CamelCase, a system compound, a recurrence, the subject). Returns the
/// names with whether the text called them systems (`strong`).
/// Each run of capitalised words weighed takes one of `budget` (it may scan
/// the whole text): none is weighed once it is spent.
fn running_names(
    m: &str,
    all_text: &[&str],
    org_words: &[String],
    budget: &Cell<usize>,
) -> Vec<(String, Sign)> {
    let mut out = Vec::new();
    for r in RE_RUN.find_iter(m) {
        if !spend(budget) {
            break;
        }
        let before = m.get(..r.start()).unwrap_or("");
        if !before.is_empty() && !before.ends_with(' ') {
            continue;
        }
        let mut prev = before.split_whitespace().rev();
        let w1 = prev.next().unwrap_or("").to_lowercase();
        let w2 = prev.next().unwrap_or("").to_lowercase();
        let after = m.get(r.end()..).unwrap_or("");
        let mut next = after.split_whitespace();
        let n1 = next.next().unwrap_or("");
        let n2 = next.next().unwrap_or("");
        let n1c = n1
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        let n2c = n2
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        if org::is_legal_form(&n1c)
            || matches!(
                n1c.as_str(),
                "kommun" | "kommuns" | "region" | "stad" | "municipality"
            )
        {
            continue;
        }
        // "Vi på Rekryteringsbyrån Talang": the company speaking.
        if (w1 == "på" && w2 == "vi") || (w1 == "at" && w2 == "we") {
            continue;
        }
        let words: Vec<&str> = r
            .as_str()
            .split(' ')
            .skip_while(|w| NOT_SYSTEMS.contains(&w.to_lowercase().as_str()))
            .collect();
        let Some(first) = words.first() else { continue };
        let name = words.join(" ");
        let single = words.len() == 1;
        let mid = !before.trim().is_empty()
            && !before.trim_end().ends_with(['.', '!', '?', ':', ';'])
            && w1.chars().next().is_some_and(|c| c.is_lowercase());
        let label = RE_LABEL_CUE.is_match(before);
        if single
            && (MONTH_DAY_WORDS.contains(&first.to_lowercase().as_str())
                || is_org_genitive(first, org_words))
        {
            continue;
        }
        let noun_after = RUN_NOUNS_AFTER.contains(&n1c.as_str())
            || (n1c.chars().all(char::is_lowercase)
                && !n1c.is_empty()
                && RUN_NOUNS_AFTER.contains(&n2c.as_str()));
        let named_by_noun = mid && SYSTEM_NOUN_CUES.contains(&w1.as_str());
        let cue = (mid && RUN_CUES.contains(&w1.as_str()))
            || (mid
                && w1 == "from"
                && matches!(
                    w2.as_str(),
                    "exported" | "extracted" | "copied" | "downloaded"
                ))
            || label
            || (mid && noun_after);
        let camel = first.chars().skip(1).any(char::is_uppercase);
        let suffix = RE_SYSTEM_SUFFIX.is_match(first) && single;
        // Counted only where a rule needs them (each is a scan of the whole
        // text: for every run it would make reading quadratic).
        let recurs = |name: &str| all_text.iter().map(|t| count_word(t, name)).sum::<usize>() >= 2;
        let in_subject = |name: &str| all_text.first().is_some_and(|t| count_word(t, name) > 0);
        // "till Ärendehanteraren Diarium Plus": a run ending in a product
        // word is a name; a Swedish definite compound in front of it only
        // says what kind of thing it is.
        let product = !single && words.last().is_some_and(|w| is_product_suffix(w));
        // "FleetTrack, the vehicle planning service you use": the text says
        // what it is, so it is a system even when the maker has its name.
        let appositive = RE_APPOSITIVE.is_match(after);
        if named_by_noun
            || appositive
            || (cue && (!single || camel || suffix || recurs(&name) || in_subject(&name)))
        {
            out.push((name, Sign::Strong));
        } else if mid && product {
            let named = match words.split_first() {
                Some((head, rest)) if rest.len() >= 2 && is_sv_descriptor(head) => rest.join(" "),
                _ => name,
            };
            out.push((named, Sign::Strong));
        } else if mid && ((!single && recurs(&name)) || suffix) {
            if FROM_CUES.contains(&w1.as_str()) {
                out.push((name.clone(), Sign::Fallback));
            }
            out.push((name, Sign::Plain));
        } else if mid && FROM_CUES.contains(&w1.as_str()) {
            // "en rapport fra Vaktlista": only if nothing better is found.
            out.push((name, Sign::Fallback));
        }
    }
    out
}

/// How a name in running text was found (`running_names`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    /// The text calls it a system: even a product named like its maker.
    Strong,
    /// A sign of a name, but never the company's.
    Plain,
    /// Only a preposition before it: taken when the notice names no
    /// system otherwise.
    Fallback,
}

/// Where a thing came from, in the languages suppliers write.
const FROM_CUES: &[&str] = &["från", "fra", "from", "frå"];

/// A capitalised Swedish definite compound that says what kind of thing
/// the following name is ("Ärendehanteraren", "Bokningssystemet").
fn is_sv_descriptor(w: &str) -> bool {
    let n = w.chars().count();
    n >= 9
        && w.chars().next().is_some_and(char::is_uppercase)
        && w.chars().skip(1).all(char::is_lowercase)
        && (w.ends_with("en") || w.ends_with("et"))
}

/// "Service: PeopleSync", "System: Lokalia".
static RE_LABEL_CUE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)(?:^|\s)(?:service|system|tjänst|system|application|product|produkt|berört system|affected system)\s*:\s*$",
    )
});

/// How often `name` occurs in `text` as whole words (case-sensitive).
fn count_word(text: &str, name: &str) -> usize {
    if name.is_empty() {
        return 0;
    }
    text.match_indices(name)
        .filter(|(i, _)| {
            let b = text.get(..*i).and_then(|t| t.chars().next_back());
            let a = text.get(i + name.len()..).and_then(|t| t.chars().next());
            !b.is_some_and(char::is_alphanumeric) && !a.is_some_and(char::is_alphanumeric)
        })
        .count()
}

/// Whether a system candidate is really a company's name, which is never a
/// system: it ends in a legal form ("Parkeringsappen AB"), its words are the
/// reporter organisation's (legal form and words like "Sverige" aside, a
/// genitive "s" too), or the text names it as a company somewhere
/// ("Parkeringsappen AB har drabbats…" makes "Parkeringsappen" a company).
fn is_company(n: &str, org_words: &[String], sents: &[&str], subject: &str) -> bool {
    let words: Vec<&str> = n.split_whitespace().collect();
    if words.last().is_some_and(|w| org::is_legal_form(w)) {
        return true;
    }
    let core: Vec<String> = words
        .iter()
        .filter(|w| !org::is_legal_form(w) && !org::is_region_word(w))
        .map(|w| w.to_lowercase())
        .collect();
    let own = |w: &String| {
        let g = w.trim_end_matches('s');
        org_words.iter().any(|o| o == w || o == g)
    };
    if !core.is_empty() && core.iter().all(own) {
        return true;
    }
    std::iter::once(&subject)
        .chain(sents.iter())
        .any(|s| named_as_company(s, n))
}

/// Whether `text` writes `name` followed by a legal form, as a whole word.
fn named_as_company(text: &str, name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(pos) = text.get(from..).and_then(|t| t.find(name)) {
        let start = from + pos;
        let end = start + name.len();
        let before_ok = text
            .get(..start)
            .and_then(|b| b.chars().next_back())
            .is_none_or(|c| !c.is_alphanumeric());
        if before_ok {
            let after = text.get(end..).unwrap_or("");
            let next = after
                .trim_start_matches([',', ' ', '\t'])
                .split_whitespace()
                .next()
                .unwrap_or("");
            let glued = after.starts_with(|c: char| c.is_alphanumeric());
            if !glued && org::is_legal_form(next) {
                return true;
            }
        }
        from = end;
    }
    false
}

/// The incident facts read from a notice's own text and subject, in two
/// steps ([`extract_but_systems`], then [`Read::add_systems`]) so that the
/// reader leaves out the systems (the costliest fact, and one the message's
/// kind does not depend on) when the kind says the facts are not kept.
pub struct Read<'a> {
    sents: Vec<&'a str>,
    subject: &'a str,
    pub incident: Incident,
    /// Evidence of the facts before the systems (ongoing, times).
    ev_before: Vec<Evidence>,
    ev_systems: Vec<Evidence>,
    /// Evidence of the facts after the systems (categories, subjects, cause).
    ev_after: Vec<Evidence>,
}

/// Reads every incident fact but the systems (left empty) from the notice's
/// own text and subject. `reference` is the notice's own date (years and
/// relative days come from it).
pub fn extract_but_systems<'a>(
    text: &'a str,
    subject: &'a str,
    tz: Tz,
    reference: DateTime<Utc>,
) -> Read<'a> {
    let sents = sentences(text);
    let mut ev_before = Vec::new();
    let mut ev_after = Vec::new();
    let ongoing = ongoing(&sents, &mut ev_before);
    let (discovered_at, occurred_from, occurred_to) =
        times(&sents, tz, reference, ongoing, &mut ev_before);
    let incident = Incident {
        discovered_at,
        occurred_from,
        occurred_to,
        ongoing,
        systems: Vec::new(),
        data_categories: categories(&sents, &mut ev_after),
        data_subjects: subjects(&sents, &mut ev_after),
        cause: cause(&sents, subject, &mut ev_after),
    };
    Read {
        sents,
        subject,
        incident,
        ev_before,
        ev_systems: Vec::new(),
        ev_after,
    }
}

impl<'a> Read<'a> {
    /// Reads the systems too. `org_words` are lower-case words of the
    /// reporter's organisation, which are never systems.
    pub fn add_systems(&mut self, org_words: &[String]) {
        self.incident.systems = systems(&self.sents, self.subject, org_words, &mut self.ev_systems);
    }

    /// The sentences the facts were read from (`text::sentences` of the text).
    pub fn sentences(&self) -> &[&'a str] {
        &self.sents
    }

    /// The facts, their evidence appended to `ev` fact by fact (ongoing,
    /// times, systems, categories, subjects, cause).
    pub fn into_incident(self, ev: &mut Vec<Evidence>) -> Incident {
        ev.extend(self.ev_before);
        ev.extend(self.ev_systems);
        ev.extend(self.ev_after);
        self.incident
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Stockholm;

    fn ds(text: &str) -> Option<(Option<u64>, Option<u64>)> {
        let s = sentences(text);
        subjects(&s, &mut Vec::new()).map(|r| (r.min, r.max))
    }

    #[test]
    fn the_last_statement_about_the_incident_being_over_wins() {
        let on = |t: &str| ongoing(&sentences(t), &mut Vec::new());
        assert_eq!(on("Attacken pågår fortfarande."), Some(true));
        assert_eq!(on("Felet har i dag åtgärdats."), Some(false));
        assert_eq!(on("Felet har nu åtgärdats."), Some(false));
        // Three words in the phrase is one too many.
        assert_eq!(on("Felet har sedan i går åtgärdats."), None);
        // In one sentence, what is said last counts.
        assert_eq!(
            on("Intrånget har i går stoppats men tjänsten ligger fortfarande nere."),
            Some(true)
        );
        assert_eq!(
            on("Tjänsten ligger fortfarande nere men intrånget har i går stoppats."),
            Some(false)
        );
        // Where the incident is said to be over is where that is first said.
        assert_eq!(
            on("Felet har i dag åtgärdats, attacken pågår fortfarande, men den är nu avslutad."),
            Some(true)
        );
    }

    #[test]
    fn data_not_yet_known_is_read_in_each_phrasing() {
        let cats = |t: &str| categories(&sentences(t), &mut Vec::new());
        for t in [
            "Vi vet ännu inte vilka personuppgifter som berörs.",
            "We do not yet know whether any personal data was affected.",
            "The categories of data concerned are not yet known.",
            "Vilka uppgifter som har exponerats är i nuläget okänt.",
            "It is still unknown to us which data was copied.",
        ] {
            assert_eq!(cats(t), ["unknown"], "{t}");
        }
        // Too far apart, or nothing about data.
        assert!(
            cats("Data från systemet som vi undersöker med leverantören är okända.") == ["unknown"]
        );
        assert!(cats(
            "Data från systemet som vi fortfarande undersöker tillsammans med leverantören är okända."
        )
        .is_empty());
        assert!(cats("Orsaken är ännu okänd.").is_empty());
    }

    #[test]
    fn words_between_a_count_and_its_noun_are_latin_script_words() {
        assert_eq!(
            ds("Incidenten berör 40 inskrivna äldre elever."),
            Some((Some(40), Some(40)))
        );
        // The reader's patterns read Latin-script letters only (module
        // comment of `notice`): a word in another script does not join a
        // count to its noun.
        assert_eq!(ds("Incidenten berör 40 старших elever."), None);
        assert_eq!(
            ds("Incidenten berör mellan 40 och 50 старших elever."),
            None
        );
    }

    #[test]
    fn data_subject_classes_of_issue_13() {
        assert_eq!(
            ds("Körlistorna gäller ett fyrtiotal elever."),
            Some((Some(40), Some(40)))
        );
        assert_eq!(
            ds("Omkring 900 larmkunder berörs."),
            Some((Some(900), Some(900)))
        );
        assert_eq!(
            ds("Antalet berörda brukare är 212."),
            Some((Some(212), Some(212)))
        );
        // Records are not people; the people are.
        assert_eq!(
            ds("We found 12,400 records belonging to 3,100 residents."),
            Some((Some(3100), Some(3100)))
        );
        // A final count said later wins over the first estimate.
        assert_eq!(
            ds("Vi uppskattade först att omkring 500 personer berördes. Efter analys är det slutliga antalet 212 personer."),
            Some((Some(212), Some(212)))
        );
        assert_eq!(ds("Totalt skickades 4 100 sms."), None);
    }

    #[test]
    fn systems_in_running_text() {
        let sys = |t: &str, subject: &str, org: &[&str]| {
            let s = sentences(t);
            let org: Vec<String> = org.iter().map(|x| x.to_string()).collect();
            let mut v = systems(&s, subject, &org, &mut Vec::new());
            v.sort();
            v
        };
        assert_eq!(
            sys("An attacker had logged in to Tempo Admin with a phished password. We locked Tempo Admin.", "Security incident", &["shiftwise"]),
            vec!["Tempo Admin"]
        );
        // The company is never a system; its product in a cue position is.
        assert_eq!(
            sys("Ett fel i tjänsten ParkPlats visade namn.\nMed vänlig hälsning\nParkeringsappen AB", "Fel", &["parkeringsappen"]),
            vec!["ParkPlats"]
        );
        assert_eq!(
            sys(
                "Konsulenten klev av tåget i Skövde.",
                "Borttappad dator",
                &[]
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            sys("Felet fanns i Bygglovsportalen.", "Incident", &[]),
            vec!["Bygglovsportalen"]
        );
        assert_eq!(
            sys("Detta hände on Monday in March.", "x", &[]),
            Vec::<String>::new()
        );
        assert_eq!(
            sys(
                "Vi har upptäckt att en exportfil från Bibliotekssystemet Arken låg öppen.",
                "x",
                &[]
            ),
            vec!["Arken"]
        );
    }

    #[test]
    fn data_subject_number_styles() {
        assert_eq!(
            ds("Det rör sig om mellan 1 000 och 10 000 personer."),
            Some((Some(1000), Some(10000)))
        );
        assert_eq!(
            ds("Approximately 2,300 users were affected."),
            Some((Some(2300), Some(2300)))
        );
        assert_eq!(
            ds("Totalt berörs 10 000 personer."),
            Some((Some(10000), Some(10000)))
        );
        assert_eq!(
            ds("About 10,000 customers are affected."),
            Some((Some(10000), Some(10000)))
        );
        assert_eq!(
            ds("för färre än 50 av era brukare"),
            Some((Some(1), Some(49)))
        );
        assert_eq!(ds("upp till 500 elever berörs"), Some((Some(1), Some(500))));
        assert_eq!(
            ds("1 000–10 000 registrerade berörs"),
            Some((Some(1000), Some(10000)))
        );
        assert_eq!(
            ds("at least 120 employees were affected"),
            Some((Some(120), None))
        );
        assert_eq!(
            ds("inga av de registrerade har berörts"),
            Some((Some(0), Some(0)))
        );
        assert_eq!(ds("Sex beställningar påverkades."), None);
        assert_eq!(ds("Ring 070-123 45 67."), None);
    }

    #[test]
    fn categories_skip_negated_and_unrelated() {
        let s = sentences("Payroll data and bank account details are not held here.\nLogin credentials: usernames and password hashes\nWe rotated all partner credentials.");
        assert_eq!(categories(&s, &mut Vec::new()), ["credentials"]);
    }

    /// A form's rows as label lines: the categories' row is its own list
    /// (no heading of the rows after it), and a cause's, measures' or
    /// contact's row names no data by its label ("Orsak: …", "Vidtagna
    /// åtgärder: …"), only by its words.
    #[test]
    fn a_form_s_cause_measures_and_contact_rows_name_no_data_by_their_labels() {
        let cats = |t: &str| categories(&sentences(t), &mut Vec::new());
        assert_eq!(
            cats("Kategorier av personuppgifter: Namn och personnummer\nVidtagna åtgärder: Alla lösenord är bytta.\nKontaktperson: Lena Holm, telefonnummer 010-123 45 67"),
            ["identification", "personal_identity_number"]
        );
        assert_eq!(
            cats("Orsak: En obehörig person gissade lösenordet till ett administratörskonto."),
            Vec::<String>::new()
        );
        assert_eq!(
            cats("Orsak: Listan innehöll personnummer."),
            ["personal_identity_number"]
        );
        // A heading's list still follows it; a label line still names data.
        assert_eq!(
            cats("Berörda uppgifter:\nnamn\ntelefonnummer"),
            ["identification", "contact_details"]
        );
        assert_eq!(
            cats("Personuppgifter: personnummer"),
            ["personal_identity_number"]
        );
        // The means of an intrusion is no data taken.
        assert_eq!(
            cats("Orsak: En obehörig person loggade in med stulna inloggningsuppgifter."),
            Vec::<String>::new()
        );
    }

    #[test]
    fn categories_are_named_by_their_phrases_as_well() {
        let cats = |t: &str| categories(&sentences(t), &mut Vec::new());
        // Each phrase alone, words between its parts.
        assert_eq!(
            cats("Uppgifterna gällde insatser för tre av era brukare."),
            ["health"]
        );
        assert_eq!(
            cats("Filen innehöll frånvaron under hösten för samtliga elever i årskurs 9."),
            ["children_private_circumstances"]
        );
        assert_eq!(
            cats("The export contained attendance records of the 40 pupils."),
            ["children_private_circumstances"]
        );
        // A phrase and the set in one sentence: the categories in table order.
        assert_eq!(
            cats("Listan innehöll namn och närvaron för alla barn."),
            ["identification", "children_private_circumstances"]
        );
        // At most three words between the parts.
        assert!(names_a_category(
            "insatser till kommunens alla äldre brukare"
        ));
        assert!(!names_a_category(
            "insatser till kommunens alla sjuka äldre brukare"
        ));
    }

    #[test]
    fn a_deceived_employee_is_an_attack() {
        let c = |t: &str| cause(&sentences(t), "", &mut Vec::new());
        assert_eq!(
            c("Någon lurade en anställd att lämna ut sitt lösenord."),
            Some(Cause::Attack)
        );
        assert_eq!(
            c("De lurade oss att tro att allt var i sin ordning."),
            Some(Cause::Attack)
        );
        // Three words between is one too many for the phrase.
        assert_eq!(c("Någon lurade en ny anställd att svara."), None);
    }

    #[test]
    fn cause_prefers_stated_cause_and_ignores_negated_attacks() {
        let s = sentences("Inget tyder på att någon utomstående har varit inblandad. Orsaken är ett tekniskt fel i vår kod.");
        assert_eq!(cause(&s, "", &mut Vec::new()), Some(Cause::TechnicalFault));
        let s = sentences("En medarbetare glömde datorn på tåget.");
        assert_eq!(cause(&s, "", &mut Vec::new()), Some(Cause::HumanError));
    }

    #[test]
    fn data_subjects_in_words_of_any_noun_and_said_to_be_none() {
        assert_eq!(
            ds("Listan omfattar sjutton deltagare."),
            Some((Some(17), Some(17)))
        );
        assert_eq!(ds("It lists a dozen tenants."), Some((Some(12), Some(12))));
        // Data *of* N somethings are data of N people; N records are not.
        assert_eq!(
            ds("Exporten innehöll namn och adresser för 130 hyresgäster."),
            Some((Some(130), Some(130)))
        );
        assert_eq!(
            ds("The page showed names and phone numbers of up to 75 volunteers."),
            Some((Some(1), Some(75)))
        );
        assert_eq!(ds("Loggen visar namn för 40 filer."), None);
        // The number after its noun, in a sentence or a form's label line.
        for (line, want) in [
            ("Antalet berörda brukare är 212.", (Some(212), Some(212))),
            (
                "Antal berörda registrerade: Cirka 2 300",
                (Some(2300), Some(2300)),
            ),
            (
                "Antal berörda registrerade: 2 300",
                (Some(2300), Some(2300)),
            ),
            ("Antal registrerade: ca 2300", (Some(2300), Some(2300))),
            ("Antal berörda: upp till 40", (Some(1), Some(40))),
            ("Antal berörda personer: minst 15", (Some(15), None)),
            ("Berörda patienter: 7", (Some(7), Some(7))),
            (
                "Number of affected data subjects: approx. 2,300",
                (Some(2300), Some(2300)),
            ),
            (
                "Number of data subjects affected: 1,204",
                (Some(1204), Some(1204)),
            ),
            ("Affected users: 12", (Some(12), Some(12))),
            (
                "Antalet berörda uppskattas till cirka 300.",
                (Some(300), Some(300)),
            ),
            (
                "The number of affected customers is estimated at 1,500.",
                (Some(1500), Some(1500)),
            ),
        ] {
            assert_eq!(ds(line), Some(want), "{line}");
        }
        assert_eq!(ds("Antal berörda system: 3"), None);
        assert_eq!(ds("Antal: 40"), None);
        assert_eq!(ds("Number of affected records: 5,000"), None);
        assert_eq!(ds("The file lists names of 3 March events."), None);
        // A table's row without a colon: its cells a tab apart (a space
        // after normalising) or a line apart (Outlook's text of a table).
        for (text, want) in [
            (
                "Antal berörda registrerade\tCirka 2 300",
                (Some(2300), Some(2300)),
            ),
            (
                "Antal berörda registrerade\nCirka 2 300\n",
                (Some(2300), Some(2300)),
            ),
            (
                "Antal berörda registrerade:\n2 300\nOrsak\nAngrepp",
                (Some(2300), Some(2300)),
            ),
            ("Antal berörda\nupp till 40", (Some(1), Some(40))),
            ("Number of affected users\n12 people.", (Some(12), Some(12))),
            ("Antal berörda personer 15 st", (Some(15), Some(15))),
        ] {
            let normal = super::super::text::normalize(text);
            assert_eq!(ds(&normal), Some(want), "{text}");
        }
        let mut ev = Vec::new();
        subjects(
            &sentences("Antal berörda registrerade\nCirka 2 300"),
            &mut ev,
        );
        assert_eq!(ev[0].text, "Antal berörda registrerade Cirka 2 300");
        for text in [
            "Antal berörda system\n3",
            "Antal berörda registrerade\nOkänt",
            "Antal berörda registrerade\n2 300 000 kronor",
            "Antal registrerade\n\nDatum\n2025",
            "Antal berörda registrerade i kommunen var okänt 2025",
        ] {
            assert_eq!(ds(text), None, "{text}");
        }
        // None of ours: zero.
        assert_eq!(
            ds("Era invånare berörs alltså inte av händelsen."),
            Some((Some(0), Some(0)))
        );
        assert_eq!(
            ds("Your pupils were not affected."),
            Some((Some(0), Some(0)))
        );
        // A re-count replaces an estimate; without an estimate the first stays.
        assert_eq!(
            ds("We first estimated about 200 people. After reviewing the logs we can now say it was 188 people."),
            Some((Some(188), Some(188)))
        );
        assert_eq!(
            ds("Omkring 90 elever berörs. Vi kan nu se att 4 lärare också loggade in."),
            Some((Some(90), Some(90)))
        );
    }

    #[test]
    fn cause_as_the_supplier_states_it() {
        let c = |t: &str| cause(&sentences(t), "", &mut Vec::new());
        assert_eq!(
            c("Someone used a SQL injection in the login form."),
            Some(Cause::Attack)
        );
        assert_eq!(
            c("En handläggare lurades att lämna ut sin kod via telefon."),
            Some(Cause::Attack)
        );
        assert_eq!(
            c("Orsaken var att en tekniker valde en gammal kopia vid återläsningen."),
            Some(Cause::HumanError)
        );
        assert_eq!(
            c("Orsaken var en felaktig synkronisering mellan två register."),
            Some(Cause::TechnicalFault)
        );
        // A wrong recipient in the cause sentence is not a fault of the system.
        assert_ne!(
            c("Orsaken var att utskicket gick till felaktiga mottagare."),
            Some(Cause::TechnicalFault)
        );
        assert_eq!(
            c("We inadvertently shared the folder."),
            Some(Cause::HumanError)
        );
        // The subject's label does not overrule the body's account.
        let s = sentences("Jag tappade telefonen i bussen.");
        assert_eq!(
            cause(&s, "Stulen telefon", &mut Vec::new()),
            Some(Cause::HumanError)
        );
        assert_eq!(
            cause(
                &sentences("Mer information kommer."),
                "Stulen telefon",
                &mut Vec::new()
            ),
            Some(Cause::Attack)
        );
    }

    #[test]
    fn the_cue_closest_to_a_time_gives_its_role() {
        let r = DateTime::parse_from_rfc3339("2026-05-20T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let fmt = |x: Option<DateTime<Utc>>| x.map(|x| x.with_timezone(&Stockholm).to_rfc3339());
        let s = sentences("We found out today that the share had been public since 2 May 2026.");
        let (_, f, _) = times(&s, Stockholm, r, None, &mut Vec::new());
        assert_eq!(fmt(f).as_deref(), Some("2026-05-02T00:00:00+02:00"));
        let s = sentences(
            "Servern var öppen från den 3 maj kl. 08:00 tills vi stängde porten kl. 17:10 den 4 maj.",
        );
        let (_, f, t) = times(&s, Stockholm, r, None, &mut Vec::new());
        assert_eq!(fmt(f).as_deref(), Some("2026-05-03T08:00:00+02:00"));
        assert_eq!(fmt(t).as_deref(), Some("2026-05-04T17:10:00+02:00"));
        let s = sentences("Felet är stängt sedan den 5 maj kl. 09:00.");
        let (_, f, t) = times(&s, Stockholm, r, None, &mut Vec::new());
        assert_eq!(
            (fmt(f), fmt(t).as_deref()),
            (None, Some("2026-05-05T09:00:00+02:00"))
        );
        let s = sentences("On 6 May 2026 at 10:15 our admins noticed that the bucket had been open since 1 May 2026 at 08:00.");
        let (d, f, _) = times(&s, Stockholm, r, None, &mut Vec::new());
        assert_eq!(fmt(d).as_deref(), Some("2026-05-06T10:15:00+02:00"));
        assert_eq!(fmt(f).as_deref(), Some("2026-05-01T08:00:00+02:00"));
    }

    fn systems_of(from: &str, body: &str) -> Vec<String> {
        let raw = format!(
            "From: Support <{from}>\nTo: d@example.test\nSubject: Incident\nDate: Mon, 2 Nov 2026 10:00:00 +0100\n\n{body}\n"
        );
        crate::core::notice::read(raw.as_bytes(), &crate::core::notice::ReadOptions::default())
            .unwrap()
            .incident
            .systems
    }

    /// `n` distinct CamelCase names of letters only ("BacDfe", …).
    fn many_names(n: usize) -> Vec<String> {
        let word = |mut i: usize| {
            let mut w = String::new();
            for _ in 0..3 {
                w.push(char::from(b'a' + (i % 26) as u8));
                i /= 26;
            }
            w
        };
        let cap = |w: &str| w[..1].to_uppercase() + &w[1..];
        (0..n)
            .map(|i| cap(&word(i)) + &cap(&word(i * 7 + 3)))
            .collect()
    }

    #[test]
    fn a_text_of_thousands_of_names_names_a_bounded_list_of_systems() {
        // German prose capitalises every noun, and a crafted mail can be
        // nothing but names: weighing each may scan the whole text and each
        // one found keeps its sentence, so unbounded this took time and
        // memory quadratic in the text (3,000 systems, each with the whole
        // text as its evidence).
        let text = format!(
            "Vi har drabbats av ett dataintrång i systemet ParkAdmin. {}",
            many_names(3_000).join(" ")
        );
        let mut ev = Vec::new();
        let v = systems(&sentences(&text), "Incident", &[], &mut ev);
        assert_eq!(v.first().map(String::as_str), Some("ParkAdmin"));
        assert!(v.len() <= MAX_SYSTEMS, "{} systems", v.len());
        assert!(ev.len() <= MAX_SYSTEMS, "{} pieces of evidence", ev.len());
        // Names of the ordinary kind are all still read.
        let few = format!("Intrånget gällde tjänsterna {}.", many_names(12).join(", "));
        assert_eq!(
            systems(&sentences(&few), "Incident", &[], &mut Vec::new()).len(),
            12
        );
    }

    #[test]
    fn a_key_block_in_a_notice_names_no_systems() {
        // A supplier's notice with its PGP key pasted below (as 1990s-style
        // signatures and some security teams still do): the key's base64 is
        // no system name, the running text's system is.
        let body = "We discovered unauthorised access to the Elevportalen platform on 1 November. Names were exposed.\n\n\
                    Our key:\n-----BEGIN PGP PUBLIC KEY BLOCK-----\nVersion: 2.6.2\n\n\
                    UvImZaYMEtKJGF2VDuiBNgkWb2sRPReNbA/TkB/yOaGglfIPk5VlDPk4C47bIkpr\n\
                    JIoekk6P0K4uGpSSozBfGIy2EJAPnjR/rohtxlB3lex0XEw/yy6yxz4Uk0yGfuBX\n\
                    unJJm/oSHoNrKsFXJu59awr2qxPDjpLK4NFQV7FZmH+UzHQR1xfxRXmyqhAPu7NP\n\
                    pZP+rtJySLdi46tYBfB2WiucHX4PN8RJIb0/ZWTq338UKnJmjEfiI9Fu3YxHtGr8\n\
                    W67iYfU7JhUtJjuoOwN81JYuQ0gBJWuIXpyQUfMgsNuD856nrb0NdObex/PfrsyP\n\
                    MlY0e5/85pzXAHrop1jMpA==\n=Xq3f\n-----END PGP PUBLIC KEY BLOCK-----\n\n\
                    Best regards\nSkolSoft Security Team";
        assert_eq!(
            systems_of("security@skolsoft.example", body),
            ["Elevportalen"]
        );
    }

    #[test]
    fn a_company_name_is_never_a_system() {
        // The signature's company after a system cue ("…appen AB").
        assert_eq!(
            systems_of(
                "support@parkering.example",
                "Parkeringsappen AB har drabbats av ett dataintrång i systemet ParkAdmin. Vi upptäckte intrånget den 1 november kl. 14:00.\n\nVänliga hälsningar, Anna Berg, Parkeringsappen AB"
            ),
            ["ParkAdmin"]
        );
        // A company whose name is a camel-case word, with a long legal form.
        assert_eq!(
            systems_of(
                "security@skolsoft.example",
                "We discovered unauthorised access to the Elevportalen platform on 1 November. Names were exposed.\n\nBest regards\nSkolSoft Nordic Aktiebolag"
            ),
            ["Elevportalen"]
        );
        // Named as a company elsewhere in the text, and as the system's owner.
        assert_eq!(
            systems_of(
                "info@x.example",
                "Incidenten i CareLink upptäcktes i går. Vi på MedTech Nord GmbH beklagar. Det gäller inte MedTech Nord, bara tjänsten CareLink."
            ),
            ["CareLink"]
        );
        // Lower-case "as" is English, not a legal form.
        assert_eq!(
            systems_of(
                "info@x.example",
                "We detected an outage in the BookIt system as well as in PayDesk. Names and email addresses were exposed. Regards, Acme Ltd"
            ),
            ["BookIt", "PayDesk"]
        );
    }

    #[test]
    fn legal_forms() {
        for w in [
            "AB",
            "Inc.",
            "B.V.",
            "S.A.",
            "Aktiebolag",
            "GmbH",
            "Oy",
            "AS",
            "ApS",
            "LLC",
            "Ltd,",
        ] {
            assert!(org::is_legal_form(w), "{w}");
        }
        for w in ["as", "ab", "Abc", "Inca", ""] {
            assert!(!org::is_legal_form(w), "{w}");
        }
    }

    #[test]
    fn times_with_roles_and_future_dropped() {
        let r = DateTime::parse_from_rfc3339("2023-03-23T00:58:40Z")
            .unwrap()
            .with_timezone(&Utc);
        let text = "Angreppet inleddes enligt våra loggar kl. 01:12 i natt, torsdag 23 mars.\nVår jourtekniker upptäckte angreppet kl. 01:20.\nNästa uppdatering kommer senast kl. 06:00.";
        let s = sentences(text);
        let (d, f, t) = times(&s, Stockholm, r, Some(true), &mut Vec::new());
        let fmt = |x: Option<DateTime<Utc>>| x.map(|x| x.with_timezone(&Stockholm).to_rfc3339());
        assert_eq!(fmt(d).as_deref(), Some("2023-03-23T01:20:00+01:00"));
        assert_eq!(fmt(f).as_deref(), Some("2023-03-23T01:12:00+01:00"));
        assert_eq!(t, None);
    }

    #[test]
    fn a_weekday_before_a_date_names_that_date_and_the_time_stays() {
        let r = DateTime::parse_from_rfc3339("2026-11-14T08:02:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let fmt = |x: Option<DateTime<Utc>>| x.map(|x| x.with_timezone(&Stockholm).to_rfc3339());
        for text in [
            "The attack was discovered on Saturday 14 November 2026 at 03:12 CET.",
            "Intrånget upptäcktes lördagen den 14 november 2026 kl. 03:12.",
        ] {
            let s = sentences(text);
            let (d, _, _) = times(&s, Stockholm, r, None, &mut Vec::new());
            assert_eq!(
                fmt(d).as_deref(),
                Some("2026-11-14T03:12:00+01:00"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_period_ending_when_it_was_found_gives_the_discovery() {
        let r = DateTime::parse_from_rfc3339("2026-10-02T12:00:45Z")
            .unwrap()
            .with_timezone(&Utc);
        let fmt = |x: Option<DateTime<Utc>>| x.map(|x| x.with_timezone(&Stockholm).to_rfc3339());
        let text = "Utskriften låg i skrivaren från kl. 09:30 till kl. 12:00 den 2 oktober 2026, då den hittades.";
        let (d, f, t) = times(&sentences(text), Stockholm, r, None, &mut Vec::new());
        assert_eq!(fmt(d).as_deref(), Some("2026-10-02T12:00:00+02:00"));
        assert_eq!(fmt(f).as_deref(), Some("2026-10-02T09:30:00+02:00"));
        assert_eq!(fmt(t).as_deref(), Some("2026-10-02T12:00:00+02:00"));
        // A period with no such clause says nothing of the discovery.
        let text = "Utskriften låg i skrivaren från kl. 09:30 till kl. 12:00 den 2 oktober 2026.";
        let (d, _, _) = times(&sentences(text), Stockholm, r, None, &mut Vec::new());
        assert_eq!(d, None);
    }

    #[test]
    fn a_name_only_a_preposition_points_at_is_taken_when_nothing_else_is() {
        // Named like its maker, the product is still the only system named.
        let body = "Vi vill informera om en personuppgiftsincident. Vi har upptäckt att upp till 40 vårdnadshavare fått ett sms från Förskoleappen med fel barns namn och schema.\n\nMed vänlig hälsning\nFörskoleappen Sverige AB";
        assert_eq!(
            systems_of("info@forskoleappen.example", body),
            ["Förskoleappen"]
        );
        let body = "Vi skriver for å informere om at en ansatt sendte en rapport fra Vaktlista til feil mottaker.\n\nThe report contained names of 41 guards. We discovered the mistake on 2 November 2026.\n\nMed vennlig hilsen\nVakt og Sikring Norge ASA";
        assert_eq!(systems_of("post@vaktsikring.example", body), ["Vaktlista"]);
        // Never when a system is named, nor a company written as one.
        let body = "Vi vill informera om en personuppgiftsincident: ett intrång i systemet ParkAdmin. Vi fick ett mejl från Parkeringsappen AB om det.\n\nParkeringsappen AB";
        assert_eq!(
            systems_of("info@parkeringsappen.example", body),
            ["ParkAdmin"]
        );
        let body = "Vi vill informera om en personuppgiftsincident. Vi fick ett brev från Parkeringsappen AB om ett fel.\n\nParkeringsappen AB";
        assert!(systems_of("info@parkeringsappen.example", body).is_empty());
    }

    #[test]
    fn a_kind_word_before_a_product_name_is_not_part_of_it() {
        let body = "Vi vill informera om en personuppgiftsincident. En tidigare anställd hade fortfarande inloggning till Ärendehanteraren Diarium Plus vid kontrollen.\n\nDiariedata AB";
        assert_eq!(
            systems_of("support@diariedata.example", body),
            ["Diarium Plus"]
        );
        // Two words stay one name.
        let body = "Vi vill informera om en personuppgiftsincident. Ett fel gjorde att uppgifter visades för fel användare i Kundportalen Plus.\n\nKunddata AB";
        assert_eq!(
            systems_of("support@kunddata.example", body),
            ["Kundportalen Plus"]
        );
    }
}
