//! A4 PDFs with embedded DejaVu Sans and QR codes drawn as vector rectangles.
//!
//! Blocks are first laid out into pages of drawing operations ([`Op`]), then
//! written with krilla. The layout step is plain data, so tests can check what
//! each page shows without parsing the PDF.

use krilla::Document;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

use super::qr::{self, QUIET_ZONE_MODULES, QrMatrix};
use super::{Block, DocumentPrint, Item, PrintError, TextStyle, TicketPrint};

/// DejaVu Sans 2.37, under the licence in `assets/fonts/LICENSE-DejaVu.txt`.
static REGULAR_FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD_FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// A4 in PDF points (1/72 inch).
const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const MARGIN: f32 = 48.0;
const FOOTER_SIZE: f32 = 7.5;

const BODY_SIZE: f32 = 9.5;
const SMALL_SIZE: f32 = 8.0;
const TITLE_SIZE: f32 = 18.0;
const LINE_FACTOR: f32 = 1.35;
const COLUMN_GAP: f32 = 10.0;

/// Side of a document's verification QR code: 30 mm.
const DOCUMENT_QR_SIZE: f32 = 85.0;
/// Side of a ticket's QR code: about 50 mm, easy for a gate scanner.
const TICKET_QR_SIZE: f32 = 140.0;
const TICKET_PADDING: f32 = 12.0;
const TICKET_GAP: f32 = 14.0;

/// One drawing operation; `y` grows downwards from the top of the page.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    /// Text with its baseline at `y`.
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        text: String,
    },
    /// A filled rectangle, for rules.
    Fill {
        x: f32,
        y: f32,
        width: f32,
        height: f32,
    },
    /// An outlined rectangle, for ticket frames.
    Frame {
        x: f32,
        y: f32,
        width: f32,
        height: f32,
    },
    /// A QR code with its quiet zone, `size` points on a side.
    Qr {
        x: f32,
        y: f32,
        size: f32,
        matrix: QrMatrix,
    },
}

impl Op {
    fn shifted(self, dx: f32, dy: f32) -> Op {
        match self {
            Op::Text {
                x,
                y,
                size,
                bold,
                text,
            } => Op::Text {
                x: x + dx,
                y: y + dy,
                size,
                bold,
                text,
            },
            Op::Fill {
                x,
                y,
                width,
                height,
            } => Op::Fill {
                x: x + dx,
                y: y + dy,
                width,
                height,
            },
            Op::Frame {
                x,
                y,
                width,
                height,
            } => Op::Frame {
                x: x + dx,
                y: y + dy,
                width,
                height,
            },
            Op::Qr { x, y, size, matrix } => Op::Qr {
                x: x + dx,
                y: y + dy,
                size,
                matrix,
            },
        }
    }
}

/// Advance widths of the embedded fonts, for wrapping and right alignment.
struct Metrics {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

impl Metrics {
    fn new() -> Result<Self, PrintError> {
        let parse = |data: &'static [u8]| {
            FontRef::new(data).map_err(|error| PrintError::Pdf(format!("embedded font: {error}")))
        };
        Ok(Self {
            regular: parse(REGULAR_FONT)?,
            bold: parse(BOLD_FONT)?,
        })
    }

    /// Returns the width of `text` in points, from the advance widths without
    /// kerning; characters the font lacks count as zero.
    fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let font = if bold { &self.bold } else { &self.regular };
        let charmap = font.charmap();
        let glyph_metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
        text.chars()
            .filter_map(|character| charmap.map(character))
            .filter_map(|glyph| glyph_metrics.advance_width(glyph))
            .sum()
    }

    /// Splits `text` into lines no wider than `width`, between words where it
    /// can and inside a word longer than a whole line.
    fn wrap(&self, text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut current = String::new();
        for word in text.split_whitespace() {
            let candidate = if current.is_empty() {
                word.to_string()
            } else {
                format!("{current} {word}")
            };
            if self.width(&candidate, size, bold) <= width {
                current = candidate;
                continue;
            }
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            // A word wider than the line is cut wherever it reaches the edge.
            for character in word.chars() {
                current.push(character);
                if self.width(&current, size, bold) > width && current.chars().count() > 1 {
                    current.pop();
                    lines.push(std::mem::take(&mut current));
                    current.push(character);
                }
            }
        }
        if !current.is_empty() || lines.is_empty() {
            lines.push(current);
        }
        lines
    }
}

