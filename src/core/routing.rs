//! Routing: which committee (nämnd) is controller for a notice, and who acts on it.
//! Admin rules from config are tried in order; the first match wins; otherwise the
//! default route. Pure: the answer also says *why*, for `breachwatch rules test`.

use serde::{Deserialize, Serialize};

use super::auth::Role;
use super::notice::Notice;

/// A person on a route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    pub address: String,
    #[serde(default)]
    pub title: Option<String>,
}

/// The controller and its delegation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Committee {
    /// "Kommunstyrelsen"
    pub name: String,
    /// Diarienummer prefix, e.g. "KS" (gives "KS 2026/…").
    pub diarie_prefix: String,
    /// Point of the delegation scheme the official decides under, e.g.
    /// "2.2 PU:3": for notifying IMY (art. 33), and for informing the data
    /// subjects (art. 34) too unless `delegation_point_art34` is given.
    pub delegation_point: String,
    /// The point for informing the data subjects (art. 34), e.g. "2.2 PU:4",
    /// when the scheme has its own point for it. Left out of the stored route
    /// when not given, so routes of older configurations stay the same bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation_point_art34: Option<String>,
}

/// Everything a case needs to know about who is responsible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub committee: Committee,
    pub official: Contact,
    pub deputy: Contact,
    pub dpo: Contact,
    #[serde(default)]
    pub coordinator: Option<Contact>,
}

impl Route {
    /// Everyone on the route with their role, in this order: official, deputy,
    /// DPO, coordinator (when there is one). The one list that authorisation,
    /// replies, the case file, the configuration check and the mails use.
    pub fn roster(&self) -> impl Iterator<Item = (Role, &Contact)> {
        [
            (Role::Official, Some(&self.official)),
            (Role::Deputy, Some(&self.deputy)),
            (Role::Dpo, Some(&self.dpo)),
            (Role::Coordinator, self.coordinator.as_ref()),
        ]
        .into_iter()
        .filter_map(|(role, c)| c.map(|c| (role, c)))
    }
}

/// One admin rule. Every condition given must hold; within a list any entry may
/// match. A rule with no condition never matches (a typo must not catch all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    /// Reporter addresses ("noreply@x.example") or domains ("x.example", which also
    /// matches subdomains).
    #[serde(default)]
    pub reporter: Vec<String>,
    /// Reporter organisation names, compared case-insensitively.
    #[serde(default)]
    pub organisation: Vec<String>,
    /// Named systems, compared case-insensitively.
    #[serde(default)]
    pub systems: Vec<String>,
    /// Words looked for in subject and body, case-insensitively.
    #[serde(default)]
    pub keywords: Vec<String>,
    pub route: Route,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteDecision {
    /// The rule that matched, or None for the default route.
    pub rule: Option<String>,
    /// One line per condition that held, for the admin.
    pub reasons: Vec<String>,
    pub route: Route,
}

fn domain_matches(address: &str, pattern: &str) -> bool {
    let pattern = pattern.trim().to_lowercase();
    let address = address.to_lowercase();
    if pattern.contains('@') {
        return address == pattern;
    }
    let Some((_, domain)) = address.rsplit_once('@') else {
        return false;
    };
    domain == pattern || domain.ends_with(&format!(".{pattern}"))
}

fn rule_matches(rule: &Rule, n: &Notice) -> Option<Vec<String>> {
    let mut reasons = Vec::new();
    let mut any = false;
    if !rule.reporter.is_empty() {
        any = true;
        let addrs = [n.reporter.address.as_deref(), n.sender.address.as_deref()];
        let hit = rule.reporter.iter().find_map(|p| {
            addrs
                .iter()
                .flatten()
                .find(|a| domain_matches(a, p))
                .map(|a| format!("reporter {a} matches {p}"))
        })?;
        reasons.push(hit);
    }
    if !rule.organisation.is_empty() {
        any = true;
        let org = n.reporter.organisation.as_deref()?.to_lowercase();
        let hit = rule.organisation.iter().find(|o| o.to_lowercase() == org)?;
        reasons.push(format!("organisation is {hit}"));
    }
    if !rule.systems.is_empty() {
        any = true;
        let hit = rule.systems.iter().find_map(|s| {
            n.incident
                .systems
                .iter()
                .find(|x| x.eq_ignore_ascii_case(s))
                .map(|x| format!("names system {x}"))
        })?;
        reasons.push(hit);
    }
    if !rule.keywords.is_empty() {
        any = true;
        let hay = format!(
            "{}\n{}",
            n.threading.subject.as_deref().unwrap_or(""),
            n.body_text
        )
        .to_lowercase();
        let hit = rule
            .keywords
            .iter()
            .find(|k| hay.contains(&k.to_lowercase()))?;
        reasons.push(format!("mentions \"{hit}\""));
    }
    any.then_some(reasons)
}

