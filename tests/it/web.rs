//! The web view in a real headless Chromium (chromedriver over WebDriver) and
//! over plain HTTP: a case opened by real mail is on the open-cases page, the
//! official acknowledges it from the case page, the confirmation mail arrives
//! and the timeline grows; a supplier's `<script>` subject is text; a POST
//! without the CSRF token is refused; an official of another committee gets
//! 403 on the page and the API; `/metrics` parses as Prometheus text.
//! Screenshots of the three main pages go to `<target>/screenshots/`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};

use crate::harness::*;

const PASSWORD: &str = "correct horse battery";
const METRICS_TOKEN: &str = "prometheus-scrape-token-0123";
const HOSTILE_SUBJECT: &str = "<script>alert(1)</script> Dataintrång hos Provdata";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Adds `[web]` (accounts for the official, the DPO and `staff`, who is the
/// official of another committee) to the test's config; returns the port.
fn with_web(s: &Setup) -> u16 {
    let port = free_port();
    let hash = breachwatch::web::session::hash_password(PASSWORD).expect("hash");
    let key = "5a".repeat(64);
    let mut cfg = std::fs::read_to_string(&s.config).expect("config");
    cfg.push_str(&format!(
        r#"
[[routing.rules]]
name = "annan-namnd"
keywords = ["detta-ord-finns-inte-i-testerna"]
[routing.rules.route]
committee = {{ name = "Tekniska nämnden", diarie_prefix = "TN", delegation_point = "3.1" }}
official = {{ name = "Sam Staff", address = "{staff}" }}
deputy = {{ name = "Sam Staff", address = "{staff}" }}
dpo = {{ name = "Dora DPO", address = "{dpo}" }}

[web]
listen = "127.0.0.1:{port}"
cookie_key = "{key}"
metrics_token = "{METRICS_TOKEN}"
[[web.accounts]]
address = "{official}"
password_hash = "{hash}"
[[web.accounts]]
address = "{dpo}"
password_hash = "{hash}"
[[web.accounts]]
address = "{staff}"
password_hash = "{hash}"
[[web.accounts]]
address = "{admin}"
password_hash = "{hash}"
admin = true
"#,
        admin = s.users.addr("admin"),
        staff = s.users.addr("staff"),
        dpo = s.users.addr("dpo"),
        official = s.users.addr("official"),
    ));
    std::fs::write(&s.config, cfg).expect("write config");
    port
}

/// One HTTP/1.1 request (connection closed after): (status, headers, body).
fn http(
    port: u16,
    method: &str,
    path: &str,
    cookie: &str,
    extra: &str,
    body: &str,
) -> (u16, String, String) {
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect to the web view");
    c.set_read_timeout(Some(Duration::from_secs(20))).ok();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{cookie}{extra}\
Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len(),
        cookie = if cookie.is_empty() { String::new() } else { format!("Cookie: {cookie}\r\n") },
    );
    c.write_all(req.as_bytes()).expect("send request");
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).ok();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// The body bytes of a GET (binary downloads), Content-Length framed.
fn raw_body(port: u16, path: &str, cookie: &str) -> Vec<u8> {
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(20))).ok();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nCookie: {cookie}\r\n\r\n"
    );
    c.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).ok();
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    raw[at + 4..].to_vec()
}

fn set_cookie(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.trim())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
}

fn hidden_csrf(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a csrf field")
        .to_string()
}

/// Signs in over HTTP; returns the session cookie pair.
fn sign_in(port: u16, address: &str) -> String {
    let (st, head, body) = http(port, "GET", "/login", "", "", "");
    assert_eq!(st, 200, "{head}");
    let pre = set_cookie(&head, "bw_login").expect("login cookie");
    let form = format!(
        "address={}&password={}&csrf={}",
        address.replace('@', "%40"),
        PASSWORD.replace(' ', "+"),
        hidden_csrf(&body)
    );
    let (st, head, _) = http(
        port,
        "POST",
        "/login",
        &pre,
        "Sec-Fetch-Site: same-origin\r\n",
        &form,
    );
    assert_eq!(st, 303, "sign-in redirects: {head}");
    let session = set_cookie(&head, "bw_session").expect("session cookie");
    let line = head
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: bw_session=")
        })
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        line.contains("httponly") && line.contains("samesite=strict"),
        "{line}"
    );
    session
}

struct Driver(Child);
impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromedriver() -> (Driver, u16) {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed (deploy/test.sh installs chromium and chromium-driver)");
    let d = Driver(child);
    wait_for(20, "chromedriver listening", || {
        TcpStream::connect(("127.0.0.1", port)).ok()
    });
    (d, port)
}

/// The element once the page that has it has loaded (a click's navigation
/// is not awaited by WebDriver's click).
async fn el(c: &fantoccini::Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} on the page: {e}"))
}

fn screenshots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|p| p.join("screenshots"))
        .unwrap_or_else(|| PathBuf::from("target/screenshots"));
    std::fs::create_dir_all(&dir).expect("screenshots dir");
    dir
}