/// A column being filled top to bottom, starting new pages as needed.
struct Layout<'a> {
    metrics: &'a Metrics,
    pages: Vec<Vec<Op>>,
    left: f32,
    right: f32,
    top: f32,
    /// Bottom edge of the page area, infinite for a layout measured before it is placed.
    bottom: f32,
    y: f32,
}

impl<'a> Layout<'a> {
    fn new(metrics: &'a Metrics, left: f32, right: f32, top: f32, bottom: f32) -> Self {
        Self {
            metrics,
            pages: vec![Vec::new()],
            left,
            right,
            top,
            bottom,
            y: top,
        }
    }

    fn width(&self) -> f32 {
        self.right - self.left
    }

    fn push(&mut self, op: Op) {
        self.pages
            .last_mut()
            .expect("a layout always has a page")
            .push(op);
    }

    /// Starts a new page unless `height` more points fit on this one.
    fn ensure(&mut self, height: f32) {
        if self.y + height > self.bottom && self.y > self.top {
            self.pages.push(Vec::new());
            self.y = self.top;
        }
    }

    fn text_at(&mut self, x: f32, size: f32, bold: bool, text: &str) {
        self.push(Op::Text {
            x,
            y: self.y + size,
            size,
            bold,
            text: text.to_string(),
        });
    }

    fn right_aligned(&mut self, right: f32, size: f32, bold: bool, text: &str) {
        let x = right - self.metrics.width(text, size, bold);
        self.text_at(x, size, bold, text);
    }

    fn paragraph(&mut self, text: &str, size: f32, bold: bool, centered: bool) {
        for line in self.metrics.wrap(text, size, bold, self.width()) {
            self.ensure(size * LINE_FACTOR);
            let x = if centered {
                self.left + (self.width() - self.metrics.width(&line, size, bold)) / 2.0
            } else {
                self.left
            };
            self.text_at(x, size, bold, &line);
            self.y += size * LINE_FACTOR;
        }
    }

    /// Writes a label on the left and its value right-aligned. A value wider
    /// than two thirds of the line (a very long name) wraps onto more lines.
    fn row(&mut self, label: &str, value: &str, bold: bool) {
        let value_limit = self.width() * 2.0 / 3.0 - COLUMN_GAP;
        let value_lines = self.metrics.wrap(value, BODY_SIZE, bold, value_limit);
        let value_width = value_lines
            .iter()
            .map(|line| self.metrics.width(line, BODY_SIZE, bold))
            .fold(0.0_f32, f32::max);
        let label_width = (self.width() - value_width - COLUMN_GAP).max(self.width() / 3.0);
        let label_lines = self.metrics.wrap(label, BODY_SIZE, bold, label_width);
        let count = label_lines.len().max(value_lines.len());
        self.ensure(BODY_SIZE * LINE_FACTOR * count as f32);
        for index in 0..count {
            if let Some(line) = label_lines.get(index) {
                self.text_at(self.left, BODY_SIZE, bold, line);
            }
            if let Some(line) = value_lines.get(index) {
                self.right_aligned(self.right, BODY_SIZE, bold, line);
            }
            self.y += BODY_SIZE * LINE_FACTOR;
        }
    }

