//! Reading an attached PDF's text in a child process with limits.
//!
//! A supplier's notice often comes as a PDF form. A PDF parser given
//! hostile input can loop, recurse or allocate without end, and nothing
//! inside one process can stop it, so the text is read by a child: this
//! binary started again as `breachwatch pdf-text`, which first limits its
//! own CPU time, address space, file writes and core dumps (rustix's
//! `setrlimit`, the `prlimit64` system call),
//! then reads the file from stdin (at most `document::MAX_FILE_BYTES`),
//! extracts its text with `pdf-extract` and writes at most
//! `document::MAX_TEXT_CHARS` characters to stdout. The parent kills it
//! after the wall-clock limit; any failure (a limit hit, a panic, a
//! damaged file, an exit that is not 0) is no text, never an error of the
//! message: the notice is read from its mail alone, as before.
//!
//! The core never starts a process: it is given a `PdfReader`
//! (`ReadOptions::pdf`) that calls [`read`]. Only the command line makes
//! one (`cli`), for this binary's own path; a test binary never does.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::core::notice::{
    PdfReader, MAX_DOCUMENT_BYTES as MAX_FILE_BYTES, MAX_DOCUMENT_CHARS as MAX_TEXT_CHARS,
};

/// The hidden subcommand the child runs.
pub const SUBCOMMAND: &str = "pdf-text";

/// What one child may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Killed after this long (wall clock); its CPU time is limited to the
    /// same, rounded up to whole seconds.
    pub time: Duration,
    /// Its address space.
    pub memory_bytes: u64,
}

impl Limits {
    pub fn from_config(r: &crate::config::Reader) -> Self {
        Limits {
            time: Duration::from_secs(r.pdf_timeout_seconds),
            memory_bytes: r.pdf_memory_mib.saturating_mul(1024 * 1024),
        }
    }
}

/// A reader that runs `exe pdf-text` for each PDF.
pub fn reader(exe: PathBuf, limits: Limits) -> PdfReader {
    PdfReader::new(move |file| read(&exe, limits, file))
}

/// The reader for this binary, when its path is known.
pub fn reader_of_this_binary(limits: Limits) -> Option<PdfReader> {
    let exe = std::env::current_exe().ok()?;
    Some(reader(exe, limits))
}

/// Why a child gave no text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// It could not be started.
    Spawn,
    /// Killed at the wall-clock limit.
    TimedOut,
    /// It exited with this code, not 0 (3: its limits could not be set,
    /// 4: the file is too large, 5: no text in it).
    Exit(i32),
    /// A signal ended it: a limit was hit (SIGXCPU at the CPU limit, SIGABRT
    /// when an allocation failed under the address-space limit).
    Signal(i32),
    /// What it wrote is not UTF-8.
    NotText,
}

/// The text `exe pdf-text` reads in `file`, within `limits`; None on any
/// failure (logged with the file's hash, never its content).
pub fn read(exe: &Path, limits: Limits, file: &[u8]) -> Option<String> {
    let started = Instant::now();
    let r = run(exe, limits, file);
    let ms = started.elapsed().as_millis() as u64;
    let file_hash = short_hash(file);
    match r {
        Ok(text) => {
            tracing::debug!(file = %file_hash, bytes = file.len(), chars = text.chars().count(), ms, "pdf read");
            Some(text)
        }
        Err(why) => {
            tracing::info!(file = %file_hash, bytes = file.len(), ms, why = ?why, "pdf not read");
            None
        }
    }
}

fn short_hash(file: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(file)[..8])
}

/// Runs `exe pdf-text` on `file` within `limits`: its text, or why not.
pub fn run(exe: &Path, limits: Limits, file: &[u8]) -> Result<String, Failure> {
    let cpu = limits.time.as_secs_f64().ceil().max(1.0) as u64;
    let mut child = Command::new(exe)
        .arg(SUBCOMMAND)
        .arg("--cpu-seconds")
        .arg(cpu.to_string())
        .arg("--memory-bytes")
        .arg(limits.memory_bytes.to_string())
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|_| Failure::Spawn)?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(Failure::Spawn);
    };
    // A conforming child writes at most MAX_TEXT_CHARS characters.
    let max_out = (MAX_TEXT_CHARS * 4 + 4) as u64;
    let deadline = Instant::now() + limits.time;
    std::thread::scope(|s| {
        // The file goes in and the text comes out on their own threads: a
        // child that stops reading or writing cannot block this one past
        // the deadline (killing it closes both pipes).
        s.spawn(move || {
            let _ = stdin.write_all(file);
        });
        let (tx, rx) = std::sync::mpsc::channel();
        s.spawn(move || {
            let mut out = Vec::new();
            let _ = stdout.take(max_out).read_to_end(&mut out);
            let _ = tx.send(out);
        });
        // The text is whole when the child closes its stdout, at its exit:
        // no polling while it works.
        let out = rx.recv_timeout(limits.time).ok();
        let status = match out {
            Some(_) => exit_by(&mut child, deadline),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                None
            }
        };
        match (status, out) {
            (None, _) | (_, None) => Err(Failure::TimedOut),
            (Some(st), _) if !st.success() => Err(match (st.code(), st.signal()) {
                (Some(code), _) => Failure::Exit(code),
                (None, signal) => Failure::Signal(signal.unwrap_or(0)),
            }),
            (Some(_), Some(out)) => String::from_utf8(out).map_err(|_| Failure::NotText),
        }
    })
}

/// The child's exit status once it has exited, or None when it is still
/// running at `deadline` (it is killed then).
fn exit_by(child: &mut std::process::Child, deadline: Instant) -> Option<std::process::ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// The child (`breachwatch pdf-text`): limits itself, reads one PDF from
/// stdin, writes its text to stdout. Exit 3: the limits could not be set
/// (it never reads without them); 4: the file is too large or unreadable;
/// 5: no text could be extracted.
pub fn child_main(cpu_seconds: u64, memory_bytes: u64) -> ExitCode {
    // A panic's message could quote the file: say nothing (stderr is
    // discarded by the parent anyway).
    std::panic::set_hook(Box::new(|_| {}));
    if limit_self(cpu_seconds, memory_bytes).is_err() {
        return ExitCode::from(3);
    }
    let mut file = Vec::new();
    let read = std::io::stdin()
        .lock()
        .take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut file);
    if read.is_err() || file.len() > MAX_FILE_BYTES {
        return ExitCode::from(4);
    }
    let text = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(&file).ok())
        .ok()
        .flatten();
    let Some(text) = text else {
        return ExitCode::from(5);
    };
    let end = text
        .char_indices()
        .nth(MAX_TEXT_CHARS)
        .map_or(text.len(), |(i, _)| i);
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(&text.as_bytes()[..end])
        .and_then(|_| stdout.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(4),
    }
}

/// Limits this process: CPU seconds, address space, no file written, no
/// core dump (it would hold the file's personal data).
fn limit_self(cpu_seconds: u64, memory_bytes: u64) -> std::io::Result<()> {
    use rustix::process::{setrlimit, Resource, Rlimit};
    let both = |n: u64| Rlimit {
        current: Some(n),
        maximum: Some(n),
    };
    setrlimit(Resource::Core, both(0))?;
    setrlimit(Resource::Fsize, both(0))?;
    setrlimit(Resource::Cpu, both(cpu_seconds.max(1)))?;
    setrlimit(Resource::As, both(memory_bytes))?;
    Ok(())
}
