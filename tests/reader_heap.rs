//! The reader's heap is bounded whatever a mail's text (hostile mail, the
//! brief's "bound everything that comes from outside"): each shape below, a
//! text of thousands of one kind of thing, is read with at most
//! [`MAX_HEAP_BYTES`] of heap beyond what the mail itself holds. Its own test
//! binary, as it counts every allocation of the process
//! (`support/counting.rs`), and one test, so that nothing else allocates
//! beside it.
//!
//! What it caught: the times of a sentence each kept a copy of the sentence,
//! so a 30,000-character line of "kl 21.54" took 85 MB of heap to read
//! (session 46).

#[path = "support/counting.rs"]
mod counting;

use breachwatch::core::notice::{read, ReadOptions};

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

/// The most heap one read may add to what it starts with. An ordinary notice
/// takes about 1 MB once the patterns are compiled; the shapes here 0.3-2.7 MB
/// (session 46; the times 83.5 MB before their sentences were borrowed).
const MAX_HEAP_BYTES: usize = 8 * 1024 * 1024;

const CUE: &str = "Vi har drabbats av ett dataintrång i ProvWeb. \
                   Personnummer för 1 200 patienter kan ha lästs.";

fn mail(id: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Support <support@supplier.example>\r\nTo: breach@example.test\r\n\
         Subject: VB: Personuppgiftsincident: dataintrång hos leverantören\r\n\
         Date: Fri, 04 Dec 2026 20:05:00 +0100\r\nMessage-ID: <{id}@supplier.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: {content_type}; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// A ZIP archive of (name, content, deflated?).
fn zip_of(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content, deflated) in entries {
        let how = match deflated {
            true => zip::CompressionMethod::Deflated,
            false => zip::CompressionMethod::Stored,
        };
        let opts = zip::write::SimpleFileOptions::default().compression_method(how);
        w.start_file(*name, opts).expect("zip entry");
        w.write_all(content).expect("zip write");
    }
    w.finish().expect("zip").into_inner()
}

/// A notice whose covering text has the cue, with `file` attached as a
/// Word form (base64, as mail carries it).
fn with_form(id: &str, file: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(file);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "From: Support <support@supplier.example>\r\nTo: breach@example.test\r\n\
         Subject: Personuppgiftsincident: dataintrång hos leverantören\r\n\
         Date: Fri, 04 Dec 2026 20:05:00 +0100\r\nMessage-ID: <{id}@supplier.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{CUE} Se bifogad rapport.\r\n\
         --b\r\nContent-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; \
         name=\"rapport.docx\"\r\nContent-Disposition: attachment; filename=\"rapport.docx\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

fn repeat(n: usize, f: impl Fn(usize) -> String) -> String {
    (0..n).map(f).collect::<Vec<_>>().join(" ")
}

/// (name, mail): one sentence of thousands of one kind of thing each.
fn shapes() -> Vec<(&'static str, Vec<u8>)> {
    let plain = |id, text: String| mail(id, "text/plain", &format!("{CUE}\r\n{text}"));
    vec![
        (
            "times",
            plain(
                "times",
                repeat(9_000, |i| format!("kl {:02}.{:02}", i % 24, i % 60)),
            ),
        ),
        (
            "dates",
            plain(
                "dates",
                repeat(6_000, |i| {
                    format!("2026-{:02}-{:02} {:02}:{:02}", 1 + i % 12, 1 + i % 28, i % 24, i % 60)
                }),
            ),
        ),
        (
            "days",
            plain(
                "days",
                repeat(3_000, |_| {
                    "i fredags kväll, i lördags, igår, i förrgår, i morse".to_string()
                }),
            ),
        ),
        (
            "counts",
            plain(
                "counts",
                repeat(3_000, |i| format!("cirka {} personer berörs", 1 + i * 7)),
            ),
        ),
        (
            "names",
            plain(
                "names",
                repeat(4_000, |i| {
                    format!("Qx{}Zy{i}", char::from(b'a' + (i % 26) as u8))
                }),
            ),
        ),
        (
            "word form inflating 1,000-fold",
            with_form(
                "wordbomb",
                &zip_of(&[(
                    "word/document.xml",
                    format!(
                        "<w:document><w:body>{}</w:body></w:document>",
                        "<w:p><w:r><w:t>Antal berörda: 1 200 kl 10.00</w:t></w:r></w:p>"
                            .repeat(600_000)
                    )
                    .as_bytes(),
                    true,
                )]),
            ),
        ),
        (
            "word form of 4 MiB stored",
            with_form(
                "wordbig",
                &zip_of(&[
                    (
                        "word/document.xml",
                        format!(
                            "<w:document><w:body>{}</w:body></w:document>",
                            "<w:p><w:r><w:t>Qx Zy kl 10.00 den 3 december</w:t></w:r></w:p>"
                                .repeat(40_000)
                        )
                        .as_bytes(),
                        false,
                    ),
                    ("word/media/image1.png", &vec![0x5a; 1_200_000], false),
                ]),
            ),
        ),
        (
            "html",
            mail(
                "html",
                "text/html",
                &format!(
                    "<html><head><style>{}</style></head><body><img src=\"data:image/png;base64,{}\">\
                     <p>{CUE}</p>{}</body></html>",
                    "p.MsoNormal{margin:0cm;font-size:11.0pt}\n".repeat(8_000),
                    "iVBORw0KGgo".repeat(40_000),
                    "<div><span>kl 10.00</span></div>".repeat(20_000)
                ),
            ),
        ),
    ]
}

#[test]
fn hostile_texts_are_read_in_bounded_heap() {
    let opts = ReadOptions::default();
    // Warm up: the patterns compiled and their caches filled once, as in a
    // running daemon, by an ordinary notice.
    let warm = mail(
        "warm",
        "text/plain",
        &format!("{CUE} Det upptäcktes den 3 december 2026 kl. 14.00 och pågår inte längre."),
    );
    read(&warm, &opts).expect("an ordinary notice is read");
    let mut report = Vec::new();
    for (name, raw) in shapes() {
        let start = counting::restart_peak();
        let n = read(&raw, &opts).expect("read");
        let grew = counting::peak().saturating_sub(start);
        assert!(n.kind.is_incident(), "{name}: {:?}", n.kind);
        report.push(format!(
            "{name}: {} kB of mail, {:.1} MB of heap",
            raw.len() / 1024,
            grew as f64 / 1e6
        ));
        assert!(
            grew <= MAX_HEAP_BYTES,
            "{name}: reading {} bytes took {grew} bytes of heap ({})",
            raw.len(),
            report.join("; ")
        );
    }
    eprintln!("{}", report.join("\n"));
}