/// Picks the route for a notice: the first matching rule, else `default`.
pub fn route(rules: &[Rule], default: &Route, notice: &Notice) -> RouteDecision {
    for rule in rules {
        if let Some(reasons) = rule_matches(rule, notice) {
            return RouteDecision {
                rule: Some(rule.name.clone()),
                reasons,
                route: rule.route.clone(),
            };
        }
    }
    RouteDecision {
        rule: None,
        reasons: vec!["no rule matched: default route".to_string()],
        route: default.clone(),
    }
}

/// A route for tests: `committee` with official, deputy and DPO at
/// `<role>@example.test`, no coordinator.
#[cfg(test)]
pub(crate) fn test_route(committee: &str) -> Route {
    let contact = |n: &str| Contact {
        name: n.into(),
        address: format!("{n}@example.test"),
        title: None,
    };
    Route {
        committee: Committee {
            name: committee.into(),
            diarie_prefix: "KS".into(),
            delegation_point: "1".into(),
            delegation_point_art34: None,
        },
        official: contact("official"),
        deputy: contact("deputy"),
        dpo: contact("dpo"),
        coordinator: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::notice::{read, ReadOptions};

    #[test]
    fn a_committee_may_give_a_point_for_art_34_and_an_old_one_reads_and_stores_as_before() {
        let old = r#"{"name":"Vård- och omsorgsnämnden","diarie_prefix":"VOO","delegation_point":"2.2 PU:3"}"#;
        let c: Committee = serde_json::from_str(old).expect("old stored route");
        assert_eq!(c.delegation_point_art34, None);
        // Written back the same: the route stored on a case is sealed.
        assert_eq!(serde_json::to_string(&c).expect("json"), old);
        let new: Committee = toml::from_str(
            "name = \"Vård- och omsorgsnämnden\"\ndiarie_prefix = \"VOO\"\ndelegation_point = \"2.2 PU:3\"\ndelegation_point_art34 = \"2.2 PU:4\"\n",
        )
        .expect("toml");
        assert_eq!(new.delegation_point_art34.as_deref(), Some("2.2 PU:4"));
    }

    fn notice(from: &str, subject: &str, body: &str) -> Notice {
        let raw = format!(
            "From: {from}\r\nTo: breach@example.test\r\nSubject: {subject}\r\nDate: Fri, 18 Jun 2021 20:05:00 +0200\r\nMessage-ID: <a@b>\r\n\r\n{body}\r\n"
        );
        read(raw.as_bytes(), &ReadOptions::default()).expect("test message parses")
    }

    fn rule(name: &str, f: impl FnOnce(&mut Rule)) -> Rule {
        let mut r = Rule {
            name: name.into(),
            reporter: vec![],
            organisation: vec![],
            systems: vec![],
            keywords: vec![],
            route: test_route(name),
        };
        f(&mut r);
        r
    }

    #[test]
    fn first_matching_rule_wins_and_says_why() {
        let rules = vec![
            rule("vard", |r| r.keywords = vec!["trygghetslarm".into()]),
            rule("lab", |r| r.reporter = vec!["provdata.example".into()]),
            rule("also-lab", |r| r.reporter = vec!["provdata.example".into()]),
        ];
        let n = notice(
            "Kundservice <noreply@mail.provdata.example>",
            "Dataintrång",
            "Intrång i ProvWeb",
        );
        let d = route(&rules, &test_route("default"), &n);
        assert_eq!(d.rule.as_deref(), Some("lab"));
        assert_eq!(d.route.committee.name, "lab");
        assert!(d.reasons[0].contains("provdata.example"));
    }

    #[test]
    fn all_conditions_of_a_rule_must_hold() {
        let rules = vec![rule("both", |r| {
            r.reporter = vec!["provdata.example".into()];
            r.keywords = vec!["trygghetslarm".into()];
        })];
        let n = notice("noreply@provdata.example", "Intrång", "ProvWeb");
        assert_eq!(route(&rules, &test_route("default"), &n).rule, None);
    }

    #[test]
    fn empty_rule_never_matches_and_default_is_used() {
        let rules = vec![rule("empty", |_| {})];
        let n = notice("a@b.example", "x", "y");
        let d = route(&rules, &test_route("default"), &n);
        assert_eq!(d.rule, None);
        assert_eq!(d.route.committee.name, "default");
    }

    #[test]
    fn domain_pattern_does_not_match_lookalike_domains() {
        assert!(domain_matches("x@provdata.example", "provdata.example"));
        assert!(domain_matches("x@eu.provdata.example", "provdata.example"));
        assert!(!domain_matches(
            "x@evilprovdata.example",
            "provdata.example"
        ));
        assert!(domain_matches("X@Provdata.example", "x@provdata.example"));
    }
}
