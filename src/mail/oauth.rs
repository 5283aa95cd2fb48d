//! OAuth2 access tokens for IMAP and SMTP (SASL XOAUTH2), from the `oauth2`
//! crate: client credentials (Microsoft 365 app-only access) or a refresh
//! token kept in a file (Google Workspace, delegated Microsoft accounts).
//!
//! A token is cached and fetched anew shortly before it expires; a token the
//! mail server refused is dropped (`invalidate`) so the next login fetches a
//! fresh one. A rotated refresh token is written back (0600) before it is
//! used. Errors name the config key and the provider's error code, never a
//! secret or a token; tokens live in [`Secret`]s.
//!
//! One token state per distinct `[….oauth2]` section in the process
//! ([`TokenSource::shared`]): when `[imap.oauth2]` and `[smtp.oauth2]` are the
//! same client they share one token and, above all, one refresh token (two
//! holders of a rotating refresh token would spend each other's).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, Scope, TokenResponse, TokenUrl,
};

use crate::config::{Flow, OAuth2, RefreshTokenStore, SaslMechanism, Secret};
use crate::core::bounded::one_line;

/// A token is fetched anew when less than this part of its life is left
/// (at most [`MAX_MARGIN`]), so a login never starts with a token about to
/// expire.
const MAX_MARGIN: Duration = Duration::from_secs(120);
/// Token endpoint calls give up after this long.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Assumed lifetime when the provider does not say (`expires_in` absent).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// Why no token could be had. `Display` names the config key; never a secret.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The provider answered with an OAuth2 error (RFC 6749 5.2).
    #[error("{key}: the token endpoint refused: {code}{}; {hint}", .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        key: String,
        /// `invalid_client`, `invalid_grant`, `unauthorized_client`, ...
        code: String,
        description: Option<String>,
        hint: String,
    },
    /// Network, TLS, timeout or an answer that is not a token.
    #[error("{key}: token endpoint {url}: {detail}")]
    Unreachable {
        key: String,
        url: String,
        detail: String,
    },
    /// Local configuration or file problem.
    #[error("{key}: {detail}")]
    Local { key: String, detail: String },
}

struct Cached {
    token: Secret,
    /// Fetch anew from this instant on.
    renew_at: Instant,
}

struct State {
    access: Option<Cached>,
    /// The current refresh token (read from the file at first use).
    refresh: Option<Secret>,
    /// Token endpoint calls so far (tests and logs).
    fetches: u64,
}

