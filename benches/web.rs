//! The web view's case lists with 100,000 cases in the store: p50/p95 of the
//! open-cases page (`GET /`) and `GET /api/v1/cases` over real HTTP against
//! the real router, on SQLite and (when `BREACHWATCH_TEST_PG` names a server)
//! PostgreSQL. Not a timed test: it prints figures.
//!
//! `cargo bench --bench web` (release). `BW_BENCH_CASES` changes the count,
//! `BW_BENCH_OPEN_PERCENT` the share of cases still open (default 5).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use breachwatch::config::{Config, Use};
use breachwatch::store::Store;
use breachwatch::web::{self, WebState};
use breachwatch::workers::ingest::Pipeline;
use chrono::Utc;

const PASSWORD: &str = "demo";

/// `cargo bench` passes `--bench`; `cargo test --all-targets` (the README's
/// test command, debug build) runs this file without it, and then it only
/// checks that the pages answer over a small store: the figures come from
/// `cargo bench`.
fn benching() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn env_num(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn config(db: &str, port: u16) -> Config {
    let text = include_str!("../config/local.toml")
        .replace("sqlite://var/breachwatch.db", db)
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
    Config::from_toml_for(&text, |_| None, Use::Offline).expect("config/local.toml reads")
}

/// Inserts `n` cases (with one event each) in batches, straight into the
/// tables: a register of years, `open_percent` of it still open.
async fn seed(store: &Store, n: usize, open_percent: usize) {
    let committees = [
        "Kommunstyrelsen",
        "Vård- och omsorgsnämnden",
        "Barn- och utbildningsnämnden",
        "Tekniska nämnden",
    ];
    let officials = [
        "official@example.test",
        "deputy@example.test",
        "olle@example.test",
        "stina@example.test",
    ];
    let now = Utc::now();
    let batch = 400;
    let mut i = 0;
    while i < n {
        let end = (i + batch).min(n);
        let mut cases = String::from(
            "INSERT INTO cases (ref, state, aware_at, deadline_at, opened_at, reporter_organisation, \
             systems, route, committee, official, deputy, next_deadline_at) VALUES ",
        );
        let mut events = String::from(
            "INSERT INTO events (case_id, seq, at, kind, actor, data, prev_hash, hash) VALUES ",
        );
        for k in i..end {
            let open = k % 100 < open_percent;
            // Open cases: deadlines from 2 days ago to 3 days ahead; closed ones years back.
            let aware = if open {
                now - chrono::Duration::minutes((k % 7200) as i64)
            } else {
                now - chrono::Duration::hours(100 + (k as i64 % 40_000))
            };
            let deadline = aware + chrono::Duration::hours(72);
            let c = k % committees.len();
            let route = serde_json::json!({
                "committee": {"name": committees[c], "diarie_prefix": "KS", "delegation_point": "1"},
                "official": {"name": "O", "address": officials[c]},
                "deputy": {"name": "D", "address": officials[(c + 1) % officials.len()]},
                "dpo": {"name": "Dora", "address": "dpo@example.test"},
            })
            .to_string()
            .replace('\'', "''");
            let sep = if k == i { "" } else { "," };
            cases.push_str(&format!(
                "{sep}('PUI-{}-{:06}', '{}', '{}', '{}', '{}', 'Leverantör {} AB', '[\"System {}\"]', '{route}', '{}', '{}', '{}', {})",
                2000 + k / 100_000,
                k,
                if open { ["received", "acknowledged", "assessed", "decided"][k % 4] } else { "closed" },
                aware.to_rfc3339(),
                deadline.to_rfc3339(),
                aware.to_rfc3339(),
                k % 500,
                k % 50,
                committees[c],
                officials[c],
                officials[(c + 1) % officials.len()],
                // As the store writes it (`Case::next_deadline`): an open case
                // without a workflow runs its GDPR clock; a closed one none.
                if open {
                    format!("'{}'", deadline.to_rfc3339())
                } else {
                    "NULL".to_string()
                },
            ));
        }
        run(store, &cases).await;
        // One event per case, the case's id found by its ref.
        for k in i..end {
            let sep = if k == i { "" } else { "," };
            events.push_str(&format!(
                "{sep}((SELECT id FROM cases WHERE ref = 'PUI-{}-{:06}'), 1, '{}', 'case_opened', 'breachwatch', '{{}}', '{}', '{:064}')",
                2000 + k / 100_000,
                k,
                now.to_rfc3339(),
                "0".repeat(64),
                k,
            ));
        }
        run(store, &events).await;
        i = end;
    }
}

async fn run(store: &Store, sql: &str) {
    match store {
        Store::Sqlite(s) => {
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&s.pool().await)
                .await
                .expect("insert");
        }
        Store::Postgres(p) => {
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(p)
                .await
                .expect("insert");
        }
    }
}

