use super::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn window() -> Duration {
    Duration::days(DEFAULT_WINDOW_DAYS)
}

fn cand(id: i64, systems: &[&str], discovered: Option<&str>) -> Candidate {
    Candidate {
        case_id: id,
        case_ref: format!("PUI-2026-{id:04}"),
        aware_at: t("2026-11-02T10:00:00Z"),
        opened_at: t("2026-11-02T10:05:00Z"),
        systems: systems.iter().map(|s| s.to_string()).collect(),
        discovered_at: discovered.map(t),
        occurred_from: None,
        occurred_to: None,
        data_categories: vec![],
        cause: None,
    }
}

fn msg(kind: Kind, systems: &[&str], discovered: Option<&str>) -> Incoming {
    Incoming {
        kind,
        times: vec![t("2026-11-03T08:00:00Z")],
        systems: systems.iter().map(|s| s.to_string()).collect(),
        discovered_at: discovered.map(t),
        occurred_from: None,
        occurred_to: None,
        data_categories: vec![],
        cause: None,
    }
}

fn joined(v: &Verdict) -> Option<&str> {
    match v {
        Verdict::Join(c) => Some(c.case_ref.as_str()),
        _ => None,
    }
}

fn hinted(v: &Verdict) -> Option<&str> {
    match v {
        Verdict::Hint(c) => Some(c.case_ref.as_str()),
        _ => None,
    }
}

#[test]
fn supplier_domains_fold_subdomains_and_skip_free_mail() {
    assert_eq!(
        supplier_domain("noreply@status.provdata.example").as_deref(),
        Some("provdata.example")
    );
    assert_eq!(
        supplier_domain("Maria@PROVDATA.example").as_deref(),
        Some("provdata.example")
    );
    assert_eq!(
        supplier_domain("x@mail.acme.co.uk").as_deref(),
        Some("acme.co.uk")
    );
    assert_eq!(supplier_domain("someone@gmail.com"), None);
    assert_eq!(supplier_domain("no-domain"), None);
    assert_eq!(supplier_domain("x@a..b"), None);
}

#[test]
fn organisation_keys_ignore_legal_form_and_region() {
    assert_eq!(org_key("Provdata Sverige AB").as_deref(), Some("provdata"));
    assert_eq!(org_key("PROVDATA AB").as_deref(), Some("provdata"));
    assert_eq!(
        org_key("Brightline Survey, Inc.").as_deref(),
        Some("brightlinesurvey")
    );
    assert_eq!(org_key("AB"), None);
}

#[test]
fn text_hash_survives_rewrapping_and_ignores_short_text() {
    let a = "Provdata Sverige AB har drabbats av ett dataintrång i driftmiljön där tjänsten ProvWeb körs. Intrånget upptäcktes den 17 juni.";
    let b = "provdata sverige AB har drabbats av ett\n dataintrång i driftmiljön där\n\ntjänsten ProvWeb körs -- intrånget upptäcktes den 17 juni";
    assert!(text_hash(a).is_some());
    assert_eq!(text_hash(a), text_hash(b));
    assert_ne!(text_hash(a), text_hash(&a.replace("ProvWeb", "eRemiss")));
    assert_eq!(text_hash("Se bifogad fil."), None);
}

#[test]
fn a_follow_up_joins_the_case_of_the_same_system() {
    let cands = [
        cand(1, &["ProvWeb", "eRemiss"], None),
        cand(2, &["Kassa"], None),
    ];
    let v = decide(&msg(Kind::FollowUp, &["provweb"], None), &cands, window());
    assert_eq!(joined(&v), Some("PUI-2026-0001"));
    // Another system of the same supplier: not this incident.
    let v = decide(
        &msg(Kind::FollowUp, &["Lönewebben"], None),
        &cands,
        window(),
    );
    assert_eq!(v, Verdict::None);
}

#[test]
fn with_several_candidates_the_best_overlap_wins_and_says_why() {
    let mut a = cand(1, &["ProvWeb"], None);
    a.data_categories = vec!["health".into()];
    let b = cand(2, &["ProvWeb", "eRemiss"], Some("2026-11-01T13:00:00Z"));
    let m = msg(
        Kind::FollowUp,
        &["ProvWeb", "eRemiss"],
        Some("2026-11-01T13:00:00Z"),
    );
    let Verdict::Join(c) = decide(&m, &[a, b], window()) else {
        panic!("expected a join")
    };
    assert_eq!(c.case_ref, "PUI-2026-0002");
    assert!(
        c.why.contains("samma system (ProvWeb, eRemiss)"),
        "{}",
        c.why
    );
    assert!(c.why.contains("samma upptäcktstid"), "{}", c.why);
    assert!(c.why.contains("vald framför PUI-2026-0001"), "{}", c.why);
    assert_eq!(c.others.len(), 1);
}