    /// Writes a label, then the US$ amount and the Bs. amount in right-aligned columns.
    fn amounts(&mut self, label: &str, usd: Option<&str>, bs: Option<&str>, bold: bool) {
        let bs_right = self.right;
        let usd_right = self.right - 120.0;
        let label_width = usd_right - 100.0 - self.left;
        let lines = self.metrics.wrap(label, BODY_SIZE, bold, label_width);
        self.ensure(BODY_SIZE * LINE_FACTOR * lines.len() as f32);
        if let Some(usd) = usd {
            self.right_aligned(usd_right, BODY_SIZE, bold, usd);
        }
        if let Some(bs) = bs {
            self.right_aligned(bs_right, BODY_SIZE, bold, bs);
        }
        for line in lines {
            self.text_at(self.left, BODY_SIZE, bold, &line);
            self.y += BODY_SIZE * LINE_FACTOR;
        }
    }

    /// Writes the lines table: quantity, description, unit price, and totals in US$ and Bs.
    fn items(&mut self, items: &[Item]) {
        let quantity_right = self.left + 30.0;
        let description_left = self.left + 40.0;
        let unit_right = self.right - 200.0;
        let total_usd_right = self.right - 110.0;
        let description_width = unit_right - 80.0 - description_left;
        let line_height = BODY_SIZE * LINE_FACTOR;

        self.ensure(line_height * 2.0);
        self.right_aligned(quantity_right, BODY_SIZE, true, "Cant.");
        self.text_at(description_left, BODY_SIZE, true, "Descripción");
        self.right_aligned(unit_right, BODY_SIZE, true, "Precio unit.");
        self.right_aligned(total_usd_right, BODY_SIZE, true, "Total US$");
        self.right_aligned(self.right, BODY_SIZE, true, "Total Bs.");
        self.y += line_height;
        self.rule(0.4);

        for item in items {
            let lines = self
                .metrics
                .wrap(&item.description, BODY_SIZE, false, description_width);
            let height = line_height * lines.len() as f32
                + SMALL_SIZE * LINE_FACTOR * item.notes.len() as f32;
            self.ensure(height);
            self.right_aligned(quantity_right, BODY_SIZE, false, &item.quantity);
            self.right_aligned(unit_right, BODY_SIZE, false, &item.unit_price);
            self.right_aligned(total_usd_right, BODY_SIZE, false, &item.total_usd);
            self.right_aligned(self.right, BODY_SIZE, false, &item.total_bs);
            for line in lines {
                self.text_at(description_left, BODY_SIZE, false, &line);
                self.y += line_height;
            }
            for note in &item.notes {
                self.text_at(description_left + 8.0, SMALL_SIZE, false, note);
                self.y += SMALL_SIZE * LINE_FACTOR;
            }
        }
    }

    fn rule(&mut self, thickness: f32) {
        self.ensure(8.0);
        self.y += 3.0;
        self.push(Op::Fill {
            x: self.left,
            y: self.y,
            width: self.width(),
            height: thickness,
        });
        self.y += 5.0;
    }

    fn qr(&mut self, payload: &str, caption: Option<&str>, size: f32) -> Result<(), PrintError> {
        let matrix = qr::matrix(payload)?;
        let caption_lines = caption
            .map(|caption| self.metrics.wrap(caption, SMALL_SIZE, false, self.width()))
            .unwrap_or_default();
        self.ensure(size + SMALL_SIZE * LINE_FACTOR * caption_lines.len() as f32);
        self.push(Op::Qr {
            x: self.left + (self.width() - size) / 2.0,
            y: self.y,
            size,
            matrix,
        });
        self.y += size;
        for line in caption_lines {
            let x = self.left + (self.width() - self.metrics.width(&line, SMALL_SIZE, false)) / 2.0;
            self.text_at(x, SMALL_SIZE, false, &line);
            self.y += SMALL_SIZE * LINE_FACTOR;
        }
        Ok(())
    }

