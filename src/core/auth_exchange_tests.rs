//! `auth.mode = "exchange-online"`: replies read through the one reader, with
//! trace headers in the shapes Exchange Online writes (mailbox servers under
//! `*.prod.outlook.com`, MAPI submission from Outlook, `Microsoft SMTP Server`
//! hops, the organisation headers Exchange stamps).

use super::auth::*;
use super::routing::{Committee, Contact, Route};

fn route() -> Route {
    let c = |a: &str| Contact {
        name: "X".into(),
        address: a.into(),
        title: None,
    };
    Route {
        committee: Committee {
            name: "Kommunstyrelsen".into(),
            diarie_prefix: "KS".into(),
            delegation_point: "1.4.2".into(),
            delegation_point_art34: None,
        },
        official: c("anna.andersson@kommun.example"),
        deputy: c("bo@kommun.example"),
        dpo: c("dso@kommun.example"),
        coordinator: None,
    }
}

fn cfg() -> AuthConfig {
    AuthConfig {
        mode: AuthMode::ExchangeOnline,
        ..AuthConfig::default()
    }
}

/// Outlook (MAPI) → the sender's mailbox server → the shared mailbox's server.
const INTERNAL_HOPS: &str = "\
Received: from DB9PR02MB7211.eurprd02.prod.outlook.com (2603:10a6:10:2b5::12)\r
 by AM0PR02MB5603.eurprd02.prod.outlook.com with HTTPS; Mon, 30 Nov 2026\r
 09:14:03 +0000\r
Received: from DB9PR02MB7211.eurprd02.prod.outlook.com\r
 ([fe80::6c5d:5f1a:9b3e:21c4]) by DB9PR02MB7211.eurprd02.prod.outlook.com\r
 ([fe80::6c5d:5f1a:9b3e:21c4%5]) with mapi id 15.20.8207.017; Mon, 30 Nov 2026\r
 09:14:02 +0000\r
";

const INTERNAL_ORG: &str = "\
X-MS-Exchange-Organization-AuthAs: Internal\r
X-MS-Exchange-Organization-AuthMechanism: 04\r
X-MS-Exchange-Organization-AuthSource: DB9PR02MB7211.eurprd02.prod.outlook.com\r
X-MS-Exchange-Organization-Network-Message-Id: 5b1c2e0f-8d7a-4c55-9f0e-08dd1234abcd\r
";

fn reply(from: &str, trace: &str, org: &str) -> Vec<u8> {
    format!(
        "{trace}{org}From: Anna Andersson <{from}>\r\nTo: Dataskydd <dataskydd@kommun.example>\r\n\
Subject: SV: [PUI-2026-0001] Ny personuppgiftsincident\r\nMessage-ID: <DB9PR02MB72110@eurprd02.prod.outlook.com>\r\n\
Date: Mon, 30 Nov 2026 09:14:01 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nkvittera\r\n"
    )
    .into_bytes()
}

fn verdict(raw: &[u8]) -> Verdict {
    let n = crate::core::notice::read(raw, &Default::default()).expect("a message");
    authorize(&cfg(), &route(), &n.origin)
}

#[test]
fn an_internal_sender_stamped_by_exchange_may_command() {
    let v = verdict(&reply(
        "Anna.Andersson@kommun.example",
        INTERNAL_HOPS,
        INTERNAL_ORG,
    ));
    assert_eq!(
        v,
        Verdict::Allowed {
            role: Role::Official,
            via: Via::ExchangeInternal {
                auth_source: "db9pr02mb7211.eurprd02.prod.outlook.com".into(),
                auth_mechanism: "04".into(),
            },
        }
    );
}

#[test]
fn the_roster_check_stays() {
    let v = verdict(&reply(
        "someone.else@kommun.example",
        INTERNAL_HOPS,
        INTERNAL_ORG,
    ));
    assert!(
        matches!(v, Verdict::Refused(Reason::NotOnRoster { .. })),
        "{v:?}"
    );
}

