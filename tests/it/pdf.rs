//! The PDF reader's child process (`src/pdf.rs`), this build's own binary:
//! a supplier's form exported to PDF by LibreOffice gives its text; a PDF
//! whose content inflates past the child's address space ends the child by
//! its limit (and only by it), a child past its time is killed, and any
//! file that is no PDF gives no text; `inspect` reads a notice's attached
//! PDF form for its facts.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use breachwatch::pdf::{run, Failure, Limits};

use crate::harness::{bin, repo};

fn form() -> Vec<u8> {
    std::fs::read(repo().join("tests/fixtures/forms/incidentrapport-libreoffice.pdf"))
        .expect("the PDF form fixture")
}

fn limits(memory_mib: u64, time: Duration) -> Limits {
    Limits {
        time,
        memory_bytes: memory_mib * 1024 * 1024,
    }
}

fn exe() -> PathBuf {
    PathBuf::from(bin())
}

#[test]
fn the_child_reads_the_text_of_a_pdf_form() {
    let text = run(&exe(), limits(512, Duration::from_secs(30)), &form()).expect("text");
    for row in [
        "Antal berörda registrerade Cirka 2 300",
        "När upptäcktes incidenten? 2026-12-03 kl. 14:20",
        "Kontaktperson: Lena Holm",
    ] {
        assert!(text.contains(row), "{row:?} not in {text:?}");
    }
}

/// Deflate bits, least significant first (RFC 1951 3.1.1).
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, len: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += len;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    /// A Huffman code goes most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        let reversed = code.reverse_bits() >> (32 - len);
        self.put(reversed, len);
    }
}

/// A zlib stream of `n` zero bytes in about n / 160 bytes: one fixed-Huffman
/// block of a literal 0 and then copies of 258 bytes at distance 1.
fn zeros_zlib(n: u64) -> Vec<u8> {
    let mut b = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        n: 0,
    };
    b.put(1, 1); // final block
    b.put(1, 2); // fixed Huffman codes
    b.code(0x30, 8); // literal 0
    for _ in 0..(n - 1) / 258 {
        b.code(0xC5, 8); // length 258 (code 285)
        b.code(0, 5); // distance 1
    }
    b.code(0, 7); // end of block
    if b.n > 0 {
        b.out.push(b.acc as u8);
    }
    // Adler-32 of n zeros: a = 1, b = n mod 65521 (n - 1 rounded down to
    // whole copies, plus the literal).
    let len = 1 + (n - 1) / 258 * 258;
    let adler = ((len % 65521) << 16) | 1;
    b.out.extend_from_slice(&(adler as u32).to_be_bytes());
    b.out
}

