//! The draft decision as a .docx (docx-rs 0.4): A4, a page header repeating the
//! date and diarienummer as the seeds do, our own heading styles (docx-rs has
//! none built in), a bullet list for "Underlag för beslutet" and a "Sida X av Y"
//! footer. Deterministic: created/modified come from the decision's date, and
//! docx-rs writes fixed zip timestamps, so equal input gives equal bytes.

use std::io::Cursor;

use chrono::NaiveDate;
use docx_rs::{
    AbstractNumbering, AlignmentType, Docx, Footer, Header, IndentLevel, Level, LevelJc, LevelText,
    LineSpacing, LineSpacingType, NumPages, NumberFormat, Numbering, NumberingId, PageMargin,
    PageNum, Paragraph, Run, RunFonts, SpecialIndentType, Start, Style, StyleType, Table,
    TableCell, TableRow, WidthType,
};

use super::RenderError;
use crate::core::documents::words::placeholder_pieces;
use crate::core::documents::{Block, DraftDecision};

/// Bullet numbering id: id 1 is reserved for docx-rs's built-in decimal list.
const BULLETS: usize = 2;

/// A4 in twentieths of a point, with 25 mm side margins.
const PAGE_W: u32 = 11906;
const PAGE_H: u32 = 16838;
const MARGIN: i32 = 1418;
const TEXT_W: usize = (PAGE_W as usize) - 2 * (MARGIN as usize);

const FONT: &str = "Arial";

fn styles(docx: Docx) -> Docx {
    let font = || RunFonts::new().ascii(FONT).hi_ansi(FONT).cs(FONT);
    docx.add_style(
        Style::new("Normal", StyleType::Paragraph)
            .name("Normal")
            .fonts(font())
            .size(22)
            // An explicit "auto" rule: without it LibreOffice reads 264 as an
            // exact 13.2 pt and crowds the larger title and heading lines.
            .line_spacing(
                LineSpacing::new()
                    .after(120)
                    .line(264)
                    .line_rule(LineSpacingType::Auto),
            ),
    )
    .add_style(
        Style::new("Title", StyleType::Paragraph)
            .name("Title")
            .based_on("Normal")
            .next("Normal")
            .fonts(font())
            .size(32)
            .bold()
            .line_spacing(
                LineSpacing::new()
                    .before(240)
                    .after(240)
                    .line(240)
                    .line_rule(LineSpacingType::Auto),
            ),
    )
    .add_style(
        Style::new("Heading1", StyleType::Paragraph)
            .name("heading 1")
            .based_on("Normal")
            .next("Normal")
            .fonts(font())
            .size(26)
            .bold()
            .outline_lvl(0)
            .line_spacing(LineSpacing::new().before(280).after(100)),
    )
    .add_style(
        Style::new("Small", StyleType::Paragraph)
            .name("Small")
            .based_on("Normal")
            .fonts(font())
            .size(18)
            .line_spacing(LineSpacing::new().after(0)),
    )
}

/// `s` as runs of `p`: every placeholder ("[att fylla i]", "KS 2026/____")
/// in a yellow-highlighted run of its own, so no blank can be missed on paper
/// or on screen.
fn runs(mut p: Paragraph, s: &str, bold: bool) -> Paragraph {
    for (blank, piece) in placeholder_pieces(s) {
        let mut r = Run::new().add_text(piece);
        if blank {
            r = r.highlight("yellow");
        }
        if bold {
            r = r.bold();
        }
        p = p.add_run(r);
    }
    p
}

fn text(s: &str) -> Paragraph {
    runs(Paragraph::new(), s, false)
}

/// The page header: the municipality and the committee on the left; date and diarienummer on the right,
/// as on every page of the seeds.
fn header(d: &DraftDecision) -> Header {
    let cell = |w: usize, p: Vec<Paragraph>| {
        p.into_iter()
            .fold(TableCell::new().width(w, WidthType::Dxa), |c, p| {
                c.add_paragraph(p)
            })
    };
    let left = TEXT_W / 2;
    let right = TEXT_W - left;
    let small = |s: &str| text(s).style("Small");
    let table = Table::without_borders(vec![TableRow::new(vec![
        cell(
            left,
            d.controller
                .iter()
                .map(|c| text(c).style("Small"))
                .chain([Paragraph::new()
                    .style("Small")
                    .add_run(Run::new().add_text(&d.committee).bold())])
                .collect(),
        ),
        cell(
            right,
            vec![
                small(&d.date).align(AlignmentType::Right),
                small("Diarienummer").align(AlignmentType::Right),
                runs(
                    Paragraph::new().style("Small").align(AlignmentType::Right),
                    &d.diarienummer,
                    true,
                ),
            ],
        ),
    ])])
    .set_grid(vec![left, right])
    .width(TEXT_W, WidthType::Dxa);
    // Word writes a paragraph after a table in a header and may offer to
    // repair a header that ends with a table, so end with an empty one.
    Header::new()
        .add_table(table)
        .add_paragraph(Paragraph::new().style("Small"))
}

