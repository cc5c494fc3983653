//! HTML views for 80 mm thermal paper: one self-contained page with inline
//! CSS and inline SVG QR codes, no scripts and no external assets.
//!
//! Every value is escaped with [`escape_html`]. Each block is written on its
//! own source line, so a tag-stripped page reads line by line.

use std::fmt::Write;

use super::format::escape_html;
use super::{Block, DocumentPrint, Item, PrintError, TextStyle, TicketPrint, qr};

/// Sized for 80 mm rolls: 74 mm of content between 3 mm margins, in a
/// monospace font at 8 pt, about 42 characters a line.
const STYLE: &str = "\
@page { size: 80mm auto; margin: 3mm 3mm; }
* { box-sizing: border-box; }
html { background: #fff; }
body { margin: 0; width: 74mm; color: #000; font-family: \"DejaVu Sans Mono\", \"Liberation Mono\", \"Courier New\", monospace; font-size: 8pt; line-height: 1.3; }
@media screen { body { margin: 4mm auto; } }
h1 { margin: 0 0 1mm; font-size: 12pt; text-align: center; }
p { margin: 0; overflow-wrap: anywhere; }
.bold { font-weight: bold; }
.center { text-align: center; }
.small { font-size: 7pt; }
.heading { margin-top: 1mm; font-weight: bold; }
.row { display: flex; justify-content: space-between; gap: 2mm; }
.row > span:first-child { overflow-wrap: anywhere; }
.row > span:last-child { text-align: right; white-space: nowrap; }
.item { margin-bottom: 1mm; }
.note { padding-left: 3mm; font-size: 7pt; }
hr { border: 0; border-top: 1px dashed #000; margin: 1.5mm 0; }
.qr { display: block; width: 34mm; height: 34mm; margin: 1mm auto; }
.ticket { break-after: page; page-break-after: always; }
.ticket:last-child { break-after: auto; page-break-after: auto; }
";

/// Renders a fiscal document for 80 mm paper.
pub fn document(print: &DocumentPrint) -> Result<String, PrintError> {
    let mut body = String::new();
    body.push_str("<main class=\"document\">\n");
    body.push_str(&document_blocks(print)?);
    body.push_str("</main>\n");
    Ok(page(&print.heading(), &body))
}

/// Renders the blocks of a fiscal document as an HTML fragment, for pages
/// that bring their own layout and style sheet (the web receipt).
pub fn document_blocks(print: &DocumentPrint) -> Result<String, PrintError> {
    let mut body = String::new();
    write_blocks(&mut body, &print.blocks())?;
    Ok(body)
}

/// Renders the tickets of an order for 80 mm paper, one per page.
pub fn tickets(title: &str, tickets: &[TicketPrint]) -> Result<String, PrintError> {
    Ok(page(title, &ticket_sections(tickets)?))
}

/// Renders each ticket as a `<section class="ticket">` fragment with its QR
/// code, for pages that bring their own layout and style sheet.
pub fn ticket_sections(tickets: &[TicketPrint]) -> Result<String, PrintError> {
    let mut body = String::new();
    for ticket in tickets {
        body.push_str("<section class=\"ticket\">\n");
        write_blocks(&mut body, &ticket.blocks())?;
        body.push_str("</section>\n");
    }
    Ok(body)
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"es-VE\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape_html(title)
    )
}

fn write_blocks(out: &mut String, blocks: &[Block]) -> Result<(), PrintError> {
    for block in blocks {
        write_block(out, block)?;
    }
    Ok(())
}

fn write_block(out: &mut String, block: &Block) -> Result<(), PrintError> {
    // `fmt::Write` for String never returns an error, so the results of writeln! are ignored.
    match block {
        Block::Title(title) => {
            let _ = writeln!(out, "<h1>{}</h1>", escape_html(title));
        }
        Block::Text { text, style } => {
            let _ = writeln!(
                out,
                "<p class=\"{}\">{}</p>",
                style_classes(*style),
                escape_html(text)
            );
        }
        Block::Heading(text) => {
            let _ = writeln!(out, "<p class=\"heading\">{}</p>", escape_html(text));
        }
        Block::Row { label, value, bold } => {
            let _ = writeln!(
                out,
                "<div class=\"row{}\"><span>{}</span> <span>{}</span></div>",
                if *bold { " bold" } else { "" },
                escape_html(label),
                escape_html(value)
            );
        }
        Block::Amounts {
            label,
            usd,
            bs,
            bold,
        } => {
            let amounts: Vec<String> = [bs, usd]
                .into_iter()
                .flatten()
                .map(|amount| escape_html(amount))
                .collect();
            let _ = writeln!(
                out,
                "<div class=\"row{}\"><span>{}</span> <span>{}</span></div>",
                if *bold { " bold" } else { "" },
                escape_html(label),
                amounts.join("<br>")
            );
        }
        Block::Items(items) => write_items(out, items),
        Block::Separator => out.push_str("<hr>\n"),
        Block::Qr { payload, caption } => {
            let label = caption.as_deref().unwrap_or("Código QR");
            let _ = writeln!(out, "{}", qr::svg(payload, label)?);
            if let Some(caption) = caption {
                let _ = writeln!(
                    out,
                    "<p class=\"center small\">{}</p>",
                    escape_html(caption)
                );
            }
        }
    }
    Ok(())
}

fn write_items(out: &mut String, items: &[Item]) {
    out.push_str(
        "<div class=\"row bold\"><span>Cant. Descripción</span> <span>Importe</span></div>\n",
    );
    for item in items {
        out.push_str("<div class=\"item\">\n");
        let _ = writeln!(
            out,
            "<p>{} × {}</p>",
            escape_html(&item.quantity),
            escape_html(&item.description)
        );
        let _ = writeln!(
            out,
            "<div class=\"row\"><span>{} c/u</span> <span>{}<br>{}</span></div>",
            escape_html(&item.unit_price),
            escape_html(&item.total_bs),
            escape_html(&item.total_usd)
        );
        for note in &item.notes {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", escape_html(note));
        }
        out.push_str("</div>\n");
    }
}

fn style_classes(style: TextStyle) -> &'static str {
    match style {
        TextStyle::Normal => "",
        TextStyle::Bold => "bold",
        TextStyle::Centered => "center",
        TextStyle::CenteredBold => "center bold",
        TextStyle::Small => "small",
    }
}

/// Returns the visible text of a page from this module, one source line per
/// output line: the style sheet and SVG elements dropped, tags replaced by
/// spaces, entities decoded and blank lines removed.
#[cfg(test)]
pub(crate) fn visible_text(html: &str) -> String {
    let without_style = match (html.find("<style>"), html.find("</style>")) {
        (Some(start), Some(end)) => format!("{}{}", &html[..start], &html[end..]),
        _ => html.to_string(),
    };
    let mut lines = Vec::new();
    for line in without_style.lines() {
        if line.starts_with("<svg") {
            lines.push("[QR]".to_string());
            continue;
        }
        let mut text = String::new();
        let mut in_tag = false;
        for character in line.chars() {
            match character {
                '<' => {
                    in_tag = true;
                    text.push(' ');
                }
                '>' if in_tag => in_tag = false,
                other if !in_tag => text.push(other),
                _ => {}
            }
        }
        let decoded = text
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        let collapsed = decoded.split_whitespace().collect::<Vec<_>>().join(" ");
        if !collapsed.is_empty() {
            lines.push(collapsed);
        }
    }
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::print::document::fixtures;

    /// Compares `actual` with the checked-in file `snapshots/<name>`. Run the
    /// test with UPDATE_SNAPSHOTS=1 to rewrite the file from `actual`, then
    /// review the change with `git diff`.
    fn assert_snapshot(name: &str, actual: &str) {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("src/print/snapshots")
            .join(name);
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, actual).expect("writing the snapshot");
            return;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|error| {
            panic!(
                "cannot read {}: {error}; run with UPDATE_SNAPSHOTS=1 to create it",
                path.display()
            )
        });
        assert_eq!(
            actual,
            expected,
            "{} differs; run with UPDATE_SNAPSHOTS=1 to accept the new text",
            path.display()
        );
    }

    #[test]
    fn invoice_text_snapshot() {
        let print = DocumentPrint::from_document(&fixtures::invoice(), false).unwrap();
        let html = document(&print).unwrap();
        assert_snapshot("factura.txt", &visible_text(&html));
    }

    #[test]
    fn invoice_copy_text_snapshot() {
        let print = DocumentPrint::from_document(&fixtures::invoice(), true).unwrap();
        let html = document(&print).unwrap();
        assert_snapshot("factura-copia.txt", &visible_text(&html));
    }

    #[test]
    fn credit_note_text_snapshot() {
        let print = DocumentPrint::from_document(&fixtures::credit_note(), true).unwrap();
        let html = document(&print).unwrap();
        assert_snapshot("nota-de-credito.txt", &visible_text(&html));
    }

    #[test]
    fn tickets_text_snapshot() {
        let tickets = crate::print::ticket::fixtures::tickets();
        let html = super::tickets("Entradas", &tickets).unwrap();
        assert_snapshot("entradas.txt", &visible_text(&html));
    }

    #[test]
    fn user_values_are_escaped() {
        let print = DocumentPrint::from_document(&fixtures::invoice(), false).unwrap();
        let html = document(&print).unwrap();
        assert!(html.contains("María Pérez &amp; &lt;Hijos&gt;"));
        assert!(!html.contains("<Hijos>"));

        let credit_note = DocumentPrint::from_document(&fixtures::credit_note(), false).unwrap();
        let html = document(&credit_note).unwrap();
        assert!(html.contains("d/ABC123?x=1&amp;y=2"));
        assert!(!html.contains("x=1&y=2"));

        let tickets =
            super::tickets("Entradas", &crate::print::ticket::fixtures::tickets()).unwrap();
        assert!(tickets.contains("Concierto &lt;Sinfónico&gt; &amp; Coro"));
    }

    #[test]
    fn page_sized_and_self_contained() {
        let print = DocumentPrint::from_document(&fixtures::credit_note(), false).unwrap();
        let html = document(&print).unwrap();
        assert!(html.contains("@page { size: 80mm auto;"));
        assert!(html.contains("width: 74mm"));
        assert!(html.contains("<svg class=\"qr\""));
        for external in ["<script", "<link", "src=", "url("] {
            assert!(!html.contains(external), "the page contains {external}");
        }
    }

    #[test]
    fn tickets_break_pages_between_tickets() {
        let html = super::tickets("Entradas", &crate::print::ticket::fixtures::tickets()).unwrap();
        assert_eq!(html.matches("<section class=\"ticket\">").count(), 2);
        assert_eq!(html.matches("<svg class=\"qr\"").count(), 2);
        assert!(html.contains(".ticket { break-after: page; page-break-after: always; }"));
    }
}
