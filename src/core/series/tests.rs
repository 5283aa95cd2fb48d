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
        tz: chrono_tz::Europe::Stockholm,
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

/// A final report or a letter that gives the notice's discovery date
/// without its time ("upptäcktes den 20 november") names the same
/// discovery: before, midnight against 14:30 read as another discovery and
/// the supplier's final report opened a case of its own.
#[test]
fn a_discovery_date_without_a_time_is_the_same_discovery_on_that_date() {
    let stockholm = chrono_tz::Europe::Stockholm;
    // 20 November 14:30 local; the date alone is local midnight (23:00Z).
    let case = Some(t("2026-11-20T13:30:00Z"));
    assert_eq!(
        close(Some(t("2026-11-19T23:00:00Z")), case, stockholm),
        Some(true)
    );
    assert_eq!(
        close(case, Some(t("2026-11-19T23:00:00Z")), stockholm),
        Some(true)
    );
    // The day before, at midnight, and another time on the same date: other.
    assert_eq!(
        close(Some(t("2026-11-18T23:00:00Z")), case, stockholm),
        Some(false)
    );
    assert_eq!(
        close(Some(t("2026-11-20T07:00:00Z")), case, stockholm),
        Some(false)
    );
    // In summer time local midnight is 22:00Z.
    let summer = Some(t("2026-07-03T18:05:00Z"));
    assert_eq!(
        close(Some(t("2026-07-02T22:00:00Z")), summer, stockholm),
        Some(true)
    );
    assert_eq!(
        close(Some(t("2026-07-02T23:00:00Z")), summer, stockholm),
        Some(false)
    );
    assert_eq!(close(None, summer, stockholm), None);
    // Through `decide`: the final report of the same system joins.
    let mut c = cand(1, &["LabPortalen"], None);
    c.discovered_at = case;
    c.aware_at = t("2026-11-20T15:05:00Z");
    c.opened_at = c.aware_at;
    let mut m = msg(
        Kind::FollowUp,
        &["LabPortalen"],
        Some("2026-11-19T23:00:00Z"),
    );
    m.times = vec![t("2026-11-27T09:00:00Z")];
    assert_eq!(joined(&decide(&m, &[c], window())), Some("PUI-2026-0001"));
}

fn named(discovered: Option<&str>, domain: &str) -> Named {
    Named {
        case: cand(1, &["LabPortalen"], discovered),
        supplier: SupplierKey {
            domain: Some(domain.into()),
            org: None,
        },
    }
}

fn key(domain: &str) -> SupplierKey {
    SupplierKey {
        domain: Some(domain.into()),
        org: None,
    }
}

/// A reply in a case's thread (or naming its number) that is another
/// incident opens its own case: before, every such message joined the case
/// it named (a supplier's new breach in the old thread, a colleague's
/// forward of another supplier's notice "like PUI-2026-0001").
#[test]
fn a_message_naming_a_case_is_another_incident_only_when_it_shows_it() {
    let lab = "labportal.example";
    let case = named(Some("2026-11-20T13:30:00Z"), lab);
    let new_disc = Some("2026-12-05T08:10:00Z");
    // It says it is a new incident, with its own discovery or none.
    for d in [new_disc, None] {
        let m = msg(Kind::FollowUp, &["LabPortalen"], d);
        let c = another_incident(&m, true, &key(lab), &case, true).expect("its own case");
        assert_eq!(c.case_ref, "PUI-2026-0001");
        assert!(
            c.why
                .starts_with("svar i ärendets tråd, men säger att det gäller en ny incident"),
            "{}",
            c.why
        );
    }
    // Says so but gives the case's discovery (a copy, a quote): the case's.
    let m = msg(Kind::FollowUp, &[], Some("2026-11-20T13:50:00Z"));
    assert_eq!(another_incident(&m, true, &key(lab), &case, true), None);
    // Another supplier's notice with a discovery of its own, named by number.
    let m = msg(
        Kind::FollowUp,
        &["TryggCentral"],
        Some("2026-12-04T17:40:00Z"),
    );
    let c = another_incident(&m, false, &key("tryggvakt.example"), &case, false).expect("its own");
    assert_eq!(
        c.why,
        "nämner ärendenumret, men från en annan leverantör och med en annan upptäcktstid"
    );
    // Another sender with no discovery time, or the case's date: news of
    // the case (an authority's letter about it, forwarded).
    let m = msg(Kind::FollowUp, &[], None);
    assert_eq!(
        another_incident(&m, false, &key("imy.se"), &case, false),
        None
    );
    let m = msg(Kind::FollowUp, &[], Some("2026-11-19T23:00:00Z"));
    assert_eq!(
        another_incident(&m, false, &key("imy.se"), &case, false),
        None
    );
    // The same supplier with another discovery and no word of a new
    // incident: a follow-up (what further investigation found).
    let m = msg(Kind::FollowUp, &["LabPortalen"], new_disc);
    assert_eq!(another_incident(&m, false, &key(lab), &case, true), None);
    // A colleague (no supplier key) or a case without one: no comparison.
    assert_eq!(
        another_incident(&m, false, &SupplierKey::default(), &case, true),
        None
    );
    // Read as a breach notice (a colleague's forward answering one of our
    // mails): another discovery is another notice, the same is the case's.
    let m = msg(Kind::BreachNotice, &["LabPortalen"], new_disc);
    assert!(another_incident(&m, false, &SupplierKey::default(), &case, true).is_some());
    let m = msg(
        Kind::BreachNotice,
        &["LabPortalen"],
        Some("2026-11-20T13:30:00Z"),
    );
    assert_eq!(
        another_incident(&m, false, &SupplierKey::default(), &case, true),
        None
    );
    let m = msg(Kind::BreachNotice, &["LabPortalen"], None);
    assert_eq!(
        another_incident(&m, false, &SupplierKey::default(), &case, true),
        None
    );
    // Mail that is no incident message always stays with the case.
    for kind in [Kind::Other, Kind::AutoReply] {
        let m = msg(kind, &[], new_disc);
        assert_eq!(
            another_incident(&m, true, &key("x.example"), &case, true),
            None
        );
    }
    // The same supplier by organisation under another domain.
    let mut by_org = named(Some("2026-11-20T13:30:00Z"), lab);
    by_org.supplier.org = Some("labportal".into());
    let sender = SupplierKey {
        domain: Some("labportal-group.example".into()),
        org: Some("labportal".into()),
    };
    let m = msg(Kind::FollowUp, &[], new_disc);
    assert_eq!(another_incident(&m, false, &sender, &by_org, true), None);
}