#[test]
fn a_follow_up_naming_no_system_joins_the_suppliers_only_open_case() {
    let m = msg(Kind::FollowUp, &[], None);
    assert_eq!(
        joined(&decide(&m, &[cand(1, &["ProvWeb"], None)], window())),
        Some("PUI-2026-0001")
    );
    // Two open cases and nothing to tell them apart: not placed.
    let two = [cand(1, &["ProvWeb"], None), cand(2, &["Kassa"], None)];
    assert_eq!(decide(&m, &two, window()), Verdict::None);
    // Shared facts tell them apart.
    let mut m2 = m.clone();
    m2.discovered_at = Some(t("2026-11-01T13:00:00Z"));
    let two = [
        cand(1, &["ProvWeb"], None),
        cand(2, &["Kassa"], Some("2026-11-01T13:20:00Z")),
    ];
    assert_eq!(joined(&decide(&m2, &two, window())), Some("PUI-2026-0002"));
}

#[test]
fn outside_the_window_nothing_joins() {
    let mut m = msg(Kind::FollowUp, &["ProvWeb"], None);
    m.times = vec![t("2026-11-17T10:06:00Z")];
    assert_eq!(
        decide(&m, &[cand(1, &["ProvWeb"], None)], window()),
        Verdict::None
    );
    // Old mail ingested late: its own time lies in the case's window.
    m.times = vec![t("2021-06-21T10:00:00Z")];
    let mut c = cand(1, &["ProvWeb"], None);
    c.aware_at = t("2021-06-18T18:05:00Z");
    assert_eq!(joined(&decide(&m, &[c], window())), Some("PUI-2026-0001"));
}

#[test]
fn a_follow_up_with_another_discovery_time_opens_its_own_case_that_names_the_case() {
    // A notice that calls itself an update ("Uppdatering: nytt fel i
    // ProvWeb") about the supplier's only open case's system, found a week
    // later: it may be a new incident, so it must not vanish into the case.
    let cands = [cand(1, &["ProvWeb"], Some("2026-11-01T13:00:00Z"))];
    let later = msg(Kind::FollowUp, &["ProvWeb"], Some("2026-11-08T09:00:00Z"));
    let v = decide(&later, &cands, window());
    assert_eq!(joined(&v), None, "{v:?}");
    assert_eq!(hinted(&v), Some("PUI-2026-0001"));
    let Verdict::Hint(c) = v else { unreachable!() };
    assert_eq!(
        c.why,
        "samma leverantör, samma system (ProvWeb), men en annan upptäcktstid"
    );
    // Naming no system, the supplier's only case: the same.
    let v = decide(
        &msg(Kind::FollowUp, &[], Some("2026-11-08T09:00:00Z")),
        &cands,
        window(),
    );
    let Verdict::Hint(c) = v else { panic!("{v:?}") };
    assert_eq!(
        c.why,
        "samma leverantör, leverantörens enda öppna ärende, men en annan upptäcktstid"
    );
    // The same discovery (within the hour) or none given: it joins.
    for found in [Some("2026-11-01T13:40:00Z"), None] {
        let v = decide(&msg(Kind::FollowUp, &["ProvWeb"], found), &cands, window());
        assert_eq!(joined(&v), Some("PUI-2026-0001"), "{found:?}");
    }
    // Two cases of the system: it joins the one of its discovery, not the
    // other one with a higher score otherwise.
    let mut old = cand(1, &["ProvWeb", "eRemiss"], Some("2026-11-01T13:00:00Z"));
    old.data_categories = vec!["health".into()];
    let new = cand(2, &["ProvWeb"], Some("2026-11-08T09:10:00Z"));
    let mut m = msg(
        Kind::FollowUp,
        &["ProvWeb", "eRemiss"],
        Some("2026-11-08T09:00:00Z"),
    );
    m.data_categories = vec!["health".into()];
    assert_eq!(
        joined(&decide(&m, &[old, new], window())),
        Some("PUI-2026-0002")
    );
}

