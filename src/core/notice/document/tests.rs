use std::io::Write;

use super::*;

/// A ZIP archive of `entries` (name, content), deflated.
pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(content).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

/// A Word file whose body is `body` (WordprocessingML elements).
pub(crate) fn docx_of(body: &str) -> Vec<u8> {
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W}><w:body>{body}</w:body></w:document>"#
    );
    zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", xml.as_bytes()),
    ])
}

fn p(text: &str) -> String {
    format!(r#"<w:p><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>"#)
}

fn row(cells: &[&str]) -> String {
    let cells: String = cells
        .iter()
        .map(|c| format!("<w:tc><w:tcPr/>{}</w:tc>", p(c)))
        .collect();
    format!("<w:tr>{cells}</w:tr>")
}

#[test]
fn a_word_notice_reads_as_lines_and_its_table_rows_as_label_lines() {
    let body = [
        p("Anmälan av personuppgiftsincident"),
        // A paragraph's tab stops are no tabs in its text.
        r#"<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr><w:r><w:t>Vi har upptäckt </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>obehörig åtkomst</w:t></w:r><w:r><w:t xml:space="preserve"> till LabPortalen &amp; dess API.</w:t></w:r></w:p>"#.to_string(),
        "<w:p/>".to_string(),
        format!(
            "<w:tbl><w:tblPr/>{}{}{}{}</w:tbl>",
            row(&["Antal berörda", "Cirka 1 100"]),
            row(&["Upptäckt:", "2026-12-04 kl. 21:50"]),
            row(&["System", "LabPortalen", "Version 4"]),
            row(&["Tom", ""]),
        ),
        // A deleted tracked change and a field code are not the text; an
        // inserted one is.
        r#"<w:p><w:r><w:t>Cirka </w:t></w:r><w:del w:id="1"><w:r><w:delText>900</w:delText></w:r></w:del><w:ins w:id="2"><w:r><w:t>1 100</w:t></w:r></w:ins><w:r><w:instrText> PAGE </w:instrText></w:r><w:r><w:t xml:space="preserve"> patienter.</w:t></w:r></w:p>"#.to_string(),
        r#"<w:p><w:r><w:t>Rad ett</w:t><w:br/><w:t>rad två</w:t><w:tab/><w:t>efter tab</w:t></w:r></w:p>"#.to_string(),
    ]
    .concat();
    assert_eq!(
        text(&docx_of(&body), Format::Docx).unwrap(),
        "Anmälan av personuppgiftsincident\n\
         Vi har upptäckt obehörig åtkomst till LabPortalen & dess API.\n\
         \n\
         Antal berörda: Cirka 1 100\n\
         Upptäckt: 2026-12-04 kl. 21:50\n\
         System | LabPortalen | Version 4\n\
         Tom\n\
         Cirka 1 100 patienter.\n\
         Rad ett\nrad två\tefter tab"
    );
}

#[test]
fn an_opendocument_notice_reads_as_lines_without_its_deletions_and_comments() {
    let content = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0">
  <office:body>
    <office:text>
      <text:tracked-changes><text:changed-region text:id="c1"><text:deletion><text:p>borttaget 900</text:p></text:deletion></text:changed-region></text:tracked-changes>
      <text:h text:outline-level="1">Incidentrapport</text:h>
      <text:p>Intrånget pågick<text:s text:c="2"/>den 4 december 2026<text:tab/>kl. 18.00–22.30.<office:annotation><text:p>Kolla tiden</text:p></office:annotation></text:p>
      <text:p>Rad ett<text:line-break/>rad två</text:p>
      <table:table>
        <table:table-row><table:table-cell><text:p>Antal berörda</text:p></table:table-cell><table:table-cell><text:p>cirka 1 100</text:p></table:table-cell></table:table-row>
        <table:table-row><table:table-cell><text:p>Kategorier</text:p></table:table-cell><table:table-cell><text:p>Hälsa</text:p><text:p>Personnummer</text:p></table:table-cell></table:table-row>
      </table:table>
    </office:text>
  </office:body>
</office:document-content>"#;
    let file = zip_of(&[
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
        ("content.xml", content.as_bytes()),
    ]);
    assert_eq!(
        text(&file, Format::Odt).unwrap(),
        "Incidentrapport\n\
         Intrånget pågick  den 4 december 2026\tkl. 18.00–22.30.\n\
         Rad ett\nrad två\n\
         Antal berörda: cirka 1 100\n\
         Kategorier: Hälsa Personnummer"
    );
    // The same archive read as Word has no Word part.
    assert_eq!(text(&file, Format::Docx), None);
}

/// Our own draft decision (docx-rs) reads back as its text.
#[test]
fn a_word_file_written_by_docx_rs_reads_back() {
    use docx_rs::{Docx, Paragraph, Run, Table, TableCell, TableRow};
    let cell =
        |s: &str| TableCell::new().add_paragraph(Paragraph::new().add_run(Run::new().add_text(s)));
    let mut buf = std::io::Cursor::new(Vec::new());
    Docx::new()
        .add_paragraph(
            Paragraph::new().add_run(Run::new().add_text("Beslut om personuppgiftsincident")),
        )
        .add_table(Table::new(vec![TableRow::new(vec![
            cell("Diarienummer"),
            cell("KS 2026/123"),
        ])]))
        .build()
        .pack(&mut buf)
        .unwrap();
    assert_eq!(
        text(buf.get_ref(), Format::Docx).unwrap(),
        "Beslut om personuppgiftsincident\nDiarienummer: KS 2026/123"
    );
}

#[test]
fn what_is_not_a_readable_document_is_none() {
    assert_eq!(text(b"", Format::Docx), None);
    assert_eq!(text(b"%PDF-1.4\n%\xc7\xec\n", Format::Docx), None);
    assert_eq!(text(&zip_of(&[("a.txt", b"hej")]), Format::Docx), None);
    // A document part with no text.
    assert_eq!(text(&docx_of("<w:p/><w:p/>"), Format::Docx), None);
    // Cut in the middle: no end record, no directory.
    let whole = docx_of(&p("Hej"));
    assert_eq!(text(&whole[..whole.len() / 2], Format::Docx), None);
    // Larger than the bound.
    let mut big = docx_of(&p("Hej"));
    big.resize(MAX_FILE_BYTES + 1, 0);
    assert_eq!(text(&big, Format::Docx), None);
}

#[test]
fn a_directory_of_too_many_entries_is_not_opened() {
    let names: Vec<String> = (0..=MAX_ENTRIES).map(|i| format!("f{i}")).collect();
    let mut entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    let xml = format!(
        r#"<w:document {W}><w:body>{}</w:body></w:document>"#,
        p("Hej")
    );
    entries.push(("word/document.xml", xml.as_bytes()));
    let many = zip_of(&entries);
    assert_eq!(text(&many, Format::Docx), None);
    // The end record's counts forged small: the signatures still count.
    let mut forged = many.clone();
    let end = forged.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
    forged[end + 8..end + 12].copy_from_slice(&[5, 0, 5, 0]);
    assert_eq!(text(&forged, Format::Docx), None);
    entries.drain(..2);
    assert_eq!(directory_entries_at_most(&zip_of(&entries)), MAX_ENTRIES);
    assert_eq!(
        text(&zip_of(&entries), Format::Docx).as_deref(),
        Some("Hej")
    );
}

/// A part that inflates a thousandfold is read only to its bound, and the
/// text kept is bounded.
#[test]
fn a_document_that_inflates_hugely_is_read_to_its_bounds() {
    let run = "a ".repeat(8 * 1024 * 1024);
    let xml = format!(
        r#"<w:document {W}><w:body><w:p><w:r><w:t>{run}</w:t></w:r></w:p>{}</w:body></w:document>"#,
        p("efter")
    );
    let file = zip_of(&[("word/document.xml", xml.as_bytes())]);
    assert!(file.len() < 100_000, "{}", file.len());
    let t = text(&file, Format::Docx).unwrap();
    assert_eq!(
        t.chars().count(),
        MAX_TEXT_CHARS - 1,
        "the last space trimmed"
    );
    assert!(!t.contains("efter"));
    // Many short paragraphs: the bound counts their line ends too.
    let many = p("Rad").repeat(20_000);
    let t = text(&docx_of(&many), Format::Docx).unwrap();
    assert!(t.chars().count() <= MAX_TEXT_CHARS, "{}", t.chars().count());
}

/// Damaged XML: the text up to the damage.
#[test]
fn damaged_xml_is_read_up_to_the_damage() {
    let body = format!(
        "{}<w:p><w:r><w:t>trasig</w:x></w:r></w:p>{}",
        p("Hel rad"),
        p("efter")
    );
    assert_eq!(
        text(&docx_of(&body), Format::Docx).as_deref(),
        Some("Hel rad\ntrasig")
    );
}

mod never_panics {
    use proptest::prelude::*;

    use super::super::*;
    use super::{docx_of, p};

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            for f in [Format::Docx, Format::Odt] {
                let t = text(&bytes, f);
                prop_assert!(t.is_none_or(|t| t.chars().count() <= MAX_TEXT_CHARS));
            }
        }

        #[test]
        fn on_a_word_file_with_bytes_changed(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16)
        ) {
            let mut file = docx_of(&[p("Antal berörda: 1 100"), p("Upptäckt den 4 december")].concat());
            for (at, b) in edits {
                let i = at.index(file.len());
                file[i] = b;
            }
            let t = text(&file, Format::Docx);
            prop_assert!(t.is_none_or(|t| t.chars().count() <= MAX_TEXT_CHARS));
        }

        #[test]
        fn on_any_xml_like_text(xml in r#"(<w:p>|</w:p>|<w:t>|</w:t>|<w:tr>|</w:tr>|<w:tc>|</w:tc>|<w:del>|</w:del>|<w:br/>|&amp;|&#[0-9]{1,8};|&x;|[a-zå ]{0,5}){0,200}"#) {
            let t = xml_text(&xml, Format::Docx);
            prop_assert!(t.chars().count() <= MAX_TEXT_CHARS);
            let t = xml_text(&xml.replace("w:", "text:"), Format::Odt);
            prop_assert!(t.chars().count() <= MAX_TEXT_CHARS);
        }
    }
}

