//! How breachwatch logs in to the mailbox and the relay: a password, or an
//! OAuth2 bearer token (SASL XOAUTH2) from a token endpoint. `[imap.oauth2]`
//! and `[smtp.oauth2]` hold the client; `provider = "microsoft" | "google"`
//! fills the endpoints and scopes an admin would otherwise copy from the
//! provider's documentation. Reads the client secret (env or file) but
//! connects to nothing: the tokens themselves are `mail::oauth`'s.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{problem, read_secret_file, ConfigProblem, Secret};

/// `imap.auth` / `smtp.auth`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MailAuth {
    /// LOGIN / AUTH PLAIN with `password` (or `password_file`).
    #[default]
    Password,
    /// SASL XOAUTH2 with an access token from `[….oauth2]`.
    Oauth2,
}

/// Ready-made endpoints and scopes.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Microsoft Entra ID for Exchange Online (needs `tenant`).
    Microsoft,
    /// Google Workspace (refresh-token flow only).
    Google,
}

/// Which SASL mechanism carries the access token to the mail server.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum SaslMechanism {
    /// `OAUTHBEARER` (RFC 7628) when the server lists it (IMAP
    /// `AUTH=OAUTHBEARER`, SMTP `AUTH … OAUTHBEARER`), else `XOAUTH2`.
    #[default]
    Auto,
    /// Always `XOAUTH2` (Google's and Microsoft's format).
    Xoauth2,
    /// Always `OAUTHBEARER`, offered or not.
    Oauthbearer,
}

/// Where the refresh token of the refresh-token flow is kept.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum RefreshTokenStore {
    /// `refresh_token_file`, written 0600.
    #[default]
    File,
    /// The store's `oauth_refresh_tokens` table, row `refresh_token_name`
    /// (for a service without writable local state, or several replicas).
    Database,
}

/// Which grant gives the access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// App-only access (Microsoft 365 shared mailbox): no user, no refresh token.
    ClientCredentials,
    /// A refresh token from `breachwatch login`, kept in `refresh_token_file`
    /// and replaced whenever the provider rotates it.
    RefreshToken,
}

/// `[imap.oauth2]` / `[smtp.oauth2]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OAuth2 {
    #[serde(default)]
    pub provider: Option<Provider>,
    /// Microsoft: the directory (tenant) id or domain, e.g. `kommun.onmicrosoft.com`.
    #[serde(default)]
    pub tenant: Option<String>,
    /// The token endpoint (filled by `provider`).
    #[serde(default)]
    pub token_url: Option<String>,
    /// The authorization endpoint, for `breachwatch login` (filled by `provider`).
    #[serde(default)]
    pub auth_url: Option<String>,
    /// The device-authorization endpoint (RFC 8628), for `breachwatch login
    /// --device` (filled by `provider = "microsoft"`).
    #[serde(default)]
    pub device_authorization_url: Option<String>,
    /// Where the provider sends the browser after consent, for `breachwatch
    /// login`; the admin pastes the address it lands on (filled by `provider`).
    #[serde(default)]
    pub redirect_url: Option<String>,
    pub client_id: String,
    /// The name of an environment variable holding the client secret.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// A file holding the client secret (relative: `$CREDENTIALS_DIRECTORY`).
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// Read from `client_secret_env` or `client_secret_file` at load.
    #[serde(skip)]
    pub client_secret: Secret,
    /// Space-separated scopes (filled by `provider`).
    #[serde(default)]
    pub scope: Option<String>,
    /// The refresh-token flow: where the refresh token lives (written 0600 by
    /// `breachwatch login`, rewritten when the provider rotates it). Without
    /// it: client credentials.
    #[serde(default)]
    pub refresh_token_file: Option<PathBuf>,
    /// `file` (default: `refresh_token_file`) or `database`
    /// (`refresh_token_name`).
    #[serde(default)]
    pub refresh_token_store: RefreshTokenStore,
    /// With `refresh_token_store = "database"`: the row's name. Sections with
    /// the same name share the token, as sections with the same file do.
    #[serde(default)]
    pub refresh_token_name: Option<String>,
    /// `auto` (default): OAUTHBEARER where the server offers it, else
    /// XOAUTH2; `xoauth2` or `oauthbearer` force one.
    #[serde(default)]
    pub sasl_mechanism: SaslMechanism,
}