/// The same words are a copy of the case's notice only near its time and
/// from its reporter: a template (the intranet's wording of a lost phone,
/// a supplier's outage text) is another notice.
#[test]
fn the_same_text_is_a_copy_only_near_the_case_and_from_its_reporter() {
    let ours = vec!["example.test".to_string()];
    let aware = t("2026-11-02T08:00:00Z");
    let w = window();
    let copy = |times: &[&str], rep: Option<&str>, case_rep: Option<&str>| {
        let times: Vec<DateTime<Utc>> = times.iter().map(|s| t(s)).collect();
        same_text_is_a_copy(&times, (rep, None), aware, (case_rep, None), w, &ours)
    };
    let anna = Some("anna@example.test");
    // Anna again the next day; a forward of her mail a week later.
    assert!(copy(&["2026-11-03T08:00:00Z"], anna, anna));
    assert!(copy(
        &["2026-11-09T08:00:00Z", "2026-11-02T08:00:00Z"],
        Some("ANNA@example.test"),
        anna
    ));
    // Bertil in the same words; Anna's words five weeks later.
    assert!(!copy(
        &["2026-11-03T08:00:00Z"],
        Some("bertil@example.test"),
        anna
    ));
    assert!(!copy(&["2026-12-07T08:00:00Z"], anna, anna));
    // Two suppliers in one template; a supplier's notice against a forward
    // the reader could not unwrap (the forwarder as reporter): a copy.
    let lab = Some("incident@lab.example");
    assert!(!copy(
        &["2026-11-03T08:00:00Z"],
        Some("noc@other.example"),
        lab
    ));
    assert!(copy(
        &["2026-11-03T08:00:00Z"],
        Some("sam@example.test"),
        lab
    ));
    // No supplier key (a bare name, free mail): by address.
    assert!(copy(&["2026-11-03T08:00:00Z"], Some("nsb"), Some("NSB")));
    assert!(copy(
        &["2026-11-03T08:00:00Z"],
        Some("x@gmail.com"),
        Some("x@gmail.com")
    ));
    assert!(!copy(
        &["2026-11-03T08:00:00Z"],
        Some("y@gmail.com"),
        Some("x@gmail.com")
    ));
    // The supplier again from another of its addresses, or from another
    // domain under its name: one supplier, a copy.
    assert!(copy(
        &["2026-11-03T08:00:00Z"],
        Some("noreply@status.lab.example"),
        lab
    ));
    let near = [t("2026-11-03T08:00:00Z")];
    assert!(same_text_is_a_copy(
        &near,
        (Some("noreply@lab-group.example"), Some("Lab AB")),
        aware,
        (lab, Some("LAB Sverige AB")),
        w,
        &ours
    ));
    assert!(copy(&["2026-11-03T08:00:00Z"], None, lab));
}