fn request(port: u16, path: &str, cookie: &str, method: &str, body: &str) -> (u16, String) {
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nCookie: {cookie}\r\n\
Sec-Fetch-Site: same-origin\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    c.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).ok();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn cookie(resp: &str, name: &str) -> String {
    resp.lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .filter_map(|l| l.split_once(':').map(|(_, v)| v.trim()))
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
        .expect("cookie")
}

fn sign_in(port: u16, who: &str) -> String {
    let (_, page) = request(port, "/login", "", "GET", "");
    let pre = cookie(&page, "bw_login");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("csrf");
    let (st, resp) = request(
        port,
        "/login",
        &pre,
        "POST",
        &format!(
            "address={}&password={PASSWORD}&csrf={csrf}",
            who.replace('@', "%40")
        ),
    );
    assert_eq!(st, 303, "{resp}");
    cookie(&resp, "bw_session")
}

fn measure(port: u16, session: &str, path: &str, runs: usize) -> (f64, f64, f64) {
    // Warm up (caches, prepared statements).
    for _ in 0..5 {
        let (st, body) = request(port, path, session, "GET", "");
        assert_eq!(
            st,
            200,
            "{path}: {}",
            body.chars().take(300).collect::<String>()
        );
    }
    let mut ms: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let (st, _) = request(port, path, session, "GET", "");
            assert_eq!(st, 200);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1];
    (at(0.5), at(0.95), at(1.0))
}

async fn bench(name: &str, url: &str) {
    let n = env_num("BW_BENCH_CASES", if benching() { 100_000 } else { 300 });
    let open = env_num("BW_BENCH_OPEN_PERCENT", 5);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = config(url, port);
    let store = Store::connect(url).await.expect("store");
    store.migrate().await.expect("migrate");
    let t = Instant::now();
    seed(&store, n, open).await;
    // A store of 100,000 cases is years old: PostgreSQL's autovacuum has
    // analysed it and set its visibility map (index-only scans); the bulk
    // seed above gives it no time to, so do what it would have done.
    if let Store::Postgres(_) = &store {
        run(&store, "VACUUM ANALYZE cases").await;
        run(&store, "VACUUM ANALYZE events").await;
    }
    println!(
        "{name}: {n} cases ({open}% open) seeded in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let p = Pipeline::new(Arc::new(cfg.clone()), store);
    let state =
        WebState::new(p, cfg.web.clone().expect("[web] in config/local.toml")).expect("web state");
    let listener = web::bind(&state).await.expect("bind");
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(web::serve_on(listener, state, stop.clone()));
    let runs = env_num("BW_BENCH_RUNS", if benching() { 200 } else { 2 });
    let name = name.to_string();
    let results = tokio::task::spawn_blocking(move || {
        let dpo = sign_in(port, "dpo@example.test");
        let official = sign_in(port, "official@example.test");
        let mut out = Vec::new();
        for (who, session, path) in [
            ("DPO", &dpo, "/"),
            ("DPO", &dpo, "/?page=20"),
            ("DPO", &dpo, "/?committee=Tekniska+n%C3%A4mnden"),
            ("official", &official, "/"),
            ("DPO", &dpo, "/api/v1/cases"),
            ("DPO", &dpo, "/api/v1/cases?per_page=200&page=10"),
            ("DPO", &dpo, "/api/v1/cases?all=true&per_page=200&page=250"),
            ("official", &official, "/api/v1/cases"),
        ] {
            let (p50, p95, max) = measure(port, session, path, runs);
            out.push(format!(
                "{name:10} {who:8} {path:48} p50 {p50:6.1} ms  p95 {p95:6.1} ms  max {max:6.1} ms"
            ));
        }
        out
    })
    .await
    .unwrap();
    for l in results {
        println!("{l}");
    }
    stop.cancel();
    let _ = server.await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/bench.db", dir.path().display());
        bench("SQLite", &url).await;
        match std::env::var("BREACHWATCH_TEST_PG") {
            Ok(admin) => {
                use sqlx::Connection;
                let mut c = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("PostgreSQL");
                let db = format!("bw_bench_{:08x}", rand::random::<u32>());
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
                    .execute(&mut c)
                    .await
                    .unwrap();
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(&admin)
                    .to_string();
                bench("PostgreSQL", &format!("{base}/{db}")).await;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE {db} WITH (FORCE)"
                )))
                .execute(&mut c)
                .await
                .unwrap();
            }
            Err(_) => println!("PostgreSQL: skipped (BREACHWATCH_TEST_PG not set)"),
        }
    });
}