#[test]
fn an_official_acknowledges_a_case_in_a_real_browser_and_others_are_kept_out() {
    let s = setup(Knobs::default());
    let port = with_web(&s);
    let d = s.start();
    let base = format!("http://127.0.0.1:{port}");
    wait_for(60, "web view listening", || {
        if TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(!d.log_text().contains(" ERROR "), "{}", d.log_text());
            return None;
        }
        let (st, _, _) = http(port, "GET", "/healthz", "", "", "");
        (st == 200).then_some(())
    });
    s.forward(2, HOSTILE_SUBJECT);
    wait_for(20, "opening notice", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.subject.contains("Ny personuppgiftsincident"))
    });
    let r = s.cases()[0]["ref"].as_str().expect("case ref").to_string();
    let events_before = s.events(&r).len();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (_driver, dport) = chromedriver();
    let shots = screenshots_dir();
    rt.block_on(async {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({"args": ["--headless=new", "--no-sandbox", "--window-size=1400,1000"]}),
        );
        let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{dport}"))
            .await
            .expect("a Chromium session");
        // Not signed in: the login page.
        c.goto(&format!("{base}/")).await.expect("open /");
        assert!(c.current_url().await.unwrap().path().ends_with("/login"));
        c.find(Locator::Css("#address")).await.unwrap().send_keys(&s.users.addr("official")).await.unwrap();
        c.find(Locator::Css("#password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
        c.find(Locator::Css("#signin")).await.unwrap().click().await.unwrap();

        // The open-cases page lists the case opened by mail.
        let table = el(&c, "#cases").await.text().await.unwrap();
        assert!(table.contains(&r), "{table}");
        assert!(table.contains("Provdata"), "{table}");
        std::fs::write(shots.join("open-cases.png"), c.screenshot().await.unwrap()).unwrap();

        // The case page: the hostile subject is text, not a script.
        c.find(Locator::LinkText(&r)).await.unwrap().click().await.unwrap();
        let subjects = el(&c, "#messages").await.text().await.unwrap();
        assert!(subjects.contains("<script>alert(1)</script>"), "shown as text: {subjects}");
        let scripts = c.find_all(Locator::Css("script")).await.unwrap();
        assert!(scripts.is_empty(), "no script element on the page");
        let timeline_before = c.find_all(Locator::Css("#timeline li")).await.unwrap().len();

        // Acknowledge from the page.
        c.find(Locator::Css("#command")).await.unwrap().select_by_value("ack").await.unwrap();
        c.find(Locator::Css("#do-action")).await.unwrap().click().await.unwrap();
        let flash = el(&c, "#flash").await.text().await.unwrap();
        assert_eq!(flash, "Utfört.");
        let timeline = c.find(Locator::Css("#timeline")).await.unwrap().text().await.unwrap();
        let items = c.find_all(Locator::Css("#timeline li")).await.unwrap().len();
        assert!(items > timeline_before, "the timeline grew: {timeline}");
        assert!(timeline.contains("Kvitterat") && timeline.contains("(via webben)"), "{timeline}");
        assert!(!timeline.contains("acknowledged") && !timeline.contains("case_opened"), "no raw event kinds: {timeline}");
        // The facts with the quotes they were read from.
        let facts = c.find(Locator::Css("#facts")).await.unwrap().text().await.unwrap();
        assert!(facts.contains("System") && facts.contains("ProvWeb"), "{facts}");
        std::fs::write(shots.join("case.png"), c.screenshot().await.unwrap()).unwrap();

        // The register (the DPO's page).
        c.find(Locator::Css("form.logout button")).await.unwrap().click().await.unwrap();
        el(&c, "#address").await.send_keys(&s.users.addr("dpo")).await.unwrap();
        c.find(Locator::Css("#password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
        c.find(Locator::Css("#signin")).await.unwrap().click().await.unwrap();
        el(&c, "#cases").await;
        c.goto(&format!("{base}/register")).await.unwrap();
        let verify = el(&c, "#verify").await.text().await.unwrap();
        assert!(verify.starts_with("Registret är intakt"), "{verify}");
        let reg = c.find(Locator::Css("#register")).await.unwrap().text().await.unwrap();
        assert!(reg.contains(&r), "{reg}");
        std::fs::write(shots.join("register.png"), c.screenshot().await.unwrap()).unwrap();
        c.close().await.unwrap();
    });

    // The same event and mail as a reply would give, marked as from the web.
    let ack = s.wait_event(&r, events_before, "acknowledged");
    assert_eq!(ack["data"]["via"]["via"], "web", "{ack}");
    assert_eq!(
        ack["data"]["via"]["user"],
        s.users.addr("official"),
        "{ack}"
    );
    assert_eq!(ack["actor"], s.users.addr("official"), "{ack}");
    wait_for(20, "confirmation mail", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.subject.contains("Utfört"))
    });
    assert_eq!(s.case(&r)["state"], "acknowledged");

    // A POST without the token is refused and changes nothing.
    let official = sign_in(port, &s.users.addr("official"));
    let n = s.events(&r).len();
    let (st, _, _) = http(
        port,
        "POST",
        &format!("/cases/{r}/action"),
        &official,
        "",
        "command=note&text=x",
    );
    assert_eq!(st, 403);
    let (st, _, _) = http(
        port,
        "POST",
        &format!("/cases/{r}/action"),
        &official,
        "",
        "command=note&text=x&csrf=forged",
    );
    assert_eq!(st, 403);
    // Cross-site, even with a token.
    let (_, _, page) = http(port, "GET", &format!("/cases/{r}"), &official, "", "");
    let token = hidden_csrf(&page);
    let (st, _, _) = http(
        port,
        "POST",
        &format!("/cases/{r}/action"),
        &official,
        "Sec-Fetch-Site: cross-site\r\n",
        &format!("command=note&text=x&csrf={token}"),
    );
    assert_eq!(st, 403);
    assert_eq!(s.events(&r).len(), n, "nothing was recorded");

    // An official of another committee: 403 on the page and the API, and the
    // case is not in their list.
    let other = sign_in(port, &s.users.addr("staff"));
    let (st, _, body) = http(port, "GET", &format!("/cases/{r}"), &other, "", "");
    assert_eq!(st, 403, "{body}");
    assert!(!body.contains("Provdata"), "nothing of the case leaks");
    let (st, _, _) = http(port, "GET", &format!("/api/v1/cases/{r}"), &other, "", "");
    assert_eq!(st, 403);
    let (st, _, _) = http(
        port,
        "GET",
        &format!("/api/v1/cases/{r}/timeline"),
        &other,
        "",
        "",
    );
    assert_eq!(st, 403);
    let (_, _, list) = http(port, "GET", "/api/v1/cases", &other, "", "");
    let list: serde_json::Value = serde_json::from_str(&list).expect("json");
    assert_eq!(list["total"], 0, "{list}");
    // Not signed in: 401 on the API.
    let (st, _, _) = http(port, "GET", "/api/v1/cases", "", "", "");
    assert_eq!(st, 401);

    // The API for the official.
    let (st, head, body) = http(port, "GET", "/api/v1/cases?per_page=1", &official, "", "");
    assert_eq!(st, 200, "{head}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["schema"], "breachwatch.api.cases/1");
    assert_eq!(v["total"], 1);
    assert_eq!(v["cases"][0]["ref"], r.as_str());
    assert_eq!(v["cases"][0]["state"], "acknowledged");
    assert_eq!(v["cases"][0]["acknowledged"], true);
    assert!(
        v["cases"][0]["seconds_left"].as_i64().unwrap() > 60 * 60 * 60,
        "{v}"
    );
    let csp = head.to_ascii_lowercase();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("x-content-type-options: nosniff"),
        "{head}"
    );
    let (_, _, body) = http(
        port,
        "GET",
        &format!("/api/v1/cases/{r}/timeline"),
        &official,
        "",
        "",
    );
    let t: serde_json::Value = serde_json::from_str(&body).expect("json");
    let evs = t["events"].as_array().expect("events");
    assert_eq!(evs.len(), s.events(&r).len());
    assert!(
        evs.iter()
            .all(|e| e["hash"].as_str().is_some_and(|h| h.len() == 64)),
        "{t}"
    );

    // The generated documents download with the bytes their SHA-256 names.
    let (_, _, page) = http(port, "GET", &format!("/cases/{r}"), &official, "", "");
    let prefix = format!("/cases/{r}/documents/");
    let links: Vec<String> = page
        .split(&format!("href=\"{prefix}"))
        .skip(1)
        .filter_map(|rest| rest.split('"').next().map(str::to_string))
        .collect();
    assert!(!links.is_empty(), "document links on the case page: {page}");
    for sha in &links {
        let (st, head, _) = http(port, "GET", &format!("{prefix}{sha}"), &official, "", "");
        assert_eq!(st, 200, "{head}");
        let body = raw_body(port, &format!("{prefix}{sha}"), &official);
        use sha2::Digest;
        assert_eq!(
            &hex::encode(sha2::Sha256::digest(&body)),
            sha,
            "the bytes hash to the recorded SHA-256"
        );
    }
    let (st, _, _) = http(
        port,
        "GET",
        &format!("{prefix}{}", "0".repeat(64)),
        &official,
        "",
        "",
    );
    assert_eq!(st, 404, "only documents on the timeline");
    let (st, _, _) = http(
        port,
        "GET",
        &format!("{prefix}{}", links[0]),
        &other,
        "",
        "",
    );
    assert_eq!(st, 403, "not for another committee");

    // /metrics wants the configured bearer token (web.metrics_token).
    let (st, head, _) = http(port, "GET", "/metrics", "", "", "");
    assert_eq!(st, 401, "{head}");
    let (st, _, _) = http(
        port,
        "GET",
        "/metrics",
        "",
        "Authorization: Bearer wrong-token-wrong-token\r\n",
        "",
    );
    assert_eq!(st, 401);
    // It parses as Prometheus text and says one open case.
    let (st, _, body) = http(
        port,
        "GET",
        "/metrics",
        "",
        &format!("Authorization: Bearer {METRICS_TOKEN}\r\n"),
        "",
    );
    assert_eq!(st, 200);
    let scrape = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string())))
        .expect("Prometheus text format");
    let value = |name: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name)
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or_else(|| panic!("{name} in {body}"))
    };
    assert_eq!(value("breachwatch_open_cases"), 1.0);
    assert_eq!(value("breachwatch_overdue_cases"), 0.0);
    let left = value("breachwatch_seconds_to_next_deadline");
    assert!((60.0 * 3600.0..72.0 * 3600.0).contains(&left), "{left}");
    value("breachwatch_outbox_depth");
    let (st, _, _) = http(port, "GET", "/readyz", "", "", "");
    assert_eq!(st, 200);
}