const MS_LOGIN: &str = "https://login.microsoftonline.com";
/// App-only (client credentials) access to Exchange Online IMAP and SMTP.
pub const MS_APP_SCOPE: &str = "https://outlook.office365.com/.default";
/// Delegated access (a user signs in once with `breachwatch login`).
pub const MS_DELEGATED_SCOPE: &str = "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access";
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
pub const GOOGLE_AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
pub const GOOGLE_SCOPE: &str = "https://mail.google.com/";

impl OAuth2 {
    pub fn flow(&self) -> Flow {
        match self.refresh_token_store {
            RefreshTokenStore::Database => Flow::RefreshToken,
            RefreshTokenStore::File if self.refresh_token_file.is_some() => Flow::RefreshToken,
            RefreshTokenStore::File => Flow::ClientCredentials,
        }
    }

    fn tenant(&self) -> &str {
        self.tenant.as_deref().unwrap_or("organizations")
    }

    pub fn token_url(&self) -> Option<String> {
        self.token_url.clone().or_else(|| match self.provider? {
            Provider::Microsoft => Some(format!("{MS_LOGIN}/{}/oauth2/v2.0/token", self.tenant())),
            Provider::Google => Some(GOOGLE_TOKEN_URL.into()),
        })
    }

    pub fn auth_url(&self) -> Option<String> {
        self.auth_url.clone().or_else(|| match self.provider? {
            Provider::Microsoft => Some(format!(
                "{MS_LOGIN}/{}/oauth2/v2.0/authorize",
                self.tenant()
            )),
            Provider::Google => Some(GOOGLE_AUTH_URL.into()),
        })
    }

    /// Google's device flow does not grant the mail scope, so its preset has
    /// no device endpoint.
    pub fn device_authorization_url(&self) -> Option<String> {
        self.device_authorization_url
            .clone()
            .or_else(|| match self.provider? {
                Provider::Microsoft => Some(format!(
                    "{MS_LOGIN}/{}/oauth2/v2.0/devicecode",
                    self.tenant()
                )),
                Provider::Google => None,
            })
    }

    pub fn redirect_url(&self) -> Option<String> {
        self.redirect_url.clone().or_else(|| match self.provider? {
            Provider::Microsoft => Some(format!("{MS_LOGIN}/common/oauth2/nativeclient")),
            // A loopback address nothing listens on: the browser shows an
            // error page whose address holds the code, which the admin pastes.
            Provider::Google => Some("http://127.0.0.1:1/".into()),
        })
    }

    pub fn scopes(&self) -> Vec<String> {
        let s = match (&self.scope, self.provider, self.flow()) {
            (Some(s), _, _) => s.clone(),
            (None, Some(Provider::Microsoft), Flow::ClientCredentials) => MS_APP_SCOPE.into(),
            (None, Some(Provider::Microsoft), Flow::RefreshToken) => MS_DELEGATED_SCOPE.into(),
            (None, Some(Provider::Google), _) => GOOGLE_SCOPE.into(),
            (None, None, _) => String::new(),
        };
        s.split_whitespace().map(str::to_string).collect()
    }

    /// Reads the client secret (daemon and `login` only).
    pub(super) fn load_secret(
        &mut self,
        key: &str,
        env: &impl Fn(&str) -> Option<String>,
        creds: Option<&Path>,
        out: &mut Vec<ConfigProblem>,
    ) {
        match (&self.client_secret_env, &self.client_secret_file) {
            (Some(_), Some(_)) => out.push(problem(
                &format!("{key}.client_secret_file"),
                format!("set either {key}.client_secret_env or {key}.client_secret_file, not both"),
            )),
            (Some(var), None) => match env(var).filter(|v| !v.is_empty()) {
                Some(v) => self.client_secret = Secret(v),
                None => out.push(problem(
                    &format!("{key}.client_secret_env"),
                    format!("the environment variable {var} is not set or empty"),
                )),
            },
            (None, Some(f)) => match read_secret_file(f, creds) {
                Ok(v) => self.client_secret = Secret(v),
                Err(e) => out.push(problem(&format!("{key}.client_secret_file"), e.to_string())),
            },
            // A public client (Google's desktop apps still get a secret, but
            // a provider may issue none): the token endpoint will say.
            (None, None) => {}
        }
    }