/// Tokens of one `[….oauth2]` client.
pub struct TokenSource {
    /// `imap.oauth2` or `smtp.oauth2`: every error names it.
    key: String,
    cfg: OAuth2,
    http: oauth2::reqwest::Client,
    /// Shared by every source of the same client (see [`TokenSource::shared`]).
    state: Arc<tokio::sync::Mutex<State>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

type Registry = Mutex<HashMap<String, Arc<tokio::sync::Mutex<State>>>>;
static SOURCES: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();

/// What goes wrong on this machine before or after the provider is asked:
/// the HTTP client, the refresh-token file. Carried in [`TokenError::Local`]
/// with the config key.
#[derive(Debug, thiserror::Error)]
enum LocalError {
    #[error("HTTP client: {0}")]
    HttpClient(#[source] oauth2::reqwest::Error),
    #[error("{}: {source}; run `breachwatch login` to create it", .file.display())]
    Unreadable {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is {len} bytes: not a refresh token", .file.display())]
    TooLong { file: PathBuf, len: u64 },
    #[error("{} is empty; run `breachwatch login`", .file.display())]
    Empty { file: PathBuf },
    #[error("writing {}: {source}", .file.display())]
    Write {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn http_client() -> Result<oauth2::reqwest::Client, LocalError> {
    oauth2::reqwest::ClientBuilder::new()
        // RFC 6749 10.12-ish: a token endpoint that redirects is misconfigured,
        // and following it could send the secret elsewhere.
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .timeout(HTTP_TIMEOUT)
        .build()
        .map_err(LocalError::HttpClient)
}

impl TokenSource {
    /// The process-wide source for this client (same section, same source).
    pub fn shared(key: &str, cfg: &OAuth2) -> Result<Arc<TokenSource>, TokenError> {
        let id = format!(
            "{:?}|{}|{:?}|{:?}|{:?}|{:?}|{}",
            cfg.token_url(),
            cfg.client_id,
            cfg.scopes(),
            cfg.refresh_token_store,
            cfg.refresh_token_file,
            cfg.refresh_token_name,
            crate::core::types::addr_hash(cfg.client_secret.expose())
        );
        let reg = SOURCES.get_or_init(Default::default);
        let mut map = reg.lock().unwrap_or_else(|e| e.into_inner());
        let mut s = TokenSource::new(key, cfg)?;
        // Same client, same tokens; but each user names its own config key.
        s.state = map.entry(id).or_insert_with(|| s.state.clone()).clone();
        Ok(Arc::new(s))
    }

    pub fn new(key: &str, cfg: &OAuth2) -> Result<TokenSource, TokenError> {
        Ok(TokenSource {
            key: key.to_string(),
            cfg: cfg.clone(),
            http: http_client().map_err(|e| TokenError::Local {
                key: key.into(),
                detail: e.to_string(),
            })?,
            state: Arc::new(tokio::sync::Mutex::new(State {
                access: None,
                refresh: None,
                fetches: 0,
            })),
        })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// How many times the token endpoint was asked (a busy loop shows here).
    pub async fn fetches(&self) -> u64 {
        self.state.lock().await.fetches
    }

    /// A token with life left: the cached one, or a new one from the endpoint.
    pub async fn token(&self) -> Result<Secret, TokenError> {
        let mut st = self.state.lock().await;
        if let Some(c) = st.access.as_ref().filter(|c| Instant::now() < c.renew_at) {
            return Ok(c.token.clone());
        }
        st.access = None;
        st.fetches += 1;
        let fetched = match self.cfg.flow() {
            Flow::ClientCredentials => self.client_credentials().await?,
            Flow::RefreshToken => self.refresh(&mut st).await?,
        };
        tracing::debug!(key = %self.key, expires_in = fetched.1.as_secs(), "OAuth2 access token fetched");
        let margin = (fetched.1 / 4).min(MAX_MARGIN);
        st.access = Some(Cached {
            token: fetched.0.clone(),
            renew_at: Instant::now() + fetched.1.saturating_sub(margin),
        });
        Ok(fetched.0)
    }

    /// The mail server refused `token`: never offer it again.
    pub async fn invalidate(&self, token: &Secret) {
        let mut st = self.state.lock().await;
        if st.access.as_ref().is_some_and(|c| &c.token == token) {
            st.access = None;
        }
    }

    fn client(
        &self,
    ) -> Result<
        BasicClient<
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointSet,
        >,
        TokenError,
    > {
        let url = self.cfg.token_url().unwrap_or_default();
        let token_url = TokenUrl::new(url).map_err(|e| TokenError::Local {
            key: format!("{}.token_url", self.key),
            detail: e.to_string(),
        })?;
        let mut c = BasicClient::new(ClientId::new(self.cfg.client_id.clone()));
        if !self.cfg.client_secret.expose().is_empty() {
            c = c.set_client_secret(ClientSecret::new(
                self.cfg.client_secret.expose().to_string(),
            ));
        }
        Ok(c.set_token_uri(token_url))
    }

    fn scopes(&self) -> Vec<Scope> {
        self.cfg.scopes().into_iter().map(Scope::new).collect()
    }

    async fn client_credentials(&self) -> Result<(Secret, Duration), TokenError> {
        let r = self
            .client()?
            .exchange_client_credentials()
            .add_scopes(self.scopes())
            .request_async(&self.http)
            .await
            .map_err(|e| self.request_error(e, "client_id and the client secret"))?;
        Ok(access_of(&r))
    }

    async fn refresh(&self, st: &mut State) -> Result<(Secret, Duration), TokenError> {
        if st.refresh.is_none() {
            st.refresh = Some(load_refresh(&self.key, &self.cfg).await?);
        }
        let current = st.refresh.clone().unwrap_or_default();
        let r = self
            .client()?
            .exchange_refresh_token(&RefreshToken::new(current.expose().to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| {
                self.request_error(
                    e,
                    "the refresh token (run `breachwatch login` again if it was revoked or expired)",
                )
            })?;
        if let Some(new) = r.refresh_token() {
            // Rotation: the old token is spent once the provider answered, so
            // the new one must be saved before anything else happens.
            let new = Secret::new(new.secret().clone());
            if new != current {
                save_refresh(&self.key, &self.cfg, &new).await?;
                st.refresh = Some(new);
            }
        }
        Ok(access_of(&r))
    }

    fn request_error<RE, T>(
        &self,
        e: oauth2::RequestTokenError<RE, oauth2::StandardErrorResponse<T>>,
        check: &str,
    ) -> TokenError
    where
        RE: std::error::Error + 'static,
        T: oauth2::ErrorResponseType + AsRef<str> + std::fmt::Display,
    {
        let url = self.cfg.token_url().unwrap_or_default();
        match e {
            oauth2::RequestTokenError::ServerResponse(r) => TokenError::Refused {
                key: self.key.clone(),
                code: one_line(r.error().as_ref(), 80),
                description: r.error_description().map(|d| one_line(d, 200)),
                hint: format!("check {}.{check}", self.key),
            },
            oauth2::RequestTokenError::Request(re) => TokenError::Unreachable {
                key: self.key.clone(),
                url,
                detail: error_chain(&re),
            },
            // Never print the body: it may hold a token.
            oauth2::RequestTokenError::Parse(pe, _) => TokenError::Unreachable {
                key: self.key.clone(),
                url,
                detail: format!("the answer is not a token response ({})", pe.path()),
            },
            oauth2::RequestTokenError::Other(o) => TokenError::Unreachable {
                key: self.key.clone(),
                url,
                detail: one_line(&o, 200),
            },
        }
    }
}

fn access_of(r: &oauth2::basic::BasicTokenResponse) -> (Secret, Duration) {
    (
        Secret::new(r.access_token().secret().clone()),
        r.expires_in().unwrap_or(DEFAULT_LIFETIME),
    )
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    one_line(&s, 300)
}

/// The store of `refresh_token_store = "database"`, set by the daemon and
/// `breachwatch login` once the database is open.
static DATABASE: std::sync::OnceLock<crate::store::Store> = std::sync::OnceLock::new();

/// Lets `refresh_token_store = "database"` sections use this store.
pub fn use_database(store: &crate::store::Store) {
    let _ = DATABASE.set(store.clone());
}

fn database(key: &str) -> Result<&'static crate::store::Store, TokenError> {
    DATABASE.get().ok_or_else(|| TokenError::Local {
        key: format!("{key}.refresh_token_store"),
        detail: "the database is not open".into(),
    })
}

/// Where the refresh token lives, as the config key naming it.
fn refresh_place(key: &str, cfg: &OAuth2) -> Result<(String, RefreshPlace), TokenError> {
    let local = |k: &str| TokenError::Local {
        key: format!("{key}.{k}"),
        detail: "not set".into(),
    };
    match cfg.refresh_token_store {
        RefreshTokenStore::File => cfg
            .refresh_token_file
            .clone()
            .map(|f| (format!("{key}.refresh_token_file"), RefreshPlace::File(f)))
            .ok_or_else(|| local("refresh_token_file")),
        RefreshTokenStore::Database => cfg
            .refresh_token_name
            .clone()
            .map(|n| {
                (
                    format!("{key}.refresh_token_name"),
                    RefreshPlace::Database(n),
                )
            })
            .ok_or_else(|| local("refresh_token_name")),
    }
}

enum RefreshPlace {
    File(PathBuf),
    Database(String),
}

impl std::fmt::Display for RefreshPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefreshPlace::File(p) => write!(f, "{} (mode 0600)", p.display()),
            RefreshPlace::Database(n) => write!(f, "the database (oauth_refresh_tokens {n:?})"),
        }
    }
}

async fn load_refresh(key: &str, cfg: &OAuth2) -> Result<Secret, TokenError> {
    let (k, place) = refresh_place(key, cfg)?;
    let err = |detail: String| TokenError::Local {
        key: k.clone(),
        detail,
    };
    match place {
        RefreshPlace::File(f) => read_refresh_token(&f).map_err(|e| err(e.to_string())),
        RefreshPlace::Database(n) => match database(key)?.refresh_token(&n).await {
            Ok(Some(t)) if !t.trim().is_empty() => Ok(Secret::new(t.trim())),
            Ok(_) => Err(err(format!(
                "no refresh token named {n:?} in the database; run `breachwatch login`"
            ))),
            Err(e) => Err(err(format!("reading the database: {e}"))),
        },
    }
}

/// Saves a new refresh token where the config says: the file (atomically,
/// 0600) or the database row (one upsert). Returns where it went.
async fn save_refresh(key: &str, cfg: &OAuth2, token: &Secret) -> Result<String, TokenError> {
    let (k, place) = refresh_place(key, cfg)?;
    let err = |detail: String| TokenError::Local {
        key: k.clone(),
        detail,
    };
    match &place {
        RefreshPlace::File(f) => write_refresh_token(f, token).map_err(|e| err(e.to_string()))?,
        RefreshPlace::Database(n) => database(key)?
            .set_refresh_token(n, token.expose(), chrono::Utc::now())
            .await
            .map_err(|e| err(format!("writing the database: {e}")))?,
    }
    Ok(place.to_string())
}

fn read_refresh_token(file: &Path) -> Result<Secret, LocalError> {
    let unreadable = |source| LocalError::Unreadable {
        file: file.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(file).map_err(unreadable)?;
    if meta.len() > 16 * 1024 {
        return Err(LocalError::TooLong {
            file: file.to_path_buf(),
            len: meta.len(),
        });
    }
    let text = std::fs::read_to_string(file).map_err(unreadable)?;
    let t = text.trim();
    if t.is_empty() {
        return Err(LocalError::Empty {
            file: file.to_path_buf(),
        });
    }
    Ok(Secret::new(t))
}

/// Writes the refresh token readable by the owner only, atomically (a crash
/// leaves the old or the new token, never half of one).
fn write_refresh_token(file: &Path, token: &Secret) -> Result<(), LocalError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(token.expose().as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, file)
    };
    write().map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        LocalError::Write {
            file: file.to_path_buf(),
            source,
        }
    })
}

