//! Printable fiscal documents and tickets, in Spanish: an HTML view for 80 mm
//! thermal paper and an A4 PDF.
//!
//! Rendering is pure: [`document::DocumentPrint`] and [`ticket::TicketPrint`]
//! hold everything a print shows, both are turned into [`Block`]s, and the
//! `html` and `pdf` modules lay the blocks out. So the thermal view and the
//! PDF always carry the same text.

pub mod document;
pub mod format;
pub mod html;
pub mod pdf;
#[cfg(test)]
mod pdf_text;
pub mod qr;
pub mod ticket;

pub use document::DocumentPrint;
pub use ticket::TicketPrint;

/// Failure to render a print.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// The stored content lacks a field a fiscal document must show, or has
    /// one of another type.
    #[error("invalid fiscal document content: {0}")]
    InvalidContent(String),
    #[error("document kind {0:?} has no printed form")]
    UnknownKind(String),
    #[error("QR code for {0} could not be encoded")]
    Qr(&'static str),
    #[error("PDF could not be written: {0}")]
    Pdf(String),
}

/// One piece of a print, in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// The document's title, large and bold.
    Title(String),
    /// A line of text; long lines wrap.
    Text { text: String, style: TextStyle },
    /// A label on the left and its value on the right.
    Row {
        label: String,
        value: String,
        bold: bool,
    },
    /// A label with an amount in US$ and in Bs.; either may be absent.
    Amounts {
        label: String,
        usd: Option<String>,
        bs: Option<String>,
        bold: bool,
    },
    /// The heading of a group of rows.
    Heading(String),
    /// The lines of a fiscal document.
    Items(Vec<Item>),
    /// A horizontal rule between sections.
    Separator,
    /// A QR code of `payload`, centred, with an optional caption under it.
    Qr {
        payload: String,
        caption: Option<String>,
    },
}

/// Weight and alignment of a [`Block::Text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextStyle {
    #[default]
    Normal,
    Bold,
    Centered,
    CenteredBold,
    Small,
}

impl TextStyle {
    pub fn is_bold(self) -> bool {
        matches!(self, TextStyle::Bold | TextStyle::CenteredBold)
    }

    pub fn is_centered(self) -> bool {
        matches!(self, TextStyle::Centered | TextStyle::CenteredBold)
    }
}

/// One line of a fiscal document with its amounts already formatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub quantity: String,
    /// The description as stored; exempt lines already end in « (E)».
    pub description: String,
    pub unit_price: String,
    pub total_usd: String,
    pub total_bs: String,
    /// Discounts and other notes printed under the line.
    pub notes: Vec<String>,
}

/// Builds a text line in `style`.
fn styled(text: impl Into<String>, style: TextStyle) -> Block {
    Block::Text {
        text: text.into(),
        style,
    }
}

/// Builds a label and value row.
fn row(label: impl Into<String>, value: impl Into<String>) -> Block {
    Block::Row {
        label: label.into(),
        value: value.into(),
        bold: false,
    }
}

/// Builds a row with an amount in both currencies, in cents.
fn amounts(label: impl Into<String>, usd_cents: i64, bs_cents: i64) -> Block {
    Block::Amounts {
        label: label.into(),
        usd: Some(format::usd(usd_cents)),
        bs: Some(format::bs(bs_cents)),
        bold: false,
    }
}

/// Builds a bold row with an amount in both currencies, for totals.
fn total_amounts(label: impl Into<String>, usd_cents: i64, bs_cents: i64) -> Block {
    Block::Amounts {
        label: label.into(),
        usd: Some(format::usd(usd_cents)),
        bs: Some(format::bs(bs_cents)),
        bold: true,
    }
}
