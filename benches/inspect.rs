//! Throughput of the notice reader against a bare MIME parse, over the public
//! corpus in `$BREACHWATCH_PUBLIC_CORPUS` (skipped cleanly when unset).
//!
//! Prints messages/second for `notice::read` (+ the contract JSON) and for
//! `mail_parser::MessageParser::default().parse`, their ratio, and the slowest
//! single file: each message must be read in well under 50 ms (release build).
//! Run with `cargo bench --bench inspect`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;

use breachwatch::core::notice::{self, present, ReadOptions};
use criterion::{Criterion, Throughput};

fn inspect_one(raw: &[u8], opts: &ReadOptions) -> usize {
    match notice::read(raw, opts) {
        Ok(n) => present::to_contract_json(&n, opts.tz).to_string().len(),
        Err(_) => 0,
    }
}

fn bare_one(raw: &[u8]) -> usize {
    mail_parser::MessageParser::default()
        .parse(raw)
        .map(|m| m.parts.len())
        .unwrap_or(0)
}

fn rate(files: &[Vec<u8>], f: &dyn Fn(&[u8]) -> usize) -> f64 {
    // Warm up once, then time whole passes for about two seconds.
    for raw in files {
        black_box(f(raw));
    }
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed() < Duration::from_secs(2) {
        for raw in files {
            black_box(f(raw));
        }
        n += files.len();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let Some(dir) = std::env::var_os("BREACHWATCH_PUBLIC_CORPUS") else {
        println!("BREACHWATCH_PUBLIC_CORPUS is not set: inspect benchmark skipped");
        return;
    };
    let mut paths = Vec::new();
    common::walk(Path::new(&dir), &mut paths);
    paths.sort();
    let files: Vec<Vec<u8>> = paths.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    if files.is_empty() {
        println!(
            "no files under {}: inspect benchmark skipped",
            Path::new(&dir).display()
        );
        return;
    }
    let opts = ReadOptions::default();
    // For counting instructions: `INSPECT_BENCH_PASSES=N` reads every file N
    // times and prints nothing, so under `valgrind --tool=callgrind` a pass
    // costs the difference between N passes and one (the patterns' compiling
    // and their caches' warm-up left out).
    if let Some(n) = std::env::var("INSPECT_BENCH_PASSES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        for _ in 0..n {
            for raw in &files {
                black_box(inspect_one(raw, &opts));
            }
        }
        return;
    }
    // For profiling: `INSPECT_BENCH_ONLY=1` runs only the reader loop.
    if std::env::var_os("INSPECT_BENCH_ONLY").is_some() {
        println!(
            "notice::read: {:.0} msgs/s",
            rate(&files, &|r| inspect_one(r, &opts))
        );
        return;
    }

    // For tuning: `INSPECT_BENCH_TOP=N` lists the N messages where reading costs
    // most beyond the bare parse (best of five runs each).
    if let Some(n) = std::env::var("INSPECT_BENCH_TOP")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let best = |f: &dyn Fn() -> usize| {
            (0..5)
                .map(|_| {
                    let t = Instant::now();
                    black_box(f());
                    t.elapsed()
                })
                .min()
                .unwrap_or_default()
        };
        let mut extra: Vec<(Duration, Duration, &PathBuf)> = paths
            .iter()
            .zip(&files)
            .map(|(p, raw)| {
                let read = best(&|| inspect_one(raw, &opts));
                let bare = best(&|| bare_one(raw));
                (read.saturating_sub(bare), bare, p)
            })
            .collect();
        let total: Duration = extra.iter().map(|e| e.0).sum();
        let bare_total: Duration = extra.iter().map(|e| e.1).sum();
        extra.sort_by_key(|e| std::cmp::Reverse(e.0));
        println!(
            "extra over bare parse: {:.1} ms in all (bare parse {:.1} ms)",
            total.as_secs_f64() * 1e3,
            bare_total.as_secs_f64() * 1e3
        );
        for (e, b, p) in extra.iter().take(n) {
            println!(
                "{:8.3} ms extra ({:.3} ms bare)  {}",
                e.as_secs_f64() * 1e3,
                b.as_secs_f64() * 1e3,
                p.display()
            );
        }
        return;
    }

    // The slowest single message (best of three runs each, to ignore noise
    // from the other engineers' compilers on this machine).
    let mut worst = (Duration::ZERO, PathBuf::new());
    for (p, raw) in paths.iter().zip(&files) {
        let best = (0..3)
            .map(|_| {
                let t = Instant::now();
                black_box(inspect_one(raw, &opts));
                t.elapsed()
            })
            .min()
            .unwrap_or_default();
        if best > worst.0 {
            worst = (best, p.clone());
        }
    }

    let inspect_rate = rate(&files, &|r| inspect_one(r, &opts));
    let bare_rate = rate(&files, &bare_one);
    println!("files: {}", files.len());
    println!("notice::read + contract JSON: {inspect_rate:.0} msgs/s");
    println!("bare mail_parser parse:       {bare_rate:.0} msgs/s");
    println!(
        "ratio inspect/bare:           {:.2}",
        inspect_rate / bare_rate
    );
    println!(
        "slowest file: {:.2} ms ({})",
        worst.0.as_secs_f64() * 1000.0,
        worst.1.display()
    );

    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let mut g = c.benchmark_group("public_corpus");
    g.throughput(Throughput::Elements(files.len() as u64));
    g.bench_function("notice_read", |b| {
        b.iter(|| {
            for raw in &files {
                black_box(inspect_one(raw, &opts));
            }
        })
    });
    g.bench_function("bare_parse", |b| {
        b.iter(|| {
            for raw in &files {
                black_box(bare_one(raw));
            }
        })
    });
    g.finish();
    c.final_summary();
}