fn footer(d: &DraftDecision) -> Footer {
    Footer::new().add_paragraph(
        Paragraph::new()
            .style("Small")
            .align(AlignmentType::Center)
            .add_run(Run::new().add_text(format!("{} · Sida ", d.case_ref)))
            .add_page_num(PageNum::new())
            .add_run(Run::new().add_text(" av "))
            .add_num_pages(NumPages::new()),
    )
}

/// The empty "Normal" style docx-rs 0.4 always writes before the styles we
/// add: with ours that made two "Normal" definitions, which Word may offer to
/// repair. Removed from the built part (a test holds the count at one).
const EMPTY_NORMAL: &str = r#"<w:style w:type="paragraph" w:styleId="Normal"><w:name w:val="Normal" /><w:rPr /><w:pPr><w:rPr /></w:pPr><w:qFormat /></w:style>"#;

/// The document language for spell-checking, set on the run defaults.
const LANG_DEFAULT: &str = r#"<w:rPrDefault><w:rPr><w:lang w:val="sv-SE" w:eastAsia="sv-SE" w:bidi="ar-SA" /></w:rPr></w:rPrDefault>"#;

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What docx-rs 0.4 cannot set: one "Normal" style, the sv-SE language and
/// the author (`dc:creator`, `cp:lastModifiedBy`, `dc:language`). Edits of
/// the built parts; a part not in the expected shape is left as it is (the
/// tests fail on that rather than the document).
fn finish_parts(xml: &mut docx_rs::XMLDocx, author: &str) {
    let styles = String::from_utf8_lossy(&xml.styles)
        .replacen(EMPTY_NORMAL, "", 1)
        .replacen("<w:rPrDefault><w:rPr /></w:rPrDefault>", LANG_DEFAULT, 1);
    xml.styles = styles.into_bytes();
    let author = xml_escape(author);
    let core = String::from_utf8_lossy(&xml.doc_props.core)
        .replacen(
            "<dc:creator>unknown</dc:creator>",
            &format!("<dc:creator>{author}</dc:creator>"),
            1,
        )
        .replacen(
            "<cp:lastModifiedBy>unknown</cp:lastModifiedBy>",
            &format!("<cp:lastModifiedBy>{author}</cp:lastModifiedBy>"),
            1,
        )
        .replacen(
            "</cp:coreProperties>",
            "<dc:language>sv-SE</dc:language></cp:coreProperties>",
            1,
        );
    xml.doc_props.core = core.into_bytes();
}

/// The .docx bytes of a decision dated `date`, written by `author` (the
/// deciding official, or "breachwatch" when none is configured).
pub fn decision_docx(
    d: &DraftDecision,
    date: NaiveDate,
    author: &str,
) -> Result<Vec<u8>, RenderError> {
    let stamp = format!("{}T00:00:00Z", date.format("%Y-%m-%d"));
    let mut docx = styles(Docx::new())
        .page_size(PAGE_W, PAGE_H)
        .page_margin(
            PageMargin::new()
                .top(1701)
                .bottom(1418)
                .left(MARGIN)
                .right(MARGIN)
                .header(709)
                .footer(567),
        )
        .created_at(&stamp)
        .updated_at(&stamp)
        .add_abstract_numbering(
            AbstractNumbering::new(BULLETS).add_level(
                Level::new(
                    0,
                    Start::new(1),
                    NumberFormat::new("bullet"),
                    LevelText::new("•"),
                    LevelJc::new("left"),
                )
                .indent(
                    Some(720),
                    Some(SpecialIndentType::Hanging(360)),
                    None,
                    None,
                ),
            ),
        )
        .add_numbering(Numbering::new(BULLETS, BULLETS))
        .header(header(d))
        .footer(footer(d))
        .add_paragraph(text(&d.title).style("Title"));

    for s in &d.sections {
        docx = docx.add_paragraph(text(&s.heading).style("Heading1").keep_next(true));
        for b in &s.blocks {
            match b {
                Block::Paragraph { text: t } => docx = docx.add_paragraph(text(t)),
                Block::List { items } => {
                    for i in items {
                        docx = docx.add_paragraph(
                            text(i).numbering(NumberingId::new(BULLETS), IndentLevel::new(0)),
                        );
                    }
                }
            }
        }
    }

    let sig = &d.signature;
    docx = docx
        .add_paragraph(text(&sig.closing).line_spacing(LineSpacing::new().before(480).after(480)))
        .add_paragraph(
            text(&sig.name)
                .keep_next(true)
                .line_spacing(LineSpacing::new().after(0)),
        )
        .add_paragraph(text(&sig.title))
        .add_paragraph(text(&sig.delegation).line_spacing(LineSpacing::new().before(240)))
        .add_paragraph(
            Paragraph::new()
                .keep_next(true)
                .line_spacing(LineSpacing::new().before(240).after(0))
                .add_run(Run::new().add_text(&sig.recipients_heading).bold()),
        );
    for r in &sig.recipients {
        docx = docx.add_paragraph(text(r));
    }

    let mut buf = Cursor::new(Vec::new());
    let mut xml = docx.build();
    finish_parts(&mut xml, author);
    xml.pack(&mut buf)
        .map_err(|e| RenderError::Docx(e.to_string()))?;
    Ok(buf.into_inner())
}