    fn block(&mut self, block: &Block) -> Result<(), PrintError> {
        match block {
            Block::Title(title) => {
                self.paragraph(title, TITLE_SIZE, true, true);
                self.y += 2.0;
            }
            Block::Text { text, style } => {
                let size = if *style == TextStyle::Small {
                    SMALL_SIZE
                } else {
                    BODY_SIZE
                };
                self.paragraph(text, size, style.is_bold(), style.is_centered());
            }
            Block::Heading(text) => {
                self.y += 3.0;
                self.paragraph(text, BODY_SIZE, true, false);
            }
            Block::Row { label, value, bold } => self.row(label, value, *bold),
            Block::Amounts {
                label,
                usd,
                bs,
                bold,
            } => self.amounts(label, usd.as_deref(), bs.as_deref(), *bold),
            Block::Items(items) => self.items(items),
            Block::Separator => self.rule(0.6),
            Block::Qr { payload, caption } => {
                self.qr(payload, caption.as_deref(), DOCUMENT_QR_SIZE)?;
            }
        }
        Ok(())
    }
}

/// Renders a fiscal document as an A4 PDF.
pub fn document(print: &DocumentPrint) -> Result<Vec<u8>, PrintError> {
    let metrics = Metrics::new()?;
    let pages = document_pages(print, &metrics)?;
    write_pdf(&pages, &print.heading())
}

/// Renders the tickets of an order as an A4 PDF, several framed tickets a page.
pub fn tickets(title: &str, tickets: &[TicketPrint]) -> Result<Vec<u8>, PrintError> {
    let metrics = Metrics::new()?;
    let pages = ticket_pages(tickets, &metrics)?;
    write_pdf(&pages, title)
}

fn document_pages(print: &DocumentPrint, metrics: &Metrics) -> Result<Vec<Vec<Op>>, PrintError> {
    let bottom = PAGE_HEIGHT - MARGIN - FOOTER_SIZE * 3.0;
    let mut layout = Layout::new(metrics, MARGIN, PAGE_WIDTH - MARGIN, MARGIN, bottom);
    for block in print.blocks() {
        layout.block(&block)?;
    }
    let mut pages = layout.pages;

    // Every page names the document, so a loose page can be matched to it.
    let count = pages.len();
    let heading = print.heading();
    for (index, page) in pages.iter_mut().enumerate() {
        let footer = format!("{heading} · página {} de {count}", index + 1);
        let width = metrics.width(&footer, FOOTER_SIZE, false);
        page.push(Op::Text {
            x: (PAGE_WIDTH - width) / 2.0,
            y: PAGE_HEIGHT - MARGIN,
            size: FOOTER_SIZE,
            bold: false,
            text: footer,
        });
    }
    Ok(pages)
}

fn ticket_pages(tickets: &[TicketPrint], metrics: &Metrics) -> Result<Vec<Vec<Op>>, PrintError> {
    let frame_width = PAGE_WIDTH - 2.0 * MARGIN;
    let mut pages: Vec<Vec<Op>> = vec![Vec::new()];
    let mut y = MARGIN;
    for ticket in tickets {
        // Lay the ticket out on an endless column first to learn its height.
        let text_right = frame_width - TICKET_PADDING * 2.0 - TICKET_QR_SIZE - COLUMN_GAP;
        let mut column = Layout::new(metrics, 0.0, text_right, 0.0, f32::INFINITY);
        let mut qr_payload = None;
        for block in ticket.blocks() {
            match block {
                Block::Qr { payload, .. } => qr_payload = Some(payload),
                other => column.block(&other)?,
            }
        }
        let text_ops = column.pages.concat();
        let height = column.y.max(TICKET_QR_SIZE) + TICKET_PADDING * 2.0;

        if y + height > PAGE_HEIGHT - MARGIN && y > MARGIN {
            pages.push(Vec::new());
            y = MARGIN;
        }
        let page = pages.last_mut().expect("at least one page");
        page.push(Op::Frame {
            x: MARGIN,
            y,
            width: frame_width,
            height,
        });
        let content_left = MARGIN + TICKET_PADDING;
        let content_top = y + TICKET_PADDING;
        page.extend(
            text_ops
                .into_iter()
                .map(|op| op.shifted(content_left, content_top)),
        );
        if let Some(payload) = qr_payload {
            page.push(Op::Qr {
                x: MARGIN + frame_width - TICKET_PADDING - TICKET_QR_SIZE,
                y: content_top,
                size: TICKET_QR_SIZE,
                matrix: qr::matrix(&payload)?,
            });
        }
        y += height + TICKET_GAP;
    }
    Ok(pages)
}