#[test]
fn a_pdfs_lines_join_where_the_page_or_a_cell_wrapped() {
    let raw = "\n\nRapport om personuppgiftsincident\nRapport från biträde till ansvarig enligt \navtalet.\n\n\
               Berört system Tidvis Mobil (appen för \nhemtjänsten)\n\
               Pågår incidenten? Nej. Stängd 2026-12-\n03 kl. 13:45.\n\
               Kategorier Namn och uppgifter\nom hälsa\n\
               Personuppgiftsansvarig Vallsjö kommun\nPersonuppgiftsbiträde Tidvis\x0c  AB \n\n\
               Slut.\nnästa sida\n\nfri-\ntext";
    assert_eq!(
        pdf_lines(raw),
        "Rapport om personuppgiftsincident\n\
         Rapport från biträde till ansvarig enligt avtalet.\n\
         Berört system Tidvis Mobil (appen för hemtjänsten)\n\
         Pågår incidenten? Nej. Stängd 2026-12-03 kl. 13:45.\n\
         Kategorier Namn och uppgifter om hälsa\n\
         Personuppgiftsansvarig Vallsjö kommun\n\
         Personuppgiftsbiträde Tidvis AB\n\
         Slut.\nnästa sida\nfri-text"
    );
    assert_eq!(pdf_lines("Namn - \nadress"), "Namn - adress");
    // A line whose words the extraction split (Chromium's PDFs through
    // pdf-extract) is left out; the rest stays.
    assert_eq!(
        pdf_lines(
            "Antal berörda\nregistrerade Cirka 2 300\n\nDen 3  december kl. 1 4 :2 0  larmade v å r öv erv akning om ov anliga ex porter.\nOrsak Angrepp"
        ),
        "Antal berörda registrerade Cirka 2 300\nOrsak Angrepp"
    );
    assert_eq!(
        split_fragments("Rapport frå n biträ de till personuppgiftsansv arig"),
        1
    );
    assert_eq!(
        split_fragments("Vi har i dag sett att ca 40 st. av era kunder är berörda"),
        0
    );
    assert_eq!(pdf_lines(""), "");
    assert_eq!(pdf_lines("\n \x0c\n"), "");
}

