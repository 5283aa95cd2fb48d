//! Several mailboxes in one daemon: `[imap]` and a `[[mailboxes]]` entry (a
//! committee's mailbox with its own default route) feed one store; a notice
//! sent to both (Cc) makes one case; `cases list` says which mailbox a case
//! came from.

use std::process::Command;

use chrono::Utc;

use crate::harness::*;

fn add_user(s: &Setup, local: &str) {
    let out = Command::new(repo().join("deploy/local/add-user.sh"))
        .arg(local)
        .env("STATE_DIR", s.stack.get("MAILSTACK_STATE_DIR"))
        .output()
        .expect("add-user.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn processed(s: &Setup, role: &str) -> usize {
    s.mails(role, "Processed").len()
}

#[test]
fn two_mailboxes_feed_one_store_and_a_cc_makes_one_case() {
    let s = setup(Knobs::default());
    for role in ["committee", "clerk"] {
        add_user(&s, &s.users.local(role));
    }
    let extra = format!(
        r#"
[[mailboxes]]
name = "namnd"
[mailboxes.imap]
host = "127.0.0.1"
port = {imaps}
tls = "implicit"
server_name = "localhost"
ca_file = "{ca}"
username = "{committee}"
password = "{pw}"
poll_interval_secs = 1
command_timeout_secs = 10
[mailboxes.default_route]
committee = {{ name = "Barn- och utbildningsnämnden", diarie_prefix = "BUN", delegation_point = "2.1" }}
official = {{ name = "Clara Clerk", address = "{clerk}" }}
deputy = {{ name = "Dennis Deputy", address = "{deputy}" }}
dpo = {{ name = "Dora DPO", address = "{dpo}" }}
"#,
        imaps = s.stack.get("MAILSTACK_IMAPS_PORT"),
        ca = s.stack.get("MAILSTACK_TLS_CA"),
        pw = s.stack.get("MAILSTACK_PASSWORD"),
        committee = s.users.addr("committee"),
        clerk = s.users.addr("clerk"),
        deputy = s.users.addr("deputy"),
        dpo = s.users.addr("dpo"),
    );
    let mut text = std::fs::read_to_string(&s.config).unwrap();
    text.push_str(&extra);
    std::fs::write(&s.config, text).unwrap();
    let d = s.start();

    // One notice, delivered to both watched mailboxes (To and Cc).
    let now = Utc::now();
    let raw = outlook_forward(
        &s,
        now - chrono::Duration::hours(2),
        "Dataintrång hos Provdata",
        now,
    );
    let port = s.stack.smtp_port();
    smtp_send(port, &s.users.addr("staff"), &s.users.addr("breach"), &raw);
    smtp_send(
        port,
        &s.users.addr("staff"),
        &s.users.addr("committee"),
        &raw,
    );
    wait_for(30, "both mailboxes processed the copy", || {
        (processed(&s, "breach") == 1 && processed(&s, "committee") == 1).then_some(())
    });
    assert_eq!(s.cases().len(), 1, "one case for the copy in two mailboxes");

    // A notice only the committee's mailbox received: its default route.
    let other = outlook_forward_from(
        &s,
        now - chrono::Duration::hours(1),
        "Incident hos Skolplattformen",
        now,
        "skolplattform.example",
        "Elevregistret",
    );
    smtp_send(
        port,
        &s.users.addr("staff"),
        &s.users.addr("committee"),
        &other,
    );
    let cases = wait_for(30, "a second case", || {
        let c = s.cases();
        (c.len() == 2).then_some(c)
    });
    let second = &cases[1];
    assert_eq!(second["official"], s.users.addr("clerk"), "{second}");
    assert_eq!(second["committee"], "Barn- och utbildningsnämnden");
    let mailbox = second["mailbox"].as_str().unwrap_or_default();
    assert!(
        mailbox.starts_with("imap://") && mailbox.contains(&s.users.addr("committee")),
        "{mailbox}"
    );
    assert!(s.cli(&["cases", "list"]).contains(mailbox));
    wait_for(30, "the clerk's opening notice", || {
        s.mails("clerk", "")
            .into_iter()
            .find(|m| m.subject.contains("Ny personuppgiftsincident"))
    });
    d.terminate();
}