/// The SASL mechanism a login uses to carry the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    XOAuth2,
    /// RFC 7628.
    OAuthBearer,
}

impl Mechanism {
    /// As written after `AUTHENTICATE` / `AUTH`.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// What `sasl_mechanism` asks for, given whether the server listed
    /// OAUTHBEARER among its mechanisms.
    pub fn choose(wanted: SaslMechanism, server_offers_oauthbearer: bool) -> Mechanism {
        match wanted {
            SaslMechanism::Xoauth2 => Mechanism::XOAuth2,
            SaslMechanism::Oauthbearer => Mechanism::OAuthBearer,
            SaslMechanism::Auto if server_offers_oauthbearer => Mechanism::OAuthBearer,
            SaslMechanism::Auto => Mechanism::XOAuth2,
        }
    }

    /// The client's initial response: XOAUTH2 (Google's and Microsoft's
    /// format) or the RFC 7628 OAUTHBEARER message with its GS2 header.
    pub fn initial_response(self, user: &str, host: &str, port: u16, token: &Secret) -> String {
        match self {
            Mechanism::XOAuth2 => xoauth2_string(user, token),
            Mechanism::OAuthBearer => oauthbearer_string(user, host, port, token),
        }
    }
}

/// The SASL XOAUTH2 initial response (Google's and Microsoft's format).
pub fn xoauth2_string(user: &str, token: &Secret) -> String {
    format!("user={user}\x01auth=Bearer {}\x01\x01", token.expose())
}