fn write_pdf(pages: &[Vec<Op>], title: &str) -> Result<Vec<u8>, PrintError> {
    let load = |data: &'static [u8]| {
        Font::new(data.into(), 0).ok_or_else(|| PrintError::Pdf("embedded font".to_string()))
    };
    let regular = load(REGULAR_FONT)?;
    let bold = load(BOLD_FONT)?;
    let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
        .ok_or_else(|| PrintError::Pdf("page size".to_string()))?;

    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(title.to_string())
            .language("es-VE".to_string())
            .creator("taquilla".to_string()),
    );
    for ops in pages {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    bold: is_bold,
                    text,
                } => {
                    surface.set_fill(Some(Fill::default()));
                    surface.set_stroke(None);
                    let font = if *is_bold {
                        bold.clone()
                    } else {
                        regular.clone()
                    };
                    surface.draw_text(
                        Point::from_xy(*x, *y),
                        font,
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Op::Fill {
                    x,
                    y,
                    width,
                    height,
                } => {
                    surface.set_fill(Some(Fill::default()));
                    surface.set_stroke(None);
                    if let Some(path) = rectangle(*x, *y, *width, *height) {
                        surface.draw_path(&path);
                    }
                }
                Op::Frame {
                    x,
                    y,
                    width,
                    height,
                } => {
                    surface.set_fill(None);
                    surface.set_stroke(Some(Stroke {
                        width: 0.8,
                        ..Stroke::default()
                    }));
                    if let Some(path) = rectangle(*x, *y, *width, *height) {
                        surface.draw_path(&path);
                    }
                }
                Op::Qr { x, y, size, matrix } => {
                    surface.set_fill(Some(Fill::default()));
                    surface.set_stroke(None);
                    if let Some(path) = qr_path(*x, *y, *size, matrix) {
                        surface.draw_path(&path);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|error| PrintError::Pdf(format!("{error:?}")))
}

fn rectangle(x: f32, y: f32, width: f32, height: f32) -> Option<krilla::geom::Path> {
    let mut builder = PathBuilder::new();
    builder.push_rect(Rect::from_xywh(x, y, width, height)?);
    builder.finish()
}

/// Builds one path of all dark modules, a rectangle per horizontal run.
fn qr_path(x: f32, y: f32, size: f32, matrix: &QrMatrix) -> Option<krilla::geom::Path> {
    let module = size / (matrix.width + 2 * QUIET_ZONE_MODULES) as f32;
    let origin_x = x + module * QUIET_ZONE_MODULES as f32;
    let origin_y = y + module * QUIET_ZONE_MODULES as f32;
    let mut builder = PathBuilder::new();
    for (row, column, length) in matrix.dark_runs() {
        builder.push_rect(Rect::from_xywh(
            origin_x + module * column as f32,
            origin_y + module * row as f32,
            module * length as f32,
            module,
        )?);
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::print::document::fixtures;

    fn page_texts(page: &[Op]) -> Vec<&str> {
        page.iter()
            .filter_map(|op| match op {
                Op::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Writes `pdf` to the folder named by PRINT_PDF_DIR, when set, so the
    /// samples can be opened and looked at.
    fn keep_sample(name: &str, pdf: &[u8]) {
        if let Some(folder) = std::env::var_os("PRINT_PDF_DIR") {
            let path = std::path::Path::new(&folder).join(name);
            std::fs::write(&path, pdf).expect("writing the sample PDF");
        }
    }

    fn count_pages(pdf: &[u8]) -> usize {
        String::from_utf8_lossy(pdf).matches("/Type/Page/").count()
    }

    #[test]
    fn invoice_pdf_has_header_font_and_one_page() {
        let print = DocumentPrint::from_document(&fixtures::invoice(), false).unwrap();
        let pdf = document(&print).unwrap();
        keep_sample("factura.pdf", &pdf);
        assert!(pdf.starts_with(b"%PDF-"));
        let raw = String::from_utf8_lossy(&pdf);
        assert!(raw.contains("/FontFile2"), "no embedded TrueType font");
        assert!(raw.contains("DejaVuSans"), "the font is not DejaVu Sans");
        assert_eq!(count_pages(&pdf), 1);
        assert!(raw.contains("/MediaBox[0 0 595.28 841.89]"));

        // The text comes back from the font's ToUnicode map.
        let texts = crate::print::pdf_text::texts(&pdf);
        for expected in [
            "FACTURA",
            "Serie A N° 00000042",
            "María Pérez & <Hijos>",
            "Pista — entrada general (E)",
            "Bs. 3.901,33",
        ] {
            assert!(
                texts.iter().any(|text| text == expected),
                "{expected:?} not found in {texts:?}"
            );
        }
    }

    #[test]
    fn long_buyer_name_stays_on_page() {
        let mut document = fixtures::invoice();
        document.content["buyer"]["name"] =
            serde_json::json!(format!("{} {}", "W".repeat(100), "W".repeat(100)));
        let print = DocumentPrint::from_document(&document, false).unwrap();
        let metrics = Metrics::new().unwrap();
        let pages = document_pages(&print, &metrics).unwrap();
        for op in pages.iter().flatten() {
            if let Op::Text {
                x,
                size,
                bold,
                text,
                ..
            } = op
            {
                let end = x + metrics.width(text, *size, *bold);
                assert!(*x >= MARGIN - 0.5, "{text:?} starts at {x}");
                assert!(end <= PAGE_WIDTH - MARGIN + 0.5, "{text:?} ends at {end}");
            }
        }
    }

    #[test]
    fn invoice_layout_carries_fiscal_text() {
        let print = DocumentPrint::from_document(&fixtures::invoice(), false).unwrap();
        let metrics = Metrics::new().unwrap();
        let pages = document_pages(&print, &metrics).unwrap();
        assert_eq!(pages.len(), 1);
        let texts = page_texts(&pages[0]);
        for expected in [
            "FACTURA",
            "Serie A N° 00000042",
            "00-00000042",
            "RIF J-12345678-9",
            "04/12/2026",
            "Pista — entrada general (E)",
            "Base imponible IVA 16 %",
            "Total exento",
            "Bs. 3.901,33",
            "US$ 108,00",
            "Bs. 36,12345678 / US$",
            "FACTURA Serie A N° 00000042 · página 1 de 1",
        ] {
            assert!(
                texts.contains(&expected),
                "missing {expected:?} in {texts:?}"
            );
        }
        assert!(!texts.iter().any(|text| text.contains("sin derecho")));
        assert!(!pages[0].iter().any(|op| matches!(op, Op::Qr { .. })));
    }

    #[test]
    fn credit_note_draws_verification_qr() {
        let print = DocumentPrint::from_document(&fixtures::credit_note(), true).unwrap();
        let metrics = Metrics::new().unwrap();
        let pages = document_pages(&print, &metrics).unwrap();
        let all: Vec<&Op> = pages.iter().flatten().collect();
        let qr = all.iter().find_map(|op| match op {
            Op::Qr { matrix, size, .. } => Some((matrix, *size)),
            _ => None,
        });
        let (matrix, size) = qr.expect("a QR code for the verification URL");
        assert_eq!(size, DOCUMENT_QR_SIZE);
        assert_eq!(
            matrix,
            &qr::matrix("https://verificacion.example.test/d/ABC123?x=1&y=2").unwrap()
        );
        let texts: Vec<&str> = pages.iter().flat_map(|page| page_texts(page)).collect();
        assert!(texts.contains(&"NOTA DE CRÉDITO"));
        assert!(texts.contains(&"Copia: sin derecho a crédito fiscal"));
        assert!(texts.contains(&"Afecta a la FACTURA Serie A N° 00000042"));

        let pdf = document(&print).unwrap();
        keep_sample("nota-de-credito.pdf", &pdf);
        assert!(pdf.starts_with(b"%PDF-"));
        let texts = crate::print::pdf_text::texts(&pdf);
        assert!(texts.iter().any(|text| text == "NOTA DE CRÉDITO"));
        assert!(
            texts
                .iter()
                .any(|text| text == "Copia: sin derecho a crédito fiscal")
        );
    }

    #[test]
    fn ticket_pdf_frames_each_ticket_with_its_qr() {
        let tickets = crate::print::ticket::fixtures::tickets();
        let metrics = Metrics::new().unwrap();
        let pages = ticket_pages(&tickets, &metrics).unwrap();
        let all: Vec<&Op> = pages.iter().flatten().collect();
        let frames = all
            .iter()
            .filter(|op| matches!(op, Op::Frame { .. }))
            .count();
        assert_eq!(frames, 2);
        let payloads: Vec<QrMatrix> = tickets
            .iter()
            .map(|ticket| qr::matrix(&ticket.qr_payload).unwrap())
            .collect();
        let drawn: Vec<&QrMatrix> = all
            .iter()
            .filter_map(|op| match op {
                Op::Qr { matrix, .. } => Some(matrix),
                _ => None,
            })
            .collect();
        assert_eq!(drawn, payloads.iter().collect::<Vec<_>>());
        // Every operation stays inside the page's margins.
        for op in all {
            if let Op::Text { x, y, .. } | Op::Qr { x, y, .. } = op {
                assert!(*x >= MARGIN, "{op:?}");
                assert!(*x <= PAGE_WIDTH - MARGIN, "{op:?}");
                assert!(*y >= MARGIN, "{op:?}");
                assert!(*y <= PAGE_HEIGHT - MARGIN, "{op:?}");
            }
        }

        let pdf = super::tickets("Entradas", &tickets).unwrap();
        keep_sample("entradas.pdf", &pdf);
        assert!(pdf.starts_with(b"%PDF-"));
        assert_eq!(count_pages(&pdf), 1);
        let texts = crate::print::pdf_text::texts(&pdf);
        for ticket in &tickets {
            let code = format!("Código {}", ticket.code);
            assert!(texts.contains(&code), "{code:?} not found in {texts:?}");
        }
        assert!(
            texts
                .iter()
                .any(|text| text == "Concierto <Sinfónico> & Coro")
        );
    }

    #[test]
    fn many_tickets_continue_on_new_pages() {
        let ticket = crate::print::ticket::fixtures::tickets().remove(0);
        let tickets = vec![ticket; 7];
        let metrics = Metrics::new().unwrap();
        let pages = ticket_pages(&tickets, &metrics).unwrap();
        assert!(pages.len() >= 3, "7 tickets fit on {} pages", pages.len());
        for page in &pages {
            for op in page {
                if let Op::Frame { y, height, .. } = op {
                    assert!(y + height <= PAGE_HEIGHT - MARGIN, "{op:?}");
                }
            }
        }
    }

    #[test]
    fn wrap_keeps_lines_within_width() {
        let metrics = Metrics::new().unwrap();
        let text = "Domicilio fiscal: Av. Urdaneta, Edif. Central, piso 3, Caracas 1010 \
                    Supercalifragilisticoespialidosoextraordinariamentelargo";
        let lines = metrics.wrap(text, BODY_SIZE, false, 120.0);
        assert!(lines.len() > 3);
        for line in &lines {
            assert!(metrics.width(line, BODY_SIZE, false) <= 120.0, "{line}");
        }
        assert_eq!(lines.join(" ").replace(' ', ""), text.replace(' ', ""));
    }
}