    pub(super) fn problems(&self, key: &str, out: &mut Vec<ConfigProblem>) {
        if self.client_id.trim().is_empty() {
            out.push(problem(&format!("{key}.client_id"), "must not be empty"));
        }
        match self.token_url() {
            None => out.push(problem(
                &format!("{key}.token_url"),
                "missing: set token_url or provider = \"microsoft\" | \"google\"",
            )),
            Some(u) => url_problem(&format!("{key}.token_url"), &u, out),
        }
        if let Some(u) = &self.auth_url {
            url_problem(&format!("{key}.auth_url"), u, out);
        }
        if let Some(u) = &self.device_authorization_url {
            url_problem(&format!("{key}.device_authorization_url"), u, out);
        }
        if let Some(u) = &self.redirect_url {
            if oauth2::url::Url::parse(u).is_err() {
                out.push(problem(
                    &format!("{key}.redirect_url"),
                    "is not an absolute URL",
                ));
            }
        }
        if self.provider == Some(Provider::Microsoft)
            && self.token_url.is_none()
            && self.flow() == Flow::ClientCredentials
            && self.tenant.as_deref().is_none_or(|t| t.trim().is_empty())
        {
            out.push(problem(
                &format!("{key}.tenant"),
                "missing: app-only access (client credentials) needs the tenant id or domain",
            ));
        }
        if self.provider == Some(Provider::Google) && self.flow() == Flow::ClientCredentials {
            out.push(problem(
                &format!("{key}.refresh_token_file"),
                "missing: Google Workspace gives IMAP/SMTP tokens only to a signed-in user; set refresh_token_file and run `breachwatch login`",
            ));
        }
        if self.scopes().is_empty() {
            out.push(problem(
                &format!("{key}.scope"),
                "missing: name the scopes the mail server wants (or set provider)",
            ));
        }
        if self.refresh_token_store == RefreshTokenStore::Database {
            if self
                .refresh_token_name
                .as_deref()
                .is_none_or(|n| n.trim().is_empty() || n.len() > 200)
            {
                out.push(problem(
                    &format!("{key}.refresh_token_name"),
                    "missing: refresh_token_store = \"database\" keeps the token in a row of this name (1-200 characters)",
                ));
            }
            if self.refresh_token_file.is_some() {
                out.push(problem(
                    &format!("{key}.refresh_token_file"),
                    "is set but refresh_token_store is \"database\": remove one",
                ));
            }
        }
        if let Some(f) = &self.refresh_token_file {
            match f.parent().filter(|p| !p.as_os_str().is_empty()) {
                Some(dir) if !dir.is_dir() => out.push(problem(
                    &format!("{key}.refresh_token_file"),
                    format!("its directory {} does not exist", dir.display()),
                )),
                _ => {}
            }
        }
    }
}

/// A token endpoint must be HTTPS, except on this machine (the test server).
fn url_problem(key: &str, u: &str, out: &mut Vec<ConfigProblem>) {
    match oauth2::url::Url::parse(u) {
        Err(e) => out.push(problem(key, format!("is not a URL: {e}"))),
        Ok(url) => {
            let loopback = url
                .host_str()
                .is_some_and(|h| super::is_loopback(h.trim_matches(|c| c == '[' || c == ']')));
            if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
                out.push(problem(
                    key,
                    "must be https:// (http:// only to this machine)",
                ));
            }
        }
    }
}

/// Reads the client secrets (daemon use).
pub(super) fn apply_env(
    cfg: &mut super::Config,
    env: &impl Fn(&str) -> Option<String>,
    creds: Option<&Path>,
    out: &mut Vec<ConfigProblem>,
) {
    if cfg.imap.auth == MailAuth::Oauth2 {
        if let Some(o) = cfg.imap.oauth2.as_mut() {
            o.load_secret("imap.oauth2", env, creds, out);
        }
    }
    if cfg.smtp.auth == MailAuth::Oauth2 {
        if let Some(o) = cfg.smtp.oauth2.as_mut() {
            o.load_secret("smtp.oauth2", env, creds, out);
        }
    }
}

