//! The command line as an admin meets it, without servers.

use std::process::Command;

use crate::harness::{bin, repo};

#[test]
fn check_config_lists_every_problem_with_its_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = std::fs::read_to_string(repo().join("config/local.toml"))
        .unwrap()
        .replace(
            "timezone = \"Europe/Stockholm\"",
            "timezone = \"Europe/Atlantis\"",
        )
        .replace(
            "address = \"deputy@example.test\"",
            "address = \"deputy@elsewhere.example\"",
        )
        .replace("port = 2525", "port = 2525\nmax_attempts = 0");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, bad).unwrap();
    let out = Command::new(bin())
        .args(["check-config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    for key in [
        "general.timezone",
        "routing.default.deputy.address",
        "smtp.max_attempts",
    ] {
        assert!(text.contains(key), "missing {key} in:\n{text}");
    }
    // `run` refuses the same file the same way, before touching anything.
    let out = Command::new(bin())
        .args(["run", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("general.timezone"));
}

#[test]
fn config_comes_from_the_environment_when_no_flag_is_given() {
    let out = Command::new(bin())
        .args(["check-config"])
        .env("BREACHWATCH_CONFIG", repo().join("config/example.toml"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("example.toml: ok"));
}

#[test]
fn rules_test_names_the_rule_and_the_route() {
    let dir = tempfile::tempdir().unwrap();
    let eml = dir.path().join("n.eml");
    std::fs::write(
        &eml,
        "From: drift@larmnord.example\r\nTo: breach@example.test\r\nSubject: Cyberattack\r\n\
Date: Fri, 18 Jun 2021 20:05:00 +0200\r\n\r\nTrygghetslarm i hemtjänsten påverkas.\r\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["rules", "test"])
        .arg(&eml)
        .arg("--config")
        .arg(repo().join("config/local.toml"))
        .env("BREACHWATCH_IMAP_CA_FILE", repo().join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rule: vard-och-omsorg"), "{text}");
    assert!(text.contains("Vård- och omsorgsnämnden"), "{text}");
    assert!(text.contains("trygghetslarm"), "{text}");
}