/// The SASL OAUTHBEARER initial response (RFC 7628 3.1): a GS2 header
/// naming the authorization identity (`,` and `=` escaped, RFC 5801), then
/// host, port and the bearer token as key-value pairs.
pub fn oauthbearer_string(user: &str, host: &str, port: u16, token: &Secret) -> String {
    let saslname = user.replace('=', "=3D").replace(',', "=2C");
    format!(
        "n,a={saslname},\x01host={host}\x01port={port}\x01auth=Bearer {}\x01\x01",
        token.expose()
    )
}

/// The client's answer to a server's error challenge: XOAUTH2 wants an empty
/// line, OAUTHBEARER a single `%x01` (RFC 7628 3.2.3); the server then
/// ends the exchange with NO / 535.
pub fn error_challenge_answer(m: Mechanism) -> &'static str {
    match m {
        Mechanism::XOAuth2 => "",
        Mechanism::OAuthBearer => "\x01",
    }
}

/// async-imap's side of `AUTHENTICATE XOAUTH2` / `AUTHENTICATE OAUTHBEARER`.
pub struct BearerAuth {
    pub mechanism: Mechanism,
    pub user: String,
    pub host: String,
    pub port: u16,
    pub token: Secret,
}

impl async_imap::Authenticator for BearerAuth {
    type Response = String;
    fn process(&mut self, challenge: &[u8]) -> String {
        // The first continuation is empty; a non-empty one is the server's JSON
        // error, answered as the mechanism wants, after which it says NO.
        if !challenge.is_empty() {
            return error_challenge_answer(self.mechanism).to_string();
        }
        self.mechanism
            .initial_response(&self.user, &self.host, self.port, &self.token)
    }
}

