//! The reader's heap: what `notice::read` keeps after reading the public
//! corpus (`$BREACHWATCH_PUBLIC_CORPUS`, skipped cleanly when unset) and the
//! notice fixtures once, on one thread as the daemon's reader thread does:
//! its compiled patterns and their search caches, which most of the drain's
//! peak RSS beyond the executable is (README, issue #10). Also a digest of
//! what `inspect --json` and `inspect --explain` print for every file, so a
//! change to the reader's patterns meant to save memory can show it reads
//! every file as before (`READER_MEMORY_OUT=FILE` writes the outputs
//! themselves, to diff). Run with `cargo bench --bench reader_memory`.

use std::path::{Path, PathBuf};
use std::time::Instant;

mod common;
#[path = "../tests/support/counting.rs"]
mod counting;

use breachwatch::core::notice::{self, present, ReadOptions};
use sha2::{Digest, Sha256};

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

fn mb(n: usize) -> f64 {
    n as f64 / 1e6
}

/// What `inspect` prints for one file: the contract JSON and the explanation
/// (or the reader's error).
fn inspect(raw: &[u8], opts: &ReadOptions) -> String {
    match notice::read(raw, opts) {
        Ok(n) => format!(
            "{}\n{}\n",
            present::to_contract_json(&n, opts.tz),
            present::explain(&n, opts.tz)
        ),
        Err(e) => format!("error: {e}\n"),
    }
}

fn main() {
    let Some(corpus) = std::env::var_os("BREACHWATCH_PUBLIC_CORPUS") else {
        println!("BREACHWATCH_PUBLIC_CORPUS is not set: reader memory benchmark skipped");
        return;
    };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let roots = [
        PathBuf::from(&corpus),
        fixtures.join("notices"),
        fixtures.join("notices-extra"),
        fixtures.join("notices-classes"),
    ];
    // Files are named relative to their root: the digest does not depend on
    // where the checkout or the corpus is.
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for (i, root) in roots.iter().enumerate() {
        let mut paths = Vec::new();
        common::walk(root, &mut paths);
        for p in paths {
            let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
            files.push((format!("{i}/{rel}"), p));
        }
    }
    files.sort();
    if files.is_empty() {
        println!("no files to read: reader memory benchmark skipped");
        return;
    }
    let opts = ReadOptions::default();
    let out_path = std::env::var_os("READER_MEMORY_OUT");
    let mut digest = Sha256::new();
    let mut kept = String::new();
    let before = counting::in_use();
    let mut biggest = 0usize;
    let mut passes = Vec::new();
    for pass in 0..2 {
        let started = Instant::now();
        let mut peak_over_file = 0usize;
        for (name, path) in &files {
            let Ok(raw) = std::fs::read(path) else {
                continue;
            };
            biggest = biggest.max(raw.len());
            let at_start = counting::restart_peak();
            let text = inspect(&raw, &opts);
            peak_over_file = peak_over_file.max(counting::peak().saturating_sub(at_start));
            drop(raw);
            if pass == 0 {
                digest.update(name.as_bytes());
                digest.update(b"\n");
                digest.update(text.as_bytes());
                if out_path.is_some() {
                    kept.push_str(name);
                    kept.push('\n');
                    kept.push_str(&text);
                }
            }
        }
        passes.push((
            started.elapsed(),
            counting::in_use().saturating_sub(before),
            peak_over_file,
        ));
    }
    let retained_kept = kept.capacity();
    if let Some(p) = out_path {
        if let Err(e) = std::fs::write(&p, &kept) {
            println!("could not write {}: {e}", Path::new(&p).display());
        }
    }
    println!(
        "{} files read twice on one thread (largest {:.1} MB)",
        files.len(),
        mb(biggest)
    );
    for (i, (took, retained, peak)) in passes.iter().enumerate() {
        // The first pass's outputs, if kept for READER_MEMORY_OUT, are not
        // the reader's.
        let retained = retained.saturating_sub(retained_kept);
        println!(
            "pass {}: {:.2} s; heap the reader keeps afterwards {:.1} MB; \
             most heap one file's read took beyond that {:.1} MB",
            i + 1,
            took.as_secs_f64(),
            mb(retained),
            mb(*peak)
        );
    }
    println!(
        "digest of every file's inspect --json and --explain output: {}",
        hex::encode(digest.finalize())
    );
}