#[test]
fn forged_organisation_headers_through_another_relay_are_refused() {
    // An outsider writes the organisation headers himself and sends through
    // a relay that Exchange accepts on a connector; Exchange's own hops sit on top.
    let trace = "\
Received: from AM6PR02CA0012.eurprd02.prod.outlook.com (2603:10a6:20b:6e::25)\r
 by AM0PR02MB5603.eurprd02.prod.outlook.com (2603:10a6:208:15e::20) with\r
 Microsoft SMTP Server (version=TLS1_2,\r
 cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.8207.17; Mon, 30 Nov\r
 2026 09:14:05 +0000\r
Received: from gw.kommun-relay.example (192.0.2.25) by\r
 AM6PR02CA0012.mail.protection.outlook.com (10.167.16.186) with Microsoft SMTP\r
 Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\r
 15.20.8207.17 via Frontend Transport; Mon, 30 Nov 2026 09:14:04 +0000\r
Received: from attacker.example (attacker.example [198.51.100.7])\r
 by gw.kommun-relay.example (Postfix) with ESMTP id 4F1A2;\r
 Mon, 30 Nov 2026 09:14:03 +0000\r
";
    let v = verdict(&reply("anna.andersson@kommun.example", trace, INTERNAL_ORG));
    match v {
        Verdict::Refused(Reason::ForeignHop { hop }) => {
            assert!(hop.contains("gw.kommun-relay.example"), "{hop}")
        }
        other => panic!("refused for the foreign hop, got {other:?}"),
    }
}

#[test]
fn an_external_message_exchange_stamped_anonymous_is_refused() {
    // Straight to Exchange Online Protection: the header firewall dropped the
    // sender's forged AuthAs; Exchange wrote its own (Anonymous). The sender
    // also claimed an Exchange HELO name, which the hop check reads: the AuthAs
    // stamp is what refuses it.
    let trace = "\
Received: from AM6PR02CA0012.eurprd02.prod.outlook.com (2603:10a6:20b:6e::25)\r
 by AM0PR02MB5603.eurprd02.prod.outlook.com with Microsoft SMTP Server id\r
 15.20.8207.17; Mon, 30 Nov 2026 09:14:05 +0000\r
Received: from AM0PR02MB9999.eurprd02.prod.outlook.com (198.51.100.7) by\r
 AM6PR02CA0012.mail.protection.outlook.com (10.167.16.186) with Microsoft SMTP\r
 Server id 15.20.8207.17 via Frontend Transport; Mon, 30 Nov 2026 09:14:04 +0000\r
";
    let org = "\
X-MS-Exchange-Organization-AuthAs: Anonymous\r
X-MS-Exchange-Organization-AuthSource: AM6PR02CA0012.eurprd02.prod.outlook.com\r
";
    let v = verdict(&reply("anna.andersson@kommun.example", trace, org));
    assert!(
        matches!(v, Verdict::Refused(Reason::NotExchangeInternal { .. })),
        "{v:?}"
    );
}

#[test]
fn a_second_authas_or_a_missing_part_is_refused() {
    let twice = format!("X-MS-Exchange-Organization-AuthAs: Internal\r\n{INTERNAL_ORG}");
    let no_source = "X-MS-Exchange-Organization-AuthAs: Internal\r\nX-MS-Exchange-Organization-AuthMechanism: 04\r\n";
    let foreign_source = "X-MS-Exchange-Organization-AuthAs: Internal\r\nX-MS-Exchange-Organization-AuthMechanism: 04\r\nX-MS-Exchange-Organization-AuthSource: mail.attacker.example\r\n";
    for org in [twice.as_str(), no_source, foreign_source, ""] {
        let v = verdict(&reply("anna.andersson@kommun.example", INTERNAL_HOPS, org));
        assert!(
            matches!(v, Verdict::Refused(Reason::NotExchangeInternal { .. })),
            "{org:?}: {v:?}"
        );
    }
    // No Received line at all: not delivered by Exchange.
    let v = verdict(&reply("anna.andersson@kommun.example", "", INTERNAL_ORG));
    assert!(
        matches!(v, Verdict::Refused(Reason::ForeignHop { .. })),
        "{v:?}"
    );
}

#[test]
fn host_names_match_whole_labels_only() {
    let hop = |from: &str, by: &str| {
        format!("Received: from {from} (192.0.2.1) by {by} with Microsoft SMTP Server; Mon, 30 Nov 2026 09:14:04 +0000\r\n")
    };
    for (from, by) in [
        (
            "evilprod.outlook.com",
            "AM0PR02MB5603.eurprd02.prod.outlook.com",
        ),
        (
            "AM0PR02MB5603.eurprd02.prod.outlook.com.attacker.example",
            "AM0PR02MB5603.eurprd02.prod.outlook.com",
        ),
        (
            "AM0PR02MB5603.eurprd02.prod.outlook.com",
            "prod.outlook.com",
        ),
    ] {
        let v = verdict(&reply(
            "anna.andersson@kommun.example",
            &hop(from, by),
            INTERNAL_ORG,
        ));
        assert!(
            matches!(v, Verdict::Refused(Reason::ForeignHop { .. })),
            "{from} {by}: {v:?}"
        );
    }
}

#[test]
fn the_rfc8601_mode_ignores_organisation_headers() {
    let n = crate::core::notice::read(
        &reply("anna.andersson@kommun.example", INTERNAL_HOPS, INTERNAL_ORG),
        &Default::default(),
    )
    .unwrap();
    let v = authorize(&AuthConfig::default(), &route(), &n.origin);
    assert_eq!(v, Verdict::Refused(Reason::NoTrustedResults));
}