/// Problems of `imap.auth`/`smtp.auth` and their `oauth2` sections.
pub(super) fn problems(cfg: &super::Config, out: &mut Vec<ConfigProblem>) {
    for (key, auth, o, user) in [
        (
            "imap",
            cfg.imap.auth,
            &cfg.imap.oauth2,
            Some(&cfg.imap.username),
        ),
        (
            "smtp",
            cfg.smtp.auth,
            &cfg.smtp.oauth2,
            cfg.smtp.username.as_ref(),
        ),
    ] {
        match (auth, o) {
            (MailAuth::Oauth2, None) => out.push(problem(
                &format!("{key}.oauth2"),
                format!("missing: {key}.auth = \"oauth2\" needs a [{key}.oauth2] section"),
            )),
            (MailAuth::Oauth2, Some(o)) => {
                o.problems(&format!("{key}.oauth2"), out);
                if user.is_none_or(|u| u.trim().is_empty()) {
                    out.push(problem(
                        &format!("{key}.username"),
                        "missing: XOAUTH2 names the mailbox the token is for",
                    ));
                }
            }
            (MailAuth::Password, Some(_)) => out.push(problem(
                &format!("{key}.oauth2"),
                format!("is set but {key}.auth is \"password\": set {key}.auth = \"oauth2\" or remove the section"),
            )),
            (MailAuth::Password, None) => {}
        }
    }
}