/// The reasons are Swedish prose for the official: the data categories in
/// the words the decisions use, not the contract's codes.
#[test]
fn the_reasons_name_the_data_in_swedish() {
    let mut c = cand(1, &["ProvWeb"], None);
    c.data_categories = vec!["health".into(), "personal_identity_number".into()];
    let mut m = msg(Kind::FollowUp, &["ProvWeb"], None);
    m.data_categories = c.data_categories.clone();
    let Verdict::Join(j) = decide(&m, &[c], window()) else {
        panic!("joins")
    };
    assert!(
        j.why
            .contains("samma slags uppgifter (hälso- och sjukvårdsuppgifter, personnummer)"),
        "{}",
        j.why
    );
}

#[test]
fn a_breach_notice_never_joins_by_resemblance() {
    let cands = [cand(1, &["ProvWeb"], Some("2026-11-01T13:00:00Z"))];
    // Same system, same discovery: a new case that may belong to the old one.
    let v = decide(
        &msg(
            Kind::BreachNotice,
            &["ProvWeb"],
            Some("2026-11-01T13:10:00Z"),
        ),
        &cands,
        window(),
    );
    assert_eq!(hinted(&v), Some("PUI-2026-0001"));
    // A new discovery time: a new incident, no doubt.
    let v = decide(
        &msg(
            Kind::BreachNotice,
            &["ProvWeb"],
            Some("2026-11-02T09:00:00Z"),
        ),
        &cands,
        window(),
    );
    assert_eq!(v, Verdict::None);
    // Another system: a new incident.
    let v = decide(&msg(Kind::BreachNotice, &["Kassa"], None), &cands, window());
    assert_eq!(v, Verdict::None);
}

#[test]
fn other_mail_never_joins_by_resemblance() {
    for k in [Kind::AutoReply, Kind::Other] {
        assert_eq!(
            decide(
                &msg(k, &["ProvWeb"], None),
                &[cand(1, &["ProvWeb"], None)],
                window()
            ),
            Verdict::None
        );
    }
}

#[test]
fn candidates_read_their_facts_from_the_stored_json() {
    let facts = serde_json::json!({"incident": {
        "discovered_at": "2021-06-17T14:07:00+02:00",
        "occurred_to": "2021-06-18T16:07:00+02:00",
        "data_categories": ["health"], "cause": "attack"}});
    let c = cand(1, &[], None).with_facts(&facts);
    assert_eq!(c.discovered_at, Some(t("2021-06-17T12:07:00Z")));
    assert_eq!(c.occurred_from, None);
    assert_eq!(c.data_categories, ["health"]);
    assert_eq!(c.cause.as_deref(), Some("attack"));
    // Broken JSON is unknown facts, not an error.
    let c = cand(1, &[], None).with_facts(&serde_json::json!("garbage"));
    assert_eq!(c.discovered_at, None);
}

/// The reader hashes an incident message's text once; the identity is that
/// hash, the same as hashing the text afresh, and other mail has none.
#[test]
fn the_identity_carries_the_text_hash_the_reader_made_once() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/notices");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    paths.sort();
    let (mut incident, mut other, mut with_documents) = (0, 0, 0);
    for p in &paths {
        let raw = std::fs::read(p).unwrap();
        let mut n = crate::core::notice::read(&raw, &Default::default()).unwrap();
        let id = identity(&n);
        if n.kind.is_incident() {
            incident += 1;
            assert!(id.text_hash.is_some(), "{}", p.display());
            let documents = crate::core::notice::documents_digest(&raw);
            assert_eq!(
                id.text_hash,
                text_and_documents_hash(&n.body_text, documents.as_ref()),
                "{}",
                p.display()
            );
            if documents.is_some() {
                with_documents += 1;
                assert_ne!(id.text_hash, text_hash(&n.body_text), "{}", p.display());
            }
        } else {
            other += 1;
            assert_eq!(n.notice_text_hash, None, "{}", p.display());
            assert_eq!(id, Identity::default(), "{}", p.display());
        }
        // The kind decides, at the time of asking: a message no longer an
        // incident message has no identity.
        n.kind = Kind::Other;
        assert_eq!(identity(&n), Identity::default());
    }
    assert!(
        incident >= 10 && other >= 1 && with_documents >= 1,
        "{incident} incident ({with_documents} with documents), {other} other"
    );
}
