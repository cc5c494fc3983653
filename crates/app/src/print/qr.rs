//! QR codes as inline SVG for HTML and as a module matrix for PDF.

use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};

use super::PrintError;

/// Light modules around the code: the quiet zone that qrcode 0.14 also adds to its SVG output.
pub const QUIET_ZONE_MODULES: usize = 4;

/// The dark and light modules of a QR code, without the quiet zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    /// Modules per side.
    pub width: usize,
    /// Row-major, `true` for a dark module.
    pub dark: Vec<bool>,
}

impl QrMatrix {
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.width + x]
    }

    /// Returns the runs of dark modules of each row as `(y, x, length)`, so a
    /// renderer draws one rectangle per run instead of one per module.
    pub fn dark_runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if !self.is_dark(x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < self.width && self.is_dark(x, y) {
                    x += 1;
                }
                runs.push((y, start, x - start));
            }
        }
        runs
    }
}

/// Encodes `payload` at error-correction level M, which restores about 15 %
/// of damaged codewords, enough for a smudged or creased print.
fn encode(payload: &str) -> Result<QrCode, PrintError> {
    QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .map_err(|_| PrintError::Qr("a payload too long for a QR code"))
}

/// Returns the module matrix of `payload`.
pub fn matrix(payload: &str) -> Result<QrMatrix, PrintError> {
    let code = encode(payload)?;
    Ok(QrMatrix {
        width: code.width(),
        dark: code
            .to_colors()
            .into_iter()
            .map(|color| color == Color::Dark)
            .collect(),
    })
}

/// Returns `payload` as an `<svg>` element for inline HTML, one unit per module
/// with the quiet zone included. CSS sets its printed size.
pub fn svg(payload: &str, label: &str) -> Result<String, PrintError> {
    let code = encode(payload)?;
    let image = code
        .render::<svg::Color>()
        .quiet_zone(true)
        .module_dimensions(1, 1)
        .build();
    // The renderer writes a whole XML file; inline HTML takes only the element.
    let element = image
        .find("<svg")
        .map(|start| &image[start..])
        .ok_or(PrintError::Qr("an SVG without an <svg> element"))?;
    let labelled = element.replacen(
        "<svg ",
        &format!(
            "<svg class=\"qr\" role=\"img\" aria-label=\"{}\" ",
            super::format::escape_html(label)
        ),
        1,
    );
    Ok(labelled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_is_square_with_finder_corner() {
        let code = matrix("TQ1.ABC.signature").unwrap();
        assert_eq!(code.dark.len(), code.width * code.width);
        // Every QR code has a dark finder pattern in its top-left corner.
        assert!(code.is_dark(0, 0));
        assert!(code.is_dark(6, 6));
        assert!(!code.is_dark(7, 7));
        let dark_modules: usize = code.dark.iter().filter(|dark| **dark).count();
        let in_runs: usize = code.dark_runs().iter().map(|(_, _, length)| length).sum();
        assert_eq!(in_runs, dark_modules);
    }

    #[test]
    fn svg_is_inline_element_with_label() {
        let image = svg("https://example.test/?a=1&b=2", "Código <QR>").unwrap();
        assert!(image.starts_with("<svg class=\"qr\""), "{image}");
        assert!(!image.contains("<?xml"));
        assert!(image.contains("aria-label=\"Código &lt;QR&gt;\""));
        assert!(image.ends_with("</svg>"));
    }
}
