//! `[[mailboxes]]`: more watched mailboxes beside `[imap]` (the DPO's, the
//! registrar's, a committee's), each with its own server, credentials,
//! folders and default route, all feeding the one store. `[imap]` stays the
//! first mailbox (named `default`) and keeps its checkpoint key (the folder
//! name), so an existing installation resumes where it was; the others'
//! checkpoints are keyed by account and folder.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use super::{problem, read_secret_file, Config, ConfigProblem, Imap, MailAuth, Secret, Use};
use crate::core::routing::Route;

/// One `[[mailboxes]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mailbox {
    /// A short name for logs, `cases list` and `breachwatch login --mailbox`.
    pub name: String,
    /// The same keys as `[imap]` (`[mailboxes.imap]`).
    pub imap: Imap,
    /// Where cases from this mailbox go when no routing rule matches
    /// (default: `routing.default`). Rules apply to every mailbox.
    #[serde(default)]
    pub default_route: Option<Route>,
}

/// The checkpoint key of a `[[mailboxes]]` entry: account and folder, as
/// `imap://user@host/folder` (what `cases list` shows as the mailbox).
pub fn account_key(imap: &Imap) -> String {
    format!(
        "imap://{}@{}/{}",
        imap.username.trim().to_lowercase(),
        imap.host.trim().to_lowercase(),
        imap.mailbox
    )
}

impl Config {
    /// The configuration each extra mailbox's watcher runs with: this one with
    /// `[imap]` replaced by the mailbox's, its default route, and its own
    /// checkpoint key and config section (so errors name `mailboxes[i].imap`).
    pub fn extra_mailboxes(&self) -> Vec<(String, Config)> {
        self.mailboxes
            .iter()
            .enumerate()
            .map(|(i, mb)| {
                let mut c = self.clone();
                c.mailboxes.clear();
                c.imap = mb.imap.clone();
                c.imap.checkpoint_key = Some(account_key(&mb.imap));
                c.imap.section = Some(format!("mailboxes[{i}].imap"));
                if let Some(r) = &mb.default_route {
                    c.routing.default = r.clone();
                }
                (mb.name.clone(), c)
            })
            .collect()
    }
}

/// Reads each mailbox's password file and OAuth2 client secret (daemon use).
pub(super) fn apply_env(
    cfg: &mut Config,
    env: &impl Fn(&str) -> Option<String>,
    creds: Option<&Path>,
    out: &mut Vec<ConfigProblem>,
) {
    for (i, mb) in cfg.mailboxes.iter_mut().enumerate() {
        let key = format!("mailboxes[{i}].imap");
        if let Some(f) = &mb.imap.password_file {
            if !mb.imap.password.expose().is_empty() {
                out.push(problem(
                    &format!("{key}.password_file"),
                    format!("set either {key}.password or {key}.password_file, not both"),
                ));
            }
            match read_secret_file(f, creds) {
                Ok(v) => mb.imap.password = Secret(v),
                Err(e) => out.push(problem(&format!("{key}.password_file"), e)),
            }
        }
        if mb.imap.auth == MailAuth::Oauth2 {
            if let Some(o) = mb.imap.oauth2.as_mut() {
                o.load_secret(&format!("{key}.oauth2"), env, creds, out);
            }
        }
    }
}

/// Each mailbox checked like `[imap]` (its problems under `mailboxes[i].imap…`),
/// its route like `routing.default`, names and accounts unique.
pub(super) fn problems(cfg: &Config, use_: Use, out: &mut Vec<ConfigProblem>) {
    let mut names: HashSet<String> = HashSet::from(["default".to_string()]);
    let mut accounts: HashSet<String> = HashSet::new();
    // `[imap]` under the key the other mailboxes would give it.
    accounts.insert(account_key(&cfg.imap));
    for (i, mb) in cfg.mailboxes.iter().enumerate() {
        let key = format!("mailboxes[{i}]");
        let name = mb.name.trim();
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            out.push(problem(
                &format!("{key}.name"),
                "must be 1-64 letters, digits, '-', '_' or '.'",
            ));
        } else if !names.insert(name.to_ascii_lowercase()) {
            out.push(problem(
                &format!("{key}.name"),
                format!("{name:?} is used twice (\"default\" is the [imap] mailbox)"),
            ));
        }
        if !accounts.insert(account_key(&mb.imap)) {
            out.push(problem(
                &format!("{key}.imap.mailbox"),
                "the same account and folder is watched twice",
            ));
        }
        let mut c = cfg.clone();
        c.mailboxes.clear();
        c.imap = mb.imap.clone();
        for p in c.problems_for(use_) {
            if let Some(rest) = p.key.strip_prefix("imap") {
                out.push(problem(&format!("{key}.imap{rest}"), p.message));
            }
        }
        if let Some(r) = &mb.default_route {
            cfg.route_problems(&format!("{key}.default_route"), r, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    fn local() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/local.toml"))
            .expect("config/local.toml is shipped")
    }

    fn env(k: &str) -> Option<String> {
        (k == "BREACHWATCH_IMAP_CA_FILE").then(|| "Cargo.toml".to_string())
    }

    const MB: &str = "\n[[mailboxes]]\nname = \"namnd\"\n[mailboxes.imap]\nhost = \"imap.kommun.example\"\nport = 993\nusername = \"namnd@kommun.example\"\npassword = \"x\"\n";

    #[test]
    fn an_extra_mailbox_gets_its_own_checkpoint_key_and_section() {
        let cfg = Config::from_toml(&format!("{}{MB}", local()), env).expect("valid");
        let extra = cfg.extra_mailboxes();
        assert_eq!(extra.len(), 1);
        let (name, c) = &extra[0];
        assert_eq!(name, "namnd");
        assert_eq!(
            c.imap.checkpoint_key(),
            "imap://namnd@kommun.example@imap.kommun.example/INBOX"
        );
        assert_eq!(c.imap.section(), "mailboxes[0].imap");
        // [imap] keeps its old key, so an installation resumes where it was.
        assert_eq!(cfg.imap.checkpoint_key(), "INBOX");
    }

    #[test]
    fn problems_name_the_mailbox_and_its_key() {
        let bad = format!(
            "{}{MB}\n[[mailboxes]]\nname = \"namnd\"\n[mailboxes.imap]\nhost = \"\"\nport = 993\nusername = \"namnd@kommun.example\"\n{}",
            local(),
            MB.replace("\"namnd\"", "\"copy\"")
        );
        let keys: Vec<String> = match Config::from_toml(&bad, env) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.0.into_iter().map(|p| p.key).collect(),
        };
        for k in [
            "mailboxes[1].name",
            "mailboxes[2].imap.mailbox",
            "mailboxes[1].imap.host",
            "mailboxes[1].imap.password",
        ] {
            assert!(keys.contains(&k.to_string()), "{k}: {keys:?}");
        }
    }
}
