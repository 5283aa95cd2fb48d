//! The reporter's organisation: read from the notice's signature first (the
//! line that names a company with its legal form, or a public body), then from
//! configured supplier hints by mail domain, then from the rest of the text and
//! the display name. Unknown suppliers are read the same way as known ones.

use once_cell::sync::Lazy;
use regex::Regex;

use super::SupplierHint;

static RE_COMPANY: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?P<org>[\p{Lu}&&\p{Latin}][\p{Latin}0-9&'\-]*(?:\s+(?:[\p{Lu}&&\p{Latin}][\p{Latin}0-9&'\-]*|[0-9]+|&|och|and|of|för|i|og|og|und|de|van|von))*),?\s+(?P<suf>AB|Aktiebolag(?:et)?|HB|KB|Inc\.?|Ltd\.?|Limited|LLC|GmbH|Oyj|Oy|ASA|AS|A/S|ApS|plc|PLC|Corp\.?|B\.V\.|BV|N\.V\.|S\.A\.S\.?|SAS|S\.A\.|S\.à r\.l\.|SARL|S\.r\.l\.|SRL|S\.p\.A\.|SpA|[Ss]p\. z o\.o\.|s\.r\.o\.|Kft\.?|OÜ|UAB|SIA|AG|SA)(?:\s*\(publ\))?(?:[^\p{Latin}0-9]|$)")
        .expect("static regex")
});
static RE_PUBLIC: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?P<org>[\p{Lu}&&\p{Latin}][\p{Latin}\-]*(?:\s+[\p{Lu}&&\p{Latin}][\p{Latin}\-]*)?\s+(?:kommun|stad|län|landsting|universitet|högskola)|Region\s+[\p{Lu}&&\p{Latin}][\p{Latin}\-]*(?:\s+[\p{Lu}&&\p{Latin}][\p{Latin}\-]*)?)(?-u:\b)")
        .expect("static regex")
});

/// Words that start a line but are not part of a company's name.
const LEAD: &[&str] = &[
    "med",
    "vänliga",
    "hälsningar",
    "the",
    "team",
    "från",
    "from",
    "vi",
    "we",
    "hos",
    "at",
    "enligt",
    "till",
    "to",
    "på",
    "kind",
    "regards",
    "best",
    "sincerely",
    "hälsning",
    "mvh",
    "på uppdrag av",
];

/// Cheap test for a legal form somewhere in a line.
static RE_ORG_HINT: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"AB|Aktiebolag|HB|KB|Inc|Ltd|Limited|LLC|GmbH|Oy|AS|A/S|ApS|plc|PLC|Corp|B\.V|BV|N\.V|S\.A|AG|SA|SAS|SARL|S\.r\.l|SRL|SpA|z o\.o|s\.r\.o|Kft|OÜ|UAB|SIA")
        .expect("static regex")
});

/// Legal forms that end a company's name, as written (dots removed). Case
/// matters for the short ones: "AS" is a company form, "as" an English word.
const LEGAL_FORMS: &[&str] = &[
    "AB", "HB", "KB", "Oy", "OY", "Oyj", "AS", "ASA", "A/S", "ApS", "GmbH", "AG", "Ltd", "LTD",
    "Limited", "LLC", "Inc", "INC", "Corp", "plc", "PLC", "BV", "NV", "SA", "(publ)", "SAS",
    "SARL", "SRL", "Srl", "SpA", "Kft", "OÜ", "UAB", "SIA", "sro",
];

/// Whether `word` is a legal form ("AB", "Inc.", "B.V.", "Aktiebolag").
pub fn is_legal_form(word: &str) -> bool {
    let w: String = word
        .trim_matches(|c: char| c == ',' || c == ';' || c == ':')
        .chars()
        .filter(|c| *c != '.')
        .collect();
    LEGAL_FORMS.contains(&w.as_str())
        || matches!(
            w.to_lowercase().as_str(),
            "aktiebolag" | "aktiebolaget" | "limited"
        )
}

/// Words that say where a company works, not which company it is
/// ("Provdata Sverige AB" is Provdata).
pub fn is_region_word(word: &str) -> bool {
    matches!(
        word.to_lowercase().as_str(),
        "sverige"
            | "sweden"
            | "norden"
            | "nordic"
            | "nordics"
            | "scandinavia"
            | "skandinavien"
            | "international"
            | "group"
            | "koncernen"
            | "i"
            | "of"
            | "&"
            | "och"
            | "and"
    )
}

fn company_in(line: &str) -> Option<String> {
    if !RE_ORG_HINT.is_match(line) {
        return None;
    }
    for c in RE_COMPANY.captures_iter(line) {
        let (Some(org), Some(suf)) = (c.name("org"), c.name("suf")) else {
            continue;
        };
        let words: Vec<&str> = org
            .as_str()
            .split_whitespace()
            .skip_while(|w| LEAD.contains(&w.to_lowercase().as_str()))
            .collect();
        if words.is_empty() {
            continue;
        }
        let sep = if line
            .get(org.end()..suf.start())
            .is_some_and(|g| g.contains(','))
        {
            ", "
        } else {
            " "
        };
        return Some(format!("{}{}{}", words.join(" "), sep, suf.as_str()));
    }
    None
}

fn public_in(line: &str) -> Option<String> {
    if ![
        "kommun",
        "stad",
        "län",
        "landsting",
        "universitet",
        "högskola",
        "Region",
    ]
    .iter()
    .any(|w| line.contains(w))
    {
        return None;
    }
    RE_PUBLIC
        .captures(line)
        .and_then(|c| c.name("org"))
        .map(|m| m.as_str().to_string())
}