/// The interactive step of the refresh-token flow (`breachwatch login`): the
/// address to open, and what to keep until the pasted answer comes back.
pub struct LoginStart {
    pub url: String,
    csrf: CsrfToken,
    verifier: PkceCodeVerifier,
}

fn login_client(
    key: &str,
    cfg: &OAuth2,
) -> Result<
    BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    TokenError,
> {
    let local = |k: &str, detail: String| TokenError::Local {
        key: format!("{key}.{k}"),
        detail,
    };
    let auth = cfg
        .auth_url()
        .ok_or_else(|| local("auth_url", "missing (or set provider)".into()))?;
    let redirect = cfg
        .redirect_url()
        .ok_or_else(|| local("redirect_url", "missing (or set provider)".into()))?;
    let mut c = BasicClient::new(ClientId::new(cfg.client_id.clone()))
        .set_auth_uri(AuthUrl::new(auth).map_err(|e| local("auth_url", e.to_string()))?)
        .set_redirect_uri(
            RedirectUrl::new(redirect).map_err(|e| local("redirect_url", e.to_string()))?,
        )
        .set_token_uri(
            TokenUrl::new(cfg.token_url().unwrap_or_default())
                .map_err(|e| local("token_url", e.to_string()))?,
        );
    if !cfg.client_secret.expose().is_empty() {
        c = c.set_client_secret(ClientSecret::new(cfg.client_secret.expose().to_string()));
    }
    Ok(c)
}

/// Builds the consent address (authorization code with PKCE S256).
pub fn login_start(key: &str, cfg: &OAuth2) -> Result<LoginStart, TokenError> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let client = login_client(key, cfg)?;
    let mut req = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .add_scopes(cfg.scopes().into_iter().map(Scope::new));
    // Google gives a refresh token only when asked for offline access.
    if cfg.provider == Some(crate::config::Provider::Google) {
        req = req
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent");
    }
    let (url, csrf) = req.url();
    Ok(LoginStart {
        url: url.to_string(),
        csrf,
        verifier,
    })
}

/// Takes what the admin pasted (the whole address the browser landed on, or
/// just the code), exchanges the code and writes the refresh token (0600).
pub async fn login_finish(
    key: &str,
    cfg: &OAuth2,
    start: LoginStart,
    pasted: &str,
) -> Result<String, TokenError> {
    let local = |k: &str, detail: String| TokenError::Local {
        key: format!("{key}.{k}"),
        detail,
    };
    let pasted = pasted.trim();
    let code = match oauth2::url::Url::parse(pasted) {
        Ok(u) => {
            let q: HashMap<String, String> = u.query_pairs().into_owned().collect();
            if let Some(err) = q.get("error") {
                return Err(TokenError::Refused {
                    key: key.into(),
                    code: one_line(err, 80),
                    description: q.get("error_description").map(|d| one_line(d, 200)),
                    hint: "consent was not given; run `breachwatch login` again".into(),
                });
            }
            if q.get("state").map(String::as_str) != Some(start.csrf.secret().as_str()) {
                return Err(local(
                    "redirect_url",
                    "the pasted address is not the answer to this login (state differs); start again".into(),
                ));
            }
            q.get("code")
                .cloned()
                .ok_or_else(|| local("redirect_url", "the pasted address has no code".into()))?
        }
        Err(_) => pasted.to_string(),
    };
    refresh_place(key, cfg)?;
    let http = http_client().map_err(|e| local("token_url", e.to_string()))?;
    let src = TokenSource::new(key, cfg)?;
    let r = login_client(key, cfg)?
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(start.verifier)
        .request_async(&http)
        .await
        .map_err(|e| src.request_error(e, "client_id, the client secret and redirect_url"))?;
    let rt = r.refresh_token().ok_or_else(|| {
        local(
            "scope",
            "the provider gave no refresh token (Microsoft: add offline_access to the scope)"
                .into(),
        )
    })?;
    save_refresh(key, cfg, &Secret::new(rt.secret().clone())).await
}

/// Longest a device login waits for the admin's approval, whatever the
/// provider's `expires_in` says.
const DEVICE_MAX_WAIT: Duration = Duration::from_secs(30 * 60);

/// What the admin is shown in a device login (RFC 8628 3.3).
pub struct DeviceShown {
    pub verification_uri: String,
    /// The address with the code filled in, when the provider gives one.
    pub verification_uri_complete: Option<String>,
    pub user_code: String,
    pub expires_in: Duration,
}