/// A refresh-token flow whose file does not exist yet (the daemon cannot log
/// in until an admin runs `breachwatch login`), or that others may read: for
/// `[imap]`, `[smtp]` and every `[[mailboxes]]` entry.
pub(super) fn warnings(cfg: &super::Config, out: &mut Vec<ConfigProblem>) {
    let mut sections = vec![
        (
            "imap".to_string(),
            "default".to_string(),
            cfg.imap.auth,
            &cfg.imap.oauth2,
            "",
        ),
        (
            "smtp".to_string(),
            "default".to_string(),
            cfg.smtp.auth,
            &cfg.smtp.oauth2,
            " --smtp",
        ),
    ];
    for (i, mb) in cfg.mailboxes.iter().enumerate() {
        sections.push((
            format!("mailboxes[{i}].imap"),
            mb.name.clone(),
            mb.imap.auth,
            &mb.imap.oauth2,
            "",
        ));
    }
    for (key, name, auth, o, flag) in sections {
        let (MailAuth::Oauth2, Some(o)) = (auth, o) else {
            continue;
        };
        let (RefreshTokenStore::File, Some(f)) =
            (o.refresh_token_store, o.refresh_token_file.as_ref())
        else {
            continue;
        };
        let key = format!("{key}.oauth2.refresh_token_file");
        match std::fs::metadata(f) {
            Err(_) => out.push(problem(
                &key,
                format!(
                    "{} does not exist yet: run `breachwatch login --mailbox {name}{flag}` once",
                    f.display()
                ),
            )),
            Ok(m) => {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = m.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    out.push(problem(
                        &key,
                        format!(
                            "{} has mode {mode:04o}: others may read the refresh token; chmod 600 it (breachwatch writes it 0600)",
                            f.display()
                        ),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    fn with_imap(extra: &str) -> String {
        let local =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/local.toml"))
                .expect("config/local.toml is shipped");
        let local = local.replace("password = \"secret\"\n", "");
        local.replacen("[smtp]\n", &format!("{extra}\n[smtp]\n"), 1)
    }

    /// The secret, and a readable file for the CA (the shipped config names
    /// the loopback stack's, which a machine without it running lacks).
    fn env(k: &str) -> Option<String> {
        match k {
            "BW_TEST_SECRET" => Some("s3cr3t".to_string()),
            "BREACHWATCH_IMAP_CA_FILE" => {
                Some(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml").to_string())
            }
            _ => None,
        }
    }

    fn keys(text: &str) -> Vec<String> {
        match Config::from_toml(text, env) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.into_iter().map(|p| p.key).collect(),
        }
    }

    #[test]
    fn microsoft_preset_fills_endpoints_and_app_scope() {
        let text = with_imap(
            "auth = \"oauth2\"\n[imap.oauth2]\nprovider = \"microsoft\"\ntenant = \"kommun.onmicrosoft.com\"\nclient_id = \"abc\"\nclient_secret_env = \"BW_TEST_SECRET\"\n",
        );
        let cfg = Config::from_toml(&text, env).expect("valid");
        let o = cfg.imap.oauth2.expect("section");
        assert_eq!(
            o.token_url().as_deref(),
            Some("https://login.microsoftonline.com/kommun.onmicrosoft.com/oauth2/v2.0/token")
        );
        assert_eq!(o.scopes(), vec![MS_APP_SCOPE.to_string()]);
        assert_eq!(o.flow(), Flow::ClientCredentials);
        assert_eq!(o.client_secret.expose(), "s3cr3t");
        assert!(!format!("{o:?}").contains("s3cr3t"));
    }

    #[test]
    fn problems_name_the_full_key() {
        let base = "auth = \"oauth2\"\n[imap.oauth2]\nclient_id = \"abc\"\n";
        assert_eq!(
            keys(&with_imap(&format!(
                "{base}provider = \"google\"\nclient_secret_env = \"BW_TEST_SECRET\"\n"
            ))),
            vec!["imap.oauth2.refresh_token_file"]
        );
        assert_eq!(
            keys(&with_imap(&format!(
                "{base}provider = \"microsoft\"\ntenant = \"t\"\nclient_secret_env = \"NOPE\"\n"
            ))),
            vec!["imap.oauth2.client_secret_env"]
        );
        assert_eq!(
            keys(&with_imap(&format!(
                "{base}token_url = \"http://login.example.com/token\"\nscope = \"x\"\n"
            ))),
            vec!["imap.oauth2.token_url"]
        );
        assert_eq!(
            keys(&with_imap(&format!("{base}scope = \"x\"\n"))),
            vec!["imap.oauth2.token_url"]
        );
        assert_eq!(keys(&with_imap("auth = \"oauth2\"\n")), vec!["imap.oauth2"]);
        // The database store needs its row's name (and no file beside it).
        assert_eq!(
            keys(&with_imap(&format!(
                "{base}token_url = \"http://127.0.0.1:3180/token\"\nscope = \"mail\"\nrefresh_token_store = \"database\"\nrefresh_token_file = \"/tmp/x\"\n"
            ))),
            vec!["imap.oauth2.refresh_token_name", "imap.oauth2.refresh_token_file"]
        );
        // A loopback test server over http is fine.
        assert!(keys(&with_imap(&format!(
            "{base}token_url = \"http://127.0.0.1:3180/token\"\nscope = \"mail\"\n"
        )))
        .is_empty());
    }

    #[test]
    fn refresh_token_files_missing_or_open_are_warned_for_every_mailbox() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        std::fs::write(&open, "rt").unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
        let tight = dir.path().join("tight");
        std::fs::write(&tight, "rt").unwrap();
        std::fs::set_permissions(&tight, std::fs::Permissions::from_mode(0o600)).unwrap();
        let missing = dir.path().join("missing");
        let section = |f: &std::path::Path| {
            format!("client_id = \"abc\"\ntoken_url = \"http://127.0.0.1:1/token\"\nscope = \"mail\"\nrefresh_token_file = \"{}\"\n", f.display())
        };
        let mb = |name: &str, f: &std::path::Path| {
            format!("\n[[mailboxes]]\nname = \"{name}\"\n[mailboxes.imap]\nhost = \"imap.kommun.example\"\nport = 993\nusername = \"{name}@kommun.example\"\nauth = \"oauth2\"\n[mailboxes.imap.oauth2]\n{}", section(f))
        };
        let text = format!(
            "{}{}{}{}",
            with_imap(&format!(
                "auth = \"oauth2\"\n[imap.oauth2]\n{}",
                section(&tight)
            )),
            mb("namnd", &missing),
            mb("reg", &open),
            mb("ok", &tight)
        );
        let cfg = Config::from_toml(&text, env).expect("valid");
        let w: Vec<(String, String)> = cfg
            .warnings
            .iter()
            .filter(|p| p.key.contains("refresh_token_file"))
            .map(|p| (p.key.clone(), p.message.clone()))
            .collect();
        assert_eq!(w.len(), 2, "{w:?}");
        assert_eq!(w[0].0, "mailboxes[0].imap.oauth2.refresh_token_file");
        assert!(w[0].1.contains("login --mailbox namnd"), "{w:?}");
        assert_eq!(w[1].0, "mailboxes[1].imap.oauth2.refresh_token_file");
        assert!(w[1].1.contains("0644"), "{w:?}");
    }
}