fn domain_label(addr: &str) -> Option<String> {
    let domain = addr.rsplit('@').next()?;
    let labels: Vec<&str> = domain.split('.').collect();
    // the label before the public suffix ("provdata" in mail.provdata.example)
    let l = if labels.len() >= 2 {
        labels.get(labels.len() - 2)?
    } else {
        labels.first()?
    };
    Some(l.to_lowercase())
}

fn fold(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| match c {
            'å' | 'ä' => 'a',
            'ö' => 'o',
            'é' | 'è' => 'e',
            _ => c,
        })
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The organisation that wrote the notice, or None when nothing names one.
pub fn organisation(
    text: &str,
    address: Option<&str>,
    display_name: Option<&str>,
    hints: &[SupplierHint],
) -> Option<String> {
    // The signature is in the last lines; companies named in the text are
    // looked for in the first few hundred. Neither needs every line of a long body.
    let mut sig: Vec<&str> = text
        .lines()
        .rev()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(15)
        .collect();
    sig.reverse();
    // One pass over the whole text decides whether any line can name a
    // company at all; most mail names none, and per-line searches cost more.
    let any_company = RE_ORG_HINT.is_match(super::text::prefix(text, 8_000))
        || sig.iter().any(|l| RE_ORG_HINT.is_match(l));
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| any_company && !l.is_empty())
        .take(300)
        .collect();
    if let Some(o) = sig
        .iter()
        .rev()
        .filter(|_| any_company)
        .find_map(|l| company_in(l))
    {
        return Some(o);
    }
    let domain = address.and_then(domain_label);
    if let Some(addr) = address {
        let d = addr.rsplit('@').next().unwrap_or("").to_lowercase();
        for h in hints {
            if h.domains.iter().any(|hd| {
                let hd = hd.to_lowercase();
                d == hd || d.ends_with(&format!(".{hd}"))
            }) {
                return Some(h.organisation.clone());
            }
        }
    }
    // The first few hundred lines are enough to find the company named in the text.
    let companies: Vec<String> = lines.iter().filter_map(|l| company_in(l)).collect();
    if let Some(dl) = &domain {
        let dl = fold(dl);
        if let Some(c) = companies.iter().find(|c| {
            c.split_whitespace().next().is_some_and(|w| {
                !dl.is_empty() && fold(w).starts_with(&dl) || dl.starts_with(&fold(w))
            })
        }) {
            return Some(c.clone());
        }
    }
    if let Some(o) = display_name.and_then(company_in) {
        return Some(o);
    }
    if let Some(o) = sig.iter().rev().find_map(|l| public_in(l)) {
        return Some(o);
    }
    companies.into_iter().next()
}

/// Lower-case words of an organisation's name without its legal form, plus
/// the mail domain's label: these are never names of systems.
pub fn org_words(org: Option<&str>, addresses: &[Option<&str>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(o) = org {
        for w in o.split(|c: char| !c.is_alphanumeric() && c != '-') {
            let l = w.to_lowercase();
            if l.len() > 2
                && !matches!(
                    l.as_str(),
                    "inc" | "ltd" | "sverige" | "sweden" | "norden" | "nordic"
                )
            {
                out.push(l);
            }
        }
    }
    for a in addresses.iter().flatten() {
        if let Some(d) = domain_label(a) {
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_forms() {
        let o = |t: &str| organisation(t, None, None, &[]);
        assert_eq!(
            o("Hej\n\nMed vänliga hälsningar\nProvdata Sverige AB\nKundservice").as_deref(),
            Some("Provdata Sverige AB")
        );
        assert_eq!(
            o("Maria Holm\nInformationssäkerhetsansvarig, Provdata Sverige AB").as_deref(),
            Some("Provdata Sverige AB")
        );
        assert_eq!(
            o("Dana Whitfield\nChief Privacy Officer\nBrightline Survey, Inc.").as_deref(),
            Some("Brightline Survey, Inc.")
        );
        assert_eq!(
            o("Best regards,\nThe events team at Nordic Cyber Academy Ltd\nBox 1234").as_deref(),
            Some("Nordic Cyber Academy Ltd")
        );
        assert_eq!(o("Hälsningar\nLena Persson\nEnhetschef, Hemtjänst Norr\nVallsjö kommun\n070-123 45 67").as_deref(), Some("Vallsjö kommun"));
        assert_eq!(o("The mail system").as_deref(), None);
    }

    #[test]
    fn names_are_read_in_latin_script_letters_only() {
        let o = |t: &str| organisation(t, None, None, &[]);
        // Letters beyond Swedish's, in Latin script: read.
        assert_eq!(
            o("Med vänliga hälsningar\nŁódź Ørsted Ñandú Sp. z o.o.").as_deref(),
            Some("Łódź Ørsted Ñandú Sp. z o.o.")
        );
        // Another script is not read as a name (the patterns' letters are
        // `\p{Latin}`, see the reader's module comment).
        assert_eq!(o("С уважением\nРомашка AB").as_deref(), None);
    }

    #[test]
    fn hints_by_domain() {
        let hints = [SupplierHint {
            organisation: "Acme Omsorg AB".into(),
            domains: vec!["acme.example".into()],
        }];
        assert_eq!(
            organisation("Hej\nSupport", Some("x@mail.acme.example"), None, &hints).as_deref(),
            Some("Acme Omsorg AB")
        );
    }
}
