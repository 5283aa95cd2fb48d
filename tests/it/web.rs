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
[[web.accounts]]
address = "{official}"
password_hash = "{hash}"
[[web.accounts]]
address = "{dpo}"
password_hash = "{hash}"
[[web.accounts]]
address = "{staff}"
password_hash = "{hash}"
"#,
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
    wait_for(20, "web view listening", || {
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
        assert!(timeline.contains("acknowledged") && timeline.contains("(web)"), "{timeline}");
        std::fs::write(shots.join("case.png"), c.screenshot().await.unwrap()).unwrap();

        // The register (the DPO's page).
        c.find(Locator::Css("form.logout button")).await.unwrap().click().await.unwrap();
        el(&c, "#address").await.send_keys(&s.users.addr("dpo")).await.unwrap();
        c.find(Locator::Css("#password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
        c.find(Locator::Css("#signin")).await.unwrap().click().await.unwrap();
        el(&c, "#cases").await;
        c.goto(&format!("{base}/register")).await.unwrap();
        let verify = el(&c, "#verify").await.text().await.unwrap();
        assert!(verify.starts_with("register intact"), "{verify}");
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

    // /metrics parses as Prometheus text and says one open case.
    let (st, _, body) = http(port, "GET", "/metrics", "", "", "");
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