/// Signs in on the login page of the browser (signing out first when signed in).
async fn browser_sign_in(c: &fantoccini::Client, base: &str, address: &str) {
    c.goto(&format!("{base}/")).await.unwrap();
    if let Ok(out) = c.find(Locator::Css("form.logout button")).await {
        out.click().await.unwrap();
    }
    el(c, "#address").await.send_keys(address).await.unwrap();
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Css("#signin"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    el(c, "header form.logout span").await;
}

/// Roles in the browser: an official sees no register link and gets 403 on
/// the admin pages; an admin sees the effective configuration without any
/// secret and tests the rules on an uploaded .eml with the CLI's answer. NIS2
/// from the case page: the official answers `nis2: ja` there, the case
/// machine records it as from the web, and the open-cases list puts the case
/// under its early-warning deadline (the stored next deadline moved).
#[test]
fn roles_admin_pages_and_a_nis2_action_in_a_real_browser() {
    let s = setup(Knobs::default());
    let (port, _d) = start_web(&s);
    let base = format!("http://127.0.0.1:{port}");
    s.forward(2, "Dataintrång hos Provdata");
    wait_for(20, "opening notice", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.subject.contains("Ny personuppgiftsincident"))
    });
    let r = s.cases()[0]["ref"].as_str().expect("case ref").to_string();
    // Two more cases from other suppliers: one under 24 h left, one overdue.
    for (hours, supplier, domain, system, what) in [
        (
            52,
            "Edvida AB",
            "edvida.example",
            "Skolportalen",
            "elevers namn och personnummer var åtkomliga för obehöriga i Skolportalen",
        ),
        (
            80,
            "Larmia Omsorg AB",
            "larmia.example",
            "TrygghetsLarm",
            "brukares namn, adresser och hälsouppgifter kan ha kopierats ur TrygghetsLarm vid ett dataintrång",
        ),
    ] {
        let now = chrono::Utc::now();
        let raw = format!(
            "From: Sam Staff <{staff}>\r\nTo: {breach}\r\nSubject: VB: Säkerhetsincident i {system}\r\n\
Date: {date}\r\nMessage-ID: <fwd-{n}@staff.example.test>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
Hej! Detta kom till funktionsbrevlådan.\r\n\r\nSam Staff\r\n\r\n________________________________\r\n\
Från: Kundservice <noreply@{domain}>\r\nSkickat: {orig}\r\nTill: IT-support <it-support@example.test>\r\n\
Ämne: Säkerhetsincident i {system}\r\n\r\nTill våra kunder\r\n\r\n\
Vi har upptäckt att {what}.\r\n\r\nMed vänliga hälsningar\r\n{supplier}\r\n",
            staff = s.users.addr("staff"),
            breach = s.users.addr("breach"),
            date = now.to_rfc2822(),
            n = rand::random::<u64>(),
            orig = sv_outlook_date(now - chrono::Duration::hours(hours)),
        );
        s.send("staff", raw.as_bytes());
    }
    wait_for(30, "three cases", || (s.cases().len() == 3).then_some(()));
    let events_before = s.events(&r).len();
    // A message naming the case, for `rules test` (never sent).
    let eml = s.dir.path().join("komplettering.eml");
    std::fs::write(
        &eml,
        format!(
            "From: {from}\r\nTo: {to}\r\nSubject: SV: {r} komplettering\r\nDate: {date}\r\n\
Message-ID: <rules-web-{n}@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Leverantören har skickat fler uppgifter om incidenten i ProvWeb.\r\n",
            from = s.users.addr("staff"),
            to = s.users.addr("breach"),
            date = chrono::Utc::now().to_rfc2822(),
            n = rand::random::<u32>(),
        ),
    )
    .unwrap();
    let cli = s.cli(&["rules", "test", &eml.display().to_string()]);
    let cli_case = cli
        .lines()
        .find_map(|l| l.strip_prefix("case:"))
        .expect("the CLI's case line")
        .trim()
        .to_string();
    let cli_committee = cli
        .lines()
        .find_map(|l| l.strip_prefix("committee:"))
        .and_then(|l| l.trim().split(" (").next())
        .expect("the CLI's committee line")
        .to_string();
    assert!(cli_case.starts_with(&format!("joins {r}")), "{cli}");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (_driver, dport) = chromedriver();
    let shots = screenshots_dir();
    rt.block_on(async {
        let c = browser(dport).await;
        // The official: no register or admin links, 403 on the admin pages.
        browser_sign_in(&c, &base, &s.users.addr("official")).await;
        let nav = el(&c, "header nav").await.text().await.unwrap();
        assert!(nav.contains("Öppna ärenden"), "{nav}");
        for hidden in ["Register", "Karantän", "Inställningar", "Testa regler"] {
            assert!(
                !nav.contains(hidden),
                "{hidden} hidden for an official: {nav}"
            );
        }
        for path in ["/admin/config", "/admin/rules", "/register"] {
            c.goto(&format!("{base}{path}")).await.unwrap();
            let body = el(&c, "main").await.text().await.unwrap();
            assert!(body.contains("403"), "{path} refused: {body}");
        }

        // NIS2 from the case page, as a reply would: `nis2: ja`.
        c.goto(&format!("{base}/cases/{r}")).await.unwrap();
        el(&c, "#nis2-command")
            .await
            .select_by_value("nis2")
            .await
            .unwrap();
        c.find(Locator::Css("#nis2-choice"))
            .await
            .unwrap()
            .select_by_value("yes")
            .await
            .unwrap();
        c.find(Locator::Css("#nis2-text"))
            .await
            .unwrap()
            .send_keys("Provdata levererar en samhällsviktig tjänst till kommunen")
            .await
            .unwrap();
        c.find(Locator::Css("#do-nis2"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert_eq!(el(&c, "#flash").await.text().await.unwrap(), "Utfört.");
        let timeline = c
            .find(Locator::Css("#timeline"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            timeline.contains("NIS2-beslut") && timeline.contains("(via webben)"),
            "{timeline}"
        );
        let clocks = c
            .find(Locator::Css("#clocks"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(clocks.contains("tidig varning"), "{clocks}");
        // The list, nearest deadline first: the overdue case, the one with
        // 20 h left, then this one under its early warning (22 h left; its
        // GDPR deadline is 70 h away), the stored next deadline having moved.
        c.goto(&format!("{base}/")).await.unwrap();
        el(&c, "#cases").await;
        let mut rows = Vec::new();
        for tr in c.find_all(Locator::Css("#cases tbody tr")).await.unwrap() {
            rows.push(tr.text().await.unwrap());
        }
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert!(
            rows[0].contains("TrygghetsLarm") && rows[0].contains("försenat"),
            "{rows:?}"
        );
        assert!(rows[1].contains("Skolportalen"), "{rows:?}");
        assert!(
            rows[2].contains(&r) && rows[2].contains("tidig varning"),
            "{rows:?}"
        );

        // The admin: the links, the configuration without secrets, rules test.
        browser_sign_in(&c, &base, &s.users.addr("admin")).await;
        let nav = el(&c, "header nav").await.text().await.unwrap();
        for shown in ["Register", "Karantän", "Inställningar", "Testa regler"] {
            assert!(nav.contains(shown), "{shown} for an admin: {nav}");
        }
        c.find(Locator::LinkText("Inställningar"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let config = el(&c, "#config").await.text().await.unwrap();
        assert!(
            config.contains(&s.users.addr("official")),
            "the routing is there: {config}"
        );
        assert!(config.contains("Secret(***)"), "{config}");
        assert!(
            !config.contains(&"5a".repeat(64)),
            "the cookie key is not shown"
        );
        assert!(
            !config.contains(METRICS_TOKEN),
            "the metrics token is not shown"
        );
        assert!(!config.contains("$argon2"), "no password hash is shown");
        std::fs::write(
            shots.join("admin-config.png"),
            c.screenshot().await.unwrap(),
        )
        .unwrap();
        c.find(Locator::LinkText("Testa regler"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        el(&c, "#eml")
            .await
            .send_keys(&eml.display().to_string())
            .await
            .unwrap();
        c.find(Locator::Css("#rules-test"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let placement = el(&c, "#placement").await.text().await.unwrap();
        assert_eq!(placement, cli_case, "the CLI's answer");
        let committee = c
            .find(Locator::Css("#committee"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            committee.starts_with(&cli_committee),
            "{committee} / {cli_committee}"
        );
        let official = c
            .find(Locator::Css("#official"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(official.contains(&s.users.addr("official")), "{official}");
        std::fs::write(shots.join("admin-rules.png"), c.screenshot().await.unwrap()).unwrap();
        // The DPO's open cases (the README's screenshot).
        browser_sign_in(&c, &base, &s.users.addr("dpo")).await;
        el(&c, "#cases").await;
        std::fs::write(
            shots.join("open-cases-dpo.png"),
            c.screenshot().await.unwrap(),
        )
        .unwrap();
        c.close().await.unwrap();
    });
    // The case machine's event, from the web, by the official.
    let ev = s.wait_event(&r, events_before, "nis2_decided");
    assert_eq!(ev["data"]["via"]["via"], "web", "{ev}");
    assert_eq!(ev["actor"], s.users.addr("official"), "{ev}");
    // Nothing of the upload was recorded.
    assert_eq!(s.cases().len(), 3);

    // Over HTTP: an upload without the token, and by a non-admin, is refused.
    let admin = sign_in(port, &s.users.addr("admin"));
    let body = "--b\r\nContent-Disposition: form-data; name=\"eml\"; filename=\"x.eml\"\r\n\r\nFrom: a@b\r\n\r\nx\r\n--b--\r\n";
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(20))).ok();
    write!(
        conn,
        "POST /admin/rules HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nCookie: {admin}\r\n\
Sec-Fetch-Site: same-origin\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).ok();
    assert!(
        answer.starts_with("HTTP/1.1 403"),
        "no token, no test: {answer}"
    );
    let official = sign_in(port, &s.users.addr("official"));
    let (st, _, _) = http(port, "GET", "/admin/config", &official, "", "");
    assert_eq!(st, 403);
    let (st, _, page) = http(port, "GET", "/admin/config", &admin, "", "");
    assert_eq!(st, 200);
    assert!(!page.contains(&"5a".repeat(64)) && page.contains("Secret(***)"));
}

/// A Chromium session on chromedriver (headless, a wide window).
async fn browser(dport: u16) -> fantoccini::Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"args": ["--headless=new", "--no-sandbox", "--window-size=1400,1000"]}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{dport}"))
        .await
        .expect("a Chromium session")
}

fn free_port_web(s: &Setup) -> u16 {
    with_web(s)
}

fn start_web(s: &Setup) -> (u16, Daemon) {
    let port = with_web(s);
    start_configured(s, port)
}

/// Starts the daemon of an already configured `[web]` and waits for it.
fn start_configured(s: &Setup, port: u16) -> (u16, Daemon) {
    let d = s.start();
    wait_for(60, "web view listening", || {
        if TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(!d.log_text().contains(" ERROR "), "{}", d.log_text());
            return None;
        }
        let (st, _, _) = http(port, "GET", "/healthz", "", "", "");
        (st == 200).then_some(())
    });
    (port, d)
}

/// A member of staff reports an incident in the browser: the case opens as a
/// forwarded notice would (routing, acknowledgement mail in Dovecot, the
/// official's opening notice), aware from the discovery time given, the
/// opening event saying `via web` and who; a form without what happened, or
/// with a discovery in the future, is refused with its reasons and records
/// nothing.
#[test]
fn a_member_of_staff_reports_an_incident_in_the_browser_and_a_case_opens() {
    let s = setup(Knobs::default());
    let (port, _d) = start_web(&s);
    let base = format!("http://127.0.0.1:{port}");
    let tz = chrono_tz::Europe::Stockholm;
    // Discovered five hours ago, to the minute, in the configured zone.
    let discovered = (chrono::Utc::now() - chrono::Duration::hours(5))
        .with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M")
        .to_string();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (_driver, dport) = chromedriver();
    let shots = screenshots_dir();
    let case_ref = rt.block_on(async {
        let c = browser(dport).await;
        c.goto(&format!("{base}/report")).await.expect("open /report");
        assert!(c.current_url().await.unwrap().path().ends_with("/login"));
        el(&c, "#address").await.send_keys(&s.users.addr("staff")).await.unwrap();
        c.find(Locator::Css("#password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
        c.find(Locator::Css("#signin")).await.unwrap().click().await.unwrap();
        el(&c, "header nav").await;
        c.goto(&format!("{base}/report")).await.unwrap();
        el(&c, "#what").await
            .send_keys("Klasslistor med elevernas personnummer skickades av misstag till fel vårdnadshavare.")
            .await
            .unwrap();
        // A datetime-local field takes its value as the page would set it.
        c.execute(
            "document.getElementById('discovered').value = arguments[0];",
            vec![serde_json::json!(discovered)],
        )
        .await
        .unwrap();
        c.find(Locator::Css("#system")).await.unwrap().send_keys("Skolportalen").await.unwrap();
        c.find(Locator::Css("#people")).await.unwrap().send_keys("Elever i årskurs 4 och deras vårdnadshavare").await.unwrap();
        c.find(Locator::Css("#count")).await.unwrap().send_keys("28").await.unwrap();
        c.find(Locator::Css("input[name=category][value=personal_identity_number]")).await.unwrap().click().await.unwrap();
        c.find(Locator::Css("input[name=ongoing][value=no]")).await.unwrap().click().await.unwrap();
        std::fs::write(shots.join("report.png"), c.screenshot().await.unwrap()).unwrap();
        c.find(Locator::Css("#send-report")).await.unwrap().click().await.unwrap();
        let r = el(&c, "#report-ref").await.text().await.unwrap();
        std::fs::write(shots.join("reported.png"), c.screenshot().await.unwrap()).unwrap();
        c.close().await.unwrap();
        r
    });
    assert!(case_ref.starts_with("PUI-"), "{case_ref}");
    let cases = s.cases();
    assert_eq!(cases.len(), 1, "{cases:?}");
    assert_eq!(cases[0]["ref"], case_ref.as_str());
    let case = s.case(&case_ref);
    let aware = chrono::DateTime::parse_from_rfc3339(case["aware_at"].as_str().expect("aware_at"))
        .expect("rfc3339")
        .with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    assert_eq!(
        aware, discovered,
        "awareness is the discovery time given: {case}"
    );
    let opened = s.wait_event(&case_ref, 0, "case_opened");
    assert_eq!(opened["data"]["via"]["via"], "web", "{opened}");
    assert_eq!(
        opened["data"]["via"]["user"],
        s.users.addr("staff"),
        "{opened}"
    );
    // The same acknowledgement as a forward: to the reporter, in Dovecot.
    let ack = wait_for(30, "acknowledgement to the reporter", || {
        s.mails("staff", "")
            .into_iter()
            .find(|m| m.subject.contains("Mottaget:"))
    });
    assert!(ack.subject.contains("Skolportalen"), "{}", ack.subject);
    let body = String::from_utf8_lossy(&ack.raw).into_owned();
    assert!(
        body.contains(&case_ref) || ack.subject.contains(&case_ref),
        "{body}"
    );
    // And the official's opening notice, routed like any notice.
    wait_for(30, "opening notice to the official", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.subject.contains("Ny personuppgiftsincident"))
    });
    // The facts with their evidence on the official's case page.
    let official = sign_in(port, &s.users.addr("official"));
    let (st, _, page) = http(
        port,
        "GET",
        &format!("/cases/{case_ref}"),
        &official,
        "",
        "",
    );
    assert_eq!(st, 200);
    assert!(
        page.contains("Skolportalen") && page.contains("Personnummer"),
        "{page}"
    );

    // A form without what happened, with a discovery tomorrow: refused with
    // its reasons, nothing recorded.
    let staff = sign_in(port, &s.users.addr("staff"));
    let (_, _, form) = http(port, "GET", "/report", &staff, "", "");
    let token = hidden_csrf(&form);
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let (st, _, body) = http(
        port,
        "POST",
        "/report",
        &staff,
        "Sec-Fetch-Site: same-origin\r\n",
        &format!(
            "csrf={token}&what=+&discovered={}&system=X",
            tomorrow.replace(':', "%3A")
        ),
    );
    assert_eq!(st, 422, "{body}");
    assert!(
        body.contains("Beskriv vad som hände") && body.contains("efter nu"),
        "{body}"
    );
    let (st, _, _) = http(
        port,
        "POST",
        "/report",
        &staff,
        "",
        &format!("what=x&discovered={}", discovered.replace(':', "%3A")),
    );
    assert_eq!(st, 403, "no token, no report");
    assert_eq!(s.cases().len(), 1, "nothing was recorded");
}

/// Registers a client at the loopback OpenID provider (the test OAuth2
/// server) for this web view's callback and adds `[web.oidc]`; returns the
/// provider's port.
fn with_oidc(s: &Setup, web_port: u16) -> u16 {
    let oport: u16 = s
        .stack
        .get("MAILSTACK_OAUTH_PORT")
        .parse()
        .expect("MAILSTACK_OAUTH_PORT (run deploy/local/up.sh from this tree)");
    let redirect = format!("http://127.0.0.1:{web_port}/oidc/callback");
    let body = serde_json::json!({"email": s.users.addr("dpo"), "redirect_uris": [redirect], "client_name": "breachwatch web test"}).to_string();
    let (st, _, reg) = http(oport, "POST", "/register", "", "", &body);
    assert_eq!(st, 201, "{reg}");
    let reg: serde_json::Value = serde_json::from_str(&reg).expect("registration json");
    let mut cfg = std::fs::read_to_string(&s.config).expect("config");
    cfg.push_str(&format!(
        r#"
[web.oidc]
issuer_url = "http://127.0.0.1:{oport}"
client_id = "{id}"
client_secret = "{secret}"
redirect_url = "{redirect}"
label = "Logga in med testleverantören"
"#,
        id = reg["client_id"].as_str().unwrap(),
        secret = reg["client_secret"].as_str().unwrap(),
    ));
    std::fs::write(&s.config, cfg).expect("write config");
    oport
}

fn location(head: &str) -> String {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("location"))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| panic!("a Location header in {head}"))
}

/// One sign-in through the provider over plain HTTP, the provider told to
/// spoil the ID token in one way (`tamper`, "" for none). Returns the
/// callback's status and its session cookie, if any.
fn oidc_sign_in(
    port: u16,
    oport: u16,
    email: &str,
    tamper: &str,
    spoil_state: bool,
) -> (u16, Option<String>) {
    let (st, head, _) = http(port, "GET", "/login/oidc", "", "", "");
    assert_eq!(st, 303, "{head}");
    let flow = set_cookie(&head, "bw_oidc").expect("the flow cookie");
    let to = location(&head);
    let prefix = format!("http://127.0.0.1:{oport}/authorize?");
    let query = to
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("to the provider: {to}"));
    for k in [
        "code_challenge=",
        "code_challenge_method=S256",
        "nonce=",
        "state=",
        "scope=openid",
    ] {
        assert!(query.contains(k), "{k} in {query}");
    }
    // The provider's login page, then its form.
    let (st, _, page) = http(oport, "GET", &format!("/authorize?{query}"), "", "", "");
    assert_eq!(st, 200);
    assert!(page.contains("id=\"oidc-email\""), "{page}");
    let form = format!(
        "{query}&email={}&tamper={tamper}",
        email.replace('@', "%40")
    );
    let (st, head, _) = http(oport, "POST", "/authorize/login", "", "", &form);
    assert_eq!(st, 302, "{head}");
    let mut back = location(&head);
    if spoil_state {
        back = back.replace("state=", "state=x");
    }
    let path = back
        .strip_prefix(&format!("http://127.0.0.1:{port}"))
        .unwrap_or_else(|| panic!("back to us: {back}"))
        .to_string();
    let (st, head, _) = http(port, "GET", &path, &flow, "", "");
    (
        st,
        set_cookie(&head, "bw_session").filter(|c| c.len() > "bw_session=".len()),
    )
}

/// OpenID Connect against the loopback provider: the DPO signs in on the
/// provider's login page in Chromium and lands on the open cases; an ID token
/// for another audience, with another nonce, expired, from another issuer,
/// signed by a key not in the JWKS, or with an unverified address, and a
/// callback whose state is not ours, are all refused with no session.
#[test]
fn openid_connect_sign_in_through_the_provider_and_bad_id_tokens_are_refused() {
    let s = setup(Knobs::default());
    let port = free_port_web(&s);
    let oport = with_oidc(&s, port);
    let (_, _d) = start_configured(&s, port);
    let base = format!("http://127.0.0.1:{port}");

    // Refusals over plain HTTP.
    for tamper in [
        "aud",
        "nonce",
        "expired",
        "issuer",
        "signature",
        "unverified",
    ] {
        let (st, session) = oidc_sign_in(port, oport, &s.users.addr("dpo"), tamper, false);
        assert_eq!(st, 403, "an ID token spoilt by {tamper} is refused");
        assert!(session.is_none(), "no session for {tamper}");
    }
    let (st, session) = oidc_sign_in(port, oport, &s.users.addr("dpo"), "", true);
    assert_eq!(st, 403, "a state that is not ours is refused");
    assert!(session.is_none());
    // The same flow untouched signs in, and the session reads the API.
    let (st, session) = oidc_sign_in(port, oport, &s.users.addr("dpo"), "", false);
    assert_eq!(st, 200);
    let session = session.expect("a session");
    let (st, _, body) = http(port, "GET", "/api/v1/cases", &session, "", "");
    assert_eq!(st, 200, "{body}");

    // In the browser, through the provider's login page.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (_driver, dport) = chromedriver();
    let shots = screenshots_dir();
    rt.block_on(async {
        let c = browser(dport).await;
        c.goto(&format!("{base}/")).await.unwrap();
        el(&c, "#oidc").await.click().await.unwrap();
        el(&c, "#oidc-email")
            .await
            .send_keys(&s.users.addr("dpo"))
            .await
            .unwrap();
        std::fs::write(
            shots.join("oidc-provider.png"),
            c.screenshot().await.unwrap(),
        )
        .unwrap();
        c.find(Locator::Css("#oidc-signin"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let header = el(&c, "header form.logout span")
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(header, s.users.addr("dpo"));
        let url = c.current_url().await.unwrap();
        assert_eq!(url.path(), "/", "{url}");
        assert_eq!(url.port(), Some(port), "{url}");
        let h1 = c
            .find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(h1.starts_with("Öppna ärenden"), "{h1}");
        c.close().await.unwrap();
    });
}

fn store_config(db_url: &str) -> breachwatch::config::Config {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/local.toml")).unwrap();
    breachwatch::config::Config::from_toml_for(
        &text,
        |k| (k == "BREACHWATCH_DATABASE_URL").then(|| db_url.to_string()),
        breachwatch::config::Use::Offline,
    )
    .unwrap()
}

/// Reports through `Pipeline::handle_report` open cases (awareness = the
/// discovery time, routing by the words), and the web lists' one query pages,
/// filters and scopes them: the same story on SQLite and PostgreSQL.
async fn list_story(db_url: &str) {
    use breachwatch::core::notice::report::{build, ReportForm};
    use breachwatch::store::{CaseQuery, Store};
    use breachwatch::workers::ingest::{Handled, Pipeline};
    let cfg = std::sync::Arc::new(store_config(db_url));
    let store = Store::connect(db_url).await.expect("connect + migrate");
    let p = Pipeline::new(cfg.clone(), store.clone());
    let now = chrono::Utc::now();
    let tz = cfg.tz();
    let mut refs = Vec::new();
    for (i, what) in [
        "Fel mottagare fick elevlistan.",
        "Trygghetslarm i hemtjänst visade fel brukare.",
        "En USB-sticka med löneuppgifter försvann.",
    ]
    .iter()
    .enumerate()
    {
        let discovered = now - chrono::Duration::hours(10 * (i as i64 + 1));
        let form = ReportForm {
            what: what.to_string(),
            discovered: discovered
                .with_timezone(&tz)
                .format("%Y-%m-%dT%H:%M")
                .to_string(),
            system: format!("System {i}"),
            ..Default::default()
        };
        let r = build(
            &form,
            "staff@example.test",
            None,
            &format!("web-report-{i}@test"),
            tz,
            now,
        )
        .expect("a valid report");
        let via = serde_json::json!({"via": "web", "user": "staff@example.test"});
        let h = p.handle_report(&r, via, now).await.expect("handled");
        let Handled::Opened(case_ref) = h else {
            panic!("a report opens a case: {h:?}")
        };
        let rec = store.case_by_ref(&case_ref).await.unwrap().unwrap();
        let want = discovered.timestamp() / 60;
        assert_eq!(
            rec.aware_at.timestamp() / 60,
            want,
            "aware from the discovery"
        );
        refs.push(case_ref);
    }
    let q = |f: &dyn Fn(&mut CaseQuery)| {
        let mut q = CaseQuery {
            limit: 2,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let (page, total) = store.web_case_page(&q(&|_| {})).await.unwrap();
    assert_eq!(total, 3);
    assert_eq!(page.len(), 2, "a page of two");
    // Nearest deadline first: the earliest discovery.
    assert_eq!(page[0].case_ref, refs[2]);
    assert_eq!(page[1].case_ref, refs[1]);
    // The case's newest event (the opening's documents come after its opening).
    let last = page[0].last_event.as_ref().map(|k| k.as_str().to_string());
    assert!(
        matches!(last.as_deref(), Some("documents_generated" | "case_opened")),
        "{last:?}"
    );
    assert_eq!(page[0].official, "official@example.test");
    let (page, total) = store.web_case_page(&q(&|q| q.offset = 2)).await.unwrap();
    assert_eq!((page.len(), total), (1, 3));
    assert_eq!(page[0].case_ref, refs[0]);
    let (page, total) = store
        .web_case_page(&q(&|q| q.committee = "Vård- och omsorgsnämnden".into()))
        .await
        .unwrap();
    assert_eq!(total, 1, "routed by its words");
    assert_eq!(page[0].case_ref, refs[1]);
    let (_, total) = store
        .web_case_page(&q(&|q| q.roster_of = "deputy@example.test".into()))
        .await
        .unwrap();
    assert_eq!(total, 3, "the deputy is on every route");
    let (page, total) = store
        .web_case_page(&q(&|q| q.roster_of = "nobody@example.test".into()))
        .await
        .unwrap();
    assert_eq!((page.len(), total), (0, 0));
    let (_, total) = store
        .web_case_page(&q(&|q| q.state = "acknowledged".into()))
        .await
        .unwrap();
    assert_eq!(total, 0);

    // The stored next deadline is the one the core computes (received: the
    // GDPR clock), written when the case opened.
    let (page, _) = store.web_case_page(&q(&|q| q.limit = 10)).await.unwrap();
    for row in &page {
        let rec = store.case_by_ref(&row.case_ref).await.unwrap().unwrap();
        let want = rec.case().next_deadline(tz).map(|(_, at)| at.timestamp());
        assert_eq!(
            row.next_deadline_at.map(|t| t.timestamp()),
            want,
            "{}",
            row.case_ref
        );
        assert_eq!(want, Some(row.deadline_at.timestamp()));
    }
    // A row whose stored value is wrong (an older release, another zone) is
    // written again by `refresh_next_deadlines`; the list order follows.
    let sql = format!(
        "UPDATE cases SET next_deadline_at = NULL WHERE ref = '{}'",
        refs[2]
    );
    match &store {
        Store::Sqlite(s) => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&s.pool().await)
                .await
                .unwrap();
        }
        Store::Postgres(p) => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(p)
                .await
                .unwrap();
        }
    }
    let (page, _) = store.web_case_page(&q(&|_| {})).await.unwrap();
    assert_eq!(page[0].case_ref, refs[1], "no next deadline: listed last");
    assert_eq!(store.refresh_next_deadlines(tz).await.unwrap(), 1);
    assert_eq!(
        store.refresh_next_deadlines(tz).await.unwrap(),
        0,
        "nothing left to do"
    );
    let (page, _) = store.web_case_page(&q(&|_| {})).await.unwrap();
    assert_eq!(page[0].case_ref, refs[2], "nearest deadline first again");
}

#[tokio::test]
async fn case_list_and_reports_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    list_story(&format!("sqlite://{}/t.db", dir.path().display())).await;
}

#[tokio::test]
async fn case_list_and_reports_on_postgres() {
    with_pg(|url| async move { list_story(&url).await }).await;
}