/// A one-page PDF whose content stream is `content` (FlateDecode).
fn pdf_with_content(content: &[u8]) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    let objects: [Vec<u8>; 4] = [
        b"<</Type/Catalog/Pages 2 0 R>>".to_vec(),
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>".to_vec(),
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<<>>/Contents 4 0 R>>".to_vec(),
        [
            format!("<</Length {}/Filter/FlateDecode>>\nstream\n", content.len()).as_bytes(),
            content,
            b"\nendstream",
        ]
        .concat(),
    ];
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend_from_slice(o);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    pdf.extend_from_slice(b"xref\n0 5\n0000000000 65535 f \n");
    for o in offsets {
        pdf.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!("trailer\n<</Size 5/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    pdf
}

#[test]
fn a_pdf_inflating_past_the_childs_memory_ends_the_child_by_its_limit() {
    // 512 MiB of content in a 3.4 MB file (under the 4 MiB a file may have).
    let bomb = pdf_with_content(&zeros_zlib(512 << 20));
    assert!(bomb.len() < 4 << 20, "{}", bomb.len());
    // The same small stream is read through (a control: the file is a PDF
    // the child parses).
    let small = pdf_with_content(&zeros_zlib(1 << 10));
    let r = run(&exe(), limits(512, Duration::from_secs(60)), &small);
    assert!(
        matches!(r, Ok(_) | Err(Failure::Exit(5))),
        "a small PDF: {r:?}"
    );
    // Under 256 MiB of address space the child's allocation fails and it
    // aborts (SIGABRT): no text, and not its own error exit.
    let started = Instant::now();
    let r = run(&exe(), limits(256, Duration::from_secs(60)), &bomb);
    assert_eq!(r, Err(Failure::Signal(6)), "the bomb");
    assert!(started.elapsed() < Duration::from_secs(60));
    // Through the reader the core is given: none.
    assert_eq!(
        breachwatch::pdf::read(&exe(), limits(256, Duration::from_secs(60)), &bomb),
        None
    );
}

#[test]
fn a_child_past_its_time_is_killed_and_other_files_give_no_text() {
    // No child parses a PDF in a millisecond (it must start first).
    assert_eq!(
        run(&exe(), limits(512, Duration::from_millis(1)), &form()),
        Err(Failure::TimedOut)
    );
    let ok = limits(512, Duration::from_secs(30));
    let mut cut = form();
    cut.truncate(cut.len() / 3);
    for (what, file) in [
        ("empty", Vec::new()),
        ("a ZIP", b"PK\x03\x04\x14\x00".to_vec()),
        ("a header only", b"%PDF-1.7\n%%EOF\n".to_vec()),
        ("cut", cut),
    ] {
        let r = run(&exe(), ok, &file);
        assert!(
            r.as_ref().map_or(true, |t| t.trim().is_empty()),
            "{what}: {r:?}"
        );
    }
    // More than a file may have: refused before parsing.
    let mut large = form();
    large.resize(4 * 1024 * 1024 + 1, b' ');
    assert_eq!(run(&exe(), ok, &large), Err(Failure::Exit(4)));
    // A bad binary path is no text either.
    assert_eq!(
        run(
            std::path::Path::new("/nonexistent/breachwatch"),
            ok,
            &form()
        ),
        Err(Failure::Spawn)
    );
}

#[test]
fn inspect_reads_a_notice_from_its_attached_pdf_form() {
    let eml = repo().join("tests/fixtures/forms/f01-pdf-form-bifogad.eml");
    let out = Command::new(bin())
        .args(["inspect", "--json"])
        .arg(&eml)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let i = &v["incident"];
    assert_eq!(v["kind"], "breach_notice");
    assert_eq!(i["discovered_at"], "2026-12-03T14:20:00+01:00");
    assert_eq!(i["occurred_from"], "2026-12-02T22:00:00+01:00");
    assert_eq!(i["occurred_to"], "2026-12-03T13:45:00+01:00");
    assert_eq!(i["ongoing"], false);
    assert_eq!(i["systems"], serde_json::json!(["Tidvis Mobil"]));
    assert_eq!(
        i["data_categories"],
        serde_json::json!(["identification", "personal_identity_number", "health"])
    );
    assert_eq!(
        i["data_subjects"],
        serde_json::json!({"min": 2300, "max": 2300})
    );
    assert_eq!(i["cause"], "attack");
    let out = Command::new(bin())
        .args(["inspect", "--explain"])
        .arg(&eml)
        .output()
        .unwrap();
    let explain = String::from_utf8_lossy(&out.stdout);
    assert!(
        explain.contains(
            "document: the text of the attached document Incidentrapport TV-INC-2026-041.pdf"
        ),
        "{explain}"
    );
}

/// The daemon reads an attached PDF through its own child: a supplier's
/// covering mail ("Se bifogad incidentrapport") and the form as a PDF,
/// through Postfix and Dovecot; the official's opening notice gives the
/// form's facts and says they were read from the file.
#[test]
fn the_daemon_opens_a_case_from_a_notice_in_an_attached_pdf() {
    use crate::harness::{setup, wait_for, Knobs};
    let s = setup(Knobs::default());
    let d = s.start();
    let raw = std::fs::read_to_string(repo().join("tests/fixtures/forms/f01-pdf-form-bifogad.eml"))
        .unwrap()
        .replace(
            "<f01-pdf-form@tidvis.example>",
            &format!("<f01-{}@tidvis.example>", rand::random::<u32>()),
        );
    s.send("support@tidvis.example", raw.as_bytes());
    let notice = wait_for(60, "the opening notice", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.text.contains("VAD HAR HÄNT"))
    });
    let text = notice.text.split_whitespace().collect::<Vec<_>>().join(" ");
    for want in [
        "Bifogat till meddelandet: Incidentrapport TV-INC-2026-041.pdf. Det som står ovan är \
         läst ur meddelandets text och ur filen:",
        "Tidvis Mobil",
        "2 300",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{}", notice.text);
    }
    assert!(!d.log_text().contains("pdf not read"), "{}", d.log_text());
    assert_eq!(s.cases().len(), 1);
    d.terminate();
}