#[test]
fn a_pdf_is_handed_to_the_reader_only_when_it_starts_like_one_and_its_text_is_bounded() {
    let long = PdfReader::new(|_: &[u8]| Some("ord ".repeat(MAX_TEXT_CHARS)));
    let text = pdf_text(b"%PDF-1.7\n...", &long).unwrap();
    assert!(text.chars().count() <= MAX_TEXT_CHARS, "{}", text.len());
    // Junk before the header is allowed within the first kilobyte.
    let mut late = vec![b' '; 1000];
    late.extend_from_slice(b"%PDF-1.4");
    assert!(pdf_text(&late, &long).is_some());
    let mut too_late = vec![b' '; 1024];
    too_late.extend_from_slice(b"%PDF-1.4");
    let called = PdfReader::new(|_: &[u8]| -> Option<String> { panic!("not a PDF") });
    for file in [&too_late[..], b"PK\x03\x04", b""] {
        assert_eq!(pdf_text(file, &called), None);
    }
    let mut large = b"%PDF-1.4\n".to_vec();
    large.resize(MAX_FILE_BYTES + 1, b'0');
    assert_eq!(pdf_text(&large, &called), None);
    // Nothing but white space and control characters is no text.
    let blank = PdfReader::new(|_: &[u8]| Some("\n\x0c \n".into()));
    assert_eq!(pdf_text(b"%PDF-1.4", &blank), None);
}