/// `breachwatch login --device`: asks the device-authorization endpoint for
/// a code, lets `show` print it, polls the token endpoint (at the provider's
/// interval, slowing down when told) until the admin approved, and writes the
/// refresh token (0600). For a machine without a browser.
pub async fn device_login(
    key: &str,
    cfg: &OAuth2,
    show: impl FnOnce(&DeviceShown),
) -> Result<String, TokenError> {
    let local = |k: &str, detail: String| TokenError::Local {
        key: format!("{key}.{k}"),
        detail,
    };
    let device_url = cfg.device_authorization_url().ok_or_else(|| {
        local(
            "device_authorization_url",
            "missing: set it (Microsoft: filled by provider; Google's device flow does not grant the mail scope) or log in without --device".into(),
        )
    })?;
    refresh_place(key, cfg)?;
    let http = http_client().map_err(|e| local("token_url", e.to_string()))?;
    let src = TokenSource::new(key, cfg)?;
    let mut client = BasicClient::new(ClientId::new(cfg.client_id.clone()))
        .set_device_authorization_url(
            oauth2::DeviceAuthorizationUrl::new(device_url)
                .map_err(|e| local("device_authorization_url", e.to_string()))?,
        )
        .set_token_uri(
            TokenUrl::new(cfg.token_url().unwrap_or_default())
                .map_err(|e| local("token_url", e.to_string()))?,
        );
    if !cfg.client_secret.expose().is_empty() {
        client =
            client.set_client_secret(ClientSecret::new(cfg.client_secret.expose().to_string()));
    }
    let details: oauth2::StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(cfg.scopes().into_iter().map(Scope::new))
        .request_async(&http)
        .await
        .map_err(|e| src.request_error(e, "client_id, device_authorization_url and scope"))?;
    show(&DeviceShown {
        verification_uri: one_line(details.verification_uri().as_str(), 500),
        verification_uri_complete: details
            .verification_uri_complete()
            .map(|u| one_line(u.secret(), 500)),
        user_code: one_line(details.user_code().secret(), 64),
        expires_in: details.expires_in(),
    });
    let r = client
        .exchange_device_access_token(&details)
        .request_async(
            &http,
            tokio::time::sleep,
            Some(details.expires_in().min(DEVICE_MAX_WAIT)),
        )
        .await
        .map_err(|e| {
            src.request_error(
                e,
                "the approval (access_denied: it was refused; expired_token: run login again sooner)",
            )
        })?;
    let rt = r.refresh_token().ok_or_else(|| {
        local(
            "scope",
            "the provider gave no refresh token (Microsoft: add offline_access to the scope)"
                .into(),
        )
    })?;
    save_refresh(key, cfg, &Secret::new(rt.secret().clone())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauthbearer_has_the_rfc7628_shape_and_escapes_the_authzid() {
        let t = Secret::new("vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
        // RFC 7628 4.1's example, with its user and token.
        assert_eq!(
            oauthbearer_string("user@example.com", "server.example.com", 143, &t),
            "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
        );
        assert!(oauthbearer_string("a,b=c@x", "h", 1, &t).starts_with("n,a=a=2Cb=3Dc@x,\x01"));
    }

    #[test]
    fn auto_prefers_oauthbearer_only_when_offered_and_config_can_force_either() {
        use SaslMechanism::*;
        assert_eq!(Mechanism::choose(Auto, true), Mechanism::OAuthBearer);
        assert_eq!(Mechanism::choose(Auto, false), Mechanism::XOAuth2);
        assert_eq!(Mechanism::choose(Xoauth2, true), Mechanism::XOAuth2);
        assert_eq!(
            Mechanism::choose(Oauthbearer, false),
            Mechanism::OAuthBearer
        );
    }

    #[test]
    fn an_error_challenge_is_answered_as_each_mechanism_wants() {
        use async_imap::Authenticator as _;
        let mut a = BearerAuth {
            mechanism: Mechanism::OAuthBearer,
            user: "u@x".into(),
            host: "h".into(),
            port: 1,
            token: Secret::new("tok"),
        };
        assert!(a.process(b"").contains("auth=Bearer tok"));
        assert_eq!(a.process(br#"{"status":"invalid_token"}"#), "\x01");
        a.mechanism = Mechanism::XOAuth2;
        assert_eq!(a.process(br#"{"status":"400"}"#), "");
    }
}
